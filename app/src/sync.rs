//! The browser side of sync: the shared sync core driven over the browser's WebSocket.

use plansync_shared::{ConnId, DocumentId, Effect, Event, Hub, HubConfig, PeerId, Plan, PlanDoc};
use rand::{rngs::StdRng, RngCore, SeedableRng};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};

/// What the connection tells the view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Notice {
    /// The server answered the handshake.
    Online,
    /// The socket closed; it will retry.
    Offline,
    /// A document changed.
    Changed(DocumentId),
    /// The server does not have a document.
    Unavailable(DocumentId),
}

struct Handlers {
    _open: Closure<dyn FnMut(web_sys::Event)>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(web_sys::Event)>,
}

struct Inner {
    hub: RefCell<Hub>,
    url: String,
    socket: RefCell<Option<(WebSocket, Handlers)>>,
    conn: Cell<u64>,
    closed: Cell<bool>,
    notify: Box<dyn Fn(Notice)>,
}

/// A live connection to the server's `/sync`, reconnecting by itself until closed.
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

/// `ws(s)://<this host>/sync`
pub fn sync_url() -> String {
    let loc = web_sys::window().expect("window").location();
    let scheme = if loc.protocol().unwrap_or_default() == "https:" {
        "wss"
    } else {
        "ws"
    };
    format!("{scheme}://{}/sync", loc.host().unwrap_or_default())
}

impl Connection {
    /// Opens the connection; `notify` hears about status and document changes.
    pub fn open(url: String, notify: impl Fn(Notice) + 'static) -> Self {
        let mut r = rng();
        let peer = PeerId(format!("plansync-app-{:016x}", r.next_u64()));
        let inner = Rc::new(Inner {
            hub: RefCell::new(Hub::new(HubConfig::client(peer), &mut r)),
            url,
            socket: RefCell::new(None),
            conn: Cell::new(0),
            closed: Cell::new(false),
            notify: Box::new(notify),
        });
        connect(&inner);
        Self { inner }
    }

    /// Asks the server for a document.
    pub fn find(&self, doc: DocumentId) {
        handle(&self.inner, Event::Find { doc });
    }

    /// Our replica of a plan, read into typed values.
    pub fn plan(&self, doc: &DocumentId) -> Option<Plan> {
        let hub = self.inner.hub.borrow();
        if !hub.has_content(doc) {
            return None;
        }
        let d = hub.document(doc)?.clone();
        PlanDoc::from_automerge(d).ok()?.read().ok()
    }

    /// Closes the socket and stops reconnecting.
    pub fn close(&self) {
        self.inner.closed.set(true);
        if let Some((ws, _)) = self.inner.socket.borrow_mut().take() {
            let _ = ws.close();
        }
    }
}

fn handle(inner: &Rc<Inner>, event: Event) {
    let effects = inner.hub.borrow_mut().handle(now(), event);
    for effect in effects {
        match effect {
            Effect::Send { frame, .. } => {
                if let Some((ws, _)) = inner.socket.borrow().as_ref() {
                    let _ = ws.send_with_u8_array(&frame);
                }
            }
            Effect::Ready { .. } => (inner.notify)(Notice::Online),
            Effect::Changed { doc } => (inner.notify)(Notice::Changed(doc)),
            Effect::Unavailable { doc } => (inner.notify)(Notice::Unavailable(doc)),
            Effect::Warn { message, .. } => web_sys::console::warn_1(&message.into()),
            _ => {}
        }
    }
}

fn connect(inner: &Rc<Inner>) {
    if inner.closed.get() {
        return;
    }
    let Ok(ws) = WebSocket::new(&inner.url) else {
        retry_later(Rc::downgrade(inner));
        return;
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let conn = ConnId(inner.conn.get() + 1);
    inner.conn.set(conn.0);
    let weak = Rc::downgrade(inner);
    let w = weak.clone();
    let open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(inner) = w.upgrade() {
            handle(&inner, Event::Connected { conn, dialer: true });
        }
    });
    let w = weak.clone();
    let message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let (Some(inner), Ok(buf)) = (w.upgrade(), e.data().dyn_into::<js_sys::ArrayBuffer>()) {
            handle(
                &inner,
                Event::Received {
                    conn,
                    frame: js_sys::Uint8Array::new(&buf).to_vec(),
                },
            );
        }
    });
    let w = weak;
    let close = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(inner) = w.upgrade() {
            handle(&inner, Event::Disconnected { conn });
            (inner.notify)(Notice::Offline);
            retry_later(Rc::downgrade(&inner));
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

fn retry_later(weak: Weak<Inner>) {
    let cb = Closure::once_into_js(move || {
        if let Some(inner) = weak.upgrade() {
            connect(&inner);
        }
    });
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 2000);
    }
}
