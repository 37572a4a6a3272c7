//! lead-delivery's handler: adapts each trigger to a call into `platform-leads`.
//!
//! - SQS batch of `leads.received` envelopes (one lead each) → each lead to every integration
//!   of its lander; a lead with a transient failure comes back alone.
//! - Function URL request → the generic signed lead endpoint (landers not built on Formstack).
//! - EventBridge schedule or `{"action": "refresh_states"}` → integrations' states recomputed,
//!   the leads that waited for a now-ready integration queued, the outbox drained.
//! - `{"action": "redeliver", "integration": …}` → its rejected, invalid and unknown-outcome
//!   leads queued again.
//! - `{"action": "test_lead", "integration": …}` → a marked test lead sent now, the answer
//!   reported.
//! - `{"action": "publish"}` → unsent outbox entries to the queue.
//! - `{"action": "todo_report"[, "date": "YYYY-MM-DD"]}` (daily at 15:00 UTC) → the to-do
//!   report to S3, and the team e-mailed of new clients and custom-script landers.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use platform_leads::{KIND_LEADS_RECEIVED, Leads};
use platform_runtime::{
    InvocationError,
    event::{self, Event, Shape},
    function_url,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::Instrument;

/// An operator's or scheduler's command.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Recompute integrations' states and release waiting leads.
    RefreshStates,
    /// Queue an integration's failed leads again.
    Redeliver {
        /// Integration id.
        integration: String,
    },
    /// Send a marked test lead through an integration now.
    TestLead {
        /// Integration id.
        integration: String,
    },
    /// Drain the outbox to the queue.
    Publish,
    /// Write the to-do report (of `date`, default today UTC) and notify the team.
    TodoReport {
        /// `YYYY-MM-DD`.
        #[serde(default)]
        date: Option<String>,
    },
}

/// The shapes of event this function takes.
pub const TAKES: &[Shape] = &[Shape::Sqs, Shape::FunctionUrl, Shape::Schedule, Shape::Command];

/// Reads `payload` as one of [`TAKES`]; the error says what was wrong.
pub fn classify(payload: Value) -> Result<Event<Command>, InvocationError> {
    event::accept(payload, TAKES)
}

/// Handles one invocation, inside one span carrying the request id.
pub async fn handle(service: &Leads, event: LambdaEvent<Value>) -> Result<Value, InvocationError> {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    dispatch(service, event.payload).instrument(span).await
}

async fn dispatch(service: &Leads, payload: Value) -> Result<Value, InvocationError> {
    match classify(payload)? {
        Event::Sqs(batch) => Ok(serde_json::to_value(handle_batch(service, batch).await)?),
        Event::FunctionUrl(req) => Ok(serde_json::to_value(function_url::serve(*req, |r| service.receive(r)).await)?),
        Event::Schedule | Event::Command(Command::RefreshStates) => {
            Ok(serde_json::to_value(service.refresh_states().await?)?)
        }
        Event::Command(Command::Redeliver { integration }) => {
            let ids = service.redeliver(&integration, None).await?;
            Ok(json!({"integration": integration, "queued": ids}))
        }
        Event::Command(Command::TestLead { integration }) => {
            Ok(serde_json::to_value(service.test_lead(&integration).await?)?)
        }
        Event::Command(Command::Publish) => Ok(json!({"published": service.publish().await?})),
        Event::Command(Command::TodoReport { date }) => {
            Ok(serde_json::to_value(service.todo_report(event::report_date(date.as_deref())?).await?)?)
        }
        _ => Err(event::not_taken(TAKES)),
    }
}

/// Leads of one batch in flight together (SQS hands at most ten): each waits on a vendor, and
/// the vendors' own limits bound them further.
pub const LEADS_IN_FLIGHT: usize = 10;

/// Each message delivers its lead; a lead to retry comes back alone.
pub async fn handle_batch(service: &Leads, batch: SqsEvent) -> SqsBatchResponse {
    // The batch's leads in flight together: each waits on a vendor, bounded per vendor.
    platform_runtime::sqs_batch::envelopes_concurrently(
        batch,
        &[KIND_LEADS_RECEIVED],
        LEADS_IN_FLIGHT,
        |envelope| async move { service.handle(&envelope).await },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_trigger_and_refuses_the_rest() {
        let sample = |name: &str| event::sample("lead-delivery", name);
        assert!(matches!(classify(sample("sqs.json")), Ok(Event::Sqs(_))));
        assert!(matches!(classify(sample("lead.json")), Ok(Event::FunctionUrl(_))));
        assert!(matches!(classify(sample("schedule.json")), Ok(Event::Schedule)));
        assert!(matches!(classify(sample("refresh-states.json")), Ok(Event::Command(Command::RefreshStates))));
        assert!(matches!(classify(sample("redeliver.json")), Ok(Event::Command(Command::Redeliver { .. }))));
        assert!(matches!(classify(sample("test-lead.json")), Ok(Event::Command(Command::TestLead { .. }))));
        assert!(matches!(classify(sample("publish.json")), Ok(Event::Command(Command::Publish))));
        assert!(matches!(classify(sample("todo-report.json")), Ok(Event::Command(Command::TodoReport { date: None }))));
        assert!(classify(json!({"action": "redeliver"})).unwrap_err().message.contains("unknown command"));
        assert!(classify(json!({"hello": 1})).unwrap_err().message.contains("unrecognised event"));
    }
}
