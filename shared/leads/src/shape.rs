//! A lead shaped for one integration: mapped fields with their transforms, constants, then the
//! vendor's rules (required, GUIDs, lengths in characters). Pure: no I/O.

use serde_json::{Map, Value};

use crate::config::{FieldSource, Integration, is_guid};

/// A lead as the shaping reads it: the typed core fields and every field it came with.
#[derive(Debug, Clone, Default)]
pub struct LeadData {
    /// The platform's lead id (sent as the vendor's `ID` when mapped as `lead_id`).
    pub id: i64,
    /// Every field, by name (core fields included under their names).
    pub fields: Map<String, Value>,
    /// A marked test lead (the go-live check): sent whatever the integration's state, and
    /// never counted as the client's first real lead.
    pub is_test: bool,
}

impl LeadData {
    fn get(&self, name: &str) -> Option<String> {
        if name == "lead_id" {
            return Some(self.id.to_string());
        }
        match self.fields.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => Some(other.to_string()),
        }
    }
}

/// The vendor's fields, and what lenient mode changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Shaped {
    /// Vendor field → value.
    pub fields: Map<String, Value>,
    /// Truncations made in lenient mode.
    pub warnings: Vec<String>,
}

/// Why a lead is not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct Invalid {
    /// The vendor field.
    pub field: String,
    /// What is wrong.
    pub why: String,
}

/// Shapes `lead` for `integration`.
pub fn shape(integration: &Integration, lead: &LeadData) -> Result<Shaped, Invalid> {
    let mut fields = Map::new();
    for (vendor_field, source) in &integration.mapping {
        if let Some(v) = value(source, lead).map_err(|why| Invalid { field: vendor_field.clone(), why })?
            && !v.is_empty()
        {
            fields.insert(vendor_field.clone(), Value::String(v));
        }
    }
    for (k, v) in &integration.constants {
        fields.insert(k.clone(), v.clone());
    }
    let rules = &integration.rules;
    for f in &rules.required {
        let present =
            fields.get(f).is_some_and(|v| !matches!(v, Value::Null) && v.as_str().is_none_or(|s| !s.trim().is_empty()));
        if !present {
            return Err(Invalid { field: f.clone(), why: "required, but the lead has no value".into() });
        }
    }
    for f in &rules.guid {
        if let Some(v) = fields.get(f).and_then(Value::as_str)
            && !is_guid(v)
        {
            return Err(Invalid { field: f.clone(), why: format!("must be a GUID, got {v:?}") });
        }
    }
    for f in &rules.integer {
        if let Some(v) = fields.get_mut(f) {
            *v = integer(v).ok_or_else(|| Invalid { field: f.clone(), why: format!("must be an integer, got {v}") })?;
        }
    }
    let mut warnings = Vec::new();
    for (f, max) in &rules.max_length {
        if let Some(Value::String(v)) = fields.get_mut(f) {
            let n = v.chars().count();
            if n > *max {
                if rules.strict {
                    return Err(Invalid { field: f.clone(), why: format!("{n} characters, at most {max} allowed") });
                }
                *v = v.chars().take(*max).collect();
                warnings.push(format!("{f} truncated from {n} to {max} characters"));
            }
        }
    }
    Ok(Shaped { fields, warnings })
}

/// `v` as a JSON integer: an integer, or digits given as text (`"432008"` → `432008`).
pub fn integer(v: &Value) -> Option<Value> {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(v.clone()),
        Value::String(s) => s.trim().parse::<i64>().ok().map(Value::from),
        _ => None,
    }
}

fn value(source: &FieldSource, lead: &LeadData) -> Result<Option<String>, String> {
    let Some(v) = lead.get(&source.field) else { return Ok(None) };
    platform_domain::transform::apply_all(&source.transforms, v).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn captorra(rules: Value) -> Integration {
        Integration::from_parts(
            "i".into(),
            "l".into(),
            "c".into(),
            "captorra",
            None,
            None,
            &json!({"First": {"field": "first_name", "transform": ["trim", "title"]}, "Last": "last_name",
                    "Primary": {"field": "phone", "transform": "digits"}, "DOB": {"field": "dob", "transform": "date:%m/%d/%Y"},
                    "ID": "lead_id", "Details": "details"}),
            &json!({"CaptorraId": "123456", "Referrer": "6F9619FF-8B86-D011-B42D-00C04FC964FF"}),
            &rules,
            &json!({}),
            Some("x@y.z".into()),
            "ready".into(),
        )
        .unwrap()
    }

    fn lead(fields: Value) -> LeadData {
        LeadData { id: 42, fields: fields.as_object().unwrap().clone(), is_test: false }
    }

    #[test]
    fn maps_transforms_and_constants() {
        let s = shape(
            &captorra(json!({})),
            &lead(json!({"first_name": "  aDA  ", "last_name": "Lovelace", "phone": "(555) 010-0199", "dob": "1815-12-10"})),
        )
        .unwrap();
        assert_eq!(
            Value::Object(s.fields),
            json!({"First": "Ada", "Last": "Lovelace", "Primary": "5550100199", "DOB": "12/10/1815", "ID": "42",
                   "CaptorraId": "123456", "Referrer": "6F9619FF-8B86-D011-B42D-00C04FC964FF"})
        );
    }

    #[test]
    fn rules_refuse_or_truncate_counting_characters() {
        let i = captorra(json!({}));
        let missing = shape(&i, &lead(json!({"first_name": "Ada", "last_name": "  "}))).unwrap_err();
        assert_eq!(missing.field, "Last");
        let long = "é".repeat(4001);
        let lenient = shape(&i, &lead(json!({"first_name": "Ada", "last_name": "L", "details": long}))).unwrap();
        assert_eq!(lenient.fields["Details"].as_str().unwrap().chars().count(), 4000);
        assert_eq!(lenient.warnings, ["Details truncated from 4001 to 4000 characters"]);
        let strict = captorra(json!({"strict": true}));
        let e = shape(&strict, &lead(json!({"first_name": "Ada", "last_name": "L", "details": "é".repeat(4001)})))
            .unwrap_err();
        assert_eq!(e.to_string(), "Details: 4001 characters, at most 4000 allowed");
        let four_thousand =
            shape(&strict, &lead(json!({"first_name": "Ada", "last_name": "L", "details": "é".repeat(4000)})));
        assert!(four_thousand.is_ok(), "4,000 two-byte characters are within 4,000 characters");
        let bad_date = shape(&i, &lead(json!({"first_name": "Ada", "last_name": "L", "dob": "tomorrow"}))).unwrap_err();
        assert_eq!(bad_date.field, "DOB");
        let calltracking = Integration::from_parts(
            "t".into(),
            "l".into(),
            "c".into(),
            "captorra_calltracking",
            None,
            None,
            &json!({"Name": "first_name"}),
            &json!({"CaptorraId": "432008"}),
            &json!({}),
            &json!({}),
            Some("x@y.z".into()),
            "ready".into(),
        )
        .unwrap();
        let sent = shape(&calltracking, &lead(json!({"first_name": "Ada"}))).unwrap();
        assert_eq!(sent.fields["CaptorraId"], json!(432008), "call tracking documents CaptorraId as an integer");
        let mut not_a_number = calltracking.clone();
        not_a_number.constants.insert("CaptorraId".into(), json!("43-2008"));
        assert_eq!(shape(&not_a_number, &lead(json!({"first_name": "A"}))).unwrap_err().field, "CaptorraId");
        assert!(not_a_number.missing().iter().any(|m| m.contains("CaptorraId must be an integer")));
        let mut bad_guid = captorra(json!({}));
        bad_guid.constants.insert("Type".into(), json!("personal injury"));
        assert_eq!(shape(&bad_guid, &lead(json!({"first_name": "A", "last_name": "B"}))).unwrap_err().field, "Type");
    }
}
