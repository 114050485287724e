//! Access changes reaching open connections: a new role, a plan taken away, a participant
//! removed on this node or (through storage notices) on another.

use super::*;

impl SyncHandle {
    /// Gives a participant's open connections their new role, or takes the plan away from
    /// them (`None`; a connection left with no plan is closed): call it after storage made
    /// the change.
    pub async fn regrant(
        &self,
        participant: ParticipantId,
        role: Option<Role>,
    ) -> Result<(), ServiceError> {
        let mut changed = Vec::new();
        {
            let mut conns = lock(&self.inner.conns);
            for (conn, e) in conns.iter_mut() {
                let docs: Vec<DocumentId> = e
                    .grants
                    .iter()
                    .filter(|g| g.participant == Some(participant))
                    .map(|g| g.doc)
                    .collect();
                if docs.is_empty() {
                    continue;
                }
                match role {
                    Some(role) => e
                        .grants
                        .iter_mut()
                        .filter(|g| g.participant == Some(participant))
                        .for_each(|g| g.role = role),
                    None => e.grants.retain(|g| g.participant != Some(participant)),
                }
                let attached: Vec<DocumentId> = docs
                    .into_iter()
                    .filter(|d| e.attached.contains(d))
                    .collect();
                changed.push((*conn, access_map(&e.grants), attached, e.link.clone()));
            }
        }
        for (conn, grants, attached, link) in changed {
            let empty = grants.is_empty();
            self.front(Event::Grant { conn, grants });
            for doc in attached {
                self.send_if_running(doc, Command::Role { conn, role })
                    .await;
            }
            if empty {
                link.close("your access to this plan was withdrawn by an owner".into());
            }
            tracing::info!(
                conn = conn.0,
                participant = participant.0,
                ?role,
                "changed the access of an open connection"
            );
        }
        Ok(())
    }

    /// Acts on another node's announcement.
    pub(super) async fn notice(&self, notice: Notice) {
        match notice {
            Notice::Document(doc) => self.send_if_running(doc, Command::CatchUp).await,
            Notice::Participant(id) => self.refresh_access(id).await,
            Notice::Resync => {
                let docs: Vec<DocumentId> =
                    lock(&self.inner.shared.registry).keys().copied().collect();
                for doc in docs {
                    self.send_if_running(doc, Command::CatchUp).await;
                }
                let mut people: Vec<ParticipantId> = lock(&self.inner.conns)
                    .values()
                    .flat_map(|e| e.grants.iter().filter_map(|g| g.participant))
                    .collect();
                people.sort_by_key(|p| p.0);
                people.dedup();
                for id in people {
                    self.refresh_access(id).await;
                }
            }
        }
    }

    /// Gives a participant's open connections the access storage now records for them.
    async fn refresh_access(&self, id: ParticipantId) {
        let connected = lock(&self.inner.conns)
            .values()
            .any(|e| e.grants.iter().any(|g| g.participant == Some(id)));
        if !connected {
            return;
        }
        match self.inner.shared.store.participant(id).await {
            Ok(p) => {
                let _ = self.regrant(id, p.map(|p| p.role)).await;
            }
            Err(e) => {
                tracing::warn!(participant = id.0, error = %e, "could not read a participant's access")
            }
        }
    }
}
