//! The form an owner makes an invitation with (the People and room pages).

use crate::api;
use leptos::prelude::*;
use plansync_shared::api::{InvitationView, Role};

/// Creates an invitation: role, how long it lasts, how many people may use it.
#[component]
pub fn InviteForm(
    plan: String,
    on_made: impl Fn(InvitationView) + Copy + 'static,
) -> impl IntoView {
    let role = RwSignal::new("editor".to_string());
    let hours = RwSignal::new("24".to_string());
    let uses = RwSignal::new("10".to_string());
    let needs = RwSignal::new("code".to_string());
    let offered = LocalResource::new(|| async { api::providers().await.unwrap_or_default() });
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let (Ok(h), Ok(u)) = (
            hours.get_untracked().trim().parse::<i64>(),
            uses.get_untracked().trim().parse::<i64>(),
        ) else {
            error.set(Some(
                "Give the hours and the number of people as whole numbers.".into(),
            ));
            return;
        };
        let plan = plan.clone();
        let r = Role::parse(&role.get_untracked()).unwrap_or(Role::Editor);
        let sign_in = match needs.get_untracked().as_str() {
            "code" => plansync_shared::SignInRule::Code,
            "any" => plansync_shared::SignInRule::Any,
            p => plansync_shared::SignInRule::Provider(p.to_string()),
        };
        leptos::task::spawn_local(async move {
            match api::invite(&plan, r, h, u, &sign_in).await {
                Ok(inv) => {
                    error.set(None);
                    on_made(inv);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="invite" on:submit=submit>
            <h2>"Invite people"</h2>
            <label>"Role "
                <select name="role" on:change=move |ev| role.set(event_target_value(&ev))>
                    <option value="viewer">"viewer (reads the plan)"</option>
                    <option value="editor" selected=true>"editor (changes the plan)"</option>
                    <option value="owner">"owner (also manages people)"</option>
                </select>
            </label>
            <label>"Lasts (hours) " <input name="hours" bind:value=hours inputmode="numeric" /></label>
            <label>"People who may join " <input name="uses" bind:value=uses inputmode="numeric" /></label>
            {move || {
                let list = offered.get().unwrap_or_default();
                (!list.is_empty()).then(|| view! {
                    <label>"Joining needs "
                        <select name="sign-in" on:change=move |ev| needs.set(event_target_value(&ev))>
                            <option value="code" selected=true>"the code (a name they type)"</option>
                            <option value="any">"a sign-in with any agency's account"</option>
                            {list.into_iter().map(|p| view! { <option value=p.id.clone()>{format!("a sign-in with {}", p.label)}</option> }).collect_view()}
                        </select>
                    </label>
                })
            }}
            <button type="submit">"Create invitation"</button>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </form>
    }
}
