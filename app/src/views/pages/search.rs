//! Search across the open plan from the box in the header (or `/` anywhere outside a text
//! box): results grouped by kind, each opening its item. It reads this browser's copy of the
//! plan, so it works offline.

use crate::model::Model;
use crate::route::{self, Route};
use leptos::prelude::*;
use plansync_shared::{search, DocumentId, Hit, HitKind, HitTarget};

/// Where a hit opens.
fn href(doc: DocumentId, target: &HitTarget) -> String {
    match target {
        HitTarget::Outline => Route::Outline(doc),
        HitTarget::Action(a) => Route::Action(doc, a.clone()),
        HitTarget::Indicator(i) => Route::Indicators(doc, Some(i.clone())),
        HitTarget::Board(b) => Route::Board(doc, b.clone()),
        HitTarget::People => Route::People(doc),
    }
    .href()
}

/// The search box in the header, shown while a plan is open.
#[component]
pub fn SearchBox() -> impl IntoView {
    let model = expect_context::<Model>();
    let typed = RwSignal::new(String::new());
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        if let Some(doc) = model.route.get_untracked().doc() {
            route::go(&Route::Search(
                doc,
                typed.get_untracked().trim().to_string(),
            ));
        }
    };
    move || {
        model.route.with(|r| r.doc()).map(|_| {
            view! {
                <form class="search-box" role="search" on:submit=submit>
                    <input type="search" name="q" id="search-plan" bind:value=typed
                        aria-label="Search the plan" placeholder="Search the plan ( / )" aria-keyshortcuts="/" />
                    <button type="submit">"Search"</button>
                </form>
            }
        })
    }
}

/// `/` outside a text box moves to the search box, as on many sites.
pub fn slash_focuses_search() {
    let on_key = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(
        move |ev: web_sys::KeyboardEvent| {
            if ev.key() != "/" || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let typing = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
                .is_some_and(|e| {
                    matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                        || e.has_attribute("contenteditable")
                });
            let search = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id("search-plan"));
            if let (false, Some(s)) = (typing, search) {
                ev.prevent_default();
                if let Ok(s) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(s) {
                    let _ = s.focus();
                }
            }
        },
    );
    if let Some(d) = web_sys::window().and_then(|w| w.document()) {
        let _ = d.add_event_listener_with_callback(
            "keydown",
            wasm_bindgen::JsCast::unchecked_ref(on_key.as_ref()),
        );
    }
    on_key.forget();
}

/// The results page.
#[component]
pub fn SearchPage(query: String) -> impl IntoView {
    let model = expect_context::<Model>();
    let q = query.clone();
    let hits = Memo::new(move |_| {
        model
            .plan
            .with(|p| p.as_ref().map(|p| search(p, &q)).unwrap_or_default())
    });
    let heading = if query.trim().is_empty() {
        "Search the plan".to_string()
    } else {
        format!("Search results for “{}”", query.trim())
    };
    view! {
        <section class="search-results">
            <h1 tabindex="-1">{heading}</h1>
            {move || {
                let doc = model.doc.get()?;
                let all = hits.get();
                if all.is_empty() {
                    return Some(view! {
                        <p role="status">{if query.trim().is_empty() {
                            "Type words in the search box at the top of the page: titles, text, progress updates, comments, people and boards are searched.".to_string()
                        } else {
                            format!("Nothing in the plan contains all of “{}”. Try fewer or other words.", query.trim())
                        }}</p>
                    }.into_any());
                }
                Some(view! {
                    <p role="status">{format!("{} found", all.len())}</p>
                    {HitKind::ALL.iter().filter_map(|kind| {
                        let group: Vec<Hit> = all.iter().filter(|h| h.kind == *kind).cloned().collect();
                        (!group.is_empty()).then(|| view! {
                            <section class="hit-group" data-kind=format!("{kind:?}").to_lowercase()>
                                <h2>{format!("{} ({})", kind.heading(), group.len())}</h2>
                                <ul>
                                    {group.into_iter().map(|h| view! {
                                        <li class="hit">
                                            <a href=href(doc, &h.target)>{h.title.clone()}</a>
                                            <p class="excerpt">{h.excerpt.clone()}</p>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </section>
                        })
                    }).collect_view()}
                }.into_any())
            }}
        </section>
    }
}
