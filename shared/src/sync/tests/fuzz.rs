//! Fuzz targets (proptest). `PROPTEST_CASES` sets how many cases each runs (256 by default,
//! as in CI); `scripts/fuzz.sh` runs them longer and prints executions and failures.

use super::*;

/// One thing a hostile or broken peer might send the server.
#[derive(Debug, Clone)]
enum PeerInput {
    /// Raw bytes as a frame.
    Frame(Vec<u8>),
    /// A CBOR map with protocol-like keys and arbitrary values.
    Cbor(Vec<(u8, u8)>),
    /// A `request` or `sync` for the plan (or another document) carrying arbitrary data.
    Sync {
        plan: bool,
        request: bool,
        data: Vec<u8>,
    },
    /// A well-formed sync message whose change chunk is a real change with one byte flipped.
    Mangled { at: usize, xor: u8 },
    /// A well-formed sync message with a real change (a legitimate edit).
    Edit,
    /// The socket closes and a new one opens.
    Reconnect,
}

fn peer_input() -> impl Strategy<Value = PeerInput> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256).prop_map(PeerInput::Frame),
        prop::collection::vec((0u8..8, 0u8..8), 0..8).prop_map(PeerInput::Cbor),
        (
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..256)
        )
            .prop_map(|(plan, request, data)| PeerInput::Sync {
                plan,
                request,
                data
            }),
        (any::<usize>(), 1u8..=255).prop_map(|(at, xor)| PeerInput::Mangled { at, xor }),
        Just(PeerInput::Edit),
        Just(PeerInput::Reconnect),
    ]
}

/// A CBOR frame built from (key, value) picks among protocol words and odd values.
fn cbor_frame(pairs: &[(u8, u8)]) -> Vec<u8> {
    use ciborium::Value as V;
    let keys = [
        "type",
        "senderId",
        "targetId",
        "documentId",
        "data",
        "count",
        "sessionId",
        "peerMetadata",
    ];
    let values = [
        V::Text("sync".into()),
        V::Text("join".into()),
        V::Text("ephemeral".into()),
        V::Bytes(vec![0x42, 0, 1]),
        V::Integer((-1).into()),
        V::Array(vec![V::Null]),
        V::Map(vec![]),
        V::Text("4J8e54NPatzR4ErK83keqZhXAT9y".into()),
    ];
    let map = V::Map(
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    V::Text(keys[*k as usize].into()),
                    values[*v as usize].clone(),
                )
            })
            .collect(),
    );
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).unwrap();
    out
}

/// The demo plan and one real change on top of it, made once.
fn fuzz_fixture() -> &'static (DocumentId, Vec<u8>, Vec<u8>) {
    static FIXTURE: std::sync::OnceLock<(DocumentId, Vec<u8>, Vec<u8>)> =
        std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (doc, mut d) = demo();
        let saved = d.save();
        let act = first_action(&read_plan(&d).unwrap());
        PlanDoc::change(&mut d, |p| {
            p.set_text(&TextField::ActionTitle(act), "Fuzzed")
        })
        .unwrap();
        let change = d.get_last_local_change().unwrap().raw_bytes().to_vec();
        (doc, saved, change)
    })
}

fn sync_frame(doc: DocumentId, request: bool, data: Vec<u8>) -> Vec<u8> {
    let m = DocMessage {
        sender_id: PeerId("fuzzer".into()),
        target_id: PeerId("server".into()),
        document_id: doc,
        data,
    };
    encode_message(&if request {
        Message::Request(m)
    } else {
        Message::Sync(m)
    })
}

fn change_message(change: Vec<u8>) -> Vec<u8> {
    automerge::sync::Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: vec![change].into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    }
    .encode()
}

/// Cases for a slow fuzz target: `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(64)))]
    #[test]
    fn fuzz_sync_core_fed_arbitrary_message_sequences_never_panics_and_stores_only_valid_changes(
        inputs in prop::collection::vec(peer_input(), 1..24)
    ) {
        let (doc, saved, change) = fuzz_fixture().clone();
        let mut hub = Hub::new(
            HubConfig::server(PeerId("server".into()), "s".into()),
            &mut StdRng::seed_from_u64(1),
        );
        let mut stored = saved.clone();
        let mut conn = ConnId(1);
        let join = encode_message(&Message::Join {
            sender_id: PeerId("fuzzer".into()),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: Some(vec!["1".into()]),
        });
        let open = |hub: &mut Hub, conn: ConnId| {
            let mut e = hub.handle(0, Event::Connected { conn, dialer: false });
            e.extend(hub.handle(0, Event::Grant { conn, grants: [(doc, Access::Write)].into() }));
            e.extend(hub.handle(0, Event::Received { conn, frame: join.clone() }));
            e
        };
        let mut queue: VecDeque<Event> = VecDeque::new();
        let mut effects = open(&mut hub, conn);
        for (i, input) in inputs.into_iter().enumerate() {
            let frame = match input {
                PeerInput::Frame(b) => b,
                PeerInput::Cbor(pairs) => cbor_frame(&pairs),
                PeerInput::Sync { plan, request, data } => {
                    let target = if plan { doc } else { DocumentId([9; 16]) };
                    sync_frame(target, request, data)
                }
                PeerInput::Mangled { at, xor } => {
                    let mut c = change.clone();
                    let at = at % c.len();
                    c[at] ^= xor;
                    sync_frame(doc, false, change_message(c))
                }
                PeerInput::Edit => sync_frame(doc, false, change_message(change.clone())),
                PeerInput::Reconnect => {
                    effects.extend(hub.handle(i as u64, Event::Disconnected { conn }));
                    conn = ConnId(conn.0 + 1);
                    effects.extend(open(&mut hub, conn));
                    continue;
                }
            };
            queue.push_back(Event::Received { conn, frame });
            queue.push_back(Event::Flush);
            let mut steps = 0;
            while let Some(ev) = queue.pop_front() {
                steps += 1;
                prop_assert!(steps < 1000, "the core does not loop");
                for e in hub.handle(i as u64, ev) {
                    if let Effect::Load { doc: d } = e {
                        let data = (d == doc).then(|| stored.clone());
                        queue.push_front(Event::Loaded { doc: d, result: Ok(data) });
                    } else {
                        effects.push(e);
                    }
                }
            }
            for e in effects.drain(..) {
                match e {
                    Effect::Send { frame, .. } => {
                        prop_assert!(decode_message(&frame, usize::MAX).is_ok(), "the core sends decodable frames");
                    }
                    Effect::Persist { doc: d, chunk, .. } => {
                        prop_assert_eq!(d, doc, "only the plan is ever stored");
                        stored.extend_from_slice(&chunk);
                        prop_assert!(AutoCommit::load(&stored).is_ok(), "stored changes load");
                    }
                    _ => {}
                }
            }
        }
    }

}

proptest! {
    #[test]
    fn fuzz_arbitrary_cbor_maps_never_panic_the_decoder(pairs in prop::collection::vec((0u8..8, 0u8..8), 0..10)) {
        let _ = decode_message(&cbor_frame(&pairs), 1 << 20);
    }
}
