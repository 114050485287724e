//! Keeping a typed plan up to date with its document from automerge's patches: only the
//! actions, objectives, indicators and comments a change touched are read again, so one
//! remote edit to a plan of thousands of actions costs one action, not the whole plan.
//! Anything else (the order of items, themes, people, the plan's own fields) reads the
//! whole plan again, which is always correct.

use super::layout::get_obj;
use super::read::{read_plan, sort_comments, Reader};
use crate::plan::model::*;
use crate::Result;
use automerge::{AutoCommit, PatchAction, Prop, ROOT};
use std::collections::BTreeSet;

/// What bringing a typed plan up to date took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanUpdate {
    /// The document has not changed since the plan was read.
    Unchanged,
    /// Only these items were read again.
    Items(usize),
    /// The whole plan was read again.
    Whole,
}

/// One item a patch touched.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Touched {
    Action(String),
    Objective(String),
    Indicator(String),
    Comment(String),
}

/// Reads the whole plan from `doc` and starts recording its changes, so that
/// [`update_plan`] can bring the result up to date cheaply.
pub fn read_plan_tracked(doc: &mut AutoCommit) -> Result<Plan> {
    let plan = read_plan(doc)?;
    doc.update_diff_cursor();
    Ok(plan)
}

/// Brings `plan`, read by [`read_plan_tracked`] (or brought up to date by this function)
/// from `doc`, up to date with the changes `doc` has had since, and keeps recording.
/// On an error `plan` may be partly updated: read it whole again.
pub fn update_plan(plan: &mut Plan, doc: &mut AutoCommit) -> Result<PlanUpdate> {
    if doc.diff_cursor().is_empty() {
        // Not recording (a document loaded or replaced since): read it whole.
        *plan = read_plan_tracked(doc)?;
        return Ok(PlanUpdate::Whole);
    }
    if doc.diff_cursor() == doc.get_heads() {
        return Ok(PlanUpdate::Unchanged);
    }
    let patches = doc.diff_incremental();
    let mut touched = BTreeSet::new();
    for p in &patches {
        match touched_by(&p.path, &p.action) {
            Some(t) => {
                touched.insert(t);
            }
            None => {
                *plan = read_plan(doc)?;
                return Ok(PlanUpdate::Whole);
            }
        }
    }
    let n = touched.len();
    for t in touched {
        if !reread(plan, doc, &t)? {
            *plan = read_plan(doc)?;
            return Ok(PlanUpdate::Whole);
        }
    }
    Ok(PlanUpdate::Items(n))
}

/// The item a patch at `path` touched, or `None` when only reading the whole plan again
/// is sure to be right.
fn touched_by(path: &[(automerge::ObjId, Prop)], action: &PatchAction) -> Option<Touched> {
    let collection = match path.first() {
        Some((_, Prop::Map(k))) => k.as_str(),
        _ => return None,
    };
    let key = match (path.get(1), action) {
        (Some((_, Prop::Map(k))), _) => k.clone(),
        // A comment added or removed (comments are not kept in an order list).
        (None, PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key })
            if collection == "comments" =>
        {
            key.clone()
        }
        _ => return None,
    };
    match collection {
        "actions" => Some(Touched::Action(key)),
        // An objective's list of actions is its part of the plan's order.
        "objectives" => match path.get(2) {
            Some((_, Prop::Map(k))) if k == "actions" => None,
            None if matches!(action, PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } if key == "actions") => {
                None
            }
            _ => Some(Touched::Objective(key)),
        },
        "indicators" => Some(Touched::Indicator(key)),
        "comments" => Some(Touched::Comment(key)),
        _ => None,
    }
}

/// Reads one touched item again into `plan`; `false` if it is not where the plan has it
/// (added or removed), so the whole plan must be read.
fn reread(plan: &mut Plan, doc: &AutoCommit, t: &Touched) -> Result<bool> {
    let r = Reader { doc };
    let item = |collection: &str, id: &str| -> Result<Option<automerge::ObjId>> {
        match get_obj(doc, &ROOT, collection)? {
            Some(map) => get_obj(doc, &map, id),
            None => Ok(None),
        }
    };
    match t {
        Touched::Action(id) => {
            let (Some(slot), Some(obj)) = (action_mut(plan, id), item("actions", id)?) else {
                return Ok(false);
            };
            *slot = r.action(id.clone(), &obj)?;
        }
        Touched::Objective(id) => {
            let Some(obj) = item("objectives", id)? else {
                return Ok(false);
            };
            let Some(o) = plan
                .themes
                .iter_mut()
                .flat_map(|t| &mut t.objectives)
                .find(|o| o.id.as_str() == id)
            else {
                return Ok(false);
            };
            o.text = r.text(&obj, "text")?;
            o.review = r.review(&obj)?;
        }
        Touched::Indicator(id) => {
            let (Some(slot), Some(obj)) = (
                plan.indicators.iter_mut().find(|i| i.id.as_str() == id),
                item("indicators", id)?,
            ) else {
                return Ok(false);
            };
            *slot = r.indicator(id.clone(), &obj)?;
        }
        Touched::Comment(id) => {
            plan.comments.retain(|c| c.id.as_str() != id);
            if let Some(obj) = item("comments", id)? {
                plan.comments.extend(r.comment(id.clone(), &obj)?);
            }
            sort_comments(&mut plan.comments);
        }
    }
    Ok(true)
}

fn action_mut<'a>(plan: &'a mut Plan, id: &str) -> Option<&'a mut Action> {
    plan.themes
        .iter_mut()
        .flat_map(|t| &mut t.objectives)
        .flat_map(|o| &mut o.actions)
        .find(|a| a.id.as_str() == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanDoc, TextField};
    use crate::{demo_plan, ReportingPeriod};
    use rand::SeedableRng;

    fn demo() -> (PlanDoc, rand::rngs::StdRng) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        (demo_plan(&mut rng).unwrap(), rng)
    }

    /// Applies `edit` on a fork (a remote peer), merges it back, and checks that the
    /// updated plan equals a fresh read; returns what the update took.
    fn remote(
        doc: &mut PlanDoc,
        plan: &mut Plan,
        rng: &mut rand::rngs::StdRng,
        edit: impl FnOnce(&mut PlanDoc, &mut rand::rngs::StdRng),
    ) -> PlanUpdate {
        let mut other = doc.fork(rng);
        edit(&mut other, rng);
        other.commit();
        doc.automerge_mut().merge(other.automerge_mut()).unwrap();
        let how = update_plan(plan, doc.automerge_mut()).unwrap();
        assert_eq!(*plan, doc.read().unwrap(), "after {how:?}");
        how
    }

    #[test]
    fn a_remote_edit_to_one_action_rereads_only_that_action() {
        let (mut doc, mut rng) = demo();
        let mut plan = read_plan_tracked(doc.automerge_mut()).unwrap();
        let id = plan.themes[1].objectives[0].actions[0].id.clone();
        let how = remote(&mut doc, &mut plan, &mut rng, |p, _| {
            p.splice_text(&TextField::ActionTitle(id.clone()), 0, 0, "Urgent: ")
                .unwrap();
            p.set_rag(&id, ReportingPeriod::from_key("2026-Q3").unwrap(), Rag::Red)
                .unwrap();
        });
        assert_eq!(how, PlanUpdate::Items(1));
        assert!(plan.themes[1].objectives[0].actions[0]
            .title
            .starts_with("Urgent: "));
    }

    #[test]
    fn nothing_changed_reads_nothing_and_a_second_update_sees_only_new_changes() {
        let (mut doc, mut rng) = demo();
        let mut plan = read_plan_tracked(doc.automerge_mut()).unwrap();
        assert_eq!(
            update_plan(&mut plan, doc.automerge_mut()).unwrap(),
            PlanUpdate::Unchanged
        );
        let a = plan.themes[0].objectives[0].actions[0].id.clone();
        let b = plan.themes[0].objectives[0].actions[1].id.clone();
        remote(&mut doc, &mut plan, &mut rng, |p, _| {
            p.set_due(&a, Some("2027-01-01")).unwrap();
        });
        let how = remote(&mut doc, &mut plan, &mut rng, |p, _| {
            p.set_due(&b, Some("2027-02-01")).unwrap();
        });
        assert_eq!(how, PlanUpdate::Items(1));
    }

    #[test]
    fn comments_added_edited_and_resolved_are_read_as_items() {
        let (mut doc, mut rng) = demo();
        let mut plan = read_plan_tracked(doc.automerge_mut()).unwrap();
        let target = CommentTarget::Action(plan.themes[0].objectives[0].actions[0].id.clone());
        let how = remote(&mut doc, &mut plan, &mut rng, |p, rng| {
            p.add_comment(
                rng,
                &target,
                "Analyst",
                "Police",
                "2026-11-30",
                "Is this funded?",
            )
            .unwrap();
        });
        assert_eq!(how, PlanUpdate::Items(1));
        let id = plan
            .comments
            .iter()
            .find(|c| c.text == "Is this funded?")
            .unwrap()
            .id
            .clone();
        let how = remote(&mut doc, &mut plan, &mut rng, |p, _| {
            p.set_comment_resolved(&id, true).unwrap();
        });
        assert_eq!(how, PlanUpdate::Items(1));
    }

    #[test]
    fn objective_wording_and_indicator_values_are_read_as_items() {
        let (mut doc, mut rng) = demo();
        let mut plan = read_plan_tracked(doc.automerge_mut()).unwrap();
        let o = plan.themes[0].objectives[0].id.clone();
        let i = plan.indicators[0].id.clone();
        let how = remote(&mut doc, &mut plan, &mut rng, |p, _| {
            p.set_decision(&o, Decision::Amend).unwrap();
            p.set_indicator_value(&i, ReportingPeriod::from_key("2026-Q4").unwrap(), 42.0)
                .unwrap();
        });
        assert_eq!(how, PlanUpdate::Items(2));
    }

    #[test]
    fn adding_moving_or_removing_items_reads_the_whole_plan() {
        let (mut doc, mut rng) = demo();
        let mut plan = read_plan_tracked(doc.automerge_mut()).unwrap();
        let o = plan.themes[0].objectives[0].id.clone();
        let how = remote(&mut doc, &mut plan, &mut rng, |p, rng| {
            p.add_action(rng, &o, "A new action", None).unwrap();
        });
        assert_eq!(how, PlanUpdate::Whole);
        let how = remote(&mut doc, &mut plan, &mut rng, |p, _| {
            p.set_text(&TextField::PlanTitle, "A new title").unwrap();
        });
        assert_eq!(how, PlanUpdate::Whole);
    }

    #[test]
    fn a_document_not_recording_is_read_whole() {
        let (mut doc, _) = demo();
        let mut plan = doc.read().unwrap();
        plan.title = "stale".into();
        let how = update_plan(&mut plan, doc.automerge_mut()).unwrap();
        assert_eq!(how, PlanUpdate::Whole);
        assert_eq!(plan, doc.read().unwrap());
    }
}
