//! The control surface under `/__sandbox/`: reset, load a fixture, set faults, set the clock,
//! add submissions, read the request log.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::json;

use crate::{
    AventriFixture, CventFixture, FaultRule, FormstackFixture, LenosFixture, MeetmaxFixture, Shared,
    aventri::{AventriState, AventriSwitches},
    cvent::{CventState, CventSwitches},
    formstack::{FormstackState, StoredSubmission},
    lenos::{LenosState, LenosSwitches},
    meetmax::{MeetmaxState, Switches},
};

/// Control routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/__sandbox/reset", post(reset))
        .route("/__sandbox/formstack/fixture", post(load_formstack))
        .route("/__sandbox/formstack/forms/{id}/submissions", post(add_submissions))
        .route("/__sandbox/meetmax/fixture", post(load_meetmax))
        .route("/__sandbox/meetmax/switches", post(set_meetmax_switches))
        .route("/__sandbox/meetmax/records", get(meetmax_records))
        .route("/__sandbox/aventri/fixture", post(load_aventri))
        .route("/__sandbox/aventri/switches", post(set_aventri_switches))
        .route("/__sandbox/aventri/expire-tokens", post(expire_aventri_tokens))
        .route("/__sandbox/aventri/events/{id}/{list}", post(upsert_aventri))
        .route("/__sandbox/lenos/fixture", post(load_lenos))
        .route("/__sandbox/lenos/switches", post(set_lenos_switches))
        .route("/__sandbox/cvent/fixture", post(load_cvent))
        .route("/__sandbox/cvent/switches", post(set_cvent_switches))
        .route("/__sandbox/faults", post(set_faults))
        .route("/__sandbox/clock", post(set_clock))
        .route("/__sandbox/requests", get(requests))
        .route("/__sandbox/health", get(|| async { "ok" }))
}

async fn reset(State(state): State<Shared>) -> StatusCode {
    *state.formstack.lock().await = FormstackState::default();
    *state.meetmax.lock().await = MeetmaxState::default();
    *state.aventri.lock().await = AventriState::default();
    *state.lenos.lock().await = LenosState::default();
    *state.cvent.lock().await = CventState::default();
    *state.oidc.lock().await = crate::oidc::OidcState::default();
    state.faults.lock().await.set(Vec::new());
    state.requests.lock().await.clear();
    StatusCode::NO_CONTENT
}

async fn load_formstack(State(state): State<Shared>, Json(fixture): Json<FormstackFixture>) -> StatusCode {
    *state.formstack.lock().await = FormstackState::from_fixture(fixture);
    StatusCode::NO_CONTENT
}

async fn add_submissions(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Json(subs): Json<Vec<StoredSubmission>>,
) -> Response {
    if state.formstack.lock().await.upsert_submissions(&id, subs) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, Json(json!({"error": "no such form"}))).into_response()
    }
}

async fn load_meetmax(State(state): State<Shared>, Json(fixture): Json<MeetmaxFixture>) -> StatusCode {
    *state.meetmax.lock().await = MeetmaxState::from_fixture(fixture);
    StatusCode::NO_CONTENT
}

async fn set_meetmax_switches(State(state): State<Shared>, Json(switches): Json<Switches>) -> StatusCode {
    state.meetmax.lock().await.switches = switches;
    StatusCode::NO_CONTENT
}

async fn meetmax_records(State(state): State<Shared>) -> Response {
    Json(state.meetmax.lock().await.records.clone()).into_response()
}

async fn load_aventri(State(state): State<Shared>, Json(fixture): Json<AventriFixture>) -> StatusCode {
    *state.aventri.lock().await = AventriState::from_fixture(fixture);
    StatusCode::NO_CONTENT
}

async fn set_aventri_switches(State(state): State<Shared>, Json(switches): Json<AventriSwitches>) -> Response {
    match state.aventri.lock().await.fixture.as_mut() {
        Some(f) => {
            f.switches = switches;
            StatusCode::NO_CONTENT.into_response()
        }
        None => (StatusCode::CONFLICT, Json(json!({"error": "no Aventri fixture loaded"}))).into_response(),
    }
}

async fn load_lenos(State(state): State<Shared>, Json(fixture): Json<LenosFixture>) -> StatusCode {
    *state.lenos.lock().await = LenosState::from_fixture(fixture);
    StatusCode::NO_CONTENT
}

async fn set_lenos_switches(State(state): State<Shared>, Json(switches): Json<LenosSwitches>) -> Response {
    match state.lenos.lock().await.fixture.as_mut() {
        Some(f) => {
            f.switches = switches;
            StatusCode::NO_CONTENT.into_response()
        }
        None => (StatusCode::CONFLICT, Json(json!({"error": "no Lenos fixture loaded"}))).into_response(),
    }
}

async fn load_cvent(State(state): State<Shared>, Json(fixture): Json<CventFixture>) -> StatusCode {
    *state.cvent.lock().await = CventState::from_fixture(fixture);
    StatusCode::NO_CONTENT
}

async fn set_cvent_switches(State(state): State<Shared>, Json(switches): Json<CventSwitches>) -> Response {
    match state.cvent.lock().await.fixture.as_mut() {
        Some(f) => {
            f.switches = switches;
            StatusCode::NO_CONTENT.into_response()
        }
        None => (StatusCode::CONFLICT, Json(json!({"error": "no Cvent fixture loaded"}))).into_response(),
    }
}

async fn expire_aventri_tokens(State(state): State<Shared>) -> StatusCode {
    state.aventri.lock().await.expire_tokens();
    StatusCode::NO_CONTENT
}

async fn upsert_aventri(
    State(state): State<Shared>,
    Path((id, list)): Path<(String, String)>,
    Json(records): Json<Vec<serde_json::Value>>,
) -> Response {
    if state.aventri.lock().await.upsert(&id, &list, records) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, Json(json!({"error": "no such event or list"}))).into_response()
    }
}

async fn set_faults(State(state): State<Shared>, Json(rules): Json<Vec<FaultRule>>) -> StatusCode {
    state.faults.lock().await.set(rules);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Clock {
    now: Option<String>,
}

async fn set_clock(State(state): State<Shared>, Json(clock): Json<Clock>) -> Response {
    let parsed = match clock.now.as_deref().map(|n| NaiveDateTime::parse_from_str(n, "%Y-%m-%d %H:%M:%S")) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => {
            return (StatusCode::BAD_REQUEST, Json(json!({"error": "now must be YYYY-MM-DD HH:MM:SS"})))
                .into_response();
        }
    };
    state.formstack.lock().await.clock = parsed;
    StatusCode::NO_CONTENT.into_response()
}

async fn requests(State(state): State<Shared>) -> Response {
    Json(state.requests.lock().await.clone()).into_response()
}
