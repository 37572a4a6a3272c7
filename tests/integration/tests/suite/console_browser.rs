//! The operator console in headless Chromium, as an operator uses it: sign in at the issuer,
//! approve a name, find a registration's trail and act on it, redrive a dead message; each
//! checked in the warehouse or the queues afterwards. The pages run under their strict
//! Content-Security-Policy: the browser logs no refusal.

use integration_tests::{browser::Browser, console_support::ConsoleHarness};

const JANE: &str = "INSERT INTO conferences_events.exchange_registration
    (form_id, registration_id, first_name, last_name, organization, email, registration_type, approval_status, registration_status)
  VALUES ('5095980', 'reg-jane', 'jane', 'doe', 'Acme Widgets', 'jane.doe@example.com', 'Supplier', 'Approved', 'Active');
  INSERT INTO conferences_events.exchange_organizations (original_organization) VALUES ('Acme Widgets'), ('Globex');
  INSERT INTO integration.organization_name (original_organization, exchange_organization_id, suggested_clean, suggestion_score)
  SELECT original_organization, id, original_organization || ' Inc', 0.9
    FROM conferences_events.exchange_organizations WHERE original_organization IN ('Acme Widgets', 'Globex');";

async fn signed_in(h: &ConsoleHarness, email: &str) -> Browser {
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", h.url)).await;
    // Sent to the issuer's sign-in page, then back.
    browser.type_into("#email", email).await;
    browser.click("#sign-in").await;
    browser.wait_for_text("#who", email).await;
    browser
}

#[tokio::test]
async fn an_operator_approves_names_from_the_keyboard_and_the_warehouse_has_them() {
    let h = ConsoleHarness::start().await;
    h.db.exec(JANE).await;
    let browser = signed_in(&h, "operator@example.com").await;
    browser.goto(&format!("{}/review", h.url)).await;
    browser.find("tr.name-row.current").await;
    // The first row (Acme Widgets: it holds back a registration) takes its suggestion with "1";
    // the second a typed clean name.
    browser.keys("1").await;
    browser.keys("t").await;
    browser.type_into("tr.name-row[data-row='1'] input.typed", "Globex Corporation").await;
    browser.click("#apply").await;
    browser.wait_for_text("#notice", "2 names reviewed, 1 registrations released").await;
    let rows =
        h.db.rows(
            "SELECT original_organization, clean_organization FROM conferences_events.exchange_organizations
              WHERE reviewed AND original_organization IN ('Acme Widgets', 'Globex') ORDER BY 1",
        )
        .await;
    let got: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![("Acme Widgets".into(), "Acme Widgets Inc".into()), ("Globex".into(), "Globex Corporation".into())]
    );
    let errors = browser.console_errors().await;
    let refusals: Vec<&String> =
        errors.iter().filter(|e| e.contains("Content Security Policy") || e.contains("Refused to")).collect();
    assert!(refusals.is_empty(), "the page ran under its policy without refusals: {refusals:?}");
    browser.quit().await;
}

#[tokio::test]
async fn an_operator_finds_why_jane_is_not_in_meetmax_and_keeps_her_out() {
    let h = ConsoleHarness::start().await;
    h.db.exec(JANE).await;
    let browser = signed_in(&h, "operator@example.com").await;
    browser.click("a[href='/trail']").await;
    browser.type_into("#q", "jane d\u{E007}").await;
    browser.click("#hits a[href='/trail/reg-jane']").await;
    browser.wait_for_text("#standing", "held: organisation \"Acme Widgets\" awaits review").await;
    browser.type_into("#exclude-reason", "duplicate of reg-jane-2").await;
    browser.click("#exclude").await;
    browser.wait_for_text("#standing", "excluded by operator@example.com: duplicate of reg-jane-2").await;
    let reason: String =
        h.db.scalar("SELECT reason FROM integration.meetmax_exclusion WHERE registration_id = 'reg-jane'").await;
    assert_eq!(reason, "duplicate of reg-jane-2");
    browser.quit().await;
}

#[tokio::test]
async fn an_operator_redrives_a_dead_message_after_confirming() {
    let h = ConsoleHarness::start().await;
    let sqs = aws_sdk_sqs::Client::new(&h.sdk);
    let body = r#"{"kind":"registrations.changed","version":1,"ids":["reg-1"],"run_id":"r"}"#;
    sqs.send_message().queue_url(&h.queue.dead_letter_url).message_body(body).send().await.unwrap();
    let browser = signed_in(&h, "operator@example.com").await;
    browser.click("a[href='/queues']").await;
    browser.wait_for_text("tr[data-queue='dedupe'] td.dead", "1").await;
    browser.click("tr[data-queue='dedupe'] a.redrive").await;
    browser.wait_for_text("#confirm-text", "Move the 1 messages").await;
    browser.click("#confirm-redrive").await;
    browser.wait_for_text("#notice", "dedupe: 1 messages moved back").await;
    assert_eq!(integration_tests::drain_bodies(&h.sdk, &h.queue.url).await, vec![body.to_owned()]);
    assert!(integration_tests::drain_bodies(&h.sdk, &h.queue.dead_letter_url).await.is_empty());
    browser.quit().await;
}

#[tokio::test]
async fn a_viewer_sees_no_buttons() {
    let h = ConsoleHarness::start().await;
    h.db.exec(JANE).await;
    let browser = signed_in(&h, "viewer@example.com").await;
    browser.goto(&format!("{}/trail/reg-jane", h.url)).await;
    browser.wait_for_text("#standing", "awaits review").await;
    let page = browser.text("main").await;
    assert!(page.contains("Changes made to it") && !page.contains("Keep out of MeetMax"), "{page}");
    browser.quit().await;
}

/// The page ran under its policy: the browser logged no refusal.
async fn no_refusals(browser: &Browser) {
    let errors = browser.console_errors().await;
    let refusals: Vec<&String> =
        errors.iter().filter(|e| e.contains("Content Security Policy") || e.contains("Refused to")).collect();
    assert!(refusals.is_empty(), "the pages ran under their policy without refusals: {refusals:?}");
}

#[tokio::test]
async fn an_operator_enters_a_connections_credentials_and_previews_what_a_pull_would_read() {
    let h = ConsoleHarness::start().await;
    let browser = signed_in(&h, "operator@example.com").await;
    browser.click("a[href='/connectors']").await;
    browser.click("a[href='/connectors/demo-aventri']").await;
    browser.wait_for_text("#credentials-state", "not set").await;
    browser.type_into("#cred-endPoint", &format!("{}/", h.sandbox.aventri_endpoint())).await;
    browser.type_into("#cred-accountid", vendor_sandbox::fixtures::AVENTRI_ACCOUNT).await;
    browser.type_into("#cred-key", vendor_sandbox::fixtures::AVENTRI_KEY).await;
    browser.type_into("#cred-eventid", vendor_sandbox::fixtures::AVENTRI_EVENT).await;
    browser.click("#save-credentials").await;
    browser.wait_for_text("#notice", "credentials written: accountid, endPoint, eventid, key").await;
    browser.wait_for_text("#credentials-state", "set, last changed").await;
    assert!(!browser.source().await.contains(vendor_sandbox::fixtures::AVENTRI_KEY), "never read back into the page");
    let secret_id: String = h.db.scalar("SELECT secret_id FROM connector.connection WHERE name = 'demo-aventri'").await;
    let stored =
        aws_sdk_secretsmanager::Client::new(&h.sdk).get_secret_value().secret_id(&secret_id).send().await.unwrap();
    let stored: serde_json::Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    assert_eq!(stored["key"], vendor_sandbox::fixtures::AVENTRI_KEY);

    browser.click("#preview").await;
    browser.wait_for_text("#preview-result", "The provider accepted the credentials").await;
    let participants = browser.text("#sample-participants").await;
    assert!(participants.contains("records read"), "{participants}");
    let calls = h.sandbox.requests().await;
    assert!(calls.iter().any(|r| r.path.ends_with("authorize.json")), "the preview signed in at the provider");
    let written: i64 = h.db.scalar("SELECT count(*) FROM connector.participant").await;
    assert_eq!(written, 0, "a preview writes no record");
    no_refusals(&browser).await;
    browser.quit().await;
}

#[tokio::test]
async fn an_operator_confirms_a_removal_the_guard_held_back_by_typing_its_name() {
    let h = ConsoleHarness::start().await;
    h.db.exec(
        "INSERT INTO connector.participant (connection, fp_ext_id, fp_status, raw, last_seen, changed_by_run)
         SELECT 'demo-aventri', 'gone-' || n, 'active', '{}', now() - interval '2 days', gen_random_uuid() FROM generate_series(1, 3) n;
         INSERT INTO connector.participant (connection, fp_ext_id, fp_status, raw, last_seen, changed_by_run)
         VALUES ('demo-aventri', 'kept', 'active', '{}', now(), gen_random_uuid());
         INSERT INTO connector.stream_run (run_id, connection, stream, mode, trigger, status)
         VALUES ('00000000-0000-7000-8000-000000000002', 'demo-aventri', 'participants', 'full', 'sqs', 'succeeded');
         INSERT INTO connector.pending_removal (connection, stream, run_id, pull_started_at, would_remove, of_rows)
         VALUES ('demo-aventri', 'participants', '00000000-0000-7000-8000-000000000002', now() - interval '1 hour', 3, 4);",
    )
    .await;
    let browser = signed_in(&h, "operator@example.com").await;
    browser.goto(&format!("{}/connectors/demo-aventri", h.url)).await;
    browser.click("#removal-participants").await;
    browser.wait_for_text("#removal-summary", "did not see 3 of the 4 live rows").await;
    browser.type_into("#removal-typed", "demo-aventri/participants").await;
    browser.click("#confirm-removal").await;
    browser.wait_for_text("#notice", "3 rows marked removed").await;
    let removed: i64 = h.db.scalar("SELECT count(*) FROM connector.participant WHERE removed_at IS NOT NULL").await;
    assert_eq!(removed, 3);
    let decided: String = h.db.scalar("SELECT decision FROM connector.pending_removal").await;
    assert_eq!(decided, "confirmed: 3 removed");
    no_refusals(&browser).await;
    browser.quit().await;
}

#[tokio::test]
async fn an_operator_sends_a_test_lead_and_reads_the_vendors_answer() {
    let h = ConsoleHarness::start().await;
    let browser = signed_in(&h, "operator@example.com").await;
    browser.click("a[href='/leads']").await;
    browser.click("a[href='/leads/integrations/demo-captorra']").await;
    browser.click("#send-test-lead").await;
    browser.wait_for_text("#test-status", "HTTP 200").await;
    let answer = browser.text("#test-answer").await;
    assert!(answer.contains("success"), "the vendor's raw answer: {answer}");
    let received = h.sandbox.received_leads().await;
    assert!(received.iter().any(|l| l.route == "captorra" && l.body.contains("TEST LEAD")), "{received:?}");
    let test_leads: i64 = h.db.scalar("SELECT count(*) FROM leads.lead WHERE is_test").await;
    assert_eq!(test_leads, 1);
    no_refusals(&browser).await;
    browser.quit().await;
}

#[tokio::test]
async fn an_operator_finds_a_rejected_lead_and_redelivers_it() {
    let h = ConsoleHarness::start().await;
    h.db.exec(
        "INSERT INTO leads.lead (id, lander_id, source, source_id, first_name, last_name, email, phone, fields)
         VALUES (910001, 'demo-accident-lp', 'endpoint', 'b-1', 'Dana', 'Ruiz', 'dana.ruiz@example.org', '5550103344',
                 '{\"first_name\": \"Dana\", \"last_name\": \"Ruiz\", \"phone\": \"5550103344\"}');
         INSERT INTO leads.delivery (lead_id, integration_id, status, attempts, response_status, reason)
         VALUES (910001, 'demo-captorra', 'rejected', 1, 400, 'HTTP 400: Referrer unknown');",
    )
    .await;
    let browser = signed_in(&h, "operator@example.com").await;
    browser.click("a[href='/leads']").await;
    browser.type_into("#lead-q", "dana.ruiz@example.org\u{E007}").await;
    browser.click("#lead-results a[href='/leads/910001']").await;
    browser.wait_for_text("#delivery-demo-captorra", "rejected").await;
    browser.click("#redeliver-demo-captorra").await;
    browser.wait_for_text("#notice", "demo-captorra: delivered").await;
    browser.wait_for_text("#delivery-demo-captorra", "delivered").await;
    let status: String = h.db.scalar("SELECT status FROM leads.delivery WHERE lead_id = 910001").await;
    assert_eq!(status, "delivered");
    let received = h.sandbox.received_leads().await;
    assert!(received.iter().any(|l| l.fields["Last"] == "Ruiz"), "{received:?}");
    no_refusals(&browser).await;
    browser.quit().await;
}

#[tokio::test]
async fn an_operator_reruns_todays_export() {
    let h = ConsoleHarness::start().await;
    let browser = signed_in(&h, "operator@example.com").await;
    browser.click("a[href='/exports']").await;
    browser.click("a[href='/exports/demo-slip-generic']").await;
    browser.click("#rerun").await;
    browser.wait_for_text("#notice", "queued for spreadsheet-export").await;
    browser.wait_for_text("#today-state", "planned").await;
    // spreadsheet-export takes the job; the page follows it to its end.
    h.run_export_jobs().await;
    browser.wait_for_text("#today-state", "done").await;
    let key: String =
        h.db.scalar("SELECT s3_key FROM leads.export WHERE subscription_id = 'demo-slip-generic' AND status = 'done'")
            .await;
    let s3 = platform_aws::s3::client(&h.sdk, true);
    assert!(s3.head_object().bucket(&h.bucket).key(&key).send().await.is_ok(), "the workbook is in S3");
    no_refusals(&browser).await;
    browser.quit().await;
}
