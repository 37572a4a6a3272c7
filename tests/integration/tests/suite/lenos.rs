//! The Lenos connector (provisional contract `lenos-provisional-v1`) against the sandbox's Lenos
//! over HTTP, a real PostgreSQL and moto: every stream and rule, the incremental Person pull and
//! its watermark, removal after an incremental pull (which would delete data: never), both
//! authentication modes, errors and the preview.

use chrono::{DateTime, Utc};
use integration_tests::{
    connector_support::{ConnectorHarness, LENOS_CONNECTION, count},
    hostile,
};
use platform_connectors::{ConnectorError, Progress};
use platform_runtime::Deadline;
use serde_json::json;
use vendor_sandbox::{Fault, FaultRule, fixtures};

fn demo_settings() -> serde_json::Value {
    json!({"ConcurrentSessionsTitle": "Parallel sessions", "event_time_zone": "Europe/Paris"})
}

async fn harness() -> ConnectorHarness {
    let h = ConnectorHarness::lenos(fixtures::lenos_demo_fixture(), demo_settings()).await;
    h.db.exec("UPDATE connector.stream SET mapping = '{\"in_slot\": \"in_slot\"}' WHERE stream = 'sessions'").await;
    h
}

#[tokio::test]
async fn a_pulled_record_is_stored_without_nul_at_any_depth() {
    let h = harness().await;
    let mut person = fixtures::lenos_person("p9", "Nul\u{0}Byte", "名前", "Registered", "2026-11-05T00:00:00Z");
    person["Extra"] = hostile::value();
    h.sandbox.state.lenos.lock().await.upsert_persons(fixtures::LENOS_EVENT, vec![person]);
    let p = h.pull("participants").await;
    assert_eq!((count(&p, "created_count"), count(&p, "failed_count")), (7, 0), "{}", p.run);
    let r = &h
        .db
        .rows("SELECT fields ->> 'first_name', raw -> 'Extra' FROM connector.participant WHERE fp_ext_id = 'p9'")
        .await[0];
    assert_eq!(r.get::<_, String>(0), "NulByte");
    assert_eq!(r.get::<_, serde_json::Value>(1), hostile::stored());
}

#[tokio::test]
async fn every_lenos_stream_is_pulled_with_its_rules() {
    let h = harness().await;
    let p = h.pull("participants").await;
    assert_eq!((p.run["mode"].as_str(), count(&p, "created_count")), (Some("full"), 6), "{}", p.run);
    let statuses: Vec<(String, String, String)> =
        h.db.rows("SELECT fp_ext_id, fp_status, raw_status FROM connector.participant ORDER BY 1")
            .await
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    let expected = [
        ("p1", "active", "Registered"),
        ("p2", "active", "Registered"),
        ("p3", "cancelled", "Cancelled"),
        ("p4", "cancelled", "Declined"),
        ("p5", "cancelled", "Pending"),
        ("p6", "active", "Registered"),
    ];
    for ((id, status, raw), (eid, estatus, eraw)) in statuses.iter().zip(expected) {
        assert_eq!((id.as_str(), status.as_str(), raw.as_str()), (eid, estatus, eraw));
    }
    let first: String =
        h.db.scalar("SELECT fields ->> 'first_name' FROM connector.participant WHERE fp_ext_id = 'p6'").await;
    assert_eq!(first, "Zoë");

    // Sessions: times to UTC; one without times imported all the same (SpotMe: "All sessions
    // are imported"), flagged and without times; a master for s1 + s2.
    let s = h.pull("sessions").await;
    assert_eq!(count(&s, "created_count"), 6, "{}", s.run);
    assert!(s.run["skipped_reasons"].get("no start or end time").is_none(), "{}", s.run);
    let untimed: (Option<String>, Option<String>, String) = {
        let r = &h
            .db
            .rows("SELECT fields ->> 'import_flag', fields ->> 'starts_at', fields ->> 'title' FROM connector.session WHERE fp_ext_id = 's5'")
            .await[0];
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(untimed, (Some("no start or end time".into()), None, "Networking (time to be announced)".into()));
    let starts: String =
        h.db.scalar("SELECT fields ->> 'starts_at' FROM connector.session WHERE fp_ext_id = 's1'").await;
    assert_eq!(starts, "2027-03-01T08:00:00Z");
    let children: Vec<String> = h
        .db
        .rows("SELECT fp_ext_id FROM connector.session WHERE parent_ext_id = 'master:2027-03-01T08:00:00Z' ORDER BY 1")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(children, ["s1", "s2"]);
    let title: String = h.db.scalar("SELECT fields ->> 'title' FROM connector.session WHERE is_master").await;
    assert_eq!(title, "Parallel sessions");

    // Registrations: person ↔ session, the status rule, the person as parent.
    let r = h.pull("registrations").await;
    assert_eq!(count(&r, "created_count"), 3, "{}", r.run);
    let reg: (String, String, String) = {
        let row = &h.db.rows("SELECT fp_status, parent_ext_id, fields ->> 'session_ext_id' FROM connector.schedule WHERE fp_ext_id = 'p3/s1'").await[0];
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!(reg, ("cancelled".into(), "p3".into(), "s1".into()));

    // Locations and session tags (the agenda of version 3).
    for (stream, table) in [("locations", "location"), ("session_tags", "session_tag")] {
        let run = h.pull(stream).await;
        assert_eq!(count(&run, "created_count"), 2, "{stream}: {}", run.run);
        let name: String =
            h.db.scalar(&format!("SELECT fields ->> 'name' FROM connector.{table} ORDER BY fp_ext_id LIMIT 1")).await;
        assert!(!name.is_empty());
    }

    // Basic authentication on every call; the header never reaches the request log.
    let reqs = h.sandbox.requests().await;
    assert!(
        reqs.iter().all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == "[redacted]")),
        "{:?}",
        reqs[0].headers
    );
    assert!(reqs.iter().all(|r| !r.path.ends_with("/login")));
}

#[tokio::test]
async fn persons_are_incremental_from_the_last_successful_pull_minus_the_overlap() {
    let h = harness().await;
    h.pull("participants").await;
    let cursor: DateTime<Utc> =
        h.db.scalar("SELECT cursor_at FROM connector.stream WHERE stream = 'participants'").await;

    // A failed pull leaves the watermark where it was.
    h.sandbox.state.lenos.lock().await.fixture.as_mut().unwrap().switches.fail_status = Some(500);
    let err = h.service.pull_now(LENOS_CONNECTION, "participants", &Deadline::none()).await.unwrap_err();
    assert!(err.to_string().contains("500"), "{err}");
    let after_failure: DateTime<Utc> =
        h.db.scalar("SELECT cursor_at FROM connector.stream WHERE stream = 'participants'").await;
    assert_eq!(after_failure, cursor);
    h.sandbox.state.lenos.lock().await.fixture.as_mut().unwrap().switches.fail_status = None;

    let mut changed = fixtures::lenos_person("p2", "Grace", "Hopper", "Cancelled", &Utc::now().to_rfc3339());
    changed["Title"] = json!("Rear Admiral");
    h.sandbox.state.lenos.lock().await.upsert_persons(fixtures::LENOS_EVENT, vec![changed]);
    let before = h.sandbox.requests().await.len();
    let second = h.pull("participants").await;
    assert_eq!(second.run["mode"], "incremental", "{}", second.run);
    assert_eq!((count(&second, "read_count"), count(&second, "updated_count")), (1, 1), "{}", second.run);
    let reqs = h.sandbox.requests().await;
    let since = (cursor - chrono::Duration::minutes(10)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(
        reqs[reqs.len() - 1].param("utcModifiedDate"),
        Some(since.as_str()),
        "the default overlap is 10 minutes"
    );
    assert!(reqs[before..].iter().all(|r| r.path.ends_with("/persons")));
    let status: String = h.db.scalar("SELECT fp_status FROM connector.participant WHERE fp_ext_id = 'p2'").await;
    assert_eq!(status, "cancelled");

    // The overlap and the parameter's format are settings; the other streams stay full.
    h.db.exec(
        "UPDATE connector.connection SET settings = settings || '{\"look_back_minutes\": 60, \"modified_since_format\": \"%Y-%m-%dT%H:%M:%S+00:00\"}'",
    )
    .await;
    let cursor: DateTime<Utc> =
        h.db.scalar("SELECT cursor_at FROM connector.stream WHERE stream = 'participants'").await;
    h.pull("participants").await;
    let last = h.sandbox.requests().await.pop().unwrap();
    let since = (cursor - chrono::Duration::minutes(60)).format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    assert_eq!(last.param("utcModifiedDate"), Some(since.as_str()));
    h.pull("sessions").await;
    let again = h.pull("sessions").await;
    assert_eq!(again.run["mode"], "full", "sessions have no modified-since filter");
    assert!(h.sandbox.requests().await.pop().unwrap().param("utcModifiedDate").is_none());
}

#[tokio::test]
async fn the_seeds_removal_trap_removes_nothing_after_an_incremental_person_pull() {
    let h = harness().await;
    h.db.exec(
        "UPDATE connector.stream SET remove_outdated = true, removal_max_share = 0.5 WHERE stream = 'participants'",
    )
    .await;
    h.pull("participants").await;
    // A person is deleted in Lenos; the next Person pull is incremental: removing what it did not
    // read would delete everyone else.
    h.sandbox.state.lenos.lock().await.remove_person(fixtures::LENOS_EVENT, "p5");
    let inc = h.pull("participants").await;
    assert_eq!(inc.run["mode"], "incremental");
    assert_eq!(count(&inc, "removed_count"), 0, "{}", inc.run);
    let why = inc.run["removal"].as_str().unwrap_or_default();
    assert!(why.contains("nothing removed: this pull was incremental"), "{why}");
    let live: i64 = h.db.scalar("SELECT count(*) FROM connector.participant WHERE removed_at IS NULL").await;
    assert_eq!(live, 6, "every person is still there");

    // A complete full pull (operator command) removes the one that left.
    let full = h.service.pull_full(LENOS_CONNECTION, "participants", &Deadline::none()).await.unwrap();
    assert_eq!((full.run["mode"].as_str(), count(&full, "removed_count")), (Some("full"), 1), "{}", full.run);
    let removed: String = h.db.scalar("SELECT fp_ext_id FROM connector.participant WHERE removed_at IS NOT NULL").await;
    assert_eq!(removed, "p5");
}

#[tokio::test]
async fn token_mode_logs_in_and_again_after_expiry_and_errors_are_clear() {
    let mut fixture = fixtures::lenos_demo_fixture();
    fixture.switches.token_auth = true;
    let h = ConnectorHarness::lenos(fixture, demo_settings()).await;
    h.pull("participants").await;
    let logins = |reqs: &[vendor_sandbox::RecordedRequest]| reqs.iter().filter(|r| r.path.ends_with("/login")).count();
    assert_eq!(logins(&h.sandbox.requests().await), 1);
    assert!(
        h.sandbox.requests().await.iter().all(|r| !r.body.contains(fixtures::LENOS_PASSWORD)),
        "the password is redacted"
    );
    h.sandbox.state.lenos.lock().await.expire_tokens();
    let s = h.pull("sessions").await;
    assert_eq!(s.progress, Progress::Complete);
    assert_eq!(logins(&h.sandbox.requests().await), 2, "logged in again once after the 401");

    // 429 with Retry-After and a 503 are retried; the pull completes.
    h.sandbox
        .set_faults(vec![
            FaultRule {
                path_prefix: "/lenos/events/ev-2027/locations".into(),
                on_requests: vec![1],
                fault: Fault::RateLimit { retry_after: 1 },
            },
            FaultRule {
                path_prefix: "/lenos/events/ev-2027/sessiontags".into(),
                on_requests: vec![1],
                fault: Fault::ServerError { status: 503 },
            },
        ])
        .await;
    assert_eq!(count(&h.pull("locations").await, "created_count"), 2);
    assert_eq!(count(&h.pull("session_tags").await, "created_count"), 2);

    // A wrong password, an unknown event.
    h.sandbox.state.lenos.lock().await.fixture.as_mut().unwrap().password = "changed".into();
    h.sandbox.state.lenos.lock().await.expire_tokens();
    let err = h.service.pull_now(LENOS_CONNECTION, "registrations", &Deadline::none()).await.unwrap_err();
    assert_eq!(err.to_string(), "Lenos refused the username / password");
    h.sandbox.state.lenos.lock().await.fixture.as_mut().unwrap().password = fixtures::LENOS_PASSWORD.into();
    h.sandbox.state.lenos.lock().await.fixture.as_mut().unwrap().events[0].id = "another".into();
    let err = h.service.pull_now(LENOS_CONNECTION, "registrations", &Deadline::none()).await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Provider(m) if m.contains("404") && m.contains("event id")), "{err}");
}

#[tokio::test]
async fn the_preview_works_for_lenos() {
    let h = harness().await;
    let answer = h.service.preview(LENOS_CONNECTION).await.unwrap();
    let fields = answer.streams["participants"].fields.join(", ");
    assert!(fields.contains("RegistrationStatus") && fields.contains("UtcModifiedDate"), "{fields}");
    let bytes = reqwest::get(answer.url.as_str()).await.unwrap().bytes().await.unwrap();
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names = book.sheet_names();
    for sheet in ["participants", "sessions", "registrations", "locations", "session_tags", "skipped"] {
        assert!(names.iter().any(|n| n == sheet), "{sheet} in {names:?}");
    }
    let skipped = book.worksheet_range("skipped").unwrap();
    let text: Vec<String> =
        skipped.rows().map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("|")).collect();
    assert!(text.iter().any(|l| l.contains("p3|imported as cancelled")), "{text:?}");
    let rows: i64 = h.db.scalar("SELECT count(*) FROM connector.participant").await;
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn the_event_ids_place_is_a_setting_path_or_query() {
    // SpotMe's one hint (`…&utcModifiedDate=…`) puts parameters in the query: with `paths` and
    // `event_param` set, the event id travels as `eventId=` and the calls leave it out of the path.
    let mut settings = demo_settings();
    settings["event_param"] = json!("eventId");
    settings["paths"] = json!({"participants": "persons", "sessions": "sessions"});
    let h = ConnectorHarness::lenos(fixtures::lenos_demo_fixture(), settings).await;
    let p = h.pull("participants").await;
    assert_eq!(count(&p, "created_count"), 6, "{}", p.run);
    let s = h.pull("sessions").await;
    assert_eq!(count(&s, "created_count"), 6, "{}", s.run);
    let reqs = h.sandbox.requests().await;
    let persons = reqs.iter().find(|r| r.path.ends_with("/persons")).unwrap();
    assert_eq!(persons.path, "/lenos/persons");
    assert_eq!(persons.param("eventId"), Some(fixtures::LENOS_EVENT));
    // A stream without a path of its own keeps the description's, event id and all.
    h.pull("locations").await;
    let locations = h.sandbox.requests().await.into_iter().find(|r| r.path.ends_with("/locations")).unwrap();
    assert_eq!(locations.path, format!("/lenos/events/{}/locations", fixtures::LENOS_EVENT));
}
