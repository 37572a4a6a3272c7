//! Test support: a fresh database per test on the stack's PostgreSQL, unique queues and secrets
//! on moto, the vendor sandbox in-process, and a ready-made formstack-intake service wired to
//! all three. Run through `make test` (or `infra/local/stack.sh exec cargo nextest run`), which
//! exports `DATABASE_URL` and `AWS_ENDPOINT_URL`.

pub mod bench_report;
pub mod browser;
pub mod chaos;
pub mod company_quality;
pub mod connector_support;
pub mod console_support;
pub mod forwarder;
pub mod hostile;
pub mod leads_support;
pub mod meetmax_support;
pub mod print;

use std::time::Duration;

use aws_config::SdkConfig;
use platform_aws::{SecretsCache, SqsSender};
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_CHANGED};
use platform_intake::{Intake, IntakeSettings};
use platform_runtime::Env;
use platform_vendors::{RetryPolicy, VendorClient, formstack::FormstackClient};
use platform_warehouse::{DbSettings, Warehouse, migrate::migrate};
use tokio_postgres::NoTls;
use vendor_sandbox::{Sandbox, fixtures};

/// The demo configuration of `make run`, reused by tests.
pub const SEED_DEMO_SQL: &str = include_str!("../../../infra/local/seed-demo.sql");
/// The demo's Formstack lander form configuration (applied after [`SEED_DEMO_SQL`]).
pub const SEED_LANDER_FORM_SQL: &str = include_str!("../../../infra/local/seed-demo-lander-form.sql");

fn env_or_explain(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through `make test` or `infra/local/stack.sh exec cargo nextest run`")
    })
}

/// A database of its own for one test, migrated.
pub struct TestDb {
    /// Pool on the test database.
    pub warehouse: Warehouse,
    /// Its settings.
    pub settings: DbSettings,
    /// Its name.
    pub name: String,
}

/// The staff step's SQL: every organisation name reviewed (its clean name, or the name as typed)
/// and every registration approved and active.
pub const REVIEW_AND_APPROVE_ALL: &str = "UPDATE conferences_events.exchange_organizations
    SET reviewed = true, clean_organization = COALESCE(NULLIF(btrim(clean_organization), ''), btrim(original_organization));
 UPDATE conferences_events.exchange_registration SET approval_status = 'Approved', registration_status = 'Active';";

impl TestDb {
    /// Creates and migrates a fresh database.
    pub async fn new() -> TestDb {
        let url = env_or_explain("DATABASE_URL");
        let (admin, conn) = tokio_postgres::connect(&url, NoTls).await.expect("connect to the stack's PostgreSQL");
        tokio::spawn(conn);
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        let settings = DbSettings::from_url(&url).unwrap().with_dbname(&name).with_pool_size(4);
        let warehouse = Warehouse::new(&settings).unwrap();
        migrate(&warehouse).await.expect("migrations apply");
        TestDb { warehouse, settings, name }
    }

    /// The stack's PostgreSQL host and port.
    pub fn host_port(&self) -> (String, u16) {
        let c = self.settings.config();
        let host = match c.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        (host, c.get_ports().first().copied().unwrap_or(5432))
    }

    /// A libpq connection string for the test database (for the benchmarks' Python peers).
    pub fn dsn(&self) -> String {
        let (host, port) = self.host_port();
        self.dsn_via(&host, port)
    }

    /// The same connection string through another host and port (a proxy in front of the server).
    pub fn dsn_via(&self, host: &str, port: u16) -> String {
        let c = self.settings.config();
        format!(
            "host={host} port={port} user={} dbname={}",
            c.get_user().unwrap_or("postgres"),
            c.get_dbname().unwrap_or("postgres")
        )
    }

    /// Runs SQL (several statements allowed).
    pub async fn exec(&self, sql: &str) {
        self.warehouse.conn().await.unwrap().batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    /// A single scalar from a query.
    pub async fn scalar<T: for<'a> tokio_postgres::types::FromSql<'a>>(&self, sql: &str) -> T {
        self.warehouse.conn().await.unwrap().query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
    }

    /// The staff step: every organisation name reviewed (its clean name, or the name as typed)
    /// and every registration approved and active.
    pub async fn review_and_approve_all(&self) {
        self.exec(REVIEW_AND_APPROVE_ALL).await;
    }

    /// [`TestDb::exec`] that says what failed instead of panicking.
    pub async fn try_exec(&self, sql: &str) -> Result<(), String> {
        let conn = self.warehouse.conn().await.map_err(|e| e.to_string())?;
        conn.batch_execute(sql).await.map_err(|e| format!("{sql}: {e}"))
    }

    /// Another pool on the same database (none of this pool's connections: a test that
    /// terminates connections reads its results through one).
    pub fn fresh_pool(&self) -> TestDb {
        TestDb {
            warehouse: Warehouse::new(&self.settings).expect("a pool on the test database"),
            settings: self.settings.clone(),
            name: self.name.clone(),
        }
    }

    /// Rows of a query.
    pub async fn rows(&self, sql: &str) -> Vec<tokio_postgres::Row> {
        self.warehouse.conn().await.unwrap().query(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// The SDK configuration for moto.
pub async fn aws() -> SdkConfig {
    env_or_explain("AWS_ENDPOINT_URL");
    platform_aws::sdk_config().await
}

/// A new uniquely named queue; returns its URL.
pub async fn new_queue(sdk: &SdkConfig, prefix: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let name = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
    sqs.create_queue().queue_name(name).send().await.expect("create queue").queue_url().unwrap().to_owned()
}

/// A new uniquely named secret holding `value`; returns its id.
pub async fn new_secret(sdk: &SdkConfig, value: &serde_json::Value) -> String {
    let sm = aws_sdk_secretsmanager::Client::new(sdk);
    let name = format!("test/{}", uuid::Uuid::new_v4().simple());
    sm.create_secret().name(&name).secret_string(value.to_string()).send().await.expect("create secret");
    name
}

/// The e-mails moto's SES holds for `to` (moto keeps every test's messages together: give each
/// test recipients of its own).
///
/// moto dumps its whole state for this without a lock: while another test changes it (a
/// multipart upload adding parts, say) the dump can fail with a server error instead of JSON.
/// Such an answer is asked again; the state asked about is not changing.
// A test's plain client: this crate gives reqwest its default TLS provider.
#[allow(clippy::disallowed_methods)]
pub async fn emails_to(to: &str) -> Vec<serde_json::Value> {
    let endpoint = env_or_explain("AWS_ENDPOINT_URL");
    let mut last = String::new();
    let mut data = None;
    for _ in 0..50 {
        let answer = reqwest::get(format!("{endpoint}/moto-api/data.json")).await.expect("moto's state");
        let status = answer.status();
        let body = answer.text().await.expect("moto's state");
        match serde_json::from_str::<serde_json::Value>(&body) {
            Ok(json) if status.is_success() => {
                data = Some(json);
                break;
            }
            _ => last = format!("{status}: {}", body.chars().take(300).collect::<String>()),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let data = data.unwrap_or_else(|| panic!("moto's state is not JSON after 50 tries; the last answer: {last}"));
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["destinations"].to_string().contains(to))
        .collect()
}

/// Every message body waiting on a queue (received and deleted).
pub async fn drain_bodies(sdk: &SdkConfig, url: &str) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut out = Vec::new();
    loop {
        let got = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.expect("receive");
        let msgs = got.messages();
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            out.push(m.body().unwrap_or_default().to_owned());
            sqs.delete_message().queue_url(url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
        }
    }
    out
}

/// Every envelope waiting on a queue (received and deleted).
pub async fn drain_queue(sdk: &SdkConfig, url: &str) -> Vec<Envelope> {
    drain_bodies(sdk, url)
        .await
        .iter()
        .map(|b| Envelope::parse(b, &[KIND_REGISTRATIONS_CHANGED]).expect("valid envelope"))
        .collect()
}

/// An SQS event of `bodies` (message ids `m0`, `m1`, …), as Lambda would hand it over.
pub fn sqs_event(bodies: &[String]) -> aws_lambda_events::sqs::SqsEvent {
    let mut event = aws_lambda_events::sqs::SqsEvent::default();
    for (i, body) in bodies.iter().enumerate() {
        let mut m = aws_lambda_events::sqs::SqsMessage::default();
        m.message_id = Some(format!("m{i}"));
        m.body = Some(body.clone());
        event.records.push(m);
    }
    event
}

/// A `POST` of `body` signed the way the platform's signed endpoints check it: the caller in
/// `caller_header`, `X-Signature: sha256=<HMAC of the raw body with key>`.
pub fn signed_request(
    caller_header: &str,
    caller: &str,
    key: &str,
    body: &serde_json::Value,
) -> platform_runtime::function_url::RequestParts {
    let raw = body.to_string().into_bytes();
    platform_runtime::function_url::RequestParts {
        method: "POST".into(),
        headers: vec![
            (caller_header.into(), caller.into()),
            ("X-Signature".into(), platform_domain::signature::sign(&raw, key)),
        ],
        query: vec![],
        body: raw,
    }
}

/// The bodies of the messages of `sqs_event(bodies)` that `response` reports failed.
pub fn failed_bodies(bodies: &[String], response: &aws_lambda_events::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| bodies[f.item_identifier.trim_start_matches('m').parse::<usize>().expect("sqs_event's ids")].clone())
        .collect()
}

/// company-dedupe's SQS handler, as Lambda calls it (its batch response read back).
pub async fn dedupe_batch(
    dedupe: &platform_dedupe::Dedupe,
    event: aws_lambda_events::sqs::SqsEvent,
) -> aws_lambda_events::sqs::SqsBatchResponse {
    let payload = serde_json::to_value(event).expect("events serialise");
    let ctx = lambda_runtime::Context::default();
    match company_dedupe::handle(dedupe, lambda_runtime::LambdaEvent::new(payload, ctx)).await {
        Ok(answer) => serde_json::from_value(answer).expect("a batch response"),
        Err(e) => panic!("company-dedupe refused an SQS batch: {e}"),
    }
}

/// Every id carried by the envelopes, sorted.
pub fn ids_of(envelopes: &[Envelope]) -> Vec<String> {
    let mut ids: Vec<String> = envelopes.iter().flat_map(|e| e.ids.clone()).collect();
    ids.sort();
    ids
}

/// formstack-intake wired to a fresh database, moto and an in-process sandbox with the demo data.
pub struct Harness {
    /// The test database (demo configuration seeded).
    pub db: TestDb,
    /// The sandbox (demo fixture loaded).
    pub sandbox: Sandbox,
    /// AWS configuration (moto).
    pub sdk: SdkConfig,
    /// The dedupe queue.
    pub queue_url: String,
    /// The lead-delivery queue (new leads of the demo lander form).
    pub lead_queue_url: String,
    /// The Formstack secret's id.
    pub secret_id: String,
    /// The service under test.
    pub intake: Intake,
}

impl Harness {
    /// company-dedupe over this harness's warehouse, releasing to `meetmax_queue_url`.
    pub fn dedupe(&self, meetmax_queue_url: &str) -> platform_dedupe::Dedupe {
        platform_dedupe::Dedupe {
            warehouse: self.db.warehouse.clone(),
            sqs: SqsSender::new(aws_sdk_sqs::Client::new(&self.sdk)),
            meetmax_queue_url: meetmax_queue_url.to_owned(),
            s3: platform_aws::s3::client(&self.sdk, true),
            review_bucket: None,
        }
    }

    /// A harness with default settings plus `overrides` (environment-variable names).
    pub async fn new(overrides: &[(&str, &str)]) -> Harness {
        let db = TestDb::new().await;
        db.exec(SEED_DEMO_SQL).await;
        let sandbox = Sandbox::start_local().await.expect("sandbox starts");
        sandbox.load_formstack(fixtures::demo_fixture()).await;
        let sdk = aws().await;
        let queue_url = new_queue(&sdk, "dedupe").await;
        let lead_queue_url = new_queue(&sdk, "leads").await;
        let secret_id = new_secret(
            &sdk,
            &serde_json::json!({"api_token": fixtures::DEMO_TOKEN, "webhook_hmac_keys": {
                fixtures::DEMO_FORM_ID: fixtures::DEMO_HMAC_KEY, fixtures::DEMO_LANDER_FORM_ID: fixtures::DEMO_HMAC_KEY}}),
        )
        .await;
        let mut vars: Vec<(String, String)> = vec![
            ("FORMSTACK_SECRET_ID".into(), secret_id.clone()),
            ("FORMSTACK_API_URL".into(), sandbox.formstack_api_url()),
            ("DEDUPE_QUEUE_URL".into(), queue_url.clone()),
            ("LEAD_QUEUE_URL".into(), lead_queue_url.clone()),
        ];
        vars.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let settings = IntakeSettings::from_env(&Env::from_pairs(vars)).expect("settings");
        let intake = build_intake(settings, db.warehouse.clone(), &sdk);
        Harness { db, sandbox, sdk, queue_url, lead_queue_url, secret_id, intake }
    }
}

/// Builds the service from parts (tests swap settings without touching the process environment).
pub fn build_intake(settings: IntakeSettings, warehouse: Warehouse, sdk: &SdkConfig) -> Intake {
    let policy = RetryPolicy {
        max_retries: 4,
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
    };
    let http = VendorClient::new("formstack", Duration::from_secs(10), policy).unwrap();
    Intake {
        formstack: FormstackClient::new(http, &settings.formstack_api_url),
        secrets: SecretsCache::new(aws_sdk_secretsmanager::Client::new(sdk), settings.secret_ttl),
        sqs: SqsSender::new(aws_sdk_sqs::Client::new(sdk)),
        warehouse,
        settings,
    }
}

/// The EMF metric lines `function` wrote for `flow` since [`platform_runtime::metrics::capture`]
/// (what CloudWatch Logs would turn into metrics).
pub fn emf(function: &str, flow: &str) -> Vec<serde_json::Value> {
    platform_runtime::metrics::captured()
        .into_iter()
        .filter(|l| l["Function"] == function && l["Flow"] == flow)
        .collect()
}
