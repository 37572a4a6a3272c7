//! SQS batch processing with partial failures (`ReportBatchItemFailures`), two ways:
//!
//! - [`process`]: each message handled on its own, inside its own span; a failed or panicking
//!   message is reported and never fails the others (company-dedupe).
//! - [`process_concurrently`]: the same, with up to `concurrency` messages in flight at once
//!   (lead-delivery: each message waits on a vendor's answer).
//! - [`envelopes`] and [`envelopes_concurrently`]: the same for messages that are queue envelopes
//!   of known kinds (an unreadable message, or one of another kind, fails alone).
//! - [`process_together`]: the readable messages of a batch handled in one call (meetmax-sync
//!   lists an event's companies once per batch); an unreadable message fails alone, the call says
//!   which messages must come back, and an error or panic in it fails every readable message.

use std::{fmt::Display, future::Future, panic::AssertUnwindSafe};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::FutureExt;
use platform_domain::envelope::Envelope;
use tracing::Instrument;

/// Runs `handle` on every message of `event` one after another and returns the ids of the
/// messages that failed (error or panic), for `ReportBatchItemFailures`.
pub async fn process<F, Fut, E>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    process_concurrently(event, 1, handle).await
}

/// Like [`process`], with up to `concurrency` messages handled at once; the failures are
/// reported in the batch's order.
pub async fn process_concurrently<F, Fut, E>(event: SqsEvent, concurrency: usize, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    use futures_util::StreamExt;
    let handle = &handle;
    let failed: Vec<Option<String>> = futures_util::stream::iter(event.records)
        .map(|message| async move {
            let message_id = message.message_id.clone().unwrap_or_default();
            let receive_count = message.attributes.get("ApproximateReceiveCount").cloned().unwrap_or_default();
            let span = tracing::info_span!("sqs_message", message_id = %message_id, receive_count = %receive_count);
            let outcome = AssertUnwindSafe(handle(message)).catch_unwind().instrument(span.clone()).await;
            let _enter = span.enter();
            match outcome {
                Ok(Ok(())) => None,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "message failed; it will be retried and then dead-lettered");
                    Some(message_id)
                }
                Err(panic) => {
                    tracing::error!(panic = %panic_text(&*panic), "message handler panicked; only this message fails");
                    Some(message_id)
                }
            }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    for id in failed.into_iter().flatten() {
        response.add_failure(id);
    }
    response
}

/// Like [`process`], for messages that are envelopes of one of `kinds`: `handle` gets each
/// envelope; a message that is not one fails alone (and comes back, then is dead-lettered).
pub async fn envelopes<F, Fut, T, E>(event: SqsEvent, kinds: &[&str], handle: F) -> SqsBatchResponse
where
    F: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Display,
{
    envelopes_concurrently(event, kinds, 1, handle).await
}

/// Like [`envelopes`], with up to `concurrency` messages handled at once.
pub async fn envelopes_concurrently<F, Fut, T, E>(
    event: SqsEvent,
    kinds: &[&str],
    concurrency: usize,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(Envelope) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Display,
{
    let handle = &handle;
    process_concurrently(event, concurrency, |message| async move {
        let envelope =
            Envelope::parse(message.body.as_deref().unwrap_or_default(), kinds).map_err(|e| e.to_string())?;
        handle(envelope).await.map(|_| ()).map_err(|e| e.to_string())
    })
    .await
}

/// The text of a panic payload.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// Parses every message with `parse` (an unreadable message is reported alone and logged), hands
/// the readable ones to `handle` in one call, and reports the messages `handle` says must come
/// back (`true` at their index). An error or a panic in `handle` reports every readable message.
pub async fn process_together<T, P, F, Fut, E>(event: SqsEvent, parse: P, handle: F) -> SqsBatchResponse
where
    P: Fn(&str) -> Result<T, String>,
    F: FnOnce(Vec<T>) -> Fut,
    Fut: Future<Output = Result<Vec<bool>, E>>,
    E: Display,
{
    let mut response = SqsBatchResponse::default();
    let mut ids = Vec::new();
    let mut parsed = Vec::new();
    for m in event.records {
        let message_id = m.message_id.clone().unwrap_or_default();
        match parse(m.body.as_deref().unwrap_or("")) {
            Ok(value) => {
                ids.push(message_id);
                parsed.push(value);
            }
            Err(e) => {
                tracing::error!(%message_id, error = %e, "unreadable message; it will be retried and then dead-lettered");
                response.add_failure(message_id);
            }
        }
    }
    if parsed.is_empty() {
        return response;
    }
    match AssertUnwindSafe(handle(parsed)).catch_unwind().await {
        Ok(Ok(again)) => {
            for (message_id, back) in ids.into_iter().zip(again.into_iter().chain(std::iter::repeat(true))) {
                if back {
                    tracing::warn!(%message_id, "message comes back: some of its work is to be tried again");
                    response.add_failure(message_id);
                }
            }
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "batch failed; every readable message comes back");
            ids.into_iter().for_each(|id| response.add_failure(id));
        }
        Err(panic) => {
            tracing::error!(panic = %panic_text(&*panic), "batch handler panicked; every readable message comes back");
            ids.into_iter().for_each(|id| response.add_failure(id));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(resp: &SqsBatchResponse) -> Vec<String> {
        resp.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect()
    }

    #[tokio::test]
    async fn together_unreadable_messages_fail_alone_and_the_handler_chooses_the_rest() {
        let mut event = SqsEvent::default();
        event.records = vec![message("a", "1"), message("bad", "x"), message("b", "2"), message("c", "3")];
        let parse = |b: &str| b.parse::<u32>().map_err(|e| e.to_string());
        let resp = process_together(event.clone(), parse, |values: Vec<u32>| async move {
            assert_eq!(values, vec![1, 2, 3], "readable messages together, in order");
            Ok::<_, String>(values.iter().map(|v| *v == 2).collect())
        })
        .await;
        assert_eq!(failed(&resp), vec!["bad".to_string(), "b".to_string()]);
        let resp = process_together(event.clone(), parse, |_: Vec<u32>| async { Err::<Vec<bool>, _>("db down") }).await;
        assert_eq!(failed(&resp), vec!["bad", "a", "b", "c"]);
        let resp = process_together(event.clone(), parse, |_: Vec<u32>| async {
            panic!("handler bug");
            #[allow(unreachable_code)]
            Ok::<Vec<bool>, String>(vec![])
        })
        .await;
        assert_eq!(failed(&resp), vec!["bad", "a", "b", "c"], "a panic fails the batch, not the function");
        let resp = process_together(event, parse, |_: Vec<u32>| async { Ok::<_, String>(vec![false]) }).await;
        assert_eq!(failed(&resp), vec!["bad", "b", "c"], "no answer for a message means it comes back");
    }

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

    #[tokio::test]
    async fn concurrent_messages_are_in_flight_together_and_fail_alone() {
        let mut event = SqsEvent::default();
        event.records = (0..6).map(|i| message(&format!("m{i}"), if i == 3 { "x" } else { "1" })).collect();
        let in_flight = std::sync::atomic::AtomicUsize::new(0);
        let most = std::sync::atomic::AtomicUsize::new(0);
        let resp = process_concurrently(event, 3, |m: SqsMessage| {
            let (in_flight, most) = (&in_flight, &most);
            async move {
                let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                // Yield until three are in flight (or this is the tail of the batch).
                for _ in 0..50 {
                    if in_flight.load(std::sync::atomic::Ordering::SeqCst) >= 3 {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                m.body.as_deref().unwrap_or("").parse::<u32>().map(|_| ()).map_err(|e| e.to_string())
            }
        })
        .await;
        assert_eq!(failed(&resp), vec!["m3".to_string()]);
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 3, "three at once, never more");
    }
}
