//! Reliability suite, vendors: R2 a crash at every boundary between a MeetMax write and
//! its database record; R4 every vendor fault on the Formstack pull and on MeetMax writes. Real
//! PostgreSQL, moto and the sandbox over HTTP.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chrono::NaiveDateTime;
use integration_tests::{
    Harness,
    meetmax_support::{MeetmaxHarness, Reg, test_settings},
};
use platform_meetmax::Outcome;
use platform_vendors::meetmax::ErrorClass;
use vendor_sandbox::{Fault, FaultRule, fixtures};

/// Every fault the sandbox can inject, with a name for the report.
fn faults(slow_ms: u64) -> Vec<(&'static str, Fault)> {
    vec![
        ("429 with Retry-After", Fault::RateLimit { retry_after: 1 }),
        ("429 without Retry-After", Fault::RateLimitNoHeader),
        ("503", Fault::ServerError { status: 503 }),
        ("200 with an error body", Fault::ErrorIn200),
        ("slower than the timeout", Fault::Slow { delay_ms: slow_ms }),
        ("connection reset", Fault::Reset),
        ("truncated JSON", Fault::Malformed),
    ]
}

/// Runs until a run finishes without crashing; each run crashes right after its first MeetMax
/// write at a boundary (call, record) not crashed before. (A crashed edit is sent again by the
/// next run, as it should be: an edit sets a value, so repeating it changes nothing.)
async fn run_until_clean(
    h: &mut MeetmaxHarness,
    phase: &'static str,
    crashes: &Arc<std::sync::Mutex<Vec<String>>>,
) -> platform_meetmax::RunReport {
    for _ in 0..30 {
        let armed = Arc::new(AtomicBool::new(true));
        let (a, c) = (armed.clone(), crashes.clone());
        h.sync.hooks.crash_after_call = Some(Arc::new(move |call: &str, key: &str| {
            let point = format!("{phase}: after {call} {key}");
            let mut seen = c.lock().unwrap();
            if seen.contains(&point) || !a.load(Ordering::SeqCst) {
                return false;
            }
            a.store(false, Ordering::SeqCst);
            seen.push(point);
            true
        }));
        match h.sync.run(None, "r2").await {
            Ok(report) => {
                h.sync.hooks.crash_after_call = None;
                return report;
            }
            Err(e) => {
                assert!(e.to_string().contains("injected crash"), "{e}");
                tokio::time::sleep(Duration::from_millis(1100)).await;
            }
        }
    }
    panic!("{phase}: never finished");
}

#[tokio::test]
async fn r2_a_crash_at_every_boundary_between_meetmax_and_the_database_loses_and_duplicates_nothing() {
    let mut settings = test_settings();
    settings.lease = Duration::from_secs(1);
    let mut h = MeetmaxHarness::with(settings, 500.0, 2).await;
    h.review("Acme Inc", "Acme").await;
    h.review("Globex", "Globex Corporation").await;
    h.review("Initech", "Initech").await;
    for (id, org) in [("x1", "Acme Inc"), ("x2", "Acme Inc"), ("x3", "Initech"), ("x4", "Globex")] {
        h.registration(&Reg::supplier(id, org)).await;
    }
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("x5", "Keynote Speakers LLC") }).await;

    // Each run crashes right after its first MeetMax write, before recording it; the next run
    // (once the crashed run's lease is over, as after a Lambda timeout) must recover and move on.
    let crashes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let adds = run_until_clean(&mut h, "adds", &crashes).await;
    assert!(
        adds.outcomes.values().all(|o| matches!(o, Outcome::Added(_) | Outcome::Adopted(_) | Outcome::Unchanged(_))),
        "{:?}",
        adds.outcomes
    );
    h.db.exec("UPDATE conferences_events.exchange_registration SET first_name = 'Changed', title = 'New Title' WHERE registration_id IN ('x1', 'x5')").await;
    let edits = run_until_clean(&mut h, "edits", &crashes).await;
    assert!(edits.outcomes.values().all(|o| !matches!(o, Outcome::Failed { .. })), "{:?}", edits.outcomes);

    let crashes = crashes.lock().unwrap().clone();
    let kinds: Vec<&str> = ["company/add", "attendee/add", "attendee/edit"]
        .into_iter()
        .filter(|k| crashes.iter().any(|c| c.contains(k)))
        .collect();
    assert_eq!(kinds.len(), 3, "every kind of boundary was crashed: {crashes:?}");
    println!("R2: {} crashes: {crashes:?}", crashes.len());

    let (people, companies) = h.record_counts().await;
    for id in ["x1", "x2", "x3", "x4", "x5"] {
        assert_eq!(people.get(id), Some(&1), "{id}: lost or duplicated: {people:?}");
        assert!(h.warehouse_outcome(id).await.0.is_some(), "{id} recorded");
    }
    for company in ["Acme", "Initech"] {
        assert_eq!(companies.get(company), Some(&1), "{company}: {companies:?}");
    }
    for r in
        h.records().await.iter().filter(|r| matches!(r.fields.get("crm_id").map(String::as_str), Some("x1" | "x5")))
    {
        assert_eq!(
            (r.fields["first"].as_str(), r.fields.get("title").map(String::as_str)),
            ("Changed", Some("New Title"))
        );
    }
    let third = h.sync.run(None, "r2").await.unwrap();
    assert!(third.outcomes.values().all(|o| matches!(o, Outcome::Unchanged(_))), "{:?}", third.outcomes);
}

#[tokio::test]
async fn r4_formstack_faults_complete_or_stop_cleanly_and_lose_nothing() {
    let mut report = Vec::new();
    for (name, fault) in faults(2500) {
        let h =
            Harness::new(&[("FORMSTACK_PER_PAGE", "10"), ("PULL_COMMIT_ROWS", "10"), ("HTTP_TIMEOUT_SECONDS", "1")])
                .await;
        let mut fixture = fixtures::demo_fixture();
        let start = NaiveDateTime::parse_from_str("2026-11-10 08:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        fixture.forms[0].submissions = fixtures::generate(35, 1_730_000_000, start);
        h.sandbox.load_formstack(fixture).await;
        h.sandbox
            .set_faults(vec![FaultRule {
                path_prefix: "/api/v2/form/5095980/submission.json".into(),
                on_requests: vec![2],
                fault,
            }])
            .await;
        let first = h.intake.pull("r4", false).await.unwrap_or_else(|e| panic!("{name}: the run failed: {e}"));
        let f = &first.forms[0];
        let row = &h.db.rows("SELECT status, notes::text, finished_at IS NOT NULL FROM integration.run").await[0];
        let (status, notes, closed): (String, String, bool) = (row.get(0), row.get(1), row.get(2));
        assert!(closed, "{name}: run record closed");
        if f.failed {
            assert_eq!(status, "partial", "{name}");
            assert!(notes.contains("failed"), "{name}: the run record says why: {notes}");
        } else {
            assert_eq!(f.submissions, 35, "{name}: retried through");
        }
        let stopped = f.stopped.clone().unwrap_or_else(|| "completed".into());
        h.sandbox.set_faults(vec![]).await;
        h.intake.pull("r4", false).await.unwrap();
        let landed: i64 = h.db.scalar("SELECT count(*) FROM conferences_events.exchange_registration").await;
        assert_eq!(landed, 35, "{name}: nothing lost after the next run");
        let raw: i64 = h.db.scalar("SELECT count(DISTINCT submission_id) FROM integration.raw_submission").await;
        assert_eq!(raw, 35, "{name}");
        report.push(format!("{name}: {stopped}"));
    }
    println!("R4 Formstack:\n  {}", report.join("\n  "));
}

#[tokio::test]
async fn r4_meetmax_faults_complete_or_stop_cleanly_lose_nothing_and_say_why() {
    let mut report = Vec::new();
    for (name, fault) in faults(1500) {
        let mut settings = test_settings();
        settings.timeout = Duration::from_millis(700);
        let h = MeetmaxHarness::with(settings, 500.0, 1).await;
        for i in 0..3 {
            h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier(&format!("f{i}"), "Keynote Speakers LLC") })
                .await;
        }
        h.sandbox
            .set_faults(vec![FaultRule {
                path_prefix: "/sched/service/attendee/add".into(),
                on_requests: vec![2],
                fault,
            }])
            .await;
        let first = h.sync.run(None, "r4").await.unwrap_or_else(|e| panic!("{name}: the run failed: {e}"));
        let failed: Vec<(String, Outcome)> = first
            .outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Failed { .. }))
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect();
        for (id, _) in &failed {
            let status = h.warehouse_outcome(id).await.1.unwrap_or_default();
            assert!(!status.is_empty(), "{name}: {id}'s record says why");
        }
        let open: i64 = h.db.scalar("SELECT count(*) FROM integration.run WHERE finished_at IS NULL").await;
        assert_eq!(open, 0, "{name}");
        h.sandbox.set_faults(vec![]).await;
        tokio::time::sleep(Duration::from_millis(1600)).await;
        h.sync.run(None, "r4").await.unwrap();
        let (people, _) = h.record_counts().await;
        for i in 0..3 {
            let id = format!("f{i}");
            let permanent = failed.iter().any(|(f, o)| {
                *f == id && matches!(o, Outcome::Failed { class, .. } if *class == ErrorClass::Permanent)
            });
            if permanent {
                // MeetMax refused it: held, with the reason, until the row changes or an operator clears it.
                let status = h.warehouse_outcome(&id).await.1.unwrap_or_default();
                assert!(status.starts_with("permanent:"), "{name}: {status}");
                assert_eq!(people.get(&id), None);
            } else {
                assert_eq!(people.get(&id), Some(&1), "{name}: {id} lost or duplicated: {people:?}");
            }
        }
        report.push(format!("{name}: {:?}", failed.iter().map(|(id, o)| format!("{id} {o:?}")).collect::<Vec<_>>()));
    }
    println!("R4 MeetMax:\n  {}", report.join("\n  "));
}
