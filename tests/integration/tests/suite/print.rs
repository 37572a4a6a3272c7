//! The workbooks people receive, printed by LibreOffice headless as they would print them or
//! turn them into PDFs: one page wide, the header on every page, dates on the chart's axis and
//! whole counts, readable headers.

use chrono::NaiveDate;
use integration_tests::print::print;
use platform_workbook::{
    Cell, Workbook, add_table,
    stream::{Column, StreamTable, add_daily_summary},
};

#[test]
fn a_wide_lead_sheet_and_its_daily_chart_print_one_page_wide_with_dates_and_whole_counts() {
    let mut book = Workbook::new();
    let columns: Vec<Column> = (0..20)
        .map(|c| Column { header: format!("Column number {c}"), width: 18.0, num_format: None })
        .collect();
    let mut table = StreamTable::start(&mut book, "Leads", &columns).unwrap();
    for r in 0..30 {
        let row: Vec<Cell> = (0..20).map(|c| Cell::from(format!("r{r}c{c}"))).collect();
        table.write_row(&row).unwrap();
    }
    table.finish().unwrap();
    let days: Vec<(NaiveDate, u64)> = (0..6)
        .map(|d| (NaiveDate::from_ymd_opt(2026, 11, 20).unwrap() + chrono::Duration::days(d), [1, 3, 2, 0, 3, 1][d as usize]))
        .collect();
    add_daily_summary(&mut book, "Summary", "Leads", &days).unwrap();
    let printed = print(&book.save_to_buffer().unwrap());
    println!("{}\n{}", printed.pages, printed.text);
    panic!("look");
}
