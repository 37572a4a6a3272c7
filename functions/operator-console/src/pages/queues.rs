//! Queues: every queue and its dead-letter queue, a redacted look at dead messages with what the
//! warehouse recorded about their records, and redrive behind a confirmation.

use askama::Template;
use axum::{
    Extension,
    extract::{Path, Query, State},
    response::Response,
};

use crate::{
    App, ConsoleError, QueuePair,
    pages::Notice,
    queues::{self, DeadMessage, Depths},
    session::{Person, Role},
    web::{Chrome, done, render},
};

#[derive(Template)]
#[template(path = "queues.html")]
struct QueuesPage {
    chrome: Chrome,
    notice: Option<String>,
    queues: Vec<Depths>,
}

/// `GET /queues`.
pub async fn page(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let queues = queues::depths(&app).await;
    Ok(render(&QueuesPage { chrome: Chrome::new("Queues", &person, "queues"), notice: n.notice, queues }))
}

fn pair(app: &App, name: &str) -> Result<QueuePair, ConsoleError> {
    app.settings.queue(name).cloned().ok_or_else(|| ConsoleError::NotFound(format!("no queue {name:?}")))
}

#[derive(Template)]
#[template(path = "queue.html")]
struct DeadPage {
    chrome: Chrome,
    notice: Option<String>,
    name: String,
    messages: Vec<DeadMessage>,
}

/// `GET /queues/{name}`: the dead messages.
pub async fn dead(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(name): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let pair = pair(&app, &name)?;
    let messages = queues::peek(&app, &pair).await?;
    Ok(render(&DeadPage {
        chrome: Chrome::new(format!("Dead messages of {name}"), &person, "queues"),
        notice: n.notice,
        name,
        messages,
    }))
}

#[derive(Template)]
#[template(path = "redrive.html")]
struct ConfirmPage {
    chrome: Chrome,
    notice: Option<String>,
    depths: Depths,
}

/// `GET /queues/{name}/redrive`: what a redrive would move, and the button that does it.
pub async fn confirm(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(name): Path<String>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    pair(&app, &name)?;
    let depths = queues::depths(&app).await.into_iter().find(|d| d.name == name).expect("the queue is configured");
    Ok(render(&ConfirmPage { chrome: Chrome::new(format!("Redrive {name}"), &person, "queues"), notice: None, depths }))
}

/// `POST /queues/{name}/redrive`.
pub async fn redrive(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Path(name): Path<String>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let pair = pair(&app, &name)?;
    let outcome = queues::redrive(&app, &pair, &person.email).await?;
    Ok(done("/queues", &format!("{name}: {outcome}")))
}
