//! Joining a plan: the invitation code (from the link, or typed) and who I am, exchanged
//! with the server for my participant token.

use crate::api::join;
use crate::model::Model;
use crate::route::{self, Route};
use leptos::prelude::*;
use plansync_shared::DocumentId;

/// The join form.
#[component]
pub fn JoinPage(code: String) -> impl IntoView {
    let model = expect_context::<Model>();
    let code = RwSignal::new(code);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let Some(me) = model.identity.get_untracked() else {
            error.set(Some("Say who you are first (the form above).".into()));
            return;
        };
        busy.set(true);
        let typed = code.get_untracked();
        leptos::task::spawn_local(async move {
            match join(&typed, &me.name, &me.agency).await {
                Ok(joined) => {
                    model.memberships_changed();
                    match DocumentId::from_url(&joined.plan.url) {
                        Ok(d) => route::go(&Route::Dashboard(d)),
                        Err(_) => route::go(&Route::Plans),
                    }
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="join">
            <h1>"Join a plan"</h1>
            <p>"An owner of the plan invited you. Joining shows the plan here and lets you take part as the role they chose."</p>
            <form class="join-form" on:submit=submit>
                <label>"Invitation code " <input name="code" bind:value=code placeholder="ACDE-FHJK-MN" autocomplete="off" /></label>
                <p class="who-joins">{move || model.identity.get().map(|me| format!("You will join as {} ({}).", me.name, me.agency))}</p>
                <button type="submit" class="join-button" disabled=move || busy.get()>"Join the plan"</button>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </form>
        </section>
    }
}
