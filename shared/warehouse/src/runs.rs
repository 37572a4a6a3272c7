//! `integration.run`: one record per invocation.

use platform_domain::run::RunCounts;
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::{Result, Warehouse, WarehouseError};

/// Runs `work` on `conn` under a run record of `function_name`/`trigger`: opened before, closed
/// after with `counts` of the result, or failed with the error's text. The one place a run
/// record is written around work that holds a connection.
pub async fn recorded<T, E>(
    conn: &mut crate::Connection,
    run_id: Uuid,
    function_name: &str,
    trigger: &str,
    work: impl AsyncFnOnce(&mut crate::Connection) -> std::result::Result<T, E>,
    counts: impl FnOnce(&T) -> RunCounts,
) -> std::result::Result<T, E>
where
    E: std::fmt::Display + From<WarehouseError>,
{
    start(&***conn, run_id, function_name, trigger).await?;
    let result = work(conn).await;
    close(&***conn, run_id, &result, counts).await?;
    result
}

/// Like [`recorded`] for work that takes its own connections step by step (meetmax-sync holds
/// none across a vendor call): the record is opened and closed on connections of their own.
pub async fn recorded_apart<T, E>(
    warehouse: &Warehouse,
    run_id: Uuid,
    function_name: &str,
    trigger: &str,
    work: impl Future<Output = std::result::Result<T, E>>,
    counts: impl FnOnce(&T) -> RunCounts,
) -> std::result::Result<T, E>
where
    E: std::fmt::Display + From<WarehouseError>,
{
    start(&**warehouse.conn().await?, run_id, function_name, trigger).await?;
    let result = work.await;
    close(&**warehouse.conn().await?, run_id, &result, counts).await?;
    result
}

async fn close<T, E: std::fmt::Display>(
    db: &impl GenericClient,
    run_id: Uuid,
    result: &std::result::Result<T, E>,
    counts: impl FnOnce(&T) -> RunCounts,
) -> Result<()> {
    match result {
        Ok(t) => finish(db, run_id, &counts(t), None).await,
        Err(e) => finish(db, run_id, &RunCounts::default(), Some(&e.to_string())).await,
    }
}

/// Opens a run record.
pub async fn start(db: &impl GenericClient, run_id: Uuid, function_name: &str, trigger: &str) -> Result<()> {
    db.execute(
        "INSERT INTO integration.run (run_id, function_name, trigger) VALUES ($1, $2, $3)
         ON CONFLICT (run_id) DO NOTHING",
        &[&run_id, &function_name, &trigger],
    )
    .await?;
    Ok(())
}

/// Closes a run record with its counts; `error` marks it failed. Failed records make it `partial`.
pub async fn finish(db: &impl GenericClient, run_id: Uuid, counts: &RunCounts, error: Option<&str>) -> Result<()> {
    let status = match (error, counts.failed) {
        (Some(_), _) => "failed",
        (None, 0) => "succeeded",
        (None, _) => "partial",
    };
    let notes = serde_json::to_value(&counts.notes).unwrap_or_default();
    db.execute(
        "UPDATE integration.run
            SET finished_at = now(), status = $2, read_count = $3, written_count = $4,
                skipped_count = $5, failed_count = $6, notes = $7, error = $8
          WHERE run_id = $1",
        &[
            &run_id,
            &status,
            &(counts.read as i64),
            &(counts.written as i64),
            &(counts.skipped as i64),
            &(counts.failed as i64),
            &notes,
            &error,
        ],
    )
    .await?;
    Ok(())
}
