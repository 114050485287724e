//! The HTTP app tested with `oneshot`, and the socket loop tested with channels.

use super::*;
use crate::access::{Participant, Role};
use axum::body::Body;
use axum::extract::ws::Message;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use plansync_shared::{decode_message, encode_message, Message as Wire, PeerId, PeerMetadata};
use tower::ServiceExt;

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
            app_dir: dir.path().join("no-app"),
            ..Settings::default()
        },
    )
    .await
    .unwrap()
}

/// Joins the demo plan with its printed owner code; returns the plan id and the token.
async fn owner(s: &AppState) -> (String, String) {
    let (plan, inv) = owner_invitations(&s.store).await.unwrap().remove(0);
    let (p, token) = access::redeem(
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

#[tokio::test]
async fn plans_need_a_token_and_list_the_callers_plans_with_their_role() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (status, body) = call(&s, "GET", "/api/plans", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].as_str().unwrap().contains("invitation link"));
    let (status, _) = call(&s, "GET", "/api/plans", Some("not-a-token"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, token) = owner(&s).await;
    let (status, plans) = call(&s, "GET", "/api/plans", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(plans.as_array().unwrap().len(), 1);
    assert_eq!(plans[0]["title"], plansync_shared::DEMO_PLAN_TITLE);
    assert_eq!(plans[0]["stage"], "stakeholder workshop");
    assert_eq!(plans[0]["role"], "owner");
    assert!(plans[0]["url"].as_str().unwrap().starts_with("automerge:"));
    assert!(
        owner_invitations(&s.store).await.unwrap().is_empty(),
        "the plan has an owner now"
    );
}

#[tokio::test]
async fn creating_a_plan_with_a_bad_body_is_a_clear_400_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (_, token) = owner(&s).await;
    for body in [
        "not json",
        "{\"title\": \"\"}",
        "{}",
        "{\"demo\": true, \"title\": \"x\"}",
        "{\"colour\": 1}",
    ] {
        let (status, json) = call(&s, "POST", "/api/plans", Some(&token), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(json["error"].as_str().unwrap().len() > 10);
    }
    assert_eq!(s.store.plans().await.unwrap().len(), 1);
    let (status, json) = call(&s, "POST", "/api/plans", None, Some("{\"title\": \"X\"}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{json}");
    let (status, json) = call(
        &s,
        "POST",
        "/api/plans",
        Some(&token),
        Some("{\"title\": \"Safer Streets 2027\"}"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(json["plan"]["title"], "Safer Streets 2027");
    assert_eq!(json["participant"]["role"], "owner");
    assert_eq!(json["participant"]["name"], "Chair");
    assert_eq!(s.store.plans().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_owner_invites_people_who_join_with_the_code_and_only_owners_manage() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let invitations = format!("/api/plans/{plan}/invitations");
    let (status, inv) = call(
        &s,
        "POST",
        &invitations,
        Some(&token),
        Some(r#"{"role":"viewer","expires_hours":2,"uses":1}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    let code = inv["code"].as_str().unwrap().to_string();
    assert!(inv["link"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/#/join/{code}")));
    assert!(inv["qr_svg"].as_str().unwrap().contains("<svg"));
    // Typed sloppily, the code still works, once.
    let typed = code.to_lowercase().replace('-', " ");
    let join = format!(
        r#"{{"code":"{typed}","name":"Scrutiny member","agency":"Police and Crime Panel"}}"#
    );
    let (status, joined) = call(&s, "POST", "/api/join", None, Some(&join)).await;
    assert_eq!(status, StatusCode::CREATED, "{joined}");
    assert_eq!(joined["participant"]["role"], "viewer");
    assert_eq!(joined["plan"]["id"], plan.as_str());
    let viewer = joined["token"].as_str().unwrap().to_string();
    let (status, again) = call(&s, "POST", "/api/join", None, Some(&join)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        again["error"].as_str().unwrap() == crate::http::WRONG_CODE,
        "{again}"
    );
    let (status, bad) = call(
        &s,
        "POST",
        "/api/join",
        None,
        Some(r#"{"code":"ACDE-FHJK-MN","name":"x","agency":"y"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad["error"]
        .as_str()
        .unwrap()
        .contains("does not open a plan"));
    // A viewer can see who takes part but manage nothing.
    let people = format!("/api/plans/{plan}/participants");
    let (status, list) = call(&s, "GET", &people, Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (status, _) = call(
        &s,
        "POST",
        &invitations,
        Some(&viewer),
        Some(r#"{"role":"owner","expires_hours":2,"uses":1}"#),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let owner_id = list[0]["id"].as_i64().unwrap();
    let (status, _) = call(
        &s,
        "DELETE",
        &format!("{people}/{owner_id}"),
        Some(&viewer),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The last owner cannot be removed or demoted.
    let (status, json) = call(
        &s,
        "DELETE",
        &format!("{people}/{owner_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
    let (status, _) = call(
        &s,
        "PATCH",
        &format!("{people}/{owner_id}"),
        Some(&token),
        Some(r#"{"role":"editor"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // An owner promotes the viewer, then revokes them: their token stops working.
    let viewer_id = list[1]["id"].as_i64().unwrap();
    let (status, list) = call(
        &s,
        "PATCH",
        &format!("{people}/{viewer_id}"),
        Some(&token),
        Some(r#"{"role":"editor"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[1]["role"], "editor");
    let (status, list) = call(
        &s,
        "DELETE",
        &format!("{people}/{viewer_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = call(&s, "GET", "/api/plans", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Invitations are listed for owners and can be withdrawn.
    let (_, inv) = call(
        &s,
        "POST",
        &invitations,
        Some(&token),
        Some(r#"{"role":"editor","expires_hours":1,"uses":3}"#),
    )
    .await;
    let (_, list) = call(&s, "GET", &invitations, Some(&token), None).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "the used-up one is not listed"
    );
    let (status, _) = call(
        &s,
        "DELETE",
        &format!("{invitations}/{}", inv["id"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let join = format!(
        r#"{{"code":"{}","name":"x","agency":"y"}}"#,
        inv["code"].as_str().unwrap()
    );
    let (status, _) = call(&s, "POST", "/api/join", None, Some(&join)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn every_http_body_the_server_parses_gets_a_4xx_never_a_panic_or_500() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let bodies = [
        "",
        "null",
        "[]",
        "{",
        "\u{0}",
        "{\"code\": 5}",
        "{\"role\": \"king\", \"expires_hours\": 1, \"uses\": 1}",
        "{\"role\": \"viewer\", \"expires_hours\": -1, \"uses\": 1}",
        "{\"role\": \"viewer\", \"expires_hours\": 1, \"uses\": 100000000000}",
        "{\"code\": \"ACDE-FHJK-MN\", \"name\": \"\", \"agency\": \"x\"}",
    ];
    let paths = [
        ("POST", "/api/plans".to_string()),
        ("POST", "/api/join".to_string()),
        ("POST", format!("/api/plans/{plan}/invitations")),
        ("PATCH", format!("/api/plans/{plan}/participants/1")),
    ];
    for (method, path) in &paths {
        for body in bodies {
            let (status, json) = call(&s, method, path, Some(&token), Some(body)).await;
            assert!(
                status.is_client_error(),
                "{method} {path} {body:?}: {status} {json}"
            );
        }
    }
    let big = "x".repeat(200 * 1024);
    let (status, _) = call(&s, "POST", "/api/join", None, Some(&big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
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
        vec![],
        1 << 20,
        100,
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
    access::redeem(
        &s.store,
        inv["code"].as_str().unwrap().into(),
        format!("A {role}"),
        "Council".into(),
    )
    .await
    .unwrap()
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

/// A server made once for the HTTP fuzz target, with its runtime, plan and owner token.
fn fuzz_server() -> &'static (tokio::runtime::Runtime, AppState, String, String) {
    static SERVER: std::sync::OnceLock<(tokio::runtime::Runtime, AppState, String, String)> =
        std::sync::OnceLock::new();
    SERVER.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        let (s, plan, token) = rt.block_on(async {
            let s = state(dir).await;
            let (plan, token) = owner(&s).await;
            (s, plan, token)
        });
        (rt, s, plan, token)
    })
}

/// A JSON body with the API's field names and odd values, or raw bytes.
fn http_body() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let value = prop_oneof![
        Just(serde_json::json!(null)),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<bool>().prop_map(|b| serde_json::json!(b)),
        "\\PC{0,40}".prop_map(|t| serde_json::json!(t)),
        prop::sample::select(vec!["viewer", "editor", "owner", "ACDE-FHJK-MN", ""])
            .prop_map(|t| serde_json::json!(t)),
    ];
    let keys = prop::sample::select(vec![
        "code",
        "name",
        "agency",
        "role",
        "expires_hours",
        "uses",
        "title",
        "demo",
        "x",
    ]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::btree_map(keys, value, 0..5).prop_map(|m| {
            serde_json::to_vec(
                &m.into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect::<serde_json::Map<_, _>>(),
            )
            .unwrap()
        }),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128)
    ))]
    #[test]
    fn fuzz_every_http_body_gets_a_clear_answer_never_a_5xx(
        endpoint in 0usize..5,
        body in http_body(),
        with_token in proptest::prelude::any::<bool>(),
    ) {
        let (rt, s, plan, token) = fuzz_server();
        let (method, path) = [
            ("POST", "/api/join".to_string()),
            ("POST", "/api/plans".to_string()),
            ("POST", format!("/api/plans/{plan}/invitations")),
            ("PATCH", format!("/api/plans/{plan}/participants/1")),
            ("PATCH", format!("/api/plans/{plan}/participants/999")),
        ][endpoint].clone();
        let mut req = Request::builder().method(method).uri(&path).header("content-type", "application/json");
        if with_token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req.body(Body::from(body)).unwrap();
        let resp = rt.block_on(app(s.clone()).oneshot(req)).unwrap();
        let status = resp.status();
        proptest::prop_assert!(!status.is_server_error(), "{} {} answered {}", method, path, status);
        if status.is_client_error() {
            let bytes = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            proptest::prop_assert!(json["error"].as_str().is_some_and(|e| e.len() > 10), "a clear message: {}", json);
        }
    }
}

/// Makes the disk fail with `fault` (SQL run on the service's own connection) once an
/// editor is connected, then sends edits until the server refuses one; returns what it said.
async fn edit_until_refused(
    s: &AppState,
    db: &store::Sqlite,
    plan: &str,
    token: &str,
    fault: String,
) -> String {
    let (editor, _) = participant(s, plan, token, "editor").await;
    let doc = plan.parse().unwrap();
    let mut pipe = Pipe::open(s, vec![Grant::of(&editor).unwrap()], "editor-peer").await;
    db.execute_on_writer(fault).await.unwrap();
    for i in 0..200 {
        use plansync_shared::automerge::{sync, transaction::Transactable, ROOT};
        let mut d = plansync_shared::automerge::AutoCommit::new();
        d.put(ROOT, format!("k{i}"), "x".repeat(4000)).unwrap();
        let change = d.get_last_local_change().unwrap().raw_bytes().to_vec();
        let msg = sync::Message {
            heads: d.get_heads(),
            need: vec![],
            have: vec![],
            changes: vec![change].into(),
            flags: None,
            version: sync::MessageVersion::V1,
        };
        pipe.send(&Wire::Sync(plansync_shared::DocMessage {
            sender_id: PeerId("editor-peer".into()),
            target_id: PeerId("server".into()),
            document_id: doc,
            data: msg.encode(),
        }));
        match pipe.next().await {
            Some(Wire::Error { message, .. }) => return message,
            Some(_) => {}
            None => return "closed without a word".into(),
        }
    }
    panic!("200 edits of 4 KB fitted on a disk that was meant to be full");
}

/// Every change the server recorded as accepted is in the document it has stored.
async fn every_accepted_change_is_stored(s: &AppState, plan: &str) -> usize {
    let authors = s.store.change_authors(plan.to_string()).await.unwrap();
    let doc: plansync_shared::DocumentId = plan.parse().unwrap();
    let bytes = s.store.load(doc).await.unwrap().unwrap().bytes;
    let mut d = plansync_shared::automerge::AutoCommit::load(&bytes).unwrap();
    for (hash, _) in &authors {
        let h: plansync_shared::automerge::ChangeHash = hash.parse().unwrap();
        assert!(
            d.get_change_by_hash(&h).is_some(),
            "accepted change {hash} is stored"
        );
    }
    authors.len()
}

#[tokio::test]
async fn a_full_disk_refuses_the_change_with_a_clear_error_and_loses_nothing_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(&dir).await;
    let s = state_on(&dir, db.clone()).await;
    let (plan, token) = owner(&s).await;
    let pages = db.page_count().await.unwrap();
    // The file may grow by a few pages only: SQLite then reports "database or disk is full".
    let fault = format!("PRAGMA max_page_count = {};", pages + 8);
    let said = edit_until_refused(&s, &db, &plan, &token, fault).await;
    assert!(
        said.contains("could not save changes") && said.contains("full"),
        "{said}"
    );
    let accepted = every_accepted_change_is_stored(&s, &plan).await;
    assert!(accepted > 1, "some edits fitted before the disk filled");
}

#[tokio::test]
async fn a_file_system_turned_read_only_refuses_the_change_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(&dir).await;
    let s = state_on(&dir, db.clone()).await;
    let (plan, token) = owner(&s).await;
    let said = edit_until_refused(&s, &db, &plan, &token, "PRAGMA query_only = ON;".into()).await;
    assert!(
        said.contains("could not save changes") && said.contains("readonly"),
        "{said}"
    );
    every_accepted_change_is_stored(&s, &plan).await;
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

#[tokio::test]
async fn snapshots_history_compare_restore_and_exports_work_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let t = Some(token.as_str());
    let (status, snap) = call(
        &s,
        "POST",
        &format!("/api/plans/{plan}/snapshots"),
        t,
        Some(r#"{"name":"Draft for Panel, January"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{snap}");
    assert_eq!(snap["author"], "Chair, Office of the PCC");
    let snap_id = snap["id"].as_i64().unwrap();
    let (_, before) = call(&s, "GET", &format!("/api/plans/{plan}/plan"), t, None).await;
    let action = before["themes"][0]["objectives"][0]["actions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // An edit made as the owner.
    let me = access::authenticate(&s.store, vec![token.clone()])
        .await
        .unwrap()
        .remove(0);
    let a = plansync_shared::ActionId::new(action.clone());
    s.sync
        .change_plan(plan.parse().unwrap(), me.id, None, move |p| {
            p.set_text(
                &plansync_shared::TextField::ActionTitle(a),
                "Renamed at the workshop",
            )
        })
        .await
        .unwrap();
    let (status, history) = call(&s, "GET", &format!("/api/plans/{plan}/history"), t, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history[0]["name"], "Chair");
    assert_eq!(history[0]["agency"], "Office of the PCC");
    assert_eq!(
        history[0]["summary"],
        "edited the title of action 'Renamed at the workshop'"
    );
    let (_, authors) = call(&s, "GET", &format!("/api/plans/{plan}/authors"), t, None).await;
    let newest = history[0]["hashes"][0].as_str().unwrap();
    assert_eq!(authors[newest]["name"], "Chair");
    assert_eq!(authors[newest]["agency"], "Office of the PCC");
    let (_, none) = call(
        &s,
        "GET",
        &format!("/api/plans/{plan}/history?agency=probation"),
        t,
        None,
    )
    .await;
    assert_eq!(none.as_array().unwrap().len(), 0);
    let (_, cmp) = call(
        &s,
        "GET",
        &format!("/api/plans/{plan}/compare?from={snap_id}"),
        t,
        None,
    )
    .await;
    assert_eq!(cmp["from"], "Draft for Panel, January");
    assert_eq!(cmp["differences"][0]["change"]["type"], "reworded");
    // A token in the address opens nothing; in the header it does.
    let (status, _) = call_raw(
        &s,
        "GET",
        &format!("/api/plans/{plan}/exports/plan.json?at={snap_id}&token={token}"),
        None,
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, json) = call_raw(
        &s,
        "GET",
        &format!("/api/plans/{plan}/exports/plan.json?at={snap_id}"),
        t,
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let exported = crate::export::plan_from_json(&json).unwrap();
    assert_eq!(serde_json::to_value(&exported).unwrap(), before);
    let (status, _) = call_raw(
        &s,
        "GET",
        &format!("/api/plans/{plan}/exports/plan.pdf"),
        t,
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call_raw(
        &s,
        "GET",
        &format!("/api/plans/{plan}/exports/plan.json"),
        None,
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Restore is a new change: the plan reads as at the snapshot, history grows.
    let (status, r) = call(
        &s,
        "POST",
        &format!("/api/plans/{plan}/restore"),
        t,
        Some(&format!(r#"{{"snapshot":{snap_id}}}"#)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, after) = call(&s, "GET", &format!("/api/plans/{plan}/plan"), t, None).await;
    assert_eq!(after, before);
    let (_, history2) = call(&s, "GET", &format!("/api/plans/{plan}/history"), t, None).await;
    assert_eq!(
        history2.as_array().unwrap().len(),
        history.as_array().unwrap().len() + 1
    );
    assert_eq!(
        history2[0]["summary"],
        "restored the plan as at the snapshot \"Draft for Panel, January\""
    );
    // Import the JSON as a new plan: it reads the same.
    let (status, imported) = call_raw(&s, "POST", "/api/plans/import", t, json.clone()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&imported)
    );
    let imported: serde_json::Value = serde_json::from_slice(&imported).unwrap();
    let (new_plan, new_token) = (
        imported["plan"]["id"].as_str().unwrap(),
        imported["token"].as_str().unwrap(),
    );
    let (_, copy) = call(
        &s,
        "GET",
        &format!("/api/plans/{new_plan}/plan"),
        Some(new_token),
        None,
    )
    .await;
    assert_eq!(copy, before);
    let (status, bad) = call_raw(&s, "POST", "/api/plans/import", t, b"not a plan".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&bad)
        .contains("neither a Plansync JSON export nor an automerge file"));
}

#[tokio::test]
async fn a_tracker_import_previews_refuses_bad_rows_whole_and_then_creates_the_actions() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let t = Some(token.as_str());
    let csv_bad = "Theme,Objective,Action,Due,RAG\nNight-time economy,Safer streets,Taxi marshals,2027-03-31,green\nNight-time economy,Safer streets,Street pastors,soon,\n";
    let url = format!("/api/plans/{plan}/import/tracker?format=csv");
    let (status, preview) = call_raw(&s, "POST", &url, t, csv_bad.into()).await;
    assert_eq!(status, StatusCode::OK);
    let preview: serde_json::Value = serde_json::from_slice(&preview).unwrap();
    assert_eq!(preview["header"][2], "Action");
    assert_eq!(preview["mapping"]["action"], 2);
    assert_eq!(preview["import"]["bad"][0]["row"], 3);
    assert_eq!(preview["import"]["new_themes"][0], "Night-time economy");
    let (_, before) = call(&s, "GET", &format!("/api/plans/{plan}/plan"), t, None).await;
    let (status, refused) =
        call_raw(&s, "POST", &format!("{url}&commit=true"), t, csv_bad.into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&refused).contains("nothing was imported"));
    let (_, unchanged) = call(&s, "GET", &format!("/api/plans/{plan}/plan"), t, None).await;
    assert_eq!(unchanged, before);
    let csv_good = csv_bad.replace("soon", "31/03/2027");
    let (status, done) = call_raw(
        &s,
        "POST",
        &format!("{url}&commit=true&period=2026-Q2"),
        t,
        csv_good.into(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&done));
    let (_, after) = call(&s, "GET", &format!("/api/plans/{plan}/plan"), t, None).await;
    let theme = after["themes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Night-time economy")
        .unwrap();
    let acts = &theme["objectives"][0]["actions"];
    assert_eq!(acts[0]["title"], "Taxi marshals");
    assert_eq!(acts[0]["rag"]["2026-Q2"], "green");
    assert_eq!(acts[1]["due"], "2027-03-31");
}

#[test]
fn our_own_tracker_xlsx_imports_as_a_tracker_with_the_mapping_guessed_from_its_header() {
    let mut r = rand::rng();
    let doc = plansync_shared::demo_plan(&mut r).unwrap();
    let plan = doc.read().unwrap();
    let opts = crate::export::Options {
        period: plansync_shared::ReportingPeriod::from_key("2026-Q2").unwrap(),
        board: None,
        version: "now".into(),
        older: None,
        made: String::new(),
    };
    let mut xlsx = Vec::new();
    crate::export::write(
        crate::export::Export::parse("tracker.xlsx").unwrap(),
        &plan,
        None,
        &opts,
        &mut xlsx,
    )
    .unwrap();
    let limits = crate::ImportLimits::default();
    let table = crate::read_table("xlsx", &xlsx, &limits).unwrap();
    let mapping = plansync_shared::guess_mapping(&table[0]);
    for f in [
        plansync_shared::TrackerField::Theme,
        plansync_shared::TrackerField::Objective,
        plansync_shared::TrackerField::Action,
        plansync_shared::TrackerField::Due,
        plansync_shared::TrackerField::Rag,
    ] {
        assert!(mapping.contains_key(&f), "{f:?} guessed");
    }
    let empty = plansync_shared::PlanDoc::create(
        &plansync_shared::NewPlan {
            title: "Next plan".into(),
            area: String::new(),
            period_start: 2029,
            period_end: 2031,
            owning_body: String::new(),
        },
        &mut r,
    )
    .unwrap()
    .read()
    .unwrap();
    let import = plansync_shared::plan_import(&empty, &table[1..], &mapping);
    assert!(import.bad.is_empty(), "{:?}", import.bad);
    let actions: usize = plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .map(|o| o.actions.len())
        .sum();
    assert_eq!(import.new_actions, actions);
    assert_eq!(import.new_themes.len(), plan.themes.len());
    assert!(crate::read_table("xlsx", b"not a workbook", &limits)
        .unwrap_err()
        .contains("not an Excel"));
}

/// A state whose sync actors hold few commands and stop soon when idle.
async fn small_state(dir: &tempfile::TempDir) -> AppState {
    start_on(
        std::sync::Arc::new(sqlite(dir).await),
        true,
        Settings {
            max_message_bytes: 1 << 20,
            app_dir: dir.path().join("no-app"),
            max_document_queue: 4,
            document_idle: std::time::Duration::from_millis(200),
            ..Settings::default()
        },
    )
    .await
    .unwrap()
}

/// A second plan on the server with an editor's grant and the owner's participant.
async fn second_plan(s: &AppState) -> (plansync_shared::DocumentId, Grant) {
    let row = s.sync.create_plan(PlanKind::Demo).await.unwrap();
    let (owner, _) = add_with_token(
        &s.store,
        row.id.clone(),
        "Chair".into(),
        "Council".into(),
        Role::Owner,
    )
    .await
    .unwrap();
    (row.id.parse().unwrap(), Grant::of(&owner).unwrap())
}

/// Waits (at most 5 s) until `ok` holds.
async fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..100 {
        if ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("waited 5 s for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_whose_actor_is_busy_holds_up_no_other_plan() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (busy, _) = owner(&s).await;
    let busy: plansync_shared::DocumentId = busy.parse().unwrap();
    let (other, grant) = second_plan(&s).await;
    // The first plan's actor is occupied (as by a long import) until released.
    let release = s.sync.hold(busy).await;
    let mut pipe = Pipe::open(&s, vec![grant], "keystroke").await;
    let (change, _) = sync_with_a_change("keystroke", other);
    pipe.send(&change);
    assert!(
        matches!(pipe.next().await, Some(Wire::Sync(m)) if m.document_id == other),
        "the other plan's change is stored and answered while the first plan is busy"
    );
    let by_people = |authors: Vec<(String, Option<crate::ParticipantId>)>| {
        authors.iter().filter(|(_, by)| by.is_some()).count()
    };
    assert_eq!(
        by_people(s.store.change_authors(other.to_string()).await.unwrap()),
        1
    );
    let (status, _) = call(&s, "GET", "/api/plans", None, None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "HTTP answers meanwhile too"
    );
    drop(release);
    assert!(
        s.sync.document(busy).await.unwrap().is_some(),
        "and the first plan carries on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_document_queue_makes_its_sender_wait_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = small_state(&dir).await;
    let (plan, token) = owner(&s).await;
    let (editor, _) = participant(&s, &plan, &token, "editor").await;
    let doc: plansync_shared::DocumentId = plan.parse().unwrap();
    let mut pipe = Pipe::open(&s, vec![Grant::of(&editor).unwrap()], "flooder").await;
    let (first, _) = sync_with_a_change("flooder", doc);
    pipe.send(&first);
    assert!(matches!(pipe.next().await, Some(Wire::Sync(_))));
    let release = s.sync.hold(doc).await;
    for _ in 0..20 {
        pipe.send(&sync_with_a_change("flooder", doc).0);
    }
    eventually("the queue to fill", || s.sync.queued(doc) == Some(4)).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        s.sync.queued(doc),
        Some(4),
        "the queue stays at its bound; the sender waits"
    );
    drop(release);
    let ours = |authors: Vec<(String, Option<crate::ParticipantId>)>| {
        authors.iter().filter(|(_, by)| by.is_some()).count()
    };
    for _ in 0..100 {
        if ours(s.store.change_authors(plan.clone()).await.unwrap()) >= 21 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        ours(s.store.change_authors(plan.clone()).await.unwrap()),
        21,
        "every queued change was stored once the actor was free"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_plan_actor_stops_and_the_plan_loads_again_on_next_use() {
    let dir = tempfile::tempdir().unwrap();
    let s = small_state(&dir).await;
    let (plan, token) = owner(&s).await;
    let (editor, _) = participant(&s, &plan, &token, "editor").await;
    let doc: plansync_shared::DocumentId = plan.parse().unwrap();
    {
        let mut pipe = Pipe::open(&s, vec![Grant::of(&editor).unwrap()], "visitor").await;
        pipe.send(&sync_with_a_change("visitor", doc).0);
        assert!(matches!(pipe.next().await, Some(Wire::Sync(_))));
        assert_eq!(s.sync.running_documents(), 1);
    }
    eventually("the idle actor to stop", || s.sync.running_documents() == 0).await;
    let mut pipe = Pipe::open(&s, vec![Grant::of(&editor).unwrap()], "visitor-2").await;
    pipe.send(&sync_with_a_change("visitor-2", doc).0);
    assert!(matches!(pipe.next().await, Some(Wire::Sync(_))));
    let authors = s.store.change_authors(plan).await.unwrap();
    assert_eq!(
        authors.iter().filter(|(_, by)| by.is_some()).count(),
        2,
        "both changes are kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_runs_beside_the_plans_actor_and_loses_no_change_stored_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let (editor, _) = participant(&s, &plan, &token, "editor").await;
    let doc: plansync_shared::DocumentId = plan.parse().unwrap();
    let mut pipe = Pipe::open(&s, vec![Grant::of(&editor).unwrap()], "typist").await;
    let mut hashes = Vec::new();
    // Each change answered before the next: one chunk each, past the compaction threshold.
    for _ in 0..(crate::store::COMPACT_MAX_CHUNKS + 40) {
        let (change, hash) = sync_with_a_change("typist", doc);
        pipe.send(&change);
        assert!(matches!(pipe.next().await, Some(Wire::Sync(_))));
        hashes.push(hash);
    }
    let chunks = || async { s.store.chunk_count(doc).await.unwrap() };
    for _ in 0..100 {
        if chunks().await < 64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        chunks().await < 64,
        "the plan was compacted: {} chunks",
        chunks().await
    );
    let stored = s.store.load(doc).await.unwrap().unwrap();
    let mut loaded = plansync_shared::automerge::AutoCommit::load(&stored.bytes).unwrap();
    for h in &hashes {
        let h: plansync_shared::automerge::ChangeHash = h.parse().unwrap();
        assert!(
            loaded.get_change_by_hash(&h).is_some(),
            "change {h} is stored"
        );
    }
}
