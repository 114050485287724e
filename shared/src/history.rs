//! The history of a plan in plain words: every change, newest first, with what it did
//! ("set RAG of 'Reduce repeat burglary' to amber for 2026/27 Q2"). Works on whatever
//! document is at hand, so the app shows it offline for what the browser holds; the server
//! adds who sent each change and when (it records that as changes arrive).

use crate::period::ReportingPeriod;
use crate::Result;
use automerge::{AutoCommit, ObjType, PatchAction, Prop, ReadDoc, Value, ROOT};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One entry of a plan's history: one change, or a run of one person's typing in one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The changes (automerge change hashes, hex), oldest first.
    pub hashes: Vec<String>,
    /// The automerge actor that made them (one per browser or server).
    pub actor: String,
    /// When the last of them was committed (seconds since 1970, as the editor's clock said;
    /// 0 if the editor did not say).
    pub time: i64,
    /// What it did, in one line.
    pub summary: String,
    /// Everything it did, one sentence each (at most [`MAX_DETAILS`]).
    pub details: Vec<String>,
    /// The themes it touched (ids), for filtering.
    pub themes: Vec<String>,
    /// The message the change was committed with (a restore or an import says what it was).
    pub message: Option<String>,
}

/// The most sentences kept per entry; a plan created with all its content says it in its
/// summary instead.
pub const MAX_DETAILS: usize = 50;

/// Typing in one field by one editor within this many seconds is one entry.
const TYPING_RUN_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Fact {
    PlanCreated,
    PlanField(String),
    Stage(String),
    Created(&'static str, String),
    Removed(&'static str, String),
    Edited(&'static str, String, String),
    Set(&'static str, String, String, String),
    Rag(String, String, String),
    Update(String),
    Value(String, String, String),
    Placed(&'static str, String),
    Boards(String),
    Direction(&'static str, String, String),
}

/// Each collection of the document (LAYOUT.md) and the kind of item it holds.
const COLLECTIONS: [(&str, &str); 9] = [
    ("themes", "theme"),
    ("objectives", "objective"),
    ("actions", "action"),
    ("indicators", "indicator"),
    ("milestones", "milestone"),
    ("agencies", "agency"),
    ("people", "person"),
    ("boards", "board"),
    ("comments", "comment"),
];

/// The kind of item a collection holds.
fn kind_of(collection: &str) -> Option<&'static str> {
    COLLECTIONS
        .iter()
        .find(|(c, _)| *c == collection)
        .map(|(_, k)| *k)
}

/// The collection that holds a kind of item.
fn collection_of(kind: &str) -> Option<&'static str> {
    COLLECTIONS
        .iter()
        .find(|(_, k)| *k == kind)
        .map(|(c, _)| *c)
}

fn name_key(kind: &str) -> &'static str {
    match kind {
        "objective" => "text",
        "action" | "theme" => "title",
        "comment" => "text",
        _ => "name",
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Scalar(s) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => s.to_string(),
            automerge::ScalarValue::Null => String::new(),
            other => other.to_string(),
        },
        Value::Object(_) => String::new(),
    }
}

fn prop_text(p: &Prop) -> String {
    match p {
        Prop::Map(s) => s.clone(),
        Prop::Seq(i) => i.to_string(),
    }
}

/// What one change did, read from the patches it produced.
fn facts(patches: Vec<automerge::Patch>) -> Vec<Fact> {
    let mut out = Vec::new();
    for patch in patches {
        let mut segs: Vec<String> = patch.path.iter().map(|(_, p)| prop_text(p)).collect();
        let is_text_edit = matches!(
            patch.action,
            PatchAction::SpliceText { .. } | PatchAction::DeleteSeq { .. }
        );
        match &patch.action {
            PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                segs.push(key.clone())
            }
            _ => {}
        }
        let value = match &patch.action {
            PatchAction::PutMap { value, .. } => Some(&value.0),
            _ => None,
        };
        let is_object = matches!(value, Some(Value::Object(_)));
        let deleted = matches!(patch.action, PatchAction::DeleteMap { .. });
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        match s.as_slice() {
            ["schema"] => out.push(Fact::PlanCreated),
            ["stage"] => out.push(Fact::Stage(value.map(scalar_text).unwrap_or_default())),
            ["period_start" | "period_end"] => out.push(Fact::PlanField("period".into())),
            [f @ ("title" | "area" | "owning_body"), ..] => {
                out.push(Fact::PlanField(f.replace('_', " ")))
            }
            ["theme_order"] => {
                if let PatchAction::Insert { values, .. } = &patch.action {
                    for (v, _, _) in values.iter() {
                        out.push(Fact::Placed("theme", scalar_text(v)));
                    }
                }
            }
            [coll, id] => {
                if let Some(kind) = kind_of(coll) {
                    if deleted {
                        out.push(Fact::Removed(kind, id.to_string()));
                    } else if is_object {
                        out.push(Fact::Created(kind, id.to_string()));
                    }
                }
            }
            [coll, id, rest @ ..] => {
                let Some(kind) = kind_of(coll) else { continue };
                let id = id.to_string();
                match rest {
                    ["rag", period] => out.push(Fact::Rag(
                        id,
                        period.to_string(),
                        value.map(scalar_text).unwrap_or_default(),
                    )),
                    ["updates"] => {
                        if let PatchAction::Insert { values, .. } = &patch.action {
                            for _ in values.iter() {
                                out.push(Fact::Update(id.clone()));
                            }
                        }
                    }
                    ["updates", ..] if is_text_edit => {
                        out.push(Fact::Edited(kind, id, "progress update".into()))
                    }
                    ["values", period] => out.push(Fact::Value(
                        id,
                        period.to_string(),
                        value.map(scalar_text).unwrap_or_default(),
                    )),
                    ["contributing_boards", ..] => out.push(Fact::Boards(id)),
                    ["direction", period, ..] => {
                        out.push(Fact::Direction(kind, id, period.to_string()))
                    }
                    ["review", "decision"] => out.push(Fact::Set(
                        kind,
                        id,
                        "workshop decision".into(),
                        value.map(scalar_text).unwrap_or_default(),
                    )),
                    ["review", field, ..] if is_text_edit || is_object => {
                        let f = match *field {
                            "group" => "working group",
                            "proposed" => "proposed wording",
                            _ => "workshop comments",
                        };
                        out.push(Fact::Edited(kind, id, f.into()))
                    }
                    ["objectives" | "actions"] => {
                        if let PatchAction::Insert { values, .. } = &patch.action {
                            let child = if kind == "theme" {
                                "objective"
                            } else {
                                "action"
                            };
                            for (v, _, _) in values.iter() {
                                out.push(Fact::Placed(child, scalar_text(v)));
                            }
                        }
                    }
                    ["outcomes", ..] => out.push(Fact::Edited(kind, id, "shared outcomes".into())),
                    [field] if !is_object && !deleted && !is_text_edit => out.push(Fact::Set(
                        kind,
                        id,
                        field.to_string(),
                        value.map(scalar_text).unwrap_or_default(),
                    )),
                    [field, ..] if is_text_edit || is_object => {
                        out.push(Fact::Edited(kind, id, field.replace('_', " ")))
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    out
}

/// Reads names and places out of the replayed document, remembering them for items that
/// are later removed.
struct Names {
    names: HashMap<String, String>,
    parent: HashMap<String, String>,
}

impl Names {
    fn refresh(&mut self, doc: &AutoCommit, kind: &'static str, id: &str) {
        let Some(coll) = collection_of(kind) else {
            return;
        };
        let Ok(Some((Value::Object(_), map))) = doc.get(ROOT, coll) else {
            return;
        };
        let Ok(Some((Value::Object(_), item))) = doc.get(&map, id) else {
            return;
        };
        let name = match doc.get(&item, name_key(kind)) {
            Ok(Some((Value::Object(ObjType::Text), t))) => doc.text(&t).unwrap_or_default(),
            Ok(Some((v @ Value::Scalar(_), _))) => scalar_text(&v),
            _ => return,
        };
        self.names.insert(id.to_string(), name);
    }

    fn name(&self, kind: &str, id: &str) -> String {
        match self.names.get(id) {
            Some(n) if !n.is_empty() => format!("'{}'", shorten(n)),
            _ => format!("an untitled {kind}"),
        }
    }

    fn theme_of(&self, kind: &str, id: &str) -> Option<String> {
        match kind {
            "theme" => Some(id.to_string()),
            "objective" => self.parent.get(id).cloned(),
            "action" => self
                .parent
                .get(id)
                .and_then(|o| self.parent.get(o))
                .cloned(),
            _ => None,
        }
    }
}

fn shorten(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn period_words(key: &str) -> String {
    ReportingPeriod::from_key(key)
        .map(|p| p.to_string())
        .unwrap_or_else(|_| key.to_string())
}

fn sentence(f: &Fact, n: &Names) -> String {
    match f {
        Fact::PlanCreated => "created the plan".into(),
        Fact::PlanField(field) => format!("edited the plan's {field}"),
        Fact::Stage(s) => format!("moved the plan to the '{s}' stage"),
        Fact::Created(kind, id) => format!("added {kind} {}", n.name(kind, id)),
        Fact::Removed(kind, id) => format!("removed {kind} {}", n.name(kind, id)),
        Fact::Edited(kind, id, field) => {
            format!("edited the {field} of {kind} {}", n.name(kind, id))
        }
        Fact::Set(kind, id, field, value) => {
            let value = match field.as_str() {
                "lead" | "chair" => n.name("person", value),
                "lead_board" => n.name("board", value),
                "indicator" => n.name("indicator", value),
                _ if value.is_empty() => "not set".into(),
                _ => value.clone(),
            };
            let field = match field.as_str() {
                "state" => "progress",
                "due" => "due date",
                f => f,
            }
            .replace('_', " ");
            format!("set {field} of {kind} {} to {value}", n.name(kind, id))
        }
        Fact::Rag(id, period, rag) => format!(
            "set RAG of {} to {} for {}",
            n.name("action", id),
            capitalised(rag),
            period_words(period)
        ),
        Fact::Update(id) => format!("added a progress update to {}", n.name("action", id)),
        Fact::Value(id, period, v) => format!(
            "recorded {v} for indicator {} in {}",
            n.name("indicator", id),
            period_words(period)
        ),
        Fact::Placed(kind, id) => format!("moved {kind} {}", n.name(kind, id)),
        Fact::Boards(id) => format!(
            "changed the contributing boards of {}",
            n.name("action", id)
        ),
        Fact::Direction(kind, id, period) => format!(
            "set the direction of travel of {kind} {} for {}",
            n.name(kind, id),
            period_words(period)
        ),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The whole history of a plan document, newest first.
pub fn history(doc: &mut AutoCommit) -> Result<Vec<HistoryEntry>> {
    let changes = doc.get_changes(&[]);
    let mut replay = AutoCommit::new();
    let mut names = Names {
        names: HashMap::new(),
        parent: HashMap::new(),
    };
    let mut entries: Vec<(HistoryEntry, Vec<Fact>)> = Vec::new();
    for change in changes {
        let hash = change.hash().to_string();
        let actor = change.actor_id().to_hex_string();
        let time = change.timestamp();
        let message = change.message().map(str::to_string);
        replay.apply_changes([change])?;
        let mut facts = facts(replay.diff_incremental());
        // Where lists say things are (objectives in themes, actions in objectives).
        let mut parent_of_inserts = Vec::new();
        for f in &facts {
            if let Fact::Placed(kind @ ("objective" | "action"), id) = f {
                parent_of_inserts.push((*kind, id.clone()));
            }
        }
        for (kind, id) in parent_of_inserts {
            if let Some(p) = find_parent(&replay, kind, &id) {
                names.parent.insert(id, p);
            }
        }
        for f in &facts {
            match f {
                Fact::Created(k, id)
                | Fact::Edited(k, id, _)
                | Fact::Set(k, id, _, _)
                | Fact::Placed(k, id)
                | Fact::Direction(k, id, _) => names.refresh(&replay, k, id),
                Fact::Rag(id, ..) | Fact::Update(id) | Fact::Boards(id) => {
                    names.refresh(&replay, "action", id)
                }
                Fact::Value(id, ..) => names.refresh(&replay, "indicator", id),
                _ => {}
            }
        }
        // Facts about items created in the same change are part of "added".
        let created: std::collections::HashSet<String> = facts
            .iter()
            .filter_map(|f| match f {
                Fact::Created(_, id) => Some(id.clone()),
                _ => None,
            })
            .collect();
        let plan_created = facts.contains(&Fact::PlanCreated);
        facts.retain(|f| match f {
            Fact::Created(..) => true,
            Fact::PlanField(_) | Fact::Stage(_) => !plan_created,
            Fact::Edited(_, id, _)
            | Fact::Set(_, id, _, _)
            | Fact::Placed(_, id)
            | Fact::Rag(id, ..)
            | Fact::Update(id)
            | Fact::Value(id, ..)
            | Fact::Boards(id)
            | Fact::Direction(_, id, _) => !created.contains(id),
            _ => true,
        });
        let mut seen = std::collections::HashSet::new();
        facts.retain(|f| seen.insert(f.clone()));
        if facts.is_empty() {
            continue;
        }

        // One person's typing in one field is one entry.
        if let Some((last, last_facts)) = entries.last_mut() {
            let typing = |fs: &[Fact]| matches!(fs, [Fact::Edited(..)] | [Fact::PlanField(_)]);
            if typing(&facts)
                && message.is_none()
                && last.message.is_none()
                && *last_facts == facts
                && last.actor == actor
                && (time - last.time).abs() <= TYPING_RUN_SECS
            {
                last.hashes.push(hash);
                last.time = time;
                continue;
            }
        }

        let mut themes: Vec<String> = Vec::new();
        for f in &facts {
            let item = match f {
                Fact::Created(k, id)
                | Fact::Removed(k, id)
                | Fact::Edited(k, id, _)
                | Fact::Set(k, id, _, _)
                | Fact::Placed(k, id)
                | Fact::Direction(k, id, _) => Some((*k, id)),
                Fact::Rag(id, ..) | Fact::Update(id) | Fact::Boards(id) => Some(("action", id)),
                _ => None,
            };
            if let Some(t) = item.and_then(|(k, id)| names.theme_of(k, id)) {
                if !themes.contains(&t) {
                    themes.push(t);
                }
            }
        }
        let details: Vec<String> = facts
            .iter()
            .take(MAX_DETAILS)
            .map(|f| sentence(f, &names))
            .collect();
        let summary = match &message {
            Some(m) => m.clone(),
            None => summarise(&facts, &details),
        };
        entries.push((
            HistoryEntry {
                hashes: vec![hash],
                actor,
                time,
                summary,
                details,
                themes,
                message,
            },
            facts,
        ));
    }
    Ok(entries.into_iter().rev().map(|(e, _)| e).collect())
}

fn summarise(facts: &[Fact], details: &[String]) -> String {
    let count = |k: &str| {
        facts
            .iter()
            .filter(|f| matches!(f, Fact::Created(kind, _) if *kind == k))
            .count()
    };
    if facts.contains(&Fact::PlanCreated) {
        let (t, o, a) = (count("theme"), count("objective"), count("action"));
        return if t + o + a == 0 {
            "created the plan".into()
        } else {
            format!("created the plan with {t} themes, {o} objectives and {a} actions")
        };
    }
    if details.len() <= 3 {
        return details.join("; ");
    }
    // Many facts: count them by what they did, in the order they first appear.
    let mut groups: Vec<(String, usize)> = Vec::new();
    for f in facts {
        let what = match f {
            Fact::Created(k, _) => format!("added {}", plural(k)),
            Fact::Removed(k, _) => format!("removed {}", plural(k)),
            Fact::Edited(k, _, _) => format!("edited {}", plural(k)),
            Fact::Set(k, _, _, _) => format!("changed fields of {}", plural(k)),
            Fact::Placed(k, _) => format!("moved {}", plural(k)),
            Fact::Rag(..) => "set the RAG of actions".into(),
            Fact::Update(_) => "added progress updates".into(),
            Fact::Value(..) => "recorded indicator values".into(),
            Fact::Boards(_) => "changed contributing boards".into(),
            Fact::Direction(..) => "set directions of travel".into(),
            Fact::PlanField(_) | Fact::Stage(_) | Fact::PlanCreated => "edited the plan".into(),
        };
        match groups.iter_mut().find(|(w, _)| *w == what) {
            Some((_, n)) => *n += 1,
            None => groups.push((what, 1)),
        }
    }
    groups
        .iter()
        .map(|(what, n)| format!("{what} ({n})"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn plural(kind: &str) -> String {
    match kind {
        "agency" => "agencies".into(),
        "person" => "people".into(),
        k => format!("{k}s"),
    }
}

/// The id of the theme (for an objective) or objective (for an action) whose list holds `id`.
fn find_parent(doc: &AutoCommit, kind: &str, id: &str) -> Option<String> {
    let (coll, list_key) = match kind {
        "objective" => ("themes", "objectives"),
        _ => ("objectives", "actions"),
    };
    let Ok(Some((Value::Object(_), map))) = doc.get(ROOT, coll) else {
        return None;
    };
    for parent in doc.keys(&map) {
        let Ok(Some((Value::Object(_), item))) = doc.get(&map, parent.as_str()) else {
            continue;
        };
        let Ok(Some((Value::Object(_), list))) = doc.get(&item, list_key) else {
            continue;
        };
        for i in 0..doc.length(&list) {
            if let Ok(Some((Value::Scalar(s), _))) = doc.get(&list, i) {
                if s.as_str() == Some(id) {
                    return Some(parent);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::Quarter;
    use crate::{demo_plan, PlanDoc, Rag, TextField};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn history_says_in_plain_words_what_each_change_did_newest_first() {
        let mut r = StdRng::seed_from_u64(3);
        let p = demo_plan(&mut r).unwrap();
        let plan = p.read().unwrap();
        let theme = &plan.themes[1];
        let action = &theme.objectives[0].actions[0];
        let mut doc = p.into_automerge();
        let q2 = ReportingPeriod {
            year: 2026,
            quarter: Quarter::Q2,
        };
        let rag = if action.rag.get(&q2) == Some(&Rag::Amber) {
            Rag::Red
        } else {
            Rag::Amber
        };
        PlanDoc::change(&mut doc, |p| p.set_rag(&action.id, q2, rag)).unwrap();
        for word in [" and", " more"] {
            PlanDoc::change(&mut doc, |p| {
                let field = TextField::ActionTitle(action.id.clone());
                let t = p.text(&field)?;
                p.set_text(&field, &format!("{t}{word}"))
            })
            .unwrap();
        }
        PlanDoc::change(&mut doc, |p| p.remove_action(&action.id)).unwrap();
        let h = history(&mut doc).unwrap();
        let (title, longer) = (
            shorten(&action.title),
            shorten(&format!("{} and more", action.title)),
        );
        assert_eq!(h[0].summary, format!("removed action '{longer}'"));
        assert_eq!(
            h[1].summary,
            format!("edited the title of action '{longer}'")
        );
        assert_eq!(h[1].hashes.len(), 2, "the typing run is one entry");
        assert_eq!(
            h[2].summary,
            format!(
                "set RAG of '{title}' to {} for 2026/27 Q2",
                capitalised(rag.as_str())
            )
        );
        assert_eq!(h[2].themes, vec![theme.id.to_string()]);
        let last = h.last().unwrap();
        assert_eq!(last.summary, "created the plan");
        let bulk = h
            .iter()
            .find(|e| e.summary.contains("added actions ("))
            .unwrap();
        assert!(bulk.details.len() <= MAX_DETAILS);
        // Every change is in exactly one entry.
        let all: usize = h.iter().map(|e| e.hashes.len()).sum();
        assert_eq!(all, doc.get_changes(&[]).len());
    }
}
