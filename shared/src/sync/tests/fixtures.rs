//! The tests' shared fixtures: demo plans, a server and clients sharing one, two nodes over
//! one database, a guarded server, and helpers over a batch of effects.

use super::*;

pub(super) fn demo() -> (DocumentId, AutoCommit) {
    demo_with_seed(42)
}

/// A demo plan of its own (another id) for each seed.
pub(super) fn demo_with_seed(seed: u64) -> (DocumentId, AutoCommit) {
    let mut r = StdRng::seed_from_u64(seed);
    let plan = demo_plan(&mut r).unwrap();
    (DocumentId::random(&mut r), plan.into_automerge())
}

pub(super) fn first_action(plan: &crate::Plan) -> crate::ActionId {
    plan.themes[0].objectives[0].actions[0].id.clone()
}

/// A server and clients with these names, all syncing the demo plan (the first client
/// adds it): the net, the server, the document, and each client with the server's end of
/// its connection.
pub(super) fn sharing_the_demo(names: &[&str]) -> (Net, usize, DocumentId, Vec<(usize, ConnId)>) {
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

/// Two server nodes holding the same plan (as over one database: node two restored it),
/// client A on node one and client B on node two, both syncing it.
pub(super) struct TwoNodes {
    pub(super) net: Net,
    pub(super) s1: usize,
    pub(super) s2: usize,
    pub(super) doc: DocumentId,
    /// The plan as both nodes started from.
    pub(super) bytes: Vec<u8>,
    pub(super) a: usize,
    pub(super) b: usize,
    /// Node two's end of B's connection.
    pub(super) bs: ConnId,
}

pub(super) fn two_nodes() -> TwoNodes {
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

/// A guarded server holding the demo plan (added by the server itself), and clients
/// connected to it with the given grants on that plan.
pub(super) fn guarded(
    grants: &[(&str, Option<Access>)],
) -> (Net, usize, DocumentId, Vec<(usize, ConnId)>) {
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

/// The frames a batch of effects sends, by connection.
pub(super) fn sends(effects: Vec<Effect>) -> Vec<(ConnId, Vec<u8>)> {
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Send { conn, frame, .. } => Some((conn, frame)),
            _ => None,
        })
        .collect()
}

/// `effects`, then what completing each of their persists brings (as a driver reports it).
pub(super) fn with_persists_done(hub: &mut Hub, now: u64, effects: Vec<Effect>) -> Vec<Effect> {
    let ids: Vec<PersistId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Persist { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    let mut all = effects;
    for id in ids {
        all.extend(hub.handle(
            now,
            Event::Persisted {
                ids: vec![id],
                result: Ok(()),
            },
        ));
    }
    all
}
