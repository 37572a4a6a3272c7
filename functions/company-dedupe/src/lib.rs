//! company-dedupe's handler: adapts each trigger to a call into `platform-dedupe`.
//!
//! - SQS batch of `registrations.changed` envelopes (from formstack-intake) → one pass per
//!   message; a failed or panicking message fails alone ([`platform_runtime::sqs_batch::process`]).
//! - EventBridge schedule (`Scheduled Event`) or `{"action": "sweep"}` → one pass over every
//!   registration.
//! - S3 upload under `incoming/` → the review workbook's decisions applied.
//! - `{"action": "export_review"}` → the review workbook written to the bucket.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use platform_dedupe::Dedupe;
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_CHANGED};
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
    /// One pass over every registration.
    Sweep,
    /// Write the review workbook of unreviewed organisations.
    ExportReview,
}

/// What an event is.
#[derive(Debug)]
pub enum Trigger {
    /// An SQS batch from the dedupe queue.
    Sqs(SqsEvent),
    /// Objects uploaded to the review bucket: their keys (URL-decoded), only those under
    /// `incoming/`.
    Upload(Vec<String>),
    /// An EventBridge schedule.
    Schedule,
    /// A command.
    Command(Command),
}

/// Recognises the trigger of `payload`; the error says what was wrong.
pub fn classify(payload: Value) -> Result<Trigger, String> {
    if let Some(keys) = event::s3_object_keys(&payload) {
        return Ok(Trigger::Upload(keys.into_iter().filter(|key| key.starts_with("incoming/")).collect()));
    }
    match event::read(payload)? {
        Event::Sqs(batch) => Ok(Trigger::Sqs(batch)),
        Event::Schedule => Ok(Trigger::Schedule),
        Event::Command(c) => Ok(Trigger::Command(c)),
        Event::FunctionUrl(_) | Event::Other => Err("unrecognised event: expected an SQS batch, an S3 upload, a Scheduled Event, or {\"action\": \"sweep\" | \"export_review\"}".into()),
    }
}

/// Handles one invocation, inside one span carrying the request id.
pub async fn handle(dedupe: &Dedupe, event: LambdaEvent<Value>) -> Result<Value, InvocationError> {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    dispatch(dedupe, event.payload).instrument(span).await
}

async fn dispatch(dedupe: &Dedupe, payload: Value) -> Result<Value, InvocationError> {
    let trigger = classify(payload).map_err(|e| {
        tracing::error!(error = %e, "event refused");
        InvocationError::new(ErrorKind::Event, e)
    })?;
    match trigger {
        Trigger::Upload(keys) => {
            let mut applied = Vec::new();
            for key in keys {
                let r = dedupe.apply_review(&key).await?;
                applied.push(json!({"key": key, "applied": r.applied, "rejected": r.rejected, "refused": r.refused,
                                    "result": r.result_key, "released": r.released}));
            }
            Ok(json!({"workbooks": applied}))
        }
        Trigger::Sqs(batch) => {
            let resp = platform_runtime::sqs_batch::process(batch, |m: SqsMessage| async move {
                let env = Envelope::parse(m.body.as_deref().unwrap_or(""), &[KIND_REGISTRATIONS_CHANGED])
                    .map_err(|e| e.to_string())?;
                dedupe.pass(Some(&env.ids), "sqs").await.map(|_| ()).map_err(|e| e.to_string())
            })
            .await;
            Ok(serde_json::to_value(resp)?)
        }
        Trigger::Schedule | Trigger::Command(Command::Sweep) => {
            let report = dedupe.pass(None, "schedule").await?;
            Ok(json!({
                "run_id": report.run_id, "new_names": report.names.new, "inserted": report.names.inserted,
                "auto_approved": report.names.auto_approved, "released": report.released.len(), "published": report.published,
            }))
        }
        Trigger::Command(Command::ExportReview) => {
            let key = dedupe.export_review().await?;
            Ok(json!({"review_workbook": key}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Value {
        let path = format!("{}/../../events/company-dedupe/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn classifies_every_trigger_and_refuses_the_rest() {
        assert!(matches!(classify(sample("sqs.json")), Ok(Trigger::Sqs(_))));
        assert!(matches!(classify(sample("sqs-with-bad-message.json")), Ok(Trigger::Sqs(_))));
        assert!(matches!(classify(sample("schedule.json")), Ok(Trigger::Schedule)));
        assert!(matches!(classify(sample("sweep.json")), Ok(Trigger::Command(Command::Sweep))));
        assert!(matches!(classify(sample("export-review.json")), Ok(Trigger::Command(Command::ExportReview))));
        match classify(sample("s3-upload.json")) {
            Ok(Trigger::Upload(keys)) => assert_eq!(keys, vec!["incoming/organizations reviewed.xlsx".to_string()]),
            other => panic!("{other:?}"),
        }
        let elsewhere = json!({"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "review/x.xlsx"}}}]});
        assert!(
            matches!(classify(elsewhere), Ok(Trigger::Upload(keys)) if keys.is_empty()),
            "only incoming/ is applied"
        );
        assert!(classify(json!({"action": "explode"})).unwrap_err().contains("unknown command"));
        assert!(classify(json!({"hello": "world"})).unwrap_err().contains("unrecognised event"));
    }

    #[test]
    fn an_operators_typo_is_refused_with_the_field_named() {
        let err = classify(serde_json::json!({"action":"sweep","dry_run":true})).unwrap_err();
        assert!(err.contains("unknown field `dry_run`"), "{err}");
    }
}
