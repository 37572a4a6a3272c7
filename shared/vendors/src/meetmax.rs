//! MeetMax scheduling API (`shared/vendors/docs/meetmax.md`): every call a GET under `/sched/service/` with
//! query parameters and `data_type=json`, signed with two-legged OAuth 1.0a (HMAC-SHA1, consumer
//! key and secret, no token). Success is a body holding `status_code`; failure a body holding
//! `error`, whatever the HTTP status.

use std::{fmt, time::Duration};

use oauth1_request as oauth;
use serde_json::Value;

use crate::http::{VendorClient, VendorError};

/// A MeetMax account's consumer key and secret (Debug never shows the secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// OAuth consumer key.
    pub consumer_key: String,
    /// OAuth consumer secret.
    pub consumer_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &"[redacted]")
            .finish()
    }
}

impl Credentials {
    /// Reads `{"consumer_key": …, "consumer_secret": …}` (a Secrets Manager secret).
    pub fn from_secret(secret: &Value) -> Result<Credentials, String> {
        let field = |k: &str| secret.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(Credentials {
            consumer_key: field("consumer_key").ok_or("the MeetMax secret has no consumer_key")?,
            consumer_secret: field("consumer_secret").ok_or("the MeetMax secret has no consumer_secret")?,
        })
    }
}

/// How a failed call should be treated. Stored as `transient`, `permanent` or `auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Timeouts, 429, 5xx, connection errors, unreadable answers: retry later.
    Transient,
    /// MeetMax refused the request (validation): retrying the same request fails again.
    Permanent,
    /// The credentials were refused (401/403): nothing of this account can succeed.
    Auth,
}

impl ErrorClass {
    /// The stored name (`integration.meetmax_sync.error_class`, operators' status text).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Permanent => "permanent",
            ErrorClass::Auth => "auth",
        }
    }

    /// The class of a stored name (`None` for anything else, e.g. `ineligible`).
    pub fn parse(name: &str) -> Option<ErrorClass> {
        match name {
            "transient" => Some(ErrorClass::Transient),
            "permanent" => Some(ErrorClass::Permanent),
            "auth" => Some(ErrorClass::Auth),
            _ => None,
        }
    }
}

/// A failed MeetMax call: its class, the vendor's message, and whether MeetMax may have applied
/// it anyway (no answer was read: a timeout, a 5xx, a malformed body).
#[derive(Debug, Clone, thiserror::Error)]
#[error("MeetMax {call}: {message}")]
pub struct MeetmaxError {
    /// The call, e.g. `attendee/add`.
    pub call: &'static str,
    /// Transient, permanent or auth.
    pub class: ErrorClass,
    /// The vendor's message (or the transport error).
    pub message: String,
    /// MeetMax may have carried out the request.
    pub uncertain: bool,
    /// HTTP status, when one was received.
    pub status: Option<u16>,
    /// The `Retry-After` MeetMax asked for.
    pub retry_after: Option<Duration>,
}

impl MeetmaxError {
    /// Whether a retry later may succeed.
    pub fn is_transient(&self) -> bool {
        self.class == ErrorClass::Transient
    }
}

/// One record of an `attendee/list` answer (companies are records too).
#[derive(Debug, Clone, PartialEq)]
pub struct ListedRecord {
    /// MeetMax id (`id` or `investor_id`; a number or a string).
    pub id: Option<String>,
    /// The record's fields as MeetMax returned them.
    pub fields: serde_json::Map<String, Value>,
}

impl ListedRecord {
    /// A field as text (numbers rendered).
    pub fn text(&self, name: &str) -> Option<String> {
        value_text(self.fields.get(name)?)
    }
}

/// The MeetMax API client; clone it freely (one HTTP client, one pacer).
#[derive(Debug, Clone)]
pub struct MeetmaxClient {
    http: VendorClient,
    base_url: String,
    credentials: Credentials,
}

impl MeetmaxClient {
    /// A client for `base_url` (`https://meetmax.com` or `https://staging.meetmax.com`).
    pub fn new(http: VendorClient, base_url: &str, credentials: Credentials) -> MeetmaxClient {
        MeetmaxClient { http, base_url: base_url.trim_end_matches('/').to_owned(), credentials }
    }

    /// HTTP requests made so far (every attempt counts).
    pub fn calls(&self) -> u64 {
        self.http.calls()
    }

    /// The same client whose calls stop once MeetMax refuses the credentials
    /// (see [`VendorClient::with_auth_latch`]).
    pub fn with_auth_latch(&self, latch: std::sync::Arc<std::sync::atomic::AtomicBool>) -> MeetmaxClient {
        MeetmaxClient { http: self.http.with_auth_latch(latch), ..self.clone() }
    }

    /// `event/list`: the events visible to the credentials.
    pub async fn list_events(&self) -> Result<Vec<ListedRecord>, MeetmaxError> {
        let body = self.get("event/list", Vec::new(), false).await?;
        Ok(results(&body))
    }

    /// `attendeerole/list`: the roles of an event.
    pub async fn list_roles(&self, event_id: &str) -> Result<Vec<ListedRecord>, MeetmaxError> {
        let body = self.get("attendeerole/list", vec![("event_id".into(), event_id.into())], false).await?;
        Ok(results(&body))
    }

    /// `attendee/list` filtered by `search_fld` = `search_for` (exact).
    pub async fn list_attendees(
        &self,
        event_id: &str,
        search_fld: &str,
        search_for: &str,
    ) -> Result<Vec<ListedRecord>, MeetmaxError> {
        let params = vec![
            ("event_id".into(), event_id.into()),
            ("search_fld".into(), search_fld.into()),
            ("search_for".into(), search_for.into()),
        ];
        let body = self.get("attendee/list", params, false).await?;
        Ok(results(&body))
    }

    /// `attendee/add` with `params` (without `event_id`, which is added); returns the new id.
    pub async fn add_attendee(&self, event_id: &str, params: &[(String, String)]) -> Result<String, MeetmaxError> {
        let mut all = Vec::with_capacity(params.len() + 1);
        all.push(("event_id".to_owned(), event_id.to_owned()));
        all.extend(params.iter().cloned());
        let body = self.get("attendee/add", all, true).await?;
        body.get("id").and_then(value_text).ok_or_else(|| MeetmaxError {
            call: "attendee/add",
            class: ErrorClass::Transient,
            message: format!("success without an id: {}", truncate(&body.to_string())),
            uncertain: true,
            status: Some(200),
            retry_after: None,
        })
    }

    /// `attendee/edit`: one field of the record `investor_id`.
    pub async fn edit_attendee(
        &self,
        event_id: &str,
        investor_id: &str,
        field_name: &str,
        field_value: &str,
    ) -> Result<(), MeetmaxError> {
        let params = vec![
            ("event_id".into(), event_id.into()),
            ("investor_id".into(), investor_id.into()),
            ("field_name".into(), field_name.into()),
            ("field_value".into(), field_value.into()),
        ];
        self.get("attendee/edit", params, false).await.map(|_| ())
    }

    /// One signed GET; `data_type=json` is added. Returns the success body.
    /// A `write` is retried only after a 429 (see [`VendorClient::send_write`]).
    async fn get(
        &self,
        call: &'static str,
        mut params: Vec<(String, String)>,
        write: bool,
    ) -> Result<Value, MeetmaxError> {
        params.push(("data_type".into(), "json".into()));
        let url = format!("{}/sched/service/{call}", self.base_url);
        let list = oauth::ParameterList::new(params);
        let query_url = oauth::to_query(url.clone(), &list);
        let build = |c: &reqwest::Client| {
            // A fresh nonce and timestamp for every attempt.
            let mut builder = oauth::Builder::<_, _>::new(
                oauth::Credentials::new(
                    self.credentials.consumer_key.as_str(),
                    self.credentials.consumer_secret.as_str(),
                ),
                oauth::HmacSha1::new(),
            );
            builder.version(true);
            let authorization = builder.get(&url, &list);
            c.get(&query_url).header(reqwest::header::AUTHORIZATION, authorization)
        };
        let result = if write { self.http.send_write(build).await } else { self.http.send(build).await };
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => return Err(classify_vendor_error(call, e)),
        };
        let bytes = crate::http::read_body("meetmax", resp).await.map_err(|e| MeetmaxError {
            call,
            class: ErrorClass::Transient,
            message: e.to_string(),
            uncertain: true,
            status: Some(200),
            retry_after: None,
        })?;
        interpret(call, 200, &bytes)
    }
}

/// Reads a 2xx body: `status_code` present (or, for a list, a `results` array) → success;
/// `error` → permanent failure; anything else (not JSON, neither key) → transient and uncertain.
fn interpret(call: &'static str, status: u16, bytes: &[u8]) -> Result<Value, MeetmaxError> {
    let fail = |class, message: String, uncertain| MeetmaxError {
        call,
        class,
        message: crate::http::without_url_queries(&message),
        uncertain,
        status: Some(status),
        retry_after: None,
    };
    let body: Value = serde_json::from_slice(bytes).map_err(|e| {
        fail(ErrorClass::Transient, format!("answer is not JSON ({e}): {}", truncate_bytes(bytes)), true)
    })?;
    if body.get("status_code").is_some()
        || (call.ends_with("/list") && body.get("results").is_some_and(Value::is_array))
    {
        return Ok(body);
    }
    if let Some(error) = body.get("error") {
        let message = value_text(error).unwrap_or_else(|| error.to_string());
        return Err(fail(ErrorClass::Permanent, message, false));
    }
    Err(fail(
        ErrorClass::Transient,
        format!("answer has neither status_code nor error: {}", truncate_bytes(bytes)),
        true,
    ))
}

/// Maps the HTTP layer's error: 401/403 → auth; 429 → transient, not applied; 5xx and transport →
/// transient, uncertain; other 4xx → permanent with the body's `error` text.
fn classify_vendor_error(call: &'static str, e: VendorError) -> MeetmaxError {
    match e {
        VendorError::Status { status, body, retry_after, .. } => {
            let message = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(value_text))
                .unwrap_or_else(|| format!("HTTP {status}: {}", truncate(&body)));
            let class = match status {
                401 | 403 => ErrorClass::Auth,
                429 | 500.. => ErrorClass::Transient,
                _ => ErrorClass::Permanent,
            };
            MeetmaxError { call, class, message, uncertain: status >= 500, status: Some(status), retry_after }
        }
        VendorError::NotCalled { .. } => MeetmaxError {
            call,
            class: ErrorClass::Auth,
            message: "not called: MeetMax refused the credentials earlier in this run".into(),
            uncertain: false,
            status: None,
            retry_after: None,
        },
        VendorError::NotSent { message, .. } => MeetmaxError {
            call,
            class: ErrorClass::Transient,
            message,
            uncertain: false,
            status: None,
            retry_after: None,
        },
        VendorError::Transport { message, .. } => MeetmaxError {
            call,
            class: ErrorClass::Transient,
            message,
            uncertain: true,
            status: None,
            retry_after: None,
        },
        other => MeetmaxError {
            call,
            class: ErrorClass::Transient,
            message: other.to_string(),
            uncertain: true,
            status: None,
            retry_after: None,
        },
    }
}

fn results(body: &Value) -> Vec<ListedRecord> {
    body.get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let fields = item.as_object()?.clone();
            let id = fields.get("id").or_else(|| fields.get("investor_id")).and_then(value_text);
            Some(ListedRecord { id, fields })
        })
        .collect()
}

/// A JSON string or number as text.
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(300).collect()
}

fn truncate_bytes(b: &[u8]) -> String {
    truncate(&String::from_utf8_lossy(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_needs_status_code_and_ids_may_be_strings() {
        let ok = interpret("attendee/add", 200, br#"{"status_code":200,"id":"42","message":"ok"}"#).unwrap();
        assert_eq!(ok.get("id").and_then(value_text).as_deref(), Some("42"));
        let ok = interpret("attendee/add", 200, br#"{"status_code":"200","id":42}"#).unwrap();
        assert_eq!(ok.get("id").and_then(value_text).as_deref(), Some("42"));
    }

    #[test]
    fn lists_succeed_with_a_results_array() {
        assert!(interpret("attendee/list", 200, br#"{"results":[]}"#).is_ok());
        assert!(interpret("attendee/add", 200, br#"{"results":[]}"#).is_err(), "an add needs status_code");
    }

    #[test]
    fn error_inside_200_is_permanent_and_keeps_the_message() {
        let e = interpret("attendee/add", 200, br#"{"error":"Unknown attendee_role_id X"}"#).unwrap_err();
        assert_eq!(
            (e.class, e.uncertain, e.message.as_str()),
            (ErrorClass::Permanent, false, "Unknown attendee_role_id X")
        );
    }

    #[test]
    fn unreadable_answers_are_transient_and_uncertain() {
        let e = interpret("attendee/add", 200, b"{\"status_").unwrap_err();
        assert!(e.is_transient() && e.uncertain);
        let e = interpret("attendee/add", 200, b"{\"message\":\"ok\"}").unwrap_err();
        assert!(e.is_transient() && e.uncertain);
    }

    #[test]
    fn http_errors_are_classified() {
        let status = |status, body: &str| VendorError::Status {
            vendor: "meetmax",
            status,
            body: body.into(),
            retry_after: Some(Duration::from_secs(3)),
        };
        let e = classify_vendor_error("attendee/add", status(400, r#"{"error":"first is required"}"#));
        assert_eq!((e.class, e.message.as_str(), e.uncertain), (ErrorClass::Permanent, "first is required", false));
        let e = classify_vendor_error("attendee/add", status(429, r#"{"error":"slow down"}"#));
        assert_eq!((e.class, e.uncertain, e.retry_after), (ErrorClass::Transient, false, Some(Duration::from_secs(3))));
        let e = classify_vendor_error("attendee/add", status(502, "<html>bad gateway</html>"));
        assert!(e.is_transient() && e.uncertain && e.message.contains("HTTP 502"));
        assert_eq!(classify_vendor_error("x", status(401, r#"{"error":"bad signature"}"#)).class, ErrorClass::Auth);
    }

    #[test]
    fn credentials_are_redacted_and_required() {
        let c =
            Credentials::from_secret(&serde_json::json!({"consumer_key": "k", "consumer_secret": "s3cr3t"})).unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(Credentials::from_secret(&serde_json::json!({"consumer_key": "k"})).is_err());
    }

    /// The MeetMax samples written from the original scripts (`tests/fixtures/vendors/meetmax/`,
    /// none verbatim: no MeetMax answer is public) through the production reader.
    #[test]
    fn the_evidenced_answer_shapes_are_read() {
        let add =
            include_bytes!("../../../tests/fixtures/vendors/meetmax/attendee-add.success.response.from-evidence.json");
        let ok = interpret("attendee/add", 200, add).unwrap();
        assert_eq!(ok.get("id").and_then(value_text).as_deref(), Some("3315088"));
        let refused =
            include_bytes!("../../../tests/fixtures/vendors/meetmax/attendee-add.error.response.from-evidence.json");
        let e = interpret("attendee/add", 200, refused).unwrap_err();
        assert_eq!(e.class, ErrorClass::Permanent);
        let list = include_bytes!(
            "../../../tests/fixtures/vendors/meetmax/attendee-list.companies.response.from-evidence.json"
        );
        let listed = results(&interpret("attendee/list", 200, list).unwrap());
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].text("company").as_deref(), Some("Test Company, Inc."));
        assert_eq!(listed[0].id, None, "the scripts never read an id from a list: none is assumed");
        let by_investor = results(&serde_json::json!({"results": [{"company": "A", "investor_id": 7}]}));
        assert_eq!(by_investor[0].id.as_deref(), Some("7"));
    }
}
