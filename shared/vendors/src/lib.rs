//! Vendor HTTP clients over one reqwest client each: [`http::VendorClient`] (timeouts, retries
//! with backoff and jitter on 429/5xx/connection errors, `Retry-After`, optional pacing, fixed or adaptive: [`pace`]), the
//! [`formstack`] API v2 and the [`meetmax`] scheduling API; one TLS configuration for all ([`tls`]).

pub mod formstack;
pub mod http;
pub mod meetmax;
pub mod pace;
pub mod tls;

pub use http::{RetryPolicy, VendorClient, VendorError};
pub use pace::{Adaptive, Learned, Pacer};
