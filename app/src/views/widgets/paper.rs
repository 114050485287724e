//! Opening a paper: fetched from the server, shown in a new window or saved as a download.

use crate::api;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Fetches a paper of `plan` (an export `name` with its query) and shows it in a new window
/// (HTML) or saves it as a download; a failure is put in `failed`.
pub fn open_paper(
    plan: String,
    name: String,
    query: Vec<(&'static str, String)>,
    failed: RwSignal<Option<String>>,
) {
    // An HTML paper opens in a new window: open it now, while the click still counts as the
    // person's own (a window opened after the download would be blocked).
    let shown = name
        .ends_with(".html")
        .then(|| {
            web_sys::window()?
                .open_with_url_and_target("", "_blank")
                .ok()
                .flatten()
        })
        .flatten();
    failed.set(None);
    leptos::task::spawn_local(async move {
        match api::export_file(&plan, &name, &query).await {
            Ok(blob) => {
                if let Err(e) = show_or_save(&blob, &name, shown.as_ref()) {
                    failed.set(Some(e));
                }
            }
            Err(e) => {
                if let Some(w) = shown {
                    let _ = w.close();
                }
                failed.set(Some(format!("{name} could not be made: {e}")));
            }
        }
    });
}

/// Shows a fetched paper in the window opened for it, or saves it as a download.
fn show_or_save(
    blob: &web_sys::Blob,
    name: &str,
    window: Option<&web_sys::Window>,
) -> Result<(), String> {
    let url = web_sys::Url::create_object_url_with_blob(blob)
        .map_err(|_| format!("{name} could not be shown"))?;
    if let Some(w) = window {
        return w
            .location()
            .set_href(&url)
            .map_err(|_| format!("{name} could not be shown"));
    }
    let a: web_sys::HtmlAnchorElement = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok())
        .and_then(|a| a.dyn_into().ok())
        .ok_or_else(|| format!("{name} could not be saved"))?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    // The browser has taken the file; give its memory back after a moment.
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    if let Some(w) = web_sys::window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
    }
    Ok(())
}
