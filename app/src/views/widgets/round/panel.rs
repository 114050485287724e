//! The round's progress with who is outstanding by board and by lead, its reminders, and an
//! owner's controls to open and close a round.

use super::sign_off::SignOffs;
use crate::model::{today, Model};
use crate::route::TrackerView;
use crate::views::widgets::period::current_period;
use crate::views::widgets::period::tracker_link;
use leptos::prelude::*;
use plansync_shared::PlanOp;
use plansync_shared::{
    current_round, long_date, parse_reminders, reminders_key, reminders_words, round_line,
    round_progress, DocumentId, PersonId, PersonLink, Plan, ReportingPeriod, Round, RoundId,
};

/// When the round's reminders are emailed; an owner changes the days.
#[component]
fn RoundReminders(id: RoundId, days: Vec<u32>, owner: bool) -> impl IntoView {
    let model = expect_context::<Model>();
    let typed = RwSignal::new(reminders_key(&days).replace(',', ", "));
    let error = RwSignal::new(None::<String>);
    let set = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        match parse_reminders(&typed.get_untracked()) {
            Ok(days) => {
                error.set(None);
                let id = id.clone();
                model.apply(PlanOp::SetRoundReminders { round: id, days });
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    view! {
        <p class="muted small reminder-days-line">{format!("Reminders by email: {}.", reminders_words(&days))}</p>
        {owner.then(|| view! {
            <form class="reminder-days" on:submit=set>
                <label class="small">"Email reminders this many days before the deadline (0 is the deadline day) "
                    <input type="text" name="reminder-days" inputmode="numeric" bind:value=typed />
                </label>
                " "
                <button type="submit">"Set the reminders"</button>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </form>
        })}
    }
}

/// Names for the outstanding groups' ids.
fn board_name(p: &Plan, id: Option<&plansync_shared::BoardId>) -> String {
    match id {
        Some(b) => p.board_name(Some(b)),
        None => "No board".into(),
    }
}

fn lead_name(p: &Plan, id: Option<&PersonId>) -> String {
    match id {
        Some(l) => p.person_name(Some(l)),
        None => "No lead".into(),
    }
}

/// The open round's progress and who is outstanding; an owner's controls.
#[component]
pub fn RoundPanel(doc: DocumentId, links: RwSignal<Vec<PersonLink>>) -> impl IntoView {
    let model = expect_context::<Model>();
    let owner = move || model.role.get().as_deref() == Some("owner");
    let rounds = Memo::new(move |_| {
        model
            .plan
            .with(|p| p.as_ref().map(|p| p.rounds.clone()).unwrap_or_default())
    });
    let current = Memo::new(move |_| {
        model
            .plan
            .with(|p| p.as_ref().and_then(current_round).cloned())
    });
    view! {
        <section class="panel round" aria-labelledby="round-heading">
            <h2 id="round-heading">"Reporting round"</h2>
            {move || match current.get() {
                Some(r) => view! { <OpenRound doc round=r owner=owner() links /> }.into_any(),
                None => view! {
                    <p class="muted">"No reporting round is open."</p>
                    {move || owner().then(|| view! { <OpenRoundForm /> })}
                }.into_any(),
            }}
            {move || {
                let closed: Vec<Round> = rounds.get().into_iter().filter(|r| !r.is_open()).rev().collect();
                (!closed.is_empty()).then(|| view! {
                    <details class="closed-rounds">
                        <summary>{format!("Closed rounds ({})", closed.len())}</summary>
                        <ul>
                            {closed.into_iter().map(|r| {
                                let (line, names) = model.plan.with(|p| {
                                    let p = p.as_ref().expect("a plan is open");
                                    let progress = round_progress(p, &r);
                                    let names: Vec<String> = progress.outstanding.iter().map(|a| {
                                        p.themes.iter().flat_map(|t| &t.objectives).flat_map(|o| &o.actions)
                                            .find(|x| &x.id == a).map_or_else(|| format!("{a} (removed)"), |x| x.title.clone())
                                    }).collect();
                                    (round_line(&r, &progress), names)
                                });
                                view! {
                                    <li class="closed-round" data-round=r.id.to_string()>
                                        <p>{line}</p>
                                        {(!names.is_empty()).then(|| view! {
                                            <p class="small">"Outstanding at the close: "{names.join("; ")}</p>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </details>
                })
            }}
        </section>
    }
}

/// An open round: its line, outstanding by board and by lead, and (for owners) close it.
#[component]
fn OpenRound(
    doc: DocumentId,
    round: Round,
    owner: bool,
    links: RwSignal<Vec<PersonLink>>,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let period = round.period;
    let id = round.id.clone();
    let progress = Memo::new({
        let round = round.clone();
        move |_| {
            model
                .plan
                .with(|p| p.as_ref().map(|p| round_progress(p, &round)))
        }
    });
    let outstanding = move |f: &dyn Fn(&mut TrackerView)| {
        tracker_link(doc, period, |v| {
            v.outstanding = true;
            f(v);
        })
    };
    let close = move |_| {
        let by = model
            .identity
            .get_untracked()
            .map(|i| format!("{}, {}", i.name, i.agency))
            .unwrap_or_default();
        let id = id.clone();
        model.apply(PlanOp::CloseRound {
            round: id,
            today: today(),
            by,
        });
    };
    move || {
        let p = progress.get()?;
        let line = round_line(&round, &p);
        let meeting = round
            .meeting
            .as_deref()
            .map(|m| format!("The Board meets on {}.", long_date(m)));
        let all = outstanding(&|_| {});
        let (boards, leads) = model.plan.with(|plan| {
            let plan = plan.as_ref()?;
            Some((
                p.by_board
                    .iter()
                    .map(|g| {
                        let id = g.id.as_ref().map(|b| b.to_string());
                        (board_name(plan, g.id.as_ref()), g.actions.len(), id)
                    })
                    .collect::<Vec<_>>(),
                p.by_lead
                    .iter()
                    .map(|g| {
                        let id = g.id.as_ref().map(|l| l.to_string());
                        (lead_name(plan, g.id.as_ref()), g.actions.len(), id)
                    })
                    .collect::<Vec<_>>(),
            ))
        })?;
        Some(view! {
            <p class="round-line" data-round=round.id.to_string()>
                <a href=all>{line}</a>
            </p>
            {meeting.map(|m| view! { <p class="muted small">{m}</p> })}
            <RoundReminders id=round.id.clone() days=round.reminders.clone() owner />
            {(!boards.is_empty()).then(|| view! {
                <div class="outstanding-groups">
                    <div>
                        <h3>"Outstanding by board"</h3>
                        <ul class="outstanding by-board">
                            {boards.into_iter().map(|(name, n, id)| {
                                let href = outstanding(&|v| v.board = id.clone());
                                view! { <li><a href=href data-board=id.clone().unwrap_or_default()>{format!("{name}: {n}")}</a></li> }
                            }).collect_view()}
                        </ul>
                    </div>
                    <div>
                        <h3>"Outstanding by lead"</h3>
                        <ul class="outstanding by-lead">
                            {leads.into_iter().map(|(name, n, id)| {
                                let href = outstanding(&|v| v.lead = id.clone());
                                view! { <li><a href=href data-lead=id.clone().unwrap_or_default()>{format!("{name}: {n}")}</a></li> }
                            }).collect_view()}
                        </ul>
                    </div>
                </div>
            })}
            <SignOffs doc round=round.clone() only=None links />
            {owner.then(|| view! {
                <p><button type="button" class="close-round" on:click=close.clone()>"Close the round"</button>
                <span class="muted small">" A closed round is kept as it was, with what was outstanding."</span></p>
            })}
        })
    }
}

/// An owner opens a round: the period, the deadline for updates, the Board's meeting.
#[component]
fn OpenRoundForm() -> impl IntoView {
    let model = expect_context::<Model>();
    let now = current_period();
    let choices: Vec<ReportingPeriod> = vec![now.previous(), now];
    let period = RwSignal::new(now.key());
    let deadline = RwSignal::new(String::new());
    let meeting = RwSignal::new(String::new());
    let open = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let Ok(p) = ReportingPeriod::from_key(&period.get_untracked()) else {
            return;
        };
        let by = model
            .identity
            .get_untracked()
            .map(|i| format!("{}, {}", i.name, i.agency))
            .unwrap_or_default();
        let (d, m) = (deadline.get_untracked(), meeting.get_untracked());
        let m = (!m.is_empty()).then_some(m);
        model.apply(PlanOp::OpenRound {
            seed: model.seed(),
            period: p,
            deadline: d,
            meeting: m,
            today: today(),
            by,
        });
    };
    view! {
        <form class="open-round" on:submit=open>
            <h3>"Open a reporting round"</h3>
            <p class="muted small">"Every lead is asked for a RAG and a progress update on each of their actions by the deadline."</p>
            <label>"Period "
                <select name="round-period" bind:value=period>
                    {choices.into_iter().map(|p| view! { <option value=p.key() selected=p == now>{p.to_string()}</option> }).collect_view()}
                </select>
            </label>
            <label>" Deadline for updates " <input type="date" name="round-deadline" required bind:value=deadline /></label>
            <label>" The Board meets on (optional) " <input type="date" name="round-meeting" bind:value=meeting /></label>
            <button type="submit">"Open the round"</button>
        </form>
    }
}
