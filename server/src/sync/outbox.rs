//! Each connection's outgoing queue: the document actors add frames and count their bytes,
//! the socket task takes them. A queue past its limits (a client that stopped reading) is
//! cut off at once, without waiting behind the frames it holds.

use super::engine::Wake;
use super::{lock, Grant, Limits};
use plansync_shared::ConnId;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use tokio::sync::{mpsc, Notify};

/// What the service sends to one connection's socket task.
#[derive(Debug)]
pub enum Outbound {
    /// A binary frame, and whom to tell once it is written (a sync message under flow
    /// control: its document's actor makes the peer's next one then).
    Frame(Vec<u8>, Option<Receipt>),
    /// Close the socket with this reason.
    Close(String),
}

/// What one connection's queue holds and how it is told to stop: the service adds frames
/// and counts their bytes; the socket task takes them. A queue past its limit (a client that
/// stopped reading) is cut off at once, without waiting behind the frames it holds.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    bytes: AtomicUsize,
    frames: AtomicUsize,
    /// Why the connection was cut off, once it is.
    cut: OnceLock<String>,
    wake: Notify,
}

impl Outbox {
    /// Resolves when the service cuts the connection off, with the reason.
    async fn cut_off(&self) -> String {
        self.wake.notified().await;
        self.wake.notify_one(); // keep it signalled for any later wait
        self.cut.get().cloned().unwrap_or_default()
    }
}

/// The receiving end of one connection's queue, held by its socket task.
#[derive(Debug)]
pub struct OutboundQueue {
    pub(super) rx: mpsc::UnboundedReceiver<Outbound>,
    pub(super) outbox: Arc<Outbox>,
}

impl OutboundQueue {
    /// The next thing to send: a frame, or a close (also when the queue was cut off);
    /// `None` when the service has let go of the connection.
    pub async fn recv(&mut self) -> Option<Outbound> {
        let Self { rx, outbox } = self;
        tokio::select! {
            biased;
            reason = outbox.cut_off() => Some(Outbound::Close(reason)),
            out = rx.recv() => {
                if let Some(Outbound::Frame(f, _)) = &out {
                    outbox.bytes.fetch_sub(f.len(), Ordering::Relaxed);
                    outbox.frames.fetch_sub(1, Ordering::Relaxed);
                }
                out
            }
        }
    }

    /// Resolves when the service cuts this connection off, with the reason.
    pub async fn cut_off(&self) -> String {
        self.outbox.cut_off().await
    }
}

/// The sending side of one connection's queue, held by every document actor it syncs.
#[derive(Debug, Clone)]
pub(super) struct Link {
    pub(super) outbound: mpsc::UnboundedSender<Outbound>,
    pub(super) outbox: Arc<Outbox>,
}

impl Link {
    /// Queues a frame; false if that would put the queue over its limits (the frame is then
    /// not queued). An empty queue always takes one frame, however large.
    pub(super) fn deliver(
        &self,
        frame: Vec<u8>,
        receipt: Option<Receipt>,
        limits: &Limits,
    ) -> bool {
        let bytes = self.outbox.bytes.load(Ordering::Relaxed);
        let frames = self.outbox.frames.load(Ordering::Relaxed);
        if frames > 0
            && (bytes + frame.len() > limits.max_queued_bytes || frames >= limits.max_queued_frames)
        {
            return false;
        }
        self.outbox.bytes.fetch_add(frame.len(), Ordering::Relaxed);
        self.outbox.frames.fetch_add(1, Ordering::Relaxed);
        let _ = self.outbound.send(Outbound::Frame(frame, receipt));
        true
    }

    /// Cuts the connection off: its socket task stops at once, dropping what is queued.
    pub(super) fn cut_off(&self, reason: String) {
        let _ = self.outbox.cut.set(reason);
        self.outbox.wake.notify_one();
    }
}

impl Link {
    /// A new connection's queue: the sending and the receiving side.
    pub(super) fn new() -> (Self, OutboundQueue) {
        let (outbound, rx) = mpsc::unbounded_channel();
        let outbox = Arc::new(Outbox::default());
        (
            Self {
                outbound,
                outbox: outbox.clone(),
            },
            OutboundQueue { rx, outbox },
        )
    }

    /// Bytes waiting to be sent.
    pub(super) fn queued_bytes(&self) -> usize {
        self.outbox.bytes.load(Ordering::Relaxed)
    }

    /// Asks the socket task to close with `reason` after what is queued.
    pub(super) fn close(&self, reason: String) {
        let _ = self.outbound.send(Outbound::Close(reason));
    }

    /// Queues a frame or, past the limits, cuts the connection off with a reason naming
    /// `grants`' participants in the log; false if it was cut off.
    pub(super) fn send_or_cut_off(
        &self,
        frame: Vec<u8>,
        receipt: Option<Receipt>,
        limits: &Limits,
        grants: &[Grant],
    ) -> bool {
        if self.deliver(frame, receipt, limits) {
            return true;
        }
        let queued = self.queued_bytes();
        let who: Vec<Option<i64>> = grants.iter().map(|g| g.participant.map(|p| p.0)).collect();
        tracing::warn!(participants = ?who, queued_bytes = queued, limit = limits.max_queued_bytes, "closing a connection that stopped reading: its queue is full");
        self.cut_off(format!("closed: {} MiB of messages were waiting for your device to read them (the limit is {} MiB); reconnect", queued >> 20, limits.max_queued_bytes >> 20));
        false
    }
}

/// Where the socket tasks report which connections' sync messages for one document were
/// written: the document's actor takes the list after each command it handles, and is woken
/// by the first report into an empty list.
#[derive(Debug)]
pub(super) struct Written {
    conns: Mutex<Vec<ConnId>>,
    wake: Weak<dyn Wake>,
}

impl Written {
    /// An empty list for the actor whose queue `wake` is.
    pub(super) fn new(wake: Weak<dyn Wake>) -> Arc<Self> {
        Arc::new(Self {
            conns: Mutex::new(Vec::new()),
            wake,
        })
    }

    /// The connections reported since the last look.
    pub(super) fn take(&self) -> Vec<ConnId> {
        std::mem::take(&mut *lock(&self.conns))
    }
}

/// A sync message's note to its document's actor that it was written to the socket.
#[derive(Debug)]
pub struct Receipt {
    conn: ConnId,
    to: Arc<Written>,
}

impl Receipt {
    /// A note that a message to `conn` was written, for the actor that keeps `to`.
    pub(super) fn new(conn: ConnId, to: Arc<Written>) -> Self {
        Self { conn, to }
    }

    /// Reports the message written. Never waits: the actor is woken and looks at the list
    /// in its next step.
    pub fn written(self) {
        let first = {
            let mut conns = lock(&self.to.conns);
            conns.push(self.conn);
            conns.len() == 1
        };
        if first {
            if let Some(actor) = self.to.wake.upgrade() {
                actor.wake();
            }
        }
    }
}
