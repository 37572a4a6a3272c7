//! Sending envelopes to SQS in batches of up to 10 messages.

pub use aws_sdk_sqs::Client;
use aws_sdk_sqs::{error::DisplayErrorContext, types::SendMessageBatchRequestEntry};
use futures_util::StreamExt;
use platform_domain::envelope::Envelope;

use crate::AwsError;

/// `SendMessageBatch` calls in flight at once.
pub const CONCURRENT_BATCHES: usize = 4;

/// Sends small JSON envelopes to SQS queues.
#[derive(Debug, Clone)]
pub struct SqsSender {
    client: aws_sdk_sqs::Client,
}

impl SqsSender {
    /// A sender over `client`.
    pub fn new(client: aws_sdk_sqs::Client) -> SqsSender {
        SqsSender { client }
    }

    /// Sends every envelope, 10 per `SendMessageBatch` call, up to [`CONCURRENT_BATCHES`] calls
    /// in flight. Entries SQS refuses are retried once; an entry refused twice fails the call
    /// (the caller keeps its outbox rows unsent and sends them again later).
    pub async fn send(&self, queue_url: &str, envelopes: &[Envelope]) -> Result<(), AwsError> {
        // The batches' futures are made first (they do nothing until polled): a stream that maps
        // chunks through a closure is not provably `Send`, and a web handler awaits this too.
        let batches: Vec<_> = envelopes.chunks(10).map(|chunk| self.send_batch(queue_url, chunk)).collect();
        let results: Vec<Result<(), AwsError>> =
            futures_util::stream::iter(batches).buffer_unordered(CONCURRENT_BATCHES).collect().await;
        results.into_iter().collect()
    }

    async fn send_batch(&self, queue_url: &str, chunk: &[Envelope]) -> Result<(), AwsError> {
        let err = |message: String| AwsError::Sqs { queue: queue_url.to_owned(), message };
        let mut entries: Vec<SendMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .map(|(i, env)| {
                let body = serde_json::to_string(env).expect("envelopes serialise");
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .expect("id and body are set")
            })
            .collect();
        for attempt in 0..2 {
            let out = self
                .client
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| err(DisplayErrorContext(&e).to_string()))?;
            let failed: Vec<String> = out.failed().iter().map(|f| f.id().to_owned()).collect();
            if failed.is_empty() {
                return Ok(());
            }
            if attempt == 1 {
                let reasons: Vec<String> =
                    out.failed().iter().map(|f| format!("{}: {}", f.code(), f.message().unwrap_or(""))).collect();
                return Err(err(format!("{} messages refused: {}", failed.len(), reasons.join("; "))));
            }
            entries.retain(|e| failed.iter().any(|id| id == e.id()));
        }
        Ok(())
    }
}
