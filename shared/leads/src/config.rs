//! An integration as data: the parser type, the endpoint, the field mapping (lead field → vendor
//! field, with transforms), constants, the vendor's rules and options; and what is still missing
//! before it can deliver (its state).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::vendors::{self, Parser};

/// Whether an integration can deliver (`leads.integration.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Something it needs is missing: its leads wait.
    AwaitingInformation,
    /// Complete, no real lead delivered yet.
    Ready,
    /// A real lead was delivered.
    Live,
}

impl State {
    /// Its name in the warehouse.
    pub fn as_str(self) -> &'static str {
        match self {
            State::AwaitingInformation => "awaiting_information",
            State::Ready => "ready",
            State::Live => "live",
        }
    }

    /// The state of its name.
    pub fn parse(name: &str) -> Option<State> {
        [State::AwaitingInformation, State::Ready, State::Live].into_iter().find(|s| s.as_str() == name)
    }

    /// The state a refresh gives an integration: awaiting information while something is
    /// missing; a live one stays live; else ready.
    pub fn refreshed(self, complete: bool) -> State {
        match (complete, self) {
            (false, _) => State::AwaitingInformation,
            (true, State::Live) => State::Live,
            (true, _) => State::Ready,
        }
    }

    /// Whether its leads go out.
    pub fn delivers(self) -> bool {
        self != State::AwaitingInformation
    }
}

/// One integration, as configured in `leads.integration`.
#[derive(Debug, Clone)]
pub struct Integration {
    /// Id.
    pub id: String,
    /// Lander.
    pub lander_id: String,
    /// Client.
    pub client_id: String,
    /// Parser type.
    pub parser: Parser,
    /// Endpoint (the vendor's default when empty).
    pub endpoint: Option<String>,
    /// Secret with credentials (webhook headers or signature key).
    pub secret_id: Option<String>,
    /// Vendor field → how to fill it.
    pub mapping: BTreeMap<String, FieldSource>,
    /// Vendor field → constant value (`CaptorraId`, `Referrer`, `Type`, …).
    pub constants: Map<String, Value>,
    /// The vendor's rules with this integration's overrides.
    pub rules: Rules,
    /// Parser options (webhook body format, headers, signature).
    pub options: Map<String, Value>,
    /// The client's contact e-mail.
    pub contact_email: Option<String>,
    /// Whether it can deliver.
    pub state: State,
}

/// How a vendor field is filled from a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSource {
    /// Lead field (`first_name`, `phone`, or any field of the lead's `fields`).
    pub field: String,
    /// Transforms in order: `trim`, `digits`, `upper`, `lower`, `title`, `date:<strftime>`.
    pub transforms: Vec<String>,
}

/// Required fields, GUID fields, maximum lengths (characters), strictness.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// Vendor fields that must be present and non-empty.
    pub required: Vec<String>,
    /// Vendor fields that must be GUIDs when present.
    pub guid: Vec<String>,
    /// Vendor fields sent as JSON integers (digits given as text are converted; anything else
    /// refuses the lead).
    pub integer: Vec<String>,
    /// Vendor field → maximum length in characters.
    pub max_length: BTreeMap<String, usize>,
    /// Over-long values refuse the lead (strict) or are truncated with a warning (lenient).
    pub strict: bool,
}

/// A configuration that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("integration {id}: {message}")]
pub struct ConfigError {
    /// Integration id.
    pub id: String,
    /// What is wrong.
    pub message: String,
}

impl Integration {
    /// Reads a row's JSON columns; an unknown transform or a malformed entry is refused.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        id: String,
        lander_id: String,
        client_id: String,
        parser: &str,
        endpoint: Option<String>,
        secret_id: Option<String>,
        mapping: &Value,
        constants: &Value,
        rules: &Value,
        options: &Value,
        contact_email: Option<String>,
        state: String,
    ) -> Result<Integration, ConfigError> {
        let err = |message: String| ConfigError { id: id.clone(), message };
        let parser = Parser::parse(parser).ok_or_else(|| err(format!("unknown parser {parser:?}")))?;
        let state = State::parse(&state).ok_or_else(|| err(format!("unknown state {state:?}")))?;
        let mut map = BTreeMap::new();
        for (vendor_field, spec) in mapping.as_object().into_iter().flatten() {
            let source = match spec {
                Value::String(f) => FieldSource { field: f.clone(), transforms: Vec::new() },
                Value::Object(o) => {
                    let field = o
                        .get("field")
                        .and_then(Value::as_str)
                        .ok_or_else(|| err(format!("mapping of {vendor_field} has no \"field\"")))?;
                    let transforms: Vec<String> = match o.get("transform") {
                        None => Vec::new(),
                        Some(Value::String(t)) => vec![t.clone()],
                        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                        Some(_) => {
                            return Err(err(format!("mapping of {vendor_field}: transform must be text or a list")));
                        }
                    };
                    for t in &transforms {
                        if !platform_domain::transform::is_known(t) {
                            return Err(err(format!(
                                "mapping of {vendor_field}: unknown transform {t:?} ({})",
                                platform_domain::transform::KNOWN
                            )));
                        }
                    }
                    FieldSource { field: field.to_owned(), transforms }
                }
                _ => {
                    return Err(err(format!(
                        "mapping of {vendor_field} must be a field name or {{\"field\", \"transform\"}}"
                    )));
                }
            };
            map.insert(vendor_field.clone(), source);
        }
        let mut r = vendors::default_rules(parser);
        if let Some(o) = rules.as_object() {
            let list = |k: &str| -> Option<Vec<String>> {
                o.get(k)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            };
            if let Some(v) = list("required") {
                r.required = v;
            }
            if let Some(v) = list("guid") {
                r.guid = v;
            }
            if let Some(v) = list("integer") {
                r.integer = v;
            }
            if let Some(m) = o.get("max_length").and_then(Value::as_object) {
                for (k, v) in m {
                    let n = v.as_u64().ok_or_else(|| err(format!("max_length of {k} must be a number")))?;
                    r.max_length.insert(k.clone(), n as usize);
                }
            }
            if let Some(s) = o.get("strict").and_then(Value::as_bool) {
                r.strict = s;
            }
        }
        let options = options.as_object().cloned().unwrap_or_default();
        vendors::SuccessRule::of(parser, &options).map_err(err)?;
        Ok(Integration {
            id,
            lander_id,
            client_id,
            parser,
            endpoint: endpoint.filter(|e| !e.trim().is_empty()),
            secret_id: secret_id.filter(|s| !s.trim().is_empty()),
            mapping: map,
            constants: constants.as_object().cloned().unwrap_or_default(),
            rules: r,
            options,
            contact_email: contact_email.filter(|e| !e.trim().is_empty()),
            state,
        })
    }

    /// What must still be configured before a lead can be delivered (empty: ready).
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.endpoint.is_none() && vendors::default_endpoint(self.parser).is_none() {
            missing.push("endpoint".to_owned());
        }
        for f in &self.rules.required {
            if !self.mapping.contains_key(f) && !self.constants.contains_key(f) {
                missing.push(format!("a mapping or constant for {f}"));
            }
        }
        for f in &self.rules.guid {
            if let Some(v) = self.constants.get(f).and_then(Value::as_str)
                && !is_guid(v)
            {
                missing.push(format!("{f} must be a GUID (is {v:?})"));
            }
        }
        for f in &self.rules.integer {
            if let Some(v) = self.constants.get(f)
                && crate::shape::integer(v).is_none()
            {
                missing.push(format!("{f} must be an integer (is {v})"));
            }
        }
        if self.options.get("signature").is_some() && self.secret_id.is_none() {
            missing.push("secret_id (the signature key)".to_owned());
        }
        if self.contact_email.is_none() {
            missing.push("the client's contact e-mail".to_owned());
        }
        missing
    }
}

/// Whether `s` is a GUID (`8-4-4-4-12` hex digits, optionally in braces).
pub fn is_guid(s: &str) -> bool {
    let s = s.trim().trim_start_matches('{').trim_end_matches('}');
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn integration(parser: &str, mapping: Value, constants: Value) -> Result<Integration, ConfigError> {
        Integration::from_parts(
            "i1".into(),
            "l1".into(),
            "c1".into(),
            parser,
            None,
            None,
            &mapping,
            &constants,
            &json!({}),
            &json!({}),
            Some("ops@client.example".into()),
            "ready".into(),
        )
    }

    #[test]
    fn missing_information_is_named() {
        let i = integration("captorra", json!({"First": "first_name"}), json!({"Referrer": "not-a-guid"})).unwrap();
        let missing = i.missing();
        assert!(missing.contains(&"a mapping or constant for CaptorraId".to_owned()), "{missing:?}");
        assert!(missing.contains(&"a mapping or constant for Last".to_owned()), "{missing:?}");
        assert!(missing.iter().any(|m| m.starts_with("Referrer must be a GUID")), "{missing:?}");
        let ok = integration(
            "captorra",
            json!({"First": "first_name", "Last": "last_name"}),
            json!({"CaptorraId": "123456", "Referrer": "6F9619FF-8B86-D011-B42D-00C04FC964FF"}),
        )
        .unwrap();
        assert!(ok.missing().is_empty(), "{:?}", ok.missing());
        let webhook = integration("webhook", json!({}), json!({})).unwrap();
        assert_eq!(webhook.missing(), ["endpoint"]);
    }

    #[test]
    fn bad_configuration_is_refused_clearly() {
        let e = integration("captorra", json!({"First": {"field": "first_name", "transform": "shout"}}), json!({}))
            .unwrap_err();
        assert!(e.message.contains("unknown transform \"shout\""), "{e}");
        assert!(integration("fax", json!({}), json!({})).unwrap_err().message.contains("unknown parser"));
    }

    #[test]
    fn guids() {
        assert!(is_guid("6F9619FF-8B86-D011-B42D-00C04FC964FF"));
        assert!(is_guid("{6f9619ff-8b86-d011-b42d-00c04fc964ff}"));
        assert!(!is_guid("6F9619FF8B86D011B42D00C04FC964FF"));
        assert!(!is_guid("6F9619FF-8B86-D011-B42D-00C04FC964FG"));
    }
}
