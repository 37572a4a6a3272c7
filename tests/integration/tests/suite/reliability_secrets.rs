//! Reliability suite, secrets (R7): a full run through all three functions with vendor
//! faults on every hop (timeouts, resets, 5xx), then every captured log line (debug level, all
//! targets), every text column of the warehouse (run records, stored errors, operators' status
//! columns, raw bodies) and the sandbox's request log are searched for every secret value.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use integration_tests::{
    Harness, build_intake,
    meetmax_support::{meetmax_on, test_settings},
    new_queue, new_secret,
};
use platform_aws::SqsSender;
use platform_dedupe::Dedupe;
use platform_intake::IntakeSettings;
use platform_runtime::Env;
use platform_runtime::function_url::RequestParts;
use platform_warehouse::{DbSettings, Warehouse};
use serde_json::json;
use vendor_sandbox::{
    Fault, FaultRule,
    fixtures::{DEMO_FORM_ID, DEMO_HMAC_KEY, DEMO_TOKEN, MEETMAX_SECRET},
    webhook::{Format, build},
};

/// Log lines written by the subscriber, kept for the scan.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every row of every table and view of the platform's schemas, as text.
async fn warehouse_text(db: &integration_tests::TestDb) -> String {
    let tables = db
        .rows(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
              WHERE table_schema IN ('integration', 'conferences_events')",
        )
        .await;
    let mut out = String::new();
    for t in tables {
        let name: String = t.get(0);
        for r in db.rows(&format!("SELECT t::text FROM {name} t")).await {
            out.push_str(&r.get::<_, String>(0));
            out.push('\n');
        }
    }
    // Raw bodies are bytea: search their text too.
    for r in db.rows("SELECT convert_from(raw_body, 'UTF8') FROM integration.raw_submission").await {
        out.push_str(&r.get::<_, String>(0));
    }
    out
}

#[tokio::test]
async fn r7_no_secret_value_appears_in_logs_stored_errors_run_records_or_the_sandbox_log() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let h = Harness::new(&[]).await;
    let handshake = format!("hs-{}", uuid::Uuid::new_v4().simple());
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let db_password = format!("db-{}", uuid::Uuid::new_v4().simple());
    aws_sdk_secretsmanager::Client::new(&h.sdk)
        .put_secret_value()
        .secret_id(&h.secret_id)
        .secret_string(
            json!({"api_token": DEMO_TOKEN, "webhook_hmac_keys": {DEMO_FORM_ID: DEMO_HMAC_KEY},
                   "webhook_handshake_keys": {DEMO_FORM_ID: handshake}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    // Every service connects with a password-bearing connection string.
    let role = format!("r7_{}", uuid::Uuid::new_v4().simple());
    h.db.exec(&format!("CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{db_password}'")).await;
    let url = format!("{} user={role} password={db_password}", std::env::var("DATABASE_URL").unwrap());
    let warehouse = Warehouse::new(&DbSettings::from_url(&url).unwrap().with_dbname(&h.db.name)).unwrap();
    let settings = IntakeSettings::from_env(&Env::from_pairs([
        ("FORMSTACK_SECRET_ID", h.secret_id.as_str()),
        ("FORMSTACK_API_URL", h.sandbox.formstack_api_url().as_str()),
        ("DEDUPE_QUEUE_URL", h.queue_url.as_str()),
        ("HTTP_TIMEOUT_SECONDS", "1"),
    ]))
    .unwrap();
    let intake = build_intake(settings, warehouse.clone(), &h.sdk);
    tracing::info!(?intake, "services built");

    // formstack-intake: webhooks (one forged, one with a wrong handshake key), then a pull
    // through a 503, a reset and a timeout.
    for (i, hs, key) in
        [(1, handshake.as_str(), DEMO_HMAC_KEY), (2, "wrong", DEMO_HMAC_KEY), (3, handshake.as_str(), "forged")]
    {
        let fields = vec![
            ("101", json!({"first": "Sam", "last": "Secret"})),
            ("102", json!("Acme Inc")),
            ("104", json!(format!("sam{i}@example.org"))),
            ("106", json!("Speaker or VIP")),
            ("HandshakeKey", json!(hs)),
        ];
        let w = build(DEMO_FORM_ID, &format!("16999999{i}"), &fields, Format::UrlEncoded, Some(key), None);
        intake.webhook(RequestParts { method: "POST".into(), headers: w.headers, query: vec![], body: w.body }).await;
    }
    let listing = "/api/v2/form/5095980/submission.json";
    h.sandbox
        .set_faults(vec![
            FaultRule { path_prefix: listing.into(), on_requests: vec![1], fault: Fault::ServerError { status: 503 } },
            FaultRule { path_prefix: listing.into(), on_requests: vec![2], fault: Fault::Reset },
            FaultRule { path_prefix: listing.into(), on_requests: vec![3], fault: Fault::Slow { delay_ms: 2500 } },
        ])
        .await;
    intake.pull("r7", false).await.unwrap();

    // company-dedupe, staff review and approval, the gate.
    let meetmax_queue = new_queue(&h.sdk, "meetmax").await;
    let dedupe = Dedupe {
        warehouse: warehouse.clone(),
        sqs: SqsSender::new(aws_sdk_sqs::Client::new(&h.sdk)),
        meetmax_queue_url: meetmax_queue,
        s3: platform_aws::s3::client(&h.sdk, true),
        review_bucket: None,
    };
    dedupe.pass(None, "r7").await.unwrap();
    h.db.review_and_approve_all().await;
    dedupe.pass(None, "r7").await.unwrap();

    // meetmax-sync with the attendee password, through a timeout (whose error text used to carry
    // the signed URL with the password), a reset and a 503; then again.
    let mut mm_settings = test_settings();
    mm_settings.timeout = Duration::from_millis(700);
    let (mut sync, _) = meetmax_on(&h.db, &h.sandbox, &h.sdk, mm_settings, 500.0, 2).await;
    sync.warehouse = warehouse.clone();
    let pw_secret = new_secret(&h.sdk, &json!({"password": password})).await;
    h.db.exec(&format!("UPDATE integration.meetmax_event SET password_secret_id = '{pw_secret}'")).await;
    let add = "/sched/service/attendee/add";
    h.sandbox
        .set_faults(vec![
            FaultRule { path_prefix: add.into(), on_requests: vec![2], fault: Fault::Slow { delay_ms: 1500 } },
            FaultRule { path_prefix: add.into(), on_requests: vec![3], fault: Fault::Reset },
            FaultRule { path_prefix: add.into(), on_requests: vec![4], fault: Fault::ServerError { status: 503 } },
        ])
        .await;
    let first = sync.run(None, "r7").await.unwrap();
    tracing::info!(report = ?first, "first meetmax run");
    println!("R7 first MeetMax run: {:?}", first.counts());
    // Errors of the first run are replaced by the retry's success: keep what they looked like.
    let stored_mid = warehouse_text(&h.db).await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    h.sandbox.set_faults(vec![]).await;
    sync.run(None, "r7").await.unwrap();

    // What was written where.
    let log_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let stored = format!("{stored_mid}\n{}", warehouse_text(&h.db).await);
    let sandbox_log = serde_json::to_string(&h.sandbox.requests().await).unwrap();
    // The scan is only worth something if the faulty paths left text behind.
    assert!(
        log_text.contains("retrying vendor call") && log_text.contains("MeetMax"),
        "logs captured: {}",
        log_text.lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).take(20).collect::<Vec<_>>().join("\n")
    );
    assert!(stored_mid.contains("timed out") && stored_mid.contains("transient"), "errors stored");
    assert!(sandbox_log.contains("attendee/add") && sandbox_log.contains("[redacted]"), "sandbox log captured");
    let sent_password = h.sandbox.meetmax_records().await.iter().any(|r| r.fields.get("password") == Some(&password));
    assert!(sent_password, "the password was really sent (so its absence from the logs means something)");

    let secrets = [
        ("Formstack API token", DEMO_TOKEN.to_owned()),
        ("webhook HMAC key", DEMO_HMAC_KEY.to_owned()),
        ("HandshakeKey", handshake.clone()),
        ("MeetMax consumer secret", MEETMAX_SECRET.to_owned()),
        ("attendee password", password.clone()),
        ("database password", db_password.clone()),
    ];
    let mut found = Vec::new();
    for (what, value) in &secrets {
        for (place, text) in [("logs", &log_text), ("warehouse", &stored), ("sandbox log", &sandbox_log)] {
            if text.contains(value.as_str()) {
                let at = text.find(value.as_str()).unwrap();
                let context: String = text[at.saturating_sub(120)..].chars().take(240).collect();
                found.push(format!("{what} in {place}: …{context}…"));
            }
        }
    }
    println!(
        "R7: scanned {} KiB of logs, {} KiB of warehouse text, {} KiB of sandbox log for {} secrets",
        log_text.len() / 1024,
        stored.len() / 1024,
        sandbox_log.len() / 1024,
        secrets.len()
    );
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}
