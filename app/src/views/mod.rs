//! What the user sees: one module per view, and the frame around them.

mod action;
mod history;
mod join;
mod outline;
mod papers;
mod people;
mod plans;
mod room;
mod text;
mod tracker;
mod workshop;

use crate::identity::Identity;
use crate::model::{Model, Opening};
use crate::route::{Route, TrackerView};
use crate::sync::Link;
use leptos::prelude::*;

pub use text::CollabText;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let model = Model::start();
    provide_context(model);
    model.follow_route();
    model.share_presence();
    provide_context(workshop::FollowRoom(RwSignal::new(true)));
    install_service_worker();
    view! {
        <header class="top">
            <a class="brand" href="#/">"Plansync"</a>
            <PlanTabs />
            <div class="status">
                <SyncBadge />
                <IdentityChip />
                <RelayLine />
            </div>
        </header>
        <WhoIsHere />
        <NetworkNotice />
        <Problem />
        <IdentityPrompt />
        <main id="main">
            {move || match model.route.get() {
                Route::Plans => view! { <plans::PlansPage /> }.into_any(),
                Route::Join(code) => view! { <join::JoinPage code=code.clone() /> }.into_any(),
                Route::Outline(_) => view! { <PlanGate><outline::OutlinePage /></PlanGate> }.into_any(),
                Route::Tracker(_, v) => view! { <PlanGate><tracker::TrackerPage view=v.clone() /></PlanGate> }.into_any(),
                Route::Action(_, id) => view! { <PlanGate><action::ActionPage id=id.clone() /></PlanGate> }.into_any(),
                Route::People(_) => view! { <people::PeoplePage /> }.into_any(),
                Route::History(_) => view! { <PlanGate><history::HistoryPage /></PlanGate> }.into_any(),
                Route::Papers(_) => view! { <PlanGate><papers::PapersPage /></PlanGate> }.into_any(),
                Route::Room(_) => view! { <PlanGate><room::RoomPage /></PlanGate> }.into_any(),
                Route::Workshop(_, o) => view! { <PlanGate><workshop::WorkshopPage objective=o.clone() /></PlanGate> }.into_any(),
            }}
        </main>
    }
}

/// A request to the server, as a button starts it.
pub type Request = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>;

/// A request to the server started from a button: its error is shown in `error`, and on
/// success `bump` changes so that the lists it affects are fetched again.
pub fn server_action(
    error: RwSignal<Option<String>>,
    bump: RwSignal<u32>,
) -> impl Fn(Request) + Copy {
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

/// Shows its children once the open plan is here, and says why while it is not.
#[component]
fn PlanGate(children: ChildrenFn) -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        match model.opening.get() {
        Opening::Ready => view! {
            {move || model.viewing.get().map(|v| view! {
                <p class="notice snapshot-banner" role="status">
                    <strong>{format!("Snapshot \"{}\"", v.name)}</strong>
                    {format!(" ({}): the plan as it was then, read-only. ", v.taken)}
                    <button class="back-to-now" on:click=move |_| model.back_to_now()>"Back to the plan as it is now"</button>
                </p>
            })}
            {move || (model.viewing.with(Option::is_none) && !model.can_edit()).then(|| view! {
                <p class="notice view-only">"View only: you are a viewer of this plan. Ask an owner for the editor role to change it."</p>
            })}
            // A viewer's controls are disabled; the model refuses their edits too.
            <fieldset class="plan-body" disabled=move || !model.can_edit()>{children()}</fieldset>
        }.into_any(),
        Opening::Unavailable => view! {
            <p class="notice">"This plan is not in this browser and the server does not have it. Check the link, or open a plan from the list."</p>
        }.into_any(),
        Opening::Unreadable(e) => view! {
            <p class="notice error">{format!("This plan could not be read ({e}). Open it from another browser, or ask the plan's owner.")}</p>
        }.into_any(),
        Opening::Waiting | Opening::None => view! { <p class="notice">"Opening the plan…"</p> }.into_any(),
    }
    }
}

/// Links to the open plan's outline and tracker.
#[component]
fn PlanTabs() -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        let route = model.route.get();
        let doc = route.doc()?;
        let title = model
            .plan
            .with(|p| p.as_ref().map(|p| p.title.clone()))
            .unwrap_or_default();
        let outline = Route::Outline(doc);
        let tracker = Route::Tracker(doc, TrackerView::default());
        let people = Route::People(doc);
        let history = Route::History(doc);
        let papers = Route::Papers(doc);
        let room = Route::Room(doc);
        let on_room = matches!(route, Route::Room(_));
        let workshop = Route::Workshop(doc, None);
        let on_workshop = matches!(route, Route::Workshop(..));
        let on_history = matches!(route, Route::History(_));
        let on_papers = matches!(route, Route::Papers(_));
        let on_outline = matches!(route, Route::Outline(_));
        let on_tracker = matches!(route, Route::Tracker(..));
        let on_people = matches!(route, Route::People(_));
        Some(view! {
            <nav class="tabs" aria-label="Plan views">
                <span class="plan-name">{title}</span>
                <a href=outline.href() aria-current=on_outline.then_some("page")>"Outline"</a>
                <a href=tracker.href() aria-current=on_tracker.then_some("page")>"Action tracker"</a>
                <a href=history.href() aria-current=on_history.then_some("page")>"History"</a>
                <a href=papers.href() aria-current=on_papers.then_some("page")>"Papers"</a>
                <a href=people.href() aria-current=on_people.then_some("page")>"People"</a>
                <a href=room.href() aria-current=on_room.then_some("page")>"Room"</a>
                <a href=workshop.href() aria-current=on_workshop.then_some("page")>"Workshop mode"</a>
            </nav>
        })
    }
}

/// Online / offline / syncing, and how many of my changes the server has not got.
#[component]
fn SyncBadge() -> impl IntoView {
    let model = expect_context::<Model>();
    let state = move || {
        let pending = model.unsynced.get();
        let open = model.doc.get().is_some();
        match model.link.get() {
            Link::Online => match pending {
                Some(0) => (
                    "online",
                    "Online · all changes are on the server".to_string(),
                ),
                Some(n) => (
                    "syncing",
                    format!("Syncing · {n} {} not yet on the server", changes(n)),
                ),
                None if open => ("syncing", "Syncing…".to_string()),
                None => ("online", "Online".to_string()),
            },
            Link::Connecting => ("offline", "Connecting…".to_string()),
            Link::Offline => match pending {
                Some(n) if n > 0 => (
                    "offline",
                    format!("Offline · {n} {} kept in this browser", changes(n)),
                ),
                _ => (
                    "offline",
                    "Offline · edits are kept in this browser".to_string(),
                ),
            },
        }
    };
    view! {
        <span class="badge" data-state=move || state().0 role="status" aria-live="polite">{move || state().1}</span>
    }
}

/// The others with this plan in front of them: name, agency and view.
#[component]
fn WhoIsHere() -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        let here = model.here.get();
        (!here.is_empty()).then(|| view! {
            <section class="here" aria-label="Who is here">
                <span class="here-count">{format!("{} here:", here.len())}</span>
                <ul>
                    {here.into_iter().map(|p| view! {
                        <li class="here-peer" data-peer=p.peer.clone()>
                            <strong>{p.name.clone()}</strong>{format!(" ({}) · {}", p.agency, p.view)}
                            {p.editing.is_some().then_some(" · editing")}
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        })
    }
}

/// Who (of the others here) is editing `item`: "✎ Analyst, Facilitator", for a mark beside it.
#[component]
pub fn EditingMark(item: String) -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        let names: Vec<String> = model.here.with(|h| {
            h.iter()
                .filter(|p| p.editing.as_deref() == Some(item.as_str()))
                .map(|p| p.name.clone())
                .collect()
        });
        (!names.is_empty()).then(|| view! {
            <span class="editing-mark" title="Editing now">{format!("✎ {}", names.join(", "))}</span>
        })
    }
}

/// How often the relay line asks the server how far its relays got.
const RELAY_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// On a server that relays to a central server: a line under the badge saying whether all
/// changes reached it ("Central server: all changes sent at 16:42") or how many wait.
#[component]
fn RelayLine() -> impl IntoView {
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
        let line = plansync_shared::relay_line(
            s.waiting,
            s.reached_ms.map(|t| t as i64),
            s.sent_ms.map(|t| t as i64),
            clock_time,
        );
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

/// Who I am, with a way to change it.
#[component]
fn IdentityChip() -> impl IntoView {
    let model = expect_context::<Model>();
    move || {
        model.identity.get().map(|i| {
            view! {
                <button class="who" title="Change your name or agency" on:click=move |_| model.identity.set(None)>
                    {format!("{} · {}", i.name, i.agency)}
                </button>
            }
        })
    }
}

/// On first open: asks for a name and an agency to stamp updates and comments with.
#[component]
fn IdentityPrompt() -> impl IntoView {
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
fn Problem() -> impl IntoView {
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
fn NetworkNotice() -> impl IntoView {
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

/// Caches the app shell for offline reloads where the browser allows it (https, localhost).
fn install_service_worker() {
    let Some(window) = web_sys::window() else {
        return;
    };
    if !window.is_secure_context() {
        return;
    }
    let container = window.navigator().service_worker();
    let _ = container.register("/sw.js");
}
