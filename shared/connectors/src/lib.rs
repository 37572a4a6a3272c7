//! connector-pull's and session-register's service: a declarative connector engine, its
//! providers and the two-way registration.
//!
//! - `description`: the manifest format, what a provider is as data; `manifests`: the
//!   providers' manifests (`providers/<key>.toml`), embedded and checked; `auth`: credentials
//!   and authentication as a manifest describes them (`credentials`: reading a secret's
//!   fields); `settings`: a connection's settings, typed.
//! - `records`: pure record rules; `store`: the warehouse side; `register`: two-way
//!   registration.
//! - With the `pull` feature (connector-pull): `fetch`: calls, authentication, shared pacing,
//!   error rules, first-contact notes; `engine`: the pull loop; `preview`: the operators'
//!   preview report; `service`: [`Connectors`](crate::Connectors), which ties them to the
//!   triggers (a plan, a pull, an operator's full re-pull, a preview, the confirmation of a
//!   removal the share guard refused).

pub mod auth;
pub mod credentials;
pub mod description;
#[cfg(feature = "pull")]
pub mod engine;
#[cfg(feature = "pull")]
pub mod fetch;
pub mod manifests;
#[cfg(feature = "pull")]
pub mod preview;
pub mod records;
pub mod register;
#[cfg(feature = "pull")]
mod service;
pub mod settings;
pub mod store;

use platform_aws::AwsError;
use platform_vendors::VendorError;
use platform_warehouse::WarehouseError;

pub use description::Provider;
#[cfg(feature = "pull")]
pub use engine::Progress;
#[cfg(feature = "pull")]
pub use service::{
    Connectors, PREVIEW_SAMPLE_ROWS, PreviewAnswer, PullReport, RemovalConfirmed, Settings, StreamSample,
};

/// Name of the pulling function in metrics and logs.
pub const FUNCTION_NAME: &str = "connector-pull";

/// Kind of the message that asks for (the continuation of) one stream's pull; its one id is
/// `<connection>/<stream>`, its `run_id` the pull's.
pub const KIND_CONNECTOR_PULL: &str = "connector.pull";

/// Errors of connector-pull.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// Configuration (connection, secret, mapping, setting) refused before any call.
    #[error("configuration: {0}")]
    Config(String),
    /// The provider refused the credentials.
    #[error("{0}")]
    Credentials(String),
    /// No such connection or stream.
    #[error("{0}")]
    NotFound(String),
    /// The provider's answer is an error or not what the API promises.
    #[error("{0}")]
    Provider(String),
    /// The provider failed on an answer's size (the caller lowers the page size).
    #[error("the answer was too large (HTTP {0})")]
    TooLarge(u16),
    /// HTTP.
    #[error(transparent)]
    Vendor(#[from] VendorError),
    /// The warehouse.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// AWS.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Writing a workbook.
    #[error("workbook: {0}")]
    Workbook(String),
}

platform_warehouse::impl_from_db_error!(ConnectorError);

impl platform_runtime::ServiceError for ConnectorError {
    fn kind(&self) -> platform_runtime::ErrorKind {
        use platform_runtime::ErrorKind;
        match self {
            ConnectorError::Config(_) | ConnectorError::NotFound(_) => ErrorKind::Config,
            ConnectorError::Credentials(_)
            | ConnectorError::Provider(_)
            | ConnectorError::TooLarge(_)
            | ConnectorError::Vendor(_) => ErrorKind::Vendor,
            ConnectorError::Warehouse(_) => ErrorKind::Warehouse,
            ConnectorError::Aws(_) => ErrorKind::Aws,
            ConnectorError::Workbook(_) => ErrorKind::Internal,
        }
    }
}

pub use manifests::{provider, providers};
