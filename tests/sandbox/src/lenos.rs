//! Lenos, as the project's **provisional** contract `lenos-provisional-v1` describes it
//! (`shared/connectors/docs/lenos.md`; nothing here is known to match the real Lenos): under `/lenos`,
//! basic or token authentication, `GET /events/{id}/persons` with an optional `utcModifiedDate`
//! (strictly later), full arrays of sessions, registrations, locations and session tags, and the
//! two-way `POST /events/{id}/registrations` with capacity, time-slot conflicts, closed sessions
//! and eligibility enforced. Switches: the auth mode, token lifetime, refusal as 409 or as a 200,
//! a latency on every answer, and a status (401/404/429/5xx) answered by every call.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Shared;

/// Switches for what Lenos's real behaviour may be.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LenosSwitches {
    /// `token`: `POST /login` and bearer tokens; otherwise HTTP Basic (the default).
    pub token_auth: bool,
    /// Token lifetime in seconds (default 600).
    pub token_ttl_secs: Option<u64>,
    /// A refusal answers `200` with the refusal body instead of `409`.
    pub refusal_in_200: bool,
    /// Every answer waits this long first.
    pub latency_ms: u64,
    /// Every call (login included) answers this status (401, 404, 429 with `Retry-After: 1`,
    /// 500, 503 …).
    pub fail_status: Option<u16>,
}

/// One Lenos event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LenosEvent {
    /// Event id.
    pub id: String,
    /// Persons (`Id`, `FirstName`, …, `RegistrationStatus`, `UtcModifiedDate`).
    pub persons: Vec<Value>,
    /// Sessions (`Id`, `Title`, `Start`, `End`, `LocationId`, `TagIds`, `in_slot`, `Capacity`,
    /// and the sandbox-only `Closed`).
    pub sessions: Vec<Value>,
    /// Registrations (`PersonId`, `SessionId`, `Status`).
    pub registrations: Vec<Value>,
    /// Locations (`Id`, `Name`).
    pub locations: Vec<Value>,
    /// Session tags (`Id`, `Name`).
    pub session_tags: Vec<Value>,
}

/// What the sandbox serves for Lenos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LenosFixture {
    /// Accepted user name.
    pub username: String,
    /// Its password.
    pub password: String,
    /// Switches.
    #[serde(default)]
    pub switches: LenosSwitches,
    /// Events.
    pub events: Vec<LenosEvent>,
}

/// Lenos's live state.
#[derive(Debug, Default)]
pub struct LenosState {
    /// The fixture served (None: every call is refused).
    pub fixture: Option<LenosFixture>,
    tokens: HashMap<String, Instant>,
    issued: u64,
    /// Register calls received.
    pub register_calls: u64,
}

impl LenosState {
    /// State serving `fixture`.
    pub fn from_fixture(fixture: LenosFixture) -> LenosState {
        LenosState { fixture: Some(fixture), ..LenosState::default() }
    }

    /// Adds or replaces persons (by `Id`) of event `event`.
    pub fn upsert_persons(&mut self, event: &str, persons: Vec<Value>) {
        let Some(e) = self.event_mut(event) else { return };
        for p in persons {
            match e.persons.iter_mut().find(|q| q["Id"] == p["Id"]) {
                Some(q) => *q = p,
                None => e.persons.push(p),
            }
        }
    }

    /// Deletes a person (and their registrations).
    pub fn remove_person(&mut self, event: &str, id: &str) {
        let Some(e) = self.event_mut(event) else { return };
        e.persons.retain(|p| p["Id"] != id);
        e.registrations.retain(|r| r["PersonId"] != id);
    }

    /// Invalidates every token (the next call answers 401).
    pub fn expire_tokens(&mut self) {
        self.tokens.clear();
    }

    fn event_mut(&mut self, id: &str) -> Option<&mut LenosEvent> {
        self.fixture.as_mut()?.events.iter_mut().find(|e| e.id == id)
    }
}

/// Lenos's routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/lenos/login", post(login))
        .route("/lenos/events/{id}/{list}", get(list).post(register))
        // The event id in the query (`/persons?eventId=…&utcModifiedDate=…`), the shape SpotMe's
        // one public hint suggests: both places are served.
        .route("/lenos/{list}", get(list_by_query))
}

fn error(status: StatusCode, message: &str) -> Response {
    let mut resp = (status, Json(json!({"error": message}))).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(1));
    }
    resp
}

/// Latency and the forced failure, before anything else.
async fn prelude(state: &Shared) -> Result<(), Response> {
    let (latency, fail) = {
        let l = state.lenos.lock().await;
        let s = l.fixture.as_ref().map(|f| f.switches.clone()).unwrap_or_default();
        (s.latency_ms, s.fail_status)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match fail.and_then(|s| StatusCode::from_u16(s).ok()) {
        Some(status) => Err(error(status, "forced by the sandbox")),
        None => Ok(()),
    }
}

fn authorised(l: &LenosState, headers: &HeaderMap) -> Result<(), Response> {
    let fixture = l.fixture.as_ref().ok_or_else(|| error(StatusCode::UNAUTHORIZED, "invalid credentials"))?;
    let value = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let ttl = Duration::from_secs(fixture.switches.token_ttl_secs.unwrap_or(600));
    let ok = if fixture.switches.token_auth {
        value.strip_prefix("Bearer ").and_then(|t| l.tokens.get(t)).is_some_and(|at| at.elapsed() < ttl)
    } else {
        let expected =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", fixture.username, fixture.password));
        value.strip_prefix("Basic ") == Some(expected.as_str())
    };
    if ok { Ok(()) } else { Err(error(StatusCode::UNAUTHORIZED, "invalid credentials")) }
}

async fn login(State(state): State<Shared>, body: Option<Json<Value>>) -> Response {
    if let Err(r) = prelude(&state).await {
        return r;
    }
    let mut l = state.lenos.lock().await;
    let Some(fixture) = l.fixture.clone() else { return error(StatusCode::UNAUTHORIZED, "invalid credentials") };
    if !fixture.switches.token_auth {
        return error(StatusCode::NOT_FOUND, "token authentication is off");
    }
    let body = body.map(|b| b.0).unwrap_or_default();
    if body["username"] != fixture.username.as_str() || body["password"] != fixture.password.as_str() {
        return error(StatusCode::UNAUTHORIZED, "invalid credentials");
    }
    l.issued += 1;
    let token = format!("lenos-{}-{:x}", l.issued, l.issued.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    l.tokens.insert(token.clone(), Instant::now());
    Json(json!({"token": token, "expiresIn": fixture.switches.token_ttl_secs.unwrap_or(600)})).into_response()
}

async fn list_by_query(
    state: State<Shared>,
    Path(list): Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = query.get("eventId").cloned() else { return error(StatusCode::BAD_REQUEST, "eventId is required") };
    self::list(state, Path((id, list)), query, headers).await
}

async fn list(
    State(state): State<Shared>,
    Path((id, list)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = prelude(&state).await {
        return r;
    }
    let l = state.lenos.lock().await;
    if let Err(r) = authorised(&l, &headers) {
        return r;
    }
    let Some(event) = l.fixture.as_ref().and_then(|f| f.events.iter().find(|e| e.id == id)) else {
        return error(StatusCode::NOT_FOUND, "unknown eventId");
    };
    let items: Vec<Value> = match list.as_str() {
        "persons" => {
            let since = match query.get("utcModifiedDate") {
                None => None,
                Some(v) => match DateTime::parse_from_rfc3339(v) {
                    Ok(t) => Some(t.with_timezone(&Utc)),
                    Err(_) => return error(StatusCode::BAD_REQUEST, "utcModifiedDate is not ISO-8601"),
                },
            };
            event
                .persons
                .iter()
                .filter(|p| {
                    since.is_none_or(|s| {
                        p["UtcModifiedDate"]
                            .as_str()
                            .and_then(|m| DateTime::parse_from_rfc3339(m).ok())
                            .is_some_and(|m| m.with_timezone(&Utc) > s)
                    })
                })
                .cloned()
                .collect()
        }
        "sessions" => event
            .sessions
            .iter()
            .map(|s| {
                let mut s = s.clone();
                if let Value::Object(o) = &mut s {
                    o.remove("Closed");
                }
                s
            })
            .collect(),
        "registrations" => event.registrations.clone(),
        "locations" => event.locations.clone(),
        "sessiontags" => event.session_tags.clone(),
        _ => return error(StatusCode::NOT_FOUND, "unknown resource"),
    };
    Json(Value::Array(items)).into_response()
}

async fn register(
    State(state): State<Shared>,
    Path((id, list)): Path<(String, String)>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    if list != "registrations" {
        return error(StatusCode::METHOD_NOT_ALLOWED, "only registrations take POST");
    }
    if let Err(r) = prelude(&state).await {
        return r;
    }
    let mut l = state.lenos.lock().await;
    l.register_calls += 1;
    if let Err(r) = authorised(&l, &headers) {
        return r;
    }
    let in_200 = l.fixture.as_ref().is_some_and(|f| f.switches.refusal_in_200);
    let body = body.map(|b| b.0).unwrap_or_default();
    let (Some(person), Some(session)) = (body["personId"].as_str(), body["sessionId"].as_str()) else {
        return error(StatusCode::BAD_REQUEST, "personId and sessionId are required");
    };
    let (person, session) = (person.to_owned(), session.to_owned());
    let Some(event) = l.event_mut(&id) else { return error(StatusCode::NOT_FOUND, "unknown eventId") };
    let Some(p) = event.persons.iter().find(|p| p["Id"] == person.as_str()).cloned() else {
        return error(StatusCode::NOT_FOUND, "unknown person");
    };
    let Some(s) = event.sessions.iter().find(|s| s["Id"] == session.as_str()).cloned() else {
        return error(StatusCode::NOT_FOUND, "unknown session");
    };
    let registered = |r: &Value| r["Status"] == "Registered";
    let reg_id = format!("reg-{person}-{session}");
    if event
        .registrations
        .iter()
        .any(|r| r["PersonId"] == person.as_str() && r["SessionId"] == session.as_str() && registered(r))
    {
        return Json(json!({"status": "Confirmed", "registrationId": reg_id})).into_response();
    }
    let refuse = |reason: &str| {
        let body = json!({"status": "Refused", "reason": reason});
        if in_200 { Json(body).into_response() } else { (StatusCode::CONFLICT, Json(body)).into_response() }
    };
    if p["RegistrationStatus"] != "Registered" {
        return refuse("NotEligible");
    }
    if s["Closed"] == true {
        return refuse("Closed");
    }
    let taken = event.registrations.iter().filter(|r| r["SessionId"] == session.as_str() && registered(r)).count();
    if s["Capacity"].as_u64().is_some_and(|c| taken as u64 >= c) {
        return refuse("Full");
    }
    let mine: Vec<&str> = event
        .registrations
        .iter()
        .filter(|r| r["PersonId"] == person.as_str() && registered(r))
        .filter_map(|r| r["SessionId"].as_str())
        .collect();
    let overlaps = event.sessions.iter().filter(|o| mine.contains(&o["Id"].as_str().unwrap_or_default())).any(|o| {
        let t = |v: &Value| v.as_str().and_then(|x| DateTime::parse_from_rfc3339(x).ok());
        matches!((t(&o["Start"]), t(&o["End"]), t(&s["Start"]), t(&s["End"])), (Some(a), Some(b), Some(c), Some(d)) if a < d && c < b)
    });
    if overlaps {
        return refuse("Conflict");
    }
    event.registrations.retain(|r| !(r["PersonId"] == person.as_str() && r["SessionId"] == session.as_str()));
    event.registrations.push(json!({"PersonId": person, "SessionId": session, "Status": "Registered"}));
    Json(json!({"status": "Confirmed", "registrationId": reg_id})).into_response()
}
