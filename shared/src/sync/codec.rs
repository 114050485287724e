//! Frames to messages and back: CBOR as the JS client (`@automerge/automerge-repo` 2.x,
//! cbor-x) writes it, read leniently (tags, `undefined`, map16 headers) and never panicking,
//! written with definite lengths and raw byte strings.

use super::wire::*;
use ciborium::Value;

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
