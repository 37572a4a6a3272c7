//! One small adapter per vendor: default endpoint, default rules, body shape and content type,
//! and the success test. Facts and their sources: `docs/vendors.md`. Response bodies of
//! Captorra and ICE are unknown (reference §1, §2): any 2xx is success, the body is stored
//! whole, and a `LeadId` is read when the body happens to carry one.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::config::Rules;

/// A parser type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    /// Captorra API posting.
    Captorra,
    /// ICE (Intake Conversion Expert) API posting.
    Ice,
    /// Captorra call tracking.
    CaptorraCalltracking,
    /// IntakeDesk: a per-campaign posting spec, treated as a configurable JSON or form POST.
    Intakedesk,
    /// A client's own system: JSON or form body, custom headers, optional HMAC signature.
    Webhook,
}

impl Parser {
    /// From `leads.integration.parser`.
    pub fn parse(s: &str) -> Option<Parser> {
        Some(match s {
            "captorra" => Parser::Captorra,
            "ice" => Parser::Ice,
            "captorra_calltracking" => Parser::CaptorraCalltracking,
            "intakedesk" => Parser::Intakedesk,
            "webhook" => Parser::Webhook,
            _ => return None,
        })
    }

    /// The name in configuration and in e-mails.
    pub fn name(self) -> &'static str {
        match self {
            Parser::Captorra => "captorra",
            Parser::Ice => "ice",
            Parser::CaptorraCalltracking => "captorra_calltracking",
            Parser::Intakedesk => "intakedesk",
            Parser::Webhook => "webhook",
        }
    }
}

/// The vendor's published endpoint (reference §1, §2), if it has one.
pub fn default_endpoint(p: Parser) -> Option<&'static str> {
    match p {
        Parser::Captorra => Some("https://captorraapi.captorra.com/api/captorraapi/create"),
        Parser::Ice => Some("https://iceapi.intakeconversion.com/api/iceapi/create"),
        Parser::CaptorraCalltracking => Some("https://captrack01.captorra.com/api/captorracalltracking/create"),
        Parser::Intakedesk | Parser::Webhook => None,
    }
}

fn lengths(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The vendor's rules (reference §1, §2); an integration's `rules` override them.
pub fn default_rules(p: Parser) -> Rules {
    const CAPTORRA: &[(&str, usize)] = &[
        ("First", 50),
        ("Last", 50),
        ("Primary", 50),
        ("Secondary", 50),
        ("Email", 100),
        ("Address", 250),
        ("City", 80),
        ("State", 2),
        ("Zip", 20),
        ("County", 50),
        ("BestTime", 100),
        ("Details", 4000),
        ("Keyword", 50),
        ("ID", 100),
        ("ReferringKeyword", 50),
        ("Conversion", 300),
        ("Tracking", 4000),
    ];
    match p {
        Parser::Captorra => Rules {
            required: names(&["CaptorraId", "First", "Last", "Referrer"]),
            guid: names(&["Referrer", "Type"]),
            max_length: lengths(CAPTORRA),
            strict: false,
        },
        Parser::Ice => {
            let mut max = lengths(CAPTORRA);
            max.insert("ANI".into(), 50);
            max.insert("Language".into(), 50);
            Rules {
                required: names(&["First", "Last", "Referrer"]),
                guid: names(&["Referrer", "Type"]),
                max_length: max,
                strict: false,
            }
        }
        Parser::CaptorraCalltracking => Rules {
            required: names(&["CaptorraId"]),
            guid: Vec::new(),
            max_length: lengths(&[("Name", 100), ("ANI", 20), ("ID", 100)]),
            strict: false,
        },
        Parser::Intakedesk | Parser::Webhook => Rules::default(),
    }
}

/// How a body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

/// The body format: JSON for Captorra and ICE; `options.body` (`json` or `form`) for the others.
pub fn body_format(p: Parser, options: &Map<String, Value>) -> BodyFormat {
    match (p, options.get("body").and_then(Value::as_str)) {
        (Parser::Intakedesk | Parser::Webhook, Some("form")) => BodyFormat::Form,
        _ => BodyFormat::Json,
    }
}

/// The encoded body and its content type.
pub fn encode(format: BodyFormat, fields: &Map<String, Value>) -> (Vec<u8>, &'static str) {
    match format {
        BodyFormat::Json => (Value::Object(fields.clone()).to_string().into_bytes(), "application/json"),
        BodyFormat::Form => {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields {
                match v {
                    Value::String(t) => s.append_pair(k, t),
                    other => s.append_pair(k, &other.to_string()),
                };
            }
            (s.finish().into_bytes(), "application/x-www-form-urlencoded")
        }
    }
}

/// The vendor's lead id in a 2xx body, when it carries one (`LeadId`, `leadId`, `id`).
pub fn vendor_lead_id(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    ["LeadId", "leadId", "lead_id", "id"].iter().find_map(|k| match v.get(*k)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_and_ids() {
        let fields = json!({"First": "Ada", "Details": "a & b"}).as_object().unwrap().clone();
        let (json_body, ct) = encode(BodyFormat::Json, &fields);
        assert_eq!(
            (String::from_utf8(json_body).unwrap(), ct),
            (r#"{"Details":"a & b","First":"Ada"}"#.to_owned(), "application/json")
        );
        let (form, ct) = encode(BodyFormat::Form, &fields);
        assert_eq!(
            (String::from_utf8(form).unwrap(), ct),
            ("Details=a+%26+b&First=Ada".to_owned(), "application/x-www-form-urlencoded")
        );
        assert_eq!(vendor_lead_id(r#"{"Success":true,"LeadId":"abc"}"#).as_deref(), Some("abc"));
        assert_eq!(vendor_lead_id("OK"), None);
        let opts = json!({"body": "form"}).as_object().unwrap().clone();
        assert_eq!(body_format(Parser::Captorra, &opts), BodyFormat::Json, "Captorra is JSON whatever the options say");
        assert_eq!(body_format(Parser::Webhook, &opts), BodyFormat::Form);
    }
}
