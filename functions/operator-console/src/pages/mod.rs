//! The pages: each module reads what its page shows and performs its page's actions.

pub mod admin;
pub mod audit;
pub mod connectors;
pub mod exports;
pub mod leads;
pub mod queues;
pub mod review;
pub mod runs;
pub mod today;
pub mod trail;

use serde::Deserialize;

/// The notice a page shows after an action (`?notice=`).
#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    /// The text.
    pub notice: Option<String>,
}

/// The page shown after signing out.
pub fn signed_out() -> String {
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed out</title>\
     <link rel=\"stylesheet\" href=\"/assets/console.css\"></head><body><main><h1>Signed out</h1>\
     <p><a href=\"/login\">Sign in again</a></p></main></body></html>"
        .to_owned()
}

/// A page number from a query (1 and up).
pub fn page_number(page: Option<i64>) -> i64 {
    page.unwrap_or(1).max(1)
}
