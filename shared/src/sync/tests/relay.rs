//! A server dialing a server (a relay).

use super::*;

const Q3: crate::ReportingPeriod = crate::ReportingPeriod {
    year: 2026,
    quarter: crate::Quarter::Q3,
};

/// A guarded server named `name` holding `docs` (as restored from its storage).
pub(super) fn server_holding(
    net: &mut Net,
    name: &str,
    docs: &[(DocumentId, &AutoCommit)],
) -> usize {
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
pub(super) fn relay(
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
