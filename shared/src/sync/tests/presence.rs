//! Presence on a guarded server.

use super::relay::{relay, server_holding};
use super::*;

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
