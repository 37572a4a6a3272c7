//! Two-way session registration: an event app asks, on behalf of an attendee who pressed
//! "Register", whether Lenos registers that person to that session, and gets the answer at once.
//!
//! The request is `POST {"person_id", "session_id", "request_id"}` signed by the app: headers
//! `X-App-Id` and `X-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with the app's key
//! from Secrets Manager. The person and the session must be synced for the app's connection
//! (else 404, Lenos is not called). Lenos is called once with a short timeout; only its
//! confirmation answers `confirmed`; a refusal answers `refused` with its reason; no answer
//! (timeout, connection error, 429, 5xx) answers `try_again`. Idempotent by the app's
//! `request_id`: a repeat gets the recorded final answer, and Lenos is never asked again after a
//! confirmation. Every attempt is recorded in `connector.register_attempt`.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use platform_aws::SecretsCache;
use platform_domain::signature;
use platform_vendors::{RetryPolicy, VendorClient};
use platform_warehouse::Warehouse;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::{
    ConnectorError,
    description::Target,
    lenos::{self, AuthMode, Credentials, RegisterReply},
    records::{Row, Status},
    store,
};

/// Largest body accepted.
pub const MAX_BODY: usize = 8 * 1024;
/// Lenos's answer is awaited this long unless the connection's `register_timeout_seconds` says
/// otherwise (clamped to 0.5–3.5 s so that the whole request stays under 5 s).
pub const DEFAULT_LENOS_TIMEOUT: Duration = Duration::from_secs(3);
/// A repeat of a request being answered waits this long for it, then answers `try_again`.
const LOCK_WAIT_MS: u32 = 1000;

/// The HTTP request, as the Function URL delivered it.
#[derive(Debug, Clone)]
pub struct RegisterHttp {
    /// Method.
    pub method: String,
    /// Headers (names in any case).
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

/// The HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterAnswer {
    /// Status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// How long Lenos took, when it was asked (not sent to the app).
    pub lenos: Option<Duration>,
}

impl RegisterAnswer {
    fn error(status: u16, message: impl Into<String>) -> RegisterAnswer {
        RegisterAnswer { status, body: json!({"error": message.into()}), lenos: None }
    }
}

#[derive(Debug, Deserialize)]
struct Body {
    person_id: String,
    session_id: String,
    request_id: String,
    #[serde(default)]
    action: Option<String>,
}

/// The registration service (one per container: the Lenos client and tokens are reused).
pub struct Registrar {
    warehouse: Warehouse,
    secrets: SecretsCache,
    keys_secret: String,
    http: VendorClient,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl Registrar {
    /// A registrar reading app keys from the secret `keys_secret` (`{"<app>": "<key>"}`).
    pub fn new(warehouse: Warehouse, secrets: SecretsCache, keys_secret: String) -> Result<Registrar, ConnectorError> {
        // No retry: a retry could outlive the app's request (a 429 is answered `try_again`).
        let policy = RetryPolicy { max_retries: 0, ..RetryPolicy::default() };
        let http = VendorClient::new("lenos", Duration::from_secs(4), policy)?;
        Ok(Registrar { warehouse, secrets, keys_secret, http, tokens: Mutex::new(HashMap::new()) })
    }

    /// From the environment: `REGISTER_APP_KEYS_SECRET_ID` (required), `SECRET_TTL_SECONDS`
    /// and the warehouse variables.
    pub async fn from_env(env: &platform_runtime::Env) -> Result<Registrar, ConnectorError> {
        let cfg = |e: platform_runtime::env::ConfigError| ConnectorError::Config(e.to_string());
        let keys = env.required("REGISTER_APP_KEYS_SECRET_ID").map_err(cfg)?;
        let secret_ttl = env.parse_or("SECRET_TTL_SECONDS", 300u64).map_err(cfg)?;
        // One connection: a registration holds one transaction while Lenos answers.
        let foundation =
            platform_aws::Foundation::from_env(|name| env.optional(name), Duration::from_secs(secret_ttl), 1).await?;
        Registrar::new(foundation.warehouse, foundation.secrets, keys)
    }

    /// Answers one request; never fails (every failure is an HTTP answer, logged).
    pub async fn handle(&self, req: RegisterHttp) -> RegisterAnswer {
        let started = Instant::now();
        match self.answer(req, started).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "registration request failed");
                let mut a = RegisterAnswer::error(503, "the registration could not be checked; try again");
                a.body["answer"] = json!("try_again");
                a
            }
        }
    }

    async fn answer(&self, req: RegisterHttp, started: Instant) -> Result<RegisterAnswer, ConnectorError> {
        let header = |name: &str| {
            req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned())
        };
        let unregister_method = req.method.eq_ignore_ascii_case("DELETE");
        if !req.method.eq_ignore_ascii_case("POST") && !unregister_method {
            return Ok(RegisterAnswer::error(405, "use POST (or DELETE to unregister)"));
        }
        if req.body.len() > MAX_BODY {
            return Ok(RegisterAnswer::error(413, format!("the body is larger than {MAX_BODY} bytes")));
        }
        // Who is asking: the app's key signs the raw body.
        let Some(app) = header("x-app-id").filter(|a| !a.is_empty()) else {
            return Ok(RegisterAnswer::error(401, "unsigned request: X-App-Id and X-Signature are required"));
        };
        let keys = self.secrets.get(&self.keys_secret).await?;
        if signature::verify(&req.body, header("x-signature").as_deref(), keys.field(&app).as_deref()).is_err() {
            tracing::warn!(app = %app, "registration request with a bad signature or an unknown app");
            return Ok(RegisterAnswer::error(401, "the signature does not match the body for this X-App-Id"));
        }
        let body: Body = match serde_json::from_slice(&req.body) {
            Ok(b) => b,
            Err(e) => {
                return Ok(RegisterAnswer::error(
                    400,
                    format!("the body must be JSON {{\"person_id\", \"session_id\", \"request_id\"}}: {e}"),
                ));
            }
        };
        for (name, value) in
            [("person_id", &body.person_id), ("session_id", &body.session_id), ("request_id", &body.request_id)]
        {
            if value.trim().is_empty() || value.len() > 200 || value.chars().any(char::is_control) {
                return Ok(RegisterAnswer::error(400, format!("{name} must be 1 to 200 printable characters")));
            }
        }
        match body.action.as_deref() {
            None | Some("register") if !unregister_method => {}
            Some("unregister") | None => {
                return Ok(RegisterAnswer::error(
                    501,
                    format!(
                        "unregistering is not offered: the Lenos contract this platform speaks ({}) has no unregister call",
                        lenos::CONTRACT
                    ),
                ));
            }
            Some(other) => return Ok(RegisterAnswer::error(400, format!("unknown action {other:?}"))),
        }
        let (person, session, request_id) = (body.person_id.trim(), body.session_id.trim(), body.request_id.trim());

        // One statement: the app's connection, its credentials' secret and settings, and
        // whether the person and the session are synced there.
        let mut conn = self.warehouse.conn().await?;
        let lookup = conn
            .prepare_cached(
                "SELECT c.name, c.provider, c.secret_id, c.settings,
                        EXISTS (SELECT 1 FROM connector.participant p
                                 WHERE p.connection = c.name AND p.fp_ext_id = $2 AND p.removed_at IS NULL),
                        EXISTS (SELECT 1 FROM connector.session s
                                 WHERE s.connection = c.name AND s.fp_ext_id = $3 AND s.removed_at IS NULL AND NOT s.is_master)
                   FROM connector.register_app a JOIN connector.connection c ON c.name = a.connection
                  WHERE a.app = $1 AND a.enabled",
            )
            .await?;
        let Some(found) = conn.query_opt(&lookup, &[&app, &person, &session]).await? else {
            return Ok(RegisterAnswer::error(
                403,
                format!("app {app:?} may not register attendees (connector.register_app)"),
            ));
        };
        let (connection, provider, secret_id, settings): (String, String, String, Value) =
            (found.get(0), found.get(1), found.get(2), found.get(3));
        if provider != "lenos" {
            return Err(ConnectorError::Config(format!(
                "register_app {app:?} points at connection {connection:?}, which is not a Lenos connection"
            )));
        }
        let creds = Credentials::from_secret(self.secrets.get(&secret_id).await?.json())?;
        let timeout = settings
            .get("register_timeout_seconds")
            .and_then(Value::as_f64)
            .map_or(DEFAULT_LENOS_TIMEOUT, |s| Duration::from_secs_f64(s.clamp(0.5, 3.5)));
        let mut unknown = Vec::new();
        if !found.get::<_, bool>(4) {
            unknown.push("person");
        }
        if !found.get::<_, bool>(5) {
            unknown.push("session");
        }

        // The request's row, created or found and locked in one statement (a twin waits for it).
        let claim = conn
            .prepare_cached(
                "INSERT INTO connector.register_request AS r (app, request_id, connection, person_ext_id, session_ext_id)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (app, request_id) DO UPDATE SET app = r.app
                 RETURNING person_ext_id, session_ext_id, answer, reason, registration_id",
            )
            .await?;
        let finish = conn
            .prepare_cached(
                "WITH request AS (
                     UPDATE connector.register_request SET answer = $6, reason = $7, registration_id = $10,
                            attempts = attempts + 1, answered_at = now()
                      WHERE app = $1 AND request_id = $2)
                 INSERT INTO connector.register_attempt
                        (app, request_id, connection, person_ext_id, session_ext_id, answer, reason, lenos_ms, total_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .await?;
        let tx = conn.transaction().await?;
        tx.batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_WAIT_MS}ms'")).await?;
        let row = match tx.query_one(&claim, &[&app, &request_id, &connection, &person, &session]).await {
            Ok(r) => r,
            Err(e) if e.code().is_some_and(|c| c.code() == "55P03") => {
                let mut a = RegisterAnswer::error(503, "the same request_id is being answered; try again");
                a.body["answer"] = json!("try_again");
                return Ok(a);
            }
            Err(e) => return Err(ConnectorError::Warehouse(e.into())),
        };
        let (was_person, was_session): (String, String) = (row.get(0), row.get(1));
        if was_person != person || was_session != session {
            return Ok(RegisterAnswer::error(
                409,
                format!("request_id {request_id:?} was used for another person or session"),
            ));
        }
        let recorded: (Option<String>, Option<String>, Option<String>) = (row.get(2), row.get(3), row.get(4));
        if let (Some(answer), reason, registration_id) = &recorded
            && (answer == "confirmed" || answer == "refused")
        {
            tx.rollback().await?;
            return Ok(reply(answer, person, session, request_id, reason.as_deref(), registration_id.as_deref(), true));
        }

        let mut lenos_time = None;
        let (answer, reason, registration_id) = if !unknown.is_empty() {
            let reason = format!("not synced for connection {connection}: {}", unknown.join(" and "));
            ("unknown", Some(reason), None)
        } else {
            let t = Instant::now();
            let reply = self.ask_lenos(&creds, person, session, timeout).await;
            lenos_time = Some(t.elapsed());
            match reply {
                RegisterReply::Confirmed(id) => ("confirmed", None, id),
                RegisterReply::Refused(r) => ("refused", Some(r), None),
                RegisterReply::Unknown => {
                    ("unknown", Some("Lenos does not know the person or the session".into()), None)
                }
                RegisterReply::Unauthorised => {
                    tracing::error!(connection = %connection, "Lenos refused the username / password on a registration");
                    ("try_again", Some("Lenos refused the platform's credentials".into()), None)
                }
                RegisterReply::NoAnswer(why) => ("try_again", Some(why), None),
            }
        };
        if answer == "confirmed" {
            // The registrations table agrees at once; the next pull finds the same row.
            let mut fields = Map::new();
            fields.insert("participant_ext_id".into(), json!(person));
            fields.insert("session_ext_id".into(), json!(session));
            let row = Row {
                ext_id: format!("{person}/{session}"),
                status: Status::Active,
                raw_status: Some("Registered".into()),
                fields,
                raw: json!({"PersonId": person, "SessionId": session, "Status": "Registered"}),
                parent: Some(person.to_owned()),
            };
            store::upsert(&tx, Target::Schedule, &connection, Uuid::now_v7(), &[row]).await?;
        }
        let lenos_ms = lenos_time.map(|d| d.as_millis() as i32);
        let total_ms = started.elapsed().as_millis() as i32;
        tx.execute(
            &finish,
            &[
                &app,
                &request_id,
                &connection,
                &person,
                &session,
                &answer,
                &reason,
                &lenos_ms,
                &total_ms,
                &registration_id,
            ],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(app = %app, request_id, person, session, answer, reason = reason.as_deref().unwrap_or(""), lenos_ms, total_ms, "registration answered");
        let mut a = reply(answer, person, session, request_id, reason.as_deref(), registration_id.as_deref(), false);
        a.lenos = lenos_time;
        if answer == "unknown" && !unknown.is_empty() {
            a.body["unknown"] = json!(unknown);
        }
        Ok(a)
    }

    /// One register call, logging in first in token mode (and once more after a 401).
    async fn ask_lenos(&self, creds: &Credentials, person: &str, session: &str, timeout: Duration) -> RegisterReply {
        let deadline = Instant::now() + timeout;
        let mut renewed = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(100) {
                return RegisterReply::NoAnswer("no time left for Lenos".into());
            }
            let header = match creds.mode {
                AuthMode::Basic => creds.basic_header(),
                AuthMode::Token => match self.token(creds, renewed).await {
                    Ok(t) => format!("Bearer {t}"),
                    Err(ConnectorError::Credentials(_)) => return RegisterReply::Unauthorised,
                    Err(e) => return RegisterReply::NoAnswer(e.to_string()),
                },
            };
            let left = deadline.saturating_duration_since(Instant::now());
            match lenos::register(&self.http, &header, creds, person, session, left).await {
                RegisterReply::Unauthorised if creds.mode == AuthMode::Token && !renewed => renewed = true,
                other => return other,
            }
        }
    }

    async fn token(&self, creds: &Credentials, renew: bool) -> Result<String, ConnectorError> {
        let key = creds.account_key();
        let mut tokens = self.tokens.lock().await;
        if !renew && let Some((t, until)) = tokens.get(&key).filter(|(_, until)| *until > Instant::now()) {
            let _ = until;
            return Ok(t.clone());
        }
        let (t, until) = lenos::login(&self.http, creds).await?;
        tokens.insert(key, (t.clone(), until));
        Ok(t)
    }
}

fn reply(
    answer: &str,
    person: &str,
    session: &str,
    request_id: &str,
    reason: Option<&str>,
    registration_id: Option<&str>,
    repeated: bool,
) -> RegisterAnswer {
    let status = match answer {
        "confirmed" | "refused" => 200,
        "unknown" => 404,
        _ => 503,
    };
    let mut body = json!({"answer": answer, "person_id": person, "session_id": session, "request_id": request_id, "repeated": repeated});
    if let Some(r) = reason {
        body["reason"] = json!(r);
    }
    if let Some(id) = registration_id {
        body["registration_id"] = json!(id);
    }
    RegisterAnswer { status, body, lenos: None }
}
