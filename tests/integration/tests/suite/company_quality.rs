//! The company-name suggestions meet the quality targets on the labelled set:
//! precision ≥ 0.98 for automatic approvals and top-1 recall ≥ 0.85.

#[test]
fn suggestions_meet_the_precision_and_recall_targets() {
    let set = integration_tests::company_quality::load();
    assert!(set.cases.len() >= 300, "at least 300 labelled variants");
    let q = integration_tests::company_quality::evaluate(&set);
    assert!(q.auto_precision() >= 0.98, "auto-approval precision {:.3}: {:#?}", q.auto_precision(), q.misses);
    assert!(q.top1_recall() >= 0.85, "top-1 recall {:.3}: {:#?}", q.top1_recall(), q.misses);
    assert!(q.auto_approved > 0, "the rule approves something");
}

#[test]
fn reviewed_decisions_teach_the_automatic_approval() {
    // Half the variants reviewed first; the other half judged with what those decisions taught.
    let set = integration_tests::company_quality::load();
    let before = integration_tests::company_quality::evaluate_unreviewed_half(&set, false);
    let after = integration_tests::company_quality::evaluate_after_reviews(&set);
    assert_eq!(before.cases, after.cases, "the same half judged");
    assert_eq!(after.auto_precision(), 1.0, "no wrong automatic approval: {:#?}", after.misses);
    assert!(
        after.auto_recall() > before.auto_recall(),
        "reviews raise the recall of automatic approval: {:.3} → {:.3}",
        before.auto_recall(),
        after.auto_recall()
    );
}
