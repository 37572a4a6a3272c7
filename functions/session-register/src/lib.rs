//! session-register's handler: the event app's Function URL request → [`Registrar::handle`]
//! (two-way session registration with Lenos). Anything else is refused.

use aws_lambda_events::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use base64::Engine;
use lambda_runtime::LambdaEvent;
use platform_connectors::register::{RegisterHttp, Registrar};
use platform_runtime::{ErrorKind, InvocationError};
use serde_json::{Value, json};
use tracing::Instrument;

/// What an event is.
#[derive(Debug)]
pub enum Trigger {
    /// A Function URL request from an event app.
    FunctionUrl(Box<LambdaFunctionUrlRequest>),
}

/// Recognises the trigger of `payload`; the error says what was wrong.
pub fn classify(payload: Value) -> Result<Trigger, String> {
    if payload.get("requestContext").and_then(|c| c.get("http")).is_some() {
        return serde_json::from_value(payload)
            .map(|r| Trigger::FunctionUrl(Box::new(r)))
            .map_err(|e| format!("Function URL event not understood: {e}"));
    }
    Err("unrecognised event: session-register answers Function URL requests only".into())
}

/// Handles one invocation.
pub async fn handle(service: &Registrar, event: LambdaEvent<Value>) -> Result<Value, InvocationError> {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    async move {
        let Trigger::FunctionUrl(req) = classify(event.payload).map_err(|e| {
            tracing::error!(error = %e, "event refused");
            InvocationError::new(ErrorKind::Event, e)
        })?;
        Ok(serde_json::to_value(answer(service, *req).await)?)
    }
    .instrument(span)
    .await
}

async fn answer(service: &Registrar, req: LambdaFunctionUrlRequest) -> LambdaFunctionUrlResponse {
    let method = req.request_context.http.method.clone().unwrap_or_default();
    let body = match (req.body, req.is_base64_encoded) {
        (Some(b), true) => match base64::engine::general_purpose::STANDARD.decode(b.as_bytes()) {
            Ok(bytes) => bytes,
            Err(_) => return respond(400, json!({"error": "body is not valid base64"})),
        },
        (Some(b), false) => b.into_bytes(),
        (None, _) => Vec::new(),
    };
    let headers = req
        .headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned())))
        .collect();
    let out = service.handle(RegisterHttp { method, headers, body }).await;
    respond(out.status, out.body)
}

fn respond(status: u16, body: Value) -> LambdaFunctionUrlResponse {
    let mut resp = LambdaFunctionUrlResponse::default();
    resp.status_code = i64::from(status);
    resp.headers.insert("content-type", "application/json".parse().expect("static header"));
    if status == 503 {
        resp.headers.insert("retry-after", "1".parse().expect("static header"));
    }
    resp.body = Some(body.to_string());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_function_url_requests_are_taken() {
        let url: Value = serde_json::from_str(include_str!("../../../events/session-register/register.json")).unwrap();
        assert!(matches!(classify(url), Ok(Trigger::FunctionUrl(_))));
        let err = classify(json!({"detail-type": "Scheduled Event"})).unwrap_err();
        assert!(err.contains("Function URL requests only"), "{err}");
    }
}
