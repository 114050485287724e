//! The HTTP app tested with `oneshot`, and the socket loop tested with channels: the
//! helpers every test uses; the tests by subject in the modules below.

use super::*;
use crate::access::{Participant, Role};
use axum::body::Body;
use axum::extract::ws::Message;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use plansync_shared::{decode_message, encode_message, Message as Wire, PeerId, PeerMetadata};
use tower::ServiceExt;

mod actors;
mod contract;
mod http;
mod links;
mod papers;
mod socket;
mod storage;

async fn state(dir: &tempfile::TempDir) -> AppState {
    state_on(dir, sqlite(dir).await).await
}

/// The test database of `dir`, opened.
async fn sqlite(dir: &tempfile::TempDir) -> store::Sqlite {
    store::Sqlite::open(&dir.path().join("t.db")).await.unwrap()
}

async fn state_on(dir: &tempfile::TempDir, db: store::Sqlite) -> AppState {
    start_on(
        std::sync::Arc::new(db),
        true,
        Settings {
            max_message_bytes: 1 << 20,
            app_dir: Some(dir.path().join("no-app")),
            ..Settings::default()
        },
    )
    .await
    .unwrap()
}

/// Joins the demo plan with its printed owner code; returns the plan id and the token.
async fn owner(s: &AppState) -> (String, String) {
    let (plan, link) = owner_invitations(&s.store).await.unwrap().remove(0);
    let crate::OwnerLink::Made(inv) = link else {
        panic!("a new plan's owner link is made: {link:?}");
    };
    let (p, token) = crate::membership::redeem(
        &s.store,
        inv.code,
        "Chair".into(),
        "Office of the PCC".into(),
    )
    .await
    .unwrap();
    assert_eq!(p.role, Role::Owner);
    (plan.id, token)
}

/// Sends a request with a JSON body (or none) and the token; returns status and JSON.
async fn call(
    s: &AppState,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(body.map(|b| Body::from(b.to_string())).unwrap_or_default())
        .unwrap();
    let resp = app(s.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// A socket loop over channels for a participant's grants.
struct Pipe {
    tx: futures::channel::mpsc::UnboundedSender<Result<Message, std::convert::Infallible>>,
    rx: futures::channel::mpsc::UnboundedReceiver<Message>,
}

impl Pipe {
    async fn open(s: &AppState, grants: Vec<Grant>, peer: &str) -> Self {
        let (tx, in_rx) = futures::channel::mpsc::unbounded();
        let (out_tx, rx) = futures::channel::mpsc::unbounded::<Message>();
        tokio::spawn(serve_socket(
            out_tx,
            in_rx,
            s.sync.clone(),
            grants,
            1 << 20,
            100,
            None,
        ));
        let mut pipe = Pipe { tx, rx };
        pipe.send(&Wire::Join {
            sender_id: PeerId(peer.into()),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: Some(vec!["1".into()]),
        });
        assert!(matches!(pipe.next().await, Some(Wire::Peer { .. })));
        pipe
    }

    fn send(&self, m: &Wire) {
        self.tx
            .unbounded_send(Ok(Message::Binary(encode_message(m).into())))
            .unwrap();
    }

    /// The next protocol message, or `None` when the server closed the socket.
    async fn next(&mut self) -> Option<Wire> {
        use futures_util::StreamExt;
        loop {
            let m = tokio::time::timeout(std::time::Duration::from_secs(5), self.rx.next())
                .await
                .expect("the server answers within 5 s")?;
            match m {
                Message::Binary(b) => return Some(decode_message(&b, 1 << 20).unwrap()),
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }
}

/// A hand-made `sync` message carrying one new change (not built on the plan's history).
fn sync_with_a_change(peer: &str, doc: plansync_shared::DocumentId) -> (Wire, String) {
    use plansync_shared::automerge::{sync, transaction::Transactable, ROOT};
    let mut d = plansync_shared::automerge::AutoCommit::new();
    d.put(ROOT, "forged", "by hand").unwrap();
    let change = d.get_last_local_change().unwrap().clone();
    let msg = sync::Message {
        heads: d.get_heads(),
        need: vec![],
        have: vec![],
        changes: vec![change.raw_bytes().to_vec()].into(),
        flags: None,
        version: sync::MessageVersion::V1,
    };
    (
        Wire::Sync(plansync_shared::DocMessage {
            sender_id: PeerId(peer.into()),
            target_id: PeerId("server".into()),
            document_id: doc,
            data: msg.encode(),
        }),
        change.hash().to_string(),
    )
}

async fn participant(s: &AppState, plan: &str, owner: &str, role: &str) -> (Participant, String) {
    let (status, inv) = call(
        s,
        "POST",
        &format!("/api/plans/{plan}/invitations"),
        Some(owner),
        Some(&format!(
            r#"{{"role":"{role}","expires_hours":1,"uses":1}}"#
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    crate::membership::redeem(
        &s.store,
        inv["code"].as_str().unwrap().into(),
        format!("A {role}"),
        "Council".into(),
    )
    .await
    .unwrap()
}

/// Sends a request with a raw body; returns status and body bytes.
async fn call_raw(
    s: &AppState,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = app(s.clone())
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    (
        status,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}
