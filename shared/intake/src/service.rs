//! The intake service: its dependencies, made once per container, and the operations the
//! function's handler calls.

use std::time::Duration;

use platform_aws::{SecretsCache, SqsSender};
use platform_runtime::Env;
use platform_vendors::{RetryPolicy, VendorClient, formstack::FormstackClient};
use platform_warehouse::{Warehouse, raw::Source, runs};
use uuid::Uuid;

use crate::{
    FUNCTION_NAME, IntakeError, IntakeSettings,
    ingest::{self, Incoming, IngestReport},
    publish,
};

/// Everything formstack-intake needs; build once per container and reuse across invocations.
#[derive(Debug, Clone)]
pub struct Intake {
    /// Settings from the environment.
    pub settings: IntakeSettings,
    /// The warehouse pool.
    pub warehouse: Warehouse,
    /// Secrets cache.
    pub secrets: SecretsCache,
    /// SQS sender.
    pub sqs: SqsSender,
    /// Formstack client.
    pub formstack: FormstackClient,
}

impl Intake {
    /// Builds the service from the environment: settings, AWS clients, the Formstack client and
    /// the warehouse (`DATABASE_URL`, or the RDS-style secret named by `DATABASE_SECRET_ID`).
    pub async fn from_env(env: &Env) -> Result<Intake, IntakeError> {
        let settings = IntakeSettings::from_env(env).map_err(|e| IntakeError::Config(e.to_string()))?;
        let platform_aws::Foundation { sdk, secrets, warehouse } =
            platform_aws::Foundation::from_env(|name| env.optional(name), settings.secret_ttl, 2).await?;
        let sqs = SqsSender::new(aws_sdk_sqs(&sdk));
        let http = VendorClient::new("formstack", settings.http_timeout, RetryPolicy::default())?;
        let formstack = FormstackClient::new(http, &settings.formstack_api_url);
        Ok(Intake { settings, warehouse, secrets, sqs, formstack })
    }

    /// Ingests `items` and writes one run record for it.
    pub(crate) async fn ingest_and_record(
        &self,
        source: Source,
        verified: bool,
        run_id: Uuid,
        trigger: &str,
        items: Vec<Incoming>,
    ) -> Result<IngestReport, IntakeError> {
        let mut conn = self.warehouse.conn().await?;
        let report = runs::recorded(
            &mut conn,
            run_id,
            FUNCTION_NAME,
            trigger,
            async |conn| ingest::ingest(conn, source, verified, run_id, items, None).await,
            IngestReport::counts,
        )
        .await?;
        platform_runtime::metrics::emit(
            FUNCTION_NAME,
            trigger,
            &platform_runtime::metrics::Figures::of_run(&report.counts()),
        );
        Ok(report)
    }

    /// Maps stored submissions again (after a configuration fix, or left pending by a crash).
    pub async fn remap(&self, include_errors: bool, form_id: Option<&str>) -> Result<IngestReport, IntakeError> {
        let run_id = Uuid::now_v7();
        let mut conn = self.warehouse.conn().await?;
        let result = runs::recorded(
            &mut conn,
            run_id,
            FUNCTION_NAME,
            "remap",
            async |conn| ingest::remap(conn, run_id, include_errors, form_id, chrono::Utc::now()).await,
            IngestReport::counts,
        )
        .await;
        drop(conn);
        self.publish_quietly(run_id).await;
        if let Ok(report) = &result {
            platform_runtime::metrics::emit(
                FUNCTION_NAME,
                "remap",
                &platform_runtime::metrics::Figures::of_run(&report.counts()),
            );
        }
        result
    }

    /// Sends unsent outbox entries: registration ids to the dedupe queue and, when
    /// `LEAD_QUEUE_URL` is set, new leads of lander forms to lead-delivery. Returns how many ids
    /// were sent.
    pub async fn publish(&self, run_id: Uuid) -> Result<u64, IntakeError> {
        let mut conn = self.warehouse.conn().await?;
        let mut sent = publish::drain(&mut conn, &self.sqs, &self.settings.dedupe_queue_url, run_id).await?;
        if let Some(lead_queue) = &self.settings.lead_queue_url {
            sent += publish::drain_leads(&mut conn, &self.sqs, lead_queue, run_id).await?;
        }
        Ok(sent)
    }

    /// [`Intake::publish`], logging instead of failing: the rows are committed and the next
    /// invocation sends what is left.
    pub(crate) async fn publish_quietly(&self, run_id: Uuid) {
        if let Err(e) = self.publish(run_id).await {
            tracing::error!(error = %e, "outbox not drained; the next invocation will send it");
        }
    }
}

fn aws_sdk_sqs(sdk: &platform_aws::SdkConfig) -> platform_aws::sqs::Client {
    platform_aws::sqs::Client::new(sdk)
}

/// How long a raw row may stay `pending` before the scheduled sweep maps it.
pub const PENDING_GRACE: Duration = Duration::from_secs(300);
