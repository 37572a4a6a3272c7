//! The operator console's connectors, leads and exports pages against a real warehouse (as the
//! console's role), moto and the vendor sandbox: each action checked in the warehouse, Secrets
//! Manager, the queues or the sandbox afterwards; secrets never read back into a page; a viewer
//! changes nothing; every change audited.

use integration_tests::console_support::{ConsoleHarness, Visitor};
use vendor_sandbox::fixtures;

/// The demo Aventri credentials for the sandbox, as an operator enters them.
fn aventri_form(h: &ConsoleHarness, csrf: &str) -> Vec<(String, String)> {
    vec![
        ("csrf".into(), csrf.into()),
        ("cred.endPoint".into(), format!("{}/", h.sandbox.aventri_endpoint())),
        ("cred.accountid".into(), fixtures::AVENTRI_ACCOUNT.to_string()),
        ("cred.key".into(), fixtures::AVENTRI_KEY.into()),
        ("cred.eventid".into(), fixtures::AVENTRI_EVENT.to_string()),
    ]
}

async fn post_owned(
    v: &mut Visitor,
    path: &str,
    form: &[(String, String)],
) -> integration_tests::console_support::Answer {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    v.post(path, &pairs).await
}

async fn secret_of(h: &ConsoleHarness, connection: &str) -> Option<serde_json::Value> {
    let id: String =
        h.db.scalar(&format!("SELECT secret_id FROM connector.connection WHERE name = '{connection}'")).await;
    let sm = aws_sdk_secretsmanager::Client::new(&h.sdk);
    match sm.get_secret_value().secret_id(&id).send().await {
        Ok(out) => Some(serde_json::from_str(out.secret_string().unwrap()).unwrap()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn credentials_are_checked_written_and_never_shown_and_the_preview_reads_the_provider_in_the_page() {
    let h = ConsoleHarness::start().await;
    let mut op = h.sign_in("operator@example.com").await;
    let page = op.get("/connectors/demo-aventri").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("not set"), "{}", page.body);
    let csrf = Visitor::csrf_of(&page);

    // A secret the provider's checks refuse is not written at all.
    let mut bad = aventri_form(&h, &csrf);
    bad[1].1 = "http://aventri.example.com/api/v2".into();
    let refused = post_owned(&mut op, "/connectors/demo-aventri/credentials", &bad).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("nothing was written"), "{}", refused.body);
    assert_eq!(secret_of(&h, "demo-aventri").await, None);

    let saved = post_owned(&mut op, "/connectors/demo-aventri/credentials", &aventri_form(&h, &csrf)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = secret_of(&h, "demo-aventri").await.expect("the secret is written");
    assert_eq!(stored["key"], fixtures::AVENTRI_KEY);
    // Blank fields keep what is stored: a new key alone changes the key alone.
    let only_key = vec![("csrf".to_owned(), csrf.clone()), ("cred.key".to_owned(), "rotated-key".to_owned())];
    assert_eq!(post_owned(&mut op, "/connectors/demo-aventri/credentials", &only_key).await.status, 303);
    let stored = secret_of(&h, "demo-aventri").await.unwrap();
    assert_eq!(
        (stored["key"].as_str(), stored["eventid"].as_str()),
        (Some("rotated-key"), Some(fixtures::AVENTRI_EVENT))
    );
    assert_eq!(post_owned(&mut op, "/connectors/demo-aventri/credentials", &aventri_form(&h, &csrf)).await.status, 303);
    let page = op.get("/connectors/demo-aventri").await;
    assert!(page.body.contains("set, last changed"), "{}", page.body);
    assert!(!page.body.contains(fixtures::AVENTRI_KEY), "a credential is never read back into a page");

    // A wrong key: the provider refuses it in the preview; the right one is used at once after.
    let wrong = vec![("csrf".to_owned(), csrf.clone()), ("cred.key".to_owned(), "not-the-key".to_owned())];
    assert_eq!(post_owned(&mut op, "/connectors/demo-aventri/credentials", &wrong).await.status, 303);
    let refused = op.post("/connectors/demo-aventri/preview", &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("refused the credentials"), "{}", refused.body);
    assert_eq!(post_owned(&mut op, "/connectors/demo-aventri/credentials", &aventri_form(&h, &csrf)).await.status, 303);

    // The preview: the report in the page, nothing written to the warehouse.
    let preview = op.post("/connectors/demo-aventri/preview", &[("csrf", &csrf)]).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(preview.body.contains("The provider accepted the credentials"), "{}", preview.body);
    for section in ["id=\"sample-participants\"", "id=\"sample-sessions\"", "id=\"fields\"", "preview-workbook"] {
        assert!(preview.body.contains(section), "the preview shows {section}");
    }
    assert!(!preview.body.contains(fixtures::AVENTRI_KEY));
    let manifest = platform_connectors::provider("aventri").unwrap().manifest_version();
    assert!(preview.body.contains(&format!("Read by the manifest {manifest}")), "the preview names its manifest");
    let written: i64 = h.db.scalar("SELECT count(*) FROM connector.participant").await;
    assert_eq!(written, 0, "a preview writes no record");
    let audit: Vec<String> = h
        .db
        .rows("SELECT action || ' ' || outcome FROM console.audit WHERE target = 'connection:demo-aventri' ORDER BY id")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(audit.iter().filter(|a| a.starts_with("connector credentials written")).count(), 5, "{audit:?}");
    assert!(audit.iter().any(|a| a.starts_with("connector preview ") && a.contains("streams read")), "{audit:?}");
    let whole_audit: String = h.db.scalar("SELECT coalesce(string_agg(a::text, ' '), '') FROM console.audit a").await;
    assert!(!whole_audit.contains(fixtures::AVENTRI_KEY), "no credential in any audit row");

    // A viewer changes nothing.
    let mut viewer = h.sign_in("viewer@example.com").await;
    let seen = viewer.get("/connectors/demo-aventri").await;
    assert!(!seen.body.contains("id=\"credentials-form\""), "a viewer gets no credentials form");
    let viewer_csrf = Visitor::csrf_of(&seen);
    let denied = post_owned(&mut viewer, "/connectors/demo-aventri/credentials", &aventri_form(&h, &viewer_csrf)).await;
    assert_eq!(denied.status, 403);
}

#[tokio::test]
async fn settings_and_mappings_are_checked_before_saving_and_a_removal_waits_for_its_typed_confirmation() {
    let h = ConsoleHarness::start().await;
    let mut op = h.sign_in("operator@example.com").await;
    let csrf = Visitor::csrf_of(&op.get("/connectors/demo-aventri").await);
    let path = "/connectors/demo-aventri/streams/participants";

    let protected = op
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("enabled", "on"),
                ("removal_max_share", "0.1"),
                ("mapping", r#"{"fp_status": "Status"}"#),
            ],
        )
        .await;
    assert_eq!(protected.status, 400);
    assert!(protected.body.contains("fp_status cannot be mapped: the connector computes it"), "{}", protected.body);
    let not_json = op.post(path, &[("csrf", &csrf), ("removal_max_share", "0.1"), ("mapping", "{oops")]).await;
    assert_eq!(not_json.status, 400);
    let share = op.post(path, &[("csrf", &csrf), ("removal_max_share", "2"), ("mapping", "{}")]).await;
    assert_eq!(share.status, 400);
    let mapping: serde_json::Value = h
        .db
        .scalar("SELECT mapping FROM connector.stream WHERE connection = 'demo-aventri' AND stream = 'participants'")
        .await;
    assert_eq!(mapping, serde_json::json!({"photo": "responses.Profile Photo"}), "nothing was changed");

    let saved = op
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("enabled", "on"),
                ("remove_outdated", "on"),
                ("removal_max_share", "0.2"),
                ("mapping", r#"{"title": "jobtitle"}"#),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let row = h
        .db
        .rows("SELECT remove_outdated, removal_max_share::float8, mapping FROM connector.stream WHERE connection = 'demo-aventri' AND stream = 'participants'")
        .await;
    let (remove, share, mapping): (bool, f64, serde_json::Value) = (row[0].get(0), row[0].get(1), row[0].get(2));
    assert_eq!((remove, share, mapping), (true, 0.2, serde_json::json!({"title": "jobtitle"})));
    // The configuration table's own audit names the operator, not the database user.
    let by: String =
        h.db.scalar("SELECT actor FROM console.audit WHERE target = 'connector.stream' ORDER BY id DESC LIMIT 1").await;
    assert_eq!(by, "operator@example.com");

    // Connection settings: a time zone that is not one is refused whole.
    let tz = op
        .post(
            "/connectors/demo-aventri/settings",
            &[("csrf", &csrf), ("enabled", "on"), ("setting.event_time_zone", "Mars/Olympus")],
        )
        .await;
    assert_eq!(tz.status, 400);
    assert!(tz.body.contains("IANA"), "{}", tz.body);
    let ok = op
        .post(
            "/connectors/demo-aventri/settings",
            &[
                ("csrf", &csrf),
                ("enabled", "on"),
                ("setting.event_time_zone", "Europe/Paris"),
                ("setting.look_back_hours", "6"),
                ("setting.active_statuses", "Confirmed"),
                ("setting.ConcurrentSessionsTitle", ""),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let settings: serde_json::Value =
        h.db.scalar("SELECT settings FROM connector.connection WHERE name = 'demo-aventri'").await;
    assert_eq!(settings["event_time_zone"], "Europe/Paris");
    assert_eq!(settings["look_back_hours"], "6");
    assert_eq!(settings["active_statuses"], "Confirmed");
    assert!(settings.get("ConcurrentSessionsTitle").is_none(), "a blank setting is removed: {settings}");

    // A removal the share guard refused: previewed, then confirmed by typing the stream's name.
    h.db.exec(
        "INSERT INTO connector.participant (connection, fp_ext_id, fp_status, raw, last_seen, changed_by_run)
         SELECT 'demo-aventri', 'a' || n, 'active', '{}', now() - interval '2 days', gen_random_uuid() FROM generate_series(1, 6) n;
         INSERT INTO connector.participant (connection, fp_ext_id, fp_status, raw, last_seen, changed_by_run)
         SELECT 'demo-aventri', 'b' || n, 'active', '{}', now(), gen_random_uuid() FROM generate_series(1, 4) n;
         INSERT INTO connector.stream_run (run_id, connection, stream, mode, trigger, status)
         VALUES ('00000000-0000-7000-8000-000000000001', 'demo-aventri', 'participants', 'full', 'sqs', 'succeeded');
         INSERT INTO connector.pending_removal (connection, stream, run_id, pull_started_at, would_remove, of_rows)
         VALUES ('demo-aventri', 'participants', '00000000-0000-7000-8000-000000000001', now() - interval '1 hour', 6, 10);",
    )
    .await;
    let preview = op.get("/connectors/demo-aventri/streams/participants/removal").await;
    assert_eq!(preview.status, 200);
    assert!(preview.body.contains("did not see <strong>6</strong> of the <strong>10</strong>"), "{}", preview.body);
    assert!(preview.body.contains("<td>a1</td>") && !preview.body.contains("<td>b1</td>"), "{}", preview.body);
    let removal = "/connectors/demo-aventri/streams/participants/removal";
    let mistyped = op.post(removal, &[("csrf", &csrf), ("typed", "participants"), ("expected", "6")]).await;
    assert_eq!(mistyped.status, 400);
    let stale = op.post(removal, &[("csrf", &csrf), ("typed", "demo-aventri/participants"), ("expected", "5")]).await;
    assert_eq!(stale.status, 400);
    assert!(stale.body.contains("6 rows would go now, not the 5 previewed"), "{}", stale.body);
    let live: i64 = h.db.scalar("SELECT count(*) FROM connector.participant WHERE removed_at IS NULL").await;
    assert_eq!(live, 10, "nothing was removed");
    let confirmed =
        op.post(removal, &[("csrf", &csrf), ("typed", "demo-aventri/participants"), ("expected", "6")]).await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let removed: Vec<String> =
        h.db.rows("SELECT fp_ext_id FROM connector.participant WHERE removed_at IS NOT NULL ORDER BY 1")
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(removed, ["a1", "a2", "a3", "a4", "a5", "a6"]);
    let outcome: String =
        h.db.scalar("SELECT outcome FROM console.audit WHERE action = 'connector removal' ORDER BY id DESC LIMIT 1")
            .await;
    assert!(outcome.starts_with("6 rows marked removed"), "{outcome}");
}

#[tokio::test]
async fn a_pull_is_queued_for_connector_pull_and_the_page_follows_it() {
    let h = ConsoleHarness::start().await;
    let mut op = h.sign_in("operator@example.com").await;
    let csrf = Visitor::csrf_of(&op.get("/connectors/demo-aventri").await);
    let queued = op
        .post("/connectors/demo-aventri/pull", &[("csrf", &csrf), ("stream", "participants"), ("mode", "full")])
        .await;
    assert_eq!(queued.status, 303, "{}", queued.body);
    let bodies = integration_tests::drain_bodies(&h.sdk, &h.connector_queue).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let envelope: platform_domain::envelope::Envelope = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(
        (envelope.kind.as_str(), envelope.ids.clone()),
        ("connector.pull", vec!["demo-aventri/participants".to_owned()])
    );
    let full: bool =
        h.db.scalar(
            "SELECT full_requested FROM connector.stream WHERE connection = 'demo-aventri' AND stream = 'participants'",
        )
        .await;
    assert!(full, "the next pull reads every record");
    let progress = op.get("/connectors/demo-aventri/progress").await;
    assert!(progress.body.contains("full pull asked for"), "{}", progress.body);
    assert!(progress.body.contains("hx-trigger=\"every 3s\""));

    // Every enabled stream that starts pulls, without a full pull; a stream fed by another is refused.
    let all = op.post("/connectors/demo-aventri/pull", &[("csrf", &csrf), ("stream", ""), ("mode", "changes")]).await;
    assert_eq!(all.status, 303);
    let mut ids = integration_tests::ids_of(
        &integration_tests::drain_bodies(&h.sdk, &h.connector_queue)
            .await
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect::<Vec<_>>(),
    );
    ids.sort();
    assert_eq!(ids, ["demo-aventri/participants", "demo-aventri/presenters", "demo-aventri/sessions"]);
    let fed =
        op.post("/connectors/demo-aventri/pull", &[("csrf", &csrf), ("stream", "sponsors"), ("mode", "changes")]).await;
    assert_eq!(fed.status, 400);
    assert!(fed.body.contains("fed by another stream"), "{}", fed.body);

    // With its credentials entered, connector-pull takes the queued pull; the page shows its end.
    assert_eq!(post_owned(&mut op, "/connectors/demo-aventri/credentials", &aventri_form(&h, &csrf)).await.status, 303);
    let queued =
        op.post("/connectors/demo-aventri/pull", &[("csrf", &csrf), ("stream", "sessions"), ("mode", "full")]).await;
    assert_eq!(queued.status, 303);
    h.run_connector_jobs().await;
    let progress = op.get("/connectors/demo-aventri/progress").await;
    let row = progress
        .body
        .split("data-stream=\"sessions\"")
        .nth(1)
        .expect("the sessions row")
        .split("</tr>")
        .next()
        .unwrap();
    assert!(row.contains("succeeded") && row.contains("full"), "{row}");
    let sessions: i64 = h.db.scalar("SELECT count(*) FROM connector.session WHERE connection = 'demo-aventri'").await;
    assert!(sessions > 0);
    // The connection's history names the manifest that pulled each run.
    let manifest = platform_connectors::provider("aventri").unwrap().manifest_version();
    let page = op.get("/connectors/demo-aventri").await;
    assert!(page.body.contains(&format!("<td class=\"manifest\">{manifest}</td>")), "{}", page.body);
}

#[tokio::test]
async fn a_test_registration_shows_lenos_answer_and_is_recorded_like_the_apps() {
    let h = ConsoleHarness::start().await;
    h.db.exec(
        "INSERT INTO connector.participant (connection, fp_ext_id, fp_status, raw, changed_by_run)
         VALUES ('demo-lenos', 'p2', 'active', '{}', gen_random_uuid());
         INSERT INTO connector.session (connection, fp_ext_id, fp_status, raw, changed_by_run)
         VALUES ('demo-lenos', 's6', 'active', '{}', gen_random_uuid());",
    )
    .await;
    let mut op = h.sign_in("operator@example.com").await;
    let page = op.get("/connectors/demo-lenos").await;
    assert!(page.body.contains("id=\"register-form\""), "{}", page.body);
    let csrf = Visitor::csrf_of(&page);
    let answer = op
        .post(
            "/connectors/demo-lenos/register-test",
            &[("csrf", &csrf), ("app", "demo-event-app"), ("person", "p2"), ("session", "s6")],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.body.contains("HTTP 200") && answer.body.contains("&#34;answer&#34;: &#34;confirmed&#34;"),
        "{}",
        answer.body
    );
    let asked =
        h.sandbox.requests().await.iter().filter(|r| r.method == "POST" && r.path.starts_with("/lenos/")).count();
    assert!(asked >= 1, "Lenos was asked");
    let recorded: String =
        h.db.scalar("SELECT answer FROM connector.register_attempt WHERE person_ext_id = 'p2'").await;
    assert_eq!(recorded, "confirmed");
    let other_app = op
        .post(
            "/connectors/demo-lenos/register-test",
            &[("csrf", &csrf), ("app", "someone-else"), ("person", "p2"), ("session", "s6")],
        )
        .await;
    assert_eq!(other_app.status, 400);
}

/// A lead of the demo car-accident lander whose Captorra delivery was rejected.
const REJECTED_LEAD: &str = "INSERT INTO leads.lead (id, lander_id, source, source_id, first_name, last_name, email, phone, fields)
  VALUES (900001, 'demo-accident-lp', 'endpoint', 'x-1', 'Dana', 'Ruiz', 'Dana.Ruiz@Example.org', '(555) 010-3344',
          '{\"first_name\": \"Dana\", \"last_name\": \"Ruiz\", \"email\": \"Dana.Ruiz@Example.org\", \"phone\": \"(555) 010-3344\", \"details\": \"rear-ended\"}');
  INSERT INTO leads.delivery (lead_id, integration_id, status, attempts, response_status, response_body, reason)
  VALUES (900001, 'demo-captorra', 'rejected', 1, 400, '{\"success\": false, \"message\": \"Referrer unknown\"}', 'HTTP 400: Referrer unknown');
  INSERT INTO leads.delivery_attempt (lead_id, integration_id, response_status, outcome, response_body, ms)
  VALUES (900001, 'demo-captorra', 400, 'rejected', '{\"success\": false, \"message\": \"Referrer unknown\"}', 120);";

#[tokio::test]
async fn a_lead_is_found_its_timeline_read_and_it_is_redelivered_now() {
    let h = ConsoleHarness::start().await;
    h.db.exec(REJECTED_LEAD).await;
    let mut op = h.sign_in("operator@example.com").await;
    for q in ["dana.ruiz%40example.org", "555-010-3344", "5550103344", "900001"] {
        let found = op.get(&format!("/leads?q={q}")).await;
        assert!(found.body.contains("href=\"/leads/900001\""), "{q} finds the lead: {}", found.body);
    }
    let none = op.get("/leads?q=nobody%40example.org").await;
    assert!(none.body.contains("No lead found"));
    let timeline = op.get("/leads/900001").await;
    assert_eq!(timeline.status, 200);
    assert!(timeline.body.contains("demo-captorra: attempt → rejected (HTTP 400) in 120 ms"), "{}", timeline.body);
    assert!(timeline.body.contains("Referrer unknown"));
    let csrf = Visitor::csrf_of(&timeline);

    let before = h.sandbox.received_leads().await.len();
    let redelivered = op.post("/leads/900001/redeliver", &[("csrf", &csrf), ("integration", "demo-captorra")]).await;
    assert_eq!(redelivered.status, 303, "{}", redelivered.body);
    let status: String =
        h.db.scalar("SELECT status FROM leads.delivery WHERE lead_id = 900001 AND integration_id = 'demo-captorra'")
            .await;
    assert_eq!(status, "delivered");
    let received = h.sandbox.received_leads().await;
    assert_eq!(received.len(), before + 1);
    assert_eq!(received.last().unwrap().fields["Last"], "Ruiz");
    // The outbox's announcement reached the queue; lead-delivery finds it delivered there.
    let announced = integration_tests::drain_bodies(&h.sdk, &h.lead_queue).await;
    assert!(announced.iter().any(|b| b.contains("900001")), "{announced:?}");
    // Delivered, it is not redelivered again.
    let again = op.post("/leads/900001/redeliver", &[("csrf", &csrf), ("integration", "demo-captorra")]).await;
    assert_eq!(again.status, 303);
    assert_eq!(h.sandbox.received_leads().await.len(), before + 1);
    let timeline = op.get("/leads/900001").await;
    assert!(timeline.body.contains("lead redeliver by operator@example.com"), "{}", timeline.body);
}

#[tokio::test]
async fn an_integrations_failed_leads_are_redelivered_after_a_preview_of_which() {
    let h = ConsoleHarness::start().await;
    h.db.exec(REJECTED_LEAD).await;
    h.db.exec(
        "INSERT INTO leads.lead (id, lander_id, source, source_id, first_name, fields)
         VALUES (900002, 'demo-accident-lp', 'endpoint', 'x-2', 'Lee', '{}');
         INSERT INTO leads.delivery (lead_id, integration_id, status, reason) VALUES (900002, 'demo-captorra', 'unknown_outcome', 'lost');",
    )
    .await;
    let mut op = h.sign_in("operator@example.com").await;
    let preview = op.get("/leads/integrations/demo-captorra/redeliver").await;
    assert!(preview.body.contains("These <strong>2</strong> leads"), "{}", preview.body);
    let csrf = Visitor::csrf_of(&preview);
    let marker = r#"name="fingerprint" value=""#;
    let at = preview.body.find(marker).expect("the preview's fingerprint") + marker.len();
    let fingerprint = preview.body[at..].split('"').next().unwrap().to_owned();
    // Another lead failed since the preview: the confirmation is refused, nothing reopened.
    h.db.exec(
        "INSERT INTO leads.lead (id, lander_id, source, source_id, first_name, fields)
         VALUES (900003, 'demo-accident-lp', 'endpoint', 'x-3', 'Kim', '{}');
         INSERT INTO leads.delivery (lead_id, integration_id, status, reason) VALUES (900003, 'demo-captorra', 'invalid', 'no phone');",
    )
    .await;
    let path = "/leads/integrations/demo-captorra/redeliver";
    let stale = op.post(path, &[("csrf", &csrf), ("expected", "2"), ("fingerprint", &fingerprint)]).await;
    assert_eq!(stale.status, 400, "{}", stale.body);
    assert!(stale.body.contains("changed since they were shown"), "{}", stale.body);
    let waiting: i64 = h
        .db
        .scalar("SELECT count(*) FROM leads.delivery WHERE integration_id = 'demo-captorra' AND status = 'waiting'")
        .await;
    assert_eq!(waiting, 0, "nothing was reopened");
    h.db.exec("DELETE FROM leads.delivery WHERE lead_id = 900003").await;
    let done = op.post(path, &[("csrf", &csrf), ("expected", "2"), ("fingerprint", &fingerprint)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let waiting: i64 = h
        .db
        .scalar("SELECT count(*) FROM leads.delivery WHERE integration_id = 'demo-captorra' AND status = 'waiting'")
        .await;
    assert_eq!(waiting, 2);
    let announced = integration_tests::drain_bodies(&h.sdk, &h.lead_queue).await.join(" ");
    assert!(announced.contains("900001") && announced.contains("900002"), "{announced}");
}

#[tokio::test]
async fn an_integration_is_configured_through_its_form_tested_with_a_lead_and_paused() {
    let h = ConsoleHarness::start().await;
    let mut op = h.sign_in("operator@example.com").await;
    let page = op.get("/leads/integrations/demo-jones-webhook").await;
    assert!(page.body.contains("endpoint"), "the to-do list names the endpoint: {}", page.body);
    let csrf = Visitor::csrf_of(&page);
    let path = "/leads/integrations/demo-jones-webhook";
    let bad = op
        .post(path, &[("csrf", &csrf), ("mapping", r#"{"name": {"field": "first_name", "transform": "shout"}}"#)])
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("unknown transform"), "{}", bad.body);
    let endpoint = format!("{}/webhook-receiver/jones", h.sandbox.url);
    let saved = op
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("endpoint", &endpoint),
                ("mapping", r#"{"name": "first_name", "surname": "last_name"}"#),
                ("contact_email", "leads@jones-injury.example"),
                ("secret_id", ""),
                ("constants", ""),
                ("rules", ""),
                ("options", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(saved.header("location").unwrap().contains("saved%3A+ready"), "{:?}", saved.header("location"));
    let state: String = h.db.scalar("SELECT state FROM leads.integration WHERE id = 'demo-jones-webhook'").await;
    assert_eq!(state, "ready");

    // A test lead: the vendor's raw answer in the page, the lead in the sandbox.
    let test = op.post("/leads/integrations/demo-captorra/test", &[("csrf", &csrf)]).await;
    assert_eq!(test.status, 200, "{}", test.body);
    assert!(test.body.contains("HTTP 200"), "{}", test.body);
    let received = h.sandbox.received_leads().await;
    assert!(received.iter().any(|l| l.route == "captorra" && l.body.contains("TEST LEAD")), "{received:?}");

    // Pause and resume, audited.
    assert_eq!(op.post("/leads/integrations/demo-captorra/pause", &[("csrf", &csrf)]).await.status, 303);
    let enabled: bool = h.db.scalar("SELECT enabled FROM leads.integration WHERE id = 'demo-captorra'").await;
    assert!(!enabled);
    assert_eq!(op.post("/leads/integrations/demo-captorra/resume", &[("csrf", &csrf)]).await.status, 303);
    let actions: Vec<String> =
        h.db.rows("SELECT action FROM console.audit WHERE target = 'integration:demo-captorra' ORDER BY id")
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(actions, ["integration test lead", "integration pause", "integration resume"]);
    // The confirmation e-mail reads with a real lead once there is one.
    h.db.exec(REJECTED_LEAD).await;
    let page = op.get("/leads/integrations/demo-captorra").await;
    assert!(page.body.contains("Your leads from Car accident lander now reach Captorra"), "{}", page.body);
    assert!(page.body.contains("not due yet"), "{}", page.body);
}

#[tokio::test]
async fn an_export_is_rerun_for_a_date_its_email_resent_and_its_template_previewed_and_checked() {
    let h = ConsoleHarness::start().await;
    h.db.exec(REJECTED_LEAD).await;
    let mut op = h.sign_in("operator@example.com").await;
    let page = op.get("/exports/demo-accident-custom").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<td>Dana</td>"), "the template's preview shows the lead: {}", page.body);
    let csrf = Visitor::csrf_of(&page);
    let rerun = op.post("/exports/demo-accident-custom/rerun", &[("csrf", &csrf), ("date", "2026-12-01")]).await;
    assert_eq!(rerun.status, 303, "{}", rerun.body);
    let planned: String =
        h.db.scalar("SELECT status FROM leads.export WHERE subscription_id = 'demo-accident-custom'").await;
    assert_eq!(planned, "planned");
    let page = op.get("/exports/demo-accident-custom").await;
    assert!(page.body.contains("hx-trigger=\"every 3s\""), "the page follows a planned report");
    h.run_export_jobs().await;
    let row = h
        .db
        .rows("SELECT status, row_count, s3_key, emailed_at IS NOT NULL FROM leads.export WHERE subscription_id = 'demo-accident-custom' AND report_date = '2026-12-01'")
        .await;
    let (status, key, emailed): (String, String, bool) = (row[0].get(0), row[0].get(2), row[0].get(3));
    assert_eq!(status, "done");
    assert!(emailed, "the first run e-mails the recipients");
    let s3 = platform_aws::s3::client(&h.sdk, true);
    assert!(s3.head_object().bucket(&h.bucket).key(&key).send().await.is_ok(), "the workbook is in S3");
    let first: String =
        h.db.scalar("SELECT email_message_id FROM leads.export WHERE subscription_id = 'demo-accident-custom'").await;
    let resent = op.post("/exports/demo-accident-custom/resend", &[("csrf", &csrf), ("date", "2026-12-01")]).await;
    assert_eq!(resent.status, 303, "{}", resent.body);
    let second: String =
        h.db.scalar("SELECT email_message_id FROM leads.export WHERE subscription_id = 'demo-accident-custom'").await;
    assert_ne!(first, second, "a second e-mail went");
    let never = op.post("/exports/demo-accident-custom/resend", &[("csrf", &csrf), ("date", "2026-11-01")]).await;
    assert_eq!(never.status, 400);

    // A draft naming a field the lander does not have is refused with the fields it has.
    let draft = r#"{"sheet": "Leads", "columns": [{"field": "shoe_size"}]}"#;
    let refused = op
        .post("/exports/demo-accident-custom/template", &[("csrf", &csrf), ("definition", draft), ("action", "save")])
        .await;
    assert_eq!(refused.status, 200);
    assert!(refused.body.contains("shoe_size") && refused.body.contains("nothing was saved"), "{}", refused.body);
    let good = r#"{"sheet": "Leads", "columns": [{"field": "last_name", "header": "Surname", "transform": "upper"}]}"#;
    let previewed = op
        .post("/exports/demo-accident-custom/template", &[("csrf", &csrf), ("definition", good), ("action", "preview")])
        .await;
    assert!(
        previewed.body.contains("<th>Surname</th>") && previewed.body.contains("<td>RUIZ</td>"),
        "{}",
        previewed.body
    );
    let unchanged: serde_json::Value =
        h.db.scalar("SELECT definition FROM leads.export_template WHERE id = 'demo-accident-custom'").await;
    assert_eq!(unchanged["sheet"], "Accident leads", "a preview saves nothing");
    let saved = op
        .post("/exports/demo-accident-custom/template", &[("csrf", &csrf), ("definition", good), ("action", "save")])
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let definition: serde_json::Value =
        h.db.scalar("SELECT definition FROM leads.export_template WHERE id = 'demo-accident-custom'").await;
    assert_eq!(definition["columns"][0]["header"], "Surname");
    let actions: Vec<String> =
        h.db.rows("SELECT action FROM console.audit WHERE source = 'console' AND action LIKE 'export%' ORDER BY id")
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(actions, ["export rerun", "export resend", "export resend", "export template"]);
}

#[tokio::test]
async fn an_integrations_secrets_stay_where_they_are_and_a_viewer_changes_nothing() {
    let h = ConsoleHarness::start().await;
    h.db.exec(
        "UPDATE leads.integration SET options = '{\"body\": \"form\", \"headers\": {\"X-Api-Key\": \"k-live-123456\"}}'
          WHERE id = 'demo-intakedesk'",
    )
    .await;
    let mut op = h.sign_in("operator@example.com").await;
    let page = op.get("/leads/integrations/demo-intakedesk").await;
    assert!(!page.body.contains("k-live-123456"), "a header value is never shown");
    assert!(page.body.contains("[redacted]"));
    let csrf = Visitor::csrf_of(&page);
    // The options as the page showed them, saved back: the stored value stays.
    let shown = r#"{"body": "form", "headers": {"X-Api-Key": "[redacted]"}}"#;
    let path = "/leads/integrations/demo-intakedesk";
    let mapping = r#"{"first": "first_name", "last": "last_name", "phone": "phone", "email": "email"}"#;
    let form = |options: &'static str, secret: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("endpoint", format!("{}/intakedesk/meso-2026", h.sandbox.url)),
            ("mapping", mapping.to_owned()),
            ("constants", r#"{"campaign": "meso-2026"}"#.to_owned()),
            ("options", options.to_owned()),
            ("secret_id", secret.to_owned()),
            ("contact_email", "intake@baker-legal.example".to_owned()),
        ]
    };
    let pairs = |f: &Vec<(&'static str, String)>| f.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>();
    assert_eq!(post_owned(&mut op, path, &pairs(&form(shown, ""))).await.status, 303);
    let options: serde_json::Value =
        h.db.scalar("SELECT options FROM leads.integration WHERE id = 'demo-intakedesk'").await;
    assert_eq!(options["headers"]["X-Api-Key"], "k-live-123456");
    // A renamed header carrying the marker has nothing to come from: refused, nothing saved.
    let renamed = r#"{"body": "form", "headers": {"X-API-KEY": "[redacted]"}}"#;
    let refused = post_owned(&mut op, path, &pairs(&form(renamed, ""))).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    // An integration may name only the secrets under the lead prefix.
    let outside = post_owned(&mut op, path, &pairs(&form(shown, "platform/prod/database"))).await;
    assert_eq!(outside.status, 400, "{}", outside.body);
    assert!(outside.body.contains("must be named test/"), "{}", outside.body);
    let secret: Option<String> =
        h.db.scalar("SELECT secret_id FROM leads.integration WHERE id = 'demo-intakedesk'").await;
    assert_eq!(secret, None);
    // Named by SQL, such a secret is never read: the integration waits, nothing is sent.
    h.db.exec("UPDATE leads.integration SET secret_id = 'platform/prod/database' WHERE id = 'demo-intakedesk'").await;
    let before = h.sandbox.received_leads().await.len();
    let test = op.post("/leads/integrations/demo-intakedesk/test", &[("csrf", &csrf)]).await;
    assert_eq!(test.status, 200, "{}", test.body);
    assert!(test.body.contains("an integration&#39;s secret must be named test/"), "{}", test.body);
    assert_eq!(h.sandbox.received_leads().await.len(), before, "nothing was sent");
    let status: String =
        h.db.scalar("SELECT d.status FROM leads.delivery d JOIN leads.lead l ON l.id = d.lead_id WHERE l.is_test")
            .await;
    assert_eq!(status, "waiting");

    // A viewer reads the pages and changes nothing.
    let mut viewer = h.sign_in("viewer@example.com").await;
    let seen = viewer.get("/leads/integrations/demo-captorra").await;
    assert_eq!(seen.status, 200);
    assert!(!seen.body.contains("id=\"send-test-lead\""), "a viewer gets no buttons");
    let vcsrf = Visitor::csrf_of(&seen);
    for (path, form) in [
        ("/leads/integrations/demo-captorra/test", vec![("csrf", vcsrf.as_str())]),
        ("/leads/integrations/demo-captorra/pause", vec![("csrf", vcsrf.as_str())]),
        ("/leads/integrations/demo-captorra", vec![("csrf", vcsrf.as_str()), ("mapping", "{}")]),
        (
            "/leads/integrations/demo-captorra/redeliver",
            vec![("csrf", vcsrf.as_str()), ("expected", "0"), ("fingerprint", "x")],
        ),
        ("/leads/1/redeliver", vec![("csrf", vcsrf.as_str()), ("integration", "demo-captorra")]),
        ("/exports/demo-accident-custom/rerun", vec![("csrf", vcsrf.as_str()), ("date", "2026-12-01")]),
        ("/exports/demo-accident-custom/resend", vec![("csrf", vcsrf.as_str()), ("date", "2026-12-01")]),
        ("/connectors/demo-aventri/pull", vec![("csrf", vcsrf.as_str()), ("mode", "full")]),
        (
            "/connectors/demo-aventri/streams/participants/removal",
            vec![("csrf", vcsrf.as_str()), ("typed", "x"), ("expected", "0")],
        ),
    ] {
        assert_eq!(viewer.post(path, &form).await.status, 403, "{path} is refused to a viewer");
    }
    let template_save = viewer
        .post(
            "/exports/demo-accident-custom/template",
            &[("csrf", &vcsrf), ("definition", "{\"columns\": []}"), ("action", "save")],
        )
        .await;
    assert_eq!(template_save.status, 403);
    let test_leads: i64 = h.db.scalar("SELECT count(*) FROM leads.lead WHERE is_test").await;
    let exports: i64 = h.db.scalar("SELECT count(*) FROM leads.export").await;
    assert_eq!((test_leads, exports), (1, 0), "the viewer did nothing (the one test lead is the operator's)");
}

#[tokio::test]
async fn a_new_client_is_onboarded_from_the_console_and_its_integration_says_what_it_needs() {
    let h = ConsoleHarness::start().await;
    let mut op = h.sign_in("operator@example.com").await;
    let page = op.get("/leads").await;
    assert!(page.body.contains("id=\"new-integration\""));
    let csrf = Visitor::csrf_of(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("id", "rivera-captorra"),
        ("parser", "captorra"),
        ("client", ""),
        ("new_client_id", "rivera-law"),
        ("new_client_name", "Rivera Law"),
        ("new_client_email", "intake@rivera-law.example"),
        ("lander", ""),
        ("new_lander_id", "rivera-dog-bite-lp"),
        ("new_lander_name", "Dog bite lander"),
    ];
    let created = op.post("/leads/integrations", &form).await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(created.header("location").map(|l| l.starts_with("/leads/integrations/rivera-captorra")), Some(true));
    let row =
        h.db.rows(
            "SELECT i.state, i.missing, c.name, l.client_id FROM leads.integration i
               JOIN leads.client c ON c.id = i.client_id JOIN leads.lander l ON l.id = i.lander_id
              WHERE i.id = 'rivera-captorra'",
        )
        .await;
    let (state, missing, client, owner): (String, Vec<String>, String, String) =
        (row[0].get(0), row[0].get(1), row[0].get(2), row[0].get(3));
    assert_eq!((state.as_str(), client.as_str(), owner.as_str()), ("awaiting_information", "Rivera Law", "rivera-law"));
    assert!(missing.iter().any(|m| m.contains("CaptorraId")), "the to-do list: {missing:?}");
    let page = op.get("/leads").await;
    assert!(page.body.contains("Rivera Law (rivera-law) <strong class=\"error\">new client</strong>"), "{}", page.body);
    // The same id again, or a new client whose id exists: refused, nothing created.
    let again = op.post("/leads/integrations", &form).await;
    assert_eq!(again.status, 400);
    let mut second = form;
    second[1] = ("id", "rivera-ice");
    let clash = op.post("/leads/integrations", &second).await;
    assert_eq!(clash.status, 400);
    assert!(clash.body.contains("a client rivera-law exists already"), "{}", clash.body);
    let integrations: i64 = h.db.scalar("SELECT count(*) FROM leads.integration WHERE client_id = 'rivera-law'").await;
    assert_eq!(integrations, 1);
    let by: String = h.db.scalar("SELECT actor FROM console.audit WHERE action = 'integration created'").await;
    assert_eq!(by, "operator@example.com");
    let mut viewer = h.sign_in("viewer@example.com").await;
    let vcsrf = Visitor::csrf_of(&viewer.get("/leads").await);
    let mut as_viewer = form;
    as_viewer[0] = ("csrf", vcsrf.as_str());
    as_viewer[1] = ("id", "viewer-made");
    assert_eq!(viewer.post("/leads/integrations", &as_viewer).await.status, 403);
}
