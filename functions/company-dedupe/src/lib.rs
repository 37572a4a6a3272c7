//! company-dedupe's handler: SQS messages (registration ids from formstack-intake) and the
//! scheduled sweep, each adapted to one pass of `platform-dedupe`; an uploaded review workbook
//! (S3 event under `incoming/`) applied; `{"action": "export_review"}` writes the review workbook.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use platform_dedupe::Dedupe;
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_CHANGED};
use serde_json::{Value, json};

/// Handles one invocation: an SQS batch (partial failures reported per message) or a schedule.
pub async fn handle(dedupe: &Dedupe, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let payload = event.payload;
    let first_source = payload.pointer("/Records/0/eventSource").and_then(Value::as_str).unwrap_or("");
    if first_source == "aws:s3" {
        let mut applied = Vec::new();
        for record in payload["Records"].as_array().into_iter().flatten() {
            let Some(key) = record.pointer("/s3/object/key").and_then(Value::as_str) else { continue };
            // S3 event keys are URL-encoded ('+' for spaces).
            let key: String =
                form_urlencoded::parse(format!("k={key}").as_bytes()).map(|(_, v)| v.into_owned()).collect();
            if !key.starts_with("incoming/") {
                continue;
            }
            let r = dedupe.apply_review(&key).await?;
            applied.push(json!({"key": key, "applied": r.applied, "rejected": r.rejected, "refused": r.refused,
                                "result": r.result_key, "released": r.released}));
        }
        return Ok(json!({"workbooks": applied}));
    }
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
    if payload.get("action").and_then(Value::as_str) == Some("export_review") {
        let key = dedupe.export_review().await?;
        return Ok(json!({"review_workbook": key}));
    }
    Err("unrecognised event: expected an SQS batch, an S3 upload, a Scheduled Event, or {\"action\": \"sweep\" | \"export_review\"}".into())
}
