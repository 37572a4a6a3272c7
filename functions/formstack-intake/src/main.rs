//! formstack-intake Lambda entry point: builds the service once per container and hands every
//! event to the handler.

use lambda_runtime::{Error, service_fn};
use platform_runtime::Env;

/// mimalloc: a batch of 1,000 submissions makes and frees some 100,000 small values (parsed
/// fields, mapped columns, statement parameters); glibc's allocator took over a third of the
/// database step's client time (`docs/performance.md`). Built without
/// transparent huge pages (the workspace's `no_thp` feature): zeroing 2 MB pages cost start-up time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
