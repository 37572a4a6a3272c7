//! The operator console against a real warehouse (connecting as its own role), moto and the
//! sandbox's OpenID Connect issuer: sign-in and roles, the checks on every change, the pages'
//! actions checked in the warehouse and the queues afterwards, escaping, and the audit.

use integration_tests::console_support::{ConsoleHarness, Visitor};
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_RELEASED};

/// The registration ids announced to meetmax-sync since the last look.
async fn released_ids(h: &ConsoleHarness) -> Vec<String> {
    let bodies = integration_tests::drain_bodies(&h.sdk, &h.meetmax_queue).await;
    let envelopes: Vec<Envelope> = bodies.iter().map(|b| serde_json::from_str(b).expect("an envelope")).collect();
    assert!(envelopes.iter().all(|e| e.kind == KIND_REGISTRATIONS_RELEASED));
    integration_tests::ids_of(&envelopes)
}

/// A supplier of the demo form whose company "Acme Widgets" awaits review.
const JANE: &str = "INSERT INTO conferences_events.exchange_registration
    (form_id, registration_id, first_name, last_name, organization, email, registration_type, approval_status, registration_status)
  VALUES ('5095980', 'reg-jane', 'jane', 'doe', 'Acme Widgets', 'Jane.Doe@Example.com', 'Supplier', 'Approved', 'Active');
  INSERT INTO conferences_events.exchange_organizations (original_organization) VALUES ('Acme Widgets');
  INSERT INTO integration.organization_name (original_organization, exchange_organization_id, suggested_clean, suggestion_score, alternatives)
  SELECT 'Acme Widgets', id, 'Acme Widgets Inc', 0.93, '[{\"clean\": \"Acme Corp\", \"score\": 0.71}]'
    FROM conferences_events.exchange_organizations WHERE original_organization = 'Acme Widgets';";

#[tokio::test]
async fn signing_in_gives_the_role_of_the_group_or_the_allow_list_and_nobody_else_gets_in() {
    let h = ConsoleHarness::start().await;
    // No session: a page sends the browser to sign in.
    let mut anonymous = Visitor::new(&h.url);
    let page = anonymous.get("/review").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/login?next=%2Freview"));

    let mut admin = h.sign_in("admin@example.com").await;
    let today = admin.get("/").await;
    assert_eq!(today.status, 200);
    assert!(today.body.contains("admin@example.com (admin)"), "{}", today.body);
    for section in
        ["id=\"runs\"", "id=\"review\"", "id=\"held\"", "id=\"integrations\"", "id=\"exports\"", "id=\"dead-letters\""]
    {
        assert!(today.body.contains(section), "Today shows {section}");
    }
    // The session cookie is a __Host- cookie: Secure, HttpOnly, SameSite=Lax, Path=/.
    let mut v = Visitor::new(&h.url);
    let answer = v.sign_in(&h.sandbox, "operator@example.com").await;
    let cookie = answer.headers.iter().find(|(k, v)| k == "set-cookie" && v.starts_with("__Host-console=")).unwrap();
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.1.contains(attribute), "{}", cookie.1);
    }
    assert_eq!(answer.header("location"), Some("/"));

    // Someone with no group and not on the allow-list is refused, and the refusal audited.
    let mut stranger = Visitor::new(&h.url);
    let refused = stranger.sign_in(&h.sandbox, "stranger@example.com").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!stranger.cookies.contains_key("__Host-console"));
    // Put on the allow-list as an operator, they get in as one.
    h.db.exec("INSERT INTO console.person (email, role, added_by) VALUES ('stranger@example.com', 'operator', 'test')")
        .await;
    let mut now_listed = Visitor::new(&h.url);
    assert_eq!(now_listed.sign_in(&h.sandbox, "stranger@example.com").await.status, 303);
    assert!(now_listed.get("/").await.body.contains("stranger@example.com (operator)"));

    let outcomes: Vec<String> =
        h.db.rows("SELECT actor || ' ' || outcome FROM console.audit WHERE action = 'sign-in' ORDER BY id")
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert!(outcomes.contains(&"stranger@example.com refused: no role".to_owned()), "{outcomes:?}");
    assert!(outcomes.contains(&"stranger@example.com done".to_owned()), "{outcomes:?}");
    // The allow-list change made by SQL is in the audit too, as SQL.
    let by_sql: i64 =
        h.db.scalar("SELECT count(*) FROM console.audit WHERE source = 'sql' AND target = 'console.person'").await;
    assert_eq!(by_sql, 1);
}

#[tokio::test]
async fn a_sign_in_answer_is_used_once_in_the_browser_that_asked_and_a_signed_out_session_is_dead() {
    let h = ConsoleHarness::start().await;
    // An answer brought to another browser (no login cookie) is refused.
    let mut v = Visitor::new(&h.url);
    let login = v.get("/login").await;
    let authorize = login.header("location").unwrap().to_owned();
    let query: Vec<(String, String)> = reqwest::Url::parse(&authorize).unwrap().query_pairs().into_owned().collect();
    let mut form: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    form.push(("email", "admin@example.com"));
    let back = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/authorize", h.sandbox.oidc_issuer()))
        .form(&form)
        .send()
        .await
        .unwrap()
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut other_browser = Visitor::new(&h.url);
    assert_eq!(other_browser.get(&back).await.status, 401);
    // In the browser that asked it works once; the same answer again is refused.
    assert_eq!(v.get(&back).await.status, 303);
    let session = v.cookies["__Host-console"].clone();
    v.cookies.insert("__Host-console-login".into(), query.iter().find(|(k, _)| k == "state").unwrap().1.clone());
    assert_eq!(v.get(&back).await.status, 401);

    // Signing out revokes the session: the old cookie signs nobody in.
    let page = v.get("/").await;
    let csrf = Visitor::csrf_of(&page);
    assert_eq!(v.post("/logout", &[("csrf", &csrf)]).await.status, 200);
    let mut replay = Visitor::new(&h.url);
    replay.cookies.insert("__Host-console".into(), session);
    assert_eq!(replay.get("/").await.status, 303, "a revoked session is sent to sign in");
}

#[tokio::test]
async fn a_change_needs_this_origin_the_session_token_and_an_acting_role() {
    let h = ConsoleHarness::start().await;
    h.db.exec(JANE).await;
    let form_of =
        |csrf: &str| vec![("csrf".to_owned(), csrf.to_owned()), ("reason".to_owned(), "duplicate".to_owned())];
    let mut operator = h.sign_in("operator@example.com").await;
    let page = operator.get("/trail/reg-jane").await;
    let csrf = Visitor::csrf_of(&page);
    let form = form_of(&csrf);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // No token, a wrong token, another site, no origin at all: each refused.
    let no_token = operator.post("/trail/reg-jane/exclude", &[("reason", "duplicate")]).await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let wrong = operator.post("/trail/reg-jane/exclude", &[("csrf", "x"), ("reason", "duplicate")]).await;
    assert_eq!(wrong.status, 403);
    let cross = operator.post_with("/trail/reg-jane/exclude", &form, &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(cross.status, 403);
    let foreign = operator.post_with("/trail/reg-jane/exclude", &form, &[("origin", "https://evil.example")]).await;
    assert_eq!(foreign.status, 403);
    let nameless = operator.post_with("/trail/reg-jane/exclude", &form, &[]).await;
    assert_eq!(nameless.status, 403);
    let excluded: i64 = h.db.scalar("SELECT count(*) FROM integration.meetmax_exclusion").await;
    assert_eq!(excluded, 0, "nothing refused changed anything");
    // A viewer sees the page without its buttons and may not act even with a valid token.
    let mut viewer = h.sign_in("viewer@example.com").await;
    let page = viewer.get("/trail/reg-jane").await;
    assert!(!page.body.contains("id=\"exclude\""));
    let csrf = Visitor::csrf_of(&page);
    let refused = viewer.post("/trail/reg-jane/exclude", &[("csrf", &csrf), ("reason", "duplicate")]).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    // The operator, same origin, with the token: done.
    let done = operator.post("/trail/reg-jane/exclude", &form).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let excluded: i64 = h.db.scalar("SELECT count(*) FROM integration.meetmax_exclusion").await;
    assert_eq!(excluded, 1);
}

#[tokio::test]
async fn the_trail_answers_why_a_registration_is_not_in_meetmax_and_its_actions_are_audited() {
    let h = ConsoleHarness::start().await;
    h.db.exec(JANE).await;
    let mut operator = h.sign_in("operator@example.com").await;
    // Found by e-mail in any case, by a name prefix, by "first last" and by registration id.
    for q in ["jane.doe@example.com", "Do", "jane d", "reg-jane", "acme"] {
        let hits = operator.get(&format!("/trail?q={}", urlencode(q))).await;
        assert!(hits.body.contains("/trail/reg-jane"), "search {q:?} finds Jane");
    }
    let page = operator.get("/trail/reg-jane").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("held: organisation &#34;Acme Widgets&#34; awaits review"), "{}", page.body);
    // The same answer in SQL.
    let reason: String =
        h.db.scalar("SELECT reason FROM console.registration_trail WHERE registration_id = 'reg-jane'").await;
    assert_eq!(reason, "held: organisation \"Acme Widgets\" awaits review");

    let csrf = Visitor::csrf_of(&page);
    let excluded =
        operator.post("/trail/reg-jane/exclude", &[("csrf", &csrf), ("reason", "asked not to be listed")]).await;
    assert_eq!(excluded.status, 303);
    let page = operator.get(excluded.header("location").unwrap()).await;
    assert!(page.body.contains("excluded by operator@example.com: asked not to be listed"), "{}", page.body);
    // A resync before the gate released it is refused, with the reason, and changes nothing.
    let resync = operator.post("/trail/reg-jane/resync", &[("csrf", &csrf)]).await;
    assert_eq!(resync.status, 400);
    let included = operator.post("/trail/reg-jane/include", &[("csrf", &csrf)]).await;
    assert_eq!(included.status, 303);

    let audit =
        h.db.rows(
            "SELECT action, source, actor, before->>'standing', after->>'standing' FROM console.audit
              WHERE target IN ('registration:reg-jane', 'integration.meetmax_exclusion') ORDER BY id",
        )
        .await;
    type Entry = (String, String, String, Option<String>, Option<String>);
    let rows: Vec<Entry> = audit.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect();
    assert_eq!(
        rows.iter().map(|r| (r.0.as_str(), r.1.as_str(), r.2.as_str())).collect::<Vec<_>>(),
        vec![
            ("insert integration.meetmax_exclusion", "console", "operator@example.com"),
            ("exclude", "console", "operator@example.com"),
            ("delete integration.meetmax_exclusion", "console", "operator@example.com"),
            ("include", "console", "operator@example.com"),
        ]
    );
    assert_eq!(rows[1].3.as_deref(), Some("awaiting_review"));
    assert_eq!(rows[1].4.as_deref(), Some("excluded"));
}

#[tokio::test]
async fn approving_a_name_in_the_review_page_releases_its_registrations_and_is_audited() {
    let h = ConsoleHarness::start().await;
    h.db.exec(JANE).await;
    let mut operator = h.sign_in("operator@example.com").await;
    let page = operator.get("/review").await;
    assert!(page.body.contains("Acme Widgets Inc"), "the suggestion is offered");
    assert!(page.body.contains("Acme Corp"), "and the other candidate");
    let csrf = Visitor::csrf_of(&page);
    let done = operator
        .post(
            "/review",
            &[("csrf", &csrf), ("name.0", "Acme Widgets"), ("choice.0", "Acme Widgets Inc"), ("typed.0", "")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let notice = operator.get(done.header("location").unwrap()).await;
    assert!(notice.body.contains("1 names reviewed, 1 registrations released"), "{}", notice.body);
    let (clean, reviewed): (String, bool) = {
        let r = &h
            .db
            .rows("SELECT clean_organization, reviewed FROM conferences_events.exchange_organizations WHERE original_organization = 'Acme Widgets'")
            .await[0];
        (r.get(0), r.get(1))
    };
    assert_eq!((clean.as_str(), reviewed), ("Acme Widgets Inc", true));
    // The pass released Jane to meetmax-sync, as a workbook's decision would have.
    assert_eq!(released_ids(&h).await, vec!["reg-jane".to_owned()]);
    let standing: String =
        h.db.scalar("SELECT standing FROM console.registration_trail WHERE registration_id = 'reg-jane'").await;
    assert_eq!(standing, "queued");
    let audit =
        h.db.rows(
            "SELECT actor, outcome, before->>'reviewed', after->>'clean_organization' FROM console.audit
              WHERE action = 'review' AND target = 'organization:Acme Widgets'",
        )
        .await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].get::<_, String>(0), "operator@example.com");
    assert_eq!(audit[0].get::<_, String>(1), "applied");
    assert_eq!(audit[0].get::<_, Option<String>>(3).as_deref(), Some("Acme Widgets Inc"));
    // Now released, a resync is accepted and announces it again.
    let page = operator.get("/trail/reg-jane").await;
    let csrf = Visitor::csrf_of(&page);
    assert_eq!(operator.post("/trail/reg-jane/resync", &[("csrf", &csrf)]).await.status, 303);
    assert_eq!(released_ids(&h).await, vec!["reg-jane".to_owned()]);
}

#[tokio::test]
async fn dead_messages_are_shown_redacted_with_their_reasons_and_redriven_back() {
    let h = ConsoleHarness::start().await;
    h.db.exec(JANE).await;
    let sqs = aws_sdk_sqs::Client::new(&h.sdk);
    let dead = [
        r#"{"kind":"registrations.changed","version":1,"ids":["reg-jane"],"run_id":"r1"}"#,
        r#"{"note":"hand-made","api_token":"s3cr3t-token","card":"4111 1111 1111 1111"}"#,
    ];
    for body in dead {
        sqs.send_message().queue_url(&h.queue.dead_letter_url).message_body(body).send().await.unwrap();
    }
    let mut operator = h.sign_in("operator@example.com").await;
    let queues = operator.get("/queues").await;
    assert!(queues.body.contains("<td class=\"dead\">2</td>"), "{}", queues.body);
    let look = operator.get("/queues/dedupe").await;
    assert!(look.body.contains("held: organisation &#34;Acme Widgets&#34; awaits review"), "{}", look.body);
    assert!(!look.body.contains("s3cr3t-token") && !look.body.contains("4111"), "{}", look.body);
    let confirm = operator.get("/queues/dedupe/redrive").await;
    assert!(confirm.body.contains("Redrive 2 messages"), "{}", confirm.body);
    let csrf = Visitor::csrf_of(&confirm);
    let done = operator.post("/queues/dedupe/redrive", &[("csrf", &csrf)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let back = integration_tests::drain_bodies(&h.sdk, &h.queue.url).await;
    assert_eq!(back.len(), 2, "both messages are on the queue again");
    assert!(integration_tests::drain_bodies(&h.sdk, &h.queue.dead_letter_url).await.is_empty());
    let outcome: String = h.db.scalar("SELECT outcome FROM console.audit WHERE action = 'redrive'").await;
    assert_eq!(outcome, "2 messages moved back");
}

#[tokio::test]
async fn values_from_vendors_and_forms_are_shown_as_text_under_a_strict_policy() {
    let h = ConsoleHarness::start().await;
    h.db.exec(
        "INSERT INTO conferences_events.exchange_registration (form_id, registration_id, first_name, last_name, organization, approval_status, registration_status)
         VALUES ('5095980', 'reg-x', '<img src=x onerror=alert(1)>', 'Smith', '<script>alert(1)</script>', 'Approved', 'Active');
         INSERT INTO conferences_events.exchange_organizations (original_organization) VALUES ('<script>alert(1)</script>');",
    )
    .await;
    let mut viewer = h.sign_in("viewer@example.com").await;
    for path in ["/review", "/trail/reg-x", "/trail?q=smith"] {
        let page = viewer.get(path).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("<script>alert"), "{path} escapes the company");
        assert!(!page.body.contains("<img src=x"), "{path} escapes the name");
        assert!(
            page.body.contains("script&#62;alert(1)") || page.body.contains("script&gt;alert(1)"),
            "{path} shows the company as text"
        );
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"));
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("cache-control"), Some("no-store"));
    }
}

#[tokio::test]
async fn the_audit_is_append_only_and_filterable() {
    let h = ConsoleHarness::start().await;
    h.db.exec("UPDATE integration.setting SET value = 'true' WHERE name = 'dedupe.auto_approve_exact'").await;
    let setting: i64 =
        h.db.scalar("SELECT count(*) FROM console.audit WHERE target = 'integration.setting' AND source = 'sql'").await;
    assert_eq!(setting, 1, "the setting changed by SQL is audited");
    let entries: i64 = h.db.scalar("SELECT count(*) FROM console.audit WHERE actor <> 'nobody'").await;
    assert!(h.db.try_exec("UPDATE console.audit SET actor = 'nobody'").await.is_err());
    assert!(h.db.try_exec("DELETE FROM console.audit").await.is_err());
    assert!(h.db.try_exec("TRUNCATE console.audit").await.is_err());
    let unchanged: i64 = h.db.scalar("SELECT count(*) FROM console.audit WHERE actor <> 'nobody'").await;
    assert_eq!(unchanged, entries, "neither changed nor removed, even by the database's owner");
    let mut viewer = h.sign_in("viewer@example.com").await;
    let page = viewer.get("/audit?target=integration.setting").await;
    assert!(page.body.contains("update integration.setting"), "{}", page.body);
    assert!(!page.body.contains("sign-in"), "the filter leaves other entries out");
    let page = viewer.get("/audit?actor=viewer").await;
    assert!(page.body.contains("sign-in") && !page.body.contains("update integration.setting"));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn an_id_token_is_accepted_only_signed_by_the_issuer_for_this_client_unexpired_and_for_this_sign_in() {
    use operator_console::oidc::Issuer;
    use vendor_sandbox::oidc::sign;
    let sandbox = vendor_sandbox::Sandbox::start_local().await.unwrap();
    let iss = sandbox.oidc_issuer();
    let issuer = Issuer::new(&iss, "client-a", "cognito:groups").unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "iss": iss, "aud": "client-a", "sub": "s1", "exp": now + 600, "iat": now, "nonce": "n1",
        "email": "Ops@Example.com", "email_verified": true, "cognito:groups": ["console-operator"]
    });
    let identity = issuer.verify(&sign(&claims), "n1", now).await.expect("a good token");
    assert_eq!(identity.email, "ops@example.com");
    assert_eq!(identity.groups, vec!["console-operator".to_owned()]);
    let refused = |mut c: serde_json::Value, key: &str, value: serde_json::Value| {
        c[key] = value;
        c
    };
    let cases = [
        ("another audience", refused(claims.clone(), "aud", "client-b".into())),
        ("another issuer", refused(claims.clone(), "iss", "https://evil.example".into())),
        ("expired", refused(claims.clone(), "exp", (now - 3600).into())),
        ("another sign-in's nonce", refused(claims.clone(), "nonce", "n2".into())),
        ("an unverified e-mail", refused(claims.clone(), "email_verified", false.into())),
    ];
    for (what, c) in cases {
        assert!(issuer.verify(&sign(&c), "n1", now).await.is_err(), "{what} is refused");
    }
    // A token whose claims were changed after signing, or that claims no signature, is refused.
    let good = sign(&claims);
    let parts: Vec<&str> = good.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let forged_claims = b64.encode(refused(claims.clone(), "email", "admin@example.com".into()).to_string());
    let tampered = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    assert!(issuer.verify(&tampered, "n1", now).await.is_err(), "a changed token is refused");
    let none = format!("{}.{}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    assert!(issuer.verify(&none, "n1", now).await.is_err(), "alg none is refused");
    let hs = format!("{}.{}.{}", b64.encode(r#"{"alg":"HS256","kid":"sandbox-oidc-1"}"#), parts[1], parts[2]);
    assert!(issuer.verify(&hs, "n1", now).await.is_err(), "another algorithm is refused");
}

#[tokio::test]
async fn a_submission_refused_by_the_mapping_is_explained_and_remapped_from_its_trail() {
    let h = ConsoleHarness::start().await;
    // formstack-intake pulls the demo form: submission 1500000099 is refused ("lots" meetings).
    h.sandbox.load_formstack(vendor_sandbox::fixtures::demo_fixture()).await;
    let secret = integration_tests::new_secret(
        &h.sdk,
        &serde_json::json!({"api_token": vendor_sandbox::fixtures::DEMO_TOKEN, "webhook_hmac_keys": {}}),
    )
    .await;
    let settings = platform_intake::IntakeSettings::from_env(&platform_runtime::Env::from_pairs([
        ("FORMSTACK_SECRET_ID", secret.as_str()),
        ("FORMSTACK_API_URL", h.sandbox.formstack_api_url().as_str()),
        ("DEDUPE_QUEUE_URL", h.queue.url.as_str()),
    ]))
    .unwrap();
    let intake = integration_tests::build_intake(settings, h.db.warehouse.clone(), &h.sdk);
    intake.pull("test", false).await.unwrap();
    let mut operator = h.sign_in("operator@example.com").await;
    let found = operator.get("/trail?q=1500000099").await;
    assert!(found.body.contains("/trail/1500000099"), "an unmapped submission is found by its id");
    let page = operator.get("/trail/1500000099").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("refused by the mapping: field 117 (meetings)"), "{}", page.body);
    assert!(page.body.contains("id=\"remap\""));
    // The configuration is fixed by SQL (meetings no longer mapped), then remapped from the page.
    h.db.exec("DELETE FROM integration.form_field_map WHERE form_id = '5095980' AND field_id = '117'").await;
    let csrf = Visitor::csrf_of(&page);
    let done = operator.post("/trail/1500000099/remap", &[("csrf", &csrf)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let rows: i64 = h
        .db
        .scalar("SELECT count(*) FROM conferences_events.exchange_registration WHERE registration_id = '1500000099'")
        .await;
    assert_eq!(rows, 1, "the registration is there now");
    let outcome: String = h.db.scalar("SELECT outcome FROM console.audit WHERE action = 'remap'").await;
    assert!(outcome.starts_with("form 5095980: 1 mapped, 0 refused"), "{outcome}");
    let page = operator.get("/trail/1500000099").await;
    assert!(!page.body.contains("not a registration"), "the trail now shows the registration: {}", page.body);
}

#[tokio::test]
async fn the_trail_chooses_the_role_rule_as_meetmax_sync_does() {
    let h = ConsoleHarness::start().await;
    h.db.exec(JANE).await;
    // A conditional rule for suppliers who answered "No" to one-on-one meetings: not sent; and a
    // second conditional rule of lower priority that must not make a second row.
    h.db.exec(
        "INSERT INTO integration.meetmax_role_rule
             (form_id, registration_type, attendee_role, company_source, send, condition_column, condition_values, priority)
         VALUES ('5095980', 'Supplier', 'X', 'typed', false, 'one_one', '{no}', 0),
                ('5095980', 'Supplier', 'Y', 'typed', true, 'one_one', '{No, maybe}', 1);
         INSERT INTO conferences_events.exchange_registration
             (form_id, registration_id, first_name, last_name, organization, registration_type, one_one, approval_status, registration_status)
         VALUES ('5095980', 'reg-no', 'a', 'b', 'Acme Widgets', 'Supplier', ' No ', 'Approved', 'Active'),
                ('5095980', 'reg-blank', 'c', 'd', '  ', 'Supplier', 'Yes', 'Approved', 'Active');",
    )
    .await;
    let rows: i64 = h.db.scalar("SELECT count(*) FROM console.registration_trail").await;
    let ids: i64 = h.db.scalar("SELECT count(DISTINCT registration_id) FROM console.registration_trail").await;
    assert_eq!(rows, ids, "one row per registration");
    let disagreements: i64 = h
        .db
        .scalar(
            "SELECT count(*) FROM console.registration_trail t JOIN integration.meetmax_registration m USING (registration_id)
              WHERE m.approved_active AND m.meetmax_event_id IS NOT NULL
                AND (t.standing = 'type_not_sent') <> NOT m.rule_send",
        )
        .await;
    assert_eq!(disagreements, 0, "the trail's sent-or-not is meetmax-sync's");
    let standing = |id: &'static str| {
        let db = &h.db;
        async move {
            db.scalar::<String>(&format!(
                "SELECT standing FROM console.registration_trail WHERE registration_id = '{id}'"
            ))
            .await
        }
    };
    assert_eq!(standing("reg-no").await, "type_not_sent");
    assert_eq!(standing("reg-jane").await, "awaiting_review");
    assert_eq!(standing("reg-blank").await, "no_company", "a blank company is not a name to review");
}

#[tokio::test]
async fn an_admin_gives_and_takes_roles_and_ends_sessions() {
    let h = ConsoleHarness::start().await;
    let mut operator = h.sign_in("operator@example.com").await;
    assert_eq!(operator.get("/admin").await.status, 403, "an operator does not administer");
    let mut admin = h.sign_in("admin@example.com").await;
    let page = admin.get("/admin").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("operator@example.com"), "the open sessions are listed");
    let csrf = Visitor::csrf_of(&page);
    // Someone new, as a viewer: they sign in as one.
    let added =
        admin.post("/admin/people", &[("csrf", &csrf), ("email", " Pat@Example.com "), ("role", "viewer")]).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let mut pat = h.sign_in("pat@example.com").await;
    assert!(pat.get("/").await.body.contains("pat@example.com (viewer)"));
    // Made an operator: the viewer session ends at once; signing in again gives the new role.
    admin.post("/admin/people", &[("csrf", &csrf), ("email", "pat@example.com"), ("role", "operator")]).await;
    assert_eq!(pat.get("/").await.status, 303, "the old session signs nobody in");
    let mut pat = h.sign_in("pat@example.com").await;
    assert!(pat.get("/").await.body.contains("pat@example.com (operator)"));
    // Removed: refused at sign-in.
    admin.post("/admin/people/remove", &[("csrf", &csrf), ("email", "pat@example.com")]).await;
    assert_eq!(pat.get("/").await.status, 303);
    let mut again = Visitor::new(&h.url);
    assert_eq!(again.sign_in(&h.sandbox, "pat@example.com").await.status, 403);
    // One session ended by id.
    let id: i64 =
        h.db.scalar("SELECT id FROM console.session WHERE email = 'operator@example.com' AND revoked_at IS NULL").await;
    let ended = admin.post("/admin/sessions/revoke", &[("csrf", &csrf), ("id", &id.to_string())]).await;
    assert_eq!(ended.status, 303);
    assert_eq!(operator.get("/").await.status, 303, "the operator's session is over");
    // Bad input changes nothing.
    let bad = admin.post("/admin/people", &[("csrf", &csrf), ("email", "not an address"), ("role", "viewer")]).await;
    assert_eq!(bad.status, 400);
    let bad = admin.post("/admin/people", &[("csrf", &csrf), ("email", "x@example.com"), ("role", "root")]).await;
    assert_eq!(bad.status, 400);
    let actions: Vec<String> = h
        .db
        .rows("SELECT action FROM console.audit WHERE source = 'console' AND action IN ('allow', 'disallow', 'revoke') ORDER BY id")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(actions, vec!["allow", "allow", "disallow", "revoke"]);
}
