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
