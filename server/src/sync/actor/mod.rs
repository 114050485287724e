//! One document's actor: a task of the engine's pool that owns the sync core for that
//! document (a [`Hub`] holding it and the connections syncing it), takes commands from a
//! bounded queue and carries out the core's effects in order, persisting before advertising.

mod copy;
mod driver;

use super::engine::{Pool, Slot, Step, Task, Wake};
use super::outbox::{Link, Receipt, Written};
use super::{lock, now_ms, Grant, Limits, ServiceError};
use crate::access::{ParticipantId, Role};
use crate::store::{Appended, Changes, ChunkId, Store, StoreError, Stored};
use copy::HeldChunks;
use driver::Waiter;
use plansync_shared::{
    automerge::AutoCommit, plan_summary, Attached, ConnId, DocumentId, Effect, Event, Hub,
    HubConfig, Message, PersistId,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Flush once commands pause this long...
const QUIET: Duration = Duration::from_millis(1);
/// ...or this long after the first change held back, whichever comes first.
const COALESCE: Duration = Duration::from_millis(40);
/// ...but no sooner than this after the last flush: a busy plan answers its peers at most
/// this often (the reference JS server's 100 ms, halved), so each peer gets, and
/// acknowledges, one message per round rather than one per change.
const MIN_GAP: Duration = Duration::from_millis(50);
/// ...or this on a database other nodes share: each node's peers get the changes other
/// nodes stored meanwhile in the same round as its own, not one message per piece.
const MIN_GAP_SHARED: Duration = Duration::from_millis(200);
/// ...and, for a plan with many heads, this long per head, up to [`MAX_GAP`]: every message
/// and acknowledgement names each head (32 bytes), so after a room of offline branches
/// reconnects (hundreds of heads) a round costs each peer kilobytes beyond its changes.
const PER_HEAD: Duration = Duration::from_millis(10);
/// The longest a busy plan waits between rounds.
const MAX_GAP: Duration = Duration::from_secs(2);
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
        /// Who joined on it, as the front hub routed it.
        attached: Attached,
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
    /// Persists under way.
    saving: BTreeSet<PersistId>,
    /// Who waits for persists under way to complete.
    waiters: Vec<Waiter>,
    /// Commands taken since persists have been under way (none when none is).
    taken_while_saving: usize,
    /// The connections counted in the participants metric when it was last set.
    reported_links: usize,
}

impl Drop for DocActor {
    /// A plan no longer in use has no participants metric.
    fn drop(&mut self) {
        crate::metrics::metrics()
            .participants
            .remove(&crate::metrics::PlanLabel {
                plan: self.doc.to_string(),
            });
    }
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
            saving: BTreeSet::new(),
            waiters: Vec::new(),
            taken_while_saving: 0,
            reported_links: 0,
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
    /// [`MIN_GAP`] ([`MIN_GAP_SHARED`] on a shared database) after the last flush: a room
    /// reconnecting is stored in few transactions and each peer gets few messages. An actor
    /// idle with no connections leaves the registry (unless a command arrived meanwhile)
    /// and finishes.
    fn step(&mut self, posted: Vec<Call>) -> Step {
        use tokio::sync::mpsc::error::TryRecvError;
        for call in posted {
            call(self);
        }
        let mut handled = 0;
        let mut closed = false;
        // While a persist is under way the core holds the document's messages (and the
        // peers' acknowledgements go on arriving); past a queue's worth they wait in the
        // bounded queue instead, so a stalled store slows peers rather than buffering them.
        while handled < BUDGET && self.taken_while_saving < self.shared.limits.max_document_queue {
            match self.rx.try_recv() {
                Ok(cmd) => {
                    handled += 1;
                    if !self.saving.is_empty() {
                        self.taken_while_saving += 1;
                    }
                    let started = Instant::now();
                    self.timing.last_command = started;
                    let what = cmd.kind();
                    self.command(cmd);
                    slow(self.doc, what, started);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        // What this turn left to persist, fan out or answer (from commands, or from a
        // persist's completion handing the core the messages that waited for it) is
        // flushed on the timing below.
        if self.hub.has_unflushed() {
            self.timing.first_unflushed.get_or_insert_with(Instant::now);
        }
        self.deliveries();
        if self.links.len() != self.reported_links {
            self.report_participants();
        }
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
        if self.timing.first_unflushed.is_none() && self.links.is_empty() && self.saving.is_empty()
        {
            let idle_until = self.timing.last_command + self.shared.limits.document_idle;
            if now >= idle_until && self.leave_registry() {
                self.event(Event::Flush);
                tracing::debug!(doc = %self.doc, "document actor stopped");
                return Step::Done;
            }
            wake = earliest(wake, idle_until);
        }
        // A plan its peers leave alone rests as its saved bytes (the core says when).
        if let Some(at) = self.hub.next_rest() {
            let now_ms = now_ms();
            if now_ms >= at {
                self.event(Event::Tick);
            } else {
                wake = earliest(wake, now + Duration::from_millis(at - now_ms));
            }
        }
        Step::Wait(wake)
    }
}

/// The earlier of a moment and maybe another.
fn earliest(a: Option<Instant>, b: Instant) -> Option<Instant> {
    Some(a.map_or(b, |a| a.min(b)))
}

impl DocActor {
    /// Sets the plan's participants metric: the distinct participants connected (a
    /// connection this server dialed to an upstream counts as one).
    fn report_participants(&mut self) {
        self.reported_links = self.links.len();
        let people: BTreeSet<Option<i64>> = self
            .links
            .values()
            .map(|(_, g)| g.participant.map(|p| p.0))
            .collect();
        crate::metrics::metrics()
            .participants
            .get_or_create(&crate::metrics::PlanLabel {
                plan: self.doc.to_string(),
            })
            .set(people.len() as i64);
    }

    /// The earliest moment of the next flush: [`DocActor::min_gap`] after the last one if
    /// changes are to be fanned out; at once if it only answers acknowledgements (a first
    /// sync's round trips are not slowed).
    fn next_flush(&mut self) -> Instant {
        if self.hub.has_unflushed_changes() {
            self.timing.last_flush + self.min_gap()
        } else {
            self.timing.last_flush
        }
    }

    /// The least time between two rounds of fanning out changes.
    fn min_gap(&mut self) -> Duration {
        let least = if self.shared.shared_db {
            MIN_GAP_SHARED
        } else {
            MIN_GAP
        };
        let heads = self.hub.head_count(&self.doc).min(1_000) as u32;
        least.max((PER_HEAD * heads).min(MAX_GAP))
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
                attached,
                grant,
                dialed,
            } => {
                let who = grant.who.clone();
                self.links.insert(conn, (link, grant));
                if dialed {
                    // Held first, so the core offers it to the upstream at once.
                    if let Err(e) = self.held() {
                        tracing::warn!(doc = %self.doc, error = %e, "could not load a plan to relay");
                    }
                    self.event(Event::Dialed {
                        conn,
                        peer: attached.peer,
                        grants: BTreeMap::from([(self.doc, attached.access)]),
                    });
                    return;
                }
                self.event(Event::Attach {
                    conn,
                    doc: self.doc,
                    attached,
                    who,
                });
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
}
