//! One small adapter per vendor: default endpoint, default rules, body shape and content type,
//! and the success rule. Facts and their sources: `docs/vendors.md`. Captorra's answer to a
//! created lead is public (`{"success":true,"IntakeId":"…"}`): its default rule requires
//! `success` to be true. ICE's and call tracking's answers are not: any 2xx is success unless
//! the integration sets a rule. The body is stored whole.

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
    /// Every parser.
    pub const ALL: [Parser; 5] =
        [Parser::Captorra, Parser::Ice, Parser::CaptorraCalltracking, Parser::Intakedesk, Parser::Webhook];

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

/// The vendor's published endpoint (`docs/vendors.md`), if it has one.
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

/// The vendor's published rules (`docs/vendors.md`); an integration's `rules` override them.
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
            // Sent as text by Captorra's own plugin, and accepted (docs/vendors.md).
            integer: Vec::new(),
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
                integer: Vec::new(),
                max_length: max,
                strict: false,
            }
        }
        Parser::CaptorraCalltracking => Rules {
            required: names(&["CaptorraId"]),
            guid: Vec::new(),
            // "CaptorraId … integer" (Captorra's call-tracking posting page).
            integer: names(&["CaptorraId"]),
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

/// What a 2xx answer must show to count as delivered; a body that fails it is `rejected` with
/// the body kept. From the integration's `options.success`:
/// `{"pointer": "/success", "equals": true}` (the pointer must hold that value),
/// `{"pointer": "/IntakeId"}` (it must hold a value: not null, false or blank), and/or
/// `{"body_must_not_contain": "error"}` (case-insensitive). Object keys along a pointer match
/// exactly, else ignoring case (`/success` reads `Success` too).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SuccessRule {
    /// JSON pointer into the answer.
    pub pointer: Option<String>,
    /// The value the pointer must hold (else any value).
    pub equals: Option<Value>,
    /// Text the body must not contain.
    pub body_must_not_contain: Option<String>,
}

impl SuccessRule {
    /// The integration's rule, else the vendor's default (`None`: any 2xx is success).
    pub fn of(parser: Parser, options: &Map<String, Value>) -> Result<Option<SuccessRule>, String> {
        let Some(given) = options.get("success") else {
            return Ok(match parser {
                // Captorra's plugin shows {"success":true,"IntakeId":"…"} for a created lead.
                Parser::Captorra => Some(SuccessRule {
                    pointer: Some("/success".into()),
                    equals: Some(Value::Bool(true)),
                    ..Default::default()
                }),
                _ => None,
            });
        };
        let o = given.as_object().ok_or("options.success must be an object")?;
        for k in o.keys() {
            if !["pointer", "equals", "body_must_not_contain"].contains(&k.as_str()) {
                return Err(format!("options.success: unknown key {k:?} (pointer, equals, body_must_not_contain)"));
            }
        }
        let text = |k: &str| match o.get(k) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(format!("options.success.{k} must be non-empty text")),
        };
        let rule = SuccessRule {
            pointer: text("pointer")?,
            equals: o.get("equals").cloned(),
            body_must_not_contain: text("body_must_not_contain")?,
        };
        if rule.pointer.as_deref().is_some_and(|p| !p.starts_with('/')) {
            return Err("options.success.pointer must be a JSON pointer (starting with /)".into());
        }
        if rule.equals.is_some() && rule.pointer.is_none() {
            return Err("options.success.equals needs a pointer".into());
        }
        if rule.pointer.is_none() && rule.body_must_not_contain.is_none() {
            return Err("options.success needs a pointer or body_must_not_contain".into());
        }
        Ok(Some(rule))
    }

    /// Whether `body` passes; `Err` says why not.
    pub fn check(&self, body: &str) -> Result<(), String> {
        if let Some(bad) = &self.body_must_not_contain
            && body.to_lowercase().contains(&bad.to_lowercase())
        {
            return Err(format!("the answer contains {bad:?}"));
        }
        let Some(pointer) = &self.pointer else { return Ok(()) };
        let v: Value =
            serde_json::from_str(body).map_err(|_| format!("the answer is not JSON, so {pointer} cannot be read"))?;
        let found = lookup(&v, pointer);
        match (&self.equals, found) {
            (Some(want), Some(got)) if got == want => Ok(()),
            (Some(want), got) => {
                Err(format!("{pointer} is {} (must be {want})", got.map_or("absent".into(), Value::to_string)))
            }
            (None, Some(got))
                if !matches!(got, Value::Null | Value::Bool(false))
                    && got.as_str().is_none_or(|s| !s.trim().is_empty()) =>
            {
                Ok(())
            }
            (None, got) => Err(format!("{pointer} holds no value ({})", got.map_or("absent".into(), Value::to_string))),
        }
    }
}

/// A JSON pointer's value, object keys matched exactly or else ignoring case.
fn lookup<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    pointer.split('/').skip(1).map(|t| t.replace("~1", "/").replace("~0", "~")).try_fold(v, |at, token| match at {
        Value::Object(o) => {
            o.get(&token).or_else(|| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(&token)).map(|(_, v)| v))
        }
        Value::Array(a) => a.get(token.parse::<usize>().ok()?),
        _ => None,
    })
}

/// The vendor's lead id in a 2xx body, when it carries one (`IntakeId`, `LeadId`, `id`).
pub fn vendor_lead_id(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    ["IntakeId", "LeadId", "leadId", "lead_id", "id"].iter().find_map(|k| match v.get(*k)? {
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
        let captorra = include_str!("../../../tests/fixtures/vendors/leads/captorra-create.success.response.json");
        assert_eq!(vendor_lead_id(captorra).as_deref(), Some("8442895a-d55f-ea11-a2d8-00505692291d"));
        assert_eq!(vendor_lead_id("OK"), None);
        let opts = json!({"body": "form"}).as_object().unwrap().clone();
        assert_eq!(body_format(Parser::Captorra, &opts), BodyFormat::Json, "Captorra is JSON whatever the options say");
        assert_eq!(body_format(Parser::Webhook, &opts), BodyFormat::Form);
    }

    #[test]
    fn success_rules_from_the_vendor_or_the_integration() {
        let none = Map::new();
        let captorra = SuccessRule::of(Parser::Captorra, &none).unwrap().unwrap();
        let ok = include_str!("../../../tests/fixtures/vendors/leads/captorra-create.success.response.json");
        let failed =
            include_str!("../../../tests/fixtures/vendors/leads/captorra-create.failure.response.from-evidence.json");
        assert_eq!(captorra.check(ok), Ok(()));
        assert_eq!(captorra.check(r#"{"Success":true}"#), Ok(()), "keys ignore case");
        assert_eq!(captorra.check(failed).unwrap_err(), "/success is false (must be true)");
        assert!(captorra.check("OK").unwrap_err().contains("not JSON"));
        assert_eq!(SuccessRule::of(Parser::Ice, &none).unwrap(), None, "ICE's answer is not public: any 2xx");
        let opts = |v: Value| v.as_object().unwrap().clone();
        let id = SuccessRule::of(Parser::Webhook, &opts(json!({"success": {"pointer": "/data/id"}}))).unwrap().unwrap();
        assert_eq!(id.check(r#"{"data":{"id":7}}"#), Ok(()));
        assert!(id.check(r#"{"data":{"id":""}}"#).unwrap_err().contains("holds no value"));
        let text = SuccessRule::of(Parser::Intakedesk, &opts(json!({"success": {"body_must_not_contain": "ERROR"}})))
            .unwrap()
            .unwrap();
        assert!(text.check("Lead rejected: error 12").is_err());
        assert_eq!(text.check("accepted"), Ok(()));
        for bad in
            [json!("x"), json!({"pointer": "success"}), json!({"equals": true}), json!({"pointr": "/a"}), json!({})]
        {
            assert!(SuccessRule::of(Parser::Webhook, &opts(json!({"success": bad.clone()}))).is_err(), "{bad}");
        }
    }
}
