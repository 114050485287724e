//! The sync service: one thread that owns the sync core ([`Hub`]) and the SQLite file, and
//! carries out the core's effects in order. A `Persist` is committed to SQLite before any
//! later `Send`, so no peer is ever told about heads that are not durable.

use crate::storage::{PlanRow, Storage, StorageError};
use plansync_shared::{
    automerge::AutoCommit, demo_plan, plan_summary, ConnId, DocumentId, Effect, Event, Hub,
    HubConfig, NewPlan, PeerId, PlanDoc,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// What the service sends to one connection's socket task.
#[derive(Debug)]
pub enum Outbound {
    /// A binary frame.
    Frame(Vec<u8>),
    /// Close the socket with this reason.
    Close(String),
}

/// What kind of plan to create.
#[derive(Debug, Clone)]
pub enum PlanKind {
    /// An empty plan with this title.
    Empty(String),
    /// The demo plan.
    Demo,
}

/// Why the service could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The plan could not be built.
    #[error("plan: {0}")]
    Plan(#[from] plansync_shared::Error),
    /// Storage refused the new plan; the log says why.
    #[error("the new plan could not be saved")]
    NotSaved,
    /// The service thread has stopped.
    #[error("the sync service has stopped")]
    Stopped,
}

enum Command {
    Connect {
        conn: ConnId,
        outbound: mpsc::UnboundedSender<Outbound>,
    },
    Frame {
        conn: ConnId,
        frame: Vec<u8>,
    },
    Disconnect {
        conn: ConnId,
    },
    CreatePlan {
        kind: PlanKind,
        reply: oneshot::Sender<Result<PlanRow, ServiceError>>,
    },
    ListPlans {
        reply: oneshot::Sender<Result<Vec<PlanRow>, ServiceError>>,
    },
}

/// A cheap handle to the sync service, shared by HTTP handlers and socket tasks.
#[derive(Clone)]
pub struct SyncHandle {
    tx: mpsc::UnboundedSender<Command>,
    next_conn: Arc<AtomicU64>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl SyncHandle {
    /// Starts the service thread on an open database.
    pub fn start(mut storage: Storage, max_message_bytes: usize) -> Result<Self, ServiceError> {
        let mut rng = rand::rng();
        let storage_id =
            storage.storage_id(|| format!("plansync-{:032x}", rand::random::<u128>()))?;
        let mut config = HubConfig::server(
            PeerId(format!("plansync-server-{:016x}", rand::random::<u64>())),
            storage_id,
        );
        config.max_message_bytes = max_message_bytes;
        let hub = Hub::new(config, &mut rng);
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("plansync-sync".into())
            .spawn(move || {
                Service {
                    hub,
                    storage,
                    conns: HashMap::new(),
                }
                .run(rx)
            })
            .map_err(|_| ServiceError::Stopped)?;
        Ok(Self {
            tx,
            next_conn: Arc::new(AtomicU64::new(1)),
        })
    }

    /// Registers a new socket; frames for it arrive on the returned receiver.
    pub fn connect(&self) -> (ConnId, mpsc::UnboundedReceiver<Outbound>) {
        let conn = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        let (outbound, rx) = mpsc::unbounded_channel();
        let _ = self.tx.send(Command::Connect { conn, outbound });
        (conn, rx)
    }

    /// Hands a received frame to the core.
    pub fn frame(&self, conn: ConnId, frame: Vec<u8>) {
        let _ = self.tx.send(Command::Frame { conn, frame });
    }

    /// Tells the core a socket closed.
    pub fn disconnect(&self, conn: ConnId) {
        let _ = self.tx.send(Command::Disconnect { conn });
    }

    /// Creates a plan and stores it durably before answering.
    pub async fn create_plan(&self, kind: PlanKind) -> Result<PlanRow, ServiceError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::CreatePlan { kind, reply })
            .map_err(|_| ServiceError::Stopped)?;
        rx.await.map_err(|_| ServiceError::Stopped)?
    }

    /// Lists the plans on this server.
    pub async fn plans(&self) -> Result<Vec<PlanRow>, ServiceError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::ListPlans { reply })
            .map_err(|_| ServiceError::Stopped)?;
        rx.await.map_err(|_| ServiceError::Stopped)?
    }
}

struct Service {
    hub: Hub,
    storage: Storage,
    conns: HashMap<ConnId, mpsc::UnboundedSender<Outbound>>,
}

impl Service {
    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        while let Some(cmd) = rx.blocking_recv() {
            match cmd {
                Command::Connect { conn, outbound } => {
                    self.conns.insert(conn, outbound);
                    self.event(Event::Connected {
                        conn,
                        dialer: false,
                    });
                }
                Command::Frame { conn, frame } => {
                    self.event(Event::Received { conn, frame });
                }
                Command::Disconnect { conn } => {
                    self.conns.remove(&conn);
                    self.event(Event::Disconnected { conn });
                }
                Command::CreatePlan { kind, reply } => {
                    let _ = reply.send(self.create_plan(kind));
                }
                Command::ListPlans { reply } => {
                    let _ = reply.send(self.storage.plans().map_err(Into::into));
                }
            }
        }
        tracing::info!("sync service stopped");
    }

    fn create_plan(&mut self, kind: PlanKind) -> Result<PlanRow, ServiceError> {
        let mut rng = rand::rng();
        let plan = match kind {
            PlanKind::Demo => demo_plan(&mut rng)?,
            PlanKind::Empty(title) => {
                let mut p = PlanDoc::create(
                    &NewPlan {
                        title,
                        area: String::new(),
                        period_start: 2026,
                        period_end: 2028,
                        owning_body: String::new(),
                    },
                    &mut rng,
                )?;
                p.commit();
                p
            }
        };
        let doc = DocumentId::random(&mut rng);
        let document: Box<AutoCommit> = Box::new(plan.into_automerge());
        if !self.event(Event::Add { doc, document }) {
            return Err(ServiceError::NotSaved);
        }
        let id = doc.to_string();
        let row = self.storage.plans()?.into_iter().find(|p| p.id == id);
        row.ok_or(ServiceError::NotSaved)
    }

    /// Handles one event and carries out its effects; false if a persist failed.
    fn event(&mut self, event: Event) -> bool {
        let effects = self.hub.handle(now_ms(), event);
        self.carry_out(effects)
    }

    fn carry_out(&mut self, effects: Vec<Effect>) -> bool {
        let mut persisted = true;
        for effect in effects {
            match effect {
                Effect::Send { conn, frame } => {
                    if persisted {
                        if let Some(tx) = self.conns.get(&conn) {
                            let _ = tx.send(Outbound::Frame(frame));
                        }
                    }
                }
                Effect::Close { conn, reason } => {
                    if let Some(tx) = self.conns.remove(&conn) {
                        let _ = tx.send(Outbound::Close(reason));
                    }
                }
                Effect::Load { doc } => {
                    let result = self.storage.load(&doc).map_err(|e| {
                        tracing::error!(%doc, error = %e, "loading a document failed");
                        e.to_string()
                    });
                    persisted &= self.event(Event::Loaded { doc, result });
                }
                Effect::Persist { doc, chunk } => {
                    let summary = self.hub.document(&doc).and_then(plan_summary);
                    match self
                        .storage
                        .append(&doc, &chunk, summary.as_ref(), now_ms() as i64)
                    {
                        Ok(compact) => {
                            if compact {
                                self.compact(&doc);
                            }
                        }
                        Err(e) => {
                            tracing::error!(%doc, error = %e, "saving changes failed; the change is refused and its peers disconnected");
                            persisted = false;
                            self.event(Event::PersistFailed {
                                doc,
                                reason: e.to_string(),
                            });
                        }
                    }
                }
                Effect::Warn { conn, message } => {
                    tracing::warn!(conn = conn.map(|c| c.0), "{message}")
                }
                Effect::Ready { conn, peer } => tracing::info!(conn = conn.0, %peer, "peer joined"),
                Effect::Changed { .. } | Effect::Unavailable { .. } | Effect::Ephemeral { .. } => {}
            }
        }
        persisted
    }

    fn compact(&mut self, doc: &DocumentId) {
        let Some(d) = self.hub.document_mut(doc) else {
            return;
        };
        let snapshot = d.save();
        match self.storage.compact(doc, &snapshot) {
            Ok(()) => tracing::debug!(%doc, bytes = snapshot.len(), "compacted"),
            Err(e) => {
                tracing::warn!(%doc, error = %e, "compaction failed; the document is intact and will compact later")
            }
        }
    }
}
