//! Change authors and snapshots, on Sqlite.

use super::*;

#[async_trait::async_trait]
impl crate::store::HistoryStore for Sqlite {
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
