//! Pull cursors per form and the daily vendor-call budget.

use chrono::{NaiveDate, NaiveDateTime};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::Result;

/// The stored high-water mark of a form (naive, account time zone), if any.
pub async fn high_water(db: &impl GenericClient, form_id: &str) -> Result<Option<NaiveDateTime>> {
    let row = db.query_opt("SELECT high_water FROM integration.pull_cursor WHERE form_id = $1", &[&form_id]).await?;
    Ok(row.and_then(|r| r.get(0)))
}

/// Moves the cursor forward to `mark` (never backwards); call inside the transaction that
/// committed the rows up to `mark`.
pub async fn advance(db: &impl GenericClient, form_id: &str, mark: NaiveDateTime, run_id: Uuid) -> Result<()> {
    db.execute(
        "INSERT INTO integration.pull_cursor (form_id, high_water, last_success_at, last_run_id)
         VALUES ($1, $2, now(), $3)
         ON CONFLICT (form_id) DO UPDATE
            SET high_water = GREATEST(integration.pull_cursor.high_water, excluded.high_water),
                last_success_at = now(), last_run_id = excluded.last_run_id",
        &[&form_id, &mark, &run_id],
    )
    .await?;
    Ok(())
}

/// Records `calls` spent by `token_key` on `day`; returns the day's total after this.
pub async fn spend(db: &impl GenericClient, token_key: &str, day: NaiveDate, calls: i32) -> Result<i32> {
    let row = db
        .query_one(
            "INSERT INTO integration.api_budget (token_key, day, calls) VALUES ($1, $2, $3)
             ON CONFLICT (token_key, day) DO UPDATE SET calls = integration.api_budget.calls + excluded.calls
             RETURNING calls",
            &[&token_key, &day, &calls],
        )
        .await?;
    Ok(row.get(0))
}

/// Calls already spent by `token_key` on `day`.
pub async fn spent(db: &impl GenericClient, token_key: &str, day: NaiveDate) -> Result<i32> {
    let row = db
        .query_opt("SELECT calls FROM integration.api_budget WHERE token_key = $1 AND day = $2", &[&token_key, &day])
        .await?;
    Ok(row.map(|r| r.get(0)).unwrap_or(0))
}
