//! Every bench binary the README names still runs: each once with `--smoke` (the smallest
//! sizes), checking that it finishes and prints its table. No figure is asserted: a smoke
//! run on a debug build measures nothing.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The benches start servers, browsers and JS clients: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `bin --smoke ARGS`, bounded by `limit`, and returns what it printed on stdout.
fn smoke(bin: &str, args: &[&str], limit: Duration) -> String {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut child = Command::new(bin)
        .arg("--smoke")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the bench") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{bin} --smoke did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = reader.join().expect("the bench's output");
    print!("{out}");
    assert!(status.success(), "{bin} --smoke failed ({status}):\n{out}");
    out
}

const LIMIT: Duration = Duration::from_secs(240);

#[test]
fn app_bench_runs_and_prints_every_measure() {
    let out = smoke(env!("CARGO_BIN_EXE_app-bench"), &[], LIMIT);
    for measure in [
        "navigation → tracker first rows",
        "keystroke in action title",
        "remote changes at once",
        "wasm:",
    ] {
        assert!(out.contains(measure), "no {measure:?} in:\n{out}");
    }
    assert!(
        out.contains("keystrokes reached the server"),
        "the typed title did not reach the server:\n{out}"
    );
}

#[test]
fn fetch_bench_runs_and_prints_the_fetch_against_its_baseline() {
    let out = smoke(env!("CARGO_BIN_EXE_fetch-bench"), &[], LIMIT);
    assert!(out.contains("x baseline"), "{out}");
}

#[test]
fn export_bench_runs_and_prints_every_export() {
    let out = smoke(env!("CARGO_BIN_EXE_export-bench"), &[], LIMIT);
    for name in plansync_tests::EXPORT_NAMES {
        assert!(out.contains(&format!("| {name} |")), "no {name} in:\n{out}");
    }
}

#[test]
fn load_bench_runs_both_tables_with_nothing_lost() {
    let out = smoke(env!("CARGO_BIN_EXE_load-bench"), &[], LIMIT);
    let rust_row = out
        .lines()
        .find(|l| l.starts_with("|   3 |"))
        .unwrap_or_else(|| panic!("no row for 3 clients in:\n{out}"));
    assert!(
        rust_row.trim_end().ends_with("| 0 |"),
        "edits lost: {rust_row}"
    );
    for server in ["plansync", "reference"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("| {server} |")) && l.contains("|   3 |")),
            "no {server} row for 3 JS clients in:\n{out}"
        );
    }
}

#[test]
fn load_bench_with_many_plans_runs_its_rust_and_js_tables_with_nothing_lost() {
    let out = smoke(
        env!("CARGO_BIN_EXE_load-bench"),
        &["--plans", "2", "--seconds", "2"],
        LIMIT,
    );
    let rust_row = out
        .lines()
        .find(|l| l.starts_with("| 2 | 6 |"))
        .unwrap_or_else(|| panic!("no row for 2 plans of 3 Rust clients in:\n{out}"));
    assert!(
        rust_row.trim_end().ends_with("| 0 |"),
        "edits lost: {rust_row}"
    );
    for server in ["plansync", "reference"] {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("| {server} | 2 | 6 |")))
            .unwrap_or_else(|| panic!("no {server} row for 2 plans of 3 JS clients in:\n{out}"));
        assert!(row.contains("| 0 |"), "edits lost: {row}");
        let alone = row
            .trim_end()
            .trim_end_matches('|')
            .rsplit('|')
            .next()
            .unwrap_or("");
        let figures: Vec<f64> = alone
            .split('/')
            .filter_map(|x| x.trim().parse().ok())
            .collect();
        assert!(
            figures.len() == 3 && figures.iter().all(|f| f.is_finite()) && figures[0] > 0.0,
            "no figures for clients joining one at a time: {row}"
        );
    }
}

#[test]
fn attack_bench_runs_every_attack_and_the_server_survives() {
    let out = smoke(env!("CARGO_BIN_EXE_attack-bench"), &[], LIMIT);
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("| ")).collect();
    // The header, then one row per attack: 1, 2, one import, the long CSV, 4, 5, 6.
    assert_eq!(rows.len(), 1 + 7, "{out}");
    assert!(!out.contains("SERVER DOWN"), "{out}");
}

#[test]
fn relay_bench_runs_and_prints_the_catch_up() {
    let out = smoke(env!("CARGO_BIN_EXE_relay-bench"), &[], LIMIT);
    assert!(
        out.contains("relay catch-up: 20 edits by 3 people"),
        "{out}"
    );
    assert!(out.contains("x baseline"), "{out}");
    assert!(out.contains("bytes on the link:"), "{out}");
}
