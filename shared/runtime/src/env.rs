//! Deploy-time settings from environment variables, with one clear error at start-up.

use std::{collections::HashMap, fmt::Display, str::FromStr};

/// A missing or unusable environment variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set or empty.
    #[error("environment variable {0} is required but not set")]
    Missing(String),
    /// A variable's value does not parse.
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
}

/// A snapshot of the environment (or of a map, in tests). `Debug` lists the variable names
/// only: the process environment holds AWS session credentials (and, locally, a `DATABASE_URL`
/// with its password).
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Env").field("names", &names).field("values", &"[redacted]").finish()
    }
}

impl Env {
    /// The process environment.
    pub fn from_process() -> Env {
        Env { vars: std::env::vars().collect() }
    }

    /// An environment from pairs (tests, tools).
    pub fn from_pairs<I: IntoIterator<Item = (K, V)>, K: Into<String>, V: Into<String>>(pairs: I) -> Env {
        Env { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// A variable that must be set and non-empty.
    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.optional(name).ok_or_else(|| ConfigError::Missing(name.to_owned()))
    }

    /// A variable that may be absent (empty counts as absent).
    pub fn optional(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// A parsed variable with a default.
    pub fn parse_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name: name.to_owned(),
                reason: e.to_string(),
                value,
            }),
        }
    }

    /// A boolean variable (`true/false/1/0/yes/no`) with a default.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
            Some(value) => {
                Err(ConfigError::Invalid { name: name.to_owned(), value, reason: "expected true or false".into() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_optional_parsed_and_flags() {
        let env = Env::from_pairs([("A", "x"), ("EMPTY", " "), ("N", "12"), ("BAD", "twelve"), ("F", "Yes")]);
        assert_eq!(env.required("A").unwrap(), "x");
        assert_eq!(env.required("EMPTY"), Err(ConfigError::Missing("EMPTY".into())));
        assert_eq!(env.parse_or("N", 5u32).unwrap(), 12);
        assert_eq!(env.parse_or("MISSING", 5u32).unwrap(), 5);
        let err = env.parse_or("BAD", 5u32).unwrap_err();
        assert!(err.to_string().contains("BAD=\"twelve\" is invalid"), "{err}");
        assert!(env.flag("F", false).unwrap());
        assert!(env.flag("A", false).is_err());
    }

    #[test]
    fn debug_shows_names_never_values() {
        let env =
            Env::from_pairs([("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"), ("DATABASE_URL", "postgres://u:hunter2@h/d")]);
        let dbg = format!("{env:?}");
        assert!(dbg.contains("AWS_SECRET_ACCESS_KEY") && dbg.contains("DATABASE_URL"), "{dbg}");
        assert!(!dbg.contains("wJalrXUtnFEMI") && !dbg.contains("hunter2"), "{dbg}");
    }
}
