//! A plan's people: participants with their roles, and invitations (code, link and QR code
//! for the room's projector). Owners change roles, revoke access and invite; others look.

use crate::api;
use crate::membership;
use crate::model::Model;
use crate::views::widgets::invite::InviteForm;
use leptos::prelude::*;
use plansync_shared::api::{InvitationView, Participant, ParticipantKind, Role};

/// The people page of the open plan.
#[component]
pub fn PeoplePage() -> impl IntoView {
    let model = expect_context::<Model>();
    let plan = move || model.doc.get().map(|d| d.to_string()).unwrap_or_default();
    let is_owner = move || model.role.get().as_deref() == Some("owner");
    let bump = RwSignal::new(0u32);
    let error = RwSignal::new(None::<String>);
    let people = LocalResource::new(move || {
        bump.track();
        let plan = plan();
        async move { api::participants(&plan).await }
    });
    let invitations = LocalResource::new(move || {
        bump.track();
        let plan = plan();
        let owner = is_owner();
        async move {
            if owner {
                api::invitations(&plan).await
            } else {
                Ok(Vec::new())
            }
        }
    });
    let links = LocalResource::new(move || {
        bump.track();
        let plan = plan();
        async move {
            let links = api::links(&plan).await;
            if let Ok(l) = &links {
                crate::views::widgets::round::keep_links(&plan, l);
            }
            links.unwrap_or_default()
        }
    });
    let me = move || membership::of(&plan()).map(|m| m.participant);
    let act = crate::views::widgets::request::server_action(error, bump);
    view! {
        <section class="people">
            <h1>"People"</h1>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match people.get() {
                None => view! { <p>"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="notice">{e}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <div class="scroll-x" role="region" aria-label="Participants" tabindex="0"><table class="participants">
                        <thead><tr><th>"Name"</th><th>"Agency"</th><th>"Role"</th><th>"In the plan"</th><th></th></tr></thead>
                        <tbody>
                            <For each=move || list.clone() key=|p: &Participant| (p.id, p.role) let:p>
                                <ParticipantRow p=p.clone() owner=is_owner() me=me() act=act plan=plan()
                                    links=Signal::derive(move || links.get().unwrap_or_default()) />
                            </For>
                        </tbody>
                    </table></div>
                }.into_any(),
            }}
            <Show when=is_owner>
                <InviteForm plan=plan() on_made=move |_| bump.update(|n| *n += 1) />
                <EnrollServer plan=plan() on_done=move || bump.update(|n| *n += 1) />
                {move || invitations.get().and_then(Result::ok).map(|list| view! {
                    <ul class="invitations">
                        <For each=move || list.clone() key=|i: &InvitationView| i.invitation.id let:i>
                            <InvitationCard inv=i.clone() plan=plan() act=act />
                        </For>
                    </ul>
                })}
            </Show>
        </section>
    }
}

/// One participant, with role and revoke controls for owners.
#[component]
fn ParticipantRow(
    p: Participant,
    owner: bool,
    me: Option<i64>,
    act: impl Fn(crate::views::widgets::request::Request) + Copy + Send + Sync + 'static,
    plan: String,
    links: Signal<Vec<plansync_shared::PersonLink>>,
) -> impl IntoView {
    let id = p.id.0;
    let mine = me == Some(id);
    let plan2 = plan.clone();
    let plan3 = plan.clone();
    let on_role = move |ev: web_sys::Event| {
        let Some(role) = Role::parse(&event_target_value(&ev)) else {
            return;
        };
        let plan = plan.clone();
        act(Box::pin(async move {
            api::set_role(&plan, id, role).await.map(|_| ())
        }));
    };
    let on_revoke = move |_| {
        let plan = plan2.clone();
        act(Box::pin(
            async move { api::revoke(&plan, id).await.map(|_| ()) },
        ));
    };
    let role = p.role.as_str();
    view! {
        <tr class="participant" data-participant=id>
            <td>{p.name.clone()}{mine.then_some(" (you)")}</td>
            <td>
                {if p.kind == ParticipantKind::Server { "relaying server".to_string() } else { p.agency.clone() }}
                {known_line(&p).map(|k| view! { <br /><small class="known">{k}</small> })}
            </td>
            <td>
                {if owner {
                    view! {
                        <select class="role" aria-label="Role" on:change=on_role>
                            {["viewer", "editor", "owner"].into_iter().map(|r| view! { <option value=r selected=role == r>{r}</option> }).collect_view()}
                        </select>
                    }.into_any()
                } else {
                    view! { <span class="role">{role}</span> }.into_any()
                }}
            </td>
            <td class="in-plan">
                <PersonLinks participant=id links plan=plan3 act can_change=owner || mine owner />
            </td>
            <td>{owner.then(|| view! { <button type="button" class="revoke" on:click=on_revoke>"Remove access"</button> })}</td>
        </tr>
    }
}

/// How a participant is known, with their last sign-in: "signed in with Riverton City
/// Council, last on 4/12/2026, 16:42" or "joined with a code".
fn known_line(p: &Participant) -> Option<String> {
    let words = p.known()?.words();
    Some(match p.last_sign_in {
        Some(ms) => format!(
            "{words}, last on {}",
            String::from(
                js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64))
                    .to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED)
            )
        ),
        None => words,
    })
}

/// One invitation: code, link, QR code, and a button to withdraw it.
#[component]
fn InvitationCard(
    inv: InvitationView,
    plan: String,
    act: impl Fn(crate::views::widgets::request::Request) + Copy + 'static,
) -> impl IntoView {
    let id = inv.invitation.id;
    let expires = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        inv.invitation.expires as f64,
    ))
    .to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED);
    let withdraw = move |_| {
        let plan = plan.clone();
        act(Box::pin(async move { api::withdraw(&plan, id).await }));
    };
    view! {
        <li class="invitation">
            <div class="qr" inner_html=inv.qr_svg.clone()></div>
            <div>
                <p class="code">{inv.invitation.code.clone()}</p>
                <p>{format!("{} · {} use(s) left · until {}", inv.invitation.role, inv.invitation.uses_left, String::from(expires))}</p>
                {(inv.invitation.sign_in != plansync_shared::SignInRule::Code).then(|| view! { <p class="needs-sign-in">"Joining needs a sign-in with an agency's account"</p> })}
                <p><a href=inv.link.clone()>{inv.link.clone()}</a></p>
                <button type="button" on:click=withdraw>"Withdraw"</button>
            </div>
        </li>
    }
}

/// Enrolls a server that will relay to this one (a workshop laptop): its token is shown
/// once, for `plansync pull` and `plansync serve --upstream-token` on that laptop.
#[component]
fn EnrollServer(plan: String, on_done: impl Fn() + Copy + 'static) -> impl IntoView {
    let name = RwSignal::new("Workshop laptop".to_string());
    let role = RwSignal::new("editor".to_string());
    let token = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let plan = plan.clone();
        let n = name.get_untracked();
        let r = Role::parse(&role.get_untracked()).unwrap_or(Role::Editor);
        leptos::task::spawn_local(async move {
            match api::enroll_server(&plan, &n, r).await {
                Ok(enrolled) => {
                    error.set(None);
                    token.set(Some(enrolled.token));
                    on_done();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="enroll" on:submit=submit>
            <h2>"Relaying servers"</h2>
            <p>"A workshop laptop relays the room's work to this server. Enroll it here, then give its operator the token."</p>
            <label>"Name " <input name="server-name" bind:value=name /></label>
            <label>"Role "
                <select name="server-role" on:change=move |ev| role.set(event_target_value(&ev))>
                    <option value="editor" selected=true>"editor (sends the room's changes)"</option>
                    <option value="viewer">"viewer (only receives)"</option>
                </select>
            </label>
            <button type="submit">"Enroll server"</button>
            {move || token.get().map(|t| view! {
                <p class="token" role="status">"Its token, shown once: " <code>{t}</code></p>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </form>
    }
}

/// Which plan people a participant is ("Head of Probation Delivery Unit"): each link with
/// whether an owner confirmed it; they themselves or an owner can add and remove links, and
/// an owner confirms or shares them.
#[component]
fn PersonLinks(
    participant: i64,
    links: Signal<Vec<plansync_shared::PersonLink>>,
    plan: String,
    act: impl Fn(crate::views::widgets::request::Request) + Copy + Send + Sync + 'static,
    can_change: bool,
    owner: bool,
) -> impl IntoView {
    let model = expect_context::<Model>();
    let chosen = RwSignal::new(String::new());
    let shared = RwSignal::new(false);
    let people = move || {
        crate::views::widgets::request::person_choices(model)
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect::<Vec<_>>()
    };
    let name_of = move |id: &str| {
        people()
            .into_iter()
            .find(|(p, _)| p == id)
            .map_or_else(|| id.to_string(), |(_, n)| n)
    };
    let mine = move || {
        links
            .get()
            .into_iter()
            .filter(|l| l.participant == participant)
            .collect::<Vec<_>>()
    };
    let plan = StoredValue::new(plan);
    let link = move |person: String, share: bool| {
        let plan = plan.get_value();
        act(Box::pin(async move {
            api::link_person(&plan, participant, &person, share)
                .await
                .map(|_| ())
        }));
    };
    let unlink = move |person: String| {
        let plan = plan.get_value();
        act(Box::pin(async move {
            api::unlink_person(&plan, participant, &person)
                .await
                .map(|_| ())
        }));
    };
    view! {
        <ul class="person-links">
            {move || mine().into_iter().map(|l| {
                let person = l.person.to_string();
                let (p1, p2) = (person.clone(), person.clone());
                view! {
                    <li data-person=person.clone() data-confirmed=l.confirmed.to_string()>
                        {name_of(&person)}
                        {(!l.confirmed).then_some(" · awaiting an owner's confirmation")}
                        {l.shared.then_some(" · shared")}
                        {(owner && !l.confirmed).then(|| view! {
                            " " <button type="button" class="confirm-link" on:click=move |_| link(p1.clone(), false)>"Confirm"</button>
                        })}
                        {can_change.then(|| view! {
                            " " <button type="button" class="unlink" aria-label=format!("Remove the link to {}", name_of(&p2)) on:click=move |_| unlink(p2.clone())>"Remove"</button>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
        {can_change.then(|| view! {
            <form class="link-person" on:submit=move |ev| {
                ev.prevent_default();
                let person = chosen.get_untracked();
                if !person.is_empty() {
                    link(person, shared.get_untracked());
                }
            }>
                <label>{if owner { "Link to " } else { "I am " }}
                    <select name="person" bind:value=chosen>
                        <option value="">"Choose a person of the plan"</option>
                        {move || people().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                    </select>
                </label>
                {owner.then(|| view! {
                    <label class="check"><input type="checkbox" name="shared" bind:checked=shared />" shared with others"</label>
                })}
                " " <button type="submit">{if owner { "Link" } else { "Say so" }}</button>
            </form>
        })}
    }
}
