//! Exports: every subscription with today's report (state, link, e-mail); a subscription's
//! history, a rerun for a date and a resent e-mail; its template edited with a check against
//! the lander's fields and a preview of the first rows as the report will show them.
//!
//! Each action calls what spreadsheet-export's command calls.

use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    response::Response,
};
use chrono::NaiveDate;
use platform_export::{ExportError, preview::TemplatePreview};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    App, ConsoleError, audit,
    pages::Notice,
    session::{Person, Role},
    web::{Chrome, done, enc, render},
};

fn export_error(e: ExportError) -> ConsoleError {
    match e {
        ExportError::Config(m) => ConsoleError::BadRequest(m),
        ExportError::Warehouse(w) => ConsoleError::Warehouse(w),
        other => ConsoleError::Aws(other.to_string()),
    }
}

/// One report (a subscription's export of one date).
#[derive(Debug, Clone)]
pub struct ReportLine {
    /// The report date.
    pub date: String,
    /// `planned`, `running`, `done`, `failed`, `refused` (or `not planned`).
    pub status: String,
    /// Rows written.
    pub rows: String,
    /// The presigned link while it lives.
    pub url: Option<String>,
    /// E-mailed when, or why not.
    pub emailed: String,
    /// The error or refusal.
    pub error: String,
}

/// One subscription with today's report.
#[derive(Debug, Clone)]
pub struct SubscriptionLine {
    /// Id.
    pub id: String,
    /// Lander.
    pub lander: String,
    /// Client.
    pub client: String,
    /// Template id (or `generic`).
    pub template: String,
    /// Recipients.
    pub recipients: String,
    /// `all` or `since_previous`, and the time zone.
    pub scope: String,
    /// Enabled.
    pub enabled: bool,
    /// Today's report.
    pub today: ReportLine,
}

const REPORT_COLUMNS: &str = "to_char(e.report_date, 'YYYY-MM-DD'), coalesce(e.status, 'not planned'),
    coalesce(e.row_count::text, ''), CASE WHEN e.url_expires_at > now() THEN e.url END,
    CASE WHEN e.emailed_at IS NOT NULL THEN 'e-mailed ' || to_char(e.emailed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'
         WHEN e.status = 'done' THEN 'not e-mailed' ELSE '' END,
    coalesce(e.error, '')";

fn report(r: &platform_warehouse::tokio_postgres::Row, at: usize) -> ReportLine {
    ReportLine {
        date: r.get::<_, Option<String>>(at).unwrap_or_default(),
        status: r.get(at + 1),
        rows: r.get(at + 2),
        url: r.get(at + 3),
        emailed: r.get(at + 4),
        error: r.get(at + 5),
    }
}

async fn subscription_lines(app: &App, only: Option<&str>) -> Result<Vec<SubscriptionLine>, ConsoleError> {
    let db = app.warehouse.conn().await?;
    let rows = db
        .query(
            &format!(
                "SELECT s.id, l.name, c.name, coalesce(s.template_id, 'generic'), array_to_string(s.recipients, ', '),
                        s.scope || ' · ' || s.time_zone, s.enabled, {REPORT_COLUMNS}
                   FROM leads.export_subscription s
                   JOIN leads.lander l ON l.id = s.lander_id
                   JOIN leads.client c ON c.id = s.client_id
                   LEFT JOIN leads.export e ON e.subscription_id = s.id AND e.report_date = (now() AT TIME ZONE 'UTC')::date
                  WHERE $1::text IS NULL OR s.id = $1
                  ORDER BY s.id"
            ),
            &[&only],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| SubscriptionLine {
            id: r.get(0),
            lander: r.get(1),
            client: r.get(2),
            template: r.get(3),
            recipients: r.get(4),
            scope: r.get(5),
            enabled: r.get(6),
            today: report(r, 7),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsPage {
    chrome: Chrome,
    notice: Option<String>,
    today: String,
    subscriptions: Vec<SubscriptionLine>,
}

fn today() -> String {
    chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string()
}

/// `GET /exports`.
pub async fn list(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let subscriptions = subscription_lines(&app, None).await?;
    Ok(render(&ExportsPage {
        chrome: Chrome::new("Exports", &person, "exports"),
        notice: n.notice,
        today: today(),
        subscriptions,
    }))
}

#[derive(Template)]
#[template(path = "subscription.html")]
struct SubscriptionPage {
    chrome: Chrome,
    notice: Option<String>,
    today: String,
    s: SubscriptionLine,
    history: Vec<ReportLine>,
    /// A report is planned or being written: the page follows it.
    busy: bool,
    template_id: Option<String>,
    /// Subscriptions that use the template (a save changes each one's report).
    shared_by: i64,
    definition: String,
    preview: Option<Result<TemplatePreview, String>>,
}

/// Rows a template preview shows.
const PREVIEW_ROWS: i64 = 10;

async fn subscription_page(
    app: &App,
    person: &Person,
    id: &str,
    notice: Option<String>,
    draft: Option<(String, Option<Result<TemplatePreview, String>>)>,
) -> Result<Response, ConsoleError> {
    let s = subscription_lines(app, Some(id))
        .await?
        .pop()
        .ok_or_else(|| ConsoleError::NotFound(format!("no export subscription {id:?}")))?;
    let db = app.warehouse.conn().await?;
    let history: Vec<ReportLine> = db
        .query(
            &format!(
                "SELECT {REPORT_COLUMNS} FROM leads.export e WHERE e.subscription_id = $1
                  ORDER BY e.report_date DESC LIMIT 30"
            ),
            &[&id],
        )
        .await?
        .iter()
        .map(|r| report(r, 0))
        .collect();
    let template = db
        .query_opt(
            "SELECT t.id, t.definition FROM leads.export_subscription s
               JOIN leads.export_template t ON t.id = s.template_id WHERE s.id = $1",
            &[&id],
        )
        .await?;
    drop(db);
    let template_id: Option<String> = template.as_ref().map(|t| t.get(0));
    let shared_by: i64 = match &template_id {
        Some(t) => app
            .warehouse
            .conn()
            .await?
            .query_one("SELECT count(*) FROM leads.export_subscription WHERE template_id = $1", &[t])
            .await?
            .get(0),
        None => 0,
    };
    let stored = template.map(|t| serde_json::to_string_pretty(&t.get::<_, Value>(1)).unwrap_or_default());
    let (definition, preview) = match draft {
        Some((text, preview)) => (text, preview),
        None => {
            let preview = if s.enabled {
                Some(app.services.exports.template_preview(id, None, PREVIEW_ROWS).await.map_err(export_error)?)
            } else {
                None
            };
            (stored.unwrap_or_default(), preview)
        }
    };
    Ok(render(&SubscriptionPage {
        chrome: Chrome::new(format!("Export {id}"), person, "exports"),
        notice,
        today: today(),
        busy: history.iter().any(|r| r.status == "planned" || r.status == "running"),
        s,
        history,
        template_id,
        shared_by,
        definition,
        preview,
    }))
}

/// `GET /exports/{id}`.
pub async fn subscription(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    subscription_page(&app, &person, &id, n.notice, None).await
}

/// A report date.
#[derive(Debug, Deserialize)]
pub struct DateForm {
    /// `YYYY-MM-DD`.
    pub date: String,
}

fn date(s: &str) -> Result<NaiveDate, ConsoleError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ConsoleError::BadRequest(format!("{s:?} is not a date (YYYY-MM-DD): nothing was done")))
}

/// `POST /exports/{id}/rerun`: the report of that date planned again for spreadsheet-export
/// (which has the memory and disk a large report needs): its object is overwritten, its
/// recipients are not e-mailed twice. The page follows its state.
pub async fn rerun(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<String>,
    Form(form): Form<DateForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let day = date(&form.date)?;
    let result = app.services.exports.plan_for(day, Some(&id)).await;
    let outcome = match &result {
        Ok(p) => match p.refused.first() {
            Some(r) => format!("refused: {}", r.error),
            None => "queued for spreadsheet-export".to_owned(),
        },
        Err(e) => format!("failed: {e}"),
    };
    let parameters = json!({"date": form.date.trim()});
    audit::record_after(
        &app.warehouse,
        &person.email,
        "export rerun",
        &format!("subscription:{id}"),
        &parameters,
        &outcome,
    )
    .await?;
    result.map_err(export_error)?;
    Ok(done(&format!("/exports/{}", enc(&id)), &format!("{day}: {outcome}")))
}

/// `POST /exports/{id}/resend`: the written report's e-mail sent again to the recipients.
pub async fn resend(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<String>,
    Form(form): Form<DateForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let day = date(&form.date)?;
    let result = app.services.exports.resend(&id, day).await;
    let outcome = match &result {
        Ok(message) => format!("e-mailed (message {message})"),
        Err(e) => format!("failed: {e}"),
    };
    let parameters = json!({"date": form.date.trim()});
    audit::record_after(
        &app.warehouse,
        &person.email,
        "export resend",
        &format!("subscription:{id}"),
        &parameters,
        &outcome,
    )
    .await?;
    result.map_err(export_error)?;
    Ok(done(&format!("/exports/{}", enc(&id)), &format!("{day}: {outcome}")))
}

/// The template editor.
#[derive(Debug, Deserialize)]
pub struct TemplateForm {
    /// The definition (JSON).
    pub definition: String,
    /// `preview` or `save`.
    pub action: String,
}

/// `POST /exports/{id}/template`: the subscription's template as edited, previewed (its first
/// rows as the report will show them) or saved once it passes the check against the fields of
/// every lander that uses it.
pub async fn template(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<String>,
    Form(form): Form<TemplateForm>,
) -> Result<Response, ConsoleError> {
    let definition: Value = match serde_json::from_str(form.definition.trim()) {
        Ok(v) => v,
        Err(e) => {
            let why = format!("the template is not JSON ({e})");
            return subscription_page(&app, &person, &id, None, Some((form.definition, Some(Err(why))))).await;
        }
    };
    if form.action != "save" {
        let preview =
            app.services.exports.template_preview(&id, Some(&definition), PREVIEW_ROWS).await.map_err(export_error)?;
        return subscription_page(&app, &person, &id, None, Some((form.definition, Some(preview)))).await;
    }
    person.require(Role::Operator)?;
    let template_id: String = {
        let db = app.warehouse.conn().await?;
        db.query_opt(
            "SELECT template_id FROM leads.export_subscription WHERE id = $1 AND template_id IS NOT NULL",
            &[&id],
        )
        .await?
        .map(|r| r.get(0))
        .ok_or_else(|| ConsoleError::BadRequest(format!("{id} uses the generic template, which has nothing to edit")))?
    };
    if let Err(why) = app.services.exports.check_template(&template_id, &definition).await.map_err(export_error)? {
        let why = format!("{why}: nothing was saved");
        return subscription_page(&app, &person, &id, None, Some((form.definition, Some(Err(why))))).await;
    }
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    audit::acting_as(&tx, &person.email).await?;
    tx.execute(
        "UPDATE leads.export_template SET definition = $2, updated_at = now() WHERE id = $1",
        &[&template_id, &definition],
    )
    .await?;
    audit::record(
        &tx,
        &person.email,
        "export template",
        &format!("template:{template_id}"),
        &json!({"subscription": id}),
        None,
        Some(&definition),
        "saved",
    )
    .await?;
    tx.commit().await?;
    Ok(done(&format!("/exports/{}", enc(&id)), &format!("template {template_id} saved")))
}
