//! The tracker's table: only the rows near the screen are drawn, with space kept for the
//! rest, and the sort buttons in its header.

use super::context::{focus_drawn_row, focused_row, TrackerCtx, Window};
use super::row::TrackerRow;
use crate::perf;
use crate::route::{SortKey, TrackerView};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The table of the selected rows, drawn a window at a time as the page scrolls.
#[component]
pub fn TrackerTable() -> impl IntoView {
    let ctx = expect_context::<TrackerCtx>();
    let (shown, window, view_now) = (ctx.shown, ctx.window, ctx.view);
    let set_view = move |f: &dyn Fn(&mut TrackerView)| ctx.set_view(f);
    let table = NodeRef::<leptos::html::Table>::new();
    // Follow the page's scrolling (and size): once a frame at most.
    let pending = StoredValue::new(false);
    let follow = move || {
        if pending.get_value() {
            return;
        }
        pending.set_value(true);
        request_animation_frame(move || {
            pending.set_value(false);
            let (Some(t), Some(w)) = (table.get_untracked(), web_sys::window()) else {
                return;
            };
            let screen = w
                .inner_height()
                .ok()
                .and_then(|h| h.as_f64())
                .unwrap_or(800.0);
            let now = window.get_untracked();
            let len = shown.with_untracked(Vec::len);
            // Rows are measured only while the first is drawn (no space kept above): a new
            // height later would move every row under the reader.
            let mut row_px = now.row_px;
            if now.first == 0 {
                if let Some(px) = measured_row_px(&t) {
                    if (px - now.row_px).abs() > now.row_px * 0.15 {
                        row_px = px;
                    }
                }
            }
            let on_screen = (screen / row_px).ceil() as usize;
            let top = row_at_top(&t, now, len).unwrap_or(now.first);
            let mut next = Window { row_px, ..now }.showing(top, on_screen, len);
            next.row_px = row_px;
            // Moving rows can take focus from the one focused: give it back.
            let focused = focused_row();
            if next != window.get_untracked() {
                window.set(next);
                if let Some(id) = focused {
                    request_animation_frame(move || {
                        if focused_row().is_none() {
                            focus_drawn_row(&id);
                        }
                    });
                }
            }
        });
    };
    let on_scroll = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(follow);
    if let Some(w) = web_sys::window() {
        for kind in ["scroll", "resize"] {
            let _ = w.add_event_listener_with_callback(kind, on_scroll.as_ref().unchecked_ref());
        }
    }
    let on_scroll = StoredValue::new_local(Some(on_scroll));
    on_cleanup(move || {
        on_scroll.update_value(|f| {
            if let (Some(w), Some(f)) = (web_sys::window(), f.take()) {
                for kind in ["scroll", "resize"] {
                    let _ = w.remove_event_listener_with_callback(kind, f.as_ref().unchecked_ref());
                }
            }
        });
    });
    // A new selection: the window follows where the page is.
    Effect::new(move || {
        let len = shown.with(Vec::len);
        follow();
        if len > 0 {
            perf::first_frame("tracker");
        }
    });
    let visible = move || {
        let w = window.get();
        shown.with(|s| s[w.range(s.len())].to_vec())
    };
    let space = move |above: bool| {
        let w = window.get();
        let len = shown.with(Vec::len);
        let r = w.range(len);
        let rows = if above { r.start } else { len - r.end };
        format!("height: {}px", (rows as f64 * w.row_px).round())
    };
    let header = move |key: SortKey, label: &'static str| {
        let sorted = move || view_now.with(|v| v.sort == key);
        let desc = move || view_now.with(|v| v.desc);
        let aria = move || {
            if !sorted() {
                "none"
            } else if desc() {
                "descending"
            } else {
                "ascending"
            }
        };
        view! {
            <th aria-sort=aria scope="col">
                <button class="sort" on:click=move |_| set_view(&|tv| {
                    if tv.sort == key { tv.desc = !tv.desc } else { tv.sort = key; tv.desc = false }
                })>{label}{move || if sorted() { if desc() { " ▼" } else { " ▲" } } else { "" }}</button>
            </th>
        }
    };
    view! {
            <div class="table-wrap">
                <table class="tracker-table" node_ref=table aria-rowcount=move || shown.with(Vec::len) + 1>
                    <thead><tr aria-rowindex="1">
                        {header(SortKey::Plan, "Theme / objective")}
                        {header(SortKey::Action, "Action")}
                        {header(SortKey::Board, "Lead board")}
                        <th scope="col">"Contributing boards"</th>
                        {header(SortKey::Lead, "Lead")}
                        {header(SortKey::Due, "Due")}
                        {header(SortKey::State, "Progress")}
                        {header(SortKey::Rag, "RAG")}
                        {header(SortKey::Updated, "Last update")}
                    </tr></thead>
                    <tbody class="space" aria-hidden="true"><tr><td colspan="9" style=move || space(true)></td></tr></tbody>
                    <For each=visible key=|id| id.clone() let:id>
                        <TrackerRow id />
                    </For>
                    <tbody class="space" aria-hidden="true"><tr><td colspan="9" style=move || space(false)></td></tr></tbody>
                </table>
            </div>
    }
}

/// The index (among those selected) of the row at the top of the screen: exact when it is
/// drawn, else estimated from the space kept for rows not drawn.
pub(super) fn row_at_top(table: &web_sys::Element, w: Window, len: usize) -> Option<usize> {
    let rows = table.query_selector_all("tr.row").ok()?;
    let drawn: Vec<(usize, web_sys::DomRect)> = (0..rows.length())
        .filter_map(|i| rows.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::Element>().ok())
        .filter_map(|e| {
            let index = e.get_attribute("aria-rowindex")?.parse::<usize>().ok()?;
            Some((index.checked_sub(2)?, e.get_bounding_client_rect()))
        })
        .collect();
    let (first, first_rect) = drawn.first()?;
    let (last, last_rect) = drawn.last()?;
    if first_rect.top() > 0.0 {
        // The top of the screen is in the space above the rows drawn (or above the table).
        let above = (first_rect.top() / w.row_px).ceil() as usize;
        let table_top = table.get_bounding_client_rect().top();
        return Some(if table_top >= 0.0 {
            0
        } else {
            first.saturating_sub(above)
        });
    }
    if last_rect.bottom() <= 0.0 {
        // In the space below them.
        let below = (-last_rect.bottom() / w.row_px) as usize;
        return Some((last + 1 + below).min(len.saturating_sub(1)));
    }
    drawn
        .iter()
        .find(|(_, r)| r.bottom() > 0.0)
        .map(|(i, _)| *i)
}

/// The mean height of the rows drawn in `table`, if any are.
pub(super) fn measured_row_px(table: &web_sys::Element) -> Option<f64> {
    let rows = table.query_selector_all("tbody.row-group").ok()?;
    let heights: Vec<f64> = (0..rows.length())
        .filter_map(|i| rows.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::Element>().ok())
        .map(|e| e.get_bounding_client_rect().height())
        .filter(|h| *h > 0.0)
        .collect();
    (!heights.is_empty()).then(|| heights.iter().sum::<f64>() / heights.len() as f64)
}
