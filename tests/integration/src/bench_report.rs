//! One format for every benchmark: `target/bench/<name>.json` holds a flat object of figures
//! and the parameters the run used (every value a number), `target/bench/<name>.md` the same
//! figures as a human-readable table with their goals, which is also printed.

use std::fmt::Write as _;
use std::path::PathBuf;

/// What a figure should be.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// At least this.
    AtLeast(f64),
    /// At most this.
    AtMost(f64),
}

impl Goal {
    fn met(self, value: f64) -> bool {
        match self {
            Goal::AtLeast(g) => value >= g,
            Goal::AtMost(g) => value <= g,
        }
    }

    fn shown(self) -> String {
        match self {
            Goal::AtLeast(g) => format!(">= {}", number(g)),
            Goal::AtMost(g) => format!("<= {}", number(g)),
        }
    }
}

/// `BENCH_QUICK=1` runs every benchmark at a tenth of its size (a smoke check).
pub fn quick() -> bool {
    std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1")
}

/// `n`, or a tenth of it under `BENCH_QUICK=1`.
pub fn size(n: usize) -> usize {
    if quick() { (n / 10).max(1) } else { n }
}

/// The figures of one benchmark run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    name: String,
    parameters: Vec<(String, f64)>,
    figures: Vec<(String, f64, String, Option<Goal>)>,
}

impl BenchReport {
    /// A report named `name` (the file name under `target/bench/`).
    pub fn new(name: &str) -> BenchReport {
        BenchReport { name: name.to_owned(), parameters: Vec::new(), figures: Vec::new() }
    }

    /// A parameter the run used.
    pub fn parameter(&mut self, name: &str, value: f64) -> &mut Self {
        self.parameters.push((name.to_owned(), value));
        self
    }

    /// A measured figure with its unit and goal.
    pub fn figure(&mut self, name: &str, value: f64, unit: &str, goal: Option<Goal>) -> &mut Self {
        self.figures.push((name.to_owned(), value, unit.to_owned(), goal));
        self
    }

    /// A figure's value.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.figures.iter().find(|f| f.0 == name).map(|f| f.1)
    }

    /// The figures that miss their goal.
    pub fn missed(&self) -> Vec<String> {
        self.figures
            .iter()
            .filter(|(_, v, _, g)| g.is_some_and(|g| !g.met(*v)))
            .map(|(n, v, _, g)| format!("{n} = {} (goal {})", number(*v), g.expect("goal").shown()))
            .collect()
    }

    /// The flat JSON object: figures, then parameters.
    pub fn json(&self) -> serde_json::Value {
        let mut o = serde_json::Map::new();
        for (n, v, _, _) in &self.figures {
            o.insert(n.clone(), serde_json::json!(v));
        }
        for (n, v) in &self.parameters {
            o.insert(n.clone(), serde_json::json!(v));
        }
        serde_json::Value::Object(o)
    }

    /// The human-readable table (Markdown).
    pub fn table(&self) -> String {
        let mut t = format!("## {}\n\n| figure | value | unit | goal | met |\n|---|---:|---|---|---|\n", self.name);
        for (n, v, u, g) in &self.figures {
            let (goal, met) = match g {
                Some(g) => (g.shown(), if g.met(*v) { "yes" } else { "NO" }),
                None => (String::new(), ""),
            };
            let _ = writeln!(t, "| {n} | {} | {u} | {goal} | {met} |", number(*v));
        }
        t.push_str("\nparameters: ");
        let shown: Vec<String> = self.parameters.iter().map(|(n, v)| format!("{n} = {}", number(*v))).collect();
        t.push_str(&shown.join(", "));
        t.push('\n');
        t
    }

    /// Prints the table and writes `<target>/bench/<name>.json` and `.md`.
    pub fn write(&self) -> anyhow::Result<PathBuf> {
        let dir = bench_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}.json", self.name));
        std::fs::write(&path, serde_json::to_string_pretty(&self.json())? + "\n")?;
        std::fs::write(dir.join(format!("{}.md", self.name)), self.table())?;
        println!("{}", self.table());
        println!("figures written to {}", path.canonicalize().unwrap_or(path.clone()).display());
        Ok(path)
    }
}

/// `$CARGO_TARGET_DIR/bench`, or the workspace's `target/bench`.
pub fn bench_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => PathBuf::from(t).join("bench"),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/bench")),
    }
}

fn number(v: f64) -> String {
    if (v.fract() == 0.0 && v.abs() < 1e15) || v.abs() >= 100.0 { format!("{v:.0}") } else { format!("{v:.3}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_and_parameters_are_one_flat_object_and_goals_are_checked() {
        let mut r = BenchReport::new("x");
        r.parameter("records", 50_000.0)
            .figure("per_second", 21_000.7, "records/s", Some(Goal::AtLeast(20_000.0)))
            .figure("requests", 4.0, "requests", Some(Goal::AtMost(3.0)));
        assert_eq!(r.json(), serde_json::json!({"per_second": 21_000.7, "requests": 4.0, "records": 50_000.0}));
        assert_eq!(r.missed(), ["requests = 4 (goal <= 3)"]);
        assert!(r.table().contains("| per_second | 21001 | records/s | >= 20000 | yes |"), "{}", r.table());
    }
}
