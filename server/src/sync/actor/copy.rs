//! The plan's copy in the actor: loading it, the stored chunks it holds, other nodes'
//! changes, compaction, and the changes the service makes on it.

use super::*;

/// The stored chunks a document's copy holds.
#[derive(Debug, Default)]
pub(super) struct HeldChunks {
    /// Every chunk read or written: what compaction may replace.
    pub(super) covered: Vec<ChunkId>,
    /// The newest chunk read: every chunk stored before it is held too (a document's chunk
    /// ids grow in commit order), so other nodes' later chunks are those after it.
    pub(super) read_up_to: ChunkId,
}

impl HeldChunks {
    pub(super) fn read(&mut self, stored: &Stored) {
        self.covered.extend_from_slice(&stored.chunks);
        if let Some(last) = stored.chunks.iter().max() {
            self.read_up_to = self.read_up_to.max(*last);
        }
    }

    /// Our own chunk: held, and read up to it unless another node stored one between the
    /// newest we read and it (that one is read when its announcement or the sweep comes).
    pub(super) fn wrote(&mut self, appended: &Appended) {
        self.covered.push(appended.chunk);
        if appended.after.unwrap_or_default() <= self.read_up_to {
            self.read_up_to = self.read_up_to.max(appended.chunk);
        }
    }
}

impl DocActor {
    /// The core's copy of the document, loaded from storage if it does not hold it; `None`
    /// if storage has no such document.
    pub(in crate::sync) fn held(&mut self) -> Result<Option<&mut AutoCommit>, ServiceError> {
        if self.hub.document_mut(&self.doc).is_none() {
            let Some(bytes) = self.load()? else {
                return Ok(None);
            };
            let document =
                Box::new(AutoCommit::load(&bytes).map_err(plansync_shared::Error::from)?);
            self.event(Event::Restore {
                doc: self.doc,
                document,
            });
        }
        Ok(self.hub.document_mut(&self.doc))
    }

    /// How far a peer we dialed (an upstream server) has our copy: the changes it lacks
    /// and its heads, as it told us on `conn`, or else as `recorded`; `None` if we do not
    /// hold the plan.
    pub(in crate::sync) fn upstream_lacks(
        &mut self,
        conn: Option<ConnId>,
        recorded: Vec<String>,
    ) -> Option<(usize, Vec<String>)> {
        let told: Vec<String> = conn
            .and_then(|c| self.hub.remote_heads(c, &self.doc))
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        let theirs = if told.is_empty() { recorded } else { told };
        self.held().ok()??;
        let doc = self.hub.document_mut(&self.doc)?;
        Some((crate::relay::changes_beyond(doc, &theirs), theirs))
    }

    /// Holds a new document (a plan just created) and stores it (see
    /// [`DocActor::when_saved`]).
    pub(in crate::sync) fn add(&mut self, document: AutoCommit) {
        self.event(Event::Add {
            doc: self.doc,
            document: Box::new(document),
        })
    }

    /// Merges a change made on a copy (`chunk`, from `save_after`) and stores it (see
    /// [`DocActor::when_saved`]).
    pub(in crate::sync) fn merge_change(&mut self, chunk: &[u8]) -> Result<(), ServiceError> {
        let doc = self.held()?.ok_or(ServiceError::NoPlan)?;
        doc.load_incremental(chunk)
            .map_err(plansync_shared::Error::from)?;
        self.event(Event::LocalChange { doc: self.doc });
        Ok(())
    }

    /// The stored bytes (`None` if not stored), noting which chunks they were.
    pub(super) fn load(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let stored = self.shared.rt.block_on(self.shared.store.load(self.doc))?;
        Ok(stored.map(|s| {
            self.chunks = HeldChunks::default();
            self.chunks.read(&s);
            s.bytes
        }))
    }

    /// Reads the chunks other nodes stored since we last read, and sends them to the peers;
    /// `sweep` when no announcement asked for it (what it finds then is logged).
    pub(super) fn catch_up(&mut self, sweep: bool) {
        if !self.hub.has_content(&self.doc) {
            return;
        }
        let after = self.chunks.read_up_to;
        let read = self
            .shared
            .rt
            .block_on(self.shared.store.load_after(self.doc, after));
        match read {
            Ok(stored) if !stored.chunks.is_empty() => {
                if sweep {
                    tracing::info!(doc = %self.doc, chunks = stored.chunks.len(), "read changes another node stored that no announcement brought");
                }
                self.chunks.read(&stored);
                self.event(Event::Stored {
                    doc: self.doc,
                    chunk: stored.bytes,
                });
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(doc = %self.doc, error = %e, "could not read another node's changes; the next sweep tries again")
            }
        }
    }

    /// Replaces the chunks this copy holds with one snapshot of it. The snapshot is saved
    /// from a copy on a blocking thread (saving a large plan takes long enough to stall
    /// every keystroke on it), and the actor then learns which chunk replaced which.
    pub(super) fn compact(&mut self) {
        if self.compacting {
            return;
        }
        let Some(d) = self.hub.document_mut(&self.doc) else {
            return;
        };
        let mut copy = d.clone();
        let covered = self.chunks.covered.clone();
        let (doc, store, rt, me) = (
            self.doc,
            self.shared.store.clone(),
            self.shared.rt.clone(),
            self.me.clone(),
        );
        self.compacting = true;
        self.shared.rt.spawn_blocking(move || {
            let snapshot = copy.save();
            let bytes = snapshot.len();
            let compacted = rt.block_on(store.compact(doc, snapshot, covered.clone()));
            let done: Call = Box::new(move |actor: &mut DocActor| {
                actor.compacting = false;
                match compacted {
                    Ok(made) => {
                        // Chunks stored since the copy was taken stay as they are; what other
                        // nodes stored meanwhile is still read after `read_up_to`.
                        actor.chunks.covered.retain(|c| !covered.contains(c));
                        if !actor.chunks.covered.contains(&made) {
                            actor.chunks.covered.insert(0, made);
                        }
                        tracing::debug!(%doc, bytes, "compacted");
                    }
                    Err(e) => {
                        tracing::warn!(%doc, error = %e, "compaction failed; the document is intact and will compact later")
                    }
                }
            });
            // An actor that stopped meanwhile loads afresh: its successor reads the result.
            if let Some(slot) = me.upgrade() {
                slot.post(done);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appended(chunk: i64, after: Option<i64>) -> Appended {
        Appended {
            chunk: ChunkId(chunk),
            after: after.map(ChunkId),
            compact: false,
        }
    }

    #[test]
    fn our_own_chunk_counts_as_read_only_when_no_other_nodes_chunk_lies_before_it() {
        let mut held = HeldChunks::default();
        held.read(&Stored {
            bytes: Vec::new(),
            chunks: vec![ChunkId(1), ChunkId(2)],
        });
        held.wrote(&appended(5, Some(2)));
        assert_eq!(held.read_up_to, ChunkId(5), "nothing between 2 and 5");
        // Another node stored chunk 7, not read yet: our 9 does not skip it.
        held.wrote(&appended(9, Some(7)));
        assert_eq!(held.read_up_to, ChunkId(5));
        assert_eq!(held.covered, [1, 2, 5, 9].map(ChunkId));
        // A plan's first chunk.
        let mut new = HeldChunks::default();
        new.wrote(&appended(3, None));
        assert_eq!(new.read_up_to, ChunkId(3));
    }
}
