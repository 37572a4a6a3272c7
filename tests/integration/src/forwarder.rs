//! A stand-in for Lambda's SQS event source mapping, in-process (the same semantics as
//! `infra/local/forward_sqs.py`, which drives `cargo lambda watch` in `make run`): receive up
//! to 10 messages, hand them to the function's handler as an SQS event, delete those not
//! reported in `batchItemFailures`, and leave the failures to the queue's redrive policy
//! (moto moves a message to the dead-letter queue once it was received `maxReceiveCount` times).

use std::{collections::HashMap, future::Future};

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::MessageSystemAttributeName;

/// A queue with a dead-letter queue and a redrive policy.
#[derive(Debug, Clone)]
pub struct RedrivenQueue {
    /// The queue's URL.
    pub url: String,
    /// Its dead-letter queue's URL.
    pub dlq_url: String,
    /// Receives before a message is dead-lettered.
    pub max_receive_count: u32,
}

impl RedrivenQueue {
    /// Creates a uniquely named queue and its DLQ on moto.
    pub async fn create(sdk: &SdkConfig, prefix: &str, max_receive_count: u32) -> RedrivenQueue {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let dlq_url = crate::new_queue(sdk, &format!("{prefix}-dlq")).await;
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("DLQ attributes")
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
            .expect("DLQ arn");
        let name = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
        let policy = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count});
        let url = sqs
            .create_queue()
            .queue_name(name)
            .attributes(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy, policy.to_string())
            .send()
            .await
            .expect("create queue")
            .queue_url()
            .expect("url")
            .to_owned();
        RedrivenQueue { url, dlq_url, max_receive_count }
    }

    /// Sends raw message bodies, in order.
    pub async fn send(&self, sdk: &SdkConfig, bodies: &[String]) {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        for body in bodies {
            sqs.send_message().queue_url(&self.url).message_body(body).send().await.expect("send");
        }
    }

    /// Bodies waiting in the dead-letter queue (received and deleted).
    pub async fn dead_letters(&self, sdk: &SdkConfig) -> Vec<String> {
        crate::drain_bodies(sdk, &self.dlq_url).await
    }
}

/// What a forwarding run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forwarded {
    /// Handler invocations.
    pub batches: usize,
    /// Messages handed over (deliveries, repeats included).
    pub deliveries: usize,
    /// Messages deleted after success.
    pub succeeded: usize,
    /// Deliveries reported as failed.
    pub failed: usize,
    /// Deliveries per message body.
    pub per_body: HashMap<String, usize>,
}

/// Forwards `queue` to `handler` until it is empty: failed messages become visible again at
/// once (visibility 0) and come back until the redrive policy dead-letters them.
pub async fn forward<F, Fut>(sdk: &SdkConfig, queue: &RedrivenQueue, handler: F) -> Forwarded
where
    F: Fn(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut stats = Forwarded::default();
    for _ in 0..1000 {
        let got = sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let messages = got.messages();
        if messages.is_empty() {
            return stats;
        }
        let mut event = SqsEvent::default();
        for m in messages {
            let mut msg = SqsMessage::default();
            msg.message_id = m.message_id().map(str::to_owned);
            msg.receipt_handle = m.receipt_handle().map(str::to_owned);
            msg.body = m.body().map(str::to_owned);
            if let Some(attrs) = m.attributes() {
                for (k, v) in attrs {
                    msg.attributes.insert(k.as_str().to_owned(), v.clone());
                }
            }
            *stats.per_body.entry(msg.body.clone().unwrap_or_default()).or_default() += 1;
            event.records.push(msg);
        }
        stats.batches += 1;
        stats.deliveries += messages.len();
        let resp = handler(event).await;
        let failed: std::collections::HashSet<String> =
            resp.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        for m in messages {
            if failed.contains(m.message_id().unwrap_or_default()) {
                stats.failed += 1;
            } else {
                stats.succeeded += 1;
                sqs.delete_message()
                    .queue_url(&queue.url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    panic!("the queue never drained: {stats:?}");
}
