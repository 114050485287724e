//! Notices above every page: a sign-in that ended, who-am-I, a problem, a plain-HTTP network.

use crate::identity::Identity;
use crate::model::Model;
use leptos::prelude::*;

/// How often the app looks whether a sign-in has ended.
const SIGN_IN_CHECK: u32 = 2_000;

/// When a sign-in's token has ended: says so and offers to sign in again, back to this
/// page. Nothing is lost meanwhile: changes stay in this browser and are sent once the new
/// token connects.
#[component]
pub fn SignInEnded() -> impl IntoView {
    let tick = RwSignal::new(0u32);
    if let Ok(handle) = set_interval_with_handle(
        move || tick.update(|n| *n += 1),
        std::time::Duration::from_millis(SIGN_IN_CHECK.into()),
    ) {
        on_cleanup(move || handle.clear());
    }
    move || {
        tick.track();
        let now = js_sys::Date::now();
        let ended = crate::membership::all()
            .into_iter()
            .find(|m| m.ended(now))?;
        let provider = ended.provider.clone()?;
        let label = ended.signed_in_with.clone().unwrap_or(provider.clone());
        let here = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .map(|h| format!("/{h}"))
            .filter(|h| h.starts_with("/#/"))
            .unwrap_or_else(|| "/#/".into());
        let href = crate::api::sign_in_address(&provider, None, &here);
        Some(view! {
            <div class="problem sign-in-ended" role="alert">
                <span>{format!("Your sign-in with {label} has ended. Your changes are kept in this browser and are sent once you sign in again.")}</span>
                <a class="button" href=href>{format!("Sign in again with {label}")}</a>
            </div>
        })
    }
}

/// On first open: asks for a name and an agency to stamp updates and comments with.
#[component]
pub fn IdentityPrompt() -> impl IntoView {
    let model = expect_context::<Model>();
    let name = RwSignal::new(String::new());
    let agency = RwSignal::new(String::new());
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        if let Some(i) = Identity::new(&name.get_untracked(), &agency.get_untracked()) {
            i.save();
            model.identity.set(Some(i));
        }
    };
    move || {
        model.identity.get().is_none().then(|| {
            view! {
                <form class="identity" on:submit=submit aria-label="Who you are">
                    <p>"Your name and agency go on every progress update and comment you add."</p>
                    <label>"Your name " <input name="name" required autocomplete="name" bind:value=name /></label>
                    <label>"Your agency " <input name="agency" required autocomplete="organization" bind:value=agency /></label>
                    <button type="submit">"Continue"</button>
                </form>
            }
        })
    }
}

/// A problem the user should know about (storage, a refused change), dismissable.
#[component]
pub fn Problem() -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        model.problem.get().map(|p| {
            view! {
                <div class="problem" role="alert">
                    <span>{p}</span>
                    <button on:click=move |_| model.problem.set(None)>"Dismiss"</button>
                </div>
            }
        })
    }
}

const HTTP_NOTICE_KEY: &str = "plansync.http-notice-seen";

/// On a plain-HTTP room address, says once that a reload needs the network.
#[component]
pub fn NetworkNotice() -> impl IntoView {
    let window = web_sys::window();
    let secure = window.as_ref().is_some_and(|w| w.is_secure_context());
    let storage = window.and_then(|w| w.local_storage().ok().flatten());
    let seen = storage
        .as_ref()
        .and_then(|s| s.get_item(HTTP_NOTICE_KEY).ok().flatten())
        .is_some();
    let show = RwSignal::new(!secure && !seen);
    if show.get_untracked() {
        if let Some(s) = storage {
            let _ = s.set_item(HTTP_NOTICE_KEY, "1");
        }
    }
    move || {
        show.get().then(|| view! {
            <p class="note" role="note">
                "Your edits are kept in this browser and sync when the network is back. On this address a reload needs the network, so keep this page open. "
                <button class="link" on:click=move |_| show.set(false)>"OK"</button>
            </p>
        })
    }
}
