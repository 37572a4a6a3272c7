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
    sync::Arc,
    time::{Duration, Instant},
};

use platform_aws::SecretsCache;
use platform_domain::storable;
use platform_runtime::function_url::{Answer, RequestParts, Signed};
use platform_vendors::{RetryPolicy, VendorClient, VendorError, http::read_body};
use platform_warehouse::Warehouse;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::{
    ConnectorError,
    auth::Auth,
    description::{Provider, Registration, Target},
    records::{Row, Status},
    settings::ConnectionSettings,
    store,
};

/// Name of this function in metrics and logs.
pub const FUNCTION_NAME: &str = "session-register";

/// Largest body accepted.
pub const MAX_BODY: usize = 8 * 1024;
/// A repeat of a request being answered waits this long for it, then answers `try_again`.
const LOCK_WAIT_MS: u32 = 1000;

/// The endpoint's checks before the body is read: the method, the size, the app and its
/// signature.
pub const SIGNED: Signed<'static> = Signed {
    methods: &["POST", "DELETE"],
    max_body: MAX_BODY,
    caller_header: Some("X-App-Id"),
    signature_header: "X-Signature",
};

/// The HTTP answer, and how long Lenos took when it was asked (not sent to the app).
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterAnswer {
    /// Status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// How long Lenos took, when it was asked.
    pub lenos: Option<Duration>,
}

impl From<Answer> for RegisterAnswer {
    fn from(a: Answer) -> RegisterAnswer {
        RegisterAnswer { status: a.status, body: a.body, lenos: None }
    }
}

impl RegisterAnswer {
    /// Its metrics: a request; delivered when confirmed; failed when the app must try again;
    /// Lenos's time when it was asked.
    pub fn figures(&self) -> platform_runtime::metrics::Figures {
        platform_runtime::metrics::Figures {
            processed: 1,
            delivered: u64::from(self.body["answer"] == "confirmed"),
            failed: u64::from(self.status >= 500),
            skipped: u64::from(self.body["repeated"] == true),
            vendor_calls: u64::from(self.lenos.is_some()),
            vendor_latency_ms: self.lenos.map(|d| d.as_secs_f64() * 1000.0).into_iter().collect(),
            ..Default::default()
        }
    }

    fn error(status: u16, message: impl Into<String>) -> RegisterAnswer {
        Answer::error(status, message).into()
    }

    fn try_again(message: &str) -> RegisterAnswer {
        let mut a = RegisterAnswer::error(503, message);
        a.body["answer"] = json!("try_again");
        a
    }
}

/// A registration's answer: the state a request ends in, as the app and the warehouse see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Lenos registered the person, with its registration id.
    Confirmed(Option<String>),
    /// Lenos refused, with its reason.
    Refused(String),
    /// The person or the session is unknown here or to Lenos.
    Unknown(String),
    /// No answer that says either: the app may ask again.
    TryAgain(String),
}

impl Decision {
    /// Its name in answers and in `connector.register_request.answer`.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Confirmed(_) => "confirmed",
            Decision::Refused(_) => "refused",
            Decision::Unknown(_) => "unknown",
            Decision::TryAgain(_) => "try_again",
        }
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Decision::Confirmed(_) => None,
            Decision::Refused(r) | Decision::Unknown(r) | Decision::TryAgain(r) => Some(r),
        }
    }

    fn registration_id(&self) -> Option<&str> {
        match self {
            Decision::Confirmed(id) => id.as_deref(),
            _ => None,
        }
    }

    fn status(&self) -> u16 {
        match self {
            Decision::Confirmed(_) | Decision::Refused(_) => 200,
            Decision::Unknown(_) => 404,
            Decision::TryAgain(_) => 503,
        }
    }

    /// A recorded final answer (confirmed or refused), which a repeat gets without asking Lenos.
    fn recorded(answer: Option<String>, reason: Option<String>, registration_id: Option<String>) -> Option<Decision> {
        match answer.as_deref() {
            Some("confirmed") => Some(Decision::Confirmed(registration_id)),
            Some("refused") => Some(Decision::Refused(reason.unwrap_or_default())),
            _ => None,
        }
    }

    fn from_reply(reply: RegisterReply, connection: &str, provider: &str) -> Decision {
        match reply {
            RegisterReply::Confirmed(id) => Decision::Confirmed(id),
            RegisterReply::Refused(r) => Decision::Refused(r),
            RegisterReply::Unknown => Decision::Unknown(format!("{provider} does not know the person or the session")),
            RegisterReply::Unauthorised => {
                tracing::error!(
                    connection,
                    provider,
                    "the provider refused the platform's credentials on a registration"
                );
                Decision::TryAgain(format!("{provider} refused the platform's credentials"))
            }
            RegisterReply::NoAnswer(why) => Decision::TryAgain(why),
        }
    }

    /// The answer to the app.
    fn reply(&self, ask: &Ask, repeated: bool) -> RegisterAnswer {
        let mut body = json!({"answer": self.name(), "person_id": ask.person, "session_id": ask.session,
                              "request_id": ask.request_id, "repeated": repeated});
        if let Some(r) = self.reason().filter(|r| !r.is_empty()) {
            body["reason"] = json!(r);
        }
        if let Some(id) = self.registration_id() {
            body["registration_id"] = json!(id);
        }
        RegisterAnswer { status: self.status(), body, lenos: None }
    }
}

/// What the app asked, signed and checked.
#[derive(Debug)]
struct Ask {
    app: String,
    person: String,
    session: String,
    request_id: String,
}

/// The app's connection, and what of the request it has not synced.
struct AppConnection {
    name: String,
    provider: &'static Provider,
    registration: &'static Registration,
    secret_id: String,
    timeout: Duration,
    unknown: Vec<&'static str>,
}

/// Where a request's row stands once claimed.
enum Claim {
    /// Its twin holds it.
    Busy,
    /// The request id was used for another person or session.
    Conflict,
    /// It has a final answer already.
    Recorded(Decision),
    /// It is this attempt's to answer.
    Open,
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
    /// Authentications by connection secret (tokens are reused across requests; a changed
    /// secret gets a new one).
    auths: Mutex<HashMap<String, Arc<Auth>>>,
}

impl Registrar {
    /// A registrar reading app keys from the secret `keys_secret` (`{"<app>": "<key>"}`).
    pub fn new(warehouse: Warehouse, secrets: SecretsCache, keys_secret: String) -> Result<Registrar, ConnectorError> {
        // No retry: a retry could outlive the app's request (a 429 is answered `try_again`).
        let policy = RetryPolicy { max_retries: 0, ..RetryPolicy::default() };
        let http = VendorClient::new("registration", Duration::from_secs(4), policy)?;
        Ok(Registrar { warehouse, secrets, keys_secret, http, auths: Mutex::new(HashMap::new()) })
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
    pub async fn handle(&self, req: RequestParts) -> RegisterAnswer {
        let started = Instant::now();
        answered(self.answer(&req, started).await)
    }

    async fn answer(&self, req: &RequestParts, started: Instant) -> Result<RegisterAnswer, ConnectorError> {
        let ask = match self.read(req).await? {
            Ok(ask) => ask,
            Err(refused) => return Ok(refused.into()),
        };
        self.register(ask, started).await
    }

    /// Registers `person` for `session` as app `app` would, for a caller that authenticated the
    /// ask itself (the operator console's test registration): the same checks after the
    /// signature, the same call to Lenos, recorded under `request_id` like any request.
    pub async fn register_as(&self, app: &str, person: &str, session: &str, request_id: &str) -> RegisterAnswer {
        let started = Instant::now();
        let id = |name: &str, value: &str| storable::identifier(name, value, 200).map(str::to_owned);
        let ask = match (id("person_id", person), id("session_id", session), id("request_id", request_id)) {
            (Ok(person), Ok(session), Ok(request_id)) => Ask { app: app.to_owned(), person, session, request_id },
            (Err(why), ..) | (_, Err(why), _) | (.., Err(why)) => return Answer::error(400, why).into(),
        };
        answered(self.register(ask, started).await)
    }

    async fn register(&self, ask: Ask, started: Instant) -> Result<RegisterAnswer, ConnectorError> {
        let mut conn = self.warehouse.conn().await?;
        let Some(target) = app_connection(&conn, &ask).await? else {
            let app = &ask.app;
            return Ok(RegisterAnswer::error(
                403,
                format!("app {app:?} may not register attendees (connector.register_app)"),
            ));
        };
        let auth = self.auth(&target).await?;
        let record = conn
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
        match claim(&tx, &ask, &target.name).await? {
            Claim::Busy => return Ok(RegisterAnswer::try_again("the same request_id is being answered; try again")),
            Claim::Conflict => {
                let id = &ask.request_id;
                return Ok(RegisterAnswer::error(
                    409,
                    format!("request_id {id:?} was used for another person or session"),
                ));
            }
            Claim::Recorded(decision) => {
                tx.rollback().await?;
                return Ok(decision.reply(&ask, true));
            }
            Claim::Open => {}
        }
        let (decision, lenos_time) = self.decide(&ask, &target, &auth).await;
        if let Decision::Confirmed(_) = decision {
            // The registrations table agrees at once; the next pull finds the same row.
            store::upsert(&tx, Target::Schedule, &target.name, Uuid::now_v7(), &[registered(&ask)]).await?;
        }
        let lenos_ms = lenos_time.map(|d| d.as_millis() as i32);
        let total_ms = started.elapsed().as_millis() as i32;
        let (answer, reason) = (decision.name(), decision.reason());
        tx.execute(
            &record,
            &[
                &ask.app,
                &ask.request_id,
                &target.name,
                &ask.person,
                &ask.session,
                &answer,
                &reason,
                &lenos_ms,
                &total_ms,
                &decision.registration_id(),
            ],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(app = %ask.app, request_id = %ask.request_id, person = %ask.person, session = %ask.session,
                       answer, reason = reason.unwrap_or(""), lenos_ms, total_ms, "registration answered");
        let mut a = decision.reply(&ask, false);
        a.lenos = lenos_time;
        if !target.unknown.is_empty() {
            a.body["unknown"] = json!(target.unknown);
        }
        Ok(a)
    }

    /// The signed request read and checked: 405, 413, 401, 400 and 501 are answers here.
    async fn read(&self, req: &RequestParts) -> Result<Result<Ask, Answer>, ConnectorError> {
        let app = match SIGNED.admit_caller(req) {
            Ok(app) => app,
            Err(refused) => return Ok(Err(refused)),
        };
        let keys = self.secrets.get(&self.keys_secret).await?;
        if let Err(refused) = SIGNED.verify_caller(req, app, keys.field(app).as_deref()) {
            return Ok(Err(refused));
        }
        Ok(ask(app, req.method.eq_ignore_ascii_case("DELETE"), &req.body))
    }

    /// The connection's authentication, reused while its secret stays the same.
    async fn auth(&self, target: &AppConnection) -> Result<Arc<Auth>, ConnectorError> {
        let secret = self.secrets.get(&target.secret_id).await?;
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret.json().to_string().as_bytes()));
        let key = format!("{}:{}:{digest}", target.provider.key, target.secret_id);
        let mut auths = self.auths.lock().await;
        if let Some(a) = auths.get(&key) {
            return Ok(a.clone());
        }
        let auth = Arc::new(Auth::from_secret(target.provider, secret.json())?);
        auths.retain(|k, _| !k.starts_with(&format!("{}:{}:", target.provider.key, target.secret_id)));
        auths.insert(key, auth.clone());
        Ok(auth)
    }

    /// Lenos's decision, unless the person or the session is not synced here (then Lenos is not
    /// asked); with how long Lenos took.
    async fn decide(&self, ask: &Ask, target: &AppConnection, auth: &Auth) -> (Decision, Option<Duration>) {
        if !target.unknown.is_empty() {
            let reason = format!("not synced for connection {}: {}", target.name, target.unknown.join(" and "));
            return (Decision::Unknown(reason), None);
        }
        let t = Instant::now();
        let reply = self.ask_provider(target, auth, &ask.person, &ask.session).await;
        (Decision::from_reply(reply, &target.name, &target.provider.display), Some(t.elapsed()))
    }

    /// One register call, authorising first when the method holds a token (and once more after
    /// a refusal).
    async fn ask_provider(&self, target: &AppConnection, auth: &Auth, person: &str, session: &str) -> RegisterReply {
        let deadline = Instant::now() + target.timeout;
        let mut renewed = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(100) {
                return RegisterReply::NoAnswer(format!("no time left for {}", target.provider.display));
            }
            let credential = match auth.authenticate(&self.http, || async { Ok(()) }).await {
                Ok(c) => c,
                Err(ConnectorError::Credentials(_)) => return RegisterReply::Unauthorised,
                Err(e) => return RegisterReply::NoAnswer(e.to_string()),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            match register(&self.http, &credential, auth, target, person, session, left).await {
                RegisterReply::Unauthorised if auth.renews() && !renewed => {
                    renewed = true;
                    auth.forget().await;
                }
                other => return other,
            }
        }
    }
}

/// What the provider answered a register request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterReply {
    /// Registered, with the provider's registration id.
    Confirmed(Option<String>),
    /// Not registered, with the provider's reason (`Full`, `Conflict`, `Closed`, `NotEligible`, …).
    Refused(String),
    /// The provider does not know the person or the session.
    Unknown,
    /// The provider refused the credentials (401/403): nothing was registered.
    Unauthorised,
    /// No answer that says either: timeout, connection error, 429, 5xx, an unreadable body.
    NoAnswer(String),
}

/// The registration call once within `timeout` (`http` must not retry), read by the manifest's
/// rule: only a confirmed status confirms; a refusal arrives as a refusal status or as a 2xx with
/// the refusal body.
async fn register(
    http: &VendorClient,
    credential: &crate::auth::Credential,
    auth: &Auth,
    target: &AppConnection,
    person: &str,
    session: &str,
    timeout: Duration,
) -> RegisterReply {
    let (rule, refused) = (target.registration, &target.provider.errors.refused_statuses);
    let call = rule.call.replace("{event}", auth.event_id().unwrap_or_default());
    let url = format!("{}/{}", auth.endpoint(), call.trim_start_matches('/'));
    let body: Map<String, Value> = rule
        .body
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.replace("{person}", person).replace("{session}", session))))
        .collect();
    let sent = http.send_write(|c| credential.apply(c.post(&url).timeout(timeout)).json(&body)).await;
    let text = match sent {
        Ok(resp) => match read_body(http.vendor(), resp).await {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => return RegisterReply::NoAnswer(e.to_string()),
        },
        Err(VendorError::Status { status, body, .. }) if rule.refusal_statuses.contains(&status) => body,
        Err(VendorError::Status { status, .. }) if rule.unknown_statuses.contains(&status) => {
            return RegisterReply::Unknown;
        }
        Err(VendorError::Status { status, .. }) if refused.contains(&status) => return RegisterReply::Unauthorised,
        Err(e) => return RegisterReply::NoAnswer(e.to_string()),
    };
    classify_reply(rule, &text)
}

/// Reads a register answer's body (a 2xx or a refusal status) by the manifest's rule.
pub fn classify_reply(rule: &Registration, text: &str) -> RegisterReply {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return RegisterReply::NoAnswer("the registration answer is a body that is not JSON".into());
    };
    let text_at = |p: &Option<String>| {
        p.as_deref().and_then(|p| v.pointer(p)).and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned)
    };
    match v.pointer(&rule.status_at).and_then(Value::as_str) {
        Some(s) if rule.confirmed.iter().any(|c| c.eq_ignore_ascii_case(s)) => {
            RegisterReply::Confirmed(text_at(&rule.registration_id_at))
        }
        Some(_) => RegisterReply::Refused(text_at(&rule.reason_at).unwrap_or_else(|| "Refused".into())),
        None => RegisterReply::NoAnswer("the registration answer has no status".into()),
    }
}

/// The answer of a request's handling (a failure is `try_again`, logged), counted in the metrics.
fn answered(result: Result<RegisterAnswer, ConnectorError>) -> RegisterAnswer {
    let answer = result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "registration request failed");
        RegisterAnswer::try_again("the registration could not be checked; try again")
    });
    platform_runtime::metrics::emit(FUNCTION_NAME, "register", &answer.figures());
    answer
}

/// The body's ask, checked: 400 for a body that is not one, 501 for an unregistration.
fn ask(app: &str, unregister_method: bool, body: &[u8]) -> Result<Ask, Answer> {
    let body: Body = serde_json::from_slice(body).map_err(|e| {
        Answer::error(400, format!("the body must be JSON {{\"person_id\", \"session_id\", \"request_id\"}}: {e}"))
    })?;
    let id = |name: &str, value: &str| {
        storable::identifier(name, value, 200).map(str::to_owned).map_err(|why| Answer::error(400, why))
    };
    let (person, session, request_id) =
        (id("person_id", &body.person_id)?, id("session_id", &body.session_id)?, id("request_id", &body.request_id)?);
    match body.action.as_deref() {
        None | Some("register") if !unregister_method => {}
        Some("unregister") | None => {
            return Err(Answer::error(
                501,
                format!(
                    "unregistering is not offered: the registration contracts this platform speaks ({}) have no unregister call",
                    crate::providers()
                        .iter()
                        .filter(|p| p.registration.is_some())
                        .map(|p| p.contract.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Some(other) => return Err(Answer::error(400, format!("unknown action {other:?}"))),
    }
    Ok(Ask { app: app.to_owned(), person, session, request_id })
}

/// In one statement: the app's connection, its credentials' secret and settings, and whether the
/// person and the session are synced there. `None` when the app may not register.
async fn app_connection(
    conn: &platform_warehouse::Connection,
    ask: &Ask,
) -> Result<Option<AppConnection>, ConnectorError> {
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
    let Some(found) = conn.query_opt(&lookup, &[&ask.app, &ask.person, &ask.session]).await? else {
        return Ok(None);
    };
    let (name, provider, secret_id, settings): (String, String, String, Value) =
        (found.get(0), found.get(1), found.get(2), found.get(3));
    let manifest = crate::provider(&provider);
    let Some((provider, registration)) = manifest.and_then(|p| Some((p, p.registration.as_ref()?))) else {
        return Err(ConnectorError::Config(format!(
            "register_app {:?} points at connection {name:?}, whose provider {provider:?} offers no two-way registration",
            ask.app
        )));
    };
    let timeout = ConnectionSettings::from_value(&settings).register_timeout();
    let unknown = [("person", found.get::<_, bool>(4)), ("session", found.get::<_, bool>(5))]
        .into_iter()
        .filter(|(_, synced)| !synced)
        .map(|(what, _)| what)
        .collect();
    Ok(Some(AppConnection { name, provider, registration, secret_id, timeout, unknown }))
}

/// The request's row, created or found and locked in one statement (a twin waits for it, at
/// most [`LOCK_WAIT_MS`]).
async fn claim(tx: &platform_warehouse::Transaction<'_>, ask: &Ask, connection: &str) -> Result<Claim, ConnectorError> {
    tx.batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_WAIT_MS}ms'")).await?;
    let claim = tx
        .prepare_cached(
            "INSERT INTO connector.register_request AS r (app, request_id, connection, person_ext_id, session_ext_id)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (app, request_id) DO UPDATE SET app = r.app
             RETURNING person_ext_id, session_ext_id, answer, reason, registration_id",
        )
        .await?;
    let row = match tx.query_one(&claim, &[&ask.app, &ask.request_id, &connection, &ask.person, &ask.session]).await {
        Ok(r) => r,
        Err(e) if e.code().is_some_and(|c| c.code() == "55P03") => return Ok(Claim::Busy),
        Err(e) => return Err(ConnectorError::Warehouse(e.into())),
    };
    if row.get::<_, String>(0) != ask.person || row.get::<_, String>(1) != ask.session {
        return Ok(Claim::Conflict);
    }
    Ok(Decision::recorded(row.get(2), row.get(3), row.get(4)).map_or(Claim::Open, Claim::Recorded))
}

/// The registration row a confirmation writes at once.
fn registered(ask: &Ask) -> Row {
    let (person, session) = (ask.person.as_str(), ask.session.as_str());
    let mut fields = Map::new();
    fields.insert("participant_ext_id".into(), json!(person));
    fields.insert("session_ext_id".into(), json!(session));
    Row {
        ext_id: format!("{person}/{session}"),
        status: Status::Active,
        raw_status: Some("Registered".into()),
        fields,
        raw: json!({"PersonId": person, "SessionId": session, "Status": "Registered"}),
        parent: Some(person.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_confirmed_status_confirms() {
        let rule = crate::provider("lenos").unwrap().registration.as_ref().unwrap();
        assert_eq!(
            classify_reply(rule, r#"{"status":"Confirmed","registrationId":"r1"}"#),
            RegisterReply::Confirmed(Some("r1".into()))
        );
        assert_eq!(
            classify_reply(rule, r#"{"status":"Refused","reason":"Full"}"#),
            RegisterReply::Refused("Full".into())
        );
        assert_eq!(classify_reply(rule, r#"{"status":"Pending"}"#), RegisterReply::Refused("Refused".into()));
        assert!(matches!(classify_reply(rule, r#"{"ok":true}"#), RegisterReply::NoAnswer(_)));
        assert!(matches!(classify_reply(rule, "<html>"), RegisterReply::NoAnswer(_)));
    }
}
