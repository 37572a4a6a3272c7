//! The per-registration gate: an approved, active registration is released to meetmax-sync as
//! soon as its own organisation is reviewed; the others wait and block nobody.

use platform_domain::envelope::KIND_REGISTRATIONS_RELEASED;
use platform_warehouse::{outbox, tokio_postgres::Client};
use uuid::Uuid;

use crate::DedupeError;

/// Releases every eligible registration not released before (one statement, whatever triggered
/// the pass, so an organisation reviewed by SQL releases its registrations on the next trigger),
/// recording the ids in the outbox for the meetmax-sync queue. Returns the ids released now.
pub async fn release(conn: &mut Client, run_id: Uuid) -> Result<Vec<String>, DedupeError> {
    let tx = conn.transaction().await?;
    let released: Vec<String> = tx
        .query(
            "INSERT INTO integration.meetmax_release (registration_id, run_id)
             SELECT r.registration_id, $1 FROM conferences_events.exchange_registration r
              WHERE r.approval_status = 'Approved' AND r.registration_status = 'Active'
                AND r.registration_id IS NOT NULL
                AND EXISTS (SELECT 1 FROM conferences_events.exchange_organizations o
                             WHERE o.original_organization = r.organization AND o.reviewed)
             ON CONFLICT (registration_id) DO NOTHING
             RETURNING registration_id",
            &[&run_id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    outbox::enqueue(&tx, KIND_REGISTRATIONS_RELEASED, &released, run_id).await?;
    tx.commit().await?;
    Ok(released)
}
