//! Calls to a provider: authentication (`auth`), the account's pacing budget
//! shared by every invocation through the warehouse, errors inside HTTP 200 classified by the
//! description's rule (end of list, invalid token → authorise again once, throttled → wait),
//! truncated answers retried, and page sizes halved when the provider fails on large answers.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use platform_vendors::{VendorClient, VendorError, http::read_body};
use platform_warehouse::Warehouse;
use serde_json::Value;

use crate::{
    ConnectorError,
    auth::Auth,
    description::{Paging, Provider},
    records::is_one_of,
};

/// The event parameter of a connection's calls: the `event_param` setting, else the manifest's.
pub fn event_params(
    provider: &Provider,
    settings: &crate::settings::ConnectionSettings,
    auth: &Auth,
) -> Vec<(String, String)> {
    match (settings.event_param(provider), auth.event_id()) {
        (Some(p), Some(id)) => vec![(p.to_owned(), id.to_owned())],
        _ => Vec::new(),
    }
}

/// A list's own query parameters, `{event}` standing for the event id.
pub fn list_params(params: &std::collections::BTreeMap<String, String>, auth: &Auth) -> Vec<(String, String)> {
    let event = auth.event_id().unwrap_or_default();
    params.iter().map(|(k, v)| (k.clone(), v.replace("{event}", event))).collect()
}

/// `id` as one path segment (percent-encoded).
fn path_segment(id: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/").expect("a fixed URL");
    url.path_segments_mut().expect("an http URL has segments").push(id);
    url.path()[1..].to_owned()
}

/// One page of a list.
#[derive(Debug)]
pub struct Page {
    /// Its records.
    pub records: Vec<Value>,
    /// The token or link of the next page (token paging).
    pub next: Option<String>,
    /// Whether a next page may follow (else the list ends with this page). Only token paging
    /// goes on past an empty page, when it carries a next token or link.
    pub more: bool,
}

/// What a call answered.
#[derive(Debug)]
pub enum Answer {
    /// Data.
    Data(Value),
    /// Past the end of a list.
    End,
}

/// Calls one provider for one connection, counting every request.
pub struct Fetcher<'a> {
    /// The description.
    pub provider: &'a Provider,
    /// The HTTP client (shared per container).
    pub http: &'a VendorClient,
    /// Authentication.
    pub auth: &'a Auth,
    /// Where the pacing budget lives.
    pub warehouse: &'a Warehouse,
    /// Seconds between two requests of the account.
    pub spacing: f64,
    /// Seconds the slots may run behind the clock (the manifest's `catch_up_secs`): a pull that
    /// fell behind sends that many seconds of requests without waiting (GCRA: at most
    /// `1 + (60 + burst) / spacing` requests in any minute).
    pub burst: f64,
    /// Requests made (authorisation included).
    pub requests: AtomicU64,
    /// What the provider's answers showed of its shapes (first-contact notes), by key, not yet
    /// taken; and every key taken before (each note is taken once per fetcher).
    observed: std::sync::Mutex<Observed>,
}

/// First-contact notes not yet taken, and the keys taken before.
type Observed = (std::collections::BTreeMap<String, String>, std::collections::BTreeSet<String>);

const MAX_ATTEMPTS: u32 = 5;

fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(250 * 2u64.pow(attempt.min(6)));
    base.min(Duration::from_secs(20)) + Duration::from_millis(fastrand::u64(0..200))
}

impl<'a> Fetcher<'a> {
    /// A fetcher at `rate_per_minute` for the account.
    pub fn new(
        provider: &'a Provider,
        http: &'a VendorClient,
        auth: &'a Auth,
        warehouse: &'a Warehouse,
        rate_per_minute: f64,
    ) -> Fetcher<'a> {
        Fetcher {
            provider,
            http,
            auth,
            warehouse,
            spacing: 60.0 / rate_per_minute.max(1.0),
            burst: provider.catch_up_secs,
            requests: AtomicU64::new(0),
            observed: Default::default(),
        }
    }

    /// Records a first-contact note (the first note of a key stays).
    pub fn observe(&self, key: impl Into<String>, note: impl Into<String>) {
        let mut held = self.observed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = key.into();
        if !held.1.contains(&key) {
            held.0.entry(key).or_insert_with(|| note.into());
        }
    }

    /// The notes recorded since the last call, each key once in the fetcher's life.
    pub fn take_observed(&self) -> std::collections::BTreeMap<String, String> {
        let mut held = self.observed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let taken = std::mem::take(&mut held.0);
        held.1.extend(taken.keys().cloned());
        taken
    }

    /// Requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Waits for the account's next request slot (one budget in the warehouse for every
    /// invocation of every container: a GCRA over `connector.pacing`, whose slots may run up
    /// to `burst` seconds behind the clock).
    async fn pace(&self) -> Result<(), ConnectorError> {
        let conn = self.warehouse.conn().await?;
        let wait: f64 = conn
            .query_one(
                "INSERT INTO connector.pacing AS p (account, next_at)
                      VALUES ($1, clock_timestamp() + make_interval(secs => $2))
                 ON CONFLICT (account) DO UPDATE
                      SET next_at = greatest(p.next_at, clock_timestamp() - make_interval(secs => $3))
                                    + make_interval(secs => $2)
                 RETURNING greatest(0, extract(epoch FROM (p.next_at - make_interval(secs => $2) - clock_timestamp())))::float8",
                &[&self.auth.account_key(), &self.spacing, &self.burst],
            )
            .await?
            .get(0);
        drop(conn);
        if wait > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
        Ok(())
    }

    /// One call of `call` with `params`; `too_large` statuses are returned as
    /// [`ConnectorError::TooLarge`] for the caller to lower its page size.
    pub async fn call(
        &self,
        call: &str,
        params: &[(String, String)],
        too_large: &[u16],
    ) -> Result<Answer, ConnectorError> {
        let rule = &self.provider.errors;
        let shown = self.provider.display.as_str();
        let endpoint = self.auth.endpoint();
        let (url, path) = if call.starts_with("https://") || call.starts_with("http://") {
            // A next link: followed only under the endpoint, where the credentials may go.
            let Some(path) = call.strip_prefix(endpoint).filter(|rest| rest.starts_with(['/', '?'])) else {
                let shown_link = platform_vendors::http::without_url_queries(call);
                return Err(ConnectorError::Provider(format!(
                    "{shown}: the next page's link {shown_link} lies outside the endpoint {endpoint}"
                )));
            };
            (call.to_owned(), path.trim_start_matches('/').to_owned())
        } else {
            let path = call.replace("{event}", self.auth.event_id().unwrap_or_default());
            (format!("{endpoint}/{}", path.trim_start_matches('/')), path)
        };
        let mut reauthorised = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            // The slot first, then the token: a token is judged fresh just before the call leaves.
            self.pace().await?;
            let auth = self
                .auth
                .authenticate(self.http, || async {
                    self.pace().await?;
                    self.requests.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                })
                .await?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = self.http.send_write(|c| auth.apply(c.get(&url).query(params))).await;
            let resp = match sent {
                Ok(r) => r,
                Err(VendorError::Status { status, .. }) if too_large.contains(&status) => {
                    return Err(ConnectorError::TooLarge(status));
                }
                Err(VendorError::Status { status, .. }) if rule.refused_statuses.contains(&status) && !reauthorised => {
                    reauthorised = true;
                    self.auth.forget().await;
                    continue;
                }
                Err(VendorError::Status { status, .. }) if rule.refused_statuses.contains(&status) => {
                    return Err(ConnectorError::Credentials(self.auth.refused()));
                }
                Err(VendorError::Status { status: 404, .. }) => {
                    return Err(ConnectorError::Provider(format!(
                        "{shown}: {call} answered 404 not found (is the event id right?)"
                    )));
                }
                Err(e) if e.is_transient() && attempt < MAX_ATTEMPTS => {
                    tracing::warn!(provider = %shown, error = %e, attempt, "retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let body = match read_body(self.http.vendor(), resp).await {
                Ok(b) => b,
                Err(e) if attempt < MAX_ATTEMPTS => {
                    tracing::warn!(provider = %shown, error = %e, attempt, "retrying a cut answer");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let value: Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) if attempt < 3 => {
                    tracing::warn!(provider = %shown, error = %e, attempt, "retrying an answer that is not JSON");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => {
                    return Err(ConnectorError::Provider(format!(
                        "{shown}: {call} answered {} bytes that are not JSON ({e})",
                        body.len()
                    )));
                }
            };
            if let Some(marker) = rule.marker.as_deref().and_then(|m| value.pointer(m)) {
                let message = rule
                    .message
                    .as_deref()
                    .and_then(|m| value.pointer(m))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| marker.to_string());
                if is_one_of(&rule.end_of_list, &message) {
                    self.observe(format!("end of list {path}"), format!("{path}: the end of the list was {message:?}"));
                    return Ok(Answer::End);
                }
                if is_one_of(&rule.throttled, &message) && attempt < MAX_ATTEMPTS {
                    tracing::warn!(provider = %shown, attempt, "throttled (error in 200); waiting");
                    tokio::time::sleep(backoff(attempt + 2)).await;
                    continue;
                }
                // An expired token's wording is not on the public record: public clients authorise
                // again on any error, once, and so does this one.
                if !reauthorised {
                    if !is_one_of(&rule.invalid_token, &message) {
                        tracing::info!(provider = %shown, call, "error answer; authorising again once");
                    }
                    reauthorised = true;
                    self.auth.forget().await;
                    continue;
                }
                if is_one_of(&rule.invalid_token, &message) {
                    return Err(ConnectorError::Credentials(format!(
                        "{shown} refused a fresh access token: {message}"
                    )));
                }
                let message = platform_vendors::http::without_url_queries(&message);
                return Err(ConnectorError::Provider(format!("{shown}: {call}: {message}")));
            }
            if rule.empty_array_ends && value.as_array().is_some_and(Vec::is_empty) {
                self.observe(format!("end of list {path}"), format!("{path}: the end of the list was an empty array"));
                return Ok(Answer::End);
            }
            return Ok(Answer::Data(value));
        }
    }

    /// The detail record of `id`: `Ok(Err(why))` when the provider has none to give (an error
    /// body, the end of a list, something other than a record); `Err` for what stops a pull.
    pub async fn detail(
        &self,
        detail: &crate::description::Detail,
        event: &[(String, String)],
        id: &str,
    ) -> Result<Result<Value, String>, ConnectorError> {
        let mut params = event.to_vec();
        let call = if detail.call.contains("{id}") {
            detail.call.replace("{id}", &path_segment(id))
        } else {
            detail.call.clone()
        };
        if let Some(p) = &detail.id_param {
            params.push((p.clone(), id.to_owned()));
        }
        Ok(match self.call(&call, &params, &[]).await {
            Ok(Answer::Data(v)) if v.is_object() => Ok(v),
            Ok(Answer::Data(_)) => Err(format!("{} answered something other than a record", detail.call)),
            Ok(Answer::End) => Err(format!("{} found no such record", detail.call)),
            Err(ConnectorError::Provider(message)) => Err(message),
            Err(e) => return Err(e),
        })
    }

    /// The page of a list at `offset` (records for offset paging, pages for page numbers) or at
    /// `token` (token paging: the token or link the previous page gave; none for the first),
    /// halving `limit` (down to the paging rule's minimum) while the provider fails on the
    /// answer's size. `None` past the end. Without a paging rule the first call answers every
    /// record and any later offset is past the end.
    #[allow(clippy::too_many_arguments)]
    pub async fn page(
        &self,
        call: &str,
        paging: Option<&Paging>,
        records_at: &str,
        base: &[(String, String)],
        offset: u64,
        token: Option<&str>,
        limit: &mut u32,
    ) -> Result<Option<Page>, ConnectorError> {
        let last = |records: Vec<Value>| Page { records, next: None, more: false };
        let flag = |v: &Value, at: &Option<String>| at.as_deref().and_then(|p| v.pointer(p)).and_then(Value::as_bool);
        match paging {
            None => {
                if offset > 0 {
                    return Ok(None);
                }
                match self.call(call, base, &[]).await? {
                    Answer::End => Ok(None),
                    Answer::Data(v) => Ok(Some(last(self.records(call, records_at, v)?))),
                }
            }
            Some(Paging::Offset { limit_param, offset_param, min_limit, too_large_statuses, .. }) => loop {
                let mut params = base.to_vec();
                params.push((limit_param.clone(), limit.to_string()));
                params.push((offset_param.clone(), offset.to_string()));
                let too_large: &[u16] = if *limit > *min_limit { too_large_statuses } else { &[] };
                match self.call(call, &params, too_large).await {
                    Err(ConnectorError::TooLarge(status)) => {
                        let halved = (*limit / 2).max(*min_limit);
                        tracing::warn!(
                            provider = %self.provider.display,
                            status,
                            from = *limit,
                            to = halved,
                            "answer too large; halving the page size"
                        );
                        *limit = halved;
                    }
                    Err(e) => return Err(e),
                    Ok(Answer::End) => return Ok(None),
                    Ok(Answer::Data(v)) => {
                        // An empty page ends an offset-paged list.
                        let records = self.records(call, records_at, v)?;
                        let more = !records.is_empty();
                        return Ok(Some(Page { records, next: None, more }));
                    }
                }
            },
            Some(Paging::PageNumber { page_param, first_page, size_param, has_more_at, .. }) => {
                let mut params = base.to_vec();
                params.push((page_param.clone(), (first_page + offset).to_string()));
                if let Some(size) = size_param {
                    params.push((size.clone(), limit.to_string()));
                }
                match self.call(call, &params, &[]).await? {
                    Answer::End => Ok(None),
                    Answer::Data(v) => {
                        // An empty page, or one that says no more follow, ends the list.
                        let has_more = flag(&v, has_more_at).unwrap_or(true);
                        let records = self.records(call, records_at, v)?;
                        let more = has_more && !records.is_empty();
                        Ok(Some(Page { records, next: None, more }))
                    }
                }
            }
            Some(Paging::Token { token_param, next_token_at, next_link_at, size_param, has_more_at, .. }) => {
                let (url, params) = match (token, token_param) {
                    // A next link carries every parameter of the next page.
                    (Some(link), _) if next_token_at.is_none() => (self.link(call, link)?, Vec::new()),
                    (token, token_param) => {
                        let mut params = base.to_vec();
                        if let Some(size) = size_param {
                            params.push((size.clone(), limit.to_string()));
                        }
                        if let (Some(t), Some(p)) = (token, token_param) {
                            params.push((p.clone(), t.to_owned()));
                        }
                        (call.to_owned(), params)
                    }
                };
                match self.call(&url, &params, &[]).await? {
                    Answer::End => Ok(None),
                    Answer::Data(v) => {
                        let text = |at: &Option<String>| {
                            at.as_deref()
                                .and_then(|p| v.pointer(p))
                                .and_then(Value::as_str)
                                .filter(|t| !t.trim().is_empty())
                                .map(str::to_owned)
                        };
                        let next = text(next_token_at).or_else(|| text(next_link_at));
                        let more = next.is_some() && flag(&v, has_more_at).unwrap_or(true);
                        let records = self.records(call, records_at, v)?;
                        Ok(Some(Page { records, next: next.filter(|_| more), more }))
                    }
                }
            }
        }
    }

    /// A next link as an absolute URL (a relative one is read against the list call's URL).
    fn link(&self, call: &str, link: &str) -> Result<String, ConnectorError> {
        if link.starts_with("https://") || link.starts_with("http://") {
            return Ok(link.to_owned());
        }
        let path = call.replace("{event}", self.auth.event_id().unwrap_or_default());
        reqwest::Url::parse(&format!("{}/{}", self.auth.endpoint(), path.trim_start_matches('/')))
            .and_then(|base| base.join(link))
            .map(String::from)
            .map_err(|e| {
                ConnectorError::Provider(format!("{}: the next page's link is not a URL: {e}", self.provider.display))
            })
    }

    fn records(&self, call: &str, records_at: &str, v: Value) -> Result<Vec<Value>, ConnectorError> {
        crate::records::records_of(v, records_at).ok_or_else(|| {
            ConnectorError::Provider(format!(
                "{}: {call} answered something other than a list of records",
                self.provider.display
            ))
        })
    }

    /// Bytes and content type at `url` (photos: no token is sent), `None` when absent (404).
    pub async fn bytes(&self, url: &str) -> Result<Option<(Vec<u8>, Option<String>)>, ConnectorError> {
        self.pace().await?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        match self.http.send(|c| c.get(url)).await {
            Ok(resp) => {
                let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
                Ok(Some((read_body(self.http.vendor(), resp).await?, ct)))
            }
            Err(VendorError::Status { status: 404 | 410, .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
