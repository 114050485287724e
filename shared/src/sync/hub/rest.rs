//! Resting documents: a document its peers leave alone for [`HubConfig::rest_after_ms`] is
//! held as its saved bytes (the demo plan: 16 KB instead of about 130 KB in memory) and is
//! loaded again by the first thing that reads it. Only a document whose every change is
//! stored and sent rests, so resting changes nothing a peer or storage sees.

use super::*;
use crate::sync::saved::Saved;
use automerge::ActorId;

/// A document's automerge copy: awake in memory, or resting as its saved bytes.
#[derive(Debug)]
pub(super) struct Held {
    /// Boxed: an `AutoCommit` is over 4 KB itself, and a map's node holds room for eleven.
    doc: Box<AutoCommit>,
    resting: Option<Resting>,
    /// Its saved form when it last rested, if it grew from that since: resting again
    /// appends its new changes to it rather than saving it whole.
    last: Option<Saved>,
    /// Read since the hub last looked (its quiet time starts again).
    touched: bool,
    /// Why waking it failed: the hub forgets it at the end of the event.
    lost: Option<String>,
}

/// What a resting document keeps.
#[derive(Debug)]
struct Resting {
    saved: Saved,
    actor: ActorId,
}

impl Held {
    /// An awake document.
    pub(super) fn new(doc: AutoCommit) -> Self {
        Self {
            doc: Box::new(doc),
            resting: None,
            last: None,
            touched: true,
            lost: None,
        }
    }

    /// The document, loaded again first if it rests.
    pub(super) fn get(&mut self) -> &mut AutoCommit {
        self.touched = true;
        if let Some(resting) = self.resting.take() {
            match AutoCommit::load(resting.saved.bytes()) {
                Ok(doc) => {
                    *self.doc = doc.with_actor(resting.actor);
                    self.last = Some(resting.saved);
                }
                Err(e) => {
                    self.lost = Some(format!("its resting copy did not load again ({e})"));
                }
            }
        }
        &mut self.doc
    }

    /// The document if it is awake.
    pub(super) fn awake(&self) -> Option<&AutoCommit> {
        (self.resting.is_none() && self.lost.is_none()).then_some(&*self.doc)
    }

    /// Replaces the document (awake).
    pub(super) fn set(&mut self, doc: AutoCommit) {
        *self = Self::new(doc);
    }

    /// Whether it rests.
    pub(super) fn is_resting(&self) -> bool {
        self.resting.is_some()
    }

    /// What it keeps while it rests: enough to answer some sync messages unloaded.
    pub(super) fn saved(&self) -> Option<&Saved> {
        self.resting.as_ref().map(|r| &r.saved)
    }

    /// Its saved form as it is now: the one it rests as, or, awake, the last one made if
    /// nothing changed since, else a new one (appended to the last where it can be). Peers
    /// that hold nothing are all sent this one (automerge would save the whole document,
    /// compressing every column, for each of them), and resting soon after costs nothing.
    pub(super) fn saved_now(&mut self) -> &Saved {
        if let Some(resting) = &self.resting {
            return &resting.saved;
        }
        self.touched = true;
        let heads = self.doc.get_heads();
        if let Some(earlier) = self.last.take_if(|last| last.heads() != heads) {
            self.last = Some(Saved::after(earlier, &mut self.doc));
        }
        self.last.get_or_insert_with(|| Saved::of(&mut self.doc))
    }

    /// Whether waking it failed, and why.
    pub(super) fn lost(&self) -> Option<&str> {
        self.lost.as_deref()
    }

    /// Whether it was read since the last call (and forgets that it was).
    fn take_touched(&mut self) -> bool {
        std::mem::take(&mut self.touched)
    }

    /// Keeps only its saved bytes.
    fn rest(&mut self) {
        if self.resting.is_some() {
            return;
        }
        let saved = match self.last.take() {
            Some(earlier) => Saved::after(earlier, &mut self.doc),
            None => Saved::of(&mut self.doc),
        };
        let actor = self.doc.get_actor().clone();
        *self.doc = AutoCommit::new();
        self.resting = Some(Resting { saved, actor });
    }
}

impl Hub {
    /// After each event: documents read during it start their quiet time again, documents
    /// quiet for long enough rest, and documents that could not be woken are forgotten
    /// (storage has every change of theirs; their peers reconnect and load them afresh).
    pub(super) fn after_event(&mut self, out: &mut Vec<Effect>) {
        let now = self.now;
        let mut lost = Vec::new();
        for (doc, entry) in self.docs.iter_mut() {
            if entry.held.take_touched() {
                entry.used = now;
            }
            if let Some(reason) = entry.held.lost() {
                lost.push((*doc, reason.to_string()));
            }
        }
        for (doc, reason) in lost {
            self.dirty.remove(&doc);
            self.saving.retain(|_, d| *d != doc);
            if let Some(entry) = self.docs.remove(&doc) {
                for conn in entry.peers.keys() {
                    self.refuse(*conn, format!("the server could not read document {doc} back ({reason}); nothing was lost: reconnect to load it again"), "server error", out);
                }
            }
        }
        let Some(after) = self.config.rest_after_ms else {
            return;
        };
        let quiet: Vec<DocumentId> = self
            .docs
            .keys()
            .copied()
            .filter(|doc| self.may_rest(doc).is_some_and(|used| now >= used + after))
            .collect();
        for doc in quiet {
            if let Some(entry) = self.docs.get_mut(&doc) {
                entry.held.rest();
            }
        }
    }

    /// When a document may next rest (in the caller's milliseconds): the driver sends
    /// [`Event::Tick`] then. `None` when none may (none is quiet, or resting is off).
    pub fn next_rest(&self) -> Option<u64> {
        let after = self.config.rest_after_ms?;
        self.docs
            .keys()
            .filter_map(|doc| self.may_rest(doc))
            .map(|used| used + after)
            .min()
    }

    /// Documents nobody syncs rest at once, where they may ([`HubConfig::keep_unsynced`]).
    pub(super) fn rest_unsynced(&mut self) {
        let unsynced: Vec<DocumentId> = self
            .docs
            .iter()
            .filter(|(_, e)| e.peers.is_empty())
            .map(|(doc, _)| *doc)
            .filter(|doc| self.may_rest(doc).is_some())
            .collect();
        for doc in unsynced {
            if let Some(entry) = self.docs.get_mut(&doc) {
                entry.held.rest();
            }
        }
    }

    /// How many documents rest.
    pub fn resting(&self) -> usize {
        self.docs.values().filter(|e| e.held.is_resting()).count()
    }

    /// When a document that could rest now was last read: it is awake with content, every
    /// change of it is stored and sent, and nothing about it waits.
    fn may_rest(&self, doc: &DocumentId) -> Option<u64> {
        let entry = self.docs.get(doc)?;
        let quiet = entry.state == DocState::Ready
            && !entry.held.is_resting()
            && entry.saving == 0
            && entry.pending.is_empty()
            && entry.senders.is_empty()
            && !self.dirty.contains(doc)
            && !self.to_answer.iter().any(|(d, _)| d == doc)
            && !self.flow.involves(doc);
        quiet.then_some(entry.used)
    }
}
