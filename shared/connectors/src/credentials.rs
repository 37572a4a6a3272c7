//! Reading a provider's secret: text fields, required fields with an error naming them, and the
//! `endPoint` base URL check every provider shares (https, or http on loopback for the sandbox;
//! no query or fragment; a trailing slash dropped).

use serde_json::Value;

use crate::ConnectorError;

/// A value as text: a non-blank string (trimmed) or a number.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Field `name` of `secret` as text.
pub fn field(secret: &Value, name: &str) -> Option<String> {
    secret.get(name).and_then(value_text)
}

/// Field `name` of `secret`, or an error saying `provider`'s secret lacks it.
pub fn required(secret: &Value, provider: &str, name: &str) -> Result<String, ConnectorError> {
    field(secret, name).ok_or_else(|| ConnectorError::Config(format!("the {provider} secret has no {name}")))
}

/// `raw` as a base URL (trailing slash dropped) and its parse, when it is https (http only on a
/// loopback host, the local sandbox) without query or fragment.
pub fn base_url(raw: &str) -> Option<(String, reqwest::Url)> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed).ok()?;
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    (scheme_ok && url.query().is_none() && url.fragment().is_none()).then(|| (trimmed.to_owned(), url))
}

/// Whether `url`'s host is the loopback interface (the local sandbox).
pub fn is_loopback(url: &reqwest::Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
}
