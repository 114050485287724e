//! Points the embedded web app ([`rust-embed`] in `src/assets.rs`) at the built app in
//! `../dist`, or at an empty folder when the app is not built yet (the server then says how
//! to build it), so the server always compiles. Compresses each of its files worth it
//! (brotli and gzip, `src/compress.rs`) into a second embedded folder, so a server sends the
//! app compressed from its first request and spends no time on it at run time.

#[path = "src/compress.rs"]
mod compress;

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let dist = manifest.join("../dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed=src/compress.rs");
    println!("cargo:rerun-if-env-changed=PLANSYNC_EMBED_APP");
    let folder = match std::env::var_os("PLANSYNC_EMBED_APP") {
        Some(dir) => PathBuf::from(dir),
        None if dist.join("index.html").is_file() => dist,
        None => {
            let empty = out.join("no-app");
            std::fs::create_dir_all(&empty).expect("OUT_DIR is writable");
            empty
        }
    };
    let folder = folder.canonicalize().unwrap_or(folder);
    println!("cargo:rustc-env=PLANSYNC_APP_FOLDER={}", folder.display());

    let compressed = out.join("app-compressed");
    let _ = std::fs::remove_dir_all(&compressed);
    std::fs::create_dir_all(&compressed).expect("OUT_DIR is writable");
    let files = compress::read_folder(&folder).expect("the app's folder is readable");
    for (name, raw) in files {
        if !compress::worth_compressing(&name, raw.len()) {
            continue;
        }
        let target = compressed.join(&name);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).expect("OUT_DIR is writable");
        }
        if let Some(br) = compress::brotli(&raw, compress::BROTLI_BEST) {
            std::fs::write(with_extension(&target, ".br"), br).expect("OUT_DIR is writable");
        }
        if let Some(gz) = compress::gzip(&raw) {
            std::fs::write(with_extension(&target, ".gz"), gz).expect("OUT_DIR is writable");
        }
    }
    println!(
        "cargo:rustc-env=PLANSYNC_APP_COMPRESSED={}",
        compressed.display()
    );
}

/// `path` with `ext` added to its name (`app.wasm` → `app.wasm.br`).
fn with_extension(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(ext);
    PathBuf::from(name)
}
