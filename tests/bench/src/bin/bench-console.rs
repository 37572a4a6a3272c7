//! bench-console: every page of the operator console timed on a warehouse of real size (100,000
//! registrations, 50,000 organisations, half of them unreviewed, 1,000,000 leads; a tenth with
//! BENCH_QUICK=1). Each page is asked 3 times to warm up, then 20 times; its p95 is the time
//! from request to the whole answer on loopback (an upper bound of the server's time). Goal:
//! every page's p95 ≤ 100 ms. Today's picture is read at most once a minute per container; the
//! first read is its own figure (`today_first_read_ms`). Figures in `target/bench/console.json`.

use std::time::Instant;

use integration_tests::{
    bench_report::{BenchReport, Goal, size},
    console_support::ConsoleHarness,
};

fn p95(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[((ms.len() as f64 * 0.95).ceil() as usize).saturating_sub(1).min(ms.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (registrations, organisations, leads) = (size(100_000), size(50_000), size(1_000_000));
    let h = ConsoleHarness::start().await;
    let started = Instant::now();
    h.db.exec(&format!(
        "INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed)
         SELECT 'Company ' || g, CASE WHEN g % 2 = 0 THEN 'Company ' || g || ' Inc' END, g % 2 = 0
           FROM generate_series(1, {organisations}) g;
         INSERT INTO integration.organization_name (original_organization, exchange_organization_id, suggested_clean, suggestion_score, alternatives)
         SELECT original_organization, id, original_organization || ' Inc', 0.8, '[{{\"clean\": \"Other Co\", \"score\": 0.5}}]'
           FROM conferences_events.exchange_organizations WHERE original_organization LIKE 'Company %';
         INSERT INTO conferences_events.exchange_registration
             (form_id, registration_id, first_name, last_name, organization, email, registration_type, approval_status, registration_status)
         SELECT '5095980', 'R-' || g, 'first' || (g % 997), 'last' || (g % 5003), 'Company ' || (g % {organisations} + 1),
                'user' || g || '@example.com', 'Supplier', CASE WHEN g % 10 = 0 THEN 'Pending' ELSE 'Approved' END, 'Active'
           FROM generate_series(1, {registrations}) g;
         INSERT INTO integration.meetmax_release (registration_id) SELECT 'R-' || g FROM generate_series(1, {registrations}, 3) g;
         INSERT INTO integration.meetmax_sync (registration_id, state, meetmax_id)
         SELECT 'R-' || g, CASE WHEN g % 30 = 1 THEN 'failed' ELSE 'synced' END, 'M' || g FROM generate_series(1, {registrations}, 3) g;
         INSERT INTO leads.lead (lander_id, source, source_id, received_at, first_name, last_name, email, phone, fields)
         SELECT 'demo-accident-lp', 'endpoint', 'L-' || g, now() - (g || ' seconds')::interval, 'Lead', 'Person' || g,
                'lead' || g || '@example.com', '(555) ' || lpad(g::text, 7, '0'), '{{\"case\": \"auto\"}}'
           FROM generate_series(1, {leads}) g;
         INSERT INTO leads.delivery (lead_id, integration_id, status, attempts, response_status, reason, delivered_at)
         SELECT id, 'demo-captorra', CASE WHEN id % 100 = 0 THEN 'rejected' ELSE 'delivered' END, 1,
                CASE WHEN id % 100 = 0 THEN 400 ELSE 200 END, CASE WHEN id % 100 = 0 THEN 'HTTP 400: Referrer unknown' END,
                CASE WHEN id % 100 <> 0 THEN received_at END
           FROM leads.lead WHERE lander_id = 'demo-accident-lp';
         INSERT INTO leads.delivery_attempt (lead_id, integration_id, at, response_status, outcome, response_body, ms)
         SELECT lead_id, integration_id, updated_at, response_status, status, '{{\"success\": true}}', 150
           FROM leads.delivery;
         INSERT INTO connector.participant (connection, fp_ext_id, fp_status, raw, fields, last_seen, changed_by_run)
         SELECT 'demo-aventri', 'P-' || g, 'active', '{{}}', jsonb_build_object('first_name', 'First' || g),
                now() - CASE WHEN g % 2 = 0 THEN interval '2 days' ELSE interval '0' END, gen_random_uuid()
           FROM generate_series(1, {organisations}) g;
         INSERT INTO connector.stream_run (run_id, connection, stream, mode, trigger, status, started_at, finished_at, read_count)
         SELECT gen_random_uuid(), 'demo-aventri', (ARRAY['participants', 'sessions', 'presenters'])[g % 3 + 1],
                CASE WHEN g % 10 = 0 THEN 'full' ELSE 'incremental' END, 'sqs', 'succeeded',
                now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval + interval '20 seconds', 100
           FROM generate_series(1, 20000) g;
         INSERT INTO connector.pending_removal (connection, stream, run_id, pull_started_at, would_remove, of_rows)
         VALUES ('demo-aventri', 'participants', gen_random_uuid(), now() - interval '1 hour', {organisations} / 2, {organisations});
         INSERT INTO leads.export (subscription_id, report_date, status, cutoff, row_count, completed_at, emailed_at)
         SELECT s, current_date - g, 'done', now() - (g || ' days')::interval, 1000, now(), now()
           FROM unnest(ARRAY['demo-slip-generic', 'demo-accident-custom']) s, generate_series(1, 365) g;
         INSERT INTO integration.run (run_id, function_name, trigger, status, started_at, finished_at, notes)
         SELECT gen_random_uuid(), 'formstack-intake', 'schedule', CASE WHEN g % 50 = 0 THEN 'failed' ELSE 'succeeded' END,
                now() - (g || ' minutes')::interval, now(), '[\"a note\"]'
           FROM generate_series(1, 20000) g;
         ANALYZE;"
    ))
    .await;
    // As autovacuum leaves a warehouse in steady state (visibility map set: index-only scans).
    h.db.exec("VACUUM ANALYZE").await;
    let seed_seconds = started.elapsed().as_secs_f64();
    let mut operator = h.sign_in("operator@example.com").await;
    let today = chrono::Utc::now().date_naive();
    let middle_lead: i64 = h.db.scalar(&format!("SELECT id FROM leads.lead WHERE source_id = 'L-{}'", leads / 2)).await;
    let middle = registrations / 2;
    let pages = [
        ("today", "/".to_owned()),
        ("trail_search_name", "/trail?q=last42".to_owned()),
        ("trail_search_email", format!("/trail?q=user{middle}%40example.com")),
        ("trail_search_company", "/trail?q=company+123".to_owned()),
        ("trail_standing", "/trail?standing=awaiting_review".to_owned()),
        ("trail_standing_rare", "/trail?standing=failed".to_owned()),
        ("trail", format!("/trail/R-{middle}")),
        ("review", "/review".to_owned()),
        ("review_page_100", "/review?page=100".to_owned()),
        ("queues", "/queues".to_owned()),
        ("runs", "/runs".to_owned()),
        ("audit", "/audit".to_owned()),
        ("connectors", "/connectors".to_owned()),
        ("connection", "/connectors/demo-aventri".to_owned()),
        ("connection_progress", "/connectors/demo-aventri/progress".to_owned()),
        ("removal_preview", "/connectors/demo-aventri/streams/participants/removal".to_owned()),
        ("leads", "/leads".to_owned()),
        ("lead_search_email", format!("/leads?q=lead{}%40example.com", leads / 2)),
        ("lead_search_phone", format!("/leads?q=555-{:07}", leads / 2)),
        ("lead_search_day", format!("/leads?lander=demo-accident-lp&from={today}&to={today}")),
        ("lead_timeline", format!("/leads/{middle_lead}")),
        ("integration", "/leads/integrations/demo-captorra".to_owned()),
        ("redeliver_preview", "/leads/integrations/demo-captorra/redeliver".to_owned()),
        ("exports", "/exports".to_owned()),
        ("subscription_custom", "/exports/demo-accident-custom".to_owned()),
        ("subscription_generic", "/exports/demo-slip-generic".to_owned()),
    ];
    let mut report = BenchReport::new("console");
    report
        .parameter("registrations", registrations as f64)
        .parameter("organisations", organisations as f64)
        .parameter("leads", leads as f64)
        .figure("seed_seconds", seed_seconds, "s", None);
    // Today's picture is read at most once a minute per container (in the background once one
    // is held): the first answer of a container reads it, the figure of that read.
    let t = Instant::now();
    let first = operator.get("/").await;
    anyhow::ensure!(first.status == 200, "/: {}", first.status);
    report.figure("today_first_read_ms", t.elapsed().as_secs_f64() * 1000.0, "ms", None);
    let mut worst: f64 = 0.0;
    for (name, path) in &pages {
        for _ in 0..3 {
            let answer = operator.get(path).await;
            anyhow::ensure!(answer.status == 200, "{path}: {} {}", answer.status, answer.body);
        }
        let mut times = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let answer = operator.get(path).await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(answer.status == 200, "{path}: {}", answer.status);
        }
        let p = p95(times);
        worst = worst.max(p);
        report.figure(&format!("{name}_p95_ms"), p, "ms", None);
    }
    report.figure("page_p95_ms_max", worst, "ms", Some(Goal::AtMost(100.0)));
    report.write()?;
    println!("{}", report.table());
    let missed = report.missed();
    anyhow::ensure!(missed.is_empty(), "missed: {missed:?}");
    Ok(())
}
