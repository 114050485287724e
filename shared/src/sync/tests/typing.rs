//! A client that stores what it has (the browser) and changes the plan faster than its
//! storage completes: it sends what is stored meanwhile and applies what it hears.

use super::*;

#[test]
fn a_storing_client_typing_faster_than_its_storage_sends_what_is_stored_and_hears_others() {
    let (mut net, s, doc, clients) = sharing_the_demo(&["other"]);
    let o = clients[0].0;
    // The browser: it persists every change before anything advertises it.
    let mut config = HubConfig::client(PeerId("browser".into()));
    config.persist = true;
    let b = net.add(config, 7);
    net.connect(b, s);
    net.run_until_quiescent();
    net.event(b, Event::Find { doc });
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
        let d = net.nodes[b].hub.document_mut(&doc).unwrap();
        let mut p = PlanDoc::from_automerge(std::mem::take(d)).unwrap();
        let end = p.text(&mine).unwrap().chars().count();
        p.splice_text(&mine, end, 0, "y").unwrap();
        p.commit();
        *net.nodes[b].hub.document_mut(&doc).unwrap() = p.into_automerge();
        net.queue.push_back((b, Event::LocalChange { doc }));
        if key == 5 {
            let d = net.nodes[o].hub.document_mut(&doc).unwrap();
            let mut p = PlanDoc::from_automerge(std::mem::take(d)).unwrap();
            p.splice_text(&theirs, 0, 0, "[theirs] ").unwrap();
            p.commit();
            *net.nodes[o].hub.document_mut(&doc).unwrap() = p.into_automerge();
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
