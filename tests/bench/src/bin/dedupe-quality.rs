//! `dedupe-quality`: precision and recall of the company-name suggestions on the labelled set
//! (`tests/integration/fixtures/company-names.json`), at the automatic-approval rule and for the
//! top-1 suggestion.

use integration_tests::company_quality::{self, Rule};

fn main() {
    let set = company_quality::load();
    for rule in [Rule::Exact, Rule::ExactOrOneSlip] {
        report(&set, rule);
    }
}

fn report(set: &company_quality::LabelledSet, rule: Rule) {
    println!("== automatic approval on {rule:?}");
    let q = company_quality::evaluate(set, rule);
    println!(
        "labelled set: {} variants ({} of {} listed companies, {} hard negatives)",
        q.cases,
        q.positives,
        set.clean_names.len(),
        q.cases - q.positives
    );
    println!(
        "automatic approval: precision {:.3} ({}/{}), recall {:.3}",
        q.auto_precision(),
        q.auto_correct,
        q.auto_approved,
        q.auto_recall()
    );
    println!("top-1 suggestion: recall {:.3} ({}/{})", q.top1_recall(), q.top1_correct, q.positives);
    for m in &q.misses {
        println!("  miss: {m}");
    }
    let r = company_quality::evaluate_after_reviews(set, rule);
    let b = company_quality::evaluate_unreviewed_half(set, false, rule);
    println!(
        "after a random half of the variants was reviewed (its decisions teaching the index), on the other {}: \
         automatic approval precision {:.3} ({}/{}), recall {:.3} (without learning: {:.3})",
        r.cases,
        r.auto_precision(),
        r.auto_correct,
        r.auto_approved,
        r.auto_recall(),
        b.auto_recall()
    );
    for m in &r.misses {
        println!("  miss after reviews: {m}");
    }
}
