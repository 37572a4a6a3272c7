//! Audit: every change, newest first, filtered by person, action and target.

use askama::Template;
use axum::{
    Extension,
    extract::{Query, State},
    response::Response,
};

use crate::{
    App, ConsoleError,
    audit::{self, Entry, Filter},
    session::Person,
    web::{Chrome, PAGE_SIZE, render},
};

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    notice: Option<String>,
    filter: Filter,
    entries: Vec<Entry>,
    older: Option<i64>,
}

/// `GET /audit?actor=&action=&target=&before=`.
pub async fn page(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Query(filter): Query<Filter>,
) -> Result<Response, ConsoleError> {
    let conn = app.warehouse.conn().await?;
    let mut entries = audit::list(&**conn, &filter, PAGE_SIZE + 1).await?;
    let older = (entries.len() as i64 > PAGE_SIZE).then(|| entries[PAGE_SIZE as usize - 1].id);
    entries.truncate(PAGE_SIZE as usize);
    Ok(render(&AuditPage { chrome: Chrome::new("Audit", &person, "audit"), notice: None, filter, entries, older }))
}
