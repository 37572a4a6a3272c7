//! Pure record handling: flattening a provider record into named fields (the names the mapping
//! and the preview use), the stream's mapping checked and applied, and the description's rules
//! (status, reroute, required fields, event-local times) turning a record into a target row or a
//! reported skip. No I/O.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde_json::{Map, Value};

use crate::{
    ConnectorError,
    description::{StreamSpec, Times, matches_pattern},
    settings::ConnectionSettings,
};

/// Target fields the engine computes; a mapping may not name them.
pub const COMPUTED_FIELDS: [&str; 2] = ["fp_ext_id", "fp_status"];

/// A record's fields by flattened name: nested objects as `a.b`; collections of question
/// entries — an array, or an object keyed by position or question id, of objects with a key
/// (`fieldname`, `name`) and an answer (`response`, `value`) — as `a.<fieldname>` and
/// `a.<name>` (the first entry holding a key wins); other arrays as JSON text; `null` left out.
pub fn flatten(record: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(record, "", &mut out);
    out
}

/// The fields of a record as a stream reads them: [`flatten`], then the stream's full-name split.
pub fn fields(spec: &StreamSpec, record: &Value) -> BTreeMap<String, String> {
    let mut flat = flatten(record);
    if let Some(split) = &spec.split_name
        && let Some(full) = flat.get(&split.field).map(|v| v.trim().to_owned())
        && !full.is_empty()
    {
        let (first, last) = full.split_once(char::is_whitespace).map_or((full.as_str(), ""), |(f, l)| (f, l.trim()));
        flat.entry(format!("{}.first", split.field)).or_insert_with(|| first.to_owned());
        if !last.is_empty() {
            flat.entry(format!("{}.last", split.field)).or_insert_with(|| last.to_owned());
        }
    }
    flat
}

/// The keys and the answer of one question entry.
fn entry(item: &Value) -> Option<(Vec<&str>, &Value)> {
    let o = item.as_object()?;
    let answer = o.get("response").or_else(|| o.get("value"))?;
    let keys: Vec<&str> =
        ["fieldname", "name"].iter().filter_map(|k| o.get(*k)?.as_str()).filter(|k| !k.is_empty()).collect();
    (!keys.is_empty()).then_some((keys, answer))
}

/// The entries of a collection of question entries, or `None` when `v` is not one.
fn entries(v: &Value) -> Option<Vec<(Vec<&str>, &Value)>> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) => o.values().collect(),
        _ => return None,
    };
    if items.is_empty() {
        return None;
    }
    items.into_iter().map(entry).collect()
}

/// How a record's collection of question entries is shaped (for first-contact notes).
pub fn entries_shape(v: &Value) -> Option<&'static str> {
    let found = entries(v)?;
    let by_fieldname = found.iter().any(|(keys, _)| keys.len() == 2);
    Some(match (v.is_array(), by_fieldname) {
        (true, false) => "an array of {name, value} entries",
        (true, true) => "an array of {fieldname, name, response} entries",
        (false, true) => "an object of {fieldname, name, response} entries",
        (false, false) => "an object of {name, value} entries",
    })
}

fn walk(v: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    let join = |k: &str| if prefix.is_empty() { k.to_owned() } else { format!("{prefix}.{k}") };
    if !prefix.is_empty()
        && let Some(found) = entries(v)
    {
        for (keys, answer) in found {
            for key in keys {
                if !out.contains_key(&join(key)) {
                    walk(answer, &join(key), out);
                }
            }
        }
        return;
    }
    match v {
        Value::Object(o) => o.iter().for_each(|(k, v)| walk(v, &join(k), out)),
        Value::Array(items) if items.is_empty() => {}
        Value::Array(_) => {
            out.insert(prefix.to_owned(), v.to_string());
        }
        Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        Value::Number(n) => {
            out.insert(prefix.to_owned(), n.to_string());
        }
        Value::Bool(b) => {
            out.insert(prefix.to_owned(), b.to_string());
        }
        Value::Null => {}
    }
}

/// The first of `fields` (alternatives joined by `|`) that `flat` holds, not blank: its name and
/// value.
pub fn first_of<'a>(flat: &'a BTreeMap<String, String>, fields: &'a str) -> Option<(&'a str, &'a String)> {
    fields.split('|').map(str::trim).find_map(|f| flat.get(f).filter(|v| !v.trim().is_empty()).map(|v| (f, v)))
}

/// What a record shows about the provider's shapes, as first-contact notes (key, note): which
/// alternative of each mapped field and of the status it carries, and how its collections of
/// question entries are shaped.
pub fn observe(
    spec: &StreamSpec,
    map: &BTreeMap<String, String>,
    record: &Value,
    flat: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut notes = Vec::new();
    let mut choice = |what: &str, fields: &str| {
        if !fields.contains('|') {
            return;
        }
        let note = match first_of(flat, fields) {
            Some((f, _)) => format!("{what} read from `{f}`"),
            None => format!("{what}: none of `{fields}` present"),
        };
        notes.push((format!("{} {what}", spec.name), note));
    };
    for (target, source) in map {
        choice(target, source);
    }
    if let Some(rule) = &spec.status {
        choice("status", &rule.field);
    }
    if let Value::Object(o) = record {
        for (k, v) in o {
            if let Some(shape) = entries_shape(v) {
                notes.push((format!("{} {k}", spec.name), format!("`{k}` is {shape}")));
            }
        }
    }
    notes
}

/// The effective mapping of a stream (target field → provider field): the description's
/// defaults, then the configured mapping (a configured empty string removes a default). A
/// mapping naming `fp_ext_id` or `fp_status`, or with a non-text value, is refused.
pub fn mapping(spec: &StreamSpec, configured: &Value) -> Result<BTreeMap<String, String>, ConnectorError> {
    let mut out: BTreeMap<String, String> = spec.default_mapping.clone();
    let Some(obj) = configured.as_object() else {
        return Err(ConnectorError::Config(format!("stream {}: the mapping must be a JSON object", spec.name)));
    };
    for (target, provider) in obj {
        if COMPUTED_FIELDS.contains(&target.as_str()) {
            return Err(ConnectorError::Config(format!(
                "stream {}: {target} cannot be mapped: the connector computes it (the id and the active/cancelled status)",
                spec.name
            )));
        }
        match provider.as_str() {
            Some("") => {
                out.remove(target);
            }
            Some(p) => {
                out.insert(target.clone(), p.to_owned());
            }
            None => {
                return Err(ConnectorError::Config(format!(
                    "stream {}: the mapping of {target} must be a provider field name (text)",
                    spec.name
                )));
            }
        }
    }
    Ok(out)
}

/// Whether a record counts as active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `active`
    Active,
    /// `cancelled`
    Cancelled,
}

impl Status {
    /// The `fp_status` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Cancelled => "cancelled",
        }
    }
}

/// A row for a target table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `fp_ext_id`.
    pub ext_id: String,
    /// `fp_status`.
    pub status: Status,
    /// The provider's status as it came.
    pub raw_status: Option<String>,
    /// Mapped fields (and computed ones: `starts_at`, `ends_at`).
    pub fields: Map<String, Value>,
    /// The provider's record, NUL characters removed.
    pub raw: Value,
    /// `parent_ext_id`.
    pub parent: Option<String>,
}

/// What becomes of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A row of the stream's own target.
    Row(Row),
    /// A row for another stream (by the reroute rule), with the reason.
    Rerouted {
        /// The receiving stream.
        to: String,
        /// The row (mapped with the receiving stream's mapping by the caller).
        raw: Value,
        /// Its id.
        ext_id: String,
    },
    /// Not imported, with the reason and a label (id and title) for the report.
    Skipped {
        /// Why.
        reason: String,
        /// Id and label.
        label: String,
    },
    /// Not usable at all (no id): stored raw with the reason.
    Rejected {
        /// Why.
        reason: String,
        /// The record.
        raw: Value,
    },
}

/// Applies the stream's rules to one record. `map` is the stream's effective mapping.
pub fn transform(
    spec: &StreamSpec,
    map: &BTreeMap<String, String>,
    rules: &ConnectionSettings,
    record: Value,
) -> Outcome {
    let record = platform_domain::storable::json(record);
    let flat = fields(spec, &record);
    let Some(ext_id) = record_id(&spec.id_field, &flat) else {
        return Outcome::Rejected { reason: format!("no {} (the record id)", spec.id_field), raw: record };
    };
    if let Some(r) = &spec.reroute
        && first_of(&flat, &r.field).is_some_and(|(_, v)| v.trim().eq_ignore_ascii_case(&r.equals))
    {
        return Outcome::Rerouted { to: r.to.clone(), raw: record, ext_id };
    }
    if let Some(req) = &spec.require
        && !req.import_flagged
        && lacks_required(req, &flat)
    {
        let label = match flat.get(&req.label) {
            Some(l) => format!("{ext_id} {l:?}"),
            None => ext_id.clone(),
        };
        return Outcome::Skipped { reason: req.reason.to_owned(), label };
    }
    row(spec, map, rules, record, &flat, ext_id)
}

/// Whether a record lacks one of the required fields (absent, blank or an empty value).
fn lacks_required(req: &crate::description::Require, flat: &BTreeMap<String, String>) -> bool {
    let empty =
        |f: &str| flat.get(f).is_none_or(|v| v.trim().is_empty() || req.empty_values.iter().any(|e| v.trim() == *e));
    req.fields.iter().any(|f| empty(f))
}

/// The field of a row imported in spite of a [`crate::description::Require`] rule: its reason.
pub const FLAG_FIELD: &str = "import_flag";

/// Maps a record into a row of `spec` (used for rerouted records by the receiving stream).
pub fn row(
    spec: &StreamSpec,
    map: &BTreeMap<String, String>,
    rules: &ConnectionSettings,
    record: Value,
    flat: &BTreeMap<String, String>,
    ext_id: String,
) -> Outcome {
    let mut fields = Map::new();
    for (target, source) in map {
        if let Some((_, v)) = first_of(flat, source) {
            fields.insert(target.clone(), Value::String(v.clone()));
        }
    }
    let (status, raw_status) = match &spec.status {
        Some(rule) => {
            let raw = first_of(flat, &rule.field).map(|(_, v)| v.clone());
            let active = rules.active_statuses(&rule.setting, &rule.default_active);
            let is_active = raw.as_deref().is_some_and(|s| active.contains(&s.trim().to_lowercase()));
            (if is_active { Status::Active } else { Status::Cancelled }, raw)
        }
        None => (Status::Active, None),
    };
    let flagged = spec.require.as_ref().filter(|r| r.import_flagged && lacks_required(r, flat));
    if let Some(req) = flagged {
        fields.insert(FLAG_FIELD.into(), Value::String(req.reason.to_owned()));
    }
    if let (Some(t), None) = (&spec.times, flagged) {
        match times(t, rules, flat) {
            Ok((s, e)) => {
                fields.insert("starts_at".into(), Value::String(s));
                fields.insert("ends_at".into(), Value::String(e));
            }
            Err(reason) => {
                return Outcome::Skipped {
                    reason,
                    label: format!("{ext_id} {:?}", flat.get("name").cloned().unwrap_or_default()),
                };
            }
        }
    }
    let parent = spec.id_field.contains('/').then(|| ext_id.split('/').next().unwrap_or_default().to_owned());
    Outcome::Row(Row { ext_id, status, raw_status, fields, raw: record, parent })
}

/// A record's start and end as UTC RFC 3339 texts, or why they cannot be read.
fn times(t: &Times, rules: &ConnectionSettings, flat: &BTreeMap<String, String>) -> Result<(String, String), String> {
    let zone = rules.event_time_zone();
    let Ok(tz) = zone.parse::<chrono_tz::Tz>() else {
        return Err(format!("event_time_zone {zone:?} is not a time zone"));
    };
    let utc = |local: NaiveDateTime| -> Option<String> {
        let at = tz.from_local_datetime(&local).earliest()?;
        Some(at.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    let at = |field: &str| -> Option<String> {
        match t {
            Times::LocalDate { date, .. } => {
                let date = NaiveDate::parse_from_str(flat.get(date)?.trim(), "%Y-%m-%d").ok()?;
                let raw = flat.get(field)?.trim().to_owned();
                let time = NaiveTime::parse_from_str(&raw, "%H:%M:%S")
                    .or_else(|_| NaiveTime::parse_from_str(&raw, "%H:%M"))
                    .ok()?;
                utc(date.and_time(time))
            }
            Times::Instants { .. } => {
                let raw = flat.get(field)?.trim();
                match chrono::DateTime::parse_from_rfc3339(raw) {
                    Ok(at) => Some(at.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    Err(_) => utc(NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S").ok()?),
                }
            }
        }
    };
    let (start, end) = match t {
        Times::LocalDate { start, end, .. } | Times::Instants { start, end } => (start.as_str(), end.as_str()),
    };
    match (at(start), at(end)) {
        (Some(s), Some(e)) => Ok((s, e)),
        _ => Err("start or end time unreadable".into()),
    }
}

/// The record's id: one field, or `/`-joined fields (every part present) for a composite id.
fn record_id(id_field: &str, flat: &BTreeMap<String, String>) -> Option<String> {
    let parts: Option<Vec<&str>> =
        id_field.split('/').map(|f| flat.get(f).map(|v| v.trim()).filter(|v| !v.is_empty())).collect();
    Some(parts?.join("/"))
}

/// A list record completed by its detail: the detail's fields, the list record's own values over
/// them.
pub fn completed(detail: &Value, list: &Value) -> Value {
    let mut merged = detail.as_object().cloned().unwrap_or_default();
    if let Value::Object(l) = list {
        merged.extend(l.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Value::Object(merged)
}

/// The children a parent's detail record holds at `records_at` — each child's id (an item that
/// is a string or a number is the id; an object gives its `id_field`) and the item, NUL removed
/// — or `None` when the record has no such member (nothing is known of the children).
pub fn children(records_at: &str, id_field: &str, record: &Value) -> Option<Vec<(String, Value)>> {
    let items = record.pointer(records_at)?.as_array()?;
    Some(
        items
            .iter()
            .filter_map(|item| {
                let item = platform_domain::storable::json(item.clone());
                let id = match &item {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => flatten(other).get(id_field)?.clone(),
                };
                Some((id, item))
            })
            .collect(),
    )
}

/// The photo URL of an image id: `{id}` (or `{image}`) and `{<account credential>}` (e.g.
/// `{accountid}`) replaced in the endpoint, else the id appended (after `/` unless the endpoint
/// ends with `=`, as `image.php?acc=…&id=` does). `account` is the account credential's name and
/// value.
pub fn photo_url(endpoint: &str, image: &str, account: (&str, &str)) -> String {
    let endpoint = endpoint.replace(&format!("{{{}}}", account.0), account.1).replace("{image}", "{id}");
    if endpoint.contains("{id}") {
        endpoint.replace("{id}", image)
    } else if endpoint.ends_with('=') {
        format!("{endpoint}{image}")
    } else {
        format!("{}/{image}", endpoint.trim_end_matches('/'))
    }
}

/// The records of a list answer: the array at `records_at` (`""`: the answer itself), or `None`
/// when there is none (a Data Services `{"ResultSet": …}` answer, an error object).
pub fn records_of(mut answer: Value, records_at: &str) -> Option<Vec<Value>> {
    let list = if records_at.is_empty() { Some(&mut answer) } else { answer.pointer_mut(records_at) };
    match list.map(Value::take) {
        Some(Value::Array(items)) => Some(items),
        _ => None,
    }
}

/// Whether an error message of the provider matches one of `patterns`.
pub fn is_one_of(patterns: &[String], message: &str) -> bool {
    patterns.iter().any(|p| matches_pattern(p, message))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(name: &str) -> StreamSpec {
        crate::provider("aventri").unwrap().stream(name).unwrap().clone()
    }

    #[test]
    fn flattening_names_nested_and_custom_fields() {
        let flat = flatten(&json!({"a": "1", "category": {"name": "Sponsor"}, "n": 7, "x": null,
            "responses": [{"fieldid": "77", "name": "Profile Photo", "value": "http://p"}], "tags": ["a", "b"]}));
        assert_eq!(flat["category.name"], "Sponsor");
        assert_eq!(flat["responses.Profile Photo"], "http://p");
        assert_eq!(flat["n"], "7");
        assert_eq!(flat["tags"], "[\"a\",\"b\"]");
        assert!(!flat.contains_key("x"));
    }

    #[test]
    fn computed_fields_cannot_be_mapped() {
        let s = spec("participants");
        for f in COMPUTED_FIELDS {
            let err = mapping(&s, &json!({f: "attendeeid"})).unwrap_err().to_string();
            assert!(err.contains("cannot be mapped"), "{err}");
        }
        assert!(mapping(&s, &json!({"photo": 3})).unwrap_err().to_string().contains("must be a provider field"));
        let m = mapping(&s, &json!({"photo": "responses.Profile Photo", "title": ""})).unwrap();
        assert_eq!(m["photo"], "responses.Profile Photo");
        assert!(!m.contains_key("title"));
    }

    #[test]
    fn statuses_follow_the_setting_trimmed_and_case_insensitive() {
        let s = spec("participants");
        let m = mapping(&s, &json!({})).unwrap();
        let status = |rules: &ConnectionSettings, st: &str| match transform(
            &s,
            &m,
            rules,
            json!({"attendeeid": "1", "status": st}),
        ) {
            Outcome::Row(r) => r.status,
            other => panic!("{other:?}"),
        };
        let default = ConnectionSettings::default();
        assert_eq!(status(&default, "Confirmed"), Status::Active);
        assert_eq!(status(&default, " attended "), Status::Active);
        assert_eq!(status(&default, "Cancelled"), Status::Cancelled);
        assert_eq!(status(&default, "Waitlisted"), Status::Cancelled);
        let custom = ConnectionSettings::from_value(&json!({"active_statuses": " Confirmed , WAITLISTED ,"}));
        assert_eq!(status(&custom, "Waitlisted"), Status::Active);
        assert_eq!(status(&custom, "Attended"), Status::Cancelled);
    }

    #[test]
    fn sponsors_reroute_sessions_without_times_skip_and_ids_are_required() {
        let p = spec("participants");
        let m = mapping(&p, &json!({})).unwrap();
        let rules = ConnectionSettings::default();
        let sponsor = json!({"attendeeid": 5, "category": {"name": "sponsor"}});
        assert!(
            matches!(transform(&p, &m, &rules, sponsor), Outcome::Rerouted { to, ext_id, .. } if to == "sponsors" && ext_id == "5")
        );
        assert!(matches!(transform(&p, &m, &rules, json!({"fname": "x"})), Outcome::Rejected { .. }));
        let s = spec("sessions");
        let sm = mapping(&s, &json!({})).unwrap();
        for (date, start, end) in [("0000-00-00", "09:00:00", "10:00:00"), ("2026-12-01", "09:00:00", ""), ("", "", "")]
        {
            let rec = json!({"sessionid": "9", "name": "T", "sessiondate": date, "starttime": start, "endtime": end});
            match transform(&s, &sm, &rules, rec) {
                Outcome::Skipped { reason, label } => {
                    assert_eq!(reason, "no start or end time");
                    assert_eq!(label, "9 \"T\"");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn event_local_times_become_utc_and_nul_is_removed() {
        let s = spec("sessions");
        let sm = mapping(&s, &json!({})).unwrap();
        let rules = ConnectionSettings::from_value(&json!({"event_time_zone": "America/New_York"}));
        let rec = json!({"sessionid": "9", "name": "Zoë\u{0}", "sessiondate": "2026-12-01", "starttime": "09:00:00", "endtime": "10:30"});
        let Outcome::Row(r) = transform(&s, &sm, &rules, rec) else { panic!() };
        assert_eq!(r.fields["starts_at"], "2026-12-01T14:00:00Z");
        assert_eq!(r.fields["ends_at"], "2026-12-01T15:30:00Z");
        assert_eq!(r.fields["title"], "Zoë");
        assert_eq!(r.raw["name"], "Zoë");
    }

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../../tests/fixtures/vendors/aventri/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
    }

    #[test]
    fn public_attendee_shapes_give_names_status_category_and_answers() {
        let p = spec("participants");
        let m = mapping(&p, &json!({})).unwrap();
        let list = fixture("listAttendees.json")[0].clone();
        let mut merged = fixture("getAttendee.json");
        merged.as_object_mut().unwrap().extend(list.as_object().unwrap().clone());
        let flat = fields(&p, &merged);
        assert_eq!(flat["responses.email"], "test@example.com", "keyed by fieldname");
        assert_eq!(flat["responses.Email Address"], "test@example.com", "and by the question's name");
        assert_eq!(flat["responses.28341900"], "Session A");
        let Outcome::Row(r) = transform(&p, &m, &ConnectionSettings::default(), merged.clone()) else { panic!() };
        assert_eq!(r.ext_id, "1");
        assert_eq!((r.status, r.raw_status.as_deref()), (Status::Active, Some("Confirmed")), "registrationstatus");
        assert_eq!(r.fields["first_name"], "[Attendee");
        assert_eq!(r.fields["last_name"], "1001 First Name Last Name]");
        assert_eq!(r.fields["email"], "attendee1001email@example.com", "the list's own value wins");
        assert_eq!(r.fields["category"], "Event Speaker");
        let notes = observe(&p, &m, &merged, &flat);
        let text = format!("{notes:?}");
        assert!(text.contains("first_name read from `name.first`"), "{text}");
        assert!(text.contains("status read from `registrationstatus`"), "{text}");
        assert!(text.contains("`responses` is an object of {fieldname, name, response} entries"), "{text}");

        // A list record alone (its detail unread) still has a name; a sponsor by category reroutes.
        let Outcome::Row(alone) = transform(&p, &m, &ConnectionSettings::default(), list) else { panic!() };
        assert_eq!(alone.status, Status::Cancelled, "no status known: not active");
        merged["category"]["name"] = json!("Sponsor");
        assert!(matches!(
            transform(&p, &m, &ConnectionSettings::default(), merged),
            Outcome::Rerouted { to, .. } if to == "sponsors"
        ));
    }

    #[test]
    fn top_level_names_win_over_the_split_and_arrays_of_answers_still_flatten() {
        let p = spec("participants");
        let m = mapping(&p, &json!({})).unwrap();
        let rec = json!({"attendeeid": "7", "name": "Ada King", "fname": "Ada", "lname": "Lovelace", "status": "Attended",
            "responses": [{"name": "Sponsor Level", "value": "Gold"}]});
        let Outcome::Row(r) = transform(&p, &m, &ConnectionSettings::default(), rec.clone()) else { panic!() };
        assert_eq!((r.fields["first_name"].as_str(), r.fields["last_name"].as_str()), (Some("Ada"), Some("Lovelace")));
        assert_eq!(r.status, Status::Active, "status where a list carries it");
        assert_eq!(fields(&p, &rec)["responses.Sponsor Level"], "Gold");
        assert_eq!(entries_shape(&rec["responses"]), Some("an array of {name, value} entries"));
    }
}
