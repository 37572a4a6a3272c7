//! formstack-intake's scheduled pull against the sandbox over real HTTP, real PostgreSQL and moto.

use chrono::NaiveDateTime;
use integration_tests::{Harness, drain_queue, ids_of};
use vendor_sandbox::{
    Fault, FaultRule,
    fixtures::{self, DEMO_FORM_ID},
    formstack::Quirks,
};

const LIST_PATH: &str = "/api/v2/form/5095980/submission.json";

async fn load(h: &Harness, n: usize, quirks: Quirks) -> Vec<String> {
    let mut fixture = fixtures::demo_fixture();
    fixture.quirks = quirks;
    let start = NaiveDateTime::parse_from_str("2026-11-10 08:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
    fixture.forms[0].submissions = fixtures::generate(n, 1_700_000_000, start);
    let mut ids: Vec<String> = fixture.forms[0].submissions.iter().map(|s| s.id.clone()).collect();
    ids.sort();
    h.sandbox.load_formstack(fixture).await;
    ids
}

async fn registration_ids(h: &Harness) -> Vec<String> {
    h.db.rows("SELECT registration_id FROM conferences_events.exchange_registration ORDER BY registration_id")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn short_pages_repeats_and_a_429_in_the_middle_land_every_submission_exactly_once() {
    let h = Harness::new(&[("FORMSTACK_PER_PAGE", "10"), ("PULL_COMMIT_ROWS", "25")]).await;
    let expected = load(&h, 95, Quirks { short_pages: true, repeat_across_pages: true, inflated_total: true }).await;
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: LIST_PATH.into(),
            on_requests: vec![4],
            fault: Fault::RateLimit { retry_after: 1 },
        }])
        .await;

    platform_runtime::metrics::capture();
    let report = h.intake.pull("test", false).await.expect("pull succeeds");
    assert_eq!(registration_ids(&h).await, expected, "every submission landed, none twice");
    // Its metrics, as the EMF line CloudWatch reads.
    let m = &integration_tests::emf("formstack-intake", "pull")[0];
    assert_eq!(
        (m["Processed"].as_u64(), m["RowsWritten"].as_u64(), m["Partial"].as_u64()),
        (Some(95), Some(95), Some(0)),
        "{m}"
    );
    assert_eq!(m["VendorCalls"].as_u64(), Some(report.calls), "{m}");
    let f = &report.forms[0];
    assert!(f.stopped.is_none(), "{:?}", f.stopped);
    assert_eq!(f.submissions, 95);

    let requests = h.sandbox.requests().await;
    let listing: Vec<_> = requests.iter().filter(|r| r.path == LIST_PATH).collect();
    assert!(listing.iter().any(|r| r.status == 429), "the 429 was served");
    let pages: u64 = listing.iter().filter(|r| r.status == 200).count() as u64;
    assert_eq!(pages, f.pages, "each page fetched once after the retry");
    assert!(pages > 10, "short pages made the client go past ceil(95/10) pages: {pages}");
    assert!(listing.iter().all(|r| r.param("per_page") == Some("10") && r.param("sort") == Some("ASC")));
    assert!(listing.iter().all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == "[redacted]")));
    assert_eq!(report.calls as usize, listing.len(), "every attempt counted against the budget");

    // The cursor is the newest submission time; the ids were announced once each.
    let mark: NaiveDateTime =
        h.db.scalar("SELECT high_water FROM integration.pull_cursor WHERE form_id = '5095980'").await;
    assert_eq!(mark.to_string(), "2026-11-10 08:00:47");
    assert_eq!(ids_of(&drain_queue(&h.sdk, &h.queue_url).await), expected);
    let spent: i32 = h.db.scalar("SELECT calls FROM integration.api_budget").await;
    assert_eq!(spent as u64, report.calls);
}

#[tokio::test]
async fn a_second_pull_overlaps_but_changes_nothing_and_an_edit_updates_one_row() {
    let h = Harness::new(&[("FORMSTACK_PER_PAGE", "20")]).await;
    let expected = load(&h, 30, Quirks::default()).await;
    h.intake.pull("test", false).await.unwrap();
    assert_eq!(ids_of(&drain_queue(&h.sdk, &h.queue_url).await), expected);

    let again = h.intake.pull("test", false).await.unwrap();
    let second = h.sandbox.requests().await.into_iter().rfind(|r| r.path == LIST_PATH).unwrap();
    assert_eq!(second.param("min_time"), Some("2026-11-10 07:50:14"), "cursor minus the 10-minute overlap");
    assert_eq!(again.forms[0].report.inserted + again.forms[0].report.updated, 0);
    assert!(drain_queue(&h.sdk, &h.queue_url).await.is_empty(), "nothing changed, nothing announced");
    let raw: i64 = h.db.scalar("SELECT count(*) FROM integration.raw_submission").await;
    assert_eq!(raw, 30, "overlapping records are not stored twice");

    // Edit one submission in Formstack: its row is updated and announced again.
    let before: chrono::DateTime<chrono::Utc> = h
        .db
        .scalar("SELECT updated_at FROM conferences_events.exchange_registration WHERE registration_id = '1700000029'")
        .await;
    let mut edited = fixtures::generate(
        30,
        1_700_000_000,
        NaiveDateTime::parse_from_str("2026-11-10 08:00:00", "%Y-%m-%d %H:%M:%S").unwrap(),
    )
    .pop()
    .unwrap();
    edited.data.insert("103".into(), serde_json::json!("Chief Procurement Officer"));
    h.sandbox.state.formstack.lock().await.upsert_submissions(DEMO_FORM_ID, vec![edited]);
    let third = h.intake.pull("test", false).await.unwrap();
    assert_eq!((third.forms[0].report.inserted, third.forms[0].report.updated), (0, 1));
    let row = &h.db.rows("SELECT title, updated_at FROM conferences_events.exchange_registration WHERE registration_id = '1700000029'").await[0];
    assert_eq!(row.get::<_, String>(0), "Chief Procurement Officer");
    assert!(row.get::<_, chrono::DateTime<chrono::Utc>>(1) > before);
    assert_eq!(ids_of(&drain_queue(&h.sdk, &h.queue_url).await), vec!["1700000029"]);
}

#[tokio::test]
async fn a_failure_mid_pull_keeps_committed_rows_and_the_cursor_at_what_was_committed() {
    let h = Harness::new(&[("FORMSTACK_PER_PAGE", "10"), ("PULL_COMMIT_ROWS", "10")]).await;
    let expected = load(&h, 50, Quirks::default()).await;
    // Page 3 keeps failing with 503 (more times than the client retries).
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: LIST_PATH.into(),
            on_requests: (3..=20).collect(),
            fault: Fault::ServerError { status: 503 },
        }])
        .await;
    let report = h.intake.pull("test", false).await.expect("the run itself completes");
    let stopped = report.forms[0].stopped.clone().expect("the form stopped");
    assert!(stopped.contains("503"), "{stopped}");
    assert_eq!(registration_ids(&h).await, expected[..20].to_vec(), "pages 1-2 committed");
    let mark: NaiveDateTime = h.db.scalar("SELECT high_water FROM integration.pull_cursor").await;
    assert_eq!(mark.to_string(), "2026-11-10 08:00:09", "cursor = newest committed submission");
    let status: String = h.db.scalar("SELECT status FROM integration.run").await;
    assert_eq!(status, "partial");

    h.sandbox.set_faults(vec![]).await;
    h.intake.pull("test", false).await.unwrap();
    assert_eq!(registration_ids(&h).await, expected, "the next run picks up from the cursor");
}

#[tokio::test]
async fn quota_exhaustion_stops_the_run_without_waiting_and_budget_limits_calls() {
    let h = Harness::new(&[("FORMSTACK_PER_PAGE", "10")]).await;
    load(&h, 40, Quirks::default()).await;
    let mut fixture = fixtures::demo_fixture();
    fixture.daily_quota = 2;
    fixture.forms[0].submissions = fixtures::generate(
        40,
        1_700_000_000,
        NaiveDateTime::parse_from_str("2026-11-10 08:00:00", "%Y-%m-%d %H:%M:%S").unwrap(),
    );
    h.sandbox.load_formstack(fixture).await;
    let started = std::time::Instant::now();
    let report = h.intake.pull("test", false).await.unwrap();
    assert!(started.elapsed().as_secs() < 5, "a Retry-After of hours is not slept through");
    let stopped = report.forms[0].stopped.clone().unwrap();
    assert!(stopped.contains("rate limit"), "{stopped}");
    let landed: i64 = h.db.scalar("SELECT count(*) FROM conferences_events.exchange_registration").await;
    assert_eq!(landed, 20, "the two allowed pages landed");

    // A run with an allowance of 1 call fetches one page and says why it stopped.
    let h2 =
        Harness::new(&[("FORMSTACK_PER_PAGE", "10"), ("FORMSTACK_DAILY_CALL_BUDGET", "1"), ("PULLS_PER_DAY", "1")])
            .await;
    load(&h2, 40, Quirks::default()).await;
    let r2 = h2.intake.pull("test", false).await.unwrap();
    assert_eq!(r2.calls, 1);
    assert!(r2.forms[0].stopped.as_deref().unwrap().contains("allowance"));
    let r3 = h2.intake.pull("test", false).await.unwrap();
    assert_eq!(r3.calls, 0, "the day's budget is spent");
}

#[tokio::test]
async fn webhook_and_pull_of_the_same_submission_land_one_registration() {
    let h = Harness::new(&[]).await;
    let sub = fixtures::demo_fixture().forms[0].submissions[0].clone();
    let fields: Vec<(&str, serde_json::Value)> = sub.data.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let w = vendor_sandbox::webhook::build(
        DEMO_FORM_ID,
        &sub.id,
        &fields,
        vendor_sandbox::webhook::Format::UrlEncoded,
        Some(fixtures::DEMO_HMAC_KEY),
        None,
    );
    let resp = h
        .intake
        .webhook(platform_runtime::function_url::RequestParts {
            method: "POST".into(),
            headers: w.headers.clone(),
            query: vec![],
            body: w.body.clone(),
        })
        .await;
    assert_eq!(resp.status, 200);
    h.intake.pull("test", false).await.unwrap();
    let n: i64 =
        h.db.scalar(&format!(
            "SELECT count(*) FROM conferences_events.exchange_registration WHERE registration_id = '{}'",
            sub.id
        ))
        .await;
    assert_eq!(n, 1);
    // The pull's real submission time replaced the webhook's receipt time.
    let ts: String = h.db.scalar(&format!("SELECT to_char(submitted_at AT TIME ZONE 'America/New_York', 'YYYY-MM-DD HH24:MI:SS') FROM conferences_events.exchange_registration WHERE registration_id = '{}'", sub.id)).await;
    assert_eq!(ts, sub.timestamp);
}

#[tokio::test]
async fn a_refused_token_is_read_again_from_secrets_manager_after_rotation() {
    let h = Harness::new(&[]).await;
    let sm = aws_sdk_secretsmanager::Client::new(&h.sdk);
    let put = |token: &str| {
        sm.put_secret_value()
            .secret_id(&h.secret_id)
            .secret_string(serde_json::json!({"api_token": token}).to_string())
            .send()
    };
    put("revoked-token").await.unwrap();
    let refused = h.intake.pull("test", false).await.unwrap();
    let why = refused.forms[0].stopped.clone().unwrap();
    assert!(why.contains("401"), "{why}");
    // The operator rotates the secret; the next run uses it at once, not after the cache TTL.
    put(fixtures::DEMO_TOKEN).await.unwrap();
    let ok = h.intake.pull("test", false).await.unwrap();
    assert!(ok.forms[0].stopped.is_none(), "{:?}", ok.forms[0].stopped);
    assert_eq!(ok.forms[0].report.inserted, 15);
}
