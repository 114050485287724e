//! The tracker's filter bar: find, board, lead, agency, theme, RAG, direction, period and the
//! checks; each change goes into the address.

use super::context::TrackerCtx;
use crate::route::TrackerView;
use leptos::prelude::*;
use plansync_shared::{Direction, Plan, Rag};

/// The filters above the tracker's table.
#[component]
pub fn FilterBar() -> impl IntoView {
    let ctx = expect_context::<TrackerCtx>();
    let model = ctx.model;
    let view_now = ctx.view;
    let period = ctx.period;
    let set_view = move |f: &dyn Fn(&mut TrackerView)| ctx.set_view(f);
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
                .map(crate::views::widgets::period::periods)
                .unwrap_or_default()
        })
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
    }
}
