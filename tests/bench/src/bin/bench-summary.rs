//! `bench-summary`: the last lines of `make bench`. Reads every benchmark's table in
//! `target/bench/*.md` (written by `integration_tests::bench_report`) and prints one table of
//! every figure that has a goal, with whether it was met, then the figures that missed theirs.

fn main() -> anyhow::Result<()> {
    let dir = integration_tests::bench_report::bench_dir();
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    let mut rows = Vec::new();
    let mut missed = Vec::new();
    for path in &files {
        let bench = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        for line in std::fs::read_to_string(path)?.lines() {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            // | figure | value | unit | goal | met |
            if cells.len() == 5 && !cells[3].is_empty() && cells[3] != "goal" && !cells[3].starts_with("---") {
                rows.push(format!(
                    "| {bench} | {} | {} {} | {} | {} |",
                    cells[0], cells[1], cells[2], cells[3], cells[4]
                ));
                if cells[4] != "yes" {
                    missed.push(format!("{bench}.{} = {} (goal {})", cells[0], cells[1], cells[3]));
                }
            }
        }
    }
    println!("## Every figure with a goal ({} benchmarks in {})\n", files.len(), dir.display());
    println!("| benchmark | figure | value | goal | met |\n|---|---|---:|---|---|");
    for r in &rows {
        println!("{r}");
    }
    if missed.is_empty() {
        println!("\nevery goal met");
    } else {
        println!("\ngoals missed: {}", missed.join("; "));
    }
    Ok(())
}
