//! The workbooks people receive, printed by LibreOffice headless as they would print them or
//! turn them into PDFs: one page wide with the header on every page, dates on the daily chart's
//! axis and whole counts, readable headers. The lead spreadsheet and the to-do report are
//! printed by their own tests (`export`, `leads`) as they come out of S3.

use chrono::NaiveDate;
use integration_tests::print::print;
use platform_workbook::{
    Cell, Workbook,
    stream::{Column, StreamTable, add_daily_summary},
};

#[test]
fn a_wide_long_sheet_prints_one_page_wide_with_its_header_on_every_page_and_a_chart_of_dates() {
    let mut book = Workbook::new();
    let columns: Vec<Column> =
        (0..20).map(|c| Column { header: format!("Column number {c}"), width: 18.0, num_format: None }).collect();
    let mut table = StreamTable::start(&mut book, "Leads", &columns).unwrap();
    for r in 0..150 {
        let row: Vec<Cell> = (0..20).map(|c| Cell::from(format!("r{r}c{c}"))).collect();
        table.write_row(&row).unwrap();
    }
    table.finish().unwrap();
    let first = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let days: Vec<(NaiveDate, u64)> =
        [1, 3, 2, 0, 3, 1].iter().enumerate().map(|(d, n)| (first + chrono::Duration::days(d as i64), *n)).collect();
    add_daily_summary(&mut book, "Summary", "Leads", &days).unwrap();
    let printed = print(&book.save_to_buffer().unwrap());

    let leads_pages = printed.text.split('\u{c}').filter(|p| p.contains("r0c0") || p.contains("c19")).count() as u32;
    assert!(leads_pages >= 2, "150 rows run over pages: {leads_pages}");
    assert_eq!(printed.pages, leads_pages + 1, "one page wide: no page holds only the right-hand columns");
    let headed =
        printed.text.split('\u{c}').filter(|p| p.contains("Column number 0") && p.contains("Column number 19")).count();
    assert_eq!(headed as u32, leads_pages, "the whole header row at the top of every page");
    // The chart: its days as dates, never serial numbers; its counts in whole steps.
    let serial = platform_workbook::excel_serial(&first.and_hms_opt(0, 0, 0).unwrap()).to_string();
    assert!(printed.text.contains("2026-11-25"), "{}", printed.text);
    assert!(!printed.text.contains(&serial), "a serial number on the axis: {}", printed.text);
    for half in ["0.5", "1.5", "2.5", "3.5"] {
        assert!(!printed.text.contains(half), "a count axis in half steps: {}", printed.text);
    }
}

#[test]
fn the_review_workbook_prints_readable_headers_on_one_page_each() {
    let rows: Vec<platform_dedupe::workbook::ReviewRow> = (0..3)
        .map(|i| platform_dedupe::workbook::ReviewRow {
            original: format!("Acme {i} Inc"),
            suggested: Some("Acme".into()),
            score: Some(0.93),
            alternatives: "Acme Corp (0.81); Acme Holdings (0.77)".into(),
            waiting: 2,
        })
        .collect();
    let book = platform_dedupe::workbook::review(&rows).unwrap();
    let printed = print(&book);
    assert_eq!(printed.pages, 2, "the review sheet and the how-to, a page each");
    for header in ["Organisation as registered", "Suggested clean name", "Decision: clean name, or OK"] {
        assert!(printed.text.contains(header), "{header}: {}", printed.text);
    }
    assert!(!printed.text.contains("original_organization"), "no column identifiers for people");
    // The readable workbook still reads back.
    let decisions = platform_dedupe::workbook::decisions(&book).unwrap();
    assert_eq!(decisions.len(), 3);
}
