//! Exports for committee papers: the plan document, the action tracker, the quarterly
//! exception report, the workshop outputs, a comparison of two versions, full JSON and the
//! raw automerge file. Each report is built once as [`Block`]s (or tracker rows) and each
//! format has its own module that writes them.

mod blocks;
mod docx;
mod html;
mod json;
mod markdown;
mod pack;
mod pdf;
mod reports;
mod sheet;
mod tracker;

pub use blocks::{Block, Cell, Inline};
pub use json::{plan_from_json, PlanFile, JSON_FORMAT, JSON_VERSION};
pub use tracker::{tracker_rows, TrackerRow, TRACKER_COLUMNS};

use plansync_shared::{BoardId, Plan, ReportingPeriod};
use std::io::Write;

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The export name is not one we make.
    #[error("there is no export called '{0}'; see the list of exports")]
    Unknown(String),
    /// Writing failed.
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),
    /// The Word writer failed.
    #[error("writing the Word file failed: {0}")]
    Docx(String),
    /// The Excel writer failed.
    #[error("writing the Excel file failed: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// The CSV writer failed.
    #[error("writing the CSV file failed: {0}")]
    Csv(#[from] csv::Error),
    /// JSON failed.
    #[error("writing JSON failed: {0}")]
    Json(#[from] serde_json::Error),
    /// The PDF could not be typeset.
    #[error("making the PDF failed: {0}")]
    Pdf(String),
}

/// Which paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// The plan document.
    Plan,
    /// The action tracker.
    Tracker,
    /// The quarterly exception report for a board.
    Exceptions,
    /// The workshop outputs.
    Workshop,
    /// What changed between two versions.
    Compare,
    /// The Board pack for the Board's meeting.
    Pack,
}

/// Which file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Printable HTML.
    Html,
    /// Markdown.
    Markdown,
    /// Word.
    Docx,
    /// A tagged A4 PDF.
    Pdf,
    /// Comma-separated values.
    Csv,
    /// Excel.
    Xlsx,
    /// Full JSON.
    Json,
    /// The raw automerge document.
    Automerge,
}

impl Format {
    /// The media type to serve it with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Pdf => "application/pdf",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
            Format::Automerge => "application/octet-stream",
        }
    }
}

/// One export: a report in a format, named like a file (`plan.docx`, `tracker.xlsx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Export {
    /// The paper (`None` for the JSON and automerge files, which hold the whole plan).
    pub report: Option<Report>,
    /// The format.
    pub format: Format,
}

/// Every export: its file name, paper, format and what it is.
pub const EXPORTS: &[(&str, Option<Report>, Format, &str)] = &[
    (
        "plan.html",
        Some(Report::Plan),
        Format::Html,
        "The plan document, printable to A4",
    ),
    (
        "plan.md",
        Some(Report::Plan),
        Format::Markdown,
        "The plan document as Markdown",
    ),
    (
        "plan.docx",
        Some(Report::Plan),
        Format::Docx,
        "The plan document for Word",
    ),
    (
        "plan.pdf",
        Some(Report::Plan),
        Format::Pdf,
        "The plan document as an A4 PDF",
    ),
    (
        "tracker.csv",
        Some(Report::Tracker),
        Format::Csv,
        "The action tracker as CSV",
    ),
    (
        "tracker.xlsx",
        Some(Report::Tracker),
        Format::Xlsx,
        "The action tracker for Excel",
    ),
    (
        "exceptions.html",
        Some(Report::Exceptions),
        Format::Html,
        "The quarterly exception report for a board, printable",
    ),
    (
        "exceptions.docx",
        Some(Report::Exceptions),
        Format::Docx,
        "The quarterly exception report for a board, for Word",
    ),
    (
        "exceptions.pdf",
        Some(Report::Exceptions),
        Format::Pdf,
        "The quarterly exception report for a board as an A4 PDF",
    ),
    (
        "workshop.html",
        Some(Report::Workshop),
        Format::Html,
        "The workshop outputs, printable",
    ),
    (
        "workshop.docx",
        Some(Report::Workshop),
        Format::Docx,
        "The workshop outputs for Word",
    ),
    (
        "workshop.pdf",
        Some(Report::Workshop),
        Format::Pdf,
        "The workshop outputs as an A4 PDF",
    ),
    (
        "compare.html",
        Some(Report::Compare),
        Format::Html,
        "What changed since the snapshot to compare from, printable",
    ),
    (
        "compare.docx",
        Some(Report::Compare),
        Format::Docx,
        "What changed since the snapshot to compare from, for Word",
    ),
    (
        "compare.pdf",
        Some(Report::Compare),
        Format::Pdf,
        "What changed since the snapshot to compare from, as an A4 PDF",
    ),
    (
        "pack.pdf",
        Some(Report::Pack),
        Format::Pdf,
        "The Board pack for a reporting period as an A4 PDF: at a glance, each board's sign-off and exceptions, indicators out of tolerance, what changed",
    ),
    (
        "pack.html",
        Some(Report::Pack),
        Format::Html,
        "The Board pack, printable",
    ),
    (
        "plan.json",
        None,
        Format::Json,
        "The whole plan as JSON (schema in EXPORTS.md)",
    ),
    (
        "plan.automerge",
        None,
        Format::Automerge,
        "The raw automerge file: a lossless backup with all history",
    ),
];

impl Export {
    /// Whether the paper reports boards' sign-offs (so the caller reads them first).
    pub fn shows_sign_offs(&self) -> bool {
        matches!(self.report, Some(Report::Exceptions | Report::Pack))
    }

    /// Parses an export's file name.
    pub fn parse(name: &str) -> Result<Self, ExportError> {
        EXPORTS
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, report, format, _)| Self {
                report: *report,
                format: *format,
            })
            .ok_or_else(|| ExportError::Unknown(name.to_string()))
    }
}

/// What an export is of and for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The reporting period RAG and direction of travel are shown for.
    pub period: ReportingPeriod,
    /// The board an exception report is for (`None`: the whole partnership).
    pub board: Option<BoardId>,
    /// Which version this is ("now", or a snapshot's name), printed on the paper.
    pub version: String,
    /// For a comparison: the older version and its label.
    pub older: Option<(Plan, String)>,
    /// When it was made (ISO date and time), printed on the paper.
    pub made: String,
    /// The plan's sign-offs (oldest first, each marked if changed since), for the papers
    /// that report a board's return.
    pub sign_offs: Vec<plansync_shared::SignOff>,
}

/// Writes an export of `plan` (and, for the automerge file, the document's `saved` bytes).
pub fn write(
    export: Export,
    plan: &Plan,
    saved: Option<&[u8]>,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    let blocks = |report| match report {
        Report::Plan => reports::plan_document(plan, opts),
        Report::Exceptions => reports::exceptions(plan, opts),
        Report::Workshop => reports::workshop(plan, opts),
        Report::Compare => reports::comparison(plan, opts),
        Report::Tracker => tracker::tracker_blocks(plan, opts),
        Report::Pack => pack::board_pack(plan, opts),
    };
    match (export.report, export.format) {
        (Some(Report::Tracker), Format::Csv) => sheet::csv(plan, opts, out),
        (Some(Report::Tracker), Format::Xlsx) => sheet::xlsx(plan, opts, out),
        (Some(r), Format::Html) => html::write(&blocks(r), out),
        (Some(r), Format::Markdown) => markdown::write(&blocks(r), out),
        (Some(r), Format::Docx) => docx::write(&blocks(r), out),
        (Some(r), Format::Pdf) => pdf::write(&blocks(r), out),
        (_, Format::Json) => json::write(plan, opts, out),
        (_, Format::Automerge) => Ok(out.write_all(saved.unwrap_or_default())?),
        (r, f) => Err(ExportError::Unknown(format!("{r:?} as {f:?}"))),
    }
}

#[cfg(test)]
mod tests;
