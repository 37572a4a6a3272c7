//! connector-pull test support: the sandbox's Aventri, Lenos or Cvent demo event (at a test-friendly rate), its
//! credentials in moto's Secrets Manager, a bucket and a queue, a connection with every stream,
//! and the service wired to all of them.

use std::time::Duration;

use aws_config::SdkConfig;
use platform_aws::{SecretsCache, SqsSender};
use platform_connectors::{Connectors, PullReport, Settings};
use platform_runtime::Deadline;
use serde_json::{Value, json};
use vendor_sandbox::{AventriFixture, Sandbox, fixtures};

use crate::{TestDb, aws, new_queue, new_secret};

/// The connection's name in tests.
pub const CONNECTION: &str = "test-aventri";
/// The Lenos connection's name in tests.
pub const LENOS_CONNECTION: &str = "test-lenos";
/// The Cvent connection's name in tests.
pub const CVENT_CONNECTION: &str = "test-cvent";

/// Everything a connector test needs.
pub struct ConnectorHarness {
    /// The database.
    pub db: TestDb,
    /// The sandbox.
    pub sandbox: Sandbox,
    /// moto.
    pub sdk: SdkConfig,
    /// The service.
    pub service: Connectors,
    /// The connection pulled by [`pull`](Self::pull).
    pub connection: &'static str,
    /// Its queue.
    pub queue_url: String,
    /// Its bucket.
    pub bucket: String,
    /// S3.
    pub s3: aws_sdk_s3::Client,
}

/// The demo fixture at 6,000 requests a minute (tests do not wait on the production rate).
pub fn fast_fixture() -> AventriFixture {
    let mut f = fixtures::aventri_demo_fixture();
    f.rate_per_minute = 6000;
    f
}

impl ConnectorHarness {
    /// A harness over `fixture`, with the connection's `settings` and its stream rows.
    pub async fn new(fixture: AventriFixture, settings: Value) -> ConnectorHarness {
        let db = TestDb::new().await;
        let sandbox = Sandbox::start_local().await.unwrap();
        sandbox.load_aventri(fixture).await;
        let (sdk, queue_url, bucket, s3) = aws_parts().await;
        let secret = new_secret(
            &sdk,
            &json!({"endPoint": format!("{}/", sandbox.aventri_endpoint()), "accountid": fixtures::AVENTRI_ACCOUNT,
                    "key": fixtures::AVENTRI_KEY, "eventid": fixtures::AVENTRI_EVENT,
                    "personPhotoEndpoint": format!("{}/image.php?acc={{accountid}}&id={{id}}", sandbox.url),
                    "presenterPhotoEndpoint": format!("{}/image.php?acc={}&id=", sandbox.url, fixtures::AVENTRI_ACCOUNT)}),
        )
        .await;
        add_connection(&db, CONNECTION, "aventri", &secret, settings).await;
        ConnectorHarness::wire(db, sandbox, sdk, queue_url, bucket, s3, CONNECTION)
    }

    /// A harness over a Lenos `fixture` (basic or token mode as its switches say), with the
    /// connection [`LENOS_CONNECTION`] and every Lenos stream.
    pub async fn lenos(fixture: vendor_sandbox::LenosFixture, settings: Value) -> ConnectorHarness {
        let db = TestDb::new().await;
        let sandbox = Sandbox::start_local().await.unwrap();
        let token = fixture.switches.token_auth;
        sandbox.load_lenos(fixture).await;
        let (sdk, queue_url, bucket, s3) = aws_parts().await;
        let secret = new_secret(
            &sdk,
            &json!({"endPoint": format!("{}/", sandbox.lenos_endpoint()), "username": fixtures::LENOS_USER,
                    "password": fixtures::LENOS_PASSWORD, "eventId": fixtures::LENOS_EVENT,
                    "authMode": if token { "token" } else { "basic" }}),
        )
        .await;
        add_connection(&db, LENOS_CONNECTION, "lenos", &secret, settings).await;
        ConnectorHarness::wire(db, sandbox, sdk, queue_url, bucket, s3, LENOS_CONNECTION)
    }

    /// A harness over Cvent's demo event (its pictures at this sandbox), with the connection
    /// [`CVENT_CONNECTION`] and every Cvent stream; `change` adjusts the fixture first.
    pub async fn cvent(change: impl FnOnce(&mut vendor_sandbox::CventFixture), settings: Value) -> ConnectorHarness {
        let db = TestDb::new().await;
        let sandbox = Sandbox::start_local().await.unwrap();
        let mut fixture = fixtures::cvent_demo_fixture(&sandbox.url);
        change(&mut fixture);
        sandbox.load_cvent(fixture).await;
        let (sdk, queue_url, bucket, s3) = aws_parts().await;
        let secret = new_secret(&sdk, &cvent_secret(&sandbox)).await;
        add_connection(&db, CVENT_CONNECTION, "cvent", &secret, settings).await;
        ConnectorHarness::wire(db, sandbox, sdk, queue_url, bucket, s3, CVENT_CONNECTION)
    }

    fn wire(
        db: TestDb,
        sandbox: Sandbox,
        sdk: SdkConfig,
        queue_url: String,
        bucket: String,
        s3: aws_sdk_s3::Client,
        connection: &'static str,
    ) -> ConnectorHarness {
        let service = Connectors::new(
            db.warehouse.clone(),
            SecretsCache::new(aws_sdk_secretsmanager::Client::new(&sdk), Duration::from_secs(60)),
            Some(SqsSender::new(aws_sdk_sqs::Client::new(&sdk))),
            Some(s3.clone()),
            Settings {
                queue_url: Some(queue_url.clone()),
                bucket: Some(bucket.clone()),
                link_ttl: Duration::from_secs(3600),
                timeout: Duration::from_secs(5),
                max_pages: None,
            },
        )
        .unwrap();
        ConnectorHarness { db, sandbox, sdk, service, connection, queue_url, bucket, s3 }
    }

    /// The demo event with the demo settings (New York times, a master-session title).
    pub async fn demo() -> ConnectorHarness {
        ConnectorHarness::new(
            fast_fixture(),
            json!({"event_time_zone": "America/New_York", "ConcurrentSessionsTitle": "Concurrent sessions"}),
        )
        .await
    }

    /// Pulls one stream now, to completion (no deadline).
    pub async fn pull(&self, stream: &str) -> PullReport {
        self.service
            .pull_now(self.connection, stream, &Deadline::none())
            .await
            .unwrap_or_else(|e| panic!("pull {stream}: {e}"))
    }

    /// Requests the sandbox saw for a path suffix.
    pub async fn requests_to(&self, suffix: &str) -> Vec<vendor_sandbox::RecordedRequest> {
        self.sandbox.requests().await.into_iter().filter(|r| r.path.ends_with(suffix)).collect()
    }
}

/// The Cvent demo connection's secret at `sandbox`.
pub fn cvent_secret(sandbox: &Sandbox) -> Value {
    json!({"endPoint": sandbox.cvent_endpoint(), "clientId": fixtures::CVENT_CLIENT_ID,
           "clientSecret": fixtures::CVENT_CLIENT_SECRET, "eventId": fixtures::CVENT_EVENT})
}

/// moto, a connector queue and a bucket for a harness.
async fn aws_parts() -> (SdkConfig, String, String, aws_sdk_s3::Client) {
    let sdk = aws().await;
    let queue_url = new_queue(&sdk, "connector").await;
    let bucket = format!("connector-{}", uuid::Uuid::new_v4().simple());
    let s3 = platform_aws::s3::client(&sdk, true);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    (sdk, queue_url, bucket, s3)
}

/// A run record's counter.
pub fn count(report: &PullReport, name: &str) -> i64 {
    report.run[name].as_i64().unwrap_or_else(|| panic!("{name} in {}", report.run))
}

/// Adds connection `name` of `provider` with `settings` (at 6,000 requests a minute unless
/// they say otherwise) and a row for each of the provider's streams.
pub async fn add_connection(db: &TestDb, name: &str, provider: &str, secret: &str, settings: Value) {
    let mut settings = settings;
    if settings.get("rate_per_minute").is_none() {
        settings["rate_per_minute"] = json!(6000);
    }
    let streams: Vec<String> = platform_connectors::provider(provider)
        .expect("provider")
        .streams
        .iter()
        .map(|s| format!("'{}'", s.name))
        .collect();
    db.exec(&format!(
        "INSERT INTO connector.connection (name, provider, secret_id, settings) VALUES ('{name}', '{provider}', '{secret}', '{}');
         INSERT INTO connector.stream (connection, stream) SELECT '{name}', s FROM unnest(ARRAY[{}]) s;",
        settings.to_string().replace('\'', "''"),
        streams.join(", ")
    ))
    .await;
}
