//! The registration trail: "why isn't Jane in MeetMax?" in one page. Search by name, e-mail,
//! registration id or company; a registration's raw submissions (redacted), the mapped row, the
//! dedupe decision, the gate, the MeetMax record or why there is none (`console.registration_trail`,
//! the same answer for those who prefer SQL), each with its run; and the actions.

use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    response::Response,
};
use platform_domain::envelope::KIND_REGISTRATIONS_RELEASED;
use platform_warehouse::tokio_postgres::{GenericClient, Row};
use serde::Deserialize;

use crate::{
    App, ConsoleError, audit,
    pages::{Notice, page_number},
    redact,
    session::{Person, Role},
    web::{Chrome, PAGE_SIZE, done, render},
};

/// One registration in a list of results.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Registration id.
    pub registration_id: String,
    /// "First Last".
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Company as typed.
    pub organization: String,
    /// Where it stands.
    pub standing: String,
    /// Why, in words.
    pub reason: String,
}

fn hit(r: &Row) -> Hit {
    let opt = |i: usize| r.get::<_, Option<String>>(i).unwrap_or_default();
    Hit {
        registration_id: opt(0),
        name: format!("{} {}", opt(1), opt(2)).trim().to_owned(),
        email: opt(3),
        organization: opt(4),
        standing: opt(5),
        reason: opt(6),
    }
}

const HIT_COLUMNS: &str = "t.registration_id, t.first_name, t.last_name, t.email, t.organization, t.standing, t.reason";

/// The search.
#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    /// Name, e-mail, registration id or company.
    #[serde(default)]
    pub q: String,
    /// Or: every approved registration of this standing.
    #[serde(default)]
    pub standing: String,
    /// Page (1 and up).
    pub page: Option<i64>,
    /// Notice.
    pub notice: Option<String>,
}

/// Registrations matching `q` (exact registration id or e-mail; a prefix of the first name, last
/// name or company; "first last" prefixes), or of `standing` (newest first: the scan stops at a
/// page's worth instead of ranking every registration); `PAGE_SIZE + 1` rows from `offset`.
pub async fn find(db: &impl GenericClient, q: &str, standing: &str, offset: i64) -> Result<Vec<Hit>, ConsoleError> {
    let q = platform_domain::storable::text(q.trim()).into_owned();
    let limit = PAGE_SIZE + 1;
    let rows = if !standing.is_empty() {
        db.query(
            &format!(
                "SELECT {HIT_COLUMNS} FROM console.registration_trail t
                  WHERE t.standing = $1 AND t.approval_status = 'Approved' AND t.registration_status = 'Active'
                  ORDER BY t.row_id DESC LIMIT $2 OFFSET $3"
            ),
            &[&standing, &limit, &offset],
        )
        .await?
    } else if q.is_empty() {
        Vec::new()
    } else {
        let escape = |s: &str| s.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let prefix = format!("{}%", escape(&q));
        let (first, last) = match q.split_once(' ') {
            Some((f, l)) => (format!("{}%", escape(f.trim())), format!("{}%", escape(l.trim()))),
            None => (String::new(), String::new()),
        };
        // The matches are found on the table (its indexes), then read through the view by id:
        // a join with the view would compute it for every registration.
        let ids: Vec<String> = db
            .query(
                "SELECT r.registration_id FROM conferences_events.exchange_registration r
                  WHERE r.registration_id IN (
                      SELECT registration_id FROM conferences_events.exchange_registration WHERE registration_id = $1
                      UNION SELECT registration_id FROM conferences_events.exchange_registration WHERE lower(btrim(email)) = lower($1)
                      UNION SELECT registration_id FROM conferences_events.exchange_registration WHERE lower(last_name) LIKE $2
                      UNION SELECT registration_id FROM conferences_events.exchange_registration WHERE lower(first_name) LIKE $2
                      UNION SELECT registration_id FROM conferences_events.exchange_registration WHERE lower(organization) LIKE $2
                      UNION SELECT registration_id FROM conferences_events.exchange_registration
                             WHERE $3 <> '' AND lower(first_name) LIKE $3 AND lower(last_name) LIKE $4)
                  ORDER BY lower(r.last_name), lower(r.first_name), r.registration_id LIMIT $5 OFFSET $6",
                &[&q, &prefix, &first, &last, &limit, &offset],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut rows = db
            .query(
                &format!("SELECT {HIT_COLUMNS} FROM console.registration_trail t WHERE t.registration_id = ANY($1)"),
                &[&ids],
            )
            .await?;
        rows.sort_by_key(|r| ids.iter().position(|id| Some(id.as_str()) == r.get::<_, Option<&str>>(0)));
        rows
    };
    let mut hits: Vec<Hit> = rows.iter().map(hit).collect();
    // A submission id whose submission made no registration (the mapping refused it): its trail says why.
    if hits.is_empty() && offset == 0 && !q.is_empty() {
        let stored = db
            .query_opt(
                "SELECT submission_id, mapping_status, coalesce(mapping_error, '') FROM integration.raw_submission
                  WHERE submission_id = $1 ORDER BY id DESC LIMIT 1",
                &[&q],
            )
            .await?;
        if let Some(r) = stored {
            let status: String = r.get(1);
            let error: String = r.get(2);
            hits.push(Hit {
                registration_id: r.get(0),
                name: String::new(),
                email: String::new(),
                organization: String::new(),
                standing: "unmapped".into(),
                reason: if status == "error" {
                    format!("refused by the mapping: {error}")
                } else {
                    format!("submission {status}")
                },
            });
        }
    }
    Ok(hits)
}

#[derive(Template)]
#[template(path = "trail_search.html")]
struct SearchPage {
    chrome: Chrome,
    notice: Option<String>,
    q: String,
    standing: String,
    hits: Vec<Hit>,
    page: i64,
    more: bool,
}

/// `GET /trail?q=&standing=&page=`.
pub async fn search(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Query(s): Query<SearchQuery>,
) -> Result<Response, ConsoleError> {
    let page = page_number(s.page);
    let conn = app.warehouse.conn().await?;
    let mut hits = find(&**conn, &s.q, &s.standing, (page - 1) * PAGE_SIZE).await?;
    let more = hits.len() as i64 > PAGE_SIZE;
    hits.truncate(PAGE_SIZE as usize);
    Ok(render(&SearchPage {
        chrome: Chrome::new("Registrations", &person, "trail"),
        notice: s.notice,
        q: s.q,
        standing: s.standing,
        hits,
        page,
        more,
    }))
}

/// A labelled value.
#[derive(Debug, Clone)]
pub struct Field {
    /// Label.
    pub label: String,
    /// Value (text).
    pub value: String,
}

/// One stored submission of the registration.
#[derive(Debug, Clone)]
pub struct RawVersion {
    /// Its id in `integration.raw_submission`.
    pub id: i64,
    /// `webhook` or `pull`.
    pub source: String,
    /// Received (UTC).
    pub received: String,
    /// Mapping status.
    pub status: String,
    /// Mapping error, if any.
    pub error: String,
    /// The run that stored it.
    pub run_id: String,
    /// Whether it is the version the row holds.
    pub current: bool,
    /// Its content, redacted, as JSON text.
    pub body: String,
}

/// A run the registration went through.
#[derive(Debug, Clone)]
pub struct RunLine {
    /// Run id.
    pub id: String,
    /// What the run was.
    pub what: String,
    /// Function, trigger, status and counts.
    pub summary: String,
}

/// Everything the trail page shows of one registration.
#[derive(Debug, Clone)]
pub struct Trail {
    /// The registration id.
    pub registration_id: String,
    /// Name.
    pub name: String,
    /// Where it stands (`console.registration_trail.standing`).
    pub standing: String,
    /// Why, in words.
    pub reason: String,
    /// The gate and the sync, as fields.
    pub path: Vec<Field>,
    /// The mapped row, redacted.
    pub row: Vec<Field>,
    /// The dedupe decision on its company.
    pub company: Vec<Field>,
    /// The stored submissions, newest first.
    pub raw: Vec<RawVersion>,
    /// MeetMax statuses it had before the current one.
    pub history: Vec<Field>,
    /// Its runs.
    pub runs: Vec<RunLine>,
    /// The audit of changes to it.
    pub audit: Vec<audit::Entry>,
    /// Whether it is excluded from MeetMax.
    pub excluded: bool,
    /// Whether it was released to meetmax-sync (a resync can be asked).
    pub released: bool,
    /// Whether a stored submission of it awaits mapping or was refused by it (a remap can be asked).
    pub unmapped: bool,
}

fn text_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn fields(v: &serde_json::Value) -> Vec<Field> {
    v.as_object()
        .map(|o| {
            o.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| Field { label: k.clone(), value: text_of(v) }).collect()
        })
        .unwrap_or_default()
}

/// Reads the trail of `registration_id`.
pub async fn read(db: &impl GenericClient, registration_id: &str) -> Result<Trail, ConsoleError> {
    let Some(t) = db
        .query_opt(
            "SELECT to_jsonb(t) FROM console.registration_trail t WHERE t.registration_id = $1",
            &[&registration_id],
        )
        .await?
        .map(|r| r.get::<_, serde_json::Value>(0))
    else {
        return unmapped(db, registration_id).await;
    };
    let s = |k: &str| text_of(&t[k]);
    let path_keys = [
        ("approval_status", "Approval"),
        ("registration_status", "Registration status"),
        ("registration_type", "Registration type"),
        ("meetmax_event_id", "MeetMax event"),
        ("released_at", "Released to meetmax-sync"),
        ("release_run_id", "Release run"),
        ("sync_state", "Sync state"),
        ("meetmax_id", "MeetMax id"),
        ("sync_attempts", "Sync attempts"),
        ("sync_error_class", "Sync error class"),
        ("sync_error", "Sync error"),
        ("synced_at", "Synced at"),
        ("meetmax_status", "meetmax_status column"),
        ("exclusion_reason", "Excluded because"),
        ("excluded_by", "Excluded by"),
    ];
    let path = path_keys
        .iter()
        .filter(|(k, _)| !t[*k].is_null())
        .map(|(k, label)| Field { label: (*label).to_owned(), value: s(k) })
        .collect();
    let row: serde_json::Value = db
        .query_one(
            "SELECT to_jsonb(r) FROM conferences_events.exchange_registration r WHERE r.registration_id = $1",
            &[&registration_id],
        )
        .await?
        .get(0);
    let company = db
        .query_opt(
            "SELECT jsonb_build_object(
                 'Organisation as typed', o.original_organization, 'Clean name', o.clean_organization,
                 'Reviewed', o.reviewed, 'Suggested clean name', n.suggested_clean,
                 'Suggestion score', round(n.suggestion_score::numeric, 2), 'Approved automatically', n.auto_approved,
                 'Other candidates', n.alternatives, 'First seen', n.first_seen_at)
               FROM conferences_events.exchange_organizations o
               LEFT JOIN integration.organization_name n ON n.original_organization = o.original_organization
              WHERE o.original_organization = $1
              ORDER BY o.reviewed DESC NULLS LAST, o.id LIMIT 1",
            &[&t["organization"].as_str()],
        )
        .await?
        .map(|r| fields(&r.get::<_, serde_json::Value>(0)))
        .unwrap_or_default();
    let current_raw = t["raw_id"].as_i64();
    let raw = raw_versions(db, registration_id, t["form_id"].as_str(), current_raw).await?;
    let history = db
        .query(
            "SELECT to_char(replaced_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), status
               FROM integration.meetmax_status_history WHERE registration_id = $1 ORDER BY id DESC LIMIT 20",
            &[&registration_id],
        )
        .await?
        .iter()
        .map(|r| Field { label: r.get(0), value: r.get(1) })
        .collect();
    let runs = db
        .query(
            "WITH ids AS (
                 SELECT run_id, 'stored a submission' AS what FROM integration.raw_submission WHERE submission_id = $1 AND run_id IS NOT NULL
                 UNION SELECT run_id, 'released it to MeetMax sync' FROM integration.meetmax_release WHERE registration_id = $1 AND run_id IS NOT NULL)
             SELECT r.run_id::text, ids.what,
                    r.function_name || ' · ' || r.trigger || ' · ' || r.status || ' · ' ||
                    to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') ||
                    coalesce(' · ' || r.error, '')
               FROM ids JOIN integration.run r ON r.run_id = ids.run_id
              ORDER BY r.started_at DESC LIMIT 20",
            &[&registration_id],
        )
        .await?
        .iter()
        .map(|r| RunLine { id: r.get(0), what: r.get(1), summary: r.get(2) })
        .collect();
    let filter =
        audit::Filter { target: format!("registration:{registration_id}"), exact_target: true, ..Default::default() };
    let audit = audit::list(db, &filter, 20).await?;
    Ok(Trail {
        registration_id: registration_id.to_owned(),
        name: format!("{} {}", s("first_name"), s("last_name")).trim().to_owned(),
        standing: s("standing"),
        reason: s("reason"),
        path,
        row: fields(&redact::json(&row)),
        company,
        history,
        runs,
        audit,
        excluded: !t["exclusion_reason"].is_null(),
        released: !t["released_at"].is_null(),
        unmapped: raw.iter().any(|r| r.status == "pending" || r.status == "error"),
        raw,
    })
}

/// The stored submissions of `registration_id` (of `form_id`, when known), newest first.
async fn raw_versions(
    db: &impl GenericClient,
    registration_id: &str,
    form_id: Option<&str>,
    current_raw: Option<i64>,
) -> Result<Vec<RawVersion>, ConsoleError> {
    let raw = db
        .query(
            "SELECT id, source, to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), mapping_status,
                    coalesce(mapping_error, ''), coalesce(run_id::text, ''),
                    parsed, CASE WHEN parsed IS NULL THEN convert_from(raw_body, 'UTF8') END
               FROM integration.raw_submission
              WHERE submission_id = $1 AND ($2::text IS NULL OR form_id = $2)
              ORDER BY id DESC LIMIT 20",
            &[&registration_id, &form_id],
        )
        .await?;
    let raw: Vec<RawVersion> = raw
        .iter()
        .map(|r| {
            // The parsed webhook, else the stored body: a pulled record's JSON, or whatever came
            // (shown as text when it is not JSON).
            let parsed: Option<serde_json::Value> = r.get(6);
            let stored: Option<String> = r.get(7);
            let body = match (parsed, stored) {
                (Some(v), _) => serde_json::to_string_pretty(&redact::json(&v)).unwrap_or_default(),
                (None, Some(text)) => match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(v) => serde_json::to_string_pretty(&redact::json(&v)).unwrap_or_default(),
                    Err(_) => redact::text(&text),
                },
                (None, None) => String::new(),
            };
            let id: i64 = r.get(0);
            RawVersion {
                id,
                source: r.get(1),
                received: r.get(2),
                status: r.get(3),
                error: r.get(4),
                run_id: r.get(5),
                current: Some(id) == current_raw,
                body,
            }
        })
        .collect();
    Ok(raw)
}

/// The trail of a submission that made no registration row: refused by the mapping, or not
/// mapped yet.
async fn unmapped(db: &impl GenericClient, registration_id: &str) -> Result<Trail, ConsoleError> {
    let raw = raw_versions(db, registration_id, None, None).await?;
    let Some(latest) = raw.first() else {
        return Err(ConsoleError::NotFound(format!("no registration or stored submission {registration_id:?}")));
    };
    let reason = if latest.status == "error" {
        format!("not a registration: its submission was refused by the mapping: {}", latest.error)
    } else {
        format!("not a registration yet: its submission is {}", latest.status)
    };
    let filter =
        audit::Filter { target: format!("registration:{registration_id}"), exact_target: true, ..Default::default() };
    Ok(Trail {
        registration_id: registration_id.to_owned(),
        name: String::new(),
        standing: "unmapped".into(),
        reason,
        path: Vec::new(),
        row: Vec::new(),
        company: Vec::new(),
        history: Vec::new(),
        runs: Vec::new(),
        audit: audit::list(db, &filter, 20).await?,
        excluded: false,
        released: false,
        unmapped: raw.iter().any(|r| r.status == "pending" || r.status == "error"),
        raw,
    })
}

#[derive(Template)]
#[template(path = "trail.html")]
struct TrailPage {
    chrome: Chrome,
    notice: Option<String>,
    trail: Trail,
}

/// `GET /trail/{registration_id}`.
pub async fn page(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(registration_id): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let conn = app.warehouse.conn().await?;
    let trail = read(&**conn, &registration_id).await?;
    let chrome = Chrome::new(format!("{} · {}", trail.name, trail.registration_id), &person, "trail");
    Ok(render(&TrailPage { chrome, notice: n.notice, trail }))
}

/// An action's form.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    /// Why (an exclusion's reason).
    #[serde(default)]
    pub reason: String,
}

/// `POST /trail/{registration_id}/{action}`: `resync`, `clear` (a failed sync tried again),
/// `exclude` (with a reason), `include` (an exclusion lifted).
pub async fn act(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path((registration_id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let notice = if action == "remap" {
        remap(app, person, registration_id.clone()).await?
    } else {
        perform(app, person, registration_id.clone(), action, form.reason).await?
    };
    Ok(done(&format!("/trail/{}", crate::web::enc(&registration_id)), &notice))
}

/// The `remap` command of formstack-intake for the registration's form: its stored submissions
/// left pending or refused by the mapping are mapped again (after a fix to the form's
/// configuration); the changed registrations go on to company-dedupe as usual. Audited with
/// the run's counts.
pub async fn remap(app: App, person: Person, registration_id: String) -> Result<String, ConsoleError> {
    let form_id: Option<String> = {
        let conn = app.warehouse.conn().await?;
        conn.query_opt(
            "SELECT form_id FROM integration.raw_submission WHERE submission_id = $1 ORDER BY id DESC LIMIT 1",
            &[&registration_id],
        )
        .await?
        .map(|r| r.get(0))
    };
    let Some(form_id) = form_id else {
        return Err(ConsoleError::BadRequest("no stored submission of this registration: nothing to map again".into()));
    };
    let outcome = app.services.intake.remap(true, Some(&form_id)).await;
    let text = match &outcome {
        Ok(r) => format!(
            "form {form_id}: {} mapped, {} refused by the mapping, {} inserted, {} updated",
            r.mapped, r.mapping_errors, r.inserted, r.updated
        ),
        Err(e) => format!("failed: {e}"),
    };
    let target = format!("registration:{registration_id}");
    let parameters = serde_json::json!({"form_id": form_id, "include_errors": true});
    audit::record_after(&app.warehouse, &person.email, "remap", &target, &parameters, &text).await?;
    outcome.map_err(|e| ConsoleError::Aws(e.to_string()))?;
    Ok(text)
}

/// Announces the registration to meetmax-sync through the outbox (sent after commit).
async fn announce(
    tx: &platform_warehouse::tokio_postgres::Transaction<'_>,
    registration_id: &str,
) -> Result<(), ConsoleError> {
    let ids = [registration_id.to_owned()];
    platform_warehouse::outbox::enqueue(tx, KIND_REGISTRATIONS_RELEASED, &ids, uuid::Uuid::now_v7()).await?;
    Ok(())
}

/// Performs a trail action in one transaction with its audit row; returns what it did.
pub async fn perform(
    app: App,
    person: Person,
    registration_id: String,
    action: String,
    reason: String,
) -> Result<String, ConsoleError> {
    let (registration_id, action) = (registration_id.as_str(), action.as_str());
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    audit::acting_as(&tx, &person.email).await?;
    let before: Option<serde_json::Value> = tx
        .query_opt(
            "SELECT jsonb_build_object('standing', standing, 'reason', reason, 'released', released_at IS NOT NULL)
               FROM console.registration_trail WHERE registration_id = $1",
            &[&registration_id],
        )
        .await?
        .map(|r| r.get(0));
    let Some(before) = before else {
        return Err(ConsoleError::NotFound(format!("no registration {registration_id:?}")));
    };
    let released = before["released"] == true;
    let standing = before["standing"].as_str().unwrap_or("").to_owned();
    let (parameters, notice) = match action {
        "resync" => {
            if !released {
                return Err(ConsoleError::BadRequest(format!(
                    "not released to MeetMax sync yet ({}): there is nothing to resync",
                    before["reason"].as_str().unwrap_or("")
                )));
            }
            if standing == "excluded" {
                return Err(ConsoleError::BadRequest("excluded from MeetMax: include it first".into()));
            }
            announce(&tx, registration_id).await?;
            (serde_json::json!({}), "sent to meetmax-sync again".to_owned())
        }
        "clear" => {
            let cleared = tx
                .execute(
                    "UPDATE integration.meetmax_sync
                        SET state = 'pending', error = NULL, error_class = NULL, failed_fields = NULL, attempts = 0,
                            updated_at = now()
                      WHERE registration_id = $1 AND state IN ('failed', 'ineligible')",
                    &[&registration_id],
                )
                .await?;
            if cleared == 0 {
                return Err(ConsoleError::BadRequest("its MeetMax sync has not failed: nothing to clear".into()));
            }
            announce(&tx, registration_id).await?;
            (serde_json::json!({}), "failure cleared; sent to meetmax-sync again".to_owned())
        }
        "exclude" => {
            let reason = platform_domain::storable::text(reason.trim()).into_owned();
            if reason.is_empty() || reason.chars().count() > 500 {
                return Err(ConsoleError::BadRequest("an exclusion needs a reason (up to 500 characters)".into()));
            }
            let added = tx
                .execute(
                    "INSERT INTO integration.meetmax_exclusion (registration_id, reason, excluded_by)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&registration_id, &reason, &person.email],
                )
                .await?;
            if added == 0 {
                return Err(ConsoleError::BadRequest("already excluded".into()));
            }
            (serde_json::json!({"reason": reason}), "excluded from MeetMax".to_owned())
        }
        "include" => {
            let removed = tx
                .execute("DELETE FROM integration.meetmax_exclusion WHERE registration_id = $1", &[&registration_id])
                .await?;
            if removed == 0 {
                return Err(ConsoleError::BadRequest("not excluded".into()));
            }
            if released {
                announce(&tx, registration_id).await?;
            }
            (serde_json::json!({}), "included again".to_owned())
        }
        other => return Err(ConsoleError::NotFound(format!("no action {other:?}"))),
    };
    let after: serde_json::Value = tx
        .query_one(
            "SELECT jsonb_build_object('standing', standing, 'reason', reason, 'released', released_at IS NOT NULL)
               FROM console.registration_trail WHERE registration_id = $1",
            &[&registration_id],
        )
        .await?
        .get(0);
    let target = format!("registration:{registration_id}");
    audit::record(&tx, &person.email, action, &target, &parameters, Some(&before), Some(&after), &notice).await?;
    tx.commit().await?;
    if matches!(action, "resync" | "clear" | "include") {
        let published = app.services.dedupe.publish_released(&mut conn, &uuid::Uuid::now_v7().to_string()).await;
        tracing::info!(%registration_id, action, published, "registration announced to meetmax-sync");
    }
    Ok(notice)
}
