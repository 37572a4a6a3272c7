//! company-dedupe's handler: SQS messages (registration ids from formstack-intake) and the
//! scheduled sweep, each adapted to one pass of `platform-dedupe`.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use platform_dedupe::Dedupe;
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_CHANGED};
use serde_json::{Value, json};

/// Handles one invocation: an SQS batch (partial failures reported per message) or a schedule.
pub async fn handle(dedupe: &Dedupe, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let payload = event.payload;
    if payload.get("Records").is_some() {
        let batch: SqsEvent =
            serde_json::from_value(payload).map_err(|e| Error::from(format!("SQS event not understood: {e}")))?;
        let resp = platform_runtime::sqs_batch::process(batch, |m: SqsMessage| async move {
            let env = Envelope::parse(m.body.as_deref().unwrap_or(""), &[KIND_REGISTRATIONS_CHANGED])
                .map_err(|e| e.to_string())?;
            dedupe.pass(Some(&env.ids), "sqs").await.map(|_| ()).map_err(|e| e.to_string())
        })
        .await;
        return Ok(serde_json::to_value(resp)?);
    }
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        || payload.get("action").and_then(Value::as_str) == Some("sweep")
    {
        let report = dedupe.pass(None, "schedule").await?;
        return Ok(json!({
            "run_id": report.run_id, "new_names": report.names.new, "inserted": report.names.inserted,
            "auto_approved": report.names.auto_approved, "released": report.released.len(), "published": report.published,
        }));
    }
    Err("unrecognised event: expected an SQS batch, a Scheduled Event or {\"action\": \"sweep\"}".into())
}
