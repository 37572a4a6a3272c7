//! The preview operators run to check credentials and to find a field's column name: the first
//! page of every stream, read without touching the target tables, as an XLSX report — a sheet
//! per stream with every field seen (named as the mapping must name them) and a sheet of what a
//! pull would skip or divert, and why.

use std::collections::BTreeMap;

use platform_workbook::{Cell, Workbook, add_table};
use serde::Serialize;
use serde_json::Value;

use crate::{
    ConnectorError,
    description::{Provider, Source},
    fetch::Fetcher,
    records::{self, Outcome},
    settings::ConnectionSettings,
};

/// Records read per stream in a preview.
pub const PREVIEW_LIMIT: u32 = 50;

/// Records per stream whose detail a preview reads.
pub const PREVIEW_DETAILS: usize = 20;

/// One stream's sample: the flattened records and the field names in order of first appearance.
pub type Sample = (Vec<BTreeMap<String, String>>, Vec<String>);

/// What a preview read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preview {
    /// The manifest that read it ([`Provider::manifest_version`]).
    pub manifest: String,
    /// What the manifest tells operators about the provider (assumptions in force, limits).
    pub notes: Vec<String>,
    /// Per stream: the records read and the field names seen, in order of first appearance.
    pub streams: BTreeMap<String, Sample>,
    /// What a pull would skip or divert: stream, record, what, why.
    pub skips: Vec<[String; 4]>,
    /// Mapped provider fields not seen in any record read: stream, target field, provider field.
    pub unmatched_mappings: Vec<[String; 3]>,
    /// What this preview saw of the provider's shapes where the public record is silent or
    /// conflicting (key → note); the pulls record the same notes on the connection.
    pub observed: BTreeMap<String, String>,
    /// The connection's first-contact notes from earlier pulls (key → note).
    pub first_contact: BTreeMap<String, String>,
    /// Fields that may hold a photo: stream, field, why (see [`photo_candidates`]).
    pub photo_candidates: Vec<[String; 3]>,
}

/// Fields of a sample that may hold a photo: a name that says so (photo, image, picture,
/// avatar, headshot, logo) or a value that is an image URL or data URI.
pub fn photo_candidates(stream: &str, sample: &Sample) -> Vec<[String; 3]> {
    const NAMES: [&str; 6] = ["photo", "image", "picture", "avatar", "headshot", "logo"];
    const EXTENSIONS: [&str; 5] = [".jpg", ".jpeg", ".png", ".gif", ".webp"];
    let (rows, columns) = sample;
    let mut out = Vec::new();
    for column in columns {
        let lower = column.to_lowercase();
        let why = if let Some(n) = NAMES.iter().find(|n| lower.contains(*n)) {
            Some(format!("its name says {n}"))
        } else {
            rows.iter().filter_map(|r| r.get(column)).find_map(|v| {
                let v = v.trim().to_lowercase();
                let path = v.split(['?', '#']).next().unwrap_or("");
                if v.starts_with("data:image/") {
                    Some("a value is an image data URI".to_owned())
                } else if v.starts_with("http") && EXTENSIONS.iter().any(|e| path.ends_with(e)) {
                    Some("a value is an image URL".to_owned())
                } else {
                    None
                }
            })
        };
        if let Some(why) = why {
            out.push([stream.to_owned(), column.clone(), why]);
        }
    }
    out
}

/// Reads the first page of every stream (dependent streams: for the first parents read).
pub async fn read(
    provider: &Provider,
    fetcher: &Fetcher<'_>,
    mappings: &BTreeMap<String, Value>,
    rules: &ConnectionSettings,
) -> Result<Preview, ConnectorError> {
    let mut out =
        Preview { manifest: provider.manifest_version(), notes: provider.preview_notes.clone(), ..Default::default() };
    let event = crate::fetch::event_params(provider, rules, fetcher.auth);
    // Detail answers of the first records, by stream: their children come from them.
    let mut details: BTreeMap<&str, Vec<(String, Value)>> = BTreeMap::new();
    for spec in &provider.streams {
        let records: Vec<Value> = match &spec.source {
            Source::List { call, params, paging, records_at, detail, .. } => {
                let mut limit = paging.as_ref().map_or(PREVIEW_LIMIT, |p| p.bounded(PREVIEW_LIMIT));
                let call = rules.call_path(&spec.name, call);
                let mut base = event.clone();
                base.extend(crate::fetch::list_params(params, fetcher.auth));
                let mut list = fetcher
                    .page(call, paging.as_ref(), records_at, &base, 0, None, &mut limit)
                    .await?
                    .map(|p| p.records)
                    .unwrap_or_default();
                if let Some(d) = detail {
                    // The first records with their details (paced: a preview reads a few).
                    list.truncate(PREVIEW_DETAILS);
                    let mut completed = Vec::new();
                    for record in list {
                        let Some(id) = records::fields(spec, &record).get(&spec.id_field).cloned() else { continue };
                        let merged = match fetcher.detail(d, &event, &id).await? {
                            Ok(detail) => records::completed(&detail, &record),
                            Err(why) => {
                                out.skips.push([spec.name.clone(), id.clone(), "detail not read".into(), why]);
                                record
                            }
                        };
                        details.entry(&spec.name).or_default().push((id, merged.clone()));
                        completed.push(merged);
                    }
                    completed
                } else {
                    list
                }
            }
            Source::InDetail { parent, records_at, .. } => {
                let mut items = Vec::new();
                let mut carried = false;
                for (id, detail) in details.get(parent.as_str()).into_iter().flatten() {
                    let Some(children) = records::children(records_at, &spec.id_field, detail) else { continue };
                    carried = true;
                    for (child_id, item) in children {
                        items.push(match item {
                            Value::Object(_) => item,
                            _ => serde_json::json!({spec.id_field.as_str(): child_id, "parent": id}),
                        });
                    }
                }
                if !carried && details.get(parent.as_str()).is_some_and(|d| !d.is_empty()) {
                    fetcher.observe(
                        format!("{} in detail", spec.name),
                        format!(
                            "{}: the detail of {parent} carries no {records_at} member, so {} is not known",
                            spec.name, spec.name
                        ),
                    );
                }
                items
            }
            Source::Rerouted { .. } | Source::Derived { .. } => continue,
        };
        let configured = mappings.get(&spec.name).cloned().unwrap_or_else(|| serde_json::json!({}));
        let map = records::mapping(spec, &configured)?;
        let mut columns: Vec<String> = Vec::new();
        let mut flats = Vec::new();
        if let Some(first) = records.first() {
            let clean = platform_domain::storable::json(first.clone());
            for (key, note) in records::observe(spec, &map, &clean, &records::fields(spec, &clean)) {
                fetcher.observe(key, note);
            }
        }
        for record in records {
            let flat = records::fields(spec, &platform_domain::storable::json(record.clone()));
            for k in flat.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
            let label = flat.get(&spec.id_field).cloned().unwrap_or_else(|| "(no id)".into());
            match records::transform(spec, &map, rules, record) {
                Outcome::Row(r) if r.status == records::Status::Cancelled => out.skips.push([
                    spec.name.clone(),
                    label,
                    "imported as cancelled".into(),
                    format!("status {:?} is not an active status", r.raw_status.unwrap_or_default()),
                ]),
                Outcome::Row(_) => {}
                Outcome::Rerouted { to, .. } => {
                    out.skips.push([spec.name.clone(), label, format!("imported as {to}"), "reroute rule".into()])
                }
                Outcome::Skipped { reason, label } => {
                    out.skips.push([spec.name.clone(), label, "skipped".into(), reason])
                }
                Outcome::Rejected { reason, .. } => {
                    out.skips.push([spec.name.clone(), label, "rejected".into(), reason])
                }
            }
            flats.push(flat);
        }
        for (target, source) in &map {
            if !flats.is_empty() && !source.split('|').any(|s| columns.iter().any(|c| c == s.trim())) {
                out.unmatched_mappings.push([spec.name.clone(), target.clone(), source.clone()]);
            }
        }
        let sample = (flats, columns);
        out.photo_candidates.extend(photo_candidates(&spec.name, &sample));
        out.streams.insert(spec.name.clone(), sample);
    }
    out.observed = fetcher.take_observed();
    Ok(out)
}

/// The preview workbook.
pub fn workbook(provider: &Provider, connection: &str, p: &Preview) -> Result<Vec<u8>, platform_workbook::XlsxError> {
    let mut book = Workbook::new();
    let summary: Vec<Vec<Cell>> = p
        .streams
        .iter()
        .map(|(name, (rows, cols))| {
            vec![Cell::from(name.as_str()), Cell::from(rows.len() as i64), Cell::from(cols.len() as i64)]
        })
        .collect();
    add_table(
        &mut book,
        "summary",
        &[
            format!("{} connection {connection}, manifest {}: stream", provider.display, p.manifest),
            "records read".into(),
            "fields seen".into(),
        ],
        summary,
        &[50.0, 14.0, 14.0],
    )?;
    for (name, (rows, cols)) in &p.streams {
        let cells = rows.iter().map(|r| cols.iter().map(|c| Cell::from(r.get(c).cloned())).collect());
        add_table(&mut book, name, cols, cells, &[])?;
    }
    let skips = p.skips.iter().map(|s| s.iter().map(|t| Cell::from(t.as_str())).collect());
    add_table(
        &mut book,
        "skipped",
        &["stream".into(), "record".into(), "what".into(), "why".into()],
        skips,
        &[16.0, 30.0, 24.0, 60.0],
    )?;
    let unmatched = p.unmatched_mappings.iter().map(|s| s.iter().map(|t| Cell::from(t.as_str())).collect());
    add_table(
        &mut book,
        "mapping not found",
        &["stream".into(), "target field".into(), "provider field (not seen)".into()],
        unmatched,
        &[16.0, 20.0, 40.0],
    )?;
    let mut notes: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for (k, n) in &p.first_contact {
        notes.insert(k, (n, "earlier pulls"));
    }
    for (k, n) in &p.observed {
        notes.entry(k).or_insert((n, "this preview"));
    }
    let manifest =
        p.notes.iter().map(|n| vec![Cell::from("manifest"), Cell::from(n.as_str()), Cell::from(p.manifest.as_str())]);
    let rows =
        manifest.chain(notes.iter().map(|(k, (n, when))| vec![Cell::from(*k), Cell::from(*n), Cell::from(*when)]));
    add_table(
        &mut book,
        "first contact",
        &["what".into(), "what the provider sent".into(), "seen by".into()],
        rows,
        &[30.0, 90.0, 16.0],
    )?;
    let photos = p.photo_candidates.iter().map(|s| s.iter().map(|t| Cell::from(t.as_str())).collect());
    add_table(
        &mut book,
        "photo candidates",
        &["stream".into(), "field".into(), "why".into()],
        photos,
        &[16.0, 30.0, 40.0],
    )?;
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_candidates_by_name_or_value() {
        let row = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        let sample: Sample = (
            vec![row(&[("ProfileImageId", "77"), ("pic", "https://cdn.example/a/b.JPG?x=1"), ("name", "Ann")])],
            vec!["ProfileImageId".into(), "pic".into(), "name".into(), "headshot_url".into()],
        );
        let found = photo_candidates("persons", &sample);
        let fields: Vec<&str> = found.iter().map(|c| c[1].as_str()).collect();
        assert_eq!(fields, ["ProfileImageId", "pic", "headshot_url"]);
        assert_eq!(found[1][2], "a value is an image URL");
    }
}
