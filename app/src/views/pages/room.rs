//! The room page, for the projector at a workshop: the plan's title, the address to open, a
//! join code and QR code for a fresh room invitation (role, uses and expiry chosen by an
//! owner), and who has joined.

use crate::api;
use crate::model::Model;
use leptos::prelude::*;
use plansync_shared::api::{InvitationView, Participant, ParticipantKind, RoomAddress};

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
    let room = LocalResource::new(move || {
        let plan = plan();
        async move { api::room(&plan).await }
    });
    view! {
        <section class="room">
            <h1 class="room-title">{title}</h1>
            {move || room.get().map(|r| view! { <RoomAddressLine room=r /> })}
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
                <crate::views::widgets::invite::InviteForm plan=plan() on_made=move |inv| shown.set(Some(inv)) />
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

/// The line that says what people in the room open, or why they cannot yet: a server that
/// listens on this computer only is reached by nobody else, whatever its address says.
#[component]
fn RoomAddressLine(room: Result<RoomAddress, String>) -> impl IntoView {
    // Without the server's answer (offline), the address this page was opened at.
    let room = room.unwrap_or_else(|_| RoomAddress {
        addresses: web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .into_iter()
            .collect(),
        this_computer_only: false,
        port: 0,
    });
    if room.this_computer_only {
        let listen = format!("--listen 0.0.0.0:{}", room.port);
        return view! {
            <p class="room-address" data-reachable="false">
                "Nobody else in the room can open this plan yet: the server listens on this computer only. To serve the room, start it again with "
                <code>{listen}</code>
                ", then open this page again to see the address to give out."
            </p>
        }
        .into_any();
    }
    let mut addresses = room.addresses.into_iter();
    match addresses.next() {
        Some(first) => {
            let others: Vec<String> = addresses.collect();
            view! {
                <p class="room-address" data-reachable="true">
                    "Open " <strong>{first}</strong> " on the room's Wi-Fi"
                    {(!others.is_empty()).then(|| format!(" (or {})", others.join(", ")))}
                </p>
            }
            .into_any()
        }
        None => view! {
            <p class="room-address" data-reachable="false">
                "This computer is on no network yet: join the room's Wi-Fi, then open this page again to see the address to give out."
            </p>
        }
        .into_any(),
    }
}
