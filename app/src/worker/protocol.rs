//! What the page and the sync worker say to each other (JSON over `postMessage`): the
//! page asks for plans and sends plan operations; the worker answers with the typed plan
//! and patches, and tells the page about the link and the server.

use plansync_shared::{DocumentId, HistoryEntry, Plan, PlanOp, PlanPatch};
use serde::{Deserialize, Serialize};

/// From the page to the worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToWorker {
    /// Connect to the server's `/sync` at this address (with the tokens held).
    Connect(String),
    /// The page is back on the network: dial at once.
    Online,
    /// Open a plan; the page already shows the copy it kept at `shown` (heads), if any.
    Open {
        /// The plan.
        doc: DocumentId,
        /// The heads of the copy the page shows.
        shown: Option<Vec<String>>,
    },
    /// The page shows the plan as read at `heads` (the server's reading, on a first open):
    /// if the document is at those heads when it arrives, only later changes need come.
    Shown {
        /// The plan.
        doc: DocumentId,
        /// The heads of the plan the page shows.
        heads: Vec<String>,
    },
    /// Make a change (numbered by the page, in order).
    Apply {
        /// The plan.
        doc: DocumentId,
        /// The page's number for it.
        seq: u64,
        /// The change.
        op: PlanOp,
    },
    /// Send presence to the others with the plan.
    Ephemeral {
        /// The plan.
        doc: DocumentId,
        /// The payload.
        data: Vec<u8>,
    },
    /// The plan as it was at `heads`.
    PlanAt {
        /// The request's number.
        req: u64,
        /// The plan.
        doc: DocumentId,
        /// The heads.
        heads: Vec<String>,
    },
    /// The plan's history, newest first.
    History {
        /// The request's number.
        req: u64,
        /// The plan.
        doc: DocumentId,
    },
    /// The whole plan again (a patch did not fit the page's copy).
    Whole(DocumentId),
}

/// From the worker to the page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FromWorker {
    /// The link to the server changed.
    Link(crate::sync::Link),
    /// A plan changed: bring the page's copy up to date.
    Patch {
        /// The plan.
        doc: DocumentId,
        /// What changed.
        patch: PlanPatch,
        /// The heads the plan is now at.
        heads: Vec<String>,
        /// The page's last operation this includes.
        applied: u64,
        /// Whether a peer's change is among it.
        remote: bool,
    },
    /// The copy the page shows is the plan now: later patches follow from it.
    Current(DocumentId),
    /// The worker has applied the page's operation with this number (or refused it).
    Applied(u64),
    /// Every operation up to this one is stored in this browser.
    Stored {
        /// The plan.
        doc: DocumentId,
        /// The page's number of the last operation stored.
        up_to: u64,
    },
    /// An operation was refused, and why.
    Refused {
        /// The page's number for it.
        seq: u64,
        /// Why, in words.
        why: String,
    },
    /// How many of my changes the server has not got.
    Unsynced {
        /// The plan.
        doc: DocumentId,
        /// How many (`None`: not known yet).
        count: Option<usize>,
    },
    /// Neither this browser nor the server has the plan.
    Unavailable(DocumentId),
    /// The plan's document cannot be read as a plan.
    Unreadable {
        /// The plan.
        doc: DocumentId,
        /// Why.
        why: String,
    },
    /// Storing in this browser failed.
    StoreFailed(String),
    /// The worker could not start or stopped (its script's words).
    Failed(String),
    /// Presence from another peer.
    Ephemeral {
        /// The plan.
        doc: DocumentId,
        /// Who.
        sender: String,
        /// The payload.
        data: Vec<u8>,
    },
    /// The answer to [`ToWorker::PlanAt`].
    PlanAt {
        /// The request's number.
        req: u64,
        /// The plan then, or why not.
        result: Result<Box<Plan>, String>,
    },
    /// The answer to [`ToWorker::History`].
    History {
        /// The request's number.
        req: u64,
        /// The entries, or why not.
        result: Result<Vec<HistoryEntry>, String>,
    },
    /// A timing the benchmark reads (see `perf`), in milliseconds since the epoch.
    Perf {
        /// The step.
        name: String,
        /// When it started.
        start: f64,
        /// When it ended.
        end: f64,
    },
}
