//! The action tracker as a spreadsheet: CSV (csv crate) and Excel (rust_xlsxwriter) with
//! coloured and worded RAG cells, filters on the header row and a frozen header.

use super::blocks::rag_fill;
use super::tracker::{tracker_rows, TRACKER_COLUMNS};
use super::{ExportError, Options};
use crate::spreadsheet::neutralize_cell;
use plansync_shared::Plan;
use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook};
use std::io::Write;

/// Writes the tracker as CSV, row by row (it streams).
pub fn csv(plan: &Plan, opts: &Options, out: &mut dyn Write) -> Result<(), ExportError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(TRACKER_COLUMNS)?;
    for row in tracker_rows(plan, opts) {
        // Text a spreadsheet would run as a formula is written as text (OWASP CSV injection).
        w.write_record(row.cells.iter().map(|c| neutralize_cell(c).into_owned()))?;
    }
    w.flush()?;
    Ok(())
}

/// Writes the tracker as an Excel workbook.
pub fn xlsx(plan: &Plan, opts: &Options, out: &mut dyn Write) -> Result<(), ExportError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Action tracker")?;
    let head = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xF1F3F4))
        .set_border_bottom(FormatBorder::Thin);
    let wrap = Format::new().set_text_wrap();
    for (c, h) in TRACKER_COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &head)?;
    }
    let rows = tracker_rows(plan, opts);
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, value) in row.cells.iter().enumerate() {
            if c == 9 {
                let fill = u32::from_str_radix(
                    rag_fill(row.rag.unwrap_or(plansync_shared::Rag::NotRated)),
                    16,
                )
                .unwrap_or(0xFFFFFF);
                let f = Format::new()
                    .set_bold()
                    .set_background_color(Color::RGB(fill));
                sheet.write_string_with_format(r, c as u16, value, &f)?;
            } else {
                sheet.write_string_with_format(r, c as u16, value, &wrap)?;
            }
        }
    }
    for (c, width) in [18, 30, 40, 20, 20, 20, 18, 11, 12, 10, 22, 50, 20]
        .iter()
        .enumerate()
    {
        sheet.set_column_width(c as u16, *width)?;
    }
    sheet.autofilter(0, 0, rows.len() as u32, TRACKER_COLUMNS.len() as u16 - 1)?;
    sheet.set_freeze_panes(1, 0)?;
    out.write_all(&book.save_to_buffer()?)?;
    Ok(())
}
