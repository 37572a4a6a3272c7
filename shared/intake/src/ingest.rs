//! The convergence of webhook and pull: raw rows stored, mapped through the form's field map,
//! upserted into `exchange_registration`, outcomes recorded next to each raw row, new and changed
//! ids recorded in the outbox, and (for pulls) the cursor moved in the same transaction.

use std::{
    collections::{BTreeMap, HashMap},
    panic::AssertUnwindSafe,
};

use chrono::{NaiveDateTime, Utc};
use platform_domain::{
    envelope::{KIND_LEADS_RECEIVED, KIND_REGISTRATIONS_CHANGED},
    lead::LeadRow,
    mapping::{FlowMapping, FormMapping, MappingError, RegistrationRow},
    run::RunCounts,
    submission::Submission,
};
use platform_warehouse::{Connection, Transaction};
use platform_warehouse::{
    cursor, forms, isolate, leads, outbox,
    raw::{self, MappingOutcome, NewRaw, PendingRaw, Source, StoredRaw},
    registrations::{self, RowResult},
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

    /// A pulled API record: its JSON is the raw body, from which the submission can be read
    /// again. A record holding NUL characters (which `jsonb` refuses) also keeps its cleaned parse,
    /// so that it stays readable in the warehouse.
    pub fn from_api(submission: Submission, record: &serde_json::Value) -> Incoming {
        let body = serde_json::to_vec(record).expect("JSON values serialise");
        let parsed = platform_domain::storable::has_nul(record)
            .then(|| serde_json::to_value(&submission).expect("submissions serialise"));
        let mut incoming = Incoming::new(submission, body, Some("application/json".into()), parsed);
        // Fetched now, written later (in batches): the fetch time orders it among versions.
        incoming.raw.received_at = Some(Utc::now());
        incoming
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
                received_at: None,
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
    /// Leads of lander forms stored (new leads, announced to lead-delivery).
    pub leads: u64,
    /// Registrations changed.
    pub updated: u64,
    /// Mapped but identical to the stored registration.
    pub unchanged: u64,
    /// Mapped, but the registration already holds a newer version (nothing written).
    pub superseded: u64,
    /// Refused by the database (a value it cannot store) or by the form guard: stored raw with
    /// the reason, counted in `mapping_errors` too.
    pub refused: u64,
    /// First few mapping errors, for the run record.
    pub errors: Vec<String>,
}

impl IngestReport {
    fn note_error(&mut self, submission_id: &str, error: &str) {
        self.mapping_errors += 1;
        tracing::warn!(submission_id, error, "submission not mapped; stored with its error");
        if self.errors.len() < RunCounts::MAX_NOTES {
            self.errors.push(format!("submission {submission_id}: {error}"));
        }
    }

    /// Adds another report into this one.
    pub fn absorb(&mut self, o: IngestReport) {
        self.received += o.received;
        self.replays += o.replays;
        self.mapped += o.mapped;
        self.mapping_errors += o.mapping_errors;
        self.inserted += o.inserted;
        self.leads += o.leads;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.superseded += o.superseded;
        self.refused += o.refused;
        self.errors.extend(o.errors);
        self.errors.truncate(RunCounts::MAX_NOTES);
    }

    /// The run-record view of this report.
    pub fn counts(&self) -> RunCounts {
        let mut c = RunCounts {
            read: self.received,
            written: self.inserted + self.updated + self.leads,
            skipped: self.replays + self.unchanged + self.superseded,
            failed: self.mapping_errors,
            notes: Vec::new(),
        };
        for e in &self.errors {
            c.note(e.clone());
        }
        c
    }
}

/// How far a pull got, committed with its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorMark<'a> {
    /// The form.
    pub form_id: &'a str,
    /// The newest submission time committed (the incremental cursor never moves back).
    pub high_water: Option<NaiveDateTime>,
    /// In a full scan: the next page to read.
    pub scan_next_page: Option<u32>,
}

/// Ingests `items` from `source`; when `cursor_mark` is given, moves that form's cursor in the
/// same transaction as the rows.
///
/// A webhook body exists nowhere else, so it is committed on its own (`pending`) before it is
/// interpreted; a crash after that leaves it for the scheduled sweep. A pulled record can be
/// fetched again until the cursor passes it, so its raw row, its mapping outcome, the
/// registration and the cursor commit together. A row the database refuses never fails the
/// batch (see [`process`]).
pub async fn ingest(
    conn: &mut Connection,
    source: Source,
    signature_verified: bool,
    run_id: Uuid,
    items: Vec<Incoming>,
    cursor_mark: Option<CursorMark<'_>>,
) -> Result<IngestReport, IntakeError> {
    let received = items.len() as u64;
    let (raws, subs): (Vec<NewRaw>, Vec<Submission>) = items.into_iter().map(|i| (i.raw, i.submission)).unzip();
    let (tx, mut report, replays) = match source {
        Source::Webhook => {
            let ids = raw::insert(&*conn, source, signature_verified, run_id, &raws, false).await?;
            let mut tx = conn.transaction().await?;
            let pending: Vec<(StoredRaw, Submission)> =
                ids.into_iter().zip(subs).filter_map(|(stored, sub)| stored.map(|stored| (stored, sub))).collect();
            let replays = received - pending.len() as u64;
            let report = process(&mut tx, run_id, pending).await?;
            (tx, report, replays)
        }
        Source::Pull => {
            // Stored as mapped while they are mapped: the raw rows' statement is sent first, and
            // the mapping (and the freeing of the parsed submissions) runs while the database
            // works. The few that fail mapping, are superseded or are refused are corrected
            // before the commit, so every raw row is committed with its outcome.
            let mut tx = conn.transaction().await?;
            let mappings = load_mappings(&tx, &subs.iter().collect::<Vec<_>>()).await?;
            let insert = raw::insert(&tx, source, signature_verified, run_id, &raws, true);
            let (stored, mapped) = while_sent(insert, || {
                let mapped: Vec<Result<Mapped, (String, String)>> =
                    subs.iter().map(|s| map_one(&mappings, s).map_err(|e| (s.submission_id.clone(), e))).collect();
                drop(subs);
                mapped
            })
            .await;
            let stored = stored?;
            drop(raws);
            let mut report = IngestReport::default();
            let mut replays = 0;
            let mut rows = Vec::with_capacity(stored.len());
            let mut failed = Vec::new();
            for (stored, result) in stored.into_iter().zip(mapped) {
                match (stored, result) {
                    (None, _) => replays += 1,
                    (Some(raw), Ok(row)) => rows.push((raw, row)),
                    (Some(raw), Err((submission_id, e))) => {
                        report.note_error(&submission_id, &e);
                        failed.push(MappingOutcome::failed(raw.id, e));
                    }
                }
            }
            report.mapped = rows.len() as u64;
            let written = write_rows(&mut tx, &mappings, rows, run_id, &mut report).await?;
            failed.extend(written.into_iter().filter(|o| o.error.is_some()));
            raw::set_outcomes(&*tx, &failed).await?;
            (tx, report, replays)
        }
    };
    if let Some(mark) = cursor_mark {
        if let Some(high_water) = mark.high_water {
            cursor::advance(&*tx, mark.form_id, high_water, run_id).await?;
        }
        if let Some(page) = mark.scan_next_page {
            cursor::scan_reached(&*tx, mark.form_id, page).await?;
        }
    }
    tx.commit().await?;
    report.replays = replays;
    report.received = received;
    Ok(report)
}

/// Maps stored raw rows again: those left `pending` by a crash (received before `before`) and,
/// with `include_errors`, those that failed mapping (after the form's configuration was fixed).
pub async fn remap(
    conn: &mut Connection,
    run_id: Uuid,
    include_errors: bool,
    form_id: Option<&str>,
    before: chrono::DateTime<Utc>,
) -> Result<IngestReport, IntakeError> {
    let mut total = IngestReport::default();
    let mut after_id = 0i64;
    loop {
        let batch = raw::unmapped(&***conn, include_errors, form_id, before, after_id, 1000).await?;
        let Some(last) = batch.last() else { break };
        after_id = last.id;
        let mut pending = Vec::with_capacity(batch.len());
        let mut broken = Vec::new();
        for row in batch {
            match reread(&row) {
                Ok(sub) => pending.push((StoredRaw { id: row.id, received_at: row.received_at }, sub)),
                Err(e) => broken.push(MappingOutcome::failed(row.id, e)),
            }
        }
        let n = (pending.len() + broken.len()) as u64;
        let mut tx = conn.transaction().await?;
        raw::set_outcomes(&*tx, &broken).await?;
        let mut report = process(&mut tx, run_id, pending).await?;
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
/// row's outcome, inside the caller's transaction. A row the database refuses is isolated (see
/// [`upsert_isolating`]) and stored with the database's reason; the others are written.
async fn process(
    tx: &mut Transaction<'_>,
    run_id: Uuid,
    pending: Vec<(StoredRaw, Submission)>,
) -> Result<IngestReport, IntakeError> {
    let mut report = IngestReport::default();
    if pending.is_empty() {
        return Ok(report);
    }
    let subs: Vec<&Submission> = pending.iter().map(|(_, s)| s).collect();
    let mappings = load_mappings(tx, &subs).await?;
    let mut outcomes = Vec::with_capacity(pending.len());
    let mut rows = Vec::with_capacity(pending.len());
    for (raw, sub) in &pending {
        match map_one(&mappings, sub) {
            Ok(row) => rows.push((*raw, row)),
            Err(e) => {
                report.note_error(&sub.submission_id, &e);
                outcomes.push(MappingOutcome::failed(raw.id, e));
            }
        }
    }
    report.mapped = rows.len() as u64;
    outcomes.extend(write_rows(tx, &mappings, rows, run_id, &mut report).await?);
    raw::set_outcomes(&**tx, &outcomes).await?;
    Ok(report)
}

type Mappings = HashMap<String, Result<FlowMapping, MappingError>>;

/// A submission mapped by its form's flow.
enum Mapped {
    /// A registration form's row.
    Registration(RegistrationRow),
    /// A lander form's lead.
    Lead(LeadRow),
}

async fn load_mappings(tx: &Transaction<'_>, subs: &[&Submission]) -> Result<Mappings, IntakeError> {
    let mut form_ids: Vec<String> = subs.iter().map(|s| s.form_id.clone()).collect();
    form_ids.sort();
    form_ids.dedup();
    Ok(forms::mappings(tx, &form_ids).await?)
}

/// Maps one submission; a panic in the mapper becomes this submission's error, never the batch's.
fn map_one(mappings: &Mappings, sub: &Submission) -> Result<Mapped, String> {
    let mapping = match mappings.get(&sub.form_id) {
        Some(Ok(m)) => m,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err(MappingError::UnknownForm(sub.form_id.clone()).to_string()),
    };
    let map = || match mapping {
        FlowMapping::Registration(m) => m.map(sub).map(Mapped::Registration),
        FlowMapping::Lander(m) => m.map(sub).map(Mapped::Lead),
    };
    match std::panic::catch_unwind(AssertUnwindSafe(map)) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("internal error while mapping (a bug): the submission is kept for a remap".into()),
    }
}

/// Writes mapped rows (raw id, row): registrations (see [`write_registrations`]) and leads of
/// lander forms (see [`write_leads`]). Returns each raw row's outcome.
async fn write_rows(
    tx: &mut Transaction<'_>,
    mappings: &Mappings,
    rows: Vec<(StoredRaw, Mapped)>,
    run_id: Uuid,
    report: &mut IngestReport,
) -> Result<Vec<MappingOutcome>, IntakeError> {
    let mut registrations = Vec::with_capacity(rows.len());
    let mut leads = Vec::new();
    for (raw, row) in rows {
        match row {
            Mapped::Registration(r) => registrations.push((raw, r)),
            Mapped::Lead(l) => leads.push((raw.id, l)),
        }
    }
    let mut outcomes = write_registrations(tx, mappings, registrations, run_id, report).await?;
    if !leads.is_empty() {
        outcomes.extend(write_leads(tx, leads, run_id, report).await?);
    }
    Ok(outcomes)
}

/// Upserts registration rows (raw row, row): one statement per form and timestamp kind; of
/// several versions of a submission in the batch the newest is written and the others are
/// superseded. Records the new and changed ids in the outbox. Returns each raw row's outcome.
async fn write_registrations(
    tx: &mut Transaction<'_>,
    mappings: &Mappings,
    rows: Vec<(StoredRaw, RegistrationRow)>,
    run_id: Uuid,
    report: &mut IngestReport,
) -> Result<Vec<MappingOutcome>, IntakeError> {
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut groups: BTreeMap<(String, bool), BTreeMap<String, (StoredRaw, RegistrationRow)>> = BTreeMap::new();
    for (raw, row) in rows {
        let key = (row.form_id.clone(), row.submitted_at.is_some());
        let group = groups.entry(key).or_default();
        let older = match group.get(&row.registration_id) {
            Some((held, _)) if held.id > raw.id => raw.id,
            Some((held, _)) => {
                let held_id = held.id;
                group.insert(row.registration_id.clone(), (raw, row));
                held_id
            }
            None => {
                group.insert(row.registration_id.clone(), (raw, row));
                continue;
            }
        };
        report.superseded += 1;
        outcomes.push(MappingOutcome {
            id: older,
            error: Some("superseded: a newer version of this submission came in the same batch".into()),
            superseded: true,
        });
    }
    let mut changed: Vec<String> = Vec::new();
    for ((form_id, real_time), rows) in groups {
        let Some(Ok(FlowMapping::Registration(mapping))) = mappings.get(&form_id) else { continue };
        let rows: Vec<(StoredRaw, RegistrationRow)> = rows.into_values().collect();
        for (raw_id, registration_id, result) in upsert_isolating(tx, mapping, rows, real_time).await? {
            match result {
                Written::Row(RowResult::Inserted) => {
                    report.inserted += 1;
                    changed.push(registration_id);
                }
                Written::Row(RowResult::Updated) => {
                    report.updated += 1;
                    changed.push(registration_id);
                }
                Written::Row(RowResult::Unchanged) => report.unchanged += 1,
                Written::Row(RowResult::Superseded) => {
                    report.superseded += 1;
                    outcomes.push(MappingOutcome {
                        id: raw_id,
                        error: Some("superseded: the registration already holds a newer version".into()),
                        superseded: true,
                    });
                    continue;
                }
                Written::Row(RowResult::OtherForm(owner)) => {
                    let e = format!(
                        "refused: registration {registration_id} belongs to form {owner}; a submission of form {form_id} cannot change it"
                    );
                    tracing::warn!(%registration_id, %owner, %form_id, "cross-form write refused");
                    report.refused += 1;
                    report.note_error(&registration_id, &e);
                    outcomes.push(MappingOutcome::failed(raw_id, e));
                    continue;
                }
                Written::Refused(reason) => {
                    let e = format!("refused by the database: {reason}");
                    report.refused += 1;
                    report.note_error(&registration_id, &e);
                    outcomes.push(MappingOutcome::failed(raw_id, e));
                    continue;
                }
            }
            outcomes.push(MappingOutcome::mapped(raw_id));
        }
    }
    changed.sort();
    changed.dedup();
    outbox::enqueue(&**tx, KIND_REGISTRATIONS_CHANGED, &changed, run_id).await?;
    Ok(outcomes)
}

/// Why a later version of a lander submission changes nothing.
const LEAD_KEPT: &str =
    "superseded: a lead from this submission was already received; a lead is delivered as it first arrived";

/// Stores leads of lander forms (raw id, lead) and announces the new ones to lead-delivery
/// through the outbox, in the caller's transaction. A lead is what its submission was when it
/// first arrived: a later version (an edit, or the pull of a submission the webhook brought)
/// changes nothing and is kept raw, marked superseded. A lead the database refuses is isolated
/// and stored raw with the reason; the others are written.
async fn write_leads(
    tx: &mut Transaction<'_>,
    rows: Vec<(i64, LeadRow)>,
    run_id: Uuid,
    report: &mut IngestReport,
) -> Result<Vec<MappingOutcome>, IntakeError> {
    let mut outcomes = Vec::with_capacity(rows.len());
    // The first arrival (lowest raw id) of each submission in the batch.
    let mut firsts: BTreeMap<(String, String), (i64, LeadRow)> = BTreeMap::new();
    for (raw_id, lead) in rows {
        let key = (lead.lander_id.clone(), lead.source_id.clone());
        match firsts.get(&key) {
            Some((held, _)) if *held < raw_id => {
                report.unchanged += 1;
                outcomes.push(MappingOutcome { id: raw_id, error: Some(LEAD_KEPT.into()), superseded: true });
            }
            Some((held, _)) => {
                report.unchanged += 1;
                outcomes.push(MappingOutcome { id: *held, error: Some(LEAD_KEPT.into()), superseded: true });
                firsts.insert(key, (raw_id, lead));
            }
            None => {
                firsts.insert(key, (raw_id, lead));
            }
        }
    }
    let (raw_ids, leads): (Vec<i64>, Vec<LeadRow>) = firsts.into_values().unzip();
    let mut new_ids: Vec<String> = Vec::new();
    let mut record =
        |raw_id: i64, lead: &LeadRow, result: Result<Option<i64>, String>, report: &mut IngestReport| match result {
            Ok(Some(id)) => {
                report.leads += 1;
                new_ids.push(id.to_string());
                outcomes.push(MappingOutcome::mapped(raw_id));
            }
            Ok(None) => {
                report.unchanged += 1;
                outcomes.push(MappingOutcome { id: raw_id, error: Some(LEAD_KEPT.into()), superseded: true });
            }
            Err(reason) => {
                let e = format!("refused by the database: {reason}");
                report.refused += 1;
                report.note_error(&lead.source_id, &e);
                outcomes.push(MappingOutcome::failed(raw_id, e));
            }
        };
    let firsts: Vec<(i64, LeadRow)> = raw_ids.into_iter().zip(leads).collect();
    let client = &**tx;
    let isolated = isolate::isolate(tx, firsts, |chunk: Vec<(i64, LeadRow)>| {
        Box::pin(async move {
            let ids = leads::insert_formstack(client, chunk.iter().map(|(_, l)| l)).await;
            (chunk, ids)
        })
    })
    .await?;
    for (chunk, ids) in isolated.written {
        for ((raw_id, lead), id) in chunk.iter().zip(ids) {
            record(*raw_id, lead, Ok(id), report);
        }
    }
    for ((raw_id, lead), reason) in isolated.refused {
        tracing::warn!(submission_id = %lead.source_id, %reason, "lead refused by the database; isolated");
        record(raw_id, &lead, Err(reason), report);
    }
    outbox::enqueue(&**tx, KIND_LEADS_RECEIVED, &new_ids, run_id).await?;
    Ok(outcomes)
}

/// Runs `work` on this thread after `statement` has been sent, so that it overlaps the database's
/// execution (the connection's task writes the statement from another worker thread); then
/// waits for the statement.
async fn while_sent<F: Future, T>(statement: F, work: impl FnOnce() -> T) -> (F::Output, T) {
    let mut statement = std::pin::pin!(statement);
    // The first poll sends the statement (or finishes it, when the database is quick).
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(statement.as_mut().poll(cx))).await;
    let done = work();
    let output = match first {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => statement.await,
    };
    (output, done)
}

/// What became of one row in [`upsert_isolating`].
enum Written {
    /// The statement ran; the row's result.
    Row(RowResult),
    /// The database refused this row on its own (its reason).
    Refused(String),
}

/// Upserts `rows`, isolating those the database refuses for a row-level reason (a NUL, a value
/// too long for a column, a number out of range, a constraint): `platform_warehouse::isolate`.
/// Returns (raw id, registration id, result) per row.
async fn upsert_isolating(
    tx: &mut Transaction<'_>,
    mapping: &FormMapping,
    rows: Vec<(StoredRaw, RegistrationRow)>,
    real_time: bool,
) -> Result<Vec<(i64, String, Written)>, IntakeError> {
    let client = &*tx;
    let isolated = isolate::isolate(tx, rows, |chunk: Vec<(StoredRaw, RegistrationRow)>| {
        Box::pin(async move {
            let written = registrations::upsert(client, mapping, &chunk, real_time).await;
            (chunk, written)
        })
    })
    .await?;
    let mut out: Vec<(i64, String, Written)> = Vec::new();
    for (chunk, results) in isolated.written {
        let mut by_id: HashMap<String, RowResult> = results.into_iter().collect();
        for (raw, reg) in chunk {
            let result = by_id.remove(&reg.registration_id).unwrap_or(RowResult::Superseded);
            out.push((raw.id, reg.registration_id, Written::Row(result)));
        }
    }
    for ((raw, reg), reason) in isolated.refused {
        tracing::warn!(registration_id = %reg.registration_id, %reason, "row refused by the database; isolated");
        out.push((raw.id, reg.registration_id, Written::Refused(reason)));
    }
    Ok(out)
}
