//! One action's row of the tracker, set from the keyboard, and its progress-update form.

use super::context::{focus_drawn_row, TrackerCtx};
use super::rows::{is_overdue, Row};
use crate::model::{today, Model};
use crate::route::Route;
use crate::views::widgets::comments::CommentMark;
use crate::views::widgets::rag::RagChip;
use leptos::prelude::*;
use plansync_shared::PlanOp;
use plansync_shared::{ActionId, Rag};
use wasm_bindgen::JsCast;

/// One action's row (and its progress-update form when open).
#[component]
pub(super) fn TrackerRow(id: ActionId) -> impl IntoView {
    let model = expect_context::<Model>();
    let ctx = expect_context::<TrackerCtx>();
    let rid = id.clone();
    let row = Memo::new(move |_| {
        ctx.by_id.with(|m| {
            m.get(&rid)
                .and_then(|&i| ctx.all.with(|rs| rs.get(i).cloned()))
        })
    });
    let id_index = id.clone();
    // Where the row is among those selected (1 is the header row), for screen readers.
    let index = Memo::new(move |_| ctx.shown.with(|s| s.iter().position(|x| *x == id_index)));
    let tr = NodeRef::<leptos::html::Tbody>::new();
    let cell =
        move |f: fn(&Row) -> String| move || row.with(|r| r.as_ref().map(f).unwrap_or_default());
    let set_rag = {
        let id = id.clone();
        move |rag: Rag| {
            let id = id.clone();
            let period = ctx.period.get_untracked();
            model.apply(PlanOp::SetRag {
                action: id,
                period,
                rag,
            });
        }
    };
    let set_rag2 = set_rag.clone();
    let detail = model
        .doc
        .get_untracked()
        .map(|d| Route::Action(d, id.as_str().to_string()).href())
        .unwrap_or_default();
    let detail2 = detail.clone();
    let is_open = {
        let id = id.clone();
        move || ctx.open_update.with(|o| o.as_ref() == Some(&id))
    };
    let id_open = id.clone();
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let target = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok());
        // Keys typed into the RAG box or the update form are theirs.
        if target
            .as_ref()
            .is_some_and(|t| !t.class_list().contains("row"))
            || ev.ctrl_key()
            || ev.meta_key()
            || ev.alt_key()
        {
            return;
        }
        let rag = match ev.key().as_str() {
            "r" | "R" => Some(Rag::Red),
            "a" | "A" => Some(Rag::Amber),
            "g" | "G" => Some(Rag::Green),
            "n" | "N" => Some(Rag::NotRated),
            _ => None,
        };
        if let Some(rag) = rag {
            ev.prevent_default();
            set_rag2(rag);
            return;
        }
        match ev.key().as_str() {
            "u" | "U" => {
                ev.prevent_default();
                ctx.open_update.set(Some(id_open.clone()));
            }
            "Enter" => {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().set_hash(&detail2);
                }
            }
            "ArrowDown" | "ArrowUp" | "Home" | "End" => {
                ev.prevent_default();
                let last = ctx.shown.with_untracked(Vec::len).saturating_sub(1);
                let here = index.get_untracked().unwrap_or_default();
                ctx.focus_row(match ev.key().as_str() {
                    "ArrowDown" => (here + 1).min(last),
                    "ArrowUp" => here.saturating_sub(1),
                    "Home" => 0,
                    _ => last,
                });
            }
            _ => {}
        }
    };
    let rag_select = move |ev: web_sys::Event| {
        if let Ok(r) = Rag::parse(&event_target_value(&ev)) {
            set_rag(r);
        }
    };
    let overdue = move || {
        row.with(|r| {
            r.as_ref()
                .is_some_and(|r| is_overdue(r, &ctx.today.get_value()))
        })
    };
    let current_rag = move || row.with(|r| r.as_ref().and_then(|r| r.rag));
    let id_attr = id.as_str().to_string();
    let id_mark = id_attr.clone();
    // A row drawn again after a change (a RAG key pressed on it) replaces the one that had
    // the keyboard: it takes the keyboard back when nothing else has it.
    let id_focus = id.clone();
    let on_focus = move |_| ctx.keyboard.set_value(Some(id_focus.clone()));
    if ctx.keyboard.with_value(|k| k.as_ref() == Some(&id)) {
        let id_drawn = id.clone();
        request_animation_frame(move || {
            let nothing_focused = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
                .is_none_or(|e| e.tag_name().eq_ignore_ascii_case("body"));
            if nothing_focused {
                focus_drawn_row(&id_drawn);
            }
        });
    }
    view! {
        <tbody node_ref=tr class="row-group">
            <tr class="row" tabindex="0" data-action=id_attr on:keydown=on_key on:focus=on_focus
                aria-rowindex=move || index.get().map(|i| i + 2)
                aria-label=move || row.with(|r| r.as_ref().map(|r| format!("Action: {}", r.title)).unwrap_or_default())>
                <td class="where"><span class="theme-name">{cell(|r| r.theme.clone())}</span><span class="objective-name">{cell(|r| r.objective.clone())}</span></td>
                <td class="title"><a href=detail tabindex="-1">{cell(|r| r.title.clone())}</a><crate::views::widgets::editing::EditingMark item=id_mark.clone() />{move || view! { <CommentMark count=row.with(|r| r.as_ref().map(|r| r.comments).unwrap_or_default()) /> }}</td>
                <td>{cell(|r| r.lead_board.clone())}</td>
                <td>{cell(|r| r.contributing.clone())}</td>
                <td>{cell(|r| r.lead.clone())}</td>
                <td class=move || if overdue() { "due overdue" } else { "due" }>
                    {cell(|r| r.due.clone().unwrap_or_default())}
                    {move || overdue().then_some(" (overdue)")}
                </td>
                <td>{cell(|r| r.state.to_string())}</td>
                <td class="rag-cell">
                    {move || current_rag().map(|r| view! { <RagChip rag=r period=ctx.period.get().to_string() /> })}
                    <select class="rag-select" tabindex="-1" aria-label=move || format!("RAG for {}", ctx.period.get()) on:change=rag_select>
                        <option value="" selected=move || current_rag().is_none()>"—"</option>
                        {Rag::ALL.iter().map(|r| view! { <option value=r.as_str() selected=move || current_rag() == Some(*r)>{r.as_str()}</option> }).collect_view()}
                    </select>
                </td>
                <td class="update">{cell(|r| r.update.as_ref().map(|(d, t)| format!("{d}: {t}")).unwrap_or_default())}</td>
            </tr>
            {move || is_open().then(|| view! { <UpdateForm id=id.clone() back=tr /> })}
        </tbody>
    }
}

/// The progress-update form under a row: Enter adds it, Shift+Enter starts a new line,
/// Escape closes it; focus goes back to the row.
#[component]
pub(super) fn UpdateForm(id: ActionId, back: NodeRef<leptos::html::Tbody>) -> impl IntoView {
    let model = expect_context::<Model>();
    let ctx = expect_context::<TrackerCtx>();
    let text = NodeRef::<leptos::html::Textarea>::new();
    Effect::new(move || {
        if let Some(t) = text.get() {
            let _ = t.focus();
        }
    });
    let close = move || {
        ctx.open_update.set(None);
        if let Some(row) = back
            .get_untracked()
            .and_then(|b| b.query_selector("tr.row").ok().flatten())
        {
            if let Some(h) = row.dyn_ref::<web_sys::HtmlElement>() {
                let _ = h.focus();
            }
        }
    };
    let submit = move || {
        let Some(t) = text.get_untracked() else {
            return;
        };
        let words = t.value().trim().to_string();
        if words.is_empty() {
            return;
        }
        let who = model.identity.get_untracked();
        let (author, agency) = who
            .map(|i| (i.name, i.agency))
            .unwrap_or_else(|| ("Unknown".into(), "Unknown agency".into()));
        let id = id.clone();
        let date = today();
        let known = model.known();
        if model.apply(PlanOp::AddProgressUpdate {
            seed: model.seed(),
            action: id,
            author,
            agency,
            date,
            text: words,
            known,
        }) {
            close();
        }
    };
    let submit2 = submit.clone();
    view! {
        <tr class="update-row"><td colspan="9">
            <label>"Progress update (Enter adds it, Shift+Enter for a new line, Esc cancels)"
                <textarea node_ref=text class="update-text" rows="2" on:keydown=move |ev: web_sys::KeyboardEvent| {
                    ev.stop_propagation();
                    match ev.key().as_str() {
                        "Enter" if !ev.shift_key() => { ev.prevent_default(); submit() }
                        "Escape" => { ev.prevent_default(); close() }
                        _ => {}
                    }
                }></textarea>
            </label>
            <button on:click=move |_| submit2()>"Add update"</button>
            <button on:click=move |_| close()>"Cancel"</button>
        </td></tr>
    }
}
