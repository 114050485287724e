//! The quarter on the dashboard: **My actions** (what I still owe the open reporting round),
//! the round's progress with who is outstanding by board and by lead (each a link to the
//! tracker filtered to exactly those), and an owner's controls to open and close a round.

use crate::model::{today, Model};
use crate::route::{Route, TrackerView};
use crate::views::period::current_period;
use crate::views::period::tracker_link;
use leptos::prelude::*;
use plansync_shared::{
    board_return, current_round, latest_sign_offs, long_date, my_actions, parse_reminders,
    people_of, reminders_key, reminders_words, round_line, round_progress, BoardId, DocumentId,
    EmailList, PersonId, PersonLink, Plan, ReportingPeriod, Round, RoundId, SetEmail, SignOff,
    SignOffRequest,
};

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn links_key(plan: &str) -> String {
    format!("plansync.links.{plan}")
}

/// The plan's links of participants to plan people as last fetched (kept in this browser,
/// so My actions works offline).
fn kept_links(plan: &str) -> Vec<PersonLink> {
    storage()
        .and_then(|s| s.get_item(&links_key(plan)).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Keeps the plan's links in this browser.
pub fn keep_links(plan: &str, links: &[PersonLink]) {
    if let (Some(s), Ok(json)) = (storage(), serde_json::to_string(links)) {
        let _ = s.set_item(&links_key(plan), &json);
    }
}

/// The plan's links: kept ones at once, the server's when it answers.
pub fn plan_links(doc: DocumentId) -> RwSignal<Vec<PersonLink>> {
    let plan = doc.to_string();
    let links = RwSignal::new(kept_links(&plan));
    leptos::task::spawn_local(async move {
        if let Ok(fresh) = crate::api::links(&plan).await {
            keep_links(&plan, &fresh);
            links.set(fresh);
        }
    });
    links
}

/// The plan people I am (from the links), by my participant id in this plan.
fn my_people(doc: DocumentId, links: &[PersonLink]) -> Vec<PersonId> {
    crate::membership::of(&doc.to_string())
        .map(|m| people_of(links, m.participant))
        .unwrap_or_default()
}

/// My actions for the open round: each with what it still lacks; done ones drop off.
#[component]
pub fn MyActions(doc: DocumentId, links: RwSignal<Vec<PersonLink>>) -> impl IntoView {
    let model = expect_context::<Model>();
    let mine = Memo::new(move |_| {
        let people = links.with(|l| my_people(doc, l));
        model.plan.with(|p| {
            let p = p.as_ref()?;
            let round = current_round(p)?.clone();
            let all_mine = p
                .themes
                .iter()
                .flat_map(|t| &t.objectives)
                .flat_map(|o| &o.actions)
                .filter(|a| a.lead.as_ref().is_some_and(|l| people.contains(l)))
                .count();
            let missing: Vec<(String, String, String)> = my_actions(p, &round, &people)
                .into_iter()
                .map(|(a, m)| (a.id.to_string(), a.title.clone(), m.describe(&round)))
                .collect();
            (all_mine > 0).then_some((round, all_mine, missing))
        })
    });
    // The section (and the address form in it) is drawn again only when I come to lead
    // actions or stop; the list inside follows every change.
    let leading = Memo::new(move |_| mine.with(Option::is_some));
    move || {
        leading.get().then(|| view! {
            <section class="panel my-actions" aria-labelledby="my-actions">
                <h2 id="my-actions">"My actions"</h2>
                {move || {
                    let (round, all_mine, missing) = mine.get()?;
                    Some(if missing.is_empty() {
                        view! { <p class="done">{format!("All {all_mine} of your actions are updated for {}. Thank you.", round.period)}</p> }.into_any()
                    } else {
                        view! {
                            <p>{format!("{} of your {all_mine} actions still need updating for {} by {}.", missing.len(), round.period, long_date(&round.deadline))}</p>
                            <ul class="my-actions-list">
                                {missing.into_iter().map(|(id, title, lacks)| view! {
                                    <li data-action=id.clone()>
                                        <a href=Route::Action(doc, id.clone()).href()>{title}</a>
                                        <span class="muted small">{format!(" · still missing {lacks}")}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    })
                }}
                <MyReminders doc />
            </section>
        })
    }
}

/// My address for reminders by email, on a server that sends them (elsewhere nothing is
/// shown): give it, stop or start my reminders, or remove it.
#[component]
fn MyReminders(doc: DocumentId) -> impl IntoView {
    let plan = doc.to_string();
    let me = crate::membership::of(&plan).map(|m| m.participant);
    let list = RwSignal::new(None::<EmailList>);
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    leptos::task::spawn_local({
        let plan = plan.clone();
        async move {
            if let Ok(l) = crate::api::emails(&plan).await {
                list.set(Some(l));
            }
        }
    });
    let mine = move || {
        list.with(|l| {
            l.as_ref()
                .and_then(|l| l.emails.iter().find(|e| Some(e.participant) == me).cloned())
        })
    };
    let save = {
        let plan = plan.clone();
        move |email: String, reminders: bool| {
            let Some(me) = me else { return };
            let plan = plan.clone();
            leptos::task::spawn_local(async move {
                match crate::api::set_email(&plan, me, &SetEmail { email, reminders }).await {
                    Ok(e) => {
                        error.set(None);
                        list.update(|l| {
                            if let Some(l) = l {
                                l.emails.retain(|x| x.participant != me);
                                l.emails.push(e);
                            }
                        });
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let remove = move |_| {
        let Some(me) = me else { return };
        let plan = plan.clone();
        leptos::task::spawn_local(async move {
            match crate::api::remove_email(&plan, me).await {
                Ok(()) => list.update(|l| {
                    if let Some(l) = l {
                        l.emails.retain(|x| x.participant != me);
                    }
                }),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    move || {
        let sends = list.with(|l| l.as_ref().is_some_and(|l| l.sends_reminders));
        (sends && me.is_some()).then(|| {
            let save = save.clone();
            let remove = remove.clone();
            view! {
                <div class="my-reminders">
                    {match mine() {
                        Some(e) => {
                            let email = e.email.clone();
                            view! {
                                <p class="small">"Reminders by email go to " <strong class="reminder-address">{e.email.clone()}</strong> "."</p>
                                <label class="small">
                                    <input type="checkbox" name="email-reminders" prop:checked=e.reminders
                                        on:change=move |ev| save(email.clone(), event_target_checked(&ev)) />
                                    " Email me reminders"
                                </label>
                                " "
                                <button type="button" class="remove-email small" on:click=remove>"Remove my address"</button>
                            }.into_any()
                        }
                        None => view! {
                            <form class="reminder-email" on:submit=move |ev: web_sys::SubmitEvent| {
                                ev.prevent_default();
                                save(typed.get_untracked(), true);
                            }>
                                <label class="small">"Email me reminders before the deadline at "
                                    <input type="email" name="reminder-email" required autocomplete="email" bind:value=typed />
                                </label>
                                " "
                                <button type="submit">"Email me reminders"</button>
                            </form>
                        }.into_any(),
                    }}
                    {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                </div>
            }
        })
    }
}

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
                model.edit(move |p, _| p.set_round_reminders(&id, &days));
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
        model.edit(move |p, _| p.close_round(&id, &today(), &by));
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
        model.edit(move |doc, rng| doc.open_round(rng, p, &d, m.as_deref(), &today(), &by));
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

/// Each board's sign-off for the round (or `only` that board's): signed off (by whom,
/// when), changed since sign-off, or not yet; the board's confirmed chair signs off here.
#[component]
pub fn SignOffs(
    doc: DocumentId,
    round: Round,
    only: Option<BoardId>,
    links: RwSignal<Vec<PersonLink>>,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let plan = doc.to_string();
    let bump = RwSignal::new(0u32);
    let error = RwSignal::new(None::<String>);
    // The boards' returns for the round: when one changes, the server's marks of what
    // changed since sign-off are read again (not at every keystroke elsewhere in the plan).
    let returns = Memo::new({
        let round = round.clone();
        move |_| {
            model.plan.with(|p| {
                p.as_ref().map(|p| {
                    p.boards
                        .iter()
                        .map(|b| board_return(p, &b.id, &round))
                        .collect::<Vec<_>>()
                })
            })
        }
    });
    let signed = LocalResource::new({
        let plan = plan.clone();
        move || {
            bump.track();
            returns.track();
            let plan = plan.clone();
            async move { crate::api::sign_offs(&plan).await.unwrap_or_default() }
        }
    });
    let me = crate::membership::of(&plan).map(|m| m.participant);
    let round_id = round.id.clone();
    let rows = move || {
        let all = signed.get().unwrap_or_default();
        let latest: Vec<SignOff> = latest_sign_offs(&all, &round_id)
            .into_iter()
            .cloned()
            .collect();
        let links = links.get();
        model.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.boards
                        .iter()
                        .filter(|b| only.as_ref().is_none_or(|o| o == &b.id))
                        .map(|b| {
                            let state = latest.iter().find(|s| s.board == b.id).cloned();
                            let chair = b.chair.as_ref().is_some_and(|c| {
                                links.iter().any(|l| {
                                    Some(l.participant) == me && &l.person == c && l.confirmed
                                })
                            });
                            (b.id.clone(), b.name.clone(), state, chair)
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let sign = move |board: BoardId| {
        let request = SignOffRequest {
            round: round.id.clone(),
            board,
        };
        let plan = plan.clone();
        leptos::task::spawn_local(async move {
            match crate::api::sign_off(&plan, &request).await {
                Ok(_) => {
                    error.set(None);
                    bump.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h3>"Sign-off"</h3>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <ul class="sign-offs">
            {move || rows().into_iter().map(|(id, name, state, chair)| {
                let sign = sign.clone();
                let board = id.clone();
                let word = match &state {
                    Some(s) => s.line(),
                    None => format!("{name}: not signed off yet"),
                };
                let changed = state.as_ref().is_some_and(|s| s.changed);
                view! {
                    <li data-board=id.to_string() data-signed=state.is_some().to_string() data-changed=changed.to_string()>
                        {word}
                        {changed.then(|| {
                            let compare = state.as_ref().and_then(|s| s.snapshot);
                            view! {
                                " " <a class="compare-signed" href=Route::History(doc, compare).href()>"Compare the signed version with now"</a>
                            }
                        })}
                        {chair.then(|| view! {
                            " " <button type="button" class="sign-off" on:click=move |_| sign(board.clone())>
                                {if state.is_some() { "Sign off again" } else { "Sign off this board's return" }}
                            </button>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
