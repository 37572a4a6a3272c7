//! spreadsheet-export against a real PostgreSQL and moto (S3, SQS, SES): the morning plan, the
//! generic and a custom template read back cell by cell, idempotency per report date, a broken
//! template refused without stopping the others, an S3 failure retried without an e-mail, the
//! "since the previous report" scope, and a 100,000-row export under a memory ceiling.

use std::time::Duration;

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use integration_tests::{TestDb, aws, drain_bodies, emails_to, new_queue, new_secret};
use platform_aws::SqsSender;
use platform_domain::envelope::Envelope;
use platform_export::{Exporter, KIND_EXPORT_REQUESTED, Settings, export::Outcome, plan::Plan};
use serde_json::{Value, json};

struct H {
    db: TestDb,
    sdk: aws_config::SdkConfig,
    s3: aws_sdk_s3::Client,
    bucket: String,
    queue: String,
    contact: String,
    exporter: Exporter,
    settings: Settings,
}

/// The tests' leads and report dates lie in the past, so every report's cut-off is before the
/// real clock and a report ends at its cut-off (one read before it would end when it read).
fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn exporter(db: &TestDb, sdk: &aws_config::SdkConfig, settings: Settings) -> Exporter {
    Exporter::new(
        db.warehouse.clone(),
        Some(SqsSender::new(aws_sdk_sqs::Client::new(sdk))),
        platform_aws::s3::client(sdk, true),
        Some(platform_aws::ses::Client::new(sdk)),
        settings,
    )
}

async fn harness() -> H {
    let db = TestDb::new().await;
    let sdk = aws().await;
    let queue = new_queue(&sdk, "export").await;
    let bucket = format!("exports-{}", uuid::Uuid::new_v4().simple());
    let s3 = platform_aws::s3::client(&sdk, true);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let ses = platform_aws::ses::Client::new(&sdk);
    ses.create_email_identity().email_identity("reports@agency.example").send().await.unwrap();
    // A recipient of this test's own: moto's SES keeps every test's messages together.
    let contact = format!("reports+{}@smith-law.example", uuid::Uuid::new_v4().simple());
    db.exec(&format!(
        "INSERT INTO leads.client (id, name) VALUES ('smith-law', 'Smith Law');
         INSERT INTO leads.lander (id, name, client_id) VALUES ('slip-lp', 'Slip and fall lander', 'smith-law');
         INSERT INTO leads.lead (lander_id, source, source_id, received_at, first_name, last_name, email, phone, fields, is_test) VALUES
          ('slip-lp', 'endpoint', 'a', '2025-11-20T03:30:00Z', 'Dana', 'Ruiz', 'dana@example.org', '(555) 010-3344',
           '{{\"first_name\": \"Dana\", \"amount\": \"$1,250.00\", \"count\": 3, \"details\": \"=SUM(A1)\", \"incident_date\": \"Oct 30, 2025\"}}', false),
          ('slip-lp', 'endpoint', 'b', '2025-11-21T15:00:00Z', 'lee', 'Park', NULL, '555.010.5566',
           '{{\"first_name\": \"lee\", \"amount\": \"$99.50\", \"details\": \"+1 555 called back\", \"state\": \"KY\"}}', false),
          ('slip-lp', 'formstack', 'c', '2025-11-22T23:00:00Z', 'Chris', 'Diaz', 'chris@example.org', NULL,
           '{{\"details\": \"@home\", \"state\": \"TX\", \"incident_date\": \"2025-11-01\"}}', false),
          ('slip-lp', 'endpoint', 'late', '2025-11-23T06:00:00Z', 'After', 'Cutoff', NULL, NULL, '{{}}', false),
          ('slip-lp', 'test', 't', '2025-11-21T10:00:00Z', 'Test', 'Lead', NULL, NULL, '{{}}', true);
         -- Stored as they were received (a report's window is when leads were stored).
         UPDATE leads.lead SET stored_at = received_at;
         INSERT INTO leads.export_subscription (id, lander_id, client_id, recipients, time_zone)
         VALUES ('smith-generic', 'slip-lp', 'smith-law', ARRAY['{contact}'], 'America/Chicago');"
    ))
    .await;
    let settings = Settings {
        queue_url: Some(queue.clone()),
        bucket: bucket.clone(),
        link: Duration::from_secs(3600),
        email_from: Some("reports@agency.example".into()),
        scratch: std::env::temp_dir(),
        claim: Duration::from_secs(60),
        fetch_rows: 2,
        part_bytes: platform_aws::upload::UPLOAD_PART_BYTES,
        link_signer_secret: None,
    };
    let exporter = exporter(&db, &sdk, settings.clone());
    H { db, sdk, s3, bucket, queue, contact, exporter, settings }
}

impl H {
    /// Plans `day` and runs every job the queue then holds, as the event source would.
    async fn morning(&self, day: &str) -> (Plan, Vec<Result<Vec<Outcome>, String>>) {
        let plan = self.exporter.plan(date(day)).await.unwrap();
        let mut out = Vec::new();
        for body in drain_bodies(&self.sdk, &self.queue).await {
            let env = Envelope::parse(&body, &[KIND_EXPORT_REQUESTED]).unwrap();
            out.push(self.exporter.handle(&env).await.map_err(|e| e.to_string()));
        }
        (plan, out)
    }

    async fn workbook(&self, key: &str) -> Xlsx<std::io::Cursor<Vec<u8>>> {
        let bytes = platform_aws::s3::get(&self.s3, &self.bucket, key).await.unwrap();
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap()
    }

    async fn emails(&self) -> Vec<Value> {
        emails_to(&self.contact).await
    }

    async fn export_row(&self, sub: &str, day: &str) -> (String, Option<String>, Option<i64>) {
        let r = &self
            .db
            .rows(&format!(
                "SELECT status, error, row_count FROM leads.export WHERE subscription_id = '{sub}' AND report_date = '{day}'"
            ))
            .await[0];
        (r.get(0), r.get(1), r.get(2))
    }
}

/// Excel's serial of a local date and time.
fn serial(s: &str) -> f64 {
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    platform_workbook::excel_serial(&t)
}

fn date_cell(cell: Option<&Data>) -> f64 {
    match cell {
        Some(Data::DateTime(d)) => d.as_f64(),
        other => panic!("not a date cell: {other:?}"),
    }
}

#[tokio::test]
async fn the_generic_report_holds_every_field_typed_in_the_subscriptions_time_zone() {
    let h = harness().await;
    platform_runtime::metrics::capture();
    let (plan, results) = h.morning("2025-11-23").await;
    let m = &integration_tests::emf("spreadsheet-export", "export")[0];
    assert_eq!(
        (m["Processed"].as_u64(), m["Failed"].as_u64(), m["Partial"].as_u64()),
        (Some(1), Some(0), Some(0)),
        "{m}"
    );
    assert_eq!(plan.planned, ["smith-generic"], "{plan:?}");
    let outcome = &results[0].as_ref().unwrap()[0];
    assert_eq!(outcome.status, "done");
    let key = outcome.key.clone().unwrap();
    assert_eq!(key, "exports/smith-law/slip-lp/2025-11-23.xlsx");
    assert_eq!(outcome.rows, 3, "before 05:00 UTC of the report date, test leads left out");

    let mut book = h.workbook(&key).await;
    assert_eq!(book.sheet_names(), vec!["Leads".to_owned(), "Summary".to_owned()]);
    let leads = book.worksheet_range("Leads").unwrap();
    let header: Vec<String> = (0..11).map(|c| leads.get_value((0, c)).unwrap().to_string()).collect();
    assert_eq!(
        header,
        [
            "Lead",
            "Received",
            "First name",
            "Last name",
            "Email",
            "Phone",
            "Amount",
            "Count",
            "Details",
            "Incident date",
            "State"
        ],
        "the core first, then every other field alphabetically, headed readably"
    );
    assert_eq!(leads.height(), 4, "header and three leads");
    // Row 1: received 2025-11-20 03:30 UTC = 2025-11-19 21:30 in Chicago.
    assert!(matches!(leads.get_value((1, 0)), Some(Data::Float(_))), "the lead id is a number");
    assert_eq!(date_cell(leads.get_value((1, 1))), serial("2025-11-19 21:30"));
    assert_eq!(leads.get_value((1, 2)), Some(&Data::String("Dana".into())));
    assert_eq!(leads.get_value((1, 6)), Some(&Data::String("$1,250.00".into())), "text stays text");
    assert_eq!(leads.get_value((1, 7)), Some(&Data::Float(3.0)), "a number stays a number");
    assert_eq!(leads.get_value((1, 8)), Some(&Data::String("=SUM(A1)".into())), "never a formula");
    assert_eq!(leads.get_value((2, 8)), Some(&Data::String("+1 555 called back".into())));
    assert_eq!(leads.get_value((3, 8)), Some(&Data::String("@home".into())));
    assert_eq!(leads.get_value((2, 4)), Some(&Data::Empty), "no e-mail is an empty cell");
    assert_eq!(date_cell(leads.get_value((3, 1))), serial("2025-11-22 17:00"));
    let formulas = book.worksheet_formula("Leads").unwrap();
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "no formula anywhere");
    let summary = book.worksheet_range("Summary").unwrap();
    let days: Vec<(f64, f64)> = (1..4)
        .map(|r| {
            let n = match summary.get_value((r, 1)) {
                Some(Data::Float(n)) => *n,
                other => panic!("{other:?}"),
            };
            (date_cell(summary.get_value((r, 0))), n)
        })
        .collect();
    assert_eq!(
        days,
        vec![(serial("2025-11-19 00:00"), 1.0), (serial("2025-11-21 00:00"), 1.0), (serial("2025-11-22 00:00"), 1.0)],
        "leads per local day"
    );

    // The record, the link, the e-mail.
    let row = &h
        .db
        .rows("SELECT status, row_count, bytes, url, emailed_at IS NOT NULL FROM leads.export WHERE subscription_id = 'smith-generic'")
        .await[0];
    assert_eq!((row.get::<_, String>(0), row.get::<_, i64>(1)), ("done".into(), 3));
    let object = platform_aws::s3::get(&h.s3, &h.bucket, &key).await.unwrap();
    assert_eq!(row.get::<_, i64>(2), object.len() as i64);
    // As the law firm prints it: the leads a page wide, the summary a page, dates on the axis.
    let printed = integration_tests::print::print(&object);
    assert_eq!(printed.pages, 2, "{}", printed.text);
    assert!(printed.text.contains("Incident date") && printed.text.contains("2025-11-21"), "{}", printed.text);
    let url: String = row.get(3);
    let fetched = reqwest::get(&url).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), object, "the presigned link serves the workbook");
    assert!(row.get::<_, bool>(4));
    let emails = h.emails().await;
    assert_eq!(emails.len(), 1);
    let text = emails[0]["body"].as_str().unwrap_or_default().to_owned();
    assert!(text.contains(&url) && text.contains("3 leads"), "{text}");
    assert_eq!(emails[0]["subject"], "Leads of Slip and fall lander: your spreadsheet of 2025-11-23");
}

#[tokio::test]
async fn a_custom_template_chooses_columns_types_order_and_leads() {
    let h = harness().await;
    h.db.exec(
        "INSERT INTO leads.export_template (id, definition) VALUES ('smith-custom', '{
           \"sheet\": \"Slip leads\", \"summary\": false,
           \"columns\": [{\"field\": \"received_at\", \"header\": \"Received\", \"format\": \"mm/dd/yyyy hh:mm\"},
                         {\"field\": \"first_name\", \"header\": \"Name\", \"transform\": [\"trim\", \"title\"]},
                         {\"field\": \"phone\", \"header\": \"Phone\", \"transform\": \"digits\", \"type\": \"text\"},
                         {\"field\": \"amount\", \"header\": \"Amount\", \"type\": \"number\", \"format\": \"#,##0.00\"},
                         {\"field\": \"incident_date\", \"header\": \"Incident\", \"type\": \"date\", \"format\": \"mm/dd/yyyy\"},
                         {\"field\": \"state\", \"header\": \"State\"}],
           \"sort\": [{\"field\": \"received_at\", \"descending\": true}],
           \"filters\": [{\"field\": \"state\", \"present\": true}]}');
         UPDATE leads.export_subscription SET template_id = 'smith-custom' WHERE id = 'smith-generic';",
    )
    .await;
    let (_, results) = h.morning("2025-11-23").await;
    let outcome = &results[0].as_ref().unwrap()[0];
    assert_eq!(outcome.rows, 2, "only leads with a state");
    let mut book = h.workbook(outcome.key.as_deref().unwrap()).await;
    assert_eq!(book.sheet_names(), vec!["Slip leads".to_owned()], "no summary sheet");
    let s = book.worksheet_range("Slip leads").unwrap();
    let header: Vec<String> = (0..6).map(|c| s.get_value((0, c)).unwrap().to_string()).collect();
    assert_eq!(header, ["Received", "Name", "Phone", "Amount", "Incident", "State"]);
    // Newest first: Chris (TX) then lee (KY).
    assert_eq!(date_cell(s.get_value((1, 0))), serial("2025-11-22 17:00"));
    assert_eq!(s.get_value((1, 1)), Some(&Data::String("Chris".into())));
    assert_eq!(s.get_value((1, 2)), Some(&Data::Empty));
    assert_eq!(s.get_value((1, 3)), Some(&Data::Empty));
    assert_eq!(date_cell(s.get_value((1, 4))), serial("2025-11-01 00:00"), "a text date read as a date");
    assert_eq!(s.get_value((1, 5)), Some(&Data::String("TX".into())));
    assert_eq!(s.get_value((2, 1)), Some(&Data::String("Lee".into())), "transformed");
    assert_eq!(s.get_value((2, 2)), Some(&Data::String("5550105566".into())));
    assert_eq!(s.get_value((2, 3)), Some(&Data::Float(99.5)), "\"$99.50\" read as a number");
    assert_eq!(s.height(), 3);

    // A number column sorts by value, not by text ("$99.50" before "$1,250.00"); none last.
    h.db.exec(
        "UPDATE leads.export_template SET definition = '{\"summary\": false,
           \"columns\": [{\"field\": \"first_name\"}, {\"field\": \"amount\", \"type\": \"number\"}],
           \"sort\": [{\"field\": \"amount\"}]}'",
    )
    .await;
    let sorted = h.exporter.export("smith-generic", date("2025-11-24")).await.unwrap();
    let mut book = h.workbook(sorted.key.as_deref().unwrap()).await;
    let s = book.worksheet_range("Leads").unwrap();
    let order: Vec<String> = (1..4).map(|r| s.get_value((r, 0)).unwrap().to_string()).collect();
    assert_eq!(order, ["lee", "Dana", "Chris"]);
}

#[tokio::test]
async fn a_report_date_is_written_once_per_retry_or_repeat_and_e_mailed_once() {
    let h = harness().await;
    let (_, first) = h.morning("2025-11-23").await;
    assert!(first[0].as_ref().unwrap()[0].emailed.is_some());
    // The same job again (an SQS redelivery), then the whole morning again (a repeated schedule).
    let env = Envelope::singles(KIND_EXPORT_REQUESTED, &["smith-generic/2025-11-23".to_owned()], "t").remove(0);
    let again = h.exporter.handle(&env).await.unwrap();
    assert_eq!((again[0].status.as_str(), again[0].emailed.as_ref()), ("done", None));
    let (_, repeat) = h.morning("2025-11-23").await;
    assert_eq!(repeat[0].as_ref().unwrap()[0].emailed, None);
    assert_eq!(h.emails().await.len(), 1, "one e-mail per subscription and report date");
    let objects = h.s3.list_objects_v2().bucket(&h.bucket).send().await.unwrap();
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["exports/smith-law/slip-lp/2025-11-23.xlsx"], "the same object overwritten");
    let attempts: i32 = h.db.scalar("SELECT attempts FROM leads.export").await;
    assert_eq!(attempts, 3);
    // Another report date is another report, with its own e-mail.
    h.morning("2025-11-24").await;
    assert_eq!(h.emails().await.len(), 2);
}

#[tokio::test]
async fn a_template_naming_an_unknown_field_is_refused_at_planning_and_the_others_run() {
    let h = harness().await;
    h.db.exec(
        "INSERT INTO leads.client (id, name) VALUES ('jones', 'Jones Injury');
         INSERT INTO leads.export_template (id, definition)
         VALUES ('jones-broken', '{\"columns\": [{\"field\": \"first_name\"}, {\"field\": \"favourite_colour\"}]}');
         INSERT INTO leads.export_subscription (id, lander_id, client_id, template_id, recipients)
         VALUES ('jones-slip', 'slip-lp', 'jones', 'jones-broken', ARRAY['someone@jones.example']);",
    )
    .await;
    let (plan, results) = h.morning("2025-11-23").await;
    assert_eq!(plan.planned, ["smith-generic"]);
    let refused = &plan.refused[0];
    assert_eq!(refused.subscription, "jones-slip");
    let error = &refused.error;
    assert!(error.contains("column 2 names the unknown field \"favourite_colour\""), "{error}");
    assert_eq!(results.len(), 1, "no job for the refused subscription");
    assert_eq!(results[0].as_ref().unwrap()[0].status, "done");
    let (status, why, rows) = h.export_row("jones-slip", "2025-11-23").await;
    assert_eq!((status.as_str(), rows), ("refused", None));
    assert!(why.unwrap().contains("favourite_colour"));
    // A job that arrives anyway (planned before the template broke) is refused, not written.
    let out = h.exporter.export("jones-slip", date("2025-11-23")).await.unwrap();
    assert_eq!(out.status, "refused");
    assert!(out.key.is_none());
    let objects = h.s3.list_objects_v2().bucket(&h.bucket).prefix("exports/jones/").send().await.unwrap();
    assert_eq!(objects.key_count(), Some(0));
}

#[tokio::test]
async fn an_export_that_cannot_reach_s3_fails_without_an_e_mail_and_its_retry_sends_one() {
    let h = harness().await;
    let missing = format!("missing-{}", uuid::Uuid::new_v4().simple());
    // A scratch directory of its own: other tests write reports of the same name at the same time.
    let scratch = std::env::temp_dir().join(format!("export-scratch-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch).unwrap();
    let broken =
        exporter(&h.db, &h.sdk, Settings { bucket: missing.clone(), scratch: scratch.clone(), ..h.settings.clone() });
    broken.plan(date("2025-11-23")).await.unwrap();
    let bodies = drain_bodies(&h.sdk, &h.queue).await;
    let env = Envelope::parse(&bodies[0], &[KIND_EXPORT_REQUESTED]).unwrap();
    let err = broken.handle(&env).await.unwrap_err().to_string();
    assert!(err.contains(&missing), "{err}");
    let (status, why, _) = h.export_row("smith-generic", "2025-11-23").await;
    assert_eq!(status, "failed");
    assert!(why.unwrap().contains(&missing), "the record says why");
    assert!(h.emails().await.is_empty(), "a failed export sends no e-mail");
    let leftovers = std::fs::read_dir(&scratch).unwrap().count();
    assert_eq!(leftovers, 0, "the scratch file is removed after a failure too");
    // The queue brings the job back once S3 is there.
    h.s3.create_bucket().bucket(&missing).send().await.unwrap();
    let out = broken.handle(&env).await.unwrap();
    assert_eq!(out[0].status, "done");
    assert_eq!(h.emails().await.len(), 1);
    let (status, why, rows) = h.export_row("smith-generic", "2025-11-23").await;
    assert_eq!((status.as_str(), why, rows), ("done", None, Some(3)));
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0, "and after a success");
    std::fs::remove_dir(&scratch).unwrap();
}

#[tokio::test]
async fn a_since_previous_report_holds_only_the_leads_since_the_last_one() {
    let h = harness().await;
    h.db.exec("UPDATE leads.export_subscription SET scope = 'since_previous'").await;
    let (_, day1) = h.morning("2025-11-22").await;
    assert_eq!(day1[0].as_ref().unwrap()[0].rows, 2, "the leads before 2025-11-22 05:00 UTC");
    let (_, day2) = h.morning("2025-11-23").await;
    let outcome = &day2[0].as_ref().unwrap()[0];
    assert_eq!(outcome.rows, 1, "only the lead of the last day");
    let mut book = h.workbook(outcome.key.as_deref().unwrap()).await;
    let leads = book.worksheet_range("Leads").unwrap();
    assert_eq!(leads.get_value((1, 2)), Some(&Data::String("Chris".into())));
    // A re-run of the first day still holds its own leads.
    let rerun = h.exporter.export("smith-generic", date("2025-11-22")).await.unwrap();
    assert_eq!(rerun.rows, 2);
    // A lead dated before the last report (its submission time) but stored after it — a late
    // pull — is in the next report, not lost between the two.
    h.db.exec(
        "INSERT INTO leads.lead (lander_id, source, source_id, received_at, stored_at, first_name, fields)
         VALUES ('slip-lp', 'formstack', 'late-pull', '2025-11-22T04:00:00Z', '2025-11-23T09:00:00Z', 'Robin', '{}')",
    )
    .await;
    let (_, day3) = h.morning("2025-11-24").await;
    let outcome = &day3[0].as_ref().unwrap()[0];
    assert_eq!(outcome.rows, 2, "the back-dated late lead, and the one stored after 2025-11-23 05:00");
    let mut book = h.workbook(outcome.key.as_deref().unwrap()).await;
    let leads = book.worksheet_range("Leads").unwrap();
    let names: Vec<String> = (1..3).map(|r| leads.get_value((r, 2)).unwrap().to_string()).collect();
    assert_eq!(names, ["Robin", "After"], "in time order of receipt");
}

/// The process's peak resident memory so far (kB).
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches(" kB").parse().unwrap()
}

#[tokio::test]
async fn a_100000_lead_export_streams_within_a_memory_ceiling() {
    // Each test runs in its own process (nextest): the peak before and after is this export's.
    let h = harness().await;
    h.db.exec(
        "INSERT INTO leads.lead (lander_id, source, source_id, received_at, stored_at, first_name, last_name, email, phone, fields)
         SELECT 'slip-lp', 'endpoint', 'g' || i, timestamptz '2025-11-01T00:00:00Z' + i * interval '10 seconds',
                timestamptz '2025-11-01T00:00:00Z' + i * interval '10 seconds',
                'First' || i, 'Last' || i, 'lead' || i || '@example.org', '555-01' || lpad((i % 100)::text, 2, '0'),
                jsonb_build_object('details', repeat('x', 40) || i, 'amount', i % 997, 'state', 'KY')
           FROM generate_series(1, 100000) AS i",
    )
    .await;
    // S3's smallest parts: the ~6.5 MB file goes up in two.
    let fast = exporter(
        &h.db,
        &h.sdk,
        Settings {
            fetch_rows: 2000,
            email_from: None,
            part_bytes: platform_aws::upload::MIN_PART_BYTES,
            ..h.settings.clone()
        },
    );
    let before = peak_rss_kb();
    let out = fast.export("smith-generic", date("2025-11-23")).await.unwrap();
    let grown_mb = (peak_rss_kb().saturating_sub(before)) as f64 / 1024.0;
    assert_eq!(out.rows, 100_003);
    assert!(out.bytes as usize > platform_aws::upload::MIN_PART_BYTES, "more than one part: {out:?}");
    eprintln!("100,000-lead export: {} bytes, peak memory grew by {grown_mb:.1} MB", out.bytes);
    assert!(grown_mb < 48.0, "peak memory grew by {grown_mb:.1} MB writing 100,000 leads");
    let book = h.workbook(out.key.as_deref().unwrap()).await;
    let mut book = book;
    assert_eq!(book.worksheet_range("Leads").unwrap().height(), 100_004);
}

#[tokio::test]
async fn links_are_signed_by_the_configured_long_lived_keys() {
    // The function's role credentials expire within hours, and a link dies with them: a link
    // meant to work for days is signed with the link signer's keys.
    let h = harness().await;
    let signer =
        new_secret(&h.sdk, &json!({"access_key_id": "AKIALINKSIGNER", "secret_access_key": "signer-secret"})).await;
    let signed =
        exporter(&h.db, &h.sdk, Settings { link_signer_secret: Some(signer), ..h.settings.clone() }).with_secrets(
            platform_aws::SecretsCache::new(aws_sdk_secretsmanager::Client::new(&h.sdk), Duration::from_secs(60)),
        );
    let out = signed.export("smith-generic", date("2025-11-23")).await.unwrap();
    let url = out.url.unwrap();
    assert!(url.contains("X-Amz-Credential=AKIALINKSIGNER%2F"), "{url}");
    assert!(!url.contains("X-Amz-Security-Token"), "long-lived keys, no session token: {url}");
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    // Without them the function's own credentials sign (moto's: "test").
    let own = h.exporter.export("smith-generic", date("2025-11-24")).await.unwrap().url.unwrap();
    assert!(own.contains("X-Amz-Credential=test%2F"), "{own}");
    // A signer secret without its keys is a configuration error, said plainly.
    let broken = new_secret(&h.sdk, &json!({"user": "x"})).await;
    let err = exporter(&h.db, &h.sdk, Settings { link_signer_secret: Some(broken), ..h.settings.clone() })
        .with_secrets(platform_aws::SecretsCache::new(
            aws_sdk_secretsmanager::Client::new(&h.sdk),
            Duration::from_secs(60),
        ))
        .export("smith-generic", date("2025-11-25"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("needs access_key_id and secret_access_key"), "{err}");
}
