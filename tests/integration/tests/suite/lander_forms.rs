//! Formstack lander forms (flow `lander`): formstack-intake's webhook and pull store their
//! submissions raw first and as leads of the form's lander (every field kept, the core typed),
//! announce the new leads to lead-delivery through the outbox, and lead-delivery delivers them —
//! against a real PostgreSQL, moto and the sandbox over HTTP.

use std::time::Duration;

use integration_tests::{Harness, SEED_LANDER_FORM_SQL, drain_bodies, new_queue};
use platform_aws::{SecretsCache, SqsSender};
use platform_domain::envelope::{Envelope, KIND_LEADS_RECEIVED};
use platform_leads::{Leads, Settings, deliver::Outcome};
use platform_runtime::function_url::RequestParts;
use serde_json::{Value, json};
use vendor_sandbox::{
    fixtures::{self, DEMO_HMAC_KEY, DEMO_LANDER_FORM_ID},
    webhook::{Format, build},
};

async fn harness(overrides: &[(&str, &str)]) -> Harness {
    let h = Harness::new(overrides).await;
    h.db.exec(SEED_LANDER_FORM_SQL).await;
    h
}

fn dana() -> Vec<(&'static str, Value)> {
    vec![
        ("201", json!({"first": "Dana", "last": "Ruiz"})),
        ("202", json!("dana.ruiz@example.org")),
        ("203", json!("(555) 010-3344")),
        ("204", json!("Slipped on a wet floor at a grocery store.")),
        ("206", json!("Search")),
    ]
}

async fn post(h: &Harness, submission_id: &str, fields: &[(&str, Value)]) -> Value {
    let w = build(DEMO_LANDER_FORM_ID, submission_id, fields, Format::UrlEncoded, Some(DEMO_HMAC_KEY), None);
    let answer = h
        .intake
        .webhook(RequestParts {
            method: "POST".into(),
            headers: w.headers.clone(),
            query: vec![],
            body: w.body.clone(),
        })
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

/// The lead ids announced on the lead-delivery queue (one lead per message).
async fn announced(h: &Harness, queue: &str) -> Vec<String> {
    let mut ids: Vec<String> = drain_bodies(&h.sdk, queue)
        .await
        .iter()
        .flat_map(|b| {
            let env = Envelope::parse(b, &[KIND_LEADS_RECEIVED]).expect("a leads.received envelope");
            assert_eq!(env.ids.len(), 1, "one lead per message");
            env.ids
        })
        .collect();
    ids.sort();
    ids
}

async fn lead_ids(h: &Harness) -> Vec<String> {
    h.db.rows("SELECT id::text FROM leads.lead ORDER BY id").await.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn a_lander_webhook_and_the_pull_of_the_same_form_make_each_submission_one_lead() {
    let h = harness(&[]).await;
    let first = post(&h, "1700000001", &dana()).await;
    assert_eq!(first["status"], "accepted", "{first}");
    assert_eq!(post(&h, "1700000001", &dana()).await["status"], "duplicate");

    let lead = &h
        .db
        .rows(
            "SELECT lander_id, source, source_id, first_name, last_name, email, phone, fields, is_test, id::text
               FROM leads.lead",
        )
        .await;
    assert_eq!(lead.len(), 1, "the replay stored no second lead");
    let lead = &lead[0];
    assert_eq!(
        (lead.get::<_, String>(0), lead.get::<_, String>(1), lead.get::<_, String>(2)),
        ("demo-slip-lp".into(), "formstack".into(), "1700000001".into())
    );
    let core: Vec<Option<String>> = (3..7).map(|i| lead.get(i)).collect();
    assert_eq!(
        core,
        vec![
            Some("Dana".into()),
            Some("Ruiz".into()),
            Some("dana.ruiz@example.org".into()),
            Some("(555) 010-3344".into())
        ],
        "the core fields typed"
    );
    assert_eq!(
        lead.get::<_, Value>(7),
        json!({"first_name": "Dana", "last_name": "Ruiz", "email": "dana.ruiz@example.org", "phone": "(555) 010-3344",
               "details": "Slipped on a wet floor at a grocery store.", "206": "Search"}),
        "every field kept: the mapped ones by their lead field name, the unmapped one by its Formstack id"
    );
    assert!(!lead.get::<_, bool>(8));
    let webhook_lead: String = lead.get(9);
    assert_eq!(announced(&h, &h.lead_queue_url).await, vec![webhook_lead.clone()], "announced once");
    assert!(drain_bodies(&h.sdk, &h.queue_url).await.is_empty(), "a lead is no registration for company-dedupe");
    let raw = h.db.rows("SELECT mapping_status FROM integration.raw_submission").await;
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0].get::<_, String>(0), "mapped");

    // The pull brings the form's three submissions, one of them the webhook's: two new leads.
    let report = h.intake.pull("test", false).await.unwrap();
    let lander = report.forms.iter().find(|f| f.form_id == DEMO_LANDER_FORM_ID).expect("the lander form pulled");
    assert_eq!((lander.submissions, lander.report.leads, lander.report.unchanged), (3, 2, 1), "{lander:?}");
    let registrations = report.forms.iter().find(|f| f.form_id == fixtures::DEMO_FORM_ID).unwrap();
    assert_eq!(registrations.report.leads, 0, "the registration form's submissions are no leads");
    // The lander form's labels, from its definition, for the people reading its spreadsheets.
    let labels: Vec<(String, String)> =
        h.db.rows("SELECT field_id, label FROM integration.form_field_label WHERE form_id = '5211430' ORDER BY 1")
            .await
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    assert_eq!(labels.len(), 6, "{labels:?}");
    assert_eq!(labels[5], ("206".into(), "How did you hear about us?".into()));
    let definitions = h.sandbox.requests().await.iter().filter(|r| r.path == "/api/v2/form/5211430.json").count();
    h.intake.pull("test", false).await.unwrap();
    let again = h.sandbox.requests().await.iter().filter(|r| r.path == "/api/v2/form/5211430.json").count();
    assert_eq!((definitions, again), (1, 1), "read at most daily");
    let ids = lead_ids(&h).await;
    assert_eq!(ids.len(), 3);
    let mut expected: Vec<String> = ids.iter().filter(|i| **i != webhook_lead).cloned().collect();
    expected.sort();
    assert_eq!(announced(&h, &h.lead_queue_url).await, expected, "only the new leads announced");
    let kept =
        h.db.rows(
            "SELECT mapping_status, mapping_error FROM integration.raw_submission
              WHERE form_id = '5211430' AND submission_id = '1700000001' AND source = 'pull'",
        )
        .await;
    assert_eq!(kept[0].get::<_, String>(0), "superseded", "the pulled copy is kept raw");
    assert!(kept[0].get::<_, String>(1).contains("delivered as it first arrived"));
    let fields: Value = h.db.scalar("SELECT fields FROM leads.lead WHERE source_id = '1700000002'").await;
    assert_eq!(fields["first_name"], "Lee");
    assert_eq!(fields["phone"], "555.010.5566");
    let received: String = h
        .db
        .scalar("SELECT to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM leads.lead WHERE source_id = '1700000002'")
        .await;
    assert_eq!(received, "2026-11-03 16:40", "a pulled lead is dated by its submission time (account time zone)");

    // A second pull changes nothing and announces nothing.
    let again = h.intake.pull("test", false).await.unwrap();
    let lander = again.forms.iter().find(|f| f.form_id == DEMO_LANDER_FORM_ID).unwrap();
    assert_eq!(lander.report.leads, 0);
    assert_eq!(lead_ids(&h).await.len(), 3);
    assert!(announced(&h, &h.lead_queue_url).await.is_empty());
}

#[tokio::test]
async fn lander_submissions_that_cannot_be_leads_are_kept_with_the_reason_and_remapped_after_a_fix() {
    let h = harness(&[]).await;
    // A required field left blank: stored raw with the reason, no lead.
    let mut no_phone = dana();
    no_phone.retain(|(k, _)| *k != "203");
    assert_eq!(post(&h, "1790000001", &no_phone).await["status"], "stored with mapping error");
    // The lander switched off its form: no lander to take the lead.
    h.db.exec("UPDATE leads.lander SET formstack_form_id = NULL WHERE id = 'demo-slip-lp'").await;
    assert_eq!(post(&h, "1790000002", &dana()).await["status"], "stored with mapping error");
    let errors: Vec<(String, String)> = h
        .db
        .rows("SELECT submission_id, mapping_error FROM integration.raw_submission WHERE mapping_status = 'error' ORDER BY submission_id")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(errors.len(), 2);
    assert!(errors[0].1.contains("required field 203 (phone) is blank"), "{errors:?}");
    assert!(errors[1].1.contains("no enabled leads.lander has formstack_form_id = '5211430'"), "{errors:?}");
    assert!(lead_ids(&h).await.is_empty());
    assert!(announced(&h, &h.lead_queue_url).await.is_empty());

    // Fixed: the remap makes the second a lead (and announces it); the first still lacks a phone.
    h.db.exec("UPDATE leads.lander SET formstack_form_id = '5211430' WHERE id = 'demo-slip-lp'").await;
    let report = h.intake.remap(true, Some(DEMO_LANDER_FORM_ID)).await.unwrap();
    assert_eq!((report.leads, report.mapping_errors), (1, 1), "{report:?}");
    let ids = lead_ids(&h).await;
    assert_eq!(ids.len(), 1);
    assert_eq!(announced(&h, &h.lead_queue_url).await, ids);
    let source: String = h.db.scalar("SELECT source_id FROM leads.lead").await;
    assert_eq!(source, "1790000002");

    // A form configured with a flow the platform does not know is refused by the database.
    let conn = h.db.warehouse.conn().await.unwrap();
    let refused =
        conn.execute("UPDATE integration.form_config SET flow = 'newsletter' WHERE form_id = '5211430'", &[]).await;
    assert!(refused.is_err(), "the flow CHECK allows registration and lander only");
}

#[tokio::test]
async fn a_formstack_lead_is_delivered_by_lead_delivery_even_when_intake_could_not_announce_it() {
    // formstack-intake without a lead queue: the lead waits in the outbox for lead-delivery's
    // scheduled refresh, which sends it.
    let h = harness(&[("LEAD_QUEUE_URL", "")]).await;
    h.sandbox.load_leads(fixtures::leads_demo_fixture()).await;
    h.db.exec(&format!(
        "UPDATE leads.integration SET endpoint = regexp_replace(endpoint, '^https?://[^/]+', '{}')",
        h.sandbox.url
    ))
    .await;
    assert_eq!(post(&h, "1700000009", &dana()).await["status"], "accepted");
    let unsent: i64 =
        h.db.scalar("SELECT count(*) FROM integration.outbox WHERE kind = 'leads.received' AND sent_at IS NULL").await;
    assert_eq!(unsent, 1, "kept for later, not lost");

    let queue = new_queue(&h.sdk, "lead-delivery").await;
    let leads = Leads::new(
        h.db.warehouse.clone(),
        SecretsCache::new(aws_sdk_secretsmanager::Client::new(&h.sdk), Duration::from_secs(60)),
        Some(SqsSender::new(aws_sdk_sqs::Client::new(&h.sdk))),
        None,
        None,
        Settings {
            queue_url: Some(queue.clone()),
            endpoint_keys_secret: None,
            timeout: Duration::from_secs(5),
            claim: Duration::from_secs(5),
            email_from: None,
            bucket: None,
            team_email: None,
            vendor_concurrency: 2,
            secret_prefix: None,
        },
    )
    .unwrap();
    leads.refresh_states().await.unwrap();
    let ids = announced(&h, &queue).await;
    assert_eq!(ids.len(), 1, "the refresh swept the outbox");
    let env = Envelope::batch(KIND_LEADS_RECEIVED, &ids, "test").remove(0);
    let outcomes = leads.handle(&env).await.unwrap();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].1, "demo-slip-captorra");
    assert!(matches!(outcomes[0].2, Outcome::Delivered { .. }), "{outcomes:?}");

    let posts: Vec<Value> = h
        .sandbox
        .requests()
        .await
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/api/captorraapi/create"))
        .map(|r| serde_json::from_str(&r.body).expect("Captorra takes JSON"))
        .collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["First"], "Dana");
    assert_eq!(posts[0]["Primary"], "5550103344");
    assert_eq!(posts[0]["Details"], "Slipped on a wet floor at a grocery store.");
    assert_eq!(posts[0]["ID"], ids[0]);
}
