//! Seeded Formstack data: the demo form with every case of `shared/vendors/docs/formstack.md` §10,
//! and a deterministic generator of many submissions for benchmarks.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use serde_json::{Value, json};

use crate::formstack::{Field, Form, FormstackFixture, StoredSubmission};

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
/// It also serves the demo lander form ([`lander_form`]).
pub fn demo_fixture() -> FormstackFixture {
    let mut fixture: FormstackFixture =
        serde_json::from_str(include_str!("../fixtures/formstack-demo.json")).expect("the demo fixture file is valid");
    fixture.forms.push(lander_form());
    fixture
}

/// The demo lander form's id (a Formstack form feeding the lander flow; configured in
/// `infra/local/seed-demo.sql`, signed with [`DEMO_HMAC_KEY`]).
pub const DEMO_LANDER_FORM_ID: &str = "5211430";

/// The demo lander form, "Slip and fall lander": name (201), e-mail (202), phone (203), what
/// happened (204), date of the incident (205), how they heard of the firm (206, left unmapped),
/// with three leads.
pub fn lander_form() -> Form {
    let field = |id: &str, label: &str, kind: &str| Field { id: id.into(), label: label.into(), kind: kind.into() };
    let lead = |id: &str, ts: &str, data: Value| StoredSubmission {
        id: id.into(),
        timestamp: ts.into(),
        data: serde_json::from_value(data).expect("an object"),
    };
    Form {
        id: DEMO_LANDER_FORM_ID.into(),
        name: "Slip and fall lander".into(),
        fields: vec![
            field("201", "Name", "name"),
            field("202", "Email", "email"),
            field("203", "Phone", "phone"),
            field("204", "What happened?", "textarea"),
            field("205", "Date of the incident", "datetime"),
            field("206", "How did you hear about us?", "select"),
        ],
        submissions: vec![
            lead(
                "1700000001",
                "2026-11-03 10:15:00",
                json!({"201": "first = dana\nlast = Ruiz", "202": "dana.ruiz@example.org", "203": "(555) 010-3344",
                       "204": "Slipped on a wet floor at a grocery store.", "205": "Oct 30, 2026", "206": "Search"}),
            ),
            lead(
                "1700000002",
                "2026-11-03 11:40:00",
                json!({"201": "first = Lee\nlast = Park", "202": "lee.park@example.org", "203": "555.010.5566",
                       "204": "Fell on an icy sidewalk outside an office.", "206": "TV"}),
            ),
            lead(
                "1700000003",
                "2026-11-04 09:05:00",
                json!({"201": "first = Chris\nlast = Diaz", "203": "555-010-7711", "204": "Tripped on a torn carpet in a hotel.",
                       "205": "Nov 1, 2026"}),
            ),
        ],
    }
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

/// The demo Aventri account id.
pub const AVENTRI_ACCOUNT: &str = "sandbox-aventri-account";
/// The demo Aventri API key.
pub const AVENTRI_KEY: &str = "sandbox-aventri-key";
/// The demo Aventri event id.
pub const AVENTRI_EVENT: &str = "52301";

fn attendee(id: &str, first: &str, last: &str, status: &str, category: &str, modified: &str) -> Value {
    json!({
        "attendeeid": id, "fname": first, "lname": last,
        "email": format!("{}.{}@example.org", first, last).to_lowercase(),
        "registrationstatus": status,
        "category": {"categoryid": if category == "Sponsor" { "9" } else { "1" }, "name": category},
        "lastmodified": modified, "answers": [], "sessions": []
    })
}

fn answer(fieldname: &str, name: &str, page: &str, response: &str) -> Value {
    json!({"fieldname": fieldname, "name": name, "page": page, "response": response})
}

/// The Aventri demo: one event with every case of the connector's rules — each status (Confirmed,
/// Attended, Cancelled, Incomplete, Waitlisted), two sponsors (category "Sponsor") with levels,
/// an uploaded profile photo, a name in Unicode, two attendees sharing one `lastmodified`,
/// sessions without times (empty end, `0000-00-00`), two concurrent sessions with `in_slot`,
/// speakers with photos, and schedules.
pub fn aventri_demo_fixture() -> crate::aventri::AventriFixture {
    use crate::aventri::{Account, AventriEvent, AventriFixture};
    let mut attendees = vec![
        attendee("1001", "Ada", "Lovelace", "Confirmed", "Attendee", "2026-11-01 09:00:00"),
        attendee("1002", "Grace", "Hopper", "Attended", "Attendee", "2026-11-01 09:00:00"),
        attendee("1003", "Alan", "Turing", "Cancelled", "Attendee", "2026-11-02 10:00:00"),
        attendee("1004", "Edsger", "Dijkstra", "Incomplete", "Attendee", "2026-11-02 10:00:00"),
        attendee("1005", "Barbara", "Liskov", "Waitlisted", "Attendee", "2026-11-03 11:00:00"),
        attendee("1006", "Zoë", "Ångström-Łukasiewicz", "confirmed ", "VIP", "2026-11-03 11:00:00"),
        attendee("1007", "Katherine", "Johnson", "Confirmed", "Attendee", "2026-11-04 12:00:00"),
        attendee("1008", "Acme", "Sponsorship", "Confirmed", "Sponsor", "2026-11-04 12:00:00"),
        attendee("1009", "Globex", "Partnerships", "Confirmed", "Sponsor", "2026-11-05 08:30:00"),
    ];
    attendees[0]["sessions"] = json!(["2001", "2003"]);
    attendees[1]["sessions"] = json!(["2002"]);
    attendees[6]["sessions"] = json!(["2001", "2002", "2003"]);
    attendees[6]["answers"] =
        json!([answer("28340077", "Profile Photo", "Welcome", "{sandbox}/aventri-photos/uploads/1007")]);
    attendees[7]["answers"] = json!([answer("28340081", "Sponsor Level", "Sponsorship", "Gold")]);
    attendees[8]["answers"] = json!([answer("28340081", "Sponsor Level", "Sponsorship", "Silver")]);
    let session = |id: &str, name: &str, date: &str, start: &str, end: &str, slot: &str| {
        json!({"sessionid": id, "sessionkey": format!("K{id}"), "name": name, "sessiondate": date,
               "starttime": start, "endtime": end, "in_slot": slot, "lastmodified": "2026-11-01 08:00:00"})
    };
    let sessions = vec![
        session("2001", "Opening keynote", "2026-12-01", "09:00:00", "10:00:00", "1"),
        session("2002", "Workshop: data pipelines", "2026-12-01", "09:00:00", "10:30:00", "1"),
        session("2003", "Panel: the road ahead", "2026-12-01", "11:00:00", "12:00:00", ""),
        session("2004", "Networking (time to be announced)", "0000-00-00", "", "", ""),
        session("2005", "Closing drinks", "2026-12-01", "18:00:00", "", ""),
    ];
    let speaker = |id: &str, first: &str, last: &str, image: &str| {
        json!({"speakerid": id, "fname": first, "mname": "", "lname": last,
               "email": format!("{}@example.org", first.to_lowercase()), "title": "Speaker",
               "company": "Analytical Engines Ltd", "bio": format!("{first} {last} speaks on computing."),
               "image": image, "sessions": [{"sessionid": "2001"}], "lastmodified": "2026-11-01 08:00:00"})
    };
    AventriFixture {
        accounts: vec![Account { accountid: AVENTRI_ACCOUNT.into(), key: AVENTRI_KEY.into() }],
        token_ttl_secs: 600,
        rate_per_minute: 400,
        rate_window_secs: 60,
        max_limit: 1000,
        page_byte_cap: None,
        photos: [("83558", "presenter-3001-v1"), ("uploads/1007", "upload-1007-v1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        switches: Default::default(),
        events: vec![AventriEvent {
            eventid: AVENTRI_EVENT.into(),
            name: "Sandbox Summit 2026".into(),
            timezoneid: "17".into(),
            attendees,
            sessions,
            // Hedy Lamarr's image id is one the photo endpoint does not know.
            speakers: vec![speaker("3001", "Charles", "Babbage", "83558"), speaker("3002", "Hedy", "Lamarr", "83559")],
            categories: vec![
                json!({"categoryid": "1", "name": "Attendee"}),
                json!({"categoryid": "9", "name": "Sponsor"}),
            ],
        }],
    }
}

/// An Aventri event of `n` attendees for benchmarks: attendee `i` was last modified at
/// `2026-10-01 00:00:00` plus `i` seconds, so the newest ones form the tail of the list.
pub fn aventri_many(n: usize) -> crate::aventri::AventriFixture {
    let mut fixture = aventri_demo_fixture();
    fixture.photos.clear();
    let base = NaiveDateTime::parse_from_str("2026-10-01 00:00:00", "%Y-%m-%d %H:%M:%S").expect("date");
    fixture.events[0].attendees = (0..n)
        .map(|i| {
            let ts = (base + Duration::seconds(i as i64)).format("%Y-%m-%d %H:%M:%S").to_string();
            let mut a =
                attendee(&format!("{}", 100_000 + i), "Bench", &format!("Person{i}"), "Confirmed", "Attendee", &ts);
            a["answers"] = json!([answer("28340050", "Dietary", "Welcome", "none")]);
            a
        })
        .collect();
    fixture
}

/// The Lenos demo event's id.
pub const LENOS_EVENT: &str = "ev-2027";
/// The Lenos demo user.
pub const LENOS_USER: &str = "platform-sync";
/// Its password.
pub const LENOS_PASSWORD: &str = "lenos-demo-password";

/// A Lenos person.
pub fn lenos_person(id: &str, first: &str, last: &str, status: &str, modified: &str) -> Value {
    json!({"Id": id, "FirstName": first, "LastName": last, "Email": format!("{}@example.org", first.to_lowercase()),
           "Company": "Example Co", "Title": "Engineer", "RegistrationStatus": status, "UtcModifiedDate": modified})
}

/// The Lenos demo (provisional contract): persons with each `RegistrationStatus`, two
/// concurrent sessions with `in_slot`, a full session (capacity 1, taken), a closed session, a
/// session without times, registrations, locations and tags.
pub fn lenos_demo_fixture() -> crate::lenos::LenosFixture {
    use crate::lenos::{LenosEvent, LenosFixture, LenosSwitches};
    let persons = vec![
        lenos_person("p1", "Ada", "Lovelace", "Registered", "2026-11-01T09:00:00Z"),
        lenos_person("p2", "Grace", "Hopper", "Registered", "2026-11-01T09:00:00Z"),
        lenos_person("p3", "Alan", "Turing", "Cancelled", "2026-11-02T10:00:00Z"),
        lenos_person("p4", "Edsger", "Dijkstra", "Declined", "2026-11-02T10:00:00Z"),
        lenos_person("p5", "Barbara", "Liskov", "Pending", "2026-11-03T11:00:00Z"),
        lenos_person("p6", "Zoë", "Ångström", "Registered", "2026-11-03T11:00:00Z"),
    ];
    let session = |id: &str, title: &str, start: &str, end: &str, slot: Option<&str>, capacity: Option<u64>| {
        json!({"Id": id, "Title": title, "Description": format!("{title}."), "Start": start, "End": end,
               "LocationId": "l1", "TagIds": ["t1"], "in_slot": slot, "Capacity": capacity})
    };
    let mut sessions = vec![
        session(
            "s1",
            "Opening keynote",
            "2027-03-01T09:00:00+01:00",
            "2027-03-01T10:00:00+01:00",
            Some("A"),
            Some(200),
        ),
        session("s2", "Workshop: APIs", "2027-03-01T09:00:00+01:00", "2027-03-01T10:30:00+01:00", Some("A"), Some(30)),
        session(
            "s3",
            "Masterclass (one seat)",
            "2027-03-01T11:00:00+01:00",
            "2027-03-01T12:00:00+01:00",
            None,
            Some(1),
        ),
        session("s4", "Closed briefing", "2027-03-01T14:00:00+01:00", "2027-03-01T15:00:00+01:00", None, None),
        session("s5", "Networking (time to be announced)", "", "", None, None),
        session("s6", "Afternoon panel", "2027-03-01T16:00:00+01:00", "2027-03-01T17:00:00+01:00", None, Some(100)),
    ];
    sessions[3]["Closed"] = json!(true);
    let registration = |p: &str, s: &str, status: &str| json!({"PersonId": p, "SessionId": s, "Status": status});
    LenosFixture {
        username: LENOS_USER.into(),
        password: LENOS_PASSWORD.into(),
        switches: LenosSwitches::default(),
        events: vec![LenosEvent {
            id: LENOS_EVENT.into(),
            persons,
            sessions,
            registrations: vec![
                registration("p1", "s1", "Registered"),
                registration("p2", "s3", "Registered"),
                registration("p3", "s1", "Cancelled"),
            ],
            locations: vec![json!({"Id": "l1", "Name": "Hall A"}), json!({"Id": "l2", "Name": "Room 2"})],
            session_tags: vec![json!({"Id": "t1", "Name": "Keynotes"}), json!({"Id": "t2", "Name": "Workshops"})],
        }],
    }
}

/// The Lenos demo with `n` generated persons (`q<i>`, modified one second apart from
/// 2026-10-01T00:00:00Z), for benchmarks.
pub fn lenos_many(n: usize) -> crate::lenos::LenosFixture {
    let mut fixture = lenos_demo_fixture();
    let base = NaiveDateTime::parse_from_str("2026-10-01 00:00:00", "%Y-%m-%d %H:%M:%S").expect("date");
    fixture.events[0].persons = (0..n)
        .map(|i| {
            let ts = (base + Duration::seconds(i as i64)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
            lenos_person(&format!("q{i}"), "Bench", &format!("Person{i}"), "Registered", &ts)
        })
        .collect();
    fixture
}

/// The Cvent demo event id.
pub const CVENT_EVENT: &str = "3db28cfc-db22-11eb-8d19-0242ac130003";
/// The Cvent demo client id.
pub const CVENT_CLIENT_ID: &str = "platform-sync-client";
/// Its secret.
pub const CVENT_CLIENT_SECRET: &str = "cvent-demo-client-secret";

/// A Cvent attendee in the contract's shape (`contact.*`, `status`, `lastModified`).
pub fn cvent_attendee(id: &str, first: &str, last: &str, status: &str, modified: &str) -> Value {
    json!({"id": id, "event": {"id": CVENT_EVENT}, "confirmationNumber": format!("C{id}"), "status": status,
           "lastModified": modified, "registeredAt": "2026-10-01T09:00:00Z",
           "contact": {"id": format!("contact-{id}"), "firstName": first, "lastName": last,
                       "email": format!("{}@example.org", first.to_lowercase()), "company": "Example Co",
                       "title": "Engineer"}})
}

/// The Cvent demo (the contract's shapes): attendees with each kind of status, sessions (one
/// cancelled, one without times), speakers, exhibitors (one deleted) at two sponsorship levels;
/// profile pictures at `base`'s `/cvent-photos/` (the sandbox's URL), a2's missing there.
pub fn cvent_demo_fixture(base: &str) -> crate::cvent::CventFixture {
    use crate::cvent::{CventEvent, CventFixture, CventSwitches};
    let modified = "2026-11-01T09:00:00Z";
    let picture = |id: &str| json!({"profilePicture": {"href": format!("{base}/cvent-photos/{id}.jpg")}});
    let mut attendees = vec![
        cvent_attendee("a1", "Ada", "Lovelace", "Accepted", modified),
        cvent_attendee("a2", "Grace", "Hopper", "Accepted", modified),
        cvent_attendee("a3", "Alan", "Turing", "Cancelled", "2026-11-02T10:00:00Z"),
        cvent_attendee("a4", "Edsger", "Dijkstra", "Declined", "2026-11-02T10:00:00Z"),
        cvent_attendee("a5", "Barbara", "Liskov", "Waitlisted", "2026-11-03T11:00:00Z"),
        cvent_attendee("a6", "Zoë", "Ångström", "Accepted", "2026-11-03T11:00:00Z"),
    ];
    attendees[0]["contact"]["_links"] = picture("a1");
    attendees[1]["contact"]["_links"] = picture("missing-a2");
    let session = |id: &str, title: &str, start: &str, end: &str, status: &str| {
        let mut s = json!({"id": id, "event": {"id": CVENT_EVENT}, "title": title, "code": id.to_uppercase(),
            "description": format!("<p>{title}.</p>"), "status": status, "capacity": 150, "lastModified": modified,
            "location": {"id": "loc-a", "code": "ConfA", "name": "Conference Room A"}});
        if !start.is_empty() {
            s["start"] = json!(start);
            s["end"] = json!(end);
        }
        s
    };
    let speaker = |id: &str, first: &str, last: &str| {
        json!({"id": id, "event": {"id": CVENT_EVENT}, "firstName": first, "lastName": last, "company": "Cvent",
               "title": "Lead Engineer", "email": format!("{}@example.org", first.to_lowercase()),
               "biography": format!("{first} {last} speaks."), "lastModified": modified,
               "links": picture(id)})
    };
    let exhibitor = |id: &str, name: &str, level: &str, deleted: bool| {
        json!({"id": id, "event": {"id": CVENT_EVENT}, "name": name, "description": format!("{name}."),
               "sponsorshipLevel": {"id": level}, "deleted": deleted, "hidden": false, "location": "Booth 1",
               "profileLogoUrl": format!("https://photos.example.org/{id}.png"), "lastModified": modified})
    };
    CventFixture {
        client_id: CVENT_CLIENT_ID.into(),
        client_secret: CVENT_CLIENT_SECRET.into(),
        switches: CventSwitches::default(),
        events: vec![CventEvent {
            id: CVENT_EVENT.into(),
            attendees,
            sessions: vec![
                session(
                    "cs1",
                    "Day 1 Keynote Session",
                    "2027-04-12T13:00:00.000Z",
                    "2027-04-12T14:00:00.000Z",
                    "Active",
                ),
                session("cs2", "Workshop", "2027-04-12T15:00:00.000Z", "2027-04-12T16:30:00.000Z", "Closed"),
                session("cs3", "Cancelled panel", "2027-04-13T09:00:00.000Z", "2027-04-13T10:00:00.000Z", "Cancelled"),
                session("cs4", "Networking (time to be announced)", "", "", "Active"),
            ],
            speakers: vec![speaker("sp1", "Barbra", "Smith"), speaker("sp2", "Katherine", "Johnson")],
            exhibitors: vec![
                exhibitor("ex1", "Happy Hotdogs", "level-gold", false),
                exhibitor("ex2", "Acme Booths", "level-silver", false),
                exhibitor("ex3", "Gone Ltd", "level-silver", true),
            ],
        }],
    }
}

/// The demo Captorra organisation and referrer, and the demo ICE referrer (the lead intake
/// systems accept only seeded identities).
pub const DEMO_CAPTORRA: (&str, &str) = ("123456", "6F9619FF-8B86-D011-B42D-00C04FC964FF");
/// The demo ICE referrer.
pub const DEMO_ICE_REFERRER: &str = "0E984725-C51C-4BF4-9960-E1C80E27ABA0";

/// The lead intake systems' demo identities (lenient, no duplicate detection).
pub fn leads_demo_fixture() -> crate::leads::LeadIntakeFixture {
    crate::leads::LeadIntakeFixture {
        captorra: vec![(DEMO_CAPTORRA.0.into(), DEMO_CAPTORRA.1.into())],
        ice_referrers: vec![DEMO_ICE_REFERRER.into()],
        ..Default::default()
    }
}
