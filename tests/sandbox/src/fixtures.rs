//! Seeded Formstack data: the demo form with every case of `shared/vendors/docs/formstack.md` §10,
//! and a deterministic generator of many submissions for benchmarks.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use serde_json::{Value, json};

use crate::formstack::{FormstackFixture, StoredSubmission};

/// The demo form's id.
pub const DEMO_FORM_ID: &str = "5095980";
/// The demo API token.
pub const DEMO_TOKEN: &str = "sandbox-formstack-token";
/// The demo webhook HMAC key.
pub const DEMO_HMAC_KEY: &str = "sandbox-hmac-key";

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

fn submission(id: u64, ts: NaiveDateTime, p: &Person<'_>) -> StoredSubmission {
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
    StoredSubmission { id: id.to_string(), timestamp: ts.format("%Y-%m-%d %H:%M:%S").to_string(), data }
}

/// The demo fixture (`tests/sandbox/fixtures/formstack-demo.json`, field ids as in
/// `infra/local/seed-demo.sql`): one form, seeded with every registration type (and an unknown
/// one), the organisation spellings of the dedupe cases ("Acme Inc", "Acme, Inc.", "ACME INC",
/// "Acme Inc ", "Acme Corporation", empty, missing), multi-line industries (a label with a comma, a
/// trailing newline), every US time zone, states as code / name / blank, one-on-one answers "Yes",
/// "No", "yes" and blank, two submissions in the same second, and one submission whose meetings
/// value is not a number (it must land as a mapping error and not stop the others).
pub fn demo_fixture() -> FormstackFixture {
    serde_json::from_str(include_str!("../fixtures/formstack-demo.json")).expect("the demo fixture file is valid")
}

/// The demo MeetMax consumer key.
pub const MEETMAX_KEY: &str = "sandbox-meetmax-key";
/// The demo MeetMax consumer secret.
pub const MEETMAX_SECRET: &str = "sandbox-meetmax-secret";

/// The MeetMax demo fixture (`tests/sandbox/fixtures/meetmax-demo.json`): a production-like event
/// (90199, NASPO2 roles, industries field 9069) and a staging-like one (110641, NASPO3 roles,
/// field 21814) with custom fields for biography, time zone, headshot, meetings, industries (options
/// include "Maintenance Repair and Operations") and other industries; one company entity already
/// present in each ("Globex Corporation" in 90199, "Acme" in 110641).
pub fn meetmax_demo_fixture() -> crate::MeetmaxFixture {
    serde_json::from_str(include_str!("../fixtures/meetmax-demo.json")).expect("the MeetMax fixture file is valid")
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
            submission(first_id + i as u64, start + Duration::seconds(i as i64 / 2), &p)
        })
        .collect()
}
