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
    /// Names approved automatically (equal key to a reviewed clean name, or one typing slip from a
    /// single one; each with its setting on).
    pub auto_approved: u64,
}

/// Inserts the new organisation names of `registration_ids` (every registration when `None`)
/// into `exchange_organizations` (clean name = original, not reviewed), each exactly once even
/// under concurrent passes; blank and NULL names, and names an operator already put into
/// `exchange_organizations` by SQL, are skipped. Stores suggestions for them and, when
/// `dedupe.auto_approve_exact` is `true`, approves those whose key equals a reviewed clean name's
/// or a reviewed original name's (the reviewers' decision for that key); when
/// `dedupe.auto_approve_one_slip` is `true`, also those whose key is one typing slip from a single
/// reviewed clean name's ([`platform_domain::typo`]).
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
    let s = suggestions(&tx, &names).await?;
    // Each name's `exchange_organizations` id is drawn up front, so that the mapping row is
    // written once with everything (no later UPDATE of 100,000 rows); the ids of names a
    // concurrent pass claimed stay unused (gaps in the sequence).
    let ids: Vec<i32> = tx
        .query(
            "SELECT nextval(pg_get_serial_sequence('conferences_events.exchange_organizations', 'id'))::integer
               FROM generate_series(1, $1::integer)",
            &[&(names.len() as i32)],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // The primary key decides who inserts a name: a concurrent pass waits, then skips it.
    let claimed = tx
        .query(
            "INSERT INTO integration.organization_name
                    (original_organization, exchange_organization_id, name_key, suggested_clean, suggestion_score,
                     suggestion_exact, suggestion_one_slip, alternatives, auto_approved, suggested_at)
             SELECT u.original, u.org_id, u.key, u.best, u.score, u.exact, u.slip, u.alternatives::jsonb, u.approve, now()
               FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::float8[], $6::bool[], $7::bool[],
                           $8::text[], $9::bool[]) AS u(original, org_id, key, best, score, exact, slip, alternatives, approve)
             ON CONFLICT DO NOTHING
             RETURNING original_organization, exchange_organization_id, suggested_clean, auto_approved",
            &[&names, &ids, &s.keys, &s.best, &s.scores, &s.exact, &s.one_slip, &s.alternatives, &s.approve],
        )
        .await?;
    report.inserted = claimed.len() as u64;
    let mut org_ids = Vec::with_capacity(claimed.len());
    let mut originals = Vec::with_capacity(claimed.len());
    let mut cleans = Vec::with_capacity(claimed.len());
    let mut approved = Vec::with_capacity(claimed.len());
    for r in &claimed {
        let original: String = r.get(0);
        let approve: bool = r.get(3);
        org_ids.push(r.get::<_, i32>(1));
        // Approved automatically: the clean name is the suggestion, reviewed; else the name itself.
        cleans.push(if approve {
            r.get::<_, Option<String>>(2).unwrap_or_else(|| original.clone())
        } else {
            original.clone()
        });
        originals.push(original);
        approved.push(approve);
    }
    report.auto_approved = approved.iter().filter(|a| **a).count() as u64;
    tx.execute(
        "INSERT INTO conferences_events.exchange_organizations (id, original_organization, clean_organization, reviewed)
         SELECT * FROM unnest($1::integer[], $2::text[], $3::text[], $4::bool[])",
        &[&org_ids, &originals, &cleans, &approved],
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// Suggestions for a pass's names, one entry per name in order.
struct Suggested {
    keys: Vec<Option<String>>,
    best: Vec<Option<String>>,
    scores: Vec<Option<f64>>,
    exact: Vec<Option<bool>>,
    one_slip: Vec<Option<bool>>,
    /// JSON text, cast to `jsonb` by the server: a `jsonb[]` parameter of 100,000 elements took
    /// 3–6 times longer to bind than the same values as `text[]` with the cast.
    alternatives: Vec<String>,
    /// Approved automatically (the setting is on and the best has an equal key).
    approve: Vec<bool>,
}

/// Computes suggestions for `names` against every reviewed decision; marks for approval the
/// equal keys and the single slips, each when its setting allows.
async fn suggestions(db: &impl GenericClient, names: &[String]) -> Result<Suggested, DedupeError> {
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
    let auto_slip = setting(db, "dedupe.auto_approve_one_slip").await?.as_deref() == Some("true");
    let index = CandidateIndex::with_reviews(clean, decisions);
    let mut out = Suggested {
        keys: Vec::with_capacity(names.len()),
        best: Vec::with_capacity(names.len()),
        scores: Vec::with_capacity(names.len()),
        exact: Vec::with_capacity(names.len()),
        one_slip: Vec::with_capacity(names.len()),
        alternatives: Vec::with_capacity(names.len()),
        approve: Vec::with_capacity(names.len()),
    };
    let name_keys: Vec<_> = names.iter().map(|n| normalise(n)).collect();
    // CPU-bound and independent per name: spread over the cores (a 100,000-name pass).
    let all = index.suggest_all(&name_keys, SUGGESTIONS);
    for (key, suggestions) in name_keys.into_iter().zip(all) {
        let first = suggestions.first();
        out.keys.push(key.map(|k| k.key));
        out.best.push(first.map(|s| s.clean.clone()));
        out.scores.push(first.map(|s| s.score));
        out.exact.push(first.map(|s| s.exact_key));
        out.one_slip.push(first.map(|s| s.one_slip));
        out.alternatives.push(
            json!(suggestions.iter().skip(1).map(|s| json!({"clean": s.clean, "score": s.score})).collect::<Vec<_>>())
                .to_string(),
        );
        out.approve.push(first.is_some_and(|s| (auto && s.exact_key) || (auto_slip && s.one_slip)));
    }
    Ok(out)
}

/// An operator setting from `integration.setting`.
pub async fn setting(db: &impl GenericClient, name: &str) -> Result<Option<String>, DedupeError> {
    Ok(db.query_opt("SELECT value FROM integration.setting WHERE name = $1", &[&name]).await?.map(|r| r.get(0)))
}
