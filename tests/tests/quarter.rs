//! The quarter against the real server: person links, and a chair's sign-off that nobody
//! else can make or forge (not an editor, a viewer, a removed participant, another board's
//! chair, nor anyone writing a sign-off into the plan document with our own client, the
//! official JS client or a raw socket), that a later change marks changed since sign-off,
//! and that a closed round refuses.

use futures_util::SinkExt;
use plansync_shared::automerge::{sync, transaction::Transactable, ObjType, ReadDoc, ROOT};
use plansync_shared::{
    encode_message, BoardId, DocMessage, DocumentId, Message, PeerId, PeerMetadata, PersonId, Plan,
    Rag, ReportingPeriod, RoundId,
};
use plansync_tests::{contract, http_blocking, RustClient, Server, WAIT};
use std::process::Stdio;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

fn period() -> ReportingPeriod {
    ReportingPeriod::containing(time::OffsetDateTime::now_utc().date())
}

/// A deadline for updates a month from today.
fn deadline() -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string()
}

/// The owner (the server's first token) opens a round for this quarter over sync; returns
/// the owner's client and the round.
async fn owner_opens_a_round(server: &Server, doc: DocumentId) -> (RustClient, RoundId) {
    let owner = RustClient::connect(&server.sync_url(), "owner").await;
    owner.find(doc).await;
    let round = owner.edit(doc, |p| {
        p.open_round(
            &mut rand::rng(),
            period(),
            &deadline(),
            None,
            &today(),
            "Officer",
        )
        .unwrap()
    });
    owner.wait_server_has_all(doc).await;
    (owner, round)
}

/// An HTTP call with a participant's token.
fn call(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    http_blocking(&server.addr(), method, path, Some(token), body.as_ref())
}

/// Links participant `who` to plan person `person` as the caller with `token`.
fn link(server: &Server, doc: DocumentId, token: &str, who: i64, person: &PersonId, shared: bool) {
    let (status, body) = call(
        server,
        token,
        "PUT",
        &format!("/api/plans/{doc}/participants/{who}/people/{person}"),
        Some(serde_json::json!({ "shared": shared })),
    );
    assert_eq!(status, 200, "{body}");
}

fn sign(
    server: &Server,
    doc: DocumentId,
    token: &str,
    round: &RoundId,
    board: &BoardId,
) -> (u16, serde_json::Value) {
    let asked = plansync_shared::SignOffRequest {
        round: round.clone(),
        board: board.clone(),
    };
    let (status, answer) = call(
        server,
        token,
        "POST",
        &format!("/api/plans/{doc}/sign-offs"),
        Some(serde_json::to_value(asked).unwrap()),
    );
    if status == 201 {
        contract::<plansync_shared::SignOff>(&answer);
    } else {
        contract::<plansync_shared::api::ErrorBody>(&answer);
    }
    (status, answer)
}

fn sign_offs(server: &Server, doc: DocumentId) -> Vec<serde_json::Value> {
    let (status, list) = server.request("GET", &format!("/api/plans/{doc}/sign-offs"), None);
    assert_eq!(status, 200, "{list}");
    contract::<Vec<plansync_shared::SignOff>>(&list);
    list.as_array().unwrap().clone()
}

fn exceptions(server: &Server, doc: DocumentId, board: &BoardId) -> String {
    let answer = server.owner_raw(
        "GET",
        &format!(
            "/api/plans/{doc}/exports/exceptions.html?board={board}&period={}",
            period().key()
        ),
        &[],
        b"",
    );
    assert_eq!(answer.status, 200);
    answer.text()
}

/// Two boards with different chairs.
fn two_chaired_boards(plan: &Plan) -> ((BoardId, PersonId), (BoardId, PersonId)) {
    let chaired: Vec<(BoardId, PersonId)> = plan
        .boards
        .iter()
        .filter_map(|b| b.chair.clone().map(|c| (b.id.clone(), c)))
        .collect();
    let first = chaired[0].clone();
    let second = chaired
        .iter()
        .find(|(_, c)| c != &first.1)
        .expect("two boards with different chairs in the demo plan")
        .clone();
    (first, second)
}

/// Writes a sign-off entry into the document over a raw socket, as a hand-made sync
/// message on top of the server's heads, and waits for the server to hold it.
async fn forge_over_a_raw_socket(
    server: &Server,
    token: &str,
    doc: DocumentId,
    round: &RoundId,
    board: &BoardId,
) {
    let reader = RustClient::connect(&server.sync_url(), "reader").await;
    reader.find(doc).await;
    let mut forged = reader.document(doc).fork();
    let map = forged
        .put_object(ROOT, "sign_offs_raw", ObjType::Map)
        .unwrap();
    forged
        .put(&map, format!("{round}:{board}"), "Chair, 2027-01-14")
        .unwrap();
    let change = forged.get_last_local_change().unwrap().clone();
    let msg = sync::Message {
        heads: forged.get_heads(),
        need: vec![],
        have: vec![],
        changes: vec![change.raw_bytes().to_vec()].into(),
        flags: None,
        version: sync::MessageVersion::V1,
    };
    let (mut ws, _) = tokio_tungstenite::connect_async(server.sync_url_with(token))
        .await
        .unwrap();
    let me = PeerId("raw-forger".into());
    ws.send(Ws::Binary(
        encode_message(&Message::Join {
            sender_id: me.clone(),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: Some(vec!["1".into()]),
        })
        .into(),
    ))
    .await
    .unwrap();
    ws.send(Ws::Binary(
        encode_message(&Message::Sync(DocMessage {
            sender_id: me,
            target_id: PeerId("server".into()),
            document_id: doc,
            data: msg.encode(),
        }))
        .into(),
    ))
    .await
    .unwrap();
    reader
        .wait_doc(doc, "the raw socket's entry on the server", |d| {
            d.get(ROOT, "sign_offs_raw").ok().flatten().is_some()
        })
        .await;
    drop(ws);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_confirmed_chair_signs_off_and_a_sign_off_written_into_the_document_is_never_one()
{
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let doc = server.demo_plan().await;
    let (owner, round) = owner_opens_a_round(&server, doc).await;
    let plan = owner.plan(doc);
    let ((board, chair), (other_board, other_chair)) = two_chaired_boards(&plan);
    let board_name = plan.board_name(Some(&board));
    let chair_name = plan.person_name(Some(&chair));
    let owner_token = server.token.clone();

    // The chair says who they are; until an owner confirms it, they cannot sign.
    let (chair_id, chair_token) = server.join_as("editor", "Chair of the board");
    link(&server, doc, &chair_token, chair_id, &chair, false);
    let (status, e) = sign(&server, doc, &chair_token, &round, &board);
    assert_eq!(status, 403, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("awaits an owner's confirmation"),
        "{e}"
    );

    // Nobody else signs: an editor who is not the chair, a viewer linked to the chair, the
    // chair of another board, a removed participant once linked to the chair.
    let (_, editor_token) = server.join_as("editor", "An editor");
    let (status, e) = sign(&server, doc, &editor_token, &round, &board);
    assert_eq!(status, 403, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("Only the chair of"),
        "{e}"
    );
    let (viewer_id, viewer_token) = server.join_as("viewer", "A viewer");
    link(&server, doc, &owner_token, viewer_id, &chair, true);
    let (status, e) = sign(&server, doc, &viewer_token, &round, &board);
    assert_eq!(status, 403, "a viewer never signs: {e}");
    let (other_id, other_token) = server.join_as("editor", "Chair of another board");
    link(&server, doc, &owner_token, other_id, &other_chair, false);
    let (status, e) = sign(&server, doc, &other_token, &round, &board);
    assert_eq!(status, 403, "{e}");
    let (gone_id, gone_token) = server.join_as("editor", "Former chair");
    link(&server, doc, &owner_token, gone_id, &chair, true);
    let (status, _) = server.request(
        "DELETE",
        &format!("/api/plans/{doc}/participants/{gone_id}"),
        None,
    );
    assert_eq!(status, 200);
    let (status, e) = sign(&server, doc, &gone_token, &round, &board);
    assert!(
        status == 401 || status == 404,
        "a removed participant: {status} {e}"
    );
    assert!(sign_offs(&server, doc).is_empty());

    // An owner confirms the chair's link: the chair signs off, with a snapshot.
    link(&server, doc, &owner_token, chair_id, &chair, true);
    let (status, signed) = sign(&server, doc, &chair_token, &round, &board);
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["name"], chair_name.as_str());
    assert!(signed["snapshot"].is_i64());
    let list = sign_offs(&server, doc);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["changed"], false);
    let report = exceptions(&server, doc, &board);
    assert!(
        report.contains(&format!(
            "Signed off by {chair_name} (joined with a code), {board_name}, "
        )),
        "{report}"
    );
    assert!(!report.contains("changed since sign-off"));

    // Forgeries written into the document: by an editor's own client, by the official JS
    // client, and over a raw socket. The server takes the changes (they are edits like any
    // other), and none of them is a sign-off anywhere.
    let editor = RustClient::connect(&server.sync_url_with(&editor_token), "editor").await;
    editor.find(doc).await;
    let other_round = round.clone();
    let other = other_board.clone();
    editor.edit(doc, move |p| {
        let am = p.automerge_mut();
        let map = am.put_object(ROOT, "sign_offs", ObjType::Map).unwrap();
        am.put(
            &map,
            format!("{other_round}:{other}"),
            "Signed off by Chair",
        )
        .unwrap();
    });
    editor.wait_server_has_all(doc).await;
    let js_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("node")
            .arg(js_dir.join("forge.mjs"))
            .arg(server.sync_url_with(&editor_token))
            .arg(doc.url())
            .arg(round.to_string())
            .arg(other_board.to_string())
            .current_dir(&js_dir)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("the JS client ends in time")
    .expect("node runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("\"forged\""), "{said}");
    owner
        .wait_doc(doc, "the JS client's entry on the server", |d| {
            d.get(ROOT, "sign_offs")
                .ok()
                .flatten()
                .and_then(|(_, map)| d.get(&map, format!("{round}:{other_board}")).ok().flatten())
                .is_some_and(|(v, _)| v.is_object())
        })
        .await;
    forge_over_a_raw_socket(&server, &editor_token, doc, &round, &other_board).await;
    let list = sign_offs(&server, doc);
    assert_eq!(list.len(), 1, "only the chair's own sign-off: {list:?}");
    assert_eq!(list[0]["board"], board.as_str());
    let report = exceptions(&server, doc, &other_board);
    assert!(report.contains("not signed off"), "{report}");
    assert!(!report.contains("Signed off by"), "{report}");

    // A later change to the board's return marks it changed since sign-off; the chair signs
    // again.
    let action = plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
        .find(|a| plansync_shared::board_takes_part(a, &board))
        .unwrap()
        .id
        .clone();
    editor.edit(doc, |p| p.set_rag(&action, period(), Rag::Red).unwrap());
    editor.wait_server_has_all(doc).await;
    let list = sign_offs(&server, doc);
    assert_eq!(list[0]["changed"], true, "{list:?}");
    assert!(exceptions(&server, doc, &board).contains("(changed since sign-off)"));
    let (status, again) = sign(&server, doc, &chair_token, &round, &board);
    assert_eq!(status, 201, "{again}");
    assert!(!exceptions(&server, doc, &board).contains("(changed since sign-off)"));

    // Once the round closes, a sign-off replayed is refused.
    owner.edit(doc, |p| p.close_round(&round, &today(), "Officer").unwrap());
    owner.wait_server_has_all(doc).await;
    let (status, e) = sign(&server, doc, &chair_token, &round, &board);
    assert_eq!(status, 409, "{e}");
    assert!(e["error"].as_str().unwrap().contains("closed"), "{e}");
    assert_eq!(sign_offs(&server, doc).len(), 2);
    let _ = WAIT;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_opened_by_an_editor_is_refused_and_never_reaches_the_plan_but_an_owners_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let doc = server.demo_plan().await;
    let (_, editor_token) = server.join_as("editor", "An editor");
    let editor = RustClient::connect(&server.sync_url_with(&editor_token), "editor").await;
    editor.find(doc).await;
    editor.edit(doc, |p| {
        p.open_round(
            &mut rand::rng(),
            period(),
            &deadline(),
            None,
            &today(),
            "Editor",
        )
        .unwrap()
    });
    let start = std::time::Instant::now();
    while editor.is_connected() {
        assert!(start.elapsed() < WAIT, "the editor's connection is closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, plan) = server.request("GET", &format!("/api/plans/{doc}/plan"), None);
    assert_eq!(status, 200);
    assert_eq!(
        plan["rounds"],
        serde_json::json!([]),
        "no round on the server"
    );
    // The owner's round is taken.
    owner_opens_a_round(&server, doc).await;
    let (_, plan) = server.request("GET", &format!("/api/plans/{doc}/plan"), None);
    assert_eq!(plan["rounds"][0]["opened_by"], "Officer");
    assert_eq!(plan["rounds"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_publishes_the_board_pack_at_an_address_that_never_changes_until_it_is_unpublished(
) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let doc = server.demo_plan().await;
    let (owner, _) = owner_opens_a_round(&server, doc).await;
    let body = serde_json::to_value(plansync_shared::Publish {
        period: Some(period().key()),
    })
    .unwrap();
    // Only owners publish.
    let (_, editor_token) = server.join_as("editor", "An editor");
    let (status, e) = call(
        &server,
        &editor_token,
        "POST",
        &format!("/api/plans/{doc}/publications"),
        Some(body.clone()),
    );
    assert_eq!(status, 403, "{e}");
    let (status, made) = server.request(
        "POST",
        &format!("/api/plans/{doc}/publications"),
        Some(&body),
    );
    assert_eq!(status, 201, "{made}");
    contract::<plansync_shared::Published>(&made);
    let pdf_path = made["pdf"].as_str().unwrap().to_string();
    let page_path = made["url"].as_str().unwrap().to_string();
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32, "128 random bits: {id}");

    // Anyone reads it, with no token: a tagged A4 PDF, and the page.
    let pdf = plansync_tests::http_raw(&server.addr(), "GET", &pdf_path, &[], b"");
    assert_eq!(pdf.status, 200);
    assert_eq!(
        pdf.header("content-type").as_deref(),
        Some("application/pdf")
    );
    let (info, _) = plansync_tests::poppler(&pdf.body);
    assert!(
        info.contains("Tagged:          yes") && info.contains("(A4)"),
        "{info}"
    );
    let page = plansync_tests::http_raw(&server.addr(), "GET", &page_path, &[], b"");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Board pack"), "{}", page.text());

    // It never changes: an edit afterwards leaves the published files as they were.
    let plan = owner.plan(doc);
    let a = plan.themes[0].objectives[0].actions[0].id.clone();
    owner.edit(doc, |p| {
        p.set_text(
            &plansync_shared::TextField::ActionTitle(a),
            "Renamed after publishing",
        )
        .unwrap()
    });
    owner.wait_server_has_all(doc).await;
    let again = plansync_tests::http_raw(&server.addr(), "GET", &pdf_path, &[], b"");
    assert_eq!(again.body, pdf.body, "the same bytes");
    assert!(
        !plansync_tests::http_raw(&server.addr(), "GET", &page_path, &[], b"")
            .text()
            .contains("Renamed after publishing")
    );

    // Guessed or enumerated addresses, and the plan's API without a token, give nothing.
    let mut guessed = id.clone().into_bytes();
    guessed[31] = if guessed[31] == b'0' { b'1' } else { b'0' };
    let guessed = String::from_utf8(guessed).unwrap();
    for path in [
        format!("/published/{guessed}"),
        format!("/published/{guessed}/pack.pdf"),
        "/published/1".to_string(),
        "/published/00000000000000000000000000000001/pack.pdf".to_string(),
        "/published/..%2F..%2Fapi%2Fplans".to_string(),
        format!("/published/{id}/plan.json"),
    ] {
        let answer = plansync_tests::http_raw(&server.addr(), "GET", &path, &[], b"");
        assert_eq!(answer.status, 404, "{path}");
    }
    let answer = plansync_tests::http_raw(
        &server.addr(),
        "GET",
        &format!("/api/plans/{doc}/plan"),
        &[],
        b"",
    );
    assert_eq!(answer.status, 401);

    // Listed for the plan's people; unpublished, it is gone.
    let (status, list) = call(
        &server,
        &editor_token,
        "GET",
        &format!("/api/plans/{doc}/publications"),
        None,
    );
    assert_eq!(status, 200);
    contract::<Vec<plansync_shared::Published>>(&list);
    assert_eq!(list[0]["id"], id.as_str());
    let (status, _) = server.request(
        "DELETE",
        &format!("/api/plans/{doc}/publications/{id}"),
        None,
    );
    assert_eq!(status, 204);
    let gone = plansync_tests::http_raw(&server.addr(), "GET", &pdf_path, &[], b"");
    assert_eq!(gone.status, 404);
}
