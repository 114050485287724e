//! One document's actor: a task of the engine's pool that owns the sync core for that
//! document (a [`Hub`] holding it and the connections syncing it), takes commands from a
//! bounded queue and carries out the core's effects in order, persisting before advertising.

use super::engine::{Pool, Slot, Step, Task, Wake};
use super::outbox::{Link, Receipt, Written};
use super::{lock, now_ms, Grant, Limits, ServiceError};
use crate::access::{ParticipantId, Role};
use crate::store::{Changes, ChunkId, Store, StoreError, Stored};
use plansync_shared::{
    automerge::AutoCommit, plan_summary, ConnId, DocumentId, Effect, Event, Hub, HubConfig,
    Message, PeerId,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Flush once commands pause this long...
const QUIET: Duration = Duration::from_millis(5);
/// ...or this long after the first change held back, whichever comes first.
const COALESCE: Duration = Duration::from_millis(40);
/// ...but no sooner than this after the last flush: a busy plan answers its peers at most
/// this often (the reference JS server's 100 ms, halved), so each peer gets, and
/// acknowledges, one message per round rather than one per change.
const MIN_GAP: Duration = Duration::from_millis(50);
/// On a database other nodes share, the document is also read for other nodes' changes
/// this often, so a missed or failed announcement costs at most this much delay.
const SWEEP: Duration = Duration::from_secs(5);

/// Work for a document's actor, run in its turn.
pub(super) type Call = Box<dyn FnOnce(&mut DocActor) + Send>;

/// What a document's actor is asked to do.
pub(super) enum Command {
    /// A connection starts syncing this document (its handshake is done).
    Attach {
        conn: ConnId,
        link: Link,
        peer: PeerId,
        principals: BTreeSet<String>,
        grant: Grant,
        /// We dialed it (a relay to an upstream server): we start syncing at once.
        dialed: bool,
    },
    /// A message about this document from an attached connection (decoded by the service).
    Message { conn: ConnId, message: Message },
    /// A connection closed.
    Detach { conn: ConnId },
    /// A connection's participant has a new role (`None`: it lost this document).
    Role { conn: ConnId, role: Option<Role> },
    /// Another node stored changes: read them.
    CatchUp,
    /// Run this on the actor.
    Call(Call),
}

impl Command {
    /// What kind of command it is, for the log.
    fn kind(&self) -> &'static str {
        match self {
            Command::Attach { .. } => "attach",
            Command::Message { .. } => "message",
            Command::Detach { .. } => "detach",
            Command::Role { .. } => "role",
            Command::CatchUp => "catch-up",
            Command::Call(_) => "call",
        }
    }
}

/// Logs work on a document that held up its other work for long.
fn slow(doc: DocumentId, what: &str, started: Instant) {
    let took = started.elapsed();
    if took >= SLOW {
        tracing::warn!(%doc, what, ms = took.as_millis() as u64, "a document's work held up its other work");
    }
}

/// Work on a document that takes this long is logged.
const SLOW: Duration = Duration::from_millis(200);

/// A running actor's queue, and which actor it is (a document's actor may stop and another
/// start later).
#[derive(Clone)]
pub(super) struct Mailbox {
    pub tx: mpsc::Sender<Command>,
    pub id: u64,
    /// Its place in the pool, woken after each command sent.
    pub slot: Arc<Slot<DocActor>>,
}

impl Mailbox {
    /// Whether the actor has finished (a new one must be started).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed() || self.slot.is_done()
    }
}

/// The actors of the documents in use, by document.
pub(super) type Registry = Arc<Mutex<HashMap<DocumentId, Mailbox>>>;

static NEXT_ACTOR: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// What every actor of this server shares.
#[derive(Clone)]
pub(super) struct Shared {
    pub store: Store,
    pub rt: tokio::runtime::Handle,
    /// The threads that run the actors.
    pub pool: Pool,
    pub limits: Limits,
    pub config: HubConfig,
    /// Whether other nodes share the database.
    pub shared_db: bool,
    pub registry: Registry,
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

/// One document's sync core and the connections syncing it.
pub(super) struct DocActor {
    doc: DocumentId,
    id: u64,
    hub: Hub,
    shared: Shared,
    chunks: HeldChunks,
    links: HashMap<ConnId, (Link, Grant)>,
    /// Its place in the pool, for work it hands to other threads to report back on.
    me: Weak<Slot<DocActor>>,
    /// Its queue.
    rx: mpsc::Receiver<Command>,
    /// Which connections' sync messages the socket tasks wrote out.
    written: Arc<Written>,
    /// Whether a compaction is running.
    compacting: bool,
    timing: Timing,
}

/// Places the actor of `doc` in the pool and returns its queue.
pub(super) fn start(doc: DocumentId, shared: Shared) -> Mailbox {
    let (tx, rx) = mpsc::channel(shared.limits.max_document_queue.max(1));
    let hub = Hub::new(shared.config.clone(), &mut rand::rng());
    let id = NEXT_ACTOR.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pool = shared.pool.clone();
    let slot = Slot::new(&pool, |me: Weak<Slot<DocActor>>| {
        let wake: Weak<dyn Wake> = me.clone();
        DocActor {
            doc,
            id,
            hub,
            shared,
            chunks: HeldChunks::default(),
            links: HashMap::new(),
            me,
            rx,
            written: Written::new(wake),
            compacting: false,
            timing: Timing::new(),
        }
    });
    Mailbox { tx, id, slot }
}

/// When a document's actor last did what, for coalescing and stopping.
struct Timing {
    /// When the first change not yet flushed arrived.
    first_unflushed: Option<Instant>,
    last_flush: Instant,
    last_command: Instant,
    last_sweep: Instant,
}

impl Timing {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            first_unflushed: None,
            last_flush: now.checked_sub(MIN_GAP).unwrap_or(now),
            last_command: now,
            last_sweep: now,
        }
    }
}

/// Commands one step handles before other plans take their turn.
const BUDGET: usize = 64;

impl Task for DocActor {
    type Posted = Call;

    /// Handles what is queued (at most [`BUDGET`] commands). Changes from peers are
    /// persisted and fanned out together ([`Event::Flush`]) once commands pause for
    /// [`QUIET`], or at the latest [`COALESCE`] after the first, and no sooner than
    /// [`MIN_GAP`] after the last flush: a room reconnecting is stored in few transactions
    /// and each peer gets few messages. An actor idle with no connections leaves the
    /// registry (unless a command arrived meanwhile) and finishes.
    fn step(&mut self, posted: Vec<Call>) -> Step {
        use tokio::sync::mpsc::error::TryRecvError;
        for call in posted {
            call(self);
        }
        let mut handled = 0;
        let mut closed = false;
        while handled < BUDGET {
            match self.rx.try_recv() {
                Ok(cmd) => {
                    handled += 1;
                    let started = Instant::now();
                    self.timing.last_command = started;
                    let what = cmd.kind();
                    self.command(cmd);
                    slow(self.doc, what, started);
                    if self.hub.has_unflushed() {
                        self.timing.first_unflushed.get_or_insert_with(Instant::now);
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        self.deliveries();
        if closed {
            self.event(Event::Flush);
            return Step::Done;
        }
        if handled == BUDGET {
            return Step::More;
        }
        let now = Instant::now();
        let mut wake = None;
        if let Some(since) = self.timing.first_unflushed {
            let due = (since + COALESCE)
                .min(self.timing.last_command + QUIET)
                .max(self.next_flush());
            if now >= due {
                self.event(Event::Flush);
                slow(self.doc, "flush", now);
                self.timing.first_unflushed = None;
                self.timing.last_flush = Instant::now();
            } else {
                wake = Some(due);
            }
        }
        if self.shared.shared_db {
            if now >= self.timing.last_sweep + SWEEP {
                self.timing.last_sweep = now;
                self.catch_up(true);
            }
            wake = earliest(wake, self.timing.last_sweep + SWEEP);
        }
        if self.timing.first_unflushed.is_none() && self.links.is_empty() {
            let idle_until = self.timing.last_command + self.shared.limits.document_idle;
            if now >= idle_until && self.leave_registry() {
                self.event(Event::Flush);
                tracing::debug!(doc = %self.doc, "document actor stopped");
                return Step::Done;
            }
            wake = earliest(wake, idle_until);
        }
        Step::Wait(wake)
    }
}

/// The earlier of a moment and maybe another.
fn earliest(a: Option<Instant>, b: Instant) -> Option<Instant> {
    Some(a.map_or(b, |a| a.min(b)))
}

impl DocActor {
    /// The earliest moment of the next flush: [`MIN_GAP`] after the last one if changes are
    /// to be fanned out; at once if it only answers acknowledgements (a first sync's round
    /// trips are not slowed).
    fn next_flush(&self) -> Instant {
        if self.hub.has_unflushed_changes() {
            self.timing.last_flush + MIN_GAP
        } else {
            self.timing.last_flush
        }
    }

    /// Leaves the registry if nothing is queued; senders send only while they find this
    /// actor registered (under the registry's lock), so nothing is sent to it afterwards.
    fn leave_registry(&self) -> bool {
        let mut registry = lock(&self.shared.registry);
        if !self.rx.is_empty() {
            return false;
        }
        if registry.get(&self.doc).is_some_and(|m| m.id == self.id) {
            registry.remove(&self.doc);
        }
        true
    }

    /// Peers whose last sync message was written may be sent the next one.
    fn deliveries(&mut self) {
        for conn in self.written.take() {
            self.event(Event::Delivered {
                conn,
                doc: self.doc,
            });
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Attach {
                conn,
                link,
                peer,
                principals,
                grant,
                dialed,
            } => {
                let access = BTreeMap::from([(self.doc, grant.access())]);
                let who = grant.who.clone();
                self.links.insert(conn, (link, grant));
                if dialed {
                    // Held first, so the core offers it to the upstream at once.
                    if let Err(e) = self.held() {
                        tracing::warn!(doc = %self.doc, error = %e, "could not load a plan to relay");
                    }
                    self.event(Event::Dialed {
                        conn,
                        peer,
                        grants: access,
                    });
                    return;
                }
                self.event(Event::Connected {
                    conn,
                    dialer: false,
                });
                self.event(Event::Identify { conn, principals });
                self.event(Event::Joined { conn, peer });
                self.event(Event::Grant {
                    conn,
                    grants: access,
                });
                if let Some(who) = who {
                    self.event(Event::Present { conn, who });
                }
            }
            Command::Message { conn, message } => {
                if self.links.contains_key(&conn) {
                    self.event(Event::Decoded { conn, message });
                }
            }
            Command::Detach { conn } => {
                if self.links.remove(&conn).is_some() {
                    self.event(Event::Disconnected { conn });
                }
            }
            Command::Role { conn, role } => {
                let Some((_, grant)) = self.links.get_mut(&conn) else {
                    return;
                };
                let grants = match role {
                    Some(role) => {
                        grant.role = role;
                        BTreeMap::from([(self.doc, grant.access())])
                    }
                    None => BTreeMap::new(),
                };
                self.event(Event::Grant { conn, grants });
            }
            Command::CatchUp => self.catch_up(false),
            Command::Call(f) => f(self),
        }
        self.deliveries();
    }

    /// The core's copy of the document, loaded from storage if it does not hold it; `None`
    /// if storage has no such document.
    pub(super) fn held(&mut self) -> Result<Option<&mut AutoCommit>, ServiceError> {
        if self.hub.document(&self.doc).is_none() {
            let Some(bytes) = self.load()? else {
                return Ok(None);
            };
            let document =
                Box::new(AutoCommit::load(&bytes).map_err(plansync_shared::Error::from)?);
            self.event(Event::Restore {
                doc: self.doc,
                document,
            });
        }
        Ok(self.hub.document_mut(&self.doc))
    }

    /// How far a peer we dialed (an upstream server) has our copy: the changes it lacks
    /// and its heads, as it told us on `conn`, or else as `recorded`; `None` if we do not
    /// hold the plan.
    pub(super) fn upstream_lacks(
        &mut self,
        conn: Option<ConnId>,
        recorded: Vec<String>,
    ) -> Option<(usize, Vec<String>)> {
        let told: Vec<String> = conn
            .and_then(|c| self.hub.remote_heads(c, &self.doc))
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        let theirs = if told.is_empty() { recorded } else { told };
        self.held().ok()??;
        let doc = self.hub.document_mut(&self.doc)?;
        Some((crate::relay::changes_beyond(doc, &theirs), theirs))
    }

    /// Holds a new document (a plan just created) and stores it; false if storing failed.
    pub(super) fn add(&mut self, document: AutoCommit) -> bool {
        self.event(Event::Add {
            doc: self.doc,
            document: Box::new(document),
        })
    }

    /// Merges a change made on a copy (`chunk`, from `save_after`) and stores it; false if
    /// storing failed.
    pub(super) fn merge_change(&mut self, chunk: &[u8]) -> Result<bool, ServiceError> {
        let doc = self.held()?.ok_or(ServiceError::NoPlan)?;
        doc.load_incremental(chunk)
            .map_err(plansync_shared::Error::from)?;
        Ok(self.event(Event::LocalChange { doc: self.doc }))
    }

    /// The stored bytes (`None` if not stored), noting which chunks they were.
    fn load(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let stored = self.shared.rt.block_on(self.shared.store.load(self.doc))?;
        Ok(stored.map(|s| {
            self.chunks = HeldChunks::default();
            self.chunks.read(&s);
            s.bytes
        }))
    }

    /// Reads the chunks other nodes stored since we last read, and sends them to the peers;
    /// `sweep` when no announcement asked for it (what it finds then is logged).
    fn catch_up(&mut self, sweep: bool) {
        if !self.hub.has_content(&self.doc) {
            return;
        }
        let after = self.chunks.read_up_to;
        let read = self
            .shared
            .rt
            .block_on(self.shared.store.load_after(self.doc, after));
        match read {
            Ok(stored) if !stored.chunks.is_empty() => {
                if sweep {
                    tracing::info!(doc = %self.doc, chunks = stored.chunks.len(), "read changes another node stored that no announcement brought");
                }
                self.chunks.read(&stored);
                self.event(Event::Stored {
                    doc: self.doc,
                    chunk: stored.bytes,
                });
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(doc = %self.doc, error = %e, "could not read another node's changes; the next sweep tries again")
            }
        }
    }

    /// Handles one event and carries out its effects; false if a persist failed.
    pub(super) fn event(&mut self, event: Event) -> bool {
        let effects = self.hub.handle(now_ms(), event);
        self.carry_out(effects)
    }

    fn carry_out(&mut self, effects: Vec<Effect>) -> bool {
        let mut persisted = true;
        for effect in effects {
            match effect {
                Effect::Send {
                    conn,
                    frame,
                    delivered,
                } => {
                    if !persisted {
                        continue;
                    }
                    let Some((link, grant)) = self.links.get(&conn) else {
                        continue;
                    };
                    let receipt = delivered.map(|_| Receipt::new(conn, self.written.clone()));
                    if !link.send_or_cut_off(
                        frame,
                        receipt,
                        &self.shared.limits,
                        std::slice::from_ref(grant),
                    ) {
                        self.links.remove(&conn);
                        self.event(Event::Disconnected { conn });
                    }
                }
                Effect::Close { conn, reason } => {
                    if let Some((link, _)) = self.links.remove(&conn) {
                        link.close(reason);
                    }
                }
                Effect::Load { doc } => {
                    let result = if doc == self.doc {
                        self.load().map_err(|e| {
                            tracing::error!(%doc, error = %e, "loading a document failed");
                            e.to_string()
                        })
                    } else {
                        Ok(None)
                    };
                    persisted &= self.event(Event::Loaded { doc, result });
                }
                Effect::Persist {
                    doc,
                    chunk,
                    changes,
                } => persisted &= self.persist(doc, chunk, changes),
                Effect::Warn { conn, message } => {
                    tracing::warn!(conn = conn.map(|c| c.0), "{message}")
                }
                Effect::Ready { .. }
                | Effect::Changed { .. }
                | Effect::Unavailable { .. }
                | Effect::Ephemeral { .. } => {}
            }
        }
        persisted
    }

    /// Stores a chunk with who sent each change; on failure the core is told (its peers are
    /// refused and disconnected) and false is returned.
    fn persist(
        &mut self,
        doc: DocumentId,
        chunk: Vec<u8>,
        changes: Vec<(plansync_shared::automerge::ChangeHash, Option<ConnId>)>,
    ) -> bool {
        let summary = self.hub.document(&doc).and_then(plan_summary);
        let changes: Changes = changes
            .iter()
            .map(|(hash, from)| {
                let by: Option<ParticipantId> =
                    from.and_then(|c| self.links.get(&c).and_then(|(_, g)| g.participant));
                (*hash, by)
            })
            .collect();
        let appended = self.shared.rt.block_on(self.shared.store.append(
            doc,
            chunk,
            changes,
            summary,
            now_ms() as i64,
        ));
        match appended {
            Ok(appended) => {
                self.chunks.covered.push(appended.chunk);
                if appended.compact {
                    self.compact();
                }
                true
            }
            Err(e) => {
                tracing::error!(%doc, error = %e, "saving changes failed; the change is refused and its peers disconnected");
                self.event(Event::PersistFailed {
                    doc,
                    reason: e.to_string(),
                });
                false
            }
        }
    }

    /// Replaces the chunks this copy holds with one snapshot of it. The snapshot is saved
    /// from a copy on a blocking thread (saving a large plan takes long enough to stall
    /// every keystroke on it), and the actor then learns which chunk replaced which.
    fn compact(&mut self) {
        if self.compacting {
            return;
        }
        let Some(d) = self.hub.document(&self.doc) else {
            return;
        };
        let mut copy = d.clone();
        let covered = self.chunks.covered.clone();
        let (doc, store, rt, me) = (
            self.doc,
            self.shared.store.clone(),
            self.shared.rt.clone(),
            self.me.clone(),
        );
        self.compacting = true;
        self.shared.rt.spawn_blocking(move || {
            let snapshot = copy.save();
            let bytes = snapshot.len();
            let compacted = rt.block_on(store.compact(doc, snapshot, covered.clone()));
            let done: Call = Box::new(move |actor: &mut DocActor| {
                actor.compacting = false;
                match compacted {
                    Ok(made) => {
                        // Chunks stored since the copy was taken stay as they are; what other
                        // nodes stored meanwhile is still read after `read_up_to`.
                        actor.chunks.covered.retain(|c| !covered.contains(c));
                        if !actor.chunks.covered.contains(&made) {
                            actor.chunks.covered.insert(0, made);
                        }
                        tracing::debug!(%doc, bytes, "compacted");
                    }
                    Err(e) => {
                        tracing::warn!(%doc, error = %e, "compaction failed; the document is intact and will compact later")
                    }
                }
            });
            // An actor that stopped meanwhile loads afresh: its successor reads the result.
            if let Some(slot) = me.upgrade() {
                slot.post(done);
            }
        });
    }
}
