//! Ephemeral messages (presence): stamped with who sent them, rate-limited, relayed, and a
//! goodbye for a connection that closed.

use super::*;

impl Hub {
    /// For a connection that closed: a presence goodbye on its behalf to everyone it was
    /// present to (so they forget it at once rather than after a time-out).
    pub(super) fn say_goodbye(&mut self, conn: ConnId, out: &mut Vec<Effect>) {
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

    pub(super) fn on_ephemeral(&mut self, conn: ConnId, e: Ephemeral, out: &mut Vec<Effect>) {
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
