//! The sync service: one thread that owns the sync core ([`Hub`]) and carries out the
//! core's effects in order on the server's [`Store`]. A `Persist` is committed before any
//! later `Send`, so no peer is ever told about heads that are not durable.

use crate::access::{Participant, ParticipantId, Role};
use crate::history::parse_heads;
use crate::store::{Changes, ChunkId, Notice, PlanRow, Store, StoreError, Stored};
use plansync_shared::{
    automerge::AutoCommit, demo_plan, plan_summary, ConnId, DocumentId, Effect, Event, Hub,
    HubConfig, NewPlan, PeerId, PlanDoc,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot, Notify};

/// What the service sends to one connection's socket task.
#[derive(Debug)]
pub enum Outbound {
    /// A binary frame.
    Frame(Vec<u8>),
    /// Close the socket with this reason.
    Close(String),
}

/// What one connection's queue holds and how it is told to stop: the service adds frames
/// and counts their bytes; the socket task takes them. A queue past its limit (a client that
/// stopped reading) is cut off at once, without waiting behind the frames it holds.
#[derive(Debug, Default)]
struct Outbox {
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
    rx: mpsc::UnboundedReceiver<Outbound>,
    outbox: Arc<Outbox>,
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
                if let Some(Outbound::Frame(f)) = &out {
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

/// What kind of plan to create.
#[derive(Debug, Clone)]
pub enum PlanKind {
    /// An empty plan with this title.
    Empty(String),
    /// A plan read from a file (a JSON export or an automerge backup).
    Import(Box<AutoCommit>),
    /// The demo plan.
    Demo,
}

/// Why the service could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// The plan could not be built.
    #[error("plan: {0}")]
    Plan(#[from] plansync_shared::Error),
    /// Storage refused the new plan; the log says why.
    #[error("the new plan could not be saved")]
    NotSaved,
    /// The service thread has stopped.
    #[error("the sync service has stopped")]
    Stopped,
    /// A background task failed.
    #[error("a background task failed: {0}")]
    Io(String),
    /// No such plan on this server.
    #[error("no such plan on this server")]
    NoPlan,
    /// A snapshot named versions of the plan this server has not received.
    #[error("the server has not received every change this version names yet")]
    UnknownHeads,
}

/// One plan a connection may sync, and as whom.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// The plan's document.
    pub doc: DocumentId,
    /// The participant whose token gave it.
    pub participant: ParticipantId,
    /// Their role.
    pub role: Role,
}

impl Grant {
    /// The grant a participant's token gives, if their plan id is a document id.
    pub fn of(p: &Participant) -> Option<Self> {
        Some(Self {
            doc: p.plan.parse().ok()?,
            participant: p.id,
            role: p.role,
        })
    }
}

/// Limits the service enforces through the sync core.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Sync messages over this many bytes are refused.
    pub max_message_bytes: usize,
    /// Changes that would grow a plan's document past this many bytes are refused.
    pub max_document_bytes: usize,
    /// A connection whose unsent frames pass this many bytes (beyond the one frame being
    /// sent) is closed: its client has stopped reading.
    pub max_queued_bytes: usize,
    /// ...or this many frames.
    pub max_queued_frames: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 8 << 20,
            max_document_bytes: 64 << 20,
            max_queued_bytes: 4 << 20,
            max_queued_frames: 4_096,
        }
    }
}

type Call = Box<dyn FnOnce(&mut Service) + Send>;

enum Command {
    Connect {
        conn: ConnId,
        outbound: mpsc::UnboundedSender<Outbound>,
        outbox: Arc<Outbox>,
        grants: Vec<Grant>,
    },
    Frame {
        conn: ConnId,
        frame: Vec<u8>,
    },
    Disconnect {
        conn: ConnId,
    },
    Notice(Notice),
    Call(Call),
}

/// A cheap handle to the sync service, shared by HTTP handlers and socket tasks.
#[derive(Clone)]
pub struct SyncHandle {
    tx: std::sync::mpsc::Sender<Command>,
    next_conn: Arc<AtomicU64>,
}

fn now_ms() -> u64 {
    crate::now_ms() as u64
}

impl SyncHandle {
    /// Starts the service thread on the server's storage.
    pub async fn start(store: Store, limits: Limits) -> Result<Self, ServiceError> {
        let mut rng = rand::rng();
        let storage_id = store
            .storage_id(format!("plansync-{:032x}", rand::random::<u128>()))
            .await?;
        let mut config = HubConfig::server(
            PeerId(format!("plansync-server-{:016x}", rand::random::<u64>())),
            storage_id,
        );
        config.max_message_bytes = limits.max_message_bytes;
        config.max_document_bytes = limits.max_document_bytes;
        let hub = Hub::new(config, &mut rng);
        let (tx, rx) = std::sync::mpsc::channel();
        let rt = tokio::runtime::Handle::current();
        let notices = store.notices();
        let shared = notices.is_some();
        if let Some(mut notices) = notices {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(n) = notices.recv().await {
                    if tx.send(Command::Notice(n)).is_err() {
                        return;
                    }
                }
            });
        }
        std::thread::Builder::new()
            .name("plansync-sync".into())
            .spawn(move || {
                Service {
                    hub,
                    store,
                    rt,
                    shared,
                    chunks: HashMap::new(),
                    conns: HashMap::new(),
                    limits,
                }
                .run(rx)
            })
            .map_err(|_| ServiceError::Stopped)?;
        Ok(Self {
            tx,
            next_conn: Arc::new(AtomicU64::new(1)),
        })
    }

    /// Registers a new socket that may sync the granted plans; frames for it arrive on the
    /// returned receiver.
    pub fn connect(&self, grants: Vec<Grant>) -> (ConnId, OutboundQueue) {
        let conn = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        let (outbound, rx) = mpsc::unbounded_channel();
        let outbox = Arc::new(Outbox::default());
        let _ = self.tx.send(Command::Connect {
            conn,
            outbound,
            outbox: outbox.clone(),
            grants,
        });
        (conn, OutboundQueue { rx, outbox })
    }

    /// Runs `f` on the service thread, which owns the sync core.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Service) -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Call(Box::new(move |svc| {
                let _ = reply.send(f(svc));
            })))
            .map_err(|_| ServiceError::Stopped)?;
        rx.await.map_err(|_| ServiceError::Stopped)
    }

    /// Gives a participant's open connections their new role, or takes the plan away from
    /// them (`None`): call it after storage made the change.
    pub async fn regrant(
        &self,
        participant: ParticipantId,
        role: Option<Role>,
    ) -> Result<(), ServiceError> {
        self.call(move |svc| svc.regrant(participant, role)).await
    }

    /// A copy of a plan's document as the server holds it now (`None` if it has no such plan).
    pub async fn document(&self, plan: DocumentId) -> Result<Option<AutoCommit>, ServiceError> {
        self.call(move |svc| Ok(svc.held(&plan)?.map(|d| d.fork())))
            .await?
    }

    /// The heads of a plan as the server holds it now, or the given ones if it has every
    /// change they name.
    pub async fn heads(
        &self,
        plan: DocumentId,
        given: Option<Vec<String>>,
    ) -> Result<Vec<plansync_shared::automerge::ChangeHash>, ServiceError> {
        self.call(move |svc| {
            let doc = svc.held(&plan)?.ok_or(ServiceError::NoPlan)?;
            match given {
                None => Ok(doc.get_heads()),
                Some(h) => {
                    let h = parse_heads(&h).ok_or(ServiceError::UnknownHeads)?;
                    if h.is_empty() || h.iter().any(|x| doc.get_change_by_hash(x).is_none()) {
                        return Err(ServiceError::UnknownHeads);
                    }
                    Ok(h)
                }
            }
        })
        .await?
    }

    /// Applies plan operations on the server's copy of a plan as one change made on behalf of
    /// `by`, stores it and sends it to everyone syncing the plan. The operations run on a
    /// copy, on a blocking thread, so a large import or restore never holds up sync; only
    /// merging the finished change back happens on the service thread.
    pub async fn change_plan<T: Send + 'static>(
        &self,
        plan: DocumentId,
        by: ParticipantId,
        message: Option<String>,
        f: impl FnOnce(&mut PlanDoc) -> plansync_shared::Result<T> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (mut copy, before) = self
            .call(move |svc| {
                let doc = svc.held(&plan)?.ok_or(ServiceError::NoPlan)?;
                Ok::<_, ServiceError>((doc.fork(), doc.get_heads()))
            })
            .await??;
        let (out, chunk, hashes) = tokio::task::spawn_blocking(move || {
            let commit = plansync_shared::Commit {
                time_secs: Some(now_ms() as i64 / 1000),
                message,
            };
            let out = PlanDoc::change_with(&mut copy, commit, f)?;
            let hashes: Vec<_> = copy.get_changes(&before).iter().map(|c| c.hash()).collect();
            let chunk = copy.save_after(&before);
            Ok::<_, ServiceError>((out, chunk, hashes))
        })
        .await
        .map_err(|e| ServiceError::Io(e.to_string()))??;
        if hashes.is_empty() {
            return Ok(out);
        }
        let store = self
            .call(move |svc| {
                let doc = svc.held(&plan)?.ok_or(ServiceError::NoPlan)?;
                doc.load_incremental(&chunk)
                    .map_err(plansync_shared::Error::from)?;
                if !svc.event(Event::LocalChange { doc: plan }) {
                    return Err(ServiceError::NotSaved);
                }
                Ok(svc.store.clone())
            })
            .await??;
        store
            .attribute(plan.to_string(), hashes, by, now_ms() as i64)
            .await?;
        Ok(out)
    }

    /// Hands a received frame to the core.
    pub fn frame(&self, conn: ConnId, frame: Vec<u8>) {
        let _ = self.tx.send(Command::Frame { conn, frame });
    }

    /// Tells the core a socket closed.
    pub fn disconnect(&self, conn: ConnId) {
        let _ = self.tx.send(Command::Disconnect { conn });
    }

    /// Creates a plan (with no participants yet) and stores it durably before answering.
    pub async fn create_plan(&self, kind: PlanKind) -> Result<PlanRow, ServiceError> {
        self.call(move |svc| svc.create_plan(kind)).await?
    }
}

/// On a database other nodes share, every held document is also read for other nodes'
/// changes this often, so a missed or failed announcement costs at most this much delay.
const SWEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Flush once commands pause this long...
const QUIET: std::time::Duration = std::time::Duration::from_millis(5);
/// ...or this long after the first change held back, whichever comes first.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(40);

struct Link {
    outbound: mpsc::UnboundedSender<Outbound>,
    outbox: Arc<Outbox>,
    grants: Vec<Grant>,
}

impl Link {
    /// Queues a frame; false if that would put the queue over its limits (the frame is then
    /// not queued). An empty queue always takes one frame, however large.
    fn deliver(&self, frame: Vec<u8>, limits: &Limits) -> bool {
        let bytes = self.outbox.bytes.load(Ordering::Relaxed);
        let frames = self.outbox.frames.load(Ordering::Relaxed);
        if frames > 0
            && (bytes + frame.len() > limits.max_queued_bytes || frames >= limits.max_queued_frames)
        {
            return false;
        }
        self.outbox.bytes.fetch_add(frame.len(), Ordering::Relaxed);
        self.outbox.frames.fetch_add(1, Ordering::Relaxed);
        let _ = self.outbound.send(Outbound::Frame(frame));
        true
    }

    /// Cuts the connection off: its socket task stops at once, dropping what is queued.
    fn cut_off(&self, reason: String) {
        let _ = self.outbox.cut.set(reason);
        self.outbox.wake.notify_one();
    }
}

/// The stored chunks a document's copy holds.
#[derive(Debug, Default)]
struct HeldChunks {
    /// Every chunk read or written: what compaction may replace.
    covered: Vec<ChunkId>,
    /// The newest chunk read: every chunk stored before it is held too (a document's chunk
    /// ids grow in commit order), so other nodes' later chunks are those after it.
    read_up_to: ChunkId,
}

impl HeldChunks {
    fn read(&mut self, stored: &Stored) {
        self.covered.extend_from_slice(&stored.chunks);
        if let Some(last) = stored.chunks.iter().max() {
            self.read_up_to = self.read_up_to.max(*last);
        }
    }
}

struct Service {
    hub: Hub,
    store: Store,
    /// The runtime the store's calls run on (this thread blocks on them).
    rt: tokio::runtime::Handle,
    /// Whether other nodes share the database (their changes must be read).
    shared: bool,
    /// For each document held, which stored chunks its copy holds.
    chunks: HashMap<DocumentId, HeldChunks>,
    conns: HashMap<ConnId, Link>,
    limits: Limits,
}

impl Service {
    /// Handles commands until every handle is dropped. Changes from peers are persisted and
    /// fanned out together ([`Event::Flush`]) once commands pause for [`QUIET`], or at the
    /// latest [`COALESCE`] after the first: a room reconnecting is stored in few SQLite
    /// transactions and each peer gets few messages, at a cost of at most that much latency.
    fn run(mut self, rx: std::sync::mpsc::Receiver<Command>) {
        use std::sync::mpsc::RecvTimeoutError;
        use std::time::Instant;
        let mut first_unflushed: Option<Instant> = None;
        let mut last_sweep = Instant::now();
        loop {
            if self.shared && last_sweep.elapsed() >= SWEEP {
                last_sweep = Instant::now();
                for doc in self.hub.documents() {
                    self.catch_up(doc, true);
                }
            }
            let cmd = match first_unflushed {
                None if self.shared => match rx.recv_timeout(SWEEP) {
                    Ok(cmd) => Some(cmd),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(cmd) => Some(cmd),
                    Err(_) => break,
                },
                Some(since) => {
                    let left = COALESCE.saturating_sub(since.elapsed()).min(QUIET);
                    match rx.recv_timeout(left) {
                        Ok(cmd) => Some(cmd),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            let paused = cmd.is_none();
            if let Some(cmd) = cmd {
                self.command(cmd);
                if self.hub.has_unflushed() {
                    first_unflushed.get_or_insert_with(Instant::now);
                }
            }
            if first_unflushed.is_some_and(|t| paused || t.elapsed() >= COALESCE) {
                self.event(Event::Flush);
                first_unflushed = None;
            }
        }
        self.event(Event::Flush);
        tracing::info!("sync service stopped");
    }

    fn command(&mut self, cmd: Command) {
        {
            match cmd {
                Command::Connect {
                    conn,
                    outbound,
                    outbox,
                    grants,
                } => {
                    let access = access_map(&grants);
                    let principals = grants.iter().map(|g| g.participant.0.to_string()).collect();
                    self.conns.insert(
                        conn,
                        Link {
                            outbound,
                            outbox,
                            grants,
                        },
                    );
                    self.event(Event::Connected {
                        conn,
                        dialer: false,
                    });
                    self.event(Event::Identify { conn, principals });
                    self.event(Event::Grant {
                        conn,
                        grants: access,
                    });
                }
                Command::Frame { conn, frame } => {
                    self.event(Event::Received { conn, frame });
                }
                Command::Disconnect { conn } => {
                    self.conns.remove(&conn);
                    self.event(Event::Disconnected { conn });
                }
                Command::Notice(notice) => self.notice(notice),
                Command::Call(f) => f(self),
            }
        }
    }

    /// Gives a participant's open connections their new role, or takes the plan away from
    /// them (`None`); a connection left with no plan is closed.
    fn regrant(&mut self, participant: ParticipantId, role: Option<Role>) {
        let affected: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, l)| l.grants.iter().any(|g| g.participant == participant))
            .map(|(c, _)| *c)
            .collect();
        for conn in affected {
            let Some(link) = self.conns.get_mut(&conn) else {
                continue;
            };
            match role {
                Some(role) => link
                    .grants
                    .iter_mut()
                    .filter(|g| g.participant == participant)
                    .for_each(|g| g.role = role),
                None => link.grants.retain(|g| g.participant != participant),
            }
            let grants = access_map(&link.grants);
            let empty = grants.is_empty();
            self.event(Event::Grant { conn, grants });
            if empty {
                if let Some(link) = self.conns.remove(&conn) {
                    let _ = link.outbound.send(Outbound::Close(
                        "your access to this plan was withdrawn by an owner".into(),
                    ));
                }
                self.event(Event::Disconnected { conn });
            }
            tracing::info!(
                conn = conn.0,
                participant = participant.0,
                ?role,
                "changed the access of an open connection"
            );
        }
    }

    /// The sync core's copy of a document, loaded from storage if the core does not hold it;
    /// `None` if storage has no such document.
    fn held(&mut self, doc: &DocumentId) -> Result<Option<&mut AutoCommit>, ServiceError> {
        if self.hub.document(doc).is_none() {
            let Some(bytes) = self.load(doc)? else {
                return Ok(None);
            };
            let document =
                Box::new(AutoCommit::load(&bytes).map_err(plansync_shared::Error::from)?);
            self.event(Event::Restore {
                doc: *doc,
                document,
            });
        }
        Ok(self.hub.document_mut(doc))
    }

    fn create_plan(&mut self, kind: PlanKind) -> Result<PlanRow, ServiceError> {
        let mut rng = rand::rng();
        let plan = match kind {
            PlanKind::Demo => demo_plan(&mut rng)?,
            PlanKind::Import(doc) => PlanDoc::from_automerge(*doc)?,
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
        let row = self.rt.block_on(self.store.plans())?;
        row.into_iter()
            .find(|p| p.id == id)
            .ok_or(ServiceError::NotSaved)
    }

    /// A document's stored bytes (`None` if not stored), noting which chunks they were.
    fn load(&mut self, doc: &DocumentId) -> Result<Option<Vec<u8>>, StoreError> {
        let stored = self.rt.block_on(self.store.load(*doc))?;
        Ok(stored.map(|s| {
            let mut held = HeldChunks::default();
            held.read(&s);
            self.chunks.insert(*doc, held);
            s.bytes
        }))
    }

    /// Acts on another node's change: merges the chunks it stored into a document we hold,
    /// or gives a participant's open connections their new access.
    fn notice(&mut self, notice: Notice) {
        match notice {
            Notice::Document(doc) => self.catch_up(doc, false),
            Notice::Participant(id) => self.refresh_access(id),
            Notice::Resync => {
                for doc in self.hub.documents() {
                    self.catch_up(doc, false);
                }
                let mut people: Vec<ParticipantId> = self
                    .conns
                    .values()
                    .flat_map(|l| l.grants.iter().map(|g| g.participant))
                    .collect();
                people.sort_by_key(|p| p.0);
                people.dedup();
                for id in people {
                    self.refresh_access(id);
                }
            }
        }
    }

    /// Reads the chunks other nodes stored since we last read a document we hold, and
    /// sends them to its peers; `sweep` when no announcement asked for it (what it finds
    /// then is logged: an announcement was missed).
    fn catch_up(&mut self, doc: DocumentId, sweep: bool) {
        if !self.hub.has_content(&doc) {
            return;
        }
        let after = self
            .chunks
            .get(&doc)
            .map(|h| h.read_up_to)
            .unwrap_or_default();
        match self.rt.block_on(self.store.load_after(doc, after)) {
            Ok(stored) if !stored.chunks.is_empty() => {
                if sweep {
                    tracing::info!(%doc, chunks = stored.chunks.len(), "read changes another node stored that no announcement brought");
                }
                self.chunks.entry(doc).or_default().read(&stored);
                self.event(Event::Stored {
                    doc,
                    chunk: stored.bytes,
                });
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(%doc, error = %e, "could not read another node's changes; they arrive with the next one")
            }
        }
    }

    /// Gives a participant's open connections the access storage now records for them.
    fn refresh_access(&mut self, id: ParticipantId) {
        let held = self
            .conns
            .values()
            .any(|l| l.grants.iter().any(|g| g.participant == id));
        if !held {
            return;
        }
        match self.rt.block_on(self.store.participant(id)) {
            Ok(p) => self.regrant(id, p.map(|p| p.role)),
            Err(e) => {
                tracing::warn!(participant = id.0, error = %e, "could not read a participant's access")
            }
        }
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
                    if !persisted {
                        continue;
                    }
                    let Some(link) = self.conns.get(&conn) else {
                        continue;
                    };
                    if !link.deliver(frame, &self.limits) {
                        let queued = link.outbox.bytes.load(Ordering::Relaxed);
                        let who: Vec<i64> = link.grants.iter().map(|g| g.participant.0).collect();
                        tracing::warn!(conn = conn.0, participants = ?who, queued_bytes = queued, limit = self.limits.max_queued_bytes, "closing a connection that stopped reading: its queue is full");
                        if let Some(link) = self.conns.remove(&conn) {
                            link.cut_off(format!("closed: {} MiB of messages were waiting for your device to read them (the limit is {} MiB); reconnect", queued >> 20, self.limits.max_queued_bytes >> 20));
                        }
                        self.event(Event::Disconnected { conn });
                    }
                }
                Effect::Close { conn, reason } => {
                    if let Some(link) = self.conns.remove(&conn) {
                        let _ = link.outbound.send(Outbound::Close(reason));
                    }
                }
                Effect::Load { doc } => {
                    let result = self.load(&doc).map_err(|e| {
                        tracing::error!(%doc, error = %e, "loading a document failed");
                        e.to_string()
                    });
                    persisted &= self.event(Event::Loaded { doc, result });
                }
                Effect::Persist {
                    doc,
                    chunk,
                    changes,
                } => {
                    let summary = self.hub.document(&doc).and_then(plan_summary);
                    let changes: Changes = changes
                        .iter()
                        .map(|(hash, from)| {
                            let by = from.and_then(|c| {
                                let link = self.conns.get(&c)?;
                                link.grants
                                    .iter()
                                    .find(|g| g.doc == doc)
                                    .map(|g| g.participant)
                            });
                            (*hash, by)
                        })
                        .collect();
                    let appended = self.rt.block_on(self.store.append(
                        doc,
                        chunk,
                        changes,
                        summary,
                        now_ms() as i64,
                    ));
                    match appended {
                        Ok(appended) => {
                            self.chunks
                                .entry(doc)
                                .or_default()
                                .covered
                                .push(appended.chunk);
                            if appended.compact {
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
        let bytes = snapshot.len();
        let covered = self
            .chunks
            .get(doc)
            .map(|h| h.covered.clone())
            .unwrap_or_default();
        match self
            .rt
            .block_on(self.store.compact(*doc, snapshot, covered))
        {
            Ok(made) => {
                // Only what we held is in the snapshot; what other nodes stored meanwhile is
                // still read after `read_up_to`.
                self.chunks.entry(*doc).or_default().covered = vec![made];
                tracing::debug!(%doc, bytes, "compacted")
            }
            Err(e) => {
                tracing::warn!(%doc, error = %e, "compaction failed; the document is intact and will compact later")
            }
        }
    }
}

/// The sync core's view of a connection's grants.
fn access_map(grants: &[Grant]) -> BTreeMap<DocumentId, plansync_shared::Access> {
    grants.iter().map(|g| (g.doc, g.role.access())).collect()
}
