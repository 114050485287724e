//! The web app's files for the wire: reading them from a folder, which are worth
//! compressing, and gzip and brotli. The build script uses this module too (the app built
//! into the binary is compressed when the binary is built); the server uses it for an app
//! read from `--app-dir`, compressed at run time.

use std::io::Write;
use std::path::Path;

/// Every file under `dir` (subfolders included) by its path from `dir` with `/` between
/// folders (`index.html`, `icons/icon-192.png`), and its bytes.
pub fn read_folder(dir: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                let name = rel.to_string_lossy().replace('\\', "/");
                found.push((name, std::fs::read(&path)?));
            }
        }
    }
    Ok(found)
}

/// Files under this size are sent as they are.
const COMPRESS_FROM: usize = 1024;

/// Brotli's best quality: the app's 3 MB take a few seconds of one core, once.
pub const BROTLI_BEST: i32 = 11;

/// Whether a file of the app named `name` (its extension says what it is) of `len` bytes is
/// worth compressing: text, scripts, styles, WebAssembly, JSON and SVG; not images or fonts,
/// which are compressed already.
pub fn worth_compressing(name: &str, len: usize) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    len >= COMPRESS_FROM
        && matches!(
            ext.to_ascii_lowercase().as_str(),
            "html" | "js" | "mjs" | "css" | "wasm" | "json" | "webmanifest" | "svg" | "xml" | "txt"
        )
}

/// `raw` gzipped at the best level, if that is smaller.
pub fn gzip(raw: &[u8]) -> Option<Vec<u8>> {
    gzip_at(raw, flate2::Compression::best())
}

/// `raw` gzipped at the fastest level (an answer made per request), if that is smaller.
#[allow(dead_code)] // the build script, which shares this module, has no answers to make
pub fn gzip_fast(raw: &[u8]) -> Option<Vec<u8>> {
    gzip_at(raw, flate2::Compression::fast())
}

fn gzip_at(raw: &[u8], level: flate2::Compression) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), level);
    enc.write_all(raw).ok()?;
    enc.finish().ok().filter(|c| c.len() < raw.len())
}

/// `raw` in brotli at `quality` (0–11), if that is smaller.
pub fn brotli(raw: &[u8], quality: i32) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len() / 3);
    let params = brotli::enc::BrotliEncoderParams {
        quality,
        lgwin: 22,
        ..Default::default()
    };
    let mut input = raw;
    brotli::BrotliCompress(&mut input, &mut out, &params).ok()?;
    Some(out).filter(|c| c.len() < raw.len())
}
