//! Runs: the latest runs of every function (or of one), newest first, with their counts and notes.

use askama::Template;
use axum::{
    Extension,
    extract::{Query, State},
    response::Response,
};
use serde::Deserialize;

use crate::{
    App, ConsoleError,
    session::Person,
    web::{Chrome, PAGE_SIZE, render},
};

/// One run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Run id.
    pub id: String,
    /// Function (or `connector-pull connection/stream`).
    pub function: String,
    /// Trigger.
    pub trigger: String,
    /// Started (UTC).
    pub started: String,
    /// Status.
    pub status: String,
    /// Read / written / skipped / failed.
    pub counts: String,
    /// Error, or notes.
    pub detail: String,
}

/// The filters.
#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    /// Function (exact, or `connector-pull …`).
    #[serde(default)]
    pub function: String,
    /// Only runs that did not succeed.
    #[serde(default)]
    pub troubled: Option<String>,
    /// Notice.
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    chrome: Chrome,
    notice: Option<String>,
    function: String,
    runs: Vec<Run>,
}

/// `GET /runs?function=`.
pub async fn page(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Query(q): Query<RunsQuery>,
) -> Result<Response, ConsoleError> {
    let conn = app.warehouse.conn().await?;
    let rows = conn
        .query(
            "SELECT * FROM (
                 (SELECT run_id::text, function_name, trigger, started_at, status,
                         read_count || ' / ' || written_count || ' / ' || skipped_count || ' / ' || failed_count,
                         coalesce(error, array_to_string(ARRAY(SELECT jsonb_array_elements_text(notes)), '; '))
                    FROM integration.run
                   WHERE ($1 = '' OR function_name = $1) ORDER BY started_at DESC LIMIT $2)
                 UNION ALL
                 (SELECT run_id::text, 'connector-pull ' || connection || '/' || stream, trigger, started_at, status,
                         read_count || ' / ' || (created_count + updated_count) || ' / ' || skipped_count || ' / ' || failed_count,
                         coalesce(error, removal, array_to_string(ARRAY(SELECT jsonb_array_elements_text(notes)), '; '))
                    FROM connector.stream_run
                   WHERE ($1 = '' OR 'connector-pull ' || connection || '/' || stream = $1) ORDER BY started_at DESC LIMIT $2)
             ) runs ORDER BY started_at DESC LIMIT $2",
            &[&q.function, &PAGE_SIZE],
        )
        .await?;
    let runs = rows
        .iter()
        .map(|r| Run {
            id: r.get(0),
            function: r.get(1),
            trigger: r.get(2),
            started: r.get::<_, chrono::DateTime<chrono::Utc>>(3).format("%Y-%m-%d %H:%M:%S").to_string(),
            status: r.get(4),
            counts: r.get(5),
            detail: r.get::<_, Option<String>>(6).unwrap_or_default(),
        })
        .collect();
    Ok(render(&RunsPage { chrome: Chrome::new("Runs", &person, "runs"), notice: q.notice, function: q.function, runs }))
}
