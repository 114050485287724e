//! Named snapshots and who made each change: the server's record of a plan's history.
//! A snapshot is the plan's heads plus a name, author and time; the document itself holds
//! every version, so a snapshot costs a row.

use crate::access::ParticipantId;
use crate::storage::{Storage, StorageError};
use plansync_shared::automerge::ChangeHash;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::collections::HashMap;

pub(crate) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS snapshots (
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL,
        name TEXT NOT NULL,
        heads TEXT NOT NULL,
        participant_id INTEGER,
        created_ms INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS snapshots_by_doc ON snapshots (doc_id, created_ms);";

/// A named version of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// Who sent one change, as the server recorded it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeAuthor {
    /// The participant's name, if a participant sent it.
    pub name: Option<String>,
    /// Their agency.
    pub agency: Option<String>,
    /// Their participant id.
    pub participant: Option<i64>,
    /// When the server received it (ms since 1970).
    pub received_ms: i64,
}

/// Parses hex change hashes.
pub fn parse_heads(heads: &[String]) -> Option<Vec<ChangeHash>> {
    heads.iter().map(|h| h.parse().ok()).collect()
}

impl Storage {
    /// Records a snapshot of a plan at `heads`.
    pub fn add_snapshot(
        &mut self,
        plan: &str,
        name: &str,
        heads: &[ChangeHash],
        by: Option<ParticipantId>,
        now_ms: i64,
    ) -> Result<Snapshot, StorageError> {
        let heads_text = heads
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        self.conn.execute(
            "INSERT INTO snapshots (doc_id, name, heads, participant_id, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![plan, name, heads_text, by.map(|p| p.0), now_ms],
        )?;
        let id = self.conn.last_insert_rowid();
        self.snapshot(plan, id)?
            .ok_or(StorageError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }

    fn snapshot_rows(
        &self,
        sql: &str,
        p: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Snapshot>, StorageError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(p, |r| {
            let heads: String = r.get(3)?;
            let name: Option<String> = r.get(4)?;
            let agency: Option<String> = r.get(5)?;
            Ok(Snapshot {
                id: r.get(0)?,
                plan: r.get(1)?,
                name: r.get(2)?,
                heads: heads.split_whitespace().map(str::to_string).collect(),
                author: name.map(|n| match agency {
                    Some(a) if !a.is_empty() => format!("{n}, {a}"),
                    _ => n,
                }),
                created_ms: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A plan's snapshots, newest first.
    pub fn snapshots(&self, plan: &str) -> Result<Vec<Snapshot>, StorageError> {
        self.snapshot_rows(
            "SELECT s.id, s.doc_id, s.name, s.heads, p.name, p.agency, s.created_ms
             FROM snapshots s LEFT JOIN participants p ON p.id = s.participant_id
             WHERE s.doc_id = ?1 ORDER BY s.created_ms DESC, s.id DESC",
            &[&plan],
        )
    }

    /// One snapshot of a plan.
    pub fn snapshot(&self, plan: &str, id: i64) -> Result<Option<Snapshot>, StorageError> {
        Ok(self
            .snapshot_rows(
                "SELECT s.id, s.doc_id, s.name, s.heads, p.name, p.agency, s.created_ms
                 FROM snapshots s LEFT JOIN participants p ON p.id = s.participant_id
                 WHERE s.doc_id = ?1 AND s.id = ?2",
                &[&plan, &id],
            )?
            .pop())
    }

    /// Names the participant behind a change the server made on their behalf (a restore,
    /// an import).
    pub fn attribute(
        &mut self,
        doc: &str,
        hash: &ChangeHash,
        by: ParticipantId,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT INTO change_authors (doc_id, hash, participant_id, received_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (doc_id, hash) DO UPDATE SET participant_id = excluded.participant_id",
            params![doc, hash.to_string(), by.0, now_ms],
        )?;
        Ok(())
    }

    /// Who sent each change of a plan and when, by change hash.
    pub fn authors(&self, doc: &str) -> Result<HashMap<String, ChangeAuthor>, StorageError> {
        let mut stmt = self.conn.prepare_cached(
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
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A snapshot found by name (the newest of that name), for the shell.
    pub fn snapshot_named(&self, plan: &str, name: &str) -> Result<Option<Snapshot>, StorageError> {
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM snapshots WHERE doc_id = ?1 AND name = ?2 ORDER BY created_ms DESC, id DESC LIMIT 1",
                params![plan, name],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            Some(id) => self.snapshot(plan, id),
            None => Ok(None),
        }
    }
}
