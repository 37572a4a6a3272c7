//! Delivering one lead to one integration, at most once with a 2xx.
//!
//! The delivery row is the guard ([`crate::delivery_row`]: its states and transitions). An
//! attempt first **claims** it (`waiting`/`retrying` →
//! `sending`, with `claimed_until`), then posts, then records the answer. Whatever happens:
//! - a 2xx whose body passes the integration's success rule (`vendors::SuccessRule`) is recorded
//!   `delivered` and the row is never claimed again; one whose body fails it is `rejected` with
//!   the body kept (a refusal inside a 2xx);
//! - a 4xx is `rejected` with the vendor's answer (permanent until an operator redelivers);
//! - 429 (honouring `Retry-After`), 5xx and connections that could not be made are retried
//!   with backoff and jitter inside the attempt; when they persist the row is `retrying` and the
//!   queue brings it back;
//! - a request that was sent and whose answer was lost (a timeout, a connection cut mid-answer)
//!   is `unknown_outcome`, like a crash below: re-posting could duplicate the lead;
//! - a row found still `sending` after its claim expired means an attempt posted and its answer
//!   was lost (a crash between the vendor's answer and the database write). We cannot ask these
//!   vendors whether they have the lead, so it is **not re-posted**: it becomes
//!   `unknown_outcome` and waits for an operator (who can check with the client and redeliver).
//!   Each post carries the platform's lead id (map `ID` to `lead_id`) so a vendor with
//!   duplicate detection refuses a second copy.

use std::time::Instant;

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio_postgres::GenericClient;

use platform_vendors::VendorError;

use crate::{
    LeadError, Leads,
    config::{Integration, State},
    delivery_row::{self as row, Ending, Standing, Status},
    shape::{self, LeadData},
    vendors,
};
use platform_warehouse::tokio_postgres;

/// The vendor an integration's requests count against: the company for Captorra, ICE and
/// call tracking; the endpoint's host for IntakeDesk and webhooks.
fn vendor_key(i: &Integration, url: &str) -> String {
    match i.parser {
        vendors::Parser::Intakedesk | vendors::Parser::Webhook => {
            let host = reqwest::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0))));
            format!("{}@{}", i.parser.name(), host.unwrap_or_default())
        }
        p => p.name().to_owned(),
    }
}

/// What happened to one lead × integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Posted, 2xx.
    Delivered {
        /// The vendor's lead id, when its answer had one.
        vendor_lead_id: Option<String>,
    },
    /// Delivered before: nothing sent.
    AlreadyDelivered,
    /// The integration is not ready: the lead waits.
    Waiting {
        /// What is missing.
        missing: Vec<String>,
    },
    /// Broke the integration's rules: not sent.
    Invalid {
        /// Field and reason.
        reason: String,
    },
    /// The vendor refused it (4xx).
    Rejected {
        /// Status and the start of the answer.
        reason: String,
    },
    /// Transient failures persisted: to be retried by the queue.
    Retrying {
        /// The last error.
        reason: String,
    },
    /// Another attempt holds it now.
    Busy,
    /// An earlier attempt's answer was lost: not re-posted.
    UnknownOutcome,
    /// Rejected, invalid or unknown before: nothing sent until an operator redelivers.
    Held {
        /// The status.
        status: String,
    },
}

impl std::fmt::Display for Outcome {
    /// The outcome as an operator reads it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Delivered { vendor_lead_id: Some(id) } => write!(f, "delivered (the vendor's lead id {id})"),
            Outcome::Delivered { vendor_lead_id: None } => write!(f, "delivered"),
            Outcome::AlreadyDelivered => write!(f, "delivered before: nothing sent"),
            Outcome::Waiting { missing } => write!(f, "waiting for the integration: {}", missing.join(", ")),
            Outcome::Invalid { reason } => write!(f, "invalid, not sent: {reason}"),
            Outcome::Rejected { reason } => write!(f, "rejected by the vendor: {reason}"),
            Outcome::Retrying { reason } => write!(f, "retrying: {reason}"),
            Outcome::Busy => write!(f, "another attempt holds it now"),
            Outcome::UnknownOutcome => write!(f, "an earlier attempt's answer was lost: not sent again"),
            Outcome::Held { status } => write!(f, "held ({status}) until an operator redelivers it"),
        }
    }
}

impl Outcome {
    /// Whether the queue should bring the lead back.
    pub fn retry(&self) -> bool {
        matches!(self, Outcome::Retrying { .. } | Outcome::Busy)
    }
}

pub(crate) const INTEGRATION_COLUMNS: &str =
    "id, lander_id, client_id, parser, endpoint, secret_id, mapping, constants, rules, options, contact_email, state";

/// Reads an integration row (selected with [`INTEGRATION_COLUMNS`]).
pub(crate) fn integration(row: &tokio_postgres::Row) -> Result<Integration, LeadError> {
    Ok(Integration::from_parts(
        row.get(0),
        row.get(1),
        row.get(2),
        row.get::<_, String>(3).as_str(),
        row.get(4),
        row.get(5),
        &row.get::<_, Value>(6),
        &row.get::<_, Value>(7),
        &row.get::<_, Value>(8),
        &row.get::<_, Value>(9),
        row.get(10),
        row.get(11),
    )?)
}

/// A lead's data for shaping.
pub async fn load_lead(db: &impl GenericClient, lead_id: i64) -> Result<(LeadData, String), LeadError> {
    let row = db
        .query_opt(
            "SELECT lander_id, fields, first_name, last_name, email, phone, received_at, is_test FROM leads.lead WHERE id = $1",
            &[&lead_id],
        )
        .await?
        .ok_or_else(|| LeadError::NotFound(format!("no lead {lead_id}")))?;
    let mut fields: Map<String, Value> = row.get::<_, Value>(1).as_object().cloned().unwrap_or_default();
    for (i, name) in [(2, "first_name"), (3, "last_name"), (4, "email"), (5, "phone")] {
        if let Some(v) = row.get::<_, Option<String>>(i) {
            fields.insert(name.into(), json!(v));
        }
    }
    let received: chrono::DateTime<chrono::Utc> = row.get(6);
    fields.insert("received_at".into(), json!(received.to_rfc3339()));
    Ok((LeadData { id: lead_id, fields, is_test: row.get(7) }, row.get(0)))
}

impl Leads {
    /// Delivers lead `lead_id` to every enabled integration of its lander.
    pub async fn deliver_lead(&self, lead_id: i64) -> Result<Vec<(String, Outcome)>, LeadError> {
        let db = self.warehouse.conn().await?;
        let (lead, lander) = load_lead(&**db, lead_id).await?;
        let rows = db
            .query(
                &format!(
                    "SELECT {INTEGRATION_COLUMNS} FROM leads.integration WHERE lander_id = $1 AND enabled ORDER BY id"
                ),
                &[&lander],
            )
            .await?;
        drop(db);
        let mut out = Vec::new();
        for row in &rows {
            let i = integration(row)?;
            let o = self.deliver_one(&i, &lead).await?;
            out.push((i.id.clone(), o));
        }
        Ok(out)
    }

    /// Delivers `lead` to integration `i` (see the module's rules).
    pub async fn deliver_one(&self, i: &Integration, lead: &LeadData) -> Result<Outcome, LeadError> {
        let db = self.warehouse.conn().await?;
        row::ensure(&**db, lead.id, &i.id).await?;
        // A secret it may not name holds every lead, test leads too, before anything is claimed.
        let refused = i.secret_id.as_deref().is_some_and(|id| self.secret_allowed(id).is_err());
        if (i.state == State::AwaitingInformation && !lead.is_test) || refused {
            let missing = self.missing(i);
            let reason = format!("waiting for the integration: {}", missing.join(", "));
            row::note_waiting(&**db, lead.id, &i.id, &reason).await?;
            return Ok(Outcome::Waiting { missing });
        }
        if !row::claim(&**db, lead.id, &i.id, self.settings.claim.as_secs_f64()).await? {
            // Someone else's: delivered, held, in flight, or in flight and lost.
            return Ok(match row::settle(&**db, lead.id, &i.id).await? {
                Standing::LostNow => Outcome::UnknownOutcome,
                Standing::Is(Status::Delivered) => Outcome::AlreadyDelivered,
                Standing::Is(Status::Sending) => Outcome::Busy,
                Standing::Is(held) => Outcome::Held { status: held.as_str().to_owned() },
            });
        }
        drop(db);
        let shaped = match shape::shape(i, lead) {
            Ok(s) => s,
            Err(invalid) => {
                let reason = invalid.to_string();
                let end = Ending {
                    status: Status::Invalid,
                    response_status: None,
                    body: None,
                    vendor_lead_id: None,
                    reason: Some(reason.clone()),
                };
                self.finish(lead.id, i, &end, &[], None, None).await?;
                return Ok(Outcome::Invalid { reason });
            }
        };
        let request = self.request(i, &shaped.fields).await?;
        let started = Instant::now();
        let sent = self.post(i, &request).await;
        let ms = started.elapsed().as_millis() as i32;
        let (end, outcome) = self.verdict(i, sent).await;
        // An answer that echoes a secret header keeps it out of the warehouse and the pages.
        let (end, outcome) = request.scrubbed(end, outcome);
        self.finish(lead.id, i, &end, &shaped.warnings, Some(&request.logged()), Some(ms)).await?;
        Ok(outcome)
    }

    /// Posts `request`: 429 (honouring Retry-After), 5xx and connections never made are retried
    /// with backoff and jitter; a request sent whose answer was lost is returned, never repeated.
    async fn post(&self, i: &Integration, request: &Request) -> Result<reqwest::Response, VendorError> {
        self.vendor_client(&vendor_key(i, &request.url))
            .send_write_retrying_failures(|c| {
                let mut b = c
                    .post(&request.url)
                    .header("content-type", request.content_type)
                    .header("accept", "application/json");
                for (k, v) in &request.headers {
                    b = b.header(k.as_str(), v.as_str());
                }
                b.body(request.body.clone())
            })
            .await
    }

    /// What the vendor's answer means: the row's ending and the outcome reported.
    async fn verdict(&self, i: &Integration, sent: Result<reqwest::Response, VendorError>) -> (Ending, Outcome) {
        let ending = |status, response_status, body, reason: &str| Ending {
            status,
            response_status,
            body,
            vendor_lead_id: None,
            reason: Some(reason.to_owned()),
        };
        match sent {
            Ok(resp) => {
                let status = resp.status().as_u16() as i32;
                let body = platform_vendors::http::read_body(self.http.vendor(), resp)
                    .await
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                // A 2xx whose body fails the success rule is a refusal inside a 2xx.
                let rule = vendors::SuccessRule::of(i.parser, &i.options).ok().flatten();
                if let Some(why) = rule.and_then(|r| r.check(&body).err()) {
                    let reason = format!(
                        "HTTP {status}, but the answer fails the success rule: {why}: {}",
                        body.chars().take(300).collect::<String>()
                    );
                    return (ending(Status::Rejected, Some(status), Some(body), &reason), Outcome::Rejected { reason });
                }
                let vendor_lead_id = vendors::vendor_lead_id(&body);
                let outcome = Outcome::Delivered { vendor_lead_id: vendor_lead_id.clone() };
                let end = Ending {
                    status: Status::Delivered,
                    response_status: Some(status),
                    body: Some(body),
                    vendor_lead_id,
                    reason: None,
                };
                (end, outcome)
            }
            Err(VendorError::Status { status, body, .. }) if (400..500).contains(&status) && status != 429 => {
                let reason = format!("HTTP {status}: {}", body.chars().take(300).collect::<String>());
                (ending(Status::Rejected, Some(status as i32), Some(body), &reason), Outcome::Rejected { reason })
            }
            Err(e @ VendorError::Transport { .. }) => {
                // Sent, and the answer lost (timeout, connection cut): the vendor may have it.
                let reason = format!(
                    "the request was sent and its answer lost ({e}); not re-posted (the vendor may have the lead): check with the client, then redeliver"
                );
                (ending(Status::UnknownOutcome, None, None, &reason), Outcome::UnknownOutcome)
            }
            Err(e) => {
                let reason = e.to_string();
                let status = match &e {
                    VendorError::Status { status, .. } => Some(*status as i32),
                    _ => None,
                };
                (ending(Status::Retrying, status, None, &reason), Outcome::Retrying { reason })
            }
        }
    }

    /// Records an attempt's end (see [`row::record`]); a first real 2xx makes a `ready`
    /// integration `live` and sends its client's confirmation.
    async fn finish(
        &self,
        lead_id: i64,
        i: &Integration,
        end: &Ending,
        warnings: &[String],
        request: Option<&Value>,
        ms: Option<i32>,
    ) -> Result<(), LeadError> {
        let mut conn = self.warehouse.conn().await?;
        let tx = conn.transaction().await?;
        row::record(&*tx, lead_id, &i.id, end, warnings, request, ms).await?;
        let confirm = end.status == Status::Delivered && row::go_live(&*tx, lead_id, &i.id).await?;
        tx.commit().await?;
        // Given back before the e-mail takes its own: holding one while waiting for another
        // starves the pool when a batch's leads finish together.
        drop(conn);
        if confirm && let Err(e) = Box::pin(self.send_confirmations(Some(&i.id))).await {
            // Kept unsent: the next refresh_states sends it.
            tracing::warn!(integration = %i.id, error = %e, "confirmation e-mail not sent yet");
        }
        tracing::info!(lead = lead_id, integration = %i.id, status = end.status.as_str(), response_status = end.response_status,
                       reason = end.reason.as_deref().unwrap_or(""), "delivery recorded");
        platform_runtime::metrics::emit(crate::FUNCTION_NAME, "delivery", &end.figures(ms));
        Ok(())
    }

    /// The HTTP request of integration `i` for `fields`: URL, body, content type, headers
    /// (webhook headers and signature from the integration's secret).
    async fn request(&self, i: &Integration, fields: &Map<String, Value>) -> Result<Request, LeadError> {
        let url = i
            .endpoint
            .clone()
            .or_else(|| vendors::default_endpoint(i.parser).map(str::to_owned))
            .ok_or_else(|| LeadError::Config(format!("integration {} has no endpoint", i.id)))?;
        let (body, content_type) = vendors::encode(vendors::body_format(i.parser, &i.options), fields);
        let secret = match &i.secret_id {
            Some(id) => {
                self.secret_allowed(id)?;
                Some(self.secrets.get(id).await?)
            }
            None => None,
        };
        let mut headers = Vec::new();
        let mut secret_headers = Vec::new();
        for (name, value) in i.options.get("headers").and_then(Value::as_object).into_iter().flatten() {
            let Some(v) = value.as_str() else { continue };
            match v.strip_prefix("secret:") {
                Some(field) => {
                    let s = secret.as_ref().and_then(|s| s.field(field)).ok_or_else(|| {
                        LeadError::Config(format!("integration {}: header {name} needs secret field {field}", i.id))
                    })?;
                    headers.push((name.clone(), s));
                    secret_headers.push(name.clone());
                }
                None => headers.push((name.clone(), v.to_owned())),
            }
        }
        if let Some(sig) = i.options.get("signature").and_then(Value::as_object) {
            let header = sig.get("header").and_then(Value::as_str).unwrap_or("X-Signature").to_owned();
            let key = secret.as_ref().and_then(|s| s.field("hmac_key")).ok_or_else(|| {
                LeadError::Config(format!("integration {}: the signature needs secret field hmac_key", i.id))
            })?;
            let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
            mac.update(&body);
            headers.push((header.clone(), format!("sha256={}", hex::encode(mac.finalize().into_bytes()))));
            secret_headers.push(header);
        }
        Ok(Request { url, body, content_type, headers, secret_headers, fields: fields.clone() })
    }
}

/// An HTTP request to a vendor.
#[derive(Debug, Clone)]
pub struct Request {
    /// URL.
    pub url: String,
    /// Body.
    pub body: Vec<u8>,
    /// Content type.
    pub content_type: &'static str,
    /// Headers.
    pub headers: Vec<(String, String)>,
    secret_headers: Vec<String>,
    fields: Map<String, Value>,
}

impl Request {
    /// `text` with every header value taken from a secret replaced by the redaction marker.
    /// A text cut short (an error keeps the start of an answer) loses a value's cut-off start too.
    pub fn scrub(&self, text: &str) -> String {
        let marker = platform_domain::signature::REDACTED;
        let secrets: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, v)| self.secret_headers.contains(k) && v.len() >= 4)
            .map(|(_, v)| v.as_str())
            .collect();
        let mut out = secrets.iter().fold(text.to_owned(), |t, v| t.replace(v, marker));
        for v in &secrets {
            let cut = (4..v.len()).rev().filter(|k| v.is_char_boundary(*k)).find(|k| out.ends_with(&v[..*k]));
            if let Some(k) = cut {
                out.truncate(out.len() - k);
                out.push_str(marker);
            }
        }
        out
    }

    /// An attempt's ending and outcome with [`scrub`](Self::scrub) applied to what the vendor
    /// answered and to the reasons quoting it.
    pub fn scrubbed(&self, mut end: Ending, outcome: Outcome) -> (Ending, Outcome) {
        if self.secret_headers.is_empty() {
            return (end, outcome);
        }
        end.body = end.body.map(|b| self.scrub(&b));
        end.reason = end.reason.map(|r| self.scrub(&r));
        let outcome = match outcome {
            Outcome::Rejected { reason } => Outcome::Rejected { reason: self.scrub(&reason) },
            Outcome::Retrying { reason } => Outcome::Retrying { reason: self.scrub(&reason) },
            Outcome::Invalid { reason } => Outcome::Invalid { reason: self.scrub(&reason) },
            other => other,
        };
        (end, outcome)
    }

    /// The request as the delivery log keeps it: header values from secrets redacted.
    pub fn logged(&self) -> Value {
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let shown = if self.secret_headers.contains(k) { "[redacted]".to_owned() } else { v.clone() };
                (k.clone(), json!(shown))
            })
            .collect();
        json!({"url": platform_vendors::http::without_url_queries(&self.url), "content_type": self.content_type,
               "headers": headers, "fields": self.fields})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_echoing_a_secret_header_keeps_it_out_whole_or_cut() {
        let request = Request {
            url: "https://vendor.example/leads".into(),
            body: Vec::new(),
            content_type: "application/json",
            headers: vec![
                ("Authorization".into(), "Bearer tok-abcdef123".into()),
                ("X-Source".into(), "platform".into()),
            ],
            secret_headers: vec!["Authorization".into()],
            fields: Map::new(),
        };
        assert_eq!(
            request.scrub("you sent Bearer tok-abcdef123 from platform"),
            "you sent [redacted] from platform",
            "a value not taken from the secret stays"
        );
        assert_eq!(request.scrub("…header was Bearer tok-ab"), "…header was [redacted]", "a value cut short");
        assert_eq!(request.scrub("nothing here"), "nothing here");
        let end = Ending {
            status: crate::delivery_row::Status::Rejected,
            response_status: Some(401),
            body: Some("bad token Bearer tok-abcdef123".into()),
            vendor_lead_id: None,
            reason: Some("HTTP 401: bad token Bearer tok-abcdef123".into()),
        };
        let (end, outcome) =
            request.scrubbed(end, Outcome::Rejected { reason: "HTTP 401: bad token Bearer tok-abcdef123".into() });
        assert_eq!(end.body.as_deref(), Some("bad token [redacted]"));
        assert!(!end.reason.unwrap().contains("tok-abc"));
        assert_eq!(outcome, Outcome::Rejected { reason: "HTTP 401: bad token [redacted]".into() });
    }
}
