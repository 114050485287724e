//! Measures the way home: a day's worth of edits made in a room cut off from the central
//! server (500 edits by 30 people on the room server), then the link comes back and the
//! relay sends them. Prints the catch-up time (link back → the central server holds every
//! change) and the bytes on the link both ways (HTTP calls and author reports included)
//! against the size of those changes; and, as a baseline measured in the same run, one
//! client holding the same changes syncing them straight to the central server.
//!
//! Run: `cargo build --release -p plansync-server && cargo run --release -p plansync-tests --bin relay-bench [EDITS] [PEOPLE]`

use plansync_shared::automerge::AutoCommit;
use plansync_shared::TextField;
use plansync_tests::proxy::Proxy;
use plansync_tests::{pull, room_server, RustClient, Server};
use std::time::{Duration, Instant};

fn holds_all(d: &AutoCommit, heads: &[plansync_shared::automerge::ChangeHash]) -> bool {
    let mut d = d.clone();
    heads.iter().all(|h| d.get_change_by_hash(h).is_some())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--smoke");
    let smoke = plansync_tests::smoke_run();
    let edits: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(if smoke { 20 } else { 500 });
    let people: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(if smoke { 3 } else { 30 })
        .max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let central = Server::start(&dir.path().join("central.db"), &[]);
    let doc = central.demo_plan().await;
    let (_, token) = central.enroll(doc, "Workshop laptop", "editor");
    let link = Proxy::start(&central.addr()).await;
    let room_db = dir.path().join("room.db");
    pull(&room_db, &link.url, &token);
    // The baseline's server starts from the same plan as the room's.
    let base_db = dir.path().join("baseline.db");
    pull(&base_db, &link.url, &token);
    link.cut();
    let room = room_server(&room_db, &link.url, &token);

    // The day: each person edits titles of the actions, rates and decides, in turn.
    let mut clients = Vec::new();
    for i in 0..people {
        let (_, t) = room.join_as("editor", &format!("Person {i}"));
        let c = RustClient::connect(&room.sync_url_with(&t), &format!("p{i}")).await;
        c.find(doc).await;
        clients.push(c);
    }
    let before = clients[0].document(doc).get_heads();
    let actions: Vec<_> = clients[0]
        .plan(doc)
        .themes
        .iter()
        .flat_map(|t| {
            t.objectives
                .iter()
                .flat_map(|o| o.actions.iter().map(|a| a.id.clone()))
        })
        .collect();
    for e in 0..edits {
        let c = &clients[e % people];
        let act = actions[e % actions.len()].clone();
        c.edit(doc, |p| {
            p.splice_text(&TextField::ActionTitle(act), 0, 0, &format!("e{e} "))
                .unwrap()
        });
        if e % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for c in &clients {
        c.wait_server_has_all(doc).await;
    }
    // Everything the room made that day, once every client has it all.
    let last = &clients[0];
    last.wait_doc(doc, "every edit of the day", |d| {
        let mut d = d.clone();
        d.get_changes(&before).len() >= edits
    })
    .await;
    let mut day = last.document(doc);
    let change_bytes = day.save_after(&before).len();
    let heads = day.get_heads();
    drop(clients);

    // The link comes back.
    let (sent0, received0) = link.bytes();
    let desk = RustClient::connect(&central.sync_url(), "desk").await;
    desk.find(doc).await;
    let t = Instant::now();
    link.restore();
    desk.wait_doc(doc, "the room's day at the central server", |d| {
        holds_all(d, &heads)
    })
    .await;
    let catch_up = t.elapsed();
    // The relay learns that the link is back only when its next attempt gets through.
    let dial_wait = link
        .reached_at()
        .map_or(catch_up, |at| at.saturating_duration_since(t));
    // Let the relay finish its author report too, then count the bytes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (sent, received) = link.bytes();
    let (sent, received) = (sent - sent0, received - received0);

    // Baseline: one client holding the day's changes syncs them straight to a server that
    // holds the plan as it was before the day.
    let base = Server::start(&base_db, &[]);
    let b = RustClient::connect(&base.sync_url(), "baseline").await;
    let t = Instant::now();
    b.add(doc, day.fork());
    b.wait_server_has_all(doc).await;
    let baseline = t.elapsed();

    println!("relay catch-up: {edits} edits by {people} people in the room ({change_bytes} bytes of changes)");
    println!(
        "baseline  one client syncs the same changes to a server:   {:>8.1} ms",
        baseline.as_secs_f64() * 1e3
    );
    println!(
        "relay     link back -> central server holds every change:  {:>8.1} ms  ({:.1}x baseline)",
        catch_up.as_secs_f64() * 1e3,
        catch_up.as_secs_f64() / baseline.as_secs_f64().max(1e-9)
    );
    println!(
        "          of which waiting for the relay's next attempt:   {:>8.1} ms  (--upstream-retry-secs 1)",
        dial_wait.as_secs_f64() * 1e3
    );
    println!(
        "          of which sending, once through:                  {:>8.1} ms  ({:.1}x baseline)",
        (catch_up - dial_wait).as_secs_f64() * 1e3,
        (catch_up - dial_wait).as_secs_f64() / baseline.as_secs_f64().max(1e-9)
    );
    println!(
        "bytes on the link: {sent} sent, {received} received ({:.2}x the changes sent, {:.2}x both ways)",
        sent as f64 / change_bytes as f64,
        (sent + received) as f64 / change_bytes as f64
    );
}
