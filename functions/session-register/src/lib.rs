//! session-register's handler: the event app's Function URL request → [`Registrar::handle`]
//! (two-way session registration with Lenos). Anything else is refused.

use lambda_runtime::LambdaEvent;
use platform_connectors::register::Registrar;
use platform_runtime::{
    InvocationError,
    event::{self, Event, Shape},
    function_url::{self, Answer},
};
use serde_json::Value;
use tracing::Instrument;

/// The shapes of event this function takes.
pub const TAKES: &[Shape] = &[Shape::FunctionUrl];

/// Reads `payload` as one of [`TAKES`]; the error says what was wrong.
pub fn classify(payload: Value) -> Result<Event<Value>, InvocationError> {
    event::accept(payload, TAKES)
}

/// Handles one invocation.
pub async fn handle(service: &Registrar, event: LambdaEvent<Value>) -> Result<Value, InvocationError> {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    async move {
        let Event::FunctionUrl(req) = classify(event.payload)? else {
            return Err(event::not_taken(TAKES));
        };
        let answer = function_url::serve(*req, |r| async move {
            let out = service.handle(r).await;
            Answer { status: out.status, body: out.body }
        });
        Ok(serde_json::to_value(answer.await)?)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_function_url_requests_are_taken() {
        let url = event::sample("session-register", "register.json");
        assert!(matches!(classify(url), Ok(Event::FunctionUrl(_))));
        let err = classify(json!({"detail-type": "Scheduled Event"})).unwrap_err();
        assert_eq!(err.message, "unrecognised event: this function takes a Function URL request");
    }
}
