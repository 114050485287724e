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

#[tokio::test]
async fn a_backup_counts_what_the_plan_holds_and_a_damaged_one_fails_its_check_and_is_never_restored(
) {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, _token) = owner(&s).await;
    let db = dir.path().join("t.db");
    let good = dir.path().join("good.db");
    let file = crate::backup::backup(&db, &good).unwrap();
    assert!(file.problems.is_empty() && file.schema == file.knows);
    let refused = crate::backup::backup(&db, &good).unwrap_err();
    assert!(
        refused.to_string().contains("nothing was overwritten"),
        "{refused}"
    );

    let check = crate::backup::check(&Location::Sqlite(good.clone()))
        .await
        .unwrap();
    assert!(check.ok(), "{:?}", check.problems());
    assert_eq!(check.plans.len(), 1);
    assert_eq!(check.plans[0].id, plan);
    assert_eq!(check.plans[0].participants, 1, "the owner who joined");
    assert!(check.plans[0].changes > 0);

    // The middle of a copy overwritten, as a failing disk might.
    let damaged = dir.path().join("damaged.db");
    let mut bytes = std::fs::read(&good).unwrap();
    let (from, to) = (bytes.len() / 3, 2 * bytes.len() / 3);
    for (i, b) in bytes[from..to].iter_mut().enumerate() {
        *b = (i * 37 % 251) as u8;
    }
    std::fs::write(&damaged, &bytes).unwrap();
    let found = crate::backup::check(&Location::Sqlite(damaged.clone())).await;
    assert!(
        !matches!(&found, Ok(c) if c.ok()),
        "a damaged backup fails its check: {found:?}"
    );

    // Restoring it over a good database refuses and changes nothing.
    let target = dir.path().join("target.db");
    std::fs::copy(&good, &target).unwrap();
    let refused = crate::backup::restore(&damaged, &target, 1).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("not a usable Plansync database"),
        "{refused}"
    );
    assert_eq!(
        std::fs::read(&target).unwrap(),
        std::fs::read(&good).unwrap()
    );
    let restored = crate::backup::restore(&good, &target, 2).unwrap();
    assert!(restored.kept.is_some(), "the database replaced is kept");
    let check = crate::backup::check(&Location::Sqlite(target))
        .await
        .unwrap();
    assert!(check.ok() && check.plans.len() == 1);
}
