//! Who may do what: sign-in (the authorization code flow with PKCE), the session of every
//! request, and the checks of every state change (a POST from this origin, with the session's
//! anti-forgery token).

use axum::{
    body::Body,
    extract::{Query, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    App, ConsoleError, audit,
    session::{self, COOKIE, LOGIN_COOKIE, Person},
};

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, max_age_seconds: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}"))
        .expect("cookie values are base64url")
}

/// The session guard of every signed-in route: no session → sign in (a page) or 401 (anything
/// else); a state change → the origin and anti-forgery checks. The person goes into the
/// request's extensions.
pub async fn signed_in(State(app): State<App>, request: Request, next: Next) -> Response {
    let person = match cookie(request.headers(), COOKIE) {
        None => None,
        Some(token) => match app.warehouse.conn().await {
            Ok(conn) => match session::find(&**conn, token).await {
                Ok(p) => p,
                Err(e) => return e.into_response(),
            },
            Err(e) => return ConsoleError::from(e).into_response(),
        },
    };
    let Some(person) = person else {
        return sign_in_first(&request);
    };
    let request = if matches!(*request.method(), Method::GET | Method::HEAD) {
        request
    } else {
        match checked_change(request, &app.settings.public_url, &person).await {
            Ok(r) => r,
            Err(refusal) => return refusal,
        }
    };
    let mut request = request;
    request.extensions_mut().insert(person);
    next.run(request).await
}

fn sign_in_first(request: &Request) -> Response {
    let next = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let target =
        format!("/login?{}", form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish());
    if request.headers().contains_key("hx-request") {
        // htmx follows this header with a full page load.
        return (StatusCode::UNAUTHORIZED, [("hx-redirect", target)]).into_response();
    }
    if request.method() == Method::GET {
        Redirect::to(&target).into_response()
    } else {
        (StatusCode::UNAUTHORIZED, "sign in first").into_response()
    }
}

/// The most a form may carry.
const FORM_LIMIT: usize = 256 * 1024;

/// A state change must come from this origin (`Sec-Fetch-Site`, else `Origin`) and carry the
/// session's token (`X-CSRF-Token` header, or the form's `csrf` field).
#[allow(clippy::result_large_err)] // a refusal is a whole response, as axum handlers return it
async fn checked_change(request: Request, public_url: &str, person: &Person) -> Result<Request, Response> {
    let refuse = |why: &str| Err((StatusCode::FORBIDDEN, format!("refused: {why}")).into_response());
    let headers = request.headers();
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match (site, origin) {
        (Some("same-origin"), _) => {}
        (Some(other), _) => return refuse(&format!("a {other} request may not change anything")),
        (None, Some(o)) if o == public_url => {}
        (None, Some(o)) => return refuse(&format!("origin {o} is not this console")),
        (None, None) => return refuse("the request names no origin"),
    }
    let header_token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return refuse("the form is too large");
    };
    let token =
        header_token.or_else(|| form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned()));
    match token {
        Some(t) if session::same_secret(&t, &person.csrf) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => refuse("the form's anti-forgery token is missing or not this session's (reload the page)"),
    }
}

/// `GET /login?next=`: starts a sign-in at the issuer.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /login`.
pub async fn login(State(app): State<App>, Query(q): Query<LoginQuery>) -> Result<Response, ConsoleError> {
    let start = crate::oidc::Start::new();
    let url = app.issuer.authorize_url(&app.settings.redirect_uri(), &start).await?;
    let conn = app.warehouse.conn().await?;
    session::begin_login(&**conn, &start, &session::local_path(q.next.as_deref())).await?;
    let mut response = Redirect::to(&url).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &start.state, session::LOGIN_TTL.as_secs()));
    Ok(response)
}

/// The issuer's answer.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback`: the code redeemed, the token verified, the role found, a session opened.
pub async fn callback(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ConsoleError> {
    let bad = |why: &str| ConsoleError::SignIn(crate::oidc::OidcError::Token(why.to_owned()));
    if let Some(e) = q.error {
        return Err(ConsoleError::SignIn(crate::oidc::OidcError::Issuer(format!(
            "{e}: {}",
            q.error_description.unwrap_or_default()
        ))));
    }
    let (Some(code), Some(state)) = (q.code, q.state) else { return Err(bad("the answer has no code or state")) };
    // The answer must come back to the browser that asked.
    if !cookie(&headers, LOGIN_COOKIE).is_some_and(|c| session::same_secret(c, &state)) {
        return Err(bad("this sign-in was not started in this browser; start again"));
    }
    let conn = app.warehouse.conn().await?;
    let Some((start, return_to)) = session::take_login(&**conn, &state).await? else {
        return Err(bad("the sign-in is unknown, used or older than ten minutes; start again"));
    };
    drop(conn);
    let secret = app.client_secret().await?;
    let identity = app
        .issuer
        .redeem(&code, &start.verifier, &start.nonce, &app.settings.redirect_uri(), secret.as_deref())
        .await?;
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    let Some(role) = session::role_of(&tx, &identity).await? else {
        audit::record(
            &tx,
            &identity.email,
            "sign-in",
            "console",
            &serde_json::json!({}),
            None,
            None,
            "refused: no role",
        )
        .await?;
        tx.commit().await?;
        return Err(ConsoleError::Forbidden(format!(
            "{} has no role in the console: ask an admin to add you to a console group or the allow-list",
            identity.email
        )));
    };
    let token = session::open(&tx, &identity.email, &identity.subject, role, app.settings.session_ttl).await?;
    audit::record(&tx, &identity.email, "sign-in", "console", &serde_json::json!({"role": role}), None, None, "done")
        .await?;
    tx.commit().await?;
    tracing::info!(email = %identity.email, role = role.as_str(), "signed in");
    let mut response = Redirect::to(&return_to).into_response();
    let h = response.headers_mut();
    h.append(header::SET_COOKIE, set_cookie(COOKIE, &token, app.settings.session_ttl.as_secs()));
    h.append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", 0));
    Ok(response)
}

/// `POST /logout`: the session is revoked (it signs nobody in again) and the cookie cleared.
pub async fn logout(
    State(app): State<App>,
    axum::Extension(person): axum::Extension<Person>,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    if let Some(token) = cookie(&headers, COOKIE) {
        let mut conn = app.warehouse.conn().await?;
        let tx = audit::begin(&mut conn).await?;
        session::revoke(&tx, token).await?;
        audit::record(&tx, &person.email, "sign-out", "console", &serde_json::json!({}), None, None, "done").await?;
        tx.commit().await?;
    }
    let mut response = (StatusCode::OK, axum::response::Html(crate::pages::signed_out())).into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(COOKIE, "", 0));
    Ok(response)
}
