//! Direction of travel (this reporting period against the last) and exceptions: what the
//! Police and Crime Panel and the board chairs read first.

use crate::period::ReportingPeriod;
use crate::plan::{Action, Direction, DirectionOverride, Indicator, Polarity, Rag};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// The direction of travel of one item in one period: derived, and perhaps overridden.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Travel {
    /// Derived from the data; `None` when either period has no rating or value.
    pub derived: Option<Direction>,
    /// A lead's override with its reason, if one is set for this period.
    pub overridden: Option<DirectionOverride>,
}

impl Travel {
    /// The direction to show: the override if there is one, else the derived one.
    pub fn shown(&self) -> Option<Direction> {
        self.overridden
            .as_ref()
            .map(|o| o.direction)
            .or(self.derived)
    }

    /// How to print it: "improving", "worsening (set by lead: reason)", or "not known".
    pub fn describe(&self) -> String {
        match (&self.overridden, self.derived) {
            (Some(o), _) => format!("{} (set by {}: {})", o.direction, o.by, o.reason),
            (None, Some(d)) => d.to_string(),
            (None, None) => "not known".into(),
        }
    }
}

fn rank(rag: Rag) -> Option<u8> {
    match rag {
        Rag::Red => Some(0),
        Rag::Amber => Some(1),
        Rag::Green => Some(2),
        Rag::NotRated => None,
    }
}

fn direction_of(order: Ordering) -> Direction {
    match order {
        Ordering::Greater => Direction::Improving,
        Ordering::Equal => Direction::Unchanged,
        Ordering::Less => Direction::Worsening,
    }
}

/// An action's direction of travel in `period`: its RAG against the previous period's.
pub fn action_travel(action: &Action, period: ReportingPeriod) -> Travel {
    let now = action.rag.get(&period).copied().and_then(rank);
    let before = action.rag.get(&period.previous()).copied().and_then(rank);
    Travel {
        derived: now.zip(before).map(|(n, b)| direction_of(n.cmp(&b))),
        overridden: action.direction_overrides.get(&period).cloned(),
    }
}

/// An indicator's direction of travel in `period`: its value against the previous period's,
/// read through its polarity (fewer burglaries is improving, more confidence is improving).
pub fn indicator_travel(indicator: &Indicator, period: ReportingPeriod) -> Travel {
    let now = indicator.values.get(&period);
    let before = indicator.values.get(&period.previous());
    let derived = now.zip(before).and_then(|(n, b)| {
        let order = n.partial_cmp(b)?;
        Some(direction_of(match indicator.polarity {
            Polarity::HigherIsBetter => order,
            Polarity::LowerIsBetter => order.reverse(),
        }))
    });
    Travel {
        derived,
        overridden: indicator.direction_overrides.get(&period).cloned(),
    }
}

/// Whether an indicator's value in `period` is outside its tolerance on the wrong side of
/// its target (an exception); `false` when there is no value.
pub fn out_of_tolerance(indicator: &Indicator, period: ReportingPeriod) -> bool {
    let Some(&v) = indicator.values.get(&period) else {
        return false;
    };
    match indicator.polarity {
        Polarity::LowerIsBetter => v > indicator.target + indicator.tolerance,
        Polarity::HigherIsBetter => v < indicator.target - indicator.tolerance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ActionId, IndicatorId};
    use crate::period::Quarter;
    use crate::plan::ProgressState;
    use std::collections::BTreeMap;

    const Q1: ReportingPeriod = ReportingPeriod {
        year: 2026,
        quarter: Quarter::Q1,
    };
    const Q2: ReportingPeriod = ReportingPeriod {
        year: 2026,
        quarter: Quarter::Q2,
    };

    fn action(q1: Rag, q2: Rag) -> Action {
        Action {
            id: ActionId::new("ac-1"),
            title: "Reduce repeat burglary".into(),
            description: String::new(),
            lead_board: None,
            contributing_boards: vec![],
            lead: None,
            due: None,
            target: String::new(),
            indicator: None,
            state: ProgressState::InProgress,
            rag: BTreeMap::from([(Q1, q1), (Q2, q2)]),
            updates: vec![],
            direction_overrides: BTreeMap::new(),
        }
    }

    fn indicator(polarity: Polarity, q1: f64, q2: f64) -> Indicator {
        Indicator {
            id: IndicatorId::new("in-1"),
            name: "Domestic burglaries".into(),
            unit: "offences".into(),
            polarity,
            target: 100.0,
            tolerance: 10.0,
            values: BTreeMap::from([(Q1, q1), (Q2, q2)]),
            direction_overrides: BTreeMap::new(),
        }
    }

    #[test]
    fn rag_going_from_amber_to_red_is_worsening_and_red_to_green_improving() {
        assert_eq!(
            action_travel(&action(Rag::Amber, Rag::Red), Q2).shown(),
            Some(Direction::Worsening)
        );
        assert_eq!(
            action_travel(&action(Rag::Red, Rag::Green), Q2).shown(),
            Some(Direction::Improving)
        );
        assert_eq!(
            action_travel(&action(Rag::Amber, Rag::Amber), Q2).shown(),
            Some(Direction::Unchanged)
        );
        assert_eq!(
            action_travel(&action(Rag::NotRated, Rag::Red), Q2).shown(),
            None
        );
        // Q1's previous period has no rating at all.
        assert_eq!(action_travel(&action(Rag::Red, Rag::Red), Q1).derived, None);
    }

    #[test]
    fn a_leads_override_is_shown_instead_of_the_derived_direction_and_says_so() {
        let mut a = action(Rag::Green, Rag::Amber);
        a.direction_overrides.insert(
            Q2,
            DirectionOverride {
                direction: Direction::Unchanged,
                reason: "Amber only while the new contract starts".into(),
                by: "Inspector, Police".into(),
            },
        );
        let t = action_travel(&a, Q2);
        assert_eq!(t.derived, Some(Direction::Worsening));
        assert_eq!(t.shown(), Some(Direction::Unchanged));
        assert!(t.describe().contains("set by Inspector, Police"));
    }

    #[test]
    fn indicator_direction_follows_polarity_and_tolerance_is_one_sided() {
        let burglary = indicator(Polarity::LowerIsBetter, 120.0, 105.0);
        assert_eq!(
            indicator_travel(&burglary, Q2).shown(),
            Some(Direction::Improving)
        );
        assert!(!out_of_tolerance(&burglary, Q2));
        assert!(out_of_tolerance(&burglary, Q1));
        let confidence = indicator(Polarity::HigherIsBetter, 95.0, 85.0);
        assert_eq!(
            indicator_travel(&confidence, Q2).shown(),
            Some(Direction::Worsening)
        );
        assert!(out_of_tolerance(&confidence, Q2));
        assert!(!out_of_tolerance(&confidence, Q1));
    }
}
