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
