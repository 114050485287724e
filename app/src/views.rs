//! What the user sees: the plans on this server, and the chosen plan's outline.

use crate::api::{fetch_plans, PlanEntry};
use crate::sync::{sync_url, Connection, Notice};
use leptos::prelude::*;
use plansync_shared::{DocumentId, Plan};

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let plans = LocalResource::new(fetch_plans);
    let (chosen, set_chosen) = signal(None::<String>);
    // Open the first plan (the demo plan on a new server) once the list arrives.
    Effect::new(move || {
        if chosen.get_untracked().is_none() {
            if let Some(Ok(list)) = plans.get() {
                if let Some(first) = list.first() {
                    set_chosen.set(Some(first.url.clone()));
                }
            }
        }
    });
    view! {
        <header><h1>"Plansync"</h1></header>
        <main>
            <nav aria-label="Plans">
                <h2>"Plans on this server"</h2>
                {move || match plans.get() {
                    None => view! { <p>"Loading plans…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                    Some(Ok(list)) => view! { <PlanList plans=list chosen set_chosen /> }.into_any(),
                }}
            </nav>
            <section aria-live="polite">
                {move || chosen.get().map(|url| view! { <PlanOutline url /> })}
            </section>
        </main>
    }
}

/// The list of plans, one button each.
#[component]
fn PlanList(
    plans: Vec<PlanEntry>,
    chosen: ReadSignal<Option<String>>,
    set_chosen: WriteSignal<Option<String>>,
) -> impl IntoView {
    if plans.is_empty() {
        return view! { <p>"No plans yet."</p> }.into_any();
    }
    view! {
        <ul>
            <For each=move || plans.clone() key=|p| p.id.clone() let:plan>
                {
                    let url = plan.url.clone();
                    let current = url.clone();
                    view! {
                        <li>
                            <button
                                aria-current=move || (chosen.get().as_deref() == Some(current.as_str())).to_string()
                                on:click=move |_| set_chosen.set(Some(url.clone()))
                            >
                                {plan.title.clone()}
                                <span class="stage">{plan.stage.clone()}</span>
                            </button>
                        </li>
                    }
                }
            </For>
        </ul>
    }
    .into_any()
}

/// One plan, synced live from the server: title, stage and themes.
#[component]
fn PlanOutline(url: String) -> impl IntoView {
    let Ok(doc) = DocumentId::from_url(&url) else {
        return view! { <p class="error">"This plan's address is not valid."</p> }.into_any();
    };
    let (plan, set_plan) = signal(None::<Plan>);
    let (status, set_status) = signal("connecting");
    let conn: StoredValue<Option<Connection>, LocalStorage> = StoredValue::new_local(None);
    let c = Connection::open(sync_url(), move |notice| match notice {
        Notice::Online => set_status.set("online"),
        Notice::Offline => set_status.set("offline: will reconnect"),
        Notice::Unavailable(d) if d == doc => set_status.set("this plan is not on the server"),
        Notice::Changed(d) if d == doc => {
            if let Some(c) = conn.get_value() {
                set_plan.set(c.plan(&doc));
            }
        }
        _ => {}
    });
    c.find(doc);
    conn.set_value(Some(c));
    on_cleanup(move || {
        if let Some(c) = conn.get_value() {
            c.close();
        }
    });
    view! {
        <span class=move || if status.get() == "online" { "badge online" } else { "badge offline" }>{move || status.get()}</span>
        {move || match plan.get() {
            None => view! { <p>"Opening the plan…"</p> }.into_any(),
            Some(p) => view! { <PlanSummary plan=p /> }.into_any(),
        }}
    }
    .into_any()
}

/// The plan's heading and its themes.
#[component]
fn PlanSummary(plan: Plan) -> impl IntoView {
    let actions: usize = plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .map(|o| o.actions.len())
        .sum();
    view! {
        <h2 class="plan-title">{plan.title.clone()}</h2>
        <p class="meta">{format!("{} · {} · {} actions", plan.owning_body, plan.stage, actions)}</p>
        <ul class="themes">
            {plan.themes.into_iter().map(|t| {
                let objectives = t.objectives.len();
                let actions: usize = t.objectives.iter().map(|o| o.actions.len()).sum();
                view! {
                    <li class="theme">
                        <h3>{t.title}</h3>
                        <p>{t.aim}</p>
                        <span class="counts">{format!("{objectives} objectives · {actions} actions")}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
