//! A connection's settings (`connector.connection.settings`), read once into one type when the
//! connection is loaded: the engine's settings by name, and the rule settings a provider's
//! description names (its active statuses), kept as given. Read leniently, as operators write
//! them: a number may be given as text, text is trimmed and blank text is no setting. A setting
//! that still cannot be read is left at its default and named in [`ConnectionSettings::problems`]
//! (logged when the connection loads): one mistyped setting never stops a connection's pulls,
//! nor any other connection's.

use std::{collections::BTreeMap, time::Duration};

use serde_json::{Map, Value};

use crate::description::Provider;

/// The settings of one connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionSettings {
    /// This account's request limit a minute (else the manifest's published one); the pacing
    /// keeps to it times the manifest's margin.
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
    /// The title of the master session of concurrent sessions (`ConcurrentSessionsTitle`; none:
    /// no master sessions).
    pub concurrent_sessions_title: Option<String>,
    /// Every other setting: the rule settings the provider's description names.
    pub rules: Map<String, Value>,
    /// The settings that could not be read and were left at their defaults, with why.
    pub problems: Vec<String>,
}

/// A text setting, trimmed (a number counts as its text); blank or of another type: none.
fn text(value: &Value) -> Option<String> {
    crate::credentials::value_text(value)
}

/// Lenos's answer is awaited this long unless `register_timeout_seconds` says otherwise.
pub const DEFAULT_REGISTER_TIMEOUT: Duration = Duration::from_secs(3);

impl ConnectionSettings {
    /// Reads the settings object (`null` is no settings).
    pub fn from_value(settings: &Value) -> ConnectionSettings {
        let mut out = ConnectionSettings::default();
        let Some(object) = settings.as_object() else {
            if !settings.is_null() {
                out.problems.push(format!("settings must be an object, not {settings}: ignored"));
            }
            return out;
        };
        for (key, value) in object {
            let mut number = |slot: &mut Option<f64>| match value {
                Value::Null => {}
                Value::Number(n) => *slot = n.as_f64(),
                Value::String(t) if t.trim().is_empty() => {}
                Value::String(t) => match t.trim().parse::<f64>() {
                    Ok(n) if n.is_finite() => *slot = Some(n),
                    _ => out.problems.push(format!("setting `{key}` is not a number ({value}): ignored")),
                },
                other => out.problems.push(format!("setting `{key}` is not a number ({other}): ignored")),
            };
            match key.as_str() {
                "rate_per_minute" => number(&mut out.rate_per_minute),
                "look_back_minutes" => number(&mut out.look_back_minutes),
                "look_back_hours" => number(&mut out.look_back_hours),
                "detail_max_age_hours" => number(&mut out.detail_max_age_hours),
                "register_timeout_seconds" => number(&mut out.register_timeout_seconds),
                "page_limit" => {
                    let mut limit = None;
                    number(&mut limit);
                    match limit {
                        Some(l) if l >= 0.0 && l.fract() == 0.0 && l <= f64::from(u32::MAX) => {
                            out.page_limit = Some(l as u32)
                        }
                        Some(l) => {
                            out.problems.push(format!("setting `page_limit` is not a whole number ({l}): ignored"))
                        }
                        None => {}
                    }
                }
                "modified_since_format" => out.modified_since_format = text(value),
                "event_param" => out.event_param = text(value),
                "event_time_zone" => out.event_time_zone = text(value),
                "ConcurrentSessionsTitle" => out.concurrent_sessions_title = text(value),
                "paths" => match value {
                    Value::Null => {}
                    Value::Object(paths) => {
                        for (stream, path) in paths {
                            match path.as_str().map(str::trim).filter(|p| !p.is_empty()) {
                                Some(p) => {
                                    out.paths.insert(stream.clone(), p.to_owned());
                                }
                                None => out
                                    .problems
                                    .push(format!("setting `paths.{stream}` is not a path ({path}): ignored")),
                            }
                        }
                    }
                    other => out.problems.push(format!("setting `paths` is not an object ({other}): ignored")),
                },
                _ => {
                    out.rules.insert(key.clone(), value.clone());
                }
            }
        }
        out
    }

    /// What is wrong with these settings, as an operator's form must hear it before saving:
    /// every setting that could not be read, an event time zone that is not an IANA name, a
    /// negative look-back or rate. Empty: the settings are sound.
    pub fn check(&self) -> Vec<String> {
        let mut out = self.problems.clone();
        if let Some(zone) = &self.event_time_zone
            && zone.parse::<chrono_tz::Tz>().is_err()
        {
            out.push(format!("setting `event_time_zone` is not an IANA time zone name ({zone:?})"));
        }
        for (name, value) in [
            ("look_back_minutes", self.look_back_minutes),
            ("look_back_hours", self.look_back_hours),
            ("rate_per_minute", self.rate_per_minute),
            ("detail_max_age_hours", self.detail_max_age_hours),
        ] {
            if value.is_some_and(|v| v < 0.0) {
                out.push(format!("setting `{name}` may not be negative"));
            }
        }
        if self.rate_per_minute == Some(0.0) {
            out.push("setting `rate_per_minute` must be above 0".into());
        }
        out
    }

    /// A rule setting as text.
    pub fn text(&self, name: &str) -> Option<String> {
        self.rules.get(name).and_then(crate::credentials::value_text)
    }

    /// The active statuses: the comma-separated rule setting (trimmed, lower-cased) or `default`.
    pub fn active_statuses(&self, setting: &str, default: &[String]) -> Vec<String> {
        match self.text(setting) {
            Some(list) => list.split(',').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect(),
            None => default.iter().map(|s| s.to_lowercase()).collect(),
        }
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
        self.event_param.as_deref().or(provider.event_param.as_deref())
    }

    /// The event's time zone name (UTC when none is set).
    pub fn event_time_zone(&self) -> &str {
        self.event_time_zone.as_deref().unwrap_or("UTC")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_are_typed_and_rule_settings_kept() {
        let s = ConnectionSettings::from_value(&json!({
            "rate_per_minute": 600, "page_limit": 0, "look_back_minutes": "10", "paths": {"persons": "/x/{event}"},
            "active_statuses": "Confirmed, Attended", "ConcurrentSessionsTitle": " Concurrent ",
            "register_timeout_seconds": 9, "event_time_zone": " Europe/Paris "
        }));
        assert_eq!(s.problems, Vec::<String>::new());
        assert_eq!((s.rate_per_minute, s.page_limit(500)), (Some(600.0), 1));
        assert_eq!(s.look_back(Duration::from_secs(86_400)), Duration::from_secs(600));
        assert_eq!((s.call_path("persons", "/p"), s.call_path("sessions", "/s")), ("/x/{event}", "/s"));
        assert_eq!(s.active_statuses("active_statuses", &["x".to_owned()]), ["confirmed", "attended"]);
        assert_eq!(s.concurrent_sessions_title.as_deref(), Some("Concurrent"));
        assert_eq!(s.register_timeout(), Duration::from_secs_f64(3.5));
        assert_eq!((s.event_time_zone(), s.detail_max_age()), ("Europe/Paris", chrono::Duration::hours(24)));
        let defaults = ConnectionSettings::from_value(&Value::Null);
        assert_eq!(defaults.look_back(Duration::from_secs(5)), Duration::from_secs(5));
        assert_eq!((defaults.register_timeout(), defaults.event_time_zone()), (DEFAULT_REGISTER_TIMEOUT, "UTC"));
        let blank = ConnectionSettings::from_value(&json!({"ConcurrentSessionsTitle": "  ", "event_param": ""}));
        assert_eq!((blank.concurrent_sessions_title, blank.event_param), (None, None));
    }

    #[test]
    fn check_names_what_a_form_must_refuse() {
        let good =
            ConnectionSettings::from_value(&json!({"event_time_zone": "America/New_York", "look_back_hours": 2}));
        assert_eq!(good.check(), Vec::<String>::new());
        let bad = ConnectionSettings::from_value(&json!({
            "event_time_zone": "Mars/Olympus", "look_back_hours": -1, "page_limit": "x"
        }));
        let problems = bad.check();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("IANA")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("look_back_hours` may not be negative")), "{problems:?}");
    }

    #[test]
    fn a_setting_that_cannot_be_read_is_left_at_its_default_and_named() {
        let s = ConnectionSettings::from_value(&json!({
            "page_limit": "lots", "rate_per_minute": [1], "look_back_hours": 2.5, "paths": {"persons": 7}
        }));
        assert_eq!((s.page_limit, s.rate_per_minute, s.look_back_hours), (None, None, Some(2.5)));
        assert!(s.paths.is_empty());
        assert_eq!(s.problems.len(), 3, "{:?}", s.problems);
        assert!(s.problems[0].starts_with("setting `page_limit` is not a number"), "{:?}", s.problems);
        let fraction = ConnectionSettings::from_value(&json!({"page_limit": 2.5}));
        assert_eq!((fraction.page_limit, fraction.problems.len()), (None, 1));
        assert_eq!(ConnectionSettings::from_value(&json!("x")).problems.len(), 1);
    }
}
