//! Draining the outbox to the company-dedupe queue.

use platform_aws::SqsSender;
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_CHANGED};
use platform_warehouse::{
    outbox::{self, DrainError},
    tokio_postgres::Client,
};
use uuid::Uuid;

use crate::IntakeError;

/// Sends every unsent `registrations.changed` entry to `queue_url` (see [`outbox::drain`]).
/// Returns the ids sent.
pub async fn drain(conn: &mut Client, sqs: &SqsSender, queue_url: &str, run_id: Uuid) -> Result<u64, IntakeError> {
    let run = run_id.to_string();
    outbox::drain(conn, KIND_REGISTRATIONS_CHANGED, |ids| {
        let envelopes = Envelope::batch(KIND_REGISTRATIONS_CHANGED, &ids, &run);
        async move { sqs.send(queue_url, &envelopes).await }
    })
    .await
    .map_err(|e| match e {
        DrainError::Warehouse(w) => IntakeError::Warehouse(w),
        DrainError::Send(s) => IntakeError::Aws(s),
    })
}
