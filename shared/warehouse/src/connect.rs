//! Connection settings and the per-container pool (re-connects when a connection closed).
//! TLS with rustls (ring) for every host but loopback and unix sockets.

use std::{fmt, str::FromStr, sync::Arc, time::Duration};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::config::{Host, SslMode};

use crate::{Result, WarehouseError};

/// Where and how to connect. Built from `DATABASE_URL` or from an RDS-style secret; the
/// password never appears in `Debug` output.
#[derive(Clone)]
pub struct DbSettings {
    config: tokio_postgres::Config,
    ca_file: Option<String>,
    pool_size: usize,
}

impl fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSettings")
            .field("hosts", &self.config.get_hosts())
            .field("ports", &self.config.get_ports())
            .field("user", &self.config.get_user())
            .field("dbname", &self.config.get_dbname())
            .field("password", &self.config.get_password().map(|_| "[redacted]"))
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl DbSettings {
    /// Parses a libpq-style connection string or `postgres://` URL; the session limits of
    /// [`SessionLimits::default`] apply unless the string sets `options` itself.
    pub fn from_url(url: &str) -> Result<DbSettings> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| WarehouseError::Settings(format!("DATABASE_URL is not a valid connection string: {e}")))?;
        Ok(DbSettings { config, ca_file: None, pool_size: 2 }.with_limits(&SessionLimits::default()))
    }

    /// Applies `limits`: server-side timeouts as session options (unless the connection string
    /// set `options`), the connect timeout and TCP keepalives.
    pub fn with_limits(mut self, limits: &SessionLimits) -> Self {
        if self.config.get_options().is_none() {
            self.config.options(limits.options());
        }
        self.config
            .connect_timeout(limits.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3);
        self
    }

    /// Builds settings from an RDS-style secret (`host`, `port`, `username`, `password`, `dbname`).
    pub fn from_rds_secret(secret: &serde_json::Value) -> Result<DbSettings> {
        let field = |k: &str| {
            secret.get(k).and_then(|v| v.as_str().map(str::to_owned).or_else(|| v.as_u64().map(|n| n.to_string())))
        };
        let host = field("host").ok_or_else(|| WarehouseError::Settings("database secret has no host".into()))?;
        let mut config = tokio_postgres::Config::new();
        config
            .host(&host)
            .port(field("port").and_then(|p| p.parse().ok()).unwrap_or(5432))
            .user(field("username").as_deref().unwrap_or("postgres"))
            .dbname(field("dbname").as_deref().unwrap_or("postgres"))
            .ssl_mode(SslMode::Require);
        if let Some(pw) = field("password") {
            config.password(pw);
        }
        Ok(DbSettings { config, ca_file: None, pool_size: 2 }.with_limits(&SessionLimits::default()))
    }

    /// Settings as every function reads them: the RDS-style secret named by `DATABASE_SECRET_ID`
    /// (deployed), else `DATABASE_URL` (local); `DATABASE_CA_FILE`, `DATABASE_POOL_SIZE`
    /// (default 2) and `DATABASE_ROLE` (see [`DbSettings::with_role`]). `env` looks a variable up; `read_secret` fetches a secret's JSON.
    pub async fn from_env<F, Fut, E>(env: impl Fn(&str) -> Option<String>, read_secret: F) -> Result<DbSettings>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<serde_json::Value, E>>,
        E: fmt::Display,
    {
        let settings = match (env("DATABASE_SECRET_ID"), env("DATABASE_URL")) {
            (Some(id), _) => {
                let secret = read_secret(id.clone())
                    .await
                    .map_err(|e| WarehouseError::Settings(format!("database secret {id}: {e}")))?;
                DbSettings::from_rds_secret(&secret)?
            }
            (None, Some(url)) => DbSettings::from_url(&url)?,
            (None, None) => {
                return Err(WarehouseError::Settings(
                    "set DATABASE_SECRET_ID (deployed) or DATABASE_URL (local)".into(),
                ));
            }
        };
        let pool_size = match env("DATABASE_POOL_SIZE") {
            None => 2,
            Some(v) => {
                v.parse().map_err(|_| WarehouseError::Settings(format!("DATABASE_POOL_SIZE={v:?} is not a number")))?
            }
        };
        let settings = match env("DATABASE_ROLE") {
            None => settings,
            Some(role) => settings.with_role(&role)?,
        };
        Ok(settings.with_ca_file(env("DATABASE_CA_FILE")).with_pool_size(pool_size))
    }

    /// Every session takes `role` (`SET ROLE` at start-up): a function whose login may hold
    /// more than it needs works with only the grants of `role`.
    pub fn with_role(mut self, role: &str) -> Result<Self> {
        if role.is_empty() || !role.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(WarehouseError::Settings(format!("DATABASE_ROLE={role:?} is not a plain role name")));
        }
        let options = self.config.get_options().unwrap_or_default().to_owned();
        self.config.options(format!("{options} -c role={role}").trim_start());
        Ok(self)
    }

    /// Trusts the certificates of this PEM file (e.g. the RDS CA bundle) besides the web PKI roots.
    pub fn with_ca_file(mut self, path: Option<String>) -> Self {
        self.ca_file = path;
        self
    }

    /// Most connections the pool holds (one or two suit a Lambda container).
    pub fn with_pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// The same server, another database (tests create one database each).
    pub fn with_dbname(mut self, dbname: &str) -> Self {
        self.config.dbname(dbname);
        self
    }

    /// The underlying tokio-postgres configuration.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    fn is_local(&self) -> bool {
        self.config.get_hosts().iter().all(|h| match h {
            Host::Tcp(name) => matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1"),
            #[cfg(unix)]
            Host::Unix(_) => true,
        })
    }
}

/// Time limits of every warehouse session, so that no statement, lock wait or forgotten
/// transaction outlives the Lambda invocation that started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLimits {
    /// `statement_timeout`: the longest statement (the largest batch write takes about a second).
    pub statement: Duration,
    /// `lock_timeout`: the longest wait for a row or table lock.
    pub lock: Duration,
    /// `idle_in_transaction_session_timeout`: a transaction left open (a crash mid-transaction)
    /// is ended by the server and its locks freed.
    pub idle_in_transaction: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            statement: Duration::from_secs(60),
            lock: Duration::from_secs(10),
            idle_in_transaction: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl SessionLimits {
    /// The startup `options` that set the server-side limits.
    pub fn options(&self) -> String {
        format!(
            "-c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={}",
            self.statement.as_millis(),
            self.lock.as_millis(),
            self.idle_in_transaction.as_millis()
        )
    }
}

/// The warehouse: a small pool made once per container and reused across invocations.
#[derive(Clone)]
pub struct Warehouse {
    pool: Pool,
}

impl fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Warehouse").field("status", &self.pool.status()).finish()
    }
}

impl Warehouse {
    /// Creates the pool; connections are made lazily, on first use, and re-made when closed.
    pub fn new(settings: &DbSettings) -> Result<Warehouse> {
        let mgr_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = if settings.is_local() {
            Manager::from_config(settings.config.clone(), tokio_postgres::NoTls, mgr_config)
        } else {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(settings.ca_file.as_deref())?);
            Manager::from_config(settings.config.clone(), tls, mgr_config)
        };
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .wait_timeout(Some(Duration::from_secs(30)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| WarehouseError::Settings(e.to_string()))?;
        Ok(Warehouse { pool })
    }

    /// A connection from the pool (made or re-made as needed).
    pub async fn conn(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }
}

/// The Amazon RDS certificate authorities (see `certs/README.md`): RDS servers present
/// certificates of these private CAs, which no public root store holds.
pub const RDS_CA_BUNDLE: &str = include_str!("../certs/rds-ca-bundle.pem");

/// The trust anchors of the warehouse connection: the web PKI roots, the RDS CAs and the
/// certificates of `ca_file`, if any.
fn root_store(ca_file: Option<&str>) -> Result<rustls::RootCertStore> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for cert in CertificateDer::pem_slice_iter(RDS_CA_BUNDLE.as_bytes()) {
        let cert = cert.map_err(|e| WarehouseError::Settings(format!("bundled RDS CA: {e}")))?;
        roots.add(cert).map_err(|e| WarehouseError::Settings(format!("bundled RDS CA: {e}")))?;
    }
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| WarehouseError::Settings(format!("DATABASE_CA_FILE {path}: {e}")))?;
        for cert in certs {
            let cert = cert.map_err(|e| WarehouseError::Settings(format!("DATABASE_CA_FILE {path}: {e}")))?;
            roots.add(cert).map_err(|e| WarehouseError::Settings(format!("DATABASE_CA_FILE {path}: {e}")))?;
        }
    }
    Ok(roots)
}

fn tls_config(ca_file: Option<&str>) -> Result<rustls::ClientConfig> {
    let roots = root_store(ca_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| WarehouseError::Settings(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rds_certificate_authorities_are_trusted_without_configuration() {
        let web = webpki_roots::TLS_SERVER_ROOTS.len();
        let roots = root_store(None).expect("the bundled RDS CAs parse");
        assert_eq!(roots.len(), web + RDS_CA_BUNDLE.matches("BEGIN CERTIFICATE").count());
        assert!(roots.len() >= web + 80, "{} roots", roots.len());
        let names: Vec<String> = roots
            .roots
            .iter()
            .map(|a| String::from_utf8_lossy(a.subject.as_ref()).into_owned())
            .filter(|s| s.contains("Amazon RDS"))
            .collect();
        assert!(names.iter().any(|s| s.contains("us-east-1 Root CA RSA2048 G1")), "{} RDS roots", names.len());
        let missing = root_store(Some("/nonexistent/bundle.pem")).unwrap_err().to_string();
        assert!(missing.contains("DATABASE_CA_FILE /nonexistent/bundle.pem"), "{missing}");
    }

    #[test]
    fn debug_redacts_the_password_and_local_hosts_skip_tls() {
        let s = DbSettings::from_url("host=127.0.0.1 port=5 user=u password=hunter2 dbname=d").unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("hunter2") && dbg.contains("[redacted]"), "{dbg}");
        assert!(s.is_local());
        let rds = DbSettings::from_rds_secret(
            &serde_json::json!({"host":"db.example.com","port":5432,"username":"app","password":"p","dbname":"w"}),
        )
        .unwrap();
        assert!(!rds.is_local());
        assert_eq!(rds.config().get_ssl_mode(), SslMode::Require);
        assert!(Warehouse::new(&rds).is_ok(), "TLS configuration builds with the web PKI roots");
        assert!(DbSettings::from_url("not a url at all ===").is_err());
        let limits = s.config().get_options().unwrap_or_default();
        assert!(limits.contains("statement_timeout=60000") && limits.contains("lock_timeout=10000"), "{limits}");
        assert!(rds.config().get_options().unwrap_or_default().contains("idle_in_transaction_session_timeout=60000"));
        assert_eq!(s.config().get_connect_timeout(), Some(&Duration::from_secs(10)));
        assert!(s.config().get_keepalives());
        let own = DbSettings::from_url("host=h options='-c statement_timeout=5'").unwrap();
        assert_eq!(own.config().get_options(), Some("-c statement_timeout=5"), "a connection string's own options win");
    }
}
