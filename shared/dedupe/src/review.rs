//! The review round trip: the workbook of unreviewed organisations written to S3, and an edited
//! workbook uploaded under `incoming/` applied (all rows read before any is applied), with a
//! result workbook under `results/` listing what could not be applied.

use platform_warehouse::tokio_postgres::GenericClient;

use crate::{
    Dedupe, DedupeError,
    workbook::{self, Decision, ReviewRow},
};

/// What applying one uploaded workbook did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Decisions applied.
    pub applied: u64,
    /// Rows not applied (blank decision, unknown name, nothing to accept).
    pub rejected: u64,
    /// Why the whole file was refused, if it was (then nothing was applied).
    pub refused: Option<String>,
    /// Key of the result workbook.
    pub result_key: String,
    /// Registrations the new reviews released.
    pub released: u64,
}

impl Dedupe {
    fn bucket(&self) -> Result<&str, DedupeError> {
        self.review_bucket.as_deref().ok_or_else(|| DedupeError::Config("REVIEW_BUCKET is not set".into()))
    }

    /// Writes the review workbook of every unreviewed organisation to
    /// `review/organizations-<UTC time>.xlsx`; returns its key.
    pub async fn export_review(&self) -> Result<String, DedupeError> {
        let bucket = self.bucket()?;
        let conn = self.warehouse.conn().await?;
        let rows = review_rows(&**conn).await?;
        let bytes = workbook::review(&rows).map_err(|e| DedupeError::Config(e.to_string()))?;
        let key = format!("review/organizations-{}.xlsx", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"));
        platform_aws::s3::put(&self.s3, bucket, &key, bytes, XLSX).await?;
        tracing::info!(%key, organisations = rows.len(), "review workbook written");
        Ok(key)
    }

    /// Applies the decisions of the workbook at `key`; writes the result workbook beside it.
    pub async fn apply_review(&self, key: &str) -> Result<ApplyReport, DedupeError> {
        let bucket = self.bucket()?;
        let bytes = platform_aws::s3::get(&self.s3, bucket, key).await?;
        let name = key.rsplit('/').next().unwrap_or(key).trim_end_matches(".xlsx");
        let mut report = ApplyReport { result_key: format!("results/{name}-result.xlsx"), ..Default::default() };
        let outcomes: Vec<(Decision, String)> = match workbook::decisions(&bytes) {
            Err(e) => {
                report.refused = Some(e.to_string());
                let whole = Decision { row: 0, original: String::new(), decision: String::new() };
                vec![(whole, format!("file not applied: {e}"))]
            }
            Ok(decisions) => {
                let mut conn = self.warehouse.conn().await?;
                let client: &mut platform_warehouse::tokio_postgres::Client = &mut conn;
                let tx = client.transaction().await?;
                let outcomes = decide(&tx, decisions).await?;
                tx.commit().await?;
                outcomes
            }
        };
        for (_, outcome) in &outcomes {
            if outcome == APPLIED {
                report.applied += 1;
            } else {
                report.rejected += 1;
            }
        }
        let result = workbook::result(&outcomes).map_err(|e| DedupeError::Config(e.to_string()))?;
        platform_aws::s3::put(&self.s3, bucket, &report.result_key, result, XLSX).await?;
        if report.applied > 0 {
            report.released = self.release_reviewed().await?;
        }
        tracing::info!(%key, applied = report.applied, rejected = report.rejected, refused = ?report.refused, "review workbook applied");
        Ok(report)
    }

    /// After review decisions were committed: the pass that releases the registrations they
    /// settled; returns how many it released.
    pub async fn release_reviewed(&self) -> Result<u64, DedupeError> {
        Ok(self.pass(Some(&[]), "review").await?.released.len() as u64)
    }
}

const XLSX: &str = platform_workbook::CONTENT_TYPE;
/// The outcome of a decision that was applied.
pub const APPLIED: &str = "applied";

async fn review_rows(db: &impl GenericClient) -> Result<Vec<ReviewRow>, DedupeError> {
    let rows = db
        .query(
            "SELECT o.original_organization, n.suggested_clean, n.suggestion_score, COALESCE(n.alternatives, '[]'),
                    (SELECT count(*) FROM conferences_events.exchange_registration r
                      WHERE r.organization = o.original_organization
                        AND r.approval_status = 'Approved' AND r.registration_status = 'Active') AS waiting
               FROM conferences_events.exchange_organizations o
               LEFT JOIN integration.organization_name n ON n.exchange_organization_id = o.id
              WHERE o.reviewed IS NOT TRUE
                AND o.original_organization IS NOT NULL AND btrim(o.original_organization) <> ''
              ORDER BY waiting DESC, o.original_organization",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let alternatives: serde_json::Value = r.get(3);
            let alternatives = alternatives
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            format!("{} ({:.2})", x["clean"].as_str().unwrap_or(""), x["score"].as_f64().unwrap_or(0.0))
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            ReviewRow { original: r.get(0), suggested: r.get(1), score: r.get(2), alternatives, waiting: r.get(4) }
        })
        .collect())
}

/// Applies review decisions (a clean name, or `OK` for the suggestion) in one statement, in the
/// caller's transaction; returns every decision with its outcome ([`APPLIED`] or why not). The
/// workbook and the console's review page both decide through it.
pub async fn decide(db: &impl GenericClient, decisions: Vec<Decision>) -> Result<Vec<(Decision, String)>, DedupeError> {
    let suggestions: std::collections::HashMap<String, Option<String>> = db
        .query(
            "SELECT original_organization, suggested_clean FROM integration.organization_name WHERE original_organization = ANY($1)",
            &[&decisions.iter().map(|d| d.original.clone()).collect::<Vec<_>>()],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut outcomes: Vec<(Decision, Option<String>)> = Vec::with_capacity(decisions.len());
    let (mut names, mut cleans) = (Vec::new(), Vec::new());
    for d in decisions {
        let clean = if d.decision.is_empty() {
            Err("not applied: blank decision")
        } else if d.decision.eq_ignore_ascii_case("ok") {
            suggestions
                .get(&d.original)
                .cloned()
                .flatten()
                .ok_or("not applied: OK but there is no suggestion to accept")
        } else {
            Ok(d.decision.clone())
        };
        match clean {
            Ok(c) => {
                names.push(d.original.clone());
                cleans.push(c);
                outcomes.push((d, None));
            }
            Err(why) => outcomes.push((d, Some(why.to_owned()))),
        }
    }
    let updated: std::collections::HashSet<String> = db
        .query(
            "UPDATE conferences_events.exchange_organizations o
                SET clean_organization = u.clean, reviewed = true
               FROM unnest($1::text[], $2::text[]) AS u(name, clean)
              WHERE o.original_organization = u.name
             RETURNING o.original_organization",
            &[&names, &cleans],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(outcomes
        .into_iter()
        .map(|(d, why)| {
            let outcome = match why {
                Some(w) => w,
                None if updated.contains(&d.original) => APPLIED.to_owned(),
                None => "not applied: unknown organisation name".to_owned(),
            };
            (d, outcome)
        })
        .collect())
}
