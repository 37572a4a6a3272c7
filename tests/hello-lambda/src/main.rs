//! The smallest `lambda_runtime` function: answers every event with `{"hello": "world"}`. The
//! cold-start benchmark (`bench-cold-start`) measures each function's start against it.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async { Ok::<Value, Error>(json!({"hello": "world"})) }))
        .await
}
