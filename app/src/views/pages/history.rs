//! A plan's history: named snapshots (take, view, compare, restore) and every change with
//! who made it and when, filterable. The changes come from this browser's own copy, so the
//! history shows offline too; who sent each one comes from the server (kept for offline).

use crate::api;
use crate::model::Model;
use crate::route::Route;
use leptos::prelude::*;
use plansync_shared::api::{ChangeAuthor as Author, Snapshot};
use plansync_shared::{
    attributed, compare, Change, Difference, HistoryEntry, HistoryFilter, ItemKind, WordChange,
};
use std::collections::HashMap;

/// A date and time in the browser's words.
pub fn when(ms: f64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    String::from(d.to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED))
}

fn authors_key(plan: &str) -> String {
    format!("plansync.authors.{plan}")
}

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Who sent each change (by hash), as last fetched from the server.
fn cached_authors(plan: &str) -> HashMap<String, Author> {
    local()
        .and_then(|s| s.get_item(&authors_key(plan)).ok().flatten())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// A comparison on screen: its title, the snapshot it is from (for restoring items) and
/// the differences.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    label: String,
    from: Option<i64>,
    diffs: Vec<Difference>,
}

/// A snapshot (its heads, name and id) compared with the plan now.
async fn with_now_of(model: Model, heads: &[String], name: &str, id: i64) -> Result<Shown, String> {
    let (old, now) = (model.plan_at(heads).await?, model.plan_now()?);
    Ok(Shown {
        label: format!("Changes from \"{name}\" to now"),
        from: Some(id),
        diffs: compare(&old, &now),
    })
}

/// The history page of the open plan; `with_now` (a snapshot's id) is shown compared with
/// now once the snapshots are in.
#[component]
pub fn HistoryPage(with_now: Option<i64>) -> impl IntoView {
    let model = expect_context::<Model>();
    let plan = move || model.doc.get().map(|d| d.to_string()).unwrap_or_default();
    let bump = RwSignal::new(0u32);
    let error = RwSignal::new(None::<String>);
    let snapshots = LocalResource::new(move || {
        bump.track();
        let plan = plan();
        async move { api::snapshots(&plan).await }
    });
    let authors = RwSignal::new(cached_authors(&plan()));
    Effect::new(move || {
        bump.track();
        let plan = plan();
        leptos::task::spawn_local(async move {
            if let Ok(by_hash) = api::authors(&plan).await {
                if let (Some(s), Ok(t)) = (local(), serde_json::to_string(&by_hash)) {
                    let _ = s.set_item(&authors_key(&plan), &t);
                }
                authors.set(by_hash);
            }
        });
    });
    let comparison = RwSignal::new(None::<Shown>);
    // A link asked for one snapshot compared with now: show it once it is listed.
    let asked = StoredValue::new(with_now);
    Effect::new(move || {
        let Some(id) = asked.get_value() else { return };
        let Some(Ok(list)) = snapshots.get() else {
            return;
        };
        let Some(s) = list.iter().find(|s| s.id == id) else {
            error.set(Some(format!(
                "The snapshot to compare with (number {id}) is not on the server any more: pick another below."
            )));
            asked.set_value(None);
            return;
        };
        asked.set_value(None);
        let (heads, name) = (s.heads.clone(), s.name.clone());
        leptos::task::spawn_local(async move {
            match with_now_of(model, &heads, &name, id).await {
                Ok(shown) => comparison.set(Some(shown)),
                Err(e) => error.set(Some(e)),
            }
        });
    });
    let act = crate::views::widgets::request::server_action(error, bump);
    view! {
        <section class="history">
            <h1>"History"</h1>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <h2>"Snapshots"</h2>
            <SnapshotForm act=act />
            {move || match snapshots.get() {
                None => view! { <p>"Loading snapshots…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="notice">{format!("{e} Snapshots are kept on the server.")}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p>"No snapshots yet. Take one before each board meeting, e.g. \"Draft for Panel, January\"."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <CompareForm list=list.clone() comparison=comparison error=error />
                    <ul class="snapshots">
                        {list.iter().map(|s| view! { <SnapshotItem s=s.clone() act=act comparison=comparison error=error /> }).collect_view()}
                    </ul>
                }.into_any(),
            }}
            {move || comparison.get().map(|c| view! { <ComparisonView label=c.label from=c.from diffs=c.diffs act=act /> })}
            <h2>"Changes"</h2>
            <ChangeList authors=authors />
        </section>
    }
}

/// Names the plan as this browser holds it.
#[component]
fn SnapshotForm(
    act: impl Fn(crate::views::widgets::request::Request) + Copy + 'static,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let name = RwSignal::new(String::new());
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let Some(doc) = model.doc.get_untracked() else {
            return;
        };
        let heads = model.heads();
        let n = name.get_untracked();
        name.set(String::new());
        act(Box::pin(async move {
            api::take_snapshot(&doc.to_string(), &n, heads)
                .await
                .map(|_| ())
        }));
    };
    view! {
        <form class="snapshot-form" on:submit=submit>
            <label>"Name " <input name="snapshot-name" required maxlength="200" placeholder="Draft for Panel, January" bind:value=name /></label>
            <button type="submit" disabled=move || !model.can_edit()>"Take snapshot"</button>
        </form>
    }
}

fn taken(s: &Snapshot) -> String {
    format!(
        "taken {}{}",
        when(s.created_ms as f64),
        s.author
            .as_ref()
            .map(|a| format!(" by {a}"))
            .unwrap_or_default()
    )
}

/// One snapshot with what can be done with it.
#[component]
fn SnapshotItem(
    s: Snapshot,
    act: impl Fn(crate::views::widgets::request::Request) + Copy + 'static,
    comparison: RwSignal<Option<Shown>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let (heads, heads2) = (s.heads.clone(), s.heads.clone());
    let (name, name2, name3) = (s.name.clone(), s.name.clone(), s.name.clone());
    let taken_text = taken(&s);
    let taken2 = taken_text.clone();
    let id = s.id;
    let view_it = move |_| {
        let (name, taken, heads) = (name.clone(), taken2.clone(), heads.clone());
        leptos::task::spawn_local(async move {
            match model.view_snapshot(name, taken, &heads).await {
                Ok(()) => {
                    if let Some(doc) = model.doc.get_untracked() {
                        crate::route::go(&Route::Outline(doc));
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let compare_now = move |_| {
        let (heads, name) = (heads2.clone(), name2.clone());
        leptos::task::spawn_local(async move {
            match with_now_of(model, &heads, &name, id).await {
                Ok(shown) => comparison.set(Some(shown)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let restore = move |_| {
        let confirmed = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message(&format!(
                    "Restore the whole plan as it was at \"{name3}\"? This is a new change on top of the history: nothing is lost, and it can be undone by restoring a later snapshot."
                ))
                .ok()
            })
            .unwrap_or(false);
        if !confirmed {
            return;
        }
        let plan = model
            .doc
            .get_untracked()
            .map(|d| d.to_string())
            .unwrap_or_default();
        act(Box::pin(async move { api::restore(&plan, id, None).await }));
    };
    view! {
        <li class="snapshot" data-snapshot=id>
            <strong class="snapshot-name">{s.name.clone()}</strong>
            " "<span class="muted">{taken_text}</span>
            <span class="actions">
                <button class="view-snapshot" on:click=view_it>"View"</button>
                <button class="compare-now" on:click=compare_now>"Compare with now"</button>
                <button class="restore" on:click=restore disabled=move || !model.can_edit()>"Restore…"</button>
            </span>
        </li>
    }
}

/// Picks two snapshots (or a snapshot and now) to compare.
#[component]
fn CompareForm(
    list: Vec<Snapshot>,
    comparison: RwSignal<Option<Shown>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let from = RwSignal::new(list.last().map(|s| s.id.to_string()).unwrap_or_default());
    let to = RwSignal::new("now".to_string());
    let list2 = list.clone();
    let run = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let find = |id: &str| list2.iter().find(|s| s.id.to_string() == id).cloned();
        let Some(old) = find(&from.get_untracked()) else {
            return;
        };
        let to_id = to.get_untracked();
        let to = find(&to_id);
        leptos::task::spawn_local(async move {
            let (new_plan, new_name) = match to {
                Some(s) => (model.plan_at(&s.heads).await, s.name),
                None => (model.plan_now(), "now".to_string()),
            };
            match (model.plan_at(&old.heads).await, new_plan) {
                (Ok(a), Ok(b)) => {
                    let to = if new_name == "now" {
                        "now".to_string()
                    } else {
                        format!("\"{new_name}\"")
                    };
                    comparison.set(Some(Shown {
                        label: format!("Changes from \"{}\" to {to}", old.name),
                        from: Some(old.id),
                        diffs: compare(&a, &b),
                    }))
                }
                (Err(e), _) | (_, Err(e)) => error.set(Some(e)),
            }
        });
    };
    let options = move |with_now: bool| {
        let mut o: Vec<(String, String)> = list
            .iter()
            .map(|s| (s.id.to_string(), s.name.clone()))
            .collect();
        if with_now {
            o.insert(0, ("now".into(), "Now".into()));
        }
        o.into_iter()
            .map(|(v, n)| view! { <option value=v>{n}</option> })
            .collect_view()
    };
    view! {
        <form class="compare-form" on:submit=run>
            <label>"Compare " <select bind:value=from>{options(false)}</select></label>
            <label>" with " <select bind:value=to>{options(true)}</select></label>
            <button type="submit">"Compare"</button>
        </form>
    }
}

/// A comparison: grouped by theme, reworded text with added and removed words marked, and
/// a way to put one item back as it was.
#[component]
fn ComparisonView(
    label: String,
    from: Option<i64>,
    diffs: Vec<Difference>,
    act: impl Fn(crate::views::widgets::request::Request) + Copy + 'static,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let plan = model
        .doc
        .get_untracked()
        .map(|d| d.to_string())
        .unwrap_or_default();
    let count = diffs.len();
    let mut theme = None::<String>;
    let mut items = Vec::new();
    for d in diffs {
        if theme.as_deref() != Some(d.theme.as_str()) {
            theme = Some(d.theme.clone());
            let title = if d.theme.is_empty() {
                "The plan, indicators and milestones".to_string()
            } else {
                d.theme.clone()
            };
            items.push(view! { <li class="group"><h3>{title}</h3></li> }.into_any());
        }
        let text = match &d.change {
            Change::Reworded { field, words } => view! {
                <span>
                    <strong>{format!("{} '{}', {field}: ", d.kind.word(), d.name)}</strong>
                    {words.iter().map(|w| match w.change {
                        WordChange::Same => view! { <span>{w.text.clone()}</span> }.into_any(),
                        WordChange::Added => view! { <ins>{w.text.clone()}</ins> }.into_any(),
                        WordChange::Removed => view! { <del>{w.text.clone()}</del> }.into_any(),
                    }).collect_view()}
                </span>
            }
            .into_any(),
            _ => view! { <span>{d.describe()}</span> }.into_any(),
        };
        let restorable = matches!(
            d.kind,
            ItemKind::Theme | ItemKind::Objective | ItemKind::Action
        ) && !matches!(d.change, Change::Added);
        let button = (restorable && from.is_some()).then(|| {
            let (plan, kind, id) = (plan.clone(), d.kind, d.id.clone());
            let snapshot = from.unwrap_or_default();
            view! {
                <button class="restore-item link" disabled=move || !model.can_edit() on:click=move |_| {
                    let (plan, id) = (plan.clone(), id.clone());
                    act(Box::pin(async move { api::restore(&plan, snapshot, Some((kind, &id))).await }));
                }>"Restore this " {kind.word()}</button>
            }
        });
        items.push(view! { <li class="difference" data-change=change_word(&d.change)>{text}" "{button}</li> }.into_any());
    }
    view! {
        <section class="comparison" aria-label="Comparison">
            <h2>{label}</h2>
            <p class="muted">{format!("{count} differences")}</p>
            <ul>{items}</ul>
        </section>
    }
}

fn change_word(c: &Change) -> &'static str {
    match c {
        Change::Added => "added",
        Change::Removed => "removed",
        Change::Moved { .. } => "moved",
        Change::Reworded { .. } => "reworded",
        Change::Rag { .. } => "rag",
        Change::ProgressUpdate { .. } => "update",
        Change::IndicatorValue { .. } => "value",
        Change::Field { .. } => "field",
    }
}

/// Every change, newest first, with filters.
#[component]
fn ChangeList(authors: RwSignal<HashMap<String, Author>>) -> impl IntoView {
    let model = expect_context::<Model>();
    let person = RwSignal::new(String::new());
    let agency = RwSignal::new(String::new());
    let theme = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let history = LocalResource::new(move || {
        // Asked again when the plan changes (a change arrived or was made here).
        model.plan.track();
        async move { model.history().await.unwrap_or_default() }
    });
    let entries = Memo::new(move |_| history.get().unwrap_or_default());
    let themes = move || {
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.themes
                        .iter()
                        .map(|t| (t.id.to_string(), t.title.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let shown = move || {
        let filter = HistoryFilter {
            person: Some(person.get()),
            agency: Some(agency.get()),
            theme: Some(theme.get()),
            from: Some(from.get()),
            to: Some(to.get()),
        };
        let by_hash = authors.get();
        entries
            .get()
            .into_iter()
            .filter_map(|e| {
                let (who, time) = attributed(&e, |h| by_hash.get(h));
                let who = who.cloned();
                filter
                    .matches(&e, who.as_ref(), time)
                    .then_some((e, who, time as f64))
            })
            .take(300)
            .collect::<Vec<_>>()
    };
    view! {
        <form class="filters history-filters" on:submit=|ev| ev.prevent_default()>
            <label>"Person " <input name="person" bind:value=person /></label>
            <label>"Agency " <input name="agency" bind:value=agency /></label>
            <label>"Theme "
                <select bind:value=theme>
                    <option value="">"All"</option>
                    {move || themes().into_iter().map(|(id, t)| view! { <option value=id>{t}</option> }).collect_view()}
                </select>
            </label>
            <label>"From " <input type="date" bind:value=from /></label>
            <label>"To " <input type="date" bind:value=to /></label>
        </form>
        <ol class="changes">
            {move || shown().into_iter().map(|(e, who, time)| view! { <ChangeItem e=e who=who time=time /> }).collect_view()}
        </ol>
    }
}

/// One entry of the history.
#[component]
fn ChangeItem(e: HistoryEntry, who: Option<Author>, time: f64) -> impl IntoView {
    let by = match who.as_ref().map(plansync_shared::Attribution::described) {
        Some(Some(who)) => who,
        Some(None) => "the server (from another server or the shell)".into(),
        None => "not yet on the server".into(),
    };
    let at = if time > 0.0 {
        when(time)
    } else {
        "time not known".into()
    };
    let details = (e.details.len() > 1).then(|| {
        view! {
            <details><summary>{format!("{} changes", e.details.len())}</summary>
                <ul>{e.details.iter().map(|d| view! { <li>{d.clone()}</li> }).collect_view()}</ul>
            </details>
        }
    });
    view! {
        <li class="change">
            <span class="summary">{e.summary.clone()}</span>
            <span class="muted">{format!(" · {by} · {at}")}</span>
            {details}
        </li>
    }
}
