//! The messages of automerge-repo's protocol "1" and the ids they carry; [`super::codec`]
//! reads and writes them as CBOR frames. See `shared/PROTOCOL.md`.

use std::fmt;

/// The only protocol version there is.
pub const PROTOCOL_VERSION: &str = "1";

/// Why a frame could not be read as a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    /// The frame is larger than the configured limit.
    #[error("message of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// Frame size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The frame is not well-formed CBOR.
    #[error("malformed CBOR: {0}")]
    Cbor(String),
    /// The frame is CBOR but not a map with a text `type`.
    #[error("a message must be a CBOR map with a text 'type'")]
    NotAMessage,
    /// A field the message type requires is missing or has the wrong type.
    #[error("'{kind}' message: field '{field}' is missing or not a {expected}")]
    Field {
        /// Message type.
        kind: String,
        /// Field name.
        field: &'static str,
        /// Expected CBOR type.
        expected: &'static str,
    },
    /// A document id that is not bs58check of 16 bytes.
    #[error("'{0}' is not a document id")]
    DocumentId(String),
}

/// A peer's id: any string the peer chose.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub String);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifies one connection (one socket) to a peer, chosen by the caller (never on the
/// wire: the peer is known by its [`PeerId`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// A document id: 16 bytes, written on the wire as bs58check text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId(pub [u8; 16]);

impl DocumentId {
    /// A new random document id.
    pub fn random(rng: &mut dyn rand::RngCore) -> Self {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        Self(b)
    }

    /// Parses an `automerge:<id>` URL (heads after `#` are ignored) or a bare id.
    pub fn from_url(url: &str) -> Result<Self, WireError> {
        let id = url.strip_prefix("automerge:").unwrap_or(url);
        id.split('#').next().unwrap_or(id).parse()
    }

    /// The `automerge:<id>` URL applications use.
    pub fn url(&self) -> String {
        format!("automerge:{self}")
    }
}

impl std::str::FromStr for DocumentId {
    type Err = WireError;
    fn from_str(s: &str) -> Result<Self, WireError> {
        let bytes = bs58::decode(s)
            .with_check(None)
            .into_vec()
            .map_err(|_| WireError::DocumentId(s.into()))?;
        let arr: [u8; 16] = bytes
            .try_into()
            .map_err(|_| WireError::DocumentId(s.into()))?;
        Ok(Self(arr))
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

/// In JSON a document id is its text, as in its URL.
impl serde::Serialize for DocumentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DocumentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

/// What a peer says about itself in `join` and `peer`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeerMetadata {
    /// The peer's storage id, if it stores documents.
    pub storage_id: Option<String>,
    /// Whether the peer keeps nothing.
    pub is_ephemeral: Option<bool>,
}

/// The fields of `request` and `sync`.
#[derive(Debug, Clone, PartialEq)]
pub struct DocMessage {
    /// Who sent it.
    pub sender_id: PeerId,
    /// Who it is for.
    pub target_id: PeerId,
    /// Which document.
    pub document_id: DocumentId,
    /// An automerge sync message.
    pub data: Vec<u8>,
}

/// The fields of `ephemeral`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ephemeral {
    /// The original sender (kept when relayed).
    pub sender_id: PeerId,
    /// Who it is for.
    pub target_id: PeerId,
    /// Increases with every message of the session.
    pub count: u64,
    /// Random per sending repo instance.
    pub session_id: String,
    /// Which document it is about.
    pub document_id: DocumentId,
    /// CBOR application payload.
    pub data: Vec<u8>,
}

/// One message of the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Client to server: the first message.
    Join {
        /// The client's peer id.
        sender_id: PeerId,
        /// The client's metadata.
        peer_metadata: PeerMetadata,
        /// Versions the client speaks; absent means "1".
        supported_protocol_versions: Option<Vec<String>>,
    },
    /// Server to client: the answer to `join`.
    Peer {
        /// The server's peer id.
        sender_id: PeerId,
        /// The client's peer id.
        target_id: PeerId,
        /// The server's metadata.
        peer_metadata: PeerMetadata,
        /// Always "1".
        selected_protocol_version: String,
    },
    /// A fatal or informative error.
    Error {
        /// Who sent it, if known.
        sender_id: Option<PeerId>,
        /// Who it is for, if known.
        target_id: Option<PeerId>,
        /// What went wrong, in words.
        message: String,
    },
    /// samod only: the peer is going.
    Leave {
        /// Who is leaving.
        sender_id: Option<PeerId>,
    },
    /// Ask for a document the sender does not have.
    Request(DocMessage),
    /// One step of automerge sync for a document.
    Sync(DocMessage),
    /// The sender does not have the document and knows nobody who does.
    DocUnavailable {
        /// Who sent it.
        sender_id: PeerId,
        /// Who it is for.
        target_id: PeerId,
        /// Which document.
        document_id: DocumentId,
    },
    /// Presence and other messages that are never stored.
    Ephemeral(Ephemeral),
    /// Remote heads gossip: decoded, otherwise ignored.
    RemoteSubscriptionChange {
        /// Who sent it.
        sender_id: PeerId,
    },
    /// Remote heads gossip: decoded, otherwise ignored.
    RemoteHeadsChanged {
        /// Who sent it.
        sender_id: PeerId,
        /// Which document.
        document_id: DocumentId,
    },
    /// A message type this version does not know; ignored.
    Unknown {
        /// Its `type`.
        kind: String,
    },
}

impl Message {
    /// The `type` word on the wire.
    pub fn kind(&self) -> &str {
        match self {
            Message::Join { .. } => "join",
            Message::Peer { .. } => "peer",
            Message::Error { .. } => "error",
            Message::Leave { .. } => "leave",
            Message::Request(_) => "request",
            Message::Sync(_) => "sync",
            Message::DocUnavailable { .. } => "doc-unavailable",
            Message::Ephemeral(_) => "ephemeral",
            Message::RemoteSubscriptionChange { .. } => "remote-subscription-change",
            Message::RemoteHeadsChanged { .. } => "remote-heads-changed",
            Message::Unknown { kind } => kind,
        }
    }

    /// The document a document message (request, sync, doc-unavailable, ephemeral) is
    /// about; `None` for the handshake, errors and gossip.
    pub fn document(&self) -> Option<DocumentId> {
        match self {
            Message::Request(m) | Message::Sync(m) => Some(m.document_id),
            Message::DocUnavailable { document_id, .. } => Some(*document_id),
            Message::Ephemeral(e) => Some(e.document_id),
            _ => None,
        }
    }

    /// The sender's peer id, where the message carries one.
    pub fn sender(&self) -> Option<&PeerId> {
        match self {
            Message::Join { sender_id, .. }
            | Message::Peer { sender_id, .. }
            | Message::DocUnavailable { sender_id, .. }
            | Message::RemoteSubscriptionChange { sender_id }
            | Message::RemoteHeadsChanged { sender_id, .. } => Some(sender_id),
            Message::Request(m) | Message::Sync(m) => Some(&m.sender_id),
            Message::Ephemeral(e) => Some(&e.sender_id),
            Message::Error { sender_id, .. } | Message::Leave { sender_id } => sender_id.as_ref(),
            Message::Unknown { .. } => None,
        }
    }
}
