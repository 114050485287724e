//! A chair's sign-off of their board's return for a reporting round: what the server
//! records (who, when, and the plan's version), what a return is (so a later change to it
//! marks the sign-off **changed since sign-off**), and how papers and the app word it. A
//! sign-off is a record the server keeps for an authenticated participant, never an entry
//! in the plan document: whatever a client writes into the document, nobody but the
//! board's confirmed chair can sign off its return.

use crate::ids::{ActionId, BoardId, PersonId, RoundId, UpdateId};
use crate::period::long_date;
use crate::plan::{Direction, Plan, ProgressState, Rag, Round};
use crate::round::dated_in_round;
use crate::summary::board_takes_part;
use serde::{Deserialize, Serialize};

/// Body of `POST /api/plans/{plan}/sign-offs`: the chair signs off a board's return for a
/// round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignOffRequest {
    /// The round.
    pub round: RoundId,
    /// The board whose return is signed off.
    pub board: BoardId,
}

/// A sign-off as the server answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOff {
    /// Its id on the server.
    pub id: i64,
    /// The round.
    pub round: RoundId,
    /// The board.
    pub board: BoardId,
    /// The board's name when it was signed off.
    pub board_name: String,
    /// The chair (a plan person) who signed.
    pub person: PersonId,
    /// The chair's name as the plan named them then.
    pub name: String,
    /// The plan's version signed off (hex change hashes).
    pub heads: Vec<String>,
    /// The snapshot taken at the sign-off (to compare with now), if one was taken.
    pub snapshot: Option<i64>,
    /// When, ms since 1970.
    pub signed_ms: i64,
    /// The day it was signed (ISO date, UTC).
    pub signed_on: String,
    /// Whether the board's return has changed since (filled in when it is read).
    #[serde(default)]
    pub changed: bool,
    /// How the server knew the chair who signed (signed in with a provider, or a code).
    #[serde(default)]
    pub known: Option<crate::Known>,
}

impl SignOff {
    /// "Signed off by Chair, Harm and Abuse Reduction Partnership, 14 January 2027", and
    /// "(changed since sign-off)" after it when the return has changed.
    pub fn line(&self) -> String {
        let known = self
            .known
            .as_ref()
            .map(|k| format!(" ({})", k.words()))
            .unwrap_or_default();
        let line = format!(
            "Signed off by {}{known}, {}, {}",
            self.name,
            self.board_name,
            long_date(&self.signed_on)
        );
        if self.changed {
            format!("{line} (changed since sign-off)")
        } else {
            line
        }
    }
}

/// The latest sign-off of each board for `round`, from all of a plan's (oldest first).
pub fn latest_sign_offs<'s>(all: &'s [SignOff], round: &RoundId) -> Vec<&'s SignOff> {
    let mut out: Vec<&SignOff> = Vec::new();
    for s in all.iter().filter(|s| &s.round == round) {
        match out.iter_mut().find(|o| o.board == s.board) {
            Some(o) if o.signed_ms <= s.signed_ms => *o = s,
            Some(_) => {}
            None => out.push(s),
        }
    }
    out
}

/// One action of a board's return, as far as the return is concerned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnLine {
    /// The action.
    pub action: ActionId,
    /// Its title.
    pub title: String,
    /// Its RAG for the round's period.
    pub rag: Option<Rag>,
    /// Its progress state.
    pub state: ProgressState,
    /// A lead's direction of travel for the period, if set.
    pub direction: Option<Direction>,
    /// Its progress updates dated inside the round (id, date, text).
    pub updates: Vec<(UpdateId, String, String)>,
}

/// A board's return for a round: each action it leads or contributes to, with what the
/// round asks of it. Two versions of a plan with the same return need no new sign-off.
pub fn board_return(plan: &Plan, board: &BoardId, round: &Round) -> Vec<ReturnLine> {
    plan.themes
        .iter()
        .flat_map(|t| &t.objectives)
        .flat_map(|o| &o.actions)
        .filter(|a| board_takes_part(a, board))
        .map(|a| ReturnLine {
            action: a.id.clone(),
            title: a.title.clone(),
            rag: a.rag.get(&round.period).copied(),
            state: a.state,
            direction: a
                .direction_overrides
                .get(&round.period)
                .map(|o| o.direction),
            updates: a
                .updates
                .iter()
                .filter(|u| dated_in_round(u, round))
                .map(|u| (u.id.clone(), u.date.clone(), u.text.clone()))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::round::testing::{demo_in_round, Q3};

    #[test]
    fn a_boards_return_changes_with_its_actions_rag_and_updates_for_the_round_only() {
        let (mut doc, mut rng, plan, round) = demo_in_round(5);
        let board = plan.boards[0].id.clone();
        let before = board_return(&plan, &board, &round);
        assert!(!before.is_empty());
        let theirs = before[0].action.clone();
        let other = plan
            .themes
            .iter()
            .flat_map(|t| &t.objectives)
            .flat_map(|o| &o.actions)
            .find(|a| !board_takes_part(a, &board))
            .unwrap()
            .id
            .clone();
        // Another board's action, or another period's RAG, leaves the return as it was.
        doc.set_rag(&other, Q3, Rag::Red).unwrap();
        doc.set_rag(&theirs, Q3.previous(), Rag::Red).unwrap();
        assert_eq!(board_return(&doc.read().unwrap(), &board, &round), before);
        // Its own action's RAG for the period, or an update inside the round, changes it.
        doc.set_rag(&theirs, Q3, Rag::Amber).unwrap();
        assert_ne!(board_return(&doc.read().unwrap(), &board, &round), before);
        let rated = board_return(&doc.read().unwrap(), &board, &round);
        doc.add_progress_update(
            &mut rng,
            &theirs,
            "Lead",
            "Police",
            "2026-12-09",
            "Slipping",
        )
        .unwrap();
        assert_ne!(board_return(&doc.read().unwrap(), &board, &round), rated);
    }

    #[test]
    fn the_latest_sign_off_of_each_board_counts_and_its_line_says_when_it_changed() {
        let s = |id: i64, board: &str, ms: i64| SignOff {
            id,
            round: RoundId::new("rd-1"),
            board: BoardId::new(board),
            board_name: "Harm and Abuse Reduction Partnership".into(),
            person: PersonId::new("pe-chair"),
            name: "Chair".into(),
            heads: vec![],
            snapshot: None,
            signed_ms: ms,
            signed_on: "2027-01-14".into(),
            changed: false,
            known: None,
        };
        let all = vec![s(1, "bd-a", 10), s(2, "bd-b", 11), s(3, "bd-a", 12)];
        let latest = latest_sign_offs(&all, &RoundId::new("rd-1"));
        let ids: Vec<i64> = latest.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![3, 2]);
        assert!(latest_sign_offs(&all, &RoundId::new("rd-2")).is_empty());
        let mut one = s(1, "bd-a", 10);
        assert_eq!(
            one.line(),
            "Signed off by Chair, Harm and Abuse Reduction Partnership, 14 January 2027"
        );
        one.changed = true;
        assert!(one.line().ends_with("(changed since sign-off)"));
    }
}
