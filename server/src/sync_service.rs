//! The sync service: one thread that owns the sync core ([`Hub`]) and the SQLite file, and
//! carries out the core's effects in order. A `Persist` is committed to SQLite before any
//! later `Send`, so no peer is ever told about heads that are not durable.

use crate::access::{
    hash_token, new_code, new_token, Invitation, JoinError, Participant, ParticipantId, Role,
};
use crate::history::{parse_heads, ChangeAuthor, Snapshot};
use crate::storage::{Changes, PlanRow, Storage, StorageError};
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
    /// Starts the service thread on an open database.
    pub fn start(mut storage: Storage, limits: Limits) -> Result<Self, ServiceError> {
        let mut rng = rand::rng();
        let storage_id =
            storage.storage_id(|| format!("plansync-{:032x}", rand::random::<u128>()))?;
        let mut config = HubConfig::server(
            PeerId(format!("plansync-server-{:016x}", rand::random::<u64>())),
            storage_id,
        );
        config.max_message_bytes = limits.max_message_bytes;
        config.max_document_bytes = limits.max_document_bytes;
        let hub = Hub::new(config, &mut rng);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("plansync-sync".into())
            .spawn(move || {
                Service {
                    hub,
                    storage,
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

    /// Runs `f` on the service thread, which owns storage and the sync core.
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

    /// The current participants whose tokens these are (unknown and revoked tokens are
    /// left out).
    pub async fn authenticate(
        &self,
        tokens: Vec<String>,
    ) -> Result<Vec<Participant>, ServiceError> {
        self.call(move |svc| {
            let mut found = Vec::new();
            for t in tokens {
                if let Some(p) = svc.storage.participant_by_token(&hash_token(&t))? {
                    found.push(p);
                }
            }
            Ok(found)
        })
        .await?
    }

    /// Runs `f` on the service's storage (tests use it to make the disk fail).
    #[cfg(test)]
    pub(crate) async fn with_storage<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Storage) -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        self.call(move |svc| f(&mut svc.storage)).await
    }

    /// Exchanges an invitation code for a new participant and their token.
    pub async fn join(
        &self,
        code: String,
        name: String,
        agency: String,
    ) -> Result<Result<(Participant, String), JoinError>, ServiceError> {
        self.call(move |svc| {
            let token = new_token(&mut rand::rng());
            svc.storage
                .redeem(&code, &name, &agency, &hash_token(&token), now_ms() as i64)
                .map(|p| (p, token))
        })
        .await
    }

    /// A plan's current participants.
    pub async fn participants(&self, plan: String) -> Result<Vec<Participant>, ServiceError> {
        self.call(move |svc| Ok(svc.storage.participants(&plan)?))
            .await?
    }

    /// Changes a participant's role, on their open connections too; false if not found.
    pub async fn set_role(
        &self,
        plan: String,
        id: ParticipantId,
        role: Role,
    ) -> Result<bool, ServiceError> {
        self.call(move |svc| {
            let changed = svc.storage.set_role(&plan, id, role)?;
            if changed {
                svc.regrant(id, Some(role));
            }
            Ok(changed)
        })
        .await?
    }

    /// Revokes a participant's token; their open connections stop syncing the plan at once.
    pub async fn revoke(&self, plan: String, id: ParticipantId) -> Result<bool, ServiceError> {
        self.call(move |svc| {
            let revoked = svc.storage.revoke_participant(&plan, id, now_ms() as i64)?;
            if revoked {
                svc.regrant(id, None);
            }
            Ok(revoked)
        })
        .await?
    }

    /// Creates an invitation to a plan.
    pub async fn invite(
        &self,
        plan: String,
        role: Role,
        expires_ms: i64,
        uses: i64,
    ) -> Result<Invitation, ServiceError> {
        self.call(move |svc| {
            let code = new_code(&mut rand::rng());
            Ok(svc.storage.create_invitation(
                &plan,
                role,
                &code,
                expires_ms,
                uses,
                now_ms() as i64,
            )?)
        })
        .await?
    }

    /// A plan's usable invitations.
    pub async fn invitations(&self, plan: String) -> Result<Vec<Invitation>, ServiceError> {
        self.call(move |svc| Ok(svc.storage.invitations(&plan, now_ms() as i64)?))
            .await?
    }

    /// Withdraws an invitation; false if not found.
    pub async fn revoke_invitation(&self, plan: String, id: i64) -> Result<bool, ServiceError> {
        self.call(move |svc| Ok(svc.storage.revoke_invitation(&plan, id, now_ms() as i64)?))
            .await?
    }

    /// For every plan without an owner, a fresh one-use owner invitation valid for a week
    /// (earlier unused ones are withdrawn).
    pub async fn owner_invitations(&self) -> Result<Vec<(PlanRow, Invitation)>, ServiceError> {
        self.call(|svc| {
            let now = now_ms() as i64;
            let mut out = Vec::new();
            for plan in svc.storage.plans()? {
                if svc.storage.has_owner(&plan.id)? {
                    continue;
                }
                svc.storage.revoke_owner_invitations(&plan.id, now)?;
                let code = new_code(&mut rand::rng());
                let inv = svc.storage.create_invitation(
                    &plan.id,
                    Role::Owner,
                    &code,
                    now + OWNER_LINK_MS,
                    1,
                    now,
                )?;
                out.push((plan, inv));
            }
            Ok(out)
        })
        .await?
    }

    /// Who sent each accepted change of a document (see [`Storage::change_authors`]).
    pub async fn change_authors(
        &self,
        doc: String,
    ) -> Result<Vec<(String, Option<ParticipantId>)>, ServiceError> {
        self.call(move |svc| Ok(svc.storage.change_authors(&doc)?))
            .await?
    }

    /// Creates a plan whose first owner is a new participant with this name and agency;
    /// returns the plan, the owner and the owner's token.
    pub async fn create_plan_for(
        &self,
        kind: PlanKind,
        name: String,
        agency: String,
    ) -> Result<(PlanRow, Participant, String), ServiceError> {
        self.call(move |svc| {
            let row = svc.create_plan(kind)?;
            let token = new_token(&mut rand::rng());
            let owner = svc.storage.add_participant(
                &row.id,
                &name,
                &agency,
                Role::Owner,
                &hash_token(&token),
                now_ms() as i64,
            )?;
            Ok((row, owner, token))
        })
        .await?
    }

    /// A copy of a plan's document as the server holds it now (`None` if it has no such plan).
    pub async fn document(&self, plan: DocumentId) -> Result<Option<AutoCommit>, ServiceError> {
        self.call(move |svc| Ok(svc.held(&plan)?.map(|d| d.fork())))
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
        self.call(move |svc| {
            let doc = svc.held(&plan)?.ok_or(ServiceError::NoPlan)?;
            doc.load_incremental(&chunk)
                .map_err(plansync_shared::Error::from)?;
            if !svc.event(Event::LocalChange { doc: plan }) {
                return Err(ServiceError::NotSaved);
            }
            for hash in hashes {
                svc.storage
                    .attribute(&plan.to_string(), &hash, by, now_ms() as i64)?;
            }
            Ok(())
        })
        .await??;
        Ok(out)
    }

    /// Records a named snapshot of a plan at `heads` (the server's heads if `None`).
    pub async fn snapshot(
        &self,
        plan: DocumentId,
        name: String,
        heads: Option<Vec<String>>,
        by: Option<ParticipantId>,
    ) -> Result<Snapshot, ServiceError> {
        self.call(move |svc| {
            let doc = svc.held(&plan)?.ok_or(ServiceError::NoPlan)?;
            let heads = match heads {
                None => doc.get_heads(),
                Some(h) => {
                    let h = parse_heads(&h).ok_or(ServiceError::UnknownHeads)?;
                    if h.is_empty() || h.iter().any(|x| doc.get_change_by_hash(x).is_none()) {
                        return Err(ServiceError::UnknownHeads);
                    }
                    h
                }
            };
            Ok(svc
                .storage
                .add_snapshot(&plan.to_string(), &name, &heads, by, now_ms() as i64)?)
        })
        .await?
    }

    /// One snapshot of a plan, if it has that one.
    pub async fn snapshot_of(
        &self,
        plan: String,
        id: i64,
    ) -> Result<Option<Snapshot>, ServiceError> {
        self.call(move |svc| Ok(svc.storage.snapshot(&plan, id)?))
            .await?
    }

    /// A plan's snapshots, newest first.
    pub async fn snapshots(&self, plan: String) -> Result<Vec<Snapshot>, ServiceError> {
        self.call(move |svc| Ok(svc.storage.snapshots(&plan)?))
            .await?
    }

    /// Who sent each change of a plan, by change hash.
    pub async fn authors(
        &self,
        plan: String,
    ) -> Result<HashMap<String, ChangeAuthor>, ServiceError> {
        self.call(move |svc| Ok(svc.storage.authors(&plan)?))
            .await?
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

    /// Lists the plans on this server.
    pub async fn plans(&self) -> Result<Vec<PlanRow>, ServiceError> {
        self.call(|svc| Ok(svc.storage.plans()?)).await?
    }
}

/// Flush once commands pause this long...
const QUIET: std::time::Duration = std::time::Duration::from_millis(5);
/// ...or this long after the first change held back, whichever comes first.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(40);

/// How long the owner link printed at start works.
const OWNER_LINK_MS: i64 = 7 * 24 * 3600 * 1000;

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

struct Service {
    hub: Hub,
    storage: Storage,
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
        loop {
            let cmd = match first_unflushed {
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
            let Some(bytes) = self.storage.load(doc)? else {
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
                    let result = self.storage.load(&doc).map_err(|e| {
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
                    match self.storage.append(
                        &doc,
                        &chunk,
                        &changes,
                        summary.as_ref(),
                        now_ms() as i64,
                    ) {
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

/// The sync core's view of a connection's grants.
fn access_map(grants: &[Grant]) -> BTreeMap<DocumentId, plansync_shared::Access> {
    grants.iter().map(|g| (g.doc, g.role.access())).collect()
}
