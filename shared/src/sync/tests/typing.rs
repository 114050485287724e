//! A client that stores what it has (the browser) and changes the plan faster than its
//! storage completes: it sends what is stored meanwhile and applies what it hears.

use super::*;

/// Types `keys` at the end of a text.
fn type_at_end(p: &mut PlanDoc, field: &TextField, keys: &str) {
    let end = p.text(field).unwrap().chars().count();
    p.splice_text(field, end, 0, keys).unwrap();
}

/// The browser: a client that persists every change before anything advertises it,
/// connected to server `s` and holding `doc`.
fn storing_browser(net: &mut Net, s: usize, doc: DocumentId) -> usize {
    let mut config = HubConfig::client(PeerId("browser".into()));
    config.persist = true;
    let b = net.add(config, 7);
    net.connect(b, s);
    net.run_until_quiescent();
    net.event(b, Event::Find { doc });
    b
}

#[test]
fn a_storing_client_typing_faster_than_its_storage_sends_what_is_stored_and_hears_others() {
    let (mut net, s, doc, clients) = sharing_the_demo(&["other"]);
    let o = clients[0].0;
    let b = storing_browser(&mut net, s, doc);
    let plan = net.plan(b, &doc);
    let mine = TextField::ActionTitle(first_action(&plan));
    let theirs = TextField::ActionTitle(plan.themes[1].objectives[0].actions[0].id.clone());
    let text = |net: &mut Net, node: usize, field: &TextField| {
        let d = net.nodes[node].hub.document_mut(&doc).unwrap().clone();
        PlanDoc::from_automerge(d).unwrap().text(field).unwrap()
    };
    let (mut heard, mut server_had) = (None, None);
    for key in 0..60 {
        // A keystroke, then only two events delivered before the next: a persist is
        // always under way when the next keystroke comes (without sending what is stored,
        // the client then sends nothing and applies nothing until typing stops).
        net.change(b, doc, |p| type_at_end(p, &mine, "y"));
        net.queue.push_back((b, Event::LocalChange { doc }));
        if key == 5 {
            net.change(o, doc, |p| {
                p.splice_text(&theirs, 0, 0, "[theirs] ").unwrap()
            });
            net.queue.push_back((o, Event::LocalChange { doc }));
        }
        for _ in 0..2 {
            net.step();
        }
        assert!(net.nodes[b].hub.document_mut(&doc).is_some());
        if heard.is_none() && text(&mut net, b, &theirs).starts_with("[theirs] ") {
            heard = Some(key);
        }
        if server_had.is_none() && text(&mut net, s, &mine).ends_with("yyy") {
            server_had = Some(key);
        }
    }
    assert!(
        heard.is_some(),
        "the others' change never reached the client while it typed"
    );
    assert!(
        server_had.is_some(),
        "the server never had the client's keystrokes while it typed"
    );
    // Once typing stops, everything arrives everywhere.
    net.run_until_quiescent();
    let ours = text(&mut net, b, &mine);
    assert!(ours.ends_with(&"y".repeat(60)), "{ours}");
    for node in [s, o] {
        assert_eq!(text(&mut net, node, &mine), ours);
    }
}

#[test]
fn a_burst_of_edits_stored_in_one_write_goes_to_the_server_as_one_message_advertising_them_all() {
    let (mut net, s, doc, _) = sharing_the_demo(&["other"]);
    let b = storing_browser(&mut net, s, doc);
    let plan = net.plan(b, &doc);
    let field = TextField::ActionTitle(first_action(&plan));
    // Twenty edits while nothing is stored yet: none is sent before it is stored, and
    // each asks to be stored.
    let (mut ids, mut effects) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        net.change(b, doc, |p| type_at_end(p, &field, "z"));
        let now = net.now;
        let made = net.nodes[b].hub.handle(now, Event::LocalChange { doc });
        ids.extend(made.iter().filter_map(|e| match e {
            Effect::Persist { id, .. } => Some(*id),
            _ => None,
        }));
        effects.extend(made);
    }
    assert_eq!(ids.len(), 20, "each edit is stored");
    assert!(
        sends(effects).is_empty(),
        "nothing goes to the server before it is stored"
    );
    // The driver wrote them in one transaction and says so once: one message, with them all.
    let now = net.now;
    let done = net.nodes[b].hub.handle(
        now,
        Event::Persisted {
            ids,
            result: Ok(()),
        },
    );
    let sent = sends(done);
    assert_eq!(sent.len(), 1, "one message for the twenty");
    let Message::Sync(m) = decode_message(&sent[0].1, usize::MAX).unwrap() else {
        panic!("a sync message");
    };
    let heads = automerge::sync::Message::decode(&m.data).unwrap().heads;
    let ours = net.nodes[b].hub.document_mut(&doc).unwrap().get_heads();
    assert_eq!(heads, ours, "it advertises every edit");
}
