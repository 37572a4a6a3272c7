//! Lambda glue shared by every function: its `main` ([`start`]), the shapes of event
//! ([`event`]), its CloudWatch metrics ([`metrics`]), JSON tracing ([`tracing_setup`]), configuration from
//! the environment ([`env`]), SQS batch processing with partial failures ([`sqs_batch`]) and the
//! invocation's deadline ([`deadline`]).

pub mod deadline;
pub mod env;
pub mod event;
pub mod function_url;
pub mod invocation_error;
pub mod metrics;
pub mod sqs_batch;
pub mod start;
pub mod tracing_setup;

pub use deadline::Deadline;
pub use env::{ConfigError, Env};
pub use invocation_error::{ErrorKind, InvocationError, ServiceError};
