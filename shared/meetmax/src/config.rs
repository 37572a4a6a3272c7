//! The MeetMax configuration in the warehouse: accounts (`integration.meetmax_account`), events
//! (`integration.meetmax_event`); the role rules are applied by the `integration.meetmax_registration` view.

use std::collections::BTreeMap;

use platform_warehouse::tokio_postgres::GenericClient;

use crate::SyncError;

/// What a custom field carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    /// Biography (`profile`).
    Profile,
    /// Headshot URL.
    Headshot,
    /// `|`-joined industry labels.
    Industries,
    /// Other industries.
    OtherIndustries,
    /// Number of meetings.
    Meetings,
    /// Time zone label.
    Locale,
    /// Registration status.
    RegistrationStatus,
    /// Registration type.
    RegistrationType,
}

impl Purpose {
    const ALL: [Purpose; 8] = [
        Purpose::Profile,
        Purpose::Headshot,
        Purpose::Industries,
        Purpose::OtherIndustries,
        Purpose::Meetings,
        Purpose::Locale,
        Purpose::RegistrationStatus,
        Purpose::RegistrationType,
    ];

    /// The purpose's name in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Profile => "profile",
            Purpose::Headshot => "headshot",
            Purpose::Industries => "industries",
            Purpose::OtherIndustries => "other_industries",
            Purpose::Meetings => "meetings",
            Purpose::Locale => "locale",
            Purpose::RegistrationStatus => "registration_status",
            Purpose::RegistrationType => "registration_type",
        }
    }

    /// The purpose named in `custom_fields`.
    pub fn parse(name: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// A MeetMax account.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Name (referenced by events).
    pub name: String,
    /// `production`, `staging` or `sandbox`.
    pub environment: String,
    /// API host, e.g. `https://meetmax.com`.
    pub base_url: String,
    /// Secrets Manager id of the consumer key and secret.
    pub secret_id: String,
    /// Requests per second for the whole account: the fixed rate, or where adaptive pacing
    /// starts when it has learned nothing yet.
    pub rate_per_second: f64,
    /// The rate adapts to MeetMax's answers (raised while calls succeed, cut on a 429).
    pub adaptive_rate: bool,
    /// The adaptive rate's upper bound (`None`: 5 × `rate_per_second`).
    pub max_rate_per_second: Option<f64>,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// A list of this many results (or more) may be truncated: absent records are looked up
    /// one by one before they are added.
    pub list_limit: usize,
}

/// One MeetMax event fed by one form.
#[derive(Debug, Clone, PartialEq)]
pub struct EventConfig {
    /// The registration form.
    pub form_id: String,
    /// The account's name.
    pub account: String,
    /// MeetMax event id.
    pub event_id: String,
    /// Role of company entities.
    pub company_role: String,
    /// Placeholder first name of company entities.
    pub company_first: String,
    /// Placeholder last name of company entities.
    pub company_last: String,
    /// Custom field ids by purpose.
    pub custom_fields: BTreeMap<Purpose, String>,
    /// Secret holding the attendee password, when the event wants one.
    pub password_secret_id: Option<String>,
    /// Attendees are created without a password, by choice (an event with neither this nor a
    /// password secret is refused).
    pub no_password: bool,
    /// Industries go as one repeated parameter per label, an `OTHER: …` entry moved to the
    /// other-industries field (`industries_format = 'list'`); else one `|`-joined value.
    pub industries_list: bool,
}

/// Every enabled event and the accounts they use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// Accounts by name.
    pub accounts: BTreeMap<String, Account>,
    /// Enabled events by form id.
    pub events: BTreeMap<String, EventConfig>,
}

/// Reads the configuration; a wrong custom-field entry is an error naming the event.
pub async fn load(db: &impl GenericClient) -> Result<Config, SyncError> {
    let mut config = Config::default();
    for r in db
        .query(
            "SELECT name, environment, base_url, secret_id, rate_per_second, concurrency, list_limit,
                    adaptive_rate, max_rate_per_second
               FROM integration.meetmax_account",
            &[],
        )
        .await?
    {
        let a = Account {
            name: r.get(0),
            environment: r.get(1),
            base_url: r.get(2),
            secret_id: r.get(3),
            rate_per_second: r.get(4),
            concurrency: r.get::<_, i32>(5).max(1) as usize,
            list_limit: r.get::<_, i32>(6).max(1) as usize,
            adaptive_rate: r.get(7),
            max_rate_per_second: r.get(8),
        };
        config.accounts.insert(a.name.clone(), a);
    }
    for r in db
        .query(
            "SELECT form_id, account, event_id, company_role, company_first, company_last, custom_fields,
                    password_secret_id, no_password, industries_format
               FROM integration.meetmax_event WHERE enabled",
            &[],
        )
        .await?
    {
        let form_id: String = r.get(0);
        let raw: serde_json::Value = r.get(6);
        let custom_fields = parse_custom_fields(&raw).map_err(|e| SyncError::Config(format!("form {form_id}: {e}")))?;
        let event = EventConfig {
            form_id: form_id.clone(),
            account: r.get(1),
            event_id: r.get(2),
            company_role: r.get(3),
            company_first: r.get(4),
            company_last: r.get(5),
            custom_fields,
            password_secret_id: r.get(7),
            no_password: r.get(8),
            industries_list: r.get::<_, &str>(9) == "list",
        };
        config.events.insert(form_id, event);
    }
    for r in db
        .query(
            "SELECT r.form_id, r.registration_type, r.custom_fields
               FROM integration.meetmax_role_rule r
               JOIN integration.meetmax_event e ON e.form_id = r.form_id AND e.enabled
              WHERE r.custom_fields IS NOT NULL",
            &[],
        )
        .await?
    {
        let (form_id, kind, names): (String, String, Vec<String>) = (r.get(0), r.get(1), r.get(2));
        if let Some(bad) = names.iter().find(|n| Purpose::parse(n).is_none()) {
            return Err(SyncError::Config(format!(
                "form {form_id}, role rule '{kind}': unknown custom field purpose '{bad}' in custom_fields"
            )));
        }
    }
    for r in db
        .query(
            "SELECT r.form_id, r.registration_type, r.condition_column, r.list_caps,
                    r.condition_column IS NULL OR EXISTS (
                        SELECT 1 FROM information_schema.columns c
                         WHERE c.table_schema = 'conferences_events' AND c.table_name = 'exchange_registration'
                           AND c.column_name = r.condition_column)
               FROM integration.meetmax_role_rule r
               JOIN integration.meetmax_event e ON e.form_id = r.form_id AND e.enabled",
            &[],
        )
        .await?
    {
        let (form_id, kind): (String, String) = (r.get(0), r.get(1));
        if !r.get::<_, bool>(4) {
            let column: String = r.get(2);
            return Err(SyncError::Config(format!(
                "form {form_id}, role rule '{kind}': condition_column '{column}' is not a column of exchange_registration"
            )));
        }
        parse_list_caps(&r.get(3))
            .map_err(|e| SyncError::Config(format!("form {form_id}, role rule '{kind}': {e}")))?;
    }
    Ok(config)
}

/// A role rule's `list_caps`: purpose name → the most list items sent (a positive integer).
pub fn parse_list_caps(raw: &serde_json::Value) -> Result<BTreeMap<String, usize>, String> {
    let obj = raw.as_object().ok_or("list_caps must be a JSON object of purpose → number of items")?;
    let mut out = BTreeMap::new();
    for (name, cap) in obj {
        Purpose::parse(name).ok_or_else(|| format!("unknown custom field purpose '{name}' in list_caps"))?;
        let cap = cap
            .as_u64()
            .filter(|c| *c > 0)
            .ok_or_else(|| format!("list_caps of '{name}' must be a positive number"))?;
        out.insert(name.clone(), cap as usize);
    }
    Ok(out)
}

/// `{"industries": 9069, "profile": "12766"}` → purpose → id (digits only).
pub fn parse_custom_fields(raw: &serde_json::Value) -> Result<BTreeMap<Purpose, String>, String> {
    let obj = raw.as_object().ok_or("custom_fields must be a JSON object of purpose → field id")?;
    let mut out = BTreeMap::new();
    for (name, id) in obj {
        let purpose = Purpose::parse(name).ok_or_else(|| format!("unknown custom field purpose '{name}'"))?;
        let id = match id {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.trim().to_owned(),
            other => return Err(format!("custom field '{name}' must be a number, not {other}")),
        };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("custom field '{name}' has id '{id}', not a number"));
        }
        out.insert(purpose, id);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_fields_are_validated() {
        let ok = parse_custom_fields(&serde_json::json!({"industries": 21814, "profile": "12766"})).unwrap();
        assert_eq!(ok[&Purpose::Industries], "21814");
        assert_eq!(ok[&Purpose::Profile], "12766");
        assert!(parse_custom_fields(&serde_json::json!({"bio": 1})).unwrap_err().contains("'bio'"));
        assert!(parse_custom_fields(&serde_json::json!({"profile": "x1"})).is_err());
        assert!(parse_custom_fields(&serde_json::json!([1])).is_err());
    }
}
