//! Draining the outbox: registration ids to the company-dedupe queue, and the leads of lander
//! forms to the lead-delivery queue (one lead per message, as lead-delivery publishes them).

use platform_aws::SqsSender;
use platform_domain::envelope::{Envelope, KIND_LEADS_RECEIVED, KIND_REGISTRATIONS_CHANGED};
use platform_warehouse::{
    outbox::{self, DrainError},
    tokio_postgres::Client,
};
use uuid::Uuid;

use crate::IntakeError;

/// Sends every unsent `registrations.changed` entry to `queue_url` (see [`outbox::drain`]).
/// Returns the ids sent.
pub async fn drain(conn: &mut Client, sqs: &SqsSender, queue_url: &str, run_id: Uuid) -> Result<u64, IntakeError> {
    drain_kind(conn, sqs, KIND_REGISTRATIONS_CHANGED, queue_url, run_id, Envelope::batch).await
}

/// Sends every unsent `leads.received` entry to `queue_url`, one lead per message. Returns the
/// leads sent.
pub async fn drain_leads(
    conn: &mut Client,
    sqs: &SqsSender,
    queue_url: &str,
    run_id: Uuid,
) -> Result<u64, IntakeError> {
    drain_kind(conn, sqs, KIND_LEADS_RECEIVED, queue_url, run_id, Envelope::singles).await
}

async fn drain_kind(
    conn: &mut Client,
    sqs: &SqsSender,
    kind: &str,
    queue_url: &str,
    run_id: Uuid,
    envelopes: fn(&str, &[String], &str) -> Vec<Envelope>,
) -> Result<u64, IntakeError> {
    let run = run_id.to_string();
    outbox::drain(conn, kind, |ids| {
        let envelopes = envelopes(kind, &ids, &run);
        async move { sqs.send(queue_url, &envelopes).await }
    })
    .await
    .map_err(|e| match e {
        DrainError::Warehouse(w) => IntakeError::Warehouse(w),
        DrainError::Send(s) => IntakeError::Aws(s),
    })
}
