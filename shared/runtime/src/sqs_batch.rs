//! SQS batch processing: each message is handled on its own, inside its own span; a failed or
//! panicking message is reported in `batchItemFailures` and never fails the others.

use std::{fmt::Display, future::Future, panic::AssertUnwindSafe};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::FutureExt;
use tracing::Instrument;

/// Runs `handle` on every message of `event` one after another and returns the ids of the
/// messages that failed (error or panic), for `ReportBatchItemFailures`.
pub async fn process<F, Fut, E>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let message_id = message.message_id.clone().unwrap_or_default();
        let receive_count = message.attributes.get("ApproximateReceiveCount").cloned().unwrap_or_default();
        let span = tracing::info_span!("sqs_message", message_id = %message_id, receive_count = %receive_count);
        let outcome = AssertUnwindSafe(handle(message)).catch_unwind().instrument(span.clone()).await;
        let _enter = span.enter();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "message failed; it will be retried and then dead-lettered");
                response.add_failure(message_id);
            }
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic".into());
                tracing::error!(panic = %what, "message handler panicked; only this message fails");
                response.add_failure(message_id);
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.into());
        m
    }

    #[tokio::test]
    async fn errors_and_panics_fail_only_their_message() {
        let mut event = SqsEvent::default();
        event.records = vec![message("ok", "1"), message("err", "x"), message("panic", "boom"), message("ok2", "2")];
        let resp = process(event, |m: SqsMessage| async move {
            match m.body.as_deref() {
                Some("boom") => panic!("handler bug"),
                Some(b) => b.parse::<u32>().map(|_| ()).map_err(|e| e.to_string()),
                None => Ok(()),
            }
        })
        .await;
        let failed: Vec<String> = resp.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        assert_eq!(failed, vec!["err".to_string(), "panic".to_string()]);
    }
}
