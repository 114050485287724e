//! Who made each change, snapshots, sign-offs and publications, as stored.

use super::*;

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
pub(crate) fn sign_off(
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
