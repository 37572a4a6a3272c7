//! Hardening of meetmax-sync: uncertain adds looked up before
//! they are repeated, lists that may be truncated, edits serialised per record, and the
//! invocation deadline. Real PostgreSQL, moto and the sandbox's MeetMax over HTTP.

use std::time::Duration;

use integration_tests::meetmax_support::{MeetmaxHarness, Reg, short_timeout_settings, test_settings};
use platform_meetmax::Outcome;
use platform_runtime::Deadline;
use vendor_sandbox::meetmax::Switches;

#[tokio::test]
async fn an_uncertain_company_add_is_looked_up_by_name_when_the_list_hides_it() {
    // The lost answer landed in MeetMax, but the role list (capped at one result by MeetMax,
    // with no way for us to know the cap) does not show it: the intent makes the run look the
    // company up by its own name instead of adding it again.
    let h = MeetmaxHarness::with(short_timeout_settings(), 200.0, 2).await;
    h.sandbox.set_meetmax_switches(Switches { list_cap: Some(1), ..Switches::default() }).await;
    h.review("Initech", "Initech").await;
    h.registration(&Reg::supplier("c1", "Initech")).await;
    let first = h.run_losing_first_add().await;
    assert!(matches!(&first.outcomes["c1"], Outcome::Failed { .. }), "{:?}", first.outcomes);
    let second = h.sync.run(None, "test").await.unwrap();
    assert!(matches!(&second.outcomes["c1"], Outcome::Added(_)), "{:?}", second.outcomes);
    let (people, companies) = h.record_counts().await;
    assert_eq!(companies.get("Initech"), Some(&1), "one company record: {companies:?}");
    assert_eq!(people.get("c1"), Some(&1));
    let adopted: bool = h.db.scalar("SELECT adopted FROM integration.meetmax_company WHERE company = 'Initech'").await;
    assert!(adopted, "the lost add was adopted, not repeated");
}

#[tokio::test]
async fn a_list_as_long_as_the_accounts_limit_proves_no_absence() {
    let h = MeetmaxHarness::new().await;
    h.review("Initech", "Initech").await;
    h.registration(&Reg::supplier("l1", "Initech")).await;
    h.sync.run(None, "test").await.unwrap();
    // The warehouse forgets the company (a restored backup, say) and MeetMax now caps its
    // lists at one record, a cap the account knows.
    h.db.exec("DELETE FROM integration.meetmax_company; UPDATE integration.meetmax_account SET list_limit = 1").await;
    h.sandbox.set_meetmax_switches(Switches { list_cap: Some(1), ..Switches::default() }).await;
    h.registration(&Reg::supplier("l2", "Initech")).await;
    let report = h.sync.run(None, "test").await.unwrap();
    assert!(matches!(&report.outcomes["l2"], Outcome::Added(_)), "{:?}", report.outcomes);
    let (_, companies) = h.record_counts().await;
    assert_eq!(companies.get("Initech"), Some(&1), "found by its own lookup, not added twice: {companies:?}");
    let lookups = h
        .sandbox
        .requests()
        .await
        .iter()
        .filter(|r| r.path.ends_with("attendee/list") && r.param("search_fld") == Some("company"))
        .count();
    assert_eq!(lookups, 1);
}

#[tokio::test]
async fn a_person_lookup_at_the_list_limit_adopts_a_match_and_never_takes_silence_for_absence() {
    // t1's add lost its answer but landed. t2 has an earlier attempt of unknown outcome (intent
    // recorded, nothing in MeetMax) and shares t1's e-mail address. Then MeetMax's lists are
    // capped at the account's limit (1). t1's crm_id lookup finds it: a match is proof, adopted.
    // t2's e-mail lookup returns a full list holding only t1's record: that proves nothing about
    // t2, which is held as uncertain rather than added (nor adopted: the record is t1's).
    let h = MeetmaxHarness::with(short_timeout_settings(), 200.0, 1).await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("t1", "Keynote Speakers LLC") }).await;
    h.run_losing_first_add().await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("t2", "Keynote Speakers LLC") }).await;
    h.db.exec(
        "UPDATE conferences_events.exchange_registration SET email = 't1@example.org' WHERE registration_id = 't2';
         INSERT INTO integration.meetmax_sync (registration_id, meetmax_event_id, state, intent_at)
         VALUES ('t2', '90199', 'failed', now());
         UPDATE integration.meetmax_account SET list_limit = 1",
    )
    .await;
    h.sandbox.set_meetmax_switches(Switches { list_cap: Some(1), ..Switches::default() }).await;
    let adds_before = h.calls("attendee/add").await;
    let report = h.sync.run(None, "test").await.unwrap();
    assert!(matches!(&report.outcomes["t1"], Outcome::Adopted(_)), "{:?}", report.outcomes);
    match &report.outcomes["t2"] {
        Outcome::Failed { message, .. } => assert!(message.contains("truncated"), "{message}"),
        other => panic!("t2 must wait as uncertain: {other:?}"),
    }
    assert_eq!(h.calls("attendee/add").await, adds_before, "no add while absence is unproven");
    assert_eq!(h.record_counts().await.0.get("t1"), Some(&1), "t1 exists once");
    let intent: bool =
        h.db.scalar("SELECT intent_at IS NOT NULL FROM integration.meetmax_sync WHERE registration_id = 't2'").await;
    assert!(intent, "t2 keeps its intent: the next run looks again");
}

#[tokio::test]
async fn edits_of_one_record_are_serialised_across_concurrent_runs() {
    let h = MeetmaxHarness::new().await;
    h.sandbox.set_meetmax_switches(Switches { latency_ms: 50, ..Switches::default() }).await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("e1", "Keynote Speakers LLC") }).await;
    h.sync.run(None, "test").await.unwrap();
    h.db.exec("UPDATE conferences_events.exchange_registration SET first_name = 'Janet', title = 'CTO' WHERE registration_id = 'e1'")
        .await;
    let (a, b) = tokio::join!(h.sync.run(None, "a"), h.sync.run(None, "b"));
    let outcomes = [a.unwrap().outcomes["e1"].clone(), b.unwrap().outcomes["e1"].clone()];
    let edited: usize = outcomes.iter().map(|o| if let Outcome::Edited { fields, .. } = o { *fields } else { 0 }).sum();
    let edits = h.calls("attendee/edit").await;
    assert_eq!(edits, edited, "{outcomes:?}");
    assert!(
        outcomes.iter().filter(|o| matches!(o, Outcome::Edited { .. })).count() == 1,
        "one run edits, the other is busy or finds nothing left: {outcomes:?}"
    );
    let third = h.sync.run(None, "c").await.unwrap();
    assert!(matches!(third.outcomes["e1"], Outcome::Unchanged(_)), "{:?}", third.outcomes);
    assert_eq!(h.calls("attendee/edit").await, edits, "nothing sent twice");
}

#[tokio::test]
async fn an_expired_deadline_starts_no_call_closes_its_run_and_returns_every_message() {
    let h = MeetmaxHarness::new().await;
    for i in 0..3 {
        h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier(&format!("d{i}"), "Keynote Speakers LLC") })
            .await;
    }
    let report = h.sync.run_until(None, "test", Deadline::after(Duration::ZERO, Duration::ZERO)).await.unwrap();
    assert!(report.outcomes.values().all(|o| matches!(o, Outcome::Deferred(_))), "{:?}", report.outcomes);
    assert!(report.outcomes.values().all(Outcome::retry_via_queue));
    assert_eq!(h.calls("attendee/add").await, 0);
    let running: i64 = h.db.scalar("SELECT count(*) FROM integration.run WHERE finished_at IS NULL").await;
    assert_eq!(running, 0, "the run record is closed");
    let leases: i64 = h.db.scalar("SELECT count(*) FROM integration.meetmax_sync WHERE lease_owner IS NOT NULL").await;
    assert_eq!(leases, 0, "nothing claimed");
}

#[tokio::test]
async fn a_deadline_mid_run_defers_what_it_cannot_finish() {
    // One call in flight at a time, each answered after 4 s; the deadline allows starts during
    // the first 10 s: the first add starts, the fourth cannot (3 × 4 s > 10 s).
    let h = MeetmaxHarness::with(test_settings(), 200.0, 1).await;
    h.sandbox.set_meetmax_switches(Switches { latency_ms: 4000, ..Switches::default() }).await;
    for i in 0..4 {
        h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier(&format!("m{i}"), "Keynote Speakers LLC") })
            .await;
    }
    let step = test_settings().call_step();
    let report =
        h.sync.run_until(None, "test", Deadline::after(step + Duration::from_secs(10), Duration::ZERO)).await.unwrap();
    let counts = report.counts();
    let (added, deferred) = (counts.get("added").copied().unwrap_or(0), counts.get("deferred").copied().unwrap_or(0));
    assert!(added >= 1 && deferred >= 1 && added + deferred == 4, "{counts:?}");
    assert_eq!(h.calls("attendee/add").await, added, "no call was started and abandoned");
    let next = h.sync.run(None, "test").await.unwrap();
    assert_eq!(next.counts().get("added").copied().unwrap_or(0), deferred, "the next run finishes the rest");
}
