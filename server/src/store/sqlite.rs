//! The SQLite backend: one file, one writing connection and a few reading ones (WAL lets
//! them read while it writes), every call on a blocking thread.

use super::{
    author, heads_text, should_compact, Appended, Backend, Changes, ChunkId, NewInvitation,
    NewParticipant, Notice, PlanRow, Result, RoleChange, StoreError, Stored,
};
use crate::access::{Invitation, JoinError, Participant, ParticipantId, Role};
use crate::history::{ChangeAuthor, Snapshot};
use plansync_shared::automerge::ChangeHash;
use plansync_shared::{DocumentId, PlanSummary};
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
    CREATE INDEX IF NOT EXISTS snapshots_by_doc ON snapshots (doc_id, created_ms);"];

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
    })
}

fn snapshot(r: &Row) -> rusqlite::Result<Snapshot> {
    let heads: String = r.get(3)?;
    Ok(Snapshot {
        id: r.get(0)?,
        plan: r.get(1)?,
        name: r.get(2)?,
        heads: heads.split_whitespace().map(str::to_string).collect(),
        author: author(r.get(4)?, r.get(5)?),
        created_ms: r.get(6)?,
    })
}

const PARTICIPANT_COLUMNS: &str = "id, plan_id, name, agency, role, created_ms";
const INVITATION_COLUMNS: &str = "id, plan_id, role, code, expires_ms, uses_left";
const SNAPSHOT_SELECT: &str =
    "SELECT s.id, s.doc_id, s.name, s.heads, p.name, p.agency, s.created_ms
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
    Ok(super::owner_rule(&people, id, stays_owner))
}

#[async_trait::async_trait]
impl Backend for Sqlite {
    async fn storage_id(&self, fresh: String) -> Result<String> {
        self.write(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('storage_id', ?1)",
                [&fresh],
            )?;
            Ok(
                c.query_row("SELECT value FROM meta WHERE key = 'storage_id'", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
    }

    async fn load(&self, doc: DocumentId) -> Result<Option<Stored>> {
        self.read(move |c| {
            let stored = chunks(c, &doc.to_string(), 0)?;
            Ok((!stored.chunks.is_empty()).then_some(stored))
        })
        .await
    }

    async fn load_after(&self, doc: DocumentId, after: ChunkId) -> Result<Stored> {
        self.read(move |c| chunks(c, &doc.to_string(), after.0))
            .await
    }

    async fn append(
        &self,
        doc: DocumentId,
        chunk: Vec<u8>,
        changes: Changes,
        plan: Option<PlanSummary>,
        now_ms: i64,
    ) -> Result<Appended> {
        self.write(move |c| {
            let id = doc.to_string();
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let first: bool = tx.query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM chunks WHERE doc_id = ?1)",
                [&id],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO chunks (doc_id, kind, data) VALUES (?1, ?2, ?3)",
                params![id, if first { "snapshot" } else { "incremental" }, chunk],
            )?;
            let chunk_id = ChunkId(tx.last_insert_rowid());
            {
                let mut author = tx.prepare_cached(
                    "INSERT OR IGNORE INTO change_authors (doc_id, hash, participant_id, received_ms) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for (hash, by) in &changes {
                    author.execute(params![id, hash.to_string(), by.map(|p| p.0), now_ms])?;
                }
            }
            if let Some(p) = &plan {
                tx.execute(
                    "INSERT INTO plans (doc_id, title, stage, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?4)
                     ON CONFLICT (doc_id) DO UPDATE SET title = excluded.title, stage = excluded.stage, updated_ms = excluded.updated_ms",
                    params![id, p.title, p.stage.as_str(), now_ms],
                )?;
            }
            let (count, increments, snapshots): (i64, i64, i64) = tx.query_row(
                "SELECT COUNT(*),
                        COALESCE(SUM(CASE kind WHEN 'incremental' THEN length(data) END), 0),
                        COALESCE(SUM(CASE kind WHEN 'snapshot' THEN length(data) END), 0)
                 FROM chunks WHERE doc_id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            tx.commit()?;
            Ok(Appended {
                chunk: chunk_id,
                compact: should_compact(count, increments, snapshots),
            })
        })
        .await
    }

    async fn compact(
        &self,
        doc: DocumentId,
        snapshot: Vec<u8>,
        covered: Vec<ChunkId>,
    ) -> Result<ChunkId> {
        self.write(move |c| {
            let id = doc.to_string();
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO chunks (doc_id, kind, data) VALUES (?1, 'snapshot', ?2)",
                params![id, snapshot],
            )?;
            let made = ChunkId(tx.last_insert_rowid());
            {
                let mut delete =
                    tx.prepare_cached("DELETE FROM chunks WHERE doc_id = ?1 AND id = ?2")?;
                for chunk in &covered {
                    delete.execute(params![id, chunk.0])?;
                }
            }
            tx.commit()?;
            Ok(made)
        })
        .await
    }

    async fn chunk_count(&self, doc: DocumentId) -> Result<i64> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM chunks WHERE doc_id = ?1",
                [doc.to_string()],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn plans(&self) -> Result<Vec<PlanRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT doc_id, title, stage, updated_ms FROM plans ORDER BY updated_ms DESC, doc_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(PlanRow::new(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    fn notices(&self) -> Option<tokio::sync::mpsc::Receiver<Notice>> {
        None
    }

    async fn participant(&self, id: ParticipantId) -> Result<Option<Participant>> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE id = ?1 AND revoked_ms IS NULL"),
                [id.0],
                participant,
            )
            .optional()?)
        })
        .await
    }

    async fn add_participant(&self, p: NewParticipant, now_ms: i64) -> Result<Participant> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO participants (plan_id, name, agency, role, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![p.plan, p.name, p.agency, p.role.as_str(), p.token_hash, now_ms],
            )?;
            Ok(Participant {
                id: ParticipantId(c.last_insert_rowid()),
                plan: p.plan,
                name: p.name,
                agency: p.agency,
                role: p.role,
                joined: now_ms,
            })
        })
        .await
    }

    async fn participant_by_token(&self, token_hash: String) -> Result<Option<Participant>> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE token_hash = ?1 AND revoked_ms IS NULL"),
                [token_hash],
                participant,
            )
            .optional()?)
        })
        .await
    }

    async fn participants(&self, plan: String) -> Result<Vec<Participant>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE plan_id = ?1 AND revoked_ms IS NULL ORDER BY id"
            ))?;
            let rows = stmt.query_map([plan], participant)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn set_role(&self, plan: String, id: ParticipantId, role: Role) -> Result<RoleChange> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let outcome = owner_rule(&tx, &plan, id, role == Role::Owner)?;
            if outcome == RoleChange::Changed {
                tx.execute(
                    "UPDATE participants SET role = ?3 WHERE plan_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
                    params![plan, id.0, role.as_str()],
                )?;
            }
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn revoke_participant(
        &self,
        plan: String,
        id: ParticipantId,
        now_ms: i64,
    ) -> Result<RoleChange> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let outcome = owner_rule(&tx, &plan, id, false)?;
            if outcome == RoleChange::Changed {
                tx.execute(
                    "UPDATE participants SET revoked_ms = ?3 WHERE plan_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
                    params![plan, id.0, now_ms],
                )?;
            }
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn create_invitation(&self, inv: NewInvitation, now_ms: i64) -> Result<Invitation> {
        self.write(move |c| insert_invitation(c, inv, now_ms)).await
    }

    async fn invitations(&self, plan: String, now_ms: i64) -> Result<Vec<Invitation>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations
                 WHERE plan_id = ?1 AND revoked_ms IS NULL AND uses_left > 0 AND expires_ms > ?2 ORDER BY id"
            ))?;
            let rows = stmt.query_map(params![plan, now_ms], invitation)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn revoke_invitation(&self, plan: String, id: i64, now_ms: i64) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE invitations SET revoked_ms = ?3 WHERE plan_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
                params![plan, id, now_ms],
            )? == 1)
        })
        .await
    }

    async fn replace_owner_invitation(
        &self,
        inv: NewInvitation,
        now_ms: i64,
    ) -> Result<Option<Invitation>> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let has_owner: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM participants WHERE plan_id = ?1 AND role = 'owner' AND revoked_ms IS NULL)",
                [&inv.plan],
                |r| r.get(0),
            )?;
            if has_owner {
                return Ok(None);
            }
            tx.execute(
                "UPDATE invitations SET revoked_ms = ?2 WHERE plan_id = ?1 AND role = 'owner' AND revoked_ms IS NULL",
                params![inv.plan, now_ms],
            )?;
            let made = insert_invitation(&tx, inv, now_ms)?;
            tx.commit()?;
            Ok(Some(made))
        })
        .await
    }

    async fn redeem(
        &self,
        code: String,
        name: String,
        agency: String,
        token_hash: String,
        now_ms: i64,
    ) -> Result<Participant, JoinError> {
        self.write(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let found = tx
                .query_row(
                    &format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE code = ?1 AND revoked_ms IS NULL"),
                    [&code],
                    invitation,
                )
                .optional()
                .map_err(StoreError::from)?;
            let inv = found.ok_or(JoinError::Unknown)?;
            if inv.expires <= now_ms {
                return Err(JoinError::Expired);
            }
            if inv.uses_left <= 0 {
                return Err(JoinError::UsedUp);
            }
            tx.execute(
                "UPDATE invitations SET uses_left = uses_left - 1 WHERE id = ?1",
                [inv.id],
            )
            .map_err(StoreError::from)?;
            tx.execute(
                "INSERT INTO participants (plan_id, name, agency, role, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![inv.plan, name, agency, inv.role.as_str(), token_hash, now_ms],
            )
            .map_err(StoreError::from)?;
            let id = ParticipantId(tx.last_insert_rowid());
            tx.commit().map_err(StoreError::from)?;
            Ok(Participant {
                id,
                plan: inv.plan,
                name,
                agency,
                role: inv.role,
                joined: now_ms,
            })
        })
        .await
    }

    async fn change_authors(&self, doc: String) -> Result<Vec<(String, Option<ParticipantId>)>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT hash, participant_id FROM change_authors WHERE doc_id = ?1 ORDER BY received_ms, hash",
            )?;
            let rows = stmt.query_map([doc], |r| {
                Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.map(ParticipantId)))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn attribute(
        &self,
        doc: String,
        hashes: Vec<ChangeHash>,
        by: ParticipantId,
        now_ms: i64,
    ) -> Result<()> {
        self.write(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO change_authors (doc_id, hash, participant_id, received_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (doc_id, hash) DO UPDATE SET participant_id = excluded.participant_id",
                )?;
                for hash in &hashes {
                    stmt.execute(params![doc, hash.to_string(), by.0, now_ms])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn authors(&self, doc: String) -> Result<HashMap<String, ChangeAuthor>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT c.hash, p.name, p.agency, c.participant_id, c.received_ms
                 FROM change_authors c LEFT JOIN participants p ON p.id = c.participant_id
                 WHERE c.doc_id = ?1",
            )?;
            let rows = stmt.query_map([doc], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    ChangeAuthor {
                        name: r.get(1)?,
                        agency: r.get(2)?,
                        participant: r.get(3)?,
                        received_ms: r.get(4)?,
                    },
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn add_snapshot(
        &self,
        plan: String,
        name: String,
        heads: Vec<ChangeHash>,
        by: Option<ParticipantId>,
        now_ms: i64,
    ) -> Result<Snapshot> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO snapshots (doc_id, name, heads, participant_id, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![plan, name, heads_text(&heads), by.map(|p| p.0), now_ms],
            )?;
            let id = c.last_insert_rowid();
            snapshot_by_id(c, &plan, id)?
                .ok_or_else(|| StoreError::Database("the new snapshot was not found".into()))
        })
        .await
    }

    async fn snapshots(&self, plan: String) -> Result<Vec<Snapshot>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "{SNAPSHOT_SELECT} WHERE s.doc_id = ?1 ORDER BY s.created_ms DESC, s.id DESC"
            ))?;
            let rows = stmt.query_map([plan], snapshot)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn snapshot(&self, plan: String, id: i64) -> Result<Option<Snapshot>> {
        self.read(move |c| snapshot_by_id(c, &plan, id)).await
    }

    async fn snapshot_named(&self, plan: String, name: String) -> Result<Option<Snapshot>> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!("{SNAPSHOT_SELECT} WHERE s.doc_id = ?1 AND s.name = ?2 ORDER BY s.created_ms DESC, s.id DESC LIMIT 1"),
                params![plan, name],
                snapshot,
            )
            .optional()?)
        })
        .await
    }
}

fn insert_invitation(c: &Connection, inv: NewInvitation, now_ms: i64) -> Result<Invitation> {
    c.execute(
        "INSERT INTO invitations (plan_id, role, code, expires_ms, uses_left, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![inv.plan, inv.role.as_str(), inv.code, inv.expires_ms, inv.uses, now_ms],
    )?;
    Ok(Invitation {
        id: c.last_insert_rowid(),
        plan: inv.plan,
        role: inv.role,
        code: inv.code,
        expires: inv.expires_ms,
        uses_left: inv.uses,
    })
}
