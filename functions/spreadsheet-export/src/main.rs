//! spreadsheet-export Lambda entry point: builds the service once per container.

use lambda_runtime::{Error, service_fn};
use platform_runtime::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    platform_runtime::tracing_setup::init();
    let service = platform_export::Exporter::from_env(&Env::from_process()).await.map_err(|e| {
        tracing::error!(error = %e, "spreadsheet-export cannot start");
        e
    })?;
    let service = &service;
    lambda_runtime::run(service_fn(move |event| spreadsheet_export::handle(service, event))).await
}
