//! Plan operations as values: what a person does to the plan (retitle an action, set a RAG,
//! add an objective), written so it can travel, here from the page to the sync worker that
//! holds the document, and be applied there with [`PlanOp::apply`].
//!
//! An operation that makes an item carries a `seed`: the new item's id is drawn from it
//! alone, so the page knows the id ([`PlanOp::made`]) before the document has it.

use super::doc::{PlanDoc, TextField, TravelItem};
use super::model::*;
use crate::ids::*;
use crate::{Known, ReportingPeriod, Result};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// One change a person makes to the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PlanOp {
    /// What was typed in a text field: `was` became `text` in the box. Made on the text
    /// as it is when applied (edits the box had not seen yet stay; see
    /// [`crate::rebase_typing`]), spliced so concurrent typing merges.
    SetText {
        /// The field.
        field: TextField,
        /// The text the box showed before.
        was: String,
        /// The text in the box now.
        text: String,
    },
    /// Sets the plan's lifecycle stage.
    SetStage {
        /// The stage.
        stage: Stage,
    },
    /// Adds a milestone at the end of the list.
    AddMilestone {
        /// Where its id comes from.
        seed: u64,
        /// Its name.
        name: String,
        /// Its due date, if any.
        due: Option<String>,
    },
    /// Marks a milestone done or not done.
    SetMilestoneDone {
        /// The milestone.
        milestone: MilestoneId,
        /// Done?
        done: bool,
    },
    /// Sets or clears a milestone's due date.
    SetMilestoneDue {
        /// The milestone.
        milestone: MilestoneId,
        /// The date, or none.
        due: Option<String>,
    },
    /// Removes a milestone.
    RemoveMilestone {
        /// The milestone.
        milestone: MilestoneId,
    },
    /// Adds a theme at `index` (the end if none).
    AddTheme {
        /// Where its id comes from.
        seed: u64,
        /// Its title.
        title: String,
        /// Where in the plan's order.
        index: Option<usize>,
    },
    /// Moves a theme to `index`.
    MoveTheme {
        /// The theme.
        theme: ThemeId,
        /// Its new place.
        index: usize,
    },
    /// Removes a theme.
    RemoveTheme {
        /// The theme.
        theme: ThemeId,
    },
    /// Adds a shared outcome to a theme at `index` (the end if none).
    AddOutcome {
        /// The theme.
        theme: ThemeId,
        /// The outcome's words.
        text: String,
        /// Where among the theme's outcomes.
        index: Option<usize>,
    },
    /// Removes a theme's shared outcome by its place.
    RemoveOutcome {
        /// The theme.
        theme: ThemeId,
        /// The outcome's place.
        index: usize,
    },
    /// Adds an objective to a theme at `index` (the end if none).
    AddObjective {
        /// Where its id comes from.
        seed: u64,
        /// The theme.
        theme: ThemeId,
        /// Its wording.
        text: String,
        /// Where among the theme's objectives.
        index: Option<usize>,
    },
    /// Moves an objective to `index` in `theme`.
    MoveObjective {
        /// The objective.
        objective: ObjectiveId,
        /// The theme it goes to.
        theme: ThemeId,
        /// Its new place.
        index: usize,
    },
    /// Removes an objective.
    RemoveObjective {
        /// The objective.
        objective: ObjectiveId,
    },
    /// Records the workshop's decision on an objective.
    SetDecision {
        /// The objective.
        objective: ObjectiveId,
        /// The decision.
        decision: Decision,
    },
    /// Adds an action to an objective at `index` (the end if none).
    AddAction {
        /// Where its id comes from.
        seed: u64,
        /// The objective.
        objective: ObjectiveId,
        /// Its title.
        title: String,
        /// Where among the objective's actions.
        index: Option<usize>,
    },
    /// Moves an action to `index` in `objective`.
    MoveAction {
        /// The action.
        action: ActionId,
        /// The objective it goes to.
        objective: ObjectiveId,
        /// Its new place.
        index: usize,
    },
    /// Removes an action.
    RemoveAction {
        /// The action.
        action: ActionId,
    },
    /// Sets an action's RAG for a reporting period.
    SetRag {
        /// The action.
        action: ActionId,
        /// The period.
        period: ReportingPeriod,
        /// The RAG.
        rag: Rag,
    },
    /// Adds a dated progress update to an action, stamped with how its writer was known.
    AddProgressUpdate {
        /// Where its id comes from.
        seed: u64,
        /// The action.
        action: ActionId,
        /// Who wrote it.
        author: String,
        /// Their agency.
        agency: String,
        /// Its date (`YYYY-MM-DD`).
        date: String,
        /// Its words.
        text: String,
        /// How the server knows its writer, if it does.
        known: Option<Known>,
    },
    /// Sets or clears an action's lead board.
    SetLeadBoard {
        /// The action.
        action: ActionId,
        /// The board, or none.
        board: Option<BoardId>,
    },
    /// Adds or removes a contributing board of an action.
    SetContributingBoard {
        /// The action.
        action: ActionId,
        /// The board.
        board: BoardId,
        /// Whether it contributes.
        contributes: bool,
    },
    /// Sets or clears an action's lead.
    SetLead {
        /// The action.
        action: ActionId,
        /// The lead, or none.
        lead: Option<PersonId>,
    },
    /// Sets or clears an action's due date.
    SetDue {
        /// The action.
        action: ActionId,
        /// The date, or none.
        due: Option<String>,
    },
    /// Sets an action's progress state.
    SetProgressState {
        /// The action.
        action: ActionId,
        /// The state.
        state: ProgressState,
    },
    /// Adds an indicator.
    AddIndicator {
        /// Where its id comes from.
        seed: u64,
        /// Its name.
        name: String,
        /// Its unit.
        unit: String,
        /// Which way is better.
        polarity: Polarity,
        /// Its target.
        target: f64,
        /// Its tolerance.
        tolerance: f64,
    },
    /// Sets an indicator's unit, polarity, target and tolerance.
    SetIndicatorMeasure {
        /// The indicator.
        indicator: IndicatorId,
        /// Its unit.
        unit: String,
        /// Which way is better.
        polarity: Polarity,
        /// Its target.
        target: f64,
        /// Its tolerance.
        tolerance: f64,
    },
    /// Records an indicator's value for a period.
    SetIndicatorValue {
        /// The indicator.
        indicator: IndicatorId,
        /// The period.
        period: ReportingPeriod,
        /// The value.
        value: f64,
    },
    /// Clears an indicator's value for a period.
    ClearIndicatorValue {
        /// The indicator.
        indicator: IndicatorId,
        /// The period.
        period: ReportingPeriod,
    },
    /// Sets or clears a lead's own direction of travel for a period.
    SetDirectionOverride {
        /// The action or indicator.
        item: TravelItem,
        /// The period.
        period: ReportingPeriod,
        /// The direction and reason, or none.
        set: Option<DirectionOverride>,
    },
    /// Adds a comment, stamped with how its writer was known.
    AddComment {
        /// Where its id comes from.
        seed: u64,
        /// What it is about.
        target: CommentTarget,
        /// Who wrote it.
        author: String,
        /// Their agency.
        agency: String,
        /// Its date (`YYYY-MM-DD`).
        date: String,
        /// Its words.
        text: String,
        /// How the server knows its writer, if it does.
        known: Option<Known>,
    },
    /// Marks a comment thread resolved or open.
    SetCommentResolved {
        /// The comment.
        comment: CommentId,
        /// Resolved?
        resolved: bool,
    },
    /// Opens a reporting round.
    OpenRound {
        /// Where its id comes from.
        seed: u64,
        /// The period it reports on.
        period: ReportingPeriod,
        /// The deadline for updates.
        deadline: String,
        /// The Board's meeting, if set.
        meeting: Option<String>,
        /// Today (`YYYY-MM-DD`).
        today: String,
        /// Who opens it.
        by: String,
    },
    /// Sets which days before the deadline leads are reminded.
    SetRoundReminders {
        /// The round.
        round: RoundId,
        /// Days before the deadline.
        days: Vec<u32>,
    },
    /// Closes a round.
    CloseRound {
        /// The round.
        round: RoundId,
        /// Today (`YYYY-MM-DD`).
        today: String,
        /// Who closes it.
        by: String,
    },
}

/// A source of randomness that gives one number: an item made from a seed gets the id
/// the seed names, wherever the operation is applied.
struct Seeded(u64);

impl RngCore for Seeded {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        // Ids take one number; should an operation draw more, they differ yet stay
        // determined by the seed.
        let n = self.0;
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
        n
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let n = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&n[..chunk.len()]);
        }
    }
}

impl PlanOp {
    /// A seed for an operation that makes an item, from `rng`.
    pub fn seed(rng: &mut dyn RngCore) -> u64 {
        rng.next_u64()
    }

    /// The id of the item this operation makes, if it makes one.
    pub fn made(&self) -> Option<String> {
        use PlanOp::*;
        let r = &mut Seeded(self.seed_of()?);
        Some(match self {
            AddMilestone { .. } => MilestoneId::random(r).to_string(),
            AddTheme { .. } => ThemeId::random(r).to_string(),
            AddObjective { .. } => ObjectiveId::random(r).to_string(),
            AddAction { .. } => ActionId::random(r).to_string(),
            AddProgressUpdate { .. } => UpdateId::random(r).to_string(),
            AddIndicator { .. } => IndicatorId::random(r).to_string(),
            AddComment { .. } => CommentId::random(r).to_string(),
            OpenRound { .. } => RoundId::random(r).to_string(),
            _ => return None,
        })
    }

    fn seed_of(&self) -> Option<u64> {
        use PlanOp::*;
        match self {
            AddMilestone { seed, .. }
            | AddTheme { seed, .. }
            | AddObjective { seed, .. }
            | AddAction { seed, .. }
            | AddProgressUpdate { seed, .. }
            | AddIndicator { seed, .. }
            | AddComment { seed, .. }
            | OpenRound { seed, .. } => Some(*seed),
            _ => None,
        }
    }

    /// Applies the operation to the plan (uncommitted: wrap it in [`PlanDoc::change`]).
    pub fn apply(&self, p: &mut PlanDoc) -> Result<()> {
        use PlanOp::*;
        let r = &mut Seeded(self.seed_of().unwrap_or_default());
        match self {
            SetText { field, was, text } => {
                let now = p.text(field)?;
                p.set_text(field, &crate::rebase_typing(was, text, &now))
            }
            SetStage { stage } => p.set_stage(*stage),
            AddMilestone { name, due, .. } => p.add_milestone(r, name, due.as_deref()).map(drop),
            SetMilestoneDone { milestone, done } => p.set_milestone_done(milestone, *done),
            SetMilestoneDue { milestone, due } => p.set_milestone_due(milestone, due.as_deref()),
            RemoveMilestone { milestone } => p.remove_milestone(milestone),
            AddTheme { title, index, .. } => p.add_theme(r, title, *index).map(drop),
            MoveTheme { theme, index } => p.move_theme(theme, *index),
            RemoveTheme { theme } => p.remove_theme(theme),
            AddOutcome { theme, text, index } => p.add_outcome(theme, text, *index),
            RemoveOutcome { theme, index } => p.remove_outcome(theme, *index),
            AddObjective {
                theme, text, index, ..
            } => p.add_objective(r, theme, text, *index).map(drop),
            MoveObjective {
                objective,
                theme,
                index,
            } => p.move_objective(objective, theme, *index),
            RemoveObjective { objective } => p.remove_objective(objective),
            SetDecision {
                objective,
                decision,
            } => p.set_decision(objective, *decision),
            AddAction {
                objective,
                title,
                index,
                ..
            } => p.add_action(r, objective, title, *index).map(drop),
            MoveAction {
                action,
                objective,
                index,
            } => p.move_action(action, objective, *index),
            RemoveAction { action } => p.remove_action(action),
            SetRag {
                action,
                period,
                rag,
            } => p.set_rag(action, *period, *rag),
            AddProgressUpdate {
                action,
                author,
                agency,
                date,
                text,
                known,
                ..
            } => {
                let u = p.add_progress_update(r, action, author, agency, date, text)?;
                known
                    .as_ref()
                    .map_or(Ok(()), |k| p.set_update_known(action, &u, k))
            }
            SetLeadBoard { action, board } => p.set_lead_board(action, board.as_ref()),
            SetContributingBoard {
                action,
                board,
                contributes,
            } => p.set_contributing_board(action, board, *contributes),
            SetLead { action, lead } => p.set_lead(action, lead.as_ref()),
            SetDue { action, due } => p.set_due(action, due.as_deref()),
            SetProgressState { action, state } => p.set_progress_state(action, *state),
            AddIndicator {
                name,
                unit,
                polarity,
                target,
                tolerance,
                ..
            } => p
                .add_indicator(r, name, unit, *polarity, *target, *tolerance)
                .map(drop),
            SetIndicatorMeasure {
                indicator,
                unit,
                polarity,
                target,
                tolerance,
            } => p.set_indicator_measure(indicator, unit, *polarity, *target, *tolerance),
            SetIndicatorValue {
                indicator,
                period,
                value,
            } => p.set_indicator_value(indicator, *period, *value),
            ClearIndicatorValue { indicator, period } => {
                p.clear_indicator_value(indicator, *period)
            }
            SetDirectionOverride { item, period, set } => {
                p.set_direction_override(item, *period, set.as_ref())
            }
            AddComment {
                target,
                author,
                agency,
                date,
                text,
                known,
                ..
            } => {
                let c = p.add_comment(r, target, author, agency, date, text)?;
                known
                    .as_ref()
                    .map_or(Ok(()), |k| p.set_comment_known(&c, k))
            }
            SetCommentResolved { comment, resolved } => p.set_comment_resolved(comment, *resolved),
            OpenRound {
                period,
                deadline,
                meeting,
                today,
                by,
                ..
            } => p
                .open_round(r, *period, deadline, meeting.as_deref(), today, by)
                .map(drop),
            SetRoundReminders { round, days } => p.set_round_reminders(round, days),
            CloseRound { round, today, by } => p.close_round(round, today, by),
        }
    }
}

#[cfg(test)]
mod tests;
