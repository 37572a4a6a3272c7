//! A Formstack webhook delivery: size check, signature (fail closed), parse, store, answer.

use platform_domain::{
    signature::{self, SignatureError, constant_time_eq},
    submission::{BodyFormat, Submission},
};
use platform_runtime::function_url::{Answer, RequestParts, Signed};
use platform_warehouse::raw::Source;
use serde_json::{Value, json};
use tracing::Instrument;
use uuid::Uuid;

use crate::{Intake, ingest::Incoming};

/// The one body every 401 carries: which check failed (missing header, unknown form, wrong key,
/// form mismatch) is logged, never told to the caller, so the answer is no oracle for which forms
/// have keys.
pub const UNAUTHORIZED: &str = "unauthorized";

/// The webhook HMAC keys of the Formstack secret: one per form (`webhook_hmac_keys`) and a
/// default (`webhook_hmac_key`) for forms without their own. Never printed.
struct WebhookKeys {
    per_form: serde_json::Map<String, Value>,
    default: Option<String>,
    handshake: serde_json::Map<String, Value>,
}

impl WebhookKeys {
    /// The key that signs `form_id`'s deliveries: its own key when it has one (then never the
    /// default), else the default.
    fn for_form(&self, form_id: &str) -> Option<&str> {
        match self.per_form.get(form_id) {
            Some(v) => v.as_str(),
            None => self.default.as_deref(),
        }
    }

    /// Every configured key (to tell a signed but unreadable body, 400, from a forged one, 401).
    fn all(&self) -> impl Iterator<Item = &str> {
        self.per_form.values().filter_map(Value::as_str).chain(self.default.as_deref())
    }
}

impl Intake {
    /// Handles one delivery: 405 for a method other than POST; 413 oversized; 401 (one body for every cause, nothing written) for a
    /// missing or forged signature, a form without a key, a key of another form, a `?form_id=`
    /// that is not the body's form or a wrong `HandshakeKey`; 400 for a signed but malformed body
    /// (nothing written); 503 when the raw body could not be stored (Formstack may deliver
    /// again); else 200, for a replay too.
    ///
    /// The key is chosen by the form named **in the signed body**, never by the query string.
    pub async fn webhook(&self, req: RequestParts) -> Answer {
        let run_id = Uuid::now_v7();
        // The key follows from the form in the body, not from a caller header.
        let signed = Signed {
            methods: &["POST"],
            max_body: self.settings.webhook_max_bytes,
            caller_header: None,
            signature_header: &self.settings.signature_header,
        };
        if let Err(refused) = signed.admit(&req) {
            tracing::warn!(bytes = req.body.len(), method = %req.method, status = refused.status, "webhook refused");
            return refused;
        }
        let unauthorized = |reason: &str, form_id: &str| {
            tracing::warn!(form_id, reason, "webhook refused: 401");
            Answer::error(401, UNAUTHORIZED)
        };
        if req.header(signed.signature_header).is_none_or(str::is_empty) {
            return unauthorized(&SignatureError::Missing.to_string(), "");
        }
        let keys = match self.webhook_keys().await {
            Ok(keys) => keys,
            Err(e) => {
                tracing::error!(error = %e, "webhook: cannot read the HMAC keys");
                return Answer::error(503, "temporarily unavailable");
            }
        };
        let content_type = req.header("content-type").map(str::to_owned);
        let submission = match Submission::from_webhook(&req.body, content_type.as_deref()) {
            Ok(s) => s,
            Err(e) => {
                // Which form's key to check is unknown: a body signed by any configured key is a
                // sender's mistake (400), anything else is refused like a forgery.
                if keys.all().any(|k| signed.verify(&req, Some(k)).is_ok()) {
                    tracing::warn!(reason = %e, "webhook refused: malformed body");
                    return Answer::error(400, e.to_string());
                }
                return unauthorized(&format!("unreadable body not signed by a configured key ({e})"), "");
            }
        };
        let form_id = submission.form_id.clone();
        if let Err(e) = signed.verify(&req, keys.for_form(&form_id)) {
            return unauthorized(&e.to_string(), &form_id);
        }
        if let Some(q) = req.query("form_id")
            && q.trim() != form_id
        {
            return unauthorized("the query's form_id is not the body's FormID", &form_id);
        }
        let json = BodyFormat::detect(content_type.as_deref(), &req.body) == BodyFormat::Json;
        let handshake = signature::handshake_value(&req.body, json);
        if let Some(expected) = keys.handshake.get(&form_id).and_then(Value::as_str)
            && !handshake.as_deref().is_some_and(|h| constant_time_eq(h.as_bytes(), expected.as_bytes()))
        {
            return unauthorized("HandshakeKey does not match", &form_id);
        }
        // The handshake key is a shared secret: it is checked above and never stored.
        let body = match handshake {
            Some(_) => signature::redact_handshake(&req.body, json),
            None => req.body,
        };
        let span = tracing::info_span!("webhook", %run_id, form_id = %submission.form_id, submission_id = %submission.submission_id);
        self.accept(run_id, submission, body, content_type).instrument(span).await
    }

    /// Stores, maps and announces a verified, parsed delivery.
    async fn accept(
        &self,
        run_id: Uuid,
        submission: Submission,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> Answer {
        let submission_id = submission.submission_id.clone();
        let incoming = Incoming::from_webhook(submission, body, content_type);
        let report = match self.ingest_and_record(Source::Webhook, true, run_id, "webhook", vec![incoming]).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "webhook: could not store the submission");
                return Answer::error(503, "temporarily unavailable");
            }
        };
        self.publish_quietly(run_id).await;
        let outcome = if report.replays > 0 {
            "duplicate"
        } else if report.mapping_errors > 0 {
            "stored with mapping error"
        } else if report.superseded > 0 {
            "stored; a newer version is already applied"
        } else {
            "accepted"
        };
        tracing::info!(outcome, "webhook handled");
        Answer { status: 200, body: json!({"status": outcome, "submission_id": submission_id}) }
    }

    /// The webhook keys (and optional handshake keys) of the Formstack secret.
    async fn webhook_keys(&self) -> Result<WebhookKeys, crate::IntakeError> {
        let secret = self.secrets.get(&self.settings.formstack_secret_id).await?;
        let map = |name: &str| secret.value(name).and_then(Value::as_object).cloned().unwrap_or_default();
        Ok(WebhookKeys {
            per_form: map("webhook_hmac_keys"),
            default: secret.field("webhook_hmac_key").filter(|k| !k.is_empty()),
            handshake: map("webhook_handshake_keys"),
        })
    }
}
