//! Connectors: connections and their streams with their runs; credentials written to Secrets
//! Manager (never read back); the preview report in the page; connection and stream settings
//! checked before saving; pulls queued (full or not) with their progress; a refused removal
//! previewed and confirmed by typing its name; a test of the two-way registration.
//!
//! Each action calls what connector-pull's or session-register's command calls.

use std::collections::HashMap;

use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    response::Response,
};
use platform_connectors::{Provider, description::CredentialField, settings::ConnectionSettings};
use serde_json::{Map, Value, json};

use crate::{
    App, ConsoleError, audit,
    pages::Notice,
    session::{Person, Role},
    web::{Chrome, done, enc, render},
};

/// One pull's record, as the pages list it.
#[derive(Debug, Clone)]
pub struct RunLine {
    /// Run id.
    pub run_id: String,
    /// Stream.
    pub stream: String,
    /// Started (UTC).
    pub started: String,
    /// Finished (UTC), if it has.
    pub finished: String,
    /// `full` or `incremental`, and what started it.
    pub mode: String,
    /// Status.
    pub status: String,
    /// Counts: read, created, updated, unchanged, skipped, removed, failed.
    pub counts: String,
    /// Requests made.
    pub requests: i64,
    /// Removal, error and notes.
    pub detail: String,
    /// The manifest that pulled it (provider, version and digest).
    pub manifest: String,
}

const RUN_COLUMNS: &str = "run_id::text, stream, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
    coalesce(to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), ''), mode || ' · ' || trigger, status,
    format('%s read · %s new · %s changed · %s unchanged · %s skipped · %s removed · %s failed', read_count,
           created_count, updated_count, unchanged_count, skipped_count, removed_count, failed_count),
    requests, concat_ws(' · ', nullif(removal, ''), nullif(error, ''),
                        CASE WHEN notes <> '[]'::jsonb THEN notes::text END), coalesce(manifest, '')";

fn run_line(r: &platform_warehouse::tokio_postgres::Row) -> RunLine {
    RunLine {
        run_id: r.get(0),
        stream: r.get(1),
        started: r.get(2),
        finished: r.get(3),
        mode: r.get(4),
        status: r.get(5),
        counts: r.get(6),
        requests: r.get(7),
        detail: r.get(8),
        manifest: r.get(9),
    }
}

/// A stream, as the pages show it.
#[derive(Debug, Clone)]
pub struct StreamLine {
    /// Name.
    pub stream: String,
    /// Pulled (or written).
    pub enabled: bool,
    /// Whether pulls start here (others are fed by another stream).
    pub root: bool,
    /// Removal after complete full pulls.
    pub remove_outdated: bool,
    /// The removal guard's share.
    pub removal_max_share: f64,
    /// The configured mapping, pretty JSON.
    pub mapping: String,
    /// The description's default mapping (`target ← provider field`).
    pub defaults: Vec<String>,
    /// Start of the last successful pull.
    pub cursor: String,
    /// A full pull is asked for.
    pub full_requested: bool,
    /// The pull under way: `full`/`incremental`, position, started.
    pub pulling: Option<String>,
    /// The last error.
    pub last_error: String,
    /// The last run.
    pub last: Option<RunLine>,
    /// A refused removal waiting for an operator: would remove, of rows.
    pub pending_removal: Option<(i64, i64)>,
}

/// A connection, as the pages show it.
#[derive(Debug, Clone)]
pub struct ConnectionLine {
    /// Name.
    pub name: String,
    /// The provider's key.
    pub provider: String,
    /// The provider's name.
    pub display: String,
    /// Enabled.
    pub enabled: bool,
    /// Where its credentials are.
    pub secret_id: String,
    /// "set, last changed …" or "not set" (never a value).
    pub credentials: String,
    /// The provider manifest's contract (which public record, or which provisional contract, it
    /// was written from) and the manifest's version.
    pub version: String,
    /// The streams.
    pub streams: Vec<StreamLine>,
}

/// "set, last changed …" (with the required fields it still lacks, named, never shown),
/// "not set", or why it could not be told.
async fn credentials_state(app: &App, secret_id: &str, provider: Option<&Provider>) -> String {
    let changed = match crate::web::secret_state(&app.services.secrets, secret_id).await {
        Ok(set) => set,
        Err(state) => return state,
    };
    let Some(provider) = provider else { return changed };
    let missing: Vec<&str> = match app.services.secrets.get(secret_id).await {
        Ok(secret) => provider
            .credentials
            .iter()
            .filter(|f| f.required && platform_connectors::credentials::field(secret.json(), &f.name).is_none())
            .map(|f| f.name.as_str())
            .collect(),
        Err(_) => return changed,
    };
    if missing.is_empty() { changed } else { format!("{changed}; still missing: {}", missing.join(", ")) }
}

fn provider_of(key: &str) -> Option<&'static Provider> {
    platform_connectors::provider(key)
}

/// The connections (one, or all); `credentials`: with their credentials' state (Secrets
/// Manager's metadata), which the progress fragment leaves out.
async fn connection_lines(
    app: &App,
    only: Option<&str>,
    credentials: bool,
) -> Result<Vec<ConnectionLine>, ConsoleError> {
    let db = app.warehouse.conn().await?;
    let connections = db
        .query(
            "SELECT name, provider, enabled, secret_id FROM connector.connection
              WHERE $1::text IS NULL OR name = $1 ORDER BY name",
            &[&only],
        )
        .await?;
    let streams = db
        .query(
            &format!(
                "SELECT s.connection, s.stream, s.enabled, s.remove_outdated, s.removal_max_share::float8, s.mapping,
                        coalesce(to_char(s.cursor_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), 'never'),
                        s.full_requested, s.pull, coalesce(s.last_error, ''),
                        (SELECT ARRAY[p.would_remove, p.of_rows] FROM connector.pending_removal p
                          WHERE p.connection = s.connection AND p.stream = s.stream AND p.decided_at IS NULL
                          ORDER BY p.pull_started_at DESC LIMIT 1),
                        r.*
                   FROM connector.stream s
                   LEFT JOIN LATERAL (SELECT {RUN_COLUMNS} FROM connector.stream_run r
                                       WHERE r.connection = s.connection AND r.stream = s.stream
                                       ORDER BY started_at DESC LIMIT 1) r ON true
                  WHERE $1::text IS NULL OR s.connection = $1
                  ORDER BY s.connection, s.stream"
            ),
            &[&only],
        )
        .await?;
    drop(db);
    let mut out = Vec::new();
    for c in &connections {
        let (name, provider): (String, String) = (c.get(0), c.get(1));
        let spec = provider_of(&provider);
        let secret_id: String = c.get(3);
        let mut lines = Vec::new();
        for s in streams.iter().filter(|s| s.get::<_, String>(0) == name) {
            let stream: String = s.get(1);
            let stream_spec = spec.as_ref().and_then(|p| p.stream(&stream));
            let pull: Option<Value> = s.get(8);
            let last = s.get::<_, Option<String>>(11).map(|_| RunLine {
                run_id: s.get(11),
                stream: s.get(12),
                started: s.get(13),
                finished: s.get(14),
                mode: s.get(15),
                status: s.get(16),
                counts: s.get(17),
                requests: s.get(18),
                detail: s.get(19),
                manifest: s.get(20),
            });
            let pending: Option<Vec<i64>> = s.get(10);
            lines.push(StreamLine {
                root: stream_spec.is_some_and(|x| x.is_root()),
                defaults: stream_spec
                    .map(|x| x.default_mapping.iter().map(|(t, p)| format!("{t} ← {p}")).collect())
                    .unwrap_or_default(),
                stream,
                enabled: s.get(2),
                remove_outdated: s.get(3),
                removal_max_share: s.get(4),
                mapping: serde_json::to_string_pretty(&s.get::<_, Value>(5)).unwrap_or_default(),
                cursor: s.get(6),
                full_requested: s.get(7),
                pulling: pull.map(|p| {
                    let mode = if p["full"].as_bool() == Some(true) { "full" } else { "incremental" };
                    format!(
                        "{mode} pull under way: at record {} (run {})",
                        p["offset"],
                        p["run_id"].as_str().unwrap_or("")
                    )
                }),
                last_error: s.get(9),
                last,
                pending_removal: pending.filter(|p| p.len() == 2).map(|p| (p[0], p[1])),
            });
        }
        out.push(ConnectionLine {
            credentials: if credentials { credentials_state(app, &secret_id, spec).await } else { String::new() },
            version: spec.map(|p| format!("{} · manifest {}", p.contract, p.manifest_version())).unwrap_or_default(),
            display: spec.map_or_else(|| format!("unknown provider {provider:?}"), |p| p.display.to_owned()),
            name,
            provider,
            enabled: c.get(2),
            secret_id,
            streams: lines,
        });
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "connectors.html")]
struct ConnectorsPage {
    chrome: Chrome,
    notice: Option<String>,
    connections: Vec<ConnectionLine>,
}

/// `GET /connectors`.
pub async fn list(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let connections = connection_lines(&app, None, true).await?;
    Ok(render(&ConnectorsPage {
        chrome: Chrome::new("Connectors", &person, "connectors"),
        notice: n.notice,
        connections,
    }))
}

/// A setting the connection form edits: its key, label, current value and help.
#[derive(Debug, Clone)]
pub struct SettingField {
    /// Key in `connector.connection.settings`.
    pub key: String,
    /// Label.
    pub label: String,
    /// Current value (text; empty: not set).
    pub value: String,
    /// What it does.
    pub help: String,
}

/// The settings an operator edits in the form (the rest stay as they are, in SQL).
fn setting_fields(provider: &Provider, settings: &Value) -> Vec<SettingField> {
    let current = |key: &str| match settings.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for spec in &provider.streams {
        if let Some(rule) = &spec.status
            && !seen.contains(&rule.setting)
        {
            seen.push(rule.setting.clone());
            out.push(SettingField {
                key: rule.setting.clone(),
                label: format!("Active statuses ({})", spec.name),
                value: current(&rule.setting),
                help: format!(
                    "comma-separated; others are imported as cancelled (default: {})",
                    rule.default_active.join(", ")
                ),
            });
        }
    }
    if provider.streams.iter().any(|s| s.concurrent_sessions) {
        out.push(SettingField {
            key: "ConcurrentSessionsTitle".into(),
            label: "ConcurrentSessionsTitle".into(),
            value: current("ConcurrentSessionsTitle"),
            help: "title of the master session of sessions at the same time (empty: no master sessions)".into(),
        });
    }
    out.push(SettingField {
        key: "look_back_hours".into(),
        label: "Look-back (hours)".into(),
        value: current("look_back_hours"),
        help: "how far before the last successful pull an incremental pull starts (empty: the provider's default)"
            .into(),
    });
    out.push(SettingField {
        key: "look_back_minutes".into(),
        label: "Look-back (minutes)".into(),
        value: current("look_back_minutes"),
        help: "the same in minutes; when set, it wins over the hours".into(),
    });
    out.push(SettingField {
        key: "event_time_zone".into(),
        label: "Event time zone".into(),
        value: current("event_time_zone"),
        help: "IANA name (e.g. America/New_York) of session times given without an offset (empty: UTC)".into(),
    });
    out
}

/// A credential field of the form: its name, whether it is needed and what it is.
#[derive(Debug, Clone)]
pub struct CredentialInput {
    /// Its name in the secret.
    pub name: String,
    /// Needed.
    pub required: bool,
    /// Help.
    pub help: String,
}

fn credential_inputs(fields: &[CredentialField]) -> Vec<CredentialInput> {
    fields
        .iter()
        .map(|f| CredentialInput { name: f.name.clone(), required: f.required, help: f.help.clone() })
        .collect()
}

#[derive(Template)]
#[template(path = "connection.html")]
struct ConnectionPage {
    chrome: Chrome,
    notice: Option<String>,
    c: ConnectionLine,
    settings: Vec<SettingField>,
    problems: Vec<String>,
    credentials: Vec<CredentialInput>,
    first_contact: Vec<(String, String)>,
    runs: Vec<RunLine>,
    register_apps: Vec<String>,
}

async fn connection_line(app: &App, name: &str, credentials: bool) -> Result<ConnectionLine, ConsoleError> {
    connection_lines(app, Some(name), credentials)
        .await?
        .pop()
        .ok_or_else(|| ConsoleError::NotFound(format!("no connection named {name:?}")))
}

/// `GET /connectors/{name}`.
pub async fn page(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(name): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let c = connection_line(&app, &name, true).await?;
    let db = app.warehouse.conn().await?;
    let row =
        db.query_one("SELECT settings, first_contact FROM connector.connection WHERE name = $1", &[&name]).await?;
    let (settings, first_contact): (Value, Value) = (row.get(0), row.get(1));
    let runs = db
        .query(
            &format!(
                "SELECT {RUN_COLUMNS} FROM connector.stream_run WHERE connection = $1 ORDER BY started_at DESC LIMIT 30"
            ),
            &[&name],
        )
        .await?
        .iter()
        .map(run_line)
        .collect();
    let register_apps = db
        .query("SELECT app FROM connector.register_app WHERE connection = $1 AND enabled ORDER BY app", &[&name])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    drop(db);
    let provider = provider_of(&c.provider);
    let page = ConnectionPage {
        chrome: Chrome::new(format!("Connection {name}"), &person, "connectors"),
        notice: n.notice,
        settings: provider.as_ref().map(|p| setting_fields(p, &settings)).unwrap_or_default(),
        problems: ConnectionSettings::from_value(&settings).check(),
        credentials: provider.as_ref().map(|p| credential_inputs(&p.credentials)).unwrap_or_default(),
        first_contact: first_contact
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.get("note").and_then(Value::as_str).unwrap_or_default().to_owned()))
            .collect(),
        runs,
        register_apps,
        c,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "connector_progress.html")]
struct ProgressFragment {
    c: ConnectionLine,
}

/// `GET /connectors/{name}/progress`: the streams' pulls, refreshed by the page every few seconds.
pub async fn progress(State(app): State<App>, Path(name): Path<String>) -> Result<Response, ConsoleError> {
    Ok(render(&ProgressFragment { c: connection_line(&app, &name, false).await? }))
}

fn connector_error(e: platform_connectors::ConnectorError) -> ConsoleError {
    use platform_connectors::ConnectorError as E;
    match e {
        E::Config(m) => ConsoleError::BadRequest(m),
        E::NotFound(m) => ConsoleError::NotFound(m),
        E::Warehouse(w) => ConsoleError::Warehouse(w),
        E::Credentials(m) => ConsoleError::BadRequest(format!("the provider refused the credentials: {m}")),
        other => ConsoleError::Aws(other.to_string()),
    }
}

async fn provider_and_secret(app: &App, name: &str) -> Result<(&'static Provider, String), ConsoleError> {
    let db = app.warehouse.conn().await?;
    let row = db
        .query_opt("SELECT provider, secret_id FROM connector.connection WHERE name = $1", &[&name])
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no connection named {name:?}")))?;
    let provider: String = row.get(0);
    let p = provider_of(&provider).ok_or_else(|| ConsoleError::BadRequest(format!("unknown provider {provider:?}")))?;
    Ok((p, row.get(1)))
}

/// `POST /connectors/{name}/credentials`: the fields entered are written into the connection's
/// secret (blank fields keep their stored value) once the whole secret passes the provider's
/// checks; nothing is written otherwise. The values are never shown again.
pub async fn credentials(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(name): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let (provider, secret_id) = provider_and_secret(&app, &name).await?;
    let mut fields = Map::new();
    for f in &provider.credentials {
        if let Some(v) = form.get(&format!("cred.{}", f.name)).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            fields.insert(f.name.to_owned(), json!(v));
        }
    }
    if fields.is_empty() {
        return Err(ConsoleError::BadRequest("no credential was entered: nothing was written".into()));
    }
    let names: Vec<String> = fields.keys().cloned().collect();
    app.services
        .secrets
        .put_fields(&secret_id, fields, |whole| {
            platform_connectors::auth::Auth::from_secret(provider, whole).map(|_| ()).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| match e {
            platform_aws::secrets::PutError::Refused(why) => {
                ConsoleError::BadRequest(format!("{why}: nothing was written"))
            }
            platform_aws::secrets::PutError::Aws(e) => ConsoleError::from(e),
        })?;
    let parameters = json!({"secret_id": secret_id, "fields": names});
    audit::record_after(
        &app.warehouse,
        &person.email,
        "connector credentials",
        &format!("connection:{name}"),
        &parameters,
        "written",
    )
    .await?;
    Ok(done(&format!("/connectors/{}", enc(&name)), &format!("credentials written: {}", names.join(", "))))
}

#[derive(Template)]
#[template(path = "connector_preview.html")]
struct PreviewPage {
    chrome: Chrome,
    notice: Option<String>,
    name: String,
    p: platform_connectors::PreviewAnswer,
    samples: Vec<SampleTable>,
}

/// One stream's sample as a table.
#[derive(Debug, Clone)]
pub struct SampleTable {
    /// Stream.
    pub stream: String,
    /// Records read.
    pub records: usize,
    /// Columns.
    pub columns: Vec<String>,
    /// Rows (cells in column order).
    pub rows: Vec<Vec<String>>,
}

/// The most columns a sample table shows (the report has them all).
const SAMPLE_COLUMNS: usize = 12;

/// `POST /connectors/{name}/preview`: checks the credentials and reads the first page of every
/// stream without writing a record; the report is shown here and linked as a workbook.
pub async fn preview(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(name): Path<String>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let answer = app.services.connectors.preview(&name).await;
    let outcome = match &answer {
        Ok(p) => format!("{} streams read, {} requests, {} skipped", p.streams.len(), p.requests, p.skips),
        Err(e) => format!("failed: {e}"),
    };
    audit::record_after(
        &app.warehouse,
        &person.email,
        "connector preview",
        &format!("connection:{name}"),
        &json!({}),
        &outcome,
    )
    .await?;
    let p = answer.map_err(connector_error)?;
    let mapped = mapped_fields(&app, &name).await?;
    let samples = p
        .streams
        .iter()
        .map(|(stream, sample)| {
            // The fields a pull maps come first: they are the ones to check.
            let used = mapped.get(stream).cloned().unwrap_or_default();
            let mut columns: Vec<String> = sample.fields.iter().filter(|f| used.contains(*f)).cloned().collect();
            columns.extend(sample.fields.iter().filter(|f| !used.contains(*f)).cloned());
            columns.truncate(SAMPLE_COLUMNS);
            let rows = p
                .samples
                .get(stream)
                .map(|rows| {
                    rows.iter()
                        .map(|r| columns.iter().map(|c| r.get(c).cloned().unwrap_or_default()).collect())
                        .collect()
                })
                .unwrap_or_default();
            SampleTable { stream: stream.clone(), records: sample.records, columns, rows }
        })
        .collect();
    Ok(render(&PreviewPage {
        chrome: Chrome::new(format!("Preview of {name}"), &person, "connectors"),
        notice: None,
        name,
        p,
        samples,
    }))
}

/// Per stream, the provider fields its effective mapping reads (each alternative of `a|b`).
async fn mapped_fields(app: &App, name: &str) -> Result<std::collections::BTreeMap<String, Vec<String>>, ConsoleError> {
    let (provider, _) = provider_and_secret(app, name).await?;
    let db = app.warehouse.conn().await?;
    let rows = db.query("SELECT stream, mapping FROM connector.stream WHERE connection = $1", &[&name]).await?;
    let mut out = std::collections::BTreeMap::new();
    for r in &rows {
        let stream: String = r.get(0);
        let Some(spec) = provider.stream(&stream) else { continue };
        let Ok(mapping) = platform_connectors::records::mapping(spec, &r.get::<_, Value>(1)) else { continue };
        let fields = mapping.values().flat_map(|p| p.split('|').map(|f| f.trim().to_owned())).collect();
        out.insert(stream, fields);
    }
    Ok(out)
}

/// `POST /connectors/{name}/settings`: enabled, and the settings of the form; each checked as
/// the pulls read them, refused whole when one is wrong.
pub async fn settings(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(name): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let (provider, _) = provider_and_secret(&app, &name).await?;
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    audit::acting_as(&tx, &person.email).await?;
    let current: Value =
        tx.query_one("SELECT settings FROM connector.connection WHERE name = $1 FOR UPDATE", &[&name]).await?.get(0);
    let mut next = current.as_object().cloned().unwrap_or_default();
    for field in setting_fields(provider, &current) {
        let value = form.get(&format!("setting.{}", field.key)).map(|v| v.trim()).unwrap_or("");
        if value.is_empty() {
            next.remove(&field.key);
        } else {
            next.insert(field.key.clone(), json!(value));
        }
    }
    let next = Value::Object(next);
    let problems = ConnectionSettings::from_value(&next).check();
    if !problems.is_empty() {
        return Err(ConsoleError::BadRequest(format!("{}: nothing was changed", problems.join("; "))));
    }
    let enabled = form.get("enabled").is_some_and(|v| v == "on" || v == "true");
    tx.execute(
        "UPDATE connector.connection SET settings = $2, enabled = $3 WHERE name = $1",
        &[&name, &next, &enabled],
    )
    .await?;
    let parameters = json!({"settings": next, "enabled": enabled});
    audit::record(
        &tx,
        &person.email,
        "connector settings",
        &format!("connection:{name}"),
        &parameters,
        Some(&current),
        Some(&next),
        "saved",
    )
    .await?;
    tx.commit().await?;
    Ok(done(&format!("/connectors/{}", enc(&name)), "settings saved"))
}

/// The stream form.
#[derive(Debug, serde::Deserialize)]
pub struct StreamForm {
    /// Checkbox.
    #[serde(default)]
    pub enabled: Option<String>,
    /// Checkbox.
    #[serde(default)]
    pub remove_outdated: Option<String>,
    /// 0–1.
    pub removal_max_share: String,
    /// JSON object.
    pub mapping: String,
}

/// `POST /connectors/{name}/streams/{stream}`: enabled, removal and its guard, the mapping
/// (checked as a pull reads it: `fp_ext_id` and `fp_status` are refused with the reason).
pub async fn stream_settings(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path((name, stream)): Path<(String, String)>,
    Form(form): Form<StreamForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let (provider, _) = provider_and_secret(&app, &name).await?;
    let spec = provider
        .stream(&stream)
        .ok_or_else(|| ConsoleError::NotFound(format!("{} has no stream {stream:?}", provider.display)))?;
    let mapping: Value = serde_json::from_str(form.mapping.trim())
        .map_err(|e| ConsoleError::BadRequest(format!("the mapping is not JSON ({e}): nothing was changed")))?;
    platform_connectors::records::mapping(spec, &mapping)
        .map_err(|e| ConsoleError::BadRequest(format!("{e}: nothing was changed")))?;
    let share: f64 =
        form.removal_max_share.trim().parse().ok().filter(|s: &f64| (0.0..=1.0).contains(s)).ok_or_else(|| {
            ConsoleError::BadRequest("the removal guard must be a share from 0 to 1: nothing was changed".into())
        })?;
    let (enabled, remove) = (form.enabled.is_some(), form.remove_outdated.is_some());
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    audit::acting_as(&tx, &person.email).await?;
    let changed = tx
        .execute(
            "UPDATE connector.stream SET enabled = $3, remove_outdated = $4, removal_max_share = $5::float8::numeric,
                    mapping = $6
              WHERE connection = $1 AND stream = $2",
            &[&name, &stream, &enabled, &remove, &share, &mapping],
        )
        .await?;
    if changed == 0 {
        return Err(ConsoleError::NotFound(format!("connection {name} has no stream {stream:?}")));
    }
    let parameters =
        json!({"enabled": enabled, "remove_outdated": remove, "removal_max_share": share, "mapping": mapping});
    audit::record(
        &tx,
        &person.email,
        "connector stream",
        &format!("stream:{name}/{stream}"),
        &parameters,
        None,
        None,
        "saved",
    )
    .await?;
    tx.commit().await?;
    Ok(done(&format!("/connectors/{}", enc(&name)), &format!("stream {stream} saved")))
}

/// The pull form.
#[derive(Debug, serde::Deserialize)]
pub struct PullForm {
    /// One stream (empty: every enabled stream of the connection).
    #[serde(default)]
    pub stream: String,
    /// `full` for a full pull.
    #[serde(default)]
    pub mode: String,
}

/// `POST /connectors/{name}/pull`: a pull of one stream or of the connection queued for
/// connector-pull (full: every record, whatever the cursor); the page follows its progress.
pub async fn pull(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(name): Path<String>,
    Form(form): Form<PullForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let stream = Some(form.stream.trim()).filter(|s| !s.is_empty());
    let full = form.mode == "full";
    let queued = app.services.connectors.queue_pull(&name, stream, full).await;
    let outcome = match &queued {
        Ok(ids) if ids.is_empty() => "nothing to pull: no enabled stream starts pulls".to_owned(),
        Ok(ids) => format!("queued: {}", ids.join(", ")),
        Err(e) => format!("failed: {e}"),
    };
    let action = if full { "connector full pull" } else { "connector pull" };
    let target = stream.map_or_else(|| format!("connection:{name}"), |s| format!("stream:{name}/{s}"));
    audit::record_after(&app.warehouse, &person.email, action, &target, &json!({"full": full}), &outcome).await?;
    queued.map_err(connector_error)?;
    let what = if full { "full pull" } else { "pull" };
    Ok(done(&format!("/connectors/{}", enc(&name)), &format!("{what} {outcome}")))
}

#[derive(Template)]
#[template(path = "connector_removal.html")]
struct RemovalPage {
    chrome: Chrome,
    notice: Option<String>,
    name: String,
    stream: String,
    confirm_text: String,
    removal: Option<platform_connectors::store::RemovalPreview>,
    /// Only the first rows are listed.
    cut: bool,
}

/// Rows a removal preview lists.
const REMOVAL_ROWS: i64 = 200;

/// `GET /connectors/{name}/streams/{stream}/removal`: what confirming the refused removal would
/// mark removed, and the form that confirms it by typing `<connection>/<stream>`.
pub async fn removal(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path((name, stream)): Path<(String, String)>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let removal =
        app.services.connectors.removal_preview(&name, &stream, REMOVAL_ROWS).await.map_err(connector_error)?;
    let cut = removal.as_ref().is_some_and(|r| (r.rows.len() as i64) < r.would_remove);
    Ok(render(&RemovalPage {
        cut,
        chrome: Chrome::new(format!("Removal in {name}/{stream}"), &person, "connectors"),
        notice: n.notice,
        confirm_text: format!("{name}/{stream}"),
        name,
        stream,
        removal,
    }))
}

/// The removal's confirmation.
#[derive(Debug, serde::Deserialize)]
pub struct RemovalForm {
    /// What the operator typed.
    pub typed: String,
    /// The count the preview showed (a different count now asks for another look).
    pub expected: i64,
}

/// `POST /connectors/{name}/streams/{stream}/removal`: applies the refused removal, when the
/// operator typed the stream's name and the count is still the one previewed.
pub async fn confirm_removal(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path((name, stream)): Path<(String, String)>,
    Form(form): Form<RemovalForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let expected_text = format!("{name}/{stream}");
    if form.typed.trim() != expected_text {
        return Err(ConsoleError::BadRequest(format!(
            "type {expected_text} to confirm the removal: nothing was removed"
        )));
    }
    let expected = u64::try_from(form.expected)
        .map_err(|_| ConsoleError::BadRequest("the previewed count is not a count: nothing was removed".into()))?;
    let confirmed = app.services.connectors.confirm_removal(&name, &stream, Some(expected)).await;
    let outcome = match &confirmed {
        Ok(c) => format!("{} rows marked removed (run {})", c.removed, c.run_id),
        Err(e) => format!("failed: {e}"),
    };
    let parameters = json!({"expected": form.expected});
    audit::record_after(
        &app.warehouse,
        &person.email,
        "connector removal",
        &format!("stream:{name}/{stream}"),
        &parameters,
        &outcome,
    )
    .await?;
    confirmed.map_err(connector_error)?;
    Ok(done(&format!("/connectors/{}", enc(&name)), &outcome))
}

/// The registration test's form.
#[derive(Debug, serde::Deserialize)]
pub struct RegisterForm {
    /// The app whose registration is tested.
    pub app: String,
    /// The person's id at the provider.
    pub person: String,
    /// The session's id at the provider.
    pub session: String,
}

#[derive(Template)]
#[template(path = "connector_register.html")]
struct RegisterPage {
    chrome: Chrome,
    notice: Option<String>,
    name: String,
    form: RegisterForm,
    status: u16,
    answer: String,
    lenos_ms: String,
}

/// `POST /connectors/{name}/register-test`: registers a chosen person for a chosen session as
/// the app would (seed 002: with the person the client named for testing) and shows Lenos's
/// answer. It is a real registration, recorded like the app's.
pub async fn register_test(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(name): Path<String>,
    Form(form): Form<RegisterForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let db = app.warehouse.conn().await?;
    let allowed = db
        .query_opt(
            "SELECT 1 FROM connector.register_app WHERE app = $1 AND connection = $2 AND enabled",
            &[&form.app, &name],
        )
        .await?
        .is_some();
    drop(db);
    if !allowed {
        return Err(ConsoleError::BadRequest(format!(
            "app {:?} does not register through connection {name}: nothing was sent",
            form.app
        )));
    }
    let request_id = format!("console-test-{}", uuid::Uuid::now_v7());
    let answer =
        app.services.registrar.register_as(&form.app, form.person.trim(), form.session.trim(), &request_id).await;
    let shown = serde_json::to_string_pretty(&answer.body).unwrap_or_default();
    let parameters = json!({"app": form.app, "person": form.person, "session": form.session, "request_id": request_id});
    let outcome = format!("HTTP {}: {}", answer.status, answer.body["answer"].as_str().unwrap_or("error"));
    audit::record_after(
        &app.warehouse,
        &person.email,
        "connector test registration",
        &format!("connection:{name}"),
        &parameters,
        &outcome,
    )
    .await?;
    Ok(render(&RegisterPage {
        chrome: Chrome::new(format!("Test registration in {name}"), &person, "connectors"),
        notice: None,
        name,
        form,
        status: answer.status,
        answer: shown,
        lenos_ms: answer.lenos.map_or_else(|| "not asked".into(), |d| format!("{} ms", d.as_millis())),
    }))
}
