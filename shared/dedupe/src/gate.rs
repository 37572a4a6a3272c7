//! The per-registration gate: an approved, active registration is released to meetmax-sync as
//! soon as its company name is settled — its own organisation reviewed, or its MeetMax role rule
//! taking the company from somewhere else (the state lookup, or the organisation as typed); the
//! others wait and block nobody.

use platform_domain::envelope::KIND_REGISTRATIONS_RELEASED;
use platform_warehouse::{outbox, tokio_postgres::Client};
use uuid::Uuid;

use crate::DedupeError;

/// What the gate did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Released {
    /// Registrations released now.
    pub new: Vec<String>,
    /// Registrations of this pass that were released before: sent again so meetmax-sync sees
    /// their changes (it sends only what differs).
    pub again: Vec<String>,
}

/// Releases every eligible registration not released before (one statement, whatever triggered
/// the pass, so an organisation reviewed by SQL releases its registrations on the next trigger),
/// and re-announces the already released ones among `changed`; the ids go to the outbox for the
/// meetmax-sync queue in the same transaction.
pub async fn release(conn: &mut Client, run_id: Uuid, changed: Option<&[String]>) -> Result<Released, DedupeError> {
    let tx = conn.transaction().await?;
    let new: Vec<String> = tx
        .query(
            "INSERT INTO integration.meetmax_release (registration_id, run_id)
             SELECT r.registration_id, $1 FROM conferences_events.exchange_registration r
              WHERE r.approval_status = 'Approved' AND r.registration_status = 'Active'
                AND r.registration_id IS NOT NULL
                AND (EXISTS (SELECT 1 FROM conferences_events.exchange_organizations o
                              WHERE o.original_organization = r.organization AND o.reviewed)
                     OR (SELECT x.company_source FROM integration.meetmax_role_rule x
                          WHERE x.form_id = r.form_id
                            AND (x.registration_type = r.registration_type OR x.registration_type = '*')
                          ORDER BY x.registration_type = '*' LIMIT 1) IN ('state', 'typed'))
             ON CONFLICT (registration_id) DO NOTHING
             RETURNING registration_id",
            &[&run_id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let again: Vec<String> = match changed {
        Some(ids) if !ids.is_empty() => tx
            .query(
                "SELECT registration_id FROM integration.meetmax_release
                  WHERE registration_id = ANY($1) AND NOT (registration_id = ANY($2))",
                &[&ids, &new],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
        _ => Vec::new(),
    };
    let all: Vec<String> = new.iter().chain(&again).cloned().collect();
    outbox::enqueue(&tx, KIND_REGISTRATIONS_RELEASED, &all, run_id).await?;
    tx.commit().await?;
    Ok(Released { new, again })
}
