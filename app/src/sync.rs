//! The browser side of sync: the shared sync core driven over the browser's WebSocket,
//! persisting every change to IndexedDB and reconnecting by itself with backoff and jitter.

use crate::store::Store;
use plansync_shared::automerge::{AutoCommit, ChangeHash};
use plansync_shared::{
    plan_patch, read_plan, read_plan_tracked, ConnId, DocumentId, Effect, Event, Hub, HubConfig,
    PeerId, PersistId, Plan, PlanDoc, PlanPatch,
};
use rand::{rngs::StdRng, Rng, RngCore, SeedableRng};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};

/// Whether we can reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Link {
    /// Dialing.
    Connecting,
    /// The server answered the handshake.
    Online,
    /// The socket closed; it will retry.
    Offline,
    /// No plan joined in this browser: there is nothing to sync, so it does not dial.
    NotJoined,
}

/// What the connection tells the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// The link changed.
    Link(Link),
    /// A document changed; `remote` when the change came from the server.
    Changed {
        /// The document.
        doc: DocumentId,
        /// Whether a peer made it.
        remote: bool,
    },
    /// The server heads for a document may have moved.
    Synced(DocumentId),
    /// The server does not have a document.
    Unavailable(DocumentId),
    /// Saving to this browser failed.
    StoreFailed(String),
    /// Every change made to a document so far is stored in this browser.
    Stored(DocumentId),
    /// An ephemeral message (presence) from another peer of a document.
    Ephemeral {
        /// The document.
        doc: DocumentId,
        /// The peer that sent it.
        sender: String,
        /// Its payload.
        data: Vec<u8>,
    },
}

struct Handlers {
    _open: Closure<dyn FnMut(web_sys::Event)>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(web_sys::Event)>,
}

struct Inner {
    hub: RefCell<Hub>,
    rng: RefCell<StdRng>,
    url: RefCell<String>,
    store: Option<Store>,
    socket: RefCell<Option<(WebSocket, Handlers)>>,
    conn: Cell<u64>,
    ready: Cell<Option<ConnId>>,
    attempts: Cell<u32>,
    server_heads: RefCell<HashMap<DocumentId, Vec<ChangeHash>>>,
    /// Chunks waiting for the write under way to finish, in the order asked.
    to_write: RefCell<Vec<(PersistId, DocumentId, Vec<u8>)>>,
    /// Whether a write is under way.
    writing: Cell<bool>,
    notify: Box<dyn Fn(Notice)>,
}

/// A live connection to the server's `/sync`, reconnecting by itself for the page's life.
#[derive(Clone)]
pub struct Connection {
    inner: Rc<Inner>,
}

/// Randomness from the browser's crypto.
pub fn rng() -> StdRng {
    let mut seed = [0u8; 32];
    getrandom_03::fill(&mut seed).expect("the browser provides crypto.getRandomValues");
    StdRng::from_seed(seed)
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// `ws(s)://<this host>/sync?token=...` with every participant token I hold.
pub fn sync_url() -> String {
    let loc = web_sys::window().expect("window").location();
    let scheme = if loc.protocol().unwrap_or_default() == "https:" {
        "wss"
    } else {
        "ws"
    };
    format!(
        "{scheme}://{}/sync?token={}",
        loc.host().unwrap_or_default(),
        crate::membership::tokens().join(",")
    )
}

/// How long to wait before reconnect attempt `attempt` (0-based): exponential from a quarter
/// second up to five seconds, with jitter so that a room of laptops does not retry in step.
fn backoff_ms(attempt: u32, rng: &mut impl Rng) -> i32 {
    let ceiling = (250u32 << attempt.min(5)).min(5000);
    rng.random_range(ceiling / 2..=ceiling) as i32
}

impl Connection {
    /// Opens the connection; `notify` hears about the link and document changes.
    pub fn open(url: String, store: Option<Store>, notify: impl Fn(Notice) + 'static) -> Self {
        let mut r = rng();
        let peer = PeerId(format!("plansync-app-{:016x}", r.next_u64()));
        let mut config = HubConfig::client(peer);
        config.persist = store.is_some();
        let inner = Rc::new(Inner {
            hub: RefCell::new(Hub::new(config, &mut r)),
            rng: RefCell::new(r),
            url: RefCell::new(url),
            store,
            socket: RefCell::new(None),
            conn: Cell::new(0),
            ready: Cell::new(None),
            attempts: Cell::new(0),
            server_heads: RefCell::new(HashMap::new()),
            to_write: RefCell::new(Vec::new()),
            writing: Cell::new(false),
            notify: Box::new(notify),
        });
        connect(&inner);
        let weak = Rc::downgrade(&inner);
        // Back on the network: try at once rather than at the next backoff.
        let online = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                if inner.ready.get().is_none() && inner.socket.borrow().is_none() {
                    connect(&inner);
                }
            }
        });
        if let Some(w) = web_sys::window() {
            let _ = w.add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
        }
        online.forget();
        Self { inner }
    }

    /// Dials a new address from now on (new tokens): drops the socket and reconnects at once.
    pub fn set_url(&self, url: String) {
        if *self.inner.url.borrow() == url {
            return;
        }
        *self.inner.url.borrow_mut() = url;
        let old = self.inner.socket.borrow_mut().take();
        if let Some((ws, _handlers)) = old {
            ws.set_onclose(None);
            let _ = ws.close();
            handle(
                &self.inner,
                Event::Disconnected {
                    conn: ConnId(self.inner.conn.get()),
                },
                false,
            );
            self.inner.ready.set(None);
        }
        self.inner.attempts.set(0);
        connect(&self.inner);
    }

    /// Dials at once if not connected (back on the network), rather than at the next
    /// backoff.
    pub fn dial_now(&self) {
        if self.inner.ready.get().is_none() && self.inner.socket.borrow().is_none() {
            connect(&self.inner);
        }
    }

    /// Brings `plan` (from [`Connection::plan_tracked`] or this) up to date with our
    /// replica and says what changed (`None`: nothing), for the page's copy to follow.
    pub fn patch_plan(
        &self,
        doc: &DocumentId,
        plan: &mut Plan,
    ) -> Option<Result<Option<PlanPatch>, plansync_shared::Error>> {
        let mut hub = self.inner.hub.borrow_mut();
        if !hub.has_content(doc) {
            return None;
        }
        Some(plan_patch(plan, hub.document_mut(doc)?))
    }

    /// Starts syncing a plan: from this browser's copy if there is one, else from the server.
    pub fn open_doc(&self, doc: DocumentId, local: Option<AutoCommit>) {
        match local {
            Some(document) => handle(
                &self.inner,
                Event::Restore {
                    doc,
                    document: Box::new(document),
                },
                false,
            ),
            None => handle(&self.inner, Event::Find { doc }, false),
        }
    }

    /// Whether we hold a plan's content.
    pub fn has(&self, doc: &DocumentId) -> bool {
        self.inner.hub.borrow().has_content(doc)
    }

    /// Our replica of a plan, read into typed values (the page's own copy is kept by
    /// [`Connection::plan_tracked`] and [`Connection::patch_plan`]; this leaves it alone).
    pub fn plan(&self, doc: &DocumentId) -> Option<Result<Plan, plansync_shared::Error>> {
        let hub = self.inner.hub.borrow();
        if !hub.has_content(doc) {
            return None;
        }
        Some(read_plan(hub.document(doc)?))
    }

    /// Our replica of a plan, read whole into typed values; from now on its changes are
    /// recorded so [`Connection::patch_plan`] can bring the result up to date cheaply.
    pub fn plan_tracked(&self, doc: &DocumentId) -> Option<Result<Plan, plansync_shared::Error>> {
        let mut hub = self.inner.hub.borrow_mut();
        if !hub.has_content(doc) {
            return None;
        }
        Some(read_plan_tracked(hub.document_mut(doc)?))
    }

    /// The heads (hex) the typed plan kept by [`Connection::patch_plan`] was last brought
    /// up to, if it is kept.
    pub fn plan_heads(&self, doc: &DocumentId) -> Option<Vec<String>> {
        let hub = self.inner.hub.borrow();
        let cursor = hub.document(doc)?.diff_cursor();
        (!cursor.is_empty()).then(|| cursor.iter().map(ToString::to_string).collect())
    }

    /// Whether our replica of a plan is at exactly `heads` (hex): then a typed plan read at
    /// `heads` is the plan now, and its changes from here on are recorded as after
    /// [`Connection::plan_tracked`].
    pub fn track_from(&self, doc: &DocumentId, heads: &[String]) -> bool {
        let mut hub = self.inner.hub.borrow_mut();
        let Some(d) = hub.document_mut(doc) else {
            return false;
        };
        let mut now: Vec<String> = d.get_heads().iter().map(ToString::to_string).collect();
        let mut kept = heads.to_vec();
        now.sort();
        kept.sort();
        if now != kept || now.is_empty() {
            return false;
        }
        d.update_diff_cursor();
        true
    }

    /// The history of our replica of a plan, newest first (works offline).
    pub fn history(
        &self,
        doc: &DocumentId,
    ) -> Option<Result<Vec<plansync_shared::HistoryEntry>, plansync_shared::Error>> {
        let mut copy = self.inner.hub.borrow().document(doc)?.clone();
        Some(plansync_shared::history(&mut copy))
    }

    /// A plan as it was at `heads`, if this browser holds those changes.
    pub fn plan_at(
        &self,
        doc: &DocumentId,
        heads: &[String],
    ) -> Option<Result<Plan, plansync_shared::Error>> {
        let heads: Vec<ChangeHash> = heads
            .iter()
            .map(|h| h.parse().ok())
            .collect::<Option<_>>()?;
        let mut hub = self.inner.hub.borrow_mut();
        let document = hub.document_mut(doc)?;
        if heads
            .iter()
            .any(|h| document.get_change_by_hash(h).is_none())
        {
            return None;
        }
        Some(
            document
                .fork_at(&heads)
                .map_err(plansync_shared::Error::from)
                .and_then(|d| read_plan(&d)),
        )
    }

    /// Changes a plan through the shared plan operations, stores and syncs the change.
    pub fn edit<T>(
        &self,
        doc: &DocumentId,
        f: impl FnOnce(&mut PlanDoc, &mut StdRng) -> plansync_shared::Result<T>,
    ) -> plansync_shared::Result<T> {
        let result = {
            let mut hub = self.inner.hub.borrow_mut();
            let mut rng = self.inner.rng.borrow_mut();
            let document = hub.document_mut(doc).ok_or_else(|| {
                plansync_shared::Error::Invalid("this plan is not open yet".into())
            })?;
            let commit = plansync_shared::Commit {
                time_secs: Some((js_sys::Date::now() / 1000.0) as i64),
                message: None,
            };
            PlanDoc::change_with(document, commit, |p| f(p, &mut rng))?
        };
        handle(&self.inner, Event::LocalChange { doc: *doc }, false);
        Ok(result)
    }

    /// Sends an ephemeral payload (presence) about a document to its peers, if online.
    pub fn send_ephemeral(&self, doc: DocumentId, data: Vec<u8>) {
        if self.inner.ready.get().is_some() {
            handle(&self.inner, Event::SendEphemeral { doc, data }, false);
        }
    }

    /// Whether every change made to a plan so far is stored in this browser.
    pub fn stored(&self, doc: &DocumentId) -> bool {
        !self.inner.hub.borrow().storing(doc)
    }

    /// How many changes of ours the server has not yet got, by the last heads it told us;
    /// `None` if it has told us nothing about this plan yet.
    pub fn unsynced(&self, doc: &DocumentId) -> Option<usize> {
        let mut hub = self.inner.hub.borrow_mut();
        if let Some(conn) = self.inner.ready.get() {
            if let Some(heads) = hub.remote_heads(conn, doc) {
                self.inner.server_heads.borrow_mut().insert(*doc, heads);
            }
        }
        let heads = self.inner.server_heads.borrow().get(doc).cloned()?;
        Some(plansync_shared::changes_beyond(
            hub.document_mut(doc)?,
            &heads,
        ))
    }
}

/// Sends a frame on connection `conn` if it is still the open socket.
fn send(inner: &Inner, conn: ConnId, frame: &[u8]) {
    if inner.conn.get() != conn.0 {
        return;
    }
    if let Some((ws, _)) = inner.socket.borrow().as_ref() {
        let _ = ws.send_with_u8_array(frame);
    }
}

/// Writes a chunk to IndexedDB and tells the core when it is there (the core holds back
/// the frames that advertise it until then: persist before send). Chunks asked for while a
/// write is under way go together in the next one (a burst of edits is a few transactions,
/// not one each). A failed write is shown to the user; the server is then the other copy.
fn persist(inner: &Rc<Inner>, store: Store, id: PersistId, doc: DocumentId, chunk: Vec<u8>) {
    inner.to_write.borrow_mut().push((id, doc, chunk));
    if inner.writing.replace(true) {
        return;
    }
    let weak = Rc::downgrade(inner);
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            let batch = match weak.upgrade() {
                Some(inner) => std::mem::take(&mut *inner.to_write.borrow_mut()),
                None => return,
            };
            if batch.is_empty() {
                if let Some(inner) = weak.upgrade() {
                    inner.writing.set(false);
                }
                return;
            }
            let chunks: Vec<(&DocumentId, &[u8])> =
                batch.iter().map(|(_, d, c)| (d, c.as_slice())).collect();
            let result = store.append_all(&chunks).await;
            let Some(inner) = weak.upgrade() else { return };
            let result = result.map_err(|e| {
                (inner.notify)(Notice::StoreFailed(e.0.clone()));
                e.0
            });
            let ids = batch.iter().map(|(id, _, _)| *id).collect();
            handle(&inner, Event::Persisted { ids, result }, false);
            let mut docs: Vec<DocumentId> = batch.iter().map(|(_, d, _)| *d).collect();
            docs.dedup();
            for doc in docs {
                if !inner.hub.borrow().storing(&doc) {
                    (inner.notify)(Notice::Stored(doc));
                }
            }
        }
    });
}

fn handle(inner: &Rc<Inner>, event: Event, remote: bool) {
    let effects = inner.hub.borrow_mut().handle(now(), event);
    for effect in effects {
        match effect {
            Effect::Send { conn, frame, .. } => send(inner, conn, &frame),
            Effect::Persist { id, doc, chunk, .. } => {
                if let Some(store) = inner.store.clone() {
                    persist(inner, store, id, doc, chunk);
                }
            }
            Effect::Ready { conn, .. } => {
                inner.ready.set(Some(conn));
                inner.attempts.set(0);
                (inner.notify)(Notice::Link(Link::Online));
            }
            Effect::Changed { doc } => (inner.notify)(Notice::Changed { doc, remote }),
            Effect::Unavailable { doc } => (inner.notify)(Notice::Unavailable(doc)),
            Effect::Warn { message, .. } => web_sys::console::warn_1(&message.into()),
            Effect::Ephemeral { doc, sender, data } => (inner.notify)(Notice::Ephemeral {
                doc,
                sender: sender.0,
                data,
            }),
            _ => {}
        }
    }
    if remote {
        let docs = inner.hub.borrow().documents();
        for doc in docs {
            (inner.notify)(Notice::Synced(doc));
        }
    }
}

fn connect(inner: &Rc<Inner>) {
    let url = inner.url.borrow().clone();
    if url.ends_with("token=") {
        (inner.notify)(Notice::Link(Link::NotJoined));
        return;
    }
    (inner.notify)(Notice::Link(Link::Connecting));
    let Ok(ws) = WebSocket::new(&url) else {
        retry_later(inner);
        return;
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let conn = ConnId(inner.conn.get() + 1);
    inner.conn.set(conn.0);
    let weak = Rc::downgrade(inner);
    let w = weak.clone();
    let open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(inner) = w.upgrade() {
            handle(&inner, Event::Connected { conn, dialer: true }, false);
        }
    });
    let w = weak.clone();
    let message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let (Some(inner), Ok(buf)) = (w.upgrade(), e.data().dyn_into::<js_sys::ArrayBuffer>()) {
            let frame = js_sys::Uint8Array::new(&buf).to_vec();
            let (t, big) = (crate::perf::now(), frame.len() > 64 * 1024);
            handle(&inner, Event::Received { conn, frame }, true);
            if big {
                crate::perf::record("worker-receive", t);
            }
        }
    });
    let w = weak;
    let close = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(inner) = w.upgrade() {
            handle(&inner, Event::Disconnected { conn }, false);
            inner.ready.set(None);
            inner.socket.borrow_mut().take();
            (inner.notify)(Notice::Link(Link::Offline));
            retry_later(&inner);
        }
    });
    ws.set_onopen(Some(open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(close.as_ref().unchecked_ref()));
    *inner.socket.borrow_mut() = Some((
        ws,
        Handlers {
            _open: open,
            _message: message,
            _close: close,
        },
    ));
}

fn retry_later(inner: &Rc<Inner>) {
    let attempt = inner.attempts.get();
    inner.attempts.set(attempt + 1);
    let delay = backoff_ms(attempt, &mut *inner.rng.borrow_mut());
    let weak: Weak<Inner> = Rc::downgrade(inner);
    let cb = Closure::once_into_js(move || {
        if let Some(inner) = weak.upgrade() {
            if inner.socket.borrow().is_none() {
                connect(&inner);
            }
        }
    });
    // On the page or in the sync worker.
    let global = js_sys::global();
    if let Some(w) = global.dyn_ref::<web_sys::Window>() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), delay);
    } else if let Some(w) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_five_seconds_with_jitter() {
        let mut r = StdRng::seed_from_u64(1);
        let first: Vec<i32> = (0..20).map(|_| backoff_ms(0, &mut r)).collect();
        assert!(first.iter().all(|&d| (125..=250).contains(&d)));
        assert!(first.iter().any(|&d| d != first[0]), "jittered");
        for attempt in 5..40 {
            let d = backoff_ms(attempt, &mut r);
            assert!((2500..=5000).contains(&d), "attempt {attempt}: {d}");
        }
    }
}
