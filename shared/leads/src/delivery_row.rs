//! The delivery row (`leads.delivery`, one per lead × integration) and its transitions: the
//! guard that a lead reaches an integration at most once with a 2xx. Every change of its status
//! is a function here; [`crate::deliver`] decides which.
//!
//! ```text
//! waiting ─┬─ claim ─→ sending ─┬─ record → delivered | rejected | invalid | retrying | unknown_outcome
//! retrying ┘                     └─ claim expired (the answer lost) → unknown_outcome
//! rejected | invalid | unknown_outcome ── an operator's redelivery → waiting
//! ```

use platform_warehouse::tokio_postgres::GenericClient;

use crate::LeadError;

/// Where a delivery row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not sent: its integration is not ready, or it is queued.
    Waiting,
    /// An attempt holds it (until `claimed_until`).
    Sending,
    /// Posted and accepted: never sent again.
    Delivered,
    /// The vendor refused it (a 4xx, or a refusal inside a 2xx).
    Rejected,
    /// It broke the integration's rules: not sent.
    Invalid,
    /// Transient failures persisted: the queue brings it back.
    Retrying,
    /// Sent and the answer lost: not re-posted until an operator redelivers.
    UnknownOutcome,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 7] = [
        Status::Waiting,
        Status::Sending,
        Status::Delivered,
        Status::Rejected,
        Status::Invalid,
        Status::Retrying,
        Status::UnknownOutcome,
    ];

    /// Its name in the warehouse.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Sending => "sending",
            Status::Delivered => "delivered",
            Status::Rejected => "rejected",
            Status::Invalid => "invalid",
            Status::Retrying => "retrying",
            Status::UnknownOutcome => "unknown_outcome",
        }
    }

    /// The status of its name.
    pub fn parse(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// An attempt's end, as its row and the attempt log record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// The row's new status.
    pub status: Status,
    /// The vendor's HTTP status, when it answered.
    pub response_status: Option<i32>,
    /// The vendor's answer, when kept.
    pub body: Option<String>,
    /// The vendor's lead id, when its answer had one.
    pub vendor_lead_id: Option<String>,
    /// Why, when not delivered.
    pub reason: Option<String>,
}

impl Ending {
    /// The metrics of the attempt that ended so (`ms`: its request's time, when one was sent).
    pub fn figures(&self, ms: Option<i32>) -> platform_runtime::metrics::Figures {
        let failed = matches!(self.status, Status::Rejected | Status::Invalid | Status::UnknownOutcome);
        platform_runtime::metrics::Figures {
            processed: 1,
            delivered: u64::from(self.status == Status::Delivered),
            failed: u64::from(failed),
            partial: self.status == Status::Retrying,
            vendor_calls: u64::from(ms.is_some()),
            vendor_latency_ms: ms.map(f64::from).into_iter().collect(),
            ..Default::default()
        }
    }
}

/// What an expired claim means: an attempt posted and its answer was lost.
const LOST: &str = "an earlier attempt posted and its answer was lost; not re-posted (the vendor may have the lead): check with the client, then redeliver";

/// Creates the row (`waiting`) unless it exists.
pub async fn ensure(db: &impl GenericClient, lead: i64, integration: &str) -> Result<(), LeadError> {
    db.execute(
        "INSERT INTO leads.delivery (lead_id, integration_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&lead, &integration],
    )
    .await?;
    Ok(())
}

/// Says why a waiting row waits.
pub async fn note_waiting(
    db: &impl GenericClient,
    lead: i64,
    integration: &str,
    reason: &str,
) -> Result<(), LeadError> {
    db.execute(
        "UPDATE leads.delivery SET reason = $3, updated_at = now()
          WHERE lead_id = $1 AND integration_id = $2 AND status = 'waiting'",
        &[&lead, &integration, &reason],
    )
    .await?;
    Ok(())
}

/// `waiting` / `retrying` → `sending` for `claim_secs`; `false` when the row is not free.
pub async fn claim(db: &impl GenericClient, lead: i64, integration: &str, claim_secs: f64) -> Result<bool, LeadError> {
    let claimed = db
        .execute(
            "UPDATE leads.delivery SET status = 'sending', attempts = attempts + 1, updated_at = now(),
                    claimed_until = now() + make_interval(secs => $3)
              WHERE lead_id = $1 AND integration_id = $2 AND status IN ('waiting', 'retrying')",
            &[&lead, &integration, &claim_secs],
        )
        .await?;
    Ok(claimed > 0)
}

/// Where a row another attempt has (or had) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// It was `sending` with its claim expired: its answer was lost, and it is `unknown_outcome`
    /// from now on.
    LostNow,
    /// It is in this status.
    Is(Status),
}

/// Where a row another attempt has (or had) stands now: a `sending` row whose claim expired
/// becomes `unknown_outcome` here (its answer was lost).
pub async fn settle(db: &impl GenericClient, lead: i64, integration: &str) -> Result<Standing, LeadError> {
    let lost = db
        .execute(
            "UPDATE leads.delivery SET status = 'unknown_outcome', updated_at = now(), reason = $3
              WHERE lead_id = $1 AND integration_id = $2 AND status = 'sending' AND claimed_until < now()",
            &[&lead, &integration, &LOST],
        )
        .await?;
    if lost > 0 {
        tracing::warn!(lead, integration, "delivery answer lost earlier: held as unknown_outcome");
        return Ok(Standing::LostNow);
    }
    let status: String = db
        .query_one(
            "SELECT status FROM leads.delivery WHERE lead_id = $1 AND integration_id = $2",
            &[&lead, &integration],
        )
        .await?
        .get(0);
    Status::parse(&status)
        .map(Standing::Is)
        .ok_or_else(|| LeadError::Config(format!("leads.delivery has an unknown status {status:?}")))
}

/// An operator's redelivery: the integration's `rejected`, `invalid` and `unknown_outcome` rows go
/// back to `waiting`; their lead ids. With `expected` (a [`Reopenable::fingerprint`]), the rows
/// are locked and reopened only when they are still exactly that set (else `Config`).
pub async fn reopen(db: &impl GenericClient, integration: &str, expected: Option<&str>) -> Result<Vec<i64>, LeadError> {
    // With a fingerprint, exactly the locked set is reopened (a lead failing meanwhile is not).
    let mut only: Option<Vec<i64>> = None;
    if let Some(expected) = expected {
        let statuses: Vec<&str> = REOPENED.to_vec();
        let now = db
            .query_one(
                &format!(
                    "WITH rows AS (SELECT lead_id, updated_at FROM leads.delivery
                                    WHERE integration_id = $1 AND status = ANY($2) FOR UPDATE)
                     SELECT f.*, (SELECT coalesce(array_agg(lead_id), '{{}}') FROM rows) FROM ({FINGERPRINT}) f"
                ),
                &[&integration, &statuses],
            )
            .await?;
        if now.get::<_, String>(1) != expected {
            return Err(LeadError::Config(format!(
                "the failed leads of {integration} changed since they were shown ({} now): look again; nothing was changed",
                now.get::<_, i64>(0)
            )));
        }
        only = Some(now.get(2));
    }
    Ok(db
        .query(
            "UPDATE leads.delivery SET status = 'waiting', reason = 'redelivery asked by an operator', updated_at = now()
              WHERE integration_id = $1 AND status = ANY($2) AND ($3::bigint[] IS NULL OR lead_id = ANY($3))
             RETURNING lead_id",
            &[&integration, &REOPENED.to_vec(), &only],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// The statuses an operator's redelivery reopens.
pub const REOPENED: [&str; 3] = ["rejected", "invalid", "unknown_outcome"];

/// What [`reopen`] would reopen now.
#[derive(Debug, Clone)]
pub struct Reopenable {
    /// The newest first, at most the limit asked for: lead id, status, reason, last change.
    pub rows: Vec<(i64, String, Option<String>, chrono::DateTime<chrono::Utc>)>,
    /// How many in all.
    pub total: i64,
    /// What identifies exactly this set (its leads and their last changes): a redelivery
    /// confirmed against it reopens these leads or nothing.
    pub fingerprint: String,
}

/// The SQL of a set's count and fingerprint over `rows` (`lead_id`, `updated_at`): an md5 of its
/// leads and their last changes, in lead order.
const FINGERPRINT: &str = "SELECT count(*), md5(coalesce(string_agg(lead_id::text || '@' ||
    to_char(updated_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS'), ',' ORDER BY lead_id), '')) FROM rows";

/// What [`reopen`] would reopen now (`limit` rows listed).
pub async fn reopenable(db: &impl GenericClient, integration: &str, limit: i64) -> Result<Reopenable, LeadError> {
    let statuses: Vec<&str> = REOPENED.to_vec();
    let set = db
        .query_one(
            &format!(
                "WITH rows AS (SELECT lead_id, updated_at FROM leads.delivery
                                WHERE integration_id = $1 AND status = ANY($2)) {FINGERPRINT}"
            ),
            &[&integration, &statuses],
        )
        .await?;
    let rows = db
        .query(
            "SELECT lead_id, status, reason, updated_at FROM leads.delivery
              WHERE integration_id = $1 AND status = ANY($2) ORDER BY updated_at DESC, lead_id DESC LIMIT $3",
            &[&integration, &statuses, &limit],
        )
        .await?;
    Ok(Reopenable {
        rows: rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect(),
        total: set.get(0),
        fingerprint: set.get(1),
    })
}

/// An operator's redelivery of one lead through one integration: its row goes back to
/// `waiting` unless it was delivered or an attempt holds it. Whether it was reopened.
pub async fn reopen_one(db: &impl GenericClient, lead: i64, integration: &str) -> Result<bool, LeadError> {
    let statuses: Vec<&str> = REOPENED.to_vec();
    Ok(db
        .execute(
            "UPDATE leads.delivery SET status = 'waiting', reason = 'redelivery asked by an operator', updated_at = now()
              WHERE lead_id = $1 AND integration_id = $2 AND status = ANY($3)",
            &[&lead, &integration, &statuses],
        )
        .await?
        == 1)
}

/// Records an attempt's end on the row (only while the attempt holds it, `sending`) and in the
/// attempt log.
pub async fn record(
    db: &impl GenericClient,
    lead: i64,
    integration: &str,
    end: &Ending,
    warnings: &[String],
    request: Option<&serde_json::Value>,
    ms: Option<i32>,
) -> Result<(), LeadError> {
    let status = end.status.as_str();
    db.execute(
        "UPDATE leads.delivery SET status = $3, response_status = $4, response_body = $5, vendor_lead_id = $6,
                reason = $7, warnings = $8, request = $9, claimed_until = NULL, updated_at = now(),
                delivered_at = CASE WHEN $3 = 'delivered' THEN now() ELSE delivered_at END
          WHERE lead_id = $1 AND integration_id = $2 AND status = 'sending'",
        &[
            &lead,
            &integration,
            &status,
            &end.response_status,
            &end.body,
            &end.vendor_lead_id,
            &end.reason,
            &warnings,
            &request,
        ],
    )
    .await?;
    db.execute(
        "INSERT INTO leads.delivery_attempt (lead_id, integration_id, response_status, outcome, response_body, error, ms, request)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&lead, &integration, &end.response_status, &status, &end.body, &end.reason, &ms, &request],
    )
    .await?;
    Ok(())
}

/// After a delivery: a `ready` integration goes `live` with its first real lead, which also
/// creates its one confirmation e-mail. `true` when that confirmation was created now.
pub async fn go_live(db: &impl GenericClient, lead: i64, integration: &str) -> Result<bool, LeadError> {
    db.execute(
        "UPDATE leads.integration SET state = 'live', live_at = now(), updated_at = now()
          WHERE id = $1 AND state = 'ready' AND NOT (SELECT is_test FROM leads.lead WHERE id = $2)",
        &[&integration, &lead],
    )
    .await?;
    let created = db
        .execute(
            "INSERT INTO leads.confirmation (integration_id, lead_id)
             SELECT $1, $2 WHERE NOT (SELECT is_test FROM leads.lead WHERE id = $2)
             ON CONFLICT DO NOTHING",
            &[&integration, &lead],
        )
        .await?;
    Ok(created > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_name() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("lost"), None);
    }
}
