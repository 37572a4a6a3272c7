//! `integration.vendor_pace`: what adaptive pacing learned about a vendor account's rate limit,
//! kept across containers (rates for the whole account).

use tokio_postgres::GenericClient;

use crate::Result;

/// A learned pace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredPace {
    /// The rate pacing was at, in requests per second.
    pub rate_per_second: f64,
    /// The rate the last 429 came at, if any.
    pub ceiling_per_second: Option<f64>,
}

/// The learned pace of `vendor`'s `account`, if any.
pub async fn load(db: &impl GenericClient, vendor: &str, account: &str) -> Result<Option<StoredPace>> {
    Ok(db
        .query_opt(
            "SELECT rate_per_second, ceiling_per_second FROM integration.vendor_pace WHERE vendor = $1 AND account = $2",
            &[&vendor, &account],
        )
        .await?
        .map(|r| StoredPace { rate_per_second: r.get(0), ceiling_per_second: r.get(1) }))
}

/// Stores the pace learned for `vendor`'s `account`, adding the calls taken and refused since the
/// last save.
pub async fn save(
    db: &impl GenericClient,
    vendor: &str,
    account: &str,
    pace: StoredPace,
    accepted: u64,
    refused: u64,
) -> Result<()> {
    db.execute(
        "INSERT INTO integration.vendor_pace AS p (vendor, account, rate_per_second, ceiling_per_second, accepted, refused)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (vendor, account) DO UPDATE
            SET rate_per_second = excluded.rate_per_second,
                ceiling_per_second = COALESCE(excluded.ceiling_per_second, p.ceiling_per_second),
                accepted = p.accepted + excluded.accepted, refused = p.refused + excluded.refused,
                updated_at = now()",
        &[&vendor, &account, &pace.rate_per_second, &pace.ceiling_per_second, &(accepted as i64), &(refused as i64)],
    )
    .await?;
    Ok(())
}
