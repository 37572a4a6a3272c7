//! One run over one event: classify the released registrations, make sure every company entity
//! they need exists (the event's companies listed once), add the attendees, then send the edits.
//! Every write to MeetMax is claimed (lease + intent) before the call and recorded after it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures_util::{StreamExt, TryStreamExt, stream};
use platform_runtime::Deadline;
use platform_vendors::meetmax::{ErrorClass, ListedRecord, MeetmaxClient, MeetmaxError};
use platform_warehouse::Connection;
use uuid::Uuid;

use crate::{
    MeetmaxSync, Outcome, SyncError, companies,
    config::EventConfig,
    fields::{self, Fields},
    store::{self, Candidate, Claim, Failure},
};

/// Whether a company the adds need is in MeetMax.
#[derive(Debug, Clone)]
enum Company {
    /// In MeetMax (its id is in `integration.meetmax_company`).
    Ready,
    /// Not in MeetMax: why.
    Failed(Failure),
    /// Not tried: the invocation's time ran out.
    Deferred,
}

/// What to do with one registration.
enum Plan {
    Add(Candidate, Fields),
    Edit(Candidate, String, Fields, Vec<(String, String)>),
}

/// The shared context of one event's run.
pub(crate) struct EventRun<'a> {
    pub sync: &'a MeetmaxSync,
    /// The account's client with this run's authentication latch.
    pub client: MeetmaxClient,
    pub cfg: &'a EventConfig,
    pub owner: Uuid,
    pub concurrency: usize,
    /// A list this long may be truncated (MeetMax lists have no paging).
    pub list_limit: usize,
    pub password: Option<String>,
    /// Why no attendee may be added in this event (its password choice is not configured).
    pub refuse_adds: Option<String>,
    /// When the invocation must stop starting work.
    pub deadline: Deadline,
}

/// Why a registration was left for the next run when the invocation's time ran out.
const DEFERRED: &str = "stopped before the invocation deadline; continued by the next run";

/// A record MeetMax lists without an `id` or `investor_id`: it exists, so it must not be added
/// again, and which record it is cannot be told. The list items' id key is unevidenced
/// (`shared/vendors/docs/meetmax.md`): an uncertain failure an operator sees, never "absent".
fn no_id(call: &'static str, what: &str) -> MeetmaxError {
    MeetmaxError {
        call,
        class: ErrorClass::Transient,
        message: format!(
            "MeetMax lists {what} without an id or investor_id: it is not added again, and its id cannot be read \
             (check the event in MeetMax, then record the id or clear the intent)"
        ),
        uncertain: true,
        status: None,
        retry_after: None,
    }
}

fn failure(e: &MeetmaxError) -> Failure {
    Failure { class: e.class, message: e.to_string(), uncertain: e.uncertain }
}

fn outcome_of(f: &Failure) -> Outcome {
    Outcome::Failed { class: f.class, message: f.message.clone() }
}

impl EventRun<'_> {
    /// Injected crash after a MeetMax call, before its result is written (tests).
    fn crash_point(&self, call: &str, key: &str) -> Result<(), SyncError> {
        match &self.sync.hooks.crash_after_call {
            Some(hook) if hook(call, key) => Err(SyncError::Injected(format!("{call} {key}"))),
            _ => Ok(()),
        }
    }

    /// Makes one MeetMax call, cut off at the invocation's deadline. No call starts once MeetMax
    /// refused the credentials in this run: the client's latch (see
    /// [`MeetmaxClient::with_auth_latch`]) is checked right before sending, after its pacing.
    async fn call<T>(
        &self,
        call: &'static str,
        request: impl Future<Output = Result<T, MeetmaxError>>,
    ) -> Result<T, MeetmaxError> {
        match self.deadline.bound(request).await {
            Some(result) => result,
            // Abandoned in flight: MeetMax may have carried it out, so the intent stays and the
            // next run looks before writing again.
            None => Err(MeetmaxError {
                call,
                class: ErrorClass::Transient,
                message: "cut off at the invocation deadline".into(),
                uncertain: true,
                status: None,
                retry_after: None,
            }),
        }
    }

    /// A warehouse connection for one step: never held across a MeetMax call.
    async fn db(&self) -> Result<Connection, SyncError> {
        Ok(self.sync.warehouse.conn().await?)
    }

    /// Whether one more MeetMax write (with its retries) still fits before the deadline.
    fn time_left(&self) -> bool {
        self.deadline.allows(self.sync.settings.call_step())
    }

    /// Whether every record of a lookup's answer shows `field`: a list whose items leave it out
    /// cannot tell our record from another, so the lookup is an uncertain failure rather than
    /// "absent" (which would add a duplicate) or a match (which could adopt another's record).
    fn shows(&self, found: &[ListedRecord], field: &str) -> Result<(), MeetmaxError> {
        if found.iter().all(|r| r.fields.contains_key(field)) {
            return Ok(());
        }
        Err(MeetmaxError {
            call: "attendee/list",
            class: ErrorClass::Transient,
            message: format!(
                "MeetMax's attendee/list answer does not show '{field}': whether an earlier add landed cannot be told \
                 (check the event in MeetMax, then clear this registration's intent)"
            ),
            uncertain: true,
            status: None,
            retry_after: None,
        })
    }

    /// A lookup that found nothing among `results` records: "absent", or an uncertain failure
    /// when the list may have been truncated (a record found is proof enough; absence is not).
    fn absent(&self, call: &'static str, results: usize) -> Result<Option<String>, MeetmaxError> {
        if results >= self.list_limit {
            return Err(MeetmaxError {
                call,
                class: ErrorClass::Transient,
                message: format!(
                    "the list returned {results} results, the account's list_limit: it may be truncated, so absence proves nothing"
                ),
                uncertain: true,
                status: None,
                retry_after: None,
            });
        }
        Ok(None)
    }

    /// Runs the event: returns an outcome per registration.
    pub async fn run(&self, candidates: Vec<Candidate>) -> Result<BTreeMap<String, Outcome>, SyncError> {
        let event_id = self.cfg.event_id.as_str();
        let mut outcomes = BTreeMap::new();
        let mut ineligible = Vec::new();
        let mut baseline = Vec::new();
        let mut plans = Vec::new();
        for c in candidates {
            let id = c.reg.registration_id.clone();
            if !c.approved_active {
                outcomes.insert(id, Outcome::Skipped("no longer approved and active".into()));
                continue;
            }
            if let Some(reason) =
                c.excluded.as_ref().map(|r| format!("excluded: {r}")).or_else(|| fields::ineligible(&c.reg))
            {
                ineligible.push((id.clone(), reason.clone()));
                outcomes.insert(id, Outcome::Ineligible(reason));
                continue;
            }
            let wanted = fields::attendee(&c.reg, self.cfg);
            let synced_id = c.sync.as_ref().and_then(|s| s.meetmax_id.clone());
            match (synced_id, c.warehouse_meetmax_id.clone()) {
                (Some(mm), _) => {
                    let sync = c.sync.as_ref().expect("synced");
                    let diff = fields::edits(&wanted, &sync.sent_fields);
                    if diff.is_empty() {
                        outcomes.insert(id, Outcome::Unchanged(mm));
                    } else if held(&c, &wanted) {
                        outcomes.insert(id, Outcome::Held(mm));
                    } else {
                        plans.push(Plan::Edit(c, mm, wanted, diff));
                    }
                }
                (None, Some(legacy)) => {
                    baseline.push((id.clone(), legacy.clone(), wanted));
                    outcomes.insert(id, Outcome::Unchanged(legacy));
                }
                (None, None) if held(&c, &wanted) => {
                    outcomes.insert(id, Outcome::Held(String::new()));
                }
                (None, None) => plans.push(Plan::Add(c, wanted)),
            }
        }
        {
            let conn = self.db().await?;
            store::record_ineligible(&**conn, event_id, &ineligible).await?;
            store::record_baseline(&**conn, event_id, &baseline).await?;
        }

        // Companies first: every entity a planned add or company change needs.
        let needed: BTreeSet<String> = plans
            .iter()
            .filter_map(|p| match p {
                Plan::Add(c, w) if c.reg.company_entity && self.refuse_adds.is_none() => w.get("company").cloned(),
                Plan::Edit(c, _, w, diff) if c.reg.company_entity && diff.iter().any(|(k, _)| k == "company") => {
                    w.get("company").cloned()
                }
                _ => None,
            })
            .collect();
        let companies = self.companies(needed).await?;

        // Then attendees, then edits.
        let (adds, edits): (Vec<Plan>, Vec<Plan>) = plans.into_iter().partition(|p| matches!(p, Plan::Add(..)));
        let results: Vec<(String, Outcome)> = stream::iter(adds)
            .map(|p| self.add(p, &companies))
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        outcomes.extend(results);
        let results: Vec<(String, Outcome)> = stream::iter(edits)
            .map(|p| self.edit(p, &companies))
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        outcomes.extend(results);
        Ok(outcomes)
    }

    /// Makes sure each company exists as an entity: known to the warehouse, found in the event's
    /// company list (fetched once, only when something is missing), or added now. A list that
    /// may be truncated proves no absence: each missing company is then looked up by name.
    async fn companies(&self, needed: BTreeSet<String>) -> Result<HashMap<String, Company>, SyncError> {
        let event_id = self.cfg.event_id.as_str();
        let names: Vec<String> = needed.into_iter().collect();
        let known = {
            let conn = self.db().await?;
            companies::known_companies(&**conn, event_id, &names).await?
        };
        let mut out: HashMap<String, Company> = known.keys().map(|k| (k.clone(), Company::Ready)).collect();
        let missing: Vec<String> = names.into_iter().filter(|n| !known.contains_key(n)).collect();
        if missing.is_empty() {
            return Ok(out);
        }
        let listed = match self.list_companies().await {
            Ok(l) => l,
            Err(e) => {
                let f = failure(&e);
                for name in missing {
                    out.insert(name, Company::Failed(f.clone()));
                }
                return Ok(out);
            }
        };
        let results: Vec<(String, Company)> = stream::iter(missing)
            .map(|name| async {
                let r = self.ensure_company(&name, &listed).await?;
                Ok::<_, SyncError>((name, r))
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        out.extend(results);
        Ok(out)
    }

    /// The event's companies by name, and whether the list is complete (shorter than the limit).
    /// The event's companies by name (`None`: listed without an `id` or `investor_id`, so
    /// known to exist but not which record it is), and whether the list is complete.
    async fn list_companies(&self) -> Result<(HashMap<String, Option<String>>, bool), MeetmaxError> {
        let listed = self
            .call(
                "attendee/list",
                self.client.list_attendees(&self.cfg.event_id, "attendee_role_id", &self.cfg.company_role),
            )
            .await?;
        let complete = listed.len() < self.list_limit;
        if !complete {
            tracing::warn!(results = listed.len(), "company list may be truncated; companies are looked up one by one");
        }
        let mut map = HashMap::new();
        for r in listed {
            if let Some(company) = r.text("company") {
                let entry = map.entry(company).or_insert(None);
                if entry.is_none() {
                    *entry = r.id.clone();
                }
            }
        }
        if map.values().any(Option::is_none) {
            tracing::warn!("MeetMax's company list shows companies without an id or investor_id");
        }
        Ok((map, complete))
    }

    /// The company entity named exactly `name`, looked up by itself.
    async fn lookup_company(&self, name: &str) -> Result<Option<String>, MeetmaxError> {
        let found = self.call("attendee/list", self.client.list_attendees(&self.cfg.event_id, "company", name)).await?;
        self.shows(&found, "company")?;
        if found.iter().any(|r| !r.fields.contains_key("is_entity") && !r.fields.contains_key("attendee_role_id")) {
            self.shows(&found, "is_entity")?;
        }
        let results = found.len();
        let hit = found.into_iter().filter(|r| r.text("company").as_deref() == Some(name)).find(|r| {
            r.text("is_entity").is_some_and(|v| v.eq_ignore_ascii_case("y"))
                || r.text("attendee_role_id").as_deref() == Some(self.cfg.company_role.as_str())
        });
        match hit {
            Some(r) => r.id.map(Some).ok_or_else(|| no_id("attendee/list", &format!("company '{name}'"))),
            None => self.absent("attendee/list", results),
        }
    }

    async fn ensure_company(
        &self,
        name: &str,
        (listed, complete): &(HashMap<String, Option<String>>, bool),
    ) -> Result<Company, SyncError> {
        let event_id = self.cfg.event_id.as_str();
        let lease = self.sync.settings.lease;
        if !self.time_left() {
            return Ok(Company::Deferred);
        }
        let had_intent = match companies::claim_company(&**self.db().await?, event_id, name, self.owner, lease).await? {
            Claim::Done(_) => return Ok(Company::Ready),
            Claim::Busy => {
                return Ok(Company::Failed(Failure {
                    class: ErrorClass::Transient,
                    message: format!("company '{name}' is being added by another run"),
                    uncertain: false,
                }));
            }
            Claim::Claimed { had_intent } => had_intent,
        };
        match listed.get(name) {
            Some(Some(id)) => {
                companies::record_company(&**self.db().await?, event_id, name, id, true).await?;
                return Ok(Company::Ready);
            }
            // Listed, but without an id: it exists, and adding it again would duplicate it.
            Some(None) => {
                let f = Failure { uncertain: true, ..failure(&no_id("attendee/list", &format!("company '{name}'"))) };
                companies::record_company_failed(&**self.db().await?, event_id, name, &f).await?;
                return Ok(Company::Failed(f));
            }
            None => {}
        }
        // The list was read before this claim: an earlier attempt with an unknown outcome (or a
        // list that may be truncated) is checked by a lookup of its own, after the claim.
        if had_intent || !complete {
            match self.lookup_company(name).await {
                Ok(Some(id)) => {
                    companies::record_company(&**self.db().await?, event_id, name, &id, true).await?;
                    return Ok(Company::Ready);
                }
                Ok(None) => {}
                Err(e) => {
                    let f = Failure { uncertain: true, ..failure(&e) };
                    companies::record_company_failed(&**self.db().await?, event_id, name, &f).await?;
                    return Ok(Company::Failed(f));
                }
            }
        }
        if !companies::renew_company(&**self.db().await?, event_id, name, self.owner, lease).await? {
            return Ok(Company::Failed(Failure {
                class: ErrorClass::Transient,
                message: format!("company '{name}': the claim passed to another run"),
                uncertain: false,
            }));
        }
        let params = fields::company(name, self.cfg);
        let result = self.call("attendee/add", self.client.add_attendee(event_id, &params)).await;
        self.crash_point("company/add", name)?;
        let conn = self.db().await?;
        match result {
            Ok(id) => {
                companies::record_company(&**conn, event_id, name, &id, false).await?;
                Ok(Company::Ready)
            }
            Err(e) => {
                let f = failure(&e);
                companies::record_company_failed(&**conn, event_id, name, &f).await?;
                Ok(Company::Failed(f))
            }
        }
    }

    async fn add(&self, plan: Plan, companies: &HashMap<String, Company>) -> Result<(String, Outcome), SyncError> {
        let Plan::Add(c, wanted) = plan else { unreachable!("adds only") };
        let id = c.reg.registration_id.clone();
        let event_id = self.cfg.event_id.as_str();
        let lease = self.sync.settings.lease;
        if let Some(reason) = &self.refuse_adds {
            let f = Failure { class: ErrorClass::Transient, message: reason.clone(), uncertain: false };
            store::record_failed(&**self.db().await?, &id, event_id, &f, &wanted, self.owner).await?;
            return Ok((id, outcome_of(&f)));
        }
        if !self.time_left() {
            return Ok((id, Outcome::Deferred(DEFERRED.into())));
        }
        if c.reg.company_entity {
            let company = wanted.get("company").cloned().unwrap_or_default();
            match companies.get(&company) {
                Some(Company::Deferred) => return Ok((id, Outcome::Deferred(DEFERRED.into()))),
                Some(Company::Failed(f)) => {
                    let f = Failure {
                        class: f.class,
                        message: format!("company '{company}' is not in MeetMax: {}", f.message),
                        uncertain: false,
                    };
                    store::record_failed(&**self.db().await?, &id, event_id, &f, &wanted, self.owner).await?;
                    return Ok((id, outcome_of(&f)));
                }
                Some(Company::Ready) | None => {}
            }
        }
        let had_intent = match store::claim_registration(&**self.db().await?, &id, event_id, self.owner, lease).await? {
            Claim::Done(mm) => return Ok((id, Outcome::Unchanged(mm))),
            Claim::Busy => return Ok((id, Outcome::Busy)),
            Claim::Claimed { had_intent } => had_intent,
        };
        if had_intent {
            match self.lookup(&c).await {
                Ok(Some(mm)) => return self.recorded(&id, &mm, &wanted, true).await.map(|o| (id, o)),
                Ok(None) => {}
                Err(e) => {
                    // Not knowing whether the record exists, adding could duplicate it: wait.
                    let f = Failure { uncertain: true, ..failure(&e) };
                    store::record_failed(&**self.db().await?, &id, event_id, &f, &wanted, self.owner).await?;
                    return Ok((id, outcome_of(&f)));
                }
            }
        }
        // The lease is renewed right before the call and outlasts it (see `Settings::lease`):
        // no other run can claim this registration while the add is in flight.
        if !store::renew_lease(&**self.db().await?, &id, self.owner, lease).await? {
            return Ok((id, Outcome::Busy));
        }
        let list_field = self
            .cfg
            .industries_list
            .then(|| self.cfg.custom_fields.get(&crate::config::Purpose::Industries).map(|id| format!("custom_{id}")))
            .flatten();
        let mut params = fields::add_params(&wanted, list_field.as_deref());
        if let Some(pw) = &self.password {
            params.push(("password".into(), pw.clone()));
        }
        let result = self.call("attendee/add", self.client.add_attendee(event_id, &params)).await;
        self.crash_point("attendee/add", &id)?;
        match result {
            Ok(mm) => self.recorded(&id, &mm, &wanted, false).await.map(|o| (id, o)),
            Err(e) => {
                let f = failure(&e);
                store::record_failed(&**self.db().await?, &id, event_id, &f, &wanted, self.owner).await?;
                Ok((id, outcome_of(&f)))
            }
        }
    }

    /// Records a registration's MeetMax id; when a different one was recorded meanwhile (two
    /// records exist in MeetMax), the first stays and the duplicate is reported.
    async fn recorded(&self, id: &str, mm: &str, wanted: &Fields, adopted: bool) -> Result<Outcome, SyncError> {
        let conn = self.db().await?;
        if store::record_added(&**conn, id, mm, wanted, adopted, self.owner).await? {
            return Ok(if adopted { Outcome::Adopted(mm.to_owned()) } else { Outcome::Added(mm.to_owned()) });
        }
        let message = store::record_duplicate(&**conn, id, mm).await?;
        Ok(Outcome::Failed { class: ErrorClass::Permanent, message })
    }

    /// Looks for a record an earlier attempt may have created: by `crm_id`, then by e-mail (a
    /// person record with that very e-mail whose `crm_id` is empty or ours). A list that may be
    /// truncated is an uncertain failure, never "absent".
    async fn lookup(&self, c: &Candidate) -> Result<Option<String>, MeetmaxError> {
        let event_id = self.cfg.event_id.as_str();
        let id = c.reg.registration_id.as_str();
        match self.call("attendee/list", self.client.list_attendees(event_id, "crm_id", id)).await {
            Ok(found) => {
                self.shows(&found, "crm_id")?;
                let results = found.len();
                if let Some(r) = found.into_iter().find(|r| r.text("crm_id").as_deref() == Some(id)) {
                    return r.id.map(Some).ok_or_else(|| no_id("attendee/list", &format!("registration {id}")));
                }
                self.absent("attendee/list", results)?;
            }
            // MeetMax may not search by crm_id: fall back to the e-mail.
            Err(e) if e.class == ErrorClass::Permanent => {}
            Err(e) => return Err(e),
        }
        let Some(email) = c.reg.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) else { return Ok(None) };
        let found = self.call("attendee/list", self.client.list_attendees(event_id, "email", email)).await?;
        self.shows(&found, "email")?;
        let results = found.len();
        let hit = found
            .into_iter()
            .filter(|r| r.text("is_entity").is_none_or(|v| !v.eq_ignore_ascii_case("y")))
            .filter(|r| r.text("email").is_some_and(|e| e.trim().eq_ignore_ascii_case(email)))
            .find(|r| r.text("crm_id").is_none_or(|v| v.is_empty() || v == id));
        match hit {
            Some(r) => r.id.map(Some).ok_or_else(|| no_id("attendee/list", &format!("registration {id}"))),
            None => self.absent("attendee/list", results),
        }
    }

    /// Sends the changed fields of a synced record, one call each, under a lease on the record
    /// (edits of one registration never interleave); the difference is computed again from
    /// what the warehouse says MeetMax holds once the lease is ours.
    async fn edit(&self, plan: Plan, companies: &HashMap<String, Company>) -> Result<(String, Outcome), SyncError> {
        let Plan::Edit(c, mm, wanted, _) = plan else { unreachable!("edits only") };
        let id = c.reg.registration_id.clone();
        let lease = self.sync.settings.lease;
        if !self.time_left() {
            return Ok((id, Outcome::Deferred(DEFERRED.into())));
        }
        let Some(sent) = store::claim_edit(&**self.db().await?, &id, self.owner, lease).await? else {
            return Ok((id, Outcome::Busy));
        };
        let result = self.edit_claimed(&c, &mm, &wanted, &sent, companies).await;
        store::release_lease(&**self.db().await?, &id, self.owner).await?;
        result.map(|outcome| (id, outcome))
    }

    async fn edit_claimed(
        &self,
        c: &Candidate,
        mm: &str,
        wanted: &Fields,
        sent: &Fields,
        companies: &HashMap<String, Company>,
    ) -> Result<Outcome, SyncError> {
        let id = c.reg.registration_id.as_str();
        let event_id = self.cfg.event_id.as_str();
        let diff = fields::edits(wanted, sent);
        if diff.is_empty() {
            return Ok(Outcome::Unchanged(mm.to_owned()));
        }
        let company = wanted.get("company").and_then(|name| companies.get(name));
        if c.reg.company_entity
            && diff.iter().any(|(k, _)| k == "company")
            && matches!(company, Some(Company::Deferred))
        {
            return Ok(Outcome::Deferred(DEFERRED.into()));
        }
        if c.reg.company_entity
            && diff.iter().any(|(k, _)| k == "company")
            && let Some(Company::Failed(f)) = company
        {
            let f = Failure {
                class: f.class,
                message: format!("new company is not in MeetMax: {}", f.message),
                uncertain: false,
            };
            store::record_edit_failed(&**self.db().await?, id, &f, wanted).await?;
            return Ok(outcome_of(&f));
        }
        let mut sent_now = 0;
        for (field, value) in &diff {
            if !self.time_left() {
                return Ok(Outcome::Deferred(DEFERRED.into()));
            }
            if !store::renew_lease(&**self.db().await?, id, self.owner, self.sync.settings.lease).await? {
                return Ok(Outcome::Busy);
            }
            let result = self.call("attendee/edit", self.client.edit_attendee(event_id, mm, field, value)).await;
            self.crash_point("attendee/edit", id)?;
            let conn = self.db().await?;
            if let Err(e) = result {
                let f = failure(&e);
                store::record_edit_failed(&**conn, id, &f, wanted).await?;
                return Ok(outcome_of(&f));
            }
            store::record_edit(&**conn, id, field, value).await?;
            sent_now += 1;
        }
        if c.sync.as_ref().is_some_and(|s| s.has_error) {
            store::clear_edit_failure(&**self.db().await?, id).await?;
        }
        Ok(Outcome::Edited { meetmax_id: mm.to_owned(), fields: sent_now })
    }
}

/// A permanent failure waits until the registration changes or an operator clears its status.
fn held(c: &Candidate, wanted: &Fields) -> bool {
    c.sync.as_ref().is_some_and(|s| {
        s.error_class == Some(ErrorClass::Permanent)
            && s.failed_fields.as_ref() == Some(wanted)
            && c.meetmax_status.is_some()
    })
}
