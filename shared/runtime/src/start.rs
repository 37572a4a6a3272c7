//! A function's `main`, written once: JSON tracing, the service built once per container from
//! the environment (a failure is logged with the function's name and stops the container, so
//! Lambda reports an init error), then every event handed to the function's handler.

use std::{fmt::Display, future::Future};

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

use crate::{Env, InvocationError};

/// Runs `function`: `build` makes its service from the environment, `handle` answers each event.
pub async fn run<S, E, B, BFut, H, HFut>(function: &str, build: B, handle: H) -> Result<(), lambda_runtime::Error>
where
    S: 'static,
    E: Display + Into<lambda_runtime::Error>,
    B: FnOnce(Env) -> BFut,
    BFut: Future<Output = Result<S, E>>,
    H: Fn(&'static S, LambdaEvent<Value>) -> HFut,
    HFut: Future<Output = Result<Value, InvocationError>>,
{
    crate::tracing_setup::init();
    let service = build(Env::from_process()).await.map_err(|e| {
        tracing::error!(error = %e, "{function} cannot start");
        e.into()
    })?;
    // One service per container, for the container's whole life.
    let service: &'static S = Box::leak(Box::new(service));
    lambda_runtime::run(service_fn(move |event| handle(service, event))).await
}

/// A function's `main`: `lambda_main!("name", Service, handle)` runs [`run`] with
/// `Service::from_env` and the handler `handle`.
#[macro_export]
macro_rules! lambda_main {
    ($function:literal, $service:ty, $handle:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_runtime::Error> {
            $crate::start::run($function, |env| async move { <$service>::from_env(&env).await }, $handle).await
        }
    };
}
