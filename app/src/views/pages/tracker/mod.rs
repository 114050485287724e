//! Action tracker: every action in one table; filter by board, lead, agency, RAG, theme and
//! overdue; sort by any column; set RAG and add a progress update with the keyboard alone.
//! The filter, sort and period live in the URL.

mod context;
mod filters;
mod row;
mod rows;
mod table;

use crate::model::{today, Model};
use crate::route::{Route, TrackerView};
use crate::views::widgets::period::current_period;
use context::{TrackerCtx, Window, ROW_GUESS_PX};
use filters::FilterBar;
use leptos::prelude::*;
use plansync_shared::{ActionId, HitTarget};
use rows::{period_of, rows, select};
use std::collections::{HashMap, HashSet};
use table::TrackerTable;

/// The tracker for the open plan, with the filter, sort and period in the address.
#[component]
pub fn TrackerPage() -> impl IntoView {
    let model = expect_context::<Model>();
    let view_now = Memo::new(move |_| {
        model.route.with(|r| match r {
            Route::Tracker(_, v) => v.clone(),
            _ => TrackerView::default(),
        })
    });
    let period = Memo::new(move |_| {
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| period_of(p, &view_now.get()))
                .unwrap_or_else(current_period)
        })
    });
    let all = Memo::new(move |_| {
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| rows(p, period.get()))
                .unwrap_or_default()
        })
    });
    let by_id = Memo::new(move |_| {
        all.with(|rs| {
            rs.iter()
                .enumerate()
                .map(|(i, r)| (r.id.clone(), i))
                .collect::<HashMap<_, _>>()
        })
    });
    // Words to find, through the app's search: the actions any hit opens.
    let found = Memo::new(move |_| {
        view_now.with(|v| v.find.clone()).map(|q| {
            model.plan.with(|p| {
                p.as_ref()
                    .map(|p| {
                        plansync_shared::search(p, &q)
                            .into_iter()
                            .filter_map(|h| match h.target {
                                HitTarget::Action(id) => Some(ActionId::new(id)),
                                _ => None,
                            })
                            .collect::<HashSet<_>>()
                    })
                    .unwrap_or_default()
            })
        })
    });
    let today = today();
    let t = today.clone();
    let shown = Memo::new(move |_| {
        all.with(|rs| {
            found.with(|f| {
                let mut ids = select(rs, &view_now.get(), &t);
                if let Some(f) = f {
                    ids.retain(|id| f.contains(id));
                }
                ids
            })
        })
    });
    let window = RwSignal::new(Window {
        first: 0,
        count: 40,
        row_px: ROW_GUESS_PX,
    });
    let open_update = RwSignal::new(None::<ActionId>);
    provide_context(TrackerCtx {
        all,
        by_id,
        shown,
        window,
        period,
        open_update,
        today: StoredValue::new(today),
        view: view_now,
        model,
        keyboard: StoredValue::new(None),
    });
    view! {
        <section class="tracker">
            <h1>"Action tracker"</h1>
            <FilterBar />
            // How many actions a filter or find leaves is announced; the help is not.
            <p class="meta" id="find-help"><span role="status">{move || format!("{} of {} actions", shown.with(Vec::len), all.with(Vec::len))}</span>{move || format!(" · RAG for {} · Find looks in titles, descriptions, progress updates and comments · keys on a row: R, A, G, N set the RAG; U adds a progress update; Enter opens the action; ↑ ↓ move between rows, Home and End go to the first and last", period.get())}</p>
            <TrackerTable />
        </section>
    }
}
