//! Documents as chunks and the plans list, on Sqlite.

use super::*;

#[async_trait::async_trait]
impl crate::store::DocumentStore for Sqlite {
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
            let after: Option<i64> = tx.query_row(
                "SELECT MAX(id) FROM chunks WHERE doc_id = ?1",
                [&id],
                |r| r.get(0),
            )?;
            let kind = if after.is_none() {
                "snapshot"
            } else {
                "incremental"
            };
            tx.execute(
                "INSERT INTO chunks (doc_id, kind, data) VALUES (?1, ?2, ?3)",
                params![id, kind, chunk],
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
                after: after.map(ChunkId),
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

    async fn schema(&self) -> Result<(usize, usize)> {
        let version: usize = self
            .read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
            .await?;
        Ok((version, super::MIGRATIONS.len()))
    }

    fn notices(&self) -> Option<tokio::sync::mpsc::Receiver<Notice>> {
        None
    }
}
