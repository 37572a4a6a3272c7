//! meetmax-sync beside the scripts it replaces: passwords as an explicit choice,
//! exclusions by registration with a reason.

use integration_tests::meetmax_support::{MeetmaxHarness, Reg};
use platform_meetmax::Outcome;
use platform_vendors::meetmax::ErrorClass;

#[tokio::test]
async fn an_event_with_neither_a_password_secret_nor_no_password_is_refused() {
    let h = MeetmaxHarness::new().await;
    h.db.exec("UPDATE integration.meetmax_event SET no_password = false, password_secret_id = NULL").await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("n1", "Keynote Speakers LLC") }).await;
    let refused = h.sync.run(None, "test").await.unwrap();
    match &refused.outcomes["n1"] {
        Outcome::Failed { class, message } => {
            assert_eq!(*class, ErrorClass::Transient, "comes back once configured");
            assert!(message.contains("no_password") && message.contains("password_secret_id"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.calls("attendee/add").await, 0, "nothing sent");
    let status = h.warehouse_outcome("n1").await.1.unwrap_or_default();
    assert!(status.contains("no_password"), "the record says why: {status}");
    h.db.exec("UPDATE integration.meetmax_event SET no_password = true").await;
    let sent = h.sync.run(None, "test").await.unwrap();
    assert!(matches!(sent.outcomes["n1"], Outcome::Added(_)), "{:?}", sent.outcomes);
    let record =
        h.records().await.into_iter().find(|r| r.fields.get("crm_id").map(String::as_str) == Some("n1")).unwrap();
    assert!(!record.fields.contains_key("password"), "created without a password, by choice");
}

#[tokio::test]
async fn an_excluded_registration_is_not_sent_and_says_why_until_the_exclusion_is_removed() {
    let h = MeetmaxHarness::new().await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("x1", "Keynote Speakers LLC") }).await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("x2", "Keynote Speakers LLC") }).await;
    h.db.exec(
        "INSERT INTO integration.meetmax_exclusion (registration_id, reason, excluded_by) VALUES ('x1', 'duplicate of x2', 'ops')",
    )
    .await;
    let report = h.sync.run(None, "test").await.unwrap();
    assert_eq!(report.outcomes["x1"], Outcome::Ineligible("excluded: duplicate of x2".into()));
    assert!(matches!(report.outcomes["x2"], Outcome::Added(_)));
    assert_eq!(h.warehouse_outcome("x1").await, (None, Some("not sent: excluded: duplicate of x2".into())));
    assert_eq!(h.record_counts().await.0.get("x1"), None);
    let refused =
        h.db.rows("INSERT INTO integration.meetmax_exclusion (registration_id, reason) VALUES ('x2', ' ') RETURNING 1");
    let refused = std::panic::AssertUnwindSafe(refused);
    assert!(futures_util::FutureExt::catch_unwind(refused).await.is_err(), "a reason is required");

    h.db.exec("DELETE FROM integration.meetmax_exclusion; UPDATE conferences_events.exchange_registration SET meetmax_status = NULL WHERE registration_id = 'x1'").await;
    let again = h.sync.run(None, "test").await.unwrap();
    assert!(matches!(again.outcomes["x1"], Outcome::Added(_)), "{:?}", again.outcomes);
}

#[tokio::test]
async fn a_replaced_meetmax_status_is_kept_in_the_history() {
    let h = MeetmaxHarness::new().await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("h1", "Keynote Speakers LLC") }).await;
    // The original scripts' text, then the sync's outcome replaces it.
    h.db.exec("UPDATE conferences_events.exchange_registration SET meetmax_status = 'Error: company not found (2024 script)' WHERE registration_id = 'h1'").await;
    h.db.exec("INSERT INTO integration.meetmax_exclusion (registration_id, reason) VALUES ('h1', 'on hold')").await;
    h.sync.run(None, "test").await.unwrap();
    h.db.exec("DELETE FROM integration.meetmax_exclusion; UPDATE conferences_events.exchange_registration SET meetmax_status = NULL WHERE registration_id = 'h1'").await;
    h.sync.run(None, "test").await.unwrap();
    let history: Vec<String> =
        h.db.rows("SELECT status FROM integration.meetmax_status_history WHERE registration_id = 'h1' ORDER BY id")
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(
        history,
        vec!["Error: company not found (2024 script)".to_string(), "not sent: excluded: on hold".to_string()]
    );
    assert!(h.warehouse_outcome("h1").await.0.is_some(), "added in the end");
}

#[tokio::test]
async fn is_contact_and_custom_fields_follow_the_role_rule() {
    let h = MeetmaxHarness::new().await;
    h.review("Acme Inc", "Acme").await;
    h.db.exec(
        "UPDATE integration.meetmax_role_rule SET is_contact = true, custom_fields = '{meetings}'
          WHERE form_id = '5095980' AND registration_type = 'Supplier';
         UPDATE integration.meetmax_role_rule SET custom_fields = '{}'
          WHERE form_id = '5095980' AND registration_type = 'Speaker or VIP';",
    )
    .await;
    h.registration(&Reg::supplier("r1", "Acme Inc")).await;
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("r2", "Keynote Speakers LLC") }).await;
    h.registration(&Reg { kind: "State Member", state: Some("KY"), org: None, ..Reg::supplier("r3", "") }).await;
    let report = h.sync.run(None, "test").await.unwrap();
    assert!(report.outcomes.values().all(|o| matches!(o, Outcome::Added(_))), "{:?}", report.outcomes);
    let records = h.records().await;
    let by =
        |id: &str| records.iter().find(|r| r.fields.get("crm_id").map(String::as_str) == Some(id)).unwrap().clone();
    let (supplier, speaker, state) = (by("r1"), by("r2"), by("r3"));
    assert_eq!(supplier.fields.get("is_contact").map(String::as_str), Some("Y"));
    let customs = |r: &vendor_sandbox::meetmax::Record| {
        let mut k: Vec<String> = r.fields.keys().filter(|k| k.starts_with("custom_")).cloned().collect();
        k.sort();
        k
    };
    assert_eq!(customs(&supplier), vec!["custom_7664"], "suppliers get the meetings count only");
    assert!(customs(&speaker).is_empty() && !speaker.fields.contains_key("is_contact"));
    assert!(customs(&state).len() > 1, "a rule without custom_fields gets every custom field of the event");

    h.db.exec("UPDATE integration.meetmax_role_rule SET custom_fields = '{meetings,shoe_size}' WHERE registration_type = 'Supplier'").await;
    let err = h.sync.run(None, "test").await.unwrap_err().to_string();
    assert!(err.contains("shoe_size") && err.contains("Supplier"), "{err}");
}

#[tokio::test]
async fn industries_go_as_a_list_with_other_moved_to_its_own_field_when_the_event_says_so() {
    use vendor_sandbox::meetmax::Switches;
    let h = MeetmaxHarness::new().await;
    h.db.exec("UPDATE integration.meetmax_event SET industries_format = 'list'").await;
    let industries = "Information Technology\nOTHER: Drones\nFacilities\n";
    h.registration(&Reg {
        kind: "Speaker or VIP",
        industries: Some(industries),
        ..Reg::supplier("i1", "Keynote Speakers LLC")
    })
    .await;
    let report = h.sync.run(None, "test").await.unwrap();
    assert!(matches!(report.outcomes["i1"], Outcome::Added(_)), "{:?}", report.outcomes);
    let add = h.sandbox.requests().await.into_iter().find(|r| r.path.ends_with("attendee/add")).unwrap();
    let mut labels: Vec<&str> =
        add.params.iter().filter(|(k, _)| k == "custom_9069").map(|(_, v)| v.as_str()).collect();
    labels.sort_unstable();
    assert_eq!(
        labels,
        vec!["Facilities", "Information Technology"],
        "one repeated parameter per label (signed in sorted order)"
    );
    let record =
        h.records().await.into_iter().find(|r| r.fields.get("crm_id").map(String::as_str) == Some("i1")).unwrap();
    assert_eq!(record.fields.get("custom_8928").map(String::as_str), Some("Drones"), "OTHER: moved to its own field");

    // The pipe-joined form (the README's) sends one value; a MeetMax refusing repeated keys
    // refuses the list form with its message, kept on the record.
    h.db.exec("UPDATE integration.meetmax_event SET industries_format = 'pipe'").await;
    h.registration(&Reg {
        kind: "Speaker or VIP",
        industries: Some(industries),
        ..Reg::supplier("i2", "Keynote Speakers LLC")
    })
    .await;
    h.sync.run(None, "test").await.unwrap();
    let add = h.sandbox.requests().await.into_iter().rev().find(|r| r.path.ends_with("attendee/add")).unwrap();
    assert!(add.params.iter().filter(|(k, _)| k == "custom_9069").count() <= 1);
    h.db.exec("UPDATE integration.meetmax_event SET industries_format = 'list'").await;
    h.sandbox.set_meetmax_switches(Switches { reject_repeated_keys: true, ..Switches::default() }).await;
    h.registration(&Reg {
        kind: "Speaker or VIP",
        industries: Some(industries),
        ..Reg::supplier("i3", "Keynote Speakers LLC")
    })
    .await;
    let strict = h.sync.run(None, "test").await.unwrap();
    match &strict.outcomes["i3"] {
        Outcome::Failed { class, message } => {
            assert_eq!(*class, ErrorClass::Permanent);
            assert!(message.contains("more than once"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_role_rule_can_depend_on_an_answer_and_cap_a_list() {
    let h = MeetmaxHarness::new().await;
    h.review("Acme Inc", "Acme").await;
    // The later scripts: a supplier answering "No" to one-on-one meetings gets another role.
    h.db.exec(
        "INSERT INTO integration.meetmax_role_rule
                (form_id, registration_type, attendee_role, company_source, company_entity, condition_column, condition_values)
         VALUES ('5095980', 'Supplier', 'NASPO2_OTHER_ATTENDEE', 'clean', false, 'one_one', '{no}');
         UPDATE integration.meetmax_role_rule SET list_caps = '{\"industries\": 1}'
          WHERE registration_type = 'Supplier' AND condition_column IS NULL;",
    )
    .await;
    h.registration(&Reg::supplier("q1", "Acme Inc")).await;
    h.registration(&Reg::supplier("q2", "Acme Inc")).await;
    h.db.exec("UPDATE conferences_events.exchange_registration SET one_one = ' No ' WHERE registration_id = 'q2'")
        .await;
    let report = h.sync.run(None, "test").await.unwrap();
    assert!(report.outcomes.values().all(|o| matches!(o, Outcome::Added(_))), "{:?}", report.outcomes);
    let records = h.records().await;
    let by =
        |id: &str| records.iter().find(|r| r.fields.get("crm_id").map(String::as_str) == Some(id)).unwrap().clone();
    assert_eq!(by("q1").fields["attendee_role_id"], "NASPO2_SUPPLIER_ATT");
    assert_eq!(by("q2").fields["attendee_role_id"], "NASPO2_OTHER_ATTENDEE", "chosen by the answer");
    assert_eq!(by("q1").fields["custom_9069"], "Information Technology", "capped at one item");
    assert!(by("q2").fields["custom_9069"].contains('|'), "the other rule has no cap");

    h.db.exec(
        "UPDATE integration.meetmax_role_rule SET condition_column = 'shoe_size' WHERE condition_column = 'one_one'",
    )
    .await;
    let err = h.sync.run(None, "test").await.unwrap_err().to_string();
    assert!(err.contains("shoe_size"), "{err}");
}

#[tokio::test]
async fn the_operators_view_keeps_the_published_values_for_forms_without_configuration() {
    // The view as published (V1), created beside the current one under another name.
    const V1: &str = include_str!("../../../../shared/warehouse/migrations/V1__conferences_events.sql");
    let start = V1.find("CREATE VIEW conferences_events.exchange_meetmax AS").unwrap();
    let end = start + V1[start..].find("$view$").unwrap();
    let published =
        V1[start..end].replace("conferences_events.exchange_meetmax", "conferences_events.exchange_meetmax_published");
    let h = MeetmaxHarness::new().await;
    h.db.exec(&published).await;
    h.db.exec(
        "INSERT INTO conferences_events.states (name, full_name) SELECT 'TX', 'Texas'
          WHERE NOT EXISTS (SELECT 1 FROM conferences_events.states WHERE name = 'TX');
         INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed)
         VALUES ('Initech LLC', 'Initech', true);
         INSERT INTO conferences_events.exchange_registration
            (form_id, registration_id, first_name, last_name, organization, email, registration_type, one_one,
             time_zone, industries, state_organization, meetings, approval_status, registration_status)
         VALUES
            ('7777777', 'u1', 'ann', 'ray', 'State of TX', 'A@X.org', 'State Member', 'Yes', 'Central Time', E'A, B\\nC', 'TX', 3, 'Approved', 'Active'),
            ('7777777', 'u2', 'bo', 'tan', 'Initech LLC', 'b@x.org', 'Supplier', 'No', 'Eastern Time', NULL, NULL, 6, 'Approved', 'Active'),
            ('7777777', 'u3', 'cy', 'vo', 'Retired', 'c@x.org', 'Life Member or Honorary Member', 'yes', NULL, E'X\\n', NULL, NULL, 'Approved', 'Active'),
            ('7777777', 'u4', 'di', 'wu', 'Acme', 'd@x.org', 'Speaker or VIP', NULL, 'Pacific Time', NULL, NULL, NULL, 'Approved', 'Active')",
    )
    .await;
    let rows = |view: &'static str| {
        let h = &h;
        async move {
            h.db.rows(&format!("SELECT t::text FROM (SELECT * FROM conferences_events.{view} WHERE registration_id LIKE 'u%' ORDER BY registration_id) t"))
                .await
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    let (old, new) = (rows("exchange_meetmax_published").await, rows("exchange_meetmax").await);
    assert_eq!(old.len(), 4);
    assert_eq!(new, old, "every column and value of an unconfigured form as the published view shows it");
    // A configured form's rows come from its configuration.
    h.registration(&Reg::supplier("c1", "Acme Inc")).await;
    let role: String =
        h.db.scalar("SELECT attendee_role_id FROM conferences_events.exchange_meetmax WHERE registration_id = 'c1'")
            .await;
    assert_eq!(role, "NASPO2_SUPPLIER_ATT");
}

/// Adds `id` with its answer lost (MeetMax created it after the client gave up).
async fn lost_add(h: &MeetmaxHarness, id: &str) {
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier(id, "Keynote Speakers LLC") }).await;
    let first = h.run_losing_first_add().await;
    assert!(matches!(first.outcomes[id], Outcome::Failed { .. }), "{:?}", first.outcomes);
}

#[tokio::test]
async fn list_items_without_the_searched_field_make_a_lost_add_uncertain_not_duplicated() {
    use vendor_sandbox::meetmax::Switches;
    let h = MeetmaxHarness::with(integration_tests::meetmax_support::short_timeout_settings(), 200.0, 1).await;
    lost_add(&h, "s1").await;
    // MeetMax answers lists with id, company and names only (what the originals read).
    h.sandbox.set_meetmax_switches(Switches { sparse_list_items: true, ..Switches::default() }).await;
    let adds = h.calls("attendee/add").await;
    let report = h.sync.run(None, "test").await.unwrap();
    match &report.outcomes["s1"] {
        Outcome::Failed { message, .. } => assert!(message.contains("does not show 'crm_id'"), "{message}"),
        other => panic!("neither adopt nor add what cannot be verified: {other:?}"),
    }
    assert_eq!(h.calls("attendee/add").await, adds, "no second add");
    // With full list items (the default) the same record is adopted.
    h.sandbox.set_meetmax_switches(Switches::default()).await;
    let again = h.sync.run(None, "test").await.unwrap();
    assert!(matches!(again.outcomes["s1"], Outcome::Adopted(_)), "{:?}", again.outcomes);
    assert_eq!(h.record_counts().await.0.get("s1"), Some(&1));
}

#[tokio::test]
async fn a_search_that_matches_substrings_adopts_only_the_exact_record() {
    use vendor_sandbox::meetmax::Switches;
    let h = MeetmaxHarness::with(integration_tests::meetmax_support::short_timeout_settings(), 200.0, 1).await;
    // "k10" exists; "k1" is added with its answer lost; MeetMax's search then matches "k1" in "k10" too.
    h.registration(&Reg { kind: "Speaker or VIP", ..Reg::supplier("k10", "Keynote Speakers LLC") }).await;
    h.sync.run(None, "test").await.unwrap();
    lost_add(&h, "k1").await;
    h.sandbox.set_meetmax_switches(Switches { search_contains: true, ..Switches::default() }).await;
    let report = h.sync.run(None, "test").await.unwrap();
    let Outcome::Adopted(adopted) = &report.outcomes["k1"] else { panic!("{:?}", report.outcomes) };
    let record = h.records().await.into_iter().find(|r| r.id.to_string() == *adopted).unwrap();
    assert_eq!(record.fields["crm_id"], "k1", "the exact record, not k10");
    let (people, _) = h.record_counts().await;
    assert_eq!((people.get("k1"), people.get("k10")), (Some(&1), Some(&1)));
}

#[tokio::test]
async fn company_is_required_for_company_records_only_unless_the_switch_says_otherwise() {
    use vendor_sandbox::meetmax::Switches;
    let h = MeetmaxHarness::new().await;
    h.review("Acme Inc", "Acme").await;
    h.registration(&Reg::supplier("p1", "Acme Inc")).await;
    // Both settings: the sync sends company on every record, so its behaviour does not depend on it.
    for strict in [false, true] {
        h.sandbox.set_meetmax_switches(Switches { company_required_for_people: strict, ..Switches::default() }).await;
        h.db.exec("DELETE FROM integration.meetmax_sync; DELETE FROM integration.meetmax_company; UPDATE conferences_events.exchange_registration SET meetmax_id = NULL, meetmax_status = NULL").await;
        let report = h.sync.run(None, "test").await.unwrap();
        assert!(matches!(report.outcomes["p1"], Outcome::Added(_)), "strict={strict}: {:?}", report.outcomes);
    }
}

#[tokio::test]
async fn a_company_listed_under_investor_id_is_known_and_one_listed_without_an_id_is_never_added_again() {
    use vendor_sandbox::meetmax::Switches;
    // The list items' id key is unevidenced: `investor_id` (the edit call's parameter) is read too.
    let h = MeetmaxHarness::new().await;
    h.sandbox.set_meetmax_switches(Switches { list_id_key: Some("investor_id".into()), ..Switches::default() }).await;
    h.review("Globex", "Globex Corporation").await;
    h.registration(&Reg::supplier("g1", "Globex")).await;
    let report = h.sync.run(None, "test").await.unwrap();
    assert!(matches!(report.outcomes["g1"], Outcome::Added(_)), "{:?}", report.outcomes);
    let (_, companies) = h.record_counts().await;
    assert_eq!(companies.get("Globex Corporation"), Some(&1), "the listed company is not added again");

    // Items without any id: the company exists, so it is not added again; the run says why.
    let h = MeetmaxHarness::new().await;
    h.sandbox.set_meetmax_switches(Switches { list_id_key: Some(String::new()), ..Switches::default() }).await;
    h.review("Globex", "Globex Corporation").await;
    h.registration(&Reg::supplier("g2", "Globex")).await;
    let report = h.sync.run(None, "test").await.unwrap();
    match &report.outcomes["g2"] {
        Outcome::Failed { message, .. } => assert!(message.contains("without an id or investor_id"), "{message}"),
        other => panic!("neither a second company nor an attendee without it: {other:?}"),
    }
    let (_, companies) = h.record_counts().await;
    assert_eq!(companies.get("Globex Corporation"), Some(&1));
    assert_eq!(h.calls("attendee/add").await, 0);
}
