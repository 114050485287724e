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

    /// The PostgreSQL location with `password` for its user (kept out of the URL as given).
    pub fn with_password(self, password: &str) -> Result<Self, String> {
        let Self::Postgres(url) = self else {
            return Err(
                "a database password is for PostgreSQL (--database postgres://…) only".into(),
            );
        };
        let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", &url));
        let Some((user, host)) = rest.split_once('@') else {
            return Err("give the user in the database URL (postgres://USER@HOST/DATABASE) to use a password file".into());
        };
        if user.contains(':') {
            return Err("the database URL holds a password already: give it in one place, the password file".into());
        }
        let encoded: String = password
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        Ok(Self::Postgres(format!(
            "{scheme}://{user}:{encoded}@{host}"
        )))
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

#[cfg(test)]
mod tests {
    use super::Location;

    #[test]
    fn a_password_from_its_file_goes_into_the_url_encoded_and_is_never_printed() {
        let given = Location::parse("postgres://plansync@db.internal:5432/plansync").unwrap();
        let Location::Postgres(url) = given.with_password("p@ss:w/rd %é").unwrap() else {
            panic!("still PostgreSQL");
        };
        let config: tokio_postgres::Config = url.parse().unwrap();
        assert_eq!(config.get_password(), Some("p@ss:w/rd %é".as_bytes()));
        assert_eq!(config.get_user(), Some("plansync"));
        assert!(!Location::Postgres(url).describe().contains("w/rd"));
        let twice = Location::parse("postgres://plansync:old@db/plansync").unwrap();
        assert!(twice
            .with_password("new")
            .unwrap_err()
            .contains("one place"));
        let no_user = Location::parse("postgres://db/plansync").unwrap();
        assert!(no_user
            .with_password("x")
            .unwrap_err()
            .contains("USER@HOST"));
        let file = Location::parse("plans.db").unwrap();
        assert!(file.with_password("x").is_err());
    }
}
