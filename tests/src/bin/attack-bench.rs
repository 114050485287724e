//! Runs the hostile-room attacks (items 1 to 6 of the issue) against a real `plansync` binary
//! and prints, for each, what the server answered, its peak memory and the slowest `/health`
//! answer during the attack. `PLANSYNC_BIN=/path/to/plansync` measures another build (an
//! older one, for before/after figures) with the same code; it needs no flag newer than it.
//! `--smoke`: smaller sizes (CI's check that the bench still runs).

use futures_util::{SinkExt, StreamExt};
use plansync_tests::attack::{self, Socket};
use plansync_tests::{HealthWatch, Launch, Server};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as Ws;

/// One attack's figures.
struct Row {
    item: &'static str,
    outcome: String,
    start_kib: u64,
    watch: plansync_tests::HealthReport,
}

fn fresh(dir: &tempfile::TempDir, launch: &Launch) -> Server {
    Server::start_with(&dir.path().join("plans.db"), "127.0.0.1:0", &[], launch)
}

fn alive(server: &Server) -> &'static str {
    if server.health_latency().is_ok() {
        "server up"
    } else {
        "SERVER DOWN"
    }
}

async fn measure<F, Fut>(item: &'static str, launch: Launch, attack: F) -> Row
where
    F: FnOnce(Arc<Server>) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let dir = tempfile::tempdir().expect("a temporary folder");
    let server = Arc::new(fresh(&dir, &launch));
    let start_kib = server.rss_kib();
    let watch = HealthWatch::start_watching(&server.addr(), server.pid());
    let started = Instant::now();
    let outcome = attack(server.clone()).await;
    let outcome = format!(
        "{outcome}; {} s; {}",
        started.elapsed().as_secs(),
        alive(&server)
    );
    Row {
        item,
        outcome,
        start_kib,
        watch: watch.report(),
    }
}

fn short(status: u16, body: &str) -> String {
    let mut b: String = body.chars().take(70).collect();
    if body.len() > 70 {
        b.push('…');
    }
    format!("HTTP {status} ({} bytes): {b}", body.len())
}

async fn idle_readers(server: &Server) -> String {
    let doc = server.demo_plan().await;
    let (_, viewer) = server.join_as("viewer", "Viewer on the room Wi-Fi");
    let url = server.sync_url_with(&viewer);
    let mut idle: Vec<Socket> = Vec::new();
    for i in 0..20 {
        idle.push(
            attack::joined(&url, &format!("idle-{i}"), Some(doc))
                .await
                .0,
        );
    }
    let (loud, target) = attack::joined(&url, "loud", Some(doc)).await;
    let (mut tx, mut rx) = loud.split();
    let drain = tokio::spawn(async move { while rx.next().await.is_some() {} });
    let mut sent = 0;
    for n in 0..260u64 {
        let bytes = if n < 60 { 1 << 20 } else { 63 << 10 };
        let frame = attack::ephemeral("loud", &target, doc, n + 1, "loud-session".into(), bytes);
        if tx.send(Ws::Binary(frame.into())).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(8)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = server.rss_kib() >> 10;
    drop(tx);
    drain.abort();
    let mut cut = 0;
    for ws in idle.iter_mut() {
        if tokio::time::timeout(Duration::from_secs(3), attack::closed_by_server(ws))
            .await
            .unwrap_or(false)
        {
            cut += 1;
        }
    }
    format!("{sent} presence messages sent; RSS {rss} MiB while held; {cut} of 20 idle sockets closed by the server")
}

async fn session_ids(server: &Server) -> String {
    let doc = server.demo_plan().await;
    let (_, viewer) = server.join_as("viewer", "Viewer on the room Wi-Fi");
    let url = server.sync_url_with(&viewer);
    let (ws, target) = attack::joined(&url, "sessions", Some(doc)).await;
    let (mut tx, mut rx) = ws.split();
    let drain = tokio::spawn(async move { while rx.next().await.is_some() {} });
    for i in 0..200u64 {
        let session = format!("{i}-{}", "s".repeat(1 << 20));
        let frame = attack::ephemeral("sessions", &target, doc, 1, session, 1);
        if tx.send(Ws::Binary(frame.into())).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(8)).await;
    }
    let _ = tx.close().await;
    drain.abort();
    tokio::time::sleep(Duration::from_secs(2)).await;
    format!("RSS {} MiB after the socket closed", server.rss_kib() >> 10)
}

/// Posts a tracker file to the demo plan's import on a blocking thread, so a server that
/// dies or stalls cannot hang the bench: status and body, `(0, "no answer")` if none came.
async fn import(
    s: Arc<Server>,
    format: &'static str,
    body: Vec<u8>,
    commit: bool,
) -> (u16, String) {
    let plan = s.demo_plan().await.to_string();
    tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            attack::import(&s, &plan, format, &body, commit)
        }))
        .unwrap_or((0, "no answer".into()))
    })
    .await
    .unwrap_or((0, "no answer".into()))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = rlimit::increase_nofile_limit(8_192);
    let binary = plansync_tests::plansync_binary();
    println!("attack-bench on {}", binary.display());
    // A smoke run (CI's check that the bench still runs): smaller imports and fewer
    // half-open connections; its figures mean nothing.
    let smoke = plansync_tests::smoke_run();
    if smoke {
        println!("smoke run: 100-row import, 10,000-row CSV, 100 half-open connections");
    }
    let tracker_rows: &[usize] = if smoke { &[100] } else { &[100, 300, 1_000] };
    let long_rows = if smoke { 10_000 } else { 1_000_000 };
    let half_open = if smoke { 100 } else { 1_050 };
    let mut rows = Vec::new();
    rows.push(
        measure(
            "1 far-away cell .xlsx (1.6 KB) preview",
            Launch::default(),
            |s| async move {
                let (status, body) = import(s, "xlsx", attack::far_cell_workbook(), false).await;
                short(status, &body)
            },
        )
        .await,
    );
    rows.push(
        measure(
            "2 zip bomb .xlsx (unpacks to 1 GB) preview",
            Launch::default(),
            |s| async move {
                let bomb = attack::zip_bomb(1 << 30);
                let size = bomb.len();
                let (status, body) = import(s, "xlsx", bomb, false).await;
                format!("{size} bytes sent; {}", short(status, &body))
            },
        )
        .await,
    );
    for &n in tracker_rows {
        rows.push(
            measure(
                "3 tracker import commit",
                Launch::default(),
                move |s| async move {
                    let csv = attack::tracker_csv(n).into_bytes();
                    let started = Instant::now();
                    let commit = tokio::spawn(import(s.clone(), "csv", csv, true));
                    // Meanwhile, the list of plans (it reads through the sync service).
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let lister = s.clone();
                    let listed = tokio::task::spawn_blocking(move || {
                        let t = Instant::now();
                        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            lister.request("GET", "/api/plans", None).0
                        }));
                        let ms = t.elapsed().as_millis();
                        match answer {
                            Ok(200) => format!("GET /api/plans meanwhile {ms} ms"),
                            _ => format!("GET /api/plans meanwhile: no answer in {ms} ms"),
                        }
                    })
                    .await
                    .unwrap_or_default();
                    let (status, _) = commit.await.unwrap_or((0, String::new()));
                    format!(
                        "{n} rows: HTTP {status} in {} ms; {listed}",
                        started.elapsed().as_millis()
                    )
                },
            )
            .await,
        );
    }
    rows.push(
        measure(
            "3 one-million-row CSV (19 MB) preview",
            Launch::default(),
            move |s| async move {
                let csv = attack::long_csv(long_rows).into_bytes();
                let (status, body) = import(s, "csv", csv, false).await;
                short(status, &body)
            },
        )
        .await,
    );
    rows.push(
        measure(
            "4 20 idle readers + 60 x 1 MiB and 200 x 63 KiB presence",
            Launch::default(),
            |s| async move { idle_readers(&s).await },
        )
        .await,
    );
    rows.push(
        measure(
            "5 200 presence messages with 1 MiB session ids",
            Launch::default(),
            |s| async move { session_ids(&s).await },
        )
        .await,
    );
    rows.push(
        measure(
            "6 1,050 half-open connections, server started with 1,024 files",
            Launch {
                open_files: Some(1_024),
                ..Launch::default()
            },
            move |s| async move {
                let target: std::net::SocketAddr = s.addr().parse().expect("an address");
                let held = attack::half_open(target, "127.0.0.2", half_open).await;
                let during = match s.health_latency() {
                    Ok(d) => format!("/health {} ms while held", d.as_millis()),
                    Err(e) => format!("/health FAILED while held ({e})"),
                };
                tokio::time::sleep(Duration::from_secs(3)).await;
                let n = held.len();
                drop(held);
                format!("{n} held; {during}")
            },
        )
        .await,
    );
    println!("| attack | outcome | RSS at start (MiB) | peak RSS (MiB) | slowest /health (ms) | /health failures |");
    println!("|---|---|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} of {} |",
            r.item,
            r.outcome,
            r.start_kib >> 10,
            r.watch.peak_rss_kib >> 10,
            r.watch.slowest.as_millis(),
            r.watch.failed,
            r.watch.asked
        );
    }
}
