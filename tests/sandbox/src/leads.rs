//! Lead intake systems as the project's **provisional** contract describes them
//! (`shared/leads/docs/vendors.md`; response bodies are invented, nothing is known of the real
//! ones): Captorra (`/api/captorraapi/create`), ICE (`/api/iceapi/create`), Captorra call
//! tracking (`/api/captorracalltracking/create`), IntakeDesk per campaign
//! (`/intakedesk/{campaign}`) and a generic webhook receiver (`/webhook-receiver/{name}`).
//! JSON, urlencoded and JSON without a proper content type are accepted; lenient or strict
//! lengths; seeded identities; optional duplicate detection on (`Referrer`, `ID`). Faults
//! (429, 5xx, resets, slow answers) come from the shared fault schedule.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::Shared;

/// Switches for what the vendors' real behaviour may be.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LeadSwitches {
    /// Over-long values are refused (400) instead of accepted with a warning.
    pub strict: bool,
    /// Duplicate detection on (`Referrer`, `ID`): `"409"` refuses, `"200"` answers success
    /// with the first lead's id; absent: off.
    pub duplicates: Option<String>,
    /// Status for an unknown organisation / referrer (default 401; 404 by switch).
    pub unknown_status: Option<u16>,
    /// Every answer waits this long first.
    pub latency_ms: u64,
    /// Captorra refuses inside a 200: `{"success":false}` (a guess from the key name; no public
    /// failure body exists) instead of a 4xx.
    pub refuse_in_200: bool,
}

/// The answer to a created lead: Captorra's is public
/// (`tests/fixtures/vendors/leads/captorra-create.success.response.json`); the others' are not
/// (an invented `{"Success": true, "LeadId": …}`).
fn created(route: &str, id: &str) -> Value {
    match route {
        "captorra" => {
            let mut v: Value = serde_json::from_str(include_str!(
                "../../fixtures/vendors/leads/captorra-create.success.response.json"
            ))
            .expect("the public sample is JSON");
            v["IntakeId"] = json!(id);
            v
        }
        _ => json!({"Success": true, "LeadId": id}),
    }
}

/// Seeded identities.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LeadIntakeFixture {
    /// Captorra `CaptorraId` / `Referrer` pairs.
    pub captorra: Vec<(String, String)>,
    /// ICE referrers.
    pub ice_referrers: Vec<String>,
    /// Call-tracking `CaptorraId`s.
    pub calltracking_ids: Vec<String>,
    /// Switches.
    pub switches: LeadSwitches,
}

/// One lead the sandbox received.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedLead {
    /// Route: `captorra`, `ice`, `calltracking`, `intakedesk/<campaign>`, `webhook/<name>`.
    pub route: String,
    /// The content type sent.
    pub content_type: Option<String>,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: String,
    /// The parsed fields.
    pub fields: Map<String, Value>,
    /// The status answered.
    pub status: u16,
    /// The lead id answered (success).
    pub lead_id: Option<String>,
}

/// Lead intake's live state.
#[derive(Debug, Default)]
pub struct LeadIntakeState {
    /// The fixture (None: every identity is unknown).
    pub fixture: LeadIntakeFixture,
    /// Every lead received, in order.
    pub received: Vec<ReceivedLead>,
    in_flight: std::collections::HashMap<String, usize>,
    /// The most requests of one route answered at the same time.
    pub max_in_flight: std::collections::HashMap<String, usize>,
}

/// The lead intake routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/api/captorraapi/create",
            post(|s: State<Shared>, h: HeaderMap, b: Bytes| answer(s, "captorra".into(), h, b)),
        )
        .route("/api/iceapi/create", post(|s: State<Shared>, h: HeaderMap, b: Bytes| answer(s, "ice".into(), h, b)))
        .route(
            "/api/captorracalltracking/create",
            post(|s: State<Shared>, h: HeaderMap, b: Bytes| answer(s, "calltracking".into(), h, b)),
        )
        .route(
            "/intakedesk/{campaign}",
            post(|s: State<Shared>, Path(c): Path<String>, h: HeaderMap, b: Bytes| {
                answer(s, format!("intakedesk/{c}"), h, b)
            }),
        )
        .route(
            "/webhook-receiver/{name}",
            post(|s: State<Shared>, Path(n): Path<String>, h: HeaderMap, b: Bytes| {
                answer(s, format!("webhook/{n}"), h, b)
            }),
        )
}

fn parse(body: &[u8]) -> Map<String, Value> {
    if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) {
        return o;
    }
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect()
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.trim().trim_matches(|c| c == '{' || c == '}').split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn text(fields: &Map<String, Value>, k: &str) -> Option<String> {
    match fields.get(k)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

const LENGTHS: &[(&str, usize)] = &[
    ("First", 50),
    ("Last", 50),
    ("Primary", 50),
    ("Secondary", 50),
    ("Email", 100),
    ("Address", 250),
    ("City", 80),
    ("State", 2),
    ("Zip", 20),
    ("County", 50),
    ("BestTime", 100),
    ("Details", 4000),
    ("Keyword", 50),
    ("ID", 100),
];

async fn answer(State(state): State<Shared>, route: String, headers: HeaderMap, body: Bytes) -> Response {
    let latency = {
        let mut l = state.leads.lock().await;
        let n = {
            let n = l.in_flight.entry(route.clone()).or_default();
            *n += 1;
            *n
        };
        let most = l.max_in_flight.entry(route.clone()).or_default();
        *most = (*most).max(n);
        l.fixture.switches.latency_ms
    };
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let fields = parse(&body);
    let mut l = state.leads.lock().await;
    if let Some(n) = l.in_flight.get_mut(&route) {
        *n -= 1;
    }
    let f = l.fixture.clone();
    let mut errors: Vec<String> = Vec::new();
    let required: &[&str] = match route.as_str() {
        "captorra" => &["CaptorraId", "First", "Last", "Referrer"],
        "ice" => &["First", "Last", "Referrer"],
        "calltracking" => &["CaptorraId"],
        _ => &[],
    };
    for r in required {
        if text(&fields, r).is_none() {
            errors.push(format!("{r} is required"));
        }
    }
    // Call tracking documents `CaptorraId` as an integer: a JSON text is refused.
    if route == "calltracking"
        && fields.get("CaptorraId").is_some_and(Value::is_string)
        && body.trim_ascii_start().starts_with(b"{")
    {
        errors.push("CaptorraId must be an integer".into());
    }
    if matches!(route.as_str(), "captorra" | "ice") {
        for g in ["Referrer", "Type"] {
            if let Some(v) = text(&fields, g)
                && !is_guid(&v)
            {
                errors.push(format!("{g} must be a GUID"));
            }
        }
        for (k, max) in LENGTHS {
            if text(&fields, k).is_some_and(|v| v.chars().count() > *max) && f.switches.strict {
                errors.push(format!("{k} is longer than {max} characters"));
            }
        }
    }
    let (status, reply, lead_id) = if !errors.is_empty() {
        (400, json!({"Success": false, "Errors": errors}), None)
    } else {
        let known = match route.as_str() {
            "captorra" => f.captorra.iter().any(|(c, r)| {
                Some(c.as_str()) == text(&fields, "CaptorraId").as_deref()
                    && Some(r.to_lowercase()) == text(&fields, "Referrer").map(|v| v.to_lowercase())
            }),
            "ice" => f
                .ice_referrers
                .iter()
                .any(|r| Some(r.to_lowercase()) == text(&fields, "Referrer").map(|v| v.to_lowercase())),
            "calltracking" => {
                f.calltracking_ids.iter().any(|c| Some(c.as_str()) == text(&fields, "CaptorraId").as_deref())
            }
            _ => true,
        };
        let earlier = match (&f.switches.duplicates, text(&fields, "ID")) {
            (Some(_), Some(id)) => l
                .received
                .iter()
                .find(|r| {
                    r.route == route
                        && r.status == 200
                        && text(&r.fields, "ID").as_deref() == Some(id.as_str())
                        && text(&r.fields, "Referrer") == text(&fields, "Referrer")
                })
                .and_then(|r| r.lead_id.clone()),
            _ => None,
        };
        if !known {
            (
                f.switches.unknown_status.unwrap_or(401),
                json!({"Success": false, "Errors": ["unknown organisation or referrer"]}),
                None,
            )
        } else if let Some(first) = earlier {
            if f.switches.duplicates.as_deref() == Some("409") {
                (409, json!({"Success": false, "Errors": ["duplicate lead"], "LeadId": first}), None)
            } else {
                (200, created(&route, &first), Some(first))
            }
        } else {
            let id = format!("{:08x}-0000-4000-8000-{:012x}", l.received.len() + 1, l.received.len() + 1);
            (200, created(&route, &id), Some(id))
        }
    };
    let (status, reply, lead_id) = if status >= 400 && status != 429 && route == "captorra" && f.switches.refuse_in_200
    {
        (200, json!({"success": false}), None)
    } else {
        (status, reply, lead_id)
    };
    l.received.push(ReceivedLead {
        route,
        content_type: headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned),
        headers: headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned())))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        fields,
        status,
        lead_id,
    });
    (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), Json(reply)).into_response()
}
