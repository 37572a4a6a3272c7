//! Pure domain logic of the integration platform: no I/O lives here.
//!
//! - [`company`]: company-name keys and similarity (company-dedupe suggestions).
//! - [`envelope`]: the small JSON messages passed between functions over SQS.
//! - [`signature`]: Formstack webhook HMAC-SHA256 signatures.
//! - [`submission`]: parsing Formstack submissions (webhook bodies and API records).
//! - [`mapping`]: turning a submission into an `exchange_registration` row.
//! - [`lead`]: a lander form's submission as a lead, and the typed core fields of leads.
//! - [`transform`]: the value transforms configuration may name (trim, digits, case, dates).
//! - [`run`]: per-invocation counters written as run records.

pub mod company;
pub mod envelope;
pub mod jaro;
pub mod lead;
pub mod mapping;
pub mod run;
pub mod signature;
pub mod storable;
pub mod submission;
pub mod transform;
pub mod typo;
