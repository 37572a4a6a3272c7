//! A vendor HTTP client: timeouts, bounded retries with exponential backoff and full jitter on
//! 429, 5xx and transport errors, honouring `Retry-After`, optional pacing (a request rate and a
//! concurrency limit shared by every clone), and a count of calls made.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use reqwest::{RequestBuilder, Response, header::RETRY_AFTER};

use crate::pace::Pacer;

/// How a client retries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// First backoff delay (before jitter).
    pub min_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
    /// Longest `Retry-After` the client waits for; a longer one fails the call as
    /// [`VendorError::Status`] with `retry_after` set, so the caller can stop until then.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// Errors of a vendor call, classified for retry decisions.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// Could not build the client.
    #[error("{vendor}: client set-up: {message}")]
    Setup {
        /// Vendor name.
        vendor: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The connection could not be made: the request never reached the vendor (transient, and
    /// safe to repeat even for a write).
    #[error("{vendor}: not sent: {message}")]
    NotSent {
        /// Vendor name.
        vendor: &'static str,
        /// What went wrong.
        message: String,
    },
    /// TLS, timeout or a connection lost mid-request (transient; a write may have happened).
    #[error("{vendor}: transport: {message}")]
    Transport {
        /// Vendor name.
        vendor: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A non-success HTTP status; 429 and 5xx are transient.
    #[error("{vendor}: HTTP {status}: {body}")]
    Status {
        /// Vendor name.
        vendor: &'static str,
        /// The status.
        status: u16,
        /// The start of the body.
        body: String,
        /// The `Retry-After` the vendor asked for, if any.
        retry_after: Option<Duration>,
    },
    /// A success status with a body that is not what the API promises, or an error body.
    #[error("{vendor}: bad response: {message}")]
    Response {
        /// Vendor name.
        vendor: &'static str,
        /// What went wrong.
        message: String,
    },
    /// Not sent: the vendor refused the credentials (401/403) earlier on this latch.
    #[error("{vendor}: not called: the credentials were refused earlier in this run")]
    NotCalled {
        /// Vendor name.
        vendor: &'static str,
    },
}

impl VendorError {
    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            VendorError::Transport { .. } | VendorError::NotSent { .. } => true,
            VendorError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// Whether the vendor refused the request for its rate (429): nothing was done.
    pub fn is_throttled(&self) -> bool {
        matches!(self, VendorError::Status { status: 429, .. })
    }

    /// The vendor's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            VendorError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Which failures a send repeats.
#[derive(Debug, Clone, Copy)]
enum Retry {
    /// Every transient failure (reads and idempotent writes).
    Transient,
    /// Only a 429: nothing happened.
    Throttled,
    /// 429, 5xx and connections never made: the vendor did not take the write.
    Failures,
}

/// A reqwest client for one vendor, reused across invocations.
#[derive(Debug, Clone)]
pub struct VendorClient {
    vendor: &'static str,
    http: reqwest::Client,
    policy: RetryPolicy,
    calls: Arc<AtomicU64>,
    pacer: Option<Pacer>,
    auth_latch: Option<Arc<AtomicBool>>,
}

impl VendorClient {
    /// A client with a per-request `timeout`, over the shared TLS configuration ([`crate::tls`]).
    pub fn new(vendor: &'static str, timeout: Duration, policy: RetryPolicy) -> Result<VendorClient, VendorError> {
        let http = crate::tls::client_builder()
            .map_err(|message| VendorError::Setup { vendor, message })?
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("event-lead-platform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| VendorError::Setup { vendor, message: e.to_string() })?;
        Ok(VendorClient { vendor, http, policy, calls: Arc::default(), pacer: None, auth_latch: None })
    }

    /// The same client (same pacing and call count) with an authentication latch: the first
    /// 401 or 403 sets `latch` before the request's pacing slot is given back, and no request
    /// *starts* once it is set (attempts waiting for their slot or rate then fail with
    /// [`VendorError::NotCalled`]). Requests already in flight when the refusal arrives finish.
    pub fn with_auth_latch(&self, latch: Arc<AtomicBool>) -> VendorClient {
        VendorClient { auth_latch: Some(latch), ..self.clone() }
    }

    /// The same client, paced: shared by every clone made afterwards.
    pub fn with_pacer(mut self, pacer: Pacer) -> VendorClient {
        self.pacer = Some(pacer);
        self
    }

    /// The vendor's name, for errors and logs.
    pub fn vendor(&self) -> &'static str {
        self.vendor
    }

    /// HTTP requests made so far (every attempt counts: vendors count them against quotas).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Sends the request built by `build`, retrying transient failures, and returns a success
    /// response (2xx). `build` is called once per attempt. For reads and idempotent writes.
    pub async fn send(&self, build: impl Fn(&reqwest::Client) -> RequestBuilder) -> Result<Response, VendorError> {
        self.send_retrying(build, Retry::Transient).await
    }

    /// Like [`send`](Self::send) for a write that must not be repeated blindly: only a 429 (the
    /// vendor refused it) is retried; a timeout or 5xx, after which the write may have happened,
    /// is returned to the caller, who can look before writing again.
    pub async fn send_write(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, VendorError> {
        self.send_retrying(build, Retry::Throttled).await
    }

    /// Like [`send_write`](Self::send_write) for a vendor whose failures (5xx) mean the write
    /// was not taken: a 429, a 5xx and a connection that was never made are retried; a request
    /// sent whose answer was lost ([`VendorError::Transport`]) is returned, never repeated.
    pub async fn send_write_retrying_failures(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, VendorError> {
        self.send_retrying(build, Retry::Failures).await
    }

    async fn send_retrying(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
        retry: Retry,
    ) -> Result<Response, VendorError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.policy.min_delay)
            .with_max_delay(self.policy.max_delay)
            .with_max_times(self.policy.max_retries)
            .with_jitter();
        let max_retry_after = self.policy.max_retry_after;
        let attempt = || async {
            let turn = match &self.pacer {
                Some(p) => Some(p.turn().await),
                None => None,
            };
            if self.auth_latch.as_ref().is_some_and(|l| l.load(Ordering::SeqCst)) {
                return Err(VendorError::NotCalled { vendor: self.vendor });
            }
            self.calls.fetch_add(1, Ordering::Relaxed);
            let resp = build(&self.http).send().await.map_err(|e| {
                if e.is_connect() {
                    VendorError::NotSent { vendor: self.vendor, message: error_chain(e) }
                } else {
                    VendorError::Transport { vendor: self.vendor, message: error_chain(e) }
                }
            })?;
            let status = resp.status();
            let retry_after = parse_retry_after(resp.headers().get(RETRY_AFTER));
            if let (Some(p), Some(turn)) = (&self.pacer, &turn) {
                match status.as_u16() {
                    429 => p.refused(turn, retry_after),
                    _ => p.accepted(turn),
                }
            }
            if status.is_success() {
                return Ok(resp);
            }
            if matches!(status.as_u16(), 401 | 403)
                && let Some(latch) = &self.auth_latch
            {
                latch.store(true, Ordering::SeqCst);
            }
            let body = resp.text().await.unwrap_or_default();
            Err(VendorError::Status {
                vendor: self.vendor,
                status: status.as_u16(),
                body: without_url_queries(&body.chars().take(300).collect::<String>()),
                retry_after,
            })
        };
        attempt
            .retry(backoff.build())
            .when(|e: &VendorError| {
                let retryable = match retry {
                    Retry::Transient => e.is_transient(),
                    Retry::Throttled => e.is_throttled(),
                    Retry::Failures => {
                        matches!(e, VendorError::NotSent { .. } | VendorError::Status { status: 429 | 500.., .. })
                    }
                };
                retryable && e.retry_after().is_none_or(|d| d <= max_retry_after)
            })
            // The vendor's Retry-After replaces the computed backoff (plus a little jitter).
            .adjust(|e: &VendorError, computed| match (e.retry_after(), computed) {
                (Some(wait), Some(_)) => Some(wait + Duration::from_millis(fastrand::u64(0..100))),
                (_, computed) => computed,
            })
            .notify(|e: &VendorError, wait: Duration| {
                tracing::warn!(vendor = self.vendor, error = %e, wait_ms = wait.as_millis() as u64, "retrying vendor call");
            })
            .await
    }
}

/// Reads a success response's body; a failure (connection cut, timeout mid-body) is a
/// [`VendorError::Transport`] whose text carries no URL.
pub async fn read_body(vendor: &'static str, resp: Response) -> Result<Vec<u8>, VendorError> {
    match resp.bytes().await {
        Ok(b) => Ok(b.to_vec()),
        Err(e) => Err(VendorError::Transport { vendor, message: format!("reading the answer: {}", error_chain(e)) }),
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
fn parse_retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let text = value?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// A transport error's text with its causes, without the request URL: the query string may
/// carry credentials or personal data (MeetMax signs every parameter into it), and this text
/// ends up in logs, run records and operators' status columns.
fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    without_url_queries(&msg)
}

/// `text` with the query string (and fragment) of every `http://` or `https://` URL replaced by
/// `?[redacted]` (schemes in any case, and JSON-escaped `https:\/\/` too): the one place vendor
/// error text is cleaned before it is stored or logged.
pub fn without_url_queries(text: &str) -> String {
    const SCHEMES: [&str; 4] = ["http://", "https://", "http:\\/\\/", "https:\\/\\/"];
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(start) = SCHEMES.iter().filter_map(|s| lower[at..].find(s)).min().map(|i| at + i) {
        out.push_str(&text[at..start]);
        let url_len = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | '`'))
            .unwrap_or(text.len() - start);
        let url = &text[start..start + url_len];
        match url.find(['?', '#']) {
            Some(q) => {
                out.push_str(&url[..q]);
                out.push_str("?[redacted]");
            }
            None => out.push_str(url),
        }
        at = start + url_len;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let v = reqwest::header::HeaderValue::from_static("7");
        assert_eq!(parse_retry_after(Some(&v)), Some(Duration::from_secs(7)));
        let past = reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(Some(&past)), Some(Duration::ZERO));
        let junk = reqwest::header::HeaderValue::from_static("soon");
        assert_eq!(parse_retry_after(Some(&junk)), None);
    }

    #[test]
    fn url_queries_are_removed_from_error_text() {
        let text = "error sending request for url (https://meetmax.example/sched/service/attendee/add?password=hunter2&oauth_signature=x): timed out";
        let clean = without_url_queries(text);
        assert_eq!(
            clean,
            "error sending request for url (https://meetmax.example/sched/service/attendee/add?[redacted]): timed out"
        );
        assert_eq!(
            without_url_queries("see http://a/b?k=v and https://c/d#frag end"),
            "see http://a/b?[redacted] and https://c/d?[redacted] end"
        );
        assert_eq!(without_url_queries("no url here?x=1"), "no url here?x=1");
        assert_eq!(without_url_queries("http://a/b"), "http://a/b");
        assert_eq!(without_url_queries("HTTPS://A/b?password=p x"), "HTTPS://A/b?[redacted] x");
        assert_eq!(
            without_url_queries(r#"{"error":"see https:\/\/m.example\/add?password=p"}"#),
            r#"{"error":"see https:\/\/m.example\/add?[redacted]"}"#
        );
        assert_eq!(without_url_queries("ünïcode http://a/?k=v ok"), "ünïcode http://a/?[redacted] ok");
    }

    #[tokio::test]
    async fn transport_errors_carry_no_query_string() {
        // Nothing listens on port 9 of loopback: a connection error, whose text would name the URL.
        let client =
            VendorClient::new("test", Duration::from_secs(2), RetryPolicy { max_retries: 0, ..RetryPolicy::default() })
                .unwrap();
        let err = client.send(|c| c.get("http://127.0.0.1:9/path?password=hunter2")).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, VendorError::NotSent { .. }), "a refused connection never reached the vendor: {text}");
        assert!(err.is_transient());
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn classification() {
        let s = |status| VendorError::Status { vendor: "v", status, body: String::new(), retry_after: None };
        assert!(s(429).is_transient() && s(503).is_transient());
        assert!(!s(400).is_transient() && !s(401).is_transient());
        assert!(VendorError::Transport { vendor: "v", message: String::new() }.is_transient());
        assert!(VendorError::NotSent { vendor: "v", message: String::new() }.is_transient());
        assert!(!VendorError::Response { vendor: "v", message: String::new() }.is_transient());
    }
}
