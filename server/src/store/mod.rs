//! Everything the server keeps, behind one interface ([`Backend`]): documents as automerge
//! chunks, the plans list, participants and their tokens, invitations, snapshots and who
//! made each change. Two backends: SQLite (embedded, the default) and PostgreSQL (a
//! central deployment of several nodes). Each backend's SQL lives in its own module and
//! nothing else in the server names a database client.

mod postgres;
mod sqlite;

pub use postgres::Postgres;
pub use sqlite::Sqlite;

pub use crate::access::RoleChange;
use crate::access::{
    Invitation, JoinRefused, LinkOutcome, NewPersonLink, Participant, ParticipantId, Role,
};
use crate::history::{ChangeAuthor, Snapshot};
use plansync_shared::automerge::ChangeHash;
use plansync_shared::{
    DocumentId, Known, ParticipantEmail, PersonLink, PlanSummary, SignInRule, SignOff,
};
use std::collections::HashMap;
use std::sync::Arc;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error (disk full, read-only file system, lost connection...).
    #[error("database error: {0}")]
    Database(String),
    /// The database cannot be opened or reached.
    #[error("could not open or create the database {place} ({reason}): {hint}")]
    Open {
        /// The file or server.
        place: String,
        /// What the database said.
        reason: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// The database is not a usable Plansync database.
    #[error("{place} is not a usable Plansync database: {reason}")]
    Corrupt {
        /// The file or server.
        place: String,
        /// What was found.
        reason: String,
    },
    /// A blocking database task failed to finish.
    #[error("a database task stopped: {0}")]
    Task(String),
}

/// One plan as listed by the API.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanRow {
    /// The document id (bare, bs58check).
    pub id: String,
    /// The plan's title.
    pub title: String,
    /// `automerge:<id>`.
    pub url: String,
    /// Lifecycle stage.
    pub stage: String,
    /// Last change, milliseconds since the Unix epoch.
    pub updated: i64,
}

impl PlanRow {
    /// A row from its stored columns.
    pub(crate) fn new(id: String, title: String, stage: String, updated: i64) -> Self {
        Self {
            url: format!("automerge:{id}"),
            id,
            title,
            stage,
            updated,
        }
    }
}

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
    /// Whether the document should now be compacted.
    pub compact: bool,
}

/// Why redeeming an invitation failed: it refused, or storage failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The invitation refused.
    #[error(transparent)]
    Refused(#[from] JoinRefused),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
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
const COMPACT_MIN_CHUNKS: i64 = 16;

/// Whether a document with `count` chunks, `increments` bytes of incremental chunks and
/// `snapshots` bytes of snapshots should be compacted.
fn should_compact(count: i64, increments: i64, snapshots: i64) -> bool {
    count >= COMPACT_MAX_CHUNKS || (count >= COMPACT_MIN_CHUNKS && increments > snapshots)
}

/// A participant about to be added.
#[derive(Debug, Clone)]
pub struct NewParticipant {
    /// The plan (document id).
    pub plan: String,
    /// Their name.
    pub name: String,
    /// Their agency.
    pub agency: String,
    /// Their role.
    pub role: Role,
    /// A person or a relaying server.
    pub kind: crate::access::ParticipantKind,
    /// The hash of their token ([`crate::hash_token`]).
    pub token_hash: String,
}

/// An invitation about to be created.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// The plan (document id).
    pub plan: String,
    /// The role it gives.
    pub role: Role,
    /// Its code.
    pub code: String,
    /// When it stops working (ms since 1970).
    pub expires_ms: i64,
    /// How many people may join with it.
    pub uses: i64,
    /// Whether joining needs a sign-in with an agency's provider.
    pub sign_in: SignInRule,
}

/// The result type of storage calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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

    /// Announcements of what other nodes change, if other nodes can share this database
    /// (`None` for SQLite, which one server owns). Each call starts a new listener.
    fn notices(&self) -> Option<tokio::sync::mpsc::Receiver<Notice>>;
}

/// Participants, their tokens and invitations. Rules that touch several rows (redeeming an
/// invitation, keeping an owner) hold in one transaction.
#[async_trait::async_trait]
pub trait AccessStore: Send + Sync + 'static {
    /// Adds a participant.
    async fn add_participant(&self, p: NewParticipant, now_ms: i64) -> Result<Participant>;
    /// The participant a token belongs to, unless it was revoked or (a sign-in's token)
    /// ended before `now_ms`.
    async fn participant_by_token(
        &self,
        token_hash: String,
        now_ms: i64,
    ) -> Result<Option<Participant>>;
    /// A current (not revoked) participant by id.
    async fn participant(&self, id: ParticipantId) -> Result<Option<Participant>>;
    /// The current (not revoked) participants of a plan, in the order they joined.
    async fn participants(&self, plan: String) -> Result<Vec<Participant>>;
    /// Changes a participant's role, unless that leaves the plan without an owner.
    async fn set_role(&self, plan: String, id: ParticipantId, role: Role) -> Result<RoleChange>;
    /// Revokes a participant's token, unless that leaves the plan without an owner.
    async fn revoke_participant(
        &self,
        plan: String,
        id: ParticipantId,
        now_ms: i64,
    ) -> Result<RoleChange>;
    /// Creates an invitation.
    async fn create_invitation(&self, inv: NewInvitation, now_ms: i64) -> Result<Invitation>;
    /// A plan's invitations that can still be used.
    async fn invitations(&self, plan: String, now_ms: i64) -> Result<Vec<Invitation>>;
    /// Withdraws an invitation; false if there is no such invitation.
    async fn revoke_invitation(&self, plan: String, id: i64, now_ms: i64) -> Result<bool>;
    /// If the plan has no current owner: withdraws its unused owner invitations and creates
    /// `inv` (an owner invitation), in one transaction. `None` if it has an owner.
    async fn replace_owner_invitation(
        &self,
        inv: NewInvitation,
        now_ms: i64,
    ) -> Result<Option<Invitation>>;
    /// The links of a plan's current participants to its people.
    async fn person_links(&self, plan: String) -> Result<Vec<PersonLink>>;
    /// Links a current participant to a plan person, or updates their link (an owner
    /// confirming it), under [`crate::access::link_rule`], in one transaction.
    async fn link_person(&self, link: NewPersonLink, now_ms: i64) -> Result<LinkOutcome>;
    /// Removes a participant's link to a plan person; false if there was none.
    async fn unlink_person(
        &self,
        plan: String,
        participant: ParticipantId,
        person: String,
    ) -> Result<bool>;
    /// Sets (or with `None` removes) a current participant's email address and whether
    /// reminders go to it; false if there is no such current participant.
    async fn set_email(
        &self,
        plan: String,
        participant: ParticipantId,
        email: Option<(String, bool)>,
    ) -> Result<bool>;
    /// The email addresses of a plan's current participants.
    async fn emails(&self, plan: String) -> Result<Vec<ParticipantEmail>>;
    /// Takes the reminders among `keys` (each with its participant) that are this node's
    /// to send now, in one transaction: new ones, and ones whose hold ran out by `now_ms`
    /// (a failed try's retry time, or a sender that stopped). Each taken is held until
    /// `hold_until_ms`. A key sent, given up, or held by another node is not taken; of two
    /// nodes taking the same key at once, exactly one gets it.
    async fn take_reminders(
        &self,
        plan: String,
        keys: Vec<(String, i64)>,
        now_ms: i64,
        hold_until_ms: i64,
    ) -> Result<Vec<String>>;
    /// Records reminders as sent: nobody sends them again.
    async fn reminders_sent(&self, keys: Vec<String>, now_ms: i64) -> Result<()>;
    /// Puts a taken reminder back to be tried from `retry_ms`; `error` (if any) counts as a
    /// failed try, and after [`MAX_REMINDER_TRIES`] of those it is given up.
    async fn reminder_retry(&self, key: String, retry_ms: i64, error: Option<String>)
        -> Result<()>;
    /// Uses one place of the invitation with this code and adds the person as a participant,
    /// in one transaction.
    async fn redeem(
        &self,
        code: String,
        name: String,
        agency: String,
        token_hash: String,
        now_ms: i64,
    ) -> Result<Participant, JoinError>;
}

/// Who made each change, and named snapshots.
#[async_trait::async_trait]
pub trait HistoryStore: Send + Sync + 'static {
    /// Who sent each accepted change of a document (hash, participant; `None` for the
    /// server's own), in the order they were received.
    async fn change_authors(&self, doc: String) -> Result<Vec<(String, Option<ParticipantId>)>>;
    /// Names the participant behind changes the server made on their behalf.
    async fn attribute(
        &self,
        doc: String,
        hashes: Vec<ChangeHash>,
        by: ParticipantId,
        now_ms: i64,
    ) -> Result<()>;
    /// Who sent each change of a plan and when, by change hash.
    async fn authors(&self, doc: String) -> Result<HashMap<String, ChangeAuthor>>;
    /// Records a snapshot of a plan at `heads`.
    async fn add_snapshot(
        &self,
        plan: String,
        name: String,
        heads: Vec<ChangeHash>,
        by: Option<ParticipantId>,
        now_ms: i64,
    ) -> Result<Snapshot>;
    /// A plan's snapshots, newest first.
    async fn snapshots(&self, plan: String) -> Result<Vec<Snapshot>>;
    /// One snapshot of a plan.
    async fn snapshot(&self, plan: String, id: i64) -> Result<Option<Snapshot>>;
    /// The newest snapshot of a plan with this name.
    async fn snapshot_named(&self, plan: String, name: String) -> Result<Option<Snapshot>>;
    /// Records a snapshot another server took (fetched by `plansync pull`), unless one with
    /// the same name and heads is here already; true if it was added.
    async fn add_pulled_snapshot(&self, plan: String, snapshot: PulledSnapshot) -> Result<bool>;

    /// Records a chair's sign-off of a board's return for a round (the caller has checked
    /// that they may); returns it as recorded.
    async fn add_sign_off(&self, s: NewSignOff, now_ms: i64) -> Result<SignOff>;
    /// A plan's sign-offs, oldest first.
    async fn sign_offs(&self, plan: String) -> Result<Vec<SignOff>>;

    /// Keeps a published Board pack (its files as made then) under its public id.
    async fn add_publication(&self, p: Publication, html: Vec<u8>, pdf: Vec<u8>) -> Result<()>;
    /// A published pack's file (`pdf` or else the HTML) by its public id, if still published.
    async fn published_file(&self, id: String, pdf: bool) -> Result<Option<Vec<u8>>>;
    /// A plan's publications, newest first.
    async fn publications(&self, plan: String) -> Result<Vec<Publication>>;
    /// Unpublishes: the public address answers 404 from now on. False if there was none.
    async fn remove_publication(&self, plan: String, id: String) -> Result<bool>;

    /// Records who made changes on another server, as its relay (or, pulling, the server
    /// pulled from) reported them; a change's first report stands (a later one does not
    /// replace it).
    /// How many were recorded.
    async fn add_relayed(&self, doc: String, authors: Vec<RelayedAuthor>) -> Result<usize>;
}

/// How far each relay to an upstream server got.
#[async_trait::async_trait]
pub trait RelayStore: Send + Sync + 'static {
    /// How far each relay to an upstream got, per plan.
    async fn relay_progress(&self) -> Result<Vec<RelayProgress>>;
    /// Records how far a relay got with one plan.
    async fn set_relay_progress(&self, progress: RelayProgress) -> Result<()>;
}

/// A Board pack published at a public address that never changes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Publication {
    /// Its public id (unguessable: 128 random bits).
    pub id: String,
    /// The plan (document id).
    pub plan: String,
    /// The reporting period's key (`2026-Q2`).
    pub period: String,
    /// The pack's title.
    pub title: String,
    /// When it was published (ms since 1970).
    pub published_ms: i64,
}

/// A sign-off about to be recorded.
#[derive(Debug, Clone)]
pub struct NewSignOff {
    /// The plan (document id).
    pub plan: String,
    /// The round.
    pub round: String,
    /// The board.
    pub board: String,
    /// The board's name now.
    pub board_name: String,
    /// The participant who signed.
    pub participant: ParticipantId,
    /// The chair (plan person) they are.
    pub person: String,
    /// The chair's name now.
    pub name: String,
    /// The plan's heads signed off (hex).
    pub heads: Vec<String>,
    /// The snapshot taken at the sign-off.
    pub snapshot: Option<i64>,
}

/// A stored sign-off's columns as read back, in the order both backends select them.
#[allow(clippy::too_many_arguments)]
fn sign_off(
    id: i64,
    round: String,
    board: String,
    board_name: String,
    person: String,
    name: String,
    heads: String,
    snapshot: Option<i64>,
    signed_ms: i64,
) -> SignOff {
    SignOff {
        id,
        round: plansync_shared::RoundId::new(round),
        board: plansync_shared::BoardId::new(board),
        board_name,
        person: plansync_shared::PersonId::new(person),
        name,
        heads: heads.split_whitespace().map(str::to_string).collect(),
        snapshot,
        signed_ms,
        signed_on: plansync_shared::date_of_ms(signed_ms),
        changed: false,
        known: None,
    }
}

/// A snapshot as another server recorded it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PulledSnapshot {
    /// Its name.
    pub name: String,
    /// The plan's heads (hex change hashes).
    pub heads: Vec<String>,
    /// Who took it, as shown there.
    pub author: Option<String>,
    /// When (ms since 1970).
    pub created_ms: i64,
}

/// Who made one change on another server, as that server reported it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RelayedAuthor {
    /// The change (hex hash).
    pub hash: String,
    /// The person's name.
    pub name: String,
    /// Their agency.
    pub agency: String,
    /// The relaying servers it came through, nearest first ("Partner laptop, Workshop
    /// laptop"), if any.
    pub via: Option<String>,
    /// How the relay's server knew the person, if it said.
    pub known: Option<Known>,
}

/// How far a relay got with one plan on one upstream server.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct RelayProgress {
    /// The upstream server's address.
    pub upstream: String,
    /// The plan (document id).
    pub plan: String,
    /// The plan's heads as the upstream last said it holds them (hex change hashes).
    pub upstream_heads: Vec<String>,
    /// When the upstream was last reached (ms since 1970).
    pub reached_ms: Option<i64>,
    /// When the upstream last held every change this server had (ms since 1970).
    pub sent_ms: Option<i64>,
    /// How many of this server's change records (in the order received) have had their
    /// authors reported to the upstream.
    pub attributed: i64,
}

/// A sign-in under way: what the server keeps between sending a browser to the provider and
/// its return (one row, taken once).
#[derive(Debug, Clone, PartialEq)]
pub struct SignInFlow {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: String,
    /// SHA-256 of the cookie the browser that started it holds.
    pub browser_hash: String,
    /// The provider's id.
    pub provider: String,
    /// The PKCE verifier.
    pub verifier: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The invitation code it joins with, if any.
    pub invitation: Option<String>,
    /// Where in the app to go afterwards (`/#/...`).
    pub return_to: String,
    /// When it started (ms since 1970).
    pub created_ms: i64,
}

/// A person as their provider vouched for them.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedInPerson {
    /// The provider's id in the settings.
    pub provider: String,
    /// Its label ("Riverton City Council").
    pub label: String,
    /// The agency a new participant is of.
    pub agency: String,
    /// The ID token's issuer.
    pub issuer: String,
    /// The ID token's subject.
    pub subject: String,
    /// Their name, from the provider.
    pub name: String,
    /// Their email, from the provider.
    pub email: Option<String>,
}

/// Signing in with an agency's provider: flows under way, the participants an identity is,
/// the one-time codes that hand tokens to the app, and the tokens (sessions) that end.
#[async_trait::async_trait]
pub trait SignInStore: Send + Sync + 'static {
    /// Keeps a flow until the browser returns (and drops flows older than `MAX_FLOW_MS`).
    async fn begin_sign_in(&self, flow: SignInFlow) -> Result<()>;
    /// Takes a flow by its state's hash, once; `None` if unknown, taken or too old.
    async fn take_sign_in(&self, state_hash: String, now_ms: i64) -> Result<Option<SignInFlow>>;
    /// The current participants `who` is, after joining with `invitation` if given (which
    /// makes a participant of its plan with the provider's name, or finds the one there);
    /// each has its last sign-in, name and email brought up to date. `unusable_token` fills
    /// a new participant's code-token column: its tokens are sessions.
    async fn sign_in(
        &self,
        who: SignedInPerson,
        invitation: Option<String>,
        unusable_token: String,
        now_ms: i64,
    ) -> Result<Vec<Participant>, JoinError>;
    /// Keeps a one-time code that hands tokens for `participants` to the app.
    async fn add_handoff(
        &self,
        code_hash: String,
        participants: Vec<ParticipantId>,
        return_to: String,
        expires_ms: i64,
    ) -> Result<()>;
    /// Takes a one-time code, once: its participants and where to go.
    async fn take_handoff(
        &self,
        code_hash: String,
        now_ms: i64,
    ) -> Result<Option<(Vec<ParticipantId>, String)>>;
    /// A token for a participant that ends at `expires_ms`.
    async fn add_session(
        &self,
        token_hash: String,
        participant: ParticipantId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<()>;
    /// Ends these tokens (signing out); how many there were.
    async fn end_sessions(&self, token_hashes: Vec<String>) -> Result<usize>;
}

/// Participant ids as a column holds them: "3 7 12".
fn ids_text(ids: &[ParticipantId]) -> String {
    ids.iter()
        .map(|i| i.0.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads [`ids_text`]'s form back.
fn parse_ids(text: &str) -> Vec<ParticipantId> {
    text.split_whitespace()
        .filter_map(|i| i.parse().ok())
        .map(ParticipantId)
        .collect()
}

/// How long a browser has to come back from its provider.
pub const MAX_FLOW_MS: i64 = 10 * 60 * 1000;

/// Failed tries after which a reminder is given up (logged, never sent).
pub const MAX_REMINDER_TRIES: i64 = 8;

/// Everything the server keeps: one storage interface in three parts, which each backend
/// implements in its own folder.
pub trait Backend: DocumentStore + AccessStore + HistoryStore + RelayStore + SignInStore {}

impl<T: DocumentStore + AccessStore + HistoryStore + RelayStore + SignInStore> Backend for T {}

/// A handle to the server's storage, cheap to clone.
pub type Store = Arc<dyn Backend>;

/// Where the server keeps its data.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// An SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database (`postgres://USER@HOST[:PORT]/DB`).
    Postgres(String),
}

impl Location {
    /// Reads `--database`: `sqlite://FILE`, `postgres://...` (or `postgresql://...`), or a
    /// bare file name (SQLite).
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file name, e.g. sqlite://plansync.db".into());
            }
            return Ok(Self::Sqlite(path.into()));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_string()));
        }
        if text.contains("://") {
            return Err(format!(
                "{text}: the database must be sqlite://FILE or postgres://USER@HOST/DATABASE"
            ));
        }
        Ok(Self::Sqlite(text.into()))
    }

    /// The location as it may be printed (no password).
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(p) => p.display().to_string(),
            Self::Postgres(url) => postgres::without_password(url),
        }
    }
}

/// Opens (creating and migrating if needed) the storage at `location`.
pub async fn open(location: &Location) -> Result<Store> {
    Ok(match location {
        Location::Sqlite(path) => Arc::new(Sqlite::open(path).await?),
        Location::Postgres(url) => Arc::new(Postgres::connect(url).await?),
    })
}

/// The author of a snapshot as shown: "name, agency", or the name alone.
fn author(name: Option<String>, agency: Option<String>) -> Option<String> {
    name.map(|n| match agency {
        Some(a) if !a.is_empty() => format!("{n}, {a}"),
        _ => n,
    })
}

/// Heads as stored: hex hashes separated by spaces.
fn heads_text(heads: &[ChangeHash]) -> String {
    heads
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}
