//! [`SyncHandle`]: the server's way into the sync service, a pump between sockets and the
//! sync core. Every frame goes to one small front hub (the core's connections' hub:
//! handshakes, senders and grants checked), and each message it routes goes to its
//! document's actor (started on first use, stopped when idle), which is the only place that
//! document's sync state lives. Role changes and revocations reach every actor a connection
//! syncs.

mod access;
mod plans;

use super::actor::{self, Command, DocActor, Shared};
use super::engine::Pool;
use super::outbox::{Link, OutboundQueue};
use super::{lock, now_ms, Grant, Limits, PlanKind, ServiceError};
use crate::access::{ParticipantId, Role};
use crate::store::{Notice, PlanRow, Store};
use plansync_shared::{
    automerge::{AutoCommit, ChangeHash},
    decode_message, demo_plan, Attached, ConnId, DocumentId, Effect, Event, Hub, HubConfig,
    Message, NewPlan, PeerId, PlanDoc,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// A cheap handle to the sync service, shared by HTTP handlers and socket tasks.
#[derive(Clone)]
pub struct SyncHandle {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Shared,
    next_conn: AtomicU64,
    /// Answers the handshake of every connection, and `doc-unavailable` for documents a
    /// connection was not granted; it holds no document.
    front: Mutex<Hub>,
    conns: Mutex<HashMap<ConnId, ConnEntry>>,
}

impl Drop for Inner {
    /// The pool's threads stop, and the actors (which hold the registry) are let go.
    fn drop(&mut self) {
        self.shared.pool.close();
        lock(&self.shared.registry).clear();
    }
}

/// One open connection as the service sees it.
struct ConnEntry {
    link: Link,
    grants: Vec<Grant>,
    /// The documents whose actors know this connection.
    attached: BTreeSet<DocumentId>,
}

/// A granted document's message the front hub routed to that document's actor.
struct Routed {
    doc: DocumentId,
    message: Message,
    /// The connection as the actor must first learn of it.
    attach: Option<Attached>,
}

/// Who a connection belongs to, for the sync core: its participants.
fn principals(grants: &[Grant]) -> BTreeSet<String> {
    grants
        .iter()
        .filter_map(|g| g.participant.map(|p| p.0.to_string()))
        .collect()
}

/// The sync core's view of a connection's grants.
fn access_map(grants: &[Grant]) -> BTreeMap<DocumentId, plansync_shared::Access> {
    grants.iter().map(|g| (g.doc, g.access())).collect()
}

impl SyncHandle {
    /// Starts the service on the server's storage (and, on a database other nodes share,
    /// starts following their announcements).
    pub async fn start(store: Store, limits: Limits) -> Result<Self, ServiceError> {
        let storage_id = store
            .storage_id(format!("plansync-{:032x}", rand::random::<u128>()))
            .await?;
        let mut config = HubConfig::server(
            PeerId(format!("plansync-server-{:016x}", rand::random::<u64>())),
            storage_id,
        );
        config.max_message_bytes = limits.max_message_bytes;
        config.max_document_bytes = limits.max_document_bytes;
        config.rest_after_ms = limits.document_rest.map(|d| d.as_millis() as u64);
        // Each plan has its own hub, dropped with its actor once idle.
        config.keep_unsynced = true;
        let front = config.clone().router();
        let notices = store.notices();
        let pool = Pool::start(limits.sync_threads).map_err(|e| ServiceError::Io(e.to_string()))?;
        let handle = Self {
            inner: Arc::new(Inner {
                shared: Shared {
                    store,
                    rt: tokio::runtime::Handle::current(),
                    pool,
                    limits,
                    config,
                    shared_db: notices.is_some(),
                    registry: Arc::default(),
                },
                next_conn: AtomicU64::new(1),
                front: Mutex::new(Hub::new(front, &mut rand::rng())),
                conns: Mutex::default(),
            }),
        };
        if let Some(mut notices) = notices {
            let h = handle.clone();
            tokio::spawn(async move {
                while let Some(n) = notices.recv().await {
                    h.notice(n).await;
                }
            });
        }
        Ok(handle)
    }

    /// Registers a new socket that may sync the granted plans; frames for it arrive on the
    /// returned receiver.
    pub fn connect(&self, grants: Vec<Grant>) -> (ConnId, OutboundQueue) {
        let conn = ConnId(self.inner.next_conn.fetch_add(1, Ordering::Relaxed));
        let (link, queue) = Link::new();
        let access = access_map(&grants);
        let principals = principals(&grants);
        lock(&self.inner.conns).insert(
            conn,
            ConnEntry {
                link,
                grants,
                attached: BTreeSet::new(),
            },
        );
        self.front(Event::Connected {
            conn,
            dialer: false,
        });
        self.front(Event::Identify { conn, principals });
        self.front(Event::Grant {
            conn,
            grants: access,
        });
        (conn, queue)
    }

    /// Registers a connection this server dialed to an upstream server whose handshake the
    /// caller did (`peer` answered our `join`), to sync the `plans`; frames for it arrive on
    /// the returned receiver, and frames from it go to [`SyncHandle::frame`].
    pub async fn dial(&self, peer: PeerId, plans: &[DocumentId]) -> (ConnId, OutboundQueue) {
        let conn = ConnId(self.inner.next_conn.fetch_add(1, Ordering::Relaxed));
        let (link, queue) = Link::new();
        let grants: Vec<Grant> = plans
            .iter()
            .map(|doc| Grant {
                doc: *doc,
                participant: None,
                role: Role::Editor,
                who: None,
                relay: true,
            })
            .collect();
        let access = access_map(&grants);
        lock(&self.inner.conns).insert(
            conn,
            ConnEntry {
                link: link.clone(),
                grants: grants.clone(),
                attached: plans.iter().copied().collect(),
            },
        );
        self.front(Event::Connected {
            conn,
            dialer: false,
        });
        self.front(Event::Joined {
            conn,
            peer: peer.clone(),
        });
        self.front(Event::Grant {
            conn,
            grants: access,
        });
        for grant in grants {
            let attach = Command::Attach {
                conn,
                link: link.clone(),
                attached: Attached {
                    peer: peer.clone(),
                    principals: BTreeSet::new(),
                    access: grant.access(),
                },
                grant: grant.clone(),
                dialed: true,
            };
            let _ = self.send(grant.doc, attach).await;
        }
        (conn, queue)
    }

    /// The server's own peer id (in `join` when it dials an upstream).
    pub fn peer_id(&self) -> PeerId {
        self.inner.shared.config.peer_id.clone()
    }

    /// The server's storage id (in `join` when it dials an upstream).
    pub fn storage_id(&self) -> Option<String> {
        self.inner.shared.config.storage_id.clone()
    }

    /// Hands a received frame to the front hub (decoded here, outside its lock), and each
    /// message it routes to its document's actor (waiting while that actor's queue is full),
    /// with the connection first if the actor does not know it yet.
    pub async fn frame(&self, conn: ConnId, frame: Vec<u8>) {
        let event = match decode_message(&frame, self.inner.shared.limits.max_message_bytes) {
            Ok(message) => Event::Decoded { conn, message },
            Err(_) => Event::Received { conn, frame },
        };
        for routed in self.front(event) {
            let doc = routed.doc;
            if let Some(attached) = routed.attach {
                let Some(attach) = self.attach(conn, doc, attached) else {
                    continue;
                };
                if self.send(doc, attach).await.is_err() {
                    continue;
                }
            }
            let message = routed.message;
            let _ = self.send(doc, Command::Message { conn, message }).await;
        }
    }

    /// The command that tells a document's actor of a connection routed to it.
    fn attach(&self, conn: ConnId, doc: DocumentId, attached: Attached) -> Option<Command> {
        let mut conns = lock(&self.inner.conns);
        let entry = conns.get_mut(&conn)?;
        let grant = entry.grants.iter().find(|g| g.doc == doc)?.clone();
        entry.attached.insert(doc);
        Some(Command::Attach {
            conn,
            link: entry.link.clone(),
            attached,
            grant,
            dialed: false,
        })
    }

    /// Tells the front hub and every actor the connection synced that its socket closed.
    pub async fn disconnect(&self, conn: ConnId) {
        let entry = lock(&self.inner.conns).remove(&conn);
        self.front(Event::Disconnected { conn });
        for doc in entry.map(|e| e.attached).unwrap_or_default() {
            self.send_if_running(doc, Command::Detach { conn }).await;
        }
    }

    /// Runs an event on the front hub and carries out its effects; the messages it routes
    /// to documents' actors are returned.
    fn front(&self, event: Event) -> Vec<Routed> {
        let effects = lock(&self.inner.front).handle(now_ms(), event);
        let conns = lock(&self.inner.conns);
        let mut routed = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send { conn, frame, .. } => {
                    if let Some(e) = conns.get(&conn) {
                        e.link
                            .send_or_cut_off(frame, None, &self.inner.shared.limits, &e.grants);
                    }
                }
                Effect::Close { conn, reason } => {
                    if let Some(e) = conns.get(&conn) {
                        e.link.close(reason);
                    }
                }
                Effect::Ready { conn, peer } => {
                    tracing::info!(conn = conn.0, %peer, "peer joined");
                }
                Effect::Warn { conn, message } => {
                    tracing::warn!(conn = conn.map(|c| c.0), "{message}")
                }
                Effect::Route {
                    doc,
                    message,
                    attach,
                    ..
                } => routed.push(Routed {
                    doc,
                    message,
                    attach,
                }),
                _ => {}
            }
        }
        routed
    }

    /// Sets the gauges read from the service when metrics are scraped: plans in use and
    /// the commands queued for them.
    pub fn report_metrics(&self) {
        let m = crate::metrics::metrics();
        let reg = lock(&self.inner.shared.registry);
        let depths: Vec<usize> = reg
            .values()
            .filter(|mb| !mb.is_closed())
            .map(|mb| mb.tx.max_capacity() - mb.tx.capacity())
            .collect();
        m.plans_open.set(depths.len() as i64);
        m.queue_depth.set(depths.iter().sum::<usize>() as i64);
        m.queue_depth_max
            .set(depths.iter().copied().max().unwrap_or(0) as i64);
    }

    /// Sends a command to a document's actor, starting it if it is not running. Senders
    /// send only while they find the actor registered, so an actor that leaves the registry
    /// when idle never drops a command.
    async fn send(&self, doc: DocumentId, cmd: Command) -> Result<(), ServiceError> {
        let registry = &self.inner.shared.registry;
        let mut cmd = Some(cmd);
        for _ in 0..4 {
            let mailbox = {
                let mut reg = lock(registry);
                match reg.get(&doc) {
                    Some(m) if !m.is_closed() => m.clone(),
                    _ => {
                        let m = actor::start(doc, self.inner.shared.clone());
                        reg.insert(doc, m.clone());
                        m
                    }
                }
            };
            let permit = match mailbox.tx.try_reserve() {
                Ok(p) => p,
                Err(mpsc::error::TrySendError::Closed(())) => continue,
                Err(mpsc::error::TrySendError::Full(())) => {
                    // The plan's queue is full: the sender waits (flow control).
                    crate::metrics::metrics().flow_control_waits.inc();
                    let Ok(p) = mailbox.tx.reserve().await else {
                        continue;
                    };
                    p
                }
            };
            let reg = lock(registry);
            if reg.get(&doc).is_some_and(|m| m.id == mailbox.id) {
                permit.send(cmd.take().expect("sent once"));
                drop(reg);
                mailbox.slot.schedule();
                return Ok(());
            }
        }
        Err(ServiceError::Stopped)
    }

    /// Sends a command to a document's actor if it is running (a stopped actor holds no
    /// connection and nothing to catch up).
    async fn send_if_running(&self, doc: DocumentId, cmd: Command) {
        let running = lock(&self.inner.shared.registry).contains_key(&doc);
        if running {
            let _ = self.send(doc, cmd).await;
        }
    }

    /// Runs `f` on a document's actor.
    async fn call<T: Send + 'static>(
        &self,
        doc: DocumentId,
        f: impl FnOnce(&mut DocActor) -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (reply, rx) = oneshot::channel();
        self.send(
            doc,
            Command::Call(Box::new(move |actor| {
                let _ = reply.send(f(actor));
            })),
        )
        .await?;
        rx.await.map_err(|_| ServiceError::Stopped)
    }

    /// Runs `f` on a document's actor and answers once what it stored is durable
    /// ([`ServiceError::NotSaved`] if storing failed).
    async fn call_saved<T: Send + 'static>(
        &self,
        doc: DocumentId,
        f: impl FnOnce(&mut DocActor) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (reply, rx) = oneshot::channel();
        self.send(
            doc,
            Command::Call(Box::new(move |actor| match f(actor) {
                Ok(value) => actor.when_saved(Box::new(move |saved| {
                    let _ = reply.send(if saved {
                        Ok(value)
                    } else {
                        Err(ServiceError::NotSaved)
                    });
                })),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            })),
        )
        .await?;
        rx.await.map_err(|_| ServiceError::Stopped)?
    }

    /// How many document actors are running (tests check that idle ones stop).
    pub fn running_documents(&self) -> usize {
        lock(&self.inner.shared.registry).len()
    }

    /// Commands waiting in a document actor's queue (`None` if it is not running).
    pub fn queued(&self, doc: DocumentId) -> Option<usize> {
        lock(&self.inner.shared.registry)
            .get(&doc)
            .map(|m| m.tx.max_capacity() - m.tx.capacity())
    }

    /// Occupies a document's actor until the returned sender is dropped or sent to (tests
    /// use it to stand for a long import or first sync).
    #[cfg(test)]
    pub(crate) async fn hold(&self, doc: DocumentId) -> std::sync::mpsc::Sender<()> {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = oneshot::channel();
        self.send(
            doc,
            Command::Call(Box::new(move |_| {
                let _ = started.send(());
                let _ = held.recv();
            })),
        )
        .await
        .expect("the actor runs");
        running.await.expect("the actor took the call");
        release
    }
}
