//! The sync's warehouse state of registrations: those to consider, leases and intents before a
//! MeetMax write, outcomes after it (in `integration.meetmax_sync` and in the operators' columns
//! `exchange_registration.meetmax_id` / `meetmax_status`). Companies: [`crate::companies`].

use std::time::Duration;

use platform_warehouse::tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use platform_vendors::meetmax::ErrorClass;

use crate::{
    SyncError,
    fields::{CompanySource, Fields, Registration},
};

/// A registration's sync state (`integration.meetmax_sync.state`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SyncState {
    /// Claimed or never tried.
    #[default]
    Pending,
    /// In MeetMax.
    Synced,
    /// The last add failed.
    Failed,
    /// Not sendable.
    Ineligible,
}

impl SyncState {
    /// The state of a stored name (unknown names read as `Pending`).
    pub fn parse(name: &str) -> SyncState {
        match name {
            "synced" => SyncState::Synced,
            "failed" => SyncState::Failed,
            "ineligible" => SyncState::Ineligible,
            _ => SyncState::Pending,
        }
    }
}

/// The sync's own record of a registration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncRow {
    /// Pending, synced, failed or ineligible.
    pub state: SyncState,
    /// MeetMax id.
    pub meetmax_id: Option<String>,
    /// The class of the last failure (`None`: none, or not sendable).
    pub error_class: Option<ErrorClass>,
    /// The last attempt failed or the registration is not sendable.
    pub has_error: bool,
    /// Fields of the request that failed.
    pub failed_fields: Option<Fields>,
    /// What MeetMax holds, as far as we know.
    pub sent_fields: Fields,
}

/// A released registration with its configuration-driven attributes and sync state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    /// The registration as the view computes it.
    pub reg: Registration,
    /// Approved and active now.
    pub approved_active: bool,
    /// `exchange_registration.meetmax_id` (also set by the original scripts).
    pub warehouse_meetmax_id: Option<String>,
    /// `exchange_registration.meetmax_status`.
    pub meetmax_status: Option<String>,
    /// An operator excluded it from MeetMax, for this reason (`integration.meetmax_exclusion`).
    pub excluded: Option<String>,
    /// The sync's row, if any.
    pub sync: Option<SyncRow>,
}

fn fields_of(v: Option<serde_json::Value>) -> Option<Fields> {
    v.and_then(|v| serde_json::from_value(v).ok())
}

pub(crate) fn to_json(f: &Fields) -> serde_json::Value {
    serde_json::to_value(f).unwrap_or_default()
}

fn candidate(r: &Row) -> Candidate {
    let reg = Registration {
        registration_id: r.get("registration_id"),
        form_id: r.get("form_id"),
        rule_matched: r.get("rule_matched"),
        rule_send: r.get("rule_send"),
        attendee_role: r.get("attendee_role"),
        group_name: r.get("group_name"),
        company_source: r.get::<_, Option<&str>>("company_source").and_then(CompanySource::parse),
        company_entity: r.get("company_entity"),
        first_name: r.get("first_name"),
        last_name: r.get("last_name"),
        company: r.get("company"),
        organization: r.get("organization"),
        organization_reviewed: r.get("organization_reviewed"),
        state_key: r.get("state_key"),
        title: r.get("title"),
        email: r.get("email"),
        phone: r.get("phone"),
        registration_type: r.get("registration_type"),
        receive_request: r.get("receive_request"),
        locale: r.get("locale"),
        profile: r.get("profile"),
        headshot: r.get("headshot"),
        industries: r.get("industries"),
        other_industries: r.get("other_industries"),
        meetings: r.get("meetings"),
        registration_status: r.get("registration_status"),
        is_contact: r.get("is_contact"),
        custom_purposes: r.get("rule_custom_fields"),
        list_caps: r
            .get::<_, Option<serde_json::Value>>("rule_list_caps")
            .and_then(|v| crate::config::parse_list_caps(&v).ok())
            .unwrap_or_default(),
    };
    let error_class: Option<&str> = r.get("sync_error_class");
    let sync = r.get::<_, Option<&str>>("sync_state").map(|state| SyncRow {
        state: SyncState::parse(state),
        meetmax_id: r.get("sync_meetmax_id"),
        error_class: error_class.and_then(ErrorClass::parse),
        has_error: error_class.is_some(),
        failed_fields: fields_of(r.get("sync_failed_fields")),
        sent_fields: fields_of(r.get("sync_sent_fields")).unwrap_or_default(),
    });
    Candidate {
        reg,
        approved_active: r.get::<_, Option<bool>>("approved_active").unwrap_or(false),
        warehouse_meetmax_id: r.get("meetmax_id"),
        meetmax_status: r.get("meetmax_status"),
        excluded: r.get("excluded_reason"),
        sync,
    }
}

/// Released registrations of enabled events (all of them, or those of `ids`).
pub async fn candidates(db: &impl GenericClient, ids: Option<&[String]>) -> Result<Vec<Candidate>, SyncError> {
    let rows = db
        .query(
            "SELECT m.registration_id, m.form_id, m.rule_type IS NOT NULL AS rule_matched, m.rule_send, m.attendee_role,
                    m.group_name, m.company_source, m.company_entity, m.first_name, m.last_name, m.company,
                    m.organization, m.organization_reviewed, m.state_key, m.title, m.email, m.phone,
                    m.registration_type, m.receive_request, m.locale, m.profile, m.headshot, m.industries,
                    m.other_industries, m.meetings, m.registration_status, m.approved_active, m.meetmax_id,
                    m.meetmax_status, s.state AS sync_state, s.meetmax_id AS sync_meetmax_id,
                    s.error_class AS sync_error_class, s.failed_fields AS sync_failed_fields,
                    s.sent_fields AS sync_sent_fields, x.reason AS excluded_reason, m.is_contact,
                    m.rule_custom_fields, m.rule_list_caps
               FROM integration.meetmax_registration m
               JOIN integration.meetmax_release rel ON rel.registration_id = m.registration_id
               LEFT JOIN integration.meetmax_sync s ON s.registration_id = m.registration_id
               LEFT JOIN integration.meetmax_exclusion x ON x.registration_id = m.registration_id
              WHERE m.event_enabled AND ($1::text[] IS NULL OR m.registration_id = ANY($1))
              ORDER BY m.id",
            &[&ids],
        )
        .await?;
    Ok(rows.iter().map(candidate).collect())
}

/// Writes `waiting: …` into `meetmax_status` of approved, active registrations of enabled events
/// that the review gate still holds (never over another status). Returns the rows changed.
pub async fn mark_waiting(db: &impl GenericClient) -> Result<u64, SyncError> {
    Ok(db
        .execute(
            "UPDATE conferences_events.exchange_registration r SET meetmax_status = w.reason
               FROM (SELECT m.registration_id,
                            'waiting: ' || CASE WHEN nullif(btrim(m.organization), '') IS NULL
                                                THEN 'no organisation to review'
                                                ELSE format('organisation %L is not reviewed', m.organization) END AS reason
                       FROM integration.meetmax_registration m
                      WHERE m.event_enabled AND m.approved_active AND m.meetmax_id IS NULL
                        AND NOT EXISTS (SELECT 1 FROM integration.meetmax_release x
                                         WHERE x.registration_id = m.registration_id)) w
              WHERE r.registration_id = w.registration_id
                AND (r.meetmax_status IS NULL OR r.meetmax_status LIKE 'waiting:%')
                AND r.meetmax_status IS DISTINCT FROM w.reason",
            &[],
        )
        .await?)
}

/// Records why registrations are not sent (one statement); a status already saying so is not rewritten.
pub async fn record_ineligible(
    db: &impl GenericClient,
    event_id: &str,
    items: &[(String, String)],
) -> Result<(), SyncError> {
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = items.iter().map(|(i, _)| i.as_str()).collect();
    let reasons: Vec<&str> = items.iter().map(|(_, r)| r.as_str()).collect();
    db.execute(
        "WITH i AS (SELECT * FROM unnest($1::text[], $2::text[]) AS t(registration_id, reason)),
              s AS (INSERT INTO integration.meetmax_sync AS s (registration_id, meetmax_event_id, state, error_class, error)
                    SELECT registration_id, $3, 'ineligible', 'ineligible', reason FROM i
                    ON CONFLICT (registration_id) DO UPDATE
                       SET state = 'ineligible', error_class = 'ineligible', error = EXCLUDED.error,
                           meetmax_event_id = EXCLUDED.meetmax_event_id, updated_at = now()
                     WHERE s.meetmax_id IS NULL AND s.error IS DISTINCT FROM EXCLUDED.error)
         UPDATE conferences_events.exchange_registration r SET meetmax_status = 'not sent: ' || i.reason
           FROM i
          WHERE r.registration_id = i.registration_id AND r.meetmax_id IS NULL
            AND r.meetmax_status IS DISTINCT FROM 'not sent: ' || i.reason",
        &[&ids, &reasons, &event_id],
    )
    .await?;
    Ok(())
}

/// Adopts registrations that already carry a `meetmax_id` (sent by the original scripts): their
/// current fields become the baseline for edits, without a call.
pub async fn record_baseline(
    db: &impl GenericClient,
    event_id: &str,
    items: &[(String, String, Fields)],
) -> Result<(), SyncError> {
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = items.iter().map(|(i, _, _)| i.as_str()).collect();
    let mm: Vec<&str> = items.iter().map(|(_, m, _)| m.as_str()).collect();
    let sent: Vec<serde_json::Value> = items.iter().map(|(_, _, f)| to_json(f)).collect();
    db.execute(
        "INSERT INTO integration.meetmax_sync (registration_id, meetmax_event_id, meetmax_id, state, adopted, sent_fields, synced_at)
         SELECT i, $4, m, 'synced', true, f, now() FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS t(i, m, f)
         ON CONFLICT (registration_id) DO UPDATE
            SET meetmax_id = EXCLUDED.meetmax_id, state = 'synced', adopted = true, sent_fields = EXCLUDED.sent_fields,
                intent_at = NULL, error_class = NULL, error = NULL, failed_fields = NULL, synced_at = now(), updated_at = now()",
        &[&ids, &mm, &sent, &event_id],
    )
    .await?;
    Ok(())
}

/// The outcome of claiming a record before adding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours until the lease ends; `had_intent`: an earlier add's outcome is unknown (look first).
    Claimed {
        /// An earlier attempt may have created the record.
        had_intent: bool,
    },
    /// Someone else holds the lease.
    Busy,
    /// Already in MeetMax.
    Done(String),
}

/// Claims a registration for an add, recording the intent (before the call).
pub async fn claim_registration(
    db: &impl GenericClient,
    registration_id: &str,
    event_id: &str,
    owner: Uuid,
    lease: Duration,
) -> Result<Claim, SyncError> {
    let row = db
        .query_opt(
            "WITH old AS (SELECT intent_at FROM integration.meetmax_sync WHERE registration_id = $1)
             INSERT INTO integration.meetmax_sync AS s (registration_id, meetmax_event_id, lease_until, lease_owner, intent_at, attempts)
             VALUES ($1, $2, now() + make_interval(secs => $3), $4, now(), 1)
             ON CONFLICT (registration_id) DO UPDATE
                SET lease_until = EXCLUDED.lease_until, lease_owner = EXCLUDED.lease_owner,
                    intent_at = coalesce(s.intent_at, now()), attempts = s.attempts + 1,
                    meetmax_event_id = EXCLUDED.meetmax_event_id, updated_at = now()
              WHERE s.meetmax_id IS NULL AND (s.lease_until IS NULL OR s.lease_until < now())
             RETURNING (SELECT intent_at FROM old) IS NOT NULL",
            &[&registration_id, &event_id, &lease.as_secs_f64(), &owner],
        )
        .await?;
    if let Some(r) = row {
        return Ok(Claim::Claimed { had_intent: r.get(0) });
    }
    let done: Option<String> = db
        .query_opt("SELECT meetmax_id FROM integration.meetmax_sync WHERE registration_id = $1", &[&registration_id])
        .await?
        .and_then(|r| r.get(0));
    Ok(done.map(Claim::Done).unwrap_or(Claim::Busy))
}

/// Extends `owner`'s lease on a registration (claimed for an add or for its edits) right before
/// the next MeetMax write; `false` when the lease passed to another run (then no write is made).
/// Recording an add clears the lease, so a recorded record is never renewed.
pub async fn renew_lease(
    db: &impl GenericClient,
    registration_id: &str,
    owner: Uuid,
    lease: Duration,
) -> Result<bool, SyncError> {
    Ok(db
        .execute(
            "UPDATE integration.meetmax_sync SET lease_until = now() + make_interval(secs => $3), updated_at = now()
              WHERE registration_id = $1 AND lease_owner = $2",
            &[&registration_id, &owner, &lease.as_secs_f64()],
        )
        .await?
        == 1)
}

/// Records a registration's MeetMax id (after the call) in the sync state and the warehouse row.
/// Never replaces another id: if a different record was recorded meanwhile (two records exist
/// in MeetMax), nothing is written and the conflict is logged; returns whether it was recorded.
pub async fn record_added(
    db: &impl GenericClient,
    registration_id: &str,
    meetmax_id: &str,
    sent: &Fields,
    adopted: bool,
    owner: Uuid,
) -> Result<bool, SyncError> {
    let rows = db
        .query(
            "WITH old AS (SELECT registration_id, lease_owner FROM integration.meetmax_sync
                           WHERE registration_id = $1 FOR UPDATE),
                  s AS (UPDATE integration.meetmax_sync m
                           SET meetmax_id = $2, state = 'synced', adopted = $4, intent_at = NULL, lease_until = NULL,
                               lease_owner = NULL, error_class = NULL, error = NULL, failed_fields = NULL,
                               sent_fields = $3, synced_at = now(), updated_at = now()
                          FROM old
                         WHERE m.registration_id = old.registration_id AND (m.meetmax_id IS NULL OR m.meetmax_id = $2)
                     RETURNING m.registration_id, old.lease_owner IS NOT NULL AND old.lease_owner <> $5 AS foreign_lease),
                  r AS (UPDATE conferences_events.exchange_registration r SET meetmax_id = $2, meetmax_status = NULL
                          FROM s WHERE r.registration_id = s.registration_id)
             SELECT foreign_lease FROM s",
            &[&registration_id, &meetmax_id, &to_json(sent), &adopted, &owner],
        )
        .await?;
    match rows.first() {
        Some(r) => {
            if r.get::<_, bool>(0) {
                tracing::warn!(registration_id, meetmax_id, "recorded a MeetMax id under another run's lease");
            }
            Ok(true)
        }
        None => {
            tracing::error!(
                registration_id,
                meetmax_id,
                "MeetMax holds two records for this registration; the first one recorded is kept"
            );
            Ok(false)
        }
    }
}

/// Takes a lease on a synced registration for its edits; returns what MeetMax holds (as far as
/// the warehouse knows), or `None` when another run holds the lease.
pub async fn claim_edit(
    db: &impl GenericClient,
    registration_id: &str,
    owner: Uuid,
    lease: Duration,
) -> Result<Option<Fields>, SyncError> {
    let row = db
        .query_opt(
            "UPDATE integration.meetmax_sync
                SET lease_until = now() + make_interval(secs => $3), lease_owner = $2, updated_at = now()
              WHERE registration_id = $1 AND meetmax_id IS NOT NULL
                AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $2)
             RETURNING sent_fields",
            &[&registration_id, &owner, &lease.as_secs_f64()],
        )
        .await?;
    Ok(row.map(|r| fields_of(r.get(0)).unwrap_or_default()))
}

/// Gives a lease back (edits done).
pub async fn release_lease(db: &impl GenericClient, registration_id: &str, owner: Uuid) -> Result<(), SyncError> {
    db.execute(
        "UPDATE integration.meetmax_sync SET lease_until = NULL, lease_owner = NULL
          WHERE registration_id = $1 AND lease_owner = $2",
        &[&registration_id, &owner],
    )
    .await?;
    Ok(())
}

/// A failure, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Transient, permanent or auth.
    pub class: ErrorClass,
    /// What happened (the vendor's message kept).
    pub message: String,
    /// MeetMax may have applied the request: keep the intent so the retry looks first.
    pub uncertain: bool,
}

impl Failure {
    /// The text for `exchange_registration.meetmax_status`.
    pub fn status_text(&self) -> String {
        let hint = match self.class {
            ErrorClass::Permanent => " (retried when the registration changes or this status is cleared)",
            _ => " (retried automatically)",
        };
        format!("{}: {}{hint}", self.class.as_str(), self.message)
    }
}

/// Records that MeetMax created `duplicate` for a registration that already has another record:
/// the first record stays, and the operators' status says which record to remove in MeetMax.
pub async fn record_duplicate(
    db: &impl GenericClient,
    registration_id: &str,
    duplicate: &str,
) -> Result<String, SyncError> {
    let status = format!(
        "duplicate: MeetMax record {duplicate} was also created for this registration; the recorded one is kept, remove {duplicate} in MeetMax"
    );
    db.execute(
        "WITH s AS (UPDATE integration.meetmax_sync SET error_class = 'permanent', error = $2, updated_at = now()
                     WHERE registration_id = $1 RETURNING registration_id)
         UPDATE conferences_events.exchange_registration r SET meetmax_status = $2
           FROM s WHERE r.registration_id = s.registration_id",
        &[&registration_id, &status],
    )
    .await?;
    Ok(status)
}

/// Records a failed add: releases the lease, keeps the intent only when the outcome is unknown.
/// A lease another run holds is left alone (that run records its own outcome).
pub async fn record_failed(
    db: &impl GenericClient,
    registration_id: &str,
    event_id: &str,
    failure: &Failure,
    fields: &Fields,
    owner: Uuid,
) -> Result<(), SyncError> {
    db.execute(
        "WITH s AS (INSERT INTO integration.meetmax_sync AS s (registration_id, meetmax_event_id, state, error_class, error, failed_fields)
                    VALUES ($1, $6, 'failed', $2, $3, $4)
                    ON CONFLICT (registration_id) DO UPDATE
                       SET state = 'failed', error_class = $2, error = $3, failed_fields = $4,
                           intent_at = CASE WHEN $5 THEN s.intent_at END, lease_until = NULL, lease_owner = NULL,
                           updated_at = now()
                     WHERE s.meetmax_id IS NULL
                       AND (s.lease_owner IS NULL OR s.lease_owner = $8 OR s.lease_until < now())
                    RETURNING registration_id)
         UPDATE conferences_events.exchange_registration r SET meetmax_status = $7
           FROM s WHERE r.registration_id = s.registration_id",
        &[
            &registration_id,
            &failure.class.as_str(),
            &failure.message,
            &to_json(fields),
            &failure.uncertain,
            &event_id,
            &failure.status_text(),
            &owner,
        ],
    )
    .await?;
    Ok(())
}

/// Records one successful edit: MeetMax now holds `value` in `field` (an empty value removes it).
pub async fn record_edit(
    db: &impl GenericClient,
    registration_id: &str,
    field: &str,
    value: &str,
) -> Result<(), SyncError> {
    db.execute(
        "UPDATE integration.meetmax_sync
            SET sent_fields = CASE WHEN $3 = '' THEN sent_fields - $2 ELSE sent_fields || jsonb_build_object($2::text, $3::text) END,
                edits = edits + 1, updated_at = now()
          WHERE registration_id = $1",
        &[&registration_id, &field, &value],
    )
    .await?;
    Ok(())
}

/// Records a failed edit (the record stays synced) and shows it in `meetmax_status`.
pub async fn record_edit_failed(
    db: &impl GenericClient,
    registration_id: &str,
    failure: &Failure,
    wanted: &Fields,
) -> Result<(), SyncError> {
    db.execute(
        "WITH s AS (UPDATE integration.meetmax_sync SET error_class = $2, error = $3, failed_fields = $4, updated_at = now()
                     WHERE registration_id = $1 RETURNING registration_id)
         UPDATE conferences_events.exchange_registration r SET meetmax_status = 'edit ' || $5
           FROM s WHERE r.registration_id = s.registration_id",
        &[&registration_id, &failure.class.as_str(), &failure.message, &to_json(wanted), &failure.status_text()],
    )
    .await?;
    Ok(())
}

/// Clears an earlier edit failure once every edit went through.
pub async fn clear_edit_failure(db: &impl GenericClient, registration_id: &str) -> Result<(), SyncError> {
    db.execute(
        "WITH s AS (UPDATE integration.meetmax_sync SET error_class = NULL, error = NULL, failed_fields = NULL, updated_at = now()
                     WHERE registration_id = $1 RETURNING registration_id)
         UPDATE conferences_events.exchange_registration r SET meetmax_status = NULL
           FROM s WHERE r.registration_id = s.registration_id AND r.meetmax_status IS NOT NULL",
        &[&registration_id],
    )
    .await?;
    Ok(())
}
