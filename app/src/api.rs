//! Calls to the server's HTTP API.

use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// One plan as `/api/plans` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanEntry {
    /// Document id.
    pub id: String,
    /// Plan title.
    pub title: String,
    /// `automerge:` URL.
    pub url: String,
    /// Lifecycle stage.
    pub stage: String,
}

/// `GET /api/plans`; the error is a sentence for the user.
pub async fn fetch_plans() -> Result<Vec<PlanEntry>, String> {
    let offline =
        |_| "Could not reach the Plansync server: check the network and reload.".to_string();
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str("/api/plans"))
        .await
        .map_err(offline)?;
    let resp: web_sys::Response = resp
        .dyn_into()
        .map_err(|_| "unexpected response".to_string())?;
    if !resp.ok() {
        return Err(format!(
            "The server could not list the plans (HTTP {}).",
            resp.status()
        ));
    }
    let text = JsFuture::from(resp.text().map_err(offline)?)
        .await
        .map_err(offline)?;
    serde_json::from_str(&text.as_string().unwrap_or_default())
        .map_err(|e| format!("The server's plan list could not be read: {e}"))
}
