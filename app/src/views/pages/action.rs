//! Action detail: every field of one action, its RAG by reporting period, its progress
//! updates and comments, each stamped with author, agency and date.

use crate::model::{today, Model};
use crate::route::{Route, TrackerView};
use crate::views::widgets::comments::{AddStamped, CommentThread};
use crate::views::widgets::period::current_period;
use crate::views::widgets::rag::RagChip;
use crate::views::widgets::text::CollabText;
use crate::views::widgets::travel::TravelOverride;
use leptos::prelude::*;
use plansync_shared::PlanOp;
use plansync_shared::{
    Action, ActionId, BoardId, CommentTarget, PersonId, Plan, ProgressState, Rag, ReportingPeriod,
    TextField, TravelItem,
};

fn find(plan: &Plan, id: &str) -> Option<(String, String, Action)> {
    plan.themes.iter().find_map(|t| {
        t.objectives.iter().find_map(|o| {
            o.actions
                .iter()
                .find(|a| a.id.as_str() == id)
                .map(|a| (t.title.clone(), o.text.clone(), a.clone()))
        })
    })
}

/// The reporting periods to show: every one with a rating, and the current one.
fn periods(action: &Action) -> Vec<ReportingPeriod> {
    let mut ps: Vec<ReportingPeriod> = action.rag.keys().copied().collect();
    let now = current_period();
    ps.push(now);
    ps.sort();
    ps.dedup();
    ps.reverse();
    ps
}

/// One action with every field.
#[component]
pub fn ActionPage(id: String) -> impl IntoView {
    let model = expect_context::<Model>();
    let key = id.clone();
    let found = Memo::new(move |_| model.plan.with(|p| p.as_ref().and_then(|p| find(p, &key))));
    let aid = ActionId::new(id.clone());
    let exists = move || found.with(Option::is_some);
    let action = move |f: fn(&Action) -> String| {
        Signal::derive(move || found.with(|a| a.as_ref().map(|(_, _, a)| f(a)).unwrap_or_default()))
    };
    let back = model
        .doc
        .get_untracked()
        .map(|d| Route::Tracker(d, TrackerView::default()).href())
        .unwrap_or_default();
    let boards = move || {
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.boards
                        .iter()
                        .map(|b| (b.id.clone(), b.name.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let people = move || crate::views::widgets::request::person_choices(model);
    let field = move |f: fn(&Action) -> Option<String>| {
        move || found.with(|a| a.as_ref().and_then(|(_, _, a)| f(a)))
    };
    let lead_board = field(|a| a.lead_board.as_ref().map(|b| b.as_str().to_string()));
    let lead = field(|a| a.lead.as_ref().map(|b| b.as_str().to_string()));
    let due = field(|a| a.due.clone());
    let state = move || found.with(|a| a.as_ref().map(|(_, _, a)| a.state));
    let (a1, a2, a3, a4, a5, a6, a7) = (
        aid.clone(),
        aid.clone(),
        aid.clone(),
        aid.clone(),
        aid.clone(),
        aid.clone(),
        aid.clone(),
    );
    view! {
        <article class="action-detail" data-presence-item=id.clone()>
            <p><a href=back>"← Action tracker"</a></p>
            <h1 class="visually-hidden" tabindex="-1">{move || format!("Action: {}", action(|a| a.title.clone()).get())}</h1>
            {move || (!exists()).then(|| view! { <p class="notice">"This action is no longer in the plan: someone removed it."</p> })}
            <p class="meta">{move || found.with(|a| a.as_ref().map(|(t, o, _)| format!("{t} › {o}")).unwrap_or_default())}</p>
            <CollabText field=TextField::ActionTitle(aid.clone()) value=action(|a| a.title.clone()) label="Action title" class="detail-title" />
            <div class="grid">
                <label class="field wide">"Description" <CollabText field=TextField::ActionDescription(aid.clone()) value=action(|a| a.description.clone()) label="Description" multiline=true /></label>
                <label class="field wide">"Target or measure" <CollabText field=TextField::ActionTarget(aid.clone()) value=action(|a| a.target.clone()) label="Target or measure" multiline=true /></label>
                <label class="field">"Lead board"
                    <select name="lead-board" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        let id = a1.clone();
                        model.apply(PlanOp::SetLeadBoard { action: id, board: (!v.is_empty()).then(|| BoardId::new(v)) });
                    }>
                        <option value="" selected=move || lead_board().is_none()>"None"</option>
                        {move || boards().into_iter().map(|(id, name)| { let s = id.as_str().to_string(); view! { <option value=s.clone() selected=move || lead_board().as_deref() == Some(s.as_str())>{name}</option> } }).collect_view()}
                    </select>
                </label>
                <fieldset class="field">
                    <legend>"Contributing boards"</legend>
                    {move || boards().into_iter().map(|(bid, name)| {
                        let (b1, b2) = (bid.clone(), bid.clone());
                        let id = a2.clone();
                        let checked = move || found.with(|a| a.as_ref().is_some_and(|(_, _, a)| a.contributing_boards.contains(&b1)));
                        view! { <label class="check"><input type="checkbox" prop:checked=checked on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            let (id, b) = (id.clone(), b2.clone());
                            model.apply(PlanOp::SetContributingBoard { action: id, board: b, contributes: on });
                        } />" "{name}</label> }
                    }).collect_view()}
                </fieldset>
                <label class="field">"Lead"
                    <select name="lead" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        let id = a3.clone();
                        model.apply(PlanOp::SetLead { action: id, lead: (!v.is_empty()).then(|| PersonId::new(v)) });
                    }>
                        <option value="" selected=move || lead().is_none()>"None"</option>
                        {move || people().into_iter().map(|(id, name)| { let s = id.as_str().to_string(); view! { <option value=s.clone() selected=move || lead().as_deref() == Some(s.as_str())>{name}</option> } }).collect_view()}
                    </select>
                </label>
                <label class="field">"Due"
                    <input type="date" name="due" prop:value=move || due().unwrap_or_default() on:change=move |ev| {
                        let v = event_target_value(&ev);
                        let id = a4.clone();
                        model.apply(PlanOp::SetDue { action: id, due: (!v.is_empty()).then_some(v) });
                    } />
                </label>
                <label class="field">"Progress"
                    <select name="state" on:change=move |ev| {
                        if let Ok(s) = ProgressState::parse(&event_target_value(&ev)) {
                            let id = a5.clone();
                            model.apply(PlanOp::SetProgressState { action: id, state: s });
                        }
                    }>
                        {ProgressState::ALL.iter().map(|s| view! { <option value=s.as_str() selected=move || state() == Some(*s)>{s.as_str()}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <h2>"RAG by reporting period"</h2>
            <div class="scroll-x"><table class="rag-table">
                <thead><tr><th scope="col">"Period"</th><th scope="col">"RAG"</th><th scope="col">"Set"</th><th scope="col">"Direction of travel"</th></tr></thead>
                <tbody>
                    {move || found.with(|a| a.as_ref().map(|(_, _, a)| periods(a)).unwrap_or_default()).into_iter().map(|period| {
                        let rag = move || found.with(|a| a.as_ref().and_then(|(_, _, a)| a.rag.get(&period).copied()));
                        let id = a6.clone();
                        view! {
                            <tr>
                                <th scope="row">{period.to_string()}</th>
                                <td>{move || rag().map(|r| view! { <RagChip rag=r period=period.to_string() /> })}</td>
                                <td><select aria-label=format!("RAG for {period}") on:change=move |ev| {
                                    if let Ok(r) = Rag::parse(&event_target_value(&ev)) {
                                        let id = id.clone();
                                        model.apply(PlanOp::SetRag { action: id, period, rag: r });
                                    }
                                }>
                                    <option value="" selected=move || rag().is_none()>"—"</option>
                                    {Rag::ALL.iter().map(|r| view! { <option value=r.as_str() selected=move || rag() == Some(*r)>{r.as_str()}</option> }).collect_view()}
                                </select></td>
                                <td class="travel">{move || found.with(|a| a.as_ref().map(|(_, _, a)| plansync_shared::action_travel(a, period).describe()))}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table></div>
            <TravelOverride item=TravelItem::Action(aid.clone()) />
            <h2>"Progress updates"</h2>
            <ol class="updates">
                {move || found.with(|a| a.as_ref().map(|(_, _, a)| a.updates.clone()).unwrap_or_default()).into_iter().rev().map(|u| view! {
                    <li class="update-entry"><p class="by">{format!("{} · {}", u.date, u.by())}</p><p>{u.text}</p></li>
                }).collect_view()}
            </ol>
            <AddStamped label="Add a progress update" on_add=move |author, agency, text| {
                let id = a7.clone();
                let known = model.known();
                model.apply(PlanOp::AddProgressUpdate { seed: model.seed(), action: id, author, agency, date: today(), text, known })
            } />
            <CommentThread target=CommentTarget::Action(aid.clone()) />
        </article>
    }
}
