//! Tracing set-up: JSON lines to stdout (CloudWatch). The filter is `RUST_LOG` when set, else
//! Lambda's `AWS_LAMBDA_LOG_LEVEL` (set by the function's logging configuration), else `info`.

use tracing_subscriber::{EnvFilter, fmt};

/// Installs the JSON subscriber once; later calls do nothing.
pub fn init() {
    let directive = filter_directive(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_ansi(false)
        .without_time()
        .try_init();
}

/// The filter: `RUST_LOG` when set, else Lambda's log level (`TRACE`, `DEBUG`, `INFO`, `WARN`,
/// `ERROR`, `FATAL` → `error`), else `info`.
pub fn filter_directive(rust_log: Option<&str>, lambda_level: Option<&str>) -> String {
    if let Some(r) = rust_log.map(str::trim).filter(|r| !r.is_empty()) {
        return r.to_owned();
    }
    match lambda_level.map(|l| l.trim().to_ascii_lowercase()).as_deref() {
        Some(l @ ("trace" | "debug" | "info" | "warn" | "error")) => l.to_owned(),
        Some("fatal") => "error".into(),
        _ => "info".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_wins_then_lambdas_level_then_info() {
        assert_eq!(filter_directive(Some("warn,platform_meetmax=debug"), Some("DEBUG")), "warn,platform_meetmax=debug");
        assert_eq!(filter_directive(None, Some("DEBUG")), "debug");
        assert_eq!(filter_directive(Some(" "), Some("WARN")), "warn");
        assert_eq!(filter_directive(None, Some("FATAL")), "error");
        assert_eq!(filter_directive(None, Some("loud")), "info");
        assert_eq!(filter_directive(None, None), "info");
    }
}
