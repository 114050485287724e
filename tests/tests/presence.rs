//! Presence over the protocol's ephemeral messages, between our Rust clients and the official
//! JS client's `Presence`, through a real server that stamps each message with the verified
//! participant and says goodbye for sockets that close. Every wait is bounded.

use plansync_shared::{read_stamp, PresenceMessage, PARTICIPANT};
use plansync_tests::{RustClient, Server, WAIT};
use std::io::{BufRead, BufReader};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// A snapshot of `view`, claiming to be someone it is not.
fn snapshot(view: &str) -> PresenceMessage {
    use ciborium::Value;
    PresenceMessage::Snapshot(vec![
        ("view".into(), Value::Text(view.into())),
        (
            PARTICIPANT.into(),
            Value::Map(vec![(
                Value::Text("name".into()),
                Value::Text("Claimed name".into()),
            )]),
        ),
    ])
}

/// The stamped name in a snapshot.
fn name_in(m: &PresenceMessage) -> Option<String> {
    match m {
        PresenceMessage::Snapshot(state) => state
            .iter()
            .find(|(k, _)| k == PARTICIPANT)
            .and_then(|(_, v)| read_stamp(v))
            .map(|s| s.name),
        _ => None,
    }
}

/// The JS client's events: those read so far, and the rest to come.
struct Js {
    rx: Receiver<serde_json::Value>,
    seen: Vec<serde_json::Value>,
}

/// The first of the JS client's events (read so far or to come) that satisfies `ok`
/// (bounded).
fn until_js(js: &mut Js, what: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    if let Some(v) = js.seen.iter().find(|v| ok(v)) {
        return v.clone();
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let v = js
            .rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("the JS client did not report {what} within {WAIT:?}"));
        assert_ne!(v["event"], "error", "{v}");
        js.seen.push(v.clone());
        if ok(&v) {
            return v;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_two_clients_and_the_official_js_client_see_each_other_stamped_come_and_go() {
    let js_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    assert!(
        js_dir
            .join("node_modules/@automerge/automerge-repo")
            .is_dir(),
        "run `npm install --prefix tests/js` first (the test command does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let doc = server.demo_plan().await;
    let (_, analyst) = server.join_as("editor", "Analyst");
    let (_, facilitator) = server.join_as("editor", "Facilitator");
    let a = RustClient::connect(&server.sync_url_with(&analyst), "analyst").await;
    let b = RustClient::connect(&server.sync_url_with(&facilitator), "facilitator").await;
    a.find(doc).await;
    b.find(doc).await;

    let mut node = plansync_tests::node_script("presence.mjs", &[&server.sync_url(), &doc.url()]);
    let stdout = node.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let mut js = Js {
        rx,
        seen: Vec::new(),
    };
    let js_peer = until_js(&mut js, "that it found the plan", |v| v["event"] == "found")["peer"]
        .as_str()
        .unwrap()
        .to_string();

    // Both Rust clients say where they are; the analyst keeps it up with heartbeats.
    a.send_presence(doc, &snapshot("tracker"));
    b.send_presence(doc, &snapshot("outline"));
    let beating = {
        let a = a.clone();
        tokio::spawn(async move {
            for _ in 0..200 {
                tokio::time::sleep(Duration::from_millis(400)).await;
                a.send_presence(doc, &PresenceMessage::Heartbeat);
            }
        })
    };
    let (a_peer, b_peer) = (a.peer_id().0, b.peer_id().0);
    for (peer, name, view) in [
        (&a_peer, "Analyst", "tracker"),
        (&b_peer, "Facilitator", "outline"),
    ] {
        let seen = until_js(&mut js, &format!("{name}'s snapshot"), |v| {
            v["event"] == "snapshot" && v["peer"] == peer.as_str()
        });
        assert_eq!(
            seen["state"]["participant"]["name"], name,
            "stamped by the server: {seen}"
        );
        assert_eq!(seen["state"]["participant"]["agency"], "Test agency");
        assert_eq!(seen["state"]["view"], view);
    }
    // The JS client claimed a name; the server put its participant's instead.
    a.wait_presence("the JS client's stamped snapshot", |seen| {
        seen.iter()
            .any(|(p, m)| p.0 == js_peer && name_in(m).as_deref() == Some("Test chair"))
    })
    .await;
    assert!(!a
        .presence()
        .iter()
        .any(|(_, m)| name_in(m).as_deref() == Some("Forged by JS")));

    // The facilitator's socket stays open but goes silent: the JS client times it out.
    let pruned = until_js(&mut js, "a time-out of the silent peer", |v| {
        v["event"] == "pruning"
            && v["peers"]
                .as_array()
                .is_some_and(|p| p.iter().any(|x| x == b_peer.as_str()))
    });
    assert!(
        !pruned["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == a_peer.as_str()),
        "the analyst kept beating: {pruned}"
    );

    // The analyst's socket closes: the server says goodbye for it at once.
    beating.abort();
    a.close();
    until_js(&mut js, "the analyst's goodbye", |v| {
        v["event"] == "goodbye" && v["peer"] == a_peer.as_str()
    });

    // The JS client leaves: it says goodbye, and the facilitator hears it.
    drop(node.stdin.take());
    b.wait_presence("the JS client's goodbye", |seen| {
        seen.iter()
            .any(|(p, m)| p.0 == js_peer && *m == PresenceMessage::Goodbye)
    })
    .await;
    plansync_tests::stop_node(&mut node).await;
}
