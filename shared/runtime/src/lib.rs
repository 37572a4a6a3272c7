//! Lambda glue shared by every function: JSON tracing ([`tracing_setup`]), configuration from
//! the environment ([`env`]) and SQS batch processing with partial failures ([`sqs_batch`]).

pub mod env;
pub mod sqs_batch;
pub mod tracing_setup;

pub use env::{ConfigError, Env};
