//! Secrets Manager through one cache per container: a secret is fetched once per TTL, kept in
//! memory only, and redacted in `Debug`. JSON secrets are parsed once.

use std::{
    collections::HashMap,
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

pub use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use tokio::sync::Mutex;

use crate::AwsError;

/// A secret's value. `Debug` never shows it; read fields with [`Secret::field`].
#[derive(Clone)]
pub struct Secret {
    value: serde_json::Value,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Secret {
    /// Wraps a value (a JSON object, or a plain string secret as a JSON string).
    pub fn new(value: serde_json::Value) -> Secret {
        Secret { value }
    }

    /// A string (or number) field of a JSON secret.
    pub fn field(&self, key: &str) -> Option<String> {
        match self.value.get(key)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A nested value of a JSON secret (e.g. a map of per-form keys).
    pub fn value(&self, key: &str) -> Option<&serde_json::Value> {
        self.value.get(key)
    }

    /// The whole value (for plain-string secrets, a JSON string).
    pub fn json(&self) -> &serde_json::Value {
        &self.value
    }
}

/// Why [`SecretsCache::put_fields`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// The value was refused by the caller's check.
    #[error("{0}")]
    Refused(String),
    /// Secrets Manager refused or failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// Cache of secrets with a time-to-live; share one per container.
#[derive(Clone)]
pub struct SecretsCache {
    client: aws_sdk_secretsmanager::Client,
    ttl: Duration,
    entries: Arc<Mutex<Entries>>,
}

/// Cached secrets with the time they were fetched.
type Entries = HashMap<String, (Instant, Arc<Secret>)>;

impl fmt::Debug for SecretsCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsCache").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl SecretsCache {
    /// A cache over `client` keeping each secret for `ttl`.
    pub fn new(client: aws_sdk_secretsmanager::Client, ttl: Duration) -> SecretsCache {
        SecretsCache { client, ttl, entries: Arc::default() }
    }

    /// The secret `id`, from the cache while fresh, else from Secrets Manager.
    pub async fn get(&self, id: &str) -> Result<Arc<Secret>, AwsError> {
        // Holding the lock across the fetch makes concurrent first reads share one call.
        let mut entries = self.entries.lock().await;
        if let Some((fetched, secret)) = entries.get(id)
            && fetched.elapsed() < self.ttl
        {
            return Ok(secret.clone());
        }
        let out = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| AwsError::Secret { id: id.to_owned(), message: DisplayErrorContext(&e).to_string() })?;
        let value = match out.secret_string() {
            Some(s) => serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.to_owned())),
            None => {
                return Err(AwsError::Secret { id: id.to_owned(), message: "secret has no string value".into() });
            }
        };
        let secret = Arc::new(Secret::new(value));
        entries.insert(id.to_owned(), (Instant::now(), secret.clone()));
        Ok(secret)
    }

    /// Writes `fields` into the JSON secret `id` (creating it when absent): each given field
    /// replaces the stored one, the others are kept. The value is never returned; the cached
    /// copy is forgotten. `check` sees the whole value before it is written and may refuse it.
    pub async fn put_fields(
        &self,
        id: &str,
        fields: serde_json::Map<String, serde_json::Value>,
        check: impl FnOnce(&serde_json::Value) -> Result<(), String>,
    ) -> Result<(), PutError> {
        let aws = |e: String| PutError::Aws(AwsError::Secret { id: id.to_owned(), message: e });
        let (existed, mut value) = match self.client.get_secret_value().secret_id(id).send().await {
            Ok(out) => match out.secret_string().map(serde_json::from_str::<serde_json::Value>) {
                Some(Ok(serde_json::Value::Object(map))) => (true, map),
                _ => {
                    return Err(PutError::Refused(format!(
                        "secret {id} does not hold a JSON object: change it in Secrets Manager"
                    )));
                }
            },
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
                (false, serde_json::Map::new())
            }
            Err(e) => return Err(aws(DisplayErrorContext(&e).to_string())),
        };
        value.extend(fields);
        let value = serde_json::Value::Object(value);
        check(&value).map_err(PutError::Refused)?;
        let text = value.to_string();
        let put = |text: String| self.client.put_secret_value().secret_id(id).secret_string(text).send();
        if existed {
            put(text).await.map_err(|e| aws(DisplayErrorContext(&e).to_string()))?;
        } else {
            match self.client.create_secret().name(id).secret_string(text.clone()).send().await {
                Ok(_) => {}
                // It exists without a value yet (a placeholder made by the stack): its first value.
                Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()) => {
                    put(text).await.map_err(|e| aws(DisplayErrorContext(&e).to_string()))?;
                }
                Err(e) => return Err(aws(DisplayErrorContext(&e).to_string())),
            }
        }
        self.invalidate(id).await;
        Ok(())
    }

    /// When secret `id`'s value last changed (none: no such secret), from its metadata only.
    pub async fn last_changed(&self, id: &str) -> Result<Option<std::time::SystemTime>, AwsError> {
        match self.client.describe_secret().secret_id(id).send().await {
            Ok(out) => Ok(out
                .last_changed_date()
                .or(out.created_date())
                .and_then(|t| std::time::SystemTime::try_from(*t).ok())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(None),
            Err(e) => Err(AwsError::Secret { id: id.to_owned(), message: DisplayErrorContext(&e).to_string() }),
        }
    }

    /// Forgets `id`, so the next read fetches it again (after a vendor refused a rotated credential).
    pub async fn invalidate(&self, id: &str) {
        self.entries.lock().await.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new(serde_json::json!({"api_token": "tok-very-secret", "port": 5432}));
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(s.field("api_token").as_deref(), Some("tok-very-secret"));
        assert_eq!(s.field("port").as_deref(), Some("5432"));
        assert_eq!(s.field("missing"), None);
    }
}
