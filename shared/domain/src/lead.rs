//! Leads of landers: the typed core fields every lead may carry, and the mapping of a Formstack
//! lander form's submission into a lead (`leads.lead`).
//!
//! A lander form's field map (`integration.form_field_map`, the form's flow `lander`) names, per
//! Formstack field (and sub-field), the **lead field** it becomes (`first_name`, `phone`,
//! `accident_date`, …: any name the integrations' mappings use). Every field of the submission
//! is kept: mapped ones under their lead field name, the others under their Formstack key.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::{
    mapping::{ConfigError, FieldRule, MappingError, extract, missing, submission_time},
    submission::Submission,
};

/// The typed core columns of `leads.lead`, and the field names each is read from (the first
/// present, non-blank one wins).
pub const CORE_FIELDS: [(&str, &[&str]); 4] = [
    ("first_name", &["first_name", "First", "firstname"]),
    ("last_name", &["last_name", "Last", "lastname"]),
    ("email", &["email", "Email"]),
    ("phone", &["phone", "Phone", "Primary"]),
];

/// Longest lead field name a lander form may map to.
pub const MAX_FIELD_NAME: usize = 100;

/// The core values of `fields`, in the order of [`CORE_FIELDS`], trimmed; blank is `None`.
pub fn core_values(fields: &Map<String, Value>) -> [Option<String>; 4] {
    CORE_FIELDS.map(|(_, names)| {
        names.iter().find_map(|n| {
            fields.get(*n).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
        })
    })
}

/// A validated field map of one lander form.
#[derive(Debug, Clone)]
pub struct LeadMapping {
    form_id: String,
    lander_id: String,
    time_zone: Tz,
    rules: Vec<FieldRule>,
}

/// One `leads.lead` row produced from a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadRow {
    /// The lander the form belongs to.
    pub lander_id: String,
    /// The Formstack submission id (`leads.lead.source_id`, source `formstack`).
    pub source_id: String,
    /// Submission time, when the source carries it (the API pull); else the time it is stored.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Every field of the submission (see the module's documentation).
    pub fields: Map<String, Value>,
    /// The typed core values ([`core_values`] of `fields`).
    pub core: [Option<String>; 4],
}

impl LeadMapping {
    /// Validates a lander form's rules (each names a lead field; an empty map keeps every field
    /// under its Formstack key) and its time zone.
    pub fn new(
        form_id: &str,
        lander_id: &str,
        time_zone: &str,
        rules: Vec<FieldRule>,
    ) -> Result<LeadMapping, ConfigError> {
        let time_zone: Tz = time_zone.parse().map_err(|_| ConfigError::TimeZone(time_zone.to_owned()))?;
        for rule in &rules {
            let name = rule.column.trim();
            if name.is_empty()
                || name.len() > MAX_FIELD_NAME
                || name.chars().any(char::is_control)
                || name != rule.column
            {
                return Err(ConfigError::LeadFieldName { field_id: rule.field_id.clone(), name: rule.column.clone() });
            }
        }
        Ok(LeadMapping { form_id: form_id.to_owned(), lander_id: lander_id.to_owned(), time_zone, rules })
    }

    /// The form this mapping belongs to.
    pub fn form_id(&self) -> &str {
        &self.form_id
    }

    /// The lander whose leads the form collects.
    pub fn lander_id(&self) -> &str {
        &self.lander_id
    }

    /// Maps a submission into a lead. When several rules feed one lead field, the first
    /// non-blank value wins; a blank required field is an error.
    pub fn map(&self, sub: &Submission) -> Result<LeadRow, MappingError> {
        let mut fields = Map::new();
        for rule in &self.rules {
            if fields.contains_key(&rule.column) {
                continue;
            }
            if let Some(text) = sub.fields.get(&rule.field_id).and_then(|v| extract(v, rule.subfield.as_deref())) {
                fields.insert(rule.column.clone(), Value::String(text));
            }
        }
        for rule in &self.rules {
            if rule.required && !fields.contains_key(&rule.column) {
                return Err(missing(rule, sub));
            }
        }
        // The fields no rule reads are kept as they came, under their own key.
        for (key, value) in &sub.fields {
            let mapped = self.rules.iter().any(|r| &r.field_id == key);
            if !mapped && !fields.contains_key(key) && !value.is_null() {
                fields.insert(key.clone(), value.clone());
            }
        }
        let submitted_at = submission_time(sub, self.time_zone)?;
        let core = core_values(&fields);
        Ok(LeadRow {
            lander_id: self.lander_id.clone(),
            source_id: sub.submission_id.clone(),
            submitted_at,
            fields,
            core,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use serde_json::json;

    fn rule(field: &str, sub: Option<&str>, name: &str, required: bool) -> FieldRule {
        FieldRule { field_id: field.into(), subfield: sub.map(Into::into), column: name.into(), required }
    }

    fn submission(fields: Value, ts: Option<&str>) -> Submission {
        Submission {
            form_id: "9".into(),
            submission_id: "77".into(),
            timestamp: ts.map(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").unwrap()),
            fields: serde_json::from_value(fields).unwrap(),
        }
    }

    fn mapping() -> LeadMapping {
        LeadMapping::new(
            "9",
            "slip-lp",
            "America/Chicago",
            vec![
                rule("201", Some("first"), "first_name", true),
                rule("201", Some("last"), "last_name", false),
                rule("202", None, "email", false),
                rule("203", None, "phone", true),
                rule("204", None, "details", false),
                rule("205", None, "details", false),
            ],
        )
        .unwrap()
    }

    #[test]
    fn maps_named_fields_keeps_the_rest_and_types_the_core() {
        let sub = submission(
            json!({"201": "first = Dana\nlast = Ruiz", "202": "", "203": "555-010-3344", "205": "Slipped in aisle 4",
                   "206": ["Yes", "Medical bills"], "207": null}),
            Some("2026-03-08 01:30:00"),
        );
        let lead = mapping().map(&sub).unwrap();
        assert_eq!(lead.lander_id, "slip-lp");
        assert_eq!(lead.source_id, "77");
        assert_eq!(lead.submitted_at.unwrap().to_rfc3339(), "2026-03-08T07:30:00+00:00");
        assert_eq!(
            Value::Object(lead.fields.clone()),
            json!({"first_name": "Dana", "last_name": "Ruiz", "phone": "555-010-3344", "details": "Slipped in aisle 4",
                   "206": ["Yes", "Medical bills"]}),
            "blank values are left out, the second rule of a field fills it, unmapped fields keep their key"
        );
        assert_eq!(
            lead.core,
            [Some("Dana".into()), Some("Ruiz".into()), None, Some("555-010-3344".into())],
            "a blank e-mail is no e-mail"
        );
    }

    #[test]
    fn blank_required_fields_gaps_and_bad_names_are_errors() {
        let missing = submission(json!({"201": "first = Dana", "203": "  "}), None);
        assert_eq!(
            mapping().map(&missing),
            Err(MappingError::Required { field_id: "203".into(), column: "phone".into() })
        );
        let gap = submission(json!({"201": "first = A", "203": "1"}), Some("2026-03-08 02:30:00"));
        assert!(matches!(mapping().map(&gap), Err(MappingError::Timestamp(..))), "02:30 does not exist that night");
        for bad in ["", " phone", "a\nb"] {
            assert!(
                matches!(
                    LeadMapping::new("9", "x", "UTC", vec![rule("1", None, bad, false)]),
                    Err(ConfigError::LeadFieldName { .. })
                ),
                "{bad:?}"
            );
        }
        let all_kept = LeadMapping::new("9", "x", "UTC", vec![]).unwrap();
        let lead = all_kept.map(&submission(json!({"1": "v", "email": "e@x.org"}), None)).unwrap();
        assert_eq!(lead.core[2].as_deref(), Some("e@x.org"), "an empty map keeps every field; core still read");
    }
}
