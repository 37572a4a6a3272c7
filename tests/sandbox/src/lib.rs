//! The vendor sandbox: the project's local fake of every external service, over real HTTP.
//!
//! One axum server on loopback; each vendor has its own router under its own prefix (Formstack:
//! `/api/v2/form|submission/…`, Aventri: `/api/v2/global|ereg/…` and `/aventri-photos/…`, MeetMax: `/sched/service/…`, Lenos: `/lenos/…`, Cvent: `/cvent/ea/…`, an OpenID Connect issuer: `/oidc/…`); the control surface lives under `/__sandbox/`. Every request is recorded (method,
//! path, query, headers with secrets redacted, body, response status), and a fault schedule can
//! answer a chosen request of a route with a 429, a 5xx, a malformed body or a delay.
//!
//! Tests start it in-process with [`Sandbox::start`]; `make run` starts the `vendor-sandbox` binary.

// Handlers return `Result<_, Response>` (axum's idiom); the size of `Response` does not matter here.
#![allow(clippy::result_large_err)]

pub mod aventri;
pub mod control;
pub mod cvent;
pub mod faults;
pub mod fixtures;
pub mod formstack;
pub mod leads;
pub mod lenos;
pub mod meetmax;
pub mod oidc;
pub mod recording;
pub mod webhook;

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use tokio::{net::TcpListener, sync::Mutex};

pub use aventri::AventriFixture;
pub use cvent::CventFixture;
pub use faults::{Fault, FaultRule};
pub use formstack::FormstackFixture;
pub use lenos::LenosFixture;
pub use meetmax::MeetmaxFixture;
pub use recording::RecordedRequest;

/// The sandbox's whole state, shared by every router.
#[derive(Debug, Default)]
pub struct State {
    /// Formstack's forms, submissions, tokens, quota and quirk switches.
    pub formstack: Mutex<formstack::FormstackState>,
    /// Aventri's accounts, tokens, events and switches.
    pub aventri: Mutex<aventri::AventriState>,
    /// Lead intake systems' identities, switches and received leads (provisional contract).
    pub leads: Mutex<leads::LeadIntakeState>,
    /// Lenos's events, tokens and switches (the provisional contract).
    pub lenos: Mutex<lenos::LenosState>,
    /// Cvent's events, tokens, page cursors and switches.
    pub cvent: Mutex<cvent::CventState>,
    /// MeetMax's events, records, consumers and switches.
    pub meetmax: Mutex<meetmax::MeetmaxState>,
    /// The OpenID Connect issuer's people and codes.
    pub oidc: Mutex<oidc::OidcState>,
    /// The fault schedule.
    pub faults: Mutex<faults::FaultBook>,
    /// Every request, in order.
    pub requests: Mutex<Vec<RecordedRequest>>,
}

/// Shared handle to the state.
pub type Shared = Arc<State>;

/// A running sandbox.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The state, for tests that drive it in-process.
    pub state: Shared,
}

/// The router of every vendor plus the control surface.
pub fn router(state: Shared) -> Router {
    Router::new()
        .merge(formstack::router())
        .merge(meetmax::router())
        .merge(aventri::router())
        .merge(lenos::router())
        .merge(cvent::router())
        .merge(leads::router())
        .merge(oidc::router())
        .merge(control::router())
        .layer(axum::middleware::from_fn_with_state(state.clone(), recording::record_and_fault))
        .with_state(state)
}

impl Sandbox {
    /// Starts a sandbox on `addr` (port 0 = any free port) in the background.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Sandbox> {
        let state: Shared = Arc::default();
        let listener = TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sandbox { url, state })
    }

    /// Starts a sandbox on a free loopback port.
    pub async fn start_local() -> std::io::Result<Sandbox> {
        Sandbox::start(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Formstack's API v2 base URL on this sandbox.
    pub fn formstack_api_url(&self) -> String {
        format!("{}/api/v2", self.url)
    }

    /// Replaces Formstack's state with a fixture.
    pub async fn load_formstack(&self, fixture: FormstackFixture) {
        *self.state.formstack.lock().await = formstack::FormstackState::from_fixture(fixture);
    }

    /// MeetMax's base URL on this sandbox (the API lives under `/sched/service/`).
    pub fn meetmax_url(&self) -> String {
        self.url.clone()
    }

    /// Replaces MeetMax's state with a fixture.
    pub async fn load_meetmax(&self, fixture: MeetmaxFixture) {
        *self.state.meetmax.lock().await = meetmax::MeetmaxState::from_fixture(fixture);
    }

    /// Changes MeetMax's switches.
    pub async fn set_meetmax_switches(&self, switches: meetmax::Switches) {
        self.state.meetmax.lock().await.switches = switches;
    }

    /// MeetMax's records, in creation order.
    pub async fn meetmax_records(&self) -> Vec<meetmax::Record> {
        self.state.meetmax.lock().await.records.clone()
    }

    /// Aventri's API v2 endpoint on this sandbox (the `endPoint` credential).
    pub fn aventri_endpoint(&self) -> String {
        format!("{}/api/v2", self.url)
    }

    /// Lenos's base URL on this sandbox (the `endPoint` credential).
    pub fn lenos_endpoint(&self) -> String {
        format!("{}/lenos", self.url)
    }

    /// Replaces the lead intake systems' identities and switches (received leads are kept).
    pub async fn load_leads(&self, fixture: leads::LeadIntakeFixture) {
        self.state.leads.lock().await.fixture = fixture;
    }

    /// Every lead the intake systems received, in order.
    pub async fn received_leads(&self) -> Vec<leads::ReceivedLead> {
        self.state.leads.lock().await.received.clone()
    }

    /// Replaces Lenos's state with a fixture.
    pub async fn load_lenos(&self, fixture: LenosFixture) {
        *self.state.lenos.lock().await = lenos::LenosState::from_fixture(fixture);
    }

    /// Cvent's base URL on this sandbox (the `endPoint` credential).
    pub fn cvent_endpoint(&self) -> String {
        format!("{}/cvent/ea", self.url)
    }

    /// Replaces Cvent's state with a fixture.
    pub async fn load_cvent(&self, fixture: CventFixture) {
        *self.state.cvent.lock().await = cvent::CventState::from_fixture(fixture);
    }

    /// Replaces Aventri's state with a fixture.
    pub async fn load_aventri(&self, fixture: AventriFixture) {
        *self.state.aventri.lock().await = aventri::AventriState::from_fixture(fixture);
    }

    /// The OpenID Connect issuer's URL (`…/oidc`; discovery at `/.well-known/openid-configuration`).
    pub fn oidc_issuer(&self) -> String {
        format!("{}/oidc", self.url)
    }

    /// Gives `email` these groups at the issuer (no groups: the allow-list decides).
    pub async fn set_oidc_person(&self, email: &str, groups: &[&str]) {
        let groups = groups.iter().map(|g| (*g).to_owned()).collect();
        self.state.oidc.lock().await.people.insert(email.to_owned(), groups);
    }

    /// Sets the fault schedule.
    pub async fn set_faults(&self, rules: Vec<FaultRule>) {
        self.state.faults.lock().await.set(rules);
    }

    /// The recorded requests so far.
    pub async fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().await.clone()
    }
}
