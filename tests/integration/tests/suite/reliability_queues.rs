//! Reliability suite, queues: R1 every SQS message delivered twice and out of order
//! across the three functions; R3 a poison message in a batch of ten, redriven to the DLQ.
//! Real PostgreSQL, moto (queues with redrive policies) and the sandbox over HTTP.

use std::collections::BTreeSet;

use integration_tests::{
    Harness, dedupe_batch, drain_bodies, failed_bodies,
    forwarder::{RedrivenQueue, forward},
    meetmax_support::{meetmax_on, test_settings},
    new_queue, sqs_event,
};
use lambda_runtime::{Context, LambdaEvent};
use platform_dedupe::Dedupe;
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_CHANGED, KIND_REGISTRATIONS_RELEASED};

/// company-dedupe's SQS handler; the bodies of the messages that failed.
async fn dedupe_failures(dedupe: &Dedupe, bodies: &[String]) -> Vec<String> {
    failed_bodies(bodies, &dedupe_batch(dedupe, sqs_event(bodies)).await)
}

/// The ids of `bodies` as one message per id (many small messages make order matter).
fn one_id_each(bodies: &[String], kind: &str) -> Vec<String> {
    bodies
        .iter()
        .flat_map(|b| Envelope::parse(b, &[kind]).unwrap().ids)
        .map(|id| serde_json::to_string(&Envelope::batch(kind, &[id], "r1")[0]).unwrap())
        .collect()
}

#[tokio::test]
async fn r1_every_message_twice_and_out_of_order_across_all_three_functions() {
    let h = Harness::new(&[]).await;
    let (sync, _) = meetmax_on(&h.db, &h.sandbox, &h.sdk, test_settings(), 500.0, 4).await;
    let meetmax_queue = new_queue(&h.sdk, "meetmax").await;
    let dedupe = h.dedupe(&meetmax_queue);

    // formstack-intake: the pull, then every webhook-free way in again (a second, overlapping pull).
    h.intake.pull("test", false).await.unwrap();
    h.intake.pull("test", false).await.unwrap();
    let changed = one_id_each(&drain_bodies(&h.sdk, &h.queue_url).await, KIND_REGISTRATIONS_CHANGED);
    assert!(changed.len() >= 10, "{}", changed.len());

    // company-dedupe: each message twice, the copies in reverse order.
    let twice: Vec<String> = changed.iter().cloned().chain(changed.iter().rev().cloned()).collect();
    for chunk in twice.chunks(10) {
        assert!(dedupe_failures(&dedupe, chunk).await.is_empty(), "no dedupe message fails");
    }
    // Staff review every name and approve every registration; the sweep releases them.
    h.db.review_and_approve_all().await;
    dedupe.pass(None, "sweep").await.unwrap();
    dedupe.pass(None, "sweep").await.unwrap();
    let released = one_id_each(&drain_bodies(&h.sdk, &meetmax_queue).await, KIND_REGISTRATIONS_RELEASED);
    let released_ids: BTreeSet<String> =
        released.iter().flat_map(|b| Envelope::parse(b, &[KIND_REGISTRATIONS_RELEASED]).unwrap().ids).collect();
    assert!(released_ids.len() >= 5, "{released_ids:?}");

    // meetmax-sync: two consumers at once, one in order, one in reverse; failures come back.
    let mut pending = released.clone();
    let mut rounds = 0;
    while !pending.is_empty() {
        rounds += 1;
        assert!(rounds <= 6, "messages keep failing: {pending:?}");
        let reversed: Vec<String> = pending.iter().rev().cloned().collect();
        let (a, b) = tokio::join!(
            meetmax_sync::handle_batch(&sync, sqs_event(&pending), platform_runtime::Deadline::none()),
            meetmax_sync::handle_batch(&sync, sqs_event(&reversed), platform_runtime::Deadline::none()),
        );
        let mut again: BTreeSet<String> = failed_bodies(&pending, &a).into_iter().collect();
        again.extend(failed_bodies(&reversed, &b));
        pending = again.into_iter().collect();
    }

    // Nothing twice anywhere.
    let dup_names: i64 = h
        .db
        .scalar("SELECT count(*) FROM (SELECT original_organization FROM conferences_events.exchange_organizations GROUP BY 1 HAVING count(*) > 1) d")
        .await;
    assert_eq!(dup_names, 0, "organisation names once");
    let registrations: i64 = h.db.scalar("SELECT count(*) FROM conferences_events.exchange_registration").await;
    let mapped: i64 = h
        .db
        .scalar("SELECT count(DISTINCT submission_id) FROM integration.raw_submission WHERE mapping_status = 'mapped'")
        .await;
    assert_eq!(registrations, mapped, "one registration per mapped submission");
    let (people, companies) = integration_tests::meetmax_support::record_counts(&h.sandbox).await;
    assert!(people.values().all(|n| *n == 1), "one MeetMax record per registration: {people:?}");
    assert!(companies.values().all(|n| *n == 1), "one entity per company: {companies:?}");
    let synced: i64 =
        h.db.scalar("SELECT count(*) FROM integration.meetmax_sync WHERE meetmax_id IS NOT NULL AND NOT adopted").await;
    assert_eq!(synced as usize, people.len(), "every person record is known to the warehouse");
    let unexplained: i64 = h
        .db
        .scalar("SELECT count(*) FROM integration.meetmax_sync WHERE meetmax_id IS NULL AND coalesce(error, '') = ''")
        .await;
    assert_eq!(unexplained, 0, "a registration not in MeetMax says why");
    println!(
        "R1: {} changed + {} released messages delivered twice; {} registrations, {} MeetMax people, {} companies, {rounds} meetmax rounds",
        changed.len(),
        released.len(),
        registrations,
        people.len(),
        companies.len()
    );
}

#[tokio::test]
async fn r3_a_poison_message_fails_alone_and_is_dead_lettered_after_max_receive_count() {
    let h = Harness::new(&[]).await;
    let meetmax_queue = new_queue(&h.sdk, "meetmax").await;
    let dedupe = h.dedupe(&meetmax_queue);
    h.intake.pull("test", false).await.unwrap();
    let ids: Vec<String> = h
        .db
        .rows("SELECT registration_id FROM conferences_events.exchange_registration ORDER BY registration_id LIMIT 9")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len(), 9);
    drain_bodies(&h.sdk, &h.queue_url).await;

    // company-dedupe: nine good messages and one of a kind it does not know, in one batch.
    let queue = RedrivenQueue::create(&h.sdk, "dedupe", 3).await;
    let mut bodies: Vec<String> = ids
        .iter()
        .map(|id| {
            serde_json::to_string(&Envelope::batch(KIND_REGISTRATIONS_CHANGED, std::slice::from_ref(id), "r3")[0])
                .unwrap()
        })
        .collect();
    let poison = r#"{"kind":"registrations.exploded","version":1,"ids":["1"],"run_id":"r3"}"#.to_owned();
    bodies.insert(4, poison.clone());
    queue.send(&h.sdk, &bodies).await;
    let stats = forward(&h.sdk, &queue, |event| {
        let dedupe = &dedupe;
        async move {
            let out = company_dedupe::handle(
                dedupe,
                LambdaEvent::new(serde_json::to_value(event).unwrap(), Context::default()),
            )
            .await
            .unwrap();
            serde_json::from_value(out).unwrap()
        }
    })
    .await;
    println!("R3 dedupe: {stats:?}");
    assert_eq!(stats.per_body[&poison], 3, "the poison came back until maxReceiveCount");
    assert!(bodies.iter().filter(|b| **b != poison).all(|b| stats.per_body[b] == 1), "the nine succeeded at once");
    assert_eq!(stats.failed, 3);
    assert_eq!(queue.dead_letters(&h.sdk).await, vec![poison]);
    let runs: i64 = h.db.scalar("SELECT count(*) FROM integration.run WHERE function_name = 'company-dedupe'").await;
    assert_eq!(runs, 9, "one pass per good message, none for the poison");

    // meetmax-sync: ten messages of one registration each; one needs a company another run holds.
    let (sync, _) = meetmax_on(&h.db, &h.sandbox, &h.sdk, test_settings(), 500.0, 4).await;
    let mut mm_ids: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
    mm_ids.sort();
    let conn = h.db.warehouse.conn().await.unwrap();
    for id in &mm_ids {
        let org = if id == "p5" { "Poison Co" } else { "Keynote Speakers LLC" };
        let kind = if id == "p5" { "Supplier" } else { "Speaker or VIP" };
        conn.execute(
            "INSERT INTO conferences_events.exchange_registration
                (form_id, registration_id, first_name, last_name, organization, email, registration_type, one_one,
                 time_zone, meetings, approval_status, registration_status)
             VALUES ('5095980', $1, 'Pat', 'Doe', $2, $1 || '@example.org', $3, 'Yes', 'Eastern Time', 6, 'Approved', 'Active')",
            &[id, &org, &kind],
        )
        .await
        .unwrap();
        conn.execute("INSERT INTO integration.meetmax_release (registration_id) VALUES ($1)", &[id]).await.unwrap();
    }
    conn.batch_execute(
        "INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed)
         VALUES ('Poison Co', 'Poison Co', true);
         INSERT INTO integration.meetmax_company (meetmax_event_id, company, lease_until, lease_owner, intent_at)
         VALUES ('90199', 'Poison Co', now() + interval '1 day', gen_random_uuid(), now());",
    )
    .await
    .unwrap();
    drop(conn);
    let queue = RedrivenQueue::create(&h.sdk, "meetmax", 3).await;
    let bodies: Vec<String> = mm_ids
        .iter()
        .map(|id| {
            serde_json::to_string(&Envelope::batch(KIND_REGISTRATIONS_RELEASED, std::slice::from_ref(id), "r3")[0])
                .unwrap()
        })
        .collect();
    queue.send(&h.sdk, &bodies).await;
    let stats = forward(&h.sdk, &queue, |event| {
        let sync = &sync;
        async move { meetmax_sync::handle_batch(sync, event, platform_runtime::Deadline::none()).await }
    })
    .await;
    println!("R3 meetmax: {stats:?}");
    let poison = &bodies[5];
    assert_eq!(stats.per_body[poison], 3);
    assert!(bodies.iter().filter(|b| *b != poison).all(|b| stats.per_body[b] == 1));
    assert_eq!(queue.dead_letters(&h.sdk).await, vec![poison.clone()]);
    let added: i64 = h.db.scalar("SELECT count(*) FROM integration.meetmax_sync WHERE meetmax_id IS NOT NULL").await;
    assert_eq!(added, 9);
    let status: String =
        h.db.scalar("SELECT meetmax_status FROM conferences_events.exchange_registration WHERE registration_id = 'p5'")
            .await;
    assert!(status.contains("Poison Co") && status.contains("another run"), "its record says why: {status}");
}
