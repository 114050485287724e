//! The actor as the core's driver: it carries out the core's effects as they come (the
//! core holds sync messages until their persists complete) and stores chunks on the runtime.

use super::*;

/// Work that waits for the persists under way when it asked (see [`DocActor::when_saved`]).
pub(super) struct Waiter {
    /// The persists it still waits for.
    on: BTreeSet<PersistId>,
    /// Whether each that completed stored its chunk.
    saved: bool,
    then: Box<dyn FnOnce(bool) + Send>,
}

impl DocActor {
    /// Handles one event and carries out its effects.
    pub(in crate::sync) fn event(&mut self, event: Event) {
        let effects = self.hub.handle(now_ms(), event);
        self.carry_out(effects);
    }

    /// Carries out the core's effects as they come: the core holds back any sync message
    /// until the persists it depends on completed, so nothing here orders them.
    pub(super) fn carry_out(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send {
                    conn,
                    frame,
                    delivered,
                } => {
                    let Some((link, grant)) = self.links.get(&conn) else {
                        continue;
                    };
                    let receipt = delivered.map(|_| Receipt::new(conn, self.written.clone()));
                    if !link.send_or_cut_off(
                        frame,
                        receipt,
                        &self.shared.limits,
                        std::slice::from_ref(grant),
                    ) {
                        self.links.remove(&conn);
                        self.event(Event::Disconnected { conn });
                    }
                }
                Effect::Close { conn, reason } => {
                    if let Some((link, _)) = self.links.remove(&conn) {
                        link.close(reason);
                    }
                }
                Effect::Load { doc } => {
                    let result = if doc == self.doc {
                        self.load().map_err(|e| {
                            tracing::error!(%doc, error = %e, "loading a document failed");
                            e.to_string()
                        })
                    } else {
                        Ok(None)
                    };
                    self.event(Event::Loaded { doc, result });
                }
                Effect::Persist {
                    id,
                    doc,
                    chunk,
                    changes,
                } => self.persist(id, doc, chunk, changes),
                Effect::Warn { conn, message } => {
                    tracing::warn!(conn = conn.map(|c| c.0), "{message}")
                }
                Effect::Ready { .. }
                | Effect::Route { .. }
                | Effect::Changed { .. }
                | Effect::Unavailable { .. }
                | Effect::Ephemeral { .. } => {}
            }
        }
    }

    /// Stores a chunk with who sent each change, on the runtime (the pool's thread goes on
    /// with other plans); its completion comes back as a call on this actor.
    pub(super) fn persist(
        &mut self,
        id: PersistId,
        doc: DocumentId,
        chunk: Vec<u8>,
        changes: Vec<(plansync_shared::automerge::ChangeHash, Option<ConnId>)>,
    ) {
        let summary = self.hub.document_mut(&doc).and_then(|d| plan_summary(d));
        let changes: Changes = changes
            .iter()
            .map(|(hash, from)| {
                let by: Option<ParticipantId> =
                    from.and_then(|c| self.links.get(&c).and_then(|(_, g)| g.participant));
                (*hash, by)
            })
            .collect();
        self.saving.insert(id);
        let (store, me) = (self.shared.store.clone(), self.me.clone());
        self.shared.rt.spawn(async move {
            let started = Instant::now();
            let appended = store
                .append(doc, chunk, changes, summary, now_ms() as i64)
                .await;
            crate::metrics::metrics()
                .persist_seconds
                .observe(started.elapsed().as_secs_f64());
            // An actor that stopped meanwhile had nobody to tell: the chunk is stored.
            if let Some(slot) = me.upgrade() {
                slot.post(Box::new(move |actor: &mut DocActor| {
                    actor.persisted(id, appended)
                }));
            }
        });
    }

    /// A persist completed: the core learns it (and sends what waited for it); on failure
    /// it refuses the document's peers, who send again once they reconnect.
    pub(super) fn persisted(&mut self, id: PersistId, appended: Result<Appended, StoreError>) {
        self.saving.remove(&id);
        if self.saving.is_empty() {
            self.taken_while_saving = 0;
        }
        let result = match appended {
            Ok(appended) => {
                self.chunks.wrote(&appended);
                if appended.compact {
                    self.compact();
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(doc = %self.doc, error = %e, "saving changes failed; the change is refused and its peers disconnected");
                Err(e.to_string())
            }
        };
        let saved = result.is_ok();
        self.event(Event::Persisted {
            ids: vec![id],
            result,
        });
        for waiter in &mut self.waiters {
            waiter.saved &= saved || !waiter.on.contains(&id);
            waiter.on.remove(&id);
        }
        let (done, waiting) = std::mem::take(&mut self.waiters)
            .into_iter()
            .partition(|w| w.on.is_empty());
        self.waiters = waiting;
        for w in done {
            (w.then)(w.saved);
        }
    }

    /// Runs `then` once every persist started so far completed: with true if each stored
    /// its chunk, false if one failed.
    pub(in crate::sync) fn when_saved(&mut self, then: Box<dyn FnOnce(bool) + Send>) {
        if self.saving.is_empty() {
            then(true);
            return;
        }
        self.waiters.push(Waiter {
            on: self.saving.clone(),
            saved: true,
            then,
        });
    }
}
