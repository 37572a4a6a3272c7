//! formstack-intake Lambda entry point: builds the service once per container and hands every
//! event to the handler.

use lambda_runtime::{Error, service_fn};
use platform_runtime::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    platform_runtime::tracing_setup::init();
    let intake = platform_intake::Intake::from_env(&Env::from_process()).await.map_err(|e| {
        tracing::error!(error = %e, "formstack-intake cannot start");
        e
    })?;
    let intake = &intake;
    lambda_runtime::run(service_fn(move |event| formstack_intake::handle(intake, event))).await
}
