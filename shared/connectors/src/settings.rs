//! A connection's settings (`connector.connection.settings`), read once into one type when the
//! connection is loaded: the engine's settings by name, and the rule settings a provider's
//! description names (its active statuses), kept as given. A setting of the wrong type is a
//! configuration error naming it, not a silent default.

use std::{collections::BTreeMap, time::Duration};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::description::Provider;

/// The settings of one connection.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ConnectionSettings {
    /// Requests a minute this account may make (else the provider's documented rate).
    pub rate_per_minute: Option<f64>,
    /// Records asked for per page (else the description's default; at least 1).
    pub page_limit: Option<u32>,
    /// The look-back of an incremental pull, in minutes (wins over `look_back_hours`).
    pub look_back_minutes: Option<f64>,
    /// The look-back of an incremental pull, in hours.
    pub look_back_hours: Option<f64>,
    /// The `strftime` format of the modified-since parameter (else the description's).
    pub modified_since_format: Option<String>,
    /// How old a stored detail may be before a full pull reads it again, in hours (24).
    pub detail_max_age_hours: Option<f64>,
    /// How long a two-way registration waits for Lenos, in seconds (3; clamped to 0.5–3.5 so
    /// that the whole request stays under 5 s).
    pub register_timeout_seconds: Option<f64>,
    /// Call paths by stream (`{event}` stands for the event id), instead of the description's.
    pub paths: BTreeMap<String, String>,
    /// The query parameter carrying the event id, instead of the description's.
    pub event_param: Option<String>,
    /// The event's IANA time zone, for session times given without an offset (UTC).
    pub event_time_zone: Option<String>,
    /// The title of the master session of concurrent sessions (none: no master sessions).
    #[serde(rename = "ConcurrentSessionsTitle")]
    pub concurrent_sessions_title: Option<String>,
    /// Every other setting: the rule settings the provider's description names.
    #[serde(flatten)]
    pub rules: Map<String, Value>,
}

/// Lenos's answer is awaited this long unless `register_timeout_seconds` says otherwise.
pub const DEFAULT_REGISTER_TIMEOUT: Duration = Duration::from_secs(3);

impl ConnectionSettings {
    /// Reads the settings object; the error names the setting that is not of its type.
    pub fn from_value(settings: &Value) -> Result<ConnectionSettings, String> {
        if settings.is_null() {
            return Ok(ConnectionSettings::default());
        }
        serde_json::from_value(settings.clone()).map_err(|e| {
            // serde does not name the field of a flattened struct: find the one that fails alone.
            let alone = |k: &String, v: &Value| serde_json::from_value::<ConnectionSettings>(json!({ k: v })).is_err();
            match settings.as_object().and_then(|o| o.iter().find(|(k, v)| alone(k, v))) {
                Some((k, _)) => format!("setting `{k}`: {e}"),
                None => format!("settings: {e}"),
            }
        })
    }

    /// A rule setting as text.
    pub fn text(&self, name: &str) -> Option<String> {
        self.rules.get(name).and_then(crate::credentials::value_text)
    }

    /// The active statuses: the comma-separated rule setting (trimmed, lower-cased) or `default`.
    pub fn active_statuses(&self, setting: &str, default: &[&str]) -> Vec<String> {
        match self.text(setting) {
            Some(list) => list.split(',').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect(),
            None => default.iter().map(|s| s.to_lowercase()).collect(),
        }
    }

    /// The requests a minute, else `default`.
    pub fn rate_per_minute(&self, default: f64) -> f64 {
        self.rate_per_minute.unwrap_or(default)
    }

    /// Records per page, else `default`.
    pub fn page_limit(&self, default: u32) -> u32 {
        self.page_limit.map_or(default, |l| l.max(1))
    }

    /// The look-back of an incremental pull, else `default`.
    pub fn look_back(&self, default: Duration) -> Duration {
        let seconds = self.look_back_minutes.map(|m| m * 60.0).or(self.look_back_hours.map(|h| h * 3600.0));
        seconds.map_or(default, |s| Duration::from_secs_f64(s.max(0.0)))
    }

    /// How old a stored detail may be.
    pub fn detail_max_age(&self) -> chrono::Duration {
        let hours = self.detail_max_age_hours.unwrap_or(24.0);
        chrono::Duration::milliseconds((hours.max(0.0) * 3_600_000.0) as i64)
    }

    /// How long a two-way registration waits for Lenos.
    pub fn register_timeout(&self) -> Duration {
        self.register_timeout_seconds.map_or(DEFAULT_REGISTER_TIMEOUT, |s| Duration::from_secs_f64(s.clamp(0.5, 3.5)))
    }

    /// The call path of `stream`: its `paths` entry, else the description's `call`.
    pub fn call_path<'a>(&'a self, stream: &str, call: &'a str) -> &'a str {
        self.paths.get(stream).map_or(call, String::as_str)
    }

    /// The query parameter carrying the event id: `event_param`, else the description's.
    pub fn event_param<'a>(&'a self, provider: &'a Provider) -> Option<&'a str> {
        self.event_param.as_deref().filter(|p| !p.is_empty()).or(provider.event_param)
    }

    /// The event's time zone name (UTC when none is set).
    pub fn event_time_zone(&self) -> &str {
        self.event_time_zone.as_deref().filter(|z| !z.trim().is_empty()).unwrap_or("UTC")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_typed_and_rule_settings_kept() {
        let s = ConnectionSettings::from_value(&json!({
            "rate_per_minute": 600, "page_limit": 0, "look_back_minutes": 10, "paths": {"persons": "/x/{event}"},
            "active_statuses": "Confirmed, Attended", "ConcurrentSessionsTitle": "Concurrent", "register_timeout_seconds": 9
        }))
        .unwrap();
        assert_eq!((s.rate_per_minute(400.0), s.page_limit(500)), (600.0, 1));
        assert_eq!(s.look_back(Duration::from_secs(86_400)), Duration::from_secs(600));
        assert_eq!((s.call_path("persons", "/p"), s.call_path("sessions", "/s")), ("/x/{event}", "/s"));
        assert_eq!(s.active_statuses("active_statuses", &["x"]), ["confirmed", "attended"]);
        assert_eq!(s.concurrent_sessions_title.as_deref(), Some("Concurrent"));
        assert_eq!(s.register_timeout(), Duration::from_secs_f64(3.5));
        assert_eq!((s.event_time_zone(), s.detail_max_age()), ("UTC", chrono::Duration::hours(24)));
        let defaults = ConnectionSettings::from_value(&Value::Null).unwrap();
        assert_eq!(defaults.look_back(Duration::from_secs(5)), Duration::from_secs(5));
        assert_eq!(defaults.register_timeout(), DEFAULT_REGISTER_TIMEOUT);
    }

    #[test]
    fn a_setting_of_the_wrong_type_is_named() {
        let e = ConnectionSettings::from_value(&json!({"page_limit": "lots"})).unwrap_err();
        assert!(e.starts_with("setting `page_limit`: invalid type"), "{e}");
        assert!(ConnectionSettings::from_value(&json!({"paths": {"persons": 7}})).is_err());
    }
}
