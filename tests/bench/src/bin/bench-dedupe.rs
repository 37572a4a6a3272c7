//! `bench-dedupe`: 10,000 new organisation names against 5,000 reviewed clean names
//! (deterministic synthetic names). (1) In memory: index build plus the best suggestions per name.
//! (2) With the stack (`DATABASE_URL` and `AWS_ENDPOINT_URL` set): one company-dedupe pass that
//! inserts the names, computes and stores their suggestions and runs the gate. Figures to
//! `target/bench/dedupe.json` beside a table. Automatic approval on the labelled set is measured
//! with both rules on (equal keys, or one typing slip), and with equal keys alone (`_exact_only`).

use std::time::Instant;

use integration_tests::{
    bench_report::{self, BenchReport, Goal},
    company_quality::{self, Rule},
};
use platform_domain::company::{CandidateIndex, normalise};

const ADJ: &[&str] = &[
    "Blue",
    "Red",
    "Silver",
    "Golden",
    "North",
    "South",
    "East",
    "West",
    "Prime",
    "Bright",
    "Swift",
    "Noble",
    "Royal",
    "Urban",
    "Rural",
    "Coastal",
    "Mountain",
    "River",
    "Lake",
    "Forest",
    "Summit",
    "Pioneer",
    "Liberty",
    "Eagle",
    "Falcon",
    "Cedar",
    "Oak",
    "Maple",
    "Granite",
    "Iron",
    "Crystal",
    "Sunrise",
    "Evergreen",
    "Harbor",
    "Valley",
    "Keystone",
    "Frontier",
    "Heritage",
    "Legacy",
    "Vista",
];
const NOUN: &[&str] = &[
    "Bridge",
    "Stone",
    "Point",
    "Path",
    "Field",
    "Gate",
    "Peak",
    "Ridge",
    "Crest",
    "Works",
    "Labs",
    "Logic",
    "Data",
    "Power",
    "Energy",
    "Health",
    "Medical",
    "Dental",
    "Legal",
    "Media",
    "Print",
    "Press",
    "Build",
    "Craft",
    "Source",
    "Link",
    "Net",
    "Wave",
    "Star",
    "Light",
    "Shield",
    "Guard",
    "Track",
    "Fleet",
    "Freight",
    "Foods",
    "Farms",
    "Textiles",
    "Metals",
    "Paper",
    "Chemicals",
    "Plastics",
    "Glass",
    "Tools",
    "Parts",
    "Motors",
    "Marine",
    "Aero",
    "Robotics",
    "Software",
];
const GENERIC: &[&str] = &["", "Services", "Group", "Solutions", "Systems", "Partners", "Supply", "Consulting"];

/// Places, a fourth word that makes ten times as many distinct clean names possible.
const PLACES: &[&str] =
    &["", "of Ohio", "Texas", "Pacific", "Atlantic", "Midwest", "Carolina", "Bay Area", "Rockies", "Gulf"];

/// `clean_n` clean names and `new_n` distinct new names derived from them (deterministic).
fn names(clean_n: usize, new_n: usize) -> (Vec<String>, Vec<String>) {
    let mut clean: Vec<String> = Vec::new();
    'outer: for p in PLACES {
        for g in GENERIC {
            for a in ADJ {
                for n in NOUN {
                    clean.push(format!("{a} {n} {g} {p}").split_whitespace().collect::<Vec<_>>().join(" "));
                    if clean.len() == clean_n {
                        break 'outer;
                    }
                }
            }
        }
    }
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let new_names: Vec<String> = std::iter::repeat_with(|| {
        let base = &clean[(next() % clean.len() as u64) as usize];
        match next() % 4 {
            0 => format!("{} INC", base.to_uppercase()),
            1 => format!("The {base}, LLC"),
            2 => {
                let mut s: Vec<char> = base.chars().collect();
                let i = 1 + (next() % (s.len() as u64 - 2)) as usize;
                s.remove(i);
                s.into_iter().collect()
            }
            _ => format!(
                "{} {} Holdings",
                ADJ[(next() % ADJ.len() as u64) as usize],
                NOUN[(next() % NOUN.len() as u64) as usize]
            ),
        }
    })
    .filter(|n| seen.insert(n.clone()))
    .take(new_n)
    .collect();
    (clean, new_names)
}

/// One company-dedupe pass over `new_names` against `clean` reviewed names, stored: seconds.
async fn stored_pass(clean: &[String], new_names: &[String]) -> anyhow::Result<f64> {
    let db = integration_tests::TestDb::new().await;
    let sdk = integration_tests::aws().await;
    let conn = db.warehouse.conn().await?;
    conn.execute(
        "INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed)
         SELECT c, c, true FROM unnest($1::text[]) c",
        &[&clean],
    )
    .await?;
    let mut distinct = new_names.to_vec();
    distinct.sort();
    distinct.dedup();
    let reg_ids: Vec<String> = (0..distinct.len()).map(|i| format!("b{i}")).collect();
    conn.execute(
        "INSERT INTO conferences_events.exchange_registration (registration_id, organization, approval_status, registration_status)
         SELECT id, org, 'Approved', 'Active' FROM unnest($1::text[], $2::text[]) AS u(id, org)",
        &[&reg_ids, &distinct],
    )
    .await?;
    drop(conn);
    let dedupe = platform_dedupe::Dedupe {
        warehouse: db.warehouse.clone(),
        sqs: platform_aws::SqsSender::new(aws_sdk_sqs::Client::new(&sdk)),
        meetmax_queue_url: integration_tests::new_queue(&sdk, "bench-meetmax").await,
        s3: platform_aws::s3::client(&sdk, true),
        review_bucket: None,
    };
    let t = Instant::now();
    let pass = dedupe.pass(None, "bench").await?;
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        pass.names.inserted as usize == distinct.len(),
        "inserted {} of {}",
        pass.names.inserted,
        distinct.len()
    );
    println!(
        "stored pass: {} new names against {} clean names, suggestions stored in {:.2} s ({} approved automatically: off by default; {} registrations released)",
        pass.names.inserted,
        clean.len(),
        secs,
        pass.names.auto_approved,
        pass.released.len()
    );
    Ok(secs)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (clean, new_names) = names(5_000, 10_000);
    let t = Instant::now();
    let index = CandidateIndex::new(clean.iter().cloned());
    let build = t.elapsed();
    let t = Instant::now();
    let mut exact = 0;
    let mut suggested = 0;
    for name in &new_names {
        let Some(key) = normalise(name) else { continue };
        let s = index.suggest(&key, 3);
        suggested += usize::from(!s.is_empty());
        exact += usize::from(s.first().is_some_and(|s| s.exact_key));
    }
    let run = t.elapsed();
    println!(
        "{} new names against {} clean names: index {:.0} ms, suggestions {:.0} ms ({:.0} names/s); {} with suggestions, {} exact keys",
        new_names.len(),
        index.len(),
        build.as_secs_f64() * 1e3,
        run.as_secs_f64() * 1e3,
        new_names.len() as f64 / run.as_secs_f64(),
        suggested,
        exact
    );

    let mut report = BenchReport::new("dedupe");
    report
        .parameter("new_names", new_names.len() as f64)
        .parameter("clean_names", index.len() as f64)
        .figure("index_build_ms", build.as_secs_f64() * 1e3, "ms", None)
        .figure("suggestions_ms", run.as_secs_f64() * 1e3, "ms", None)
        .figure("suggested_names", suggested as f64, "names", None)
        .figure("exact_keys", exact as f64, "names", None);
    // Learning from reviews, on the labelled set: half its variants reviewed first.
    let set = company_quality::load();
    let before = company_quality::evaluate_unreviewed_half(&set, false, Rule::ExactOrOneSlip);
    let after = company_quality::evaluate_after_reviews(&set, Rule::ExactOrOneSlip);
    let exact_only = company_quality::evaluate_after_reviews(&set, Rule::Exact);
    report
        .figure("auto_recall_half_without_reviews", before.auto_recall(), "", None)
        .figure("auto_precision_after_reviews_exact_only", exact_only.auto_precision(), "", None)
        .figure("auto_recall_after_reviews_exact_only", exact_only.auto_recall(), "", None)
        .figure("auto_precision_after_reviews", after.auto_precision(), "", Some(Goal::AtLeast(1.0)))
        .figure("auto_recall_after_reviews", after.auto_recall(), "", Some(Goal::AtLeast(0.9)));
    if std::env::var("DATABASE_URL").is_err() {
        println!("(DATABASE_URL not set: run under infra/local/stack.sh exec for the stored figure)");
        report.write()?;
        return Ok(());
    }
    let secs = stored_pass(&clean, &new_names).await?;
    // Ten times the scale: 100,000 new names against 50,000 reviewed clean names.
    let (clean_10x, new_10x) = names(bench_report::size(50_000), bench_report::size(100_000));
    let index_10x = CandidateIndex::new(clean_10x.iter().cloned());
    let t = Instant::now();
    for name in &new_10x {
        if let Some(key) = normalise(name) {
            index_10x.suggest(&key, 3);
        }
    }
    let suggest_10x = t.elapsed().as_secs_f64();
    println!(
        "suggestions at ten times the scale: {} names against {} in {suggest_10x:.2} s",
        new_10x.len(),
        index_10x.len()
    );
    let secs_10x = stored_pass(&clean_10x, &new_10x).await?;
    report
        .parameter("new_names_10x", new_10x.len() as f64)
        .parameter("clean_names_10x", index_10x.len() as f64)
        .figure("stored_pass_seconds", secs, "s", None)
        .figure("suggestions_seconds_100k", suggest_10x, "s", None)
        .figure("stored_pass_seconds_100k", secs_10x, "s", Some(Goal::AtMost(5.0)));
    report.write()?;
    Ok(())
}
