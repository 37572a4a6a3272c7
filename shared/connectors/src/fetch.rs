//! Calls to a provider: authentication (the provider's thin client), the account's pacing budget
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
use tokio::sync::Mutex;

use crate::{
    ConnectorError,
    aventri::Credentials as AventriCredentials,
    description::{Paging, Provider},
    lenos::{self, AuthMode, Credentials as LenosCredentials},
    records::is_one_of,
};

/// A provider's authentication: the only provider-specific code outside the descriptions.
#[derive(Debug)]
pub enum Auth {
    /// Aventri: `global/authorize.json` (POST form `accountid`, `key`) → `accesstoken`, sent as
    /// a query parameter on every call.
    Aventri {
        /// Checked credentials.
        creds: AventriCredentials,
        /// The current token.
        token: Mutex<Option<String>>,
    },
    /// Lenos (the provisional contract `lenos-provisional-v1`): HTTP Basic on every call, or a
    /// bearer token from `POST /login` renewed before it expires and once after a 401.
    Lenos {
        /// Checked credentials.
        creds: LenosCredentials,
        /// The current token and when it expires (token mode).
        token: Mutex<Option<(String, std::time::Instant)>>,
    },
}

/// How a call carries its authentication.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Query parameters.
    Query(Vec<(String, String)>),
    /// An `Authorization` header value.
    Header(String),
}

impl Credential {
    /// `builder` with this credential attached.
    pub fn apply(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credential::Query(q) => builder.query(q),
            Credential::Header(h) => builder.header(reqwest::header::AUTHORIZATION, h),
        }
    }
}

impl Auth {
    /// The authentication of `provider` from its secret (checked before any call).
    pub fn from_secret(provider: &str, secret: &Value) -> Result<Auth, ConnectorError> {
        match provider {
            "aventri" => Ok(Auth::Aventri { creds: AventriCredentials::from_secret(secret)?, token: Mutex::new(None) }),
            "lenos" => Ok(Auth::Lenos { creds: LenosCredentials::from_secret(secret)?, token: Mutex::new(None) }),
            other => Err(ConnectorError::Config(format!("unknown provider {other:?}"))),
        }
    }

    /// Base URL of calls.
    pub fn endpoint(&self) -> &str {
        match self {
            Auth::Aventri { creds, .. } => &creds.endpoint,
            Auth::Lenos { creds, .. } => &creds.endpoint,
        }
    }

    /// The event id of event-scoped calls.
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Auth::Aventri { creds, .. } => Some(&creds.eventid),
            Auth::Lenos { creds, .. } => Some(&creds.event_id),
        }
    }

    /// A non-secret credential (photo endpoints, the account id).
    pub fn credential(&self, name: &str) -> Option<&str> {
        match self {
            Auth::Aventri { creds, .. } if name == "accountid" => Some(&creds.accountid),
            Auth::Aventri { creds, .. } => creds.extra.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()),
            Auth::Lenos { .. } => None,
        }
    }

    /// The pacing account.
    pub fn account_key(&self) -> String {
        match self {
            Auth::Aventri { creds, .. } => creds.account_key(),
            Auth::Lenos { creds, .. } => creds.account_key(),
        }
    }

    /// What an operator reads when the provider refuses the credentials.
    pub fn refused(&self) -> String {
        match self {
            Auth::Aventri { .. } => "Aventri refused the account id / key".into(),
            Auth::Lenos { .. } => "Lenos refused the username / password".into(),
        }
    }

    async fn forget(&self) {
        match self {
            Auth::Aventri { token, .. } => *token.lock().await = None,
            Auth::Lenos { token, .. } => *token.lock().await = None,
        }
    }

    /// What authenticates a call, authorising first when needed.
    pub async fn authenticate(&self, f: &Fetcher<'_>) -> Result<Credential, ConnectorError> {
        match self {
            Auth::Aventri { creds, token } => {
                let mut held = token.lock().await;
                if held.is_none() {
                    *held = Some(aventri_authorize(f, creds).await?);
                }
                Ok(Credential::Query(vec![("accesstoken".into(), held.clone().unwrap_or_default())]))
            }
            Auth::Lenos { creds, token } => match creds.mode {
                AuthMode::Basic => Ok(Credential::Header(creds.basic_header())),
                AuthMode::Token => {
                    let mut held = token.lock().await;
                    let fresh = held.as_ref().is_some_and(|(_, until)| *until > std::time::Instant::now());
                    if !fresh {
                        f.pace().await?;
                        f.requests.fetch_add(1, Ordering::Relaxed);
                        *held = Some(lenos::login(f.http, creds).await?);
                    }
                    Ok(Credential::Header(format!("Bearer {}", held.as_ref().map(|(t, _)| t.as_str()).unwrap_or(""))))
                }
            },
        }
    }
}

async fn aventri_authorize(f: &Fetcher<'_>, creds: &AventriCredentials) -> Result<String, ConnectorError> {
    let refused = || ConnectorError::Credentials(f.auth.refused());
    let url = format!("{}/global/authorize.json", creds.endpoint);
    f.pace().await?;
    f.requests.fetch_add(1, Ordering::Relaxed);
    let resp = match f.http.send_write(|c| c.post(&url).form(&creds.authorize_form())).await {
        Ok(r) => r,
        Err(VendorError::Status { status: 401 | 403, .. }) => return Err(refused()),
        Err(e) => return Err(e.into()),
    };
    let body = read_body(f.http.vendor(), resp).await?;
    let v: Value = serde_json::from_slice(&body).map_err(|_| {
        ConnectorError::Provider(format!("{}: the authorisation answer is not JSON", f.provider.display))
    })?;
    crate::aventri::access_token(&v).map(str::to_owned).ok_or_else(refused)
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
    pub provider: &'a crate::description::Provider,
    /// The HTTP client (shared per container).
    pub http: &'a VendorClient,
    /// Authentication.
    pub auth: &'a Auth,
    /// Where the pacing budget lives.
    pub warehouse: &'a Warehouse,
    /// Seconds between two requests of the account.
    pub spacing: f64,
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
    /// invocation of every container: a GCRA over `connector.pacing`).
    async fn pace(&self) -> Result<(), ConnectorError> {
        let conn = self.warehouse.conn().await?;
        let wait: f64 = conn
            .query_one(
                "INSERT INTO connector.pacing AS p (account, next_at)
                      VALUES ($1, clock_timestamp() + make_interval(secs => $2))
                 ON CONFLICT (account) DO UPDATE
                      SET next_at = greatest(p.next_at, clock_timestamp()) + make_interval(secs => $2)
                 RETURNING greatest(0, extract(epoch FROM (p.next_at - make_interval(secs => $2) - clock_timestamp())))::float8",
                &[&self.auth.account_key(), &self.spacing],
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
        let shown = self.provider.display;
        let path = call.replace("{event}", self.auth.event_id().unwrap_or_default());
        let url = format!("{}/{}", self.auth.endpoint(), path);
        let mut reauthorised = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let auth = self.auth.authenticate(self).await?;
            self.pace().await?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = self.http.send_write(|c| auth.apply(c.get(&url).query(params))).await;
            let resp = match sent {
                Ok(r) => r,
                Err(VendorError::Status { status, .. }) if too_large.contains(&status) => {
                    return Err(ConnectorError::TooLarge(status));
                }
                Err(VendorError::Status { status: 401 | 403, .. }) if !reauthorised => {
                    reauthorised = true;
                    self.auth.forget().await;
                    continue;
                }
                Err(VendorError::Status { status: 401 | 403, .. }) => {
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
            if let Some(marker) = value.pointer(rule.marker) {
                let message = value
                    .pointer(rule.message)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| marker.to_string());
                if is_one_of(rule.end_of_list, &message) {
                    self.observe(format!("end of list {path}"), format!("{path}: the end of the list was {message:?}"));
                    return Ok(Answer::End);
                }
                if is_one_of(rule.throttled, &message) && attempt < MAX_ATTEMPTS {
                    tracing::warn!(provider = %shown, attempt, "throttled (error in 200); waiting");
                    tokio::time::sleep(backoff(attempt + 2)).await;
                    continue;
                }
                // An expired token's wording is not on the public record: public clients authorise
                // again on any error, once, and so does this one.
                if !reauthorised {
                    if !is_one_of(rule.invalid_token, &message) {
                        tracing::info!(provider = %shown, call, "error answer; authorising again once");
                    }
                    reauthorised = true;
                    self.auth.forget().await;
                    continue;
                }
                if is_one_of(rule.invalid_token, &message) {
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
        params.push((detail.id_param.to_owned(), id.to_owned()));
        Ok(match self.call(detail.call, &params, &[]).await {
            Ok(Answer::Data(v)) if v.is_object() => Ok(v),
            Ok(Answer::Data(_)) => Err(format!("{} answered something other than a record", detail.call)),
            Ok(Answer::End) => Err(format!("{} found no such record", detail.call)),
            Err(ConnectorError::Provider(message)) => Err(message),
            Err(e) => return Err(e),
        })
    }

    /// One page at `offset`, halving `limit` (down to the paging rule's minimum) while the
    /// provider fails on the answer's size. Returns the records, or `None` past the end. Without
    /// a paging rule the first call answers every record and any later offset is past the end.
    #[allow(clippy::too_many_arguments)]
    pub async fn page(
        &self,
        call: &str,
        paging: Option<&Paging>,
        records_at: &str,
        base: &[(String, String)],
        offset: u64,
        limit: &mut u32,
    ) -> Result<Option<Vec<Value>>, ConnectorError> {
        let Some(paging) = paging else {
            if offset > 0 {
                return Ok(None);
            }
            return match self.call(call, base, &[]).await? {
                Answer::End => Ok(None),
                Answer::Data(v) => Ok(Some(self.records(call, records_at, v)?).filter(|r| !r.is_empty())),
            };
        };
        loop {
            let mut params = base.to_vec();
            params.push((paging.limit_param.into(), limit.to_string()));
            params.push((paging.offset_param.into(), offset.to_string()));
            let too_large = if *limit > paging.min_limit { paging.too_large_statuses } else { &[] };
            match self.call(call, &params, too_large).await {
                Err(ConnectorError::TooLarge(status)) => {
                    let halved = (*limit / 2).max(paging.min_limit);
                    tracing::warn!(
                        provider = self.provider.display,
                        status,
                        from = *limit,
                        to = halved,
                        "answer too large; halving the page size"
                    );
                    *limit = halved;
                }
                Err(e) => return Err(e),
                Ok(Answer::End) => return Ok(None),
                Ok(Answer::Data(v)) => return self.records(call, records_at, v).map(Some),
            }
        }
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
