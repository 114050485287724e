//! What the user sees: the app frame, the router, one page per route, and the widgets
//! several pages share. A widget imports no page, and no page imports another.

mod frame;
mod pages;
mod router;
mod widgets;

pub use frame::App;

#[cfg(test)]
mod layout {
    //! The views' layout, checked: a widget imports no page, no page imports another, and
    //! every file is under 500 lines.

    use std::path::{Path, PathBuf};

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(files(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
        found
    }

    fn views() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/views")
    }

    /// The page modules: each file or folder under `views/pages/`.
    fn pages() -> Vec<String> {
        std::fs::read_dir(views().join("pages"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.ends_with("mod.rs"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    /// The page `path` belongs to, if it is under `views/pages/`.
    fn page_of(path: &Path) -> Option<String> {
        let rest = path.strip_prefix(views().join("pages")).ok()?;
        let first = rest.components().next()?.as_os_str().to_string_lossy();
        Some(first.trim_end_matches(".rs").to_string())
    }

    /// The pages `text` names a path into (`views::pages::x`, or `super::x` from a page file).
    fn pages_named(text: &str, from_pages_dir: bool) -> Vec<String> {
        let pages = pages();
        let mut named = Vec::new();
        for page in &pages {
            let mut ways = vec![format!("pages::{page}")];
            if from_pages_dir {
                ways.push(format!("super::{page}"));
            }
            if ways.iter().any(|w| {
                text.match_indices(w.as_str()).any(|(i, _)| {
                    let after = text[i + w.len()..].chars().next();
                    !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
            }) {
                named.push(page.clone());
            }
        }
        named
    }

    #[test]
    fn every_view_file_is_under_500_lines() {
        for f in files(&views()) {
            let lines = std::fs::read_to_string(&f).unwrap().lines().count();
            assert!(lines < 500, "{} has {lines} lines", f.display());
        }
    }

    #[test]
    fn no_widget_imports_a_page_and_no_page_imports_another() {
        let widgets = views().join("widgets");
        for f in files(&views()) {
            let text = std::fs::read_to_string(&f).unwrap();
            let directly_in_pages = f.parent() == Some(&views().join("pages"));
            let named = pages_named(&text, directly_in_pages);
            if f.starts_with(&widgets) {
                assert!(named.is_empty(), "{} imports {named:?}", f.display());
            }
            if let Some(own) = page_of(&f) {
                let others: Vec<_> = named.iter().filter(|p| **p != own).collect();
                assert!(others.is_empty(), "{} imports {others:?}", f.display());
            }
        }
    }

    #[test]
    fn the_layout_check_sees_an_import_of_a_page() {
        assert_eq!(
            pages_named("use crate::views::pages::tracker::Row;", false),
            ["tracker"]
        );
        assert_eq!(
            pages_named("<super::people::InviteForm />", true),
            ["people"]
        );
        assert!(pages_named("use crate::views::pages::trackers;", false).is_empty());
        assert!(pages_named("super::people::x", false).is_empty());
    }
}
