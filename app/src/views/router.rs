//! The router: the page each route shows, inside the plan's gate where it needs the plan.

use super::pages::{
    accessibility, action, board, dashboard, history, indicators, join, milestones, outline,
    papers, people, plans, room, search, tracker, workshop,
};
use crate::model::{Model, Opening};
use crate::route::Route;
use leptos::prelude::*;

/// Shows its children once the open plan is here, and says why while it is not.
#[component]
pub fn PlanGate(children: ChildrenFn) -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        match model.opening.get() {
        Opening::Ready => view! {
            {move || model.viewing.get().map(|v| view! {
                <p class="notice snapshot-banner" role="status">
                    <strong>{format!("Snapshot \"{}\"", v.name)}</strong>
                    {format!(" ({}): the plan as it was then, read-only. ", v.taken)}
                    <button class="back-to-now" on:click=move |_| model.back_to_now()>"Back to the plan as it is now"</button>
                </p>
            })}
            {move || (model.viewing.with(Option::is_none) && !model.can_edit()).then(|| view! {
                <p class="notice view-only">"View only: you are a viewer of this plan. Ask an owner for the editor role to change it."</p>
            })}
            // A viewer's controls are disabled; the model refuses their edits too.
            <fieldset class="plan-body" disabled=move || !model.can_edit()>{children()}</fieldset>
        }.into_any(),
        Opening::Unavailable => view! {
            <p class="notice">"This plan is not in this browser and the server does not have it. Check the link, or open a plan from the list."</p>
        }.into_any(),
        Opening::Unreadable(e) => view! {
            <p class="notice error">{format!("This plan could not be read ({e}). Open it from another browser, or ask the plan's owner.")}</p>
        }.into_any(),
        Opening::Waiting | Opening::None => view! { <p class="notice">"Opening the plan…"</p> }.into_any(),
    }
    }
}

/// The page the route shows (a tracker's filter, sort or find keeps its page).
#[component]
pub fn Page(page: Memo<Route>) -> impl IntoView {
    move || match page.get() {
        Route::Plans => view! { <plans::PlansPage /> }.into_any(),
        Route::Join(code) => view! { <join::JoinPage code=code.clone() /> }.into_any(),
        Route::SignedIn(code) => view! { <join::SignedInPage code=code.clone() /> }.into_any(),
        Route::Accessibility => view! { <accessibility::AccessibilityPage /> }.into_any(),
        Route::Dashboard(_) => {
            view! { <PlanGate><dashboard::DashboardPage /></PlanGate> }.into_any()
        }
        Route::Outline(_) => view! { <PlanGate><outline::OutlinePage /></PlanGate> }.into_any(),
        Route::Board(_, b) => {
            view! { <PlanGate><board::BoardPage id=b.clone() /></PlanGate> }.into_any()
        }
        Route::Indicators(_, i) => {
            view! { <PlanGate><indicators::IndicatorsPage id=i.clone() /></PlanGate> }.into_any()
        }
        Route::Milestones(_) => {
            view! { <PlanGate><milestones::MilestonesPage /></PlanGate> }.into_any()
        }
        Route::Search(_, q) => {
            view! { <PlanGate><search::SearchPage query=q.clone() /></PlanGate> }.into_any()
        }
        Route::Tracker(..) => view! { <PlanGate><tracker::TrackerPage /></PlanGate> }.into_any(),
        Route::Action(_, id) => {
            view! { <PlanGate><action::ActionPage id=id.clone() /></PlanGate> }.into_any()
        }
        Route::People(_) => view! { <people::PeoplePage /> }.into_any(),
        Route::History(_, compare) => {
            view! { <PlanGate><history::HistoryPage with_now=compare /></PlanGate> }.into_any()
        }
        Route::Papers(_) => view! { <PlanGate><papers::PapersPage /></PlanGate> }.into_any(),
        Route::Room(_) => view! { <PlanGate><room::RoomPage /></PlanGate> }.into_any(),
        Route::Workshop(_, o) => {
            view! { <PlanGate><workshop::WorkshopPage objective=o.clone() /></PlanGate> }.into_any()
        }
    }
}
