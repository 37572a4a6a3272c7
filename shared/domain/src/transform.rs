//! The small set of value transforms configuration may name (lead-delivery's field mappings,
//! spreadsheet-export's custom templates): `trim`, `digits`, `upper`, `lower`, `title`, and
//! `date:<strftime format>` (the value read as a date, written in that format).

use chrono::{NaiveDate, NaiveDateTime};

/// The transforms without an argument.
pub const TRANSFORMS: &[&str] = &["trim", "digits", "upper", "lower", "title"];

/// Whether `name` is a transform this module applies.
pub fn is_known(name: &str) -> bool {
    TRANSFORMS.contains(&name) || name.starts_with("date:")
}

/// The names configuration may use, for error messages.
pub const KNOWN: &str = "trim, digits, upper, lower, title, date:<format>";

/// Applies one transform; a value that is not a date under `date:` is an error naming it.
pub fn apply(name: &str, value: String) -> Result<String, String> {
    Ok(match name {
        "trim" => value.trim().to_owned(),
        "digits" => value.chars().filter(char::is_ascii_digit).collect(),
        "upper" => value.to_uppercase(),
        "lower" => value.to_lowercase(),
        "title" => title(&value),
        t => match t.strip_prefix("date:") {
            Some(format) if !value.trim().is_empty() => {
                let d = parse_date(value.trim()).ok_or_else(|| format!("{:?} is not a date", value.trim()))?;
                let mut out = String::new();
                std::fmt::Write::write_fmt(&mut out, format_args!("{}", d.format(format)))
                    .map_err(|_| format!("date format {format:?} is invalid"))?;
                out
            }
            _ => value,
        },
    })
}

/// Applies `names` in order.
pub fn apply_all(names: &[String], mut value: String) -> Result<String, String> {
    for t in names {
        value = apply(t, value)?;
    }
    Ok(value)
}

/// Each word with its first letter upper case and the rest lower case.
pub fn title(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c.flat_map(char::to_lowercase)).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A date or date-time as landers send them: RFC 3339 (as UTC), `YYYY-MM-DD[ T]HH:MM:SS`,
/// `YYYY-MM-DD`, `MM/DD/YYYY`, `MM-DD-YYYY`, or `Mon D, YYYY`.
pub fn parse_date(s: &str) -> Option<NaiveDateTime> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(d.naive_utc());
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d);
        }
    }
    for f in ["%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%b %d, %Y", "%B %d, %Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms_apply_in_order_and_dates_are_read_in_every_lander_format() {
        let t =
            |names: &[&str], v: &str| apply_all(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>(), v.to_owned());
        assert_eq!(t(&["trim", "title"], "  ada LOVELACE "), Ok("Ada Lovelace".into()));
        assert_eq!(t(&["digits"], "(555) 010-0199"), Ok("5550100199".into()));
        assert_eq!(t(&["date:%m/%d/%Y"], "Oct 30, 2026"), Ok("10/30/2026".into()));
        assert_eq!(t(&["date:%Y-%m-%d"], "2026-11-03T10:15:00-05:00"), Ok("2026-11-03".into()));
        assert!(t(&["date:%Y"], "soon").unwrap_err().contains("not a date"));
        assert!(is_known("date:%Y") && is_known("upper") && !is_known("reverse"));
    }
}
