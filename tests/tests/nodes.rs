//! Several `plansync serve` nodes over one PostgreSQL database are one service: a change
//! accepted by any node reaches the clients of every other node, and access changes made on
//! one node hold on all of them at once. Each test starts its own PostgreSQL cluster.

use plansync_shared::{DocumentId, TextField};
use plansync_tests::{Backing, RustClient, Server, WAIT};
use std::time::{Duration, Instant};

/// Waits (bounded by [`WAIT`]) until `ok` holds.
async fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !ok() {
        assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn first_action_title(c: &RustClient, doc: DocumentId) -> String {
    c.plan(doc).themes[0].objectives[0].actions[0].title.clone()
}

fn mark(c: &RustClient, doc: DocumentId, text: &str) {
    let act = c.plan(doc).themes[0].objectives[0].actions[0].id.clone();
    c.edit(doc, |p| {
        p.splice_text(&TextField::ActionTitle(act), 0, 0, text)
            .unwrap()
    });
}

async fn client_on(node: &Server, name: &str, doc: DocumentId) -> RustClient {
    let c = RustClient::connect(&node.sync_url(), name).await;
    c.find(doc).await;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_database_serve_one_plan_and_clients_on_each_see_every_edit() {
    let backing = Backing::postgres();
    let nodes: Vec<Server> = (0..3).map(|_| backing.start(&[])).collect();
    let doc = nodes[0].demo_plan().await;
    let mut clients = vec![];
    for (i, n) in nodes.iter().enumerate() {
        clients.push(client_on(n, &format!("on-node-{i}"), doc).await);
    }
    for round in 0..3 {
        for (i, c) in clients.iter().enumerate() {
            mark(c, doc, &format!("<{round}.{i}>"));
        }
        for c in &clients {
            c.wait_doc(doc, "every node's edits", |d| {
                let plan = plansync_shared::PlanDoc::from_automerge(d.clone()).unwrap();
                let title = plan.read().unwrap().themes[0].objectives[0].actions[0]
                    .title
                    .clone();
                (0..3).all(|i| title.contains(&format!("<{round}.{i}>")))
            })
            .await;
        }
    }
    for c in &clients {
        c.wait_server_has_all(doc).await;
    }
    let want = first_action_title(&clients[0], doc);
    for c in &clients {
        assert_eq!(first_action_title(c, doc), want);
    }
    // A node started afterwards reads it all from the database; none is special.
    let late = backing.start(&[]);
    let c = client_on(&late, "late", doc).await;
    assert_eq!(first_action_title(&c, doc), want);
    assert_eq!(
        late.plans().await.as_array().unwrap().len(),
        1,
        "the first plan is made once, by the first node"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_node_closes_the_persons_socket_on_another_and_a_role_change_holds_there(
) {
    let backing = Backing::postgres();
    let (a, b) = (backing.start(&[]), backing.start(&[]));
    let doc = a.demo_plan().await;
    let plan = doc.to_string();
    let owner_on_a = client_on(&a, "owner", doc).await;

    // Made a viewer on node A, an editor syncing through node B can no longer change the plan.
    let (analyst, token) = a.join_as("editor", "Analyst");
    let on_b = RustClient::connect(&b.sync_url_with(&token), "analyst").await;
    on_b.find(doc).await;
    mark(&on_b, doc, "<as editor>");
    on_b.wait_server_has_all(doc).await;
    let body = serde_json::json!({"role": "viewer"});
    let (status, said) = a.request(
        "PATCH",
        &format!("/api/plans/{plan}/participants/{analyst}"),
        Some(&body),
    );
    assert_eq!(status, 200, "{said}");
    // Node B hears of it through the database; wait for it there before editing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    mark(&on_b, doc, "<as viewer>");
    wait_until(
        "node B to close the viewer's connection after a change",
        || !on_b.is_connected(),
    )
    .await;
    owner_on_a
        .wait_doc(doc, "the editor's change", |d| {
            let plan = plansync_shared::PlanDoc::from_automerge(d.clone()).unwrap();
            plan.read().unwrap().themes[0].objectives[0].actions[0]
                .title
                .contains("<as editor>")
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !first_action_title(&owner_on_a, doc).contains("<as viewer>"),
        "a viewer's change never reaches the plan"
    );

    // Revoked on node A, a participant syncing through node B is cut off at once.
    let (officer, token) = a.join_as("editor", "Officer");
    let officer_on_b = RustClient::connect(&b.sync_url_with(&token), "officer").await;
    officer_on_b.find(doc).await;
    let (status, said) = a.request(
        "DELETE",
        &format!("/api/plans/{plan}/participants/{officer}"),
        None,
    );
    assert_eq!(status, 200, "{said}");
    wait_until("node B to close the revoked participant's socket", || {
        !officer_on_b.is_connected()
    })
    .await;
    for node in [&a, &b] {
        let refused = tokio_tungstenite::connect_async(node.sync_url_with(&token)).await;
        assert!(
            refused.is_err(),
            "a revoked token opens no socket on any node"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nginx_three_nodes_are_one_address_clients_land_on_different_nodes_and_carry_on_when_one_dies(
) {
    use plansync_tests::{nginx::Nginx, Launch};
    let backing = Backing::postgres();
    let launch = Launch {
        capture_log: true,
        ..Launch::default()
    };
    let mut nodes: Vec<Server> = (0..3)
        .map(|_| backing.start_with(&[], launch.clone()))
        .collect();
    let doc = nodes[0].demo_plan().await;
    // Each node is ready on the shared PostgreSQL (what a load balancer asks).
    for n in &nodes {
        let (status, ready) = plansync_tests::http_blocking(&n.addr(), "GET", "/ready", None, None);
        assert_eq!(
            (status, &ready["ready"]),
            (200, &serde_json::json!(true)),
            "{ready}"
        );
    }
    let proxy = Nginx::start(&nodes.iter().map(Server::addr).collect::<Vec<_>>());
    let token = nodes[0].token.clone();
    let a = RustClient::connect(&proxy.sync_url_with(&token), "through-nginx-a").await;
    let b = RustClient::connect(&proxy.sync_url_with(&token), "through-nginx-b").await;
    a.find(doc).await;
    b.find(doc).await;
    let node_of = |nodes: &[Server], name: &str| {
        nodes
            .iter()
            .position(|n| n.log.lock().unwrap().contains(&format!("peer={name}")))
    };
    let (na, nb) = (
        node_of(&nodes, "through-nginx-a"),
        node_of(&nodes, "through-nginx-b"),
    );
    assert!(
        na.is_some() && nb.is_some() && na != nb,
        "the two sockets went to different nodes: {na:?} {nb:?}"
    );
    mark(&a, doc, "<a via nginx>");
    mark(&b, doc, "<b via nginx>");
    for c in [&a, &b] {
        c.wait_doc(doc, "both edits through nginx", |d| {
            let plan = plansync_shared::PlanDoc::from_automerge(d.clone()).unwrap();
            let t = plan.read().unwrap().themes[0].objectives[0].actions[0]
                .title
                .clone();
            t.contains("<a via nginx>") && t.contains("<b via nginx>")
        })
        .await;
    }
    a.wait_server_has_all(doc).await;
    // The node A was on dies; A reconnects to the same address and lands on another node.
    nodes.remove(na.unwrap()).kill();
    mark(&a, doc, "<a after the kill>");
    wait_until("A to notice its node is gone", || !a.is_connected()).await;
    a.reconnect(&proxy.sync_url_with(&token)).await;
    a.find(doc).await;
    b.wait_doc(doc, "A's edit made while its node was down", |d| {
        let plan = plansync_shared::PlanDoc::from_automerge(d.clone()).unwrap();
        let t = plan.read().unwrap().themes[0].objectives[0].actions[0]
            .title
            .clone();
        t.contains("<a after the kill>")
    })
    .await;
    a.wait_server_has_all(doc).await;
    assert_eq!(first_action_title(&a, doc), first_action_title(&b, doc));
    // The app and the API answer through the proxy too.
    let addr = proxy
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let (status, plans) =
        plansync_tests::http_blocking(addr, "GET", "/api/plans", Some(&token), None);
    assert_eq!(status, 200, "{plans}");
    assert_eq!(plans[0]["id"], doc.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_started_at_once_on_a_new_database_make_one_first_plan_and_leave_one_working_owner_link(
) {
    use std::io::BufRead;
    let backing = Backing::postgres();
    let url = backing
        .database()
        .expect("a PostgreSQL database")
        .to_string();
    // Three nodes started together, as a service manager starts them.
    let mut nodes: Vec<(std::process::Child, String)> = Vec::new();
    let mut outputs = Vec::new();
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new(plansync_tests::plansync_binary())
            .args(["serve", "--demo", "--database", &url, "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start a node");
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let lines = out.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                lines.lock().unwrap().push(line);
            }
        });
        nodes.push((child, format!("127.0.0.1:{port}")));
        outputs.push(out);
    }
    struct Stop(Vec<std::process::Child>);
    impl Drop for Stop {
        fn drop(&mut self) {
            for c in &mut self.0 {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
    let addrs: Vec<String> = nodes.iter().map(|(_, a)| a.clone()).collect();
    let _stop = Stop(nodes.into_iter().map(|(c, _)| c).collect());
    // Each serves once it has said what it has to say at its start.
    let start = Instant::now();
    for a in &addrs {
        while plansync_tests::health_latency(a).is_err() {
            assert!(start.elapsed() < WAIT, "node {a} did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let printed: Vec<Vec<String>> = outputs.iter().map(|o| o.lock().unwrap().clone()).collect();
    let links: Vec<(usize, String)> = printed
        .iter()
        .enumerate()
        .flat_map(|(i, lines)| {
            lines
                .iter()
                .filter(|l| l.starts_with("Owner link"))
                .map(move |l| (i, l.clone()))
        })
        .collect();
    assert_eq!(links.len(), 1, "one owner link in all: {printed:?}");
    let code = links[0]
        .1
        .rsplit("code ")
        .next()
        .unwrap()
        .trim_end_matches(')');
    // The others made none and say where one comes from, if they saw the plan at all.
    for (i, lines) in printed.iter().enumerate() {
        if i != links[0].0 {
            assert!(
                lines
                    .iter()
                    .filter(|l| l.contains("has no owner yet"))
                    .all(|l| l.contains("plansync invite") && l.contains("--role owner")),
                "{lines:?}"
            );
        }
    }
    // The link works, through any node, and the database has one plan.
    let body = serde_json::json!({"code": code, "name": "Chair", "agency": "Office of the PCC"});
    let (status, joined) =
        plansync_tests::http_blocking(&addrs[2], "POST", "/api/join", None, Some(&body));
    assert_eq!(status, 201, "{joined}");
    let token = joined["token"].as_str().unwrap();
    let (_, plans) =
        plansync_tests::http_blocking(&addrs[0], "GET", "/api/plans", Some(token), None);
    assert_eq!(
        plans.as_array().map(Vec::len),
        Some(1),
        "one first plan: {plans}"
    );
    let (status, _) =
        plansync_tests::http_blocking(&addrs[1], "GET", "/api/plans", Some(token), None);
    assert_eq!(status, 200);
}
