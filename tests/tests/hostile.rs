//! A hostile room: the attacks of the hostile-room issue, each against the real server
//! process, each showing its bound holding while `/health` still answers (and, where it
//! matters, another plan still syncs). Each prints the server's peak memory and the slowest
//! `/health` answer during the attack, for the closing note's figures.

use futures_util::{SinkExt, StreamExt};
use plansync_shared::{DocumentId, TextField};
use plansync_tests::attack::{
    closed_by_server, connect_from, declared_count_workbook, ephemeral, far_cell_workbook,
    half_open, import, join_frame, joined, long_csv, next_error, recv, tracker_csv, zip_bomb,
};
use plansync_tests::{http_raw, HealthReport, HealthWatch, Launch, RustClient, Server};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as Ws;

/// Prints one figure line for the closing note and checks that `/health` always answered and
/// the server's peak memory stayed within `budget_mib` of where it started.
fn figures(item: u32, watch: HealthWatch, rss_before_kib: u64, budget_mib: u64) -> HealthReport {
    let seen = watch.report();
    println!(
        "FIGURES item {item}: peak RSS {} MiB (at start {} MiB); /health slowest {} ms, {} of {} failed",
        seen.peak_rss_kib / 1024,
        rss_before_kib / 1024,
        seen.slowest.as_millis(),
        seen.failed,
        seen.asked
    );
    assert_eq!(seen.failed, 0, "/health answered throughout the attack");
    assert!(
        seen.peak_rss_kib < rss_before_kib + (budget_mib << 10),
        "memory stayed bounded: peak {} KiB from {rss_before_kib} KiB",
        seen.peak_rss_kib
    );
    seen
}

/// The second plan of a server: (document, its owner's token).
fn second_plan(server: &Server) -> (DocumentId, String) {
    server.new_plan("Second partnership plan")
}

/// Edits another plan through a real client and waits until the server acknowledged it.
async fn another_plan_still_syncs(server: &Server, other: &(DocumentId, String), text: &str) {
    let c = RustClient::connect(&server.sync_url_with(&other.1), "bystander").await;
    c.find(other.0).await;
    let text = text.to_string();
    c.edit(other.0, move |p| {
        p.set_text(&TextField::PlanTitle, &text).unwrap();
    });
    c.wait_server_has_all(other.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_1_2_a_far_away_cell_a_zip_bomb_or_a_huge_declared_count_in_an_xlsx_is_refused_and_the_server_stays_up(
) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let plan = server.demo_plan().await.to_string();
    let other = second_plan(&server);
    let start = server.rss_kib();
    let watch = HealthWatch::start_watching(&server.addr(), server.pid());
    // 1. Two cells, A1 and XFD1048576: a 512 GB range if materialised.
    let far = far_cell_workbook();
    assert!(far.len() < 4_000, "a small file: {} bytes", far.len());
    let (status, body) = import(&server, &plan, "xlsx", &far, false);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("more than 5000 rows"), "{body}");
    // A shared-strings part that declares a hundred billion strings.
    let declared = declared_count_workbook();
    let (status, body) = import(&server, &plan, "xlsx", &declared, false);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("filled cells"), "{body}");
    // 2. A zip bomb: a sheet that unpacks to 400 MB.
    let bomb = zip_bomb(400 << 20);
    assert!(
        bomb.len() < 2 << 20,
        "the bomb is small: {} bytes",
        bomb.len()
    );
    let started = Instant::now();
    let (status, body) = import(&server, &plan, "xlsx", &bomb, false);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unpacks to more than 64 MB"), "{body}");
    assert!(body.len() < 1_000, "a short answer");
    println!("zip bomb refused in {} ms", started.elapsed().as_millis());
    another_plan_still_syncs(&server, &other, "Still here after the workbooks").await;
    figures(1, watch, start, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_3_a_thousand_row_import_commits_as_one_change_while_other_plans_sync_and_a_million_rows_are_refused(
) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let doc = server.demo_plan().await;
    let plan = doc.to_string();
    let other = second_plan(&server);
    let start = server.rss_kib();
    let watch = HealthWatch::start_watching(&server.addr(), server.pid());
    let csv = tracker_csv(1_000);
    let (status, body) = import(&server, &plan, "csv", csv.as_bytes(), false);
    assert_eq!(status, 200, "{body}");
    let preview: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(preview["rows_total"], 1_000);
    assert!(
        preview["import"]["rows"].as_array().unwrap().len() <= 20,
        "a summary, not the file"
    );
    assert!(body.len() < 64 << 10, "preview is {} bytes", body.len());
    // The commit runs off the sync thread: another plan syncs meanwhile.
    let addr = server.addr();
    let token = server.token.clone();
    let body = csv.clone().into_bytes();
    let path = format!("/api/plans/{plan}/import/tracker?format=csv&commit=true");
    let started = Instant::now();
    let commit = std::thread::spawn(move || {
        let auth = format!("Bearer {token}");
        http_raw(&addr, "POST", &path, &[("Authorization", &auth)], &body)
    });
    another_plan_still_syncs(&server, &other, "Edited during the import").await;
    let done = commit.join().unwrap();
    let took = started.elapsed();
    assert_eq!(done.status, 200, "{}", done.text());
    println!(
        "FIGURES item 3: 1,000-row import committed in {} ms",
        took.as_millis()
    );
    let c = RustClient::connect(&server.sync_url(), "checker").await;
    c.find(doc).await;
    let actions: usize = c
        .plan(doc)
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .map(|o| o.actions.len())
        .sum();
    assert!(actions >= 1_000, "every row became an action: {actions}");
    // A million rows (19 MB, under the body limit) are refused in words, quickly.
    let big = long_csv(1_000_000);
    let (status, body) = import(&server, &plan, "csv", big.as_bytes(), false);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("more than 5000 rows"), "{body}");
    figures(3, watch, start, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_4_sockets_that_never_read_are_closed_and_big_ephemeral_messages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let doc = server.demo_plan().await;
    let other = second_plan(&server);
    let (_, viewer) = server.join_as("viewer", "Viewer on the room Wi-Fi");
    let url = server.sync_url_with(&viewer);
    let start = server.rss_kib();
    let watch = HealthWatch::start_watching(&server.addr(), server.pid());
    // Twenty viewers ask for the plan and never read again.
    let mut idle = Vec::new();
    for i in 0..20 {
        idle.push(joined(&url, &format!("idle-{i}"), Some(doc)).await.0);
    }
    let (mut loud, server_peer) = joined(&url, "loud", Some(doc)).await;
    let presence = |count: u64, bytes: usize| {
        ephemeral(
            "loud",
            &server_peer,
            doc,
            count,
            "loud-session".into(),
            bytes,
        )
    };
    // A 1 MiB presence message is refused in words.
    loud.send(Ws::Binary(presence(1, 1 << 20).into()))
        .await
        .unwrap();
    let refused = next_error(&mut loud).await.expect("an error");
    assert!(
        refused.contains("over the limit of 65536 bytes"),
        "{refused}"
    );
    // Messages under the limit are relayed to every idle socket until each one's queue is
    // full: 40 MB each, far past what the kernel buffers. The server passes on at most 10
    // ephemeral messages a second from one connection, so eight loud sockets share the work,
    // each within that rate, and each reads what the others send.
    drop(loud);
    let mut senders = Vec::new();
    let mut drains = Vec::new();
    for k in 0..8 {
        let (ws, _) = joined(&url, &format!("loud-{k}"), Some(doc)).await;
        let (tx, mut rx) = ws.split();
        drains.push(tokio::spawn(
            async move { while rx.next().await.is_some() {} },
        ));
        senders.push(tx);
    }
    'rounds: for n in 0..80u64 {
        for (k, tx) in senders.iter_mut().enumerate() {
            let frame = ephemeral(
                &format!("loud-{k}"),
                &server_peer,
                doc,
                n + 1,
                format!("loud-{k}-session"),
                63 << 10,
            );
            if tx.send(Ws::Binary(frame.into())).await.is_err() {
                break 'rounds;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut cut = 0;
    for ws in idle.iter_mut() {
        if closed_by_server(ws).await {
            cut += 1;
        }
    }
    assert_eq!(cut, 20, "every socket that stopped reading was closed");
    drop(senders);
    drains.iter().for_each(|d| d.abort());
    another_plan_still_syncs(&server, &other, "Edited after the idle sockets").await;
    figures(4, watch, start, 250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_5_huge_or_endless_ephemeral_session_ids_leave_no_memory_behind() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let doc = server.demo_plan().await;
    let (_, viewer) = server.join_as("viewer", "Viewer on the room Wi-Fi");
    let url = server.sync_url_with(&viewer);
    let start = server.rss_kib();
    let watch = HealthWatch::start_watching(&server.addr(), server.pid());
    let (mut ws, server_peer) = joined(&url, "sessions", Some(doc)).await;
    let message =
        |count: u64, session: String| ephemeral("sessions", &server_peer, doc, count, session, 1);
    ws.send(Ws::Binary(message(1, "s".repeat(1 << 20)).into()))
        .await
        .unwrap();
    let refused = next_error(&mut ws).await.expect("an error");
    assert!(
        refused.contains("session ids must be 1 to 128"),
        "{refused}"
    );
    let (mut tx, mut rx) = ws.split();
    let drain = tokio::spawn(async move { while rx.next().await.is_some() {} });
    for i in 0..200u64 {
        tx.send(Ws::Binary(
            message(1, format!("{i}-{}", "s".repeat(1 << 20))).into(),
        ))
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(6)).await;
    }
    for i in 0..300u64 {
        tx.send(Ws::Binary(message(1, format!("session-{i}")).into()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(6)).await;
    }
    drop(tx);
    drain.abort();
    let c = RustClient::connect(&server.sync_url(), "after").await;
    c.find(doc).await;
    figures(5, watch, start, 300);
    assert!(
        server.rss_kib() < start + (60 << 10),
        "nothing stays behind: {} KiB from {start} KiB",
        server.rss_kib()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_6_half_open_connections_beyond_the_file_limit_do_not_stop_service_and_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let _ = rlimit::increase_nofile_limit(4_096);
    let server = Server::start_with(
        &dir.path().join("plans.db"),
        "127.0.0.1:0",
        &["--header-timeout-secs", "2", "--request-timeout-secs", "2"],
        &Launch {
            open_files: Some(1_024),
            ..Launch::default()
        },
    );
    let other = second_plan(&server);
    let start = server.rss_kib();
    let watch = HealthWatch::start_watching(&server.addr(), server.pid());
    let target: std::net::SocketAddr = server.addr().parse().unwrap();
    // 1,050 connections from another loopback address, each with half a request.
    let mut held = half_open(target, "127.0.0.2", 1_050).await;
    assert!(held.len() > 1_000, "{} connected", held.len());
    // While they are held, everyone else is served.
    let latency = server
        .health_latency()
        .expect("/health answers during the attack");
    another_plan_still_syncs(&server, &other, "Edited beside half-open sockets").await;
    // Past the per-address cap they were closed at once; the rest time out.
    // Closed (0 bytes or a reset), or a timeout answer: anything but silence, all within
    // one bounded wait.
    let reads = held.iter_mut().map(|s| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 512];
        tokio::time::timeout(Duration::from_secs(8), s.read(&mut buf))
            .await
            .is_ok()
    });
    let closed = futures::future::join_all(reads)
        .await
        .into_iter()
        .filter(|c| *c)
        .count();
    assert_eq!(closed, held.len(), "every half-open connection was closed");
    println!(
        "item 6: /health took {} ms with {} half-open connections held",
        latency.as_millis(),
        held.len()
    );
    // A body that trickles in is answered 408 when the request timeout passes.
    let trickle = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"POST /api/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"co")
            .unwrap();
        let started = Instant::now();
        let mut answer = [0u8; 64];
        let n = s.read(&mut answer).unwrap_or(0);
        (
            String::from_utf8_lossy(&answer[..n]).to_string(),
            started.elapsed(),
        )
    };
    assert!(trickle.0.starts_with("HTTP/1.1 408"), "{:?}", trickle.0);
    assert!(
        trickle.1 < Duration::from_secs(6),
        "answered after {:?}",
        trickle.1
    );
    figures(6, watch, start, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_6_an_open_websocket_keeps_its_connections_place_until_it_closes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("plans.db"),
        &["--max-http-connections-per-address", "3"],
    );
    let target: std::net::SocketAddr = server.addr().parse().unwrap();
    // Three sync sockets from one address fill its places...
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let tcp = connect_from(target, "127.0.0.3")
            .await
            .expect("a connection");
        let (ws, _) = tokio_tungstenite::client_async(server.sync_url(), tcp)
            .await
            .expect("a sync socket");
        sockets.push(ws);
    }
    // ...so a fourth connection from it is closed at once, with no answer.
    let refused = |target| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Some(mut s) = connect_from(target, "127.0.0.3").await else {
            return true;
        };
        let _ = s
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
        !answer.starts_with(b"HTTP/1.1 200")
    };
    assert!(refused(target).await, "the sockets hold their places");
    assert!(
        server.health_latency().is_ok(),
        "other addresses are served"
    );
    // Closing one gives its place back (bounded retries while the server notices).
    drop(sockets.pop());
    let mut served = false;
    for _ in 0..50 {
        if !refused(target).await {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "a closed socket gives its place back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_7_formula_cells_in_the_csv_tracker_are_written_as_text_and_import_back_as_typed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let doc = server.demo_plan().await;
    let c = RustClient::connect(&server.sync_url(), "editor").await;
    c.find(doc).await;
    let titles = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "=1+1",
        "@SUM(1)",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "\tTabbed",
    ];
    let actions: Vec<_> = c
        .plan(doc)
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
        .take(titles.len())
        .map(|a| a.id.clone())
        .collect();
    for (a, t) in actions.iter().zip(titles) {
        let (a, t) = (a.clone(), t.to_string());
        c.edit(doc, move |p| {
            p.set_text(&TextField::ActionTitle(a), &t).unwrap();
        });
    }
    c.wait_server_has_all(doc).await;
    let csv = server.owner_raw(
        "GET",
        &format!("/api/plans/{doc}/exports/tracker.csv"),
        &[],
        b"",
    );
    assert_eq!(csv.status, 200);
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.body.as_slice());
    let cells: Vec<String> = reader
        .records()
        .flat_map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
        .collect();
    for t in titles {
        assert!(cells.contains(&format!("'{t}")), "{t:?} is written as text");
        assert!(
            !cells.contains(&t.to_string()),
            "{t:?} is never written as it is"
        );
    }
    // Imported back, each reads as the title that was typed.
    let (status, body) = import(&server, &doc.to_string(), "csv", &csv.body, false);
    assert_eq!(status, 200, "{body}");
    let preview: serde_json::Value = serde_json::from_str(&body).unwrap();
    let read: Vec<&str> = preview["import"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for t in titles {
        assert!(read.contains(&t.trim()), "{t:?} reads back: {read:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_8_9_a_borrowed_peer_id_cannot_close_another_participants_connection_and_bad_peer_ids_are_refused(
) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("plans.db"),
        "127.0.0.1:0",
        &[],
        &Launch {
            capture_log: true,
            ..Launch::default()
        },
    );
    let doc = server.demo_plan().await;
    let (_, editor) = server.join_as("editor", "Editor of plan A");
    let (_, thief_token) = second_plan(&server);
    let (mut victim, _) = joined(&server.sync_url_with(&editor), "victim-peer", Some(doc)).await;
    // Someone of plan B joins with the editor's peer id: refused, the editor stays.
    let (mut thief, _) = tokio_tungstenite::connect_async(server.sync_url_with(&thief_token))
        .await
        .unwrap();
    thief
        .send(Ws::Binary(join_frame("victim-peer").into()))
        .await
        .unwrap();
    let told = next_error(&mut thief).await.expect("an error");
    assert!(
        told.contains("in use by another participant's connection"),
        "{told}"
    );
    assert!(closed_by_server(&mut thief).await);
    victim.send(Ws::Ping(vec![1].into())).await.unwrap();
    let mut alive = false;
    for _ in 0..50 {
        match recv(&mut victim).await {
            Some(Ok(Ws::Pong(_))) => {
                alive = true;
                break;
            }
            Some(Ok(Ws::Close(_))) | None | Some(Err(_)) => break,
            _ => {}
        }
    }
    assert!(alive, "the editor's connection is still open");
    // 9. A 4 MiB peer id, a forged log line, terminal codes: refused, closed, logged escaped.
    for bad in [
        "p".repeat(4 << 20),
        "x\n2026-11-30T09:00:00.000000Z  INFO plansync: FORGED-LINE".to_string(),
        "\u{1b}[2J\u{1b}[31mANSI-CODES".to_string(),
    ] {
        let (mut ws, _) = tokio_tungstenite::connect_async(server.sync_url_with(&editor))
            .await
            .unwrap();
        ws.send(Ws::Binary(join_frame(&bad).into())).await.unwrap();
        let told = next_error(&mut ws).await.expect("an error");
        assert!(told.contains("a peer id must be 1 to 128"), "{told}");
        assert!(closed_by_server(&mut ws).await);
    }
    // A second join on one socket is refused too.
    let (mut twice, _) = joined(&server.sync_url_with(&editor), "twice", None).await;
    twice
        .send(Ws::Binary(join_frame("twice").into()))
        .await
        .unwrap();
    assert!(next_error(&mut twice)
        .await
        .unwrap()
        .contains("already joined"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log.lock().unwrap().clone();
    assert!(
        !log.lines()
            .any(|l| l.contains("FORGED-LINE") && !l.contains("refused")),
        "no forged line"
    );
    assert!(!log.contains('\u{1b}'), "no terminal codes in the log");
    assert!(
        !log.contains(&"p".repeat(1_000)),
        "no 4 MiB peer id in the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_10_tokens_never_reach_the_log_even_at_debug_level() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("plans.db"),
        "127.0.0.1:0",
        &[],
        &Launch {
            capture_log: true,
            env: vec![("RUST_LOG".into(), "debug".into())],
            ..Launch::default()
        },
    );
    let doc = server.demo_plan().await;
    let (_, viewer) = server.join_as("viewer", "Scrutiny member");
    let c = RustClient::connect(&server.sync_url_with(&viewer), "reader").await;
    c.find(doc).await;
    let owner = server.token.clone();
    for token in [&owner, &viewer] {
        let r = http_raw(
            &server.addr(),
            "GET",
            &format!("/api/plans/{doc}/exports/plan.md?token={token}"),
            &[],
            b"",
        );
        assert_eq!(r.status, 401, "a token in the address opens nothing");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("/sync"), "the debug log has the requests");
    assert!(!log.contains(&owner), "the owner's token is not in the log");
    assert!(
        !log.contains(&viewer),
        "the viewer's token is not in the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_11_guessing_join_codes_is_slowed_to_a_few_tries_and_every_wrong_code_reads_the_same()
{
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("plans.db"),
        "127.0.0.1:0",
        &[],
        &Launch {
            capture_log: true,
            ..Launch::default()
        },
    );
    // Used up, and never issued: the same words.
    let code = server.invite("viewer");
    let join = |code: &str| {
        plansync_tests::http_blocking(
            &server.addr(),
            "POST",
            "/api/join",
            None,
            Some(&serde_json::json!({"code": code, "name": "Guest", "agency": "Room"})),
        )
    };
    for _ in 0..5 {
        assert_eq!(join(&code).0, 201);
    }
    let (status, used_up) = join(&code);
    assert_eq!(status, 400);
    let (_, unknown) = join("ACDE-FHJK-MN");
    assert_eq!(used_up, unknown, "no hint which codes exist");
    // Guessing from one address: after ten wrong codes, 429 with when to try again.
    let mut throttled = None;
    for i in 0..30 {
        let (status, body) = join("ACDE-FHJK-MP");
        if status == 429 {
            throttled = Some((i, body));
            break;
        }
    }
    let (after, body) = throttled.expect("guessing is stopped");
    assert!(after <= 10, "stopped after {after} more tries");
    assert!(
        body["error"].as_str().unwrap().contains("try again in"),
        "{body}"
    );
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.contains("address=127.0.0.1"),
        "the log names the address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_12_the_app_and_papers_carry_security_headers_links_use_the_public_url_and_markdown_has_no_raw_html(
) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("plans.db"),
        &["--public-url", "http://room.example:8080"],
    );
    let doc = server.demo_plan().await;
    let page = http_raw(&server.addr(), "GET", "/", &[], b"");
    let csp = page
        .header("content-security-policy")
        .expect("a CSP on the app");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(
        page.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(
        page.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    let c = RustClient::connect(&server.sync_url(), "editor").await;
    c.find(doc).await;
    let action = c.plan(doc).themes[0].objectives[0].actions[0].id.clone();
    c.edit(doc, move |p| {
        p.set_text(
            &TextField::ActionTitle(action),
            "<script>alert(1)</script> ![t](http://x/p.gif)",
        )
        .unwrap();
    });
    c.wait_server_has_all(doc).await;
    let html = server.owner_raw(
        "GET",
        &format!("/api/plans/{doc}/exports/plan.html"),
        &[],
        b"",
    );
    assert_eq!(html.status, 200);
    assert!(html
        .header("content-security-policy")
        .unwrap()
        .starts_with("default-src 'none'"));
    assert_eq!(html.header("cache-control").as_deref(), Some("no-store"));
    let md = server.owner_raw(
        "GET",
        &format!("/api/plans/{doc}/exports/plan.md"),
        &[],
        b"",
    );
    assert!(!md.text().contains("<script>"), "no raw HTML in plan.md");
    assert!(md.text().contains("&lt;script&gt;"));
    let code = server.invite("editor");
    let joined = http_raw(
        &server.addr(),
        "POST",
        "/api/join",
        &[("Content-Type", "application/json")],
        serde_json::json!({"code": code, "name": "N", "agency": "A"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(joined.header("cache-control").as_deref(), Some("no-store"));
    let plans: serde_json::Value = server.plans().await;
    let plan = plans[0]["id"].as_str().unwrap();
    let inv = server.owner_raw(
        "POST",
        &format!("/api/plans/{plan}/invitations"),
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-Proto", "https"),
        ],
        br#"{"role":"viewer","expires_hours":1,"uses":1}"#,
    );
    let inv: serde_json::Value = serde_json::from_slice(&inv.body).unwrap();
    assert!(
        inv["link"]
            .as_str()
            .unwrap()
            .starts_with("http://room.example:8080/#/join/"),
        "{inv}"
    );
}

/// `POST /api/join` with a wrong code, sent from the local address `from` (127.0.0.x) to
/// `to`, with `forwarded` as the client's own `X-Forwarded-For` if given: the status.
async fn join_from(
    from: &str,
    to: std::net::SocketAddr,
    code: &str,
    forwarded: Option<&str>,
) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut stream = tokio::time::timeout(plansync_tests::WAIT, socket.connect(to))
        .await
        .expect("connected in time")
        .unwrap();
    let body = serde_json::json!({"code": code, "name": "Guest", "agency": "Room"}).to_string();
    let extra = forwarded.map_or(String::new(), |f| format!("X-Forwarded-For: {f}\r\n"));
    let request = format!(
        "POST /api/join HTTP/1.1\r\nHost: {to}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(plansync_tests::WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP answer: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nginx_with_a_trusted_proxy_a_guessing_client_is_throttled_while_another_through_the_same_nginx_still_joins(
) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("plans.db"),
        "127.0.0.1:0",
        &["--trusted-proxy", "127.0.0.1"],
        &Launch {
            capture_log: true,
            ..Launch::default()
        },
    );
    server.demo_plan().await;
    let proxy = plansync_tests::nginx::Nginx::start(&[server.addr()]);
    let to: std::net::SocketAddr = proxy
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    // One client guesses, writing a new address of its own into X-Forwarded-For each time
    // (nginx appends the address it heard from, which is the one that counts).
    let mut throttled_after = None;
    for i in 0..11 {
        let status = join_from(
            "127.0.0.2",
            to,
            "ACDE-FHJK-MP",
            Some(&format!("198.51.100.{i}")),
        )
        .await;
        if status == 429 {
            throttled_after = Some(i);
            break;
        }
        assert_eq!(status, 400, "a wrong code is refused");
    }
    assert_eq!(
        throttled_after,
        Some(10),
        "the eleventh wrong code from one client is throttled"
    );
    // Another client through the same nginx is its own address: it still joins.
    let code = server.invite("viewer");
    assert_eq!(join_from("127.0.0.3", to, &code, None).await, 201);
    // The server's log names the guessing client, not nginx (read as it comes: bounded).
    let start = Instant::now();
    while !server.log.lock().unwrap().contains("address=127.0.0.2") {
        assert!(
            start.elapsed() < plansync_tests::WAIT,
            "the log names the guessing client, not nginx: {}",
            server.log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_server_takes_its_settings_from_a_config_file_and_a_flag_on_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("plansync.toml");
    std::fs::write(
        &config,
        "# as /etc/plansync/plansync.toml\nlisten = \"127.0.0.1:1\"\nmax-wrong-codes-per-address = 2\nlog-format = \"json\"\n",
    )
    .unwrap();
    // --listen on the command line wins over the file's port 1 (which could not be bound).
    let server = Server::start_with(
        &dir.path().join("plans.db"),
        "127.0.0.1:0",
        &["--config", config.to_str().unwrap()],
        &Launch {
            capture_log: true,
            ..Launch::default()
        },
    );
    let join = || {
        plansync_tests::http_blocking(
            &server.addr(),
            "POST",
            "/api/join",
            None,
            Some(&serde_json::json!({"code": "ACDE-FHJK-MP", "name": "Guest", "agency": "Room"})),
        )
        .0
    };
    let statuses: Vec<u16> = (0..3).map(|_| join()).collect();
    assert_eq!(
        statuses,
        vec![400, 400, 429],
        "the file's max-wrong-codes-per-address = 2 holds"
    );
    // The file's log-format = "json": one object per line, for a log shipper.
    let log = server.log.lock().unwrap().clone();
    let refused: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("a JSON log line: {l}")))
        .filter(|v: &serde_json::Value| {
            v["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("wrong, expired or used-up invitation code"))
        })
        .collect();
    assert_eq!(refused.len(), 2, "{log}");
    assert_eq!(refused[0]["level"], "WARN");
    assert_eq!(refused[0]["fields"]["address"], "127.0.0.1");

    // A bad value stops the start, naming the key.
    std::fs::write(&config, "max-wrong-codes-per-address = \"ten\"\n").unwrap();
    let out = std::process::Command::new(plansync_tests::plansync_binary())
        .args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains("key \"max-wrong-codes-per-address\"") && said.contains("'ten'"),
        "{said}"
    );
}
