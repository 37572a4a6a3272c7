//! What every page shares: the layout's data, rendering, error pages, the assets served from the
//! binary and the security headers of every answer.

use askama::Template;
use axum::{
    extract::{Path, Request},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Redirect, Response},
};

use crate::{ConsoleError, session::Person};

/// The layout's data: the page title, the person and which tab is current.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Title.
    pub title: String,
    /// The signed-in person.
    pub person: Person,
    /// The current tab (`today`, `trail`, `review`, `queues`, `runs`, `audit`).
    pub tab: &'static str,
}

impl Chrome {
    /// The layout of a page.
    pub fn new(title: impl Into<String>, person: &Person, tab: &'static str) -> Chrome {
        Chrome { title: title.into(), person: person.clone(), tab }
    }
}

/// A page: the template rendered, or the failure as an error page.
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

/// `s` as one URL path segment or query value (percent-encoded).
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// "set, last changed … UTC" or "not set" for secret `id`, from its metadata only (never its
/// value), or why it could not be told.
pub async fn secret_state(secrets: &platform_aws::SecretsCache, id: &str) -> Result<String, String> {
    match secrets.last_changed(id).await {
        Ok(Some(at)) => {
            let at: chrono::DateTime<chrono::Utc> = at.into();
            Ok(format!("set, last changed {} UTC", at.format("%Y-%m-%d %H:%M")))
        }
        Ok(None) => Err("not set".into()),
        Err(e) => {
            tracing::warn!(secret_id = id, error = %e, "a secret's metadata could not be read");
            Err("unknown (Secrets Manager did not answer)".into())
        }
    }
}

/// After a state change: back to `to` (303, so a reload does not repeat the POST), with a notice.
pub fn done(to: &str, notice: &str) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    let query: String = form_urlencoded::Serializer::new(String::new()).append_pair("notice", notice).finish();
    Redirect::to(&format!("{to}{sep}{query}")).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    heading: &'a str,
    message: &'a str,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            ConsoleError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m.clone()),
            ConsoleError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m.clone()),
            ConsoleError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Nothing was changed", m.clone()),
            ConsoleError::SignIn(e) => {
                tracing::warn!(error = %e, "sign-in refused");
                (StatusCode::UNAUTHORIZED, "Sign-in failed", e.to_string())
            }
            ConsoleError::Config(m) => {
                tracing::error!(error = %m, "configuration");
                (StatusCode::INTERNAL_SERVER_ERROR, "The console is misconfigured", m.clone())
            }
            ConsoleError::Warehouse(e) => {
                tracing::error!(error = %e, "warehouse");
                let status = if matches!(e, platform_warehouse::WarehouseError::Pool(_)) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                (status, "The warehouse failed", "Nothing was changed. Try again; the logs say more.".to_owned())
            }
            ConsoleError::Aws(m) => {
                tracing::error!(error = %m, "aws");
                (
                    StatusCode::BAD_GATEWAY,
                    "An AWS service failed",
                    "Nothing was changed. Try again; the logs say more.".to_owned(),
                )
            }
        };
        let page = ErrorPage { status: status.as_u16(), heading, message: &message };
        let mut response = render(&page);
        *response.status_mut() = status;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// The assets, compiled into the binary (no CDN).
const ASSETS: &[(&str, &str, &str)] = &[
    ("htmx-2.0.11.min.js", "text/javascript", include_str!("../assets/htmx-2.0.11.min.js")),
    ("console.js", "text/javascript", include_str!("../assets/console.js")),
    ("console.css", "text/css", include_str!("../assets/console.css")),
];

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, body)) => {
            ([(header::CONTENT_TYPE, *kind), (header::CACHE_CONTROL, "public, max-age=86400")], *body).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The Content-Security-Policy of every answer: scripts and styles only from this origin (no
/// inline script), never framed, forms posted only here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every answer; pages are never cached.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Rows per page of every list.
pub const PAGE_SIZE: i64 = 50;
