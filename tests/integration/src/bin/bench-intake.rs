//! `make bench`: 50,000 submissions from the vendor sandbox into the warehouse.
//!
//! Reports submissions per second for (1) the whole scheduled pull (HTTP from the sandbox,
//! parsing, mapping, warehouse writes, outbox, SQS), and (2) the database step alone: the same
//! submissions ingested straight into a fresh database in the pull's commit-sized batches, on
//! one connection and on two. Needs the stack (`infra/local/stack.sh exec`); `--n N` changes the
//! count, `--batch N` the rows per transaction.

use std::time::Instant;

use chrono::NaiveDateTime;
use integration_tests::{Harness, SEED_DEMO_SQL, TestDb};
use platform_domain::submission::Submission;
use platform_intake::ingest::{self, Incoming};
use platform_warehouse::raw::Source;
use vendor_sandbox::fixtures;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = match args.iter().position(|a| a == "--n") {
        Some(i) => args[i + 1].parse()?,
        None => 50_000,
    };
    let batch: usize = match args.iter().position(|a| a == "--batch") {
        Some(i) => args[i + 1].parse()?,
        None => 1000,
    };
    let start = NaiveDateTime::parse_from_str("2026-01-01 00:00:00", "%Y-%m-%d %H:%M:%S")?;
    let subs = fixtures::generate(n, 1_800_000_000, start);

    // 1. The whole pull.
    // One run may spend the whole day's budget (500 pages), as a backfill would.
    let h = Harness::new(&[("PULLS_PER_DAY", "1")]).await;
    let mut fixture = fixtures::demo_fixture();
    fixture.forms[0].submissions = subs.clone();
    h.sandbox.load_formstack(fixture).await;
    let t = Instant::now();
    let report = h.intake.pull("bench", false).await?;
    let pull_secs = t.elapsed().as_secs_f64();
    let landed: i64 = h.db.scalar("SELECT count(*) FROM conferences_events.exchange_registration").await;
    anyhow::ensure!(landed as usize == n, "pull landed {landed} of {n}");
    println!(
        "whole pull:    {n} submissions in {pull_secs:.2} s = {:.0} submissions/s ({} Formstack calls, {} ids sent to SQS)",
        n as f64 / pull_secs,
        report.calls,
        report.published
    );

    // 2. The database step alone: the same records, already fetched, ingested in `--batch`-row
    //    transactions (default 1,000, the pull's PULL_COMMIT_ROWS).
    let records: Vec<serde_json::Value> = {
        let fs = serde_json::json!({"submissions": subs.iter().map(|s| serde_json::json!({
            "id": s.id, "timestamp": s.timestamp, "form": fixtures::DEMO_FORM_ID,
            "data": s.data.iter().map(|(k, v)| (k.clone(), serde_json::json!({"field": k, "value": v}))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>()});
        fs["submissions"].as_array().unwrap().clone()
    };
    let mut items: Vec<Incoming> = records
        .iter()
        .map(|r| {
            let sub = Submission::from_api(fixtures::DEMO_FORM_ID, r).expect("generated records parse");
            Incoming::from_api(sub, r)
        })
        .collect();
    let mut batches: Vec<Vec<Incoming>> = Vec::new();
    while !items.is_empty() {
        let rest = items.split_off(items.len().min(batch));
        batches.push(std::mem::replace(&mut items, rest));
    }
    let batches2 = batches.clone();
    let db = TestDb::new().await;
    db.exec(SEED_DEMO_SQL).await;
    let mut conn = db.warehouse.conn().await?;
    let run_id = uuid::Uuid::now_v7();
    let t = Instant::now();
    let mut inserted = 0;
    for batch in batches {
        let r = ingest::ingest(&mut conn, Source::Pull, false, run_id, batch, None).await?;
        inserted += r.inserted;
    }
    let db_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(inserted as usize == n, "database step inserted {inserted} of {n}");
    println!(
        "database step: {n} submissions in {db_secs:.2} s = {:.0} submissions/s (one connection, {batch}-row transactions)",
        n as f64 / db_secs
    );

    // 3. The database step on two connections at once (two pulls, or two forms, in parallel).
    let db2 = TestDb::new().await;
    db2.exec(SEED_DEMO_SQL).await;
    let (mut a, mut b) = (db2.warehouse.conn().await?, db2.warehouse.conn().await?);
    let odd: Vec<Vec<Incoming>> = batches2.iter().skip(1).step_by(2).cloned().collect();
    let even: Vec<Vec<Incoming>> = batches2.into_iter().step_by(2).collect();
    let t = Instant::now();
    let (x, y) = tokio::join!(ingest_all(&mut a, run_id, even), ingest_all(&mut b, run_id, odd));
    let both = x? + y?;
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(both as usize == n, "two connections inserted {both} of {n}");
    println!("database step: {n} submissions in {secs:.2} s = {:.0} submissions/s (two connections)", n as f64 / secs);
    Ok(())
}

async fn ingest_all(
    conn: &mut platform_warehouse::Connection,
    run_id: uuid::Uuid,
    batches: Vec<Vec<Incoming>>,
) -> anyhow::Result<u64> {
    let mut n = 0;
    for batch in batches {
        n += ingest::ingest(conn, Source::Pull, false, run_id, batch, None).await?.inserted;
    }
    Ok(n)
}
