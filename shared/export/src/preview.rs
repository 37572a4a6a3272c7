//! What a subscription's report will look like before it is written: a template (its own, or
//! a draft an operator is editing) checked against the lander's fields, and the first rows of
//! the report as text, in the report's order and time zone.

use chrono::Utc;
use chrono_tz::Tz;
use platform_warehouse::tokio_postgres::{GenericClient, types::ToSql};
use platform_workbook::Cell;
use serde::Serialize;
use serde_json::Value;

use crate::{
    ExportError, Exporter,
    export::{lander_fields, subscriptions},
    rows::{self, Cells},
    template::{Template, readable},
};

/// The first rows of a report.
#[derive(Debug, Clone, Serialize)]
pub struct TemplatePreview {
    /// The column headers.
    pub headers: Vec<String>,
    /// The first rows, each cell as the workbook would show it.
    pub rows: Vec<Vec<String>>,
}

/// A cell as text (dates as `YYYY-MM-DD HH:MM`).
pub fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => t.clone(),
        Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{n:.0}"),
        Cell::Number(n) => n.to_string(),
        Cell::Date(d) => d.format("%Y-%m-%d %H:%M").to_string(),
        Cell::Empty => String::new(),
    }
}

/// Every lander whose subscriptions use template `id`, to check a draft against.
async fn landers_of_template(db: &impl GenericClient, id: &str) -> Result<Vec<String>, ExportError> {
    Ok(db
        .query("SELECT DISTINCT lander_id FROM leads.export_subscription WHERE template_id = $1 ORDER BY 1", &[&id])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

impl Exporter {
    /// The first `limit` rows of `subscription`'s report with `draft` as its template (or its
    /// own), over every lead so far; `Ok(Err(why))` when the template cannot be used.
    pub async fn template_preview(
        &self,
        subscription: &str,
        draft: Option<&Value>,
        limit: i64,
    ) -> Result<Result<TemplatePreview, String>, ExportError> {
        let db = self.warehouse.conn().await?;
        let Some(sub) = subscriptions(&**db, Some(subscription)).await?.pop() else {
            return Err(ExportError::Config(format!("no enabled export subscription {subscription:?}")));
        };
        let template = match draft {
            Some(def) => {
                let id = sub.template_id.clone().unwrap_or_else(|| "draft".into());
                let fields = lander_fields(&**db, &sub.lander_id).await?;
                let Ok(tz) = sub.time_zone.parse::<Tz>() else {
                    return Ok(Err(format!("time zone {:?} is not an IANA time zone name", sub.time_zone)));
                };
                Template::custom(&id, def, &fields).map(|t| (t, tz)).map_err(|e| e.to_string())
            }
            None => sub.template(&**db).await?,
        };
        let (template, tz) = match template {
            Ok(t) => t,
            Err(why) => return Ok(Err(why)),
        };
        let (mut sql, params) = rows::query(&template, &sub.lander_id, Utc::now(), None);
        sql.push_str(&format!(" LIMIT {}", limit.max(0)));
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
        let found = db.query(&sql, &refs).await?;
        let cells = Cells::new(&template, tz);
        let mut out = Vec::new();
        let mut row = Vec::new();
        for r in &found {
            let lead = cells.lead(r).map_err(ExportError::Config)?;
            cells.fill(lead, &mut row);
            out.push(row.iter().map(cell_text).collect());
        }
        let headers = template.columns.iter().map(|c| c.header.clone().unwrap_or_else(|| readable(&c.field))).collect();
        Ok(Ok(TemplatePreview { headers, rows: out }))
    }

    /// Checks `definition` as template `id` against the fields of every lander whose
    /// subscriptions use it: `Err(why)` names the first problem.
    pub async fn check_template(&self, id: &str, definition: &Value) -> Result<Result<(), String>, ExportError> {
        let db = self.warehouse.conn().await?;
        for lander in landers_of_template(&**db, id).await? {
            let fields = lander_fields(&**db, &lander).await?;
            if let Err(e) = Template::custom(id, definition, &fields) {
                return Ok(Err(format!("for lander {lander}: {e}")));
            }
        }
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_the_workbook_shows_them() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap().and_hms_opt(9, 5, 0).unwrap();
        assert_eq!(cell_text(&Cell::Number(42.0)), "42");
        assert_eq!(cell_text(&Cell::Number(2.5)), "2.5");
        assert_eq!(cell_text(&Cell::Date(d)), "2026-12-07 09:05");
        assert_eq!(cell_text(&Cell::Empty), "");
        assert_eq!(cell_text(&Cell::Text("x".into())), "x");
    }
}
