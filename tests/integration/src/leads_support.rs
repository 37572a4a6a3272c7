//! The lead-delivery harness the lead suite and the chaos run share.

use std::time::Duration;

use crate::{TestDb, aws, drain_bodies, new_queue, new_secret};
use platform_aws::{SecretsCache, SqsSender};
use platform_domain::envelope::Envelope;
use platform_leads::{KIND_LEADS_RECEIVED, Leads, Settings};
use platform_runtime::function_url::RequestParts;
use serde_json::{Value, json};
use vendor_sandbox::{Sandbox, leads::LeadIntakeFixture};

pub const REFERRER: &str = "6F9619FF-8B86-D011-B42D-00C04FC964FF";
pub const ICE_REFERRER: &str = "0E984725-C51C-4BF4-9960-E1C80E27ABA0";
pub const LANDER_KEY: &str = "lander-key-for-tests";

/// A lead-delivery service over its own warehouse, queue, bucket, secrets and the sandbox, with
/// one client, one lander and four integrations (Captorra, ICE, IntakeDesk, a signed webhook).
pub struct H {
    pub contact: String,
    pub team: String,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub db: TestDb,
    pub sandbox: Sandbox,
    pub sdk: aws_config::SdkConfig,
    pub queue: String,
    pub leads: Leads,
    pub settings: Settings,
}

/// The harness.
pub async fn harness() -> H {
    let db = TestDb::new().await;
    let sandbox = Sandbox::start_local().await.unwrap();
    sandbox
        .load_leads(LeadIntakeFixture {
            captorra: vec![("123456".into(), REFERRER.into())],
            ice_referrers: vec![ICE_REFERRER.into()],
            ..Default::default()
        })
        .await;
    let sdk = aws().await;
    let queue = new_queue(&sdk, "leads").await;
    let keys = new_secret(&sdk, &json!({"accident-lp": LANDER_KEY})).await;
    let webhook_secret =
        new_secret(&sdk, &json!({"hmac_key": "webhook-signing-key", "token": "client-api-token"})).await;
    let url = &sandbox.url;
    // A contact of this test's own: moto's SES keeps every test's messages together.
    let contact = format!("intake+{}@smith-law.example", uuid::Uuid::new_v4().simple());
    let ses = platform_aws::ses::Client::new(&sdk);
    let team = format!("dev+{}@agency.example", uuid::Uuid::new_v4().simple());
    let bucket = format!("leads-{}", uuid::Uuid::new_v4().simple());
    let s3 = platform_aws::s3::client(&sdk, true);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    ses.create_email_identity().email_identity("leads@agency.example").send().await.unwrap();
    db.exec(&format!(
        "INSERT INTO leads.client (id, name, contact_email) VALUES ('smith-law', 'Smith Law', '{contact}');
         INSERT INTO leads.lander (id, name, client_id) VALUES ('accident-lp', 'Car accident lander', 'smith-law');
         INSERT INTO leads.integration (id, lander_id, client_id, parser, endpoint, secret_id, mapping, constants, options, contact_email) VALUES
          ('smith-captorra', 'accident-lp', 'smith-law', 'captorra', '{url}/api/captorraapi/create', NULL,
           '{{\"First\": {{\"field\": \"first_name\", \"transform\": [\"trim\", \"title\"]}}, \"Last\": \"last_name\",
              \"Primary\": {{\"field\": \"phone\", \"transform\": \"digits\"}}, \"Email\": \"email\", \"Details\": \"details\", \"ID\": \"lead_id\"}}',
           '{{\"CaptorraId\": \"123456\", \"Referrer\": \"{REFERRER}\"}}', '{{}}', '{contact}'),
          ('smith-ice', 'accident-lp', 'smith-law', 'ice', '{url}/api/iceapi/create', NULL,
           '{{\"First\": \"first_name\", \"Last\": \"last_name\", \"ID\": \"lead_id\"}}', '{{\"Referrer\": \"{ICE_REFERRER}\"}}', '{{}}',
           '{contact}'),
          ('smith-intakedesk', 'accident-lp', 'smith-law', 'intakedesk', '{url}/intakedesk/camp-7', NULL,
           '{{\"first\": \"first_name\", \"last\": \"last_name\", \"phone\": \"phone\"}}', '{{\"campaign\": \"camp-7\"}}', '{{\"body\": \"form\"}}',
           '{contact}'),
          ('smith-webhook', 'accident-lp', 'smith-law', 'webhook', '{url}/webhook-receiver/smith', '{webhook_secret}',
           '{{\"name\": \"first_name\", \"surname\": \"last_name\"}}', '{{}}',
           '{{\"headers\": {{\"Authorization\": \"secret:token\", \"X-Source\": \"platform\"}}, \"signature\": {{\"header\": \"X-Signature\"}}}}',
           '{contact}');"
    ))
    .await;
    let secrets = SecretsCache::new(aws_sdk_secretsmanager::Client::new(&sdk), Duration::from_secs(60));
    let settings = Settings {
        queue_url: Some(queue.clone()),
        endpoint_keys_secret: Some(keys),
        timeout: Duration::from_secs(2),
        claim: Duration::from_secs(1),
        email_from: Some("leads@agency.example".into()),
        bucket: Some(bucket.clone()),
        team_email: Some(team.clone()),
        vendor_concurrency: 4,
        secret_prefix: None,
    };
    let leads = service(&db, &sdk, secrets, settings.clone());
    leads.refresh_states().await.unwrap();
    H { contact, team, s3, bucket, db, sandbox, sdk, queue, leads, settings }
}

/// The service over `db` with `settings`.
pub fn service(db: &TestDb, sdk: &aws_config::SdkConfig, secrets: SecretsCache, settings: Settings) -> Leads {
    Leads::new(
        db.warehouse.clone(),
        secrets,
        Some(SqsSender::new(aws_sdk_sqs::Client::new(sdk))),
        Some(platform_aws::ses::Client::new(sdk)),
        Some(platform_aws::s3::client(sdk, true)),
        settings,
    )
    .unwrap()
}

/// A request signed by `lander` with `key`.
pub fn signed(lander: &str, key: &str, body: &Value) -> RequestParts {
    crate::signed_request("X-Lander-Id", lander, key, body)
}

impl H {
    /// Posts a lead through the endpoint; its id.
    pub async fn post(&self, id: &str, fields: Value) -> i64 {
        let a = self.leads.receive(signed("accident-lp", LANDER_KEY, &json!({"lead_id": id, "fields": fields}))).await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["lead"].as_i64().unwrap()
    }

    /// Delivers what the queue holds, as the event source would; the bodies it delivered.
    pub async fn deliver_queue(&self) -> Vec<String> {
        let bodies = drain_bodies(&self.sdk, &self.queue).await;
        for b in &bodies {
            let env = Envelope::parse(b, &[KIND_LEADS_RECEIVED]).unwrap();
            let _ = self.leads.handle(&env).await;
        }
        bodies
    }

    /// A delivery's status and reason.
    pub async fn status(&self, lead: i64, integration: &str) -> (String, Option<String>) {
        let r = &self
            .db
            .rows(&format!(
                "SELECT status, reason FROM leads.delivery WHERE lead_id = {lead} AND integration_id = '{integration}'"
            ))
            .await[0];
        (r.get(0), r.get(1))
    }
}

/// A lead's fields.
pub fn ada() -> Value {
    json!({"first_name": "  ada ", "last_name": "Lovelace", "email": "ada@example.org", "phone": "(555) 010-0199",
           "details": "Rear-ended on 3 Nov."})
}
