//! `make bench`: 50,000 submissions (5,000 under `BENCH_QUICK=1`) from the vendor sandbox into
//! the warehouse.
//!
//! Reports submissions per second for (1) the whole scheduled pull (HTTP from the sandbox,
//! parsing, mapping, warehouse writes, outbox, SQS), (2) the database step alone: the same
//! submissions ingested straight into a fresh database in the pull's commit-sized batches, on
//! one connection, on one connection to a database 1 ms away (through `peers/lag_proxy.py`) and on
//! two, and (3) beside it, in the same run and on the same records, the
//! Python peer the platform replaces (`tests/bench/peers/intake_peer.py`: psycopg, the raw
//! record and an `INSERT … ON CONFLICT` upsert per submission, row by row and through
//! `executemany`). Figures to `target/bench/intake.json` beside a table. Needs the stack and the
//! peers' Python packages: run through `make bench`; `--n N` changes the count, `--batch N` the
//! rows per transaction.

use std::{io::Write as _, process::Command, time::Instant};

use chrono::NaiveDateTime;
use integration_tests::bench_report::{self, BenchReport, Goal};
use integration_tests::{Harness, SEED_DEMO_SQL, TestDb};
use platform_domain::submission::Submission;
use platform_intake::ingest::{self, Incoming};
use platform_warehouse::raw::Source;
use vendor_sandbox::fixtures;

/// formstack-intake's allocator (its `main.rs`), so that the database step runs as in the function.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = match args.iter().position(|a| a == "--n") {
        Some(i) => args[i + 1].parse()?,
        None => bench_report::size(50_000),
    };
    let batch: usize = match args.iter().position(|a| a == "--batch") {
        Some(i) => args[i + 1].parse()?,
        None => 1000,
    };
    // `--db-only`: the database step on one connection alone (for profiling it).
    let db_only = args.iter().any(|a| a == "--db-only");
    let start = NaiveDateTime::parse_from_str("2026-01-01 00:00:00", "%Y-%m-%d %H:%M:%S")?;
    let subs = fixtures::generate(n, 1_800_000_000, start);

    // 1. The whole pull.
    let pull_secs = if db_only { f64::NAN } else { whole_pull(&subs).await? };

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
    if db_only {
        return Ok(());
    }

    // 2b. The same on one connection to a database 1 ms away (a round trip across a network, as
    //     to RDS from Lambda): the local proxy `peers/lag_proxy.py` holds every chunk 0.5 ms each way.
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| ".venv/bin/python".into());
    let away = one_connection_away(&python, batches2.clone(), run_id).await?;
    println!("database step: {n} submissions at {away:.0} submissions/s (one connection, 1 ms round trip)");

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
    let two = n as f64 / secs;

    // 4. The Python peer on the same records, row by row and through executemany.
    let path = std::env::temp_dir().join(format!("bench-intake-{}.jsonl", std::process::id()));
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for r in &records {
            writeln!(f, "{r}")?;
        }
    }
    let mut peer_rates = Vec::new();
    for mode in ["row", "many"] {
        let pdb = TestDb::new().await;
        pdb.exec(SEED_DEMO_SQL).await;
        let t = Instant::now();
        let out = Command::new(&python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/intake_peer.py"))
            .env("PEER_DSN", pdb.dsn())
            .env("PEER_RECORDS", &path)
            .env("PEER_FORM", fixtures::DEMO_FORM_ID)
            .env("PEER_MODE", mode)
            .env("PEER_BATCH", batch.to_string())
            .output()?;
        let secs = t.elapsed().as_secs_f64();
        anyhow::ensure!(
            out.status.success(),
            "the Python peer ({mode}) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let landed: i64 = pdb.scalar("SELECT count(*) FROM conferences_events.exchange_registration").await;
        anyhow::ensure!(landed as usize == n, "the Python peer ({mode}) landed {landed} of {n}");
        println!("Python peer ({mode}): {n} submissions in {secs:.2} s = {:.0} submissions/s", n as f64 / secs);
        peer_rates.push(n as f64 / secs);
    }
    std::fs::remove_file(&path)?;
    let one = n as f64 / db_secs;
    let best = peer_rates.iter().copied().fold(0.0, f64::max);
    let mut report = BenchReport::new("intake");
    report
        .parameter("submissions", n as f64)
        .parameter("batch_rows", batch as f64)
        .figure("whole_pull_per_second", n as f64 / pull_secs, "submissions/s", None)
        .figure("db_step_per_second_one_connection", one, "submissions/s", Some(Goal::AtLeast(50_000.0)))
        .figure("db_step_per_second_two_connections", two, "submissions/s", None)
        .figure("db_step_per_second_one_connection_1ms_away", away, "submissions/s", None)
        .figure("python_row_by_row_per_second", peer_rates[0], "submissions/s", None)
        .figure("python_executemany_per_second", peer_rates[1], "submissions/s", None)
        .figure("python_peer_best_per_second", best, "submissions/s", None)
        .figure("ratio_to_python", one / best, "x", Some(Goal::AtLeast(10.0)));
    report.write()?;
    Ok(())
}

/// The whole scheduled pull of `subs` from the sandbox; returns its seconds.
async fn whole_pull(subs: &[vendor_sandbox::formstack::StoredSubmission]) -> anyhow::Result<f64> {
    let n = subs.len();
    // One run may spend the whole day's budget (500 pages), as a backfill would.
    let h = Harness::new(&[("PULLS_PER_DAY", "1")]).await;
    let mut fixture = fixtures::demo_fixture();
    fixture.forms[0].submissions = subs.to_vec();
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
    Ok(pull_secs)
}

/// The database step on one connection through `peers/lag_proxy.py` (0.5 ms each way) to a fresh
/// database; returns submissions per second.
async fn one_connection_away(python: &str, batches: Vec<Vec<Incoming>>, run_id: uuid::Uuid) -> anyhow::Result<f64> {
    use std::io::BufRead as _;
    let n: usize = batches.iter().map(Vec::len).sum();
    let db = TestDb::new().await;
    db.exec(SEED_DEMO_SQL).await;
    let (host, port) = db.host_port();
    // Stopped when dropped, whichever way this function ends.
    struct Proxy(std::process::Child);
    impl Drop for Proxy {
        fn drop(&mut self) {
            self.0.kill().ok();
            self.0.wait().ok();
        }
    }
    let mut proxy = Proxy(
        Command::new(python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/lag_proxy.py"))
            .args([host.as_str(), &port.to_string()])
            .env("DELAY", "0.0005")
            .stdout(std::process::Stdio::piped())
            .spawn()?,
    );
    let mut line = String::new();
    std::io::BufReader::new(proxy.0.stdout.take().expect("piped")).read_line(&mut line)?;
    let proxy_port: u16 = line.trim().parse()?;
    let settings = platform_warehouse::DbSettings::from_url(&db.dsn_via("127.0.0.1", proxy_port))?.with_pool_size(1);
    let warehouse = platform_warehouse::Warehouse::new(&settings)?;
    let mut conn = warehouse.conn().await?;
    let t = Instant::now();
    let inserted = ingest_all(&mut conn, run_id, batches).await?;
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(inserted as usize == n, "one connection 1 ms away inserted {inserted} of {n}");
    Ok(n as f64 / secs)
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
