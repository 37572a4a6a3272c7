//! Each function links only what it uses: the AWS clients, workbook crates and platform crates
//! in its dependency tree (as `cargo tree` resolves it for that package alone, which is how
//! `make build` builds each one) are exactly the ones listed here. A new dependency of a
//! function is a change to this table, made on purpose.

use std::{collections::BTreeSet, process::Command};

/// Function → the crates of interest it links.
const LINKS: [(&str, &[&str]); 8] = [
    (
        "company-dedupe",
        &["aws-sdk-s3", "aws-sdk-sqs", "calamine", "platform-dedupe", "platform-workbook", "rust_xlsxwriter"],
    ),
    ("connector-pull", &["aws-sdk-s3", "aws-sdk-sqs", "platform-connectors", "platform-workbook", "rust_xlsxwriter"]),
    ("formstack-intake", &["aws-sdk-sqs", "platform-intake"]),
    (
        "lead-delivery",
        &["aws-sdk-s3", "aws-sdk-sesv2", "aws-sdk-sqs", "platform-leads", "platform-workbook", "rust_xlsxwriter"],
    ),
    ("meetmax-sync", &["platform-meetmax"]),
    (
        "operator-console",
        &[
            "aws-sdk-s3",
            "aws-sdk-sesv2",
            "aws-sdk-sqs",
            "calamine",
            "platform-connectors",
            "platform-dedupe",
            "platform-export",
            "platform-intake",
            "platform-leads",
            "platform-workbook",
            "rust_xlsxwriter",
        ],
    ),
    ("session-register", &["platform-connectors"]),
    (
        "spreadsheet-export",
        &["aws-sdk-s3", "aws-sdk-sesv2", "aws-sdk-sqs", "platform-export", "platform-workbook", "rust_xlsxwriter"],
    ),
];

/// What every function links: the runtime, the warehouse, the vendors' HTTP client and Secrets
/// Manager (with the credentials chain's STS).
const EVERY: [&str; 7] = [
    "aws-sdk-secretsmanager",
    "aws-sdk-sts",
    "platform-aws",
    "platform-domain",
    "platform-runtime",
    "platform-vendors",
    "platform-warehouse",
];

/// Whether a crate is one this check follows.
fn followed(name: &str) -> bool {
    name.starts_with("aws-sdk-") || name.starts_with("platform-") || ["rust_xlsxwriter", "calamine"].contains(&name)
}

fn linked(function: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}", "-p", function])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo tree -p {function}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| followed(name))
        .map(str::to_owned)
        .collect()
}

#[test]
fn each_function_links_only_what_it_uses() {
    let functions: BTreeSet<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../functions"))
        .unwrap()
        .filter_map(|e| e.ok().filter(|e| e.path().is_dir()).map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    let listed: BTreeSet<String> = LINKS.iter().map(|(f, _)| (*f).to_owned()).collect();
    assert_eq!(functions, listed, "every function is in the table");
    for (function, own) in LINKS {
        let expected: BTreeSet<String> = EVERY.iter().chain(own).map(|c| (*c).to_owned()).collect();
        assert_eq!(linked(function), expected, "{function} links exactly these");
    }
}
