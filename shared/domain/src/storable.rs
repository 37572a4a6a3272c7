//! Text PostgreSQL can store, one rule for every entry point (the Formstack webhook and pull,
//! the lead endpoint, two-way registration, connector records): `text` and `jsonb` refuse the
//! NUL character (U+0000) anywhere, in a value or a key, however deep. A statement that meets one
//! fails, and an entry point that answers "try again" to a failure would refuse the same input
//! forever. So what is stored has its NULs removed (no field means anything by one; removal is
//! deterministic, so a replay stores the same), and an identifier a caller gives is checked
//! instead: one that is not plain printable text is refused with the reason.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// Whether any key or string of `value` holds a NUL character.
pub fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// `value` with the NUL characters removed from every key and string, at every depth.
pub fn json(value: Value) -> Value {
    match value {
        Value::String(s) if s.contains('\0') => Value::String(s.replace('\0', "")),
        Value::Array(items) => Value::Array(items.into_iter().map(json).collect()),
        Value::Object(o) => Value::Object(object(o)),
        other => other,
    }
}

/// [`json`] of an object's keys and values.
pub fn object(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter().map(|(k, v)| (text(&k).into_owned(), json(v))).collect()
}

/// `s` without NUL characters.
pub fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') { Cow::Owned(s.replace('\0', "")) } else { Cow::Borrowed(s) }
}

/// An identifier a caller gives (a lead id, a person, session or request id): trimmed, 1 to
/// `max` characters, none of them a control character. The error names `name` and says why.
pub fn identifier<'a>(name: &str, value: &'a str, max: usize) -> Result<&'a str, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max || trimmed.chars().any(char::is_control) {
        return Err(format!("{name} must be 1 to {max} printable characters"));
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_goes_from_every_key_and_string_at_every_depth() {
        let hostile = json!({"a\u{0}": "x\u{0}y", "n": {"k\u{0}": ["1\u{0}", {"deep": "\u{0}"}]}, "ok": 7});
        assert!(has_nul(&hostile));
        let clean = json(hostile);
        assert_eq!(clean, json!({"a": "xy", "n": {"k": ["1", {"deep": ""}]}, "ok": 7}));
        assert!(!has_nul(&clean));
        assert_eq!(text("a\u{0}b"), "ab");
        assert!(matches!(text("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn an_identifier_is_plain_printable_text() {
        assert_eq!(identifier("lead_id", "  nul-1 ", 200), Ok("nul-1"));
        for bad in ["", "   ", "a\u{0}b", "tab\there", "new\nline", &"x".repeat(201)] {
            let e = identifier("lead_id", bad, 200).unwrap_err();
            assert_eq!(e, "lead_id must be 1 to 200 printable characters");
        }
        assert_eq!(identifier("lead_id", &"é".repeat(200), 200).map(|s| s.chars().count()), Ok(200));
    }
}
