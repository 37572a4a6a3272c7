//! `bench-cold-start`: each function's deployable size and its start-up time, beside a
//! `lambda_runtime` hello-world (`tests/hello-lambda`) built the same way.
//!
//! - **Size**: the stripped arm64 `bootstrap` that `cargo lambda build --release --arm64` makes
//!   (`target/lambda/<function>/bootstrap`, what `make build` deploys).
//! - **Start-up**: from process start to the function's first request for an event, from a
//!   minimal Lambda runtime API served here (`GET /2018-06-01/runtime/invocation/next`), with the
//!   warehouse and moto of the stack reachable and the configuration `make run` gives. This
//!   machine is x86_64 and cannot run arm64 code, so start-up is timed on the x86_64 release
//!   builds (`target/release/<function>`, the same profile), in the environment Lambda gives and
//!   nothing of this machine's. [`RUNS`] rounds start every binary once each; the median counts.
//!
//! Figures to `target/bench/cold-start.json` beside a table. Needs the stack (`DATABASE_URL`,
//! `AWS_ENDPOINT_URL`) and both builds: run through `make bench`.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use axum::{Router, extract::State, routing::get};
use integration_tests::bench_report::{BenchReport, Goal};
use tokio::sync::mpsc;

/// The functions, as packaged.
const FUNCTIONS: [&str; 7] = [
    "formstack-intake",
    "company-dedupe",
    "meetmax-sync",
    "connector-pull",
    "session-register",
    "lead-delivery",
    "spreadsheet-export",
];
const HELLO: &str = "hello-lambda";
/// Starts per binary (rounds).
const RUNS: usize = 21;
/// A start that asks for no event within this long failed.
const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .fallback(|| async { axum::http::StatusCode::ACCEPTED })
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = listener.local_addr()?.to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut report = BenchReport::new("cold-start");
    report.parameter("runs", RUNS as f64);
    // Round after round, every binary started once per round: a slower spell of this shared
    // machine then weighs on all of them alike, not on whichever was being timed.
    let binaries: Vec<PathBuf> =
        std::iter::once(HELLO).chain(FUNCTIONS).map(|name| target.join("release").join(name)).collect();
    let mut times = vec![Vec::with_capacity(RUNS); binaries.len()];
    for _ in 0..RUNS {
        for (binary, times) in binaries.iter().zip(&mut times) {
            times.push(start_up(binary, &api, &mut rx).await?);
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    let hello_ms = medians[0];
    let hello_mb = size_mb(&target, HELLO)?;
    println!("{HELLO:<20} {hello_mb:>6.2} MB  start-up {hello_ms:>7.2} ms (median of {RUNS})");
    report.figure("hello_world_mb", hello_mb, "MB", None).figure("hello_world_init_ms", hello_ms, "ms", None);
    let (mut largest, mut slowest) = (0.0f64, 0.0f64);
    for (f, &ms) in FUNCTIONS.iter().zip(&medians[1..]) {
        let mb = size_mb(&target, f)?;
        let ratio = ms / hello_ms;
        println!("{f:<20} {mb:>6.2} MB  start-up {ms:>7.2} ms = {ratio:.2} x the hello-world");
        let key = f.replace('-', "_");
        report.figure(&format!("{key}_mb"), mb, "MB", None).figure(&format!("{key}_init_ms"), ms, "ms", None).figure(
            &format!("{key}_init_ratio"),
            ratio,
            "x",
            None,
        );
        largest = largest.max(mb);
        slowest = slowest.max(ratio);
    }
    report.figure("binary_mb_max", largest, "MB", Some(Goal::AtMost(12.0))).figure(
        "init_ratio_to_hello_world_max",
        slowest,
        "x",
        Some(Goal::AtMost(2.0)),
    );
    report.write()?;
    Ok(())
}

/// The runtime API's "next event": notes when it was asked, then never answers (the process is
/// stopped once its start-up is timed).
async fn next(State(tx): State<mpsc::UnboundedSender<Instant>>) -> &'static str {
    let _ = tx.send(Instant::now());
    std::future::pending::<()>().await;
    ""
}

/// The stripped arm64 bootstrap's size in MB (10^6 bytes).
fn size_mb(target: &Path, name: &str) -> anyhow::Result<f64> {
    let path: PathBuf = target.join("lambda").join(name).join("bootstrap");
    let bytes = std::fs::metadata(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e} (build it with cargo lambda build --release --arm64)", path.display()))?
        .len();
    Ok(bytes as f64 / 1e6)
}

/// The time, in ms, from starting `binary` to its first request for an event.
async fn start_up(binary: &Path, api: &str, rx: &mut mpsc::UnboundedReceiver<Instant>) -> anyhow::Result<f64> {
    anyhow::ensure!(binary.exists(), "{} is missing (cargo build --release)", binary.display());
    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(function_env())
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn()?;
    let asked = tokio::time::timeout(PATIENCE, rx.recv()).await;
    let exited = child.try_wait()?;
    child.kill().ok();
    let output = child.wait_with_output()?;
    match asked {
        Ok(Some(at)) => Ok(at.duration_since(started).as_secs_f64() * 1000.0),
        _ => anyhow::bail!(
            "{} asked for no event (exit: {exited:?}): {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// The whole environment of a deployed function, and nothing of this machine's (its
/// `SSL_CERT_FILE`, for one, would have every HTTPS client parse a certificate bundle at start-up):
/// the variables Lambda defines for every function, and the configuration of each (every
/// function's variables; each reads its own), pointed at the stack: the warehouse, and moto for AWS.
fn function_env() -> Vec<(String, String)> {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    let endpoint = var("AWS_ENDPOINT_URL", "http://127.0.0.1:5000");
    let queue = |name: &str| format!("{endpoint}/123456789012/{name}");
    [
        ("DATABASE_URL", var("DATABASE_URL", "postgres://postgres@127.0.0.1/postgres")),
        ("AWS_ENDPOINT_URL", endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_SESSION_TOKEN", "testing".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("TZ", ":UTC".into()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("_HANDLER", "bootstrap".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_LAMBDA_FUNCTION_NAME", "cold-start".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "cold-start".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "cold-start".into()),
        ("FORMSTACK_SECRET_ID", "platform/local/formstack".into()),
        ("FORMSTACK_API_URL", "http://127.0.0.1:9/api/v2".into()),
        ("DEDUPE_QUEUE_URL", queue("dedupe")),
        ("MEETMAX_QUEUE_URL", queue("meetmax")),
        ("REVIEW_BUCKET", "review".into()),
        ("CONNECTOR_QUEUE_URL", queue("connector")),
        ("CONNECTOR_BUCKET", "connector".into()),
        ("REGISTER_APP_KEYS_SECRET_ID", "platform/local/register".into()),
        ("LEAD_QUEUE_URL", queue("leads")),
        ("LEAD_ENDPOINT_KEYS_SECRET_ID", "platform/local/lead-keys".into()),
        ("LEAD_EMAIL_FROM", "leads@example.org".into()),
        ("LEAD_BUCKET", "leads".into()),
        ("LEAD_TEAM_EMAIL", "team@example.org".into()),
        ("EXPORT_QUEUE_URL", queue("export")),
        ("EXPORT_BUCKET", "exports".into()),
        ("EXPORT_EMAIL_FROM", "exports@example.org".into()),
        ("S3_FORCE_PATH_STYLE", "true".into()),
        ("RUST_LOG", "warn".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
