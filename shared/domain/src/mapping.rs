//! A form's mapping from Formstack field ids (and sub-fields) to `exchange_registration` columns,
//! and the conversion of one submission into one registration row.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::submission::Submission;

/// Type of a mappable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// `text`: kept as typed; blank becomes NULL.
    Text,
    /// `numeric`: currency symbols, spaces and thousands separators are removed.
    Numeric,
    /// `integer`.
    Integer,
}

/// Columns of `conferences_events.exchange_registration` that a form may feed, with their types.
///
/// Left out on purpose: ids and timestamps (set by intake), staff and sync columns
/// (`approval_status`, `meetmax_id`, …), and card data (`name_on_card`, `credit_card_info`),
/// which the platform never writes.
pub const MAPPABLE_COLUMNS: &[(&str, ColumnKind)] = &[
    ("first_name", ColumnKind::Text),
    ("last_name", ColumnKind::Text),
    ("organization", ColumnKind::Text),
    ("title", ColumnKind::Text),
    ("email", ColumnKind::Text),
    ("phone", ColumnKind::Text),
    ("registration_type", ColumnKind::Text),
    ("small_business_number", ColumnKind::Text),
    ("current_nvp_supplier", ColumnKind::Text),
    ("first_exchange_org", ColumnKind::Text),
    ("first_exchange_person", ColumnKind::Text),
    ("address", ColumnKind::Text),
    ("suite", ColumnKind::Text),
    ("address_city", ColumnKind::Text),
    ("address_state", ColumnKind::Text),
    ("address_zip", ColumnKind::Text),
    ("hear_about_exchange", ColumnKind::Text),
    ("one_one", ColumnKind::Text),
    ("time_zone", ColumnKind::Text),
    ("profile", ColumnKind::Text),
    ("headshot", ColumnKind::Text),
    ("industries", ColumnKind::Text),
    ("other_industries", ColumnKind::Text),
    ("supplier_registration_fee", ColumnKind::Numeric),
    ("small_business_registration_fee", ColumnKind::Numeric),
    ("discount_code", ColumnKind::Text),
    ("total_price", ColumnKind::Numeric),
    ("payment_method", ColumnKind::Text),
    ("billing_address", ColumnKind::Text),
    ("agreement", ColumnKind::Text),
    ("registration_status", ColumnKind::Text),
    ("supplier_registration_quantity", ColumnKind::Integer),
    ("small_business_registration_quantity", ColumnKind::Integer),
    ("state_organization", ColumnKind::Text),
    ("meetings", ColumnKind::Integer),
    ("thumbnail_image", ColumnKind::Text),
];

/// Looks a mappable column up by name.
pub fn column_kind(name: &str) -> Option<ColumnKind> {
    MAPPABLE_COLUMNS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// One row of a form's field map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule {
    /// Formstack field id (or the key the webhook uses).
    pub field_id: String,
    /// Sub-field of a compound field (`first`, `last`, `city`, …), if any.
    pub subfield: Option<String>,
    /// Target column.
    pub column: String,
    /// A blank value makes the submission a mapping error.
    pub required: bool,
}

/// Why a form's configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The target column is not mappable (unknown, or one the platform never writes).
    #[error("field {field_id}: column {column:?} is not a mappable exchange_registration column")]
    UnknownColumn {
        /// The field.
        field_id: String,
        /// The column named.
        column: String,
    },
    /// The time zone is not an IANA name.
    #[error("time zone {0:?} is not an IANA time zone name")]
    TimeZone(String),
    /// The map is empty.
    #[error("the form has no field mappings")]
    Empty,
    /// A lander form maps a field to a name that cannot be a lead field.
    #[error("field {field_id}: {name:?} is not a lead field name (1 to 100 characters, no surrounding spaces)")]
    LeadFieldName {
        /// The field.
        field_id: String,
        /// The name given.
        name: String,
    },
    /// The form's flow is `lander`, but no enabled lander names it.
    #[error("form {0} feeds the lander flow, but no enabled leads.lander has formstack_form_id = '{0}'")]
    NoLander(String),
    /// A flow this code does not know.
    #[error("flow {0:?} is not one this platform maps (registration, lander)")]
    UnknownFlow(String),
}

/// Why one submission could not become a registration row. Stored next to the raw submission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// The form's mapping itself is broken.
    #[error("form configuration: {0}")]
    Config(#[from] ConfigError),
    /// The form is not configured for intake.
    #[error("form {0} is not configured (no row in integration.form_config, or disabled)")]
    UnknownForm(String),
    /// A required field is blank.
    #[error("required field {field_id} ({column}) is blank")]
    Required {
        /// The field.
        field_id: String,
        /// Its column.
        column: String,
    },
    /// A required sub-field cannot be read because the field arrived without sub-field names.
    #[error(
        "required field {field_id} ({column}) arrived without sub-field names, so its '{subfield}' part cannot be read: \
         turn on \"Post with sub-field names\" in the Formstack webhook's settings"
    )]
    NoSubfieldNames {
        /// The field.
        field_id: String,
        /// Its column.
        column: String,
        /// The sub-field the rule reads.
        subfield: String,
    },
    /// A value does not fit its column's type.
    #[error("field {field_id} ({column}): {value:?} is not a valid {kind}")]
    BadValue {
        /// The field.
        field_id: String,
        /// Its column.
        column: String,
        /// The value (truncated).
        value: String,
        /// `number` or `integer`.
        kind: &'static str,
    },
    /// The naive timestamp does not exist in the account time zone (a DST gap).
    #[error("timestamp {0} does not exist in time zone {1}")]
    Timestamp(NaiveDateTime, Tz),
}

/// A validated field map of one form.
#[derive(Debug, Clone)]
pub struct FormMapping {
    form_id: String,
    time_zone: Tz,
    rules: Vec<FieldRule>,
    columns: Vec<&'static str>,
    /// Per rule: its column's index in `columns` and its kind.
    targets: Vec<(usize, ColumnKind)>,
}

/// A form's mapping, by the flow the form feeds (`integration.form_config.flow`).
#[derive(Debug, Clone)]
pub enum FlowMapping {
    /// A registration form: rows of `exchange_registration`.
    Registration(FormMapping),
    /// A lander form: leads of `leads.lead`.
    Lander(crate::lead::LeadMapping),
}

/// One `exchange_registration` row produced from a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationRow {
    /// The submission id.
    pub registration_id: String,
    /// The form id.
    pub form_id: String,
    /// Submission time, when the source carries it.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Values for [`FormMapping::columns`], in that order, normalised as text (NULL = `None`).
    pub values: Vec<Option<String>>,
}

impl FormMapping {
    /// Validates a form's rules and time zone.
    pub fn new(form_id: &str, time_zone: &str, rules: Vec<FieldRule>) -> Result<FormMapping, ConfigError> {
        let time_zone: Tz = time_zone.parse().map_err(|_| ConfigError::TimeZone(time_zone.to_owned()))?;
        if rules.is_empty() {
            return Err(ConfigError::Empty);
        }
        let mut columns: Vec<&'static str> = Vec::new();
        let mut targets = Vec::with_capacity(rules.len());
        for rule in &rules {
            let (name, kind) = MAPPABLE_COLUMNS.iter().find(|(n, _)| *n == rule.column).ok_or_else(|| {
                ConfigError::UnknownColumn { field_id: rule.field_id.clone(), column: rule.column.clone() }
            })?;
            let index = match columns.iter().position(|c| c == name) {
                Some(i) => i,
                None => {
                    columns.push(name);
                    columns.len() - 1
                }
            };
            targets.push((index, *kind));
        }
        Ok(FormMapping { form_id: form_id.to_owned(), time_zone, rules, columns, targets })
    }

    /// The form this mapping belongs to.
    pub fn form_id(&self) -> &str {
        &self.form_id
    }

    /// The columns this form writes, in a fixed order (the order of [`RegistrationRow::values`]).
    pub fn columns(&self) -> &[&'static str] {
        &self.columns
    }

    /// Maps a submission. When several rules feed one column, the first non-blank value wins.
    pub fn map(&self, sub: &Submission) -> Result<RegistrationRow, MappingError> {
        let mut values: Vec<Option<String>> = vec![None; self.columns.len()];
        for (rule, &(index, kind)) in self.rules.iter().zip(&self.targets) {
            if values[index].is_some() {
                continue;
            }
            let Some(text) = sub.fields.get(&rule.field_id).and_then(|v| extract(v, rule.subfield.as_deref())) else {
                continue;
            };
            values[index] = Some(normalise(text, kind).map_err(|(text, kind_name)| MappingError::BadValue {
                field_id: rule.field_id.clone(),
                column: rule.column.clone(),
                value: text.chars().take(60).collect(),
                kind: kind_name,
            })?);
        }
        for (rule, &(index, _)) in self.rules.iter().zip(&self.targets) {
            if rule.required && values[index].is_none() {
                return Err(missing(rule, sub));
            }
        }
        let submitted_at = submission_time(sub, self.time_zone)?;
        Ok(RegistrationRow {
            registration_id: sub.submission_id.clone(),
            form_id: sub.form_id.clone(),
            submitted_at,
            values,
        })
    }
}

/// A submission's time as an instant: its naive timestamp read in the account's time zone (the
/// earlier of an ambiguous hour; a time that does not exist that night is an error).
pub(crate) fn submission_time(sub: &Submission, tz: Tz) -> Result<Option<DateTime<Utc>>, MappingError> {
    match sub.timestamp {
        Some(ts) => {
            Ok(Some(tz.from_local_datetime(&ts).earliest().ok_or(MappingError::Timestamp(ts, tz))?.with_timezone(&Utc)))
        }
        None => Ok(None),
    }
}

/// The error for a required rule that found no value: the webhook setting named when the field
/// came as one flat value and the rule reads a part of it.
pub(crate) fn missing(rule: &FieldRule, sub: &Submission) -> MappingError {
    match (&rule.subfield, sub.fields.get(&rule.field_id)) {
        (Some(part), Some(Value::String(s))) if !s.trim().is_empty() && !has_subfield_lines(s) => {
            MappingError::NoSubfieldNames {
                field_id: rule.field_id.clone(),
                column: rule.column.clone(),
                subfield: part.clone(),
            }
        }
        _ => MappingError::Required { field_id: rule.field_id.clone(), column: rule.column.clone() },
    }
}

/// A field value as text, or one sub-field of a compound value. Blank → `None`. A Name sent
/// without sub-field names (`Jane Smith`) gives its first word as `first` and the rest as `last`,
/// as public Formstack clients split it.
pub(crate) fn extract(value: &Value, subfield: Option<&str>) -> Option<String> {
    let text = match (value, subfield) {
        (Value::Object(obj), Some(sub)) => {
            obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(sub)).and_then(|(_, v)| scalar_text(v))
        }
        (Value::String(s), Some(sub)) if !has_subfield_lines(s) => flat_name_part(s, sub),
        (Value::String(s), Some(sub)) => compound_line(s, sub),
        (_, Some(_)) => None,
        (v, None) => scalar_text(v),
    }?;
    if text.trim().is_empty() { None } else { Some(text) }
}

/// Text of a scalar, a multi-select array (one value per line) or a compound object (`k = v` lines).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(scalar_text).collect();
            Some(parts.join("\n"))
        }
        Value::Object(obj) => {
            let parts: Vec<String> =
                obj.iter().filter_map(|(k, v)| scalar_text(v).map(|t| format!("{k} = {t}"))).collect();
            Some(parts.join("\n"))
        }
    }
}

/// Whether a string is a compound value of `key = value` lines (`first = Jane\nlast = Doe`).
fn has_subfield_lines(s: &str) -> bool {
    s.lines().any(|l| l.split_once('=').is_some_and(|(k, _)| !k.trim().is_empty() && !k.trim().contains(' ')))
}

/// `first` or `last` of a Name that arrived as one flat value (`Jane Smith`); other parts are
/// not recoverable and give `None`.
fn flat_name_part(s: &str, sub: &str) -> Option<String> {
    let s = s.trim();
    let (first, last) = s.split_once(char::is_whitespace).map_or((s, ""), |(f, l)| (f, l.trim()));
    match sub.to_ascii_lowercase().as_str() {
        "first" => Some(first.to_owned()),
        "last" => Some(last.to_owned()),
        _ => None,
    }
}

/// The value of `sub` in a `first = Jane\nlast = Doe` compound string.
fn compound_line(s: &str, sub: &str) -> Option<String> {
    s.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        k.trim().eq_ignore_ascii_case(sub).then(|| v.trim().to_owned())
    })
}

/// Normalises a value for its column kind; the error returns the value and names the kind.
fn normalise(text: String, kind: ColumnKind) -> Result<String, (String, &'static str)> {
    match kind {
        ColumnKind::Text => Ok(text),
        ColumnKind::Numeric => {
            let cleaned: String = text.chars().filter(|c| !matches!(c, '$' | ',' | ' ' | '\u{a0}')).collect();
            let digits = cleaned.strip_prefix('-').unwrap_or(&cleaned);
            let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
            let ok = !int.is_empty()
                && int.len() <= 15
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.len() <= 6
                && frac.bytes().all(|b| b.is_ascii_digit());
            if ok { Ok(cleaned) } else { Err((text, "number")) }
        }
        ColumnKind::Integer => match text.trim().parse::<i32>() {
            Ok(n) => Ok(n.to_string()),
            Err(_) => Err((text, "integer")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(field: &str, sub: Option<&str>, column: &str, required: bool) -> FieldRule {
        FieldRule { field_id: field.into(), subfield: sub.map(Into::into), column: column.into(), required }
    }

    fn mapping() -> FormMapping {
        FormMapping::new(
            "1",
            "America/New_York",
            vec![
                rule("10", Some("first"), "first_name", true),
                rule("10", Some("last"), "last_name", true),
                rule("11", None, "email", true),
                rule("12", None, "total_price", false),
                rule("13", None, "meetings", false),
                rule("14", None, "industries", false),
                rule("15", None, "organization", false),
                rule("16", None, "organization", false),
            ],
        )
        .unwrap()
    }

    fn submission(fields: Value, ts: Option<&str>) -> Submission {
        Submission {
            form_id: "1".into(),
            submission_id: "99".into(),
            timestamp: ts.map(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").unwrap()),
            fields: serde_json::from_value(fields).unwrap(),
        }
    }

    #[test]
    fn maps_compound_strings_objects_numbers_and_multiselects() {
        let m = mapping();
        assert_eq!(
            m.columns(),
            ["first_name", "last_name", "email", "total_price", "meetings", "industries", "organization"]
        );
        let sub = submission(
            json!({"10": "first = Jane\nlast = Doe", "11": "J@X.ORG", "12": "$1,200.50", "13": " 3 ",
                   "14": ["Cleaning, Janitorial", "IT"], "15": "  ", "16": "Acme Inc "}),
            Some("2026-01-15 09:30:00"),
        );
        let row = m.map(&sub).unwrap();
        assert_eq!(row.registration_id, "99");
        assert_eq!(row.submitted_at.unwrap().to_rfc3339(), "2026-01-15T14:30:00+00:00");
        let v: Vec<Option<&str>> = row.values.iter().map(|v| v.as_deref()).collect();
        assert_eq!(
            v,
            vec![
                Some("Jane"),
                Some("Doe"),
                Some("J@X.ORG"),
                Some("1200.50"),
                Some("3"),
                Some("Cleaning, Janitorial\nIT"),
                Some("Acme Inc ")
            ]
        );
        let obj = submission(json!({"10": {"First": "Ann", "last": "Lee"}, "11": "a@b.c"}), None);
        let row = m.map(&obj).unwrap();
        assert_eq!(row.values[0].as_deref(), Some("Ann"));
        assert_eq!(row.submitted_at, None);
        assert_eq!(row.values[6], None, "blank organisation is NULL, never an empty string");
    }

    #[test]
    fn bad_values_and_blank_required_fields_are_errors() {
        let m = mapping();
        let bad = submission(json!({"10": "first = A\nlast = B", "11": "a@b.c", "12": "ten dollars"}), None);
        assert!(matches!(m.map(&bad), Err(MappingError::BadValue { kind: "number", .. })));
        let bad_int = submission(json!({"10": "first = A\nlast = B", "11": "a@b.c", "13": "3.5"}), None);
        assert!(matches!(m.map(&bad_int), Err(MappingError::BadValue { kind: "integer", .. })));
        let missing = submission(json!({"10": "first = A", "11": "a@b.c"}), None);
        assert_eq!(m.map(&missing), Err(MappingError::Required { field_id: "10".into(), column: "last_name".into() }));
    }

    #[test]
    fn configuration_refuses_card_columns_unknown_zones_and_empty_maps() {
        let card = FormMapping::new("1", "UTC", vec![rule("1", None, "credit_card_info", false)]);
        assert!(matches!(card, Err(ConfigError::UnknownColumn { .. })));
        assert!(matches!(
            FormMapping::new("1", "Mars/Base", vec![rule("1", None, "email", false)]),
            Err(ConfigError::TimeZone(_))
        ));
        assert!(matches!(FormMapping::new("1", "UTC", vec![]), Err(ConfigError::Empty)));
    }

    #[test]
    fn a_name_without_sub_field_names_is_split_and_other_parts_name_the_setting() {
        let m = FormMapping::new(
            "1",
            "UTC",
            vec![
                rule("10", Some("first"), "first_name", true),
                rule("10", Some("last"), "last_name", true),
                rule("11", None, "email", true),
                rule("12", Some("city"), "organization", true),
            ],
        )
        .unwrap();
        let flat =
            submission(json!({"10": "Mary Ann  van Dyke", "11": "m@x.org", "12": "first = x\ncity = Lex"}), None);
        let row = m.map(&flat).unwrap();
        let col = |c: &str| row.values[m.columns().iter().position(|x| *x == c).unwrap()].clone();
        assert_eq!((col("first_name"), col("last_name")), (Some("Mary".into()), Some("Ann  van Dyke".into())));
        let no_parts = submission(json!({"10": "Jane Smith", "11": "m@x.org", "12": "1 Main St Lexington"}), None);
        let err = m.map(&no_parts).unwrap_err();
        assert!(matches!(&err, MappingError::NoSubfieldNames { subfield, .. } if subfield == "city"), "{err}");
        assert!(err.to_string().contains("Post with sub-field names"), "{err}");
        let one_word = submission(json!({"10": "Cher", "11": "m@x.org", "12": "city = Lex"}), None);
        assert!(matches!(m.map(&one_word), Err(MappingError::NoSubfieldNames { .. })));
    }
}
