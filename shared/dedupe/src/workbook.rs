//! The review workbook: unreviewed organisations out as XLSX, an operator's decisions back in,
//! and a result workbook saying what could not be applied.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use platform_workbook::Cell;
use rust_xlsxwriter::{Format, Workbook};

/// Header of the decision column (and of the name column it is matched on).
pub const DECISION: &str = "decision";
/// Header of the organisation name column.
pub const ORIGINAL: &str = "original_organization";

/// The review workbook's columns: the identifier (also accepted on the way back in, as earlier
/// workbooks carry it) and the header people read.
pub const COLUMNS: [(&str, &str); 6] = [
    (ORIGINAL, "Organisation as registered"),
    ("suggested_clean", "Suggested clean name"),
    ("score", "Score"),
    ("alternatives", "Other candidates (score)"),
    ("registrations_waiting", "Registrations waiting"),
    (DECISION, "Decision: clean name, or OK"),
];

/// The header people read for a column identifier.
pub fn label(identifier: &str) -> &str {
    COLUMNS.iter().find(|(id, _)| *id == identifier).map_or(identifier, |(_, l)| l)
}

/// One unreviewed organisation, as listed in the review workbook.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    /// The name as registrants typed it.
    pub original: String,
    /// Suggested clean name, if any.
    pub suggested: Option<String>,
    /// Its score.
    pub score: Option<f64>,
    /// Next alternatives, "name (score)" joined by "; ".
    pub alternatives: String,
    /// Approved, active registrations waiting on this organisation.
    pub waiting: i64,
}

/// One decision read back from an edited workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Spreadsheet row number (1-based, as Excel shows it).
    pub row: u32,
    /// The organisation name.
    pub original: String,
    /// The clean name decided (empty when the operator left it blank).
    pub decision: String,
}

/// Why an uploaded workbook cannot be read at all (nothing of it is applied).
#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    /// Not an XLSX file, or a damaged one.
    #[error("not a readable XLSX workbook: {0}")]
    Unreadable(String),
    /// The first sheet lacks a required column (its header).
    #[error("the first sheet has no {0:?} column in its first row")]
    MissingColumn(String),
    /// Writing a workbook failed.
    #[error("writing the workbook: {0}")]
    Write(#[from] rust_xlsxwriter::XlsxError),
}

/// The review workbook: one row per unreviewed organisation and an empty decision column.
pub fn review(rows: &[ReviewRow]) -> Result<Vec<u8>, WorkbookError> {
    let mut book = Workbook::new();
    let headers: Vec<String> = COLUMNS.iter().map(|(_, l)| (*l).to_owned()).collect();
    let cells = rows.iter().map(|r| {
        vec![
            Cell::from(r.original.as_str()),
            Cell::from(r.suggested.clone()),
            r.score.map_or(Cell::Empty, |s| Cell::Number((s * 100.0).round() / 100.0)),
            Cell::from(r.alternatives.as_str()),
            Cell::from(r.waiting),
            Cell::Empty,
        ]
    });
    platform_workbook::add_table(&mut book, "review", &headers, cells, &[40.0, 40.0, 8.0, 60.0, 12.0, 40.0])?;
    let help = book.add_worksheet().set_name("how to")?;
    platform_workbook::page_setup(help)?;
    for (i, line) in [
        "Write the clean name of each organisation in the decision column (the same clean name for every variant of one company).",
        "Write OK to accept the suggested clean name. Leave a row blank to decide later.",
        "Upload the file to the incoming/ prefix of the review bucket; a result workbook beside it lists rows that could not be applied.",
    ]
    .iter()
    .enumerate()
    {
        help.write_string(i as u32, 0, *line)?;
    }
    Ok(book.save_to_buffer()?)
}

/// Every decision of an edited workbook, read in full before anything is applied.
pub fn decisions(bytes: &[u8]) -> Result<Vec<Decision>, WorkbookError> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| WorkbookError::Unreadable(e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| WorkbookError::Unreadable("the workbook has no sheet".into()))?
        .map_err(|e| WorkbookError::Unreadable(e.to_string()))?;
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().map(|r| r.iter().map(cell_text).collect()).unwrap_or_default();
    let col = |name: &'static str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name) || h.trim().eq_ignore_ascii_case(label(name)))
            .ok_or_else(|| WorkbookError::MissingColumn(label(name).to_owned()))
    };
    let (name_col, decision_col) = (col(ORIGINAL)?, col(DECISION)?);
    let first_row = range.start().map(|(r, _)| r).unwrap_or(0);
    Ok(rows
        .enumerate()
        .map(|(i, r)| Decision {
            row: first_row + i as u32 + 2,
            original: r.get(name_col).map(cell_text).unwrap_or_default(),
            decision: r.get(decision_col).map(cell_text).unwrap_or_default().trim().to_owned(),
        })
        .filter(|d| !(d.original.is_empty() && d.decision.is_empty()))
        .collect())
}

fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The result workbook: every row of the upload with what happened to it.
pub fn result(outcomes: &[(Decision, String)]) -> Result<Vec<u8>, WorkbookError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet().set_name("result")?;
    for (c, h) in ["Row", label(ORIGINAL), label(DECISION), "Outcome"].iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, (d, outcome)) in outcomes.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_number(row, 0, f64::from(d.row))?;
        sheet.write_string(row, 1, &d.original)?;
        sheet.write_string(row, 2, &d.decision)?;
        sheet.write_string(row, 3, outcome)?;
    }
    sheet.set_column_width(1, 40.0)?;
    sheet.set_column_width(2, 40.0)?;
    sheet.set_column_width(3, 50.0)?;
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_workbook_reads_back_with_its_decisions() {
        let rows = vec![
            ReviewRow {
                original: "ACME INC".into(),
                suggested: Some("Acme".into()),
                score: Some(0.93),
                alternatives: String::new(),
                waiting: 2,
            },
            ReviewRow {
                original: "Globex".into(),
                suggested: None,
                score: None,
                alternatives: String::new(),
                waiting: 0,
            },
        ];
        let bytes = review(&rows).unwrap();
        let read = decisions(&bytes).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!((read[0].row, read[0].original.as_str(), read[0].decision.as_str()), (2, "ACME INC", ""));
        assert!(matches!(decisions(b"not a workbook"), Err(WorkbookError::Unreadable(_))));
        let mut book = Workbook::new();
        book.add_worksheet().write_string(0, 0, "something else").unwrap();
        assert!(matches!(decisions(&book.save_to_buffer().unwrap()), Err(WorkbookError::MissingColumn(_))));
    }
}
