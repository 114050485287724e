//! **My actions**: what I still owe the open reporting round, and where my reminders go.

use crate::model::Model;
use crate::route::Route;
use leptos::prelude::*;
use plansync_shared::{
    current_round, long_date, my_actions, people_of, DocumentId, EmailList, PersonId, PersonLink,
    SetEmail,
};

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

/// The plan people I am (from the links), by my participant id in this plan.
fn my_people(doc: DocumentId, links: &[PersonLink]) -> Vec<PersonId> {
    crate::membership::of(&doc.to_string())
        .map(|m| people_of(links, m.participant))
        .unwrap_or_default()
}
