//! formstack-intake's handler: adapts each trigger to a call into `platform-intake`.
//!
//! - Function URL request → [`Intake::webhook`] (a Formstack webhook delivery).
//! - EventBridge schedule (`"detail-type": "Scheduled Event"`, or `{"action": "pull"}` from
//!   EventBridge Scheduler) → [`Intake::pull`].
//! - `{"action": "remap", "include_errors": true, "form_id": "…"}` → [`Intake::remap`]
//!   (after fixing a form's mapping).
//! - `{"action": "publish"}` → [`Intake::publish`] (drain the outbox).

use lambda_runtime::LambdaEvent;
use platform_intake::Intake;
use platform_runtime::{
    Deadline, InvocationError,
    deadline::DEFAULT_MARGIN,
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
    /// Pull every enabled form now; `full` ignores the cursors (a resync that sees old edits).
    Pull {
        /// List every submission, not only those after the cursor.
        #[serde(default)]
        full: bool,
    },
    /// Map stored submissions again.
    Remap {
        /// Also retry submissions that failed mapping (not only those left pending).
        #[serde(default)]
        include_errors: bool,
        /// Only this form.
        #[serde(default)]
        form_id: Option<String>,
    },
    /// Send unsent outbox entries to the dedupe queue.
    Publish,
}

/// The shapes of event this function takes.
pub const TAKES: &[Shape] = &[Shape::FunctionUrl, Shape::Schedule, Shape::Command];

/// Reads `payload` as one of [`TAKES`]; the error says what was wrong.
pub fn classify(payload: Value) -> Result<Event<Command>, InvocationError> {
    event::accept(payload, TAKES)
}

/// Handles one invocation; a pull stops fetching before the invocation's deadline.
pub async fn handle(intake: &Intake, event: LambdaEvent<Value>) -> Result<Value, InvocationError> {
    let request_id = event.context.request_id.clone();
    let deadline = Deadline::from_epoch_millis(event.context.deadline, DEFAULT_MARGIN);
    let span = tracing::info_span!("invocation", %request_id);
    dispatch(intake, event.payload, deadline).instrument(span).await
}

async fn dispatch(intake: &Intake, payload: Value, deadline: Deadline) -> Result<Value, InvocationError> {
    match classify(payload)? {
        Event::FunctionUrl(req) => Ok(serde_json::to_value(function_url::serve(*req, |r| intake.webhook(r)).await)?),
        Event::Schedule | Event::Command(Command::Pull { full: false }) => {
            pull(intake, "schedule", false, deadline).await
        }
        Event::Command(Command::Pull { full: true }) => pull(intake, "resync", true, deadline).await,
        Event::Command(Command::Remap { include_errors, form_id }) => {
            let report = intake.remap(include_errors, form_id.as_deref()).await?;
            Ok(json!({"counts": report.counts()}))
        }
        Event::Command(Command::Publish) => {
            let sent = intake.publish(uuid_now()).await?;
            Ok(json!({"published": sent}))
        }
        _ => Err(event::not_taken(TAKES)),
    }
}

async fn pull(intake: &Intake, trigger: &str, full: bool, deadline: Deadline) -> Result<Value, InvocationError> {
    let report = intake.pull_until(trigger, full, deadline).await?;
    Ok(json!({
        "run_id": report.run_id,
        "calls": report.calls,
        "published": report.published,
        "counts": report.counts(),
        "forms": report.forms.iter().map(|f| json!({
            "form_id": f.form_id, "pages": f.pages, "submissions": f.submissions,
            "inserted": f.report.inserted, "updated": f.report.updated, "leads": f.report.leads,
            "mapping_errors": f.report.mapping_errors,
            "stopped": f.stopped, "scan_pages": f.scan_pages, "scan_completed": f.scan_completed,
        })).collect::<Vec<_>>(),
    }))
}

fn uuid_now() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_trigger_and_refuses_the_rest() {
        let url: Value = event::sample("formstack-intake", "webhook-valid.json");
        assert!(matches!(classify(url), Ok(Event::FunctionUrl(_))));
        let broken = json!({"requestContext": {"http": {"method": 7}}});
        assert!(classify(broken).unwrap_err().message.contains("Function URL event not understood"));
        assert!(matches!(
            classify(json!({"detail-type":"Scheduled Event","source":"aws.events"})),
            Ok(Event::Schedule)
        ));
        assert!(matches!(classify(json!({"action":"pull"})), Ok(Event::Command(Command::Pull { full: false }))));
        assert!(matches!(
            classify(json!({"action":"remap","include_errors":true})),
            Ok(Event::Command(Command::Remap { include_errors: true, form_id: None }))
        ));
        assert!(classify(json!({"action":"explode"})).unwrap_err().message.contains("unknown command"));
        assert!(classify(json!({"hello":"world"})).unwrap_err().message.contains("unrecognised event"));
    }

    #[test]
    fn an_operators_typo_is_refused_with_the_field_named() {
        let err = classify(serde_json::json!({"action":"remap","include_error":true})).unwrap_err();
        assert!(err.message.contains("unknown field `include_error`"), "{err}");
    }
}
