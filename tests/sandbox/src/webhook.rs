//! Formstack webhook sender (a test utility): builds bodies exactly as Formstack does,
//! signs them, and posts them or wraps them in a Lambda Function URL event.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// Body formats Formstack offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/x-www-form-urlencoded; charset=utf-8` (Formstack's default).
    UrlEncoded,
    /// `application/json`.
    Json,
}

/// A webhook ready to send.
#[derive(Debug, Clone)]
pub struct SignedWebhook {
    /// Exact body bytes.
    pub body: Vec<u8>,
    /// Headers (content type, user agent, signature when signed).
    pub headers: Vec<(String, String)>,
}

/// The `sha256=<hex>` signature of `body` with `key`.
pub fn signature(body: &[u8], key: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Builds a delivery of `submission_id` on `form_id` with `fields` (values are strings, or
/// objects for compound fields: `k = v` lines when urlencoded, nested objects in JSON).
/// `key` signs it under `header` (default `X-FS-Signature`); `None` sends it unsigned.
pub fn build(
    form_id: &str,
    submission_id: &str,
    fields: &[(&str, Value)],
    format: Format,
    key: Option<&str>,
    header: Option<&str>,
) -> SignedWebhook {
    let (body, content_type) = match format {
        Format::UrlEncoded => {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            ser.append_pair("FormID", form_id).append_pair("UniqueID", submission_id);
            for (k, v) in fields {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => o
                        .iter()
                        .map(|(k, v)| {
                            format!("{k} = {}", v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                    other => other.to_string(),
                };
                ser.append_pair(k, &text);
            }
            (ser.finish().into_bytes(), "application/x-www-form-urlencoded; charset=utf-8")
        }
        Format::Json => {
            let mut obj = serde_json::Map::new();
            obj.insert("FormID".into(), json!(form_id));
            obj.insert("UniqueID".into(), json!(submission_id));
            for (k, v) in fields {
                obj.insert((*k).into(), v.clone());
            }
            (serde_json::to_vec(&Value::Object(obj)).expect("serialises"), "application/json")
        }
    };
    let mut headers = vec![
        ("content-type".to_owned(), content_type.to_owned()),
        ("user-agent".to_owned(), format!("FormstackWebhook/1.0 (Form {form_id})")),
    ];
    if let Some(key) = key {
        headers.push((header.unwrap_or("X-FS-Signature").to_owned(), signature(&body, key)));
    }
    SignedWebhook { body, headers }
}

impl SignedWebhook {
    /// Replaces the signature header's value (forgeries, bare or upper-case digests).
    pub fn with_header(mut self, name: &str, value: &str) -> SignedWebhook {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The delivery as a Lambda Function URL event (what Lambda hands the function).
    pub fn function_url_event(&self) -> Value {
        let headers: serde_json::Map<String, Value> =
            self.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), json!(v))).collect();
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/",
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "anonymous", "apiId": "sandbox", "domainName": "sandbox.lambda-url.us-east-1.on.aws",
                "domainPrefix": "sandbox", "requestId": "sandbox-request", "routeKey": "$default", "stage": "$default",
                "time": "22/Nov/2026:12:00:00 +0000", "timeEpoch": 1795780800000u64,
                "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "FormstackWebhook/1.0"}
            },
            "body": base64::engine::general_purpose::STANDARD.encode(&self.body),
            "isBase64Encoded": true
        })
    }

    /// Posts the delivery to `url` (e.g. `cargo lambda watch`'s function URL).
    // A test tool's plain client: this crate gives reqwest its default TLS provider.
    #[allow(clippy::disallowed_methods)]
    pub async fn post(&self, url: &str) -> reqwest::Result<reqwest::Response> {
        let mut req = reqwest::Client::new().post(url).body(self.body.clone());
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        req.send().await
    }
}
