//! meetmax-sync's handler: adapts each trigger to a call into `platform-meetmax`.
//!
//! - SQS batch of `registrations.released` envelopes → one run over the ids of all readable
//!   messages (the event's companies listed once); a message comes back when one of its
//!   registrations is to be tried again ([`platform_runtime::sqs_batch::process_together`]).
//! - EventBridge schedule (`Scheduled Event`) or `{"action": "sweep"}` → a run over every
//!   released registration.
//! - `{"action": "sync", "registration_ids": […]}` → a run over those registrations.
//!
//! No MeetMax write starts that the invocation's deadline would cut off.

use std::collections::BTreeSet;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_RELEASED};
use platform_meetmax::{MeetmaxSync, RunReport};
use platform_runtime::{
    Deadline, InvocationError,
    deadline::DEFAULT_MARGIN,
    event::{self, Event, Shape},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::Instrument;

/// An operator's or scheduler's command.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Every released registration.
    Sweep,
    /// These registrations.
    Sync {
        /// Registration ids.
        registration_ids: Vec<String>,
    },
}

/// The shapes of event this function takes.
pub const TAKES: &[Shape] = &[Shape::Sqs, Shape::Schedule, Shape::Command];

/// Reads `payload` as one of [`TAKES`]; the error says what was wrong.
pub fn classify(payload: Value) -> Result<Event<Command>, InvocationError> {
    event::accept(payload, TAKES)
}

/// Handles one invocation, inside one span carrying the request id.
pub async fn handle(sync: &MeetmaxSync, event: LambdaEvent<Value>) -> Result<Value, InvocationError> {
    let deadline = Deadline::from_epoch_millis(event.context.deadline, DEFAULT_MARGIN);
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    tracing::debug!(parent: &span, deadline_ms = event.context.deadline, remaining = ?deadline.remaining(), "invocation");
    dispatch(sync, event.payload, deadline).instrument(span).await
}

async fn dispatch(sync: &MeetmaxSync, payload: Value, deadline: Deadline) -> Result<Value, InvocationError> {
    match classify(payload)? {
        Event::Sqs(batch) => Ok(serde_json::to_value(handle_batch(sync, batch, deadline).await)?),
        Event::Schedule | Event::Command(Command::Sweep) => {
            Ok(summary(&sync.run_until(None, "schedule", deadline).await?))
        }
        Event::Command(Command::Sync { registration_ids }) => {
            Ok(summary(&sync.run_until(Some(&registration_ids), "operator", deadline).await?))
        }
        _ => Err(event::not_taken(TAKES)),
    }
}

fn summary(report: &RunReport) -> Value {
    json!({"run_id": report.run_id, "counts": report.counts(), "calls": report.calls,
           "marked_waiting": report.marked_waiting, "outcomes": report.outcomes})
}

/// One run over the ids of every readable message; a message fails (and comes back) when it is
/// unreadable, when the run failed or panicked, or when one of its registrations should be tried
/// again (including those the deadline left unstarted).
pub async fn handle_batch(sync: &MeetmaxSync, batch: SqsEvent, deadline: Deadline) -> SqsBatchResponse {
    let parse = |body: &str| {
        Envelope::parse(body, &[KIND_REGISTRATIONS_RELEASED]).map(|env| env.ids).map_err(|e| e.to_string())
    };
    platform_runtime::sqs_batch::process_together(batch, parse, |messages: Vec<Vec<String>>| async move {
        let ids: Vec<String> = messages.iter().flatten().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        let report = sync.run_until(Some(&ids), "sqs", deadline).await?;
        Ok::<_, platform_meetmax::SyncError>(
            messages
                .iter()
                .map(|ids| ids.iter().any(|id| report.outcomes.get(id).is_some_and(|o| o.retry_via_queue())))
                .collect(),
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_trigger_and_refuses_the_rest() {
        let sample = |name: &str| event::sample("meetmax-sync", name);
        assert!(matches!(classify(sample("sqs.json")), Ok(Event::Sqs(_))));
        assert!(matches!(classify(sample("schedule.json")), Ok(Event::Schedule)));
        assert!(matches!(classify(sample("sweep.json")), Ok(Event::Command(Command::Sweep))));
        match classify(sample("sync.json")) {
            Ok(Event::Command(Command::Sync { registration_ids })) => assert_eq!(registration_ids.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(classify(json!({"action": "sync"})).unwrap_err().message.contains("unknown command"));
        assert!(
            classify(json!({"action": "sync", "registration_ids": [1]}))
                .unwrap_err()
                .message
                .contains("unknown command")
        );
        assert!(classify(json!({"action": "explode"})).unwrap_err().message.contains("unknown command"));
        assert!(classify(json!({"Records": 7})).unwrap_err().message.contains("SQS event not understood"));
        assert!(classify(json!({"hello": "world"})).unwrap_err().message.contains("unrecognised event"));
    }

    #[test]
    fn an_operators_typo_is_refused_with_the_field_named() {
        let err = classify(serde_json::json!({"action":"sync","registration_id":["r1"]})).unwrap_err();
        assert!(err.message.contains("unknown field `registration_id`"), "{err}");
    }
}
