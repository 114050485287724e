//! The plan's stage and its milestones on a timeline: name, due date and done, each edited in
//! place; milestones past their date and not done are marked overdue (in words, not colour
//! alone).

use crate::model::{today, Model};
use crate::views::widgets::text::CollabText;
use leptos::prelude::*;
use plansync_shared::PlanOp;
use plansync_shared::{Milestone, MilestoneId, Stage, TextField};

/// The stage and milestones page.
#[component]
pub fn MilestonesPage() -> impl IntoView {
    let model = expect_context::<Model>();
    let stage = move || model.plan.with(|p| p.as_ref().map(|p| p.stage));
    let ids = Memo::new(move |_| {
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.milestones
                        .iter()
                        .map(|m| m.id.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    view! {
        <section class="milestones">
            <h1 tabindex="-1">"Stage and milestones"</h1>
            <label class="stage-picker">"Stage of the plan "
                <select name="stage" on:change=move |ev| {
                    if let Ok(s) = Stage::parse(&event_target_value(&ev)) {
                        model.apply(PlanOp::SetStage { stage: s });
                    }
                }>
                    {Stage::ALL.iter().map(|s| view! {
                        <option value=s.as_str() selected=move || stage() == Some(*s)>{s.as_str()}</option>
                    }).collect_view()}
                </select>
            </label>
            <h2>"Milestones"</h2>
            {move || ids.with(Vec::is_empty).then(|| view! { <p>"No milestones yet: add the first below."</p> })}
            <ol class="timeline">
                <For each=move || ids.get() key=|id| id.clone() let:id>
                    <MilestoneItem id />
                </For>
            </ol>
            <AddMilestone />
        </section>
    }
}

/// One milestone on the timeline.
#[component]
fn MilestoneItem(id: MilestoneId) -> impl IntoView {
    let model = expect_context::<Model>();
    let key = id.clone();
    let found = Memo::new(move |_| {
        model.plan.with(|p| {
            p.as_ref()
                .and_then(|p| p.milestones.iter().find(|m| m.id == key).cloned())
        })
    });
    let get = move |f: fn(&Milestone) -> String| {
        Signal::derive(move || found.with(|m| m.as_ref().map(f).unwrap_or_default()))
    };
    let done = move || found.with(|m| m.as_ref().is_some_and(|m| m.done));
    let overdue = move || {
        found.with(|m| {
            m.as_ref()
                .is_some_and(|m| !m.done && m.due.as_deref().is_some_and(|d| d < today().as_str()))
        })
    };
    let (i1, i2, i3) = (id.clone(), id.clone(), id.clone());
    view! {
        <li class="milestone" data-milestone=id.to_string()
            data-state=move || if done() { "done" } else if overdue() { "overdue" } else { "ahead" }>
            <CollabText field=TextField::MilestoneName(id.clone()) value=get(|m| m.name.clone()) label="Milestone" />
            <label>"Due "
                <input type="date" name="due" prop:value=get(|m| m.due.clone().unwrap_or_default())
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        let id = i1.clone();
                        model.apply(PlanOp::SetMilestoneDue { milestone: id, due: (!v.is_empty()).then_some(v) });
                    } />
            </label>
            <label class="check">
                <input type="checkbox" name="done" prop:checked=done on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    let id = i2.clone();
                    model.apply(PlanOp::SetMilestoneDone { milestone: id, done: on });
                } />" Done"
            </label>
            {move || overdue().then(|| view! { <strong class="overdue-word">"Overdue"</strong> })}
            <button class="icon danger" aria-label=move || format!("Remove the milestone {}", get(|m| m.name.clone()).get())
                on:click=move |_| {
                    let id = i3.clone();
                    model.apply(PlanOp::RemoveMilestone { milestone: id });
                }>"✕"</button>
        </li>
    }
}

/// A new milestone: its name and, if known, its due date.
#[component]
fn AddMilestone() -> impl IntoView {
    let model = expect_context::<Model>();
    let name = RwSignal::new(String::new());
    let due = RwSignal::new(String::new());
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked().trim().to_string();
        if n.is_empty() {
            return;
        }
        let d = due.get_untracked();
        let added = model.apply(PlanOp::AddMilestone {
            seed: model.seed(),
            name: n,
            due: (!d.is_empty()).then_some(d),
        });
        if added {
            name.set(String::new());
            due.set(String::new());
        }
    };
    view! {
        <form class="add-milestone" on:submit=submit>
            <label>"New milestone " <input name="milestone" bind:value=name placeholder="e.g. Police and Crime Panel" /></label>
            <label>"Due " <input type="date" name="new-due" bind:value=due /></label>
            <button type="submit" class="add">"Add milestone"</button>
        </form>
    }
}
