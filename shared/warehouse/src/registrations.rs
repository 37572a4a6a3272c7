//! Upserts into `conferences_events.exchange_registration`, keyed on `registration_id`.

use platform_domain::mapping::{ColumnKind, FormMapping, RegistrationRow, column_kind};
use tokio_postgres::{GenericClient, types::ToSql};

use crate::Result;

/// Which registrations an upsert inserted or changed. Unchanged rows are not listed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UpsertOutcome {
    /// Newly inserted `registration_id`s.
    pub inserted: Vec<String>,
    /// Changed `registration_id`s (`updated_at` set to now).
    pub updated: Vec<String>,
}

/// Upserts rows of one form in one statement. Only the form's mapped columns are written, so
/// columns kept by staff (approval, MeetMax outcome, …) are never touched. A row whose mapped
/// values equal the stored ones changes nothing (no `updated_at` bump).
///
/// `authoritative_time`: the rows carry the real submission time (API pull), which then replaces
/// a stored one; webhook rows (receipt time) never overwrite `submitted_at`.
/// Rows must have distinct `registration_id`s.
pub async fn upsert(
    db: &impl GenericClient,
    mapping: &FormMapping,
    rows: &[RegistrationRow],
    authoritative_time: bool,
) -> Result<UpsertOutcome> {
    if rows.is_empty() {
        return Ok(UpsertOutcome::default());
    }
    let sql = upsert_sql(mapping.columns(), authoritative_time);
    let ids: Vec<&str> = rows.iter().map(|r| r.registration_id.as_str()).collect();
    let forms: Vec<&str> = rows.iter().map(|r| r.form_id.as_str()).collect();
    let times: Vec<Option<chrono::DateTime<chrono::Utc>>> = rows.iter().map(|r| r.submitted_at).collect();
    let columns: Vec<Vec<Option<&str>>> =
        (0..mapping.columns().len()).map(|c| rows.iter().map(|r| r.values[c].as_deref()).collect()).collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&ids, &forms, &times];
    params.extend(columns.iter().map(|c| c as &(dyn ToSql + Sync)));
    let returned = db.query(sql.as_str(), &params).await?;
    let mut outcome = UpsertOutcome::default();
    for row in returned {
        let id: String = row.get(0);
        if row.get::<_, bool>(1) { outcome.inserted.push(id) } else { outcome.updated.push(id) }
    }
    Ok(outcome)
}

/// The upsert statement for a column set (column names come from the validated whitelist).
fn upsert_sql(columns: &[&str], authoritative_time: bool) -> String {
    let names = columns.join(", ");
    let aliases: Vec<String> = (0..columns.len()).map(|i| format!("c{i}")).collect();
    let casts: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| match column_kind(c) {
            Some(ColumnKind::Numeric) => format!("u.c{i}::numeric"),
            Some(ColumnKind::Integer) => format!("u.c{i}::integer"),
            _ => format!("u.c{i}"),
        })
        .collect();
    let arrays: Vec<String> = (0..columns.len()).map(|i| format!("${}::text[]", i + 4)).collect();
    let mut set: Vec<String> = columns.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    set.push("form_id = excluded.form_id".into());
    let mut old: Vec<String> = columns.iter().map(|c| format!("r.{c}")).collect();
    let mut new: Vec<String> = columns.iter().map(|c| format!("excluded.{c}")).collect();
    old.push("r.form_id".into());
    new.push("excluded.form_id".into());
    if authoritative_time {
        set.push("submitted_at = excluded.submitted_at".into());
        old.push("r.submitted_at".into());
        new.push("excluded.submitted_at".into());
    }
    format!(
        "INSERT INTO conferences_events.exchange_registration AS r
                (registration_id, form_id, submitted_at, {names})
         SELECT u.registration_id, u.form_id, COALESCE(u.submitted_at, now()), {casts}
           FROM unnest($1::text[], $2::text[], $3::timestamptz[], {arrays})
                AS u(registration_id, form_id, submitted_at, {aliases})
         ON CONFLICT (registration_id) DO UPDATE SET {set}, updated_at = now()
          WHERE ({old}) IS DISTINCT FROM ({new})
         RETURNING r.registration_id, (r.xmax = 0) AS inserted",
        casts = casts.join(", "),
        arrays = arrays.join(", "),
        aliases = aliases.join(", "),
        set = set.join(", "),
        old = old.join(", "),
        new = new.join(", "),
    )
}
