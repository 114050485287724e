//! A sync message from a peer: checked against the connection's access and the
//! document's size, applied, and either answered or held for the flush.

use super::*;

impl Hub {
    pub(super) fn apply_sync(&mut self, conn: ConnId, msg: Message, out: &mut Vec<Effect>) {
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
        // A resting document answers a message with no changes without being loaded.
        let decoded = match entry.held.saved() {
            Some(saved) => match saved.receive(state, decoded) {
                Ok(()) => {
                    self.answer(doc, conn, out);
                    return;
                }
                Err(decoded) => decoded,
            },
            None => decoded,
        };
        let before = entry.held.get().get_heads();
        let sent_before = state.last_sent_heads.clone();
        let received =
            peer_state::receive(entry.held.get(), state, decoded).map_err(|e| e.to_string());
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
        let after = entry.held.get().get_heads();
        if before != after && access == Some(Access::Edit) {
            // An editor's changes may not touch what only owners change: if they do, the
            // document goes back to how it was before this message (nothing of it was
            // stored or sent yet) and the connection is refused, as a viewer's would be.
            let new: Vec<automerge::ExpandedChange> = entry
                .held
                .get()
                .get_changes(&before)
                .iter()
                .map(|c| c.decode())
                .collect();
            if let Some(part) = crate::plan::owner_only_part(entry.held.get(), &new) {
                let actor = entry.held.get().get_actor().clone();
                match entry.held.get().fork_at(&before) {
                    Ok(back) => entry.held.set(back.with_actor(actor)),
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
                for change in entry.held.get().get_changes(&before) {
                    entry.senders.insert(change.hash(), conn);
                }
            }
            if self.config.batch {
                self.dirty.insert(doc);
            } else {
                self.after_change(doc, Some(conn), out);
                self.sync_all(doc, out);
            }
        } else {
            self.answer(doc, conn, out);
        }
        let Some(entry) = self.docs.get(&doc) else {
            return;
        };
        if is_request && entry.state == DocState::Absent {
            self.send_unavailable(conn, doc, out);
        }
    }

    /// Answers a peer whose message brought no change.
    fn answer(&mut self, doc: DocumentId, conn: ConnId, out: &mut Vec<Effect>) {
        if self.config.batch {
            // Answered at the flush, with any other message from this peer meanwhile (and
            // a dirty document's heads are not durable before it anyway).
            self.to_answer.insert((doc, conn));
        } else {
            self.sync_one(doc, conn, out);
        }
    }
}
