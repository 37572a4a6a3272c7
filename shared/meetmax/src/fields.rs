//! What MeetMax should hold for a registration or a company: the `attendee/add` parameters built
//! from a configured registration row, the reasons a row cannot be sent, and the edits that bring
//! MeetMax from what was last sent to what is wanted now. Pure functions.

use std::collections::BTreeMap;

use crate::config::{EventConfig, Purpose};

/// MeetMax parameter name → value.
pub type Fields = BTreeMap<String, String>;

/// Parameters sent with an add but never edited afterwards.
const NOT_EDITED: &[&str] = &["crm_id", "username"];

/// Where a registration's MeetMax company comes from (`integration.meetmax_role_rule.company_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanySource {
    /// The reviewed clean name of the organisation.
    Clean,
    /// The state's full name.
    State,
    /// The organisation as typed.
    Typed,
}

impl CompanySource {
    /// The source named in the configuration (`clean`, `state`, `typed`).
    pub fn parse(name: &str) -> Option<CompanySource> {
        match name {
            "clean" => Some(CompanySource::Clean),
            "state" => Some(CompanySource::State),
            "typed" => Some(CompanySource::Typed),
            _ => None,
        }
    }
}

/// A registration as the `integration.meetmax_registration` view computes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registration {
    /// Formstack submission id (sent as `crm_id`).
    pub registration_id: String,
    /// The form (selects the event configuration).
    pub form_id: Option<String>,
    /// Whether a role rule matched the registration type.
    pub rule_matched: bool,
    /// The rule says to send this type.
    pub rule_send: bool,
    /// MeetMax role.
    pub attendee_role: Option<String>,
    /// MeetMax group.
    pub group_name: Option<String>,
    /// `clean`, `state` or `typed`.
    pub company_source: Option<CompanySource>,
    /// The company must exist as an entity first.
    pub company_entity: bool,
    /// Title-cased first name.
    pub first_name: Option<String>,
    /// Title-cased last name.
    pub last_name: Option<String>,
    /// The company to send.
    pub company: Option<String>,
    /// The organisation as typed.
    pub organization: Option<String>,
    /// Whether its organisation is reviewed.
    pub organization_reviewed: Option<bool>,
    /// The state key used for the state lookup.
    pub state_key: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Lower-cased e-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Registration type label.
    pub registration_type: Option<String>,
    /// `Y` or `N`.
    pub receive_request: String,
    /// Time zone label without " Time".
    pub locale: Option<String>,
    /// Biography.
    pub profile: Option<String>,
    /// Headshot URL.
    pub headshot: Option<String>,
    /// `|`-joined industry labels.
    pub industries: Option<String>,
    /// Other industries (free text).
    pub other_industries: Option<String>,
    /// Number of meetings.
    pub meetings: Option<i32>,
    /// Registration status.
    pub registration_status: Option<String>,
    /// Sent with `is_contact=Y` (the rule says so).
    pub is_contact: bool,
    /// The custom fields (by purpose name) the rule's attendees get; `None`: all of the event's.
    pub custom_purposes: Option<Vec<String>>,
    /// Caps on `|`-joined list values by purpose name (the rule's `list_caps`).
    pub list_caps: BTreeMap<String, usize>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Why a registration is not sent (stored as its `meetmax_status`, re-checked on every run).
pub fn ineligible(r: &Registration) -> Option<String> {
    let kind = r.registration_type.as_deref().unwrap_or("(none)");
    if !r.rule_matched {
        return Some(format!("no MeetMax role is configured for registration type '{kind}'"));
    }
    if !r.rule_send {
        return Some(format!("registration type '{kind}' is configured not to be sent"));
    }
    if present(&r.first_name).is_none() || present(&r.last_name).is_none() {
        return Some("first or last name missing".into());
    }
    if present(&r.email).is_none() {
        return Some("e-mail missing".into());
    }
    if present(&r.company).is_none() {
        return Some(match r.company_source {
            Some(CompanySource::State) => match present(&r.state_key) {
                Some(key) => format!("state '{key}' is not in conferences_events.states"),
                None => "state organisation missing (the company of this type is the state's name)".into(),
            },
            Some(CompanySource::Clean) => match present(&r.organization) {
                Some(org) => format!("organisation '{org}' has no clean name yet"),
                None => "organisation missing".into(),
            },
            _ => "organisation missing".into(),
        });
    }
    if r.company_source == Some(CompanySource::Clean) && r.organization_reviewed != Some(true) {
        return Some(format!("organisation '{}' is not reviewed", r.organization.as_deref().unwrap_or("")));
    }
    None
}

/// The parameters of `attendee/add` for an eligible registration (empty values left out; the
/// password, if any, is added by the caller and never stored).
pub fn attendee(r: &Registration, cfg: &EventConfig) -> Fields {
    let mut f = Fields::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
            f.insert(k.to_owned(), v.to_owned());
        }
    };
    put("first", r.first_name.as_deref());
    put("last", r.last_name.as_deref());
    put("company", r.company.as_deref());
    put("title", r.title.as_deref());
    put("email", r.email.as_deref());
    put("username", r.email.as_deref());
    put("telephone", r.phone.as_deref());
    put("attendee_role_id", r.attendee_role.as_deref());
    put("grp_name", r.group_name.as_deref());
    put("receive_request", Some(r.receive_request.as_str()));
    put("crm_id", Some(r.registration_id.as_str()));
    if r.is_contact {
        put("is_contact", Some("Y"));
    }
    let meetings = r.meetings.map(|m| m.to_string());
    let (industries, other_industries) = if cfg.industries_list {
        split_other(r.industries.as_deref(), r.other_industries.as_deref())
    } else {
        (r.industries.clone(), r.other_industries.clone())
    };
    let wanted = |p: &Purpose| {
        r.custom_purposes.as_ref().is_none_or(|names| names.iter().any(|n| Purpose::parse(n) == Some(*p)))
    };
    for (purpose, id) in cfg.custom_fields.iter().filter(|(p, _)| wanted(p)) {
        let value = match purpose {
            Purpose::Profile => r.profile.as_deref(),
            Purpose::Headshot => r.headshot.as_deref(),
            Purpose::Industries => industries.as_deref(),
            Purpose::OtherIndustries => other_industries.as_deref(),
            Purpose::Meetings => meetings.as_deref(),
            Purpose::Locale => r.locale.as_deref(),
            Purpose::RegistrationStatus => r.registration_status.as_deref(),
            Purpose::RegistrationType => r.registration_type.as_deref(),
        };
        let capped = match (value, r.list_caps.get(purpose.name())) {
            (Some(v), Some(cap)) => Some(v.split('|').take(*cap).collect::<Vec<_>>().join("|")),
            (v, _) => v.map(str::to_owned),
        };
        put(&format!("custom_{id}"), capped.as_deref());
    }
    f
}

/// The 2022+ scripts' industries: the `OTHER: …` entries of the `|`-joined labels leave the list;
/// their text becomes the other-industries value when the registration has none of its own.
pub fn split_other(industries: Option<&str>, other: Option<&str>) -> (Option<String>, Option<String>) {
    let mut labels = Vec::new();
    let mut others = Vec::new();
    for label in industries.unwrap_or("").split('|').map(str::trim).filter(|l| !l.is_empty()) {
        match label.get(..6) {
            Some(head) if head.eq_ignore_ascii_case("other:") => {
                let text = label[6..].trim();
                if !text.is_empty() {
                    others.push(text.to_owned());
                }
            }
            _ => labels.push(label.to_owned()),
        }
    }
    let industries = (!labels.is_empty()).then(|| labels.join("|"));
    let other = match other.map(str::trim).filter(|o| !o.is_empty()) {
        Some(own) => Some(own.to_owned()),
        None => (!others.is_empty()).then(|| others.join("; ")),
    };
    (industries, other)
}

/// `attendee/add` parameters from the wanted fields: with `list_field` (the industries field of an
/// event that sends them as a list), that field's `|`-joined labels become one repeated
/// parameter each.
pub fn add_params(wanted: &Fields, list_field: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(wanted.len());
    for (k, v) in wanted {
        if Some(k.as_str()) == list_field {
            out.extend(v.split('|').map(|label| (k.clone(), label.to_owned())));
        } else {
            out.push((k.clone(), v.clone()));
        }
    }
    out
}

/// The parameters of `attendee/add` for a company entity.
pub fn company(name: &str, cfg: &EventConfig) -> Vec<(String, String)> {
    [
        ("is_entity", "Y"),
        ("attendee_type", "E"),
        ("virtual", "Y"),
        ("attendee_role_id", cfg.company_role.as_str()),
        ("company", name),
        ("first", cfg.company_first.as_str()),
        ("last", cfg.company_last.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `attendee/edit` calls (field name, new value) turning `sent` into `wanted`, one per changed
/// field; a field no longer wanted is cleared with an empty value.
pub fn edits(wanted: &Fields, sent: &Fields) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in wanted {
        if !NOT_EDITED.contains(&k.as_str()) && sent.get(k) != Some(v) {
            out.push((k.clone(), v.clone()));
        }
    }
    for k in sent.keys() {
        if !NOT_EDITED.contains(&k.as_str()) && !wanted.contains_key(k) {
            out.push((k.clone(), String::new()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> EventConfig {
        EventConfig {
            form_id: "f".into(),
            account: "a".into(),
            event_id: "90199".into(),
            company_role: "NASPO2_SUPPLIER_CO".into(),
            company_first: "Management".into(),
            company_last: "Team".into(),
            custom_fields: [(Purpose::Industries, "9069".into()), (Purpose::Meetings, "7664".into())].into(),
            password_secret_id: None,
            no_password: true,
            industries_list: false,
        }
    }

    fn supplier() -> Registration {
        Registration {
            registration_id: "1500000001".into(),
            rule_matched: true,
            rule_send: true,
            attendee_role: Some("NASPO2_SUPPLIER_ATT".into()),
            company_source: Some(CompanySource::Clean),
            company_entity: true,
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            company: Some("Acme".into()),
            organization: Some("Acme Inc".into()),
            organization_reviewed: Some(true),
            email: Some("jane@example.org".into()),
            receive_request: "Y".into(),
            industries: Some("Information Technology|Facilities".into()),
            meetings: Some(4),
            title: Some("  ".into()),
            ..Registration::default()
        }
    }

    #[test]
    fn attendee_parameters_follow_the_configuration() {
        let f = attendee(&supplier(), &cfg());
        assert_eq!(f["crm_id"], "1500000001");
        assert_eq!(f["username"], "jane@example.org");
        assert_eq!(f["custom_9069"], "Information Technology|Facilities");
        assert_eq!(f["custom_7664"], "4");
        assert!(!f.contains_key("title"), "blank values are left out");
        assert!(!f.contains_key("grp_name"));
        assert!(!f.contains_key("password"));
    }

    #[test]
    fn company_entities_use_the_placeholder_person() {
        let c: Fields = company("Acme", &cfg()).into_iter().collect();
        assert_eq!((c["is_entity"].as_str(), c["attendee_type"].as_str()), ("Y", "E"));
        assert_eq!((c["first"].as_str(), c["last"].as_str()), ("Management", "Team"));
        assert_eq!(c["attendee_role_id"], "NASPO2_SUPPLIER_CO");
    }

    #[test]
    fn reasons_name_what_is_missing() {
        assert_eq!(ineligible(&supplier()), None);
        let mut r = supplier();
        r.organization_reviewed = Some(false);
        assert_eq!(ineligible(&r).unwrap(), "organisation 'Acme Inc' is not reviewed");
        let mut r = supplier();
        (r.company, r.company_source, r.state_key) = (None, Some(CompanySource::State), Some("TX".into()));
        assert_eq!(ineligible(&r).unwrap(), "state 'TX' is not in conferences_events.states");
        let mut r = supplier();
        r.rule_matched = false;
        r.registration_type = Some("Exhibitor".into());
        assert!(ineligible(&r).unwrap().contains("'Exhibitor'"));
        let mut r = supplier();
        r.email = Some(" ".into());
        assert_eq!(ineligible(&r).unwrap(), "e-mail missing");
    }

    #[test]
    fn edits_send_each_changed_field_once_and_nothing_when_unchanged() {
        let sent = attendee(&supplier(), &cfg());
        assert!(edits(&sent, &sent).is_empty());
        let mut r = supplier();
        r.industries = Some("Facilities".into());
        r.email = Some("jane.doe@example.org".into());
        r.meetings = None;
        let wanted = attendee(&r, &cfg());
        assert_eq!(
            edits(&wanted, &sent),
            vec![
                ("custom_9069".to_string(), "Facilities".to_string()),
                ("email".to_string(), "jane.doe@example.org".to_string()),
                ("custom_7664".to_string(), String::new()),
            ],
            "username and crm_id are never edited"
        );
    }

    #[test]
    fn industries_as_a_list_move_other_entries_to_their_own_field() {
        assert_eq!(
            split_other(Some("Information Technology|OTHER: Drones|Facilities"), None),
            (Some("Information Technology|Facilities".into()), Some("Drones".into()))
        );
        assert_eq!(
            split_other(Some("other: Drones|Other:  "), Some("Typed by hand")),
            (None, Some("Typed by hand".into())),
            "the registration's own text wins; an empty OTHER: is dropped"
        );
        let mut wanted = Fields::new();
        wanted.insert("custom_9069".into(), "A|B".into());
        wanted.insert("first".into(), "Jo".into());
        let params = add_params(&wanted, Some("custom_9069"));
        assert_eq!(
            params,
            vec![("custom_9069".into(), "A".into()), ("custom_9069".into(), "B".into()), ("first".into(), "Jo".into())]
        );
        assert_eq!(add_params(&wanted, None).len(), 2);
    }

    #[test]
    fn a_rule_caps_a_list_value() {
        let cfg =
            EventConfig { custom_fields: [(Purpose::Industries, "9069".to_owned())].into_iter().collect(), ..cfg() };
        let r = Registration {
            industries: Some("A|B|C|D|E|F|G".into()),
            list_caps: [("industries".to_owned(), 5)].into_iter().collect(),
            ..supplier()
        };
        assert_eq!(attendee(&r, &cfg).get("custom_9069").map(String::as_str), Some("A|B|C|D|E"));
        let uncapped = Registration { list_caps: BTreeMap::new(), ..r };
        assert_eq!(attendee(&uncapped, &cfg).get("custom_9069").map(String::as_str), Some("A|B|C|D|E|F|G"));
    }

    /// The request shapes of the original scripts (`tests/fixtures/vendors/meetmax/`): a
    /// company entity carries the same parameters, and industries go as the script's form.
    #[test]
    fn requests_carry_the_scripts_parameters() {
        let keys = |q: &str| -> std::collections::BTreeSet<String> {
            form_urlencoded::parse(q.trim().as_bytes()).map(|(k, _)| k.into_owned()).collect()
        };
        let script = keys(include_str!(
            "../../../tests/fixtures/vendors/meetmax/attendee-add.company.request.from-evidence.query"
        ));
        let ours: std::collections::BTreeSet<String> =
            company("Test Company, Inc.", &cfg()).into_iter().map(|(k, _)| k).collect();
        let transport: std::collections::BTreeSet<String> =
            ["event_id", "data_type"].iter().map(|s| s.to_string()).collect();
        assert_eq!(ours, &script - &transport, "a company entity: the scripts' parameters, no more, no less");
        let list = include_str!(
            "../../../tests/fixtures/vendors/meetmax/industries.repeated-keys-2022plus.from-evidence.query"
        );
        let repeated = form_urlencoded::parse(list.trim().as_bytes()).filter(|(k, _)| k == "custom_21814").count();
        assert_eq!(repeated, 2, "2022+ scripts repeat the key per label");
        for file in [
            include_str!("../../../tests/fixtures/vendors/meetmax/industries.pipe-2021.from-evidence.query"),
            include_str!(
                "../../../tests/fixtures/vendors/meetmax/attendee-edit.industries-pipe.request.from-evidence.query"
            ),
        ] {
            assert!(form_urlencoded::parse(file.trim().as_bytes()).any(|(_, v)| v.contains('|')), "{file}");
        }
        let listing =
            include_str!("../../../tests/fixtures/vendors/meetmax/attendee-list.companies.request.from-evidence.query");
        assert!(listing.contains("search_fld=attendee_role_id"), "the one evidenced lookup");
    }
}
