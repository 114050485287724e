//! The sync core on a deterministic in-memory network: no sockets, no sleeps, no clock.

use super::*;
use crate::plan::PlanDoc;
use crate::{demo_plan, read_plan, TextField};
use automerge::sync::SyncDoc;
use automerge::AutoCommit;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::{HashMap, VecDeque};

mod access;
mod batching;
mod fixtures;
mod fuzz;
mod handshake;
mod presence;
mod relay;
mod rest;
mod storage;
mod sync;
mod typing;
mod wire;

use fixtures::*;

/// A node of the network: a hub, and its storage if it is a server.
struct Node {
    hub: Hub,
    storage: Option<HashMap<DocumentId, Vec<u8>>>,
    fail_persist: bool,
    changed: Vec<DocumentId>,
    unavailable: Vec<DocumentId>,
    ephemeral: Vec<(PeerId, Vec<u8>)>,
    errors: Vec<String>,
    sent: Vec<Message>,
    closed: Vec<ConnId>,
    /// Every persisted change and the connection it came from.
    authors: Vec<(automerge::ChangeHash, Option<ConnId>)>,
    /// Persists under way: stored when their completion is delivered, not before.
    saving: HashMap<PersistId, (DocumentId, Vec<u8>)>,
    /// What is durable without this node storing it: documents restored from its storage
    /// before the test, changes another node stored in a shared database.
    elsewhere: HashMap<DocumentId, Vec<u8>>,
    /// How many times it asked for a document from storage.
    loads: usize,
}

impl Node {
    /// Fails the test if this node advertises heads its storage does not hold yet: the
    /// harness sends every frame as soon as the core asks, as the drivers do, so the core
    /// alone must hold sync messages until their persists complete.
    fn assert_stored(&self, node: usize, m: &Message) {
        let (Some(storage), Message::Request(d) | Message::Sync(d)) = (&self.storage, m) else {
            return;
        };
        let heads = automerge::sync::Message::decode(&d.data)
            .expect("hub sends readable sync messages")
            .heads;
        if heads.is_empty() {
            return;
        }
        let bytes: Vec<u8> = [
            storage.get(&d.document_id),
            self.elsewhere.get(&d.document_id),
        ]
        .into_iter()
        .flatten()
        .flatten()
        .copied()
        .collect();
        let mut stored =
            (!bytes.is_empty()).then(|| AutoCommit::load(&bytes).expect("stored chunks load"));
        for h in heads {
            assert!(
                stored
                    .as_mut()
                    .is_some_and(|s| s.get_change_by_hash(&h).is_some()),
                "node {node} advertised change {h} of {} before its persist completed",
                d.document_id
            );
        }
    }

    /// Carries out what the harness delivers to this node's storage first: a completed
    /// persist's chunk, a restored document, changes another node stored.
    fn store_before(&mut self, event: &Event) {
        match event {
            Event::Persisted { ids, result } => {
                for id in ids {
                    if let (Some((doc, chunk)), Some(storage)) =
                        (self.saving.remove(id), self.storage.as_mut())
                    {
                        if result.is_ok() {
                            storage.entry(doc).or_default().extend_from_slice(&chunk);
                        }
                    }
                }
            }
            Event::Restore { doc, document } => self
                .elsewhere
                .entry(*doc)
                .or_default()
                .extend(document.as_ref().clone().save()),
            Event::Stored { doc, chunk } => self
                .elsewhere
                .entry(*doc)
                .or_default()
                .extend_from_slice(chunk),
            _ => {}
        }
    }
}

/// Nodes joined by links; messages are delivered in order, one at a time.
struct Net {
    nodes: Vec<Node>,
    links: Vec<((usize, ConnId), (usize, ConnId))>,
    queue: VecDeque<(usize, Event)>,
    now: u64,
    next_conn: u64,
    /// Sync messages sent under flow control and not yet reported written, per (node,
    /// connection, document): never more than one.
    in_transit: HashMap<(usize, ConnId, DocumentId), u32>,
    /// Connections whose reader has stopped: their written-out reports wait here.
    stalled: Vec<(usize, ConnId)>,
    parked: Vec<(usize, Event)>,
}

impl Net {
    fn new() -> Self {
        Self {
            nodes: Vec::new(),
            links: Vec::new(),
            queue: VecDeque::new(),
            now: 0,
            next_conn: 1,
            in_transit: HashMap::new(),
            stalled: Vec::new(),
            parked: Vec::new(),
        }
    }

    fn add(&mut self, config: HubConfig, seed: u64) -> usize {
        let storage = config.persist.then(HashMap::new);
        let hub = Hub::new(config, &mut StdRng::seed_from_u64(seed));
        self.nodes.push(Node {
            hub,
            storage,
            fail_persist: false,
            changed: vec![],
            unavailable: vec![],
            ephemeral: vec![],
            errors: vec![],
            sent: vec![],
            closed: vec![],
            authors: vec![],
            saving: HashMap::new(),
            elsewhere: HashMap::new(),
            loads: 0,
        });
        self.nodes.len() - 1
    }

    /// A server that trusts every peer (unguarded), as a partner's own relay might: the
    /// sync mechanics are tested on it; access is tested on [`Net::guarded_server`].
    fn server(&mut self) -> usize {
        let mut config = HubConfig::server(PeerId("server".into()), "server-storage".into());
        config.guarded = false;
        self.add(config, 0)
    }

    /// A server as Plansync runs it: it serves only granted documents.
    fn guarded_server(&mut self) -> usize {
        self.add(
            HubConfig::server(PeerId("server".into()), "server-storage".into()),
            0,
        )
    }

    fn client(&mut self, name: &str) -> usize {
        // Seeded by the name (FNV-1a), so no two clients share an automerge actor.
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        self.add(HubConfig::client(PeerId(name.into())), seed)
    }

    /// Connects `client` to `server`; returns the client's and the server's ConnId.
    fn connect(&mut self, client: usize, server: usize) -> (ConnId, ConnId) {
        let c = ConnId(self.next_conn);
        let s = ConnId(self.next_conn + 1);
        self.next_conn += 2;
        self.links.push(((client, c), (server, s)));
        self.queue.push_back((
            server,
            Event::Connected {
                conn: s,
                dialer: false,
            },
        ));
        self.queue.push_back((
            client,
            Event::Connected {
                conn: c,
                dialer: true,
            },
        ));
        (c, s)
    }

    fn other_end(&self, node: usize, conn: ConnId) -> Option<(usize, ConnId)> {
        self.links.iter().find_map(|(a, b)| {
            if *a == (node, conn) {
                Some(*b)
            } else if *b == (node, conn) {
                Some(*a)
            } else {
                None
            }
        })
    }

    fn disconnect(&mut self, node: usize, conn: ConnId) {
        if let Some(other) = self.other_end(node, conn) {
            self.links
                .retain(|(a, b)| *a != (node, conn) && *b != (node, conn));
            self.queue.push_back((node, Event::Disconnected { conn }));
            self.queue
                .push_back((other.0, Event::Disconnected { conn: other.1 }));
        }
    }

    fn event(&mut self, node: usize, event: Event) {
        self.queue.push_back((node, event));
        self.run_until_quiescent();
    }

    /// Delivers queued events until nothing is left (bounded: a livelock fails the test).
    fn run_until_quiescent(&mut self) {
        for _ in 0..100_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the network did not become quiescent");
    }

    /// Delivers the next queued event; `false` if none was left.
    fn step(&mut self) -> bool {
        {
            let Some((node, event)) = self.queue.pop_front() else {
                return false;
            };
            self.now += 1;
            if let Event::Delivered { conn, doc } = &event {
                if self.stalled.contains(&(node, *conn)) {
                    self.parked.push((node, event));
                    return true;
                }
                if let Some(n) = self.in_transit.get_mut(&(node, *conn, *doc)) {
                    *n -= 1;
                }
            }
            self.nodes[node].store_before(&event);
            // A batching server flushes whenever it has handled an event (its queue is
            // then empty in this harness, where events are delivered one at a time).
            let mut effects = self.nodes[node].hub.handle(self.now, event);
            effects.extend(self.nodes[node].hub.handle(self.now, Event::Flush));
            for effect in effects {
                match effect {
                    Effect::Send {
                        conn,
                        frame,
                        delivered,
                    } => {
                        // Written out once the peer has it (flow control).
                        if let Some(doc) = delivered {
                            let n = self.in_transit.entry((node, conn, doc)).or_default();
                            *n += 1;
                            assert_eq!(*n, 1, "one sync message in transit per peer and document");
                            self.queue.push_back((node, Event::Delivered { conn, doc }));
                        }
                        let m =
                            decode_message(&frame, usize::MAX).expect("hub sends decodable frames");
                        if let Message::Request(d) | Message::Sync(d) = &m {
                            assert!(!d.data.is_empty(), "never send empty data");
                        }
                        self.nodes[node].assert_stored(node, &m);
                        self.nodes[node].sent.push(m);
                        if let Some((other, oc)) = self.other_end(node, conn) {
                            self.queue
                                .push_back((other, Event::Received { conn: oc, frame }));
                        }
                    }
                    Effect::Close { conn, .. } => {
                        self.nodes[node].closed.push(conn);
                        self.disconnect(node, conn);
                    }
                    Effect::Load { doc } => {
                        self.nodes[node].loads += 1;
                        let data = self.nodes[node]
                            .storage
                            .as_ref()
                            .and_then(|s| s.get(&doc).cloned());
                        self.queue.push_front((
                            node,
                            Event::Loaded {
                                doc,
                                result: Ok(data),
                            },
                        ));
                    }
                    Effect::Persist {
                        id,
                        doc,
                        chunk,
                        changes,
                    } => {
                        // Completes after whatever is already queued: the core must hold
                        // its sync messages meanwhile.
                        let n = &mut self.nodes[node];
                        n.authors.extend(changes);
                        n.saving.insert(id, (doc, chunk));
                        let result = if n.fail_persist {
                            Err("disk full".to_string())
                        } else {
                            Ok(())
                        };
                        self.queue.push_back((
                            node,
                            Event::Persisted {
                                ids: vec![id],
                                result,
                            },
                        ));
                    }
                    Effect::Changed { doc } => self.nodes[node].changed.push(doc),
                    Effect::Unavailable { doc } => self.nodes[node].unavailable.push(doc),
                    Effect::Ephemeral { sender, data, .. } => {
                        self.nodes[node].ephemeral.push((sender, data))
                    }
                    Effect::Warn { message, .. } => self.nodes[node].errors.push(message),
                    // No hub of this network routes (routing is tested hub by hub).
                    Effect::Ready { .. } | Effect::Route { .. } => {}
                }
            }
        }
        true
    }

    fn plan(&mut self, node: usize, doc: &DocumentId) -> crate::Plan {
        PlanDoc::from_automerge(self.nodes[node].hub.document_mut(doc).unwrap().clone())
            .unwrap()
            .read()
            .unwrap()
    }

    fn edit(&mut self, node: usize, doc: DocumentId, f: impl FnOnce(&mut PlanDoc)) {
        self.change(node, doc, f);
        self.event(node, Event::LocalChange { doc });
    }

    /// Changes a node's copy of `doc` without telling its hub (the caller says when).
    fn change(&mut self, node: usize, doc: DocumentId, f: impl FnOnce(&mut PlanDoc)) {
        let d = self.nodes[node].hub.document_mut(&doc).unwrap();
        let mut p = PlanDoc::from_automerge(std::mem::take(d)).unwrap();
        f(&mut p);
        p.commit();
        *self.nodes[node].hub.document_mut(&doc).unwrap() = p.into_automerge();
    }
}
