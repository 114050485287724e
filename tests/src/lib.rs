//! Harness for end-to-end tests: starts the real `plansync` binary on a free loopback port
//! with a temporary SQLite file, and drives real clients against it. Every wait is bounded.

pub mod attack;
pub mod nginx;
pub mod oidc;
pub mod postgres;
pub mod prometheus;
pub mod proxy;
pub mod smtp;

use futures_util::{SinkExt, StreamExt};
use plansync_shared::automerge::AutoCommit;
use plansync_shared::{ConnId, DocumentId, Effect, Event, Hub, HubConfig, PeerId, PlanDoc};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Every export `plansync export` makes (the server's `export::EXPORTS`), cheapest first.
pub const EXPORT_NAMES: [&str; 19] = [
    "plan.automerge",
    "plan.json",
    "plan.html",
    "plan.md",
    "plan.docx",
    "tracker.csv",
    "tracker.xlsx",
    "exceptions.html",
    "exceptions.docx",
    "workshop.html",
    "workshop.docx",
    "compare.html",
    "compare.docx",
    "plan.pdf",
    "exceptions.pdf",
    "workshop.pdf",
    "compare.pdf",
    "pack.pdf",
    "pack.html",
];

/// A JSON answer read as its type in the shared HTTP contract (`plansync_shared::api`),
/// failing the test unless it reads back field for field: nothing the server sent is
/// unknown to the contract, nothing it lacks is missing.
pub fn contract<T: serde::Serialize + serde::de::DeserializeOwned>(
    answer: &serde_json::Value,
) -> T {
    let typed: T = serde_json::from_value(answer.clone()).unwrap_or_else(|e| {
        panic!(
            "the answer is not a {}: {e}: {answer}",
            std::any::type_name::<T>()
        )
    });
    assert_eq!(
        &serde_json::to_value(&typed).unwrap(),
        answer,
        "a {} reads back as sent",
        std::any::type_name::<T>()
    );
    typed
}

/// Fills `plan` with 5 themes × 20 objectives × n/100 actions, each with a lead board, a
/// lead, a due date, a RAG for two periods and a progress update (the benches' large plan).
pub fn big_plan(
    plan: &mut plansync_shared::PlanDoc,
    rng: &mut rand::rngs::StdRng,
    n: usize,
) -> Vec<plansync_shared::ActionId> {
    plan.set_text(
        &plansync_shared::TextField::PlanTitle,
        &format!("Generated plan with {n} actions"),
    )
    .unwrap();
    let agency = plan.add_agency(rng, "City Council").unwrap();
    let person = plan
        .add_person(rng, "Community Safety Manager", "Manager", Some(&agency))
        .unwrap();
    let boards: Vec<_> = (0..5)
        .map(|i| {
            plan.add_board(rng, &format!("Sub-group {i}"), None, "")
                .unwrap()
        })
        .collect();
    let q1 = plansync_shared::ReportingPeriod::from_key("2026-Q1").unwrap();
    let q2 = plansync_shared::ReportingPeriod::from_key("2026-Q2").unwrap();
    let mut actions = Vec::new();
    for t in 0..5 {
        let theme = plan.add_theme(rng, &format!("Theme {t}"), None).unwrap();
        for o in 0..20 {
            let objective = plan
                .add_objective(rng, &theme, &format!("Objective {t}.{o}"), None)
                .unwrap();
            for a in 0..n / 100 {
                let id = plan
                    .add_action(
                        rng,
                        &objective,
                        &format!("Action {t}.{o}.{a} to reduce harm"),
                        None,
                    )
                    .unwrap();
                plan.set_lead_board(&id, Some(&boards[(o + a) % 5]))
                    .unwrap();
                plan.set_lead(&id, Some(&person)).unwrap();
                plan.set_due(&id, Some("2027-03-31")).unwrap();
                plan.set_progress_state(&id, plansync_shared::ProgressState::InProgress)
                    .unwrap();
                plan.set_rag(&id, q1, plansync_shared::Rag::Amber).unwrap();
                plan.set_rag(
                    &id,
                    q2,
                    [
                        plansync_shared::Rag::Red,
                        plansync_shared::Rag::Amber,
                        plansync_shared::Rag::Green,
                    ][a % 3],
                )
                .unwrap();
                plan.add_progress_update(rng, &id, "Analyst", "Police", "2026-09-30", "On track")
                    .unwrap();
                actions.push(id);
            }
            plan.commit();
        }
    }
    actions
}

/// What poppler's readers (Debian's poppler-utils) say of a PDF: `pdfinfo`'s report, and
/// the text in reading order (`pdftotext -raw`) without white space, so that a line broken
/// in a table cell reads as whole; compare it with [`squashed`] text.
pub fn poppler(pdf: &[u8]) -> (String, String) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("paper.pdf");
    std::fs::write(&file, pdf).expect("write the PDF");
    let run = |cmd: &str, args: &[&str]| {
        let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
            panic!("{cmd}: {e} (scripts/setup.sh --test installs poppler-utils)")
        });
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let path = file.to_str().expect("utf-8 path");
    (
        run("pdfinfo", &[path]),
        squashed(&run("pdftotext", &["-raw", path, "-"])),
    )
}

/// Text without its white space (see [`poppler`]).
pub fn squashed(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The `plansync` binary built next to this test binary (`cargo test` builds it), or the
/// one `PLANSYNC_BIN` names (benchmarks measure other builds with it).
pub fn plansync_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("PLANSYNC_BIN") {
        return PathBuf::from(bin);
    }
    // Test binaries live in target/<profile>/deps, bench binaries in target/<profile>.
    let exe = std::env::current_exe().expect("test binary path");
    let here = exe.parent().expect("binary dir");
    let bin = [here, here.parent().unwrap_or(here)]
        .iter()
        .map(|d| d.join("plansync"))
        .find(|b| b.is_file())
        .unwrap_or_else(|| here.join("plansync"));
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p plansync-server` first (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// The built web app (`trunk build --release` writes it; the test command runs that first).
pub fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist")
}

/// A running `plansync serve` process; killed when dropped.
pub struct Server {
    child: Child,
    /// What the server wrote to stderr (its log), when started with [`Server::start_with`]
    /// and `capture_log`.
    pub log: Arc<Mutex<String>>,
    /// `http://127.0.0.1:PORT/`
    pub url: String,
    /// The SQLite file.
    pub db: PathBuf,
    /// The token of the first plan's owner: joined with the owner link the server printed
    /// on its first start, and kept beside the database for later starts.
    pub token: String,
}

impl Server {
    /// Starts the server on `db` with a free port, `--demo`, and any extra arguments.
    pub fn start(db: &Path, extra: &[&str]) -> Self {
        Self::start_on(db, "127.0.0.1:0", extra)
    }

    /// Starts the server listening on `listen`.
    pub fn start_on(db: &Path, listen: &str, extra: &[&str]) -> Self {
        Self::start_with(db, listen, extra, &Launch::default())
    }

    /// Starts the server with its log captured, an environment and an open-file limit.
    pub fn start_with(db: &Path, listen: &str, extra: &[&str], launch: &Launch) -> Self {
        let mut cmd = Command::new(plansync_binary());
        cmd.args(["serve", "--demo", "--listen", listen]);
        match &launch.database {
            Some(url) => cmd.args(["--database", url]),
            None => cmd.arg("--db").arg(db),
        };
        // The app built into the binary, run from a folder with no `dist/` (as a partner
        // runs the one file on a laptop).
        cmd.current_dir(db.parent().unwrap_or(Path::new("/")))
            .args(extra)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(if launch.capture_log {
                Stdio::piped()
            } else {
                Stdio::inherit()
            });
        if let Some(soft) = launch.open_files {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
                    rlimit::setrlimit(rlimit::Resource::NOFILE, soft.min(hard), hard)
                });
            }
        }
        let mut child = cmd.spawn().expect("start plansync");
        let log = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    eprintln!("{line}");
                    if let Ok(mut l) = log.lock() {
                        l.push_str(&line);
                        l.push('\n');
                    }
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // The address it runs at, then owner links (not room addresses).
                if !(line.starts_with("Plansync is running") || line.starts_with("Owner link")) {
                    continue;
                }
                if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let next_url = |what: &str, child: &mut Child| match rx.recv_timeout(WAIT) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("plansync did not print {what} within {WAIT:?}");
            }
        };
        let url = next_url("its URL", &mut child);
        let token_file = db.with_extension("owner-token");
        let token = match std::fs::read_to_string(&token_file) {
            Ok(t) => t,
            Err(_) => {
                let link = next_url("an owner link", &mut child);
                let code = link.rsplit('/').next().expect("a code").to_string();
                let addr = url.trim_start_matches("http://").trim_end_matches('/');
                let body = serde_json::json!({"code": code, "name": "Test chair", "agency": "Office of the PCC"});
                let (status, joined) = http_blocking(addr, "POST", "/api/join", None, Some(&body));
                assert_eq!(status, 201, "{joined}");
                let t = joined["token"].as_str().expect("a token").to_string();
                std::fs::write(&token_file, &t).expect("keep the owner token");
                t
            }
        };
        Self {
            child,
            log,
            url,
            db: db.to_path_buf(),
            token,
        }
    }

    /// The server's peak resident memory so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmHWM:")
    }

    /// The server's resident memory now (VmRSS), in KiB.
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmRSS:")
    }

    /// Starts a new copy of the demo plan as the owner: its document and the token of its
    /// new owner.
    pub fn new_demo_plan(&self) -> (DocumentId, String) {
        self.make_plan(serde_json::json!({ "demo": true }))
    }

    /// How many threads the server's process runs now.
    pub fn threads(&self) -> u64 {
        proc_status_kib(self.pid(), "Threads:")
    }

    /// Starts a new plan as the owner: its document and the token of its new owner.
    pub fn new_plan(&self, title: &str) -> (DocumentId, String) {
        self.make_plan(serde_json::json!({ "title": title }))
    }

    fn make_plan(&self, body: serde_json::Value) -> (DocumentId, String) {
        let (status, made) = self.request("POST", "/api/plans", Some(&body));
        assert_eq!(status, 201, "{made}");
        let doc = DocumentId::from_url(made["plan"]["url"].as_str().expect("url")).expect("id");
        (doc, made["token"].as_str().expect("token").to_string())
    }

    /// How long `GET /health` takes now (an error if no answer within 5 s).
    pub fn health_latency(&self) -> Result<Duration, String> {
        health_latency(&self.addr())
    }

    /// `ws://127.0.0.1:PORT/sync?token=OWNER`
    pub fn sync_url(&self) -> String {
        self.sync_url_with(&self.token)
    }

    /// `ws://127.0.0.1:PORT/sync?token=TOKEN`
    pub fn sync_url_with(&self, token: &str) -> String {
        format!(
            "{}sync?token={token}",
            self.url.replacen("http://", "ws://", 1)
        )
    }

    /// An HTTP request as the owner: status and JSON body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        http_blocking(&self.addr(), method, path, Some(&self.token), body)
    }

    /// An HTTP request as the owner with any headers and body: the whole answer.
    pub fn owner_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpAnswer {
        let auth = format!("Bearer {}", self.token);
        let mut all = vec![("Authorization", auth.as_str())];
        all.extend_from_slice(headers);
        http_raw(&self.addr(), method, path, &all, body)
    }

    /// A new invitation to the first plan: its code.
    pub fn invite(&self, role: &str) -> String {
        let plan = self.request("GET", "/api/plans", None).1[0]["id"]
            .as_str()
            .expect("a plan")
            .to_string();
        let body = serde_json::json!({"role": role, "expires_hours": 1, "uses": 5});
        let (status, inv) = self.request(
            "POST",
            &format!("/api/plans/{plan}/invitations"),
            Some(&body),
        );
        assert_eq!(status, 201, "{inv}");
        inv["code"].as_str().expect("code").to_string()
    }

    /// Joins the first plan with a new invitation for `role`: the participant's token.
    pub fn join_as(&self, role: &str, name: &str) -> (i64, String) {
        let code = self.invite(role);
        let body = serde_json::json!({"code": code, "name": name, "agency": "Test agency"});
        let (status, joined) = http_blocking(&self.addr(), "POST", "/api/join", None, Some(&body));
        assert_eq!(status, 201, "{joined}");
        (
            joined["participant"]["id"].as_i64().expect("id"),
            joined["token"].as_str().expect("token").to_string(),
        )
    }

    /// Enrolls a relaying server in `plan` (`POST /api/plans/{plan}/servers`): its
    /// participant id and token.
    pub fn enroll(&self, plan: DocumentId, name: &str, role: &str) -> (i64, String) {
        let body = serde_json::json!({ "name": name, "role": role });
        let (status, made) =
            self.request("POST", &format!("/api/plans/{plan}/servers"), Some(&body));
        assert_eq!(status, 201, "{made}");
        assert_eq!(made["participant"]["kind"], "server");
        (
            made["participant"]["id"].as_i64().expect("id"),
            made["token"].as_str().expect("token").to_string(),
        )
    }

    /// The `host:port` the server listens on.
    pub fn addr(&self) -> String {
        self.url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string()
    }

    /// The server's process id (for reading its memory and CPU time from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL (no clean shutdown) and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `GET /api/plans` as JSON, as the owner.
    pub async fn plans(&self) -> serde_json::Value {
        let (status, plans) = self.request("GET", "/api/plans", None);
        assert_eq!(status, 200, "{plans}");
        plans
    }

    /// The automerge URL of the first plan listed.
    pub async fn demo_plan(&self) -> DocumentId {
        let plans = self.plans().await;
        DocumentId::from_url(plans[0]["url"].as_str().expect("url")).expect("document id")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `plansync` with `args` to the end: its output (it must succeed).
pub fn run_plansync(args: &[&str]) -> String {
    let out = Command::new(plansync_binary())
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run plansync");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "plansync {args:?} failed: {text}");
    text
}

/// `plansync pull` into `db` from `upstream` with `token`: its output.
pub fn pull(db: &Path, upstream: &str, token: &str) -> String {
    run_plansync(&[
        "pull",
        "--db",
        db.to_str().expect("a UTF-8 path"),
        "--upstream",
        upstream,
        "--upstream-token",
        token,
    ])
}

/// A room server on `db` relaying to `upstream` with `token`, retrying every second or so.
pub fn room_server(db: &Path, upstream: &str, token: &str) -> Server {
    Server::start(
        db,
        &[
            "--upstream",
            upstream,
            "--upstream-token",
            token,
            "--upstream-retry-secs",
            "1",
        ],
    )
}

/// How to start a server beyond its arguments.
#[derive(Debug, Default, Clone)]
pub struct Launch {
    /// Capture its stderr into [`Server::log`] (it is still echoed).
    pub capture_log: bool,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Start it with this soft open-file limit.
    pub open_files: Option<u64>,
    /// `--database URL` instead of `--db` (the path then only names the owner-token file).
    pub database: Option<String>,
}

/// Where a test's servers keep their plans: an SQLite file in a temporary folder, or a
/// database in a private PostgreSQL cluster that several nodes share.
pub struct Backing {
    dir: tempfile::TempDir,
    database: Option<String>,
    cluster: Option<postgres::Cluster>,
}

impl Backing {
    /// A fresh SQLite file.
    pub fn sqlite() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temp dir"),
            database: None,
            cluster: None,
        }
    }

    /// A fresh database in a new PostgreSQL cluster.
    pub fn postgres() -> Self {
        let cluster = postgres::Cluster::start();
        Self {
            dir: tempfile::tempdir().expect("a temp dir"),
            database: Some(cluster.database("plansync")),
            cluster: Some(cluster),
        }
    }

    /// Which backend, for messages.
    pub fn name(&self) -> &'static str {
        if self.database.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// The SQLite file (or, on PostgreSQL, the path the owner's token is kept beside).
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("plans.db")
    }

    /// The database URL (`--database`), on PostgreSQL.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The PostgreSQL cluster, if this backing is one.
    pub fn cluster(&self) -> Option<&postgres::Cluster> {
        self.cluster.as_ref()
    }

    /// Starts a server (a node, on PostgreSQL) on this backing with extra arguments.
    pub fn start(&self, extra: &[&str]) -> Server {
        self.start_with(extra, Launch::default())
    }

    /// Starts a server with `launch` (its database set from this backing).
    pub fn start_with(&self, extra: &[&str], launch: Launch) -> Server {
        let launch = Launch {
            database: self.database.clone(),
            ..launch
        };
        Server::start_with(&self.db(), "127.0.0.1:0", extra, &launch)
    }
}

/// A field of `/proc/PID/status` in KiB (0 if unreadable).
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// How long `GET /health` takes at `addr`, or why it failed (no answer within 5 s).
pub fn health_latency(addr: &str) -> Result<Duration, String> {
    use std::io::{Read, Write};
    let start = Instant::now();
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(
        s,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    if !buf.starts_with(b"HTTP/1.1 200") {
        return Err(format!(
            "answered {:?}",
            String::from_utf8_lossy(&buf[..buf.len().min(40)])
        ));
    }
    Ok(start.elapsed())
}

/// What a [`HealthWatch`] saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthReport {
    /// The slowest `/health` answer.
    pub slowest: Duration,
    /// How many got no answer (within 5 s) or a wrong one.
    pub failed: usize,
    /// How many were asked.
    pub asked: usize,
    /// The server's peak resident memory (VmHWM) last seen, in KiB.
    pub peak_rss_kib: u64,
}

/// Asks `/health` every 100 ms on a thread until stopped, and samples the server's peak
/// memory (so it is known even if the process dies).
pub struct HealthWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<HealthReport>>,
}

impl HealthWatch {
    /// Starts watching the server at `addr` whose process is `pid`.
    pub fn start_watching(addr: &str, pid: u32) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let addr = addr.to_string();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seen = HealthReport::default();
            // Bounded: at most 10 minutes of samples.
            for _ in 0..6_000 {
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                seen.asked += 1;
                match health_latency(&addr) {
                    Ok(d) => seen.slowest = seen.slowest.max(d),
                    Err(_) => seen.failed += 1,
                }
                seen.peak_rss_kib = seen.peak_rss_kib.max(proc_status_kib(pid, "VmHWM:"));
                std::thread::sleep(Duration::from_millis(100));
            }
            seen
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops watching and says what it saw.
    pub fn report(mut self) -> HealthReport {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

/// A minimal blocking HTTP/1.1 request over a TCP socket: status and JSON body (`null`
/// when the body is not JSON). Bounded by [`WAIT`].
pub fn http_blocking(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    let r = http_raw(addr, method, path, &headers, body.as_bytes());
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null),
    )
}

/// An HTTP answer: status, the head's lines (lower-cased names) and the body.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// Status code.
    pub status: u16,
    /// The response head, as sent.
    pub head: String,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpAnswer {
    /// A header's value (the first), by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A blocking HTTP/1.1 request with any headers and body; bounded by [`WAIT`].
pub fn http_raw(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpAnswer {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("http response");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let raw = &buf[split + 4..];
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(raw)
    } else {
        raw.to_vec()
    };
    HttpAnswer { status, head, body }
}

fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&rest[..nl]);
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        let after = &rest[nl + 2..];
        if n == 0 || after.len() < n {
            break;
        }
        out.extend_from_slice(&after[..n]);
        rest = &after[(n + 2).min(after.len())..];
    }
    out
}

struct ClientState {
    hub: Hub,
    out: Option<mpsc::UnboundedSender<Vec<u8>>>,
    unavailable: Vec<DocumentId>,
    errors: Vec<String>,
    /// Ephemeral messages received: sender and payload.
    ephemeral: Vec<(PeerId, Vec<u8>)>,
    /// Which socket is the current one (each reconnect opens the next).
    socket: u64,
}

/// A Rust client: our sync core over tokio-tungstenite, as the app drives it in the browser.
#[derive(Clone)]
pub struct RustClient {
    state: Arc<Mutex<ClientState>>,
    conn: ConnId,
    /// Woken whenever a frame arrives or the socket closes, so waits end at once.
    changed: Arc<tokio::sync::Notify>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl RustClient {
    /// Connects to `ws_url` and completes the handshake.
    pub async fn connect(ws_url: &str, name: &str) -> Self {
        let hub = Hub::new(
            HubConfig::client(PeerId(format!("{name}-{:08x}", rand::random::<u32>()))),
            &mut rand::rng(),
        );
        let client = RustClient {
            state: Arc::new(Mutex::new(ClientState {
                hub,
                out: None,
                unavailable: vec![],
                errors: vec![],
                ephemeral: vec![],
                socket: 0,
            })),
            conn: ConnId(1),
            changed: Arc::new(tokio::sync::Notify::new()),
        };
        client.reconnect(ws_url).await;
        client
    }

    /// Opens a new socket (after a server restart, say) and handshakes again.
    pub async fn reconnect(&self, ws_url: &str) {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(ws_url))
            .await
            .expect("connect in time")
            .expect("connect");
        let (mut sink, mut stream) = ws.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let socket = {
            let mut st = self.state.lock().unwrap();
            st.hub
                .handle(now_ms(), Event::Disconnected { conn: self.conn });
            st.out = Some(tx);
            st.socket += 1;
            st.socket
        };
        tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if sink.send(Message::Binary(frame.into())).await.is_err() {
                    break;
                }
            }
            // Closed by us ([`RustClient::close`]) or by the server: say so.
            let _ = sink.close().await;
        });
        let state = self.state.clone();
        let changed = self.changed.clone();
        let conn = self.conn;
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                if let Message::Binary(b) = msg {
                    let mut st = state.lock().unwrap();
                    if st.socket != socket {
                        break; // replaced by a reconnect
                    }
                    let frame = b.to_vec();
                    let effects = st.hub.handle(now_ms(), Event::Received { conn, frame });
                    st.carry_out(effects);
                }
                changed.notify_waiters();
            }
            {
                // Only if it is still the current socket: a reconnect replaced it otherwise.
                let mut st = state.lock().unwrap();
                if st.socket == socket {
                    st.out = None;
                    st.hub.handle(now_ms(), Event::Disconnected { conn });
                }
            }
            changed.notify_waiters();
        });
        self.event(Event::Connected {
            conn: self.conn,
            dialer: true,
        });
        self.wait_for("the server's peer message", |c| {
            !c.hub.ready_connections().is_empty()
        })
        .await;
    }

    fn event(&self, event: Event) {
        let mut st = self.state.lock().unwrap();
        let effects = st.hub.handle(now_ms(), event);
        st.carry_out(effects);
    }

    async fn wait_for(&self, what: &str, mut ok: impl FnMut(&mut ClientState) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            // Register before checking, so a wake-up between the check and the wait is not lost.
            let woken = self.changed.notified();
            if ok(&mut self.state.lock().unwrap()) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // The timeout bounds each wait; a missed wake-up costs at most 100 ms.
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), woken).await;
        }
        panic!(
            "waited {WAIT:?} for {what}; errors seen: {:?}",
            self.state.lock().unwrap().errors
        );
    }

    /// Asks the server for a document and waits until it has content.
    pub async fn find(&self, doc: DocumentId) {
        self.event(Event::Find { doc });
        self.wait_for("the document", |c| c.hub.has_content(&doc))
            .await;
    }

    /// Asks for a document and waits for the server's `doc-unavailable`.
    pub async fn find_unavailable(&self, doc: DocumentId) {
        self.event(Event::Find { doc });
        self.wait_for("doc-unavailable", |c| c.unavailable.contains(&doc))
            .await;
    }

    /// Adds a document this client made and pushes it to the server.
    pub fn add(&self, doc: DocumentId, document: AutoCommit) {
        self.event(Event::Add {
            doc,
            document: Box::new(document),
        });
    }

    /// Changes a plan locally through the shared plan operations and syncs it.
    pub fn edit<T>(&self, doc: DocumentId, f: impl FnOnce(&mut PlanDoc) -> T) -> T {
        let mut st = self.state.lock().unwrap();
        let d = st.hub.document_mut(&doc).expect("document open");
        let out = PlanDoc::change(d, |p| Ok(f(p))).expect("a plan");
        let effects = st.hub.handle(now_ms(), Event::LocalChange { doc });
        st.carry_out(effects);
        out
    }

    /// A copy of the client's replica of a document.
    pub fn document(&self, doc: DocumentId) -> AutoCommit {
        self.state
            .lock()
            .unwrap()
            .hub
            .document(&doc)
            .expect("document open")
            .clone()
    }

    /// The client's replica read as a plan.
    pub fn plan(&self, doc: DocumentId) -> plansync_shared::Plan {
        PlanDoc::from_automerge(self.document(doc))
            .expect("a plan")
            .read()
            .expect("readable")
    }

    /// Waits until the server's heads (from its sync messages) include all our changes.
    pub async fn wait_server_has_all(&self, doc: DocumentId) {
        let conn = self.conn;
        self.wait_for("the server's heads to include our changes", |c| {
            c.hub.peer_has_all(conn, &doc)
        })
        .await;
    }

    /// Waits until `ok` holds for our replica of `doc`.
    pub async fn wait_doc(
        &self,
        doc: DocumentId,
        what: &str,
        mut ok: impl FnMut(&AutoCommit) -> bool,
    ) {
        self.wait_for(what, |c| c.hub.document(&doc).is_some_and(&mut ok))
            .await;
    }

    /// Whether the server's last heads include every change of our replica of `doc` (the
    /// server persists before it advertises heads, so these changes are durable).
    pub fn server_has_all(&self, doc: DocumentId) -> bool {
        self.state.lock().unwrap().hub.peer_has_all(self.conn, &doc)
    }

    /// Our peer id.
    pub fn peer_id(&self) -> PeerId {
        self.state.lock().unwrap().hub.peer_id().clone()
    }

    /// Sends a presence message about `doc` to its other peers.
    pub fn send_presence(&self, doc: DocumentId, message: &plansync_shared::PresenceMessage) {
        self.event(Event::SendEphemeral {
            doc,
            data: plansync_shared::encode_presence(message),
        });
    }

    /// The presence messages received so far: sender and message.
    pub fn presence(&self) -> Vec<(PeerId, plansync_shared::PresenceMessage)> {
        self.state
            .lock()
            .unwrap()
            .ephemeral
            .iter()
            .filter_map(|(p, d)| Some((p.clone(), plansync_shared::parse_presence(d)?)))
            .collect()
    }

    /// Waits until the presence received satisfies `ok`.
    pub async fn wait_presence(
        &self,
        what: &str,
        mut ok: impl FnMut(&[(PeerId, plansync_shared::PresenceMessage)]) -> bool,
    ) {
        self.wait_for(what, |c| {
            let seen: Vec<_> = c
                .ephemeral
                .iter()
                .filter_map(|(p, d)| Some((p.clone(), plansync_shared::parse_presence(d)?)))
                .collect();
            ok(&seen)
        })
        .await;
    }

    /// Closes the socket (the server sees it close).
    pub fn close(&self) {
        self.state.lock().unwrap().out = None;
    }

    /// Whether the socket is open.
    pub fn is_connected(&self) -> bool {
        self.state.lock().unwrap().out.is_some()
    }
}

impl ClientState {
    fn carry_out(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Send { frame, .. } => {
                    if let Some(out) = &self.out {
                        let _ = out.send(frame);
                    }
                }
                Effect::Unavailable { doc } => self.unavailable.push(doc),
                Effect::Warn { message, .. } => self.errors.push(message),
                Effect::Ephemeral { sender, data, .. } => self.ephemeral.push((sender, data)),
                _ => {}
            }
        }
    }
}

/// Whether a bench binary was asked for a smoke run (`--smoke`): the smallest sizes, once,
/// so CI sees that it still runs; the figures of such a run mean nothing.
pub fn smoke_run() -> bool {
    std::env::args().skip(1).any(|a| a == "--smoke")
}

/// A chromedriver process driving Debian's headless chromium; killed when dropped.
pub struct Browser {
    child: Child,
    port: u16,
    /// chromedriver's TMPDIR: the profiles it makes there go with the Browser (a killed
    /// chromedriver cannot remove them itself, and they are megabytes each).
    _tmp: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and waits until it listens.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        use std::os::unix::process::CommandExt;
        // Its own process group, which the browsers it starts join: dropping the Browser
        // stops them all, also when a test fails.
        let tmp = tempfile::tempdir().expect("a temporary folder for chromedriver");
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("TMPDIR", tmp.path())
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium-driver)");
        let browser = Self {
            child,
            port,
            _tmp: tmp,
        };
        let start = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                start.elapsed() < WAIT,
                "chromedriver did not listen within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        browser
    }

    /// A new headless browser session with its own empty profile.
    pub async fn session(&self) -> fantoccini::Client {
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                         "--no-first-run", "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--window-size=1200,900"]
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromium session")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: chromedriver and every chromium (and renderer) it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reading and driving a page over WebDriver, every wait bounded by [`WAIT`].
pub mod page {
    use super::WAIT;
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    use fantoccini::{Client, Locator};
    use serde_json::Value;
    use std::time::{Duration, Instant};

    /// Runs `js` (a function body that returns a value) in the page.
    pub async fn eval(page: &Client, js: &str) -> Value {
        page.execute(js, vec![]).await.unwrap_or(Value::Null)
    }

    /// Waits until `js` returns something `ok` accepts, and returns it.
    pub async fn wait_js(
        page: &Client,
        what: &str,
        js: &str,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let v = eval(page, js).await;
            if ok(&v) {
                return v;
            }
            assert!(
                start.elapsed() < WAIT,
                "waited {WAIT:?} for {what}; last saw {v}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Presses keys on whatever has focus, as a person at a keyboard would.
    pub async fn press(page: &Client, keys: &[char]) {
        let mut seq = KeyActions::new("keyboard".into());
        for &k in keys {
            seq = seq
                .then(KeyAction::Down { value: k })
                .then(KeyAction::Up { value: k });
        }
        page.perform_actions(seq).await.unwrap();
    }

    /// Types `text` on whatever has focus.
    pub async fn type_text(page: &Client, text: &str) {
        press(page, &text.chars().collect::<Vec<_>>()).await;
    }

    /// Clicks the first element `css` matches.
    pub async fn click(page: &Client, css: &str) {
        page.find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Fills in the app's who-am-I form.
    pub async fn answer_who_i_am(page: &Client, name: &str, agency: &str) {
        let form = page
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("form.identity"))
            .await
            .expect("the app asks who I am");
        for (field, value) in [("name", name), ("agency", agency)] {
            form.find(Locator::Css(&format!("input[name={field}]")))
                .await
                .unwrap()
                .send_keys(value)
                .await
                .unwrap();
        }
        form.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// The WCAG 2.0, 2.1 and 2.2 A and AA rules of axe-core (tests/js/node_modules, put
    /// there by the test command's setup) run on the page as it is now: each violation as
    /// "rule: help (where)".
    pub async fn axe_violations(page: &Client) -> Vec<String> {
        let axe = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("js/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&axe)
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh --test)", axe.display()));
        let loaded = eval(page, &format!("{source}\n; return typeof axe")).await;
        assert_eq!(loaded, "object", "axe-core did not load");
        let result = tokio::time::timeout(
            WAIT,
            page.execute_async(
                r#"const done = arguments[arguments.length - 1];
                   axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'] } })
                      .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' (' +
                          v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\s+/g, ' ')).join(' | ') +
                          (v.nodes.length > 3 ? ' | and ' + (v.nodes.length - 3) + ' more' : '') + ')')))
                      .catch(e => done(['axe failed: ' + e]));"#,
                vec![],
            ),
        )
        .await
        .expect("axe-core finished within WAIT")
        .expect("axe-core ran");
        result
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Opens the invitation link for `code` in a fresh page, answers who-am-I and joins the
    /// plan.
    pub async fn join_with_code(page: &Client, url: &str, code: &str, name: &str, agency: &str) {
        // From a blank page: a hash change alone would keep the app that is already open.
        page.goto("about:blank").await.unwrap();
        page.goto(&format!("{url}#/join/{code}")).await.unwrap();
        answer_who_i_am(page, name, agency).await;
        wait_js(
            page,
            "the identity chip",
            "return document.querySelector('.who')?.textContent ?? ''",
            |v| v.as_str().is_some_and(|s| s.contains(name)),
        )
        .await;
        click(page, "button.join-button").await;
        wait_js(
            page,
            "the plan opened after joining",
            "return location.hash",
            |v| v.as_str().is_some_and(|h| h.starts_with("#/plan/")),
        )
        .await;
    }
}

/// Lets a node script that stops when its stdin closes finish (up to 5 s), then ends it.
pub async fn stop_node(node: &mut std::process::Child) {
    drop(node.stdin.take());
    for _ in 0..100 {
        if node.try_wait().ok().flatten().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = node.kill();
    let _ = node.wait();
}

/// Starts one of `tests/js`'s node scripts with `args`, its stdin and stdout piped (it
/// stops when its stdin closes: [`stop_node`]).
pub fn node_script(script: &str, args: &[&str]) -> std::process::Child {
    let js_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    assert!(
        js_dir
            .join("node_modules/@automerge/automerge-repo")
            .is_dir(),
        "run `npm install --prefix tests/js` first (the test command does)"
    );
    Command::new("node")
        .arg(js_dir.join(script))
        .args(args)
        .current_dir(&js_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node is installed")
}
