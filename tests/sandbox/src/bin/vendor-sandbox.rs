//! `vendor-sandbox [--port N] [--demo | --fixture FILE] [--meetmax-fixture FILE]`: serves the
//! sandbox on 127.0.0.1 until killed; `--demo` loads `tests/sandbox/fixtures/formstack-demo.json`
//! and `meetmax-demo.json` and the Aventri, Lenos and Cvent demo events, `--fixture` any Formstack fixture file of that shape,
//! `--meetmax-fixture` any MeetMax fixture. Prints `listening <url>` once ready.

use std::net::SocketAddr;

use vendor_sandbox::{Sandbox, fixtures};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = match args.iter().position(|a| a == "--port") {
        Some(i) => args.get(i + 1).ok_or_else(|| anyhow::anyhow!("--port needs a value"))?.parse()?,
        None => 0,
    };
    let sandbox = Sandbox::start(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    if args.iter().any(|a| a == "--demo") {
        sandbox.load_formstack(fixtures::demo_fixture()).await;
        sandbox.load_meetmax(fixtures::meetmax_demo_fixture()).await;
        sandbox.load_aventri(fixtures::aventri_demo_fixture()).await;
        sandbox.load_lenos(fixtures::lenos_demo_fixture()).await;
        sandbox.load_cvent(fixtures::cvent_demo_fixture(&sandbox.url)).await;
        sandbox.load_leads(fixtures::leads_demo_fixture()).await;
    }
    if let Some(fixture) = fixture_arg(&args, "--fixture")? {
        sandbox.load_formstack(fixture).await;
    }
    if let Some(fixture) = fixture_arg(&args, "--meetmax-fixture")? {
        sandbox.load_meetmax(fixture).await;
    }
    println!("listening {}", sandbox.url);
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// The fixture file named after `flag`, parsed.
fn fixture_arg<T: serde::de::DeserializeOwned>(args: &[String], flag: &str) -> anyhow::Result<Option<T>> {
    let Some(i) = args.iter().position(|a| a == flag) else { return Ok(None) };
    let path = args.get(i + 1).ok_or_else(|| anyhow::anyhow!("{flag} needs a file"))?;
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    serde_json::from_str(&text).map(Some).map_err(|e| anyhow::anyhow!("{path} is not a fixture for {flag}: {e}"))
}
