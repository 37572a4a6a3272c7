//! Formstack submissions as the platform sees them, from either way in: a webhook body
//! (urlencoded or JSON) or a record of the API v2 submission listing.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Webhook keys that are not form fields.
const FORM_ID_KEY: &str = "FormID";
const UNIQUE_ID_KEY: &str = "UniqueID";
const HANDSHAKE_KEY: &str = "HandshakeKey";

/// Format of Formstack's naive timestamps (`2022-12-22 12:56:53`).
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// One submission, normalised: ids as strings, field values keyed by field id (or label).
///
/// A field value is a JSON string, number, array (multi-select) or object (compound field);
/// sub-fields are resolved later by the form's mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Formstack form id.
    pub form_id: String,
    /// Formstack submission id (`UniqueID`); becomes `registration_id`.
    pub submission_id: String,
    /// Submission time in the account's time zone, when the source carries it (API only).
    pub timestamp: Option<NaiveDateTime>,
    /// Field values by key.
    pub fields: BTreeMap<String, Value>,
}

/// Why a body or record is not a submission. Every variant means "answer 400" for a webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmissionError {
    /// The body is not valid UTF-8.
    #[error("body is not valid UTF-8")]
    NotUtf8,
    /// The body is not parseable in its content type.
    #[error("body is not valid {format}: {detail}")]
    Unparseable {
        /// `JSON` or `urlencoded`.
        format: &'static str,
        /// The parser's message.
        detail: String,
    },
    /// A required id is absent or empty.
    #[error("{0} is missing or empty")]
    MissingId(&'static str),
    /// An id is not a plain identifier.
    #[error("{key} {value:?} is not a valid id")]
    BadId {
        /// Which id.
        key: &'static str,
        /// Its value (truncated).
        value: String,
    },
    /// The API record's timestamp is not `YYYY-MM-DD HH:MM:SS`.
    #[error("timestamp {0:?} is not YYYY-MM-DD HH:MM:SS")]
    BadTimestamp(String),
}

/// Body formats a webhook may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded` (Formstack's default).
    UrlEncoded,
}

impl BodyFormat {
    /// The format named by a `Content-Type` header; without one, sniffed from the first byte.
    pub fn detect(content_type: Option<&str>, body: &[u8]) -> BodyFormat {
        match content_type.map(|c| c.to_ascii_lowercase()) {
            Some(ct) if ct.contains("json") => BodyFormat::Json,
            Some(ct) if ct.contains("urlencoded") => BodyFormat::UrlEncoded,
            _ if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => BodyFormat::Json,
            _ => BodyFormat::UrlEncoded,
        }
    }
}

impl Submission {
    /// Parses a webhook body (raw bytes, exactly as received).
    pub fn from_webhook(body: &[u8], content_type: Option<&str>) -> Result<Submission, SubmissionError> {
        let text = std::str::from_utf8(body).map_err(|_| SubmissionError::NotUtf8)?;
        let mut map: BTreeMap<String, Value> = match BodyFormat::detect(content_type, body) {
            BodyFormat::Json => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(obj)) => obj.into_iter().collect(),
                Ok(_) => {
                    return Err(SubmissionError::Unparseable {
                        format: "JSON",
                        detail: "top level is not an object".into(),
                    });
                }
                Err(e) => return Err(SubmissionError::Unparseable { format: "JSON", detail: e.to_string() }),
            },
            BodyFormat::UrlEncoded => parse_urlencoded(text)?,
        };
        let form_id = take_id(&mut map, FORM_ID_KEY)?;
        let submission_id = take_id(&mut map, UNIQUE_ID_KEY)?;
        // The handshake key is a shared secret, not a field: never carried further.
        map.remove(HANDSHAKE_KEY);
        let fields = map.into_iter().map(|(k, v)| (k, without_field_type(v))).collect();
        Ok(Submission { form_id, submission_id, timestamp: None, fields: without_nul(fields) })
    }

    /// Parses one record of `GET /form/{id}/submission.json?data=true`.
    pub fn from_api(form_id: &str, record: &Value) -> Result<Submission, SubmissionError> {
        let submission_id = id_string(record.get("id"), "id")?;
        let timestamp = match record.get("timestamp").and_then(Value::as_str) {
            Some(ts) => Some(
                NaiveDateTime::parse_from_str(ts.trim(), TIMESTAMP_FORMAT)
                    .map_err(|_| SubmissionError::BadTimestamp(ts.chars().take(40).collect()))?,
            ),
            None => None,
        };
        let mut fields = BTreeMap::new();
        match record.get("data") {
            // `data` keyed by field id: {"123": {"field": "123", "value": ...}}
            Some(Value::Object(data)) => {
                for (key, entry) in data {
                    let value = match entry {
                        Value::Object(o) => entry_value(o).unwrap_or(entry).clone(),
                        other => other.clone(),
                    };
                    fields.insert(key.clone(), value);
                }
            }
            // an empty submission is `[]`; a single submission lists `{"field", "value"}` entries
            Some(Value::Array(items)) => {
                for item in items {
                    if let (Some(field), Some(value)) = (item.get("field"), item.as_object().and_then(entry_value)) {
                        fields.insert(id_string(Some(field), "field")?, value.clone());
                    }
                }
            }
            _ => {}
        }
        let form = record.get("form").map(|f| id_string(Some(f), "form")).transpose()?;
        Ok(Submission {
            form_id: form.unwrap_or_else(|| form_id.to_owned()),
            submission_id,
            timestamp,
            fields: without_nul(fields),
        })
    }
}

/// The value of one API data entry: `value`, else `flat_value` (tolerated: no public sample shows
/// it, see `shared/vendors/docs/formstack.md`); `None` when the entry carries neither.
fn entry_value(entry: &serde_json::Map<String, Value>) -> Option<&Value> {
    entry.get("value").or_else(|| entry.get("flat_value"))
}

/// A webhook value sent with the option "include field type", as it would be without it: JSON
/// `{"value": v, "field_type": t}` is `v` and a compound object loses its `field_type` key;
/// urlencoded `value = v\nfield_type = t` is `v` and a compound value loses its trailing
/// `field_type = t` line. Anything else is returned as it came.
fn without_field_type(value: Value) -> Value {
    match value {
        Value::Object(mut o) if o.contains_key("field_type") => {
            o.remove("field_type");
            match o.remove("value") {
                Some(v) if o.is_empty() => v,
                Some(v) => {
                    o.insert("value".into(), v);
                    Value::Object(o)
                }
                None => Value::Object(o),
            }
        }
        Value::String(s) => {
            let Some((rest, last)) = s.rsplit_once('\n') else { return Value::String(s) };
            let is_type = last.split_once('=').is_some_and(|(k, v)| {
                k.trim() == "field_type" && !v.trim().is_empty() && !v.trim().contains(char::is_whitespace)
            });
            if !is_type {
                return Value::String(s);
            }
            match rest.split_once('=') {
                Some((k, v)) if k.trim() == "value" => Value::String(v.strip_prefix(' ').unwrap_or(v).to_owned()),
                _ => Value::String(rest.to_owned()),
            }
        }
        other => other,
    }
}

/// Removes NUL characters from every key and string ([`crate::storable`]).
fn without_nul(fields: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    fields.into_iter().map(|(k, v)| (crate::storable::text(&k).into_owned(), crate::storable::json(v))).collect()
}

fn parse_urlencoded(text: &str) -> Result<BTreeMap<String, Value>, SubmissionError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || !trimmed.contains('=') {
        return Err(SubmissionError::Unparseable { format: "urlencoded", detail: "no key=value pairs".into() });
    }
    let mut map: BTreeMap<String, Value> = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(trimmed.as_bytes()) {
        // `123[]=a&123[]=b` and repeated keys: multi-select values, kept one per line
        let key = key.strip_suffix("[]").unwrap_or(&key).to_owned();
        match map.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push('\n');
                existing.push_str(&value);
            }
            _ => {
                map.insert(key, Value::String(value.into_owned()));
            }
        }
    }
    Ok(map)
}

fn take_id(map: &mut BTreeMap<String, Value>, key: &'static str) -> Result<String, SubmissionError> {
    let v = map.remove(key);
    id_string(v.as_ref(), key)
}

fn id_string(v: Option<&Value>, key: &'static str) -> Result<String, SubmissionError> {
    let s = match v {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if s.is_empty() {
        return Err(SubmissionError::MissingId(key));
    }
    if s.len() > 64 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(SubmissionError::BadId { key, value: s.chars().take(40).collect() });
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_characters_are_removed_from_every_field_in_both_ways_in() {
        let s = Submission::from_webhook(b"FormID=1&UniqueID=2&101=Ja%00ne&10%002=x", None).unwrap();
        assert_eq!(s.fields["101"], json!("Jane"));
        assert_eq!(s.fields["102"], json!("x"));
        let record = json!({"id": "9", "data": {"101": {"value": {"first": "A\u{0}b"}}, "102": {"value": ["c\u{0}"]}}});
        let s = Submission::from_api("1", &record).unwrap();
        assert_eq!(s.fields["101"], json!({"first": "Ab"}));
        assert_eq!(s.fields["102"], json!(["c"]));
        assert!(!crate::storable::has_nul(&serde_json::to_value(&s).unwrap()));
        assert!(crate::storable::has_nul(&record));
    }

    #[test]
    fn urlencoded_webhook_with_compound_and_repeated_keys() {
        let body = b"FormID=6606394&UniqueID=1500878955&HandshakeKey=test&101=Jane&102=first+%3D+Jane%0Alast+%3D+Doe&103[]=A&103[]=B";
        let s = Submission::from_webhook(body, Some("application/x-www-form-urlencoded; charset=utf-8")).unwrap();
        assert_eq!(s.form_id, "6606394");
        assert_eq!(s.submission_id, "1500878955");
        assert_eq!(s.fields["101"], json!("Jane"));
        assert_eq!(s.fields["102"], json!("first = Jane\nlast = Doe"));
        assert_eq!(s.fields["103"], json!("A\nB"));
        assert!(!s.fields.contains_key("HandshakeKey"), "the shared secret is not a field");
    }

    #[test]
    fn json_webhook_with_numeric_ids_and_nested_object() {
        let body = br#"{"FormID":6606394,"UniqueID":"77","Name":{"first":"John","last":"Smith"}}"#;
        let s = Submission::from_webhook(body, None).unwrap();
        assert_eq!((s.form_id.as_str(), s.submission_id.as_str()), ("6606394", "77"));
        assert_eq!(s.fields["Name"]["last"], json!("Smith"));
    }

    #[test]
    fn malformed_webhooks_are_refused_with_a_reason() {
        assert!(matches!(
            Submission::from_webhook(b"{not json", Some("application/json")),
            Err(SubmissionError::Unparseable { format: "JSON", .. })
        ));
        assert_eq!(Submission::from_webhook(b"FormID=1&a=b", None), Err(SubmissionError::MissingId("UniqueID")));
        assert_eq!(Submission::from_webhook(&[0xff, 0xfe], None), Err(SubmissionError::NotUtf8));
        assert!(matches!(
            Submission::from_webhook(b"FormID=1&UniqueID=a%20b", None),
            Err(SubmissionError::BadId { key: "UniqueID", .. })
        ));
        assert!(matches!(
            Submission::from_webhook(b"just text", None),
            Err(SubmissionError::Unparseable { format: "urlencoded", .. })
        ));
    }

    #[test]
    fn api_record_with_data_object_and_empty_data_array() {
        let rec = json!({"id":"1049882881","timestamp":"2022-12-22 12:56:53","form":"5095980",
            "data":{"101":{"field":"101","value":"Jane"},"102":{"field":"102","value":{"first":"J"}}}});
        let s = Submission::from_api("5095980", &rec).unwrap();
        assert_eq!(s.submission_id, "1049882881");
        assert_eq!(s.timestamp.unwrap().to_string(), "2022-12-22 12:56:53");
        assert_eq!(s.fields["101"], json!("Jane"));
        assert_eq!(s.fields["102"]["first"], json!("J"));

        let empty = json!({"id": 5, "timestamp": "2022-12-22 12:56:53", "data": []});
        let s = Submission::from_api("9", &empty).unwrap();
        assert_eq!((s.form_id.as_str(), s.submission_id.as_str()), ("9", "5"));
        assert!(s.fields.is_empty());

        let bad = json!({"id": "5", "timestamp": "yesterday"});
        assert!(matches!(Submission::from_api("9", &bad), Err(SubmissionError::BadTimestamp(_))));
    }

    /// The public Formstack samples (`tests/fixtures/vendors/formstack/`, sources in its
    /// `SOURCES.md`) through the production parser.
    mod contract {
        use super::*;

        fn fixture(name: &str) -> Vec<u8> {
            let path = format!("{}/../../tests/fixtures/vendors/formstack/{name}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
        }

        #[test]
        fn webhooks_with_field_types_read_as_without_them_in_both_encodings() {
            let plain = Submission::from_webhook(&fixture("webhook.subfields.json"), Some("application/json")).unwrap();
            let typed =
                Submission::from_webhook(&fixture("webhook.field-type.from-evidence.json"), Some("application/json"))
                    .unwrap();
            assert_eq!(typed.fields, plain.fields, "field types are dropped, values kept");
            assert_eq!(typed.fields["Email"], json!("user@example.com"));
            assert_eq!(typed.fields["Name"], json!({"first": "John", "last": "Smith"}));
            let form = Some("application/x-www-form-urlencoded");
            let plain_url =
                Submission::from_webhook(&fixture("webhook.subfields.from-evidence.urlencoded.txt"), form).unwrap();
            let typed_url =
                Submission::from_webhook(&fixture("webhook.field-type.from-evidence.urlencoded.txt"), form).unwrap();
            assert_eq!(typed_url.fields["Email"], json!("user@example.com"));
            assert_eq!(typed_url.fields["Phone"], json!("234-555-6789"));
            assert_eq!(typed_url.fields["Name"], json!("first = John\nlast = Smith"));
            assert_eq!(typed_url.fields["Name"], plain_url.fields["Name"]);
            assert_eq!(typed_url.fields["Address"], plain_url.fields["Address"]);
        }

        #[test]
        fn a_text_that_merely_looks_typed_is_kept() {
            let body = b"FormID=1&UniqueID=2&a=value+%3D+x%0Afield_type+%3D+two+words&b=note%0Afield_type";
            let s = Submission::from_webhook(body, None).unwrap();
            assert_eq!(s.fields["a"], json!("value = x\nfield_type = two words"));
            assert_eq!(s.fields["b"], json!("note\nfield_type"));
            let multi = b"FormID=1&UniqueID=2&c=value+%3D+line+1%0Aline+2%0Afield_type+%3D+textarea";
            assert_eq!(Submission::from_webhook(multi, None).unwrap().fields["c"], json!("line 1\nline 2"));
        }

        #[test]
        fn webhooks_without_sub_field_names_parse() {
            for (file, ct) in [
                ("webhook.no-subfields.json", "application/json"),
                ("webhook.no-subfields.urlencoded.txt", "application/x-www-form-urlencoded"),
            ] {
                let s = Submission::from_webhook(&fixture(file), Some(ct)).unwrap();
                assert_eq!((s.form_id.as_str(), s.submission_id.as_str()), ("1234567", "9876543210"), "{file}");
                assert_eq!(s.fields["Name"], json!("Jane Smith"), "{file}");
            }
        }

        #[test]
        fn the_captured_signed_delivery_parses() {
            let s = Submission::from_webhook(&fixture("webhook.signed.urlencoded.txt"), None).unwrap();
            assert_eq!((s.form_id.as_str(), s.submission_id.as_str()), ("6606394", "1500878955"));
            assert!(s.fields.is_empty(), "the handshake key is not a field");
        }

        #[test]
        fn api_submissions_in_every_public_shape() {
            let one: Value = serde_json::from_slice(&fixture("submission.json")).unwrap();
            let s = Submission::from_api("0", &one).unwrap();
            assert_eq!((s.form_id.as_str(), s.submission_id.as_str()), ("2691007", "332525567"));
            assert_eq!(s.fields["52404587"], json!("lisetalbott@gmail.com"));
            assert_eq!(s.timestamp.unwrap().to_string(), "2017-06-13 17:07:51");
            for file in ["submissions.list.json", "submissions.list.data.from-evidence.json"] {
                let list: Value = serde_json::from_slice(&fixture(file)).unwrap();
                assert!(list["pages"].as_u64().is_some(), "{file}: pages is a number");
                for record in list["submissions"].as_array().unwrap() {
                    let s = Submission::from_api("2691007", record).unwrap();
                    assert!(!s.submission_id.is_empty(), "{file}");
                }
            }
            let data: Value = serde_json::from_slice(&fixture("submissions.list.data.from-evidence.json")).unwrap();
            let s = Submission::from_api("2691007", &data["submissions"][0]).unwrap();
            assert_eq!(s.fields["52404590"], json!("first = Jane\nlast = Smith"));
        }

        #[test]
        fn an_entry_with_flat_value_only_gives_that_value() {
            let rec = json!({"id": "1", "data": {"7": {"field": "7", "flat_value": "Jane Smith"},
                "8": {"field": "8", "value": "a", "flat_value": "b"}}});
            let s = Submission::from_api("9", &rec).unwrap();
            assert_eq!((s.fields["7"].clone(), s.fields["8"].clone()), (json!("Jane Smith"), json!("a")));
            let arr = json!({"id": "1", "data": [{"field": "7", "flat_value": "x"}]});
            assert_eq!(Submission::from_api("9", &arr).unwrap().fields["7"], json!("x"));
        }
    }
}
