//! Workshop mode: the day's view, one objective at a time, in large type on the projector
//! and usable on a phone. The objective, its actions and their RAG, the decision (large
//! buttons), the working group, the proposed wording and the group's comments (collaborative
//! text: several people typing at once keep all their words). An owner can lead the room:
//! every screen that follows moves with them; anyone can step away and come back. A running
//! tally of the room's decisions sits below.

use crate::model::Model;
use crate::route::{self, Route};
use crate::views::widgets::rag::RagChip;
use crate::views::widgets::text::CollabText;
use leptos::prelude::*;
use plansync_shared::PlanOp;
use plansync_shared::{workshop_tally, Decision, ObjectiveId, TextField};

/// One objective as workshop mode walks through them.
#[derive(Debug, Clone, PartialEq)]
struct Stop {
    id: String,
    theme: String,
}

/// Workshop mode on `objective` (the first objective when `None`).
#[component]
pub fn WorkshopPage(objective: Option<String>) -> impl IntoView {
    let model = expect_context::<Model>();
    let stops = Memo::new(move |_| {
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.themes
                        .iter()
                        .flat_map(|t| {
                            t.objectives.iter().map(|o| Stop {
                                id: o.id.as_str().to_string(),
                                theme: t.title.clone(),
                            })
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let here = {
        let objective = objective.clone();
        Memo::new(move |_| {
            let list = stops.get();
            objective
                .as_ref()
                .and_then(|o| list.iter().position(|s| &s.id == o))
                .or((!list.is_empty()).then_some(0))
        })
    };
    let doc = move || model.doc.get_untracked();
    let go_to = move |i: usize| {
        if let (Some(d), Some(s)) = (doc(), stops.get_untracked().get(i)) {
            route::go(&Route::Workshop(d, Some(s.id.clone())));
        }
    };
    let is_owner = move || model.role.get().as_deref() == Some("owner");
    // Following the room: on by default; stepping to another objective by hand stops it.
    let following = expect_context::<FollowRoom>().0;
    let leading = move || model.leading.get().is_some();
    let current_id = move || {
        here.get()
            .and_then(|i| stops.get().get(i).map(|s| s.id.clone()))
    };
    // The leader's screen tells the room where it is.
    Effect::new(move || {
        if model.leading.get_untracked().is_some() {
            let now = current_id();
            if model.leading.get_untracked() != now {
                model.leading.set(now);
            }
        }
    });
    // A follower's screen goes where the leader is.
    Effect::new(move || {
        if !following.get() || leading() {
            return;
        }
        let lead = model.here.with(|h| crate::presence::room_lead(h));
        if let (Some(lead), Some(d)) = (lead, doc()) {
            if current_id().as_ref() != Some(&lead) {
                route::go(&Route::Workshop(d, Some(lead)));
            }
        }
    });
    let step = move |delta: isize| {
        if let Some(i) = here.get_untracked() {
            let n = stops.get_untracked().len() as isize;
            let to = (i as isize + delta).clamp(0, (n - 1).max(0)) as usize;
            if !leading() {
                following.set(false);
            }
            go_to(to);
        }
    };
    let room_led = move || model.here.with(|h| crate::presence::room_lead(h).is_some());
    view! {
        <section class="workshop">
            <nav class="workshop-bar" aria-label="Workshop">
                <button type="button" class="step prev" on:click=move |_| step(-1) disabled=move || here.get() == Some(0)>"← Previous"</button>
                <span class="where">{move || match here.get() {
                    Some(i) => format!("Objective {} of {} · {}", i + 1, stops.get().len(), stops.get().get(i).map(|s| s.theme.clone()).unwrap_or_default()),
                    None => "This plan has no objectives yet".into(),
                }}</span>
                <button type="button" class="step next" on:click=move |_| step(1) disabled=move || here.get().is_none_or(|i| i + 1 >= stops.get().len())>"Next →"</button>
                <Show when=is_owner>
                    <button type="button" class="lead" aria-pressed=move || leading().to_string()
                        on:click=move |_| model.leading.set(if leading() { None } else { current_id() })>
                        {move || if leading() { "Leading the room: everyone following moves with you" } else { "Lead the room" }}
                    </button>
                </Show>
                <Show when=move || !leading() && room_led()>
                    <label class="follow"><input type="checkbox" prop:checked=move || following.get()
                        on:change=move |ev| following.set(event_target_checked(&ev)) />" Follow the facilitator"</label>
                </Show>
            </nav>
            {move || current_id().map(|id| view! { <ObjectiveStop id=id /> })}
            <Tally />
        </section>
    }
}

/// Whether this screen follows the room's facilitator (kept while moving between objectives).
#[derive(Clone, Copy)]
pub struct FollowRoom(pub RwSignal<bool>);

/// One objective in workshop mode.
#[component]
fn ObjectiveStop(id: String) -> impl IntoView {
    let model = expect_context::<Model>();
    let oid = ObjectiveId::new(id.clone());
    let found = {
        let oid = oid.clone();
        Memo::new(move |_| {
            model.plan.with(|p| {
                p.as_ref().and_then(|p| {
                    p.themes
                        .iter()
                        .flat_map(|t| &t.objectives)
                        .find(|o| o.id == oid)
                        .cloned()
                })
            })
        })
    };
    let text = move |f: fn(&plansync_shared::Objective) -> String| {
        Signal::derive(move || found.with(|o| o.as_ref().map(f).unwrap_or_default()))
    };
    let decision = move || {
        found
            .with(|o| o.as_ref().map(|o| o.review.decision))
            .unwrap_or(Decision::Undecided)
    };
    let decide = {
        let oid = oid.clone();
        move |d: Decision| {
            let oid = oid.clone();
            model.apply(PlanOp::SetDecision {
                objective: oid,
                decision: d,
            });
        }
    };
    view! {
        <article class="stop" data-presence-item=id.clone()>
            <h1 class="objective-now" tabindex="-1">{move || found.with(|o| o.as_ref().map(|o| o.text.clone()).unwrap_or_default())}</h1>
            <crate::views::widgets::editing::EditingMark item=id.clone() />
            <h2>"Actions"</h2>
            <ul class="stop-actions">
                {move || found.with(|o| o.as_ref().map(|o| o.actions.clone()).unwrap_or_default()).into_iter().map(|a| {
                    let rag = a.rag.iter().next_back().map(|(p, r)| (p.to_string(), *r));
                    view! {
                        <li>{a.title.clone()}
                            {rag.map(|(period, r)| view! { <RagChip rag=r period /> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <h2 id="decision-label">"Decision"</h2>
            <div class="decisions" role="group" aria-labelledby="decision-label">
                {Decision::ALL.iter().filter(|d| **d != Decision::Undecided).map(|d| {
                    let d = *d;
                    let decide = decide.clone();
                    view! {
                        <button type="button" class="decision" data-decision=d.as_str()
                            aria-pressed=move || (decision() == d).to_string()
                            on:click=move |_| decide(if decision() == d { Decision::Undecided } else { d })>
                            {d.as_str()}
                        </button>
                    }
                }).collect_view()}
            </div>
            <label class="field">"Working group" <CollabText field=TextField::ReviewGroup(oid.clone()) value=text(|o| o.review.group.clone()) label="Working group" /></label>
            <label class="field">"Proposed wording" <CollabText field=TextField::ReviewProposed(oid.clone()) value=text(|o| o.review.proposed.clone()) label="Proposed wording" multiline=true /></label>
            <label class="field">"The group's comments" <CollabText field=TextField::ReviewComments(oid.clone()) value=text(|o| o.review.comments.clone()) label="The group's comments" multiline=true /></label>
        </article>
    }
}

/// The room's running tally: decided and undecided, by kind and by working group.
#[component]
fn Tally() -> impl IntoView {
    let model = expect_context::<Model>();
    let tally = Memo::new(move |_| model.plan.with(|p| p.as_ref().map(workshop_tally)));
    let papers = move || {
        model
            .doc
            .get()
            .map(|d| Route::Papers(d).href())
            .unwrap_or_default()
    };
    move || {
        tally.get().map(|t| view! {
            <section class="tally" aria-label="The room's tally">
                <h2>"Tally"</h2>
                <p class="tally-line">{format!("{} decided · {} undecided", t.decided, t.undecided)}</p>
                <ul class="by-decision">
                    {t.by_decision.iter().map(|(d, n)| view! { <li data-decision=d.as_str()>{format!("{d}: {n}")}</li> }).collect_view()}
                </ul>
                <ul class="by-group">
                    {t.by_group.iter().map(|(g, decided, all)| view! { <li>{format!("{g}: {decided} of {all} decided")}</li> }).collect_view()}
                </ul>
                <p><a href=papers>"Workshop outputs paper (Papers tab)"</a></p>
            </section>
        })
    }
}
