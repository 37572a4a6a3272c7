//! Manifest components no shipped provider uses yet, proven over HTTP with test manifests against
//! the sandbox: page-number paging and a token held in the secret (on Formstack's submission
//! list), and next-link paging (on Cvent's relative `_links.next.href`). A test manifest is
//! parsed and checked like a shipped one, then pulled by the engine into a real warehouse.

use std::time::Duration;

use integration_tests::{
    TestDb,
    connector_support::{ConnectorHarness, cvent_secret},
};
use platform_connectors::{
    ConnectorError, Progress, Provider, auth::Auth, engine::Pull, fetch::Fetcher, manifests, store,
};
use platform_runtime::Deadline;
use platform_vendors::{RetryPolicy, VendorClient};
use serde_json::{Value, json};
use vendor_sandbox::{Sandbox, fixtures};

/// Pulls `stream` of `connection` (rows already in the warehouse) with a manifest that is not
/// shipped: the engine, the fetcher and the authentication as a deployed pull builds them.
async fn pull_with(
    provider: &Provider,
    db: &TestDb,
    secret: &Value,
    (connection, stream): (&str, &str),
    max_pages: Option<u32>,
    run_id: uuid::Uuid,
) -> Result<Progress, ConnectorError> {
    let http = VendorClient::new("test-manifest", Duration::from_secs(5), RetryPolicy::default())?;
    let auth = Auth::from_secret(provider, secret)?;
    let (conn, streams) = {
        let c = db.warehouse.conn().await?;
        (store::connection(&**c, connection).await?, store::streams(&**c, connection).await?)
    };
    let fetcher = Fetcher::new(provider, &http, &auth, &db.warehouse, 6000.0);
    let pull = Pull {
        provider,
        connection: &conn,
        streams: &streams,
        fetcher: &fetcher,
        warehouse: &db.warehouse,
        photos: None,
        max_pages,
    };
    // A list that never ends fails the test instead of hanging it.
    tokio::time::timeout(Duration::from_secs(60), pull.run(stream, run_id, "test", &Deadline::none()))
        .await
        .expect("the pull ends")
}

async fn add_connection(db: &TestDb, name: &str, provider: &str, stream: &str) {
    db.exec(&format!(
        "INSERT INTO connector.connection (name, provider, secret_id, settings) VALUES ('{name}', '{provider}', 'unused', '{{}}');
         INSERT INTO connector.stream (connection, stream) VALUES ('{name}', '{stream}');"
    ))
    .await;
}

const FORMSTACK_PAGES: &str = r#"
key = "formstack_pages"
display = "Formstack (a test manifest)"
version = 1
contract = "a test manifest over the sandbox's Formstack submission list"
account_credential = "endPoint"
rate_per_minute = 6000.0

[endpoint]
credential = "endPoint"
path = "/api/v2"
example = "https://www.formstack.com/api/v2"

[[credentials]]
name = "endPoint"
required = true
help = "the API base URL"

[[credentials]]
name = "token"
required = true
secret = true
help = "the API token"

[auth]
default = "token"
refused = "Formstack refused the token"

[auth.modes.token]
kind = "token"
token = "token"
send = { as = "bearer" }

[[streams]]
name = "participants"
target = "participant"
id_field = "id"
default_mapping = { submitted_at = "timestamp" }

[streams.source]
kind = "list"
call = "form/FORM/submission.json"
records_at = "/submissions"
paging = { kind = "page_number", page_param = "page", first_page = 1, size_param = "per_page", default_limit = 2 }
"#;

#[tokio::test]
async fn page_numbers_and_a_token_from_the_secret_page_to_the_end() {
    let db = TestDb::new().await;
    let sandbox = Sandbox::start_local().await.unwrap();
    let fixture = fixtures::demo_fixture();
    let submissions = fixture.forms.iter().find(|f| f.id == fixtures::DEMO_FORM_ID).unwrap().submissions.len();
    assert!(submissions >= 3, "the demo form spans pages of two");
    sandbox.load_formstack(fixture).await;
    let text = FORMSTACK_PAGES.replace("FORM", fixtures::DEMO_FORM_ID);
    let provider = manifests::parse("formstack_pages.toml", &text).unwrap();
    add_connection(&db, "fs", "formstack_pages", "participants").await;
    let secret = json!({"endPoint": sandbox.formstack_api_url(), "token": fixtures::DEMO_TOKEN});

    let done = pull_with(&provider, &db, &secret, ("fs", "participants"), None, uuid::Uuid::now_v7()).await.unwrap();
    assert_eq!(done, Progress::Complete);
    let stored: i64 = db.scalar("SELECT count(*) FROM connector.participant WHERE connection = 'fs'").await;
    assert_eq!(stored as usize, submissions);
    let run: Value = db.scalar("SELECT to_jsonb(r) FROM connector.stream_run r WHERE connection = 'fs'").await;
    assert_eq!(run["manifest"], provider.manifest_version());
    let calls = sandbox.requests().await;
    let pages: Vec<&str> = calls.iter().filter_map(|r| r.param("page")).collect();
    let expected: Vec<String> = (1..=submissions.div_ceil(2) + 1).map(|p| p.to_string()).collect();
    assert_eq!(pages, expected, "pages 1, 2, … and one past the end, which is empty");
    assert!(calls.iter().all(|r| r.param("per_page") == Some("2")));
    assert!(calls.iter().all(|r| r.headers.iter().any(|(k, v)| k == "authorization" && v == "[redacted]")));

    // A wrong token: the provider's 401 is the manifest's refusal, after one more try.
    let wrong = json!({"endPoint": sandbox.formstack_api_url(), "token": "not-the-token"});
    let err = pull_with(&provider, &db, &wrong, ("fs", "participants"), None, uuid::Uuid::now_v7()).await.unwrap_err();
    assert_eq!(err.to_string(), "Formstack refused the token");
}

#[tokio::test]
async fn a_relative_next_link_pages_under_the_endpoint() {
    let h = ConnectorHarness::cvent(|_| {}, json!({"page_limit": 2})).await;
    let shipped = include_str!("../../../../shared/connectors/providers/cvent.toml");
    let token_paging = r#"paging = { kind = "token", token_param = "token", next_token_at = "/paging/nextToken", size_param = "limit", default_limit = 200, max_limit = 200 }"#;
    assert!(shipped.contains(token_paging));
    // Participants page by Cvent's `_links.next.href` (`?token=…`, relative) instead of nextToken.
    let text = shipped.replacen(
        token_paging,
        r#"paging = { kind = "token", next_link_at = "/paging/_links/next/href", size_param = "limit", default_limit = 2 }"#,
        1,
    );
    let provider = manifests::parse("cvent.toml", &text).unwrap();
    let secret = cvent_secret(&h.sandbox);
    let done =
        pull_with(&provider, &h.db, &secret, ("test-cvent", "participants"), None, uuid::Uuid::now_v7()).await.unwrap();
    assert_eq!(done, Progress::Complete);
    let stored: i64 = h.db.scalar("SELECT count(*) FROM connector.participant").await;
    assert_eq!(stored, 6);
    let pages = h.requests_to("/cvent/ea/attendees").await;
    assert_eq!(pages.len(), 3, "three pages of two, the last without a link");
    assert_eq!(pages[0].param("limit"), Some("2"));
    for p in &pages[1..] {
        assert!(p.param("token").is_some() && p.param("filter").is_none(), "the link's own query: {}", p.query);
    }
}

#[tokio::test]
async fn a_token_paged_pull_stopped_between_pages_continues_from_its_token() {
    let h = ConnectorHarness::cvent(|_| {}, json!({"page_limit": 2})).await;
    let provider = platform_connectors::provider("cvent").unwrap();
    let secret = cvent_secret(&h.sandbox);
    // One page an invocation, as a deadline would stop it: each next invocation asks for the
    // token the last page gave (Cvent's tokens are assumed to stay valid: docs/cvent.md).
    let run = uuid::Uuid::now_v7();
    let mut invocations = 0;
    loop {
        invocations += 1;
        match pull_with(provider, &h.db, &secret, ("test-cvent", "participants"), Some(1), run).await.unwrap() {
            Progress::Continue => continue,
            Progress::Complete => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(invocations, 3, "three pages, the last one saying it is the last");
    let stored: i64 = h.db.scalar("SELECT count(*) FROM connector.participant").await;
    assert_eq!(stored, 6);
    let pages = h.requests_to("/cvent/ea/attendees").await;
    assert_eq!(pages.len(), 3, "no page read twice, no call after the last");
    assert!(pages[0].param("token").is_none() && pages[1..].iter().all(|p| p.param("token").is_some()));
    let run: Value = h.db.scalar("SELECT to_jsonb(r) FROM connector.stream_run r").await;
    assert_eq!((run["status"].as_str(), run["invocations"].as_i64()), (Some("succeeded"), Some(3)), "{run}");
}

#[tokio::test]
async fn an_offset_list_ends_at_an_empty_page_without_an_end_of_list_rule() {
    // Aventri's lists past their end answer `[]` (a switch of the sandbox); with no error rule
    // and no `empty_array_ends`, the empty page alone ends the list.
    let mut fixture = integration_tests::connector_support::fast_fixture();
    fixture.switches.end_of_list_empty_array = true;
    let h = ConnectorHarness::new(fixture, json!({"page_limit": 2})).await;
    let shipped = include_str!("../../../../shared/connectors/providers/aventri.toml");
    let rule = "empty_array_ends = true";
    assert!(shipped.contains(rule));
    let text = shipped.replacen(rule, "empty_array_ends = false", 1);
    let provider = manifests::parse("aventri.toml", &text).unwrap();
    h.db.exec("UPDATE connector.stream SET enabled = false WHERE stream <> 'sessions'").await;
    let secret = json!({"endPoint": h.sandbox.aventri_endpoint(), "accountid": fixtures::AVENTRI_ACCOUNT,
                        "key": fixtures::AVENTRI_KEY, "eventid": fixtures::AVENTRI_EVENT});
    let done = pull_with(&provider, &h.db, &secret, ("test-aventri", "sessions"), None, uuid::Uuid::now_v7()).await;
    assert_eq!(done.unwrap(), Progress::Complete);
    let pages = h.requests_to("listSessions.json").await;
    let sessions = vendor_sandbox::fixtures::aventri_demo_fixture().events[0].sessions.len();
    assert_eq!(pages.len(), sessions.div_ceil(2) + 1, "every page, then the one empty page");
}

#[tokio::test]
async fn a_pull_opened_by_another_manifest_reads_from_its_first_page_again() {
    let h = ConnectorHarness::cvent(|_| {}, json!({"page_limit": 2})).await;
    let shipped = platform_connectors::provider("cvent").unwrap();
    let secret = cvent_secret(&h.sandbox);
    let run = uuid::Uuid::now_v7();
    let first = pull_with(shipped, &h.db, &secret, ("test-cvent", "participants"), Some(1), run).await;
    assert_eq!(first.unwrap(), Progress::Continue);
    // A deploy between two invocations: the next version of the manifest.
    let text =
        include_str!("../../../../shared/connectors/providers/cvent.toml").replacen("version = 1", "version = 2", 1);
    let next = manifests::parse("cvent.toml", &text).unwrap();
    assert_ne!(next.manifest_version(), shipped.manifest_version());
    let done = pull_with(&next, &h.db, &secret, ("test-cvent", "participants"), None, run).await;
    assert_eq!(done.unwrap(), Progress::Complete);
    let pages = h.requests_to("/cvent/ea/attendees").await;
    assert_eq!(pages.len(), 1 + 3, "a page, then from the first page again");
    assert!(pages[1].param("token").is_none(), "the second invocation starts over");
    let stored: i64 = h.db.scalar("SELECT count(*) FROM connector.participant").await;
    assert_eq!(stored, 6);
    let notes: String = h.db.scalar("SELECT notes::text FROM connector.stream_run").await;
    assert!(notes.contains("continues under cvent v2") && notes.contains("from the first page"), "{notes}");
}
