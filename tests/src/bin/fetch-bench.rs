//! Measures how long a Rust client takes to fetch the demo plan from a real `plansync`
//! server on loopback: connect, handshake, sync the whole document. Prints the median of
//! 20 runs and, as a baseline measured in the same run, the median connect + handshake
//! alone (these machines are shared and noisy: compare the ratio, not the milliseconds).
//!
//! `--smoke`: two runs (CI's check that the bench still runs).
//!
//! Run: `cargo build --release -p plansync-server && cargo run --release -p plansync-tests --bin fetch-bench`

use plansync_tests::{RustClient, Server};
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("bench.db"), &[]);
    let doc = server.demo_plan().await;
    let runs = if plansync_tests::smoke_run() { 2 } else { 20 };
    let (mut fetch, mut handshake) = (Vec::new(), Vec::new());
    // One warm-up each, so the server has the plan in memory as it would in use.
    RustClient::connect(&server.sync_url(), "warm")
        .await
        .find(doc)
        .await;
    for i in 0..runs {
        let t = Instant::now();
        let c = RustClient::connect(&server.sync_url(), &format!("h{i}")).await;
        handshake.push(t.elapsed());
        drop(c);
        let t = Instant::now();
        let c = RustClient::connect(&server.sync_url(), &format!("f{i}")).await;
        c.find(doc).await;
        fetch.push(t.elapsed());
        assert_eq!(c.plan(doc).themes.len(), 4);
    }
    let bytes = c_bytes(&server, doc).await;
    let (f, h) = (median(fetch), median(handshake));
    println!("demo plan: {bytes} bytes saved");
    println!(
        "baseline  connect + handshake   median of {runs}: {:>8.2} ms",
        h.as_secs_f64() * 1e3
    );
    println!(
        "fetch     connect + sync plan   median of {runs}: {:>8.2} ms  ({:.1}x baseline)",
        f.as_secs_f64() * 1e3,
        f.as_secs_f64() / h.as_secs_f64()
    );
}

async fn c_bytes(server: &Server, doc: plansync_shared::DocumentId) -> usize {
    let c = RustClient::connect(&server.sync_url(), "size").await;
    c.find(doc).await;
    c.document(doc).save().len()
}
