//! What operators and the queue ask of the service: deliver the leads a message names, refresh
//! the integrations' states (and release the leads that waited for them), redeliver an
//! integration's failed leads, send a marked test lead.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    KIND_LEADS_RECEIVED, LeadError, Leads,
    deliver::{INTEGRATION_COLUMNS, Outcome, integration, load_lead},
};
use crate::{config::State, email::Confirmation};
use platform_domain::envelope::Envelope;

/// What [`Leads::refresh_states`] did.
#[derive(Debug, Clone, Serialize)]
pub struct StatesRefreshed {
    /// Each enabled integration's state now.
    pub integrations: BTreeMap<String, IntegrationState>,
    /// The confirmation e-mails sent (or tried) in this run.
    pub confirmations_sent: Vec<Confirmation>,
}

/// One integration after a refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrationState {
    /// Whether it can deliver now.
    pub state: State,
    /// What it still needs, when awaiting information.
    pub missing: Vec<String>,
    /// Leads that waited for it and were queued now.
    pub queued: usize,
}

/// What a test lead met: the delivery's outcome and the vendor's raw answer.
#[derive(Debug, Clone, Serialize)]
pub struct TestLead {
    /// The test lead's id.
    pub lead: i64,
    /// The integration it went through.
    pub integration: String,
    /// The delivery's outcome.
    pub outcome: Outcome,
    /// The vendor's HTTP status.
    pub response_status: Option<i32>,
    /// The vendor's answer body.
    pub response_body: Option<String>,
    /// Why the outcome is what it is.
    pub reason: Option<String>,
    /// The request sent (secrets redacted).
    pub request: Option<Value>,
}

impl Leads {
    /// Delivers every lead of a `leads.received` envelope; `Err` when one should come back
    /// (a transient failure, or another attempt holding it).
    pub async fn handle(&self, envelope: &Envelope) -> Result<Vec<(i64, String, Outcome)>, LeadError> {
        let mut out = Vec::new();
        let mut retry = Vec::new();
        for id in &envelope.ids {
            let lead: i64 = id.parse().map_err(|_| LeadError::NotFound(format!("lead id {id:?} is not a number")))?;
            for (integration, o) in self.deliver_lead(lead).await? {
                if o.retry() {
                    retry.push(format!("lead {lead} → {integration}: {o:?}"));
                }
                out.push((lead, integration, o));
            }
        }
        if retry.is_empty() { Ok(out) } else { Err(LeadError::Retry(retry.join("; "))) }
    }

    /// Recomputes every integration's state from its configuration (`awaiting_information`
    /// with what is missing → `ready`; `live` stays live), queues the leads that waited for an
    /// integration that can now deliver (and any lead left unannounced in the outbox), and sends
    /// confirmations left unsent.
    pub async fn refresh_states(&self) -> Result<StatesRefreshed, LeadError> {
        let mut conn = self.warehouse.conn().await?;
        let rows = conn
            .query(&format!("SELECT {INTEGRATION_COLUMNS} FROM leads.integration WHERE enabled ORDER BY id"), &[])
            .await?;
        // States computed from the configuration, written in one statement.
        let mut ids = Vec::new();
        let mut states = Vec::new();
        let mut missings = Vec::new();
        for row in &rows {
            let i = integration(row)?;
            let missing = self.missing(&i);
            let state = i.state.refreshed(missing.is_empty());
            ids.push(i.id);
            states.push(state);
            missings.push(missing);
        }
        let tx = conn.transaction().await?;
        tx.execute(
            "UPDATE leads.integration i SET state = n.state, missing = ARRAY(SELECT jsonb_array_elements_text(n.missing)),
                    updated_at = now()
               FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS n(id, state, missing)
              WHERE i.id = n.id AND (i.state IS DISTINCT FROM n.state
                                     OR i.missing IS DISTINCT FROM ARRAY(SELECT jsonb_array_elements_text(n.missing)))",
            &[
                &ids,
                &states.iter().map(|s| s.as_str()).collect::<Vec<&str>>(),
                &missings.iter().map(|m| json!(m)).collect::<Vec<Value>>(),
            ],
        )
        .await?;
        // The leads waiting on integrations that can deliver now, in one query.
        let delivering: Vec<&String> = ids.iter().zip(&states).filter(|(_, s)| s.delivers()).map(|(i, _)| i).collect();
        let waiting = tx
            .query(
                "SELECT integration_id, lead_id::text FROM leads.delivery
                  WHERE integration_id = ANY($1) AND status = 'waiting' ORDER BY lead_id",
                &[&delivering],
            )
            .await?;
        let mut queued_total: Vec<String> = waiting.iter().map(|r| r.get(1)).collect();
        let mut integrations = BTreeMap::new();
        for ((id, state), missing) in ids.iter().zip(&states).zip(missings) {
            let queued = waiting.iter().filter(|r| r.get::<_, &str>(0) == id).count();
            integrations.insert(id.clone(), IntegrationState { state: *state, missing, queued });
        }
        queued_total.sort();
        queued_total.dedup();
        platform_warehouse::outbox::enqueue(&*tx, KIND_LEADS_RECEIVED, &queued_total, Uuid::now_v7()).await?;
        tx.commit().await?;
        drop(conn);
        // Also the sweep of the outbox: leads another function stored (a Formstack lander form)
        // whose announcement failed or had no queue to go to.
        if !queued_total.is_empty() || self.settings.queue_url.is_some() {
            self.publish().await?;
        }
        // Confirmations not sent yet (SES was down, or the sender crashed) go now.
        let confirmations = self.send_confirmations(None).await?;
        Ok(StatesRefreshed { integrations, confirmations_sent: confirmations })
    }

    /// Puts an integration's rejected, invalid and unknown-outcome deliveries back to waiting
    /// and queues them (after its configuration was fixed, or the client confirmed that a lost
    /// answer's lead never arrived). Returns the lead ids.
    /// With `expected` (the fingerprint an operator was shown), exactly that set or nothing.
    pub async fn redeliver(&self, integration_id: &str, expected: Option<&str>) -> Result<Vec<i64>, LeadError> {
        let mut conn = self.warehouse.conn().await?;
        let tx = conn.transaction().await?;
        let ids = crate::delivery_row::reopen(&*tx, integration_id, expected).await?;
        let as_text: Vec<String> = ids.iter().map(i64::to_string).collect();
        platform_warehouse::outbox::enqueue(&*tx, KIND_LEADS_RECEIVED, &as_text, Uuid::now_v7()).await?;
        tx.commit().await?;
        drop(conn);
        // A failure to announce them leaves them in the outbox for the next sweep.
        if !ids.is_empty()
            && let Err(e) = self.publish().await
        {
            tracing::warn!(integration = integration_id, error = %e, "redelivery announced later: the outbox keeps it");
        }
        Ok(ids)
    }

    /// Redelivers one lead through one integration now (after an operator's look at its
    /// timeline): its rejected, invalid or unknown-outcome row goes back to `waiting`, is
    /// announced through the outbox (so that a crash here still delivers it), and is delivered
    /// at once. `Ok(None)` when the row is not one a redelivery reopens.
    pub async fn redeliver_lead(&self, lead: i64, integration_id: &str) -> Result<Option<Outcome>, LeadError> {
        let mut conn = self.warehouse.conn().await?;
        let row = conn
            .query_opt(
                &format!("SELECT {INTEGRATION_COLUMNS}, enabled FROM leads.integration WHERE id = $1"),
                &[&integration_id],
            )
            .await?
            .ok_or_else(|| LeadError::NotFound(format!("no integration {integration_id:?}")))?;
        if !row.get::<_, bool>("enabled") {
            return Err(LeadError::Config(format!("integration {integration_id} is paused: resume it first")));
        }
        let i = integration(&row)?;
        let tx = conn.transaction().await?;
        if !crate::delivery_row::reopen_one(&*tx, lead, integration_id).await? {
            return Ok(None);
        }
        platform_warehouse::outbox::enqueue(&*tx, KIND_LEADS_RECEIVED, &[lead.to_string()], Uuid::now_v7()).await?;
        tx.commit().await?;
        let (data, _) = load_lead(&**conn, lead).await?;
        drop(conn);
        let outcome = self.deliver_one(&i, &data).await?;
        // The announcement goes to the queue (a delivered row is left alone there); a failure
        // to send it leaves it in the outbox for the next sweep, and the delivery stands.
        if self.settings.queue_url.is_some()
            && let Err(e) = self.publish().await
        {
            tracing::warn!(lead, integration = integration_id, error = %e, "redelivery announced later: the outbox keeps it");
        }
        Ok(Some(outcome))
    }

    /// Sends a marked test lead through `integration_id` now and reports the vendor's answer;
    /// it does not make the integration live.
    pub async fn test_lead(&self, integration_id: &str) -> Result<TestLead, LeadError> {
        let db = self.warehouse.conn().await?;
        let row = db
            .query_opt(
                &format!("SELECT {INTEGRATION_COLUMNS} FROM leads.integration WHERE id = $1"),
                &[&integration_id],
            )
            .await?
            .ok_or_else(|| LeadError::NotFound(format!("no integration {integration_id:?}")))?;
        let i = integration(&row)?;
        let fields = json!({"first_name": "Test", "last_name": "Lead", "email": "test-lead@example.invalid",
                            "phone": "5550100000", "details": "TEST LEAD sent by the lead-delivery platform to check the integration: please ignore."});
        let id: i64 = db
            .query_one(
                "INSERT INTO leads.lead (lander_id, source, source_id, first_name, last_name, email, phone, fields, is_test)
                 VALUES ($1, 'test', $2, 'Test', 'Lead', 'test-lead@example.invalid', '5550100000', $3, true) RETURNING id",
                &[&i.lander_id, &Uuid::now_v7().to_string(), &fields],
            )
            .await?
            .get(0);
        let (lead, _) = load_lead(&**db, id).await?;
        drop(db);
        let outcome = self.deliver_one(&i, &lead).await?;
        let db = self.warehouse.conn().await?;
        let answer = db
            .query_one(
                "SELECT response_status, response_body, reason, request FROM leads.delivery WHERE lead_id = $1 AND integration_id = $2",
                &[&id, &i.id],
            )
            .await?;
        Ok(TestLead {
            lead: id,
            integration: i.id,
            outcome,
            response_status: answer.get(0),
            response_body: answer.get(1),
            reason: answer.get(2),
            request: answer.get(3),
        })
    }
}
