//! `bench-meetmax [registrations] [companies]`: one meetmax-sync run of 1,000 released supplier
//! registrations across 150 companies (defaults) against the sandbox's MeetMax answering after
//! 50 ms with a 20 requests/second token bucket (burst 5) and the account configured at 20
//! requests/second. Reports the wall time against the floor (calls ÷ rate) and the 429s met, and
//! beside it the originals' pacing computed from the same calls: the scripts this replaces made
//! one call at a time with a fixed sleep after each (4–5 s per call since February 2024, 1 s
//! before; `shared/vendors/docs/meetmax.md` §9), so they take calls × (sleep + latency).
//! Then adaptive pacing against a limit the account is not told (the sandbox takes 32 requests/s,
//! the account is configured at 20): a first container from the configured rate (cold), then a
//! new one from what the first kept in the warehouse (warm); the share of the limit reached and
//! the share of calls refused, over both runs.
//! Figures to `target/bench/meetmax.json` beside a table (100 registrations across 15 companies
//! under `BENCH_QUICK=1`). Needs the stack (`DATABASE_URL`, `AWS_ENDPOINT_URL`): run through
//! `make bench`.

use std::time::Instant;

use integration_tests::bench_report::{self, BenchReport, Goal};
use integration_tests::meetmax_support::{EVENT, MeetmaxHarness, test_settings};
use platform_meetmax::MeetmaxSync;
use vendor_sandbox::meetmax::{RateLimit, Switches};

const RATE: f64 = 20.0;
const LATENCY_MS: u64 = 50;
/// The limit of the adaptive part, which the account is not told (it is configured at RATE).
const HIDDEN_LIMIT: f64 = 32.0;
/// The originals' sleep per call (the lower end of their 2024 pacing).
const ORIGINAL_SLEEP_SECONDS: f64 = 4.0;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let registrations: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(bench_report::size(1000));
    let companies: usize = args.get(2).map(|a| a.parse()).transpose()?.unwrap_or(bench_report::size(150));
    let concurrency = 4;
    let h = harness(RATE, concurrency).await;
    // The known limit: a fixed rate (the configured one), without adaptive pacing.
    h.db.exec("UPDATE integration.meetmax_account SET adaptive_rate = false").await;
    seed(&h, "bench", registrations, companies).await;
    let start = Instant::now();
    let report = h.sync.run(None, "bench").await?;
    let wall = start.elapsed().as_secs_f64();

    let requests = h.sandbox.requests().await;
    let throttled = requests.iter().filter(|r| r.status == 429).count();
    let accepted = requests.len() - throttled;
    let floor = accepted as f64 / RATE;
    let records = h.sandbox.meetmax_records().await.into_iter().filter(|r| r.event_id == EVENT).count();
    println!(
        "meetmax-sync: {registrations} registrations across {companies} companies, sandbox latency {LATENCY_MS} ms, \
         limit {RATE} req/s, account rate {RATE} req/s, concurrency {concurrency}"
    );
    println!("outcomes: {:?}", report.counts());
    println!("MeetMax records in the event afterwards: {records} (one was seeded)");
    println!(
        "calls: {accepted} answered + {throttled} refused with 429; floor = {accepted} / {RATE} = {floor:.2} s; \
         wall {wall:.2} s = {:.3} x the floor",
        wall / floor
    );
    anyhow::ensure!(report.counts().get("added") == Some(&registrations), "not every registration was added");
    let original = accepted as f64 * (ORIGINAL_SLEEP_SECONDS + LATENCY_MS as f64 / 1000.0);
    let mut figures = BenchReport::new("meetmax");
    figures
        .parameter("registrations", registrations as f64)
        .parameter("companies", companies as f64)
        .parameter("rate_per_second", RATE)
        .parameter("latency_ms", LATENCY_MS as f64)
        .parameter("concurrency", concurrency as f64)
        .parameter("original_sleep_seconds", ORIGINAL_SLEEP_SECONDS)
        .figure("wall_seconds", wall, "s", None)
        .figure("floor_seconds", floor, "s", None)
        .figure("ratio_to_floor", wall / floor, "x", Some(Goal::AtMost(1.1)))
        .figure("calls", accepted as f64, "calls", None)
        .figure("refused_429", throttled as f64, "calls", None)
        .figure("original_pacing_seconds", original, "s", None)
        .figure("ratio_original_to_ours", original / wall, "x", None);

    // Adaptive pacing against a limit the account is not told: configured at RATE, the sandbox
    // takes HIDDEN_LIMIT. A first container starts from the configured rate (cold); a second
    // one, a new service over the same warehouse, starts from what the first kept (warm).
    let a = harness(HIDDEN_LIMIT, concurrency).await;
    seed(&a, "cold", registrations, companies).await;
    let cold = measure(&a, &a.sync, registrations).await?;
    let warm_sync = MeetmaxSync::new(a.sync.warehouse.clone(), a.sync.secrets.clone(), test_settings());
    seed(&a, "warm", registrations, companies).await;
    let warm = measure(&a, &warm_sync, registrations).await?;
    let share = |m: &Measured| m.accepted as f64 / m.wall / HIDDEN_LIMIT;
    let refused_share = |m: &Measured| m.refused as f64 / (m.accepted + m.refused) as f64;
    let both = Measured {
        accepted: cold.accepted + warm.accepted,
        refused: cold.refused + warm.refused,
        wall: cold.wall + warm.wall,
    };
    for (name, m) in [("cold (configured rate)", &cold), ("warm (learned rate)", &warm), ("both", &both)] {
        println!(
            "adaptive, {name}: {} answered + {} refused in {:.2} s = {:.1} req/s = {:.3} of the hidden limit {HIDDEN_LIMIT}; {:.2} % refused",
            m.accepted,
            m.refused,
            m.wall,
            m.accepted as f64 / m.wall,
            share(m),
            100.0 * refused_share(m)
        );
    }
    figures
        .parameter("adaptive_hidden_limit_per_second", HIDDEN_LIMIT)
        .parameter("adaptive_configured_per_second", RATE)
        .figure("adaptive_cold_share_of_limit", share(&cold), "x", None)
        .figure("adaptive_cold_refused_share", refused_share(&cold), "share", None)
        .figure("adaptive_warm_share_of_limit", share(&warm), "x", None)
        .figure("adaptive_share_of_limit", share(&both), "x", Some(Goal::AtLeast(0.9)))
        .figure("adaptive_refused_share", refused_share(&both), "share", Some(Goal::AtMost(0.01)));
    figures.write()?;
    Ok(())
}

/// A harness whose account is configured at RATE, against the sandbox's MeetMax answering after
/// LATENCY_MS behind a token bucket of `limit` requests/s (burst 5).
async fn harness(limit: f64, concurrency: i32) -> MeetmaxHarness {
    let h = MeetmaxHarness::with(test_settings(), RATE, concurrency).await;
    h.sandbox
        .set_meetmax_switches(Switches {
            latency_ms: LATENCY_MS,
            rate_limit: Some(RateLimit { per_second: limit, burst: 5.0 }),
            ..Switches::default()
        })
        .await;
    h
}

/// One measured run: MeetMax calls answered and refused (429), and its wall time.
struct Measured {
    accepted: usize,
    refused: usize,
    wall: f64,
}

/// Runs `sync` once over everything released and counts the sandbox's answers during the run.
async fn measure(h: &MeetmaxHarness, sync: &MeetmaxSync, registrations: usize) -> anyhow::Result<Measured> {
    let before = h.sandbox.requests().await.len();
    let start = Instant::now();
    let report = sync.run(None, "bench").await?;
    let wall = start.elapsed().as_secs_f64();
    anyhow::ensure!(report.counts().get("added") == Some(&registrations), "not every registration was added");
    let requests = h.sandbox.requests().await;
    let refused = requests[before..].iter().filter(|r| r.status == 429).count();
    Ok(Measured { accepted: requests.len() - before - refused, refused, wall })
}

/// Companies with reviewed clean names, `registrations` suppliers spread over them (ids and
/// names start with `prefix`), all released by the gate.
async fn seed(h: &MeetmaxHarness, prefix: &str, registrations: usize, companies: usize) {
    h.db.exec(&format!(
        "INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed)
         SELECT '{prefix} Supplier ' || i || ' Inc', '{prefix} Supplier ' || i, true FROM generate_series(1, {companies}) i;
         INSERT INTO conferences_events.exchange_registration
                (form_id, registration_id, first_name, last_name, organization, email, registration_type, one_one,
                 time_zone, industries, meetings, approval_status, registration_status)
         SELECT '5095980', '{prefix}-' || i, 'First' || i, 'Last' || i, '{prefix} Supplier ' || (1 + i % {companies}) || ' Inc',
                '{prefix}' || i || '@example.org', 'Supplier', 'Yes', 'Central Time',
                'Information Technology' || chr(10) || 'Facilities', 6, 'Approved', 'Active'
           FROM generate_series(1, {registrations}) i;
         INSERT INTO integration.meetmax_release (registration_id)
         SELECT registration_id FROM conferences_events.exchange_registration
          WHERE registration_id LIKE '{prefix}-%';"
    ))
    .await;
}
