//! lead-delivery's service: landers' leads to each client's intake system through configured
//! parsers — at most one 2xx per lead and integration, retried on network errors, 429 and 5xx,
//! refused before sending when the integration's rules say so, every attempt recorded.
//!
//! - [`config`]: an integration as data, and what it still misses (its state).
//! - [`shape`]: a lead shaped for an integration (mapping, transforms, constants, rules).
//! - [`vendors`]: one small adapter per vendor (endpoint, body, success test).
//! - [`deliver`]: the delivery of one lead to one integration, and the commands around it.
//! - [`endpoint`]: the generic signed lead endpoint (landers not built on Formstack).

pub mod config;
pub mod deliver;
pub mod delivery_row;
pub mod email;
pub mod endpoint;
pub mod operate;
pub mod shape;
pub mod todo;
pub mod vendors;

use std::time::Duration;

use platform_aws::{AwsError, SecretsCache, SqsSender};
use platform_domain::envelope::Envelope;
use platform_vendors::{Pacer, RetryPolicy, VendorClient, VendorError};
use platform_warehouse::{Warehouse, WarehouseError, impl_from_db_error, outbox};
use uuid::Uuid;

/// No vendor publishes a rate limit: pacing only bounds requests in flight (this rate is far
/// above what the concurrency allows).
const VENDOR_RATE_PER_SECOND: f64 = 10_000.0;

/// The envelope kind announcing new leads (and leads to deliver again) on the queue.
pub use platform_domain::envelope::KIND_LEADS_RECEIVED;

/// Name of this function in metrics and logs.
pub const FUNCTION_NAME: &str = "lead-delivery";

/// Errors of the lead service.
#[derive(Debug, thiserror::Error)]
pub enum LeadError {
    /// Configuration (environment or tables).
    #[error("configuration: {0}")]
    Config(String),
    /// Not found.
    #[error("{0}")]
    NotFound(String),
    /// The warehouse.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// AWS.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A vendor call.
    #[error(transparent)]
    Vendor(#[from] VendorError),
    /// Deliveries to try again later (the message comes back).
    #[error("to be retried: {0}")]
    Retry(String),
}

impl_from_db_error!(LeadError);

impl platform_runtime::ServiceError for LeadError {
    fn kind(&self) -> platform_runtime::ErrorKind {
        use platform_runtime::ErrorKind;
        match self {
            LeadError::Config(_) | LeadError::NotFound(_) => ErrorKind::Config,
            LeadError::Vendor(_) | LeadError::Retry(_) => ErrorKind::Vendor,
            LeadError::Warehouse(_) => ErrorKind::Warehouse,
            LeadError::Aws(_) => ErrorKind::Aws,
        }
    }
}

impl From<config::ConfigError> for LeadError {
    fn from(e: config::ConfigError) -> Self {
        LeadError::Config(e.to_string())
    }
}

/// Deploy-time settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The lead-delivery queue.
    pub queue_url: Option<String>,
    /// Secret `{"<lander id>": "<HMAC key>"}` of the generic lead endpoint.
    pub endpoint_keys_secret: Option<String>,
    /// Per-request timeout to vendors.
    pub timeout: Duration,
    /// How long an attempt owns its delivery; a delivery still `sending` after this had its
    /// answer lost (a crash) and is not re-posted blindly. Keep it under the queue's visibility.
    pub claim: Duration,
    /// The verified SES identity confirmation e-mails are sent from (none: not sent, kept).
    pub email_from: Option<String>,
    /// Bucket of the to-do reports (`todo/<date>.xlsx`).
    pub bucket: Option<String>,
    /// The development team's address (new clients, custom-script landers).
    pub team_email: Option<String>,
    /// The only secrets an integration may name (`LEAD_SECRET_PREFIX`, e.g.
    /// `platform/prod/leads/`; none: any): an integration's configuration, which operators edit,
    /// can never make a delivery read another secret of the function's.
    pub secret_prefix: Option<String>,
    /// Requests in flight at once per vendor (Captorra, ICE, call tracking; IntakeDesk and
    /// webhooks per endpoint host), per container.
    pub vendor_concurrency: usize,
}

impl Settings {
    /// `LEAD_QUEUE_URL`, `LEAD_ENDPOINT_KEYS_SECRET_ID`, `LEAD_TIMEOUT_SECONDS` (default 15),
    /// `LEAD_CLAIM_SECONDS` (default 120), `LEAD_EMAIL_FROM`, `LEAD_BUCKET`, `LEAD_TEAM_EMAIL`,
    /// `LEAD_VENDOR_CONCURRENCY` (default 8), `LEAD_SECRET_PREFIX`.
    pub fn from_env(env: &platform_runtime::Env) -> Result<Settings, LeadError> {
        let cfg = |e: platform_runtime::env::ConfigError| LeadError::Config(e.to_string());
        Ok(Settings {
            queue_url: env.optional("LEAD_QUEUE_URL"),
            endpoint_keys_secret: env.optional("LEAD_ENDPOINT_KEYS_SECRET_ID"),
            timeout: Duration::from_secs(env.parse_or("LEAD_TIMEOUT_SECONDS", 15u64).map_err(cfg)?),
            claim: Duration::from_secs(env.parse_or("LEAD_CLAIM_SECONDS", 120u64).map_err(cfg)?),
            email_from: env.optional("LEAD_EMAIL_FROM"),
            bucket: env.optional("LEAD_BUCKET"),
            team_email: env.optional("LEAD_TEAM_EMAIL"),
            vendor_concurrency: env.parse_or("LEAD_VENDOR_CONCURRENCY", 8usize).map_err(cfg)?.max(1),
            secret_prefix: env.optional("LEAD_SECRET_PREFIX"),
        })
    }
}

/// The service (one per container: the HTTP client and secrets cache are reused).
pub struct Leads {
    warehouse: Warehouse,
    secrets: SecretsCache,
    sqs: Option<SqsSender>,
    ses: Option<platform_aws::ses::Client>,
    s3: Option<platform_aws::s3::Client>,
    http: VendorClient,
    settings: Settings,
    vendors: std::sync::Mutex<std::collections::HashMap<String, VendorClient>>,
}

impl Leads {
    /// A service over its dependencies.
    pub fn new(
        warehouse: Warehouse,
        secrets: SecretsCache,
        sqs: Option<SqsSender>,
        ses: Option<platform_aws::ses::Client>,
        s3: Option<platform_aws::s3::Client>,
        settings: Settings,
    ) -> Result<Leads, LeadError> {
        let policy = RetryPolicy { max_retries: 3, max_retry_after: Duration::from_secs(30), ..RetryPolicy::default() };
        let http = VendorClient::new("lead intake", settings.timeout, policy)?;
        Ok(Leads { warehouse, secrets, sqs, ses, s3, http, settings, vendors: Default::default() })
    }

    /// From the environment: [`Settings::from_env`], the warehouse variables,
    /// `SECRET_TTL_SECONDS` and `S3_FORCE_PATH_STYLE`.
    pub async fn from_env(env: &platform_runtime::Env) -> Result<Leads, LeadError> {
        let cfg = |e: platform_runtime::env::ConfigError| LeadError::Config(e.to_string());
        let secret_ttl = env.parse_or("SECRET_TTL_SECONDS", 300u64).map_err(cfg)?;
        let settings = Settings::from_env(env)?;
        let foundation =
            platform_aws::Foundation::from_env(|name| env.optional(name), Duration::from_secs(secret_ttl), 4).await?;
        let sqs = Some(SqsSender::new(platform_aws::sqs::Client::new(&foundation.sdk)));
        let ses = Some(platform_aws::ses::Client::new(&foundation.sdk));
        let s3 = Some(platform_aws::s3::client(&foundation.sdk, env.flag("S3_FORCE_PATH_STYLE", false).map_err(cfg)?));
        Leads::new(foundation.warehouse, foundation.secrets, sqs, ses, s3, settings)
    }

    /// The warehouse.
    pub fn warehouse(&self) -> &Warehouse {
        &self.warehouse
    }

    /// What `i` still needs: its configuration's to-do list ([`config::Integration::missing`]),
    /// and a secret it may not name.
    pub fn missing(&self, i: &config::Integration) -> Vec<String> {
        let mut missing = i.missing();
        if let Some(id) = &i.secret_id
            && let Err(e) = self.secret_allowed(id)
        {
            missing.push(e.to_string().trim_start_matches("configuration: ").to_owned());
        }
        missing
    }

    /// Whether an integration may name secret `id` (see [`Settings::secret_prefix`]); the
    /// refusal says why.
    pub fn secret_allowed(&self, id: &str) -> Result<(), LeadError> {
        match &self.settings.secret_prefix {
            Some(prefix) if !(id.starts_with(prefix.as_str()) || id.contains(&format!(":secret:{prefix}"))) => {
                Err(LeadError::Config(format!("an integration's secret must be named {prefix}…, not {id:?}")))
            }
            _ => Ok(()),
        }
    }

    /// The client of vendor `key`: the shared HTTP client, paced to `vendor_concurrency`
    /// requests in flight (every attempt, retries included, waits for a slot).
    pub(crate) fn vendor_client(&self, key: &str) -> VendorClient {
        let mut vendors = self.vendors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        vendors
            .entry(key.to_owned())
            .or_insert_with(|| {
                self.http.clone().with_pacer(Pacer::new(VENDOR_RATE_PER_SECOND, self.settings.vendor_concurrency))
            })
            .clone()
    }

    /// Sends unsent `leads.received` outbox entries to the queue, one lead per message (a
    /// failed lead comes back alone). Returns the number of leads sent.
    pub async fn publish(&self) -> Result<u64, LeadError> {
        let (Some(sqs), Some(queue)) = (&self.sqs, &self.settings.queue_url) else {
            return Err(LeadError::Config("LEAD_QUEUE_URL is required to announce leads".into()));
        };
        let mut conn = self.warehouse.conn().await?;
        let run = Uuid::now_v7().to_string();
        let client: &mut platform_warehouse::tokio_postgres::Client = &mut conn;
        outbox::drain(client, KIND_LEADS_RECEIVED, |ids| {
            let envelopes = Envelope::singles(KIND_LEADS_RECEIVED, &ids, &run);
            async move { sqs.send(queue, &envelopes).await }
        })
        .await
        .map_err(|e| match e {
            outbox::DrainError::Warehouse(w) => LeadError::Warehouse(w),
            outbox::DrainError::Send(s) => LeadError::Aws(s),
        })
    }
}
