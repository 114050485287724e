//! Printable HTML: one self-contained page with a print stylesheet for clean A4 paper.

use super::blocks::{rag_fill, Block, Inline};
use super::ExportError;
use std::io::Write;

const STYLE: &str = "
body { font: 11pt/1.4 system-ui, 'Segoe UI', Arial, sans-serif; color: #202124; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 20pt; margin: 0 0 .3rem; } h2 { font-size: 15pt; margin: 1.4rem 0 .4rem; border-bottom: 1px solid #999; }
h3 { font-size: 12pt; margin: 1rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: 9.5pt; }
th, td { border: 1px solid #999; padding: .25rem .4rem; text-align: left; vertical-align: top; }
th { background: #f1f3f4; }
td.rag { font-weight: 600; text-transform: capitalize; white-space: nowrap; }
ins { background: #b7e1cd; text-decoration: underline; } del { background: #f4c7c3; text-decoration: line-through; }
@page { size: A4; margin: 18mm 15mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10pt; }
  h2 { break-after: avoid; } h3 { break-after: avoid; }
  tr, td, th { break-inside: avoid; } thead { display: table-header-group; }
  td.rag, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}";

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn inline(i: &Inline) -> String {
    match i {
        Inline::Text(t) => escape(t),
        Inline::Strong(t) => format!("<strong>{}</strong>", escape(t)),
        Inline::Added(t) => format!("<ins>{}</ins>", escape(t)),
        Inline::Removed(t) => format!("<del>{}</del>", escape(t)),
    }
}

/// Writes blocks as an HTML page, block by block (it streams).
pub fn write(blocks: &[Block], out: &mut dyn Write) -> Result<(), ExportError> {
    let title = blocks
        .iter()
        .find_map(|b| match b {
            Block::Heading(_, t) => Some(t.as_str()),
            _ => None,
        })
        .unwrap_or("Plansync");
    write!(
        out,
        "<!doctype html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(title)
    )?;
    for b in blocks {
        match b {
            Block::Heading(level, t) => writeln!(out, "<h{level}>{}</h{level}>", escape(t))?,
            // A chart's words (its alternative text).
            Block::Figure(f) => writeln!(out, "<p>{}</p>", escape(&f.alt))?,
            Block::Para(inlines) => writeln!(
                out,
                "<p>{}</p>",
                inlines.iter().map(inline).collect::<String>()
            )?,
            Block::List(items) => {
                write!(out, "<ul>")?;
                for i in items {
                    write!(out, "<li>{}</li>", escape(i))?;
                }
                writeln!(out, "</ul>")?;
            }
            Block::Table { header, rows } => {
                write!(out, "<table><thead><tr>")?;
                for h in header {
                    write!(out, "<th>{}</th>", escape(h))?;
                }
                write!(out, "</tr></thead><tbody>")?;
                for row in rows {
                    write!(out, "<tr>")?;
                    for c in row {
                        match c.rag {
                            Some(r) => write!(
                                out,
                                "<td class=\"rag\" style=\"background:#{}\">{}</td>",
                                rag_fill(r),
                                escape(&c.text)
                            )?,
                            None if c.text == "not rated" => {
                                write!(out, "<td class=\"rag\">{}</td>", escape(&c.text))?
                            }
                            None => write!(out, "<td>{}</td>", escape(&c.text))?,
                        }
                    }
                    writeln!(out, "</tr>")?;
                }
                writeln!(out, "</tbody></table>")?;
            }
        }
    }
    writeln!(out, "</body></html>")?;
    Ok(())
}
