//! The afternoon to-do list, as a report: every integration `awaiting_information` with what is
//! missing and every lead waiting on it, the integrations of new clients (no integration of
//! theirs has gone live yet) and of landers flagged as needing a custom script. Written as an
//! XLSX workbook to S3 (`todo/<date>.xlsx`) daily and on demand; new clients and custom-script
//! landers are e-mailed to the team the day they first appear ("It is a new client. Please do
//! tell us!"), once.

use chrono::NaiveDate;
use platform_workbook::{Cell, Workbook, add_table};
use serde::Serialize;

use crate::{LeadError, Leads};

/// A written to-do report.
#[derive(Debug, Clone, Serialize)]
pub struct TodoReport {
    /// Its S3 key (`todo/<date>.xlsx`).
    pub key: String,
    /// A presigned link, valid 7 days.
    pub url: String,
    /// Integrations awaiting information.
    pub awaiting: usize,
    /// Leads waiting on them.
    pub waiting_leads: usize,
    /// New clients and custom-script landers development should hear of.
    pub tell_development: usize,
    /// The e-mail the team was sent, when something appeared for the first time.
    pub team_email: Option<TeamEmail>,
}

/// The team's e-mail of what appeared today.
#[derive(Debug, Clone, Serialize)]
pub struct TeamEmail {
    /// Its recipient.
    pub to: String,
    /// Its subject.
    pub subject: String,
    /// SES's message id.
    pub message_id: String,
    /// One line per new client or custom-script lander.
    pub items: Vec<String>,
}

impl Leads {
    /// Writes the to-do report of `date` (re-running a date overwrites its object) and sends the
    /// team the notices that appear for the first time.
    pub async fn todo_report(&self, date: NaiveDate) -> Result<TodoReport, LeadError> {
        let (Some(s3), Some(bucket)) = (&self.s3, &self.settings.bucket) else {
            return Err(LeadError::Config("LEAD_BUCKET is required for the to-do report".into()));
        };
        let mut conn = self.warehouse.conn().await?;
        let awaiting = conn
            .query(
                "SELECT i.id, i.lander_id, c.name, i.parser, array_to_string(i.missing, '; '),
                        (SELECT count(*) FROM leads.delivery d WHERE d.integration_id = i.id AND d.status = 'waiting')
                   FROM leads.integration i JOIN leads.client c ON c.id = i.client_id
                  WHERE i.enabled AND i.state = 'awaiting_information' ORDER BY i.id",
                &[],
            )
            .await?;
        let waiting = conn
            .query(
                "SELECT d.lead_id, l.lander_id, d.integration_id, to_char(l.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                        coalesce(l.first_name || ' ', '') || coalesce(l.last_name, ''), coalesce(d.reason, '')
                   FROM leads.delivery d JOIN leads.lead l ON l.id = d.lead_id
                  WHERE d.status = 'waiting' AND NOT l.is_test ORDER BY d.lead_id, d.integration_id",
                &[],
            )
            .await?;
        // New clients: none of their integrations live yet. Custom scripts: flagged landers
        // whose integrations are not live yet.
        let flagged = conn
            .query(
                "SELECT 'new_client', c.id, c.name, string_agg(i.id, ', ' ORDER BY i.id)
                   FROM leads.client c JOIN leads.integration i ON i.client_id = c.id AND i.enabled
                  GROUP BY c.id, c.name HAVING bool_and(i.live_at IS NULL)
                 UNION ALL
                 SELECT 'custom_script', l.id, l.name, string_agg(i.id, ', ' ORDER BY i.id)
                   FROM leads.lander l JOIN leads.integration i ON i.lander_id = l.id AND i.enabled
                  WHERE l.needs_custom_script GROUP BY l.id, l.name HAVING bool_and(i.state <> 'live')
                 ORDER BY 1, 2",
                &[],
            )
            .await?;

        let mut book = Workbook::new();
        let text = |r: &platform_warehouse::tokio_postgres::Row, i: usize| Cell::from(r.get::<_, String>(i));
        add_table(
            &mut book,
            "awaiting information",
            &[
                "integration".into(),
                "lander".into(),
                "client".into(),
                "parser".into(),
                "missing".into(),
                "leads waiting".into(),
            ],
            awaiting.iter().map(|r| {
                vec![text(r, 0), text(r, 1), text(r, 2), text(r, 3), text(r, 4), Cell::from(r.get::<_, i64>(5))]
            }),
            &[24.0, 22.0, 26.0, 14.0, 60.0, 14.0],
        )
        .map_err(workbook_error)?;
        add_table(
            &mut book,
            "waiting leads",
            &[
                "lead".into(),
                "lander".into(),
                "integration".into(),
                "received (UTC)".into(),
                "name".into(),
                "waiting for".into(),
            ],
            waiting.iter().map(|r| {
                vec![Cell::from(r.get::<_, i64>(0)), text(r, 1), text(r, 2), text(r, 3), text(r, 4), text(r, 5)]
            }),
            &[10.0, 22.0, 24.0, 18.0, 24.0, 60.0],
        )
        .map_err(workbook_error)?;
        add_table(
            &mut book,
            "tell development",
            &["why".into(), "id".into(), "name".into(), "integrations".into()],
            flagged.iter().map(|r| {
                let why = if r.get::<_, String>(0) == "new_client" { "new client" } else { "custom lander script" };
                vec![Cell::from(why), text(r, 1), text(r, 2), text(r, 3)]
            }),
            &[22.0, 22.0, 30.0, 50.0],
        )
        .map_err(workbook_error)?;
        let bytes = book.save_to_buffer().map_err(workbook_error)?;
        let key = format!("todo/{date}.xlsx");
        platform_aws::s3::put(s3, bucket, &key, bytes, platform_workbook::CONTENT_TYPE).await?;
        let link =
            platform_aws::s3::presigned_get(s3, bucket, &key, std::time::Duration::from_secs(7 * 24 * 3600)).await?;

        // The team hears of each new client and custom-script lander once, the day it appears.
        let tx = conn.transaction().await?;
        tx.execute(
            "INSERT INTO leads.todo_report (report_date, s3_key, awaiting, waiting_leads) VALUES ($1, $2, $3, $4)
             ON CONFLICT (report_date) DO UPDATE SET s3_key = excluded.s3_key, awaiting = excluded.awaiting,
                    waiting_leads = excluded.waiting_leads, created_at = now()",
            &[&date, &key, &(awaiting.len() as i32), &(waiting.len() as i32)],
        )
        .await?;
        let mut fresh = Vec::new();
        for r in &flagged {
            let (kind, id, name, integrations): (String, String, String, String) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            let new = tx
                .execute(
                    "INSERT INTO leads.team_notice (kind, subject_id, noticed_on) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&kind, &id, &date],
                )
                .await?;
            if new > 0 {
                fresh.push((kind, id, name, integrations));
            }
        }
        let mut emailed = None;
        if !fresh.is_empty()
            && let (Some(ses), Some(from), Some(team)) =
                (&self.ses, &self.settings.email_from, &self.settings.team_email)
        {
            let lines: Vec<String> = fresh
                .iter()
                .map(|(kind, id, name, integrations)| match kind.as_str() {
                    "new_client" => {
                        format!("- {name} ({id}): it is a new client. Please do tell us! Integrations: {integrations}")
                    }
                    _ => format!("- lander {name} ({id}) needs a custom script. Integrations: {integrations}"),
                })
                .collect();
            let subject = format!("Lead integrations to look at ({date})");
            let body = format!(
                "Hello,\n\nThese appeared today:\n\n{}\n\nThe whole to-do report (valid 7 days): {link}\n",
                lines.join("\n")
            );
            // Failing here rolls the notices back: the next report sends them.
            let id = platform_aws::ses::send_text(ses, from, std::slice::from_ref(team), &subject, &body).await?;
            tx.execute(
                "UPDATE leads.team_notice SET sent_at = now() WHERE noticed_on = $1 AND sent_at IS NULL",
                &[&date],
            )
            .await?;
            emailed = Some(TeamEmail { to: team.clone(), subject, message_id: id, items: lines });
        }
        tx.commit().await?;
        Ok(TodoReport {
            key,
            url: link,
            awaiting: awaiting.len(),
            waiting_leads: waiting.len(),
            tell_development: flagged.len(),
            team_email: emailed,
        })
    }
}

fn workbook_error(e: platform_workbook::XlsxError) -> LeadError {
    LeadError::Config(format!("to-do workbook: {e}"))
}
