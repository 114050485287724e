//! [`PlanDoc`]: one plan in one automerge document, and every operation that changes it.

use crate::ids::*;
use crate::period::{parse_date, ReportingPeriod};
use crate::plan::model::*;
use crate::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use rand::RngCore;
use std::collections::BTreeMap;

mod rounds;
mod write;

use super::layout::SCHEMA;
use super::layout::{get_obj, list_str};

/// A text field of the plan, edited as collaborative text (splice, never replace).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TextField {
    /// The plan's title.
    PlanTitle,
    /// The area the plan covers.
    PlanArea,
    /// The owning body.
    OwningBody,
    /// A theme's title.
    ThemeTitle(ThemeId),
    /// A theme's aim.
    ThemeAim(ThemeId),
    /// One shared outcome of a theme, by its position now.
    ThemeOutcome(ThemeId, usize),
    /// An objective's wording.
    ObjectiveText(ObjectiveId),
    /// The working group in an objective's workshop review.
    ReviewGroup(ObjectiveId),
    /// The proposed wording in an objective's workshop review.
    ReviewProposed(ObjectiveId),
    /// The comments in an objective's workshop review.
    ReviewComments(ObjectiveId),
    /// An action's title.
    ActionTitle(ActionId),
    /// An action's description.
    ActionDescription(ActionId),
    /// An action's target or measure.
    ActionTarget(ActionId),
    /// A board's remit.
    BoardRemit(BoardId),
    /// A comment's text.
    CommentText(CommentId),
    /// A milestone's name.
    MilestoneName(MilestoneId),
    /// An indicator's name.
    IndicatorName(IndicatorId),
}

/// How a change is stamped: the editor's clock and an optional message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// Seconds since 1970 by the editor's clock.
    pub time_secs: Option<i64>,
    /// What the change is, for the history ("restored the snapshot ...").
    pub message: Option<String>,
}

/// An item that has a direction of travel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TravelItem {
    /// An action (derived from its RAG).
    Action(ActionId),
    /// An indicator (derived from its values and polarity).
    Indicator(IndicatorId),
}

/// One plan held in an automerge document, changed only through these operations.
#[derive(Debug, Clone)]
pub struct PlanDoc {
    doc: AutoCommit,
}

pub(crate) fn actor_from(rng: &mut dyn RngCore) -> ActorId {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    ActorId::from(bytes)
}

fn req_obj(doc: &impl ReadDoc, parent: &ObjId, key: &str) -> Result<ObjId> {
    get_obj(doc, parent, key)?.ok_or_else(|| Error::Layout(format!("missing '{key}'")))
}

impl PlanDoc {
    /// Creates a plan with its empty collections, as a new automerge document.
    pub fn create(plan: &NewPlan, rng: &mut dyn RngCore) -> Result<Self> {
        let mut doc = AutoCommit::new().with_actor(actor_from(rng));
        doc.put(ROOT, "schema", SCHEMA)?;
        for (key, value) in [
            ("title", &plan.title),
            ("area", &plan.area),
            ("owning_body", &plan.owning_body),
        ] {
            let text = doc.put_object(ROOT, key, ObjType::Text)?;
            doc.splice_text(&text, 0, 0, value)?;
        }
        doc.put(ROOT, "period_start", plan.period_start)?;
        doc.put(ROOT, "period_end", plan.period_end)?;
        doc.put(ROOT, "stage", Stage::Draft.as_str())?;
        for map in [
            "milestones",
            "agencies",
            "people",
            "boards",
            "themes",
            "objectives",
            "actions",
            "indicators",
            "comments",
            "rounds",
        ] {
            doc.put_object(ROOT, map, ObjType::Map)?;
        }
        for list in ["milestone_order", "theme_order", "indicator_order"] {
            doc.put_object(ROOT, list, ObjType::List)?;
        }
        doc.commit();
        Ok(Self { doc })
    }

    /// Wraps an automerge document that holds a plan (checks the schema marker).
    pub fn from_automerge(doc: AutoCommit) -> Result<Self> {
        check_schema(&doc)?;
        Ok(Self { doc })
    }

    /// Applies plan operations to a document held elsewhere (by the sync core, say) and
    /// commits them as one change; if `f` fails, its operations are rolled back.
    pub fn change<T>(doc: &mut AutoCommit, f: impl FnOnce(&mut PlanDoc) -> Result<T>) -> Result<T> {
        Self::change_with(doc, Commit::default(), f)
    }

    /// [`PlanDoc::change`], stamping the change with a time and a message (the history
    /// shows the message as the entry's summary, e.g. "restored the snapshot ...").
    pub fn change_with<T>(
        doc: &mut AutoCommit,
        commit: Commit,
        f: impl FnOnce(&mut PlanDoc) -> Result<T>,
    ) -> Result<T> {
        check_schema(doc)?;
        let mut plan = PlanDoc {
            doc: std::mem::take(doc),
        };
        let result = f(&mut plan);
        if result.is_ok() {
            let mut options = automerge::transaction::CommitOptions::default();
            if let Some(m) = commit.message {
                options = options.with_message(m);
            }
            if let Some(t) = commit.time_secs {
                options = options.with_time(t);
            }
            plan.doc.commit_with(options);
        } else {
            plan.doc.rollback();
        }
        *doc = plan.doc;
        result
    }

    /// Loads a plan from saved automerge bytes.
    pub fn load(bytes: &[u8], rng: &mut dyn RngCore) -> Result<Self> {
        Self::from_automerge(AutoCommit::load(bytes)?.with_actor(actor_from(rng)))
    }

    /// The underlying automerge document.
    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    /// The underlying automerge document, for syncing and merging.
    pub fn automerge_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// Gives the automerge document back.
    pub fn into_automerge(self) -> AutoCommit {
        self.doc
    }

    /// Reads the whole plan into typed values.
    pub fn read(&self) -> Result<Plan> {
        super::read::read_plan(&self.doc)
    }

    fn item(&self, collection: &str, kind: &'static str, id: &str) -> Result<ObjId> {
        let map = req_obj(&self.doc, &ROOT, collection)?;
        get_obj(&self.doc, &map, id)?.ok_or_else(|| Error::NotFound {
            kind,
            id: id.to_string(),
        })
    }

    fn theme(&self, id: &ThemeId) -> Result<ObjId> {
        self.item("themes", "theme", id.as_str())
    }

    fn objective(&self, id: &ObjectiveId) -> Result<ObjId> {
        self.item("objectives", "objective", id.as_str())
    }

    fn action(&self, id: &ActionId) -> Result<ObjId> {
        self.item("actions", "action", id.as_str())
    }

    fn new_item(&mut self, collection: &str, id: &str) -> Result<ObjId> {
        let map = req_obj(&self.doc, &ROOT, collection)?;
        Ok(self.doc.put_object(&map, id, ObjType::Map)?)
    }

    fn put_text(&mut self, obj: &ObjId, key: &str, value: &str) -> Result<()> {
        let text = self.doc.put_object(obj, key, ObjType::Text)?;
        self.doc.splice_text(&text, 0, 0, value)?;
        Ok(())
    }

    fn put_opt_str(&mut self, obj: &ObjId, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => self.doc.put(obj, key, v)?,
            None => self.doc.put(obj, key, ScalarValue::Null)?,
        }
        Ok(())
    }

    /// Which entries of an id list are live (in `collection` and not seen earlier).
    fn raw_index(&self, list: &ObjId, collection: &str, visible: Option<usize>) -> Result<usize> {
        let len = self.doc.length(list);
        let Some(visible) = visible else {
            return Ok(len);
        };
        let map = req_obj(&self.doc, &ROOT, collection)?;
        let mut seen = 0;
        for i in 0..len {
            if seen == visible {
                return Ok(i);
            }
            if let Some(id) = list_str(&self.doc, list, i) {
                if self.doc.get(&map, id.as_str())?.is_some() {
                    seen += 1;
                }
            }
        }
        Ok(len)
    }

    fn insert_id(
        &mut self,
        list: &ObjId,
        collection: &str,
        index: Option<usize>,
        id: &str,
    ) -> Result<()> {
        let at = self.raw_index(list, collection, index)?;
        self.doc.insert(list, at, id)?;
        Ok(())
    }

    /// Removes every occurrence of `id` from the id list `list`.
    fn unlink(&mut self, list: &ObjId, id: &str) -> Result<()> {
        for i in (0..self.doc.length(list)).rev() {
            if list_str(&self.doc, list, i).as_deref() == Some(id) {
                self.doc.delete(list, i)?;
            }
        }
        Ok(())
    }

    /// The `key` list of every item in `collection` (e.g. every objective's actions).
    fn child_lists(&self, collection: &str, key: &str) -> Result<Vec<ObjId>> {
        let map = req_obj(&self.doc, &ROOT, collection)?;
        let mut lists = Vec::new();
        for item_id in self.doc.keys(&map).collect::<Vec<_>>() {
            if let Some(item) = get_obj(&self.doc, &map, &item_id)? {
                if let Some(list) = get_obj(&self.doc, &item, key)? {
                    lists.push(list);
                }
            }
        }
        Ok(lists)
    }

    // ---- plan ----

    /// Sets the plan's lifecycle stage.
    pub fn set_stage(&mut self, stage: Stage) -> Result<()> {
        self.doc.put(ROOT, "stage", stage.as_str())?;
        Ok(())
    }

    /// Adds a milestone at the end of the list.
    pub fn add_milestone(
        &mut self,
        rng: &mut dyn RngCore,
        name: &str,
        due: Option<&str>,
    ) -> Result<MilestoneId> {
        if let Some(d) = due {
            parse_date(d)?;
        }
        let id = MilestoneId::random(rng);
        let obj = self.new_item("milestones", id.as_str())?;
        self.put_text(&obj, "name", name)?;
        self.put_opt_str(&obj, "due", due)?;
        self.doc.put(&obj, "done", false)?;
        let order = req_obj(&self.doc, &ROOT, "milestone_order")?;
        self.insert_id(&order, "milestones", None, id.as_str())?;
        Ok(id)
    }

    /// Marks a milestone done or not done.
    pub fn set_milestone_done(&mut self, id: &MilestoneId, done: bool) -> Result<()> {
        let obj = self.item("milestones", "milestone", id.as_str())?;
        self.doc.put(&obj, "done", done)?;
        Ok(())
    }

    /// Sets (or with `None` clears) a milestone's due date.
    pub fn set_milestone_due(&mut self, id: &MilestoneId, due: Option<&str>) -> Result<()> {
        if let Some(d) = due {
            parse_date(d)?;
        }
        let obj = self.item("milestones", "milestone", id.as_str())?;
        self.put_opt_str(&obj, "due", due)
    }

    /// Removes a milestone.
    pub fn remove_milestone(&mut self, id: &MilestoneId) -> Result<()> {
        self.item("milestones", "milestone", id.as_str())?;
        let order = req_obj(&self.doc, &ROOT, "milestone_order")?;
        self.unlink(&order, id.as_str())?;
        let map = req_obj(&self.doc, &ROOT, "milestones")?;
        self.doc.delete(&map, id.as_str())?;
        Ok(())
    }

    /// Adds a partner agency.
    pub fn add_agency(&mut self, rng: &mut dyn RngCore, name: &str) -> Result<AgencyId> {
        let id = AgencyId::random(rng);
        let obj = self.new_item("agencies", id.as_str())?;
        self.put_text(&obj, "name", name)?;
        Ok(id)
    }

    /// Adds a person (a lead or a chair).
    pub fn add_person(
        &mut self,
        rng: &mut dyn RngCore,
        name: &str,
        role: &str,
        agency: Option<&AgencyId>,
    ) -> Result<PersonId> {
        let id = PersonId::random(rng);
        let obj = self.new_item("people", id.as_str())?;
        self.put_text(&obj, "name", name)?;
        self.put_text(&obj, "role", role)?;
        self.put_opt_str(&obj, "agency", agency.map(AgencyId::as_str))?;
        Ok(id)
    }

    /// Adds a board with its chair and remit.
    pub fn add_board(
        &mut self,
        rng: &mut dyn RngCore,
        name: &str,
        chair: Option<&PersonId>,
        remit: &str,
    ) -> Result<BoardId> {
        let id = BoardId::random(rng);
        let obj = self.new_item("boards", id.as_str())?;
        self.put_text(&obj, "name", name)?;
        self.put_opt_str(&obj, "chair", chair.map(PersonId::as_str))?;
        self.put_text(&obj, "remit", remit)?;
        Ok(id)
    }

    // ---- themes ----

    /// Adds a theme at `index` among the themes (the end if `None`).
    pub fn add_theme(
        &mut self,
        rng: &mut dyn RngCore,
        title: &str,
        index: Option<usize>,
    ) -> Result<ThemeId> {
        let id = ThemeId::random(rng);
        let obj = self.new_item("themes", id.as_str())?;
        self.put_text(&obj, "title", title)?;
        self.put_text(&obj, "aim", "")?;
        self.doc.put_object(&obj, "outcomes", ObjType::List)?;
        self.doc.put(&obj, "lead", ScalarValue::Null)?;
        self.doc.put_object(&obj, "objectives", ObjType::List)?;
        let order = req_obj(&self.doc, &ROOT, "theme_order")?;
        self.insert_id(&order, "themes", index, id.as_str())?;
        Ok(id)
    }

    /// Moves a theme to `index` among the themes.
    pub fn move_theme(&mut self, id: &ThemeId, index: usize) -> Result<()> {
        self.theme(id)?;
        let order = req_obj(&self.doc, &ROOT, "theme_order")?;
        self.unlink(&order, id.as_str())?;
        self.insert_id(&order, "themes", Some(index), id.as_str())
    }

    /// Removes a theme (its objectives and actions go with it from every view).
    pub fn remove_theme(&mut self, id: &ThemeId) -> Result<()> {
        self.theme(id)?;
        let order = req_obj(&self.doc, &ROOT, "theme_order")?;
        self.unlink(&order, id.as_str())?;
        let map = req_obj(&self.doc, &ROOT, "themes")?;
        self.doc.delete(&map, id.as_str())?;
        Ok(())
    }

    /// Sets a theme's lead.
    pub fn set_theme_lead(&mut self, id: &ThemeId, lead: Option<&PersonId>) -> Result<()> {
        let obj = self.theme(id)?;
        self.put_opt_str(&obj, "lead", lead.map(PersonId::as_str))
    }

    /// Adds a shared outcome to a theme at `index` (the end if `None`).
    pub fn add_outcome(&mut self, id: &ThemeId, text: &str, index: Option<usize>) -> Result<()> {
        let obj = self.theme(id)?;
        let list = req_obj(&self.doc, &obj, "outcomes")?;
        let at = index.unwrap_or(usize::MAX).min(self.doc.length(&list));
        let t = self.doc.insert_object(&list, at, ObjType::Text)?;
        self.doc.splice_text(&t, 0, 0, text)?;
        Ok(())
    }

    /// Removes the shared outcome at `index` of a theme.
    pub fn remove_outcome(&mut self, id: &ThemeId, index: usize) -> Result<()> {
        let obj = self.theme(id)?;
        let list = req_obj(&self.doc, &obj, "outcomes")?;
        if index >= self.doc.length(&list) {
            return Err(Error::NotFound {
                kind: "shared outcome",
                id: index.to_string(),
            });
        }
        self.doc.delete(&list, index)?;
        Ok(())
    }

    // ---- objectives ----

    /// Adds an objective to a theme at `index` (the end if `None`).
    pub fn add_objective(
        &mut self,
        rng: &mut dyn RngCore,
        theme: &ThemeId,
        text: &str,
        index: Option<usize>,
    ) -> Result<ObjectiveId> {
        let theme_obj = self.theme(theme)?;
        let id = ObjectiveId::random(rng);
        let obj = self.new_item("objectives", id.as_str())?;
        self.put_text(&obj, "text", text)?;
        self.doc.put_object(&obj, "actions", ObjType::List)?;
        let review = self.doc.put_object(&obj, "review", ObjType::Map)?;
        self.doc
            .put(&review, "decision", Decision::Undecided.as_str())?;
        for key in ["group", "proposed", "comments"] {
            self.put_text(&review, key, "")?;
        }
        let list = req_obj(&self.doc, &theme_obj, "objectives")?;
        self.insert_id(&list, "objectives", index, id.as_str())?;
        Ok(id)
    }

    /// Moves an objective to `index` within `theme` (which may be another theme).
    pub fn move_objective(
        &mut self,
        id: &ObjectiveId,
        theme: &ThemeId,
        index: usize,
    ) -> Result<()> {
        self.objective(id)?;
        let target = self.theme(theme)?;
        for list in self.child_lists("themes", "objectives")? {
            self.unlink(&list, id.as_str())?;
        }
        let list = req_obj(&self.doc, &target, "objectives")?;
        self.insert_id(&list, "objectives", Some(index), id.as_str())
    }

    /// Removes an objective and its actions.
    pub fn remove_objective(&mut self, id: &ObjectiveId) -> Result<()> {
        self.objective(id)?;
        for list in self.child_lists("themes", "objectives")? {
            self.unlink(&list, id.as_str())?;
        }
        let map = req_obj(&self.doc, &ROOT, "objectives")?;
        self.doc.delete(&map, id.as_str())?;
        Ok(())
    }

    /// Records the workshop's decision on an objective.
    pub fn set_decision(&mut self, id: &ObjectiveId, decision: Decision) -> Result<()> {
        let obj = self.objective(id)?;
        let review = req_obj(&self.doc, &obj, "review")?;
        self.doc.put(&review, "decision", decision.as_str())?;
        Ok(())
    }

    // ---- actions ----

    /// Adds an action to an objective at `index` (the end if `None`).
    pub fn add_action(
        &mut self,
        rng: &mut dyn RngCore,
        objective: &ObjectiveId,
        title: &str,
        index: Option<usize>,
    ) -> Result<ActionId> {
        let objective_obj = self.objective(objective)?;
        let id = ActionId::random(rng);
        let obj = self.new_item("actions", id.as_str())?;
        self.put_text(&obj, "title", title)?;
        self.put_text(&obj, "description", "")?;
        self.put_text(&obj, "target", "")?;
        for key in ["lead_board", "lead", "due", "indicator"] {
            self.doc.put(&obj, key, ScalarValue::Null)?;
        }
        self.doc
            .put_object(&obj, "contributing_boards", ObjType::Map)?;
        self.doc
            .put(&obj, "state", ProgressState::NotStarted.as_str())?;
        self.doc.put_object(&obj, "rag", ObjType::Map)?;
        self.doc.put_object(&obj, "updates", ObjType::List)?;
        let list = req_obj(&self.doc, &objective_obj, "actions")?;
        self.insert_id(&list, "actions", index, id.as_str())?;
        Ok(id)
    }

    /// Moves an action to `index` within `objective` (which may be another objective).
    pub fn move_action(
        &mut self,
        id: &ActionId,
        objective: &ObjectiveId,
        index: usize,
    ) -> Result<()> {
        self.action(id)?;
        let target = self.objective(objective)?;
        for list in self.child_lists("objectives", "actions")? {
            self.unlink(&list, id.as_str())?;
        }
        let list = req_obj(&self.doc, &target, "actions")?;
        self.insert_id(&list, "actions", Some(index), id.as_str())
    }

    /// Removes an action.
    pub fn remove_action(&mut self, id: &ActionId) -> Result<()> {
        self.action(id)?;
        for list in self.child_lists("objectives", "actions")? {
            self.unlink(&list, id.as_str())?;
        }
        let map = req_obj(&self.doc, &ROOT, "actions")?;
        self.doc.delete(&map, id.as_str())?;
        Ok(())
    }

    /// Sets an action's RAG for one reporting period.
    pub fn set_rag(&mut self, id: &ActionId, period: ReportingPeriod, rag: Rag) -> Result<()> {
        let obj = self.action(id)?;
        let map = req_obj(&self.doc, &obj, "rag")?;
        self.doc.put(&map, period.key().as_str(), rag.as_str())?;
        Ok(())
    }

    /// Adds a dated progress update (author, agency, date, text) to an action.
    pub fn add_progress_update(
        &mut self,
        rng: &mut dyn RngCore,
        id: &ActionId,
        author: &str,
        agency: &str,
        date: &str,
        text: &str,
    ) -> Result<UpdateId> {
        parse_date(date)?;
        let obj = self.action(id)?;
        let list = req_obj(&self.doc, &obj, "updates")?;
        let update_id = UpdateId::random(rng);
        let at = self.doc.length(&list);
        let update = self.doc.insert_object(&list, at, ObjType::Map)?;
        self.doc.put(&update, "id", update_id.as_str())?;
        self.doc.put(&update, "author", author)?;
        self.doc.put(&update, "agency", agency)?;
        self.doc.put(&update, "date", date)?;
        self.put_text(&update, "text", text)?;
        Ok(update_id)
    }

    /// Stamps how the writer of a progress update was known ([`crate::Known::stored`]):
    /// the app says so right after adding it.
    pub fn set_update_known(
        &mut self,
        action: &ActionId,
        update: &UpdateId,
        known: &crate::Known,
    ) -> Result<()> {
        let obj = self.action(action)?;
        let list = req_obj(&self.doc, &obj, "updates")?;
        for i in 0..self.doc.length(&list) {
            let Some((Value::Object(ObjType::Map), u)) = self.doc.get(&list, i)? else {
                continue;
            };
            let is_it = matches!(self.doc.get(&u, "id")?, Some((Value::Scalar(s), _)) if s.as_str() == Some(update.as_str()));
            if is_it {
                self.doc.put(&u, "known", known.stored())?;
                return Ok(());
            }
        }
        Err(Error::NotFound {
            kind: "progress update",
            id: update.to_string(),
        })
    }

    /// Stamps how the writer of a comment was known ([`crate::Known::stored`]).
    pub fn set_comment_known(&mut self, id: &CommentId, known: &crate::Known) -> Result<()> {
        let obj = self.item("comments", "comment", id.as_str())?;
        self.doc.put(&obj, "known", known.stored())?;
        Ok(())
    }

    /// Sets an action's lead board.
    pub fn set_lead_board(&mut self, id: &ActionId, board: Option<&BoardId>) -> Result<()> {
        let obj = self.action(id)?;
        self.put_opt_str(&obj, "lead_board", board.map(BoardId::as_str))
    }

    /// Adds or removes a contributing board of an action.
    pub fn set_contributing_board(
        &mut self,
        id: &ActionId,
        board: &BoardId,
        contributes: bool,
    ) -> Result<()> {
        let obj = self.action(id)?;
        let set = req_obj(&self.doc, &obj, "contributing_boards")?;
        if contributes {
            self.doc.put(&set, board.as_str(), true)?;
        } else if self.doc.get(&set, board.as_str())?.is_some() {
            self.doc.delete(&set, board.as_str())?;
        }
        Ok(())
    }

    /// Sets an action's lead person.
    pub fn set_lead(&mut self, id: &ActionId, lead: Option<&PersonId>) -> Result<()> {
        let obj = self.action(id)?;
        self.put_opt_str(&obj, "lead", lead.map(PersonId::as_str))
    }

    /// Sets an action's due date (ISO `YYYY-MM-DD`), or clears it.
    pub fn set_due(&mut self, id: &ActionId, due: Option<&str>) -> Result<()> {
        if let Some(d) = due {
            parse_date(d)?;
        }
        let obj = self.action(id)?;
        self.put_opt_str(&obj, "due", due)
    }

    /// Sets an action's progress state.
    pub fn set_progress_state(&mut self, id: &ActionId, state: ProgressState) -> Result<()> {
        let obj = self.action(id)?;
        self.doc.put(&obj, "state", state.as_str())?;
        Ok(())
    }

    /// Links an action to an indicator (a quantitative target), or unlinks it.
    pub fn set_action_indicator(
        &mut self,
        id: &ActionId,
        indicator: Option<&IndicatorId>,
    ) -> Result<()> {
        let obj = self.action(id)?;
        self.put_opt_str(&obj, "indicator", indicator.map(IndicatorId::as_str))
    }

    // ---- indicators and comments ----

    /// Adds an indicator at the end of the list.
    pub fn add_indicator(
        &mut self,
        rng: &mut dyn RngCore,
        name: &str,
        unit: &str,
        polarity: Polarity,
        target: f64,
        tolerance: f64,
    ) -> Result<IndicatorId> {
        let id = IndicatorId::random(rng);
        let obj = self.new_item("indicators", id.as_str())?;
        self.put_text(&obj, "name", name)?;
        self.doc.put(&obj, "unit", unit)?;
        self.doc.put(&obj, "polarity", polarity.as_str())?;
        self.doc.put(&obj, "target", target)?;
        self.doc.put(&obj, "tolerance", tolerance)?;
        self.doc.put_object(&obj, "values", ObjType::Map)?;
        let order = req_obj(&self.doc, &ROOT, "indicator_order")?;
        self.insert_id(&order, "indicators", None, id.as_str())?;
        Ok(id)
    }

    /// Sets an indicator's value for one reporting period.
    pub fn set_indicator_value(
        &mut self,
        id: &IndicatorId,
        period: ReportingPeriod,
        value: f64,
    ) -> Result<()> {
        let obj = self.item("indicators", "indicator", id.as_str())?;
        let values = req_obj(&self.doc, &obj, "values")?;
        self.doc.put(&values, period.key().as_str(), value)?;
        Ok(())
    }

    /// Clears an indicator's value for one reporting period.
    pub fn clear_indicator_value(
        &mut self,
        id: &IndicatorId,
        period: ReportingPeriod,
    ) -> Result<()> {
        let obj = self.item("indicators", "indicator", id.as_str())?;
        let values = req_obj(&self.doc, &obj, "values")?;
        self.doc.delete(&values, period.key().as_str())?;
        Ok(())
    }

    /// Sets an indicator's unit, polarity, target per quarter and tolerance.
    pub fn set_indicator_measure(
        &mut self,
        id: &IndicatorId,
        unit: &str,
        polarity: Polarity,
        target: f64,
        tolerance: f64,
    ) -> Result<()> {
        if !target.is_finite() || !tolerance.is_finite() || tolerance < 0.0 {
            return Err(Error::Invalid(
                "a target is a number and a tolerance a number of at least 0".into(),
            ));
        }
        let obj = self.item("indicators", "indicator", id.as_str())?;
        self.doc.put(&obj, "unit", unit)?;
        self.doc.put(&obj, "polarity", polarity.as_str())?;
        self.doc.put(&obj, "target", target)?;
        self.doc.put(&obj, "tolerance", tolerance)?;
        Ok(())
    }

    /// Sets (or with `None` clears) a lead's direction of travel for an action or indicator
    /// in one reporting period, in place of the derived one.
    pub fn set_direction_override(
        &mut self,
        item: &TravelItem,
        period: ReportingPeriod,
        set: Option<&DirectionOverride>,
    ) -> Result<()> {
        let obj = match item {
            TravelItem::Action(a) => self.action(a)?,
            TravelItem::Indicator(i) => self.item("indicators", "indicator", i.as_str())?,
        };
        let map = match get_obj(&self.doc, &obj, "direction")? {
            Some(map) => map,
            None => self.doc.put_object(&obj, "direction", ObjType::Map)?,
        };
        match set {
            Some(o) => {
                if o.reason.trim().is_empty() {
                    return Err(Error::Invalid(
                        "an override of the direction of travel needs a reason".into(),
                    ));
                }
                let entry = self
                    .doc
                    .put_object(&map, period.key().as_str(), ObjType::Map)?;
                self.doc.put(&entry, "direction", o.direction.as_str())?;
                self.doc.put(&entry, "reason", o.reason.as_str())?;
                self.doc.put(&entry, "by", o.by.as_str())?;
            }
            None => self.doc.delete(&map, period.key().as_str())?,
        }
        Ok(())
    }

    /// Adds a comment on a theme, objective, action or indicator.
    pub fn add_comment(
        &mut self,
        rng: &mut dyn RngCore,
        target: &CommentTarget,
        author: &str,
        agency: &str,
        date: &str,
        text: &str,
    ) -> Result<CommentId> {
        parse_date(date)?;
        // What it is about must be in the plan.
        match target {
            CommentTarget::Theme(t) => self.theme(t).map(drop)?,
            CommentTarget::Objective(o) => self.objective(o).map(drop)?,
            CommentTarget::Action(a) => self.action(a).map(drop)?,
            CommentTarget::Indicator(i) => {
                self.item("indicators", "indicator", i.as_str()).map(drop)?
            }
        }
        let target_key = target.key();
        let id = CommentId::random(rng);
        let obj = self.new_item("comments", id.as_str())?;
        self.doc.put(&obj, "target", target_key)?;
        self.doc.put(&obj, "author", author)?;
        self.doc.put(&obj, "agency", agency)?;
        self.doc.put(&obj, "date", date)?;
        self.put_text(&obj, "text", text)?;
        self.doc.put(&obj, "resolved", false)?;
        Ok(id)
    }

    /// Marks a comment thread resolved or open.
    pub fn set_comment_resolved(&mut self, id: &CommentId, resolved: bool) -> Result<()> {
        let obj = self.item("comments", "comment", id.as_str())?;
        self.doc.put(&obj, "resolved", resolved)?;
        Ok(())
    }

    // ---- collaborative text ----

    fn text_obj(&self, field: &TextField) -> Result<ObjId> {
        use TextField::*;
        let (parent, key) = match field {
            PlanTitle => (ROOT, "title"),
            PlanArea => (ROOT, "area"),
            OwningBody => (ROOT, "owning_body"),
            ThemeTitle(t) => (self.theme(t)?, "title"),
            ThemeAim(t) => (self.theme(t)?, "aim"),
            ThemeOutcome(t, i) => {
                let list = req_obj(&self.doc, &self.theme(t)?, "outcomes")?;
                return match self.doc.get(&list, *i)? {
                    Some((Value::Object(ObjType::Text), id)) => Ok(id),
                    _ => Err(Error::NotFound {
                        kind: "shared outcome",
                        id: i.to_string(),
                    }),
                };
            }
            ObjectiveText(o) => (self.objective(o)?, "text"),
            ReviewGroup(o) => (req_obj(&self.doc, &self.objective(o)?, "review")?, "group"),
            ReviewProposed(o) => (
                req_obj(&self.doc, &self.objective(o)?, "review")?,
                "proposed",
            ),
            ReviewComments(o) => (
                req_obj(&self.doc, &self.objective(o)?, "review")?,
                "comments",
            ),
            ActionTitle(a) => (self.action(a)?, "title"),
            ActionDescription(a) => (self.action(a)?, "description"),
            ActionTarget(a) => (self.action(a)?, "target"),
            BoardRemit(b) => (self.item("boards", "board", b.as_str())?, "remit"),
            CommentText(c) => (self.item("comments", "comment", c.as_str())?, "text"),
            MilestoneName(m) => (self.item("milestones", "milestone", m.as_str())?, "name"),
            IndicatorName(i) => (self.item("indicators", "indicator", i.as_str())?, "name"),
        };
        match self.doc.get(&parent, key)? {
            Some((Value::Object(ObjType::Text), id)) => Ok(id),
            _ => Err(Error::Layout(format!("'{key}' is not collaborative text"))),
        }
    }

    /// The current text of a field.
    pub fn text(&self, field: &TextField) -> Result<String> {
        Ok(self.doc.text(self.text_obj(field)?)?)
    }

    /// Deletes `delete` characters at `pos` of a text field and inserts `insert` there.
    pub fn splice_text(
        &mut self,
        field: &TextField,
        pos: usize,
        delete: usize,
        insert: &str,
    ) -> Result<()> {
        let obj = self.text_obj(field)?;
        let len = self.doc.length(&obj);
        if pos > len || pos + delete > len {
            return Err(Error::Invalid(format!(
                "splice at {pos}+{delete} is past the end ({len})"
            )));
        }
        self.doc.splice_text(&obj, pos, delete as isize, insert)?;
        Ok(())
    }

    /// Makes a text field read `new_text` by splicing only the characters that differ, so
    /// concurrent edits elsewhere in the same text are kept.
    pub fn set_text(&mut self, field: &TextField, new_text: &str) -> Result<()> {
        let obj = self.text_obj(field)?;
        self.doc.update_text(&obj, new_text)?;
        Ok(())
    }

    /// Commits pending operations as one change; returns whether there was anything to commit.
    pub fn commit(&mut self) -> bool {
        self.doc.commit().is_some()
    }

    /// Merges another replica of the same plan into this one.
    pub fn merge(&mut self, other: &mut PlanDoc) -> Result<()> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// A copy of this replica with its own actor, for concurrent editing in tests and tools.
    pub fn fork(&mut self, rng: &mut dyn RngCore) -> PlanDoc {
        PlanDoc {
            doc: self.doc.fork().with_actor(actor_from(rng)),
        }
    }

    /// The whole document as automerge bytes.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }
}

/// Checks the schema marker that says a document is a Plansync plan of this layout.
fn check_schema(doc: &impl ReadDoc) -> Result<()> {
    match doc.get(ROOT, "schema")? {
        Some((Value::Scalar(s), _)) if s.as_i64() == Some(SCHEMA) => Ok(()),
        Some(_) => Err(Error::Layout("unknown schema version".into())),
        None => Err(Error::Layout(
            "no schema marker: not a Plansync plan".into(),
        )),
    }
}
