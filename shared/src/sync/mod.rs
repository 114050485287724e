//! The sans-IO sync core: the automerge-repo wire protocol "1" and a hub that syncs
//! documents with connected peers. The caller owns sockets, clock and storage.

mod codec;
mod flow;
mod hub;
mod peer_state;
mod presence;
mod saved;
mod wire;

pub use codec::{decode_message, encode_message};
pub use hub::{
    loggable, valid_peer_id, Access, Attached, Effect, Event, Hub, HubConfig, PersistId,
    MAX_EPHEMERAL_SESSIONS, MAX_PEER_ID_BYTES, SERVER_REST_AFTER_MS,
};
pub use peer_state::changes_beyond;
pub use presence::{
    encode_presence, parse_presence, read_stamp, PresenceMessage, Stamp, HEARTBEAT_MS, PARTICIPANT,
    PEER_TTL_MS, PRESENCE_MARKER,
};
pub use wire::{
    ConnId, DocMessage, DocumentId, Ephemeral, Message, PeerId, PeerMetadata, WireError,
    PROTOCOL_VERSION,
};

#[cfg(test)]
mod tests;
