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
mod tests;
