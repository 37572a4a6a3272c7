//! The scheduled pull: every configured form, incrementally from its cursor with an overlap,
//! paging to `pages` (never stopping on a short page), de-duplicating by submission id, within
//! the share of the daily call budget that falls to this run.

use std::collections::HashSet;

use chrono::{NaiveDateTime, TimeZone, Timelike, Utc};
use platform_domain::{run::RunCounts, submission::Submission};
use platform_runtime::Deadline;
use platform_vendors::{VendorError, formstack::ListQuery};
use platform_warehouse::{Connection, cursor, forms, raw::Source, runs};
use tracing::Instrument;
use uuid::Uuid;

use crate::{
    FUNCTION_NAME, Intake, IntakeError,
    ingest::{self, CursorMark, Incoming, IngestReport},
    service::PENDING_GRACE,
};

/// What the pull did for one form.
#[derive(Debug, Clone, Default)]
pub struct FormPull {
    /// The form.
    pub form_id: String,
    /// Pages fetched.
    pub pages: u64,
    /// Distinct submissions seen.
    pub submissions: u64,
    /// Ingest outcome.
    pub report: IngestReport,
    /// Why the form stopped before its last page, if it did.
    pub stopped: Option<String>,
    /// The stop is a failure (vendor error, quota), not a planned pause (budget share, deadline).
    pub failed: bool,
    /// Pages read by the form's full scan in this run.
    pub scan_pages: u64,
    /// The full scan read the form's last page in this run.
    pub scan_completed: bool,
}

/// What one pull run did.
#[derive(Debug, Clone, Default)]
pub struct PullReport {
    /// The run id (also in `integration.run`).
    pub run_id: Uuid,
    /// Per form.
    pub forms: Vec<FormPull>,
    /// Formstack calls made (every attempt).
    pub calls: u64,
    /// Calls this run was allowed.
    pub allowance: u64,
    /// Raw rows left pending by earlier crashes, mapped now.
    pub recovered: IngestReport,
    /// Ids sent to the dedupe queue.
    pub published: u64,
}

impl PullReport {
    /// Totals for the run record.
    pub fn counts(&self) -> RunCounts {
        let mut c = self.recovered.counts();
        for f in &self.forms {
            c.absorb(f.report.counts());
            if let Some(why) = &f.stopped {
                c.note(format!("form {}: {why}", f.form_id));
            }
            if f.scan_completed {
                c.note(format!("form {}: full scan completed ({} pages this run)", f.form_id, f.scan_pages));
            }
            if f.failed {
                c.failed += 1;
            }
        }
        c
    }
}

/// One form's pull: what to list and how many calls it may spend.
struct FormJob<'a> {
    token: &'a str,
    form_id: &'a str,
    allowance: u64,
    mode: Mode,
}

/// What a form's listing reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// From the cursor minus the overlap; the cursor is a submission time read in the form's
    /// time zone.
    Incremental {
        /// The form's time zone.
        time_zone: chrono_tz::Tz,
    },
    /// The full scan, every submission from `from_page` on (its position is committed with its
    /// rows, so the next run continues where this one stopped).
    Scan {
        /// First page to read.
        from_page: u32,
    },
}

/// Why a form's pull ended early.
enum Stop {
    /// Out of this run's call allowance: continue next run.
    Budget,
    /// The invocation's deadline is near: continue next run.
    Deadline,
    /// Formstack asked us to wait longer than a run should (quota exhausted): stop every form.
    Quota(String),
    /// Any other failure of this form.
    Failed(IntakeError),
}

impl Intake {
    /// Runs the scheduled pull of every enabled form; also maps rows left pending by a crash
    /// and drains the outbox. Per-form failures are recorded and do not stop the other forms.
    ///
    /// `full` starts a full scan of every form (unless one is running): Formstack keeps a
    /// submission's timestamp when it is edited, so edits older than the overlap window are only
    /// seen by a full scan (or a webhook). A scan is resumable: every run, scheduled ones
    /// included, continues a running scan from the page it reached, after its incremental pull
    /// and within its call allowance, until the form's last page is read. The cursors never move
    /// backwards.
    pub async fn pull(&self, trigger: &str, full: bool) -> Result<PullReport, IntakeError> {
        self.pull_until(trigger, full, Deadline::none()).await
    }

    /// [`Intake::pull`] that stops fetching pages before `deadline` (what was fetched is
    /// committed with its cursor; the next run continues).
    pub async fn pull_until(&self, trigger: &str, full: bool, deadline: Deadline) -> Result<PullReport, IntakeError> {
        let run_id = Uuid::now_v7();
        let span = tracing::info_span!("pull", %run_id, trigger);
        self.pull_run(run_id, trigger, full, deadline).instrument(span).await
    }

    async fn pull_run(
        &self,
        run_id: Uuid,
        trigger: &str,
        full: bool,
        deadline: Deadline,
    ) -> Result<PullReport, IntakeError> {
        let mut conn = self.warehouse.conn().await?;
        let pull = async |conn: &mut Connection| self.pull_inner(conn, run_id, full, deadline).await;
        let result = runs::recorded(&mut conn, run_id, FUNCTION_NAME, trigger, pull, PullReport::counts).await;
        drop(conn);
        let mut report = result?;
        let counts = report.counts();
        report.published = match self.publish(run_id).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "outbox not drained; the next run will send it");
                0
            }
        };
        tracing::info!(
            calls = report.calls,
            published = report.published,
            read = counts.read,
            written = counts.written,
            failed = counts.failed,
            "pull finished"
        );
        let figures = platform_runtime::metrics::Figures {
            vendor_calls: report.calls,
            delivered: report.published,
            ..platform_runtime::metrics::Figures::of_run(&counts)
        };
        platform_runtime::metrics::emit(FUNCTION_NAME, "pull", &figures);
        Ok(report)
    }

    async fn pull_inner(
        &self,
        conn: &mut Connection,
        run_id: Uuid,
        full: bool,
        deadline: Deadline,
    ) -> Result<PullReport, IntakeError> {
        let before = Utc::now() - chrono::Duration::from_std(PENDING_GRACE).expect("small");
        let recovered = ingest::remap(conn, run_id, false, None, before).await?;
        let token_key = self.settings.formstack_secret_id.clone();
        let today = Utc::now().date_naive();
        let spent = cursor::spent(&***conn, &token_key, today).await?;
        let forms = forms::pull_forms(&***conn).await?;
        let allowance = allowance(self.settings.daily_call_budget, spent, self.settings.pulls_per_day, forms.len());
        let mut report = PullReport { run_id, allowance, recovered, ..Default::default() };
        if forms.is_empty() {
            return Ok(report);
        }
        let token =
            self.secrets.get(&self.settings.formstack_secret_id).await?.field("api_token").ok_or_else(|| {
                IntakeError::Config(format!("secret {} has no api_token", self.settings.formstack_secret_id))
            })?;

        let start_calls = self.formstack.calls();
        let left = || allowance.saturating_sub(self.formstack.calls() - start_calls);
        let mut quota_stop: Option<String> = None;
        report.forms = forms.iter().map(|f| FormPull { form_id: f.form_id.clone(), ..Default::default() }).collect();
        // Every form's incremental pull first, then the full scans with what is left: a long
        // scan never keeps the other forms' new submissions waiting.
        for scanning in [false, true] {
            for fp in report.forms.iter_mut() {
                if fp.failed || (scanning && fp.stopped.is_some()) {
                    continue;
                }
                if let Some(why) = &quota_stop {
                    fp.stopped = Some(why.clone());
                    fp.failed = true;
                    continue;
                }
                let form_id = fp.form_id.clone();
                let before_calls = self.formstack.calls();
                let outcome = if scanning {
                    self.scan_form(conn, run_id, &token, &form_id, full, left(), deadline, fp).await
                } else {
                    let zone = forms.iter().find(|f| f.form_id == form_id).map_or("UTC", |f| f.time_zone.as_str());
                    match zone.parse::<chrono_tz::Tz>() {
                        Ok(time_zone) => {
                            let mode = Mode::Incremental { time_zone };
                            let job = FormJob { token: &token, form_id: &form_id, allowance: left(), mode };
                            self.pull_form(conn, run_id, job, deadline, fp).await
                        }
                        Err(_) => Err(Stop::Failed(IntakeError::Config(format!(
                            "form {form_id}: time zone {zone:?} is not an IANA time zone"
                        )))),
                    }
                };
                let calls = self.formstack.calls() - before_calls;
                cursor::spend(&***conn, &token_key, today, calls as i32).await?;
                self.settle(outcome, fp, &mut quota_stop).await;
            }
        }
        // Lander forms' labels (the headers of their lead spreadsheets), at most daily, with
        // what is left of the allowance: never at the cost of a submission.
        if quota_stop.is_none() {
            for form in forms.iter().filter(|f| f.flow == "lander") {
                if left() == 0 {
                    break;
                }
                let before_calls = self.formstack.calls();
                self.refresh_labels(conn, &token, &form.form_id).await;
                let calls = self.formstack.calls() - before_calls;
                cursor::spend(&***conn, &token_key, today, calls as i32).await?;
            }
        }
        report.calls = self.formstack.calls() - start_calls;
        Ok(report)
    }

    /// Reads a form's definition and stores its field labels, when they are missing or older
    /// than a day. A failure is logged and changes nothing (the labels are only headers).
    async fn refresh_labels(&self, conn: &mut Connection, token: &str, form_id: &str) {
        match forms::labels_stale(&***conn, form_id).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(form_id, error = %e, "could not read the form's label age");
                return;
            }
        }
        let fields = match self.formstack.form_fields(token, form_id).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(form_id, error = %e, "could not read the form's definition; its labels stay as they were");
                return;
            }
        };
        let labels: Vec<forms::FieldLabel> = fields
            .into_iter()
            .filter(|f| !f.label.trim().is_empty())
            .map(|f| forms::FieldLabel { field_id: f.id, label: f.label, name: f.name, field_type: f.field_type })
            .collect();
        if let Err(e) = forms::save_labels(&***conn, form_id, &labels).await {
            tracing::warn!(form_id, error = %e, "could not store the form's labels");
        }
    }

    /// Records how a form's pull ended.
    async fn settle(&self, outcome: Result<(), Stop>, fp: &mut FormPull, quota_stop: &mut Option<String>) {
        match outcome {
            Ok(()) => {}
            Err(Stop::Budget) => fp.stopped = Some("call allowance of this run used up; continues next run".into()),
            Err(Stop::Deadline) => {
                fp.stopped = Some("stopped before the invocation deadline; continues next run".into());
            }
            Err(Stop::Quota(why)) => {
                tracing::error!(form_id = %fp.form_id, reason = %why, "Formstack quota exhausted; pull stopped");
                fp.stopped = Some(why.clone());
                fp.failed = true;
                *quota_stop = Some(why);
            }
            Err(Stop::Failed(e)) => {
                tracing::error!(form_id = %fp.form_id, error = %e, "form pull failed");
                if matches!(&e, IntakeError::Vendor(VendorError::Status { status: 401, .. })) {
                    // The token may have been rotated: read the secret again next time.
                    self.secrets.invalidate(&self.settings.formstack_secret_id).await;
                }
                fp.stopped = Some(format!("failed: {e}"));
                fp.failed = true;
            }
        }
    }

    /// A form's full scan, when `full` starts one or one is running: from the page it reached
    /// (one page back), within `allowance` calls and the deadline.
    #[allow(clippy::too_many_arguments)]
    async fn scan_form(
        &self,
        conn: &mut Connection,
        run_id: Uuid,
        token: &str,
        form_id: &str,
        full: bool,
        allowance: u64,
        deadline: Deadline,
        fp: &mut FormPull,
    ) -> Result<(), Stop> {
        let from_page = if full {
            Some(cursor::start_scan(&***conn, form_id).await.map_err(|e| Stop::Failed(e.into()))?)
        } else {
            cursor::scan_next_page(&***conn, form_id).await.map_err(|e| Stop::Failed(e.into()))?
        };
        let Some(from_page) = from_page else { return Ok(()) };
        // One page of overlap: a submission deleted meanwhile shifts later ones back a page.
        let from_page = from_page.saturating_sub(1).max(1);
        let pages_before = fp.pages;
        let job = FormJob { token, form_id, allowance, mode: Mode::Scan { from_page } };
        let result = self.pull_form(conn, run_id, job, deadline, fp).await;
        fp.scan_pages = fp.pages - pages_before;
        result?;
        let scans = cursor::complete_scan(&***conn, form_id).await.map_err(|e| Stop::Failed(e.into()))?;
        tracing::info!(form_id, scans, pages = fp.scan_pages, "full scan completed");
        fp.scan_completed = true;
        Ok(())
    }

    /// Lists one form's pages; commits every `commit_rows` rows together with the cursor (and,
    /// in a scan, the scan's position).
    async fn pull_form(
        &self,
        conn: &mut Connection,
        run_id: Uuid,
        job: FormJob<'_>,
        deadline: Deadline,
        fp: &mut FormPull,
    ) -> Result<(), Stop> {
        let FormJob { token, form_id, allowance, mode } = job;
        let high_water = cursor::high_water(&***conn, form_id).await.map_err(|e| Stop::Failed(e.into()))?;
        let overlap = chrono::Duration::from_std(self.settings.overlap).expect("overlap fits");
        let (min_time, first_page) = match mode {
            Mode::Incremental { time_zone } => {
                let since = high_water.map(|h| h - overlap).and_then(|h| time_zone.from_local_datetime(&h).earliest());
                (since.map(|at| at.with_timezone(&chrono::Utc)), 1)
            }
            Mode::Scan { from_page } => (None, from_page),
        };
        let scanning = matches!(mode, Mode::Scan { .. });
        // The longest a page fetch and its write may take: started only while it fits.
        let step = self.settings.http_timeout * 2;
        let mut seen: HashSet<String> = HashSet::new();
        let mut buffer: Vec<Incoming> = Vec::new();
        let mut mark: Option<NaiveDateTime> = None;
        let query = |page: u32| ListQuery { form_id, page, per_page: self.settings.per_page, min_time, max_time: None };
        let start_calls = self.formstack.calls();
        let calls = || self.formstack.calls() - start_calls;
        let mut page = first_page;
        let mut pages = u64::from(first_page);
        // A page fetched while the previous batch was being written.
        let mut prefetched = None;
        // In a scan, the page after the last one read completely.
        let mut last_read: Option<u32> = None;
        let result = loop {
            if u64::from(page) > pages {
                break Ok(());
            }
            let listed = match prefetched.take() {
                Some(listed) => listed,
                None if calls() >= allowance => break Err(Stop::Budget),
                None if !deadline.allows(step) => break Err(Stop::Deadline),
                // Cut off at the deadline, whatever its retries would still take.
                None => deadline.bound(self.formstack.list_submissions(token, &query(page))).await,
            };
            let listing = match listed {
                Some(Ok(l)) => l,
                Some(Err(e)) => break Err(classify(e)),
                None => break Err(Stop::Deadline),
            };
            fp.pages += 1;
            pages = listing.pages;
            for record in &listing.submissions {
                match Submission::from_api(form_id, record) {
                    Ok(sub) => {
                        if !seen.insert(sub.submission_id.clone()) {
                            continue;
                        }
                        if let Some(ts) = sub.timestamp {
                            mark = Some(mark.map_or(ts, |m| m.max(ts)));
                        }
                        buffer.push(Incoming::from_api(sub, record));
                    }
                    Err(e) => {
                        fp.report.mapping_errors += 1;
                        fp.report.errors.push(format!("unreadable record on page {page}: {e}"));
                        tracing::warn!(form_id, page, error = %e, "unreadable submission record skipped");
                    }
                }
            }
            // Every page up to this one is in the buffer (or committed): a scan resumes after it.
            let reached = scanning.then_some(page + 1);
            if buffer.len() >= self.settings.commit_rows {
                let items = std::mem::take(&mut buffer);
                let at = CursorMark { form_id, high_water: mark, scan_next_page: reached };
                if u64::from(page) < pages && calls() < allowance && deadline.allows(step) {
                    // Write this batch while the next page travels.
                    let next_query = query(page + 1);
                    let (written, next) = tokio::join!(
                        self.flush(conn, run_id, items, at, fp),
                        deadline.bound(self.formstack.list_submissions(token, &next_query)),
                    );
                    written.map_err(Stop::Failed)?;
                    prefetched = Some(next);
                } else {
                    self.flush(conn, run_id, items, at, fp).await.map_err(Stop::Failed)?;
                }
            }
            last_read = reached;
            page += 1;
        };
        // Whatever was fetched is committed, with the cursor, even when the loop stopped early.
        let at = CursorMark { form_id, high_water: mark, scan_next_page: last_read };
        self.flush(conn, run_id, buffer, at, fp).await.map_err(Stop::Failed)?;
        fp.submissions = seen.len() as u64;
        result
    }

    async fn flush(
        &self,
        conn: &mut Connection,
        run_id: Uuid,
        items: Vec<Incoming>,
        at: CursorMark<'_>,
        fp: &mut FormPull,
    ) -> Result<(), IntakeError> {
        if items.is_empty() {
            // Nothing to write, but a scan's position still moves (pages of replays only).
            if let Some(page) = at.scan_next_page {
                cursor::scan_reached(&***conn, at.form_id, page).await?;
            }
            return Ok(());
        }
        let high_water = at.high_water.map(|m| m.with_nanosecond(0).unwrap_or(m));
        let cursor_mark = CursorMark { form_id: at.form_id, high_water, scan_next_page: at.scan_next_page };
        let report = ingest::ingest(conn, Source::Pull, false, run_id, items, Some(cursor_mark)).await?;
        fp.report.absorb(report);
        Ok(())
    }
}

fn classify(e: VendorError) -> Stop {
    match (&e, e.retry_after()) {
        (VendorError::Status { status: 429, .. }, Some(wait)) => {
            Stop::Quota(format!("Formstack rate limit: retry after {} s", wait.as_secs()))
        }
        _ => Stop::Failed(e.into()),
    }
}

/// Calls this run may make: an even share of what is left of the day's budget over the runs
/// left today, but at least one call per form while anything is left.
pub fn allowance(daily_budget: u32, spent_today: i32, pulls_per_day: u32, forms: usize) -> u64 {
    let left = u64::from(daily_budget).saturating_sub(spent_today.max(0) as u64);
    let now = Utc::now();
    let seconds_left = 86_400 - u64::from(now.num_seconds_from_midnight());
    let interval = 86_400 / u64::from(pulls_per_day.max(1));
    let runs_left = seconds_left.div_ceil(interval.max(1)).max(1);
    (left / runs_left).max((forms as u64).min(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowance_shares_what_is_left_and_never_exceeds_it() {
        assert_eq!(allowance(100, 100, 96, 3), 0, "nothing left, nothing spent");
        assert_eq!(allowance(100, 99, 96, 3), 1, "at least one per form while budget lasts, capped by what is left");
        let a = allowance(14_400, 0, 96, 1);
        assert!((150..=14_400).contains(&a), "{a}");
        assert!(allowance(14_400, 0, 1, 1) == 14_400, "one run a day gets the whole day");
    }
}
