//! The tracker's rows: every action of a plan as a row, and those a view selects, filtered
//! and sorted.

use crate::route::{SortKey, TrackerView};
use crate::views::widgets::comments::{comment_counts, CommentCount};
use crate::views::widgets::period::current_period;
use plansync_shared::{
    action_travel, is_exception, ActionId, CommentTarget, Direction, Plan, ProgressState, Rag,
    ReportingPeriod,
};
use std::cmp::Ordering;
use std::collections::HashMap;

/// One action as a tracker row.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    /// The action.
    pub id: ActionId,
    /// Position in plan order.
    pub order: usize,
    pub(super) theme_id: String,
    pub(super) theme: String,
    pub(super) objective: String,
    pub(super) title: String,
    pub(super) lead_board_id: Option<String>,
    pub(super) lead_board: String,
    pub(super) boards: Vec<String>,
    pub(super) contributing: String,
    pub(super) lead_id: Option<String>,
    pub(super) lead: String,
    pub(super) agency_id: Option<String>,
    pub(super) due: Option<String>,
    pub(super) state: ProgressState,
    pub(super) rag: Option<Rag>,
    pub(super) travel: Option<Direction>,
    pub(super) exception: bool,
    pub(super) comments: CommentCount,
    pub(super) update: Option<(String, String)>,
    /// Not updated for the plan's open reporting round.
    pub(super) outstanding: bool,
}

/// The period a tracker shows: the one in the URL, else the latest rated one up to now.
pub(super) fn period_of(plan: &Plan, view: &TrackerView) -> ReportingPeriod {
    period_at(plan, view, current_period())
}

/// [`period_of`] with the current period given.
pub(super) fn period_at(plan: &Plan, view: &TrackerView, now: ReportingPeriod) -> ReportingPeriod {
    view.period
        .as_deref()
        .and_then(|k| ReportingPeriod::from_key(k).ok())
        .unwrap_or_else(|| plan.latest_rated_period(now))
}

/// Every action of a plan as rows, in plan order.
pub(super) fn rows(plan: &Plan, period: ReportingPeriod) -> Vec<Row> {
    let people: HashMap<&str, (&str, Option<&str>)> = plan
        .people
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                (p.name.as_str(), p.agency.as_ref().map(|a| a.as_str())),
            )
        })
        .collect();
    let agencies: HashMap<&str, &str> = plan
        .agencies
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let comments = comment_counts(plan);
    let round = plansync_shared::current_round(plan);
    let mut out = Vec::new();
    for t in &plan.themes {
        for o in &t.objectives {
            for a in &o.actions {
                let lead = a.lead.as_ref().and_then(|l| people.get(l.as_str()));
                let agency_id = lead.and_then(|(_, ag)| ag.map(str::to_string));
                let lead_name = lead
                    .map(|(n, ag)| match ag.and_then(|ag| agencies.get(ag)) {
                        Some(agency) => format!("{n}, {agency}"),
                        None => n.to_string(),
                    })
                    .unwrap_or_default();
                out.push(Row {
                    id: a.id.clone(),
                    order: out.len(),
                    theme_id: t.id.as_str().to_string(),
                    theme: t.title.clone(),
                    objective: o.text.clone(),
                    title: a.title.clone(),
                    lead_board_id: a.lead_board.as_ref().map(|b| b.as_str().to_string()),
                    lead_board: plan.board_name(a.lead_board.as_ref()),
                    boards: a
                        .lead_board
                        .iter()
                        .chain(&a.contributing_boards)
                        .map(|b| b.as_str().to_string())
                        .collect(),
                    contributing: plan.board_names(&a.contributing_boards, ", "),
                    lead_id: a.lead.as_ref().map(|l| l.as_str().to_string()),
                    lead: lead_name,
                    agency_id,
                    due: a.due.clone(),
                    state: a.state,
                    rag: a.rag.get(&period).copied(),
                    travel: action_travel(a, period).shown(),
                    exception: is_exception(a, period),
                    comments: comments
                        .get(&CommentTarget::Action(a.id.clone()).key())
                        .copied()
                        .unwrap_or_default(),
                    update: a
                        .latest_update()
                        .map(|u| (u.date.clone(), format!("{} ({})", u.text, u.by()))),
                    outstanding: round.is_some_and(|r| !plansync_shared::missing(a, r).is_done()),
                });
            }
        }
    }
    out
}

pub(super) fn is_overdue(r: &Row, today: &str) -> bool {
    plansync_shared::is_overdue(r.state, r.due.as_deref(), today)
}

pub(super) fn rag_rank(r: Option<Rag>) -> u8 {
    match r {
        Some(Rag::Red) => 0,
        Some(Rag::Amber) => 1,
        Some(Rag::Green) => 2,
        _ => 3,
    }
}

/// The rows a view shows, filtered and sorted.
pub(super) fn select(rows: &[Row], view: &TrackerView, today: &str) -> Vec<ActionId> {
    let eq = |want: &Option<String>, have: Option<&String>| {
        want.as_ref().is_none_or(|w| have == Some(w))
    };
    let mut picked: Vec<&Row> = rows
        .iter()
        .filter(|r| view.board.as_ref().is_none_or(|b| r.boards.contains(b)))
        .filter(|r| eq(&view.lead, r.lead_id.as_ref()))
        .filter(|r| eq(&view.agency, r.agency_id.as_ref()))
        .filter(|r| eq(&view.theme, Some(&r.theme_id)))
        .filter(|r| {
            view.rag
                .as_deref()
                .is_none_or(|w| r.rag.unwrap_or(Rag::NotRated).as_str() == w)
        })
        .filter(|r| !view.overdue || is_overdue(r, today))
        .filter(|r| !view.exceptions || r.exception)
        .filter(|r| !view.comments || r.comments.open > 0)
        .filter(|r| !view.outstanding || r.outstanding)
        .filter(|r| {
            view.travel
                .as_deref()
                .is_none_or(|w| r.travel.map(Direction::as_str) == Some(w))
        })
        .collect();
    let key = |a: &Row, b: &Row| -> Ordering {
        match view.sort {
            SortKey::Plan => Ordering::Equal,
            SortKey::Action => a.title.to_lowercase().cmp(&b.title.to_lowercase()),
            SortKey::Board => a.lead_board.cmp(&b.lead_board),
            SortKey::Lead => a.lead.cmp(&b.lead),
            // Undated actions last.
            SortKey::Due => (a.due.is_none(), &a.due).cmp(&(b.due.is_none(), &b.due)),
            SortKey::State => a.state.cmp(&b.state),
            SortKey::Rag => rag_rank(a.rag).cmp(&rag_rank(b.rag)),
            SortKey::Updated => b
                .update
                .as_ref()
                .map(|u| &u.0)
                .cmp(&a.update.as_ref().map(|u| &u.0)),
        }
    };
    picked.sort_by(|a, b| {
        let o = key(a, b);
        let o = if view.desc { o.reverse() } else { o };
        o.then(a.order.cmp(&b.order))
    });
    picked.into_iter().map(|r| r.id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use plansync_shared::demo_plan;
    use rand::SeedableRng;

    fn demo() -> Plan {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        demo_plan(&mut rng).unwrap().read().unwrap()
    }

    #[test]
    fn the_tracker_shows_every_action_once_in_plan_order() {
        let plan = demo();
        let period = period_at(
            &plan,
            &TrackerView::default(),
            ReportingPeriod::from_key("2026-Q3").unwrap(),
        );
        let all = rows(&plan, period);
        let count: usize = plan
            .themes
            .iter()
            .flat_map(|t| &t.objectives)
            .map(|o| o.actions.len())
            .sum();
        assert_eq!(all.len(), count);
        let ids = select(&all, &TrackerView::default(), "2026-01-01");
        assert_eq!(ids, all.iter().map(|r| r.id.clone()).collect::<Vec<_>>());
        assert!(
            all.iter().any(|r| r.rag.is_some()),
            "the default period has ratings"
        );
    }

    #[test]
    fn filters_combine_and_sorting_by_rag_puts_red_first() {
        let plan = demo();
        let period = period_at(
            &plan,
            &TrackerView::default(),
            ReportingPeriod::from_key("2026-Q3").unwrap(),
        );
        let all = rows(&plan, period);
        let board = plan.boards[1].id.as_str().to_string();
        let view = TrackerView {
            board: Some(board.clone()),
            ..Default::default()
        };
        let picked = select(&all, &view, "2026-01-01");
        assert!(!picked.is_empty());
        for id in &picked {
            let r = all.iter().find(|r| &r.id == id).unwrap();
            assert!(r.boards.contains(&board));
        }
        let red = TrackerView {
            rag: Some("red".into()),
            ..Default::default()
        };
        for id in select(&all, &red, "2026-01-01") {
            assert_eq!(all.iter().find(|r| r.id == id).unwrap().rag, Some(Rag::Red));
        }
        let sorted = TrackerView {
            sort: SortKey::Rag,
            ..Default::default()
        };
        let ranks: Vec<u8> = select(&all, &sorted, "2026-01-01")
            .iter()
            .map(|id| rag_rank(all.iter().find(|r| &r.id == id).unwrap().rag))
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    }

    #[test]
    fn overdue_means_past_due_and_not_complete() {
        let plan = demo();
        let all = rows(
            &plan,
            period_at(
                &plan,
                &TrackerView::default(),
                ReportingPeriod::from_key("2026-Q3").unwrap(),
            ),
        );
        let view = TrackerView {
            overdue: true,
            ..Default::default()
        };
        let picked = select(&all, &view, "2099-01-01");
        let expected = all
            .iter()
            .filter(|r| r.due.is_some() && r.state != ProgressState::Complete)
            .count();
        assert_eq!(picked.len(), expected);
        assert!(select(&all, &view, "1900-01-01").is_empty());
    }
}
