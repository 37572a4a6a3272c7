//! `bench-leads`: 10,000 leads (1,000 under `BENCH_QUICK=1`) across 50 integrations (Captorra,
//! ICE and IntakeDesk in turn) against the sandbox's intake systems answering after 50 ms, with
//! 8 requests in flight per vendor: leads delivered per second against the bound those limits
//! set (3 vendors × 8 / 50 ms = 480 leads/s), and the platform's own time per lead (each lead's
//! handling minus its HTTP attempt). 40 leads are handled at once, as four Lambda invocations of
//! ten-message batches would. Figures go to `target/bench/leads.json` beside a table.
//! Needs the stack: run through `make bench`.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use integration_tests::bench_report::{self, BenchReport, Goal};
use integration_tests::{TestDb, aws};
use platform_aws::SecretsCache;
use platform_leads::{Leads, Settings};
use vendor_sandbox::{Sandbox, fixtures};

const LATENCY_MS: u64 = 50;
const PER_VENDOR: usize = 8;
const VENDORS: usize = 3;
const INTEGRATIONS: usize = 50;
const IN_FLIGHT: usize = 40;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = bench_report::size(10_000);
    let db = TestDb::new().await;
    let sandbox = Sandbox::start_local().await?;
    let mut fixture = fixtures::leads_demo_fixture();
    fixture.switches.latency_ms = LATENCY_MS;
    sandbox.load_leads(fixture).await;
    let sdk = aws().await;
    let url = &sandbox.url;
    let (captorra_id, referrer) = fixtures::DEMO_CAPTORRA;
    let ice = fixtures::DEMO_ICE_REFERRER;
    db.exec(&format!(
        "INSERT INTO leads.client (id, name, contact_email) SELECT 'c' || i, 'Client ' || i, 'c' || i || '@example.org' FROM generate_series(0, {last}) i;
         INSERT INTO leads.lander (id, name, client_id) SELECT 'l' || i, 'Lander ' || i, 'c' || i FROM generate_series(0, {last}) i;
         INSERT INTO leads.integration (id, lander_id, client_id, parser, endpoint, mapping, constants, options, contact_email, state)
         SELECT 'i' || i, 'l' || i, 'c' || i, (ARRAY['captorra', 'ice', 'intakedesk'])[1 + i % 3],
                (ARRAY['{url}/api/captorraapi/create', '{url}/api/iceapi/create', '{url}/intakedesk/bench'])[1 + i % 3],
                '{{\"First\": \"first_name\", \"Last\": \"last_name\", \"Primary\": {{\"field\": \"phone\", \"transform\": \"digits\"}}, \"ID\": \"lead_id\"}}',
                (ARRAY['{{\"CaptorraId\": \"{captorra_id}\", \"Referrer\": \"{referrer}\"}}', '{{\"Referrer\": \"{ice}\"}}', '{{}}'])[1 + i % 3]::jsonb,
                '{{}}', 'c' || i || '@example.org', 'ready'
           FROM generate_series(0, {last}) i;
         INSERT INTO leads.lead (lander_id, source, source_id, first_name, last_name, phone, fields)
         SELECT 'l' || (i % {INTEGRATIONS}), 'endpoint', 'b' || i, 'First' || i, 'Last' || i, '(555) 010-' || lpad((i % 10000)::text, 4, '0'), '{{}}'
           FROM generate_series(1, {n}) i;",
        last = INTEGRATIONS - 1
    ))
    .await;
    let leads = Leads::new(
        db.warehouse.clone(),
        SecretsCache::new(aws_sdk_secretsmanager::Client::new(&sdk), Duration::from_secs(600)),
        None,
        None,
        None,
        Settings {
            queue_url: None,
            endpoint_keys_secret: None,
            timeout: Duration::from_secs(10),
            claim: Duration::from_secs(120),
            email_from: None,
            bucket: None,
            team_email: None,
            vendor_concurrency: PER_VENDOR,
            secret_prefix: None,
        },
    )?;
    let ids: Vec<i64> = db.rows("SELECT id FROM leads.lead ORDER BY id").await.iter().map(|r| r.get(0)).collect();

    let start = Instant::now();
    let handled: Vec<anyhow::Result<f64>> = futures_util::stream::iter(ids)
        .map(|id| {
            let leads = &leads;
            async move {
                let t = Instant::now();
                let out = leads.deliver_lead(id).await?;
                anyhow::ensure!(out.len() == 1, "lead {id}: {out:?}");
                Ok(t.elapsed().as_secs_f64() * 1000.0)
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let wall = start.elapsed().as_secs_f64();
    let handled_ms: Vec<f64> = handled.into_iter().collect::<anyhow::Result<_>>()?;
    let delivered: i64 = db.scalar("SELECT count(*) FROM leads.delivery WHERE status = 'delivered'").await;
    anyhow::ensure!(delivered as usize == n, "delivered {delivered} of {n}");
    let http_ms: f64 = db.scalar("SELECT sum(ms)::float8 FROM leads.delivery_attempt").await;
    let own_ms = (handled_ms.iter().sum::<f64>() - http_ms) / n as f64;
    let received = sandbox.received_leads().await.len();
    anyhow::ensure!(received == n, "the sandbox received {received} posts for {n} leads");

    let rate = n as f64 / wall;
    let bound = (VENDORS * PER_VENDOR) as f64 / (LATENCY_MS as f64 / 1000.0);
    let mut r = BenchReport::new("leads");
    r.parameter("leads", n as f64)
        .parameter("integrations", INTEGRATIONS as f64)
        .parameter("vendors", VENDORS as f64)
        .parameter("per_vendor_concurrency", PER_VENDOR as f64)
        .parameter("vendor_latency_ms", LATENCY_MS as f64)
        .parameter("leads_in_flight", IN_FLIGHT as f64)
        .figure("leads_per_second", rate, "leads/s", None)
        .figure("concurrency_bound_per_second", bound, "leads/s", None)
        .figure("ratio_to_bound", rate / bound, "", Some(Goal::AtLeast(0.9)))
        .figure("platform_ms_per_lead", own_ms, "ms", None)
        .figure("seconds", wall, "s", None);
    r.write()?;
    let missed = r.missed();
    if !missed.is_empty() {
        println!("goals missed: {}", missed.join("; "));
    }
    Ok(())
}
