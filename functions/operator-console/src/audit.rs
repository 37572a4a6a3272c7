//! The audit: one append-only row per change, written in the transaction of the change.
//! Configuration tables carry a trigger that records their row changes too; [`acting_as`] names
//! the person in the transaction so those rows carry them rather than the database user.

use platform_warehouse::tokio_postgres::GenericClient;
use serde_json::Value;

use crate::ConsoleError;

/// Begins a transaction on a pooled connection.
pub async fn begin(
    conn: &mut platform_warehouse::deadpool_postgres::Object,
) -> Result<platform_warehouse::tokio_postgres::Transaction<'_>, ConsoleError> {
    let client: &mut platform_warehouse::tokio_postgres::Client = conn;
    Ok(client.transaction().await?)
}

/// Names `actor` as the author of this transaction's changes (for the configuration tables'
/// audit trigger); it ends with the transaction.
pub async fn acting_as(tx: &impl GenericClient, actor: &str) -> Result<(), ConsoleError> {
    tx.execute("SELECT set_config('console.actor', $1, true)", &[&actor]).await?;
    Ok(())
}

/// Records one change.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    tx: &impl GenericClient,
    actor: &str,
    action: &str,
    target: &str,
    parameters: &Value,
    before: Option<&Value>,
    after: Option<&Value>,
    outcome: &str,
) -> Result<(), ConsoleError> {
    tx.execute(
        "INSERT INTO console.audit (actor, source, action, target, parameters, before, after, outcome)
         VALUES ($1, 'console', $2, $3, $4, $5, $6, $7)",
        &[&actor, &action, &target, parameters, &before, &after, &outcome],
    )
    .await?;
    Ok(())
}

/// Records an action taken outside a warehouse transaction (a vendor's call, a queued message,
/// a secret or a file written), right after it, with its outcome.
pub async fn record_after(
    warehouse: &platform_warehouse::Warehouse,
    actor: &str,
    action: &str,
    target: &str,
    parameters: &Value,
    outcome: &str,
) -> Result<(), ConsoleError> {
    let conn = warehouse.conn().await?;
    record(&**conn, actor, action, target, parameters, None, None, outcome).await
}

/// One audit row, as the audit page lists it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its id (the page's cursor).
    pub id: i64,
    /// When, UTC.
    pub at: String,
    /// Who.
    pub actor: String,
    /// `console` or `sql`.
    pub source: String,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// With which parameters (JSON).
    pub parameters: String,
    /// The row before (JSON), if any.
    pub before: Option<String>,
    /// The row after (JSON), if any.
    pub after: Option<String>,
    /// The outcome.
    pub outcome: String,
    /// The database user who wrote it.
    pub db_user: String,
}

/// Filters of the audit page (each a prefix match, empty: any).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Filter {
    /// Actor (e-mail or database user).
    #[serde(default)]
    pub actor: String,
    /// Action.
    #[serde(default)]
    pub action: String,
    /// Target.
    #[serde(default)]
    pub target: String,
    /// The target exactly, not as a prefix (a registration's own entries).
    #[serde(default)]
    pub exact_target: bool,
    /// Only entries older than this id (the next page).
    pub before: Option<i64>,
}

/// The newest `limit` entries matching `filter`.
pub async fn list(db: &impl GenericClient, filter: &Filter, limit: i64) -> Result<Vec<Entry>, ConsoleError> {
    let like = |s: &str| format!("{}%", s.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let rows = db
        .query(
            "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), actor, source, action, target,
                    parameters, before, after, outcome, db_user
               FROM console.audit
              WHERE ($1 = '%' OR actor LIKE $1) AND ($2 = '%' OR action LIKE $2)
                AND (CASE WHEN $6 THEN target = $7 ELSE $3 = '%' OR target LIKE $3 END)
                AND ($4::bigint IS NULL OR id < $4)
              ORDER BY id DESC
              LIMIT $5",
            &[
                &like(&filter.actor),
                &like(&filter.action),
                &like(&filter.target),
                &filter.before,
                &limit,
                &filter.exact_target,
                &filter.target.trim(),
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Entry {
            id: r.get(0),
            at: r.get(1),
            actor: r.get(2),
            source: r.get(3),
            action: r.get(4),
            target: r.get(5),
            parameters: shown(&r.get::<_, Value>(6)),
            before: r.get::<_, Option<Value>>(7).as_ref().map(shown),
            after: r.get::<_, Option<Value>>(8).as_ref().map(shown),
            outcome: r.get(9),
            db_user: r.get(10),
        })
        .collect())
}

/// A recorded row as the page shows it: secrets redacted (a configuration row may hold a
/// header's value), pretty JSON.
fn shown(value: &Value) -> String {
    serde_json::to_string_pretty(&crate::redact::json(value)).unwrap_or_default()
}
