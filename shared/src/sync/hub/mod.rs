//! [`Hub`]: the sans-IO state machine that syncs documents with connected peers, as a
//! client (it dials and sends `join`) and as a server (it answers `join`), on the same
//! connection table. Events go in with `now`; effects come out for the caller to carry
//! out. Persist before send is the core's rule, not the caller's: a document's sync
//! messages wait until every [`Effect::Persist`] of it has completed ([`Event::Persisted`]),
//! so a driver may carry out a persist in the background and send everything else at once.

mod config;
mod connection;
mod document;
mod ephemeral;
mod events;
mod persist;
mod receive;
mod rest;

pub use config::*;
pub use events::*;

use super::codec::*;
use super::flow::Flow;
use super::peer_state;
use super::presence::{self, PresenceMessage, Stamp};
use super::wire::*;
use automerge::sync;
use automerge::{AutoCommit, ChangeHash};
use connection::Conn;
use document::{DocEntry, DocState};
use rest::Held;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// The sync core of one peer: its connections, its documents and the sync state of every
/// (connection, document) pair.
#[derive(Debug)]
pub struct Hub {
    config: HubConfig,
    now: u64,
    conns: BTreeMap<ConnId, Conn>,
    docs: BTreeMap<DocumentId, DocEntry>,
    session_id: String,
    ephemeral_count: u64,
    /// Documents with changes held back until [`Event::Flush`].
    dirty: BTreeSet<DocumentId>,
    /// Peers whose messages brought no change, answered at the next [`Event::Flush`] (with
    /// [`HubConfig::batch`]): a burst of acknowledgements from one peer gets one answer.
    to_answer: BTreeSet<(DocumentId, ConnId)>,
    /// Sync messages waiting to be written, and who is owed one (see
    /// [`HubConfig::max_in_transit_bytes`]).
    flow: Flow,
    /// Persists not yet completed, and their documents.
    saving: BTreeMap<PersistId, DocumentId>,
    next_persist: u64,
}

impl Hub {
    /// A hub with no connections and no documents; `rng` picks its ephemeral session id.
    pub fn new(config: HubConfig, rng: &mut dyn rand::RngCore) -> Self {
        Self {
            config,
            now: 0,
            conns: BTreeMap::new(),
            docs: BTreeMap::new(),
            session_id: format!("{:016x}", rng.next_u64()),
            ephemeral_count: 0,
            dirty: BTreeSet::new(),
            saving: BTreeMap::new(),
            next_persist: 1,
            to_answer: BTreeSet::new(),
            flow: Flow::default(),
        }
    }

    /// Our peer id.
    pub fn peer_id(&self) -> &PeerId {
        &self.config.peer_id
    }

    /// The time of the latest event, in the caller's milliseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// A document we hold in memory (empty if we are still waiting for it); `None` while it
    /// rests ([`HubConfig::rest_after_ms`]): [`Hub::document_mut`] loads it again.
    pub fn document(&self, doc: &DocumentId) -> Option<&AutoCommit> {
        self.docs
            .get(doc)
            .filter(|e| e.state != DocState::Loading)
            .and_then(|e| e.held.awake())
    }

    /// A document to change locally; follow the change with [`Event::LocalChange`].
    pub fn document_mut(&mut self, doc: &DocumentId) -> Option<&mut AutoCommit> {
        let entry = self
            .docs
            .get_mut(doc)
            .filter(|e| e.state != DocState::Loading)?;
        entry.held.get();
        // One that could not be woken is forgotten at the next event.
        if entry.held.lost().is_some() {
            return None;
        }
        Some(entry.held.get())
    }

    /// Whether a change to a document is still being stored (an [`Effect::Persist`] of it
    /// has not completed).
    pub fn storing(&self, doc: &DocumentId) -> bool {
        self.docs.get(doc).is_some_and(|e| e.saving > 0)
    }

    /// Whether we hold a document with content (not just a request for it).
    pub fn has_content(&self, doc: &DocumentId) -> bool {
        self.docs
            .get(doc)
            .is_some_and(|e| e.state == DocState::Ready)
    }

    /// Ids of the documents held in memory.
    pub fn documents(&self) -> Vec<DocumentId> {
        self.docs.keys().copied().collect()
    }

    /// The heads a connected peer has told us it holds for a document.
    pub fn remote_heads(&self, conn: ConnId, doc: &DocumentId) -> Option<Vec<ChangeHash>> {
        self.docs.get(doc)?.peers.get(&conn)?.their_heads.clone()
    }

    /// Whether the peer on `conn` has told us it holds every change of our copy of `doc`.
    pub fn peer_has_all(&mut self, conn: ConnId, doc: &DocumentId) -> bool {
        let Some(entry) = self.docs.get_mut(doc) else {
            return false;
        };
        let Some(theirs) = entry.peers.get(&conn).and_then(|s| s.their_heads.clone()) else {
            return false;
        };
        let doc = entry.held.get();
        doc.get_missing_deps(&theirs).is_empty() && doc.get_changes(&theirs).is_empty()
    }

    /// How many ephemeral sessions the de-duplication state remembers, over every connection.
    pub fn ephemeral_sessions(&self) -> usize {
        self.conns.values().map(|c| c.ephemeral_seen.len()).sum()
    }

    /// How many heads a document held awake has (0 while it rests or is not held yet): the
    /// concurrent branches not yet merged, each named in every sync message about it and in
    /// every acknowledgement.
    pub fn head_count(&mut self, doc: &DocumentId) -> usize {
        match self.docs.get_mut(doc) {
            Some(e) if e.state == DocState::Ready && !e.held.is_resting() => {
                e.held.get().get_heads().len()
            }
            _ => 0,
        }
    }

    /// Whether changes are held back waiting for [`Event::Flush`] (to persist and fan out).
    pub fn has_unflushed_changes(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Whether [`Event::Flush`] has anything to do: changes to persist and fan out, or
    /// peers to answer.
    pub fn has_unflushed(&self) -> bool {
        !self.dirty.is_empty() || !self.to_answer.is_empty()
    }

    /// Connections whose handshake finished.
    pub fn ready_connections(&self) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, c)| c.remote.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    /// Handles one event at time `now` (milliseconds, the caller's clock).
    pub fn handle(&mut self, now: u64, event: Event) -> Vec<Effect> {
        self.now = self.now.max(now);
        let mut out = Vec::new();
        match event {
            Event::Connected { conn, dialer } => {
                self.conns
                    .insert(conn, Conn::new(dialer, None, BTreeMap::new()));
                if dialer {
                    let join = Message::Join {
                        sender_id: self.config.peer_id.clone(),
                        peer_metadata: self.metadata(),
                        supported_protocol_versions: Some(vec![PROTOCOL_VERSION.into()]),
                    };
                    out.push(Effect::Send {
                        conn,
                        frame: encode_message(&join),
                        delivered: None,
                    });
                }
            }
            Event::Attach {
                conn,
                doc,
                attached,
                who,
            } => {
                let mut c = Conn::new(
                    false,
                    Some(attached.peer),
                    BTreeMap::from([(doc, attached.access)]),
                );
                c.principals = attached.principals;
                c.presence_as = who;
                self.conns.insert(conn, c);
            }
            Event::Joined { conn, peer } => {
                if let Some(c) = self.conns.get_mut(&conn).filter(|c| !c.dialer) {
                    c.remote = Some(peer);
                }
            }
            Event::Dialed { conn, peer, grants } => {
                self.conns.insert(conn, Conn::new(true, Some(peer), grants));
                self.start_dialed(conn, &mut out);
            }
            Event::Received { conn, frame } => self.on_frame(conn, &frame, &mut out),
            Event::Decoded { conn, message } => self.on_message(conn, message, &mut out),
            Event::Disconnected { conn } => {
                self.say_goodbye(conn, &mut out);
                self.drop_conn(conn);
                self.release_waiting(&mut out);
            }
            Event::Delivered { conn, doc } => {
                if self.flow.delivered((doc, conn)) {
                    self.sync_one(doc, conn, &mut out);
                }
                self.release_waiting(&mut out);
            }
            Event::Loaded { doc, result } => self.on_loaded(doc, result, &mut out),
            Event::LocalChange { doc } => {
                if self.docs.contains_key(&doc) {
                    self.after_change(doc, None, &mut out);
                    // A change being stored adds nothing to send: what was stored before it
                    // went when its persist completed, and it goes when its own does (a
                    // burst of edits no longer makes a message each, only to cut it back).
                    if !self.storing(&doc) {
                        self.sync_all(doc, &mut out);
                    }
                }
            }
            Event::Add { doc, document } => self.hold(doc, *document, false, &mut out),
            Event::Restore { doc, document } => self.hold(doc, *document, true, &mut out),
            Event::Stored { doc, chunk } => self.stored(doc, &chunk, &mut out),
            Event::Find { doc } => {
                self.docs
                    .entry(doc)
                    .or_insert_with(|| DocEntry::new(AutoCommit::new(), DocState::Absent));
                self.link_dialed(doc);
                self.sync_all(doc, &mut out);
            }
            Event::Persisted { ids, result } => self.persisted(ids, result, &mut out),
            Event::SendEphemeral { doc, data } => {
                let Some(entry) = self.docs.get(&doc) else {
                    return out;
                };
                let targets: Vec<_> = entry.peers.keys().copied().collect();
                for conn in targets {
                    let Some(target) = self.conns.get(&conn).and_then(|c| c.remote.clone()) else {
                        continue;
                    };
                    self.ephemeral_count += 1;
                    let msg = Message::Ephemeral(Ephemeral {
                        sender_id: self.config.peer_id.clone(),
                        target_id: target,
                        count: self.ephemeral_count,
                        session_id: self.session_id.clone(),
                        document_id: doc,
                        data: data.clone(),
                    });
                    out.push(Effect::Send {
                        conn,
                        frame: encode_message(&msg),
                        delivered: None,
                    });
                }
            }
            Event::Grant { conn, grants } => self.grant(conn, grants, &mut out),
            Event::Present { conn, who } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.presence_as = Some(who);
                }
            }
            Event::Identify { conn, principals } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.principals = principals;
                }
            }
            Event::Flush => {
                let dirty = std::mem::take(&mut self.dirty);
                for doc in &dirty {
                    self.after_change(*doc, None, &mut out);
                    self.sync_all(*doc, &mut out);
                }
                for (doc, conn) in std::mem::take(&mut self.to_answer) {
                    if !dirty.contains(&doc) {
                        self.sync_one(doc, conn, &mut out);
                    }
                }
            }
            Event::Tick => {}
        }
        self.after_event(&mut out);
        out
    }
}
