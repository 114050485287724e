//! Sync through a server: convergence, persist before send, unavailable documents, offline edits.

use super::*;

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
fn a_server_sends_no_heads_that_include_a_change_until_its_persist_completed() {
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
    let Some(&Effect::Persist { id, .. }) = server_effects
        .iter()
        .find(|e| matches!(e, Effect::Persist { .. }))
    else {
        panic!("a persist: {server_effects:?}");
    };
    // A driver sends whatever the core gives it at once: nothing may advertise the change
    // while its persist is under way, whatever else happens meanwhile.
    let mut meanwhile = server_effects;
    meanwhile.extend(
        net.nodes[s]
            .hub
            .handle(1003, Event::Delivered { conn: sc, doc }),
    );
    meanwhile.extend(net.nodes[s].hub.handle(1004, Event::Flush));
    assert!(
        !meanwhile.iter().any(|e| matches!(e, Effect::Send { .. })),
        "{meanwhile:?}"
    );
    let done = net.nodes[s].hub.handle(
        1005,
        Event::Persisted {
            ids: vec![id],
            result: Ok(()),
        },
    );
    assert!(
        done.iter()
            .any(|e| matches!(e, Effect::Send { conn, .. } if *conn == sc)),
        "the reply goes once the change is stored: {done:?}"
    );
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
