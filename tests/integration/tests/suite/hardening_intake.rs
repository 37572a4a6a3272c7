//! Hardening of formstack-intake: per-form webhook keys, a
//! registration that never changes form, the `HandshakeKey`, NUL characters and rows the database
//! refuses, and the version guard. Real PostgreSQL, moto and the sandbox.

use chrono::NaiveDateTime;
use integration_tests::{Harness, hostile};
use platform_intake::webhook::UNAUTHORIZED;
use platform_runtime::function_url::RequestParts;
use serde_json::{Value, json};
use vendor_sandbox::{
    fixtures::{self, DEMO_FORM_ID, DEMO_HMAC_KEY},
    webhook::{Format, SignedWebhook, build},
};

const OTHER_FORM: &str = "7000001";
const OTHER_KEY: &str = "other-form-key";
const DEFAULT_KEY: &str = "default-key";

fn fields(first: &str, org: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("101", json!({"first": first, "last": "Doe"})),
        ("102", json!(org)),
        ("104", json!("jane.doe@example.org")),
        ("106", json!("Supplier")),
    ]
}

fn request(w: &SignedWebhook, query: &[(&str, &str)]) -> RequestParts {
    RequestParts {
        method: "POST".into(),
        headers: w.headers.clone(),
        query: query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        body: w.body.clone(),
    }
}

/// The harness with two keyed forms (both configured with the demo field map) and a default key.
async fn two_forms(extra_secret: Value) -> Harness {
    let h = Harness::new(&[]).await;
    let mut secret = json!({
        "api_token": fixtures::DEMO_TOKEN,
        "webhook_hmac_keys": {DEMO_FORM_ID: DEMO_HMAC_KEY, OTHER_FORM: OTHER_KEY},
        "webhook_hmac_key": DEFAULT_KEY,
    });
    secret.as_object_mut().unwrap().extend(extra_secret.as_object().cloned().unwrap_or_default());
    aws_sdk_secretsmanager::Client::new(&h.sdk)
        .put_secret_value()
        .secret_id(&h.secret_id)
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();
    h.db.exec(&format!(
        "INSERT INTO integration.form_config (form_id, time_zone, pull_enabled) VALUES ('{OTHER_FORM}', 'America/New_York', false);
         INSERT INTO integration.form_field_map (form_id, field_id, subfield, target_column, required, position)
         SELECT '{OTHER_FORM}', field_id, subfield, target_column, required, position
           FROM integration.form_field_map WHERE form_id = '{DEMO_FORM_ID}';"
    ))
    .await;
    h
}

async fn count(h: &Harness, sql: &str) -> i64 {
    h.db.scalar(sql).await
}

#[tokio::test]
async fn a_key_for_one_form_never_signs_another_and_every_401_looks_the_same() {
    let h = two_forms(json!({})).await;
    let demo = |key| build(DEMO_FORM_ID, "1650000001", &fields("Jane", "Acme"), Format::UrlEncoded, Some(key), None);
    let cases = [
        ("another form's key", request(&demo(OTHER_KEY), &[])),
        ("the default key for a form with its own key", request(&demo(DEFAULT_KEY), &[])),
        ("a query form_id naming the key's form", request(&demo(OTHER_KEY), &[("form_id", OTHER_FORM)])),
        (
            "the right key but a query form_id of another form",
            request(&demo(DEMO_HMAC_KEY), &[("form_id", OTHER_FORM)]),
        ),
        (
            "no signature header",
            request(&build(DEMO_FORM_ID, "1650000001", &fields("Jane", "Acme"), Format::UrlEncoded, None, None), &[]),
        ),
        ("a garbage body signed by nobody", {
            let mut r = request(&demo(DEMO_HMAC_KEY), &[]);
            r.body = b"\xff\xfe not a form".to_vec();
            r
        }),
    ];
    let mut bodies = Vec::new();
    for (what, req) in cases {
        let resp = h.intake.webhook(req).await;
        assert_eq!(resp.status, 401, "{what}: {:?}", resp.body);
        bodies.push(resp.body);
    }
    assert!(bodies.iter().all(|b| *b == json!({"error": UNAUTHORIZED})), "one answer for every cause: {bodies:?}");
    assert_eq!(count(&h, "SELECT count(*) FROM integration.raw_submission").await, 0, "nothing written");

    // The right key with a matching query form_id is fine; a form without its own key takes the default.
    let ok = h.intake.webhook(request(&demo(DEMO_HMAC_KEY), &[("form_id", DEMO_FORM_ID)])).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let unkeyed = build("7000002", "1650000002", &fields("Jo", "Initech"), Format::UrlEncoded, Some(DEFAULT_KEY), None);
    let resp = h.intake.webhook(request(&unkeyed, &[])).await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    // A signed but unreadable body is the sender's mistake: 400, still nothing written.
    let mut junk = build(DEMO_FORM_ID, "1", &[], Format::UrlEncoded, None, None);
    junk.body = b"not a form at all".to_vec();
    let sig = vendor_sandbox::webhook::signature(&junk.body, DEMO_HMAC_KEY);
    let resp = h.intake.webhook(request(&junk.with_header("X-FS-Signature", &sig), &[])).await;
    assert_eq!(resp.status, 400, "{:?}", resp.body);
    assert_eq!(count(&h, "SELECT count(*) FROM integration.raw_submission").await, 2);
}

#[tokio::test]
async fn a_registration_never_changes_form_and_the_refusal_is_recorded() {
    let h = two_forms(json!({})).await;
    let original =
        build(DEMO_FORM_ID, "1650000010", &fields("Jane", "Acme"), Format::UrlEncoded, Some(DEMO_HMAC_KEY), None);
    assert_eq!(h.intake.webhook(request(&original, &[])).await.status, 200);

    // A holder of the other form's key reuses the submission id.
    let forged =
        build(OTHER_FORM, "1650000010", &fields("Mallory", "Evil Corp"), Format::UrlEncoded, Some(OTHER_KEY), None);
    let resp = h.intake.webhook(request(&forged, &[])).await;
    assert_eq!(resp.status, 200, "stored raw, not applied: {:?}", resp.body);
    assert_eq!(resp.body["status"], "stored with mapping error");

    let row = &h.db.rows("SELECT form_id, first_name, organization FROM conferences_events.exchange_registration WHERE registration_id = '1650000010'").await[0];
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1), row.get::<_, String>(2)),
        (DEMO_FORM_ID.to_owned(), "Jane".to_owned(), "Acme".to_owned()),
        "the registration kept its form and values"
    );
    let refused = &h
        .db
        .rows(&format!(
            "SELECT mapping_status, mapping_error FROM integration.raw_submission WHERE form_id = '{OTHER_FORM}'"
        ))
        .await[0];
    assert_eq!(refused.get::<_, String>(0), "error");
    let why: String = refused.get(1);
    assert!(why.contains("belongs to form 5095980"), "{why}");
    // A remap after a "fix" refuses it again: the guard is in the statement, not in the caller.
    let report = h.intake.remap(true, Some(OTHER_FORM)).await.unwrap();
    assert_eq!((report.refused, report.inserted + report.updated), (1, 0));
}

#[tokio::test]
async fn a_configured_handshake_key_is_checked_and_never_stored() {
    let h = two_forms(json!({"webhook_handshake_keys": {DEMO_FORM_ID: "hs-secret-1"}})).await;
    let with = |hs: &str| {
        let mut f = fields("Jane", "Acme");
        f.push(("HandshakeKey", json!(hs)));
        build(DEMO_FORM_ID, "1650000020", &f, Format::UrlEncoded, Some(DEMO_HMAC_KEY), None)
    };
    let wrong = h.intake.webhook(request(&with("guess"), &[])).await;
    assert_eq!((wrong.status, wrong.body.clone()), (401, json!({"error": UNAUTHORIZED})));
    let right = h.intake.webhook(request(&with("hs-secret-1"), &[])).await;
    assert_eq!(right.status, 200, "{:?}", right.body);
    let json_body = {
        let mut f = fields("Jane", "Acme");
        f.push(("HandshakeKey", json!("hs-secret-1")));
        build(DEMO_FORM_ID, "1650000021", &f, Format::Json, Some(DEMO_HMAC_KEY), None)
    };
    assert_eq!(h.intake.webhook(request(&json_body, &[])).await.status, 200);

    let stored: Vec<Vec<u8>> =
        h.db.rows("SELECT raw_body FROM integration.raw_submission ORDER BY id")
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(stored.len(), 2);
    for body in &stored {
        let text = String::from_utf8_lossy(body);
        assert!(!text.contains("hs-secret-1") && text.contains("redacted"), "{text}");
    }
    let parsed: i64 =
        count(&h, "SELECT count(*) FROM integration.raw_submission WHERE parsed::text LIKE '%hs-secret%'").await;
    assert_eq!(parsed, 0);
}

#[tokio::test]
async fn a_nul_in_a_webhook_is_removed_from_mapped_text_and_the_raw_body_is_kept() {
    let h = Harness::new(&[]).await;
    let w = build(
        DEMO_FORM_ID,
        "1650000030",
        &fields("Ja\u{0}ne", "Ac\u{0}me"),
        Format::UrlEncoded,
        Some(DEMO_HMAC_KEY),
        None,
    );
    assert!(w.body.windows(3).any(|b| b == b"%00"), "the body carries a NUL");
    let resp = h.intake.webhook(request(&w, &[])).await;
    assert_eq!((resp.status, resp.body["status"].clone()), (200, json!("accepted")), "{:?}", resp.body);
    let row = &h.db.rows("SELECT first_name, organization FROM conferences_events.exchange_registration WHERE registration_id = '1650000030'").await[0];
    assert_eq!((row.get::<_, String>(0), row.get::<_, String>(1)), ("Jane".to_owned(), "Acme".to_owned()));
    let raw: Vec<u8> = h.db.scalar("SELECT raw_body FROM integration.raw_submission").await;
    assert_eq!(raw, w.body, "the raw body is stored byte for byte");
    // The JSON body variant: "\u0000" inside a JSON string, and the hostile values every entry
    // point is fed (a NUL at every depth) in a field of their own.
    let mut hostile_fields = fields("Nu\u{0}ll", "Initech");
    hostile_fields.push(("999", hostile::value()));
    let j = build(DEMO_FORM_ID, "1650000031", &hostile_fields, Format::Json, Some(DEMO_HMAC_KEY), None);
    let resp = h.intake.webhook(request(&j, &[])).await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    let name: String = h
        .db
        .scalar("SELECT first_name FROM conferences_events.exchange_registration WHERE registration_id = '1650000031'")
        .await;
    assert_eq!(name, "Null");
    let parsed: Value = h
        .db
        .scalar("SELECT parsed #> '{fields,999}' FROM integration.raw_submission WHERE submission_id = '1650000031'")
        .await;
    assert_eq!(parsed, hostile::stored());
}

#[tokio::test]
async fn rows_the_database_refuses_are_isolated_and_the_pull_moves_on() {
    let h = Harness::new(&[("FORMSTACK_PER_PAGE", "10"), ("PULL_COMMIT_ROWS", "40")]).await;
    // Production's columns are narrower than ours: a limit the mapper does not know about.
    h.db.exec("ALTER TABLE conferences_events.exchange_registration ADD CONSTRAINT title_fits CHECK (char_length(title) <= 40)").await;
    let mut fixture = fixtures::demo_fixture();
    let start = NaiveDateTime::parse_from_str("2026-11-10 08:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
    let mut subs = fixtures::generate(30, 1_710_000_000, start);
    subs[3].data.insert("103".into(), json!("x".repeat(10_000)));
    subs[17].data.insert("103".into(), json!("Chief ".repeat(20)));
    subs[9].data.insert("102".into(), json!("Nul\u{0}Corp"));
    subs[10].data.insert("999".into(), hostile::value());
    let newest = subs.last().unwrap().timestamp.clone();
    fixture.forms[0].submissions = subs;
    h.sandbox.load_formstack(fixture).await;

    let report = h.intake.pull("test", false).await.expect("the pull completes");
    let f = &report.forms[0];
    assert!(f.stopped.is_none(), "{:?}", f.stopped);
    assert_eq!((f.report.refused, f.report.inserted), (2, 28), "{:?}", f.report);
    assert_eq!(report.counts().failed, 2);
    assert_eq!(count(&h, "SELECT count(*) FROM conferences_events.exchange_registration").await, 28);
    let org: String =
        h.db.scalar(
            "SELECT organization FROM conferences_events.exchange_registration WHERE registration_id = '1710000009'",
        )
        .await;
    assert_eq!(org, "NulCorp", "NUL removed, not refused");
    let parsed: Value = h
        .db
        .scalar("SELECT parsed #> '{fields,999}' FROM integration.raw_submission WHERE submission_id = '1710000010'")
        .await;
    assert_eq!(parsed, hostile::stored(), "a pulled record's NULs go at every depth");
    let refused = h
        .db
        .rows("SELECT submission_id, mapping_error FROM integration.raw_submission WHERE mapping_status = 'error' ORDER BY submission_id")
        .await;
    let ids: Vec<String> = refused.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, vec!["1710000003", "1710000017"]);
    for r in &refused {
        let why: String = r.get(1);
        assert!(why.contains("refused by the database") && why.contains("title_fits"), "{why}");
    }
    let mark: NaiveDateTime = h.db.scalar("SELECT high_water FROM integration.pull_cursor").await;
    assert_eq!(mark.format("%Y-%m-%d %H:%M:%S").to_string(), newest, "the cursor passed the poison rows");

    // The next run is not stuck on them, and a fix plus a remap lands them.
    let again = h.intake.pull("test", false).await.unwrap();
    assert!(again.forms[0].stopped.is_none());
    assert_eq!(again.forms[0].report.refused, 0, "replays are not refused again");
    h.db.exec("ALTER TABLE conferences_events.exchange_registration DROP CONSTRAINT title_fits").await;
    let fixed = h.intake.remap(true, None).await.unwrap();
    assert_eq!(fixed.inserted, 2);
    assert_eq!(count(&h, "SELECT count(*) FROM conferences_events.exchange_registration").await, 30);
}

#[tokio::test]
async fn an_older_version_never_replaces_a_newer_one() {
    use platform_domain::submission::Submission;
    use platform_intake::ingest::Incoming;
    use platform_warehouse::raw::{self, Source};

    let h = Harness::new(&[]).await;
    // Version 1 was stored raw, then the container died before mapping it.
    let v1 =
        build(DEMO_FORM_ID, "1650000040", &fields("Jane", "Old Org"), Format::UrlEncoded, Some(DEMO_HMAC_KEY), None);
    let sub = Submission::from_webhook(&v1.body, None).unwrap();
    let conn = h.db.warehouse.conn().await.unwrap();
    raw::insert(
        &conn,
        Source::Webhook,
        true,
        uuid::Uuid::now_v7(),
        &[Incoming::from_webhook(sub, v1.body.clone(), None).raw],
        false,
    )
    .await
    .unwrap();
    drop(conn);
    // Version 2 (an edit) arrives and is applied.
    let v2 =
        build(DEMO_FORM_ID, "1650000040", &fields("Jane", "New Org"), Format::UrlEncoded, Some(DEMO_HMAC_KEY), None);
    assert_eq!(h.intake.webhook(request(&v2, &[])).await.body["status"], "accepted");
    // The sweep recovers version 1 late: it must not win.
    h.db.exec("UPDATE integration.raw_submission SET received_at = now() - interval '10 minutes' WHERE mapping_status = 'pending'").await;
    let report = h.intake.pull("schedule", false).await.unwrap();
    assert_eq!((report.recovered.superseded, report.recovered.updated), (1, 0), "{:?}", report.recovered);
    let org = || async {
        h.db.scalar::<String>(
            "SELECT organization FROM conferences_events.exchange_registration WHERE registration_id = '1650000040'",
        )
        .await
    };
    assert_eq!(org().await, "New Org");
    let statuses: Vec<String> = h
        .db
        .rows("SELECT mapping_status FROM integration.raw_submission WHERE submission_id = '1650000040' ORDER BY id")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(statuses, vec!["superseded", "mapped"]);
    // Neither a remap including errors nor a replay of version 1 brings it back.
    h.intake.remap(true, None).await.unwrap();
    assert_eq!(h.intake.webhook(request(&v1, &[])).await.status, 200);
    assert_eq!(org().await, "New Org");
    // A newer edit still goes through.
    let v3 =
        build(DEMO_FORM_ID, "1650000040", &fields("Jane", "Newest Org"), Format::UrlEncoded, Some(DEMO_HMAC_KEY), None);
    h.intake.webhook(request(&v3, &[])).await;
    assert_eq!(org().await, "Newest Org");
}

#[tokio::test]
async fn a_full_scan_resumes_across_runs_until_the_form_is_covered() {
    let h = Harness::new(&[
        ("FORMSTACK_PER_PAGE", "10"),
        ("PULL_COMMIT_ROWS", "30"),
        ("PULLS_PER_DAY", "1"),
        ("PULL_OVERLAP_MINUTES", "0"),
        ("FORMSTACK_DAILY_CALL_BUDGET", "1000"),
    ])
    .await;
    let mut fixture = fixtures::demo_fixture();
    let start = NaiveDateTime::parse_from_str("2026-11-10 08:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
    fixture.forms[0].submissions = fixtures::generate(250, 1_720_000_000, start);
    h.sandbox.load_formstack(fixture.clone()).await;
    h.intake.pull("schedule", false).await.unwrap();
    assert_eq!(count(&h, "SELECT count(*) FROM conferences_events.exchange_registration").await, 250);

    // An old submission is edited in Formstack (its timestamp does not change): only a scan sees it.
    fixture.forms[0].submissions[25].data.insert("103".into(), json!("Edited Title"));
    h.sandbox.load_formstack(fixture).await;
    let allow = |calls: i32| {
        let h = &h;
        async move { h.db.exec(&format!("UPDATE integration.api_budget SET calls = {}", 1000 - calls)).await }
    };
    allow(10).await;
    let first = h.intake.pull("resync", true).await.unwrap();
    let f = &first.forms[0];
    assert!(!f.scan_completed && !f.failed, "{f:?}");
    assert_eq!(f.scan_pages, 9, "one call for the incremental pull, nine pages of the scan");
    assert!(f.stopped.as_deref().unwrap_or("").contains("allowance"), "{:?}", f.stopped);
    let next: i32 = h.db.scalar("SELECT resync_next_page FROM integration.pull_cursor").await;
    assert_eq!(next, 10, "the position is committed with the rows");

    let mut runs = 1;
    loop {
        allow(10).await;
        let report = h.intake.pull("schedule", false).await.unwrap();
        runs += 1;
        if report.forms[0].scan_completed {
            assert!(report.counts().notes.iter().any(|n| n.contains("full scan completed")), "{:?}", report.counts());
            break;
        }
        assert!(runs < 6, "the scan must finish: {:?}", report.forms[0]);
    }
    assert_eq!(runs, 3, "25 pages, nine a run, resuming one page back: 1–9, 9–17, 17–25");
    let title: String =
        h.db.scalar("SELECT title FROM conferences_events.exchange_registration WHERE registration_id = '1720000025'")
            .await;
    assert_eq!(title, "Edited Title");
    let row = &h
        .db
        .rows("SELECT resync_next_page, resync_scans, resync_completed_at IS NOT NULL FROM integration.pull_cursor")
        .await[0];
    assert_eq!((row.get::<_, Option<i32>>(0), row.get::<_, i32>(1), row.get::<_, bool>(2)), (None, 1, true));
    // A scheduled run after completion does not scan again.
    allow(10).await;
    let after = h.intake.pull("schedule", false).await.unwrap();
    assert_eq!(after.forms[0].scan_pages, 0);
}

#[tokio::test]
async fn a_pull_at_its_deadline_stops_cleanly_and_closes_its_run() {
    let h = Harness::new(&[]).await;
    let report = h
        .intake
        .pull_until(
            "schedule",
            false,
            platform_runtime::Deadline::after(std::time::Duration::ZERO, std::time::Duration::ZERO),
        )
        .await
        .unwrap();
    let f = &report.forms[0];
    assert_eq!(f.pages, 0);
    assert!(!f.failed && f.stopped.as_deref().unwrap_or("").contains("deadline"), "{f:?}");
    let open: i64 = count(&h, "SELECT count(*) FROM integration.run WHERE finished_at IS NULL").await;
    assert_eq!(open, 0);
    assert!(h.sandbox.requests().await.is_empty(), "no call started");
    // The next run, with time, lands everything.
    h.intake.pull("schedule", false).await.unwrap();
    assert!(count(&h, "SELECT count(*) FROM conferences_events.exchange_registration").await > 0);
}

#[tokio::test]
async fn a_pulled_page_written_after_a_webhook_edit_does_not_undo_it() {
    use platform_domain::submission::Submission;
    use platform_intake::ingest::{self, Incoming};
    use platform_warehouse::raw::Source;

    let h = Harness::new(&[]).await;
    // The pull fetches the submission's first version (its page is buffered, not yet written)...
    let record = json!({"id": "1650000050", "timestamp": "2026-11-10 08:00:00", "data": {
        "101": {"value": {"first": "Jane", "last": "Doe"}}, "102": {"value": "Fetched Org"},
        "104": {"value": "jane@example.org"}}});
    let fetched = Incoming::from_api(Submission::from_api(DEMO_FORM_ID, &record).unwrap(), &record);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // ...meanwhile an edit arrives by webhook and is applied...
    let edit =
        build(DEMO_FORM_ID, "1650000050", &fields("Jane", "Edited Org"), Format::UrlEncoded, Some(DEMO_HMAC_KEY), None);
    assert_eq!(h.intake.webhook(request(&edit, &[])).await.body["status"], "accepted");
    // ...then the buffered page is written: its raw row is newer by id, older by fetch time.
    let mut conn = h.db.warehouse.conn().await.unwrap();
    let report =
        ingest::ingest(&mut conn, Source::Pull, false, uuid::Uuid::now_v7(), vec![fetched], None).await.unwrap();
    assert_eq!((report.superseded, report.updated), (1, 0), "{report:?}");
    let org: String =
        h.db.scalar(
            "SELECT organization FROM conferences_events.exchange_registration WHERE registration_id = '1650000050'",
        )
        .await;
    assert_eq!(org, "Edited Org");
}

#[tokio::test]
async fn a_long_full_scan_never_keeps_another_forms_new_submissions_waiting() {
    // Form A (listed first) has a scan under way; form B has a new submission. With ten calls
    // this run, B's incremental pull comes before A's scan takes what is left.
    let h = Harness::new(&[
        ("FORMSTACK_PER_PAGE", "10"),
        ("PULLS_PER_DAY", "1"),
        ("PULL_OVERLAP_MINUTES", "0"),
        ("FORMSTACK_DAILY_CALL_BUDGET", "1000"),
    ])
    .await;
    h.db.exec(&format!(
        "INSERT INTO integration.form_config (form_id, time_zone) VALUES ('{OTHER_FORM}', 'America/New_York');
         INSERT INTO integration.form_field_map (form_id, field_id, subfield, target_column, required, position)
         SELECT '{OTHER_FORM}', field_id, subfield, target_column, required, position
           FROM integration.form_field_map WHERE form_id = '{DEMO_FORM_ID}';"
    ))
    .await;
    let start = NaiveDateTime::parse_from_str("2026-11-10 08:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
    let mut fixture = fixtures::demo_fixture();
    fixture.forms[0].submissions = fixtures::generate(200, 1_740_000_000, start);
    let mut other = fixture.forms[0].clone();
    other.id = OTHER_FORM.into();
    other.submissions = fixtures::generate(1, 1_750_000_000, start);
    fixture.forms.push(other.clone());
    h.sandbox.load_formstack(fixture.clone()).await;
    h.intake.pull("schedule", false).await.unwrap();
    // A scan of form 5095980 is started; form 7000001 gets a new submission.
    h.db.exec("UPDATE integration.api_budget SET calls = 1000 - 5").await;
    h.intake.pull("resync", true).await.unwrap();
    let later = NaiveDateTime::parse_from_str("2026-11-10 09:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
    let b = fixture.forms.iter_mut().find(|f| f.id == OTHER_FORM).unwrap();
    b.submissions.extend(fixtures::generate(1, 1_750_000_001, later));
    h.sandbox.load_formstack(fixture).await;
    h.db.exec("UPDATE integration.api_budget SET calls = 1000 - 10").await;
    let report = h.intake.pull("schedule", false).await.unwrap();
    let b = report.forms.iter().find(|f| f.form_id == OTHER_FORM).unwrap();
    assert_eq!(b.report.inserted, 1, "the new submission landed this run: {b:?}");
    let a = report.forms.iter().find(|f| f.form_id == DEMO_FORM_ID).unwrap();
    assert!(a.scan_pages > 0 && !a.scan_completed, "the scan went on with what was left: {a:?}");
}

#[tokio::test]
async fn every_warehouse_session_carries_its_time_limits() {
    let h = Harness::new(&[]).await;
    let conn = h.db.warehouse.conn().await.unwrap();
    let show = |name: &'static str| {
        let conn = &conn;
        async move { conn.query_one(&format!("SHOW {name}"), &[]).await.unwrap().get::<_, String>(0) }
    };
    assert_eq!(show("statement_timeout").await, "1min");
    assert_eq!(show("lock_timeout").await, "10s");
    assert_eq!(show("idle_in_transaction_session_timeout").await, "1min");
    // A statement that outlives its limit is cancelled rather than holding the connection.
    conn.batch_execute("SET statement_timeout = '100ms'").await.unwrap();
    let err = conn.query_one("SELECT pg_sleep(2)", &[]).await.unwrap_err();
    let message = err.as_db_error().map(|d| d.message().to_owned()).unwrap_or_default();
    assert!(message.contains("statement timeout"), "{err:?}");
    conn.batch_execute("RESET statement_timeout").await.unwrap();
}
