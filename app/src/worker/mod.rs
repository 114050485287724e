//! The sync worker: the plan's automerge document, the sync core over the WebSocket and
//! this browser's copy in IndexedDB, off the page's main thread (a dedicated worker per
//! page: see the README). The page sends plan operations and gets the typed plan and
//! patches ([`protocol`]); loading a large plan or merging a burst of remote changes
//! happens here while the page goes on answering.

pub mod link;
pub mod protocol;

use crate::store::Store;
use crate::sync::{Connection, Notice};
use plansync_shared::{DocumentId, Plan};
use protocol::{FromWorker, ToWorker};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// The plan the page has open, as the worker keeps it for the page.
struct Open {
    doc: DocumentId,
    /// The typed plan the page's copy follows (`None` until read).
    plan: Option<Plan>,
    /// The page's last operation applied.
    applied: u64,
    /// Whether a peer's change came since the last patch.
    remote: bool,
    /// Whether a patch is due at the next turn.
    due: bool,
    /// The unsynced count last told.
    unsynced: Option<Option<usize>>,
    /// Whether the plan is here (loaded, or come from the server).
    ready: bool,
    /// Operations that came before it was (typed while it loads), in order.
    early_ops: Vec<(u64, plansync_shared::PlanOp)>,
    /// When the page asked for it (for the benchmark's timings).
    asked_at: f64,
    /// The plan the page shows, until the worker sends it one.
    shown: Option<Shown>,
}

/// A plan the page shows that the worker did not send it.
struct Shown {
    /// The heads it was read at.
    heads: Vec<String>,
    /// Whether this browser kept it (else it is the server's reading, to be kept).
    kept: bool,
}

/// The worker's state: one per worker.
struct Worker {
    scope: DedicatedWorkerGlobalScope,
    store: RefCell<Option<Store>>,
    conn: RefCell<Option<Connection>>,
    open: RefCell<Option<Open>>,
    /// Messages that came before the store was open.
    early: RefCell<Option<Vec<ToWorker>>>,
    /// When the page asked to connect, until the link is up (for the benchmark's timings).
    dialed_at: std::cell::Cell<Option<f64>>,
    /// Bumped by every patch; the plan's typed values are kept once it stays put.
    kept: std::cell::Cell<u64>,
}

/// How long the plan must stay unchanged before its typed values are kept for a quick start.
const KEEP_VIEW_AFTER_MS: i32 = 1_500;

/// Starts the worker (called by `worker.js` once the module is loaded).
#[wasm_bindgen]
pub fn worker_main() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let to_page = scope.clone();
    crate::perf::send_to(move |name, start, end| {
        let m = FromWorker::Perf {
            name: name.to_string(),
            start,
            end,
        };
        if let Ok(text) = serde_json::to_string(&m) {
            let _ = to_page.post_message(&JsValue::from_str(&text));
        }
    });
    crate::perf::record("worker-boot", 0.0);
    let worker = Rc::new(Worker {
        scope: scope.clone(),
        store: RefCell::new(None),
        conn: RefCell::new(None),
        open: RefCell::new(None),
        early: RefCell::new(Some(Vec::new())),
        dialed_at: std::cell::Cell::new(None),
        kept: std::cell::Cell::new(0),
    });
    let w = worker.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let Some(text) = e.data().as_string() else {
            return;
        };
        match serde_json::from_str::<ToWorker>(&text) {
            Ok(m) => w.receive(m),
            Err(e) => web_sys::console::warn_1(&format!("sync worker: {e}").into()),
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    wasm_bindgen_futures::spawn_local(async move {
        let started = crate::perf::now();
        let store = Store::open().await;
        crate::perf::record("worker-store", started);
        match store {
            Ok(s) => *worker.store.borrow_mut() = Some(s),
            Err(e) => worker.post(&FromWorker::StoreFailed(e.0)),
        }
        let early = worker.early.borrow_mut().take().unwrap_or_default();
        for m in early {
            worker.receive(m);
        }
    });
}

impl Worker {
    fn post(&self, m: &FromWorker) {
        if let Ok(text) = serde_json::to_string(m) {
            let _ = self.scope.post_message(&JsValue::from_str(&text));
        }
    }

    fn conn(&self) -> Option<Connection> {
        self.conn.borrow().clone()
    }

    fn receive(self: &Rc<Self>, m: ToWorker) {
        if let Some(early) = self.early.borrow_mut().as_mut() {
            early.push(m);
            return;
        }
        match m {
            ToWorker::Connect(url) => match self.conn() {
                Some(c) => c.set_url(url),
                None => {
                    self.dialed_at.set(Some(crate::perf::now()));
                    let me = Rc::downgrade(self);
                    let store = self.store.borrow().clone();
                    let c = Connection::open(url, store, move |n| {
                        if let Some(me) = me.upgrade() {
                            me.notice(n);
                        }
                    });
                    *self.conn.borrow_mut() = Some(c);
                }
            },
            ToWorker::Online => {
                if let Some(c) = self.conn() {
                    c.dial_now();
                }
            }
            ToWorker::Open { doc, shown } => self.open(doc, shown),
            ToWorker::Shown { doc, heads } => {
                if let Some(o) = self.open.borrow_mut().as_mut() {
                    if o.doc == doc && o.plan.is_none() {
                        o.shown = Some(Shown { heads, kept: false });
                    }
                }
            }
            ToWorker::Apply { doc, seq, op } => {
                let Some(c) = self.conn() else { return };
                if let Some(o) = self.open.borrow_mut().as_mut().filter(|o| o.doc == doc) {
                    if !o.ready {
                        // Typed while the plan loads: made once it is here.
                        o.early_ops.push((seq, op));
                        return;
                    }
                    o.applied = seq;
                }
                if let Err(e) = c.edit(&doc, |p, _| op.apply(p)) {
                    self.post(&FromWorker::Refused {
                        seq,
                        why: e.to_string(),
                    });
                }
                self.post(&FromWorker::Applied(seq));
                // Nothing to store (refused, or no change): it is as stored as it gets.
                if c.stored(&doc) {
                    self.tell_stored(doc);
                }
            }
            ToWorker::Ephemeral { doc, data } => {
                if let Some(c) = self.conn() {
                    c.send_ephemeral(doc, data);
                }
            }
            ToWorker::PlanAt { req, doc, heads } => {
                let result = match self.conn().and_then(|c| c.plan_at(&doc, &heads)) {
                    None => Err("This browser has not received that version of the plan yet: wait until it is online and try again.".to_string()),
                    Some(r) => r
                        .map(Box::new)
                        .map_err(|e| format!("That version could not be read: {e}")),
                };
                self.post(&FromWorker::PlanAt { req, result });
            }
            ToWorker::History { req, doc } => {
                let result = match self.conn().and_then(|c| c.history(&doc)) {
                    None => Err("the plan is not open".to_string()),
                    Some(r) => r.map_err(|e| e.to_string()),
                };
                self.post(&FromWorker::History { req, result });
            }
            ToWorker::Whole(doc) => {
                if let Some(o) = self.open.borrow_mut().as_mut().filter(|o| o.doc == doc) {
                    o.plan = None;
                    o.due = false;
                }
                self.patch_now();
            }
        }
    }

    /// Opens a plan for the page: from this browser's copy, else from the server.
    fn open(self: &Rc<Self>, doc: DocumentId, shown: Option<Vec<String>>) {
        *self.open.borrow_mut() = Some(Open {
            doc,
            plan: None,
            applied: 0,
            remote: false,
            due: false,
            unsynced: None,
            ready: false,
            early_ops: Vec::new(),
            asked_at: crate::perf::now(),
            shown: shown.map(|heads| Shown { heads, kept: true }),
        });
        let Some(conn) = self.conn() else { return };
        let store = self.store.borrow().clone();
        let me = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if !conn.has(&doc) {
                let local = match store {
                    Some(s) => s.load(&doc).await.unwrap_or_else(|e| {
                        me.post(&FromWorker::StoreFailed(e.0));
                        None
                    }),
                    None => None,
                };
                conn.open_doc(doc, local);
            }
            if !conn.has(&doc) || me.open.borrow().as_ref().map(|o| o.doc) != Some(doc) {
                // From the server: the first change read brings the whole plan.
                return;
            }
            me.ready(doc);
            me.patch_now();
        });
    }

    fn notice(self: &Rc<Self>, n: Notice) {
        match n {
            Notice::Link(l) => {
                if l == crate::sync::Link::Online {
                    if let Some(t) = self.dialed_at.take() {
                        crate::perf::record("worker-link", t);
                    }
                }
                self.post(&FromWorker::Link(l));
                self.tell_unsynced();
            }
            Notice::Changed { doc, remote } => {
                let arrived = self
                    .open
                    .borrow()
                    .as_ref()
                    .is_some_and(|o| o.doc == doc && !o.ready)
                    && self.conn().is_some_and(|c| c.has(&doc));
                if arrived {
                    if let Some(o) = self.open.borrow().as_ref() {
                        crate::perf::record("worker-arrived", o.asked_at);
                    }
                    self.ready(doc);
                }
                let schedule = match self.open.borrow_mut().as_mut().filter(|o| o.doc == doc) {
                    Some(o) => {
                        o.remote |= remote;
                        !std::mem::replace(&mut o.due, true)
                    }
                    None => false,
                };
                if schedule {
                    // One patch for a burst of changes: at the next turn.
                    let me = Rc::downgrade(self);
                    let cb = Closure::once_into_js(move || {
                        if let Some(me) = me.upgrade() {
                            me.patch_now();
                        }
                    });
                    let _ = self
                        .scope
                        .set_timeout_with_callback_and_timeout_and_arguments_0(
                            cb.unchecked_ref(),
                            0,
                        );
                }
            }
            Notice::Synced(_) => self.tell_unsynced(),
            Notice::Stored(doc) => self.tell_stored(doc),
            Notice::Unavailable(doc) => self.post(&FromWorker::Unavailable(doc)),
            Notice::StoreFailed(e) => self.post(&FromWorker::StoreFailed(e)),
            Notice::Ephemeral { doc, sender, data } => {
                self.post(&FromWorker::Ephemeral { doc, sender, data })
            }
        }
    }

    /// The open plan is here: the operations typed meanwhile are made, in order.
    fn ready(self: &Rc<Self>, doc: DocumentId) {
        let ops = match self.open.borrow_mut().as_mut().filter(|o| o.doc == doc) {
            Some(o) => {
                o.ready = true;
                std::mem::take(&mut o.early_ops)
            }
            None => return,
        };
        for (seq, op) in ops {
            self.receive(ToWorker::Apply { doc, seq, op });
        }
    }

    /// Sends the page what changed in the open plan since the last patch (the whole plan
    /// if it has none yet).
    fn patch_now(self: &Rc<Self>) {
        let Some(conn) = self.conn() else { return };
        let mut open = self.open.borrow_mut();
        let Some(o) = open.as_mut() else { return };
        o.due = false;
        if !conn.has(&o.doc) {
            return;
        }
        let doc = o.doc;
        let current = match o.shown.take() {
            Some(s) if o.plan.is_none() && conn.track_from(&doc, &s.heads) => Some(s.kept),
            _ => None,
        };
        if let Some(kept) = current {
            // The page shows the plan now: keep a copy to patch from, and say so.
            let started = crate::perf::now();
            o.plan = conn.plan(&doc).and_then(Result::ok);
            crate::perf::record("worker-read", started);
            drop(open);
            self.post(&FromWorker::Current(doc));
            if !kept {
                self.keep_view_after(0);
            }
            self.tell_unsynced();
            return;
        }
        let (started, whole) = (crate::perf::now(), o.plan.is_none());
        let patch = match o.plan.as_mut() {
            Some(plan) => conn.patch_plan(&doc, plan),
            None => conn.plan_tracked(&doc).map(|r| {
                crate::perf::record("worker-read", started);
                r.map(|p| {
                    o.plan = Some(p.clone());
                    Some(plansync_shared::PlanPatch::Whole(Box::new(p)))
                })
            }),
        };
        let (applied, remote) = (o.applied, std::mem::take(&mut o.remote));
        drop(open);
        match patch {
            None | Some(Ok(None)) => {}
            Some(Ok(Some(patch))) => {
                let posted = crate::perf::now();
                self.post(&FromWorker::Patch {
                    doc,
                    patch,
                    heads: conn.plan_heads(&doc).unwrap_or_default(),
                    applied,
                    remote,
                });
                if whole {
                    crate::perf::record("worker-json", posted);
                    crate::perf::record("worker-whole", started);
                }
                self.keep_view_after(if whole { 0 } else { KEEP_VIEW_AFTER_MS });
            }
            Some(Err(e)) => {
                if let Some(o) = self.open.borrow_mut().as_mut() {
                    o.plan = None;
                }
                self.post(&FromWorker::Unreadable {
                    doc,
                    why: e.to_string(),
                })
            }
        }
        self.tell_unsynced();
    }

    /// Keeps the open plan's typed values in this browser, with the heads they were read
    /// at, once it has stayed unchanged for `ms`, so it opens at once next time.
    fn keep_view_after(self: &Rc<Self>, ms: i32) {
        let mine = self.kept.get().wrapping_add(1);
        self.kept.set(mine);
        let me = Rc::downgrade(self);
        let cb = Closure::once_into_js(move || {
            let Some(me) = me.upgrade() else { return };
            let (Some(conn), Some(store)) = (me.conn(), me.store.borrow().clone()) else {
                return;
            };
            let record = match me.open.borrow().as_ref() {
                Some(Open {
                    doc,
                    plan: Some(plan),
                    ..
                }) if me.kept.get() == mine => conn
                    .plan_heads(doc)
                    .and_then(|heads| crate::store::view_record(&heads, plan))
                    .map(|r| (*doc, r)),
                _ => None,
            };
            if let Some((doc, record)) = record {
                wasm_bindgen_futures::spawn_local(async move {
                    // Only a quicker start is lost if this fails; the plan itself is kept.
                    let _ = store.save_view(&doc, &record).await;
                });
            }
        });
        let _ = self
            .scope
            .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms);
    }

    /// Tells the page its operations so far are stored, once every persist has completed.
    fn tell_stored(&self, doc: DocumentId) {
        let up_to = match self.open.borrow().as_ref() {
            Some(o) if o.doc == doc => o.applied,
            _ => return,
        };
        if self.conn().is_some_and(|c| c.stored(&doc)) {
            self.post(&FromWorker::Stored { doc, up_to });
        }
    }

    fn tell_unsynced(&self) {
        let Some(conn) = self.conn() else { return };
        let mut open = self.open.borrow_mut();
        let Some(o) = open.as_mut() else { return };
        let count = conn.unsynced(&o.doc);
        if o.unsynced != Some(count) {
            o.unsynced = Some(count);
            let doc = o.doc;
            drop(open);
            self.post(&FromWorker::Unsynced { doc, count });
        }
    }
}
