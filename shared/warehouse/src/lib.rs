//! The PostgreSQL warehouse: one connection pool per container ([`Warehouse`]), versioned
//! migrations ([`migrate`]) and the queries of each part of the platform.
//!
//! Writes are batched: every multi-row write is one statement over `unnest` of typed arrays.

pub mod connect;
pub mod cursor;
pub mod forms;
pub mod isolate;
pub mod leads;
pub mod migrate;
pub mod outbox;
pub mod pace;
pub mod raw;
pub mod registrations;
pub mod runs;

pub use connect::{DbSettings, SessionLimits, Warehouse};
pub use deadpool_postgres::{self, Object as Connection, Transaction};
pub use tokio_postgres;

/// Errors of the warehouse layer.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// A statement failed: PostgreSQL's message and SQLSTATE when it refused it.
    #[error("database: {}", describe(.0))]
    Db(#[from] tokio_postgres::Error),
    /// No connection could be made.
    #[error("database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The connection settings are unusable.
    #[error("database settings: {0}")]
    Settings(String),
    /// A migration failed.
    #[error("migration: {0}")]
    Migration(#[from] refinery::Error),
}

/// A database error as a log line needs it: for a statement PostgreSQL refused, its severity,
/// message, SQLSTATE and whatever detail, hint, table, column or constraint it named (not only
/// tokio-postgres's "db error"); for any other, the error and its cause.
pub fn describe(e: &tokio_postgres::Error) -> String {
    use std::error::Error;
    let Some(db) = e.as_db_error() else {
        return match e.source() {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        };
    };
    let mut text = format!("{} {} (SQLSTATE {})", db.severity(), db.message(), db.code().code());
    let named = [
        ("detail", db.detail()),
        ("hint", db.hint()),
        ("table", db.table()),
        ("column", db.column()),
        ("constraint", db.constraint()),
    ];
    for (what, value) in named {
        if let Some(v) = value {
            text.push_str(&format!("; {what}: {v}"));
        }
    }
    text
}

/// Implements `From<tokio_postgres::Error>` for a service's error enum through its
/// `Warehouse(WarehouseError)` variant: the one conversion path from a database error, written
/// once for every service; and [`isolate::DbError`], so that the service's writers isolate the
/// rows the database refuses.
#[macro_export]
macro_rules! impl_from_db_error {
    ($error:ty) => {
        impl From<$crate::tokio_postgres::Error> for $error {
            fn from(e: $crate::tokio_postgres::Error) -> Self {
                Self::Warehouse(e.into())
            }
        }
        impl $crate::isolate::DbError for $error {
            fn db_error(&self) -> Option<&$crate::tokio_postgres::Error> {
                match self {
                    Self::Warehouse(e) => $crate::isolate::DbError::db_error(e),
                    _ => None,
                }
            }
        }
    };
}

/// Result of warehouse operations.
pub type Result<T, E = WarehouseError> = std::result::Result<T, E>;
