//! OpenID Connect, the authorization code flow with PKCE: the issuer's discovery document, the
//! authorization URL, the code redeemed at the token endpoint, and the ID token verified
//! against the issuer's keys (RS256 only; the keys are cached and fetched again once when a
//! token names a key the cache lacks, which is how an issuer's key rotation arrives).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use platform_vendors::http::{RetryPolicy, VendorClient};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::{OnceCell, RwLock};

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The issuer could not be reached or answered with an error.
    #[error("the identity provider: {0}")]
    Issuer(String),
    /// The ID token is not acceptable (its signature, issuer, audience, time or nonce).
    #[error("the ID token is refused: {0}")]
    Token(String),
}

/// The parts of the discovery document the flow uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// The issuer identifier (the `iss` of every token).
    pub issuer: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: String,
    /// Where a code is redeemed.
    pub token_endpoint: String,
    /// The issuer's signing keys.
    pub jwks_uri: String,
}

/// The verified claims the console uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `sub`.
    pub subject: String,
    /// `email`, lower case.
    pub email: String,
    /// The groups of the configured claim (empty when absent).
    pub groups: Vec<String>,
    /// Whether the issuer says it verified the e-mail (`email_verified: true`); only then does
    /// the allow-list, which is keyed by e-mail, count.
    pub email_verified: bool,
}

/// One issuer and one client of it, reused across requests.
#[derive(Debug)]
pub struct Issuer {
    issuer: String,
    client_id: String,
    groups_claim: String,
    http: VendorClient,
    discovery: OnceCell<Discovery>,
    keys: RwLock<Option<(Instant, Keys)>>,
}

/// An issuer's RS256 keys by key id.
pub type Keys = HashMap<String, RsaPublicKeyComponents<Vec<u8>>>;

/// How long fetched keys are trusted before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(3600);
/// Clock difference tolerated between the issuer and the console.
const LEEWAY_SECONDS: i64 = 60;

impl Issuer {
    /// An issuer at `issuer` (its identifier, as in `iss`) for the app client `client_id`.
    pub fn new(issuer: &str, client_id: &str, groups_claim: &str) -> Result<Issuer, OidcError> {
        let policy = RetryPolicy {
            max_retries: 2,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(2),
        };
        let http =
            VendorClient::new("oidc", Duration::from_secs(10), policy).map_err(|e| OidcError::Issuer(e.to_string()))?;
        Ok(Issuer {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            groups_claim: groups_claim.to_owned(),
            http,
            discovery: OnceCell::new(),
            keys: RwLock::new(None),
        })
    }

    /// The discovery document (fetched once; its `issuer` must be the configured one).
    pub async fn discovery(&self) -> Result<&Discovery, OidcError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.issuer);
                let doc: Discovery = self
                    .http
                    .send(|c| c.get(&url))
                    .await
                    .map_err(|e| OidcError::Issuer(format!("discovery {url}: {e}")))?
                    .json()
                    .await
                    .map_err(|e| OidcError::Issuer(format!("discovery {url}: {e}")))?;
                if doc.issuer.trim_end_matches('/') != self.issuer {
                    return Err(OidcError::Issuer(format!(
                        "discovery names issuer {:?}, not {:?}",
                        doc.issuer, self.issuer
                    )));
                }
                Ok(doc)
            })
            .await
    }

    /// The URL that starts a sign-in.
    pub async fn authorize_url(&self, redirect_uri: &str, start: &Start) -> Result<String, OidcError> {
        let endpoint = &self.discovery().await?.authorization_endpoint;
        let mut url =
            reqwest::Url::parse(endpoint).map_err(|e| OidcError::Issuer(format!("authorization endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", &start.state)
            .append_pair("nonce", &start.nonce)
            .append_pair("code_challenge", &start.challenge())
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Redeems `code` with the PKCE `verifier`; returns the verified identity.
    pub async fn redeem(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
        redirect_uri: &str,
        client_secret: Option<&str>,
    ) -> Result<Identity, OidcError> {
        let endpoint = self.discovery().await?.token_endpoint.clone();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", self.client_id.as_str()),
            ("code_verifier", verifier),
        ];
        if let Some(secret) = client_secret {
            form.push(("client_secret", secret));
        }
        // A code is used once: the request is not repeated after an unknown outcome.
        let answer: serde_json::Value = self
            .http
            .send_write(|c| c.post(&endpoint).form(&form))
            .await
            .map_err(|e| OidcError::Issuer(format!("token endpoint: {e}")))?
            .json()
            .await
            .map_err(|e| OidcError::Issuer(format!("token endpoint: {e}")))?;
        let token =
            answer["id_token"].as_str().ok_or_else(|| OidcError::Issuer("the token answer has no id_token".into()))?;
        self.verify(token, nonce, chrono::Utc::now().timestamp()).await
    }

    /// Verifies an ID token's signature and claims at time `now` (seconds since the epoch).
    pub async fn verify(&self, token: &str, nonce: &str, now: i64) -> Result<Identity, OidcError> {
        let parts = Jwt::split(token)?;
        let key = self.key(&parts.kid).await?;
        key.verify(&RSA_PKCS1_2048_8192_SHA256, parts.signed.as_bytes(), &parts.signature)
            .map_err(|_| OidcError::Token("the signature does not verify".into()))?;
        check_claims(&parts.claims, &self.issuer, &self.client_id, nonce, now, &self.groups_claim)
    }

    async fn key(&self, kid: &str) -> Result<RsaPublicKeyComponents<Vec<u8>>, OidcError> {
        if let Some((at, keys)) = &*self.keys.read().await
            && at.elapsed() < KEYS_TTL
            && let Some(k) = keys.get(kid)
        {
            return Ok(k.clone());
        }
        let mut cache = self.keys.write().await;
        // Another request may have fetched them meanwhile.
        if let Some((at, keys)) = &*cache
            && at.elapsed() < Duration::from_secs(5)
        {
            return keys.get(kid).cloned().ok_or_else(|| OidcError::Token(format!("the issuer has no key {kid:?}")));
        }
        let uri = self.discovery().await?.jwks_uri.clone();
        let set: serde_json::Value = self
            .http
            .send(|c| c.get(&uri))
            .await
            .map_err(|e| OidcError::Issuer(format!("keys {uri}: {e}")))?
            .json()
            .await
            .map_err(|e| OidcError::Issuer(format!("keys {uri}: {e}")))?;
        let keys = rsa_keys(&set);
        let found = keys.get(kid).cloned();
        *cache = Some((Instant::now(), keys));
        found.ok_or_else(|| OidcError::Token(format!("the issuer has no key {kid:?}")))
    }
}

/// The RS256 signing keys of a JSON Web Key Set, by key id.
pub fn rsa_keys(set: &serde_json::Value) -> Keys {
    set["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|k| k["kty"] == "RSA" && k["use"].as_str().is_none_or(|u| u == "sig"))
        .filter_map(|k| {
            let n = B64.decode(k["n"].as_str()?).ok()?;
            let e = B64.decode(k["e"].as_str()?).ok()?;
            Some((k["kid"].as_str().unwrap_or("").to_owned(), RsaPublicKeyComponents { n, e }))
        })
        .collect()
}

/// A sign-in's secrets: the `state` that ties the answer to the request, the `nonce` that ties
/// the token to it, and the PKCE verifier (its SHA-256 is sent as the challenge).
#[derive(Debug, Clone)]
pub struct Start {
    /// `state`.
    pub state: String,
    /// `nonce`.
    pub nonce: String,
    /// The PKCE code verifier (43 characters).
    pub verifier: String,
}

impl Start {
    /// Fresh random values.
    pub fn new() -> Start {
        Start {
            state: crate::session::random_token(),
            nonce: crate::session::random_token(),
            verifier: crate::session::random_token(),
        }
    }

    /// The S256 code challenge of the verifier.
    pub fn challenge(&self) -> String {
        B64.encode(Sha256::digest(self.verifier.as_bytes()))
    }
}

impl Default for Start {
    fn default() -> Self {
        Start::new()
    }
}

struct Jwt {
    kid: String,
    signed: String,
    signature: Vec<u8>,
    claims: serde_json::Value,
}

impl Jwt {
    fn split(token: &str) -> Result<Jwt, OidcError> {
        let bad = |why: &str| OidcError::Token(why.to_owned());
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad("not a signed JWT (three parts)"));
        };
        let header: serde_json::Value = B64
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| bad("the header is not base64url JSON"))?;
        if header["alg"] != "RS256" {
            return Err(OidcError::Token(format!("algorithm {} is not accepted (RS256 only)", header["alg"])));
        }
        let claims = B64
            .decode(c)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| bad("the claims are not base64url JSON"))?;
        let signature = B64.decode(s).map_err(|_| bad("the signature is not base64url"))?;
        Ok(Jwt { kid: header["kid"].as_str().unwrap_or("").to_owned(), signed: format!("{h}.{c}"), signature, claims })
    }
}

/// Checks the claims of a token whose signature verified.
pub fn check_claims(
    claims: &serde_json::Value,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: i64,
    groups_claim: &str,
) -> Result<Identity, OidcError> {
    let refuse = |why: String| Err(OidcError::Token(why));
    if claims["iss"].as_str().map(|i| i.trim_end_matches('/')) != Some(issuer) {
        return refuse(format!("issued by {}, not {issuer}", claims["iss"]));
    }
    let audience_ok = match &claims["aud"] {
        serde_json::Value::String(a) => a == client_id,
        serde_json::Value::Array(list) => {
            list.iter().any(|a| a == client_id) && (list.len() == 1 || claims["azp"] == client_id)
        }
        _ => false,
    };
    if !audience_ok {
        return refuse(format!("meant for {}, not this console", claims["aud"]));
    }
    let Some(exp) = claims["exp"].as_i64() else { return refuse("no expiry".into()) };
    if exp + LEEWAY_SECONDS < now {
        return refuse("expired".into());
    }
    if claims["iat"].as_i64().is_some_and(|iat| iat - LEEWAY_SECONDS > now) {
        return refuse("issued in the future".into());
    }
    if claims["nonce"].as_str() != Some(nonce) {
        return refuse("its nonce is not this sign-in's".into());
    }
    let Some(email) = claims["email"].as_str().map(|e| e.trim().to_lowercase()).filter(|e| e.contains('@')) else {
        return refuse("no e-mail".into());
    };
    if claims["email_verified"] == false || claims["email_verified"] == "false" {
        return refuse("the e-mail is not verified".into());
    }
    let email_verified = claims["email_verified"] == true || claims["email_verified"] == "true";
    let groups = match &claims[groups_claim] {
        serde_json::Value::Array(list) => list.iter().filter_map(|g| g.as_str().map(str::to_owned)).collect(),
        serde_json::Value::String(g) => g.split([',', ' ']).filter(|g| !g.is_empty()).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    Ok(Identity { subject: claims["sub"].as_str().unwrap_or("").to_owned(), email, groups, email_verified })
}
