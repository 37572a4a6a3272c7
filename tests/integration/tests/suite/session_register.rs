//! Two-way session registration (session-register) against the sandbox's Lenos over HTTP, a
//! real PostgreSQL and moto: signed requests only, local checks before Lenos, Lenos's answer and
//! nothing else, idempotency by request id, every attempt recorded, through the Lambda handler.

use std::time::{Duration, Instant};

use integration_tests::connector_support::{ConnectorHarness, LENOS_CONNECTION};
use integration_tests::hostile;
use platform_aws::SecretsCache;
use platform_connectors::register::{RegisterAnswer, Registrar};
use platform_runtime::function_url::RequestParts;
use serde_json::{Value, json};
use vendor_sandbox::fixtures;

const APP: &str = "event-app";
const KEY: &str = "app-key-for-tests";

struct Setup {
    h: ConnectorHarness,
    registrar: Registrar,
}

async fn setup(token: bool) -> Setup {
    let mut fixture = fixtures::lenos_demo_fixture();
    fixture.switches.token_auth = token;
    let h = ConnectorHarness::lenos(fixture, json!({})).await;
    for stream in ["participants", "sessions"] {
        h.pull(stream).await;
    }
    let keys = integration_tests::new_secret(&h.sdk, &json!({APP: KEY, "other-app": "other-key"})).await;
    h.db.exec(&format!("INSERT INTO connector.register_app (app, connection) VALUES ('{APP}', '{LENOS_CONNECTION}')"))
        .await;
    let secrets = SecretsCache::new(aws_sdk_secretsmanager::Client::new(&h.sdk), Duration::from_secs(60));
    let registrar = Registrar::new(h.db.warehouse.clone(), secrets, keys).unwrap();
    Setup { h, registrar }
}

fn signed(app: &str, key: &str, body: &Value) -> RequestParts {
    integration_tests::signed_request("X-App-Id", app, key, body)
}

impl Setup {
    async fn ask(&self, person: &str, session: &str, request_id: &str) -> RegisterAnswer {
        let body = json!({"person_id": person, "session_id": session, "request_id": request_id});
        self.registrar.handle(signed(APP, KEY, &body)).await
    }

    async fn lenos_calls(&self) -> u64 {
        self.h.sandbox.state.lenos.lock().await.register_calls
    }

    async fn switches(&self, f: impl FnOnce(&mut vendor_sandbox::lenos::LenosSwitches)) {
        f(&mut self.h.sandbox.state.lenos.lock().await.fixture.as_mut().unwrap().switches);
    }
}

#[tokio::test]
async fn only_lenoss_confirmation_confirms_and_a_repeat_never_asks_again() {
    let s = setup(false).await;
    platform_runtime::metrics::capture();
    let a = s.ask("p6", "s6", "r-1").await;
    assert_eq!((a.status, a.body["answer"].as_str()), (200, Some("confirmed")), "{}", a.body);
    let m = &integration_tests::emf("session-register", "register")[0];
    assert_eq!((m["Delivered"].as_u64(), m["VendorCalls"].as_u64()), (Some(1), Some(1)), "{m}");
    assert_eq!(m["VendorLatency"].as_array().map(Vec::len), Some(1), "{m}");
    assert_eq!(a.body["registration_id"], "reg-p6-s6");
    // The registrations table agrees at once.
    let row: (String, String) = {
        let r =
            &s.h.db.rows("SELECT fp_status, parent_ext_id FROM connector.schedule WHERE fp_ext_id = 'p6/s6'").await[0];
        (r.get(0), r.get(1))
    };
    assert_eq!(row, ("active".into(), "p6".into()));
    // A repeat gets the recorded answer; Lenos is not asked again.
    let calls = s.lenos_calls().await;
    let again = s.ask("p6", "s6", "r-1").await;
    assert_eq!(
        (again.status, again.body["answer"].as_str(), again.body["repeated"].as_bool()),
        (200, Some("confirmed"), Some(true))
    );
    assert_eq!(s.lenos_calls().await, calls);
    // The next pull of registrations finds the same row unchanged.
    let pulled = s.h.pull("registrations").await;
    let changed: String =
        s.h.db.scalar("SELECT changed_by_run::text FROM connector.schedule WHERE fp_ext_id = 'p6/s6'").await;
    assert_ne!(changed, pulled.run_id.to_string(), "the pull did not rewrite the confirmed registration");

    // Refusals carry Lenos's reason, as 409 or inside a 200.
    let full = s.ask("p1", "s3", "r-2").await;
    assert_eq!(
        (full.status, full.body["answer"].as_str(), full.body["reason"].as_str()),
        (200, Some("refused"), Some("Full"))
    );
    let conflict = s.ask("p1", "s2", "r-3").await;
    assert_eq!(conflict.body["reason"], "Conflict", "{}", conflict.body);
    s.switches(|w| w.refusal_in_200 = true).await;
    let closed = s.ask("p6", "s4", "r-4").await;
    assert_eq!((closed.body["answer"].as_str(), closed.body["reason"].as_str()), (Some("refused"), Some("Closed")));
    let ineligible = s.ask("p3", "s6", "r-5").await;
    assert_eq!(ineligible.body["reason"], "NotEligible", "{}", ineligible.body);
    let refused_rows: i64 =
        s.h.db
            .scalar("SELECT count(*) FROM connector.schedule WHERE fp_ext_id IN ('p1/s3', 'p1/s2', 'p6/s4', 'p3/s6')")
            .await;
    assert_eq!(refused_rows, 0, "a refusal writes no registration");

    // Every attempt is recorded with Lenos's time.
    let attempts: Vec<(String, Option<String>, Option<i32>)> =
        s.h.db
            .rows("SELECT answer, reason, lenos_ms FROM connector.register_attempt ORDER BY id")
            .await
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    assert_eq!(attempts.len(), 5, "the repeat is answered from the record, not attempted: {attempts:?}");
    assert!(attempts.iter().all(|(_, _, ms)| ms.is_some()));
}

#[tokio::test]
async fn unknown_people_and_sessions_are_answered_locally_and_no_answer_is_never_success() {
    let s = setup(false).await;
    let a = s.ask("p404", "s404", "u-1").await;
    assert_eq!((a.status, a.body["answer"].as_str()), (404, Some("unknown")));
    assert_eq!(a.body["unknown"], json!(["person", "session"]));
    let b = s.ask("p1", "s404", "u-2").await;
    assert_eq!(b.body["unknown"], json!(["session"]), "a session that is not synced: {}", b.body);
    assert_eq!(s.lenos_calls().await, 0, "Lenos is not called for what is not synced");

    // Slow, 5xx, 429: try_again, nothing written, quickly.
    s.h.db.exec("UPDATE connector.connection SET settings = settings || '{\"register_timeout_seconds\": 0.5}'").await;
    s.switches(|w| w.latency_ms = 1500).await;
    let t = Instant::now();
    let slow = s.ask("p6", "s6", "t-1").await;
    assert_eq!((slow.status, slow.body["answer"].as_str()), (503, Some("try_again")), "{}", slow.body);
    assert!(t.elapsed() < Duration::from_millis(1400), "answered at the register timeout, not Lenos's pace");
    let written: i64 = s.h.db.scalar("SELECT count(*) FROM connector.schedule WHERE fp_ext_id = 'p6/s6'").await;
    assert_eq!(written, 0, "no confirmation, no registration");
    for status in [503u16, 500, 429] {
        s.switches(|w| {
            w.latency_ms = 0;
            w.fail_status = Some(status);
        })
        .await;
        let a = s.ask("p2", "s6", &format!("f-{status}")).await;
        assert_eq!(a.body["answer"], "try_again", "{status}: {}", a.body);
    }
    // Lenos did register the slow one after we stopped waiting: asking again (same request id)
    // gets its confirmation.
    s.switches(|w| w.fail_status = None).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let retried = s.ask("p6", "s6", "t-1").await;
    assert_eq!((retried.body["answer"].as_str(), retried.body["repeated"].as_bool()), (Some("confirmed"), Some(false)));
    let attempts: i32 = s.h.db.scalar("SELECT attempts FROM connector.register_request WHERE request_id = 't-1'").await;
    assert_eq!(attempts, 2);
}

#[tokio::test]
async fn only_signed_requests_of_enabled_apps_are_taken() {
    let s = setup(false).await;
    let body = json!({"person_id": "p6", "session_id": "s6", "request_id": "a-1"});
    let mut unsigned = signed(APP, KEY, &body);
    unsigned.headers.retain(|(k, _)| k != "X-Signature");
    let cases: Vec<(RequestParts, u16)> = vec![
        (unsigned, 401),
        (signed(APP, "wrong-key", &body), 401),
        (signed("nobody", KEY, &body), 401),
        (signed("other-app", "other-key", &body), 403),
        (RequestParts { method: "GET".into(), ..signed(APP, KEY, &body) }, 405),
        (signed(APP, KEY, &json!({"person_id": "p6"})), 400),
        (signed(APP, KEY, &json!({"person_id": "", "session_id": "s6", "request_id": "x"})), 400),
        (
            signed(
                APP,
                KEY,
                &json!({"person_id": "p6", "session_id": "s6", "request_id": "a-2", "action": "unregister"}),
            ),
            501,
        ),
        (RequestParts { method: "DELETE".into(), ..signed(APP, KEY, &body) }, 501),
        (
            signed(
                APP,
                KEY,
                &json!({"person_id": "p6", "session_id": "s6", "request_id": "x", "pad": "y".repeat(9000)}),
            ),
            413,
        ),
    ];
    for (i, (req, status)) in cases.into_iter().enumerate() {
        let a = s.registrar.handle(req).await;
        assert_eq!(a.status, status, "case {i}: {}", a.body);
        assert!(a.body["error"].as_str().is_some_and(|e| !e.is_empty()), "case {i}: {}", a.body);
    }
    // Ids that are not plain printable text (the hostile values every entry point is fed).
    for id in hostile::IDS {
        for (field, ask) in [
            ("request_id", json!({"person_id": "p6", "session_id": "s6", "request_id": id})),
            ("person_id", json!({"person_id": id, "session_id": "s6", "request_id": "h-1"})),
            ("session_id", json!({"person_id": "p6", "session_id": id, "request_id": "h-2"})),
        ] {
            let a = s.registrar.handle(signed(APP, KEY, &ask)).await;
            assert_eq!(a.status, 400, "{field} {id:?}: {}", a.body);
            assert_eq!(a.body["error"], format!("{field} must be 1 to 200 printable characters"));
        }
    }
    assert_eq!(s.lenos_calls().await, 0);
    let recorded: i64 = s.h.db.scalar("SELECT count(*) FROM connector.register_request").await;
    assert_eq!(recorded, 0, "nothing refused is recorded as a request");

    // A request id is one question: reusing it for another session is refused.
    assert_eq!(s.ask("p6", "s6", "same").await.body["answer"], "confirmed");
    let reused = s.ask("p6", "s1", "same").await;
    assert_eq!(reused.status, 409, "{}", reused.body);
}

#[tokio::test]
async fn token_mode_logs_in_once_and_again_after_a_401() {
    let s = setup(true).await;
    let logins = || async { s.h.sandbox.requests().await.iter().filter(|r| r.path.ends_with("/login")).count() };
    let before = logins().await;
    assert_eq!(s.ask("p6", "s6", "k-1").await.body["answer"], "confirmed");
    assert_eq!(s.ask("p1", "s6", "k-2").await.body["answer"], "confirmed");
    assert_eq!(logins().await, before + 1, "the token is reused");
    s.h.sandbox.state.lenos.lock().await.expire_tokens();
    assert_eq!(s.ask("p2", "s6", "k-3").await.body["answer"], "confirmed");
    assert_eq!(logins().await, before + 2, "logged in again once after the 401");
}

#[tokio::test]
async fn the_lambda_handler_answers_function_url_requests() {
    let s = setup(false).await;
    let body = json!({"person_id": "p6", "session_id": "s6", "request_id": "l-1"}).to_string();
    let sig = platform_domain::signature::sign(body.as_bytes(), KEY);
    let mut event: Value =
        serde_json::from_str(include_str!("../../../../events/session-register/register.json")).unwrap();
    event["headers"]["x-app-id"] = json!(APP);
    event["headers"]["x-signature"] = json!(sig);
    event["body"] = json!(body);
    let ctx = lambda_runtime::Context::default();
    let out = session_register::handle(&s.registrar, lambda_runtime::LambdaEvent::new(event, ctx)).await.unwrap();
    assert_eq!(out["statusCode"], 200, "{out}");
    let answer: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(answer["answer"], "confirmed");
    let err = session_register::handle(
        &s.registrar,
        lambda_runtime::LambdaEvent::new(json!({"action": "plan"}), lambda_runtime::Context::default()),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("Function URL"), "{err}");
}

#[tokio::test]
async fn two_copies_of_one_request_at_once_ask_lenos_once() {
    let s = setup(false).await;
    s.switches(|w| w.latency_ms = 300).await;
    let (a, b) = tokio::join!(s.ask("p6", "s6", "twin"), s.ask("p6", "s6", "twin"));
    let mut answers = [a.body["repeated"].as_bool(), b.body["repeated"].as_bool()];
    answers.sort();
    assert_eq!((a.body["answer"].as_str(), b.body["answer"].as_str()), (Some("confirmed"), Some("confirmed")));
    assert_eq!(answers, [Some(false), Some(true)], "one asked Lenos, the other waited and read its answer");
    assert_eq!(s.lenos_calls().await, 1);

    // A twin that waits longer than the lock wait is told to try again, never a second call.
    s.switches(|w| w.latency_ms = 1600).await;
    let (a, b) = tokio::join!(s.ask("p1", "s6", "slow-twin"), s.ask("p1", "s6", "slow-twin"));
    let mut got = [a.body["answer"].as_str().unwrap().to_owned(), b.body["answer"].as_str().unwrap().to_owned()];
    got.sort();
    assert_eq!(got, ["confirmed", "try_again"]);
    assert_eq!(s.lenos_calls().await, 2);
}
