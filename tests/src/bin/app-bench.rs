//! Measures the web app in Debian's headless chromium on a generated 2,000-action plan,
//! served by a real `plansync` server: navigation to the action tracker rendered; a keystroke
//! in an action title to the next frame, alone and while 500 remote changes merge; 500 remote
//! changes arriving at once to the next frame. Timings come from the app's own marks (`window.plansyncPerf`), read over
//! WebDriver; each is the median of several runs, with a baseline measured in the same run
//! (these machines are shared and noisy: compare ratios). Also prints the wasm size.
//!
//! `--smoke`: the smallest sizes, once each (CI runs it so the bench keeps working).
//!
//! `--first-open`: only the first opens after joining (each in a new browser profile), with
//! the steps the app marks on the way.
//!
//! `--before DIR`: also measure an older build of the app (its `dist/`), served with
//! `--app-dir`, in the same run, for a before-and-after table.
//!
//! Run: `bash scripts/build-app.sh && cargo build --release -p plansync-server && cargo run --release -p plansync-tests --bin app-bench`

use fantoccini::{Client, Locator};
use plansync_shared::automerge::AutoCommit;
use plansync_shared::{ActionId, DocumentId, PlanDoc, TextField};
use plansync_tests::page::{eval, join_with_code, press, wait_js};
use plansync_tests::{app_dir, Browser, RustClient, Server};
use rand::SeedableRng;
use serde_json::Value;

/// How much the bench does: the full sizes, or the smallest (`--smoke`, CI's check that the
/// bench still runs; its figures mean nothing).
struct Sizes {
    /// Actions in the generated plan (a multiple of 100).
    actions: usize,
    /// Measured navigations.
    runs: usize,
    /// Keystrokes timed.
    keys: usize,
    /// Rounds of remote changes.
    merges: usize,
    /// Measure only first opens (`--first-open`).
    first_open_only: bool,
    /// Remote changes arriving at once.
    many: usize,
}

impl Sizes {
    fn from_args() -> Self {
        if plansync_tests::smoke_run() {
            Self {
                actions: 100,
                runs: 1,
                keys: 3,
                merges: 1,
                many: 20,
                first_open_only: false,
            }
        } else {
            Self {
                actions: 2000,
                runs: 7,
                keys: 30,
                merges: 5,
                many: 500,
                first_open_only: std::env::args().any(|a| a == "--first-open"),
            }
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Spans recorded under `name` as (start, end) in ms.
async fn spans(page: &Client, name: &str) -> Vec<(f64, f64)> {
    let v = eval(
        page,
        &format!("return (window.plansyncPerf && window.plansyncPerf['{name}']) || []"),
    )
    .await;
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}

async fn clear(page: &Client, name: &str) {
    eval(
        page,
        &format!("if (window.plansyncPerf) window.plansyncPerf['{name}'] = []; return null"),
    )
    .await;
}

fn gzip_size(bytes: &[u8]) -> usize {
    use std::io::Write;
    let mut child = std::process::Command::new("gzip")
        .arg("-9")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    // Write from another thread: gzip's output fills its pipe before all input is read.
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap().stdout.len();
    writer.join().unwrap().unwrap();
    out
}

/// Pushes `n` changes made elsewhere (each its own commit) in one go, as a partner's laptop
/// does when it reconnects.
async fn push_changes(
    rust: &RustClient,
    doc: DocumentId,
    actions: &[ActionId],
    n: usize,
    tag: &str,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(n as u64);
    let mut other = PlanDoc::from_automerge(rust.document(doc))
        .unwrap()
        .fork(&mut rng);
    let mut am: AutoCommit = std::mem::take(other.automerge_mut());
    for id in actions.iter().take(n) {
        PlanDoc::change(&mut am, |p| {
            p.splice_text(&TextField::ActionTitle(id.clone()), 0, 0, tag)
        })
        .unwrap();
    }
    rust.add(doc, am);
    rust.wait_server_has_all(doc).await;
}

/// The figures of one app build (medians, in ms).
struct Figures {
    /// Navigation to the plan list drawn: the baseline for navigations.
    boot: f64,
    /// First open after joining, the plan fetched from the server: first rows drawn.
    first_open: f64,
    /// Its steps: what, and the median start and end since navigation.
    open_steps: Vec<(&'static str, f64, f64)>,
    /// Navigation to the tracker's first rows drawn (plan from IndexedDB).
    tracker: f64,
    /// Navigation to every row reachable: the last row drawn after a jump to the end of the
    /// table made as soon as the page is free (first rows drawn and document loaded).
    all_rows: f64,
    /// Navigation to the dashboard drawn.
    dashboard: Option<f64>,
    /// A keystroke in an action title to the next frame.
    key: f64,
    /// The same in a plain input: the keystroke baseline.
    plain: f64,
    /// A keystroke in the title to the next frame while many remote changes merge.
    key_merging: f64,
    /// The slowest of those.
    key_merging_worst: f64,
    /// The longest frame while they merge (median over the rounds).
    frame_merging: f64,
    /// In how many rounds of those the changes showed in the box while typing went on.
    shown_typing: (usize, usize),
    /// One remote change to rendered.
    one: f64,
    /// Many remote changes at once to rendered.
    many: f64,
    /// Whether the keystrokes reached the server.
    typed: bool,
    /// Opening the plan from IndexedDB, in parts: (all of it on the page, the document's
    /// load, the typed read, and all of it in the sync worker).
    open: (f64, f64, f64, f64),
}

/// Whether this browser keeps `doc` for a quick start (its typed values in IndexedDB,
/// which the sync worker writes once it has the document and has stored it).
fn kept_js(doc: DocumentId) -> String {
    format!(
        "return new Promise(done => {{
            const open = indexedDB.open('plansync');
            open.onerror = () => done(false);
            open.onsuccess = () => {{
                const db = open.result;
                if (!db.objectStoreNames.contains('views')) {{ db.close(); return done(false); }}
                const get = db.transaction('views').objectStore('views').get('{doc}');
                get.onsuccess = () => {{ db.close(); done(!!get.result); }};
                get.onerror = () => {{ db.close(); done(false); }};
            }};
        }})"
    )
}

/// The steps of a first open, as the app marks them (on the page and in the sync worker).
const OPEN_STEPS: [(&str, &str); 14] = [
    ("page-store", "the page opens IndexedDB"),
    (
        "open-view",
        "the page fetches the server's reading of the plan",
    ),
    ("worker-start", "the page starts the sync worker"),
    ("worker-boot", "the worker's module and WebAssembly load"),
    ("worker-store", "the worker opens IndexedDB"),
    ("worker-link", "the worker dials the server, until online"),
    (
        "worker-arrived",
        "the plan asked for, until its document arrived",
    ),
    (
        "worker-receive",
        "  of which: it takes in the message with the document",
    ),
    (
        "worker-whole",
        "the worker reads the typed plan and posts it",
    ),
    ("worker-read", "  of which: it reads the typed plan"),
    (
        "worker-json",
        "  of which: it writes the plan as JSON for the page",
    ),
    ("open-read", "the page takes the plan in"),
    ("tracker", "navigation → the tracker's first rows"),
    (
        "worker-open",
        "navigation → the worker has the plan the page shows",
    ),
];

/// First opens after joining, each in a browser of its own (a new profile: nothing of the
/// plan stored or cached, as for a partner who has just joined): navigation to the
/// tracker's first rows (ms), and each step's median (start, end) since navigation.
async fn first_opens(
    browser: &Browser,
    url: &str,
    code: &str,
    tracker_url: &str,
    runs: usize,
) -> (Vec<f64>, Vec<(&'static str, f64, f64)>) {
    let (mut firsts, mut steps) = (Vec::new(), vec![(Vec::new(), Vec::new()); OPEN_STEPS.len()]);
    for run in 0..runs {
        eprintln!("bench: first open {run}");
        let page = browser.session().await;
        join_with_code(&page, url, code, "Analyst", "Police").await;
        page.goto("about:blank").await.unwrap();
        page.goto(tracker_url).await.unwrap();
        firsts.push(
            first_mark(&page, "tracker")
                .await
                .expect("the tracker's first rows drawn"),
        );
        // The worker's steps go on after the first rows: wait (bounded) until it has it.
        first_mark(&page, "worker-open").await;
        for (i, (name, _)) in OPEN_STEPS.iter().enumerate() {
            if let Some((s, e)) = spans(&page, name).await.first() {
                steps[i].0.push(*s);
                steps[i].1.push(*e);
            }
        }
        page.close().await.unwrap();
    }
    let steps = OPEN_STEPS
        .iter()
        .zip(steps)
        .map(|((_, what), (s, e))| (*what, median_or_nan(s), median_or_nan(e)))
        .collect();
    (firsts, steps)
}

/// The marks under `name` once the page has them.
async fn first_mark(page: &Client, name: &str) -> Option<f64> {
    let js = format!(
        "return (window.plansyncPerf && window.plansyncPerf['{name}'] && window.plansyncPerf['{name}'][0][1]) || null"
    );
    for _ in 0..100 {
        if let Some(v) = eval(page, &js).await.as_f64() {
            return Some(v);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    None
}

/// Scrolls to the end of the page and waits (bounded) for the row of `last` to be drawn;
/// the time from the scroll to the frame after it (ms), measured in the page.
async fn jump_to_end(page: &Client, last: &ActionId) -> f64 {
    let js = format!(
        r#"const t0 = performance.now();
        window.scrollTo(0, document.documentElement.scrollHeight);
        return new Promise(done => {{
            const check = () => {{
                if (document.querySelector('tr.row[data-action="{last}"]'))
                    requestAnimationFrame(() => done(performance.now() - t0));
                else if (performance.now() - t0 > 10000) done(-1);
                else requestAnimationFrame(check);
            }};
            check();
        }})"#
    );
    let ms = eval(page, &js).await.as_f64().unwrap_or(-1.0);
    assert!(
        ms >= 0.0,
        "the last row was not drawn 10 s after scrolling to the end"
    );
    ms
}

/// Runs every measure on the app in `app_dir` (the one built into the binary if `None`).
async fn measure(size: &Sizes, app_dir: Option<&std::path::Path>) -> Figures {
    let dir = tempfile::tempdir().expect("temp dir");
    let app_arg = app_dir.map(|d| d.display().to_string());
    let extra: Vec<&str> = match &app_arg {
        Some(d) => vec!["--app-dir", d.as_str()],
        None => vec![],
    };
    let server = Server::start(&dir.path().join("bench.db"), &extra);
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    // The server makes plans; its owner (this client) fills it with the actions.
    let (doc, token) = server.new_plan("Generated plan");
    let rust = RustClient::connect(&server.sync_url_with(&token), "bench").await;
    rust.find(doc).await;
    let actions = rust.edit(doc, |p| plansync_tests::big_plan(p, &mut rng, size.actions));
    rust.wait_server_has_all(doc).await;
    let (status, inv) = plansync_tests::http_blocking(
        &server.addr(),
        "POST",
        &format!("/api/plans/{doc}/invitations"),
        Some(&token),
        Some(&serde_json::json!({"role": "editor", "expires_hours": 1, "uses": 20})),
    );
    assert_eq!(status, 201, "{inv}");
    let code = inv["code"].as_str().unwrap().to_string();

    let browser = Browser::start().await;
    let tracker_url = format!("{}#/plan/{doc}/tracker", server.url);
    let (first_open, open_steps) =
        first_opens(&browser, &server.url, &code, &tracker_url, size.runs).await;
    let first_open = median(first_open);
    if size.first_open_only {
        return Figures::first_open_only(first_open, open_steps);
    }
    let page = browser.session().await;
    // Join the plan as an editor, as a person does with an invitation link.
    join_with_code(&page, &server.url, &code, "Analyst", "Police").await;
    let dashboard_url = format!("{}#/plan/{doc}", server.url);
    let last = actions.last().expect("actions").clone();

    // Baseline: navigation to the plan list rendered (the app booting, no plan).
    let (mut boot, mut tracker, mut all_rows, mut dashboard) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut open = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..=size.runs {
        eprintln!("bench: tracker run {run}");
        page.goto("about:blank").await.unwrap();
        page.goto(&server.url).await.unwrap();
        wait_js(
            &page,
            "the plan list",
            "return document.querySelectorAll('.plan-row').length",
            |v| v.as_u64().unwrap_or(0) > 0,
        )
        .await;
        let t = eval(
            &page,
            "return new Promise(r => requestAnimationFrame(() => r(performance.now())))",
        )
        .await;
        page.goto("about:blank").await.unwrap();
        page.goto(&tracker_url).await.unwrap();
        let first = first_mark(&page, "tracker")
            .await
            .expect("the tracker's first rows drawn");
        let end = jump_to_end(&page, &last).await;
        // Run 0 fetches the plan from the server, and waits until this browser keeps it;
        // later runs open it from IndexedDB.
        if run == 0 {
            wait_js(&page, "the plan kept in this browser", &kept_js(doc), |v| {
                v.as_bool() == Some(true)
            })
            .await;
            continue;
        }
        boot.push(t.as_f64().unwrap());
        tracker.push(first);
        // The worker's part goes on after the first rows: wait (bounded) until it has it.
        first_mark(&page, "worker-open").await;
        for (name, out) in [
            ("open", &mut open.0),
            ("open-load", &mut open.1),
            ("open-read", &mut open.2),
            ("worker-open", &mut open.3),
        ] {
            if let Some((s, e)) = spans(&page, name).await.first() {
                out.push(e - s);
            }
        }
        // The jump can only be drawn once the page is free: after the first rows, and after
        // the plan's document has loaded on the page if that comes later (an app that loads
        // it on the page draws the plan from its kept copy first and loads the document
        // after; one with a sync worker loads it there, "worker-open", leaving the page free).
        let loaded = spans(&page, "open")
            .await
            .first()
            .map_or(first, |(_, e)| e.max(first));
        all_rows.push(loaded + end);
        page.goto("about:blank").await.unwrap();
        page.goto(&dashboard_url).await.unwrap();
        if let Some(d) = first_mark(&page, "dashboard").await {
            dashboard.push(d);
        }
    }

    eprintln!("bench: keystrokes");
    // Keystrokes in an action title (action detail view); baseline: a plain input the
    // bench adds to the same page, timed the same way (keydown to the next frame).
    page.goto(&format!("{}#/plan/{doc}/action/{}", server.url, actions[0]))
        .await
        .unwrap();
    let title = page
        .wait()
        .for_element(Locator::Css("input.detail-title"))
        .await
        .unwrap();
    title.click().await.unwrap();
    clear(&page, "keystroke").await;
    for _ in 0..size.keys {
        press(&page, &['x']).await;
    }
    wait_js(
        &page,
        "the keystroke marks",
        "return (window.plansyncPerf.keystroke || []).length",
        |v| v.as_u64() == Some(size.keys as u64),
    )
    .await;
    let keys: Vec<f64> = spans(&page, "keystroke")
        .await
        .iter()
        .map(|(s, e)| e - s)
        .collect();
    eval(&page, r#"
        const i = document.createElement('input'); i.id = 'bench-plain'; document.body.prepend(i);
        window.plainKeys = []; let t0 = 0;
        i.addEventListener('keydown', (e) => { t0 = e.timeStamp; });
        i.addEventListener('input', () => { const s = t0; requestAnimationFrame(() => window.plainKeys.push(performance.now() - s)); });
        i.focus(); return null"#).await;
    for _ in 0..size.keys {
        press(&page, &['x']).await;
    }
    let plain = wait_js(
        &page,
        "the plain keystrokes",
        "return window.plainKeys",
        |v| v.as_array().is_some_and(|a| a.len() == size.keys),
    )
    .await;
    let plain: Vec<f64> = plain
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let typed = rust_title(&rust, doc, &actions[0], size.keys).await;

    eprintln!("bench: keystrokes while remote changes merge");
    // Keystrokes in the same title while `many` remote changes arrive at once (the typed
    // action's own title last, so the box shows when they have merged), typed in bursts of
    // ten so some go down while the page is busy: each from when the key went down to the
    // next frame, from the push until a burst after the box shows the change. Beside them,
    // the longest frame the page drew in that time.
    page.find(Locator::Css("input.detail-title"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    clear(&page, "keystroke").await;
    let (mut during, mut frames, mut shown_typing) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..size.merges {
        let tag = format!("<{run}> ");
        let mut changed: Vec<ActionId> = actions[1..size.many].to_vec();
        changed.push(actions[0].clone());
        let t0 = eval(
            &page,
            "window.benchFrames = { last: performance.now(), worst: 0, on: true };
             const tick = (t) => { const f = window.benchFrames; if (!f.on) return;
                 f.worst = Math.max(f.worst, t - f.last); f.last = t; requestAnimationFrame(tick); };
             requestAnimationFrame(tick);
             return performance.now()",
        )
        .await
        .as_f64()
        .unwrap();
        let typing = async {
            let seen = format!(
                "return document.querySelector('input.detail-title').value.startsWith('{tag}')"
            );
            // Bounded: at most 10 s of typing, then at most 30 s more for the change.
            let (mut shown, started) = (false, std::time::Instant::now());
            while started.elapsed() < std::time::Duration::from_secs(10) {
                press(&page, &['y'; 10]).await;
                if shown {
                    break;
                }
                shown = eval(&page, &seen).await.as_bool() == Some(true);
            }
            let while_typing = shown;
            if !shown {
                wait_js(
                    &page,
                    "the remote changes in the box once typing stopped",
                    &seen,
                    |v| v.as_bool() == Some(true),
                )
                .await;
            }
            let end = eval(
                &page,
                "window.benchFrames.on = false; return [performance.now(), window.benchFrames.worst]",
            )
            .await;
            (end, while_typing)
        };
        let (_, (end, while_typing)) =
            tokio::join!(push_changes(&rust, doc, &changed, size.many, &tag), typing);
        shown_typing.push(while_typing);
        let t1 = end[0].as_f64().unwrap();
        frames.push(end[1].as_f64().unwrap());
        during.extend(
            spans(&page, "keystroke")
                .await
                .iter()
                .filter(|(s, _)| (t0..=t1).contains(s))
                .map(|(s, e)| e - s),
        );
        clear(&page, "keystroke").await;
    }
    let worst_during = during.iter().copied().fold(0.0, f64::max);

    eprintln!("bench: remote changes");
    // Remote changes arriving at once, on the tracker; baseline: a single remote change.
    page.goto("about:blank").await.unwrap();
    page.goto(&tracker_url).await.unwrap();
    first_mark(&page, "tracker")
        .await
        .expect("the tracker's first rows drawn");
    let (mut many, mut one) = (Vec::new(), Vec::new());
    for run in 0..size.merges {
        for (n, out) in [(1usize, &mut one), (size.many, &mut many)] {
            clear(&page, "merge").await;
            let tag = format!("[{run}/{n}] ");
            push_changes(&rust, doc, &actions, n, &tag).await;
            // Every drawn row among the changed actions shows the change.
            let changed: Vec<String> = actions.iter().take(n).map(|a| format!("\"{a}\"")).collect();
            let probe = format!(
                "const changed = new Set([{}]);
                 const rows = [...document.querySelectorAll('tr.row')].filter(r => changed.has(r.dataset.action));
                 return rows.length > 0 && rows.every(r => r.querySelector('td.title').textContent.startsWith('{tag}'))",
                changed.join(",")
            );
            wait_js(&page, "the remote changes rendered", &probe, |v| {
                v.as_bool() == Some(true)
            })
            .await;
            wait_js(
                &page,
                "merge marks",
                "return (window.plansyncPerf.merge || []).length",
                |v| v.as_u64().unwrap_or(0) > 0,
            )
            .await;
            let sp = spans(&page, "merge").await;
            let first = sp.iter().map(|p| p.0).fold(f64::MAX, f64::min);
            let last = sp.iter().map(|p| p.1).fold(0.0, f64::max);
            out.push(last - first);
        }
    }
    Figures {
        boot: median(boot),
        first_open,
        open_steps,
        tracker: median(tracker),
        all_rows: median(all_rows),
        dashboard: (!dashboard.is_empty()).then(|| median(dashboard)),
        key: median(keys),
        plain: median(plain),
        key_merging: median_or_nan(during),
        key_merging_worst: worst_during,
        frame_merging: median_or_nan(frames),
        shown_typing: (
            shown_typing.iter().filter(|s| **s).count(),
            shown_typing.len(),
        ),
        one: median(one),
        many: median(many),
        typed,
        open: (
            median_or_nan(open.0),
            median_or_nan(open.1),
            median_or_nan(open.2),
            median_or_nan(open.3),
        ),
    }
}

impl Figures {
    /// Only the first opens measured (`--first-open`).
    fn first_open_only(first_open: f64, open_steps: Vec<(&'static str, f64, f64)>) -> Self {
        let nan = f64::NAN;
        Self {
            boot: nan,
            first_open,
            open_steps,
            tracker: nan,
            all_rows: nan,
            dashboard: None,
            key: nan,
            plain: nan,
            key_merging: nan,
            key_merging_worst: nan,
            frame_merging: nan,
            shown_typing: (0, 0),
            one: nan,
            many: nan,
            typed: true,
            open: (nan, nan, nan, nan),
        }
    }
}

fn median_or_nan(v: Vec<f64>) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        median(v)
    }
}

/// One line of the table: a measure, its baseline and ratio for each build measured.
fn line(label: &str, builds: &[(f64, f64)]) {
    let mut out = format!("{label:<52}");
    for (v, base) in builds {
        if v.is_nan() {
            out.push_str(&format!(" {:>8} {:>8} {:>6}", "n/a", "", ""));
        } else {
            out.push_str(&format!(" {v:>8.1} {base:>8.1} {:>5.1}x", v / base));
        }
    }
    println!("{out}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let size = Sizes::from_args();
    let args: Vec<String> = std::env::args().collect();
    // `--before DIR`: an older build of the app (a `dist/` folder), measured in the same run
    // before the one built into the binary.
    let before = args
        .iter()
        .position(|a| a == "--before")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    let wasm = std::fs::read_dir(app_dir())
        .expect("build the app first: bash scripts/build-app.sh")
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        .expect("a .wasm in dist/");
    let wasm = std::fs::read(wasm.path()).unwrap();
    let mut builds = Vec::new();
    if let Some(dir) = &before {
        eprintln!("bench: the app in {}", dir.display());
        builds.push(("before", measure(&size, Some(dir)).await));
    }
    eprintln!("bench: the app built into the binary");
    builds.push(("now", measure(&size, None).await));

    let n = size.actions;
    println!(
        "plan: {n} actions; {}",
        if builds.iter().all(|(_, f)| f.typed) {
            "keystrokes reached the server"
        } else {
            "KEYSTROKES DID NOT REACH THE SERVER"
        }
    );
    let mut head = format!("{:<52}", "measure (median ms; baseline; ratio)");
    for (name, _) in &builds {
        head.push_str(&format!(" {:>8} {:>8} {:>6}", name, "baseline", "ratio"));
    }
    println!("{head}");
    let row = |label: &str, f: fn(&Figures) -> (f64, f64)| {
        line(label, &builds.iter().map(|(_, b)| f(b)).collect::<Vec<_>>());
    };
    println!(
        "navigations: {} runs; baseline: the plan list drawn",
        size.runs
    );
    row(
        "first open after joining (from the server) → first rows",
        |f| (f.first_open, f.boot),
    );
    for (name, f) in &builds {
        println!("  {name}: its steps (median ms since navigation, start → end):");
        for (what, start, end) in &f.open_steps {
            println!("    {what:<52} {start:>8.1} → {end:>8.1}");
        }
    }
    row("navigation → tracker first rows", |f| (f.tracker, f.boot));
    row(
        &format!("navigation → all {n} rows reachable (last drawn)"),
        |f| (f.all_rows, f.boot),
    );
    row("navigation → dashboard drawn", |f| {
        (f.dashboard.unwrap_or(f64::NAN), f.boot)
    });
    row("  of which: open the plan from IndexedDB", |f| {
        (f.open.0, f.boot)
    });
    row("  the automerge document's load (page or worker)", |f| {
        (f.open.1, f.boot)
    });
    row("  then: read the typed plan", |f| (f.open.2, f.boot));
    row("  or, off the page: the sync worker has it", |f| {
        (f.open.3, f.boot)
    });
    println!("keystrokes: {}; baseline: a plain input", size.keys);
    row("keystroke in action title → next frame", |f| {
        (f.key, f.plain)
    });
    row(
        &format!("  while {} remote changes merge (median)", size.many),
        |f| (f.key_merging, f.plain),
    );
    row("  while they merge (slowest)", |f| {
        (f.key_merging_worst, f.plain)
    });
    row("  the longest frame while they merge", |f| {
        (f.frame_merging, f.plain)
    });
    for (name, f) in &builds {
        println!(
            "  {name}: the remote changes showed in the box while typing went on in {} of {} rounds (else once it stopped)",
            f.shown_typing.0, f.shown_typing.1
        );
    }
    println!(
        "remote changes: {} rounds; baseline: a plain input's keystroke frame, then 1 change",
        size.merges
    );
    row("1 remote change → rendered", |f| (f.one, f.plain));
    row(
        &format!("{} remote changes at once → rendered", size.many),
        |f| (f.many, f.one),
    );
    // The app's targets (the sync worker's issue), for the build measured last.
    if let Some((_, f)) = builds.last() {
        println!("targets (median ms, against the baselines above):");
        for (what, value, target) in [
            (format!("all {n} rows reachable"), f.all_rows, 500.0),
            ("first open after joining".to_string(), f.first_open, 800.0),
            (
                format!(
                    "a keystroke's next frame while {} remote changes merge",
                    size.many
                ),
                f.key_merging,
                16.0,
            ),
        ] {
            let verdict = if value <= target { "met" } else { "NOT MET" };
            println!("  {what:<62} {value:>8.1} ≤ {target:>5.0}: {verdict}");
        }
    }
    println!(
        "wasm: {} bytes raw, {} bytes gzip -9",
        wasm.len(),
        gzip_size(&wasm)
    );
}

/// Whether the server has the typed keystrokes (the title ends with the typed x's).
async fn rust_title(rust: &RustClient, doc: DocumentId, action: &ActionId, keys: usize) -> bool {
    for _ in 0..100 {
        let plan = rust.plan(doc);
        let t = plan
            .themes
            .iter()
            .flat_map(|t| &t.objectives)
            .flat_map(|o| &o.actions)
            .find(|a| &a.id == action)
            .map(|a| a.title.clone())
            .unwrap_or_default();
        if t.ends_with(&"x".repeat(keys)) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}
