//! The hub's documents: loading, holding, merging what storage has, and syncing each
//! with its peers once what it advertises is stored (see persist.rs).

use super::*;
use crate::sync::saved::Saved;

#[derive(Debug, PartialEq)]
pub(super) enum DocState {
    /// Waiting for [`Event::Loaded`].
    Loading,
    /// Held, with content or known to exist.
    Ready,
    /// Not stored here and empty: peers asked for it, nobody has given it yet.
    Absent,
}

#[derive(Debug)]
pub(super) struct DocEntry {
    pub(super) held: Held,
    /// When it was last read (its quiet time, for resting, starts then).
    pub(super) used: u64,
    pub(super) state: DocState,
    pub(super) peers: BTreeMap<ConnId, sync::State>,
    pub(super) pending: Vec<(ConnId, Message)>,
    pub(super) persisted: Vec<ChangeHash>,
    /// Stored size: the bytes loaded plus every chunk persisted since.
    pub(super) bytes: usize,
    /// Who sent each change not yet persisted.
    pub(super) senders: HashMap<ChangeHash, ConnId>,
    /// Changes merged from storage (another node stored them) while changes of our own were
    /// waiting to be persisted: already durable, so not stored again.
    pub(super) already_stored: HashSet<ChangeHash>,
    /// How many of its persists have not completed: its sync messages wait for them, and
    /// messages from peers wait in `pending` (so the heads to advertise are the stored ones
    /// when the last completes, however busy the peers are). A hub that persists each
    /// change at once ([`HubConfig::sends_stored_while_saving`]) instead sends what is
    /// stored meanwhile and applies peers' messages at once.
    pub(super) saving: usize,
    /// Its persists not completed, in the order they were asked for, with the heads each
    /// stores up to and whether it has completed (they may complete in any order).
    pub(super) outstanding: VecDeque<(PersistId, Vec<ChangeHash>, bool)>,
    /// While persists are outstanding: the heads of everything stored (every persist asked
    /// for before the first outstanding one has completed).
    pub(super) stored: Vec<ChangeHash>,
}

impl DocEntry {
    pub(super) fn new(doc: AutoCommit, state: DocState) -> Self {
        Self {
            held: Held::new(doc),
            used: 0,
            state,
            peers: BTreeMap::new(),
            pending: Vec::new(),
            persisted: Vec::new(),
            bytes: 0,
            senders: HashMap::new(),
            already_stored: HashSet::new(),
            saving: 0,
            outstanding: VecDeque::new(),
            stored: Vec::new(),
        }
    }
}

impl Hub {
    /// Holds a document (merging it into our copy if we have one) and syncs it with the
    /// peers we dialed; `stored` when it came from our own storage, so it is not persisted
    /// again.
    pub(super) fn hold(
        &mut self,
        doc: DocumentId,
        mut document: AutoCommit,
        stored: bool,
        out: &mut Vec<Effect>,
    ) {
        match self.docs.get_mut(&doc) {
            Some(e) if e.state != DocState::Loading => {
                if let Err(err) = e.held.get().merge(&mut document) {
                    out.push(Effect::Warn {
                        conn: None,
                        message: format!("could not merge document {doc}: {err}"),
                    });
                    return;
                }
                e.state = DocState::Ready;
            }
            _ => {
                let mut entry = DocEntry::new(document, DocState::Ready);
                if stored {
                    entry.persisted = entry.held.get().get_heads();
                }
                self.docs.insert(doc, entry);
            }
        }
        self.link_dialed(doc);
        self.after_change(doc, None, out);
        self.sync_all(doc, out);
    }

    /// Merges changes that are already in storage: they count as persisted unless changes
    /// of ours are waiting to be persisted (those then persist together, a harmless copy).
    pub(super) fn stored(&mut self, doc: DocumentId, chunk: &[u8], out: &mut Vec<Effect>) {
        let waiting = self.dirty.contains(&doc);
        let Some(entry) = self.docs.get_mut(&doc) else {
            return;
        };
        if entry.state != DocState::Ready {
            return;
        }
        if entry.peers.is_empty() && entry.saving == 0 && !waiting && self.config.keep_unsynced {
            // Kept only to answer the next peer without loading: storage is newer now.
            self.docs.remove(&doc);
            return;
        }
        let before = entry.held.get().get_heads();
        let in_step = entry.persisted == before && !waiting;
        if let Err(err) = entry.held.get().load_incremental(chunk) {
            out.push(Effect::Warn {
                conn: None,
                message: format!("could not merge stored changes of document {doc}: {err}"),
            });
            return;
        }
        entry.bytes = entry.bytes.saturating_add(chunk.len());
        if in_step {
            entry.persisted = entry.held.get().get_heads();
            out.push(Effect::Changed { doc });
        } else {
            // Our own changes wait to be persisted: these are durable already.
            let merged: Vec<ChangeHash> = entry
                .held
                .get()
                .get_changes(&before)
                .iter()
                .map(|c| c.hash())
                .collect();
            entry.already_stored.extend(merged);
            if !self.config.batch {
                self.after_change(doc, None, out);
            }
        }
        if self.config.batch {
            // Fanned out at the flush, with whatever else arrives meanwhile.
            self.dirty.insert(doc);
        } else {
            self.sync_all(doc, out);
        }
    }

    pub(super) fn on_doc_message(&mut self, conn: ConnId, msg: Message, out: &mut Vec<Effect>) {
        if self.config.route {
            self.route(conn, msg, out);
            return;
        }
        let doc = match &msg {
            Message::Request(m) | Message::Sync(m) => m.document_id,
            Message::DocUnavailable { document_id, .. } => {
                if self.docs.contains_key(document_id) {
                    out.push(Effect::Unavailable { doc: *document_id });
                }
                return;
            }
            Message::Ephemeral(e) => {
                if self.access(conn, &e.document_id).is_some() {
                    self.on_ephemeral(conn, e.clone(), out);
                }
                return;
            }
            _ => return,
        };
        if self.access(conn, &doc).is_none() {
            self.not_granted(conn, doc, out);
            return;
        }
        match self.docs.get_mut(&doc) {
            None if self.config.load_from_storage => {
                let mut entry = DocEntry::new(AutoCommit::new(), DocState::Loading);
                entry.pending.push((conn, msg));
                self.docs.insert(doc, entry);
                out.push(Effect::Load { doc });
            }
            None => {
                self.docs
                    .insert(doc, DocEntry::new(AutoCommit::new(), DocState::Absent));
                self.apply_sync(conn, msg, out);
            }
            Some(entry)
                if entry.state == DocState::Loading
                    || (entry.saving > 0 && !self.config.sends_stored_while_saving()) =>
            {
                entry.pending.push((conn, msg))
            }
            Some(_) => self.apply_sync(conn, msg, out),
        }
    }

    /// A request about a document the connection was not granted: it is told the document
    /// is unavailable (what it would hear were there no such document).
    fn not_granted(&self, conn: ConnId, doc: DocumentId, out: &mut Vec<Effect>) {
        out.push(Effect::Warn {
            conn: Some(conn),
            message: format!(
                "answered doc-unavailable for document {doc}: not granted to this connection"
            ),
        });
        self.send_unavailable(conn, doc, out);
    }

    /// On a connections' hub: a granted document's message goes to its own hub (with the
    /// connection, the first time); a request for any other is answered unavailable here.
    fn route(&mut self, conn: ConnId, message: Message, out: &mut Vec<Effect>) {
        let Some(doc) = message.document() else {
            return;
        };
        let Some(access) = self.access(conn, &doc) else {
            if matches!(message, Message::Request(_) | Message::Sync(_)) {
                self.not_granted(conn, doc, out);
            }
            return;
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let attach = match (&c.remote, c.routed.insert(doc)) {
            (Some(peer), true) => Some(Attached {
                peer: peer.clone(),
                principals: c.principals.clone(),
                access,
            }),
            _ => None,
        };
        out.push(Effect::Route {
            conn,
            doc,
            message,
            attach,
        });
    }

    pub(super) fn on_loaded(
        &mut self,
        doc: DocumentId,
        result: Result<Option<Vec<u8>>, String>,
        out: &mut Vec<Effect>,
    ) {
        let Some(entry) = self.docs.get_mut(&doc) else {
            return;
        };
        if entry.state != DocState::Loading {
            return;
        }
        let bytes_len = result
            .as_ref()
            .map(|b| b.as_ref().map_or(0, Vec::len))
            .unwrap_or(0);
        let loaded = match result {
            Ok(Some(bytes)) => AutoCommit::load(&bytes)
                .map(Some)
                .map_err(|e| format!("stored bytes do not load: {e}")),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match loaded {
            Ok(Some(mut d)) => {
                entry.bytes = bytes_len;
                entry.persisted = d.get_heads();
                entry.held.set(d);
                entry.state = DocState::Ready;
            }
            Ok(None) => entry.state = DocState::Absent,
            Err(reason) => {
                let entry = self.docs.remove(&doc).expect("entry checked above");
                let mut told = Vec::new();
                for (conn, _) in entry.pending {
                    if !told.contains(&conn) {
                        told.push(conn);
                        self.send_error(conn, format!("document {doc} could not be loaded from the server's storage ({reason}); ask the server's operator to check its log"), out);
                    }
                }
                return;
            }
        }
        let pending = std::mem::take(&mut entry.pending);
        for (conn, msg) in pending {
            self.apply_sync(conn, msg, out);
        }
    }

    pub(super) fn sync_all(&mut self, doc: DocumentId, out: &mut Vec<Effect>) {
        let conns: Vec<ConnId> = self
            .docs
            .get(&doc)
            .map(|e| e.peers.keys().copied().collect())
            .unwrap_or_default();
        for conn in conns {
            self.sync_one(doc, conn, out);
        }
    }

    pub(super) fn sync_one(&mut self, doc: DocumentId, conn: ConnId, out: &mut Vec<Effect>) {
        let Some(target_id) = self.conns.get(&conn).and_then(|c| c.remote.clone()) else {
            return;
        };
        let dialer = self.conns.get(&conn).is_some_and(|c| c.dialer);
        let Some(entry) = self.docs.get_mut(&doc) else {
            return;
        };
        // Persist before send: our heads go out only once every change in them is stored
        // (the last persist's completion syncs every peer again).
        // (A resting document is stored and its heads are those persisted.)
        let unstored = self.config.persist
            && !entry.held.is_resting()
            && (entry.saving > 0 || entry.held.get().get_heads() != entry.persisted);
        // ...but a hub that persists each change at once, with every change asked to be
        // stored, sends what is stored so far: typing faster than storage completes does
        // not hold back its messages (nor, so, the peer's answers) until typing pauses.
        if unstored
            && !(self.config.sends_stored_while_saving()
                && entry.held.get().get_heads() == entry.persisted
                && !entry.stored.is_empty())
        {
            return;
        }
        let Some(state) = entry.peers.get_mut(&conn) else {
            return;
        };
        let quiet = match entry.held.saved() {
            Some(saved) => peer_state::nothing_to_send_at(saved.heads(), state),
            None => peer_state::nothing_to_send(entry.held.get(), state),
        };
        if quiet {
            return;
        }
        let budget = self.config.max_in_transit_bytes;
        if budget.is_some_and(|b| !self.flow.may_send((doc, conn), b)) {
            return;
        }
        // A resting document answers a peer holding nothing or all of it without loading,
        // and every peer holding nothing is sent one saved form (made once, not per peer).
        let from_saved = if entry.held.is_resting()
            || (entry.state == DocState::Ready
                && Saved::takes_whole(state)
                && entry.held.lost().is_none())
        {
            if unstored {
                // The saved form holds changes not stored yet: wait for them.
                return;
            }
            Some(entry.held.saved_now().generate(state))
        } else {
            None
        };
        let before = unstored.then(|| state.clone());
        let made = match from_saved {
            Some(Ok(message)) => message,
            _ => peer_state::generate(entry.held.get(), state),
        };
        let made = match (made, before) {
            (Some(m), Some(before)) => {
                peer_state::only_stored(entry.held.get(), state, before, m, &entry.stored)
            }
            (made, _) => made,
        };
        let Some(message) = made else {
            return;
        };
        let is_request = dialer && entry.state == DocState::Absent && message.heads.is_empty();
        let m = DocMessage {
            sender_id: self.config.peer_id.clone(),
            target_id,
            document_id: doc,
            data: message.encode(),
        };
        let msg = if is_request {
            Message::Request(m)
        } else {
            Message::Sync(m)
        };
        let frame = encode_message(&msg);
        if budget.is_some() {
            self.flow.sent((doc, conn), frame.len());
        }
        out.push(Effect::Send {
            conn,
            frame,
            delivered: budget.map(|_| doc),
        });
    }

    /// Sends the messages owed to peers that waited for the flow budget, while it has room.
    pub(super) fn release_waiting(&mut self, out: &mut Vec<Effect>) {
        let Some(budget) = self.config.max_in_transit_bytes else {
            return;
        };
        while let Some((doc, conn)) = self.flow.next_waiting(budget) {
            self.sync_one(doc, conn, out);
        }
    }
}
