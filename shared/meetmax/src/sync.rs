//! One run over one event: classify the released registrations, make sure every company entity
//! they need exists (the event's companies listed once), add the attendees, then send the edits.
//! Every write to MeetMax is claimed (lease + intent) before the call and recorded after it.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::atomic::{AtomicBool, Ordering},
};

use futures_util::{StreamExt, TryStreamExt, stream};
use platform_vendors::meetmax::{ErrorClass, MeetmaxClient, MeetmaxError};
use uuid::Uuid;

use crate::{
    MeetmaxSync, Outcome, SyncError,
    config::EventConfig,
    fields::{self, Fields},
    store::{self, Candidate, Claim, Failure},
};

/// What to do with one registration.
enum Plan {
    Add(Candidate, Fields),
    Edit(Candidate, String, Fields, Vec<(String, String)>),
}

/// The shared context of one event's run.
pub(crate) struct EventRun<'a> {
    pub sync: &'a MeetmaxSync,
    pub client: MeetmaxClient,
    pub cfg: &'a EventConfig,
    pub owner: Uuid,
    pub concurrency: usize,
    pub password: Option<String>,
    pub auth_failed: AtomicBool,
}

fn failure(e: &MeetmaxError) -> Failure {
    Failure {
        class: match e.class {
            ErrorClass::Transient => "transient",
            ErrorClass::Permanent => "permanent",
            ErrorClass::Auth => "auth",
        },
        message: e.to_string(),
        uncertain: e.uncertain,
    }
}

fn outcome_of(f: &Failure) -> Outcome {
    Outcome::Failed { class: f.class.to_owned(), message: f.message.clone() }
}

impl EventRun<'_> {
    /// Injected crash after a MeetMax call, before its result is written (tests).
    fn crash_point(&self, call: &str, key: &str) -> Result<(), SyncError> {
        match &self.sync.hooks.crash_after_call {
            Some(hook) if hook(call, key) => Err(SyncError::Injected(format!("{call} {key}"))),
            _ => Ok(()),
        }
    }

    /// Makes one MeetMax call, unless the credentials were refused earlier in this run (then no
    /// call is made); a refusal here stops the calls that follow.
    async fn call<T>(
        &self,
        call: &'static str,
        request: impl Future<Output = Result<T, MeetmaxError>>,
    ) -> Result<T, MeetmaxError> {
        if self.auth_failed.load(Ordering::Relaxed) {
            return Err(MeetmaxError {
                call,
                class: ErrorClass::Auth,
                message: "not called: MeetMax refused the credentials earlier in this run".into(),
                uncertain: false,
                status: None,
                retry_after: None,
            });
        }
        request.await.inspect_err(|e| {
            if e.class == ErrorClass::Auth {
                self.auth_failed.store(true, Ordering::Relaxed);
            }
        })
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
            if let Some(reason) = fields::ineligible(&c.reg) {
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
            let conn = self.sync.warehouse.conn().await?;
            store::record_ineligible(&**conn, event_id, &ineligible).await?;
            store::record_baseline(&**conn, event_id, &baseline).await?;
        }

        // Companies first: every entity a planned add or company change needs.
        let needed: BTreeSet<String> = plans
            .iter()
            .filter_map(|p| match p {
                Plan::Add(c, w) if c.reg.company_entity => w.get("company").cloned(),
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
    /// company list (fetched once, only when something is missing), or added now.
    async fn companies(&self, needed: BTreeSet<String>) -> Result<HashMap<String, Result<String, Failure>>, SyncError> {
        let event_id = self.cfg.event_id.as_str();
        let names: Vec<String> = needed.into_iter().collect();
        let known = {
            let conn = self.sync.warehouse.conn().await?;
            store::known_companies(&**conn, event_id, &names).await?
        };
        let mut out: HashMap<String, Result<String, Failure>> =
            known.iter().map(|(k, v)| (k.clone(), Ok(v.clone()))).collect();
        let missing: Vec<String> = names.into_iter().filter(|n| !known.contains_key(n)).collect();
        if missing.is_empty() {
            return Ok(out);
        }
        let listed: HashMap<String, String> = match self.list_companies().await {
            Ok(l) => l,
            Err(e) => {
                let f = failure(&e);
                for name in missing {
                    out.insert(name, Err(f.clone()));
                }
                return Ok(out);
            }
        };
        let results: Vec<(String, Result<String, Failure>)> = stream::iter(missing)
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

    async fn list_companies(&self) -> Result<HashMap<String, String>, MeetmaxError> {
        let listed = self
            .call(
                "attendee/list",
                self.client.list_attendees(&self.cfg.event_id, "attendee_role_id", &self.cfg.company_role),
            )
            .await?;
        let mut map = HashMap::new();
        for r in listed {
            if let (Some(id), Some(company)) = (r.id.clone(), r.text("company")) {
                map.entry(company).or_insert(id);
            }
        }
        Ok(map)
    }

    async fn ensure_company(
        &self,
        name: &str,
        listed: &HashMap<String, String>,
    ) -> Result<Result<String, Failure>, SyncError> {
        let event_id = self.cfg.event_id.as_str();
        let conn = self.sync.warehouse.conn().await?;
        match store::claim_company(&**conn, event_id, name, self.owner, self.sync.settings.lease).await? {
            Claim::Done(id) => return Ok(Ok(id)),
            Claim::Busy => {
                return Ok(Err(Failure {
                    class: "transient",
                    message: format!("company '{name}' is being added by another run"),
                    uncertain: false,
                }));
            }
            Claim::Claimed { .. } => {}
        }
        // The list was read in this run, after any earlier attempt: it tells whether that one landed.
        if let Some(id) = listed.get(name) {
            store::record_company(&**conn, event_id, name, id, true).await?;
            return Ok(Ok(id.clone()));
        }
        let params = fields::company(name, self.cfg);
        let result = self.call("attendee/add", self.client.add_attendee(event_id, &params)).await;
        self.crash_point("company/add", name)?;
        match result {
            Ok(id) => {
                store::record_company(&**conn, event_id, name, &id, false).await?;
                Ok(Ok(id))
            }
            Err(e) => {
                let f = failure(&e);
                store::record_company_failed(&**conn, event_id, name, &f).await?;
                Ok(Err(f))
            }
        }
    }

    async fn add(
        &self,
        plan: Plan,
        companies: &HashMap<String, Result<String, Failure>>,
    ) -> Result<(String, Outcome), SyncError> {
        let Plan::Add(c, wanted) = plan else { unreachable!("adds only") };
        let id = c.reg.registration_id.clone();
        let event_id = self.cfg.event_id.as_str();
        let conn = self.sync.warehouse.conn().await?;
        if c.reg.company_entity {
            let company = wanted.get("company").cloned().unwrap_or_default();
            if let Some(Err(f)) = companies.get(&company) {
                let f = Failure {
                    class: f.class,
                    message: format!("company '{company}' is not in MeetMax: {}", f.message),
                    uncertain: false,
                };
                store::record_failed(&**conn, &id, event_id, &f, &wanted, self.owner).await?;
                return Ok((id, outcome_of(&f)));
            }
        }
        let had_intent =
            match store::claim_registration(&**conn, &id, event_id, self.owner, self.sync.settings.lease).await? {
                Claim::Done(mm) => return Ok((id, Outcome::Unchanged(mm))),
                Claim::Busy => return Ok((id, Outcome::Busy)),
                Claim::Claimed { had_intent } => had_intent,
            };
        if had_intent {
            match self.lookup(&c).await {
                Ok(Some(mm)) => {
                    store::record_added(&**conn, &id, &mm, &wanted, true).await?;
                    return Ok((id, Outcome::Adopted(mm)));
                }
                Ok(None) => {}
                Err(e) => {
                    // Not knowing whether the record exists, adding could duplicate it: wait.
                    let f = Failure { uncertain: true, ..failure(&e) };
                    store::record_failed(&**conn, &id, event_id, &f, &wanted, self.owner).await?;
                    return Ok((id, outcome_of(&f)));
                }
            }
        }
        let mut params: Vec<(String, String)> = wanted.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Some(pw) = &self.password {
            params.push(("password".into(), pw.clone()));
        }
        let result = self.call("attendee/add", self.client.add_attendee(event_id, &params)).await;
        self.crash_point("attendee/add", &id)?;
        match result {
            Ok(mm) => {
                store::record_added(&**conn, &id, &mm, &wanted, false).await?;
                Ok((id, Outcome::Added(mm)))
            }
            Err(e) => {
                let f = failure(&e);
                store::record_failed(&**conn, &id, event_id, &f, &wanted, self.owner).await?;
                Ok((id, outcome_of(&f)))
            }
        }
    }

    /// Looks for a record an earlier attempt may have created: by `crm_id`, then by e-mail
    /// (a person record whose `crm_id` is empty or ours).
    async fn lookup(&self, c: &Candidate) -> Result<Option<String>, MeetmaxError> {
        let event_id = self.cfg.event_id.as_str();
        let id = c.reg.registration_id.as_str();
        match self.call("attendee/list", self.client.list_attendees(event_id, "crm_id", id)).await {
            Ok(found) => {
                if let Some(mm) = found.into_iter().find(|r| r.text("crm_id").as_deref() == Some(id)).and_then(|r| r.id)
                {
                    return Ok(Some(mm));
                }
            }
            // MeetMax may not search by crm_id: fall back to the e-mail.
            Err(e) if e.class == ErrorClass::Permanent => {}
            Err(e) => return Err(e),
        }
        let Some(email) = c.reg.email.as_deref() else { return Ok(None) };
        let found = self.call("attendee/list", self.client.list_attendees(event_id, "email", email)).await?;
        Ok(found
            .into_iter()
            .filter(|r| r.text("is_entity").is_none_or(|v| !v.eq_ignore_ascii_case("y")))
            .find(|r| r.text("crm_id").is_none_or(|v| v.is_empty() || v == id))
            .and_then(|r| r.id))
    }

    async fn edit(
        &self,
        plan: Plan,
        companies: &HashMap<String, Result<String, Failure>>,
    ) -> Result<(String, Outcome), SyncError> {
        let Plan::Edit(c, mm, wanted, diff) = plan else { unreachable!("edits only") };
        let id = c.reg.registration_id.clone();
        let event_id = self.cfg.event_id.as_str();
        let conn = self.sync.warehouse.conn().await?;
        if c.reg.company_entity
            && diff.iter().any(|(k, _)| k == "company")
            && let Some(Err(f)) = wanted.get("company").and_then(|name| companies.get(name))
        {
            let f = Failure {
                class: f.class,
                message: format!("new company is not in MeetMax: {}", f.message),
                uncertain: false,
            };
            store::record_edit_failed(&**conn, &id, &f, &wanted).await?;
            return Ok((id, outcome_of(&f)));
        }
        let mut sent = 0;
        for (field, value) in &diff {
            let result = self.call("attendee/edit", self.client.edit_attendee(event_id, &mm, field, value)).await;
            self.crash_point("attendee/edit", &id)?;
            if let Err(e) = result {
                let f = failure(&e);
                store::record_edit_failed(&**conn, &id, &f, &wanted).await?;
                return Ok((id, outcome_of(&f)));
            }
            store::record_edit(&**conn, &id, field, value).await?;
            sent += 1;
        }
        if c.sync.as_ref().is_some_and(|s| s.error_class.is_some()) {
            store::clear_edit_failure(&**conn, &id).await?;
        }
        Ok((id, Outcome::Edited { meetmax_id: mm, fields: sent }))
    }
}

/// A permanent failure waits until the registration changes or an operator clears its status.
fn held(c: &Candidate, wanted: &Fields) -> bool {
    c.sync.as_ref().is_some_and(|s| {
        s.error_class.as_deref() == Some("permanent")
            && s.failed_fields.as_ref() == Some(wanted)
            && c.meetmax_status.is_some()
    })
}
