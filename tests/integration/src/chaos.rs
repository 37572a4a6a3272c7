//! The whole pipeline under faults. One run drives every chain end to end, in-process, against
//! real PostgreSQL, moto and the sandbox:
//!
//! - registrations: the Formstack pull and signed webhooks → company-dedupe (names, the review,
//!   the gate) → meetmax-sync;
//! - leads: the signed lead endpoint → lead-delivery to four vendors → the confirmation e-mails;
//! - an Aventri connector's full pull.
//!
//! With faults on, a seeded schedule injects vendor 429s, 5xx, connection resets, errors inside
//! a 200 and timeouts (the vendor acts, its answer comes after the client gave up). It delivers every SQS message twice and out of order, kills batches in the
//! middle, and terminates the warehouse's connections (`pg_terminate_backend`) while work runs.
//! With a restart script, it also restarts PostgreSQL in the middle of a run. Then the faults
//! stop and everything drains: queues redelivered until empty, the sweeps run.
//!
//! The end state ([`EndState`]) is compared with a fault-free run's of the same seed.
//! [`violations`] lists every difference that is a loss or a duplicate: a registration, lead,
//! delivery, MeetMax record, e-mail or connector record missing or twice. A record held (a
//! delivery whose answer was lost, a registration MeetMax refused) is not a violation when it
//! says why.

use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    path::PathBuf,
    time::Duration,
};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use platform_aws::SqsSender;
use platform_meetmax::Settings as MeetmaxSettings;
use platform_runtime::Deadline;
use platform_vendors::RetryPolicy;
use serde::Serialize;
use serde_json::json;
use vendor_sandbox::{
    Fault, FaultRule,
    fixtures::{self, DEMO_FORM_ID, DEMO_HMAC_KEY, DEMO_LANDER_FORM_ID},
    webhook::{Format, build},
};

use crate::{
    Harness, REVIEW_AND_APPROVE_ALL, SEED_LANDER_FORM_SQL, TestDb, connector_support::ConnectorHarness, dedupe_batch,
    drain_bodies, emails_to, failed_bodies, leads_support, meetmax_support, new_queue, sqs_event,
};

/// How a run is made.
#[derive(Debug, Clone)]
pub struct Options {
    /// The seed of every random choice.
    pub seed: u64,
    /// Whether faults are injected (a fault-free run is the reference).
    pub faults: bool,
    /// A script that restarts PostgreSQL (`make chaos` gives one; the suite does not, since
    /// other tests share the server).
    pub restart_postgres: Option<PathBuf>,
    /// Leads posted.
    pub leads: usize,
}

/// What a run left: what a fault-free run of the same seed must also leave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EndState {
    /// Registration ids in the warehouse.
    pub registrations: BTreeSet<String>,
    /// Organisation names, each with how many rows it has.
    pub organizations: BTreeMap<String, i64>,
    /// MeetMax person records by CRM id (registration), with how many there are.
    pub meetmax_people: BTreeMap<String, usize>,
    /// MeetMax company records by name, with how many there are.
    pub meetmax_companies: BTreeMap<String, usize>,
    /// Registrations not in MeetMax, with why.
    pub meetmax_held: BTreeMap<String, String>,
    /// Leads by the lander's id, with how many rows each has.
    pub leads: BTreeMap<String, i64>,
    /// Deliveries (`<lead id>/<integration>`) and their status.
    pub deliveries: BTreeMap<String, String>,
    /// Deliveries held (not delivered), with why.
    pub deliveries_held: BTreeMap<String, String>,
    /// Leads the vendors accepted (`<route>/<lead>`), with how many times.
    pub vendor_posts: BTreeMap<String, usize>,
    /// Confirmation e-mails the client received.
    pub confirmation_emails: usize,
    /// Confirmations not sent yet: claimed by a sender that was killed, they go once its claim
    /// expires (five minutes), not lost.
    pub confirmations_unsent: usize,
    /// The morning export of the leads: its status and rows.
    pub export: (String, i64),
    /// The export e-mails its recipient received.
    pub export_emails: usize,
    /// Connector participants by id, with how many rows each has.
    pub participants: BTreeMap<String, i64>,
}

/// One run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Its seed.
    pub seed: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
    /// What it left.
    pub state: EndState,
}

/// The seeded schedule of one run.
struct Chaos {
    rng: fastrand::Rng,
    on: bool,
    faults: BTreeMap<String, u64>,
    restart: Option<PathBuf>,
    /// Terminations scheduled and not yet awaited.
    killers: Vec<tokio::task::JoinHandle<()>>,
}

impl Chaos {
    fn count(&mut self, kind: &str) {
        *self.faults.entry(kind.to_owned()).or_default() += 1;
    }

    /// Vendor faults on `path_prefix` for its next `requests` requests (about one in four).
    fn vendor_faults(&mut self, path_prefix: &str, requests: u32, kinds: &[Fault]) -> Vec<FaultRule> {
        if !self.on {
            return Vec::new();
        }
        let mut rules = Vec::new();
        for n in 1..=requests {
            if self.rng.u8(0..4) == 0 {
                let fault = kinds[self.rng.usize(0..kinds.len())].clone();
                self.count(&format!("vendor {}", fault_name(&fault)));
                rules.push(FaultRule { path_prefix: path_prefix.to_owned(), on_requests: vec![n.into()], fault });
            }
        }
        rules
    }

    /// Terminates the warehouse's connections to `db` after a random few milliseconds (while the
    /// work that follows runs), sometimes.
    fn terminate_later(&mut self, db: &TestDb) {
        if !self.on || self.rng.u8(0..3) != 0 {
            return;
        }
        self.count("pg_terminate_backend");
        let delay = Duration::from_millis(self.rng.u64(0..30));
        let name = db.name.clone();
        self.killers.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            terminate(&name).await;
        }));
    }

    /// Waits for every termination scheduled.
    async fn calm(&mut self) {
        for k in self.killers.drain(..) {
            let _ = k.await;
        }
    }

    /// Restarts PostgreSQL, once per run, when a restart script is given.
    async fn restart_postgres(&mut self) {
        let Some(script) = self.restart.take().filter(|_| self.on) else { return };
        self.count("postgres restart");
        let out = std::process::Command::new(&script).output().expect("the restart script runs");
        assert!(out.status.success(), "{}: {}", script.display(), String::from_utf8_lossy(&out.stderr));
    }

    /// Delivers `bodies` to `handle` as SQS would: with faults, every message twice, shuffled,
    /// in batches of one to ten, some batches killed in the middle (their messages come back)
    /// and some met by terminated connections. What fails comes back, until nothing does.
    async fn deliver<F, Fut>(&mut self, db: &TestDb, bodies: Vec<String>, handle: F)
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let mut pending = bodies;
        if self.on {
            let copies = pending.clone();
            pending.extend(copies);
            self.rng.shuffle(&mut pending);
            self.count("message delivered twice, out of order");
        }
        for round in 0.. {
            if pending.is_empty() {
                return;
            }
            assert!(round < 30, "messages keep failing: {pending:?}");
            let mut again = Vec::new();
            let mut rest = std::mem::take(&mut pending);
            while !rest.is_empty() {
                let n = if self.on { self.rng.usize(1..=10) } else { 10 }.min(rest.len());
                let batch: Vec<String> = rest.drain(..n).collect();
                self.terminate_later(db);
                let kill_after =
                    (self.on && self.rng.u8(0..5) == 0).then(|| Duration::from_millis(self.rng.u64(1..40)));
                let answer = match kill_after {
                    Some(after) => tokio::time::timeout(after, handle(sqs_event(&batch))).await.ok(),
                    None => Some(handle(sqs_event(&batch)).await),
                };
                self.calm().await;
                match answer {
                    None => {
                        self.count("batch killed in the middle");
                        again.extend(batch);
                    }
                    Some(resp) => again.extend(failed_bodies(&batch, &resp)),
                }
            }
            pending = again;
            if !pending.is_empty() {
                // Messages come back after their visibility timeout, not at once.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
}

fn fault_name(f: &Fault) -> &'static str {
    match f {
        Fault::RateLimit { .. } | Fault::RateLimitNoHeader => "429",
        Fault::ServerError { .. } => "5xx",
        Fault::Reset => "connection reset",
        Fault::ErrorIn200 => "error inside a 200",
        Fault::Slow { .. } => "slow answer",
        Fault::LateAnswer { .. } => "timeout (the vendor acted, the answer came late)",
        _ => "other",
    }
}

/// Terminates every connection to database `name` but the caller's.
async fn terminate(name: &str) {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await else { return };
    tokio::spawn(conn);
    let _ = client
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .await;
}

/// The staff step (every name reviewed, every registration approved), through a pool of its own
/// and again when a fault cuts it.
async fn staff_approves(chaos: &mut Chaos, db: &TestDb) {
    chaos.calm().await;
    until_ok("the staff step", || async { db.fresh_pool().try_exec(REVIEW_AND_APPROVE_ALL).await }).await;
}

/// Runs `work` until it succeeds (a step a fault may fail is tried again, as its trigger would).
async fn until_ok<T, E: std::fmt::Display, Fut: Future<Output = Result<T, E>>>(
    what: &str,
    work: impl Fn() -> Fut,
) -> T {
    let mut last = String::new();
    for _ in 0..20 {
        match work().await {
            Ok(t) => return t,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} never succeeded: {last}")
}

/// MeetMax settings whose lease outlasts a call but not the drain's patience.
fn meetmax_settings() -> MeetmaxSettings {
    let retry = RetryPolicy {
        max_retries: 2,
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_millis(200),
    };
    MeetmaxSettings {
        timeout: Duration::from_secs(1),
        retry,
        lease: Duration::from_secs(5),
        ..meetmax_support::test_settings()
    }
}

/// One run of every chain with `options`.
pub async fn run(options: &Options) -> Run {
    let mut chaos = Chaos {
        rng: fastrand::Rng::with_seed(options.seed),
        on: options.faults,
        faults: BTreeMap::new(),
        restart: options.restart_postgres.clone(),
        killers: Vec::new(),
    };
    let mut state = EndState::default();
    registrations(&mut chaos, &mut state).await;
    leads(&mut chaos, &mut state, options.leads).await;
    connector(&mut chaos, &mut state).await;
    Run { seed: options.seed, faults: chaos.faults, state }
}

async fn registrations(chaos: &mut Chaos, state: &mut EndState) {
    let h = Harness::new(&[]).await;
    // The demo lander form too: its submissions are leads, delivered by lead-delivery.
    h.db.exec(SEED_LANDER_FORM_SQL).await;
    h.sandbox.load_leads(fixtures::leads_demo_fixture()).await;
    h.db.exec(&format!(
        "UPDATE leads.integration SET endpoint = regexp_replace(endpoint, '^https?://[^/]+', '{}')",
        h.sandbox.url
    ))
    .await;
    let lander_leads = lander_lead_delivery(&h);
    until_ok("refresh_states", || lander_leads.refresh_states()).await;
    let settings = meetmax_settings();
    let (sync, _) = meetmax_support::meetmax_on(&h.db, &h.sandbox, &h.sdk, settings.clone(), 500.0, 4).await;
    let meetmax_queue = new_queue(&h.sdk, "meetmax").await;
    let dedupe = h.dedupe(&meetmax_queue);
    let vendor =
        [Fault::RateLimit { retry_after: 0 }, Fault::ServerError { status: 503 }, Fault::Reset, Fault::ErrorIn200];
    let mut rules = chaos.vendor_faults("/api/v2/form", 12, &vendor);
    // MeetMax: and an add that lands but whose answer comes after the client's timeout (1 s).
    let meetmax =
        [Fault::RateLimit { retry_after: 0 }, Fault::ServerError { status: 502 }, Fault::LateAnswer { delay_ms: 1300 }];
    rules.extend(chaos.vendor_faults("/sched/service", 40, &meetmax));
    rules.extend(chaos.vendor_faults("/api/captorraapi", 6, &[Fault::RateLimit { retry_after: 0 }, Fault::Reset]));
    h.sandbox.set_faults(rules).await;

    // In: a pull, and two signed webhooks of submissions the pull does not have, each sent twice.
    let fields = |first: &str| {
        vec![
            ("101", json!({"first": first, "last": "Chaos"})),
            ("102", json!(format!("{first} Industries"))),
            ("104", json!(format!("{}@example.org", first.to_lowercase()))),
            ("106", json!("Supplier")),
        ]
    };
    let _ = h.intake.pull("chaos", false).await;
    let lander = vec![
        ("201", json!({"first": "Dana", "last": "Ruiz"})),
        ("202", json!("dana.ruiz@example.org")),
        ("203", json!("(555) 010-3344")),
        ("204", json!("Slipped on a wet floor.")),
    ];
    for (form, id, fields) in [
        (DEMO_FORM_ID, "1990000001", fields("Webhook")),
        (DEMO_FORM_ID, "1990000002", fields("Hook")),
        (DEMO_LANDER_FORM_ID, "1790000001", lander),
    ] {
        let w = build(form, id, &fields, Format::UrlEncoded, Some(DEMO_HMAC_KEY), None);
        for _ in 0..2 {
            let req = platform_runtime::function_url::RequestParts {
                method: "POST".into(),
                headers: w.headers.clone(),
                query: vec![],
                body: w.body.clone(),
            };
            chaos.terminate_later(&h.db);
            // Formstack sends again until it gets a 200.
            until_ok("a webhook", || async {
                let a = h.intake.webhook(req.clone()).await;
                if a.status == 200 { Ok(()) } else { Err(format!("{}: {}", a.status, a.body)) }
            })
            .await;
        }
    }
    chaos.restart_postgres().await;
    let changed = drain_bodies(&h.sdk, &h.queue_url).await;
    chaos.deliver(&h.db, changed, |event| dedupe_batch(&dedupe, event)).await;
    staff_approves(chaos, &h.db).await;
    let _ = dedupe.pass(None, "sweep").await;
    let released = drain_bodies(&h.sdk, &meetmax_queue).await;
    chaos.deliver(&h.db, released, |event| meetmax_sync::handle_batch(&sync, event, Deadline::none())).await;
    let leads = drain_bodies(&h.sdk, &h.lead_queue_url).await;
    chaos.deliver(&h.db, leads, |event| lead_delivery::handle_batch(&lander_leads, event)).await;

    // The faults stop; everything drains: the pull and the sweeps run again, queues until empty.
    chaos.calm().await;
    h.sandbox.set_faults(Vec::new()).await;
    tokio::time::sleep(settings.lease).await;
    until_ok("the pull", || h.intake.pull("drain", false)).await;
    for _ in 0..3 {
        let changed = drain_bodies(&h.sdk, &h.queue_url).await;
        for chunk in changed.chunks(10) {
            dedupe_batch(&dedupe, sqs_event(chunk)).await;
        }
        staff_approves(chaos, &h.db).await;
        until_ok("the dedupe sweep", || dedupe.pass(None, "sweep")).await;
        // The sweep runs over every released registration: what the queue held is covered.
        drain_bodies(&h.sdk, &meetmax_queue).await;
        until_ok("the MeetMax sweep", || sync.run(None, "sweep")).await;
        until_ok("refresh_states", || lander_leads.refresh_states()).await;
        let leads = drain_bodies(&h.sdk, &h.lead_queue_url).await;
        chaos.deliver(&h.db, leads, |event| lead_delivery::handle_batch(&lander_leads, event)).await;
    }

    // Read through a pool of its own: none of its connections was terminated.
    chaos.calm().await;
    let db = h.db.fresh_pool();
    state.registrations = db
        .rows("SELECT registration_id FROM conferences_events.exchange_registration")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    state.organizations = db
        .rows("SELECT original_organization, count(*) FROM conferences_events.exchange_organizations GROUP BY 1")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let (people, companies) = meetmax_support::record_counts(&h.sandbox).await;
    state.meetmax_people = people.into_iter().collect();
    state.meetmax_companies = companies.into_iter().collect();
    collect_leads(state, &db, &h.sandbox, "lander").await;
    state.meetmax_held = db
        .rows("SELECT registration_id, coalesce(error, '') FROM integration.meetmax_sync WHERE meetmax_id IS NULL")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
}

async fn leads(chaos: &mut Chaos, state: &mut EndState, n: usize) {
    let h = leads_support::harness().await;
    // And a lead taken whose answer comes after the client's timeout (2 s).
    let vendor = [
        Fault::RateLimit { retry_after: 0 },
        Fault::ServerError { status: 503 },
        Fault::Reset,
        Fault::LateAnswer { delay_ms: 2300 },
    ];
    let mut rules = Vec::new();
    for route in ["/api/captorraapi", "/api/iceapi", "/intakedesk", "/webhook-receiver"] {
        rules.extend(chaos.vendor_faults(route, (n * 3) as u32, &vendor));
    }
    h.sandbox.set_faults(rules).await;
    // Each lead posted twice (the lander retries), until the endpoint takes it.
    for i in 0..n {
        let mut fields = leads_support::ada();
        fields["first_name"] = json!(format!("Lead {i}"));
        for _ in 0..2 {
            chaos.terminate_later(&h.db);
            let body = json!({"lead_id": format!("chaos-{i}"), "fields": fields});
            until_ok("a lead", || async {
                let a = h.leads.receive(leads_support::signed("accident-lp", leads_support::LANDER_KEY, &body)).await;
                if a.status == 200 { Ok(()) } else { Err(format!("{}: {}", a.status, a.body)) }
            })
            .await;
        }
    }
    let bodies = drain_bodies(&h.sdk, &h.queue).await;
    chaos.deliver(&h.db, bodies, |event| lead_delivery::handle_batch(&h.leads, event)).await;

    // The faults stop; what waits or comes back is delivered (claims expire first).
    h.sandbox.set_faults(Vec::new()).await;
    tokio::time::sleep(h.settings.claim + Duration::from_millis(200)).await;
    for _ in 0..3 {
        until_ok("refresh_states", || h.leads.refresh_states()).await;
        let bodies = drain_bodies(&h.sdk, &h.queue).await;
        chaos.deliver(&h.db, bodies, |event| lead_delivery::handle_batch(&h.leads, event)).await;
    }
    chaos.calm().await;
    collect_leads(state, &h.db.fresh_pool(), &h.sandbox, "endpoint").await;
    state.confirmation_emails = emails_to(&h.contact).await.len();
    export(chaos, state, &h).await;
}

/// lead-delivery over the registration harness's warehouse (the lander form's leads), announcing
/// on the queue formstack-intake announces on; no SES (its confirmations wait).
fn lander_lead_delivery(h: &Harness) -> platform_leads::Leads {
    let settings = platform_leads::Settings {
        queue_url: Some(h.lead_queue_url.clone()),
        endpoint_keys_secret: None,
        timeout: Duration::from_secs(2),
        claim: Duration::from_secs(1),
        email_from: None,
        bucket: None,
        team_email: None,
        vendor_concurrency: 2,
        secret_prefix: None,
    };
    let secrets = platform_aws::SecretsCache::new(aws_sdk_secretsmanager::Client::new(&h.sdk), Duration::from_secs(60));
    platform_leads::Leads::new(
        h.db.warehouse.clone(),
        secrets,
        Some(SqsSender::new(aws_sdk_sqs::Client::new(&h.sdk))),
        None,
        None,
        settings,
    )
    .expect("lead-delivery builds")
}

/// The leads, deliveries, accepted vendor posts and unsent confirmations of one warehouse and
/// sandbox, their keys prefixed with `chain`.
async fn collect_leads(state: &mut EndState, db: &TestDb, sandbox: &vendor_sandbox::Sandbox, chain: &str) {
    for r in db.rows("SELECT source_id, count(*) FROM leads.lead WHERE NOT is_test GROUP BY 1").await {
        state.leads.insert(format!("{chain}/{}", r.get::<_, String>(0)), r.get(1));
    }
    for r in db
        .rows(
            "SELECT l.source_id || '/' || d.integration_id, d.status, coalesce(d.reason, '')
               FROM leads.delivery d JOIN leads.lead l ON l.id = d.lead_id",
        )
        .await
    {
        let (key, status, reason): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let key = format!("{chain}/{key}");
        if status != "delivered" {
            state.deliveries_held.insert(key.clone(), reason);
        }
        state.deliveries.insert(key, status);
    }
    for r in sandbox.received_leads().await.into_iter().filter(|r| (200..300).contains(&r.status)) {
        let lead = r.fields.get("ID").or(r.fields.get("first")).or(r.fields.get("name")).cloned().unwrap_or_default();
        *state.vendor_posts.entry(format!("{chain}/{}/{}", r.route, lead)).or_default() += 1;
    }
    let unsent: i64 = db.scalar("SELECT count(*) FROM leads.confirmation WHERE sent_at IS NULL").await;
    state.confirmations_unsent += unsent as usize;
}

/// The morning export of the leads just delivered: planned, its job delivered as SQS would.
async fn export(chaos: &mut Chaos, state: &mut EndState, h: &leads_support::H) {
    let recipient = format!("exports+{}@smith-law.example", uuid::Uuid::new_v4().simple());
    chaos.calm().await;
    h.db.fresh_pool()
        .exec(&format!(
            "INSERT INTO leads.export_subscription (id, lander_id, client_id, recipients, time_zone)
         VALUES ('chaos-generic', 'accident-lp', 'smith-law', ARRAY['{recipient}'], 'UTC')"
        ))
        .await;
    let queue = new_queue(&h.sdk, "export").await;
    let settings = platform_export::Settings {
        queue_url: Some(queue.clone()),
        bucket: h.bucket.clone(),
        link: Duration::from_secs(3600),
        email_from: Some("leads@agency.example".into()),
        scratch: std::env::temp_dir(),
        // Short, so that a killed job's claim expires within the drain.
        claim: Duration::from_secs(2),
        fetch_rows: 2,
        part_bytes: platform_aws::upload::UPLOAD_PART_BYTES,
        link_signer_secret: None,
    };
    let exporter = platform_export::Exporter::new(
        h.db.warehouse.clone(),
        Some(SqsSender::new(aws_sdk_sqs::Client::new(&h.sdk))),
        platform_aws::s3::client(&h.sdk, true),
        Some(platform_aws::ses::Client::new(&h.sdk)),
        settings,
    );
    // Tomorrow's report: every lead of this run is before its cut-off.
    let date = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    until_ok("the plan", || exporter.plan(date)).await;
    let jobs = drain_bodies(&h.sdk, &queue).await;
    chaos.deliver(&h.db, jobs, |event| spreadsheet_export::handle_batch(&exporter, event)).await;
    chaos.calm().await;
    let r = &h
        .db
        .fresh_pool()
        .rows(&format!(
            "SELECT status, coalesce(row_count, -1) FROM leads.export WHERE subscription_id = 'chaos-generic' AND report_date = '{date}'"
        ))
        .await[0];
    state.export = (r.get(0), r.get(1));
    state.export_emails = emails_to(&recipient).await.len();
}

async fn connector(chaos: &mut Chaos, state: &mut EndState) {
    let h = ConnectorHarness::demo().await;
    let vendor = [Fault::RateLimit { retry_after: 0 }, Fault::ServerError { status: 502 }, Fault::ErrorIn200];
    let rules = chaos.vendor_faults("/api/v2/ereg", 30, &vendor);
    h.sandbox.set_faults(rules).await;
    chaos.terminate_later(&h.db);
    let _ = h.service.pull_now(h.connection, "participants", &Deadline::none()).await;
    h.sandbox.set_faults(Vec::new()).await;
    let mut done = false;
    let none = Deadline::none();
    for _ in 0..10 {
        let p = until_ok("the pull", || h.service.pull_now(h.connection, "participants", &none)).await;
        if p.progress == platform_connectors::Progress::Complete
            || p.progress == platform_connectors::Progress::AlreadyDone
        {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(done, "the connector pull completes once the faults stop");
    chaos.calm().await;
    state.participants =
        h.db.fresh_pool()
            .rows("SELECT fp_ext_id, count(*) FROM connector.participant WHERE removed_at IS NULL GROUP BY 1")
            .await
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
}

/// What a faulted run lost or duplicated against the fault-free `reference` of its seed.
pub fn violations(reference: &EndState, run: &EndState) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
        out.push(format!("{what}: fault-free {a:?}, faulted {b:?}"));
    };
    if run.registrations != reference.registrations {
        differ("registrations", &reference.registrations, &run.registrations);
    }
    if run.organizations != reference.organizations {
        differ("organisation names", &reference.organizations, &run.organizations);
    }
    if run.leads != reference.leads {
        differ("leads", &reference.leads, &run.leads);
    }
    if run.participants != reference.participants {
        differ("connector participants", &reference.participants, &run.participants);
    }
    if run.export != reference.export || run.export_emails != 1 {
        out.push(format!(
            "export: fault-free {:?} e-mailed {}, faulted {:?} e-mailed {}",
            reference.export, reference.export_emails, run.export, run.export_emails
        ));
    }
    for (what, counts) in [("MeetMax people", &run.meetmax_people), ("MeetMax companies", &run.meetmax_companies)] {
        for (k, n) in counts.iter().filter(|(_, n)| **n > 1) {
            out.push(format!("{what}: {k} {n} times"));
        }
    }
    // A registration MeetMax has in the reference has it in the run too, or says why not.
    for id in reference.meetmax_people.keys() {
        if !run.meetmax_people.contains_key(id) && run.meetmax_held.get(id).is_none_or(String::is_empty) {
            out.push(format!("MeetMax person {id} lost (not in MeetMax, no reason)"));
        }
    }
    for (id, why) in &run.meetmax_held {
        if why.is_empty() && !run.meetmax_people.contains_key(id) {
            out.push(format!("registration {id} not in MeetMax and no reason given"));
        }
    }
    // Every delivery of the reference exists, and is delivered or held with its reason.
    for key in reference.deliveries.keys() {
        match run.deliveries.get(key).map(String::as_str) {
            None => out.push(format!("delivery {key} lost")),
            Some("delivered") => {}
            Some(status) => {
                if run.deliveries_held.get(key).is_none_or(String::is_empty) {
                    out.push(format!("delivery {key} {status} without a reason"));
                }
                if status == "waiting" || status == "sending" || status == "retrying" {
                    out.push(format!("delivery {key} still {status} after the drain"));
                }
            }
        }
    }
    for (k, n) in run.vendor_posts.iter().filter(|(_, n)| **n > 1) {
        out.push(format!("vendor post {k} accepted {n} times"));
    }
    if run.confirmation_emails > reference.confirmation_emails {
        out.push(format!(
            "{} confirmation e-mails, the fault-free run sent {}",
            run.confirmation_emails, reference.confirmation_emails
        ));
    }
    let delivered_integrations = |s: &EndState| -> BTreeSet<String> {
        s.deliveries
            .iter()
            .filter(|(_, v)| *v == "delivered")
            .filter_map(|(k, _)| k.rsplit('/').next().map(str::to_owned))
            .collect()
    };
    if run.confirmation_emails + run.confirmations_unsent < delivered_integrations(run).len() {
        out.push(format!(
            "{} confirmation e-mails ({} waiting) for {} integrations that delivered",
            run.confirmation_emails,
            run.confirmations_unsent,
            delivered_integrations(run).len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> EndState {
        EndState {
            registrations: ["r1".to_owned(), "r2".to_owned()].into(),
            meetmax_people: [("r1".to_owned(), 1), ("r2".to_owned(), 1)].into(),
            leads: [("l1".to_owned(), 1)].into(),
            deliveries: [("l1/ice".to_owned(), "delivered".to_owned())].into(),
            vendor_posts: [("ice/1".to_owned(), 1)].into(),
            confirmation_emails: 1,
            export: ("done".into(), 1),
            export_emails: 1,
            ..EndState::default()
        }
    }

    type Change = Box<dyn Fn(&mut EndState)>;

    #[test]
    fn the_same_end_state_violates_nothing_and_each_loss_or_duplicate_is_named() {
        let r = reference();
        assert_eq!(violations(&r, &r), Vec::<String>::new());
        let cases: Vec<(&str, Change)> = vec![
            (
                "registrations",
                Box::new(|s| {
                    s.registrations.remove("r2");
                }),
            ),
            (
                "MeetMax people: r1 2 times",
                Box::new(|s| {
                    s.meetmax_people.insert("r1".into(), 2);
                }),
            ),
            (
                "MeetMax person r2 lost",
                Box::new(|s| {
                    s.meetmax_people.remove("r2");
                }),
            ),
            (
                "leads",
                Box::new(|s| {
                    s.leads.insert("l1".into(), 2);
                }),
            ),
            (
                "delivery l1/ice lost",
                Box::new(|s| {
                    s.deliveries.clear();
                }),
            ),
            (
                "vendor post ice/1 accepted 2 times",
                Box::new(|s| {
                    s.vendor_posts.insert("ice/1".into(), 2);
                }),
            ),
            ("2 confirmation e-mails", Box::new(|s| s.confirmation_emails = 2)),
            ("0 confirmation e-mails (0 waiting) for 1 integrations", Box::new(|s| s.confirmation_emails = 0)),
            ("export", Box::new(|s| s.export_emails = 2)),
        ];
        for (named, change) in cases {
            let mut run = reference();
            change(&mut run);
            let found = violations(&r, &run);
            assert!(found.iter().any(|v| v.contains(named)), "{named}: {found:?}");
        }
        // Held with a reason is not a loss; held without one, or still waiting, is.
        let mut held = reference();
        held.deliveries.insert("l1/ice".into(), "unknown_outcome".into());
        held.deliveries_held.insert("l1/ice".into(), "the answer was lost".into());
        held.confirmation_emails = 0;
        assert_eq!(violations(&r, &held), Vec::<String>::new());
        held.deliveries_held.insert("l1/ice".into(), String::new());
        assert!(violations(&r, &held).iter().any(|v| v.contains("without a reason")));
        let mut waiting = reference();
        waiting.confirmation_emails = 0;
        waiting.confirmations_unsent = 1;
        assert_eq!(violations(&r, &waiting), Vec::<String>::new(), "a claimed confirmation is sent later");
        let mut refused = reference();
        refused.meetmax_people.remove("r2");
        refused.meetmax_held.insert("r2".into(), "MeetMax refused the e-mail".into());
        assert_eq!(violations(&r, &refused), Vec::<String>::new());
    }
}
