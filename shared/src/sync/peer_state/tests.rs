//! Each step compared with automerge's own `sync.rs`.

use super::*;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::ROOT;
use proptest::prelude::*;

/// One step of a random session between two peers.
#[derive(Debug, Clone)]
enum Step {
    /// Peer `0` or `1` edits its document.
    Edit(usize, u8),
    /// Peer `from` sends its next message to the other, which receives it.
    Deliver(usize),
    /// The message peer `from` would send is lost.
    Drop(usize),
    /// Peer 1 loses its sync state (a reconnect).
    Reconnect,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..2usize, any::<u8>()).prop_map(|(p, v)| Step::Edit(p, v)),
        (0..2usize).prop_map(Step::Deliver),
        (0..2usize).prop_map(Step::Drop),
        Just(Step::Reconnect),
    ]
}

fn edit(doc: &mut AutoCommit, v: u8) {
    doc.put(ROOT, format!("k{}", v % 7), i64::from(v)).unwrap();
    // A fixed time, so that the same edit on two copies makes the same change.
    doc.commit_with(CommitOptions::default().with_time(0));
}

/// Peer 0 receives with automerge (its copy `a`) and with [`receive`] (its copy `b`),
/// which must agree on the document and the sync state after every step.
fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let mut a = AutoCommit::new();
    edit(&mut a, 0);
    let mut b = a.fork().with_actor(a.get_actor().clone());
    let mut peer = a.fork();
    let (mut sa, mut sb) = (State::new(), State::new());
    let mut sp = State::new();
    for s in steps {
        match s {
            Step::Edit(0, v) => {
                // The same edit with the same actor on both copies: same change.
                edit(&mut a, *v);
                edit(&mut b, *v);
            }
            Step::Edit(_, v) => edit(&mut peer, *v),
            Step::Deliver(0) | Step::Drop(0) => {
                let ma = a.sync().generate_sync_message(&mut sa);
                let mb = b.sync().generate_sync_message(&mut sb);
                prop_assert_eq!(
                    ma.as_ref().map(|m| m.clone().encode()),
                    mb.map(|m| m.encode())
                );
                if let (Some(m), Step::Deliver(_)) = (ma, s) {
                    peer.sync().receive_sync_message(&mut sp, m).unwrap();
                }
            }
            Step::Deliver(_) | Step::Drop(_) => {
                let Some(m) = peer.sync().generate_sync_message(&mut sp) else {
                    continue;
                };
                if matches!(s, Step::Deliver(_)) {
                    a.sync().receive_sync_message(&mut sa, m.clone()).unwrap();
                    receive(&mut b, &mut sb, m).unwrap();
                }
            }
            Step::Reconnect => sp = State::new(),
        }
        prop_assert_eq!(a.get_heads(), b.get_heads());
        prop_assert_eq!(&sa, &sb);
        if nothing_to_send(&mut a, &sa) {
            prop_assert!(a.sync().generate_sync_message(&mut sa.clone()).is_none());
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn receive_updates_the_sync_state_exactly_as_automerge_does(steps in proptest::collection::vec(step(), 1..60)) {
        run(&steps)?;
    }
}

#[test]
fn a_peer_holding_part_of_a_young_document_is_sent_changes_not_the_whole_document() {
    // A plan made in one large change, then small edits: each edit is a third or more
    // of the document's changes, where automerge would send everything.
    let mut server = AutoCommit::new();
    // Text that does not compress away: the whole document is then clearly larger.
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let text: String = (0..20_000)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect();
    server.put(ROOT, "plan", text).unwrap();
    server.commit();
    let mut client = AutoCommit::new();
    let (mut ss, mut sc) = (State::new(), State::new());
    let mut largest = 0;
    for _ in 0..4 {
        if let Some(m) = generate(&mut server, &mut ss) {
            largest = largest.max(m.clone().encode().len());
            client.sync().receive_sync_message(&mut sc, m).unwrap();
        }
        if let Some(m) = client.sync().generate_sync_message(&mut sc) {
            receive(&mut server, &mut ss, m).unwrap();
        }
    }
    assert!(largest > 1_000, "a peer with nothing gets the document");
    edit(&mut server, 1);
    edit(&mut server, 2);
    let m = generate(&mut server, &mut ss).expect("the edits are sent");
    let size = m.clone().encode().len();
    assert!(
        size < 1_000,
        "two small changes, not the document: {size} bytes"
    );
    client.sync().receive_sync_message(&mut sc, m).unwrap();
    assert_eq!(client.get_heads(), server.get_heads());
    assert!(
        ss.their_capabilities.is_some(),
        "the peer's capabilities are kept"
    );
}

#[test]
fn a_peer_whose_heads_we_hold_is_sent_what_it_lacks_even_when_its_bloom_filter_claims_it() {
    // Both hold the same edit; the server then makes two more the client lacks.
    let mut server = AutoCommit::new();
    edit(&mut server, 1);
    let mut client = server.fork();
    let (mut ss, mut sc) = (State::new(), State::new());
    let shared = client.get_heads();
    edit(&mut server, 2);
    edit(&mut server, 3);
    let lacking: Vec<ChangeHash> = server
        .get_changes(&shared)
        .iter()
        .map(|c| c.hash())
        .collect();
    assert_eq!(lacking.len(), 2);
    // The client's message: its heads, and a bloom filter that matches the server's
    // new changes (as false positives do, each about one time in a hundred).
    sc.shared_heads = shared.clone();
    let mut m = client
        .sync()
        .generate_sync_message(&mut sc)
        .expect("the client speaks first");
    m.have = vec![sync::Have {
        last_sync: shared,
        bloom: sync::BloomFilter::from_hashes(lacking.iter()),
    }];
    receive(&mut server, &mut ss, m).unwrap();
    let answer = generate(&mut server, &mut ss).expect("the server answers");
    client.sync().receive_sync_message(&mut sc, answer).unwrap();
    assert_eq!(
        client.get_heads(),
        server.get_heads(),
        "one message brings both changes"
    );
    assert_eq!(
        ss.their_have.as_ref().map(|h| h[0].bloom.to_bytes()),
        Some(sync::BloomFilter::from_hashes(lacking.iter()).to_bytes()),
        "the peer's own have is kept in its state"
    );
}

#[test]
fn an_acknowledgement_of_everything_sent_clears_the_sent_changes() {
    let mut server = AutoCommit::new();
    edit(&mut server, 1);
    let mut client = AutoCommit::new();
    let (mut ss, mut sc) = (State::new(), State::new());
    for _ in 0..4 {
        if let Some(m) = server.sync().generate_sync_message(&mut ss) {
            client.sync().receive_sync_message(&mut sc, m).unwrap();
        }
        if let Some(m) = client.sync().generate_sync_message(&mut sc) {
            receive(&mut server, &mut ss, m).unwrap();
        }
    }
    assert_eq!(client.get_heads(), server.get_heads());
    assert!(ss.sent_hashes.is_empty());
    assert!(nothing_to_send(&mut server, &ss));
    edit(&mut server, 2);
    assert!(
        !nothing_to_send(&mut server, &ss),
        "a new change is to be sent"
    );
}

#[test]
fn a_peer_sent_the_whole_document_is_answered_once_more_with_our_heads_and_then_left_alone() {
    let mut server = AutoCommit::new();
    edit(&mut server, 1);
    let mut client = AutoCommit::new();
    let (mut ss, mut sc) = (State::new(), State::new());
    let ask = client
        .sync()
        .generate_sync_message(&mut sc)
        .expect("a request");
    receive(&mut server, &mut ss, ask).unwrap();
    let whole = generate(&mut server, &mut ss).expect("the document");
    assert!(!whole.changes.is_empty());
    client.sync().receive_sync_message(&mut sc, whole).unwrap();
    let ack = client
        .sync()
        .generate_sync_message(&mut sc)
        .expect("its acknowledgement");
    assert!(
        sc.in_flight,
        "the client waits for our answer to its acknowledgement"
    );
    receive(&mut server, &mut ss, ack).unwrap();
    assert!(!nothing_to_send(&mut server, &ss));
    let heads = generate(&mut server, &mut ss).expect("our heads, once more");
    assert!(heads.changes.is_empty());
    assert_eq!(heads.heads, server.get_heads());
    client.sync().receive_sync_message(&mut sc, heads).unwrap();
    assert!(!sc.in_flight, "the client is in step with us");
    assert!(client.sync().generate_sync_message(&mut sc).is_none());
    assert!(
        nothing_to_send(&mut server, &ss),
        "and then there is nothing more"
    );
}
