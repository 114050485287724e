//! Plan outline: themes with their aim and shared outcomes, objectives and actions; add,
//! rename, reorder (buttons, Alt+arrow keys, drag) and remove; every text edited in place.

use crate::model::Model;
use crate::route::Route;
use crate::views::widgets::comments::{CommentBadge, CommentsDisclosure};
use crate::views::widgets::text::CollabText;
use leptos::prelude::*;
use plansync_shared::PlanOp;
use plansync_shared::{
    Action, ActionId, CommentTarget, Decision, Objective, ObjectiveId, Plan, TextField, Theme,
    ThemeId,
};

/// What is being dragged in the outline.
#[derive(Debug, Clone, PartialEq)]
enum Dragged {
    Theme(ThemeId),
    Objective(ObjectiveId),
    Action(ActionId),
}

fn plan_text(model: Model, f: impl Fn(&Plan) -> String + Send + Sync + 'static) -> Signal<String> {
    Signal::derive(move || model.plan.with(|p| p.as_ref().map(&f).unwrap_or_default()))
}

fn find_theme(p: &Plan, id: &ThemeId) -> Option<Theme> {
    p.themes.iter().find(|t| &t.id == id).cloned()
}

fn find_objective(p: &Plan, id: &ObjectiveId) -> Option<(ThemeId, usize, Objective)> {
    p.themes.iter().find_map(|t| {
        let i = t.objectives.iter().position(|o| &o.id == id)?;
        Some((t.id.clone(), i, t.objectives[i].clone()))
    })
}

fn find_action(p: &Plan, id: &ActionId) -> Option<(ObjectiveId, usize, Action)> {
    p.themes.iter().flat_map(|t| &t.objectives).find_map(|o| {
        let i = o.actions.iter().position(|a| &a.id == id)?;
        Some((o.id.clone(), i, o.actions[i].clone()))
    })
}

fn confirm(question: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(question).ok())
        .unwrap_or(false)
}

/// The whole outline of the open plan.
#[component]
pub fn OutlinePage() -> impl IntoView {
    let model = expect_context::<Model>();
    provide_context(RwSignal::new(None::<Dragged>));
    let ids = Memo::new(move |_| {
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| p.themes.iter().map(|t| t.id.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let meta = move || {
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    let actions: usize = p
                        .themes
                        .iter()
                        .flat_map(|t| &t.objectives)
                        .map(|o| o.actions.len())
                        .sum();
                    format!(
                        "{} · {} · stage: {} · {} themes · {actions} actions",
                        p.area,
                        p.years(),
                        p.stage,
                        p.themes.len()
                    )
                })
                .unwrap_or_default()
        })
    };
    let add_theme = move |_| {
        model.apply(PlanOp::AddTheme {
            seed: model.seed(),
            title: "New theme".into(),
            index: None,
        });
    };
    view! {
        <article class="outline">
            <h1 class="visually-hidden" tabindex="-1">"Outline of the plan"</h1>
            <CollabText field=TextField::PlanTitle value=plan_text(model, |p| p.title.clone()) label="Plan title" class="plan-title" />
            <p class="meta">{meta}</p>
            <label class="inline">"Owning body "
                <CollabText field=TextField::OwningBody value=plan_text(model, |p| p.owning_body.clone()) label="Owning body" />
            </label>
            <ol class="themes">
                <For each=move || ids.get() key=|id| id.clone() let:id>
                    <ThemeCard id />
                </For>
            </ol>
            <button class="add" on:click=add_theme>"Add theme"</button>
        </article>
    }
}

/// Move up, move down and remove, with the item's name in each label.
#[component]
fn ItemControls(
    #[prop(into)] what: String,
    up: impl Fn() + Send + Sync + 'static,
    down: impl Fn() + Send + Sync + 'static,
    remove: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <span class="controls">
            <button class="icon" title=format!("Move {what} up (Alt+↑)") aria-label=format!("Move {what} up") on:click=move |_| up()>"↑"</button>
            <button class="icon" title=format!("Move {what} down (Alt+↓)") aria-label=format!("Move {what} down") on:click=move |_| down()>"↓"</button>
            <button class="icon danger" title=format!("Remove {what}") aria-label=format!("Remove {what}") on:click=move |_| remove()>"✕"</button>
        </span>
    }
}

/// Alt+↑ / Alt+↓ on an item moves it.
fn alt_arrows(ev: &web_sys::KeyboardEvent, up: impl Fn(), down: impl Fn()) {
    if !ev.alt_key() {
        return;
    }
    match ev.key().as_str() {
        "ArrowUp" => {
            ev.prevent_default();
            up()
        }
        "ArrowDown" => {
            ev.prevent_default();
            down()
        }
        _ => {}
    }
}

/// One theme: title, aim, shared outcomes and objectives.
#[component]
fn ThemeCard(id: ThemeId) -> impl IntoView {
    let model = expect_context::<Model>();
    let dragged = expect_context::<RwSignal<Option<Dragged>>>();
    let tid = id.clone();
    let theme = Memo::new(move |_| {
        model
            .plan
            .with(|p| p.as_ref().and_then(|p| find_theme(p, &tid)))
    });
    let index = {
        let id = id.clone();
        move || {
            model.plan.with_untracked(|p| {
                p.as_ref()
                    .and_then(|p| p.themes.iter().position(|t| t.id == id))
            })
        }
    };
    let mover = |delta: isize| {
        let id = id.clone();
        let index = index.clone();
        move || {
            if let Some(i) = index() {
                let to = (i as isize + delta).max(0) as usize;
                let id = id.clone();
                model.apply(PlanOp::MoveTheme {
                    theme: id,
                    index: to,
                });
            }
        }
    };
    let (up, down) = (mover(-1), mover(1));
    let (up2, down2) = (up.clone(), down.clone());
    let remove = {
        let id = id.clone();
        move || {
            let name =
                theme.with_untracked(|t| t.as_ref().map(|t| t.title.clone()).unwrap_or_default());
            if confirm(&format!(
                "Remove the theme \u{201c}{name}\u{201d} with its objectives and actions?"
            )) {
                let id = id.clone();
                model.apply(PlanOp::RemoveTheme { theme: id });
            }
        }
    };
    let text = move |f: fn(&Theme) -> String| {
        Signal::derive(move || theme.with(|t| t.as_ref().map(f).unwrap_or_default()))
    };
    let objective_ids = Memo::new(move |_| {
        theme.with(|t| {
            t.as_ref()
                .map(|t| {
                    t.objectives
                        .iter()
                        .map(|o| o.id.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let outcome_count =
        Memo::new(move |_| theme.with(|t| t.as_ref().map(|t| t.outcomes.len()).unwrap_or(0)));
    let (id_drop, id_start, id_add, id_out, id_add_out) =
        (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        if let (Some(Dragged::Theme(from)), Some(to)) = (dragged.get_untracked(), index()) {
            if from != id_drop {
                model.apply(PlanOp::MoveTheme {
                    theme: from,
                    index: to,
                });
            }
        }
        dragged.set(None);
    };
    view! {
        <li class="theme" on:keydown=move |ev| alt_arrows(&ev, &up2, &down2)
            on:dragover=move |ev: web_sys::DragEvent| if matches!(dragged.get_untracked(), Some(Dragged::Theme(_))) { ev.prevent_default() }
            on:drop=on_drop>
            <div class="item-head">
                <span class="grip" draggable="true" title="Drag to reorder" aria-hidden="true"
                    on:dragstart=move |_| dragged.set(Some(Dragged::Theme(id_start.clone())))>"⠿"</span>
                <CollabText field=TextField::ThemeTitle(id.clone()) value=text(|t| t.title.clone()) label="Theme title" class="theme-title" />
                <ItemControls what="theme" up down remove />
            </div>
            <label class="field">"Aim"
                <CollabText field=TextField::ThemeAim(id.clone()) value=text(|t| t.aim.clone()) label="Theme aim" multiline=true />
            </label>
            <div class="field">"Shared outcomes"
                <ul class="outcomes">
                    <For each=move || 0..outcome_count.get() key=|i| *i let:i>
                        {
                            let tid = id_out.clone();
                            let value = Signal::derive(move || theme.with(|t| t.as_ref().and_then(|t| t.outcomes.get(i).cloned()).unwrap_or_default()));
                            let rm = tid.clone();
                            view! {
                                <li>
                                    <CollabText field=TextField::ThemeOutcome(tid, i) value label=format!("Shared outcome {}", i + 1) />
                                    <button class="icon danger" aria-label=format!("Remove shared outcome {}", i + 1)
                                        on:click=move |_| { let rm = rm.clone(); model.apply(PlanOp::RemoveOutcome { theme: rm, index: i }); }>"✕"</button>
                                </li>
                            }
                        }
                    </For>
                </ul>
                <button class="add small" on:click=move |_| { let t = id_add_out.clone(); model.apply(PlanOp::AddOutcome { theme: t, text: String::new(), index: None }); }>"Add shared outcome"</button>
            </div>
            <CommentsDisclosure target=CommentTarget::Theme(id.clone()) what="theme" />
            <ol class="objectives">
                <For each=move || objective_ids.get() key=|id| id.clone() let:oid>
                    <ObjectiveBlock id=oid />
                </For>
            </ol>
            <button class="add" on:click=move |_| { let t = id_add.clone(); model.apply(PlanOp::AddObjective { seed: model.seed(), theme: t, text: "New objective".into(), index: None }); }>"Add objective"</button>
        </li>
    }
}

/// One objective: its wording, workshop review and actions.
#[component]
fn ObjectiveBlock(id: ObjectiveId) -> impl IntoView {
    let model = expect_context::<Model>();
    let dragged = expect_context::<RwSignal<Option<Dragged>>>();
    let oid = id.clone();
    let found = Memo::new(move |_| {
        model
            .plan
            .with(|p| p.as_ref().and_then(|p| find_objective(p, &oid)))
    });
    let mover = |delta: isize| {
        let id = id.clone();
        move || {
            if let Some((theme, i, _)) = found.get_untracked() {
                let to = (i as isize + delta).max(0) as usize;
                let id = id.clone();
                model.apply(PlanOp::MoveObjective {
                    objective: id,
                    theme,
                    index: to,
                });
            }
        }
    };
    let (up, down) = (mover(-1), mover(1));
    let (up2, down2) = (up.clone(), down.clone());
    let remove = {
        let id = id.clone();
        move || {
            if confirm("Remove this objective and its actions?") {
                let id = id.clone();
                model.apply(PlanOp::RemoveObjective { objective: id });
            }
        }
    };
    let text = move |f: fn(&Objective) -> String| {
        Signal::derive(move || found.with(|o| o.as_ref().map(|(_, _, o)| f(o)).unwrap_or_default()))
    };
    let action_ids = Memo::new(move |_| {
        found.with(|o| {
            o.as_ref()
                .map(|(_, _, o)| o.actions.iter().map(|a| a.id.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let decision = move || {
        found.with(|o| {
            o.as_ref()
                .map(|(_, _, o)| o.review.decision)
                .unwrap_or(Decision::Undecided)
        })
    };
    let (id_dec, id_add, id_drop, id_start) = (id.clone(), id.clone(), id.clone(), id.clone());
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        let Some((theme, to, _)) = found.get_untracked() else {
            return;
        };
        match dragged.get_untracked() {
            Some(Dragged::Objective(from)) if from != id_drop => {
                model.apply(PlanOp::MoveObjective {
                    objective: from,
                    theme,
                    index: to,
                });
            }
            Some(Dragged::Action(from)) => {
                let target = id_drop.clone();
                model.apply(PlanOp::MoveAction {
                    action: from,
                    objective: target,
                    index: 0,
                });
            }
            _ => {}
        }
        dragged.set(None);
    };
    view! {
        <li class="objective" data-presence-item=id.as_str().to_string() on:keydown=move |ev| { ev.stop_propagation(); alt_arrows(&ev, &up2, &down2) }
            on:dragover=move |ev: web_sys::DragEvent| if matches!(dragged.get_untracked(), Some(Dragged::Objective(_) | Dragged::Action(_))) { ev.prevent_default() }
            on:drop=move |ev: web_sys::DragEvent| { ev.stop_propagation(); on_drop(ev) }>
            <div class="item-head">
                <span class="grip" draggable="true" title="Drag to reorder" aria-hidden="true"
                    on:dragstart=move |ev: web_sys::DragEvent| { ev.stop_propagation(); dragged.set(Some(Dragged::Objective(id_start.clone()))) }>"⠿"</span>
                <CollabText field=TextField::ObjectiveText(id.clone()) value=text(|o| o.text.clone()) label="Objective" class="objective-text" multiline=true />
                <crate::views::widgets::editing::EditingMark item=id.as_str().to_string() />
                <ItemControls what="objective" up down remove />
            </div>
            <details class="review">
                <summary>{move || format!("Workshop review: {}", decision())}</summary>
                <label class="field">"Decision "
                    <select on:change=move |ev| {
                        if let Ok(d) = Decision::parse(&event_target_value(&ev)) {
                            let id = id_dec.clone();
                            model.apply(PlanOp::SetDecision { objective: id, decision: d });
                        }
                    }>
                        {Decision::ALL.iter().map(|d| view! { <option value=d.as_str() selected=move || decision() == *d>{d.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">"Working group" <CollabText field=TextField::ReviewGroup(id.clone()) value=text(|o| o.review.group.clone()) label="Working group" /></label>
                <label class="field">"Proposed wording" <CollabText field=TextField::ReviewProposed(id.clone()) value=text(|o| o.review.proposed.clone()) label="Proposed wording" multiline=true /></label>
                <label class="field">"Comments" <CollabText field=TextField::ReviewComments(id.clone()) value=text(|o| o.review.comments.clone()) label="Workshop comments" multiline=true /></label>
            </details>
            <CommentsDisclosure target=CommentTarget::Objective(id.clone()) what="objective" />
            <ul class="actions">
                <For each=move || action_ids.get() key=|id| id.clone() let:aid>
                    <ActionLine id=aid />
                </For>
            </ul>
            <button class="add small" on:click=move |_| { let o = id_add.clone(); model.apply(PlanOp::AddAction { seed: model.seed(), objective: o, title: "New action".into(), index: None }); }>"Add action"</button>
        </li>
    }
}

/// One action in the outline: its title, lead board, latest RAG and a link to its detail.
#[component]
fn ActionLine(id: ActionId) -> impl IntoView {
    let model = expect_context::<Model>();
    let dragged = expect_context::<RwSignal<Option<Dragged>>>();
    let aid = id.clone();
    let found = Memo::new(move |_| {
        model
            .plan
            .with(|p| p.as_ref().and_then(|p| find_action(p, &aid)))
    });
    let mover = |delta: isize| {
        let id = id.clone();
        move || {
            if let Some((objective, i, _)) = found.get_untracked() {
                let to = (i as isize + delta).max(0) as usize;
                let id = id.clone();
                model.apply(PlanOp::MoveAction {
                    action: id,
                    objective,
                    index: to,
                });
            }
        }
    };
    let (up, down) = (mover(-1), mover(1));
    let (up2, down2) = (up.clone(), down.clone());
    let remove = {
        let id = id.clone();
        move || {
            if confirm("Remove this action?") {
                let id = id.clone();
                model.apply(PlanOp::RemoveAction { action: id });
            }
        }
    };
    let title = Signal::derive(move || {
        found.with(|a| {
            a.as_ref()
                .map(|(_, _, a)| a.title.clone())
                .unwrap_or_default()
        })
    });
    let rag = move || {
        found.with(|a| {
            a.as_ref()
                .and_then(|(_, _, a)| a.rag.iter().next_back().map(|(p, r)| (p.to_string(), *r)))
        })
    };
    let detail = model
        .doc
        .get_untracked()
        .map(|d| Route::Action(d, id.as_str().to_string()).href())
        .unwrap_or_default();
    let (id_drop, id_start) = (id.clone(), id.clone());
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        ev.stop_propagation();
        if let (Some(Dragged::Action(from)), Some((objective, to, _))) =
            (dragged.get_untracked(), found.get_untracked())
        {
            if from != id_drop {
                model.apply(PlanOp::MoveAction {
                    action: from,
                    objective,
                    index: to,
                });
            }
        }
        dragged.set(None);
    };
    view! {
        <li class="action" data-action=id.as_str().to_string() data-presence-item=id.as_str().to_string()
            on:keydown=move |ev| { ev.stop_propagation(); alt_arrows(&ev, &up2, &down2) }
            on:dragover=move |ev: web_sys::DragEvent| if matches!(dragged.get_untracked(), Some(Dragged::Action(_))) { ev.prevent_default() }
            on:drop=on_drop>
            <span class="grip" draggable="true" title="Drag to reorder" aria-hidden="true"
                on:dragstart=move |ev: web_sys::DragEvent| { ev.stop_propagation(); dragged.set(Some(Dragged::Action(id_start.clone()))) }>"⠿"</span>
            <CollabText field=TextField::ActionTitle(id.clone()) value=title label="Action title" class="action-title" />
            <crate::views::widgets::editing::EditingMark item=id.as_str().to_string() />
            <CommentBadge target=CommentTarget::Action(id.clone()) />
            {move || rag().map(|(period, r)| view! { <crate::views::widgets::rag::RagChip rag=r period /> })}
            <a class="small" href=detail>"Details"</a>
            <ItemControls what="action" up down remove />
        </li>
    }
}
