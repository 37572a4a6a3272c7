//! The fault menu: answer the n-th request of a route (or every one) with a fault.

use std::{collections::HashMap, time::Duration};

use axum::{
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

/// What a faulty answer looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// `429` with `Retry-After: <seconds>` and a vendor-style error body.
    RateLimit {
        /// Seconds to ask the client to wait.
        retry_after: u64,
    },
    /// `429` without `Retry-After` (the client backs off on its own).
    RateLimitNoHeader,
    /// The connection is cut after the status line: headers promise a body that never comes
    /// (the client sees a reset/incomplete message, not an HTTP answer).
    Reset,
    /// A 5xx with an HTML body.
    ServerError {
        /// 500, 502, 503 or 504.
        status: u16,
    },
    /// HTTP 200 with the vendor's error shape.
    ErrorIn200,
    /// A truncated JSON body with a JSON content type.
    Malformed,
    /// Let the real handler act, then answer only after a delay (beyond the client's timeout,
    /// the client never learns that the write happened).
    LateAnswer {
        /// Milliseconds.
        delay_ms: u64,
    },
    /// Delay the real answer.
    Slow {
        /// Milliseconds.
        delay_ms: u64,
    },
}

/// When a fault fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Requests whose path starts with this prefix are counted (1-based) for this rule.
    pub path_prefix: String,
    /// Fire on these request numbers of the prefix; empty = every request.
    #[serde(default)]
    pub on_requests: Vec<u64>,
    /// The fault.
    pub fault: Fault,
}

/// The schedule and its counters.
#[derive(Debug, Default)]
pub struct FaultBook {
    rules: Vec<FaultRule>,
    counters: HashMap<String, u64>,
}

impl FaultBook {
    /// Replaces the rules and resets the counters.
    pub fn set(&mut self, rules: Vec<FaultRule>) {
        self.rules = rules;
        self.counters.clear();
    }

    /// Counts a request to `path` (once per distinct prefix, however many rules share it) and
    /// returns the first fault that fires on it, if any.
    pub fn check(&mut self, path: &str) -> Option<Fault> {
        let mut counted: Vec<&str> = Vec::new();
        for rule in &self.rules {
            if path.starts_with(&rule.path_prefix) && !counted.contains(&rule.path_prefix.as_str()) {
                *self.counters.entry(rule.path_prefix.clone()).or_default() += 1;
                counted.push(&rule.path_prefix);
            }
        }
        self.rules
            .iter()
            .filter(|rule| path.starts_with(&rule.path_prefix))
            .find(|rule| rule.on_requests.is_empty() || rule.on_requests.contains(&self.counters[&rule.path_prefix]))
            .map(|rule| rule.fault.clone())
    }
}

impl Fault {
    /// The delay a `LateAnswer` adds after the handler.
    pub fn late_by(&self) -> Option<Duration> {
        match self {
            Fault::LateAnswer { delay_ms } => Some(Duration::from_millis(*delay_ms)),
            _ => None,
        }
    }

    /// The faulty response; `None` for `Slow` after sleeping and for `LateAnswer` (the real
    /// handler answers; see [`Fault::late_by`]).
    pub async fn respond(&self) -> Option<Response> {
        match self {
            Fault::RateLimit { retry_after } => {
                let mut resp = (
                    StatusCode::TOO_MANY_REQUESTS,
                    axum::Json(serde_json::json!({"status": "error", "error": "Rate limit exceeded"})),
                )
                    .into_response();
                resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(*retry_after));
                Some(resp)
            }
            Fault::RateLimitNoHeader => Some(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    axum::Json(serde_json::json!({"status": "error", "error": "Rate limit exceeded"})),
                )
                    .into_response(),
            ),
            Fault::Reset => {
                let broken = futures_util::stream::once(async {
                    Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "sandbox: connection reset",
                    ))
                });
                let mut resp = Response::new(axum::body::Body::from_stream(broken));
                resp.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
                resp.headers_mut().insert("content-length", HeaderValue::from_static("512"));
                Some(resp)
            }
            Fault::ServerError { status } => Some(
                (
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    [("content-type", "text/html")],
                    "<html><body><h1>Service Unavailable</h1></body></html>",
                )
                    .into_response(),
            ),
            Fault::ErrorIn200 => Some(
                (StatusCode::OK, axum::Json(serde_json::json!({"status": "error", "error": "An error occurred"})))
                    .into_response(),
            ),
            Fault::Malformed => Some(
                (StatusCode::OK, [("content-type", "application/json")], "{\"submissions\": [{\"id\": ")
                    .into_response(),
            ),
            Fault::LateAnswer { .. } => None,
            Fault::Slow { delay_ms } => {
                tokio::time::sleep(Duration::from_millis(*delay_ms)).await;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_sharing_a_prefix_count_each_request_once() {
        let mut book = FaultBook::default();
        book.set(vec![
            FaultRule { path_prefix: "/a".into(), on_requests: vec![2], fault: Fault::Reset },
            FaultRule { path_prefix: "/a".into(), on_requests: vec![3], fault: Fault::ErrorIn200 },
            FaultRule { path_prefix: "/a/b".into(), on_requests: vec![1], fault: Fault::Malformed },
        ]);
        assert_eq!(book.check("/a/b"), Some(Fault::Malformed), "first /a request, first /a/b request");
        assert_eq!(book.check("/a"), Some(Fault::Reset));
        assert_eq!(book.check("/a"), Some(Fault::ErrorIn200));
        assert_eq!(book.check("/a"), None);
        assert_eq!(book.check("/x"), None);
    }
}
