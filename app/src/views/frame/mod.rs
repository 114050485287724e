//! The app frame: the skip link, the header, the notices, the page the route shows and the
//! footer; focus and the window title follow the route.

mod header;
mod notices;

use super::pages::{search, workshop};
use super::router::Page;
use super::widgets::announcer::{Announcements, Announcer};
use header::{IdentityChip, MenuButton, PlanName, PlanTabs, RelayLine, SyncBadge, WhoIsHere};
use notices::{IdentityPrompt, NetworkNotice, Problem, SignInEnded};

use crate::model::Model;
use crate::route::{Route, TrackerView};
use leptos::prelude::*;

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
    // On a narrow screen the plan's views, the search and who I am are behind Menu; moving
    // to another view closes it.
    let menu = RwSignal::new(false);
    Effect::new(move |_| {
        model.route.track();
        menu.set(false);
    });
    view! {
        <a class="skip-link" href="#main" on:click=|ev| {
            // The address holds the route: move focus without changing it.
            ev.prevent_default();
            focus_first("main");
        }>"Skip to main content"</a>
        <header class="top" class:menu-open=move || menu.get()>
            <div class="top-bar">
                <a class="brand" href="#/">"Plansync"</a>
                <PlanName />
                <div class="status">
                    <SyncBadge />
                    <IdentityChip />
                </div>
                <MenuButton open=menu />
            </div>
            <div class="top-nav" id="plan-menu">
                <PlanTabs />
                <search::SearchBox />
            </div>
        </header>
        <RelayLine />
        <WhoIsHere />
        <NetworkNotice />
        <Problem />
        <SignInEnded />
        <IdentityPrompt />
        <Announcements />
        <main id="main" tabindex="-1">
            <Page page />
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
