//! Documents as chunks and the plans list, on Postgres.

use super::*;

#[async_trait::async_trait]
impl crate::store::DocumentStore for Postgres {
    async fn storage_id(&self, fresh: String) -> Result<String> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO meta (key, value) VALUES ('storage_id', $1) ON CONFLICT (key) DO NOTHING",
            &[&fresh],
        )
        .await?;
        Ok(
            c.query_one("SELECT value FROM meta WHERE key = 'storage_id'", &[])
                .await?
                .get(0),
        )
    }

    async fn load(&self, doc: DocumentId) -> Result<Option<Stored>> {
        let c = self.pool.get().await?;
        let stored = chunks(&c, &doc.to_string(), 0).await?;
        Ok((!stored.chunks.is_empty()).then_some(stored))
    }

    async fn load_after(&self, doc: DocumentId, after: ChunkId) -> Result<Stored> {
        let c = self.pool.get().await?;
        chunks(&c, &doc.to_string(), after.0).await
    }

    async fn append(
        &self,
        doc: DocumentId,
        chunk: Vec<u8>,
        changes: Changes,
        plan: Option<PlanSummary>,
        now_ms: i64,
    ) -> Result<Appended> {
        let id = doc.to_string();
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        lock_document(&tx, &id).await?;
        let after: Option<i64> = tx
            .query_one("SELECT MAX(id) FROM chunks WHERE doc_id = $1", &[&id])
            .await?
            .get(0);
        let kind = if after.is_none() {
            "snapshot"
        } else {
            "incremental"
        };
        let chunk_id: i64 = tx
            .query_one(
                "INSERT INTO chunks (doc_id, kind, data) VALUES ($1, $2, $3) RETURNING id",
                &[&id, &kind, &chunk],
            )
            .await?
            .get(0);
        if !changes.is_empty() {
            let hashes: Vec<String> = changes.iter().map(|(h, _)| h.to_string()).collect();
            let by: Vec<Option<i64>> = changes.iter().map(|(_, p)| p.map(|p| p.0)).collect();
            tx.execute(
                "INSERT INTO change_authors (doc_id, hash, participant_id, received_ms)
                 SELECT $1, h, p, $4 FROM unnest($2::text[], $3::bigint[]) AS t(h, p)
                 ON CONFLICT (doc_id, hash) DO NOTHING",
                &[&id, &hashes, &by, &now_ms],
            )
            .await?;
        }
        if let Some(p) = &plan {
            tx.execute(
                "INSERT INTO plans (doc_id, title, stage, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (doc_id) DO UPDATE SET title = excluded.title, stage = excluded.stage, updated_ms = excluded.updated_ms",
                &[&id, &p.title, &p.stage.as_str(), &now_ms],
            )
            .await?;
        }
        self.announce(&tx, DOCS_CHANNEL, &id).await?;
        let row = tx
            .query_one(
                "SELECT COUNT(*),
                        COALESCE(SUM(CASE kind WHEN 'incremental' THEN length(data) END), 0)::bigint,
                        COALESCE(SUM(CASE kind WHEN 'snapshot' THEN length(data) END), 0)::bigint
                 FROM chunks WHERE doc_id = $1",
                &[&id],
            )
            .await?;
        tx.commit().await?;
        Ok(Appended {
            chunk: ChunkId(chunk_id),
            after: after.map(ChunkId),
            compact: should_compact(row.get(0), row.get(1), row.get(2)),
        })
    }

    async fn compact(
        &self,
        doc: DocumentId,
        snapshot: Vec<u8>,
        covered: Vec<ChunkId>,
    ) -> Result<ChunkId> {
        let id = doc.to_string();
        let ids: Vec<i64> = covered.iter().map(|c| c.0).collect();
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        lock_document(&tx, &id).await?;
        let made: i64 = tx
            .query_one(
                "INSERT INTO chunks (doc_id, kind, data) VALUES ($1, 'snapshot', $2) RETURNING id",
                &[&id, &snapshot],
            )
            .await?
            .get(0);
        tx.execute(
            "DELETE FROM chunks WHERE doc_id = $1 AND id = ANY($2)",
            &[&id, &ids],
        )
        .await?;
        tx.commit().await?;
        Ok(ChunkId(made))
    }

    async fn chunk_count(&self, doc: DocumentId) -> Result<i64> {
        let c = self.pool.get().await?;
        Ok(c.query_one(
            "SELECT COUNT(*) FROM chunks WHERE doc_id = $1",
            &[&doc.to_string()],
        )
        .await?
        .get(0))
    }

    async fn plans(&self) -> Result<Vec<PlanRow>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT doc_id, title, stage, updated_ms FROM plans ORDER BY updated_ms DESC, doc_id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| PlanRow::new(r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
    }

    async fn schema(&self) -> Result<(usize, usize)> {
        let c = self.pool.get().await?;
        let version: i32 = c.query_one(super::SCHEMA_VERSION, &[]).await?.get(0);
        Ok((version.max(0) as usize, super::MIGRATIONS.len()))
    }

    fn notices(&self) -> Option<tokio::sync::mpsc::Receiver<Notice>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(self.clone().listen(tx));
        Some(rx)
    }
}
