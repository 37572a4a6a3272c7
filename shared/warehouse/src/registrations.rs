//! Upserts into `conferences_events.exchange_registration`, keyed on `registration_id`, guarded
//! by form ownership and version (`integration.registration_version`).

use platform_domain::mapping::{ColumnKind, FormMapping, RegistrationRow, column_kind};
use tokio_postgres::types::ToSql;

use crate::{Result, raw::StoredRaw};

/// What an upsert did with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowResult {
    /// A new registration.
    Inserted,
    /// The registration changed (`updated_at` set to now).
    Updated,
    /// The stored registration already held these values.
    Unchanged,
    /// The registration already holds a newer version of the submission: nothing written.
    Superseded,
    /// The registration belongs to another form (named): refused, nothing written.
    OtherForm(String),
}

/// Upserts rows of one form in one statement, each with the raw submission it was mapped from.
/// Only the form's mapped columns are written, so columns kept by staff (approval, MeetMax
/// outcome, …) are never touched. A row whose mapped values equal the stored ones
/// changes nothing (no `updated_at` bump).
///
/// Two guards, kept in `integration.registration_version` and checked in the same statement
/// (a second one, only when some rows were refused, looks up their owner to say which guard):
/// - a registration never changes form: a row of another form is refused ([`RowResult::OtherForm`]);
/// - an older version never replaces a newer one ([`RowResult::Superseded`]), in receipt order:
///   the raw row's `received_at` (a pulled record's is when its page was fetched), then its id.
///
/// `authoritative_time`: the rows carry the real submission time (API pull), which then replaces
/// a stored one; webhook rows (receipt time) never overwrite `submitted_at`.
/// Rows must have distinct `registration_id`s. Returns one result per row, by registration id.
pub async fn upsert(
    db: &impl deadpool_postgres::GenericClient,
    mapping: &FormMapping,
    pairs: &[(StoredRaw, RegistrationRow)],
    authoritative_time: bool,
) -> Result<Vec<(String, RowResult)>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<&RegistrationRow> = pairs.iter().map(|(_, r)| r).collect();
    let raws: Vec<&StoredRaw> = pairs.iter().map(|(raw, _)| raw).collect();
    let sql = upsert_sql(mapping.columns(), authoritative_time);
    let ids: Vec<&str> = rows.iter().map(|r| r.registration_id.as_str()).collect();
    let forms: Vec<&str> = rows.iter().map(|r| r.form_id.as_str()).collect();
    let times: Vec<Option<chrono::DateTime<chrono::Utc>>> = rows.iter().map(|r| r.submitted_at).collect();
    let raw_ids: Vec<i64> = raws.iter().map(|r| r.id).collect();
    let received: Vec<chrono::DateTime<chrono::Utc>> = raws.iter().map(|r| r.received_at).collect();
    let columns: Vec<Vec<Option<&str>>> =
        (0..mapping.columns().len()).map(|c| rows.iter().map(|r| r.values[c].as_deref()).collect()).collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&ids, &forms, &times, &raw_ids, &received];
    params.extend(columns.iter().map(|c| c as &(dyn ToSql + Sync)));
    // Prepared once per connection and column set (the pool's statement cache).
    let statement = db.prepare_cached(&sql).await?;
    let returned = db.query(&statement, &params).await?;
    let mut results = Vec::with_capacity(returned.len());
    let mut refused = Vec::new();
    for row in &returned {
        let id: String = row.get(0);
        match row.get::<_, &str>(1) {
            "inserted" => results.push((id, RowResult::Inserted)),
            "updated" => results.push((id, RowResult::Updated)),
            "unchanged" => results.push((id, RowResult::Unchanged)),
            _ => refused.push(id),
        }
    }
    if !refused.is_empty() {
        let forms: std::collections::HashMap<&str, &str> =
            rows.iter().map(|r| (r.registration_id.as_str(), r.form_id.as_str())).collect();
        let owners = owners(db, &refused).await?;
        for id in refused {
            let result = match owners.get(&id) {
                Some(owner) if Some(owner.as_str()) != forms.get(id.as_str()).copied() => {
                    RowResult::OtherForm(owner.clone())
                }
                _ => RowResult::Superseded,
            };
            results.push((id, result));
        }
    }
    Ok(results)
}

/// The form that owns each registration: its version row's form, else (a registration the
/// original scripts wrote) the registration's own. Registrations without either are left out.
async fn owners(
    db: &impl deadpool_postgres::GenericClient,
    registration_ids: &[String],
) -> Result<std::collections::HashMap<String, String>> {
    let rows = db
        .query(
            "SELECT u.id, COALESCE(v.form_id, e.form_id)
               FROM unnest($1::text[]) AS u(id)
               LEFT JOIN integration.registration_version v ON v.registration_id = u.id
               LEFT JOIN conferences_events.exchange_registration e ON e.registration_id = u.id
              WHERE COALESCE(v.form_id, e.form_id) IS NOT NULL",
            &[&registration_ids],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The upsert statement for a column set (column names come from the validated whitelist).
/// Public for the benchmark that compares it with staging tables (`probe-intake-copy`).
#[doc(hidden)]
pub fn upsert_sql(columns: &[&str], authoritative_time: bool) -> String {
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
    let arrays: Vec<String> = (0..columns.len()).map(|i| format!("${}::text[]", i + 6)).collect();
    let mut set: Vec<String> = columns.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    // Only ever NULL (a row of the original scripts) to this form: the guard refuses any other.
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
    // A version row is written only where no registration of another form exists, and its
    // conflict clause refuses another form's version row or an older version; a registration is
    // written only beside its version row. Why a row was refused is looked up afterwards
    // ([`owners`]), for those rows only.
    format!(
        "WITH u AS (
           SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::timestamptz[], {arrays})
                  AS u(registration_id, form_id, submitted_at, raw_id, received_at, {aliases})),
         v AS (
           INSERT INTO integration.registration_version AS v (registration_id, form_id, raw_id, received_at)
           SELECT u.registration_id, u.form_id, u.raw_id, u.received_at
             FROM u
            WHERE NOT EXISTS (SELECT 1 FROM conferences_events.exchange_registration e
                               WHERE e.registration_id = u.registration_id AND e.form_id <> u.form_id)
           ON CONFLICT (registration_id) DO UPDATE
              SET raw_id = excluded.raw_id, received_at = excluded.received_at, updated_at = now()
            WHERE v.form_id = excluded.form_id
              AND (excluded.received_at, excluded.raw_id) >= (v.received_at, v.raw_id)
           RETURNING v.registration_id),
         w AS (
           INSERT INTO conferences_events.exchange_registration AS r
                  (registration_id, form_id, submitted_at, {names})
           SELECT u.registration_id, u.form_id, COALESCE(u.submitted_at, now()), {casts}
             FROM u JOIN v ON v.registration_id = u.registration_id
           ON CONFLICT (registration_id) DO UPDATE SET {set}, updated_at = now()
            WHERE (r.form_id IS NULL OR r.form_id = excluded.form_id)
              AND ({old}) IS DISTINCT FROM ({new})
           RETURNING r.registration_id, (r.xmax = 0) AS inserted)
         SELECT u.registration_id,
                CASE WHEN w.registration_id IS NOT NULL THEN CASE WHEN w.inserted THEN 'inserted' ELSE 'updated' END
                     WHEN v.registration_id IS NOT NULL THEN 'unchanged'
                     ELSE 'refused' END
           FROM u LEFT JOIN v ON v.registration_id = u.registration_id
                  LEFT JOIN w ON w.registration_id = u.registration_id",
        casts = casts.join(", "),
        arrays = arrays.join(", "),
        aliases = aliases.join(", "),
        set = set.join(", "),
        old = old.join(", "),
        new = new.join(", "),
    )
}
