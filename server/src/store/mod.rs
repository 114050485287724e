//! Everything the server keeps, behind one interface ([`Backend`]): documents as automerge
//! chunks, the plans list, participants and their tokens, invitations, snapshots and who
//! made each change. Two backends: SQLite (embedded, the default) and PostgreSQL (a
//! central deployment of several nodes). Each backend's SQL lives in its own module and
//! nothing else in the server names a database client.

mod access;
mod documents;
mod history;
mod postgres;
mod relay;
mod signin;
pub(crate) mod sqlite;

pub use access::*;
pub use documents::*;
pub use history::*;
pub use relay::*;
pub use signin::*;

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
    /// A server or command is using the database, so it cannot be replaced.
    #[error("{place} is in use by a running Plansync server or command: stop it (e.g. systemctl stop plansync) and try again; nothing was changed")]
    InUse {
        /// The file.
        place: String,
    },
    /// A blocking database task failed to finish.
    #[error("a database task stopped: {0}")]
    Task(String),
}

/// The result type of storage calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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

    /// The shell commands' flag that names this location (` --db FILE`, ` --database URL`
    /// without its password), for a command printed for the operator to run.
    pub fn flag(&self) -> String {
        match self {
            Self::Sqlite(p) => format!(" --db {}", p.display()),
            Self::Postgres(_) => format!(" --database {}", self.describe()),
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
