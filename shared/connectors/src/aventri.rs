//! The Aventri (Stova) API v2 connector: its description and its authentication. Every fact it
//! relies on, with its source, is in `docs/aventri.md`.

use std::time::Duration;

use serde_json::Value;

use crate::{
    ConnectorError, credentials,
    description::{
        CredentialField, Detail, ErrorRule, ModifiedSince, Paging, PhotoRule, Provider, Require, Reroute, Source,
        SplitName, StatusRule, StreamSpec, Target, Times,
    },
};

/// Aventri's published limit: 400 requests a minute per account (`docs/aventri.md`, "Calls and authentication").
pub const RATE_PER_MINUTE: f64 = 400.0;

const PAGING: Paging = Paging {
    limit_param: "limit",
    offset_param: "offset",
    default_limit: 1000,
    min_limit: 1,
    too_large_statuses: &[500, 502, 504],
};

/// Active statuses (`docs/aventri.md`, "Participants"): the `active_statuses` setting, by default Confirmed and Attended.
/// `getAttendee` carries `registrationstatus`; `status` is accepted where a list carries it.
const ACTIVE_STATUSES: StatusRule = StatusRule {
    field: "registrationstatus|status",
    setting: "active_statuses",
    default_active: &["Confirmed", "Attended"],
};

/// The Aventri description.
pub fn provider() -> Provider {
    Provider {
        key: "aventri",
        display: "Aventri",
        contract: "Aventri API v2, as its public record shows it (shared/connectors/docs/aventri.md)",
        event_param: Some("eventid"),
        // `docs/aventri.md`, "Calls and authentication": the secret's fields.
        credentials: &[
            CredentialField { name: "endPoint", required: true, help: "the API base URL, https://…/api/v2" },
            CredentialField { name: "accountid", required: true, help: "the account id" },
            CredentialField { name: "key", required: true, help: "the API key" },
            CredentialField { name: "eventid", required: true, help: "the event id" },
            CredentialField {
                name: "presenterPhotoEndpoint",
                required: false,
                help: "presenters' photo URL ({id}: the image id)",
            },
            CredentialField {
                name: "personPhotoEndpoint",
                required: false,
                help: "attendees' photo URL ({id}: the image id)",
            },
        ],
        errors: ErrorRule {
            marker: "/error",
            message: "/error/data",
            // "No sessions found." is the one verbatim text (`docs/aventri.md`, "Calls and authentication"); the rest are assumed alike.
            end_of_list: &["No * found*"],
            empty_array_ends: true,
            invalid_token: &["Invalid access token*", "*token*expired*", "*invalid*token*"],
            throttled: &["API limit exceeded*", "*rate limit*"],
        },
        // A margin under the published 400/min keeps a sliding-window counter from refusing
        // the 401st request of a window at the boundary.
        rate_per_minute: RATE_PER_MINUTE * 0.98,
        streams: vec![
            StreamSpec {
                name: "participants",
                target: Target::Participant,
                source: Source::List {
                    call: "ereg/listAttendees.json",
                    paging: Some(PAGING),
                    records_at: "",
                    modified_since: Some(ModifiedSince {
                        param: "modifiedfrom",
                        format: "%Y-%m-%d %H:%M:%S",
                        look_back: Duration::from_secs(24 * 3600),
                    }),
                    // List items carry only attendeeid, name, email (`docs/aventri.md`, "Participants"): the category, the
                    // status and the answers come from the detail.
                    detail: Some(Detail { call: "ereg/getAttendee.json", id_param: "attendeeid" }),
                },
                id_field: "attendeeid",
                default_mapping: &[
                    ("first_name", "fname|responses.fname|name.first"),
                    ("last_name", "lname|responses.lname|name.last"),
                    ("email", "email|responses.email"),
                    ("company", "company|responses.company"),
                    ("title", "title|responses.title"),
                    ("category", "category.name"),
                ],
                split_name: Some(SplitName { field: "name" }),
                status: Some(ACTIVE_STATUSES),
                reroute: Some(Reroute { field: "category.name", equals: "Sponsor", to: "sponsors" }),
                require: None,
                times: None,
                concurrent_sessions: false,
                photo: Some(PhotoRule { endpoint_credential: "personPhotoEndpoint", image_field: "image|imageid" }),
            },
            StreamSpec {
                name: "schedule",
                target: Target::Schedule,
                // No public source shows an attendee's sessions in getAttendee (`docs/aventri.md`, "Sessions and presenters"): read
                // when present, and noted as unknown when not.
                source: Source::InDetail {
                    parent: "participants",
                    records_at: "/sessions",
                    child_field: "session_ext_id",
                    parent_field: "participant_ext_id",
                },
                id_field: "sessionid",
                default_mapping: &[],
                split_name: None,
                status: None,
                reroute: None,
                require: None,
                times: None,
                concurrent_sessions: false,
                photo: None,
            },
            StreamSpec {
                name: "sponsors",
                target: Target::Sponsor,
                source: Source::Rerouted { from: "participants" },
                id_field: "attendeeid",
                default_mapping: &[
                    ("name", "company|responses.company|name"),
                    ("contact_email", "email|responses.email"),
                    ("level", "responses.Sponsor Level|responses.sponsorlevel"),
                ],
                split_name: None,
                status: Some(ACTIVE_STATUSES),
                reroute: None,
                require: None,
                times: None,
                concurrent_sessions: false,
                photo: None,
            },
            StreamSpec {
                name: "sponsor_levels",
                target: Target::SponsorLevel,
                source: Source::Derived { from: "sponsors", field: "level" },
                id_field: "level",
                default_mapping: &[],
                split_name: None,
                status: None,
                reroute: None,
                require: None,
                times: None,
                concurrent_sessions: false,
                photo: None,
            },
            StreamSpec {
                name: "sessions",
                target: Target::Session,
                source: Source::List {
                    call: "ereg/listSessions.json",
                    paging: Some(PAGING),
                    records_at: "",
                    modified_since: None,
                    detail: None,
                },
                id_field: "sessionid",
                default_mapping: &[("title", "name"), ("session_key", "sessionkey"), ("in_slot", "in_slot")],
                split_name: None,
                status: None,
                reroute: None,
                // SpotMe's Aventri integration: sessions without a start and an end time are not imported.
                require: Some(Require {
                    import_flagged: false,
                    fields: &["sessiondate", "starttime", "endtime"],
                    empty_values: &["0000-00-00", "00:00", "00:00:00", "0000-00-00 00:00:00"],
                    reason: "no start or end time",
                    label: "name",
                }),
                times: Some(Times::LocalDate { date: "sessiondate", start: "starttime", end: "endtime" }),
                concurrent_sessions: true,
                photo: None,
            },
            StreamSpec {
                name: "presenters",
                target: Target::Presenter,
                source: Source::List {
                    call: "ereg/listSpeakers.json",
                    paging: Some(PAGING),
                    records_at: "",
                    modified_since: None,
                    // Public clients read only `speakerid` from the list (`docs/aventri.md`, "Sessions and presenters").
                    detail: Some(Detail { call: "ereg/getSpeaker.json", id_param: "speakerid" }),
                },
                id_field: "speakerid",
                default_mapping: &[
                    ("first_name", "fname|name.first"),
                    ("last_name", "lname|name.last"),
                    ("company", "company"),
                    ("bio", "bio"),
                ],
                split_name: Some(SplitName { field: "name" }),
                status: None,
                reroute: None,
                require: None,
                times: None,
                concurrent_sessions: false,
                photo: Some(PhotoRule { endpoint_credential: "presenterPhotoEndpoint", image_field: "image" }),
            },
        ],
    }
}

/// The token of a `global/authorize.json` answer (`{"accesstoken": …}`), if it holds one.
pub fn access_token(answer: &Value) -> Option<&str> {
    answer.get("accesstoken").and_then(Value::as_str).filter(|t| !t.is_empty())
}

/// Checks the `endPoint` credential: it must be `https://HOST/api/v2` (a trailing slash is
/// dropped; plain `http://` is accepted only for a loopback host, the local sandbox).
pub fn normalise_endpoint(raw: &str) -> Result<String, ConnectorError> {
    let refuse = || {
        ConnectorError::Config(format!(
            "Aventri endPoint {raw:?} is not of the form https://HOST/api/v2 (e.g. https://api-na.eventscloud.com/api/v2)"
        ))
    };
    match credentials::base_url(raw) {
        Some((base, url)) if url.path() == "/api/v2" => Ok(base),
        _ => Err(refuse()),
    }
}

/// Aventri's credentials (secret fields `endPoint`, `accountid`, `key`, `eventid`,
/// `presenterPhotoEndpoint`, `personPhotoEndpoint`). `Debug` never shows the key.
#[derive(Clone)]
pub struct Credentials {
    /// The normalised endpoint.
    pub endpoint: String,
    /// Account id.
    pub accountid: String,
    key: String,
    /// Event id.
    pub eventid: String,
    /// Other fields (photo endpoints), by name.
    pub extra: Vec<(String, String)>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("endpoint", &self.endpoint)
            .field("accountid", &self.accountid)
            .field("eventid", &self.eventid)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Reads and checks the secret's fields; nothing is called before this succeeds.
    pub fn from_secret(secret: &Value) -> Result<Credentials, ConnectorError> {
        let field = |name: &str| credentials::field(secret, name);
        let need = |name: &str| credentials::required(secret, "Aventri", name);
        let extra = ["presenterPhotoEndpoint", "personPhotoEndpoint"]
            .iter()
            .filter_map(|n| field(n).map(|v| ((*n).to_owned(), v)))
            .collect();
        Ok(Credentials {
            endpoint: normalise_endpoint(&need("endPoint")?)?,
            accountid: need("accountid")?,
            key: need("key")?,
            eventid: need("eventid")?,
            extra,
        })
    }

    /// The form fields of `global/authorize.json`.
    pub fn authorize_form(&self) -> [(&'static str, &str); 2] {
        [("accountid", self.accountid.as_str()), ("key", self.key.as_str())]
    }

    /// The pacing account: endpoint host and account id (one budget per account).
    pub fn account_key(&self) -> String {
        format!("aventri:{}:{}", self.endpoint, self.accountid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_must_be_https_host_api_v2() {
        assert_eq!(
            normalise_endpoint("https://api-na.eventscloud.com/api/v2/").unwrap(),
            "https://api-na.eventscloud.com/api/v2"
        );
        assert_eq!(normalise_endpoint("http://127.0.0.1:8080/api/v2").unwrap(), "http://127.0.0.1:8080/api/v2");
        for bad in [
            "https://api-na.eventscloud.com",
            "https://api-na.eventscloud.com/api/v1",
            "http://api-na.eventscloud.com/api/v2",
            "api-na.eventscloud.com/api/v2",
            "https://api-na.eventscloud.com/api/v2/ereg",
            "https://api-na.eventscloud.com/api/v2?x=1",
            "",
        ] {
            let err = normalise_endpoint(bad).unwrap_err().to_string();
            assert!(err.contains("https://HOST/api/v2"), "{bad}: {err}");
        }
    }

    #[test]
    fn credentials_are_checked_and_never_shown() {
        let secret = serde_json::json!({"endPoint": "https://api-emea.eventscloud.com/api/v2/", "accountid": 42,
            "key": "k-secret", "eventid": "9", "personPhotoEndpoint": "https://p/{id}"});
        let c = Credentials::from_secret(&secret).unwrap();
        assert_eq!((c.endpoint.as_str(), c.accountid.as_str()), ("https://api-emea.eventscloud.com/api/v2", "42"));
        assert!(!format!("{c:?}").contains("k-secret"));
        let missing = Credentials::from_secret(&serde_json::json!({"endPoint": "https://a/api/v2"})).unwrap_err();
        assert!(missing.to_string().contains("accountid"), "{missing}");
    }
}
