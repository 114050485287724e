//! Flow control of sync messages: at most one message per (document, connection) waits to
//! be written, and all waiting messages together stay under a byte budget.
//!
//! A sync message is made from the document as it is when it is made, so a peer that
//! reads slowly loses nothing by being sent fewer messages: the one it is owed once its
//! last message is written carries every change since. Memory then follows the number of
//! peers, not how far behind they are, and a busy plan makes one message per peer per
//! round instead of one per change.

use super::wire::{ConnId, DocumentId};
use std::collections::{HashMap, HashSet, VecDeque};

/// A document and a connection syncing it.
pub(crate) type Key = (DocumentId, ConnId);

/// Which sync messages are written out, and who is owed one.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    /// Messages handed to the transport and not yet written, with their sizes.
    in_transit: HashMap<Key, usize>,
    in_transit_bytes: usize,
    /// Peers owed a message once their own message in transit is written.
    owed: HashSet<Key>,
    /// Peers owed a message once the budget allows, oldest first (entries no longer in
    /// `waiting` are stale and skipped).
    queue: VecDeque<Key>,
    waiting: HashSet<Key>,
}

impl Flow {
    /// Whether a message may be made for `key` now (with `budget` bytes for all messages in
    /// transit); if not, `key` is noted as owed one.
    pub(crate) fn may_send(&mut self, key: Key, budget: usize) -> bool {
        if self.in_transit.contains_key(&key) {
            self.owed.insert(key);
            return false;
        }
        if self.full(budget) {
            if self.waiting.insert(key) {
                self.queue.push_back(key);
            }
            return false;
        }
        self.waiting.remove(&key);
        true
    }

    /// A message of `bytes` for `key` was handed to the transport.
    pub(crate) fn sent(&mut self, key: Key, bytes: usize) {
        if let Some(old) = self.in_transit.insert(key, bytes) {
            self.in_transit_bytes -= old;
        }
        self.in_transit_bytes += bytes;
    }

    /// The message for `key` was written; true if `key` is owed another.
    pub(crate) fn delivered(&mut self, key: Key) -> bool {
        if let Some(bytes) = self.in_transit.remove(&key) {
            self.in_transit_bytes -= bytes;
        }
        self.owed.remove(&key)
    }

    /// Whether a peer of `doc` is owed a message (once its last is written or the budget
    /// has room).
    pub(crate) fn involves(&self, doc: &DocumentId) -> bool {
        self.owed.iter().chain(&self.waiting).any(|(d, _)| d == doc)
    }

    /// Forgets a closed connection and the bytes it had in transit.
    pub(crate) fn forget(&mut self, conn: ConnId) {
        let mut freed = 0;
        self.in_transit.retain(|(_, c), bytes| {
            let keep = *c != conn;
            if !keep {
                freed += *bytes;
            }
            keep
        });
        self.in_transit_bytes -= freed;
        self.owed.retain(|(_, c)| *c != conn);
        self.waiting.retain(|(_, c)| *c != conn);
    }

    /// The peer that has waited longest for the budget, if the budget has room now.
    pub(crate) fn next_waiting(&mut self, budget: usize) -> Option<Key> {
        if self.full(budget) {
            return None;
        }
        while let Some(key) = self.queue.pop_front() {
            if self.waiting.remove(&key) {
                return Some(key);
            }
        }
        None
    }

    /// Whether the messages in transit use the budget up (with nothing in transit, one
    /// message goes however large, so there is always progress).
    fn full(&self, budget: usize) -> bool {
        self.in_transit_bytes >= budget && !self.in_transit.is_empty()
    }

    /// Bytes of sync messages handed to the transport and not yet written.
    #[cfg(test)]
    pub(crate) fn in_transit_bytes(&self) -> usize {
        self.in_transit_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> Key {
        (DocumentId([7; 16]), ConnId(n))
    }

    #[test]
    fn a_second_message_waits_until_the_first_is_written_and_is_then_owed_once() {
        let mut f = Flow::default();
        assert!(f.may_send(key(1), 100));
        f.sent(key(1), 10);
        assert!(!f.may_send(key(1), 100), "one message in transit per peer");
        assert!(!f.may_send(key(1), 100));
        assert!(f.delivered(key(1)), "owed one");
        assert!(!f.delivered(key(1)), "once, not twice");
        assert_eq!(f.in_transit_bytes(), 0);
    }

    #[test]
    fn peers_past_the_budget_wait_in_order_and_a_closed_connection_frees_its_bytes() {
        let mut f = Flow::default();
        assert!(f.may_send(key(1), 100));
        f.sent(key(1), 150);
        assert!(!f.may_send(key(2), 100));
        assert!(!f.may_send(key(3), 100));
        assert!(!f.may_send(key(2), 100));
        assert_eq!(f.next_waiting(100), None, "the budget is used up");
        f.forget(ConnId(1));
        assert_eq!(f.in_transit_bytes(), 0);
        assert_eq!(f.next_waiting(100), Some(key(2)), "oldest first, once");
        assert!(f.may_send(key(2), 100));
        f.sent(key(2), 100);
        assert_eq!(f.next_waiting(100), None);
        assert!(!f.delivered(key(2)));
        assert_eq!(f.next_waiting(100), Some(key(3)));
        assert_eq!(f.next_waiting(100), None);
    }
}
