//! What the user sees: one module per view, and the frame around them.

mod accessibility;
mod action;
mod board;
mod charts;
mod comments;
mod dashboard;
mod history;
mod indicators;
mod join;
mod milestones;
mod outline;
mod papers;
mod people;
mod period;
mod plans;
mod room;
mod round;
mod search;
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
    provide_context(Announcer::default());
    install_service_worker();
    title_and_focus_follow_the_route(model);
    search::slash_focuses_search();
    // The page to show: a new filter, sort or find in the tracker keeps its page (the page
    // follows the address itself), so its rows and the focused box stay.
    let page = Memo::new(move |_| {
        model.route.with(|r| match r {
            Route::Tracker(doc, _) => Route::Tracker(*doc, TrackerView::default()),
            other => other.clone(),
        })
    });
    view! {
        <a class="skip-link" href="#main" on:click=|ev| {
            // The address holds the route: move focus without changing it.
            ev.prevent_default();
            focus_first("main");
        }>"Skip to main content"</a>
        <header class="top">
            <a class="brand" href="#/">"Plansync"</a>
            <PlanTabs />
            <search::SearchBox />
            <div class="status">
                <SyncBadge />
                <IdentityChip />
                <RelayLine />
            </div>
        </header>
        <WhoIsHere />
        <NetworkNotice />
        <Problem />
        <SignInEnded />
        <IdentityPrompt />
        <Announcements />
        <main id="main" tabindex="-1">
            {move || match page.get() {
                Route::Plans => view! { <plans::PlansPage /> }.into_any(),
                Route::Join(code) => view! { <join::JoinPage code=code.clone() /> }.into_any(),
                Route::SignedIn(code) => view! { <join::SignedInPage code=code.clone() /> }.into_any(),
                Route::Accessibility => view! { <accessibility::AccessibilityPage /> }.into_any(),
                Route::Dashboard(_) => view! { <PlanGate><dashboard::DashboardPage /></PlanGate> }.into_any(),
                Route::Outline(_) => view! { <PlanGate><outline::OutlinePage /></PlanGate> }.into_any(),
                Route::Board(_, b) => view! { <PlanGate><board::BoardPage id=b.clone() /></PlanGate> }.into_any(),
                Route::Indicators(_, i) => view! { <PlanGate><indicators::IndicatorsPage id=i.clone() /></PlanGate> }.into_any(),
                Route::Milestones(_) => view! { <PlanGate><milestones::MilestonesPage /></PlanGate> }.into_any(),
                Route::Search(_, q) => view! { <PlanGate><search::SearchPage query=q.clone() /></PlanGate> }.into_any(),
                Route::Tracker(..) => view! { <PlanGate><tracker::TrackerPage /></PlanGate> }.into_any(),
                Route::Action(_, id) => view! { <PlanGate><action::ActionPage id=id.clone() /></PlanGate> }.into_any(),
                Route::People(_) => view! { <people::PeoplePage /> }.into_any(),
                Route::History(_, compare) => view! { <PlanGate><history::HistoryPage with_now=compare /></PlanGate> }.into_any(),
                Route::Papers(_) => view! { <PlanGate><papers::PapersPage /></PlanGate> }.into_any(),
                Route::Room(_) => view! { <PlanGate><room::RoomPage /></PlanGate> }.into_any(),
                Route::Workshop(_, o) => view! { <PlanGate><workshop::WorkshopPage objective=o.clone() /></PlanGate> }.into_any(),
            }}
        </main>
        <footer class="foot">
            <a href=Route::Accessibility.href()>"Accessibility statement"</a>
        </footer>
    }
}

/// Focuses the first element `css` matches (made focusable by script if it is not).
fn focus_first(css: &str) {
    let el = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(css).ok().flatten());
    if let Some(el) = el {
        if !el.has_attribute("tabindex") {
            let _ = el.set_attribute("tabindex", "-1");
        }
        if let Ok(h) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el) {
            let _ = h.focus();
        }
    }
}

/// The page title names the view and the plan; on moving to another view, focus goes to
/// its heading (so a screen reader starts there), but not on the first load.
fn title_and_focus_follow_the_route(model: Model) {
    Effect::new(move |previous: Option<std::mem::Discriminant<Route>>| {
        let route = model.route.get();
        let plan = model
            .plan
            .with(|p| p.as_ref().map(|p| p.title.clone()))
            .filter(|_| route.doc().is_some());
        let title = match plan {
            Some(p) => format!("{} · {p} · Plansync", route.label()),
            None => format!("{} · Plansync", route.label()),
        };
        if let Some(d) = web_sys::window().and_then(|w| w.document()) {
            d.set_title(&title);
        }
        let now = std::mem::discriminant(&route);
        if previous.is_some_and(|p| p != now) {
            // After the new view is drawn.
            request_animation_frame(|| focus_first("main h1"));
        }
        now
    });
}

/// A request to the server, as a button starts it.
pub type Request = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>;

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

/// Links to the open plan's views, the one shown marked.
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
                <span class="plan-name">{title}</span>
                {tabs.into_iter().map(|(r, label)| {
                    let here = std::mem::discriminant(&r) == std::mem::discriminant(&route);
                    view! { <a href=r.href() aria-current=here.then_some("page")>{label}</a> }
                }).collect_view()}
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
            Link::NotJoined => (
                "not-joined",
                "Not joined yet · open an invitation link to take part".to_string(),
            ),
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
                            <strong>{p.name.clone()}</strong>{format!(" ({}{}) · {}", p.agency, plansync_shared::Known::from_stored(&p.known).map(|k| format!(", {}", k.words())).unwrap_or_default(), p.view)}
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
fn IdentityChip() -> impl IntoView {
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

/// How often the app looks whether a sign-in has ended.
const SIGN_IN_CHECK: u32 = 2_000;

/// When a sign-in's token has ended: says so and offers to sign in again, back to this
/// page. Nothing is lost meanwhile: changes stay in this browser and are sent once the new
/// token connects.
#[component]
fn SignInEnded() -> impl IntoView {
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

/// How long the same announcement waits before it is made again (someone typing into the
/// field I am in would otherwise be read out at every keystroke).
const ANNOUNCE_AGAIN_MS: f64 = 8_000.0;

/// Tells screen readers, politely, about changes others make to what I am reading.
#[derive(Clone, Copy)]
pub struct Announcer {
    said: RwSignal<String>,
    last: StoredValue<Option<(String, f64)>>,
}

impl Default for Announcer {
    fn default() -> Self {
        Announcer {
            said: RwSignal::new(String::new()),
            last: StoredValue::new(None),
        }
    }
}

impl Announcer {
    /// Announces `message`, unless it was announced a moment ago.
    pub fn say(&self, message: String) {
        let now = js_sys::Date::now();
        let recent = self.last.with_value(|l| {
            l.as_ref()
                .is_some_and(|(m, at)| *m == message && now - at < ANNOUNCE_AGAIN_MS)
        });
        if recent {
            return;
        }
        self.last.set_value(Some((message.clone(), now)));
        self.said.set(message);
    }
}

/// The live region the [`Announcer`] speaks through.
#[component]
fn Announcements() -> impl IntoView {
    let a = expect_context::<Announcer>();
    view! { <div class="visually-hidden" id="announcements" role="status" aria-live="polite">{move || a.said.get()}</div> }
}
