//! meetmax-sync against real PostgreSQL, moto and the sandbox's MeetMax over HTTP: companies
//! before attendees, exactly one record under duplicates, concurrency and crashes, edits,
//! error classes in both error modes, pacing, and the configuration-driven view.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use integration_tests::meetmax_support::{MeetmaxHarness, Reg, test_settings};
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_RELEASED};
use platform_meetmax::Outcome;
use platform_vendors::meetmax::ErrorClass;
use vendor_sandbox::{
    Fault, FaultRule,
    meetmax::{Duplicates, Switches},
};

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn record_counts(h: &MeetmaxHarness) -> (HashMap<String, usize>, HashMap<String, usize>) {
    h.record_counts().await
}

async fn demo_set(h: &MeetmaxHarness) {
    h.review("Acme Inc", "Acme").await;
    h.review("ACME INC", "Acme").await;
    h.review("Globex", "Globex Corporation").await;
    h.registration(&Reg::supplier("s1", "Acme Inc")).await;
    h.registration(&Reg::supplier("s2", "ACME INC")).await;
    h.registration(&Reg::supplier("s3", "Globex")).await;
    h.registration(&Reg { kind: "State Member", state: Some("KY"), org: None, ..Reg::supplier("m1", "") }).await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("v1", "Keynote Speakers LLC") }).await;
    // Not sendable: a state missing from the lookup, and a supplier whose organisation was never reviewed.
    h.registration(&Reg { kind: "State Member", state: Some("TX"), org: None, ..Reg::supplier("m2", "") }).await;
    h.registration(&Reg::supplier("s4", "Initech")).await;
    // Held by the review gate (never released) and not approved: no call at all.
    h.registration(&Reg { released: false, ..Reg::supplier("s5", "Hooli") }).await;
    h.registration(&Reg { approved: false, released: false, ..Reg::supplier("s6", "Acme Inc") }).await;
}

#[tokio::test]
async fn companies_come_before_their_attendees_and_a_rerun_adds_nothing() {
    let h = MeetmaxHarness::new().await;
    demo_set(&h).await;
    platform_runtime::metrics::capture();
    let report = h.sync.run(None, "test").await.unwrap();
    let counts = report.counts();
    let m = &integration_tests::emf("meetmax-sync", "sync")[0];
    assert_eq!(m["VendorCalls"].as_u64(), Some(report.calls), "{m}");
    assert_eq!(m["Processed"].as_u64(), Some(report.outcomes.len() as u64), "{m}");
    assert_eq!(counts.get("added"), Some(&5), "{:?}", report.outcomes);
    assert_eq!(counts.get("ineligible"), Some(&2), "{:?}", report.outcomes);

    let records = h.records().await;
    // "Globex Corporation" was already an entity in MeetMax: only Acme is added, before s1 and s2.
    let acme = records.iter().position(|r| r.is_entity() && r.fields["company"] == "Acme").expect("Acme entity");
    let entities: Vec<&str> = records.iter().filter(|r| r.is_entity()).map(|r| r.fields["company"].as_str()).collect();
    assert_eq!(entities, vec!["Globex Corporation", "Acme"]);
    for crm in ["s1", "s2"] {
        let person = records.iter().position(|r| r.fields.get("crm_id").map(String::as_str) == Some(crm)).unwrap();
        assert!(acme < person, "the company precedes {crm}");
    }
    let entity = &records[acme].fields;
    assert_eq!(
        (entity["attendee_type"].as_str(), entity["first"].as_str(), entity["last"].as_str()),
        ("E", "Management", "Team")
    );

    // The people carry the configured attributes.
    let s1 = records.iter().find(|r| r.fields.get("crm_id").map(String::as_str) == Some("s1")).unwrap();
    assert_eq!(s1.fields["company"], "Acme");
    assert_eq!(s1.fields["attendee_role_id"], "NASPO2_SUPPLIER_ATT");
    // Industries as a list, one repeated parameter per label (the default: the 2022–25 scripts).
    assert_eq!(s1.fields["custom_9069"], "Cleaning Janitorial|Information Technology");
    let add = h
        .sandbox
        .requests()
        .await
        .into_iter()
        .find(|r| r.path.ends_with("attendee/add") && r.param("crm_id") == Some("s1"))
        .unwrap();
    assert_eq!(add.params.iter().filter(|(k, _)| k == "custom_9069").count(), 2, "{:?}", add.params);
    assert_eq!(s1.fields["custom_12784"], "Eastern");
    assert_eq!(s1.fields["receive_request"], "Y");
    assert!(!s1.fields.contains_key("password"), "no shared password is sent");
    let m1 = records.iter().find(|r| r.fields.get("crm_id").map(String::as_str) == Some("m1")).unwrap();
    assert_eq!(
        (m1.fields["company"].as_str(), m1.fields["attendee_role_id"].as_str()),
        ("Kentucky", "NASPO2_STATE_REP")
    );
    let v1 = records.iter().find(|r| r.fields.get("crm_id").map(String::as_str) == Some("v1")).unwrap();
    assert_eq!((v1.fields["company"].as_str(), v1.fields["grp_name"].as_str()), ("Keynote Speakers LLC", "3"));

    // The warehouse holds every id, and a reason for the others.
    for id in ["s1", "s2", "s3", "m1", "v1"] {
        let (mm, status) = h.warehouse_outcome(id).await;
        assert!(mm.is_some() && status.is_none(), "{id}: {mm:?} {status:?}");
    }
    assert_eq!(h.warehouse_outcome("m2").await.1.unwrap(), "not sent: state 'TX' is not in conferences_events.states");
    assert_eq!(h.warehouse_outcome("s4").await.1.unwrap(), "not sent: organisation 'Initech' has no clean name yet");
    assert_eq!(h.warehouse_outcome("s5").await.1.unwrap(), "waiting: organisation 'Hooli' is not reviewed");
    assert_eq!(h.warehouse_outcome("s6").await, (None, None), "unapproved rows are not touched");

    // Every call was signed (the sandbox verifies) and asked for JSON.
    let requests = h.sandbox.requests().await;
    assert!(requests.iter().all(|r| r.status == 200 && r.param("data_type") == Some("json")), "{requests:#?}");
    assert_eq!(h.calls("attendee/list").await, 1, "the event's companies are listed once");

    let adds_before = h.calls("attendee/add").await;
    let again = h.sync.run(None, "test").await.unwrap();
    assert_eq!(again.counts().get("unchanged"), Some(&5));
    assert_eq!(h.calls("attendee/add").await, adds_before, "a re-run adds nothing");
    assert_eq!(h.calls("attendee/list").await, 1, "nothing missing: no list either");
}

#[tokio::test]
async fn duplicate_deliveries_and_concurrent_runs_create_one_record_each() {
    let h = MeetmaxHarness::new().await;
    h.review("Acme Inc", "Acme").await;
    h.review("Wonka", "Wonka Co").await;
    let mut all = Vec::new();
    for i in 0..12 {
        let id = format!("d{i}");
        let org = if i % 2 == 0 { "Acme Inc" } else { "Wonka" };
        h.registration(&Reg::supplier(&id, org)).await;
        all.push(id);
    }
    // The same ids delivered three times at once, plus a sweep.
    let (a, b, c, d) = tokio::join!(
        h.sync.run(Some(&all), "sqs"),
        h.sync.run(Some(&all), "sqs"),
        h.sync.run(Some(&all), "sqs"),
        h.sync.run(None, "schedule")
    );
    for r in [a, b, c, d] {
        r.unwrap();
    }
    // A redelivery of whatever was busy.
    h.sync.run(Some(&all), "sqs").await.unwrap();
    let (people, companies) = record_counts(&h).await;
    assert_eq!(people.len(), 12);
    assert!(people.values().all(|n| *n == 1), "{people:?}");
    assert_eq!(companies.get("Acme"), Some(&1));
    assert_eq!(companies.get("Wonka Co"), Some(&1));
    for id in &all {
        assert!(h.warehouse_outcome(id).await.0.is_some(), "{id} has its MeetMax id");
    }
}

#[tokio::test]
async fn a_crash_between_meetmax_and_the_database_never_duplicates() {
    let mut settings = test_settings();
    settings.lease = Duration::from_secs(1);
    let mut h = MeetmaxHarness::with(settings, 200.0, 1).await;
    h.review("Acme Inc", "Acme").await;
    h.registration(&Reg::supplier("c1", "Acme Inc")).await;
    h.registration(&Reg::supplier("c2", "Acme Inc")).await;

    // Crash right after MeetMax created the company, then right after it created c1.
    for target in ["Acme", "c1"] {
        let fired = Arc::new(AtomicBool::new(false));
        let f = fired.clone();
        let target = target.to_owned();
        h.sync.hooks.crash_after_call =
            Some(Arc::new(move |_call: &str, key: &str| key == target && !f.swap(true, Ordering::SeqCst)));
        let err = h.sync.run(None, "test").await.unwrap_err();
        assert!(err.to_string().contains("injected crash"), "{err}");
        assert!(fired.load(Ordering::SeqCst));
        // The crashed run's lease runs out, as Lambda's would.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    h.sync.hooks.crash_after_call = None;
    let report = h.sync.run(None, "test").await.unwrap();
    assert_eq!(report.outcomes["c1"], Outcome::Adopted(report_id(&h, "c1").await), "{:?}", report.outcomes);
    assert!(matches!(report.outcomes["c2"], Outcome::Added(_)), "{:?}", report.outcomes);
    let (people, companies) = record_counts(&h).await;
    assert_eq!(companies.get("Acme"), Some(&1), "the company was found, not added again");
    assert_eq!((people.get("c1"), people.get("c2")), (Some(&1), Some(&1)));
    let adopted: bool = h.db.scalar("SELECT adopted FROM integration.meetmax_company WHERE company = 'Acme'").await;
    assert!(adopted);
}

async fn report_id(h: &MeetmaxHarness, id: &str) -> String {
    h.warehouse_outcome(id).await.0.expect("has an id")
}

#[tokio::test]
async fn an_answer_lost_to_a_timeout_is_looked_up_before_adding_again() {
    let mut settings = test_settings();
    settings.timeout = Duration::from_millis(500);
    let h = MeetmaxHarness::with(settings, 200.0, 2).await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("t1", "Keynote Speakers LLC") }).await;
    // MeetMax creates the record but answers after the client gave up.
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: "/sched/service/attendee/add".into(),
            on_requests: vec![1],
            fault: Fault::LateAnswer { delay_ms: 1500 },
        }])
        .await;
    let first = h.sync.run(None, "test").await.unwrap();
    assert!(
        matches!(&first.outcomes["t1"], Outcome::Failed { class, .. } if *class == ErrorClass::Transient),
        "{:?}",
        first.outcomes
    );
    assert!(first.outcomes["t1"].retry_via_queue());
    assert_eq!(h.calls("attendee/add").await, 1, "a write whose outcome is unknown is not retried blindly");
    assert!(h.warehouse_outcome("t1").await.1.unwrap().starts_with("transient: "));
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let second = h.sync.run(None, "test").await.unwrap();
    assert!(matches!(second.outcomes["t1"], Outcome::Adopted(_)), "{:?}", second.outcomes);
    assert_eq!(h.calls("attendee/add").await, 1);
    assert_eq!(record_counts(&h).await.0.get("t1"), Some(&1));
    assert_eq!(h.warehouse_outcome("t1").await.1, None, "the error text is cleared on success");
}

#[tokio::test]
async fn a_changed_field_is_one_edit_and_an_unchanged_row_none() {
    let h = MeetmaxHarness::new().await;
    h.review("Acme Inc", "Acme").await;
    h.registration(&Reg::supplier("e1", "Acme Inc")).await;
    h.registration(&Reg::supplier("e2", "Acme Inc")).await;
    h.sync.run(None, "test").await.unwrap();
    let mm = report_id(&h, "e1").await;

    h.db.exec("UPDATE conferences_events.exchange_registration SET industries = 'Facilities' || chr(10) || 'Construction' WHERE registration_id = 'e1'").await;
    let report = h.sync.run(None, "test").await.unwrap();
    assert_eq!(report.outcomes["e1"], Outcome::Edited { meetmax_id: mm.clone(), fields: 1 });
    assert_eq!(report.outcomes["e2"], Outcome::Unchanged(report_id(&h, "e2").await));
    let edits: Vec<_> =
        h.sandbox.requests().await.into_iter().filter(|r| r.path == "/sched/service/attendee/edit").collect();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].param("investor_id"), Some(mm.as_str()), "the edit addresses the stored id");
    assert_eq!(edits[0].param("field_name"), Some("custom_9069"));
    assert_eq!(edits[0].param("field_value"), Some("Facilities|Construction"));
    let record = h.records().await.into_iter().find(|r| r.id.to_string() == mm).unwrap();
    assert_eq!(record.fields["custom_9069"], "Facilities|Construction");

    h.sync.run(None, "test").await.unwrap();
    assert_eq!(h.calls("attendee/edit").await, 1, "nothing changed since: no edit");
}

#[tokio::test]
async fn permanent_errors_are_kept_in_both_modes_and_retried_when_the_row_changes() {
    for error_status in [200u16, 400] {
        let h = MeetmaxHarness::new().await;
        h.sandbox.set_meetmax_switches(Switches { error_status, ..Switches::default() }).await;
        h.registration(&Reg {
            kind: "Speaker or VIP",
            industries: Some("Underwater Basket Weaving"),
            ..Reg::supplier("p1", "Keynote Speakers LLC")
        })
        .await;
        let first = h.sync.run(None, "test").await.unwrap();
        assert!(
            matches!(&first.outcomes["p1"], Outcome::Failed { class, message } if *class == ErrorClass::Permanent && message.contains("unknown option 'Underwater Basket Weaving'")),
            "mode {error_status}: {:?}",
            first.outcomes
        );
        assert!(!first.outcomes["p1"].retry_via_queue());
        assert_eq!(h.calls("attendee/add").await, 1, "mode {error_status}: validation errors are not retried");
        let status = h.warehouse_outcome("p1").await.1.unwrap();
        assert!(status.starts_with("permanent: MeetMax attendee/add: custom_9069: unknown option"), "{status}");

        // Unchanged: held, no call.
        let held = h.sync.run(None, "test").await.unwrap();
        assert!(matches!(held.outcomes["p1"], Outcome::Held(_)));
        assert_eq!(h.calls("attendee/add").await, 1);
        // An operator clears the status: tried again (and fails again).
        h.db.exec(
            "UPDATE conferences_events.exchange_registration SET meetmax_status = NULL WHERE registration_id = 'p1'",
        )
        .await;
        h.sync.run(None, "test").await.unwrap();
        assert_eq!(h.calls("attendee/add").await, 2);
        // The row is fixed: tried again, and it lands.
        h.db.exec("UPDATE conferences_events.exchange_registration SET industries = 'Facilities' WHERE registration_id = 'p1'").await;
        let fixed = h.sync.run(None, "test").await.unwrap();
        assert!(matches!(fixed.outcomes["p1"], Outcome::Added(_)), "{:?}", fixed.outcomes);
        assert_eq!(h.warehouse_outcome("p1").await.1, None);
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_with_backoff() {
    let h = MeetmaxHarness::new().await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("r1", "Keynote Speakers LLC") }).await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("r2", "Keynote Speakers LLC") }).await;
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: "/sched/service/attendee/add".into(),
            on_requests: vec![1, 2],
            fault: Fault::RateLimit { retry_after: 1 },
        }])
        .await;
    let report = h.sync.run(None, "test").await.unwrap();
    assert_eq!(report.counts().get("added"), Some(&2), "{:?}", report.outcomes);
    assert_eq!(h.calls("attendee/add").await, 4, "two 429s, each retried once");
    assert_eq!(record_counts(&h).await.0.len(), 2);

    // A 5xx on a write may have been applied: it is not retried in the run, the queue brings it back.
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("r3", "Keynote Speakers LLC") }).await;
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: "/sched/service/attendee/add".into(),
            on_requests: vec![1],
            fault: Fault::ServerError { status: 503 },
        }])
        .await;
    let report = h.sync.run(None, "test").await.unwrap();
    assert!(report.outcomes["r3"].retry_via_queue(), "{:?}", report.outcomes);
    let report = h.sync.run(None, "test").await.unwrap();
    assert!(
        matches!(report.outcomes["r3"], Outcome::Added(_)),
        "looked up (nothing found), then added: {:?}",
        report.outcomes
    );
    assert_eq!(record_counts(&h).await.0.get("r3"), Some(&1));
}

#[tokio::test]
async fn refused_credentials_stop_the_account_and_write_no_record() {
    // The guarantee: no call *starts* once a refusal has been seen. Calls already in flight when
    // the first 401 arrives (at most the account's concurrency, 4 here) may be refused too; the
    // others, waiting for a slot, are never sent. A slow sandbox keeps the first wave in flight.
    let h = MeetmaxHarness::new().await;
    h.sandbox.set_meetmax_switches(Switches { latency_ms: 100, ..Switches::default() }).await;
    let bad = integration_tests::new_secret(
        &h.sdk,
        &serde_json::json!({"consumer_key": vendor_sandbox::fixtures::MEETMAX_KEY, "consumer_secret": "wrong"}),
    )
    .await;
    h.db.exec(&format!("UPDATE integration.meetmax_account SET secret_id = '{bad}'")).await;
    for i in 0..12 {
        h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier(&format!("a{i}"), "Keynote Speakers LLC") })
            .await;
    }
    let report = h.sync.run(None, "test").await.unwrap();
    assert_eq!(report.outcomes.len(), 12);
    assert!(
        report.outcomes.values().all(|o| matches!(o, Outcome::Failed { class, .. } if *class == ErrorClass::Auth)),
        "{:?}",
        report.outcomes
    );
    assert!(report.outcomes.values().all(Outcome::retry_via_queue));
    let requests = h.sandbox.requests().await;
    assert!(requests.iter().all(|r| r.status == 401), "every call that was made was refused");
    assert!(
        (1..=4).contains(&requests.len()),
        "only calls in flight when the refusal arrived were made: {} of 12",
        requests.len()
    );
    assert_eq!(report.calls as usize, requests.len());
    assert!(h.records().await.iter().all(|r| r.is_entity()));
}

#[tokio::test]
async fn duplicates_rejected_by_meetmax_after_a_lost_answer_are_adopted() {
    // With MeetMax rejecting duplicates, a lost answer still ends with the one record adopted.
    let mut settings = test_settings();
    settings.timeout = Duration::from_millis(500);
    let h = MeetmaxHarness::with(settings, 200.0, 2).await;
    h.sandbox
        .set_meetmax_switches(Switches { duplicates: Duplicates::Reject, id_as_string: true, ..Switches::default() })
        .await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("u1", "Keynote Speakers LLC") }).await;
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: "/sched/service/attendee/add".into(),
            on_requests: vec![1],
            fault: Fault::LateAnswer { delay_ms: 1500 },
        }])
        .await;
    h.sync.run(None, "test").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let second = h.sync.run(None, "test").await.unwrap();
    assert!(matches!(second.outcomes["u1"], Outcome::Adopted(_)), "{:?}", second.outcomes);
    assert_eq!(record_counts(&h).await.0.get("u1"), Some(&1));
}

fn sqs_message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.body = Some(body.into());
    m
}

#[tokio::test]
async fn the_sqs_handler_fails_only_messages_with_something_to_retry() {
    // One call at a time: the adds go in registration order, so the second one meets the 503.
    let h = MeetmaxHarness::with(test_settings(), 200.0, 1).await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("q1", "Keynote Speakers LLC") }).await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("q2", "Keynote Speakers LLC") }).await;
    h.registration(&Reg { kind: "State Member", state: Some("TX"), org: None, ..Reg::supplier("q3", "") }).await;
    // q2's add meets a 503 (retry via the queue); q3 is not sendable (nothing to retry).
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: "/sched/service/attendee/add".into(),
            on_requests: vec![2],
            fault: Fault::ServerError { status: 503 },
        }])
        .await;
    let body = |ids: &[&str]| {
        serde_json::to_string(&Envelope::batch(KIND_REGISTRATIONS_RELEASED, &self::ids(ids), "test")[0]).unwrap()
    };
    let mut event = SqsEvent::default();
    event.records = vec![
        sqs_message("m-q1", &body(&["q1"])),
        sqs_message("m-q2", &body(&["q2"])),
        sqs_message("m-q1-again", &body(&["q1", "q3"])),
        sqs_message("m-bad", "{\"kind\":\"something.else\"}"),
    ];
    let resp = meetmax_sync::handle_batch(&h.sync, event, platform_runtime::Deadline::none()).await;
    let mut failed: Vec<String> = resp.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    failed.sort();
    assert_eq!(failed, ids(&["m-bad", "m-q2"]), "q1 landed (twice delivered, once added); q3 has nothing to retry");
    assert_eq!(record_counts(&h).await.0.len(), 1);
}

#[tokio::test]
async fn the_view_applies_the_configured_rules() {
    let h = MeetmaxHarness::new().await;
    demo_set(&h).await;
    h.registration(&Reg {
        kind: "Partner (Academic, Affiliate, Associate, Strategic)",
        ..Reg::supplier("g1", "Acme Inc")
    })
    .await;
    h.registration(&Reg { kind: "Exhibitor", ..Reg::supplier("x1", "Globex") }).await;
    let rows = h
        .db
        .rows(
            "SELECT registration_id, company, attendee_role_id, group_name, receive_request, locale, industries, first_name
               FROM conferences_events.exchange_meetmax ORDER BY registration_id",
        )
        .await;
    type ViewRow = (Option<String>, Option<String>, Option<String>, String, String, Option<String>, String);
    let got: HashMap<String, ViewRow> = rows
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7))))
        .collect();
    assert!(!got.contains_key("s6"), "only approved, active rows");
    let s1 = &got["s1"];
    assert_eq!((s1.0.as_deref(), s1.1.as_deref(), s1.2.as_deref()), (Some("Acme"), Some("NASPO2_SUPPLIER_ATT"), None));
    assert_eq!((s1.3.as_str(), s1.4.as_str()), ("Y", "Eastern"));
    assert_eq!(s1.5.as_deref(), Some("Information Technology|Cleaning Janitorial"), "no trailing pipe");
    assert_eq!(s1.6, "Jane");
    assert_eq!(got["m1"].0.as_deref(), Some("Kentucky"));
    assert_eq!(got["m2"].0, None, "a state not in the lookup gives no company");
    assert_eq!((got["g1"].0.as_deref(), got["g1"].2.as_deref()), (Some("Acme"), Some("1")));
    assert_eq!((got["v1"].0.as_deref(), got["v1"].2.as_deref()), (Some("Keynote Speakers LLC"), Some("3")));
    assert_eq!(
        (got["x1"].0.as_deref(), got["x1"].1.as_deref()),
        (Some("Globex"), Some("NASPO2_OTHER_ATTENDEE")),
        "other types: as typed"
    );

    // The roles are configuration: another event's roles change the view without code.
    h.db.exec("UPDATE integration.meetmax_role_rule SET attendee_role = 'NASPO3_BUYER' WHERE registration_type = 'State Member'").await;
    let role: String =
        h.db.scalar("SELECT attendee_role_id FROM conferences_events.exchange_meetmax WHERE registration_id = 'm1'")
            .await;
    assert_eq!(role, "NASPO3_BUYER");
}

#[tokio::test]
async fn the_gate_releases_types_whose_company_needs_no_review() {
    let h = MeetmaxHarness::new().await;
    h.registration(&Reg {
        kind: "State Member",
        state: Some("KY"),
        released: false,
        ..Reg::supplier("k1", "Commonwealth of Kentucky")
    })
    .await;
    h.registration(&Reg { kind: "Speaker or VIP", released: false, ..Reg::supplier("k2", "Keynote Speakers LLC") })
        .await;
    h.registration(&Reg { released: false, ..Reg::supplier("k3", "Unreviewed Supplies") }).await;
    let mut conn = h.db.warehouse.conn().await.unwrap();
    let released = platform_dedupe::gate::release(&mut conn, uuid::Uuid::now_v7(), None).await.unwrap();
    let mut new = released.new.clone();
    new.sort();
    assert_eq!(new, ids(&["k1", "k2"]), "the supplier waits for its organisation's review");
}

fn sample(name: &str) -> lambda_runtime::LambdaEvent<serde_json::Value> {
    let path = format!("{}/../../events/meetmax-sync/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    lambda_runtime::LambdaEvent::new(serde_json::from_str(&text).unwrap(), lambda_runtime::Context::default())
}

#[tokio::test]
async fn every_sample_event_is_handled_as_documented() {
    let h = MeetmaxHarness::new().await;
    h.review("Acme Inc", "Acme").await;
    h.registration(&Reg::supplier("1500000001", "Acme Inc")).await;
    h.registration(&Reg::supplier("1500000002", "Acme Inc")).await;
    h.registration(&Reg { kind: "State Member", state: Some("KY"), org: None, ..Reg::supplier("1500000006", "") })
        .await;

    let out = meetmax_sync::handle(&h.sync, sample("sync.json")).await.unwrap();
    assert_eq!(out["counts"]["added"], 2, "{out}");
    let out = meetmax_sync::handle(&h.sync, sample("sqs.json")).await.unwrap();
    assert_eq!(out["batchItemFailures"], serde_json::json!([]), "{out}");
    assert_eq!(record_counts(&h).await.0.len(), 3);
    let out = meetmax_sync::handle(&h.sync, sample("sqs-with-bad-message.json")).await.unwrap();
    assert_eq!(out["batchItemFailures"][0]["itemIdentifier"], "7c1d-0002", "{out}");
    for file in ["sweep.json", "schedule.json"] {
        let out = meetmax_sync::handle(&h.sync, sample(file)).await.unwrap();
        assert_eq!(out["counts"]["unchanged"], 3, "{file}: {out}");
    }
    let unknown =
        lambda_runtime::LambdaEvent::new(serde_json::json!({"action": "explode"}), lambda_runtime::Context::default());
    assert!(meetmax_sync::handle(&h.sync, unknown).await.is_err());
}

/// Adaptive pacing against a MeetMax whose limit the account does not know: configured at
/// 20 requests/s, the sandbox takes 5 (burst 1). The run meets 429s, still adds everyone, and
/// keeps what it learned (a slower rate, the ceiling it met, the calls taken and refused) in
/// `integration.vendor_pace`; a new container (a new service over the same warehouse) starts
/// from it and adds to the counts. A fixed-rate account keeps nothing.
#[tokio::test]
async fn adaptive_pacing_learns_an_unknown_limit_and_the_next_container_starts_from_it() {
    let mut settings = test_settings();
    settings.retry.max_retries = 10;
    let h = MeetmaxHarness::with(settings.clone(), 20.0, 2).await;
    h.sandbox
        .set_meetmax_switches(Switches {
            rate_limit: Some(vendor_sandbox::meetmax::RateLimit { per_second: 5.0, burst: 1.0 }),
            ..Switches::default()
        })
        .await;
    let orgs = ["Pace One Inc", "Pace Two Inc", "Pace Three Inc"];
    for org in orgs {
        h.review(org, org.trim_end_matches(" Inc")).await;
    }
    let ids: Vec<String> = (0..12).map(|i| format!("pace{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        h.registration(&Reg::supplier(id, orgs[i % orgs.len()])).await;
    }
    let report = h.sync.run(None, "test").await.unwrap();
    assert_eq!(report.counts().get("added"), Some(&12), "{:?}", report.outcomes);
    let requests = h.sandbox.requests().await;
    let meetmax: Vec<_> = requests.iter().filter(|r| r.path.starts_with("/sched/")).collect();
    let refused = meetmax.iter().filter(|r| r.status == 429).count() as i64;
    assert!(refused >= 1, "20 requests/s against a limit of 5 meets a 429");
    let pace = |db: &integration_tests::TestDb| {
        let conn = db.warehouse.clone();
        async move {
            let c = conn.conn().await.unwrap();
            c.query_opt(
                "SELECT rate_per_second, ceiling_per_second, accepted, refused FROM integration.vendor_pace
                  WHERE vendor = 'meetmax' AND account = 'sandbox'",
                &[],
            )
            .await
            .unwrap()
            .map(|r| (r.get::<_, f64>(0), r.get::<_, Option<f64>>(1), r.get::<_, i64>(2), r.get::<_, i64>(3)))
        }
    };
    let (rate, ceiling, accepted, stored_refused) = pace(&h.db).await.expect("the learned pace is kept");
    assert!(rate < 20.0, "the rate came down from the configured 20: {rate}");
    assert!(ceiling.is_some_and(|c| c <= 20.0 * 1.2), "the ceiling is where a 429 came: {ceiling:?}");
    assert_eq!(stored_refused, refused, "every 429 is counted");
    assert_eq!(accepted + stored_refused, meetmax.len() as i64, "every call is counted once");

    // A new container: the same warehouse, a new service (no client cached).
    let next = platform_meetmax::MeetmaxSync::new(h.sync.warehouse.clone(), h.sync.secrets.clone(), settings);
    h.registration(&Reg::supplier("pace-next", orgs[0])).await;
    let report = next.run(None, "test").await.unwrap();
    assert!(matches!(report.outcomes["pace-next"], Outcome::Added(_)), "{:?}", report.outcomes);
    let after = h.sandbox.requests().await.iter().filter(|r| r.path.starts_with("/sched/")).count() as i64;
    let (_, _, accepted2, refused2) = pace(&h.db).await.unwrap();
    assert_eq!(accepted2 + refused2, after, "the new container's calls are added to the same record");

    // A fixed-rate account learns nothing and keeps nothing.
    h.db.exec("UPDATE integration.meetmax_account SET adaptive_rate = false; DELETE FROM integration.vendor_pace")
        .await;
    h.registration(&Reg::supplier("pace-fixed", orgs[1])).await;
    let fixed = platform_meetmax::MeetmaxSync::new(h.sync.warehouse.clone(), h.sync.secrets.clone(), test_settings());
    let report = fixed.run(None, "test").await.unwrap();
    assert!(matches!(report.outcomes["pace-fixed"], Outcome::Added(_)), "{:?}", report.outcomes);
    assert_eq!(pace(&h.db).await, None);
}
