//! Comparing two versions of a plan (two snapshots, or a snapshot and now): what the Police
//! and Crime Panel asks when it says "what changed since January".

use crate::period::ReportingPeriod;
use crate::plan::{Action, Indicator, Milestone, Objective, Plan, ProgressUpdate, Rag, Theme};
use serde::{Deserialize, Serialize};
use similar::{capture_diff_slices, Algorithm, DiffOp};
use std::collections::{BTreeSet, HashMap};

/// What kind of item a difference is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// The plan itself (title, stage, ...).
    Plan,
    /// A theme.
    Theme,
    /// An objective.
    Objective,
    /// An action.
    Action,
    /// An indicator.
    Indicator,
    /// A milestone.
    Milestone,
}

impl ItemKind {
    /// The word used in sentences ("action").
    pub fn word(self) -> &'static str {
        match self {
            ItemKind::Plan => "plan",
            ItemKind::Theme => "theme",
            ItemKind::Objective => "objective",
            ItemKind::Action => "action",
            ItemKind::Indicator => "indicator",
            ItemKind::Milestone => "milestone",
        }
    }
}

/// Whether a run of words is in both versions, only the old one or only the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WordChange {
    /// In both.
    Same,
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
}

/// A run of words and whether it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Words {
    /// Same, added or removed.
    pub change: WordChange,
    /// The words, with their spacing.
    pub text: String,
}

/// What changed about one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// New since the old version.
    Added,
    /// Gone in the new version.
    Removed,
    /// In another place: another parent (named), or another position among the same items.
    Moved {
        /// Where it was (the parent's name).
        from: String,
        /// Where it is.
        to: String,
    },
    /// A text field reads differently; `words` marks what was added and removed.
    Reworded {
        /// Which field ("title", "aim", ...).
        field: String,
        /// The words of both versions, marked.
        words: Vec<Words>,
    },
    /// An action's RAG for one period changed.
    Rag {
        /// The reporting period.
        period: ReportingPeriod,
        /// RAG in the old version.
        before: Option<Rag>,
        /// RAG in the new version.
        after: Option<Rag>,
    },
    /// A progress update was added to an action.
    ProgressUpdate {
        /// The update.
        update: ProgressUpdate,
    },
    /// An indicator's value for one period is new or changed.
    IndicatorValue {
        /// The reporting period.
        period: ReportingPeriod,
        /// Value in the old version.
        before: Option<f64>,
        /// Value in the new version.
        after: Option<f64>,
    },
    /// Another field changed (lead, lead board, due date, progress state, decision, stage...).
    Field {
        /// Which field.
        field: String,
        /// Old value, in words ("" if not set).
        before: String,
        /// New value, in words.
        after: String,
    },
}

/// One difference between two versions of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// What kind of item.
    pub kind: ItemKind,
    /// Its id ("" for the plan).
    pub id: String,
    /// Its name (title, wording) in the newer version if it is there, else the older.
    pub name: String,
    /// The title of the theme it belongs to, for grouping.
    pub theme: String,
    /// What changed.
    pub change: Change,
}

impl Difference {
    /// The difference as one plain sentence, e.g. "Action 'Reduce repeat burglary': RAG for
    /// 2026/27 Q2 amber → red".
    pub fn describe(&self) -> String {
        let what = if self.kind == ItemKind::Plan {
            "The plan".to_string()
        } else {
            let mut w = self.kind.word().to_string();
            w[..1].make_ascii_uppercase();
            format!("{w} '{}'", self.name)
        };
        match &self.change {
            Change::Added => format!("{what} added"),
            Change::Removed => format!("{what} removed"),
            Change::Moved { from, to } if from == to => format!("{what} moved within {to}"),
            Change::Moved { from, to } => format!("{what} moved from {from} to {to}"),
            Change::Reworded { field, words } => {
                let removed = joined(words, WordChange::Removed);
                let added = joined(words, WordChange::Added);
                match (removed.is_empty(), added.is_empty()) {
                    (true, _) => format!("{what}: {field} reworded, added \"{added}\""),
                    (_, true) => format!("{what}: {field} reworded, removed \"{removed}\""),
                    _ => format!("{what}: {field} reworded, \"{removed}\" → \"{added}\""),
                }
            }
            Change::Rag {
                period,
                before,
                after,
            } => format!(
                "{what}: RAG for {period} {} → {}",
                before.map_or("not set", Rag::as_str),
                after.map_or("not set", Rag::as_str)
            ),
            Change::ProgressUpdate { update } => format!(
                "{what}: progress update by {} on {}: {}",
                update.by(),
                update.date,
                update.text
            ),
            Change::IndicatorValue {
                period,
                before,
                after,
            } => format!(
                "{what}: value for {period} {} → {}",
                before.map_or("none".into(), |v| v.to_string()),
                after.map_or("none".into(), |v| v.to_string())
            ),
            Change::Field {
                field,
                before,
                after,
            } => format!(
                "{what}: {field} {} → {}",
                if before.is_empty() { "not set" } else { before },
                if after.is_empty() { "not set" } else { after }
            ),
        }
    }
}

fn joined(words: &[Words], which: WordChange) -> String {
    words
        .iter()
        .filter(|w| w.change == which)
        .map(|w| w.text.trim())
        .collect::<Vec<_>>()
        .join(" … ")
}

/// The words of `old` and `new`, each run marked same, added or removed.
pub fn word_diff(old: &str, new: &str) -> Vec<Words> {
    let (a, b) = (words(old), words(new));
    let mut out: Vec<Words> = Vec::new();
    let mut push = |change: WordChange, parts: &[&str]| {
        for part in parts {
            match out.last_mut() {
                Some(last) if last.change == change => last.text.push_str(part),
                _ => out.push(Words {
                    change,
                    text: (*part).to_string(),
                }),
            }
        }
    };
    for op in capture_diff_slices(Algorithm::Myers, &a, &b) {
        match op {
            DiffOp::Equal { old_index, len, .. } => {
                push(WordChange::Same, &a[old_index..old_index + len])
            }
            DiffOp::Delete {
                old_index, old_len, ..
            } => push(WordChange::Removed, &a[old_index..old_index + old_len]),
            DiffOp::Insert {
                new_index, new_len, ..
            } => push(WordChange::Added, &b[new_index..new_index + new_len]),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                push(WordChange::Removed, &a[old_index..old_index + old_len]);
                push(WordChange::Added, &b[new_index..new_index + new_len]);
            }
        }
    }
    out
}

/// `text` as runs of word characters and runs of whitespace, in order (together they are
/// `text`).
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut was_space = None;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if was_space.is_some_and(|w| w != space) {
            out.push(&text[start..i]);
            start = i;
        }
        was_space = Some(space);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Where each item sits in one version: its parent's id and name, and its position.
struct Placed<'a, T> {
    item: &'a T,
    parent: &'a str,
    parent_name: &'a str,
    theme: &'a str,
}

/// One kind of placed item in the old version and in the new, by id.
type Versions<'v, 'a, T> = (
    &'v [(&'a str, Placed<'a, T>)],
    &'v [(&'a str, Placed<'a, T>)],
);

struct Index<'a> {
    themes: Vec<(&'a str, Placed<'a, Theme>)>,
    objectives: Vec<(&'a str, Placed<'a, Objective>)>,
    actions: Vec<(&'a str, Placed<'a, Action>)>,
}

fn index(plan: &Plan) -> Index<'_> {
    let mut ix = Index {
        themes: vec![],
        objectives: vec![],
        actions: vec![],
    };
    for t in &plan.themes {
        ix.themes.push((
            t.id.as_str(),
            Placed {
                item: t,
                parent: "",
                parent_name: "the plan",
                theme: &t.title,
            },
        ));
        for o in &t.objectives {
            ix.objectives.push((
                o.id.as_str(),
                Placed {
                    item: o,
                    parent: t.id.as_str(),
                    parent_name: &t.title,
                    theme: &t.title,
                },
            ));
            for a in &o.actions {
                ix.actions.push((
                    a.id.as_str(),
                    Placed {
                        item: a,
                        parent: o.id.as_str(),
                        parent_name: &o.text,
                        theme: &t.title,
                    },
                ));
            }
        }
    }
    ix
}

/// Items present in both versions that changed parent, or whose order among the items that
/// stayed in the same parent changed (the fewest such items that explain the new order).
fn moved<'a, T>(
    old: &[(&'a str, Placed<'a, T>)],
    new: &[(&'a str, Placed<'a, T>)],
) -> Vec<&'a str> {
    let old_parent: HashMap<&str, &str> = old.iter().map(|(id, p)| (*id, p.parent)).collect();
    let new_parent: HashMap<&str, &str> = new.iter().map(|(id, p)| (*id, p.parent)).collect();
    let mut out = vec![];
    let stayed = |id: &&str| {
        old_parent
            .get(id)
            .is_some_and(|p| new_parent.get(id) == Some(p))
    };
    for (id, p) in new {
        if old_parent.get(id).is_some_and(|op| *op != p.parent) {
            out.push(*id);
        }
    }
    let a: Vec<(&str, &str)> = old
        .iter()
        .map(|(id, p)| (*id, p.parent))
        .filter(|(id, _)| stayed(id))
        .collect();
    let b: Vec<(&str, &str)> = new
        .iter()
        .map(|(id, p)| (*id, p.parent))
        .filter(|(id, _)| stayed(id))
        .collect();
    for op in capture_diff_slices(Algorithm::Myers, &a, &b) {
        if let DiffOp::Insert {
            new_index, new_len, ..
        }
        | DiffOp::Replace {
            new_index, new_len, ..
        } = op
        {
            out.extend(b[new_index..new_index + new_len].iter().map(|(id, _)| *id));
        }
    }
    out
}

/// The items of `old` that are not in `new`.
fn gone<'o, 'a, T>(
    old: &'o [(&'a str, Placed<'a, T>)],
    new: &[(&'a str, Placed<'a, T>)],
) -> impl Iterator<Item = &'o (&'a str, Placed<'a, T>)> {
    let kept: std::collections::HashSet<&str> = new.iter().map(|(i, _)| *i).collect();
    old.iter().filter(move |(id, _)| !kept.contains(id))
}

/// The differences found for one item, pushed as they are found.
struct Item<'d> {
    out: &'d mut Vec<Difference>,
    kind: ItemKind,
    id: &'d str,
    name: &'d str,
    theme: &'d str,
}

impl Item<'_> {
    fn push(&mut self, change: Change) {
        self.out.push(Difference {
            kind: self.kind,
            id: self.id.to_string(),
            name: self.name.to_string(),
            theme: self.theme.to_string(),
            change,
        });
    }

    /// A text field reworded, shown word by word.
    fn text(&mut self, field: &str, before: &str, after: &str) {
        if before != after {
            self.push(Change::Reworded {
                field: field.into(),
                words: word_diff(before, after),
            });
        }
    }

    /// A field whose values differ (`changed`), shown before and after.
    fn field(&mut self, changed: bool, field: &str, before: String, after: String) {
        if changed {
            self.push(Change::Field {
                field: field.into(),
                before,
                after,
            });
        }
    }
}

/// Every difference from `old` to `new`, in plan order (the plan, then themes, objectives
/// and actions as they stand in `new`, removed items after, then indicators and milestones).
pub fn compare(old: &Plan, new: &Plan) -> Vec<Difference> {
    let (oi, ni) = (index(old), index(new));
    let mut out = Vec::new();
    plan_fields(old, new, &mut out);
    placed(
        &mut out,
        ItemKind::Theme,
        (&oi.themes, &ni.themes),
        |t| &t.title,
        |_| "the plan".into(),
        |o, n, item| theme_fields(old, new, o, n, item),
    );
    placed(
        &mut out,
        ItemKind::Objective,
        (&oi.objectives, &ni.objectives),
        |o| &o.text,
        |p| format!("theme '{}'", p.parent_name),
        objective_fields,
    );
    placed(
        &mut out,
        ItemKind::Action,
        (&oi.actions, &ni.actions),
        |a| &a.title,
        |p| format!("objective '{}'", p.parent_name),
        |o, n, item| action_fields(old, new, o, n, item),
    );
    // Removed items, biggest first.
    removed(&mut out, ItemKind::Theme, (&oi.themes, &ni.themes), |t| {
        &t.title
    });
    removed(
        &mut out,
        ItemKind::Objective,
        (&oi.objectives, &ni.objectives),
        |o| &o.text,
    );
    removed(
        &mut out,
        ItemKind::Action,
        (&oi.actions, &ni.actions),
        |a| &a.title,
    );
    listed(
        &mut out,
        ItemKind::Indicator,
        (&old.indicators, &new.indicators),
        |i| (i.id.as_str(), &i.name),
        indicator_fields,
    );
    listed(
        &mut out,
        ItemKind::Milestone,
        (&old.milestones, &new.milestones),
        |m| (m.id.as_str(), &m.name),
        milestone_fields,
    );
    out
}

/// The plan's own fields.
fn plan_fields(old: &Plan, new: &Plan, out: &mut Vec<Difference>) {
    let mut item = Item {
        out,
        kind: ItemKind::Plan,
        id: "",
        name: &new.title,
        theme: "",
    };
    item.text("title", &old.title, &new.title);
    item.text("area", &old.area, &new.area);
    item.text("owning body", &old.owning_body, &new.owning_body);
    item.field(
        old.stage != new.stage,
        "stage",
        old.stage.to_string(),
        new.stage.to_string(),
    );
}

/// Items placed in a parent (themes, objectives, actions), in `new`'s order: each added,
/// moved (from and to the place `place` names) or changed in the fields `fields` compares.
fn placed<'a, T>(
    out: &mut Vec<Difference>,
    kind: ItemKind,
    (old, new): Versions<'_, 'a, T>,
    name: impl Fn(&'a T) -> &'a str,
    place: impl Fn(&Placed<'a, T>) -> String,
    fields: impl Fn(&T, &T, &mut Item),
) {
    let before: HashMap<&str, &Placed<T>> = old.iter().map(|(i, p)| (*i, p)).collect();
    let moved = moved(old, new);
    for (id, p) in new {
        let mut item = Item {
            out: &mut *out,
            kind,
            id,
            name: name(p.item),
            theme: p.theme,
        };
        let Some(op) = before.get(id) else {
            item.push(Change::Added);
            continue;
        };
        if moved.contains(id) {
            item.push(Change::Moved {
                from: place(op),
                to: place(p),
            });
        }
        fields(op.item, p.item, &mut item);
    }
}

/// The placed items of `old` that `new` no longer has.
fn removed<'a, T>(
    out: &mut Vec<Difference>,
    kind: ItemKind,
    (old, new): Versions<'_, 'a, T>,
    name: impl Fn(&'a T) -> &'a str,
) {
    for (id, p) in gone(old, new) {
        Item {
            out: &mut *out,
            kind,
            id,
            name: name(p.item),
            theme: p.theme,
        }
        .push(Change::Removed);
    }
}

/// Items listed on their own (indicators, milestones): each added or changed in `new`'s
/// order, then each removed; `named` gives an item's id and name.
fn listed<T>(
    out: &mut Vec<Difference>,
    kind: ItemKind,
    (old, new): (&[T], &[T]),
    named: impl Fn(&T) -> (&str, &String),
    fields: impl Fn(&T, &T, &mut Item),
) {
    for n in new {
        match old.iter().find(|o| named(o).0 == named(n).0) {
            None => listed_item(out, kind, n, &named).push(Change::Added),
            Some(o) => fields(o, n, &mut listed_item(out, kind, n, &named)),
        }
    }
    for o in old {
        if !new.iter().any(|n| named(n).0 == named(o).0) {
            listed_item(out, kind, o, &named).push(Change::Removed);
        }
    }
}

/// A listed item's differences, pushed to `out`.
fn listed_item<'d, T>(
    out: &'d mut Vec<Difference>,
    kind: ItemKind,
    x: &'d T,
    named: &impl Fn(&T) -> (&str, &String),
) -> Item<'d> {
    let (id, name) = named(x);
    Item {
        out,
        kind,
        id,
        name,
        theme: "",
    }
}

fn theme_fields(old: &Plan, new: &Plan, o: &Theme, t: &Theme, item: &mut Item) {
    item.text("title", &o.title, &t.title);
    item.text("aim", &o.aim, &t.aim);
    if o.outcomes != t.outcomes {
        item.push(Change::Reworded {
            field: "shared outcomes".into(),
            words: word_diff(&o.outcomes.join("\n"), &t.outcomes.join("\n")),
        });
    }
    item.field(
        o.lead != t.lead,
        "theme lead",
        old.person_name(o.lead.as_ref()),
        new.person_name(t.lead.as_ref()),
    );
}

fn objective_fields(o: &Objective, n: &Objective, item: &mut Item) {
    item.text("wording", &o.text, &n.text);
    item.field(
        o.review.decision != n.review.decision,
        "workshop decision",
        o.review.decision.to_string(),
        n.review.decision.to_string(),
    );
    item.text("working group", &o.review.group, &n.review.group);
    item.text("proposed wording", &o.review.proposed, &n.review.proposed);
    item.text("workshop comments", &o.review.comments, &n.review.comments);
}

fn action_fields(old: &Plan, new: &Plan, o: &Action, n: &Action, item: &mut Item) {
    item.text("title", &o.title, &n.title);
    item.text("description", &o.description, &n.description);
    item.text("target", &o.target, &n.target);
    item.field(
        o.lead != n.lead,
        "lead",
        old.person_name(o.lead.as_ref()),
        new.person_name(n.lead.as_ref()),
    );
    item.field(
        o.lead_board != n.lead_board,
        "lead board",
        old.board_name(o.lead_board.as_ref()),
        new.board_name(n.lead_board.as_ref()),
    );
    item.field(
        o.contributing_boards != n.contributing_boards,
        "contributing boards",
        old.board_names(&o.contributing_boards, ", "),
        new.board_names(&n.contributing_boards, ", "),
    );
    item.field(
        o.due != n.due,
        "due",
        o.due.clone().unwrap_or_default(),
        n.due.clone().unwrap_or_default(),
    );
    item.field(
        o.state != n.state,
        "progress",
        o.state.to_string(),
        n.state.to_string(),
    );
    let periods: BTreeSet<_> = o.rag.keys().chain(n.rag.keys()).collect();
    for period in periods {
        let (b, a) = (o.rag.get(period).copied(), n.rag.get(period).copied());
        if b != a {
            item.push(Change::Rag {
                period: *period,
                before: b,
                after: a,
            });
        }
    }
    for u in &n.updates {
        if !o.updates.iter().any(|x| x.id == u.id) {
            item.push(Change::ProgressUpdate { update: u.clone() });
        }
    }
    let periods: BTreeSet<_> = o
        .direction_overrides
        .keys()
        .chain(n.direction_overrides.keys())
        .collect();
    let show = |x: Option<&crate::DirectionOverride>| {
        x.map(|d| format!("{} ({})", d.direction, d.reason))
            .unwrap_or_default()
    };
    for period in periods {
        let (b, a) = (
            o.direction_overrides.get(period),
            n.direction_overrides.get(period),
        );
        item.field(
            b != a,
            &format!("direction of travel for {period}"),
            show(b),
            show(a),
        );
    }
}

fn indicator_fields(o: &Indicator, n: &Indicator, item: &mut Item) {
    item.text("name", &o.name, &n.name);
    for (f, b, a) in [
        ("target", o.target, n.target),
        ("tolerance", o.tolerance, n.tolerance),
    ] {
        item.field(b != a, f, b.to_string(), a.to_string());
    }
    let periods: BTreeSet<_> = o.values.keys().chain(n.values.keys()).collect();
    for period in periods {
        let (b, a) = (o.values.get(period).copied(), n.values.get(period).copied());
        if b != a {
            item.push(Change::IndicatorValue {
                period: *period,
                before: b,
                after: a,
            });
        }
    }
}

fn milestone_fields(o: &Milestone, n: &Milestone, item: &mut Item) {
    let word = |d: bool| if d { "done" } else { "not done" }.to_string();
    item.field(o.done != n.done, "status", word(o.done), word(n.done));
    item.field(
        o.due != n.due,
        "due",
        o.due.clone().unwrap_or_default(),
        n.due.clone().unwrap_or_default(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::Quarter;
    use crate::{demo_plan, TextField};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const Q2: ReportingPeriod = ReportingPeriod {
        year: 2026,
        quarter: Quarter::Q2,
    };

    #[test]
    fn word_diff_marks_only_the_words_that_changed() {
        let w = word_diff(
            "Reduce repeat burglary in the city",
            "Reduce burglary in the city centre",
        );
        let removed: Vec<_> = w
            .iter()
            .filter(|w| w.change == WordChange::Removed)
            .map(|w| w.text.trim())
            .collect();
        let added: Vec<_> = w
            .iter()
            .filter(|w| w.change == WordChange::Added)
            .map(|w| w.text.trim())
            .collect();
        assert_eq!(removed, vec!["repeat"]);
        assert_eq!(added, vec!["centre"]);
        let rebuilt_new: String = w
            .iter()
            .filter(|w| w.change != WordChange::Removed)
            .map(|w| w.text.as_str())
            .collect();
        assert_eq!(rebuilt_new, "Reduce burglary in the city centre");
    }

    #[test]
    fn compare_finds_added_removed_moved_reworded_rag_updates_and_values() {
        let mut r = StdRng::seed_from_u64(5);
        let mut doc = demo_plan(&mut r).unwrap();
        let old = doc.read().unwrap();
        let t0 = &old.themes[0];
        let (o0, o1) = (&t0.objectives[0], &t0.objectives[1]);
        let (a0, a1, gone) = (&o0.actions[0], &o0.actions[1], &o1.actions[0]);
        let new_action = doc
            .add_action(&mut r, &o1.id, "Trial a victims' hub", None)
            .unwrap();
        doc.remove_action(&gone.id).unwrap();
        doc.move_action(&a1.id, &o1.id, 0).unwrap();
        doc.set_text(
            &TextField::ActionTitle(a0.id.clone()),
            &format!("{} faster", a0.title),
        )
        .unwrap();
        doc.set_rag(&a0.id, Q2, Rag::Red).unwrap();
        doc.add_progress_update(
            &mut r,
            &a0.id,
            "Inspector",
            "Police",
            "2026-08-01",
            "Started",
        )
        .unwrap();
        let ind = &old.indicators[0];
        doc.set_indicator_value(&ind.id, Q2, 4242.0).unwrap();
        doc.commit();
        let new = doc.read().unwrap();
        let diffs = compare(&old, &new);
        let has = |id: &str, f: &dyn Fn(&Change) -> bool| {
            diffs.iter().any(|d| d.id == id && f(&d.change))
        };
        assert!(has(new_action.as_str(), &|c| *c == Change::Added));
        assert!(has(gone.id.as_str(), &|c| *c == Change::Removed));
        assert!(has(a1.id.as_str(), &|c| matches!(c, Change::Moved { .. })));
        assert!(has(
            a0.id.as_str(),
            &|c| matches!(c, Change::Reworded { words, .. } if words.iter().any(|w| w.change == WordChange::Added && w.text.trim() == "faster"))
        ));
        assert!(has(a0.id.as_str(), &|c| matches!(
            c,
            Change::Rag {
                after: Some(Rag::Red),
                ..
            }
        )));
        assert!(has(
            a0.id.as_str(),
            &|c| matches!(c, Change::ProgressUpdate { update } if update.text == "Started")
        ));
        assert!(has(
            ind.id.as_str(),
            &|c| matches!(c, Change::IndicatorValue { after: Some(v), .. } if *v == 4242.0)
        ));
        // Nothing else moved: the other actions of both objectives kept their order.
        let moved: Vec<_> = diffs
            .iter()
            .filter(|d| matches!(d.change, Change::Moved { .. }))
            .collect();
        assert_eq!(moved.len(), 1, "{moved:?}");
        assert!(compare(&new, &new).is_empty());
        assert!(diffs.iter().all(|d| !d.describe().is_empty()));
    }
}
