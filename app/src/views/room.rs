//! The room page, for the projector at a workshop: the plan's title, the address to open, a
//! join code and QR code for a fresh room invitation (role, uses and expiry chosen by an
//! owner), and who has joined.

use crate::api;
use crate::model::Model;
use leptos::prelude::*;
use plansync_shared::api::{InvitationView, Participant, ParticipantKind};

/// How often the list of who has joined is fetched again.
const JOINED_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// The room page of the open plan.
#[component]
pub fn RoomPage() -> impl IntoView {
    let model = expect_context::<Model>();
    let plan = move || model.doc.get().map(|d| d.to_string()).unwrap_or_default();
    let title = move || {
        model
            .plan
            .with(|p| p.as_ref().map(|p| p.title.clone()))
            .unwrap_or_default()
    };
    let is_owner = move || model.role.get().as_deref() == Some("owner");
    let shown = RwSignal::new(None::<InvitationView>);
    let tick = RwSignal::new(0u32);
    if let Ok(handle) = set_interval_with_handle(move || tick.update(|n| *n += 1), JOINED_POLL) {
        on_cleanup(move || handle.clear());
    }
    let joined = LocalResource::new(move || {
        tick.track();
        let plan = plan();
        async move { api::participants(&plan).await.unwrap_or_default() }
    });
    let address = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    view! {
        <section class="room">
            <h1 class="room-title">{title}</h1>
            <p class="room-address">"Open " <strong>{address}</strong> " on the room's Wi-Fi"</p>
            {move || match shown.get() {
                Some(inv) => view! {
                    <div class="room-join">
                        <div class="qr" inner_html=inv.qr_svg.clone()></div>
                        <div>
                            <p>"Scan the code, or type this join code:"</p>
                            <p class="code room-code">{inv.invitation.code.clone()}</p>
                            <p>{format!("Joins as {} · {} place(s) left", inv.invitation.role, inv.invitation.uses_left)}</p>
                        </div>
                    </div>
                }.into_any(),
                None => view! {
                    <p class="notice">{if is_owner() {
                        "Create a room invitation below: its join code and QR code show here."
                    } else {
                        "An owner of the plan shows the room's join code here."
                    }}</p>
                }.into_any(),
            }}
            <Show when=is_owner>
                <super::people::InviteForm plan=plan() on_made=move |inv| shown.set(Some(inv)) />
            </Show>
            <h2>"Who has joined"</h2>
            {move || {
                let people: Vec<Participant> = joined.get().unwrap_or_default();
                let count = people.iter().filter(|p| p.kind != ParticipantKind::Server).count();
                view! {
                    <p>{format!("{count} {} joined", if count == 1 { "person has" } else { "people have" })}</p>
                    <ul class="joined">
                        {people.into_iter().filter(|p| p.kind != ParticipantKind::Server).map(|p| view! {
                            <li>{plansync_shared::stamped_by(&p.name, &p.agency, &p.known().map(|k| k.stored()).unwrap_or_default())}</li>
                        }).collect_view()}
                    </ul>
                }
            }}
        </section>
    }
}
