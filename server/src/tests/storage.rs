//! Storage that fails under the service: a full disk, a read-only file system.

use super::*;

/// Makes the disk fail with `fault` (SQL run on the service's own connection) once an
/// editor is connected, then sends edits until the server refuses one; returns what it said.
async fn edit_until_refused(
    s: &AppState,
    db: &store::Sqlite,
    plan: &str,
    token: &str,
    fault: String,
) -> String {
    let (editor, _) = participant(s, plan, token, "editor").await;
    let doc = plan.parse().unwrap();
    let mut pipe = Pipe::open(s, vec![Grant::of(&editor).unwrap()], "editor-peer").await;
    db.execute_on_writer(fault).await.unwrap();
    for i in 0..200 {
        use plansync_shared::automerge::{sync, transaction::Transactable, ROOT};
        let mut d = plansync_shared::automerge::AutoCommit::new();
        d.put(ROOT, format!("k{i}"), "x".repeat(4000)).unwrap();
        let change = d.get_last_local_change().unwrap().raw_bytes().to_vec();
        let msg = sync::Message {
            heads: d.get_heads(),
            need: vec![],
            have: vec![],
            changes: vec![change].into(),
            flags: None,
            version: sync::MessageVersion::V1,
        };
        pipe.send(&Wire::Sync(plansync_shared::DocMessage {
            sender_id: PeerId("editor-peer".into()),
            target_id: PeerId("server".into()),
            document_id: doc,
            data: msg.encode(),
        }));
        match pipe.next().await {
            Some(Wire::Error { message, .. }) => return message,
            Some(_) => {}
            None => return "closed without a word".into(),
        }
    }
    panic!("200 edits of 4 KB fitted on a disk that was meant to be full");
}

/// Every change the server recorded as accepted is in the document it has stored.
async fn every_accepted_change_is_stored(s: &AppState, plan: &str) -> usize {
    let authors = s.store.change_authors(plan.to_string()).await.unwrap();
    let doc: plansync_shared::DocumentId = plan.parse().unwrap();
    let bytes = s.store.load(doc).await.unwrap().unwrap().bytes;
    let mut d = plansync_shared::automerge::AutoCommit::load(&bytes).unwrap();
    for (hash, _) in &authors {
        let h: plansync_shared::automerge::ChangeHash = hash.parse().unwrap();
        assert!(
            d.get_change_by_hash(&h).is_some(),
            "accepted change {hash} is stored"
        );
    }
    authors.len()
}

#[tokio::test]
async fn a_full_disk_refuses_the_change_with_a_clear_error_and_loses_nothing_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(&dir).await;
    let s = state_on(&dir, db.clone()).await;
    let (plan, token) = owner(&s).await;
    let pages = db.page_count().await.unwrap();
    // The file may grow by a few pages only: SQLite then reports "database or disk is full".
    let fault = format!("PRAGMA max_page_count = {};", pages + 8);
    let said = edit_until_refused(&s, &db, &plan, &token, fault).await;
    assert!(
        said.contains("could not save changes") && said.contains("full"),
        "{said}"
    );
    let accepted = every_accepted_change_is_stored(&s, &plan).await;
    assert!(accepted > 1, "some edits fitted before the disk filled");
}

#[tokio::test]
async fn a_file_system_turned_read_only_refuses_the_change_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(&dir).await;
    let s = state_on(&dir, db.clone()).await;
    let (plan, token) = owner(&s).await;
    let said = edit_until_refused(&s, &db, &plan, &token, "PRAGMA query_only = ON;".into()).await;
    assert!(
        said.contains("could not save changes") && said.contains("readonly"),
        "{said}"
    );
    every_accepted_change_is_stored(&s, &plan).await;
}
