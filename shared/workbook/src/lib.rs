//! The platform's one way to write a table into an XLSX sheet (company-dedupe's review
//! workbook, connector-pull's preview report, lead-delivery's to-do report, spreadsheet-export's
//! lead reports): a bold, frozen header row with an autofilter, typed cells, column widths, and
//! text always written as text — a value starting with `=`, `+`, `-` or `@` never becomes a
//! formula.
//!
//! - [`add_table`]: a table held in memory (small workbooks).
//! - [`stream`]: a table streamed row by row into a constant-memory sheet, and a daily summary
//!   sheet with its chart.

pub mod stream;

use chrono::NaiveDateTime;
use rust_xlsxwriter::Format;
pub use rust_xlsxwriter::{Workbook, Worksheet, XlsxError};

/// One cell's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text, written as a string cell (never interpreted as a formula).
    Text(String),
    /// A number.
    Number(f64),
    /// A date and time (already in the reader's time zone), written as an Excel date.
    Date(NaiveDateTime),
    /// Nothing.
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Cell {
        s.map_or(Cell::Empty, Cell::Text)
    }
}

impl From<f64> for Cell {
    fn from(n: f64) -> Cell {
        Cell::Number(n)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Number(n as f64)
    }
}

/// The content type of an XLSX file (for S3 objects and downloads).
pub const CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Excel's cell text limit (characters); longer text is cut with an ellipsis.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Adds a sheet named `name` (cut to Excel's 31 characters, `[]:*?/\` replaced) holding
/// `headers` and `rows`, with the header styled and frozen, an autofilter over the table, and
/// `widths` per column (missing ones: 18, or 40 for long headers).
pub fn add_table<'b>(
    book: &'b mut Workbook,
    name: &str,
    headers: &[String],
    rows: impl IntoIterator<Item = Vec<Cell>>,
    widths: &[f64],
) -> Result<&'b mut Worksheet, XlsxError> {
    let bold = header_format();
    let date = Format::new().set_num_format(stream::DEFAULT_DATE_FORMAT);
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name(name))?;
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, h, &bold)?;
        let width = widths.get(c).copied().unwrap_or(if h.len() > 16 { 40.0 } else { 18.0 });
        sheet.set_column_width(c as u16, width)?;
    }
    let mut last_row = 0u32;
    for (i, row) in rows.into_iter().enumerate() {
        let r = i as u32 + 1;
        last_row = r;
        for (c, cell) in row.into_iter().enumerate() {
            match cell {
                Cell::Text(t) => {
                    sheet.write_string(r, c as u16, cut(&t))?;
                }
                Cell::Number(n) => {
                    sheet.write_number(r, c as u16, n)?;
                }
                Cell::Date(d) => {
                    sheet.write_number_with_format(r, c as u16, excel_serial(&d), &date)?;
                }
                Cell::Empty => {}
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    page_setup(sheet)?;
    if !headers.is_empty() {
        sheet.autofilter(0, 0, last_row, headers.len() as u16 - 1)?;
    }
    Ok(sheet)
}

/// The one page setup of every sheet a person may print or turn into a PDF: landscape, one page
/// wide (as many pages tall as it needs), the header row repeated at the top of every page.
pub fn page_setup(sheet: &mut Worksheet) -> Result<(), XlsxError> {
    sheet.set_landscape().set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(0, 0)?;
    Ok(())
}

/// The header row's style.
fn header_format() -> Format {
    Format::new().set_bold().set_background_color("#DDEBF7")
}

/// Excel's serial number of a date and time (days since 1899-12-30, the time as a fraction).
pub fn excel_serial(d: &NaiveDateTime) -> f64 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("a date").and_hms_opt(0, 0, 0).expect("midnight");
    let delta = *d - epoch;
    delta.num_milliseconds() as f64 / 86_400_000.0
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_CELL_CHARS {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(MAX_CELL_CHARS - 1).collect();
    s.push('…');
    s
}

/// A valid sheet name: at most 31 characters, without `[]:*?/\` or an apostrophe at either end.
pub fn sheet_name(name: &str) -> String {
    let clean: String = name.chars().map(|c| if "[]:*?/\\".contains(c) { '_' } else { c }).take(31).collect();
    let clean = clean.trim_matches('\'');
    if clean.is_empty() { "sheet".into() } else { clean.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_looks_like_a_formula_stays_text_and_names_are_made_valid() {
        let mut book = Workbook::new();
        add_table(
            &mut book,
            "a/b:c?",
            &["name".into(), "n".into()],
            vec![vec![Cell::from("=HYPERLINK(\"x\")"), Cell::from(2.0)], vec![Cell::Empty, Cell::from(3i64)]],
            &[],
        )
        .unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let mut read: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = read.worksheet_range("a_b_c_").unwrap();
        use calamine::{Data, Reader};
        assert_eq!(range.get_value((1, 0)), Some(&Data::String("=HYPERLINK(\"x\")".into())));
        assert_eq!(range.get_value((2, 1)), Some(&Data::Float(3.0)));
        assert_eq!(sheet_name("a/b:c?"), "a_b_c_");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
        assert_eq!(sheet_name("'quoted'"), "quoted", "Excel refuses an apostrophe at either end");
        assert_eq!(cut(&"y".repeat(MAX_CELL_CHARS + 5)).chars().count(), MAX_CELL_CHARS);
    }
}
