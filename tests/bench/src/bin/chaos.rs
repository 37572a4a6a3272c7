//! `chaos`: the whole pipeline under seeded faults, seed after seed (`make chaos`, `SEEDS=<n>`,
//! default 20). Each seed is run twice, fault-free and faulted (vendor 429/5xx/resets and errors
//! inside a 200, every message twice and out of order, batches killed in the middle, the
//! warehouse's connections terminated, PostgreSQL restarted through the stack's
//! `STACK_PG_RESTART`). The faulted run's end state is checked against the fault-free one's
//! (`integration_tests::chaos::violations`). Figures: `target/bench/chaos.json`: seeds run, faults
//! injected by kind, invariant violations (goal 0). Needs the stack: run through
//! `infra/local/stack.sh exec`.

use std::collections::BTreeMap;

use integration_tests::{
    bench_report::{BenchReport, Goal},
    chaos::{self, Options},
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seeds: u64 = std::env::var("SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let first: u64 = std::env::var("FIRST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let restart = std::env::var_os("STACK_PG_RESTART").map(std::path::PathBuf::from);
    let mut faults: BTreeMap<String, u64> = BTreeMap::new();
    let mut violations = Vec::new();
    for seed in first..first + seeds {
        let options = Options { seed, faults: false, restart_postgres: None, leads: 5 };
        let reference = chaos::run(&options).await;
        let faulted = chaos::run(&Options { faults: true, restart_postgres: restart.clone(), ..options }).await;
        let found = chaos::violations(&reference.state, &faulted.state);
        println!(
            "seed {seed}: {} faults ({:?}), {} violations",
            faulted.faults.values().sum::<u64>(),
            faulted.faults,
            found.len()
        );
        for v in &found {
            println!("  seed {seed}: {v}");
        }
        for (kind, n) in faulted.faults {
            *faults.entry(kind).or_default() += n;
        }
        violations.extend(found.into_iter().map(|v| format!("seed {seed}: {v}")));
    }
    let mut r = BenchReport::new("chaos");
    r.parameter("first_seed", first as f64).parameter("leads_per_run", 5.0);
    r.figure("seeds_run", seeds as f64, "seeds", None);
    r.figure("faults_injected", faults.values().sum::<u64>() as f64, "faults", None);
    for (kind, n) in &faults {
        let name: String =
            kind.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
        r.figure(&format!("faults_{name}"), *n as f64, "faults", None);
    }
    r.figure("invariant_violations", violations.len() as f64, "violations", Some(Goal::AtMost(0.0)));
    r.write()?;
    anyhow::ensure!(violations.is_empty(), "{} invariant violations:\n{}", violations.len(), violations.join("\n"));
    Ok(())
}
