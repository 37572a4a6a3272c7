//! `make screenshots`: the operator console's pages as PNGs (headless Chromium, 1280×900) over a
//! small demo warehouse: names awaiting review, a registration held, a failed run, a dead message,
//! a connection pulled with a removal held back, a rejected lead, the demo's export subscriptions.
//! Usage: `console-screenshots <directory>` inside `infra/local/stack.sh exec`.

use integration_tests::{browser::Browser, console_support::ConsoleHarness};

const DEMO: &str = "
INSERT INTO conferences_events.exchange_registration
    (form_id, registration_id, first_name, last_name, organization, email, registration_type, approval_status, registration_status)
VALUES ('5095980', 'R-1001', 'jane', 'doe', 'Acme Widgets', 'jane.doe@example.com', 'Supplier', 'Approved', 'Active'),
       ('5095980', 'R-1002', 'omar', 'haddad', 'Globex', 'omar@globex.example', 'Supplier', 'Approved', 'Active'),
       ('5095980', 'R-1003', 'li', 'chen', 'Initech LLC', 'li.chen@initech.example', 'Supplier', 'Pending', 'Active');
INSERT INTO conferences_events.exchange_organizations (original_organization) VALUES ('Acme Widgets'), ('Globex'), ('Initech LLC');
INSERT INTO integration.organization_name (original_organization, exchange_organization_id, suggested_clean, suggestion_score, alternatives)
SELECT original_organization, id, CASE original_organization WHEN 'Acme Widgets' THEN 'Acme Widgets Inc' WHEN 'Globex' THEN 'Globex Corporation' ELSE 'Initech' END,
       0.91, '[{\"clean\": \"Acme Corp\", \"score\": 0.64}]'
  FROM conferences_events.exchange_organizations WHERE original_organization IN ('Acme Widgets', 'Globex', 'Initech LLC');
INSERT INTO integration.run (run_id, function_name, trigger, finished_at, status, read_count, written_count, failed_count, error)
VALUES (gen_random_uuid(), 'meetmax-sync', 'sqs', now(), 'partial', 12, 11, 1, NULL),
       (gen_random_uuid(), 'formstack-intake', 'schedule', now(), 'failed', 0, 0, 0, 'Formstack answered 503 three times');
INSERT INTO leads.lead (id, lander_id, source, source_id, first_name, last_name, email, phone, fields)
VALUES (5001, 'demo-accident-lp', 'endpoint', 'demo-1', 'Dana', 'Ruiz', 'dana.ruiz@example.org', '(555) 010-3344',
        '{\"first_name\": \"Dana\", \"last_name\": \"Ruiz\", \"phone\": \"(555) 010-3344\", \"details\": \"Rear-ended on I-65\"}');
INSERT INTO leads.delivery (lead_id, integration_id, status, attempts, response_status, response_body, reason)
VALUES (5001, 'demo-captorra', 'rejected', 1, 400, '{\"success\": false, \"message\": \"Referrer unknown\"}', 'HTTP 400: Referrer unknown');
INSERT INTO leads.delivery_attempt (lead_id, integration_id, response_status, outcome, response_body, ms)
VALUES (5001, 'demo-captorra', 400, 'rejected', '{\"success\": false, \"message\": \"Referrer unknown\"}', 182);
";

/// A removal the share guard held back (after the pull the screenshots run).
const REMOVAL: &str = "
INSERT INTO connector.participant (connection, fp_ext_id, fp_status, raw_status, raw, last_seen, changed_by_run)
SELECT 'demo-aventri', 'gone-' || n, 'active', 'Confirmed', '{}', now() - interval '3 days', gen_random_uuid()
  FROM generate_series(1, 40) n;
INSERT INTO connector.pending_removal (connection, stream, run_id, pull_started_at, would_remove, of_rows)
SELECT 'demo-aventri', 'participants', gen_random_uuid(), now() - interval '1 hour', 40,
       (SELECT count(*) FROM connector.participant WHERE connection = 'demo-aventri');
";

#[tokio::main]
async fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "docs/screenshots".into()));
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    let h = ConsoleHarness::start().await;
    h.db.exec(DEMO).await;
    let sqs = aws_sdk_sqs::Client::new(&h.sdk);
    sqs.send_message()
        .queue_url(&h.queue.dead_letter_url)
        .message_body(r#"{"kind":"registrations.changed","version":1,"ids":["R-1001"],"run_id":"demo"}"#)
        .send()
        .await
        .expect("a dead message");
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", h.url)).await;
    browser.type_into("#email", "operator@example.com").await;
    browser.click("#sign-in").await;
    browser.wait_for_text("#who", "operator@example.com").await;
    // A connection's credentials entered, a full pull queued and run by connector-pull.
    browser.goto(&format!("{}/connectors/demo-aventri", h.url)).await;
    browser.type_into("#cred-endPoint", &format!("{}/", h.sandbox.aventri_endpoint())).await;
    browser.type_into("#cred-accountid", vendor_sandbox::fixtures::AVENTRI_ACCOUNT).await;
    browser.type_into("#cred-key", vendor_sandbox::fixtures::AVENTRI_KEY).await;
    browser.type_into("#cred-eventid", vendor_sandbox::fixtures::AVENTRI_EVENT).await;
    browser.click("#save-credentials").await;
    browser.wait_for_text("#notice", "credentials written").await;
    browser.click("#pull-full").await;
    browser.wait_for_text("#notice", "queued").await;
    h.run_connector_jobs().await;
    h.db.exec(REMOVAL).await;
    browser.goto(&format!("{}/connectors/demo-aventri", h.url)).await;
    browser.click("#preview").await;
    browser.wait_for_text("#preview-result", "accepted").await;
    shoot(&browser, &dir, "preview").await;
    let pages = [
        ("today", "/"),
        ("review", "/review"),
        ("trail-search", "/trail?q=doe"),
        ("trail", "/trail/R-1001"),
        ("queues", "/queues"),
        ("dead-messages", "/queues/dedupe"),
        ("audit", "/audit"),
        ("connectors", "/connectors"),
        ("connection", "/connectors/demo-aventri"),
        ("removal", "/connectors/demo-aventri/streams/participants/removal"),
        ("leads", "/leads?q=dana.ruiz%40example.org"),
        ("integration", "/leads/integrations/demo-captorra"),
        ("lead", "/leads/5001"),
        ("exports", "/exports"),
        ("export", "/exports/demo-accident-custom"),
    ];
    for (name, path) in pages {
        browser.goto(&format!("{}{path}", h.url)).await;
        shoot(&browser, &dir, name).await;
    }
    browser.quit().await;
}

/// The page shown, as `<dir>/<name>.png`.
async fn shoot(browser: &Browser, dir: &std::path::Path, name: &str) {
    browser.find("main").await;
    let png = browser.screenshot().await;
    let file = dir.join(format!("{name}.png"));
    std::fs::write(&file, png).expect("write the screenshot");
    println!("{}", file.display());
}
