//! The app's state: the route, the open plan (read from the sync core's document), the link
//! to the server, and who I am. Views read its signals and change the plan only through
//! [`Model::apply`], which runs the shared crate's plan operations.

use crate::api::PlanEntry;
use crate::identity::Identity;
use crate::perf;
use crate::route::{self, Route};
use crate::store::Store;
use crate::sync::{sync_url, Connection, Link, Notice};
use leptos::prelude::*;
use plansync_shared::{DocumentId, Plan, PlanOp, PlanUpdate, TextField};
use std::cell::Cell;
use std::rc::Rc;

/// How long typing must pause before the rest of the page shows the new text.
const TYPING_PAUSE_MS: u64 = 150;
/// How long the plan must stay unchanged before its typed values are kept for a quick start.
const KEEP_VIEW_AFTER_MS: u64 = 1_500;

/// Where the open plan is, as the user sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Opening {
    /// No plan open.
    None,
    /// Waiting for this browser's copy or the server.
    Waiting,
    /// The plan is here.
    Ready,
    /// Neither this browser nor the server has it.
    Unavailable,
    /// The document is not a plan this app can read.
    Unreadable(String),
}

/// The app's state; `Copy`, so every component can hold it.
#[derive(Clone, Copy)]
pub struct Model {
    conn: StoredValue<Option<Connection>, LocalStorage>,
    store: StoredValue<Option<Store>, LocalStorage>,
    refresh: StoredValue<Rc<Refresh>, LocalStorage>,
    /// The view in the address bar.
    pub route: RwSignal<Route>,
    /// The link to the server.
    pub link: RwSignal<Link>,
    /// The plan open now.
    pub doc: RwSignal<Option<DocumentId>>,
    /// The open plan, read from its document.
    pub plan: RwSignal<Option<Plan>>,
    /// Whether the open plan is here.
    pub opening: RwSignal<Opening>,
    /// How many of my changes the server has not got (`None`: not known).
    pub unsynced: RwSignal<Option<usize>>,
    /// A problem saving in this browser, for the user.
    pub problem: RwSignal<Option<String>>,
    /// Who I am.
    pub identity: RwSignal<Option<Identity>>,
    /// Whether the store and connection are up.
    pub started: RwSignal<bool>,
    /// Bumped when the plans kept in this browser change.
    pub local_plans: RwSignal<u32>,
    /// My role in the open plan (`viewer`, `editor`, `owner`), if I am a participant.
    pub role: RwSignal<Option<String>>,
    /// The snapshot being looked at instead of the plan as it is now (read-only).
    pub viewing: RwSignal<Option<Viewing>>,
    /// The other people with the open plan in front of them.
    pub here: RwSignal<Vec<crate::presence::PeerHere>>,
    /// The item I am editing (an action or objective id), for presence.
    pub editing: RwSignal<Option<String>>,
    /// The objective I lead the workshop room to (an owner in workshop mode).
    pub leading: RwSignal<Option<String>>,
}

/// A snapshot shown in every view in place of the plan as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct Viewing {
    /// The snapshot's name.
    pub name: String,
    /// Who took it and when, in words.
    pub taken: String,
}

#[derive(Default)]
struct Refresh {
    scheduled: Cell<bool>,
    /// Set while a text box applies what was typed: the box already shows it, so the rest
    /// of the page is refreshed once typing pauses rather than on every keystroke.
    typing: Cell<bool>,
    /// Bumped by every keystroke; a pending refresh runs only if it is still the latest.
    typed: Cell<u32>,
    /// When the first remote change since the last refresh arrived.
    remote_since: Cell<Option<f64>>,
    /// Whether the page's plan is the open plan as last read, so only its changes since
    /// need reading (not a snapshot, not another plan).
    live: Cell<bool>,
    /// Bumped by every change read; the plan is kept for a quick start once it stays put.
    kept: Cell<u32>,
}

/// How often presence is looked after (time-outs; a heartbeat every few ticks).
const PRESENCE_TICK_MS: u64 = 5_000;

impl Model {
    /// Creates the model, opens this browser's store and connects to the server.
    pub fn start() -> Self {
        let model = Model {
            conn: StoredValue::new_local(None),
            store: StoredValue::new_local(None),
            refresh: StoredValue::new_local(Rc::new(Refresh::default())),
            route: RwSignal::new(route::current()),
            link: RwSignal::new(Link::Connecting),
            doc: RwSignal::new(None),
            plan: RwSignal::new(None),
            opening: RwSignal::new(Opening::None),
            unsynced: RwSignal::new(None),
            problem: RwSignal::new(None),
            identity: RwSignal::new(Identity::load()),
            local_plans: RwSignal::new(0),
            started: RwSignal::new(false),
            role: RwSignal::new(None),
            viewing: RwSignal::new(None),
            here: RwSignal::new(Vec::new()),
            editing: RwSignal::new(None),
            leading: RwSignal::new(None),
        };
        let on_hash = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            model.route.set(route::current());
        });
        if let Some(w) = web_sys::window() {
            let _ = w.add_event_listener_with_callback(
                "hashchange",
                wasm_bindgen::JsCast::unchecked_ref(on_hash.as_ref()),
            );
        }
        on_hash.forget();
        leptos::task::spawn_local(async move {
            let store = match Store::open().await {
                Ok(s) => Some(s),
                Err(e) => {
                    model.problem.set(Some(e.0));
                    None
                }
            };
            model.store.set_value(store.clone());
            let conn = Connection::open(sync_url(), store, move |n| model.on_notice(n));
            model.conn.set_value(Some(conn));
            model.started.set(true);
        });
        model
    }

    /// Tells the others with the open plan where I am and what I edit, whenever that or the
    /// link changes; says I am still here every heartbeat, forgets those gone quiet, and
    /// says goodbye when the page goes away.
    pub fn share_presence(self) {
        Effect::new(move || {
            // Again whenever the view, the item edited or the room led changes.
            self.route.track();
            self.editing.track();
            self.leading.track();
            let online = self.link.get() == Link::Online;
            if let (Some(doc), true) = (self.doc.get(), online) {
                self.send_presence(doc);
            }
        });
        // A new plan: nobody is known to be here yet.
        Effect::new(move || {
            self.doc.track();
            self.here.set(Vec::new());
        });
        let ticks = std::cell::Cell::new(0u64);
        let every = std::time::Duration::from_millis(PRESENCE_TICK_MS);
        let _ = set_interval_with_handle(
            move || {
                ticks.set(ticks.get() + 1);
                let now = js_sys::Date::now();
                if self.here.with_untracked(|h| {
                    h.iter()
                        .any(|p| now - p.seen_ms >= plansync_shared::PEER_TTL_MS as f64)
                }) {
                    self.here.update(|h| {
                        crate::presence::prune(h, now);
                    });
                }
                if ticks
                    .get()
                    .is_multiple_of(plansync_shared::HEARTBEAT_MS / PRESENCE_TICK_MS)
                {
                    if let (Some(doc), Some(conn)) =
                        (self.doc.get_untracked(), self.conn.get_value())
                    {
                        conn.send_ephemeral(doc, crate::presence::heartbeat());
                    }
                }
            },
            every,
        );
        let bye = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            if let (Some(doc), Some(conn)) = (self.doc.get_untracked(), self.conn.get_value()) {
                conn.send_ephemeral(doc, crate::presence::goodbye());
            }
        });
        // What is being edited: the item around the focused control.
        let focus = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::Event)>::new(
            move |ev: web_sys::Event| {
                let item = ev
                    .target()
                    .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
                    .and_then(|e| e.closest("[data-presence-item]").ok().flatten())
                    .and_then(|e| e.get_attribute("data-presence-item"));
                let item = if ev.type_() == "focusout" { None } else { item };
                if self.editing.get_untracked() != item {
                    self.editing.set(item);
                }
            },
        );
        if let Some(w) = web_sys::window() {
            let _ = w.add_event_listener_with_callback(
                "pagehide",
                wasm_bindgen::JsCast::unchecked_ref(bye.as_ref()),
            );
            if let Some(d) = w.document() {
                for kind in ["focusin", "focusout"] {
                    let _ = d.add_event_listener_with_callback(
                        kind,
                        wasm_bindgen::JsCast::unchecked_ref(focus.as_ref()),
                    );
                }
            }
        }
        bye.forget();
        focus.forget();
    }

    /// Sends my whole presence (view, item edited, room led) to the others with `doc`.
    fn send_presence(self, doc: DocumentId) {
        let Some(conn) = self.conn.get_value() else {
            return;
        };
        let view = self.route.with_untracked(Route::label);
        let me = crate::presence::my_snapshot(
            view,
            self.editing.get_untracked().as_deref(),
            self.leading.get_untracked().as_deref(),
        );
        conn.send_ephemeral(doc, me);
    }

    /// Opens whatever plan the address names, now and whenever the address changes.
    pub fn follow_route(self) {
        Effect::new(move || {
            let wanted = self.route.with(Route::doc);
            if self.started.get() && wanted != self.doc.get_untracked() {
                if let Some(doc) = wanted {
                    self.open(doc);
                }
            }
        });
    }

    /// The browser's plan store, once open.
    pub fn store(&self) -> Option<Store> {
        self.store.get_value()
    }

    /// Whether I may change the open plan (a viewer may not, nor anyone looking at a
    /// snapshot).
    pub fn can_edit(&self) -> bool {
        self.role.with(|r| r.as_deref() != Some("viewer")) && self.viewing.with(Option::is_none)
    }

    /// The connection to the server, once up.
    pub fn connection(&self) -> Option<Connection> {
        self.conn.get_value()
    }

    /// The open plan as this browser holds it at `heads` (a snapshot), or why not.
    pub fn plan_at(&self, heads: &[String]) -> Result<Plan, String> {
        let (Some(conn), Some(doc)) = (self.conn.get_value(), self.doc.get_untracked()) else {
            return Err("the plan is not open".into());
        };
        match conn.plan_at(&doc, heads) {
            None => Err("This browser has not received that version of the plan yet: wait until it is online and try again.".into()),
            Some(Err(e)) => Err(format!("That version could not be read: {e}")),
            Some(Ok(plan)) => Ok(plan),
        }
    }

    /// The open plan as it is now (even while a snapshot is shown), or why not.
    pub fn plan_now(&self) -> Result<Plan, String> {
        let (Some(conn), Some(doc)) = (self.conn.get_value(), self.doc.get_untracked()) else {
            return Err("the plan is not open".into());
        };
        conn.plan(&doc)
            .ok_or("the plan is not open")?
            .map_err(|e| e.to_string())
    }

    /// Shows the plan as it was at a snapshot in every view (read-only) until
    /// [`Model::back_to_now`]; an error if this browser does not hold that version yet.
    pub fn view_snapshot(
        &self,
        name: String,
        taken: String,
        heads: &[String],
    ) -> Result<(), String> {
        let plan = self.plan_at(heads)?;
        self.refresh.get_value().live.set(false);
        self.viewing.set(Some(Viewing { name, taken }));
        self.plan.set(Some(plan));
        Ok(())
    }

    /// Goes back from a snapshot to the plan as it is now.
    pub fn back_to_now(&self) {
        self.viewing.set(None);
        self.refresh_now();
    }

    /// Picks up memberships that changed (joined, created, role changed): the socket
    /// reconnects with every token held, and the open plan's role is re-read.
    pub fn memberships_changed(&self) {
        if let Some(conn) = self.conn.get_value() {
            conn.set_url(sync_url());
        }
        let role = self
            .doc
            .get_untracked()
            .and_then(|d| crate::membership::of(&d.to_string()))
            .map(|m| m.role);
        self.role.set(role);
    }

    fn open(self, doc: DocumentId) {
        self.viewing.set(None);
        self.role
            .set(crate::membership::of(&doc.to_string()).map(|m| m.role));
        self.doc.set(Some(doc));
        self.refresh.get_value().live.set(false);
        self.plan.set(None);
        self.unsynced.set(None);
        self.opening.set(Opening::Waiting);
        let Some(conn) = self.conn.get_value() else {
            return;
        };
        if conn.has(&doc) {
            self.refresh_now();
            return;
        }
        let store = self.store();
        let started = perf::now();
        leptos::task::spawn_local(async move {
            let here = move || self.doc.get_untracked() == Some(doc);
            // The plan as this browser last read it, shown before its document is loaded
            // (loading a large plan's document takes a while); kept only if the document
            // turns out to be at the same heads, else read again.
            let mut shown_at = None;
            if let Some(s) = &store {
                if let Some((heads, plan)) = s.load_view(&doc).await {
                    if here() && self.plan.with_untracked(Option::is_none) {
                        self.opening.set(Opening::Ready);
                        self.plan.set(Some(plan));
                        shown_at = Some(heads);
                        next_paint().await;
                    }
                }
            }
            let local = match store {
                Some(s) => s.load(&doc).await.unwrap_or_else(|e| {
                    self.problem.set(Some(e.0));
                    None
                }),
                None => None,
            };
            conn.open_doc(doc, local);
            perf::record("open", started);
            if !here() || !conn.has(&doc) {
                return;
            }
            if shown_at.is_some_and(|h| conn.track_from(&doc, &h)) {
                self.refresh.get_value().live.set(true);
                self.update_unsynced();
            } else {
                self.refresh_now();
            }
        });
    }

    fn on_notice(self, notice: Notice) {
        match notice {
            Notice::Link(l) => {
                self.link.set(l);
                self.update_unsynced();
            }
            Notice::Changed { doc, remote } if Some(doc) == self.doc.get_untracked() => {
                let r = self.refresh.get_value();
                if remote && r.remote_since.get().is_none() {
                    r.remote_since.set(Some(perf::now()));
                }
                if !remote && r.typing.get() {
                    self.refresh_when_typing_pauses();
                } else {
                    self.schedule_refresh();
                }
            }
            Notice::Synced(doc) if Some(doc) == self.doc.get_untracked() => self.update_unsynced(),
            Notice::Unavailable(doc)
                if Some(doc) == self.doc.get_untracked()
                    && self.plan.with_untracked(Option::is_none) =>
            {
                self.opening.set(Opening::Unavailable);
            }
            Notice::StoreFailed(e) => self.problem.set(Some(e)),
            Notice::Ephemeral { doc, sender, data } if Some(doc) == self.doc.get_untracked() => {
                let new = self
                    .here
                    .with_untracked(|h| !h.iter().any(|p| p.peer == sender));
                self.here.update(|h| {
                    crate::presence::apply(h, &sender, &data, js_sys::Date::now());
                });
                // Someone new: tell them where I am (as the JS client announces itself).
                if new {
                    self.send_presence(doc);
                }
            }
            _ => {}
        }
    }

    /// Re-reads the open plan once before the next frame, however many changes arrive.
    fn schedule_refresh(self) {
        let r = self.refresh.get_value();
        if r.scheduled.replace(true) {
            return;
        }
        request_animation_frame(move || self.refresh_now());
    }

    fn refresh_when_typing_pauses(self) {
        let r = self.refresh.get_value();
        let mine = r.typed.get().wrapping_add(1);
        r.typed.set(mine);
        set_timeout(
            move || {
                if self.refresh.get_value().typed.get() == mine {
                    self.schedule_refresh();
                }
            },
            std::time::Duration::from_millis(TYPING_PAUSE_MS),
        );
    }

    fn refresh_now(self) {
        let r = self.refresh.get_value();
        r.scheduled.set(false);
        let (Some(conn), Some(doc)) = (self.conn.get_value(), self.doc.get_untracked()) else {
            return;
        };
        // While a snapshot is shown, the page keeps showing it; the plan as it is now is
        // read again on the way back.
        if self.viewing.with_untracked(Option::is_some) {
            r.live.set(false);
        } else if r.live.get() && self.plan.with_untracked(Option::is_some) {
            let before = self
                .plan
                .with_untracked(|p| p.as_ref().map(|p| (p.title.clone(), p.stage)));
            let (mut failed, mut changed) = (false, false);
            self.plan.maybe_update(|p| {
                let Some(plan) = p.as_mut() else { return false };
                match conn.update_plan(&doc, plan) {
                    Some(Ok(PlanUpdate::Unchanged)) | None => {}
                    Some(Ok(_)) => changed = true,
                    Some(Err(_)) => failed = true,
                }
                changed
            });
            let after = self
                .plan
                .with_untracked(|p| p.as_ref().map(|p| (p.title.clone(), p.stage)));
            if failed {
                r.live.set(false);
                self.read_whole(&conn, doc);
            } else if changed {
                self.keep_view_after(KEEP_VIEW_AFTER_MS);
                if before != after {
                    self.plan.with_untracked(|p| {
                        if let Some(p) = p {
                            self.remember(&doc, p);
                        }
                    });
                }
            }
        } else {
            self.read_whole(&conn, doc);
        }
        self.update_unsynced();
        if let Some(start) = r.remote_since.take() {
            request_animation_frame(move || perf::record("merge", start));
        }
    }

    /// Reads the open plan whole into the page (a plan just opened, or back from a
    /// snapshot); later changes are read item by item.
    fn read_whole(self, conn: &Connection, doc: DocumentId) {
        let started = perf::now();
        let read = conn.plan_tracked(&doc);
        perf::record("open-read", started);
        match read {
            None => {}
            Some(Ok(plan)) => {
                if self.opening.get_untracked() != Opening::Ready {
                    self.opening.set(Opening::Ready);
                }
                let changed = self.plan.with_untracked(|p| {
                    p.as_ref()
                        .is_none_or(|p| p.title != plan.title || p.stage != plan.stage)
                });
                if changed {
                    self.remember(&doc, &plan);
                }
                self.plan.set(Some(plan));
                self.refresh.get_value().live.set(true);
                // A whole read is rare and slow: keep it at once for the next start.
                self.keep_view_after(0);
            }
            Some(Err(e)) => self.opening.set(Opening::Unreadable(e.to_string())),
        }
    }

    /// Keeps the open plan's typed values in this browser once it has stayed unchanged for
    /// `ms`, so it opens at once next time.
    fn keep_view_after(self, ms: u64) {
        let r = self.refresh.get_value();
        let mine = r.kept.get().wrapping_add(1);
        r.kept.set(mine);
        set_timeout(
            move || {
                let r = self.refresh.get_value();
                if r.kept.get() != mine || !r.live.get() {
                    return;
                }
                let (Some(conn), Some(doc), Some(store)) = (
                    self.conn.get_value(),
                    self.doc.get_untracked(),
                    self.store(),
                ) else {
                    return;
                };
                // The heads the page's plan was read at, not the document's latest.
                let Some(heads) = conn.plan_heads(&doc) else {
                    return;
                };
                let Some(record) = self.plan.with_untracked(|p| {
                    p.as_ref()
                        .and_then(|p| crate::store::view_record(&heads, p))
                }) else {
                    return;
                };
                leptos::task::spawn_local(async move {
                    // Only a quicker start is lost if this fails; the plan itself is kept.
                    let _ = store.save_view(&doc, &record).await;
                });
            },
            std::time::Duration::from_millis(ms),
        );
    }

    fn update_unsynced(self) {
        let (Some(conn), Some(doc)) = (self.conn.get_value(), self.doc.get_untracked()) else {
            return;
        };
        let n = conn.unsynced(&doc);
        if self.unsynced.get_untracked() != n {
            self.unsynced.set(n);
        }
    }

    /// Keeps the plan's list entry in this browser (its title or stage changed).
    fn remember(self, doc: &DocumentId, plan: &Plan) {
        let Some(store) = self.store() else { return };
        let entry = PlanEntry {
            id: doc.to_string(),
            title: plan.title.clone(),
            url: doc.url(),
            stage: plan.stage.to_string(),
            role: None,
        };
        leptos::task::spawn_local(async move {
            if store.remember(&entry).await.is_ok() {
                self.local_plans.update(|n| *n += 1);
            }
        });
    }

    /// Applies what was typed into a text box (`was` became `text`; see [`Model::apply`]);
    /// the rest of the page catches up when typing pauses.
    pub fn edit_text(&self, field: &TextField, was: &str, text: &str) -> bool {
        let r = self.refresh.get_value();
        r.typing.set(true);
        let done = self.apply(PlanOp::SetText {
            field: field.clone(),
            was: was.to_string(),
            text: text.to_string(),
        });
        r.typing.set(false);
        done
    }

    /// How this browser's person is known to the server (signed in, or a code), for the
    /// stamp on their updates and comments.
    pub fn known(&self) -> Option<plansync_shared::Known> {
        self.identity
            .with_untracked(|i| i.as_ref().and_then(|i| i.known.clone()))
    }

    /// A seed for an operation that makes an item (its id comes from it).
    pub fn seed(&self) -> u64 {
        PlanOp::seed(&mut crate::sync::rng())
    }

    /// Changes the open plan by one plan operation: applied and stored here at once, sent
    /// to the server when it can be. Whether it was made; a refused one is shown to the user.
    pub fn apply(&self, op: PlanOp) -> bool {
        let (Some(conn), Some(doc)) = (self.conn.get_value(), self.doc.get_untracked()) else {
            return false;
        };
        if self.viewing.with_untracked(Option::is_some) {
            self.problem.set(Some(
                "You are looking at a snapshot, which cannot be changed: go back to the plan as it is now to edit it.".into(),
            ));
            return false;
        }
        if !self.role.with_untracked(|r| r.as_deref() != Some("viewer")) {
            self.problem.set(Some(
                "You can view this plan but not change it: ask an owner of the plan for the editor role."
                    .into(),
            ));
            return false;
        }
        match conn.edit(&doc, |p, _| op.apply(p)) {
            Ok(()) => true,
            Err(e) => {
                self.problem
                    .set(Some(format!("That change could not be made: {e}.")));
                false
            }
        }
    }
}

/// Today's date in the browser, as `YYYY-MM-DD`.
pub fn today() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

/// Resolves after the browser has drawn the next frame (so what was just rendered shows
/// before long work starts).
async fn next_paint() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        request_animation_frame(move || {
            set_timeout(
                move || {
                    let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
                },
                std::time::Duration::ZERO,
            );
        });
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
