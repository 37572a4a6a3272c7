//! meetmax-sync's handler: an SQS batch of `registrations.released` envelopes becomes one run over
//! all their ids (the event's companies listed once), and each message fails on its own when one
//! of its registrations needs another try; a Scheduled Event or `{"action": "sweep"}` runs over
//! every released registration; `{"action": "sync", "registration_ids": […]}` over some.

use std::collections::BTreeSet;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_RELEASED};
use platform_meetmax::{MeetmaxSync, RunReport};
use platform_runtime::{Deadline, deadline::DEFAULT_MARGIN};
use serde_json::{Value, json};

/// Handles one invocation; no MeetMax write starts that the invocation's deadline would cut off.
pub async fn handle(sync: &MeetmaxSync, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let deadline = Deadline::from_epoch_millis(event.context.deadline, DEFAULT_MARGIN);
    tracing::debug!(deadline_ms = event.context.deadline, remaining = ?deadline.remaining(), "invocation");
    let payload = event.payload;
    if payload.get("Records").is_some() {
        let batch: SqsEvent =
            serde_json::from_value(payload).map_err(|e| Error::from(format!("SQS event not understood: {e}")))?;
        return Ok(serde_json::to_value(handle_batch(sync, batch, deadline).await)?);
    }
    let action = payload.get("action").and_then(Value::as_str);
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") || action == Some("sweep") {
        let report = sync.run_until(None, "schedule", deadline).await?;
        return Ok(summary(&report));
    }
    if action == Some("sync") {
        let ids: Vec<String> = serde_json::from_value(payload.get("registration_ids").cloned().unwrap_or(Value::Null))
            .map_err(|e| Error::from(format!("registration_ids must be a list of strings: {e}")))?;
        let report = sync.run_until(Some(&ids), "operator", deadline).await?;
        return Ok(summary(&report));
    }
    Err("unrecognised event: expected an SQS batch, a Scheduled Event, or {\"action\": \"sweep\" | \"sync\"}".into())
}

fn summary(report: &RunReport) -> Value {
    json!({"run_id": report.run_id, "counts": report.counts(), "calls": report.calls,
           "marked_waiting": report.marked_waiting, "outcomes": report.outcomes})
}

/// One run over the ids of every readable message; a message fails (and comes back) when it is
/// unreadable, when the run failed, or when one of its registrations should be tried again
/// (including those the deadline left unstarted).
pub async fn handle_batch(sync: &MeetmaxSync, batch: SqsEvent, deadline: Deadline) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let mut messages = Vec::new();
    let mut all = BTreeSet::new();
    for m in batch.records {
        let message_id = m.message_id.clone().unwrap_or_default();
        match Envelope::parse(m.body.as_deref().unwrap_or(""), &[KIND_REGISTRATIONS_RELEASED]) {
            Ok(env) => {
                all.extend(env.ids.iter().cloned());
                messages.push((message_id, env.ids));
            }
            Err(e) => {
                tracing::error!(%message_id, error = %e, "unreadable message; it will be dead-lettered");
                response.add_failure(message_id);
            }
        }
    }
    if messages.is_empty() {
        return response;
    }
    let ids: Vec<String> = all.into_iter().collect();
    match sync.run_until(Some(&ids), "sqs", deadline).await {
        Ok(report) => {
            for (message_id, ids) in messages {
                let retry =
                    ids.iter().filter(|id| report.outcomes.get(*id).is_some_and(|o| o.retry_via_queue())).count();
                if retry > 0 {
                    tracing::warn!(%message_id, retry, "registrations to try again; the message comes back");
                    response.add_failure(message_id);
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "meetmax run failed; every message of the batch comes back");
            for (message_id, _) in messages {
                response.add_failure(message_id);
            }
        }
    }
    response
}
