//! Today: the morning's picture. What failed in the last 24 hours, what waits for a person, and
//! each linked to where it is fixed.

use askama::Template;
use axum::{
    Extension,
    extract::{Query, State},
    response::Response,
};
use platform_warehouse::tokio_postgres::GenericClient;

use crate::{
    App, ConsoleError,
    pages::Notice,
    queues::{self, Depths},
    session::Person,
    web::{Chrome, render},
};

/// Runs of one function (or connector stream) that failed or were partial in the last 24 hours.
#[derive(Debug, Clone)]
pub struct RunTrouble {
    /// The function (for a connector pull: `connector-pull connection/stream`).
    pub function: String,
    /// `failed` or `partial`.
    pub status: String,
    /// How many.
    pub count: i64,
    /// The latest (UTC).
    pub last: String,
    /// The latest one's error or first note.
    pub detail: String,
}

/// Registrations held, by why.
#[derive(Debug, Clone)]
pub struct Held {
    /// The standing (a `console.registration_trail` value).
    pub standing: String,
    /// In words.
    pub label: &'static str,
    /// How many.
    pub count: i64,
}

/// An integration that cannot deliver yet.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// Its id.
    pub id: String,
    /// Its client.
    pub client: String,
    /// What it still needs.
    pub missing: String,
}

/// A subscription whose report of today was not e-mailed by 05:15 UTC.
#[derive(Debug, Clone)]
pub struct LateExport {
    /// Subscription id.
    pub subscription: String,
    /// The report's state (`not planned`, `planned`, `failed: …`, …).
    pub state: String,
}

/// What the page shows.
#[derive(Debug, Clone)]
pub struct Picture {
    /// Failed and partial runs.
    pub runs: Vec<RunTrouble>,
    /// Organisation names awaiting review.
    pub names_to_review: i64,
    /// Approved, active registrations those names hold back.
    pub registrations_waiting_on_names: i64,
    /// Registrations held, by why.
    pub held: Vec<Held>,
    /// Integrations awaiting information.
    pub integrations: Vec<Waiting>,
    /// Exports not e-mailed by 05:15 UTC (empty before then).
    pub late_exports: Vec<LateExport>,
    /// Whether it is past 05:15 UTC.
    pub past_export_deadline: bool,
}

/// The label of a standing that holds a registration back.
pub fn held_label(standing: &str) -> &'static str {
    match standing {
        "awaiting_review" => "organisation awaits review",
        "awaiting_gate" => "waiting for the next dedupe pass",
        "failed" => "MeetMax refused or failed",
        "ineligible" => "not sendable (ineligible)",
        "type_not_sent" => "registration type not sent",
        "event_disabled" => "MeetMax event disabled",
        "queued" => "released, waiting for meetmax-sync",
        _ => "other",
    }
}

/// Reads the picture.
pub async fn picture(db: &impl GenericClient) -> Result<Picture, ConsoleError> {
    let runs = db
        .query(
            "WITH bad AS (
                 SELECT function_name AS function, status, started_at,
                        coalesce(error, notes->>0, '') AS detail
                   FROM integration.run
                  WHERE started_at > now() - interval '24 hours' AND status IN ('failed', 'partial')
                 UNION ALL
                 SELECT 'connector-pull ' || connection || '/' || stream, status, started_at,
                        coalesce(error, removal, notes->>0, '')
                   FROM connector.stream_run
                  WHERE started_at > now() - interval '24 hours' AND status IN ('failed', 'partial'))
             SELECT function, status, count(*),
                    to_char(max(started_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                    (array_agg(detail ORDER BY started_at DESC))[1]
               FROM bad GROUP BY function, status ORDER BY function, status",
            &[],
        )
        .await?
        .iter()
        .map(|r| RunTrouble { function: r.get(0), status: r.get(1), count: r.get(2), last: r.get(3), detail: r.get(4) })
        .collect();
    let names = db
        .query_one(
            "SELECT count(*),
                    (SELECT count(*) FROM conferences_events.exchange_registration r
                      WHERE r.approval_status = 'Approved' AND r.registration_status = 'Active'
                        AND EXISTS (SELECT 1 FROM conferences_events.exchange_organizations o
                                     WHERE o.original_organization = r.organization AND o.reviewed IS NOT TRUE))
               FROM conferences_events.exchange_organizations
              WHERE reviewed IS NOT TRUE AND btrim(coalesce(original_organization, '')) <> ''",
            &[],
        )
        .await?;
    let held = db
        .query(
            "SELECT standing, count(*) FROM console.registration_trail
              WHERE approval_status = 'Approved' AND registration_status = 'Active'
                AND standing NOT IN ('in_meetmax', 'excluded', 'no_event', 'not_approved')
              GROUP BY standing ORDER BY count(*) DESC",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            let standing: String = r.get(0);
            Held { label: held_label(&standing), standing, count: r.get(1) }
        })
        .collect();
    let integrations = db
        .query(
            "SELECT id, client_id, array_to_string(missing, ', ') FROM leads.integration
              WHERE enabled AND state = 'awaiting_information' ORDER BY client_id, id",
            &[],
        )
        .await?
        .iter()
        .map(|r| Waiting { id: r.get(0), client: r.get(1), missing: r.get(2) })
        .collect();
    let past: bool = db.query_one("SELECT (now() AT TIME ZONE 'UTC')::time >= time '05:15'", &[]).await?.get(0);
    let late_exports = if past {
        db.query(
            "SELECT s.id,
                    CASE WHEN e.subscription_id IS NULL THEN 'not planned'
                         WHEN e.status = 'done' THEN 'written, not e-mailed'
                         ELSE e.status || coalesce(': ' || e.error, '') END
               FROM leads.export_subscription s
               LEFT JOIN leads.export e ON e.subscription_id = s.id AND e.report_date = (now() AT TIME ZONE 'UTC')::date
              WHERE s.enabled AND cardinality(s.recipients) > 0 AND e.emailed_at IS NULL
              ORDER BY s.id",
            &[],
        )
        .await?
        .iter()
        .map(|r| LateExport { subscription: r.get(0), state: r.get(1) })
        .collect()
    } else {
        Vec::new()
    };
    Ok(Picture {
        runs,
        names_to_review: names.get(0),
        registrations_waiting_on_names: names.get(1),
        held,
        integrations,
        late_exports,
        past_export_deadline: past,
    })
}

#[derive(Template)]
#[template(path = "today.html")]
struct TodayPage {
    chrome: Chrome,
    notice: Option<String>,
    picture: Picture,
    queues: Vec<Depths>,
    as_of: String,
}

/// `GET /`.
pub async fn page(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let (picture, queues) = tokio::join!(Latest::get(&app), queues::depths(&app));
    let (picture, as_of) = picture?;
    let page = TodayPage {
        chrome: Chrome::new("Today", &person, "today"),
        notice: n.notice,
        picture: (*picture).clone(),
        queues,
        as_of: as_of.format("%H:%M:%S").to_string(),
    };
    Ok(render(&page))
}

/// How old the picture may be before it is read again.
pub const PICTURE_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// The latest picture of this container, shared by every viewer: read at most once a minute,
/// and then in the background while the previous one is shown (its counts go over every
/// approved registration, which takes longer than a page may). The page says when it was read.
#[derive(Debug, Default)]
pub struct Latest {
    held: tokio::sync::Mutex<Option<Read>>,
    refreshing: std::sync::atomic::AtomicBool,
}

#[derive(Debug, Clone)]
struct Read {
    at: std::time::Instant,
    as_of: chrono::DateTime<chrono::Utc>,
    picture: std::sync::Arc<Picture>,
}

impl Latest {
    /// The picture and when it was read: the one held if it is recent, else the one held while
    /// a new one is read in the background, else (the container's first) one read now.
    pub async fn get(app: &App) -> Result<(std::sync::Arc<Picture>, chrono::DateTime<chrono::Utc>), ConsoleError> {
        use std::sync::atomic::Ordering;
        let held = app.today.held.lock().await.clone();
        match held {
            Some(r) if r.at.elapsed() < PICTURE_AGE => Ok((r.picture, r.as_of)),
            Some(r) => {
                if !app.today.refreshing.swap(true, Ordering::AcqRel) {
                    let app = app.clone();
                    tokio::spawn(async move {
                        if let Err(e) = Latest::read(&app).await {
                            tracing::warn!(error = %e, "Today's picture not read again; the previous one stays");
                        }
                        app.today.refreshing.store(false, Ordering::Release);
                    });
                }
                Ok((r.picture, r.as_of))
            }
            None => {
                let r = Latest::read(app).await?;
                Ok((r.picture, r.as_of))
            }
        }
    }

    async fn read(app: &App) -> Result<Read, ConsoleError> {
        let as_of = chrono::Utc::now();
        let conn = app.warehouse.conn().await?;
        let read = Read { at: std::time::Instant::now(), as_of, picture: std::sync::Arc::new(picture(&**conn).await?) };
        *app.today.held.lock().await = Some(read.clone());
        Ok(read)
    }
}
