//! Makes every export of the demo plan from the shell (`plansync export`), ten times each,
//! and prints its size and median time, with the ratio to the raw automerge export in the
//! same run (process start, opening the database and saving: the floor every export pays).
//! Then the Board pack of a generated 2,000-action plan with an open round, against the same
//! plan's raw automerge export and the demo plan's pack in the same run, and the size of the
//! binary measured.
//!
//! `--smoke`: two runs each (CI's check that the bench still runs).
//!
//! `cargo build --release -p plansync-server && cargo run --release -p plansync-tests --bin export-bench`

use plansync_tests::{plansync_binary, RustClient, Server, EXPORT_NAMES};
use rand::SeedableRng;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Exports `name` of `doc` from `db` `runs` times: the median time (ms) and the file's size.
fn export(db: &str, doc: &str, name: &str, runs: usize, out: &Path, extra: &[&str]) -> (f64, u64) {
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let status = Command::new(plansync_binary())
            .args(["export", "--db", db, "--plan", doc, name])
            .args(extra)
            .args(["--period", "2026-Q2", "-o"])
            .arg(out)
            .output()
            .expect("run plansync");
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        assert!(status.status.success(), "{name}: {:?}", status);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let median = (times[(runs - 1) / 2] + times[runs / 2]) / 2.0;
    (median, std::fs::metadata(out).expect("written").len())
}

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
    let mut demo_pack = 0.0;
    for name in EXPORT_NAMES {
        let out = dir.path().join(name);
        let (median, bytes) = export(&db, &doc, name, runs, &out, &["--from", "Bench"]);
        let base = *baseline.get_or_insert(median);
        if name == "pack.pdf" {
            demo_pack = median;
        }
        println!("| {name} | {bytes} | {median:.1} | {:.2} |", median / base);
    }

    // The Board pack of a large plan.
    let actions = if plansync_tests::smoke_run() {
        100
    } else {
        2000
    };
    let big_db = dir.path().join("big.db");
    let server = Server::start(&big_db, &[]);
    let (big, token) = server.new_plan("Generated plan");
    let rust = RustClient::connect(&server.sync_url_with(&token), "bench").await;
    rust.find(big).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(2000);
    rust.edit(big, |p| {
        plansync_tests::big_plan(p, &mut rng, actions);
        let q2 = plansync_shared::ReportingPeriod::from_key("2026-Q2").expect("period");
        p.open_round(
            &mut rng,
            q2,
            "2026-10-15",
            Some("2026-10-28"),
            "2026-09-20",
            "Officer",
        )
        .expect("a round");
    });
    rust.wait_server_has_all(big).await;
    server.kill();
    let big_db = big_db.to_str().expect("utf-8 path").to_string();
    let big = big.to_string();
    let (raw, raw_bytes) = export(
        &big_db,
        &big,
        "plan.automerge",
        runs,
        &dir.path().join("big.automerge"),
        &[],
    );
    let (pack, pack_bytes) = export(
        &big_db,
        &big,
        "pack.pdf",
        runs,
        &dir.path().join("big-pack.pdf"),
        &[],
    );
    println!();
    println!("The Board pack of a {actions}-action plan (five boards, an open round):");
    println!("| export | bytes | median of {runs} (ms) | × its raw automerge export | × the demo plan's pack |");
    println!("|---|---:|---:|---:|---:|");
    println!("| plan.automerge | {raw_bytes} | {raw:.1} | 1.00 | |");
    println!(
        "| pack.pdf | {pack_bytes} | {pack:.1} | {:.2} | {:.2} |",
        pack / raw,
        pack / demo_pack
    );
    let binary = std::fs::metadata(plansync_binary())
        .map(|m| m.len())
        .unwrap_or(0);
    println!();
    println!(
        "binary size: {binary} bytes ({})",
        plansync_binary().display()
    );
    // The size before a change: an older build named by PLANSYNC_BASELINE_BIN.
    if let Some(base) = std::env::var_os("PLANSYNC_BASELINE_BIN") {
        let base = std::path::PathBuf::from(base);
        match std::fs::metadata(&base) {
            Ok(m) if m.len() > 0 => println!(
                "baseline binary size: {} bytes ({}); this build is {:.2}× it",
                m.len(),
                base.display(),
                binary as f64 / m.len() as f64
            ),
            _ => println!("baseline binary {} could not be read", base.display()),
        }
    }
}
