//! The Lenos connector, spoken through one adapter: the **provisional** HTTP contract
//! `lenos-provisional-v1` (no Lenos documentation exists; the contract was invented for the
//! sandbox). Its description, credentials, login and the two-way register call live here; its
//! authentication is the `Auth::Lenos` arm of `fetch.rs`. The event id's place and the call
//! paths are connection settings (`event_param`, `paths`); a different contract changes this
//! file, that arm and `docs/lenos.md`. Facts and sources: `docs/lenos.md`.

use std::time::{Duration, Instant};

use base64::Engine;
use platform_vendors::{VendorClient, VendorError, http::read_body};
use serde_json::{Value, json};

use crate::{
    ConnectorError, credentials,
    description::{
        CredentialField, ErrorRule, ModifiedSince, Provider, Require, Source, StatusRule, StreamSpec, Target, Times,
    },
};

/// The contract this adapter speaks.
pub const CONTRACT: &str = "lenos-provisional-v1";

/// No Lenos rate limit is known (`docs/lenos.md`, "Provisional"): a guess the `rate_per_minute` setting overrides.
pub const RATE_PER_MINUTE: f64 = 300.0;

/// `utcModifiedDate`'s default format (ISO-8601 UTC); the `modified_since_format` setting
/// changes it.
pub const MODIFIED_SINCE_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

fn list(call: &'static str) -> Source {
    Source::List { call, paging: None, records_at: "", modified_since: None, detail: None }
}

/// The Lenos description.
pub fn provider() -> Provider {
    Provider {
        key: "lenos",
        display: "Lenos",
        contract: CONTRACT,
        event_param: None,
        credentials: &[
            CredentialField { name: "endPoint", required: true, help: "the API base URL (https)" },
            CredentialField { name: "username", required: true, help: "the API user" },
            CredentialField { name: "password", required: true, help: "the API user's password" },
            CredentialField { name: "eventId", required: true, help: "the event id" },
            CredentialField { name: "authMode", required: false, help: "basic (default) or token" },
        ],
        errors: ErrorRule {
            marker: "/error",
            message: "/error",
            end_of_list: &[],
            empty_array_ends: true,
            invalid_token: &[],
            throttled: &[],
        },
        rate_per_minute: RATE_PER_MINUTE,
        streams: vec![
            StreamSpec {
                name: "participants",
                target: Target::Participant,
                source: Source::List {
                    call: "events/{event}/persons",
                    paging: None,
                    records_at: "",
                    // Person alone is pulled incrementally, on utcModifiedDate; the overlap
                    // (look-back) is a setting.
                    modified_since: Some(ModifiedSince {
                        param: "utcModifiedDate",
                        format: MODIFIED_SINCE_FORMAT,
                        look_back: Duration::from_secs(10 * 60),
                    }),
                    detail: None,
                },
                id_field: "Id",
                default_mapping: &[
                    ("first_name", "FirstName"),
                    ("last_name", "LastName"),
                    ("email", "Email"),
                    ("company", "Company"),
                    ("title", "Title"),
                ],
                split_name: None,
                status: Some(StatusRule {
                    field: "RegistrationStatus",
                    setting: "active_statuses",
                    default_active: &["Registered"],
                }),
                reroute: None,
                require: None,
                times: None,
                concurrent_sessions: false,
                photo: None,
            },
            StreamSpec {
                name: "sessions",
                target: Target::Session,
                source: list("events/{event}/sessions"),
                id_field: "Id",
                default_mapping: &[
                    ("title", "Title"),
                    ("description", "Description"),
                    ("location_ext_id", "LocationId"),
                    ("tag_ext_ids", "TagIds"),
                    ("capacity", "Capacity"),
                ],
                split_name: None,
                status: None,
                reroute: None,
                // SpotMe's Lenos integration: "For sessions: All sessions are imported": those
                // without times too, flagged.
                require: Some(Require {
                    import_flagged: true,
                    fields: &["Start", "End"],
                    empty_values: &[],
                    reason: "no start or end time",
                    label: "Title",
                }),
                times: Some(Times::Instants { start: "Start", end: "End" }),
                concurrent_sessions: true,
                photo: None,
            },
            StreamSpec {
                name: "registrations",
                target: Target::Schedule,
                source: list("events/{event}/registrations"),
                id_field: "PersonId/SessionId",
                default_mapping: &[("participant_ext_id", "PersonId"), ("session_ext_id", "SessionId")],
                split_name: None,
                status: Some(StatusRule {
                    field: "Status",
                    setting: "registration_active_statuses",
                    default_active: &["Registered"],
                }),
                reroute: None,
                require: None,
                times: None,
                concurrent_sessions: false,
                photo: None,
            },
            StreamSpec {
                name: "locations",
                target: Target::Location,
                source: list("events/{event}/locations"),
                id_field: "Id",
                default_mapping: &[("name", "Name")],
                split_name: None,
                status: None,
                reroute: None,
                require: None,
                times: None,
                concurrent_sessions: false,
                photo: None,
            },
            StreamSpec {
                name: "session_tags",
                target: Target::SessionTag,
                source: list("events/{event}/sessiontags"),
                id_field: "Id",
                default_mapping: &[("name", "Name")],
                split_name: None,
                status: None,
                reroute: None,
                require: None,
                times: None,
                concurrent_sessions: false,
                photo: None,
            },
        ],
    }
}

/// How calls authenticate (the secret's `authMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// `Authorization: Basic base64(username:password)` on every call (the default).
    Basic,
    /// `POST /login` → a bearer token with `expiresIn` seconds.
    Token,
}

/// Lenos's credentials (secret fields `endPoint`, `username`, `password`, `eventId`, optional
/// `authMode`). `Debug` never shows the password.
#[derive(Clone)]
pub struct Credentials {
    /// The base URL (no trailing slash).
    pub endpoint: String,
    /// User name.
    pub username: String,
    password: String,
    /// Event id.
    pub event_id: String,
    /// Authentication mode.
    pub mode: AuthMode,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("endpoint", &self.endpoint)
            .field("username", &self.username)
            .field("event_id", &self.event_id)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Reads and checks the secret's fields; nothing is called before this succeeds.
    pub fn from_secret(secret: &Value) -> Result<Credentials, ConnectorError> {
        let field = |name: &str| credentials::field(secret, name);
        let need = |name: &str| credentials::required(secret, "Lenos", name);
        let mode = match field("authMode").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("basic") => AuthMode::Basic,
            Some("token") => AuthMode::Token,
            Some(other) => {
                return Err(ConnectorError::Config(format!(
                    "the Lenos secret's authMode {other:?} is neither \"basic\" nor \"token\""
                )));
            }
        };
        Ok(Credentials {
            endpoint: normalise_endpoint(&need("endPoint")?)?,
            username: need("username")?,
            password: need("password")?,
            event_id: need("eventId")?,
            mode,
        })
    }

    /// The `Authorization` value of basic mode.
    pub fn basic_header(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
    }

    /// The pacing account: endpoint and user name.
    pub fn account_key(&self) -> String {
        format!("lenos:{}:{}", self.endpoint, self.username)
    }
}

/// Checks the `endPoint` credential (see [`credentials::base_url`]).
pub fn normalise_endpoint(raw: &str) -> Result<String, ConnectorError> {
    let refuse = || {
        ConnectorError::Config(format!(
            "Lenos endPoint {raw:?} is not an https:// base URL without query (e.g. https://lenos.example.com/api)"
        ))
    };
    credentials::base_url(raw).map(|(base, _)| base).ok_or_else(refuse)
}

/// `POST /login` (token mode): the token and when to renew it (a little before `expiresIn`).
pub async fn login(http: &VendorClient, creds: &Credentials) -> Result<(String, Instant), ConnectorError> {
    let refused = || ConnectorError::Credentials("Lenos refused the username / password".into());
    let url = format!("{}/login", creds.endpoint);
    let body = json!({"username": creds.username, "password": creds.password});
    let resp = match http.send_write(|c| c.post(&url).json(&body)).await {
        Ok(r) => r,
        Err(VendorError::Status { status: 401 | 403, .. }) => return Err(refused()),
        Err(e) => return Err(e.into()),
    };
    let v: Value = serde_json::from_slice(&read_body(http.vendor(), resp).await?)
        .map_err(|_| ConnectorError::Provider("Lenos: the login answer is not JSON".into()))?;
    let token = v.get("token").and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or_else(refused)?;
    let ttl = v.get("expiresIn").and_then(Value::as_u64).unwrap_or(600);
    // Renewed at 90 % of its life so that no call leaves with a token about to expire.
    Ok((token.to_owned(), Instant::now() + Duration::from_secs(ttl.saturating_mul(9) / 10)))
}

/// What Lenos answered a register request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterReply {
    /// Registered (`status == "Confirmed"`), with Lenos's registration id.
    Confirmed(Option<String>),
    /// Not registered, with Lenos's reason (`Full`, `Conflict`, `Closed`, `NotEligible`, …).
    Refused(String),
    /// Lenos does not know the person or the session (404).
    Unknown,
    /// Lenos refused the credentials (401/403): nothing was registered.
    Unauthorised,
    /// No answer that says either: timeout, connection error, 429, 5xx, an unreadable body.
    NoAnswer(String),
}

/// `POST /events/{eventId}/registrations {"personId", "sessionId"}` once within `timeout`
/// (`http` must not retry): only `status == "Confirmed"` is a confirmation; a refusal arrives
/// as 409 or as a 200 with the refusal body.
pub async fn register(
    http: &VendorClient,
    auth_header: &str,
    creds: &Credentials,
    person: &str,
    session: &str,
    timeout: Duration,
) -> RegisterReply {
    let url = format!("{}/events/{}/registrations", creds.endpoint, creds.event_id);
    let body = json!({"personId": person, "sessionId": session});
    let sent = http
        .send_write(|c| c.post(&url).timeout(timeout).header(reqwest::header::AUTHORIZATION, auth_header).json(&body))
        .await;
    let text = match sent {
        Ok(resp) => match read_body(http.vendor(), resp).await {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => return RegisterReply::NoAnswer(e.to_string()),
        },
        Err(VendorError::Status { status: 409, body, .. }) => body,
        Err(VendorError::Status { status: 404, .. }) => return RegisterReply::Unknown,
        Err(VendorError::Status { status: 401 | 403, .. }) => return RegisterReply::Unauthorised,
        Err(e) => return RegisterReply::NoAnswer(e.to_string()),
    };
    classify_reply(&text)
}

/// Reads a register answer's body (200 or 409).
pub fn classify_reply(text: &str) -> RegisterReply {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return RegisterReply::NoAnswer("Lenos answered a body that is not JSON".into());
    };
    match v.get("status").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("confirmed") => {
            RegisterReply::Confirmed(v.get("registrationId").and_then(Value::as_str).map(str::to_owned))
        }
        Some(_) => RegisterReply::Refused(
            v.get("reason").and_then(Value::as_str).filter(|r| !r.is_empty()).unwrap_or("Refused").to_owned(),
        ),
        None => RegisterReply::NoAnswer("Lenos's answer has no status".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_checked_and_never_shown() {
        let c = Credentials::from_secret(&json!({"endPoint": "https://lenos.example.com/api/", "username": "u",
            "password": "p-secret", "eventId": 7, "authMode": "Token"}))
        .unwrap();
        assert_eq!(
            (c.endpoint.as_str(), c.event_id.as_str(), c.mode),
            ("https://lenos.example.com/api", "7", AuthMode::Token)
        );
        assert!(!format!("{c:?}").contains("p-secret"));
        assert_eq!(c.basic_header(), "Basic dTpwLXNlY3JldA==");
        for (secret, says) in [
            (json!({"endPoint": "https://l/api", "username": "u", "eventId": "1"}), "password"),
            (
                json!({"endPoint": "http://lenos.example.com", "username": "u", "password": "p", "eventId": "1"}),
                "https://",
            ),
            (
                json!({"endPoint": "https://l", "username": "u", "password": "p", "eventId": "1", "authMode": "oauth"}),
                "authMode",
            ),
        ] {
            let err = Credentials::from_secret(&secret).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn only_a_confirmed_status_confirms() {
        assert_eq!(
            classify_reply(r#"{"status":"Confirmed","registrationId":"r1"}"#),
            RegisterReply::Confirmed(Some("r1".into()))
        );
        assert_eq!(classify_reply(r#"{"status":"Refused","reason":"Full"}"#), RegisterReply::Refused("Full".into()));
        assert_eq!(classify_reply(r#"{"status":"Pending"}"#), RegisterReply::Refused("Refused".into()));
        assert!(matches!(classify_reply(r#"{"ok":true}"#), RegisterReply::NoAnswer(_)));
        assert!(matches!(classify_reply("<html>"), RegisterReply::NoAnswer(_)));
    }
}
