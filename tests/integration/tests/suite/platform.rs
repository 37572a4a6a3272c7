//! The shared platform pieces against the real services: Secrets Manager cache, SQS sender and
//! batch handler, S3 through AWS_ENDPOINT_URL, the warehouse pool and migrations, the outbox.

use std::time::Duration;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use integration_tests::{Harness, TestDb, aws, drain_queue, ids_of, new_queue, new_secret};
use platform_aws::{SecretsCache, SqsSender};
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_CHANGED};
use platform_warehouse::migrate::migrate;
use serde_json::json;

#[tokio::test]
async fn secrets_are_cached_for_their_ttl_and_never_shown_in_debug() {
    let sdk = aws().await;
    let id = new_secret(&sdk, &json!({"api_token": "first-value"})).await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let cache = SecretsCache::new(sm.clone(), Duration::from_millis(400));
    let s = cache.get(&id).await.unwrap();
    assert_eq!(s.field("api_token").as_deref(), Some("first-value"));
    assert!(!format!("{s:?} {cache:?}").contains("first-value"));

    sm.put_secret_value()
        .secret_id(&id)
        .secret_string(json!({"api_token": "rotated"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        cache.get(&id).await.unwrap().field("api_token").as_deref(),
        Some("first-value"),
        "served from the cache"
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(cache.get(&id).await.unwrap().field("api_token").as_deref(), Some("rotated"), "re-read after the TTL");

    let missing = cache.get("no/such/secret").await.unwrap_err().to_string();
    assert!(missing.contains("no/such/secret"), "{missing}");
}

#[tokio::test]
async fn sqs_sender_batches_envelopes_and_the_batch_handler_reports_partial_failures() {
    let sdk = aws().await;
    let url = new_queue(&sdk, "batch").await;
    let sender = SqsSender::new(aws_sdk_sqs::Client::new(&sdk));
    let ids: Vec<String> = (0..2345).map(|i| format!("{i:05}")).collect();
    let envelopes = Envelope::batch(KIND_REGISTRATIONS_CHANGED, &ids, "run-1");
    assert_eq!(envelopes.len(), 24, "100 ids per message");
    sender.send(&url, &envelopes).await.unwrap();
    let got = drain_queue(&sdk, &url).await;
    assert_eq!(ids_of(&got), ids);

    // Real messages from SQS, fed to the batch handler as Lambda's event source mapping would.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let good = serde_json::to_string(&Envelope::batch(KIND_REGISTRATIONS_CHANGED, &["1".into()], "r")[0]).unwrap();
    for body in [good.as_str(), "not json", r#"{"kind":"lead.created","version":1,"ids":["1"],"run_id":"r"}"#, "PANIC"]
    {
        sqs.send_message().queue_url(&url).message_body(body).send().await.unwrap();
    }
    let received = sqs.receive_message().queue_url(&url).max_number_of_messages(10).send().await.unwrap();
    let mut event = SqsEvent::default();
    event.records = received
        .messages()
        .iter()
        .map(|m| {
            let mut msg = SqsMessage::default();
            msg.message_id = m.message_id().map(str::to_owned);
            msg.body = m.body().map(str::to_owned);
            msg
        })
        .collect();
    assert_eq!(event.records.len(), 4);
    let id_of = |body: &str| {
        event.records.iter().find(|m| m.body.as_deref() == Some(body)).unwrap().message_id.clone().unwrap()
    };
    let expected_failures = {
        let mut v = vec![
            id_of("not json"),
            id_of(r#"{"kind":"lead.created","version":1,"ids":["1"],"run_id":"r"}"#),
            id_of("PANIC"),
        ];
        v.sort();
        v
    };
    let resp = platform_runtime::sqs_batch::process(event, |m: SqsMessage| async move {
        let body = m.body.unwrap_or_default();
        if body == "PANIC" {
            panic!("simulated bug");
        }
        Envelope::parse(&body, &[KIND_REGISTRATIONS_CHANGED]).map(|_| ())
    })
    .await;
    let mut failed: Vec<String> = resp.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    failed.sort();
    assert_eq!(failed, expected_failures);
}

#[tokio::test]
async fn s3_client_honours_the_endpoint_and_path_style() {
    let sdk = aws().await;
    let s3 = platform_aws::s3::client(&sdk, true);
    let bucket = format!("b-{}", uuid::Uuid::new_v4().simple());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    platform_aws::s3::put(&s3, &bucket, "reports/a.txt", b"hello".to_vec(), "text/plain").await.unwrap();
    assert_eq!(platform_aws::s3::get(&s3, &bucket, "reports/a.txt").await.unwrap(), b"hello");
    let err = platform_aws::s3::get(&s3, &bucket, "missing").await.unwrap_err().to_string();
    assert!(err.contains(&bucket) && err.contains("missing"), "{err}");
}

#[tokio::test]
async fn warehouse_reconnects_after_its_connection_is_killed_and_migrations_are_idempotent() {
    let db = TestDb::new().await;
    assert!(migrate(&db.warehouse).await.unwrap().is_empty(), "second run applies nothing");
    let pid: i32 = {
        let conn = db.warehouse.conn().await.unwrap();
        conn.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0)
    };
    let url = std::env::var("DATABASE_URL").unwrap();
    let (admin, c) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(c);
    admin.execute("SELECT pg_terminate_backend($1)", &[&pid]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // the pool notices the closed connection and makes a new one
    let conn = db.warehouse.conn().await.unwrap();
    let new_pid: i32 = conn.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    assert_ne!(new_pid, pid);
    // the documented compatibility objects exist with their types
    let cols: i64 = db.scalar("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'conferences_events' AND table_name = 'exchange_registration'").await;
    assert_eq!(cols, 53);
    let fee_type: String = db.scalar("SELECT data_type FROM information_schema.columns WHERE table_schema = 'conferences_events' AND table_name = 'exchange_registration' AND column_name = 'total_price'").await;
    assert_eq!(fee_type, "numeric");
}

/// The published view's rules, reproduced by configuration: the demo form's role rules are the
/// published NASPO2 mapping (`infra/local/seed-demo.sql`).
#[tokio::test]
async fn exchange_meetmax_view_applies_the_documented_rules() {
    let db = TestDb::new().await;
    db.exec(integration_tests::SEED_DEMO_SQL).await;
    db.exec(
        "INSERT INTO conferences_events.regions (id, name) VALUES (1, 'South');
         UPDATE conferences_events.states SET full_name = 'Commonwealth of Kentucky', region_id = 1 WHERE name = 'KY';
         INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed) VALUES ('Acme, Inc.', 'Acme', true);
         INSERT INTO conferences_events.exchange_registration
            (form_id, registration_id, first_name, last_name, organization, email, registration_type, one_one, time_zone, industries, state_organization, approval_status, registration_status)
         VALUES
            ('5095980', '1', 'mary', 'McDONALD', 'State of KY', 'M@X.ORG', 'State Member', 'yes', 'Pacific Time', E'A, B\\r\\nC\\n', 'KY', 'Approved', 'Active'),
            ('5095980', '2', 'john', 'smith', 'Acme, Inc.', 'j@x.org', 'Supplier', 'Yes', 'Eastern Time', NULL, NULL, 'Approved', 'Active'),
            ('5095980', '3', 'x', 'y', 'Z', 'z@x.org', 'Supplier', 'Yes', NULL, NULL, NULL, 'approved', 'Active'),
            ('5095980', '4', 'pat', 'lee', 'Retired', 'p@x.org', 'Life Member or Honorary Member', 'No', NULL, NULL, NULL, 'Approved', 'Active')",
    )
    .await;
    let rows = db.rows("SELECT registration_id, first_name, last_name, company, email, attendee_role_id, receive_request, locale, industries, group_name FROM conferences_events.exchange_meetmax ORDER BY registration_id").await;
    assert_eq!(rows.len(), 3, "'approved' is not 'Approved'");
    let r = &rows[0];
    assert_eq!((r.get::<_, String>(1), r.get::<_, String>(2)), ("Mary".into(), "Mcdonald".into()));
    assert_eq!(r.get::<_, String>(3), "Commonwealth of Kentucky");
    assert_eq!(r.get::<_, String>(4), "m@x.org");
    assert_eq!(r.get::<_, String>(5), "NASPO2_STATE_REP");
    assert_eq!(r.get::<_, String>(6), "N", "only exactly 'Yes' requests meetings");
    assert_eq!(r.get::<_, String>(7), "Pacific");
    assert_eq!(
        r.get::<_, String>(8),
        "A B|C",
        "lines joined with '|', commas removed; no trailing '|' (the published view left one)"
    );
    assert_eq!(rows[1].get::<_, String>(3), "Acme");
    assert_eq!(rows[1].get::<_, String>(5), "NASPO2_SUPPLIER_ATT");
    assert_eq!(rows[1].get::<_, String>(6), "Y");
    assert_eq!(
        (rows[2].get::<_, String>(3), rows[2].get::<_, String>(9)),
        ("Retired".into(), "2".into()),
        "as typed, group 2"
    );
}

#[tokio::test]
async fn outbox_entries_survive_an_unreachable_queue_and_are_sent_by_the_next_invocation() {
    let mut h = Harness::new(&[]).await;
    let real_queue = h.intake.settings.dedupe_queue_url.clone();
    h.intake.settings.dedupe_queue_url = format!("{}-does-not-exist", real_queue);
    h.intake.pull("test", false).await.unwrap();
    let unsent: i64 =
        h.db.scalar(
            "SELECT COALESCE(sum(cardinality(record_ids)), 0)::bigint FROM integration.outbox WHERE sent_at IS NULL",
        )
        .await;
    assert_eq!(unsent, 15, "committed rows keep their announcements while SQS refuses");
    h.intake.settings.dedupe_queue_url = real_queue;
    assert_eq!(h.intake.publish(uuid::Uuid::now_v7()).await.unwrap(), 15);
    assert_eq!(ids_of(&drain_queue(&h.sdk, &h.queue_url).await).len(), 15);
    assert_eq!(h.intake.publish(uuid::Uuid::now_v7()).await.unwrap(), 0, "sent once");
}

#[tokio::test]
async fn the_foundation_is_built_once_from_the_environment() {
    let db = TestDb::new().await;
    let sdk = aws().await;
    let url = format!("{} dbname={}", std::env::var("DATABASE_URL").unwrap(), db.name);
    let secret = new_secret(&sdk, &json!({"token": "t"})).await;
    let env = |name: &str| (name == "DATABASE_URL").then(|| url.clone());
    let f = platform_aws::Foundation::from_env(env, Duration::from_secs(60), 3).await.unwrap();
    let conn = f.warehouse.conn().await.unwrap();
    let name: String = conn.query_one("SELECT current_database()", &[]).await.unwrap().get(0);
    assert_eq!(name, db.name);
    assert!(format!("{:?}", f.warehouse).contains("max_size: 3"), "the default pool size: {:?}", f.warehouse);
    assert_eq!(f.secrets.get(&secret).await.unwrap().field("token").as_deref(), Some("t"), "one cache for the secrets");
}

#[tokio::test]
async fn a_refused_statement_is_described_with_postgresqls_message_and_sqlstate() {
    let db = TestDb::new().await;
    let conn = db.warehouse.conn().await.unwrap();
    // What a NUL inside a value meets (the lead endpoint's lost leads logged only "db error").
    let refused = conn.query_one("SELECT $1::jsonb", &[&json!({"k": {"n": "a\u{0}b"}})]).await.unwrap_err();
    let text = platform_warehouse::WarehouseError::from(refused).to_string();
    assert!(text.starts_with("database: ERROR unsupported Unicode escape sequence"), "{text}");
    assert!(text.contains("(SQLSTATE 22P05)"), "{text}");
    let refused = conn.execute("INSERT INTO leads.lead (lander_id) VALUES (NULL)", &[]).await.unwrap_err();
    let text = platform_warehouse::WarehouseError::from(refused).to_string();
    assert!(text.contains("(SQLSTATE 23502)") && text.contains("column: "), "{text}");
}
