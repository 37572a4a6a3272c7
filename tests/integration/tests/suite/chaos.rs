//! The whole pipeline under faults, short (one seed; `make chaos` runs many, and restarts
//! PostgreSQL too): every chain driven end to end with and without a seeded fault schedule, and
//! the faulted run's end state checked against the fault-free one's. Nothing lost, nothing twice,
//! every held record with its reason.

use integration_tests::chaos::{self, Options};

#[tokio::test]
async fn the_whole_pipeline_under_faults_loses_and_duplicates_nothing() {
    let options = Options { seed: 7, faults: false, restart_postgres: None, leads: 3 };
    let reference = chaos::run(&options).await;
    // The reference is a real run: every chain carried work to its end.
    let r = &reference.state;
    assert!(r.registrations.len() >= 10 && !r.meetmax_people.is_empty(), "{r:?}");
    let chain = |prefix: &str| r.deliveries.keys().filter(|k| k.starts_with(prefix)).count();
    assert_eq!(r.leads.keys().filter(|k| k.starts_with("endpoint/")).count(), 3, "{r:?}");
    assert!(r.leads.keys().any(|k| k.starts_with("lander/")), "the lander form's leads: {r:?}");
    assert_eq!(chain("endpoint/"), 12, "{r:?}");
    assert!(chain("lander/") >= 4, "{r:?}");
    assert!(r.deliveries.values().all(|s| s == "delivered"), "{r:?}");
    assert_eq!(r.confirmation_emails, 4, "one per integration that delivered");
    assert!(!r.participants.is_empty());
    assert_eq!((r.export.0.as_str(), r.export.1, r.export_emails), ("done", 3, 1), "{r:?}");
    assert!(reference.faults.is_empty());

    let faulted = chaos::run(&Options { faults: true, ..options }).await;
    assert!(faulted.faults.values().sum::<u64>() >= 5, "{:?}", faulted.faults);
    let violations = chaos::violations(&reference.state, &faulted.state);
    assert!(violations.is_empty(), "{violations:#?}\nfaults: {:?}", faulted.faults);
}
