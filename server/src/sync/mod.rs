//! The sync service: the sync core ([`plansync_shared::Hub`]) run as one actor per
//! document, each with its own queue, run in turns by a small fixed pool of threads (the
//! engine), so a thousand plans in use cost a few threads and one plan's large first sync
//! delays a keystroke on another only while every thread of the pool is busy. A small front hub answers every
//! connection's handshake; the [`SyncHandle`] routes each document message to its
//! document's actor. Each actor carries out its core's effects in order on the server's
//! [`crate::Store`]: a `Persist` is committed before any later `Send`, so no peer is ever
//! told about heads that are not durable.

mod actor;
mod engine;
mod outbox;
mod service;

pub use outbox::{Outbound, OutboundQueue};
pub use service::SyncHandle;

use crate::access::{Participant, ParticipantId, Role};
use crate::store::StoreError;
use plansync_shared::{automerge::AutoCommit, DocumentId};
use std::sync::{Mutex, MutexGuard};

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
    /// The participant whose token gave it; `None` on a connection this server dialed to
    /// an upstream server (the upstream's changes have no participant here).
    pub participant: Option<ParticipantId>,
    /// Their role.
    pub role: Role,
    /// Who they are, as their presence is stamped (`None` on a connection we dialed).
    pub who: Option<plansync_shared::Stamp>,
    /// A relaying server's token (its own server enforced its people's roles).
    pub relay: bool,
}

impl Grant {
    /// What the sync core lets this connection do with the plan: a viewer reads; an editor
    /// edits all but what only owners change; an owner, a relaying server and an upstream
    /// this server dialed change anything (each server enforces its own people's roles).
    pub fn access(&self) -> plansync_shared::Access {
        use plansync_shared::Access;
        match self.role {
            Role::Viewer => Access::Read,
            Role::Editor if self.participant.is_some() && !self.relay => Access::Edit,
            Role::Editor | Role::Owner => Access::Write,
        }
    }

    /// The grant a participant's token gives, if their plan id is a document id.
    pub fn of(p: &Participant) -> Option<Self> {
        Some(Self {
            doc: p.plan.parse().ok()?,
            participant: Some(p.id),
            role: p.role,
            who: Some(plansync_shared::Stamp {
                name: p.name.clone(),
                agency: p.agency.clone(),
                role: p.role.as_str().to_string(),
                known: p.known().map(|k| k.stored()).unwrap_or_default(),
            }),
            relay: p.kind == crate::access::ParticipantKind::Server,
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
    /// Commands a document's actor holds before senders wait (frames from its peers, calls
    /// from HTTP handlers): a flood of one plan's messages slows its senders, not memory.
    pub max_document_queue: usize,
    /// A document's actor with no connections stops after this long without commands (its
    /// document is durable; the next use loads it again).
    pub document_idle: std::time::Duration,
    /// The threads that run the documents' actors, however many plans are in use.
    pub sync_threads: usize,
    /// A document its peers leave alone this long is held as its saved bytes until used
    /// again (about an eighth of its memory); `None` keeps documents in memory.
    pub document_rest: Option<std::time::Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 8 << 20,
            max_document_bytes: 64 << 20,
            max_queued_bytes: 4 << 20,
            max_queued_frames: 4_096,
            max_document_queue: 256,
            document_idle: std::time::Duration::from_secs(30),
            sync_threads: 4,
            document_rest: Some(std::time::Duration::from_millis(
                plansync_shared::SERVER_REST_AFTER_MS,
            )),
        }
    }
}

/// A lock that a panicked holder did not leave unusable (the data is plain bookkeeping).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The time the sync core is given, in milliseconds.
fn now_ms() -> u64 {
    crate::now_ms() as u64
}
