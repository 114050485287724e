//! A document held as its saved bytes answers the commonest sync messages without being
//! loaded: a peer that holds nothing is sent the saved bytes (what automerge sends it
//! anyway, saved afresh for each peer), and a peer that holds exactly our heads is
//! acknowledged. Anything else needs the document. Each step makes the same message and the
//! same change to the peer's sync state as [`super::peer_state`] does on the loaded
//! document; the tests compare the two.

use super::peer_state;
use automerge::sync::{self, BloomFilter, Capability, Have, MessageFlags, MessageVersion, State};
use automerge::{AutoCommit, ChangeHash};

/// A document's saved bytes, its heads and the hashes of all its changes.
#[derive(Debug)]
pub(crate) struct Saved {
    /// A whole saved document, then any changes appended since (automerge loads both, and
    /// a peer that holds nothing takes both in one message).
    bytes: Vec<u8>,
    heads: Vec<ChangeHash>,
    /// Sorted.
    hashes: Vec<ChangeHash>,
    /// How many of the bytes are changes appended after the whole document.
    appended: usize,
}

/// Changes are appended to a saved document until they come to this share of its bytes
/// (one in four); then it is saved whole again.
const APPENDED_SHARE: usize = 4;

/// The step needs the loaded document.
#[derive(Debug, PartialEq)]
pub(crate) struct NeedsDocument;

impl Saved {
    /// Saves `doc`.
    pub(crate) fn of(doc: &mut AutoCommit) -> Self {
        let mut hashes: Vec<ChangeHash> = doc
            .get_changes_meta(&[])
            .into_iter()
            .map(|m| m.hash)
            .collect();
        hashes.sort_unstable();
        Self {
            bytes: doc.save(),
            heads: doc.get_heads(),
            hashes,
            appended: 0,
        }
    }

    /// Saves `doc`, which `earlier` saved before it changed: its new changes are appended
    /// to the earlier bytes (a few hundred bytes an edit, where saving the whole plan
    /// compresses every column again), until they come to a quarter of them.
    pub(crate) fn after(earlier: Saved, doc: &mut AutoCommit) -> Self {
        let grew_from_it = earlier
            .heads
            .iter()
            .all(|h| doc.get_change_meta_by_hash(h).is_some());
        if !grew_from_it {
            return Self::of(doc);
        }
        let heads = doc.get_heads();
        if earlier.are_ours(&heads) {
            return earlier;
        }
        let added = doc.save_after(&earlier.heads);
        let appended = earlier.appended + added.len();
        if appended * APPENDED_SHARE > earlier.bytes.len() {
            return Self::of(doc);
        }
        let mut hashes = earlier.hashes;
        hashes.extend(
            doc.get_changes_meta(&earlier.heads)
                .into_iter()
                .map(|m| m.hash),
        );
        hashes.sort_unstable();
        hashes.dedup();
        let mut bytes = earlier.bytes;
        bytes.extend_from_slice(&added);
        Self {
            bytes,
            heads,
            hashes,
            appended,
        }
    }

    /// Whether the peer holds nothing and takes the whole document in one message (it
    /// may still need the document if it is read-only or has not said what it has).
    pub(crate) fn takes_whole(state: &State) -> bool {
        state.their_heads.as_ref().is_some_and(Vec::is_empty)
            && state
                .their_capabilities
                .as_ref()
                .is_some_and(|c| c.contains(&Capability::MessageV2))
    }

    /// The saved bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The document's heads.
    pub(crate) fn heads(&self) -> &[ChangeHash] {
        &self.heads
    }

    fn has(&self, hash: &ChangeHash) -> bool {
        self.hashes.binary_search(hash).is_ok()
    }

    /// Whether `heads` are ours (in any order).
    fn are_ours(&self, heads: &[ChangeHash]) -> bool {
        let mut theirs = heads.to_vec();
        let mut ours = self.heads.clone();
        theirs.sort_unstable();
        theirs.dedup();
        ours.sort_unstable();
        theirs == ours
    }

    /// Applies a peer's message that carries no changes to its sync state, as
    /// [`super::peer_state::receive`] would; gives the message back if that needs the
    /// document.
    pub(crate) fn receive(
        &self,
        state: &mut State,
        message: sync::Message,
    ) -> Result<(), sync::Message> {
        if !message.changes.is_empty() {
            return Err(message);
        }
        let reset = message
            .flags
            .is_some_and(|f| f.contains(MessageFlags::SYNC_RESET));
        let known: Vec<ChangeHash> = message
            .heads
            .iter()
            .filter(|h| self.has(h))
            .copied()
            .collect();
        let sent_left = !(state.sent_hashes.is_empty() || reset);
        if sent_left && !known.is_empty() && !self.are_ours(&known) {
            // Which sent changes the peer now holds needs the change graph.
            return Err(message);
        }
        let sync::Message {
            heads,
            need,
            have,
            flags,
            ..
        } = message;
        state.in_flight = false;
        peer_state::note_flags(state, flags);
        if !known.is_empty() && !state.sent_hashes.is_empty() {
            // Their heads are ours: every change sent is among them.
            state.sent_hashes.clear();
        }
        if heads == self.heads {
            state.last_sent_heads.clone_from(&heads);
        }
        peer_state::note_theirs(state, heads, &known, have, need);
        Ok(())
    }

    /// The next message for a peer, as [`super::peer_state::generate`] would make it, when
    /// the peer holds nothing (it is sent the saved bytes) or exactly our heads.
    pub(crate) fn generate(
        &self,
        state: &mut State,
    ) -> Result<Option<sync::Message>, NeedsDocument> {
        // Their heads are unknown, none, or ours; anything else (changes they lack, or
        // have and we do not) needs the change graph.
        let holds_nothing = state.their_heads.as_ref().is_some_and(Vec::is_empty);
        let holds_some = state.their_heads.as_ref().is_some_and(|h| !h.is_empty());
        let holds_ours = holds_some
            && state
                .their_heads
                .as_deref()
                .is_some_and(|h| self.are_ours(h));
        if (holds_some && !holds_ours) || state.needs_reset {
            return Err(NeedsDocument);
        }
        // Our `have`: the changes since the heads we share with the peer.
        let since_shared: Vec<ChangeHash> = if state.shared_heads.is_empty() {
            self.hashes.clone()
        } else if self.are_ours(&state.shared_heads) {
            Vec::new()
        } else {
            return Err(NeedsDocument);
        };
        if let Some(first) = state.their_have.as_ref().and_then(|h| h.first()) {
            if !first.last_sync.iter().all(|h| self.has(h)) {
                return Err(NeedsDocument);
            }
        }
        // As `peer_state::generate`, a peer holding some of the document is treated as not
        // taking version 2 messages (so it is never sent the whole document again).
        let v2 = !holds_some
            && state
                .their_capabilities
                .as_ref()
                .is_some_and(|c| c.contains(&Capability::MessageV2));
        // A peer that holds nothing is sent the whole document (as version 2 only).
        let theirs_known = state.their_have.is_some() && state.their_need.is_some();
        let whole = !state.peer_read_only && holds_nothing && v2 && theirs_known;
        if holds_nothing && !whole && !state.peer_read_only && theirs_known {
            // Its changes one by one (an old peer): automerge builds that from the document.
            return Err(NeedsDocument);
        }
        if holds_ours && state.their_need.as_ref().is_some_and(|n| !n.is_empty()) {
            return Err(NeedsDocument);
        }
        let heads_unchanged = state.last_sent_heads == self.heads;
        let heads_equal = state.their_heads.as_ref() == Some(&self.heads);
        if heads_unchanged && state.have_responded {
            if (heads_equal || state.read_only) && !whole {
                return Ok(None);
            }
            if state.in_flight {
                return Ok(None);
            }
        }
        state.have_responded = true;
        state.last_sent_heads.clone_from(&self.heads);
        let mut changes = Vec::new();
        let mut version = if v2 {
            MessageVersion::V2
        } else {
            MessageVersion::V1
        };
        if whole {
            state.sent_hashes.extend(self.hashes.iter().copied());
            changes.push(self.bytes.clone());
            version = MessageVersion::V2;
        }
        let mut flags = MessageFlags::new();
        flags.set(MessageFlags::SUPPORTS_SYNC_RESET);
        if state.read_only {
            flags.set(MessageFlags::READ_ONLY);
        }
        let message = sync::Message {
            heads: self.heads.clone(),
            need: Vec::new(),
            have: vec![Have {
                last_sync: state.shared_heads.clone(),
                bloom: BloomFilter::from_hashes(since_shared.iter()),
            }],
            changes: changes.into(),
            flags: Some(flags),
            version,
        };
        state.in_flight = true;
        if whole {
            // As `peer_state::generate`: the peer's answer gets one more message, our heads.
            state.have_responded = false;
        }
        Ok(Some(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;
    use automerge::{ReadDoc, ROOT};

    fn document(edits: u32) -> AutoCommit {
        let mut d = AutoCommit::new();
        for i in 0..edits {
            d.put(ROOT, format!("k{i}"), i as i64).unwrap();
            d.commit();
        }
        d
    }

    /// Syncs `peer` with a server holding `server` until neither has more to say, the
    /// server's side run twice: on the loaded document and on its saved form. Every
    /// message and every state of the two must be the same. Returns how many steps the saved
    /// form answered by itself, and how many it handed to the loaded document.
    fn both_ways(server: &mut AutoCommit, peer: &mut AutoCommit) -> (usize, usize) {
        let saved = Saved::of(server);
        let (mut loaded_state, mut saved_state) = (State::new(), State::new());
        let mut peer_state_ = State::new();
        let (mut alone, mut handed) = (0, 0);
        for _ in 0..10 {
            let from_peer = peer.sync().generate_sync_message(&mut peer_state_);
            if let Some(m) = &from_peer {
                peer_state::receive(server, &mut loaded_state, m.clone()).unwrap();
                match saved.receive(&mut saved_state, m.clone()) {
                    Ok(()) => alone += 1,
                    Err(m) => {
                        handed += 1;
                        peer_state::receive(server, &mut saved_state, m).unwrap();
                    }
                }
                assert_eq!(saved_state, loaded_state, "states after receiving");
            }
            let from_loaded = peer_state::generate(server, &mut loaded_state);
            let from_saved = match saved.generate(&mut saved_state) {
                Ok(m) => {
                    alone += 1;
                    m
                }
                Err(NeedsDocument) => {
                    handed += 1;
                    peer_state::generate(server, &mut saved_state)
                }
            };
            assert_eq!(
                from_saved.as_ref().map(|m| m.clone().encode()),
                from_loaded.as_ref().map(|m| m.clone().encode()),
                "the same message"
            );
            assert_eq!(saved_state, loaded_state, "states after sending");
            if let Some(m) = from_loaded {
                peer.sync()
                    .receive_sync_message(&mut peer_state_, m)
                    .unwrap();
            } else if from_peer.is_none() {
                break;
            }
        }
        assert_eq!(peer.get_heads(), server.get_heads(), "in step");
        (alone, handed)
    }

    #[test]
    fn saved_again_after_an_edit_it_appends_the_edit_and_loads_as_the_document() {
        let mut doc = document(400);
        let first = Saved::of(&mut doc);
        let whole = first.bytes.clone();
        doc.put(ROOT, "after", 1).unwrap();
        doc.commit();
        let again = Saved::after(first, &mut doc);
        assert!(
            again.bytes.starts_with(&whole),
            "the earlier bytes, then the edit"
        );
        assert!(again.bytes.len() > whole.len());
        assert_eq!(again.heads, doc.get_heads());
        assert_eq!(again.hashes, Saved::of(&mut doc).hashes);
        let mut loaded = AutoCommit::load(&again.bytes).unwrap();
        assert_eq!(loaded.get_heads(), doc.get_heads());
        assert_eq!(loaded.hydrate(ROOT, None), doc.hydrate(ROOT, None));
    }

    #[test]
    fn saved_again_after_many_edits_it_is_saved_whole() {
        let mut doc = document(3);
        let mut saved = Saved::of(&mut doc);
        let mut whole_again = false;
        for i in 0..40 {
            doc.put(ROOT, format!("later{i}"), i).unwrap();
            doc.commit();
            let before = saved.bytes.len();
            saved = Saved::after(saved, &mut doc);
            whole_again |= saved.appended == 0 && saved.bytes.len() < before + 60;
            assert!(saved.appended * APPENDED_SHARE <= saved.bytes.len());
        }
        assert!(
            whole_again,
            "the appended edits were folded into a whole save"
        );
        assert_eq!(
            AutoCommit::load(&saved.bytes).unwrap().get_heads(),
            doc.get_heads()
        );
    }

    #[test]
    fn a_peer_holding_nothing_takes_a_saved_document_with_appended_edits_in_one_message() {
        let mut server = document(400);
        let first = Saved::of(&mut server);
        server.put(ROOT, "after", 1).unwrap();
        server.commit();
        let saved = Saved::after(first, &mut server);
        assert!(saved.appended > 0);
        let mut peer = AutoCommit::new();
        let (mut ours, mut theirs) = (State::new(), State::new());
        let request = peer.sync().generate_sync_message(&mut theirs).unwrap();
        saved.receive(&mut ours, request).unwrap();
        let message = saved.generate(&mut ours).unwrap().expect("the document");
        assert_eq!(message.changes.len(), 1, "one message carries it all");
        peer.sync()
            .receive_sync_message(&mut theirs, message)
            .unwrap();
        assert_eq!(peer.get_heads(), server.get_heads());
        assert_eq!(peer.hydrate(ROOT, None), server.hydrate(ROOT, None));
    }

    #[test]
    fn a_peer_holding_nothing_is_sent_the_saved_bytes_as_the_loaded_document_would_send_them() {
        let mut server = document(5);
        let mut peer = AutoCommit::new();
        let (alone, handed) = both_ways(&mut server, &mut peer);
        assert!(alone >= 3, "request, document, acknowledgement: {alone}");
        assert_eq!(handed, 0, "never loaded");
    }

    #[test]
    fn a_peer_holding_everything_is_answered_as_the_loaded_document_would() {
        let mut server = document(3);
        let mut peer = server.fork();
        let (alone, handed) = both_ways(&mut server, &mut peer);
        assert!(alone >= 2);
        assert_eq!(handed, 0);
    }

    #[test]
    fn a_peer_holding_part_of_it_or_sending_changes_needs_the_loaded_document() {
        let mut server = document(3);
        let first = vec![server.get_changes(&[])[0].hash()];
        let mut behind = server.fork_at(&first).unwrap();
        let (_, handed) = both_ways(&mut server, &mut behind);
        assert!(handed > 0, "the changes it lacks come from the document");

        let mut server = document(3);
        let mut ahead = server.fork();
        ahead.put(ROOT, "new", 1).unwrap();
        ahead.commit();
        let (_, handed) = both_ways(&mut server, &mut ahead);
        assert!(handed > 0, "its change is applied to the document");
    }
}
