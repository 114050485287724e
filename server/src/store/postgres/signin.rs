//! Sign-in flows, identities, hand-offs and sessions, on Postgres.

use super::*;
use crate::store::{SignInFlow, SignedInPerson, MAX_FLOW_MS};

#[async_trait::async_trait]
impl crate::store::SignInStore for Postgres {
    async fn begin_sign_in(&self, f: SignInFlow) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "DELETE FROM sign_in_flows WHERE created_ms < $1",
            &[&(f.created_ms - MAX_FLOW_MS)],
        )
        .await?;
        c.execute(
            "INSERT INTO sign_in_flows (state_hash, browser_hash, provider, verifier, nonce, invitation, return_to, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&f.state_hash, &f.browser_hash, &f.provider, &f.verifier, &f.nonce, &f.invitation, &f.return_to, &f.created_ms],
        )
        .await?;
        Ok(())
    }

    async fn take_sign_in(&self, state_hash: String, now_ms: i64) -> Result<Option<SignInFlow>> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "DELETE FROM sign_in_flows WHERE state_hash = $1
                 RETURNING state_hash, browser_hash, provider, verifier, nonce, invitation, return_to, created_ms",
                &[&state_hash],
            )
            .await?;
        Ok(row
            .map(|r| SignInFlow {
                state_hash: r.get(0),
                browser_hash: r.get(1),
                provider: r.get(2),
                verifier: r.get(3),
                nonce: r.get(4),
                invitation: r.get(5),
                return_to: r.get(6),
                created_ms: r.get(7),
            })
            .filter(|f| now_ms - f.created_ms <= MAX_FLOW_MS))
    }

    async fn sign_in(
        &self,
        who: SignedInPerson,
        joining: Option<String>,
        unusable_token: String,
        now_ms: i64,
    ) -> Result<Vec<Participant>, JoinError> {
        let mut c = self.pool.get().await.map_err(StoreError::from)?;
        let tx = c.transaction().await.map_err(StoreError::from)?;
        if let Some(code) = joining {
            let found = tx
                .query_opt(
                    &format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE code = $1 AND revoked_ms IS NULL FOR UPDATE"),
                    &[&code],
                )
                .await
                .map_err(StoreError::from)?;
            let inv = found.as_ref().map(invitation).ok_or(JoinRefused::Unknown)?;
            let inv = crate::access::usable_with(inv, &who.provider, now_ms)?;
            let there: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM participants WHERE plan_id = $1 AND issuer = $2 AND subject = $3 AND revoked_ms IS NULL)",
                    &[&inv.plan, &who.issuer, &who.subject],
                )
                .await
                .map_err(StoreError::from)?
                .get(0);
            if !there {
                tx.execute(
                    "UPDATE invitations SET uses_left = uses_left - 1 WHERE id = $1",
                    &[&inv.id],
                )
                .await
                .map_err(StoreError::from)?;
                tx.execute(
                    "INSERT INTO participants (plan_id, name, agency, role, token_hash, created_ms, kind, provider, provider_label, issuer, subject, email)
                     VALUES ($1, $2, $3, $4, $5, $6, 'person', $7, $8, $9, $10, $11)",
                    &[&inv.plan, &who.name, &who.agency, &inv.role.as_str(), &unusable_token, &now_ms, &who.provider, &who.label, &who.issuer, &who.subject, &who.email],
                )
                .await
                .map_err(StoreError::from)?;
            }
        }
        tx.execute(
            "UPDATE participants SET last_sign_in_ms = $3, name = $4, email = $5, provider_label = $6
             WHERE issuer = $1 AND subject = $2 AND revoked_ms IS NULL",
            &[&who.issuer, &who.subject, &now_ms, &who.name, &who.email, &who.label],
        )
        .await
        .map_err(StoreError::from)?;
        let rows = tx
            .query(
                &format!("SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE issuer = $1 AND subject = $2 AND revoked_ms IS NULL ORDER BY id"),
                &[&who.issuer, &who.subject],
            )
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(rows.iter().map(participant).collect())
    }

    async fn add_handoff(
        &self,
        code_hash: String,
        participants: Vec<ParticipantId>,
        return_to: String,
        expires_ms: i64,
    ) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "DELETE FROM sign_in_handoffs WHERE expires_ms < $1",
            &[&(expires_ms - MAX_FLOW_MS)],
        )
        .await?;
        c.execute(
            "INSERT INTO sign_in_handoffs (code_hash, participants, return_to, expires_ms) VALUES ($1, $2, $3, $4)",
            &[&code_hash, &ids_text(&participants), &return_to, &expires_ms],
        )
        .await?;
        Ok(())
    }

    async fn take_handoff(
        &self,
        code_hash: String,
        now_ms: i64,
    ) -> Result<Option<(Vec<ParticipantId>, String)>> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "DELETE FROM sign_in_handoffs WHERE code_hash = $1 RETURNING participants, return_to, expires_ms",
                &[&code_hash],
            )
            .await?;
        Ok(row
            .filter(|r| r.get::<_, i64>(2) > now_ms)
            .map(|r| (parse_ids(r.get(0)), r.get(1))))
    }

    async fn add_session(
        &self,
        token_hash: String,
        participant: ParticipantId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute("DELETE FROM sessions WHERE expires_ms < $1", &[&now_ms])
            .await?;
        c.execute(
            "INSERT INTO sessions (token_hash, participant_id, created_ms, expires_ms) VALUES ($1, $2, $3, $4)",
            &[&token_hash, &participant.0, &now_ms, &expires_ms],
        )
        .await?;
        Ok(())
    }

    async fn end_sessions(&self, token_hashes: Vec<String>) -> Result<usize> {
        let c = self.pool.get().await?;
        let n = c
            .execute(
                "DELETE FROM sessions WHERE token_hash = ANY($1)",
                &[&token_hashes],
            )
            .await?;
        Ok(n as usize)
    }
}
