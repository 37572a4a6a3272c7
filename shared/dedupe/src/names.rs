//! New organisation names: inserted once, with suggestions, approved automatically when allowed.

use platform_domain::company::{CandidateIndex, normalise};
use platform_warehouse::tokio_postgres::{Client, GenericClient};
use serde_json::json;

use crate::DedupeError;

/// Suggestions kept per name: the best and the next alternatives.
const SUGGESTIONS: usize = 4;

/// What one pass over organisation names did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamesReport {
    /// Names not yet known (before claiming).
    pub new: u64,
    /// Names this pass inserted (the others were inserted by a concurrent pass).
    pub inserted: u64,
    /// Names approved automatically (equal key to a reviewed clean name, setting on).
    pub auto_approved: u64,
}

/// Inserts the new organisation names of `registration_ids` (every registration when `None`)
/// into `exchange_organizations` (clean name = original, not reviewed), each exactly once even
/// under concurrent passes; blank and NULL names, and names an operator already put into
/// `exchange_organizations` by SQL, are skipped. Stores suggestions for them and, when
/// `dedupe.auto_approve_exact` is `true`, approves those whose key equals a reviewed clean name's
/// or a reviewed original name's (the reviewers' decision for that key).
pub async fn insert_new(conn: &mut Client, registration_ids: Option<&[String]>) -> Result<NamesReport, DedupeError> {
    let tx = conn.transaction().await?;
    let ids: Option<Vec<String>> = registration_ids.map(<[String]>::to_vec);
    let names: Vec<String> = tx
        .query(
            "SELECT DISTINCT r.organization FROM conferences_events.exchange_registration r
              WHERE ($1::text[] IS NULL OR r.registration_id = ANY($1))
                AND r.organization IS NOT NULL AND btrim(r.organization) <> ''
                AND NOT EXISTS (SELECT 1 FROM integration.organization_name n
                                 WHERE n.original_organization = r.organization)
                AND NOT EXISTS (SELECT 1 FROM conferences_events.exchange_organizations o
                                 WHERE o.original_organization = r.organization)",
            &[&ids],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut report = NamesReport { new: names.len() as u64, ..Default::default() };
    if names.is_empty() {
        tx.commit().await?;
        return Ok(report);
    }
    // The primary key decides who inserts a name: a concurrent pass waits, then skips it.
    let claimed: Vec<String> = tx
        .query(
            "INSERT INTO integration.organization_name (original_organization)
             SELECT unnest($1::text[]) ON CONFLICT DO NOTHING RETURNING original_organization",
            &[&names],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    report.inserted = claimed.len() as u64;
    tx.execute(
        "WITH ins AS (
             INSERT INTO conferences_events.exchange_organizations (original_organization, clean_organization, reviewed)
             SELECT n, n, false FROM unnest($1::text[]) n
             RETURNING id, original_organization)
         UPDATE integration.organization_name o SET exchange_organization_id = ins.id
           FROM ins WHERE o.original_organization = ins.original_organization",
        &[&claimed],
    )
    .await?;
    report.auto_approved = suggest(&tx, &claimed).await?;
    tx.commit().await?;
    Ok(report)
}

/// Stores suggestions for `names`; approves exact keys when the setting allows. Returns approvals.
async fn suggest(db: &impl GenericClient, names: &[String]) -> Result<u64, DedupeError> {
    // Every reviewed decision (original → clean name), oldest first: the clean names are the
    // candidates, and each original's key leads to its clean name from now on.
    let decisions: Vec<(String, String)> = db
        .query(
            "SELECT original_organization, clean_organization FROM conferences_events.exchange_organizations
              WHERE reviewed AND clean_organization IS NOT NULL AND btrim(clean_organization) <> ''
                AND original_organization IS NOT NULL
              ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut clean: Vec<String> = decisions.iter().map(|(_, c)| c.clone()).collect();
    clean.sort();
    clean.dedup();
    let auto = setting(db, "dedupe.auto_approve_exact").await?.as_deref() == Some("true");
    let index = CandidateIndex::with_reviews(clean, decisions);
    let (mut keys, mut best, mut scores, mut exact, mut alternatives, mut approve) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let name_keys: Vec<_> = names.iter().map(|n| normalise(n)).collect();
    // CPU-bound and independent per name: spread over the cores (a 100,000-name pass).
    let all = index.suggest_all(&name_keys, SUGGESTIONS);
    for (key, suggestions) in name_keys.into_iter().zip(all) {
        let first = suggestions.first();
        keys.push(key.map(|k| k.key));
        best.push(first.map(|s| s.clean.clone()));
        scores.push(first.map(|s| s.score));
        exact.push(first.map(|s| s.exact_key));
        alternatives.push(json!(
            suggestions.iter().skip(1).map(|s| json!({"clean": s.clean, "score": s.score})).collect::<Vec<_>>()
        ));
        approve.push(auto && first.is_some_and(|s| s.exact_key));
    }
    db.execute(
        "UPDATE integration.organization_name o
            SET name_key = u.key, suggested_clean = u.best, suggestion_score = u.score, suggestion_exact = u.exact,
                alternatives = u.alternatives, auto_approved = u.approve, suggested_at = now()
           FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::bool[], $6::jsonb[], $7::bool[])
                AS u(name, key, best, score, exact, alternatives, approve)
          WHERE o.original_organization = u.name",
        &[&names, &keys, &best, &scores, &exact, &alternatives, &approve],
    )
    .await?;
    let approved = db
        .execute(
            "UPDATE conferences_events.exchange_organizations e
                SET clean_organization = o.suggested_clean, reviewed = true
               FROM integration.organization_name o
              WHERE o.original_organization = ANY($1) AND o.auto_approved
                AND e.id = o.exchange_organization_id",
            &[&names],
        )
        .await?;
    Ok(approved)
}

/// An operator setting from `integration.setting`.
pub async fn setting(db: &impl GenericClient, name: &str) -> Result<Option<String>, DedupeError> {
    Ok(db.query_opt("SELECT value FROM integration.setting WHERE name = $1", &[&name]).await?.map(|r| r.get(0)))
}
