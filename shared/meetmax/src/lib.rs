//! meetmax-sync: released registrations into their MeetMax event — companies first, then
//! attendees, then edits — driven by the warehouse configuration ([`config`]), exactly once per
//! registration and per company (lease + intent before each add, result after it, lookup before
//! adding again when an earlier outcome is unknown), paced per account.

pub mod companies;
pub mod config;
pub mod fields;
pub mod store;
mod sync;

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use platform_aws::SecretsCache;
use platform_domain::run::RunCounts;
use platform_runtime::Deadline;
use platform_vendors::{
    Adaptive, Learned, Pacer, RetryPolicy, VendorClient,
    meetmax::{Credentials, ErrorClass, MeetmaxClient},
};
use platform_warehouse::{
    Warehouse, WarehouseError,
    pace::{self, StoredPace},
};
use serde::Serialize;
use tokio::sync::Mutex;
use uuid::Uuid;

/// Name of this function in run records.
pub const FUNCTION_NAME: &str = "meetmax-sync";

/// Errors that fail a run (per-registration failures are [`Outcome`]s).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The warehouse failed.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// Secrets Manager failed.
    #[error(transparent)]
    Aws(#[from] platform_aws::AwsError),
    /// The configuration is missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// A crash injected by a test between a MeetMax call and its database write.
    #[error("injected crash after {0}")]
    Injected(String),
}

platform_warehouse::impl_from_db_error!(SyncError);

impl platform_runtime::ServiceError for SyncError {
    fn kind(&self) -> platform_runtime::ErrorKind {
        use platform_runtime::ErrorKind;
        match self {
            SyncError::Warehouse(_) => ErrorKind::Warehouse,
            SyncError::Aws(_) => ErrorKind::Aws,
            SyncError::Config(_) => ErrorKind::Config,
            SyncError::Injected(_) => ErrorKind::Internal,
        }
    }
}

/// What happened to one registration in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// Added now; the MeetMax id.
    Added(String),
    /// Found in MeetMax after an earlier attempt with an unknown outcome; the MeetMax id.
    Adopted(String),
    /// Edited: one call per changed field.
    Edited {
        /// The record.
        meetmax_id: String,
        /// Fields sent.
        fields: usize,
    },
    /// In MeetMax and unchanged.
    Unchanged(String),
    /// Not sendable; the reason (also in `meetmax_status`).
    Ineligible(String),
    /// Held after a permanent failure until the row changes or its status is cleared.
    Held(String),
    /// Another run holds it right now.
    Busy,
    /// Not started: the invocation's time ran out; the next run (or the message's next
    /// delivery) takes it.
    Deferred(String),
    /// Not approved and active any more.
    Skipped(String),
    /// The call failed; the class and message.
    Failed {
        /// Error class.
        class: ErrorClass,
        /// Message.
        message: String,
    },
}

impl Outcome {
    /// Whether the message that carried this registration should be delivered again.
    pub fn retry_via_queue(&self) -> bool {
        match self {
            Outcome::Busy | Outcome::Deferred(_) => true,
            Outcome::Failed { class, .. } => *class != ErrorClass::Permanent,
            _ => false,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// The run id (also in `integration.run`).
    pub run_id: String,
    /// Outcome per registration id.
    pub outcomes: BTreeMap<String, Outcome>,
    /// Registrations newly marked as waiting for the review gate (sweeps only).
    pub marked_waiting: u64,
    /// MeetMax calls made (every attempt).
    pub calls: u64,
}

impl RunReport {
    /// The run record's counts: written = added, adopted or edited; failed; the rest skipped.
    pub fn run_counts(&self) -> RunCounts {
        let c = self.counts();
        let get = |k: &str| c.get(k).copied().unwrap_or(0) as u64;
        let mut counts = RunCounts { read: self.outcomes.len() as u64, ..RunCounts::default() };
        counts.written = get("added") + get("adopted") + get("edited");
        counts.failed = get("failed");
        counts.skipped = counts.read - counts.written - counts.failed;
        counts.note(format!("{c:?}; {} MeetMax calls", self.calls));
        counts
    }

    /// Counts by outcome kind.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for o in self.outcomes.values() {
            let k = match o {
                Outcome::Added(_) => "added",
                Outcome::Adopted(_) => "adopted",
                Outcome::Edited { .. } => "edited",
                Outcome::Unchanged(_) => "unchanged",
                Outcome::Ineligible(_) => "ineligible",
                Outcome::Held(_) => "held",
                Outcome::Busy => "busy",
                Outcome::Deferred(_) => "deferred",
                Outcome::Skipped(_) => "skipped",
                Outcome::Failed { .. } => "failed",
            };
            *m.entry(k).or_default() += 1;
        }
        m
    }
}

/// Tunables read from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a claim (lease) on a record lasts. It is renewed right before each write and
    /// must outlast the longest call ([`Settings::longest_call`]), so that no other run can claim
    /// a record while a write to it is in flight.
    pub lease: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries on 429/5xx.
    pub retry: RetryPolicy,
    /// Containers that may run at once (the SQS maximum concurrency): each takes this share of
    /// an account's rate.
    pub instances: f64,
}

impl Settings {
    /// The longest one MeetMax write can take with its retries: every attempt's timeout plus the
    /// longest waits between them (a write is retried only after a 429).
    pub fn longest_call(&self) -> Duration {
        let attempts = self.retry.max_retries as u32 + 1;
        self.timeout * attempts + self.retry.max_retry_after.max(self.retry.max_delay) * self.retry.max_retries as u32
    }

    /// The time a write is given before the invocation's deadline: two attempts. A longer call
    /// (429s with long `Retry-After`s) may still be cut off by the deadline; its intent is
    /// recorded, so the next run looks before adding again.
    pub fn call_step(&self) -> Duration {
        self.timeout * 2
    }

    /// Refuses a lease that a call could outlast.
    pub fn check(&self) -> Result<(), SyncError> {
        if self.lease <= self.longest_call() {
            return Err(SyncError::Config(format!(
                "MEETMAX_LEASE_SECONDS={} must exceed the longest call with its retries ({} s)",
                self.lease.as_secs(),
                self.longest_call().as_secs()
            )));
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lease: Duration::from_secs(300),
            timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
            instances: 1.0,
        }
    }
}

/// Decides, after a MeetMax write (call, key), whether to crash there (tests).
pub type CrashPoint = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Test hooks.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Called after each MeetMax write with (call, key); `true` aborts the run right there,
    /// before the result is written — a crash between MeetMax's answer and the database.
    pub crash_after_call: Option<CrashPoint>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks").field("crash_after_call", &self.crash_after_call.is_some()).finish()
    }
}

/// What a cached client was built from; a change (rotated secret, new rate) builds a new one.
/// Debug never shows the consumer secret.
#[derive(Debug, Clone, PartialEq)]
struct ClientKey {
    base_url: String,
    credentials: Credentials,
    rate_per_second: f64,
    adaptive_rate: bool,
    max_rate_per_second: Option<f64>,
    concurrency: usize,
}

/// An account's client and its pacer (whose learned rate is saved after each run).
#[derive(Debug, Clone)]
struct CachedClient {
    key: ClientKey,
    client: MeetmaxClient,
    pacer: Pacer,
}

/// The vendor's name in `integration.vendor_pace`.
const PACE_VENDOR: &str = "meetmax";

/// The pacer of one instance (a `share` of the account's rate): fixed at the configured rate,
/// or adaptive from what was learned before (else the configured rate), between a tenth of the
/// configured rate and `max_rate_per_second` (default five times it).
fn pacer_for(account: &config::Account, learned: Option<StoredPace>, share: f64) -> Pacer {
    if !account.adaptive_rate {
        return Pacer::new(account.rate_per_second * share, account.concurrency);
    }
    let bounds = Adaptive {
        min_rate: account.rate_per_second / 10.0 * share,
        max_rate: account.max_rate_per_second.unwrap_or(5.0 * account.rate_per_second) * share,
    };
    let start = match learned {
        Some(p) => Learned { rate: p.rate_per_second * share, ceiling: p.ceiling_per_second.map(|c| c * share) },
        None => Learned { rate: account.rate_per_second * share, ceiling: None },
    };
    Pacer::adaptive(start, bounds, account.concurrency)
}

/// The service: build once per container; clients (and their pacing) live across invocations.
#[derive(Debug, Clone)]
pub struct MeetmaxSync {
    /// The warehouse pool.
    pub warehouse: Warehouse,
    /// Secrets (MeetMax credentials, attendee passwords).
    pub secrets: SecretsCache,
    /// Tunables.
    pub settings: Settings,
    /// Test hooks.
    pub hooks: Hooks,
    clients: Arc<Mutex<HashMap<String, CachedClient>>>,
}

impl MeetmaxSync {
    /// A service over `warehouse` and `secrets`.
    pub fn new(warehouse: Warehouse, secrets: SecretsCache, settings: Settings) -> MeetmaxSync {
        MeetmaxSync { warehouse, secrets, settings, hooks: Hooks::default(), clients: Arc::default() }
    }

    /// Builds the service from the environment (the warehouse variables, `MEETMAX_LEASE_SECONDS`,
    /// `MEETMAX_TIMEOUT_SECONDS`, `MEETMAX_INSTANCES`, `SECRET_TTL_SECONDS`).
    pub async fn from_env(env: &platform_runtime::Env) -> Result<MeetmaxSync, SyncError> {
        let cfg = |e: platform_runtime::env::ConfigError| SyncError::Config(e.to_string());
        let secret_ttl = env.parse_or("SECRET_TTL_SECONDS", 300u64).map_err(cfg)?;
        let settings = Settings {
            lease: Duration::from_secs(env.parse_or("MEETMAX_LEASE_SECONDS", 300u64).map_err(cfg)?),
            timeout: Duration::from_secs(env.parse_or("MEETMAX_TIMEOUT_SECONDS", 20u64).map_err(cfg)?),
            retry: RetryPolicy::default(),
            instances: env.parse_or("MEETMAX_INSTANCES", 1.0f64).map_err(cfg)?.max(1.0),
        };
        settings.check()?;
        // A connection per call in flight for its claim and result (none held across the call).
        let foundation =
            platform_aws::Foundation::from_env(|name| env.optional(name), Duration::from_secs(secret_ttl), 8).await?;
        Ok(MeetmaxSync::new(foundation.warehouse, foundation.secrets, settings))
    }

    /// The account's client and pacer: one per account and credentials, kept across invocations
    /// so that its pacing holds across runs; a new one starts from the pace learned before.
    async fn client(&self, account: &config::Account) -> Result<(MeetmaxClient, Pacer), SyncError> {
        let secret = self.secrets.get(&account.secret_id).await?;
        let credentials = Credentials::from_secret(secret.json())
            .map_err(|e| SyncError::Config(format!("account {}: {e}", account.name)))?;
        let key = ClientKey {
            base_url: account.base_url.clone(),
            credentials: credentials.clone(),
            rate_per_second: account.rate_per_second,
            adaptive_rate: account.adaptive_rate,
            max_rate_per_second: account.max_rate_per_second,
            concurrency: account.concurrency,
        };
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(&account.name)
            && c.key == key
        {
            return Ok((c.client.clone(), c.pacer.clone()));
        }
        let learned = if account.adaptive_rate { self.load_pace(&account.name).await } else { None };
        let pacer = pacer_for(account, learned, 1.0 / self.settings.instances);
        tracing::info!(account = %account.name, rate = pacer.rate(), adaptive = pacer.is_adaptive(), "MeetMax pacing");
        let http = VendorClient::new("meetmax", self.settings.timeout, self.settings.retry.clone())
            .map_err(|e| SyncError::Config(e.to_string()))?
            .with_pacer(pacer.clone());
        let client = MeetmaxClient::new(http, &account.base_url, credentials);
        clients.insert(account.name.clone(), CachedClient { key, client: client.clone(), pacer: pacer.clone() });
        Ok((client, pacer))
    }

    /// What adaptive pacing learned for `account` before; a failure to read it only costs the
    /// head start (pacing starts from the configured rate), so it is logged, never fatal.
    async fn load_pace(&self, account: &str) -> Option<StoredPace> {
        let loaded = match self.warehouse.conn().await {
            Ok(conn) => pace::load(&**conn, PACE_VENDOR, account).await,
            Err(e) => Err(e),
        };
        loaded.unwrap_or_else(|e| {
            tracing::warn!(%account, error = %e, "learned MeetMax pace not read; starting from the configured rate");
            None
        })
    }

    /// Keeps what an adaptive pacer learned for the next container; a failure only costs the
    /// next container its head start, so it is logged, never fatal.
    async fn save_pace(&self, account: &str, pacer: &Pacer) {
        if !pacer.is_adaptive() {
            return;
        }
        let learned = pacer.learned();
        let (accepted, refused) = pacer.take_counts();
        let whole = self.settings.instances;
        let stored = StoredPace {
            rate_per_second: learned.rate * whole,
            ceiling_per_second: learned.ceiling.map(|c| c * whole),
        };
        let saved = match self.warehouse.conn().await {
            Ok(conn) => pace::save(&**conn, PACE_VENDOR, account, stored, accepted, refused).await,
            Err(e) => Err(e),
        };
        match saved {
            Ok(()) => {
                tracing::info!(%account, rate = stored.rate_per_second, ceiling = ?stored.ceiling_per_second, accepted, refused, "MeetMax pace saved")
            }
            Err(e) => {
                tracing::warn!(%account, error = %e, "MeetMax pace not saved; the next container starts from the configured rate")
            }
        }
    }

    /// One run: the registrations `ids` (a queue message) or every released registration (the
    /// sweep, which also marks those the review gate holds). Writes a run record.
    pub async fn run(&self, ids: Option<&[String]>, trigger: &str) -> Result<RunReport, SyncError> {
        self.run_until(ids, trigger, Deadline::none()).await
    }

    /// [`MeetmaxSync::run`] that starts no MeetMax write the `deadline` would cut off: what is
    /// left is [`Outcome::Deferred`] (its message comes back), and the run record is closed.
    pub async fn run_until(
        &self,
        ids: Option<&[String]>,
        trigger: &str,
        deadline: Deadline,
    ) -> Result<RunReport, SyncError> {
        let run_id = Uuid::now_v7();
        let work = self.run_events(run_id, ids, deadline);
        let result = platform_warehouse::runs::recorded_apart(
            &self.warehouse,
            run_id,
            FUNCTION_NAME,
            trigger,
            work,
            RunReport::run_counts,
        )
        .await;
        if let Ok(report) = &result {
            tracing::info!(%run_id, counts = ?report.counts(), calls = report.calls, "meetmax sync finished");
            let counts = report.run_counts();
            let figures = platform_runtime::metrics::Figures {
                vendor_calls: report.calls,
                delivered: counts.written,
                partial: counts.failed > 0 || report.outcomes.values().any(Outcome::retry_via_queue),
                ..platform_runtime::metrics::Figures::of_run(&counts)
            };
            platform_runtime::metrics::emit(FUNCTION_NAME, "sync", &figures);
        }
        result
    }

    async fn run_events(
        &self,
        run_id: Uuid,
        ids: Option<&[String]>,
        deadline: Deadline,
    ) -> Result<RunReport, SyncError> {
        let (config, candidates, marked_waiting) = {
            let conn = self.warehouse.conn().await?;
            let config = config::load(&**conn).await?;
            let candidates = store::candidates(&**conn, ids).await?;
            let waiting = if ids.is_none() { store::mark_waiting(&**conn).await? } else { 0 };
            (config, candidates, waiting)
        };
        let mut by_form: BTreeMap<String, Vec<store::Candidate>> = BTreeMap::new();
        for c in candidates {
            by_form.entry(c.reg.form_id.clone().unwrap_or_default()).or_default().push(c);
        }
        let mut report = RunReport { run_id: run_id.to_string(), marked_waiting, ..RunReport::default() };
        for (form_id, candidates) in by_form {
            let Some(cfg) = config.events.get(&form_id) else { continue };
            // The originals always sent a password: creating attendees without one must be chosen.
            // Edits need none and go on; adds are refused (with the reason on the record).
            let refuse_adds = (cfg.password_secret_id.is_none() && !cfg.no_password).then(|| {
                let message = format!(
                    "configuration: MeetMax event {} (form {form_id}) names no password_secret_id and does not set \
                     no_password; no attendee is added until one of them is configured",
                    cfg.event_id
                );
                tracing::error!(%form_id, event_id = %cfg.event_id, "{message}");
                message
            });
            let account = config.accounts.get(&cfg.account).ok_or_else(|| {
                SyncError::Config(format!("form {form_id}: unknown MeetMax account '{}'", cfg.account))
            })?;
            let (client, pacer) = self.client(account).await?;
            let password =
                match &cfg.password_secret_id {
                    Some(id) => Some(self.secrets.get(id).await?.field("password").ok_or_else(|| {
                        SyncError::Config(format!("form {form_id}: secret {id} has no \"password\""))
                    })?),
                    None => None,
                };
            let calls_before = client.calls();
            let auth_failed = Arc::new(AtomicBool::new(false));
            let run = sync::EventRun {
                sync: self,
                client: client.with_auth_latch(auth_failed.clone()),
                cfg,
                owner: run_id,
                concurrency: account.concurrency,
                list_limit: account.list_limit,
                password,
                refuse_adds,
                deadline,
            };
            let outcomes = run.run(candidates).await;
            self.save_pace(&account.name, &pacer).await;
            let outcomes = outcomes?;
            if auth_failed.load(Ordering::SeqCst) {
                // Rotated credentials are read again on the next run.
                self.secrets.invalidate(&account.secret_id).await;
            }
            report.calls += client.calls() - calls_before;
            report.outcomes.extend(outcomes);
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(adaptive_rate: bool) -> config::Account {
        config::Account {
            name: "a".into(),
            environment: "sandbox".into(),
            base_url: "http://127.0.0.1:9".into(),
            secret_id: "s".into(),
            rate_per_second: 20.0,
            adaptive_rate,
            max_rate_per_second: None,
            concurrency: 4,
            list_limit: 1000,
        }
    }

    #[test]
    fn a_new_pacer_starts_from_the_learned_pace_shared_between_instances() {
        let learned = StoredPace { rate_per_second: 30.0, ceiling_per_second: Some(32.0) };
        // Two instances: each takes half of the account's learned rate and ceiling.
        let p = pacer_for(&account(true), Some(learned), 0.5);
        assert!(p.is_adaptive());
        assert_eq!(p.learned(), Learned { rate: 15.0, ceiling: Some(16.0) });
        // Nothing learned yet: the configured rate.
        assert_eq!(pacer_for(&account(true), None, 1.0).learned(), Learned { rate: 20.0, ceiling: None });
        // A learned rate above the bound (5 x the configured rate by default) is clamped.
        let fast = StoredPace { rate_per_second: 500.0, ceiling_per_second: None };
        assert_eq!(pacer_for(&account(true), Some(fast), 1.0).rate(), 100.0);
        // A fixed account ignores what was learned.
        let fixed = pacer_for(&account(false), Some(learned), 1.0);
        assert!(!fixed.is_adaptive());
        assert_eq!(fixed.rate(), 20.0);
    }
}
