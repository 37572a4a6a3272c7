//! meetmax-sync wired to a fresh database (demo configuration seeded, account pointed at an
//! in-process sandbox with the MeetMax demo fixture) and a credentials secret in moto.

use std::{collections::HashMap, time::Duration};

use platform_aws::SecretsCache;
use platform_meetmax::{MeetmaxSync, Settings};
use platform_vendors::RetryPolicy;
use vendor_sandbox::{Sandbox, fixtures, meetmax::Record};

use crate::{SEED_DEMO_SQL, TestDb, aws, new_secret};

/// The demo form (its MeetMax event is 90199).
pub const FORM: &str = "5095980";
/// The demo MeetMax event.
pub const EVENT: &str = "90199";

/// The harness.
pub struct MeetmaxHarness {
    /// Database with the demo configuration.
    pub db: TestDb,
    /// Sandbox with the MeetMax demo fixture.
    pub sandbox: Sandbox,
    /// The service under test.
    pub sync: MeetmaxSync,
    /// The credentials secret's id.
    pub secret_id: String,
    /// AWS configuration (moto).
    pub sdk: aws_config::SdkConfig,
}

/// Quick retries for tests.
pub fn test_settings() -> Settings {
    Settings {
        lease: Duration::from_secs(60),
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(3),
        },
        instances: 1.0,
    }
}

impl MeetmaxHarness {
    /// A harness whose account has `rate` requests/s and `concurrency`, with `settings`.
    pub async fn with(settings: Settings, rate: f64, concurrency: i32) -> MeetmaxHarness {
        let db = TestDb::new().await;
        db.exec(SEED_DEMO_SQL).await;
        let sandbox = Sandbox::start_local().await.expect("sandbox starts");
        let sdk = aws().await;
        let (sync, secret_id) = meetmax_on(&db, &sandbox, &sdk, settings, rate, concurrency).await;
        MeetmaxHarness { db, sandbox, sync, secret_id, sdk }
    }

    /// The default harness: 200 requests/s, 4 in flight.
    pub async fn new() -> MeetmaxHarness {
        MeetmaxHarness::with(test_settings(), 200.0, 4).await
    }

    /// Adds an approved, active registration of the demo form, released by the gate (`released`).
    pub async fn registration(&self, r: &Reg<'_>) {
        let conn = self.db.warehouse.conn().await.unwrap();
        conn.execute(
            "INSERT INTO conferences_events.exchange_registration
                (form_id, registration_id, first_name, last_name, organization, email, registration_type,
                 state_organization, one_one, time_zone, industries, meetings, approval_status, registration_status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'Yes', 'Eastern Time', $9, 6, $10, 'Active')",
            &[
                &FORM,
                &r.id,
                &r.first,
                &"Doe",
                &r.org,
                &format!("{}@example.org", r.id),
                &r.kind,
                &r.state,
                &r.industries,
                &(if r.approved { "Approved" } else { "Pending" }),
            ],
        )
        .await
        .unwrap();
        if r.released {
            conn.execute("INSERT INTO integration.meetmax_release (registration_id) VALUES ($1)", &[&r.id])
                .await
                .unwrap();
        }
    }

    /// Reviews an organisation spelling with its clean name.
    pub async fn review(&self, original: &str, clean: &str) {
        let conn = self.db.warehouse.conn().await.unwrap();
        conn.execute(
            "INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed)
             VALUES ($1, $2, true)",
            &[&original, &clean],
        )
        .await
        .unwrap();
    }

    /// MeetMax's records of the demo event.
    pub async fn records(&self) -> Vec<Record> {
        self.sandbox.meetmax_records().await.into_iter().filter(|r| r.event_id == EVENT).collect()
    }

    /// One run in which the first `attendee/add` loses its answer: MeetMax creates the record but
    /// answers after 1.5 s, beyond the timeout of [`short_timeout_settings`]; returns once the
    /// late answer has landed (and the fault is cleared).
    pub async fn run_losing_first_add(&self) -> platform_meetmax::RunReport {
        use vendor_sandbox::{Fault, FaultRule};
        self.sandbox
            .set_faults(vec![FaultRule {
                path_prefix: "/sched/service/attendee/add".into(),
                on_requests: vec![1],
                fault: Fault::LateAnswer { delay_ms: 1500 },
            }])
            .await;
        let report = self.sync.run(None, "test").await.unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        self.sandbox.set_faults(Vec::new()).await;
        report
    }

    /// Records per `crm_id` and entity records per company.
    pub async fn record_counts(&self) -> (HashMap<String, usize>, HashMap<String, usize>) {
        record_counts(&self.sandbox).await
    }

    /// Requests to a MeetMax call (`attendee/add`, …) so far.
    pub async fn calls(&self, call: &str) -> usize {
        let path = format!("/sched/service/{call}");
        self.sandbox.requests().await.iter().filter(|r| r.path == path).count()
    }

    /// `meetmax_id` and `meetmax_status` of a registration.
    pub async fn warehouse_outcome(&self, id: &str) -> (Option<String>, Option<String>) {
        let conn = self.db.warehouse.conn().await.unwrap();
        let r = conn
            .query_one(
                "SELECT meetmax_id, meetmax_status FROM conferences_events.exchange_registration WHERE registration_id = $1",
                &[&id],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    }
}

/// [`test_settings`] with a 500 ms timeout (for lost answers).
pub fn short_timeout_settings() -> Settings {
    Settings { timeout: Duration::from_millis(500), ..test_settings() }
}

/// Records of the demo event per `crm_id`, and entity records per company, in `sandbox`.
pub async fn record_counts(sandbox: &Sandbox) -> (HashMap<String, usize>, HashMap<String, usize>) {
    let mut people = HashMap::new();
    let mut companies = HashMap::new();
    for r in sandbox.meetmax_records().await.into_iter().filter(|r| r.event_id == EVENT) {
        if r.is_entity() {
            *companies.entry(r.fields["company"].clone()).or_default() += 1;
        } else {
            *people.entry(r.fields.get("crm_id").cloned().unwrap_or_default()).or_default() += 1;
        }
    }
    (people, companies)
}

/// meetmax-sync over `db` (demo configuration seeded) and `sandbox`'s MeetMax (demo fixture
/// loaded here): the demo account points at the sandbox with a new credentials secret, `rate`
/// requests/s and `concurrency`. Returns the service and the secret's id.
pub async fn meetmax_on(
    db: &TestDb,
    sandbox: &Sandbox,
    sdk: &aws_config::SdkConfig,
    settings: Settings,
    rate: f64,
    concurrency: i32,
) -> (MeetmaxSync, String) {
    sandbox.load_meetmax(fixtures::meetmax_demo_fixture()).await;
    let secret_id = new_secret(
        sdk,
        &serde_json::json!({"consumer_key": fixtures::MEETMAX_KEY, "consumer_secret": fixtures::MEETMAX_SECRET}),
    )
    .await;
    let conn = db.warehouse.conn().await.unwrap();
    conn.execute(
        "UPDATE integration.meetmax_account SET base_url = $1, secret_id = $2, rate_per_second = $3, concurrency = $4
          WHERE name = 'sandbox'",
        &[&sandbox.meetmax_url(), &secret_id, &rate, &concurrency],
    )
    .await
    .unwrap();
    drop(conn);
    let secrets = SecretsCache::new(aws_sdk_secretsmanager::Client::new(sdk), Duration::from_secs(300));
    (MeetmaxSync::new(db.warehouse.clone(), secrets, settings), secret_id)
}

/// A registration for [`MeetmaxHarness::registration`].
#[derive(Debug, Clone)]
pub struct Reg<'a> {
    /// Registration id.
    pub id: &'a str,
    /// First name.
    pub first: &'a str,
    /// Organisation as typed.
    pub org: Option<&'a str>,
    /// Registration type.
    pub kind: &'a str,
    /// State organisation.
    pub state: Option<&'a str>,
    /// Industries (newline-separated).
    pub industries: Option<&'a str>,
    /// Approved.
    pub approved: bool,
    /// Released by the gate.
    pub released: bool,
}

impl<'a> Reg<'a> {
    /// An approved, released supplier of `org`.
    pub fn supplier(id: &'a str, org: &'a str) -> Reg<'a> {
        Reg {
            id,
            first: "jane",
            org: Some(org),
            kind: "Supplier",
            state: None,
            industries: Some("Information Technology\nCleaning, Janitorial\n"),
            approved: true,
            released: true,
        }
    }
}
