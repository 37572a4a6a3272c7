//! Request recording and fault injection, as one middleware in front of every vendor router.

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use crate::Shared;

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// Order of arrival, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Parsed query parameters.
    pub params: Vec<(String, String)>,
    /// Headers; `authorization` and secret-looking values redacted.
    pub headers: Vec<(String, String)>,
    /// Body (lossy UTF-8).
    pub body: String,
    /// Response status.
    pub status: u16,
    /// Whether a fault answered.
    pub fault: bool,
}

impl RecordedRequest {
    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Records every request (except the control surface's reads) and applies the fault schedule.
pub async fn record_and_fault(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    if path.starts_with("/__sandbox/") {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return (axum::http::StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response(),
    };
    let query = parts.uri.query().unwrap_or("").to_owned();
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().to_owned();
            let secret = matches!(name.as_str(), "authorization" | "x-fs-encryption-password" | "cookie");
            let value = if secret { "[redacted]".to_owned() } else { v.to_str().unwrap_or("").to_owned() };
            (name, value)
        })
        .collect();
    let method = parts.method.to_string();
    let body_text = String::from_utf8_lossy(&bytes).into_owned();

    let fault = state.faults.lock().await.check(&path);
    let mut faulted = None;
    let late_by = fault.as_ref().and_then(|f| f.late_by());
    if let Some(f) = &fault {
        faulted = f.respond().await;
    }
    let was_fault = faulted.is_some() || late_by.is_some();
    let response = match faulted {
        Some(resp) => resp,
        None => next.run(Request::from_parts(parts, Body::from(bytes))).await,
    };

    let mut log = state.requests.lock().await;
    let seq = log.len() as u64 + 1;
    log.push(RecordedRequest {
        seq,
        method,
        path,
        query,
        params,
        headers,
        body: body_text,
        status: response.status().as_u16(),
        fault: was_fault,
    });
    drop(log);
    // A late answer is logged first: the client may give up (and the connection close) meanwhile.
    if let Some(delay) = late_by {
        tokio::time::sleep(delay).await;
    }
    response
}
