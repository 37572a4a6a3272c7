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

/// Entries claimed per round (one transaction; each entry holds one commit's ids).
const CLAIM: i64 = 20;

/// Sends every unsent entry of `kind` through `send` (which gets the distinct ids of up to
/// [`CLAIM`] entries at a time) and marks them sent. Entries are locked while sent, so
/// concurrent drains never send one twice; a crash after `send` and before the commit sends them
/// again (consumers are idempotent). Returns the ids sent.
pub async fn drain<F, Fut, E>(conn: &mut tokio_postgres::Client, kind: &str, send: F) -> Result<u64, DrainError<E>>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<(), E>>,
{
    let mut sent = 0u64;
    loop {
        let tx = conn.transaction().await.map_err(|e| DrainError::Warehouse(e.into()))?;
        let (entries, ids) = claim(&tx, kind, CLAIM).await.map_err(DrainError::Warehouse)?;
        if entries.is_empty() {
            break;
        }
        let n = ids.len() as u64;
        send(ids).await.map_err(DrainError::Send)?;
        mark_sent(&tx, &entries).await.map_err(DrainError::Warehouse)?;
        tx.commit().await.map_err(|e| DrainError::Warehouse(e.into()))?;
        sent += n;
        if (entries.len() as i64) < CLAIM {
            break;
        }
    }
    Ok(sent)
}

/// Why a drain stopped (entries not sent stay in the outbox).
#[derive(Debug, thiserror::Error)]
pub enum DrainError<E> {
    /// The warehouse failed.
    #[error(transparent)]
    Warehouse(crate::WarehouseError),
    /// Sending failed.
    #[error("sending the outbox: {0}")]
    Send(E),
}
