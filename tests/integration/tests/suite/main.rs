//! The integration suite as one test binary (one link instead of one per file: the clean
//! build of `make test` stays small enough for a CI machine with little disk).

// The tests' own plain HTTP clients (reqwest::get and the like): this crate gives reqwest its
// default TLS provider, which the functions do not have (see clippy.toml).
#![allow(clippy::disallowed_methods)]

mod chaos;
mod company_quality;
mod connectors;
mod console;
mod console_browser;
mod console_operations;
mod contracts;
mod cvent;
mod dedupe;
mod events;
mod export;
mod hardening_intake;
mod hardening_meetmax;
mod lander_forms;
mod leads;
mod lenos;
mod linking;
mod manifest_components;
mod mapping_errors;
mod meetmax;
mod meetmax_fidelity;
mod platform;
mod print;
mod pull;
mod reliability_queues;
mod reliability_secrets;
mod reliability_vendors;
mod reliability_webhooks;
mod session_register;
mod upload;
mod webhook;
