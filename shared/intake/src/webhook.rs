//! A Formstack webhook delivery: size check, signature (fail closed), parse, store, answer.

use platform_domain::{
    signature::{self, SignatureError},
    submission::Submission,
};
use platform_warehouse::raw::Source;
use serde_json::{Value, json};
use tracing::Instrument;
use uuid::Uuid;

use crate::{Intake, ingest::Incoming};

/// The parts of an HTTP request the webhook needs.
#[derive(Debug, Clone, Default)]
pub struct WebhookRequest {
    /// Header names and values (names compared case-insensitively).
    pub headers: Vec<(String, String)>,
    /// Query string parameters (`form_id` may name the form whose key signs the body).
    pub query: Vec<(String, String)>,
    /// The body exactly as received (base64 already decoded).
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// A header's value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl WebhookResponse {
    fn new(status: u16, body: Value) -> WebhookResponse {
        WebhookResponse { status, body }
    }
}

impl Intake {
    /// Handles one delivery: 413 oversized, 401 missing/forged signature or no key configured
    /// (nothing written), 400 malformed (nothing written), 503 when the raw body could not be
    /// stored (Formstack may deliver again), else 200, for a replay too.
    pub async fn webhook(&self, req: WebhookRequest) -> WebhookResponse {
        let run_id = Uuid::now_v7();
        if req.body.len() > self.settings.webhook_max_bytes {
            tracing::warn!(bytes = req.body.len(), "webhook refused: body too large");
            return WebhookResponse::new(413, json!({"error": "body too large"}));
        }
        let header = req.header(&self.settings.signature_header).map(str::to_owned);
        if header.as_deref().is_none_or(|h| h.trim().is_empty()) {
            tracing::warn!(header = %self.settings.signature_header, "webhook refused: signature header missing");
            return WebhookResponse::new(401, json!({"error": SignatureError::Missing.to_string()}));
        }
        let content_type = req.header("content-type").map(str::to_owned);
        let parsed = Submission::from_webhook(&req.body, content_type.as_deref());
        let query_form = req.query.iter().find(|(k, _)| k == "form_id").map(|(_, v)| v.clone());
        let form_id = query_form.or_else(|| parsed.as_ref().ok().map(|s| s.form_id.clone()));

        let key = match self.webhook_key(form_id.as_deref()).await {
            Ok(key) => key,
            Err(e) => {
                tracing::error!(error = %e, "webhook: cannot read the HMAC keys");
                return WebhookResponse::new(503, json!({"error": "temporarily unavailable"}));
            }
        };
        if let Err(e) = signature::verify(&req.body, header.as_deref(), key.as_deref()) {
            tracing::warn!(form_id = form_id.as_deref().unwrap_or(""), reason = %e, "webhook refused: signature");
            return WebhookResponse::new(401, json!({"error": e.to_string()}));
        }
        let submission = match parsed {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(reason = %e, "webhook refused: malformed body");
                return WebhookResponse::new(400, json!({"error": e.to_string()}));
            }
        };
        let span = tracing::info_span!("webhook", %run_id, form_id = %submission.form_id, submission_id = %submission.submission_id);
        self.accept(run_id, submission, req.body, content_type).instrument(span).await
    }

    /// Stores, maps and announces a verified, parsed delivery.
    async fn accept(
        &self,
        run_id: Uuid,
        submission: Submission,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> WebhookResponse {
        let submission_id = submission.submission_id.clone();
        let incoming = Incoming::from_webhook(submission, body, content_type);
        let report = match self.ingest_and_record(Source::Webhook, true, run_id, "webhook", vec![incoming]).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "webhook: could not store the submission");
                return WebhookResponse::new(503, json!({"error": "temporarily unavailable"}));
            }
        };
        self.publish_quietly(run_id).await;
        let outcome = if report.replays > 0 {
            "duplicate"
        } else if report.mapping_errors > 0 {
            "stored with mapping error"
        } else {
            "accepted"
        };
        tracing::info!(outcome, "webhook handled");
        WebhookResponse::new(200, json!({"status": outcome, "submission_id": submission_id}))
    }

    /// The HMAC key for `form_id` (`webhook_hmac_keys[form_id]`), else the default `webhook_hmac_key`.
    async fn webhook_key(&self, form_id: Option<&str>) -> Result<Option<String>, crate::IntakeError> {
        let secret = self.secrets.get(&self.settings.formstack_secret_id).await?;
        let per_form = form_id
            .and_then(|f| secret.value("webhook_hmac_keys").and_then(|m| m.get(f)))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(per_form.or_else(|| secret.field("webhook_hmac_key")))
    }
}
