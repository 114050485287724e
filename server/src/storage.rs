//! The server's SQLite file: every document as automerge chunks (a snapshot plus
//! incremental changes, compacted when the increments outgrow the snapshot), and a row per
//! plan with what `/api/plans` lists.

use crate::access::ParticipantId;
use plansync_shared::automerge::ChangeHash;
use plansync_shared::{DocumentId, PlanSummary};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// SQLite reported an error (disk full, read-only file system, I/O error, ...).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file cannot be opened or created (missing folder, read-only file system, ...).
    #[error("could not open or create the database {path} ({reason}): check that its folder exists and is writable")]
    Open {
        /// The file.
        path: String,
        /// What SQLite said.
        reason: String,
    },
    /// The file is not a usable Plansync database.
    #[error("{path} is not a usable Plansync database: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What was found.
        reason: String,
    },
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

/// The changes in an appended chunk, each with the participant who sent it (`None` for
/// the server's own).
pub type Changes = Vec<(ChangeHash, Option<ParticipantId>)>;

/// Compact a document once it has this many chunks, whatever their size (loading cost)...
const COMPACT_MAX_CHUNKS: i64 = 128;
/// ...or once its increments outgrow its snapshot (file size), if it has at least this many.
const COMPACT_MIN_CHUNKS: i64 = 16;

/// An open Plansync database.
pub struct Storage {
    pub(crate) conn: Connection,
}

impl Storage {
    /// Opens (creating if needed) the database at `path`, checking that it is intact.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let corrupt = |reason: String| StorageError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let conn = Connection::open(path).map_err(|e| StorageError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| corrupt(e.to_string()))?;
        if check != "ok" {
            return Err(corrupt(check));
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| corrupt(e.to_string()))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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
                 updated_ms INTEGER NOT NULL);",
        )?;
        conn.execute_batch(crate::access::SCHEMA)?;
        conn.execute_batch(crate::history::SCHEMA)?;
        Ok(Self { conn })
    }

    /// This server's storage id, made once and kept in the file.
    pub fn storage_id(&mut self, fresh: impl FnOnce() -> String) -> Result<String, StorageError> {
        if let Some(id) = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'storage_id'", [], |r| {
                r.get(0)
            })
            .optional()?
        {
            return Ok(id);
        }
        let id = fresh();
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('storage_id', ?1)",
            [&id],
        )?;
        Ok(id)
    }

    /// Every stored chunk of a document, concatenated (automerge loads them as one), or
    /// `None` if the document is not stored.
    pub fn load(&self, doc: &DocumentId) -> Result<Option<Vec<u8>>, StorageError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT data FROM chunks WHERE doc_id = ?1 ORDER BY id")?;
        let mut rows = stmt.query([doc.to_string()])?;
        let mut out: Option<Vec<u8>> = None;
        while let Some(row) = rows.next()? {
            let data: Vec<u8> = row.get(0)?;
            out.get_or_insert_with(Vec::new).extend_from_slice(&data);
        }
        Ok(out)
    }

    /// Durably appends changes to a document, who sent them, and its plan row, in one
    /// transaction. Returns whether the document should now be compacted.
    pub fn append(
        &mut self,
        doc: &DocumentId,
        chunk: &[u8],
        changes: &Changes,
        plan: Option<&PlanSummary>,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let id = doc.to_string();
        let tx = self.conn.transaction()?;
        let first: bool = tx.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM chunks WHERE doc_id = ?1)",
            [&id],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO chunks (doc_id, kind, data) VALUES (?1, ?2, ?3)",
            params![id, if first { "snapshot" } else { "incremental" }, chunk],
        )?;
        {
            let mut author = tx.prepare_cached(
                "INSERT OR IGNORE INTO change_authors (doc_id, hash, participant_id, received_ms) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (hash, by) in changes {
                author.execute(params![id, hash.to_string(), by.map(|p| p.0), now_ms])?;
            }
        }
        if let Some(p) = plan {
            tx.execute(
                "INSERT INTO plans (doc_id, title, stage, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (doc_id) DO UPDATE SET title = excluded.title, stage = excluded.stage, updated_ms = excluded.updated_ms",
                params![id, p.title, p.stage.as_str(), now_ms],
            )?;
        }
        let (count, increments, snapshot): (i64, i64, i64) = tx.query_row(
            "SELECT COUNT(*),
                    COALESCE(SUM(CASE kind WHEN 'incremental' THEN length(data) END), 0),
                    COALESCE(SUM(CASE kind WHEN 'snapshot' THEN length(data) END), 0)
             FROM chunks WHERE doc_id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        tx.commit()?;
        Ok(count >= COMPACT_MAX_CHUNKS || (count >= COMPACT_MIN_CHUNKS && increments > snapshot))
    }

    /// Replaces every chunk of a document with one snapshot holding the same changes.
    pub fn compact(&mut self, doc: &DocumentId, snapshot: &[u8]) -> Result<(), StorageError> {
        let id = doc.to_string();
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM chunks WHERE doc_id = ?1", [&id])?;
        tx.execute(
            "INSERT INTO chunks (doc_id, kind, data) VALUES (?1, 'snapshot', ?2)",
            params![id, snapshot],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Number of chunk rows of a document (for tests of compaction).
    pub fn chunk_count(&self, doc: &DocumentId) -> Result<i64, StorageError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM chunks WHERE doc_id = ?1",
            [doc.to_string()],
            |r| r.get(0),
        )?)
    }

    /// Every plan, most recently changed first.
    pub fn plans(&self) -> Result<Vec<PlanRow>, StorageError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT doc_id, title, stage, updated_ms FROM plans ORDER BY updated_ms DESC, doc_id",
        )?;
        let rows = stmt.query_map([], |r| {
            let id: String = r.get(0)?;
            Ok(PlanRow {
                url: format!("automerge:{id}"),
                id,
                title: r.get(1)?,
                stage: r.get(2)?,
                updated: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plansync_shared::{automerge::AutoCommit, demo_plan, plan_summary, PlanDoc, TextField};
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn appended_chunks_load_back_and_compaction_keeps_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Storage::open(&dir.path().join("p.db")).unwrap();
        let mut r = StdRng::seed_from_u64(1);
        let mut plan = demo_plan(&mut r).unwrap();
        let doc = DocumentId::random(&mut r);
        let mut heads = vec![];
        let action = plan.read().unwrap().themes[0].objectives[0].actions[0]
            .id
            .clone();
        let mut compacted = false;
        for i in 0..150 {
            plan.splice_text(
                &TextField::ActionTitle(action.clone()),
                0,
                0,
                &format!("{i} "),
            )
            .unwrap();
            plan.commit();
            let chunk = plan.automerge_mut().save_after(&heads);
            heads = plan.automerge_mut().get_heads();
            let summary = plan_summary(plan.automerge());
            if s.append(&doc, &chunk, &vec![], summary.as_ref(), i)
                .unwrap()
            {
                s.compact(&doc, &plan.automerge_mut().save()).unwrap();
                compacted = true;
            }
        }
        assert!(compacted, "150 increments must compact");
        assert!(s.chunk_count(&doc).unwrap() < COMPACT_MAX_CHUNKS);
        let loaded = AutoCommit::load(&s.load(&doc).unwrap().unwrap()).unwrap();
        assert_eq!(
            PlanDoc::from_automerge(loaded).unwrap().read().unwrap(),
            plan.read().unwrap()
        );
        let plans = s.plans().unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].url, format!("automerge:{doc}"));
        assert_eq!(plans[0].updated, 149);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_a_clear_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.db");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = Storage::open(&path).err().expect("must refuse");
        assert!(
            err.to_string().contains("not a usable Plansync database"),
            "{err}"
        );
    }

    #[test]
    fn a_database_on_a_read_only_file_system_is_a_clear_error_at_start() {
        // procfs refuses new files even to root: a real read-only file system.
        let err = Storage::open(Path::new("/proc/plansync-test.db"))
            .err()
            .expect("must refuse");
        let text = err.to_string();
        assert!(
            text.contains("could not open or create the database /proc/plansync-test.db"),
            "{text}"
        );
        assert!(text.contains("writable"), "{text}");
    }

    #[test]
    fn storage_id_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let first = Storage::open(&path)
            .unwrap()
            .storage_id(|| "one".into())
            .unwrap();
        let second = Storage::open(&path)
            .unwrap()
            .storage_id(|| "two".into())
            .unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
    }
}
