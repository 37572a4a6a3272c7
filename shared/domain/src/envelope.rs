//! Queue message envelopes: `{"kind": "...", "version": 1, "ids": [...], "run_id": "..."}`.

use serde::{Deserialize, Serialize};

/// Kind of the message that tells company-dedupe which registrations are new or changed.
pub const KIND_REGISTRATIONS_CHANGED: &str = "registrations.changed";

/// Kind of the message that tells meetmax-sync which registrations company-dedupe released.
pub const KIND_REGISTRATIONS_RELEASED: &str = "registrations.released";

/// Kind of the message that tells lead-delivery which leads to deliver (one lead per message,
/// so that a lead that must come back comes back alone).
pub const KIND_LEADS_RECEIVED: &str = "leads.received";

/// Version of the envelope layout this code writes and reads.
pub const ENVELOPE_VERSION: u32 = 1;

/// Most ids carried by one message; keeps every message far below SQS's 256 KiB limit.
pub const MAX_IDS_PER_MESSAGE: usize = 100;

/// A small message that carries ids, never whole records (the warehouse holds the data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// What the ids are and what the receiver should do with them.
    pub kind: String,
    /// Layout version; receivers reject versions they do not know.
    pub version: u32,
    /// Record ids (for registrations: `registration_id`, the Formstack submission id).
    pub ids: Vec<String>,
    /// The run that produced the message, for tracing across functions.
    pub run_id: String,
}

/// Why a message body is not an envelope this code can handle.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The body is not JSON of the envelope shape.
    #[error("message body is not an envelope: {0}")]
    Malformed(#[from] serde_json::Error),
    /// A version this code does not know.
    #[error("unsupported envelope version {0} (this code reads version {ENVELOPE_VERSION})")]
    Version(u32),
    /// A kind the receiver does not handle.
    #[error("unknown message kind {0:?}")]
    UnknownKind(String),
    /// An envelope without ids.
    #[error("envelope carries no ids")]
    Empty,
}

impl Envelope {
    /// Envelopes of `kind` for `ids`, split into messages of at most [`MAX_IDS_PER_MESSAGE`] ids.
    pub fn batch(kind: &str, ids: &[String], run_id: &str) -> Vec<Envelope> {
        ids.chunks(MAX_IDS_PER_MESSAGE)
            .map(|chunk| Envelope {
                kind: kind.to_owned(),
                version: ENVELOPE_VERSION,
                ids: chunk.to_vec(),
                run_id: run_id.to_owned(),
            })
            .collect()
    }

    /// One envelope of `kind` per id (for kinds whose receiver retries each record on its own).
    pub fn singles(kind: &str, ids: &[String], run_id: &str) -> Vec<Envelope> {
        ids.iter().flat_map(|id| Envelope::batch(kind, std::slice::from_ref(id), run_id)).collect()
    }

    /// Parses a message body and checks version, kind (one of `kinds`) and that ids are present.
    pub fn parse(body: &str, kinds: &[&str]) -> Result<Envelope, EnvelopeError> {
        let env: Envelope = serde_json::from_str(body)?;
        if env.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(env.version));
        }
        if !kinds.contains(&env.kind.as_str()) {
            return Err(EnvelopeError::UnknownKind(env.kind));
        }
        if env.ids.is_empty() {
            return Err(EnvelopeError::Empty);
        }
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_and_round_trip() {
        let ids: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
        let envs = Envelope::batch(KIND_REGISTRATIONS_CHANGED, &ids, "run-1");
        assert_eq!(envs.len(), 11);
        assert!(envs[..10].iter().all(|e| e.ids.len() == 100));
        assert_eq!(envs[10].ids, vec!["1000".to_string()]);
        let body = serde_json::to_string(&envs[10]).unwrap();
        let back = Envelope::parse(&body, &[KIND_REGISTRATIONS_CHANGED]).unwrap();
        assert_eq!(back, envs[10]);
    }

    #[test]
    fn rejects_unknown_kind_version_and_garbage() {
        let unknown = r#"{"kind":"x","version":1,"ids":["1"],"run_id":"r"}"#;
        assert!(matches!(
            Envelope::parse(unknown, &[KIND_REGISTRATIONS_CHANGED]),
            Err(EnvelopeError::UnknownKind(k)) if k == "x"
        ));
        let v2 = r#"{"kind":"registrations.changed","version":2,"ids":["1"],"run_id":"r"}"#;
        assert!(matches!(Envelope::parse(v2, &[KIND_REGISTRATIONS_CHANGED]), Err(EnvelopeError::Version(2))));
        let empty = r#"{"kind":"registrations.changed","version":1,"ids":[],"run_id":"r"}"#;
        assert!(matches!(Envelope::parse(empty, &[KIND_REGISTRATIONS_CHANGED]), Err(EnvelopeError::Empty)));
        assert!(matches!(Envelope::parse("not json", &[KIND_REGISTRATIONS_CHANGED]), Err(EnvelopeError::Malformed(_))));
    }
}
