//! A table streamed into a constant-memory sheet: each row goes to the sheet's temporary file
//! as it is written, so memory stays flat whatever the number of rows (spreadsheet-export).
//! Same look as [`crate::add_table`]: styled, frozen header, autofilter, widths; text always
//! text; dates as Excel dates in the column's number format.

use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, Worksheet, XlsxError};

use crate::{Cell, cut, header_format, sheet_name};

/// One column of a streamed table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Header text.
    pub header: String,
    /// Width in characters.
    pub width: f64,
    /// Excel number format of its numbers and dates (`#,##0.00`, `yyyy-mm-dd hh:mm`, …); dates
    /// without one are shown as `yyyy-mm-dd hh:mm`.
    pub num_format: Option<String>,
}

/// The number format of dates without one.
pub const DEFAULT_DATE_FORMAT: &str = "yyyy-mm-dd hh:mm";

/// A table being streamed into its sheet (see the module's documentation).
pub struct StreamTable<'b> {
    sheet: &'b mut Worksheet,
    /// Per column: the format of its numbers, and of its dates.
    formats: Vec<(Option<Format>, Format)>,
    columns: u16,
    next_row: u32,
}

impl<'b> StreamTable<'b> {
    /// Adds a constant-memory sheet named `name` (made valid) with the header written.
    pub fn start(book: &'b mut Workbook, name: &str, columns: &[Column]) -> Result<StreamTable<'b>, XlsxError> {
        let sheet = book.add_worksheet_with_constant_memory()?;
        sheet.set_name(sheet_name(name))?;
        let bold = header_format();
        let mut formats = Vec::with_capacity(columns.len());
        for (c, col) in columns.iter().enumerate() {
            sheet.set_column_width(c as u16, col.width)?;
            sheet.write_string_with_format(0, c as u16, &col.header, &bold)?;
            let number = col.num_format.as_ref().map(|f| Format::new().set_num_format(f));
            let date = Format::new().set_num_format(col.num_format.as_deref().unwrap_or(DEFAULT_DATE_FORMAT));
            formats.push((number, date));
        }
        sheet.set_freeze_panes(1, 0)?;
        crate::page_setup(sheet)?;
        Ok(StreamTable { sheet, formats, columns: columns.len() as u16, next_row: 1 })
    }

    /// Writes the next row (cells beyond the columns are ignored).
    pub fn write_row(&mut self, cells: &[Cell]) -> Result<(), XlsxError> {
        let r = self.next_row;
        for (c, cell) in cells.iter().enumerate().take(self.columns as usize) {
            let c16 = c as u16;
            match cell {
                Cell::Text(t) if t.chars().count() > crate::MAX_CELL_CHARS => {
                    self.sheet.write_string(r, c16, cut(t))?;
                }
                Cell::Text(t) => {
                    self.sheet.write_string(r, c16, t)?;
                }
                Cell::Number(n) => match &self.formats[c].0 {
                    Some(f) => {
                        self.sheet.write_number_with_format(r, c16, *n, f)?;
                    }
                    None => {
                        self.sheet.write_number(r, c16, *n)?;
                    }
                },
                Cell::Date(d) => {
                    self.sheet.write_number_with_format(r, c16, crate::excel_serial(d), &self.formats[c].1)?;
                }
                Cell::Empty => {}
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Data rows written so far.
    pub fn rows(&self) -> u32 {
        self.next_row - 1
    }

    /// Ends the table (autofilter over its rows); returns the number of data rows.
    pub fn finish(self) -> Result<u32, XlsxError> {
        if self.columns > 0 {
            self.sheet.autofilter(0, 0, self.next_row - 1, self.columns - 1)?;
        }
        Ok(self.next_row - 1)
    }
}

/// A whole-number axis step showing `most` in at most about eight steps: 1, 2 or 5 times a
/// power of ten.
pub fn whole_step(most: u64) -> u64 {
    let raw = most.div_ceil(8).max(1);
    let mut power = 1u64;
    loop {
        for m in [1, 2, 5] {
            if m * power >= raw {
                return m * power;
            }
        }
        power *= 10;
    }
}

/// Adds a sheet counting something per day (`days`: date, count, in order) with a column chart
/// of it beside the table.
pub fn add_daily_summary(
    book: &mut Workbook,
    name: &str,
    count_header: &str,
    days: &[(chrono::NaiveDate, u64)],
) -> Result<(), XlsxError> {
    let sheet_name = sheet_name(name);
    let sheet = book.add_worksheet();
    sheet.set_name(&sheet_name)?;
    let bold = header_format();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    sheet.write_string_with_format(0, 0, "Day", &bold)?;
    sheet.write_string_with_format(0, 1, count_header, &bold)?;
    sheet.set_column_width(0, 12)?;
    sheet.set_column_width(1, 12)?;
    let mut total = 0u64;
    for (i, (day, n)) in days.iter().enumerate() {
        let r = i as u32 + 1;
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        sheet.write_number_with_format(r, 0, crate::excel_serial(&midnight), &date)?;
        sheet.write_number(r, 1, *n as f64)?;
        total += n;
    }
    let last = days.len() as u32;
    sheet.write_string_with_format(last + 1, 0, "Total", &bold)?;
    sheet.write_number_with_format(last + 1, 1, total as f64, &bold)?;
    sheet.set_freeze_panes(1, 0)?;
    crate::page_setup(sheet)?;
    if !days.is_empty() {
        let mut chart = Chart::new(ChartType::Column);
        chart.add_series().set_name(count_header).set_categories((sheet_name.as_str(), 1, 0, last, 0)).set_values((
            sheet_name.as_str(),
            1,
            1,
            last,
            1,
        ));
        chart.title().set_name(&format!("{count_header} per day"));
        chart.legend().set_hidden();
        // Days as dates (not serial numbers), counts in whole steps.
        chart.x_axis().set_date_axis(true).set_num_format("yyyy-mm-dd");
        let most = days.iter().map(|(_, n)| *n).max().unwrap_or(0);
        chart.y_axis().set_min(0).set_major_unit(whole_step(most) as f64).set_num_format("0");
        sheet.insert_chart(1, 3, &chart)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader};

    #[test]
    fn a_streamed_table_reads_back_typed_with_its_summary_and_chart() {
        let dir = std::env::temp_dir().join(format!("stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.xlsx");
        let mut book = Workbook::new();
        let cols = [
            Column { header: "When".into(), width: 18.0, num_format: None },
            Column { header: "Amount".into(), width: 10.0, num_format: Some("#,##0.00".into()) },
            Column { header: "Note".into(), width: 30.0, num_format: None },
        ];
        let when = chrono::NaiveDate::from_ymd_opt(2026, 11, 3).unwrap().and_hms_opt(18, 30, 0).unwrap();
        let new_year = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(crate::excel_serial(&new_year), 45292.0, "Excel's serial of 2024-01-01");
        assert_eq!(crate::excel_serial(&when), 46329.0 + 18.5 / 24.0);
        let mut table = StreamTable::start(&mut book, "Leads: all", &cols).unwrap();
        table.write_row(&[Cell::Date(when), Cell::Number(1250.5), Cell::from("=1+1")]).unwrap();
        table.write_row(&[Cell::Empty, Cell::Number(-3.0), Cell::from("@SUM(A1)")]).unwrap();
        assert_eq!(table.finish().unwrap(), 2);
        let day = when.date();
        add_daily_summary(&mut book, "Summary", "Leads", &[(day, 2)]).unwrap();
        book.save(&path).unwrap();

        let mut read: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
        assert_eq!(read.sheet_names(), vec!["Leads_ all".to_owned(), "Summary".to_owned()]);
        let leads = read.worksheet_range("Leads_ all").unwrap();
        assert_eq!(leads.get_value((0, 0)), Some(&Data::String("When".into())));
        match leads.get_value((1, 0)) {
            Some(Data::DateTime(d)) => {
                assert!(d.is_datetime());
                assert!((d.as_f64() - crate::excel_serial(&when)).abs() < 1e-9, "an Excel date, to the minute");
            }
            other => panic!("not a date cell: {other:?}"),
        }
        assert_eq!(leads.get_value((1, 1)), Some(&Data::Float(1250.5)));
        assert_eq!(leads.get_value((1, 2)), Some(&Data::String("=1+1".into())), "text, never a formula");
        assert_eq!(leads.get_value((2, 2)), Some(&Data::String("@SUM(A1)".into())));
        assert_eq!(leads.get_value((2, 1)), Some(&Data::Float(-3.0)));
        let summary = read.worksheet_range("Summary").unwrap();
        assert_eq!(summary.get_value((1, 1)), Some(&Data::Float(2.0)));
        assert_eq!(summary.get_value((2, 0)), Some(&Data::String("Total".into())));
        let formulas = read.worksheet_formula("Leads_ all").unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "no formula anywhere");
        // The chart is in the package.
        let zip = std::fs::read(&path).unwrap();
        assert!(zip.windows(b"xl/charts/chart1.xml".len()).any(|w| w == b"xl/charts/chart1.xml"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn count_axes_step_in_whole_numbers() {
        let steps: Vec<u64> = [0, 1, 3, 8, 9, 17, 40, 41, 1000, 123_456].iter().map(|n| whole_step(*n)).collect();
        assert_eq!(steps, [1, 1, 1, 1, 2, 5, 5, 10, 200, 20_000]);
    }
}
