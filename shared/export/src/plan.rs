//! The morning plan: one queue job per enabled subscription, keyed by (subscription, report
//! date). A subscription whose template cannot be used is refused here, with the reason on its
//! export record, and sends nothing; the others are planned.

use chrono::NaiveDate;
use platform_domain::envelope::Envelope;
use serde::Serialize;
use uuid::Uuid;

use crate::{ExportError, Exporter, KIND_EXPORT_REQUESTED, cutoff, export::subscriptions, job_id};

/// The plan of a report date.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The report date.
    pub date: NaiveDate,
    /// The subscriptions planned (one job sent for each).
    pub planned: Vec<String>,
    /// The subscriptions refused, and why.
    pub refused: Vec<Refused>,
}

/// A subscription whose template cannot be used.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    /// The subscription.
    pub subscription: String,
    /// Why its template cannot be used.
    pub error: String,
}

impl Exporter {
    /// Plans the reports of `date`: checks each enabled subscription's template, records the
    /// export (`planned`, or `refused` with why) and sends one job per planned subscription.
    /// Planning a date again sends its jobs again: each overwrites its own object and e-mails
    /// no one twice.
    pub async fn plan(&self, date: NaiveDate) -> Result<Plan, ExportError> {
        self.plan_for(date, None).await
    }

    /// Plans the report of `date` of one subscription (an operator's rerun), or of all: as
    /// [`plan`](Self::plan) does. An unknown or disabled subscription is refused.
    pub async fn plan_for(&self, date: NaiveDate, only: Option<&str>) -> Result<Plan, ExportError> {
        let (Some(sqs), Some(queue)) = (&self.sqs, &self.settings.queue_url) else {
            return Err(ExportError::Config("EXPORT_QUEUE_URL is required to plan exports".into()));
        };
        let db = self.warehouse.conn().await?;
        let subs = subscriptions(&**db, only).await?;
        if let Some(id) = only
            && subs.is_empty()
        {
            return Err(ExportError::Config(format!("no enabled export subscription {id:?}")));
        }
        let mut planned = Vec::new();
        let mut refused = Vec::new();
        for sub in &subs {
            let (status, error) = match sub.template(&**db).await? {
                Ok(_) => ("planned", None),
                Err(reason) => ("refused", Some(reason)),
            };
            db.execute(
                "INSERT INTO leads.export (subscription_id, report_date, status, cutoff, error)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (subscription_id, report_date) DO UPDATE
                    SET status = CASE WHEN leads.export.status = 'running' AND leads.export.claimed_until > now()
                                      THEN leads.export.status ELSE excluded.status END,
                        error = excluded.error, updated_at = now()",
                &[&sub.id, &date, &status, &cutoff(date), &error],
            )
            .await?;
            match error {
                None => planned.push(sub.id.clone()),
                Some(e) => {
                    tracing::warn!(subscription = %sub.id, error = %e, "export refused: its template cannot be used");
                    refused.push(Refused { subscription: sub.id.clone(), error: e });
                }
            }
        }
        drop(db);
        let ids: Vec<String> = planned.iter().map(|s| job_id(s, date)).collect();
        let run = Uuid::now_v7().to_string();
        sqs.send(queue, &Envelope::singles(KIND_EXPORT_REQUESTED, &ids, &run)).await?;
        tracing::info!(%date, planned = planned.len(), refused = refused.len(), "exports planned");
        Ok(Plan { date, planned, refused })
    }
}
