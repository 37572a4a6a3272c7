//! Why an invocation failed, as Lambda reports it: `errorType` names the kind (Event, Config,
//! Warehouse, Vendor, Aws, Internal) instead of a boxed type's name, so alarms and log queries
//! can tell a refused event from a database outage.

use std::fmt;

/// The kinds of invocation failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The event itself is unusable (unknown shape or command).
    Event,
    /// Configuration is missing or wrong (environment, warehouse configuration, secrets' shape).
    Config,
    /// The warehouse failed.
    Warehouse,
    /// A vendor failed in a way that stops the whole invocation.
    Vendor,
    /// An AWS service (Secrets Manager, SQS, S3) failed.
    Aws,
    /// Anything else (a bug).
    Internal,
}

impl ErrorKind {
    /// The name Lambda shows as `errorType`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Event => "Event",
            ErrorKind::Config => "Config",
            ErrorKind::Warehouse => "Warehouse",
            ErrorKind::Vendor => "Vendor",
            ErrorKind::Aws => "Aws",
            ErrorKind::Internal => "Internal",
        }
    }
}

/// A failed invocation: its kind and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationError {
    /// The kind.
    pub kind: ErrorKind,
    /// What went wrong.
    pub message: String,
}

impl InvocationError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl fmt::Display) -> InvocationError {
        InvocationError { kind, message: message.to_string() }
    }
}

impl fmt::Display for InvocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for InvocationError {}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(e: InvocationError) -> lambda_runtime::Diagnostic {
        lambda_runtime::Diagnostic { error_type: e.kind.as_str().to_owned(), error_message: e.message }
    }
}

/// An error a service returns to its function, which knows the kind of failure it is. A function
/// turns it into its invocation's error with `?`; the conversion logs it once, with its kind.
pub trait ServiceError: fmt::Display {
    /// The kind Lambda reports as `errorType`.
    fn kind(&self) -> ErrorKind;
}

impl<E: ServiceError> From<E> for InvocationError {
    fn from(e: E) -> InvocationError {
        let kind = e.kind();
        tracing::error!(error = %e, kind = kind.as_str(), "invocation failed");
        InvocationError::new(kind, e)
    }
}

impl From<serde_json::Error> for InvocationError {
    fn from(e: serde_json::Error) -> InvocationError {
        InvocationError::new(ErrorKind::Internal, format!("serialising the answer: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_sees_the_kind_as_error_type() {
        let d: lambda_runtime::Diagnostic = InvocationError::new(ErrorKind::Warehouse, "connection refused").into();
        assert_eq!((d.error_type.as_str(), d.error_message.as_str()), ("Warehouse", "connection refused"));
        assert_eq!(InvocationError::new(ErrorKind::Event, "unknown command").to_string(), "Event: unknown command");
    }

    #[test]
    fn a_service_error_converts_with_its_kind() {
        struct Refused;
        impl fmt::Display for Refused {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("credentials refused")
            }
        }
        impl ServiceError for Refused {
            fn kind(&self) -> ErrorKind {
                ErrorKind::Vendor
            }
        }
        let e: InvocationError = Refused.into();
        assert_eq!(e, InvocationError::new(ErrorKind::Vendor, "credentials refused"));
    }
}
