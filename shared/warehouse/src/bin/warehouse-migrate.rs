//! `warehouse-migrate`: applies pending migrations to the database named by `DATABASE_URL`
//! (used by `make migrate` and deploy pipelines).

use std::process::ExitCode;

use platform_warehouse::{DbSettings, Warehouse, migrate::migrate};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warehouse-migrate: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is required")?;
    let warehouse = Warehouse::new(&DbSettings::from_url(&url)?.with_ca_file(std::env::var("DATABASE_CA_FILE").ok()))?;
    let applied = migrate(&warehouse).await?;
    if applied.is_empty() {
        println!("warehouse is up to date");
    } else {
        println!("applied migrations {applied:?}");
    }
    Ok(())
}
