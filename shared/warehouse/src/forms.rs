//! Per-form configuration: `integration.form_config` and `integration.form_field_map`.

use std::collections::HashMap;

use platform_domain::{
    lead::LeadMapping,
    mapping::{ConfigError, FieldRule, FlowMapping, FormMapping, MappingError},
};
use tokio_postgres::GenericClient;

use crate::Result;

/// A configured form as the pull sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullForm {
    /// Formstack form id.
    pub form_id: String,
    /// IANA time zone of the account's naive timestamps.
    pub time_zone: String,
    /// The flow it feeds (`registration`, `lander`).
    pub flow: String,
}

/// Enabled forms whose submissions are pulled on schedule, by form id.
pub async fn pull_forms(db: &impl GenericClient) -> Result<Vec<PullForm>> {
    let rows = db
        .query(
            "SELECT form_id, time_zone, flow FROM integration.form_config
              WHERE enabled AND pull_enabled ORDER BY form_id",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| PullForm { form_id: r.get(0), time_zone: r.get(1), flow: r.get(2) }).collect())
}

/// The mapping of each form in `form_ids`, by its flow: a usable mapping, or why the form
/// cannot be mapped (not configured, disabled, a broken field map, a lander form no lander
/// names). One query for all forms.
pub async fn mappings(
    db: &impl deadpool_postgres::GenericClient,
    form_ids: &[String],
) -> Result<HashMap<String, Result<FlowMapping, MappingError>>> {
    // Prepared once per connection (the pool's statement cache): every ingested batch asks.
    let statement = db
        .prepare_cached(
            "SELECT c.form_id, c.time_zone, m.field_id, m.subfield, m.target_column, m.required, c.flow,
                    (SELECT l.id FROM leads.lander l WHERE l.formstack_form_id = c.form_id AND l.enabled)
               FROM integration.form_config c
               LEFT JOIN integration.form_field_map m ON m.form_id = c.form_id
              WHERE c.enabled AND c.form_id = ANY($1)
              ORDER BY c.form_id, m.position, m.field_id, m.subfield",
        )
        .await?;
    let rows = db.query(&statement, &[&form_ids]).await?;
    struct Form {
        time_zone: String,
        flow: String,
        lander: Option<String>,
        rules: Vec<FieldRule>,
    }
    let mut grouped: HashMap<String, Form> = HashMap::new();
    for row in &rows {
        let form_id: String = row.get(0);
        let entry = grouped.entry(form_id).or_insert_with(|| Form {
            time_zone: row.get(1),
            flow: row.get(6),
            lander: row.get(7),
            rules: Vec::new(),
        });
        if let Some(field_id) = row.get::<_, Option<String>>(2) {
            let subfield: String = row.get(3);
            entry.rules.push(FieldRule {
                field_id,
                subfield: (!subfield.is_empty()).then_some(subfield),
                column: row.get(4),
                required: row.get(5),
            });
        }
    }
    Ok(form_ids
        .iter()
        .map(|id| {
            let mapping = match grouped.remove(id) {
                None => Err(MappingError::UnknownForm(id.clone())),
                Some(f) => match (f.flow.as_str(), f.lander) {
                    ("registration", _) => {
                        FormMapping::new(id, &f.time_zone, f.rules).map(FlowMapping::Registration).map_err(Into::into)
                    }
                    ("lander", Some(lander)) => LeadMapping::new(id, &lander, &f.time_zone, f.rules)
                        .map(FlowMapping::Lander)
                        .map_err(Into::into),
                    ("lander", None) => Err(MappingError::Config(ConfigError::NoLander(id.clone()))),
                    (other, _) => Err(MappingError::Config(ConfigError::UnknownFlow(other.to_owned()))),
                },
            };
            (id.clone(), mapping)
        })
        .collect())
}

/// One field of a form's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLabel {
    /// Field id.
    pub field_id: String,
    /// The label people read.
    pub label: String,
    /// Formstack's machine name.
    pub name: Option<String>,
    /// Field type.
    pub field_type: Option<String>,
}

/// Whether the form's labels are missing or older than a day.
pub async fn labels_stale(db: &impl GenericClient, form_id: &str) -> Result<bool> {
    let row = db
        .query_one(
            "SELECT coalesce(max(fetched_at) < now() - interval '1 day', true) FROM integration.form_field_label WHERE form_id = $1",
            &[&form_id],
        )
        .await?;
    Ok(row.get(0))
}

/// Replaces the form's labels with `fields` (one statement each way, in the caller's transaction
/// or alone).
pub async fn save_labels(db: &impl GenericClient, form_id: &str, fields: &[FieldLabel]) -> Result<()> {
    let ids: Vec<&str> = fields.iter().map(|f| f.field_id.as_str()).collect();
    let labels: Vec<&str> = fields.iter().map(|f| f.label.as_str()).collect();
    let names: Vec<Option<&str>> = fields.iter().map(|f| f.name.as_deref()).collect();
    let types: Vec<Option<&str>> = fields.iter().map(|f| f.field_type.as_deref()).collect();
    db.execute(
        "WITH given AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS g(field_id, label, name, field_type)),
              gone AS (DELETE FROM integration.form_field_label l WHERE l.form_id = $1
                         AND NOT EXISTS (SELECT 1 FROM given g WHERE g.field_id = l.field_id))
         INSERT INTO integration.form_field_label (form_id, field_id, label, name, field_type, fetched_at)
         SELECT $1, field_id, label, name, field_type, now() FROM given
         ON CONFLICT (form_id, field_id) DO UPDATE SET label = excluded.label, name = excluded.name,
             field_type = excluded.field_type, fetched_at = now()",
        &[&form_id, &ids, &labels, &names, &types],
    )
    .await?;
    Ok(())
}
