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

/// Where a form's full scan stands: the next page to read, or `None` when no scan is running.
pub async fn scan_next_page(db: &impl GenericClient, form_id: &str) -> Result<Option<u32>> {
    let row =
        db.query_opt("SELECT resync_next_page FROM integration.pull_cursor WHERE form_id = $1", &[&form_id]).await?;
    Ok(row.and_then(|r| r.get::<_, Option<i32>>(0)).map(|p| p.max(1) as u32))
}

/// Starts a full scan of a form at page 1 unless one is running; returns its next page.
pub async fn start_scan(db: &impl GenericClient, form_id: &str) -> Result<u32> {
    let row = db
        .query_one(
            "INSERT INTO integration.pull_cursor (form_id, resync_next_page, resync_started_at)
             VALUES ($1, 1, now())
             ON CONFLICT (form_id) DO UPDATE
                SET resync_next_page = COALESCE(integration.pull_cursor.resync_next_page, 1),
                    resync_started_at = CASE WHEN integration.pull_cursor.resync_next_page IS NULL THEN now()
                                             ELSE integration.pull_cursor.resync_started_at END
             RETURNING resync_next_page",
            &[&form_id],
        )
        .await?;
    Ok(row.get::<_, i32>(0).max(1) as u32)
}

/// Records how far a running scan got (in the transaction that committed its rows).
pub async fn scan_reached(db: &impl GenericClient, form_id: &str, next_page: u32) -> Result<()> {
    db.execute(
        "UPDATE integration.pull_cursor SET resync_next_page = $2 WHERE form_id = $1 AND resync_next_page IS NOT NULL",
        &[&form_id, &(next_page as i32)],
    )
    .await?;
    Ok(())
}

/// Ends a scan that read the form's last page; returns how many scans have completed.
pub async fn complete_scan(db: &impl GenericClient, form_id: &str) -> Result<i32> {
    let row = db
        .query_one(
            "UPDATE integration.pull_cursor
                SET resync_next_page = NULL, resync_completed_at = now(), resync_scans = resync_scans + 1
              WHERE form_id = $1 RETURNING resync_scans",
            &[&form_id],
        )
        .await?;
    Ok(row.get(0))
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
