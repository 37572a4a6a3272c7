//! `probe-intake-copy` (not part of `make bench`): the intake's two statements as they are (arrays
//! unnested in the statement) against binary `COPY` into temporary staging tables followed by the
//! same set-based statements reading them, one 1,000-row transaction each, alternating batch by
//! batch between two fresh databases on one connection each. Prints milliseconds per 1,000 rows
//! for the raw insert, the registration upsert and the whole transaction (the first five batches
//! are not counted). Run through the stack: `infra/local/stack.sh exec target/release/probe-intake-copy`.
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use integration_tests::{SEED_DEMO_SQL, TestDb};
use platform_domain::mapping::FlowMapping;
use platform_domain::submission::Submission;
use platform_intake::ingest::Incoming;
use platform_warehouse::{
    forms,
    raw::{self, Source, StoredRaw},
    registrations,
};
use tokio_postgres::{
    binary_copy::BinaryCopyInWriter,
    types::{ToSql, Type},
};
use vendor_sandbox::fixtures;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RAW_COPY_INSERT: &str = "INSERT INTO integration.raw_submission AS s
        (form_id, submission_id, source, content_type, raw_body, body_sha256, parsed,
         signature_verified, run_id, mapping_status, mapping_error, mapped_at, received_at)
 SELECT u.form_id, u.submission_id, 'pull', u.content_type, u.raw_body, u.body_sha256, NULL, false, $1,
        'mapped', NULL, now(), COALESCE(u.received_at, now())
   FROM staging_raw u
 ON CONFLICT (form_id, submission_id, body_sha256)
 DO UPDATE SET run_id = excluded.run_id, mapping_status = excluded.mapping_status,
               mapping_error = excluded.mapping_error, mapped_at = excluded.mapped_at
  WHERE s.mapping_status = 'pending'
 RETURNING s.id, s.form_id, s.submission_id, s.body_sha256, s.received_at";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = 30_000;
    let start = NaiveDateTime::parse_from_str("2026-01-01 00:00:00", "%Y-%m-%d %H:%M:%S")?;
    let subs = fixtures::generate(n, 1_800_000_000, start);
    let records: Vec<serde_json::Value> = subs.iter().map(|s| serde_json::json!({
        "id": s.id, "timestamp": s.timestamp, "form": fixtures::DEMO_FORM_ID,
        "data": s.data.iter().map(|(k, v)| (k.clone(), serde_json::json!({"field": k, "value": v}))).collect::<serde_json::Map<_, _>>(),
    })).collect();
    let items: Vec<Incoming> = records
        .iter()
        .map(|r| {
            let sub = Submission::from_api(fixtures::DEMO_FORM_ID, r).unwrap();
            Incoming::from_api(sub, r)
        })
        .collect();
    let dba = TestDb::new().await;
    dba.exec(SEED_DEMO_SQL).await;
    let dbb = TestDb::new().await;
    dbb.exec(SEED_DEMO_SQL).await;
    let mut ca = dba.warehouse.conn().await?;
    let mut cb = dbb.warehouse.conn().await?;
    let maps = forms::mappings(&ca, &[fixtures::DEMO_FORM_ID.to_string()]).await?;
    let Some(Ok(FlowMapping::Registration(mapping))) = maps.get(fixtures::DEMO_FORM_ID) else {
        anyhow::bail!("no mapping")
    };
    let cols = mapping.columns();
    cb.batch_execute("CREATE TEMP TABLE staging_raw (form_id text, submission_id text, content_type text, raw_body bytea, body_sha256 bytea, received_at timestamptz) ON COMMIT DELETE ROWS").await?;
    let reg_cols: Vec<String> = (0..cols.len()).map(|i| format!("c{i} text")).collect();
    cb.batch_execute(&format!("CREATE TEMP TABLE staging_reg (registration_id text, form_id text, submitted_at timestamptz, raw_id bigint, received_at timestamptz, {}) ON COMMIT DELETE ROWS", reg_cols.join(", "))).await?;
    let unnest_sql = registrations::upsert_sql(cols, true);
    let from = unnest_sql.find("WITH u AS (").unwrap();
    let to = unnest_sql.find("v AS (").unwrap();
    let copy_sql =
        format!("{}WITH u AS (SELECT * FROM staging_reg),\n         {}", &unnest_sql[..from], &unnest_sql[to..]);
    let raw_types = [Type::TEXT, Type::TEXT, Type::TEXT, Type::BYTEA, Type::BYTEA, Type::TIMESTAMPTZ];
    let mut reg_types = vec![Type::TEXT, Type::TEXT, Type::TIMESTAMPTZ, Type::INT8, Type::TIMESTAMPTZ];
    reg_types.extend(std::iter::repeat_n(Type::TEXT, cols.len()));
    let run = uuid::Uuid::now_v7();
    let (mut unnest, mut copy) = (Timings::default(), Timings::default());
    for (k, chunk) in items.chunks(1000).enumerate() {
        let raws: Vec<raw::NewRaw> = chunk.iter().map(|i| i.raw.clone()).collect();
        let rows: Vec<_> = chunk.iter().map(|i| mapping.map(&i.submission).unwrap()).collect();
        let count = k >= 5;
        // A: the statements of today (unnest).
        let t0 = Instant::now();
        let tx = ca.transaction().await?;
        let stored: Vec<StoredRaw> =
            raw::insert(&tx, Source::Pull, false, run, &raws, true).await?.into_iter().map(Option::unwrap).collect();
        let pairs: Vec<(StoredRaw, _)> = stored.into_iter().zip(rows.iter().cloned()).collect();
        let t1 = Instant::now();
        let r = registrations::upsert(&tx, mapping, &pairs, true).await?;
        assert_eq!(r.len(), rows.len());
        let t2 = Instant::now();
        tx.commit().await?;
        if count {
            unnest.add(t0, t1, t2);
        }
        // B: binary COPY into staging tables, then the same statements from them.
        let t0 = Instant::now();
        let tx = cb.transaction().await?;
        let sink = tx.copy_in("COPY staging_raw FROM STDIN BINARY").await?;
        let writer = BinaryCopyInWriter::new(sink, &raw_types);
        let mut writer = std::pin::pin!(writer);
        for r in &raws {
            writer
                .as_mut()
                .write(&[&r.form_id, &r.submission_id, &r.content_type, &r.raw_body, &r.body_sha256, &r.received_at])
                .await?;
        }
        writer.finish().await?;
        let returned = tx.query(RAW_COPY_INSERT, &[&run]).await?;
        let index: std::collections::HashMap<(&str, &str), usize> =
            raws.iter().enumerate().map(|(i, r)| ((r.form_id.as_str(), r.submission_id.as_str()), i)).collect();
        let mut stored = vec![None; raws.len()];
        for row in &returned {
            let i = index[&(row.get::<_, &str>(1), row.get::<_, &str>(2))];
            stored[i] = Some(StoredRaw { id: row.get(0), received_at: row.get(4) });
        }
        let t1 = Instant::now();
        let sink = tx.copy_in("COPY staging_reg FROM STDIN BINARY").await?;
        let writer = BinaryCopyInWriter::new(sink, &reg_types);
        let mut writer = std::pin::pin!(writer);
        for (row, s) in rows.iter().zip(&stored) {
            let s = s.unwrap();
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&row.registration_id, &row.form_id, &row.submitted_at];
            let id = s.id;
            let at = s.received_at;
            params.push(&id);
            params.push(&at);
            for v in &row.values {
                params.push(v);
            }
            writer.as_mut().write(&params).await?;
        }
        writer.finish().await?;
        let out = tx.query(copy_sql.as_str(), &[]).await?;
        assert_eq!(out.len(), rows.len());
        let t2 = Instant::now();
        tx.commit().await?;
        if count {
            copy.add(t0, t1, t2);
        }
    }
    for (db, label) in [(&dba, "unnest"), (&dbb, "COPY")] {
        let landed: i64 = db.scalar("SELECT count(*) FROM conferences_events.exchange_registration").await;
        anyhow::ensure!(landed as usize == n, "{label} landed {landed} of {n}");
    }
    let batches = (n / 1000 - 5) as f64;
    unnest.print("unnest", batches);
    copy.print("COPY", batches);
    Ok(())
}

/// Time spent per phase of one path, summed over the counted batches.
#[derive(Default)]
struct Timings {
    raw: Duration,
    upsert: Duration,
    transaction: Duration,
}

impl Timings {
    /// One batch: begun at `t0`, raw rows stored at `t1`, registrations written at `t2`, committed now.
    fn add(&mut self, t0: Instant, t1: Instant, t2: Instant) {
        self.raw += t1 - t0;
        self.upsert += t2 - t1;
        self.transaction += t0.elapsed();
    }

    fn print(&self, label: &str, batches: f64) {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0 / batches;
        println!(
            "{label:>7}: raw {:.2} ms, upsert {:.2} ms, transaction {:.2} ms per 1000 rows",
            ms(self.raw),
            ms(self.upsert),
            ms(self.transaction)
        );
    }
}
