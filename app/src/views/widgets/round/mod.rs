//! The quarter on the dashboard: **My actions** (what I still owe the open reporting round),
//! the round's progress with who is outstanding by board and by lead (each a link to the
//! tracker filtered to exactly those), and an owner's controls to open and close a round.

use leptos::prelude::*;
use plansync_shared::{DocumentId, PersonLink};

mod my_actions;
mod panel;
mod sign_off;

pub use my_actions::MyActions;
pub use panel::RoundPanel;
pub use sign_off::SignOffs;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn links_key(plan: &str) -> String {
    format!("plansync.links.{plan}")
}

/// The plan's links of participants to plan people as last fetched (kept in this browser,
/// so My actions works offline).
fn kept_links(plan: &str) -> Vec<PersonLink> {
    storage()
        .and_then(|s| s.get_item(&links_key(plan)).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Keeps the plan's links in this browser.
pub fn keep_links(plan: &str, links: &[PersonLink]) {
    if let (Some(s), Ok(json)) = (storage(), serde_json::to_string(links)) {
        let _ = s.set_item(&links_key(plan), &json);
    }
}

/// The plan's links: kept ones at once, the server's when it answers.
pub fn plan_links(doc: DocumentId) -> RwSignal<Vec<PersonLink>> {
    let plan = doc.to_string();
    let links = RwSignal::new(kept_links(&plan));
    leptos::task::spawn_local(async move {
        if let Ok(fresh) = crate::api::links(&plan).await {
            keep_links(&plan, &fresh);
            links.set(fresh);
        }
    });
    links
}
