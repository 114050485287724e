//! The workshop's running tally: how many objectives are decided, decisions by kind and by
//! working group. The app shows it live in workshop mode; the workshop outputs paper opens
//! with it.

use crate::{Decision, Plan};

/// The tally of a plan's workshop decisions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkshopTally {
    /// Objectives with a decision.
    pub decided: usize,
    /// Objectives still undecided.
    pub undecided: usize,
    /// How many objectives each decision has (every decision but undecided, in order).
    pub by_decision: Vec<(Decision, usize)>,
    /// Per working group (as typed; "No working group" for none): decided and all.
    pub by_group: Vec<(String, usize, usize)>,
}

/// What a group with no name is called in the tally.
pub const NO_GROUP: &str = "No working group";

/// Counts the plan's workshop decisions.
pub fn workshop_tally(plan: &Plan) -> WorkshopTally {
    let mut t = WorkshopTally {
        by_decision: Decision::ALL
            .iter()
            .filter(|d| **d != Decision::Undecided)
            .map(|d| (*d, 0))
            .collect(),
        ..WorkshopTally::default()
    };
    for o in plan.themes.iter().flat_map(|th| &th.objectives) {
        let decided = o.review.decision != Decision::Undecided;
        if decided {
            t.decided += 1;
            if let Some(slot) = t
                .by_decision
                .iter_mut()
                .find(|(d, _)| *d == o.review.decision)
            {
                slot.1 += 1;
            }
        } else {
            t.undecided += 1;
        }
        let group = o.review.group.trim();
        let group = if group.is_empty() { NO_GROUP } else { group };
        match t
            .by_group
            .iter_mut()
            .find(|(g, _, _)| g.eq_ignore_ascii_case(group))
        {
            Some(g) => {
                g.1 += usize::from(decided);
                g.2 += 1;
            }
            None => t
                .by_group
                .push((group.to_string(), usize::from(decided), 1)),
        }
    }
    t.by_group.sort_by(|a, b| {
        (a.0 == NO_GROUP)
            .cmp(&(b.0 == NO_GROUP))
            .then(a.0.cmp(&b.0))
    });
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn the_tally_counts_decisions_by_kind_and_by_working_group() {
        let mut p = crate::demo_plan(&mut StdRng::seed_from_u64(1)).unwrap();
        let before = workshop_tally(&p.read().unwrap());
        let all = before.decided + before.undecided;
        let objectives: Vec<_> = p
            .read()
            .unwrap()
            .themes
            .iter()
            .flat_map(|t| t.objectives.iter().map(|o| o.id.clone()))
            .collect();
        for o in &objectives {
            p.set_decision(o, Decision::Undecided).unwrap();
            p.set_text(&crate::TextField::ReviewGroup(o.clone()), "")
                .unwrap();
        }
        p.set_decision(&objectives[0], Decision::Amend).unwrap();
        p.set_decision(&objectives[1], Decision::Drop).unwrap();
        p.set_text(
            &crate::TextField::ReviewGroup(objectives[0].clone()),
            "Group A",
        )
        .unwrap();
        p.set_text(
            &crate::TextField::ReviewGroup(objectives[2].clone()),
            "group a",
        )
        .unwrap();
        let t = workshop_tally(&p.read().unwrap());
        assert_eq!((t.decided, t.undecided), (2, all - 2));
        assert_eq!(
            t.by_decision
                .iter()
                .find(|(d, _)| *d == Decision::Amend)
                .unwrap()
                .1,
            1
        );
        assert_eq!(
            t.by_decision
                .iter()
                .find(|(d, _)| *d == Decision::Drop)
                .unwrap()
                .1,
            1
        );
        assert!(t.by_decision.iter().all(|(d, _)| *d != Decision::Undecided));
        assert_eq!(
            t.by_group[0],
            ("Group A".to_string(), 1, 2),
            "names match in any case"
        );
        assert_eq!(t.by_group[1], (NO_GROUP.to_string(), 1, all - 2));
    }
}
