//! Makes every export of the demo plan from the shell (`plansync export`), ten times each,
//! and prints its size and median time, with the ratio to the raw automerge export in the
//! same run (process start, opening the database and saving: the floor every export pays).
//!
//! `--smoke`: two runs each (CI's check that the bench still runs).
//!
//! `cargo build --release -p plansync-server && cargo run --release -p plansync-tests --bin export-bench`

use plansync_tests::{plansync_binary, Server, EXPORT_NAMES};
use std::process::Command;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let runs = if plansync_tests::smoke_run() { 2 } else { 10 };
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("bench.db");
    let server = Server::start(&db, &[]);
    let doc = server.demo_plan().await.to_string();
    server.kill();
    let db = db.to_str().expect("utf-8 path").to_string();
    let ok = Command::new(plansync_binary())
        .args(["snapshot", "--db", &db, "--plan", &doc, "--name", "Bench"])
        .output()
        .expect("run plansync")
        .status
        .success();
    assert!(ok, "snapshot");
    println!("binary: {}", plansync_binary().display());
    println!("| export | bytes | median of {runs} (ms) | × raw automerge export |");
    println!("|---|---:|---:|---:|");
    let mut baseline = None;
    for name in EXPORT_NAMES {
        let out = dir.path().join(name);
        let mut times = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            let status = Command::new(plansync_binary())
                .args([
                    "export", "--db", &db, "--plan", &doc, name, "--from", "Bench",
                ])
                .args(["--period", "2026-Q2", "-o"])
                .arg(&out)
                .output()
                .expect("run plansync");
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            assert!(status.status.success(), "{name}: {:?}", status);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let median = (times[runs / 2 - 1] + times[runs / 2]) / 2.0;
        let base = *baseline.get_or_insert(median);
        let bytes = std::fs::metadata(&out).expect("written").len();
        println!("| {name} | {bytes} | {median:.1} | {:.2} |", median / base);
    }
}
