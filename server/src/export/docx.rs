//! Word .docx through docx-rs: heading styles, tables with shaded RAG cells, A4 pages.

use super::blocks::{rag_fill, Block, Inline};
use super::ExportError;
use docx_rs::{
    Docx, PageMargin, Paragraph, Run, Shading, Style, StyleType, Table, TableCell, TableRow,
};
use std::io::{Cursor, Write};

fn run(i: &Inline) -> Run {
    match i {
        Inline::Text(t) => Run::new().add_text(t),
        Inline::Strong(t) => Run::new().add_text(t).bold(),
        Inline::Added(t) => Run::new().add_text(t).underline("single").color("0B6E3A"),
        Inline::Removed(t) => Run::new().add_text(t).strike().color("A50E0E"),
    }
}

fn cell(text: &str, fill: Option<&str>, bold: bool) -> TableCell {
    let mut r = Run::new().add_text(text).size(18);
    if bold {
        r = r.bold();
    }
    let c = TableCell::new().add_paragraph(Paragraph::new().add_run(r));
    match fill {
        Some(f) => c.shading(Shading::new().fill(f)),
        None => c,
    }
}

/// Writes blocks as a Word document.
pub fn write(blocks: &[Block], out: &mut dyn Write) -> Result<(), ExportError> {
    let mut doc = Docx::new()
        // A4 in twentieths of a point, with 2 cm margins.
        .page_size(11906, 16838)
        .page_margin(
            PageMargin::new()
                .top(1134)
                .bottom(1134)
                .left(1134)
                .right(1134),
        );
    for (id, name, size) in [
        ("Heading1", "Heading 1", 36),
        ("Heading2", "Heading 2", 30),
        ("Heading3", "Heading 3", 24),
    ] {
        doc = doc.add_style(
            Style::new(id, StyleType::Paragraph)
                .name(name)
                .size(size)
                .bold(),
        );
    }
    for b in blocks {
        doc = match b {
            Block::Heading(level, t) => doc.add_paragraph(
                Paragraph::new()
                    .add_run(Run::new().add_text(t))
                    .style(&format!("Heading{}", level.clamp(&1, &3))),
            ),
            // Word gets a chart's words (its alternative text).
            Block::Figure(f) => {
                doc.add_paragraph(Paragraph::new().add_run(Run::new().add_text(&f.alt)))
            }
            Block::Para(inlines) => {
                let mut p = Paragraph::new();
                for i in inlines {
                    p = p.add_run(run(i));
                }
                doc.add_paragraph(p)
            }
            Block::List(items) => {
                let mut d = doc;
                for i in items {
                    d = d.add_paragraph(
                        Paragraph::new().add_run(Run::new().add_text(format!("• {i}"))),
                    );
                }
                d
            }
            Block::Table { header, rows } => {
                let mut trs = vec![TableRow::new(
                    header
                        .iter()
                        .map(|h| cell(h, Some("F1F3F4"), true))
                        .collect(),
                )];
                for row in rows {
                    trs.push(TableRow::new(
                        row.iter()
                            .map(|c| cell(&c.text, c.rag.map(rag_fill), c.rag.is_some()))
                            .collect(),
                    ));
                }
                doc.add_table(Table::new(trs))
            }
        };
    }
    // The zip writer needs to seek, so the file is built in memory and then written out.
    let mut buf = Cursor::new(Vec::new());
    doc.build()
        .pack(&mut buf)
        .map_err(|e| ExportError::Docx(e.to_string()))?;
    out.write_all(buf.get_ref())?;
    Ok(())
}
