//! The sample events in `events/formstack-intake/` do what their names say, through the handler.

use integration_tests::{Harness, SEED_LANDER_FORM_SQL};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

fn event(name: &str) -> LambdaEvent<Value> {
    let path = format!("{}/../../events/formstack-intake/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    LambdaEvent::new(serde_json::from_str(&text).unwrap(), Context::default())
}

#[tokio::test]
async fn every_sample_event_is_handled_as_documented() {
    let h = Harness::new(&[]).await;
    h.db.exec(SEED_LANDER_FORM_SQL).await;
    for (file, status) in [
        ("webhook-forged.json", 401),
        ("webhook-unsigned.json", 401),
        ("webhook-valid.json", 200),
        ("webhook-valid.json", 200),
        ("webhook-lander.json", 200),
    ] {
        let out = formstack_intake::handle(&h.intake, event(file)).await.unwrap();
        assert_eq!(out["statusCode"], status, "{file}: {out}");
    }
    let n: i64 = h
        .db
        .scalar("SELECT count(*) FROM conferences_events.exchange_registration WHERE registration_id = '1500000200'")
        .await;
    assert_eq!(n, 1, "the valid webhook landed once");
    let lead: String =
        h.db.scalar("SELECT lander_id || ' ' || first_name FROM leads.lead WHERE source_id = '1700000010'").await;
    assert_eq!(lead, "demo-slip-lp Morgan", "the lander form's webhook became a lead");

    let out = formstack_intake::handle(&h.intake, event("schedule.json")).await.unwrap();
    assert_eq!(out["forms"][0]["inserted"], 15, "{out}");
    let out = formstack_intake::handle(&h.intake, event("resync.json")).await.unwrap();
    assert_eq!(out["forms"][0]["inserted"], 0, "{out}");
    assert_eq!(out["forms"][0]["updated"], 0, "{out}");
    let out = formstack_intake::handle(&h.intake, event("remap.json")).await.unwrap();
    assert_eq!(out["counts"]["failed"], 1, "the bad-meetings submission still fails: {out}");
    let out = formstack_intake::handle(&h.intake, event("publish.json")).await.unwrap();
    assert_eq!(out["published"], 0, "everything was already sent: {out}");
    let unknown = LambdaEvent::new(serde_json::json!({"action": "explode"}), Context::default());
    assert!(formstack_intake::handle(&h.intake, unknown).await.is_err());
}
