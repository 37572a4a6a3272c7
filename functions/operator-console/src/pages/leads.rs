//! Leads: clients, landers and integrations with what each still needs; the integration's
//! configuration as a form checked before saving (credentials into Secrets Manager); a test
//! lead with the vendor's raw answer; pause and resume; lead search and a lead's timeline;
//! redelivery of one lead, or of an integration's failed leads after a preview of which; the
//! client's confirmation e-mail as it reads.
//!
//! Each action calls what lead-delivery's command calls.

use std::collections::HashMap;

use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    response::Response,
};
use platform_leads::{LeadError, config::Integration, delivery_row};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    App, ConsoleError, audit,
    pages::Notice,
    redact,
    session::{Person, Role},
    web::{Chrome, PAGE_SIZE, done, enc, render},
};

fn lead_error(e: LeadError) -> ConsoleError {
    match e {
        LeadError::Config(m) => ConsoleError::BadRequest(m),
        LeadError::NotFound(m) => ConsoleError::NotFound(m),
        LeadError::Warehouse(w) => ConsoleError::Warehouse(w),
        other => ConsoleError::Aws(other.to_string()),
    }
}

/// JSON as the pages show it: secrets redacted, pretty.
fn shown(value: &Value) -> String {
    serde_json::to_string_pretty(&redact::json(value)).unwrap_or_default()
}

/// One integration in the list.
#[derive(Debug, Clone)]
pub struct IntegrationLine {
    /// Id.
    pub id: String,
    /// Client's name (and id).
    pub client: String,
    /// The client has no live integration yet.
    pub new_client: bool,
    /// Lander's name.
    pub lander: String,
    /// The vendor's parser.
    pub parser: String,
    /// `awaiting_information`, `ready` or `live`.
    pub state: String,
    /// What it still needs.
    pub missing: Vec<String>,
    /// Not paused.
    pub enabled: bool,
    /// Delivered in the last 24 hours.
    pub delivered_24h: i64,
    /// When it last delivered a lead (UTC), or `never`.
    pub last_delivery: String,
    /// Waiting, sending or retrying.
    pub waiting: i64,
    /// Rejected, invalid or unknown outcome.
    pub failed: i64,
}

#[derive(Template)]
#[template(path = "leads.html")]
struct LeadsPage {
    chrome: Chrome,
    notice: Option<String>,
    integrations: Vec<IntegrationLine>,
    landers: Vec<(String, String)>,
    clients: Vec<(String, String)>,
    parsers: Vec<&'static str>,
    q: LeadQuery,
    leads: Vec<LeadLine>,
    searched: bool,
}

/// An integration's figures, each read through an index whatever the number of leads:
/// delivered in the last 24 hours, the last delivery, waiting, failed.
const FIGURES: &str = "(SELECT count(*) FROM leads.delivery d WHERE d.integration_id = i.id AND d.status = 'delivered'
                          AND d.delivered_at > now() - interval '24 hours'),
    coalesce((SELECT to_char(max(d.delivered_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM leads.delivery d
               WHERE d.integration_id = i.id AND d.status = 'delivered'), 'never'),
    (SELECT count(*) FROM leads.delivery d WHERE d.integration_id = i.id AND d.status IN ('waiting', 'sending', 'retrying')),
    (SELECT count(*) FROM leads.delivery d WHERE d.integration_id = i.id
        AND d.status IN ('rejected', 'invalid', 'unknown_outcome'))";

/// The lead search.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeadQuery {
    /// An e-mail, a phone number (its digits), or a lead id.
    #[serde(default)]
    pub q: String,
    /// A lander (empty: any).
    #[serde(default)]
    pub lander: String,
    /// Received on or after this day (UTC).
    #[serde(default)]
    pub from: String,
    /// Received on or before this day (UTC).
    #[serde(default)]
    pub to: String,
    /// Notice.
    pub notice: Option<String>,
}

impl LeadQuery {
    fn is_empty(&self) -> bool {
        self.q.trim().is_empty() && self.lander.is_empty() && self.from.is_empty() && self.to.is_empty()
    }
}

/// One lead in a search's answer.
#[derive(Debug, Clone)]
pub struct LeadLine {
    /// Id.
    pub id: i64,
    /// Received (UTC).
    pub received: String,
    /// Lander.
    pub lander: String,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// A test lead.
    pub test: bool,
    /// Its deliveries: `integration: status`.
    pub deliveries: String,
}

fn day(s: &str, what: &str) -> Result<Option<chrono::NaiveDate>, ConsoleError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map(Some)
        .map_err(|_| ConsoleError::BadRequest(format!("{what} must be a date (YYYY-MM-DD)")))
}

/// The leads a search finds, newest first: by id, e-mail (any case) or phone digits, in a
/// lander, between two days; each through an index.
async fn search(
    db: &impl platform_warehouse::tokio_postgres::GenericClient,
    q: &LeadQuery,
) -> Result<Vec<LeadLine>, ConsoleError> {
    let text = q.q.trim();
    let id: Option<i64> = text.parse().ok().filter(|_| text.len() < 12);
    let email = (text.contains('@')).then(|| text.to_lowercase());
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let phone = (email.is_none() && digits.len() >= 7).then_some(digits);
    if !text.is_empty() && id.is_none() && email.is_none() && phone.is_none() {
        return Err(ConsoleError::BadRequest(
            "search by a lead id, an e-mail address or a phone number (7 digits or more)".into(),
        ));
    }
    let lander = Some(q.lander.as_str()).filter(|l| !l.is_empty());
    let (from, to) = (day(&q.from, "from")?, day(&q.to, "to")?);
    let rows = db
        .query(
            "SELECT l.id, to_char(l.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), l.lander_id,
                    concat_ws(' ', l.first_name, l.last_name), coalesce(l.email, ''), coalesce(l.phone, ''), l.is_test,
                    coalesce((SELECT string_agg(d.integration_id || ': ' || d.status, ', ' ORDER BY d.integration_id)
                                FROM leads.delivery d WHERE d.lead_id = l.id), '')
               FROM leads.lead l
              WHERE ($1::bigint IS NULL AND $3::text IS NULL OR l.id = $1
                     OR regexp_replace(l.phone, '\\D', '', 'g') = $3)
                AND ($2::text IS NULL OR lower(l.email) = $2)
                AND ($4::text IS NULL OR l.lander_id = $4)
                AND ($5::date IS NULL OR l.received_at >= $5::date::timestamp AT TIME ZONE 'UTC')
                AND ($6::date IS NULL OR l.received_at < ($6::date + 1)::timestamp AT TIME ZONE 'UTC')
              ORDER BY l.received_at DESC, l.id DESC
              LIMIT $7",
            &[&id, &email, &phone, &lander, &from, &to, &PAGE_SIZE],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| LeadLine {
            id: r.get(0),
            received: r.get(1),
            lander: r.get(2),
            name: r.get(3),
            email: r.get(4),
            phone: r.get(5),
            test: r.get(6),
            deliveries: r.get(7),
        })
        .collect())
}

/// `GET /leads`: the integrations and the lead search.
pub async fn list(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Query(q): Query<LeadQuery>,
) -> Result<Response, ConsoleError> {
    let db = app.warehouse.conn().await?;
    let rows = db
        .query(
            &format!(
                "SELECT i.id, c.name || ' (' || c.id || ')',
                        NOT EXISTS (SELECT 1 FROM leads.integration o WHERE o.client_id = c.id AND o.live_at IS NOT NULL),
                        l.name, i.parser, i.state, i.missing, i.enabled, {FIGURES}
                   FROM leads.integration i
                   JOIN leads.client c ON c.id = i.client_id
                   JOIN leads.lander l ON l.id = i.lander_id
                  ORDER BY i.state <> 'awaiting_information', i.id"
            ),
            &[],
        )
        .await?;
    let integrations = rows.iter().map(integration_of).collect();
    let landers = db
        .query("SELECT id, name FROM leads.lander ORDER BY name", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let clients = db
        .query("SELECT id, name FROM leads.client ORDER BY name", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let searched = !q.is_empty();
    let leads = if searched { search(&**db, &q).await? } else { Vec::new() };
    Ok(render(&LeadsPage {
        chrome: Chrome::new("Leads", &person, "leads"),
        notice: q.notice.clone(),
        integrations,
        landers,
        clients,
        parsers: platform_leads::vendors::Parser::ALL.iter().map(|p| p.name()).collect(),
        q,
        leads,
        searched,
    }))
}

/// A new integration: its id and system, and its client and lander (existing ones, or new).
#[derive(Debug, Deserialize)]
pub struct NewIntegration {
    /// The integration's id.
    pub id: String,
    /// The parser (the client's intake system).
    pub parser: String,
    /// An existing client's id, or empty for a new one.
    #[serde(default)]
    pub client: String,
    /// A new client's id.
    #[serde(default)]
    pub new_client_id: String,
    /// A new client's name.
    #[serde(default)]
    pub new_client_name: String,
    /// A new client's contact e-mail.
    #[serde(default)]
    pub new_client_email: String,
    /// An existing lander's id, or empty for a new one.
    #[serde(default)]
    pub lander: String,
    /// A new lander's id.
    #[serde(default)]
    pub new_lander_id: String,
    /// A new lander's name.
    #[serde(default)]
    pub new_lander_name: String,
}

/// Whether `id` can be a client, lander or integration id (the tables' own check).
fn is_slug(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// `POST /leads/integrations`: a new integration (and, with it, a new client or lander), created
/// awaiting information; its page says what it still needs.
pub async fn create_integration(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Form(form): Form<NewIntegration>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let bad = |why: String| ConsoleError::BadRequest(format!("{why}: nothing was created"));
    let id = form.id.trim();
    if !is_slug(id) {
        return Err(bad(format!("{id:?} is not an id (lower-case letters, digits, - and _)")));
    }
    let parser = platform_leads::vendors::Parser::parse(form.parser.trim())
        .ok_or_else(|| bad(format!("{:?} is not a system the platform delivers to", form.parser)))?;
    let new_client = form.client.trim().is_empty();
    let client = if new_client { form.new_client_id.trim() } else { form.client.trim() };
    if new_client && (!is_slug(client) || form.new_client_name.trim().is_empty()) {
        return Err(bad("a new client needs an id (lower-case letters, digits, - and _) and a name".into()));
    }
    let new_lander = form.lander.trim().is_empty();
    let lander = if new_lander { form.new_lander_id.trim() } else { form.lander.trim() };
    if new_lander && (!is_slug(lander) || form.new_lander_name.trim().is_empty()) {
        return Err(bad("a new lander needs an id (lower-case letters, digits, - and _) and a name".into()));
    }
    let email = Some(form.new_client_email.trim()).filter(|e| !e.is_empty());
    if email.is_some_and(|e| !e.contains('@')) {
        return Err(bad(format!("{:?} is not an e-mail address", form.new_client_email)));
    }
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    audit::acting_as(&tx, &person.email).await?;
    let taken: bool =
        tx.query_one("SELECT EXISTS (SELECT 1 FROM leads.integration WHERE id = $1)", &[&id]).await?.get(0);
    if taken {
        return Err(bad(format!("an integration {id} exists already")));
    }
    if new_client {
        let inserted = tx
            .execute(
                "INSERT INTO leads.client (id, name, contact_email) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                &[&client, &form.new_client_name.trim(), &email],
            )
            .await?;
        if inserted == 0 {
            return Err(bad(format!("a client {client} exists already: choose it")));
        }
    }
    if new_lander {
        let inserted = tx
            .execute(
                "INSERT INTO leads.lander (id, name, client_id) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                &[&lander, &form.new_lander_name.trim(), &client],
            )
            .await?;
        if inserted == 0 {
            return Err(bad(format!("a lander {lander} exists already: choose it")));
        }
    }
    let known: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM leads.client WHERE id = $1) AND EXISTS (SELECT 1 FROM leads.lander WHERE id = $2)",
            &[&client, &lander],
        )
        .await?
        .get(0);
    if !known {
        return Err(bad(format!("no client {client:?} or no lander {lander:?}")));
    }
    let inserted = tx
        .execute(
            "INSERT INTO leads.integration (id, lander_id, client_id, parser, contact_email) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO NOTHING",
            &[&id, &lander, &client, &parser.name(), &email],
        )
        .await?;
    if inserted == 0 {
        return Err(bad(format!("an integration {id} exists already")));
    }
    let parameters = json!({"parser": parser.name(), "client": client, "new_client": new_client,
                            "lander": lander, "new_lander": new_lander});
    audit::record(
        &tx,
        &person.email,
        "integration created",
        &format!("integration:{id}"),
        &parameters,
        None,
        None,
        "created",
    )
    .await?;
    tx.commit().await?;
    drop(conn);
    app.services.leads.refresh_states().await.map_err(lead_error)?;
    Ok(done(
        &format!("/leads/integrations/{}", enc(id)),
        &format!("integration {id} created: fill in what it still needs"),
    ))
}

/// An integration's configuration, as its form edits it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IntegrationForm {
    /// The vendor's URL (empty: the vendor's default).
    #[serde(default)]
    pub endpoint: String,
    /// Where its credentials are (empty: none).
    #[serde(default)]
    pub secret_id: String,
    /// Vendor field → lead field or `{"field", "transform"}` (JSON).
    #[serde(default)]
    pub mapping: String,
    /// Vendor field → constant (JSON).
    #[serde(default)]
    pub constants: String,
    /// Rules (JSON).
    #[serde(default)]
    pub rules: String,
    /// Options: body, headers, signature, success rule (JSON).
    #[serde(default)]
    pub options: String,
    /// The client's contact e-mail for this integration.
    #[serde(default)]
    pub contact_email: String,
}

#[derive(Template)]
#[template(path = "integration.html")]
struct IntegrationPage {
    chrome: Chrome,
    notice: Option<String>,
    i: IntegrationLine,
    form: IntegrationForm,
    default_endpoint: String,
    credentials: String,
    confirmation: Option<platform_leads::email::ConfirmationPreview>,
    failed: Vec<(i64, String, String, String)>,
    failed_total: i64,
}

async fn integration_line(app: &App, id: &str) -> Result<(IntegrationLine, IntegrationForm), ConsoleError> {
    let db = app.warehouse.conn().await?;
    let r = db
        .query_opt(
            &format!(
                "SELECT i.id, c.name || ' (' || c.id || ')',
                        NOT EXISTS (SELECT 1 FROM leads.integration o WHERE o.client_id = c.id AND o.live_at IS NOT NULL),
                        l.name, i.parser, i.state, i.missing, i.enabled, {FIGURES},
                        coalesce(i.endpoint, ''), coalesce(i.secret_id, ''), i.mapping, i.constants, i.rules, i.options,
                        coalesce(i.contact_email, '')
                   FROM leads.integration i
                   JOIN leads.client c ON c.id = i.client_id
                   JOIN leads.lander l ON l.id = i.lander_id
                  WHERE i.id = $1"
            ),
            &[&id],
        )
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no integration {id:?}")))?;
    let pretty = |i: usize| serde_json::to_string_pretty(&r.get::<_, Value>(i)).unwrap_or_default();
    let line = integration_of(&r);
    let form = IntegrationForm {
        endpoint: r.get(12),
        secret_id: r.get(13),
        mapping: pretty(14),
        constants: pretty(15),
        rules: pretty(16),
        // Options may name header values: shown redacted, and a redacted value is kept on save.
        options: shown(&r.get::<_, Value>(17)),
        contact_email: r.get(18),
    };
    Ok((line, form))
}

/// An integration's line from a row selecting its columns and then [`FIGURES`].
fn integration_of(r: &platform_warehouse::tokio_postgres::Row) -> IntegrationLine {
    IntegrationLine {
        id: r.get(0),
        client: r.get(1),
        new_client: r.get(2),
        lander: r.get(3),
        parser: r.get(4),
        state: r.get(5),
        missing: r.get(6),
        enabled: r.get(7),
        delivered_24h: r.get(8),
        last_delivery: r.get(9),
        waiting: r.get(10),
        failed: r.get(11),
    }
}

/// Failed deliveries a redelivery preview lists.
const REDELIVERY_ROWS: i64 = 200;

/// `GET /leads/integrations/{id}`.
pub async fn integration(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let (i, form) = integration_line(&app, &id).await?;
    let credentials = if form.secret_id.is_empty() {
        "none".to_owned()
    } else {
        crate::web::secret_state(&app.services.secrets, &form.secret_id).await.unwrap_or_else(|state| state)
    };
    let confirmation = app.services.leads.confirmation_preview(&id).await.map_err(lead_error)?;
    let reopenable = {
        let db = app.warehouse.conn().await?;
        delivery_row::reopenable(&**db, &id, REDELIVERY_ROWS).await.map_err(lead_error)?
    };
    let (failed, failed_total) = (reopenable.rows, reopenable.total);
    let parser = platform_leads::vendors::Parser::parse(&i.parser);
    let page = IntegrationPage {
        chrome: Chrome::new(format!("Integration {id}"), &person, "leads"),
        notice: n.notice,
        default_endpoint: parser.and_then(platform_leads::vendors::default_endpoint).unwrap_or("none").to_owned(),
        credentials,
        confirmation,
        failed: failed
            .into_iter()
            .map(|(lead, status, reason, at)| {
                (lead, status, reason.unwrap_or_default(), at.format("%Y-%m-%d %H:%M:%S").to_string())
            })
            .collect(),
        failed_total,
        i,
        form,
    };
    Ok(render(&page))
}

fn object(text: &str, what: &str) -> Result<Value, ConsoleError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ConsoleError::BadRequest(format!("{what} must be a JSON object: nothing was changed"))),
        Err(e) => Err(ConsoleError::BadRequest(format!("{what} is not JSON ({e}): nothing was changed"))),
    }
}

/// The options as edited, with the values the page showed redacted put back ([`unredacted`]),
/// refused when a value put back would now be shown (its label or key no longer reads as a
/// secret) or when a list holding one changed its length (positions no longer match).
fn restored(edited: Value, stored: &Value) -> Result<Value, String> {
    fn still_hidden(edited: &Value, shown: &Value, stored: &Value) -> Result<(), String> {
        let marker = platform_domain::signature::REDACTED;
        match (edited, shown) {
            (Value::String(e), _) if e == marker => {
                if shown.as_str() == Some(marker) {
                    Ok(())
                } else {
                    Err("a value shown [redacted] would now be shown: enter it again where it was".into())
                }
            }
            (Value::Object(e), Value::Object(s)) => e.iter().try_for_each(|(k, v)| {
                still_hidden(v, s.get(k).unwrap_or(&Value::Null), stored.get(k).unwrap_or(&Value::Null))
            }),
            (Value::Array(e), Value::Array(s)) => {
                let marked = e.iter().any(|v| v.to_string().contains(marker));
                if marked && stored.as_array().map(Vec::len) != Some(e.len()) {
                    return Err("a list holding [redacted] values changed its length: enter its values again".into());
                }
                e.iter()
                    .zip(s)
                    .enumerate()
                    .try_for_each(|(i, (v, sv))| still_hidden(v, sv, stored.get(i).unwrap_or(&Value::Null)))
            }
            _ => Ok(()),
        }
    }
    let out = unredacted(edited.clone(), stored)?;
    still_hidden(&edited, &redact::json(&out), stored)?;
    Ok(out)
}

/// Values the page showed redacted, put back from the stored ones at the same place (objects
/// by key, arrays by position). `Err` names a redacted value that has no stored value to come
/// from (a renamed key, a new entry, a value edited around the marker): a redaction marker is
/// never saved over a real value.
fn unredacted(edited: Value, stored: &Value) -> Result<Value, String> {
    let marker = platform_domain::signature::REDACTED;
    match (edited, stored) {
        (Value::String(e), stored) if e == marker => match stored {
            Value::Null => Err("a [redacted] value has no stored value to keep: enter the value itself".into()),
            s => Ok(s.clone()),
        },
        (Value::String(e), _) if e.contains(marker) => {
            Err(format!("{e:?} still holds a [redacted] part: enter the whole value"))
        }
        (Value::Object(e), stored) => {
            let mut out = serde_json::Map::new();
            for (k, v) in e {
                let old = stored.get(&k).unwrap_or(&Value::Null);
                out.insert(k, unredacted(v, old)?);
            }
            Ok(Value::Object(out))
        }
        (Value::Array(e), stored) => e
            .into_iter()
            .enumerate()
            .map(|(i, v)| unredacted(v, stored.get(i).unwrap_or(&Value::Null)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (other, _) => Ok(other),
    }
}

/// `POST /leads/integrations/{id}`: the configuration, read as a delivery reads it (an unknown
/// transform, a malformed rule or success rule is refused whole), saved; its state and what it
/// still needs recomputed at once, and the leads that waited for it queued when it can deliver.
pub async fn save_integration(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<String>,
    Form(form): Form<IntegrationForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let (mapping, constants, rules) = (
        object(&form.mapping, "the mapping")?,
        object(&form.constants, "the constants")?,
        object(&form.rules, "the rules")?,
    );
    let options = object(&form.options, "the options")?;
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let (endpoint, secret_id, contact) = (text(&form.endpoint), text(&form.secret_id), text(&form.contact_email));
    if let Some(e) = &endpoint
        && platform_connectors::credentials::base_url(e).is_none()
        && !e.starts_with("https://")
    {
        return Err(ConsoleError::BadRequest(format!("the endpoint {e:?} is not an https URL: nothing was changed")));
    }
    if let Some(c) = &contact
        && !c.contains('@')
    {
        return Err(ConsoleError::BadRequest(format!("{c:?} is not an e-mail address: nothing was changed")));
    }
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    audit::acting_as(&tx, &person.email).await?;
    let stored = tx
        .query_opt(
            "SELECT lander_id, client_id, parser, state, options FROM leads.integration WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no integration {id:?}")))?;
    let options = restored(options, &stored.get::<_, Value>(4))
        .map_err(|why| ConsoleError::BadRequest(format!("options: {why}: nothing was changed")))?;
    if let Some(id) = &secret_id {
        app.services
            .leads
            .secret_allowed(id)
            .map_err(|e| ConsoleError::BadRequest(format!("{e}: nothing was changed")))?;
    }
    let parser: String = stored.get(2);
    Integration::from_parts(
        id.clone(),
        stored.get(0),
        stored.get(1),
        &parser,
        endpoint.clone(),
        secret_id.clone(),
        &mapping,
        &constants,
        &rules,
        &options,
        contact.clone(),
        stored.get(3),
    )
    .map_err(|e| ConsoleError::BadRequest(format!("{}: nothing was changed", e.message)))?;
    tx.execute(
        "UPDATE leads.integration SET endpoint = $2, secret_id = $3, mapping = $4, constants = $5, rules = $6,
                options = $7, contact_email = $8, updated_at = now()
          WHERE id = $1",
        &[&id, &endpoint, &secret_id, &mapping, &constants, &rules, &options, &contact],
    )
    .await?;
    audit::record(
        &tx,
        &person.email,
        "integration configuration",
        &format!("integration:{id}"),
        &json!({}),
        None,
        None,
        "saved",
    )
    .await?;
    tx.commit().await?;
    drop(conn);
    let refreshed = app.services.leads.refresh_states().await.map_err(lead_error)?;
    let notice = match refreshed.integrations.get(&id) {
        Some(s) if s.missing.is_empty() => {
            format!("saved: {} ({} waiting leads queued)", s.state.as_str(), s.queued)
        }
        Some(s) => format!("saved: still needs {}", s.missing.join(", ")),
        None => "saved (paused: its state is kept)".to_owned(),
    };
    Ok(done(&format!("/leads/integrations/{}", enc(&id)), &notice))
}

/// `POST /leads/integrations/{id}/credentials`: `name=value` lines written into the
/// integration's secret (header values, `hmac_key`); other fields are kept, nothing is shown.
pub async fn credentials(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let (_, current) = integration_line(&app, &id).await?;
    if current.secret_id.is_empty() {
        return Err(ConsoleError::BadRequest(
            "the integration names no secret: save a secret id in its configuration first".into(),
        ));
    }
    app.services
        .leads
        .secret_allowed(&current.secret_id)
        .map_err(|e| ConsoleError::BadRequest(format!("{e}: nothing was written")))?;
    let mut fields = Map::new();
    for line in form.get("fields").map(String::as_str).unwrap_or("").lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(ConsoleError::BadRequest("each line must be name=value: nothing was written".into()));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            return Err(ConsoleError::BadRequest("each line must be name=value: nothing was written".into()));
        }
        fields.insert(k.to_owned(), json!(v));
    }
    if fields.is_empty() {
        return Err(ConsoleError::BadRequest("no credential was entered: nothing was written".into()));
    }
    let names: Vec<String> = fields.keys().cloned().collect();
    app.services
        .secrets
        .put_fields(&current.secret_id, fields, |_| Ok(()))
        .await
        .map_err(|e| ConsoleError::Aws(e.to_string()))?;
    let parameters = json!({"secret_id": current.secret_id, "fields": names});
    audit::record_after(
        &app.warehouse,
        &person.email,
        "integration credentials",
        &format!("integration:{id}"),
        &parameters,
        "written",
    )
    .await?;
    Ok(done(&format!("/leads/integrations/{}", enc(&id)), &format!("credentials written: {}", names.join(", "))))
}

/// `POST /leads/integrations/{id}/pause` and `/resume`.
pub async fn pause(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let enabled = match action.as_str() {
        "pause" => false,
        "resume" => true,
        other => return Err(ConsoleError::NotFound(format!("no action {other:?}"))),
    };
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    audit::acting_as(&tx, &person.email).await?;
    let changed = tx
        .execute("UPDATE leads.integration SET enabled = $2, updated_at = now() WHERE id = $1", &[&id, &enabled])
        .await?;
    if changed == 0 {
        return Err(ConsoleError::NotFound(format!("no integration {id:?}")));
    }
    let what = if enabled { "resumed" } else { "paused" };
    audit::record(
        &tx,
        &person.email,
        &format!("integration {action}"),
        &format!("integration:{id}"),
        &json!({}),
        None,
        None,
        what,
    )
    .await?;
    tx.commit().await?;
    let notice = if enabled {
        // Leads that arrived while it was paused were not given to it: the lander's next leads are.
        format!("{id} resumed")
    } else {
        format!("{id} paused: new leads are not delivered to it")
    };
    Ok(done(&format!("/leads/integrations/{}", enc(&id)), &notice))
}

#[derive(Template)]
#[template(path = "test_lead.html")]
struct TestLeadPage {
    chrome: Chrome,
    notice: Option<String>,
    id: String,
    lead: i64,
    outcome: String,
    status: String,
    reason: String,
    body: String,
    request: String,
}

/// `POST /leads/integrations/{id}/test`: a marked test lead sent now, with the vendor's raw
/// answer (it does not make the integration live).
pub async fn test_lead(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let sent = app.services.leads.test_lead(&id).await;
    let outcome = match &sent {
        Ok(t) => format!("lead {}: {}", t.lead, t.outcome),
        Err(e) => format!("failed: {e}"),
    };
    audit::record_after(
        &app.warehouse,
        &person.email,
        "integration test lead",
        &format!("integration:{id}"),
        &json!({}),
        &outcome,
    )
    .await?;
    let t = sent.map_err(lead_error)?;
    Ok(render(&TestLeadPage {
        chrome: Chrome::new(format!("Test lead through {id}"), &person, "leads"),
        notice: None,
        lead: t.lead,
        outcome: t.outcome.to_string(),
        status: t.response_status.map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}")),
        reason: t.reason.unwrap_or_default(),
        body: t.response_body.unwrap_or_default(),
        request: t.request.as_ref().map(shown).unwrap_or_default(),
        id,
    }))
}

#[derive(Template)]
#[template(path = "redeliver.html")]
struct RedeliverPage {
    chrome: Chrome,
    notice: Option<String>,
    id: String,
    failed: Vec<(i64, String, String, String)>,
    total: i64,
    fingerprint: String,
}

/// `GET /leads/integrations/{id}/redeliver`: which leads a redelivery would send again.
pub async fn redeliver_preview(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let db = app.warehouse.conn().await?;
    let r = delivery_row::reopenable(&**db, &id, REDELIVERY_ROWS).await.map_err(lead_error)?;
    let (failed, total, fingerprint) = (r.rows, r.total, r.fingerprint);
    Ok(render(&RedeliverPage {
        fingerprint,
        chrome: Chrome::new(format!("Redeliver the failed leads of {id}"), &person, "leads"),
        notice: None,
        failed: failed
            .into_iter()
            .map(|(lead, status, reason, at)| {
                (lead, status, reason.unwrap_or_default(), at.format("%Y-%m-%d %H:%M:%S").to_string())
            })
            .collect(),
        total,
        id,
    }))
}

/// The redelivery's confirmation: the set the preview showed.
#[derive(Debug, Deserialize)]
pub struct RedeliverForm {
    /// How many were shown.
    pub expected: i64,
    /// Which (a different set now asks for another look).
    pub fingerprint: String,
}

/// `POST /leads/integrations/{id}/redeliver`: the failed leads previewed go back to waiting and
/// are queued for lead-delivery.
pub async fn redeliver_all(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<String>,
    Form(form): Form<RedeliverForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let reopened = app.services.leads.redeliver(&id, Some(&form.fingerprint)).await;
    let outcome = match &reopened {
        Ok(ids) => {
            let shown: Vec<String> = ids.iter().take(20).map(i64::to_string).collect();
            let more = if ids.len() > 20 { ", …" } else { "" };
            format!("{} leads queued again: {}{more}", ids.len(), shown.join(", "))
        }
        Err(e) => format!("failed: {e}"),
    };
    let parameters = json!({"expected": form.expected});
    audit::record_after(
        &app.warehouse,
        &person.email,
        "integration redeliver",
        &format!("integration:{id}"),
        &parameters,
        &outcome,
    )
    .await?;
    reopened.map_err(lead_error)?;
    Ok(done(&format!("/leads/integrations/{}", enc(&id)), &outcome))
}

/// One delivery on a lead's timeline.
#[derive(Debug, Clone)]
pub struct DeliveryLine {
    /// Integration.
    pub integration: String,
    /// Status.
    pub status: String,
    /// Attempts.
    pub attempts: i32,
    /// Why it stands so.
    pub reason: String,
    /// The vendor's lead id.
    pub vendor_lead_id: String,
    /// The last request sent (secrets redacted).
    pub request: String,
    /// Warnings (values cut to the vendor's lengths).
    pub warnings: Vec<String>,
    /// Whether an operator may redeliver it.
    pub reopenable: bool,
}

/// One event on a lead's timeline.
#[derive(Debug, Clone)]
pub struct Event {
    /// When (UTC).
    pub at: String,
    /// What.
    pub what: String,
    /// The answer or the error.
    pub detail: String,
    /// The request an attempt sent (secrets redacted), if kept.
    pub request: String,
    /// Status class.
    pub class: String,
}

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    chrome: Chrome,
    notice: Option<String>,
    id: i64,
    header: Vec<(String, String)>,
    fields: String,
    deliveries: Vec<DeliveryLine>,
    events: Vec<Event>,
}

/// `GET /leads/{id}`: the lead's timeline — received, each delivery with its attempts (the
/// request sent, secrets redacted, and the answer) and where it stands.
pub async fn lead(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<i64>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let db = app.warehouse.conn().await?;
    let l = db
        .query_opt(
            "SELECT to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), lander_id, source, source_id,
                    concat_ws(' ', first_name, last_name), coalesce(email, ''), coalesce(phone, ''), is_test, fields
               FROM leads.lead WHERE id = $1",
            &[&id],
        )
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no lead {id}")))?;
    let received: String = l.get(0);
    let header = vec![
        ("Received (UTC)".to_owned(), received.clone()),
        ("Lander".to_owned(), l.get(1)),
        ("Source".to_owned(), format!("{} {}", l.get::<_, String>(2), l.get::<_, String>(3))),
        ("Name".to_owned(), l.get(4)),
        ("E-mail".to_owned(), l.get(5)),
        ("Phone".to_owned(), l.get(6)),
        ("Test lead".to_owned(), if l.get::<_, bool>(7) { "yes" } else { "no" }.to_owned()),
    ];
    let fields = shown(&l.get::<_, Value>(8));
    let deliveries = db
        .query(
            "SELECT integration_id, status, attempts, coalesce(reason, ''), coalesce(vendor_lead_id, ''), request, warnings,
                    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
                    coalesce(to_char(delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), '')
               FROM leads.delivery WHERE lead_id = $1 ORDER BY integration_id",
            &[&id],
        )
        .await?;
    let attempts = db
        .query(
            "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), integration_id, outcome,
                    response_status, coalesce(response_body, ''), coalesce(error, ''), ms, request
               FROM leads.delivery_attempt WHERE lead_id = $1 ORDER BY at, id",
            &[&id],
        )
        .await?;
    let audit_rows = db
        .query(
            "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), actor, action, outcome
               FROM console.audit WHERE target = $1 ORDER BY id",
            &[&format!("lead:{id}")],
        )
        .await?;
    drop(db);
    let mut events = vec![Event {
        at: received,
        what: "received".into(),
        detail: String::new(),
        request: String::new(),
        class: String::new(),
    }];
    for d in &deliveries {
        events.push(Event {
            at: d.get(7),
            what: format!("{}: validated and queued", d.get::<_, String>(0)),
            detail: String::new(),
            request: String::new(),
            class: String::new(),
        });
    }
    for a in &attempts {
        let status: Option<i32> = a.get(3);
        let ms: Option<i32> = a.get(6);
        let body: String = a.get(4);
        let error: String = a.get(5);
        let outcome: String = a.get(2);
        events.push(Event {
            at: a.get(0),
            what: format!(
                "{}: attempt → {outcome}{}{}",
                a.get::<_, String>(1),
                status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
                ms.map(|m| format!(" in {m} ms")).unwrap_or_default()
            ),
            detail: if error.is_empty() { redact::text(&body) } else { redact::text(&error) },
            request: a.get::<_, Option<Value>>(7).as_ref().map(shown).unwrap_or_default(),
            class: outcome,
        });
    }
    for a in &audit_rows {
        events.push(Event {
            at: a.get(0),
            what: format!("{} by {}", a.get::<_, String>(2), a.get::<_, String>(1)),
            detail: a.get(3),
            request: String::new(),
            class: "operator".into(),
        });
    }
    events.sort_by(|a, b| a.at.cmp(&b.at));
    let deliveries = deliveries
        .iter()
        .map(|d| {
            let status: String = d.get(1);
            DeliveryLine {
                integration: d.get(0),
                reopenable: delivery_row::REOPENED.contains(&status.as_str()),
                status,
                attempts: d.get(2),
                reason: d.get(3),
                vendor_lead_id: d.get(4),
                request: d.get::<_, Option<Value>>(5).as_ref().map(shown).unwrap_or_default(),
                warnings: d.get(6),
            }
        })
        .collect();
    Ok(render(&LeadPage {
        chrome: Chrome::new(format!("Lead {id}"), &person, "leads"),
        notice: n.notice,
        id,
        header,
        fields,
        deliveries,
        events,
    }))
}

/// Which delivery to redeliver.
#[derive(Debug, Deserialize)]
pub struct RedeliverOne {
    /// The integration.
    pub integration: String,
}

/// `POST /leads/{id}/redeliver`: this lead sent again through one integration now; the answer
/// is on its timeline.
pub async fn redeliver_one(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(id): Path<i64>,
    Form(form): Form<RedeliverOne>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let result = app.services.leads.redeliver_lead(id, &form.integration).await;
    let outcome = match &result {
        Ok(Some(o)) => o.to_string(),
        Ok(None) => "not redelivered: it is not rejected, invalid or of unknown outcome".to_owned(),
        Err(e) => format!("failed: {e}"),
    };
    let parameters = json!({"integration": form.integration});
    audit::record_after(&app.warehouse, &person.email, "lead redeliver", &format!("lead:{id}"), &parameters, &outcome)
        .await?;
    result.map_err(lead_error)?;
    Ok(done(&format!("/leads/{id}"), &format!("{}: {outcome}", form.integration)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_value_is_put_back_from_where_it_was_and_never_saved() {
        let stored = json!({"headers": {"Authorization": "secret:token", "X-Key": "k-123"},
                            "signature": {"header": "X-Sig"}, "list": ["a-secret", "b"]});
        let edited = json!({"headers": {"Authorization": "secret:token", "X-Key": "[redacted]"},
                            "signature": "[redacted]", "list": ["[redacted]", "c"], "body": "form"});
        let back = unredacted(edited, &stored).unwrap();
        assert_eq!(back["headers"]["X-Key"], "k-123");
        assert_eq!(back["signature"], json!({"header": "X-Sig"}));
        assert_eq!(back["list"], json!(["a-secret", "c"]));
        assert_eq!(back["body"], "form");
        // A renamed key or a new entry carrying the marker has nothing to come from.
        let renamed = json!({"headers": {"X-KEY": "[redacted]"}});
        assert!(unredacted(renamed, &stored).unwrap_err().contains("no stored value"));
        let longer = json!({"list": ["[redacted]", "b", "[redacted]"]});
        assert!(unredacted(longer, &stored).is_err());
        // A list holding a marker that changed its length is refused.
        let shorter = json!({"list": ["[redacted]"]});
        assert!(restored(shorter, &stored).unwrap_err().contains("changed its length"));
        // A value whose label no longer reads as a secret would be shown: refused.
        let labelled = json!({"fields": [{"label": "API key", "value": "k-9"}]});
        let relabelled = json!({"fields": [{"label": "Colour", "value": "[redacted]"}]});
        assert!(restored(relabelled, &labelled).unwrap_err().contains("would now be shown"));
        let kept = json!({"fields": [{"label": "API key", "value": "[redacted]"}]});
        assert_eq!(restored(kept, &labelled).unwrap(), labelled);
        // Nor is a value edited around the marker.
        let around = json!({"headers": {"X-Key": "Bearer [redacted]"}});
        assert!(unredacted(around, &stored).unwrap_err().contains("[redacted] part"));
    }
}
