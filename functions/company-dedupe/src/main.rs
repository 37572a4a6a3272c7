//! company-dedupe Lambda entry point: builds the service once per container.

use lambda_runtime::{Error, service_fn};
use platform_runtime::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    platform_runtime::tracing_setup::init();
    let dedupe = platform_dedupe::Dedupe::from_env(&Env::from_process()).await.map_err(|e| {
        tracing::error!(error = %e, "company-dedupe cannot start");
        e
    })?;
    let dedupe = &dedupe;
    lambda_runtime::run(service_fn(move |event| company_dedupe::handle(dedupe, event))).await
}
