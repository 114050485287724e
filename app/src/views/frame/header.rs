//! The header (the plan's title and views, the sync badge, who I am, Menu) and the lines
//! under it (the relay's line, who is here).

use crate::model::Model;
use crate::route::{Route, TrackerView};
use crate::sync::Link;
use leptos::prelude::*;

/// Links to the open plan's views, the one shown marked.
#[component]
pub fn PlanTabs() -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        let route = model.route.get();
        let doc = route.doc()?;
        let tabs = [
            (Route::Dashboard(doc), "Dashboard"),
            (Route::Outline(doc), "Outline"),
            (
                Route::Tracker(doc, TrackerView::default()),
                "Action tracker",
            ),
            (Route::Indicators(doc, None), "Indicators"),
            (Route::Milestones(doc), "Milestones"),
            (Route::History(doc, None), "History"),
            (Route::Papers(doc), "Papers"),
            (Route::People(doc), "People"),
            (Route::Room(doc), "Room"),
            (Route::Workshop(doc, None), "Workshop mode"),
        ];
        Some(view! {
            <nav class="tabs" aria-label="Plan views">
                {tabs.into_iter().map(|(r, label)| {
                    let here = std::mem::discriminant(&r) == std::mem::discriminant(&route);
                    view! { <a href=r.href() aria-current=here.then_some("page")>{label}</a> }
                }).collect_view()}
            </nav>
        })
    }
}

/// The open plan's title, in full where there is room.
#[component]
pub fn PlanName() -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        model.route.with(|r| r.doc())?;
        let title = model
            .plan
            .with(|p| p.as_ref().map(|p| p.title.clone()))
            .unwrap_or_default();
        let whole = title.clone();
        Some(view! { <span class="plan-name" title=whole>{title}</span> })
    }
}

/// The Menu button of a narrow screen, which shows the plan's views, the search and who I
/// am (hidden on a wide screen, where they are on show).
#[component]
pub fn MenuButton(open: RwSignal<bool>) -> impl IntoView {
    view! {
        <button type="button" class="menu-toggle" aria-controls="plan-menu"
            aria-expanded=move || open.get().to_string()
            on:click=move |_| open.update(|o| *o = !*o)>
            "Menu"
        </button>
    }
}

/// Online / offline / syncing, and how many of my changes the server has not got.
#[component]
pub fn SyncBadge() -> impl IntoView {
    let model = expect_context::<Model>();
    // The state, its first word (all a narrow screen shows) and the rest (kept for screen
    // readers there).
    let state = move || -> (&'static str, &'static str, String) {
        let pending = model.unsynced.get();
        let open = model.doc.get().is_some();
        match model.link.get() {
            Link::Online => match pending {
                Some(0) => (
                    "online",
                    "Online",
                    " · all changes are on the server".into(),
                ),
                Some(n) => (
                    "syncing",
                    "Syncing",
                    format!(" · {n} {} not yet on the server", changes(n)),
                ),
                None if open => ("syncing", "Syncing…", String::new()),
                None => ("online", "Online", String::new()),
            },
            Link::Connecting => ("offline", "Connecting…", String::new()),
            Link::NotJoined => (
                "not-joined",
                "Not joined yet",
                " · open an invitation link to take part".into(),
            ),
            Link::Offline if model.saving.get() => {
                ("offline", "Offline", " · saving in this browser…".into())
            }
            Link::Offline => match pending {
                Some(n) if n > 0 => (
                    "offline",
                    "Offline",
                    format!(" · {n} {} kept in this browser", changes(n)),
                ),
                _ => (
                    "offline",
                    "Offline",
                    " · edits are kept in this browser".into(),
                ),
            },
        }
    };
    view! {
        <span class="badge" data-state=move || state().0 role="status" aria-live="polite">
            <span class="badge-word">{move || state().1}</span>
            <span class="badge-more">{move || state().2}</span>
        </span>
    }
}

/// The others with this plan in front of them: name, agency and view.
#[component]
pub fn WhoIsHere() -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        let here = model.here.get();
        (!here.is_empty()).then(|| view! {
            <section class="here" aria-label="Who is here">
                <span class="here-count">{format!("{} here:", here.len())}</span>
                <ul>
                    {here.into_iter().map(|p| view! {
                        <li class="here-peer" data-peer=p.peer.clone()>
                            <strong>{p.name.clone()}</strong>{format!(" ({}{}) · {}", p.agency, plansync_shared::Known::from_stored(&p.known).map(|k| format!(", {}", k.words())).unwrap_or_default(), p.view)}
                            {p.editing.is_some().then_some(" · editing")}
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        })
    }
}

/// How often the relay line asks the server how far its relays got.
const RELAY_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// On a server that relays to a central server: a line under the header saying whether all
/// changes reached it ("Central server: all changes sent at 16:42") or how many wait.
#[component]
pub fn RelayLine() -> impl IntoView {
    let model = expect_context::<Model>();
    let tick = RwSignal::new(0u32);
    if let Ok(handle) = set_interval_with_handle(move || tick.update(|n| *n += 1), RELAY_POLL) {
        on_cleanup(move || handle.clear());
    }
    let states = LocalResource::new(move || {
        tick.track();
        let plan = model.doc.get().map(|d| d.to_string());
        let online = model.link.get() == Link::Online;
        async move {
            match plan {
                Some(p) if online => crate::api::relay_status(&p).await.unwrap_or_default(),
                _ => Vec::new(),
            }
        }
    });
    move || {
        let list = states.get().unwrap_or_default();
        let s = list.first()?.clone();
        let line = plansync_shared::relay_line(s.waiting, s.reached_ms, s.sent_ms, clock_time);
        let line = match &s.problem {
            Some(p) if !s.connected => format!("{line} · {p}"),
            _ => line,
        };
        Some(view! { <p class="relay-line" role="status" aria-live="polite">{line}</p> })
    }
}

/// A time as this browser's clock shows it: "16:42", with the day if not today.
pub fn clock_time(ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let now = js_sys::Date::new_0();
    let hm = format!("{:02}:{:02}", d.get_hours(), d.get_minutes());
    if d.to_date_string() == now.to_date_string() {
        hm
    } else {
        format!(
            "{hm} on {}",
            String::from(d.to_locale_date_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED))
        )
    }
}

fn changes(n: usize) -> &'static str {
    if n == 1 {
        "change"
    } else {
        "changes"
    }
}

/// Who I am, with a way to change it; signed in with my agency, a way to sign out.
#[component]
pub fn IdentityChip() -> impl IntoView {
    let model = expect_context::<Model>();
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            match crate::api::sign_out().await {
                Ok(()) => {
                    model.identity.set(None);
                    model.memberships_changed();
                    crate::route::go(&Route::Plans);
                }
                Err(e) => model.problem.set(Some(e)),
            }
        });
    };
    move || {
        model.identity.get().map(|i| match i.known {
            Some(plansync_shared::Known::SignedIn(label)) => view! {
                <span class="who" title=format!("Signed in with {label}")>{format!("{} · {}", i.name, i.agency)}</span>
                <button class="sign-out" on:click=sign_out>"Sign out"</button>
            }
            .into_any(),
            _ => view! {
                <button class="who" title="Change your name or agency" on:click=move |_| model.identity.set(None)>
                    {format!("{} · {}", i.name, i.agency)}
                </button>
            }
            .into_any(),
        })
    }
}
