//! Participants, tokens and invitations, on Postgres.

use super::*;
use crate::store::{OwnerLink, FIRST_PLAN_CLAIM_MS};

#[async_trait::async_trait]
impl crate::store::AccessStore for Postgres {
    async fn participant(&self, id: ParticipantId) -> Result<Option<Participant>> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                &format!("SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE id = $1 AND revoked_ms IS NULL"),
                &[&id.0],
            )
            .await?;
        Ok(row.as_ref().map(participant))
    }

    async fn add_participant(&self, p: NewParticipant, now_ms: i64) -> Result<Participant> {
        let c = self.pool.get().await?;
        let row = c
            .query_one(
                "INSERT INTO participants (plan_id, name, agency, role, token_hash, created_ms, kind) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[&p.plan, &p.name, &p.agency, &p.role.as_str(), &p.token_hash, &now_ms, &p.kind.as_str()],
            )
            .await?;
        Ok(Participant {
            id: ParticipantId(row.get(0)),
            plan: p.plan,
            name: p.name,
            agency: p.agency,
            role: p.role,
            joined: now_ms,
            kind: p.kind,
            signed_in_with: None,
            last_sign_in: None,
            provider: None,
            session_ends: None,
        })
    }

    async fn participant_by_token(
        &self,
        token_hash: String,
        now_ms: i64,
    ) -> Result<Option<Participant>> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                &format!("SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE token_hash = $1 AND revoked_ms IS NULL"),
                &[&token_hash],
            )
            .await?;
        if let Some(r) = row {
            return Ok(Some(participant(&r)));
        }
        let Some(session) = c
            .query_opt(
                "SELECT participant_id, expires_ms FROM sessions WHERE token_hash = $1 AND expires_ms > $2",
                &[&token_hash, &now_ms],
            )
            .await?
        else {
            return Ok(None);
        };
        let (id, ends): (i64, i64) = (session.get(0), session.get(1));
        let row = c
            .query_opt(
                &format!("SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE id = $1 AND revoked_ms IS NULL"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(|r| Participant {
            session_ends: Some(ends),
            ..participant(r)
        }))
    }

    async fn participants(&self, plan: String) -> Result<Vec<Participant>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &format!("SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE plan_id = $1 AND revoked_ms IS NULL ORDER BY id"),
                &[&plan],
            )
            .await?;
        Ok(rows.iter().map(participant).collect())
    }

    async fn set_role(&self, plan: String, id: ParticipantId, role: Role) -> Result<RoleChange> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let outcome = owner_rule(&tx, &plan, id, role == Role::Owner).await?;
        if outcome == RoleChange::Changed {
            tx.execute(
                "UPDATE participants SET role = $3 WHERE plan_id = $1 AND id = $2 AND revoked_ms IS NULL",
                &[&plan, &id.0, &role.as_str()],
            )
            .await?;
            self.announce(&tx, ACCESS_CHANNEL, &id.0.to_string())
                .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn revoke_participant(
        &self,
        plan: String,
        id: ParticipantId,
        now_ms: i64,
    ) -> Result<RoleChange> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let outcome = owner_rule(&tx, &plan, id, false).await?;
        if outcome == RoleChange::Changed {
            tx.execute(
                "UPDATE participants SET revoked_ms = $3 WHERE plan_id = $1 AND id = $2 AND revoked_ms IS NULL",
                &[&plan, &id.0, &now_ms],
            )
            .await?;
            tx.execute(
                "DELETE FROM person_links WHERE plan_id = $1 AND participant_id = $2",
                &[&plan, &id.0],
            )
            .await?;
            tx.execute(
                "DELETE FROM participant_emails WHERE plan_id = $1 AND participant_id = $2",
                &[&plan, &id.0],
            )
            .await?;
            self.announce(&tx, ACCESS_CHANNEL, &id.0.to_string())
                .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn person_links(&self, plan: String) -> Result<Vec<PersonLink>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT l.participant_id, l.person_id, l.confirmed, l.shared FROM person_links l
                 JOIN participants p ON p.id = l.participant_id AND p.revoked_ms IS NULL
                 WHERE l.plan_id = $1 ORDER BY l.participant_id, l.created_ms, l.person_id",
                &[&plan],
            )
            .await?;
        Ok(rows.iter().map(person_link).collect())
    }

    async fn link_person(&self, link: NewPersonLink, now_ms: i64) -> Result<LinkOutcome> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // Lock the plan's participants, so two links of one person made at once on two
        // nodes take turns (and a revocation waits for a link in progress).
        let people = tx
            .query(
                "SELECT id FROM participants WHERE plan_id = $1 AND revoked_ms IS NULL ORDER BY id FOR UPDATE",
                &[&link.plan],
            )
            .await?;
        if !people
            .iter()
            .any(|r| r.get::<_, i64>(0) == link.participant.0)
        {
            return Ok(LinkOutcome::NotFound);
        }
        let others: Vec<(PersonLink, String)> = tx
            .query(
                "SELECT l.participant_id, l.person_id, l.confirmed, l.shared, p.name FROM person_links l
                 JOIN participants p ON p.id = l.participant_id AND p.revoked_ms IS NULL
                 WHERE l.plan_id = $1 AND l.person_id = $2 AND l.participant_id <> $3 ORDER BY l.created_ms",
                &[&link.plan, &link.person, &link.participant.0],
            )
            .await?
            .iter()
            .map(|r| (person_link(r), r.get(4)))
            .collect();
        let outcome = crate::access::link_rule(&others, &link);
        if outcome == LinkOutcome::Linked {
            tx.execute(
                "INSERT INTO person_links (plan_id, participant_id, person_id, confirmed, shared, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (plan_id, participant_id, person_id)
                 DO UPDATE SET confirmed = person_links.confirmed OR excluded.confirmed,
                               shared = person_links.shared OR excluded.shared",
                &[&link.plan, &link.participant.0, &link.person, &link.confirmed, &link.shared, &now_ms],
            )
            .await?;
            if link.shared {
                tx.execute(
                    "UPDATE person_links SET shared = TRUE WHERE plan_id = $1 AND person_id = $2",
                    &[&link.plan, &link.person],
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn unlink_person(
        &self,
        plan: String,
        participant: ParticipantId,
        person: String,
    ) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "DELETE FROM person_links WHERE plan_id = $1 AND participant_id = $2 AND person_id = $3",
            &[&plan, &participant.0, &person],
        )
        .await?
            == 1)
    }

    async fn set_email(
        &self,
        plan: String,
        participant: ParticipantId,
        email: Option<(String, bool)>,
    ) -> Result<bool> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // Lock the participant's row: a revocation waits, and so does this.
        let current = tx
            .query_opt(
                "SELECT id FROM participants WHERE plan_id = $1 AND id = $2 AND revoked_ms IS NULL FOR UPDATE",
                &[&plan, &participant.0],
            )
            .await?
            .is_some();
        if current {
            match email {
                Some((email, reminders)) => tx
                    .execute(
                        "INSERT INTO participant_emails (participant_id, plan_id, email, reminders) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (participant_id) DO UPDATE SET email = excluded.email, reminders = excluded.reminders",
                        &[&participant.0, &plan, &email, &reminders],
                    )
                    .await?,
                None => tx
                    .execute(
                        "DELETE FROM participant_emails WHERE participant_id = $1",
                        &[&participant.0],
                    )
                    .await?,
            };
        }
        tx.commit().await?;
        Ok(current)
    }

    async fn emails(&self, plan: String) -> Result<Vec<ParticipantEmail>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT e.participant_id, e.email, e.reminders FROM participant_emails e
                 JOIN participants p ON p.id = e.participant_id AND p.revoked_ms IS NULL
                 WHERE e.plan_id = $1 ORDER BY e.participant_id",
                &[&plan],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ParticipantEmail {
                participant: r.get(0),
                email: r.get(1),
                reminders: r.get(2),
            })
            .collect())
    }

    async fn take_reminders(
        &self,
        plan: String,
        keys: Vec<(String, i64)>,
        now_ms: i64,
        hold_until_ms: i64,
    ) -> Result<Vec<String>> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let stmt = tx
            .prepare(
                "INSERT INTO reminders (key, plan_id, participant_id, state, hold_until_ms) VALUES ($1, $2, $3, 'sending', $5)
                 ON CONFLICT (key) DO UPDATE SET hold_until_ms = excluded.hold_until_ms
                 WHERE reminders.state = 'sending' AND reminders.hold_until_ms <= $4
                 RETURNING key",
            )
            .await?;
        let mut taken = Vec::new();
        for (key, participant) in keys {
            if let Some(row) = tx
                .query_opt(&stmt, &[&key, &plan, &participant, &now_ms, &hold_until_ms])
                .await?
            {
                taken.push(row.get(0));
            }
        }
        tx.commit().await?;
        Ok(taken)
    }

    async fn reminders_sent(&self, keys: Vec<String>, now_ms: i64) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "UPDATE reminders SET state = 'sent', sent_ms = $2, error = NULL WHERE key = ANY($1)",
            &[&keys, &now_ms],
        )
        .await?;
        Ok(())
    }

    async fn reminder_retry(
        &self,
        key: String,
        retry_ms: i64,
        error: Option<String>,
    ) -> Result<()> {
        let c = self.pool.get().await?;
        let tried = i64::from(error.is_some());
        c.execute(
            "UPDATE reminders SET hold_until_ms = $2, tries = tries + $3, error = COALESCE($4, error),
             state = CASE WHEN tries + $3 >= $5 THEN 'given up' ELSE state END
             WHERE key = $1 AND state = 'sending'",
            &[&key, &retry_ms, &tried, &error, &crate::store::MAX_REMINDER_TRIES],
        )
        .await?;
        Ok(())
    }

    async fn create_invitation(&self, inv: NewInvitation, now_ms: i64) -> Result<Invitation> {
        let c = self.pool.get().await?;
        insert_invitation(&c, inv, now_ms).await
    }

    async fn invitations(&self, plan: String, now_ms: i64) -> Result<Vec<Invitation>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {INVITATION_COLUMNS} FROM invitations
                     WHERE plan_id = $1 AND revoked_ms IS NULL AND uses_left > 0 AND expires_ms > $2 ORDER BY id"
                ),
                &[&plan, &now_ms],
            )
            .await?;
        Ok(rows.iter().map(invitation).collect())
    }

    async fn revoke_invitation(&self, plan: String, id: i64, now_ms: i64) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "UPDATE invitations SET revoked_ms = $3 WHERE plan_id = $1 AND id = $2 AND revoked_ms IS NULL",
            &[&plan, &id, &now_ms],
        )
        .await?
            == 1)
    }

    async fn owner_invitation_if_none(&self, inv: NewInvitation, now_ms: i64) -> Result<OwnerLink> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // One start at a time across the nodes (no row to lock before a link exists).
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&super::START_LOCK])
            .await?;
        let owners = tx
            .query(
                "SELECT id FROM participants WHERE plan_id = $1 AND role = 'owner' AND revoked_ms IS NULL FOR UPDATE",
                &[&inv.plan],
            )
            .await?;
        if !owners.is_empty() {
            return Ok(OwnerLink::HasOwner);
        }
        let pending: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM invitations WHERE plan_id = $1 AND role = 'owner' AND revoked_ms IS NULL AND uses_left > 0 AND expires_ms > $2)",
                &[&inv.plan, &now_ms],
            )
            .await?
            .get(0);
        if pending {
            return Ok(OwnerLink::Pending);
        }
        let made = insert_invitation(&tx, inv, now_ms).await?;
        tx.commit().await?;
        Ok(OwnerLink::Made(made))
    }

    async fn claim_first_plan(&self, now_ms: i64) -> Result<bool> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&super::START_LOCK])
            .await?;
        let any_plan: bool = tx
            .query_one("SELECT EXISTS (SELECT 1 FROM plans)", &[])
            .await?
            .get(0);
        let claimed: Option<i64> = tx
            .query_opt(
                "SELECT value::BIGINT FROM meta WHERE key = 'first_plan_claimed_ms'",
                &[],
            )
            .await?
            .map(|r| r.get(0));
        if any_plan || claimed.is_some_and(|t| now_ms - t < FIRST_PLAN_CLAIM_MS) {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('first_plan_claimed_ms', $1)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&now_ms.to_string()],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn redeem(
        &self,
        code: String,
        name: String,
        agency: String,
        token_hash: String,
        now_ms: i64,
    ) -> Result<Participant, JoinError> {
        let mut c = self.pool.get().await.map_err(StoreError::from)?;
        let tx = c.transaction().await.map_err(StoreError::from)?;
        let found = tx
            .query_opt(
                &format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE code = $1 AND revoked_ms IS NULL FOR UPDATE"),
                &[&code],
            )
            .await
            .map_err(StoreError::from)?;
        let inv = found.as_ref().map(invitation).ok_or(JoinRefused::Unknown)?;
        let inv = crate::access::usable_with_code(inv, now_ms)?;
        tx.execute(
            "UPDATE invitations SET uses_left = uses_left - 1 WHERE id = $1",
            &[&inv.id],
        )
        .await
        .map_err(StoreError::from)?;
        let row = tx
            .query_one(
                "INSERT INTO participants (plan_id, name, agency, role, token_hash, created_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[&inv.plan, &name, &agency, &inv.role.as_str(), &token_hash, &now_ms],
            )
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Participant {
            id: ParticipantId(row.get(0)),
            plan: inv.plan,
            name,
            agency,
            role: inv.role,
            joined: now_ms,
            kind: ParticipantKind::Person,
            signed_in_with: None,
            last_sign_in: None,
            provider: None,
            session_ends: None,
        })
    }
}
