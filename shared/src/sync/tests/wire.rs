//! The wire format: frames as the JS client writes them, CBOR round trips, malformed input.

use super::*;

#[test]
fn js_style_frame_with_map16_headers_and_undefined_decodes() {
    // {type:"join", senderId:"peer-a", peerMetadata:{storageId:undefined, isEphemeral:true},
    //  supportedProtocolVersions:["1"]} as cbor-x writes it.
    let mut f = vec![0xb9, 0x00, 0x04];
    let text = |f: &mut Vec<u8>, s: &str| {
        f.push(0x60 + s.len() as u8);
        f.extend_from_slice(s.as_bytes());
    };
    text(&mut f, "type");
    text(&mut f, "join");
    text(&mut f, "senderId");
    text(&mut f, "peer-a");
    text(&mut f, "peerMetadata");
    f.extend_from_slice(&[0xb9, 0x00, 0x02]);
    text(&mut f, "storageId");
    f.push(0xf7);
    text(&mut f, "isEphemeral");
    f.push(0xf5);
    f.push(0x78);
    f.push(25);
    f.extend_from_slice(b"supportedProtocolVersions");
    f.push(0x81);
    text(&mut f, "1");
    let m = decode_message(&f, 1 << 20).unwrap();
    assert_eq!(
        m,
        Message::Join {
            sender_id: PeerId("peer-a".into()),
            peer_metadata: PeerMetadata {
                storage_id: None,
                is_ephemeral: Some(true)
            },
            supported_protocol_versions: Some(vec!["1".into()]),
        }
    );
}

#[test]
fn document_ids_are_bs58check_of_sixteen_bytes() {
    let id: DocumentId = "4J8e54NPatzR4ErK83keqZhXAT9y".parse().unwrap();
    assert_eq!(id.to_string(), "4J8e54NPatzR4ErK83keqZhXAT9y");
    assert_eq!(
        DocumentId::from_url("automerge:4J8e54NPatzR4ErK83keqZhXAT9y#abc").unwrap(),
        id
    );
    assert!(
        "4J8e54NPatzR4ErK83keqZhXAT9z"
            .parse::<DocumentId>()
            .is_err(),
        "checksum must be checked"
    );
    assert!("not-base58-0OIl".parse::<DocumentId>().is_err());
}

#[test]
fn every_message_round_trips_through_cbor() {
    let doc: DocumentId = "4J8e54NPatzR4ErK83keqZhXAT9y".parse().unwrap();
    let p = |s: &str| PeerId(s.into());
    let dm = DocMessage {
        sender_id: p("a"),
        target_id: p("b"),
        document_id: doc,
        data: vec![0x42, 1, 2],
    };
    for m in [
        Message::Join {
            sender_id: p("a"),
            peer_metadata: PeerMetadata {
                storage_id: Some("s".into()),
                is_ephemeral: Some(false),
            },
            supported_protocol_versions: Some(vec!["1".into()]),
        },
        Message::Peer {
            sender_id: p("s"),
            target_id: p("a"),
            peer_metadata: PeerMetadata::default(),
            selected_protocol_version: "1".into(),
        },
        Message::Error {
            sender_id: Some(p("s")),
            target_id: None,
            message: "boom".into(),
        },
        Message::Request(dm.clone()),
        Message::Sync(dm),
        Message::DocUnavailable {
            sender_id: p("s"),
            target_id: p("a"),
            document_id: doc,
        },
        Message::Ephemeral(Ephemeral {
            sender_id: p("a"),
            target_id: p("b"),
            count: 7,
            session_id: "x".into(),
            document_id: doc,
            data: vec![0xa0],
        }),
        Message::RemoteHeadsChanged {
            sender_id: p("a"),
            document_id: doc,
        },
    ] {
        assert_eq!(decode_message(&encode_message(&m), 1 << 20).unwrap(), m);
    }
}

#[test]
fn tagged_bytes_are_accepted_and_unknown_types_decode_as_unknown() {
    use ciborium::Value;
    let v = Value::Map(vec![
        (Value::Text("type".into()), Value::Text("sync".into())),
        (Value::Text("senderId".into()), Value::Text("a".into())),
        (Value::Text("targetId".into()), Value::Text("b".into())),
        (
            Value::Text("documentId".into()),
            Value::Text("4J8e54NPatzR4ErK83keqZhXAT9y".into()),
        ),
        (
            Value::Text("data".into()),
            Value::Tag(64, Box::new(Value::Bytes(vec![1, 2]))),
        ),
    ]);
    let mut f = Vec::new();
    ciborium::ser::into_writer(&v, &mut f).unwrap();
    assert!(matches!(decode_message(&f, 1024).unwrap(), Message::Sync(m) if m.data == vec![1, 2]));
    let unknown = Value::Map(vec![(
        Value::Text("type".into()),
        Value::Text("future-thing".into()),
    )]);
    let mut f = Vec::new();
    ciborium::ser::into_writer(&unknown, &mut f).unwrap();
    assert_eq!(
        decode_message(&f, 1024).unwrap(),
        Message::Unknown {
            kind: "future-thing".into()
        }
    );
}

#[test]
fn malformed_truncated_oversized_and_deeply_nested_frames_return_errors_not_panics() {
    assert!(matches!(
        decode_message(&[0xff, 0x00], 1024),
        Err(WireError::Cbor(_))
    ));
    assert!(matches!(
        decode_message(&[0x83, 0x01], 1024),
        Err(WireError::Cbor(_))
    ));
    assert!(matches!(
        decode_message(&[0x01], 1024),
        Err(WireError::NotAMessage)
    ));
    assert!(matches!(
        decode_message(&[0u8; 2048], 1024),
        Err(WireError::TooLarge {
            size: 2048,
            limit: 1024
        })
    ));
    let deep = vec![0x81u8; 100_000];
    assert!(decode_message(&deep, 1 << 20).is_err());
    let m = Message::Sync(DocMessage {
        sender_id: PeerId("a".into()),
        target_id: PeerId("b".into()),
        document_id: DocumentId([0; 16]),
        data: vec![],
    });
    let mut f = encode_message(&m);
    f.truncate(f.len() - 3);
    assert!(decode_message(&f, 1024).is_err());
}

proptest! {
    #[test]
    fn fuzz_arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_message(&bytes, 1 << 20);
    }
}
