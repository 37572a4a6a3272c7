//! company-dedupe: every new organisation name is inserted into
//! `conferences_events.exchange_organizations` once (blank names never), with a suggested clean
//! name, its score and alternatives beside it (`integration.organization_name`); an exact key
//! match may be approved automatically when `integration.setting` says so; and each approved,
//! active registration whose company name is settled is released to meetmax-sync ([`gate`]);
//! changed registrations released before are announced again so their edits reach MeetMax.
//!
//! Review by SQL works as it always did; [`review`] adds the review workbook round trip.

pub mod gate;
pub mod names;
pub mod review;
pub mod workbook;

use platform_aws::SqsSender;
use platform_warehouse::{Warehouse, WarehouseError};

/// Name of this function in run records.
pub const FUNCTION_NAME: &str = "company-dedupe";

/// Errors that fail an invocation or a message.
#[derive(Debug, thiserror::Error)]
pub enum DedupeError {
    /// The warehouse failed.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// SQS failed.
    #[error(transparent)]
    Aws(#[from] platform_aws::AwsError),
    /// Configuration is missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
}

platform_warehouse::impl_from_db_error!(DedupeError);

impl platform_runtime::ServiceError for DedupeError {
    fn kind(&self) -> platform_runtime::ErrorKind {
        use platform_runtime::ErrorKind;
        match self {
            DedupeError::Warehouse(_) => ErrorKind::Warehouse,
            DedupeError::Aws(_) => ErrorKind::Aws,
            DedupeError::Config(_) => ErrorKind::Config,
        }
    }
}

/// The service: build once per container.
#[derive(Debug, Clone)]
pub struct Dedupe {
    /// The warehouse pool.
    pub warehouse: Warehouse,
    /// SQS sender.
    pub sqs: SqsSender,
    /// The meetmax-sync queue (`MEETMAX_QUEUE_URL`).
    pub meetmax_queue_url: String,
    /// S3 client.
    pub s3: aws_sdk_s3::Client,
    /// Bucket of the review workbooks (`REVIEW_BUCKET`).
    pub review_bucket: Option<String>,
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// The run id (also in `integration.run`).
    pub run_id: String,
    /// Organisation names.
    pub names: names::NamesReport,
    /// Registrations released now.
    pub released: Vec<String>,
    /// Registrations of this pass released before, announced again (their rows changed).
    pub announced_again: Vec<String>,
    /// Ids sent to the meetmax-sync queue (this pass's and any left unsent before).
    pub published: u64,
}

impl Dedupe {
    /// Builds the service from the environment (`MEETMAX_QUEUE_URL`, the warehouse variables).
    pub async fn from_env(env: &platform_runtime::Env) -> Result<Dedupe, DedupeError> {
        let meetmax_queue_url = env.required("MEETMAX_QUEUE_URL").map_err(|e| DedupeError::Config(e.to_string()))?;
        let secret_ttl = env.parse_or("SECRET_TTL_SECONDS", 300u64).map_err(|e| DedupeError::Config(e.to_string()))?;
        let platform_aws::Foundation { sdk, warehouse, .. } = platform_aws::Foundation::from_env(
            |name| env.optional(name),
            std::time::Duration::from_secs(secret_ttl),
            2,
        )
        .await?;
        Ok(Dedupe {
            warehouse,
            sqs: SqsSender::new(platform_aws::sqs::Client::new(&sdk)),
            meetmax_queue_url,
            s3: platform_aws::s3::client(
                &sdk,
                env.flag("S3_FORCE_PATH_STYLE", false).map_err(|e| DedupeError::Config(e.to_string()))?,
            ),
            review_bucket: env.optional("REVIEW_BUCKET"),
        })
    }

    /// Sends the unsent release announcements of the outbox to meetmax-sync (those of this
    /// pass, any left unsent before, and a resync an operator asked for); returns how many ids
    /// were sent. A failure is logged: the rows stay unsent and the next pass sends them.
    pub async fn publish_released(&self, conn: &mut platform_warehouse::tokio_postgres::Client, run_id: &str) -> u64 {
        use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_RELEASED};
        let queue = self.meetmax_queue_url.as_str();
        platform_warehouse::outbox::drain(conn, KIND_REGISTRATIONS_RELEASED, |ids| {
            let envelopes = Envelope::batch(KIND_REGISTRATIONS_RELEASED, &ids, run_id);
            async move { self.sqs.send(queue, &envelopes).await }
        })
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "outbox not drained; the next pass will send it");
            0
        })
    }

    /// One pass: the new names of `registration_ids` (all registrations when `None`, the
    /// scheduled sweep), then the gate, then the outbox to meetmax-sync; writes a run record.
    pub async fn pass(&self, registration_ids: Option<&[String]>, trigger: &str) -> Result<PassReport, DedupeError> {
        use platform_domain::run::RunCounts;
        let run_id = uuid::Uuid::now_v7();
        let mut conn = self.warehouse.conn().await?;
        let counts = |(n, r): &(names::NamesReport, gate::Released)| RunCounts {
            read: n.new,
            written: n.inserted + r.new.len() as u64,
            skipped: n.new - n.inserted,
            failed: 0,
            notes: vec![format!(
                "{} names inserted, {} approved automatically, {} registrations released, {} announced again",
                n.inserted,
                n.auto_approved,
                r.new.len(),
                r.again.len()
            )],
        };
        let work = async |conn: &mut platform_warehouse::Connection| {
            let names = names::insert_new(conn, registration_ids).await?;
            let released = gate::release(conn, run_id, registration_ids).await?;
            Ok::<_, DedupeError>((names, released))
        };
        let result = platform_warehouse::runs::recorded(&mut conn, run_id, FUNCTION_NAME, trigger, work, counts).await;
        let (names, released) = result?;
        let run_counts = counts(&(names.clone(), released.clone()));
        let run = run_id.to_string();
        let published = self.publish_released(&mut conn, &run).await;
        tracing::info!(%run_id, inserted = names.inserted, released = released.new.len(), again = released.again.len(), published, "dedupe pass finished");
        let figures = platform_runtime::metrics::Figures {
            delivered: published,
            ..platform_runtime::metrics::Figures::of_run(&run_counts)
        };
        platform_runtime::metrics::emit(FUNCTION_NAME, "pass", &figures);
        Ok(PassReport { run_id: run, names, released: released.new, announced_again: released.again, published })
    }
}
