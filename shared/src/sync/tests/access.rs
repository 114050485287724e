//! Access on a guarded server: grants, viewers, editors, owners, size limits.

use super::*;

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
