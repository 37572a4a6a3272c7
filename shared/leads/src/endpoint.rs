//! The generic signed lead endpoint, for landers not built on Formstack.
//!
//! `POST` with headers `X-Lander-Id` and `X-Signature: sha256=<hex HMAC-SHA256 of the raw body>`
//! (the lander's key in the secret `LEAD_ENDPOINT_KEYS_SECRET_ID`, `{"<lander id>": "<key>"}`),
//! body `{"lead_id": "<the lander's own id for the lead>", "fields": {…}}`. The lead is stored
//! whole (raw first) with its core fields typed, and announced through the outbox in the same
//! transaction; a repeat of the same `lead_id` is answered with the stored lead.

use platform_domain::storable;
use platform_runtime::function_url::{Answer, RequestParts, Signed};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{KIND_LEADS_RECEIVED, LeadError, Leads};

/// Largest body accepted.
pub const MAX_BODY: usize = 256 * 1024;

/// The endpoint's checks before the body is read: `POST`, the size, the lander and its signature.
pub const SIGNED: Signed<'static> = Signed {
    methods: &["POST"],
    max_body: MAX_BODY,
    caller_header: Some("X-Lander-Id"),
    signature_header: "X-Signature",
};

#[derive(Deserialize)]
struct Body {
    lead_id: String,
    fields: Map<String, Value>,
}

impl Leads {
    /// Answers one request of the generic lead endpoint; never fails (errors are answers).
    pub async fn receive(&self, req: RequestParts) -> Answer {
        let answer = match self.receive_inner(&req).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "lead endpoint failed");
                Answer::error(503, "the lead could not be stored; send it again")
            }
        };
        let figures = platform_runtime::metrics::Figures {
            processed: 1,
            failed: u64::from(answer.status >= 500),
            skipped: u64::from(answer.body["duplicate"] == true),
            rows_written: u64::from(answer.status == 200 && answer.body["duplicate"] == false),
            ..Default::default()
        };
        platform_runtime::metrics::emit(crate::FUNCTION_NAME, "endpoint", &figures);
        answer
    }

    async fn receive_inner(&self, req: &RequestParts) -> Result<Answer, LeadError> {
        let lander = match SIGNED.admit_caller(req) {
            Ok(lander) => lander,
            Err(refused) => return Ok(refused),
        };
        let secret_id = self
            .settings
            .endpoint_keys_secret
            .as_deref()
            .ok_or_else(|| LeadError::Config("LEAD_ENDPOINT_KEYS_SECRET_ID is not set".into()))?;
        let keys = self.secrets.get(secret_id).await?;
        if let Err(refused) = SIGNED.verify_caller(req, lander, keys.field(lander).as_deref()) {
            return Ok(refused);
        }
        let body: Body = match serde_json::from_slice(&req.body) {
            Ok(b) => b,
            Err(e) => {
                return Ok(Answer::error(
                    400,
                    format!("the body must be JSON {{\"lead_id\", \"fields\": {{…}}}}: {e}"),
                ));
            }
        };
        let source_id = match storable::identifier("lead_id", &body.lead_id, 200) {
            Ok(id) => id,
            Err(why) => return Ok(Answer::error(400, why)),
        };
        // What PostgreSQL cannot store goes at every depth (a NUL refused forever is a lead lost).
        let fields = storable::object(body.fields);
        let core = platform_domain::lead::core_values(&fields);
        let mut conn = self.warehouse.conn().await?;
        let tx = conn.transaction().await?;
        let known = tx.query_opt("SELECT 1 FROM leads.lander WHERE id = $1 AND enabled", &[&lander]).await?;
        if known.is_none() {
            return Ok(Answer::error(404, format!("lander {lander:?} is not configured (leads.lander)")));
        }
        let inserted = tx
            .query_opt(
                "INSERT INTO leads.lead (lander_id, source, source_id, first_name, last_name, email, phone, fields)
                 VALUES ($1, 'endpoint', $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (lander_id, source, source_id) DO NOTHING RETURNING id",
                &[&lander, &source_id, &core[0], &core[1], &core[2], &core[3], &Value::Object(fields)],
            )
            .await?;
        let (id, duplicate) = match inserted {
            Some(r) => (r.get::<_, i64>(0), false),
            None => {
                let r = tx
                    .query_one(
                        "SELECT id FROM leads.lead WHERE lander_id = $1 AND source = 'endpoint' AND source_id = $2",
                        &[&lander, &source_id],
                    )
                    .await?;
                (r.get::<_, i64>(0), true)
            }
        };
        if !duplicate {
            platform_warehouse::outbox::enqueue(&*tx, KIND_LEADS_RECEIVED, &[id.to_string()], Uuid::now_v7()).await?;
        }
        tx.commit().await?;
        drop(conn);
        if !duplicate && let Err(e) = self.publish().await {
            // The outbox keeps it: the next publish (any lead, or the sweep) sends it.
            tracing::warn!(error = %e, lead = id, "lead stored; announcing it failed and is left to the outbox");
        }
        Ok(Answer { status: 200, body: json!({"lead": id, "duplicate": duplicate}) })
    }
}
