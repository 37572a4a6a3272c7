//! The operator console served on loopback over a fresh warehouse (as its own database role),
//! moto's queues and bucket and the sandbox's OpenID Connect issuer; and a plain HTTP client
//! that signs in through the issuer as a browser would (following each redirect, keeping cookies).

use std::collections::HashMap;

use aws_config::SdkConfig;
use operator_console::{Console, QueuePair, Settings};
use platform_aws::{SecretsCache, SqsSender};
use platform_warehouse::Warehouse;
use vendor_sandbox::Sandbox;

use crate::{SEED_DEMO_SQL, TestDb, aws, new_queue};

/// The app client's id at the sandbox issuer.
pub const CLIENT_ID: &str = "operator-console-local";

/// A console under test.
pub struct ConsoleHarness {
    /// The warehouse (demo configuration seeded); its pool connects as the test's superuser.
    pub db: TestDb,
    /// The sandbox (the issuer).
    pub sandbox: Sandbox,
    /// moto.
    pub sdk: SdkConfig,
    /// The console's URL.
    pub url: String,
    /// The one queue pair it watches (`dedupe`).
    pub queue: QueuePair,
    /// The meetmax-sync queue releases go to.
    pub meetmax_queue: String,
    /// The review bucket (also the connectors' previews and the exports).
    pub bucket: String,
    /// The connector-pull queue pulls are queued to.
    pub connector_queue: String,
    /// The lead-delivery queue redeliveries are announced to.
    pub lead_queue: String,
    /// The spreadsheet-export queue reruns are planned to.
    pub export_queue: String,
}

/// The sender of the exports' e-mails (a verified identity in moto's SES).
pub const EXPORT_FROM: &str = "reports@agency.example";

impl ConsoleHarness {
    /// A console on a free port; its warehouse connections take the `platform_console` role.
    pub async fn start() -> ConsoleHarness {
        let db = TestDb::new().await;
        db.exec(SEED_DEMO_SQL).await;
        let sandbox = Sandbox::start_local().await.expect("sandbox starts");
        let mut aventri = vendor_sandbox::fixtures::aventri_demo_fixture();
        aventri.rate_per_minute = 6000;
        sandbox.load_aventri(aventri).await;
        sandbox.load_lenos(vendor_sandbox::fixtures::lenos_demo_fixture()).await;
        sandbox.load_leads(vendor_sandbox::fixtures::leads_demo_fixture()).await;
        let sdk = aws().await;
        // Secrets of this console's own (moto's Secrets Manager is shared by every test): the
        // Aventri credentials are entered through the console; Lenos's are stored.
        let run = uuid::Uuid::new_v4().simple().to_string();
        let lenos_secret = crate::new_secret(
            &sdk,
            &serde_json::json!({"endPoint": format!("{}/", sandbox.lenos_endpoint()),
                                "username": vendor_sandbox::fixtures::LENOS_USER,
                                "password": vendor_sandbox::fixtures::LENOS_PASSWORD,
                                "eventId": vendor_sandbox::fixtures::LENOS_EVENT}),
        )
        .await;
        db.exec(&format!(
            "UPDATE connector.connection SET secret_id = 'console-{run}/' || name WHERE name <> 'demo-lenos';
             UPDATE connector.connection SET secret_id = '{lenos_secret}' WHERE name = 'demo-lenos';
             UPDATE leads.integration SET endpoint = regexp_replace(endpoint, '^https?://[^/]+', '{}');",
            sandbox.url
        ))
        .await;
        let queue = QueuePair {
            name: "dedupe".into(),
            url: new_queue(&sdk, "console-main").await,
            dead_letter_url: new_queue(&sdk, "console-dead").await,
        };
        let meetmax_queue = new_queue(&sdk, "console-meetmax").await;
        let connector_queue = new_queue(&sdk, "console-connector").await;
        let lead_queue = new_queue(&sdk, "console-leads").await;
        let export_queue = new_queue(&sdk, "console-export").await;
        let ses = platform_aws::ses::Client::new(&sdk);
        ses.create_email_identity().email_identity(EXPORT_FROM).send().await.expect("an SES identity");
        let bucket = format!("console-{}", uuid::Uuid::new_v4().simple());
        platform_aws::s3::client(&sdk, true).create_bucket().bucket(&bucket).send().await.expect("create bucket");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let settings = Settings {
            public_url: url.clone(),
            issuer: sandbox.oidc_issuer(),
            client_id: CLIENT_ID.into(),
            client_secret_id: None,
            groups_claim: "cognito:groups".into(),
            session_ttl: std::time::Duration::from_secs(3600),
            queues: vec![queue.clone()],
        };
        let role_settings = db.settings.clone().with_role("platform_console").expect("a plain role name");
        let dedupe = platform_dedupe::Dedupe {
            warehouse: Warehouse::new(&role_settings).expect("a pool as the console's role"),
            sqs: SqsSender::new(aws_sdk_sqs::Client::new(&sdk)),
            meetmax_queue_url: meetmax_queue.clone(),
            s3: platform_aws::s3::client(&sdk, true),
            review_bucket: Some(bucket.clone()),
        };
        let secrets = SecretsCache::new(platform_aws::secrets::Client::new(&sdk), std::time::Duration::from_secs(60));
        let intake_settings = platform_intake::IntakeSettings::from_env(&platform_runtime::Env::from_pairs([
            ("FORMSTACK_SECRET_ID", "console-never-reads-it"),
            ("FORMSTACK_API_URL", sandbox.formstack_api_url().as_str()),
            ("DEDUPE_QUEUE_URL", queue.url.as_str()),
        ]))
        .expect("intake settings");
        let intake = crate::build_intake(intake_settings, dedupe.warehouse.clone(), &sdk);
        // The services built as the deployed console builds them, from its environment.
        let env = platform_runtime::Env::from_pairs([
            ("CONNECTOR_QUEUE_URL", connector_queue.as_str()),
            ("CONNECTOR_BUCKET", bucket.as_str()),
            ("CONNECTOR_TIMEOUT_SECONDS", "5"),
            ("LEAD_QUEUE_URL", lead_queue.as_str()),
            ("LEAD_TIMEOUT_SECONDS", "5"),
            ("LEAD_CLAIM_SECONDS", "30"),
            ("LEAD_SECRET_PREFIX", "test/"),
            ("EXPORT_QUEUE_URL", export_queue.as_str()),
            ("EXPORT_BUCKET", bucket.as_str()),
            ("EXPORT_EMAIL_FROM", EXPORT_FROM),
            ("EXPORT_LINK_SECONDS", "3600"),
            ("S3_FORCE_PATH_STYLE", "true"),
        ]);
        let service_settings = operator_console::ServiceSettings::from_env(&env).expect("the services' settings");
        let services = operator_console::Services::over(dedupe, intake, secrets, &sdk, service_settings)
            .expect("the console's services");
        // The integrations' states, as lead-delivery's schedule keeps them.
        services.leads.refresh_states().await.expect("the integrations' states");
        let console = Console::new(settings, services).expect("console");
        tokio::spawn(async move {
            axum_serve(listener, operator_console::router(console)).await;
        });
        ConsoleHarness {
            db,
            sandbox,
            sdk,
            url,
            queue,
            meetmax_queue,
            bucket,
            connector_queue,
            lead_queue,
            export_queue,
        }
    }

    /// spreadsheet-export as deployed beside the console: the jobs the console plans are its.
    pub fn exporter(&self) -> platform_export::Exporter {
        export_service(self.db.warehouse.clone(), &self.sdk, &self.bucket, &self.export_queue)
    }

    /// connector-pull's handler run on the pulls waiting in its queue, until none is left.
    pub async fn run_connector_jobs(&self) {
        let secrets =
            SecretsCache::new(platform_aws::secrets::Client::new(&self.sdk), std::time::Duration::from_secs(1));
        let service =
            connector_service(self.db.warehouse.clone(), secrets, &self.sdk, &self.bucket, &self.connector_queue);
        let mut ran = 0;
        loop {
            let bodies = crate::drain_bodies(&self.sdk, &self.connector_queue).await;
            if bodies.is_empty() {
                break;
            }
            let deadline = platform_runtime::Deadline::none();
            let answer = connector_pull::handle_batch(&service, crate::sqs_event(&bodies), deadline).await;
            assert!(answer.batch_item_failures.is_empty(), "every pull ran");
            ran += bodies.len();
        }
        assert!(ran > 0, "a pull waited for connector-pull");
    }

    /// spreadsheet-export's handler run on every job waiting in its queue.
    pub async fn run_export_jobs(&self) {
        let bodies = crate::drain_bodies(&self.sdk, &self.export_queue).await;
        assert!(!bodies.is_empty(), "a job waits for spreadsheet-export");
        let answer = spreadsheet_export::handle_batch(&self.exporter(), crate::sqs_event(&bodies)).await;
        assert!(answer.batch_item_failures.is_empty(), "every job ran");
    }

    /// A browser-like client signed in as `email` (whose groups the sandbox issuer decides).
    pub async fn sign_in(&self, email: &str) -> Visitor {
        let mut v = Visitor::new(&self.url);
        let answer = v.sign_in(&self.sandbox, email).await;
        assert_eq!(answer.status, 303, "{email} signs in: {}", answer.body);
        v
    }
}

/// connector-pull's service over `warehouse`: the harness's bucket and queue.
fn connector_service(
    warehouse: Warehouse,
    secrets: SecretsCache,
    sdk: &SdkConfig,
    bucket: &str,
    queue: &str,
) -> platform_connectors::Connectors {
    platform_connectors::Connectors::new(
        warehouse,
        secrets,
        Some(SqsSender::new(aws_sdk_sqs::Client::new(sdk))),
        Some(platform_aws::s3::client(sdk, true)),
        platform_connectors::Settings {
            queue_url: Some(queue.to_owned()),
            bucket: Some(bucket.to_owned()),
            link_ttl: std::time::Duration::from_secs(3600),
            timeout: std::time::Duration::from_secs(5),
            max_pages: None,
        },
    )
    .expect("connectors")
}

/// spreadsheet-export's service over `warehouse`: the harness's bucket, queue and sender.
fn export_service(warehouse: Warehouse, sdk: &SdkConfig, bucket: &str, queue: &str) -> platform_export::Exporter {
    platform_export::Exporter::new(
        warehouse,
        Some(SqsSender::new(aws_sdk_sqs::Client::new(sdk))),
        platform_aws::s3::client(sdk, true),
        Some(platform_aws::ses::Client::new(sdk)),
        platform_export::Settings {
            queue_url: Some(queue.to_owned()),
            bucket: bucket.to_owned(),
            link: std::time::Duration::from_secs(3600),
            email_from: Some(EXPORT_FROM.into()),
            scratch: std::env::temp_dir(),
            claim: std::time::Duration::from_secs(60),
            fetch_rows: 500,
            part_bytes: 5 * 1024 * 1024,
            link_signer_secret: None,
        },
    )
}

async fn axum_serve(listener: tokio::net::TcpListener, app: axum::Router) {
    axum::serve(listener, app).await.expect("the console serves");
}

/// An answer: status, headers (lower-case names) and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers (a name may repeat).
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Answer {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A client that keeps cookies per origin-less name (one console) and never follows redirects
/// by itself.
pub struct Visitor {
    /// The console's URL.
    pub base: String,
    http: reqwest::Client,
    /// Cookies by name.
    pub cookies: HashMap<String, String>,
}

impl Visitor {
    /// A visitor with no cookies.
    pub fn new(base: &str) -> Visitor {
        let http = platform_vendors::tls::client_builder()
            .unwrap()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Visitor { base: base.to_owned(), http, cookies: HashMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn answer(&mut self, response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        for (k, v) in &headers {
            if k == "set-cookie"
                && let Some((name, rest)) = v.split_once('=')
            {
                let value = rest.split(';').next().unwrap_or("").to_owned();
                if value.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value);
                }
            }
        }
        Answer { status, headers, body: response.text().await.unwrap_or_default() }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) }
    }

    /// GET `path` (a console path, or a whole URL).
    pub async fn get(&mut self, path: &str) -> Answer {
        let r = self.http.get(self.url(path)).header("cookie", self.cookie_header()).send().await.expect("GET");
        self.answer(r).await
    }

    /// POST a form to `path` as a same-origin browser form would (`Origin` is the console's).
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let origin = self.base.clone();
        self.post_with(path, form, &[("origin", origin.as_str())]).await
    }

    /// POST a form with these extra headers.
    pub async fn post_with(&mut self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Answer {
        let mut req = self.http.post(self.url(path)).header("cookie", self.cookie_header()).form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.expect("POST");
        self.answer(r).await
    }

    /// The anti-forgery token of a page the visitor was shown.
    pub fn csrf_of(page: &Answer) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = page.body.find(marker).expect("the page carries the anti-forgery token") + marker.len();
        page.body[start..].split('"').next().unwrap().to_owned()
    }

    /// Signs in through the sandbox issuer's page as `email`; returns the console's last answer
    /// (303 to the page asked for, when it worked).
    pub async fn sign_in(&mut self, sandbox: &Sandbox, email: &str) -> Answer {
        let login = self.get("/login").await;
        assert_eq!(login.status, 303, "the console sends the browser to the issuer: {}", login.body);
        let authorize = login.header("location").expect("a location").to_owned();
        let page = self.get(&authorize).await;
        assert_eq!(page.status, 200, "the issuer's sign-in page: {}", page.body);
        let query: Vec<(String, String)> =
            reqwest::Url::parse(&authorize).unwrap().query_pairs().into_owned().collect();
        let mut form: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        form.push(("email", email));
        let signed = self
            .http
            .post(format!("{}/authorize", sandbox.oidc_issuer()))
            .form(&form)
            .send()
            .await
            .expect("POST to the issuer");
        let back =
            signed.headers().get("location").expect("the issuer sends the browser back").to_str().unwrap().to_owned();
        self.get(&back).await
    }
}
