//! Formstack intake: three ways in, one way to the warehouse.
//!
//! - [`webhook`]: a signed webhook delivery (Function URL).
//! - [`pull`]: the scheduled, incremental API pull of every configured form.
//! - [`ingest`]: where both converge: raw rows stored first, then mapped by the form's flow —
//!   registration forms upserted into `exchange_registration`, lander forms stored as leads in
//!   `leads.lead` — with new and changed ids recorded in the outbox; also the re-mapping of
//!   stored submissions after a configuration fix.
//! - [`publish`]: the outbox drained to the company-dedupe queue and the lead-delivery queue.

pub mod ingest;
pub mod publish;
pub mod pull;
pub mod service;
pub mod settings;
pub mod webhook;

pub use service::Intake;
pub use settings::IntakeSettings;

/// Name of this function in run records.
pub const FUNCTION_NAME: &str = "formstack-intake";

/// Errors that fail an invocation (per-record problems are stored next to the record instead).
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The warehouse failed.
    #[error(transparent)]
    Warehouse(#[from] platform_warehouse::WarehouseError),
    /// An AWS service failed.
    #[error(transparent)]
    Aws(#[from] platform_aws::AwsError),
    /// Formstack failed.
    #[error(transparent)]
    Vendor(#[from] platform_vendors::VendorError),
    /// Configuration is missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
}

platform_warehouse::impl_from_db_error!(IntakeError);

impl platform_runtime::ServiceError for IntakeError {
    fn kind(&self) -> platform_runtime::ErrorKind {
        use platform_runtime::ErrorKind;
        match self {
            IntakeError::Warehouse(_) => ErrorKind::Warehouse,
            IntakeError::Aws(_) => ErrorKind::Aws,
            IntakeError::Vendor(_) => ErrorKind::Vendor,
            IntakeError::Config(_) => ErrorKind::Config,
        }
    }
}
