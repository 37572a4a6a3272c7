//! meetmax-sync Lambda entry point: builds the service once per container.

use lambda_runtime::{Error, service_fn};
use platform_runtime::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    platform_runtime::tracing_setup::init();
    let sync = platform_meetmax::MeetmaxSync::from_env(&Env::from_process()).await.map_err(|e| {
        tracing::error!(error = %e, "meetmax-sync cannot start");
        e
    })?;
    let sync = &sync;
    lambda_runtime::run(service_fn(move |event| meetmax_sync::handle(sync, event))).await
}
