//! Versions and who changed what: `/api/plans/{plan}/snapshots`, `/history`, `/authors`,
//! `/plan`, `/compare` and `/restore`.

use crate::{Difference, HistoryEntry, ItemKind, Known};
use serde::{Deserialize, Serialize};

/// A named version of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Row id, unique on this server.
    pub id: i64,
    /// The plan's document id.
    pub plan: String,
    /// E.g. "Draft for Panel, January".
    pub name: String,
    /// The plan's heads when it was taken (hex change hashes).
    pub heads: Vec<String>,
    /// Who took it ("name, agency"), or `None` when taken from the shell.
    pub author: Option<String>,
    /// When (ms since 1970).
    pub created_ms: i64,
}

/// `POST /api/plans/{plan}/snapshots`: names a version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSnapshot {
    /// E.g. "Draft for Panel, January".
    pub name: String,
    /// The heads to name (the app sends its own); the server's heads if absent.
    pub heads: Option<Vec<String>>,
}

/// Who sent a change, as the server recorded it (`GET /api/plans/{plan}/authors`, by
/// change hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeAuthor {
    /// The participant's name, if a participant sent it.
    pub name: Option<String>,
    /// Their agency.
    pub agency: Option<String>,
    /// Their participant id.
    pub participant: Option<i64>,
    /// When the server received it (ms since 1970).
    pub received_ms: i64,
    /// The relaying servers it came through, when another server's relay reported who
    /// made it ("Workshop laptop"; a chain is listed nearest first).
    #[serde(default)]
    pub via: Option<String>,
    /// Whether the participant that sent it is a relaying server (its changes are someone
    /// else's: the relay's report, once here, names them).
    #[serde(default)]
    pub relayed: bool,
    /// How the person is known: signed in with a provider or joined with a code (as this
    /// server knows its participant, or as a relay reported it).
    #[serde(default)]
    pub known: Option<Known>,
}

impl crate::Attribution for ChangeAuthor {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn agency(&self) -> Option<&str> {
        self.agency.as_deref()
    }
    fn received_ms(&self) -> i64 {
        self.received_ms
    }
    fn via(&self) -> Option<&str> {
        self.via.as_deref()
    }
    fn known(&self) -> Option<Known> {
        self.known.clone()
    }
}

impl ChangeAuthor {
    /// How a change's sender is known, from what the database holds: a relay's report
    /// (`reported` true, with what it said), else the participant that sent it, if any (see
    /// [`Known::of_participant`]; a server is not known until its report comes).
    pub fn known_from(
        reported: bool,
        report: Option<&str>,
        kind: Option<&str>,
        label: Option<&str>,
    ) -> Option<Known> {
        if reported {
            return report.and_then(Known::from_stored);
        }
        kind.and_then(|k| Known::of_participant(k, label))
    }
}

/// `GET /api/plans/{plan}/history`: one entry with who made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attributed {
    /// The entry.
    #[serde(flatten)]
    pub entry: HistoryEntry,
    /// Who sent it (participant name), if the server knows.
    pub name: Option<String>,
    /// Their agency.
    pub agency: Option<String>,
    /// The relaying servers it came through ("Workshop laptop"), if any.
    pub via: Option<String>,
    /// Who, as shown ("name, agency, reported by Workshop laptop").
    pub by: Option<String>,
    /// When: the server's receipt time, or the editor's clock (ms since 1970).
    pub time_ms: i64,
}

/// The query of `/plan`, `/compare` and the exports: which version, board and period.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VersionQuery {
    /// Snapshot id.
    pub at: Option<i64>,
    /// For comparisons: the older snapshot.
    pub from: Option<i64>,
    /// The board of an exception report.
    pub board: Option<String>,
    /// The reporting period (`2026-Q2`); now's if absent.
    pub period: Option<String>,
}

/// `GET /api/plans/{plan}/compare`: what changed between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The older version's name.
    pub from: String,
    /// The newer version's name ("now" or a snapshot's).
    pub to: String,
    /// Every difference, each with a sentence.
    pub differences: Vec<Described>,
}

/// One difference, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Described {
    /// The difference.
    #[serde(flatten)]
    pub difference: Difference,
    /// In words.
    pub sentence: String,
}

/// `POST /api/plans/{plan}/restore`: the whole plan, or one item, as at a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restore {
    /// The snapshot to go back to.
    pub snapshot: i64,
    /// Only this item (a theme, objective or action, with what is under it); the whole
    /// plan if absent.
    pub item: Option<RestoreItem>,
}

/// The item a [`Restore`] brings back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreItem {
    /// theme, objective or action.
    pub kind: ItemKind,
    /// Its id.
    pub id: String,
}

/// The answer to [`Restore`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restored {
    /// The snapshot's name.
    pub restored: String,
}
