//! Seeded Formstack data: the demo form with every case of `reference/sandbox-contracts.md` §2,
//! and a deterministic generator of many submissions for benchmarks.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use serde_json::{Value, json};

use crate::formstack::{Field, Form, FormstackFixture, Quirks, StoredSubmission};

/// The demo form's id.
pub const DEMO_FORM_ID: &str = "5095980";
/// The demo API token.
pub const DEMO_TOKEN: &str = "sandbox-formstack-token";
/// The demo webhook HMAC key.
pub const DEMO_HMAC_KEY: &str = "sandbox-hmac-key";

/// The demo form's fields (ids match `infra/local/seed-demo.sql`).
pub fn demo_fields() -> Vec<Field> {
    [
        ("101", "Name", "name"),
        ("102", "Organization", "text"),
        ("103", "Title", "text"),
        ("104", "Email", "email"),
        ("105", "Phone", "phone"),
        ("106", "Registration Type", "select"),
        ("107", "Address", "address"),
        ("108", "State Organization", "select"),
        ("109", "One-on-one meetings", "radio"),
        ("110", "Time Zone", "select"),
        ("111", "Industries", "checkbox"),
        ("112", "Other industries", "text"),
        ("113", "Profile", "textarea"),
        ("114", "Headshot", "file"),
        ("115", "Total", "number"),
        ("116", "Registration Status", "text"),
        ("117", "Meetings", "number"),
    ]
    .into_iter()
    .map(|(id, label, kind)| Field { id: id.into(), label: label.into(), kind: kind.into() })
    .collect()
}

struct Person<'a> {
    first: &'a str,
    last: &'a str,
    org: Option<&'a str>,
    reg_type: &'a str,
    state: &'a str,
    one_one: &'a str,
    tz: &'a str,
    industries: &'a str,
}

fn submission(id: u64, ts: NaiveDateTime, p: &Person<'_>, extra: &[(&str, Value)]) -> StoredSubmission {
    let mut data: BTreeMap<String, Value> = BTreeMap::new();
    data.insert("101".into(), json!(format!("first = {}\nlast = {}", p.first, p.last)));
    if let Some(org) = p.org {
        data.insert("102".into(), json!(org));
    }
    data.insert("103".into(), json!("Procurement Officer"));
    data.insert("104".into(), json!(format!("{}.{}@example.org", p.first, p.last).to_lowercase()));
    data.insert("105".into(), json!("555-0100"));
    data.insert("106".into(), json!(p.reg_type));
    data.insert(
        "107".into(),
        json!(format!(
            "address = 1 Main St\naddress2 = Suite {}\ncity = Lexington\nstate = {}\nzip = 40507",
            id % 90 + 10,
            if p.state.is_empty() { "KY" } else { p.state }
        )),
    );
    if !p.state.is_empty() {
        data.insert("108".into(), json!(p.state));
    }
    if !p.one_one.is_empty() {
        data.insert("109".into(), json!(p.one_one));
    }
    data.insert("110".into(), json!(p.tz));
    if !p.industries.is_empty() {
        data.insert("111".into(), json!(p.industries));
    }
    data.insert("115".into(), json!("$1,250.00"));
    data.insert("116".into(), json!("Active"));
    data.insert("117".into(), json!("4"));
    for (k, v) in extra {
        data.insert((*k).into(), v.clone());
    }
    StoredSubmission { id: id.to_string(), timestamp: ts.format("%Y-%m-%d %H:%M:%S").to_string(), data }
}

/// The demo fixture: one form, seeded with every registration type (and an unknown one), the
/// organisation spellings of the dedupe cases, multi-line industries (a label with a comma, a
/// trailing newline), every US time zone, states as code / name / blank, one-on-one answers
/// "Yes", "No", "yes" and blank, two submissions in the same second, and one submission whose
/// meetings value is not a number (it must land as a mapping error, not stop the others).
pub fn demo_fixture() -> FormstackFixture {
    let t0 = NaiveDateTime::parse_from_str("2026-11-02 09:00:00", "%Y-%m-%d %H:%M:%S").expect("valid");
    let people = [
        Person {
            first: "jane",
            last: "DOE",
            org: Some("Acme Inc"),
            reg_type: "Supplier",
            state: "KY",
            one_one: "Yes",
            tz: "Eastern Time",
            industries: "Information Technology\nMaintenance Repair and Operations",
        },
        Person {
            first: "John",
            last: "Smith",
            org: Some("Acme, Inc."),
            reg_type: "Supplier - Small Business",
            state: "Kentucky",
            one_one: "No",
            tz: "Central Time",
            industries: "Cleaning, Janitorial\nFacilities\n",
        },
        Person {
            first: "Ana",
            last: "Lopez",
            org: Some("ACME INC"),
            reg_type: "Supplier",
            state: "",
            one_one: "yes",
            tz: "Mountain Time",
            industries: "Information Technology",
        },
        Person {
            first: "Wei",
            last: "Chen",
            org: Some("Acme Inc "),
            reg_type: "Supplier",
            state: "TX",
            one_one: "",
            tz: "Pacific Time",
            industries: "",
        },
        Person {
            first: "Olu",
            last: "Adeyemi",
            org: Some("Acme Corporation"),
            reg_type: "Supplier",
            state: "TX",
            one_one: "Yes",
            tz: "Alaska Time",
            industries: "Facilities",
        },
        Person {
            first: "Mary",
            last: "McDONALD",
            org: Some("Commonwealth of Kentucky"),
            reg_type: "State Member",
            state: "KY",
            one_one: "Yes",
            tz: "Eastern Time",
            industries: "",
        },
        Person {
            first: "Lee",
            last: "Park",
            org: Some("NASPO ValuePoint"),
            reg_type: "NASPO & NASPO ValuePoint Staff",
            state: "",
            one_one: "No",
            tz: "Hawaii Time",
            industries: "",
        },
        Person {
            first: "Sam",
            last: "Jones",
            org: Some("University of Somewhere"),
            reg_type: "Partner (Academic, Affiliate, Associate, Strategic)",
            state: "",
            one_one: "Yes",
            tz: "Eastern Time",
            industries: "",
        },
        Person {
            first: "Pat",
            last: "Brown",
            org: Some("Retired"),
            reg_type: "Life Member or Honorary Member",
            state: "",
            one_one: "No",
            tz: "Central Time",
            industries: "",
        },
        Person {
            first: "Kim",
            last: "Nguyen",
            org: Some("Keynote Speakers LLC"),
            reg_type: "Speaker or VIP",
            state: "",
            one_one: "No",
            tz: "Pacific Time",
            industries: "",
        },
        Person {
            first: "Alex",
            last: "Rivera",
            org: Some("Globex Services Group"),
            reg_type: "Exhibitor",
            state: "CA",
            one_one: "Yes",
            tz: "Pacific Time",
            industries: "Information Technology",
        },
        Person {
            first: "Robin",
            last: "Empty",
            org: Some(""),
            reg_type: "Supplier",
            state: "",
            one_one: "No",
            tz: "Eastern Time",
            industries: "",
        },
        Person {
            first: "Jordan",
            last: "Missing",
            org: None,
            reg_type: "Supplier",
            state: "",
            one_one: "No",
            tz: "Eastern Time",
            industries: "",
        },
        Person {
            first: "Casey",
            last: "Same",
            org: Some("Initech"),
            reg_type: "Supplier",
            state: "",
            one_one: "Yes",
            tz: "Eastern Time",
            industries: "",
        },
        Person {
            first: "Drew",
            last: "Second",
            org: Some("Initech"),
            reg_type: "Supplier",
            state: "",
            one_one: "Yes",
            tz: "Eastern Time",
            industries: "",
        },
    ];
    let mut subs: Vec<StoredSubmission> = people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // the last two share one second
            let secs = if i >= 13 { 13 * 60 } else { i as i64 * 60 };
            submission(1_500_000_001 + i as u64, t0 + Duration::seconds(secs), p, &[])
        })
        .collect();
    let bad = Person {
        first: "Bad",
        last: "Meetings",
        org: Some("Hooli"),
        reg_type: "Supplier",
        state: "",
        one_one: "No",
        tz: "Eastern Time",
        industries: "",
    };
    subs.push(submission(1_500_000_099, t0 + Duration::seconds(20 * 60), &bad, &[("117", json!("lots"))]));
    FormstackFixture {
        time_zone: "America/New_York".into(),
        tokens: vec![DEMO_TOKEN.into()],
        daily_quota: 14_400,
        quota_retry_after: true,
        quirks: Quirks::default(),
        forms: vec![Form {
            id: DEMO_FORM_ID.into(),
            name: "Exchange 2026 Registration".into(),
            fields: demo_fields(),
            submissions: subs,
        }],
    }
}

/// `n` deterministic submissions for the demo form's fields, two per second from `start`, ids
/// from `first_id`.
pub fn generate(n: usize, first_id: u64, start: NaiveDateTime) -> Vec<StoredSubmission> {
    const FIRST: &[&str] = &["Ava", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivan", "Jo"];
    const LAST: &[&str] = &["Ng", "Ortiz", "Patel", "Quinn", "Rossi", "Silva", "Tanaka", "Ueda", "Vance", "Wolfe"];
    const ORGS: &[&str] = &[
        "Acme Inc",
        "Globex LLC",
        "Initech",
        "Umbrella Corp",
        "Hooli",
        "Stark Industries",
        "Wayne Enterprises",
        "Wonka Co",
    ];
    const TYPES: &[&str] = &["Supplier", "Supplier - Small Business", "State Member", "Speaker or VIP"];
    const TZ: &[&str] = &["Eastern Time", "Central Time", "Mountain Time", "Pacific Time"];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ first_id;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let p = Person {
                first: FIRST[(next() % FIRST.len() as u64) as usize],
                last: LAST[(next() % LAST.len() as u64) as usize],
                org: Some(ORGS[(next() % ORGS.len() as u64) as usize]),
                reg_type: TYPES[(next() % TYPES.len() as u64) as usize],
                state: "KY",
                one_one: if next() % 2 == 0 { "Yes" } else { "No" },
                tz: TZ[(next() % TZ.len() as u64) as usize],
                industries: "Information Technology\nFacilities",
            };
            submission(first_id + i as u64, start + Duration::seconds(i as i64 / 2), &p, &[])
        })
        .collect()
}
