//! The hostile text every entry point is fed (the Formstack webhook and pull, the lead endpoint,
//! two-way registration, connector records): NUL characters, which PostgreSQL's `text` and
//! `jsonb` refuse, at the top level, inside a nested value, in an array element and in a nested
//! key, beside Unicode that must land untouched; and identifiers a caller gives that are not
//! plain printable text.

use serde_json::{Value, json};

/// A value holding a NUL at every depth: top level, a nested value, an array element, a nested
/// key; with Unicode.
pub fn value() -> Value {
    json!({
        "note": "Nul\u{0}Top",
        "nested": {"inner": "a\u{0}b", "k\u{0}ey": "v", "名前": "Zoë"},
        "list": ["x\u{0}y", {"deep": "\u{0}"}, 7],
    })
}

/// [`value`] as it must be stored: every NUL gone, everything else as sent.
pub fn stored() -> Value {
    json!({
        "note": "NulTop",
        "nested": {"inner": "ab", "key": "v", "名前": "Zoë"},
        "list": ["xy", {"deep": ""}, 7],
    })
}

/// Identifiers a caller may send that are refused with a 400: a NUL, a tab, a line break, nothing.
pub const IDS: [&str; 4] = ["nul\u{0}1", "tab\t1", "line\n1", "  "];
