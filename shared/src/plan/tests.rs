//! Merge behaviour of plan operations: replicas editing concurrently converge, nothing typed
//! is lost. No I/O: replicas are merged in memory.

use super::*;
use crate::period::{Quarter, ReportingPeriod};
use crate::{demo_plan, ActionId, IndicatorId, ObjectiveId, ThemeId};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A plan of one theme, one objective and one action.
pub(super) fn small_plan(r: &mut StdRng) -> (PlanDoc, ThemeId, ObjectiveId, ActionId) {
    let mut p = PlanDoc::create(
        &NewPlan {
            title: "Test plan".into(),
            area: "Testville".into(),
            period_start: 2026,
            period_end: 2028,
            owning_body: "Board".into(),
        },
        r,
    )
    .unwrap();
    let t = p.add_theme(r, "Victims", None).unwrap();
    let o = p
        .add_objective(r, &t, "Reduce repeat victimisation", None)
        .unwrap();
    let a = p
        .add_action(r, &o, "Review high-risk cases daily", None)
        .unwrap();
    p.commit();
    (p, t, o, a)
}

fn merge_both(a: &mut PlanDoc, b: &mut PlanDoc) {
    a.merge(b).unwrap();
    b.merge(a).unwrap();
}

const Q2: ReportingPeriod = ReportingPeriod {
    year: 2026,
    quarter: Quarter::Q2,
};

#[test]
fn two_people_typing_in_one_sentence_both_keep_their_words() {
    let mut r = rng(1);
    let (mut a, _, _, act) = small_plan(&mut r);
    let mut b = a.fork(&mut r);
    let field = TextField::ActionTitle(act.clone());
    a.splice_text(&field, 0, 0, "Police: ").unwrap();
    let len = b.text(&field).unwrap().chars().count();
    b.splice_text(&field, len, 0, " with health partners")
        .unwrap();
    a.commit();
    b.commit();
    merge_both(&mut a, &mut b);
    let text = a.text(&field).unwrap();
    assert_eq!(
        text,
        "Police: Review high-risk cases daily with health partners"
    );
    assert_eq!(a.read().unwrap(), b.read().unwrap());
}

#[test]
fn set_text_splices_only_the_difference_so_concurrent_edits_survive() {
    let mut r = rng(2);
    let (mut a, _, _, act) = small_plan(&mut r);
    let mut b = a.fork(&mut r);
    let field = TextField::ActionTitle(act);
    a.set_text(&field, "Review all high-risk cases daily")
        .unwrap();
    b.set_text(&field, "Review high-risk cases every day")
        .unwrap();
    a.commit();
    b.commit();
    merge_both(&mut a, &mut b);
    assert_eq!(
        a.text(&field).unwrap(),
        "Review all high-risk cases every day"
    );
}

#[test]
fn both_setting_one_rag_converge_to_one_value_on_both_replicas() {
    let mut r = rng(3);
    let (mut a, _, _, act) = small_plan(&mut r);
    let mut b = a.fork(&mut r);
    a.set_rag(&act, Q2, Rag::Red).unwrap();
    b.set_rag(&act, Q2, Rag::Green).unwrap();
    a.commit();
    b.commit();
    merge_both(&mut a, &mut b);
    let pa = a.read().unwrap();
    let rag = pa.themes[0].objectives[0].actions[0].rag[&Q2];
    assert!(rag == Rag::Red || rag == Rag::Green);
    assert_eq!(pa, b.read().unwrap());
}

#[test]
fn move_against_delete_leaves_the_action_deleted_everywhere() {
    let mut r = rng(4);
    let (mut a, t, o, act) = small_plan(&mut r);
    let o2 = a
        .add_objective(&mut r, &t, "Second objective", None)
        .unwrap();
    a.commit();
    let mut b = a.fork(&mut r);
    a.move_action(&act, &o2, 0).unwrap();
    b.remove_action(&act).unwrap();
    a.commit();
    b.commit();
    merge_both(&mut a, &mut b);
    let plan = a.read().unwrap();
    assert_eq!(plan, b.read().unwrap());
    let all: Vec<_> = plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
        .collect();
    assert!(all.is_empty(), "deleted action reappeared: {all:?}");
    assert!(plan.themes[0].objectives.iter().any(|x| x.id == o));
}

#[test]
fn concurrent_moves_of_one_action_show_it_once() {
    let mut r = rng(5);
    let (mut a, t, _, act) = small_plan(&mut r);
    let o2 = a.add_objective(&mut r, &t, "Second", None).unwrap();
    let o3 = a.add_objective(&mut r, &t, "Third", None).unwrap();
    a.commit();
    let mut b = a.fork(&mut r);
    a.move_action(&act, &o2, 0).unwrap();
    b.move_action(&act, &o3, 0).unwrap();
    a.commit();
    b.commit();
    merge_both(&mut a, &mut b);
    let plan = a.read().unwrap();
    assert_eq!(plan, b.read().unwrap());
    let count = plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
        .filter(|x| x.id == act)
        .count();
    assert_eq!(count, 1);
}

#[test]
fn inserts_at_the_same_place_keep_both_actions_in_one_order() {
    let mut r = rng(6);
    let (mut a, _, o, _) = small_plan(&mut r);
    let mut b = a.fork(&mut r);
    let x = a.add_action(&mut r, &o, "From A", Some(0)).unwrap();
    let y = b.add_action(&mut r, &o, "From B", Some(0)).unwrap();
    a.commit();
    b.commit();
    merge_both(&mut a, &mut b);
    let plan = a.read().unwrap();
    assert_eq!(plan, b.read().unwrap());
    let ids: Vec<_> = plan.themes[0].objectives[0]
        .actions
        .iter()
        .map(|a| a.id.clone())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&x) && ids.contains(&y));
}

#[test]
fn progress_updates_added_concurrently_are_all_kept() {
    let mut r = rng(7);
    let (mut a, _, _, act) = small_plan(&mut r);
    let mut b = a.fork(&mut r);
    a.add_progress_update(
        &mut r,
        &act,
        "Chief Inspector",
        "Police",
        "2026-09-01",
        "Update A",
    )
    .unwrap();
    b.add_progress_update(
        &mut r,
        &act,
        "Head of Safeguarding",
        "Council",
        "2026-09-02",
        "Update B",
    )
    .unwrap();
    a.commit();
    b.commit();
    merge_both(&mut a, &mut b);
    let updates = &a.read().unwrap().themes[0].objectives[0].actions[0].updates;
    let texts: Vec<_> = updates.iter().map(|u| u.text.as_str()).collect();
    assert_eq!(texts.len(), 2);
    assert!(texts.contains(&"Update A") && texts.contains(&"Update B"));
}

#[test]
fn operations_on_missing_items_and_bad_values_return_errors_not_panics() {
    let mut r = rng(8);
    let (mut a, _, _, act) = small_plan(&mut r);
    assert!(matches!(
        a.remove_action(&ActionId::new("ac-missing")),
        Err(crate::Error::NotFound { .. })
    ));
    assert!(a.set_due(&act, Some("2026-13-01")).is_err());
    assert!(a
        .splice_text(&TextField::ActionTitle(act.clone()), 1000, 0, "x")
        .is_err());
    assert!(PlanDoc::from_automerge(automerge::AutoCommit::new()).is_err());
}

#[test]
fn demo_plan_has_four_themes_about_fifty_actions_and_reads_back() {
    let mut r = rng(9);
    let mut demo = demo_plan(&mut r).unwrap();
    let plan = demo.read().unwrap();
    let titles: Vec<_> = plan.themes.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Victims", "Offenders", "Communities", "Transformation"]
    );
    let actions: Vec<_> = plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
        .collect();
    assert!(
        (45..=60).contains(&actions.len()),
        "{} actions",
        actions.len()
    );
    for t in &plan.themes {
        assert!((3..=5).contains(&t.objectives.len()));
        assert!(!t.aim.is_empty() && !t.outcomes.is_empty());
        for o in &t.objectives {
            assert!((2..=4).contains(&o.actions.len()));
        }
    }
    assert!(actions
        .iter()
        .all(|a| a.rag.len() == 2 && a.updates.len() == 2 && a.lead_board.is_some()));
    assert_eq!(plan.boards.len(), 5);
    assert_eq!(plan.indicators.len(), 3);
    assert_eq!(plan.stage, Stage::StakeholderWorkshop);
    assert_eq!(plan.milestones.len(), 4);
    let bytes = demo.save();
    let loaded = PlanDoc::load(&bytes, &mut r).unwrap();
    assert_eq!(loaded.read().unwrap(), plan);
    assert_eq!(
        plan_summary(loaded.automerge()).unwrap().title,
        crate::DEMO_PLAN_TITLE
    );
}

/// One random operation, applied by one replica.
#[derive(Debug, Clone)]
enum Op {
    AddAction(usize, String),
    Remove(usize),
    Move(usize, usize, usize),
    Type(usize, usize, String),
    Rag(usize, u8),
    AddObjective(String),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<usize>(), "[a-z]{1,6}").prop_map(|(o, s)| Op::AddAction(o, s)),
        any::<usize>().prop_map(Op::Remove),
        (any::<usize>(), any::<usize>(), 0usize..4).prop_map(|(a, o, i)| Op::Move(a, o, i)),
        (any::<usize>(), any::<usize>(), "[A-Z]{1,4}").prop_map(|(a, p, s)| Op::Type(a, p, s)),
        (any::<usize>(), 0u8..4).prop_map(|(a, r)| Op::Rag(a, r)),
        "[a-z]{1,6}".prop_map(Op::AddObjective),
    ]
}

fn apply(p: &mut PlanDoc, r: &mut StdRng, op: &Op) {
    let plan = p.read().unwrap();
    let objectives: Vec<_> = plan
        .themes
        .iter()
        .flat_map(|t| {
            t.objectives
                .iter()
                .map(move |o| (t.id.clone(), o.id.clone()))
        })
        .collect();
    let actions: Vec<_> = plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
        .map(|a| (a.id.clone(), a.title.chars().count()))
        .collect();
    match op {
        Op::AddAction(o, s) if !objectives.is_empty() => {
            p.add_action(r, &objectives[o % objectives.len()].1, s, None)
                .unwrap();
        }
        Op::Remove(a) if !actions.is_empty() => {
            p.remove_action(&actions[a % actions.len()].0).unwrap()
        }
        Op::Move(a, o, i) if !actions.is_empty() && !objectives.is_empty() => p
            .move_action(
                &actions[a % actions.len()].0,
                &objectives[o % objectives.len()].1,
                *i,
            )
            .unwrap(),
        Op::Type(a, pos, s) if !actions.is_empty() => {
            let (id, len) = &actions[a % actions.len()];
            p.splice_text(&TextField::ActionTitle(id.clone()), pos % (len + 1), 0, s)
                .unwrap()
        }
        Op::Rag(a, v) if !actions.is_empty() => p
            .set_rag(&actions[a % actions.len()].0, Q2, Rag::ALL[*v as usize])
            .unwrap(),
        Op::AddObjective(s) => {
            let t = plan.themes[0].id.clone();
            p.add_objective(r, &t, s, None).unwrap();
        }
        _ => {}
    }
    p.commit();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Three replicas make random concurrent edits; merged in any order they read the same
    /// plan, and every typed fragment in a surviving action title is kept.
    #[test]
    fn random_concurrent_edits_converge_in_any_merge_order(
        ops in prop::collection::vec((0usize..3, op()), 1..30),
        order in Just([0usize, 1, 2]).prop_shuffle(),
        seed in any::<u64>(),
    ) {
        let mut r = rng(seed);
        let (base, ..) = small_plan(&mut r);
        let mut replicas: Vec<PlanDoc> = (0..3).map(|_| { let mut b = base.clone(); b.fork(&mut r) }).collect();
        for (who, op) in &ops {
            apply(&mut replicas[*who], &mut r, op);
        }
        // Merge in the shuffled order into a fresh copy, and in 0,1,2 order into another.
        let mut x = base.clone().fork(&mut r);
        for i in order { x.merge(&mut replicas[i].clone()).unwrap(); }
        let mut y = base.clone().fork(&mut r);
        for r in &replicas { y.merge(&mut r.clone()).unwrap(); }
        let px = x.read().unwrap();
        prop_assert_eq!(&px, &y.read().unwrap());
        // Every character a replica holds in a surviving title is in the merged title.
        let survivors: Vec<_> = px.themes.iter().flat_map(|t| &t.objectives).flat_map(|o| &o.actions).collect();
        for s in &survivors {
            for r in &replicas {
                let plan = r.read().unwrap();
                if let Some(mine) = plan.themes.iter().flat_map(|t| &t.objectives).flat_map(|o| &o.actions).find(|a| a.id == s.id) {
                    // Characters typed on one replica appear, in order, in the merged title.
                    let mut merged = s.title.chars();
                    prop_assert!(mine.title.chars().all(|c| merged.any(|m| m == c)), "{:?} lost from {:?}", mine.title, s.title);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A typed plan kept up to date from patches, as the app keeps it, reads the same as the
    /// whole plan read afresh after every merge of random concurrent edits and every local one.
    #[test]
    fn a_plan_updated_from_patches_equals_a_fresh_read_after_every_merge(
        ops in prop::collection::vec((0usize..3, op()), 1..30),
        seed in any::<u64>(),
    ) {
        let mut r = rng(seed);
        let (base, ..) = small_plan(&mut r);
        let mut replicas: Vec<PlanDoc> = (0..3).map(|_| { let mut b = base.clone(); b.fork(&mut r) }).collect();
        let mut tracked = replicas[0].clone();
        let mut plan = read_plan_tracked(tracked.automerge_mut()).unwrap();
        for (who, op) in &ops {
            apply(&mut replicas[*who], &mut r, op);
            tracked.merge(&mut replicas[*who].clone()).unwrap();
            update_plan(&mut plan, tracked.automerge_mut()).unwrap();
            prop_assert_eq!(&plan, &tracked.read().unwrap());
        }
    }
}

#[test]
fn change_on_a_held_document_commits_or_rolls_back_as_one() {
    let mut rng = rng(7);
    let plan = PlanDoc::create(
        &NewPlan {
            title: "Plan".into(),
            area: "City".into(),
            period_start: 2025,
            period_end: 2028,
            owning_body: "Board".into(),
        },
        &mut rng,
    )
    .unwrap();
    let mut doc = plan.into_automerge();
    let before = doc.get_heads();
    let theme = PlanDoc::change(&mut doc, |p| p.add_theme(&mut rng, "Victims", None)).unwrap();
    assert_ne!(doc.get_heads(), before, "the change was committed");
    let after = doc.get_heads();
    let err = PlanDoc::change(&mut doc, |p| {
        p.set_text(&TextField::ThemeTitle(theme.clone()), "Renamed")?;
        p.remove_theme(&ThemeId::new("no-such-theme"))
    });
    assert!(err.is_err());
    assert_eq!(
        doc.get_heads(),
        after,
        "a failed change leaves nothing behind"
    );
    assert_eq!(read_plan(&doc).unwrap().themes[0].title, "Victims");
    let mut other = automerge::AutoCommit::new();
    assert!(
        PlanDoc::change(&mut other, |_| Ok(())).is_err(),
        "not a plan"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A snapshot taken after some edits and restored after more edits reads back exactly as
    /// it was, and the restore is new history: the later edits are still in the document.
    #[test]
    fn restoring_a_snapshot_reads_back_equal_and_keeps_history(
        before in prop::collection::vec(op(), 0..15),
        after in prop::collection::vec(op(), 1..15),
        seed in any::<u64>(),
    ) {
        let mut r = rng(seed);
        let (mut p, ..) = small_plan(&mut r);
        for op in &before { apply(&mut p, &mut r, op); }
        let snapshot = p.read().unwrap();
        let snapshot_heads = p.automerge_mut().get_heads();
        for op in &after { apply(&mut p, &mut r, op); }
        let changes_before_restore = p.automerge_mut().get_changes(&[]).len();
        p.restore(&snapshot).unwrap();
        p.commit();
        prop_assert_eq!(&p.read().unwrap(), &snapshot);
        prop_assert!(p.automerge_mut().get_changes(&[]).len() >= changes_before_restore);
        // The snapshot's heads are still part of the history.
        for h in &snapshot_heads {
            prop_assert!(p.automerge_mut().get_change_by_hash(h).is_some());
        }
    }
}

#[test]
fn restoring_the_plan_it_already_reads_writes_nothing() {
    let mut r = rng(11);
    let mut p = demo_plan(&mut r).unwrap();
    let plan = p.read().unwrap();
    p.restore(&plan).unwrap();
    assert!(!p.commit(), "no operation when nothing differs");
}

#[test]
fn a_plan_written_into_a_new_document_reads_back_equal_ids_and_all() {
    let mut r = rng(12);
    let mut demo = demo_plan(&mut r).unwrap();
    let a = demo.read().unwrap().themes[0].objectives[0].actions[0]
        .id
        .clone();
    demo.set_direction_override(
        &TravelItem::Action(a),
        Q2,
        Some(&DirectionOverride {
            direction: Direction::Improving,
            reason: "Funding confirmed for the year".into(),
            by: "Head of Service, City Council".into(),
        }),
    )
    .unwrap();
    demo.commit();
    let plan = demo.read().unwrap();
    assert!(!plan.themes[0].objectives[0].actions[0]
        .direction_overrides
        .is_empty());
    let copy = PlanDoc::from_plan(&plan, &mut r).unwrap();
    assert_eq!(copy.read().unwrap(), plan);
}

#[test]
fn an_override_of_the_direction_of_travel_needs_a_reason() {
    let mut r = rng(13);
    let (mut p, _, _, a) = small_plan(&mut r);
    let err = p
        .set_direction_override(
            &TravelItem::Action(a.clone()),
            Q2,
            Some(&DirectionOverride {
                direction: Direction::Worsening,
                reason: "  ".into(),
                by: "Inspector, Police".into(),
            }),
        )
        .unwrap_err();
    assert!(err.to_string().contains("needs a reason"));
    p.set_direction_override(&TravelItem::Action(a.clone()), Q2, None)
        .unwrap();
}

#[test]
fn latest_rated_period_is_the_last_rated_quarter_up_to_now_or_now_if_none_is() {
    let mut r = rng(7);
    let (mut p, _, _, a) = small_plan(&mut r);
    let q1 = ReportingPeriod::from_key("2026-Q1").unwrap();
    let q3 = ReportingPeriod::from_key("2026-Q3").unwrap();
    let q4 = ReportingPeriod::from_key("2026-Q4").unwrap();
    assert_eq!(
        p.read().unwrap().latest_rated_period(q3),
        q3,
        "nothing rated"
    );
    p.set_rag(&a, q1, Rag::Amber).unwrap();
    p.set_rag(&a, Q2, Rag::Red).unwrap();
    // A rating ahead of now, and "not rated", do not count.
    p.set_rag(&a, q4, Rag::Green).unwrap();
    let plan = p.read().unwrap();
    assert_eq!(plan.latest_rated_period(q3), Q2);
    assert_eq!(plan.latest_rated_period(q4), q4);
    p.set_rag(&a, Q2, Rag::NotRated).unwrap();
    assert_eq!(p.read().unwrap().latest_rated_period(q3), q1);
}

#[test]
fn milestones_are_renamed_redated_and_removed_and_a_bad_date_is_an_error_not_a_change() {
    let mut r = rng(11);
    let (mut p, _, _, _) = small_plan(&mut r);
    let m = p
        .add_milestone(&mut r, "Stakeholder workshop", Some("2026-10-01"))
        .unwrap();
    let keep = p.add_milestone(&mut r, "Panel review", None).unwrap();
    p.set_text(&TextField::MilestoneName(m.clone()), "Partners' workshop")
        .unwrap();
    p.set_milestone_due(&m, Some("2026-10-08")).unwrap();
    assert!(p.set_milestone_due(&m, Some("8 October")).is_err());
    let plan = p.read().unwrap();
    assert_eq!(plan.milestones[0].name, "Partners' workshop");
    assert_eq!(plan.milestones[0].due.as_deref(), Some("2026-10-08"));
    p.remove_milestone(&m).unwrap();
    let plan = p.read().unwrap();
    assert_eq!(plan.milestones.len(), 1);
    assert_eq!(plan.milestones[0].id, keep);
    assert!(p.remove_milestone(&m).is_err(), "already gone");
}

#[test]
fn an_indicators_measure_values_and_comments_are_edited_and_read_back() {
    let mut r = rng(12);
    let (mut p, _, _, _) = small_plan(&mut r);
    let i = p
        .add_indicator(
            &mut r,
            "Burglaries",
            "offences",
            Polarity::LowerIsBetter,
            400.0,
            20.0,
        )
        .unwrap();
    p.set_indicator_measure(&i, "per 1,000 homes", Polarity::HigherIsBetter, 5.5, 0.5)
        .unwrap();
    assert!(p
        .set_indicator_measure(&i, "x", Polarity::HigherIsBetter, f64::NAN, 1.0)
        .is_err());
    assert!(p
        .set_indicator_measure(&i, "x", Polarity::HigherIsBetter, 1.0, -1.0)
        .is_err());
    p.set_indicator_value(&i, Q2, 5.1).unwrap();
    p.set_text(&TextField::IndicatorName(i.clone()), "Domestic burglaries")
        .unwrap();
    let c = p
        .add_comment(
            &mut r,
            &CommentTarget::Indicator(i.clone()),
            "Analyst",
            "Police",
            "2026-11-30",
            "Recorded differently from Q2",
        )
        .unwrap();
    let plan = p.read().unwrap();
    let ind = &plan.indicators[0];
    assert_eq!(ind.name, "Domestic burglaries");
    assert_eq!(
        (ind.unit.as_str(), ind.polarity),
        ("per 1,000 homes", Polarity::HigherIsBetter)
    );
    assert_eq!((ind.target, ind.tolerance), (5.5, 0.5));
    assert_eq!(ind.values.get(&Q2), Some(&5.1));
    assert_eq!(plan.comments[0].id, c);
    assert_eq!(plan.comments[0].target, CommentTarget::Indicator(i.clone()));
    p.clear_indicator_value(&i, Q2).unwrap();
    assert!(p.read().unwrap().indicators[0].values.is_empty());
    let gone = IndicatorId::new("no-such-indicator");
    assert!(p
        .add_comment(
            &mut r,
            &CommentTarget::Indicator(gone),
            "A",
            "B",
            "2026-11-30",
            "x"
        )
        .is_err());
}

#[test]
fn an_update_and_a_comment_say_how_their_writer_was_known_and_keep_it_through_an_update() {
    let mut r = rng(41);
    let (mut p, _, _, a) = small_plan(&mut r);
    let signed = crate::Known::SignedIn("Riverton City Council".into());
    let u = p
        .add_progress_update(
            &mut r,
            &a,
            "Alice Lead",
            "Riverton City Council",
            "2026-11-30",
            "Started",
        )
        .unwrap();
    p.set_update_known(&a, &u, &signed).unwrap();
    let c = p
        .add_comment(
            &mut r,
            &CommentTarget::Action(a.clone()),
            "Analyst",
            "Police",
            "2026-11-30",
            "Agreed",
        )
        .unwrap();
    p.set_comment_known(&c, &crate::Known::Code).unwrap();
    let plan = p.read().unwrap();
    let update = &plan.themes[0].objectives[0].actions[0].updates[0];
    assert_eq!(
        update.by(),
        "Alice Lead, Riverton City Council (signed in with Riverton City Council)"
    );
    assert_eq!(
        plan.comments[0].by(),
        "Analyst, Police (joined with a code)"
    );
    // An older stamp without it reads as it did.
    let older = p
        .add_progress_update(&mut r, &a, "Officer", "Fire", "2026-11-30", "Older")
        .unwrap();
    let plan = p.read().unwrap();
    let old = plan.themes[0].objectives[0].actions[0]
        .updates
        .iter()
        .find(|x| x.id == older)
        .unwrap();
    assert_eq!(old.by(), "Officer, Fire");
    assert!(p
        .set_update_known(&a, &crate::UpdateId::new("none"), &signed)
        .is_err());
    // Writing the plan again (an import, a restore) keeps the stamp.
    let copy = PlanDoc::from_plan(&plan, &mut r).unwrap();
    let read = copy.read().unwrap();
    assert_eq!(
        read.themes[0].objectives[0].actions[0].updates[0].known,
        signed.stored()
    );
    assert_eq!(read.comments[0].known, crate::Known::Code.stored());
}
