//! The HTTP app tested with `oneshot`, and the socket loop tested with channels.

use super::*;
use axum::body::Body;
use axum::extract::ws::Message;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use plansync_shared::{decode_message, encode_message, Message as Wire, PeerId, PeerMetadata};
use tower::ServiceExt;

async fn state(dir: &tempfile::TempDir) -> AppState {
    start(
        &dir.path().join("t.db"),
        true,
        1 << 20,
        dir.path().join("no-app"),
    )
    .await
    .unwrap()
}

async fn body_json(resp: axum::response::Response) -> serde_json::Value {
    serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

#[tokio::test]
async fn plans_lists_the_demo_plan_with_its_automerge_url() {
    let dir = tempfile::tempdir().unwrap();
    let resp = app(state(&dir).await)
        .oneshot(Request::get("/api/plans").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let plans = body_json(resp).await;
    assert_eq!(plans.as_array().unwrap().len(), 1);
    assert_eq!(plans[0]["title"], plansync_shared::DEMO_PLAN_TITLE);
    assert_eq!(plans[0]["stage"], "stakeholder workshop");
    assert!(plans[0]["url"].as_str().unwrap().starts_with("automerge:"));
}

#[tokio::test]
async fn creating_a_plan_with_a_bad_body_is_a_clear_400_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    for body in [
        "not json",
        "{\"title\": \"\"}",
        "{}",
        "{\"demo\": true, \"title\": \"x\"}",
        "{\"colour\": 1}",
    ] {
        let req = Request::post("/api/plans")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let resp = app(s.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        assert!(body_json(resp).await["error"].as_str().unwrap().len() > 10);
    }
    assert_eq!(s.sync.plans().await.unwrap().len(), 1);
    let req = Request::post("/api/plans")
        .header("content-type", "application/json")
        .body(Body::from("{\"title\": \"Safer Streets 2027\"}"))
        .unwrap();
    let resp = app(s.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(body_json(resp).await["title"], "Safer Streets 2027");
    assert_eq!(s.sync.plans().await.unwrap().len(), 2);
}

#[tokio::test]
async fn root_explains_how_to_build_the_app_when_it_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let resp = app(state(&dir).await)
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("trunk build"));
    let resp = app(state(&dir).await)
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

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
        s.max_message_bytes,
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
