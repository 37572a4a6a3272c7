//! One bad submission among good ones; remapping after a configuration fix.

use integration_tests::{Harness, drain_queue, ids_of};

#[tokio::test]
async fn a_malformed_submission_is_stored_with_its_error_and_the_others_land() {
    let h = Harness::new(&[]).await;
    let report = h.intake.pull("test", false).await.unwrap();
    let f = &report.forms[0].report;
    assert_eq!((f.received, f.mapped, f.mapping_errors), (16, 15, 1));
    let n: i64 = h.db.scalar("SELECT count(*) FROM conferences_events.exchange_registration").await;
    assert_eq!(n, 15);
    let err = &h
        .db
        .rows("SELECT submission_id, mapping_error FROM integration.raw_submission WHERE mapping_status = 'error'")
        .await;
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].get::<_, String>(0), "1500000099");
    assert_eq!(err[0].get::<_, String>(1), "field 117 (meetings): \"lots\" is not a valid integer");
    let (status, failed, notes): (String, i64, String) = {
        let r = &h.db.rows("SELECT status, failed_count, notes::text FROM integration.run").await[0];
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!((status.as_str(), failed), ("partial", 1));
    assert!(notes.contains("1500000099"), "{notes}");

    // Seeded values kept as typed (view rules work on them later); blank organisations are NULL.
    let nulls: i64 =
        h.db.scalar("SELECT count(*) FROM conferences_events.exchange_registration WHERE organization IS NULL").await;
    assert_eq!(nulls, 2, "the empty and the missing organisation");
    let trailing: String =
        h.db.scalar(
            "SELECT organization FROM conferences_events.exchange_registration WHERE registration_id = '1500000004'",
        )
        .await;
    assert_eq!(trailing, "Acme Inc ");
    drain_queue(&h.sdk, &h.queue_url).await;

    // Fix the configuration (meetings no longer mapped) and remap the failed submission.
    h.db.exec("DELETE FROM integration.form_field_map WHERE form_id = '5095980' AND field_id = '117'").await;
    let fixed = h.intake.remap(true, Some("5095980")).await.unwrap();
    assert_eq!((fixed.mapped, fixed.inserted, fixed.mapping_errors), (1, 1, 0));
    let status: String =
        h.db.scalar("SELECT mapping_status FROM integration.raw_submission WHERE submission_id = '1500000099'").await;
    assert_eq!(status, "mapped");
    assert_eq!(ids_of(&drain_queue(&h.sdk, &h.queue_url).await), vec!["1500000099"]);
}

#[tokio::test]
async fn staff_columns_are_never_overwritten_by_intake() {
    let h = Harness::new(&[]).await;
    h.intake.pull("test", false).await.unwrap();
    h.db.exec("UPDATE conferences_events.exchange_registration SET approval_status = 'Approved', meetmax_id = '42', issue_notes = 'called' WHERE registration_id = '1500000001'").await;
    let mut fixture = vendor_sandbox::fixtures::demo_fixture();
    fixture.forms[0].submissions[0].data.insert("103".into(), serde_json::json!("Director"));
    h.sandbox.load_formstack(fixture).await;
    // Formstack keeps an edited submission's timestamp: an incremental pull does not see an edit
    // older than the overlap window, a full resync does.
    let incremental = h.intake.pull("test", false).await.unwrap();
    assert_eq!(incremental.forms[0].report.updated, 0);
    h.intake.pull("resync", true).await.unwrap();
    let r = &h.db.rows("SELECT title, approval_status, meetmax_id, issue_notes FROM conferences_events.exchange_registration WHERE registration_id = '1500000001'").await[0];
    assert_eq!(r.get::<_, String>(0), "Director");
    assert_eq!(r.get::<_, String>(1), "Approved");
    assert_eq!(r.get::<_, String>(2), "42");
    assert_eq!(r.get::<_, String>(3), "called");
}

#[tokio::test]
async fn a_webhook_stored_but_not_processed_before_a_crash_is_mapped_by_the_next_scheduled_run() {
    use platform_domain::submission::Submission;
    use platform_intake::ingest::Incoming;
    use platform_warehouse::raw::{self, Source};

    let h = Harness::new(&[]).await;
    // The raw-first commit happened, then the container died before mapping.
    let w = vendor_sandbox::webhook::build(
        "5095980",
        "1600009999",
        &[("101", serde_json::json!("first = Crash\nlast = Survivor")), ("104", serde_json::json!("c@x.org"))],
        vendor_sandbox::webhook::Format::UrlEncoded,
        Some(vendor_sandbox::fixtures::DEMO_HMAC_KEY),
        None,
    );
    let sub = Submission::from_webhook(&w.body, Some("application/x-www-form-urlencoded")).unwrap();
    let item = Incoming::from_webhook(sub, w.body.clone(), None);
    let conn = h.db.warehouse.conn().await.unwrap();
    raw::insert(&conn, Source::Webhook, true, uuid::Uuid::now_v7(), &[item.raw], false).await.unwrap();
    drop(conn);
    h.db.exec("UPDATE integration.raw_submission SET received_at = now() - interval '10 minutes'").await;

    let report = h.intake.pull("schedule", false).await.unwrap();
    assert_eq!((report.recovered.mapped, report.recovered.inserted), (1, 1));
    let name: String = h
        .db
        .scalar("SELECT last_name FROM conferences_events.exchange_registration WHERE registration_id = '1600009999'")
        .await;
    assert_eq!(name, "Survivor");
    assert!(ids_of(&drain_queue(&h.sdk, &h.queue_url).await).contains(&"1600009999".to_string()));
}

#[tokio::test]
async fn remap_reaches_every_failed_submission_beyond_the_first_page() {
    use platform_domain::submission::Submission;
    use platform_intake::ingest::Incoming;
    use platform_warehouse::raw::{self, Source};

    let h = Harness::new(&[]).await;
    // 1,005 stored submissions of a form that is not configured: all stay mapping errors.
    let items: Vec<_> = (0..1005)
        .map(|i| {
            let record = serde_json::json!({"id": format!("{}", 1_900_000_000 + i), "timestamp": "2026-11-01 10:00:00", "data": []});
            let sub = Submission::from_api("424242", &record).unwrap();
            Incoming::from_api(sub, &record).raw
        })
        .collect();
    let conn = h.db.warehouse.conn().await.unwrap();
    raw::insert(&conn, Source::Pull, false, uuid::Uuid::now_v7(), &items, false).await.unwrap();
    drop(conn);
    h.db.exec("UPDATE integration.raw_submission SET mapping_status = 'error', mapping_error = 'form 424242 is not configured'").await;
    let report = h.intake.remap(true, Some("424242")).await.unwrap();
    assert_eq!((report.received, report.mapping_errors), (1005, 1005), "every page was visited");
}
