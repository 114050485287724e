//! Sign-in flows, identities, hand-offs and sessions, on Sqlite.

use super::*;
use crate::store::{SignInFlow, SignedInPerson, MAX_FLOW_MS};

#[async_trait::async_trait]
impl crate::store::SignInStore for Sqlite {
    async fn begin_sign_in(&self, f: SignInFlow) -> Result<()> {
        self.write(move |c| {
            c.execute(
                "DELETE FROM sign_in_flows WHERE created_ms < ?1",
                [f.created_ms - MAX_FLOW_MS],
            )?;
            c.execute(
                "INSERT INTO sign_in_flows (state_hash, browser_hash, provider, verifier, nonce, invitation, return_to, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![f.state_hash, f.browser_hash, f.provider, f.verifier, f.nonce, f.invitation, f.return_to, f.created_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn take_sign_in(&self, state_hash: String, now_ms: i64) -> Result<Option<SignInFlow>> {
        self.write(move |c| {
            let flow = c
                .query_row(
                    "DELETE FROM sign_in_flows WHERE state_hash = ?1
                     RETURNING state_hash, browser_hash, provider, verifier, nonce, invitation, return_to, created_ms",
                    [state_hash],
                    |r| {
                        Ok(SignInFlow {
                            state_hash: r.get(0)?,
                            browser_hash: r.get(1)?,
                            provider: r.get(2)?,
                            verifier: r.get(3)?,
                            nonce: r.get(4)?,
                            invitation: r.get(5)?,
                            return_to: r.get(6)?,
                            created_ms: r.get(7)?,
                        })
                    },
                )
                .optional()?;
            Ok(flow.filter(|f| now_ms - f.created_ms <= MAX_FLOW_MS))
        })
        .await
    }

    async fn sign_in(
        &self,
        who: SignedInPerson,
        joining: Option<String>,
        unusable_token: String,
        now_ms: i64,
    ) -> Result<Vec<Participant>, JoinError> {
        self.write(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            if let Some(code) = joining {
                let found = tx
                    .query_row(
                        &format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE code = ?1 AND revoked_ms IS NULL"),
                        [&code],
                        invitation,
                    )
                    .optional()
                    .map_err(StoreError::from)?;
                let inv = crate::access::usable_with(found.ok_or(JoinRefused::Unknown)?, &who.provider, now_ms)?;
                let there: bool = tx
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM participants WHERE plan_id = ?1 AND issuer = ?2 AND subject = ?3 AND revoked_ms IS NULL)",
                        params![inv.plan, who.issuer, who.subject],
                        |r| r.get(0),
                    )
                    .map_err(StoreError::from)?;
                if !there {
                    tx.execute("UPDATE invitations SET uses_left = uses_left - 1 WHERE id = ?1", [inv.id])
                        .map_err(StoreError::from)?;
                    tx.execute(
                        "INSERT INTO participants (plan_id, name, agency, role, token_hash, created_ms, kind, provider, provider_label, issuer, subject, email)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'person', ?7, ?8, ?9, ?10, ?11)",
                        params![inv.plan, who.name, who.agency, inv.role.as_str(), unusable_token, now_ms, who.provider, who.label, who.issuer, who.subject, who.email],
                    )
                    .map_err(StoreError::from)?;
                }
            }
            tx.execute(
                "UPDATE participants SET last_sign_in_ms = ?3, name = ?4, email = ?5, provider_label = ?6
                 WHERE issuer = ?1 AND subject = ?2 AND revoked_ms IS NULL",
                params![who.issuer, who.subject, now_ms, who.name, who.email, who.label],
            )
            .map_err(StoreError::from)?;
            let found = {
                let mut stmt = tx
                    .prepare_cached(&format!(
                        "SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE issuer = ?1 AND subject = ?2 AND revoked_ms IS NULL ORDER BY id"
                    ))
                    .map_err(StoreError::from)?;
                let rows = stmt
                    .query_map(params![who.issuer, who.subject], participant)
                    .map_err(StoreError::from)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(StoreError::from)?
            };
            tx.commit().map_err(StoreError::from)?;
            Ok(found)
        })
        .await
    }

    async fn add_handoff(
        &self,
        code_hash: String,
        participants: Vec<ParticipantId>,
        return_to: String,
        expires_ms: i64,
    ) -> Result<()> {
        let ids = ids_text(&participants);
        self.write(move |c| {
            c.execute(
                "DELETE FROM sign_in_handoffs WHERE expires_ms < ?1",
                [expires_ms - MAX_FLOW_MS],
            )?;
            c.execute(
                "INSERT INTO sign_in_handoffs (code_hash, participants, return_to, expires_ms) VALUES (?1, ?2, ?3, ?4)",
                params![code_hash, ids, return_to, expires_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn take_handoff(
        &self,
        code_hash: String,
        now_ms: i64,
    ) -> Result<Option<(Vec<ParticipantId>, String)>> {
        self.write(move |c| {
            let found: Option<(String, String, i64)> = c
                .query_row(
                    "DELETE FROM sign_in_handoffs WHERE code_hash = ?1 RETURNING participants, return_to, expires_ms",
                    [code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            Ok(found
                .filter(|(_, _, ends)| *ends > now_ms)
                .map(|(ids, to, _)| (parse_ids(&ids), to)))
        })
        .await
    }

    async fn add_session(
        &self,
        token_hash: String,
        participant: ParticipantId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<()> {
        self.write(move |c| {
            c.execute("DELETE FROM sessions WHERE expires_ms < ?1", [now_ms])?;
            c.execute(
                "INSERT INTO sessions (token_hash, participant_id, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)",
                params![token_hash, participant.0, now_ms, expires_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn end_sessions(&self, token_hashes: Vec<String>) -> Result<usize> {
        self.write(move |c| {
            let mut n = 0;
            for h in &token_hashes {
                n += c.execute("DELETE FROM sessions WHERE token_hash = ?1", [h])?;
            }
            Ok(n)
        })
        .await
    }
}
