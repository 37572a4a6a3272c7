//! `bench-lenos`: the two-way register endpoint's own latency, and the incremental Person pull.
//!
//! 1. 1,000 warm signed register requests (100 under `BENCH_QUICK=1`) through
//!    `Registrar::handle` against the sandbox's Lenos answering after 20 ms: each request's
//!    overhead is its time minus the Lenos call's time as the registrar measured it (signature,
//!    secrets cache, warehouse statements, the registration row). p50 and p99 of the overhead.
//! 2. 50,000 persons (5,000 quick): a full Person pull, then 1 % change and the incremental pull
//!    (requests and seconds).
//!
//! Figures go to `target/bench/lenos.json` beside a table. Needs the stack: run through
//! `make bench`.

use std::time::{Duration, Instant};

use chrono::Utc;
use integration_tests::bench_report::{self, BenchReport, Goal};
use integration_tests::connector_support::{ConnectorHarness, LENOS_CONNECTION, count};
use platform_aws::SecretsCache;
use platform_connectors::register::Registrar;
use serde_json::json;
use vendor_sandbox::fixtures;

const LATENCY_MS: u64 = 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let requests = bench_report::size(1000);
    let persons = bench_report::size(50_000);

    // 1. The register endpoint.
    let mut fixture = fixtures::lenos_many(requests + 20);
    fixture.events[0].sessions[5]["Capacity"] = json!(null);
    let h = ConnectorHarness::lenos(fixture, json!({})).await;
    h.pull("participants").await;
    h.pull("sessions").await;
    let keys = integration_tests::new_secret(&h.sdk, &json!({"bench-app": "bench-key"})).await;
    h.db.exec(&format!(
        "INSERT INTO connector.register_app (app, connection) VALUES ('bench-app', '{LENOS_CONNECTION}')"
    ))
    .await;
    let secrets = SecretsCache::new(aws_sdk_secretsmanager::Client::new(&h.sdk), Duration::from_secs(600));
    let registrar = Registrar::new(h.db.warehouse.clone(), secrets, keys)?;
    h.sandbox.state.lenos.lock().await.fixture.as_mut().expect("fixture").switches.latency_ms = LATENCY_MS;
    let signed = |i: usize| {
        let body = json!({"person_id": format!("q{i}"), "session_id": "s6", "request_id": format!("bench-{i}")});
        integration_tests::signed_request("X-App-Id", "bench-app", "bench-key", &body)
    };
    for i in 0..20 {
        let a = registrar.handle(signed(requests + i)).await;
        anyhow::ensure!(a.body["answer"] == "confirmed", "warm-up: {}", a.body);
    }
    let mut overhead_ms = Vec::with_capacity(requests);
    let mut lenos_ms = Vec::with_capacity(requests);
    for i in 0..requests {
        let req = signed(i);
        let t = Instant::now();
        let a = registrar.handle(req).await;
        let total = t.elapsed();
        anyhow::ensure!(a.body["answer"] == "confirmed", "request {i}: {}", a.body);
        let lenos = a.lenos.expect("Lenos was asked");
        overhead_ms.push((total - lenos).as_secs_f64() * 1000.0);
        lenos_ms.push(lenos.as_secs_f64() * 1000.0);
    }
    overhead_ms.sort_by(f64::total_cmp);
    lenos_ms.sort_by(f64::total_cmp);
    let pct = |v: &[f64], p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];

    // 2. The incremental Person pull.
    let p = ConnectorHarness::lenos(fixtures::lenos_many(persons), json!({})).await;
    p.db.exec("UPDATE connector.stream SET enabled = (stream = 'participants')").await;
    let t = Instant::now();
    let full = p.pull("participants").await;
    let full_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(count(&full, "created_count") as usize == persons, "full: {}", full.run);
    let now = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let changed: Vec<_> = (0..persons / 100)
        .map(|i| fixtures::lenos_person(&format!("q{}", i * 100), "Bench", "Changed", "Cancelled", &now))
        .collect();
    p.sandbox.state.lenos.lock().await.upsert_persons(fixtures::LENOS_EVENT, changed);
    let t = Instant::now();
    let inc = p.pull("participants").await;
    let inc_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(inc.run["mode"] == "incremental", "{}", inc.run);
    anyhow::ensure!(count(&inc, "updated_count") as usize == persons / 100, "incremental: {}", inc.run);

    let mut r = BenchReport::new("lenos");
    r.parameter("register_requests", requests as f64)
        .parameter("sandbox_latency_ms", LATENCY_MS as f64)
        .parameter("persons", persons as f64)
        .parameter("changed", (persons / 100) as f64)
        .figure("register_overhead_p50_ms", pct(&overhead_ms, 0.50), "ms", None)
        .figure("register_overhead_p99_ms", pct(&overhead_ms, 0.99), "ms", Some(Goal::AtMost(5.0)))
        .figure("register_overhead_max_ms", pct(&overhead_ms, 1.0), "ms", None)
        .figure("register_lenos_call_p50_ms", pct(&lenos_ms, 0.50), "ms", None)
        .figure("full_person_pull_seconds", full_secs, "s", None)
        .figure("full_person_requests", count(&full, "requests") as f64, "requests", None)
        .figure("incremental_person_requests", count(&inc, "requests") as f64, "requests", None)
        .figure("incremental_person_seconds", inc_secs, "s", None);
    r.write()?;
    let missed = r.missed();
    if !missed.is_empty() {
        println!("goals missed: {}", missed.join("; "));
    }
    Ok(())
}
