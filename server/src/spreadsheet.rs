//! Reading an action tracker spreadsheet (CSV or .xlsx) into rows of text, within limits:
//! rows, columns, non-empty cells, and for .xlsx the bytes the workbook unpacks to (measured
//! while unpacking, never trusted from the file). A workbook is read cell by cell, so a
//! far-away cell costs nothing until it is refused, and a zip bomb is stopped at the limit.

use std::io::{Read, Seek};

/// How much of a tracker file is read at most.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportLimits {
    /// Rows, the header included.
    pub max_rows: usize,
    /// Columns.
    pub max_columns: usize,
    /// Non-empty cells.
    pub max_cells: usize,
    /// Bytes every part of an .xlsx workbook unpacks to, together.
    pub max_unpacked_bytes: u64,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_rows: 5_000,
            max_columns: 100,
            max_cells: 200_000,
            max_unpacked_bytes: 64 << 20,
        }
    }
}

/// Parts a workbook may have (sheets, styles, relationships...).
const MAX_PARTS: usize = 1_000;

/// Text that a spreadsheet would run as a formula starts with one of these (OWASP's list).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written to a CSV paper: text a spreadsheet would run as a formula gets a
/// leading `'`, so Excel and LibreOffice show it as text.
pub fn neutralize_cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(FORMULA_START) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// A cell as read back from a CSV: the `'` that [`neutralize_cell`] added is taken off again.
pub fn restore_cell(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) => rest,
        _ => text,
    }
}

/// Reads a tracker file (`csv` or `xlsx`) into rows of text, refusing in words a file over
/// any limit.
pub fn read_table(
    format: &str,
    bytes: &[u8],
    limits: &ImportLimits,
) -> Result<Vec<Vec<String>>, String> {
    match format {
        "csv" => read_csv(bytes, limits),
        "xlsx" => read_xlsx(bytes, limits),
        other => Err(format!(
            "'{other}' is not a tracker format: use csv or xlsx"
        )),
    }
}

fn too_many_rows(limits: &ImportLimits) -> String {
    format!(
        "the file has more than {} rows, the most a tracker import reads: split it into smaller files",
        limits.max_rows
    )
}

fn too_many_columns(limits: &ImportLimits, row: usize) -> String {
    format!(
        "row {row} has more than {} columns, the most a tracker import reads: remove the extra columns",
        limits.max_columns
    )
}

fn too_many_cells(limits: &ImportLimits) -> String {
    format!(
        "the file has more than {} filled cells, the most a tracker import reads: split it into smaller files",
        limits.max_cells
    )
}

fn read_csv(bytes: &[u8], limits: &ImportLimits) -> Result<Vec<Vec<String>>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rows = Vec::new();
    let mut cells = 0;
    let mut record = csv::StringRecord::new();
    loop {
        let n = rows.len() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(format!("row {n} of the CSV file cannot be read: {e}")),
        }
        if n > limits.max_rows {
            return Err(too_many_rows(limits));
        }
        if record.len() > limits.max_columns {
            return Err(too_many_columns(limits, n));
        }
        cells += record.iter().filter(|c| !c.is_empty()).count();
        if cells > limits.max_cells {
            return Err(too_many_cells(limits));
        }
        rows.push(record.iter().map(|c| restore_cell(c).to_string()).collect());
    }
    Ok(rows)
}

/// Unpacks every part of the workbook into nothing, counting bytes, so a workbook that
/// unpacks to more than the limit is refused before anything is read from it.
fn check_unpacked_size<R: Read + Seek>(zip: R, limits: &ImportLimits) -> Result<(), String> {
    let not_xlsx =
        |e: zip::result::ZipError| format!("the file is not an Excel .xlsx workbook ({e})");
    let mut archive = zip::ZipArchive::new(zip).map_err(not_xlsx)?;
    if archive.len() > MAX_PARTS {
        return Err(format!(
            "the workbook has {} parts, more than the {MAX_PARTS} a tracker import reads",
            archive.len()
        ));
    }
    let unpack_failed = |e: std::io::Error| format!("the workbook cannot be unpacked ({e})");
    let mut left = limits.max_unpacked_bytes;
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).map_err(not_xlsx)?;
        let shared_strings = part
            .name()
            .map_err(not_xlsx)?
            .ends_with("sharedStrings.xml");
        let mut part = part.by_ref().take(left + 1);
        let mut read = 0;
        if shared_strings {
            // The reader reserves room for the count the file declares: check it first.
            let mut head = Vec::new();
            read = part
                .by_ref()
                .take(4096)
                .read_to_end(&mut head)
                .map_err(unpack_failed)? as u64;
            if declared_count(&head, "uniqueCount").is_some_and(|n| n > limits.max_cells as u64) {
                return Err(too_many_cells(limits));
            }
        }
        read += std::io::copy(&mut part, &mut std::io::sink()).map_err(unpack_failed)?;
        if read > left {
            return Err(format!(
                "the workbook unpacks to more than {} MB, the most a tracker import reads: save only the tracker sheet, or export it as CSV",
                limits.max_unpacked_bytes >> 20
            ));
        }
        left -= read;
    }
    Ok(())
}

/// The number in `name="N"` within an XML head, if there is one.
fn declared_count(head: &[u8], name: &str) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    let at = text.find(&format!("{name}=\""))? + name.len() + 2;
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    // A number too long for u64 is certainly over any limit.
    Some(digits.parse().unwrap_or(u64::MAX))
}

fn read_xlsx(bytes: &[u8], limits: &ImportLimits) -> Result<Vec<Vec<String>>, String> {
    use calamine::{Data, Reader};
    check_unpacked_size(std::io::Cursor::new(bytes), limits)?;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("the file is not an Excel .xlsx workbook ({e})"))?;
    let first = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or("the workbook has no sheets")?;
    let mut reader = book
        .worksheet_cells_reader(&first)
        .map_err(|e| format!("the first sheet cannot be read ({e})"))?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut cells = 0;
    while let Some(cell) = reader
        .next_cell()
        .map_err(|e| format!("the first sheet cannot be read ({e})"))?
    {
        let value = Data::from(cell.get_value().clone());
        let text = match value {
            Data::Empty => continue,
            v => v.to_string(),
        };
        if text.is_empty() {
            continue;
        }
        let (row, col) = cell.get_position();
        let (row, col) = (row as usize, col as usize);
        if row >= limits.max_rows {
            return Err(too_many_rows(limits));
        }
        if col >= limits.max_columns {
            return Err(too_many_columns(limits, row + 1));
        }
        cells += 1;
        if cells > limits.max_cells {
            return Err(too_many_cells(limits));
        }
        if rows.len() <= row {
            rows.resize_with(row + 1, Vec::new);
        }
        let r = &mut rows[row];
        if r.len() <= col {
            r.resize(col + 1, String::new());
        }
        r[col] = text;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_leading_cells_are_neutralized_and_read_back_as_written() {
        for text in [
            "=HYPERLINK(\"http://x\",\"x\")",
            "=1+1",
            "@SUM(1)",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "\tx",
            "\rx",
        ] {
            let written = neutralize_cell(text);
            assert!(written.starts_with('\''), "{text:?}");
            assert_eq!(restore_cell(&written), text);
        }
        assert_eq!(
            neutralize_cell("Reduce repeat burglary"),
            "Reduce repeat burglary"
        );
        assert_eq!(
            restore_cell("'quoted"),
            "'quoted",
            "a quote before plain text stays"
        );
    }

    #[test]
    fn a_csv_over_the_row_column_or_cell_limit_is_refused_in_words() {
        let limits = ImportLimits {
            max_rows: 3,
            max_columns: 2,
            max_cells: 6,
            max_unpacked_bytes: 1 << 20,
        };
        assert!(read_table("csv", b"a,b\n1,2\n3,4\n", &limits).is_ok());
        let rows = read_table("csv", b"a\n1\n2\n3\n", &limits).unwrap_err();
        assert!(rows.contains("more than 3 rows"), "{rows}");
        let cols = read_table("csv", b"a,b,c\n", &limits).unwrap_err();
        assert!(cols.contains("row 1 has more than 2 columns"), "{cols}");
        let cells = read_table(
            "csv",
            b"a,b\n1,2\n3,4\n",
            &ImportLimits {
                max_cells: 5,
                max_rows: 9,
                ..limits
            },
        )
        .unwrap_err();
        assert!(cells.contains("more than 5 filled cells"), "{cells}");
    }

    /// A small real workbook (our own tracker export of the demo plan) to mutate.
    fn seed_workbook() -> &'static [u8] {
        static SEED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        SEED.get_or_init(|| {
            let mut rng = rand::rng();
            let plan = plansync_shared::demo_plan(&mut rng)
                .unwrap()
                .read()
                .unwrap();
            let mut out = Vec::new();
            crate::export::write(
                crate::export::Export::parse("tracker.xlsx").unwrap(),
                &plan,
                None,
                &crate::export::Options {
                    period: plansync_shared::ReportingPeriod::from_key("2026-Q2").unwrap(),
                    board: None,
                    version: "now".into(),
                    older: None,
                    made: String::new(),
                    sign_offs: Vec::new(),
                },
                &mut out,
            )
            .unwrap();
            out
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
        ))]
        #[test]
        fn fuzz_tracker_import_reads_any_csv_or_xlsx_bytes_within_limits_never_panicking(
            csv in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            flips in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 0..16),
            cut in proptest::prelude::any::<usize>(),
        ) {
            let limits = ImportLimits { max_rows: 50, max_columns: 20, max_cells: 400, max_unpacked_bytes: 1 << 20 };
            if let Ok(rows) = read_table("csv", &csv, &limits) {
                proptest::prop_assert!(rows.len() <= limits.max_rows);
                proptest::prop_assert!(rows.iter().all(|r| r.len() <= limits.max_columns));
            }
            let mut xlsx = seed_workbook().to_vec();
            for (at, byte) in flips {
                let n = xlsx.len();
                xlsx[at % n] ^= byte;
            }
            if cut % 4 == 0 {
                xlsx.truncate(cut % (xlsx.len() + 1));
            }
            if let Ok(rows) = read_table("xlsx", &xlsx, &limits) {
                proptest::prop_assert!(rows.len() <= limits.max_rows);
                proptest::prop_assert!(rows.iter().all(|r| r.len() <= limits.max_columns));
            }
        }

        #[test]
        fn fuzz_tracker_import_reads_workbooks_with_cells_anywhere_within_limits(
            cells in proptest::collection::vec(
                (
                    proptest::prop_oneof![0u32..60, 0u32..1_048_576],
                    proptest::prop_oneof![0u16..25, 0u16..16_384],
                    proptest::option::of(".{0,12}"),
                ),
                0..40,
            ),
        ) {
            let limits = ImportLimits { max_rows: 50, max_columns: 20, max_cells: 30, max_unpacked_bytes: 1 << 20 };
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            for (row, col, text) in &cells {
                let _ = match text {
                    Some(t) => sheet.write_string(*row, *col, t.as_str()).map(|_| ()),
                    None => sheet.write_number(*row, *col, f64::from(*row)).map(|_| ()),
                };
            }
            let bytes = book.save_to_buffer().unwrap();
            match read_table("xlsx", &bytes, &limits) {
                Ok(rows) => {
                    proptest::prop_assert!(rows.len() <= limits.max_rows);
                    proptest::prop_assert!(rows.iter().all(|r| r.len() <= limits.max_columns));
                    let filled: usize = rows.iter().map(|r| r.iter().filter(|c| !c.is_empty()).count()).sum();
                    proptest::prop_assert!(filled <= limits.max_cells);
                }
                Err(e) => proptest::prop_assert!(e.contains("more than"), "{}", e),
            }
        }
    }
}
