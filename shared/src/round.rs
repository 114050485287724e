//! The reporting round's rules, applied alike by the app (My actions, the dashboard, the
//! tracker's filter) and the server (reminders, papers): when an action counts as updated
//! for a round, what a lead still has to do, and who is outstanding.

use crate::ids::{ActionId, BoardId, PersonId};
use crate::period::long_date;
use crate::plan::{Action, Plan, ProgressUpdate, Rag, Round};
use crate::summary::board_takes_part;
use serde::Serialize;

/// What an action still lacks for a round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// No RAG (red, amber or green) for the round's period yet.
    pub rag: bool,
    /// No progress update dated inside the round yet.
    pub update: bool,
}

impl Missing {
    /// Whether nothing is missing: the action is updated for the round.
    pub fn is_done(self) -> bool {
        !self.rag && !self.update
    }

    /// What is missing, in words: "a RAG for 2026/27 Q3 and a progress update".
    pub fn describe(self, round: &Round) -> String {
        match (self.rag, self.update) {
            (true, true) => format!("a RAG for {} and a progress update", round.period),
            (true, false) => format!("a RAG for {}", round.period),
            (false, true) => "a progress update".to_string(),
            (false, false) => "nothing: updated".to_string(),
        }
    }
}

/// Whether a progress update is dated inside the round: from the day it opened to the day
/// it closed (or any day since, while it is open).
pub fn dated_in_round(update: &ProgressUpdate, round: &Round) -> bool {
    update.date.as_str() >= round.opened.as_str()
        && round
            .closed
            .as_deref()
            .is_none_or(|closed| update.date.as_str() <= closed)
}

/// What an action still lacks for a round. It counts as updated when it has a RAG for the
/// round's period and a progress update dated inside the round.
pub fn missing(action: &Action, round: &Round) -> Missing {
    Missing {
        rag: !matches!(
            action.rag.get(&round.period),
            Some(Rag::Red | Rag::Amber | Rag::Green)
        ),
        update: !action.updates.iter().any(|u| dated_in_round(u, round)),
    }
}

/// The round a plan is in now: its open round for the latest period (`None` if no round
/// is open).
pub fn current_round(plan: &Plan) -> Option<&Round> {
    plan.rounds.iter().rfind(|r| r.is_open())
}

/// The outstanding actions of one board or one lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outstanding<Id> {
    /// The board or lead (`None`: actions with no lead board, or no lead).
    pub id: Option<Id>,
    /// Its outstanding actions, in plan order.
    pub actions: Vec<ActionId>,
}

/// How far a round has got.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundProgress {
    /// Actions in the plan.
    pub total: usize,
    /// Actions updated for the round.
    pub updated: usize,
    /// Actions not updated for the round, in plan order (for a closed round: those that
    /// were outstanding when it closed).
    pub outstanding: Vec<ActionId>,
    /// The outstanding actions of each board (as its lead board or a contributing board, as
    /// the tracker's board filter counts them), in the plan's board order, then those of no
    /// board.
    pub by_board: Vec<Outstanding<BoardId>>,
    /// The outstanding actions by lead, in the plan's order of people, then those with none.
    pub by_lead: Vec<Outstanding<PersonId>>,
}

pub(crate) fn actions(plan: &Plan) -> impl Iterator<Item = &Action> {
    plan.themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
}

/// The outstanding actions of each of `known` (in that order) that `belongs` says are
/// theirs, then those that belong to none of them.
fn group<Id: Clone>(
    known: Vec<Id>,
    outstanding: &[&Action],
    belongs: impl Fn(&Action, &Id) -> bool,
) -> Vec<Outstanding<Id>> {
    let mut groups: Vec<Outstanding<Id>> = known
        .iter()
        .map(|id| Outstanding {
            id: Some(id.clone()),
            actions: outstanding
                .iter()
                .filter(|a| belongs(a, id))
                .map(|a| a.id.clone())
                .collect(),
        })
        .collect();
    groups.push(Outstanding {
        id: None,
        actions: outstanding
            .iter()
            .filter(|a| !known.iter().any(|id| belongs(a, id)))
            .map(|a| a.id.clone())
            .collect(),
    });
    groups.retain(|g| !g.actions.is_empty());
    groups
}

/// The actions not updated for a round by its rules alone (for a closed round, counting
/// updates up to its close), in plan order: what a round records as outstanding when it
/// closes.
pub(crate) fn not_updated(plan: &Plan, round: &Round) -> Vec<ActionId> {
    actions(plan)
        .filter(|a| !missing(a, round).is_done())
        .map(|a| a.id.clone())
        .collect()
}

/// How far a round has got: how many actions are updated, and which are outstanding, by
/// board and by lead. A closed round keeps what was outstanding when it closed.
pub fn round_progress(plan: &Plan, round: &Round) -> RoundProgress {
    let all: Vec<&Action> = actions(plan).collect();
    let outstanding: Vec<&Action> = match &round.closed {
        None => all
            .iter()
            .copied()
            .filter(|a| !missing(a, round).is_done())
            .collect(),
        Some(_) => all
            .iter()
            .copied()
            .filter(|a| round.outstanding_at_close.contains(&a.id))
            .collect(),
    };
    RoundProgress {
        total: all.len(),
        updated: all.len() - outstanding.len(),
        by_board: group(
            plan.boards.iter().map(|b| b.id.clone()).collect(),
            &outstanding,
            board_takes_part,
        ),
        by_lead: group(
            plan.people.iter().map(|p| p.id.clone()).collect(),
            &outstanding,
            |a, p| a.lead.as_ref() == Some(p),
        ),
        outstanding: match &round.closed {
            None => outstanding.iter().map(|a| a.id.clone()).collect(),
            // Removed since: still named (by id) as outstanding at the close.
            Some(_) => round.outstanding_at_close.clone(),
        },
    }
}

/// One line for the dashboard: "31 of 47 actions updated for 2026/27 Q3 · deadline
/// 15 January 2027 · 16 outstanding" (for a closed round: "... · closed 20 January 2027 ·
/// 16 were outstanding").
pub fn round_line(round: &Round, progress: &RoundProgress) -> String {
    let head = format!(
        "{} of {} actions updated for {}",
        progress.updated, progress.total, round.period
    );
    match &round.closed {
        None => format!(
            "{head} · deadline {} · {} outstanding",
            long_date(&round.deadline),
            progress.outstanding.len()
        ),
        Some(closed) => format!(
            "{head} · closed {} · {} were outstanding",
            long_date(closed),
            progress.outstanding.len()
        ),
    }
}

/// My actions: the actions led by any of `people` (the plan people a participant is) with
/// what each still lacks for the round; updated ones drop off. In plan order.
pub fn my_actions<'p>(
    plan: &'p Plan,
    round: &Round,
    people: &[PersonId],
) -> Vec<(&'p Action, Missing)> {
    actions(plan)
        .filter(|a| a.lead.as_ref().is_some_and(|l| people.contains(l)))
        .map(|a| (a, missing(a, round)))
        .filter(|(_, m)| !m.is_done())
        .collect()
}

/// The most reminder points a round takes.
pub const MAX_REMINDERS: usize = 8;
/// The furthest before a deadline a reminder may go, in days.
pub const MAX_REMINDER_DAYS: u32 = 90;

/// Reminder days as an owner gives them, checked: none further than 90 days before the
/// deadline, at most eight, each once, latest first (`[0, 7]` becomes `[7, 0]`).
pub fn check_reminders(days: &[u32]) -> crate::Result<Vec<u32>> {
    if let Some(d) = days.iter().find(|d| **d > MAX_REMINDER_DAYS) {
        return Err(crate::Error::Invalid(format!(
            "a reminder {d} days before the deadline is too early: give {MAX_REMINDER_DAYS} days or fewer"
        )));
    }
    let mut days = days.to_vec();
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    if days.len() > MAX_REMINDERS {
        return Err(crate::Error::Invalid(format!(
            "{} reminders is too many for one round: give {MAX_REMINDERS} or fewer",
            days.len()
        )));
    }
    Ok(days)
}

/// Reminder days as the document keeps them and people type them: "7,0" ("" for none).
pub fn reminders_key(days: &[u32]) -> String {
    days.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads reminder days as typed ("7, 0", "14 7 0"; "" or "none" for none), checked.
pub fn parse_reminders(text: &str) -> crate::Result<Vec<u32>> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let days = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<u32>().map_err(|_| {
                crate::Error::Invalid(format!(
                    "'{}' is not a number of days: give days before the deadline, like 7, 0",
                    t.escape_debug()
                ))
            })
        })
        .collect::<crate::Result<Vec<u32>>>()?;
    check_reminders(&days)
}

/// When reminders go, in words: "7 days before the deadline and on the deadline".
pub fn reminders_words(days: &[u32]) -> String {
    let words: Vec<String> = days
        .iter()
        .map(|d| match d {
            0 => "on the deadline".to_string(),
            1 => "1 day before the deadline".to_string(),
            d => format!("{d} days before the deadline"),
        })
        .collect();
    match words.as_slice() {
        [] => "no email reminders".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The reminder due on `today` (ISO date) for an open round: the latest of its reminder
/// days that has come, while the deadline has not passed. A server that was off on one
/// reminder's day sends only the one due now, never a string of late ones.
pub fn due_reminder(round: &Round, today: &str) -> Option<u32> {
    if !round.is_open() {
        return None;
    }
    let deadline = crate::period::parse_date(&round.deadline).ok()?;
    let today = crate::period::parse_date(today).ok()?;
    let before = (deadline - today).whole_days();
    if before < 0 {
        return None;
    }
    round
        .reminders
        .iter()
        .copied()
        .filter(|d| i64::from(*d) >= before)
        .min()
}

/// What the quarter's tests share: the demo plan, and a round open on it.
#[cfg(test)]
pub(crate) mod testing {
    use crate::demo_plan;
    use crate::period::{Quarter, ReportingPeriod};
    use crate::plan::{Plan, PlanDoc, Round};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// 2026/27 Q3.
    pub(crate) const Q3: ReportingPeriod = ReportingPeriod {
        year: 2026,
        quarter: Quarter::Q3,
    };

    /// The demo plan made with `seed`, and the random source after it.
    pub(crate) fn demo(seed: u64) -> (PlanDoc, StdRng) {
        let mut rng = StdRng::seed_from_u64(seed);
        let doc = demo_plan(&mut rng).unwrap();
        (doc, rng)
    }

    /// The demo plan with a round for 2026/27 Q3 opened on 1 December 2026 (deadline
    /// 15 January 2027), read back with the round.
    pub(crate) fn demo_in_round(seed: u64) -> (PlanDoc, StdRng, Plan, Round) {
        let (mut doc, mut rng) = demo(seed);
        doc.open_round(&mut rng, Q3, "2027-01-15", None, "2026-12-01", "Officer")
            .unwrap();
        let plan = doc.read().unwrap();
        let round = plan.rounds[0].clone();
        (doc, rng, plan, round)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Q3;
    use super::*;
    use crate::plan::PlanDoc;

    fn demo() -> (PlanDoc, rand::rngs::StdRng) {
        super::testing::demo(23)
    }

    fn all_actions(plan: &Plan) -> Vec<Action> {
        actions(plan).cloned().collect()
    }

    #[test]
    fn an_action_is_updated_only_with_a_rag_for_the_period_and_an_update_dated_inside_the_round() {
        let (mut doc, mut rng) = demo();
        let round = doc
            .open_round(
                &mut rng,
                Q3,
                "2027-01-15",
                Some("2027-01-28"),
                "2026-12-01",
                "Officer",
            )
            .unwrap();
        doc.commit();
        let plan = doc.read().unwrap();
        let r = plan.rounds.iter().find(|r| r.id == round).unwrap().clone();
        assert!(r.is_open());
        assert_eq!(current_round(&plan).map(|c| &c.id), Some(&round));
        let a = all_actions(&plan)[0].id.clone();
        // An update dated before the round opened does not count.
        doc.add_progress_update(&mut rng, &a, "Lead", "Police", "2026-11-30", "Old news")
            .unwrap();
        let m = missing(&all_actions(&doc.read().unwrap())[0], &r);
        assert!(m.update, "an update before the round is not inside it");
        doc.set_rag(&a, Q3, Rag::NotRated).unwrap();
        doc.add_progress_update(&mut rng, &a, "Lead", "Police", "2026-12-02", "On track")
            .unwrap();
        let m = missing(&all_actions(&doc.read().unwrap())[0], &r);
        assert_eq!(
            m,
            Missing {
                rag: true,
                update: false
            },
            "not rated is no RAG"
        );
        assert_eq!(m.describe(&r), "a RAG for 2026/27 Q3");
        doc.set_rag(&a, Q3, Rag::Amber).unwrap();
        let plan = doc.read().unwrap();
        assert!(missing(&all_actions(&plan)[0], &r).is_done());
        let p = round_progress(&plan, &r);
        assert_eq!(p.total, all_actions(&plan).len());
        assert_eq!(p.updated, 1);
        assert!(!p.outstanding.contains(&a));
        assert_eq!(p.outstanding.len(), p.total - 1);
        let by_lead: usize = p.by_lead.iter().map(|g| g.actions.len()).sum();
        assert_eq!(
            by_lead,
            p.outstanding.len(),
            "each action has one lead or none"
        );
        for g in &p.by_board {
            for a in &g.actions {
                let action = all_actions(&plan).into_iter().find(|x| &x.id == a).unwrap();
                match &g.id {
                    Some(b) => assert!(board_takes_part(&action, b)),
                    None => assert!(
                        action.lead_board.is_none() && action.contributing_boards.is_empty()
                    ),
                }
            }
        }
        assert!(p
            .outstanding
            .iter()
            .all(|a| p.by_board.iter().any(|g| g.actions.contains(a))));
        assert_eq!(
            round_line(&r, &p),
            format!(
                "1 of {} actions updated for 2026/27 Q3 · deadline 15 January 2027 · {} outstanding",
                p.total,
                p.total - 1
            )
        );
    }

    #[test]
    fn my_actions_are_a_leads_actions_still_missing_something_and_done_ones_drop_off() {
        let (mut doc, mut rng) = demo();
        let id = doc
            .open_round(&mut rng, Q3, "2027-01-15", None, "2026-12-01", "Officer")
            .unwrap();
        let plan = doc.read().unwrap();
        let lead = all_actions(&plan)
            .iter()
            .find_map(|a| a.lead.clone())
            .unwrap();
        let theirs: Vec<ActionId> = all_actions(&plan)
            .iter()
            .filter(|a| a.lead.as_ref() == Some(&lead))
            .map(|a| a.id.clone())
            .collect();
        let r = plan.rounds[0].clone();
        assert_eq!(r.id, id);
        let mine: Vec<ActionId> = my_actions(&plan, &r, std::slice::from_ref(&lead))
            .iter()
            .map(|(a, _)| a.id.clone())
            .collect();
        assert_eq!(mine, theirs);
        doc.set_rag(&theirs[0], Q3, Rag::Green).unwrap();
        doc.add_progress_update(&mut rng, &theirs[0], "Lead", "Police", "2026-12-03", "Done")
            .unwrap();
        let plan = doc.read().unwrap();
        let mine: Vec<ActionId> = my_actions(&plan, &r, &[lead])
            .iter()
            .map(|(a, _)| a.id.clone())
            .collect();
        assert_eq!(mine, theirs[1..].to_vec());
        assert!(my_actions(&plan, &r, &[]).is_empty());
    }

    #[test]
    fn a_closed_round_keeps_what_was_outstanding_and_takes_no_more_changes() {
        let (mut doc, mut rng) = demo();
        let id = doc
            .open_round(&mut rng, Q3, "2027-01-15", None, "2026-12-01", "Officer")
            .unwrap();
        let before = round_progress(&doc.read().unwrap(), &doc.read().unwrap().rounds[0]);
        doc.close_round(&id, "2027-01-20", "Officer").unwrap();
        doc.commit();
        let plan = doc.read().unwrap();
        let r = &plan.rounds[0];
        assert_eq!(r.closed.as_deref(), Some("2027-01-20"));
        assert_eq!(r.outstanding_at_close, before.outstanding);
        assert!(current_round(&plan).is_none());
        // Updating an action afterwards does not change the closed round's history.
        let a = before.outstanding[0].clone();
        doc.set_rag(&a, Q3, Rag::Green).unwrap();
        doc.add_progress_update(&mut rng, &a, "Lead", "Police", "2027-01-19", "Late")
            .unwrap();
        let plan = doc.read().unwrap();
        let after = round_progress(&plan, &plan.rounds[0]);
        assert_eq!(after.outstanding, before.outstanding);
        assert!(round_line(&plan.rounds[0], &after).contains("closed 20 January 2027"));
        // A closed round is read-only.
        let e = doc.close_round(&id, "2027-01-21", "Officer").unwrap_err();
        assert!(e.to_string().contains("closed"), "{e}");
        let e = doc.set_round_dates(&id, "2027-02-01", None).unwrap_err();
        assert!(e.to_string().contains("closed"), "{e}");
        // A plan brought in from a file (JSON) keeps its rounds as they were.
        let copy = PlanDoc::from_plan(&plan, &mut rng).unwrap();
        assert_eq!(copy.read().unwrap().rounds, plan.rounds);
    }

    #[test]
    fn a_round_needs_sensible_dates_and_one_open_round_per_period() {
        let (mut doc, mut rng) = demo();
        let e = doc
            .open_round(&mut rng, Q3, "2026-11-01", None, "2026-12-01", "Officer")
            .unwrap_err();
        assert!(e.to_string().contains("before the round opens"), "{e}");
        let e = doc
            .open_round(
                &mut rng,
                Q3,
                "2027-01-15",
                Some("2027-01-01"),
                "2026-12-01",
                "O",
            )
            .unwrap_err();
        assert!(e.to_string().contains("before the deadline"), "{e}");
        let e = doc
            .open_round(&mut rng, Q3, "15/01/2027", None, "2026-12-01", "O")
            .unwrap_err();
        assert!(e.to_string().contains("not a date"), "{e}");
        let id = doc
            .open_round(&mut rng, Q3, "2027-01-15", None, "2026-12-01", "O")
            .unwrap();
        let e = doc
            .open_round(&mut rng, Q3, "2027-01-16", None, "2026-12-01", "O")
            .unwrap_err();
        assert!(e.to_string().contains("already open"), "{e}");
        doc.set_round_dates(&id, "2027-01-22", Some("2027-02-03"))
            .unwrap();
        let plan = doc.read().unwrap();
        assert_eq!(plan.rounds[0].deadline, "2027-01-22");
        assert_eq!(plan.rounds[0].meeting.as_deref(), Some("2027-02-03"));
    }

    #[test]
    fn rounds_opened_on_two_replicas_of_a_plan_made_before_rounds_both_survive_the_merge() {
        let (mut doc, mut rng) = demo();
        // A plan written before rounds existed has no `rounds` map.
        {
            use automerge::transaction::Transactable;
            doc.automerge_mut()
                .delete(automerge::ROOT, "rounds")
                .unwrap();
        }
        doc.commit();
        let mut other = doc.fork(&mut rng);
        let q2 = Q3.previous();
        let a = doc
            .open_round(&mut rng, Q3, "2027-01-15", None, "2026-12-01", "Officer")
            .unwrap();
        doc.commit();
        let b = other
            .open_round(&mut rng, q2, "2026-10-15", None, "2026-09-01", "Deputy")
            .unwrap();
        other.commit();
        doc.merge(&mut other).unwrap();
        let plan = doc.read().unwrap();
        let ids: Vec<_> = plan.rounds.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, vec![b, a.clone()], "both rounds, oldest period first");
        // Either replica's round can still be closed after the merge.
        doc.close_round(&a, "2027-01-20", "Officer").unwrap();
        assert!(!doc.read().unwrap().rounds[1].is_open());
    }

    #[test]
    fn reminders_default_to_a_week_before_and_the_deadline_and_only_the_one_due_now_is_due() {
        let (mut doc, mut rng) = demo();
        let id = doc
            .open_round(&mut rng, Q3, "2027-01-15", None, "2026-12-01", "Officer")
            .unwrap();
        let round = doc.read().unwrap().rounds[0].clone();
        assert_eq!(round.reminders, vec![7, 0]);
        assert_eq!(due_reminder(&round, "2027-01-07"), None, "8 days before");
        assert_eq!(due_reminder(&round, "2027-01-08"), Some(7));
        assert_eq!(due_reminder(&round, "2027-01-14"), Some(7));
        assert_eq!(due_reminder(&round, "2027-01-15"), Some(0));
        assert_eq!(
            due_reminder(&round, "2027-01-16"),
            None,
            "after the deadline"
        );
        doc.set_round_reminders(&id, &[0, 14, 14]).unwrap();
        let round = doc.read().unwrap().rounds[0].clone();
        assert_eq!(round.reminders, vec![14, 0], "latest first, each once");
        assert_eq!(
            reminders_words(&round.reminders),
            "14 days before the deadline and on the deadline"
        );
        doc.set_round_reminders(&id, &[]).unwrap();
        let round = doc.read().unwrap().rounds[0].clone();
        assert_eq!(
            due_reminder(&round, "2027-01-15"),
            None,
            "none set, none due"
        );
        assert_eq!(reminders_words(&[]), "no email reminders");
        doc.close_round(&id, "2027-01-10", "Officer").unwrap();
        assert!(
            doc.set_round_reminders(&id, &[7]).is_err(),
            "a closed round is kept"
        );
    }

    #[test]
    fn reminder_days_are_read_as_typed_and_nonsense_is_refused_with_a_reason() {
        assert_eq!(parse_reminders(" 7, 0 ").unwrap(), vec![7, 0]);
        assert_eq!(parse_reminders("0 14 7").unwrap(), vec![14, 7, 0]);
        assert_eq!(parse_reminders("none").unwrap(), Vec::<u32>::new());
        assert_eq!(reminders_key(&[14, 7, 0]), "14,7,0");
        for bad in ["seven", "-1", "91", "1,2,3,4,5,6,7,8,9"] {
            let e = parse_reminders(bad).unwrap_err().to_string();
            assert!(e.contains("give"), "{bad}: {e}");
        }
    }
}
