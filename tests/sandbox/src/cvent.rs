//! Cvent's REST API (version `ea`) as its public OpenAPI contract describes it
//! (`shared/connectors/docs/cvent.md`), under `/cvent/ea`: OAuth 2.0 client credentials
//! (`POST /oauth2/token`, the client in an HTTP Basic header and `client_id` in the form; a bad
//! client answers 400 `invalid_client`), bearer tokens that expire, token paging (`limit` 1–200,
//! `token` overriding every other parameter, `paging.nextToken` absent on the last page, records
//! in `data`), `filter` with `event.id eq '…'` and `lastModified gt|ge '…'` clauses joined by
//! ` and `, `after` on attendees, sessions and exhibitors (not on speakers), and errors as
//! `{code, message}` with their statuses. Switches: token lifetime, an empty page that still
//! carries a token after the first or at the end, refusing the speakers' `lastModified` filter, a
//! latency (the token is checked on arrival, before it), and a
//! status (401/429/5xx) answered by every call. Profile pictures are served under
//! `/cvent-photos/`.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use axum::{
    Form, Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Shared;

/// Switches for what the contract leaves open.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CventSwitches {
    /// Token lifetime in seconds (default 3600, the contract's).
    pub token_ttl_secs: Option<u64>,
    /// After a list's first page comes an empty `data` that still carries a `nextToken` (the
    /// contract warns of empty pages with a token), then the list's next records.
    pub empty_page_with_token: bool,
    /// The last page with records carries a `nextToken` to an empty page without one (the
    /// contract: "an empty page at the end of results").
    pub empty_page_at_end: bool,
    /// `GET /speakers` refuses a `lastModified` filter clause (400).
    pub refuse_speaker_modified_filter: bool,
    /// Every answer waits this long first.
    pub latency_ms: u64,
    /// Every call (the token call included) answers this status.
    pub fail_status: Option<u16>,
}

/// One Cvent event's records, in Cvent's shapes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CventEvent {
    /// Event id (a UUID in Cvent).
    pub id: String,
    /// Attendees (`id`, `event.id`, `contact.{firstName, lastName, email, company, title}`,
    /// `status`, `lastModified`).
    pub attendees: Vec<Value>,
    /// Sessions (`id`, `event.id`, `title`, `start`, `end`, `location`, `status`, `lastModified`).
    pub sessions: Vec<Value>,
    /// Speakers (`id`, `event.id`, `firstName`, `lastName`, `company`, `biography`,
    /// `links.profilePicture.href`, `lastModified`).
    pub speakers: Vec<Value>,
    /// Exhibitors (`id`, `event.id`, `name`, `sponsorshipLevel.id`, `deleted`, `lastModified`).
    pub exhibitors: Vec<Value>,
}

/// What the sandbox serves for Cvent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CventFixture {
    /// The accepted client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Switches.
    #[serde(default)]
    pub switches: CventSwitches,
    /// Events.
    pub events: Vec<CventEvent>,
}

/// Where a continuation token points.
#[derive(Debug, Clone)]
struct Cursor {
    list: String,
    event: String,
    after: Option<DateTime<Utc>>,
    modified: Option<Modified>,
    offset: usize,
    limit: usize,
    /// This page is the empty one the switch inserts.
    empty: bool,
}

/// Cvent's live state.
#[derive(Debug, Default)]
pub struct CventState {
    /// The fixture served (None: every call is refused).
    pub fixture: Option<CventFixture>,
    tokens: HashMap<String, Instant>,
    cursors: HashMap<String, Cursor>,
    issued: u64,
}

impl CventState {
    /// State serving `fixture`.
    pub fn from_fixture(fixture: CventFixture) -> CventState {
        CventState { fixture: Some(fixture), ..CventState::default() }
    }

    /// Adds or replaces records (by `id`) of list `list` (`attendees`, `sessions`, `speakers`,
    /// `exhibitors`) of event `event`.
    pub fn upsert(&mut self, event: &str, list: &str, records: Vec<Value>) {
        let Some(items) = self.event_mut(event).and_then(|e| e.list_mut(list)) else { return };
        for r in records {
            match items.iter_mut().find(|q| q["id"] == r["id"]) {
                Some(q) => *q = r,
                None => items.push(r),
            }
        }
    }

    /// Deletes a record of a list.
    pub fn remove(&mut self, event: &str, list: &str, id: &str) {
        if let Some(items) = self.event_mut(event).and_then(|e| e.list_mut(list)) {
            items.retain(|r| r["id"] != id);
        }
    }

    /// Invalidates every token (the next call answers 401).
    pub fn expire_tokens(&mut self) {
        self.tokens.clear();
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.issued
    }

    fn event_mut(&mut self, id: &str) -> Option<&mut CventEvent> {
        self.fixture.as_mut()?.events.iter_mut().find(|e| e.id == id)
    }

    fn uuid(&mut self) -> String {
        self.issued += 1;
        let n = self.issued.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        format!("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", n >> 32, n & 0xffff, self.issued & 0xfff, n & 0xfff, n >> 16)
    }
}

impl CventEvent {
    fn list(&self, name: &str) -> Option<&Vec<Value>> {
        match name {
            "attendees" => Some(&self.attendees),
            "sessions" => Some(&self.sessions),
            "speakers" => Some(&self.speakers),
            "exhibitors" => Some(&self.exhibitors),
            _ => None,
        }
    }

    fn list_mut(&mut self, name: &str) -> Option<&mut Vec<Value>> {
        match name {
            "attendees" => Some(&mut self.attendees),
            "sessions" => Some(&mut self.sessions),
            "speakers" => Some(&mut self.speakers),
            "exhibitors" => Some(&mut self.exhibitors),
            _ => None,
        }
    }
}

/// Cvent's routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/cvent/ea/oauth2/token", post(token))
        .route("/cvent/ea/events/{id}/exhibitors", get(exhibitors))
        .route("/cvent/ea/{list}", get(list))
        .route("/cvent-photos/{file}", get(photo))
}

/// A profile picture: bytes named after the file; a file named `missing…` is not there.
async fn photo(Path(file): Path<String>) -> Response {
    if file.starts_with("missing") {
        return (StatusCode::NOT_FOUND, "no picture").into_response();
    }
    ([("content-type", "image/jpeg")], format!("\u{FF}\u{D8}JPEG-{file}")).into_response()
}

/// The contract's error body.
fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"code": status.as_u16(), "message": message}))).into_response()
}

/// Latency and the forced failure, before anything else.
async fn prelude(state: &Shared) -> Result<(), Response> {
    let (latency, fail) = {
        let c = state.cvent.lock().await;
        let s = c.fixture.as_ref().map(|f| f.switches.clone()).unwrap_or_default();
        (s.latency_ms, s.fail_status)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match fail.and_then(|s| StatusCode::from_u16(s).ok()) {
        Some(StatusCode::TOO_MANY_REQUESTS) => Err(error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")),
        Some(status) => Err(error(status, "forced by the sandbox")),
        None => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
}

async fn token(State(state): State<Shared>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    if let Err(r) = prelude(&state).await {
        return r;
    }
    let refuse = |error: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response();
    let mut c = state.cvent.lock().await;
    let Some(fixture) = c.fixture.clone() else { return refuse("invalid_client") };
    if form.grant_type.as_deref() != Some("client_credentials") {
        return refuse("unsupported_grant_type");
    }
    let Some(form_client) = form.client_id else { return refuse("invalid_request") };
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", fixture.client_id, fixture.client_secret));
    let basic = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
    if basic != Some(expected.as_str()) || form_client != fixture.client_id {
        return refuse("invalid_client");
    }
    let token = c.uuid();
    c.tokens.insert(token.clone(), Instant::now());
    let ttl = fixture.switches.token_ttl_secs.unwrap_or(3600);
    Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl})).into_response()
}

fn authorised(c: &CventState, headers: &HeaderMap) -> Result<(), Response> {
    let ttl = Duration::from_secs(c.fixture.as_ref().and_then(|f| f.switches.token_ttl_secs).unwrap_or(3600));
    let value = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let ok = value.strip_prefix("Bearer ").and_then(|t| c.tokens.get(t)).is_some_and(|at| at.elapsed() < ttl);
    if ok { Ok(()) } else { Err(error(StatusCode::UNAUTHORIZED, "Unauthorized")) }
}

/// A `lastModified` clause: its operator (`gt`, `ge`) and instant.
type Modified = (String, DateTime<Utc>);

/// The clauses of a `filter`: `event.id eq '…'` and `lastModified gt|ge '…'`, joined by ` and `.
fn parse_filter(filter: &str) -> Result<(Option<String>, Option<Modified>), String> {
    let (mut event, mut modified) = (None, None);
    for clause in filter.split(" and ") {
        let mut parts = clause.trim().splitn(3, ' ');
        let (field, op, value) = (parts.next(), parts.next(), parts.next().map(|v| v.trim_matches(['\'', '"'])));
        match (field, op, value) {
            (Some("event.id"), Some("eq"), Some(v)) => event = Some(v.to_owned()),
            (Some("lastModified"), Some(op @ ("gt" | "ge")), Some(v)) => {
                let at = DateTime::parse_from_rfc3339(v).map_err(|_| format!("{v:?} is not a date-time"))?;
                modified = Some((op.to_owned(), at.with_timezone(&Utc)));
            }
            _ => return Err(format!("filter clause {clause:?} is not supported")),
        }
    }
    Ok((event, modified))
}

async fn list(
    State(state): State<Shared>,
    Path(list): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !matches!(list.as_str(), "attendees" | "sessions" | "speakers") {
        return error(StatusCode::NOT_FOUND, "Not found");
    }
    page(state, list, None, query, headers).await
}

async fn exhibitors(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    page(state, "exhibitors".into(), Some(id), query, headers).await
}

/// One page of `list`: from the cursor `token` names, else from the query's filter and `after`.
async fn page(
    state: Shared,
    list: String,
    path_event: Option<String>,
    query: HashMap<String, String>,
    headers: HeaderMap,
) -> Response {
    // The token is checked on arrival, as a server does, before the answer's latency.
    let arrived = authorised(&*state.cvent.lock().await, &headers);
    if let Err(r) = prelude(&state).await {
        return r;
    }
    if let Err(r) = arrived {
        return r;
    }
    let mut c = state.cvent.lock().await;
    let cursor = match query.get("token") {
        // The token overrides every other parameter.
        Some(t) => match c.cursors.get(t) {
            Some(cursor) if cursor.list == list => cursor.clone(),
            _ => return error(StatusCode::BAD_REQUEST, "Bad Request"),
        },
        None => {
            let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
                None => 100,
                Some(Ok(l)) if (1..=200).contains(&l) => l,
                Some(_) => return error(StatusCode::BAD_REQUEST, "limit must be 1 to 200"),
            };
            let (filter_event, modified) = match query.get("filter").map(|f| parse_filter(f)).transpose() {
                Ok(f) => f.unwrap_or_default(),
                Err(why) => return error(StatusCode::BAD_REQUEST, &why),
            };
            let switches = c.fixture.as_ref().map(|f| f.switches.clone()).unwrap_or_default();
            if list == "speakers" && modified.is_some() && switches.refuse_speaker_modified_filter {
                return error(StatusCode::BAD_REQUEST, "filter field lastModified is not supported");
            }
            let after = match (query.get("after"), list.as_str()) {
                (Some(_), "speakers") => return error(StatusCode::BAD_REQUEST, "unknown parameter after"),
                (Some(a), _) => match DateTime::parse_from_rfc3339(a) {
                    Ok(t) => Some(t.with_timezone(&Utc)),
                    Err(_) => return error(StatusCode::BAD_REQUEST, "after is not a date-time"),
                },
                (None, _) => None,
            };
            let Some(event) = path_event.clone().or(filter_event) else {
                // Account-wide lists: the sandbox serves one account's events and asks for one.
                return error(StatusCode::BAD_REQUEST, "the sandbox needs filter=event.id eq '…'");
            };
            Cursor { list: list.clone(), event, after, modified, offset: 0, limit, empty: false }
        }
    };
    let Some(event) = c.fixture.as_ref().and_then(|f| f.events.iter().find(|e| e.id == cursor.event)) else {
        return error(StatusCode::NOT_FOUND, "Not found");
    };
    let modified_at = |r: &Value| {
        r["lastModified"].as_str().and_then(|m| DateTime::parse_from_rfc3339(m).ok()).map(|m| m.with_timezone(&Utc))
    };
    let items: Vec<Value> = event
        .list(&cursor.list)
        .into_iter()
        .flatten()
        .filter(|r| cursor.after.is_none_or(|a| modified_at(r).is_some_and(|m| m > a)))
        .filter(|r| match &cursor.modified {
            Some((op, at)) => modified_at(r).is_some_and(|m| if op == "gt" { m > *at } else { m >= *at }),
            None => true,
        })
        .cloned()
        .collect();
    let empty_next =
        cursor.offset == 0 && !cursor.empty && c.fixture.as_ref().is_some_and(|f| f.switches.empty_page_with_token);
    let data: Vec<Value> =
        if cursor.empty { Vec::new() } else { items.iter().skip(cursor.offset).take(cursor.limit).cloned().collect() };
    let end = cursor.offset + data.len();
    let empty_at_end = c.fixture.as_ref().is_some_and(|f| f.switches.empty_page_at_end);
    let next = if cursor.empty {
        // The inserted empty page: its token leads to the records after the first page.
        Some(Cursor { empty: false, ..cursor.clone() })
    } else if end < items.len() {
        Some(Cursor { offset: end, empty: empty_next, ..cursor.clone() })
    } else if empty_at_end && !data.is_empty() {
        // The last records' page points at an empty page that ends the list.
        Some(Cursor { offset: end, ..cursor.clone() })
    } else {
        None
    };
    let current = c.uuid();
    let mut paging = json!({"currentToken": current, "limit": cursor.limit, "totalCount": items.len(),
                            "_links": {"self": {"href": format!("?token={current}")}}});
    if let Some(next) = next {
        let token = c.uuid();
        paging["nextToken"] = json!(token);
        paging["_links"]["next"] = json!({"href": format!("?token={token}")});
        c.cursors.insert(token, next);
    }
    c.cursors.insert(current, cursor);
    Json(json!({"paging": paging, "data": data})).into_response()
}
