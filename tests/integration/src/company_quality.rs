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

/// Which evidence an automatic approval accepts (`integration.setting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Equal keys only (`dedupe.auto_approve_exact`).
    Exact,
    /// Equal keys, or a single candidate one typing slip away (`dedupe.auto_approve_one_slip` too).
    ExactOrOneSlip,
}

impl Rule {
    fn approves(self, s: &platform_domain::company::Suggestion) -> bool {
        s.exact_key || (self == Rule::ExactOrOneSlip && s.one_slip)
    }
}

/// Precision and recall figures.
#[derive(Debug, Default)]
pub struct Quality {
    /// Variants evaluated (positives + negatives).
    pub cases: usize,
    /// Variants of listed companies.
    pub positives: usize,
    /// Automatic approvals under the rule evaluated.
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

/// Evaluates the suggestions on `set`, automatic approvals under `rule`.
pub fn evaluate(set: &LabelledSet, rule: Rule) -> Quality {
    let index = CandidateIndex::new(set.clean_names.iter().cloned());
    score(&index, set.cases.iter(), rule)
}

/// Evaluates the suggestions on the half of `set` not reviewed yet, after the other half was
/// reviewed: each reviewed variant got its expected clean name (a variant of no listed company,
/// itself), and those decisions teach the index. The half is drawn at random with a fixed seed
/// (the set lists each company's variants in the same pattern, so a strict alternation would
/// never review one kind of variant, say the abbreviations, and teach nothing about them).
pub fn evaluate_after_reviews(set: &LabelledSet, rule: Rule) -> Quality {
    evaluate_unreviewed_half(set, true, rule)
}

/// [`evaluate_after_reviews`]'s half judged without learning from the other half's reviews (its
/// baseline).
pub fn evaluate_unreviewed_half(set: &LabelledSet, learn: bool, rule: Rule) -> Quality {
    let mut order: Vec<usize> = (0..set.cases.len()).collect();
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    for i in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let (reviewed, judged) = order.split_at(order.len() / 2);
    let reviews = reviewed.iter().filter(|_| learn).map(|&i| {
        let c = &set.cases[i];
        (c.name.clone(), c.expected.clone().unwrap_or_else(|| c.name.clone()))
    });
    let index = CandidateIndex::with_reviews(set.clean_names.iter().cloned(), reviews);
    score(&index, judged.iter().map(|&i| &set.cases[i]), rule)
}

fn score<'c>(index: &CandidateIndex, cases: impl Iterator<Item = &'c Case>, rule: Rule) -> Quality {
    let mut q = Quality::default();
    for case in cases {
        q.cases += 1;
        let Some(key) = normalise(&case.name) else { continue };
        let best = index.suggest(&key, 1).into_iter().next();
        let right = |clean: &str| case.expected.as_deref() == Some(clean);
        if case.expected.is_some() {
            q.positives += 1;
        }
        if let Some(best) = best {
            if rule.approves(&best) {
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
