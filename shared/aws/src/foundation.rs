//! What every function builds once per container, written once: the SDK configuration, the
//! secrets cache and the warehouse pool (its settings read through that cache).

use std::time::Duration;

use aws_config::SdkConfig;
use platform_warehouse::{DbSettings, Warehouse, WarehouseError};

use crate::SecretsCache;

/// The SDK configuration, the secrets cache and the warehouse of a container.
#[derive(Debug, Clone)]
pub struct Foundation {
    /// AWS SDK configuration (honours `AWS_ENDPOINT_URL`).
    pub sdk: SdkConfig,
    /// Secrets Manager through one cache per container.
    pub secrets: SecretsCache,
    /// The warehouse pool.
    pub warehouse: Warehouse,
}

impl Foundation {
    /// Builds it from the environment (`env` looks a variable up): the warehouse from the secret
    /// named by `DATABASE_SECRET_ID` (read through the cache) or from `DATABASE_URL`, with
    /// `DATABASE_POOL_SIZE` connections, else `default_pool`; secrets cached for `secret_ttl`.
    pub async fn from_env(
        env: impl Fn(&str) -> Option<String>,
        secret_ttl: Duration,
        default_pool: usize,
    ) -> Result<Foundation, WarehouseError> {
        let sdk = crate::sdk_config().await;
        let secrets = SecretsCache::new(crate::secrets::Client::new(&sdk), secret_ttl);
        let cache = &secrets;
        let mut db =
            DbSettings::from_env(&env, |id| async move { cache.get(&id).await.map(|s| s.json().clone()) }).await?;
        if env("DATABASE_POOL_SIZE").is_none() {
            db = db.with_pool_size(default_pool);
        }
        let warehouse = Warehouse::new(&db)?;
        Ok(Foundation { sdk, secrets, warehouse })
    }
}
