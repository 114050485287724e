//! Requests to the server started from a button, and the choices a person picker offers.

use crate::model::Model;
use leptos::prelude::*;

/// A request to the server, as a button starts it.
pub type Request = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>;

/// A request to the server started from a button: its error is shown in `error`, and on
/// success `bump` changes so that the lists it affects are fetched again.
pub fn server_action(
    error: RwSignal<Option<String>>,
    bump: RwSignal<u32>,
) -> impl Fn(Request) + Copy + Send + Sync {
    move |f| {
        leptos::task::spawn_local(async move {
            match f.await {
                Ok(()) => {
                    error.set(None);
                    bump.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    }
}

/// The open plan's people as a picker lists them: id and "name (role)".
pub fn person_choices(model: Model) -> Vec<(plansync_shared::PersonId, String)> {
    model.plan.with(|p| {
        p.as_ref()
            .map(|p| {
                p.people
                    .iter()
                    .map(|x| (x.id.clone(), format!("{} ({})", x.name, x.role)))
                    .collect()
            })
            .unwrap_or_default()
    })
}
