//! The vendors' public samples (`tests/fixtures/vendors/<vendor>/`) as contracts: every file is
//! listed with its source in its folder's `SOURCES.md`, and read by the production code — here,
//! or by a named test of the crate that owns the reader. A sample nothing reads fails this suite.

use std::{collections::BTreeMap, path::PathBuf};

use platform_connectors::{auth, records};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/vendors")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Where each sample is read through production code, when not in this file.
fn readers_elsewhere() -> BTreeMap<&'static str, &'static str> {
    [
        (
            "aventri/listAttendees.json",
            "platform-connectors records::tests::public_attendee_shapes_give_names_status_category_and_answers",
        ),
        (
            "aventri/getAttendee.json",
            "platform-connectors records::tests::public_attendee_shapes_give_names_status_category_and_answers",
        ),
        (
            "aventri/listSessions.from-evidence.json",
            "the sandbox serves its keys: connectors::a_first_pull_applies_every_rule_of_the_demo_event",
        ),
        (
            "aventri/listSpeakers.from-evidence.json",
            "the sandbox serves its keys: connectors::a_first_pull_applies_every_rule_of_the_demo_event",
        ),
        (
            "aventri/getSpeaker.from-evidence.json",
            "the sandbox serves its keys: connectors::a_first_pull_applies_every_rule_of_the_demo_event",
        ),
        (
            "aventri/getSession.from-evidence.json",
            "the sandbox serves its keys (getSession.json); the connector does not call it",
        ),
        ("formstack/webhook.subfields.json", "platform-domain submission::tests::contract"),
        ("formstack/webhook.subfields.from-evidence.urlencoded.txt", "platform-domain submission::tests::contract"),
        ("formstack/webhook.field-type.from-evidence.json", "platform-domain submission::tests::contract"),
        ("formstack/webhook.field-type.from-evidence.urlencoded.txt", "platform-domain submission::tests::contract"),
        ("formstack/webhook.no-subfields.json", "platform-domain submission::tests::contract"),
        ("formstack/webhook.no-subfields.urlencoded.txt", "platform-domain submission::tests::contract"),
        ("formstack/webhook.signed.urlencoded.txt", "platform-domain submission::tests::contract, and here"),
        ("formstack/submission.json", "platform-domain submission::tests::contract"),
        ("formstack/form.fields.json", "platform-vendors formstack::tests::form_definitions_in_both_public_shapes"),
        (
            "formstack/form.from-evidence.json",
            "platform-vendors formstack::tests::form_definitions_in_both_public_shapes",
        ),
        ("formstack/submissions.list.json", "platform-domain submission::tests::contract"),
        ("formstack/submissions.list.data.from-evidence.json", "platform-domain submission::tests::contract"),
        (
            "meetmax/attendee-add.success.response.from-evidence.json",
            "platform-vendors meetmax::tests::the_evidenced_answer_shapes_are_read",
        ),
        (
            "meetmax/attendee-add.error.response.from-evidence.json",
            "platform-vendors meetmax::tests::the_evidenced_answer_shapes_are_read",
        ),
        (
            "meetmax/attendee-list.companies.response.from-evidence.json",
            "platform-vendors meetmax::tests::the_evidenced_answer_shapes_are_read",
        ),
        (
            "meetmax/attendee-add.company.request.from-evidence.query",
            "platform-meetmax fields::tests::requests_carry_the_scripts_parameters",
        ),
        (
            "meetmax/attendee-edit.industries-pipe.request.from-evidence.query",
            "platform-meetmax fields::tests::requests_carry_the_scripts_parameters",
        ),
        (
            "meetmax/attendee-list.companies.request.from-evidence.query",
            "platform-meetmax fields::tests::requests_carry_the_scripts_parameters",
        ),
        (
            "meetmax/industries.pipe-2021.from-evidence.query",
            "platform-meetmax fields::tests::requests_carry_the_scripts_parameters",
        ),
        (
            "meetmax/industries.repeated-keys-2022plus.from-evidence.query",
            "platform-meetmax fields::tests::requests_carry_the_scripts_parameters",
        ),
        (
            "leads/captorra-create.success.response.json",
            "platform-leads vendors::tests::success_rules_from_the_vendor_or_the_integration",
        ),
        (
            "leads/captorra-create.failure.response.from-evidence.json",
            "platform-leads vendors::tests::success_rules_from_the_vendor_or_the_integration",
        ),
    ]
    .into_iter()
    .collect()
}

/// The samples this file reads.
const READ_HERE: &[&str] = &[
    "aventri/authorize.json",
    "aventri/end-of-list.sessions.from-evidence.json",
    "aventri/listEvents.json",
    "aventri/photo-url.from-evidence.txt",
    "aventri/ds-v1.authenticate.json",
    "aventri/ds-v1.attendeelist.json",
    "aventri/ds-v1.sessionlist.json",
    "aventri/ds-v1.regsessionlist.json",
    "aventri/ds-v1.empty.json",
    "cvent/oauth2-token.json",
    "cvent/oauth2-token.error.from-evidence.json",
    "cvent/attendees.json",
    "cvent/attendees.last-page.from-evidence.json",
    "cvent/attendees.empty-page.json",
    "cvent/sessions.from-evidence.json",
    "cvent/speakers.json",
    "cvent/exhibitors.json",
    "cvent/error.401.json",
    "cvent/error.429.json",
    "formstack/webhook.signed.headers.txt",
    "leads/captorra-create.request.from-evidence.json",
    "leads/captorra-calltracking.request.from-evidence.json",
    "leads/ice-create.request.from-evidence.json",
    "lenos/person-request.url-shape.from-evidence.txt",
    "lenos/spotme-lenos-integration.excerpt.txt",
];

#[test]
fn every_sample_has_its_source_and_a_reader() {
    let elsewhere = readers_elsewhere();
    let mut seen = 0;
    for vendor in std::fs::read_dir(root()).unwrap() {
        let dir = vendor.unwrap().path();
        let sources =
            std::fs::read_to_string(dir.join("SOURCES.md")).unwrap_or_else(|_| panic!("{dir:?} has no SOURCES.md"));
        for file in std::fs::read_dir(&dir).unwrap() {
            let name = file.unwrap().file_name().into_string().unwrap();
            if name == "SOURCES.md" {
                continue;
            }
            let key = format!("{}/{name}", dir.file_name().unwrap().to_string_lossy());
            assert!(sources.contains(&name), "{key} is not in its SOURCES.md");
            let from_evidence = name.contains(".from-evidence.");
            let said = sources.lines().filter(|l| l.contains(&name)).any(|l| l.to_lowercase().contains("verbatim"));
            assert!(
                from_evidence || said,
                "{key}: its line in SOURCES.md says it is verbatim, or its name says from-evidence"
            );
            assert!(elsewhere.contains_key(key.as_str()) || READ_HERE.contains(&key.as_str()), "{key} has no reader");
            seen += 1;
        }
    }
    assert_eq!(seen, elsewhere.len() + READ_HERE.len(), "a listed sample is missing");
}

#[test]
fn aventri_samples() {
    let provider = platform_connectors::provider("aventri").unwrap();
    let Some(platform_connectors::description::AuthMethod::Login(login)) = provider.auth.modes.get("token") else {
        panic!("Aventri authorises with a login call")
    };
    let token_at: Vec<&str> = login.token_at.iter().map(String::as_str).collect();
    assert_eq!(auth::token_in(&json("aventri/authorize.json"), &token_at).map(|t| !t.is_empty()), Some(true));
    let end = json("aventri/end-of-list.sessions.from-evidence.json");
    let message = end.pointer(provider.errors.message.as_deref().unwrap()).and_then(Value::as_str).unwrap();
    assert_eq!(message, "No sessions found.");
    assert!(end.pointer(provider.errors.marker.as_deref().unwrap()).is_some());
    assert!(records::is_one_of(&provider.errors.end_of_list, message), "the period does not hide the end of a list");
    // The v2 list shape: a bare array. Data Services' `ResultSet` answers are not v2 lists.
    assert_eq!(records::records_of(json("aventri/listEvents.json"), "").map(|r| r.len()), Some(1));
    for ds in ["ds-v1.authenticate", "ds-v1.attendeelist", "ds-v1.sessionlist", "ds-v1.regsessionlist", "ds-v1.empty"] {
        let v = json(&format!("aventri/{ds}.json"));
        assert!(records::records_of(v, "").is_none(), "{ds} is Data Services, not a v2 list");
    }
    let template = read("aventri/photo-url.from-evidence.txt");
    assert_eq!(
        records::photo_url(template.trim(), "83558", ("accountid", "1234")),
        "https://www.eiseverywhere.com/image.php?acc=1234&id=83558"
    );
}

#[test]
fn formstack_samples() {
    let headers = read("formstack/webhook.signed.headers.txt");
    let signature = headers.lines().find_map(|l| l.strip_prefix("x-fs-signature: ")).unwrap();
    let body = read("formstack/webhook.signed.urlencoded.txt");
    platform_domain::signature::verify(body.as_bytes(), Some(signature), Some("test1"))
        .expect("the captured signature");
    assert!(platform_domain::signature::verify(body.as_bytes(), Some(signature), Some("test2")).is_err());
}

#[test]
fn lead_request_samples() {
    use platform_leads::{config::Integration, shape};
    let sample = json("leads/captorra-create.request.from-evidence.json");
    let i = Integration::from_parts(
        "i".into(),
        "l".into(),
        "c".into(),
        "captorra",
        None,
        None,
        &serde_json::json!({"First": "first_name", "Last": "last_name", "Email": "email", "Details": "details"}),
        &serde_json::json!({"CaptorraId": sample["CaptorraId"], "Referrer": sample["Referrer"]}),
        &serde_json::json!({}),
        &serde_json::json!({}),
        Some("x@y.z".into()),
        "ready".into(),
    )
    .unwrap();
    let lead = shape::LeadData {
        id: 1,
        fields:
            serde_json::json!({"first_name": sample["First"], "last_name": sample["Last"], "email": sample["Email"],
            "details": sample["Details"]})
            .as_object()
            .unwrap()
            .clone(),
        is_test: false,
    };
    let sent = shape::shape(&i, &lead).unwrap();
    for (k, v) in &sent.fields {
        assert_eq!(sample.get(k), Some(v), "{k}: the plugin's request carries it so");
    }
    let calls = json("leads/captorra-calltracking.request.from-evidence.json");
    assert!(calls["CaptorraId"].is_u64(), "call tracking's CaptorraId is an integer");
    assert_eq!(shape::integer(&serde_json::json!("123456")), Some(calls["CaptorraId"].clone()));
    let ice = json("leads/ice-create.request.from-evidence.json");
    let rules = platform_leads::vendors::default_rules(platform_leads::vendors::Parser::Ice);
    assert!(rules.required.iter().all(|f| ice.get(f).is_some()), "ICE's example carries every required field");
}

#[test]
fn lenos_samples() {
    let shape = read("lenos/person-request.url-shape.from-evidence.txt");
    let provider = platform_connectors::provider("lenos").unwrap();
    let Some(platform_connectors::description::Source::List { modified_since: Some(m), .. }) =
        provider.stream("participants").map(|s| s.source.clone())
    else {
        panic!("participants are a list with a modified-since filter")
    };
    assert!(shape.contains(&format!("&{}=", m.param)), "the one public hint names the parameter");
    assert!(read("lenos/spotme-lenos-integration.excerpt.txt").contains("utcModifiedDate"));
}

/// Cvent's contract examples read through its manifest: the token, paging, records, fields,
/// statuses and times every stream relies on.
#[test]
fn cvent_samples() {
    use platform_connectors::{
        description::{AuthMethod, Paging, Source},
        records::{Outcome, mapping, records_of, transform},
        settings::ConnectionSettings,
    };
    let provider = platform_connectors::provider("cvent").unwrap();
    assert!(matches!(provider.auth.modes.get("client_credentials"), Some(AuthMethod::ClientCredentials(_))));
    let token = json("cvent/oauth2-token.json");
    assert_eq!(auth::token_in(&token, &["/access_token"]), Some("eyJz9sdfsdfsdfsd"));
    assert_eq!((token["token_type"].as_str(), token["expires_in"].as_u64()), (Some("Bearer"), Some(3600)));
    let refusal = json("cvent/oauth2-token.error.from-evidence.json");
    assert!(auth::token_in(&refusal, &["/access_token"]).is_none(), "a refusal holds no token");
    for error in ["cvent/error.401.json", "cvent/error.429.json"] {
        let v = json(error);
        assert!(v["code"].is_u64() && v["message"].is_string(), "{error}: {{code, message}}, as the sandbox answers");
    }

    let list = |stream: &str| {
        let spec = provider.stream(stream).unwrap().clone();
        let Source::List { records_at, paging: Some(Paging::Token { next_token_at: Some(next), .. }), .. } =
            spec.source.clone()
        else {
            panic!("{stream}: a token-paged list")
        };
        (spec, records_at, next)
    };
    let rules = ConnectionSettings::default();
    let row = |stream: &str, record: Value| {
        let spec = provider.stream(stream).unwrap();
        match transform(spec, &mapping(spec, &serde_json::json!({})).unwrap(), &rules, record) {
            Outcome::Row(r) => r,
            other => panic!("{stream}: {other:?}"),
        }
    };

    // Attendees: records at /data, the next page's token, the last page without one, an empty
    // page that still has one (paging goes on).
    let (spec, at, next) = list("participants");
    let page = json("cvent/attendees.json");
    assert!(page.pointer(&next).and_then(Value::as_str).is_some_and(|t| !t.is_empty()));
    let records = records_of(page, &at).unwrap();
    assert_eq!(records.len(), 1);
    assert!(json("cvent/attendees.last-page.from-evidence.json").pointer(&next).is_none());
    let empty = json("cvent/attendees.empty-page.json");
    assert!(empty.pointer(&next).is_some() && records_of(empty, &at).unwrap().is_empty());
    // The example has no `id` (the generator leaves out fields without an example): such a
    // record is rejected with the reason, never taken without an id.
    let m = mapping(&spec, &serde_json::json!({})).unwrap();
    assert!(matches!(transform(&spec, &m, &rules, records[0].clone()), Outcome::Rejected { .. }));
    let mut attendee = records[0].clone();
    attendee["id"] = serde_json::json!("a-1");
    let r = row("participants", attendee);
    let field = |r: &platform_connectors::records::Row, k: &str| r.fields[k].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        (field(&r, "first_name"), field(&r, "last_name"), field(&r, "email"), field(&r, "company")),
        ("Henry".into(), "Potterfield".into(), "h.potterfield@test.com".into(), "Cvent Inc.".into())
    );
    assert_eq!(field(&r, "photo"), "https://cvent.com/picture123");
    assert_eq!((r.status, r.raw_status.as_deref()), (platform_connectors::records::Status::Active, Some("Accepted")));

    // Sessions: UTC instants with milliseconds, status Active.
    let (_, at, _) = list("sessions");
    let session = records_of(json("cvent/sessions.from-evidence.json"), &at).unwrap().remove(0);
    let r = row("sessions", session);
    assert_eq!(
        (field(&r, "starts_at"), field(&r, "ends_at")),
        ("2020-02-03T13:00:00Z".into(), "2020-02-07T17:00:00Z".into())
    );
    assert_eq!(
        (field(&r, "title"), field(&r, "location")),
        ("Day 1 Keynote Session".into(), "Conference Room A".into())
    );

    // Speakers: names, biography and picture (`links`, not `_links`); the example has no id.
    let (_, at, _) = list("presenters");
    let mut speaker = records_of(json("cvent/speakers.json"), &at).unwrap().remove(0);
    speaker["id"] = serde_json::json!("sp-1");
    let r = row("presenters", speaker);
    assert_eq!((field(&r, "first_name"), field(&r, "last_name")), ("Barbra".into(), "Smith".into()));
    assert!(field(&r, "bio").starts_with("Presentation and Speaking voice expert"));
    assert_eq!(field(&r, "photo"), "https://cvent.com/picture123");

    // Exhibitors: an id, a name, a level, live while not deleted.
    let (_, at, _) = list("sponsors");
    let r = row("sponsors", records_of(json("cvent/exhibitors.json"), &at).unwrap().remove(0));
    assert_eq!(r.ext_id, "4888db54-db22-11eb-8d19-0242ac130003");
    assert_eq!(
        (field(&r, "name"), field(&r, "level")),
        ("Potterfield Harry".into(), "3db28cfc-db22-11eb-8d19-0242ac130003".into())
    );
    assert_eq!(r.status, platform_connectors::records::Status::Active);
}
