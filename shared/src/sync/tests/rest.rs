//! Resting: a document its peers leave alone is held as its saved bytes, and wakes for the
//! next thing that reads it with nothing lost or resent.

use super::*;

/// Lets more than a server's rest time pass on the network's clock, then ticks `node`.
fn pass_rest_time(net: &mut Net, node: usize) {
    net.now += SERVER_REST_AFTER_MS + 1;
    net.event(node, Event::Tick);
}

#[test]
fn a_quiet_document_rests_on_the_server_and_wakes_for_the_next_change() {
    let (mut net, s, doc, clients) = sharing_the_demo(&["a", "b"]);
    let (a, b) = (clients[0].0, clients[1].0);
    assert_eq!(net.nodes[s].hub.resting(), 0, "in use: awake");
    let due = net.nodes[s]
        .hub
        .next_rest()
        .expect("a quiet document may rest");
    assert!(due > net.now, "not before its quiet time has passed");
    pass_rest_time(&mut net, s);
    assert_eq!(
        net.nodes[s].hub.resting(),
        1,
        "quiet for its rest time: resting"
    );
    assert_eq!(net.nodes[s].hub.next_rest(), None, "nothing more to rest");

    let sent_before = net.nodes[s].sent.len();
    let act = first_action(&net.plan(a, &doc));
    net.edit(a, doc, |p| {
        p.set_text(&TextField::ActionTitle(act.clone()), "Woken by an edit")
            .unwrap()
    });
    assert_eq!(net.nodes[s].hub.resting(), 0, "the change woke it");
    assert_eq!(net.plan(b, &doc), net.plan(a, &doc), "b has a's change");
    assert!(net.nodes[s].sent.len() > sent_before);

    // Again: rest, and this time b's change wakes it for a.
    pass_rest_time(&mut net, s);
    assert_eq!(net.nodes[s].hub.resting(), 1);
    net.edit(b, doc, |p| {
        p.set_text(&TextField::ActionTitle(act.clone()), "And by another")
            .unwrap()
    });
    assert_eq!(net.plan(a, &doc), net.plan(b, &doc), "a has b's change");
    assert_eq!(
        net.plan(s, &doc),
        net.plan(a, &doc),
        "the server's woken copy has both"
    );
    assert!(net.nodes[s].errors.is_empty(), "{:?}", net.nodes[s].errors);
}

#[test]
fn a_resting_document_sends_its_peers_nothing_new_when_it_wakes() {
    let (mut net, s, doc, _clients) = sharing_the_demo(&["a", "b"]);
    pass_rest_time(&mut net, s);
    assert_eq!(net.nodes[s].hub.resting(), 1);
    let sent = net.nodes[s].sent.len();
    // Reading it (as the server's own pages do) wakes it, and nobody is sent anything.
    let heads = net.nodes[s].hub.document_mut(&doc).unwrap().get_heads();
    assert!(!heads.is_empty());
    net.event(s, Event::LocalChange { doc });
    assert_eq!(net.nodes[s].sent.len(), sent, "no change: no message");
    assert_eq!(net.nodes[s].hub.resting(), 0, "read: awake again");
}

#[test]
fn a_document_with_a_change_not_yet_stored_does_not_rest() {
    let (mut net, s, doc, clients) = sharing_the_demo(&["a", "b"]);
    let a = clients[0].0;
    let act = first_action(&net.plan(a, &doc));
    // a's change reaches the server, whose persist has not completed yet.
    let d = net.nodes[a].hub.document_mut(&doc).unwrap();
    let mut p = PlanDoc::from_automerge(std::mem::take(d)).unwrap();
    p.set_text(&TextField::ActionTitle(act), "Stored late")
        .unwrap();
    p.commit();
    *net.nodes[a].hub.document_mut(&doc).unwrap() = p.into_automerge();
    // Hand the change over without running the network to completion.
    let effects = net.nodes[a].hub.handle(net.now, Event::LocalChange { doc });
    let frame = sends(effects)
        .into_iter()
        .next()
        .expect("a sends its change")
        .1;
    let server_conn = clients[0].1;
    net.now += 1;
    net.nodes[s].hub.handle(
        net.now,
        Event::Received {
            conn: server_conn,
            frame,
        },
    );
    let effects = net.nodes[s].hub.handle(net.now, Event::Flush);
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Persist { .. })),
        "the change is to be stored"
    );
    assert_eq!(
        net.nodes[s].hub.next_rest(),
        None,
        "not quiet while storing"
    );
    net.now += SERVER_REST_AFTER_MS + 1;
    net.nodes[s].hub.handle(net.now, Event::Tick);
    assert_eq!(net.nodes[s].hub.resting(), 0, "a change waits to be stored");
}

#[test]
fn a_resting_document_is_sent_to_a_new_peer_without_being_loaded() {
    let (mut net, s, doc, clients) = sharing_the_demo(&["a"]);
    pass_rest_time(&mut net, s);
    assert_eq!(net.nodes[s].hub.resting(), 1);
    let c = net.client("newcomer");
    net.connect(c, s);
    net.run_until_quiescent();
    net.event(c, Event::Find { doc });
    assert_eq!(
        net.plan(c, &doc),
        net.plan(clients[0].0, &doc),
        "it holds the plan"
    );
    assert_eq!(
        net.nodes[s].hub.resting(),
        1,
        "the server answered from the saved bytes"
    );
    assert!(net.nodes[s].errors.is_empty(), "{:?}", net.nodes[s].errors);
}

#[test]
fn a_document_that_rests_again_after_an_edit_sends_a_new_peer_the_edit_too() {
    let (mut net, s, doc, clients) = sharing_the_demo(&["a"]);
    let a = clients[0].0;
    pass_rest_time(&mut net, s);
    let act = first_action(&net.plan(a, &doc));
    net.edit(a, doc, |p| {
        p.set_text(&TextField::ActionTitle(act.clone()), "Edited between rests")
            .unwrap()
    });
    pass_rest_time(&mut net, s);
    assert_eq!(net.nodes[s].hub.resting(), 1, "resting again, edit and all");
    let c = net.client("newcomer");
    net.connect(c, s);
    net.run_until_quiescent();
    net.event(c, Event::Find { doc });
    assert_eq!(net.plan(c, &doc), net.plan(a, &doc), "it holds the edit");
    assert_eq!(
        net.nodes[s].hub.resting(),
        1,
        "answered from the saved bytes"
    );
    assert!(net.nodes[s].errors.is_empty(), "{:?}", net.nodes[s].errors);
    assert!(net.nodes[c].errors.is_empty(), "{:?}", net.nodes[c].errors);
}

#[test]
fn peers_holding_nothing_that_find_an_awake_document_together_all_get_it() {
    let (mut net, s, doc, clients) = sharing_the_demo(&["a"]);
    let a = clients[0].0;
    let newcomers: Vec<usize> = ["n1", "n2", "n3"].iter().map(|n| net.client(n)).collect();
    for &c in &newcomers {
        net.connect(c, s);
    }
    net.run_until_quiescent();
    for &c in &newcomers {
        net.event(c, Event::Find { doc });
    }
    assert_eq!(net.nodes[s].hub.resting(), 0, "in use: awake");
    for &c in &newcomers {
        assert_eq!(net.plan(c, &doc), net.plan(a, &doc));
        assert!(net.nodes[c].errors.is_empty(), "{:?}", net.nodes[c].errors);
    }
}

/// A server hub as each plan's actor runs it (it keeps documents nobody syncs), to which
/// client "a" added `d` and then left: the net, the server and client "a".
fn kept_after_its_last_peer_left(doc: DocumentId, d: AutoCommit) -> (Net, usize, usize) {
    let mut net = Net::new();
    let mut config = HubConfig::server(PeerId("server".into()), "server-storage".into());
    config.guarded = false;
    config.keep_unsynced = true;
    let s = net.add(config, 0);
    let a = net.client("a");
    let (ac, _) = net.connect(a, s);
    net.run_until_quiescent();
    net.event(
        a,
        Event::Add {
            doc,
            document: Box::new(d),
        },
    );
    net.disconnect(a, ac);
    net.run_until_quiescent();
    assert_eq!(net.nodes[s].hub.documents(), vec![doc], "kept");
    (net, s, a)
}

/// How many times `server` loads `doc` from storage while a new client finds it.
fn loads_while_found(net: &mut Net, server: usize, doc: DocumentId) -> (usize, usize) {
    let loads = net.nodes[server].loads;
    let b = net.client("b");
    net.connect(b, server);
    net.run_until_quiescent();
    net.event(b, Event::Find { doc });
    (net.nodes[server].loads - loads, b)
}

#[test]
fn a_kept_document_rests_when_its_last_peer_leaves_and_answers_the_next_without_loading() {
    let (doc, d) = demo();
    let (mut net, s, a) = kept_after_its_last_peer_left(doc, d);
    assert_eq!(
        net.nodes[s].hub.resting(),
        1,
        "nobody syncs it: it rests at once"
    );
    let (loads, b) = loads_while_found(&mut net, s, doc);
    assert_eq!(loads, 0, "answered from the kept copy");
    assert_eq!(net.plan(b, &doc), net.plan(a, &doc));
    assert!(net.nodes[s].errors.is_empty(), "{:?}", net.nodes[s].errors);
}

#[test]
fn a_kept_document_nobody_syncs_is_forgotten_when_another_node_stores_a_change() {
    let (doc, mut d) = demo();
    let mut other = d.fork();
    let (mut net, s, _) = kept_after_its_last_peer_left(doc, d);
    automerge::transaction::Transactable::put(&mut other, automerge::ROOT, "elsewhere", true)
        .unwrap();
    let chunk = other.save_incremental();
    net.event(s, Event::Stored { doc, chunk });
    assert!(
        net.nodes[s].hub.documents().is_empty(),
        "storage is newer than the kept copy: it loads again when next asked for"
    );
    assert_eq!(loads_while_found(&mut net, s, doc).0, 1);
}
