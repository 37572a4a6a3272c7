//! Formstack webhook signatures: HMAC-SHA256 over the exact raw body, `sha256=<lowercase hex>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Default header that carries the signature.
pub const DEFAULT_SIGNATURE_HEADER: &str = "X-FS-Signature";

/// Why a webhook signature was refused. Every variant means "answer 401".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No HMAC key is configured for the form: fail closed.
    #[error("no webhook HMAC key is configured for this form")]
    NoKey,
    /// The signature header is absent or empty.
    #[error("signature header is missing")]
    Missing,
    /// The header is not 64 hex characters (after an optional `sha256=` prefix).
    #[error("signature header is not a SHA-256 hex digest")]
    Malformed,
    /// The digest does not match the body.
    #[error("signature does not match the body")]
    Mismatch,
}

/// The header value Formstack would send for `body` signed with `key`.
pub fn sign(body: &[u8], key: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Verifies `header` (the signature header's value, if any) against the raw `body` with `key`.
///
/// Tolerates a bare digest and upper-case hex; compares in constant time; fails closed when no
/// key is configured.
pub fn verify(body: &[u8], header: Option<&str>, key: Option<&str>) -> Result<(), SignatureError> {
    let key = key.filter(|k| !k.is_empty()).ok_or(SignatureError::NoKey)?;
    let value = header.map(str::trim).filter(|v| !v.is_empty()).ok_or(SignatureError::Missing)?;
    let digest = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256=") => &value[7..],
        _ => value,
    };
    if digest.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let expected = hex::decode(digest.to_ascii_lowercase()).map_err(|_| SignatureError::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

/// Compares two byte strings in constant time (for shared secrets such as `HandshakeKey`).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Equal-length HMACs under a fixed key compare the values without leaking where they differ.
    let digest = |v: &[u8]| {
        let mut mac = HmacSha256::new_from_slice(b"constant-time-eq").expect("HMAC takes keys of any length");
        mac.update(v);
        mac.finalize().into_bytes()
    };
    let expected = digest(b);
    let mut mac = HmacSha256::new_from_slice(b"constant-time-eq").expect("HMAC takes keys of any length");
    mac.update(a);
    mac.verify_slice(&expected).is_ok()
}

/// Name of Formstack's shared-secret body field.
pub const HANDSHAKE_FIELD: &str = "HandshakeKey";

/// What replaces the `HandshakeKey` value in the stored copy of a body.
pub const REDACTED: &str = "[redacted]";

/// The `HandshakeKey` value of a webhook body (urlencoded or JSON), if it has one.
pub fn handshake_value(body: &[u8], json: bool) -> Option<String> {
    if json {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        return v.get(HANDSHAKE_FIELD).and_then(|h| h.as_str().map(str::to_owned));
    }
    form_urlencoded::parse(body).find(|(k, _)| k == HANDSHAKE_FIELD).map(|(_, v)| v.into_owned())
}

/// The body with its `HandshakeKey` value replaced by [`REDACTED`]. A urlencoded body keeps
/// every other byte; a JSON body is re-serialised. Bodies without the field come back unchanged.
pub fn redact_handshake(body: &[u8], json: bool) -> Vec<u8> {
    if json {
        return match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(mut obj)) if obj.contains_key(HANDSHAKE_FIELD) => {
                obj.insert(HANDSHAKE_FIELD.into(), REDACTED.into());
                serde_json::to_vec(&obj).expect("JSON values serialise")
            }
            _ => body.to_vec(),
        };
    }
    let mut out = Vec::with_capacity(body.len());
    for (i, pair) in body.split(|&b| b == b'&').enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        let key = pair.split(|&b| b == b'=').next().unwrap_or_default();
        let is_handshake = form_urlencoded::parse(key).next().is_some_and(|(k, _)| k == HANDSHAKE_FIELD);
        if is_handshake {
            out.extend_from_slice(key);
            out.push(b'=');
            out.extend(form_urlencoded::byte_serialize(REDACTED.as_bytes()).flat_map(str::bytes));
        } else {
            out.extend_from_slice(pair);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"FormID=6606394&UniqueID=1500878955&HandshakeKey=test";
    const VECTOR: &str = "sha256=30dff7f180b6d69eab397a5d51719474df490b730514c253e8b5832d3b51b970";

    #[test]
    fn reference_test_vector_verifies() {
        assert_eq!(sign(BODY, "test1"), VECTOR);
        assert_eq!(verify(BODY, Some(VECTOR), Some("test1")), Ok(()));
    }

    #[test]
    fn tolerates_bare_and_uppercase_digests() {
        let bare = &VECTOR[7..];
        assert_eq!(verify(BODY, Some(bare), Some("test1")), Ok(()));
        assert_eq!(verify(BODY, Some(&VECTOR.to_uppercase()), Some("test1")), Ok(()));
    }

    #[test]
    fn refuses_wrong_key_missing_header_changed_body_and_no_key() {
        assert_eq!(verify(BODY, Some(VECTOR), Some("test2")), Err(SignatureError::Mismatch));
        assert_eq!(verify(BODY, None, Some("test1")), Err(SignatureError::Missing));
        assert_eq!(verify(BODY, Some(""), Some("test1")), Err(SignatureError::Missing));
        assert_eq!(
            verify(b"FormID=6606394&UniqueID=1500878955", Some(VECTOR), Some("test1")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(BODY, Some(VECTOR), None), Err(SignatureError::NoKey));
        assert_eq!(verify(BODY, Some(VECTOR), Some("")), Err(SignatureError::NoKey));
        assert_eq!(verify(BODY, Some("sha256=abc"), Some("test1")), Err(SignatureError::Malformed));
        let not_hex = format!("sha256={}", "z".repeat(64));
        assert_eq!(verify(BODY, Some(&not_hex), Some("test1")), Err(SignatureError::Malformed));
    }

    #[test]
    fn handshake_is_read_and_redacted_in_both_formats() {
        assert_eq!(handshake_value(BODY, false).as_deref(), Some("test"));
        let redacted = redact_handshake(BODY, false);
        assert_eq!(redacted, b"FormID=6606394&UniqueID=1500878955&HandshakeKey=%5Bredacted%5D".to_vec());
        assert_eq!(handshake_value(&redacted, false).as_deref(), Some(REDACTED));
        let json = br#"{"FormID":"1","UniqueID":"2","HandshakeKey":"s3cret","101":"x"}"#;
        assert_eq!(handshake_value(json, true).as_deref(), Some("s3cret"));
        let r = redact_handshake(json, true);
        assert!(!String::from_utf8_lossy(&r).contains("s3cret"));
        assert_eq!(handshake_value(&r, true).as_deref(), Some(REDACTED));
        let plain = b"FormID=1&UniqueID=2&101=a%26b";
        assert_eq!(redact_handshake(plain, false), plain.to_vec(), "no field, no change");
        assert_eq!(handshake_value(plain, false), None);
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
