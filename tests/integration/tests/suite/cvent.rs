//! The Cvent connector, a manifest only (`shared/connectors/providers/cvent.toml`), against the
//! sandbox's Cvent over HTTP (the shapes of Cvent's public OpenAPI contract), a real PostgreSQL
//! and moto: every stream and rule over token-paged lists, OAuth 2.0 client credentials with
//! renewal, the incremental pulls and their `after` / `filter`, the removal guard, errors and the
//! preview.

use chrono::{DateTime, Utc};
use integration_tests::connector_support::{CVENT_CONNECTION, ConnectorHarness, count};
use platform_connectors::{ConnectorError, Progress};
use platform_runtime::Deadline;
use serde_json::{Value, json};
use vendor_sandbox::{Fault, FaultRule, fixtures};

/// Two records a page, so that every list spans pages.
fn settings() -> Value {
    json!({"page_limit": 2, "event_time_zone": "America/New_York"})
}

async fn harness() -> ConnectorHarness {
    ConnectorHarness::cvent(|_| {}, settings()).await
}

/// A session row: id, status, start, import flag, location.
type SessionLine = (String, String, Option<String>, Option<String>, String);

fn event_filter() -> String {
    format!("event.id eq '{}'", fixtures::CVENT_EVENT)
}

#[tokio::test]
async fn every_cvent_stream_is_pulled_with_its_rules() {
    let h = harness().await;
    let p = h.pull("participants").await;
    assert_eq!((p.run["mode"].as_str(), count(&p, "created_count"), count(&p, "failed_count")), (Some("full"), 6, 0));
    assert_eq!(p.run["manifest"], platform_connectors::provider("cvent").unwrap().manifest_version(), "{}", p.run);
    let statuses: Vec<(String, String, String)> =
        h.db.rows("SELECT fp_ext_id, fp_status, raw_status FROM connector.participant ORDER BY 1")
            .await
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    let expected = [
        ("a1", "active", "Accepted"),
        ("a2", "active", "Accepted"),
        ("a3", "cancelled", "Cancelled"),
        ("a4", "cancelled", "Declined"),
        ("a5", "cancelled", "Waitlisted"),
        ("a6", "active", "Accepted"),
    ];
    assert_eq!(statuses.len(), expected.len());
    for ((id, status, raw), (eid, estatus, eraw)) in statuses.iter().zip(expected) {
        assert_eq!((id.as_str(), status.as_str(), raw.as_str()), (eid, estatus, eraw));
    }
    let names: (String, String, String) = {
        let r = &h
            .db
            .rows("SELECT fields ->> 'first_name', fields ->> 'last_name', fields ->> 'email' FROM connector.participant WHERE fp_ext_id = 'a6'")
            .await[0];
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(names, ("Zoë".into(), "Ångström".into(), "zoë@example.org".into()));

    // Token paging: three pages of two, the third without nextToken, so no fourth call; the
    // first call filters the event, the others carry the token.
    let pages = h.requests_to("/cvent/ea/attendees").await;
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert_eq!(pages[0].param("filter"), Some(event_filter().as_str()));
    assert_eq!(pages[0].param("limit"), Some("2"));
    assert!(
        pages[0].param("token").is_none() && pages[1].param("token").is_some() && pages[2].param("token").is_some()
    );
    assert_eq!(count(&p, "requests"), 1 + 3, "a token and three pages: {}", p.run);

    // OAuth 2.0 client credentials: one token call, the client in Basic (redacted in the log)
    // and client_id in the form; every list call a bearer token.
    let tokens = h.requests_to("/cvent/ea/oauth2/token").await;
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].body.contains("grant_type=client_credentials"), "{}", tokens[0].body);
    assert!(!tokens[0].body.contains(fixtures::CVENT_CLIENT_SECRET));
    assert!(tokens[0].headers.iter().any(|(k, v)| k == "authorization" && v == "[redacted]"));

    // Pictures from the profile picture URL, into S3; one the URL does not have, noted.
    let photos: Vec<String> =
        h.db.rows("SELECT fp_ext_id FROM connector.photo ORDER BY 1").await.iter().map(|r| r.get(0)).collect();
    assert_eq!(photos, ["participants/a1"]);
    assert_eq!(p.run["skipped_reasons"]["image not found at the photo endpoint (404)"], 1, "{}", p.run);

    // Sessions: UTC instants, the status rule, one without times imported and flagged.
    let s = h.pull("sessions").await;
    assert_eq!(count(&s, "created_count"), 4, "{}", s.run);
    let rows = h
        .db
        .rows("SELECT fp_ext_id, fp_status, fields ->> 'starts_at', fields ->> 'import_flag', fields ->> 'location' FROM connector.session ORDER BY 1")
        .await;
    let sessions: Vec<SessionLine> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect();
    assert_eq!(
        sessions[0],
        ("cs1".into(), "active".into(), Some("2027-04-12T13:00:00Z".into()), None, "Conference Room A".into())
    );
    assert_eq!(sessions[1].1, "active", "Closed: registration closed, the session still happens");
    assert_eq!(sessions[2].1, "cancelled");
    assert_eq!((sessions[3].2.as_deref(), sessions[3].3.as_deref()), (None, Some("no start or end time")));

    // Presenters: names, biography, pictures.
    let pr = h.pull("presenters").await;
    assert_eq!(count(&pr, "created_count"), 2, "{}", pr.run);
    let bio: String = h.db.scalar("SELECT fields ->> 'bio' FROM connector.presenter WHERE fp_ext_id = 'sp2'").await;
    assert_eq!(bio, "Katherine Johnson speaks.");
    let speaker_calls = h.requests_to("/cvent/ea/speakers").await;
    assert_eq!(speaker_calls[0].param("filter"), Some(event_filter().as_str()), "a full pull filters the event only");

    // Sponsors: the event's exhibitors (the event in the path), a deleted one cancelled; levels
    // derived.
    let sp = h.pull("sponsors").await;
    assert_eq!(count(&sp, "created_count"), 3, "{}", sp.run);
    let deleted: String = h.db.scalar("SELECT fp_status FROM connector.sponsor WHERE fp_ext_id = 'ex3'").await;
    assert_eq!(deleted, "cancelled");
    assert_eq!(
        h.requests_to("/exhibitors").await[0].path,
        format!("/cvent/ea/events/{}/exhibitors", fixtures::CVENT_EVENT)
    );
    let levels: Vec<String> =
        h.db.rows("SELECT fields ->> 'name' FROM connector.sponsor_level ORDER BY 1")
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(levels, ["level-gold", "level-silver"]);
}

#[tokio::test]
async fn pulls_are_incremental_after_the_cursor_and_ask_only_for_changed_pages() {
    let h = harness().await;
    h.pull("participants").await;
    h.pull("presenters").await;
    let cursor: DateTime<Utc> =
        h.db.scalar("SELECT cursor_at FROM connector.stream WHERE stream = 'participants'").await;

    let mut changed = fixtures::cvent_attendee("a2", "Grace", "Hopper", "Cancelled", &Utc::now().to_rfc3339());
    changed["contact"]["title"] = json!("Rear Admiral");
    h.sandbox.state.cvent.lock().await.upsert(fixtures::CVENT_EVENT, "attendees", vec![changed]);
    let before = h.sandbox.requests().await.len();
    let second = h.pull("participants").await;
    assert_eq!(second.run["mode"], "incremental", "{}", second.run);
    assert_eq!((count(&second, "read_count"), count(&second, "updated_count")), (1, 1), "{}", second.run);
    let reqs = h.sandbox.requests().await[before..].to_vec();
    // The pull's token and the one page that holds the change: at most changed pages + 2.
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert!(reqs[0].path.ends_with("/oauth2/token"));
    let since = (cursor - chrono::Duration::minutes(60)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(reqs[1].param("after"), Some(since.as_str()), "the manifest's look-back is 60 minutes");
    assert_eq!(reqs[1].param("filter"), Some(event_filter().as_str()));
    let status: String = h.db.scalar("SELECT fp_status FROM connector.participant WHERE fp_ext_id = 'a2'").await;
    assert_eq!(status, "cancelled");

    // Speakers have no `after`: the modified-since clause joins the event filter.
    let cursor: DateTime<Utc> = h.db.scalar("SELECT cursor_at FROM connector.stream WHERE stream = 'presenters'").await;
    let inc = h.pull("presenters").await;
    assert_eq!((inc.run["mode"].as_str(), count(&inc, "read_count")), (Some("incremental"), 0), "{}", inc.run);
    let last = h.requests_to("/cvent/ea/speakers").await.pop().unwrap();
    let since = (cursor - chrono::Duration::minutes(60)).format("%Y-%m-%dT%H:%M:%S.000Z").to_string();
    assert_eq!(last.param("filter"), Some(format!("{} and lastModified gt '{since}'", event_filter()).as_str()));
    assert!(last.param("after").is_none());
}

#[tokio::test]
async fn a_refused_speaker_filter_falls_back_to_full_and_says_so() {
    let h = ConnectorHarness::cvent(|f| f.switches.refuse_speaker_modified_filter = true, settings()).await;
    h.pull("presenters").await;
    let again = h.pull("presenters").await;
    assert_eq!((again.run["mode"].as_str(), count(&again, "read_count")), (Some("full"), 2), "{}", again.run);
    let notes = again.run["notes"].to_string();
    assert!(notes.contains("answered an error to `filter`") && notes.contains("read every record"), "{notes}");
}

#[tokio::test]
async fn an_empty_page_that_carries_a_token_does_not_end_the_list() {
    let h = ConnectorHarness::cvent(|f| f.switches.empty_page_with_token = true, settings()).await;
    let p = h.pull("participants").await;
    assert_eq!((p.progress.clone(), count(&p, "created_count")), (Progress::Complete, 6), "{}", p.run);
    assert_eq!(h.requests_to("/cvent/ea/attendees").await.len(), 4, "a page, the empty one, two pages");

    // An empty page at the end, after a token: read, and the list ends there.
    let h = ConnectorHarness::cvent(|f| f.switches.empty_page_at_end = true, settings()).await;
    let p = h.pull("participants").await;
    assert_eq!((p.progress.clone(), count(&p, "created_count")), (Progress::Complete, 6), "{}", p.run);
    assert_eq!(h.requests_to("/cvent/ea/attendees").await.len(), 4, "three pages, then the empty one");
}

#[tokio::test]
async fn removal_waits_for_a_complete_full_pull_and_the_share_guard() {
    let h = harness().await;
    h.db.exec("UPDATE connector.stream SET remove_outdated = true WHERE stream = 'participants'").await;
    h.pull("participants").await;
    h.sandbox.state.cvent.lock().await.remove(fixtures::CVENT_EVENT, "attendees", "a5");

    let inc = h.pull("participants").await;
    assert_eq!((inc.run["mode"].as_str(), count(&inc, "removed_count")), (Some("incremental"), 0));
    assert!(inc.run["removal"].as_str().unwrap().contains("nothing removed: this pull was incremental"), "{}", inc.run);

    // 1 of 6 (17 %) is over the 10 % guard: refused, then confirmed by the operator.
    let full = h.service.pull_full(CVENT_CONNECTION, "participants", &Deadline::none()).await.unwrap();
    assert_eq!(count(&full, "removed_count"), 0);
    assert!(
        full.run["removal"].as_str().unwrap().contains("removal refused: it would remove 1 of 6 rows"),
        "{}",
        full.run
    );
    let confirmed = h.service.confirm_removal(CVENT_CONNECTION, "participants", Some(1)).await.unwrap();
    assert_eq!(confirmed.removed, 1);
    let removed: String = h.db.scalar("SELECT fp_ext_id FROM connector.participant WHERE removed_at IS NOT NULL").await;
    assert_eq!(removed, "a5");
}

#[tokio::test]
async fn the_token_is_renewed_before_expiry_and_after_a_refusal_and_errors_are_clear() {
    // A token lives four seconds and every answer takes 100 ms; one record a page over 40
    // attendees makes a pull of 4+ seconds: past 90 % of the token's life it is renewed before a
    // call could leave with it expired.
    let h = ConnectorHarness::cvent(
        |f| {
            f.switches.token_ttl_secs = Some(4);
            f.switches.latency_ms = 100;
            f.events[0].attendees.extend((7..=40).map(|i| {
                fixtures::cvent_attendee(
                    &format!("a{i}"),
                    "Many",
                    &format!("Person{i}"),
                    "Accepted",
                    "2026-11-04T00:00:00Z",
                )
            }));
        },
        json!({"page_limit": 1}),
    )
    .await;
    let p = h.pull("participants").await;
    assert_eq!(count(&p, "created_count"), 40, "{}", p.run);
    let tokens = |h: &ConnectorHarness| {
        let h = h.sandbox.clone();
        async move { h.requests().await.iter().filter(|r| r.path.ends_with("/oauth2/token")).count() }
    };
    assert!(tokens(&h).await >= 2, "renewed within the pull");
    let refused = h.sandbox.requests().await.iter().filter(|r| r.status == 401).count();
    assert_eq!(refused, 0, "no call left with an expired token");
    h.sandbox.state.cvent.lock().await.fixture.as_mut().unwrap().switches = Default::default();
    // A token the provider refuses in the middle of a pull: one 401, one new token, the pull
    // completes.
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: "/cvent/ea/sessions".into(),
            on_requests: vec![2],
            fault: Fault::ServerError { status: 401 },
        }])
        .await;
    let issued = tokens(&h).await;
    let s = h.pull("sessions").await;
    assert_eq!((s.progress.clone(), count(&s, "created_count")), (Progress::Complete, 4), "{}", s.run);
    assert_eq!(tokens(&h).await, issued + 2, "the pull's token, and one more after the 401");
    assert_eq!(h.sandbox.requests().await.iter().filter(|r| r.status == 401).count(), 1);

    // Two 429s are retried; the pull completes.
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: "/cvent/ea/speakers".into(),
            on_requests: vec![1, 2],
            fault: Fault::RateLimit { retry_after: 1 },
        }])
        .await;
    assert_eq!(h.pull("presenters").await.progress, Progress::Complete);

    // A wrong secret: Cvent's 400 invalid_client is the credentials' refusal.
    h.sandbox.state.cvent.lock().await.fixture.as_mut().unwrap().client_secret = "changed".into();
    h.sandbox.state.cvent.lock().await.expire_tokens();
    let err = h.service.pull_now(CVENT_CONNECTION, "participants", &Deadline::none()).await.unwrap_err();
    assert_eq!(err.to_string(), "Cvent refused the client id / secret");
    // An unknown event: the exhibitors' path answers 404.
    h.sandbox.state.cvent.lock().await.fixture.as_mut().unwrap().client_secret = fixtures::CVENT_CLIENT_SECRET.into();
    h.sandbox.state.cvent.lock().await.fixture.as_mut().unwrap().events[0].id = "another".into();
    let err = h.service.pull_now(CVENT_CONNECTION, "sponsors", &Deadline::none()).await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Provider(m) if m.contains("404")), "{err}");
}

#[tokio::test]
async fn the_preview_works_for_cvent_and_names_its_manifest() {
    let h = harness().await;
    let answer = h.service.preview(CVENT_CONNECTION).await.unwrap();
    let fields = answer.streams["participants"].fields.join(", ");
    assert!(fields.contains("contact.firstName") && fields.contains("contact._links.profilePicture.href"), "{fields}");
    let bytes = reqwest::get(answer.url.as_str()).await.unwrap().bytes().await.unwrap();
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names = book.sheet_names();
    for sheet in ["participants", "sessions", "presenters", "sponsors", "skipped", "first contact"] {
        assert!(names.iter().any(|n| n == sheet), "{sheet} in {names:?}");
    }
    let manifest = platform_connectors::provider("cvent").unwrap().manifest_version();
    let summary = book.worksheet_range("summary").unwrap();
    let header = summary.rows().next().unwrap()[0].to_string();
    assert!(header.contains(&manifest), "{header}");
    let notes = book.worksheet_range("first contact").unwrap();
    let text: Vec<String> =
        notes.rows().map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("|")).collect();
    assert!(text.iter().any(|l| l.starts_with("manifest|") && l.contains("Free tier")), "{text:?}");
    let skipped = book.worksheet_range("skipped").unwrap();
    let text: Vec<String> =
        skipped.rows().map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("|")).collect();
    assert!(text.iter().any(|l| l.contains("a3|imported as cancelled")), "{text:?}");
    let rows: i64 = h.db.scalar("SELECT count(*) FROM connector.participant").await;
    assert_eq!(rows, 0, "a preview writes nothing");
}
