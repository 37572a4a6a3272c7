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
use chrono::NaiveDate;
use lambda_runtime::LambdaEvent;
use platform_domain::envelope::Envelope;
use platform_export::{ExportError, Exporter, KIND_EXPORT_REQUESTED};
use platform_runtime::{
    ErrorKind, InvocationError,
    event::{self, Event},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
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

/// What an event is.
#[derive(Debug)]
pub enum Trigger {
    /// An SQS batch from the export queue.
    Sqs(SqsEvent),
    /// The 05:00 UTC schedule.
    Schedule,
    /// A command.
    Command(Command),
}

/// Recognises the trigger of `payload`; the error says what was wrong.
pub fn classify(payload: Value) -> Result<Trigger, String> {
    match event::read(payload)? {
        Event::Sqs(batch) => Ok(Trigger::Sqs(batch)),
        Event::Schedule => Ok(Trigger::Schedule),
        Event::Command(c) => Ok(Trigger::Command(c)),
        Event::FunctionUrl(_) | Event::Other => {
            Err("unrecognised event: expected an SQS batch, a Scheduled Event or {\"action\": …}".into())
        }
    }
}

/// Handles one invocation, inside one span carrying the request id.
pub async fn handle(service: &Exporter, event: LambdaEvent<Value>) -> Result<Value, InvocationError> {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    dispatch(service, event.payload).instrument(span).await
}

fn failure(e: ExportError) -> InvocationError {
    let kind = match &e {
        ExportError::Config(_) => ErrorKind::Config,
        ExportError::Warehouse(_) => ErrorKind::Warehouse,
        ExportError::Aws(_) => ErrorKind::Aws,
        ExportError::Workbook(_) | ExportError::Io(_) | ExportError::Busy(_) => ErrorKind::Internal,
    };
    tracing::error!(error = %e, "spreadsheet-export failed");
    InvocationError::new(kind, e)
}

fn date_of(text: Option<&str>) -> Result<NaiveDate, InvocationError> {
    event::report_date(text).map_err(|e| InvocationError::new(ErrorKind::Event, e))
}

async fn dispatch(service: &Exporter, payload: Value) -> Result<Value, InvocationError> {
    let trigger = classify(payload).map_err(|e| {
        tracing::error!(error = %e, "event refused");
        InvocationError::new(ErrorKind::Event, e)
    })?;
    match trigger {
        Trigger::Sqs(batch) => Ok(serde_json::to_value(handle_batch(service, batch).await)?),
        Trigger::Schedule => service.plan(date_of(None)?).await.map_err(failure),
        Trigger::Command(Command::Plan { date }) => service.plan(date_of(date.as_deref())?).await.map_err(failure),
        Trigger::Command(Command::Rerun { subscription, date }) => {
            let outcome = service.export(&subscription, date_of(Some(&date))?).await.map_err(failure)?;
            Ok(json!(outcome))
        }
    }
}

/// Each message runs its job; a failed job comes back alone (partial batch failure).
pub async fn handle_batch(service: &Exporter, batch: SqsEvent) -> SqsBatchResponse {
    platform_runtime::sqs_batch::process(batch, |message| async move {
        let body = message.body.unwrap_or_default();
        let envelope = Envelope::parse(&body, &[KIND_EXPORT_REQUESTED]).map_err(|e| e.to_string())?;
        service.handle(&envelope).await.map(|_| ()).map_err(|e| e.to_string())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_trigger_and_refuses_the_rest() {
        let sample = |name: &str| -> Value {
            let path = format!("{}/../../events/spreadsheet-export/{name}", env!("CARGO_MANIFEST_DIR"));
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        assert!(matches!(classify(sample("sqs.json")), Ok(Trigger::Sqs(_))));
        assert!(matches!(classify(sample("schedule.json")), Ok(Trigger::Schedule)));
        assert!(matches!(classify(sample("plan.json")), Ok(Trigger::Command(Command::Plan { date: None }))));
        assert!(matches!(classify(sample("rerun.json")), Ok(Trigger::Command(Command::Rerun { .. }))));
        assert!(classify(json!({"action": "rerun", "subscription": "x"})).unwrap_err().contains("unknown command"));
        assert!(classify(json!({"hello": 1})).unwrap_err().contains("unrecognised event"));
        assert!(date_of(Some("23/11/2026")).is_err());
    }
}
