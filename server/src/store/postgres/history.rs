//! Change authors and snapshots, on Postgres.

use super::*;

#[async_trait::async_trait]
impl crate::store::HistoryStore for Postgres {
    async fn change_authors(&self, doc: String) -> Result<Vec<(String, Option<ParticipantId>)>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT hash, participant_id FROM change_authors WHERE doc_id = $1 ORDER BY received_ms, hash",
                &[&doc],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, Option<i64>>(1).map(ParticipantId)))
            .collect())
    }

    async fn attribute(
        &self,
        doc: String,
        hashes: Vec<ChangeHash>,
        by: ParticipantId,
        now_ms: i64,
    ) -> Result<()> {
        let hashes: Vec<String> = hashes.iter().map(ToString::to_string).collect();
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO change_authors (doc_id, hash, participant_id, received_ms)
             SELECT $1, h, $3, $4 FROM unnest($2::text[]) AS t(h)
             ON CONFLICT (doc_id, hash) DO UPDATE SET participant_id = excluded.participant_id",
            &[&doc, &hashes, &by.0, &now_ms],
        )
        .await?;
        Ok(())
    }

    async fn authors(&self, doc: String) -> Result<HashMap<String, ChangeAuthor>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT c.hash, COALESCE(r.name, p.name), COALESCE(r.agency, p.agency), c.participant_id, c.received_ms, r.via, p.kind, r.name IS NOT NULL, r.known, p.provider_label
                 FROM change_authors c LEFT JOIN participants p ON p.id = c.participant_id
                 LEFT JOIN relayed_authors r ON r.doc_id = c.doc_id AND r.hash = c.hash
                 WHERE c.doc_id = $1",
                &[&doc],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    ChangeAuthor {
                        name: r.get(1),
                        agency: r.get(2),
                        participant: r.get(3),
                        received_ms: r.get(4),
                        via: r.get(5),
                        relayed: r.get::<_, Option<String>>(6).as_deref() == Some("server"),
                        known: ChangeAuthor::known_from(
                            r.get(7),
                            r.get::<_, Option<&str>>(8),
                            r.get::<_, Option<&str>>(6),
                            r.get::<_, Option<&str>>(9),
                        ),
                    },
                )
            })
            .collect())
    }

    async fn add_snapshot(
        &self,
        plan: String,
        name: String,
        heads: Vec<ChangeHash>,
        by: Option<ParticipantId>,
        now_ms: i64,
    ) -> Result<Snapshot> {
        let c = self.pool.get().await?;
        let id: i64 = c
            .query_one(
                "INSERT INTO snapshots (doc_id, name, heads, participant_id, created_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&plan, &name, &heads_text(&heads), &by.map(|p| p.0), &now_ms],
            )
            .await?
            .get(0);
        let row = c
            .query_one(
                &format!("{SNAPSHOT_SELECT} WHERE s.doc_id = $1 AND s.id = $2"),
                &[&plan, &id],
            )
            .await?;
        Ok(snapshot(&row))
    }

    async fn add_sign_off(&self, n: NewSignOff, now_ms: i64) -> Result<SignOff> {
        let c = self.pool.get().await?;
        let heads = n.heads.join(" ");
        let row = c
            .query_one(
                "INSERT INTO sign_offs (plan_id, round_id, board_id, board_name, participant_id, person_id, name, heads, snapshot_id, signed_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                &[&n.plan, &n.round, &n.board, &n.board_name, &n.participant.0, &n.person, &n.name, &heads, &n.snapshot, &now_ms],
            )
            .await?;
        Ok(crate::store::sign_off(
            row.get(0),
            n.round,
            n.board,
            n.board_name,
            n.person,
            n.name,
            heads,
            n.snapshot,
            now_ms,
        ))
    }

    async fn sign_offs(&self, plan: String) -> Result<Vec<SignOff>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT s.id, s.round_id, s.board_id, s.board_name, s.person_id, s.name, s.heads, s.snapshot_id, s.signed_ms, p.kind, p.provider_label
                 FROM sign_offs s LEFT JOIN participants p ON p.id = s.participant_id WHERE s.plan_id = $1 ORDER BY s.id",
                &[&plan],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| SignOff {
                known: ChangeAuthor::known_from(
                    false,
                    None,
                    r.get(9),
                    r.get::<_, Option<&str>>(10),
                ),
                ..crate::store::sign_off(
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    r.get(7),
                    r.get(8),
                )
            })
            .collect())
    }

    async fn add_publication(&self, p: Publication, html: Vec<u8>, pdf: Vec<u8>) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO publications (id, plan_id, period, title, html, pdf, published_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&p.id, &p.plan, &p.period, &p.title, &html, &pdf, &p.published_ms],
        )
        .await?;
        Ok(())
    }

    async fn published_file(&self, id: String, pdf: bool) -> Result<Option<Vec<u8>>> {
        let c = self.pool.get().await?;
        let sql = if pdf {
            "SELECT pdf FROM publications WHERE id = $1"
        } else {
            "SELECT html FROM publications WHERE id = $1"
        };
        let row = c.query_opt(sql, &[&id]).await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn publications(&self, plan: String) -> Result<Vec<Publication>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT id, plan_id, period, title, published_ms FROM publications WHERE plan_id = $1 ORDER BY published_ms DESC, id",
                &[&plan],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Publication {
                id: r.get(0),
                plan: r.get(1),
                period: r.get(2),
                title: r.get(3),
                published_ms: r.get(4),
            })
            .collect())
    }

    async fn remove_publication(&self, plan: String, id: String) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "DELETE FROM publications WHERE plan_id = $1 AND id = $2",
            &[&plan, &id],
        )
        .await?
            == 1)
    }

    async fn snapshots(&self, plan: String) -> Result<Vec<Snapshot>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &format!(
                    "{SNAPSHOT_SELECT} WHERE s.doc_id = $1 ORDER BY s.created_ms DESC, s.id DESC"
                ),
                &[&plan],
            )
            .await?;
        Ok(rows.iter().map(snapshot).collect())
    }

    async fn snapshot(&self, plan: String, id: i64) -> Result<Option<Snapshot>> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                &format!("{SNAPSHOT_SELECT} WHERE s.doc_id = $1 AND s.id = $2"),
                &[&plan, &id],
            )
            .await?;
        Ok(row.as_ref().map(snapshot))
    }

    async fn add_pulled_snapshot(&self, plan: String, s: PulledSnapshot) -> Result<bool> {
        let c = self.pool.get().await?;
        let heads = s.heads.join(" ");
        let there: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM snapshots WHERE doc_id = $1 AND name = $2 AND heads = $3",
                &[&plan, &s.name, &heads],
            )
            .await?
            .get(0);
        if there > 0 {
            return Ok(false);
        }
        c.execute(
            "INSERT INTO snapshots (doc_id, name, heads, participant_id, created_ms, author) VALUES ($1, $2, $3, NULL, $4, $5)",
            &[&plan, &s.name, &heads, &s.created_ms, &s.author],
        )
        .await?;
        Ok(true)
    }

    async fn add_relayed(&self, doc: String, authors: Vec<RelayedAuthor>) -> Result<usize> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let mut recorded = 0;
        for a in &authors {
            recorded += tx.execute(
                "INSERT INTO relayed_authors (doc_id, hash, name, agency, via, known) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (doc_id, hash) DO NOTHING",
                &[&doc, &a.hash, &a.name, &a.agency, &a.via, &a.known.as_ref().map(|k| k.stored())],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(recorded as usize)
    }

    async fn snapshot_named(&self, plan: String, name: String) -> Result<Option<Snapshot>> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                &format!("{SNAPSHOT_SELECT} WHERE s.doc_id = $1 AND s.name = $2 ORDER BY s.created_ms DESC, s.id DESC LIMIT 1"),
                &[&plan, &name],
            )
            .await?;
        Ok(row.as_ref().map(snapshot))
    }
}
