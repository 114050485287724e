//! The socket loop over channels: handshakes, refused frames, access on the socket.

use super::*;

#[tokio::test]
async fn socket_loop_over_channels_answers_join_and_rejects_text_frames() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (in_tx, in_rx) =
        futures::channel::mpsc::unbounded::<Result<Message, std::convert::Infallible>>();
    let (out_tx, mut out_rx) = futures::channel::mpsc::unbounded::<Message>();
    let task = tokio::spawn(serve_socket(
        out_tx,
        in_rx,
        s.sync.clone(),
        vec![],
        1 << 20,
        100,
        None,
    ));
    let join = Wire::Join {
        sender_id: PeerId("t".into()),
        peer_metadata: PeerMetadata::default(),
        supported_protocol_versions: Some(vec!["1".into()]),
    };
    in_tx
        .unbounded_send(Ok(Message::Binary(encode_message(&join).into())))
        .unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(5), out_rx.next())
        .await
        .unwrap()
        .unwrap();
    let Message::Binary(b) = reply else {
        panic!("{reply:?}")
    };
    assert!(
        matches!(decode_message(&b, 1 << 20).unwrap(), Wire::Peer { target_id, .. } if target_id.0 == "t")
    );
    in_tx
        .unbounded_send(Ok(Message::Text("hello".into())))
        .unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(5), out_rx.next())
        .await
        .unwrap()
        .unwrap();
    let Message::Binary(b) = reply else {
        panic!("{reply:?}")
    };
    assert!(
        matches!(decode_message(&b, 1 << 20).unwrap(), Wire::Error { message, .. } if message.contains("binary"))
    );
    drop(in_tx);
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_viewer_sending_a_hand_made_sync_frame_is_refused_and_closed_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let (viewer, _) = participant(&s, &plan, &token, "viewer").await;
    let doc = plan.parse().unwrap();
    let before = s.store.change_authors(plan.clone()).await.unwrap();
    let mut pipe = Pipe::open(&s, vec![Grant::of(&viewer).unwrap()], "viewer-peer").await;
    let (frame, hash) = sync_with_a_change("viewer-peer", doc);
    pipe.send(&frame);
    let mut refused = false;
    while let Some(m) = pipe.next().await {
        if let Wire::Error { message, .. } = m {
            refused |= message.contains("you can view this plan but not change it");
        }
    }
    assert!(refused, "the viewer is told why");
    let after = s.store.change_authors(plan).await.unwrap();
    assert_eq!(before, after, "no change was accepted");
    assert!(!after.iter().any(|(h, _)| *h == hash));
}

#[tokio::test]
async fn a_stranger_is_told_unavailable_and_cannot_create_a_document() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let (editor, _) = participant(&s, &plan, &token, "editor").await;
    let mut pipe = Pipe::open(&s, vec![Grant::of(&editor).unwrap()], "editor-peer").await;
    // A document that is not the editor's plan: same answer whether or not it exists.
    let other = plansync_shared::DocumentId::random(&mut rand::rng());
    let (frame, _) = sync_with_a_change("editor-peer", other);
    pipe.send(&frame);
    assert!(
        matches!(pipe.next().await, Some(Wire::DocUnavailable { document_id, .. }) if document_id == other)
    );
    assert!(s
        .store
        .change_authors(other.to_string())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.store.plans().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_editors_change_is_attributed_to_them_and_revoking_stops_their_open_connection() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let (editor, _) = participant(&s, &plan, &token, "editor").await;
    let doc = plan.parse().unwrap();
    let mut pipe = Pipe::open(&s, vec![Grant::of(&editor).unwrap()], "editor-peer").await;
    let (frame, hash) = sync_with_a_change("editor-peer", doc);
    pipe.send(&frame);
    assert!(
        matches!(pipe.next().await, Some(Wire::Sync(_))),
        "the server answers the sync"
    );
    let authors = s.store.change_authors(plan.clone()).await.unwrap();
    assert!(authors.contains(&(hash, Some(editor.id))), "{authors:?}");
    let (status, _) = call(
        &s,
        "DELETE",
        &format!("/api/plans/{plan}/participants/{}", editor.id.0),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut told = false;
    while let Some(m) = pipe.next().await {
        told |= matches!(m, Wire::DocUnavailable { document_id, .. } if document_id == doc);
    }
    assert!(told, "told the plan is unavailable, then closed");
}
