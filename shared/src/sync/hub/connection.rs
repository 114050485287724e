//! The hub's connections: the handshake (`join` and `peer`), who may use a peer id,
//! grants, and what is sent to one connection (errors, refusals, `doc-unavailable`).

use super::*;

#[derive(Debug)]
pub(super) struct Conn {
    pub(super) dialer: bool,
    pub(super) remote: Option<PeerId>,
    pub(super) grants: BTreeMap<DocumentId, Access>,
    pub(super) principals: BTreeSet<String>,
    /// The last ephemeral count seen per (sender, session) on this connection, oldest first;
    /// at most [`MAX_EPHEMERAL_SESSIONS`] entries, gone with the connection.
    pub(super) ephemeral_seen: Vec<((PeerId, String), u64)>,
    /// Who it is, for stamping presence (a guarded hub).
    pub(super) presence_as: Option<Stamp>,
    /// The documents and senders it sent presence for: a goodbye goes out for each when it
    /// closes.
    pub(super) present_in: BTreeSet<(DocumentId, PeerId)>,
    /// Ephemeral messages it may still send now (a token bucket) and when it was filled.
    pub(super) ephemeral_tokens: (f64, u64),
    /// On a connections' hub: the documents whose hubs it was routed to.
    pub(super) routed: BTreeSet<DocumentId>,
}

impl Conn {
    pub(super) fn new(
        dialer: bool,
        remote: Option<PeerId>,
        grants: BTreeMap<DocumentId, Access>,
    ) -> Self {
        Self {
            dialer,
            remote,
            grants,
            principals: BTreeSet::new(),
            ephemeral_seen: Vec::new(),
            presence_as: None,
            present_in: BTreeSet::new(),
            ephemeral_tokens: (EPHEMERAL_BURST, 0),
            routed: BTreeSet::new(),
        }
    }

    /// Takes one ephemeral message from the bucket at `now` (ms); false when empty.
    pub(super) fn allow_ephemeral(&mut self, now: u64) -> bool {
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

impl Hub {
    /// Replaces a connection's grants; documents it loses stop syncing with it and it is
    /// told they are unavailable, the answer it would get had it never had them.
    pub(super) fn grant(
        &mut self,
        conn: ConnId,
        grants: BTreeMap<DocumentId, Access>,
        out: &mut Vec<Effect>,
    ) {
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
    pub(super) fn access(&self, conn: ConnId, doc: &DocumentId) -> Option<Access> {
        if !self.config.guarded {
            return Some(Access::Write);
        }
        self.conns.get(&conn)?.grants.get(doc).copied()
    }

    pub(super) fn send_unavailable(&self, conn: ConnId, doc: DocumentId, out: &mut Vec<Effect>) {
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

    pub(super) fn metadata(&self) -> PeerMetadata {
        PeerMetadata {
            storage_id: self.config.storage_id.clone(),
            is_ephemeral: Some(self.config.storage_id.is_none()),
        }
    }

    /// A dialed connection whose handshake is done starts syncing every document we hold
    /// that it may sync.
    pub(super) fn start_dialed(&mut self, conn: ConnId, out: &mut Vec<Effect>) {
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
    pub(super) fn link_dialed(&mut self, doc: DocumentId) {
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

    pub(super) fn drop_conn(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.flow.forget(conn);
        self.to_answer.retain(|(_, c)| *c != conn);
        for entry in self.docs.values_mut() {
            entry.peers.remove(&conn);
            entry.pending.retain(|(c, _)| *c != conn);
        }
        // A hub that loads from storage keeps only documents someone is syncing (or, kept
        // unsynced, resting copies): the rest are durable (every change was persisted) and
        // load again when next asked for.
        if self.config.load_from_storage {
            let dirty = &self.dirty;
            let keep = self.config.keep_unsynced;
            self.docs.retain(|id, e| {
                !e.peers.is_empty()
                    || e.state == DocState::Loading
                    || (keep && e.state == DocState::Ready)
                    || e.saving > 0
                    || dirty.contains(id)
            });
            if keep {
                self.rest_unsynced();
            }
        }
    }

    pub(super) fn send(&self, conn: ConnId, msg: &Message, out: &mut Vec<Effect>) {
        out.push(Effect::Send {
            conn,
            frame: encode_message(msg),
            delivered: None,
        });
    }

    /// Tells the peer why in an `error`, then closes its connection.
    pub(super) fn refuse(
        &self,
        conn: ConnId,
        message: String,
        reason: &str,
        out: &mut Vec<Effect>,
    ) {
        self.send_error(conn, message, out);
        out.push(Effect::Close {
            conn,
            reason: reason.into(),
        });
    }

    pub(super) fn send_error(&self, conn: ConnId, message: String, out: &mut Vec<Effect>) {
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

    pub(super) fn on_frame(&mut self, conn: ConnId, frame: &[u8], out: &mut Vec<Effect>) {
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

    pub(super) fn on_message(&mut self, conn: ConnId, msg: Message, out: &mut Vec<Effect>) {
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
}
