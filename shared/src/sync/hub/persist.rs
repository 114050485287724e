//! Persisting: each change to a document is stored before any sync message advertises
//! it; the hub counts each document's persists under way and what they hold.

use super::*;

impl Hub {
    /// Persist (if configured) and report a change to a document's heads; `from` is the
    /// connection that sent the change.
    pub(super) fn after_change(
        &mut self,
        doc: DocumentId,
        from: Option<ConnId>,
        out: &mut Vec<Effect>,
    ) {
        let persist = self.config.persist;
        let Some(entry) = self.docs.get_mut(&doc) else {
            return;
        };
        let heads = entry.held.get().get_heads();
        if heads == entry.persisted {
            return;
        }
        if persist {
            // One pass over the new changes gives the chunk (what `save_after` writes) and
            // each change's sender.
            let mut chunk = Vec::new();
            let mut changes = Vec::new();
            for c in entry.held.get().get_changes(&entry.persisted) {
                let h = c.hash();
                if entry.already_stored.contains(&h) {
                    continue;
                }
                chunk.extend_from_slice(c.raw_bytes());
                changes.push((h, entry.senders.get(&h).copied().or(from)));
            }
            if !chunk.is_empty() {
                entry.bytes = entry.bytes.saturating_add(chunk.len());
                if entry.saving == 0 {
                    entry.stored.clone_from(&entry.persisted);
                    entry.outstanding.clear();
                }
                entry.saving += 1;
                let id = PersistId(self.next_persist);
                self.next_persist += 1;
                entry.outstanding.push_back((id, heads.clone(), false));
                self.saving.insert(id, doc);
                out.push(Effect::Persist {
                    id,
                    doc,
                    chunk,
                    changes,
                });
            }
        }
        entry.senders.clear();
        entry.already_stored.clear();
        entry.persisted = heads;
        out.push(Effect::Changed { doc });
    }

    /// A persist completed: once a document's last one has, its peers are synced and the
    /// messages that waited for it are handled.
    pub(super) fn persisted(
        &mut self,
        ids: Vec<PersistId>,
        result: Result<(), String>,
        out: &mut Vec<Effect>,
    ) {
        // Each persist's bookkeeping first, then one send per document for them all.
        let mut touched: Vec<(DocumentId, bool)> = Vec::new();
        for id in ids {
            if let Some((doc, advanced)) = self.persisted_one(id, &result, &touched, out) {
                match touched.iter_mut().find(|(d, _)| *d == doc) {
                    Some(t) => t.1 |= advanced,
                    None => touched.push((doc, advanced)),
                }
            }
        }
        for (doc, advanced) in touched {
            let Some(entry) = self.docs.get_mut(&doc) else {
                continue;
            };
            if entry.saving > 0 {
                // Stored further: a hub that sends what is stored sends it now.
                if advanced && self.config.sends_stored_while_saving() {
                    self.sync_all(doc, out);
                }
                continue;
            }
            let pending = std::mem::take(&mut entry.pending);
            self.sync_all(doc, out);
            for (conn, msg) in pending {
                self.apply_sync(conn, msg, out);
            }
        }
    }

    /// One completed persist: its document, and whether what is stored of it advanced
    /// (`None`: nothing more to do for it). `seen` are the documents met so far in this
    /// report (a failure is told once per document).
    fn persisted_one(
        &mut self,
        id: PersistId,
        result: &Result<(), String>,
        seen: &[(DocumentId, bool)],
        out: &mut Vec<Effect>,
    ) -> Option<(DocumentId, bool)> {
        let doc = self.saving.remove(&id)?;
        if let Err(reason) = result {
            if self.config.storage_id.is_some() {
                // Not durable: forget the in-memory copy (storage still has everything
                // acknowledged) and make its peers reconnect and send again.
                self.dirty.remove(&doc);
                self.saving.retain(|_, d| *d != doc);
                if let Some(entry) = self.docs.remove(&doc) {
                    for conn in entry.peers.keys() {
                        self.refuse(*conn, format!("the server could not save changes to document {doc} ({reason}); nothing you sent was lost on your side: reconnect to send it again"), "server storage error", out);
                    }
                }
                return None;
            }
            if !seen.iter().any(|(d, _)| *d == doc) {
                out.push(Effect::Warn {
                    conn: None,
                    message: format!("could not store changes to document {doc} here ({reason}); they are still sent to the server"),
                });
            }
        }
        let entry = self.docs.get_mut(&doc)?;
        entry.saving = entry.saving.saturating_sub(1);
        if let Some(o) = entry.outstanding.iter_mut().find(|o| o.0 == id) {
            o.2 = true;
        }
        let mut advanced = false;
        while entry.outstanding.front().is_some_and(|o| o.2) {
            if let Some((_, heads, _)) = entry.outstanding.pop_front() {
                entry.stored = heads;
                advanced = true;
            }
        }
        Some((doc, advanced))
    }
}
