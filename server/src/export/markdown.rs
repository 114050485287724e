//! Markdown: headings, paragraphs, lists and pipe tables.

use super::blocks::{Block, Inline};
use super::ExportError;
use std::io::Write;

/// Plan text as Markdown text: no raw HTML (`<`, `>` and `&` become entities), no links or
/// images (`[` and `]` escaped), one line.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn cell(s: &str) -> String {
    text(s).replace('|', "\\|")
}

/// Writes blocks as Markdown.
pub fn write(blocks: &[Block], out: &mut dyn Write) -> Result<(), ExportError> {
    for b in blocks {
        match b {
            Block::Heading(level, t) => {
                writeln!(out, "{} {}\n", "#".repeat(*level as usize), text(t))?
            }
            // A chart's words (its alternative text).
            Block::Figure(f) => writeln!(out, "{}\n", text(&f.alt))?,
            Block::Para(inlines) => {
                let text: String = inlines
                    .iter()
                    .map(|i| match i {
                        Inline::Text(t) => text(t),
                        Inline::Strong(t) => format!("**{}** ", text(t.trim())),
                        Inline::Added(t) => format!("**{}** ", text(t.trim())),
                        Inline::Removed(t) => format!("~~{}~~ ", text(t.trim())),
                    })
                    .collect();
                writeln!(out, "{}\n", text.trim_end())?;
            }
            Block::List(items) => {
                for i in items {
                    writeln!(out, "- {}", text(i))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_links_and_images_in_plan_text_are_written_as_plain_text() {
        let blocks = vec![
            Block::Heading(2, "<script>alert(1)</script>".into()),
            Block::Para(vec![Inline::Text(
                "![x](http://tracker.example/p.gif) & <img src=x onerror=alert(1)>".into(),
            )]),
            Block::List(vec!["[click](javascript:alert(1))".into()]),
        ];
        let mut out = Vec::new();
        write(&blocks, &mut out).unwrap();
        let md = String::from_utf8(out).unwrap();
        assert!(!md.contains('<'), "{md}");
        assert!(
            !md.replace("\\](", "").contains("]("),
            "no link or image: {md}"
        );
        assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{md}");
        assert!(md.contains("\\[click\\](javascript:alert(1))"), "{md}");
    }
}
