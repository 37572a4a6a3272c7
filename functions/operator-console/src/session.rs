//! Sessions: a random token in a `__Host-` cookie names a server-side row (only the token's
//! SHA-256 is stored), which can be revoked; the person's role; sign-ins in flight.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use platform_warehouse::tokio_postgres::GenericClient;
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use crate::ConsoleError;

/// The session cookie (`__Host-`: Secure, Path=/, no Domain: only this origin ever gets it).
pub const COOKIE: &str = "__Host-console";
/// The cookie that ties a sign-in's answer to the browser that started it.
pub const LOGIN_COOKIE: &str = "__Host-console-login";
/// How long a sign-in may take.
pub const LOGIN_TTL: Duration = Duration::from_secs(600);

/// What a person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads every page, changes nothing.
    Viewer,
    /// Also acts: reviews, resyncs, exclusions, redrives.
    Operator,
    /// Also administers the console.
    Admin,
}

impl Role {
    /// The role of a group of the ID token: only `console-viewer`, `console-operator` and
    /// `console-admin` count (an issuer's own `admin` group is not the console's).
    pub fn of_group(group: &str) -> Option<Role> {
        Role::parse(group.trim().strip_prefix("console-")?)
    }

    /// The role named `name` (`viewer`, `operator`, `admin`), as the allow-list holds it.
    pub fn parse(name: &str) -> Option<Role> {
        match name.trim().to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Its name in the warehouse.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// The signed-in person of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// E-mail (the audit's actor).
    pub email: String,
    /// Role.
    pub role: Role,
    /// The session's anti-forgery token, sent back with every state change.
    pub csrf: String,
}

impl Person {
    /// Refuses unless the person holds `role` or a higher one.
    pub fn require(&self, role: Role) -> Result<(), ConsoleError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(format!(
                "this needs the {} role; you are a {}",
                role.as_str(),
                self.role.as_str()
            )))
        }
    }

    /// Whether the person may act (operator or admin): pages show their buttons only then.
    pub fn can_act(&self) -> bool {
        self.role >= Role::Operator
    }
}

/// 32 random bytes, base64url (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).expect("the system's random source");
    B64.encode(bytes)
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The role a person gets: the highest of their groups' and, when the issuer verified their
/// e-mail, of the allow-list's (an unverified address could be anyone's).
pub async fn role_of(db: &impl GenericClient, identity: &crate::oidc::Identity) -> Result<Option<Role>, ConsoleError> {
    let listed: Option<String> = if identity.email_verified {
        db.query_opt("SELECT role FROM console.person WHERE email = $1", &[&identity.email]).await?.map(|r| r.get(0))
    } else {
        None
    };
    Ok(identity.groups.iter().filter_map(|g| Role::of_group(g)).chain(listed.as_deref().and_then(Role::parse)).max())
}

/// Opens a session; returns the cookie's token.
pub async fn open(
    db: &impl GenericClient,
    email: &str,
    subject: &str,
    role: Role,
    ttl: Duration,
) -> Result<String, ConsoleError> {
    let token = random_token();
    db.execute(
        "INSERT INTO console.session (token_sha256, email, subject, role, csrf, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
        &[&digest(&token), &email, &subject, &role.as_str(), &random_token(), &(ttl.as_secs() as f64)],
    )
    .await?;
    Ok(token)
}

/// The person of a live session (not revoked, not expired).
pub async fn find(db: &impl GenericClient, token: &str) -> Result<Option<Person>, ConsoleError> {
    let hash = digest(token);
    let row = db
        .query_opt(
            "SELECT email, role, csrf, last_seen_at < now() - interval '5 minutes' FROM console.session
              WHERE token_sha256 = $1 AND revoked_at IS NULL AND expires_at > now()",
            &[&hash],
        )
        .await?;
    // When it was last used, to the nearest five minutes (one write at most that often).
    if row.as_ref().is_some_and(|r| r.get::<_, bool>(3)) {
        db.execute("UPDATE console.session SET last_seen_at = now() WHERE token_sha256 = $1", &[&hash]).await?;
    }
    Ok(row.map(|r| Person {
        email: r.get(0),
        role: Role::parse(r.get::<_, &str>(1)).unwrap_or(Role::Viewer),
        csrf: r.get(2),
    }))
}

/// Ends a session (sign-out): it signs nobody in again.
pub async fn revoke(db: &impl GenericClient, token: &str) -> Result<(), ConsoleError> {
    db.execute(
        "UPDATE console.session SET revoked_at = now() WHERE token_sha256 = $1 AND revoked_at IS NULL",
        &[&digest(token)],
    )
    .await?;
    Ok(())
}

/// Records a sign-in in flight.
pub async fn begin_login(
    db: &impl GenericClient,
    start: &crate::oidc::Start,
    return_to: &str,
) -> Result<(), ConsoleError> {
    db.execute(
        "INSERT INTO console.login (state, nonce, verifier, return_to) VALUES ($1, $2, $3, $4)",
        &[&start.state, &start.nonce, &start.verifier, &return_to],
    )
    .await?;
    // Sign-ins never finished are forgotten.
    db.execute("DELETE FROM console.login WHERE created_at < now() - interval '1 hour'", &[]).await?;
    Ok(())
}

/// Takes the sign-in of `state` (once: it is deleted), if it is recent enough.
pub async fn take_login(
    db: &impl GenericClient,
    state: &str,
) -> Result<Option<(crate::oidc::Start, String)>, ConsoleError> {
    let row = db
        .query_opt(
            "DELETE FROM console.login WHERE state = $1
             RETURNING nonce, verifier, return_to, created_at > now() - make_interval(secs => $2)",
            &[&state, &(LOGIN_TTL.as_secs() as f64)],
        )
        .await?;
    Ok(row
        .filter(|r| r.get::<_, bool>(3))
        .map(|r| (crate::oidc::Start { state: state.to_owned(), nonce: r.get(0), verifier: r.get(1) }, r.get(2))))
}

/// A path inside the console to return to after sign-in (anything else returns to `/`).
pub fn local_path(next: Option<&str>) -> String {
    // A bare path of printable characters: no scheme, no host (`//`, or `/\t/` which browsers
    // read as `//`), no backslash, nothing a browser would drop or rewrite.
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains("://")
                && p.chars().all(|c| c.is_ascii_graphic() && c != '\\') =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bare_path_of_this_console_is_returned_to() {
        for ok in ["/", "/review?page=2", "/trail/R-1"] {
            assert_eq!(local_path(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a b",
            "review",
            "/x?u=http://e",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn only_the_consoles_groups_give_a_role() {
        assert_eq!(Role::of_group("console-operator"), Some(Role::Operator));
        assert_eq!(Role::of_group("admin"), None);
        assert_eq!(Role::of_group("console-root"), None);
        assert_eq!(Role::parse("viewer"), Some(Role::Viewer));
    }
}
