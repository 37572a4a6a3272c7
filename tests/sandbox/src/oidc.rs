//! A fake OpenID Connect issuer under `/oidc`, for the operator console's sign-in: discovery,
//! an authorization endpoint with a sign-in page (type an e-mail, press Sign in), the token
//! endpoint of the authorization code flow with PKCE (S256 only), and the JSON Web Key Set.
//! ID tokens are RS256 JWTs signed with a test key (`fixtures/oidc-signing-key.der`, PKCS#1, made
//! for this sandbox and used nowhere else).
//!
//! People: every e-mail may sign in; the groups of a known person go in the `cognito:groups`
//! claim (as a Cognito user pool's would). The demo people: `admin@example.com` (group
//! `console-admin`), `operator@example.com` (`console-operator`), `viewer@example.com`
//! (`console-viewer`); anyone else has no group.

use std::collections::HashMap;

use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ring::{rand::SystemRandom, signature::RsaKeyPair};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Shared;

/// The key id of the signing key in the JWKS and in every token's header.
pub const KEY_ID: &str = "sandbox-oidc-1";
const SIGNING_KEY: &[u8] = include_bytes!("../fixtures/oidc-signing-key.der");

/// The issuer's state: people, codes issued and not yet redeemed, and a count of tokens issued.
#[derive(Debug)]
pub struct OidcState {
    /// E-mail → groups.
    pub people: HashMap<String, Vec<String>>,
    codes: HashMap<String, Grant>,
    /// Token requests answered with an ID token.
    pub tokens_issued: u64,
}

impl Default for OidcState {
    fn default() -> Self {
        let people = [
            ("admin@example.com", "console-admin"),
            ("operator@example.com", "console-operator"),
            ("viewer@example.com", "console-viewer"),
        ]
        .into_iter()
        .map(|(e, g)| (e.to_owned(), vec![g.to_owned()]))
        .collect();
        OidcState { people, codes: HashMap::new(), tokens_issued: 0 }
    }
}

#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    challenge: String,
    email: String,
}

/// The issuer's routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/oidc/.well-known/openid-configuration", get(discovery))
        .route("/oidc/authorize", get(sign_in_page).post(sign_in))
        .route("/oidc/token", axum::routing::post(token))
        .route("/oidc/jwks", get(jwks))
}

fn key() -> RsaKeyPair {
    RsaKeyPair::from_der(SIGNING_KEY).expect("the sandbox's OIDC key is a PKCS#1 RSA key")
}

fn issuer(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}/oidc")
}

async fn discovery(headers: HeaderMap) -> Json<serde_json::Value> {
    let iss = issuer(&headers);
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "jwks_uri": format!("{iss}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile"],
    }))
}

async fn jwks() -> Json<serde_json::Value> {
    let key = key();
    let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(key.public());
    Json(json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KEY_ID,
        "n": B64.encode(&public.n),
        "e": B64.encode(&public.e),
    }]}))
}

/// The authorization request's parameters (carried through the sign-in page).
#[derive(Debug, Deserialize)]
struct Authorize {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    scope: Option<String>,
    email: Option<String>,
}

impl Authorize {
    fn check(&self) -> Result<(), String> {
        if self.response_type.as_deref() != Some("code") {
            return Err("response_type must be code".into());
        }
        if self.client_id.as_deref().unwrap_or("").is_empty() || self.redirect_uri.as_deref().unwrap_or("").is_empty() {
            return Err("client_id and redirect_uri are required".into());
        }
        if self.code_challenge_method.as_deref() != Some("S256") || self.code_challenge.is_none() {
            return Err("PKCE with code_challenge_method=S256 is required".into());
        }
        if !self.scope.as_deref().unwrap_or("").split(' ').any(|s| s == "openid") {
            return Err("scope must include openid".into());
        }
        Ok(())
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn sign_in_page(Query(q): Query<Authorize>) -> Response {
    if let Err(why) = q.check() {
        return (StatusCode::BAD_REQUEST, why).into_response();
    }
    let hidden: String = [
        ("response_type", &q.response_type),
        ("client_id", &q.client_id),
        ("redirect_uri", &q.redirect_uri),
        ("state", &q.state),
        ("nonce", &q.nonce),
        ("code_challenge", &q.code_challenge),
        ("code_challenge_method", &q.code_challenge_method),
        ("scope", &q.scope),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!(r#"<input type="hidden" name="{k}" value="{}">"#, escape(v))))
    .collect();
    Html(format!(
        r#"<!doctype html><html><head><title>Sandbox sign-in</title></head><body>
<h1>Sandbox identity provider</h1>
<form method="post" action="/oidc/authorize">{hidden}
<label>E-mail <input id="email" name="email" type="email" required></label>
<button id="sign-in" type="submit">Sign in</button></form>
<p>Demo people: admin@example.com, operator@example.com, viewer@example.com.</p></body></html>"#
    ))
    .into_response()
}

async fn sign_in(State(state): State<Shared>, Form(q): Form<Authorize>) -> Response {
    if let Err(why) = q.check() {
        return (StatusCode::BAD_REQUEST, why).into_response();
    }
    let email = q.email.clone().unwrap_or_default().trim().to_lowercase();
    if !email.contains('@') {
        return (StatusCode::BAD_REQUEST, "an e-mail is required").into_response();
    }
    let code = random_token();
    let grant = Grant {
        client_id: q.client_id.clone().unwrap_or_default(),
        redirect_uri: q.redirect_uri.clone().unwrap_or_default(),
        nonce: q.nonce.clone(),
        challenge: q.code_challenge.clone().unwrap_or_default(),
        email,
    };
    state.oidc.lock().await.codes.insert(code.clone(), grant.clone());
    let mut target = reqwest::Url::parse(&grant.redirect_uri).expect("redirect_uri checked as present");
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(s) = &q.state {
        target.query_pairs_mut().append_pair("state", s);
    }
    Redirect::to(target.as_str()).into_response()
}

/// A token request of the authorization code flow.
#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: String,
    code: String,
    redirect_uri: String,
    client_id: String,
    code_verifier: String,
}

fn token_error(error: &str, description: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": error, "error_description": description}))).into_response()
}

async fn token(State(state): State<Shared>, headers: HeaderMap, Form(req): Form<TokenRequest>) -> Response {
    if req.grant_type != "authorization_code" {
        return token_error("unsupported_grant_type", "only authorization_code");
    }
    let mut oidc = state.oidc.lock().await;
    // A code is used once, whatever the outcome.
    let Some(grant) = oidc.codes.remove(&req.code) else {
        return token_error("invalid_grant", "unknown or used code");
    };
    if grant.client_id != req.client_id || grant.redirect_uri != req.redirect_uri {
        return token_error("invalid_grant", "client_id or redirect_uri differ from the authorization request");
    }
    if B64.encode(Sha256::digest(req.code_verifier.as_bytes())) != grant.challenge {
        return token_error("invalid_grant", "code_verifier does not match code_challenge");
    }
    let groups = oidc.people.get(&grant.email).cloned().unwrap_or_default();
    oidc.tokens_issued += 1;
    drop(oidc);
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": issuer(&headers),
        "sub": format!("sandbox-{}", hex::encode(&Sha256::digest(grant.email.as_bytes())[..8])),
        "aud": grant.client_id,
        "iat": now,
        "exp": now + 3600,
        "email": grant.email,
        "email_verified": true,
        "cognito:groups": groups,
    });
    if let Some(n) = grant.nonce {
        claims["nonce"] = json!(n);
    }
    let id_token = sign(&claims);
    Json(json!({"id_token": id_token, "access_token": random_token(), "token_type": "Bearer", "expires_in": 3600}))
        .into_response()
}

/// An RS256 JWT of `claims`, signed with the sandbox's key.
pub fn sign(claims: &serde_json::Value) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": KEY_ID});
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    let key = key();
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&ring::signature::RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut signature)
        .expect("RSA signing");
    format!("{input}.{}", B64.encode(signature))
}

fn random_token() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 24];
    SystemRandom::new().fill(&mut bytes).expect("system randomness");
    B64.encode(bytes)
}
