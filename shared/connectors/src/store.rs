//! The connector's warehouse side: connections and streams (configuration as data), the pull
//! state with its lease, set-based writes of target rows (an unchanged row keeps its
//! `last_changed` and run), rejected records, removal with its share guard, master sessions and
//! derived streams.

use chrono::{DateTime, Utc};
use platform_warehouse::tokio_postgres::{GenericClient, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    ConnectorError,
    description::{StreamSpec, Target},
    records::Row,
};

/// The tokio-postgres client of a pooled connection (transactions start there).
pub fn client(conn: &mut platform_warehouse::Connection) -> &mut platform_warehouse::tokio_postgres::Client {
    conn
}

/// A connection's row.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Name.
    pub name: String,
    /// Provider key.
    pub provider: String,
    /// Secret id of the credentials.
    pub secret_id: String,
    /// Settings.
    pub settings: crate::settings::ConnectionSettings,
    /// Enabled.
    pub enabled: bool,
}

/// A stream's row.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Stream name.
    pub stream: String,
    /// Enabled.
    pub enabled: bool,
    /// Configured mapping.
    pub mapping: Value,
    /// Remove outdated rows after a complete full pull.
    pub remove_outdated: bool,
    /// Largest share of rows one run may remove.
    pub removal_max_share: f64,
    /// Start of the last successful pull.
    pub cursor_at: Option<DateTime<Utc>>,
    /// Operator asked for a full pull.
    pub full_requested: bool,
    /// The pull under way.
    pub pull: Option<PullState>,
    /// The last pull's run.
    pub last_run_id: Option<Uuid>,
}

/// The state of a pull that spans invocations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullState {
    /// The pull's run.
    pub run_id: Uuid,
    /// Full (every record) or incremental.
    pub full: bool,
    /// Modified-since value of an incremental pull.
    pub since: Option<DateTime<Utc>>,
    /// When the pull started (database time): the next cursor, and the removal line.
    pub started_at: DateTime<Utc>,
    /// Next page position.
    pub offset: u64,
    /// Current page size.
    pub limit: u32,
    /// Records of the page at `offset` already written (a page whose records need detail calls
    /// is written in chunks).
    #[serde(default)]
    pub page_done: u64,
    /// Records whose detail could not be read in this pull: the cursor stays, so that the next
    /// pull reads them again.
    #[serde(default)]
    pub detail_failures: u64,
    /// Token paging: the token or link of the page at `offset` (none for the first page).
    #[serde(default)]
    pub token: Option<String>,
    /// The provider said the last page written was the last: the pull completes without
    /// another call.
    #[serde(default)]
    pub last_page_done: bool,
    /// The manifest that opened the pull (its position means something only to it).
    #[serde(default)]
    pub manifest: Option<String>,
}

/// Loads one connection.
pub async fn connection(db: &impl GenericClient, name: &str) -> Result<Connection, ConnectorError> {
    let row = db
        .query_opt(
            "SELECT name, provider, secret_id, settings, enabled FROM connector.connection WHERE name = $1",
            &[&name],
        )
        .await?
        .ok_or_else(|| ConnectorError::NotFound(format!("no connection named {name:?}")))?;
    let settings = crate::settings::ConnectionSettings::from_value(&row.get(3));
    for problem in &settings.problems {
        tracing::warn!(connection = name, problem = %problem, "connection setting not read");
    }
    Ok(Connection { name: row.get(0), provider: row.get(1), secret_id: row.get(2), settings, enabled: row.get(4) })
}

/// Every enabled connection's name.
pub async fn enabled_connections(db: &impl GenericClient) -> Result<Vec<String>, ConnectorError> {
    Ok(db
        .query("SELECT name FROM connector.connection WHERE enabled ORDER BY name", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

const STREAM_COLUMNS: &str = "stream, enabled, mapping, remove_outdated, removal_max_share::float8, cursor_at, \
                              full_requested, pull, last_run_id";

fn stream_of(row: &platform_warehouse::tokio_postgres::Row) -> Stream {
    let pull: Option<Value> = row.get(7);
    Stream {
        stream: row.get(0),
        enabled: row.get(1),
        mapping: row.get(2),
        remove_outdated: row.get(3),
        removal_max_share: row.get(4),
        cursor_at: row.get(5),
        full_requested: row.get(6),
        pull: pull.and_then(|p| serde_json::from_value(p).ok()),
        last_run_id: row.get(8),
    }
}

/// Every stream row of a connection.
pub async fn streams(db: &impl GenericClient, connection: &str) -> Result<Vec<Stream>, ConnectorError> {
    let sql = format!("SELECT {STREAM_COLUMNS} FROM connector.stream WHERE connection = $1 ORDER BY stream");
    Ok(db.query(&sql, &[&connection]).await?.iter().map(stream_of).collect())
}

/// Takes the stream's lease for `seconds` unless another invocation holds it.
pub async fn lease(
    db: &impl GenericClient,
    connection: &str,
    stream: &str,
    seconds: f64,
) -> Result<Option<Stream>, ConnectorError> {
    let sql = format!(
        "UPDATE connector.stream SET lease_until = now() + make_interval(secs => $3)
          WHERE connection = $1 AND stream = $2 AND (lease_until IS NULL OR lease_until < now())
         RETURNING {STREAM_COLUMNS}"
    );
    Ok(db.query_opt(&sql, &[&connection, &stream, &seconds]).await?.as_ref().map(stream_of))
}

/// Gives the lease back.
pub async fn release(db: &impl GenericClient, connection: &str, stream: &str) -> Result<(), ConnectorError> {
    db.execute(
        "UPDATE connector.stream SET lease_until = NULL WHERE connection = $1 AND stream = $2",
        &[&connection, &stream],
    )
    .await?;
    Ok(())
}

/// What a new pull starts with.
#[derive(Debug, Clone, Copy)]
pub struct OpenPull<'a> {
    /// The pull's run id.
    pub run_id: Uuid,
    /// Whether it reads every record.
    pub full: bool,
    /// How far before the cursor an incremental pull starts, in seconds.
    pub look_back_secs: Option<f64>,
    /// What started it.
    pub trigger: &'a str,
    /// Records asked for per page.
    pub limit: u32,
    /// The manifest version pulling it ([`crate::Provider::manifest_version`]).
    pub manifest: &'a str,
}

/// Opens a pull: its run record and its state, and the stream's `full_requested` taken and
/// `last_run_id` set; returns the state (with the database's start time).
pub async fn open_pull(
    db: &impl GenericClient,
    connection: &str,
    stream: &str,
    open: &OpenPull<'_>,
) -> Result<PullState, ConnectorError> {
    let OpenPull { run_id, full, look_back_secs, trigger, limit, manifest } = *open;
    let row = db
        .query_one(
            "INSERT INTO connector.stream_run (run_id, connection, stream, mode, trigger, since, manifest)
             SELECT $1, $2, $3, CASE WHEN $4 THEN 'full' ELSE 'incremental' END, $5,
                    CASE WHEN NOT $4 THEN s.cursor_at - make_interval(secs => $6) END, $7
               FROM connector.stream s WHERE s.connection = $2 AND s.stream = $3
             RETURNING started_at, since",
            &[&run_id, &connection, &stream, &full, &trigger, &look_back_secs.unwrap_or(0.0), &manifest],
        )
        .await?;
    let state = PullState {
        run_id,
        full,
        since: row.get(1),
        started_at: row.get(0),
        offset: 0,
        limit,
        page_done: 0,
        detail_failures: 0,
        token: None,
        last_page_done: false,
        manifest: Some(manifest.to_owned()),
    };
    db.execute(
        "UPDATE connector.stream SET pull = $4, full_requested = false, last_run_id = $3 WHERE connection = $1 AND stream = $2",
        &[&connection, &stream, &run_id, &serde_json::to_value(&state).expect("state serialises")],
    )
    .await?;
    Ok(state)
}

/// Counts one more invocation working on a pull.
pub async fn count_invocation(db: &impl GenericClient, run_id: Uuid) -> Result<(), ConnectorError> {
    db.execute("UPDATE connector.stream_run SET invocations = invocations + 1 WHERE run_id = $1", &[&run_id]).await?;
    Ok(())
}

/// Turns an incremental pull into a full one (the provider refused the modified-since filter).
pub async fn switch_to_full(
    db: &impl GenericClient,
    connection: &str,
    stream: &str,
    state: &PullState,
) -> Result<(), ConnectorError> {
    db.execute("UPDATE connector.stream_run SET mode = 'full', since = NULL WHERE run_id = $1", &[&state.run_id])
        .await?;
    save_state(db, connection, stream, Some(state)).await
}

/// Records a pull step's error on the stream and its run; a `permanent` error (credentials,
/// configuration) ends the pull as failed, any other leaves it to continue.
pub async fn record_pull_error(
    db: &impl GenericClient,
    connection: &str,
    stream: &str,
    run_id: Uuid,
    error: &str,
    permanent: bool,
) -> Result<(), ConnectorError> {
    db.execute(
        "UPDATE connector.stream SET last_error = $3, pull = CASE WHEN $4 THEN NULL ELSE pull END
          WHERE connection = $1 AND stream = $2",
        &[&connection, &stream, &error, &permanent],
    )
    .await?;
    db.execute(
        "UPDATE connector.stream_run SET error = $2,
                status = CASE WHEN $3 THEN 'failed' ELSE status END,
                finished_at = CASE WHEN $3 THEN now() ELSE finished_at END
          WHERE run_id = (SELECT (pull ->> 'run_id')::uuid FROM connector.stream WHERE connection = $1 AND stream = $4)
             OR (run_id = $5 AND status = 'running')",
        &[&connection, &error, &permanent, &stream, &run_id],
    )
    .await?;
    Ok(())
}

/// Ends a pull's run: `partial` when records failed or a removal was refused, else `succeeded`.
pub async fn finish_run(
    db: &impl GenericClient,
    run_id: Uuid,
    removed: u64,
    removal: Option<&str>,
) -> Result<(), ConnectorError> {
    db.execute(
        "UPDATE connector.stream_run SET finished_at = now(), removed_count = removed_count + $2, removal = $3,
                status = CASE WHEN failed_count > 0 OR $3 LIKE '%refused%' THEN 'partial' ELSE 'succeeded' END, error = NULL
          WHERE run_id = $1",
        &[&run_id, &(removed as i64), &removal],
    )
    .await?;
    Ok(())
}

/// Closes a completed pull on its stream: the cursor moves to `cursor` (kept when `None`), and a
/// full pull's time is recorded.
pub async fn close_pull(
    db: &impl GenericClient,
    connection: &str,
    stream: &str,
    cursor: Option<DateTime<Utc>>,
    full: bool,
) -> Result<(), ConnectorError> {
    db.execute(
        "UPDATE connector.stream SET pull = NULL, cursor_at = COALESCE($3, cursor_at), last_error = NULL,
                last_full_pull_at = CASE WHEN $4 AND $3 IS NOT NULL THEN $3 ELSE last_full_pull_at END
          WHERE connection = $1 AND stream = $2",
        &[&connection, &stream, &cursor, &full],
    )
    .await?;
    Ok(())
}

/// The run record of a stream's pull under way (else its last, else `run_id`'s): its id and
/// the record (without connection and stream), `null` when there is none.
pub async fn run_record(
    db: &impl GenericClient,
    connection: &str,
    stream: &str,
    run_id: Uuid,
) -> Result<(Uuid, Value), ConnectorError> {
    let current = db
        .query_opt(
            "SELECT COALESCE((pull ->> 'run_id')::uuid, last_run_id) FROM connector.stream WHERE connection = $1 AND stream = $2",
            &[&connection, &stream],
        )
        .await?
        .and_then(|r| r.get::<_, Option<Uuid>>(0))
        .unwrap_or(run_id);
    let run = db
        .query_opt(
            "SELECT to_jsonb(r) - 'connection' - 'stream' FROM connector.stream_run r WHERE run_id = $1",
            &[&current],
        )
        .await?
        .map(|r| r.get::<_, Value>(0))
        .unwrap_or(Value::Null);
    Ok((current, run))
}

/// Asks for a full pull of a stream (the next pull reads everything); `false` when there is no
/// such stream.
pub async fn request_full(db: &impl GenericClient, connection: &str, stream: &str) -> Result<bool, ConnectorError> {
    let n = db
        .execute(
            "UPDATE connector.stream SET full_requested = true WHERE connection = $1 AND stream = $2",
            &[&connection, &stream],
        )
        .await?;
    Ok(n > 0)
}

/// The latest removal the share guard refused for a stream and nobody decided yet (locked until
/// the transaction ends): its pull's run id and start.
pub async fn pending_removal(
    db: &impl GenericClient,
    connection: &str,
    stream: &str,
) -> Result<Option<(Uuid, DateTime<Utc>)>, ConnectorError> {
    Ok(db
        .query_opt(
            "SELECT run_id, pull_started_at FROM connector.pending_removal
              WHERE connection = $1 AND stream = $2 AND decided_at IS NULL ORDER BY pull_started_at DESC LIMIT 1 FOR UPDATE",
            &[&connection, &stream],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// What an operator's removal would mark removed: the refused pull's figures and the first rows.
#[derive(Debug, Clone, Serialize)]
pub struct RemovalPreview {
    /// The refused pull.
    pub run_id: Uuid,
    /// When that pull started: rows not seen since then go.
    pub pull_started_at: DateTime<Utc>,
    /// Rows that would be marked removed now.
    pub would_remove: i64,
    /// Live rows of the target now.
    pub of_rows: i64,
    /// The first of them (id, raw status, last seen), at most `limit`.
    pub rows: Vec<(String, Option<String>, DateTime<Utc>)>,
}

/// The stream's latest refused removal and what confirming it would mark removed now (the
/// predicate of [`remove_outdated`]), with the first `limit` rows.
pub async fn removal_preview(
    db: &impl GenericClient,
    target: Target,
    connection: &str,
    stream: &str,
    limit: i64,
) -> Result<Option<RemovalPreview>, ConnectorError> {
    let Some(pending) = db
        .query_opt(
            "SELECT run_id, pull_started_at FROM connector.pending_removal
              WHERE connection = $1 AND stream = $2 AND decided_at IS NULL ORDER BY pull_started_at DESC LIMIT 1",
            &[&connection, &stream],
        )
        .await?
    else {
        return Ok(None);
    };
    let (run_id, started_at): (Uuid, DateTime<Utc>) = (pending.get(0), pending.get(1));
    let t = target.table();
    let (would_remove, of_rows) = outdated_counts(db, target, connection, started_at).await?;
    let rows = db
        .query(
            &format!(
                "SELECT fp_ext_id, raw_status, last_seen FROM connector.{t}
                  WHERE connection = $1 AND removed_at IS NULL AND last_seen < $2 ORDER BY fp_ext_id LIMIT $3"
            ),
            &[&connection, &started_at, &limit],
        )
        .await?;
    Ok(Some(RemovalPreview {
        run_id,
        pull_started_at: started_at,
        would_remove,
        of_rows,
        rows: rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect(),
    }))
}

/// Live rows of `target` not seen since `started_at` (what a removal from that pull takes), and
/// live rows in all.
pub async fn outdated_counts(
    db: &impl GenericClient,
    target: Target,
    connection: &str,
    started_at: DateTime<Utc>,
) -> Result<(i64, i64), ConnectorError> {
    let sql = format!(
        "SELECT count(*) FILTER (WHERE last_seen < $2), count(*) FROM connector.{} WHERE connection = $1 AND removed_at IS NULL",
        target.table()
    );
    let row = db.query_one(&sql, &[&connection, &started_at]).await?;
    Ok((row.get(0), row.get(1)))
}

/// Records an operator's confirmation of a refused removal on it and on its run.
pub async fn removal_confirmed(
    db: &impl GenericClient,
    connection: &str,
    stream: &str,
    run_id: Uuid,
    removed: u64,
) -> Result<(), ConnectorError> {
    db.execute(
        "UPDATE connector.pending_removal SET decided_at = now(), decision = 'confirmed: ' || $4::bigint || ' removed'
          WHERE connection = $1 AND stream = $2 AND decided_at IS NULL AND run_id = $3",
        &[&connection, &stream, &run_id, &(removed as i64)],
    )
    .await?;
    // Older refusals of the stream are settled by this one (it removed what they would have).
    db.execute(
        "UPDATE connector.pending_removal SET decided_at = now(), decision = 'superseded by the removal of run ' || $3::text
          WHERE connection = $1 AND stream = $2 AND decided_at IS NULL AND run_id <> $3",
        &[&connection, &stream, &run_id],
    )
    .await?;
    db.execute(
        "UPDATE connector.stream_run SET removed_count = removed_count + $2,
                removal = COALESCE(removal, '') || '; confirmed by an operator: ' || $2::bigint || ' removed'
          WHERE run_id = $1",
        &[&run_id, &(removed as i64)],
    )
    .await?;
    Ok(())
}

/// A stored record whose photo a pull looks at.
#[derive(Debug, Clone)]
pub struct PhotoCandidate {
    /// The record's id.
    pub id: String,
    /// The mapped `photo` field.
    pub mapped: Option<String>,
    /// The stored photo's SHA-256.
    pub old_sha: Option<String>,
    /// The record as read.
    pub raw: Value,
}

/// The records `ids` of `spec`'s target with their mapped photo field and stored photo's hash.
pub async fn photo_candidates(
    db: &impl GenericClient,
    spec: &StreamSpec,
    connection: &str,
    ids: &[String],
) -> Result<Vec<PhotoCandidate>, ConnectorError> {
    let rows = db
        .query(
            &format!(
                "SELECT t.fp_ext_id, t.fields ->> 'photo', p.sha256, t.raw FROM connector.{} t
                   LEFT JOIN connector.photo p ON p.connection = t.connection AND p.fp_ext_id = $3 || '/' || t.fp_ext_id
                  WHERE t.connection = $1 AND t.fp_ext_id = ANY($2)",
                spec.target.table()
            ),
            &[&connection, &ids, &spec.name],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| PhotoCandidate { id: r.get(0), mapped: r.get(1), old_sha: r.get(2), raw: r.get(3) })
        .collect())
}

/// A photo written to S3.
#[derive(Debug, Clone)]
pub struct Photo {
    /// Where it was read (without query strings).
    pub source_url: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Its content type, as served.
    pub content_type: Option<String>,
    /// Its size.
    pub bytes: i64,
    /// Its S3 key.
    pub s3_key: String,
}

/// Records a changed photo and points its record at it.
pub async fn save_photo(
    db: &impl GenericClient,
    spec: &StreamSpec,
    connection: &str,
    id: &str,
    photo: &Photo,
    run_id: Uuid,
) -> Result<(), ConnectorError> {
    db.execute(
        "INSERT INTO connector.photo AS p (connection, fp_ext_id, source_url, sha256, content_type, bytes, s3_key, changed_by_run)
         VALUES ($1, $2 || '/' || $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (connection, fp_ext_id) DO UPDATE SET source_url = excluded.source_url, sha256 = excluded.sha256,
             content_type = excluded.content_type, bytes = excluded.bytes, s3_key = excluded.s3_key,
             last_changed = now(), changed_by_run = excluded.changed_by_run",
        &[&connection, &spec.name, &id, &photo.source_url, &photo.sha256, &photo.content_type, &photo.bytes, &photo.s3_key, &run_id],
    )
    .await?;
    db.execute(
        &format!(
            "UPDATE connector.{} SET photo_s3_key = $3 WHERE connection = $1 AND fp_ext_id = $2",
            spec.target.table()
        ),
        &[&connection, &id, &photo.s3_key],
    )
    .await?;
    Ok(())
}

/// Saves (or clears) the pull state.
pub async fn save_state(
    db: &impl GenericClient,
    connection: &str,
    stream: &str,
    state: Option<&PullState>,
) -> Result<(), ConnectorError> {
    let v = state.map(|s| serde_json::to_value(s).expect("state serialises"));
    db.execute(
        "UPDATE connector.stream SET pull = $3 WHERE connection = $1 AND stream = $2",
        &[&connection, &stream, &v],
    )
    .await?;
    Ok(())
}

/// What a write did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Written {
    /// New rows.
    pub created: u64,
    /// Changed rows.
    pub updated: u64,
    /// Rows found unchanged.
    pub unchanged: u64,
    /// Ids of the created or changed rows.
    #[serde(skip)]
    pub changed_ids: Vec<String>,
}

/// Upserts rows of one target in one statement (duplicates within `rows` keep the last).
pub async fn upsert(
    tx: &Transaction<'_>,
    target: Target,
    connection: &str,
    run_id: Uuid,
    rows: &[Row],
) -> Result<Written, ConnectorError> {
    let mut by_id: std::collections::BTreeMap<&str, &Row> = Default::default();
    for r in rows {
        by_id.insert(&r.ext_id, r);
    }
    let ids: Vec<&str> = by_id.keys().copied().collect();
    let statuses: Vec<&str> = by_id.values().map(|r| r.status.as_str()).collect();
    let raw_statuses: Vec<Option<&str>> = by_id.values().map(|r| r.raw_status.as_deref()).collect();
    let fields: Vec<Value> = by_id.values().map(|r| Value::Object(r.fields.clone())).collect();
    let raws: Vec<&Value> = by_id.values().map(|r| &r.raw).collect();
    let parents: Vec<Option<&str>> = by_id.values().map(|r| r.parent.as_deref()).collect();
    let t = target.table();
    let differs = "(t.fp_status, t.raw_status, t.fields, t.raw, t.parent_ext_id, t.removed_at IS NULL)
                   IS DISTINCT FROM (excluded.fp_status, excluded.raw_status, excluded.fields, excluded.raw,
                                     COALESCE(excluded.parent_ext_id, t.parent_ext_id), true)";
    let sql = format!(
        "INSERT INTO connector.{t} AS t (connection, fp_ext_id, fp_status, raw_status, fields, raw, parent_ext_id, changed_by_run)
         SELECT $1, i.ext_id, i.status, i.raw_status, i.fields, i.raw, i.parent, $2
           FROM unnest($3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[], $8::text[])
                AS i(ext_id, status, raw_status, fields, raw, parent)
         ON CONFLICT (connection, fp_ext_id) DO UPDATE SET
             last_seen = now(),
             last_changed = CASE WHEN {differs} THEN now() ELSE t.last_changed END,
             changed_by_run = CASE WHEN {differs} THEN excluded.changed_by_run ELSE t.changed_by_run END,
             fp_status = excluded.fp_status, raw_status = excluded.raw_status, fields = excluded.fields,
             raw = excluded.raw, parent_ext_id = COALESCE(excluded.parent_ext_id, t.parent_ext_id),
             removed_at = NULL, removed_by_run = NULL
         RETURNING fp_ext_id, (xmax = 0), (last_changed = now())"
    );
    let out = tx.query(&sql, &[&connection, &run_id, &ids, &statuses, &raw_statuses, &fields, &raws, &parents]).await?;
    let mut w = Written::default();
    for r in &out {
        let (id, inserted, changed): (String, bool, bool) = (r.get(0), r.get(1), r.get(2));
        if inserted {
            w.created += 1;
        } else if changed {
            w.updated += 1;
        } else {
            w.unchanged += 1;
            continue;
        }
        w.changed_ids.push(id);
    }
    Ok(w)
}

/// A stored record and when its detail was last read.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The record as stored (list fields over the detail).
    pub raw: Value,
    /// When its detail was last read (`None`: never).
    pub detail_read_at: Option<DateTime<Utc>>,
}

/// The stored records of live rows with these ids in any of `targets`; where one id is live in
/// two targets (a record rerouted and back), the row seen last.
pub async fn stored_records(
    db: &impl GenericClient,
    targets: &[Target],
    connection: &str,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Stored>, ConnectorError> {
    let union: Vec<String> = targets
        .iter()
        .map(|t| {
            format!(
                "SELECT fp_ext_id, raw, detail_read_at, last_seen FROM connector.{}
                  WHERE connection = $1 AND fp_ext_id = ANY($2) AND removed_at IS NULL",
                t.table()
            )
        })
        .collect();
    let sql = format!(
        "SELECT DISTINCT ON (fp_ext_id) fp_ext_id, raw, detail_read_at FROM ({}) s ORDER BY fp_ext_id, last_seen DESC",
        union.join(" UNION ALL ")
    );
    Ok(db
        .query(&sql, &[&connection, &ids])
        .await?
        .iter()
        .map(|r| (r.get(0), Stored { raw: r.get(1), detail_read_at: r.get(2) }))
        .collect())
}

/// Marks the details of these rows of `target` read now.
pub async fn detail_read(
    db: &impl GenericClient,
    target: Target,
    connection: &str,
    ids: &[String],
) -> Result<(), ConnectorError> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE connector.{} SET detail_read_at = now() WHERE connection = $1 AND fp_ext_id = ANY($2)",
        target.table()
    );
    db.execute(&sql, &[&connection, &ids]).await?;
    Ok(())
}

/// Records first-contact notes on the connection: what the provider was seen to send, each key
/// kept from the first run that saw it.
pub async fn note_first_contact(
    db: &impl GenericClient,
    connection: &str,
    run_id: Uuid,
    notes: &std::collections::BTreeMap<String, String>,
) -> Result<(), ConnectorError> {
    if notes.is_empty() {
        return Ok(());
    }
    let value: Value = notes
        .iter()
        .map(|(k, n)| (k.clone(), serde_json::json!({"note": n, "run_id": run_id, "at": Utc::now()})))
        .collect::<Map<_, _>>()
        .into();
    db.execute(
        "UPDATE connector.connection SET first_contact = $2::jsonb || first_contact WHERE name = $1",
        &[&connection, &value],
    )
    .await?;
    Ok(())
}

/// The connection's first-contact notes (key → note).
pub async fn first_contact(
    db: &impl GenericClient,
    connection: &str,
) -> Result<std::collections::BTreeMap<String, String>, ConnectorError> {
    let row = db.query_opt("SELECT first_contact FROM connector.connection WHERE name = $1", &[&connection]).await?;
    let v: Value = row.map(|r| r.get(0)).unwrap_or(Value::Null);
    Ok(v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, n)| Some((k.clone(), n.get("note")?.as_str()?.to_owned())))
        .collect())
}

/// Marks rows of `target` removed by id (a record that moved to another stream).
pub async fn mark_removed(
    tx: &Transaction<'_>,
    target: Target,
    connection: &str,
    run_id: Uuid,
    ids: &[String],
) -> Result<u64, ConnectorError> {
    let sql = format!(
        "UPDATE connector.{} SET removed_at = now(), removed_by_run = $2, last_changed = now(), changed_by_run = $2
          WHERE connection = $1 AND fp_ext_id = ANY($3) AND removed_at IS NULL",
        target.table()
    );
    Ok(tx.execute(&sql, &[&connection, &run_id, &ids]).await?)
}

/// Marks the children of `parent` that are not in `keep` removed.
pub async fn remove_other_children(
    tx: &Transaction<'_>,
    target: Target,
    connection: &str,
    run_id: Uuid,
    parent: &str,
    keep: &[String],
) -> Result<u64, ConnectorError> {
    let sql = format!(
        "UPDATE connector.{} SET removed_at = now(), removed_by_run = $2, last_changed = now(), changed_by_run = $2
          WHERE connection = $1 AND parent_ext_id = $3 AND removed_at IS NULL AND NOT (fp_ext_id = ANY($4))",
        target.table()
    );
    Ok(tx.execute(&sql, &[&connection, &run_id, &parent, &keep]).await?)
}

/// Stores records a pull could not take, raw, with their reason.
pub async fn reject(
    tx: &Transaction<'_>,
    run_id: Uuid,
    connection: &str,
    stream: &str,
    rejected: &[(Option<String>, String, Value)],
) -> Result<(), ConnectorError> {
    if rejected.is_empty() {
        return Ok(());
    }
    let ids: Vec<Option<&str>> = rejected.iter().map(|r| r.0.as_deref()).collect();
    let reasons: Vec<&str> = rejected.iter().map(|r| r.1.as_str()).collect();
    let raws: Vec<&Value> = rejected.iter().map(|r| &r.2).collect();
    tx.execute(
        "INSERT INTO connector.rejected (run_id, connection, stream, ext_id, reason, raw)
         SELECT $1, $2, $3, i.id, i.reason, i.raw FROM unnest($4::text[], $5::text[], $6::jsonb[]) AS i(id, reason, raw)",
        &[&run_id, &connection, &stream, &ids, &reasons, &raws],
    )
    .await?;
    Ok(())
}

/// Counters a page adds to its run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PageCounts {
    /// Requests.
    pub requests: u64,
    /// Records read.
    pub read: u64,
    /// Own target: created, updated, unchanged.
    pub written: (u64, u64, u64),
    /// Skipped records by reason.
    pub skipped: std::collections::BTreeMap<String, u64>,
    /// Failed (rejected) records.
    pub failed: u64,
    /// Other targets: name → created, updated, unchanged (and removed).
    pub by_target: std::collections::BTreeMap<String, (u64, u64, u64)>,
    /// Notes (skipped records' labels), few.
    pub notes: Vec<String>,
}

/// Adds a page's counters to the run.
pub async fn add_counts(db: &impl GenericClient, run_id: Uuid, c: &PageCounts) -> Result<(), ConnectorError> {
    let skipped_total: u64 = c.skipped.values().sum();
    let skipped = serde_json::to_value(&c.skipped).expect("map");
    let by_target: Value = c
        .by_target
        .iter()
        .map(|(k, (cr, up, un))| (k.clone(), serde_json::json!({"created": cr, "updated": up, "unchanged": un})))
        .collect::<Map<_, _>>()
        .into();
    db.execute(
        "UPDATE connector.stream_run r SET
             requests = requests + $2, read_count = read_count + $3, created_count = created_count + $4,
             updated_count = updated_count + $5, unchanged_count = unchanged_count + $6,
             skipped_count = skipped_count + $7, failed_count = failed_count + $8,
             skipped_reasons = (SELECT COALESCE(jsonb_object_agg(k, v), '{}') FROM (
                 SELECT k, sum(v::bigint) AS v FROM (
                     SELECT key AS k, value AS v FROM jsonb_each_text(r.skipped_reasons)
                     UNION ALL SELECT key, value FROM jsonb_each_text($9::jsonb)) a GROUP BY k) b),
             by_target = (SELECT COALESCE(jsonb_object_agg(k, v), '{}') FROM (
                 SELECT k, jsonb_build_object(
                          'created', sum((v ->> 'created')::bigint), 'updated', sum((v ->> 'updated')::bigint),
                          'unchanged', sum((v ->> 'unchanged')::bigint)) AS v
                   FROM (SELECT key AS k, value AS v FROM jsonb_each(r.by_target)
                         UNION ALL SELECT key, value FROM jsonb_each($10::jsonb)) a GROUP BY k) b),
             notes = CASE WHEN jsonb_array_length(notes) < 50 THEN notes || $11::jsonb ELSE notes END
         WHERE run_id = $1",
        &[
            &run_id,
            &(c.requests as i64),
            &(c.read as i64),
            &(c.written.0 as i64),
            &(c.written.1 as i64),
            &(c.written.2 as i64),
            &(skipped_total as i64),
            &(c.failed as i64),
            &skipped,
            &by_target,
            &serde_json::to_value(&c.notes).expect("notes"),
        ],
    )
    .await?;
    Ok(())
}

/// The outcome of the removal step of a pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Removal {
    /// Not asked for (the stream's flag is off).
    Off,
    /// Asked for, but the pull was incremental: nothing is removed.
    NotAfterIncremental,
    /// Rows marked removed.
    Removed(u64),
    /// Refused by the share guard: waits for an operator.
    Refused {
        /// Rows that would go.
        would_remove: u64,
        /// Of live rows.
        of_rows: u64,
    },
}

/// Marks rows of `target` not seen since `started_at` removed, unless more than `max_share` of the
/// live rows would go (then a pending removal is recorded for an operator).
#[allow(clippy::too_many_arguments)]
pub async fn remove_outdated(
    tx: &Transaction<'_>,
    target: Target,
    connection: &str,
    stream: &str,
    run_id: Uuid,
    started_at: DateTime<Utc>,
    max_share: f64,
    confirmed: bool,
) -> Result<Removal, ConnectorError> {
    let t = target.table();
    let (would, of) = outdated_counts(tx, target, connection, started_at).await?;
    if would == 0 {
        return Ok(Removal::Removed(0));
    }
    if !confirmed && (would as f64) > max_share * (of as f64) {
        tx.execute(
            "INSERT INTO connector.pending_removal (connection, stream, run_id, pull_started_at, would_remove, of_rows)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[&connection, &stream, &run_id, &started_at, &would, &of],
        )
        .await?;
        return Ok(Removal::Refused { would_remove: would as u64, of_rows: of as u64 });
    }
    let n = tx
        .execute(
            &format!(
                "UPDATE connector.{t} SET removed_at = now(), removed_by_run = $3, last_changed = now(), changed_by_run = $3
                  WHERE connection = $1 AND removed_at IS NULL AND last_seen < $2"
            ),
            &[&connection, &started_at, &run_id],
        )
        .await?;
    Ok(Removal::Removed(n))
}

/// Master sessions: sessions with the same start time get a master session titled `title`
/// (id `master:<start>`, deterministic); each child points at it; a master without two
/// sessions any more is deleted. Returns the number of masters.
pub async fn master_sessions(
    tx: &Transaction<'_>,
    connection: &str,
    run_id: Uuid,
    title: &str,
) -> Result<u64, ConnectorError> {
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS concurrent (starts_at text, ends_at text, ids text[]) ON COMMIT DROP;
         ",
        &[],
    )
    .await?;
    tx.execute(
        "INSERT INTO concurrent
         SELECT fields ->> 'starts_at', max(fields ->> 'ends_at'), array_agg(fp_ext_id ORDER BY fp_ext_id)
           FROM connector.session
          WHERE connection = $1 AND NOT is_master AND removed_at IS NULL AND fp_status = 'active' AND fields ? 'starts_at'
          GROUP BY fields ->> 'starts_at' HAVING count(*) >= 2",
        &[&connection],
    )
    .await?;
    let masters = tx
        .execute(
            "INSERT INTO connector.session AS t (connection, fp_ext_id, fp_status, fields, raw, is_master, changed_by_run)
             SELECT $1, 'master:' || starts_at, 'active',
                    jsonb_build_object('title', $3::text, 'starts_at', starts_at, 'ends_at', ends_at, 'sessions', to_jsonb(ids)),
                    '{}'::jsonb, true, $2
               FROM concurrent
             ON CONFLICT (connection, fp_ext_id) DO UPDATE SET
                 last_seen = now(),
                 last_changed = CASE WHEN t.fields IS DISTINCT FROM excluded.fields OR t.removed_at IS NOT NULL
                                     THEN now() ELSE t.last_changed END,
                 changed_by_run = CASE WHEN t.fields IS DISTINCT FROM excluded.fields OR t.removed_at IS NOT NULL
                                       THEN excluded.changed_by_run ELSE t.changed_by_run END,
                 fields = excluded.fields, is_master = true, removed_at = NULL",
            &[&connection, &run_id, &title],
        )
        .await?;
    tx.execute(
        "UPDATE connector.session s SET parent_ext_id = m.master, last_changed = now(), changed_by_run = $2
           FROM (SELECT s2.fp_ext_id, (SELECT 'master:' || c.starts_at FROM concurrent c WHERE s2.fp_ext_id = ANY(c.ids)) AS master
                   FROM connector.session s2 WHERE s2.connection = $1 AND NOT s2.is_master) m
          WHERE s.connection = $1 AND s.fp_ext_id = m.fp_ext_id AND s.parent_ext_id IS DISTINCT FROM m.master",
        &[&connection, &run_id],
    )
    .await?;
    tx.execute(
        "DELETE FROM connector.session WHERE connection = $1 AND is_master
            AND fp_ext_id NOT IN (SELECT 'master:' || starts_at FROM concurrent)",
        &[&connection],
    )
    .await?;
    Ok(masters)
}

/// A derived stream: the distinct values of `field` among live rows of `from` become rows of
/// `target` (id: the value lower-cased); values no longer used are marked removed when `remove`.
#[allow(clippy::too_many_arguments)]
pub async fn derive(
    tx: &Transaction<'_>,
    from: Target,
    field: &str,
    target: Target,
    connection: &str,
    run_id: Uuid,
    remove: bool,
) -> Result<Written, ConnectorError> {
    let rows = tx
        .query(
            &format!(
                "SELECT lower(btrim(fields ->> $2)), min(btrim(fields ->> $2))
                   FROM connector.{} WHERE connection = $1 AND removed_at IS NULL AND COALESCE(btrim(fields ->> $2), '') <> ''
                  GROUP BY 1 ORDER BY 1",
                from.table()
            ),
            &[&connection, &field],
        )
        .await?;
    let derived: Vec<Row> = rows
        .iter()
        .map(|r| {
            let (id, name): (String, String) = (r.get(0), r.get(1));
            let mut fields = Map::new();
            fields.insert("name".into(), Value::String(name.clone()));
            Row {
                ext_id: id,
                status: crate::records::Status::Active,
                raw_status: None,
                fields,
                raw: serde_json::json!({"value": name}),
                parent: None,
            }
        })
        .collect();
    let written =
        if derived.is_empty() { Written::default() } else { upsert(tx, target, connection, run_id, &derived).await? };
    if remove {
        let keep: Vec<String> = derived.iter().map(|r| r.ext_id.clone()).collect();
        tx.execute(
            &format!(
                "UPDATE connector.{} SET removed_at = now(), removed_by_run = $2 WHERE connection = $1 AND removed_at IS NULL
                    AND NOT (fp_ext_id = ANY($3))",
                target.table()
            ),
            &[&connection, &run_id, &keep],
        )
        .await?;
    }
    Ok(written)
}
