//! The plan actors: independence, bounded queues, stopping when idle, compaction.

use super::*;

/// A state whose sync actors hold few commands and stop soon when idle.
async fn small_state(dir: &tempfile::TempDir) -> AppState {
    start_on(
        std::sync::Arc::new(sqlite(dir).await),
        true,
        Settings {
            max_message_bytes: 1 << 20,
            app_dir: Some(dir.path().join("no-app")),
            max_document_queue: 4,
            document_idle: std::time::Duration::from_millis(200),
            ..Settings::default()
        },
    )
    .await
    .unwrap()
}

/// A second plan on the server with an editor's grant and the owner's participant.
async fn second_plan(s: &AppState) -> (plansync_shared::DocumentId, Grant) {
    let row = s.sync.create_plan(PlanKind::Demo).await.unwrap();
    let (owner, _) = add_with_token(
        &s.store,
        row.id.clone(),
        "Chair".into(),
        "Council".into(),
        Role::Owner,
        Default::default(),
    )
    .await
    .unwrap();
    (row.id.parse().unwrap(), Grant::of(&owner).unwrap())
}

/// Waits (at most 5 s) until `ok` holds.
async fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..100 {
        if ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("waited 5 s for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_whose_actor_is_busy_holds_up_no_other_plan() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (busy, _) = owner(&s).await;
    let busy: plansync_shared::DocumentId = busy.parse().unwrap();
    let (other, grant) = second_plan(&s).await;
    // The first plan's actor is occupied (as by a long import) until released.
    let release = s.sync.hold(busy).await;
    let mut pipe = Pipe::open(&s, vec![grant], "keystroke").await;
    let (change, _) = sync_with_a_change("keystroke", other);
    pipe.send(&change);
    assert!(
        matches!(pipe.next().await, Some(Wire::Sync(m)) if m.document_id == other),
        "the other plan's change is stored and answered while the first plan is busy"
    );
    let by_people = |authors: Vec<(String, Option<crate::ParticipantId>)>| {
        authors.iter().filter(|(_, by)| by.is_some()).count()
    };
    assert_eq!(
        by_people(s.store.change_authors(other.to_string()).await.unwrap()),
        1
    );
    let (status, _) = call(&s, "GET", "/api/plans", None, None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "HTTP answers meanwhile too"
    );
    drop(release);
    assert!(
        s.sync.document(busy).await.unwrap().is_some(),
        "and the first plan carries on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_document_queue_makes_its_sender_wait_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = small_state(&dir).await;
    let (plan, token) = owner(&s).await;
    let (editor, _) = participant(&s, &plan, &token, "editor").await;
    let doc: plansync_shared::DocumentId = plan.parse().unwrap();
    let mut pipe = Pipe::open(&s, vec![Grant::of(&editor).unwrap()], "flooder").await;
    let (first, _) = sync_with_a_change("flooder", doc);
    pipe.send(&first);
    assert!(matches!(pipe.next().await, Some(Wire::Sync(_))));
    let release = s.sync.hold(doc).await;
    for _ in 0..20 {
        pipe.send(&sync_with_a_change("flooder", doc).0);
    }
    eventually("the queue to fill", || s.sync.queued(doc) == Some(4)).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        s.sync.queued(doc),
        Some(4),
        "the queue stays at its bound; the sender waits"
    );
    drop(release);
    let ours = |authors: Vec<(String, Option<crate::ParticipantId>)>| {
        authors.iter().filter(|(_, by)| by.is_some()).count()
    };
    for _ in 0..100 {
        if ours(s.store.change_authors(plan.clone()).await.unwrap()) >= 21 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        ours(s.store.change_authors(plan.clone()).await.unwrap()),
        21,
        "every queued change was stored once the actor was free"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_plan_actor_stops_and_the_plan_loads_again_on_next_use() {
    let dir = tempfile::tempdir().unwrap();
    let s = small_state(&dir).await;
    let (plan, token) = owner(&s).await;
    let (editor, _) = participant(&s, &plan, &token, "editor").await;
    let doc: plansync_shared::DocumentId = plan.parse().unwrap();
    {
        let mut pipe = Pipe::open(&s, vec![Grant::of(&editor).unwrap()], "visitor").await;
        pipe.send(&sync_with_a_change("visitor", doc).0);
        assert!(matches!(pipe.next().await, Some(Wire::Sync(_))));
        assert_eq!(s.sync.running_documents(), 1);
    }
    eventually("the idle actor to stop", || s.sync.running_documents() == 0).await;
    let mut pipe = Pipe::open(&s, vec![Grant::of(&editor).unwrap()], "visitor-2").await;
    pipe.send(&sync_with_a_change("visitor-2", doc).0);
    assert!(matches!(pipe.next().await, Some(Wire::Sync(_))));
    let authors = s.store.change_authors(plan).await.unwrap();
    assert_eq!(
        authors.iter().filter(|(_, by)| by.is_some()).count(),
        2,
        "both changes are kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_runs_beside_the_plans_actor_and_loses_no_change_stored_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let (editor, _) = participant(&s, &plan, &token, "editor").await;
    let doc: plansync_shared::DocumentId = plan.parse().unwrap();
    let mut pipe = Pipe::open(&s, vec![Grant::of(&editor).unwrap()], "typist").await;
    let mut hashes = Vec::new();
    // Each change answered before the next: one chunk each, past the compaction threshold.
    for _ in 0..(crate::store::COMPACT_MAX_CHUNKS + 40) {
        let (change, hash) = sync_with_a_change("typist", doc);
        pipe.send(&change);
        assert!(matches!(pipe.next().await, Some(Wire::Sync(_))));
        hashes.push(hash);
    }
    let chunks = || async { s.store.chunk_count(doc).await.unwrap() };
    for _ in 0..100 {
        if chunks().await < 64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        chunks().await < 64,
        "the plan was compacted: {} chunks",
        chunks().await
    );
    let stored = s.store.load(doc).await.unwrap().unwrap();
    let mut loaded = plansync_shared::automerge::AutoCommit::load(&stored.bytes).unwrap();
    for h in &hashes {
        let h: plansync_shared::automerge::ChangeHash = h.parse().unwrap();
        assert!(
            loaded.get_change_by_hash(&h).is_some(),
            "change {h} is stored"
        );
    }
}

/// An editor's socket whose first change is stored and answered; then another program
/// takes the database's write lock (held until the returned connection commits), so the
/// next change cannot be stored.
async fn writer_then_locked(
    s: &AppState,
    dir: &tempfile::TempDir,
    plan: &str,
    token: &str,
) -> (Pipe, rusqlite::Connection) {
    let (editor, _) = participant(s, plan, token, "editor").await;
    let doc: plansync_shared::DocumentId = plan.parse().unwrap();
    let mut pipe = Pipe::open(s, vec![Grant::of(&editor).unwrap()], "writer").await;
    pipe.send(&sync_with_a_change("writer", doc).0);
    assert!(matches!(pipe.next().await, Some(Wire::Sync(_))));
    let other = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    (pipe, other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_is_answered_only_once_the_database_has_stored_it() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let doc: plansync_shared::DocumentId = plan.parse().unwrap();
    let (mut pipe, other) = writer_then_locked(&s, &dir, &plan, &token).await;
    let (change, hash) = sync_with_a_change("writer", doc);
    pipe.send(&change);
    let early = tokio::time::timeout(std::time::Duration::from_millis(600), pipe.rx.next()).await;
    assert!(
        early.is_err(),
        "nothing is sent while the change is not stored: {early:?}"
    );
    other.execute_batch("COMMIT").unwrap();
    let Some(Wire::Sync(answer)) = pipe.next().await else {
        panic!("the change is answered once stored");
    };
    let heads = plansync_shared::automerge::sync::Message::decode(&answer.data)
        .unwrap()
        .heads;
    assert!(
        heads.iter().any(|h| h.to_string() == hash),
        "the answer acknowledges the change"
    );
    let stored = s.store.change_authors(plan.clone()).await.unwrap();
    assert!(stored.iter().any(|(h, _)| *h == hash), "and it is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_request_taken_while_a_change_is_stored_is_answered_once_it_is() {
    use plansync_shared::automerge::sync::{self, SyncDoc};
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let (viewer, _) = participant(&s, &plan, &token, "viewer").await;
    let doc: plansync_shared::DocumentId = plan.parse().unwrap();
    let (writer, other) = writer_then_locked(&s, &dir, &plan, &token).await;
    // The database is locked: the writer's next change waits to be stored...
    writer.send(&sync_with_a_change("writer", doc).0);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // ...while a reader that holds nothing asks for the plan, and nothing else happens.
    let mut reader = Pipe::open(&s, vec![Grant::of(&viewer).unwrap()], "reader").await;
    let mut empty = plansync_shared::automerge::AutoCommit::new();
    let ask = empty
        .sync()
        .generate_sync_message(&mut sync::State::new())
        .expect("a first message");
    reader.send(&Wire::Request(plansync_shared::DocMessage {
        sender_id: PeerId("reader".into()),
        target_id: PeerId("server".into()),
        document_id: doc,
        data: ask.encode(),
    }));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    other.execute_batch("COMMIT").unwrap();
    let Some(Wire::Sync(answer)) = reader.next().await else {
        panic!("the reader is answered once the change is stored");
    };
    let plan_sent = sync::Message::decode(&answer.data).unwrap();
    assert!(!plan_sent.changes.is_empty(), "with the plan");
}
