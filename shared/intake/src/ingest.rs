//! The convergence of webhook and pull: raw rows first (committed on their own), then, in one
//! transaction, mapping, the registration upsert, mapping outcomes, outbox entries and (for
//! pulls) the cursor.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDateTime, Utc};
use platform_domain::{
    envelope::KIND_REGISTRATIONS_CHANGED, mapping::RegistrationRow, run::RunCounts, submission::Submission,
};
use platform_warehouse::tokio_postgres::{Client, Transaction};
use platform_warehouse::{
    cursor, forms, outbox,
    raw::{self, MappingOutcome, NewRaw, Source},
    registrations,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::IntakeError;

/// One inbound submission: its raw form and its parsed form.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// What is stored first.
    pub raw: NewRaw,
    /// What is mapped.
    pub submission: Submission,
}

impl Incoming {
    /// Pairs a parsed submission with the exact bytes it came from.
    pub fn new(submission: Submission, raw_body: Vec<u8>, content_type: Option<String>) -> Incoming {
        let body_sha256 = Sha256::digest(&raw_body).to_vec();
        let parsed = serde_json::to_value(&submission).expect("submissions serialise");
        Incoming {
            raw: NewRaw {
                form_id: submission.form_id.clone(),
                submission_id: submission.submission_id.clone(),
                content_type,
                raw_body,
                body_sha256,
                parsed,
            },
            submission,
        }
    }
}

/// What one ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Submissions offered.
    pub received: u64,
    /// Already stored and processed (replays, overlaps): nothing changed.
    pub replays: u64,
    /// Mapped successfully.
    pub mapped: u64,
    /// Failed mapping (stored with the error).
    pub mapping_errors: u64,
    /// Registrations inserted.
    pub inserted: u64,
    /// Registrations changed.
    pub updated: u64,
    /// Mapped but identical to the stored registration.
    pub unchanged: u64,
    /// First few mapping errors, for the run record.
    pub errors: Vec<String>,
}

impl IngestReport {
    /// Adds another report into this one.
    pub fn absorb(&mut self, o: IngestReport) {
        self.received += o.received;
        self.replays += o.replays;
        self.mapped += o.mapped;
        self.mapping_errors += o.mapping_errors;
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.errors.extend(o.errors);
        self.errors.truncate(RunCounts::MAX_NOTES);
    }

    /// The run-record view of this report.
    pub fn counts(&self) -> RunCounts {
        let mut c = RunCounts {
            read: self.received,
            written: self.inserted + self.updated,
            skipped: self.replays + self.unchanged,
            failed: self.mapping_errors,
            notes: Vec::new(),
        };
        for e in &self.errors {
            c.note(e.clone());
        }
        c
    }
}

/// Stores `items` raw (committed at once), then maps and upserts those not yet processed; when
/// `cursor` is given, moves that form's cursor in the same transaction as the rows.
pub async fn ingest(
    conn: &mut Client,
    source: Source,
    signature_verified: bool,
    run_id: Uuid,
    items: Vec<Incoming>,
    cursor_mark: Option<(&str, NaiveDateTime)>,
) -> Result<IngestReport, IntakeError> {
    let raws: Vec<NewRaw> = items.iter().map(|i| i.raw.clone()).collect();
    let ids = raw::insert(&*conn, source, signature_verified, run_id, &raws).await?;
    let received = items.len() as u64;
    let pending: Vec<(i64, Submission)> =
        ids.into_iter().zip(items).filter_map(|(id, item)| id.map(|id| (id, item.submission))).collect();
    let replays = received - pending.len() as u64;

    let tx = conn.transaction().await?;
    let mut report = process(&tx, run_id, pending).await?;
    if let Some((form_id, mark)) = cursor_mark {
        cursor::advance(&tx, form_id, mark, run_id).await?;
    }
    tx.commit().await?;
    report.received = received;
    report.replays = replays;
    Ok(report)
}

/// Maps stored raw rows again: those left `pending` by a crash (received before `before`) and,
/// with `include_errors`, those that failed mapping (after the form's configuration was fixed).
pub async fn remap(
    conn: &mut Client,
    run_id: Uuid,
    include_errors: bool,
    form_id: Option<&str>,
    before: chrono::DateTime<Utc>,
) -> Result<IngestReport, IntakeError> {
    let mut total = IngestReport::default();
    let mut after_id = 0i64;
    loop {
        let batch = raw::unmapped(&*conn, include_errors, form_id, before, 1000).await?;
        let batch: Vec<_> = batch.into_iter().filter(|r| r.id > after_id).collect();
        let Some(last) = batch.last() else { break };
        after_id = last.id;
        let mut pending = Vec::with_capacity(batch.len());
        let mut broken = Vec::new();
        for row in batch {
            match serde_json::from_value::<Submission>(row.parsed) {
                Ok(sub) => pending.push((row.id, sub)),
                Err(e) => {
                    broken.push(MappingOutcome { id: row.id, error: Some(format!("stored parse unreadable: {e}")) })
                }
            }
        }
        let n = (pending.len() + broken.len()) as u64;
        let tx = conn.transaction().await?;
        raw::set_outcomes(&tx, &broken).await?;
        let mut report = process(&tx, run_id, pending).await?;
        tx.commit().await?;
        report.received = n;
        report.mapping_errors += broken.len() as u64;
        total.absorb(report);
    }
    Ok(total)
}

/// Maps, upserts and records outcomes and outbox entries for `pending` (raw id, submission),
/// inside the caller's transaction.
async fn process(
    tx: &Transaction<'_>,
    run_id: Uuid,
    pending: Vec<(i64, Submission)>,
) -> Result<IngestReport, IntakeError> {
    let mut report = IngestReport::default();
    if pending.is_empty() {
        return Ok(report);
    }
    let mut form_ids: Vec<String> = pending.iter().map(|(_, s)| s.form_id.clone()).collect();
    form_ids.sort();
    form_ids.dedup();
    let mappings = forms::mappings(tx, &form_ids).await?;

    let mut outcomes = Vec::with_capacity(pending.len());
    // (form, carries real time) -> registration_id -> row; the last version of a submission wins.
    let mut groups: BTreeMap<(String, bool), BTreeMap<String, RegistrationRow>> = BTreeMap::new();
    for (raw_id, sub) in &pending {
        let mapped = match mappings.get(&sub.form_id).expect("every form looked up") {
            Ok(mapping) => mapping.map(sub),
            Err(e) => Err(e.clone()),
        };
        match mapped {
            Ok(row) => {
                report.mapped += 1;
                outcomes.push(MappingOutcome { id: *raw_id, error: None });
                let key = (row.form_id.clone(), row.submitted_at.is_some());
                groups.entry(key).or_default().insert(row.registration_id.clone(), row);
            }
            Err(e) => {
                report.mapping_errors += 1;
                let text = e.to_string();
                if report.errors.len() < RunCounts::MAX_NOTES {
                    report.errors.push(format!("submission {}: {text}", sub.submission_id));
                }
                tracing::warn!(form_id = %sub.form_id, submission_id = %sub.submission_id, error = %text, "submission not mapped; stored with its error");
                outcomes.push(MappingOutcome { id: *raw_id, error: Some(text) });
            }
        }
    }

    let mut changed: Vec<String> = Vec::new();
    let mut upserted = 0u64;
    let by_form: HashMap<&String, _> = mappings.iter().collect();
    for ((form_id, real_time), rows) in &groups {
        let mapping = by_form[form_id].as_ref().expect("rows only for usable mappings");
        let rows: Vec<RegistrationRow> = rows.values().cloned().collect();
        upserted += rows.len() as u64;
        let outcome = registrations::upsert(tx, mapping, &rows, *real_time).await?;
        report.inserted += outcome.inserted.len() as u64;
        report.updated += outcome.updated.len() as u64;
        changed.extend(outcome.inserted);
        changed.extend(outcome.updated);
    }
    report.unchanged = upserted - report.inserted - report.updated;
    raw::set_outcomes(tx, &outcomes).await?;
    changed.sort();
    changed.dedup();
    outbox::enqueue(tx, KIND_REGISTRATIONS_CHANGED, &changed, run_id).await?;
    Ok(report)
}
