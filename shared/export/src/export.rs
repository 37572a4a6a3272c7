//! One export job (subscription, report date): claimed, its leads streamed from the warehouse
//! into a constant-memory sheet in the scratch directory, the file uploaded by multipart upload
//! while it is written (each part as soon as the file holds it) to
//! `exports/<client>/<lander>/<date>.xlsx`, a presigned link recorded with the row count and
//! size, and the recipients e-mailed once. A repeat overwrites the same object and never
//! e-mails twice; a failure is recorded with its reason, sends nothing, and the job comes back.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use futures_util::TryStreamExt;
use platform_domain::envelope::Envelope;
use platform_warehouse::tokio_postgres::{GenericClient, IsolationLevel, types::ToSql};
use platform_workbook::{
    Cell, Workbook, XlsxError,
    stream::{StreamTable, add_daily_summary},
};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    ExportError, Exporter, cutoff, parse_job_id,
    rows::{self, Cells},
    s3_key,
    template::Template,
};

/// An export subscription with what the report needs of its lander and client.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub id: String,
    pub lander_id: String,
    pub lander_name: String,
    pub client_id: String,
    pub client_name: String,
    pub template_id: Option<String>,
    pub definition: Option<Value>,
    pub recipients: Vec<String>,
    pub since_previous: bool,
    pub time_zone: String,
}

/// Enabled subscriptions (one, or all), by id.
pub(crate) async fn subscriptions(
    db: &impl GenericClient,
    only: Option<&str>,
) -> Result<Vec<Subscription>, ExportError> {
    let rows = db
        .query(
            "SELECT s.id, s.lander_id, l.name, s.client_id, c.name, s.template_id, t.definition, s.recipients,
                    s.scope = 'since_previous', s.time_zone
               FROM leads.export_subscription s
               JOIN leads.lander l ON l.id = s.lander_id
               JOIN leads.client c ON c.id = s.client_id
               LEFT JOIN leads.export_template t ON t.id = s.template_id
              WHERE s.enabled AND ($1::text IS NULL OR s.id = $1)
              ORDER BY s.id",
            &[&only],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Subscription {
            id: r.get(0),
            lander_id: r.get(1),
            lander_name: r.get(2),
            client_id: r.get(3),
            client_name: r.get(4),
            template_id: r.get(5),
            definition: r.get(6),
            recipients: r.get(7),
            since_previous: r.get(8),
            time_zone: r.get(9),
        })
        .collect())
}

impl Subscription {
    /// The template this subscription's report uses and its time zone, or why it cannot run.
    pub(crate) async fn template(
        &self,
        db: &impl GenericClient,
    ) -> Result<Result<(Template, Tz), String>, ExportError> {
        let Ok(tz) = self.time_zone.parse::<Tz>() else {
            return Ok(Err(format!("time zone {:?} is not an IANA time zone name", self.time_zone)));
        };
        let fields = lander_fields(db, &self.lander_id).await?;
        Ok(match (&self.template_id, &self.definition) {
            (None, _) => Ok((Template::generic(&fields, &lander_labels(db, &self.lander_id).await?), tz)),
            (Some(id), Some(def)) => Template::custom(id, def, &fields).map(|t| (t, tz)).map_err(|e| e.to_string()),
            (Some(id), None) => Err(format!("template {id} does not exist")),
        })
    }
}

/// The fields a lander's leads carry (kept by a trigger) and those its Formstack lander form
/// maps to, even before the first lead.
pub(crate) async fn lander_fields(db: &impl GenericClient, lander: &str) -> Result<BTreeSet<String>, ExportError> {
    let rows = db
        .query(
            "SELECT field FROM leads.lander_field WHERE lander_id = $1
             UNION
             SELECT m.target_column FROM leads.lander l
               JOIN integration.form_config c ON c.form_id = l.formstack_form_id AND c.flow = 'lander'
               JOIN integration.form_field_map m ON m.form_id = c.form_id
              WHERE l.id = $1",
            &[&lander],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The labels of a lander's fields from its Formstack lander form's definition: a field kept
/// under its id (`206`) and the lead field a field is mapped to (`details`) both read as the
/// form's label ("How did you hear about us?", "What happened?").
async fn lander_labels(db: &impl GenericClient, lander: &str) -> Result<BTreeMap<String, String>, ExportError> {
    let rows = db
        .query(
            "SELECT coalesce(m.target_column, f.field_id), f.label FROM leads.lander l
               JOIN integration.form_field_label f ON f.form_id = l.formstack_form_id
               LEFT JOIN integration.form_field_map m
                      ON m.form_id = f.form_id AND m.field_id = f.field_id AND coalesce(m.subfield, '') = ''
              WHERE l.id = $1",
            &[&lander],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// What one export job did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The subscription.
    pub subscription: String,
    /// The report date.
    pub date: NaiveDate,
    /// `done`, `refused` (its template or time zone; nothing sent) or `skipped` (no such
    /// enabled subscription).
    pub status: String,
    /// The S3 key written.
    pub key: Option<String>,
    /// Lead rows in the workbook.
    pub rows: u64,
    /// Size of the object.
    pub bytes: u64,
    /// The presigned link.
    pub url: Option<String>,
    /// The e-mail's SES message id, when this run sent it.
    pub emailed: Option<String>,
    /// Why it was refused or skipped.
    pub reason: Option<String>,
    /// Seconds until the workbook was written (reading the leads included; its parts were
    /// uploading meanwhile).
    pub write_seconds: f64,
    /// Seconds after that: the rest of the upload, and signing the link.
    pub upload_seconds: f64,
}

impl Outcome {
    /// Its metrics: one report, delivered when e-mailed, failed unless done or skipped.
    pub fn figures(&self) -> platform_runtime::metrics::Figures {
        let failed = !matches!(self.status.as_str(), "done" | "skipped");
        platform_runtime::metrics::Figures {
            processed: 1,
            failed: u64::from(failed),
            partial: failed,
            delivered: u64::from(self.emailed.is_some()),
            skipped: u64::from(self.status == "skipped"),
            rows_written: self.rows,
            ..Default::default()
        }
    }

    fn without_file(subscription: &str, date: NaiveDate, status: &str, reason: String) -> Outcome {
        Outcome {
            subscription: subscription.into(),
            date,
            status: status.into(),
            key: None,
            rows: 0,
            bytes: 0,
            url: None,
            emailed: None,
            reason: Some(reason),
            write_seconds: 0.0,
            upload_seconds: 0.0,
        }
    }
}

/// What writing one report produced.
struct Written {
    /// The leads stored before this moment are in the report.
    through: DateTime<Utc>,
    key: String,
    rows: u64,
    bytes: u64,
    url: String,
    expires: DateTime<Utc>,
    write_seconds: f64,
    upload_seconds: f64,
}

impl Exporter {
    /// Runs the jobs of a queue message (`export.requested`, one job each).
    pub async fn handle(&self, envelope: &Envelope) -> Result<Vec<Outcome>, ExportError> {
        let mut out = Vec::new();
        for id in &envelope.ids {
            let (sub, date) = parse_job_id(id)
                .ok_or_else(|| ExportError::Config(format!("job id {id:?} is not <subscription>/<date>")))?;
            let outcome = self.export(&sub, date).await?;
            platform_runtime::metrics::emit(crate::FUNCTION_NAME, "export", &outcome.figures());
            out.push(outcome);
        }
        Ok(out)
    }

    /// Writes the report of `subscription` for `date` (see the module's documentation).
    pub async fn export(&self, subscription: &str, date: NaiveDate) -> Result<Outcome, ExportError> {
        let db = self.warehouse.conn().await?;
        let Some(sub) = subscriptions(&**db, Some(subscription)).await?.pop() else {
            tracing::warn!(subscription, "no enabled export subscription; job dropped");
            return Ok(Outcome::without_file(subscription, date, "skipped", "no enabled subscription".into()));
        };
        db.execute(
            "INSERT INTO leads.export (subscription_id, report_date, cutoff) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&sub.id, &date, &cutoff(date)],
        )
        .await?;
        // The claim's token: only its holder records the result.
        let claim = Uuid::new_v4();
        let claimed = db
            .query_opt(
                "UPDATE leads.export SET status = 'running', claimed_until = now() + make_interval(secs => $3),
                        claim_id = $4, attempts = attempts + 1, updated_at = now()
                  WHERE subscription_id = $1 AND report_date = $2
                    AND (status <> 'running' OR claimed_until IS NULL OR claimed_until < now())
                 RETURNING cutoff",
                &[&sub.id, &date, &self.settings.claim.as_secs_f64(), &claim],
            )
            .await?;
        drop(db);
        let Some(claimed) = claimed else { return Err(ExportError::Busy(crate::job_id(&sub.id, date))) };
        let cutoff: DateTime<Utc> = claimed.get(0);
        match self.claimed(&sub, date, cutoff, claim).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                // Recorded as well as can be; the error returned is the one that happened.
                let text = e.to_string();
                let recorded = async {
                    self.warehouse
                        .conn()
                        .await?
                        .execute(
                            "UPDATE leads.export SET status = 'failed', error = $3, claimed_until = NULL, updated_at = now()
                              WHERE subscription_id = $1 AND report_date = $2 AND claim_id = $4",
                            &[&sub.id, &date, &text, &claim],
                        )
                        .await?;
                    Ok::<_, ExportError>(())
                }
                .await;
                if let Err(r) = recorded {
                    tracing::error!(subscription = %sub.id, %date, error = %r, "the failure could not be recorded");
                }
                tracing::error!(subscription = %sub.id, %date, error = %text, "export failed; the queue retries it");
                Err(e)
            }
        }
    }

    /// The work of a claimed export: template, window, workbook, upload, record, e-mail.
    async fn claimed(
        &self,
        sub: &Subscription,
        date: NaiveDate,
        cutoff: DateTime<Utc>,
        claim: Uuid,
    ) -> Result<Outcome, ExportError> {
        let db = self.warehouse.conn().await?;
        let (template, tz) = match sub.template(&**db).await? {
            Ok(t) => t,
            Err(reason) => {
                db.execute(
                    "UPDATE leads.export SET status = 'refused', error = $3, claimed_until = NULL, updated_at = now()
                      WHERE subscription_id = $1 AND report_date = $2 AND claim_id = $4",
                    &[&sub.id, &date, &reason, &claim],
                )
                .await?;
                tracing::warn!(subscription = %sub.id, %reason, "export refused");
                return Ok(Outcome::without_file(&sub.id, date, "refused", reason));
            }
        };
        // Since where the last earlier report that was written really ended.
        let since: Option<DateTime<Utc>> = if sub.since_previous {
            db.query_one(
                "SELECT max(through) FROM leads.export
                  WHERE subscription_id = $1 AND report_date < $2 AND completed_at IS NOT NULL",
                &[&sub.id, &date],
            )
            .await?
            .get(0)
        } else {
            None
        };
        drop(db);
        let path = self.settings.scratch.join(format!("export-{}-{date}-{}.xlsx", sub.id, Uuid::new_v4().simple()));
        let result = self.write_and_upload(sub, &template, tz, date, cutoff, since, &path).await;
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), error = %e, "scratch file not removed");
        }
        let w = result?;
        let recorded = self
            .warehouse
            .conn()
            .await?
            .execute(
                "UPDATE leads.export SET status = 'done', since = $3, through = $4, s3_key = $5, row_count = $6, bytes = $7,
                        url = $8, url_expires_at = $9, error = NULL, claimed_until = NULL, completed_at = now(),
                        updated_at = now()
                  WHERE subscription_id = $1 AND report_date = $2 AND claim_id = $10",
                &[
                    &sub.id,
                    &date,
                    &since,
                    &w.through,
                    &w.key,
                    &(w.rows as i64),
                    &(w.bytes as i64),
                    &w.url,
                    &w.expires,
                    &claim,
                ],
            )
            .await?;
        if recorded == 0 {
            // The claim lapsed and another worker holds the export: it records its own result.
            tracing::warn!(subscription = %sub.id, %date, "the claim lapsed before the export was recorded");
            return Err(ExportError::Busy(crate::job_id(&sub.id, date)));
        }
        tracing::info!(subscription = %sub.id, %date, key = %w.key, rows = w.rows, bytes = w.bytes,
            write_seconds = w.write_seconds, upload_seconds = w.upload_seconds, "export written");
        let emailed = self.email_once(sub, date).await?;
        Ok(Outcome {
            subscription: sub.id.clone(),
            date,
            status: "done".into(),
            key: Some(w.key),
            rows: w.rows,
            bytes: w.bytes,
            url: Some(w.url),
            emailed,
            reason: None,
            write_seconds: w.write_seconds,
            upload_seconds: w.upload_seconds,
        })
    }

    /// Streams the report into `path` and uploads it, the upload overlapping the writing: each
    /// part of the file goes up as soon as it is written (`platform_aws::upload`).
    #[allow(clippy::too_many_arguments)]
    async fn write_and_upload(
        &self,
        sub: &Subscription,
        template: &Template,
        tz: Tz,
        date: NaiveDate,
        cutoff: DateTime<Utc>,
        since: Option<DateTime<Utc>>,
        path: &Path,
    ) -> Result<Written, ExportError> {
        let started = std::time::Instant::now();
        let key = s3_key(&sub.client_id, &sub.lander_id, date);
        let bucket = &self.settings.bucket;
        let (file, growing) = platform_aws::upload::growing_file(path)?;
        let write = async {
            let written = self.write(sub, template, tz, cutoff, since, file).await;
            (written, started.elapsed().as_secs_f64())
        };
        let upload = platform_aws::upload::upload_growing(
            &self.s3,
            bucket,
            &key,
            platform_workbook::CONTENT_TYPE,
            self.settings.part_bytes,
            growing,
        );
        let ((written, write_seconds), uploaded) = tokio::join!(write, upload);
        // A failed write abandons the upload (aborted): its error is the one that explains.
        let (rows, through) = written?;
        let bytes = uploaded?;
        let url = platform_aws::s3::presigned_get(&self.link_client().await?, bucket, &key, self.settings.link).await?;
        let expires = Utc::now() + self.settings.link;
        let upload_seconds = started.elapsed().as_secs_f64() - write_seconds;
        Ok(Written { through, key, rows, bytes, url, expires, write_seconds, upload_seconds })
    }

    /// Writes the workbook of `template` into `file`: the leads streamed from the warehouse and
    /// turned into cells here, while a blocking thread writes them into the constant-memory
    /// sheet (a few batches in flight between the two: memory stays flat); then the summary
    /// sheet, and the file. Returns the rows and where the report really ended (see
    /// [`Exporter::read`]).
    pub(crate) async fn write(
        &self,
        sub: &Subscription,
        template: &Template,
        tz: Tz,
        cutoff: DateTime<Utc>,
        since: Option<DateTime<Utc>>,
        file: platform_aws::upload::GrowingFile,
    ) -> Result<(u64, DateTime<Utc>), ExportError> {
        let mut book = Workbook::new();
        book.set_tempdir(&self.settings.scratch)?;
        // Excel's own level: ~30 % faster than the default for a file ~5 % larger.
        book.set_zip_compression_level(3);
        let columns = template.sheet_columns();
        let sheet = template.sheet.clone();
        let (batches, mut inbox) = tokio::sync::mpsc::channel::<Vec<Vec<Cell>>>(BATCHES_IN_FLIGHT);
        let writer = tokio::task::spawn_blocking(move || -> Result<(Workbook, u32), XlsxError> {
            let rows = {
                let mut table = StreamTable::start(&mut book, &sheet, &columns)?;
                while let Some(batch) = inbox.blocking_recv() {
                    for row in &batch {
                        table.write_row(row)?;
                    }
                }
                table.finish()?
            };
            Ok((book, rows))
        });
        let read = self.read(sub, template, tz, cutoff, since, batches).await;
        let (mut book, rows) = writer.await.map_err(|e| ExportError::Io(std::io::Error::other(e)))??;
        let (per_day, through) = read?;
        if template.summary {
            let days: Vec<(NaiveDate, u64)> = per_day.into_iter().collect();
            add_daily_summary(&mut book, &template.summary_sheet, "Leads", &days)?;
        }
        tokio::task::spawn_blocking(move || -> Result<(), ExportError> {
            let mut out = std::io::BufWriter::with_capacity(SAVE_BUFFER_BYTES, file);
            book.save_to_writer(&mut out)?;
            out.into_inner().map_err(|e| e.into_error())?.finish()?;
            Ok(())
        })
        .await
        .map_err(|e| ExportError::Io(std::io::Error::other(e)))??;
        Ok((u64::from(rows), through))
    }

    /// Streams the report's leads (one read-only snapshot) as batches of cells to `batches`;
    /// returns the leads per local day, and where the report ended: its cut-off, or the moment
    /// of the snapshot when that came first (a report read before its cut-off cannot hold what
    /// is stored later; the next `since_previous` report starts there). Stops early when the
    /// writer has stopped.
    async fn read(
        &self,
        sub: &Subscription,
        template: &Template,
        tz: Tz,
        cutoff: DateTime<Utc>,
        since: Option<DateTime<Utc>>,
        batches: tokio::sync::mpsc::Sender<Vec<Vec<Cell>>>,
    ) -> Result<(BTreeMap<NaiveDate, u64>, DateTime<Utc>), ExportError> {
        let cells = Cells::new(template, tz);
        let width = template.columns.len();
        let mut per_day: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        let mut conn = self.warehouse.conn().await?;
        let tx =
            conn.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await?;
        let through: DateTime<Utc> = tx.query_one("SELECT least($1::timestamptz, now())", &[&cutoff]).await?.get(0);
        let (sql, params) = rows::query(template, &sub.lander_id, through, since);
        let statement = tx.prepare(&sql).await?;
        // The rows arrive as the server sends them; its channel to us holds one buffer, so a
        // slow writer slows the server instead of filling memory.
        let stream = tx.query_raw(&statement, params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync))).await?;
        futures_util::pin_mut!(stream);
        let batch_rows = self.settings.fetch_rows.max(1) as usize;
        let mut batch: Vec<Vec<Cell>> = Vec::with_capacity(batch_rows);
        while let Some(row) = stream.try_next().await? {
            let lead = cells.lead(&row).map_err(|e| ExportError::Io(std::io::Error::other(e)))?;
            *per_day.entry(cells.local(lead.received_at).date()).or_default() += 1;
            let mut out = Vec::with_capacity(width);
            cells.fill(lead, &mut out);
            batch.push(out);
            if batch.len() == batch_rows {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_rows));
                if batches.send(full).await.is_err() {
                    // The writer failed; its error is the one reported.
                    return Ok((per_day, through));
                }
            }
        }
        if !batch.is_empty() {
            let _ = batches.send(batch).await;
        }
        tx.commit().await?;
        Ok((per_day, through))
    }

    /// An operator's resend of a written report's e-mail to the subscription's recipients:
    /// refused (nothing changed) without a sender, recipients, a written report with a live
    /// link, or while another send holds the e-mail; otherwise the e-mail mark is cleared and
    /// the send claimed as the first one is. SES's message id.
    pub async fn resend(&self, subscription: &str, date: NaiveDate) -> Result<String, ExportError> {
        if self.ses.is_none() || self.settings.email_from.is_none() {
            return Err(ExportError::Config("EXPORT_EMAIL_FROM is not set: no e-mail can be sent".into()));
        }
        let db = self.warehouse.conn().await?;
        let Some(sub) = subscriptions(&**db, Some(subscription)).await?.pop() else {
            return Err(ExportError::Config(format!("no enabled export subscription {subscription:?}")));
        };
        if sub.recipients.is_empty() {
            return Err(ExportError::Config(format!("{subscription} has no recipients")));
        }
        let reopened = db
            .execute(
                "UPDATE leads.export SET emailed_at = NULL, email_message_id = NULL
                  WHERE subscription_id = $1 AND report_date = $2 AND status = 'done' AND url_expires_at > now()
                    AND (email_claimed_until IS NULL OR email_claimed_until < now())",
                &[&sub.id, &date],
            )
            .await?;
        if reopened == 0 {
            let why = db
                .query_opt(
                    "SELECT CASE WHEN status <> 'done' THEN 'is ' || status || ', not written'
                                 WHEN url_expires_at <= now() THEN 'has a link that expired: rerun it first'
                                 ELSE 'is being e-mailed now' END
                       FROM leads.export WHERE subscription_id = $1 AND report_date = $2",
                    &[&sub.id, &date],
                )
                .await?
                .map_or_else(|| "was never written: rerun it first".to_owned(), |r| r.get(0));
            return Err(ExportError::Config(format!("the {date} report of {subscription} {why}")));
        }
        drop(db);
        self.email_once(&sub, date)
            .await?
            .ok_or_else(|| ExportError::Config(format!("the {date} report of {subscription} is being e-mailed now")))
    }

    /// E-mails the report's link to the subscription's recipients, once per (subscription,
    /// date): the send is claimed, and `emailed_at` marks it sent. Returns SES's message id
    /// when this call sent it. A crash between SES accepting and `emailed_at` being written
    /// holds the e-mail for a day (the claim outlives the queue's redeliveries); only then
    /// would it be sent again (SES takes no idempotency key). A send SES refuses is released at
    /// once for the retry.
    async fn email_once(&self, sub: &Subscription, date: NaiveDate) -> Result<Option<String>, ExportError> {
        let (Some(ses), Some(from)) = (&self.ses, &self.settings.email_from) else { return Ok(None) };
        if sub.recipients.is_empty() {
            return Ok(None);
        }
        let db = self.warehouse.conn().await?;
        let Some(claimed) = db
            .query_opt(
                "UPDATE leads.export SET email_claimed_until = now() + interval '24 hours'
                  WHERE subscription_id = $1 AND report_date = $2 AND status = 'done' AND emailed_at IS NULL
                    AND (email_claimed_until IS NULL OR email_claimed_until < now())
                 RETURNING row_count, url, to_char(url_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')",
                &[&sub.id, &date],
            )
            .await?
        else {
            return Ok(None);
        };
        let (rows, url, expires): (i64, String, String) = (claimed.get(0), claimed.get(1), claimed.get(2));
        let template = db
            .query_opt("SELECT subject, body FROM leads.email_template WHERE name = 'export_ready'", &[])
            .await?
            .ok_or_else(|| ExportError::Config("leads.email_template has no export_ready".into()))?;
        let (date_text, rows_text) = (date.to_string(), rows.to_string());
        let values = [
            ("client", sub.client_name.as_str()),
            ("lander", sub.lander_name.as_str()),
            ("date", date_text.as_str()),
            ("rows", rows_text.as_str()),
            ("url", url.as_str()),
            ("expires", expires.as_str()),
        ];
        let fill = |t: String| values.iter().fold(t, |t, (k, v)| t.replace(&format!("{{{k}}}"), v));
        let (subject, body) = (fill(template.get(0)), fill(template.get(1)));
        match platform_aws::ses::send_text(ses, from, &sub.recipients, &subject, &body).await {
            Ok(id) => {
                db.execute(
                    "UPDATE leads.export SET emailed_at = now(), email_message_id = $3, email_claimed_until = NULL
                      WHERE subscription_id = $1 AND report_date = $2",
                    &[&sub.id, &date, &id],
                )
                .await?;
                tracing::info!(subscription = %sub.id, %date, "export e-mailed");
                Ok(Some(id))
            }
            Err(e) => {
                let text = format!("written; e-mail not sent: {e}");
                db.execute(
                    "UPDATE leads.export SET email_claimed_until = NULL, error = $3
                      WHERE subscription_id = $1 AND report_date = $2",
                    &[&sub.id, &date, &text],
                )
                .await?;
                Err(e.into())
            }
        }
    }
}

/// Batches of rows between the reader and the writer thread.
const BATCHES_IN_FLIGHT: usize = 4;

/// The buffer between the zip writer's many small writes and the file (each write to the file
/// tells the upload how far it has got).
const SAVE_BUFFER_BYTES: usize = 1024 * 1024;
