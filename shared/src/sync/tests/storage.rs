//! Storage: forgetting and reloading, restored documents, changes other nodes stored.

use super::*;

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
fn a_connections_hub_routes_granted_messages_to_the_documents_hub_which_answers_them() {
    let mut net = Net::new();
    let front = net.add(
        HubConfig::server(PeerId("server".into()), "server-storage".into()).router(),
        0,
    );
    let s = net.guarded_server();
    let (doc, d) = demo();
    let (other, _) = demo_with_seed(7);
    net.event(
        s,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    let c = net.client("c");
    let (cc, fc) = net.connect(c, front);
    net.queue.push_back((
        front,
        Event::Grant {
            conn: fc,
            grants: [(doc, Access::Read)].into(),
        },
    ));
    net.run_until_quiescent();
    let routed = |effects: &[Effect]| -> Vec<(DocumentId, Option<Attached>)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Route { doc, attach, .. } => Some((*doc, attach.clone())),
                _ => None,
            })
            .collect()
    };
    let ask = |net: &mut Net, doc: DocumentId| {
        let asked = net.nodes[c].hub.handle(2, Event::Find { doc });
        sends(asked)
            .into_iter()
            .find(|(conn, _)| *conn == cc)
            .expect("the client asks")
            .1
    };
    // The first message about the granted plan goes to its hub, with the connection.
    let frame = ask(&mut net, doc);
    let out = net.nodes[front].hub.handle(
        3,
        Event::Received {
            conn: fc,
            frame: frame.clone(),
        },
    );
    let first = routed(&out);
    assert_eq!(first.len(), 1, "routed once: {out:?}");
    let (to, attached) = first[0].clone();
    let attached = attached.expect("with the connection");
    assert_eq!(to, doc);
    assert_eq!(attached.peer, PeerId("c".into()));
    assert_eq!(attached.access, Access::Read);
    assert!(
        sends(out.clone()).is_empty(),
        "the front answers nothing itself"
    );
    // The document's hub learns of it once, sends no handshake, and answers the request.
    let Some(Effect::Route { message, .. }) =
        out.into_iter().find(|e| matches!(e, Effect::Route { .. }))
    else {
        unreachable!()
    };
    let mut answer = net.nodes[s].hub.handle(
        4,
        Event::Attach {
            conn: fc,
            doc,
            attached,
            who: None,
        },
    );
    assert!(sends(answer.clone()).is_empty(), "no second handshake");
    answer.extend(
        net.nodes[s]
            .hub
            .handle(5, Event::Decoded { conn: fc, message }),
    );
    answer.extend(net.nodes[s].hub.handle(6, Event::Flush));
    let synced = sends(answer).into_iter().any(|(conn, frame)| {
        conn == fc
            && matches!(decode_message(&frame, usize::MAX), Ok(Message::Sync(m)) if m.document_id == doc)
    });
    assert!(synced, "the document's hub answers the routed connection");
    // Later messages are routed without the connection; a plan not granted is unavailable.
    let out = net.nodes[front]
        .hub
        .handle(7, Event::Received { conn: fc, frame });
    assert_eq!(routed(&out), vec![(doc, None)]);
    let frame = ask(&mut net, other);
    let out = net.nodes[front]
        .hub
        .handle(8, Event::Received { conn: fc, frame });
    assert!(routed(&out).is_empty());
    let unavailable = sends(out).into_iter().any(|(conn, frame)| {
        conn == fc
            && matches!(decode_message(&frame, usize::MAX), Ok(Message::DocUnavailable { document_id, .. }) if document_id == other)
    });
    assert!(unavailable, "not granted: unavailable, from the front");
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
