//! Admin: who may sign in as what (the allow-list `console.person`) and the sessions open now,
//! each revocable. Admins only; every change audited (the allow-list's trigger and an action row).

use askama::Template;
use axum::{
    Extension, Form,
    extract::{Query, State},
    response::Response,
};
use serde::Deserialize;

use crate::{
    App, ConsoleError, audit,
    pages::Notice,
    session::{Person, Role},
    web::{Chrome, done, render},
};

/// A person of the allow-list.
#[derive(Debug, Clone)]
pub struct Listed {
    /// E-mail.
    pub email: String,
    /// Role.
    pub role: String,
    /// Who added them, and when (UTC).
    pub added: String,
}

/// A session open now.
#[derive(Debug, Clone)]
pub struct Open {
    /// Its id.
    pub id: i64,
    /// Whose.
    pub email: String,
    /// Its role.
    pub role: String,
    /// Started, last used, ends (UTC).
    pub times: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    chrome: Chrome,
    notice: Option<String>,
    people: Vec<Listed>,
    sessions: Vec<Open>,
}

/// `GET /admin`.
pub async fn page(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Admin)?;
    let conn = app.warehouse.conn().await?;
    let people = conn
        .query(
            "SELECT email, role, coalesce(added_by, '?') || ', ' || to_char(added_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
               FROM console.person ORDER BY email",
            &[],
        )
        .await?
        .iter()
        .map(|r| Listed { email: r.get(0), role: r.get(1), added: r.get(2) })
        .collect();
    let sessions = conn
        .query(
            "SELECT id, email, role,
                    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' · ' ||
                    to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' · ' ||
                    to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
               FROM console.session WHERE revoked_at IS NULL AND expires_at > now()
              ORDER BY last_seen_at DESC LIMIT 200",
            &[],
        )
        .await?
        .iter()
        .map(|r| Open { id: r.get(0), email: r.get(1), role: r.get(2), times: r.get(3) })
        .collect();
    Ok(render(&AdminPage { chrome: Chrome::new("Admin", &person, "admin"), notice: n.notice, people, sessions }))
}

/// The allow-list form.
#[derive(Debug, Deserialize)]
pub struct PersonForm {
    /// E-mail.
    #[serde(default)]
    pub email: String,
    /// Role (`viewer`, `operator`, `admin`).
    #[serde(default)]
    pub role: String,
}

fn email_of(raw: &str) -> Result<String, ConsoleError> {
    let email = platform_domain::storable::text(raw.trim()).to_lowercase();
    let plain = email.chars().all(|c| !c.is_whitespace() && !c.is_control());
    match email.split_once('@') {
        Some((user, domain)) if plain && !user.is_empty() && domain.contains('.') && email.len() <= 254 => Ok(email),
        _ => Err(ConsoleError::BadRequest(format!("{raw:?} is not an e-mail address"))),
    }
}

/// `POST /admin/people`: adds a person or changes their role; their open sessions end (they
/// sign in again with the new role).
pub async fn set_person(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Form(form): Form<PersonForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Admin)?;
    let email = email_of(&form.email)?;
    let role = Role::parse(&form.role)
        .ok_or_else(|| ConsoleError::BadRequest("the role is viewer, operator or admin".into()))?;
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    audit::acting_as(&tx, &person.email).await?;
    tx.execute(
        "INSERT INTO console.person (email, role, added_by) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO UPDATE SET role = excluded.role",
        &[&email, &role.as_str(), &person.email],
    )
    .await?;
    let ended = end_sessions(&tx, &email).await?;
    let outcome = format!("{email} is a {}; {ended} sessions ended", role.as_str());
    let parameters = serde_json::json!({"role": role});
    audit::record(&tx, &person.email, "allow", &format!("person:{email}"), &parameters, None, None, &outcome).await?;
    tx.commit().await?;
    Ok(done("/admin", &outcome))
}

/// `POST /admin/people/remove`: takes a person off the allow-list and ends their sessions.
pub async fn remove_person(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Form(form): Form<PersonForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Admin)?;
    let email = email_of(&form.email)?;
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    audit::acting_as(&tx, &person.email).await?;
    let removed = tx.execute("DELETE FROM console.person WHERE email = $1", &[&email]).await?;
    if removed == 0 {
        return Err(ConsoleError::BadRequest(format!("{email} is not on the allow-list")));
    }
    let ended = end_sessions(&tx, &email).await?;
    let outcome = format!("{email} removed; {ended} sessions ended");
    audit::record(
        &tx,
        &person.email,
        "disallow",
        &format!("person:{email}"),
        &serde_json::json!({}),
        None,
        None,
        &outcome,
    )
    .await?;
    tx.commit().await?;
    Ok(done("/admin", &outcome))
}

async fn end_sessions(
    tx: &platform_warehouse::tokio_postgres::Transaction<'_>,
    email: &str,
) -> Result<u64, ConsoleError> {
    Ok(tx
        .execute("UPDATE console.session SET revoked_at = now() WHERE email = $1 AND revoked_at IS NULL", &[&email])
        .await?)
}

/// The revoke form.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    /// The session's id.
    pub id: i64,
}

/// `POST /admin/sessions/revoke`: ends one session now.
pub async fn revoke_session(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Admin)?;
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    let whose: Option<String> = tx
        .query_opt(
            "UPDATE console.session SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING email",
            &[&form.id],
        )
        .await?
        .map(|r| r.get(0));
    let Some(whose) = whose else {
        return Err(ConsoleError::BadRequest("no such open session".into()));
    };
    let outcome = format!("a session of {whose} ended");
    let target = format!("session:{}", form.id);
    audit::record(&tx, &person.email, "revoke", &target, &serde_json::json!({"email": whose}), None, None, &outcome)
        .await?;
    tx.commit().await?;
    Ok(done("/admin", &outcome))
}
