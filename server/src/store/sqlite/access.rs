//! Participants, tokens and invitations, on Sqlite.

use super::*;
use crate::store::{OwnerLink, FIRST_PLAN_CLAIM_MS};

#[async_trait::async_trait]
impl crate::store::AccessStore for Sqlite {
    async fn participant(&self, id: ParticipantId) -> Result<Option<Participant>> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE id = ?1 AND revoked_ms IS NULL"),
                [id.0],
                participant,
            )
            .optional()?)
        })
        .await
    }

    async fn add_participant(&self, p: NewParticipant, now_ms: i64) -> Result<Participant> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO participants (plan_id, name, agency, role, token_hash, created_ms, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![p.plan, p.name, p.agency, p.role.as_str(), p.token_hash, now_ms, p.kind.as_str()],
            )?;
            Ok(Participant {
                id: ParticipantId(c.last_insert_rowid()),
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
        })
        .await
    }

    async fn participant_by_token(
        &self,
        token_hash: String,
        now_ms: i64,
    ) -> Result<Option<Participant>> {
        self.read(move |c| {
            let by_code = c
                .query_row(
                    &format!("SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE token_hash = ?1 AND revoked_ms IS NULL"),
                    [&token_hash],
                    participant,
                )
                .optional()?;
            if by_code.is_some() {
                return Ok(by_code);
            }
            let session: Option<(i64, i64)> = c
                .query_row(
                    "SELECT participant_id, expires_ms FROM sessions WHERE token_hash = ?1 AND expires_ms > ?2",
                    params![token_hash, now_ms],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((id, ends)) = session else {
                return Ok(None);
            };
            let found = c
                .query_row(
                    &format!("SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE id = ?1 AND revoked_ms IS NULL"),
                    [id],
                    participant,
                )
                .optional()?;
            Ok(found.map(|p| Participant {
                session_ends: Some(ends),
                ..p
            }))
        })
        .await
    }

    async fn participants(&self, plan: String) -> Result<Vec<Participant>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE plan_id = ?1 AND revoked_ms IS NULL ORDER BY id"
            ))?;
            let rows = stmt.query_map([plan], participant)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn set_role(&self, plan: String, id: ParticipantId, role: Role) -> Result<RoleChange> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let outcome = owner_rule(&tx, &plan, id, role == Role::Owner)?;
            if outcome == RoleChange::Changed {
                tx.execute(
                    "UPDATE participants SET role = ?3 WHERE plan_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
                    params![plan, id.0, role.as_str()],
                )?;
            }
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn revoke_participant(
        &self,
        plan: String,
        id: ParticipantId,
        now_ms: i64,
    ) -> Result<RoleChange> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let outcome = owner_rule(&tx, &plan, id, false)?;
            if outcome == RoleChange::Changed {
                tx.execute(
                    "UPDATE participants SET revoked_ms = ?3 WHERE plan_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
                    params![plan, id.0, now_ms],
                )?;
                tx.execute(
                    "DELETE FROM person_links WHERE plan_id = ?1 AND participant_id = ?2",
                    params![plan, id.0],
                )?;
                tx.execute(
                    "DELETE FROM participant_emails WHERE plan_id = ?1 AND participant_id = ?2",
                    params![plan, id.0],
                )?;
            }
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn create_invitation(&self, inv: NewInvitation, now_ms: i64) -> Result<Invitation> {
        self.write(move |c| insert_invitation(c, inv, now_ms)).await
    }

    async fn invitations(&self, plan: String, now_ms: i64) -> Result<Vec<Invitation>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations
                 WHERE plan_id = ?1 AND revoked_ms IS NULL AND uses_left > 0 AND expires_ms > ?2 ORDER BY id"
            ))?;
            let rows = stmt.query_map(params![plan, now_ms], invitation)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn revoke_invitation(&self, plan: String, id: i64, now_ms: i64) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE invitations SET revoked_ms = ?3 WHERE plan_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
                params![plan, id, now_ms],
            )? == 1)
        })
        .await
    }

    async fn owner_invitation_if_none(&self, inv: NewInvitation, now_ms: i64) -> Result<OwnerLink> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let has_owner: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM participants WHERE plan_id = ?1 AND role = 'owner' AND revoked_ms IS NULL)",
                [&inv.plan],
                |r| r.get(0),
            )?;
            if has_owner {
                return Ok(OwnerLink::HasOwner);
            }
            let pending: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM invitations WHERE plan_id = ?1 AND role = 'owner' AND revoked_ms IS NULL AND uses_left > 0 AND expires_ms > ?2)",
                params![inv.plan, now_ms],
                |r| r.get(0),
            )?;
            if pending {
                return Ok(OwnerLink::Pending);
            }
            let made = insert_invitation(&tx, inv, now_ms)?;
            tx.commit()?;
            Ok(OwnerLink::Made(made))
        })
        .await
    }

    async fn claim_first_plan(&self, now_ms: i64) -> Result<bool> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let any_plan: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM plans)", [], |r| r.get(0))?;
            let claimed: Option<i64> = tx
                .query_row(
                    "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'first_plan_claimed_ms'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if any_plan || claimed.is_some_and(|t| now_ms - t < FIRST_PLAN_CLAIM_MS) {
                return Ok(false);
            }
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('first_plan_claimed_ms', ?1)",
                [now_ms.to_string()],
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn person_links(&self, plan: String) -> Result<Vec<PersonLink>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT l.participant_id, l.person_id, l.confirmed, l.shared FROM person_links l
                 JOIN participants p ON p.id = l.participant_id AND p.revoked_ms IS NULL
                 WHERE l.plan_id = ?1 ORDER BY l.participant_id, l.created_ms, l.person_id",
            )?;
            let rows = stmt.query_map([plan], person_link)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn link_person(&self, link: NewPersonLink, now_ms: i64) -> Result<LinkOutcome> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM participants WHERE plan_id = ?1 AND id = ?2 AND revoked_ms IS NULL)",
                params![link.plan, link.participant.0],
                |r| r.get(0),
            )?;
            if !current {
                return Ok(LinkOutcome::NotFound);
            }
            let others: Vec<(PersonLink, String)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT l.participant_id, l.person_id, l.confirmed, l.shared, p.name FROM person_links l
                     JOIN participants p ON p.id = l.participant_id AND p.revoked_ms IS NULL
                     WHERE l.plan_id = ?1 AND l.person_id = ?2 AND l.participant_id <> ?3 ORDER BY l.created_ms",
                )?;
                let rows = stmt.query_map(
                    params![link.plan, link.person, link.participant.0],
                    |r| Ok((person_link(r)?, r.get(4)?)),
                )?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let outcome = crate::access::link_rule(&others, &link);
            if outcome == LinkOutcome::Linked {
                tx.execute(
                    "INSERT INTO person_links (plan_id, participant_id, person_id, confirmed, shared, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (plan_id, participant_id, person_id)
                     DO UPDATE SET confirmed = max(confirmed, excluded.confirmed), shared = max(shared, excluded.shared)",
                    params![link.plan, link.participant.0, link.person, link.confirmed, link.shared, now_ms],
                )?;
                if link.shared {
                    tx.execute(
                        "UPDATE person_links SET shared = 1 WHERE plan_id = ?1 AND person_id = ?2",
                        params![link.plan, link.person],
                    )?;
                }
            }
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn unlink_person(
        &self,
        plan: String,
        participant: ParticipantId,
        person: String,
    ) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute(
                "DELETE FROM person_links WHERE plan_id = ?1 AND participant_id = ?2 AND person_id = ?3",
                params![plan, participant.0, person],
            )? == 1)
        })
        .await
    }

    async fn set_email(
        &self,
        plan: String,
        participant: ParticipantId,
        email: Option<(String, bool)>,
    ) -> Result<bool> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM participants WHERE plan_id = ?1 AND id = ?2 AND revoked_ms IS NULL)",
                params![plan, participant.0],
                |r| r.get(0),
            )?;
            if current {
                match email {
                    Some((email, reminders)) => tx.execute(
                        "INSERT INTO participant_emails (participant_id, plan_id, email, reminders) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (participant_id) DO UPDATE SET email = excluded.email, reminders = excluded.reminders",
                        params![participant.0, plan, email, reminders],
                    )?,
                    None => tx.execute(
                        "DELETE FROM participant_emails WHERE participant_id = ?1",
                        [participant.0],
                    )?,
                };
            }
            tx.commit()?;
            Ok(current)
        })
        .await
    }

    async fn emails(&self, plan: String) -> Result<Vec<ParticipantEmail>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT e.participant_id, e.email, e.reminders FROM participant_emails e
                 JOIN participants p ON p.id = e.participant_id AND p.revoked_ms IS NULL
                 WHERE e.plan_id = ?1 ORDER BY e.participant_id",
            )?;
            let rows = stmt.query_map([plan], |r| {
                Ok(ParticipantEmail {
                    participant: r.get(0)?,
                    email: r.get(1)?,
                    reminders: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn take_reminders(
        &self,
        plan: String,
        keys: Vec<(String, i64)>,
        now_ms: i64,
        hold_until_ms: i64,
    ) -> Result<Vec<String>> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut taken = Vec::new();
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO reminders (key, plan_id, participant_id, state, hold_until_ms) VALUES (?1, ?2, ?3, 'sending', ?5)
                     ON CONFLICT (key) DO UPDATE SET hold_until_ms = excluded.hold_until_ms
                     WHERE reminders.state = 'sending' AND reminders.hold_until_ms <= ?4
                     RETURNING key",
                )?;
                for (key, participant) in keys {
                    if let Some(k) = stmt
                        .query_row(params![key, plan, participant, now_ms, hold_until_ms], |r| {
                            r.get::<_, String>(0)
                        })
                        .optional()?
                    {
                        taken.push(k);
                    }
                }
            }
            tx.commit()?;
            Ok(taken)
        })
        .await
    }

    async fn reminders_sent(&self, keys: Vec<String>, now_ms: i64) -> Result<()> {
        self.write(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "UPDATE reminders SET state = 'sent', sent_ms = ?2, error = NULL WHERE key = ?1",
                )?;
                for key in keys {
                    stmt.execute(params![key, now_ms])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn reminder_retry(
        &self,
        key: String,
        retry_ms: i64,
        error: Option<String>,
    ) -> Result<()> {
        self.write(move |c| {
            let tried = i64::from(error.is_some());
            c.execute(
                "UPDATE reminders SET hold_until_ms = ?2, tries = tries + ?3, error = COALESCE(?4, error),
                 state = CASE WHEN tries + ?3 >= ?5 THEN 'given up' ELSE state END
                 WHERE key = ?1 AND state = 'sending'",
                params![key, retry_ms, tried, error, crate::store::MAX_REMINDER_TRIES],
            )?;
            Ok(())
        })
        .await
    }

    async fn redeem(
        &self,
        code: String,
        name: String,
        agency: String,
        token_hash: String,
        now_ms: i64,
    ) -> Result<Participant, JoinError> {
        self.write(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let found = tx
                .query_row(
                    &format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE code = ?1 AND revoked_ms IS NULL"),
                    [&code],
                    invitation,
                )
                .optional()
                .map_err(StoreError::from)?;
            let inv = crate::access::usable_with_code(found.ok_or(JoinRefused::Unknown)?, now_ms)?;
            tx.execute(
                "UPDATE invitations SET uses_left = uses_left - 1 WHERE id = ?1",
                [inv.id],
            )
            .map_err(StoreError::from)?;
            tx.execute(
                "INSERT INTO participants (plan_id, name, agency, role, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![inv.plan, name, agency, inv.role.as_str(), token_hash, now_ms],
            )
            .map_err(StoreError::from)?;
            let id = ParticipantId(tx.last_insert_rowid());
            tx.commit().map_err(StoreError::from)?;
            Ok(Participant {
                id,
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
        })
        .await
    }
}
