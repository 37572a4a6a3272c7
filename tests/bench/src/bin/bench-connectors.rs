//! `bench-connectors`: the Aventri connector on 50,000 attendees (5,000 under `BENCH_QUICK=1`).
//!
//! 1. A full pull of the participants stream at the account's production pacing (98 % of the
//!    limit the sandbox enforces, 12,000 requests/minute): its request rate as a share of that limit.
//! 2. 1 % of the attendees change after that pull, and 0.5 % had changed within the day before
//!    it (the look-back re-reads them): the incremental pull's requests against the bound
//!    "pages holding changed or looked-back records + 2" (authorisation and end of list).
//! 3. The database step alone: the same attendees, transformed as the engine does, upserted in
//!    the engine's 1,000-row pages (one transaction each) into a second connection: created,
//!    unchanged and changed passes.
//!
//! Figures go to `target/bench/connectors.json` beside a table. Needs the stack
//! (`DATABASE_URL`, `AWS_ENDPOINT_URL`): run through `make bench`.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{Duration, Utc};
use integration_tests::bench_report::{self, BenchReport, Goal};
use integration_tests::connector_support::{CONNECTION, ConnectorHarness, count};
use platform_connectors::store;
use platform_connectors::{
    records::{self, Outcome, Row},
    settings::ConnectionSettings,
};
use serde_json::{Value, json};
use vendor_sandbox::fixtures::{self, AVENTRI_EVENT};

/// The sandbox's and the client's rate here. Each attendee of a full pull costs one detail call
/// (`getAttendee`: the list carries only id, name and e-mail), so a full pull at Aventri's own
/// 400 a minute takes `requests / 400` minutes, which the report projects; the benchmark runs at
/// a higher rate to measure the client's pacing and overhead in minutes, not hours.
const LIMIT_PER_MINUTE: f64 = 12_000.0;
const PAGE: usize = 1000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let n = bench_report::size(50_000);
    let changed_n = n / 100;
    let looked_back_n = n / 200;
    let provider = platform_connectors::provider("aventri").expect("the aventri manifest");
    let mut fixture = fixtures::aventri_many(n);
    fixture.rate_per_minute = LIMIT_PER_MINUTE as usize;
    // Records modified within the day before the first pull: the look-back reads them again.
    let recent = (Utc::now() - Duration::hours(6)).format("%Y-%m-%d %H:%M:%S").to_string();
    for a in fixture.events[0].attendees.iter_mut().skip(50).step_by(200).take(looked_back_n) {
        a["lastmodified"] = json!(recent);
    }
    let attendees = fixture.events[0].attendees.clone();
    // The account's limit is the sandbox's; the pacing keeps to it times the manifest's margin.
    let paced = provider.pacing_rate(Some(LIMIT_PER_MINUTE));
    let h = ConnectorHarness::new(fixture, json!({"rate_per_minute": LIMIT_PER_MINUTE})).await;
    // Participants alone, without the photo endpoints.
    let secret = integration_tests::new_secret(
        &h.sdk,
        &json!({"endPoint": h.sandbox.aventri_endpoint(), "accountid": fixtures::AVENTRI_ACCOUNT,
                "key": fixtures::AVENTRI_KEY, "eventid": AVENTRI_EVENT}),
    )
    .await;
    h.db.exec(&format!(
        "UPDATE connector.stream SET enabled = (stream = 'participants');
         UPDATE connector.connection SET secret_id = '{secret}'"
    ))
    .await;

    // 1. Full pull at production pacing.
    eprintln!("full pull of {n} attendees at {paced} requests/minute");
    let t = Instant::now();
    let full = h.pull("participants").await;
    let full_secs = t.elapsed().as_secs_f64();
    let full_requests = count(&full, "requests") as f64;
    let throttled = h.sandbox.requests().await.iter().filter(|r| r.status == 429).count();
    anyhow::ensure!(count(&full, "created_count") as usize == n, "full pull: {}", full.run);
    // Requests are spaced: n requests span n - 1 intervals.
    let per_minute = (full_requests - 1.0) / (full_secs / 60.0);

    // 2. 1 % change; the incremental pull.
    let now = Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let changed: Vec<Value> = attendees
        .iter()
        .step_by(100)
        .take(changed_n)
        .map(|a| {
            let mut a = a.clone();
            a["registrationstatus"] = json!("Attended");
            a["lastmodified"] = json!(now);
            a
        })
        .collect();
    h.sandbox.state.aventri.lock().await.upsert(AVENTRI_EVENT, "attendees", changed);
    eprintln!("incremental pull ({changed_n} changed, {looked_back_n} looked back)");
    let t = Instant::now();
    let inc = h.pull("participants").await;
    let inc_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(inc.run["mode"] == "incremental", "second pull: {}", inc.run);
    anyhow::ensure!(count(&inc, "updated_count") as usize == changed_n, "incremental: {}", inc.run);
    let inc_requests = count(&inc, "requests") as f64;
    // The list pages, and one detail call per record listed.
    let bound = ((changed_n + looked_back_n).div_ceil(PAGE) + changed_n + looked_back_n) as f64 + 2.0;

    // 3. The database step alone, into a second connection.
    eprintln!("database step");
    h.db.exec(&format!(
        "INSERT INTO connector.connection (name, provider, secret_id, settings)
         SELECT 'bench-db', provider, secret_id, settings FROM connector.connection WHERE name = '{CONNECTION}'"
    ))
    .await;
    let spec = provider.stream("participants").expect("participants");
    let map = records::mapping(spec, &json!({}))?;
    let rules = ConnectionSettings::default();
    let t = Instant::now();
    let rows: Vec<Row> = attendees
        .iter()
        .filter_map(|a| match records::transform(spec, &map, &rules, a.clone()) {
            Outcome::Row(r) => Some(r),
            _ => None,
        })
        .collect();
    let transform_per_second = rows.len() as f64 / t.elapsed().as_secs_f64();
    let created = db_pass(&h, spec.target, &rows).await?;
    let unchanged = db_pass(&h, spec.target, &rows).await?;
    let edited: Vec<Row> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.fields.insert("bench_edit".into(), json!(1));
            r
        })
        .collect();
    let updated = db_pass(&h, spec.target, &edited).await?;
    anyhow::ensure!(
        (created.1.get("created"), unchanged.1.get("unchanged"), updated.1.get("updated"))
            == (Some(&rows.len()), Some(&rows.len()), Some(&rows.len())),
        "db passes: {created:?} {unchanged:?} {updated:?}"
    );

    let mut r = BenchReport::new("connectors");
    r.parameter("attendees", n as f64)
        .parameter("changed", changed_n as f64)
        .parameter("looked_back", looked_back_n as f64)
        .parameter("page_limit", PAGE as f64)
        .parameter("rate_limit_per_minute", LIMIT_PER_MINUTE)
        .parameter("paced_per_minute", paced)
        .figure("incremental_requests", inc_requests, "requests", Some(Goal::AtMost(bound)))
        .figure("incremental_request_bound", bound, "requests", None)
        .figure("incremental_seconds", inc_secs, "s", None)
        .figure("full_pull_requests", full_requests, "requests", None)
        .figure("full_pull_seconds", full_secs, "s", None)
        .figure("full_pull_minutes_at_aventri_rate", full_requests / provider.rate_per_minute, "min", None)
        .figure("full_pull_requests_per_minute", per_minute, "requests/min", None)
        .figure("full_pull_rate_share", per_minute / LIMIT_PER_MINUTE, "of the limit", Some(Goal::AtLeast(0.9)))
        .figure("full_pull_429s", throttled as f64, "responses", Some(Goal::AtMost(0.0)))
        .figure("db_records_per_second", created.0, "records/s", Some(Goal::AtLeast(20_000.0)))
        .figure("db_unchanged_records_per_second", unchanged.0, "records/s", None)
        .figure("db_changed_records_per_second", updated.0, "records/s", None)
        .figure("transform_records_per_second", transform_per_second, "records/s", None);
    r.write()?;
    let missed = r.missed();
    if !missed.is_empty() {
        println!("goals missed: {}", missed.join("; "));
    }
    Ok(())
}

/// Upserts `rows` in the engine's pages, one transaction each; records per second and counts.
async fn db_pass(
    h: &ConnectorHarness,
    target: platform_connectors::description::Target,
    rows: &[Row],
) -> anyhow::Result<(f64, BTreeMap<&'static str, usize>)> {
    let run_id = uuid::Uuid::new_v4();
    let mut conn = h.db.warehouse.conn().await?;
    let mut counts = BTreeMap::new();
    let t = Instant::now();
    for page in rows.chunks(PAGE) {
        let tx = store::client(&mut conn).transaction().await?;
        let w = store::upsert(&tx, target, "bench-db", run_id, page).await?;
        tx.commit().await?;
        *counts.entry("created").or_default() += w.created as usize;
        *counts.entry("updated").or_default() += w.updated as usize;
        *counts.entry("unchanged").or_default() += w.unchanged as usize;
    }
    Ok((rows.len() as f64 / t.elapsed().as_secs_f64(), counts))
}
