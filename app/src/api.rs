//! Calls to the server's HTTP API.

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// One plan as `/api/plans` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

const OFFLINE: &str = "The Plansync server cannot be reached just now.";

async fn call(method: &str, path: &str, body: Option<String>) -> Result<String, String> {
    let offline = |_| OFFLINE.to_string();
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&body.into());
        let headers = web_sys::Headers::new().map_err(offline)?;
        headers
            .set("content-type", "application/json")
            .map_err(offline)?;
        init.set_headers(&headers);
    }
    let req = web_sys::Request::new_with_str_and_init(path, &init).map_err(offline)?;
    let resp = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(offline)?;
    let resp: web_sys::Response = resp
        .dyn_into()
        .map_err(|_| "unexpected response".to_string())?;
    let text = JsFuture::from(resp.text().map_err(offline)?)
        .await
        .map_err(offline)?
        .as_string()
        .unwrap_or_default();
    if !resp.ok() {
        let detail = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {}", resp.status()));
        return Err(format!("The server refused: {detail}."));
    }
    Ok(text)
}

/// `GET /api/plans`; the error is a sentence for the user.
pub async fn fetch_plans() -> Result<Vec<PlanEntry>, String> {
    let text = call("GET", "/api/plans", None).await?;
    serde_json::from_str(&text)
        .map_err(|e| format!("The server's plan list could not be read: {e}"))
}

/// `POST /api/plans`: a new empty plan with this title, or the demo plan.
pub async fn create_plan(title: Option<String>) -> Result<PlanEntry, String> {
    let body = match title {
        Some(t) => serde_json::json!({ "title": t }),
        None => serde_json::json!({ "demo": true }),
    };
    let text = call("POST", "/api/plans", Some(body.to_string())).await?;
    serde_json::from_str(&text).map_err(|e| format!("The server's answer could not be read: {e}"))
}
