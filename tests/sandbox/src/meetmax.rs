//! Fake MeetMax (`shared/vendors/docs/meetmax.md` §10): GET-only `/sched/service/…` verifying
//! two-legged OAuth 1.0a HMAC-SHA1 signatures (RFC 5849, computed here independently of the
//! client's signing crate), companies before attendees, roles and custom-field options per event,
//! error modes (200 or 400 with `{"error"}`), duplicates allowed or rejected, a token bucket
//! answering 429 with `Retry-After`, and a fixed latency.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
    routing::any,
};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Shared;

/// How duplicates are treated by `attendee/add`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duplicates {
    /// A second record is created (the default guess).
    #[default]
    Allow,
    /// The same e-mail, `crm_id` or entity name in the event is refused.
    Reject,
}

/// A token bucket in front of every MeetMax route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: f64,
    /// Bucket size.
    pub burst: f64,
}

/// Behaviour switches (defaults as in the contract).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Switches {
    /// HTTP status of error bodies: 200 (mode A) or 400 (mode B).
    pub error_status: u16,
    /// Answer ids as strings instead of integers.
    pub id_as_string: bool,
    /// Duplicate handling.
    pub duplicates: Duplicates,
    /// A company-rep attendee needs an entity with the identical company string.
    pub enforce_company: bool,
    /// Repeated query keys are refused.
    pub reject_repeated_keys: bool,
    /// Cap `attendee/list` results at N (silent truncation).
    pub list_cap: Option<usize>,
    /// The token bucket, if any.
    pub rate_limit: Option<RateLimit>,
    /// Delay before every answer, in milliseconds.
    pub latency_ms: u64,
    /// Refuse timestamps more than 300 s away from now.
    pub check_timestamp: bool,
    /// Refuse a nonce seen before.
    pub check_nonce: bool,
    /// `company` is required on person records too (the originals show it required for company
    /// records only).
    pub company_required_for_people: bool,
    /// `attendee/list` items carry only `id`, `company`, `first` and `last` (the originals read
    /// nothing else); off: every field but the password.
    pub sparse_list_items: bool,
    /// `search_for` matches as a case-insensitive substring, not exactly (unconfirmed either way).
    pub search_contains: bool,
    /// The key of a record's id in `attendee/list` items: `id` when absent, another key (e.g.
    /// `investor_id`, the edit call's parameter), or none at all when empty (the originals never
    /// read an id from a list).
    pub list_id_key: Option<String>,
}

impl Default for Switches {
    fn default() -> Self {
        Switches {
            error_status: 200,
            id_as_string: false,
            duplicates: Duplicates::Allow,
            enforce_company: true,
            // MeetMax accepted repeated keys for list values (the 2022+ scripts relied on it).
            reject_repeated_keys: false,
            list_cap: None,
            rate_limit: None,
            latency_ms: 0,
            check_timestamp: false,
            check_nonce: false,
            company_required_for_people: false,
            sparse_list_items: false,
            search_contains: false,
            list_id_key: None,
        }
    }
}

/// An OAuth consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumer {
    /// Consumer key.
    pub key: String,
    /// Consumer secret.
    pub secret: String,
}

/// A role of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Role id (e.g. `NASPO2_SUPPLIER_CO`).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The role of company entities.
    #[serde(default)]
    pub entity: bool,
    /// A company rep: needs its company's entity first.
    #[serde(default)]
    pub company_rep: bool,
}

/// A custom field of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    /// Numeric id (sent as `custom_<id>`).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Option labels of a multi-select (values are `|`-joined labels); empty = free text.
    #[serde(default)]
    pub options: Vec<String>,
}

/// An event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// MeetMax event id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Custom fields.
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
}

/// A stored record (a person or a company entity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// MeetMax id.
    pub id: u64,
    /// Event id.
    pub event_id: String,
    /// Fields as sent (`first`, `company`, `custom_…`, …).
    pub fields: BTreeMap<String, String>,
}

impl Record {
    /// Whether this is a company entity.
    pub fn is_entity(&self) -> bool {
        self.fields.get("is_entity").is_some_and(|v| v.eq_ignore_ascii_case("y"))
    }
}

/// A MeetMax fixture.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MeetmaxFixture {
    /// Accepted consumers.
    pub consumers: Vec<Consumer>,
    /// Events.
    pub events: Vec<Event>,
    /// Records present at start (ids are assigned in order).
    pub records: Vec<SeedRecord>,
    /// Switches.
    pub switches: Switches,
}

/// A record of a fixture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedRecord {
    /// Event id.
    pub event_id: String,
    /// Fields.
    pub fields: BTreeMap<String, String>,
}

/// MeetMax's state.
#[derive(Debug, Default)]
pub struct MeetmaxState {
    consumers: HashMap<String, String>,
    events: HashMap<String, Event>,
    /// Every record, in creation order.
    pub records: Vec<Record>,
    /// The switches.
    pub switches: Switches,
    next_id: u64,
    bucket: Option<(f64, Instant)>,
    nonces: HashSet<String>,
}

impl MeetmaxState {
    /// State from a fixture.
    pub fn from_fixture(f: MeetmaxFixture) -> MeetmaxState {
        let mut state = MeetmaxState {
            consumers: f.consumers.into_iter().map(|c| (c.key, c.secret)).collect(),
            events: f.events.into_iter().map(|e| (e.id.clone(), e)).collect(),
            switches: f.switches,
            next_id: 1000,
            ..MeetmaxState::default()
        };
        for seed in f.records {
            state.insert(seed.event_id, seed.fields);
        }
        state
    }

    fn insert(&mut self, event_id: String, fields: BTreeMap<String, String>) -> u64 {
        self.next_id += 1;
        self.records.push(Record { id: self.next_id, event_id, fields });
        self.next_id
    }

    /// Takes a token; `Err(seconds to wait)` when the bucket is empty.
    fn take_token(&mut self) -> Result<(), u64> {
        let Some(limit) = self.switches.rate_limit.clone() else { return Ok(()) };
        let now = Instant::now();
        let (tokens, last) = self.bucket.unwrap_or((limit.burst, now));
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * limit.per_second).min(limit.burst);
        if tokens >= 1.0 {
            self.bucket = Some((tokens - 1.0, now));
            Ok(())
        } else {
            self.bucket = Some((tokens, now));
            Err(((1.0 - tokens) / limit.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// MeetMax's routes.
pub fn router() -> Router<Shared> {
    Router::new().route("/sched/service/{*call}", any(handle))
}

/// A MeetMax error answer in the switched mode.
fn error(switches: &Switches, message: impl Into<String>) -> Response {
    let status = StatusCode::from_u16(switches.error_status).unwrap_or(StatusCode::OK);
    (status, Json(json!({"error": message.into()}))).into_response()
}

async fn handle(State(state): State<Shared>, req: Request) -> Response {
    if req.method() != Method::GET {
        return (StatusCode::METHOD_NOT_ALLOWED, Json(json!({"error": "only GET is supported"}))).into_response();
    }
    let latency = state.meetmax.lock().await.switches.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let call = req.uri().path().trim_start_matches("/sched/service/").to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let host = req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or("").to_owned();
    let authorization = req.headers().get("authorization").and_then(|h| h.to_str().ok()).map(str::to_owned);
    let base_uri = format!("http://{host}{}", req.uri().path());

    let mut mm = state.meetmax.lock().await;
    if let Err(wait) = mm.take_token() {
        let mut resp =
            (StatusCode::TOO_MANY_REQUESTS, Json(json!({"error": "Too many requests; slow down"}))).into_response();
        resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait));
        return resp;
    }
    if let Err(message) = verify_oauth(&mut mm, "GET", &base_uri, &params, authorization.as_deref()) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": message}))).into_response();
    }
    let json_wanted = params.iter().any(|(k, v)| k == "data_type" && v.eq_ignore_ascii_case("json"));
    let result = match call.as_str() {
        "event/list" => {
            Ok(json!({"results": mm.events.values().map(|e| json!({"id": e.id, "name": e.name})).collect::<Vec<_>>()}))
        }
        "attendeerole/list" => roles(&mm, &params),
        "attendee/list" => list(&mm, &params),
        "attendee/add" => add(&mut mm, &params),
        "attendee/edit" => edit(&mut mm, &params),
        _ => return (StatusCode::NOT_FOUND, Json(json!({"error": format!("unknown service {call}")}))).into_response(),
    };
    match (result, json_wanted) {
        (Ok(body), true) => Json(body).into_response(),
        (Err(message), true) => error(&mm.switches, message),
        (Ok(body), false) => xml(StatusCode::OK, &body),
        (Err(message), false) => {
            xml(StatusCode::from_u16(mm.switches.error_status).unwrap_or(StatusCode::OK), &json!({"error": message}))
        }
    }
}

/// The minimal XML rendering of an answer (what MeetMax is believed to default to).
fn xml(status: StatusCode, body: &Value) -> Response {
    let mut out = String::from("<?xml version=\"1.0\"?><response>");
    for (k, v) in body.as_object().into_iter().flatten() {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push_str(&format!("<{k}>{}</{k}>", text.replace('&', "&amp;").replace('<', "&lt;")));
    }
    out.push_str("</response>");
    (status, [("content-type", "text/xml")], out).into_response()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn event<'a>(mm: &'a MeetmaxState, params: &[(String, String)]) -> Result<&'a Event, String> {
    let id = param(params, "event_id").ok_or("event_id is required")?;
    mm.events.get(id).ok_or_else(|| format!("Unknown event_id {id}"))
}

fn roles(mm: &MeetmaxState, params: &[(String, String)]) -> Result<Value, String> {
    let ev = event(mm, params)?;
    Ok(json!({"results": ev.roles.iter().map(|r| json!({"id": r.id, "name": r.name})).collect::<Vec<_>>()}))
}

fn record_json(r: &Record, id_as_string: bool, sparse: bool) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), if id_as_string { json!(r.id.to_string()) } else { json!(r.id) });
    for (k, v) in &r.fields {
        let kept = if sparse { matches!(k.as_str(), "company" | "first" | "last") } else { k != "password" };
        if kept {
            m.insert(k.clone(), json!(v));
        }
    }
    Value::Object(m)
}

fn list(mm: &MeetmaxState, params: &[(String, String)]) -> Result<Value, String> {
    let ev = event(mm, params)?;
    let fld = param(params, "search_fld");
    let needle = param(params, "search_for");
    let mut results: Vec<Value> = mm
        .records
        .iter()
        .filter(|r| r.event_id == ev.id)
        .filter(|r| match (fld, needle) {
            (Some(f), Some(n)) if mm.switches.search_contains => {
                r.fields.get(f).is_some_and(|v| v.to_lowercase().contains(&n.to_lowercase()))
            }
            (Some(f), Some(n)) => r.fields.get(f).is_some_and(|v| v == n),
            _ => true,
        })
        .map(|r| {
            let mut item = record_json(r, mm.switches.id_as_string, mm.switches.sparse_list_items);
            if let (Some(key), Value::Object(o)) = (&mm.switches.list_id_key, &mut item)
                && let Some(id) = o.remove("id")
                && !key.is_empty()
            {
                o.insert(key.clone(), id);
            }
            item
        })
        .collect();
    if let Some(cap) = mm.switches.list_cap {
        results.truncate(cap);
    }
    Ok(json!({"results": results}))
}

/// Standard fields `attendee/add` and `attendee/edit` accept.
const STANDARD_FIELDS: &[&str] = &[
    "first",
    "last",
    "company",
    "title",
    "email",
    "telephone",
    "attendee_role_id",
    "attendee_type",
    "is_entity",
    "is_contact",
    "virtual",
    "username",
    "password",
    "crm_id",
    "grp_name",
    "receive_request",
];

/// Checks one field's value against the event's schema.
fn check_field(ev: &Event, name: &str, value: &str) -> Result<(), String> {
    if let Some(id) = name.strip_prefix("custom_") {
        let field =
            ev.custom_fields.iter().find(|f| f.id == id).ok_or_else(|| format!("Unknown custom field {name}"))?;
        if !field.options.is_empty() && !value.is_empty() {
            if value.contains(',') {
                return Err(format!("{name}: commas are not allowed in option lists; use |"));
            }
            for label in value.split('|') {
                if !field.options.iter().any(|o| o == label) {
                    return Err(format!("{name}: unknown option '{label}'"));
                }
            }
        }
        return Ok(());
    }
    if STANDARD_FIELDS.contains(&name) { Ok(()) } else { Err(format!("Unknown field {name}")) }
}

fn add(mm: &mut MeetmaxState, params: &[(String, String)]) -> Result<Value, String> {
    let ev = event(mm, params)?.clone();
    if mm.switches.reject_repeated_keys {
        let mut seen = HashSet::new();
        if let Some((k, _)) = params.iter().find(|(k, _)| !seen.insert(k.as_str())) {
            return Err(format!("Parameter {k} given more than once"));
        }
    }
    let mut fields = BTreeMap::new();
    for (k, v) in params {
        if matches!(k.as_str(), "event_id" | "data_type") {
            continue;
        }
        check_field(&ev, k, v)?;
        // A repeated key is a list (what the 2022+ scripts sent): its values kept `|`-joined.
        match fields.get_mut(k) {
            Some(existing) => {
                let existing: &mut String = existing;
                existing.push('|');
                existing.push_str(v);
            }
            None => {
                fields.insert(k.clone(), v.clone());
            }
        }
    }
    let entity = fields.get("is_entity").is_some_and(|v| v.eq_ignore_ascii_case("y"));
    let company_required = entity || mm.switches.company_required_for_people;
    for required in ["first", "last", "company", "attendee_role_id"] {
        if required == "company" && !company_required {
            continue;
        }
        if fields.get(required).is_none_or(|v| v.trim().is_empty()) {
            return Err(format!("{required} is required"));
        }
    }
    let role_id = &fields["attendee_role_id"];
    let role =
        ev.roles.iter().find(|r| &r.id == role_id).ok_or_else(|| format!("Unknown attendee_role_id {role_id}"))?;
    let is_entity = fields.get("is_entity").is_some_and(|v| v.eq_ignore_ascii_case("y"));
    if is_entity && !role.entity {
        return Err(format!("attendee_role_id {role_id} is not a company role"));
    }
    let no_company = String::new();
    let company = fields.get("company").unwrap_or(&no_company);
    let in_event = |r: &&Record| r.event_id == ev.id;
    if !is_entity
        && role.company_rep
        && mm.switches.enforce_company
        && !mm.records.iter().filter(in_event).any(|r| r.is_entity() && r.fields.get("company") == Some(company))
    {
        return Err(format!("Company '{company}' does not exist in this event; add the company first"));
    }
    if mm.switches.duplicates == Duplicates::Reject {
        let same = |k: &str, r: &Record| fields.get(k).is_some_and(|v| !v.is_empty() && r.fields.get(k) == Some(v));
        let dup = mm.records.iter().filter(in_event).find(|r| {
            if is_entity {
                r.is_entity() && same("company", r)
            } else {
                !r.is_entity() && (same("email", r) || same("crm_id", r))
            }
        });
        if let Some(d) = dup {
            return Err(format!("Duplicate record: already exists as {}", d.id));
        }
    }
    let id = mm.insert(ev.id.clone(), fields);
    let id = if mm.switches.id_as_string { json!(id.to_string()) } else { json!(id) };
    Ok(json!({"status_code": 200, "id": id, "message": "ok"}))
}

fn edit(mm: &mut MeetmaxState, params: &[(String, String)]) -> Result<Value, String> {
    let ev = event(mm, params)?.clone();
    let investor = param(params, "investor_id").ok_or("investor_id is required")?;
    let name = param(params, "field_name").ok_or("field_name is required")?;
    let value = param(params, "field_value").unwrap_or("");
    check_field(&ev, name, value)?;
    let record = mm
        .records
        .iter_mut()
        .find(|r| r.event_id == ev.id && r.id.to_string() == investor)
        .ok_or_else(|| format!("Unknown investor_id {investor}"))?;
    record.fields.insert(name.to_owned(), value.to_owned());
    Ok(json!({"status_code": 200, "id": record.id, "message": "updated"}))
}

/// RFC 3986 percent-encoding as OAuth 1.0a requires (unreserved characters kept).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decoding of header values (no `+` rule: OAuth headers use `%20`).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The OAuth parameters of an `Authorization: OAuth k="v", …` header.
fn oauth_header_params(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim().strip_prefix("OAuth")?.trim();
    let mut out = Vec::new();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let v = v.trim().trim_matches('"');
        if k.trim() == "realm" {
            continue;
        }
        out.push((decode(k.trim()), decode(v)));
    }
    Some(out)
}

/// The RFC 5849 signature base string.
pub fn signature_base(method: &str, base_uri: &str, params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    encoded.sort();
    let normalized = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    format!("{}&{}&{}", method.to_ascii_uppercase(), encode(base_uri), encode(&normalized))
}

/// HMAC-SHA1 of `base` with the consumer secret (no token secret), base64.
pub fn hmac_sha1_signature(consumer_secret: &str, base: &str) -> String {
    let key = format!("{}&", encode(consumer_secret));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(base.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn verify_oauth(
    mm: &mut MeetmaxState,
    method: &str,
    base_uri: &str,
    query: &[(String, String)],
    header: Option<&str>,
) -> Result<(), String> {
    let header = header.ok_or("OAuth signature required")?;
    let oauth = oauth_header_params(header).ok_or("Authorization header is not OAuth")?;
    let get = |k: &str| oauth.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let key = get("oauth_consumer_key").ok_or("oauth_consumer_key missing")?;
    let secret = mm.consumers.get(&key).ok_or("Unknown consumer key")?.clone();
    if get("oauth_signature_method").as_deref() != Some("HMAC-SHA1") {
        return Err("oauth_signature_method must be HMAC-SHA1".into());
    }
    let nonce = get("oauth_nonce").ok_or("oauth_nonce missing")?;
    let timestamp: i64 = get("oauth_timestamp").and_then(|t| t.parse().ok()).ok_or("oauth_timestamp missing")?;
    let signature = get("oauth_signature").ok_or("oauth_signature missing")?;
    let mut all: Vec<(String, String)> = query.to_vec();
    all.extend(oauth.iter().filter(|(k, _)| k != "oauth_signature").cloned());
    let expected = hmac_sha1_signature(&secret, &signature_base(method, base_uri, &all));
    if expected != signature {
        return Err("Invalid OAuth signature".into());
    }
    if mm.switches.check_timestamp && (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return Err("OAuth timestamp out of range".into());
    }
    if mm.switches.check_nonce && !mm.nonces.insert(format!("{key}:{nonce}:{timestamp}")) {
        return Err("OAuth nonce already used".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5849 §3.4.1.1's example base string (a three-legged request; the construction is the same).
    #[test]
    fn rfc5849_base_string() {
        let params: Vec<(String, String)> = [
            ("b5", "=%3D"),
            ("a3", "a"),
            ("c@", ""),
            ("a2", "r b"),
            ("oauth_consumer_key", "9djdj82h48djs9d2"),
            ("oauth_token", "kkk9d7dh3k39sjv7"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131201"),
            ("oauth_nonce", "7d8f3e4a"),
            ("c2", ""),
            ("a3", "2 q"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let base = signature_base("POST", "http://example.com/request", &params);
        assert_eq!(
            base,
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        );
    }

    #[test]
    fn header_parsing_and_decoding() {
        let p =
            oauth_header_params(r#"OAuth realm="x", oauth_consumer_key="k%20y",oauth_signature="a%2Bb%3D""#).unwrap();
        assert_eq!(p, vec![("oauth_consumer_key".into(), "k y".into()), ("oauth_signature".into(), "a+b=".into())]);
        assert!(oauth_header_params("Bearer x").is_none());
    }

    #[test]
    fn token_bucket_refuses_beyond_the_burst() {
        let mut s = MeetmaxState::default();
        s.switches.rate_limit = Some(RateLimit { per_second: 1.0, burst: 2.0 });
        assert!(s.take_token().is_ok() && s.take_token().is_ok());
        assert_eq!(s.take_token(), Err(1));
    }
}
