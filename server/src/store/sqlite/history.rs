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
                "SELECT c.hash, COALESCE(r.name, p.name), COALESCE(r.agency, p.agency), c.participant_id, c.received_ms, r.via, p.kind, r.name IS NOT NULL, r.known, p.provider_label
                 FROM change_authors c LEFT JOIN participants p ON p.id = c.participant_id
                 LEFT JOIN relayed_authors r ON r.doc_id = c.doc_id AND r.hash = c.hash
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
                        via: r.get(5)?,
                        relayed: r.get::<_, Option<String>>(6)?.as_deref() == Some("server"),
                        known: ChangeAuthor::known_from(
                            r.get(7)?,
                            r.get::<_, Option<String>>(8)?.as_deref(),
                            r.get::<_, Option<String>>(6)?.as_deref(),
                            r.get::<_, Option<String>>(9)?.as_deref(),
                        ),
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

    async fn add_sign_off(&self, n: NewSignOff, now_ms: i64) -> Result<SignOff> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO sign_offs (plan_id, round_id, board_id, board_name, participant_id, person_id, name, heads, snapshot_id, signed_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![n.plan, n.round, n.board, n.board_name, n.participant.0, n.person, n.name, n.heads.join(" "), n.snapshot, now_ms],
            )?;
            let id = c.last_insert_rowid();
            Ok(crate::store::sign_off(id, n.round, n.board, n.board_name, n.person, n.name, n.heads.join(" "), n.snapshot, now_ms))
        })
        .await
    }

    async fn sign_offs(&self, plan: String) -> Result<Vec<SignOff>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT s.id, s.round_id, s.board_id, s.board_name, s.person_id, s.name, s.heads, s.snapshot_id, s.signed_ms, p.kind, p.provider_label
                 FROM sign_offs s LEFT JOIN participants p ON p.id = s.participant_id WHERE s.plan_id = ?1 ORDER BY s.id",
            )?;
            let rows = stmt.query_map([plan], |r| {
                let (kind, label): (Option<String>, Option<String>) = (r.get(9)?, r.get(10)?);
                Ok(SignOff {
                    known: ChangeAuthor::known_from(false, None, kind.as_deref(), label.as_deref()),
                    ..crate::store::sign_off(
                        r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?,
                    )
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn add_publication(&self, p: Publication, html: Vec<u8>, pdf: Vec<u8>) -> Result<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO publications (id, plan_id, period, title, html, pdf, published_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![p.id, p.plan, p.period, p.title, html, pdf, p.published_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn published_file(&self, id: String, pdf: bool) -> Result<Option<Vec<u8>>> {
        self.read(move |c| {
            let sql = if pdf {
                "SELECT pdf FROM publications WHERE id = ?1"
            } else {
                "SELECT html FROM publications WHERE id = ?1"
            };
            Ok(c.query_row(sql, [id], |r| r.get(0)).optional()?)
        })
        .await
    }

    async fn publications(&self, plan: String) -> Result<Vec<Publication>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, plan_id, period, title, published_ms FROM publications WHERE plan_id = ?1 ORDER BY published_ms DESC, id",
            )?;
            let rows = stmt.query_map([plan], |r| {
                Ok(Publication {
                    id: r.get(0)?,
                    plan: r.get(1)?,
                    period: r.get(2)?,
                    title: r.get(3)?,
                    published_ms: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn remove_publication(&self, plan: String, id: String) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute(
                "DELETE FROM publications WHERE plan_id = ?1 AND id = ?2",
                params![plan, id],
            )? == 1)
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

    async fn add_pulled_snapshot(&self, plan: String, s: PulledSnapshot) -> Result<bool> {
        self.write(move |c| {
            let heads = s.heads.join(" ");
            let there: i64 = c.query_row(
                "SELECT COUNT(*) FROM snapshots WHERE doc_id = ?1 AND name = ?2 AND heads = ?3",
                params![plan, s.name, heads],
                |r| r.get(0),
            )?;
            if there > 0 {
                return Ok(false);
            }
            c.execute(
                "INSERT INTO snapshots (doc_id, name, heads, participant_id, created_ms, author) VALUES (?1, ?2, ?3, NULL, ?4, ?5)",
                params![plan, s.name, heads, s.created_ms, s.author],
            )?;
            Ok(true)
        })
        .await
    }

    async fn add_relayed(&self, doc: String, authors: Vec<RelayedAuthor>) -> Result<usize> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let mut recorded = 0;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO relayed_authors (doc_id, hash, name, agency, via, known) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (doc_id, hash) DO NOTHING",
                )?;
                for a in &authors {
                    recorded += stmt.execute(params![doc, a.hash, a.name, a.agency, a.via, a.known.as_ref().map(|k| k.stored())])?;
                }
            }
            tx.commit()?;
            Ok(recorded)
        })
        .await
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
