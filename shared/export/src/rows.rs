//! The leads of one report: the query (filters and sort of the template, as parameters — a
//! field name is never spliced into SQL), and each lead's cells. Cell conversion is pure.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use platform_warehouse::tokio_postgres::{Row, types::ToSql};
use platform_workbook::Cell;
use serde_json::Value;

use crate::template::{Column, Kind, Template};

/// The columns every report query selects, in this order.
const SELECT: &str = "SELECT l.id, l.received_at, l.first_name, l.last_name, l.email, l.phone, l.source, l.source_id, \
                      l.lander_id, l.fields FROM leads.lead l";

/// A parameter of the report query.
pub type Param = Box<dyn ToSql + Sync + Send>;

/// The SQL and parameters of a report over the leads of `lander` stored before `through` (and
/// from `since` on, when given), filtered and sorted by the template. Stored, not received: a
/// lead dated by its submission time but stored later belongs to the next report.
pub fn query(
    template: &Template,
    lander: &str,
    through: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
) -> (String, Vec<Param>) {
    let mut params: Vec<Param> = vec![Box::new(lander.to_owned()), Box::new(through), Box::new(since)];
    let mut sql = format!(
        "{SELECT} WHERE l.lander_id = $1 AND NOT l.is_test AND l.stored_at < $2 AND ($3::timestamptz IS NULL OR l.stored_at >= $3)"
    );
    for f in &template.filters {
        let expr = text_expr(&f.field, &mut params);
        if let Some(v) = &f.equals {
            params.push(Box::new(v.clone()));
            sql.push_str(&format!(" AND {expr} = ${}", params.len()));
        } else if let Some(vs) = &f.one_of {
            params.push(Box::new(vs.clone()));
            sql.push_str(&format!(" AND {expr} = ANY(${}::text[])", params.len()));
        } else if let Some(present) = f.present {
            let not = if present { "NOT " } else { "" };
            sql.push_str(&format!(" AND {not}(NULLIF(btrim({expr}), '') IS NULL)"));
        }
    }
    let mut order: Vec<String> = Vec::new();
    for s in &template.sort {
        let numeric = template.columns.iter().any(|c| c.field == s.field && c.kind == Kind::Number);
        let expr = match s.field.as_str() {
            "lead_id" => "l.id".to_owned(),
            "received_at" => "l.received_at".to_owned(),
            // A number column sorts by value ("99" before "100"); text that is no number last.
            other if numeric => {
                let text = text_expr(other, &mut params);
                let digits = format!("regexp_replace({text}, '[$, ]', '', 'g')");
                format!("(CASE WHEN {digits} ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN {digits}::numeric END)")
            }
            other => text_expr(other, &mut params),
        };
        order.push(format!("{expr} {} NULLS LAST", if s.descending { "DESC" } else { "ASC" }));
    }
    if order.is_empty() {
        order.push("l.received_at".into());
    }
    order.push("l.id".into());
    sql.push_str(" ORDER BY ");
    sql.push_str(&order.join(", "));
    (sql, params)
}

/// The SQL text of a field: a core column, or the lead's field (its name a parameter).
fn text_expr(field: &str, params: &mut Vec<Param>) -> String {
    match field {
        "lead_id" => "l.id::text".into(),
        "received_at" => "to_char(l.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')".into(),
        "first_name" | "last_name" | "email" | "phone" | "source" | "source_id" | "lander_id" => format!("l.{field}"),
        other => {
            params.push(Box::new(other.to_owned()));
            format!("(l.fields ->> ${})", params.len())
        }
    }
}

/// One lead as the report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    /// `leads.lead.id`.
    pub id: i64,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// Core text columns by name (`first_name`, …, `lander_id`).
    pub core: [Option<String>; 7],
    /// The values of the fields the template reads, by slot (see [`Cells`]); the lead's other
    /// fields are skipped unread.
    pub fields: Vec<Option<Value>>,
}

const CORE_TEXT: [&str; 7] = ["first_name", "last_name", "email", "phone", "source", "source_id", "lander_id"];

/// Turns leads into cells for a template, in a time zone. Build once per report.
pub struct Cells<'t> {
    columns: &'t [Column],
    /// Per column: the index of its core text column, if it is one.
    core: Vec<Option<usize>>,
    /// Per column: the slot of its lead field, if it is one.
    slot: Vec<Option<usize>>,
    /// Lead field name → slot.
    slots: HashMap<String, usize>,
    /// Per column: whether a later column reads the same field (then its value is copied,
    /// otherwise taken from the lead).
    shared: Vec<bool>,
    time_zone: Tz,
}

impl<'t> Cells<'t> {
    /// For `template`'s columns, dates shown in `time_zone`.
    pub fn new(template: &'t Template, time_zone: Tz) -> Cells<'t> {
        let index: HashMap<&str, usize> = CORE_TEXT.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let core: Vec<Option<usize>> = template.columns.iter().map(|c| index.get(c.field.as_str()).copied()).collect();
        let mut slots: HashMap<String, usize> = HashMap::new();
        let slot = template
            .columns
            .iter()
            .zip(&core)
            .map(|(c, core)| {
                (core.is_none() && c.field != "lead_id" && c.field != "received_at").then(|| {
                    let next = slots.len();
                    *slots.entry(c.field.clone()).or_insert(next)
                })
            })
            .collect();
        let shared = (0..template.columns.len())
            .map(|i| template.columns[i + 1..].iter().any(|c| c.field == template.columns[i].field))
            .collect();
        Cells { columns: &template.columns, core, slot, slots, shared, time_zone }
    }

    /// Reads a row of the report query.
    pub fn lead(&self, row: &Row) -> Result<Lead, String> {
        let fields = match row.get::<_, Option<JsonBytes<'_>>>(9) {
            Some(JsonBytes(json)) => {
                self.fields(json).map_err(|e| format!("lead {}: fields: {e}", row.get::<_, i64>(0)))?
            }
            None => vec![None; self.slots.len()],
        };
        Ok(Lead { id: row.get(0), received_at: row.get(1), core: std::array::from_fn(|i| row.get(i + 2)), fields })
    }

    /// The values of the template's fields in a lead's `fields` JSON, by slot: keys are
    /// compared without being copied, and the fields no column reads are skipped.
    pub fn fields(&self, json: &[u8]) -> Result<Vec<Option<Value>>, serde_json::Error> {
        let mut out = vec![None; self.slots.len()];
        let mut de = serde_json::Deserializer::from_slice(json);
        serde::de::DeserializeSeed::deserialize(FieldSlots { slots: &self.slots, out: &mut out }, &mut de)?;
        Ok(out)
    }

    /// The time of `t` in the report's time zone.
    pub fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.time_zone).naive_local()
    }

    /// The cells of one lead, in column order (into `out`, cleared first). The lead's values
    /// are moved into the cells, not copied.
    pub fn fill(&self, mut lead: Lead, out: &mut Vec<Cell>) {
        out.clear();
        for (i, c) in self.columns.iter().enumerate() {
            let shared = self.shared[i];
            let cell = match (c.field.as_str(), self.core[i], self.slot[i]) {
                ("lead_id", _, _) => self.typed(c, Source::Number(lead.id as f64)),
                ("received_at", _, _) => self.typed(c, Source::Time(self.local(lead.received_at))),
                (_, Some(k), _) => {
                    let value = if shared { lead.core[k].clone() } else { lead.core[k].take() };
                    match value {
                        Some(t) => self.typed(c, Source::Text(t)),
                        None => Cell::Empty,
                    }
                }
                (_, None, Some(k)) => {
                    let value = if shared { lead.fields[k].clone() } else { lead.fields[k].take() };
                    match value {
                        None | Some(Value::Null) => Cell::Empty,
                        Some(Value::Number(n)) => self.typed(c, Source::Number(n.as_f64().unwrap_or_default())),
                        Some(Value::String(s)) => self.typed(c, Source::Text(s)),
                        Some(other) => self.typed(c, Source::Text(text_of(&other))),
                    }
                }
                (_, None, None) => Cell::Empty,
            };
            out.push(cell);
        }
    }

    fn typed(&self, c: &Column, value: Source) -> Cell {
        // Transforms work on text: a transformed value is text first.
        let value = if c.transform.is_empty() {
            value
        } else {
            let text = match value {
                Source::Text(t) => t,
                Source::Number(n) => number_text(n),
                Source::Time(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            };
            match platform_domain::transform::apply_all(&c.transform, text.clone()) {
                Ok(t) => Source::Text(t),
                // A value a transform cannot read (a date transform on "soon") is kept as it came.
                Err(_) => Source::Text(text),
            }
        };
        match (c.kind, value) {
            (Kind::Text, Source::Number(n)) => Cell::Text(number_text(n)),
            (Kind::Text, Source::Time(t)) => Cell::Text(t.format("%Y-%m-%d %H:%M").to_string()),
            (Kind::Number, Source::Text(t)) => match parse_number(&t) {
                Some(n) => Cell::Number(n),
                None => Cell::Text(t),
            },
            (Kind::Date, Source::Text(t)) => match DateTime::parse_from_rfc3339(t.trim()) {
                // An instant is shown in the report's time zone; a plain date as written.
                Ok(instant) => Cell::Date(self.local(instant.with_timezone(&Utc))),
                Err(_) => match platform_domain::transform::parse_date(t.trim()) {
                    Some(d) => Cell::Date(d),
                    None => Cell::Text(t),
                },
            },
            (_, Source::Text(t)) if t.is_empty() => Cell::Empty,
            (_, Source::Text(t)) => Cell::Text(t),
            (_, Source::Number(n)) => Cell::Number(n),
            (_, Source::Time(t)) => Cell::Date(t),
        }
    }
}

/// A `json`/`jsonb` value's text, unparsed (jsonb's binary form is a version byte and the text).
struct JsonBytes<'a>(&'a [u8]);

impl<'a> platform_warehouse::tokio_postgres::types::FromSql<'a> for JsonBytes<'a> {
    fn from_sql(
        ty: &platform_warehouse::tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        if *ty == platform_warehouse::tokio_postgres::types::Type::JSONB {
            match raw.split_first() {
                Some((1, text)) => Ok(JsonBytes(text)),
                _ => Err("unsupported jsonb version".into()),
            }
        } else {
            Ok(JsonBytes(raw))
        }
    }

    fn accepts(ty: &platform_warehouse::tokio_postgres::types::Type) -> bool {
        use platform_warehouse::tokio_postgres::types::Type;
        *ty == Type::JSONB || *ty == Type::JSON
    }
}

/// Reads a JSON object's values into their slots.
struct FieldSlots<'s> {
    slots: &'s HashMap<String, usize>,
    out: &'s mut Vec<Option<Value>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for FieldSlots<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for FieldSlots<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of lead fields")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match self.slots.get(key.as_str()) {
                Some(&i) => self.out[i] = Some(map.next_value::<Value>()?),
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// An object key, borrowed from the input when it has no escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_owned()))
            }
        }
        d.deserialize_str(V)
    }
}

enum Source {
    Text(String),
    Number(f64),
    Time(NaiveDateTime),
}

/// A JSON value as one cell's text: a list one item per line, an object `key = value` lines.
fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join("\n"),
        Value::Object(o) => o.iter().map(|(k, v)| format!("{k} = {}", text_of(v))).collect::<Vec<_>>().join("\n"),
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() }
}

/// A number as landers type it: `$1,250.00`, ` 3 `, `-2.5`.
fn parse_number(t: &str) -> Option<f64> {
    let cleaned: String = t.chars().filter(|c| !matches!(c, '$' | ',' | ' ' | '\u{a0}')).collect();
    if cleaned.is_empty() {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Template;
    use serde_json::json;

    fn lead(cells: &Cells<'_>) -> Lead {
        let fields = json!({"amount": "$1,250.00", "count": 3, "when": "Oct 30, 2026",
            "danger": "=HYPERLINK(\"http://x\")", "answers": ["a", "b"], "blank": "", "unread": {"deep": [1, 2]},
            "called": "2026-11-03T23:30:00Z"});
        // A key written with an escape (`\u0061` is `a`) is read as the name it spells.
        let text = fields.to_string().replacen('{', "{\"esc\\u0061ped\": \"kept\", ", 1);
        Lead {
            id: 42,
            received_at: "2026-11-03T16:40:00Z".parse().unwrap(),
            core: [
                Some("dana".into()),
                None,
                Some("d@x.org".into()),
                Some("(555) 010-3344".into()),
                Some("formstack".into()),
                Some("17".into()),
                Some("slip-lp".into()),
            ],
            fields: cells.fields(text.as_bytes()).unwrap(),
        }
    }

    #[test]
    fn cells_are_typed_transformed_and_dated_in_the_reports_time_zone() {
        let def = json!({"columns": [
            {"field": "lead_id"}, {"field": "received_at"}, {"field": "first_name", "transform": "title"},
            {"field": "last_name"}, {"field": "phone", "transform": "digits"}, {"field": "amount", "type": "number"},
            {"field": "count"}, {"field": "when", "type": "date"}, {"field": "danger"}, {"field": "answers"},
            {"field": "blank"}, {"field": "count", "type": "text"}, {"field": "received_at", "type": "text"},
            {"field": "escaped"}, {"field": "called", "type": "date"}]});
        let fields = ["amount", "count", "when", "danger", "answers", "blank", "escaped", "called"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let t = Template::custom("t", &def, &fields).unwrap();
        let cells = Cells::new(&t, "America/Chicago".parse().unwrap());
        let mut out = Vec::new();
        cells.fill(lead(&cells), &mut out);
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            out,
            vec![
                Cell::Number(42.0),
                Cell::Date(at("2026-11-03 10:40")),
                Cell::Text("Dana".into()),
                Cell::Empty,
                Cell::Text("5550103344".into()),
                Cell::Number(1250.0),
                Cell::Number(3.0),
                Cell::Date(at("2026-10-30 00:00")),
                Cell::Text("=HYPERLINK(\"http://x\")".into()),
                Cell::Text("a\nb".into()),
                Cell::Empty,
                Cell::Text("3".into()),
                Cell::Text("2026-11-03 10:40".into()),
                Cell::Text("kept".into()),
                Cell::Date(at("2026-11-03 17:30")),
            ],
            "a field read by two columns is in both; an escaped key is found; unread fields skipped; an instant in the report's zone"
        );
        assert!(cells.fields(b"[1]").is_err(), "fields that are not an object are an error");
    }

    #[test]
    fn filters_and_sorts_become_parameters_never_sql() {
        let def = json!({"columns": [{"field": "email"}],
            "filters": [{"field": "state'; DROP TABLE x; --", "equals": "KY"}, {"field": "email", "present": true},
                        {"field": "source", "in": ["formstack"]}],
            "sort": [{"field": "received_at", "descending": true}, {"field": "state'; DROP TABLE x; --"}]});
        let fields = ["state'; DROP TABLE x; --".to_string()].into_iter().collect();
        let t = Template::custom("t", &def, &fields).unwrap();
        let (sql, params) = query(&t, "lp", Utc::now(), None);
        assert!(!sql.contains("DROP"), "{sql}");
        assert!(sql.contains("(l.fields ->> $4) = $5"), "{sql}");
        assert!(sql.contains("NOT (NULLIF(btrim(l.email), '') IS NULL)"), "{sql}");
        assert!(sql.contains("l.source = ANY($6::text[])"), "{sql}");
        assert!(
            sql.ends_with("ORDER BY l.received_at DESC NULLS LAST, (l.fields ->> $7) ASC NULLS LAST, l.id"),
            "{sql}"
        );
        assert_eq!(params.len(), 7);
        let by_amount = json!({"columns": [{"field": "amount", "type": "number"}], "sort": [{"field": "amount"}]});
        let amount = Template::custom("t", &by_amount, &["amount".to_string()].into_iter().collect()).unwrap();
        let (sql, _) = query(&amount, "lp", Utc::now(), None);
        assert!(sql.contains("THEN regexp_replace((l.fields ->> $4), '[$, ]', '', 'g')::numeric END) ASC"), "{sql}");
        let generic = Template::generic(&Default::default(), &Default::default());
        assert!(query(&generic, "lp", Utc::now(), None).0.ends_with("ORDER BY l.received_at, l.id"));
    }
}
