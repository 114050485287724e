//! Points the embedded web app ([`rust-embed`] in `src/assets.rs`) at the built app in
//! `../dist`, or at an empty folder when the app is not built yet (the server then says how
//! to build it), so the server always compiles.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dist = manifest.join("../dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-env-changed=PLANSYNC_EMBED_APP");
    let folder = match std::env::var_os("PLANSYNC_EMBED_APP") {
        Some(dir) => PathBuf::from(dir),
        None if dist.join("index.html").is_file() => dist,
        None => {
            let empty =
                PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("no-app");
            std::fs::create_dir_all(&empty).expect("OUT_DIR is writable");
            empty
        }
    };
    let folder = folder.canonicalize().unwrap_or(folder);
    println!("cargo:rustc-env=PLANSYNC_APP_FOLDER={}", folder.display());
}
