//! How far each relay to an upstream got, on Sqlite.

use super::*;

#[async_trait::async_trait]
impl crate::store::RelayStore for Sqlite {
    async fn relay_progress(&self) -> Result<Vec<RelayProgress>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT upstream, doc_id, upstream_heads, reached_ms, sent_ms, attributed FROM relay_progress ORDER BY upstream, doc_id",
            )?;
            let rows = stmt.query_map([], |r| {
                let heads: String = r.get(2)?;
                Ok(RelayProgress {
                    upstream: r.get(0)?,
                    plan: r.get(1)?,
                    upstream_heads: heads.split_whitespace().map(str::to_string).collect(),
                    reached_ms: r.get(3)?,
                    sent_ms: r.get(4)?,
                    attributed: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn set_relay_progress(&self, p: RelayProgress) -> Result<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO relay_progress (upstream, doc_id, upstream_heads, reached_ms, sent_ms, attributed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (upstream, doc_id) DO UPDATE SET upstream_heads = excluded.upstream_heads,
                   reached_ms = excluded.reached_ms, sent_ms = excluded.sent_ms, attributed = excluded.attributed",
                params![p.upstream, p.plan, p.upstream_heads.join(" "), p.reached_ms, p.sent_ms, p.attributed],
            )?;
            Ok(())
        })
        .await
    }
}
