//! The web app's files, served from memory: built into the binary (so one file carries the
//! whole of Plansync into a room) or read from `--app-dir` at start for development. Each
//! file is sent in the best encoding the browser accepts (brotli, gzip, or as it is). The
//! built-in app was compressed when the binary was built (`build.rs`), so the first people
//! in a room get it compressed too; an app from `--app-dir` is compressed once, in the
//! background from the first time anyone asks for it (a server nobody opens in a browser
//! spends nothing on it). The files Trunk names by their content's hash are cached for a
//! year, the rest (the page, the service worker) revalidated with an `ETag`.

use crate::compress;
use axum::body::Body;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The app as built when the binary was compiled (empty if it was not built then).
#[derive(rust_embed::RustEmbed)]
#[folder = "$PLANSYNC_APP_FOLDER"]
struct Embedded;

/// The same files compressed when the binary was compiled: `NAME.br` and `NAME.gz`, each
/// only where it came out smaller.
#[derive(rust_embed::RustEmbed)]
#[folder = "$PLANSYNC_APP_COMPRESSED"]
struct EmbeddedCompressed;

/// How a file may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    fn token(self) -> Option<&'static str> {
        match self {
            Encoding::Brotli => Some("br"),
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        }
    }
}

/// One file of the app.
#[derive(Debug)]
struct AppFile {
    raw: Bytes,
    mime: HeaderValue,
    /// The hash of the raw bytes, quoted, without the encoding.
    tag: String,
    /// Named by its content's hash: never changes under this name.
    immutable: bool,
    /// Set once compressed (`None` inside: compressing did not make it smaller).
    brotli: OnceLock<Option<Bytes>>,
    gzip: OnceLock<Option<Bytes>>,
}

/// The web app's files by path (`index.html`, `plansync-app-….wasm`, …).
#[derive(Debug, Clone, Default)]
pub struct AppFiles {
    files: Arc<HashMap<String, AppFile>>,
    /// Whether compressing has started.
    compressing: Arc<std::sync::atomic::AtomicBool>,
}

/// Whether `name` carries a content hash as Trunk writes it (`name-0123456789abcdef.ext`,
/// `name-0123456789abcdef_bg.wasm`): a 64-bit hash in hex without leading zeros, so one
/// build in sixteen writes 15 digits (and fewer, more rarely still).
fn hashed(name: &str) -> bool {
    name.split(['-', '_', '.'])
        .any(|part| (12..=16).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl AppFiles {
    /// The app built into this binary, with its files as compressed when it was built.
    pub fn embedded() -> Self {
        let app =
            Self::from_files(Embedded::iter().filter_map(|name| {
                Some((name.to_string(), static_bytes(Embedded::get(&name)?.data)))
            }));
        let compressed = |name: &str| EmbeddedCompressed::get(name).map(|f| static_bytes(f.data));
        for (name, file) in app.files.iter() {
            let _ = file.brotli.set(compressed(&format!("{name}.br")));
            let _ = file.gzip.set(compressed(&format!("{name}.gz")));
        }
        // Every file's encodings are known: nothing is left to compress at run time.
        app.compressing
            .store(true, std::sync::atomic::Ordering::Relaxed);
        app
    }

    /// The app in a folder (its files read now; subfolders included).
    pub fn from_dir(dir: &Path) -> std::io::Result<Self> {
        let found = compress::read_folder(dir)?;
        Ok(Self::from_files(
            found
                .into_iter()
                .map(|(name, raw)| (name, Bytes::from(raw))),
        ))
    }

    fn from_files(files: impl IntoIterator<Item = (String, Bytes)>) -> Self {
        let files = files
            .into_iter()
            .map(|(name, raw)| {
                let mime = mime_guess::from_path(&name).first_or_octet_stream();
                let mime = match mime.essence_str() {
                    m if m.starts_with("text/") || m.contains("javascript") => {
                        format!("{m}; charset=utf-8")
                    }
                    m => m.to_string(),
                };
                let digest = Sha256::digest(&raw);
                let tag = format!("\"{}\"", hex16(&digest[..8]));
                let file = AppFile {
                    mime: HeaderValue::from_str(&mime)
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                    tag,
                    immutable: hashed(&name),
                    raw,
                    brotli: OnceLock::new(),
                    gzip: OnceLock::new(),
                };
                (name, file)
            })
            .collect();
        Self {
            files: Arc::new(files),
            compressing: Arc::default(),
        }
    }

    /// Whether there is an app to serve (an `index.html`).
    pub fn is_built(&self) -> bool {
        self.files.contains_key("index.html")
    }

    /// The app's page, if built.
    pub fn index_html(&self) -> Option<String> {
        self.files
            .get("index.html")
            .map(|f| String::from_utf8_lossy(&f.raw).into_owned())
    }

    /// The files' names and raw sizes, largest first.
    pub fn sizes(&self) -> Vec<(String, usize)> {
        let mut v: Vec<_> = self
            .files
            .iter()
            .map(|(n, f)| (n.clone(), f.raw.len()))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Compresses every file worth it that is not compressed yet, once (slow: run it off
    /// the async threads). Until a file is done it is sent as it is.
    pub fn compress(&self) {
        let started = std::time::Instant::now();
        for (name, file) in self.files.iter() {
            let worth = compress::worth_compressing(name, file.raw.len());
            file.gzip.get_or_init(|| {
                worth
                    .then(|| compress::gzip(&file.raw))
                    .flatten()
                    .map(Bytes::from)
            });
            file.brotli.get_or_init(|| {
                worth
                    .then(|| compress::brotli(&file.raw, RUN_TIME_BROTLI))
                    .flatten()
                    .map(Bytes::from)
            });
        }
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            "compressed the app's files"
        );
    }

    /// The response to a `GET` or `HEAD` of `path`: the file in the best encoding the
    /// request accepts; the page itself for paths that name no file (the app's routes);
    /// 404 for a missing file.
    pub fn respond(&self, method: &Method, path: &str, headers: &HeaderMap) -> Response {
        if method != Method::GET && method != Method::HEAD {
            return (StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD").into_response();
        }
        let name = path.trim_start_matches('/');
        let name = if name.is_empty() { "index.html" } else { name };
        let file = match self.files.get(name) {
            Some(f) => f,
            None if !name.rsplit('/').next().unwrap_or("").contains('.') => {
                match self.files.get("index.html") {
                    Some(f) => f,
                    None => return StatusCode::NOT_FOUND.into_response(),
                }
            }
            None => return (StatusCode::NOT_FOUND, "no such file in the app").into_response(),
        };
        let accepted = accepted_encodings(headers);
        if !accepted.is_empty()
            && !self
                .compressing
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            let all = self.clone();
            // A thread of its own: it takes seconds, and every other request goes on.
            let _ = std::thread::Builder::new()
                .name("plansync-compress".into())
                .spawn(move || all.compress());
        }
        let (encoding, body) = [Encoding::Brotli, Encoding::Gzip]
            .into_iter()
            .filter(|e| accepted.contains(e))
            .find_map(|e| {
                let slot = match e {
                    Encoding::Brotli => &file.brotli,
                    _ => &file.gzip,
                };
                slot.get().cloned().flatten().map(|b| (e, b))
            })
            .unwrap_or((Encoding::Identity, file.raw.clone()));
        let tag = match encoding.token() {
            Some(t) => format!("{}-{t}\"", file.tag.trim_end_matches('"')),
            None => file.tag.clone(),
        };
        let mut out = HeaderMap::new();
        out.insert(CONTENT_TYPE, file.mime.clone());
        out.insert(VARY, HeaderValue::from_static("accept-encoding"));
        out.insert(
            CACHE_CONTROL,
            HeaderValue::from_static(if file.immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            }),
        );
        if let Ok(v) = HeaderValue::from_str(&tag) {
            out.insert(ETAG, v);
        }
        if let Some(t) = encoding.token() {
            out.insert(CONTENT_ENCODING, HeaderValue::from_static(t));
        }
        let matches = headers
            .get(IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
        if matches {
            return (StatusCode::NOT_MODIFIED, out).into_response();
        }
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(body)
        };
        (out, body).into_response()
    }
}

fn hex16(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a request accepts a gzipped answer.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    accepted_encodings(headers).contains(&Encoding::Gzip)
}

/// The encodings a request accepts (`q=0` refuses one).
fn accepted_encodings(headers: &HeaderMap) -> Vec<Encoding> {
    let mut out = Vec::new();
    for value in headers.get_all(ACCEPT_ENCODING) {
        for item in value.to_str().unwrap_or_default().split(',') {
            let mut parts = item.split(';');
            let token = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match token.as_str() {
                "br" => out.push(Encoding::Brotli),
                "gzip" => out.push(Encoding::Gzip),
                "*" => out.extend([Encoding::Brotli, Encoding::Gzip]),
                _ => {}
            }
        }
    }
    out
}

/// Brotli's quality for an app compressed at run time (`--app-dir`): the best in a release
/// build; quick in a debug build, which the tests start often.
const RUN_TIME_BROTLI: i32 = if cfg!(debug_assertions) {
    5
} else {
    compress::BROTLI_BEST
};

/// Bytes that borrow a file built into the binary instead of copying it.
fn static_bytes(data: Cow<'static, [u8]>) -> Bytes {
    match data {
        Cow::Borrowed(b) => Bytes::from_static(b),
        Cow::Owned(v) => Bytes::from(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> AppFiles {
        let wasm: Vec<u8> = (0..20_000u32).flat_map(|i| (i % 7).to_le_bytes()).collect();
        let f = AppFiles::from_files([
            (
                "index.html".to_string(),
                Bytes::from_static(b"<!doctype html><title>t</title>"),
            ),
            (
                "app-0123456789abcdef_bg.wasm".to_string(),
                Bytes::from(wasm),
            ),
        ]);
        f.compress();
        f
    }

    fn get(f: &AppFiles, path: &str, accept: &str) -> Response {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_ENCODING, HeaderValue::from_str(accept).unwrap());
        f.respond(&Method::GET, path, &h)
    }

    #[test]
    fn a_hashed_file_is_sent_in_the_best_accepted_encoding_and_cached_for_a_year() {
        let f = files();
        let r = get(&f, "/app-0123456789abcdef_bg.wasm", "gzip, deflate, br");
        assert_eq!(r.headers()[CONTENT_ENCODING], "br");
        assert!(r.headers()[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"));
        assert_eq!(r.headers()[CONTENT_TYPE], "application/wasm");
        let r = get(&f, "/app-0123456789abcdef_bg.wasm", "gzip");
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        let r = get(&f, "/app-0123456789abcdef_bg.wasm", "br;q=0, identity");
        assert!(r.headers().get(CONTENT_ENCODING).is_none());
    }

    #[test]
    fn a_hash_written_without_its_leading_zero_still_marks_the_file_immutable() {
        assert!(hashed("plansync-app-47571ed638a354b.js"));
        assert!(hashed("plansync-app-47571ed638a354b_bg.wasm"));
        assert!(hashed("style-8bf7106cfd65385f.css"));
        assert!(!hashed("sw.js"));
        assert!(!hashed("manifest.webmanifest"));
        assert!(!hashed("icon-192.png"));
    }

    #[test]
    fn the_page_is_revalidated_and_a_matching_etag_gets_not_modified() {
        let f = files();
        let r = get(&f, "/", "");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
        let tag = r.headers()[ETAG].clone();
        let mut h = HeaderMap::new();
        h.insert(IF_NONE_MATCH, tag);
        let r = f.respond(&Method::GET, "/", &h);
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    }

    #[test]
    fn an_app_route_gets_the_page_and_a_missing_file_gets_404() {
        let f = files();
        assert_eq!(get(&f, "/plans/x", "").status(), StatusCode::OK);
        assert_eq!(get(&f, "/missing.js", "").status(), StatusCode::NOT_FOUND);
        assert_eq!(
            f.respond(&Method::POST, "/", &HeaderMap::new()).status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn only_names_with_a_content_hash_count_as_hashed() {
        assert!(hashed("plansync-app-3f293eb883663095_bg.wasm"));
        assert!(hashed("style-efb9a8bdf14f09d5.css"));
        assert!(!hashed("sw.js"));
        assert!(!hashed("index.html"));
    }
}
