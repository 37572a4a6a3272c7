//! Draining the outbox to the company-dedupe queue.

use platform_aws::SqsSender;
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_CHANGED};
use platform_warehouse::{outbox, tokio_postgres::Client};
use uuid::Uuid;

use crate::IntakeError;

/// Outbox entries claimed per round (one transaction; each entry holds one commit's ids).
const CLAIM: i64 = 20;

/// Sends every unsent `registrations.changed` entry to `queue_url` and marks it sent. Entries
/// are locked while sent, so concurrent drains never send one twice; a crash after the send and
/// before the commit re-sends them (consumers are idempotent). Returns ids sent.
pub async fn drain(conn: &mut Client, sqs: &SqsSender, queue_url: &str, run_id: Uuid) -> Result<u64, IntakeError> {
    let mut sent = 0u64;
    loop {
        let tx = conn.transaction().await?;
        let (entries, ids) = outbox::claim(&tx, KIND_REGISTRATIONS_CHANGED, CLAIM).await?;
        if entries.is_empty() {
            break;
        }
        let envelopes = Envelope::batch(KIND_REGISTRATIONS_CHANGED, &ids, &run_id.to_string());
        sqs.send(queue_url, &envelopes).await?;
        outbox::mark_sent(&tx, &entries).await?;
        tx.commit().await?;
        sent += ids.len() as u64;
        if (entries.len() as i64) < CLAIM {
            break;
        }
    }
    Ok(sent)
}
