//! Fake Aventri (Stova) API v2 (`shared/connectors/docs/aventri.md`): `global/authorize.json`
//! (GET or POST form) handing out short-lived access tokens, the `ereg` list calls with
//! `limit`/`offset` paging and the `modifiedfrom`/`modifiedto` filter, the detail calls,
//! `image.php` photos, and the quirks a client must survive, each switchable: errors inside HTTP
//! 200, the end of a list as an error body, token expiry, a per-token rate limit (429 +
//! `Retry-After`, or an error in 200), and a response-size cap answered with 502 so that the
//! client lowers `limit`.
//!
//! **Shapes come from the public samples**, never from the client: every list item and detail
//! answer carries exactly the keys of the matching file in `tests/fixtures/vendors/aventri/`
//! (read at build time), filled from the event's records; a key the record lacks takes the
//! sample's own value. The variants the public record leaves open are switches, off by default.

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
use serde_json::{Map, Value, json};

use crate::Shared;

/// Switches for Aventri's behaviours (all off by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AventriSwitches {
    /// Bad credentials answer HTTP 401 instead of an error object in a 200.
    pub bad_credentials_401: bool,
    /// Past the end of a list: `[]` instead of `{"error":{"data":"No … found."}}`.
    pub end_of_list_empty_array: bool,
    /// Over the rate: `200 {"error":{"data":"API limit exceeded"}}` instead of 429.
    pub throttle_in_200: bool,
    /// `listAttendees` items also carry `status` (unevidenced variant).
    pub list_with_status: bool,
    /// `getAttendee` also carries top-level `fname` and `lname` (unevidenced variant).
    pub detail_names: bool,
    /// `getAttendee` also carries `sessions`, the attendee's session ids (unevidenced variant).
    pub detail_sessions: bool,
    /// `getAttendee`'s `responses` is an array of `{name, value}` (unevidenced variant).
    pub responses_as_array: bool,
    /// Modified-since parameters are refused with an error body (unevidenced variant).
    pub refuse_modified_since: bool,
}

/// An account's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Account id.
    pub accountid: String,
    /// API key.
    pub key: String,
}

/// One event and its records, in the sandbox's own form: attendees carry `fname`, `lname`,
/// `email`, `registrationstatus`, `category`, `answers` (`[{fieldname, name, page, response}]`),
/// `lastmodified`, and `sessions` (shown only with [`AventriSwitches::detail_sessions`]);
/// speakers carry the `getSpeaker` fields.
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
    /// Photos: by image id (`image.php?acc=…&id=<id>`), and uploads by path under
    /// `/aventri-photos/` (e.g. `uploads/1007`): the bytes' text.
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
        .route("/image.php", get(image))
}

/// The keys of a public sample (`tests/fixtures/vendors/aventri/`): of the object, or of the
/// first item of the array.
fn sample(text: &str) -> Map<String, Value> {
    let v: Value = serde_json::from_str(text).expect("the public sample is JSON");
    let item = match v {
        Value::Array(mut items) => items.remove(0),
        other => other,
    };
    item.as_object().cloned().expect("the public sample is an object")
}

struct Samples {
    list_attendee: Map<String, Value>,
    attendee: Map<String, Value>,
    list_speaker: Map<String, Value>,
    speaker: Map<String, Value>,
    list_session: Map<String, Value>,
    session: Map<String, Value>,
}

fn samples() -> &'static Samples {
    static SAMPLES: std::sync::OnceLock<Samples> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(|| Samples {
        list_attendee: sample(include_str!("../../fixtures/vendors/aventri/listAttendees.json")),
        attendee: sample(include_str!("../../fixtures/vendors/aventri/getAttendee.json")),
        list_speaker: sample(include_str!("../../fixtures/vendors/aventri/listSpeakers.from-evidence.json")),
        speaker: sample(include_str!("../../fixtures/vendors/aventri/getSpeaker.from-evidence.json")),
        list_session: sample(include_str!("../../fixtures/vendors/aventri/listSessions.from-evidence.json")),
        session: sample(include_str!("../../fixtures/vendors/aventri/getSession.from-evidence.json")),
    })
}

/// `record` in the shape of `sample`: the sample's keys, each from the record when it has it,
/// else the sample's own value; `computed` answers the keys the record holds differently.
fn shaped(sample: &Map<String, Value>, record: &Value, computed: impl Fn(&str) -> Option<Value>) -> Value {
    Value::Object(
        sample
            .iter()
            .map(|(k, example)| {
                let v = computed(k).or_else(|| record.get(k).cloned()).unwrap_or_else(|| example.clone());
                (k.clone(), v)
            })
            .collect(),
    )
}

fn text(record: &Value, key: &str) -> String {
    record.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// A `listAttendees` item: `name` is the full name.
fn list_attendee(record: &Value, switches: &AventriSwitches) -> Value {
    let mut item = shaped(&samples().list_attendee, record, |k| match k {
        "name" => Some(json!(format!("{} {}", text(record, "fname"), text(record, "lname")).trim().to_owned())),
        "parentid" => Some(record.get("parentid").cloned().unwrap_or(json!("0"))),
        _ => None,
    });
    if switches.list_with_status {
        item["status"] = record.get("registrationstatus").cloned().unwrap_or(Value::Null);
    }
    item
}

/// A `getAttendee` answer: the standard e-mail answer and the event's questions in `responses`,
/// keyed by position.
fn attendee_detail(record: &Value, switches: &AventriSwitches) -> Value {
    let entry_keys = samples().attendee["responses"]["1"].as_object().cloned().unwrap_or_default();
    let mut answers: Vec<Value> = vec![json!({"fieldname": "email", "name": "Email Address", "page": "Welcome",
        "response": record.get("email").cloned().unwrap_or(Value::Null)})];
    answers.extend(record.get("answers").and_then(Value::as_array).cloned().unwrap_or_default());
    let responses: Value = if switches.responses_as_array {
        answers.iter().map(|a| json!({"name": a["name"], "value": a["response"]})).collect()
    } else {
        answers
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let entry = shaped(&entry_keys, a, |k| match k {
                    "choicekey" => Some(a["response"].clone()),
                    "questionid" | "pageid" => Some(json!(format!("{}", 9000 + i))),
                    _ => None,
                });
                ((i + 1).to_string(), entry)
            })
            .collect::<Map<_, _>>()
            .into()
    };
    let mut detail = shaped(&samples().attendee, record, |k| match k {
        "responses" => Some(responses.clone()),
        "recordid" => Some(json!(format!("R{}", text(record, "attendeeid")))),
        _ => None,
    });
    if switches.detail_names {
        detail["fname"] = json!(text(record, "fname"));
        detail["lname"] = json!(text(record, "lname"));
    }
    if switches.detail_sessions {
        detail["sessions"] = record.get("sessions").cloned().unwrap_or(json!([]));
    }
    detail
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
        return page(fixture, &events, &params, "events");
    }
    if module != "ereg" {
        return error_body(&format!("Unknown function {module}/{call}"));
    }
    let Some(event) = fixture.events.iter().find(|e| Some(e.eventid.as_str()) == param(&params, "eventid")) else {
        return error_body("Invalid event ID");
    };
    let switches = fixture.switches.clone();
    let find = |items: &[Value], id_field: &str| -> Option<Value> {
        items.iter().find(|r| r.get(id_field).and_then(Value::as_str) == param(&params, id_field)).cloned()
    };
    let not_found = |key: &str, what: &str| -> Response {
        (StatusCode::OK, Json(json!({"error": {key: format!("{what} not found.")}}))).into_response()
    };
    let lists = |items: &[Value], shape: &dyn Fn(&Value) -> Value, what: &str| {
        if switches.refuse_modified_since && ["modifiedfrom", "modifiedto"].iter().any(|p| param(&params, p).is_some())
        {
            return error_body("Invalid parameter modifiedfrom");
        }
        let shaped: Vec<Value> = filtered(items, &params).into_iter().map(|r| with_host(shape(&r), &host)).collect();
        page(fixture, &shaped, &params, what)
    };
    match call.as_str() {
        "listAttendees.json" => lists(&event.attendees, &|r| list_attendee(r, &switches), "attendees"),
        "listSessions.json" => lists(
            &event.sessions,
            &|r| {
                // `in_slot` is the provider field SpotMe's article maps for concurrent sessions.
                let mut item = shaped(&samples().list_session, r, |_| None);
                item["in_slot"] = r.get("in_slot").cloned().unwrap_or(json!(""));
                item
            },
            "sessions",
        ),
        "listSpeakers.json" => lists(&event.speakers, &|r| shaped(&samples().list_speaker, r, |_| None), "speakers"),
        "listCategories.json" => page(fixture, &event.categories, &params, "categories"),
        "getAttendee.json" => match find(&event.attendees, "attendeeid") {
            Some(r) => Json(with_host(attendee_detail(&r, &switches), &host)).into_response(),
            None => not_found("attendeeid", "Attendee"),
        },
        "getSession.json" => match find(&event.sessions, "sessionid") {
            Some(r) => {
                Json(shaped(&samples().session, &r, |k| (k == "reportname").then(|| r["name"].clone()))).into_response()
            }
            None => not_found("sessionid", "Session"),
        },
        "getSpeaker.json" => match find(&event.speakers, "speakerid") {
            Some(r) => Json(with_host(shaped(&samples().speaker, &r, |_| None), &host)).into_response(),
            None => not_found("speakerid", "Speaker"),
        },
        "getEvent.json" => {
            Json(json!({"eventid": event.eventid, "name": event.name, "timezoneid": event.timezoneid})).into_response()
        }
        other => error_body(&format!("Unknown function ereg/{other}")),
    }
}

/// The records modified in the `modifiedfrom`/`modifiedto` window (by their `lastmodified`);
/// other parameters are ignored, as an API ignores a parameter it does not know.
fn filtered(items: &[Value], params: &[(String, String)]) -> Vec<Value> {
    let from = param(params, "modifiedfrom").and_then(parse_when);
    let to = param(params, "modifiedto").and_then(parse_when);
    items
        .iter()
        .filter(|r| {
            let m = modified(r);
            from.is_none_or(|f| m.is_some_and(|m| m >= f)) && to.is_none_or(|t| m.is_some_and(|m| m <= t))
        })
        .cloned()
        .collect()
}

/// One page of a list: cut by `offset`/`limit`, trimmed by `fields`; past the end an error body
/// `No <what> found.` (the public text for sessions, with its period) or `[]`; over the size cap a
/// 502.
fn page(fixture: &AventriFixture, items: &[Value], params: &[(String, String)], what: &str) -> Response {
    for name in ["modifiedfrom", "modifiedto"] {
        if param(params, name).is_some_and(|v| parse_when(v).is_none()) {
            return error_body(&format!("Invalid date format for {name}"));
        }
    }
    let offset: usize = param(params, "offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = param(params, "limit").and_then(|v| v.parse().ok()).unwrap_or(1000).clamp(1, fixture.max_limit);
    let fields: Option<Vec<&str>> = param(params, "fields").map(|f| f.split(',').map(str::trim).collect());
    let selected: Vec<Value> = items
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| {
            let mut r = r.clone();
            if let (Value::Object(o), Some(keep)) = (&mut r, &fields) {
                o.retain(|k, _| keep.contains(&k.as_str()));
            }
            r
        })
        .collect();
    if selected.is_empty() {
        if fixture.switches.end_of_list_empty_array {
            return Json(json!([])).into_response();
        }
        return error_body(&format!("No {what} found."));
    }
    let body = serde_json::to_vec(&selected).expect("JSON");
    if fixture.page_byte_cap.is_some_and(|cap| body.len() > cap) {
        return (StatusCode::BAD_GATEWAY, [("content-type", "text/html")], "<html><body>502 Bad Gateway</body></html>")
            .into_response();
    }
    ([("content-type", "application/json")], body).into_response()
}

/// `image.php?acc=<account>&id=<image id>`: the photo of an image id (the account must be one of
/// the fixture's; no token is needed).
async fn image(State(state): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = params_of(query.as_deref());
    let av = state.aventri.lock().await;
    let Some(fixture) = av.fixture.as_ref() else { return (StatusCode::NOT_FOUND, "no photo").into_response() };
    let account_ok = fixture.accounts.iter().any(|a| Some(a.accountid.as_str()) == param(&params, "acc"));
    match param(&params, "id").and_then(|id| fixture.photos.get(id)).filter(|_| account_ok) {
        Some(text) => ([("content-type", "image/jpeg")], format!("\u{ff}\u{d8}JPEG-{text}")).into_response(),
        None => (StatusCode::NOT_FOUND, "no photo").into_response(),
    }
}

async fn photo(State(state): State<Shared>, Path((kind, id)): Path<(String, String)>) -> Response {
    let av = state.aventri.lock().await;
    match av.fixture.as_ref().and_then(|f| f.photos.get(&format!("{kind}/{id}"))) {
        Some(text) => ([("content-type", "image/png")], format!("\u{89}PNG-{text}")).into_response(),
        None => (StatusCode::NOT_FOUND, "no photo").into_response(),
    }
}
