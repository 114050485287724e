//! A RAG status as a colour and a word, as every view shows it.

use leptos::prelude::*;
use plansync_shared::Rag;

/// RAG as a colour and a word (never colour alone).
#[component]
pub fn RagChip(rag: Rag, #[prop(into)] period: String) -> impl IntoView {
    let word = match rag {
        Rag::Red => "Red",
        Rag::Amber => "Amber",
        Rag::Green => "Green",
        Rag::NotRated => "Not rated",
    };
    let class = format!("rag rag-{}", rag.as_str().replace(' ', "-"));
    view! { <span class=class title=format!("RAG for {period}")>{word}</span> }
}
