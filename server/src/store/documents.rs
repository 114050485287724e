//! Plans' documents as automerge chunks, and the plans list.

use super::*;
pub use plansync_shared::api::PlanRow;

/// The changes in an appended chunk, each with the participant who sent it (`None` for
/// the server's own).
pub type Changes = Vec<(ChangeHash, Option<ParticipantId>)>;

/// Identifies one stored chunk of a document; later chunks have larger ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChunkId(pub i64);

/// A document as stored: its chunks concatenated (automerge loads them as one) and which
/// chunks those were.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// The chunks' bytes, in order.
    pub bytes: Vec<u8>,
    /// The chunks read.
    pub chunks: Vec<ChunkId>,
}

/// What appending a chunk did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Appended {
    /// The new chunk.
    pub chunk: ChunkId,
    /// The document's newest chunk before it (`None` for its first), read under the
    /// document's write lock: a node that had read up to that one has now read up to
    /// `chunk` too.
    pub after: Option<ChunkId>,
    /// Whether the document should now be compacted.
    pub compact: bool,
}

/// A change another node made, as the database announces it (PostgreSQL LISTEN/NOTIFY
/// carries ids, never data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Another node stored changes to this document.
    Document(DocumentId),
    /// Another node changed this participant's role or revoked them.
    Participant(ParticipantId),
    /// The announcements were (re)connected: any sent meanwhile are lost, so catch up on
    /// every document and participant held.
    Resync,
}

/// Compact a document once it has this many chunks, whatever their size (loading cost)...
pub(crate) const COMPACT_MAX_CHUNKS: i64 = 128;
/// ...or once its increments outgrow its snapshot (file size), if it has at least this many.
pub(crate) const COMPACT_MIN_CHUNKS: i64 = 16;

/// Whether a document with `count` chunks, `increments` bytes of incremental chunks and
/// `snapshots` bytes of snapshots should be compacted.
pub(crate) fn should_compact(count: i64, increments: i64, snapshots: i64) -> bool {
    count >= COMPACT_MAX_CHUNKS || (count >= COMPACT_MIN_CHUNKS && increments > snapshots)
}

/// Documents as automerge chunks and the plans list.
#[async_trait::async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    /// This server's storage id, made once (from `fresh`) and kept.
    async fn storage_id(&self, fresh: String) -> Result<String>;

    /// Every stored chunk of a document, or `None` if the document is not stored.
    async fn load(&self, doc: DocumentId) -> Result<Option<Stored>>;
    /// The chunks stored after `after`, in order (what other nodes appended).
    async fn load_after(&self, doc: DocumentId, after: ChunkId) -> Result<Stored>;
    /// Durably appends changes to a document, who sent them, and its plan row, in one
    /// transaction.
    async fn append(
        &self,
        doc: DocumentId,
        chunk: Vec<u8>,
        changes: Changes,
        plan: Option<PlanSummary>,
        now_ms: i64,
    ) -> Result<Appended>;
    /// Replaces exactly the chunks `covered` with one snapshot holding (at least) their
    /// changes, in one transaction; chunks appended meanwhile stay. Returns the new chunk.
    async fn compact(
        &self,
        doc: DocumentId,
        snapshot: Vec<u8>,
        covered: Vec<ChunkId>,
    ) -> Result<ChunkId>;
    /// Number of chunks of a document (for tests of compaction).
    async fn chunk_count(&self, doc: DocumentId) -> Result<i64>;
    /// Every plan, most recently changed first.
    async fn plans(&self) -> Result<Vec<PlanRow>>;
    /// The schema version the database has, and the one this build knows (they differ
    /// once a newer node has migrated a shared database).
    async fn schema(&self) -> Result<(usize, usize)>;

    /// Announcements of what other nodes change, if other nodes can share this database
    /// (`None` for SQLite, which one server owns). Each call starts a new listener.
    fn notices(&self) -> Option<tokio::sync::mpsc::Receiver<Notice>>;
}
