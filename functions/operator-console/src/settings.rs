//! The console's settings, read once from the environment.

use std::time::Duration;

use platform_runtime::Env;
use serde::Deserialize;

use crate::ConsoleError;

/// A queue the console watches, with its dead-letter queue.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct QueuePair {
    /// Short name (`dedupe`, `meetmax`, `leads`, `export`, …): the URL path and the audit target.
    pub name: String,
    /// The queue's URL.
    pub url: String,
    /// Its dead-letter queue's URL.
    pub dead_letter_url: String,
}

/// Everything the console reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The console's own origin (`PUBLIC_URL`, e.g. `https://abc.lambda-url.us-east-1.on.aws`):
    /// state changes must come from it, and the sign-in returns to it.
    pub public_url: String,
    /// The OpenID Connect issuer (`OIDC_ISSUER`; discovery at `/.well-known/openid-configuration`).
    pub issuer: String,
    /// The app client's id (`OIDC_CLIENT_ID`).
    pub client_id: String,
    /// Secrets Manager id of `{"client_secret": …}` for a confidential client (`OIDC_CLIENT_SECRET_ID`).
    pub client_secret_id: Option<String>,
    /// The ID-token claim listing the person's groups (`OIDC_GROUPS_CLAIM`, default `cognito:groups`).
    pub groups_claim: String,
    /// How long a session lasts (`SESSION_HOURS`, default 12).
    pub session_ttl: Duration,
    /// The queues and their dead-letter queues (`CONSOLE_QUEUES`, a JSON list of [`QueuePair`]).
    pub queues: Vec<QueuePair>,
}

impl Settings {
    /// Reads the settings; says which variable is missing or wrong.
    pub fn from_env(env: &Env) -> Result<Settings, ConsoleError> {
        let config = |e: platform_runtime::env::ConfigError| ConsoleError::Config(e.to_string());
        let public_url = env.required("PUBLIC_URL").map_err(config)?.trim_end_matches('/').to_owned();
        if !(public_url.starts_with("https://")
            || public_url.starts_with("http://127.0.0.1")
            || public_url.starts_with("http://localhost"))
        {
            return Err(ConsoleError::Config(format!("PUBLIC_URL={public_url:?} must be https (or loopback)")));
        }
        let queues = match env.optional("CONSOLE_QUEUES") {
            None => Vec::new(),
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                ConsoleError::Config(format!(
                    "CONSOLE_QUEUES is not a JSON list of {{name, url, dead_letter_url}}: {e}"
                ))
            })?,
        };
        Ok(Settings {
            public_url,
            issuer: env.required("OIDC_ISSUER").map_err(config)?.trim_end_matches('/').to_owned(),
            client_id: env.required("OIDC_CLIENT_ID").map_err(config)?,
            client_secret_id: env.optional("OIDC_CLIENT_SECRET_ID"),
            groups_claim: env.optional("OIDC_GROUPS_CLAIM").unwrap_or_else(|| "cognito:groups".into()),
            session_ttl: Duration::from_secs(env.parse_or("SESSION_HOURS", 12u64).map_err(config)? * 3600),
            queues,
        })
    }

    /// Where the issuer sends the browser back with the code.
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.public_url)
    }

    /// The queue pair named `name`.
    pub fn queue(&self, name: &str) -> Option<&QueuePair> {
        self.queues.iter().find(|q| q.name == name)
    }
}
