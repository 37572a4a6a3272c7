//! company-dedupe's handler: adapts each trigger to a call into `platform-dedupe`.
//!
//! - SQS batch of `registrations.changed` envelopes (from formstack-intake) → one pass per
//!   message; a failed or panicking message fails alone ([`platform_runtime::sqs_batch::envelopes`]).
//! - EventBridge schedule (`Scheduled Event`) or `{"action": "sweep"}` → one pass over every
//!   registration.
//! - S3 upload under `incoming/` → the review workbook's decisions applied.
//! - `{"action": "export_review"}` → the review workbook written to the bucket.

use lambda_runtime::LambdaEvent;
use platform_dedupe::Dedupe;
use platform_domain::envelope::KIND_REGISTRATIONS_CHANGED;
use platform_runtime::{
    InvocationError,
    event::{self, Event, Shape},
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

/// The shapes of event this function takes.
pub const TAKES: &[Shape] = &[Shape::Sqs, Shape::S3Upload, Shape::Schedule, Shape::Command];

/// Reads `payload` as one of [`TAKES`]; the error says what was wrong.
pub fn classify(payload: Value) -> Result<Event<Command>, InvocationError> {
    event::accept(payload, TAKES)
}

/// Handles one invocation, inside one span carrying the request id.
pub async fn handle(dedupe: &Dedupe, event: LambdaEvent<Value>) -> Result<Value, InvocationError> {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    dispatch(dedupe, event.payload).instrument(span).await
}

async fn dispatch(dedupe: &Dedupe, payload: Value) -> Result<Value, InvocationError> {
    match classify(payload)? {
        Event::S3Upload(keys) => {
            let mut applied = Vec::new();
            for key in reviewed_workbooks(keys) {
                let r = dedupe.apply_review(&key).await?;
                applied.push(json!({"key": key, "applied": r.applied, "rejected": r.rejected, "refused": r.refused,
                                    "result": r.result_key, "released": r.released}));
            }
            Ok(json!({"workbooks": applied}))
        }
        Event::Sqs(batch) => {
            let resp = platform_runtime::sqs_batch::envelopes(batch, &[KIND_REGISTRATIONS_CHANGED], |env| async move {
                dedupe.pass(Some(&env.ids), "sqs").await
            })
            .await;
            Ok(serde_json::to_value(resp)?)
        }
        Event::Schedule | Event::Command(Command::Sweep) => {
            let report = dedupe.pass(None, "schedule").await?;
            Ok(json!({
                "run_id": report.run_id, "new_names": report.names.new, "inserted": report.names.inserted,
                "auto_approved": report.names.auto_approved, "released": report.released.len(), "published": report.published,
            }))
        }
        Event::Command(Command::ExportReview) => {
            let key = dedupe.export_review().await?;
            Ok(json!({"review_workbook": key}))
        }
        _ => Err(event::not_taken(TAKES)),
    }
}

/// The uploaded keys that are reviewed workbooks to apply: those under `incoming/` (the
/// function's own results land elsewhere in the bucket).
pub fn reviewed_workbooks(keys: Vec<String>) -> Vec<String> {
    keys.into_iter().filter(|key| key.starts_with("incoming/")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Value {
        event::sample("company-dedupe", name)
    }

    #[test]
    fn classifies_every_trigger_and_refuses_the_rest() {
        assert!(matches!(classify(sample("sqs.json")), Ok(Event::Sqs(_))));
        assert!(matches!(classify(sample("sqs-with-bad-message.json")), Ok(Event::Sqs(_))));
        assert!(matches!(classify(sample("schedule.json")), Ok(Event::Schedule)));
        assert!(matches!(classify(sample("sweep.json")), Ok(Event::Command(Command::Sweep))));
        assert!(matches!(classify(sample("export-review.json")), Ok(Event::Command(Command::ExportReview))));
        match classify(sample("s3-upload.json")) {
            Ok(Event::S3Upload(keys)) => {
                assert_eq!(reviewed_workbooks(keys), vec!["incoming/organizations reviewed.xlsx".to_string()])
            }
            other => panic!("{other:?}"),
        }
        let elsewhere = json!({"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "review/x.xlsx"}}}]});
        assert!(
            matches!(classify(elsewhere), Ok(Event::S3Upload(keys)) if reviewed_workbooks(keys.clone()).is_empty()),
            "only incoming/ is applied"
        );
        assert!(classify(json!({"action": "explode"})).unwrap_err().message.contains("unknown command"));
        assert!(classify(json!({"hello": "world"})).unwrap_err().message.contains("unrecognised event"));
    }

    #[test]
    fn an_operators_typo_is_refused_with_the_field_named() {
        let err = classify(serde_json::json!({"action":"sweep","dry_run":true})).unwrap_err();
        assert!(err.message.contains("unknown field `dry_run`"), "{err}");
    }
}
