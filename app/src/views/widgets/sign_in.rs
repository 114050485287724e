//! The buttons that sign in with an agency's identity provider.

use crate::api::{providers, sign_in_address};
use leptos::prelude::*;

/// One button per agency's provider the server offers (none in a workshop room), with an
/// invitation code when there is one (a later sign-in on another device needs none).
#[component]
pub fn SignInButtons(
    invitation: RwSignal<String>,
    heading: &'static str,
    code_follows: bool,
) -> impl IntoView {
    let offered = LocalResource::new(|| async { providers().await.unwrap_or_default() });
    move || {
        let list = offered.get().unwrap_or_default();
        (!list.is_empty()).then(|| {
            view! {
                <div class="sign-in">
                    <h2>{heading}</h2>
                    <p>"Your agency's account gives your name; the plan shows you as signed in with it."</p>
                    <ul class="sign-in-buttons">
                        {list.into_iter().map(|p| {
                            let id = p.id.clone();
                            let href = move || sign_in_address(&id, Some(&invitation.get()), "/#/");
                            view! { <li><a class="button sign-in-button" href=href>{format!("Sign in with {}", p.label)}</a></li> }
                        }).collect_view()}
                    </ul>
                    {code_follows.then(|| view! { <h2>"Or join with the code"</h2> })}
                </div>
            }
        })
    }
}
