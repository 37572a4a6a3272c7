//! Vendor HTTP clients over one reqwest client each: [`http::VendorClient`] (timeouts, retries
//! with backoff and jitter on 429/5xx/connection errors, `Retry-After`) and the [`formstack`] API v2.

pub mod formstack;
pub mod http;

pub use http::{RetryPolicy, VendorClient, VendorError};
