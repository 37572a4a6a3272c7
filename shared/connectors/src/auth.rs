//! Authentication as the manifest describes it: the secret's fields read and checked before any
//! call, the method chosen (by a credential when the provider offers several), and the token of
//! a login or an OAuth 2.0 client-credentials grant held, renewed at 90 % of its life and once
//! after the provider refuses it.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use base64::Engine;
use platform_vendors::{VendorClient, VendorError, http::read_body};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::{
    ConnectorError, credentials,
    description::{AuthMethod, BodyKind, ClientAuth, ClientCredentials, Login, Provider, TokenUse},
};

/// A connection's checked credentials: every declared field the secret holds. `Debug` shows
/// only the fields the manifest does not mark secret.
#[derive(Clone)]
pub struct Credentials {
    values: BTreeMap<String, String>,
    secret: Vec<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Credentials");
        for (k, v) in &self.values {
            if self.secret.contains(k) {
                d.field(k, &"[redacted]");
            } else {
                d.field(k, v);
            }
        }
        d.finish()
    }
}

impl Credentials {
    /// Reads `provider`'s fields from `secret`: required ones must be there, choices must be one
    /// of their values, the endpoint must be an https base URL of the manifest's form.
    pub fn from_secret(provider: &Provider, secret: &Value) -> Result<Credentials, ConnectorError> {
        let mut values = BTreeMap::new();
        for f in &provider.credentials {
            let value = if f.required {
                Some(credentials::required(secret, &provider.display, &f.name)?)
            } else {
                credentials::field(secret, &f.name)
            };
            let Some(value) = value else { continue };
            if !f.one_of.is_empty() && !f.one_of.iter().any(|o| o.eq_ignore_ascii_case(&value)) {
                return Err(ConnectorError::Config(format!(
                    "the {} secret's {} {value:?} is not one of {}",
                    provider.display,
                    f.name,
                    f.one_of.join(", ")
                )));
            }
            values.insert(f.name.clone(), value);
        }
        let rule = &provider.endpoint;
        let raw = values.get(&rule.credential).cloned().unwrap_or_default();
        let refuse = || {
            let form = match &rule.path {
                Some(path) => format!("of the form https://HOST{path}"),
                None => "an https:// base URL without query".to_owned(),
            };
            ConnectorError::Config(format!(
                "{} {} {raw:?} is not {form} (e.g. {})",
                provider.display, rule.credential, rule.example
            ))
        };
        let base = match credentials::base_url(&raw) {
            Some((base, url)) if rule.path.as_deref().is_none_or(|p| path_fits(&url, p)) => base,
            _ => return Err(refuse()),
        };
        values.insert(rule.credential.clone(), base);
        let secret = provider.credentials.iter().filter(|c| c.secret).map(|c| c.name.clone()).collect();
        Ok(Credentials { values, secret })
    }

    /// Field `name`, secret or not (for the calls that send it).
    fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// Field `name` when the manifest does not mark it secret.
    pub fn shown(&self, name: &str) -> Option<&str> {
        (!self.secret.iter().any(|s| s == name)).then(|| self.values.get(name).map(String::as_str)).flatten()
    }
}

/// Whether `url`'s path is the manifest's `path`; on loopback (the local sandbox, which serves
/// several providers) a prefix before it is allowed.
fn path_fits(url: &reqwest::Url, path: &str) -> bool {
    url.path() == path || (credentials::is_loopback(url) && url.path().ends_with(path))
}

/// A provider's authentication for one connection. `Debug` shows neither the secret
/// credentials nor the token.
pub struct Auth {
    /// The provider's display name.
    display: String,
    /// The checked credentials.
    creds: Credentials,
    /// The base URL of calls.
    endpoint: String,
    /// The event id of event-scoped calls.
    event: Option<String>,
    /// The pacing account.
    account: String,
    /// The method in force.
    method: AuthMethod,
    /// What an operator reads when the provider refuses the credentials.
    refused: String,
    /// The current token and when to renew it (`None`: when refused).
    token: Mutex<Option<(String, Option<Instant>)>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("display", &self.display)
            .field("creds", &self.creds)
            .field("endpoint", &self.endpoint)
            .field("event", &self.event)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// How a call carries its authentication. `Debug` shows no value.
#[derive(Clone)]
pub enum Credential {
    /// Query parameters.
    Query(Vec<(String, String)>),
    /// An `Authorization` header value.
    Header(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Query(q) => {
                f.debug_tuple("Query").field(&q.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>()).finish()
            }
            Credential::Header(_) => f.write_str("Header([redacted])"),
        }
    }
}

impl Credential {
    /// `builder` with this credential attached.
    pub fn apply(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credential::Query(q) => builder.query(q),
            Credential::Header(h) => builder.header(reqwest::header::AUTHORIZATION, h),
        }
    }

    /// The `Authorization` value, when the credential is one.
    pub fn header(&self) -> Option<&str> {
        match self {
            Credential::Header(h) => Some(h),
            Credential::Query(_) => None,
        }
    }
}

impl Auth {
    /// The authentication `provider`'s manifest describes, with the connection's secret
    /// (checked before any call).
    pub fn from_secret(provider: &Provider, secret: &Value) -> Result<Auth, ConnectorError> {
        let creds = Credentials::from_secret(provider, secret)?;
        let spec = &provider.auth;
        let mode = spec
            .mode_credential
            .as_ref()
            .and_then(|c| creds.values.get(c))
            .map(|m| m.to_ascii_lowercase())
            .unwrap_or_else(|| spec.default.clone());
        let method = spec.modes.get(&mode).cloned().ok_or_else(|| {
            ConnectorError::Config(format!(
                "the {} secret's {} {mode:?} is not one of {}",
                provider.display,
                spec.mode_credential.as_deref().unwrap_or("authentication mode"),
                spec.modes.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let endpoint = creds.get(&provider.endpoint.credential).to_owned();
        let account = format!("{}:{endpoint}:{}", provider.key, creds.get(&provider.account_credential));
        let event = provider.event_credential.as_ref().map(|c| creds.get(c).to_owned()).filter(|e| !e.is_empty());
        Ok(Auth {
            display: provider.display.clone(),
            creds,
            endpoint,
            event,
            account,
            method,
            refused: spec.refused.clone(),
            token: Mutex::new(None),
        })
    }

    /// Base URL of calls.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The event id of event-scoped calls.
    pub fn event_id(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// A credential the manifest does not mark secret (photo endpoints, the account id).
    pub fn credential(&self, name: &str) -> Option<&str> {
        self.creds.shown(name)
    }

    /// The pacing account.
    pub fn account_key(&self) -> String {
        self.account.clone()
    }

    /// What an operator reads when the provider refuses the credentials.
    pub fn refused(&self) -> String {
        self.refused.clone()
    }

    /// Whether the method holds a token a refusal should renew.
    pub fn renews(&self) -> bool {
        matches!(self.method, AuthMethod::Login(_) | AuthMethod::ClientCredentials(_))
    }

    /// Forgets the held token: the next call authorises again.
    pub async fn forget(&self) {
        *self.token.lock().await = None;
    }

    /// What authenticates a call, authorising first when no fresh token is held (`before_login`
    /// runs before that call: the pacing and the request count).
    pub async fn authenticate<F, Fut>(&self, http: &VendorClient, before_login: F) -> Result<Credential, ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), ConnectorError>>,
    {
        let (grant, send) = match &self.method {
            AuthMethod::Basic { username, password } => {
                let pair = format!("{}:{}", self.creds.get(username), self.creds.get(password));
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                return Ok(Credential::Header(format!("Basic {encoded}")));
            }
            AuthMethod::Token { token, send } => return Ok(carry(Some(send), self.creds.get(token))),
            AuthMethod::Login(l) => (Grant::Login(l), Some(&l.send)),
            AuthMethod::ClientCredentials(c) => (Grant::Client(c), None),
        };
        let mut held = self.token.lock().await;
        let fresh = held.as_ref().is_some_and(|(_, until)| until.is_none_or(|u| u > Instant::now()));
        if !fresh {
            before_login().await?;
            *held = Some(self.grant(http, grant).await?);
        }
        Ok(carry(send, held.as_ref().map_or("", |(t, _)| t.as_str())))
    }

    async fn grant(&self, http: &VendorClient, grant: Grant<'_>) -> Result<(String, Option<Instant>), ConnectorError> {
        let refused = || ConnectorError::Credentials(self.refused.clone());
        let (call, token_at, expires_at, default_ttl): (&str, Vec<&str>, Option<&str>, Option<u64>) = match grant {
            Grant::Login(l) => (
                &l.call,
                l.token_at.iter().map(String::as_str).collect(),
                l.expires_in_at.as_deref(),
                l.default_ttl_secs,
            ),
            Grant::Client(c) => (&c.token_call, vec!["/access_token"], Some("/expires_in"), None),
        };
        let url = format!("{}/{}", self.endpoint, call.trim_start_matches('/'));
        let sent = http
            .send_write(|c| {
                let post = c.post(&url);
                match grant {
                    Grant::Login(l) => {
                        let fields: BTreeMap<&str, &str> =
                            l.fields.iter().map(|(k, v)| (k.as_str(), self.creds.get(v))).collect();
                        match l.body {
                            BodyKind::Form => post.form(&fields),
                            BodyKind::Json => post.json(&fields),
                        }
                    }
                    Grant::Client(c) => client_credentials(post, c, &self.creds),
                }
            })
            .await;
        // A login refuses with 401/403; a token endpoint also with 400 (RFC 6749 §5.2:
        // `invalid_client`, `invalid_grant`).
        let refusal = |status: u16| match grant {
            Grant::Login(_) => matches!(status, 401 | 403),
            Grant::Client(_) => matches!(status, 400 | 401 | 403),
        };
        let resp = match sent {
            Ok(r) => r,
            Err(VendorError::Status { status, .. }) if refusal(status) => return Err(refused()),
            Err(e) => return Err(e.into()),
        };
        let v: Value = serde_json::from_slice(&read_body(http.vendor(), resp).await?)
            .map_err(|_| ConnectorError::Provider(format!("{}: the authorisation answer is not JSON", self.display)))?;
        let token = token_in(&v, &token_at).ok_or_else(refused)?.to_owned();
        let ttl = expires_at.and_then(|p| v.pointer(p)).and_then(ttl_of).or(default_ttl);
        // Renewed at 90 % of its life so that no call leaves with a token about to expire.
        let until = ttl.map(|t| Instant::now() + Duration::from_millis(t.saturating_mul(900)));
        Ok((token, until))
    }
}

/// The token of an authorisation answer: the first non-empty string at one of `pointers`.
pub fn token_in<'v>(answer: &'v Value, pointers: &[&str]) -> Option<&'v str> {
    pointers.iter().find_map(|p| answer.pointer(p).and_then(Value::as_str).filter(|t| !t.is_empty()))
}

/// A token's life in seconds, as a number or a numeric string.
fn ttl_of(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A grant a token comes from.
#[derive(Clone, Copy)]
enum Grant<'m> {
    Login(&'m Login),
    Client(&'m ClientCredentials),
}

/// The token request of an OAuth 2.0 client-credentials grant.
fn client_credentials(
    post: reqwest::RequestBuilder,
    c: &ClientCredentials,
    creds: &Credentials,
) -> reqwest::RequestBuilder {
    let (id, secret) = (creds.get(&c.client_id), creds.get(&c.client_secret));
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    if let Some(scope) = &c.scope {
        form.push(("scope", scope));
    }
    form.extend(c.extra_fields.iter().map(|(k, v)| (k.as_str(), creds.get(v))));
    match c.client_auth {
        ClientAuth::Basic => post.basic_auth(id, Some(secret)).form(&form),
        ClientAuth::Form => {
            form.extend([("client_id", id), ("client_secret", secret)]);
            post.form(&form)
        }
    }
}

/// The credential carrying `token` (`None`: as a bearer token).
fn carry(send: Option<&TokenUse>, token: &str) -> Credential {
    match send {
        Some(TokenUse::Query { param }) => Credential::Query(vec![(param.clone(), token.to_owned())]),
        Some(TokenUse::Bearer) | None => Credential::Header(format!("Bearer {token}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn manifest(key: &str) -> &'static Provider {
        crate::provider(key).unwrap()
    }

    #[test]
    fn the_endpoint_must_have_the_manifests_form() {
        let aventri = manifest("aventri");
        let secret = |ep: &str| json!({"endPoint": ep, "accountid": 1, "key": "k", "eventid": 2});
        let base = |ep: &str| Auth::from_secret(aventri, &secret(ep)).map(|a| a.endpoint().to_owned());
        assert_eq!(base("https://api-na.eventscloud.com/api/v2/").unwrap(), "https://api-na.eventscloud.com/api/v2");
        assert_eq!(base("http://127.0.0.1:8080/api/v2").unwrap(), "http://127.0.0.1:8080/api/v2");
        // The local sandbox serves several providers under prefixes; a real host may not.
        assert_eq!(base("http://127.0.0.1:8080/aventri/api/v2").unwrap(), "http://127.0.0.1:8080/aventri/api/v2");
        for bad in [
            "https://api-na.eventscloud.com/x/api/v2",
            "https://api-na.eventscloud.com",
            "https://api-na.eventscloud.com/api/v1",
            "http://api-na.eventscloud.com/api/v2",
            "api-na.eventscloud.com/api/v2",
            "https://api-na.eventscloud.com/api/v2/ereg",
            "https://api-na.eventscloud.com/api/v2?x=1",
        ] {
            let err = base(bad).unwrap_err().to_string();
            assert!(err.contains("https://HOST/api/v2"), "{bad}: {err}");
        }
        let lenos = json!({"endPoint": "http://lenos.example.com", "username": "u", "password": "p", "eventId": "1"});
        let err = Auth::from_secret(manifest("lenos"), &lenos).unwrap_err().to_string();
        assert!(err.contains("https://"), "{err}");
    }

    #[test]
    fn credentials_are_checked_and_secrets_never_shown() {
        let secret = json!({"endPoint": "https://api-emea.eventscloud.com/api/v2/", "accountid": 42,
            "key": "k-secret", "eventid": "9", "personPhotoEndpoint": "https://p/{id}"});
        let a = Auth::from_secret(manifest("aventri"), &secret).unwrap();
        assert_eq!((a.endpoint(), a.event_id()), ("https://api-emea.eventscloud.com/api/v2", Some("9")));
        assert_eq!((a.credential("accountid"), a.credential("key")), (Some("42"), None));
        assert_eq!(a.credential("personPhotoEndpoint"), Some("https://p/{id}"));
        assert!(!format!("{a:?}").contains("k-secret"), "{a:?}");
        let missing = Auth::from_secret(manifest("aventri"), &json!({"endPoint": "https://a/api/v2"})).unwrap_err();
        assert!(missing.to_string().contains("accountid"), "{missing}");

        let lenos = |mode: &str| {
            json!({"endPoint": "https://lenos.example.com/api/", "username": "u", "password": "p-secret",
                "eventId": 7, "authMode": mode})
        };
        let a = Auth::from_secret(manifest("lenos"), &lenos("Token")).unwrap();
        assert_eq!((a.endpoint(), a.event_id(), a.renews()), ("https://lenos.example.com/api", Some("7"), true));
        assert!(!format!("{a:?}").contains("p-secret"));
        let b = Auth::from_secret(manifest("lenos"), &lenos("basic")).unwrap();
        assert!(!b.renews());
        let err = Auth::from_secret(manifest("lenos"), &lenos("oauth")).unwrap_err().to_string();
        assert!(err.contains("authMode") && err.contains("basic, token"), "{err}");
    }

    #[tokio::test]
    async fn basic_needs_no_call() {
        let secret = json!({"endPoint": "https://l/api", "username": "u", "password": "p-secret", "eventId": "1"});
        let a = Auth::from_secret(manifest("lenos"), &secret).unwrap();
        let http = VendorClient::new("test", Duration::from_secs(1), platform_vendors::RetryPolicy::default()).unwrap();
        let c = a.authenticate(&http, || async { panic!("no login for basic") }).await.unwrap();
        assert_eq!(c.header(), Some("Basic dTpwLXNlY3JldA=="));
        assert!(!format!("{c:?}").contains("dTpw"), "{c:?}");
        let q = Credential::Query(vec![("accesstoken".into(), "t-secret".into())]);
        assert_eq!(format!("{q:?}"), r#"Query(["accesstoken"])"#);
    }

    #[test]
    fn token_lives_are_numbers_or_numeric_text() {
        assert_eq!(
            (ttl_of(&json!(3600)), ttl_of(&json!("600")), ttl_of(&json!("soon"))),
            (Some(3600), Some(600), None)
        );
        let answer = json!({"accesstoken": "", "data": {"token": "t"}});
        assert_eq!(token_in(&answer, &["/accesstoken", "/data/token"]), Some("t"));
    }
}
