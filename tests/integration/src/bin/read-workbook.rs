//! Reads an XLSX file back with calamine (as a client's spreadsheet program would) and prints
//! each sheet's name, its data rows (the header excluded) and its first rows: `make run` uses
//! it to check the spreadsheets spreadsheet-export wrote.
//!
//! usage: read-workbook FILE [ROWS_SHOWN]

use calamine::{Data, Reader, Xlsx};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or_else(|| anyhow::anyhow!("usage: read-workbook FILE [ROWS_SHOWN]"))?;
    let shown: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(3);
    let mut book: Xlsx<_> = calamine::open_workbook(&path)?;
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name)?;
        println!("  sheet {name:?}: {} data rows", range.height().saturating_sub(1));
        for row in range.rows().take(shown + 1) {
            let cells: Vec<String> = row.iter().map(text).collect();
            println!("    | {}", cells.join(" | "));
        }
    }
    Ok(())
}

/// A cell as a person reads it: dates as dates.
fn text(cell: &Data) -> String {
    match cell {
        Data::DateTime(d) => {
            let epoch =
                chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("a date").and_hms_opt(0, 0, 0).expect("midnight");
            let at = epoch + chrono::Duration::milliseconds((d.as_f64() * 86_400_000.0).round() as i64);
            at.format("%Y-%m-%d %H:%M").to_string()
        }
        other => other.to_string(),
    }
}
