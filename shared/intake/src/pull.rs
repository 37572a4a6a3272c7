//! The scheduled pull: every configured form, incrementally from its cursor with an overlap,
//! paging to `pages` (never stopping on a short page), de-duplicating by submission id, within
//! the share of the daily call budget that falls to this run.

use std::collections::HashSet;

use chrono::{NaiveDateTime, Timelike, Utc};
use platform_domain::{run::RunCounts, submission::Submission};
use platform_vendors::{VendorError, formstack::ListQuery};
use platform_warehouse::{cursor, forms, raw::Source, runs, tokio_postgres::Client};
use tracing::Instrument;
use uuid::Uuid;

use crate::{
    FUNCTION_NAME, Intake, IntakeError,
    ingest::{self, Incoming, IngestReport},
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
    /// The stop is a failure (vendor error, quota), not a planned pause (budget share).
    pub failed: bool,
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
    full: bool,
}

/// Why a form's pull ended early.
enum Stop {
    /// Out of this run's call allowance: continue next run.
    Budget,
    /// Formstack asked us to wait longer than a run should (quota exhausted): stop every form.
    Quota(String),
    /// Any other failure of this form.
    Failed(IntakeError),
}

impl Intake {
    /// Runs the scheduled pull of every enabled form; also maps rows left pending by a crash
    /// and drains the outbox. Per-form failures are recorded and do not stop the other forms.
    ///
    /// `full` ignores the cursors and lists every submission again: Formstack keeps a
    /// submission's timestamp when it is edited, so edits older than the overlap window are only
    /// seen by a full resync (or a webhook). The cursors never move backwards.
    pub async fn pull(&self, trigger: &str, full: bool) -> Result<PullReport, IntakeError> {
        let run_id = Uuid::now_v7();
        let span = tracing::info_span!("pull", %run_id, trigger);
        self.pull_run(run_id, trigger, full).instrument(span).await
    }

    async fn pull_run(&self, run_id: Uuid, trigger: &str, full: bool) -> Result<PullReport, IntakeError> {
        let mut conn = self.warehouse.conn().await?;
        runs::start(&**conn, run_id, FUNCTION_NAME, trigger).await?;
        let result = self.pull_inner(&mut conn, run_id, full).await;
        let (counts, error) = match &result {
            Ok(r) => (r.counts(), None),
            Err(e) => (RunCounts::default(), Some(e.to_string())),
        };
        runs::finish(&**conn, run_id, &counts, error.as_deref()).await?;
        drop(conn);
        let mut report = result?;
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
        Ok(report)
    }

    async fn pull_inner(&self, conn: &mut Client, run_id: Uuid, full: bool) -> Result<PullReport, IntakeError> {
        let before = Utc::now() - chrono::Duration::from_std(PENDING_GRACE).expect("small");
        let recovered = ingest::remap(conn, run_id, false, None, before).await?;
        let token_key = self.settings.formstack_secret_id.clone();
        let today = Utc::now().date_naive();
        let spent = cursor::spent(&*conn, &token_key, today).await?;
        let forms = forms::pull_forms(&*conn).await?;
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
        let mut quota_stop: Option<String> = None;
        for form in forms {
            let mut fp = FormPull { form_id: form.form_id.clone(), ..Default::default() };
            if let Some(why) = &quota_stop {
                fp.stopped = Some(why.clone());
                fp.failed = true;
                report.forms.push(fp);
                continue;
            }
            let used = self.formstack.calls() - start_calls;
            let left = allowance.saturating_sub(used);
            let before_calls = self.formstack.calls();
            let job = FormJob { token: &token, form_id: &form.form_id, allowance: left, full };
            let outcome = self.pull_form(conn, run_id, job, &mut fp).await;
            let calls = self.formstack.calls() - before_calls;
            cursor::spend(&*conn, &token_key, today, calls as i32).await?;
            match outcome {
                Ok(()) => {}
                Err(Stop::Budget) => fp.stopped = Some("call allowance of this run used up; continues next run".into()),
                Err(Stop::Quota(why)) => {
                    tracing::error!(form_id = %form.form_id, reason = %why, "Formstack quota exhausted; pull stopped");
                    fp.stopped = Some(why.clone());
                    fp.failed = true;
                    quota_stop = Some(why);
                }
                Err(Stop::Failed(e)) => {
                    tracing::error!(form_id = %form.form_id, error = %e, "form pull failed");
                    if matches!(&e, IntakeError::Vendor(VendorError::Status { status: 401, .. })) {
                        // The token may have been rotated: read the secret again next time.
                        self.secrets.invalidate(&self.settings.formstack_secret_id).await;
                    }
                    fp.stopped = Some(format!("failed: {e}"));
                    fp.failed = true;
                }
            }
            report.forms.push(fp);
        }
        report.calls = self.formstack.calls() - start_calls;
        Ok(report)
    }

    /// Pulls one form; commits every `commit_rows` rows together with the cursor.
    async fn pull_form(
        &self,
        conn: &mut Client,
        run_id: Uuid,
        job: FormJob<'_>,
        fp: &mut FormPull,
    ) -> Result<(), Stop> {
        let FormJob { token, form_id, allowance, full } = job;
        let high_water = cursor::high_water(&*conn, form_id).await.map_err(|e| Stop::Failed(e.into()))?;
        let overlap = chrono::Duration::from_std(self.settings.overlap).expect("overlap fits");
        let min_time = if full { None } else { high_water.map(|h| h - overlap) };
        let mut seen: HashSet<String> = HashSet::new();
        let mut buffer: Vec<Incoming> = Vec::new();
        let mut mark: Option<NaiveDateTime> = None;
        let query = |page: u32| ListQuery { form_id, page, per_page: self.settings.per_page, min_time, max_time: None };
        let start_calls = self.formstack.calls();
        let calls = || self.formstack.calls() - start_calls;
        let mut page = 1u32;
        let mut pages = 1u64;
        // A page fetched while the previous batch was being written.
        let mut prefetched = None;
        let result = loop {
            if u64::from(page) > pages {
                break Ok(());
            }
            let listed = match prefetched.take() {
                Some(listed) => listed,
                None if calls() >= allowance => break Err(Stop::Budget),
                None => self.formstack.list_submissions(token, &query(page)).await,
            };
            let listing = match listed {
                Ok(l) => l,
                Err(e) => break Err(classify(e)),
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
            if buffer.len() >= self.settings.commit_rows {
                let items = std::mem::take(&mut buffer);
                if u64::from(page) < pages && calls() < allowance {
                    // Write this batch while the next page travels.
                    let next_query = query(page + 1);
                    let (written, next) = tokio::join!(
                        self.flush(conn, run_id, form_id, items, mark, fp),
                        self.formstack.list_submissions(token, &next_query),
                    );
                    written.map_err(Stop::Failed)?;
                    prefetched = Some(next);
                } else {
                    self.flush(conn, run_id, form_id, items, mark, fp).await.map_err(Stop::Failed)?;
                }
            }
            page += 1;
        };
        // Whatever was fetched is committed, with the cursor, even when the loop stopped early.
        self.flush(conn, run_id, form_id, buffer, mark, fp).await.map_err(Stop::Failed)?;
        fp.submissions = seen.len() as u64;
        result
    }

    async fn flush(
        &self,
        conn: &mut Client,
        run_id: Uuid,
        form_id: &str,
        items: Vec<Incoming>,
        mark: Option<NaiveDateTime>,
        fp: &mut FormPull,
    ) -> Result<(), IntakeError> {
        if items.is_empty() {
            return Ok(());
        }
        let cursor_mark = mark.map(|m| (form_id, m.with_nanosecond(0).unwrap_or(m)));
        let report = ingest::ingest(conn, Source::Pull, false, run_id, items, cursor_mark).await?;
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
