//! `integration.run`: one record per invocation.

use platform_domain::run::RunCounts;
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::Result;

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
