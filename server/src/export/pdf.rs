//! PDF: a paper's blocks typeset by typst as a tagged A4 PDF (PDF/UA-1: headings, real
//! tables with header cells, reading order, the document's language and title), with real
//! text and the fonts embedded. Nothing is read from disk or the network: the template and
//! the fonts are built into the binary, and the blocks reach the template as JSON data, so
//! no text from a plan is ever read as typst markup.

use super::blocks::{rag_fill, Block, Cell, Drawing, Inline};
use super::ExportError;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::LazyLock;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// The paper template (typst markup that reads `/paper.json`).
const TEMPLATE: &str = include_str!("paper.typ");

/// What every paper is typeset with, made once: the standard library and the fonts.
struct Typesetter {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    template: Source,
    data_id: FileId,
}

fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("a fixed absolute path");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

static TYPESETTER: LazyLock<Typesetter> = LazyLock::new(|| {
    // DejaVu Sans: a plain sans-serif face, as councils' papers use, that covers the
    // accented and non-Latin letters people's names and places may have.
    let fonts: Vec<Font> = [
        dejavu::sans::regular(),
        dejavu::sans::bold(),
        dejavu::sans::oblique(),
        dejavu::sans::bold_oblique(),
    ]
    .into_iter()
    .flat_map(|data| Font::iter(Bytes::new(data)))
    .collect();
    Typesetter {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
        template: Source::new(file_id("/paper.typ"), TEMPLATE.to_string()),
        data_id: file_id("/paper.json"),
    }
});

/// One paper's typesetting: the shared typesetter and this paper's data.
struct Paper {
    data: Bytes,
}

impl World for Paper {
    fn library(&self) -> &LazyHash<Library> {
        &TYPESETTER.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &TYPESETTER.book
    }

    fn main(&self) -> FileId {
        TYPESETTER.template.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == TYPESETTER.template.id() {
            Ok(TYPESETTER.template.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == TYPESETTER.data_id {
            Ok(self.data.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        TYPESETTER.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

fn run(i: &Inline) -> Value {
    let (kind, text) = match i {
        Inline::Text(t) => ("text", t),
        Inline::Strong(t) => ("strong", t),
        Inline::Added(t) => ("added", t),
        Inline::Removed(t) => ("removed", t),
    };
    json!({ "kind": kind, "text": text })
}

/// Each column's share of a table's width: room for its longest heading word and for its
/// cells (up to 40 characters: longer text wraps), so an update gets the room it needs;
/// a column of short texts (a date, a RAG, a count) gets exactly its widest text's room,
/// so it keeps to one line.
fn widths(header: &[String], rows: &[Vec<Cell>]) -> Vec<Value> {
    (0..header.len())
        .map(|i| {
            let heading = header[i]
                .split_whitespace()
                .map(|w| w.chars().count())
                .max()
                .unwrap_or(0);
            let cells = rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.text.chars().count())
                .max()
                .unwrap_or(0);
            let room = heading.max(cells.min(40));
            if room > 12 {
                json!({ "share": room })
            } else {
                json!({ "chars": room })
            }
        })
        .collect()
}

fn block(b: &Block) -> Value {
    match b {
        Block::Heading(level, text) => {
            json!({ "kind": "heading", "level": level.clamp(&1, &3), "text": text })
        }
        Block::Para(runs) => {
            json!({ "kind": "para", "runs": runs.iter().map(run).collect::<Vec<_>>() })
        }
        Block::List(items) => json!({ "kind": "list", "items": items }),
        Block::Table { header, rows } => {
            let widths = widths(header, rows);
            let width = header.len();
            let rows: Vec<Vec<Value>> = rows
                .iter()
                .map(|row| {
                    // Every row exactly as wide as the header, so cells never shift columns.
                    (0..width)
                        .map(|i| match row.get(i) {
                            Some(c) => json!({
                                "text": c.text,
                                "fill": c.rag.map(|r| format!("#{}", rag_fill(r))),
                            }),
                            None => json!({ "text": "", "fill": null }),
                        })
                        .collect()
                })
                .collect();
            json!({ "kind": "table", "header": header, "rows": rows, "widths": widths })
        }
        Block::Figure(f) => match &f.drawing {
            Drawing::RagBar { label, counts } => json!({
                "kind": "bar",
                "alt": f.alt,
                "label": label,
                "segments": counts.iter().map(|(rag, n)| json!({
                    "count": n,
                    "fill": format!("#{}", rag_fill(*rag)),
                })).collect::<Vec<_>>(),
            }),
            Drawing::Values {
                points,
                target,
                tolerance,
            } => json!({
                "kind": "values",
                "alt": f.alt,
                // Finite numbers only: JSON has no room for anything else.
                "points": points.iter().map(|(l, v)| json!([l, if v.is_finite() { *v } else { 0.0 }])).collect::<Vec<_>>(),
                "target": if target.is_finite() { *target } else { 0.0 },
                "tolerance": if tolerance.is_finite() { tolerance.abs() } else { 0.0 },
            }),
        },
    }
}

/// The paper's blocks as the template's data.
fn data(blocks: &[Block]) -> Value {
    let title = blocks
        .iter()
        .find_map(|b| match b {
            Block::Heading(_, t) if !t.trim().is_empty() => Some(t.as_str()),
            _ => None,
        })
        .unwrap_or("Plansync paper");
    let blocks: Vec<Value> = blocks
        .iter()
        .filter(|b| !matches!(b, Block::Table { header, .. } if header.is_empty()))
        .map(block)
        .collect();
    json!({ "title": title, "blocks": blocks })
}

fn messages(diagnostics: &[SourceDiagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| d.message.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Typesets blocks as a tagged A4 PDF (PDF/UA-1) and writes it.
pub fn write(blocks: &[Block], out: &mut dyn Write) -> Result<(), ExportError> {
    let bytes = render(blocks)?;
    out.write_all(&bytes)?;
    Ok(())
}

/// Typesets blocks as a tagged A4 PDF (PDF/UA-1).
pub fn render(blocks: &[Block]) -> Result<Vec<u8>, ExportError> {
    let paper = Paper {
        data: Bytes::new(serde_json::to_vec(&data(blocks))?),
    };
    let compiled = typst::compile::<typst_layout::PagedDocument>(&paper);
    let result = compiled
        .output
        .map_err(|e| ExportError::Pdf(format!("typesetting failed: {}", messages(&e))))
        .and_then(|document| {
            let standards = typst_pdf::PdfStandards::new(&[typst_pdf::PdfStandard::Ua_1])
                .map_err(|e| ExportError::Pdf(e.message().to_string()))?;
            let options = typst_pdf::PdfOptions {
                standards,
                ..Default::default()
            };
            typst_pdf::pdf(&document, &options)
                .map_err(|e| ExportError::Pdf(format!("writing the PDF failed: {}", messages(&e))))
        });
    // typst memoises layout across compilations; keep only what the last few papers used,
    // so memory stays bounded however many papers a server makes.
    typst::comemo::evict(3);
    result
}
