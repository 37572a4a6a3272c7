//! `integration.raw_submission`: inbound submissions stored before they are interpreted.

use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::Result;

/// Where a submission came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A signed webhook delivery.
    Webhook,
    /// The scheduled API pull.
    Pull,
}

impl Source {
    /// The value stored in `raw_submission.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Pull => "pull",
        }
    }
}

/// One raw submission to store.
#[derive(Debug, Clone)]
pub struct NewRaw {
    /// Formstack form id.
    pub form_id: String,
    /// Formstack submission id.
    pub submission_id: String,
    /// `Content-Type` of the body.
    pub content_type: Option<String>,
    /// The body exactly as received (for a pull: the record's JSON).
    pub raw_body: Vec<u8>,
    /// SHA-256 of `raw_body`.
    pub body_sha256: Vec<u8>,
    /// The parsed submission (webhooks); `None` when the raw body is the record's JSON (pulls).
    pub parsed: Option<serde_json::Value>,
    /// When it was received: for a pulled record, when its page was fetched (rows are written
    /// later, in batches); `None` = now. Orders the versions of a submission.
    pub received_at: Option<DateTime<Utc>>,
}

/// A stored raw row, as the version guard needs it: its id and when it was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRaw {
    /// `raw_submission.id`.
    pub id: i64,
    /// `raw_submission.received_at`.
    pub received_at: DateTime<Utc>,
}

/// A stored raw submission that still needs mapping.
#[derive(Debug, Clone)]
pub struct PendingRaw {
    /// `raw_submission.id`.
    pub id: i64,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// Form id.
    pub form_id: String,
    /// Where it came in.
    pub source: String,
    /// The parsed submission, when stored.
    pub parsed: Option<serde_json::Value>,
    /// The raw body.
    pub raw_body: Vec<u8>,
}

/// Stores raw submissions in one statement. Returns, in input order, the stored row of each
/// input that still needs processing: `Some` for new rows and for stored rows still `pending`,
/// `None` for replays already processed (they change nothing).
///
/// With `mapped`, the rows are stored as mapped: the caller maps them and writes the
/// registrations in the same transaction, and corrects the few that failed, were refused or were
/// superseded before it commits. Without, they are stored `pending`.
pub async fn insert(
    db: &impl deadpool_postgres::GenericClient,
    source: Source,
    signature_verified: bool,
    run_id: Uuid,
    rows: &[NewRaw],
    mapped: bool,
) -> Result<Vec<Option<StoredRaw>>> {
    let form_ids: Vec<&str> = rows.iter().map(|r| r.form_id.as_str()).collect();
    let sub_ids: Vec<&str> = rows.iter().map(|r| r.submission_id.as_str()).collect();
    let content_types: Vec<Option<&str>> = rows.iter().map(|r| r.content_type.as_deref()).collect();
    let bodies: Vec<&[u8]> = rows.iter().map(|r| r.raw_body.as_slice()).collect();
    let hashes: Vec<&[u8]> = rows.iter().map(|r| r.body_sha256.as_slice()).collect();
    let parsed: Vec<Option<&serde_json::Value>> = rows.iter().map(|r| r.parsed.as_ref()).collect();
    let received: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.received_at).collect();
    // Prepared once per connection (the pool's statement cache), planned generically after a few runs.
    let statement = db
        .prepare_cached(
            "INSERT INTO integration.raw_submission AS s
                    (form_id, submission_id, source, content_type, raw_body, body_sha256, parsed,
                     signature_verified, run_id, mapping_status, mapping_error, mapped_at, received_at)
             SELECT u.form_id, u.submission_id, $3, u.content_type, u.raw_body, u.body_sha256, u.parsed, $4, $5,
                    CASE WHEN $11 THEN 'mapped' ELSE 'pending' END, NULL, CASE WHEN $11 THEN now() END,
                    COALESCE(u.received_at, now())
               FROM unnest($1::text[], $2::text[], $6::text[], $7::bytea[], $8::bytea[], $9::jsonb[], $10::timestamptz[])
                    AS u(form_id, submission_id, content_type, raw_body, body_sha256, parsed, received_at)
             ON CONFLICT (form_id, submission_id, body_sha256)
             DO UPDATE SET run_id = excluded.run_id, mapping_status = excluded.mapping_status,
                           mapping_error = excluded.mapping_error, mapped_at = excluded.mapped_at
              WHERE s.mapping_status = 'pending'
             RETURNING s.id, s.form_id, s.submission_id, s.body_sha256, s.received_at",
        )
        .await?;
    let stored = db
        .query(
            &statement,
            &[
                &form_ids,
                &sub_ids,
                &source.as_str(),
                &signature_verified,
                &run_id,
                &content_types,
                &bodies,
                &hashes,
                &parsed,
                &received,
                &mapped,
            ],
        )
        .await?;
    let index: std::collections::HashMap<(&str, &str, &[u8]), usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.form_id.as_str(), r.submission_id.as_str(), r.body_sha256.as_slice()), i))
        .collect();
    let mut ids = vec![None; rows.len()];
    for row in &stored {
        let key: (&str, &str, &[u8]) = (row.get(1), row.get(2), row.get(3));
        if let Some(&i) = index.get(&key) {
            ids[i] = Some(StoredRaw { id: row.get(0), received_at: row.get(4) });
        }
    }
    Ok(ids)
}

/// The outcome of mapping one raw row.
#[derive(Debug, Clone)]
pub struct MappingOutcome {
    /// `raw_submission.id`.
    pub id: i64,
    /// `None` when mapped, else the error text (for a superseded row: why).
    pub error: Option<String>,
    /// A newer version of the submission was already applied (`superseded`, not an error).
    pub superseded: bool,
}

impl MappingOutcome {
    /// Mapped and written.
    pub fn mapped(id: i64) -> MappingOutcome {
        MappingOutcome { id, error: None, superseded: false }
    }

    /// Failed, with the reason.
    pub fn failed(id: i64, error: String) -> MappingOutcome {
        MappingOutcome { id, error: Some(error), superseded: false }
    }
}

/// Records mapping outcomes (status, error, time) in one statement.
pub async fn set_outcomes(db: &impl GenericClient, outcomes: &[MappingOutcome]) -> Result<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = outcomes.iter().map(|o| o.id).collect();
    let errors: Vec<Option<&str>> = outcomes.iter().map(|o| o.error.as_deref()).collect();
    let superseded: Vec<bool> = outcomes.iter().map(|o| o.superseded).collect();
    db.execute(
        "UPDATE integration.raw_submission s
            SET mapping_status = CASE WHEN u.superseded THEN 'superseded'
                                      WHEN u.error IS NULL THEN 'mapped' ELSE 'error' END,
                mapping_error = u.error,
                mapped_at = now()
           FROM unnest($1::bigint[], $2::text[], $3::bool[]) AS u(id, error, superseded)
          WHERE s.id = u.id",
        &[&ids, &errors, &superseded],
    )
    .await?;
    Ok(())
}

/// Raw rows waiting for (re)mapping, oldest first, with ids above `after_id` (for paging):
/// `pending` ones received before `before` (left by a crash or a failed write), and, when
/// `include_errors`, those that failed mapping.
pub async fn unmapped(
    db: &impl GenericClient,
    include_errors: bool,
    form_id: Option<&str>,
    before: DateTime<Utc>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<PendingRaw>> {
    let rows = db
        .query(
            "SELECT id, form_id, source, parsed, raw_body, received_at FROM integration.raw_submission
              WHERE (mapping_status = 'pending' OR ($1 AND mapping_status = 'error'))
                AND ($2::text IS NULL OR form_id = $2)
                AND received_at < $3 AND id > $4
              ORDER BY id LIMIT $5",
            &[&include_errors, &form_id, &before, &after_id, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| PendingRaw {
            id: r.get(0),
            received_at: r.get(5),
            form_id: r.get(1),
            source: r.get(2),
            parsed: r.get(3),
            raw_body: r.get(4),
        })
        .collect())
}
