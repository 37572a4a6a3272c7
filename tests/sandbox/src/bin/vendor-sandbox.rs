//! `vendor-sandbox [--port N] [--demo]`: serves the sandbox on 127.0.0.1 until killed; with
//! `--demo`, loads the demo Formstack fixture. Prints `listening <url>` once ready.

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
    }
    println!("listening {}", sandbox.url);
    tokio::signal::ctrl_c().await?;
    Ok(())
}
