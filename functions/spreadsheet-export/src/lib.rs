//! spreadsheet-export's handler: adapts each trigger to a call into `platform-export`.
//!
//! - EventBridge schedule (05:00 UTC) or `{"action": "plan"[, "date": "YYYY-MM-DD"]}` → one
//!   queue job per enabled subscription for that report date (default today, UTC); a
//!   subscription whose template cannot be used is refused with the reason and sends nothing.
//! - SQS batch of `export.requested` envelopes → each job's workbook written, uploaded, linked
//!   and e-mailed once; a job that fails comes back alone.
//! - `{"action": "rerun", "subscription": …, "date": "YYYY-MM-DD"}` → that report written now
//!   (overwriting its object; its recipients are not e-mailed twice).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use platform_export::{Exporter, KIND_EXPORT_REQUESTED};
use platform_runtime::{
    InvocationError,
    event::{self, Event, Shape},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;

/// An operator's or scheduler's command.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Plan the reports of `date` (default today, UTC).
    Plan {
        /// `YYYY-MM-DD`.
        #[serde(default)]
        date: Option<String>,
    },
    /// Write one subscription's report of `date` now.
    Rerun {
        /// Subscription id.
        subscription: String,
        /// `YYYY-MM-DD`.
        date: String,
    },
}

/// The shapes of event this function takes.
pub const TAKES: &[Shape] = &[Shape::Sqs, Shape::Schedule, Shape::Command];

/// Reads `payload` as one of [`TAKES`]; the error says what was wrong.
pub fn classify(payload: Value) -> Result<Event<Command>, InvocationError> {
    event::accept(payload, TAKES)
}

/// Handles one invocation, inside one span carrying the request id.
pub async fn handle(service: &Exporter, event: LambdaEvent<Value>) -> Result<Value, InvocationError> {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    dispatch(service, event.payload).instrument(span).await
}

async fn dispatch(service: &Exporter, payload: Value) -> Result<Value, InvocationError> {
    match classify(payload)? {
        Event::Sqs(batch) => Ok(serde_json::to_value(handle_batch(service, batch).await)?),
        Event::Schedule => Ok(serde_json::to_value(service.plan(event::report_date(None)?).await?)?),
        Event::Command(Command::Plan { date }) => {
            Ok(serde_json::to_value(service.plan(event::report_date(date.as_deref())?).await?)?)
        }
        Event::Command(Command::Rerun { subscription, date }) => {
            Ok(serde_json::to_value(service.export(&subscription, event::report_date(Some(&date))?).await?)?)
        }
        _ => Err(event::not_taken(TAKES)),
    }
}

/// Each message runs its job; a failed job comes back alone (partial batch failure).
pub async fn handle_batch(service: &Exporter, batch: SqsEvent) -> SqsBatchResponse {
    platform_runtime::sqs_batch::envelopes(batch, &[KIND_EXPORT_REQUESTED], |envelope| async move {
        service.handle(&envelope).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_every_trigger_and_refuses_the_rest() {
        let sample = |name: &str| event::sample("spreadsheet-export", name);
        assert!(matches!(classify(sample("sqs.json")), Ok(Event::Sqs(_))));
        assert!(matches!(classify(sample("schedule.json")), Ok(Event::Schedule)));
        assert!(matches!(classify(sample("plan.json")), Ok(Event::Command(Command::Plan { date: None }))));
        assert!(matches!(classify(sample("rerun.json")), Ok(Event::Command(Command::Rerun { .. }))));
        assert!(
            classify(json!({"action": "rerun", "subscription": "x"})).unwrap_err().message.contains("unknown command")
        );
        assert!(classify(json!({"hello": 1})).unwrap_err().message.contains("unrecognised event"));
        assert!(event::report_date(Some("23/11/2026")).is_err());
    }
}
