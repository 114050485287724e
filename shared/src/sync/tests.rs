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

// ---------------------------------------------------------------- wire

#[test]
fn js_style_frame_with_map16_headers_and_undefined_decodes() {
    // {type:"join", senderId:"peer-a", peerMetadata:{storageId:undefined, isEphemeral:true},
    //  supportedProtocolVersions:["1"]} as cbor-x writes it.
    let mut f = vec![0xb9, 0x00, 0x04];
    let text = |f: &mut Vec<u8>, s: &str| {
        f.push(0x60 + s.len() as u8);
        f.extend_from_slice(s.as_bytes());
    };
    text(&mut f, "type");
    text(&mut f, "join");
    text(&mut f, "senderId");
    text(&mut f, "peer-a");
    text(&mut f, "peerMetadata");
    f.extend_from_slice(&[0xb9, 0x00, 0x02]);
    text(&mut f, "storageId");
    f.push(0xf7);
    text(&mut f, "isEphemeral");
    f.push(0xf5);
    f.push(0x78);
    f.push(25);
    f.extend_from_slice(b"supportedProtocolVersions");
    f.push(0x81);
    text(&mut f, "1");
    let m = decode_message(&f, 1 << 20).unwrap();
    assert_eq!(
        m,
        Message::Join {
            sender_id: PeerId("peer-a".into()),
            peer_metadata: PeerMetadata {
                storage_id: None,
                is_ephemeral: Some(true)
            },
            supported_protocol_versions: Some(vec!["1".into()]),
        }
    );
}

#[test]
fn document_ids_are_bs58check_of_sixteen_bytes() {
    let id: DocumentId = "4J8e54NPatzR4ErK83keqZhXAT9y".parse().unwrap();
    assert_eq!(id.to_string(), "4J8e54NPatzR4ErK83keqZhXAT9y");
    assert_eq!(
        DocumentId::from_url("automerge:4J8e54NPatzR4ErK83keqZhXAT9y#abc").unwrap(),
        id
    );
    assert!(
        "4J8e54NPatzR4ErK83keqZhXAT9z"
            .parse::<DocumentId>()
            .is_err(),
        "checksum must be checked"
    );
    assert!("not-base58-0OIl".parse::<DocumentId>().is_err());
}

#[test]
fn every_message_round_trips_through_cbor() {
    let doc: DocumentId = "4J8e54NPatzR4ErK83keqZhXAT9y".parse().unwrap();
    let p = |s: &str| PeerId(s.into());
    let dm = DocMessage {
        sender_id: p("a"),
        target_id: p("b"),
        document_id: doc,
        data: vec![0x42, 1, 2],
    };
    for m in [
        Message::Join {
            sender_id: p("a"),
            peer_metadata: PeerMetadata {
                storage_id: Some("s".into()),
                is_ephemeral: Some(false),
            },
            supported_protocol_versions: Some(vec!["1".into()]),
        },
        Message::Peer {
            sender_id: p("s"),
            target_id: p("a"),
            peer_metadata: PeerMetadata::default(),
            selected_protocol_version: "1".into(),
        },
        Message::Error {
            sender_id: Some(p("s")),
            target_id: None,
            message: "boom".into(),
        },
        Message::Request(dm.clone()),
        Message::Sync(dm),
        Message::DocUnavailable {
            sender_id: p("s"),
            target_id: p("a"),
            document_id: doc,
        },
        Message::Ephemeral(Ephemeral {
            sender_id: p("a"),
            target_id: p("b"),
            count: 7,
            session_id: "x".into(),
            document_id: doc,
            data: vec![0xa0],
        }),
        Message::RemoteHeadsChanged {
            sender_id: p("a"),
            document_id: doc,
        },
    ] {
        assert_eq!(decode_message(&encode_message(&m), 1 << 20).unwrap(), m);
    }
}

#[test]
fn tagged_bytes_are_accepted_and_unknown_types_decode_as_unknown() {
    use ciborium::Value;
    let v = Value::Map(vec![
        (Value::Text("type".into()), Value::Text("sync".into())),
        (Value::Text("senderId".into()), Value::Text("a".into())),
        (Value::Text("targetId".into()), Value::Text("b".into())),
        (
            Value::Text("documentId".into()),
            Value::Text("4J8e54NPatzR4ErK83keqZhXAT9y".into()),
        ),
        (
            Value::Text("data".into()),
            Value::Tag(64, Box::new(Value::Bytes(vec![1, 2]))),
        ),
    ]);
    let mut f = Vec::new();
    ciborium::ser::into_writer(&v, &mut f).unwrap();
    assert!(matches!(decode_message(&f, 1024).unwrap(), Message::Sync(m) if m.data == vec![1, 2]));
    let unknown = Value::Map(vec![(
        Value::Text("type".into()),
        Value::Text("future-thing".into()),
    )]);
    let mut f = Vec::new();
    ciborium::ser::into_writer(&unknown, &mut f).unwrap();
    assert_eq!(
        decode_message(&f, 1024).unwrap(),
        Message::Unknown {
            kind: "future-thing".into()
        }
    );
}

#[test]
fn malformed_truncated_oversized_and_deeply_nested_frames_return_errors_not_panics() {
    assert!(matches!(
        decode_message(&[0xff, 0x00], 1024),
        Err(WireError::Cbor(_))
    ));
    assert!(matches!(
        decode_message(&[0x83, 0x01], 1024),
        Err(WireError::Cbor(_))
    ));
    assert!(matches!(
        decode_message(&[0x01], 1024),
        Err(WireError::NotAMessage)
    ));
    assert!(matches!(
        decode_message(&[0u8; 2048], 1024),
        Err(WireError::TooLarge {
            size: 2048,
            limit: 1024
        })
    ));
    let deep = vec![0x81u8; 100_000];
    assert!(decode_message(&deep, 1 << 20).is_err());
    let m = Message::Sync(DocMessage {
        sender_id: PeerId("a".into()),
        target_id: PeerId("b".into()),
        document_id: DocumentId([0; 16]),
        data: vec![],
    });
    let mut f = encode_message(&m);
    f.truncate(f.len() - 3);
    assert!(decode_message(&f, 1024).is_err());
}

proptest! {
    #[test]
    fn fuzz_arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_message(&bytes, 1 << 20);
    }
}

// ---------------------------------------------------------------- in-memory network

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
            let Some((node, event)) = self.queue.pop_front() else {
                return;
            };
            self.now += 1;
            if let Event::Delivered { conn, doc } = &event {
                if self.stalled.contains(&(node, *conn)) {
                    self.parked.push((node, event));
                    continue;
                }
                if let Some(n) = self.in_transit.get_mut(&(node, *conn, *doc)) {
                    *n -= 1;
                }
            }
            // A batching server flushes whenever it has handled an event (its queue is
            // then empty in this harness, where events are delivered one at a time).
            let mut effects = self.nodes[node].hub.handle(self.now, event);
            effects.extend(self.nodes[node].hub.handle(self.now, Event::Flush));
            let mut skip_sends = false;
            for effect in effects {
                match effect {
                    Effect::Send {
                        conn,
                        frame,
                        delivered,
                    } => {
                        if skip_sends {
                            continue;
                        }
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
                        doc,
                        chunk,
                        changes,
                    } => {
                        let n = &mut self.nodes[node];
                        n.authors.extend(changes);
                        if n.fail_persist {
                            skip_sends = true;
                            self.queue.push_front((
                                node,
                                Event::PersistFailed {
                                    doc,
                                    reason: "disk full".into(),
                                },
                            ));
                        } else if let Some(s) = n.storage.as_mut() {
                            s.entry(doc).or_default().extend_from_slice(&chunk);
                        }
                    }
                    Effect::Changed { doc } => self.nodes[node].changed.push(doc),
                    Effect::Unavailable { doc } => self.nodes[node].unavailable.push(doc),
                    Effect::Ephemeral { sender, data, .. } => {
                        self.nodes[node].ephemeral.push((sender, data))
                    }
                    Effect::Warn { message, .. } => self.nodes[node].errors.push(message),
                    Effect::Ready { .. } => {}
                }
            }
        }
        panic!("the network did not become quiescent");
    }

    fn plan(&self, node: usize, doc: &DocumentId) -> crate::Plan {
        PlanDoc::from_automerge(self.nodes[node].hub.document(doc).unwrap().clone())
            .unwrap()
            .read()
            .unwrap()
    }

    fn edit(&mut self, node: usize, doc: DocumentId, f: impl FnOnce(&mut PlanDoc)) {
        let d = self.nodes[node].hub.document_mut(&doc).unwrap();
        let mut p = PlanDoc::from_automerge(std::mem::take(d)).unwrap();
        f(&mut p);
        p.commit();
        *self.nodes[node].hub.document_mut(&doc).unwrap() = p.into_automerge();
        self.event(node, Event::LocalChange { doc });
    }
}

fn demo() -> (DocumentId, AutoCommit) {
    let mut r = StdRng::seed_from_u64(42);
    let plan = demo_plan(&mut r).unwrap();
    (DocumentId::random(&mut r), plan.into_automerge())
}

fn first_action(plan: &crate::Plan) -> crate::ActionId {
    plan.themes[0].objectives[0].actions[0].id.clone()
}

#[test]
fn two_clients_edit_one_plan_concurrently_through_a_server_and_converge() {
    let mut net = Net::new();
    let s = net.server();
    let a = net.client("alice-laptop");
    let b = net.client("bob-tablet");
    net.connect(a, s);
    net.connect(b, s);
    net.run_until_quiescent();
    let (doc, d) = demo();
    net.event(
        a,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    net.event(b, Event::Find { doc });
    let act = first_action(&net.plan(b, &doc));
    assert_eq!(net.plan(a, &doc), net.plan(b, &doc));

    // Concurrent edits: queue both before delivering anything.
    let field = TextField::ActionTitle(act.clone());
    for (node, pos, text) in [(a, 0usize, "[A] "), (b, 5usize, "[B] ")] {
        let d = net.nodes[node].hub.document_mut(&doc).unwrap();
        let mut p = PlanDoc::from_automerge(std::mem::take(d)).unwrap();
        p.splice_text(&field, pos, 0, text).unwrap();
        p.commit();
        *net.nodes[node].hub.document_mut(&doc).unwrap() = p.into_automerge();
        net.queue.push_back((node, Event::LocalChange { doc }));
    }
    net.run_until_quiescent();
    let pa = net.plan(a, &doc);
    assert_eq!(pa, net.plan(b, &doc));
    assert_eq!(pa, net.plan(s, &doc));
    let title = &pa.themes[0].objectives[0].actions[0].title;
    assert!(title.contains("[A] ") && title.contains("[B] "), "{title}");
    // The server's storage alone reproduces what everyone sees.
    let stored = net.nodes[s].storage.as_ref().unwrap()[&doc].clone();
    let reloaded = PlanDoc::from_automerge(AutoCommit::load(&stored).unwrap()).unwrap();
    assert_eq!(reloaded.read().unwrap(), pa);
}

#[test]
fn server_persists_before_it_sends_any_heads_that_include_a_change() {
    let mut net = Net::new();
    let s = net.server();
    let a = net.client("a");
    let (_, sc) = net.connect(a, s);
    net.run_until_quiescent();
    let (doc, d) = demo();
    net.event(
        a,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    // Feed the server a fresh change directly and inspect the order of its effects.
    let act = first_action(&net.plan(a, &doc));
    let d = net.nodes[a].hub.document_mut(&doc).unwrap();
    let mut p = PlanDoc::from_automerge(std::mem::take(d)).unwrap();
    p.set_text(&TextField::ActionTitle(act), "Changed").unwrap();
    p.commit();
    *net.nodes[a].hub.document_mut(&doc).unwrap() = p.into_automerge();
    let effects = net.nodes[a].hub.handle(1000, Event::LocalChange { doc });
    let frame = effects
        .iter()
        .find_map(|e| {
            if let Effect::Send { frame, .. } = e {
                Some(frame.clone())
            } else {
                None
            }
        })
        .unwrap();
    let mut server_effects = net.nodes[s]
        .hub
        .handle(1001, Event::Received { conn: sc, frame });
    server_effects.extend(net.nodes[s].hub.handle(1002, Event::Flush));
    let persist_at = server_effects
        .iter()
        .position(|e| matches!(e, Effect::Persist { .. }))
        .expect("a persist");
    let first_send = server_effects
        .iter()
        .position(|e| matches!(e, Effect::Send { .. }))
        .expect("a reply");
    assert!(persist_at < first_send, "{server_effects:?}");
}

#[test]
fn a_failed_persist_closes_the_peers_and_nothing_unsaved_is_advertised() {
    let mut net = Net::new();
    let s = net.server();
    let a = net.client("a");
    let (ac, _) = net.connect(a, s);
    net.run_until_quiescent();
    let (doc, d) = demo();
    net.event(
        a,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    let stored_before = net.nodes[s].storage.as_ref().unwrap()[&doc].clone();
    net.nodes[s].fail_persist = true;
    let act = first_action(&net.plan(a, &doc));
    net.edit(a, doc, |p| {
        p.set_text(&TextField::ActionTitle(act.clone()), "Lost?")
            .unwrap()
    });
    assert!(
        net.nodes[a].closed.is_empty() && net.links.is_empty(),
        "server closed the connection"
    );
    assert_eq!(net.nodes[s].storage.as_ref().unwrap()[&doc], stored_before);
    assert!(
        net.nodes[a]
            .errors
            .iter()
            .any(|e| e.contains("could not save")),
        "{:?}",
        net.nodes[a].errors
    );
    let _ = ac;
    // The disk recovers; the client reconnects and its change arrives.
    net.nodes[s].fail_persist = false;
    net.connect(a, s);
    net.run_until_quiescent();
    let stored = net.nodes[s].storage.as_ref().unwrap()[&doc].clone();
    let p = PlanDoc::from_automerge(AutoCommit::load(&stored).unwrap())
        .unwrap()
        .read()
        .unwrap();
    assert_eq!(p.themes[0].objectives[0].actions[0].title, "Lost?");
}

#[test]
fn request_for_an_unknown_document_is_unavailable_then_delivered_when_someone_uploads_it() {
    let mut net = Net::new();
    let s = net.server();
    let a = net.client("a");
    let b = net.client("b");
    net.connect(a, s);
    net.connect(b, s);
    net.run_until_quiescent();
    let (doc, d) = demo();
    net.event(b, Event::Find { doc });
    assert_eq!(net.nodes[b].unavailable, vec![doc]);
    assert!(net.nodes[b]
        .sent
        .iter()
        .any(|m| matches!(m, Message::Request(_))));
    net.event(
        a,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    assert_eq!(net.plan(b, &doc), net.plan(a, &doc));
}

#[test]
fn a_client_that_never_mentioned_a_document_hears_nothing_about_it() {
    let mut net = Net::new();
    let s = net.server();
    let a = net.client("a");
    let c = net.client("c");
    net.connect(a, s);
    net.connect(c, s);
    net.run_until_quiescent();
    let (doc, d) = demo();
    net.event(
        a,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    assert!(net.nodes[c].hub.document(&doc).is_none());
    assert!(net.nodes[c].changed.is_empty());
}

#[test]
fn join_with_an_unsupported_version_gets_an_error_and_a_close() {
    let mut net = Net::new();
    let s = net.server();
    let conn = ConnId(99);
    net.nodes[s].hub.handle(
        0,
        Event::Connected {
            conn,
            dialer: false,
        },
    );
    let join = Message::Join {
        sender_id: PeerId("x".into()),
        peer_metadata: PeerMetadata::default(),
        supported_protocol_versions: Some(vec!["2".into()]),
    };
    let effects = net.nodes[s].hub.handle(
        1,
        Event::Received {
            conn,
            frame: encode_message(&join),
        },
    );
    let sent: Vec<_> = effects
        .iter()
        .filter_map(|e| {
            if let Effect::Send { frame, .. } = e {
                decode_message(frame, 1 << 20).ok()
            } else {
                None
            }
        })
        .collect();
    assert!(
        matches!(&sent[..], [Message::Error { message, .. }] if message == "unsupported protocol version")
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::Close { .. })));
}

#[test]
fn messages_before_join_or_with_a_foreign_sender_change_nothing() {
    let mut net = Net::new();
    let s = net.server();
    let conn = ConnId(7);
    net.nodes[s].hub.handle(
        0,
        Event::Connected {
            conn,
            dialer: false,
        },
    );
    let (doc, mut d) = demo();
    let data = d
        .sync()
        .generate_sync_message(&mut automerge::sync::State::new())
        .unwrap()
        .encode();
    let sync = |sender: &str| {
        Message::Sync(DocMessage {
            sender_id: PeerId(sender.into()),
            target_id: PeerId("server".into()),
            document_id: doc,
            data: data.clone(),
        })
    };
    let e = net.nodes[s].hub.handle(
        1,
        Event::Received {
            conn,
            frame: encode_message(&sync("x")),
        },
    );
    assert!(
        !e.iter()
            .any(|e| matches!(e, Effect::Send { .. } | Effect::Load { .. })),
        "{e:?}"
    );
    let join = Message::Join {
        sender_id: PeerId("x".into()),
        peer_metadata: PeerMetadata::default(),
        supported_protocol_versions: None,
    };
    net.nodes[s].hub.handle(
        2,
        Event::Received {
            conn,
            frame: encode_message(&join),
        },
    );
    let e = net.nodes[s].hub.handle(
        3,
        Event::Received {
            conn,
            frame: encode_message(&sync("someone-else")),
        },
    );
    assert!(
        !e.iter()
            .any(|e| matches!(e, Effect::Send { .. } | Effect::Load { .. })),
        "{e:?}"
    );
}

#[test]
fn a_rejoin_with_the_same_peer_id_replaces_the_old_connection() {
    let mut net = Net::new();
    let s = net.server();
    let a = net.client("a");
    let (_, old) = net.connect(a, s);
    net.run_until_quiescent();
    net.connect(a, s);
    net.run_until_quiescent();
    assert_eq!(net.nodes[s].closed, vec![old]);
    assert_eq!(net.nodes[s].hub.ready_connections().len(), 1);
}

#[test]
fn malformed_frames_get_an_error_and_the_connection_keeps_working() {
    let mut net = Net::new();
    let s = net.server();
    let a = net.client("a");
    let b = net.client("b");
    let (_, sconn) = net.connect(a, s);
    net.connect(b, s);
    net.run_until_quiescent();
    net.event(
        s,
        Event::Received {
            conn: sconn,
            frame: vec![0xff, 0xfe, 0x00],
        },
    );
    assert!(
        net.nodes[a]
            .errors
            .iter()
            .any(|e| e.contains("malformed CBOR")),
        "{:?}",
        net.nodes[a].errors
    );
    let too_big = vec![0u8; (8 << 20) + 1];
    net.event(
        s,
        Event::Received {
            conn: sconn,
            frame: too_big,
        },
    );
    assert!(
        net.nodes[a]
            .errors
            .iter()
            .any(|e| e.contains("over the limit of 8388608 bytes")),
        "{:?}",
        net.nodes[a].errors
    );
    // A sync message whose automerge payload is garbage: an error, nothing else.
    let (doc, d) = demo();
    let bad = Message::Sync(DocMessage {
        sender_id: PeerId("a".into()),
        target_id: PeerId("server".into()),
        document_id: doc,
        data: vec![0x42, 0xff, 0xff],
    });
    net.event(
        s,
        Event::Received {
            conn: sconn,
            frame: encode_message(&bad),
        },
    );
    assert!(
        net.nodes[a]
            .errors
            .iter()
            .any(|e| e.contains("could not be read")),
        "{:?}",
        net.nodes[a].errors
    );
    net.event(
        a,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    net.event(b, Event::Find { doc });
    assert_eq!(net.plan(a, &doc), net.plan(b, &doc));
}

/// A server and clients with these names, all syncing the demo plan (the first client
/// adds it): the net, the server, the document, and each client with the server's end of
/// its connection.
fn sharing_the_demo(names: &[&str]) -> (Net, usize, DocumentId, Vec<(usize, ConnId)>) {
    let mut net = Net::new();
    let s = net.server();
    let clients: Vec<(usize, ConnId)> = names
        .iter()
        .map(|name| {
            let c = net.client(name);
            let (_, sc) = net.connect(c, s);
            (c, sc)
        })
        .collect();
    net.run_until_quiescent();
    let (doc, d) = demo();
    net.event(
        clients[0].0,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    for (c, _) in &clients[1..] {
        net.event(*c, Event::Find { doc });
    }
    (net, s, doc, clients)
}

#[test]
fn ephemeral_messages_reach_other_peers_once_and_never_echo_back() {
    let (mut net, _, doc, clients) = sharing_the_demo(&["a", "b", "c"]);
    let [a, b, c] = [clients[0].0, clients[1].0, clients[2].0];
    net.event(
        a,
        Event::SendEphemeral {
            doc,
            data: vec![0xa0],
        },
    );
    assert_eq!(
        net.nodes[b].ephemeral,
        vec![(PeerId("a".into()), vec![0xa0])]
    );
    assert_eq!(
        net.nodes[c].ephemeral,
        vec![(PeerId("a".into()), vec![0xa0])]
    );
    assert!(net.nodes[a].ephemeral.is_empty());
}

#[test]
fn a_client_offline_edits_merge_on_reconnect_without_loss() {
    let mut net = Net::new();
    let s = net.server();
    let a = net.client("a");
    let b = net.client("b");
    let (ac, _) = net.connect(a, s);
    net.connect(b, s);
    net.run_until_quiescent();
    let (doc, d) = demo();
    net.event(
        a,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    net.event(b, Event::Find { doc });
    let act = first_action(&net.plan(a, &doc));
    net.disconnect(a, ac);
    net.run_until_quiescent();
    let mut r = StdRng::seed_from_u64(5);
    net.edit(a, doc, |p| {
        p.splice_text(&TextField::ActionTitle(act.clone()), 0, 0, "offline ")
            .unwrap();
        let o = p.read().unwrap().themes[0].objectives[0].id.clone();
        p.add_action(&mut r, &o, "Added on the train", None)
            .unwrap();
    });
    net.edit(b, doc, |p| {
        p.set_rag(
            &act,
            crate::ReportingPeriod {
                year: 2026,
                quarter: crate::Quarter::Q3,
            },
            crate::Rag::Red,
        )
        .unwrap()
    });
    net.connect(a, s);
    net.run_until_quiescent();
    let pa = net.plan(a, &doc);
    assert_eq!(pa, net.plan(b, &doc));
    let action = &pa.themes[0].objectives[0].actions[0];
    assert!(action.title.starts_with("offline "));
    assert_eq!(action.rag.len(), 3);
    assert!(pa.themes[0].objectives[0]
        .actions
        .iter()
        .any(|x| x.title == "Added on the train"));
    let conn = net.nodes[a].hub.ready_connections()[0];
    assert!(net.nodes[a].hub.peer_has_all(conn, &doc));
}

#[test]
fn a_server_forgets_documents_nobody_syncs_and_loads_them_again_from_storage() {
    let mut net = Net::new();
    let s = net.server();
    let a = net.client("a");
    let (ac, _) = net.connect(a, s);
    net.run_until_quiescent();
    let (doc, d) = demo();
    net.event(
        a,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    assert_eq!(net.nodes[s].hub.documents(), vec![doc]);
    net.disconnect(a, ac);
    net.run_until_quiescent();
    assert!(
        net.nodes[s].hub.documents().is_empty(),
        "nobody syncs it: out of memory"
    );
    let b = net.client("b");
    net.connect(b, s);
    net.run_until_quiescent();
    net.event(b, Event::Find { doc });
    assert_eq!(net.plan(b, &doc), net.plan(a, &doc));
}

#[test]
fn a_restored_document_is_not_persisted_again_but_is_synced_and_later_changes_are() {
    let mut net = Net::new();
    let s = net.server();
    let mut config = HubConfig::client(PeerId("browser".into()));
    config.persist = true;
    let c = net.add(config, 9);
    net.connect(c, s);
    net.run_until_quiescent();
    let (doc, d) = demo();
    net.event(
        c,
        Event::Restore {
            doc,
            document: Box::new(d),
        },
    );
    net.run_until_quiescent();
    assert!(
        !net.nodes[c].storage.as_ref().unwrap().contains_key(&doc),
        "what came from storage is not written back"
    );
    assert_eq!(net.plan(s, &doc), net.plan(c, &doc), "the server got it");
    let d = net.nodes[c].hub.document_mut(&doc).unwrap();
    PlanDoc::change(d, |p| p.set_text(&TextField::PlanTitle, "Renamed")).unwrap();
    net.event(c, Event::LocalChange { doc });
    net.run_until_quiescent();
    assert!(
        net.nodes[c].storage.as_ref().unwrap().contains_key(&doc),
        "a new change is persisted"
    );
    assert_eq!(net.plan(s, &doc).title, "Renamed");
}

/// Two server nodes holding the same plan (as over one database: node two restored it),
/// client A on node one and client B on node two, both syncing it.
struct TwoNodes {
    net: Net,
    s1: usize,
    s2: usize,
    doc: DocumentId,
    /// The plan as both nodes started from.
    bytes: Vec<u8>,
    a: usize,
    b: usize,
    /// Node two's end of B's connection.
    bs: ConnId,
}

fn two_nodes() -> TwoNodes {
    let mut net = Net::new();
    let (s1, s2) = (net.server(), net.server());
    let (doc, d) = demo();
    let bytes = d.clone().save();
    net.event(
        s1,
        Event::Add {
            doc,
            document: Box::new(d.clone()),
        },
    );
    net.event(
        s2,
        Event::Restore {
            doc,
            document: Box::new(d),
        },
    );
    let (a, b) = (net.client("a"), net.client("b"));
    net.connect(a, s1);
    let (_, bs) = net.connect(b, s2);
    net.run_until_quiescent();
    net.event(a, Event::Find { doc });
    net.event(b, Event::Find { doc });
    TwoNodes {
        net,
        s1,
        s2,
        doc,
        bytes,
        a,
        b,
        bs,
    }
}

#[test]
fn changes_another_node_stored_reach_this_nodes_peers_and_are_not_stored_again() {
    let TwoNodes {
        mut net,
        s1,
        s2,
        doc,
        bytes,
        a,
        b,
        ..
    } = two_nodes();
    let stored_before = net.nodes[s1].storage.as_ref().unwrap()[&doc].len();
    let d = net.nodes[a].hub.document_mut(&doc).unwrap();
    PlanDoc::change(d, |p| {
        p.set_text(&TextField::PlanTitle, "Renamed on node one")
    })
    .unwrap();
    net.event(a, Event::LocalChange { doc });
    net.event(s1, Event::Flush);
    // Node two learns from the shared database what node one stored.
    let chunk = net.nodes[s1].storage.as_ref().unwrap()[&doc][stored_before..].to_vec();
    assert!(!chunk.is_empty(), "node one stored the change");
    let authors_before = net.nodes[s2].authors.len();
    net.event(s2, Event::Stored { doc, chunk });
    net.event(s2, Event::Flush);
    assert_eq!(net.plan(b, &doc).title, "Renamed on node one");
    assert_eq!(
        net.nodes[s2].authors.len(),
        authors_before,
        "nothing is stored twice"
    );
    assert!(!net.nodes[s2].storage.as_ref().unwrap().contains_key(&doc));
    // Node two's own changes are stored, and only they.
    let d = net.nodes[b].hub.document_mut(&doc).unwrap();
    PlanDoc::change(d, |p| {
        p.set_text(&TextField::PlanTitle, "Renamed on node two")
    })
    .unwrap();
    net.event(b, Event::LocalChange { doc });
    net.event(s2, Event::Flush);
    assert_eq!(net.nodes[s2].authors.len(), authors_before + 1);
    let mut both = bytes;
    both.extend_from_slice(&net.nodes[s1].storage.as_ref().unwrap()[&doc]);
    both.extend_from_slice(&net.nodes[s2].storage.as_ref().unwrap()[&doc]);
    let merged = PlanDoc::from_automerge(automerge::AutoCommit::load(&both).unwrap()).unwrap();
    assert_eq!(
        merged.read().unwrap(),
        net.plan(b, &doc),
        "the database holds what node two shows"
    );
}

#[test]
fn a_connection_joined_on_another_hub_syncs_a_document_with_no_handshake_of_its_own() {
    let mut net = Net::new();
    let (front, s) = (net.guarded_server(), net.guarded_server());
    let (doc, d) = demo();
    net.event(
        s,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    let c = net.client("c");
    let (cc, fc) = net.connect(c, front);
    net.run_until_quiescent();
    // The document's hub learns of the connection as already joined, with its grant.
    let peer = net.nodes[c].hub.peer_id().clone();
    let mut effects = net.nodes[s].hub.handle(
        1,
        Event::Connected {
            conn: fc,
            dialer: false,
        },
    );
    effects.extend(net.nodes[s].hub.handle(1, Event::Joined { conn: fc, peer }));
    effects.extend(net.nodes[s].hub.handle(
        1,
        Event::Grant {
            conn: fc,
            grants: [(doc, Access::Read)].into(),
        },
    ));
    assert!(
        effects.iter().all(|e| !matches!(e, Effect::Send { .. })),
        "no second handshake: {effects:?}"
    );
    // The client's request, routed to the document's hub, is answered there with the plan.
    let asked = net.nodes[c].hub.handle(2, Event::Find { doc });
    let Some(Effect::Send { conn, frame, .. }) =
        asked.into_iter().find(|e| matches!(e, Effect::Send { .. }))
    else {
        panic!("the client asks");
    };
    assert_eq!(conn, cc);
    let mut answer = net.nodes[s]
        .hub
        .handle(3, Event::Received { conn: fc, frame });
    // (A batching hub answers at its next flush.)
    answer.extend(net.nodes[s].hub.handle(4, Event::Flush));
    let synced = answer.iter().any(|e| match e {
        Effect::Send { conn, frame, .. } if *conn == fc => {
            matches!(decode_message(frame, usize::MAX), Ok(Message::Sync(m)) if m.document_id == doc)
        }
        _ => false,
    });
    assert!(
        synced,
        "the document's hub answers the joined connection: {answer:?}"
    );
}

#[test]
fn stored_changes_for_a_document_not_held_are_ignored() {
    let mut net = Net::new();
    let s = net.server();
    let (doc, mut d) = demo();
    net.event(
        s,
        Event::Stored {
            doc,
            chunk: d.save(),
        },
    );
    assert!(net.nodes[s].hub.documents().is_empty());
}

// ---------------------------------------------------------------- access on a guarded server

/// A guarded server holding the demo plan (added by the server itself), and clients
/// connected to it with the given grants on that plan.
fn guarded(grants: &[(&str, Option<Access>)]) -> (Net, usize, DocumentId, Vec<(usize, ConnId)>) {
    let mut net = Net::new();
    let s = net.guarded_server();
    let (doc, d) = demo();
    net.event(
        s,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    let mut clients = vec![];
    for (name, access) in grants {
        let c = net.client(name);
        let (_, sc) = net.connect(c, s);
        net.run_until_quiescent();
        if let Some(access) = access {
            net.event(
                s,
                Event::Grant {
                    conn: sc,
                    grants: [(doc, *access)].into(),
                },
            );
        }
        clients.push((c, sc));
    }
    (net, s, doc, clients)
}

#[test]
fn a_connection_without_a_grant_is_told_unavailable_and_nothing_is_loaded_for_it() {
    let (mut net, s, doc, clients) = guarded(&[("stranger", None)]);
    let (c, _) = clients[0];
    // Make the server forget the plan so that a request would have to load it.
    net.nodes[s].hub = {
        let mut h = Hub::new(
            HubConfig::server(PeerId("server".into()), "server-storage".into()),
            &mut StdRng::seed_from_u64(0),
        );
        h.handle(
            0,
            Event::Connected {
                conn: clients[0].1,
                dialer: false,
            },
        );
        h
    };
    let (c2, _) = net.connect(c, s);
    net.run_until_quiescent();
    let _ = c2;
    let effects_before = net.nodes[s].authors.len();
    net.event(c, Event::Find { doc });
    assert!(net.nodes[c].unavailable.contains(&doc));
    assert!(!net.nodes[c].hub.has_content(&doc));
    assert!(
        net.nodes[s].hub.documents().is_empty(),
        "nothing loaded for a stranger"
    );
    assert_eq!(net.nodes[s].authors.len(), effects_before);
}

#[test]
fn an_editor_that_opens_a_round_is_refused_and_closed_and_the_plan_keeps_only_its_edits_and_an_owners_round(
) {
    let (mut net, s, doc, clients) = guarded(&[
        ("editor", Some(Access::Edit)),
        ("owner", Some(Access::Write)),
    ]);
    let (e, es) = clients[0];
    let (o, _) = clients[1];
    net.event(e, Event::Find { doc });
    net.event(o, Event::Find { doc });
    // An ordinary edit by the editor is taken.
    let act = first_action(&net.plan(e, &doc));
    net.edit(e, doc, |p| {
        p.set_text(&TextField::ActionTitle(act.clone()), "Edited")
            .unwrap()
    });
    assert!(!net.nodes[s].closed.contains(&es));
    let before = net.nodes[s].hub.document_mut(&doc).unwrap().get_heads();
    let stored_before = net.nodes[s].storage.as_ref().unwrap()[&doc].clone();
    let q3 = crate::ReportingPeriod::from_key("2026-Q3").unwrap();
    net.edit(e, doc, |p| {
        p.open_round(
            &mut rand::rngs::StdRng::seed_from_u64(3),
            q3,
            "2027-01-15",
            None,
            "2026-12-01",
            "Editor",
        )
        .unwrap();
    });
    assert!(
        net.nodes[s].closed.contains(&es),
        "the editor's connection is closed"
    );
    assert_eq!(
        net.nodes[s].hub.document_mut(&doc).unwrap().get_heads(),
        before
    );
    assert_eq!(net.nodes[s].storage.as_ref().unwrap()[&doc], stored_before);
    assert!(
        net.plan(o, &doc).rounds.is_empty(),
        "the owner never sees the editor's round"
    );
    assert!(
        net.nodes[e]
            .errors
            .iter()
            .any(|m| m.contains("only an owner of the plan changes its reporting rounds")),
        "{:?}",
        net.nodes[e].errors
    );
    // The owner opens one, and everybody still connected gets it.
    net.edit(o, doc, |p| {
        p.open_round(
            &mut rand::rngs::StdRng::seed_from_u64(4),
            q3,
            "2027-01-15",
            None,
            "2026-12-01",
            "Owner",
        )
        .unwrap();
    });
    net.run_until_quiescent();
    let server_plan = crate::read_plan(net.nodes[s].hub.document_mut(&doc).unwrap()).unwrap();
    assert_eq!(server_plan.rounds.len(), 1);
    assert_eq!(server_plan.rounds[0].opened_by, "Owner");
    assert_eq!(
        server_plan.themes[0].objectives[0].actions[0].title,
        "Edited"
    );
}

#[test]
fn a_viewer_that_sends_changes_is_refused_and_closed_and_the_plan_is_unchanged() {
    let (mut net, s, doc, clients) = guarded(&[
        ("viewer", Some(Access::Read)),
        ("editor", Some(Access::Write)),
    ]);
    let (v, vs) = clients[0];
    let (e, _) = clients[1];
    net.event(v, Event::Find { doc });
    net.event(e, Event::Find { doc });
    assert!(
        net.nodes[v].hub.has_content(&doc),
        "a viewer reads the plan"
    );
    let before = net.nodes[s].hub.document_mut(&doc).unwrap().get_heads();
    let stored_before = net.nodes[s].storage.as_ref().unwrap()[&doc].clone();
    let act = first_action(&net.plan(v, &doc));
    net.edit(v, doc, |p| {
        p.set_text(&TextField::ActionTitle(act.clone()), "Forged")
            .unwrap()
    });
    assert!(
        net.nodes[s].closed.contains(&vs),
        "the viewer's connection is closed"
    );
    assert_eq!(
        net.nodes[s].hub.document_mut(&doc).unwrap().get_heads(),
        before
    );
    assert_eq!(net.nodes[s].storage.as_ref().unwrap()[&doc], stored_before);
    assert_ne!(
        net.plan(e, &doc).themes[0].objectives[0].actions[0].title,
        "Forged"
    );
    assert!(
        net.nodes[v]
            .errors
            .iter()
            .any(|m| m.contains("you can view this plan but not change it")),
        "{:?}",
        net.nodes[v].errors
    );
}

#[test]
fn an_editor_changes_reach_others_and_each_persist_names_the_connection_that_sent_it() {
    let (mut net, s, doc, clients) = guarded(&[
        ("editor", Some(Access::Write)),
        ("viewer", Some(Access::Read)),
    ]);
    let (e, es) = clients[0];
    let (v, _) = clients[1];
    net.event(e, Event::Find { doc });
    net.event(v, Event::Find { doc });
    let act = first_action(&net.plan(e, &doc));
    net.edit(e, doc, |p| {
        p.set_text(&TextField::ActionTitle(act.clone()), "Edited")
            .unwrap()
    });
    assert_eq!(
        net.plan(v, &doc).themes[0].objectives[0].actions[0].title,
        "Edited"
    );
    let editor_heads = net.nodes[e].hub.document_mut(&doc).unwrap().get_heads();
    let (change, from) = *net.nodes[s].authors.last().unwrap();
    assert_eq!(from, Some(es));
    assert_eq!(
        vec![change],
        editor_heads,
        "the one new change is the editor's head"
    );
    // The plan the server added itself is attributed to nobody.
    assert_eq!(net.nodes[s].authors[0].1, None);
}

#[test]
fn clients_cannot_create_documents_on_a_guarded_server_even_with_a_grant() {
    let (mut net, s, _, clients) = guarded(&[("editor", Some(Access::Write))]);
    let (e, es) = clients[0];
    let (other, d) = {
        let mut r = StdRng::seed_from_u64(7);
        let plan = demo_plan(&mut r).unwrap();
        (DocumentId::random(&mut r), plan.into_automerge())
    };
    net.event(
        s,
        Event::Grant {
            conn: es,
            grants: [(other, Access::Write)].into(),
        },
    );
    net.event(
        e,
        Event::Add {
            doc: other,
            document: Box::new(d),
        },
    );
    assert!(!net.nodes[s].storage.as_ref().unwrap().contains_key(&other));
    assert!(!net.nodes[s].hub.has_content(&other));
    assert!(net.nodes[e].unavailable.contains(&other));
}

#[test]
fn a_withdrawn_grant_stops_sync_at_once_on_the_open_connection() {
    let (mut net, s, doc, clients) = guarded(&[
        ("editor", Some(Access::Write)),
        ("other", Some(Access::Write)),
    ]);
    let (e, es) = clients[0];
    let (o, _) = clients[1];
    net.event(e, Event::Find { doc });
    net.event(o, Event::Find { doc });
    net.event(
        s,
        Event::Grant {
            conn: es,
            grants: Default::default(),
        },
    );
    assert!(net.nodes[e].unavailable.contains(&doc), "told at once");
    let before = net.nodes[s].hub.document_mut(&doc).unwrap().get_heads();
    let act = first_action(&net.plan(e, &doc));
    net.edit(e, doc, |p| {
        p.set_text(&TextField::ActionTitle(act.clone()), "After revoke")
            .unwrap()
    });
    assert_eq!(
        net.nodes[s].hub.document_mut(&doc).unwrap().get_heads(),
        before
    );
    net.edit(o, doc, |p| {
        p.set_text(&TextField::ActionTitle(act.clone()), "Still editing")
            .unwrap()
    });
    assert_ne!(
        net.plan(e, &doc).themes[0].objectives[0].actions[0].title,
        "Still editing",
        "a withdrawn connection hears nothing more"
    );
}

#[test]
fn changes_that_would_grow_a_document_past_the_limit_are_refused_with_a_clear_error() {
    let (mut net, s, doc, clients) = guarded(&[("editor", Some(Access::Write))]);
    let (e, es) = clients[0];
    net.event(e, Event::Find { doc });
    let stored = net.nodes[s].storage.as_ref().unwrap()[&doc].len();
    // Reload the server with a limit just above what it holds.
    let mut config = HubConfig::server(PeerId("server".into()), "server-storage".into());
    config.max_document_bytes = stored + 64;
    let mut hub = Hub::new(config, &mut StdRng::seed_from_u64(0));
    hub.handle(
        0,
        Event::Connected {
            conn: es,
            dialer: false,
        },
    );
    net.nodes[s].hub = hub;
    net.nodes[e]
        .hub
        .handle(0, Event::Disconnected { conn: ConnId(1) });
    let (_, es2) = net.connect(e, s);
    net.run_until_quiescent();
    net.event(
        s,
        Event::Grant {
            conn: es2,
            grants: [(doc, Access::Write)].into(),
        },
    );
    net.event(e, Event::Find { doc });
    let act = first_action(&net.plan(e, &doc));
    net.edit(e, doc, |p| {
        p.set_text(
            &TextField::ActionTitle(act.clone()),
            &"long text ".repeat(50),
        )
        .unwrap()
    });
    assert_eq!(
        net.nodes[s].storage.as_ref().unwrap()[&doc].len(),
        stored,
        "nothing stored"
    );
    assert!(
        net.nodes[e].errors.iter().any(|m| m.contains("limit of")),
        "{:?}",
        net.nodes[e].errors
    );
}

#[test]
fn a_burst_of_changes_from_many_peers_is_stored_once_and_sent_once_per_peer_on_flush() {
    let (mut net, s, doc, clients) = guarded(&[
        ("a", Some(Access::Write)),
        ("b", Some(Access::Write)),
        ("c", Some(Access::Write)),
        ("d", Some(Access::Write)),
    ]);
    for (c, _) in &clients {
        net.event(*c, Event::Find { doc });
    }
    let act = first_action(&net.plan(clients[0].0, &doc));
    // Each client edits; the server receives all four sync messages before it flushes.
    let mut frames = Vec::new();
    for (i, (c, sc)) in clients.iter().enumerate() {
        let d = net.nodes[*c].hub.document_mut(&doc).unwrap();
        PlanDoc::change(d, |p| {
            p.splice_text(
                &TextField::ActionTitle(act.clone()),
                0,
                0,
                &format!("<{i}>"),
            )
        })
        .unwrap();
        let effects = net.nodes[*c].hub.handle(100, Event::LocalChange { doc });
        for e in effects {
            if let Effect::Send { frame, .. } = e {
                frames.push((*sc, frame));
            }
        }
    }
    // A sync message carries the change itself unless the client's bloom filter of the
    // server's history happens to match it (a false positive); count those that do.
    let carrying = frames
        .iter()
        .filter(|(_, f)| match decode_message(f, 1 << 20) {
            Ok(Message::Sync(m)) | Ok(Message::Request(m)) => {
                automerge::sync::Message::decode(&m.data).is_ok_and(|m| !m.changes.is_empty())
            }
            _ => false,
        })
        .count();
    assert!(carrying >= 3, "most frames carry their change");
    let mut effects = Vec::new();
    for (sc, frame) in frames {
        let before = effects.len();
        effects.extend(
            net.nodes[s]
                .hub
                .handle(101, Event::Received { conn: sc, frame }),
        );
        assert!(
            effects[before..]
                .iter()
                .all(|e| !matches!(e, Effect::Persist { .. })),
            "nothing is stored before the flush"
        );
    }
    let flushed = net.nodes[s].hub.handle(102, Event::Flush);
    let persists: Vec<_> = flushed
        .iter()
        .filter(|e| matches!(e, Effect::Persist { .. }))
        .collect();
    assert_eq!(persists.len(), 1, "one chunk for the burst");
    let Effect::Persist { changes, .. } = persists[0] else {
        unreachable!()
    };
    let senders: std::collections::BTreeSet<_> = changes.iter().map(|(_, from)| *from).collect();
    assert_eq!(
        (senders.len(), changes.len()),
        (carrying, carrying),
        "each change keeps its sender: {changes:?}"
    );
    let sends = flushed
        .iter()
        .filter(|e| matches!(e, Effect::Send { .. }))
        .count();
    assert_eq!(sends, 4, "one message per peer");
}

// ---------------------------------------------------------------- fuzz targets (proptest)
//
// `PROPTEST_CASES` sets how many cases each runs (256 by default, as in CI);
// `scripts/fuzz.sh` runs them longer and prints executions and failures.

/// One thing a hostile or broken peer might send the server.
#[derive(Debug, Clone)]
enum PeerInput {
    /// Raw bytes as a frame.
    Frame(Vec<u8>),
    /// A CBOR map with protocol-like keys and arbitrary values.
    Cbor(Vec<(u8, u8)>),
    /// A `request` or `sync` for the plan (or another document) carrying arbitrary data.
    Sync {
        plan: bool,
        request: bool,
        data: Vec<u8>,
    },
    /// A well-formed sync message whose change chunk is a real change with one byte flipped.
    Mangled { at: usize, xor: u8 },
    /// A well-formed sync message with a real change (a legitimate edit).
    Edit,
    /// The socket closes and a new one opens.
    Reconnect,
}

fn peer_input() -> impl Strategy<Value = PeerInput> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256).prop_map(PeerInput::Frame),
        prop::collection::vec((0u8..8, 0u8..8), 0..8).prop_map(PeerInput::Cbor),
        (
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..256)
        )
            .prop_map(|(plan, request, data)| PeerInput::Sync {
                plan,
                request,
                data
            }),
        (any::<usize>(), 1u8..=255).prop_map(|(at, xor)| PeerInput::Mangled { at, xor }),
        Just(PeerInput::Edit),
        Just(PeerInput::Reconnect),
    ]
}

/// A CBOR frame built from (key, value) picks among protocol words and odd values.
fn cbor_frame(pairs: &[(u8, u8)]) -> Vec<u8> {
    use ciborium::Value as V;
    let keys = [
        "type",
        "senderId",
        "targetId",
        "documentId",
        "data",
        "count",
        "sessionId",
        "peerMetadata",
    ];
    let values = [
        V::Text("sync".into()),
        V::Text("join".into()),
        V::Text("ephemeral".into()),
        V::Bytes(vec![0x42, 0, 1]),
        V::Integer((-1).into()),
        V::Array(vec![V::Null]),
        V::Map(vec![]),
        V::Text("4J8e54NPatzR4ErK83keqZhXAT9y".into()),
    ];
    let map = V::Map(
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    V::Text(keys[*k as usize].into()),
                    values[*v as usize].clone(),
                )
            })
            .collect(),
    );
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).unwrap();
    out
}

/// The demo plan and one real change on top of it, made once.
fn fuzz_fixture() -> &'static (DocumentId, Vec<u8>, Vec<u8>) {
    static FIXTURE: std::sync::OnceLock<(DocumentId, Vec<u8>, Vec<u8>)> =
        std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (doc, mut d) = demo();
        let saved = d.save();
        let act = first_action(&read_plan(&d).unwrap());
        PlanDoc::change(&mut d, |p| {
            p.set_text(&TextField::ActionTitle(act), "Fuzzed")
        })
        .unwrap();
        let change = d.get_last_local_change().unwrap().raw_bytes().to_vec();
        (doc, saved, change)
    })
}

fn sync_frame(doc: DocumentId, request: bool, data: Vec<u8>) -> Vec<u8> {
    let m = DocMessage {
        sender_id: PeerId("fuzzer".into()),
        target_id: PeerId("server".into()),
        document_id: doc,
        data,
    };
    encode_message(&if request {
        Message::Request(m)
    } else {
        Message::Sync(m)
    })
}

fn change_message(change: Vec<u8>) -> Vec<u8> {
    automerge::sync::Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: vec![change].into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    }
    .encode()
}

/// Cases for a slow fuzz target: `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(64)))]
    #[test]
    fn fuzz_sync_core_fed_arbitrary_message_sequences_never_panics_and_stores_only_valid_changes(
        inputs in prop::collection::vec(peer_input(), 1..24)
    ) {
        let (doc, saved, change) = fuzz_fixture().clone();
        let mut hub = Hub::new(
            HubConfig::server(PeerId("server".into()), "s".into()),
            &mut StdRng::seed_from_u64(1),
        );
        let mut stored = saved.clone();
        let mut conn = ConnId(1);
        let join = encode_message(&Message::Join {
            sender_id: PeerId("fuzzer".into()),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: Some(vec!["1".into()]),
        });
        let open = |hub: &mut Hub, conn: ConnId| {
            let mut e = hub.handle(0, Event::Connected { conn, dialer: false });
            e.extend(hub.handle(0, Event::Grant { conn, grants: [(doc, Access::Write)].into() }));
            e.extend(hub.handle(0, Event::Received { conn, frame: join.clone() }));
            e
        };
        let mut queue: VecDeque<Event> = VecDeque::new();
        let mut effects = open(&mut hub, conn);
        for (i, input) in inputs.into_iter().enumerate() {
            let frame = match input {
                PeerInput::Frame(b) => b,
                PeerInput::Cbor(pairs) => cbor_frame(&pairs),
                PeerInput::Sync { plan, request, data } => {
                    let target = if plan { doc } else { DocumentId([9; 16]) };
                    sync_frame(target, request, data)
                }
                PeerInput::Mangled { at, xor } => {
                    let mut c = change.clone();
                    let at = at % c.len();
                    c[at] ^= xor;
                    sync_frame(doc, false, change_message(c))
                }
                PeerInput::Edit => sync_frame(doc, false, change_message(change.clone())),
                PeerInput::Reconnect => {
                    effects.extend(hub.handle(i as u64, Event::Disconnected { conn }));
                    conn = ConnId(conn.0 + 1);
                    effects.extend(open(&mut hub, conn));
                    continue;
                }
            };
            queue.push_back(Event::Received { conn, frame });
            queue.push_back(Event::Flush);
            let mut steps = 0;
            while let Some(ev) = queue.pop_front() {
                steps += 1;
                prop_assert!(steps < 1000, "the core does not loop");
                for e in hub.handle(i as u64, ev) {
                    if let Effect::Load { doc: d } = e {
                        let data = (d == doc).then(|| stored.clone());
                        queue.push_front(Event::Loaded { doc: d, result: Ok(data) });
                    } else {
                        effects.push(e);
                    }
                }
            }
            for e in effects.drain(..) {
                match e {
                    Effect::Send { frame, .. } => {
                        prop_assert!(decode_message(&frame, usize::MAX).is_ok(), "the core sends decodable frames");
                    }
                    Effect::Persist { doc: d, chunk, .. } => {
                        prop_assert_eq!(d, doc, "only the plan is ever stored");
                        stored.extend_from_slice(&chunk);
                        prop_assert!(AutoCommit::load(&stored).is_ok(), "stored changes load");
                    }
                    _ => {}
                }
            }
        }
    }

}

proptest! {
    #[test]
    fn fuzz_arbitrary_cbor_maps_never_panic_the_decoder(pairs in prop::collection::vec((0u8..8, 0u8..8), 0..10)) {
        let _ = decode_message(&cbor_frame(&pairs), 1 << 20);
    }
}

/// The frames a batch of effects sends, by connection.
fn sends(effects: Vec<Effect>) -> Vec<(ConnId, Vec<u8>)> {
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Send { conn, frame, .. } => Some((conn, frame)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_peer_that_acknowledges_while_its_change_is_held_back_still_hears_the_servers_heads() {
    let (mut net, s, doc, clients) =
        guarded(&[("a", Some(Access::Write)), ("b", Some(Access::Write))]);
    for (i, (c, _)) in clients.iter().enumerate() {
        net.event(*c, Event::Find { doc });
        // Fixed actors, so the change hashes (and the sync bloom filters) are the same in
        // every run: with random ones a bloom false positive let A withhold its change about
        // one run in forty.
        net.nodes[*c]
            .hub
            .document_mut(&doc)
            .unwrap()
            .set_actor(automerge::ActorId::from([0xa0 + i as u8; 16]));
    }
    let act = first_action(&net.plan(clients[0].0, &doc));
    let (a, sa) = clients[0];
    let (b, sb) = clients[1];
    let (_, b_conn) = net.other_end(s, sb).unwrap();
    let edit = |net: &mut Net, node: usize, text: &str| {
        let d = net.nodes[node].hub.document_mut(&doc).unwrap();
        PlanDoc::change(d, |p| {
            p.splice_text(&TextField::ActionTitle(act.clone()), 0, 0, text)
        })
        .unwrap();
        sends(net.nodes[node].hub.handle(200, Event::LocalChange { doc }))
    };
    // A's change reaches the server and is flushed: B is sent it with the server's heads {X}.
    let from_a = edit(&mut net, a, "<a>");
    for (_, f) in from_a {
        net.nodes[s]
            .hub
            .handle(201, Event::Received { conn: sa, frame: f });
    }
    let to_b: Vec<_> = sends(net.nodes[s].hub.handle(202, Event::Flush))
        .into_iter()
        .filter(|(c, _)| *c == sb)
        .collect();
    assert!(!to_b.is_empty());
    // (Written out: under flow control the next message to B waits for that.)
    for c in [sa, sb] {
        net.nodes[s]
            .hub
            .handle(202, Event::Delivered { conn: c, doc });
    }
    // Meanwhile B changed the plan (message 1: its change), then took in A's change and
    // acknowledged with heads {X, Y} and no changes (message 2).
    let mut from_b = edit(&mut net, b, "<b>");
    for (_, f) in to_b {
        from_b.extend(sends(net.nodes[b].hub.handle(
            203,
            Event::Received {
                conn: b_conn,
                frame: f,
            },
        )));
    }
    assert!(from_b.len() >= 2, "a change and an acknowledgement");
    // Both arrive before the server flushes.
    for (_, f) in from_b {
        net.nodes[s]
            .hub
            .handle(204, Event::Received { conn: sb, frame: f });
    }
    let flushed = sends(net.nodes[s].hub.handle(205, Event::Flush));
    let for_b: Vec<_> = flushed.into_iter().filter(|(c, _)| *c == sb).collect();
    assert!(
        !for_b.is_empty(),
        "the flush tells B the server's new heads"
    );
    for (_, f) in for_b {
        net.nodes[b].hub.handle(
            206,
            Event::Received {
                conn: b_conn,
                frame: f,
            },
        );
    }
    assert!(
        net.nodes[b].hub.peer_has_all(b_conn, &doc),
        "B knows its change is on the server"
    );
}

// ---------------------------------------------------------------- hostile peers

/// Two clients that both call themselves "a", joined to a guarded server as the
/// participants `first` and `second`; returns the net, the server, both clients and the
/// server's ends of their connections.
fn same_peer_id_as(first: &str, second: &str) -> (Net, usize, [(usize, ConnId); 2]) {
    let mut net = Net::new();
    let s = net.guarded_server();
    let mut out = vec![];
    for who in [first, second] {
        let c = net.client("a");
        let (_, sc) = net.connect(c, s);
        net.queue.push_back((
            s,
            Event::Identify {
                conn: sc,
                principals: [who.to_string()].into(),
            },
        ));
        net.run_until_quiescent();
        out.push((c, sc));
    }
    (net, s, [out[0], out[1]])
}

#[test]
fn a_join_with_the_peer_id_of_another_participants_connection_is_refused_and_theirs_stays_open() {
    let (net, s, [(_, victim), (thief, thief_conn)]) = same_peer_id_as("editor-1", "viewer-9");
    assert_eq!(
        net.nodes[s].closed,
        vec![thief_conn],
        "only the thief is closed"
    );
    assert_eq!(net.nodes[s].hub.ready_connections(), vec![victim]);
    assert!(
        net.nodes[thief]
            .errors
            .iter()
            .any(|e| e.contains("in use by another participant's connection")),
        "{:?}",
        net.nodes[thief].errors
    );
}

#[test]
fn the_same_participant_reconnecting_with_its_peer_id_replaces_its_old_connection() {
    let (net, s, [(_, old), (_, new)]) = same_peer_id_as("editor-1", "editor-1");
    assert_eq!(net.nodes[s].closed, vec![old]);
    assert_eq!(net.nodes[s].hub.ready_connections(), vec![new]);
}

#[test]
fn peer_ids_that_are_too_long_or_hold_control_characters_are_refused_and_closed() {
    for bad in [
        "x".repeat(MAX_PEER_ID_BYTES + 1),
        "alice\n2026-11-30T00:00:00Z  INFO forged line".to_string(),
        "\u{1b}[31mred".to_string(),
        String::new(),
    ] {
        let mut net = Net::new();
        let s = net.server();
        let c = net.client("probe");
        let (_, sc) = net.connect(c, s);
        net.run_until_quiescent();
        let join = Message::Join {
            sender_id: PeerId(bad.clone()),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: Some(vec!["1".into()]),
        };
        // The probe already joined on `sc`: open a fresh server-side connection for the bad id.
        let fresh = ConnId(9_000);
        net.event(
            s,
            Event::Connected {
                conn: fresh,
                dialer: false,
            },
        );
        net.event(
            s,
            Event::Received {
                conn: fresh,
                frame: encode_message(&join),
            },
        );
        assert!(net.nodes[s].closed.contains(&fresh), "{bad:?} is refused");
        assert!(net.nodes[s].hub.ready_connections() == vec![sc]);
        let logged = net.nodes[s].errors.join("\n");
        assert!(logged.contains("a peer id must be 1 to 128"), "{logged}");
        assert!(
            !logged.contains('\n') || !logged.contains("forged"),
            "{logged}"
        );
        assert!(logged.len() < 1_000, "the refusal does not repeat the id");
    }
    assert!(valid_peer_id("peer-3f9a_b.c:d@e+f/g="));
}

#[test]
fn a_second_join_on_one_connection_is_refused_and_closes_it() {
    let mut net = Net::new();
    let s = net.server();
    let c = net.client("twice");
    let (_, sc) = net.connect(c, s);
    net.run_until_quiescent();
    let join = Message::Join {
        sender_id: PeerId("twice".into()),
        peer_metadata: PeerMetadata::default(),
        supported_protocol_versions: Some(vec!["1".into()]),
    };
    net.event(
        s,
        Event::Received {
            conn: sc,
            frame: encode_message(&join),
        },
    );
    assert_eq!(net.nodes[s].closed, vec![sc]);
    assert!(net.nodes[c]
        .errors
        .iter()
        .any(|e| e.contains("already joined")));
}

#[test]
fn ephemeral_messages_over_the_size_limit_are_refused_and_the_dedup_state_stays_bounded() {
    let (mut net, s, doc, clients) = sharing_the_demo(&["a", "b"]);
    let [(a, sa), (b, _)] = [clients[0], clients[1]];
    let limit = HubConfig::server(PeerId("x".into()), "y".into()).max_ephemeral_bytes;
    net.event(
        a,
        Event::SendEphemeral {
            doc,
            data: vec![0; limit + 1],
        },
    );
    assert!(
        net.nodes[b].ephemeral.is_empty(),
        "the big one is not relayed"
    );
    assert!(net.nodes[a]
        .errors
        .iter()
        .any(|e| e.contains("over the limit of 65536 bytes")));
    // A thousand sessions from one connection: the state never holds more than the cap.
    for i in 0..1_000u64 {
        let e = Message::Ephemeral(Ephemeral {
            sender_id: PeerId("a".into()),
            target_id: PeerId("server".into()),
            count: 1,
            session_id: format!("session-{i}"),
            document_id: doc,
            data: vec![0xa0],
        });
        net.event(
            s,
            Event::Received {
                conn: sa,
                frame: encode_message(&e),
            },
        );
        assert!(net.nodes[s].hub.ephemeral_sessions() <= MAX_EPHEMERAL_SESSIONS);
    }
    assert_eq!(
        net.nodes[b].ephemeral.len(),
        1_000,
        "each new session is relayed"
    );
    let drop_a = net
        .links
        .iter()
        .find(|l| l.1 == (s, sa))
        .map(|l| l.0)
        .unwrap();
    net.disconnect(drop_a.0, drop_a.1);
    net.run_until_quiescent();
    assert_eq!(
        net.nodes[s].hub.ephemeral_sessions(),
        0,
        "gone with the connection"
    );
}

#[test]
fn a_peer_that_stops_reading_is_sent_one_message_and_then_everything_in_one_when_it_reads_again() {
    let (mut net, s, doc, clients) = guarded(&[
        ("writer", Some(Access::Write)),
        ("slow", Some(Access::Write)),
    ]);
    for (c, _) in &clients {
        net.event(*c, Event::Find { doc });
    }
    let (w, _) = clients[0];
    let (slow, sc) = clients[1];
    let act = first_action(&net.plan(w, &doc));
    net.stalled.push((s, sc));
    let sent_before = net.nodes[s].sent.len();
    let to_slow = |net: &Net| {
        net.nodes[s].sent[sent_before..]
            .iter()
            .filter(|m| matches!(m, Message::Sync(d) if d.target_id.0 == "slow"))
            .count()
    };
    for i in 0..30 {
        net.edit(w, doc, |p| {
            p.splice_text(&TextField::ActionTitle(act.clone()), 0, 0, &format!("{i} "))
                .unwrap()
        });
    }
    assert_eq!(
        to_slow(&net),
        1,
        "while it does not read, one message waits for it"
    );
    assert_ne!(
        net.plan(slow, &doc),
        net.plan(w, &doc),
        "it is behind meanwhile"
    );
    net.stalled.clear();
    let parked = std::mem::take(&mut net.parked);
    net.queue.extend(parked);
    net.run_until_quiescent();
    assert!(
        to_slow(&net) <= 3,
        "the rest in one message: {}",
        to_slow(&net)
    );
    assert_eq!(
        net.plan(slow, &doc),
        net.plan(w, &doc),
        "and it holds every change"
    );
}

#[test]
fn changes_another_node_stored_while_ours_wait_for_the_flush_are_not_stored_again() {
    let TwoNodes {
        mut net,
        s1,
        s2,
        doc,
        a,
        b,
        bs,
        ..
    } = two_nodes();
    // Node one stores a change of A's.
    let d = net.nodes[a].hub.document_mut(&doc).unwrap();
    PlanDoc::change(d, |p| p.set_text(&TextField::PlanTitle, "From node one")).unwrap();
    net.event(a, Event::LocalChange { doc });
    let chunk = net.nodes[s1].storage.as_ref().unwrap()[&doc].clone();
    // B's change reaches node two and waits there for the flush...
    let d = net.nodes[b].hub.document_mut(&doc).unwrap();
    PlanDoc::change(d, |p| p.set_text(&TextField::PlanArea, "From node two")).unwrap();
    let ours = net.nodes[b].hub.document_mut(&doc).unwrap().get_heads();
    for (_, frame) in sends(net.nodes[b].hub.handle(100, Event::LocalChange { doc })) {
        let out = net.nodes[s2]
            .hub
            .handle(101, Event::Received { conn: bs, frame });
        assert!(!out.iter().any(|e| matches!(e, Effect::Persist { .. })));
    }
    // ...when node two reads what node one stored.
    let out = net.nodes[s2].hub.handle(102, Event::Stored { doc, chunk });
    assert!(!out.iter().any(|e| matches!(e, Effect::Persist { .. })));
    let flushed = net.nodes[s2].hub.handle(103, Event::Flush);
    let persisted: Vec<_> = flushed
        .iter()
        .filter_map(|e| match e {
            Effect::Persist { changes, .. } => {
                Some(changes.iter().map(|(h, _)| *h).collect::<Vec<_>>())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        persisted,
        vec![ours],
        "only node two's own change is stored"
    );
}

// ---------------------------------------------------------------- relay (a server dialing a server)

const Q3: crate::ReportingPeriod = crate::ReportingPeriod {
    year: 2026,
    quarter: crate::Quarter::Q3,
};

/// A guarded server named `name` holding `docs` (as restored from its storage).
fn server_holding(net: &mut Net, name: &str, docs: &[(DocumentId, &AutoCommit)]) -> usize {
    let config = HubConfig::server(PeerId(name.into()), format!("{name}-storage"));
    let node = net.add(config, name.len() as u64);
    for (doc, d) in docs {
        let bytes = (*d).clone().save();
        // Loaded as a server loads it: with an actor id of its own.
        let document = Box::new(AutoCommit::load(&bytes).unwrap());
        net.nodes[node]
            .storage
            .as_mut()
            .unwrap()
            .insert(*doc, bytes);
        net.event(
            node,
            Event::Restore {
                doc: *doc,
                document,
            },
        );
    }
    node
}

/// Connects a relay (`room`, which dials) to `central`, which grants the relay's token
/// `granted`; the room relays `relayed`.
fn relay(
    net: &mut Net,
    room: usize,
    central: usize,
    relayed: &[DocumentId],
    granted: &[DocumentId],
) -> (ConnId, ConnId) {
    let (r, c) = (ConnId(net.next_conn), ConnId(net.next_conn + 1));
    net.next_conn += 2;
    net.links.push(((room, r), (central, c)));
    let room_peer = net.nodes[room].hub.peer_id().clone();
    let central_peer = net.nodes[central].hub.peer_id().clone();
    net.queue.push_back((
        central,
        Event::Connected {
            conn: c,
            dialer: false,
        },
    ));
    net.queue.push_back((
        central,
        Event::Grant {
            conn: c,
            grants: granted.iter().map(|d| (*d, Access::Write)).collect(),
        },
    ));
    net.queue.push_back((
        central,
        Event::Joined {
            conn: c,
            peer: room_peer,
        },
    ));
    net.queue.push_back((
        room,
        Event::Dialed {
            conn: r,
            peer: central_peer,
            grants: relayed.iter().map(|d| (*d, Access::Write)).collect(),
        },
    ));
    net.run_until_quiescent();
    (r, c)
}

#[test]
fn a_server_dialing_an_upstream_server_merges_both_sides_offline_edits_and_is_sent_no_other_plan() {
    let (a, plan) = demo();
    let (b, other) = {
        let mut r = StdRng::seed_from_u64(7);
        (
            DocumentId::random(&mut r),
            demo_plan(&mut r).unwrap().into_automerge(),
        )
    };
    let mut net = Net::new();
    let central = server_holding(&mut net, "central", &[(a, &plan), (b, &other)]);
    let room = server_holding(&mut net, "room", &[(a, &plan)]);
    let action = first_action(&net.plan(room, &a));
    let ratings = net.plan(room, &a).themes[0].objectives[0].actions[0]
        .rag
        .len();
    // Apart: each side edits the same plan.
    net.edit(room, a, |p| {
        p.set_rag(&action, Q3, crate::Rag::Red).unwrap()
    });
    net.edit(central, a, |p| {
        p.splice_text(&TextField::ActionTitle(action.clone()), 0, 0, "central ")
            .unwrap()
    });
    net.nodes[room].sent.clear();
    relay(&mut net, room, central, &[a], &[a]);
    let heads = |net: &mut Net, n: usize| net.nodes[n].hub.document_mut(&a).unwrap().get_heads();
    assert_eq!(heads(&mut net, room), heads(&mut net, central));
    let at_central = net.plan(central, &a);
    assert_eq!(at_central, net.plan(room, &a));
    let merged = &at_central.themes[0].objectives[0].actions[0];
    assert!(merged.title.starts_with("central "));
    assert_eq!(
        merged.rag.len(),
        ratings + 1,
        "the room's rating reached the central server"
    );
    // The room sent only about the plan it relays, and was sent nothing about the other.
    assert!(net.nodes[room].hub.document(&b).is_none());
    assert!(net.nodes[central]
        .sent
        .iter()
        .all(|m| m.document() != Some(b)));
    assert!(net.nodes[room].sent.iter().all(|m| m.document() == Some(a)));
}

#[test]
fn a_relay_dialing_with_a_plan_its_token_does_not_grant_is_told_it_is_unavailable() {
    let (a, plan) = demo();
    let mut net = Net::new();
    let central = server_holding(&mut net, "central", &[(a, &plan)]);
    let room = server_holding(&mut net, "room", &[(a, &plan)]);
    let action = first_action(&net.plan(room, &a));
    net.edit(room, a, |p| {
        p.set_rag(&action, Q3, crate::Rag::Red).unwrap()
    });
    let before = net.nodes[central].hub.document_mut(&a).unwrap().get_heads();
    relay(&mut net, room, central, &[a], &[]);
    assert_eq!(
        net.nodes[central].hub.document_mut(&a).unwrap().get_heads(),
        before,
        "nothing from an ungranted relay is merged"
    );
    assert!(net.nodes[room].unavailable.contains(&a));
}

// ---------------------------------------------------------------- presence on a guarded server

/// A guarded server with the demo plan and clients who may write it, each named for presence
/// as the participant "<name>, Police"; every client has found the plan.
fn present(names: &[&str]) -> (Net, usize, DocumentId, Vec<(usize, ConnId)>) {
    let grants: Vec<(&str, Option<Access>)> =
        names.iter().map(|n| (*n, Some(Access::Write))).collect();
    let (mut net, s, doc, clients) = guarded(&grants);
    for ((c, sc), name) in clients.iter().zip(names) {
        net.event(
            s,
            Event::Present {
                conn: *sc,
                who: Stamp {
                    name: format!("{name} (verified)"),
                    agency: "Police".into(),
                    role: "editor".into(),
                    known: String::new(),
                },
            },
        );
        net.event(*c, Event::Find { doc });
    }
    (net, s, doc, clients)
}

fn snapshot_claiming(name: &str) -> Vec<u8> {
    encode_presence(&PresenceMessage::Snapshot(vec![
        ("view".into(), ciborium::Value::Text("tracker".into())),
        (
            PARTICIPANT.into(),
            ciborium::Value::Map(vec![(
                ciborium::Value::Text("name".into()),
                ciborium::Value::Text(name.into()),
            )]),
        ),
    ]))
}

fn stamped_name(data: &[u8]) -> Option<String> {
    match parse_presence(data)? {
        PresenceMessage::Snapshot(state) => state
            .iter()
            .find(|(k, _)| k == PARTICIPANT)
            .and_then(|(_, v)| read_stamp(v))
            .map(|s| s.name),
        _ => None,
    }
}

#[test]
fn a_guarded_server_stamps_presence_with_the_verified_participant_never_the_claimed_name() {
    let (mut net, _, doc, clients) = present(&["a", "b"]);
    let (a, b) = (clients[0].0, clients[1].0);
    net.event(
        a,
        Event::SendEphemeral {
            doc,
            data: snapshot_claiming("The Chief Constable"),
        },
    );
    let got = &net.nodes[b].ephemeral;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, PeerId("a".into()));
    assert_eq!(stamped_name(&got[0].1).as_deref(), Some("a (verified)"));
}

#[test]
fn when_a_present_peers_socket_closes_the_server_says_goodbye_for_it() {
    let (mut net, s, doc, clients) = present(&["a", "b"]);
    let (a, b) = (clients[0].0, clients[1].0);
    net.event(
        a,
        Event::SendEphemeral {
            doc,
            data: snapshot_claiming("a"),
        },
    );
    net.nodes[b].ephemeral.clear();
    net.disconnect(s, clients[0].1);
    net.run_until_quiescent();
    let got = &net.nodes[b].ephemeral;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, PeerId("a".into()));
    assert_eq!(parse_presence(&got[0].1), Some(PresenceMessage::Goodbye));
}

#[test]
fn presence_floods_are_cut_to_the_rate_limit_and_unnamed_connections_send_none() {
    let (mut net, s, doc, clients) = present(&["a", "b"]);
    let (a, b) = (clients[0].0, clients[1].0);
    for _ in 0..200 {
        net.event(
            a,
            Event::SendEphemeral {
                doc,
                data: encode_presence(&PresenceMessage::Heartbeat),
            },
        );
    }
    let passed = net.nodes[b].ephemeral.len();
    assert!((20..=25).contains(&passed), "{passed} of 200 passed");
    // A connection the server never named (no participant) passes nothing on.
    let c = net.client("c");
    let (_, sc) = net.connect(c, s);
    net.run_until_quiescent();
    net.event(
        s,
        Event::Grant {
            conn: sc,
            grants: [(doc, Access::Write)].into(),
        },
    );
    net.event(c, Event::Find { doc });
    net.nodes[b].ephemeral.clear();
    net.event(
        c,
        Event::SendEphemeral {
            doc,
            data: snapshot_claiming("c"),
        },
    );
    assert!(net.nodes[b].ephemeral.is_empty());
}

#[test]
fn a_relaying_server_never_sends_its_rooms_presence_upstream() {
    let (a_doc, plan) = demo();
    let mut net = Net::new();
    let central = server_holding(&mut net, "central", &[(a_doc, &plan)]);
    let room = server_holding(&mut net, "room", &[(a_doc, &plan)]);
    let (_, central_side) = relay(&mut net, room, central, &[a_doc], &[a_doc]);
    net.event(
        central,
        Event::Present {
            conn: central_side,
            who: Stamp {
                name: "Workshop laptop".into(),
                agency: String::new(),
                role: "editor".into(),
                known: String::new(),
            },
        },
    );
    let person = net.client("person");
    let (_, rc) = net.connect(person, room);
    net.run_until_quiescent();
    net.event(
        room,
        Event::Grant {
            conn: rc,
            grants: [(a_doc, Access::Write)].into(),
        },
    );
    net.event(
        room,
        Event::Present {
            conn: rc,
            who: Stamp {
                name: "Analyst".into(),
                agency: "Police".into(),
                role: "editor".into(),
                known: String::new(),
            },
        },
    );
    net.event(person, Event::Find { doc: a_doc });
    net.nodes[room].sent.clear();
    net.event(
        person,
        Event::SendEphemeral {
            doc: a_doc,
            data: snapshot_claiming("x"),
        },
    );
    assert!(net.nodes[room]
        .sent
        .iter()
        .all(|m| !matches!(m, Message::Ephemeral(_))));
    assert!(net.nodes[central].ephemeral.is_empty());
}
