//! What the tracker's parts share: the rows selected, the window of rows drawn, the period,
//! and where the keyboard is.

use super::rows::Row;
use crate::model::Model;
use crate::route::{self, Route, TrackerView};
use leptos::prelude::*;
use plansync_shared::{ActionId, ReportingPeriod};
use std::collections::HashMap;
use wasm_bindgen::JsCast;

/// Rows drawn beyond the screen, above and below, so scrolling and ↑ ↓ find rows there.
pub(super) const MARGIN_ROWS: usize = 15;

/// A row's height before any is measured, in CSS pixels.
pub(super) const ROW_GUESS_PX: f64 = 80.0;

/// Which of the selected rows are drawn: a screenful around where the page is scrolled, plus
/// a margin. Space for the rest is kept above and below, so the page scrolls the whole table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Window {
    /// The first row drawn.
    pub(super) first: usize,
    /// How many rows are drawn.
    pub(super) count: usize,
    /// The height given to each row not drawn, measured from those drawn.
    pub(super) row_px: f64,
}

impl Window {
    /// The window that shows rows `top..top + on_screen` with a margin either side, or
    /// this one if it already does with at least half a margin (so small scrolls move no
    /// rows, and the rows drawn never chase each other).
    pub(super) fn showing(self, top: usize, on_screen: usize, len: usize) -> Self {
        let count = on_screen + 2 * MARGIN_ROWS;
        let low = if self.first == 0 {
            0
        } else {
            self.first + MARGIN_ROWS / 2
        };
        let high = (self.first + self.count).saturating_sub(MARGIN_ROWS / 2);
        let bottom = (top + on_screen).min(len);
        let end_reached = self.first + self.count >= len;
        if count <= self.count && top >= low && (bottom <= high || end_reached) {
            return self;
        }
        Window {
            first: top.min(len.saturating_sub(1)).saturating_sub(MARGIN_ROWS),
            count,
            ..self
        }
    }

    /// The same window moved so it holds row `index`.
    pub(super) fn holding(self, index: usize) -> Self {
        if index >= self.first && index < self.first + self.count {
            return self;
        }
        Window {
            first: index.saturating_sub(self.count / 2),
            ..self
        }
    }

    /// The range of rows drawn, of `len`.
    pub(super) fn range(&self, len: usize) -> std::ops::Range<usize> {
        let first = self.first.min(len);
        first..(first + self.count).min(len)
    }
}

#[derive(Clone, Copy)]
pub(super) struct TrackerCtx {
    pub(super) all: Memo<Vec<Row>>,
    pub(super) by_id: Memo<HashMap<ActionId, usize>>,
    pub(super) shown: Memo<Vec<ActionId>>,
    pub(super) window: RwSignal<Window>,
    pub(super) period: Memo<ReportingPeriod>,
    pub(super) open_update: RwSignal<Option<ActionId>>,
    pub(super) today: StoredValue<String>,
    /// The tracker's view (filter, sort, period), as the address has it.
    pub(super) view: Memo<TrackerView>,
    /// The app's model.
    pub(super) model: Model,
    /// The row that had the keyboard last: a row drawn again (its RAG changed) takes it back.
    pub(super) keyboard: StoredValue<Option<ActionId>>,
}

impl TrackerCtx {
    /// Shows the tracker with `f` applied to its view, in the address.
    pub(super) fn set_view(self, f: &dyn Fn(&mut TrackerView)) {
        let mut v = self.view.get_untracked();
        f(&mut v);
        if let Some(doc) = self.model.doc.get_untracked() {
            route::replace(&Route::Tracker(doc, v));
        }
    }

    /// Moves focus to the row at `index` of those selected (drawing it first if it is not).
    pub(super) fn focus_row(self, index: usize) {
        let Some(id) = self.shown.with_untracked(|s| s.get(index).cloned()) else {
            return;
        };
        // Drawn already: at once, so the next key goes to it.
        if focus_drawn_row(&id) {
            return;
        }
        let w = self.window.get_untracked();
        self.window.set(w.holding(index));
        // After the row is drawn.
        request_animation_frame(move || {
            focus_drawn_row(&id);
        });
    }
}

/// The action of the tracker row that has focus, if one has.
pub(super) fn focused_row() -> Option<ActionId> {
    let active = web_sys::window()?.document()?.active_element()?;
    if !active.class_list().contains("row") {
        return None;
    }
    active.get_attribute("data-action").map(ActionId::new)
}

/// Focuses the drawn row of `id` (focus scrolls it into view); `false` if it is not drawn.
pub(super) fn focus_drawn_row(id: &ActionId) -> bool {
    let row = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector_all("tr.row").ok())
        .and_then(|rows| {
            (0..rows.length())
                .filter_map(|i| rows.item(i))
                .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
                .find(|e| e.get_attribute("data-action").as_deref() == Some(id.as_str()))
        });
    row.is_some_and(|r| r.focus().is_ok())
}
