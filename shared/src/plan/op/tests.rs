//! Plan operations as values: each one travels (serde) and does what the method it names
//! does; one that makes an item makes the id its seed names.

use super::*;
use crate::period::Quarter;
use rand::rngs::StdRng;
use rand::SeedableRng;

const Q2: ReportingPeriod = ReportingPeriod {
    year: 2026,
    quarter: Quarter::Q2,
};

fn plan() -> (PlanDoc, ThemeId, ObjectiveId, ActionId) {
    crate::plan::tests::small_plan(&mut StdRng::seed_from_u64(7))
}

fn apply(p: &mut PlanDoc, op: &PlanOp) -> Plan {
    PlanDoc::change(p.automerge_mut(), |d| op.apply(d)).unwrap();
    p.read().unwrap()
}

#[test]
fn an_operation_survives_the_trip_to_the_worker_unchanged() {
    let (_, t, _, a) = plan();
    for op in [
        PlanOp::SetText {
            field: TextField::ActionTitle(a.clone()),
            was: "Review".into(),
            text: "Daily review".into(),
        },
        PlanOp::AddObjective {
            seed: 9,
            theme: t,
            text: "Fewer repeat victims".into(),
            index: Some(0),
        },
        PlanOp::SetRag {
            action: a.clone(),
            period: Q2,
            rag: Rag::Amber,
        },
        PlanOp::AddProgressUpdate {
            seed: 3,
            action: a,
            author: "Analyst".into(),
            agency: "Police".into(),
            date: "2026-07-01".into(),
            text: "On track".into(),
            known: Some(Known::Code),
        },
    ] {
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(serde_json::from_str::<PlanOp>(&json).unwrap(), op, "{json}");
    }
}

#[test]
fn an_item_made_by_an_operation_has_the_id_its_seed_names() {
    let (mut p, t, o, a) = plan();
    let made = |op: &PlanOp| op.made().expect("makes an item");
    let op = PlanOp::AddAction {
        seed: 41,
        objective: o.clone(),
        title: "Second action".into(),
        index: None,
    };
    let plan = apply(&mut p, &op);
    let actions = &plan.themes[0].objectives[0].actions;
    assert_eq!(actions[1].id.to_string(), made(&op));
    assert_eq!(actions[1].title, "Second action");

    let op = PlanOp::AddObjective {
        seed: 42,
        theme: t.clone(),
        text: "Second objective".into(),
        index: Some(0),
    };
    let plan = apply(&mut p, &op);
    assert_eq!(plan.themes[0].objectives[0].id.to_string(), made(&op));

    let op = PlanOp::AddTheme {
        seed: 43,
        title: "Places".into(),
        index: None,
    };
    let plan = apply(&mut p, &op);
    assert_eq!(plan.themes[1].id.to_string(), made(&op));

    let op = PlanOp::AddIndicator {
        seed: 44,
        name: "Repeat victims".into(),
        unit: "%".into(),
        polarity: Polarity::LowerIsBetter,
        target: 10.0,
        tolerance: 1.0,
    };
    let plan = apply(&mut p, &op);
    assert_eq!(plan.indicators[0].id.to_string(), made(&op));

    let op = PlanOp::AddMilestone {
        seed: 45,
        name: "Panel".into(),
        due: Some("2026-09-01".into()),
    };
    let plan = apply(&mut p, &op);
    assert_eq!(plan.milestones[0].id.to_string(), made(&op));

    let op = PlanOp::AddProgressUpdate {
        seed: 46,
        action: a.clone(),
        author: "Analyst".into(),
        agency: "Police".into(),
        date: "2026-07-01".into(),
        text: "On track".into(),
        known: Some(Known::Code),
    };
    let plan = apply(&mut p, &op);
    let update = &plan.themes[0].objectives[1].actions[0].updates[0];
    assert_eq!(update.id.to_string(), made(&op));
    assert_eq!(update.known, Known::Code.stored(), "stamped as the op says");

    let op = PlanOp::AddComment {
        seed: 47,
        target: CommentTarget::Action(a),
        author: "Analyst".into(),
        agency: "Police".into(),
        date: "2026-07-01".into(),
        text: "Which cases?".into(),
        known: None,
    };
    let plan = apply(&mut p, &op);
    assert_eq!(plan.comments[0].id.to_string(), made(&op));

    let op = PlanOp::OpenRound {
        seed: 48,
        period: Q2,
        deadline: "2026-10-10".into(),
        meeting: None,
        today: "2026-10-01".into(),
        by: "Chair, OPCC".into(),
    };
    let plan = apply(&mut p, &op);
    assert_eq!(plan.rounds[0].id.to_string(), made(&op));
    assert!(PlanOp::RemoveTheme { theme: t }.made().is_none());
}

#[test]
fn the_same_operation_applied_on_two_copies_makes_the_same_plan() {
    let (mut p, _, o, _) = plan();
    let mut q = p.fork(&mut StdRng::seed_from_u64(1));
    let op = PlanOp::AddAction {
        seed: 5,
        objective: o,
        title: "Same everywhere".into(),
        index: Some(0),
    };
    let (a, b) = (apply(&mut p, &op), apply(&mut q, &op));
    assert_eq!(a, b);
}

#[test]
fn a_refused_operation_changes_nothing_and_says_why() {
    let (mut p, _, _, a) = plan();
    let before = p.read().unwrap();
    let op = PlanOp::SetDue {
        action: a,
        due: Some("the first of June".into()),
    };
    let err = PlanDoc::change(p.automerge_mut(), |d| op.apply(d)).unwrap_err();
    assert!(err.to_string().contains("date"), "{err}");
    assert_eq!(p.read().unwrap(), before);
}

#[test]
fn typing_is_made_on_the_text_as_it_is_keeping_words_the_box_had_not_seen() {
    let (mut p, _, _, a) = plan();
    let field = TextField::ActionTitle(a);
    let was = p.text(&field).unwrap();
    // Someone else's words arrive at the document before my keystroke does.
    let mut other = p.fork(&mut StdRng::seed_from_u64(2));
    other.splice_text(&field, 0, 0, "Urgent: ").unwrap();
    other.commit();
    p.merge(&mut other).unwrap();
    let op = PlanOp::SetText {
        field: field.clone(),
        was: was.clone(),
        text: format!("{was}!"),
    };
    apply(&mut p, &op);
    assert_eq!(p.text(&field).unwrap(), format!("Urgent: {was}!"));
}
