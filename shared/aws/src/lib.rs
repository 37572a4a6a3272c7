//! AWS adapters shared by the functions: SDK configuration (honours `AWS_ENDPOINT_URL`),
//! a Secrets Manager cache and the per-container [`Foundation`] (SDK, secrets cache, warehouse);
//! behind features, so that each function links only the clients it uses: an SQS sender
//! (`sqs`), S3 (`s3`) and SES (`ses`).

pub mod foundation;
pub mod http;
#[cfg(feature = "s3")]
pub mod s3;
pub mod secrets;
#[cfg(feature = "ses")]
pub mod ses;
#[cfg(feature = "sqs")]
pub mod sqs;
#[cfg(feature = "s3")]
pub mod upload;

pub use aws_config::SdkConfig;
pub use foundation::Foundation;
pub use secrets::{Secret, SecretsCache};
#[cfg(feature = "sqs")]
pub use sqs::SqsSender;

/// Loads the SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`),
/// with the platform's HTTP client ([`http::ReqwestHttpClient`]) for every SDK client made from it.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http::ReqwestHttpClient::shared())
        .load()
        .await
}

/// Errors of the AWS adapters. The SDK's message is kept; secrets never appear in it.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// Secrets Manager refused or failed.
    #[error("secret {id}: {message}")]
    Secret {
        /// The secret id.
        id: String,
        /// What went wrong.
        message: String,
    },
    /// SQS refused or failed.
    #[error("SQS {queue}: {message}")]
    Sqs {
        /// The queue URL.
        queue: String,
        /// What went wrong.
        message: String,
    },
    /// SES refused or failed.
    #[error("SES: {message}")]
    Ses {
        /// What went wrong.
        message: String,
    },
    /// S3 refused or failed.
    #[error("S3 {bucket}/{key}: {message}")]
    S3 {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// What went wrong.
        message: String,
    },
}
