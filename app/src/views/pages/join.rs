//! Joining a plan: with my agency's account ("Sign in with Riverton City Council", one
//! button per provider the server offers), or with the invitation code and the name I type;
//! and coming back from the provider with a one-time code for my tokens.

use crate::api::{finish_sign_in, join};
use crate::identity::Identity;
use crate::model::Model;
use crate::route::{self, Route};
use crate::views::widgets::sign_in::SignInButtons;
use leptos::prelude::*;
use plansync_shared::{DocumentId, Known};

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
                    let me = Identity {
                        known: Some(Known::Code),
                        ..me
                    };
                    me.save();
                    model.identity.set(Some(me));
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
            <SignInButtons invitation=code heading="Sign in with your agency" code_follows=true />
            <form class="join-form" on:submit=submit>
                <label>"Invitation code " <input name="code" bind:value=code placeholder="ACDE-FHJK-MN" autocomplete="off" /></label>
                <p class="who-joins">{move || model.identity.get().map(|me| format!("You will join as {} ({}).", me.name, me.agency))}</p>
                <button type="submit" class="join-button" disabled=move || busy.get()>"Join the plan"</button>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </form>
        </section>
    }
}

/// Back from the provider: exchanges the one-time code for my tokens, takes my name from
/// the provider, and opens where I was going.
#[component]
pub fn SignedInPage(code: String) -> impl IntoView {
    let model = expect_context::<Model>();
    let error = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        match finish_sign_in(&code).await {
            Ok(signed) => {
                if let Some(first) = signed.memberships.first() {
                    let me = Identity {
                        name: first.participant.name.clone(),
                        agency: first.participant.agency.clone(),
                        known: first.participant.known(),
                    };
                    me.save();
                    model.identity.set(Some(me));
                }
                model.memberships_changed();
                // Replaced, not added: the one-time code stays out of the history.
                let back = Route::parse(signed.return_to.trim_start_matches('/'));
                match (back, signed.memberships.as_slice()) {
                    (r, _) if r != Route::Plans => route::replace(&r),
                    (_, [one]) => match DocumentId::from_url(&one.plan.url) {
                        Ok(d) => route::replace(&Route::Dashboard(d)),
                        Err(_) => route::replace(&Route::Plans),
                    },
                    _ => route::replace(&Route::Plans),
                }
            }
            Err(e) => error.set(Some(e)),
        }
    });
    view! {
        <section class="join">
            <h1>"Signing in"</h1>
            {move || match error.get() {
                None => view! { <p role="status">"Finishing your sign-in…"</p> }.into_any(),
                Some(e) => view! {
                    <p class="error" role="alert">{e}</p>
                    <p><a href="#/">"Back to your plans"</a></p>
                }.into_any(),
            }}
        </section>
    }
}
