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

/// `template` with `{name}` placeholders replaced.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |t, (k, v)| t.replace(&format!("{{{k}}}"), v))
}

impl Leads {
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
            let facts = db
                .query_one(
                    "SELECT c.name, coalesce(i.contact_email, c.contact_email), l.name, i.parser,
                            to_char(ld.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), coalesce(d.vendor_lead_id, 'not given')
                       FROM leads.confirmation f
                       JOIN leads.integration i ON i.id = f.integration_id
                       JOIN leads.client c ON c.id = i.client_id
                       JOIN leads.lander l ON l.id = i.lander_id
                       JOIN leads.lead ld ON ld.id = f.lead_id
                       LEFT JOIN leads.delivery d ON d.lead_id = f.lead_id AND d.integration_id = f.integration_id
                      WHERE f.integration_id = $1",
                    &[&integration],
                )
                .await?;
            let (client, to, lander, parser, at, vendor_id): (String, Option<String>, String, String, String, String) =
                (facts.get(0), facts.get(1), facts.get(2), facts.get(3), facts.get(4), facts.get(5));
            let values = [
                ("client", client.as_str()),
                ("lander", lander.as_str()),
                ("system", system_name(&parser)),
                ("integration", integration.as_str()),
                ("lead_time", at.as_str()),
                ("vendor_lead_id", vendor_id.as_str()),
            ];
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
