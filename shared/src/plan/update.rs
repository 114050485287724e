//! Keeping a typed plan up to date with its document from automerge's patches: only the
//! actions, objectives, indicators and comments a change touched are read again, so one
//! remote edit to a plan of thousands of actions costs one action, not the whole plan.
//! Anything else (the order of items, themes, people, the plan's own fields) reads the
//! whole plan again, which is always correct.

use super::layout::get_obj;
use super::read::{read_plan, sort_comments, Reader};
use crate::ids::{CommentId, ObjectiveId};
use crate::plan::model::*;
use crate::Result;
use automerge::{AutoCommit, PatchAction, Prop, ROOT};
use serde::{Deserialize, Serialize};
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

/// What changed in a typed plan, to bring another copy of it (the page's, say, kept by
/// a sync worker that holds the document) up to date: [`PlanPatch::apply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlanPatch {
    /// The whole plan, read again.
    Whole(Box<Plan>),
    /// Only these items changed, each given whole as it is now.
    Items(Vec<ItemPatch>),
}

/// One item as it is now, in place of the copy's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ItemPatch {
    /// An action (all of it).
    Action(Action),
    /// An objective's wording and review (its actions come as actions).
    Objective {
        /// The objective.
        id: ObjectiveId,
        /// Its wording.
        text: String,
        /// Its workshop review.
        review: WorkshopReview,
    },
    /// An indicator (all of it).
    Indicator(Indicator),
    /// A comment, or `None` where it was removed.
    Comment(CommentId, Option<Comment>),
}

impl PlanPatch {
    /// Brings `plan` up to date; `false` if an item is not where `plan` has it (the copy
    /// was not the one the patch was made against): ask for the whole plan.
    pub fn apply(self, plan: &mut Plan) -> bool {
        match self {
            PlanPatch::Whole(p) => {
                *plan = *p;
                true
            }
            PlanPatch::Items(items) => items.into_iter().all(|i| i.place(plan)),
        }
    }
}

impl ItemPatch {
    /// Puts the item in `plan` in place of its old copy; `false` if `plan` has none.
    fn place(self, plan: &mut Plan) -> bool {
        match self {
            ItemPatch::Action(a) => match action_mut(plan, a.id.as_str()) {
                Some(slot) => {
                    *slot = a;
                    true
                }
                None => false,
            },
            ItemPatch::Objective { id, text, review } => {
                let Some(o) = plan
                    .themes
                    .iter_mut()
                    .flat_map(|t| &mut t.objectives)
                    .find(|o| o.id == id)
                else {
                    return false;
                };
                o.text = text;
                o.review = review;
                true
            }
            ItemPatch::Indicator(i) => match plan.indicators.iter_mut().find(|x| x.id == i.id) {
                Some(slot) => {
                    *slot = i;
                    true
                }
                None => false,
            },
            ItemPatch::Comment(id, comment) => {
                plan.comments.retain(|c| c.id != id);
                plan.comments.extend(comment);
                sort_comments(&mut plan.comments);
                true
            }
        }
    }
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
    Ok(match plan_patch(plan, doc)? {
        None => PlanUpdate::Unchanged,
        Some(PlanPatch::Whole(_)) => PlanUpdate::Whole,
        Some(PlanPatch::Items(items)) => PlanUpdate::Items(items.len()),
    })
}

/// [`update_plan`], also saying what changed (`None`: nothing), for another copy of the
/// plan to follow with [`PlanPatch::apply`].
pub fn plan_patch(plan: &mut Plan, doc: &mut AutoCommit) -> Result<Option<PlanPatch>> {
    let whole = |plan: &mut Plan, read: Plan| {
        *plan = read;
        Ok(Some(PlanPatch::Whole(Box::new(plan.clone()))))
    };
    if doc.diff_cursor().is_empty() {
        // Not recording (a document loaded or replaced since): read it whole.
        let read = read_plan_tracked(doc)?;
        return whole(plan, read);
    }
    if doc.diff_cursor() == doc.get_heads() {
        return Ok(None);
    }
    let patches = doc.diff_incremental();
    let mut touched = BTreeSet::new();
    for p in &patches {
        match touched_by(&p.path, &p.action) {
            Some(t) => {
                touched.insert(t);
            }
            None => return whole(plan, read_plan(doc)?),
        }
    }
    let mut items = Vec::with_capacity(touched.len());
    for t in touched {
        match reread(doc, &t)? {
            Some(item) if item.clone().place(plan) => items.push(item),
            _ => return whole(plan, read_plan(doc)?),
        }
    }
    Ok(Some(PlanPatch::Items(items)))
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

/// Reads one touched item again as it is in `doc`; `None` if it is not there (removed),
/// so the whole plan must be read.
fn reread(doc: &AutoCommit, t: &Touched) -> Result<Option<ItemPatch>> {
    let r = Reader { doc };
    let item = |collection: &str, id: &str| -> Result<Option<automerge::ObjId>> {
        match get_obj(doc, &ROOT, collection)? {
            Some(map) => get_obj(doc, &map, id),
            None => Ok(None),
        }
    };
    Ok(match t {
        Touched::Action(id) => match item("actions", id)? {
            Some(obj) => Some(ItemPatch::Action(r.action(id.clone(), &obj)?)),
            None => None,
        },
        Touched::Objective(id) => match item("objectives", id)? {
            Some(obj) => Some(ItemPatch::Objective {
                id: ObjectiveId::new(id.clone()),
                text: r.text(&obj, "text")?,
                review: r.review(&obj)?,
            }),
            None => None,
        },
        Touched::Indicator(id) => match item("indicators", id)? {
            Some(obj) => Some(ItemPatch::Indicator(r.indicator(id.clone(), &obj)?)),
            None => None,
        },
        Touched::Comment(id) => {
            let comment = match item("comments", id)? {
                Some(obj) => r.comment(id.clone(), &obj)?,
                None => None,
            };
            Some(ItemPatch::Comment(CommentId::new(id.clone()), comment))
        }
    })
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
    fn a_copy_that_follows_the_patches_stays_equal_to_the_document() {
        let (mut doc, mut rng) = demo();
        let mut plan = read_plan_tracked(doc.automerge_mut()).unwrap();
        // The page's copy, sent across once and then only patches.
        let mut page = plan.clone();
        let a = plan.themes[0].objectives[0].actions[0].id.clone();
        let o = plan.themes[0].objectives[0].id.clone();
        let i = plan.indicators[0].id.clone();
        let target = CommentTarget::Action(a.clone());
        let q4 = ReportingPeriod::from_key("2026-Q4").unwrap();
        type Edit<'a> = Box<dyn Fn(&mut PlanDoc, &mut rand::rngs::StdRng) + 'a>;
        let edits: Vec<Edit> = vec![
            Box::new(|p, _| p.set_rag(&a, q4, Rag::Green).unwrap()),
            Box::new(|p, _| p.set_decision(&o, Decision::Drop).unwrap()),
            Box::new(|p, _| p.set_indicator_value(&i, q4, 7.0).unwrap()),
            Box::new(|p, rng| {
                p.add_comment(rng, &target, "Analyst", "Police", "2026-11-30", "Funded?")
                    .map(drop)
                    .unwrap()
            }),
            Box::new(|p, rng| p.add_action(rng, &o, "New", Some(0)).map(drop).unwrap()),
            Box::new(|p, _| p.set_text(&TextField::PlanTitle, "Renamed").unwrap()),
        ];
        let mut kinds = Vec::new();
        for edit in &edits {
            let mut other = doc.fork(&mut rng);
            edit(&mut other, &mut rng);
            other.commit();
            doc.automerge_mut().merge(other.automerge_mut()).unwrap();
            let patch = plan_patch(&mut plan, doc.automerge_mut()).unwrap().unwrap();
            kinds.push(matches!(patch, PlanPatch::Items(_)));
            // The patch goes across as bytes, as it does to the page.
            let sent: PlanPatch =
                serde_json::from_slice(&serde_json::to_vec(&patch).unwrap()).unwrap();
            assert!(sent.apply(&mut page));
            assert_eq!(page, doc.read().unwrap());
        }
        assert_eq!(kinds, [true, true, true, true, false, false]);
        assert!(plan_patch(&mut plan, doc.automerge_mut())
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_patch_for_an_item_the_copy_lacks_asks_for_the_whole_plan() {
        let (doc, _) = demo();
        let mut plan = doc.read().unwrap();
        let mut other = plan.clone();
        other.themes[0].objectives[0].actions[0].id = crate::ActionId::new("action-elsewhere");
        let patch = PlanPatch::Items(vec![ItemPatch::Action(
            other.themes[0].objectives[0].actions[0].clone(),
        )]);
        assert!(!patch.apply(&mut plan));
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
