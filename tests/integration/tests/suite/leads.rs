//! lead-delivery against the sandbox's lead intake systems over HTTP (provisional contract), a
//! real PostgreSQL and moto: the signed lead endpoint, delivery to every integration of a lander
//! at most once with a 2xx, validation before sending, retries, permanent refusals, a lost
//! answer held rather than re-posted, states, redelivery and the test lead.

use std::time::Duration;

use integration_tests::{drain_bodies, emails_to, sqs_event};
use integration_tests::{
    hostile,
    leads_support::{ICE_REFERRER, LANDER_KEY, REFERRER, ada, harness, service, signed},
};
use platform_aws::{SecretsCache, SqsSender};
use platform_domain::envelope::Envelope;
use platform_leads::{KIND_LEADS_RECEIVED, Leads, config::State, deliver::Outcome};
use platform_runtime::function_url::RequestParts;
use serde_json::{Value, json};
use vendor_sandbox::{
    Fault, FaultRule,
    leads::{LeadIntakeFixture, LeadSwitches},
};

#[tokio::test]
async fn a_lead_reaches_every_integration_of_its_lander_exactly_once() {
    let h = harness().await;
    platform_runtime::metrics::capture();
    let lead = h.post("lp-1", ada()).await;
    let bodies = h.deliver_queue().await;
    // The metrics, as the EMF lines CloudWatch reads: one stored lead, four timed deliveries.
    let endpoint = integration_tests::emf("lead-delivery", "endpoint");
    assert_eq!((endpoint.len(), endpoint[0]["RowsWritten"].as_u64()), (1, Some(1)), "{endpoint:?}");
    let deliveries = integration_tests::emf("lead-delivery", "delivery");
    assert_eq!(deliveries.iter().filter(|m| m["Delivered"] == 1).count(), 4, "{deliveries:?}");
    assert!(deliveries.iter().all(|m| m["VendorLatency"].as_array().is_some_and(|l| l.len() == 1)), "{deliveries:?}");
    assert_eq!(bodies.len(), 1, "one message per lead");
    let received = h.sandbox.received_leads().await;
    let routes: Vec<&str> = received.iter().map(|r| r.route.as_str()).collect();
    assert_eq!(routes.len(), 4, "{routes:?}");
    let captorra = received.iter().find(|r| r.route == "captorra").unwrap();
    assert_eq!(
        Value::Object(captorra.fields.clone()),
        json!({"First": "Ada", "Last": "Lovelace", "Primary": "5550100199", "Email": "ada@example.org", "Details": "Rear-ended on 3 Nov.",
               "ID": lead.to_string(), "CaptorraId": "123456", "Referrer": REFERRER})
    );
    assert_eq!(captorra.content_type.as_deref(), Some("application/json"));
    let desk = received.iter().find(|r| r.route == "intakedesk/camp-7").unwrap();
    assert_eq!(desk.content_type.as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(desk.fields["phone"], "(555) 010-0199");
    // The webhook: custom headers, the secret one, and an HMAC of the exact body.
    let hook = received.iter().find(|r| r.route == "webhook/smith").unwrap();
    let header = |n: &str| hook.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(header("authorization").as_deref(), Some("client-api-token"));
    assert_eq!(header("x-source").as_deref(), Some("platform"));
    assert_eq!(
        header("x-signature").unwrap(),
        platform_domain::signature::sign(hook.body.as_bytes(), "webhook-signing-key")
    );
    // Recorded: delivered, the vendor's id and raw answer, the request without the secret header.
    let rows = h.db.rows(&format!("SELECT integration_id, status, vendor_lead_id, response_body, request FROM leads.delivery WHERE lead_id = {lead} ORDER BY 1")).await;
    assert!(rows.iter().all(|r| r.get::<_, String>(1) == "delivered"));
    let captorra_row = rows.iter().find(|r| r.get::<_, String>(0) == "smith-captorra").unwrap();
    assert!(captorra_row.get::<_, Option<String>>(2).is_some());
    assert!(captorra_row.get::<_, String>(3).contains("\"success\":true"), "Captorra's public answer shape");
    assert!(captorra_row.get::<_, Option<String>>(2).unwrap().contains('-'), "the IntakeId is the vendor's id");
    let hook_request: Value = rows.iter().find(|r| r.get::<_, String>(0) == "smith-webhook").unwrap().get(4);
    assert_eq!(hook_request["headers"]["Authorization"], "[redacted]");
    assert!(!hook_request.to_string().contains("client-api-token"));
    let states: Vec<String> =
        h.db.rows("SELECT state FROM leads.integration ORDER BY id").await.iter().map(|r| r.get(0)).collect();
    assert_eq!(states, ["live"; 4], "a first real 2xx makes an integration live");

    // The same message again (SQS at-least-once), and the same lead posted again.
    let again = h.leads.handle(&Envelope::parse(&bodies[0], &[KIND_LEADS_RECEIVED]).unwrap()).await.unwrap();
    assert!(again.iter().all(|(_, _, o)| *o == Outcome::AlreadyDelivered), "{again:?}");
    let a = h.leads.receive(signed("accident-lp", LANDER_KEY, &json!({"lead_id": "lp-1", "fields": ada()}))).await;
    assert_eq!((a.body["lead"].as_i64(), a.body["duplicate"].as_bool()), (Some(lead), Some(true)));
    assert!(h.deliver_queue().await.is_empty(), "a repeated lead is not announced again");
    assert_eq!(h.sandbox.received_leads().await.len(), 4, "nothing was posted twice");
    // Concurrent duplicates: two handlers on one new lead post it once per integration.
    let lead2 = h.post("lp-2", ada()).await;
    let bodies = drain_bodies(&h.sdk, &h.queue).await;
    let env = Envelope::parse(&bodies[0], &[KIND_LEADS_RECEIVED]).unwrap();
    let (x, y) = tokio::join!(h.leads.handle(&env), h.leads.handle(&env));
    let _ = (x, y);
    let posts = h
        .sandbox
        .received_leads()
        .await
        .iter()
        .filter(|r| r.fields.get("ID") == Some(&json!(lead2.to_string())))
        .count();
    assert_eq!(posts, 2, "Captorra and ICE (which carry the id) got lead 2 once each");
    assert_eq!(h.sandbox.received_leads().await.len(), 8);

    // One confirmation e-mail per integration, whatever the duplicates and the concurrency.
    let emails = emails_to(&h.contact).await;
    let mut subjects: Vec<String> = emails.iter().map(|m| m["subject"].as_str().unwrap().to_owned()).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "Your leads from Car accident lander now reach Captorra",
            "Your leads from Car accident lander now reach ICE",
            "Your leads from Car accident lander now reach IntakeDesk",
            "Your leads from Car accident lander now reach your intake system",
        ]
    );
    let captorra_mail = emails.iter().find(|m| m["subject"].as_str().unwrap().ends_with("Captorra")).unwrap();
    let vendor_id: String =
        h.db.scalar(&format!(
            "SELECT vendor_lead_id FROM leads.delivery WHERE lead_id = {lead} AND integration_id = 'smith-captorra'"
        ))
        .await;
    assert!(captorra_mail["body"].as_str().unwrap().contains(&vendor_id), "{captorra_mail}");
    assert!(captorra_mail["body"].as_str().unwrap().starts_with("Hello Smith Law,"));
    let unsent: i64 = h.db.scalar("SELECT count(*) FROM leads.confirmation WHERE sent_at IS NULL").await;
    assert_eq!(unsent, 0);
    h.leads.refresh_states().await.unwrap();
    assert_eq!(emails_to(&h.contact).await.len(), 4, "a later run sends none again");
}

#[tokio::test]
async fn rules_are_checked_before_sending() {
    let h = harness().await;
    let lead = h.post("lp-1", json!({"first_name": "Ada", "details": "x"})).await;
    h.deliver_queue().await;
    let (status, reason) = h.status(lead, "smith-captorra").await;
    assert_eq!((status.as_str(), reason.as_deref()), ("invalid", Some("Last: required, but the lead has no value")));
    assert!(
        h.sandbox.received_leads().await.iter().all(|r| r.route != "captorra" && r.route != "ice"),
        "nothing invalid was sent"
    );

    // Lenient (the default) truncates by characters and records a warning; strict refuses.
    let long = "é".repeat(4100);
    let lead = h.post("lp-2", json!({"first_name": "Ada", "last_name": "L", "details": long})).await;
    h.deliver_queue().await;
    let warnings: Vec<String> =
        h.db.scalar(&format!(
            "SELECT warnings FROM leads.delivery WHERE lead_id = {lead} AND integration_id = 'smith-captorra'"
        ))
        .await;
    assert_eq!(warnings, ["Details truncated from 4100 to 4000 characters"]);
    let sent = h.sandbox.received_leads().await.into_iter().rev().find(|r| r.route == "captorra").unwrap();
    assert_eq!(sent.fields["Details"].as_str().unwrap().chars().count(), 4000);
    h.db.exec("UPDATE leads.integration SET rules = '{\"strict\": true}' WHERE id = 'smith-captorra'").await;
    let lead = h.post("lp-3", json!({"first_name": "Ada", "last_name": "L", "details": "é".repeat(4100)})).await;
    h.deliver_queue().await;
    let (status, reason) = h.status(lead, "smith-captorra").await;
    assert_eq!(
        (status.as_str(), reason.as_deref()),
        ("invalid", Some("Details: 4100 characters, at most 4000 allowed"))
    );
}

#[tokio::test]
async fn transient_failures_are_retried_and_refusals_are_permanent() {
    let h = harness().await;
    h.sandbox
        .set_faults(vec![
            FaultRule {
                path_prefix: "/api/captorraapi".into(),
                on_requests: vec![1],
                fault: Fault::ServerError { status: 503 },
            },
            FaultRule {
                path_prefix: "/api/iceapi".into(),
                on_requests: vec![1],
                fault: Fault::RateLimit { retry_after: 1 },
            },
        ])
        .await;
    let lead = h.post("lp-1", ada()).await;
    h.deliver_queue().await;
    assert_eq!(h.status(lead, "smith-captorra").await.0, "delivered");
    assert_eq!(h.status(lead, "smith-ice").await.0, "delivered");
    let attempts = h.sandbox.requests().await.iter().filter(|r| r.path.starts_with("/api/")).count();
    assert_eq!(attempts, 4, "each vendor: one failure, one success");

    // A vendor that keeps failing: the lead comes back through the queue, then goes through.
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: "/api/iceapi".into(),
            on_requests: vec![],
            fault: Fault::ServerError { status: 500 },
        }])
        .await;
    let lead = h.post("lp-2", ada()).await;
    let bodies = drain_bodies(&h.sdk, &h.queue).await;
    let env = Envelope::parse(&bodies[0], &[KIND_LEADS_RECEIVED]).unwrap();
    let err = h.leads.handle(&env).await.unwrap_err();
    assert!(err.to_string().contains("smith-ice"), "{err}");
    assert_eq!(h.status(lead, "smith-ice").await.0, "retrying");
    assert_eq!(h.status(lead, "smith-captorra").await.0, "delivered");
    h.sandbox.set_faults(Vec::new()).await;
    let back = h.leads.handle(&env).await.unwrap();
    assert!(back.iter().any(|(_, i, o)| i == "smith-ice" && matches!(o, Outcome::Delivered { .. })), "{back:?}");
    assert!(back.iter().any(|(_, i, o)| i == "smith-captorra" && *o == Outcome::AlreadyDelivered));

    // A 4xx is permanent, recorded with the vendor's answer; redelivery after the fix.
    h.db.exec("UPDATE leads.integration SET constants = '{\"Referrer\": \"11111111-2222-3333-4444-555555555555\"}' WHERE id = 'smith-ice'").await;
    let lead = h.post("lp-3", ada()).await;
    h.deliver_queue().await;
    let (status, reason) = h.status(lead, "smith-ice").await;
    assert_eq!(status, "rejected");
    assert!(reason.unwrap().starts_with("HTTP 401: {\"Errors\":[\"unknown organisation or referrer\"]"));
    h.db.exec(&format!(
        "UPDATE leads.integration SET constants = '{{\"Referrer\": \"{ICE_REFERRER}\"}}' WHERE id = 'smith-ice'"
    ))
    .await;
    assert_eq!(h.leads.redeliver("smith-ice", None).await.unwrap(), [lead]);
    h.deliver_queue().await;
    assert_eq!(h.status(lead, "smith-ice").await.0, "delivered");
    let attempts: i64 =
        h.db.scalar(&format!(
            "SELECT count(*) FROM leads.delivery_attempt WHERE lead_id = {lead} AND integration_id = 'smith-ice'"
        ))
        .await;
    assert_eq!(attempts, 2, "the refusal and the redelivery are both in the log");

    // Captorra refusing inside a 200 ({"success":false}): rejected by the success rule, the body
    // kept, never taken for delivered.
    h.sandbox.state.leads.lock().await.fixture.switches.refuse_in_200 = true;
    h.db.exec("UPDATE leads.integration SET constants = constants || '{\"CaptorraId\": \"999999\"}' WHERE id = 'smith-captorra'").await;
    let lead = h.post("lp-4", ada()).await;
    h.deliver_queue().await;
    let (status, reason) = h.status(lead, "smith-captorra").await;
    assert_eq!(status, "rejected");
    assert!(
        reason.as_deref().unwrap().starts_with("HTTP 200, but the answer fails the success rule: /success is false"),
        "{reason:?}"
    );
    let body: String =
        h.db.scalar(&format!(
            "SELECT response_body FROM leads.delivery WHERE lead_id = {lead} AND integration_id = 'smith-captorra'"
        ))
        .await;
    assert_eq!(body, "{\"success\":false}");
}

#[tokio::test]
async fn a_lost_answer_is_held_not_reposted() {
    let h = harness().await;
    // The vendor takes the lead and answers after the client's timeout.
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: "/api/captorraapi".into(),
            on_requests: vec![1],
            fault: Fault::LateAnswer { delay_ms: 3000 },
        }])
        .await;
    let lead = h.post("lp-1", ada()).await;
    h.deliver_queue().await;
    let (status, reason) = h.status(lead, "smith-captorra").await;
    assert_eq!(status, "unknown_outcome");
    assert!(reason.unwrap().contains("not re-posted"));
    // A crash between the vendor's 2xx and the database write: the row stays `sending`.
    let lead2 = h.post("lp-2", ada()).await;
    h.db.exec(&format!(
        "INSERT INTO leads.delivery (lead_id, integration_id, status, attempts, claimed_until)
         VALUES ({lead2}, 'smith-ice', 'sending', 1, now() - interval '1 second')"
    ))
    .await;
    let ice = |outcomes: Vec<(String, Outcome)>| outcomes.into_iter().find(|(i, _)| i == "smith-ice").unwrap().1;
    // The attempt that finds the lost answer says so; one after it finds the lead held.
    assert_eq!(ice(h.leads.deliver_lead(lead2).await.unwrap()), Outcome::UnknownOutcome);
    assert_eq!(h.status(lead2, "smith-ice").await.0, "unknown_outcome");
    assert_eq!(ice(h.leads.deliver_lead(lead2).await.unwrap()), Outcome::Held { status: "unknown_outcome".into() });
    h.deliver_queue().await;
    assert_eq!(h.status(lead2, "smith-ice").await.0, "unknown_outcome");
    let ice_posts = h
        .sandbox
        .received_leads()
        .await
        .iter()
        .filter(|r| r.route == "ice" && r.fields["ID"] == json!(lead2.to_string()))
        .count();
    assert_eq!(ice_posts, 0, "not re-posted after the lost answer");
    let captorra_posts = h
        .sandbox
        .received_leads()
        .await
        .iter()
        .filter(|r| r.route == "captorra" && r.fields["ID"] == json!(lead.to_string()))
        .count();
    assert_eq!(captorra_posts, 1);
    // The operator checked with the client: redeliver; the vendor's duplicate detection would
    // catch a second copy because the lead carries its id.
    h.sandbox
        .load_leads(LeadIntakeFixture {
            captorra: vec![("123456".into(), REFERRER.into())],
            ice_referrers: vec![ICE_REFERRER.into()],
            switches: LeadSwitches { duplicates: Some("200".into()), ..Default::default() },
            ..Default::default()
        })
        .await;
    h.leads.redeliver("smith-captorra", None).await.unwrap();
    h.deliver_queue().await;
    let (status, _) = h.status(lead, "smith-captorra").await;
    assert_eq!(status, "delivered");
    let last = h.sandbox.received_leads().await.into_iter().rev().find(|r| r.route == "captorra").unwrap();
    assert_eq!(last.status, 200);
}

#[tokio::test]
async fn integrations_wait_for_their_information_and_a_test_lead_checks_one() {
    let h = harness().await;
    h.db.exec("UPDATE leads.integration SET enabled = (id = 'smith-ice'), contact_email = NULL, constants = '{}'")
        .await;
    let report = h.leads.refresh_states().await.unwrap();
    assert_eq!(report.integrations["smith-ice"].state, State::AwaitingInformation);
    let missing = report.integrations["smith-ice"].missing.join("; ");
    assert!(missing.contains("Referrer") && missing.contains("contact e-mail"), "{missing}");
    let lead = h.post("lp-1", ada()).await;
    h.deliver_queue().await;
    let (status, reason) = h.status(lead, "smith-ice").await;
    assert_eq!(status, "waiting");
    assert!(reason.unwrap().contains("waiting for the integration"));
    assert!(h.sandbox.received_leads().await.is_empty());

    // The information arrives: the waiting lead goes out.
    h.db.exec(&format!(
        "UPDATE leads.integration SET contact_email = '{}', constants = '{{\"Referrer\": \"{ICE_REFERRER}\"}}' WHERE id = 'smith-ice'",
        h.contact
    ))
    .await;
    let report = h.leads.refresh_states().await.unwrap();
    assert_eq!((report.integrations["smith-ice"].state, report.integrations["smith-ice"].queued), (State::Ready, 1));

    // A test lead before the first real one: sent, answered, not counted as live.
    let test = h.leads.test_lead("smith-ice").await.unwrap();
    assert!(matches!(test.outcome, platform_leads::deliver::Outcome::Delivered { .. }), "{test:?}");
    assert_eq!(test.response_status, Some(200));
    let state: String = h.db.scalar("SELECT state FROM leads.integration WHERE id = 'smith-ice'").await;
    assert_eq!(state, "ready", "a test lead does not make the integration live");
    assert!(emails_to(&h.contact).await.is_empty(), "nor does it confirm the integration to the client");
    h.deliver_queue().await;
    assert_eq!(h.status(lead, "smith-ice").await.0, "delivered");
    let state: String = h.db.scalar("SELECT state FROM leads.integration WHERE id = 'smith-ice'").await;
    assert_eq!(state, "live");
    assert_eq!(emails_to(&h.contact).await.len(), 1, "the first real lead confirms it");
    let view: (i64, i64, i64) = {
        let r = &h
            .db
            .rows("SELECT delivered, waiting, failed FROM leads.lander_status WHERE integration_id = 'smith-ice'")
            .await[0];
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(view, (1, 0, 0), "the test lead is not in the operators' counts");
}

#[tokio::test]
async fn a_lead_with_nul_at_any_depth_is_stored_cleaned_and_a_bad_lead_id_refused() {
    let h = harness().await;
    // The reported lead: a NUL below the top level used to be refused by PostgreSQL on every
    // retry (503 forever).
    let reported = json!({"lead_id": "nul-1", "fields": {"first_name": "A", "extra": {"note": "a\u{0}b"}}});
    let a = h.leads.receive(signed("accident-lp", LANDER_KEY, &reported)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let note: String = h.db.scalar("SELECT fields #>> '{extra,note}' FROM leads.lead WHERE source_id = 'nul-1'").await;
    assert_eq!(note, "ab");
    // Every hostile value, under a key of its own and as a whole lead's fields.
    let mut fields = hostile::value();
    fields["first_name"] = json!("Nul\u{0}Name");
    let lead = h.post("nul-2", fields).await;
    let stored: Value = h.db.scalar(&format!("SELECT fields FROM leads.lead WHERE id = {lead}")).await;
    let mut expected = hostile::stored();
    expected["first_name"] = json!("NulName");
    assert_eq!(stored, expected);
    let first: String = h.db.scalar(&format!("SELECT first_name FROM leads.lead WHERE id = {lead}")).await;
    assert_eq!(first, "NulName");
    // A lead id that is not plain printable text is refused, nothing stored.
    for id in hostile::IDS {
        let a = h.leads.receive(signed("accident-lp", LANDER_KEY, &json!({"lead_id": id, "fields": ada()}))).await;
        assert_eq!(a.status, 400, "{id:?}: {}", a.body);
        assert_eq!(a.body["error"], "lead_id must be 1 to 200 printable characters");
    }
    let stored: i64 = h.db.scalar("SELECT count(*) FROM leads.lead").await;
    assert_eq!(stored, 2);
}

#[tokio::test]
async fn the_endpoint_takes_only_signed_leads_of_known_landers() {
    let h = harness().await;
    let body = json!({"lead_id": "x-1", "fields": ada()});
    let mut unsigned = signed("accident-lp", LANDER_KEY, &body);
    unsigned.headers.retain(|(k, _)| k != "X-Signature");
    for (req, status) in [
        (unsigned, 401),
        (signed("accident-lp", "wrong", &body), 401),
        (signed("other-lp", LANDER_KEY, &body), 401),
        (RequestParts { method: "GET".into(), ..signed("accident-lp", LANDER_KEY, &body) }, 405),
        (signed("accident-lp", LANDER_KEY, &json!({"fields": {}})), 400),
        (signed("accident-lp", LANDER_KEY, &json!({"lead_id": "", "fields": {}})), 400),
    ] {
        let a = h.leads.receive(req).await;
        assert_eq!(a.status, status, "{}", a.body);
    }
    let stored: i64 = h.db.scalar("SELECT count(*) FROM leads.lead").await;
    assert_eq!(stored, 0);
    // Through the Lambda handler, as the Function URL delivers it.
    let raw = json!({"lead_id": "fn-1", "fields": {"first_name": "Nul\u{0}Byte", "last_name": "名前"}}).to_string();
    let mut event: Value = serde_json::from_str(include_str!("../../../../events/lead-delivery/lead.json")).unwrap();
    event["headers"]["x-lander-id"] = json!("accident-lp");
    event["headers"]["x-signature"] = json!(platform_domain::signature::sign(raw.as_bytes(), LANDER_KEY));
    event["body"] = json!(raw);
    let out =
        lead_delivery::handle(&h.leads, lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()))
            .await
            .unwrap();
    assert_eq!(out["statusCode"], 200, "{out}");
    let name: (String, String) = {
        let r = &h.db.rows("SELECT first_name, last_name FROM leads.lead").await[0];
        (r.get(0), r.get(1))
    };
    assert_eq!(name, ("NulByte".into(), "名前".into()));
    // The SQS handler reports a failed lead alone.
    let bodies = drain_bodies(&h.sdk, &h.queue).await;
    let bad = "not an envelope".to_owned();
    let resp = lead_delivery::handle_batch(&h.leads, sqs_event(&[bodies[0].clone(), bad])).await;
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert_eq!(resp.batch_item_failures[0].item_identifier, "m1");
}

#[tokio::test]
async fn the_todo_report_lists_what_waits_and_tells_the_team_once() {
    let h = harness().await;
    // A new client whose integration misses its referrer, on a lander needing a custom script.
    h.db.exec(
        "INSERT INTO leads.client (id, name) VALUES ('new-firm', 'New Firm LLP');
         INSERT INTO leads.lander (id, name, client_id, needs_custom_script) VALUES ('dq-lp', 'DQ lander', 'new-firm', true);
         INSERT INTO leads.integration (id, lander_id, client_id, parser, mapping, contact_email)
         VALUES ('new-ice', 'dq-lp', 'new-firm', 'ice', '{\"First\": \"first_name\", \"Last\": \"last_name\"}', 'x@new-firm.example');",
    )
    .await;
    h.leads.refresh_states().await.unwrap();
    // Smith Law's integrations go live (no longer a new client).
    h.post("w-1", ada()).await;
    h.deliver_queue().await;
    // A lead of the new lander waits for its integration.
    h.db.exec(
        "INSERT INTO leads.lead (lander_id, source, source_id, first_name, last_name, fields) VALUES ('dq-lp', 'endpoint', 'dq-1', 'Kim', 'Lee', '{}');
         INSERT INTO leads.delivery (lead_id, integration_id, reason)
         SELECT id, 'new-ice', 'waiting for the integration: a mapping or constant for Referrer' FROM leads.lead WHERE source_id = 'dq-1';",
    )
    .await;
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let report = h.leads.todo_report(date).await.unwrap();
    assert_eq!((report.awaiting, report.waiting_leads), (1, 1), "{report:?}");
    assert_eq!(report.key, "todo/2026-11-23.xlsx");
    let bytes = platform_aws::s3::get(&h.s3, &h.bucket, "todo/2026-11-23.xlsx").await.unwrap();
    let printed = integration_tests::print::print(&bytes);
    assert_eq!(printed.pages, 3, "three one-row sheets, a page each: {}", printed.text);
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let rows = |book: &mut calamine::Xlsx<_>, sheet: &str| -> Vec<String> {
        book.worksheet_range(sheet)
            .unwrap()
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("|"))
            .collect()
    };
    let awaiting = rows(&mut book, "awaiting information");
    assert_eq!(awaiting[1], "new-ice|dq-lp|New Firm LLP|ice|a mapping or constant for Referrer|1", "{awaiting:?}");
    let waiting = rows(&mut book, "waiting leads");
    assert!(waiting[1].contains("|dq-lp|new-ice|") && waiting[1].contains("Kim Lee"), "{waiting:?}");
    let tell = rows(&mut book, "tell development");
    assert_eq!(tell[1..], ["custom lander script|dq-lp|DQ lander|new-ice", "new client|new-firm|New Firm LLP|new-ice"]);
    let team_mail = emails_to(&h.team).await;
    assert_eq!(team_mail.len(), 1);
    let body = team_mail[0]["body"].as_str().unwrap();
    assert!(body.contains("New Firm LLP (new-firm): it is a new client. Please do tell us!"), "{body}");
    assert!(body.contains("lander DQ lander (dq-lp) needs a custom script"), "{body}");
    // The same day again (a retry, an operator's run): the object is rewritten, no second e-mail.
    let again = h.leads.todo_report(date).await.unwrap();
    assert!(again.team_email.is_none(), "{again:?}");
    assert_eq!(emails_to(&h.team).await.len(), 1);
}

#[tokio::test]
async fn a_confirmation_ses_refused_is_kept_and_sent_by_the_next_refresh() {
    let h = harness().await;
    // The same service sending from an address SES has not verified: SES refuses.
    let mut settings = h.settings.clone();
    settings.email_from = Some(format!("unverified-{}@agency.example", uuid::Uuid::new_v4().simple()));
    let secrets = SecretsCache::new(aws_sdk_secretsmanager::Client::new(&h.sdk), Duration::from_secs(60));
    let refused = service(&h.db, &h.sdk, secrets, settings);
    h.db.exec("UPDATE leads.integration SET enabled = (id = 'smith-ice')").await;
    h.post("c-1", ada()).await;
    let bodies = drain_bodies(&h.sdk, &h.queue).await;
    let delivered = refused.handle(&Envelope::parse(&bodies[0], &[KIND_LEADS_RECEIVED]).unwrap()).await.unwrap();
    assert!(matches!(delivered[0].2, Outcome::Delivered { .. }), "the delivery does not depend on the e-mail");
    let (sent, error): (Option<chrono::DateTime<chrono::Utc>>, Option<String>) = {
        let r = &h.db.rows("SELECT sent_at, error FROM leads.confirmation WHERE integration_id = 'smith-ice'").await[0];
        (r.get(0), r.get(1))
    };
    assert!(sent.is_none());
    assert!(error.is_some_and(|e| e.contains("SES")), "the refusal is recorded");
    assert!(emails_to(&h.contact).await.is_empty());
    // The next refresh (with the verified sender) sends it, once.
    let report = h.leads.refresh_states().await.unwrap();
    assert_eq!(report.confirmations_sent.len(), 1, "{report:?}");
    h.leads.refresh_states().await.unwrap();
    assert_eq!(emails_to(&h.contact).await.len(), 1);
}

#[tokio::test]
async fn a_batch_is_delivered_together_within_each_vendors_concurrency() {
    let h = harness().await;
    h.sandbox.state.leads.lock().await.fixture.switches.latency_ms = 400;
    h.db.exec("UPDATE leads.integration SET enabled = (id IN ('smith-captorra', 'smith-ice'))").await;
    for i in 0..10 {
        h.post(&format!("b-{i}"), ada()).await;
    }
    let bodies = drain_bodies(&h.sdk, &h.queue).await;
    assert_eq!(bodies.len(), 10);
    let resp = lead_delivery::handle_batch(&h.leads, sqs_event(&bodies)).await;
    assert!(resp.batch_item_failures.is_empty());
    let delivered: i64 = h.db.scalar("SELECT count(*) FROM leads.delivery WHERE status = 'delivered'").await;
    assert_eq!(delivered, 20);
    let most = h.sandbox.state.leads.lock().await.max_in_flight.clone();
    // The harness allows 4 requests at once per vendor: the batch reached that, never more.
    assert_eq!((most["captorra"], most["ice"]), (4, 4), "{most:?}");
}

#[tokio::test]
async fn a_first_delivery_confirms_at_once_even_on_a_one_connection_pool() {
    // The delivery's connection is given back before the e-mail takes one: a container whose
    // pool is as small as a batch's concurrency does not wait for itself.
    let h = harness().await;
    let one = platform_warehouse::Warehouse::new(&h.db.settings.clone().with_pool_size(1)).unwrap();
    let leads = Leads::new(
        one,
        SecretsCache::new(aws_sdk_secretsmanager::Client::new(&h.sdk), Duration::from_secs(60)),
        Some(SqsSender::new(aws_sdk_sqs::Client::new(&h.sdk))),
        Some(platform_aws::ses::Client::new(&h.sdk)),
        None,
        h.settings.clone(),
    )
    .unwrap();
    let lead = h.post("lp-pool", ada()).await;
    drain_bodies(&h.sdk, &h.queue).await;
    leads.deliver_lead(lead).await.unwrap();
    let unsent: i64 = h.db.scalar("SELECT count(*) FROM leads.confirmation WHERE sent_at IS NULL").await;
    assert_eq!(unsent, 0, "every integration's confirmation went with its first delivery");
    assert_eq!(emails_to(&h.contact).await.len(), 4);
}
