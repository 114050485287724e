//! How a hub behaves ([`HubConfig`]), what a connection may do with a document
//! ([`Access`]), and the checks on what peers name themselves.

use super::*;

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
    /// A connections' hub: it answers handshakes and checks each message's sender and
    /// grant, but holds no document: a granted document's messages come out as
    /// [`Effect::Route`] for the hub that holds it (a server with one hub per document).
    pub route: bool,
    /// A document quiet this long (milliseconds: every change stored and sent, nothing
    /// waiting) is held as its saved bytes until something reads it again; the driver
    /// sends [`Event::Tick`] at [`Hub::next_rest`]. `None`: documents stay in memory.
    pub rest_after_ms: Option<u64>,
    /// A document nobody syncs any more is kept, resting, rather than forgotten (a hub per
    /// document, which its driver drops once idle): the next peer to find it is answered
    /// without loading it from storage again. Changes another node stores for it forget it.
    pub keep_unsynced: bool,
}

/// How long a server's document stays in memory after its last use, in milliseconds.
pub const SERVER_REST_AFTER_MS: u64 = 2_000;

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
            route: false,
            rest_after_ms: Some(SERVER_REST_AFTER_MS),
            keep_unsynced: false,
        }
    }

    /// This server's configuration as its connections' hub: handshakes, senders and grants
    /// checked, each granted document's messages routed to that document's hub
    /// ([`HubConfig::route`]); it holds, loads and persists no document itself.
    pub fn router(self) -> Self {
        Self {
            load_from_storage: false,
            persist: false,
            batch: false,
            route: true,
            rest_after_ms: None,
            keep_unsynced: false,
            ..self
        }
    }

    /// Whether the hub persists each change at once (not batched for [`Event::Flush`]): it
    /// then sends what is stored while later changes are still being stored, and applies
    /// peers' messages meanwhile, so a burst of changes (typing faster than storage
    /// completes) holds back neither. A batching hub (a server) waits for the flush's
    /// persists, which its rounds pace.
    pub fn sends_stored_while_saving(&self) -> bool {
        self.persist && !self.batch
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
            route: false,
            rest_after_ms: None,
            keep_unsynced: false,
        }
    }
}
