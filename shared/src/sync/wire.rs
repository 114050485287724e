//! The CBOR messages of automerge-repo's protocol "1", encoded and decoded the way the JS
//! client (`@automerge/automerge-repo` 2.x, cbor-x) writes them. See `shared/PROTOCOL.md`.

use ciborium::Value;
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

struct Fields<'a> {
    kind: String,
    map: &'a [(Value, Value)],
}

/// Strips tags (e.g. tag 64 on byte strings) and treats `null`/`undefined` as absent.
fn untag(v: &Value) -> Option<&Value> {
    match v {
        Value::Tag(_, inner) => untag(inner),
        Value::Null => None,
        v => Some(v),
    }
}

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
            .and_then(|(_, v)| untag(v))
    }

    fn err(&self, field: &'static str, expected: &'static str) -> WireError {
        WireError::Field {
            kind: self.kind.clone(),
            field,
            expected,
        }
    }

    fn opt_text(&self, key: &'static str) -> Result<Option<String>, WireError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t.clone())),
            Some(_) => Err(self.err(key, "text string")),
        }
    }

    fn text(&self, key: &'static str) -> Result<String, WireError> {
        self.opt_text(key)?
            .ok_or_else(|| self.err(key, "text string"))
    }

    fn peer(&self, key: &'static str) -> Result<PeerId, WireError> {
        self.text(key).map(PeerId)
    }

    fn opt_peer(&self, key: &'static str) -> Result<Option<PeerId>, WireError> {
        Ok(self.opt_text(key)?.map(PeerId))
    }

    fn bytes(&self, key: &'static str) -> Result<Vec<u8>, WireError> {
        match self.get(key) {
            Some(Value::Bytes(b)) => Ok(b.clone()),
            _ => Err(self.err(key, "byte string")),
        }
    }

    fn document_id(&self) -> Result<DocumentId, WireError> {
        match self.get("documentId") {
            Some(Value::Text(t)) => t.parse(),
            Some(Value::Bytes(b)) => b
                .as_slice()
                .try_into()
                .map(DocumentId)
                .map_err(|_| WireError::DocumentId(format!("{} bytes", b.len()))),
            _ => Err(self.err("documentId", "text string")),
        }
    }

    fn uint(&self, key: &'static str) -> Result<u64, WireError> {
        match self.get(key) {
            Some(Value::Integer(i)) => {
                u64::try_from(*i).map_err(|_| self.err(key, "unsigned integer"))
            }
            Some(Value::Float(f)) if *f >= 0.0 && f.is_finite() => Ok(*f as u64),
            _ => Err(self.err(key, "unsigned integer")),
        }
    }

    fn metadata(&self) -> PeerMetadata {
        let Some(Value::Map(m)) = self.get("peerMetadata").or_else(|| self.get("metadata")) else {
            return PeerMetadata::default();
        };
        let f = Fields {
            kind: self.kind.clone(),
            map: m,
        };
        PeerMetadata {
            storage_id: f.opt_text("storageId").ok().flatten(),
            is_ephemeral: match f.get("isEphemeral") {
                Some(Value::Bool(b)) => Some(*b),
                _ => None,
            },
        }
    }

    fn doc_message(&self) -> Result<DocMessage, WireError> {
        Ok(DocMessage {
            sender_id: self.peer("senderId")?,
            target_id: self.peer("targetId")?,
            document_id: self.document_id()?,
            data: self.bytes("data")?,
        })
    }
}

/// Decodes one frame, refusing frames over `limit` bytes. Never panics.
pub fn decode_message(frame: &[u8], limit: usize) -> Result<Message, WireError> {
    if frame.len() > limit {
        return Err(WireError::TooLarge {
            size: frame.len(),
            limit,
        });
    }
    let value: Value =
        ciborium::de::from_reader(frame).map_err(|e| WireError::Cbor(e.to_string()))?;
    let Value::Map(map) = &value else {
        return Err(WireError::NotAMessage);
    };
    let kind = match map
        .iter()
        .find(|(k, _)| matches!(k, Value::Text(t) if t == "type"))
    {
        Some((_, Value::Text(t))) => t.clone(),
        _ => return Err(WireError::NotAMessage),
    };
    let f = Fields {
        kind: kind.clone(),
        map,
    };
    Ok(match kind.as_str() {
        "join" => Message::Join {
            sender_id: f.peer("senderId")?,
            peer_metadata: f.metadata(),
            supported_protocol_versions: match f.get("supportedProtocolVersions") {
                None => None,
                Some(Value::Array(a)) => Some(
                    a.iter()
                        .filter_map(|v| {
                            if let Value::Text(t) = v {
                                Some(t.clone())
                            } else {
                                None
                            }
                        })
                        .collect(),
                ),
                Some(_) => return Err(f.err("supportedProtocolVersions", "array")),
            },
        },
        "peer" => Message::Peer {
            sender_id: f.peer("senderId")?,
            target_id: f.peer("targetId")?,
            peer_metadata: f.metadata(),
            selected_protocol_version: f
                .opt_text("selectedProtocolVersion")?
                .unwrap_or_else(|| PROTOCOL_VERSION.into()),
        },
        "error" => Message::Error {
            sender_id: f.opt_peer("senderId")?,
            target_id: f.opt_peer("targetId")?,
            message: f.opt_text("message")?.unwrap_or_default(),
        },
        "leave" => Message::Leave {
            sender_id: f.opt_peer("senderId")?,
        },
        "request" => Message::Request(f.doc_message()?),
        "sync" => Message::Sync(f.doc_message()?),
        "doc-unavailable" => Message::DocUnavailable {
            sender_id: f.peer("senderId")?,
            target_id: f.peer("targetId")?,
            document_id: f.document_id()?,
        },
        "ephemeral" => Message::Ephemeral(Ephemeral {
            sender_id: f.peer("senderId")?,
            target_id: f.peer("targetId")?,
            count: f.uint("count")?,
            session_id: f.text("sessionId")?,
            document_id: f.document_id()?,
            data: f.bytes("data")?,
        }),
        "remote-subscription-change" => Message::RemoteSubscriptionChange {
            sender_id: f.peer("senderId")?,
        },
        "remote-heads-changed" => Message::RemoteHeadsChanged {
            sender_id: f.peer("senderId")?,
            document_id: f.document_id()?,
        },
        _ => Message::Unknown { kind },
    })
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn metadata(m: &PeerMetadata) -> Value {
    let mut map = Vec::new();
    if let Some(s) = &m.storage_id {
        map.push((text("storageId"), text(s)));
    }
    if let Some(e) = m.is_ephemeral {
        map.push((text("isEphemeral"), Value::Bool(e)));
    }
    Value::Map(map)
}

/// Encodes a message as one CBOR map with definite lengths and raw byte strings.
pub fn encode_message(message: &Message) -> Vec<u8> {
    let mut m: Vec<(Value, Value)> = vec![(text("type"), text(message.kind()))];
    let mut put = |k: &str, v: Value| m.push((text(k), v));
    match message {
        Message::Join {
            sender_id,
            peer_metadata,
            supported_protocol_versions,
        } => {
            put("senderId", text(&sender_id.0));
            put("peerMetadata", metadata(peer_metadata));
            let versions = supported_protocol_versions
                .clone()
                .unwrap_or_else(|| vec![PROTOCOL_VERSION.into()]);
            put(
                "supportedProtocolVersions",
                Value::Array(versions.iter().map(|v| text(v)).collect()),
            );
        }
        Message::Peer {
            sender_id,
            target_id,
            peer_metadata,
            selected_protocol_version,
        } => {
            put("senderId", text(&sender_id.0));
            put("targetId", text(&target_id.0));
            put("peerMetadata", metadata(peer_metadata));
            put("selectedProtocolVersion", text(selected_protocol_version));
        }
        Message::Error {
            sender_id,
            target_id,
            message,
        } => {
            if let Some(s) = sender_id {
                put("senderId", text(&s.0));
            }
            if let Some(t) = target_id {
                put("targetId", text(&t.0));
            }
            put("message", text(message));
        }
        Message::Leave { sender_id } => {
            if let Some(s) = sender_id {
                put("senderId", text(&s.0));
            }
        }
        Message::Request(d) | Message::Sync(d) => {
            put("senderId", text(&d.sender_id.0));
            put("targetId", text(&d.target_id.0));
            put("documentId", text(&d.document_id.to_string()));
            put("data", Value::Bytes(d.data.clone()));
        }
        Message::DocUnavailable {
            sender_id,
            target_id,
            document_id,
        } => {
            put("senderId", text(&sender_id.0));
            put("targetId", text(&target_id.0));
            put("documentId", text(&document_id.to_string()));
        }
        Message::Ephemeral(e) => {
            put("senderId", text(&e.sender_id.0));
            put("targetId", text(&e.target_id.0));
            put("count", Value::Integer(e.count.into()));
            put("sessionId", text(&e.session_id));
            put("documentId", text(&e.document_id.to_string()));
            put("data", Value::Bytes(e.data.clone()));
        }
        Message::RemoteSubscriptionChange { sender_id } => put("senderId", text(&sender_id.0)),
        Message::RemoteHeadsChanged {
            sender_id,
            document_id,
        } => {
            put("senderId", text(&sender_id.0));
            put("documentId", text(&document_id.to_string()));
        }
        Message::Unknown { .. } => {}
    }
    let mut out = Vec::new();
    ciborium::ser::into_writer(&Value::Map(m), &mut out)
        .expect("writing CBOR to a Vec cannot fail");
    out
}
