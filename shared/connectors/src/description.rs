//! What a provider is, as data: its streams (the call, the paging rule, where a page's records
//! are, the end-of-list rule, the record id, the modified-since parameter and its look-back,
//! streams fed by another stream's ids or records) and the rules applied to records. The engine
//! reads these descriptions and knows no provider.

use std::time::Duration;

/// A provider: its streams and how its answers signal errors.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Key in `connector.connection.provider` (e.g. `aventri`).
    pub key: &'static str,
    /// Name shown to operators (e.g. `Aventri`).
    pub display: &'static str,
    /// The contract this description follows: the public record it was written from, or the
    /// name of a provisional contract (shown to operators beside the connection).
    pub contract: &'static str,
    /// Parameter carrying the event id on event-scoped calls (from the credentials' `eventid`).
    pub event_param: Option<&'static str>,
    /// How errors arrive inside successful answers.
    pub errors: ErrorRule,
    /// The account's request budget per minute (shared by every invocation).
    pub rate_per_minute: f64,
    /// The streams, parents before the streams they feed.
    pub streams: Vec<StreamSpec>,
    /// The fields of a connection's secret, in the order the credentials form asks for them.
    pub credentials: &'static [CredentialField],
}

/// One field of a provider's secret.
#[derive(Debug, Clone, Copy)]
pub struct CredentialField {
    /// Its name in the secret's JSON.
    pub name: &'static str,
    /// Whether a connection needs it.
    pub required: bool,
    /// What it is, for the operator entering it.
    pub help: &'static str,
}

impl Provider {
    /// The stream named `name`.
    pub fn stream(&self, name: &str) -> Option<&StreamSpec> {
        self.streams.iter().find(|s| s.name == name)
    }
}

/// How a provider reports errors in an HTTP 2xx answer.
#[derive(Debug, Clone)]
pub struct ErrorRule {
    /// JSON pointer whose presence marks an error (e.g. `/error`).
    pub marker: &'static str,
    /// JSON pointer of the message (e.g. `/error/data`); the marker's JSON when absent.
    pub message: &'static str,
    /// Messages meaning "past the end of the list" (`*` matches any text).
    pub end_of_list: &'static [&'static str],
    /// Whether an empty array also ends a list.
    pub empty_array_ends: bool,
    /// Messages meaning "the token is invalid or expired": authorise again, once.
    pub invalid_token: &'static [&'static str],
    /// Messages meaning "over the rate limit": wait and retry.
    pub throttled: &'static [&'static str],
}

/// Whether `message` matches `pattern`, where `*` stands for any text (case-insensitive).
pub fn matches_pattern(pattern: &str, message: &str) -> bool {
    let (p, m) = (pattern.to_lowercase(), message.trim().to_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == m;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !m.starts_with(first) || !m.ends_with(last) || m.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &m[first.len()..m.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The warehouse table a stream writes (schema `connector`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `connector.participant`
    Participant,
    /// `connector.session`
    Session,
    /// `connector.presenter`
    Presenter,
    /// `connector.sponsor`
    Sponsor,
    /// `connector.sponsor_level`
    SponsorLevel,
    /// `connector.schedule`
    Schedule,
    /// `connector.location`
    Location,
    /// `connector.session_tag`
    SessionTag,
}

impl Target {
    /// The table's name (a fixed identifier, never operator input).
    pub fn table(self) -> &'static str {
        match self {
            Target::Participant => "participant",
            Target::Session => "session",
            Target::Presenter => "presenter",
            Target::Sponsor => "sponsor",
            Target::SponsorLevel => "sponsor_level",
            Target::Schedule => "schedule",
            Target::Location => "location",
            Target::SessionTag => "session_tag",
        }
    }
}

/// Where a stream's records come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A list call, paged or answering the whole list at once.
    List {
        /// Path under the endpoint (e.g. `ereg/listAttendees.json`); `{event}` stands for the
        /// credentials' event id (e.g. `events/{event}/persons`).
        call: &'static str,
        /// Paging rule; `None`: one call answers every record.
        paging: Option<Paging>,
        /// JSON pointer of the record array in a page (`""` = the answer is the array).
        records_at: &'static str,
        /// The modified-since filter, when the call has one (else pulled in full every run).
        modified_since: Option<ModifiedSince>,
        /// A detail call that completes each new or changed list record.
        detail: Option<Detail>,
    },
    /// Children found in each `parent` record's detail answer (see [`Detail`]) at `records_at`
    /// (strings are child ids). Each child row's id is `<parent id>/<child id>`, its
    /// `parent_ext_id` the parent's id. A detail answer without that member says nothing about
    /// the children: their rows are left as they are and the run notes it.
    InDetail {
        /// The parent stream (a list with a detail call).
        parent: &'static str,
        /// JSON pointer of the children in the parent's detail answer.
        records_at: &'static str,
        /// Field name the child id goes to.
        child_field: &'static str,
        /// Field name the parent id goes to.
        parent_field: &'static str,
    },
    /// Records another stream hands over by its [`Reroute`] rule.
    Rerouted {
        /// The stream that reads them.
        from: &'static str,
    },
    /// The distinct values of a mapped field of another stream's live rows.
    Derived {
        /// The stream whose rows are read.
        from: &'static str,
        /// Its mapped field.
        field: &'static str,
    },
}

/// A per-record detail call: its answer's fields complete the list record (the list record's own
/// values win). It is made for every record of an incremental pull and, in a full pull, for
/// records that are new or whose list fields differ from the stored record; the others keep
/// the detail stored with them.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The call (e.g. `ereg/getAttendee.json`).
    pub call: &'static str,
    /// Parameter carrying the record id.
    pub id_param: &'static str,
}

/// `limit`/`offset` paging.
#[derive(Debug, Clone)]
pub struct Paging {
    /// Parameter of the page size.
    pub limit_param: &'static str,
    /// Parameter of the position.
    pub offset_param: &'static str,
    /// Page size used unless the connection's `page_limit` setting says otherwise.
    pub default_limit: u32,
    /// Smallest page size the engine halves down to when the provider fails on large answers.
    pub min_limit: u32,
    /// Statuses answered to an answer too large (the engine halves the page size).
    pub too_large_statuses: &'static [u16],
}

/// A modified-since filter.
#[derive(Debug, Clone)]
pub struct ModifiedSince {
    /// Parameter name.
    pub param: &'static str,
    /// `chrono` format of its value (UTC).
    pub format: &'static str,
    /// How far before the last successful pull the next one starts (the setting
    /// `look_back_hours` overrides it).
    pub look_back: Duration,
}

/// Active/cancelled from a status field and a setting listing the active values.
#[derive(Debug, Clone)]
pub struct StatusRule {
    /// Provider field holding the status (alternatives joined by `|`: the first present counts).
    pub field: &'static str,
    /// Connection setting: comma-separated active statuses (trimmed, case-insensitive).
    pub setting: &'static str,
    /// Active statuses when the setting is absent.
    pub default_active: &'static [&'static str],
}

/// Records whose `field` equals `equals` (case-insensitive) belong to another stream.
#[derive(Debug, Clone)]
pub struct Reroute {
    /// Provider field (flattened path, e.g. `category.name`; alternatives joined by `|`).
    pub field: &'static str,
    /// The value.
    pub equals: &'static str,
    /// The receiving stream.
    pub to: &'static str,
}

/// Records lacking any of `fields` (absent, empty or one of `empty_values`) are skipped, or, with
/// `import_flagged`, imported without their times and flagged with the reason.
#[derive(Debug, Clone)]
pub struct Require {
    /// Import such records (flagged in the row's `import_flag` field) instead of skipping them.
    pub import_flagged: bool,
    /// Provider fields.
    pub fields: &'static [&'static str],
    /// Values that count as empty.
    pub empty_values: &'static [&'static str],
    /// The reason reported.
    pub reason: &'static str,
    /// Provider field shown beside the id in the report (e.g. the title).
    pub label: &'static str,
}

/// Start and end turned into UTC `starts_at`/`ends_at`; local times are read in the
/// connection's `event_time_zone` setting (IANA name).
#[derive(Debug, Clone)]
pub enum Times {
    /// A date field and two local time fields.
    LocalDate {
        /// Date field (`YYYY-MM-DD`).
        date: &'static str,
        /// Start time field (`HH:MM[:SS]`).
        start: &'static str,
        /// End time field.
        end: &'static str,
    },
    /// Two date-time fields: ISO-8601 with an offset, or without one in the event's zone.
    Instants {
        /// Start field.
        start: &'static str,
        /// End field.
        end: &'static str,
    },
}

/// Photos of a stream's records, stored in S3 when new or changed.
#[derive(Debug, Clone)]
pub struct PhotoRule {
    /// Credential holding the photo endpoint: `{id}` in it is replaced by the record's image id;
    /// without `{id}`, the id is appended (after `/` unless the endpoint ends with `=`).
    pub endpoint_credential: &'static str,
    /// Provider field holding the record's image id (alternatives joined by `|`). A record without
    /// one has no photo; a mapped `photo` field holding a URL is used instead of the endpoint.
    pub image_field: &'static str,
}

/// A full-name field split into `<field>.first` (its first word) and `<field>.last` (the rest),
/// for records that carry no separate first and last name.
#[derive(Debug, Clone)]
pub struct SplitName {
    /// The full-name field (e.g. `name`).
    pub field: &'static str,
}

/// One stream of a provider.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    /// Name (`participants`, `sessions`, …).
    pub name: &'static str,
    /// Target table.
    pub target: Target,
    /// Source.
    pub source: Source,
    /// Provider field holding the record id (compared as a string). Fields joined by `/` make
    /// a composite id (`PersonId/SessionId` → `p1/s1`) whose first part is the row's parent.
    pub id_field: &'static str,
    /// Target field → provider field, before the stream's configured mapping. A provider field
    /// may list alternatives joined by `|` (`fname|responses.fname|name.first`): the first one a
    /// record carries, not blank, is taken.
    pub default_mapping: &'static [(&'static str, &'static str)],
    /// A full-name field split for the mapping (`name.first`, `name.last`).
    pub split_name: Option<SplitName>,
    /// Status rule (else every record is active).
    pub status: Option<StatusRule>,
    /// Records handed to another stream.
    pub reroute: Option<Reroute>,
    /// Records that are skipped without these fields.
    pub require: Option<Require>,
    /// Event-local times.
    pub times: Option<Times>,
    /// Master sessions for concurrent sessions (when `in_slot` is mapped and the connection sets
    /// `ConcurrentSessionsTitle`).
    pub concurrent_sessions: bool,
    /// Photos.
    pub photo: Option<PhotoRule>,
}

impl StreamSpec {
    /// Whether the engine starts pulls of this stream (others are fed by their source stream).
    pub fn is_root(&self) -> bool {
        matches!(self.source, Source::List { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches_pattern("No * found*", "No sessions found."));
        assert!(matches_pattern("No * found*", "No attendees found"));
        assert!(matches_pattern("No * found", "No attendees found"));
        assert!(matches_pattern("no * found", " No sessions FOUND "));
        assert!(!matches_pattern("No * found", "Invalid access token"));
        assert!(!matches_pattern("No * found", "No found"));
        assert!(matches_pattern("Invalid access token", "invalid access token"));
        assert!(matches_pattern("*limit*", "API limit exceeded"));
    }
}
