//! Papers out and trackers in: `/api/plans/{plan}/exports` and
//! `/api/plans/{plan}/import/tracker`.

use crate::{ImportPlan, Mapping, TrackerField};
use serde::{Deserialize, Serialize};

/// An export the server makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportLink {
    /// File name, e.g. `plan.docx`.
    pub name: String,
    /// What it is.
    pub description: String,
}

/// The query of a tracker import.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TrackerQuery {
    /// `csv` or `xlsx`.
    pub format: String,
    /// The column mapping, `field:column,...` (e.g. `action:2,theme:0`); guessed from the
    /// header row if absent.
    pub map: Option<String>,
    /// `true` to import; otherwise only a preview.
    #[serde(default)]
    pub commit: bool,
    /// The reporting period RAG cells are for (now's if absent).
    pub period: Option<String>,
}

/// What a tracker file would import (or did, with `commit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackerPreview {
    /// The header row.
    pub header: Vec<String>,
    /// The first ten rows after it.
    pub first_rows: Vec<Vec<String>>,
    /// Rows in the file after the header.
    pub rows_total: usize,
    /// Rows that cannot be imported, in all (`import.bad` lists the first 50).
    pub bad_total: usize,
    /// The mapping used (field -> column).
    pub mapping: Mapping,
    /// Every field that can be mapped, with its label.
    pub fields: Vec<(TrackerField, String)>,
    /// What the import does (`rows` lists the first 20 rows it reads, `bad` the first 50
    /// it cannot).
    pub import: ImportPlan,
    /// Whether it was carried out.
    pub imported: bool,
}
