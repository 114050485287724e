//! The storage interface's tests, run against both backends: SQLite in a temporary file and
//! PostgreSQL in a private cluster the test starts. Rules that need several rows are raced
//! from several tasks at once.

use plansync_server::store::{
    self, ChunkId, Location, NewInvitation, NewParticipant, RoleChange, Store,
};
use plansync_server::{
    hash_token, JoinError, JoinRefused, LinkOutcome, NewPersonLink, ParticipantId, Role,
};
use plansync_shared::automerge::AutoCommit;
use plansync_shared::{
    demo_plan, plan_summary, DocumentId, PersonId, PersonLink, PlanDoc, TextField,
};
use plansync_tests::postgres::Cluster;
use rand::{rngs::StdRng, SeedableRng};

/// An open store and what keeps it alive (its folder or cluster).
struct Db {
    location: Location,
    store: Store,
    _keep: Box<dyn std::any::Any + Send>,
    cluster: Option<std::sync::Arc<Cluster>>,
}

impl Db {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Sqlite(dir.path().join("s.db"));
        let store = store::open(&location).await.unwrap();
        Self {
            location,
            store,
            _keep: Box::new(dir),
            cluster: None,
        }
    }

    async fn postgres() -> Self {
        let cluster =
            std::sync::Arc::new(tokio::task::spawn_blocking(Cluster::start).await.unwrap());
        let url = cluster.database("plansync");
        let location = Location::Postgres(url);
        let store = store::open(&location).await.unwrap();
        Self {
            location,
            store,
            _keep: Box::new(()),
            cluster: Some(cluster),
        }
    }

    /// A second, independent handle on the same database (another node).
    async fn another_node(&self) -> Store {
        store::open(&self.location).await.unwrap()
    }
}

/// Runs each test body once on SQLite and once on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(super::Db::sqlite().await).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(super::Db::postgres().await).await
            })*
        }
    };
}

on_both_backends!(
    appended_chunks_load_back_and_compaction_keeps_every_change,
    compaction_deletes_only_the_chunks_it_read_so_two_nodes_compacting_at_once_lose_nothing,
    load_after_gives_only_the_chunks_appended_since,
    a_plan_always_keeps_an_owner_even_when_two_owners_demote_each_other_at_once,
    a_one_use_invitation_redeemed_by_many_at_once_admits_exactly_one,
    an_invitation_gives_its_uses_then_refuses_and_expired_or_revoked_ones_refuse,
    tokens_are_found_by_their_hash_only_and_revoked_ones_not_at_all,
    an_owner_invitation_is_made_only_for_a_plan_without_an_owner_or_a_usable_owner_link,
    one_start_claims_a_new_databases_first_plan_and_another_only_once_the_claim_is_stale,
    snapshots_and_change_authors_read_back_with_their_participants,
    the_storage_id_is_made_once_and_kept_by_every_node,
    a_database_with_a_newer_schema_is_refused_with_a_clear_error,
    relayed_authors_pulled_snapshots_and_relay_progress_read_back,
    a_plan_person_is_linked_to_one_participant_even_when_two_claim_them_at_once_on_two_nodes,
    links_are_confirmed_shared_by_owners_and_gone_with_a_removed_participant,
    an_email_address_is_kept_for_a_current_participant_replaced_and_gone_with_them,
    each_reminder_is_taken_by_one_node_once_sent_never_again_and_a_failed_one_after_its_wait,
    a_sign_in_joins_once_finds_its_participants_again_and_its_flows_codes_and_sessions_are_taken_once,
    a_check_loads_every_plan_counts_what_it_holds_and_finds_a_snapshot_of_a_missing_version,
);

fn demo() -> (PlanDoc, DocumentId) {
    let mut r = StdRng::seed_from_u64(1);
    (demo_plan(&mut r).unwrap(), DocumentId::random(&mut r))
}

/// Makes one change to the plan and returns it as an appendable chunk.
fn edit(
    plan: &mut PlanDoc,
    heads: &mut Vec<plansync_shared::automerge::ChangeHash>,
    i: usize,
) -> Vec<u8> {
    let action = plan.read().unwrap().themes[0].objectives[0].actions[0]
        .id
        .clone();
    plan.splice_text(&TextField::ActionTitle(action), 0, 0, &format!("{i} "))
        .unwrap();
    plan.commit();
    let chunk = plan.automerge_mut().save_after(heads);
    *heads = plan.automerge_mut().get_heads();
    chunk
}

fn loads_as(bytes: &[u8], plan: &PlanDoc) {
    let loaded = AutoCommit::load(bytes).unwrap();
    assert_eq!(
        PlanDoc::from_automerge(loaded).unwrap().read().unwrap(),
        plan.read().unwrap()
    );
}

async fn appended_chunks_load_back_and_compaction_keeps_every_change(db: Db) {
    let s = &db.store;
    let (mut plan, doc) = demo();
    let mut heads = vec![];
    let mut covered = vec![];
    let mut compactions = 0;
    for i in 0..150 {
        let chunk = edit(&mut plan, &mut heads, i);
        let summary = plan_summary(plan.automerge());
        let appended = s
            .append(doc, chunk, vec![], summary, i as i64)
            .await
            .unwrap();
        covered.push(appended.chunk);
        if appended.compact {
            let made = s
                .compact(
                    doc,
                    plan.automerge_mut().save(),
                    std::mem::take(&mut covered),
                )
                .await
                .unwrap();
            covered.push(made);
            compactions += 1;
        }
    }
    assert!(compactions > 0, "150 increments must compact");
    assert!(s.chunk_count(doc).await.unwrap() < 128);
    loads_as(&s.load(doc).await.unwrap().unwrap().bytes, &plan);
    let plans = s.plans().await.unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].url, format!("automerge:{doc}"));
    assert_eq!(plans[0].updated, 149);
    assert!(s
        .load(DocumentId::random(&mut rand::rng()))
        .await
        .unwrap()
        .is_none());
}

async fn compaction_deletes_only_the_chunks_it_read_so_two_nodes_compacting_at_once_lose_nothing(
    db: Db,
) {
    let (a, b) = (db.store.clone(), db.another_node().await);
    let (mut plan, doc) = demo();
    let mut heads = vec![];
    for i in 0..20 {
        a.append(doc, edit(&mut plan, &mut heads, i), vec![], None, 1)
            .await
            .unwrap();
    }
    // Each node read everything so far and compacts it, while more changes arrive.
    let read_a = a.load(doc).await.unwrap().unwrap();
    let read_b = b.load(doc).await.unwrap().unwrap();
    let snapshot_a = AutoCommit::load(&read_a.bytes).unwrap().save();
    let snapshot_b = AutoCommit::load(&read_b.bytes).unwrap().save();
    let late = edit(&mut plan, &mut heads, 99);
    let (ra, rb, rl) = tokio::join!(
        a.compact(doc, snapshot_a, read_a.chunks.clone()),
        b.compact(doc, snapshot_b, read_b.chunks.clone()),
        b.append(doc, late, vec![], None, 2),
    );
    ra.unwrap();
    rb.unwrap();
    rl.unwrap();
    let stored = a.load(doc).await.unwrap().unwrap();
    assert!(
        stored.chunks.iter().all(|c| !read_a.chunks.contains(c)),
        "the chunks read are gone"
    );
    loads_as(&stored.bytes, &plan);
}

async fn load_after_gives_only_the_chunks_appended_since(db: Db) {
    let s = &db.store;
    let (mut plan, doc) = demo();
    let mut heads = vec![];
    let first = s
        .append(doc, edit(&mut plan, &mut heads, 0), vec![], None, 1)
        .await
        .unwrap();
    let mut expected = vec![];
    for i in 1..4 {
        expected.push(
            s.append(doc, edit(&mut plan, &mut heads, i), vec![], None, 1)
                .await
                .unwrap()
                .chunk,
        );
    }
    let after = s.load_after(doc, first.chunk).await.unwrap();
    assert_eq!(after.chunks, expected);
    assert!(expected.windows(2).all(|w| w[0] < w[1]));
    let nothing = s.load_after(doc, *expected.last().unwrap()).await.unwrap();
    assert!(nothing.chunks.is_empty() && nothing.bytes.is_empty());
    assert!(s.load_after(doc, ChunkId(0)).await.unwrap().chunks.len() == 4);
}

async fn person(s: &Store, plan: &str, name: &str, role: Role) -> ParticipantId {
    s.add_participant(
        NewParticipant {
            plan: plan.into(),
            name: name.into(),
            agency: "Council".into(),
            role,
            kind: Default::default(),
            token_hash: hash_token(&format!("{plan}-{name}")),
        },
        1,
    )
    .await
    .unwrap()
    .id
}

async fn a_plan_always_keeps_an_owner_even_when_two_owners_demote_each_other_at_once(db: Db) {
    let (a, b) = (db.store.clone(), db.another_node().await);
    for round in 0..10 {
        let plan = format!("plan-{round}");
        let one = person(&a, &plan, "one", Role::Owner).await;
        let two = person(&a, &plan, "two", Role::Owner).await;
        let (x, y) = tokio::join!(
            a.set_role(plan.clone(), one, Role::Editor),
            if round % 2 == 0 {
                b.set_role(plan.clone(), two, Role::Viewer)
            } else {
                b.revoke_participant(plan.clone(), two, 5)
            },
        );
        let mut outcomes = [x.unwrap(), y.unwrap()];
        outcomes.sort_by_key(|o| *o as u8);
        assert_eq!(
            outcomes,
            [RoleChange::Changed, RoleChange::LastOwner],
            "round {round}"
        );
        let owners = a
            .participants(plan.clone())
            .await
            .unwrap()
            .iter()
            .filter(|p| p.role == Role::Owner)
            .count();
        assert_eq!(owners, 1, "round {round}");
    }
    let plan = "plan-0".to_string();
    let ghost = ParticipantId(999_999);
    assert_eq!(
        a.set_role(plan.clone(), ghost, Role::Owner).await.unwrap(),
        RoleChange::NotFound
    );
    // Promoting is always allowed, and then the other may step down.
    let people = a.participants(plan.clone()).await.unwrap();
    let demoted = people.iter().find(|p| p.role != Role::Owner).unwrap().id;
    let owner = people.iter().find(|p| p.role == Role::Owner).unwrap().id;
    assert_eq!(
        a.set_role(plan.clone(), demoted, Role::Owner)
            .await
            .unwrap(),
        RoleChange::Changed
    );
    assert_eq!(
        a.revoke_participant(plan.clone(), owner, 9).await.unwrap(),
        RoleChange::Changed
    );
}

async fn an_email_address_is_kept_for_a_current_participant_replaced_and_gone_with_them(db: Db) {
    let s = db.store.clone();
    let plan = "plan-mail".to_string();
    let lead = person(&s, &plan, "lead", Role::Editor).await;
    assert!(s
        .set_email(plan.clone(), lead, Some(("a@council.gov.uk".into(), true)))
        .await
        .unwrap());
    assert!(s
        .set_email(plan.clone(), lead, Some(("b@council.gov.uk".into(), false)))
        .await
        .unwrap());
    let kept = s.emails(plan.clone()).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].email.as_str(), kept[0].reminders),
        ("b@council.gov.uk", false)
    );
    assert!(
        !s.set_email(
            plan.clone(),
            ParticipantId(999_999),
            Some(("c@x.gov.uk".into(), true))
        )
        .await
        .unwrap(),
        "no such participant"
    );
    s.revoke_participant(plan.clone(), lead, 5).await.unwrap();
    assert!(s.emails(plan.clone()).await.unwrap().is_empty());
}

fn link(plan: &str, who: ParticipantId, person: &str, owner: bool, shared: bool) -> NewPersonLink {
    NewPersonLink {
        plan: plan.into(),
        participant: who,
        person: person.into(),
        confirmed: owner,
        shared,
    }
}

async fn a_plan_person_is_linked_to_one_participant_even_when_two_claim_them_at_once_on_two_nodes(
    db: Db,
) {
    let (a, b) = (db.store.clone(), db.another_node().await);
    for round in 0..10 {
        let plan = format!("plan-{round}");
        let one = person(&a, &plan, "one", Role::Editor).await;
        let two = person(&a, &plan, "two", Role::Editor).await;
        let (x, y) = tokio::join!(
            a.link_person(link(&plan, one, "pe-chair", false, false), 1),
            b.link_person(link(&plan, two, "pe-chair", false, false), 1),
        );
        let outcomes = [x.unwrap(), y.unwrap()];
        let linked = outcomes
            .iter()
            .filter(|o| **o == LinkOutcome::Linked)
            .count();
        assert_eq!(linked, 1, "round {round}: {outcomes:?}");
        let taken = outcomes
            .iter()
            .find(|o| **o != LinkOutcome::Linked)
            .unwrap();
        assert!(
            matches!(taken, LinkOutcome::Taken(name) if name == "one" || name == "two"),
            "{taken:?}"
        );
        let links = a.person_links(plan.clone()).await.unwrap();
        assert_eq!(links.len(), 1, "round {round}");
        assert!(!links[0].confirmed, "an editor's claim waits for an owner");
    }
    // Not a participant of that plan: nothing is linked.
    assert_eq!(
        a.link_person(
            link("plan-0", ParticipantId(999_999), "pe-x", true, false),
            1
        )
        .await
        .unwrap(),
        LinkOutcome::NotFound
    );
}

async fn each_reminder_is_taken_by_one_node_once_sent_never_again_and_a_failed_one_after_its_wait(
    db: Db,
) {
    let (a, b) = (db.store.clone(), db.another_node().await);
    let keys: Vec<(String, i64)> = (0..40).map(|i| (format!("p/r/7/{i}"), i)).collect();
    let plan = "p".to_string();
    // Two nodes take the same 40 reminders at once: each goes to exactly one of them.
    let (x, y) = tokio::join!(
        a.take_reminders(plan.clone(), keys.clone(), 1_000, 61_000),
        b.take_reminders(plan.clone(), keys.clone(), 1_000, 61_000),
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.len() + y.len(), 40, "{} + {}", x.len(), y.len());
    assert!(x.iter().all(|k| !y.contains(k)), "no reminder taken twice");
    // Held: nobody takes them again before the hold runs out.
    assert!(a
        .take_reminders(plan.clone(), keys.clone(), 60_000, 120_000)
        .await
        .unwrap()
        .is_empty());
    let mut all = [x, y].concat();
    all.sort();
    let (sent, rest) = all.split_at(20);
    a.reminders_sent(sent.to_vec(), 2_000).await.unwrap();
    // One failed (it waits until 70,000); the sender of the rest stopped.
    let failed = rest[0].clone();
    b.reminder_retry(failed.clone(), 70_000, Some("550 no such mailbox".into()))
        .await
        .unwrap();
    let again = a
        .take_reminders(plan.clone(), keys.clone(), 65_000, 200_000)
        .await
        .unwrap();
    assert_eq!(
        again.len(),
        rest.len() - 1,
        "the stopped sender's, not the sent nor the waiting one"
    );
    assert!(!again.contains(&failed) && again.iter().all(|k| !sent.contains(k)));
    let later = b
        .take_reminders(plan.clone(), keys.clone(), 70_000, 200_000)
        .await
        .unwrap();
    assert_eq!(
        later,
        vec![failed.clone()],
        "the failed one, after its wait"
    );
    // A reminder refused again and again is given up: never taken again.
    // It has failed once; after MAX_REMINDER_TRIES failures in all, it is given up.
    for i in 1..store::MAX_REMINDER_TRIES {
        let t = 300_000 + i * 1_000;
        assert_eq!(
            a.take_reminders(plan.clone(), vec![(failed.clone(), 0)], t, t + 500)
                .await
                .unwrap()
                .len(),
            1,
            "try {i}"
        );
        a.reminder_retry(failed.clone(), t + 500, Some("550".into()))
            .await
            .unwrap();
    }
    assert!(a
        .take_reminders(plan, vec![(failed, 0)], 10_000_000, 10_000_500)
        .await
        .unwrap()
        .is_empty());
}

async fn links_are_confirmed_shared_by_owners_and_gone_with_a_removed_participant(db: Db) {
    let s = db.store.clone();
    let plan = "plan-links".to_string();
    let owner = person(&s, &plan, "owner", Role::Owner).await;
    let lead = person(&s, &plan, "lead", Role::Editor).await;
    let deputy = person(&s, &plan, "deputy", Role::Editor).await;
    assert_eq!(
        s.link_person(link(&plan, lead, "pe-a", false, false), 1)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    // The deputy's claim to the same person is refused, naming who has it...
    assert_eq!(
        s.link_person(link(&plan, deputy, "pe-a", false, false), 2)
            .await
            .unwrap(),
        LinkOutcome::Taken("lead".into())
    );
    // ...and so is an owner's link without saying it is shared.
    assert_eq!(
        s.link_person(link(&plan, deputy, "pe-a", true, false), 3)
            .await
            .unwrap(),
        LinkOutcome::Taken("lead".into())
    );
    // An owner confirms the lead's claim: the same link, now confirmed.
    assert_eq!(
        s.link_person(link(&plan, lead, "pe-a", true, false), 4)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    // An owner links the deputy too, saying the person is shared.
    assert_eq!(
        s.link_person(link(&plan, deputy, "pe-a", true, true), 5)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    s.link_person(link(&plan, owner, "pe-b", true, false), 6)
        .await
        .unwrap();
    let mut links = s.person_links(plan.clone()).await.unwrap();
    links.sort_by_key(|l| (l.participant, l.person.clone()));
    let expect = |participant: ParticipantId, person: &str, confirmed, shared| PersonLink {
        participant: participant.0,
        person: PersonId::new(person),
        confirmed,
        shared,
    };
    assert_eq!(
        links,
        vec![
            expect(owner, "pe-b", true, false),
            expect(lead, "pe-a", true, true),
            expect(deputy, "pe-a", true, true),
        ]
    );
    // A later claim by an editor never takes a confirmation away.
    s.link_person(link(&plan, lead, "pe-a", false, false), 7)
        .await
        .unwrap();
    assert!(s
        .person_links(plan.clone())
        .await
        .unwrap()
        .iter()
        .any(|l| l.participant == lead.0 && l.confirmed));
    // Removing the lead removes their links; unlinking takes one link away.
    assert_eq!(
        s.revoke_participant(plan.clone(), lead, 8).await.unwrap(),
        RoleChange::Changed
    );
    assert!(s
        .unlink_person(plan.clone(), deputy, "pe-a".into())
        .await
        .unwrap());
    assert!(!s
        .unlink_person(plan.clone(), deputy, "pe-a".into())
        .await
        .unwrap());
    let links = s.person_links(plan.clone()).await.unwrap();
    assert_eq!(links, vec![expect(owner, "pe-b", true, false)]);
    // With the lead gone, the person is free for another participant.
    assert_eq!(
        s.link_person(link(&plan, deputy, "pe-a", false, false), 9)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
}

async fn a_one_use_invitation_redeemed_by_many_at_once_admits_exactly_one(db: Db) {
    let node = db.another_node().await;
    let inv = db
        .store
        .create_invitation(
            NewInvitation {
                plan: "p".into(),
                role: Role::Editor,
                code: "AAAA-AAAA-AA".into(),
                expires_ms: 1_000,
                uses: 1,
                sign_in: plansync_shared::SignInRule::Code,
            },
            1,
        )
        .await
        .unwrap();
    let tries = (0..8).map(|i| {
        let s = if i % 2 == 0 {
            db.store.clone()
        } else {
            node.clone()
        };
        let code = inv.code.clone();
        tokio::spawn(async move {
            s.redeem(code, format!("p{i}"), "Council".into(), format!("h{i}"), 10)
                .await
        })
    });
    let mut admitted = 0;
    for t in tries {
        match t.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(JoinError::Refused(JoinRefused::UsedUp)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(admitted, 1);
    assert_eq!(db.store.participants("p".into()).await.unwrap().len(), 1);
}

async fn an_invitation_gives_its_uses_then_refuses_and_expired_or_revoked_ones_refuse(db: Db) {
    let s = &db.store;
    let new = |code: &str, role, uses| NewInvitation {
        plan: "plan".into(),
        role,
        code: code.into(),
        expires_ms: 100,
        uses,
        sign_in: plansync_shared::SignInRule::Code,
    };
    let inv = s
        .create_invitation(new("AAAA-AAAA-AA", Role::Editor, 2), 1)
        .await
        .unwrap();
    for i in 0..2 {
        let p = s
            .redeem(
                inv.code.clone(),
                "Analyst".into(),
                "Council".into(),
                format!("h{i}"),
                10,
            )
            .await
            .unwrap();
        assert_eq!(p.role, Role::Editor);
    }
    assert!(matches!(
        s.redeem(inv.code.clone(), "x".into(), "y".into(), "h9".into(), 10)
            .await,
        Err(JoinError::Refused(JoinRefused::UsedUp))
    ));
    let late = s
        .create_invitation(new("CCCC-CCCC-CC", Role::Viewer, 5), 1)
        .await
        .unwrap();
    assert!(matches!(
        s.redeem(late.code, "x".into(), "y".into(), "h8".into(), 100)
            .await,
        Err(JoinError::Refused(JoinRefused::Expired))
    ));
    let gone = s
        .create_invitation(new("DDDD-DDDD-DD", Role::Viewer, 5), 1)
        .await
        .unwrap();
    assert_eq!(
        s.invitations("plan".into(), 10).await.unwrap().len(),
        2,
        "used-up ones are not listed"
    );
    assert!(s
        .revoke_invitation("plan".into(), gone.id, 2)
        .await
        .unwrap());
    assert!(!s
        .revoke_invitation("plan".into(), gone.id, 2)
        .await
        .unwrap());
    assert!(matches!(
        s.redeem(gone.code, "x".into(), "y".into(), "h7".into(), 10)
            .await,
        Err(JoinError::Refused(JoinRefused::Unknown))
    ));
    assert!(matches!(
        s.redeem(
            "EEEE-EEEE-EE".into(),
            "x".into(),
            "y".into(),
            "h6".into(),
            10
        )
        .await,
        Err(JoinError::Refused(JoinRefused::Unknown))
    ));
    assert_eq!(s.participants("plan".into()).await.unwrap().len(), 2);
}

async fn tokens_are_found_by_their_hash_only_and_revoked_ones_not_at_all(db: Db) {
    let s = &db.store;
    let token = "a".repeat(64);
    let p = s
        .add_participant(
            NewParticipant {
                plan: "plan".into(),
                name: "Chair".into(),
                agency: "Police".into(),
                role: Role::Owner,
                kind: Default::default(),
                token_hash: hash_token(&token),
            },
            1,
        )
        .await
        .unwrap();
    let other = person(s, "plan", "deputy", Role::Owner).await;
    assert_eq!(
        s.participant_by_token(hash_token(&token), 0)
            .await
            .unwrap()
            .unwrap()
            .id,
        p.id
    );
    assert!(s
        .participant_by_token(token.clone(), 0)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.revoke_participant("plan".into(), p.id, 5).await.unwrap(),
        RoleChange::Changed
    );
    assert!(s
        .participant_by_token(hash_token(&token), 0)
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.participants("plan".into()).await.unwrap()[0].id, other);
    if let Location::Sqlite(path) = &db.location {
        drop(db.store);
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
        assert!(
            !bytes.windows(64).any(|w| w == token.as_bytes()),
            "the token is not stored"
        );
    }
}

async fn an_owner_invitation_is_made_only_for_a_plan_without_an_owner_or_a_usable_owner_link(
    db: Db,
) {
    use plansync_server::OwnerLink;
    let s = &db.store;
    let inv = |code: &str| NewInvitation {
        plan: "plan".into(),
        role: Role::Owner,
        code: code.into(),
        expires_ms: if code.starts_with('A') { 1_000 } else { 9_000 },
        uses: 1,
        sign_in: plansync_shared::SignInRule::Code,
    };
    let OwnerLink::Made(first) = s
        .owner_invitation_if_none(inv("AAAA-AAAA-AA"), 1)
        .await
        .unwrap()
    else {
        panic!("the first start makes the link");
    };
    // Another start (another node's, or a restart) leaves it working and makes none.
    assert_eq!(
        s.owner_invitation_if_none(inv("CCCC-CCCC-CC"), 2)
            .await
            .unwrap(),
        OwnerLink::Pending
    );
    let usable = s.invitations("plan".into(), 3).await.unwrap();
    assert_eq!(
        usable.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![first.id],
        "the first link still works, and only it"
    );
    // Once it has expired, a start makes a new one.
    let OwnerLink::Made(second) = s
        .owner_invitation_if_none(inv("DDDD-DDDD-DD"), 1_001)
        .await
        .unwrap()
    else {
        panic!("an expired link is replaced");
    };
    s.redeem(
        second.code,
        "Chair".into(),
        "Police".into(),
        "h".into(),
        1_002,
    )
    .await
    .unwrap();
    assert_eq!(
        s.owner_invitation_if_none(inv("EEEE-EEEE-EE"), 1_003)
            .await
            .unwrap(),
        OwnerLink::HasOwner
    );
}

async fn one_start_claims_a_new_databases_first_plan_and_another_only_once_the_claim_is_stale(
    db: Db,
) {
    let s = &db.store;
    assert!(
        s.claim_first_plan(0).await.unwrap(),
        "the first start claims it"
    );
    assert!(
        !s.claim_first_plan(10).await.unwrap(),
        "a start meanwhile does not"
    );
    assert!(
        s.claim_first_plan(plansync_server::FIRST_PLAN_CLAIM_MS + 1)
            .await
            .unwrap(),
        "a claim that made no plan within a minute is taken over"
    );
    let (plan, doc) = demo();
    s.append(
        doc,
        plan.automerge().clone().save(),
        vec![],
        plan_summary(plan.automerge()),
        1,
    )
    .await
    .unwrap();
    assert!(
        !s.claim_first_plan(10 * plansync_server::FIRST_PLAN_CLAIM_MS)
            .await
            .unwrap(),
        "a database with a plan has its first plan"
    );
}

async fn snapshots_and_change_authors_read_back_with_their_participants(db: Db) {
    let s = &db.store;
    let (mut plan, doc) = demo();
    let id = doc.to_string();
    let chair = person(s, &id, "Chair", Role::Owner).await;
    let mut heads = vec![];
    let chunk = edit(&mut plan, &mut heads, 0);
    let hash = heads[0];
    s.append(doc, chunk, vec![(hash, Some(chair))], None, 7)
        .await
        .unwrap();
    let authors = s.authors(id.clone()).await.unwrap();
    assert_eq!(authors[&hash.to_string()].name.as_deref(), Some("Chair"));
    assert_eq!(authors[&hash.to_string()].received_ms, 7);
    assert_eq!(
        s.change_authors(id.clone()).await.unwrap(),
        vec![(hash.to_string(), Some(chair))]
    );
    let other = person(s, &id, "Analyst", Role::Editor).await;
    s.attribute(id.clone(), vec![hash], other, 8).await.unwrap();
    assert_eq!(
        s.change_authors(id.clone()).await.unwrap()[0].1,
        Some(other)
    );
    let a = s
        .add_snapshot(id.clone(), "Draft".into(), heads.clone(), Some(chair), 10)
        .await
        .unwrap();
    let b = s
        .add_snapshot(id.clone(), "Draft".into(), heads.clone(), None, 20)
        .await
        .unwrap();
    assert_eq!(a.author.as_deref(), Some("Chair, Council"));
    assert_eq!(a.heads, vec![hash.to_string()]);
    assert_eq!(b.author, None);
    let list = s.snapshots(id.clone()).await.unwrap();
    assert_eq!(
        list.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![b.id, a.id]
    );
    assert_eq!(
        s.snapshot_named(id.clone(), "Draft".into())
            .await
            .unwrap()
            .unwrap()
            .id,
        b.id
    );
    assert!(s
        .snapshot_named(id.clone(), "Final".into())
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.snapshot(id.clone(), a.id).await.unwrap().unwrap(), a);
    assert!(s
        .snapshot("another plan".into(), a.id)
        .await
        .unwrap()
        .is_none());
}

async fn relayed_authors_pulled_snapshots_and_relay_progress_read_back(db: Db) {
    use plansync_server::store::{PulledSnapshot, RelayProgress, RelayedAuthor};
    let s = &db.store;
    let (mut plan, doc) = demo();
    let id = doc.to_string();
    let laptop = s
        .add_participant(
            NewParticipant {
                plan: id.clone(),
                name: "Workshop laptop".into(),
                agency: "Relaying server".into(),
                role: Role::Editor,
                kind: plansync_server::ParticipantKind::Server,
                token_hash: hash_token("laptop"),
            },
            1,
        )
        .await
        .unwrap();
    assert_eq!(laptop.kind, plansync_server::ParticipantKind::Server);
    assert_eq!(
        s.participant(laptop.id).await.unwrap().unwrap().kind,
        laptop.kind
    );
    let mut heads = vec![];
    let chunk = edit(&mut plan, &mut heads, 0);
    let hash = heads[0].to_string();
    s.append(doc, chunk, vec![(heads[0], Some(laptop.id))], None, 5)
        .await
        .unwrap();
    let before = &s.authors(id.clone()).await.unwrap()[&hash];
    assert!(before.relayed && before.via.is_none());
    assert_eq!(before.name.as_deref(), Some("Workshop laptop"));
    // The relay's report names the person; a later report does not replace it.
    for (name, recorded) in [("Analyst", 1), ("Senior analyst", 0)] {
        let n = s
            .add_relayed(
                id.clone(),
                vec![RelayedAuthor {
                    hash: hash.clone(),
                    name: name.into(),
                    agency: "Police".into(),
                    via: Some("Workshop laptop".into()),
                    known: Some(plansync_shared::Known::Code),
                }],
            )
            .await
            .unwrap();
        assert_eq!(n, recorded, "{name}");
    }
    let after = &s.authors(id.clone()).await.unwrap()[&hash];
    assert_eq!(after.name.as_deref(), Some("Analyst"));
    assert_eq!(after.agency.as_deref(), Some("Police"));
    assert_eq!(after.via.as_deref(), Some("Workshop laptop"));
    assert_eq!(
        after.participant,
        Some(laptop.id.0),
        "still received from the laptop"
    );
    // A pulled snapshot keeps its author's words and is added once.
    let pulled = PulledSnapshot {
        name: "Draft for Panel".into(),
        heads: vec![hash.clone()],
        author: Some("Chair, Office of the PCC".into()),
        created_ms: 9,
    };
    assert!(s
        .add_pulled_snapshot(id.clone(), pulled.clone())
        .await
        .unwrap());
    assert!(!s.add_pulled_snapshot(id.clone(), pulled).await.unwrap());
    let snaps = s.snapshots(id.clone()).await.unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].author.as_deref(), Some("Chair, Office of the PCC"));
    // Relay progress is one row per upstream and plan, replaced in place.
    let mut p = RelayProgress {
        upstream: "http://central.example".into(),
        plan: id.clone(),
        upstream_heads: vec![hash.clone()],
        reached_ms: Some(10),
        sent_ms: None,
        attributed: 1,
    };
    s.set_relay_progress(p.clone()).await.unwrap();
    p.sent_ms = Some(11);
    p.attributed = 2;
    s.set_relay_progress(p.clone()).await.unwrap();
    assert_eq!(s.relay_progress().await.unwrap(), vec![p]);
}

async fn the_storage_id_is_made_once_and_kept_by_every_node(db: Db) {
    let first = db.store.storage_id("one".into()).await.unwrap();
    let node = db.another_node().await;
    let second = node.storage_id("two".into()).await.unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
}

async fn a_database_with_a_newer_schema_is_refused_with_a_clear_error(db: Db) {
    // Opening again migrates nothing and works.
    db.another_node().await;
    match &db.location {
        Location::Sqlite(path) => {
            drop(db.store);
            // user_version is the big-endian u32 at byte 60 of the file's header.
            let mut bytes = std::fs::read(path).unwrap();
            bytes[60..64].copy_from_slice(&99u32.to_be_bytes());
            std::fs::write(path, bytes).unwrap();
        }
        Location::Postgres(_) => {
            let cluster = db.cluster.as_ref().unwrap();
            cluster.psql("plansync", "INSERT INTO schema_migrations VALUES (99, 0)");
        }
    }
    let err = store::open(&db.location).await.err().expect("refused");
    let text = err.to_string();
    assert!(text.contains("newer than this Plansync knows"), "{text}");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.db");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let err = store::open(&Location::Sqlite(path))
        .await
        .err()
        .expect("must refuse");
    assert!(
        err.to_string().contains("not a usable Plansync database"),
        "{err}"
    );
}

#[tokio::test]
async fn a_database_on_a_read_only_file_system_is_a_clear_error_at_start() {
    // procfs refuses new files even to root: a real read-only file system.
    let err = store::open(&Location::Sqlite("/proc/plansync-test.db".into()))
        .await
        .err()
        .expect("must refuse");
    let text = err.to_string();
    assert!(
        text.contains("could not open or create the database /proc/plansync-test.db"),
        "{text}"
    );
    assert!(text.contains("writable"), "{text}");
}

#[tokio::test]
async fn an_unreachable_postgres_is_a_clear_error_naming_the_server_without_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://plansync:secret@127.0.0.1:{port}/plansync");
    let err = store::open(&Location::Postgres(url))
        .await
        .err()
        .expect("must refuse");
    let text = err.to_string();
    assert!(text.contains("plansync:***@127.0.0.1"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("check that PostgreSQL is running"), "{text}");
}

#[test]
fn the_database_option_reads_sqlite_and_postgres_urls_and_refuses_others() {
    assert_eq!(
        Location::parse("plansync.db"),
        Ok(Location::Sqlite("plansync.db".into()))
    );
    assert_eq!(
        Location::parse("sqlite://a/b.db"),
        Ok(Location::Sqlite("a/b.db".into()))
    );
    assert!(matches!(
        Location::parse("postgres://u@h/db"),
        Ok(Location::Postgres(_))
    ));
    assert!(matches!(
        Location::parse("postgresql://u@h/db"),
        Ok(Location::Postgres(_))
    ));
    assert!(Location::parse("mysql://u@h/db")
        .unwrap_err()
        .contains("sqlite://FILE or postgres://"));
    assert!(Location::parse("sqlite://").is_err());
}

async fn a_sign_in_joins_once_finds_its_participants_again_and_its_flows_codes_and_sessions_are_taken_once(
    db: Db,
) {
    use plansync_server::store::{SignInFlow, SignedInPerson};
    use plansync_shared::SignInRule;
    let s = &db.store;
    let invite = |code: &str, rule: SignInRule| NewInvitation {
        plan: "plan".into(),
        role: Role::Editor,
        code: code.into(),
        expires_ms: 1_000,
        uses: 2,
        sign_in: rule,
    };
    s.create_invitation(
        invite("AAAA-AAAA-AA", SignInRule::Provider("riverton".into())),
        1,
    )
    .await
    .unwrap();
    s.create_invitation(invite("CCCC-CCCC-CC", SignInRule::Any), 1)
        .await
        .unwrap();
    // A typed name cannot use an invitation that asks for a sign-in.
    assert!(matches!(
        s.redeem("AAAA-AAAA-AA".into(), "X".into(), "Y".into(), "t".into(), 2)
            .await,
        Err(JoinError::Refused(JoinRefused::SignInRequired))
    ));
    let alice = |provider: &str, issuer: &str| SignedInPerson {
        provider: provider.into(),
        label: format!("{provider} label"),
        agency: "Riverton City Council".into(),
        issuer: issuer.into(),
        subject: "alice".into(),
        name: "Alice Lead".into(),
        email: Some("alice@riverton.test".into()),
    };
    let riverton = alice("riverton", "https://riverton.test");
    // Another provider for a provider-only invitation: refused, nothing made.
    assert!(matches!(
        s.sign_in(
            alice("fire", "https://fire.test"),
            Some("AAAA-AAAA-AA".into()),
            "u1".into(),
            3
        )
        .await,
        Err(JoinError::Refused(JoinRefused::OtherProvider))
    ));
    let joined = s
        .sign_in(
            riverton.clone(),
            Some("AAAA-AAAA-AA".into()),
            "u2".into(),
            4,
        )
        .await
        .unwrap();
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0].name, "Alice Lead");
    assert_eq!(joined[0].signed_in_with.as_deref(), Some("riverton label"));
    assert_eq!(joined[0].last_sign_in, Some(4));
    // Again through the same invitation: the same participant, no second use taken.
    let again = s
        .sign_in(
            riverton.clone(),
            Some("AAAA-AAAA-AA".into()),
            "u3".into(),
            5,
        )
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![joined[0].id]
    );
    let left = s.invitations("plan".into(), 6).await.unwrap();
    assert_eq!(
        left.iter()
            .find(|i| i.code == "AAAA-AAAA-AA")
            .unwrap()
            .uses_left,
        1
    );
    // Without an invitation: found again, last sign-in moved.
    let found = s
        .sign_in(riverton.clone(), None, "u4".into(), 7)
        .await
        .unwrap();
    assert_eq!(found[0].last_sign_in, Some(7));
    // The same subject from another issuer is someone else: nothing found, then its own
    // participant through an invitation for any provider.
    let fire = alice("fire", "https://fire.test");
    assert!(s
        .sign_in(fire.clone(), None, "u5".into(), 8)
        .await
        .unwrap()
        .is_empty());
    let second = s
        .sign_in(fire, Some("CCCC-CCCC-CC".into()), "u6".into(), 9)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].id, joined[0].id);
    assert_eq!(s.participants("plan".into()).await.unwrap().len(), 2);

    // A flow is taken once, and not after ten minutes.
    let flow = |state: &str, at: i64| SignInFlow {
        state_hash: state.into(),
        browser_hash: "b".into(),
        provider: "riverton".into(),
        verifier: "v".into(),
        nonce: "n".into(),
        invitation: None,
        return_to: "/#/".into(),
        created_ms: at,
    };
    s.begin_sign_in(flow("s1", 1_000)).await.unwrap();
    s.begin_sign_in(flow("s2", 1_000)).await.unwrap();
    assert_eq!(
        s.take_sign_in("s1".into(), 2_000).await.unwrap(),
        Some(flow("s1", 1_000))
    );
    assert_eq!(s.take_sign_in("s1".into(), 2_000).await.unwrap(), None);
    assert_eq!(
        s.take_sign_in("s2".into(), 1_000 + 11 * 60_000)
            .await
            .unwrap(),
        None
    );
    // A hand-off code likewise, and not after it expires.
    s.add_handoff("h1".into(), vec![joined[0].id], "/#/plan/x".into(), 5_000)
        .await
        .unwrap();
    s.add_handoff("h2".into(), vec![joined[0].id], "/#/".into(), 5_000)
        .await
        .unwrap();
    assert_eq!(
        s.take_handoff("h1".into(), 4_000).await.unwrap(),
        Some((vec![joined[0].id], "/#/plan/x".to_string()))
    );
    assert_eq!(s.take_handoff("h1".into(), 4_000).await.unwrap(), None);
    assert_eq!(s.take_handoff("h2".into(), 5_001).await.unwrap(), None);
    // A session's token finds its participant until it ends, or is ended, or they leave.
    s.add_session("tok".into(), joined[0].id, 10, 100)
        .await
        .unwrap();
    s.add_session("tok2".into(), joined[0].id, 10, 100)
        .await
        .unwrap();
    let by = s
        .participant_by_token("tok".into(), 50)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((by.id, by.session_ends), (joined[0].id, Some(100)));
    assert!(s
        .participant_by_token("tok".into(), 100)
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.end_sessions(vec!["tok".into()]).await.unwrap(), 1);
    assert!(s
        .participant_by_token("tok".into(), 50)
        .await
        .unwrap()
        .is_none());
    assert!(s
        .participant_by_token("tok2".into(), 50)
        .await
        .unwrap()
        .is_some());
    s.revoke_participant("plan".into(), joined[0].id, 60)
        .await
        .unwrap();
    assert!(s
        .participant_by_token("tok2".into(), 61)
        .await
        .unwrap()
        .is_none());
    assert!(s
        .sign_in(riverton, None, "u7".into(), 62)
        .await
        .unwrap()
        .is_empty());
}

async fn a_check_loads_every_plan_counts_what_it_holds_and_finds_a_snapshot_of_a_missing_version(
    db: Db,
) {
    let s = &db.store;
    let (mut plan, doc) = demo();
    let id = doc.to_string();
    s.append(
        doc,
        plan.automerge().clone().save(),
        vec![],
        plan_summary(plan.automerge()),
        1,
    )
    .await
    .unwrap();
    let chair = person(s, &id, "Chair", Role::Owner).await;
    let mut heads = plan.automerge_mut().get_heads();
    let chunk = edit(&mut plan, &mut heads, 0);
    s.append(doc, chunk, vec![(heads[0], Some(chair))], None, 2)
        .await
        .unwrap();
    let check = plansync_server::backup::check(&db.location).await.unwrap();
    assert!(check.ok(), "{:?}", check.problems());
    assert_eq!(check.schema.0, check.schema.1);
    let p = &check.plans[0];
    assert_eq!((p.participants, p.authors), (1, 1));
    assert_eq!(p.changes, plan.automerge_mut().get_changes(&[]).len());

    // A snapshot naming a version the document does not hold is found.
    let missing = plansync_shared::automerge::ChangeHash([0xab; 32]);
    s.add_snapshot(id.clone(), "Draft".into(), vec![missing], Some(chair), 3)
        .await
        .unwrap();
    let check = plansync_server::backup::check(&db.location).await.unwrap();
    assert!(!check.ok());
    assert!(
        check.problems()[0].contains("snapshot \"Draft\" names a version the plan does not hold"),
        "{:?}",
        check.problems()
    );
}

/// The upgrade fixtures: databases the previous release wrote (`tests/fixtures/upgrade/`).
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/upgrade")
        .join(name)
}

/// Starts this build on a database the previous release wrote (already in place for
/// `backing`) and checks that every plan, participant, snapshot and change author it held
/// is there, that its editor still syncs, and that `plansync check` passes.
async fn opens_what_the_previous_release_wrote(backing: plansync_tests::Backing) {
    let name = backing.name();
    let before: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture(&format!("{name}.json"))).unwrap()).unwrap();
    // The owner who joined under the previous release.
    std::fs::write(
        backing.db().with_extension("owner-token"),
        before["owner_token"].as_str().unwrap(),
    )
    .unwrap();
    let server = backing.start(&[]);
    let plan = before["plan"].as_str().unwrap();
    let get = |path: String| {
        let (status, body) = server.request("GET", &path, None);
        assert_eq!(status, 200, "{name}: {path}: {body}");
        body
    };
    // Each listed item as the given fields, to compare a list before and after.
    let fields = |v: &serde_json::Value, keys: &[&str]| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|item| {
                keys.iter()
                    .map(|k| item[*k].to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    let compare = |path: String, before: &serde_json::Value, keys: &[&str]| {
        let now = get(path.clone());
        assert_eq!(fields(&now, keys), fields(before, keys), "{name}: {path}");
        now
    };
    compare("/api/plans".into(), &before["plans"], &["id", "title"]);
    let participants = compare(
        format!("/api/plans/{plan}/participants"),
        &before["participants"],
        &["id", "name", "agency", "role"],
    );
    assert_eq!(
        participants.as_array().unwrap().len(),
        3,
        "owner, editor and viewer"
    );
    let snapshots = compare(
        format!("/api/plans/{plan}/snapshots"),
        &before["snapshots"],
        &["id", "name", "heads", "author"],
    );
    assert!(!snapshots.as_array().unwrap().is_empty());
    let authors = |v: &serde_json::Value| -> std::collections::BTreeMap<String, String> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(hash, a)| (hash.clone(), format!("{} {}", a["name"], a["agency"])))
            .collect()
    };
    let now = authors(&get(format!("/api/plans/{plan}/authors")));
    assert_eq!(now, authors(&before["authors"]), "{name}: change authors");
    assert!(
        now.values().filter(|a| a.contains("Analyst")).count() >= 5,
        "{name}: the editor's five edits keep their author: {now:?}"
    );
    // The editor's token still syncs the plan, with the edits made under the release.
    let doc: DocumentId = plan.parse().unwrap();
    let editor = before["editor_token"].as_str().unwrap();
    let client = plansync_tests::RustClient::connect(&server.sync_url_with(editor), "editor").await;
    client.find(doc).await;
    assert!(client.plan(doc).title.starts_with("[4] [3] [2] [1] [0] "));
    let db = backing.db();
    let at = match backing.database() {
        Some(url) => ["--database", url],
        None => ["--db", db.to_str().unwrap()],
    };
    let checked = plansync_tests::run_plansync(&["check", at[0], at[1]]);
    assert!(checked.contains("OK: 1 plan(s)"), "{checked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_database_written_by_the_previous_release_opens_with_every_plan_participant_snapshot_and_change_author(
) {
    let backing = plansync_tests::Backing::sqlite();
    std::fs::copy(fixture("plansync.db"), backing.db()).unwrap();
    opens_what_the_previous_release_wrote(backing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_database_written_by_the_previous_release_opens_with_every_plan_participant_snapshot_and_change_author(
) {
    let backing = tokio::task::spawn_blocking(plansync_tests::Backing::postgres)
        .await
        .unwrap();
    let cluster = backing.cluster().unwrap();
    cluster.restore(backing.database().unwrap(), &fixture("plansync.pgdump"));
    opens_what_the_previous_release_wrote(backing).await;
}
