//! The manifest format: what a provider is, as data. One TOML file per provider
//! (`providers/<key>.toml`) says how to reach it (endpoint, event, credentials, authentication,
//! rate), how its answers signal errors, and its streams (the call, the paging rule, where a
//! page's records are, the modified-since filter, detail calls, streams fed by another stream)
//! with the rules applied to their records. The engine reads these descriptions and knows no
//! provider; [`Provider::check`] refuses a manifest whose parts do not fit together.

use std::{collections::BTreeMap, time::Duration};

use serde::Deserialize;

/// A provider, as its manifest describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Key in `connector.connection.provider` (e.g. `aventri`).
    pub key: String,
    /// Name shown to operators (e.g. `Aventri`).
    pub display: String,
    /// The manifest's version: raised with every change of what a pull does (shown on each run
    /// and in the preview, with the manifest's digest).
    pub version: u32,
    /// The contract this description follows: the public record it was written from, or the
    /// name of a provisional contract (shown to operators beside the connection).
    pub contract: String,
    /// The credential holding the API's base URL, and what it must look like.
    pub endpoint: EndpointRule,
    /// The credential holding the event id (`{event}` in calls), when calls are event-scoped.
    #[serde(default)]
    pub event_credential: Option<String>,
    /// Query parameter carrying the event id on every call (the `event_param` setting
    /// overrides it).
    #[serde(default)]
    pub event_param: Option<String>,
    /// The credential naming the account: with the endpoint, the key of the request budget
    /// every invocation shares.
    pub account_credential: String,
    /// The fields of a connection's secret, in the order the credentials form asks for them.
    pub credentials: Vec<CredentialField>,
    /// How calls authenticate.
    pub auth: AuthSpec,
    /// How errors arrive inside successful answers.
    #[serde(default)]
    pub errors: ErrorRule,
    /// The account's published request limit per minute (the `rate_per_minute` setting, an
    /// account's own limit, overrides it).
    pub rate_per_minute: f64,
    /// Share of the limit the pacing uses (a margin under a sliding-window limit); 1 by default.
    #[serde(default = "one")]
    pub rate_margin: f64,
    /// Seconds the pacing's slots may run behind the clock: a pull that fell behind (while it
    /// wrote a page) sends that many seconds of requests without waiting. At most half the
    /// margin's share of a minute (so that no minute goes over the limit), and 0 for a provider
    /// that limits bursts (per second); 0 by default.
    #[serde(default)]
    pub catch_up_secs: f64,
    /// Two-way registration, when the provider offers it.
    #[serde(default)]
    pub registration: Option<Registration>,
    /// What the preview tells operators about this provider (assumptions in force, limits).
    #[serde(default)]
    pub preview_notes: Vec<String>,
    /// The streams, parents before the streams they feed.
    pub streams: Vec<StreamSpec>,
    /// Digest of the manifest's text (set when it is loaded, not written in it).
    #[serde(skip)]
    pub digest: String,
}

fn one() -> f64 {
    1.0
}

/// What the `endpoint` credential must be: an https base URL (http only on loopback, the local
/// sandbox) without query or fragment, a trailing slash dropped.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointRule {
    /// The credential holding it (e.g. `endPoint`).
    pub credential: String,
    /// The path it must end with, when the API has one (e.g. `/api/v2`).
    #[serde(default)]
    pub path: Option<String>,
    /// An example shown when a value is refused.
    pub example: String,
}

/// One field of a provider's secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialField {
    /// Its name in the secret's JSON.
    pub name: String,
    /// Whether a connection needs it.
    #[serde(default)]
    pub required: bool,
    /// Whether it is a secret (never shown, logged or printed by `Debug`); other fields may be
    /// shown (the endpoint, the account id, photo endpoints).
    #[serde(default)]
    pub secret: bool,
    /// Values it may take, when it chooses between a few (e.g. `authMode`).
    #[serde(default)]
    pub one_of: Vec<String>,
    /// What it is, for the operator entering it.
    pub help: String,
}

/// How calls authenticate: one method, or several chosen by a credential.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    /// The credential choosing the method (e.g. `authMode`); without it, `default` is used.
    #[serde(default)]
    pub mode_credential: Option<String>,
    /// The method used when no credential chooses one.
    pub default: String,
    /// The methods, by name.
    pub modes: BTreeMap<String, AuthMethod>,
    /// What an operator reads when the provider refuses the credentials.
    pub refused: String,
}

/// One way of authenticating calls. Every method holding a token renews it before it expires
/// and once after the provider refuses it (HTTP 401/403 or an error inside a 200).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthMethod {
    /// `Authorization: Basic base64(username:password)` on every call.
    Basic {
        /// The credential holding the user name.
        username: String,
        /// The credential holding the password.
        password: String,
    },
    /// A token held in the secret, sent on every call.
    Token {
        /// The credential holding it.
        token: String,
        /// How calls carry it.
        send: TokenUse,
    },
    /// A token from a login call with the secret's fields.
    Login(Login),
    /// OAuth 2.0 client credentials (RFC 6749 §4.4): a bearer token from the token endpoint.
    ClientCredentials(ClientCredentials),
}

/// A login call answering a token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Path under the endpoint (POST).
    pub call: String,
    /// How the fields are sent: `form` or `json`.
    pub body: BodyKind,
    /// Body field → the credential holding its value.
    pub fields: BTreeMap<String, String>,
    /// JSON pointers where the answer may hold the token (the first non-empty one counts).
    pub token_at: Vec<String>,
    /// JSON pointer of the token's life in seconds, when the answer says it.
    #[serde(default)]
    pub expires_in_at: Option<String>,
    /// Life assumed when the answer does not say it; without it, a token lasts until refused.
    #[serde(default)]
    pub default_ttl_secs: Option<u64>,
    /// How calls carry the token.
    pub send: TokenUse,
}

/// OAuth 2.0 client credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentials {
    /// The token endpoint: a path under the endpoint (e.g. `oauth2/token`).
    pub token_call: String,
    /// The credential holding the client id.
    pub client_id: String,
    /// The credential holding the client secret.
    pub client_secret: String,
    /// Whether the client authenticates with HTTP Basic (`basic`, RFC 6749 §2.3.1's default) or
    /// with form fields (`form`).
    pub client_auth: ClientAuth,
    /// Form fields sent beside `grant_type` (e.g. `client_id` when the provider also wants it in
    /// the body): field → credential.
    #[serde(default)]
    pub extra_fields: BTreeMap<String, String>,
    /// The scope requested, when the provider needs one.
    #[serde(default)]
    pub scope: Option<String>,
}

/// How a client authenticates at a token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret.
    Basic,
    /// `client_id` and `client_secret` form fields.
    Form,
}

/// How a login's fields are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// `application/x-www-form-urlencoded`.
    Form,
    /// A JSON object.
    Json,
}

/// How a call carries a token.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "as", rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenUse {
    /// A query parameter.
    Query {
        /// Its name (e.g. `accesstoken`).
        param: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer,
}

/// How a provider reports errors in an HTTP 2xx answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRule {
    /// JSON pointer whose presence marks an error (e.g. `/error`); none: a 2xx is never an error.
    #[serde(default)]
    pub marker: Option<String>,
    /// JSON pointer of the message (e.g. `/error/data`); the marker's JSON when absent.
    #[serde(default)]
    pub message: Option<String>,
    /// Messages meaning "past the end of the list" (`*` matches any text).
    #[serde(default)]
    pub end_of_list: Vec<String>,
    /// Whether an empty array also ends a list.
    #[serde(default)]
    pub empty_array_ends: bool,
    /// Messages meaning "the token is invalid or expired": authorise again, once.
    #[serde(default)]
    pub invalid_token: Vec<String>,
    /// Messages meaning "over the rate limit": wait and retry.
    #[serde(default)]
    pub throttled: Vec<String>,
    /// HTTP statuses meaning "the credentials are refused" (authorise again once, then stop the
    /// pull as a credentials error); 401 and 403 unless the manifest says otherwise.
    #[serde(default = "refused_statuses")]
    pub refused_statuses: Vec<u16>,
}

fn refused_statuses() -> Vec<u16> {
    vec![401, 403]
}

impl Default for ErrorRule {
    fn default() -> ErrorRule {
        ErrorRule {
            marker: None,
            message: None,
            end_of_list: Vec::new(),
            empty_array_ends: false,
            invalid_token: Vec::new(),
            throttled: Vec::new(),
            refused_statuses: refused_statuses(),
        }
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
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
// Parsed once per process, a few per provider: the list's size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// A list call, paged or answering the whole list at once.
    List {
        /// Path under the endpoint (e.g. `ereg/listAttendees.json`); `{event}` stands for the
        /// event id (e.g. `events/{event}/persons`).
        call: String,
        /// Query parameters sent on every call of the list (`{event}`: the event id).
        #[serde(default)]
        params: BTreeMap<String, String>,
        /// Paging rule; none: one call answers every record.
        #[serde(default)]
        paging: Option<Paging>,
        /// JSON pointer of the record array in a page (`""` = the answer is the array).
        #[serde(default)]
        records_at: String,
        /// The modified-since filter, when the call has one (else pulled in full every run).
        #[serde(default)]
        modified_since: Option<ModifiedSince>,
        /// A detail call that completes each new or changed list record.
        #[serde(default)]
        detail: Option<Detail>,
    },
    /// Children found in each `parent` record's detail answer (see [`Detail`]) at `records_at`
    /// (strings are child ids). Each child row's id is `<parent id>/<child id>`, its
    /// `parent_ext_id` the parent's id. A detail answer without that member says nothing about
    /// the children: their rows are left as they are and the run notes it.
    InDetail {
        /// The parent stream (a list with a detail call).
        parent: String,
        /// JSON pointer of the children in the parent's detail answer.
        records_at: String,
        /// Field name the child id goes to.
        child_field: String,
        /// Field name the parent id goes to.
        parent_field: String,
    },
    /// Records another stream hands over by its [`Reroute`] rule.
    Rerouted {
        /// The stream that reads them.
        from: String,
    },
    /// The distinct values of a mapped field of another stream's live rows.
    Derived {
        /// The stream whose rows are read.
        from: String,
        /// Its mapped field.
        field: String,
    },
}

/// A per-record detail call: its answer's fields complete the list record (the list record's own
/// values win). It is made for every record of an incremental pull and, in a full pull, for
/// records that are new or whose list fields differ from the stored record; the others keep
/// the detail stored with them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detail {
    /// The call (e.g. `ereg/getAttendee.json`); `{id}` in it stands for the record id.
    pub call: String,
    /// Parameter carrying the record id, unless the call's path holds `{id}`.
    #[serde(default)]
    pub id_param: Option<String>,
}

/// How a list is paged.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Paging {
    /// `limit`/`offset`: the list ends at an empty page (or the error rule's end of list).
    Offset {
        /// Parameter of the page size.
        limit_param: String,
        /// Parameter of the position.
        offset_param: String,
        /// Page size used unless the connection's `page_limit` setting says otherwise.
        default_limit: u32,
        /// Smallest page size the engine halves down to when the provider fails on large
        /// answers.
        min_limit: u32,
        /// Largest page size the provider accepts (caps the `page_limit` setting).
        #[serde(default)]
        max_limit: Option<u32>,
        /// Statuses answered to an answer too large (the engine halves the page size).
        #[serde(default)]
        too_large_statuses: Vec<u16>,
    },
    /// Numbered pages: the list ends at an empty page, or where `has_more_at` says so.
    PageNumber {
        /// Parameter of the page number.
        page_param: String,
        /// Number of the first page (0 or 1).
        first_page: u64,
        /// Parameter of the page size, when the provider takes one.
        #[serde(default)]
        size_param: Option<String>,
        /// Page size asked for (the `page_limit` setting overrides it).
        default_limit: u32,
        /// Largest page size the provider accepts (caps the `page_limit` setting).
        #[serde(default)]
        max_limit: Option<u32>,
        /// JSON pointer of a boolean saying whether more pages follow.
        #[serde(default)]
        has_more_at: Option<String>,
    },
    /// A continuation token or a next link from each answer: the list ends at an answer
    /// without one (or whose `has_more_at` is false).
    Token {
        /// Parameter carrying the token on the next call (with `next_token_at`).
        #[serde(default)]
        token_param: Option<String>,
        /// JSON pointer of the next page's token.
        #[serde(default)]
        next_token_at: Option<String>,
        /// JSON pointer of the next page's URL (called as it is; it must lie under the
        /// endpoint).
        #[serde(default)]
        next_link_at: Option<String>,
        /// Parameter of the page size, when the provider takes one.
        #[serde(default)]
        size_param: Option<String>,
        /// Page size asked for (the `page_limit` setting overrides it).
        default_limit: u32,
        /// Largest page size the provider accepts (caps the `page_limit` setting).
        #[serde(default)]
        max_limit: Option<u32>,
        /// JSON pointer of a boolean saying whether more pages follow.
        #[serde(default)]
        has_more_at: Option<String>,
    },
}

impl Paging {
    /// The page size asked for unless a setting says otherwise.
    pub fn default_limit(&self) -> u32 {
        match self {
            Paging::Offset { default_limit, .. }
            | Paging::PageNumber { default_limit, .. }
            | Paging::Token { default_limit, .. } => *default_limit,
        }
    }

    /// The smallest page size (only offset paging lowers it: 1 for the others).
    pub fn min_limit(&self) -> u32 {
        match self {
            Paging::Offset { min_limit, .. } => *min_limit,
            _ => 1,
        }
    }

    /// The largest page size the provider accepts, when it says.
    pub fn max_limit(&self) -> Option<u32> {
        match self {
            Paging::Offset { max_limit, .. }
            | Paging::PageNumber { max_limit, .. }
            | Paging::Token { max_limit, .. } => *max_limit,
        }
    }

    /// `asked` (a connection's page size) within the provider's bounds.
    pub fn bounded(&self, asked: u32) -> u32 {
        let asked = asked.max(self.min_limit());
        self.max_limit().map_or(asked, |m| asked.min(m))
    }
}

/// A modified-since filter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifiedSince {
    /// Parameter name.
    pub param: String,
    /// `chrono` format of its value (UTC); literal text around it is kept (e.g.
    /// `lastModified gt '%Y-%m-%dT%H:%M:%SZ'`).
    pub format: String,
    /// How far before the last successful pull the next one starts, in minutes (the settings
    /// `look_back_hours` / `look_back_minutes` override it).
    pub look_back_minutes: u64,
    /// When the list's own parameters already hold `param` (e.g. a `filter` expression), the
    /// value is appended to it after this text (e.g. ` and `) instead of sent beside it.
    #[serde(default)]
    pub join_with: Option<String>,
}

impl ModifiedSince {
    /// The look-back.
    pub fn look_back(&self) -> Duration {
        Duration::from_secs(self.look_back_minutes * 60)
    }
}

/// Active/cancelled from a status field and a setting listing the active values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRule {
    /// Provider field holding the status (alternatives joined by `|`: the first present counts).
    pub field: String,
    /// Connection setting: comma-separated active statuses (trimmed, case-insensitive).
    pub setting: String,
    /// Active statuses when the setting is absent.
    pub default_active: Vec<String>,
}

/// Records whose `field` equals `equals` (case-insensitive) belong to another stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reroute {
    /// Provider field (flattened path, e.g. `category.name`; alternatives joined by `|`).
    pub field: String,
    /// The value.
    pub equals: String,
    /// The receiving stream.
    pub to: String,
}

/// Records lacking any of `fields` (absent, empty or one of `empty_values`) are skipped, or, with
/// `import_flagged`, imported without their times and flagged with the reason.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Require {
    /// Import such records (flagged in the row's `import_flag` field) instead of skipping them.
    #[serde(default)]
    pub import_flagged: bool,
    /// Provider fields.
    pub fields: Vec<String>,
    /// Values that count as empty.
    #[serde(default)]
    pub empty_values: Vec<String>,
    /// The reason reported.
    pub reason: String,
    /// Provider field shown beside the id in the report (e.g. the title).
    pub label: String,
}

/// Start and end turned into UTC `starts_at`/`ends_at`; local times are read in the
/// connection's `event_time_zone` setting (IANA name).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Times {
    /// A date field and two local time fields.
    LocalDate {
        /// Date field (`YYYY-MM-DD`).
        date: String,
        /// Start time field (`HH:MM[:SS]`).
        start: String,
        /// End time field.
        end: String,
    },
    /// Two date-time fields: ISO-8601 with an offset, or without one in the event's zone.
    Instants {
        /// Start field.
        start: String,
        /// End field.
        end: String,
    },
}

/// Photos of a stream's records, stored in S3 when new or changed: from the mapped `photo`
/// field when it holds a URL, else from the endpoint credential and the record's image id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoRule {
    /// Credential holding the photo endpoint: `{id}` in it is replaced by the record's image id;
    /// without `{id}`, the id is appended (after `/` unless the endpoint ends with `=`).
    #[serde(default)]
    pub endpoint_credential: Option<String>,
    /// Provider field holding the record's image id (alternatives joined by `|`). A record without
    /// one has no photo unless its mapped `photo` field holds a URL.
    #[serde(default)]
    pub image_field: Option<String>,
}

/// A full-name field split into `<field>.first` (its first word) and `<field>.last` (the rest),
/// for records that carry no separate first and last name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitName {
    /// The full-name field (e.g. `name`).
    pub field: String,
}

/// Two-way registration: one call registering a person to a session, and how its answer reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Path under the endpoint (POST; `{event}`: the event id).
    pub call: String,
    /// The JSON body: member → value, where `{person}` and `{session}` stand for the ids.
    pub body: BTreeMap<String, String>,
    /// JSON pointer of the answer's status.
    pub status_at: String,
    /// Statuses that confirm the registration (case-insensitive); any other status refuses it.
    pub confirmed: Vec<String>,
    /// JSON pointer of the registration's id in a confirmation.
    #[serde(default)]
    pub registration_id_at: Option<String>,
    /// JSON pointer of the reason of a refusal.
    #[serde(default)]
    pub reason_at: Option<String>,
    /// HTTP statuses whose body is a refusal (beside 2xx).
    #[serde(default)]
    pub refusal_statuses: Vec<u16>,
    /// HTTP statuses meaning the provider knows the person or the session not.
    #[serde(default)]
    pub unknown_statuses: Vec<u16>,
}

/// One stream of a provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    /// Name (`participants`, `sessions`, …).
    pub name: String,
    /// Target table.
    pub target: Target,
    /// Source.
    pub source: Source,
    /// Provider field holding the record id (compared as a string). Fields joined by `/` make
    /// a composite id (`PersonId/SessionId` → `p1/s1`) whose first part is the row's parent.
    pub id_field: String,
    /// Target field → provider field, before the stream's configured mapping. A provider field
    /// may list alternatives joined by `|` (`fname|responses.fname|name.first`): the first one a
    /// record carries, not blank, is taken.
    #[serde(default)]
    pub default_mapping: BTreeMap<String, String>,
    /// A full-name field split for the mapping (`name.first`, `name.last`).
    #[serde(default)]
    pub split_name: Option<SplitName>,
    /// Status rule (else every record is active).
    #[serde(default)]
    pub status: Option<StatusRule>,
    /// Records handed to another stream.
    #[serde(default)]
    pub reroute: Option<Reroute>,
    /// Records that are skipped without these fields.
    #[serde(default)]
    pub require: Option<Require>,
    /// Event-local times.
    #[serde(default)]
    pub times: Option<Times>,
    /// Master sessions for concurrent sessions (when `in_slot` is mapped and the connection sets
    /// `ConcurrentSessionsTitle`).
    #[serde(default)]
    pub concurrent_sessions: bool,
    /// Photos.
    #[serde(default)]
    pub photo: Option<PhotoRule>,
}

impl StreamSpec {
    /// Whether the engine starts pulls of this stream (others are fed by their source stream).
    pub fn is_root(&self) -> bool {
        matches!(self.source, Source::List { .. })
    }
}

impl Provider {
    /// The stream named `name`.
    pub fn stream(&self, name: &str) -> Option<&StreamSpec> {
        self.streams.iter().find(|s| s.name == name)
    }

    /// The request rate the pacing keeps to: the account's limit (`limit`, else the published
    /// one) times the margin.
    pub fn pacing_rate(&self, limit: Option<f64>) -> f64 {
        limit.unwrap_or(self.rate_per_minute) * self.rate_margin
    }

    /// Version and digest, as runs and previews show them (e.g. `aventri v3 (1a2b3c4d)`).
    pub fn manifest_version(&self) -> String {
        format!("{} v{} ({})", self.key, self.version, self.digest)
    }

    /// The credential field `name`.
    pub fn credential(&self, name: &str) -> Option<&CredentialField> {
        self.credentials.iter().find(|c| c.name == name)
    }

    /// Checks that the manifest's parts fit together: every credential it names is declared,
    /// every stream it names exists and comes before the streams it feeds, every pointer is a
    /// JSON pointer, every paging rule can end a list. The errors, all of them.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut errs = Vec::new();
        let mut cred = |what: &str, name: &str| {
            if self.credential(name).is_none() {
                errs.push(format!("{what} names credential {name:?}, which `credentials` does not declare"));
            }
        };
        cred("endpoint", &self.endpoint.credential);
        cred("account_credential", &self.account_credential);
        if let Some(e) = &self.event_credential {
            cred("event_credential", e);
        }
        if let Some(m) = &self.auth.mode_credential {
            cred("auth.mode_credential", m);
        }
        for (mode, method) in &self.auth.modes {
            let names: Vec<&String> = match method {
                AuthMethod::Basic { username, password } => vec![username, password],
                AuthMethod::Token { token, .. } => vec![token],
                AuthMethod::Login(l) => l.fields.values().collect(),
                AuthMethod::ClientCredentials(c) => {
                    let mut v = vec![&c.client_id, &c.client_secret];
                    v.extend(c.extra_fields.values());
                    v
                }
            };
            for n in names {
                cred(&format!("auth mode {mode}"), n);
            }
        }
        for s in &self.streams {
            if let Some(p) = s.photo.as_ref().and_then(|p| p.endpoint_credential.as_ref()) {
                cred(&format!("stream {} photo", s.name), p);
            }
        }
        if !self.auth.modes.contains_key(&self.auth.default) {
            errs.push(format!("auth.default {:?} is not one of auth.modes", self.auth.default));
        }
        if self.key.is_empty() || !self.key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            errs.push(format!("key {:?} must be lower-case letters, digits and _", self.key));
        }
        if !(self.rate_per_minute > 0.0 && self.rate_margin > 0.0 && self.rate_margin <= 1.0) {
            errs.push("rate_per_minute must be above 0 and rate_margin in (0, 1]".into());
        }
        let half_margin = 30.0 * (1.0 / self.rate_margin - 1.0);
        if !(0.0..=half_margin + 1e-9).contains(&self.catch_up_secs) {
            errs.push(format!(
                "catch_up_secs must be between 0 and half the margin's share of a minute ({half_margin:.2} s)"
            ));
        }
        if self.credential(&self.account_credential).is_some_and(|c| c.secret) {
            errs.push("account_credential names a secret field (the account is shown and logged)".into());
        }
        let mut pointers: Vec<(String, &str)> = Vec::new();
        pointers.extend(self.errors.marker.iter().map(|p| ("errors.marker".to_owned(), p.as_str())));
        pointers.extend(self.errors.message.iter().map(|p| ("errors.message".to_owned(), p.as_str())));
        if let Some(r) = &self.registration {
            pointers.push(("registration.status_at".into(), &r.status_at));
            pointers
                .extend(r.registration_id_at.iter().map(|p| ("registration.registration_id_at".into(), p.as_str())));
            pointers.extend(r.reason_at.iter().map(|p| ("registration.reason_at".into(), p.as_str())));
        }
        for method in self.auth.modes.values() {
            if let AuthMethod::Login(l) = method {
                pointers.extend(l.token_at.iter().map(|p| ("auth token_at".into(), p.as_str())));
                pointers.extend(l.expires_in_at.iter().map(|p| ("auth expires_in_at".into(), p.as_str())));
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for s in &self.streams {
            if seen.contains(&s.name.as_str()) {
                errs.push(format!("stream {:?} is described twice", s.name));
            }
            let before = |name: &str| seen.contains(&name);
            let here = format!("stream {}", s.name);
            match &s.source {
                Source::List { records_at, paging, detail, .. } => {
                    pointers.push((format!("{here} records_at"), records_at));
                    match paging {
                        Some(Paging::Token { token_param, next_token_at, next_link_at, has_more_at, .. }) => {
                            match (next_token_at, token_param, next_link_at) {
                                (Some(_), Some(_), None) | (None, None, Some(_)) => {}
                                _ => errs.push(format!(
                                    "{here}: token paging needs next_token_at with token_param, or next_link_at (one of them)"
                                )),
                            }
                            for p in [next_token_at, next_link_at, has_more_at].into_iter().flatten() {
                                pointers.push((format!("{here} paging"), p));
                            }
                        }
                        Some(Paging::PageNumber { has_more_at: Some(p), .. }) => {
                            pointers.push((format!("{here} paging"), p));
                        }
                        Some(Paging::Offset { default_limit, min_limit, .. }) if min_limit > default_limit => {
                            errs.push(format!("{here}: min_limit is above default_limit"));
                        }
                        _ => {}
                    }
                    if let Some(d) = detail
                        && d.id_param.is_none()
                        && !d.call.contains("{id}")
                    {
                        errs.push(format!("{here}: the detail call needs {{id}} in its path or an id_param"));
                    }
                }
                Source::InDetail { parent, records_at, .. } => {
                    pointers.push((format!("{here} records_at"), records_at));
                    let ok = self
                        .stream(parent)
                        .is_some_and(|p| matches!(&p.source, Source::List { detail: Some(_), .. }) && before(parent));
                    if !ok {
                        errs.push(format!(
                            "{here}: parent {parent:?} is not an earlier list stream with a detail call"
                        ));
                    }
                }
                Source::Rerouted { from } => {
                    let ok = self.stream(from).is_some_and(|f| f.reroute.as_ref().is_some_and(|r| r.to == s.name));
                    if !ok || !before(from) {
                        errs.push(format!("{here}: {from:?} is not an earlier stream rerouting to it"));
                    }
                }
                Source::Derived { from, .. } => {
                    if !before(from) {
                        errs.push(format!("{here}: derived from {from:?}, which is not an earlier stream"));
                    }
                }
            }
            if let Some(r) = &s.reroute
                && !self
                    .stream(&r.to)
                    .is_some_and(|t| matches!(&t.source, Source::Rerouted { from } if *from == s.name))
            {
                errs.push(format!("{here}: reroutes to {:?}, which is not a stream rerouted from it", r.to));
            }
            if s.id_field.is_empty() {
                errs.push(format!("{here}: id_field is empty"));
            }
            seen.push(&s.name);
        }
        let event_named = self.event_param.is_some()
            || self.registration.as_ref().is_some_and(|r| r.call.contains("{event}"))
            || self.streams.iter().any(|s| match &s.source {
                Source::List { call, params, .. } => {
                    call.contains("{event}") || params.values().any(|v| v.contains("{event}"))
                }
                _ => false,
            });
        if event_named && self.event_credential.is_none() {
            errs.push("calls name the event ({event} or event_param) but no event_credential holds it".into());
        }
        if let Some(mode) = &self.auth.mode_credential
            && let Some(field) = self.credential(mode)
            && !field.one_of.is_empty()
        {
            let choices: std::collections::BTreeSet<String> =
                field.one_of.iter().map(|c| c.to_ascii_lowercase()).collect();
            let modes: std::collections::BTreeSet<String> = self.auth.modes.keys().cloned().collect();
            if choices != modes {
                errs.push(format!("credential {mode:?} offers {choices:?}, auth.modes are {modes:?}"));
            }
        }
        if self.endpoint.path.as_deref().is_some_and(|p| !p.starts_with('/')) {
            errs.push("endpoint.path must start with /".into());
        }
        if let Some(r) = &self.registration {
            let body: String = r.body.values().cloned().collect();
            if !body.contains("{person}") || !body.contains("{session}") || r.confirmed.is_empty() {
                errs.push("registration needs {person} and {session} in its body and a confirmed status".into());
            }
        }
        for s in &self.streams {
            if let Source::List { paging: Some(p), .. } = &s.source {
                if p.default_limit() == 0 || p.min_limit() == 0 {
                    errs.push(format!("stream {}: page sizes must be at least 1", s.name));
                }
                if p.max_limit().is_some_and(|m| m < p.default_limit() || m < p.min_limit()) {
                    errs.push(format!("stream {}: max_limit is below the default or the minimum", s.name));
                }
            }
            if let Source::Derived { from, field } = &s.source
                && self.stream(from).is_some_and(|f| !f.default_mapping.contains_key(field))
            {
                errs.push(format!("stream {}: {from} maps no {field:?} to derive from", s.name));
            }
            if let Some(photo) = &s.photo
                && photo.endpoint_credential.is_none()
                && !s.default_mapping.contains_key("photo")
            {
                errs.push(format!(
                    "stream {}: a photo rule needs an endpoint credential or a mapped photo URL",
                    s.name
                ));
            }
        }
        for (what, p) in pointers {
            if !p.is_empty() && !p.starts_with('/') {
                errs.push(format!("{what} {p:?} is not a JSON pointer (\"\" or /…)"));
            }
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
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
