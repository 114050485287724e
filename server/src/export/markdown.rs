//! Markdown: headings, paragraphs, lists and pipe tables.

use super::blocks::{Block, Inline};
use super::ExportError;
use std::io::Write;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Writes blocks as Markdown.
pub fn write(blocks: &[Block], out: &mut dyn Write) -> Result<(), ExportError> {
    for b in blocks {
        match b {
            Block::Heading(level, t) => writeln!(
                out,
                "{} {}\n",
                "#".repeat(*level as usize),
                t.replace('\n', " ")
            )?,
            Block::Para(inlines) => {
                let text: String = inlines
                    .iter()
                    .map(|i| match i {
                        Inline::Text(t) => t.clone(),
                        Inline::Strong(t) => format!("**{}** ", t.trim()),
                        Inline::Added(t) => format!("**{}** ", t.trim()),
                        Inline::Removed(t) => format!("~~{}~~ ", t.trim()),
                    })
                    .collect();
                writeln!(out, "{}\n", text.trim_end())?;
            }
            Block::List(items) => {
                for i in items {
                    writeln!(out, "- {}", i.replace('\n', " "))?;
                }
                writeln!(out)?;
            }
            Block::Table { header, rows } => {
                writeln!(
                    out,
                    "| {} |",
                    header
                        .iter()
                        .map(|h| cell(h))
                        .collect::<Vec<_>>()
                        .join(" | ")
                )?;
                writeln!(out, "|{}", "---|".repeat(header.len()))?;
                for row in rows {
                    writeln!(
                        out,
                        "| {} |",
                        row.iter()
                            .map(|c| cell(&c.text))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    )?;
                }
                writeln!(out)?;
            }
        }
    }
    Ok(())
}
