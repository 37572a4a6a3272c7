//! Reliability suite, webhooks (R5): 560 generated Function URL requests (forged,
//! wrong form, unsigned, oversized, malformed form and JSON bodies, invalid UTF-8, NUL,
//! 10,000-character fields, bad base64, base64 and plain bodies) through formstack-intake's
//! Lambda handler: no panic, the right status every time, nothing partial written.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use futures_util::FutureExt;
use integration_tests::Harness;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use vendor_sandbox::{
    fixtures::{DEMO_FORM_ID, DEMO_HMAC_KEY},
    webhook::{Format, SignedWebhook, build, signature},
};

const OTHER_FORM: &str = "7000001";
const OTHER_KEY: &str = "r5-other-key";
const MAX_BYTES: usize = 64 * 1024;

/// One generated request and what it must get.
struct Case {
    kind: &'static str,
    submission_id: String,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    query: String,
    base64: bool,
    /// Replaces the body field of the event (bad base64).
    raw_event_body: Option<String>,
    expect: u16,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn fields(rng: &mut Rng, first: String) -> Vec<(&'static str, Value)> {
    vec![
        ("101", json!({"first": first, "last": rng.pick(&["Ng", "Ortiz", "Patel"])})),
        ("102", json!(rng.pick(&["Acme Inc", "Globex", "Initech", ""]))),
        ("104", json!("r5@example.org")),
        ("106", json!(rng.pick(&["Supplier", "State Member", "Speaker or VIP"]))),
    ]
}

/// A webhook built by the sandbox, delivered base64-encoded without a query string.
fn delivered(kind: &'static str, submission_id: String, w: SignedWebhook, expect: u16) -> Case {
    Case {
        kind,
        submission_id,
        body: w.body,
        headers: w.headers,
        query: String::new(),
        base64: true,
        raw_event_body: None,
        expect,
    }
}

fn signed(kind: &'static str, id: String, body: Vec<u8>, content_type: &str, key: &str, expect: u16) -> Case {
    let headers = vec![("content-type".into(), content_type.into()), ("x-fs-signature".into(), signature(&body, key))];
    delivered(kind, id, SignedWebhook { body, headers }, expect)
}

fn generate() -> Vec<Case> {
    let mut rng = Rng(0x5EED_0005);
    let mut cases = Vec::new();
    for i in 0..40u64 {
        let id = |n: u64| format!("{}", 1_800_000_000 + n * 100 + i);
        let format = if i % 2 == 0 { Format::UrlEncoded } else { Format::Json };
        let name = rng.pick(&["Ava", "Ben", "Zoë", "Renée", "O'Brien"]).to_owned();
        let f = fields(&mut rng, name.clone());
        let valid = build(DEMO_FORM_ID, &id(0), &f, format, Some(DEMO_HMAC_KEY), None);
        cases.push(if i % 4 == 0 {
            delivered("valid, base64 body", id(0), valid, 200)
        } else {
            Case { base64: false, ..delivered("valid, plain body", id(0), valid, 200) }
        });
        let w = build(DEMO_FORM_ID, &id(1), &f, format, Some("not-the-key"), None);
        cases.push(delivered("forged", id(1), w, 401));
        let w = build(DEMO_FORM_ID, &id(2), &f, format, Some(OTHER_KEY), None);
        cases.push(delivered("another form's key", id(2), w, 401));
        let w = build(DEMO_FORM_ID, &id(3), &f, format, None, None);
        cases.push(delivered("unsigned", id(3), w, 401));
        let w = build(DEMO_FORM_ID, &id(4), &f, format, Some(DEMO_HMAC_KEY), None);
        cases.push(Case {
            query: format!("form_id={OTHER_FORM}"),
            ..delivered("query form_id of another form", id(4), w, 401)
        });
        let mut big = f.clone();
        big.push(("103", json!("x".repeat(MAX_BYTES + 10))));
        let w = build(DEMO_FORM_ID, &id(5), &big, format, Some(DEMO_HMAC_KEY), None);
        cases.push(delivered("oversized", id(5), w, 413));
        let junk = format!("this is not a form {i}").into_bytes();
        cases.push(signed("malformed form body", id(6), junk, "application/x-www-form-urlencoded", DEMO_HMAC_KEY, 400));
        let truncated =
            format!("{{\"FormID\": \"{DEMO_FORM_ID}\", \"UniqueID\": \"{}\", \"101\": ", id(7)).into_bytes();
        cases.push(signed("malformed JSON body", id(7), truncated, "application/json", DEMO_HMAC_KEY, 400));
        let mut bad_utf8 = format!("FormID={DEMO_FORM_ID}&UniqueID={}&102=", id(8)).into_bytes();
        bad_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
        cases.push(signed("invalid UTF-8", id(8), bad_utf8, "application/x-www-form-urlencoded", DEMO_HMAC_KEY, 400));
        let nul = fields(&mut rng, format!("{name}\u{0}{i}"));
        let w = build(DEMO_FORM_ID, &id(9), &nul, format, Some(DEMO_HMAC_KEY), None);
        cases.push(delivered("NUL in a field", id(9), w, 200));
        let long = fields(&mut rng, "L".repeat(10_000));
        let w = build(DEMO_FORM_ID, &id(10), &long, format, Some(DEMO_HMAC_KEY), None);
        cases.push(Case { base64: i % 2 == 1, ..delivered("10,000-character field", id(10), w, 200) });
        let no_id = format!("FormID={DEMO_FORM_ID}&101=Jo").into_bytes();
        cases.push(signed("missing UniqueID", id(11), no_id, "application/x-www-form-urlencoded", DEMO_HMAC_KEY, 400));
        let w = build(DEMO_FORM_ID, &id(12), &f, format, Some(DEMO_HMAC_KEY), None);
        cases.push(Case { raw_event_body: Some("%%%not base64%%%".into()), ..delivered("bad base64", id(12), w, 400) });
        let w = build("7000002", &id(13), &f, format, Some(DEMO_HMAC_KEY), None);
        cases.push(delivered("form without a key", id(13), w, 401));
    }
    cases
}

fn event(c: &Case) -> Value {
    let headers: serde_json::Map<String, Value> =
        c.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), json!(v))).collect();
    let body = match (&c.raw_event_body, c.base64) {
        (Some(raw), _) => raw.clone(),
        (None, true) => base64::engine::general_purpose::STANDARD.encode(&c.body),
        (None, false) => String::from_utf8(c.body.clone()).expect("plain bodies are text"),
    };
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": c.query, "headers": headers,
        "requestContext": {
            "accountId": "anonymous", "apiId": "r5", "domainName": "r5.lambda-url.us-east-1.on.aws", "domainPrefix": "r5",
            "requestId": "r5", "routeKey": "$default", "stage": "$default", "time": "22/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795780800000u64,
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "r5"}
        },
        "body": body, "isBase64Encoded": c.base64
    })
}

#[tokio::test]
async fn r5_generated_webhook_requests_get_the_right_status_and_write_nothing_partial() {
    let h = Harness::new(&[("WEBHOOK_MAX_BYTES", &MAX_BYTES.to_string())]).await;
    aws_sdk_secretsmanager::Client::new(&h.sdk)
        .put_secret_value()
        .secret_id(&h.secret_id)
        .secret_string(
            json!({"api_token": "t", "webhook_hmac_keys": {DEMO_FORM_ID: DEMO_HMAC_KEY, OTHER_FORM: OTHER_KEY}})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let cases = generate();
    assert!(cases.len() >= 500, "{}", cases.len());
    let mut per_status: BTreeMap<u16, usize> = BTreeMap::new();
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut panics = 0;
    for c in &cases {
        let ev = LambdaEvent::new(event(c), Context::default());
        let caught = std::panic::AssertUnwindSafe(formstack_intake::handle(&h.intake, ev)).catch_unwind().await;
        let out = match caught {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => panic!("{}: the handler failed: {e}", c.kind),
            Err(_) => {
                panics += 1;
                continue;
            }
        };
        let status = out["statusCode"].as_u64().unwrap() as u16;
        assert_eq!(status, c.expect, "{} ({}): {}", c.kind, c.submission_id, out["body"]);
        *per_status.entry(status).or_default() += 1;
        *per_kind.entry(c.kind).or_default() += 1;
    }
    assert_eq!(panics, 0);
    println!("R5: {} requests; per status {per_status:?}; per kind {per_kind:?}", cases.len());

    // Nothing partial: exactly the accepted submissions are stored, each mapped or with its error.
    let accepted: BTreeSet<String> =
        cases.iter().filter(|c| c.expect == 200).map(|c| c.submission_id.clone()).collect();
    let stored: BTreeSet<String> =
        h.db.rows("SELECT submission_id FROM integration.raw_submission").await.iter().map(|r| r.get(0)).collect();
    assert_eq!(stored, accepted, "raw rows exactly for the 200s");
    let pending: i64 =
        h.db.scalar("SELECT count(*) FROM integration.raw_submission WHERE mapping_status = 'pending'").await;
    assert_eq!(pending, 0, "every stored submission was processed");
    let registrations: BTreeSet<String> =
        h.db.rows("SELECT registration_id FROM conferences_events.exchange_registration")
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(registrations, accepted, "a registration for every accepted submission, none for the others");
    let long: i64 = h
        .db
        .scalar("SELECT count(*) FROM conferences_events.exchange_registration WHERE char_length(first_name) = 10000")
        .await;
    assert_eq!(long, 40, "10,000-character fields are stored whole");
}
