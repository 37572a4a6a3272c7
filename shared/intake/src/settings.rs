//! Deploy-time settings of formstack-intake, read once per container.

use std::time::Duration;

use platform_domain::signature::DEFAULT_SIGNATURE_HEADER;
use platform_runtime::{ConfigError, Env};

/// Settings from the environment (see the README's configuration table).
#[derive(Debug, Clone)]
pub struct IntakeSettings {
    /// Secrets Manager id of the Formstack secret (`api_token`, `webhook_hmac_keys`, `webhook_hmac_key`).
    pub formstack_secret_id: String,
    /// Formstack API v2 base URL.
    pub formstack_api_url: String,
    /// Queue that receives new and changed registration ids (company-dedupe).
    pub dedupe_queue_url: String,
    /// Queue that receives the ids of new leads of lander forms (lead-delivery). Unset, they
    /// wait in the outbox until lead-delivery's schedule sends them.
    pub lead_queue_url: Option<String>,
    /// Header carrying the webhook signature.
    pub signature_header: String,
    /// Largest webhook body accepted (bytes); larger gets 413.
    pub webhook_max_bytes: usize,
    /// Page size of the pull (1–100).
    pub per_page: u32,
    /// How far before the cursor each pull starts again.
    pub overlap: Duration,
    /// Rows per pull transaction (the cursor moves at each commit).
    pub commit_rows: usize,
    /// Formstack calls allowed per token per UTC day.
    pub daily_call_budget: u32,
    /// Scheduled pulls per day (to share the budget between them).
    pub pulls_per_day: u32,
    /// Per-request timeout for Formstack.
    pub http_timeout: Duration,
    /// How long a secret is cached.
    pub secret_ttl: Duration,
}

impl IntakeSettings {
    /// Reads and checks every setting; the error names the variable.
    pub fn from_env(env: &Env) -> Result<IntakeSettings, ConfigError> {
        let per_page: u32 = env.parse_or("FORMSTACK_PER_PAGE", 100)?;
        if !(1..=100).contains(&per_page) {
            return Err(ConfigError::Invalid {
                name: "FORMSTACK_PER_PAGE".into(),
                value: per_page.to_string(),
                reason: "must be 1 to 100".into(),
            });
        }
        Ok(IntakeSettings {
            formstack_secret_id: env.required("FORMSTACK_SECRET_ID")?,
            formstack_api_url: env
                .optional("FORMSTACK_API_URL")
                .unwrap_or_else(|| "https://www.formstack.com/api/v2".into()),
            dedupe_queue_url: env.required("DEDUPE_QUEUE_URL")?,
            lead_queue_url: env.optional("LEAD_QUEUE_URL").filter(|u| !u.trim().is_empty()),
            signature_header: env
                .optional("WEBHOOK_SIGNATURE_HEADER")
                .unwrap_or_else(|| DEFAULT_SIGNATURE_HEADER.into()),
            webhook_max_bytes: env.parse_or("WEBHOOK_MAX_BYTES", 256 * 1024)?,
            per_page,
            overlap: Duration::from_secs(60 * env.parse_or::<u64>("PULL_OVERLAP_MINUTES", 10)?),
            commit_rows: env.parse_or::<usize>("PULL_COMMIT_ROWS", 1000)?.max(1),
            daily_call_budget: env.parse_or("FORMSTACK_DAILY_CALL_BUDGET", 14_400)?,
            pulls_per_day: env.parse_or::<u32>("PULLS_PER_DAY", 96)?.max(1),
            http_timeout: Duration::from_secs(env.parse_or("HTTP_TIMEOUT_SECONDS", 20)?),
            secret_ttl: Duration::from_secs(env.parse_or("SECRET_TTL_SECONDS", 300)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_variables_are_named_in_the_error() {
        let err = IntakeSettings::from_env(&Env::from_pairs([("DEDUPE_QUEUE_URL", "q")])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("FORMSTACK_SECRET_ID".into()));
        let bad =
            Env::from_pairs([("DEDUPE_QUEUE_URL", "q"), ("FORMSTACK_SECRET_ID", "s"), ("FORMSTACK_PER_PAGE", "500")]);
        assert!(IntakeSettings::from_env(&bad).unwrap_err().to_string().contains("FORMSTACK_PER_PAGE"));
        let ok = Env::from_pairs([("DEDUPE_QUEUE_URL", "q"), ("FORMSTACK_SECRET_ID", "s")]);
        let s = IntakeSettings::from_env(&ok).unwrap();
        assert_eq!((s.per_page, s.daily_call_budget, s.signature_header.as_str()), (100, 14_400, "X-FS-Signature"));
    }
}
