//! Fake Formstack API v2 (`shared/vendors/docs/formstack.md` §10): submission listing with bearer
//! auth, paging to `pages`, `min_time`/`max_time`, `sort`, a per-token daily quota (429, with
//! `Retry-After` when switched on) and the quirk switches (short pages, a submission repeated
//! across pages, an inflated `total`).

use std::collections::{BTreeMap, HashMap};

use axum::{
    Json, Router,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{NaiveDate, NaiveDateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Shared;

const TS: &str = "%Y-%m-%d %H:%M:%S";

/// Switches for Formstack's reported quirks (all off by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quirks {
    /// Every second page carries fewer records than `per_page` (the rest move to later pages;
    /// `pages` counts them all): a client that stops on a short page loses records.
    pub short_pages: bool,
    /// The last record of each page appears again at the top of the next page.
    pub repeat_across_pages: bool,
    /// `total` reports more records than exist.
    pub inflated_total: bool,
}

/// A field of a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Field id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Formstack field type (`text`, `name`, `address`, `checkbox`, …).
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// A stored submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSubmission {
    /// Submission id.
    pub id: String,
    /// Naive timestamp in the account time zone (`YYYY-MM-DD HH:MM:SS`).
    pub timestamp: String,
    /// Values by field id (strings, or objects for compound fields).
    #[serde(default)]
    pub data: BTreeMap<String, Value>,
}

/// A form with its fields and submissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Form {
    /// Form id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Fields.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Submissions.
    #[serde(default)]
    pub submissions: Vec<StoredSubmission>,
}

/// A Formstack fixture: what the sandbox serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormstackFixture {
    /// Account time zone of the naive timestamps.
    #[serde(default = "default_tz")]
    pub time_zone: String,
    /// Accepted bearer tokens.
    pub tokens: Vec<String>,
    /// Calls per token per day (production: 14,400).
    #[serde(default = "default_quota")]
    pub daily_quota: u64,
    /// Send `Retry-After` (seconds to sandbox midnight) with the quota's 429.
    #[serde(default)]
    pub quota_retry_after: bool,
    /// Quirk switches.
    #[serde(default)]
    pub quirks: Quirks,
    /// Forms.
    pub forms: Vec<Form>,
}

fn default_tz() -> String {
    "America/New_York".into()
}

fn default_quota() -> u64 {
    14_400
}

/// The fixture without its forms (cheap to copy per request).
#[derive(Debug, Clone)]
struct Settings {
    time_zone: String,
    tokens: Vec<String>,
    daily_quota: u64,
    quota_retry_after: bool,
    quirks: Quirks,
}

/// Formstack's live state. Each form's submissions are kept sorted by (timestamp, id).
#[derive(Debug, Default)]
pub struct FormstackState {
    settings: Option<Settings>,
    forms: HashMap<String, Form>,
    calls: HashMap<(String, NaiveDate), u64>,
    /// A fixed sandbox time (else the real clock).
    pub clock: Option<NaiveDateTime>,
}

impl FormstackState {
    /// State serving `fixture`.
    pub fn from_fixture(fixture: FormstackFixture) -> FormstackState {
        let settings = Settings {
            time_zone: fixture.time_zone,
            tokens: fixture.tokens,
            daily_quota: fixture.daily_quota,
            quota_retry_after: fixture.quota_retry_after,
            quirks: fixture.quirks,
        };
        let forms = fixture
            .forms
            .into_iter()
            .map(|mut f| {
                f.submissions.sort_by(|a, b| (&a.timestamp, &a.id).cmp(&(&b.timestamp, &b.id)));
                (f.id.clone(), f)
            })
            .collect();
        FormstackState { settings: Some(settings), forms, calls: HashMap::new(), clock: None }
    }

    /// Adds (or replaces, by id) submissions of a form, e.g. to model an edit or a new arrival.
    pub fn upsert_submissions(&mut self, form_id: &str, subs: Vec<StoredSubmission>) -> bool {
        let Some(form) = self.forms.get_mut(form_id) else { return false };
        for s in subs {
            match form.submissions.iter_mut().find(|x| x.id == s.id) {
                Some(existing) => *existing = s,
                None => form.submissions.push(s),
            }
        }
        form.submissions.sort_by(|a, b| (&a.timestamp, &a.id).cmp(&(&b.timestamp, &b.id)));
        true
    }

    fn now(&self) -> NaiveDateTime {
        self.clock.unwrap_or_else(|| Utc::now().naive_utc())
    }
}

/// Formstack's routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/v2/form/{id}/submission.json", get(list_submissions))
        .route("/api/v2/form/{file}", get(form_details))
        .route("/api/v2/submission/{file}", get(submission_details))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"status": "error", "error": message}))).into_response()
}

/// Checks the token and counts the call against its daily quota.
fn authorise(state: &mut FormstackState, headers: &HeaderMap, params: &[(String, String)]) -> Result<(), Response> {
    let Some(fixture) = state.settings.clone() else {
        return Err(error(StatusCode::SERVICE_UNAVAILABLE, "sandbox has no Formstack fixture loaded"));
    };
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::to_owned)
        .or_else(|| params.iter().find(|(k, _)| k == "oauth_token").map(|(_, v)| v.clone()));
    let Some(token) = token.filter(|t| fixture.tokens.contains(t)) else {
        return Err(error(StatusCode::UNAUTHORIZED, "Invalid or missing access token"));
    };
    let now = state.now();
    let count = state.calls.entry((token, now.date())).or_default();
    if *count >= fixture.daily_quota {
        let mut resp = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded: 14400 calls per day");
        if fixture.quota_retry_after {
            let left = 86_400 - u64::from(now.num_seconds_from_midnight());
            resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(left));
        }
        return Err(resp);
    }
    *count += 1;
    Ok(())
}

/// Locks Formstack's state for one request, after checking its token and counting it against
/// the quota; returns the state and the query parameters.
async fn open<'a>(
    state: &'a Shared,
    headers: &HeaderMap,
    query: Option<String>,
) -> Result<(tokio::sync::MutexGuard<'a, FormstackState>, Vec<(String, String)>), Response> {
    let params: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let mut fs = state.formstack.lock().await;
    authorise(&mut fs, headers, &params)?;
    Ok((fs, params))
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn render(sub: &StoredSubmission, form_id: &str, with_data: bool) -> Value {
    let data = if !with_data || sub.data.is_empty() {
        json!([])
    } else {
        Value::Object(sub.data.iter().map(|(k, v)| (k.clone(), json!({"field": k, "value": v}))).collect())
    };
    json!({
        "id": sub.id, "timestamp": sub.timestamp, "user_agent": "Mozilla/5.0 (sandbox)",
        "remote_addr": "127.0.0.1", "payment_status": "", "form": form_id,
        "latitude": null, "longitude": null, "data": data,
    })
}

async fn list_submissions(
    State(state): State<Shared>,
    Path(form_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (fs, params) = match open(&state, &headers, query).await {
        Ok(opened) => opened,
        Err(resp) => return resp,
    };
    let fixture = fs.settings.clone().expect("authorised");
    let Some(form) = fs.forms.get(&form_id) else {
        return error(StatusCode::NOT_FOUND, "Form not found");
    };
    let per_page: u64 = match param(&params, "per_page").map(str::parse::<u64>) {
        None => 25,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return error(StatusCode::BAD_REQUEST, "per_page must be between 1 and 100"),
    };
    let page: u64 = match param(&params, "page").map(str::parse::<u64>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return error(StatusCode::BAD_REQUEST, "page must be a positive integer"),
    };
    let bound = |name| match param(&params, name) {
        None | Some("") => Ok(None),
        Some(v) => NaiveDateTime::parse_from_str(v, TS)
            .or_else(|_| NaiveDate::parse_from_str(v, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).expect("midnight")))
            .map(Some)
            .map_err(|_| error(StatusCode::BAD_REQUEST, &format!("{name} is not a valid date"))),
    };
    let (min_time, max_time) = match (bound("min_time"), bound("max_time")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    // The bounds are US Eastern time (Formstack's API wrapper: "start time in EST"); the stored
    // timestamps are in the account's time zone. Submissions are sorted by their
    // `YYYY-MM-DD HH:MM:SS` text, which sorts as time.
    let account: chrono_tz::Tz = fixture.time_zone.parse().unwrap_or(chrono_tz::America::New_York);
    let local = |eastern: NaiveDateTime| {
        chrono::TimeZone::from_local_datetime(&chrono_tz::America::New_York, &eastern)
            .earliest()
            .map(|at| at.with_timezone(&account).naive_local())
            .unwrap_or(eastern)
    };
    let lo = min_time.map(|m| local(m).format(TS).to_string());
    let hi = max_time.map(|m| local(m).format(TS).to_string());
    let from = lo.as_ref().map_or(0, |lo| form.submissions.partition_point(|s| &s.timestamp < lo));
    let to = hi.as_ref().map_or(form.submissions.len(), |hi| form.submissions.partition_point(|s| &s.timestamp <= hi));
    let mut subs: Vec<&StoredSubmission> = form.submissions[from..to.max(from)].iter().collect();
    if param(&params, "sort").is_none_or(|s| s.eq_ignore_ascii_case("DESC")) {
        subs.reverse();
    }
    // Page boundaries: regular, or alternating full and short pages.
    let mut bounds: Vec<(usize, usize)> = Vec::new();
    let mut start = 0usize;
    let mut i = 0u64;
    while start < subs.len() {
        let size = if fixture.quirks.short_pages && i % 2 == 1 { (per_page - per_page / 3).max(1) } else { per_page };
        let end = (start + size as usize).min(subs.len());
        bounds.push((start, end));
        start = end;
        i += 1;
    }
    let pages = bounds.len() as u64;
    let with_data = param(&params, "data").is_some_and(|d| matches!(d, "true" | "1"));
    let records: Vec<Value> = match bounds.get((page - 1) as usize) {
        Some(&(s, e)) => {
            let s = if fixture.quirks.repeat_across_pages && s > 0 { s - 1 } else { s };
            subs[s..e].iter().map(|x| render(x, &form_id, with_data)).collect()
        }
        None => Vec::new(),
    };
    let total = subs.len() as u64 + if fixture.quirks.inflated_total { 5 } else { 0 };
    Json(json!({"submissions": records, "total": total, "pages": pages})).into_response()
}

async fn form_details(
    State(state): State<Shared>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (fs, _) = match open(&state, &headers, query).await {
        Ok(opened) => opened,
        Err(resp) => return resp,
    };
    let id = file.trim_end_matches(".json");
    let time_zone = fs.settings.as_ref().map_or("America/New_York", |s| s.time_zone.as_str()).to_owned();
    match fs.forms.get(id) {
        Some(form) => Json(form_definition(form, &time_zone)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Form not found"),
    }
}

/// A form's definition in the shape of the public sample
/// (`tests/fixtures/vendors/formstack/form.from-evidence.json`): its keys, and each field's.
fn form_definition(form: &Form, time_zone: &str) -> Value {
    let sample: Value = serde_json::from_str(include_str!("../../fixtures/vendors/formstack/form.from-evidence.json"))
        .expect("the public sample is JSON");
    let field_keys: Vec<String> =
        sample["fields"][0].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    let fields: Vec<Value> = form
        .fields
        .iter()
        .map(|f| {
            let machine =
                f.label.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect::<String>();
            let known = json!({"id": f.id, "label": f.label, "name": machine, "type": f.kind});
            Value::Object(
                field_keys.iter().map(|k| (k.clone(), known.get(k).cloned().unwrap_or(Value::Null))).collect(),
            )
        })
        .collect();
    let known = json!({"id": form.id, "name": form.name, "timezone": time_zone, "fields": fields});
    let keys = sample.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    Value::Object(keys.into_iter().map(|k| (k.clone(), known.get(&k).cloned().unwrap_or(Value::Null))).collect())
}

async fn submission_details(
    State(state): State<Shared>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (fs, _) = match open(&state, &headers, query).await {
        Ok(opened) => opened,
        Err(resp) => return resp,
    };
    let id = file.trim_end_matches(".json");
    for form in fs.forms.values() {
        if let Some(sub) = form.submissions.iter().find(|s| s.id == id) {
            return Json(render(sub, &form.id, true)).into_response();
        }
    }
    error(StatusCode::NOT_FOUND, "Submission not found")
}
