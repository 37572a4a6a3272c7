//! `make screenshots`: the operator console's pages as PNGs (headless Chromium, 1280×900) over a
//! small demo warehouse: names awaiting review, a registration held, a failed run, a dead message.
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
    let pages = [
        ("today", "/"),
        ("review", "/review"),
        ("trail-search", "/trail?q=doe"),
        ("trail", "/trail/R-1001"),
        ("queues", "/queues"),
        ("dead-messages", "/queues/dedupe"),
        ("audit", "/audit"),
    ];
    for (name, path) in pages {
        browser.goto(&format!("{}{path}", h.url)).await;
        browser.find("main").await;
        let png = browser.screenshot().await;
        let file = dir.join(format!("{name}.png"));
        std::fs::write(&file, png).expect("write the screenshot");
        println!("{}", file.display());
    }
    browser.quit().await;
}
