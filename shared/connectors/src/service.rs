//! The connector-pull service: a plan (one message per connection stream), a pull (one message:
//! continue or start a stream's pull until the deadline), an operator's full re-pull, a preview,
//! and the confirmation of a removal the share guard refused.

use std::{collections::BTreeMap, time::Duration};

use platform_aws::{SecretsCache, SqsSender};
use platform_domain::envelope::{ENVELOPE_VERSION, Envelope};
use platform_runtime::Deadline;
use platform_vendors::{RetryPolicy, VendorClient};
use platform_warehouse::Warehouse;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{ConnectorError, KIND_CONNECTOR_PULL, Progress, Provider, auth::Auth, engine, fetch, preview, store};

/// What an operator's confirmation of a refused removal did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovalConfirmed {
    /// The connection.
    pub connection: String,
    /// The stream.
    pub stream: String,
    /// The refused pull whose removal was confirmed.
    pub run_id: Uuid,
    /// Rows marked removed.
    pub removed: u64,
}

/// The answer to a preview: where its report is and what it read.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewAnswer {
    /// The connection.
    pub connection: String,
    /// The provider accepted the credentials (a refusal is an error instead).
    pub credentials: &'static str,
    /// The manifest that read it ([`Provider::manifest_version`]).
    pub manifest: String,
    /// What the manifest tells operators about the provider.
    pub notes: Vec<String>,
    /// The report's S3 key.
    pub key: String,
    /// A presigned link to the report.
    pub url: String,
    /// Per stream: the records read and the fields seen.
    pub streams: BTreeMap<String, StreamSample>,
    /// How many records a pull would skip or divert (listed in the report).
    pub skips: usize,
    /// Mapped provider fields not seen in any record read: stream, target field, provider field.
    pub unmatched_mappings: Vec<[String; 3]>,
    /// Requests the preview made.
    pub requests: u64,
    /// What this preview saw of the provider's shapes (key → note).
    pub observed: BTreeMap<String, String>,
    /// The connection's first-contact notes from earlier pulls (key → note).
    pub first_contact: BTreeMap<String, String>,
    /// Per stream: the first records read (flattened), at most [`PREVIEW_SAMPLE_ROWS`].
    pub samples: BTreeMap<String, Vec<BTreeMap<String, String>>>,
    /// What a pull would skip or divert: stream, record, what, why (all of them are in the report).
    pub skipped: Vec<[String; 4]>,
    /// Fields that may hold a photo: stream, field, why.
    pub photo_candidates: Vec<[String; 3]>,
}

/// Records per stream a preview answer carries (the report has every record read).
pub const PREVIEW_SAMPLE_ROWS: usize = 5;

/// One stream in a [`PreviewAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamSample {
    /// Records read.
    pub records: usize,
    /// Field names seen, in order of first appearance.
    pub fields: Vec<String>,
}

/// Deploy-time settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The connector queue (plans and continuations go there).
    pub queue_url: Option<String>,
    /// Bucket of photos and preview reports.
    pub bucket: Option<String>,
    /// Validity of a preview's presigned link.
    pub link_ttl: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Most pages (or dependent-record steps) one invocation reads before it hands the pull to
    /// the next message (`CONNECTOR_MAX_PAGES`; default: as many as the deadline allows).
    pub max_pages: Option<u32>,
}

impl Settings {
    /// `CONNECTOR_QUEUE_URL`, `CONNECTOR_BUCKET`, `PREVIEW_LINK_SECONDS` (default and most 7
    /// days), `CONNECTOR_TIMEOUT_SECONDS` (default 30), `CONNECTOR_MAX_PAGES`.
    pub fn from_env(env: &platform_runtime::Env) -> Result<Settings, ConnectorError> {
        let cfg = |e: platform_runtime::env::ConfigError| ConnectorError::Config(e.to_string());
        Ok(Settings {
            queue_url: env.optional("CONNECTOR_QUEUE_URL"),
            bucket: env.optional("CONNECTOR_BUCKET"),
            link_ttl: Duration::from_secs(
                env.parse_or("PREVIEW_LINK_SECONDS", 7 * 24 * 3600u64).map_err(cfg)?.min(7 * 24 * 3600),
            ),
            timeout: Duration::from_secs(env.parse_or("CONNECTOR_TIMEOUT_SECONDS", 30u64).map_err(cfg)?),
            max_pages: env
                .optional("CONNECTOR_MAX_PAGES")
                .map(|v| v.parse())
                .transpose()
                .map_err(|_| ConnectorError::Config("CONNECTOR_MAX_PAGES must be a whole number".into()))?,
        })
    }
}

/// The connector-pull service, built once per container.
#[derive(Debug, Clone)]
pub struct Connectors {
    warehouse: Warehouse,
    secrets: SecretsCache,
    sqs: Option<SqsSender>,
    s3: Option<platform_aws::s3::Client>,
    http: VendorClient,
    /// Settings.
    pub settings: Settings,
}

/// What one invocation did to a stream pull, with the run's record so far.
#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    /// Connection.
    pub connection: String,
    /// Stream.
    pub stream: String,
    /// The pull's run.
    pub run_id: Uuid,
    /// What happened.
    pub progress: Progress,
    /// The run record (mode, counts, skipped reasons, removal, error).
    pub run: Value,
}

impl Connectors {
    /// A service over its parts.
    pub fn new(
        warehouse: Warehouse,
        secrets: SecretsCache,
        sqs: Option<SqsSender>,
        s3: Option<platform_aws::s3::Client>,
        settings: Settings,
    ) -> Result<Connectors, ConnectorError> {
        let policy = RetryPolicy { max_retries: 4, max_retry_after: Duration::from_secs(60), ..RetryPolicy::default() };
        let http = VendorClient::new("connector", settings.timeout, policy)?;
        Ok(Connectors { warehouse, secrets, sqs, s3, http, settings })
    }

    /// Builds the service from the environment: the warehouse variables, [`Settings::from_env`],
    /// `SECRET_TTL_SECONDS`, `S3_FORCE_PATH_STYLE`.
    pub async fn from_env(env: &platform_runtime::Env) -> Result<Connectors, ConnectorError> {
        let cfg = |e: platform_runtime::env::ConfigError| ConnectorError::Config(e.to_string());
        let settings = Settings::from_env(env)?;
        let secret_ttl = env.parse_or("SECRET_TTL_SECONDS", 300u64).map_err(cfg)?;
        let foundation =
            platform_aws::Foundation::from_env(|name| env.optional(name), Duration::from_secs(secret_ttl), 4).await?;
        let sqs = Some(SqsSender::new(platform_aws::sqs::Client::new(&foundation.sdk)));
        let s3 = Some(platform_aws::s3::client(&foundation.sdk, env.flag("S3_FORCE_PATH_STYLE", false).map_err(cfg)?));
        Connectors::new(foundation.warehouse, foundation.secrets, sqs, s3, settings)
    }

    /// The warehouse.
    pub fn warehouse(&self) -> &Warehouse {
        &self.warehouse
    }

    async fn open(
        &self,
        name: &str,
    ) -> Result<(store::Connection, Vec<store::Stream>, &'static Provider, Auth), ConnectorError> {
        let db = self.warehouse.conn().await?;
        let connection = store::connection(&**db, name).await?;
        let streams = store::streams(&**db, name).await?;
        drop(db);
        let provider = crate::provider(&connection.provider).ok_or_else(|| {
            ConnectorError::Config(format!("connection {name}: unknown provider {:?}", connection.provider))
        })?;
        let secret = self.secrets.get(&connection.secret_id).await?;
        let auth = Auth::from_secret(provider, secret.json())
            .map_err(|e| ConnectorError::Config(format!("connection {name}: {e}")))?;
        Ok((connection, streams, provider, auth))
    }

    fn rate(provider: &Provider, connection: &store::Connection) -> f64 {
        provider.pacing_rate(connection.settings.rate_per_minute)
    }

    /// Plans a pull of every enabled root stream of every enabled connection (or of `only`): one
    /// message each, to the connector queue. A stream whose pull is under way gets a message that
    /// continues it (its lease keeps two invocations from pulling it at once).
    pub async fn plan(&self, only: Option<&str>) -> Result<Vec<Envelope>, ConnectorError> {
        let db = self.warehouse.conn().await?;
        let names = match only {
            Some(n) => vec![store::connection(&**db, n).await?.name],
            None => store::enabled_connections(&**db).await?,
        };
        let mut envelopes = Vec::new();
        for name in names {
            let connection = store::connection(&**db, &name).await?;
            let Some(provider) = crate::provider(&connection.provider) else { continue };
            for s in store::streams(&**db, &name).await? {
                if !s.enabled || !provider.stream(&s.stream).is_some_and(|spec| spec.is_root()) {
                    continue;
                }
                let run_id = s.pull.as_ref().map_or_else(Uuid::now_v7, |p| p.run_id);
                envelopes.push(Envelope {
                    kind: KIND_CONNECTOR_PULL.into(),
                    version: ENVELOPE_VERSION,
                    ids: vec![format!("{name}/{}", s.stream)],
                    run_id: run_id.to_string(),
                });
            }
        }
        drop(db);
        self.send(&envelopes).await?;
        Ok(envelopes)
    }

    async fn send(&self, envelopes: &[Envelope]) -> Result<(), ConnectorError> {
        if envelopes.is_empty() {
            return Ok(());
        }
        match (&self.sqs, &self.settings.queue_url) {
            (Some(sqs), Some(url)) => Ok(sqs.send(url, envelopes).await?),
            _ => Err(ConnectorError::Config("CONNECTOR_QUEUE_URL is not set: nothing can be queued".into())),
        }
    }

    /// Handles one `connector.pull` message: pulls until done or the deadline, then queues the
    /// continuation (same run) when the pull is not complete.
    pub async fn handle(&self, envelope: &Envelope, deadline: &Deadline) -> Result<Vec<PullReport>, ConnectorError> {
        let run_id: Uuid = envelope
            .run_id
            .parse()
            .map_err(|_| ConnectorError::Config(format!("run_id {:?} is not a UUID", envelope.run_id)))?;
        let mut reports = Vec::new();
        for id in &envelope.ids {
            let (connection, stream) = id
                .split_once('/')
                .ok_or_else(|| ConnectorError::Config(format!("id {id:?} is not <connection>/<stream>")))?;
            let report = self.pull(connection, stream, run_id, "sqs", deadline).await?;
            if report.progress == Progress::Continue {
                self.send(&[Envelope { ids: vec![id.clone()], ..envelope.clone() }]).await?;
            }
            reports.push(report);
        }
        Ok(reports)
    }

    /// Pulls one stream (see [`engine::Pull::run`]).
    pub async fn pull(
        &self,
        connection: &str,
        stream: &str,
        run_id: Uuid,
        trigger: &str,
        deadline: &Deadline,
    ) -> Result<PullReport, ConnectorError> {
        let (conn, streams, provider, auth) = self.open(connection).await?;
        if !conn.enabled {
            return Err(ConnectorError::Config(format!("connection {connection} is disabled")));
        }
        let fetcher = fetch::Fetcher::new(provider, &self.http, &auth, &self.warehouse, Self::rate(provider, &conn));
        let photos = match (&self.s3, &self.settings.bucket) {
            (Some(s3), Some(bucket)) => Some(engine::PhotoStore { s3, bucket }),
            _ => None,
        };
        let pull = engine::Pull {
            provider,
            connection: &conn,
            streams: &streams,
            fetcher: &fetcher,
            warehouse: &self.warehouse,
            photos,
            max_pages: self.settings.max_pages,
        };
        let span = tracing::info_span!("pull", connection, stream, %run_id);
        let progress = {
            let _e = span.enter();
            tracing::info!("pull");
            drop(_e);
            tracing::Instrument::instrument(pull.run(stream, run_id, trigger, deadline), span.clone()).await?
        };
        let (current, run) = store::run_record(&**self.warehouse.conn().await?, connection, stream, run_id).await?;
        tracing::info!(connection, stream, ?progress, run = %run, "pull step done");
        if progress == Progress::Complete {
            // A pull's figures once, when it completes (its steps add to one run record).
            platform_runtime::metrics::emit(crate::FUNCTION_NAME, "pull", &pull_figures(&run));
        }
        Ok(PullReport { connection: connection.into(), stream: stream.into(), run_id: current, progress, run })
    }

    /// An operator's full re-pull of one stream: the next pull reads everything (the cursor is
    /// kept until it completes), started now and continued through the queue if needed.
    pub async fn pull_full(
        &self,
        connection: &str,
        stream: &str,
        deadline: &Deadline,
    ) -> Result<PullReport, ConnectorError> {
        if !store::request_full(&**self.warehouse.conn().await?, connection, stream).await? {
            return Err(ConnectorError::NotFound(format!("connection {connection} has no stream {stream:?}")));
        }
        self.pull_now(connection, stream, deadline).await
    }

    /// Pulls one stream now (a new run unless one is under way), continuing through the queue
    /// when the deadline comes first.
    pub async fn pull_now(
        &self,
        connection: &str,
        stream: &str,
        deadline: &Deadline,
    ) -> Result<PullReport, ConnectorError> {
        let run_id = Uuid::now_v7();
        let report = self.pull(connection, stream, run_id, "operator", deadline).await?;
        if report.progress == Progress::Continue {
            self.send(&[Envelope {
                kind: KIND_CONNECTOR_PULL.into(),
                version: ENVELOPE_VERSION,
                ids: vec![format!("{connection}/{stream}")],
                run_id: report.run_id.to_string(),
            }])
            .await?;
        }
        Ok(report)
    }

    /// Queues a pull of one stream, or of every enabled root stream of the connection, for the
    /// connector queue (`full`: the next pull reads every record). A stream whose pull is under
    /// way gets a message that continues it. Returns the `<connection>/<stream>` ids queued.
    pub async fn queue_pull(
        &self,
        connection: &str,
        stream: Option<&str>,
        full: bool,
    ) -> Result<Vec<String>, ConnectorError> {
        let db = self.warehouse.conn().await?;
        let conn = store::connection(&**db, connection).await?;
        if !conn.enabled {
            return Err(ConnectorError::Config(format!("connection {connection} is disabled")));
        }
        let provider = crate::provider(&conn.provider).ok_or_else(|| {
            ConnectorError::Config(format!("connection {connection}: unknown provider {:?}", conn.provider))
        })?;
        let rows = store::streams(&**db, connection).await?;
        if let Some(name) = stream {
            let row = rows
                .iter()
                .find(|s| s.stream == name)
                .ok_or_else(|| ConnectorError::NotFound(format!("connection {connection} has no stream {name:?}")))?;
            if !provider.stream(name).is_some_and(|spec| spec.is_root()) {
                return Err(ConnectorError::Config(format!(
                    "{name} is fed by another stream of {}: pull that one",
                    provider.display
                )));
            }
            if !row.enabled {
                return Err(ConnectorError::Config(format!("stream {connection}/{name} is disabled")));
            }
        }
        let mut envelopes = Vec::new();
        for s in rows.iter().filter(|s| stream.is_none_or(|n| n == s.stream)) {
            if !s.enabled || !provider.stream(&s.stream).is_some_and(|spec| spec.is_root()) {
                continue;
            }
            if full {
                store::request_full(&**db, connection, &s.stream).await?;
            }
            let run_id = s.pull.as_ref().map_or_else(Uuid::now_v7, |p| p.run_id);
            envelopes.push(Envelope {
                kind: KIND_CONNECTOR_PULL.into(),
                version: ENVELOPE_VERSION,
                ids: vec![format!("{connection}/{}", s.stream)],
                run_id: run_id.to_string(),
            });
        }
        drop(db);
        self.send(&envelopes).await?;
        Ok(envelopes.into_iter().flat_map(|e| e.ids).collect())
    }

    /// What confirming the stream's latest refused removal would mark removed now (none: no
    /// refused removal waits).
    pub async fn removal_preview(
        &self,
        connection: &str,
        stream: &str,
        limit: i64,
    ) -> Result<Option<store::RemovalPreview>, ConnectorError> {
        let db = self.warehouse.conn().await?;
        let conn = store::connection(&**db, connection).await?;
        let provider = crate::provider(&conn.provider).ok_or_else(|| {
            ConnectorError::Config(format!("connection {connection}: unknown provider {:?}", conn.provider))
        })?;
        let spec = provider
            .stream(stream)
            .ok_or_else(|| ConnectorError::NotFound(format!("{} has no stream {stream:?}", provider.display)))?;
        store::removal_preview(&**db, spec.target, connection, stream, limit).await
    }

    /// Confirms the removal the share guard refused for a stream's latest refused pull: rows not
    /// seen since that pull started (and still not seen) are marked removed.
    /// With `expected`, the removal is refused (nothing removed) unless that many rows would go
    /// now: what an operator previewed is what is removed.
    pub async fn confirm_removal(
        &self,
        connection: &str,
        stream: &str,
        expected: Option<u64>,
    ) -> Result<RemovalConfirmed, ConnectorError> {
        let provider_key = {
            let db = self.warehouse.conn().await?;
            store::connection(&**db, connection).await?.provider
        };
        let provider = crate::provider(&provider_key).ok_or_else(|| {
            ConnectorError::Config(format!("connection {connection}: unknown provider {provider_key:?}"))
        })?;
        let spec = provider
            .stream(stream)
            .ok_or_else(|| ConnectorError::NotFound(format!("{} has no stream {stream:?}", provider.display)))?;
        let mut db = self.warehouse.conn().await?;
        let tx = crate::store::client(&mut db).transaction().await?;
        let (run_id, started_at) = store::pending_removal(&tx, connection, stream)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no refused removal waits for {connection}/{stream}")))?;
        if let Some(expected) = expected {
            let (now, _) = store::outdated_counts(&tx, spec.target, connection, started_at).await?;
            if now as u64 != expected {
                return Err(ConnectorError::Config(format!(
                    "{now} rows would go now, not the {expected} previewed: look again; nothing was removed"
                )));
            }
        }
        let removal =
            store::remove_outdated(&tx, spec.target, connection, stream, run_id, started_at, 1.0, true).await?;
        let removed = match removal {
            store::Removal::Removed(n) => n,
            _ => 0,
        };
        store::removal_confirmed(&tx, connection, stream, run_id, removed).await?;
        tx.commit().await?;
        Ok(RemovalConfirmed { connection: connection.to_owned(), stream: stream.to_owned(), run_id, removed })
    }

    /// The preview: checks the credentials, reads the first page of every stream without
    /// touching the target tables, writes the report to S3 and answers with a presigned link.
    pub async fn preview(&self, connection: &str) -> Result<PreviewAnswer, ConnectorError> {
        let (conn, streams, provider, auth) = self.open(connection).await?;
        let fetcher = fetch::Fetcher::new(provider, &self.http, &auth, &self.warehouse, Self::rate(provider, &conn));
        let mappings: BTreeMap<String, Value> = streams.iter().map(|s| (s.stream.clone(), s.mapping.clone())).collect();
        let mut read = preview::read(provider, &fetcher, &mappings, &conn.settings).await?;
        read.first_contact = store::first_contact(&**self.warehouse.conn().await?, connection).await?;
        let bytes =
            preview::workbook(provider, connection, &read).map_err(|e| ConnectorError::Workbook(e.to_string()))?;
        let (Some(s3), Some(bucket)) = (&self.s3, &self.settings.bucket) else {
            return Err(ConnectorError::Config(
                "CONNECTOR_BUCKET is not set: the preview report has nowhere to go".into(),
            ));
        };
        let key = format!("previews/{connection}/{}.xlsx", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"));
        platform_aws::s3::put(s3, bucket, &key, bytes, platform_workbook::CONTENT_TYPE).await?;
        let url = platform_aws::s3::presigned_get(s3, bucket, &key, self.settings.link_ttl).await?;
        let samples = read
            .streams
            .iter()
            .map(|(name, (rows, _))| (name.clone(), rows.iter().take(PREVIEW_SAMPLE_ROWS).cloned().collect()))
            .collect();
        let streams = read
            .streams
            .into_iter()
            .map(|(name, (rows, fields))| (name, StreamSample { records: rows.len(), fields }))
            .collect();
        Ok(PreviewAnswer {
            connection: connection.to_owned(),
            credentials: "accepted",
            manifest: read.manifest,
            notes: read.notes,
            key,
            url,
            streams,
            skips: read.skips.len(),
            skipped: read.skips,
            photo_candidates: read.photo_candidates,
            samples,
            unmatched_mappings: read.unmatched_mappings,
            requests: fetcher.requests(),
            observed: read.observed,
            first_contact: read.first_contact,
        })
    }
}

/// The metrics of a completed pull, from its run record.
fn pull_figures(run: &Value) -> platform_runtime::metrics::Figures {
    let n = |key: &str| run[key].as_u64().unwrap_or(0);
    platform_runtime::metrics::Figures {
        processed: n("read_count"),
        failed: n("failed_count"),
        partial: run["status"] != "succeeded",
        delivered: 0,
        skipped: n("skipped_count") + n("unchanged_count"),
        rows_written: n("created_count") + n("updated_count") + n("removed_count"),
        vendor_calls: n("requests"),
        vendor_latency_ms: Vec::new(),
    }
}
