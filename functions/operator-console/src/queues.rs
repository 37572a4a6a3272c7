//! The queues: depths, a look at dead messages (with what the warehouse recorded about their
//! records), and redrive: SQS's own message-move task where the service offers it, else the
//! messages moved by the console (received, sent to the queue, then deleted).

use std::fmt;

use aws_sdk_sqs::{
    error::DisplayErrorContext,
    types::{
        DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
    },
};
use platform_domain::envelope::{
    Envelope, KIND_LEADS_RECEIVED, KIND_REGISTRATIONS_CHANGED, KIND_REGISTRATIONS_RELEASED,
};
use platform_warehouse::tokio_postgres::GenericClient;

use crate::{Console, ConsoleError, QueuePair, audit, redact};

/// A queue's depth and its dead-letter queue's.
#[derive(Debug, Clone)]
pub struct Depths {
    /// The queue's name.
    pub name: String,
    /// Messages waiting.
    pub waiting: i64,
    /// Messages being handled.
    pub in_flight: i64,
    /// Messages in the dead-letter queue.
    pub dead: i64,
    /// What went wrong reading them, if anything.
    pub problem: Option<String>,
}

fn aws(queue: &str, e: impl std::error::Error) -> ConsoleError {
    ConsoleError::Aws(format!("SQS {queue}: {}", DisplayErrorContext(&e)))
}

async fn counts(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<(i64, i64), ConsoleError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| aws(url, e))?;
    let get = |n: QueueAttributeName| {
        out.attributes().and_then(|a| a.get(&n)).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0)
    };
    Ok((
        get(QueueAttributeName::ApproximateNumberOfMessages),
        get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    ))
}

/// Depths of every configured queue, read concurrently; a queue that cannot be read says why.
pub async fn depths(console: &Console) -> Vec<Depths> {
    let reads = console.settings.queues.iter().map(|q| async move {
        let (main, dead) =
            tokio::join!(counts(&console.services.sqs, &q.url), counts(&console.services.sqs, &q.dead_letter_url));
        match (main, dead) {
            (Ok((waiting, in_flight)), Ok((dead, dead_in_flight))) => {
                Depths { name: q.name.clone(), waiting, in_flight, dead: dead + dead_in_flight, problem: None }
            }
            (Err(e), _) | (_, Err(e)) => {
                Depths { name: q.name.clone(), waiting: 0, in_flight: 0, dead: 0, problem: Some(e.to_string()) }
            }
        }
    });
    futures_util::future::join_all(reads).await
}

/// A dead message as the console shows it.
#[derive(Debug, Clone)]
pub struct DeadMessage {
    /// SQS's message id.
    pub id: String,
    /// When it was first sent (UTC).
    pub sent_at: String,
    /// How many times it was received before it died.
    pub receives: String,
    /// Its body, redacted and cut to 2,000 characters.
    pub body: String,
    /// What the warehouse recorded about its records: `(id, reason)`.
    pub reasons: Vec<(String, String)>,
    /// The body read as an envelope (before any redaction or cut), when it is one.
    envelope: Option<Envelope>,
}

/// Up to 20 dead messages of `pair`, without taking them (their visibility is not changed).
pub async fn peek(console: &Console, pair: &QueuePair) -> Result<Vec<DeadMessage>, ConsoleError> {
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..2 {
        let out = console
            .services
            .sqs
            .receive_message()
            .queue_url(&pair.dead_letter_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| aws(&pair.dead_letter_url, e))?;
        for m in out.messages() {
            let id = m.message_id().unwrap_or_default().to_owned();
            let attr =
                |n: MessageSystemAttributeName| m.attributes().and_then(|a| a.get(&n)).cloned().unwrap_or_default();
            let sent_at = attr(MessageSystemAttributeName::SentTimestamp)
                .parse::<i64>()
                .ok()
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            let raw = m.body().unwrap_or_default();
            let envelope = serde_json::from_str::<Envelope>(raw).ok();
            let body = match serde_json::from_str::<serde_json::Value>(raw) {
                Ok(v) => serde_json::to_string_pretty(&redact::json(&v)).unwrap_or_default(),
                Err(_) => redact::text(raw),
            };
            let body: String = body.chars().take(2000).collect();
            seen.entry(id.clone()).or_insert_with(|| DeadMessage {
                id,
                sent_at,
                receives: attr(MessageSystemAttributeName::ApproximateReceiveCount),
                body,
                reasons: Vec::new(),
                envelope,
            });
        }
    }
    let conn = console.warehouse.conn().await?;
    let mut messages: Vec<DeadMessage> = seen.into_values().collect();
    for m in &mut messages {
        if let Some(envelope) = m.envelope.take() {
            m.reasons = reasons(&**conn, envelope).await?;
        }
    }
    Ok(messages)
}

/// What the warehouse recorded about the records a message names.
async fn reasons(db: &impl GenericClient, envelope: Envelope) -> Result<Vec<(String, String)>, ConsoleError> {
    let ids = envelope.ids;
    let rows = match envelope.kind.as_str() {
        KIND_REGISTRATIONS_CHANGED | KIND_REGISTRATIONS_RELEASED => {
            db.query(
                "SELECT registration_id, reason FROM console.registration_trail WHERE registration_id = ANY($1)
                  ORDER BY registration_id",
                &[&ids],
            )
            .await?
        }
        KIND_LEADS_RECEIVED => {
            db.query(
                "SELECT lead_id::text || ' → ' || integration_id, status || coalesce(': ' || reason, '')
                   FROM leads.delivery WHERE lead_id::text = ANY($1) ORDER BY lead_id, integration_id",
                &[&ids],
            )
            .await?
        }
        _ => Vec::new(),
    };
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// What a redrive did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redriven {
    /// SQS's message-move task started (it moves every message, at SQS's pace).
    Task {
        /// The task's handle.
        handle: String,
    },
    /// The console moved the messages itself.
    Moved {
        /// How many.
        moved: u64,
    },
}

impl fmt::Display for Redriven {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Redriven::Task { handle } => write!(f, "SQS message-move task started ({handle})"),
            Redriven::Moved { moved } => write!(f, "{moved} messages moved back"),
        }
    }
}

/// The most messages one redrive moves by hand, well inside a request's time (the rest wait for
/// another redrive; the page says how many are left).
pub const MOVE_LIMIT: u64 = 1_000;

/// Moves `pair`'s dead messages back to its queue and records it in the audit as `actor`.
pub async fn redrive(console: &Console, pair: &QueuePair, actor: &str) -> Result<Redriven, ConsoleError> {
    let (dead_before, _) = counts(&console.services.sqs, &pair.dead_letter_url).await?;
    let outcome = match move_task(console, pair).await {
        Ok(handle) => Ok(Redriven::Task { handle }),
        Err(MoveTask::Unsupported(why)) => {
            tracing::info!(queue = %pair.name, %why, "no SQS message-move task here: moving the messages");
            move_by_hand(console, pair).await.map(|moved| Redriven::Moved { moved })
        }
        // A task already running, a refusal: said as it is, nothing moved by hand beside it.
        Err(MoveTask::Refused(why)) => Err(ConsoleError::Aws(why)),
    };
    let text = match &outcome {
        Ok(o) => o.to_string(),
        Err(e) => format!("failed: {e}"),
    };
    let moved = match &outcome {
        Ok(Redriven::Moved { moved }) => *moved,
        _ => 0,
    };
    let figures = platform_runtime::metrics::Figures {
        processed: 1,
        delivered: moved,
        failed: u64::from(outcome.is_err()),
        partial: outcome.is_err(),
        ..Default::default()
    };
    platform_runtime::metrics::emit(crate::FUNCTION_NAME, "redrive", &figures);
    let conn = console.warehouse.conn().await?;
    audit::record(
        &**conn,
        actor,
        "redrive",
        &format!("queue:{}", pair.name),
        &serde_json::json!({"dead_letter_queue": pair.dead_letter_url, "to": pair.url}),
        Some(&serde_json::json!({"dead": dead_before})),
        None,
        &text,
    )
    .await?;
    tracing::info!(queue = %pair.name, %actor, outcome = %text, "redrive");
    outcome
}

async fn arn(console: &Console, url: &str) -> Result<String, ConsoleError> {
    let out = console
        .services
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws(url, e))?;
    out.attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| ConsoleError::Aws(format!("SQS {url}: no QueueArn")))
}

/// Why SQS's message-move task did not start.
enum MoveTask {
    /// The service does not offer it (moto, locally): the console moves the messages.
    Unsupported(String),
    /// It refused (a task already running, no permission, …).
    Refused(String),
}

async fn move_task(console: &Console, pair: &QueuePair) -> Result<String, MoveTask> {
    let source = arn(console, &pair.dead_letter_url).await.map_err(|e| MoveTask::Refused(e.to_string()))?;
    let destination = arn(console, &pair.url).await.map_err(|e| MoveTask::Refused(e.to_string()))?;
    match console.services.sqs.start_message_move_task().source_arn(source).destination_arn(destination).send().await {
        Ok(out) => Ok(out.task_handle().unwrap_or_default().to_owned()),
        Err(e) => {
            use aws_sdk_sqs::error::ProvideErrorMetadata;
            let text = DisplayErrorContext(&e).to_string();
            let status = e.raw_response().map(|r| r.status().as_u16());
            // An endpoint without the operation answers without an AWS error code (moto: a
            // 500 with an HTML page); AWS itself names every refusal.
            let unsupported =
                matches!(e.code(), Some("InvalidAction" | "UnsupportedOperation" | "UnknownOperationException"))
                    || (e.code().is_none() && matches!(status, Some(404 | 500 | 501)));
            Err(if unsupported { MoveTask::Unsupported(text) } else { MoveTask::Refused(text) })
        }
    }
}

async fn move_by_hand(console: &Console, pair: &QueuePair) -> Result<u64, ConsoleError> {
    let mut moved = 0u64;
    while moved < MOVE_LIMIT {
        let out = console
            .services
            .sqs
            .receive_message()
            .queue_url(&pair.dead_letter_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .wait_time_seconds(0)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| aws(&pair.dead_letter_url, e))?;
        let messages = out.messages();
        if messages.is_empty() {
            break;
        }
        let entries: Vec<SendMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(m.body().unwrap_or_default())
                    .set_message_attributes(m.message_attributes().cloned())
                    .build()
                    .expect("id and body are set")
            })
            .collect();
        let sent = console
            .services
            .sqs
            .send_message_batch()
            .queue_url(&pair.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| aws(&pair.url, e))?;
        // Only what reached the queue leaves the dead-letter queue.
        let deletes: Vec<DeleteMessageBatchRequestEntry> = sent
            .successful()
            .iter()
            .filter_map(|ok| ok.id().parse::<usize>().ok())
            .filter_map(|i| messages.get(i))
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .expect("id and handle are set")
            })
            .collect();
        if deletes.is_empty() {
            return Err(ConsoleError::Aws(format!("SQS {}: no message could be sent back", pair.url)));
        }
        let n = deletes.len() as u64;
        console
            .services
            .sqs
            .delete_message_batch()
            .queue_url(&pair.dead_letter_url)
            .set_entries(Some(deletes))
            .send()
            .await
            .map_err(|e| aws(&pair.dead_letter_url, e))?;
        moved += n;
    }
    Ok(moved)
}
