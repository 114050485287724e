//! The way home: a room server relays to a central server. Two real `plansync` processes, a
//! proxy between them that cuts the room's link (the room has no internet) and counts the
//! bytes, Rust clients on both sides. Every wait is bounded.

use plansync_shared::{Decision, DocumentId, Quarter, Rag, ReportingPeriod, TextField};
use plansync_tests::proxy::Proxy;
use plansync_tests::{
    http_blocking, pull, room_server, run_plansync as run, RustClient, Server, WAIT,
};
use std::time::{Duration, Instant};

const Q3: ReportingPeriod = ReportingPeriod {
    year: 2026,
    quarter: Quarter::Q3,
};

/// The first action's title in a copy of the plan ("" if it cannot be read).
fn first_title(d: &plansync_shared::automerge::AutoCommit) -> String {
    plansync_shared::PlanDoc::from_automerge(d.clone())
        .and_then(|p| p.read())
        .map(|p| p.themes[0].objectives[0].actions[0].title.clone())
        .unwrap_or_default()
}

/// Puts `words` at the start of an action's title, as a client.
fn prefix_title(c: &RustClient, plan: DocumentId, action: &plansync_shared::ActionId, words: &str) {
    c.edit(plan, |p| {
        p.splice_text(&TextField::ActionTitle(action.clone()), 0, 0, words)
            .unwrap()
    });
}

/// Waits (bounded) until `ok` gives a value.
async fn until<T>(what: &str, mut ok: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = ok() {
            return v;
        }
        assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Before the day: a central server with the demo plan, a laptop enrolled in it, the link
/// between them (up), and where the laptop keeps its plans.
struct Scene {
    dir: tempfile::TempDir,
    central: Server,
    plan: DocumentId,
    relay_id: i64,
    token: String,
    link: Proxy,
    room_db: std::path::PathBuf,
}

async fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let central = Server::start(&dir.path().join("central.db"), &[]);
    let plan = central.demo_plan().await;
    let (relay_id, token) = central.enroll(plan, "Workshop laptop", "editor");
    let link = Proxy::start(&central.addr()).await;
    let room_db = dir.path().join("room.db");
    Scene {
        dir,
        central,
        plan,
        relay_id,
        token,
        link,
        room_db,
    }
}

/// The room server's relay state for `plan` (the first upstream's).
fn relay_state(room: &Server, plan: DocumentId) -> serde_json::Value {
    let (status, states) = room.request("GET", &format!("/api/plans/{plan}/relay"), None);
    assert_eq!(status, 200, "{states}");
    states[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_apart_from_the_central_server_and_desks_there_edit_one_plan_and_the_relay_brings_every_edit_home_by_person_via_the_laptop(
) {
    let Scene {
        dir: _dir,
        central,
        plan,
        token,
        link,
        room_db,
        ..
    } = scene().await;
    // Before the day: the laptop holds the plan with no network at all.
    let pulled = pull(&room_db, &link.url, &token);
    assert!(pulled.contains("Fetched"), "{pulled}");
    link.cut();
    let room = room_server(&room_db, &link.url, &token);
    assert_eq!(
        room.demo_plan().await,
        plan,
        "the room serves the pulled plan"
    );

    // Apart: two people in the room and one at a desk edit the same plan.
    let desk = RustClient::connect(&central.sync_url(), "desk").await;
    desk.find(plan).await;
    let (_, analyst) = room.join_as("editor", "Analyst");
    let (_, facilitator) = room.join_as("editor", "Facilitator");
    let a = RustClient::connect(&room.sync_url_with(&analyst), "analyst").await;
    let b = RustClient::connect(&room.sync_url_with(&facilitator), "facilitator").await;
    a.find(plan).await;
    b.find(plan).await;
    let first = a.plan(plan).themes[0].objectives[0].clone();
    let act = first.actions[0].id.clone();
    let ratings = first.actions[0].rag.len();
    let mut rng = rand::rng();
    a.edit(plan, |p| {
        p.splice_text(&TextField::ActionTitle(act.clone()), 0, 0, "Room: ")
            .unwrap();
        p.add_action(&mut rng, &first.id, "Added in the room", None)
            .unwrap();
    });
    b.edit(plan, |p| {
        p.set_rag(&act, Q3, Rag::Red).unwrap();
        p.set_decision(&first.id, Decision::Amend).unwrap();
    });
    let end = first.actions[0].title.chars().count();
    desk.edit(plan, |p| {
        p.splice_text(&TextField::ActionTitle(act.clone()), end, 0, " (desk)")
            .unwrap()
    });
    a.wait_server_has_all(plan).await;
    b.wait_server_has_all(plan).await;
    desk.wait_server_has_all(plan).await;

    // The room says what waits; so does `plansync status`, from the database.
    let waiting = until("the room to count the changes waiting", || {
        let s = relay_state(&room, plan);
        (s["waiting"].as_u64()? > 0 && s["connected"] == false).then_some(s)
    })
    .await;
    assert!(waiting["waiting"].as_u64().unwrap() >= 2, "{waiting}");
    let said = run(&["status", "--db", room_db.to_str().unwrap()]);
    assert!(said.contains("waiting for the central server"), "{said}");

    // Back online: everything goes home and comes back.
    link.restore();
    let has_all = |p: &plansync_shared::Plan| {
        let o = &p.themes[0].objectives[0];
        o.actions[0].title.starts_with("Room: ")
            && o.actions[0].title.ends_with(" (desk)")
            && o.actions[0].rag.len() == ratings + 1
            && o.actions.iter().any(|x| x.title == "Added in the room")
            && o.review.decision == Decision::Amend
    };
    let read = |d: &plansync_shared::automerge::AutoCommit| {
        plansync_shared::PlanDoc::from_automerge(d.clone())
            .and_then(|p| p.read())
            .is_ok_and(|p| has_all(&p))
    };
    desk.wait_doc(plan, "the room's edits at the central server", read)
        .await;
    a.wait_doc(plan, "the desk's edit in the room", read).await;
    b.wait_doc(plan, "the desk's edit in the room", read).await;
    assert_eq!(a.plan(plan), desk.plan(plan));

    // The central history names the people in the room, via the laptop.
    let by = until("the central history to name the room's people", || {
        let (_, h) = central.request("GET", &format!("/api/plans/{plan}/history"), None);
        let by: Vec<String> = h
            .as_array()?
            .iter()
            .filter_map(|e| e["by"].as_str().map(str::to_string))
            .collect();
        let named = |who: &str| {
            by.iter().any(|b| {
                b == &format!(
                    "{who}, Test agency (joined with a code), reported by Workshop laptop"
                )
            })
        };
        (named("Analyst") && named("Facilitator")).then_some(by)
    })
    .await;
    assert!(
        !by.iter().any(|b| b == "Workshop laptop, Relaying server"),
        "{by:?}"
    );
    let sent = until("the room to say all changes are sent", || {
        let s = relay_state(&room, plan);
        (s["waiting"] == 0 && s["connected"] == true && s["sent_ms"].is_i64()).then_some(s)
    })
    .await;
    assert!(sent["problem"].is_null(), "{sent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_relay_resumes_loses_nothing_and_sends_little_twice() {
    let Scene {
        dir: _dir,
        central,
        plan,
        token,
        link,
        room_db,
        ..
    } = scene().await;
    pull(&room_db, &link.url, &token);
    link.cut();
    let room = room_server(&room_db, &link.url, &token);
    let (_, person) = room.join_as("editor", "Analyst");
    let a = RustClient::connect(&room.sync_url_with(&person), "analyst").await;
    a.find(plan).await;
    let before = a.document(plan).get_heads();
    let act = a.plan(plan).themes[0].objectives[0].actions[0].id.clone();
    // A morning's typing: 300 edits, each its own change.
    for i in 0..300 {
        a.edit(plan, |p| {
            p.splice_text(
                &TextField::ActionTitle(act.clone()),
                0,
                0,
                &format!("{} ", i % 10),
            )
            .unwrap()
        });
    }
    a.wait_server_has_all(plan).await;
    let mut doc = a.document(plan);
    let changes = doc.save_after(&before).len() as u64;
    let heads = doc.get_heads();
    drop(a);
    // The link comes back; the room server dies as soon as the relay starts sending.
    let (sent0, _) = link.bytes();
    link.restore();
    until("the relay to start sending", || {
        (link.bytes().0 > sent0 + 200).then_some(())
    })
    .await;
    let port = room.addr();
    room.kill();
    let room = Server::start_on(
        &room_db,
        &port,
        &[
            "--upstream",
            &link.url,
            "--upstream-token",
            &token,
            "--upstream-retry-secs",
            "1",
        ],
    );
    let desk = RustClient::connect(&central.sync_url(), "desk").await;
    desk.find(plan).await;
    desk.wait_doc(
        plan,
        "every change of the room at the central server",
        |d| {
            let mut d = d.clone();
            heads.iter().all(|h| d.get_change_by_hash(h).is_some())
        },
    )
    .await;
    until("the room to say all changes are sent", || {
        let s = relay_state(&room, plan);
        (s["waiting"] == 0 && s["connected"] == true).then_some(())
    })
    .await;
    let (up, down) = link.bytes();
    let up = up - sent0;
    eprintln!(
        "relay after a kill: {up} bytes sent, {down} received, for {changes} bytes of changes"
    );
    // The protocol's heads, bloom filters and handshakes on top of the changes, at most
    // once more after the kill: nothing like the whole history again.
    assert!(
        up < changes * 2 + 64 * 1024,
        "sent {up} bytes for {changes} bytes of changes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_holds_on_every_hop_a_room_viewer_cannot_change_a_revoked_relay_stops_and_a_relay_gets_only_its_plans(
) {
    let Scene {
        dir: _dir,
        central,
        plan,
        relay_id,
        token,
        link,
        room_db,
    } = scene().await;
    let (other, _) = central.new_plan("Another partnership's plan");
    pull(&room_db, &link.url, &token);
    let room = room_server(&room_db, &link.url, &token);
    // Only the granted plan reached the room.
    let (_, listed) = room.request("GET", "/api/plans", None);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, [plan.to_string().as_str()]);
    let (status, _) = http_blocking(
        &central.addr(),
        "GET",
        &format!("/api/plans/{other}/exports/plan.automerge"),
        Some(&token),
        None,
    );
    assert_ne!(status, 200, "the relay's token cannot read another plan");

    // A viewer in the room cannot change the plan, here or at the central server.
    let (_, viewer) = room.join_as("viewer", "Scrutiny member");
    let v = RustClient::connect(&room.sync_url_with(&viewer), "viewer").await;
    v.find(plan).await;
    let act = v.plan(plan).themes[0].objectives[0].actions[0].id.clone();
    prefix_title(&v, plan, &act, "Viewer: ");
    let (_, editor) = room.join_as("editor", "Analyst");
    let e = RustClient::connect(&room.sync_url_with(&editor), "editor").await;
    e.find(plan).await;
    prefix_title(&e, plan, &act, "Editor: ");
    e.wait_server_has_all(plan).await;
    let desk = RustClient::connect(&central.sync_url(), "desk").await;
    desk.find(plan).await;
    desk.wait_doc(
        plan,
        "the room editor's change at the central server",
        |d| first_title(d).starts_with("Editor: "),
    )
    .await;
    assert!(
        !desk.plan(plan).themes[0].objectives[0].actions[0]
            .title
            .contains("Viewer: "),
        "a viewer's change never travels"
    );

    // Revoked at the central server: the relay is cut off at once and refused after.
    let (status, left) = central.request(
        "DELETE",
        &format!("/api/plans/{plan}/participants/{relay_id}"),
        None,
    );
    assert_eq!(status, 200, "{left}");
    let refused = until("the room to say the relay was refused", || {
        let s = relay_state(&room, plan);
        (s["connected"] == false && s["problem"].is_string()).then_some(s)
    })
    .await;
    assert!(
        refused["problem"].as_str().unwrap().contains("token")
            || refused["problem"].as_str().unwrap().contains("withdrawn"),
        "{refused}"
    );
    prefix_title(&e, plan, &act, "After: ");
    e.wait_server_has_all(plan).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !desk.plan(plan).themes[0].objectives[0].actions[0]
            .title
            .contains("After: "),
        "nothing travels on a revoked token"
    );
}

/// Who the central server says made `hash`, as `POST /api/plans/{plan}/authors` answers.
fn author_of(central: &Server, plan: DocumentId, hash: &str) -> serde_json::Value {
    let (status, authors) = central.request(
        "POST",
        &format!("/api/plans/{plan}/authors"),
        Some(&serde_json::json!([hash])),
    );
    assert_eq!(status, 200, "{authors}");
    authors[hash].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_token_cannot_say_someone_else_made_its_changes_only_an_enrolled_relay_reports_and_only_its_own(
) {
    let Scene {
        dir: _dir,
        central,
        plan,
        token: relay_token,
        ..
    } = scene().await;
    let (_, editor) = central.join_as("editor", "Alice Editor");
    // The attack, with the official JS client: change the plan, then report the change as
    // the Chief Constable's.
    let js_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    let out = tokio::time::timeout(
        Duration::from_secs(70),
        tokio::process::Command::new("node")
            .arg(js_dir.join("relabel.mjs"))
            .arg(central.url.trim_end_matches('/'))
            .arg(&editor)
            .arg(plan.url())
            .current_dir(&js_dir)
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .expect("the JS client ends in time")
    .expect("node runs");
    let said = String::from_utf8_lossy(&out.stdout);
    let events: Vec<serde_json::Value> = said
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let step = |name: &str| {
        events
            .iter()
            .find(|e| e["event"] == name)
            .unwrap_or_else(|| {
                panic!(
                    "no {name} step: {said} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .clone()
    };
    let hash = step("changed")["hash"].as_str().unwrap().to_string();
    assert_eq!(step("held")["held"], true, "{said}");
    let reported = step("reported");
    assert_eq!(reported["status"], 403, "{said}");
    assert!(
        reported["body"]
            .as_str()
            .unwrap()
            .contains("only an enrolled relaying server may report who made changes"),
        "{said}"
    );
    let by = author_of(&central, plan, &hash);
    assert_eq!(by["name"], "Alice Editor", "{by}");
    assert!(by["via"].is_null(), "{by}");

    // An enrolled relay may report only changes it sent itself: not the editor's.
    let report =
        serde_json::json!([{ "name": "Chief Constable", "agency": "Police", "hashes": [hash] }]);
    let (status, answer) = http_blocking(
        &central.addr(),
        "POST",
        &format!("/api/plans/{plan}/relayed-authors"),
        Some(&relay_token),
        Some(&report),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["recorded"], 0, "{answer}");
    assert_eq!(answer["unknown"][0], hash.as_str(), "{answer}");

    // A change the relay sent: its first report stands, a second does not replace it.
    let relay = RustClient::connect(&central.sync_url_with(&relay_token), "relay").await;
    relay.find(plan).await;
    let act = relay.plan(plan).themes[0].objectives[0].actions[0]
        .id
        .clone();
    prefix_title(&relay, plan, &act, "Room: ");
    relay.wait_server_has_all(plan).await;
    let sent = relay.document(plan).get_heads()[0].to_string();
    let report = |name: &str| {
        let body = serde_json::json!([{ "name": name, "agency": "Probation", "hashes": [sent] }]);
        http_blocking(
            &central.addr(),
            "POST",
            &format!("/api/plans/{plan}/relayed-authors"),
            Some(&relay_token),
            Some(&body),
        )
    };
    assert_eq!(report("Analyst").1["recorded"], 1);
    assert_eq!(report("Someone else").1["recorded"], 0);
    let by = author_of(&central, plan, &sent);
    assert_eq!(by["name"], "Analyst", "{by}");
    assert_eq!(by["via"], "Workshop laptop", "{by}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partners_own_laptop_relaying_with_their_personal_token_keeps_working_and_its_changes_are_theirs(
) {
    let Scene {
        dir, central, plan, ..
    } = scene().await;
    let (_, personal) = central.join_as("editor", "Partner");
    let laptop = room_server(
        &dir.path().join("laptop.db"),
        central.url.trim_end_matches('/'),
        &personal,
    );
    let (_, me_here) = laptop.join_as("editor", "Partner on the laptop");
    let c = RustClient::connect(&laptop.sync_url_with(&me_here), "partner").await;
    let deadline = Instant::now() + WAIT;
    while laptop.plans().await.as_array().is_none_or(|a| a.is_empty()) {
        assert!(
            Instant::now() < deadline,
            "the laptop never fetched the plan"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.find(plan).await;
    let act = c.plan(plan).themes[0].objectives[0].actions[0].id.clone();
    prefix_title(&c, plan, &act, "Laptop: ");
    c.wait_server_has_all(plan).await;
    let hash = c.document(plan).get_heads()[0].to_string();
    let by = until("the laptop's change at the central server", || {
        let a = author_of(&central, plan, &hash);
        (!a.is_null()).then_some(a)
    })
    .await;
    assert_eq!(by["name"], "Partner", "{by}");
    // The laptop reports nothing (its token is a person's) and says nothing is wrong.
    let state = until("the laptop to say all is sent", || {
        let s = relay_state(&laptop, plan);
        (s["waiting"] == 0 && s["sent_ms"].is_i64()).then_some(s)
    })
    .await;
    assert!(state["problem"].is_null(), "{state}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(relay_state(&laptop, plan)["problem"].is_null());
    assert!(author_of(&central, plan, &hash)["via"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_chain_a_partners_own_server_relays_to_the_room_which_relays_to_the_central_server()
{
    let Scene {
        dir,
        central,
        plan,
        token,
        link,
        room_db,
        ..
    } = scene().await;
    pull(&room_db, &link.url, &token);
    let room = room_server(&room_db, &link.url, &token);
    // A partner's laptop relays to the room server with a token the room's owner made.
    let (_, partner_token) = room.enroll(plan, "Partner laptop", "editor");
    let partner_db = dir.path().join("partner.db");
    pull(&partner_db, &room.url, &partner_token);
    let partner = room_server(&partner_db, room.url.trim_end_matches('/'), &partner_token);
    let (_, officer) = partner.join_as("editor", "Community safety officer");
    let p = RustClient::connect(&partner.sync_url_with(&officer), "officer").await;
    p.find(plan).await;
    let act = p.plan(plan).themes[0].objectives[0].actions[0].id.clone();
    prefix_title(&p, plan, &act, "Partner: ");
    p.wait_server_has_all(plan).await;
    let desk = RustClient::connect(&central.sync_url(), "desk").await;
    desk.find(plan).await;
    desk.wait_doc(
        plan,
        "the partner's edit at the central server, two hops away",
        |d| first_title(d).starts_with("Partner: "),
    )
    .await;
    // A desk edit travels the other way, two hops down to the partner's laptop.
    prefix_title(&desk, plan, &act, "Desk: ");
    p.wait_doc(plan, "the desk's edit on the partner's laptop", |d| {
        first_title(d).starts_with("Desk: Partner: ")
    })
    .await;
    // The central history names the officer via both relays, nearest first.
    until("the central history to name the partner's officer via both relays", || {
        let (_, h) = central.request("GET", &format!("/api/plans/{plan}/history"), None);
        h.as_array()?
            .iter()
            .any(|e| e["by"] == "Community safety officer, Test agency (joined with a code), reported by Partner laptop, Workshop laptop")
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_update_a_round_in_a_room_cut_off_from_the_central_server_and_the_chair_there_signs_off_the_relayed_updates(
) {
    use plansync_shared::{round_progress, ActionId};
    let Scene {
        dir: _dir,
        central,
        plan,
        token,
        link,
        room_db,
        ..
    } = scene().await;
    // The officer opens the round on the central server, before the day.
    let today = time::OffsetDateTime::now_utc().date();
    let period = ReportingPeriod::containing(today);
    let deadline = (today + time::Duration::days(30)).to_string();
    let desk = RustClient::connect(&central.sync_url(), "officer").await;
    desk.find(plan).await;
    let round = desk.edit(plan, |p| {
        p.open_round(
            &mut rand::rng(),
            period,
            &deadline,
            None,
            &today.to_string(),
            "Officer",
        )
        .unwrap()
    });
    desk.wait_server_has_all(plan).await;
    let pulled = pull(&room_db, &link.url, &token);
    assert!(pulled.contains("Fetched"), "{pulled}");
    link.cut();
    let room = room_server(&room_db, &link.url, &token);

    // In the room, with no network: a lead rates and updates every action of one board.
    let before = desk.plan(plan);
    let board = before
        .boards
        .iter()
        .find(|b| b.chair.is_some())
        .expect("a chaired board")
        .clone();
    let theirs: Vec<ActionId> = before
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
        .filter(|a| plansync_shared::board_takes_part(a, &board.id))
        .map(|a| a.id.clone())
        .collect();
    let (_, lead) = room.join_as("editor", "Lead");
    let l = RustClient::connect(&room.sync_url_with(&lead), "lead").await;
    l.find(plan).await;
    assert!(
        l.plan(plan).rounds.iter().any(|r| r.id == round),
        "the room has the round"
    );
    let mut rng = rand::rng();
    l.edit(plan, |p| {
        for a in &theirs {
            p.set_rag(a, period, Rag::Green).unwrap();
            p.add_progress_update(
                &mut rng,
                a,
                "Lead",
                "Test agency",
                &today.to_string(),
                "Updated in the room",
            )
            .unwrap();
        }
    });
    l.wait_server_has_all(plan).await;

    // Back online: the central server's round counts the room's updates.
    link.restore();
    let plans_round = |p: &plansync_shared::Plan| {
        let r = p.rounds.iter().find(|r| r.id == round)?;
        Some(round_progress(p, r))
    };
    desk.wait_doc(plan, "the room's updates at the central server", |d| {
        plansync_shared::read_plan(d)
            .ok()
            .and_then(|p| plans_round(&p))
            .is_some_and(|progress| theirs.iter().all(|a| !progress.outstanding.contains(a)))
    })
    .await;
    let central_plan = desk.plan(plan);
    assert_eq!(plans_round(&central_plan).unwrap().updated, theirs.len());

    // The board's chair, at the central server, signs off the relayed return.
    let chair = board.chair.clone().unwrap();
    let (chair_id, chair_token) = central.join_as("editor", "Chair");
    let (status, linked) = central.request(
        "PUT",
        &format!("/api/plans/{plan}/participants/{chair_id}/people/{chair}"),
        None,
    );
    assert_eq!(status, 200, "{linked}");
    let (status, signed) = http_blocking(
        &central.addr(),
        "POST",
        &format!("/api/plans/{plan}/sign-offs"),
        Some(&chair_token),
        Some(&serde_json::json!({ "round": round, "board": board.id })),
    );
    assert_eq!(status, 201, "{signed}");
    let (_, list) = central.request("GET", &format!("/api/plans/{plan}/sign-offs"), None);
    assert_eq!(list[0]["changed"], false, "{list}");
    let answer = central.owner_raw(
        "GET",
        &format!(
            "/api/plans/{plan}/exports/exceptions.html?board={}&period={}",
            board.id,
            period.key()
        ),
        &[],
        b"",
    );
    assert!(
        answer.text().contains(&format!(
            "Signed off by {} (joined with a code), {}",
            central_plan.person_name(Some(&chair)),
            board.name
        )),
        "{}",
        answer.text()
    );
}
