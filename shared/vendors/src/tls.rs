//! The TLS configuration of every vendor client, built once per process and shared.
//!
//! Trust anchors: the Mozilla root program as compiled into `webpki-roots` (the same roots the
//! warehouse connection uses), plus the PEM certificates of `SSL_CERT_FILE` when it is set (a
//! private CA of a client's webhook, say). Reading the system certificate store instead — what
//! reqwest's default `rustls-platform-verifier` does for every client built — opened and parsed
//! every file of `/etc/ssl/certs` at each function's start; compiled-in roots cost no I/O.

use std::sync::{Arc, LazyLock};

use rustls::pki_types::{CertificateDer, pem::PemObject};

/// The environment variable naming an extra PEM bundle of trust anchors.
pub const EXTRA_ROOTS_VAR: &str = "SSL_CERT_FILE";

/// The shared configuration (built on first use). A bundle named by `SSL_CERT_FILE` that cannot
/// be read makes [`client_config`] fail; every client built afterwards reports it.
static CONFIG: LazyLock<Result<rustls::ClientConfig, String>> =
    LazyLock::new(|| config(std::env::var(EXTRA_ROOTS_VAR).ok().as_deref()));

/// The TLS configuration vendor clients are built with (a clone of the shared one).
fn client_config() -> Result<rustls::ClientConfig, String> {
    CONFIG.clone()
}

/// A reqwest client builder over the shared configuration: how every HTTP client of the
/// platform starts. reqwest is built without a TLS provider of its own (`rustls-no-provider`),
/// so a client made any other way (`reqwest::Client::new()`) has no crypto and fails in Lambda,
/// while in the tests, where the test crates give reqwest its default provider, it works; so
/// `clippy.toml` refuses `reqwest::Client::new`, `reqwest::Client::builder` and `reqwest::get`
/// everywhere but here and in tests' plain-HTTP clients.
#[allow(clippy::disallowed_methods)]
pub fn client_builder() -> Result<reqwest::ClientBuilder, String> {
    Ok(reqwest::Client::builder().tls_backend_preconfigured(client_config()?))
}

/// The trust anchors: the web PKI roots and the certificates of `extra` (a PEM file), if any.
fn roots(extra: Option<&str>) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = extra.filter(|p| !p.is_empty()) {
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| format!("{EXTRA_ROOTS_VAR} {path}: {e}"))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("{EXTRA_ROOTS_VAR} {path}: {e}"))?;
            roots.add(cert).map_err(|e| format!("{EXTRA_ROOTS_VAR} {path}: {e}"))?;
        }
    }
    Ok(roots)
}

fn config(extra: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots(extra)?)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_roots_always_and_an_extra_bundle_when_named() {
        let web = webpki_roots::TLS_SERVER_ROOTS.len();
        assert!(web > 100, "{web} web roots");
        assert_eq!(roots(None).unwrap().len(), web);
        assert_eq!(roots(Some("")).unwrap().len(), web);
        let bundle = concat!(env!("CARGO_MANIFEST_DIR"), "/../warehouse/certs/rds-ca-bundle.pem");
        let extra = std::fs::read_to_string(bundle).unwrap().matches("BEGIN CERTIFICATE").count();
        assert!(extra > 10, "{extra} certificates in the test bundle");
        assert_eq!(roots(Some(bundle)).unwrap().len(), web + extra);
        let missing = config(Some("/nonexistent/ca.pem")).unwrap_err();
        assert!(missing.contains("SSL_CERT_FILE /nonexistent/ca.pem"), "{missing}");
    }
}
