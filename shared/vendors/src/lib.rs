//! Vendor HTTP clients over one reqwest client each: [`http::VendorClient`] (timeouts, retries
//! with backoff and jitter on 429/5xx/connection errors, `Retry-After`, optional pacing), the
//! [`formstack`] API v2 and the [`meetmax`] scheduling API.

pub mod formstack;
pub mod http;
pub mod meetmax;

pub use http::{Pacer, RetryPolicy, VendorClient, VendorError};
