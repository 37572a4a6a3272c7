//! Versioned migrations (refinery), embedded from `shared/warehouse/migrations/`.

use crate::{Result, Warehouse};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Applies every pending migration; returns the versions applied now.
pub async fn migrate(warehouse: &Warehouse) -> Result<Vec<i32>> {
    let mut conn = warehouse.conn().await?;
    let client: &mut tokio_postgres::Client = &mut conn;
    let report =
        embedded::migrations::runner().set_migration_table_name("integration_schema_history").run_async(client).await?;
    Ok(report.applied_migrations().iter().map(|m| m.version()).collect())
}
