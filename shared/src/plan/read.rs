//! Reading the plan document back into typed values. Ids in order lists that no longer
//! exist (deleted concurrently) are skipped, and an id listed twice (moved concurrently
//! by two people) is shown once, at its first place: every replica reads the same plan.

use super::layout::{get_obj, list_str, SCHEMA};
use crate::ids::*;
use crate::period::ReportingPeriod;
use crate::plan::model::*;
use crate::{Error, Result};
use automerge::{ObjId, ObjType, ReadDoc, Value, ROOT};
use std::collections::{BTreeMap, HashMap, HashSet};

/// One map object's entries, read in a single pass: about ten times cheaper than a lookup
/// per key, which matters for plans with thousands of actions.
struct Fields<'a, D: ReadDoc> {
    doc: &'a D,
    entries: HashMap<String, (Value<'static>, ObjId)>,
}

impl<D: ReadDoc> Fields<'_, D> {
    fn obj(&self, key: &str) -> Result<ObjId> {
        match self.entries.get(key) {
            Some((Value::Object(_), id)) => Ok(id.clone()),
            _ => Err(Error::Layout(format!("missing '{key}'"))),
        }
    }

    /// A text field: collaborative text, or a plain string written by another client.
    fn text(&self, key: &str) -> Result<String> {
        Ok(match self.entries.get(key) {
            Some((Value::Object(ObjType::Text), id)) => self.doc.text(id)?,
            Some((Value::Scalar(s), _)) => s.as_str().unwrap_or_default().to_string(),
            _ => String::new(),
        })
    }

    fn opt_str(&self, key: &str) -> Option<String> {
        match self.entries.get(key) {
            Some((Value::Scalar(s), _)) => s.as_str().map(str::to_string),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> String {
        self.opt_str(key).unwrap_or_default()
    }
}

/// Reads typed values out of a plan document.
pub(super) struct Reader<'a, D: ReadDoc> {
    pub(super) doc: &'a D,
}

impl<'a, D: ReadDoc> Reader<'a, D> {
    fn fields(&self, obj: &ObjId) -> Fields<'a, D> {
        let entries = self
            .doc
            .map_range(obj, ..)
            .map(|item| {
                let id = item.id();
                (item.key.into_owned(), (Value::from(item.value), id))
            })
            .collect();
        Fields {
            doc: self.doc,
            entries,
        }
    }

    pub(super) fn obj(&self, parent: &ObjId, key: &str) -> Result<ObjId> {
        get_obj(self.doc, parent, key)?.ok_or_else(|| Error::Layout(format!("missing '{key}'")))
    }

    /// A text field: collaborative text, or a plain string written by another client.
    pub(super) fn text(&self, parent: &ObjId, key: &str) -> Result<String> {
        Ok(match self.doc.get(parent, key)? {
            Some((Value::Object(ObjType::Text), id)) => self.doc.text(id)?,
            Some((Value::Scalar(s), _)) => s.as_str().unwrap_or_default().to_string(),
            _ => String::new(),
        })
    }

    fn opt_str(&self, parent: &ObjId, key: &str) -> Result<Option<String>> {
        Ok(match self.doc.get(parent, key)? {
            Some((Value::Scalar(s), _)) => s.as_str().map(str::to_string),
            _ => None,
        })
    }

    fn str(&self, parent: &ObjId, key: &str) -> Result<String> {
        Ok(self.opt_str(parent, key)?.unwrap_or_default())
    }

    fn f64(&self, parent: &ObjId, key: &str) -> Result<f64> {
        Ok(match self.doc.get(parent, key)? {
            Some((Value::Scalar(s), _)) => s
                .as_f64()
                .or_else(|| s.as_i64().map(|i| i as f64))
                .unwrap_or(0.0),
            _ => 0.0,
        })
    }

    fn bool(&self, parent: &ObjId, key: &str) -> Result<bool> {
        Ok(
            matches!(self.doc.get(parent, key)?, Some((Value::Scalar(s), _)) if s.as_bool() == Some(true)),
        )
    }

    fn i64(&self, parent: &ObjId, key: &str) -> Result<i64> {
        Ok(match self.doc.get(parent, key)? {
            Some((Value::Scalar(s), _)) => s.as_i64().unwrap_or(0),
            _ => 0,
        })
    }

    fn word<T>(
        &self,
        parent: &ObjId,
        key: &str,
        parse: fn(&str) -> Result<T>,
        default: T,
    ) -> Result<T> {
        Ok(self
            .opt_str(parent, key)?
            .and_then(|s| parse(&s).ok())
            .unwrap_or(default))
    }

    /// The live entries of an id list, each once, with their objects in `map`.
    fn ordered(
        &self,
        list: &ObjId,
        map: &ObjId,
        seen: &mut HashSet<String>,
    ) -> Result<Vec<(String, ObjId)>> {
        let mut out = Vec::new();
        for i in 0..self.doc.length(list) {
            let Some(id) = list_str(self.doc, list, i) else {
                continue;
            };
            if let Some(obj) = get_obj(self.doc, map, &id)? {
                if seen.insert(id.clone()) {
                    out.push((id, obj));
                }
            }
        }
        Ok(out)
    }

    /// Every entry of a map of items, sorted by id.
    fn all(&self, map: &ObjId) -> Result<Vec<(String, ObjId)>> {
        let mut out = Vec::new();
        for key in self.doc.keys(map) {
            if let Some(obj) = get_obj(self.doc, map, &key)? {
                out.push((key, obj));
            }
        }
        Ok(out)
    }

    fn periods<T>(
        &self,
        map: &ObjId,
        mut value: impl FnMut(&Value) -> Option<T>,
    ) -> Result<BTreeMap<ReportingPeriod, T>> {
        let mut out = BTreeMap::new();
        for item in self.doc.map_range(map, ..) {
            let Ok(period) = ReportingPeriod::from_key(&item.key) else {
                continue;
            };
            if let Some(v) = value(&Value::from(item.value)) {
                out.insert(period, v);
            }
        }
        Ok(out)
    }

    pub(super) fn action(&self, id: String, obj: &ObjId) -> Result<Action> {
        let f = self.fields(obj);
        let boards = f.obj("contributing_boards")?;
        let rag_map = f.obj("rag")?;
        let updates_list = f.obj("updates")?;
        let mut updates = Vec::new();
        for i in 0..self.doc.length(&updates_list) {
            if let Some((Value::Object(ObjType::Map), u)) = self.doc.get(&updates_list, i)? {
                let u = self.fields(&u);
                updates.push(ProgressUpdate {
                    id: UpdateId::new(u.str("id")),
                    author: u.str("author"),
                    agency: u.str("agency"),
                    date: u.str("date"),
                    text: u.text("text")?,
                    known: u.str("known"),
                });
            }
        }
        Ok(Action {
            id: ActionId::new(id),
            title: f.text("title")?,
            description: f.text("description")?,
            lead_board: f.opt_str("lead_board").map(BoardId::new),
            contributing_boards: self.doc.keys(&boards).map(BoardId::new).collect(),
            lead: f.opt_str("lead").map(PersonId::new),
            due: f.opt_str("due"),
            target: f.text("target")?,
            indicator: f.opt_str("indicator").map(IndicatorId::new),
            state: f
                .opt_str("state")
                .and_then(|s| ProgressState::parse(&s).ok())
                .unwrap_or(ProgressState::NotStarted),
            rag: self.periods(&rag_map, |v| match v {
                Value::Scalar(s) => s.as_str().and_then(|s| Rag::parse(s).ok()),
                _ => None,
            })?,
            updates,
            direction_overrides: self.overrides(f.entries.get("direction"))?,
        })
    }

    /// The direction-of-travel overrides under an item's `direction` map (absent in plans
    /// written before overrides existed).
    fn overrides(
        &self,
        map: Option<&(Value<'static>, ObjId)>,
    ) -> Result<BTreeMap<ReportingPeriod, DirectionOverride>> {
        let Some((Value::Object(ObjType::Map), map)) = map else {
            return Ok(BTreeMap::new());
        };
        let mut out = BTreeMap::new();
        for key in self.doc.keys(map).collect::<Vec<_>>() {
            let Ok(period) = ReportingPeriod::from_key(&key) else {
                continue;
            };
            let Some(o) = get_obj(self.doc, map, &key)? else {
                continue;
            };
            let f = self.fields(&o);
            let Some(direction) = f
                .opt_str("direction")
                .and_then(|d| Direction::parse(&d).ok())
            else {
                continue;
            };
            out.insert(
                period,
                DirectionOverride {
                    direction,
                    reason: f.str("reason"),
                    by: f.str("by"),
                },
            );
        }
        Ok(out)
    }

    /// An objective's workshop review.
    pub(super) fn review(&self, objective: &ObjId) -> Result<WorkshopReview> {
        let review = self.obj(objective, "review")?;
        Ok(WorkshopReview {
            decision: self.word(&review, "decision", Decision::parse, Decision::Undecided)?,
            group: self.text(&review, "group")?,
            proposed: self.text(&review, "proposed")?,
            comments: self.text(&review, "comments")?,
        })
    }

    pub(super) fn indicator(&self, id: String, i: &ObjId) -> Result<Indicator> {
        Ok(Indicator {
            id: IndicatorId::new(id),
            name: self.text(i, "name")?,
            unit: self.str(i, "unit")?,
            polarity: self.word(i, "polarity", Polarity::parse, Polarity::LowerIsBetter)?,
            target: self.f64(i, "target")?,
            tolerance: self.f64(i, "tolerance")?,
            values: self.periods(&self.obj(i, "values")?, |v| match v {
                Value::Scalar(s) => s.as_f64().or_else(|| s.as_i64().map(|i| i as f64)),
                _ => None,
            })?,
            direction_overrides: self.overrides(self.fields(i).entries.get("direction"))?,
        })
    }

    /// A comment, or `None` if its target is not one this app knows.
    pub(super) fn comment(&self, id: String, c: &ObjId) -> Result<Option<Comment>> {
        let Some(target) = CommentTarget::from_key(&self.str(c, "target")?) else {
            return Ok(None);
        };
        Ok(Some(Comment {
            id: CommentId::new(id),
            target,
            author: self.str(c, "author")?,
            agency: self.str(c, "agency")?,
            date: self.str(c, "date")?,
            text: self.text(c, "text")?,
            resolved: self.bool(c, "resolved")?,
            known: self.str(c, "known")?,
        }))
    }

    /// Every reporting round, from every copy of the `rounds` map (two replicas that made it
    /// at once both keep theirs), oldest period first. Absent in plans made before rounds.
    fn rounds(&self) -> Result<Vec<Round>> {
        let mut rounds = Vec::new();
        for (value, map) in self.doc.get_all(ROOT, "rounds")? {
            if !matches!(value, Value::Object(ObjType::Map)) {
                continue;
            }
            for (id, r) in self.all(&map)? {
                let f = self.fields(&r);
                let Ok(period) = ReportingPeriod::from_key(&f.str("period")) else {
                    continue;
                };
                let outstanding_at_close = match f.entries.get("outstanding_at_close") {
                    Some((Value::Object(ObjType::List), list)) => (0..self.doc.length(list))
                        .filter_map(|i| list_str(self.doc, list, i))
                        .map(ActionId::new)
                        .collect(),
                    _ => Vec::new(),
                };
                rounds.push(Round {
                    id: RoundId::new(id),
                    period,
                    deadline: f.str("deadline"),
                    meeting: f.opt_str("meeting"),
                    opened: f.str("opened"),
                    opened_by: f.str("opened_by"),
                    closed: f.opt_str("closed"),
                    closed_by: f.str("closed_by"),
                    outstanding_at_close,
                    reminders: f
                        .opt_str("reminders")
                        .and_then(|t| crate::round::parse_reminders(&t).ok())
                        .unwrap_or_else(|| DEFAULT_REMINDERS.to_vec()),
                });
            }
        }
        rounds.sort_by(|a, b| (a.period, &a.opened, &a.id).cmp(&(b.period, &b.opened, &b.id)));
        rounds.dedup_by(|a, b| a.id == b.id);
        Ok(rounds)
    }

    fn plan(&self) -> Result<Plan> {
        let mut seen = HashSet::new();
        let themes_map = self.obj(&ROOT, "themes")?;
        let objectives_map = self.obj(&ROOT, "objectives")?;
        let actions_map = self.obj(&ROOT, "actions")?;
        let mut themes = Vec::new();
        for (id, t) in self.ordered(&self.obj(&ROOT, "theme_order")?, &themes_map, &mut seen)? {
            let outcomes_list = self.obj(&t, "outcomes")?;
            let mut outcomes = Vec::new();
            for i in 0..self.doc.length(&outcomes_list) {
                match self.doc.get(&outcomes_list, i)? {
                    Some((Value::Object(ObjType::Text), o)) => outcomes.push(self.doc.text(o)?),
                    Some((Value::Scalar(s), _)) => {
                        outcomes.push(s.as_str().unwrap_or_default().to_string())
                    }
                    _ => {}
                }
            }
            let mut objectives = Vec::new();
            for (oid, o) in
                self.ordered(&self.obj(&t, "objectives")?, &objectives_map, &mut seen)?
            {
                let mut actions = Vec::new();
                for (aid, a) in self.ordered(&self.obj(&o, "actions")?, &actions_map, &mut seen)? {
                    actions.push(self.action(aid, &a)?);
                }
                objectives.push(Objective {
                    id: ObjectiveId::new(oid),
                    text: self.text(&o, "text")?,
                    review: self.review(&o)?,
                    actions,
                });
            }
            themes.push(Theme {
                id: ThemeId::new(id),
                title: self.text(&t, "title")?,
                aim: self.text(&t, "aim")?,
                outcomes,
                lead: self.opt_str(&t, "lead")?.map(PersonId::new),
                objectives,
            });
        }

        let milestones = self
            .ordered(
                &self.obj(&ROOT, "milestone_order")?,
                &self.obj(&ROOT, "milestones")?,
                &mut seen,
            )?
            .into_iter()
            .map(|(id, m)| {
                Ok(Milestone {
                    id: MilestoneId::new(id),
                    name: self.text(&m, "name")?,
                    due: self.opt_str(&m, "due")?,
                    done: self.bool(&m, "done")?,
                })
            })
            .collect::<Result<_>>()?;
        let mut agencies: Vec<Agency> = self
            .all(&self.obj(&ROOT, "agencies")?)?
            .into_iter()
            .map(|(id, a)| {
                Ok(Agency {
                    id: AgencyId::new(id),
                    name: self.text(&a, "name")?,
                })
            })
            .collect::<Result<_>>()?;
        agencies.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        let people = self
            .all(&self.obj(&ROOT, "people")?)?
            .into_iter()
            .map(|(id, p)| {
                Ok(Person {
                    id: PersonId::new(id),
                    name: self.text(&p, "name")?,
                    role: self.text(&p, "role")?,
                    agency: self.opt_str(&p, "agency")?.map(AgencyId::new),
                })
            })
            .collect::<Result<_>>()?;
        let boards = self
            .all(&self.obj(&ROOT, "boards")?)?
            .into_iter()
            .map(|(id, b)| {
                Ok(Board {
                    id: BoardId::new(id),
                    name: self.text(&b, "name")?,
                    chair: self.opt_str(&b, "chair")?.map(PersonId::new),
                    remit: self.text(&b, "remit")?,
                })
            })
            .collect::<Result<_>>()?;
        let indicators = self
            .ordered(
                &self.obj(&ROOT, "indicator_order")?,
                &self.obj(&ROOT, "indicators")?,
                &mut seen,
            )?
            .into_iter()
            .map(|(id, i)| self.indicator(id, &i))
            .collect::<Result<_>>()?;
        let mut comments = Vec::new();
        for (id, c) in self.all(&self.obj(&ROOT, "comments")?)? {
            comments.extend(self.comment(id, &c)?);
        }
        sort_comments(&mut comments);

        Ok(Plan {
            title: self.text(&ROOT, "title")?,
            area: self.text(&ROOT, "area")?,
            period_start: self.i64(&ROOT, "period_start")?,
            period_end: self.i64(&ROOT, "period_end")?,
            owning_body: self.text(&ROOT, "owning_body")?,
            stage: self.word(&ROOT, "stage", Stage::parse, Stage::Draft)?,
            milestones,
            agencies,
            people,
            boards,
            themes,
            indicators,
            comments,
            rounds: self.rounds()?,
        })
    }
}

/// Reads only a plan's reporting rounds (as [`read_plan`] reads them).
pub fn read_rounds(doc: &impl ReadDoc) -> Result<Vec<Round>> {
    Reader { doc }.rounds()
}

/// Reads a whole plan out of its automerge document into typed values.
pub fn read_plan(doc: &impl ReadDoc) -> Result<Plan> {
    Reader { doc }.plan()
}

/// Title and stage of a plan document, or `None` if the document is not a Plansync plan.
pub fn plan_summary(doc: &impl ReadDoc) -> Option<PlanSummary> {
    let r = Reader { doc };
    if r.i64(&ROOT, "schema").ok()? != SCHEMA {
        return None;
    }
    Some(PlanSummary {
        title: r.text(&ROOT, "title").ok()?,
        stage: r.word(&ROOT, "stage", Stage::parse, Stage::Draft).ok()?,
    })
}

/// Comments in the order every view shows them: oldest first.
pub(super) fn sort_comments(comments: &mut [Comment]) {
    comments.sort_by(|a, b| (&a.date, &a.id).cmp(&(&b.date, &b.id)));
}
