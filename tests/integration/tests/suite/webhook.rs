//! formstack-intake's webhook path against real PostgreSQL and moto.

use integration_tests::{Harness, drain_queue, ids_of, new_secret};
use platform_runtime::function_url::{Answer as WebhookResponse, RequestParts};
use serde_json::{Value, json};
use vendor_sandbox::{
    fixtures::{DEMO_FORM_ID, DEMO_HMAC_KEY},
    webhook::{Format, SignedWebhook, build},
};

fn demo_fields(org: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("101", json!({"first": "Jane", "last": "Doe"})),
        ("102", json!(org)),
        ("104", json!("jane.doe@example.org")),
        ("106", json!("Supplier")),
        ("111", json!("Information Technology\nFacilities")),
        ("117", json!("3")),
    ]
}

fn request(w: &SignedWebhook) -> RequestParts {
    RequestParts { method: "POST".into(), headers: w.headers.clone(), query: vec![], body: w.body.clone() }
}

async fn counts(h: &Harness) -> (i64, i64, i64) {
    let raw: i64 = h.db.scalar("SELECT count(*) FROM integration.raw_submission").await;
    let reg: i64 = h.db.scalar("SELECT count(*) FROM conferences_events.exchange_registration").await;
    let runs: i64 = h.db.scalar("SELECT count(*) FROM integration.run").await;
    (raw, reg, runs)
}

#[tokio::test]
async fn signed_urlencoded_webhook_lands_and_is_announced_once_even_when_replayed() {
    let h = Harness::new(&[]).await;
    let w = build(DEMO_FORM_ID, "1600000001", &demo_fields("Acme Inc"), Format::UrlEncoded, Some(DEMO_HMAC_KEY), None);
    let first = h.intake.webhook(request(&w)).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["status"], "accepted");
    let replay = h.intake.webhook(request(&w)).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body["status"], "duplicate");

    let row = &h.db.rows("SELECT first_name, last_name, organization, email, industries, meetings, form_id, submitted_at IS NOT NULL FROM conferences_events.exchange_registration WHERE registration_id = '1600000001'").await[0];
    assert_eq!(row.get::<_, String>(0), "Jane");
    assert_eq!(row.get::<_, String>(1), "Doe");
    assert_eq!(row.get::<_, String>(2), "Acme Inc");
    assert_eq!(row.get::<_, String>(4), "Information Technology\nFacilities");
    assert_eq!(row.get::<_, i32>(5), 3);
    assert_eq!(row.get::<_, String>(6), DEMO_FORM_ID);
    assert!(row.get::<_, bool>(7));

    let raw =
        h.db.rows(
            "SELECT source, signature_verified, mapping_status, raw_body, content_type FROM integration.raw_submission",
        )
        .await;
    assert_eq!(raw.len(), 1, "the replay stored nothing new");
    assert_eq!(raw[0].get::<_, String>(0), "webhook");
    assert!(raw[0].get::<_, bool>(1));
    assert_eq!(raw[0].get::<_, String>(2), "mapped");
    assert_eq!(raw[0].get::<_, Vec<u8>>(3), w.body, "raw body stored byte for byte");
    assert!(raw[0].get::<_, String>(4).starts_with("application/x-www-form-urlencoded"));

    assert_eq!(ids_of(&drain_queue(&h.sdk, &h.queue_url).await), vec!["1600000001"], "announced once");
    let unsent: i64 =
        h.db.scalar(
            "SELECT COALESCE(sum(cardinality(record_ids)), 0)::bigint FROM integration.outbox WHERE sent_at IS NULL",
        )
        .await;
    assert_eq!(unsent, 0);
}

#[tokio::test]
async fn forged_missing_and_unkeyed_signatures_get_401_and_write_nothing() {
    let h = Harness::new(&[]).await;
    let good = build(DEMO_FORM_ID, "1600000002", &demo_fields("Acme"), Format::UrlEncoded, Some(DEMO_HMAC_KEY), None);
    let wrong_key =
        build(DEMO_FORM_ID, "1600000002", &demo_fields("Acme"), Format::UrlEncoded, Some("not-the-key"), None);
    let unsigned = build(DEMO_FORM_ID, "1600000002", &demo_fields("Acme"), Format::UrlEncoded, None, None);
    let mut tampered = request(&good);
    tampered.body.extend_from_slice(b"&102=Evil+Corp");
    let unknown_form = build("999", "1600000003", &demo_fields("Acme"), Format::UrlEncoded, Some(DEMO_HMAC_KEY), None);

    for (what, req) in [
        ("wrong key", request(&wrong_key)),
        ("no header", request(&unsigned)),
        ("body changed after signing", tampered),
        ("form without a configured key", request(&unknown_form)),
    ] {
        let resp: WebhookResponse = h.intake.webhook(req).await;
        assert_eq!(resp.status, 401, "{what}: {:?}", resp.body);
    }
    assert_eq!(counts(&h).await, (0, 0, 0), "nothing written");
    assert!(drain_queue(&h.sdk, &h.queue_url).await.is_empty());
}

#[tokio::test]
async fn bare_and_uppercase_digests_json_bodies_and_custom_header_are_accepted() {
    let h = Harness::new(&[("WEBHOOK_SIGNATURE_HEADER", "X-Custom-Hmac")]).await;
    let w = build(
        DEMO_FORM_ID,
        "1600000010",
        &demo_fields("Globex"),
        Format::Json,
        Some(DEMO_HMAC_KEY),
        Some("X-Custom-Hmac"),
    );
    let sig = w.headers.iter().find(|(k, _)| k == "X-Custom-Hmac").unwrap().1.clone();
    let upper = w.clone().with_header("x-custom-hmac", &sig.to_uppercase());
    let resp = h.intake.webhook(request(&upper)).await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    let w2 = build(
        DEMO_FORM_ID,
        "1600000011",
        &demo_fields("Globex"),
        Format::UrlEncoded,
        Some(DEMO_HMAC_KEY),
        Some("X-Custom-Hmac"),
    );
    let sig2 = w2.headers.iter().find(|(k, _)| k == "X-Custom-Hmac").unwrap().1.clone();
    let bare = w2.with_header("X-Custom-Hmac", sig2.trim_start_matches("sha256="));
    assert_eq!(h.intake.webhook(request(&bare)).await.status, 200);
    // the default header name is not looked at when a custom one is configured
    let default_header =
        build(DEMO_FORM_ID, "1600000012", &demo_fields("Globex"), Format::Json, Some(DEMO_HMAC_KEY), None);
    assert_eq!(h.intake.webhook(request(&default_header)).await.status, 401);
    let orgs: Vec<String> =
        h.db.rows("SELECT organization FROM conferences_events.exchange_registration ORDER BY registration_id")
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(orgs, vec!["Globex", "Globex"]);
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused_without_writing() {
    let h = Harness::new(&[("WEBHOOK_MAX_BYTES", "2048")]).await;
    let sign = |body: &[u8], ct: &str| RequestParts {
        method: "POST".into(),
        headers: vec![
            ("Content-Type".into(), ct.into()),
            ("X-FS-Signature".into(), vendor_sandbox::webhook::signature(body, DEMO_HMAC_KEY)),
        ],
        query: vec![("form_id".into(), DEMO_FORM_ID.into())],
        body: body.to_vec(),
    };
    let not_json = sign(b"{\"FormID\": ", "application/json");
    assert_eq!(h.intake.webhook(not_json).await.status, 400);
    let no_unique_id = sign(format!("FormID={DEMO_FORM_ID}&101=x").as_bytes(), "application/x-www-form-urlencoded");
    let resp = h.intake.webhook(no_unique_id).await;
    assert_eq!(resp.status, 400);
    assert!(resp.body["error"].as_str().unwrap().contains("UniqueID"), "{:?}", resp.body);
    let huge = vec![b'a'; 4096];
    assert_eq!(h.intake.webhook(sign(&huge, "application/x-www-form-urlencoded")).await.status, 413);
    assert_eq!(counts(&h).await, (0, 0, 0));
}

#[tokio::test]
async fn reference_test_vector_verifies_with_the_default_key() {
    let h = Harness::new(&[]).await;
    // The reference vector signs with key `test1` for form 6606394; configure it as the default key.
    let secret = new_secret(&h.sdk, &json!({"api_token": "x", "webhook_hmac_key": "test1"})).await;
    let mut settings = h.intake.settings.clone();
    settings.formstack_secret_id = secret;
    let intake = integration_tests::build_intake(settings, h.db.warehouse.clone(), &h.sdk);
    let body = b"FormID=6606394&UniqueID=1500878955&HandshakeKey=test".to_vec();
    let req = RequestParts {
        method: "POST".into(),
        headers: vec![(
            "x-fs-signature".into(),
            "sha256=30dff7f180b6d69eab397a5d51719474df490b730514c253e8b5832d3b51b970".into(),
        )],
        query: vec![],
        body,
    };
    let resp = intake.webhook(req).await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    // Form 6606394 is not configured: the submission is kept, with its error, for a later remap.
    assert_eq!(resp.body["status"], "stored with mapping error");
    let row = &h.db.rows("SELECT mapping_status, mapping_error, parsed::text FROM integration.raw_submission").await[0];
    assert_eq!(row.get::<_, String>(0), "error");
    assert!(row.get::<_, String>(1).contains("6606394 is not configured"));
    assert!(!row.get::<_, String>(2).contains("HandshakeKey"), "the handshake secret is not carried into parsed data");
}

#[tokio::test]
async fn function_url_event_goes_through_the_lambda_handler() {
    let h = Harness::new(&[]).await;
    let w = build(DEMO_FORM_ID, "1600000020", &demo_fields("Initech"), Format::UrlEncoded, Some(DEMO_HMAC_KEY), None);
    let event = lambda_runtime::LambdaEvent::new(w.function_url_event(), lambda_runtime::Context::default());
    let out = formstack_intake::handle(&h.intake, event).await.expect("handled");
    assert_eq!(out["statusCode"], 200, "{out}");
    let forged = w.with_header("X-FS-Signature", &format!("sha256={}", "0".repeat(64)));
    let event = lambda_runtime::LambdaEvent::new(forged.function_url_event(), lambda_runtime::Context::default());
    let out = formstack_intake::handle(&h.intake, event).await.expect("handled");
    assert_eq!(out["statusCode"], 401, "{out}");
    let n: i64 = h.db.scalar("SELECT count(*) FROM conferences_events.exchange_registration").await;
    assert_eq!(n, 1);
}
