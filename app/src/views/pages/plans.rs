//! Plans: the plans on this server and those kept in this browser; open one, create one.

use crate::api::{create_plan, fetch_plans, PlanEntry};
use crate::model::Model;
use crate::route::{self, Route};
use leptos::prelude::*;
use plansync_shared::DocumentId;

/// The list of plans and the form to create one.
#[component]
pub fn PlansPage() -> impl IntoView {
    let model = expect_context::<Model>();
    let server = LocalResource::new(fetch_plans);
    let local = LocalResource::new(move || {
        model.local_plans.track();
        model.started.track();
        let store = model.store();
        async move {
            match store {
                Some(s) => s.plans().await.unwrap_or_default(),
                None => Vec::new(),
            }
        }
    });
    // Server plans first, then plans only this browser keeps.
    let merged = move || {
        let on_server = server.get().and_then(Result::ok).unwrap_or_default();
        let mut rows: Vec<(PlanEntry, bool)> =
            on_server.iter().cloned().map(|p| (p, true)).collect();
        for p in local.get().unwrap_or_default() {
            if !on_server.iter().any(|s| s.id == p.id) {
                rows.push((p, false));
            }
        }
        rows
    };
    let server_error = move || server.get().and_then(Result::err);
    view! {
        <section class="plans">
            <h1>"Plans"</h1>
            {move || server_error().map(|e| view! {
                <p class="notice">{e}" Plans kept in this browser are listed below and can be opened and edited."</p>
            })}
            <ul class="plan-list">
                <For each=merged key=|(p, on)| (p.id.clone(), p.title.clone(), *on) let:row>
                    <PlanRow plan=row.0 on_server=row.1 />
                </For>
            </ul>
            {move || (server.get().is_some() && merged().is_empty()).then(|| view! {
                <p class="notice">"You are not in any plan on this server yet: open the invitation link an owner of a plan gave you, or type its code on the "<a href="#/join">"join page"</a>"."</p>
                <crate::views::widgets::sign_in::SignInButtons invitation=RwSignal::new(String::new()) heading="Already in a plan? Sign in with your agency" code_follows=false />
            })}
            {move || { model.local_plans.track(); crate::membership::all().iter().any(|m| m.is_owner()) }.then(|| view! { <NewPlanForm /> })}
        </section>
    }
}

/// One plan in the list.
#[component]
fn PlanRow(plan: PlanEntry, on_server: bool) -> impl IntoView {
    let href = DocumentId::from_url(&plan.url)
        .map(|d| Route::Dashboard(d).href())
        .unwrap_or_default();
    let tracker = DocumentId::from_url(&plan.url)
        .map(|d| Route::Tracker(d, Default::default()).href())
        .unwrap_or_default();
    view! {
        <li class="plan-row">
            <a class="plan-link" href=href>{plan.title.clone()}</a>
            <span class="stage">{plan.stage.clone()}</span>
            <span class="where">{if on_server { "on the server" } else { "in this browser only" }}</span>
            <a class="small" href=tracker>"Action tracker"</a>
        </li>
    }
}

/// Creates an empty plan with a title, or a copy of the demo plan.
#[component]
fn NewPlanForm() -> impl IntoView {
    let model = expect_context::<Model>();
    let title = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let create = move |t: Option<String>| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match create_plan(t).await {
                Ok(joined) => open_joined(model, error, &joined),
                Err(e) => error.set(Some(format!(
                    "{e} Creating a plan needs the server; try again when online."
                ))),
            }
            busy.set(false);
        });
    };
    let import = move |ev: web_sys::Event| {
        use wasm_bindgen::JsCast;
        let file = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|i| i.files())
            .and_then(|f| f.get(0));
        let Some(file) = file else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match crate::api::import_plan(&file).await {
                Ok(joined) => open_joined(model, error, &joined),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let t = title.get_untracked().trim().to_string();
        if t.is_empty() {
            error.set(Some("Give the new plan a title.".into()));
        } else {
            create(Some(t));
        }
    };
    view! {
        <form class="new-plan" on:submit=submit>
            <h2>"Create a plan"</h2>
            <label>"Title " <input name="title" bind:value=title placeholder="Police, Crime and Community Safety Plan 2028-31" /></label>
            <button type="submit" disabled=move || busy.get()>"Create empty plan"</button>
            <button type="button" disabled=move || busy.get() on:click=move |_| create(None)>"Create from the demo plan"</button>
            <label class="import-plan">"Or import a plan from a file (a Plansync JSON export or an automerge backup) "
                <input type="file" name="plan-file" accept=".json,.automerge" disabled=move || busy.get() on:change=import /></label>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </form>
    }
}

/// Opens a plan I just created or imported (my membership is already kept).
fn open_joined(
    model: Model,
    error: RwSignal<Option<String>>,
    joined: &plansync_shared::api::Membership,
) {
    match DocumentId::from_url(&joined.plan.url) {
        Ok(d) => {
            model.memberships_changed();
            route::go(&Route::Outline(d))
        }
        Err(_) => error.set(Some(
            "The server gave a plan address this app cannot read.".into(),
        )),
    }
}
