//! Templates: the generic one (every lead field in a fixed order) and custom ones, which are
//! data (`leads.export_template.definition`, JSON). Pure: no I/O.
//!
//! A custom template:
//!
//! ```json
//! {"sheet": "Leads", "summary": true, "summary_sheet": "Per day",
//!  "columns": [{"field": "received_at", "header": "Received", "format": "mm/dd/yyyy hh:mm", "width": 18},
//!              {"field": "first_name", "header": "First", "transform": ["trim", "title"]},
//!              {"field": "phone", "header": "Phone", "transform": "digits"},
//!              {"field": "incident_date", "header": "Incident", "type": "date", "format": "mm/dd/yyyy"},
//!              {"field": "amount", "header": "Amount", "type": "number", "format": "#,##0.00"}],
//!  "sort": [{"field": "received_at", "descending": true}],
//!  "filters": [{"field": "state", "equals": "KY"}, {"field": "email", "present": true},
//!              {"field": "source", "in": ["formstack", "endpoint"]}]}
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

/// The lead's own columns, usable by every template (besides the lander's fields).
pub const CORE_FIELDS: &[&str] =
    &["lead_id", "received_at", "first_name", "last_name", "email", "phone", "source", "source_id", "lander_id"];

/// The generic template's first columns (field, header, width), then every other field of the
/// lander in alphabetical order, headed by its name.
pub const GENERIC_COLUMNS: &[(&str, &str, f64)] = &[
    ("lead_id", "Lead", 10.0),
    ("received_at", "Received", 18.0),
    ("first_name", "First name", 16.0),
    ("last_name", "Last name", 16.0),
    ("email", "Email", 28.0),
    ("phone", "Phone", 16.0),
];

/// How a column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// As they are: numbers as numbers, text as text, `received_at` as a date.
    #[default]
    Auto,
    /// Always text.
    Text,
    /// A number (`$1,250.00` reads as 1250); a value that is not one stays text.
    Number,
    /// A date (the lead formats of `platform_domain::transform::parse_date`); a value that is
    /// not one stays text.
    Date,
}

/// One column of a template.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The lead field (one of [`CORE_FIELDS`] or a field of the lander's leads).
    pub field: String,
    /// Header (default: the field's name).
    #[serde(default)]
    pub header: Option<String>,
    /// Transforms applied to the value's text, in order (`trim`, `digits`, `upper`, `lower`,
    /// `title`, `date:<format>`).
    #[serde(default, deserialize_with = "one_or_many")]
    pub transform: Vec<String>,
    /// How values are written.
    #[serde(default, rename = "type")]
    pub kind: Kind,
    /// Excel number format of numbers and dates.
    #[serde(default)]
    pub format: Option<String>,
    /// Width in characters (default 18).
    #[serde(default)]
    pub width: Option<f64>,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sort {
    /// The field.
    pub field: String,
    /// Largest first.
    #[serde(default)]
    pub descending: bool,
}

/// A condition on the leads: exactly one of `equals`, `in`, `present`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// The field.
    pub field: String,
    /// The field's text equals this.
    #[serde(default)]
    pub equals: Option<String>,
    /// The field's text is one of these.
    #[serde(default, rename = "in")]
    pub one_of: Option<Vec<String>>,
    /// The field has a non-blank value (`true`) or none (`false`).
    #[serde(default)]
    pub present: Option<bool>,
}

/// A template ready to run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// The leads sheet's name.
    #[serde(default = "default_sheet")]
    pub sheet: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Sort keys (default: `received_at`, oldest first); the lead id breaks ties.
    #[serde(default)]
    pub sort: Vec<Sort>,
    /// Conditions every lead of the report meets.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Whether the summary sheet (leads per day, with a chart) is added.
    #[serde(default = "yes")]
    pub summary: bool,
    /// The summary sheet's name.
    #[serde(default = "default_summary_sheet")]
    pub summary_sheet: String,
}

fn default_sheet() -> String {
    "Leads".into()
}

fn default_summary_sheet() -> String {
    "Summary".into()
}

fn yes() -> bool {
    true
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Why a template cannot be used; the export is refused with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The JSON is not a template.
    #[error("template {id}: not a template: {message}")]
    Malformed {
        /// Template id.
        id: String,
        /// The reader's message.
        message: String,
    },
    /// A field no lead of the lander has and no core column is.
    #[error("template {id}: {place} names the unknown field {field:?} (known: {known})")]
    UnknownField {
        /// Template id.
        id: String,
        /// Where (`column 3`, `sort`, `filter 1`).
        place: String,
        /// The field named.
        field: String,
        /// The fields it could name.
        known: String,
    },
    /// Anything else wrong (no columns, a bad transform, a filter without a condition, …).
    #[error("template {id}: {message}")]
    Invalid {
        /// Template id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

/// A field name as a header: underscores as spaces, the first letter capitalised.
pub fn readable(field: &str) -> String {
    let spaced = field.replace('_', " ");
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Template {
    /// The generic template over the lander's fields (`fields`: every field its leads have),
    /// each headed by its label (`labels`, from the lander form's definition) or, without one,
    /// by its name made readable (`incident_date` → "Incident date").
    pub fn generic(fields: &BTreeSet<String>, labels: &BTreeMap<String, String>) -> Template {
        let mut columns: Vec<Column> = GENERIC_COLUMNS
            .iter()
            .map(|(field, header, width)| Column {
                field: (*field).into(),
                header: Some((*header).into()),
                transform: Vec::new(),
                kind: Kind::Auto,
                format: None,
                width: Some(*width),
            })
            .collect();
        for f in fields {
            if !GENERIC_COLUMNS.iter().any(|(c, _, _)| c == f) {
                columns.push(Column {
                    field: f.clone(),
                    header: Some(labels.get(f).cloned().unwrap_or_else(|| readable(f))),
                    transform: Vec::new(),
                    kind: Kind::Auto,
                    format: None,
                    width: Some(if f.len() > 16 { 30.0 } else { 18.0 }),
                });
            }
        }
        Template {
            sheet: default_sheet(),
            columns,
            sort: Vec::new(),
            filters: Vec::new(),
            summary: true,
            summary_sheet: default_summary_sheet(),
        }
    }

    /// Reads custom template `id` and checks it against the fields the lander's leads may carry
    /// (`fields`, besides [`CORE_FIELDS`]).
    pub fn custom(
        id: &str,
        definition: &serde_json::Value,
        fields: &BTreeSet<String>,
    ) -> Result<Template, TemplateError> {
        let t: Template = serde_json::from_value(definition.clone())
            .map_err(|e| TemplateError::Malformed { id: id.into(), message: e.to_string() })?;
        t.check(id, fields)?;
        Ok(t)
    }

    fn check(&self, id: &str, fields: &BTreeSet<String>) -> Result<(), TemplateError> {
        let invalid = |message: String| TemplateError::Invalid { id: id.into(), message };
        if self.columns.is_empty() {
            return Err(invalid("it has no columns".into()));
        }
        if self.columns.len() > 16_384 {
            return Err(invalid("more columns than Excel allows (16,384)".into()));
        }
        let known = |place: String, field: &str| {
            if CORE_FIELDS.contains(&field) || fields.contains(field) {
                Ok(())
            } else {
                let mut all: Vec<&str> = CORE_FIELDS.to_vec();
                all.extend(fields.iter().map(String::as_str).filter(|f| !CORE_FIELDS.contains(f)));
                Err(TemplateError::UnknownField { id: id.into(), place, field: field.into(), known: all.join(", ") })
            }
        };
        for (i, c) in self.columns.iter().enumerate() {
            known(format!("column {}", i + 1), &c.field)?;
            if let Some(t) = c.transform.iter().find(|t| !platform_domain::transform::is_known(t)) {
                return Err(invalid(format!(
                    "column {}: unknown transform {t:?} ({})",
                    i + 1,
                    platform_domain::transform::KNOWN
                )));
            }
            if c.width.is_some_and(|w| !(0.0..=255.0).contains(&w)) {
                return Err(invalid(format!("column {}: width must be 0 to 255", i + 1)));
            }
        }
        for (i, s) in self.sort.iter().enumerate() {
            known(format!("sort {}", i + 1), &s.field)?;
        }
        for (i, f) in self.filters.iter().enumerate() {
            known(format!("filter {}", i + 1), &f.field)?;
            let conditions = [f.equals.is_some(), f.one_of.is_some(), f.present.is_some()];
            if conditions.iter().filter(|c| **c).count() != 1 {
                return Err(invalid(format!("filter {}: give exactly one of equals, in, present", i + 1)));
            }
        }
        // Excel compares sheet names without case.
        if self.summary
            && platform_workbook::sheet_name(&self.sheet).to_lowercase()
                == platform_workbook::sheet_name(&self.summary_sheet).to_lowercase()
        {
            return Err(invalid("the leads sheet and the summary sheet need different names".into()));
        }
        Ok(())
    }

    /// The workbook columns.
    pub fn sheet_columns(&self) -> Vec<platform_workbook::stream::Column> {
        self.columns
            .iter()
            .map(|c| platform_workbook::stream::Column {
                header: c.header.clone().unwrap_or_else(|| c.field.clone()),
                width: c.width.unwrap_or(18.0),
                num_format: c.format.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> BTreeSet<String> {
        ["details", "first_name", "incident_date", "206"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_generic_template_puts_the_core_first_then_the_other_fields_alphabetically() {
        let labels: BTreeMap<String, String> = [("206", "How did you hear about us?"), ("details", "What happened?")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let t = Template::generic(&fields(), &labels);
        let names: Vec<&str> = t.columns.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            names,
            ["lead_id", "received_at", "first_name", "last_name", "email", "phone", "206", "details", "incident_date"]
        );
        let headers: Vec<String> = t.sheet_columns().into_iter().map(|c| c.header).collect();
        assert_eq!(
            headers[6..],
            ["How did you hear about us?", "What happened?", "Incident date"],
            "labels from the form, else the name made readable; never a bare field id"
        );
        assert!(t.summary);
    }

    #[test]
    fn custom_templates_are_read_and_checked_against_the_landers_fields() {
        let def = json!({"sheet": "Slip leads", "summary": false,
            "columns": [{"field": "received_at", "header": "Received", "format": "mm/dd/yyyy"},
                        {"field": "phone", "transform": "digits"},
                        {"field": "incident_date", "type": "date"}],
            "sort": [{"field": "received_at", "descending": true}],
            "filters": [{"field": "details", "present": true}]});
        let t = Template::custom("slip", &def, &fields()).unwrap();
        assert_eq!(t.columns[1].transform, vec!["digits"]);
        assert_eq!(t.columns[2].kind, Kind::Date);
        assert_eq!(t.sheet_columns()[0].header, "Received");
        assert_eq!(t.sheet_columns()[1].header, "phone");

        let unknown = json!({"columns": [{"field": "first_name"}, {"field": "favourite_colour"}]});
        let e = Template::custom("x", &unknown, &fields()).unwrap_err();
        assert!(
            matches!(&e, TemplateError::UnknownField { field, place, .. } if field == "favourite_colour" && place == "column 2")
        );
        assert!(e.to_string().contains("known: lead_id, received_at"), "{e}");
        let bad_sort = json!({"columns": [{"field": "email"}], "sort": [{"field": "nope"}]});
        assert!(matches!(Template::custom("x", &bad_sort, &fields()), Err(TemplateError::UnknownField { .. })));
        let two =
            json!({"columns": [{"field": "email"}], "filters": [{"field": "email", "equals": "a", "present": true}]});
        assert!(Template::custom("x", &two, &fields()).unwrap_err().to_string().contains("exactly one"));
        let transform = json!({"columns": [{"field": "email", "transform": "reverse"}]});
        assert!(Template::custom("x", &transform, &fields()).unwrap_err().to_string().contains("unknown transform"));
        let typo = json!({"columns": [{"field": "email", "widht": 3}]});
        assert!(matches!(Template::custom("x", &typo, &fields()), Err(TemplateError::Malformed { .. })));
        assert!(Template::custom("x", &json!({"columns": []}), &fields()).is_err());
        let clash = json!({"columns": [{"field": "email"}], "sheet": "leads", "summary_sheet": "LEADS"});
        assert!(Template::custom("x", &clash, &fields()).unwrap_err().to_string().contains("different names"));
    }
}
