//! Quality of the company-name suggestions against the labelled set
//! `tests/integration/fixtures/company-names.json` (used by `dedupe-quality` and a test).

use platform_domain::company::{CandidateIndex, normalise};
use serde::Deserialize;

/// The labelled set.
#[derive(Debug, Deserialize)]
pub struct LabelledSet {
    /// Reviewed clean names.
    pub clean_names: Vec<String>,
    /// Variants with the clean name they belong to (`None`: not a listed company).
    pub cases: Vec<Case>,
}

/// One labelled variant.
#[derive(Debug, Deserialize)]
pub struct Case {
    /// As typed.
    pub name: String,
    /// The clean name it belongs to, if listed.
    pub expected: Option<String>,
}

/// Precision and recall figures.
#[derive(Debug, Default)]
pub struct Quality {
    /// Variants evaluated (positives + negatives).
    pub cases: usize,
    /// Variants of listed companies.
    pub positives: usize,
    /// Automatic approvals (normalised key equal to a clean name's key).
    pub auto_approved: usize,
    /// Automatic approvals that chose the right clean name.
    pub auto_correct: usize,
    /// Positives whose best suggestion is the right clean name.
    pub top1_correct: usize,
    /// Wrong top-1 suggestions and wrong automatic approvals, for the report.
    pub misses: Vec<String>,
}

impl Quality {
    /// Precision of automatic approvals.
    pub fn auto_precision(&self) -> f64 {
        if self.auto_approved == 0 { 1.0 } else { self.auto_correct as f64 / self.auto_approved as f64 }
    }
    /// Share of positives approved automatically (and rightly).
    pub fn auto_recall(&self) -> f64 {
        self.auto_correct as f64 / self.positives.max(1) as f64
    }
    /// Top-1 recall over positives.
    pub fn top1_recall(&self) -> f64 {
        self.top1_correct as f64 / self.positives.max(1) as f64
    }
}

/// The labelled set shipped with the tests.
pub fn load() -> LabelledSet {
    serde_json::from_str(include_str!("../fixtures/company-names.json")).expect("labelled set parses")
}

/// Evaluates the suggestions on `set`.
pub fn evaluate(set: &LabelledSet) -> Quality {
    let index = CandidateIndex::new(set.clean_names.iter().cloned());
    let mut q = Quality { cases: set.cases.len(), ..Default::default() };
    for case in &set.cases {
        let Some(key) = normalise(&case.name) else { continue };
        let best = index.suggest(&key, 1).into_iter().next();
        let right = |clean: &str| case.expected.as_deref() == Some(clean);
        if case.expected.is_some() {
            q.positives += 1;
        }
        if let Some(best) = best {
            if best.exact_key {
                q.auto_approved += 1;
                if right(&best.clean) {
                    q.auto_correct += 1;
                } else {
                    q.misses.push(format!(
                        "auto-approved {:?} as {:?} (expected {:?})",
                        case.name, best.clean, case.expected
                    ));
                }
            }
            if case.expected.is_some() {
                if right(&best.clean) {
                    q.top1_correct += 1;
                } else {
                    q.misses.push(format!(
                        "top-1 for {:?} is {:?} ({:.2}), expected {:?}",
                        case.name, best.clean, best.score, case.expected
                    ));
                }
            }
        }
    }
    q
}
