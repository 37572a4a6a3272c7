//! connector-pull's handler: adapts each trigger to a call into `platform-connectors`.
//!
//! - EventBridge schedule (`Scheduled Event`) or `{"action": "plan"[, "connection": …]}` → one
//!   `connector.pull` message per enabled stream of every enabled connection.
//! - SQS batch of `connector.pull` envelopes → each message pulls its stream until done or the
//!   deadline (then the continuation is queued); a failed message comes back alone.
//! - `{"action": "pull", "connection": …, "stream": …, "full": true|false}` → an operator's pull
//!   of one stream now (`full`: every record, whatever the cursor).
//! - `{"action": "preview", "connection": …}` → the preview report's presigned link.
//! - `{"action": "confirm_removal", "connection": …, "stream": …}` → applies a removal the share
//!   guard refused.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use platform_connectors::{Connectors, KIND_CONNECTOR_PULL};
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
    /// Queue a pull of every enabled stream (of one connection, or of all).
    Plan {
        /// Only this connection.
        #[serde(default)]
        connection: Option<String>,
    },
    /// Pull one stream now.
    Pull {
        /// Connection name.
        connection: String,
        /// Stream name.
        stream: String,
        /// Every record, whatever the cursor.
        #[serde(default)]
        full: bool,
    },
    /// Check the credentials and report the first page of every stream.
    Preview {
        /// Connection name.
        connection: String,
    },
    /// Apply a removal the share guard refused.
    ConfirmRemoval {
        /// Connection name.
        connection: String,
        /// Stream name.
        stream: String,
    },
}

/// The shapes of event this function takes.
pub const TAKES: &[Shape] = &[Shape::Sqs, Shape::Schedule, Shape::Command];

/// Reads `payload` as one of [`TAKES`]; the error says what was wrong.
pub fn classify(payload: Value) -> Result<Event<Command>, InvocationError> {
    event::accept(payload, TAKES)
}

/// Handles one invocation, inside one span carrying the request id.
pub async fn handle(service: &Connectors, event: LambdaEvent<Value>) -> Result<Value, InvocationError> {
    let deadline = Deadline::from_epoch_millis(event.context.deadline, DEFAULT_MARGIN);
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    dispatch(service, event.payload, deadline).instrument(span).await
}

async fn dispatch(service: &Connectors, payload: Value, deadline: Deadline) -> Result<Value, InvocationError> {
    match classify(payload)? {
        Event::Sqs(batch) => Ok(serde_json::to_value(handle_batch(service, batch, deadline).await)?),
        Event::Schedule | Event::Command(Command::Plan { connection: None }) => planned(service, None).await,
        Event::Command(Command::Plan { connection: Some(c) }) => planned(service, Some(&c)).await,
        Event::Command(Command::Pull { connection, stream, full }) => {
            let report = if full {
                service.pull_full(&connection, &stream, &deadline).await
            } else {
                service.pull_now(&connection, &stream, &deadline).await
            };
            Ok(serde_json::to_value(report?)?)
        }
        Event::Command(Command::Preview { connection }) => {
            Ok(serde_json::to_value(service.preview(&connection).await?)?)
        }
        Event::Command(Command::ConfirmRemoval { connection, stream }) => {
            Ok(serde_json::to_value(service.confirm_removal(&connection, &stream, None).await?)?)
        }
        _ => Err(event::not_taken(TAKES)),
    }
}

async fn planned(service: &Connectors, only: Option<&str>) -> Result<Value, InvocationError> {
    let envelopes = service.plan(only).await?;
    let streams: Vec<&String> = envelopes.iter().flat_map(|e| &e.ids).collect();
    Ok(json!({"planned": streams}))
}

/// Each message pulls its stream; a failed or unreadable message comes back alone.
pub async fn handle_batch(service: &Connectors, batch: SqsEvent, deadline: Deadline) -> SqsBatchResponse {
    platform_runtime::sqs_batch::envelopes(batch, &[KIND_CONNECTOR_PULL], |envelope| async move {
        service.handle(&envelope, &deadline).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_trigger_and_refuses_the_rest() {
        let sample = |name: &str| event::sample("connector-pull", name);
        assert!(matches!(classify(sample("sqs.json")), Ok(Event::Sqs(_))));
        assert!(matches!(classify(sample("schedule.json")), Ok(Event::Schedule)));
        assert!(matches!(classify(sample("plan.json")), Ok(Event::Command(Command::Plan { connection: None }))));
        assert!(matches!(classify(sample("pull-full.json")), Ok(Event::Command(Command::Pull { full: true, .. }))));
        assert!(matches!(classify(sample("preview.json")), Ok(Event::Command(Command::Preview { .. }))));
        assert!(matches!(classify(sample("confirm-removal.json")), Ok(Event::Command(Command::ConfirmRemoval { .. }))));
        assert!(
            classify(json!({"action": "pull", "connection": "x"})).unwrap_err().message.contains("unknown command")
        );
        assert!(
            classify(json!({"action": "preview", "connection": "x", "extra": 1}))
                .unwrap_err()
                .message
                .contains("unknown command")
        );
        assert!(classify(json!({"Records": 7})).unwrap_err().message.contains("SQS event not understood"));
        assert!(classify(json!({"hello": "world"})).unwrap_err().message.contains("unrecognised event"));
    }
}
