//! The plan at a glance for one reporting period: RAG ratings and direction of travel
//! counted by theme and by board, exceptions, overdue actions and indicators out of
//! tolerance. The dashboard, the board view and the exception report's summary all read it,
//! so their numbers agree with each other and with the tracker's filters.

use crate::direction::{action_travel, out_of_tolerance};
use crate::ids::{BoardId, IndicatorId, ThemeId};
use crate::period::ReportingPeriod;
use crate::plan::{Action, Direction, Plan, ProgressState, Rag};
use serde::Serialize;

/// How many actions have each RAG rating in a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RagCounts {
    /// Off track.
    pub red: usize,
    /// At risk.
    pub amber: usize,
    /// On track.
    pub green: usize,
    /// No rating this period.
    pub not_rated: usize,
}

impl RagCounts {
    /// The count for one rating.
    pub fn get(&self, rag: Rag) -> usize {
        match rag {
            Rag::Red => self.red,
            Rag::Amber => self.amber,
            Rag::Green => self.green,
            Rag::NotRated => self.not_rated,
        }
    }

    /// Every action counted.
    pub fn total(&self) -> usize {
        self.red + self.amber + self.green + self.not_rated
    }

    fn add(&mut self, rag: Rag) {
        match rag {
            Rag::Red => self.red += 1,
            Rag::Amber => self.amber += 1,
            Rag::Green => self.green += 1,
            Rag::NotRated => self.not_rated += 1,
        }
    }
}

/// How many actions are improving, unchanged or worsening (as shown: overrides included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TravelCounts {
    /// Better than last period.
    pub improving: usize,
    /// The same as last period.
    pub unchanged: usize,
    /// Worse than last period.
    pub worsening: usize,
    /// Not rated in one of the two periods.
    pub not_known: usize,
}

impl TravelCounts {
    /// The count for one direction (`None`: not known).
    pub fn get(&self, direction: Option<Direction>) -> usize {
        match direction {
            Some(Direction::Improving) => self.improving,
            Some(Direction::Unchanged) => self.unchanged,
            Some(Direction::Worsening) => self.worsening,
            None => self.not_known,
        }
    }

    fn add(&mut self, direction: Option<Direction>) {
        match direction {
            Some(Direction::Improving) => self.improving += 1,
            Some(Direction::Unchanged) => self.unchanged += 1,
            Some(Direction::Worsening) => self.worsening += 1,
            None => self.not_known += 1,
        }
    }
}

/// The counts for one group of actions (the whole plan, a theme, a board).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// RAG ratings this period.
    pub rag: RagCounts,
    /// Direction of travel this period against the last.
    pub travel: TravelCounts,
    /// Red, amber or worsening.
    pub exceptions: usize,
    /// Past their due date and not complete.
    pub overdue: usize,
}

impl Counts {
    fn add(&mut self, a: &Action, period: ReportingPeriod, today: &str) {
        self.rag
            .add(a.rag.get(&period).copied().unwrap_or(Rag::NotRated));
        self.travel.add(action_travel(a, period).shown());
        self.exceptions += usize::from(is_exception(a, period));
        self.overdue += usize::from(is_overdue(a.state, a.due.as_deref(), today));
    }
}

/// One theme's or board's counts, with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupCounts<Id> {
    /// The theme or board.
    pub id: Id,
    /// Its name.
    pub name: String,
    /// Its actions' counts.
    pub counts: Counts,
}

/// The plan at a glance for one period (for one board, or the whole partnership).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The period counted.
    pub period: ReportingPeriod,
    /// Every action counted.
    pub all: Counts,
    /// By theme, in plan order (themes with no action counted are left out).
    pub themes: Vec<GroupCounts<ThemeId>>,
    /// By board the actions are led or contributed to, in plan order (an action counts for
    /// each of its boards, as the tracker's board filter shows it; boards with no action
    /// counted are left out).
    pub boards: Vec<GroupCounts<BoardId>>,
    /// Indicators out of tolerance this period (for a board: those its actions link to).
    pub indicators_out: Vec<IndicatorId>,
}

/// Whether an action is an exception in `period`: red or amber, or worsening (as shown,
/// overrides included). The exception report lists these.
pub fn is_exception(a: &Action, period: ReportingPeriod) -> bool {
    matches!(a.rag.get(&period), Some(Rag::Red | Rag::Amber))
        || action_travel(a, period).shown() == Some(Direction::Worsening)
}

/// Whether an action in `state`, due on `due`, is past its due date (`today`; both ISO
/// dates) and not complete.
pub fn is_overdue(state: ProgressState, due: Option<&str>, today: &str) -> bool {
    state != ProgressState::Complete && due.is_some_and(|d| d < today)
}

/// Whether `board` leads or contributes to an action.
pub fn board_takes_part(a: &Action, board: &BoardId) -> bool {
    a.lead_board.as_ref() == Some(board) || a.contributing_boards.contains(board)
}

/// Counts the plan's actions (those `board` leads or contributes to, if given) for `period`;
/// `today` (ISO date) decides what is overdue.
pub fn summary(
    plan: &Plan,
    period: ReportingPeriod,
    today: &str,
    board: Option<&BoardId>,
) -> Summary {
    let counted = |a: &Action| board.is_none_or(|b| board_takes_part(a, b));
    let mut all = Counts::default();
    let mut themes = Vec::new();
    let mut by_board: Vec<GroupCounts<BoardId>> = plan
        .boards
        .iter()
        .map(|b| GroupCounts {
            id: b.id.clone(),
            name: b.name.clone(),
            counts: Counts::default(),
        })
        .collect();
    let mut linked = Vec::new();
    for t in &plan.themes {
        let mut theme = Counts::default();
        for a in t
            .objectives
            .iter()
            .flat_map(|o| &o.actions)
            .filter(|a| counted(a))
        {
            all.add(a, period, today);
            theme.add(a, period, today);
            for g in by_board.iter_mut().filter(|g| board_takes_part(a, &g.id)) {
                g.counts.add(a, period, today);
            }
            linked.extend(a.indicator.clone());
        }
        if theme.rag.total() > 0 {
            themes.push(GroupCounts {
                id: t.id.clone(),
                name: t.title.clone(),
                counts: theme,
            });
        }
    }
    by_board.retain(|g| g.counts.rag.total() > 0);
    let indicators_out = plan
        .indicators
        .iter()
        .filter(|i| board.is_none() || linked.contains(&i.id))
        .filter(|i| out_of_tolerance(i, period))
        .map(|i| i.id.clone())
        .collect();
    Summary {
        period,
        all,
        themes,
        boards: by_board,
        indicators_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo_plan;
    use rand::SeedableRng;

    fn demo() -> Plan {
        let mut r = rand::rngs::StdRng::seed_from_u64(3);
        demo_plan(&mut r).unwrap().read().unwrap()
    }

    fn actions(plan: &Plan) -> Vec<(&ThemeId, &Action)> {
        plan.themes
            .iter()
            .flat_map(|t| {
                t.objectives
                    .iter()
                    .flat_map(move |o| o.actions.iter().map(move |a| (&t.id, a)))
            })
            .collect()
    }

    #[test]
    fn each_themes_counts_are_its_actions_counted_one_by_one() {
        let plan = demo();
        let period = ReportingPeriod::from_key("2026-Q2").unwrap();
        let s = summary(&plan, period, "2026-11-30", None);
        assert_eq!(s.all.rag.total(), actions(&plan).len());
        assert!(
            s.all.rag.red > 0 && s.all.rag.amber > 0,
            "the demo has reds and ambers"
        );
        for g in &s.themes {
            let mine: Vec<&Action> = actions(&plan)
                .into_iter()
                .filter(|(t, _)| **t == g.id)
                .map(|(_, a)| a)
                .collect();
            for rag in Rag::ALL {
                let n = mine
                    .iter()
                    .filter(|a| a.rag.get(&period).copied().unwrap_or(Rag::NotRated) == *rag)
                    .count();
                assert_eq!(g.counts.rag.get(*rag), n, "{} {rag}", g.name);
            }
            let worsening = mine
                .iter()
                .filter(|a| action_travel(a, period).shown() == Some(Direction::Worsening))
                .count();
            assert_eq!(g.counts.travel.worsening, worsening);
            let overdue = mine
                .iter()
                .filter(|a| is_overdue(a.state, a.due.as_deref(), "2026-11-30"))
                .count();
            assert_eq!(g.counts.overdue, overdue);
        }
        let sum: usize = s.themes.iter().map(|g| g.counts.exceptions).sum();
        assert_eq!(sum, s.all.exceptions);
    }

    #[test]
    fn a_boards_summary_counts_the_actions_it_leads_or_contributes_to_and_their_indicators() {
        let plan = demo();
        let period = ReportingPeriod::from_key("2026-Q2").unwrap();
        let board = &plan.boards[0].id;
        let s = summary(&plan, period, "2026-11-30", Some(board));
        let mine: Vec<&Action> = actions(&plan)
            .into_iter()
            .map(|(_, a)| a)
            .filter(|a| board_takes_part(a, board))
            .collect();
        assert!(!mine.is_empty());
        assert_eq!(s.all.rag.total(), mine.len());
        let everyone = summary(&plan, period, "2026-11-30", None);
        let row = everyone.boards.iter().find(|g| &g.id == board).unwrap();
        assert_eq!(
            row.counts, s.all,
            "the board's row of the whole plan's summary"
        );
        for i in &s.indicators_out {
            assert!(mine.iter().any(|a| a.indicator.as_ref() == Some(i)));
        }
    }

    #[test]
    fn overdue_means_past_due_and_not_complete() {
        let due = Some("2026-06-30");
        assert!(is_overdue(ProgressState::InProgress, due, "2026-07-01"));
        assert!(is_overdue(ProgressState::NotStarted, due, "2026-07-01"));
        assert!(!is_overdue(ProgressState::InProgress, due, "2026-06-30"));
        assert!(!is_overdue(ProgressState::Complete, due, "2026-07-01"));
        assert!(!is_overdue(ProgressState::InProgress, None, "2026-07-01"));
    }
}
