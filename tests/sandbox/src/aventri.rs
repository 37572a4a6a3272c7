//! Fake Aventri (Stova) API v2 (`shared/connectors/docs/aventri.md`): `global/authorize.json`
//! (GET or POST form) handing out short-lived access tokens, the `ereg` list calls with
//! `limit`/`offset` paging and modified-since filters, the detail calls, photo endpoints, and
//! the quirks a client must survive, each switchable: errors inside HTTP 200, the end of a list
//! as an error body, token expiry, a per-token rate limit (429 + `Retry-After`, or an error in
//! 200), and a response-size cap answered with 502 so that the client lowers `limit`.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Shared;

/// Switches for Aventri's behaviours (all off by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AventriSwitches {
    /// Bad credentials answer HTTP 401 instead of an error object in a 200.
    pub bad_credentials_401: bool,
    /// Past the end of a list: `[]` instead of `{"error":{"data":"No … found"}}`.
    pub end_of_list_empty_array: bool,
    /// Over the rate: `200 {"error":{"data":"API limit exceeded"}}` instead of 429.
    pub throttle_in_200: bool,
}

/// An account's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Account id.
    pub accountid: String,
    /// API key.
    pub key: String,
}

/// One event and its records (attendees carry `sessions`: the ids of their schedule, shown only
/// by `getAttendee`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AventriEvent {
    /// Event id.
    pub eventid: String,
    /// Name.
    pub name: String,
    /// Aventri's numeric time zone id.
    pub timezoneid: String,
    /// Attendees (`attendeeid`, `status`, `category`, `lastmodified`, …).
    pub attendees: Vec<Value>,
    /// Sessions (`sessionid`, `name`, `sessiondate`, `starttime`, `endtime`, `in_slot`, …).
    pub sessions: Vec<Value>,
    /// Speakers (`speakerid`, …).
    pub speakers: Vec<Value>,
    /// Categories (`categoryid`, `name`).
    pub categories: Vec<Value>,
}

/// What the sandbox serves for Aventri.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AventriFixture {
    /// Accepted accounts.
    pub accounts: Vec<Account>,
    /// Token lifetime in seconds (Aventri: "usually 10 minutes").
    #[serde(default = "default_ttl")]
    pub token_ttl_secs: u64,
    /// Requests per minute per token.
    #[serde(default = "default_rate")]
    pub rate_per_minute: usize,
    /// The rate's window in seconds (production: 60; tests shorten it to meet the limit fast).
    #[serde(default = "default_window")]
    pub rate_window_secs: u64,
    /// Largest `limit` honoured (a larger one is cut to it).
    #[serde(default = "default_limit")]
    pub max_limit: usize,
    /// A page whose JSON is larger than this many bytes answers 502 (production: 10 MB).
    #[serde(default)]
    pub page_byte_cap: Option<usize>,
    /// Photos by path under `/aventri-photos/` (e.g. `presenters/s1`): the bytes' text.
    #[serde(default)]
    pub photos: BTreeMap<String, String>,
    /// Switches.
    #[serde(default)]
    pub switches: AventriSwitches,
    /// Events.
    pub events: Vec<AventriEvent>,
}

fn default_ttl() -> u64 {
    600
}
fn default_window() -> u64 {
    60
}
fn default_rate() -> usize {
    400
}
fn default_limit() -> usize {
    1000
}

/// Aventri's live state.
#[derive(Debug, Default)]
pub struct AventriState {
    /// The fixture served (None: nothing loaded, every call is refused).
    pub fixture: Option<AventriFixture>,
    tokens: HashMap<String, Instant>,
    windows: HashMap<String, VecDeque<Instant>>,
    issued: u64,
    /// Requests refused by the rate limit so far (429, or the error in a 200).
    pub throttled: u64,
}

impl AventriState {
    /// State serving `fixture`.
    pub fn from_fixture(fixture: AventriFixture) -> AventriState {
        AventriState { fixture: Some(fixture), ..AventriState::default() }
    }

    /// Makes every issued token invalid (as if its lifetime had passed).
    pub fn expire_tokens(&mut self) {
        self.tokens.clear();
    }

    /// Adds or replaces (by id) records of one list of an event: `list` is `attendees`,
    /// `sessions` or `speakers`.
    pub fn upsert(&mut self, eventid: &str, list: &str, records: Vec<Value>) -> bool {
        let Some(event) = self.fixture.as_mut().and_then(|f| f.events.iter_mut().find(|e| e.eventid == eventid)) else {
            return false;
        };
        let (items, id) = match list {
            "attendees" => (&mut event.attendees, "attendeeid"),
            "sessions" => (&mut event.sessions, "sessionid"),
            "speakers" => (&mut event.speakers, "speakerid"),
            _ => return false,
        };
        for r in records {
            match items.iter_mut().find(|x| x.get(id) == r.get(id)) {
                Some(existing) => *existing = r,
                None => items.push(r),
            }
        }
        true
    }

    /// Removes records by id from one list of an event.
    pub fn remove(&mut self, eventid: &str, list: &str, ids: &[String]) {
        if let Some(event) = self.fixture.as_mut().and_then(|f| f.events.iter_mut().find(|e| e.eventid == eventid)) {
            let (items, id) = match list {
                "attendees" => (&mut event.attendees, "attendeeid"),
                "sessions" => (&mut event.sessions, "sessionid"),
                _ => (&mut event.speakers, "speakerid"),
            };
            items.retain(|r| !ids.iter().any(|x| r.get(id).and_then(Value::as_str) == Some(x)));
        }
    }
}

/// Aventri routes (under `/api/v2/`, beside Formstack's, which use other modules).
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/v2/global/authorize.json", get(authorize_get).post(authorize_post))
        .route("/api/v2/{module}/{call}", get(call))
        .route("/aventri-photos/{kind}/{id}", get(photo))
}

fn error_body(message: &str) -> Response {
    (StatusCode::OK, Json(json!({"error": {"data": message}}))).into_response()
}

fn params_of(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn authorize_get(State(state): State<Shared>, RawQuery(query): RawQuery) -> Response {
    authorize(&state, &params_of(query.as_deref())).await
}

async fn authorize_post(State(state): State<Shared>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    let mut params = params_of(query.as_deref());
    params.extend(form_urlencoded::parse(&body).into_owned());
    authorize(&state, &params).await
}

async fn authorize(state: &Shared, params: &[(String, String)]) -> Response {
    let mut av = state.aventri.lock().await;
    let Some(fixture) = av.fixture.as_ref() else { return error_body("Invalid account ID or key") };
    let ok = fixture.accounts.iter().any(|a| {
        Some(a.accountid.as_str()) == param(params, "accountid") && Some(a.key.as_str()) == param(params, "key")
    });
    if !ok {
        if fixture.switches.bad_credentials_401 {
            return (StatusCode::UNAUTHORIZED, Json(json!({"error": {"data": "Invalid account ID or key"}})))
                .into_response();
        }
        return error_body("Invalid account ID or key");
    }
    av.issued += 1;
    let token = format!("tok-{}-{}", av.issued, fastrand_suffix(av.issued));
    av.tokens.insert(token.clone(), Instant::now());
    Json(json!({"accesstoken": token})).into_response()
}

fn fastrand_suffix(n: u64) -> String {
    format!("{:x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Checks the token and the per-token rate; `Err` is the answer to send.
fn admit(av: &mut AventriState, params: &[(String, String)]) -> Result<(), Response> {
    let fixture = av.fixture.as_ref().ok_or_else(|| error_body("Invalid access token"))?;
    let (ttl, rate, throttle_in_200) =
        (Duration::from_secs(fixture.token_ttl_secs), fixture.rate_per_minute, fixture.switches.throttle_in_200);
    let window_len = Duration::from_secs(fixture.rate_window_secs.max(1));
    let token = param(params, "accesstoken").unwrap_or_default().to_owned();
    match av.tokens.get(&token) {
        Some(issued) if issued.elapsed() < ttl => {}
        _ => return Err(error_body("Invalid access token")),
    }
    let window = av.windows.entry(token).or_default();
    let now = Instant::now();
    while window.front().is_some_and(|t| now.duration_since(*t) >= window_len) {
        window.pop_front();
    }
    if window.len() >= rate {
        av.throttled += 1;
        if throttle_in_200 {
            return Err(error_body("API limit exceeded"));
        }
        let wait = window_len
            .as_secs()
            .saturating_sub(window.front().map(|t| now.duration_since(*t).as_secs()).unwrap_or(0))
            .max(1);
        let mut resp =
            (StatusCode::TOO_MANY_REQUESTS, Json(json!({"error": {"data": "API limit exceeded"}}))).into_response();
        resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait));
        return Err(resp);
    }
    window.push_back(now);
    Ok(())
}

/// A modified-since value: `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`, optionally single-quoted.
fn parse_when(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim().trim_matches('\'');
    NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
        .ok()
        .or_else(|| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
}

fn modified(record: &Value) -> Option<NaiveDateTime> {
    record.get("lastmodified").and_then(Value::as_str).and_then(parse_when)
}

fn with_host(value: Value, host: &str) -> Value {
    match value {
        Value::String(s) if s.contains("{sandbox}") => Value::String(s.replace("{sandbox}", host)),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, with_host(v, host))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| with_host(v, host)).collect()),
        other => other,
    }
}

async fn call(
    State(state): State<Shared>,
    Path((module, call)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = params_of(query.as_deref());
    let mut av = state.aventri.lock().await;
    if let Err(resp) = admit(&mut av, &params) {
        return resp;
    }
    let fixture = av.fixture.as_ref().expect("admitted");
    let host = format!("http://{}", headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"));
    if module == "global" && call == "listEvents.json" {
        let events: Vec<Value> = fixture
            .events
            .iter()
            .map(|e| json!({"eventid": e.eventid, "name": e.name, "timezoneid": e.timezoneid}))
            .collect();
        return page(fixture, &events, &params, "events", None);
    }
    if module != "ereg" {
        return error_body(&format!("Unknown function {module}/{call}"));
    }
    let Some(event) = fixture.events.iter().find(|e| Some(e.eventid.as_str()) == param(&params, "eventid")) else {
        return error_body("Invalid event ID");
    };
    let detail = |items: &[Value], id_field: &str, what: &str| -> Response {
        match items.iter().find(|r| r.get(id_field).and_then(Value::as_str) == param(&params, id_field)) {
            Some(r) => Json(with_host(r.clone(), &host)).into_response(),
            None => error_body(&format!("{what} not found")),
        }
    };
    match call.as_str() {
        "listAttendees.json" => page(fixture, &event.attendees, &params, "attendees", Some(&host)),
        "listSessions.json" => page(fixture, &event.sessions, &params, "sessions", Some(&host)),
        "listSpeakers.json" => page(fixture, &event.speakers, &params, "speakers", Some(&host)),
        "listCategories.json" => page(fixture, &event.categories, &params, "categories", None),
        "getAttendee.json" => detail(&event.attendees, "attendeeid", "Attendee"),
        "getSession.json" => detail(&event.sessions, "sessionid", "Session"),
        "getSpeaker.json" => detail(&event.speakers, "speakerid", "Speaker"),
        "getEvent.json" => {
            Json(json!({"eventid": event.eventid, "name": event.name, "timezoneid": event.timezoneid})).into_response()
        }
        other => error_body(&format!("Unknown function ereg/{other}")),
    }
}

/// One page of a list: filtered by the modified-since parameters, sorted as stored, cut by
/// `offset`/`limit`, trimmed by `fields`; past the end an error body (or `[]`); over the size
/// cap a 502. List answers leave out an attendee's `sessions` (only `getAttendee` shows them).
fn page(
    fixture: &AventriFixture,
    items: &[Value],
    params: &[(String, String)],
    what: &str,
    host: Option<&str>,
) -> Response {
    let gt = param(params, "lastmodified-gt").and_then(parse_when);
    let lt = param(params, "lastmodified-lt").and_then(parse_when);
    let from = param(params, "modifiedfrom").and_then(parse_when);
    for name in ["lastmodified-gt", "lastmodified-lt", "modifiedfrom"] {
        if param(params, name).is_some_and(|v| parse_when(v).is_none()) {
            return error_body(&format!("Invalid date format for {name}"));
        }
    }
    let offset: usize = param(params, "offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = param(params, "limit").and_then(|v| v.parse().ok()).unwrap_or(1000).clamp(1, fixture.max_limit);
    let fields: Option<Vec<&str>> = param(params, "fields").map(|f| f.split(',').map(str::trim).collect());
    let selected: Vec<Value> = items
        .iter()
        .filter(|r| {
            let m = modified(r);
            gt.is_none_or(|g| m.is_some_and(|m| m > g))
                && lt.is_none_or(|l| m.is_some_and(|m| m < l))
                && from.is_none_or(|f| m.is_some_and(|m| m >= f))
        })
        .skip(offset)
        .take(limit)
        .map(|r| {
            let mut r = r.clone();
            if let Value::Object(o) = &mut r {
                o.remove("sessions");
                if let Some(keep) = &fields {
                    o.retain(|k, _| keep.contains(&k.as_str()));
                }
            }
            match host {
                Some(h) => with_host(r, h),
                None => r,
            }
        })
        .collect();
    if selected.is_empty() {
        if fixture.switches.end_of_list_empty_array {
            return Json(json!([])).into_response();
        }
        return error_body(&format!("No {what} found"));
    }
    let body = serde_json::to_vec(&selected).expect("JSON");
    if fixture.page_byte_cap.is_some_and(|cap| body.len() > cap) {
        return (StatusCode::BAD_GATEWAY, [("content-type", "text/html")], "<html><body>502 Bad Gateway</body></html>")
            .into_response();
    }
    ([("content-type", "application/json")], body).into_response()
}

async fn photo(State(state): State<Shared>, Path((kind, id)): Path<(String, String)>) -> Response {
    let av = state.aventri.lock().await;
    match av.fixture.as_ref().and_then(|f| f.photos.get(&format!("{kind}/{id}"))) {
        Some(text) => ([("content-type", "image/png")], format!("\u{89}PNG-{text}")).into_response(),
        None => (StatusCode::NOT_FOUND, "no photo").into_response(),
    }
}
