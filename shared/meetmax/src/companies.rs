//! The event's company entities in the warehouse (`integration.meetmax_company`): which are
//! known, leases and intents before an add, results after it.

use std::{collections::HashMap, time::Duration};

use platform_warehouse::tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::{
    SyncError,
    store::{Claim, Failure},
};

/// MeetMax ids of the event's companies known to the warehouse.
pub async fn known_companies(
    db: &impl GenericClient,
    event_id: &str,
    names: &[String],
) -> Result<HashMap<String, String>, SyncError> {
    let rows = db
        .query(
            "SELECT company, meetmax_id FROM integration.meetmax_company
              WHERE meetmax_event_id = $1 AND company = ANY($2) AND meetmax_id IS NOT NULL",
            &[&event_id, &names],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Claims a company for an add, recording the intent.
pub async fn claim_company(
    db: &impl GenericClient,
    event_id: &str,
    company: &str,
    owner: Uuid,
    lease: Duration,
) -> Result<Claim, SyncError> {
    let row = db
        .query_opt(
            "WITH old AS (SELECT intent_at FROM integration.meetmax_company WHERE meetmax_event_id = $1 AND company = $2)
             INSERT INTO integration.meetmax_company AS c (meetmax_event_id, company, lease_until, lease_owner, intent_at, attempts)
             VALUES ($1, $2, now() + make_interval(secs => $3), $4, now(), 1)
             ON CONFLICT (meetmax_event_id, company) DO UPDATE
                SET lease_until = EXCLUDED.lease_until, lease_owner = EXCLUDED.lease_owner,
                    intent_at = coalesce(c.intent_at, now()), attempts = c.attempts + 1, updated_at = now()
              WHERE c.meetmax_id IS NULL AND (c.lease_until IS NULL OR c.lease_until < now())
             RETURNING (SELECT intent_at FROM old) IS NOT NULL",
            &[&event_id, &company, &lease.as_secs_f64(), &owner],
        )
        .await?;
    if let Some(r) = row {
        return Ok(Claim::Claimed { had_intent: r.get(0) });
    }
    let done: Option<String> = db
        .query_opt(
            "SELECT meetmax_id FROM integration.meetmax_company WHERE meetmax_event_id = $1 AND company = $2",
            &[&event_id, &company],
        )
        .await?
        .and_then(|r| r.get(0));
    Ok(done.map(Claim::Done).unwrap_or(Claim::Busy))
}

/// Extends `owner`'s lease on a company right before its add; `false` when it passed to another run.
pub async fn renew_company(
    db: &impl GenericClient,
    event_id: &str,
    company: &str,
    owner: Uuid,
    lease: Duration,
) -> Result<bool, SyncError> {
    Ok(db
        .execute(
            "UPDATE integration.meetmax_company SET lease_until = now() + make_interval(secs => $4), updated_at = now()
              WHERE meetmax_event_id = $1 AND company = $2 AND lease_owner = $3 AND meetmax_id IS NULL",
            &[&event_id, &company, &owner, &lease.as_secs_f64()],
        )
        .await?
        == 1)
}

/// Records a company's MeetMax id.
pub async fn record_company(
    db: &impl GenericClient,
    event_id: &str,
    company: &str,
    meetmax_id: &str,
    adopted: bool,
) -> Result<(), SyncError> {
    db.execute(
        "UPDATE integration.meetmax_company
            SET meetmax_id = $3, adopted = $4, intent_at = NULL, lease_until = NULL, lease_owner = NULL,
                error_class = NULL, error = NULL, updated_at = now()
          WHERE meetmax_event_id = $1 AND company = $2 AND (meetmax_id IS NULL OR meetmax_id = $3)",
        &[&event_id, &company, &meetmax_id, &adopted],
    )
    .await?;
    Ok(())
}

/// Records a failed company add.
pub async fn record_company_failed(
    db: &impl GenericClient,
    event_id: &str,
    company: &str,
    failure: &Failure,
) -> Result<(), SyncError> {
    db.execute(
        "UPDATE integration.meetmax_company
            SET error_class = $3, error = $4, intent_at = CASE WHEN $5 THEN intent_at END,
                lease_until = NULL, lease_owner = NULL, updated_at = now()
          WHERE meetmax_event_id = $1 AND company = $2",
        &[&event_id, &company, &failure.class.as_str(), &failure.message, &failure.uncertain],
    )
    .await?;
    Ok(())
}
