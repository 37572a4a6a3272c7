//! spreadsheet-export's service: every subscribed lander's lead spreadsheet, planned at 05:00 UTC
//! as one queue job per subscription, each written by a worker as an XLSX streamed from the
//! warehouse into a constant-memory sheet, uploaded to S3 by multipart upload, linked with a
//! presigned URL and e-mailed once to the subscription's recipients.
//!
//! - [`template`]: the generic template and custom templates (data), checked before use.
//! - [`rows`]: the report's query (filters, sort) and each lead's cells.
//! - [`plan`]: the morning plan (one job per subscription; a broken template refused there).
//! - [`export`]: one job: claim, write, upload, record, e-mail once.

pub mod export;
pub mod plan;
pub mod preview;
pub mod rows;
pub mod template;

use std::{path::PathBuf, time::Duration};

use chrono::{DateTime, NaiveDate, Utc};
use platform_aws::{AwsError, SqsSender};
use platform_warehouse::{Warehouse, WarehouseError, impl_from_db_error};

/// Name of this function in run records.
pub const FUNCTION_NAME: &str = "spreadsheet-export";

/// The envelope kind of one export job (`<subscription>/<report date>`).
pub const KIND_EXPORT_REQUESTED: &str = "export.requested";

/// S3 allows presigned links of at most seven days.
pub const MAX_LINK: Duration = Duration::from_secs(7 * 24 * 3600);

/// Errors of the export service.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Configuration (environment or tables).
    #[error("configuration: {0}")]
    Config(String),
    /// The warehouse.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// AWS (S3, SES, SQS).
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Writing the workbook.
    #[error("writing the workbook: {0}")]
    Workbook(#[from] platform_workbook::XlsxError),
    /// The scratch file.
    #[error("scratch file: {0}")]
    Io(#[from] std::io::Error),
    /// Another worker holds this export now; the job comes back later.
    #[error("export {0} is being written by another worker")]
    Busy(String),
}

impl_from_db_error!(ExportError);

impl platform_runtime::ServiceError for ExportError {
    fn kind(&self) -> platform_runtime::ErrorKind {
        use platform_runtime::ErrorKind;
        match self {
            ExportError::Config(_) => ErrorKind::Config,
            ExportError::Warehouse(_) => ErrorKind::Warehouse,
            ExportError::Aws(_) => ErrorKind::Aws,
            ExportError::Workbook(_) | ExportError::Io(_) | ExportError::Busy(_) => ErrorKind::Internal,
        }
    }
}

/// Deploy-time settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The export job queue (`EXPORT_QUEUE_URL`).
    pub queue_url: Option<String>,
    /// The bucket of `exports/…` (`EXPORT_BUCKET`).
    pub bucket: String,
    /// Validity of the presigned link (`EXPORT_LINK_SECONDS`, default and most 7 days).
    pub link: Duration,
    /// The SES identity e-mails are sent from (`EXPORT_EMAIL_FROM`; unset: not sent).
    pub email_from: Option<String>,
    /// Where workbooks are written before upload (`EXPORT_SCRATCH_DIR`, default the system's
    /// temporary directory: Lambda's `/tmp`).
    pub scratch: PathBuf,
    /// How long a worker owns an export (`EXPORT_CLAIM_SECONDS`, default 900).
    pub claim: Duration,
    /// Rows fetched from the warehouse per round trip (`EXPORT_FETCH_ROWS`, default 2000).
    pub fetch_rows: i32,
    /// Multipart upload part size, the memory the upload holds (`EXPORT_PART_MB`, default 8,
    /// at least S3's 5).
    pub part_bytes: usize,
    /// Secret `{"access_key_id", "secret_access_key"}` of the identity that signs the links
    /// (`EXPORT_LINK_SIGNER_SECRET_ID`). A presigned link dies with the credentials that signed
    /// it: the function's role credentials last hours, so a link meant to work for days needs
    /// long-lived keys (deployed: an IAM user allowed to read `exports/` only). Unset, the
    /// function's own credentials sign.
    pub link_signer_secret: Option<String>,
}

impl Settings {
    /// `EXPORT_QUEUE_URL`, `EXPORT_BUCKET` (required), `EXPORT_LINK_SECONDS`,
    /// `EXPORT_EMAIL_FROM`, `EXPORT_SCRATCH_DIR`, `EXPORT_CLAIM_SECONDS`, `EXPORT_FETCH_ROWS`,
    /// `EXPORT_PART_MB`, `EXPORT_LINK_SIGNER_SECRET_ID`.
    pub fn from_env(env: &platform_runtime::Env) -> Result<Settings, ExportError> {
        let cfg = |e: platform_runtime::env::ConfigError| ExportError::Config(e.to_string());
        let link = Duration::from_secs(env.parse_or("EXPORT_LINK_SECONDS", MAX_LINK.as_secs()).map_err(cfg)?);
        if link.is_zero() || link > MAX_LINK {
            return Err(ExportError::Config("EXPORT_LINK_SECONDS must be 1 to 604800 (S3's 7 days)".into()));
        }
        Ok(Settings {
            queue_url: env.optional("EXPORT_QUEUE_URL"),
            bucket: env.required("EXPORT_BUCKET").map_err(cfg)?,
            link,
            email_from: env.optional("EXPORT_EMAIL_FROM"),
            scratch: env.optional("EXPORT_SCRATCH_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir),
            claim: Duration::from_secs(env.parse_or("EXPORT_CLAIM_SECONDS", 900u64).map_err(cfg)?),
            fetch_rows: env.parse_or("EXPORT_FETCH_ROWS", 2000i32).map_err(cfg)?.max(1),
            part_bytes: env.parse_or("EXPORT_PART_MB", 8usize).map_err(cfg)?.max(5) * 1024 * 1024,
            link_signer_secret: env.optional("EXPORT_LINK_SIGNER_SECRET_ID"),
        })
    }
}

/// The service (one per container).
pub struct Exporter {
    warehouse: Warehouse,
    sqs: Option<SqsSender>,
    s3: platform_aws::s3::Client,
    ses: Option<platform_aws::ses::Client>,
    secrets: Option<platform_aws::SecretsCache>,
    settings: Settings,
}

impl Exporter {
    /// A service over its dependencies.
    pub fn new(
        warehouse: Warehouse,
        sqs: Option<SqsSender>,
        s3: platform_aws::s3::Client,
        ses: Option<platform_aws::ses::Client>,
        settings: Settings,
    ) -> Exporter {
        Exporter { warehouse, sqs, s3, ses, secrets: None, settings }
    }

    /// With a secrets cache (for the link signer's keys).
    pub fn with_secrets(mut self, secrets: platform_aws::SecretsCache) -> Exporter {
        self.secrets = Some(secrets);
        self
    }

    /// The S3 client that signs links: one with the link signer's keys when configured.
    pub(crate) async fn link_client(&self) -> Result<platform_aws::s3::Client, ExportError> {
        let Some(secret_id) = &self.settings.link_signer_secret else { return Ok(self.s3.clone()) };
        let secrets = self
            .secrets
            .as_ref()
            .ok_or_else(|| ExportError::Config("EXPORT_LINK_SIGNER_SECRET_ID needs the secrets cache".into()))?;
        let secret = secrets.get(secret_id).await?;
        let (Some(key), Some(private)) = (secret.field("access_key_id"), secret.field("secret_access_key")) else {
            return Err(ExportError::Config(format!(
                "secret {secret_id} needs access_key_id and secret_access_key (the link signer's keys)"
            )));
        };
        let credentials = platform_aws::s3::Credentials::new(key, private, None, None, "export-link-signer");
        let config = self.s3.config().to_builder().credentials_provider(credentials).build();
        Ok(platform_aws::s3::Client::from_conf(config))
    }

    /// From the environment ([`Settings::from_env`]) plus the warehouse variables,
    /// `SECRET_TTL_SECONDS` and `S3_FORCE_PATH_STYLE`.
    pub async fn from_env(env: &platform_runtime::Env) -> Result<Exporter, ExportError> {
        let cfg = |e: platform_runtime::env::ConfigError| ExportError::Config(e.to_string());
        let secret_ttl = env.parse_or("SECRET_TTL_SECONDS", 300u64).map_err(cfg)?;
        let settings = Settings::from_env(env)?;
        let foundation =
            platform_aws::Foundation::from_env(|name| env.optional(name), Duration::from_secs(secret_ttl), 2).await?;
        let sqs = Some(SqsSender::new(platform_aws::sqs::Client::new(&foundation.sdk)));
        let ses = Some(platform_aws::ses::Client::new(&foundation.sdk));
        let s3 = platform_aws::s3::client(&foundation.sdk, env.flag("S3_FORCE_PATH_STYLE", false).map_err(cfg)?);
        Ok(Exporter::new(foundation.warehouse, sqs, s3, ses, settings).with_secrets(foundation.secrets))
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

/// A report's cut-off: 05:00 UTC of its date (when the schedule runs). A report holds the leads
/// received before it, so a retry or a re-run of a date writes the same rows.
pub fn cutoff(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(5, 0, 0).expect("05:00 exists").and_utc()
}

/// The S3 key of a report.
pub fn s3_key(client: &str, lander: &str, date: NaiveDate) -> String {
    format!("exports/{client}/{lander}/{date}.xlsx")
}

/// A job's id on the queue: `<subscription>/<report date>`.
pub fn job_id(subscription: &str, date: NaiveDate) -> String {
    format!("{subscription}/{date}")
}

/// Reads a job id back.
pub fn parse_job_id(id: &str) -> Option<(String, NaiveDate)> {
    let (sub, date) = id.rsplit_once('/')?;
    Some((sub.to_owned(), NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cutoffs_and_job_ids() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(s3_key("smith-law", "slip-lp", d), "exports/smith-law/slip-lp/2026-11-23.xlsx");
        assert_eq!(cutoff(d).to_rfc3339(), "2026-11-23T05:00:00+00:00");
        assert_eq!(parse_job_id(&job_id("smith-slip", d)), Some(("smith-slip".into(), d)));
        assert_eq!(parse_job_id("nodate"), None);
    }
}
