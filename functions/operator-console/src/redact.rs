//! Redaction of what a page shows from raw inputs: values of secret-looking fields, and
//! anything that looks like a payment card number, are replaced before a page sees them.

use serde_json::Value;

/// Shown instead of a secret (the platform's one marker, as in a stored webhook's handshake key).
pub use platform_domain::signature::REDACTED;

/// Whether a field of this name holds a secret (card data, passwords, tokens, keys).
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["card", "cvv", "cvc", "password", "passwd", "secret", "token", "key", "ssn", "authorization", "signature", "hmac"]
        .iter()
        .any(|s| n.contains(s))
}

/// A copy of `value` with secret fields and card-like numbers redacted.
pub fn json(value: &Value) -> Value {
    match value {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let secret = is_secret_name(k)
                        || o.get("label").and_then(Value::as_str).is_some_and(is_secret_name)
                            && matches!(k.as_str(), "value" | "flat_value");
                    (k.clone(), if secret && !v.is_null() { Value::String(REDACTED.into()) } else { json(v) })
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        Value::String(s) => Value::String(text(s)),
        other => other.clone(),
    }
}

/// `text` with every run of 13–19 digits (spaces and dashes allowed between) that passes the
/// Luhn check replaced: a card number typed into any field.
pub fn text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let mut j = i;
            let mut digits = Vec::new();
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || (matches!(chars[j], ' ' | '-') && j + 1 < chars.len() && chars[j + 1].is_ascii_digit()))
            {
                if let Some(d) = chars[j].to_digit(10) {
                    digits.push(d);
                }
                j += 1;
            }
            if (13..=19).contains(&digits.len()) && luhn(&digits) {
                out.push_str(REDACTED);
            } else {
                out.extend(&chars[i..j]);
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_and_secret_fields_are_redacted() {
        let v = serde_json::json!({
            "name": "Jane", "credit_card_info": "4111 1111 1111 1111", "notes": "card 4111-1111-1111-1111 ok",
            "phone": "555 123 4567", "data": [{"label": "Card number", "value": "4242424242424242"}]
        });
        let r = json(&v);
        assert_eq!(r["name"], "Jane");
        assert_eq!(r["credit_card_info"], REDACTED);
        assert_eq!(r["notes"], "card [redacted] ok");
        assert_eq!(r["phone"], "555 123 4567");
        assert_eq!(r["data"][0]["value"], REDACTED);
        assert_eq!(r["data"][0]["label"], "Card number");
    }

    #[test]
    fn numbers_that_fail_luhn_stay() {
        assert_eq!(text("order 1234567890123"), "order 1234567890123");
    }
}
