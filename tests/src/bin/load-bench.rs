//! Load generator: N clients (each its own sync core and socket) open one plan on a real
//! release `plansync` server and make M edits each at a bounded total rate; then half go
//! offline, make M edits each, and all reconnect at once. Prints, for each N: propagation
//! latency to the last receiver (p50/p95/p99/max), time for every replica to hold every
//! edit after the reconnect, bytes on the wire during the reconnect against the size of the
//! changes that had to move, the server's peak RSS and CPU seconds (from /proc), and lost
//! edits (must be 0).
//!
//! `--backend sqlite|postgres` picks the storage (PostgreSQL in a private cluster the bench
//! starts) and `--nodes K` starts K servers on it, the clients spread over them round-robin
//! (the CPU and peak RSS columns are then the nodes' total and the largest node's).
//!
//! Then N official JS clients (`tests/js/load.mjs`; N ≤ 100 of those asked for) do the same
//! against plansync and against the reference sync server (`tests/js/reference-server.mjs`),
//! unless `--no-js` (`--js-only`: only those).
//!
//! Run: `cargo build --release -p plansync-server && cargo run --release -p plansync-tests --bin load-bench [--backend sqlite|postgres] [--nodes K] [--no-js | --js-only] [N ...]`

use futures_util::{SinkExt, StreamExt};
use plansync_shared::automerge::legacy::Key as LegacyKey;
use plansync_shared::automerge::{transaction::Transactable, ROOT};
use plansync_shared::{ConnId, DocumentId, Effect, Event, Hub, HubConfig, PeerId};
use plansync_tests::{Backing, Server};
use rand::SeedableRng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// Edits each client makes online, and again offline.
const EDITS: usize = 4;
/// Edits per second across all clients while online.
const TOTAL_RATE: f64 = 100.0;
/// Every client is on 127.0.0.1: lift the per-address caps of sync and HTTP.
const SERVER_FLAGS: &[&str] = &[
    "--max-connections-per-address",
    "5000",
    "--max-http-connections-per-address",
    "5000",
    "--max-messages-per-second",
    "100000",
    // Hundreds of JS clients in one busy node process may take a while to send their
    // sockets' request headers after connecting.
    "--header-timeout-secs",
    "300",
];
/// How long any phase may take before the bench gives up.
const PHASE_LIMIT: Duration = Duration::from_secs(180);

static MSGS_UP: AtomicU64 = AtomicU64::new(0);
static MSGS_DOWN: AtomicU64 = AtomicU64::new(0);
/// Messages down over 64 KiB (a whole document rather than changes), and their bytes.
static BIG_DOWN: AtomicU64 = AtomicU64::new(0);
static BIG_DOWN_BYTES: AtomicU64 = AtomicU64::new(0);
/// Changes sent down to a client that already held them, and their bytes.
static DUP_DOWN: AtomicU64 = AtomicU64::new(0);
static DUP_DOWN_BYTES: AtomicU64 = AtomicU64::new(0);
/// Whole documents sent down to a client that already held part of the document (their
/// bytes count in [`DUP_DOWN_BYTES`]).
static WHOLE_TO_HOLDER: AtomicU64 = AtomicU64::new(0);
/// What the sync messages' bytes were spent on, down (0) and up (1): heads, needs, the
/// `have` entries' shared heads, their bloom filters, changes, and the rest (the envelope).
static PARTS: [[AtomicU64; 6]; 2] = [const { [const { AtomicU64::new(0) }; 6] }; 2];
const PART_NAMES: [&str; 6] = [
    "heads",
    "need",
    "have heads",
    "bloom",
    "changes",
    "envelope",
];

/// Whether the clients decode every sync message to count its parts and the changes they
/// held already (`LOAD_BENCH_PARTS=1`): it costs the clients' process CPU the servers then
/// share the machine with, so it is off unless asked for.
fn diagnosing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("LOAD_BENCH_PARTS").is_ok_and(|v| v == "1"))
}

/// Sync messages down whose heads the client still lacked after taking them in (told of
/// changes it was not sent), and how many heads it lacked.
static AHEAD: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];

/// Adds a frame's parts to [`PARTS`] (`up`: sent by a client); the message's heads.
fn tally(frame: &[u8], up: bool) -> Option<Vec<plansync_shared::automerge::ChangeHash>> {
    use plansync_shared::automerge::sync;
    let Ok(plansync_shared::Message::Sync(m)) = plansync_shared::decode_message(frame, usize::MAX)
    else {
        return None;
    };
    let Ok(message) = sync::Message::decode(&m.data) else {
        return None;
    };
    let row = &PARTS[up as usize];
    let heads = 32 * message.heads.len() as u64;
    let need = 32 * message.need.len() as u64;
    let have_heads: u64 = message
        .have
        .iter()
        .map(|h| 32 * h.last_sync.len() as u64)
        .sum();
    let bloom: u64 = message
        .have
        .iter()
        .map(|h| h.bloom.to_bytes().len() as u64)
        .sum();
    let changes: u64 = message.changes.iter().map(|c| c.len() as u64).sum();
    let parts = [heads, need, have_heads, bloom, changes];
    for (i, v) in parts.iter().enumerate() {
        row[i].fetch_add(*v, Ordering::Relaxed);
    }
    let rest = (frame.len() as u64).saturating_sub(parts.iter().sum());
    row[5].fetch_add(rest, Ordering::Relaxed);
    Some(message.heads)
}

/// [`PARTS`] as they are now.
fn parts_now() -> [[u64; 6]; 2] {
    std::array::from_fn(|d| std::array::from_fn(|i| PARTS[d][i].load(Ordering::Relaxed)))
}

/// Times a client's socket was closed by the server and it reconnected.
static CUT_OFF: AtomicU64 = AtomicU64::new(0);

/// Where a client reports what it sees and moves.
#[derive(Clone)]
struct Meters {
    seen: mpsc::UnboundedSender<Seen>,
    wire: Arc<AtomicU64>,
    offline_bytes: Arc<AtomicU64>,
}

enum Cmd {
    Edit(String),
    GoOffline,
    GoOnline,
    Heads(oneshot::Sender<Vec<String>>),
}

/// A key reached a client at a moment.
struct Seen {
    key: String,
    at: Instant,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

struct Client {
    hub: Hub,
    doc: DocumentId,
    conn: u64,
    sink: Option<Sink>,
    heads: Option<Vec<plansync_shared::automerge::ChangeHash>>,
    seen: mpsc::UnboundedSender<Seen>,
    wire: Arc<AtomicU64>,
    offline_bytes: Arc<AtomicU64>,
}

impl Client {
    /// Counts the changes in a sync message down that this client already holds.
    fn count_held_already(&mut self, frame: &[u8]) {
        use plansync_shared::automerge::{sync, Change};
        let Ok(plansync_shared::Message::Sync(m)) =
            plansync_shared::decode_message(frame, usize::MAX)
        else {
            return;
        };
        let Ok(message) = sync::Message::decode(&m.data) else {
            return;
        };
        let Some(doc) = self.hub.document_mut(&m.document_id) else {
            return;
        };
        let holds_some = !doc.get_heads().is_empty();
        for chunk in message.changes.iter() {
            match Change::try_from(chunk) {
                Ok(change) if doc.get_change_by_hash(&change.hash()).is_some() => {
                    DUP_DOWN.fetch_add(1, Ordering::Relaxed);
                    DUP_DOWN_BYTES.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
                Ok(_) => {}
                // The whole document, to a client that held part of it.
                Err(_) if holds_some => {
                    WHOLE_TO_HOLDER.fetch_add(1, Ordering::Relaxed);
                    DUP_DOWN_BYTES.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
                Err(_) => {}
            }
        }
    }

    async fn carry_out(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Send { frame, .. } => {
                    self.wire.fetch_add(frame.len() as u64, Ordering::Relaxed);
                    if diagnosing() {
                        tally(&frame, true);
                    }
                    MSGS_UP.fetch_add(1, Ordering::Relaxed);
                    if let Some(s) = self.sink.as_mut() {
                        let _ = s.send(Message::Binary(frame.into())).await;
                    }
                }
                Effect::Ready { .. } if !self.hub.has_content(&self.doc) => {
                    let more = self.hub.handle(now_ms(), Event::Find { doc: self.doc });
                    Box::pin(self.carry_out(more)).await;
                }
                Effect::Changed { doc } if doc == self.doc => self.report(),
                _ => {}
            }
        }
    }

    /// Reports the bench keys that arrived since the last look, read from the new changes'
    /// operations (cheap: proportional to what arrived, not to the plan).
    fn report(&mut self) {
        let Some(d) = self.hub.document_mut(&self.doc) else {
            return;
        };
        let now = d.get_heads();
        let Some(before) = self.heads.replace(now) else {
            return; // the plan itself arriving: nothing to time
        };
        let at = Instant::now();
        for change in d.get_changes(&before) {
            for op in change.decode().operations {
                if let LegacyKey::Map(key) = op.key {
                    if key.starts_with("bench-") {
                        let _ = self.seen.send(Seen {
                            key: key.to_string(),
                            at,
                        });
                    }
                }
            }
        }
    }
}

async fn run_client(
    url: String,
    doc: DocumentId,
    seed: u64,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    meters: Meters,
    ready: oneshot::Sender<()>,
) {
    let Meters {
        seen,
        wire,
        offline_bytes,
    } = meters;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let hub = Hub::new(HubConfig::client(PeerId(format!("load-{seed}"))), &mut rng);
    let mut c = Client {
        hub,
        doc,
        conn: 0,
        sink: None,
        heads: None,
        seen,
        wire,
        offline_bytes,
    };
    let mut ready = Some(ready);
    let mut stream = None;
    let mut online = true;
    loop {
        if online && stream.is_none() {
            let Ok((ws, _)) = tokio_tungstenite::connect_async(&url).await else {
                break; // the server is gone: the bench is over
            };
            let (sink, s) = ws.split();
            c.sink = Some(sink);
            stream = Some(s);
            c.conn += 1;
            let e = c.hub.handle(
                now_ms(),
                Event::Connected {
                    conn: ConnId(c.conn),
                    dialer: true,
                },
            );
            c.carry_out(e).await;
        }
        tokio::select! {
            frame = async { stream.as_mut().unwrap().next().await }, if stream.is_some() => match frame {
                Some(Ok(Message::Binary(b))) => {
                    c.wire.fetch_add(b.len() as u64, Ordering::Relaxed);
                    MSGS_DOWN.fetch_add(1, Ordering::Relaxed);
                    if b.len() > 64 << 10 {
                        BIG_DOWN.fetch_add(1, Ordering::Relaxed);
                        BIG_DOWN_BYTES.fetch_add(b.len() as u64, Ordering::Relaxed);
                    }
                    let told = if diagnosing() {
                        c.count_held_already(&b);
                        tally(&b, false)
                    } else {
                        None
                    };
                    let e = c.hub.handle(now_ms(), Event::Received { conn: ConnId(c.conn), frame: b.to_vec() });
                    c.carry_out(e).await;
                    if let (Some(heads), Some(d)) = (told, c.hub.document_mut(&doc)) {
                        let lacking = d.get_missing_deps(&heads).len() as u64;
                        if lacking > 0 {
                            AHEAD[0].fetch_add(1, Ordering::Relaxed);
                            AHEAD[1].fetch_add(lacking, Ordering::Relaxed);
                        }
                    }
                    if ready.is_some() && c.hub.has_content(&doc) {
                        if c.heads.is_none() {
                            c.heads = c.hub.document_mut(&doc).map(|d| d.get_heads());
                        }
                        if let Some(r) = ready.take() { let _ = r.send(()); }
                    }
                }
                Some(Ok(_)) => {}
                // The server closed us (a client that fell behind is cut off, as the app
                // would be): reconnect, as the app does, and count it.
                other => {
                    if CUT_OFF.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("load-bench: a client's socket ended: {other:?}");
                    }
                    c.sink = None;
                    stream = None;
                    c.hub.handle(now_ms(), Event::Disconnected { conn: ConnId(c.conn) });
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            cmd = cmds.recv() => match cmd {
                None => break,
                Some(Cmd::Edit(key)) => {
                    let d = c.hub.document_mut(&doc).expect("plan held");
                    d.put(ROOT, key, now_ms() as i64).unwrap();
                    d.commit();
                    if !online {
                        let size = d.get_last_local_change().map_or(0, |ch| ch.raw_bytes().len());
                        c.offline_bytes.fetch_add(size as u64, Ordering::Relaxed);
                    }
                    c.heads = Some(d.get_heads());
                    let e = c.hub.handle(now_ms(), Event::LocalChange { doc });
                    c.carry_out(e).await;
                }
                Some(Cmd::GoOffline) => {
                    online = false;
                    if let Some(mut s) = c.sink.take() { let _ = s.close().await; }
                    stream = None;
                    c.hub.handle(now_ms(), Event::Disconnected { conn: ConnId(c.conn) });
                }
                Some(Cmd::GoOnline) => online = true,
                Some(Cmd::Heads(reply)) => {
                    let h = c.hub.document_mut(&doc).map(|d| d.get_heads()).unwrap_or_default();
                    let _ = reply.send(h.iter().map(|h| h.to_string()).collect());
                }
            },
        }
    }
}

/// Peak resident memory (VmHWM) in MB and CPU seconds (user + system) of a process.
fn proc_stats(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (hwm_kb / 1024.0, ticks / 100.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Row {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    converge_s: f64,
    wire_ratio: f64,
    wire_kb: f64,
    rss_mb: f64,
    cpu_s: f64,
    bench_cpu_s: f64,
    lost: usize,
}

/// Waits until every client has seen every key in `keys` (or the phase limit passes);
/// returns, per key, the moment its last receiver got it.
async fn collect(
    seen: &mut mpsc::UnboundedReceiver<Seen>,
    keys: &[String],
    receivers: usize,
    have: &mut HashMap<String, (usize, Instant)>,
) -> bool {
    let deadline = Instant::now() + PHASE_LIMIT;
    // Counted as messages arrive: checking every key on every message would make the
    // bench itself the bottleneck (2,000 keys × 500 receivers).
    let wanted: std::collections::HashSet<&str> = keys.iter().map(String::as_str).collect();
    let mut done = keys
        .iter()
        .filter(|k| have.get(*k).is_some_and(|(n, _)| *n >= receivers))
        .count();
    while done < keys.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, seen.recv()).await {
            Ok(Some(s)) => {
                let counted = wanted.contains(s.key.as_str());
                let e = have.entry(s.key).or_insert((0, s.at));
                e.0 += 1;
                e.1 = e.1.max(s.at);
                if counted && e.0 == receivers {
                    done += 1;
                }
            }
            _ => return false,
        }
    }
    true
}

/// Waits until the joins' traffic has settled (no message down for 500 ms, at most 30 s).
async fn settle() {
    let settle = Instant::now();
    loop {
        let before = MSGS_DOWN.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(500)).await;
        if MSGS_DOWN.load(Ordering::Relaxed) == before || settle.elapsed() > Duration::from_secs(30)
        {
            break;
        }
    }
}

/// How many of `clients` hold other heads than the first one does.
async fn heads_apart(clients: &[mpsc::UnboundedSender<Cmd>]) -> usize {
    let mut heads = Vec::new();
    for c in clients {
        let (tx, rx) = oneshot::channel();
        let _ = c.send(Cmd::Heads(tx));
        heads.push(rx.await.unwrap_or_default());
    }
    heads.iter().filter(|h| **h != heads[0]).count()
}

/// Where the bench runs its servers.
#[derive(Clone, Copy)]
struct Setup {
    postgres: bool,
    nodes: usize,
}

async fn run(n: usize, setup: Setup) -> Row {
    // (Sockets the previous run's servers reset as they were stopped are not this run's.)
    CUT_OFF.store(0, Ordering::Relaxed);
    let backing = if setup.postgres {
        Backing::postgres()
    } else {
        Backing::sqlite()
    };
    let servers: Vec<Server> = (0..setup.nodes)
        .map(|_| backing.start(SERVER_FLAGS))
        .collect();
    let doc = servers[0].demo_plan().await;
    let urls: Vec<String> = servers.iter().map(Server::sync_url).collect();
    let (_, bench_cpu_before) = proc_stats(std::process::id());
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let wire = Arc::new(AtomicU64::new(0));
    let offline_bytes = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for i in 0..n {
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        tokio::spawn(run_client(
            urls[i % urls.len()].clone(),
            doc,
            i as u64,
            rx,
            Meters {
                seen: seen_tx.clone(),
                wire: wire.clone(),
                offline_bytes: offline_bytes.clone(),
            },
            ready_tx,
        ));
        tokio::time::timeout(PHASE_LIMIT, ready_rx)
            .await
            .expect("client opens the plan in time")
            .unwrap();
        clients.push(tx);
    }
    eprintln!("load-bench: N={n}: {n} clients hold the plan");
    // The online phase starts once the joins' traffic has settled (no message down for
    // 500 ms, at most 30 s): its latencies are those of edits, not of 500 first syncs.
    settle().await;

    // Online: M edits each, spread evenly at TOTAL_RATE.
    let gap = Duration::from_secs_f64(1.0 / TOTAL_RATE);
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut online_keys = Vec::new();
    for round in 0..EDITS {
        for (i, c) in clients.iter().enumerate() {
            let key = format!("bench-on-{i}-{round}");
            sent.insert(key.clone(), Instant::now());
            let _ = c.send(Cmd::Edit(key.clone()));
            online_keys.push(key);
            tokio::time::sleep(gap).await;
        }
    }
    let mut have = HashMap::new();
    // A client's own edit is not reported back to it: n - 1 receivers per key.
    let online_ok = collect(&mut seen, &online_keys, n - 1, &mut have).await;
    if !online_ok {
        eprintln!("load-bench: N={n}: online edits did not reach everyone within {PHASE_LIMIT:?}");
    }
    let mut lat: Vec<f64> = online_keys
        .iter()
        .filter_map(|k| {
            have.get(k)
                .map(|(_, at)| (*at - sent[k]).as_secs_f64() * 1000.0)
        })
        .collect();
    let mut slowest: Vec<(f64, &String)> = online_keys
        .iter()
        .filter_map(|k| {
            have.get(k)
                .map(|(_, at)| ((*at - sent[k]).as_secs_f64() * 1000.0, k))
        })
        .collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    let slowest: Vec<String> = slowest
        .iter()
        .take(5)
        .map(|(ms, k)| format!("{k} {ms:.0} ms"))
        .collect();
    eprintln!("load-bench: N={n}: slowest edits: {}", slowest.join(", "));
    lat.sort_by(f64::total_cmp);
    eprintln!(
        "load-bench: N={n}: online phase done; {} sockets cut off by the server so far",
        CUT_OFF.load(Ordering::Relaxed)
    );

    // Offline: half go offline, edit, and everyone reconnects at once.
    let offline: Vec<usize> = (0..n).step_by(2).collect();
    for &i in &offline {
        let _ = clients[i].send(Cmd::GoOffline);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut offline_keys = Vec::new();
    for round in 0..EDITS {
        for &i in &offline {
            let key = format!("bench-off-{i}-{round}");
            let _ = clients[i].send(Cmd::Edit(key.clone()));
            offline_keys.push(key);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let wire_before = wire.load(Ordering::Relaxed);
    let (up0, down0, big0, big_bytes0) = (
        MSGS_UP.load(Ordering::Relaxed),
        MSGS_DOWN.load(Ordering::Relaxed),
        BIG_DOWN.load(Ordering::Relaxed),
        BIG_DOWN_BYTES.load(Ordering::Relaxed),
    );
    let (dup0, dup_bytes0, whole0) = (
        DUP_DOWN.load(Ordering::Relaxed),
        DUP_DOWN_BYTES.load(Ordering::Relaxed),
        WHOLE_TO_HOLDER.load(Ordering::Relaxed),
    );
    let parts0 = parts_now();
    let start = Instant::now();
    for &i in &offline {
        let _ = clients[i].send(Cmd::GoOnline);
    }
    let ok = collect(&mut seen, &offline_keys, n - 1, &mut have).await;
    let converge_s = start.elapsed().as_secs_f64();
    // Settle, then compare every replica's heads.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let wire_kb = (wire.load(Ordering::Relaxed) - wire_before) as f64 / 1024.0;
    eprintln!(
        "load-bench: N={n}: reconnect moved {} messages up, {} down ({} over 64 KiB: {} KiB; {} changes and {} whole documents the client already held, in part or whole: {} KiB); {} offline change bytes",
        MSGS_UP.load(Ordering::Relaxed) - up0,
        MSGS_DOWN.load(Ordering::Relaxed) - down0,
        BIG_DOWN.load(Ordering::Relaxed) - big0,
        (BIG_DOWN_BYTES.load(Ordering::Relaxed) - big_bytes0) >> 10,
        DUP_DOWN.load(Ordering::Relaxed) - dup0,
        WHOLE_TO_HOLDER.load(Ordering::Relaxed) - whole0,
        (DUP_DOWN_BYTES.load(Ordering::Relaxed) - dup_bytes0) >> 10,
        offline_bytes.load(Ordering::Relaxed)
    );
    let parts1 = parts_now();
    if diagnosing() {
        eprintln!(
            "load-bench: N={n}: sync messages down whose heads the client lacked after taking them in (since the start): {}, lacking {} heads in all",
            AHEAD[0].load(Ordering::Relaxed),
            AHEAD[1].load(Ordering::Relaxed)
        );
    }
    for (d, way) in ["down", "up"].iter().enumerate().filter(|_| diagnosing()) {
        let spent: Vec<String> = PART_NAMES
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{name} {} KiB", (parts1[d][i] - parts0[d][i]) >> 10))
            .collect();
        eprintln!(
            "load-bench: N={n}: reconnect's sync messages {way}: {}",
            spent.join(", ")
        );
    }
    // Each offline change goes up once and down to the n - 1 others.
    let change_bytes = offline_bytes.load(Ordering::Relaxed) as usize;
    let needed = (change_bytes * n) as f64 / 1024.0;
    let mismatched = heads_apart(&clients).await;
    let all_keys: Vec<&String> = online_keys.iter().chain(offline_keys.iter()).collect();
    let lost = all_keys
        .iter()
        .filter(|k| have.get(k.as_str()).is_none_or(|(c, _)| *c < n - 1))
        .count()
        + mismatched;
    if !ok {
        eprintln!("load-bench: N={n}: offline edits did not reach everyone within {PHASE_LIMIT:?}");
    }
    let stats: Vec<(f64, f64)> = servers.iter().map(|s| proc_stats(s.pid())).collect();
    let rss_mb = stats.iter().map(|s| s.0).fold(0.0, f64::max);
    let cpu_s = stats.iter().map(|s| s.1).sum();
    let bench_cpu_s = proc_stats(std::process::id()).1 - bench_cpu_before;
    drop(clients);
    Row {
        p50: percentile(&lat, 0.5),
        p95: percentile(&lat, 0.95),
        p99: percentile(&lat, 0.99),
        max: lat.last().copied().unwrap_or(f64::NAN),
        converge_s,
        wire_ratio: wire_kb / needed,
        wire_kb,
        rss_mb,
        cpu_s,
        bench_cpu_s,
        lost,
    }
}

/// What K plans with N clients each saw (`--plans K`).
struct PlansRow {
    plans: usize,
    n: usize,
    edits: usize,
    join_all_s: f64,
    join_p50: f64,
    join_p99: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    rss_mb: f64,
    rss_joined_mb: f64,
    rss_before_mb: f64,
    threads: u64,
    cpu_s: f64,
    bench_cpu_s: f64,
    lost: usize,
}

/// Samples the servers' thread counts until dropped, keeping the largest.
fn watch_threads(pids: Vec<u32>) -> (Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let most = Arc::new(AtomicU64::new(0));
    let m = most.clone();
    let task = tokio::spawn(async move {
        loop {
            for pid in &pids {
                m.fetch_max(
                    plansync_tests::proc_status_kib(*pid, "Threads:"),
                    Ordering::Relaxed,
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    (most, task)
}

/// K plans (copies of the demo plan, each with its owner's token), N clients each, all
/// finding their plan at once; then `secs` seconds of edits at [`TOTAL_RATE`] in all, spread
/// over the plans, each timed to the last of its plan's other clients.
async fn run_plans(k: usize, n: usize, secs: u64, setup: Setup) -> PlansRow {
    CUT_OFF.store(0, Ordering::Relaxed);
    let backing = if setup.postgres {
        Backing::postgres()
    } else {
        Backing::sqlite()
    };
    let servers: Vec<Arc<Server>> = (0..setup.nodes)
        .map(|_| Arc::new(backing.start(SERVER_FLAGS)))
        .collect();
    let pids: Vec<u32> = servers.iter().map(|s| s.pid()).collect();
    let (threads, watching) = watch_threads(pids.clone());
    let made = Instant::now();
    let mut plans = Vec::with_capacity(k);
    for _ in 0..k {
        let first = servers[0].clone();
        plans.push(
            tokio::task::spawn_blocking(move || first.new_demo_plan())
                .await
                .expect("a plan is made"),
        );
    }
    eprintln!(
        "load-bench: {k} plans made in {:.1} s",
        made.elapsed().as_secs_f64()
    );
    // The plans were made on node 1: the memory before is after the first one's idle
    // actors stopped, as far as the bench can wait.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = pids
        .iter()
        .map(|p| plansync_tests::proc_status_kib(*p, "VmRSS:") as f64 / 1024.0)
        .fold(0.0, f64::max);
    let (_, bench_cpu_before) = proc_stats(std::process::id());
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let wire = Arc::new(AtomicU64::new(0));
    let offline_bytes = Arc::new(AtomicU64::new(0));
    let mut clients: Vec<Vec<mpsc::UnboundedSender<Cmd>>> = Vec::new();
    let mut joins = Vec::new();
    let start = Instant::now();
    for (p, (doc, token)) in plans.iter().enumerate() {
        let mut these = Vec::new();
        for j in 0..n {
            let server = &servers[(p * n + j) % servers.len()];
            let (tx, rx) = mpsc::unbounded_channel();
            let (ready_tx, ready_rx) = oneshot::channel();
            tokio::spawn(run_client(
                server.sync_url_with(token),
                *doc,
                (p * n + j) as u64,
                rx,
                Meters {
                    seen: seen_tx.clone(),
                    wire: wire.clone(),
                    offline_bytes: offline_bytes.clone(),
                },
                ready_tx,
            ));
            joins.push(async move {
                let _ = ready_rx.await;
                start.elapsed().as_secs_f64() * 1000.0
            });
            these.push(tx);
        }
        clients.push(these);
    }
    let mut join_ms: Vec<f64> =
        tokio::time::timeout(PHASE_LIMIT, futures_util::future::join_all(joins))
            .await
            .expect("every client opens its plan in time");
    let join_all_s = start.elapsed().as_secs_f64();
    join_ms.sort_by(f64::total_cmp);
    eprintln!("load-bench: {k} plans × {n}: every client holds its plan after {join_all_s:.1} s");
    settle().await;
    let rss_joined = pids
        .iter()
        .map(|p| plansync_tests::proc_status_kib(*p, "VmRSS:") as f64 / 1024.0)
        .fold(0.0, f64::max);

    // Edits at TOTAL_RATE for `secs`, round-robin over the plans and their clients.
    let gap = Duration::from_secs_f64(1.0 / TOTAL_RATE);
    let total = (secs as f64 * TOTAL_RATE) as usize;
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut keys = Vec::with_capacity(total);
    let mut next = tokio::time::Instant::now();
    for e in 0..total {
        let (p, j) = (e % k, (e / k) % n);
        let key = format!("bench-p{p}-{e}");
        sent.insert(key.clone(), Instant::now());
        let _ = clients[p][j].send(Cmd::Edit(key.clone()));
        keys.push(key);
        next += gap;
        tokio::time::sleep_until(next).await;
    }
    let mut have = HashMap::new();
    let ok = collect(&mut seen, &keys, n - 1, &mut have).await;
    if !ok {
        eprintln!("load-bench: {k} plans: edits did not reach everyone within {PHASE_LIMIT:?}");
    }
    let mut lat: Vec<f64> = keys
        .iter()
        .filter_map(|key| {
            have.get(key)
                .filter(|(c, _)| *c >= n - 1)
                .map(|(_, at)| (*at - sent[key]).as_secs_f64() * 1000.0)
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut mismatched = 0;
    for these in &clients {
        mismatched += heads_apart(these).await;
    }
    let lost = keys.len() - lat.len() + mismatched;
    let stats: Vec<(f64, f64)> = pids.iter().map(|p| proc_stats(*p)).collect();
    watching.abort();
    let bench_cpu_s = proc_stats(std::process::id()).1 - bench_cpu_before;
    eprintln!(
        "load-bench: {k} plans: {} sockets cut off by the server",
        CUT_OFF.load(Ordering::Relaxed)
    );
    drop(clients);
    PlansRow {
        plans: k,
        n,
        edits: total,
        join_all_s,
        join_p50: percentile(&join_ms, 0.5),
        join_p99: percentile(&join_ms, 0.99),
        p50: percentile(&lat, 0.5),
        p95: percentile(&lat, 0.95),
        p99: percentile(&lat, 0.99),
        max: lat.last().copied().unwrap_or(f64::NAN),
        rss_mb: stats.iter().map(|s| s.0).fold(0.0, f64::max),
        rss_joined_mb: rss_joined,
        rss_before_mb: rss_before,
        threads: threads.load(Ordering::Relaxed),
        cpu_s: stats.iter().map(|s| s.1).sum(),
        bench_cpu_s,
        lost,
    }
}

/// What N official JS clients saw and sent against one server (from `tests/js/load.mjs`).
struct JsRow {
    figures: serde_json::Value,
    cpu_s: f64,
    rss_mb: f64,
}

/// Runs `tests/js/load.mjs` with `args` and returns its figures line, or its error.
async fn js_load(args: &[&str]) -> Result<serde_json::Value, String> {
    let js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    let out = tokio::time::timeout(
        Duration::from_secs(900),
        tokio::process::Command::new("node")
            .arg(js.join("load.mjs"))
            .args(args)
            .current_dir(&js)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output(),
    )
    .await
    .map_err(|_| "the JS load did not end in 15 minutes".to_string())?
    .map_err(|e| format!("node did not run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("no figures from the JS load: {text}"))?;
    if last["event"] == "figures" {
        Ok(last)
    } else {
        Err(last["why"].as_str().unwrap_or("unknown").to_string())
    }
}

/// The reference automerge-repo sync server (`tests/js/reference-server.mjs`): the child
/// and its address.
async fn reference_server(dir: &std::path::Path) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    let mut child = tokio::process::Command::new("node")
        .arg(js.join("reference-server.mjs"))
        .arg(dir)
        .current_dir(&js)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs the reference server");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the reference server starts within 30 s")
        .unwrap()
        .unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(&line).expect("the reference server says its port");
    (child, format!("ws://127.0.0.1:{}", v["port"]))
}

/// N official JS clients against our server (node 1 of `setup`) and then against the
/// reference sync server, the same plan (copied onto it first) and the same edits.
async fn run_js(n: usize, setup: Setup) -> (Result<JsRow, String>, Result<JsRow, String>) {
    let backing = if setup.postgres {
        Backing::postgres()
    } else {
        Backing::sqlite()
    };
    let ours = backing.start(SERVER_FLAGS);
    let doc = ours.demo_plan().await;
    let (url, plan) = (ours.sync_url(), doc.url());
    let n_text = n.to_string();
    let (cpu0, ours_pid) = (proc_stats(ours.pid()).1, ours.pid());
    let ours_row = js_load(&[&url, &plan, &n_text]).await.map(|figures| {
        let (rss_mb, cpu) = proc_stats(ours_pid);
        JsRow {
            figures,
            cpu_s: cpu - cpu0,
            rss_mb,
        }
    });
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (reference, ref_url) = reference_server(dir.path()).await;
    let pid = reference.id().unwrap_or(0);
    let reference_row = js_load(&[&ref_url, &plan, &n_text, "--seed-from", &url])
        .await
        .map(|figures| {
            let (rss_mb, cpu_s) = proc_stats(pid);
            JsRow {
                figures,
                cpu_s,
                rss_mb,
            }
        });
    drop(reference);
    (ours_row, reference_row)
}

fn print_js(server: &str, n: usize, row: &Result<JsRow, String>) {
    match row {
        Ok(r) => {
            let f = &r.figures;
            let num = |k: &str| f[k].as_f64().unwrap_or(f64::NAN);
            println!(
                "| {server} | {n:>3} | {:.1} | {:.0} / {:.0} | {:.0} / {:.0} | {:.0} / {:.0} | {:.1} | {:.0} / {:.0} | {:.0} / {:.0} | {:.1} | {:.1} |",
                num("find_s"),
                num("find_messages"),
                num("find_bytes") / 1024.0,
                num("online_messages"),
                num("online_bytes") / 1024.0,
                num("latency_p50_ms"),
                num("latency_p99_ms"),
                num("reconnect_s"),
                num("reconnect_messages"),
                num("reconnect_bytes") / 1024.0,
                num("big_change_messages"),
                num("big_change_bytes") / 1024.0,
                r.cpu_s,
                r.rss_mb,
            );
        }
        Err(e) => println!("| {server} | {n:>3} | did not finish: {e} |"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut setup = Setup {
        postgres: false,
        nodes: 1,
    };
    let mut ns: Vec<usize> = Vec::new();
    let mut js = true;
    let mut rust = true;
    let mut plans: Vec<usize> = Vec::new();
    let mut secs: u64 = 60;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--backend" => match args.next().as_deref() {
                Some("sqlite") => setup.postgres = false,
                Some("postgres") => setup.postgres = true,
                other => panic!("--backend sqlite|postgres, not {other:?}"),
            },
            "--nodes" => {
                setup.nodes = args
                    .next()
                    .and_then(|k| k.parse().ok())
                    .filter(|k| *k >= 1)
                    .expect("--nodes K, K at least 1")
            }
            "--plans" => plans.push(
                args.next()
                    .and_then(|k| k.parse().ok())
                    .filter(|k| *k >= 1)
                    .expect("--plans K, K at least 1"),
            ),
            "--seconds" => {
                secs = args
                    .next()
                    .and_then(|k| k.parse().ok())
                    .expect("--seconds S")
            }
            "--no-js" => js = false,
            // The smallest run (CI's check that the bench still runs).
            "--smoke" => ns.push(3),
            "--js-only" => rust = false,
            n => ns.push(
                n.parse()
                    .unwrap_or_else(|_| panic!("not a client count: {n}")),
            ),
        }
    }
    if !plans.is_empty() {
        return many_plans(&plans, &ns, secs, setup, rust, js).await;
    }
    let ns = if ns.is_empty() {
        vec![10, 50, 100, 500]
    } else {
        ns
    };
    println!(
        "{EDITS} edits per client online at {TOTAL_RATE} edits/s in total, then half offline make {EDITS} each and all reconnect at once; {} with {} node(s) (with several, the same load on one node follows in the same run, and their ratios)",
        if setup.postgres { "PostgreSQL" } else { "SQLite" },
        setup.nodes
    );
    println!("|   N | latency to last receiver p50 / p95 / p99 / max (ms) | reconnect: all replicas hold every edit (s) | reconnect bytes on the wire (KB) | ÷ changes that had to move | server peak RSS per node (MB) | server CPU (s) | load generator CPU (s) | lost edits |");
    println!("|----:|---|---:|---:|---:|---:|---:|---:|---:|");
    for n in ns.iter().copied().filter(|_| rust) {
        let r = run(n, setup).await;
        print_row(&n.to_string(), &r);
        if setup.nodes > 1 {
            // The same load on one node, in the same run, for the several-node ratios.
            let one = run(n, Setup { nodes: 1, ..setup }).await;
            print_row(&format!("{n}, 1 node"), &one);
            println!(
                "| {n}: {} nodes ÷ 1 | {:.2}× / {:.2}× / {:.2}× / {:.2}× | {:.2}× | {:.2}× | {:.2}× | | {:.2}× | | |",
                setup.nodes,
                r.p50 / one.p50,
                r.p95 / one.p95,
                r.p99 / one.p99,
                r.max / one.max,
                r.converge_s / one.converge_s,
                r.wire_kb / one.wire_kb,
                r.wire_ratio / one.wire_ratio,
                r.cpu_s / one.cpu_s,
            );
        }
    }
    let js_ns: Vec<usize> = ns.iter().copied().filter(|n| *n <= 100).collect();
    if !js || js_ns.is_empty() {
        return;
    }
    println!();
    println!("The official JS client (@automerge/automerge-repo 2.5.6, N repos in one node process), the same load against plansync and against the reference sync server (tests/js/reference-server.mjs); the clients' messages and bytes are what they sent:");
    println!("| server | N | first find() of every client (s) | find: messages / KB sent | online: messages / KB sent | latency to last receiver p50 / p99 (ms) | reconnect: all hold every edit (s) | reconnect: messages / KB sent | one 50 KB change: messages / KB sent | server CPU (s) | server peak RSS (MB) |");
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for n in js_ns {
        let (ours, reference) = run_js(n, setup).await;
        print_js("plansync", n, &ours);
        print_js("reference", n, &reference);
    }
}

/// One row of the one-plan table.
fn print_row(label: &str, r: &Row) {
    println!(
        "| {label:>3} | {:.0} / {:.0} / {:.0} / {:.0} | {:.2} | {:.0} | {:.2}× | {:.1} | {:.2} | {:.2} | {} |",
        r.p50, r.p95, r.p99, r.max, r.converge_s, r.wire_kb, r.wire_ratio, r.rss_mb, r.cpu_s, r.bench_cpu_s, r.lost
    );
}

/// `--plans K ...`: each K with N clients per plan (the first N given, else 3).
async fn many_plans(plans: &[usize], ns: &[usize], secs: u64, setup: Setup, rust: bool, js: bool) {
    let n = ns.first().copied().unwrap_or(3).max(2);
    if rust {
        println!(
            "K plans (copies of the demo plan) × {n} Rust clients each, all finding their plan at once; then {secs} s of edits at {TOTAL_RATE} edits/s in all, round-robin over the plans; {} with {} node(s)",
            if setup.postgres { "PostgreSQL" } else { "SQLite" },
            setup.nodes
        );
        println!("| K plans | clients | first sync of every client (s) | one client's join p50 / p99 (ms) | edits | latency to the plan's last receiver p50 / p95 / p99 / max (ms) | server RSS before / joined / peak (MB) | per plan in use (KB) | server threads (most) | server CPU (s) | load generator CPU (s) | lost edits |");
        println!("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for &k in plans {
            let r = run_plans(k, n, secs, setup).await;
            println!(
                "| {} | {} | {:.1} | {:.0} / {:.0} | {} | {:.0} / {:.0} / {:.0} / {:.0} | {:.0} / {:.0} / {:.0} | {:.0} | {} | {:.1} | {:.1} | {} |",
                r.plans,
                r.plans * r.n,
                r.join_all_s,
                r.join_p50,
                r.join_p99,
                r.edits,
                r.p50,
                r.p95,
                r.p99,
                r.max,
                r.rss_before_mb,
                r.rss_joined_mb,
                r.rss_mb,
                (r.rss_joined_mb - r.rss_before_mb) * 1024.0 / r.plans as f64,
                r.threads,
                r.cpu_s,
                r.bench_cpu_s,
                r.lost
            );
        }
    }
    if !js {
        return;
    }
    println!();
    println!("The official JS client (@automerge/automerge-repo 2.5.6, every client its own Repo and socket in one node process), the same plans and load against plansync and against the reference sync server; CPU and memory per join are the clients' process's, and so is \"busy\": its CPU seconds per second while the clients find (near 1 or more, the clients' own process, not the server, sets how long finding takes):");
    println!("| server | K plans | clients | first find() of every client (s) | one client's find p50 / p99 (ms) | client CPU per join (ms) | client memory per join (KB) | clients' process busy (cores) | received per join (messages / KB) | sockets per join | edits | latency p50 / p99 (ms) | lost | server CPU (s) | server peak RSS (MB) | server threads (most) | finds asked again / sockets reset | one at a time: join / client CPU / server CPU (ms) |");
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let mut floors = Vec::new();
    for &k in plans {
        let (ours, reference) = run_js_plans(k, n, secs.min(30), setup).await;
        print_js_plans("plansync", &ours);
        print_js_plans("reference", &reference);
        if let (Ok(o), Ok(r)) = (&ours, &reference) {
            let ratio = |key: &str| {
                o.figures[key].as_f64().unwrap_or(f64::NAN)
                    / r.figures[key].as_f64().unwrap_or(f64::NAN)
            };
            println!(
                "| plansync ÷ reference | {k} | {} | {:.2}× | {:.2}× / {:.2}× | {:.2}× | {:.2}× | | | | | {:.2}× / {:.2}× | | {:.2}× | {:.2}× | | | {:.2}× / {:.2}× / {:.2}× |",
                k * n,
                ratio("find_s"),
                ratio("find_p50_ms"),
                ratio("find_p99_ms"),
                ratio("cpu_per_join_ms"),
                ratio("rss_per_join_kb"),
                ratio("latency_p50_ms"),
                ratio("latency_p99_ms"),
                o.spent.cpu_s / r.spent.cpu_s,
                o.spent.rss_mb / r.spent.rss_mb,
                ratio("alone_join_ms"),
                ratio("alone_cpu_per_join_ms"),
                o.spent.alone_cpu_ms / r.spent.alone_cpu_ms,
            );
            floors.push((
                k,
                clients_floor(&o.figures),
                clients_floor(&r.figures),
                r.figures["find_s"].as_f64().unwrap_or(f64::NAN),
            ));
        }
    }
    for (k, ours, theirs, reference) in floors {
        println!(
            "{k} plans: the clients' process alone needs at least {ours:.1} s ({:.2}× the reference's first find() of all) for its finds against plansync and {theirs:.1} s ({:.2}×) against the reference: its CPU per join × joins ÷ the machine's {} cores",
            ours / reference,
            theirs / reference,
            cores(),
        );
    }
}

/// The machine's cores.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |c| c.get())
}

/// The least time (s) the JS clients' own process needs for its finds, whatever the server
/// (were it to take no CPU at all): its CPU per join × joins ÷ the machine's cores.
fn clients_floor(figures: &serde_json::Value) -> f64 {
    let num = |key: &str| figures[key].as_f64().unwrap_or(f64::NAN);
    num("cpu_per_join_ms") * num("plans") * num("n") / 1000.0 / cores() as f64
}

/// What the JS clients of `--plans` saw against one server, and that server's figures.
struct JsPlansRow {
    figures: serde_json::Value,
    spent: ServerSpent,
    threads: u64,
}

fn print_js_plans(server: &str, row: &Result<JsPlansRow, String>) {
    match row {
        Ok(r) => {
            let f = &r.figures;
            let num = |k: &str| f[k].as_f64().unwrap_or(f64::NAN);
            println!(
                "| {server} | {} | {} | {:.1} | {:.0} / {:.0} | {:.1} | {:.0} | {:.2} | {:.2} / {:.1} | {:.2} | {} | {:.0} / {:.0} | {} | {:.1} | {:.1} | {} | {} / {} | {:.0} / {:.0} / {:.1} |",
                num("plans"),
                num("plans") * num("n"),
                num("find_s"),
                num("find_p50_ms"),
                num("find_p99_ms"),
                num("cpu_per_join_ms"),
                num("rss_per_join_kb"),
                num("cpu_per_join_ms") * num("plans") * num("n") / 1000.0 / num("find_s"),
                num("received_per_join"),
                num("received_kb_per_join"),
                num("sockets_per_join"),
                num("edits"),
                num("latency_p50_ms"),
                num("latency_p99_ms"),
                num("lost"),
                r.spent.cpu_s,
                r.spent.rss_mb,
                r.threads,
                num("find_retries"),
                num("socket_errors"),
                num("alone_join_ms"),
                num("alone_cpu_per_join_ms"),
                r.spent.alone_cpu_ms,
            );
        }
        Err(e) => println!("| {server} | did not finish: {e} |"),
    }
}

/// What the server spent while the JS clients of `--plans` ran.
struct ServerSpent {
    /// CPU per join while clients joined one at a time (ms).
    alone_cpu_ms: f64,
    /// CPU seconds from when the clients started measuring.
    cpu_s: f64,
    /// Peak RSS (MB) from then.
    rss_mb: f64,
}

/// Runs `tests/js/plans.mjs` on a spec of plans against the server `pid`: the figures line
/// (or its error), and what the server spent: its CPU per join while clients joined one at
/// a time, and its CPU seconds and peak RSS (MB) from when the clients started measuring
/// (after any seeding; the peak is reset then).
async fn js_plans(
    spec: &serde_json::Value,
    n: usize,
    secs: u64,
    pid: u32,
) -> Result<(serde_json::Value, ServerSpent), String> {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("plans.json");
    std::fs::write(&file, spec.to_string()).map_err(|e| e.to_string())?;
    let js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    let mut child = tokio::process::Command::new("node")
        .arg("--max-old-space-size=8192")
        .arg(js.join("plans.mjs"))
        .arg(&file)
        .arg(n.to_string())
        .arg(secs.to_string())
        .current_dir(&js)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("node did not run: {e}"))?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut cpu0 = proc_stats(pid).1;
    let mut alone_cpu_ms = f64::NAN;
    let mut alone_joins = f64::NAN;
    let deadline = Instant::now() + Duration::from_secs(1300);
    let mut last = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, lines.next_line()).await {
            Err(_) => return Err("the JS clients did not end in 20 minutes".into()),
            Ok(Ok(Some(line))) => {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if v["event"] == "one-at-a-time" {
                    alone_joins = v["joins"].as_f64().unwrap_or(f64::NAN);
                    cpu0 = proc_stats(pid).1;
                } else if v["event"] == "measuring" {
                    alone_cpu_ms = (proc_stats(pid).1 - cpu0) * 1000.0 / alone_joins;
                    cpu0 = proc_stats(pid).1;
                    // Resets the peak resident memory (VmHWM) to the current one.
                    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
                } else {
                    last = Some(v);
                }
            }
            Ok(_) => break,
        }
    }
    let (rss_mb, cpu) = proc_stats(pid);
    let last = last.ok_or("no figures from the JS clients")?;
    if last["event"] == "figures" {
        let spent = ServerSpent {
            alone_cpu_ms,
            cpu_s: cpu - cpu0,
            rss_mb,
        };
        Ok((last, spent))
    } else {
        Err(last["why"].as_str().unwrap_or("unknown").to_string())
    }
}

/// Copies the plans of `spec` onto the reference server (`tests/js/plans.mjs` with
/// `seed_from`): the copying process, which stays connected until dropped.
async fn js_seed(spec: &serde_json::Value) -> Result<tokio::process::Child, String> {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("seed.json");
    std::fs::write(&file, spec.to_string()).map_err(|e| e.to_string())?;
    let js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    let mut child = tokio::process::Command::new("node")
        .arg("--max-old-space-size=8192")
        .arg(js.join("plans.mjs"))
        .arg(&file)
        .arg("1")
        .arg("0")
        .current_dir(&js)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("node did not run: {e}"))?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("piped")).lines();
    let deadline = Instant::now() + Duration::from_secs(1200);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, lines.next_line()).await {
            Ok(Ok(Some(line))) => {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if v["event"] == "seeded" {
                    return Ok(child);
                }
                if v["event"] == "error" {
                    return Err(format!("copying the plans: {}", v["why"]));
                }
            }
            Ok(_) => return Err("the copying process ended early".into()),
            Err(_) => return Err("copying the plans took over 20 minutes".into()),
        }
    }
}

/// K plans × N official JS clients against our server (node 1 of `setup`), then the same
/// plans (copied onto it first) against the reference sync server.
async fn run_js_plans(
    k: usize,
    n: usize,
    secs: u64,
    setup: Setup,
) -> (Result<JsPlansRow, String>, Result<JsPlansRow, String>) {
    let backing = if setup.postgres {
        Backing::postgres()
    } else {
        Backing::sqlite()
    };
    let ours = Arc::new(backing.start(SERVER_FLAGS));
    let mut plans = Vec::with_capacity(k);
    for _ in 0..k {
        let s = ours.clone();
        plans.push(
            tokio::task::spawn_blocking(move || s.new_demo_plan())
                .await
                .expect("a plan is made"),
        );
    }
    // The plans' actors from making them have stopped (idle 30 s) as far as the bench
    // waits: it measures joining, not making.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ours_urls: Vec<String> = plans.iter().map(|(_, t)| ours.sync_url_with(t)).collect();
    let spec = serde_json::json!({
        "plans": plans.iter().zip(&ours_urls).map(|((d, _), u)| serde_json::json!({"url": u, "plan": d.url()})).collect::<Vec<_>>(),
        "seed_from": null,
    });
    let pid = ours.pid();
    let (threads, watching) = watch_threads(vec![pid]);
    let ours_row = js_plans(&spec, n, secs, pid)
        .await
        .map(|(figures, spent)| JsPlansRow {
            figures,
            spent,
            threads: threads.load(Ordering::Relaxed),
        });
    watching.abort();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (reference, ref_url) = reference_server(dir.path()).await;
    let rpid = reference.id().unwrap_or(0);
    let spec = serde_json::json!({
        "plans": plans.iter().map(|(d, _)| serde_json::json!({"url": ref_url, "plan": d.url()})).collect::<Vec<_>>(),
        "seed_from": ours_urls,
    });
    let seeder = match js_seed(&spec).await {
        Ok(s) => s,
        Err(e) => return (ours_row, Err(e)),
    };
    let spec = serde_json::json!({
        "plans": spec["plans"],
        "seed_from": null,
    });
    let (threads, watching) = watch_threads(vec![rpid]);
    let reference_row = js_plans(&spec, n, secs, rpid)
        .await
        .map(|(figures, spent)| JsPlansRow {
            figures,
            spent,
            threads: threads.load(Ordering::Relaxed),
        });
    watching.abort();
    drop(seeder);
    drop(reference);
    (ours_row, reference_row)
}
