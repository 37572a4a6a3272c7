//! The client's confirmation e-mail: when an integration's first real lead is delivered, its
//! client gets one e-mail saying it works (which lander, which system, the lead's time, the
//! vendor's lead id). The row in `leads.confirmation` is created with that delivery, so there
//! is never a second; sending claims it (`claimed_until`) so that concurrent senders do not both
//! send. A crash after SES accepted the e-mail and before `sent_at` is written would send it
//! again once the claim expires: SES takes no idempotency key, and this window is the only one.

use serde::Serialize;

use crate::{LeadError, Leads, vendors::Parser};

/// One confirmation e-mail a run tried to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Confirmation {
    /// SES accepted it.
    Sent {
        /// The integration it confirms.
        integration: String,
        /// The client's address.
        to: String,
        /// Its subject.
        subject: String,
        /// SES's message id.
        message_id: String,
    },
    /// SES refused it; it waits for the next run.
    Failed {
        /// The integration it confirms.
        integration: String,
        /// SES's error.
        error: String,
    },
}

/// How long a sender owns a confirmation.
const CLAIM_SECONDS: f64 = 300.0;

/// The system's name in e-mails.
fn system_name(parser: &str) -> &'static str {
    match Parser::parse(parser) {
        Some(Parser::Captorra) => "Captorra",
        Some(Parser::Ice) => "ICE",
        Some(Parser::CaptorraCalltracking) => "Captorra call tracking",
        Some(Parser::Intakedesk) => "IntakeDesk",
        Some(Parser::Webhook) | None => "your intake system",
    }
}

/// What the e-mail says, from the integration, its client and lander, and the lead
/// (`f.lead_id`) it confirms; the caller adds the `WHERE`.
const FACTS: &str = "SELECT c.name, coalesce(i.contact_email, c.contact_email), l.name, i.parser,
        to_char(ld.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), coalesce(d.vendor_lead_id, 'not given'),
        i.id
   FROM (SELECT integration_id, lead_id FROM leads.confirmation
         UNION ALL SELECT $1::text, $2::bigint WHERE $2::bigint IS NOT NULL) f
   JOIN leads.integration i ON i.id = f.integration_id
   JOIN leads.client c ON c.id = i.client_id
   JOIN leads.lander l ON l.id = i.lander_id
   JOIN leads.lead ld ON ld.id = f.lead_id
   LEFT JOIN leads.delivery d ON d.lead_id = f.lead_id AND d.integration_id = f.integration_id";

/// The placeholders' values of one e-mail.
struct Facts {
    client: String,
    lander: String,
    system: &'static str,
    integration: String,
    lead_time: String,
    vendor_lead_id: String,
}

impl Facts {
    /// The recipient and the values, from a [`FACTS`] row.
    fn of(row: &platform_warehouse::tokio_postgres::Row) -> (Option<String>, Facts) {
        let parser: String = row.get(3);
        let facts = Facts {
            client: row.get(0),
            lander: row.get(2),
            system: system_name(&parser),
            integration: row.get(6),
            lead_time: row.get(4),
            vendor_lead_id: row.get(5),
        };
        (row.get(1), facts)
    }

    fn pairs(&self) -> [(&'static str, String); 6] {
        [
            ("client", self.client.clone()),
            ("lander", self.lander.clone()),
            ("system", self.system.to_owned()),
            ("integration", self.integration.clone()),
            ("lead_time", self.lead_time.clone()),
            ("vendor_lead_id", self.vendor_lead_id.clone()),
        ]
    }
}

/// The confirmation e-mail of an integration as it reads (or read), with its sent state.
#[derive(Debug, Clone, Serialize)]
pub struct ConfirmationPreview {
    /// The lead it names: the one it confirms, else the integration's latest real lead.
    pub lead_id: i64,
    /// Its recipient (none: the client has no contact e-mail).
    pub to: Option<String>,
    /// Its subject.
    pub subject: String,
    /// Its body.
    pub body: String,
    /// Whether it was sent, when, to whom, or why not: `sent …`, `not sent: …`, `not due yet`.
    pub state: String,
}

/// `template` with `{name}` placeholders replaced.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |t, (k, v)| t.replace(&format!("{{{k}}}"), v))
}

impl Leads {
    /// The confirmation e-mail of `integration` rendered with a real lead: the lead it
    /// confirms once there is one, else the latest real lead of its lander (`None`: no lead yet).
    pub async fn confirmation_preview(&self, integration: &str) -> Result<Option<ConfirmationPreview>, LeadError> {
        let db = self.warehouse.conn().await?;
        let template = db
            .query_opt("SELECT subject, body FROM leads.email_template WHERE name = 'integration_confirmed'", &[])
            .await?
            .ok_or_else(|| LeadError::Config("leads.email_template has no integration_confirmed".into()))?;
        let sent = db
            .query_opt(
                "SELECT lead_id, CASE WHEN sent_at IS NOT NULL THEN
                          'sent ' || to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC to ' || coalesce(recipient, '?')
                        ELSE 'not sent yet' || coalesce(': ' || error, '') END
                   FROM leads.confirmation WHERE integration_id = $1",
                &[&integration],
            )
            .await?;
        let (lead, state): (Option<i64>, String) = match &sent {
            Some(r) => (None, r.get(1)),
            None => {
                let latest = db
                    .query_opt(
                        "SELECT ld.id FROM leads.integration i JOIN leads.lead ld ON ld.lander_id = i.lander_id
                          WHERE i.id = $1 AND NOT ld.is_test ORDER BY ld.received_at DESC, ld.id DESC LIMIT 1",
                        &[&integration],
                    )
                    .await?;
                let Some(latest) = latest else { return Ok(None) };
                (Some(latest.get(0)), "not due yet: it goes when the first real lead is delivered".to_owned())
            }
        };
        let row = db
            .query_one(
                &format!("{FACTS} WHERE f.integration_id = $1 AND ($2::bigint IS NULL OR f.lead_id = $2) LIMIT 1"),
                &[&integration, &lead],
            )
            .await?;
        let lead_id = lead.unwrap_or_else(|| sent.as_ref().map_or(0, |r| r.get(0)));
        let (to, facts) = Facts::of(&row);
        let pairs = facts.pairs();
        let values: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (subject_t, body_t): (String, String) = (template.get(0), template.get(1));
        Ok(Some(ConfirmationPreview {
            lead_id,
            to,
            subject: render(&subject_t, &values),
            body: render(&body_t, &values),
            state,
        }))
    }

    /// Sends the unsent confirmations (of one integration, or all); returns what was sent or
    /// why not. Without SES or `LEAD_EMAIL_FROM` nothing is sent and the rows wait.
    pub async fn send_confirmations(&self, only: Option<&str>) -> Result<Vec<Confirmation>, LeadError> {
        let (Some(ses), Some(from)) = (&self.ses, &self.settings.email_from) else {
            return Ok(Vec::new());
        };
        let db = self.warehouse.conn().await?;
        let claimed = db
            .query(
                "UPDATE leads.confirmation SET claimed_until = now() + make_interval(secs => $2), attempts = attempts + 1
                  WHERE sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
                    AND ($1::text IS NULL OR integration_id = $1)
                 RETURNING integration_id",
                &[&only, &CLAIM_SECONDS],
            )
            .await?;
        let template = db
            .query_opt("SELECT subject, body FROM leads.email_template WHERE name = 'integration_confirmed'", &[])
            .await?
            .ok_or_else(|| LeadError::Config("leads.email_template has no integration_confirmed".into()))?;
        let (subject_t, body_t): (String, String) = (template.get(0), template.get(1));
        let mut out = Vec::new();
        for row in &claimed {
            let integration: String = row.get(0);
            let facts =
                db.query_one(&format!("{FACTS} WHERE f.integration_id = $1"), &[&integration, &None::<i64>]).await?;
            let (to, facts) = Facts::of(&facts);
            let pairs = facts.pairs();
            let values: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (subject, body) = (render(&subject_t, &values), render(&body_t, &values));
            let Some(to) = to else {
                db.execute(
                    "UPDATE leads.confirmation SET claimed_until = NULL, error = 'no contact e-mail' WHERE integration_id = $1",
                    &[&integration],
                )
                .await?;
                continue;
            };
            match platform_aws::ses::send_text(ses, from, std::slice::from_ref(&to), &subject, &body).await {
                Ok(id) => {
                    db.execute(
                        "UPDATE leads.confirmation SET sent_at = now(), message_id = $2, recipient = $3, subject = $4,
                                claimed_until = NULL, error = NULL
                          WHERE integration_id = $1",
                        &[&integration, &id, &to, &subject],
                    )
                    .await?;
                    tracing::info!(integration = %integration, recipient = %to, "confirmation e-mail sent");
                    out.push(Confirmation::Sent { integration, to, subject, message_id: id });
                }
                Err(e) => {
                    let text = e.to_string();
                    db.execute(
                        "UPDATE leads.confirmation SET claimed_until = NULL, error = $2 WHERE integration_id = $1",
                        &[&integration, &text],
                    )
                    .await?;
                    tracing::warn!(integration = %integration, error = %text, "confirmation e-mail failed; kept for the next run");
                    out.push(Confirmation::Failed { integration, error: text });
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_their_placeholders() {
        let t = "Hello {client}, {lander} → {system} ({vendor_lead_id}); {unknown} stays";
        assert_eq!(
            render(
                t,
                &[("client", "Smith Law"), ("lander", "Accident"), ("system", "Captorra"), ("vendor_lead_id", "L-1")]
            ),
            "Hello Smith Law, Accident → Captorra (L-1); {unknown} stays"
        );
        assert_eq!(system_name("captorra_calltracking"), "Captorra call tracking");
    }
}
