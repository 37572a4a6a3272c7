//! The convergence of webhook and pull: raw rows stored, mapped through the form's field map,
//! upserted into `exchange_registration`, outcomes recorded next to each raw row, new and changed
//! ids recorded in the outbox, and (for pulls) the cursor moved in the same transaction.

use std::{
    collections::{BTreeMap, HashMap},
    panic::AssertUnwindSafe,
};

use chrono::{NaiveDateTime, Utc};
use platform_domain::{
    envelope::KIND_REGISTRATIONS_CHANGED,
    mapping::{FormMapping, MappingError, RegistrationRow},
    run::RunCounts,
    submission::Submission,
};
use platform_warehouse::tokio_postgres::{Client, Transaction};
use platform_warehouse::{
    cursor, forms, outbox,
    raw::{self, MappingOutcome, NewRaw, PendingRaw, Source},
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
    /// A webhook delivery: the exact body, and the submission parsed from it (stored too).
    pub fn from_webhook(submission: Submission, raw_body: Vec<u8>, content_type: Option<String>) -> Incoming {
        let parsed = serde_json::to_value(&submission).expect("submissions serialise");
        Incoming::new(submission, raw_body, content_type, Some(parsed))
    }

    /// A pulled API record: its JSON is the raw body, from which the submission can be read again.
    pub fn from_api(submission: Submission, record_json: Vec<u8>) -> Incoming {
        Incoming::new(submission, record_json, Some("application/json".into()), None)
    }

    fn new(
        submission: Submission,
        raw_body: Vec<u8>,
        content_type: Option<String>,
        parsed: Option<serde_json::Value>,
    ) -> Incoming {
        let body_sha256 = Sha256::digest(&raw_body).to_vec();
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
    fn note_error(&mut self, sub: &Submission, error: String) {
        self.mapping_errors += 1;
        tracing::warn!(form_id = %sub.form_id, submission_id = %sub.submission_id, error = %error, "submission not mapped; stored with its error");
        if self.errors.len() < RunCounts::MAX_NOTES {
            self.errors.push(format!("submission {}: {error}", sub.submission_id));
        }
    }

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

/// Ingests `items` from `source`; when `cursor_mark` is given, moves that form's cursor in the
/// same transaction as the rows.
///
/// A webhook body exists nowhere else, so it is committed on its own (`pending`) before it is
/// interpreted; a crash after that leaves it for the scheduled sweep. A pulled record can be
/// fetched again until the cursor passes it, so its raw row, its mapping outcome, the
/// registration and the cursor commit together, in fewer statements.
pub async fn ingest(
    conn: &mut Client,
    source: Source,
    signature_verified: bool,
    run_id: Uuid,
    items: Vec<Incoming>,
    cursor_mark: Option<(&str, NaiveDateTime)>,
) -> Result<IngestReport, IntakeError> {
    let received = items.len() as u64;
    let (raws, subs): (Vec<NewRaw>, Vec<Submission>) = items.into_iter().map(|i| (i.raw, i.submission)).unzip();
    let mut report = match source {
        Source::Webhook => {
            let ids = raw::insert(&*conn, source, signature_verified, run_id, &raws, None).await?;
            let pending: Vec<(i64, Submission)> =
                ids.into_iter().zip(subs).filter_map(|(id, sub)| id.map(|id| (id, sub))).collect();
            let replays = received - pending.len() as u64;
            let tx = conn.transaction().await?;
            let mut report = process(&tx, run_id, pending).await?;
            if let Some((form_id, mark)) = cursor_mark {
                cursor::advance(&tx, form_id, mark, run_id).await?;
            }
            tx.commit().await?;
            report.replays = replays;
            report
        }
        Source::Pull => {
            let tx = conn.transaction().await?;
            let subs: Vec<&Submission> = subs.iter().collect();
            let mappings = load_mappings(&tx, &subs).await?;
            let mapped: Vec<Result<RegistrationRow, String>> = subs.iter().map(|s| map_one(&mappings, s)).collect();
            let errors: Vec<Option<String>> = mapped.iter().map(|m| m.as_ref().err().cloned()).collect();
            let ids = raw::insert(&tx, source, signature_verified, run_id, &raws, Some(&errors)).await?;
            let mut report = IngestReport::default();
            let mut rows = Vec::new();
            for ((id, result), sub) in ids.iter().zip(mapped).zip(&subs) {
                if id.is_none() {
                    report.replays += 1;
                    continue;
                }
                match result {
                    Ok(row) => rows.push(row),
                    Err(e) => report.note_error(sub, e),
                }
            }
            report.mapped = rows.len() as u64;
            write_rows(&tx, &mappings, rows, run_id, &mut report).await?;
            if let Some((form_id, mark)) = cursor_mark {
                cursor::advance(&tx, form_id, mark, run_id).await?;
            }
            tx.commit().await?;
            report
        }
    };
    report.received = received;
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
        let batch = raw::unmapped(&*conn, include_errors, form_id, before, after_id, 1000).await?;
        let Some(last) = batch.last() else { break };
        after_id = last.id;
        let mut pending = Vec::with_capacity(batch.len());
        let mut broken = Vec::new();
        for row in batch {
            match reread(&row) {
                Ok(sub) => pending.push((row.id, sub)),
                Err(e) => broken.push(MappingOutcome { id: row.id, error: Some(e) }),
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

/// The submission of a stored raw row: its stored parse, or the pulled record read again.
fn reread(row: &PendingRaw) -> Result<Submission, String> {
    match &row.parsed {
        Some(parsed) => serde_json::from_value(parsed.clone()).map_err(|e| format!("stored parse unreadable: {e}")),
        None => {
            let record: serde_json::Value =
                serde_json::from_slice(&row.raw_body).map_err(|e| format!("stored record is not JSON: {e}"))?;
            Submission::from_api(&row.form_id, &record).map_err(|e| format!("stored record unreadable: {e}"))
        }
    }
}

/// Maps stored `pending` rows (raw id, submission), writes the registrations and records each
/// row's outcome, inside the caller's transaction.
async fn process(
    tx: &Transaction<'_>,
    run_id: Uuid,
    pending: Vec<(i64, Submission)>,
) -> Result<IngestReport, IntakeError> {
    let mut report = IngestReport::default();
    if pending.is_empty() {
        return Ok(report);
    }
    let subs: Vec<&Submission> = pending.iter().map(|(_, s)| s).collect();
    let mappings = load_mappings(tx, &subs).await?;
    let mut outcomes = Vec::with_capacity(pending.len());
    let mut rows = Vec::with_capacity(pending.len());
    for (raw_id, sub) in &pending {
        match map_one(&mappings, sub) {
            Ok(row) => {
                outcomes.push(MappingOutcome { id: *raw_id, error: None });
                rows.push(row);
            }
            Err(e) => {
                outcomes.push(MappingOutcome { id: *raw_id, error: Some(e.clone()) });
                report.note_error(sub, e);
            }
        }
    }
    report.mapped = rows.len() as u64;
    write_rows(tx, &mappings, rows, run_id, &mut report).await?;
    raw::set_outcomes(tx, &outcomes).await?;
    Ok(report)
}

type Mappings = HashMap<String, Result<FormMapping, MappingError>>;

async fn load_mappings(tx: &Transaction<'_>, subs: &[&Submission]) -> Result<Mappings, IntakeError> {
    let mut form_ids: Vec<String> = subs.iter().map(|s| s.form_id.clone()).collect();
    form_ids.sort();
    form_ids.dedup();
    Ok(forms::mappings(tx, &form_ids).await?)
}

/// Maps one submission; a panic in the mapper becomes this submission's error, never the batch's.
fn map_one(mappings: &Mappings, sub: &Submission) -> Result<RegistrationRow, String> {
    let mapping = match mappings.get(&sub.form_id) {
        Some(Ok(m)) => m,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err(MappingError::UnknownForm(sub.form_id.clone()).to_string()),
    };
    match std::panic::catch_unwind(AssertUnwindSafe(|| mapping.map(sub))) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("internal error while mapping (a bug): the submission is kept for a remap".into()),
    }
}

/// Upserts mapped rows (one statement per form and timestamp kind; the last version of a
/// submission wins) and records the new and changed ids in the outbox.
async fn write_rows(
    tx: &Transaction<'_>,
    mappings: &Mappings,
    rows: Vec<RegistrationRow>,
    run_id: Uuid,
    report: &mut IngestReport,
) -> Result<(), IntakeError> {
    let mut groups: BTreeMap<(String, bool), BTreeMap<String, RegistrationRow>> = BTreeMap::new();
    for row in rows {
        let key = (row.form_id.clone(), row.submitted_at.is_some());
        groups.entry(key).or_default().insert(row.registration_id.clone(), row);
    }
    let mut changed: Vec<String> = Vec::new();
    let mut upserted = 0u64;
    for ((form_id, real_time), rows) in groups {
        let Some(Ok(mapping)) = mappings.get(&form_id) else { continue };
        let rows: Vec<RegistrationRow> = rows.into_values().collect();
        upserted += rows.len() as u64;
        let outcome = registrations::upsert(tx, mapping, &rows, real_time).await?;
        report.inserted += outcome.inserted.len() as u64;
        report.updated += outcome.updated.len() as u64;
        changed.extend(outcome.inserted);
        changed.extend(outcome.updated);
    }
    report.unchanged += upserted - (report.inserted + report.updated).min(upserted);
    changed.sort();
    changed.dedup();
    outbox::enqueue(tx, KIND_REGISTRATIONS_CHANGED, &changed, run_id).await?;
    Ok(())
}
