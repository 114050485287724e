//! [`Hub`]: the sans-IO state machine that syncs documents with connected peers, as a
//! client (it dials and sends `join`) and as a server (it answers `join`), on the same
//! connection table. Events go in with `now`; effects come out, in the order the caller
//! must carry them out: a `Persist` comes before any `Send` that advertises its heads.

use super::flow::Flow;
use super::peer_state;
use super::presence::{self, PresenceMessage, Stamp};
use super::wire::*;
use automerge::sync;
use automerge::{AutoCommit, ChangeHash};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// How a hub behaves.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Our peer id, sent in `join` and `peer`.
    pub peer_id: PeerId,
    /// Our storage id, if we store documents.
    pub storage_id: Option<String>,
    /// Frames over this many bytes are refused with an `error`.
    pub max_message_bytes: usize,
    /// Ask the caller to load documents we do not hold when a peer asks for them.
    pub load_from_storage: bool,
    /// Emit `Persist` for every change to a document.
    pub persist: bool,
    /// Serve a peer only the documents granted to its connection ([`Event::Grant`]), refuse
    /// changes from read-only grants, and accept no document storage does not hold.
    pub guarded: bool,
    /// On a guarded hub, refuse changes that would grow a document past this many bytes.
    pub max_document_bytes: usize,
    /// Hold back persisting and fanning out changes from peers until [`Event::Flush`], so a
    /// burst of changes (a room reconnecting) is stored in one chunk and sent to each peer
    /// in one message rather than one per change per peer.
    pub batch: bool,
    /// Ephemeral payloads (presence) over this many bytes are refused with an `error`.
    pub max_ephemeral_bytes: usize,
    /// Flow control: at most one sync message per (document, connection) waits to be
    /// written (the caller reports [`Event::Delivered`], see [`Effect::Send`]), and those
    /// waiting stay under this many bytes together; `None` sends every message at once.
    pub max_in_transit_bytes: Option<usize>,
}

/// The longest peer id or ephemeral session id a peer may use, in bytes.
pub const MAX_PEER_ID_BYTES: usize = 128;

/// How many ephemeral sessions a connection's de-duplication state remembers; past this the
/// oldest is forgotten (a forgotten session's next message may be delivered twice).
pub const MAX_EPHEMERAL_SESSIONS: usize = 32;

/// Whether `id` may name a peer (or an ephemeral session): 1 to [`MAX_PEER_ID_BYTES`] bytes of
/// ASCII letters, digits and `-_.:@+/=`, so it can be logged as it is and never forges a line.
pub fn valid_peer_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_PEER_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:@+/=".contains(&b))
}

/// Text from a peer as it may be logged or echoed: at most `max` characters, anything
/// outside printable ASCII escaped (so a newline or a terminal code cannot forge a line).
pub fn loggable(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .flat_map(char::escape_default)
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// What a connection may do with one document on a guarded hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Sync it, but send no changes (a viewer).
    Read,
    /// Sync it and change it, but not what only the plan's owners change (its reporting
    /// rounds): an editor.
    Edit,
    /// Sync it and change anything in it: an owner, or a relaying server (whose own server
    /// enforced its people's roles).
    Write,
}

impl HubConfig {
    /// A server: loads on demand, persists every change.
    pub fn server(peer_id: PeerId, storage_id: String) -> Self {
        Self {
            peer_id,
            storage_id: Some(storage_id),
            max_message_bytes: 8 << 20,
            load_from_storage: true,
            persist: true,
            guarded: true,
            max_document_bytes: 64 << 20,
            batch: true,
            max_ephemeral_bytes: 64 << 10,
            max_in_transit_bytes: Some(16 << 20),
        }
    }

    /// A client with no storage of its own.
    pub fn client(peer_id: PeerId) -> Self {
        Self {
            peer_id,
            storage_id: None,
            max_message_bytes: 64 << 20,
            load_from_storage: false,
            persist: false,
            guarded: false,
            max_document_bytes: usize::MAX,
            batch: false,
            max_ephemeral_bytes: usize::MAX,
            max_in_transit_bytes: None,
        }
    }
}

/// Something that happened, for the hub to handle.
#[derive(Debug)]
pub enum Event {
    /// A socket opened; `dialer` is true when we opened it (we then send `join`).
    Connected {
        /// The connection.
        conn: ConnId,
        /// Whether we dialed.
        dialer: bool,
    },
    /// A connection whose handshake another hub answered (a server with one hub per
    /// document routes each document's messages to its own hub): it counts as joined by
    /// `peer`, and nothing is sent.
    Joined {
        /// The connection (already [`Event::Connected`], not dialed).
        conn: ConnId,
        /// The peer that joined on it.
        peer: PeerId,
    },
    /// A connection we dialed whose handshake the caller did (a server relaying to an
    /// upstream server sends `join` itself and hands each document's actor the answer): it
    /// counts as joined by `peer`, nothing is sent for the handshake, and every document we
    /// hold that it may sync ([`Event::Grant`] on a guarded hub) starts syncing with it.
    Dialed {
        /// The connection (not yet known to this hub).
        conn: ConnId,
        /// The peer that answered our `join`.
        peer: PeerId,
        /// What it may sync, on a guarded hub.
        grants: BTreeMap<DocumentId, Access>,
    },
    /// A message arrived that the caller already decoded from a frame (within
    /// [`HubConfig::max_message_bytes`]): handled as [`Event::Received`], without decoding
    /// it again.
    Decoded {
        /// The connection.
        conn: ConnId,
        /// The message.
        message: Message,
    },
    /// A binary frame arrived.
    Received {
        /// The connection.
        conn: ConnId,
        /// The frame.
        frame: Vec<u8>,
    },
    /// A socket closed.
    Disconnected {
        /// The connection.
        conn: ConnId,
    },
    /// The answer to [`Effect::Load`]: the stored bytes, `None` if not stored, or an error.
    Loaded {
        /// The document.
        doc: DocumentId,
        /// What storage gave.
        result: Result<Option<Vec<u8>>, String>,
    },
    /// A document was changed locally through [`Hub::document_mut`].
    LocalChange {
        /// The document.
        doc: DocumentId,
    },
    /// Adds (or merges in) a document we hold, e.g. a plan just created.
    Add {
        /// Its id.
        doc: DocumentId,
        /// Its content.
        document: Box<AutoCommit>,
    },
    /// A document read back from our own storage: held as already persisted (no `Persist`
    /// for what storage has), and synced with the peers we dialed.
    Restore {
        /// Its id.
        doc: DocumentId,
        /// Its content as stored.
        document: Box<AutoCommit>,
    },
    /// Changes another writer to our storage already stored (another server node on the
    /// same database): merged into our copy if we hold it, not persisted again, and sent
    /// to its peers.
    Stored {
        /// The document.
        doc: DocumentId,
        /// The stored chunks, as automerge bytes.
        chunk: Vec<u8>,
    },
    /// We want a document we do not have: ask the peers we dialed.
    Find {
        /// Its id.
        doc: DocumentId,
    },
    /// Carrying out a [`Effect::Persist`] failed: the change must not be advertised.
    PersistFailed {
        /// The document.
        doc: DocumentId,
        /// What went wrong.
        reason: String,
    },
    /// Send an ephemeral payload (CBOR) about a document to its peers.
    SendEphemeral {
        /// The document.
        doc: DocumentId,
        /// CBOR payload.
        data: Vec<u8>,
    },
    /// Names the participant a connection proved to be, for presence: on a guarded hub its
    /// presence messages are stamped with it (and those of a connection never named are
    /// not passed on).
    Present {
        /// The connection.
        conn: ConnId,
        /// Who it is.
        who: Stamp,
    },
    /// Sets the documents a connection may sync on a guarded hub, replacing earlier grants;
    /// documents no longer granted stop syncing on it at once.
    Grant {
        /// The connection.
        conn: ConnId,
        /// Each document it may sync, and how.
        grants: BTreeMap<DocumentId, Access>,
    },
    /// Names who opened a connection (on the server: its participants). A `join` whose peer
    /// id is live on another connection replaces that connection only if the two share a
    /// principal; otherwise the new `join` is refused, so nobody can close someone else's
    /// connection by borrowing their peer id.
    Identify {
        /// The connection.
        conn: ConnId,
        /// Who it belongs to.
        principals: BTreeSet<String>,
    },
    /// Persist and fan out the changes held back since the last flush (see
    /// [`HubConfig::batch`]); the caller sends it when it has no more events waiting.
    Flush,
    /// Time passed.
    Tick,
    /// A sync message sent with [`Effect::Send`]'s `delivered` set was written out.
    Delivered {
        /// The connection.
        conn: ConnId,
        /// The document the message was about.
        doc: DocumentId,
    },
}

/// Something the caller must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a binary frame.
    Send {
        /// The connection.
        conn: ConnId,
        /// The frame.
        frame: Vec<u8>,
        /// Under flow control, a sync message about this document: report
        /// [`Event::Delivered`] once it is written out.
        delivered: Option<DocumentId>,
    },
    /// Close a connection, giving the reason.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: String,
    },
    /// Load a document from storage and answer with [`Event::Loaded`].
    Load {
        /// The document.
        doc: DocumentId,
    },
    /// Durably store these changes (automerge bytes, appendable to what is stored) before
    /// carrying out any later effect.
    Persist {
        /// The document.
        doc: DocumentId,
        /// Changes since the last persist.
        chunk: Vec<u8>,
        /// The hash of each of those changes and the connection that sent it (`None` for
        /// local changes).
        changes: Vec<(ChangeHash, Option<ConnId>)>,
    },
    /// A document's content changed (from a peer or locally).
    Changed {
        /// The document.
        doc: DocumentId,
    },
    /// A peer told us it does not have a document we asked for.
    Unavailable {
        /// The document.
        doc: DocumentId,
    },
    /// The handshake on a connection finished.
    Ready {
        /// The connection.
        conn: ConnId,
        /// The peer at the other end.
        peer: PeerId,
    },
    /// An ephemeral payload arrived.
    Ephemeral {
        /// The document.
        doc: DocumentId,
        /// The original sender.
        sender: PeerId,
        /// CBOR payload.
        data: Vec<u8>,
    },
    /// Something worth a line in the log (bad input, refused messages).
    Warn {
        /// The connection concerned, if any.
        conn: Option<ConnId>,
        /// What happened.
        message: String,
    },
}

#[derive(Debug)]
struct Conn {
    dialer: bool,
    remote: Option<PeerId>,
    grants: BTreeMap<DocumentId, Access>,
    principals: BTreeSet<String>,
    /// The last ephemeral count seen per (sender, session) on this connection, oldest first;
    /// at most [`MAX_EPHEMERAL_SESSIONS`] entries, gone with the connection.
    ephemeral_seen: Vec<((PeerId, String), u64)>,
    /// Who it is, for stamping presence (a guarded hub).
    presence_as: Option<Stamp>,
    /// The documents and senders it sent presence for: a goodbye goes out for each when it
    /// closes.
    present_in: BTreeSet<(DocumentId, PeerId)>,
    /// Ephemeral messages it may still send now (a token bucket) and when it was filled.
    ephemeral_tokens: (f64, u64),
}

impl Conn {
    fn new(dialer: bool, remote: Option<PeerId>, grants: BTreeMap<DocumentId, Access>) -> Self {
        Self {
            dialer,
            remote,
            grants,
            principals: BTreeSet::new(),
            ephemeral_seen: Vec::new(),
            presence_as: None,
            present_in: BTreeSet::new(),
            ephemeral_tokens: (EPHEMERAL_BURST, 0),
        }
    }

    /// Takes one ephemeral message from the bucket at `now` (ms); false when empty.
    fn allow_ephemeral(&mut self, now: u64) -> bool {
        let (tokens, last) = self.ephemeral_tokens;
        let refilled = (tokens + now.saturating_sub(last) as f64 * EPHEMERAL_PER_SECOND / 1000.0)
            .min(EPHEMERAL_BURST);
        let allowed = refilled >= 1.0;
        self.ephemeral_tokens = (if allowed { refilled - 1.0 } else { refilled }, now);
        allowed
    }
}

/// On a guarded hub, ephemeral messages (presence) one connection may send per second...
const EPHEMERAL_PER_SECOND: f64 = 10.0;
/// ...and in a burst; the rest are dropped.
const EPHEMERAL_BURST: f64 = 20.0;

#[derive(Debug, PartialEq)]
enum DocState {
    /// Waiting for [`Event::Loaded`].
    Loading,
    /// Held, with content or known to exist.
    Ready,
    /// Not stored here and empty: peers asked for it, nobody has given it yet.
    Absent,
}

#[derive(Debug)]
struct DocEntry {
    doc: AutoCommit,
    state: DocState,
    peers: BTreeMap<ConnId, sync::State>,
    pending: Vec<(ConnId, Message)>,
    persisted: Vec<ChangeHash>,
    /// Stored size: the bytes loaded plus every chunk persisted since.
    bytes: usize,
    /// Who sent each change not yet persisted.
    senders: HashMap<ChangeHash, ConnId>,
    /// Changes merged from storage (another node stored them) while changes of our own were
    /// waiting to be persisted: already durable, so not stored again.
    already_stored: HashSet<ChangeHash>,
}

impl DocEntry {
    fn new(doc: AutoCommit, state: DocState) -> Self {
        Self {
            doc,
            state,
            peers: BTreeMap::new(),
            pending: Vec::new(),
            persisted: Vec::new(),
            bytes: 0,
            senders: HashMap::new(),
            already_stored: HashSet::new(),
        }
    }
}

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

    /// A document we hold (empty if we are still waiting for it).
    pub fn document(&self, doc: &DocumentId) -> Option<&AutoCommit> {
        self.docs
            .get(doc)
            .filter(|e| e.state != DocState::Loading)
            .map(|e| &e.doc)
    }

    /// A document to change locally; follow the change with [`Event::LocalChange`].
    pub fn document_mut(&mut self, doc: &DocumentId) -> Option<&mut AutoCommit> {
        self.docs
            .get_mut(doc)
            .filter(|e| e.state != DocState::Loading)
            .map(|e| &mut e.doc)
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
        entry.doc.get_missing_deps(&theirs).is_empty() && entry.doc.get_changes(&theirs).is_empty()
    }

    /// How many ephemeral sessions the de-duplication state remembers, over every connection.
    pub fn ephemeral_sessions(&self) -> usize {
        self.conns.values().map(|c| c.ephemeral_seen.len()).sum()
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
                    self.sync_all(doc, &mut out);
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
            Event::PersistFailed { doc, reason } => {
                // The change is not durable: forget the in-memory copy (storage still has
                // everything acknowledged) and make its peers reconnect and resend.
                self.dirty.remove(&doc);
                if let Some(entry) = self.docs.remove(&doc) {
                    for conn in entry.peers.keys() {
                        self.refuse(*conn, format!("the server could not save changes to document {doc} ({reason}); nothing you sent was lost on your side: reconnect to send it again"), "server storage error", &mut out);
                    }
                }
            }
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
        out
    }

    /// Replaces a connection's grants; documents it loses stop syncing with it and it is
    /// told they are unavailable, the answer it would get had it never had them.
    fn grant(&mut self, conn: ConnId, grants: BTreeMap<DocumentId, Access>, out: &mut Vec<Effect>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let lost: Vec<DocumentId> = c
            .grants
            .keys()
            .filter(|d| !grants.contains_key(d))
            .copied()
            .collect();
        c.grants = grants;
        for doc in lost {
            if let Some(entry) = self.docs.get_mut(&doc) {
                entry.peers.remove(&conn);
                entry.pending.retain(|(c, _)| *c != conn);
            }
            self.send_unavailable(conn, doc, out);
        }
    }

    /// What `conn` may do with `doc`: everything on an unguarded hub, its grant otherwise.
    fn access(&self, conn: ConnId, doc: &DocumentId) -> Option<Access> {
        if !self.config.guarded {
            return Some(Access::Write);
        }
        self.conns.get(&conn)?.grants.get(doc).copied()
    }

    fn send_unavailable(&self, conn: ConnId, doc: DocumentId, out: &mut Vec<Effect>) {
        let Some(target_id) = self.conns.get(&conn).and_then(|c| c.remote.clone()) else {
            return;
        };
        self.send(
            conn,
            &Message::DocUnavailable {
                sender_id: self.config.peer_id.clone(),
                target_id,
                document_id: doc,
            },
            out,
        );
    }

    /// Holds a document (merging it into our copy if we have one) and syncs it with the
    /// peers we dialed; `stored` when it came from our own storage, so it is not persisted
    /// again.
    fn hold(
        &mut self,
        doc: DocumentId,
        mut document: AutoCommit,
        stored: bool,
        out: &mut Vec<Effect>,
    ) {
        match self.docs.get_mut(&doc) {
            Some(e) if e.state != DocState::Loading => {
                if let Err(err) = e.doc.merge(&mut document) {
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
                    entry.persisted = entry.doc.get_heads();
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
    fn stored(&mut self, doc: DocumentId, chunk: &[u8], out: &mut Vec<Effect>) {
        let waiting = self.dirty.contains(&doc);
        let Some(entry) = self.docs.get_mut(&doc) else {
            return;
        };
        if entry.state != DocState::Ready {
            return;
        }
        let before = entry.doc.get_heads();
        let in_step = entry.persisted == before && !waiting;
        if let Err(err) = entry.doc.load_incremental(chunk) {
            out.push(Effect::Warn {
                conn: None,
                message: format!("could not merge stored changes of document {doc}: {err}"),
            });
            return;
        }
        entry.bytes = entry.bytes.saturating_add(chunk.len());
        if in_step {
            entry.persisted = entry.doc.get_heads();
            out.push(Effect::Changed { doc });
        } else {
            // Our own changes wait to be persisted: these are durable already.
            let merged: Vec<ChangeHash> = entry
                .doc
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

    fn metadata(&self) -> PeerMetadata {
        PeerMetadata {
            storage_id: self.config.storage_id.clone(),
            is_ephemeral: Some(self.config.storage_id.is_none()),
        }
    }

    /// A dialed connection whose handshake is done starts syncing every document we hold
    /// that it may sync.
    fn start_dialed(&mut self, conn: ConnId, out: &mut Vec<Effect>) {
        let docs: Vec<DocumentId> = self
            .docs
            .iter()
            .filter(|(_, e)| e.state != DocState::Loading)
            .map(|(id, _)| *id)
            .collect();
        for doc in docs {
            self.link_dialed(doc);
            self.sync_one(doc, conn, out);
        }
    }

    /// Dialed connections (to servers) sync every document we hold that they may sync.
    fn link_dialed(&mut self, doc: DocumentId) {
        let dialed: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(id, c)| c.dialer && c.remote.is_some() && self.access(**id, &doc).is_some())
            .map(|(id, _)| *id)
            .collect();
        if let Some(entry) = self.docs.get_mut(&doc) {
            for conn in dialed {
                entry.peers.entry(conn).or_default();
            }
        }
    }

    fn drop_conn(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.flow.forget(conn);
        self.to_answer.retain(|(_, c)| *c != conn);
        for entry in self.docs.values_mut() {
            entry.peers.remove(&conn);
            entry.pending.retain(|(c, _)| *c != conn);
        }
        // A hub that loads from storage keeps only documents someone is syncing: the rest
        // are durable (every change was persisted) and load again when next asked for.
        if self.config.load_from_storage {
            let dirty = &self.dirty;
            self.docs.retain(|id, e| {
                !e.peers.is_empty() || e.state == DocState::Loading || dirty.contains(id)
            });
        }
    }

    fn send(&self, conn: ConnId, msg: &Message, out: &mut Vec<Effect>) {
        out.push(Effect::Send {
            conn,
            frame: encode_message(msg),
            delivered: None,
        });
    }

    /// Tells the peer why in an `error`, then closes its connection.
    fn refuse(&self, conn: ConnId, message: String, reason: &str, out: &mut Vec<Effect>) {
        self.send_error(conn, message, out);
        out.push(Effect::Close {
            conn,
            reason: reason.into(),
        });
    }

    fn send_error(&self, conn: ConnId, message: String, out: &mut Vec<Effect>) {
        out.push(Effect::Warn {
            conn: Some(conn),
            message: message.clone(),
        });
        let target_id = self.conns.get(&conn).and_then(|c| c.remote.clone());
        self.send(
            conn,
            &Message::Error {
                sender_id: Some(self.config.peer_id.clone()),
                target_id,
                message,
            },
            out,
        );
    }

    fn on_frame(&mut self, conn: ConnId, frame: &[u8], out: &mut Vec<Effect>) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        match decode_message(frame, self.config.max_message_bytes) {
            Ok(msg) => self.on_message(conn, msg, out),
            Err(e) => {
                let e = loggable(&e.to_string(), 200);
                self.send_error(conn, format!("message refused: {e}"), out);
            }
        }
    }

    fn on_message(&mut self, conn: ConnId, msg: Message, out: &mut Vec<Effect>) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let dialer = c.dialer;
        let remote = c.remote.clone();
        match msg {
            Message::Join {
                sender_id,
                supported_protocol_versions,
                ..
            } if !dialer => {
                let speaks_1 = supported_protocol_versions
                    .as_ref()
                    .is_none_or(|v| v.iter().any(|v| v == PROTOCOL_VERSION));
                if !speaks_1 {
                    let why = "unsupported protocol version";
                    self.refuse(conn, why.into(), why, out);
                    return;
                }
                if remote.is_some() {
                    self.refuse(
                        conn,
                        "this connection has already joined: send join once per connection".into(),
                        "joined twice",
                        out,
                    );
                    return;
                }
                if !valid_peer_id(&sender_id.0) {
                    self.refuse(conn, format!("a peer id must be 1 to {MAX_PEER_ID_BYTES} letters, digits or -_.:@+/=; reconnect with another"), "invalid peer id", out);
                    return;
                }
                let mine = c.principals.clone();
                let live: Vec<(ConnId, bool)> = self
                    .conns
                    .iter()
                    .filter(|(id, c)| {
                        **id != conn && !c.dialer && c.remote.as_ref() == Some(&sender_id)
                    })
                    // The same participant (or, unguarded, nobody in particular on both).
                    .map(|(id, c)| {
                        (
                            *id,
                            c.principals == mine || !c.principals.is_disjoint(&mine),
                        )
                    })
                    .collect();
                if live.iter().any(|(_, same)| !same) {
                    self.refuse(conn, format!("the peer id {} is in use by another participant's connection: reconnect with a new peer id", loggable(&sender_id.0, 64)), "peer id in use by someone else", out);
                    return;
                }
                for (old, _) in live {
                    self.drop_conn(old);
                    out.push(Effect::Close {
                        conn: old,
                        reason: "replaced by a newer connection from the same peer".into(),
                    });
                }
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.remote = Some(sender_id.clone());
                }
                let peer = Message::Peer {
                    sender_id: self.config.peer_id.clone(),
                    target_id: sender_id.clone(),
                    peer_metadata: self.metadata(),
                    selected_protocol_version: PROTOCOL_VERSION.into(),
                };
                self.send(conn, &peer, out);
                out.push(Effect::Ready {
                    conn,
                    peer: sender_id,
                });
            }
            Message::Peer { sender_id, .. } if dialer => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.remote = Some(sender_id.clone());
                }
                out.push(Effect::Ready {
                    conn,
                    peer: sender_id,
                });
                self.start_dialed(conn, out);
            }
            Message::Error { message, .. } => {
                out.push(Effect::Warn {
                    conn: Some(conn),
                    message: format!("peer reported an error: {message}"),
                });
            }
            Message::Unknown { kind } => {
                out.push(Effect::Warn {
                    conn: Some(conn),
                    message: format!(
                        "ignored a message of unknown type '{}'",
                        loggable(&kind, 64)
                    ),
                });
            }
            msg => {
                let Some(remote) = remote else {
                    out.push(Effect::Warn {
                        conn: Some(conn),
                        message: format!("dropped '{}' sent before the handshake", msg.kind()),
                    });
                    return;
                };
                // A server relays other peers' ephemeral messages with their sender kept.
                let relayed = dialer && matches!(msg, Message::Ephemeral(_));
                if msg.sender() != Some(&remote) && !relayed {
                    out.push(Effect::Warn {
                        conn: Some(conn),
                        message: format!(
                            "dropped '{}' whose sender is not the peer joined on this connection",
                            msg.kind()
                        ),
                    });
                    return;
                }
                self.on_doc_message(conn, msg, out);
            }
        }
    }

    fn on_doc_message(&mut self, conn: ConnId, msg: Message, out: &mut Vec<Effect>) {
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
            out.push(Effect::Warn {
                conn: Some(conn),
                message: format!(
                    "answered doc-unavailable for document {doc}: not granted to this connection"
                ),
            });
            self.send_unavailable(conn, doc, out);
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
            Some(entry) if entry.state == DocState::Loading => entry.pending.push((conn, msg)),
            Some(_) => self.apply_sync(conn, msg, out),
        }
    }

    fn on_loaded(
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
                entry.doc = d;
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

    fn apply_sync(&mut self, conn: ConnId, msg: Message, out: &mut Vec<Effect>) {
        let (is_request, m) = match msg {
            Message::Request(m) => (true, m),
            Message::Sync(m) => (false, m),
            _ => return,
        };
        let doc = m.document_id;
        let access = self.access(conn, &doc);
        let Some(entry) = self.docs.get_mut(&doc) else {
            return;
        };
        let state = entry.peers.entry(conn).or_default();
        let decoded = match sync::Message::decode(&m.data) {
            Ok(d) => d,
            Err(e) => {
                *state = sync::State::new();
                self.send_error(
                    conn,
                    format!("the sync message for document {doc} could not be read: {e}"),
                    out,
                );
                return;
            }
        };
        let carries_changes = decoded.changes.iter().any(|c| !c.is_empty());
        if carries_changes && self.config.guarded {
            let incoming: usize = decoded.changes.iter().map(<[u8]>::len).sum();
            let refusal = match access {
                None => Some(None),
                Some(Access::Read) => Some(Some(format!("changes to document {doc} refused: you can view this plan but not change it; ask an owner for the editor role"))),
                Some(Access::Edit | Access::Write) if entry.state == DocState::Absent => Some(None),
                Some(Access::Edit | Access::Write) if entry.bytes.saturating_add(incoming) > self.config.max_document_bytes => Some(Some(format!(
                    "changes to document {doc} refused: it would grow past the server's limit of {} bytes per document; ask the server's operator",
                    self.config.max_document_bytes
                ))),
                Some(Access::Edit | Access::Write) => None,
            };
            match refusal {
                None => {}
                Some(None) => {
                    // Clients cannot create documents here: only the server's plan creation can.
                    self.docs.get_mut(&doc).map(|e| e.peers.remove(&conn));
                    out.push(Effect::Warn {
                        conn: Some(conn),
                        message: format!(
                            "refused changes to document {doc}, which this server does not hold"
                        ),
                    });
                    self.send_unavailable(conn, doc, out);
                    return;
                }
                Some(Some(reason)) => {
                    self.refuse(conn, reason.clone(), &reason, out);
                    self.drop_conn(conn);
                    return;
                }
            }
        }
        let held_back = self.config.batch && self.dirty.contains(&doc);
        let Some(entry) = self.docs.get_mut(&doc) else {
            return;
        };
        let Some(state) = entry.peers.get_mut(&conn) else {
            return;
        };
        let before = entry.doc.get_heads();
        let sent_before = state.last_sent_heads.clone();
        let received =
            peer_state::receive(&mut entry.doc, state, decoded).map_err(|e| e.to_string());
        // A message with no changes whose heads equal ours makes automerge note those heads
        // as sent to the peer. While changes are held back for the flush, our heads are not
        // ones we have told anybody: keep the heads we really sent, so that the flush still
        // answers this peer (otherwise it never learns that its change is on the server).
        if held_back {
            state.last_sent_heads = sent_before;
        }
        if let Err(e) = received {
            *state = sync::State::new();
            self.send_error(
                conn,
                format!("the sync message for document {doc} could not be applied: {e}"),
                out,
            );
            return;
        }
        let Some(entry) = self.docs.get_mut(&doc) else {
            return;
        };
        let after = entry.doc.get_heads();
        if before != after && access == Some(Access::Edit) {
            // An editor's changes may not touch what only owners change: if they do, the
            // document goes back to how it was before this message (nothing of it was
            // stored or sent yet) and the connection is refused, as a viewer's would be.
            let new: Vec<automerge::ExpandedChange> = entry
                .doc
                .get_changes(&before)
                .iter()
                .map(|c| c.decode())
                .collect();
            if let Some(part) = crate::plan::owner_only_part(&entry.doc, &new) {
                let actor = entry.doc.get_actor().clone();
                match entry.doc.fork_at(&before) {
                    Ok(back) => entry.doc = back.with_actor(actor),
                    Err(e) => {
                        out.push(Effect::Warn {
                            conn: Some(conn),
                            message: format!("could not undo refused changes to {doc}: {e}"),
                        });
                    }
                }
                let reason = format!(
                    "changes to document {doc} refused: only an owner of the plan changes {part}; ask an owner"
                );
                self.refuse(conn, reason.clone(), &reason, out);
                self.drop_conn(conn);
                return;
            }
        }
        if before != after {
            if entry.state == DocState::Absent && !after.is_empty() {
                entry.state = DocState::Ready;
            }
            // Only a guarded hub names senders (for attribution): clients skip the work.
            if self.config.guarded {
                for change in entry.doc.get_changes(&before) {
                    entry.senders.insert(change.hash(), conn);
                }
            }
            if self.config.batch {
                self.dirty.insert(doc);
            } else {
                self.after_change(doc, Some(conn), out);
                self.sync_all(doc, out);
            }
        } else if self.config.batch {
            // Answered at the flush, with any other message from this peer meanwhile (and
            // a dirty document's heads are not durable before it anyway).
            self.to_answer.insert((doc, conn));
        } else {
            self.sync_one(doc, conn, out);
        }
        let Some(entry) = self.docs.get(&doc) else {
            return;
        };
        if is_request && entry.state == DocState::Absent {
            self.send_unavailable(conn, doc, out);
        }
    }

    /// Persist (if configured) and report a change to a document's heads; `from` is the
    /// connection that sent the change.
    fn after_change(&mut self, doc: DocumentId, from: Option<ConnId>, out: &mut Vec<Effect>) {
        let persist = self.config.persist;
        let Some(entry) = self.docs.get_mut(&doc) else {
            return;
        };
        let heads = entry.doc.get_heads();
        if heads == entry.persisted {
            return;
        }
        if persist {
            // One pass over the new changes gives the chunk (what `save_after` writes) and
            // each change's sender.
            let mut chunk = Vec::new();
            let mut changes = Vec::new();
            for c in entry.doc.get_changes(&entry.persisted) {
                let h = c.hash();
                if entry.already_stored.contains(&h) {
                    continue;
                }
                chunk.extend_from_slice(c.raw_bytes());
                changes.push((h, entry.senders.get(&h).copied().or(from)));
            }
            if !chunk.is_empty() {
                entry.bytes = entry.bytes.saturating_add(chunk.len());
                out.push(Effect::Persist {
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

    fn sync_all(&mut self, doc: DocumentId, out: &mut Vec<Effect>) {
        let conns: Vec<ConnId> = self
            .docs
            .get(&doc)
            .map(|e| e.peers.keys().copied().collect())
            .unwrap_or_default();
        for conn in conns {
            self.sync_one(doc, conn, out);
        }
    }

    fn sync_one(&mut self, doc: DocumentId, conn: ConnId, out: &mut Vec<Effect>) {
        let Some(target_id) = self.conns.get(&conn).and_then(|c| c.remote.clone()) else {
            return;
        };
        let dialer = self.conns.get(&conn).is_some_and(|c| c.dialer);
        let Some(entry) = self.docs.get_mut(&doc) else {
            return;
        };
        let Some(state) = entry.peers.get_mut(&conn) else {
            return;
        };
        if peer_state::nothing_to_send(&mut entry.doc, state) {
            return;
        }
        let budget = self.config.max_in_transit_bytes;
        if budget.is_some_and(|b| !self.flow.may_send((doc, conn), b)) {
            return;
        }
        let Some(message) = peer_state::generate(&mut entry.doc, state) else {
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
    fn release_waiting(&mut self, out: &mut Vec<Effect>) {
        let Some(budget) = self.config.max_in_transit_bytes else {
            return;
        };
        while let Some((doc, conn)) = self.flow.next_waiting(budget) {
            self.sync_one(doc, conn, out);
        }
    }

    /// For a connection that closed: a presence goodbye on its behalf to everyone it was
    /// present to (so they forget it at once rather than after a time-out).
    fn say_goodbye(&mut self, conn: ConnId, out: &mut Vec<Effect>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let present = std::mem::take(&mut c.present_in);
        let data = presence::encode_presence(&PresenceMessage::Goodbye);
        for (doc, sender) in present {
            let Some(entry) = self.docs.get(&doc) else {
                continue;
            };
            for peer in entry.peers.keys().filter(|p| **p != conn) {
                let Some(c) = self.conns.get(peer).filter(|c| !c.dialer) else {
                    continue;
                };
                let Some(target) = c.remote.clone() else {
                    continue;
                };
                self.ephemeral_count += 1;
                let msg = Message::Ephemeral(Ephemeral {
                    sender_id: sender.clone(),
                    target_id: target,
                    count: self.ephemeral_count,
                    session_id: format!("{}-goodbye", self.session_id),
                    document_id: doc,
                    data: data.clone(),
                });
                out.push(Effect::Send {
                    conn: *peer,
                    frame: encode_message(&msg),
                    delivered: None,
                });
            }
        }
    }

    fn on_ephemeral(&mut self, conn: ConnId, e: Ephemeral, out: &mut Vec<Effect>) {
        if e.data.len() > self.config.max_ephemeral_bytes {
            self.send_error(
                conn,
                format!(
                    "ephemeral message refused: {} bytes is over the limit of {} bytes",
                    e.data.len(),
                    self.config.max_ephemeral_bytes
                ),
                out,
            );
            return;
        }
        if !valid_peer_id(&e.session_id) || !valid_peer_id(&e.sender_id.0) {
            self.send_error(
                conn,
                format!("ephemeral message refused: its sender and session ids must be 1 to {MAX_PEER_ID_BYTES} letters, digits or -_.:@+/="),
                out,
            );
            return;
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let key = (e.sender_id.clone(), e.session_id.clone());
        match c.ephemeral_seen.iter().position(|(k, _)| *k == key) {
            Some(i) if e.count <= c.ephemeral_seen[i].1 => return,
            Some(i) => {
                c.ephemeral_seen.remove(i);
            }
            None if c.ephemeral_seen.len() >= MAX_EPHEMERAL_SESSIONS => {
                c.ephemeral_seen.remove(0);
            }
            None => {}
        }
        c.ephemeral_seen.push((key, e.count));
        let mut e = e;
        if self.config.guarded {
            // A server passes on presence only from people it knows, stamped with who they
            // are, at a bounded rate; nothing from or to an upstream server.
            let now = self.now;
            let (Some(who), false) = (c.presence_as.clone(), c.dialer) else {
                return;
            };
            if !c.allow_ephemeral(now) {
                return;
            }
            let Some(stamped) = presence::stamp(&e.data, &who) else {
                return;
            };
            if stamped.presence {
                c.present_in.insert((e.document_id, e.sender_id.clone()));
            }
            e.data = stamped.data;
        }
        let Some(entry) = self.docs.get(&e.document_id) else {
            return;
        };
        out.push(Effect::Ephemeral {
            doc: e.document_id,
            sender: e.sender_id.clone(),
            data: e.data.clone(),
        });
        for peer in entry.peers.keys() {
            if *peer == conn {
                continue;
            }
            if self.config.guarded && self.conns.get(peer).is_some_and(|c| c.dialer) {
                continue;
            }
            let Some(target) = self.conns.get(peer).and_then(|c| c.remote.clone()) else {
                continue;
            };
            if target == e.sender_id {
                continue;
            }
            let fwd = Message::Ephemeral(Ephemeral {
                target_id: target,
                ..e.clone()
            });
            out.push(Effect::Send {
                conn: *peer,
                frame: encode_message(&fwd),
                delivered: None,
            });
        }
    }
}
