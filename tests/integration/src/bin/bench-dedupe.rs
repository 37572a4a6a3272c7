//! `bench-dedupe`: suggestion speed for 10,000 new organisation names against 5,000 reviewed clean
//! names (deterministic synthetic names), in memory: index build plus the best three suggestions
//! per name. Storing them is not part of this figure yet (company-dedupe is in progress).

use std::time::Instant;

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

fn main() {
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
    let new_names: Vec<String> = (0..10_000)
        .map(|_| {
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
}
