//! company-dedupe against real PostgreSQL and moto: names once, suggestions, the gate.

use integration_tests::{TestDb, aws, new_queue};
use lambda_runtime::{Context, LambdaEvent};
use platform_aws::SqsSender;
use platform_dedupe::Dedupe;
use platform_domain::envelope::{Envelope, KIND_REGISTRATIONS_CHANGED, KIND_REGISTRATIONS_RELEASED};
use serde_json::json;

async fn setup() -> (TestDb, Dedupe, aws_config::SdkConfig) {
    let db = TestDb::new().await;
    let sdk = aws().await;
    let queue = new_queue(&sdk, "meetmax").await;
    let s3 = platform_aws::s3::client(&sdk, true);
    let bucket = format!("review-{}", uuid::Uuid::new_v4().simple());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let dedupe = Dedupe {
        warehouse: db.warehouse.clone(),
        sqs: SqsSender::new(aws_sdk_sqs::Client::new(&sdk)),
        meetmax_queue_url: queue,
        s3,
        review_bucket: Some(bucket),
    };
    (db, dedupe, sdk)
}

async fn registration(db: &TestDb, id: &str, org: Option<&str>, approved: bool) {
    let conn = db.warehouse.conn().await.unwrap();
    conn.execute(
        "INSERT INTO conferences_events.exchange_registration (registration_id, organization, approval_status, registration_status)
         VALUES ($1, $2, $3, 'Active')",
        &[&id, &org, &(if approved { "Approved" } else { "Pending" })],
    )
    .await
    .unwrap();
}

async fn released_on_queue(sdk: &aws_config::SdkConfig, url: &str) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut ids = Vec::new();
    loop {
        let got = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
        if got.messages().is_empty() {
            break;
        }
        for m in got.messages() {
            ids.extend(Envelope::parse(m.body().unwrap(), &[KIND_REGISTRATIONS_RELEASED]).unwrap().ids);
            sqs.delete_message().queue_url(url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
        }
    }
    ids.sort();
    ids
}

#[tokio::test]
async fn each_name_is_inserted_once_under_concurrent_passes_and_blank_names_never() {
    let (db, dedupe, _) = setup().await;
    // A name an operator inserted by SQL after the migration is not inserted again.
    db.exec("INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed) VALUES ('Initech', 'Initech', true)").await;
    let orgs = [Some("Acme Inc"), Some("Acme Inc"), Some("Globex"), Some(""), Some("   "), None, Some("Initech")];
    for (i, org) in orgs.iter().enumerate() {
        registration(&db, &format!("r{i}"), *org, true).await;
    }
    let ids: Vec<String> = vec!["r0".into(), "r2".into()];
    let (a, b, c) = tokio::join!(dedupe.pass(None, "test"), dedupe.pass(Some(&ids), "test"), dedupe.pass(None, "test"));
    let inserted = a.unwrap().names.inserted + b.unwrap().names.inserted + c.unwrap().names.inserted;
    assert_eq!(inserted, 2);
    dedupe.pass(None, "test").await.unwrap();
    let rows = db.rows("SELECT original_organization, clean_organization, reviewed FROM conferences_events.exchange_organizations ORDER BY 1").await;
    let got: Vec<(String, String, bool)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(
        got,
        vec![
            ("Acme Inc".into(), "Acme Inc".into(), false),
            ("Globex".into(), "Globex".into(), false),
            ("Initech".into(), "Initech".into(), true)
        ]
    );
}

#[tokio::test]
async fn a_registration_is_released_when_its_own_organisation_is_reviewed() {
    let (db, dedupe, sdk) = setup().await;
    registration(&db, "a", Some("Acme"), true).await;
    registration(&db, "b", Some("Globex"), true).await;
    registration(&db, "c", Some("Acme"), false).await;
    platform_runtime::metrics::capture();
    let first = dedupe.pass(None, "schedule").await.unwrap();
    assert!(first.released.is_empty(), "nothing reviewed yet");
    let m = &integration_tests::emf("company-dedupe", "pass")[0];
    assert_eq!((m["Processed"].as_u64(), m["Delivered"].as_u64()), (Some(first.names.new), Some(0)), "{m}");

    db.exec("UPDATE conferences_events.exchange_organizations SET clean_organization = 'Globex Corporation', reviewed = true WHERE original_organization = 'Globex'").await;
    // The next trigger of any kind releases b; a waits for Acme and blocks nobody.
    let second = dedupe.pass(Some(&["a".to_string()]), "sqs").await.unwrap();
    assert_eq!(second.released, vec!["b"]);
    assert_eq!(released_on_queue(&sdk, &dedupe.meetmax_queue_url).await, vec!["b"]);

    db.exec(
        "UPDATE conferences_events.exchange_organizations SET reviewed = true WHERE original_organization = 'Acme'",
    )
    .await;
    let third = dedupe.pass(None, "schedule").await.unwrap();
    assert_eq!(third.released, vec!["a"], "c is not approved");
    let again = dedupe.pass(None, "schedule").await.unwrap();
    assert!(again.released.is_empty(), "releasing twice changes nothing");
    assert_eq!(released_on_queue(&sdk, &dedupe.meetmax_queue_url).await, vec!["a"]);

    // A changed registration released before is announced again (meetmax-sync sends its edits);
    // one never released is not.
    let changed = dedupe.pass(Some(&["a".to_string(), "c".to_string()]), "sqs").await.unwrap();
    assert_eq!((changed.released.len(), changed.announced_again.clone()), (0, vec!["a".to_string()]));
    assert_eq!(released_on_queue(&sdk, &dedupe.meetmax_queue_url).await, vec!["a"]);
}

#[tokio::test]
async fn exact_keys_get_suggestions_and_are_approved_only_when_the_setting_allows() {
    let (db, dedupe, sdk) = setup().await;
    db.exec("INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed) VALUES ('Acme Corp', 'Acme', true), ('Acme Fin.', 'Acme Financial', true), ('Globex LLC', 'Globex', true)").await;
    registration(&db, "x", Some("ACME, Inc."), true).await;
    dedupe.pass(None, "schedule").await.unwrap();
    let r = &db.rows("SELECT suggested_clean, suggestion_exact, suggestion_score, auto_approved, alternatives FROM integration.organization_name WHERE original_organization = 'ACME, Inc.'").await[0];
    assert_eq!(r.get::<_, String>(0), "Acme");
    assert!(r.get::<_, bool>(1));
    assert_eq!(r.get::<_, f64>(2), 1.0);
    assert!(!r.get::<_, bool>(3), "automatic approval is off by default");
    let alternatives = r.get::<_, serde_json::Value>(4);
    assert_eq!(alternatives[0]["clean"], "Acme Financial", "{alternatives}");
    assert_eq!(alternatives.as_array().unwrap().len(), 1, "Globex shares no trigram with Acme: not a candidate");
    let reviewed: bool = db
        .scalar(
            "SELECT reviewed FROM conferences_events.exchange_organizations WHERE original_organization = 'ACME, Inc.'",
        )
        .await;
    assert!(!reviewed);

    db.exec("UPDATE integration.setting SET value = 'true' WHERE name = 'dedupe.auto_approve_exact'").await;
    registration(&db, "y", Some("The Acme Company"), true).await;
    registration(&db, "z", Some("Acme Financial Services"), true).await;
    let pass = dedupe.pass(None, "schedule").await.unwrap();
    assert_eq!(pass.names.auto_approved, 1, "only the exact key");
    assert_eq!(pass.released, vec!["y"]);
    let clean: String = db.scalar("SELECT clean_organization FROM conferences_events.exchange_organizations WHERE original_organization = 'The Acme Company'").await;
    assert_eq!(clean, "Acme");
    assert_eq!(released_on_queue(&sdk, &dedupe.meetmax_queue_url).await, vec!["y"]);
}

#[tokio::test]
async fn a_single_typing_slip_is_approved_only_when_its_setting_allows() {
    let (db, dedupe, _) = setup().await;
    db.exec("INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed) VALUES ('SHI International Corp', 'SHI International', true), ('Capital Office Solutions', 'Capital Office Solutions', true), ('Capitol Office Solutions', 'Capitol Office Solutions', true), ('Tyrell', 'Tyrell', true)").await;
    db.exec("UPDATE integration.setting SET value = 'true' WHERE name = 'dedupe.auto_approve_exact'").await;
    registration(&db, "a", Some("SHI Internatonal"), true).await;
    dedupe.pass(None, "schedule").await.unwrap();
    let slip = |name: &'static str| {
        let db = &db;
        async move {
            let r = &db
                .rows(&format!(
                    "SELECT n.suggested_clean, n.suggestion_exact, n.suggestion_one_slip, n.auto_approved, o.reviewed, \
                            o.clean_organization
                       FROM integration.organization_name n
                       JOIN conferences_events.exchange_organizations o ON o.id = n.exchange_organization_id
                      WHERE n.original_organization = '{name}'"
                ))
                .await[0];
            (
                r.get::<_, Option<String>>(0),
                r.get::<_, Option<bool>>(1).unwrap_or(false),
                r.get::<_, Option<bool>>(2).unwrap_or(false),
                r.get::<_, bool>(3),
                r.get::<_, bool>(4),
                r.get::<_, String>(5),
            )
        }
    };
    assert_eq!(
        slip("SHI Internatonal").await,
        (Some("SHI International".into()), false, true, false, false, "SHI Internatonal".into()),
        "recorded as one slip, not approved: the setting is off by default"
    );

    db.exec("UPDATE integration.setting SET value = 'true' WHERE name = 'dedupe.auto_approve_one_slip'").await;
    registration(&db, "b", Some("Dell Tehnologies"), true).await;
    registration(&db, "c", Some("S.H.I. Internatinal"), true).await;
    registration(&db, "d", Some("Capitel Office Solutions"), true).await;
    registration(&db, "e", Some("Tyrel"), true).await;
    let pass = dedupe.pass(None, "schedule").await.unwrap();
    assert_eq!(pass.names.auto_approved, 1, "only the single slip from a reviewed name");
    assert_eq!(
        slip("S.H.I. Internatinal").await,
        (Some("SHI International".into()), false, true, true, true, "SHI International".into())
    );
    let (_, _, one_slip, approved, ..) = slip("Capitel Office Solutions").await;
    assert!(!one_slip && !approved, "one slip from two reviewed names: which one is for a person to say");
    let (_, _, one_slip, approved, ..) = slip("Tyrel").await;
    assert!(!one_slip && !approved, "a five-letter key is too short to call a slip");
    let (_, _, one_slip, approved, ..) = slip("Dell Tehnologies").await;
    assert!(!one_slip && !approved, "no reviewed name to be one slip from");
}

#[tokio::test]
async fn the_sqs_handler_fails_only_the_malformed_message() {
    let (db, dedupe, _) = setup().await;
    registration(&db, "a", Some("Acme"), true).await;
    let good = serde_json::to_string(&Envelope::batch(KIND_REGISTRATIONS_CHANGED, &["a".into()], "r")[0]).unwrap();
    let event = json!({"Records": [
        {"messageId": "m1", "body": good, "eventSource": "aws:sqs"},
        {"messageId": "m2", "body": "{\"kind\":\"nope\",\"version\":1,\"ids\":[\"a\"],\"run_id\":\"r\"}", "eventSource": "aws:sqs"}
    ]});
    let out = company_dedupe::handle(&dedupe, LambdaEvent::new(event, Context::default())).await.unwrap();
    assert_eq!(out["batchItemFailures"], json!([{"itemIdentifier": "m2"}]));
    let n: i64 = db.scalar("SELECT count(*) FROM conferences_events.exchange_organizations").await;
    assert_eq!(n, 1, "the good message was processed");
}

#[tokio::test]
async fn every_sample_event_is_handled_as_documented() {
    let (db, dedupe, _) = setup().await;
    registration(&db, "1500000001", Some("Acme Inc"), true).await;
    let load = |name: &str| {
        let path = format!("{}/../../events/company-dedupe/{name}", env!("CARGO_MANIFEST_DIR"));
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        LambdaEvent::new(v, Context::default())
    };
    let out = company_dedupe::handle(&dedupe, load("sqs.json")).await.unwrap();
    assert_eq!(out["batchItemFailures"], json!([]));
    let out = company_dedupe::handle(&dedupe, load("sqs-with-bad-message.json")).await.unwrap();
    assert_eq!(out["batchItemFailures"], json!([{"itemIdentifier": "9f2c5e1a-0001-4d6b-9c1e-000000000002"}]));
    for file in ["sweep.json", "schedule.json"] {
        let out = company_dedupe::handle(&dedupe, load(file)).await.unwrap();
        assert_eq!(out["inserted"], 0, "{file}: {out}");
    }
    let n: i64 = db.scalar("SELECT count(*) FROM conferences_events.exchange_organizations").await;
    assert_eq!(n, 1);
    assert!(company_dedupe::handle(&dedupe, LambdaEvent::new(json!({"hello": 1}), Context::default())).await.is_err());

    let out = company_dedupe::handle(&dedupe, load("export-review.json")).await.unwrap();
    let key = out["review_workbook"].as_str().unwrap().to_owned();
    assert!(key.starts_with("review/organizations-") && key.ends_with(".xlsx"), "{key}");
    // The sample upload names a bucket and a URL-encoded key; point it at this test's bucket.
    let bucket = dedupe.review_bucket.clone().unwrap();
    let exported = platform_aws::s3::get(&dedupe.s3, &bucket, &key).await.unwrap();
    platform_aws::s3::put(
        &dedupe.s3,
        &bucket,
        "incoming/organizations reviewed.xlsx",
        exported,
        "application/octet-stream",
    )
    .await
    .unwrap();
    let mut upload = load("s3-upload.json");
    upload.payload["Records"][0]["s3"]["bucket"]["name"] = json!(bucket);
    let out = company_dedupe::handle(&dedupe, upload).await.unwrap();
    assert_eq!(out["workbooks"][0]["key"], "incoming/organizations reviewed.xlsx", "{out}");
    assert_eq!(out["workbooks"][0]["rejected"], 1, "the one row has a blank decision: {out}");
}

#[tokio::test]
async fn a_review_workbook_round_trip_applies_good_rows_and_reports_the_bad_ones() {
    use calamine::Reader;
    let (db, dedupe, sdk) = setup().await;
    db.exec("INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed) VALUES ('Acme Corp', 'Acme', true)").await;
    registration(&db, "a", Some("ACME INC."), true).await;
    registration(&db, "b", Some("Globex Services"), true).await;
    registration(&db, "c", Some("Initech"), true).await;
    dedupe.pass(None, "schedule").await.unwrap();

    let key = dedupe.export_review().await.unwrap();
    let bucket = dedupe.review_bucket.clone().unwrap();
    let exported = platform_aws::s3::get(&dedupe.s3, &bucket, &key).await.unwrap();
    let listed = platform_dedupe::workbook::decisions(&exported).unwrap();
    let names: Vec<&str> = listed.iter().map(|d| d.original.as_str()).collect();
    assert_eq!(names, vec!["ACME INC.", "Globex Services", "Initech"]);

    // The operator accepts Acme's suggestion, names Globex, leaves Initech blank and adds a typo row.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, (name, decision)) in [
        ("original_organization", "decision"),
        ("ACME INC.", "ok"),
        ("Globex Services", "Globex"),
        ("Initech", ""),
        ("Initek", "Initech"),
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(r as u32, 0, *name).unwrap();
        sheet.write_string(r as u32, 1, *decision).unwrap();
    }
    let upload = "incoming/review-1.xlsx";
    platform_aws::s3::put(&dedupe.s3, &bucket, upload, book.save_to_buffer().unwrap(), "application/octet-stream")
        .await
        .unwrap();
    let event = json!({"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": bucket}, "object": {"key": "incoming/review-1.xlsx"}}}]});
    let out = company_dedupe::handle(&dedupe, LambdaEvent::new(event, Context::default())).await.unwrap();
    assert_eq!(out["workbooks"][0]["applied"], 2, "{out}");
    assert_eq!(out["workbooks"][0]["rejected"], 2, "{out}");
    assert_eq!(out["workbooks"][0]["released"], 2, "{out}");

    let rows = db.rows("SELECT original_organization, clean_organization, reviewed FROM conferences_events.exchange_organizations ORDER BY 1").await;
    let got: Vec<(String, String, bool)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(
        got,
        vec![
            ("ACME INC.".into(), "Acme".into(), true),
            ("Acme Corp".into(), "Acme".into(), true),
            ("Globex Services".into(), "Globex".into(), true),
            ("Initech".into(), "Initech".into(), false),
        ]
    );
    assert_eq!(released_on_queue(&sdk, &dedupe.meetmax_queue_url).await, vec!["a", "b"]);

    let result = platform_aws::s3::get(&dedupe.s3, &bucket, "results/review-1-result.xlsx").await.unwrap();
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(result)).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let outcomes: Vec<String> = range.rows().skip(1).map(|r| r[3].to_string()).collect();
    assert_eq!(
        outcomes,
        vec!["applied", "applied", "not applied: blank decision", "not applied: unknown organisation name"]
    );

    // A file that is not a workbook applies nothing and says why.
    platform_aws::s3::put(&dedupe.s3, &bucket, "incoming/broken.xlsx", b"garbage".to_vec(), "application/octet-stream")
        .await
        .unwrap();
    let r = dedupe.apply_review("incoming/broken.xlsx").await.unwrap();
    assert!(r.refused.unwrap().contains("not a readable XLSX"));
    assert_eq!(r.applied, 0);
}
