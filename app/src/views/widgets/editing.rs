//! The mark beside an item someone else is editing now.

use crate::model::Model;
use leptos::prelude::*;

/// Who (of the others here) is editing `item`: "✎ Analyst, Facilitator", for a mark beside it.
#[component]
pub fn EditingMark(item: String) -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        let names: Vec<String> = model.here.with(|h| {
            h.iter()
                .filter(|p| p.editing.as_deref() == Some(item.as_str()))
                .map(|p| p.name.clone())
                .collect()
        });
        (!names.is_empty()).then(|| view! {
            <span class="editing-mark" title="Editing now">{format!("✎ {}", names.join(", "))}</span>
        })
    }
}
