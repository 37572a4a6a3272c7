//! connector-pull against the sandbox's Aventri over HTTP, a real PostgreSQL and moto: every rule
//! of the Aventri connector, the incremental pull and its cursor, continuation across
//! invocations, removal and its guard, the preview, and bad input.

use std::time::{Duration, Instant};

use integration_tests::{
    connector_support::{CONNECTION, ConnectorHarness, count, fast_fixture},
    drain_bodies, sqs_event,
};
use platform_connectors::{ConnectorError, Progress};
use platform_runtime::Deadline;
use serde_json::json;
use vendor_sandbox::{Fault, FaultRule, aventri::AventriSwitches};

/// Demo attendee `index` changed by `edit` an hour ago (inside the look-back whatever the day the
/// suite runs), in the sandbox's Aventri.
async fn change_attendee(h: &ConnectorHarness, index: usize, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut changed = vendor_sandbox::fixtures::aventri_demo_fixture().events[0].attendees[index].clone();
    edit(&mut changed);
    changed["lastmodified"] =
        json!((chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%d %H:%M:%S").to_string());
    h.sandbox.state.aventri.lock().await.upsert(vendor_sandbox::fixtures::AVENTRI_EVENT, "attendees", vec![changed]);
}

/// The sponsor levels' names, in order.
async fn sponsor_levels(h: &ConnectorHarness) -> Vec<String> {
    h.db.rows("SELECT fields ->> 'name' FROM connector.sponsor_level ORDER BY 1")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Every answer under `path` from now on is an error object inside a 200.
async fn error_in_every_200(h: &ConnectorHarness, path: &str) {
    h.sandbox
        .set_faults(vec![FaultRule { path_prefix: path.into(), on_requests: vec![], fault: Fault::ErrorIn200 }])
        .await;
}

#[tokio::test]
async fn a_first_pull_applies_every_rule_of_the_demo_event() {
    let h = ConnectorHarness::demo().await;
    h.db.exec(&format!(
        "UPDATE connector.stream SET mapping = '{{\"photo\": \"responses.Profile Photo\"}}' WHERE connection = '{CONNECTION}' AND stream = 'participants'"
    ))
    .await;
    platform_runtime::metrics::capture();
    let p = h.pull("participants").await;
    assert_eq!(p.progress, Progress::Complete);
    assert_eq!(p.run["mode"], "full", "the first pull reads everything");
    assert_eq!((count(&p, "read_count"), count(&p, "created_count")), (9, 7), "{}", p.run);
    // The completed pull's metrics, once, as the EMF line CloudWatch reads.
    let m = integration_tests::emf("connector-pull", "pull");
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(
        (m[0]["Processed"].as_i64(), m[0]["VendorCalls"].as_i64()),
        (Some(9), Some(count(&p, "requests"))),
        "{m:?}"
    );
    assert_eq!(p.run["skipped_reasons"]["imported as sponsors (category.name rule)"], 2, "{}", p.run);
    assert_eq!(p.run["by_target"]["sponsors"]["created"], 2);
    assert_eq!(p.run["status"], "succeeded");
    // getAttendee shows no sessions on the public record: the schedule is unknown, and said so.
    assert!(p.run["by_target"].get("schedule").is_none(), "{}", p.run);
    assert!(p.run["notes"].to_string().contains("carries no /sessions member"), "{}", p.run);

    // Active statuses: Confirmed and Attended, trimmed and case-insensitive; the raw status kept.
    let statuses = h.db.rows("SELECT fp_ext_id, fp_status, raw_status FROM connector.participant ORDER BY 1").await;
    let got: Vec<(String, String, String)> = statuses.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    let expect = [
        ("1001", "active", "Confirmed"),
        ("1002", "active", "Attended"),
        ("1003", "cancelled", "Cancelled"),
        ("1004", "cancelled", "Incomplete"),
        ("1005", "cancelled", "Waitlisted"),
        ("1006", "active", "confirmed "),
        ("1007", "active", "Confirmed"),
    ];
    assert_eq!(got, expect.map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned())).to_vec());
    let unicode: String = h.db.scalar("SELECT last_name FROM connector.participants WHERE fp_ext_id = '1006'").await;
    assert_eq!(unicode, "Ångström-Łukasiewicz");
    // Names from the list's full name; the category from the detail.
    let ada: (String, String, String, String) = {
        let r = &h.db.rows("SELECT first_name, last_name, email, fields ->> 'category' FROM connector.participants WHERE fp_ext_id = '1001'").await[0];
        (r.get(0), r.get(1), r.get(2), r.get(3))
    };
    assert_eq!(ada, ("Ada".into(), "Lovelace".into(), "ada.lovelace@example.org".into(), "Attendee".into()));
    // What Aventri was seen to send is on the connection.
    let notes: serde_json::Value = h.db.scalar("SELECT first_contact FROM connector.connection").await;
    assert_eq!(notes["participants first_name"]["note"], "first_name read from `name.first`", "{notes}");
    assert_eq!(notes["participants status"]["note"], "status read from `registrationstatus`", "{notes}");
    assert!(
        notes["end of list ereg/listAttendees.json"]["note"].as_str().unwrap().contains("\"No attendees found.\""),
        "{notes}"
    );
    assert!(
        notes["participants responses"]["note"].as_str().unwrap().contains("object of {fieldname, name, response}"),
        "{notes}"
    );

    // Sponsors are not participants; their levels are derived.
    let sponsors: Vec<String> =
        h.db.rows("SELECT fp_ext_id FROM connector.sponsor ORDER BY 1").await.iter().map(|r| r.get(0)).collect();
    assert_eq!(sponsors, ["1008", "1009"]);
    let levels = sponsor_levels(&h).await;
    assert_eq!(levels, ["Gold", "Silver"]);

    // One detail call per attendee read (sponsors too: the category is only in the detail).
    assert_eq!(h.requests_to("getAttendee.json").await.len(), 9, "one detail call per attendee");

    // Photos: attendees carry no image id on the public record; the mapped upload field (1007)
    // gives one, into S3.
    let photos = h.db.rows("SELECT fp_ext_id, s3_key FROM connector.photo ORDER BY 1").await;
    let keys: Vec<(String, String)> = photos.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0], ("participants/1007".into(), format!("connectors/{CONNECTION}/photos/participants/1007")));
    let body = platform_aws::s3::get(&h.s3, &h.bucket, &keys[0].1).await.unwrap();
    assert!(String::from_utf8_lossy(&body).ends_with("upload-1007-v1"));
    let on_record: Option<String> =
        h.db.scalar("SELECT photo_s3_key FROM connector.participant WHERE fp_ext_id = '1007'").await;
    assert_eq!(on_record.as_deref(), Some(keys[0].1.as_str()));
    assert_eq!(p.run["skipped_reasons"]["no image on the record"], 6, "{}", p.run);

    // Sessions: times converted from New York; those without times reported; masters.
    let s = h.pull("sessions").await;
    assert_eq!(count(&s, "created_count"), 3, "{}", s.run);
    assert_eq!(s.run["skipped_reasons"]["no start or end time"], 2);
    let notes = s.run["notes"].to_string();
    assert!(notes.contains("2004 \\\"Networking (time to be announced)\\\": no start or end time"), "{notes}");
    assert!(notes.contains("2005 \\\"Closing drinks\\\""), "{notes}");
    assert!(notes.contains("master sessions: 1"), "{notes}");
    let starts: chrono::DateTime<chrono::Utc> =
        h.db.scalar("SELECT starts_at FROM connector.sessions WHERE fp_ext_id = '2001'").await;
    assert_eq!(starts.to_rfc3339(), "2026-12-01T14:00:00+00:00");
    let masters = h.db.rows("SELECT fp_ext_id, title FROM connector.sessions WHERE is_master").await;
    assert_eq!(masters.len(), 1);
    let master: String = masters[0].get(0);
    assert_eq!(master, "master:2026-12-01T14:00:00Z");
    assert_eq!(masters[0].get::<_, String>(1), "Concurrent sessions");
    let children: Vec<String> = h
        .db
        .rows("SELECT fp_ext_id FROM connector.sessions WHERE master_ext_id = 'master:2026-12-01T14:00:00Z' ORDER BY 1")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(children, ["2001", "2002"]);

    // A re-run creates no duplicate master; a master without two sessions goes away.
    let again = h.pull("sessions").await;
    assert_eq!((count(&again, "created_count"), count(&again, "updated_count")), (0, 0), "{}", again.run);
    let moved = json!([{"sessionid": "2002", "sessionkey": "K2002", "name": "Workshop: data pipelines", "sessiondate": "2026-12-01",
        "starttime": "13:00:00", "endtime": "14:00:00", "in_slot": "1", "lastmodified": "2026-11-20 08:00:00"}]);
    h.sandbox.state.aventri.lock().await.upsert(
        vendor_sandbox::fixtures::AVENTRI_EVENT,
        "sessions",
        serde_json::from_value(moved).unwrap(),
    );
    h.pull("sessions").await;
    let masters_left: i64 = h.db.scalar("SELECT count(*) FROM connector.session WHERE is_master").await;
    let parent: Option<String> =
        h.db.scalar("SELECT parent_ext_id FROM connector.session WHERE fp_ext_id = '2001'").await;
    assert_eq!((masters_left, parent), (0, None));

    // Presenters: names and image ids from getSpeaker; the photo by image id at image.php (an
    // endpoint ending in `id=`); an image id the endpoint does not know is counted and noted.
    let pr = h.pull("presenters").await;
    assert_eq!(count(&pr, "created_count"), 2);
    assert_eq!(pr.run["skipped_reasons"]["image not found at the photo endpoint (404)"], 1, "{}", pr.run);
    assert!(pr.run["notes"].to_string().contains("presenters 3002: image 83559 not found at"), "{}", pr.run);
    let source: String =
        h.db.scalar("SELECT source_url FROM connector.photo WHERE fp_ext_id = 'presenters/3001'").await;
    assert!(source.contains("/image.php?"), "{source}");
    let babbage: String =
        h.db.scalar("SELECT fields ->> 'last_name' FROM connector.presenter WHERE fp_ext_id = '3001'").await;
    assert_eq!(babbage, "Babbage");
    let speaker_photo = h.requests_to("image.php").await;
    assert_eq!(speaker_photo[0].param("id"), Some("83558"));
    assert_eq!(speaker_photo[0].param("acc"), Some(vendor_sandbox::fixtures::AVENTRI_ACCOUNT));

    // The token travels as the accesstoken parameter and the sandbox log never shows it.
    let reqs = h.requests_to("listAttendees.json").await;
    assert!(reqs.iter().all(|r| r.param("accesstoken") == Some("[redacted]")), "{:?}", reqs[0].params);
}

#[tokio::test]
async fn incremental_pulls_look_back_one_day_and_never_rewrite_unchanged_rows() {
    let h = ConnectorHarness::demo().await;
    let first = h.pull("participants").await;
    let cursor: chrono::DateTime<chrono::Utc> =
        h.db.scalar("SELECT cursor_at FROM connector.stream WHERE stream = 'participants'").await;
    let before: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        h.db.rows("SELECT fp_ext_id, last_changed FROM connector.participant ORDER BY 1")
            .await
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    let details_before = h.requests_to("getAttendee.json").await.len();

    // One attendee changes in Aventri; nothing else does.
    change_attendee(&h, 1, |a| a["registrationstatus"] = json!("Cancelled")).await;
    let second = h.pull("participants").await;
    assert_eq!(second.run["mode"], "incremental", "{}", second.run);
    let since = (cursor - chrono::Duration::days(1)).format("%Y-%m-%d %H:%M:%S").to_string();
    let list = h.requests_to("listAttendees.json").await;
    assert_eq!(
        list.last().unwrap().param("modifiedfrom"),
        Some(since.as_str()),
        "one day before the last successful pull"
    );
    assert!(list[..list.len() - 2].iter().all(|r| r.param("modifiedfrom").is_none()), "the first pull was full");
    assert_eq!((count(&second, "updated_count"), count(&second, "created_count")), (1, 0), "{}", second.run);
    assert_eq!(h.requests_to("getAttendee.json").await.len(), details_before + 1, "details only for what changed");
    let status: String = h.db.scalar("SELECT fp_status FROM connector.participant WHERE fp_ext_id = '1002'").await;
    assert_eq!(status, "cancelled");
    let after: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        h.db.rows("SELECT fp_ext_id, last_changed FROM connector.participant ORDER BY 1")
            .await
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    for ((id, t0), (_, t1)) in before.iter().zip(&after) {
        assert_eq!(id != "1002", t0 == t1, "{id}: last_changed moves only for the changed row");
    }
    let run_of_unchanged: uuid::Uuid =
        h.db.scalar("SELECT changed_by_run FROM connector.participant WHERE fp_ext_id = '1001'").await;
    assert_eq!(run_of_unchanged, first.run_id);
}

#[tokio::test]
async fn a_failed_page_keeps_the_cursor_and_the_next_message_continues_from_its_page() {
    let h = ConnectorHarness::new(fast_fixture(), json!({"page_limit": 2, "event_time_zone": "UTC"})).await;
    // Page 3 fails with 503 on every attempt: the pull stops there.
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: "/api/v2/ereg/listAttendees.json".into(),
            on_requests: vec![3, 4, 5, 6, 7],
            fault: Fault::ServerError { status: 503 },
        }])
        .await;
    let err = h.service.pull_now(CONNECTION, "participants", &Deadline::none()).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Vendor(_)), "{err}");
    let (cursor, offset): (Option<chrono::DateTime<chrono::Utc>>, i64) = {
        let r = &h
            .db
            .rows("SELECT cursor_at, (pull ->> 'offset')::bigint FROM connector.stream WHERE stream = 'participants'")
            .await[0];
        (r.get(0), r.get(1))
    };
    assert_eq!((cursor, offset), (None, 4), "the cursor does not move; the page position is kept");
    let last_error: String = h.db.scalar("SELECT last_error FROM connector.stream WHERE stream = 'participants'").await;
    assert!(last_error.contains("503"), "{last_error}");

    // The next invocations, one page each, continue from offset 4 through the queue.
    h.sandbox.set_faults(vec![]).await;
    let mut service = h.service.clone();
    service.settings.max_pages = Some(1);
    let first = service.pull_now(CONNECTION, "participants", &Deadline::none()).await.unwrap();
    assert_eq!(first.progress, Progress::Continue);
    let mut invocations = 1;
    loop {
        let bodies = drain_bodies(&h.sdk, &h.queue_url).await;
        if bodies.is_empty() {
            break;
        }
        let response = connector_pull::handle_batch(&service, sqs_event(&bodies), Deadline::none()).await;
        assert!(response.batch_item_failures.is_empty());
        invocations += 1;
        assert!(invocations < 30, "the pull must end");
    }
    let offsets: Vec<String> = h
        .requests_to("listAttendees.json")
        .await
        .iter()
        .filter(|r| r.status == 200)
        .filter_map(|r| r.param("offset").map(str::to_owned))
        .collect();
    assert_eq!(offsets, ["0", "2", "4", "6", "8", "9"], "never restarted from the start");
    let run: serde_json::Value =
        h.db.scalar("SELECT to_jsonb(r) FROM connector.stream_run r ORDER BY started_at LIMIT 1").await;
    assert_eq!((run["status"].as_str(), run["created_count"].as_i64()), (Some("succeeded"), Some(7)), "{run}");
    assert!(run["invocations"].as_i64().unwrap() >= 5, "{run}");
    let cursor: Option<chrono::DateTime<chrono::Utc>> =
        h.db.scalar("SELECT cursor_at FROM connector.stream WHERE stream = 'participants'").await;
    assert!(cursor.is_some());
    // A repeated message of the finished run changes nothing.
    let repeat = h.service.pull(CONNECTION, "participants", first.run_id, "sqs", &Deadline::none()).await.unwrap();
    assert_eq!(repeat.progress, Progress::AlreadyDone);
}

#[tokio::test]
async fn provider_quirks_end_of_list_token_expiry_size_limit_and_errors_in_200() {
    let mut fixture = fast_fixture();
    fixture.switches = AventriSwitches { end_of_list_empty_array: true, ..Default::default() };
    fixture.page_byte_cap = Some(600);
    let h = ConnectorHarness::new(fixture, json!({"event_time_zone": "UTC", "page_limit": 8})).await;
    let p = h.service.pull_now(CONNECTION, "participants", &Deadline::none()).await;
    let seen: Vec<(String, u16)> =
        h.requests_to("listAttendees.json").await.iter().map(|r| (r.query.clone(), r.status)).collect();
    let p = p.unwrap_or_else(|e| panic!("{e}: {seen:?}"));
    assert_eq!(count(&p, "created_count"), 7, "{}", p.run);
    let limits: Vec<String> =
        h.requests_to("listAttendees.json").await.iter().filter_map(|r| r.param("limit").map(str::to_owned)).collect();
    assert_eq!(&limits[..3], ["8", "4", "4"], "the page size is halved on 502 and stays halved");

    // An expired token: authorised again once, and the pull goes on.
    h.sandbox.state.aventri.lock().await.expire_tokens();
    let auths = h.requests_to("authorize.json").await.len();
    h.pull("presenters").await;
    assert_eq!(h.requests_to("authorize.json").await.len(), auths + 1);

    // A truncated answer is retried; an error object inside a 200 fails the pull with its text.
    h.sandbox
        .set_faults(vec![FaultRule {
            path_prefix: "/api/v2/ereg/listSessions.json".into(),
            on_requests: vec![1],
            fault: Fault::Malformed,
        }])
        .await;
    let s = h.pull("sessions").await;
    assert_eq!(s.progress, Progress::Complete);
    error_in_every_200(&h, "/api/v2/ereg/listSpeakers.json").await;
    let err = h.service.pull_now(CONNECTION, "presenters", &Deadline::none()).await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Provider(m) if m.contains("An error occurred")), "{err}");
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_bad_records_are_kept_apart() {
    let h = ConnectorHarness::demo().await;
    // A malformed endPoint: refused before any call, with the expected form.
    let bad = integration_tests::new_secret(
        &h.sdk,
        &json!({"endPoint": "https://api-na.eventscloud.com", "accountid": "a", "key": "k", "eventid": "1"}),
    )
    .await;
    h.db.exec(&format!("UPDATE connector.connection SET secret_id = '{bad}'")).await;
    let err = h.service.pull_now(CONNECTION, "participants", &Deadline::none()).await.unwrap_err().to_string();
    assert!(err.contains("https://HOST/api/v2"), "{err}");
    assert!(h.sandbox.requests().await.is_empty(), "nothing was called");

    // Wrong credentials: the operator reads what Aventri refused.
    let wrong = integration_tests::new_secret(
        &h.sdk,
        &json!({"endPoint": h.sandbox.aventri_endpoint(), "accountid": vendor_sandbox::fixtures::AVENTRI_ACCOUNT, "key": "wrong", "eventid": "1"}),
    )
    .await;
    h.db.exec(&format!("UPDATE connector.connection SET secret_id = '{wrong}'")).await;
    let err = h.service.preview(CONNECTION).await.unwrap_err().to_string();
    assert_eq!(err, "Aventri refused the account id / key");
    h.sandbox.state.aventri.lock().await.fixture.as_mut().unwrap().switches.bad_credentials_401 = true;
    let err = h.service.pull_now(CONNECTION, "participants", &Deadline::none()).await.unwrap_err().to_string();
    assert_eq!(err, "Aventri refused the account id / key");
    assert!(!err.contains("wrong"));

    // fp_ext_id and fp_status cannot be remapped.
    let good = integration_tests::new_secret(
        &h.sdk,
        &json!({"endPoint": h.sandbox.aventri_endpoint(), "accountid": vendor_sandbox::fixtures::AVENTRI_ACCOUNT,
                "key": vendor_sandbox::fixtures::AVENTRI_KEY, "eventid": vendor_sandbox::fixtures::AVENTRI_EVENT}),
    )
    .await;
    h.db.exec(&format!(
        "UPDATE connector.connection SET secret_id = '{good}';
         UPDATE connector.stream SET mapping = '{{\"fp_status\": \"status\"}}' WHERE stream = 'participants'"
    ))
    .await;
    let err = h.service.pull_now(CONNECTION, "participants", &Deadline::none()).await.unwrap_err().to_string();
    assert!(err.contains("fp_status cannot be mapped"), "{err}");
    h.db.exec("UPDATE connector.stream SET mapping = '{}'").await;

    // A record without an id is stored raw with its reason; NUL and Unicode land cleanly.
    h.sandbox.state.aventri.lock().await.upsert(
        vendor_sandbox::fixtures::AVENTRI_EVENT,
        "attendees",
        vec![
            json!({"attendeeid": "", "fname": "No", "lname": "Id", "registrationstatus": "Confirmed", "lastmodified": "2026-11-05 00:00:00"}),
            json!({"attendeeid": "1010", "fname": "Nul\u{0}Byte", "lname": "名前", "registrationstatus": "Confirmed", "lastmodified": "2026-11-05 00:00:00"}),
        ],
    );
    let p = h.pull("participants").await;
    assert_eq!((count(&p, "created_count"), count(&p, "failed_count")), (8, 1), "{}", p.run);
    assert_eq!(p.run["status"], "partial");
    let reason: String = h.db.scalar("SELECT reason FROM connector.rejected").await;
    assert_eq!(reason, "no attendeeid (the record id)");
    let name: (String, String) = {
        let r =
            &h.db.rows("SELECT first_name, last_name FROM connector.participants WHERE fp_ext_id = '1010'").await[0];
        (r.get(0), r.get(1))
    };
    assert_eq!(name, ("NulByte".to_owned(), "名前".to_owned()));

    // A record the database refuses (an id beyond the index's row size) is stored raw with the
    // database's reason; the rest of its page lands.
    let long_id: String = (0..250).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect();
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    h.sandbox.state.aventri.lock().await.upsert(
        vendor_sandbox::fixtures::AVENTRI_EVENT,
        "attendees",
        vec![
            json!({"attendeeid": long_id, "fname": "Too", "lname": "Long", "registrationstatus": "Confirmed", "lastmodified": now}),
            json!({"attendeeid": "1011", "fname": "Next", "lname": "Door", "registrationstatus": "Confirmed", "lastmodified": now}),
        ],
    );
    let p = h.pull("participants").await;
    assert_eq!(p.run["mode"], "incremental");
    assert_eq!((count(&p, "created_count"), count(&p, "failed_count")), (1, 1), "{}", p.run);
    let refused: (Option<String>, String, String) = {
        let r =
            &h.db.rows("SELECT ext_id, reason, raw->>'name' FROM connector.rejected ORDER BY id DESC LIMIT 1").await[0];
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(refused.0.as_deref(), Some(long_id.as_str()));
    assert!(refused.1.starts_with("refused by the database: "), "{}", refused.1);
    assert_eq!(refused.2, "Too Long", "the raw record is kept");
    let landed: i64 = h.db.scalar("SELECT count(*) FROM connector.participant WHERE fp_ext_id = '1011'").await;
    assert_eq!(landed, 1);
}

#[tokio::test]
async fn the_rate_limit_is_waited_out_whether_it_answers_429_or_an_error_in_a_200() {
    for in_200 in [false, true] {
        // One request per second per token, and the client paced far faster than that.
        let mut fixture = fast_fixture();
        fixture.rate_per_minute = 1;
        fixture.rate_window_secs = 1;
        fixture.switches.throttle_in_200 = in_200;
        let h = ConnectorHarness::new(fixture, json!({})).await;
        let p = h.pull("sessions").await;
        assert_eq!(p.progress, Progress::Complete, "in a 200: {in_200}");
        assert_eq!(p.run["status"], "succeeded", "{}", p.run);
        assert_eq!((count(&p, "read_count"), count(&p, "created_count")), (5, 3), "{}", p.run);
        let throttled = h.sandbox.state.aventri.lock().await.throttled;
        assert!(throttled > 0, "the limit was met (in a 200: {in_200})");
        let reqs = h.requests_to("listSessions.json").await;
        assert_eq!(reqs.iter().filter(|r| r.status == 429).count() > 0, !in_200, "429s only without the switch");
    }
}

#[tokio::test]
async fn removal_waits_for_a_complete_full_pull_and_the_share_guard() {
    let h = ConnectorHarness::demo().await;
    h.db.exec("UPDATE connector.stream SET remove_outdated = true WHERE stream = 'participants'").await;
    h.pull("participants").await;
    h.sandbox.state.aventri.lock().await.remove(vendor_sandbox::fixtures::AVENTRI_EVENT, "attendees", &["1005".into()]);

    // Incremental: nothing can be removed, and the run says why.
    let inc = h.pull("participants").await;
    assert_eq!(inc.run["mode"], "incremental");
    assert_eq!(count(&inc, "removed_count"), 0);
    assert!(inc.run["removal"].as_str().unwrap().contains("nothing removed: this pull was incremental"), "{}", inc.run);

    // Full: 1 of 7 rows (14 %) is over the 10 % guard: refused and reported.
    let full = h.service.pull_full(CONNECTION, "participants", &Deadline::none()).await.unwrap();
    assert_eq!(full.run["mode"], "full");
    assert_eq!(count(&full, "removed_count"), 0);
    assert!(
        full.run["removal"].as_str().unwrap().contains("removal refused: it would remove 1 of 7 rows"),
        "{}",
        full.run
    );
    assert_eq!(full.run["status"], "partial");
    let live: i64 = h.db.scalar("SELECT count(*) FROM connector.participants").await;
    assert_eq!(live, 7);

    // The operator confirms: the row is marked removed, not deleted.
    let confirmed = h.service.confirm_removal(CONNECTION, "participants", None).await.unwrap();
    assert_eq!(confirmed.removed, 1);
    let removed: Option<chrono::DateTime<chrono::Utc>> =
        h.db.scalar("SELECT removed_at FROM connector.participant WHERE fp_ext_id = '1005'").await;
    assert!(removed.is_some());
    assert!(h.service.confirm_removal(CONNECTION, "participants", None).await.is_err(), "nothing waits any more");

    // Within the share, a full pull removes at once; a record that comes back is live again.
    h.db.exec("UPDATE connector.stream SET removal_max_share = 0.5 WHERE stream = 'participants'").await;
    h.sandbox.state.aventri.lock().await.remove(vendor_sandbox::fixtures::AVENTRI_EVENT, "attendees", &["1004".into()]);
    let again = h.service.pull_full(CONNECTION, "participants", &Deadline::none()).await.unwrap();
    assert_eq!(count(&again, "removed_count"), 1, "{}", again.run);
    let back = vendor_sandbox::fixtures::aventri_demo_fixture().events[0].attendees[4].clone();
    h.sandbox.state.aventri.lock().await.upsert(vendor_sandbox::fixtures::AVENTRI_EVENT, "attendees", vec![back]);
    h.service.pull_full(CONNECTION, "participants", &Deadline::none()).await.unwrap();
    let alive: Option<chrono::DateTime<chrono::Utc>> =
        h.db.scalar("SELECT removed_at FROM connector.participant WHERE fp_ext_id = '1005'").await;
    assert_eq!(alive, None);
}

#[tokio::test]
async fn the_preview_reports_fields_and_skips_without_touching_the_tables() {
    let h = ConnectorHarness::demo().await;
    let answer = h.service.preview(CONNECTION).await.unwrap();
    let fields = answer.streams["participants"].fields.join(", ");
    assert!(fields.contains("responses.Profile Photo") && fields.contains("category.name"), "{fields}");
    let url = answer.url.as_str();
    let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names = book.sheet_names();
    for sheet in ["summary", "participants", "sessions", "presenters", "schedule", "skipped"] {
        assert!(names.iter().any(|n| n == sheet), "{sheet} in {names:?}");
    }
    let skipped = book.worksheet_range("skipped").unwrap();
    let text: Vec<String> =
        skipped.rows().map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("|")).collect();
    assert!(text.iter().any(|l| l.starts_with("participants|1008|imported as sponsors")), "{text:?}");
    assert!(text.iter().any(|l| l.contains("no start or end time")), "{text:?}");
    assert!(text.iter().any(|l| l.contains("1003|imported as cancelled")), "{text:?}");
    let rows: i64 =
        h.db.scalar("SELECT (SELECT count(*) FROM connector.participant) + (SELECT count(*) FROM connector.session)")
            .await;
    assert_eq!(rows, 0, "the preview writes no target row");
}

#[tokio::test]
async fn pacing_is_shared_through_the_warehouse_by_concurrent_pulls() {
    // 600 a minute: one request every 100 ms for the account, whichever invocation makes it.
    let h = ConnectorHarness::new(
        fast_fixture(),
        json!({"rate_per_minute": 600, "page_limit": 3, "event_time_zone": "UTC"}),
    )
    .await;
    let started = Instant::now();
    let (a, b) = tokio::join!(h.pull("participants"), h.pull("presenters"));
    let elapsed = started.elapsed();
    let requests = count(&a, "requests") + count(&b, "requests");
    // The budget starts with the first request: each later one at least a spacing after it.
    let floor = Duration::from_millis(100 * (requests as u64 - 1));
    assert!(elapsed >= floor.mul_f64(0.95), "{requests} requests in {elapsed:?}: the shared budget spaces them");
    let account: i64 = h.db.scalar("SELECT count(*) FROM connector.pacing").await;
    assert_eq!(account, 1, "one budget per account");
}

#[tokio::test]
async fn a_pull_behind_its_budget_catches_up_by_the_manifests_catch_up_and_no_more() {
    let h = ConnectorHarness::new(
        fast_fixture(),
        json!({"rate_per_minute": 300, "page_limit": 3, "event_time_zone": "UTC"}),
    )
    .await;
    h.pull("sessions").await;
    // The account idle for an hour: its slots far behind the clock.
    h.db.exec("UPDATE connector.pacing SET next_at = now() - interval '1 hour'").await;
    let started = Instant::now();
    let p = h.pull("participants").await;
    let elapsed = started.elapsed().as_secs_f64();
    let aventri = platform_connectors::provider("aventri").unwrap();
    let spacing = 60.0 / aventri.pacing_rate(Some(300.0));
    let requests = count(&p, "requests") as f64;
    // The first slot may lie `catch_up_secs` behind the clock, never further; every later one a
    // spacing after the one before.
    let floor = (requests - 1.0) * spacing - aventri.catch_up_secs;
    assert!(aventri.catch_up_secs > 0.0 && floor > 1.0, "{requests} requests");
    assert!(elapsed >= floor * 0.98, "{requests} requests in {elapsed:.2} s, floor {floor:.2} s");
}

#[tokio::test]
async fn the_handler_plans_every_stream_and_fails_only_a_bad_message() {
    let h = ConnectorHarness::demo().await;
    let planned = h.service.plan(None).await.unwrap();
    let ids: Vec<String> = planned.iter().flat_map(|e| e.ids.clone()).collect();
    assert_eq!(
        ids,
        [format!("{CONNECTION}/participants"), format!("{CONNECTION}/presenters"), format!("{CONNECTION}/sessions")]
    );
    let mut bodies = drain_bodies(&h.sdk, &h.queue_url).await;
    bodies.push("{\"kind\": \"connector.pull\", \"version\": 1, \"ids\": [\"nobody/participants\"], \"run_id\": \"0193a1b2-0000-7000-8000-000000000002\"}".into());
    let response = connector_pull::handle_batch(&h.service, sqs_event(&bodies), Deadline::none()).await;
    assert_eq!(response.batch_item_failures.len(), 1, "only the message naming an unknown connection fails");
    let done: i64 = h.db.scalar("SELECT count(*) FROM connector.stream_run WHERE status = 'succeeded'").await;
    assert_eq!(done, 3);
}

#[tokio::test]
async fn every_plausible_aventri_variant_is_read_and_the_one_met_is_noted() {
    // The shapes the public record does not show but does not rule out: a list with `status`,
    // names at the top of the detail, `responses` as an array of {name, value}, and the
    // attendee's sessions in the detail.
    let mut fixture = fast_fixture();
    fixture.switches = AventriSwitches {
        list_with_status: true,
        detail_names: true,
        detail_sessions: true,
        responses_as_array: true,
        ..Default::default()
    };
    let h = ConnectorHarness::new(fixture, json!({"event_time_zone": "UTC"})).await;
    let p = h.pull("participants").await;
    assert_eq!((count(&p, "created_count"), p.run["status"].as_str()), (7, Some("succeeded")), "{}", p.run);
    assert_eq!(p.run["by_target"]["schedule"]["created"], 6, "{}", p.run);
    let schedule: i64 = h.db.scalar("SELECT count(*) FROM connector.schedule WHERE parent_ext_id = '1007'").await;
    assert_eq!(schedule, 3);
    let levels = sponsor_levels(&h).await;
    assert_eq!(levels, ["Gold", "Silver"], "sponsor levels from an array of answers");
    let notes: serde_json::Value = h.db.scalar("SELECT first_contact FROM connector.connection").await;
    assert_eq!(notes["participants first_name"]["note"], "first_name read from `fname`", "{notes}");
    assert!(notes["participants responses"]["note"].as_str().unwrap().contains("array of {name, value}"), "{notes}");
    assert!(notes.get("schedule in detail").is_none(), "{notes}");

    // The end of a list as an empty array is read as well, and noted.
    h.sandbox.state.aventri.lock().await.fixture.as_mut().unwrap().switches.end_of_list_empty_array = true;
    h.pull("sessions").await;
    let notes: serde_json::Value = h.db.scalar("SELECT first_contact FROM connector.connection").await;
    assert!(notes["end of list ereg/listSessions.json"]["note"].as_str().unwrap().contains("empty array"), "{notes}");
}

#[tokio::test]
async fn a_refused_modified_since_falls_back_to_a_full_pull_and_a_failed_detail_loses_nothing() {
    let h = ConnectorHarness::new(fast_fixture(), json!({"event_time_zone": "UTC"})).await;
    h.pull("participants").await;
    h.sandbox.state.aventri.lock().await.fixture.as_mut().unwrap().switches.refuse_modified_since = true;
    let second = h.pull("participants").await;
    assert_eq!((second.progress, second.run["mode"].as_str()), (Progress::Complete, Some("full")), "{}", second.run);
    assert_eq!(second.run["status"], "succeeded", "{}", second.run);
    let notes: serde_json::Value = h.db.scalar("SELECT first_contact FROM connector.connection").await;
    assert!(
        notes["modified since participants"]["note"].as_str().unwrap().contains("answered an error to `modifiedfrom`"),
        "{notes}"
    );
    // The full pull read no detail again: every list record matched its stored record.
    let details = h.requests_to("getAttendee.json").await.len();
    assert_eq!(details, 9, "details only for new or changed records in a full pull");

    // A new attendee whose detail call keeps failing: stored raw with the reason, the run
    // partial; once the detail answers, the next pull takes it.
    let newcomer = json!({"attendeeid": "1020", "fname": "Mary", "lname": "Jackson", "registrationstatus": "Confirmed",
        "category": {"categoryid": "1", "name": "Attendee"}, "answers": [], "lastmodified": "2026-11-06 00:00:00"});
    h.sandbox.state.aventri.lock().await.upsert(vendor_sandbox::fixtures::AVENTRI_EVENT, "attendees", vec![newcomer]);
    error_in_every_200(&h, "/api/v2/ereg/getAttendee.json").await;
    let failed = h.service.pull_full(CONNECTION, "participants", &Deadline::none()).await.unwrap();
    assert_eq!((count(&failed, "failed_count"), failed.run["status"].as_str()), (1, Some("partial")), "{}", failed.run);
    let (id, reason): (String, String) = {
        let r = &h.db.rows("SELECT ext_id, reason FROM connector.rejected").await[0];
        (r.get(0), r.get(1))
    };
    assert_eq!(id, "1020");
    assert!(reason.starts_with("detail not read"), "{reason}");
    h.sandbox.set_faults(vec![]).await;
    let retried = h.service.pull_full(CONNECTION, "participants", &Deadline::none()).await.unwrap();
    assert_eq!(count(&retried, "created_count"), 1, "{}", retried.run);
    let mary: String = h.db.scalar("SELECT last_name FROM connector.participants WHERE fp_ext_id = '1020'").await;
    assert_eq!(mary, "Jackson");
}

#[tokio::test]
async fn stored_details_are_reused_only_while_young_and_a_record_back_from_sponsors_leaves_them() {
    let h = ConnectorHarness::new(fast_fixture(), json!({"event_time_zone": "UTC"})).await;
    // Presenters have no modified-since filter: every pull is full, and a speaker's list item
    // carries only its id. A detail read within the day is reused; an older one is read again.
    h.pull("presenters").await;
    let mut speaker = vendor_sandbox::fixtures::aventri_demo_fixture().events[0].speakers[0].clone();
    speaker["bio"] = json!("A new biography.");
    h.sandbox.state.aventri.lock().await.upsert(vendor_sandbox::fixtures::AVENTRI_EVENT, "speakers", vec![speaker]);
    let details = h.requests_to("getSpeaker.json").await.len();
    let young = h.pull("presenters").await;
    assert_eq!(h.requests_to("getSpeaker.json").await.len(), details, "young details reused");
    assert_eq!(count(&young, "updated_count"), 0, "{}", young.run);
    h.db.exec("UPDATE connector.presenter SET detail_read_at = now() - interval '25 hours'").await;
    let old = h.pull("presenters").await;
    assert_eq!(h.requests_to("getSpeaker.json").await.len(), details + 2, "day-old details read again");
    assert_eq!(count(&old, "updated_count"), 1, "{}", old.run);
    let bio: String = h.db.scalar("SELECT fields ->> 'bio' FROM connector.presenter WHERE fp_ext_id = '3001'").await;
    assert_eq!(bio, "A new biography.");

    // A sponsor who becomes an attendee moves back, and leaves the sponsors.
    h.pull("participants").await;
    change_attendee(&h, 7, |a| a["category"] = json!({"categoryid": "1", "name": "Attendee"})).await;
    let inc = h.pull("participants").await;
    assert_eq!(inc.run["mode"], "incremental");
    let places: (Option<chrono::DateTime<chrono::Utc>>, Option<chrono::DateTime<chrono::Utc>>) = {
        let r = &h
            .db
            .rows(
                "SELECT (SELECT removed_at FROM connector.participant WHERE fp_ext_id = '1008'),
                          (SELECT removed_at FROM connector.sponsor WHERE fp_ext_id = '1008')",
            )
            .await[0];
        (r.get(0), r.get(1))
    };
    assert!(places.0.is_none() && places.1.is_some(), "a participant again, no longer a sponsor: {places:?}");
    // A full pull reuses the participant's young detail: it stays a participant.
    h.service.pull_full(CONNECTION, "participants", &Deadline::none()).await.unwrap();
    let still: i64 = h.db.scalar("SELECT count(*) FROM connector.participants WHERE fp_ext_id = '1008'").await;
    assert_eq!(still, 1);

    // An incremental pull whose detail fails keeps its cursor: the next pull reads it again.
    let cursor: chrono::DateTime<chrono::Utc> =
        h.db.scalar("SELECT cursor_at FROM connector.stream WHERE stream = 'participants'").await;
    change_attendee(&h, 0, |a| a["registrationstatus"] = json!("Cancelled")).await;
    error_in_every_200(&h, "/api/v2/ereg/getAttendee.json").await;
    let failed = h.pull("participants").await;
    // 1001, and 1008 again (changed within the day's look-back).
    assert!(
        failed.run["notes"].to_string().contains("cursor kept: 2 records' details were not read"),
        "{}",
        failed.run
    );
    assert_eq!((count(&failed, "failed_count"), failed.run["status"].as_str()), (2, Some("partial")), "{}", failed.run);
    let kept: chrono::DateTime<chrono::Utc> =
        h.db.scalar("SELECT cursor_at FROM connector.stream WHERE stream = 'participants'").await;
    assert_eq!(kept, cursor);
    h.sandbox.set_faults(vec![]).await;
    h.pull("participants").await;
    let status: String = h.db.scalar("SELECT fp_status FROM connector.participant WHERE fp_ext_id = '1001'").await;
    assert_eq!(status, "cancelled", "read again by the next pull");
}
