//! The app's state: the route, the open plan (read from the sync core's document), the link
//! to the server, and who I am. Views read its signals and change the plan only through
//! [`Model::apply`], which runs the shared crate's plan operations.

use crate::api::PlanEntry;
use crate::identity::Identity;
use crate::perf;
use crate::route::{self, Route};
use crate::store::Store;
use crate::sync::{sync_url, Link};
use crate::worker::link::SyncWorker;
use crate::worker::protocol::{FromWorker, ToWorker};
use leptos::prelude::*;
use plansync_shared::{DocumentId, Plan, PlanOp, PlanPatch, TextField};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// How long typing must pause before the rest of the page shows the new text.
const TYPING_PAUSE_MS: u64 = 150;

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
    worker: StoredValue<Option<SyncWorker>, LocalStorage>,
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
    /// Whether some of my changes are not stored in this browser yet.
    pub saving: RwSignal<bool>,
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
    /// When a text box last sent what was typed (ms): the box already shows it, so the
    /// worker's patches for it reach the rest of the page once typing pauses rather than
    /// on every keystroke (they come back later, so a flag set while sending would miss them).
    typed_at: Cell<f64>,
    /// Bumped by every keystroke; a pending refresh runs only if it is still the latest.
    typed: Cell<u32>,
    /// When the first remote change since the last refresh arrived.
    remote_since: Cell<Option<f64>>,
    /// The number of my last operation sent to the worker.
    sent: Cell<u64>,
    /// The number of my last operation the page's plan includes.
    acked: Cell<u64>,
    /// Patches from the worker not applied yet (mine, while typing), in order.
    queued: RefCell<Vec<(PlanPatch, Vec<String>, u64)>>,
    /// The heads the page's plan (or, while a snapshot is shown, the live plan) is at.
    heads: RefCell<Vec<String>>,
    /// The plan as it is now, while a snapshot is shown in its place.
    live: RefCell<Option<Plan>>,
    /// When the open plan was asked for (for the timing).
    opened_at: Cell<f64>,
    /// My last operation sent to the worker, and the last it has applied.
    sent_to_worker: Cell<u64>,
    worker_applied: Cell<u64>,
    /// A text operation waiting for the worker to apply the one before (with its number).
    pending: RefCell<Option<(u64, PlanOp)>>,
}

/// How often presence is looked after (time-outs; a heartbeat every few ticks).
const PRESENCE_TICK_MS: u64 = 5_000;

impl Model {
    /// Creates the model, opens this browser's store and connects to the server.
    pub fn start() -> Self {
        let model = Model {
            worker: StoredValue::new_local(None),
            store: StoredValue::new_local(None),
            refresh: StoredValue::new_local(Rc::new(Refresh::default())),
            route: RwSignal::new(route::current()),
            link: RwSignal::new(Link::Connecting),
            doc: RwSignal::new(None),
            plan: RwSignal::new(None),
            opening: RwSignal::new(Opening::None),
            unsynced: RwSignal::new(None),
            saving: RwSignal::new(false),
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
            let started = perf::now();
            let store = Store::open().await;
            perf::record("page-store", started);
            let store = match store {
                Ok(s) => Some(s),
                Err(e) => {
                    model.problem.set(Some(e.0));
                    None
                }
            };
            model.store.set_value(store);
            perf::record("worker-start", 0.0);
            match SyncWorker::start(move |m| model.hear(m)) {
                Ok(worker) => {
                    worker.send(&ToWorker::Connect(sync_url()));
                    model.worker.set_value(Some(worker));
                }
                Err(e) => model.problem.set(Some(format!(
                    "{e}. This browser cannot sync the plan: use a current Chrome, Edge, Firefox or Safari."
                ))),
            }
            model.started.set(true);
        });
        // Back on the network: dial at once rather than at the next backoff.
        let online = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            model.tell(&ToWorker::Online);
        });
        if let Some(w) = web_sys::window() {
            let _ = w.add_event_listener_with_callback(
                "online",
                wasm_bindgen::JsCast::unchecked_ref(online.as_ref()),
            );
        }
        online.forget();
        model
    }

    /// Tells the sync worker something (nothing, before it is up).
    fn tell(&self, m: &ToWorker) {
        if let Some(w) = self.worker.get_value() {
            w.send(m);
        }
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
                    if let Some(doc) = self.doc.get_untracked() {
                        self.tell(&ToWorker::Ephemeral {
                            doc,
                            data: crate::presence::heartbeat(),
                        });
                    }
                }
            },
            every,
        );
        let bye = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            if let Some(doc) = self.doc.get_untracked() {
                self.tell(&ToWorker::Ephemeral {
                    doc,
                    data: crate::presence::goodbye(),
                });
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
        let view = self.route.with_untracked(Route::label);
        let me = crate::presence::my_snapshot(
            view,
            self.editing.get_untracked().as_deref(),
            self.leading.get_untracked().as_deref(),
        );
        self.tell(&ToWorker::Ephemeral { doc, data: me });
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

    /// The heads (hex) of the plan as it is now here, for naming a snapshot.
    pub fn heads(&self) -> Vec<String> {
        self.refresh.get_value().heads.borrow().clone()
    }

    /// The open plan as this browser holds it at `heads` (a snapshot), or why not.
    pub async fn plan_at(&self, heads: &[String]) -> Result<Plan, String> {
        let (Some(w), Some(doc)) = (self.worker.get_value(), self.doc.get_untracked()) else {
            return Err("the plan is not open".into());
        };
        w.plan_at(doc, heads.to_vec()).await
    }

    /// The open plan's history here, newest first (works offline).
    pub async fn history(&self) -> Result<Vec<plansync_shared::HistoryEntry>, String> {
        let (Some(w), Some(doc)) = (self.worker.get_value(), self.doc.get_untracked()) else {
            return Err("the plan is not open".into());
        };
        w.history(doc).await
    }

    /// The open plan as it is now (even while a snapshot is shown), or why not.
    pub fn plan_now(&self) -> Result<Plan, String> {
        let r = self.refresh.get_value();
        let live = r.live.borrow().clone();
        live.or_else(|| self.plan.get_untracked())
            .ok_or_else(|| "the plan is not open".into())
    }

    /// Shows the plan as it was at a snapshot in every view (read-only) until
    /// [`Model::back_to_now`]; an error if this browser does not hold that version yet.
    pub async fn view_snapshot(
        &self,
        name: String,
        taken: String,
        heads: &[String],
    ) -> Result<(), String> {
        let plan = self.plan_at(heads).await?;
        let r = self.refresh.get_value();
        if r.live.borrow().is_none() {
            *r.live.borrow_mut() = self.plan.get_untracked();
        }
        self.viewing.set(Some(Viewing { name, taken }));
        self.plan.set(Some(plan));
        Ok(())
    }

    /// Goes back from a snapshot to the plan as it is now.
    pub fn back_to_now(&self) {
        let live = self.refresh.get_value().live.borrow_mut().take();
        self.viewing.set(None);
        if live.is_some() {
            self.plan.set(live);
        }
    }

    /// Picks up memberships that changed (joined, created, role changed): the socket
    /// reconnects with every token held, and the open plan's role is re-read.
    pub fn memberships_changed(&self) {
        self.tell(&ToWorker::Connect(sync_url()));
        let role = self
            .doc
            .get_untracked()
            .and_then(|d| crate::membership::of(&d.to_string()))
            .map(|m| m.role);
        self.role.set(role);
    }

    fn open(self, doc: DocumentId) {
        // What I typed in the plan I leave goes to it first.
        if let Some(w) = self.worker.get_value() {
            self.send_pending(&w);
        }
        self.viewing.set(None);
        self.role
            .set(crate::membership::of(&doc.to_string()).map(|m| m.role));
        self.doc.set(Some(doc));
        let r = self.refresh.get_value();
        r.live.borrow_mut().take();
        r.queued.borrow_mut().clear();
        r.heads.borrow_mut().clear();
        r.opened_at.set(perf::now());
        self.plan.set(None);
        self.unsynced.set(None);
        self.opening.set(Opening::Waiting);
        let store = self.store();
        leptos::task::spawn_local(async move {
            // The plan as this browser last read it, shown at once; the worker says whether
            // it is the plan now (then only later changes come) or sends it whole.
            let kept = match &store {
                Some(s) => s.load_view(&doc).await,
                None => None,
            };
            let shown = kept.and_then(|(heads, plan)| self.show(doc, heads, plan));
            if self.doc.get_untracked() != Some(doc) {
                return;
            }
            let first = shown.is_none();
            self.tell(&ToWorker::Open { doc, shown });
            if first && crate::membership::of(&doc.to_string()).is_some() {
                // Opened for the first time in this browser: the server's reading of the
                // plan is shown while the document itself comes to the worker.
                let started = perf::now();
                let view = crate::api::plan_view(&doc.to_string()).await;
                perf::record("open-view", started);
                if let Some(heads) = view.ok().and_then(|v| self.show(doc, v.heads, v.plan)) {
                    self.plan
                        .with_untracked(|p| p.iter().for_each(|p| self.remember(&doc, p)));
                    self.tell(&ToWorker::Shown { doc, heads });
                }
            }
        });
    }

    /// Shows a plan read at `heads` while the sync worker has not sent one (the copy this
    /// browser kept, or the server's); the heads, if it is shown.
    fn show(self, doc: DocumentId, heads: Vec<String>, plan: Plan) -> Option<Vec<String>> {
        let r = self.refresh.get_value();
        let none_yet = self.plan.with_untracked(Option::is_none) && r.live.borrow().is_none();
        if self.doc.get_untracked() != Some(doc) || !none_yet {
            return None;
        }
        self.opening.set(Opening::Ready);
        self.plan.set(Some(plan));
        *r.heads.borrow_mut() = heads.clone();
        Some(heads)
    }

    /// What the sync worker says.
    fn hear(self, m: FromWorker) {
        let here = |doc: &DocumentId| Some(*doc) == self.doc.get_untracked();
        match m {
            FromWorker::Link(l) => self.link.set(l),
            FromWorker::Patch {
                doc,
                patch,
                heads,
                applied,
                remote,
            } if here(&doc) => {
                let r = self.refresh.get_value();
                r.queued.borrow_mut().push((patch, heads, applied));
                if remote && r.remote_since.get().is_none() {
                    r.remote_since.set(Some(perf::now()));
                }
                let typing = perf::now() - r.typed_at.get() < TYPING_PAUSE_MS as f64;
                if !remote && typing {
                    self.refresh_when_typing_pauses();
                } else {
                    self.schedule_refresh();
                }
            }
            FromWorker::Perf { name, start, end } => perf::record_epoch(&name, start, end),
            FromWorker::Current(doc) if here(&doc) => {
                perf::record("worker-open", self.refresh.get_value().opened_at.get());
            }
            FromWorker::Applied(seq) => {
                let r = self.refresh.get_value();
                r.worker_applied.set(seq);
                if let Some(w) = self.worker.get_value() {
                    self.send_pending(&w);
                }
            }
            FromWorker::Stored { doc, up_to } if here(&doc) => {
                let saving = self.refresh.get_value().sent.get() > up_to;
                if self.saving.get_untracked() != saving {
                    self.saving.set(saving);
                }
            }
            FromWorker::Refused { why, .. } => self
                .problem
                .set(Some(format!("That change could not be made: {why}."))),
            FromWorker::Unsynced { doc, count }
                if here(&doc) && self.unsynced.get_untracked() != count =>
            {
                self.unsynced.set(count);
            }
            FromWorker::Unavailable(doc)
                if here(&doc) && self.plan.with_untracked(Option::is_none) =>
            {
                self.opening.set(Opening::Unavailable);
            }
            FromWorker::Unreadable { doc, why } if here(&doc) => {
                self.opening.set(Opening::Unreadable(why))
            }
            FromWorker::StoreFailed(e) => self.problem.set(Some(e)),
            FromWorker::Failed(e) => self.problem.set(Some(format!(
                "This page could not start syncing the plan ({e}): reload the page."
            ))),
            FromWorker::Ephemeral { doc, sender, data } if here(&doc) => {
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

    /// Applies the worker's patches once before the next frame, however many arrive.
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

    /// Applies the patches that came, in order, to the plan shown (or, while a snapshot is
    /// shown, to the plan as it is now); one that does not fit asks for the whole plan.
    fn refresh_now(self) {
        let r = self.refresh.get_value();
        r.scheduled.set(false);
        let Some(doc) = self.doc.get_untracked() else {
            return;
        };
        let queued = std::mem::take(&mut *r.queued.borrow_mut());
        if queued.is_empty() {
            return;
        }
        let first = self.plan.with_untracked(Option::is_none) && r.live.borrow().is_none();
        let started = perf::now();
        let (mut fits, mut last) = (true, None);
        let apply = |plan: &mut Option<Plan>| {
            for (patch, heads, applied) in queued {
                last = Some((heads, applied));
                match (plan.as_mut(), patch) {
                    (_, PlanPatch::Whole(p)) => *plan = Some(*p),
                    (Some(p), patch) => fits &= patch.apply(p),
                    (None, _) => fits = false,
                }
            }
        };
        let before = self.plan_now().ok().map(|p| (p.title, p.stage));
        if r.live.borrow().is_some() {
            apply(&mut r.live.borrow_mut());
        } else {
            self.plan.update(apply);
        }
        if let Some((heads, applied)) = last {
            *r.heads.borrow_mut() = heads;
            r.acked.set(applied);
        }
        if !fits {
            self.tell(&ToWorker::Whole(doc));
            return;
        }
        if first {
            perf::record("open-read", started);
            perf::record("worker-open", r.opened_at.get());
        }
        if self.opening.get_untracked() != Opening::Ready {
            self.opening.set(Opening::Ready);
        }
        let now = self.plan_now().ok();
        if let Some(p) = &now {
            if before != Some((p.title.clone(), p.stage)) {
                self.remember(&doc, p);
            }
        }
        if let Some(start) = r.remote_since.take() {
            request_animation_frame(move || perf::record("merge", start));
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
    /// the rest of the page catches up when typing pauses. The operation's number, for
    /// the box to know when the page's plan includes it ([`Model::acked`]).
    pub fn edit_text(&self, field: &TextField, was: &str, text: &str) -> Option<u64> {
        let r = self.refresh.get_value();
        r.typed_at.set(perf::now());
        // Typing faster than the worker applies it: the keystrokes not sent yet go as one.
        let joined = match r.pending.borrow_mut().as_mut() {
            Some((
                seq,
                PlanOp::SetText {
                    field: f, text: t, ..
                },
            )) if f == field => {
                *t = text.to_string();
                Some(*seq)
            }
            _ => None,
        };
        joined.or_else(|| {
            self.apply(PlanOp::SetText {
                field: field.clone(),
                was: was.to_string(),
                text: text.to_string(),
            })
            .then(|| r.sent.get())
        })
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
        let Some(doc) = self.doc.get_untracked() else {
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
        let Some(worker) = self.worker.get_value() else {
            self.problem.set(Some(
                "This page is still starting, so that change was not made: try again in a moment."
                    .into(),
            ));
            return false;
        };
        let r = self.refresh.get_value();
        let seq = r.sent.get() + 1;
        r.sent.set(seq);
        // In order: what waits goes first; a text op waits while another is on its way.
        self.send_pending(&worker);
        let typing = matches!(op, PlanOp::SetText { .. });
        if typing && r.sent_to_worker.get() > r.worker_applied.get() {
            *r.pending.borrow_mut() = Some((seq, op));
        } else {
            r.sent_to_worker.set(seq);
            worker.send(&ToWorker::Apply { doc, seq, op });
        }
        if !self.saving.get_untracked() {
            self.saving.set(true);
        }
        true
    }

    /// Sends the operation that waited for the worker, if one did.
    fn send_pending(&self, worker: &SyncWorker) {
        let r = self.refresh.get_value();
        let (Some((seq, op)), Some(doc)) =
            (r.pending.borrow_mut().take(), self.doc.get_untracked())
        else {
            return;
        };
        r.sent_to_worker.set(seq);
        worker.send(&ToWorker::Apply { doc, seq, op });
    }

    /// The number of my last operation the page's plan includes (see
    /// [`Model::edit_text`]).
    pub fn acked(&self) -> u64 {
        self.refresh.get_value().acked.get()
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
