//! Action tracker: every action in one table; filter by board, lead, agency, RAG, theme and
//! overdue; sort by any column; set RAG and add a progress update with the keyboard alone.
//! The filter, sort and period live in the URL.

use crate::model::{today, Model};
use crate::perf;
use crate::route::{self, Route, SortKey, TrackerView};
use crate::views::comments::{comment_counts, CommentCount, CommentMark};
use crate::views::period::current_period;
use leptos::prelude::*;
use plansync_shared::{
    action_travel, is_exception, ActionId, CommentTarget, Direction, HitTarget, Plan,
    ProgressState, Rag, ReportingPeriod,
};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use wasm_bindgen::JsCast;

/// One action as a tracker row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The action.
    pub id: ActionId,
    /// Position in plan order.
    pub order: usize,
    theme_id: String,
    theme: String,
    objective: String,
    title: String,
    lead_board_id: Option<String>,
    lead_board: String,
    boards: Vec<String>,
    contributing: String,
    lead_id: Option<String>,
    lead: String,
    agency_id: Option<String>,
    due: Option<String>,
    state: ProgressState,
    rag: Option<Rag>,
    travel: Option<Direction>,
    exception: bool,
    comments: CommentCount,
    update: Option<(String, String)>,
    /// Not updated for the plan's open reporting round.
    outstanding: bool,
}

/// The period a tracker shows: the one in the URL, else the latest rated one up to now.
pub fn period_of(plan: &Plan, view: &TrackerView) -> ReportingPeriod {
    period_at(plan, view, current_period())
}

/// [`period_of`] with the current period given.
fn period_at(plan: &Plan, view: &TrackerView, now: ReportingPeriod) -> ReportingPeriod {
    view.period
        .as_deref()
        .and_then(|k| ReportingPeriod::from_key(k).ok())
        .unwrap_or_else(|| plan.latest_rated_period(now))
}

/// Every action of a plan as rows, in plan order.
pub fn rows(plan: &Plan, period: ReportingPeriod) -> Vec<Row> {
    let people: HashMap<&str, (&str, Option<&str>)> = plan
        .people
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                (p.name.as_str(), p.agency.as_ref().map(|a| a.as_str())),
            )
        })
        .collect();
    let agencies: HashMap<&str, &str> = plan
        .agencies
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let comments = comment_counts(plan);
    let round = plansync_shared::current_round(plan);
    let mut out = Vec::new();
    for t in &plan.themes {
        for o in &t.objectives {
            for a in &o.actions {
                let lead = a.lead.as_ref().and_then(|l| people.get(l.as_str()));
                let agency_id = lead.and_then(|(_, ag)| ag.map(str::to_string));
                let lead_name = lead
                    .map(|(n, ag)| match ag.and_then(|ag| agencies.get(ag)) {
                        Some(agency) => format!("{n}, {agency}"),
                        None => n.to_string(),
                    })
                    .unwrap_or_default();
                out.push(Row {
                    id: a.id.clone(),
                    order: out.len(),
                    theme_id: t.id.as_str().to_string(),
                    theme: t.title.clone(),
                    objective: o.text.clone(),
                    title: a.title.clone(),
                    lead_board_id: a.lead_board.as_ref().map(|b| b.as_str().to_string()),
                    lead_board: plan.board_name(a.lead_board.as_ref()),
                    boards: a
                        .lead_board
                        .iter()
                        .chain(&a.contributing_boards)
                        .map(|b| b.as_str().to_string())
                        .collect(),
                    contributing: plan.board_names(&a.contributing_boards, ", "),
                    lead_id: a.lead.as_ref().map(|l| l.as_str().to_string()),
                    lead: lead_name,
                    agency_id,
                    due: a.due.clone(),
                    state: a.state,
                    rag: a.rag.get(&period).copied(),
                    travel: action_travel(a, period).shown(),
                    exception: is_exception(a, period),
                    comments: comments
                        .get(&CommentTarget::Action(a.id.clone()).key())
                        .copied()
                        .unwrap_or_default(),
                    update: a
                        .latest_update()
                        .map(|u| (u.date.clone(), format!("{} ({})", u.text, u.by()))),
                    outstanding: round.is_some_and(|r| !plansync_shared::missing(a, r).is_done()),
                });
            }
        }
    }
    out
}

fn is_overdue(r: &Row, today: &str) -> bool {
    plansync_shared::is_overdue(r.state, r.due.as_deref(), today)
}

fn rag_rank(r: Option<Rag>) -> u8 {
    match r {
        Some(Rag::Red) => 0,
        Some(Rag::Amber) => 1,
        Some(Rag::Green) => 2,
        _ => 3,
    }
}

/// The rows a view shows, filtered and sorted.
pub fn select(rows: &[Row], view: &TrackerView, today: &str) -> Vec<ActionId> {
    let eq = |want: &Option<String>, have: Option<&String>| {
        want.as_ref().is_none_or(|w| have == Some(w))
    };
    let mut picked: Vec<&Row> = rows
        .iter()
        .filter(|r| view.board.as_ref().is_none_or(|b| r.boards.contains(b)))
        .filter(|r| eq(&view.lead, r.lead_id.as_ref()))
        .filter(|r| eq(&view.agency, r.agency_id.as_ref()))
        .filter(|r| eq(&view.theme, Some(&r.theme_id)))
        .filter(|r| {
            view.rag
                .as_deref()
                .is_none_or(|w| r.rag.unwrap_or(Rag::NotRated).as_str() == w)
        })
        .filter(|r| !view.overdue || is_overdue(r, today))
        .filter(|r| !view.exceptions || r.exception)
        .filter(|r| !view.comments || r.comments.open > 0)
        .filter(|r| !view.outstanding || r.outstanding)
        .filter(|r| {
            view.travel
                .as_deref()
                .is_none_or(|w| r.travel.map(Direction::as_str) == Some(w))
        })
        .collect();
    let key = |a: &Row, b: &Row| -> Ordering {
        match view.sort {
            SortKey::Plan => Ordering::Equal,
            SortKey::Action => a.title.to_lowercase().cmp(&b.title.to_lowercase()),
            SortKey::Board => a.lead_board.cmp(&b.lead_board),
            SortKey::Lead => a.lead.cmp(&b.lead),
            // Undated actions last.
            SortKey::Due => (a.due.is_none(), &a.due).cmp(&(b.due.is_none(), &b.due)),
            SortKey::State => a.state.cmp(&b.state),
            SortKey::Rag => rag_rank(a.rag).cmp(&rag_rank(b.rag)),
            SortKey::Updated => b
                .update
                .as_ref()
                .map(|u| &u.0)
                .cmp(&a.update.as_ref().map(|u| &u.0)),
        }
    };
    picked.sort_by(|a, b| {
        let o = key(a, b);
        let o = if view.desc { o.reverse() } else { o };
        o.then(a.order.cmp(&b.order))
    });
    picked.into_iter().map(|r| r.id.clone()).collect()
}

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

/// Rows drawn beyond the screen, above and below, so scrolling and ↑ ↓ find rows there.
const MARGIN_ROWS: usize = 15;
/// A row's height before any is measured, in CSS pixels.
const ROW_GUESS_PX: f64 = 80.0;

/// Which of the selected rows are drawn: a screenful around where the page is scrolled, plus
/// a margin. Space for the rest is kept above and below, so the page scrolls the whole table.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    /// The first row drawn.
    first: usize,
    /// How many rows are drawn.
    count: usize,
    /// The height given to each row not drawn, measured from those drawn.
    row_px: f64,
}

impl Window {
    /// The window that shows rows `top..top + on_screen` with a margin either side, or
    /// this one if it already does with at least half a margin (so small scrolls move no
    /// rows, and the rows drawn never chase each other).
    fn showing(self, top: usize, on_screen: usize, len: usize) -> Self {
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
    fn holding(self, index: usize) -> Self {
        if index >= self.first && index < self.first + self.count {
            return self;
        }
        Window {
            first: index.saturating_sub(self.count / 2),
            ..self
        }
    }

    /// The range of rows drawn, of `len`.
    fn range(&self, len: usize) -> std::ops::Range<usize> {
        let first = self.first.min(len);
        first..(first + self.count).min(len)
    }
}

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
    let table = NodeRef::<leptos::html::Table>::new();
    let open_update = RwSignal::new(None::<ActionId>);
    provide_context(TrackerCtx {
        all,
        by_id,
        shown,
        window,
        period,
        open_update,
        today: StoredValue::new(today),
        keyboard: StoredValue::new(None),
    });
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
    let set_view = move |f: &dyn Fn(&mut TrackerView)| {
        let mut v = view_now.get_untracked();
        f(&mut v);
        if let Some(doc) = model.doc.get_untracked() {
            route::replace(&Route::Tracker(doc, v));
        }
    };
    let options = move |f: fn(&Plan) -> Vec<(String, String)>| {
        model.plan.with(|p| p.as_ref().map(f).unwrap_or_default())
    };
    let filter = move |label: &'static str,
                       name: &'static str,
                       current: Option<String>,
                       opts: Vec<(String, String)>,
                       apply: fn(&mut TrackerView, Option<String>)| {
        view! {
            <label>{label}" "
                <select name=name on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set_view(&|tv| apply(tv, (!v.is_empty()).then(|| v.clone())));
                }>
                    <option value="" selected=current.is_none()>"All"</option>
                    {opts.into_iter().map(|(id, name)| {
                        let sel = current.as_deref() == Some(id.as_str());
                        view! { <option value=id selected=sel>{name}</option> }
                    }).collect_view()}
                </select>
            </label>
        }
    };
    // Offered while a reporting round is open (or the filter is on).
    let round_open = move || {
        view_now.with(|v| v.outstanding)
            || model.plan.with(|p| {
                p.as_ref()
                    .is_some_and(|p| plansync_shared::current_round(p).is_some())
            })
    };
    // The same periods as the dashboard's picker.
    let periods = move || {
        model.plan.with(|p| {
            p.as_ref()
                .map(crate::views::period::periods)
                .unwrap_or_default()
        })
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
    let check = move |name: &'static str,
                      label: &'static str,
                      get: fn(&TrackerView) -> bool,
                      set: fn(&mut TrackerView, bool)| {
        view! {
            <label class="check"><input type="checkbox" name=name prop:checked=move || view_now.with(get) on:change=move |ev| {
                let on = event_target_checked(&ev);
                set_view(&|tv| set(tv, on));
            } />{label}</label>
        }
    };
    let find_now = view_now.get_untracked().find.unwrap_or_default();
    view! {
        <section class="tracker">
            <h1>"Action tracker"</h1>
            <form class="filters" aria-label="Filter actions" on:submit=|ev| ev.prevent_default()>
                <label>"Find "
                    <input type="search" name="find" value=find_now
                        aria-describedby="find-help"
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            let v = v.trim().to_string();
                            set_view(&|tv| tv.find = (!v.is_empty()).then(|| v.clone()));
                        } />
                </label>
                {move || filter("Board", "board", view_now.get().board, options(|p| p.boards.iter().map(|b| (b.id.as_str().into(), b.name.clone())).collect()), |tv, x| tv.board = x)}
                {move || filter("Lead", "lead", view_now.get().lead, options(|p| p.people.iter().map(|x| (x.id.as_str().into(), x.name.clone())).collect()), |tv, x| tv.lead = x)}
                {move || filter("Agency", "agency", view_now.get().agency, options(|p| p.agencies.iter().map(|a| (a.id.as_str().into(), a.name.clone())).collect()), |tv, x| tv.agency = x)}
                {move || filter("Theme", "theme", view_now.get().theme, options(|p| p.themes.iter().map(|t| (t.id.as_str().into(), t.title.clone())).collect()), |tv, x| tv.theme = x)}
                {move || filter("RAG", "rag", view_now.get().rag, Rag::ALL.iter().map(|r| (r.as_str().to_string(), r.as_str().to_string())).collect(), |tv, x| tv.rag = x)}
                {move || filter("Direction", "travel", view_now.get().travel, Direction::ALL.iter().map(|d| (d.as_str().to_string(), d.as_str().to_string())).collect(), |tv, x| tv.travel = x)}
                <label>"Period "
                    <select name="period" on:change=move |ev| { let v = event_target_value(&ev); set_view(&|tv| tv.period = Some(v.clone())); }>
                        {move || periods().into_iter().map(|p| view! { <option value=p.key() selected=move || period.get() == p>{p.to_string()}</option> }).collect_view()}
                    </select>
                </label>
                {check("overdue", " Overdue only", |v| v.overdue, |v, on| v.overdue = on)}
                {check("exceptions", " Exceptions only (red, amber or worsening)", |v| v.exceptions, |v, on| v.exceptions = on)}
                {check("comments", " With unresolved comments", |v| v.comments, |v, on| v.comments = on)}
                {move || round_open().then(|| check("outstanding", " Not updated for this round", |v| v.outstanding, |v, on| v.outstanding = on))}
            </form>
            // How many actions a filter or find leaves is announced; the help is not.
            <p class="meta" id="find-help"><span role="status">{move || format!("{} of {} actions", shown.with(Vec::len), all.with(Vec::len))}</span>{move || format!(" · RAG for {} · Find looks in titles, descriptions, progress updates and comments · keys on a row: R, A, G, N set the RAG; U adds a progress update; Enter opens the action; ↑ ↓ move between rows, Home and End go to the first and last", period.get())}</p>
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
        </section>
    }
}

/// The index (among those selected) of the row at the top of the screen: exact when it is
/// drawn, else estimated from the space kept for rows not drawn.
fn row_at_top(table: &web_sys::Element, w: Window, len: usize) -> Option<usize> {
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

/// The action of the tracker row that has focus, if one has.
fn focused_row() -> Option<ActionId> {
    let active = web_sys::window()?.document()?.active_element()?;
    if !active.class_list().contains("row") {
        return None;
    }
    active.get_attribute("data-action").map(ActionId::new)
}

/// The mean height of the rows drawn in `table`, if any are.
fn measured_row_px(table: &web_sys::Element) -> Option<f64> {
    let rows = table.query_selector_all("tbody.row-group").ok()?;
    let heights: Vec<f64> = (0..rows.length())
        .filter_map(|i| rows.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::Element>().ok())
        .map(|e| e.get_bounding_client_rect().height())
        .filter(|h| *h > 0.0)
        .collect();
    (!heights.is_empty()).then(|| heights.iter().sum::<f64>() / heights.len() as f64)
}

#[derive(Clone, Copy)]
struct TrackerCtx {
    all: Memo<Vec<Row>>,
    by_id: Memo<HashMap<ActionId, usize>>,
    shown: Memo<Vec<ActionId>>,
    window: RwSignal<Window>,
    period: Memo<ReportingPeriod>,
    open_update: RwSignal<Option<ActionId>>,
    today: StoredValue<String>,
    /// The row that had the keyboard last: a row drawn again (its RAG changed) takes it back.
    keyboard: StoredValue<Option<ActionId>>,
}

impl TrackerCtx {
    /// Moves focus to the row at `index` of those selected (drawing it first if it is not).
    fn focus_row(self, index: usize) {
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

/// Focuses the drawn row of `id` (focus scrolls it into view); `false` if it is not drawn.
fn focus_drawn_row(id: &ActionId) -> bool {
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

/// One action's row (and its progress-update form when open).
#[component]
fn TrackerRow(id: ActionId) -> impl IntoView {
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
            model.edit(move |p, _| p.set_rag(&id, period, rag));
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
                <td class="title"><a href=detail tabindex="-1">{cell(|r| r.title.clone())}</a><super::EditingMark item=id_mark.clone() />{move || view! { <CommentMark count=row.with(|r| r.as_ref().map(|r| r.comments).unwrap_or_default()) /> }}</td>
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
fn UpdateForm(id: ActionId, back: NodeRef<leptos::html::Tbody>) -> impl IntoView {
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
        if model
            .edit(move |p, rng| {
                let u = p.add_progress_update(rng, &id, &author, &agency, &date, &words)?;
                known.map_or(Ok(()), |k| p.set_update_known(&id, &u, &k))
            })
            .is_some()
        {
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

#[cfg(test)]
mod tests {
    use super::*;
    use plansync_shared::demo_plan;
    use rand::SeedableRng;

    fn demo() -> Plan {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        demo_plan(&mut rng).unwrap().read().unwrap()
    }

    #[test]
    fn the_tracker_shows_every_action_once_in_plan_order() {
        let plan = demo();
        let period = period_at(
            &plan,
            &TrackerView::default(),
            ReportingPeriod::from_key("2026-Q3").unwrap(),
        );
        let all = rows(&plan, period);
        let count: usize = plan
            .themes
            .iter()
            .flat_map(|t| &t.objectives)
            .map(|o| o.actions.len())
            .sum();
        assert_eq!(all.len(), count);
        let ids = select(&all, &TrackerView::default(), "2026-01-01");
        assert_eq!(ids, all.iter().map(|r| r.id.clone()).collect::<Vec<_>>());
        assert!(
            all.iter().any(|r| r.rag.is_some()),
            "the default period has ratings"
        );
    }

    #[test]
    fn filters_combine_and_sorting_by_rag_puts_red_first() {
        let plan = demo();
        let period = period_at(
            &plan,
            &TrackerView::default(),
            ReportingPeriod::from_key("2026-Q3").unwrap(),
        );
        let all = rows(&plan, period);
        let board = plan.boards[1].id.as_str().to_string();
        let view = TrackerView {
            board: Some(board.clone()),
            ..Default::default()
        };
        let picked = select(&all, &view, "2026-01-01");
        assert!(!picked.is_empty());
        for id in &picked {
            let r = all.iter().find(|r| &r.id == id).unwrap();
            assert!(r.boards.contains(&board));
        }
        let red = TrackerView {
            rag: Some("red".into()),
            ..Default::default()
        };
        for id in select(&all, &red, "2026-01-01") {
            assert_eq!(all.iter().find(|r| r.id == id).unwrap().rag, Some(Rag::Red));
        }
        let sorted = TrackerView {
            sort: SortKey::Rag,
            ..Default::default()
        };
        let ranks: Vec<u8> = select(&all, &sorted, "2026-01-01")
            .iter()
            .map(|id| rag_rank(all.iter().find(|r| &r.id == id).unwrap().rag))
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    }

    #[test]
    fn overdue_means_past_due_and_not_complete() {
        let plan = demo();
        let all = rows(
            &plan,
            period_at(
                &plan,
                &TrackerView::default(),
                ReportingPeriod::from_key("2026-Q3").unwrap(),
            ),
        );
        let view = TrackerView {
            overdue: true,
            ..Default::default()
        };
        let picked = select(&all, &view, "2099-01-01");
        let expected = all
            .iter()
            .filter(|r| r.due.is_some() && r.state != ProgressState::Complete)
            .count();
        assert_eq!(picked.len(), expected);
        assert!(select(&all, &view, "1900-01-01").is_empty());
    }
}
