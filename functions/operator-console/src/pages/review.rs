//! Company review: the unreviewed organisation names with their suggestions, decided in bulk
//! from one form (the suggestion, another candidate, a typed clean name, or a new company under
//! its own name). Decisions go through the same operation as the review workbook
//! ([`platform_dedupe::review::decide`]), and the same pass releases what they settle.

use askama::Template;
use axum::{
    Extension,
    body::Bytes,
    extract::{Query, State},
    response::Response,
};
use platform_dedupe::{review::APPLIED, workbook::Decision};
use platform_warehouse::tokio_postgres::GenericClient;
use serde::Deserialize;

use crate::{
    App, ConsoleError, audit,
    pages::page_number,
    session::{Person, Role},
    web::{Chrome, PAGE_SIZE, done, render},
};

/// A candidate clean name.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The clean name.
    pub clean: String,
    /// Its score, as text.
    pub score: String,
}

/// One unreviewed organisation name.
#[derive(Debug, Clone)]
pub struct Name {
    /// As registrants typed it.
    pub original: String,
    /// The suggestion and the other candidates, best first.
    pub candidates: Vec<Candidate>,
    /// Approved, active registrations it holds back.
    pub waiting: i64,
}

/// A page of the review queue: `PAGE_SIZE + 1` names from `offset`, those holding back the most
/// registrations first; and how many names await review in all.
pub async fn queue(db: &impl GenericClient, offset: i64) -> Result<(Vec<Name>, i64), ConsoleError> {
    // The page is cut on the names and their counts alone (one aggregate of the approved
    // registrations, hash-joined); the suggestions are read for the page's names only.
    let rows = db
        .query(
            "WITH page AS (
                 SELECT o.id, o.original_organization, coalesce(w.n, 0) AS waiting
                   FROM conferences_events.exchange_organizations o
                   LEFT JOIN (SELECT r.organization, count(*) AS n FROM conferences_events.exchange_registration r
                               WHERE r.approval_status = 'Approved' AND r.registration_status = 'Active'
                               GROUP BY r.organization) w ON w.organization = o.original_organization
                  WHERE o.reviewed IS NOT TRUE AND btrim(coalesce(o.original_organization, '')) <> ''
                  ORDER BY waiting DESC, o.original_organization, o.id
                  LIMIT $1 OFFSET $2)
             SELECT p.original_organization, n.suggested_clean, n.suggestion_score, coalesce(n.alternatives, '[]'), p.waiting
               FROM page p
               LEFT JOIN integration.organization_name n ON n.original_organization = p.original_organization
              ORDER BY p.waiting DESC, p.original_organization, p.id",
            &[&(PAGE_SIZE + 1), &offset],
        )
        .await?;
    let total: i64 = db
        .query_one(
            "SELECT count(*) FROM conferences_events.exchange_organizations
              WHERE reviewed IS NOT TRUE AND btrim(coalesce(original_organization, '')) <> ''",
            &[],
        )
        .await?
        .get(0);
    let names = rows
        .iter()
        .map(|r| {
            let mut candidates = Vec::new();
            if let Some(clean) = r.get::<_, Option<String>>(1) {
                let score: Option<f64> = r.get(2);
                candidates.push(Candidate { clean, score: score.map(|s| format!("{s:.2}")).unwrap_or_default() });
            }
            let alternatives: serde_json::Value = r.get(3);
            for a in alternatives.as_array().into_iter().flatten() {
                if let Some(clean) = a["clean"].as_str()
                    && !candidates.iter().any(|c| c.clean == clean)
                {
                    let score = a["score"].as_f64().map(|s| format!("{s:.2}")).unwrap_or_default();
                    candidates.push(Candidate { clean: clean.to_owned(), score });
                }
            }
            Name { original: r.get(0), candidates, waiting: r.get(4) }
        })
        .collect();
    Ok((names, total))
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    chrome: Chrome,
    notice: Option<String>,
    names: Vec<Name>,
    total: i64,
    page: i64,
    more: bool,
    workbook: Option<String>,
}

/// The page's query.
#[derive(Debug, Deserialize)]
pub struct ReviewQuery {
    /// Page (1 and up).
    pub page: Option<i64>,
    /// Notice.
    pub notice: Option<String>,
}

/// How long the link to a review workbook works.
const LINK_VALIDITY: std::time::Duration = std::time::Duration::from_secs(3600);

/// `GET /review?page=`.
pub async fn page(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    Query(q): Query<ReviewQuery>,
) -> Result<Response, ConsoleError> {
    let page = page_number(q.page);
    let conn = app.warehouse.conn().await?;
    let ((mut names, total), workbook) =
        tokio::try_join!(queue(&**conn, (page - 1) * PAGE_SIZE), latest_workbook(&app))?;
    let more = names.len() as i64 > PAGE_SIZE;
    names.truncate(PAGE_SIZE as usize);
    Ok(render(&ReviewPage {
        chrome: Chrome::new("Company review", &person, "review"),
        notice: q.notice,
        names,
        total,
        page,
        more,
        workbook,
    }))
}

/// A link to the newest review workbook, if the bucket holds one.
async fn latest_workbook(app: &App) -> Result<Option<String>, ConsoleError> {
    let Some(bucket) = &app.services.dedupe.review_bucket else { return Ok(None) };
    let Some(key) = platform_aws::s3::newest(&app.services.dedupe.s3, bucket, "review/").await? else {
        return Ok(None);
    };
    Ok(Some(platform_aws::s3::presigned_get(&app.services.dedupe.s3, bucket, &key, LINK_VALIDITY).await?))
}

/// The decisions of a submitted review form: for row `i`, `name.i` is the organisation name,
/// `choice.i` the chosen clean name (`typed` for the text of `typed.i`; empty: decide later). A
/// typed name counts when no choice was made.
pub fn decisions(form: &[u8]) -> Result<Vec<Decision>, ConsoleError> {
    use std::collections::BTreeMap;
    let mut rows: BTreeMap<u32, (String, String, String)> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(form) {
        let Some((field, index)) = k.split_once('.') else { continue };
        let Ok(index) = index.parse::<u32>() else { continue };
        let row = rows.entry(index).or_default();
        // The name is matched as stored (spellings may carry spaces); choices are trimmed.
        let v = platform_domain::storable::text(&v);
        match field {
            "name" => row.0 = v.into_owned(),
            "choice" => row.1 = v.trim().to_owned(),
            "typed" => row.2 = v.trim().to_owned(),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (index, (name, choice, typed)) in rows {
        let clean = match choice.as_str() {
            "typed" | "" => typed,
            _ => choice,
        };
        if name.trim().is_empty() || clean.is_empty() {
            continue;
        }
        if clean.chars().count() > 300 {
            return Err(ConsoleError::BadRequest(format!("the clean name for {name:?} is longer than 300 characters")));
        }
        out.push(Decision { row: index, original: name, decision: clean });
    }
    Ok(out)
}

/// `POST /review`: applies the decisions of the form, audits each, then releases what they settled.
pub async fn decide(
    State(app): State<App>,
    Extension(person): Extension<Person>,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let decisions = decisions(&body)?;
    if decisions.is_empty() {
        return Ok(done("/review", "nothing was decided"));
    }
    let (applied, refused) = apply(app.clone(), person, decisions).await?;
    // The decisions are committed: a failure to release now is said, not taken for "nothing
    // changed" (the next dedupe pass releases them).
    let released = if applied > 0 {
        match app.services.dedupe.release_reviewed().await {
            Ok(n) => n.to_string(),
            Err(e) => {
                tracing::error!(error = %e, "review decisions committed; releasing their registrations failed");
                "none yet (releasing failed; the next dedupe pass releases them)".to_owned()
            }
        }
    } else {
        "0".to_owned()
    };
    let mut notice = format!("{applied} names reviewed, {released} registrations released");
    if !refused.is_empty() {
        notice.push_str(&format!("; not applied: {}", refused.join("; ")));
    }
    Ok(done("/review", &notice))
}

/// Applies `decisions` with one audit row each, in one transaction; returns how many were
/// applied and why the others were not.
pub async fn apply(app: App, person: Person, decisions: Vec<Decision>) -> Result<(u64, Vec<String>), ConsoleError> {
    let mut conn = app.warehouse.conn().await?;
    let tx = audit::begin(&mut conn).await?;
    audit::acting_as(&tx, &person.email).await?;
    let names: Vec<String> = decisions.iter().map(|d| d.original.clone()).collect();
    let before: std::collections::HashMap<String, serde_json::Value> = tx
        .query(
            "SELECT original_organization, jsonb_build_object('clean_organization', clean_organization, 'reviewed', reviewed)
               FROM conferences_events.exchange_organizations WHERE original_organization = ANY($1)",
            &[&names],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let outcomes = platform_dedupe::review::decide(&tx, decisions).await?;
    let (mut applied, mut refused) = (0, Vec::new());
    for (d, outcome) in &outcomes {
        let ok = outcome == APPLIED;
        if ok {
            applied += 1;
        } else {
            refused.push(format!("{}: {outcome}", d.original));
        }
        let after = ok.then(|| serde_json::json!({"clean_organization": d.decision, "reviewed": true}));
        audit::record(
            &tx,
            &person.email,
            "review",
            &format!("organization:{}", d.original),
            &serde_json::json!({"decision": d.decision}),
            before.get(&d.original),
            after.as_ref(),
            outcome,
        )
        .await?;
    }
    tx.commit().await?;
    Ok((applied, refused))
}

/// `POST /review/workbook`: writes a review workbook now (the other path of review).
pub async fn write_workbook(
    State(app): State<App>,
    Extension(person): Extension<Person>,
) -> Result<Response, ConsoleError> {
    person.require(Role::Operator)?;
    let key = app.services.dedupe.export_review().await?;
    audit::record_after(
        &app.warehouse,
        &person.email,
        "review-workbook",
        &format!("s3:{key}"),
        &serde_json::json!({}),
        "written",
    )
    .await?;
    Ok(done("/review", &format!("review workbook written: {key}")))
}
