//! Workbooks as a client sees them: converted to PDF by LibreOffice headless (a real
//! spreadsheet application, as the people receiving them use), then read back with poppler's
//! `pdfinfo` and `pdftotext`. `infra/local/stack.sh install` installs both for `make test`.

use std::process::Command;

/// A workbook printed to PDF.
#[derive(Debug)]
pub struct Printed {
    /// Pages of the whole workbook.
    pub pages: u32,
    /// The text of every page, as `pdftotext -layout` reads it.
    pub text: String,
}

/// Prints `xlsx` to PDF with LibreOffice (its own profile directory, so that tests may run at
/// once) and reads the page count and the text.
pub fn print(xlsx: &[u8]) -> Printed {
    let dir = std::env::temp_dir().join(format!("print-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let book = dir.join("book.xlsx");
    std::fs::write(&book, xlsx).expect("the workbook written");
    let profile = format!("-env:UserInstallation=file://{}", dir.join("profile").display());
    let out = Command::new("soffice")
        .args(["--headless", "--norestore", "--nolockcheck", &profile, "--convert-to", "pdf", "--outdir"])
        .arg(&dir)
        .arg(&book)
        .output()
        .expect("soffice runs (infra/local/stack.sh install installs LibreOffice)");
    let pdf = dir.join("book.pdf");
    assert!(pdf.exists(), "LibreOffice made no PDF: {}", String::from_utf8_lossy(&out.stderr));
    let info = Command::new("pdfinfo").arg(&pdf).output().expect("pdfinfo runs");
    let pages = String::from_utf8_lossy(&info.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|n| n.trim().parse::<u32>().expect("a page count")))
        .expect("pdfinfo tells the pages");
    let text = Command::new("pdftotext").arg("-layout").arg(&pdf).arg("-").output().expect("pdftotext runs");
    let _ = std::fs::remove_dir_all(&dir);
    Printed { pages, text: String::from_utf8_lossy(&text.stdout).into_owned() }
}
