//! Receiving a peer's sync message, and knowing when there is nothing to answer it, at a
//! cost that follows what changed rather than the document's whole history.
//!
//! automerge's `receive_sync_message` finds which changes it sent a peer are still missing
//! there by visiting every ancestor of the peer's heads: the plan's whole history, for
//! every message, even a bare acknowledgement. With 500 peers on one plan that walk was
//! most of the server's CPU. [`receive`] makes the same update to the sync state, but
//! finds those changes from the version clock (`get_changes_meta`), which costs what was
//! added after the peer's heads. [`nothing_to_send`] answers, without building a message,
//! the case where `generate_sync_message` would return `None` after building one: the
//! peer has said it holds exactly our heads and we have told it so.
//!
//! Both follow automerge 0.12's `sync.rs`; the tests compare them with it step by step.

use automerge::sync::SyncDoc;
use automerge::sync::{self, Capability, MessageFlags, State};
use automerge::{AutoCommit, AutomergeError, ChangeHash};
use std::collections::{BTreeSet, HashSet};

/// Applies a sync message from a peer to `doc` and to the peer's `state`, as
/// `SyncDoc::receive_sync_message` does.
pub(crate) fn receive(
    doc: &mut AutoCommit,
    state: &mut State,
    message: sync::Message,
) -> Result<(), AutomergeError> {
    state.in_flight = false;
    let before_heads = doc.get_heads();
    let sync::Message {
        heads,
        need,
        have,
        changes,
        flags,
        ..
    } = message;
    note_flags(state, flags);
    let changes_is_empty = changes.is_empty();
    if !changes_is_empty && !state.read_only {
        let joined: Vec<u8> = changes.iter().flatten().copied().collect();
        doc.load_incremental(&joined)?;
        let after = doc.get_heads();
        state.shared_heads = advance_heads(&before_heads, &after, &state.shared_heads);
    }
    let known: Vec<ChangeHash> = heads
        .iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .copied()
        .collect();
    forget_sent_before(doc, &known, &mut state.sent_hashes);
    if changes_is_empty && heads == before_heads {
        state.last_sent_heads.clone_from(&heads);
    }
    note_theirs(state, heads, &known, have, need);
    Ok(())
}

/// What a message's flags say of the peer: it takes version 2 messages, maybe resets.
pub(crate) fn note_flags(state: &mut State, flags: Option<MessageFlags>) {
    if let Some(flags) = flags {
        // A peer that sends flags supports version 2 messages.
        let mut caps = vec![Capability::MessageV2];
        if flags.contains(MessageFlags::SUPPORTS_SYNC_RESET) {
            caps.push(Capability::SyncReset);
        }
        state.their_capabilities = Some(caps);
        if flags.contains(MessageFlags::SYNC_RESET) {
            state.sent_hashes.clear();
        }
        state.peer_read_only = flags.contains(MessageFlags::READ_ONLY);
    }
}

/// The peer's heads (`known`: those we hold), `have` and `need`, and the heads we share.
pub(crate) fn note_theirs(
    state: &mut State,
    heads: Vec<ChangeHash>,
    known: &[ChangeHash],
    have: Vec<sync::Have>,
    need: Vec<ChangeHash>,
) {
    if known.len() == heads.len() {
        state.shared_heads.clone_from(&heads);
        // A peer that lost all its data: start again from nothing.
        if heads.is_empty() {
            state.last_sent_heads = Vec::new();
            state.sent_hashes = BTreeSet::new();
        }
    } else {
        let mut shared: Vec<ChangeHash> = state.shared_heads.iter().chain(known).copied().collect();
        shared.sort();
        shared.dedup();
        state.shared_heads = shared;
    }
    state.their_have = Some(have);
    state.their_heads = Some(heads);
    state.their_need = Some(need);
}

/// The next sync message for a peer, as `generate_sync_message` makes it, except that a
/// peer already holding part of the document is sent the changes it lacks, never the whole
/// document. (automerge sends the whole document, saved and compressed, whenever the changes
/// to send are more than a third of the document's count: on a plan made in a few large
/// changes that is every message for a while, a full save per peer per edit.) A peer holding
/// nothing is still sent the whole document at once.
///
/// A peer whose heads we all hold lacks exactly the changes after them, so those are what it
/// is sent: automerge would instead test each change since the heads we last shared against
/// the peer's bloom filter, and a false positive (about one in a hundred) leaves a change
/// the peer lacks unsent, which it then asks for in another round trip (and, while it lacks
/// it, names in every message).
pub(crate) fn generate(doc: &mut AutoCommit, state: &mut State) -> Option<sync::Message> {
    let holds_some = state.their_heads.as_ref().is_some_and(|h| !h.is_empty());
    let hidden = if holds_some {
        state.their_capabilities.take()
    } else {
        None
    };
    let exact = state.their_have.is_some()
        && state.their_heads.as_ref().is_some_and(|heads| {
            !heads.is_empty()
                && heads
                    .iter()
                    .all(|h| doc.get_change_meta_by_hash(h).is_some())
        });
    let kept_have = if exact {
        let last_sync = state.their_heads.clone().unwrap_or_default();
        state.their_have.replace(vec![sync::Have {
            last_sync,
            bloom: sync::BloomFilter::default(),
        }])
    } else {
        None
    };
    let message = doc.sync().generate_sync_message(state);
    if exact {
        state.their_have = kept_have;
    }
    if hidden.is_some() {
        state.their_capabilities = hidden;
    }
    if !holds_some && message.as_ref().is_some_and(|m| !m.changes.is_empty()) {
        // The peer's answer to the document gets one more message, with our heads: its
        // sync state then knows it is in step with us (it has nothing in flight), as the
        // reference sync server's clients do after their first sync.
        state.have_responded = false;
    }
    message
}

/// Cuts a message [`generate`]d while some of our changes are not stored yet down to what
/// is: only changes that `stored` (our stored heads) includes, and `stored` as our heads;
/// the peer's `state` forgets having sent the rest, so they go in a later message. `None`
/// (and `state` as it was, `before`) when the message carries the whole document, which
/// cannot be cut, or when it would tell the peer nothing new.
pub(crate) fn only_stored(
    doc: &mut AutoCommit,
    state: &mut State,
    before: State,
    message: sync::Message,
    stored: &[ChangeHash],
) -> Option<sync::Message> {
    let unstored: HashSet<ChangeHash> = doc.get_changes(stored).iter().map(|c| c.hash()).collect();
    let mut kept = Vec::new();
    for chunk in message.changes.iter() {
        match automerge::Change::try_from(chunk) {
            Ok(c) if unstored.contains(&c.hash()) => {}
            Ok(_) => kept.push(chunk.to_vec()),
            Err(_) => {
                *state = before;
                return None;
            }
        }
    }
    if kept.is_empty() && before.have_responded && before.last_sent_heads == stored {
        *state = before;
        return None;
    }
    state.sent_hashes.retain(|h| !unstored.contains(h));
    state.last_sent_heads = stored.to_vec();
    let heads = if message.heads.is_empty() {
        Vec::new()
    } else {
        stored.to_vec()
    };
    Some(sync::Message {
        heads,
        changes: kept.into(),
        ..message
    })
}

/// True when `generate_sync_message` would return `None` for this peer: we have answered
/// it before, it holds exactly our heads, we told it those heads, it needs nothing, and no
/// reset is due. (It then holds every change we have, so nothing is left to send.)
pub(crate) fn nothing_to_send(doc: &mut AutoCommit, state: &State) -> bool {
    nothing_to_send_at(&doc.get_heads(), state)
}

/// [`nothing_to_send`] for a document whose heads are `ours`.
pub(crate) fn nothing_to_send_at(ours: &[ChangeHash], state: &State) -> bool {
    if !state.have_responded || state.needs_reset {
        return false;
    }
    if !state.their_need.as_ref().is_none_or(Vec::is_empty) {
        return false;
    }
    !ours.is_empty() && state.last_sent_heads == ours && state.their_heads.as_deref() == Some(ours)
}

/// Drops from `sent` the changes that `heads` (all held by `doc`) already include.
fn forget_sent_before(doc: &mut AutoCommit, heads: &[ChangeHash], sent: &mut BTreeSet<ChangeHash>) {
    if sent.is_empty() || heads.is_empty() {
        return;
    }
    let mut ours = doc.get_heads();
    let mut theirs = heads.to_vec();
    ours.sort();
    theirs.sort();
    theirs.dedup();
    if ours == theirs {
        // Every change sent came from `doc`, so all are ancestors of its heads.
        sent.clear();
        return;
    }
    let after: HashSet<ChangeHash> = doc
        .get_changes_meta(heads)
        .into_iter()
        .map(|m| m.hash)
        .collect();
    sent.retain(|h| after.contains(h));
}

/// Our new heads and the shared heads we still hold, as automerge's `advance_heads`.
fn advance_heads(
    old_heads: &[ChangeHash],
    new_heads: &[ChangeHash],
    old_shared: &[ChangeHash],
) -> Vec<ChangeHash> {
    let old: HashSet<&ChangeHash> = old_heads.iter().collect();
    let new: HashSet<&ChangeHash> = new_heads.iter().collect();
    let mut heads: Vec<ChangeHash> = new_heads
        .iter()
        .filter(|h| !old.contains(h))
        .chain(old_shared.iter().filter(|h| new.contains(h)))
        .copied()
        .collect();
    heads.sort();
    heads.dedup();
    heads
}

/// How many changes `doc` has beyond a peer's `heads` (hashes `doc` does not hold are
/// ignored): what that peer still lacks. The app counts its changes the server has not got
/// with it; a relay, those its upstream has not got.
pub fn changes_beyond(doc: &mut AutoCommit, heads: &[automerge::ChangeHash]) -> usize {
    if doc.get_heads() == heads {
        return 0;
    }
    let known: Vec<automerge::ChangeHash> = heads
        .iter()
        .filter(|h| doc.get_change_by_hash(h).is_some())
        .copied()
        .collect();
    doc.get_changes(&known).len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::{CommitOptions, Transactable};
    use automerge::ROOT;
    use proptest::prelude::*;

    /// One step of a random session between two peers.
    #[derive(Debug, Clone)]
    enum Step {
        /// Peer `0` or `1` edits its document.
        Edit(usize, u8),
        /// Peer `from` sends its next message to the other, which receives it.
        Deliver(usize),
        /// The message peer `from` would send is lost.
        Drop(usize),
        /// Peer 1 loses its sync state (a reconnect).
        Reconnect,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..2usize, any::<u8>()).prop_map(|(p, v)| Step::Edit(p, v)),
            (0..2usize).prop_map(Step::Deliver),
            (0..2usize).prop_map(Step::Drop),
            Just(Step::Reconnect),
        ]
    }

    fn edit(doc: &mut AutoCommit, v: u8) {
        doc.put(ROOT, format!("k{}", v % 7), i64::from(v)).unwrap();
        // A fixed time, so that the same edit on two copies makes the same change.
        doc.commit_with(CommitOptions::default().with_time(0));
    }

    /// Peer 0 receives with automerge (its copy `a`) and with [`receive`] (its copy `b`),
    /// which must agree on the document and the sync state after every step.
    fn run(steps: &[Step]) -> Result<(), TestCaseError> {
        let mut a = AutoCommit::new();
        edit(&mut a, 0);
        let mut b = a.fork().with_actor(a.get_actor().clone());
        let mut peer = a.fork();
        let (mut sa, mut sb) = (State::new(), State::new());
        let mut sp = State::new();
        for s in steps {
            match s {
                Step::Edit(0, v) => {
                    // The same edit with the same actor on both copies: same change.
                    edit(&mut a, *v);
                    edit(&mut b, *v);
                }
                Step::Edit(_, v) => edit(&mut peer, *v),
                Step::Deliver(0) | Step::Drop(0) => {
                    let ma = a.sync().generate_sync_message(&mut sa);
                    let mb = b.sync().generate_sync_message(&mut sb);
                    prop_assert_eq!(
                        ma.as_ref().map(|m| m.clone().encode()),
                        mb.map(|m| m.encode())
                    );
                    if let (Some(m), Step::Deliver(_)) = (ma, s) {
                        peer.sync().receive_sync_message(&mut sp, m).unwrap();
                    }
                }
                Step::Deliver(_) | Step::Drop(_) => {
                    let Some(m) = peer.sync().generate_sync_message(&mut sp) else {
                        continue;
                    };
                    if matches!(s, Step::Deliver(_)) {
                        a.sync().receive_sync_message(&mut sa, m.clone()).unwrap();
                        receive(&mut b, &mut sb, m).unwrap();
                    }
                }
                Step::Reconnect => sp = State::new(),
            }
            prop_assert_eq!(a.get_heads(), b.get_heads());
            prop_assert_eq!(&sa, &sb);
            if nothing_to_send(&mut a, &sa) {
                prop_assert!(a.sync().generate_sync_message(&mut sa.clone()).is_none());
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn receive_updates_the_sync_state_exactly_as_automerge_does(steps in proptest::collection::vec(step(), 1..60)) {
            run(&steps)?;
        }
    }

    #[test]
    fn a_peer_holding_part_of_a_young_document_is_sent_changes_not_the_whole_document() {
        // A plan made in one large change, then small edits: each edit is a third or more
        // of the document's changes, where automerge would send everything.
        let mut server = AutoCommit::new();
        // Text that does not compress away: the whole document is then clearly larger.
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let text: String = (0..20_000)
            .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
            .collect();
        server.put(ROOT, "plan", text).unwrap();
        server.commit();
        let mut client = AutoCommit::new();
        let (mut ss, mut sc) = (State::new(), State::new());
        let mut largest = 0;
        for _ in 0..4 {
            if let Some(m) = generate(&mut server, &mut ss) {
                largest = largest.max(m.clone().encode().len());
                client.sync().receive_sync_message(&mut sc, m).unwrap();
            }
            if let Some(m) = client.sync().generate_sync_message(&mut sc) {
                receive(&mut server, &mut ss, m).unwrap();
            }
        }
        assert!(largest > 1_000, "a peer with nothing gets the document");
        edit(&mut server, 1);
        edit(&mut server, 2);
        let m = generate(&mut server, &mut ss).expect("the edits are sent");
        let size = m.clone().encode().len();
        assert!(
            size < 1_000,
            "two small changes, not the document: {size} bytes"
        );
        client.sync().receive_sync_message(&mut sc, m).unwrap();
        assert_eq!(client.get_heads(), server.get_heads());
        assert!(
            ss.their_capabilities.is_some(),
            "the peer's capabilities are kept"
        );
    }

    #[test]
    fn a_peer_whose_heads_we_hold_is_sent_what_it_lacks_even_when_its_bloom_filter_claims_it() {
        // Both hold the same edit; the server then makes two more the client lacks.
        let mut server = AutoCommit::new();
        edit(&mut server, 1);
        let mut client = server.fork();
        let (mut ss, mut sc) = (State::new(), State::new());
        let shared = client.get_heads();
        edit(&mut server, 2);
        edit(&mut server, 3);
        let lacking: Vec<ChangeHash> = server
            .get_changes(&shared)
            .iter()
            .map(|c| c.hash())
            .collect();
        assert_eq!(lacking.len(), 2);
        // The client's message: its heads, and a bloom filter that matches the server's
        // new changes (as false positives do, each about one time in a hundred).
        sc.shared_heads = shared.clone();
        let mut m = client
            .sync()
            .generate_sync_message(&mut sc)
            .expect("the client speaks first");
        m.have = vec![sync::Have {
            last_sync: shared,
            bloom: sync::BloomFilter::from_hashes(lacking.iter()),
        }];
        receive(&mut server, &mut ss, m).unwrap();
        let answer = generate(&mut server, &mut ss).expect("the server answers");
        client.sync().receive_sync_message(&mut sc, answer).unwrap();
        assert_eq!(
            client.get_heads(),
            server.get_heads(),
            "one message brings both changes"
        );
        assert_eq!(
            ss.their_have.as_ref().map(|h| h[0].bloom.to_bytes()),
            Some(sync::BloomFilter::from_hashes(lacking.iter()).to_bytes()),
            "the peer's own have is kept in its state"
        );
    }

    #[test]
    fn an_acknowledgement_of_everything_sent_clears_the_sent_changes() {
        let mut server = AutoCommit::new();
        edit(&mut server, 1);
        let mut client = AutoCommit::new();
        let (mut ss, mut sc) = (State::new(), State::new());
        for _ in 0..4 {
            if let Some(m) = server.sync().generate_sync_message(&mut ss) {
                client.sync().receive_sync_message(&mut sc, m).unwrap();
            }
            if let Some(m) = client.sync().generate_sync_message(&mut sc) {
                receive(&mut server, &mut ss, m).unwrap();
            }
        }
        assert_eq!(client.get_heads(), server.get_heads());
        assert!(ss.sent_hashes.is_empty());
        assert!(nothing_to_send(&mut server, &ss));
        edit(&mut server, 2);
        assert!(
            !nothing_to_send(&mut server, &ss),
            "a new change is to be sent"
        );
    }

    #[test]
    fn a_peer_sent_the_whole_document_is_answered_once_more_with_our_heads_and_then_left_alone() {
        let mut server = AutoCommit::new();
        edit(&mut server, 1);
        let mut client = AutoCommit::new();
        let (mut ss, mut sc) = (State::new(), State::new());
        let ask = client
            .sync()
            .generate_sync_message(&mut sc)
            .expect("a request");
        receive(&mut server, &mut ss, ask).unwrap();
        let whole = generate(&mut server, &mut ss).expect("the document");
        assert!(!whole.changes.is_empty());
        client.sync().receive_sync_message(&mut sc, whole).unwrap();
        let ack = client
            .sync()
            .generate_sync_message(&mut sc)
            .expect("its acknowledgement");
        assert!(
            sc.in_flight,
            "the client waits for our answer to its acknowledgement"
        );
        receive(&mut server, &mut ss, ack).unwrap();
        assert!(!nothing_to_send(&mut server, &ss));
        let heads = generate(&mut server, &mut ss).expect("our heads, once more");
        assert!(heads.changes.is_empty());
        assert_eq!(heads.heads, server.get_heads());
        client.sync().receive_sync_message(&mut sc, heads).unwrap();
        assert!(!sc.in_flight, "the client is in step with us");
        assert!(client.sync().generate_sync_message(&mut sc).is_none());
        assert!(
            nothing_to_send(&mut server, &ss),
            "and then there is nothing more"
        );
    }
}
