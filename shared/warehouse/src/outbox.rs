//! `integration.outbox`: messages recorded in the same transaction as the rows they announce.

use tokio_postgres::{GenericClient, types::Type};
use uuid::Uuid;

use crate::Result;

/// Records one outbox entry carrying `ids`.
pub async fn enqueue(db: &impl GenericClient, kind: &str, ids: &[String], run_id: Uuid) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    // Typed parameters: parsed, bound and run in one round trip (no separate prepare).
    db.execute_typed(
        "INSERT INTO integration.outbox (kind, record_ids, run_id) VALUES ($1, $2, $3)",
        &[(&kind, Type::TEXT), (&ids, Type::TEXT_ARRAY), (&run_id, Type::UUID)],
    )
    .await?;
    Ok(())
}

/// How long a drain owns the entries it claimed; after that another drain may send them again
/// (consumers are idempotent).
pub const CLAIM_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// Claims up to `limit` unsent entries of `kind`, oldest first, that no live claim holds: one
/// auto-committed statement, so no lock is held while they are sent. Returns (entry ids, their
/// distinct record ids).
pub async fn claim(
    db: &impl GenericClient,
    kind: &str,
    limit: i64,
    claimant: Uuid,
    lease: std::time::Duration,
) -> Result<(Vec<i64>, Vec<String>)> {
    let mut rows = db
        .query(
            "UPDATE integration.outbox o
                SET claimed_until = now() + make_interval(secs => $3), claimed_by = $4
              WHERE o.id IN (SELECT id FROM integration.outbox
                              WHERE kind = $1 AND sent_at IS NULL
                                AND (claimed_until IS NULL OR claimed_until < now())
                              ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING o.id, o.record_ids",
            &[&kind, &limit, &lease.as_secs_f64(), &claimant],
        )
        .await?;
    rows.sort_by_key(|r| r.get::<_, i64>(0));
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

/// Marks `claimant`'s entries sent.
pub async fn mark_sent(db: &impl GenericClient, entry_ids: &[i64], claimant: Uuid) -> Result<()> {
    db.execute(
        "UPDATE integration.outbox SET sent_at = now(), claimed_until = NULL
          WHERE id = ANY($1) AND claimed_by = $2 AND sent_at IS NULL",
        &[&entry_ids, &claimant],
    )
    .await?;
    Ok(())
}

/// Gives `claimant`'s entries back (the send failed): the next drain takes them at once.
pub async fn release(db: &impl GenericClient, entry_ids: &[i64], claimant: Uuid) -> Result<()> {
    db.execute(
        "UPDATE integration.outbox SET claimed_until = NULL WHERE id = ANY($1) AND claimed_by = $2 AND sent_at IS NULL",
        &[&entry_ids, &claimant],
    )
    .await?;
    Ok(())
}

/// Entries claimed per round (each entry holds one commit's ids).
const CLAIM: i64 = 20;

/// Sends every unsent entry of `kind` through `send` (which gets the distinct ids of up to
/// [`CLAIM`] entries at a time) and marks them sent. Entries are claimed for [`CLAIM_LEASE`]
/// in a statement of their own, so concurrent drains never send one twice while the lease
/// lasts and no row lock is held across the send; a crash after `send` and before the mark sends
/// them again after the lease (consumers are idempotent). Returns the ids sent.
pub async fn drain<F, Fut, E>(conn: &mut tokio_postgres::Client, kind: &str, send: F) -> Result<u64, DrainError<E>>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<(), E>>,
{
    let mut sent = 0u64;
    let claimant = Uuid::now_v7();
    loop {
        let (entries, ids) = claim(&*conn, kind, CLAIM, claimant, CLAIM_LEASE).await.map_err(DrainError::Warehouse)?;
        if entries.is_empty() {
            break;
        }
        let n = ids.len() as u64;
        if let Err(e) = send(ids).await {
            if let Err(r) = release(&*conn, &entries, claimant).await {
                tracing::warn!(error = %r, "outbox entries not released; their lease will expire");
            }
            return Err(DrainError::Send(e));
        }
        mark_sent(&*conn, &entries, claimant).await.map_err(DrainError::Warehouse)?;
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
