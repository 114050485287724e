//! End to end: the real `plansync` binary on a free loopback port with a temporary SQLite
//! file, driven by our Rust client, the official JS client, samod, and raw sockets.

use futures_util::{SinkExt, StreamExt};
use plansync_shared::automerge::{AutoCommit, ObjType, ReadDoc, Value, ROOT};
use plansync_shared::{
    decode_message, encode_message, DocumentId, Message, PeerId, PeerMetadata, Quarter, Rag,
    ReportingPeriod, TextField, DEMO_PLAN_TITLE,
};
use plansync_tests::{Backing, RustClient, Server, WAIT};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

const Q2: ReportingPeriod = ReportingPeriod {
    year: 2026,
    quarter: Quarter::Q2,
};

fn title_of(doc: &impl ReadDoc) -> String {
    match doc.get(ROOT, "title").unwrap() {
        Some((Value::Object(ObjType::Text), id)) => doc.text(id).unwrap(),
        Some((Value::Scalar(s), _)) => s.as_str().unwrap_or_default().to_string(),
        _ => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rust_clients_edit_the_demo_plan_concurrently_and_converge() {
    two_clients_converge(Backing::sqlite()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_two_rust_clients_edit_the_demo_plan_concurrently_and_converge() {
    two_clients_converge(Backing::postgres()).await
}

async fn two_clients_converge(backing: Backing) {
    let server = backing.start(&[]);
    let plans = server.plans().await;
    assert_eq!(plans[0]["title"], DEMO_PLAN_TITLE);
    let doc = server.demo_plan().await;
    let a = RustClient::connect(&server.sync_url(), "a").await;
    let b = RustClient::connect(&server.sync_url(), "b").await;
    a.find(doc).await;
    b.find(doc).await;
    assert_eq!(a.plan(doc), b.plan(doc));
    let act = a.plan(doc).themes[1].objectives[0].actions[0].id.clone();
    let field = TextField::ActionTitle(act.clone());
    a.edit(doc, |p| {
        p.splice_text(&field, 0, 0, "[A] ").unwrap();
        p.set_rag(&act, Q2, Rag::Green).unwrap();
    });
    b.edit(doc, |p| {
        let end = p.text(&field).unwrap().chars().count();
        p.splice_text(&field, end, 0, " [B]").unwrap();
        p.set_rag(&act, Q2, Rag::Red).unwrap();
    });
    for c in [&a, &b] {
        c.wait_doc(doc, "both edits", |d| {
            let plan = plansync_shared::PlanDoc::from_automerge(d.clone())
                .unwrap()
                .read()
                .unwrap();
            let t = &plan.themes[1].objectives[0].actions[0].title;
            t.starts_with("[A] ") && t.ends_with(" [B]")
        })
        .await;
    }
    a.wait_server_has_all(doc).await;
    b.wait_server_has_all(doc).await;
    let (pa, pb) = (a.plan(doc), b.plan(doc));
    assert_eq!(pa, pb);
    let rag = pa.themes[1].objectives[0].actions[0].rag[&Q2];
    assert!(rag == Rag::Green || rag == Rag::Red);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_plans_in_use_at_once_run_on_as_few_threads_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plansync.db"), &["--sync-threads", "4"]);
    let mut open = Vec::new();
    let mut after_first = 0;
    for i in 0..60 {
        let (doc, token) = server.new_plan(&format!("Plan {i}"));
        let c = RustClient::connect(&server.sync_url_with(&token), &format!("owner-{i}")).await;
        c.find(doc).await;
        c.edit(doc, |p| {
            p.splice_text(&TextField::PlanTitle, 0, 0, "Edited ")
                .unwrap()
        });
        c.wait_server_has_all(doc).await;
        if i == 0 {
            after_first = server.threads();
        }
        open.push((doc, token, c));
    }
    let with_sixty = server.threads();
    eprintln!("server threads: {after_first} with one plan in use, {with_sixty} with sixty");
    assert!(
        with_sixty <= 32,
        "60 plans in use run on at most 32 threads, not one each: {with_sixty}"
    );
    assert!(
        with_sixty <= after_first + 8,
        "the threads hardly grow with the plans: {after_first} with one plan, {with_sixty} with sixty"
    );
    // Every plan stayed live: a newcomer to each of a few finds its owner's edit.
    for (doc, token, _) in open.iter().step_by(15) {
        let fresh = RustClient::connect(&server.sync_url_with(token), "newcomer").await;
        fresh.find(*doc).await;
        assert!(title_of(&fresh.document(*doc)).starts_with("Edited Plan "));
    }
}

/// Rounds of load and SIGKILL in the crash test.
const CRASH_ROUNDS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_under_load_loses_no_change_the_server_had_acknowledged() {
    sigkill_under_load(Backing::sqlite(), 1).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_with_two_nodes_a_node_killed_at_random_moments_under_load_loses_no_change_its_clients_saw_acknowledged(
) {
    sigkill_under_load(Backing::postgres(), 2).await
}

/// Clients spread over `nodes` servers edit; each round one node is killed with SIGKILL,
/// started again, and every client reconnects, to another node where there is one.
async fn sigkill_under_load(backing: Backing, nodes: usize) {
    use rand::Rng;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let mut servers: Vec<Server> = (0..nodes).map(|_| backing.start(&[])).collect();
    let doc = servers[0].demo_plan().await;
    let mut clients = Vec::new();
    for (i, name) in ["police", "council", "probation"].into_iter().enumerate() {
        let c = RustClient::connect(&servers[i % nodes].sync_url(), name).await;
        c.find(doc).await;
        clients.push((name, c));
    }
    let action = clients[0].1.plan(doc).themes[2].objectives[0].actions[0]
        .id
        .clone();
    // Every mark each client made, and those it saw in the server's heads.
    let made: Arc<Mutex<Vec<String>>> = Arc::default();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut rng = rand::rng();
    for round in 0..CRASH_ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let mut load = Vec::new();
        for (name, c) in &clients {
            let (c, name, stop) = (c.clone(), *name, stop.clone());
            let (made, acked, action) = (made.clone(), acked.clone(), action.clone());
            load.push(tokio::spawn(async move {
                let mut mine: Vec<String> = Vec::new();
                for i in 0..10_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let mark = format!("<{name}{round}.{i}>");
                    c.edit(doc, |p| {
                        p.splice_text(&TextField::ActionTitle(action.clone()), 0, 0, &mark)
                            .unwrap()
                    });
                    mine.push(mark);
                    // Every fifth edit, a pause long enough for the server to store and
                    // acknowledge what it has (it batches for up to 40 ms).
                    let pause = if i % 5 == 4 { 80 } else { 8 };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    if c.server_has_all(doc) {
                        acked.lock().unwrap().extend(mine.iter().cloned());
                    }
                }
                made.lock().unwrap().extend(mine);
            }));
        }
        let delay = rng.random_range(50..400);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let victim = round % nodes;
        servers.remove(victim).kill();
        stop.store(true, Ordering::Relaxed);
        for l in load {
            l.await.unwrap();
        }
        servers.insert(victim, backing.start(&[]));
        // Another node (or the restarted one) holds every acknowledged change.
        let survivor = &servers[(victim + 1) % nodes];
        let checker = RustClient::connect(&survivor.sync_url(), "checker").await;
        checker.find(doc).await;
        let acked_now = acked.lock().unwrap().clone();
        let has_all = |d: &AutoCommit| {
            let plan = plansync_shared::PlanDoc::from_automerge(d.clone()).unwrap();
            let title = plan.read().unwrap().themes[2].objectives[0].actions[0]
                .title
                .clone();
            acked_now.iter().all(|m| title.contains(m.as_str()))
        };
        if !has_all(&checker.document(doc)) && nodes > 1 {
            // A live node merges what the killed one stored as the database announces it.
            let what = format!(
                "round {round}: every acknowledged change on node {}",
                (victim + 1) % nodes
            );
            for _ in 0..200 {
                if has_all(&checker.document(doc)) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let title = checker.plan(doc).themes[2].objectives[0].actions[0]
                .title
                .clone();
            let missing: Vec<_> = acked_now
                .iter()
                .filter(|m| !title.contains(m.as_str()))
                .collect();
            eprintln!("{what}: after 20 s still missing {missing:?}; title {title}");
            let fresh = RustClient::connect(&survivor.sync_url(), "fresh").await;
            fresh.find(doc).await;
            let t2 = fresh.plan(doc).themes[2].objectives[0].actions[0]
                .title
                .clone();
            eprintln!(
                "a new client on that node still misses {:?}",
                missing
                    .iter()
                    .filter(|m| !t2.contains(m.as_str()))
                    .collect::<Vec<_>>()
            );
            checker.wait_doc(doc, &what, has_all).await;
        }
        let title = checker.plan(doc).themes[2].objectives[0].actions[0]
            .title
            .clone();
        for mark in &acked_now {
            assert!(
                title.contains(mark.as_str()),
                "round {round} (killed after {delay} ms): {mark} was in the server's heads but is lost"
            );
        }
        for (i, (_, c)) in clients.iter().enumerate() {
            c.reconnect(&servers[(i + round + 1) % nodes].sync_url())
                .await;
            c.find(doc).await;
        }
    }
    let server = &servers[0];
    // Every client's edits, acknowledged or not, reach the server and everyone converges.
    for (_, c) in &clients {
        c.wait_server_has_all(doc).await;
    }
    let checker = RustClient::connect(&server.sync_url(), "final").await;
    checker.find(doc).await;
    for (name, c) in &clients {
        let mut same = false;
        for _ in 0..(WAIT.as_millis() / 50) {
            if c.document(doc).get_heads() == checker.document(doc).get_heads() {
                same = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(same, "{name} converged with the server");
        assert_eq!(c.plan(doc), checker.plan(doc));
    }
    let title = checker.plan(doc).themes[2].objectives[0].actions[0]
        .title
        .clone();
    let made = made.lock().unwrap().clone();
    eprintln!(
        "crash test on {}: {CRASH_ROUNDS} kills, {} edits, {} seen in the server's heads before a kill",
        backing.name(),
        made.len(),
        acked.lock().unwrap().len()
    );
    assert!(
        made.len() > CRASH_ROUNDS * 3,
        "load ran: {} edits",
        made.len()
    );
    for mark in &made {
        assert!(title.contains(mark.as_str()), "{mark} lost");
    }
    assert!(
        !acked.lock().unwrap().is_empty(),
        "some edits were acknowledged before a kill"
    );
    assert_eq!(
        server.plans().await.as_array().unwrap().len(),
        1,
        "the demo plan is created once, not on every start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_handshake_errors_unknown_types_and_oversized_frames_over_a_raw_socket() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("plans.db"),
        &["--max-message-bytes", "65536"],
    );
    let join = |v: &str| {
        encode_message(&Message::Join {
            sender_id: PeerId("raw".into()),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: Some(vec![v.into()]),
        })
    };

    // Version 2: an error, then a close.
    let (mut ws, _) = tokio_tungstenite::connect_async(server.sync_url())
        .await
        .unwrap();
    ws.send(Ws::Binary(join("2").into())).await.unwrap();
    let Some(Ok(Ws::Binary(b))) = recv(&mut ws).await else {
        panic!("expected an error frame")
    };
    assert!(
        matches!(decode_message(&b, 1 << 20).unwrap(), Message::Error { message, .. } if message == "unsupported protocol version")
    );
    assert!(matches!(
        recv(&mut ws).await,
        Some(Ok(Ws::Close(_))) | None | Some(Err(_))
    ));

    // Version 1: `peer` at once, aimed at us.
    let (mut ws, _) = tokio_tungstenite::connect_async(server.sync_url())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    ws.send(Ws::Binary(join("1").into())).await.unwrap();
    let Some(Ok(Ws::Binary(b))) = recv(&mut ws).await else {
        panic!("expected peer")
    };
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "peer must come well within 1 s"
    );
    let Message::Peer {
        target_id,
        selected_protocol_version,
        ..
    } = decode_message(&b, 1 << 20).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (target_id.0.as_str(), selected_protocol_version.as_str()),
        ("raw", "1")
    );

    // An unknown type is ignored; the connection still answers a request afterwards.
    let mut unknown = Vec::new();
    ciborium_like_unknown(&mut unknown);
    ws.send(Ws::Binary(unknown.into())).await.unwrap();
    let missing = DocumentId([7; 16]);
    let mut state = plansync_shared::automerge::sync::State::new();
    use plansync_shared::automerge::sync::SyncDoc;
    let data = AutoCommit::new()
        .sync()
        .generate_sync_message(&mut state)
        .unwrap()
        .encode();
    let request = Message::Request(plansync_shared::DocMessage {
        sender_id: PeerId("raw".into()),
        target_id: PeerId("server".into()),
        document_id: missing,
        data,
    });
    ws.send(Ws::Binary(encode_message(&request).into()))
        .await
        .unwrap();
    let mut unavailable = false;
    for _ in 0..3 {
        let Some(Ok(Ws::Binary(b))) = recv(&mut ws).await else {
            break;
        };
        if let Message::DocUnavailable { document_id, .. } = decode_message(&b, 1 << 20).unwrap() {
            assert_eq!(document_id, missing);
            unavailable = true;
            break;
        }
    }
    assert!(
        unavailable,
        "a request for an unknown document gets doc-unavailable"
    );

    // Over the limit: a clear error naming it; far over: a close with code 1009.
    ws.send(Ws::Binary(vec![0u8; 100_000].into()))
        .await
        .unwrap();
    let Some(Ok(Ws::Binary(b))) = recv(&mut ws).await else {
        panic!("expected an error")
    };
    let Message::Error { message, .. } = decode_message(&b, 1 << 20).unwrap() else {
        panic!()
    };
    assert!(message.contains("limit of 65536 bytes"), "{message}");
    ws.send(Ws::Binary(vec![0u8; 300_000].into()))
        .await
        .unwrap();
    match recv(&mut ws).await {
        Some(Ok(Ws::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 1009);
            assert!(
                frame.reason.contains("limit of 65536 bytes"),
                "{}",
                frame.reason
            );
        }
        other => panic!("expected a close with 1009, got {other:?}"),
    }

    // Everyone else is unaffected.
    let doc = server.demo_plan().await;
    let c = RustClient::connect(&server.sync_url(), "after").await;
    c.find(doc).await;
    assert_eq!(c.plan(doc).title, DEMO_PLAN_TITLE);
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next message on a raw socket, waiting at most [`WAIT`].
async fn recv(ws: &mut Socket) -> Option<Result<Ws, tokio_tungstenite::tungstenite::Error>> {
    tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("a reply in time")
}

/// A CBOR map `{type: "something-new", senderId: "raw"}`, written by hand.
fn ciborium_like_unknown(out: &mut Vec<u8>) {
    out.push(0xa2);
    for s in ["type", "something-new", "senderId", "raw"] {
        out.push(0x60 + s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }
}

/// A samod dialer over tokio-tungstenite (samod's own needs native TLS; we need none).
struct WsDialer(String);

impl samod::Dialer for WsDialer {
    type Error = std::convert::Infallible;

    fn url(&self) -> samod::Url {
        samod::Url::parse(&self.0).unwrap()
    }

    fn connect(
        &self,
    ) -> futures::future::BoxFuture<'static, Result<samod::Transport, samod::DialError<Self::Error>>>
    {
        let url = self.0.clone();
        Box::pin(async move {
            let (ws, _) = tokio_tungstenite::connect_async(url)
                .await
                .map_err(samod::DialError::transient)?;
            let (sink, stream) = ws.split();
            let stream = stream.filter_map(|m| async move {
                match m {
                    Ok(Ws::Binary(b)) => Some(Ok(b.to_vec())),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                }
            });
            let sink = sink.with(|v: Vec<u8>| async move {
                Ok::<_, tokio_tungstenite::tungstenite::Error>(Ws::Binary(v.into()))
            });
            Ok(samod::Transport::new(Box::pin(stream), Box::pin(sink)))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samod_round_trip_finds_the_demo_plan_edits_sees_rust_edits_and_cannot_create_a_document() {
    use plansync_shared::automerge::transaction::Transactable;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let doc = server.demo_plan().await;
    let rust = RustClient::connect(&server.sync_url(), "rust").await;
    rust.find(doc).await;

    let repo = samod::Repo::build_tokio().load().await;
    let dialer = repo
        .dial(
            samod::BackoffConfig::default(),
            std::sync::Arc::new(WsDialer(server.sync_url())),
        )
        .unwrap();
    tokio::time::timeout(WAIT, dialer.established())
        .await
        .expect("samod connects in time")
        .expect("samod connects");
    let samod_id: samod::DocumentId = doc.to_string().parse().unwrap();
    let handle = tokio::time::timeout(WAIT, repo.find(samod_id))
        .await
        .expect("find in time")
        .unwrap()
        .expect("samod finds the demo plan");
    assert_eq!(handle.with_document(|d| title_of(d)), DEMO_PLAN_TITLE);

    handle.with_document(|d| {
        let mut tx = d.transaction();
        let title = match tx.get(ROOT, "title").unwrap() {
            Some((Value::Object(ObjType::Text), id)) => id,
            _ => panic!("title is text"),
        };
        tx.splice_text(&title, 0, 0, "[SAMOD] ").unwrap();
        tx.commit();
    });
    rust.wait_doc(doc, "samod's edit", |d| title_of(d).starts_with("[SAMOD] "))
        .await;
    rust.edit(doc, |p| {
        p.splice_text(&TextField::PlanTitle, 0, 0, "[RUST] ")
            .unwrap()
    });
    let mut seen = false;
    for _ in 0..(WAIT.as_millis() / 20) {
        if handle.with_document(|d| title_of(d).starts_with("[RUST] [SAMOD] ")) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "samod did not see the Rust client's edit");

    let mut fresh = plansync_shared::automerge::Automerge::new();
    let mut tx = fresh.transaction();
    let t = tx.put_object(ROOT, "title", ObjType::Text).unwrap();
    tx.splice_text(&t, 0, 0, "Made by samod").unwrap();
    tx.commit();
    let created = repo.create(fresh).await.unwrap();
    let created_id: DocumentId = created.document_id().to_string().parse().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Only the server's own plan creation makes documents: a client's is refused.
    rust.find_unavailable(created_id).await;
    tokio::time::timeout(WAIT, repo.stop())
        .await
        .expect("samod stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_js_client_finds_the_plan_edits_sees_rust_edits_and_cannot_create_a_document() {
    let js_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    assert!(
        js_dir
            .join("node_modules/@automerge/automerge-repo")
            .is_dir(),
        "run `npm install --prefix tests/js` first (the test command does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let doc = server.demo_plan().await;
    let rust = RustClient::connect(&server.sync_url(), "rust").await;
    rust.find(doc).await;

    let mut node = plansync_tests::node_script("interop.mjs", &[&server.sync_url(), &doc.url()]);
    let stdout = node.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let next = |expected: &str| -> serde_json::Value {
        let v = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no '{expected}' from the JS client within {WAIT:?}"));
        assert_eq!(v["event"], expected, "{v}");
        v
    };
    let found = next("found");
    assert_eq!(found["title"], DEMO_PLAN_TITLE);
    assert_eq!(found["themes"], 4);
    next("edited");
    rust.wait_doc(doc, "the JS client's edit", |d| {
        title_of(d).starts_with("[JS] ")
    })
    .await;
    rust.edit(doc, |p| {
        p.splice_text(&TextField::PlanTitle, 0, 0, "[RUST] ")
            .unwrap()
    });
    let saw = next("saw-rust");
    assert!(
        saw["title"].as_str().unwrap().starts_with("[RUST] [JS] "),
        "{saw}"
    );
    let created = next("created");
    let created_id = DocumentId::from_url(created["url"].as_str().unwrap()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    rust.find_unavailable(created_id).await;
    plansync_tests::stop_node(&mut node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_js_client_as_a_viewer_reads_the_plan_but_its_change_is_refused() {
    let js_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let doc = server.demo_plan().await;
    let (_, viewer) = server.join_as("viewer", "Scrutiny member");
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("node")
            .arg(js_dir.join("interop.mjs"))
            .arg(server.sync_url_with(&viewer))
            .arg(doc.url())
            .arg("viewer")
            .current_dir(&js_dir)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("the JS client ends in time")
    .expect("node runs");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        out.contains("\"found\""),
        "the viewer reads the plan: {out}"
    );
    assert!(
        out.contains("[VIEWER] "),
        "the JS client made its change locally: {out}"
    );
    assert!(out.contains("\"disconnected\""), "{out}");
    let rust = RustClient::connect(&server.sync_url(), "owner").await;
    rust.find(doc).await;
    assert_eq!(
        title_of(&rust.document(doc)),
        DEMO_PLAN_TITLE,
        "the plan is unchanged"
    );
}

/// The HTTP status of a refused WebSocket upgrade, or `None` if it was accepted.
async fn upgrade_status(
    request: tokio_tungstenite::tungstenite::handshake::client::Request,
) -> Option<u16> {
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("an answer in time")
    {
        Ok(_) => None,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Some(resp.status().as_u16()),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_missing_tokens_foreign_origins_too_many_sockets_and_message_floods() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("plans.db"),
        &[
            "--max-connections-per-address",
            "3",
            "--max-messages-per-second",
            "5",
        ],
    );
    let base = server.sync_url().split('?').next().unwrap().to_string();
    // No token, a wrong token: 401.
    for url in [base.clone(), format!("{base}?token=00ff")] {
        let req = url.into_client_request().unwrap();
        assert_eq!(upgrade_status(req).await, Some(401));
    }
    // A page from another origin: 403; from the server's own origin: accepted.
    let mut req = server.sync_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    assert_eq!(upgrade_status(req).await, Some(403));
    // Three sockets from one address are allowed, a fourth is not.
    let mut open = Vec::new();
    for _ in 0..3 {
        let (ws, _) = tokio_tungstenite::connect_async(server.sync_url())
            .await
            .expect("within the per-address limit");
        open.push(ws);
    }
    let req = server.sync_url().into_client_request().unwrap();
    assert_eq!(upgrade_status(req).await, Some(429));
    // A flood of messages on one socket (of a type the server ignores, so only the rate
    // limit answers them): an error naming the limit, then a close.
    let mut ws = open.pop().unwrap();
    let mut ignored = Vec::new();
    ciborium_like_unknown(&mut ignored);
    for _ in 0..40 {
        if ws.send(Ws::Binary(ignored.clone().into())).await.is_err() {
            break;
        }
    }
    let mut told = false;
    for _ in 0..100 {
        match recv(&mut ws).await {
            Some(Ok(Ws::Binary(b))) => {
                told |= matches!(decode_message(&b, 1 << 20), Ok(Message::Error { message, .. }) if message.contains("more than 5 per second"));
            }
            Some(Ok(Ws::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    assert!(told, "the flood is told the limit");
    drop(ws);
    drop(open);
    // Closed sockets free their places: a new one, from a page of the server's own origin,
    // is accepted (bounded retries while the server notices the closes).
    let own = server.url.trim_end_matches('/').to_string();
    let mut accepted = false;
    for _ in 0..50 {
        let mut req = server.sync_url().into_client_request().unwrap();
        req.headers_mut().insert("origin", own.parse().unwrap());
        if upgrade_status(req).await.is_none() {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(accepted, "places are given back when sockets close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_takes_a_snapshot_and_makes_every_export_of_the_demo_plan_while_the_server_runs()
{
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plans.db");
    let server = Server::start(&db, &[]);
    let doc = server.demo_plan().await;
    let plan = doc.to_string();
    let run = |args: &[&str]| {
        let out = Command::new(plansync_tests::plansync_binary())
            .args(args)
            .output()
            .expect("run plansync");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let db_arg = db.to_str().unwrap();
    let (ok, said) = run(&[
        "snapshot",
        "--db",
        db_arg,
        "--plan",
        &plan,
        "--name",
        "Before the board",
    ]);
    assert!(ok, "{said}");
    assert!(said.contains("Snapshot \"Before the board\""));
    let rust = RustClient::connect(&server.sync_url(), "editor").await;
    rust.find(doc).await;
    rust.edit(doc, |p| {
        p.set_text(&TextField::PlanTitle, "Renamed after the snapshot")
            .unwrap()
    });
    rust.wait_server_has_all(doc).await;
    for name in plansync_tests::EXPORT_NAMES {
        let out = dir.path().join(name);
        let (ok, said) = run(&[
            "export",
            "--db",
            db_arg,
            "--plan",
            &plan,
            name,
            "--from",
            "Before the board",
            "--period",
            "2026-Q2",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{name}: {said}");
        assert!(
            std::fs::metadata(&out).unwrap().len() > 200,
            "{name} has content"
        );
    }
    // The JSON is now's plan; the one at the snapshot has the old title.
    let now: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plan.json")).unwrap()).unwrap();
    assert_eq!(now["plan"]["title"], "Renamed after the snapshot");
    let at = dir.path().join("at.json");
    let (ok, said) = run(&[
        "export",
        "--db",
        db_arg,
        "--plan",
        &plan,
        "plan.json",
        "--at",
        "Before the board",
        "-o",
        at.to_str().unwrap(),
    ]);
    assert!(ok, "{said}");
    let then: serde_json::Value = serde_json::from_slice(&std::fs::read(&at).unwrap()).unwrap();
    assert_eq!(then["plan"]["title"], DEMO_PLAN_TITLE);
    let compare = std::fs::read_to_string(dir.path().join("compare.html")).unwrap();
    assert!(
        compare.contains("<ins>Renamed after the snapshot</ins>") || compare.contains("Renamed"),
        "{compare}"
    );
    // Wrong names get clear errors.
    let (ok, said) = run(&["export", "--db", db_arg, "--plan", &plan, "plan.odt"]);
    assert!(
        !ok && said.contains("no export called 'plan.odt'"),
        "{said}"
    );
    let (ok, said) = run(&[
        "export", "--db", db_arg, "--plan", &plan, "plan.md", "--at", "Nope",
    ]);
    assert!(
        !ok && said.contains("its snapshots are: \"Before the board\""),
        "{said}"
    );
}

#[test]
fn the_binary_serves_its_built_in_app_compressed_and_cached_from_a_folder_with_no_dist() {
    assert!(
        plansync_tests::app_dir().join("index.html").is_file(),
        "the app is not built: run scripts/build-app.sh (the test command does)"
    );
    let dir = tempfile::tempdir().unwrap();
    assert!(!dir.path().join("dist").exists());
    let server = Server::start(&dir.path().join("p.db"), &[]);
    let addr = server.addr();
    let page = plansync_tests::http_raw(&addr, "GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body).to_string();
    assert_eq!(page.header("cache-control").as_deref(), Some("no-cache"));
    let mut files: Vec<String> = html
        .split(['"', '\''])
        .filter(|p| {
            p.starts_with('/')
                && (p.ends_with(".wasm") || p.ends_with(".js") || p.ends_with(".css"))
        })
        .map(str::to_string)
        .collect();
    files.sort();
    files.dedup();
    assert!(files.iter().any(|f| f.ends_with("_bg.wasm")), "{html}");
    let wire = |path: &str, accept: &str| {
        plansync_tests::http_raw(&addr, "GET", path, &[("Accept-Encoding", accept)], b"")
            .body
            .len()
    };
    let (mut raw_total, mut br_total, mut gz_total) = (html.len(), 0, 0);
    for f in &files {
        let on_disk = std::fs::read(plansync_tests::app_dir().join(&f[1..])).unwrap();
        let plain = plansync_tests::http_raw(&addr, "GET", f, &[], b"");
        assert_eq!(plain.body, on_disk, "{f} as built");
        assert!(plain.header("content-encoding").is_none());
        assert!(
            plain.header("cache-control").unwrap().contains("immutable"),
            "{f}"
        );
        // Compressed when the binary was built: the very first request gets it so.
        let br = plansync_tests::http_raw(&addr, "GET", f, &[("Accept-Encoding", "gzip, br")], b"");
        assert_eq!(br.header("content-encoding").as_deref(), Some("br"), "{f}");
        let gz = plansync_tests::http_raw(&addr, "GET", f, &[("Accept-Encoding", "gzip")], b"");
        assert_eq!(
            gz.header("content-encoding").as_deref(),
            Some("gzip"),
            "{f}"
        );
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&gz.body[..]),
            &mut unzipped,
        )
        .unwrap();
        assert_eq!(unzipped, on_disk, "{f} gzip round trip");
        assert!(br.body.len() < on_disk.len(), "{f}");
        raw_total += on_disk.len();
        br_total += br.body.len();
        gz_total += gz.body.len();
        eprintln!(
            "{f}: {} bytes raw, {} gzip, {} brotli",
            on_disk.len(),
            gz.body.len(),
            br.body.len()
        );
    }
    br_total += wire("/", "gzip, br");
    gz_total += wire("/", "gzip");
    // Browsers ask for brotli only on HTTPS and localhost: on a plain-HTTP room network
    // they get gzip.
    eprintln!(
        "first load: {br_total} bytes on the wire with brotli, {gz_total} with gzip, against \
         {raw_total} raw"
    );
    assert!(
        br_total * 2 < raw_total && gz_total * 2 < raw_total,
        "the app compresses to less than half"
    );
}

#[test]
fn the_app_can_be_installed_its_manifest_names_it_and_its_icons_are_served_at_their_sizes() {
    assert!(
        plansync_tests::app_dir().join("index.html").is_file(),
        "the app is not built: run scripts/build-app.sh (the test command does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("p.db"), &[]);
    let addr = server.addr();
    let html = plansync_tests::http_raw(&addr, "GET", "/", &[], b"").text();
    assert!(
        html.contains(r#"rel="manifest" href="/manifest.webmanifest""#),
        "{html}"
    );
    let m = plansync_tests::http_raw(&addr, "GET", "/manifest.webmanifest", &[], b"");
    assert_eq!(m.status, 200);
    assert_eq!(
        m.header("content-type").as_deref(),
        Some("application/manifest+json")
    );
    let manifest: serde_json::Value = serde_json::from_slice(&m.body).expect("JSON");
    assert_eq!(manifest["short_name"], "Plansync");
    assert_eq!(manifest["start_url"], "/");
    assert_eq!(manifest["display"], "standalone");
    let icons = manifest["icons"].as_array().expect("icons");
    for size in [192u32, 512] {
        let icon = icons
            .iter()
            .find(|i| i["sizes"] == format!("{size}x{size}"))
            .unwrap_or_else(|| panic!("a {size} icon"));
        let png = plansync_tests::http_raw(&addr, "GET", icon["src"].as_str().unwrap(), &[], b"");
        assert_eq!(png.status, 200);
        assert_eq!(png.header("content-type").as_deref(), Some("image/png"));
        assert!(png.body.starts_with(b"\x89PNG\r\n\x1a\n"));
        // The IHDR chunk: width and height.
        let w = u32::from_be_bytes(png.body[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png.body[20..24].try_into().unwrap());
        assert_eq!((w, h), (size, size));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_typing_without_pause_still_gets_the_changes_others_make() {
    let server = Backing::sqlite().start(&[]);
    let doc = server.demo_plan().await;
    let typist = RustClient::connect(&server.sync_url(), "typist").await;
    let other = RustClient::connect(&server.sync_url(), "other").await;
    typist.find(doc).await;
    other.find(doc).await;
    let plan = typist.plan(doc);
    let mine = TextField::ActionTitle(plan.themes[0].objectives[0].actions[0].id.clone());
    let theirs = TextField::ActionTitle(plan.themes[1].objectives[0].actions[0].id.clone());
    other.edit(doc, |p| p.splice_text(&theirs, 0, 0, "[theirs] ").unwrap());
    // A keystroke every 10 ms, for at most 10 s, until their change shows.
    let mut seen = false;
    for _ in 0..1000 {
        typist.edit(doc, |p| {
            let end = p.text(&mine).unwrap().chars().count();
            p.splice_text(&mine, end, 0, "y").unwrap()
        });
        let now = plansync_shared::PlanDoc::from_automerge(typist.document(doc)).unwrap();
        if now.text(&theirs).unwrap().starts_with("[theirs] ") {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen, "their change never arrived while I typed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_js_clients_edit_restores_every_change_acknowledged_before_it_began() {
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plans.db");
    let server = Server::start(&db, &[]);
    let doc = server.demo_plan().await;
    let mut node =
        plansync_tests::node_script("editing.mjs", &[&server.sync_url(), &doc.url(), "3"]);
    let stdout = node.stdout.take().unwrap();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let (found_tx, found) = std::sync::mpsc::channel::<serde_json::Value>();
    let seen = acked.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["event"] == "acked" {
                let marks = v["marks"].as_array().cloned().unwrap_or_default();
                seen.lock()
                    .unwrap()
                    .extend(marks.iter().filter_map(|m| m.as_str().map(str::to_string)));
            } else {
                let _ = found_tx.send(v);
            }
        }
    });
    let first = found.recv_timeout(WAIT).expect("the JS clients start");
    assert_eq!(first["event"], "found", "{first}");
    // Edits flow for a while, then the backup is taken while they go on.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let before = acked.lock().unwrap().clone();
    let backup = dir.path().join("plans-backup.db");
    let said = tokio::task::spawn_blocking({
        let (db, backup) = (db.clone(), backup.clone());
        move || {
            plansync_tests::run_plansync(&[
                "backup",
                "--db",
                db.to_str().unwrap(),
                "--out",
                backup.to_str().unwrap(),
            ])
        }
    })
    .await
    .unwrap();
    assert!(said.contains("Backed up"), "{said}");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    plansync_tests::stop_node(&mut node).await;
    let all = acked.lock().unwrap().clone();
    eprintln!(
        "backup under load: {} marks acknowledged before the backup began, {} in all",
        before.len(),
        all.len()
    );
    assert!(
        before.len() >= 10,
        "the JS clients' edits were acknowledged before the backup: {}",
        before.len()
    );
    assert!(all.len() > before.len(), "edits went on during the backup");

    // A database in use is not replaced.
    let refused = Command::new(plansync_tests::plansync_binary())
        .args(["restore", "--from", backup.to_str().unwrap(), "--db"])
        .arg(&db)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "restore over a running server");
    assert!(text.contains("is in use by a running Plansync"), "{text}");

    let checked = plansync_tests::run_plansync(&["check", "--db", backup.to_str().unwrap()]);
    assert!(
        checked.contains("OK: 1 plan(s), every one loads"),
        "{checked}"
    );
    let restored = dir.path().join("restored.db");
    let said = plansync_tests::run_plansync(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--db",
        restored.to_str().unwrap(),
    ]);
    assert!(said.contains("Restored"), "{said}");
    let json = dir.path().join("plan.json");
    let id = doc.to_string();
    plansync_tests::run_plansync(&[
        "export",
        "--db",
        restored.to_str().unwrap(),
        "--plan",
        &id,
        "plan.json",
        "--out",
        json.to_str().unwrap(),
    ]);
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let title = plan["plan"]["title"].as_str().unwrap().to_string();
    let lost: Vec<_> = before
        .iter()
        .filter(|m| !title.contains(m.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged before the backup began but not in the restored plan: {lost:?}"
    );

    // Once the server is stopped, a restore over its database keeps the one it replaces.
    server.kill();
    let said = plansync_tests::run_plansync(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(said.contains("is kept as"), "{said}");
    let kept = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("plans.db.before-restore-")
        })
        .expect("the replaced database is kept");
    let checked = plansync_tests::run_plansync(&["check", "--db", kept.path().to_str().unwrap()]);
    assert!(checked.contains("OK: 1 plan(s)"), "{checked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_the_open_sockets_while_js_clients_are_connected_and_the_token_guards_the_main_port(
) {
    use plansync_tests::prometheus::{Job, Prometheus};
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = plansync_tests::smtp::free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let token = "metrics-token-0123456789abcdef";
    let token_file = dir.path().join("metrics.token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let server = Server::start(
        &dir.path().join("plans.db"),
        &[
            "--metrics-listen",
            &metrics_addr,
            "--metrics-token-file",
            token_file.to_str().unwrap(),
        ],
    );
    let doc = server.demo_plan().await;
    // The main port's /metrics needs the token.
    let (status, _) = plansync_tests::http_blocking(&server.addr(), "GET", "/metrics", None, None);
    assert_eq!(status, 401);
    let (status, _) = plansync_tests::http_blocking(
        &server.addr(),
        "GET",
        "/metrics",
        Some("wrong-token-000000"),
        None,
    );
    assert_eq!(status, 401);
    let main = plansync_tests::http_raw(
        &server.addr(),
        "GET",
        "/metrics",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(main.status, 200);
    assert!(
        main.text().contains("plansync_sync_sockets"),
        "{}",
        main.text()
    );

    let mut node =
        plansync_tests::node_script("editing.mjs", &[&server.sync_url(), &doc.url(), "3"]);
    let mut lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let found = tokio::task::spawn_blocking(move || {
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        // Keep reading so the clients never block on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        first
    })
    .await
    .unwrap();
    assert!(found.contains("\"found\""), "{found}");

    let main_target = server.addr();
    let prometheus = tokio::task::spawn_blocking(move || {
        Prometheus::start(&[
            Job {
                name: "plansync",
                target: &metrics_addr,
                token: None,
            },
            Job {
                name: "plansync-main",
                target: &main_target,
                token: Some(token),
            },
        ])
    })
    .await
    .unwrap();
    // (Blocking waits: the server and the clients are other processes.)
    let sockets = prometheus.wait_for("plansync_sync_sockets{job=\"plansync\"}", |v| v == 3.0);
    assert_eq!(sockets, Some(3.0), "Prometheus has the three open sockets");
    let plan = format!("plansync_plan_participants{{job=\"plansync\",plan=\"{doc}\"}}");
    assert!(prometheus
        .wait_for(&plan, |v| v >= 1.0)
        .is_some_and(|v| v >= 1.0));
    let incoming = prometheus.wait_for(
        "plansync_sync_messages_total{job=\"plansync\",direction=\"in\"}",
        |v| v > 0.0,
    );
    assert!(incoming.is_some_and(|v| v > 0.0), "{incoming:?}");
    assert_eq!(
        prometheus.wait_for("up{job=\"plansync-main\"}", |v| v == 1.0),
        Some(1.0),
        "Prometheus scrapes the main port with the token"
    );
    plansync_tests::stop_node(&mut node).await;
    assert_eq!(
        prometheus.wait_for("plansync_sync_sockets{job=\"plansync\"}", |v| v == 0.0),
        Some(0.0),
        "the gauge falls when the clients leave"
    );
}
