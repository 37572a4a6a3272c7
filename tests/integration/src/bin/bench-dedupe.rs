//! `bench-dedupe`: 10,000 new organisation names against 5,000 reviewed clean names
//! (deterministic synthetic names). (1) In memory: index build plus the best suggestions per name.
//! (2) With the stack (`DATABASE_URL` and `AWS_ENDPOINT_URL` set): one company-dedupe pass that
//! inserts the names, computes and stores their suggestions and runs the gate. Figures to
//! `target/bench/dedupe.json` beside a table.

use std::time::Instant;

use integration_tests::bench_report::{BenchReport, Goal};
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut clean: Vec<String> = Vec::new();
    'outer: for g in GENERIC {
        for a in ADJ {
            for n in NOUN {
                clean.push(format!("{a} {n} {g}").trim().to_owned());
                if clean.len() == 5_000 {
                    break 'outer;
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
    .take(10_000)
    .collect();

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
    let set = integration_tests::company_quality::load();
    let before = integration_tests::company_quality::evaluate_unreviewed_half(&set, false);
    let after = integration_tests::company_quality::evaluate_after_reviews(&set);
    report
        .figure("auto_recall_half_without_reviews", before.auto_recall(), "", None)
        .figure("auto_precision_after_reviews", after.auto_precision(), "", Some(Goal::AtLeast(1.0)))
        .figure("auto_recall_after_reviews", after.auto_recall(), "", Some(Goal::AtLeast(0.9)));
    if std::env::var("DATABASE_URL").is_err() {
        println!("(DATABASE_URL not set: run under infra/local/stack.sh exec for the stored figure)");
        report.write()?;
        return Ok(());
    }
    let db = integration_tests::TestDb::new().await;
    let sdk = integration_tests::aws().await;
    let conn = db.warehouse.conn().await?;
    conn.execute(
        "INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed)
         SELECT c, c, true FROM unnest($1::text[]) c",
        &[&clean],
    )
    .await?;
    let mut distinct = new_names.clone();
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
        "stored pass: {} new names inserted with suggestions stored in {:.2} s ({} approved automatically: off by default; {} registrations released)",
        pass.names.inserted,
        secs,
        pass.names.auto_approved,
        pass.released.len()
    );
    report.figure("stored_pass_seconds", secs, "s", None);
    report.write()?;
    Ok(())
}
