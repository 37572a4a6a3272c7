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

/// What replaces a secret in the request log.
pub const REDACTED: &str = "[redacted]";

/// Parameter and field names whose values are secrets: never kept in the request log (the log
/// is read by tests and shown by the control surface).
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if n.ends_with("_method") {
        return false;
    }
    ["password", "secret", "token", "signature", "handshakekey", "apikey", "api_key", "key"]
        .iter()
        .any(|s| n == *s || n.ends_with(&format!("_{s}")) || (s.len() > 3 && n.contains(s)))
}

/// A recorded body with secret fields redacted (JSON objects and urlencoded forms).
fn redact_body(text: &str) -> String {
    if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text) {
        fn walk(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(o) => {
                    for (k, val) in o.iter_mut() {
                        if is_secret_name(k) {
                            *val = serde_json::Value::String(REDACTED.into());
                        } else {
                            walk(val);
                        }
                    }
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        return v.to_string();
    }
    if text.contains('=') && !text.contains(char::is_whitespace) {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(text.as_bytes())
            .into_owned()
            .map(|(k, v)| if is_secret_name(&k) { (k, REDACTED.to_owned()) } else { (k, v) })
            .collect();
        return form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
    }
    text.to_owned()
}

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
    let params: Vec<(String, String)> = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .map(|(k, v)| if is_secret_name(&k) { (k, REDACTED.to_owned()) } else { (k, v) })
        .collect();
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
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
    let body_text = redact_body(&String::from_utf8_lossy(&bytes));

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_and_bodies_are_redacted() {
        for name in ["password", "oauth_signature", "api_token", "HandshakeKey", "client_secret", "key"] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["event_id", "email", "company", "search_for", "oauth_nonce", "keynote"] {
            assert!(!is_secret_name(name), "{name}");
        }
        assert_eq!(
            redact_body(r#"{"a":1,"password":"p","n":{"token":"t"}}"#),
            r#"{"a":1,"n":{"token":"[redacted]"},"password":"[redacted]"}"#
        );
        assert_eq!(redact_body("FormID=1&HandshakeKey=s3cret"), "FormID=1&HandshakeKey=%5Bredacted%5D");
        assert_eq!(redact_body("plain text body"), "plain text body");
    }
}
