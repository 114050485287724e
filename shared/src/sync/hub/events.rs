//! What goes into a hub ([`Event`]) and what comes out ([`Effect`]).

use super::*;

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
    /// A connection whose handshake was done elsewhere (a relay sends its own `join` to
    /// an upstream server and hands the connection to its routing hub): it counts as joined
    /// by `peer`, and nothing is sent.
    Joined {
        /// The connection (already [`Event::Connected`], not dialed).
        conn: ConnId,
        /// The peer that joined on it.
        peer: PeerId,
    },
    /// A connection a connections' hub routed to this document's hub ([`Effect::Route`]):
    /// it counts as joined, with what it may do with the document, and nothing is sent.
    Attach {
        /// The connection.
        conn: ConnId,
        /// The document it syncs here.
        doc: DocumentId,
        /// Who joined on it and what it may do.
        attached: Attached,
        /// Who it is, for stamping its presence (on a guarded hub).
        who: Option<Stamp>,
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
    /// An [`Effect::Persist`] completed: its changes are durable (`Ok`), or storing them
    /// failed. On a storage peer (one with a storage id: a server, whose peers trust it to
    /// keep what it acknowledged) a failure forgets the document's copy (storage still has
    /// everything acknowledged) and closes its peers' connections, so they send again;
    /// elsewhere (a browser's own storage) it is logged and sync goes on, the server then
    /// being the other copy.
    /// A driver that writes several persists at once reports them together, and the
    /// hub sends once for them all.
    Persisted {
        /// The persists that completed, in the order they were asked for.
        ids: Vec<PersistId>,
        /// Whether it was stored, or why not.
        result: Result<(), String>,
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
    /// Durably store these changes (automerge bytes, appendable to what is stored), then
    /// report [`Event::Persisted`]: until then no sync message about the document is sent.
    Persist {
        /// Names this persist in its [`Event::Persisted`].
        id: PersistId,
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
    /// On a connections' hub ([`HubConfig::route`]): a message about a document, from the
    /// peer joined on `conn` and granted to it, for the hub that holds that document
    /// ([`Event::Attach`] first when `attach` is given, then [`Event::Decoded`]).
    Route {
        /// The connection.
        conn: ConnId,
        /// The document.
        doc: DocumentId,
        /// The message, decoded.
        message: Message,
        /// The connection as the document's hub must first learn of it: on its first
        /// message about this document.
        attach: Option<Attached>,
    },
    /// Something worth a line in the log (bad input, refused messages).
    Warn {
        /// The connection concerned, if any.
        conn: Option<ConnId>,
        /// What happened.
        message: String,
    },
}

/// A connection as a connections' hub hands it to a document's hub.
#[derive(Debug, Clone, PartialEq)]
pub struct Attached {
    /// The peer that joined on it.
    pub peer: PeerId,
    /// Who it belongs to (see [`Event::Identify`]).
    pub principals: BTreeSet<String>,
    /// What it may do with the document.
    pub access: Access,
}

/// Names one [`Effect::Persist`] of a hub, for its [`Event::Persisted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersistId(pub u64);
