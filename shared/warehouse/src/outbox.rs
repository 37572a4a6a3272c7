//! `integration.outbox`: messages recorded in the same transaction as the rows they announce.

use tokio_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use crate::Result;

/// Records one outbox entry carrying `ids`.
pub async fn enqueue(db: &impl GenericClient, kind: &str, ids: &[String], run_id: Uuid) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    db.execute(
        "INSERT INTO integration.outbox (kind, record_ids, run_id) VALUES ($1, $2, $3)",
        &[&kind, &ids, &run_id],
    )
    .await?;
    Ok(())
}

/// Unsent entries of `kind`, oldest first, locked for this transaction (`SKIP LOCKED`, so
/// concurrent drains never send the same entry). Returns (entry ids, their distinct record ids).
pub async fn claim(tx: &Transaction<'_>, kind: &str, limit: i64) -> Result<(Vec<i64>, Vec<String>)> {
    let rows = tx
        .query(
            "SELECT id, record_ids FROM integration.outbox
              WHERE kind = $1 AND sent_at IS NULL
              ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
            &[&kind, &limit],
        )
        .await?;
    let mut entry_ids = Vec::with_capacity(rows.len());
    let mut record_ids: Vec<String> = Vec::with_capacity(rows.len());
    let mut seen = std::collections::HashSet::new();
    for r in &rows {
        entry_ids.push(r.get(0));
        for rec in r.get::<_, Vec<String>>(1) {
            if seen.insert(rec.clone()) {
                record_ids.push(rec);
            }
        }
    }
    Ok((entry_ids, record_ids))
}

/// Marks entries sent.
pub async fn mark_sent(tx: &Transaction<'_>, entry_ids: &[i64]) -> Result<()> {
    tx.execute("UPDATE integration.outbox SET sent_at = now() WHERE id = ANY($1)", &[&entry_ids]).await?;
    Ok(())
}
