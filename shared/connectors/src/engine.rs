//! The engine: pulls one root stream of a connection page by page from its cursor, applies the
//! description's rules, writes each page with its state in one transaction, fetches dependent
//! records and photos for what changed, and on completion moves the cursor, removes outdated
//! rows (complete full pulls only, under the share guard), rebuilds master sessions and derived
//! streams. A pull that meets the invocation's deadline stops between pages and says so; the
//! next invocation continues from the saved page position.

use std::{collections::BTreeMap, time::Duration};

use platform_runtime::Deadline;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    ConnectorError,
    description::{Detail, ModifiedSince, Paging, Provider, Source, StreamSpec},
    fetch::{self, Fetcher},
    records::{self, Outcome, Row},
    store::{self, Connection, PageCounts, PullState, Removal, Stream},
};

/// Time a page needs at most (a call with its retries, and the write).
pub const PAGE_BUDGET: Duration = Duration::from_secs(15);

/// Where photos go.
#[derive(Debug, Clone)]
pub struct PhotoStore<'a> {
    /// S3 client.
    pub s3: &'a platform_aws::s3::Client,
    /// Bucket.
    pub bucket: &'a str,
}

/// What one invocation did to one stream pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Progress {
    /// The pull completed.
    Complete,
    /// The deadline came first: continue with the same run.
    Continue,
    /// Another invocation holds the stream.
    Busy,
    /// This run had already completed (a repeated message).
    AlreadyDone,
}

/// Everything a pull needs.
pub struct Pull<'a> {
    /// The description.
    pub provider: &'a Provider,
    /// The connection.
    pub connection: &'a Connection,
    /// Its stream rows.
    pub streams: &'a [Stream],
    /// The provider calls.
    pub fetcher: &'a Fetcher<'a>,
    /// The warehouse.
    pub warehouse: &'a platform_warehouse::Warehouse,
    /// Photos' destination (photos are not fetched without it).
    pub photos: Option<PhotoStore<'a>>,
    /// Most pages one invocation reads (then the pull continues in the next message).
    pub max_pages: Option<u32>,
}

impl Pull<'_> {
    fn row_of(&self, name: &str) -> Option<&Stream> {
        self.streams.iter().find(|s| s.stream == name)
    }

    fn enabled(&self, name: &str) -> bool {
        self.row_of(name).is_some_and(|s| s.enabled)
    }

    fn mapping(&self, spec: &StreamSpec) -> Result<BTreeMap<String, String>, ConnectorError> {
        let configured = self.row_of(&spec.name).map(|s| s.mapping.clone()).unwrap_or(Value::Object(Map::new()));
        records::mapping(spec, &configured)
    }

    fn look_back(&self, spec: &StreamSpec) -> Option<Duration> {
        let Source::List { modified_since: Some(m), .. } = &spec.source else { return None };
        Some(self.connection.settings.look_back(m.look_back()))
    }

    fn children(&self, parent: &str) -> Vec<&StreamSpec> {
        self.provider
            .streams
            .iter()
            .filter(|s| matches!(&s.source, Source::InDetail { parent: p, .. } if p == parent) && self.enabled(&s.name))
            .collect()
    }

    fn event_params(&self) -> Vec<(String, String)> {
        crate::fetch::event_params(self.provider, &self.connection.settings, self.fetcher.auth)
    }

    /// Pulls `stream` until it completes or `deadline` comes; `run_id` is the pull the message
    /// names (a new pull starts under it when none is under way).
    pub async fn run(
        &self,
        stream: &str,
        run_id: Uuid,
        trigger: &str,
        deadline: &Deadline,
    ) -> Result<Progress, ConnectorError> {
        let spec = self.provider.stream(stream).filter(|s| s.is_root()).ok_or_else(|| {
            ConnectorError::NotFound(format!(
                "{} has no stream {stream:?} that is pulled on its own",
                self.provider.display
            ))
        })?;
        let lease_secs = deadline.remaining().map_or(900.0, |d| d.as_secs_f64() + 30.0);
        let db = self.warehouse.conn().await?;
        let Some(row) = store::lease(&**db, &self.connection.name, stream, lease_secs).await? else {
            return Ok(Progress::Busy);
        };
        drop(db);
        let result = self.run_leased(spec, &row, run_id, trigger, deadline).await;
        // The lease goes back, and an error is recorded, even when the failure was the warehouse
        // connection itself: else the stream would stay leased until its lease ran out.
        for attempt in 1.. {
            let db = self.warehouse.conn().await?;
            let mut closed = store::release(&**db, &self.connection.name, stream).await;
            if let (Ok(()), Err(e)) = (&closed, &result) {
                // Wrong credentials or configuration end the pull; anything else leaves it to continue.
                let permanent = matches!(e, ConnectorError::Credentials(_) | ConnectorError::Config(_));
                let text = e.to_string();
                closed = store::record_pull_error(&**db, &self.connection.name, stream, run_id, &text, permanent).await;
            }
            match closed {
                Err(e) if attempt < 3 && platform_warehouse::isolate::connection_lost(&e) => continue,
                other => other?,
            }
            break;
        }
        result
    }

    /// The list call of a root stream, as this connection makes it.
    fn list_call<'s>(&'s self, spec: &'s StreamSpec) -> ListCall<'s> {
        let Source::List { call, params, paging, records_at, modified_since, detail } = &spec.source else {
            unreachable!("only root streams are pulled on their own")
        };
        ListCall {
            path: self.connection.settings.call_path(&spec.name, call),
            params,
            paging: paging.as_ref(),
            records_at,
            modified_since: modified_since.as_ref(),
            detail: detail.as_ref(),
        }
    }

    async fn run_leased(
        &self,
        spec: &StreamSpec,
        row: &Stream,
        run_id: Uuid,
        trigger: &str,
        deadline: &Deadline,
    ) -> Result<Progress, ConnectorError> {
        let name = &self.connection.name;
        let list = self.list_call(spec);
        let map = self.mapping(spec)?;
        // Every mapping this pull uses is checked before the first call.
        for s in &self.provider.streams {
            self.mapping(s)?;
        }
        let manifest = self.provider.manifest_version();
        let mut state = match &row.pull {
            // A pull opened by another manifest (a deploy in between, or before pulls recorded
            // theirs) may have paged otherwise: its position means nothing now, so it reads from
            // the first page again (pages written stay; a record read twice is unchanged).
            Some(p) if p.manifest.as_ref() != Some(&manifest) => {
                let mut p = p.clone();
                self.fetcher.observe(
                    format!("manifest changed {}", spec.name),
                    format!(
                        "{}: the pull opened by {} continues under {manifest} from the first page",
                        spec.name,
                        p.manifest.as_deref().unwrap_or("an earlier manifest")
                    ),
                );
                p.offset = 0;
                p.page_done = 0;
                p.token = None;
                p.last_page_done = false;
                p.manifest = Some(manifest.clone());
                p
            }
            Some(p) => p.clone(),
            None if row.last_run_id == Some(run_id) => return Ok(Progress::AlreadyDone),
            None => {
                let full = row.full_requested || row.cursor_at.is_none() || list.modified_since.is_none();
                let limit =
                    list.paging.map_or(0, |p| p.bounded(self.connection.settings.page_limit(p.default_limit())));
                let look_back = self.look_back(spec).map(|d| d.as_secs_f64());
                let open =
                    store::OpenPull { run_id, full, look_back_secs: look_back, trigger, limit, manifest: &manifest };
                let mut db = self.warehouse.conn().await?;
                let tx = crate::store::client(&mut db).transaction().await?;
                let state = store::open_pull(&tx, name, &spec.name, &open).await?;
                tx.commit().await?;
                state
            }
        };
        if let Some(paging) = list.paging {
            // Within the bounds of the manifest in force (it may have lowered them).
            state.limit = paging.bounded(state.limit);
        }
        store::count_invocation(&**self.warehouse.conn().await?, state.run_id).await?;
        let detail = list.detail;
        let mut pages = 0u32;
        let mut refused_since: Option<String> = None;
        loop {
            if state.last_page_done {
                // The provider said the last page was the last: nothing more to ask.
                self.complete(spec, &map, &state, 0).await?;
                return Ok(Progress::Complete);
            }
            if !deadline.allows(PAGE_BUDGET) || self.max_pages.is_some_and(|m| pages >= m) {
                return Ok(Progress::Continue);
            }
            pages += 1;
            let before = self.fetcher.requests();
            let mut params = self.event_params();
            params.extend(crate::fetch::list_params(list.params, self.fetcher.auth));
            let since_param = match (state.full, state.since, list.modified_since) {
                (false, Some(since), Some(m)) => {
                    let format = self.connection.settings.modified_since_format.as_deref().unwrap_or(&m.format);
                    let mut value = String::new();
                    std::fmt::Write::write_fmt(&mut value, format_args!("{}", since.format(format))).map_err(|_| {
                        ConnectorError::Config(format!("modified_since_format {format:?} is not a valid date format"))
                    })?;
                    if let Some(join) = &m.join_with
                        && let Some((_, held)) = params.iter_mut().find(|(k, _)| *k == m.param)
                    {
                        held.push_str(join);
                        held.push_str(&value);
                    } else {
                        params.push((m.param.clone(), value));
                    }
                    Some(m.param.as_str())
                }
                _ => None,
            };
            let page = match self
                .fetcher
                .page(
                    list.path,
                    list.paging,
                    list.records_at,
                    &params,
                    state.offset,
                    state.token.as_deref(),
                    &mut state.limit,
                )
                .await
            {
                // A provider that refuses the modified-since parameter before anything of the
                // pull is written gets a full pull instead; the connection is told once the
                // call without it answers.
                Err(e)
                    if since_param.is_some()
                        && state.offset == 0
                        && state.page_done == 0
                        && refuses_the_request(&e) =>
                {
                    let message = e.to_string();
                    refused_since = Some(format!(
                        "{} answered an error to `{}` ({message}) and not without it: pulls of {} read every record",
                        self.provider.display,
                        since_param.unwrap_or_default(),
                        spec.name
                    ));
                    state.full = true;
                    state.since = None;
                    let db = self.warehouse.conn().await?;
                    store::switch_to_full(&**db, name, &spec.name, &state).await?;
                    continue;
                }
                other => other?,
            };
            if let Some(note) = refused_since.take() {
                self.fetcher.observe(format!("modified since {}", spec.name), note);
            }
            let page = page.filter(|p| !p.records.is_empty() || p.more);
            let Some(fetch::Page { records, next, more }) = page else {
                self.complete(spec, &map, &state, self.fetcher.requests() - before).await?;
                return Ok(Progress::Complete);
            };
            let n = records.len() as u64;
            let mut rest: Vec<Value> = records.into_iter().skip(state.page_done as usize).collect();
            if rest.is_empty() {
                // An empty page that says more follow, or a page that shrank below the position
                // saved in it: on to the next page.
                turn_page(&mut state, list.paging, n, next, more);
                let db = self.warehouse.conn().await?;
                store::save_state(&**db, name, &spec.name, Some(&state)).await?;
                continue;
            }
            let mut counts = PageCounts {
                requests: self.fetcher.requests() - before,
                read: if state.page_done == 0 { n } else { 0 },
                ..Default::default()
            };
            // Records needing detail calls are written a chunk at a time, the position saved
            // with each chunk, so that a page never outlasts the deadline.
            let chunk = if detail.is_some() { DETAIL_CHUNK } else { rest.len().max(1) };
            while !rest.is_empty() {
                if state.page_done > 0 && !deadline.allows(PAGE_BUDGET) {
                    return Ok(Progress::Continue);
                }
                let before = self.fetcher.requests();
                let tail = rest.split_off(chunk.min(rest.len()));
                let part = std::mem::replace(&mut rest, tail);
                let taken = part.len() as u64;
                let chunk = match detail {
                    Some(d) => self.complete_records(spec, d, part, state.full, &mut counts).await?,
                    None => Chunk { records: part, ..Default::default() },
                };
                state.page_done += taken;
                state.detail_failures += chunk.failed_details;
                if state.page_done >= n {
                    turn_page(&mut state, list.paging, n, next.clone(), more);
                }
                counts.requests += self.fetcher.requests() - before;
                let changed = self.write_page(spec, &map, &state, chunk, &mut counts).await?;
                if spec.photo.is_some() && self.photos.is_some() {
                    let mut photo_counts = PageCounts::default();
                    self.store_photos(spec, &changed, state.run_id, &mut photo_counts).await?;
                    let db = self.warehouse.conn().await?;
                    store::add_counts(&**db, state.run_id, &photo_counts).await?;
                }
            }
        }
    }

    /// Completes list records with their detail calls: every record of an incremental pull, and
    /// in a full pull the records that are new, whose list fields differ from the stored record,
    /// or whose detail is older than `detail_max_age_hours` (default 24; the others take their
    /// stored detail). A record whose detail call fails keeps its stored detail, or, when it has
    /// none, is rejected with the reason; either way the pull keeps its cursor, so that the next
    /// pull reads it again.
    async fn complete_records(
        &self,
        spec: &StreamSpec,
        detail: &Detail,
        records: Vec<Value>,
        full: bool,
        counts: &mut PageCounts,
    ) -> Result<Chunk, ConnectorError> {
        let id_of = |r: &Value| {
            let id = records::fields(spec, &platform_domain::storable::json(r.clone()))
                .get(&spec.id_field)?
                .trim()
                .to_owned();
            (!id.is_empty()).then_some(id)
        };
        let keyed: Vec<(Option<String>, Value)> = records.into_iter().map(|r| (id_of(&r), r)).collect();
        let ids: Vec<String> = keyed.iter().filter_map(|(id, _)| id.clone()).collect();
        let mut targets = vec![spec.target];
        if let Some(r) = &spec.reroute
            && let Some(to) = self.provider.stream(&r.to)
        {
            targets.push(to.target);
        }
        let stored = {
            let db = self.warehouse.conn().await?;
            store::stored_records(&**db, &targets, &self.connection.name, &ids).await?
        };
        let mut out = Vec::with_capacity(keyed.len());
        let mut fresh = std::collections::HashSet::new();
        let mut rejected = Vec::new();
        let mut failed_details = 0u64;
        let max_age = self.connection.settings.detail_max_age();
        for (id, record) in keyed {
            let Some(id) = id else {
                out.push(record);
                continue;
            };
            let known = stored.get(&id);
            let same = |s: &Value| {
                record.as_object().is_some_and(|l| {
                    l.iter().all(|(k, v)| s.get(k) == Some(&platform_domain::storable::json(v.clone())))
                })
            };
            let recent = |s: &store::Stored| s.detail_read_at.is_some_and(|at| chrono::Utc::now() - at < max_age);
            if full && let Some(s) = known.filter(|s| recent(s) && same(&s.raw)) {
                out.push(records::completed(&s.raw, &record));
                continue;
            }
            let why = match self.fetcher.detail(detail, &self.event_params(), &id).await? {
                Ok(v) => {
                    fresh.insert(id);
                    out.push(records::completed(&v, &record));
                    continue;
                }
                Err(why) => why,
            };
            if counts.notes.len() < 20 {
                counts.notes.push(format!("{} {id}: detail not read: {why}", spec.name));
            }
            failed_details += 1;
            match known {
                Some(s) => {
                    counts.failed += 1;
                    out.push(records::completed(&s.raw, &record));
                }
                None => rejected.push((
                    Some(id),
                    format!("detail not read ({why}); read again by the next pull"),
                    platform_domain::storable::json(record),
                )),
            }
        }
        Ok(Chunk { records: out, fresh, rejected, failed_details })
    }

    /// Writes one chunk of a page's records (own rows, rerouted rows, rejected records, the
    /// children found in fresh details) with the pull's state and counters in one transaction,
    /// and returns the ids of the own rows created or changed.
    async fn write_page(
        &self,
        spec: &StreamSpec,
        map: &BTreeMap<String, String>,
        state: &PullState,
        chunk: Chunk,
        counts: &mut PageCounts,
    ) -> Result<Vec<String>, ConnectorError> {
        let Chunk { records, fresh, mut rejected, .. } = chunk;
        let rules = &self.connection.settings;
        let mut own: Vec<Row> = Vec::new();
        let mut rerouted: BTreeMap<String, Vec<Row>> = BTreeMap::new();
        if let Some(first) = records.first() {
            let clean = platform_domain::storable::json(first.clone());
            for (key, note) in records::observe(spec, map, &clean, &records::fields(spec, &clean)) {
                self.fetcher.observe(key, note);
            }
        }
        let children = self.children(&spec.name);
        let mut found_children: Vec<(&StreamSpec, String, Vec<Row>)> = Vec::new();
        for record in records {
            if !children.is_empty()
                && let Some(id) = records::fields(spec, &record).get(&spec.id_field).filter(|id| fresh.contains(*id))
            {
                for child in &children {
                    match child_rows(child, id, &record) {
                        Some(rows) => found_children.push((child, id.clone(), rows)),
                        None => self.fetcher.observe(
                            format!("{} in detail", child.name),
                            format!(
                                "{}: the detail of {} carries no {} member, so {} is not known (rows kept as they are)",
                                child.name,
                                spec.name,
                                child_pointer(child),
                                child.name
                            ),
                        ),
                    }
                }
            }
            match records::transform(spec, map, rules, record) {
                Outcome::Row(r) => own.push(r),
                Outcome::Rerouted { to, raw, ext_id } => {
                    let reason =
                        format!("imported as {to} ({} rule)", spec.reroute.as_ref().map_or("", |r| r.field.as_str()));
                    *counts.skipped.entry(reason).or_default() += 1;
                    if !self.enabled(&to) {
                        continue;
                    }
                    let to_spec = self.provider.stream(&to).expect("reroute names a stream");
                    let to_map = self.mapping(to_spec)?;
                    let flat = records::fields(to_spec, &raw);
                    if let Outcome::Row(r) = records::row(to_spec, &to_map, rules, raw, &flat, ext_id) {
                        rerouted.entry(to).or_default().push(r);
                    }
                }
                Outcome::Skipped { reason, label } => {
                    if counts.notes.len() < 20 {
                        counts.notes.push(format!("{} {label}: {reason}", spec.name));
                    }
                    *counts.skipped.entry(reason).or_default() += 1;
                }
                Outcome::Rejected { reason, raw } => rejected.push((None, reason, raw)),
            }
        }
        let name = &self.connection.name;
        let mut db = self.warehouse.conn().await?;
        let mut tx = crate::store::client(&mut db).transaction().await?;
        let mut changed = Vec::new();
        if !own.is_empty() {
            let ids: Vec<String> = own.iter().map(|r| r.ext_id.clone()).collect();
            let (w, refused) = upsert_isolating(&mut tx, spec, name, state.run_id, own).await?;
            let t = &mut counts.written;
            *t = (t.0 + w.created, t.1 + w.updated, t.2 + w.unchanged);
            changed = w.changed_ids;
            rejected.extend(refused);
            // A record back from another stream leaves it.
            if let Some(to) = spec.reroute.as_ref().and_then(|r| self.provider.stream(&r.to)) {
                store::mark_removed(&tx, to.target, name, state.run_id, &ids).await?;
            }
            let read: Vec<String> = ids.into_iter().filter(|id| fresh.contains(id)).collect();
            store::detail_read(&tx, spec.target, name, &read).await?;
        }
        for (to, rows) in rerouted {
            let to_spec = self.provider.stream(&to).expect("stream");
            let ids: Vec<String> = rows.iter().map(|r| r.ext_id.clone()).collect();
            let (w, refused) = upsert_isolating(&mut tx, to_spec, name, state.run_id, rows).await?;
            rejected.extend(refused);
            // A record that moved to another stream leaves this one.
            store::mark_removed(&tx, spec.target, name, state.run_id, &ids).await?;
            let read: Vec<String> = ids.into_iter().filter(|id| fresh.contains(id)).collect();
            store::detail_read(&tx, to_spec.target, name, &read).await?;
            let e = counts.by_target.entry(to).or_default();
            *e = (e.0 + w.created, e.1 + w.updated, e.2 + w.unchanged);
        }
        for (child, parent, rows) in found_children {
            let keep: Vec<String> = rows.iter().map(|r| r.ext_id.clone()).collect();
            let w = if rows.is_empty() {
                Default::default()
            } else {
                store::upsert(&tx, child.target, name, state.run_id, &rows).await?
            };
            if self.row_of(&child.name).is_some_and(|s| s.remove_outdated) {
                store::remove_other_children(&tx, child.target, name, state.run_id, &parent, &keep).await?;
            }
            let e = counts.by_target.entry(child.name.to_owned()).or_default();
            *e = (e.0 + w.created, e.1 + w.updated, e.2 + w.unchanged);
        }
        counts.failed += rejected.len() as u64;
        for (_, reason, _) in &rejected {
            if counts.notes.len() < 20 {
                counts.notes.push(format!("{} rejected: {reason}", spec.name));
            }
        }
        store::reject(&tx, state.run_id, name, &spec.name, &rejected).await?;
        let observed = self.fetcher.take_observed();
        counts.notes.extend(observed.values().cloned());
        store::note_first_contact(&tx, name, state.run_id, &observed).await?;
        store::add_counts(&tx, state.run_id, &std::mem::take(counts)).await?;
        store::save_state(&tx, name, &spec.name, Some(state)).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Stores the photos of the rows `ids` (created or changed in this pull): from the mapped
    /// `photo` field when it holds a URL, else from the photo endpoint credential and the
    /// record's image id; written to S3 only when the bytes differ from the stored photo. A
    /// record without an image id has no photo; an image id the endpoint does not know (404) is
    /// counted and noted, never taken silently for "no photo".
    async fn store_photos(
        &self,
        spec: &StreamSpec,
        ids: &[String],
        run_id: Uuid,
        counts: &mut PageCounts,
    ) -> Result<(), ConnectorError> {
        let (Some(rule), Some(photos)) = (&spec.photo, &self.photos) else { return Ok(()) };
        if ids.is_empty() {
            return Ok(());
        }
        let name = &self.connection.name;
        let rows = store::photo_candidates(&**self.warehouse.conn().await?, spec, name, ids).await?;
        let endpoint = rule.endpoint_credential.as_deref().and_then(|c| self.fetcher.auth.credential(c));
        let account_name = self.provider.account_credential.as_str();
        let account = (account_name, self.fetcher.auth.credential(account_name).unwrap_or_default());
        let (mut stored, mut no_image, mut not_found) = (0u64, 0u64, 0u64);
        for store::PhotoCandidate { id, mapped, old_sha, raw } in rows {
            let flat = records::fields(spec, &raw);
            let image =
                rule.image_field.as_deref().and_then(|f| records::first_of(&flat, f)).map(|(_, v)| v.trim().to_owned());
            let url = match (mapped.filter(|u| u.starts_with("http://") || u.starts_with("https://")), endpoint, &image)
            {
                (Some(u), _, _) => u,
                (None, Some(ep), Some(image)) => records::photo_url(ep, image, account),
                (None, _, None) => {
                    no_image += 1;
                    continue;
                }
                (None, None, Some(_)) => continue,
            };
            let Some((bytes, content_type)) = self.fetcher.bytes(&url).await? else {
                not_found += 1;
                if counts.notes.len() < 20 {
                    let shown = platform_vendors::http::without_url_queries(&url);
                    let image = image.as_deref().unwrap_or("(mapped URL)");
                    counts.notes.push(format!("{} {id}: image {image} not found at {shown} (404)", spec.name));
                }
                continue;
            };
            let sha = hex::encode(Sha256::digest(&bytes));
            if old_sha.as_deref() == Some(sha.as_str()) {
                continue;
            }
            let key = format!("connectors/{name}/photos/{}/{id}", spec.name);
            let ct = content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
            platform_aws::s3::put(photos.s3, photos.bucket, &key, bytes.clone(), &ct).await?;
            let photo = store::Photo {
                source_url: platform_vendors::http::without_url_queries(&url),
                sha256: sha,
                content_type,
                bytes: bytes.len() as i64,
                s3_key: key,
            };
            store::save_photo(&**self.warehouse.conn().await?, spec, name, &id, &photo, run_id).await?;
            stored += 1;
        }
        let e = counts.by_target.entry("photos".into()).or_default();
        e.0 += stored;
        if no_image > 0 {
            *counts.skipped.entry("no image on the record".into()).or_default() += no_image;
        }
        if not_found > 0 {
            *counts.skipped.entry("image not found at the photo endpoint (404)".into()).or_default() += not_found;
        }
        Ok(())
    }

    /// Completes a pull: cursor, removal, master sessions, derived streams, the run closed.
    async fn complete(
        &self,
        spec: &StreamSpec,
        map: &BTreeMap<String, String>,
        state: &PullState,
        requests: u64,
    ) -> Result<(), ConnectorError> {
        let name = &self.connection.name;
        let mut db = self.warehouse.conn().await?;
        let tx = crate::store::client(&mut db).transaction().await?;
        let mut notes: Vec<String> = Vec::new();
        if spec.concurrent_sessions {
            let title = self.connection.settings.concurrent_sessions_title.clone();
            match (map.contains_key("in_slot"), title) {
                (true, Some(title)) => {
                    let n = store::master_sessions(&tx, name, state.run_id, &title).await?;
                    notes.push(format!("master sessions: {n}"));
                }
                _ => notes.push("master sessions: off (map in_slot and set ConcurrentSessionsTitle)".into()),
            }
        }
        // Removal: this stream and the streams it feeds by rerouting.
        let mut removal_texts = Vec::new();
        let mut removed_total = 0u64;
        let fed: Vec<&StreamSpec> = std::iter::once(spec)
            .chain(
                self.provider
                    .streams
                    .iter()
                    .filter(|s| matches!(&s.source, Source::Rerouted { from } if *from == spec.name)),
            )
            .collect();
        for s in &fed {
            let Some(row) = self.row_of(&s.name).filter(|r| r.enabled || s.name == spec.name) else { continue };
            let removal = if !row.remove_outdated {
                Removal::Off
            } else if !state.full {
                Removal::NotAfterIncremental
            } else {
                store::remove_outdated(
                    &tx,
                    s.target,
                    name,
                    &s.name,
                    state.run_id,
                    state.started_at,
                    row.removal_max_share,
                    false,
                )
                .await?
            };
            match &removal {
                Removal::Off => {}
                Removal::NotAfterIncremental => removal_texts.push(format!(
                    "{}: nothing removed: this pull was incremental (rows are removed only after a complete full pull)",
                    s.name
                )),
                Removal::Removed(n) => {
                    removed_total += n;
                    removal_texts.push(format!("{}: {n} removed", s.name));
                }
                Removal::Refused { would_remove, of_rows } => removal_texts.push(format!(
                    "{}: removal refused: it would remove {would_remove} of {of_rows} rows, more than {:.0} %; \
                     confirm with {{\"action\": \"confirm_removal\", \"connection\": \"{name}\", \"stream\": \"{}\"}}",
                    s.name,
                    row.removal_max_share * 100.0,
                    s.name
                )),
            }
        }
        // Derived streams of what this pull wrote.
        for d in &self.provider.streams {
            if let Source::Derived { from, field } = &d.source
                && fed.iter().any(|f| f.name == *from)
                && self.enabled(&d.name)
            {
                let from_target = self.provider.stream(from).expect("derived from a stream").target;
                let remove = self.row_of(&d.name).is_some_and(|r| r.remove_outdated);
                let w = store::derive(&tx, from_target, field, d.target, name, state.run_id, remove).await?;
                let mut c = PageCounts::default();
                c.by_target.insert(d.name.to_owned(), (w.created, w.updated, w.unchanged));
                store::add_counts(&tx, state.run_id, &c).await?;
            }
        }
        if state.detail_failures > 0 {
            notes.push(format!(
                "cursor kept: {} records' details were not read; the next pull reads them again",
                state.detail_failures
            ));
        }
        let observed = self.fetcher.take_observed();
        notes.extend(observed.values().cloned());
        store::note_first_contact(&tx, name, state.run_id, &observed).await?;
        let counts = PageCounts { requests, notes, ..Default::default() };
        store::add_counts(&tx, state.run_id, &counts).await?;
        let removal_text = (!removal_texts.is_empty()).then(|| removal_texts.join("; "));
        store::finish_run(&tx, state.run_id, removed_total, removal_text.as_deref()).await?;
        // Details that could not be read keep the cursor where it was: the next pull reads their
        // records again.
        let cursor = (state.detail_failures == 0).then_some(state.started_at);
        store::close_pull(&tx, name, &spec.name, cursor, state.full).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The list call of a root stream, as a connection makes it.
struct ListCall<'s> {
    /// Its path (the connection's `paths` setting, else the description's).
    path: &'s str,
    /// Its own query parameters (`{event}`: the event id).
    params: &'s BTreeMap<String, String>,
    /// Its paging rule.
    paging: Option<&'s Paging>,
    /// Where the records sit in a page.
    records_at: &'s str,
    /// Its modified-since filter: without one, every pull is full.
    modified_since: Option<&'s ModifiedSince>,
    /// The detail call completing each new or changed record.
    detail: Option<&'s Detail>,
}

/// Whether `e` is the provider refusing a request as asked: an error answer inside a 200, or
/// HTTP 400 / 422.
fn refuses_the_request(e: &ConnectorError) -> bool {
    matches!(
        e,
        ConnectorError::Provider(_)
            | ConnectorError::Vendor(platform_vendors::VendorError::Status { status: 400 | 422, .. })
    )
}

/// Moves a pull past a page of `n` records: offsets count records, page numbers pages, token
/// paging keeps the next page's token; a page that says none follows ends the list.
fn turn_page(state: &mut PullState, paging: Option<&Paging>, n: u64, next: Option<String>, more: bool) {
    state.offset += match paging {
        Some(Paging::PageNumber { .. } | Paging::Token { .. }) => 1,
        _ => n,
    };
    state.page_done = 0;
    state.token = next;
    state.last_page_done = !more;
}

/// A record a pull could not take: its id (when known), the reason, the record.
type Rejected = (Option<String>, String, Value);

/// One chunk of a page on its way to the warehouse.
#[derive(Default)]
struct Chunk {
    /// Its records, completed by their details.
    records: Vec<Value>,
    /// The ids whose detail was read now (their children are taken from it).
    fresh: std::collections::HashSet<String>,
    /// Records refused before the write.
    rejected: Vec<Rejected>,
    /// Records whose detail call failed.
    failed_details: u64,
}

/// Records read between two saves of a page whose records need detail calls (at Aventri's
/// 400 requests a minute, about four seconds).
const DETAIL_CHUNK: usize = 25;

/// The JSON pointer of a child stream's records in its parent's detail.
fn child_pointer(child: &StreamSpec) -> &str {
    match &child.source {
        Source::InDetail { records_at, .. } => records_at,
        _ => "",
    }
}

/// The child rows a parent's detail record holds, or `None` when it has no such member.
fn child_rows(child: &StreamSpec, parent: &str, record: &Value) -> Option<Vec<Row>> {
    let Source::InDetail { records_at, child_field, parent_field, .. } = &child.source else { return None };
    let rows = records::children(records_at, &child.id_field, record)?
        .into_iter()
        .map(|(child_id, item)| {
            let mut fields = Map::new();
            fields.insert(child_field.to_owned(), Value::String(child_id.clone()));
            fields.insert(parent_field.to_owned(), Value::String(parent.to_owned()));
            Row {
                ext_id: format!("{parent}/{child_id}"),
                status: records::Status::Active,
                raw_status: None,
                fields,
                raw: item,
                parent: Some(parent.to_owned()),
            }
        })
        .collect();
    Some(rows)
}

/// Upserts rows, isolating those the database refuses for a row-level reason
/// (`platform_warehouse::isolate`): the refused ones come back with the database's reason.
async fn upsert_isolating(
    tx: &mut platform_warehouse::tokio_postgres::Transaction<'_>,
    spec: &StreamSpec,
    connection: &str,
    run_id: Uuid,
    rows: Vec<Row>,
) -> Result<(store::Written, Vec<Rejected>), ConnectorError> {
    let client = &*tx;
    let isolated = platform_warehouse::isolate::isolate(&*tx, rows, |chunk: Vec<Row>| {
        Box::pin(async move {
            let written = store::upsert(client, spec.target, connection, run_id, &chunk).await;
            (chunk, written)
        })
    })
    .await?;
    let mut total = store::Written::default();
    for (_, w) in isolated.written {
        total.created += w.created;
        total.updated += w.updated;
        total.unchanged += w.unchanged;
        total.changed_ids.extend(w.changed_ids);
    }
    let refused = isolated
        .refused
        .into_iter()
        .map(|(row, reason)| (Some(row.ext_id), format!("refused by the database: {reason}"), row.raw))
        .collect();
    Ok((total, refused))
}
