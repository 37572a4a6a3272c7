//! Formstack API v2: the submission listing of a form.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::http::{VendorClient, VendorError};

/// Largest page size Formstack accepts.
pub const MAX_PER_PAGE: u32 = 100;

/// One request of the submission listing.
#[derive(Debug, Clone)]
pub struct ListQuery<'a> {
    /// The form.
    pub form_id: &'a str,
    /// 1-based page number.
    pub page: u32,
    /// Page size, 1–100.
    pub per_page: u32,
    /// Lower bound of the submission time (sent in US Eastern time, see [`eastern`]).
    pub min_time: Option<DateTime<Utc>>,
    /// Upper bound of the submission time.
    pub max_time: Option<DateTime<Utc>>,
}

/// `min_time` / `max_time` as the API reads them: `YYYY-MM-DD HH:MM:SS` in US Eastern time,
/// whatever the account's or the form's own time zone (Formstack's own API wrapper: "Date/Time
/// string for start time in EST"; `shared/vendors/docs/formstack.md`).
pub fn eastern(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::America::New_York).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// One page of the listing.
#[derive(Debug, Clone, Deserialize)]
pub struct SubmissionPage {
    /// Submission records (with `data` when asked).
    #[serde(default)]
    pub submissions: Vec<Value>,
    /// Submissions matching the query, as Formstack reports it (not always exact).
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total: u64,
    /// Pages of the query; the loop's stop condition (never the size of a page).
    #[serde(default, deserialize_with = "lenient_u64")]
    pub pages: u64,
}

/// One field of a form's definition (`GET /form/{id}.json`, `fields`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FormField {
    /// Field id (a string or a number in the answer).
    #[serde(deserialize_with = "lenient_text")]
    pub id: String,
    /// The label people read.
    #[serde(default)]
    pub label: String,
    /// Formstack's machine name.
    #[serde(default)]
    pub name: Option<String>,
    /// Field type (`text`, `name`, …).
    #[serde(rename = "type", default)]
    pub field_type: Option<String>,
}

/// Formstack API v2 client.
#[derive(Debug, Clone)]
pub struct FormstackClient {
    http: VendorClient,
    base_url: String,
}

impl FormstackClient {
    /// A client for `base_url` (`https://www.formstack.com/api/v2` in production).
    pub fn new(http: VendorClient, base_url: &str) -> FormstackClient {
        FormstackClient { http, base_url: base_url.trim_end_matches('/').to_owned() }
    }

    /// HTTP calls made so far (for the daily budget).
    pub fn calls(&self) -> u64 {
        self.http.calls()
    }

    /// `GET /form/{id}.json`: the form's fields with their labels.
    pub async fn form_fields(&self, token: &str, form_id: &str) -> Result<Vec<FormField>, VendorError> {
        let url = format!("{}/form/{form_id}.json", self.base_url);
        let resp = self.http.send(|c| c.get(&url).bearer_auth(token)).await?;
        let body = crate::http::read_body(self.http.vendor(), resp).await?;
        parse_form_fields(&body).map_err(|message| VendorError::Response { vendor: self.http.vendor(), message })
    }

    /// `GET /form/{id}/submission.json` with `data=true`, `sort=ASC`, bearer token.
    pub async fn list_submissions(&self, token: &str, q: &ListQuery<'_>) -> Result<SubmissionPage, VendorError> {
        let url = format!("{}/form/{}/submission.json", self.base_url, q.form_id);
        let mut params: Vec<(&str, String)> = vec![
            ("page", q.page.to_string()),
            ("per_page", q.per_page.clamp(1, MAX_PER_PAGE).to_string()),
            ("data", "true".into()),
            ("expand_data", "false".into()),
            ("sort", "ASC".into()),
        ];
        if let Some(t) = q.min_time {
            params.push(("min_time", eastern(t)));
        }
        if let Some(t) = q.max_time {
            params.push(("max_time", eastern(t)));
        }
        let resp = self.http.send(|c| c.get(&url).bearer_auth(token).query(&params)).await?;
        let body = crate::http::read_body(self.http.vendor(), resp).await?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| VendorError::Response {
            vendor: self.http.vendor(),
            message: format!("submission listing is not JSON: {e}"),
        })?;
        if value.get("submissions").is_none() {
            let detail = value.get("error").map(|e| e.to_string()).unwrap_or_else(|| "no submissions array".into());
            return Err(VendorError::Response { vendor: self.http.vendor(), message: format!("error body: {detail}") });
        }
        serde_json::from_value(value).map_err(|e| VendorError::Response {
            vendor: self.http.vendor(),
            message: format!("unexpected listing shape: {e}"),
        })
    }
}

/// The fields of a form definition (`{"fields": [...]}`) or of a field listing (`[...]`).
pub fn parse_form_fields(body: &[u8]) -> Result<Vec<FormField>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("form definition is not JSON: {e}"))?;
    let fields = match value {
        Value::Array(items) => Value::Array(items),
        Value::Object(mut o) => o.remove("fields").ok_or("form definition has no fields")?,
        _ => return Err("form definition is neither an object nor a list".into()),
    };
    serde_json::from_value(fields).map_err(|e| format!("unexpected form fields: {e}"))
}

fn lenient_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("a field id must be text or a number, not {other}"))),
    }
}

fn lenient_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_definitions_in_both_public_shapes() {
        let form = include_bytes!("../../../tests/fixtures/vendors/formstack/form.from-evidence.json");
        let fields = parse_form_fields(form).unwrap();
        assert_eq!((fields[1].id.as_str(), fields[1].label.as_str()), ("52404590", "Name"));
        let listing = include_bytes!("../../../tests/fixtures/vendors/formstack/form.fields.json");
        let fields = parse_form_fields(listing).unwrap();
        assert!(fields.iter().any(|f| f.label == "Email" && f.field_type.as_deref() == Some("email")));
        assert!(parse_form_fields(br#"{"error":"nope"}"#).is_err());
    }

    #[test]
    fn times_are_sent_in_eastern_time_across_daylight_saving() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(eastern(at("2026-01-15T17:00:00Z")), "2026-01-15 12:00:00", "EST, UTC-5");
        assert_eq!(eastern(at("2026-07-15T17:00:00Z")), "2026-07-15 13:00:00", "EDT, UTC-4");
    }
}
