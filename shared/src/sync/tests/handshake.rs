//! The handshake and hostile peers: versions, peer ids, joins, malformed frames.

use super::*;

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
