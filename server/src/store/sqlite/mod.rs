//! The SQLite backend: one file, one writing connection and a few reading ones (WAL lets
//! them read while it writes), every call on a blocking thread.

use super::{
    author, heads_text, ids_text, parse_ids, should_compact, Appended, Changes, ChunkId, JoinError,
    NewInvitation, NewParticipant, NewSignOff, Notice, PlanRow, Publication, PulledSnapshot,
    RelayProgress, RelayedAuthor, Result, RoleChange, StoreError, Stored,
};
use crate::access::{
    Invitation, JoinRefused, LinkOutcome, NewPersonLink, Participant, ParticipantId,
    ParticipantKind, Role,
};
use crate::history::{ChangeAuthor, Snapshot};
use plansync_shared::automerge::ChangeHash;
use plansync_shared::{DocumentId, ParticipantEmail, PersonLink, PlanSummary, SignInRule, SignOff};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// Each schema version's SQL, in order; the file's `user_version` says how many ran.
/// Version 1 is the schema of the first releases (`IF NOT EXISTS`: their files adopt it).
const MIGRATIONS: &[&str] = &["
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'incremental')),
        data BLOB NOT NULL);
    CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (doc_id, id);
    CREATE TABLE IF NOT EXISTS plans (
        doc_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        stage TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS participants (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        plan_id TEXT NOT NULL,
        name TEXT NOT NULL,
        agency TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
        token_hash TEXT NOT NULL UNIQUE,
        created_ms INTEGER NOT NULL,
        revoked_ms INTEGER);
    CREATE INDEX IF NOT EXISTS participants_by_plan ON participants (plan_id);
    CREATE TABLE IF NOT EXISTS invitations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        plan_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
        code TEXT NOT NULL UNIQUE,
        expires_ms INTEGER NOT NULL,
        uses_left INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        revoked_ms INTEGER);
    CREATE TABLE IF NOT EXISTS change_authors (
        doc_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        participant_id INTEGER,
        received_ms INTEGER NOT NULL,
        PRIMARY KEY (doc_id, hash)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS snapshots (
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL,
        name TEXT NOT NULL,
        heads TEXT NOT NULL,
        participant_id INTEGER,
        created_ms INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS snapshots_by_doc ON snapshots (doc_id, created_ms);", "
    ALTER TABLE participants ADD COLUMN kind TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'server'));
    ALTER TABLE snapshots ADD COLUMN author TEXT;
    CREATE TABLE relayed_authors (
        doc_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        name TEXT NOT NULL,
        agency TEXT NOT NULL,
        via TEXT,
        PRIMARY KEY (doc_id, hash)) WITHOUT ROWID;
    CREATE TABLE relay_progress (
        upstream TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        upstream_heads TEXT NOT NULL,
        reached_ms INTEGER,
        sent_ms INTEGER,
        attributed INTEGER NOT NULL,
        PRIMARY KEY (upstream, doc_id)) WITHOUT ROWID;", "
    CREATE TABLE person_links (
        plan_id TEXT NOT NULL,
        participant_id INTEGER NOT NULL,
        person_id TEXT NOT NULL,
        confirmed INTEGER NOT NULL,
        shared INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (plan_id, participant_id, person_id)) WITHOUT ROWID;
    CREATE INDEX person_links_by_person ON person_links (plan_id, person_id);", "
    CREATE TABLE sign_offs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        plan_id TEXT NOT NULL,
        round_id TEXT NOT NULL,
        board_id TEXT NOT NULL,
        board_name TEXT NOT NULL,
        participant_id INTEGER NOT NULL,
        person_id TEXT NOT NULL,
        name TEXT NOT NULL,
        heads TEXT NOT NULL,
        snapshot_id INTEGER,
        signed_ms INTEGER NOT NULL);
    CREATE INDEX sign_offs_by_plan ON sign_offs (plan_id, id);
    CREATE TABLE publications (
        id TEXT PRIMARY KEY,
        plan_id TEXT NOT NULL,
        period TEXT NOT NULL,
        title TEXT NOT NULL,
        html BLOB NOT NULL,
        pdf BLOB NOT NULL,
        published_ms INTEGER NOT NULL);
    CREATE INDEX publications_by_plan ON publications (plan_id, published_ms);
    CREATE TABLE participant_emails (
        participant_id INTEGER PRIMARY KEY,
        plan_id TEXT NOT NULL,
        email TEXT NOT NULL,
        reminders INTEGER NOT NULL);
    CREATE INDEX participant_emails_by_plan ON participant_emails (plan_id);", "
    CREATE TABLE reminders (
        key TEXT PRIMARY KEY,
        plan_id TEXT NOT NULL,
        participant_id INTEGER NOT NULL,
        state TEXT NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0,
        hold_until_ms INTEGER NOT NULL,
        sent_ms INTEGER,
        error TEXT) WITHOUT ROWID;", "
    ALTER TABLE participants ADD COLUMN provider TEXT;
    ALTER TABLE participants ADD COLUMN provider_label TEXT;
    ALTER TABLE participants ADD COLUMN issuer TEXT;
    ALTER TABLE participants ADD COLUMN subject TEXT;
    ALTER TABLE participants ADD COLUMN email TEXT;
    ALTER TABLE participants ADD COLUMN last_sign_in_ms INTEGER;
    CREATE INDEX participants_by_identity ON participants (issuer, subject);
    ALTER TABLE invitations ADD COLUMN sign_in TEXT;
    ALTER TABLE relayed_authors ADD COLUMN known TEXT;
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        participant_id INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX sessions_by_participant ON sessions (participant_id);
    CREATE TABLE sign_in_flows (
        state_hash TEXT PRIMARY KEY,
        browser_hash TEXT NOT NULL,
        provider TEXT NOT NULL,
        verifier TEXT NOT NULL,
        nonce TEXT NOT NULL,
        invitation TEXT,
        return_to TEXT NOT NULL,
        created_ms INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE sign_in_handoffs (
        code_hash TEXT PRIMARY KEY,
        participants TEXT NOT NULL,
        return_to TEXT NOT NULL,
        expires_ms INTEGER NOT NULL) WITHOUT ROWID;"];

/// Reading connections kept open for reuse.
const READERS: usize = 4;

/// An SQLite database file.
#[derive(Clone)]
pub struct Sqlite {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// The shared lock that says a server or command uses the file (dropped last).
    _in_use: std::fs::File,
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|e| StoreError::Open {
        place: path.display().to_string(),
        reason: e.to_string(),
        hint: "check that its folder exists and is writable",
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path`, checks that it is intact and
    /// brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    fn open_blocking(path: &Path) -> Result<Self> {
        let corrupt = |reason: String| StoreError::Corrupt {
            place: path.display().to_string(),
            reason,
        };
        let Some(in_use) = backup::lock(path, backup::Lock::Shared)? else {
            return Err(StoreError::Open {
                place: path.display().to_string(),
                reason: "a restore is putting a backup in its place".into(),
                hint: "wait until `plansync restore` has finished, then start again",
            });
        };
        let mut conn = connect(path)?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| corrupt(e.to_string()))?;
        if check != "ok" {
            return Err(corrupt(check));
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| corrupt(e.to_string()))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: usize = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            return Err(corrupt(format!(
                "its schema is version {version}, newer than this Plansync knows ({}): run a newer Plansync",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
        }
        tx.commit()?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(conn),
                readers: Mutex::new(Vec::new()),
                _in_use: in_use,
            }),
        })
    }

    /// Runs `f` on the writing connection, on a blocking thread.
    async fn write<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| E::from(StoreError::Task(e.to_string())))?
    }

    /// Runs `f` on a reading connection, on a blocking thread.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let taken = inner
                .readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop();
            let conn = match taken {
                Some(c) => c,
                None => connect(&inner.path)?,
            };
            let out = f(&conn);
            let mut readers = inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if readers.len() < READERS {
                readers.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs SQL on the writing connection: tests use it to make the disk fail.
    #[doc(hidden)]
    pub async fn execute_on_writer(&self, sql: String) -> Result<()> {
        self.write(move |c| Ok::<_, StoreError>(c.execute_batch(&sql)?))
            .await
    }

    /// The file's size in pages: tests use it to make the disk fail.
    #[doc(hidden)]
    pub async fn page_count(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("PRAGMA page_count", [], |r| r.get(0))?))
            .await
    }
}

fn participant(r: &Row) -> rusqlite::Result<Participant> {
    let role: String = r.get(4)?;
    Ok(Participant {
        id: ParticipantId(r.get(0)?),
        plan: r.get(1)?,
        name: r.get(2)?,
        agency: r.get(3)?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        joined: r.get(5)?,
        kind: ParticipantKind::parse(&r.get::<_, String>(6)?),
        signed_in_with: r.get(7)?,
        last_sign_in: r.get(8)?,
        provider: r.get(9)?,
        session_ends: None,
    })
}

fn invitation(r: &Row) -> rusqlite::Result<Invitation> {
    let role: String = r.get(2)?;
    Ok(Invitation {
        id: r.get(0)?,
        plan: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        code: r.get(3)?,
        expires: r.get(4)?,
        uses_left: r.get(5)?,
        sign_in: SignInRule::from_stored(r.get::<_, Option<String>>(6)?.as_deref()),
    })
}

fn snapshot(r: &Row) -> rusqlite::Result<Snapshot> {
    let heads: String = r.get(3)?;
    Ok(Snapshot {
        id: r.get(0)?,
        plan: r.get(1)?,
        name: r.get(2)?,
        heads: heads.split_whitespace().map(str::to_string).collect(),
        author: author(r.get(4)?, r.get(5)?).or(r.get(7)?),
        created_ms: r.get(6)?,
    })
}

fn person_link(r: &Row) -> rusqlite::Result<PersonLink> {
    Ok(PersonLink {
        participant: r.get(0)?,
        person: plansync_shared::PersonId::new(r.get::<_, String>(1)?),
        confirmed: r.get(2)?,
        shared: r.get(3)?,
    })
}

const PARTICIPANT_COLUMNS: &str =
    "id, plan_id, name, agency, role, created_ms, kind, provider_label, last_sign_in_ms, provider";
const INVITATION_COLUMNS: &str = "id, plan_id, role, code, expires_ms, uses_left, sign_in";
const SNAPSHOT_SELECT: &str =
    "SELECT s.id, s.doc_id, s.name, s.heads, p.name, p.agency, s.created_ms, s.author
    FROM snapshots s LEFT JOIN participants p ON p.id = s.participant_id";

fn chunks(conn: &Connection, doc: &str, after: i64) -> Result<Stored> {
    let mut stmt = conn
        .prepare_cached("SELECT id, data FROM chunks WHERE doc_id = ?1 AND id > ?2 ORDER BY id")?;
    let mut rows = stmt.query(params![doc, after])?;
    let mut out = Stored::default();
    while let Some(row) = rows.next()? {
        out.chunks.push(ChunkId(row.get(0)?));
        out.bytes
            .extend_from_slice(row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?);
    }
    Ok(out)
}

fn snapshot_by_id(conn: &Connection, plan: &str, id: i64) -> Result<Option<Snapshot>> {
    Ok(conn
        .query_row(
            &format!("{SNAPSHOT_SELECT} WHERE s.doc_id = ?1 AND s.id = ?2"),
            params![plan, id],
            snapshot,
        )
        .optional()?)
}

/// In a write transaction: the plan's current participants, and whether changing `id` as
/// `keeps_owner` says leaves the plan an owner.
fn owner_rule(
    tx: &rusqlite::Transaction,
    plan: &str,
    id: ParticipantId,
    stays_owner: bool,
) -> Result<RoleChange> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, role FROM participants WHERE plan_id = ?1 AND revoked_ms IS NULL",
    )?;
    let people: Vec<(i64, String)> = stmt
        .query_map([plan], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(crate::access::owner_rule(&people, id, stays_owner))
}

mod access;
pub mod backup;
mod documents;
mod history;
mod relay;
mod signin;

fn insert_invitation(c: &Connection, inv: NewInvitation, now_ms: i64) -> Result<Invitation> {
    c.execute(
        "INSERT INTO invitations (plan_id, role, code, expires_ms, uses_left, created_ms, sign_in) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![inv.plan, inv.role.as_str(), inv.code, inv.expires_ms, inv.uses, now_ms, inv.sign_in.stored()],
    )?;
    Ok(Invitation {
        id: c.last_insert_rowid(),
        plan: inv.plan,
        role: inv.role,
        code: inv.code,
        expires: inv.expires_ms,
        uses_left: inv.uses,
        sign_in: inv.sign_in,
    })
}
