//! The platform's CloudWatch metrics, written from one place as embedded-metric-format (EMF)
//! log lines: one JSON line on stdout per piece of work, which CloudWatch Logs turns into metrics
//! without a call to CloudWatch. Each line carries the function and the flow (a pull, a webhook,
//! a delivery, …) as dimensions, once as the pair and once the function alone (what the alarms
//! and the dashboard in `infra/template.yaml` read). The namespace is `METRICS_NAMESPACE`
//! (deployed: `platform/<stage>`), else `platform`.

use std::sync::Mutex;

use serde_json::{Map, Value, json};

/// The figures of one piece of work of one flow. Zero figures are written too: a flow that ran
/// and failed nothing says so.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Records (submissions, registrations, leads, requests, …) the work took in.
    pub processed: u64,
    /// Records that failed (each is also recorded next to its record).
    pub failed: u64,
    /// Whether the work ended partial: something failed or was left for later.
    pub partial: bool,
    /// Records delivered to where they go (a vendor, a client, a queue).
    pub delivered: u64,
    /// Records that changed nothing (replays, unchanged rows, duplicates).
    pub skipped: u64,
    /// Rows inserted or changed in the warehouse.
    pub rows_written: u64,
    /// Calls made to vendors.
    pub vendor_calls: u64,
    /// The vendor calls' latencies, in milliseconds (where they were timed).
    pub vendor_latency_ms: Vec<f64>,
}

impl Figures {
    /// The figures of a run record's counters: read → processed, written → rows written, and a
    /// run with failures is partial.
    pub fn of_run(counts: &platform_domain::run::RunCounts) -> Figures {
        Figures {
            processed: counts.read,
            failed: counts.failed,
            partial: counts.failed > 0,
            skipped: counts.skipped,
            rows_written: counts.written,
            ..Figures::default()
        }
    }
}

/// Every metric an EMF line declares, with its unit.
const METRICS: [(&str, &str); 8] = [
    ("Processed", "Count"),
    ("Failed", "Count"),
    ("Partial", "Count"),
    ("Delivered", "Count"),
    ("Skipped", "Count"),
    ("RowsWritten", "Count"),
    ("VendorCalls", "Count"),
    ("VendorLatency", "Milliseconds"),
];

/// Lines kept for [`captured`] when [`capture`] was called (tests read them there).
static CAPTURED: Mutex<Option<Vec<String>>> = Mutex::new(None);

/// The EMF line of `figures` for `function` and `flow`, at `timestamp_ms`.
pub fn line(namespace: &str, function: &str, flow: &str, figures: &Figures, timestamp_ms: i64) -> String {
    let values = [
        json!(figures.processed),
        json!(figures.failed),
        json!(u64::from(figures.partial)),
        json!(figures.delivered),
        json!(figures.skipped),
        json!(figures.rows_written),
        json!(figures.vendor_calls),
        json!(figures.vendor_latency_ms),
    ];
    let declared: Vec<Value> = METRICS
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.as_array().is_none_or(|a| !a.is_empty()))
        .map(|((name, unit), _)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut out = Map::new();
    out.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": [{
            "Namespace": namespace,
            "Dimensions": [["Function", "Flow"], ["Function"]],
            "Metrics": declared,
        }]}),
    );
    out.insert("Function".into(), json!(function));
    out.insert("Flow".into(), json!(flow));
    for ((name, _), value) in METRICS.iter().zip(values) {
        if value.as_array().is_none_or(|a| !a.is_empty()) {
            out.insert((*name).into(), value);
        }
    }
    Value::Object(out).to_string()
}

/// Writes the EMF line of `figures` to stdout (CloudWatch Logs).
pub fn emit(function: &str, flow: &str, figures: &Figures) {
    let namespace = std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "platform".into());
    let text = line(&namespace, function, flow, figures, chrono::Utc::now().timestamp_millis());
    if let Some(kept) = CAPTURED.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        kept.push(text.clone());
    }
    println!("{text}");
}

/// Keeps every line emitted from now on in this process, for [`captured`].
pub fn capture() {
    CAPTURED.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(Vec::new);
}

/// The lines emitted since [`capture`], parsed.
pub fn captured() -> Vec<Value> {
    CAPTURED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .flatten()
        .map(|l| serde_json::from_str(l).expect("EMF lines are JSON"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_emf_with_the_function_and_the_flow_as_dimensions() {
        let figures = Figures {
            processed: 3,
            failed: 1,
            partial: true,
            vendor_latency_ms: vec![12.5, 40.0],
            ..Figures::default()
        };
        let v: Value =
            serde_json::from_str(&line("platform/prod", "lead-delivery", "delivery", &figures, 1_700)).unwrap();
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_700);
        assert_eq!(directive["Namespace"], "platform/prod");
        assert_eq!(directive["Dimensions"], json!([["Function", "Flow"], ["Function"]]));
        assert_eq!((v["Function"].as_str(), v["Flow"].as_str()), (Some("lead-delivery"), Some("delivery")));
        assert_eq!((v["Processed"].as_u64(), v["Failed"].as_u64(), v["Partial"].as_u64()), (Some(3), Some(1), Some(1)));
        assert_eq!(v["VendorLatency"], json!([12.5, 40.0]));
        // Every declared metric has its value at the top level, as EMF requires.
        for m in directive["Metrics"].as_array().unwrap() {
            assert!(v.get(m["Name"].as_str().unwrap()).is_some(), "{m}");
        }
        // No latency timed: no latency declared.
        let plain: Value = serde_json::from_str(&line("p", "f", "x", &Figures::default(), 0)).unwrap();
        assert!(plain.get("VendorLatency").is_none());
        assert_eq!(plain["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len(), 7);
    }

    #[test]
    fn emitted_lines_can_be_captured() {
        capture();
        emit("meetmax-sync", "sync", &Figures { processed: 2, ..Figures::default() });
        let lines = captured();
        let last = lines.last().unwrap();
        assert_eq!((last["Function"].as_str(), last["Processed"].as_u64()), (Some("meetmax-sync"), Some(2)));
    }
}
