//! The few shapes every paper is made of, so each format writes them once.

use plansync_shared::Rag;

/// A run of text in a paragraph or cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// Bold text (a label).
    Strong(String),
    /// Words added (in a comparison).
    Added(String),
    /// Words removed (in a comparison).
    Removed(String),
}

/// A table cell: text, and a RAG rating when the cell shows one (coloured and worded).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// What the cell says.
    pub text: String,
    /// The rating it shows, if it is a RAG cell.
    pub rag: Option<Rag>,
}

impl Cell {
    /// A plain cell.
    pub fn text(s: impl Into<String>) -> Self {
        Self {
            text: s.into(),
            rag: None,
        }
    }

    /// A RAG cell: coloured, and the word too ("red"), or "not rated".
    pub fn rag(rag: Option<Rag>) -> Self {
        Self {
            text: rag.unwrap_or(Rag::NotRated).to_string(),
            rag,
        }
    }
}

/// One block of a paper.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading, level 1 to 3.
    Heading(u8, String),
    /// A paragraph.
    Para(Vec<Inline>),
    /// A bulleted list.
    List(Vec<String>),
    /// A table with a header row.
    Table {
        /// Column headings.
        header: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<Cell>>,
    },
    /// A chart, drawn where the format can draw (the PDF) and its words everywhere.
    Figure(Figure),
}

/// A chart and the same in words (its alternative text).
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// What it shows, in words: the alternative text, and all other formats print it.
    pub alt: String,
    /// What to draw.
    pub drawing: Drawing,
}

/// What a figure draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Drawing {
    /// A labelled bar of RAG counts, stacked red, amber, green, not rated.
    RagBar {
        /// The theme's or board's name.
        label: String,
        /// Each rating with its count.
        counts: Vec<(Rag, usize)>,
    },
    /// An indicator's values by period against its target band.
    Values {
        /// Each period's label and value, oldest first.
        points: Vec<(String, f64)>,
        /// The target.
        target: f64,
        /// How far from the target is still within tolerance.
        tolerance: f64,
    },
}

impl Block {
    /// A paragraph of plain text.
    pub fn para(s: impl Into<String>) -> Self {
        Block::Para(vec![Inline::Text(s.into())])
    }

    /// A paragraph "Label: value".
    pub fn labelled(label: &str, value: impl Into<String>) -> Self {
        Block::Para(vec![
            Inline::Strong(format!("{label}: ")),
            Inline::Text(value.into()),
        ])
    }
}

/// The RAG colours used in every format (fill, as hex without '#').
pub fn rag_fill(rag: Rag) -> &'static str {
    match rag {
        Rag::Red => "F4C7C3",
        Rag::Amber => "FCE8B2",
        Rag::Green => "B7E1CD",
        Rag::NotRated => "E8EAED",
    }
}
