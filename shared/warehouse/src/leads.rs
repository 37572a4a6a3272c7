//! Leads of Formstack lander forms into `leads.lead` (the generic lead endpoint writes its own
//! leads in `platform-leads`).

use std::collections::HashMap;

use platform_domain::lead::LeadRow;
use serde_json::Value;
use tokio_postgres::GenericClient;

use crate::Result;

/// Inserts Formstack leads in one statement; a submission already stored as a lead (an earlier
/// version, or the webhook and the pull of the same submission) is left as it is: a lead is
/// delivered as it first arrived. Rows must have distinct (lander, submission) pairs. Returns,
/// per row in order, the new lead's id, or `None` when it already existed.
pub async fn insert_formstack<'r>(
    db: &impl GenericClient,
    rows: impl IntoIterator<Item = &'r LeadRow>,
) -> Result<Vec<Option<i64>>> {
    let rows: Vec<&LeadRow> = rows.into_iter().collect();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let landers: Vec<&str> = rows.iter().map(|r| r.lander_id.as_str()).collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.source_id.as_str()).collect();
    let times: Vec<Option<chrono::DateTime<chrono::Utc>>> = rows.iter().map(|r| r.submitted_at).collect();
    let core: Vec<Vec<Option<&str>>> = (0..4).map(|i| rows.iter().map(|r| r.core[i].as_deref()).collect()).collect();
    let fields: Vec<Value> = rows.iter().map(|r| Value::Object(r.fields.clone())).collect();
    let inserted = db
        .query(
            "INSERT INTO leads.lead (lander_id, source, source_id, received_at, first_name, last_name, email, phone, fields)
             SELECT u.lander, 'formstack', u.id, COALESCE(u.at, now()), u.first, u.last, u.email, u.phone, u.fields
               FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[])
                    AS u(lander, id, at, first, last, email, phone, fields)
             ON CONFLICT (lander_id, source, source_id) DO NOTHING
             RETURNING lander_id, source_id, id",
            &[&landers, &ids, &times, &core[0], &core[1], &core[2], &core[3], &fields],
        )
        .await?;
    let mut by_key: HashMap<(String, String), i64> =
        inserted.iter().map(|r| ((r.get(0), r.get(1)), r.get(2))).collect();
    Ok(rows.iter().map(|r| by_key.remove(&(r.lander_id.clone(), r.source_id.clone()))).collect())
}
