//! operator-console: the operators' web console. Server-rendered pages (askama templates, which
//! escape every value), htmx served from the binary, forms that work without JavaScript.
//!
//! Every request but sign-in and the assets needs a session ([`guard`]); every state change is
//! a POST from this origin carrying the session's anti-forgery token, made by an operator or
//! admin, and recorded in `console.audit` in the same transaction ([`audit`]). Each action
//! calls the operation its JSON command or workbook calls (company review: the dedupe service's
//! decisions; resync: the outbox message company-dedupe sends meetmax-sync).

pub mod audit;
pub mod guard;
pub mod oidc;
pub mod pages;
pub mod queues;
pub mod redact;
pub mod session;
pub mod settings;
pub mod web;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    routing::{get, post},
};
use platform_aws::SecretsCache;
use platform_dedupe::Dedupe;
use platform_runtime::Env;
use platform_warehouse::Warehouse;

pub use settings::{QueuePair, Settings};

/// Name of this function in logs and metrics.
pub const FUNCTION_NAME: &str = "operator-console";

/// What can go wrong answering a request (each shown as a page with its status).
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Configuration is missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The warehouse failed.
    #[error(transparent)]
    Warehouse(#[from] platform_warehouse::WarehouseError),
    /// An AWS service failed.
    #[error("{0}")]
    Aws(String),
    /// Signing in failed.
    #[error(transparent)]
    SignIn(#[from] oidc::OidcError),
    /// The person may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing by that name.
    #[error("{0}")]
    NotFound(String),
    /// The request is wrong; nothing was changed.
    #[error("{0}")]
    BadRequest(String),
}

platform_warehouse::impl_from_db_error!(ConsoleError);

impl From<platform_aws::AwsError> for ConsoleError {
    fn from(e: platform_aws::AwsError) -> Self {
        ConsoleError::Aws(e.to_string())
    }
}

impl From<platform_dedupe::DedupeError> for ConsoleError {
    fn from(e: platform_dedupe::DedupeError) -> Self {
        match e {
            platform_dedupe::DedupeError::Warehouse(w) => ConsoleError::Warehouse(w),
            other => ConsoleError::Aws(other.to_string()),
        }
    }
}

/// The services whose operations the console's actions call, each as its function builds it.
pub struct Services {
    /// company-dedupe: review decisions and the pass that releases them.
    pub dedupe: Dedupe,
    /// formstack-intake: stored submissions mapped again (its `remap` command).
    pub intake: platform_intake::Intake,
    /// connector-pull: previews, queued pulls, confirmed removals.
    pub connectors: platform_connectors::Connectors,
    /// session-register: the two-way registration an operator tests.
    pub registrar: platform_connectors::register::Registrar,
    /// lead-delivery: test leads, redeliveries, integration states.
    pub leads: platform_leads::Leads,
    /// spreadsheet-export: reruns and resent e-mails.
    pub exports: platform_export::Exporter,
    /// SQS: depths, dead messages, redrive.
    pub sqs: aws_sdk_sqs::Client,
    /// Secrets Manager through the cache (the app client's secret; credentials written).
    pub secrets: SecretsCache,
}

/// The settings of the services the console calls, as their functions read them.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// connector-pull's.
    pub connectors: platform_connectors::Settings,
    /// lead-delivery's.
    pub leads: platform_leads::Settings,
    /// spreadsheet-export's.
    pub exports: platform_export::Settings,
    /// S3 with path-style addresses (moto locally).
    pub s3_path_style: bool,
}

impl ServiceSettings {
    /// From the environment: each service's own variables (`CONNECTOR_*`, `LEAD_*`,
    /// `EXPORT_*`) and `S3_FORCE_PATH_STYLE`.
    pub fn from_env(env: &Env) -> Result<ServiceSettings, ConsoleError> {
        let cfg = |e: String| ConsoleError::Config(e);
        Ok(ServiceSettings {
            connectors: platform_connectors::Settings::from_env(env).map_err(|e| cfg(format!("connectors: {e}")))?,
            leads: platform_leads::Settings::from_env(env).map_err(|e| cfg(format!("leads: {e}")))?,
            exports: platform_export::Settings::from_env(env).map_err(|e| cfg(format!("exports: {e}")))?,
            s3_path_style: env.flag("S3_FORCE_PATH_STYLE", false).map_err(|e| cfg(e.to_string()))?,
        })
    }
}

impl Services {
    /// The services over one warehouse pool (the dedupe service's) and one secrets cache: a
    /// credential written through the console is what the next call reads.
    pub fn over(
        dedupe: Dedupe,
        mut intake: platform_intake::Intake,
        secrets: SecretsCache,
        sdk: &platform_aws::SdkConfig,
        settings: ServiceSettings,
    ) -> Result<Services, ConsoleError> {
        let warehouse = dedupe.warehouse.clone();
        intake.warehouse = warehouse.clone();
        let sender = || Some(platform_aws::SqsSender::new(aws_sdk_sqs::Client::new(sdk)));
        let s3 = platform_aws::s3::client(sdk, settings.s3_path_style);
        let ses = platform_aws::ses::Client::new(sdk);
        let connectors = platform_connectors::Connectors::new(
            warehouse.clone(),
            secrets.clone(),
            sender(),
            Some(s3.clone()),
            settings.connectors,
        )
        .map_err(|e| ConsoleError::Config(format!("connectors: {e}")))?;
        // The app keys are never read: an operator's test registration is authenticated here.
        let registrar =
            platform_connectors::register::Registrar::new(warehouse.clone(), secrets.clone(), String::new())
                .map_err(|e| ConsoleError::Config(format!("registrar: {e}")))?;
        let leads = platform_leads::Leads::new(
            warehouse.clone(),
            secrets.clone(),
            sender(),
            Some(ses.clone()),
            Some(s3.clone()),
            settings.leads,
        )
        .map_err(|e| ConsoleError::Config(format!("leads: {e}")))?;
        let exports = platform_export::Exporter::new(warehouse, sender(), s3, Some(ses), settings.exports)
            .with_secrets(secrets.clone());
        Ok(Services {
            dedupe,
            intake,
            connectors,
            registrar,
            leads,
            exports,
            sqs: aws_sdk_sqs::Client::new(sdk),
            secrets,
        })
    }
}

/// The console's parts, built once per container.
pub struct Console {
    /// Its settings.
    pub settings: Settings,
    /// The warehouse (as the console's role when `DATABASE_ROLE` is set): the services' pool.
    pub warehouse: Warehouse,
    /// The services its actions call.
    pub services: Services,
    /// The OpenID Connect issuer.
    pub issuer: oidc::Issuer,
    /// Today's latest picture.
    pub today: pages::today::Latest,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// The shared handle every handler gets.
pub type App = Arc<Console>;

impl Console {
    /// Builds the console from the environment: [`Settings::from_env`], the warehouse variables,
    /// and each service's own variables, as its function reads them: company-dedupe's
    /// (`MEETMAX_QUEUE_URL`, `REVIEW_BUCKET`), formstack-intake's (`FORMSTACK_SECRET_ID`,
    /// `DEDUPE_QUEUE_URL`, `LEAD_QUEUE_URL`; the console never reads the Formstack secret: a
    /// remap calls no vendor), connector-pull's (`CONNECTOR_QUEUE_URL`, `CONNECTOR_BUCKET`),
    /// lead-delivery's (`LEAD_*`) and spreadsheet-export's (`EXPORT_*`). session-register's app
    /// keys are never read: an operator's test registration is authenticated by the console.
    pub async fn from_env(env: &Env) -> Result<Console, ConsoleError> {
        let settings = Settings::from_env(env)?;
        let cfg = |e: String| ConsoleError::Config(e);
        let dedupe = Dedupe::from_env(env).await?;
        let intake = platform_intake::Intake::from_env(env).await.map_err(|e| cfg(e.to_string()))?;
        let secret_ttl = env.parse_or("SECRET_TTL_SECONDS", 300u64).map_err(|e| cfg(e.to_string()))?;
        let sdk = platform_aws::sdk_config().await;
        let secrets = SecretsCache::new(platform_aws::secrets::Client::new(&sdk), Duration::from_secs(secret_ttl));
        let services = Services::over(dedupe, intake, secrets, &sdk, ServiceSettings::from_env(env)?)?;
        Console::new(settings, services)
    }

    /// Builds the console from its parts (the warehouse is the dedupe service's).
    pub fn new(settings: Settings, services: Services) -> Result<Console, ConsoleError> {
        let issuer = oidc::Issuer::new(&settings.issuer, &settings.client_id, &settings.groups_claim)?;
        let today = pages::today::Latest::default();
        Ok(Console { warehouse: services.dedupe.warehouse.clone(), settings, services, issuer, today })
    }

    /// The app client's secret, when the client is confidential.
    pub async fn client_secret(&self) -> Result<Option<String>, ConsoleError> {
        let Some(id) = &self.settings.client_secret_id else { return Ok(None) };
        let secret = self.services.secrets.get(id).await?;
        secret
            .field("client_secret")
            .map(Some)
            .ok_or_else(|| ConsoleError::Config(format!("secret {id} has no client_secret")))
    }

    /// `operator-console redrive <queue>`: the console's redrive, from a terminal.
    pub async fn redrive_from_terminal(&self, queue: &str, actor: &str) -> Result<String, ConsoleError> {
        let pair = self
            .settings
            .queue(queue)
            .ok_or_else(|| ConsoleError::NotFound(format!("no queue {queue:?} in CONSOLE_QUEUES")))?
            .clone();
        let outcome = queues::redrive(self, &pair, actor).await?;
        Ok(outcome.to_string())
    }
}

/// The console's routes, behind the session guard and the security headers.
pub fn router(console: Console) -> Router {
    let app: App = Arc::new(console);
    let signed_in = Router::new()
        .route("/", get(pages::today::page))
        .route("/runs", get(pages::runs::page))
        .route("/trail", get(pages::trail::search))
        .route("/trail/{registration_id}", get(pages::trail::page))
        .route("/trail/{registration_id}/{action}", post(pages::trail::act))
        .route("/review", get(pages::review::page).post(pages::review::decide))
        .route("/review/workbook", post(pages::review::write_workbook))
        .route("/queues", get(pages::queues::page))
        .route("/queues/{name}", get(pages::queues::dead))
        .route("/queues/{name}/redrive", get(pages::queues::confirm).post(pages::queues::redrive))
        .route("/connectors", get(pages::connectors::list))
        .route("/connectors/{name}", get(pages::connectors::page))
        .route("/connectors/{name}/progress", get(pages::connectors::progress))
        .route("/connectors/{name}/credentials", post(pages::connectors::credentials))
        .route("/connectors/{name}/preview", post(pages::connectors::preview))
        .route("/connectors/{name}/settings", post(pages::connectors::settings))
        .route("/connectors/{name}/pull", post(pages::connectors::pull))
        .route("/connectors/{name}/register-test", post(pages::connectors::register_test))
        .route("/connectors/{name}/streams/{stream}", post(pages::connectors::stream_settings))
        .route(
            "/connectors/{name}/streams/{stream}/removal",
            get(pages::connectors::removal).post(pages::connectors::confirm_removal),
        )
        .route("/leads", get(pages::leads::list))
        .route("/leads/{id}", get(pages::leads::lead))
        .route("/leads/{id}/redeliver", post(pages::leads::redeliver_one))
        .route("/leads/integrations", post(pages::leads::create_integration))
        .route("/leads/integrations/{id}", get(pages::leads::integration).post(pages::leads::save_integration))
        .route("/leads/integrations/{id}/credentials", post(pages::leads::credentials))
        .route("/leads/integrations/{id}/test", post(pages::leads::test_lead))
        .route(
            "/leads/integrations/{id}/redeliver",
            get(pages::leads::redeliver_preview).post(pages::leads::redeliver_all),
        )
        .route("/leads/integrations/{id}/{action}", post(pages::leads::pause))
        .route("/exports", get(pages::exports::list))
        .route("/exports/{id}", get(pages::exports::subscription))
        .route("/exports/{id}/rerun", post(pages::exports::rerun))
        .route("/exports/{id}/resend", post(pages::exports::resend))
        .route("/exports/{id}/template", post(pages::exports::template))
        .route("/audit", get(pages::audit::page))
        .route("/admin", get(pages::admin::page))
        .route("/admin/people", post(pages::admin::set_person))
        .route("/admin/people/remove", post(pages::admin::remove_person))
        .route("/admin/sessions/revoke", post(pages::admin::revoke_session))
        .route("/logout", post(guard::logout))
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard::signed_in));
    Router::new()
        .merge(signed_in)
        .route("/login", get(guard::login))
        .route("/auth/callback", get(guard::callback))
        .route("/assets/{file}", get(web::asset))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn(web::security_headers))
        .with_state(app)
}
