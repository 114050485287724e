//! Writing a whole plan value into the document: restoring a snapshot (or one item of it)
//! and importing a plan. Only what differs is written, as new operations on top of history:
//! nothing is ever rewritten, and text that is already right is not touched.

use super::*;

impl PlanDoc {
    /// A new plan document holding `plan` exactly (ids included), e.g. from a JSON import.
    pub fn from_plan(plan: &Plan, rng: &mut dyn RngCore) -> Result<Self> {
        let mut doc = PlanDoc::create(
            &NewPlan {
                title: plan.title.clone(),
                area: plan.area.clone(),
                period_start: plan.period_start,
                period_end: plan.period_end,
                owning_body: plan.owning_body.clone(),
            },
            rng,
        )?;
        doc.restore(plan)?;
        // Rounds are the partnership's process, not the plan's content, so a restore leaves
        // them alone; a whole plan brought in from a file brings its rounds.
        doc.write_rounds(&plan.rounds)?;
        doc.commit();
        Ok(doc)
    }

    /// Makes the plan read as `target` (say, a snapshot) by writing only the differences:
    /// a new change on top of history, which merges with concurrent edits like any other.
    pub fn restore(&mut self, target: &Plan) -> Result<()> {
        self.sync_text(&ROOT, "title", &target.title)?;
        self.sync_text(&ROOT, "area", &target.area)?;
        self.sync_text(&ROOT, "owning_body", &target.owning_body)?;
        self.sync_scalar(&ROOT, "period_start", target.period_start.into())?;
        self.sync_scalar(&ROOT, "period_end", target.period_end.into())?;
        self.sync_scalar(&ROOT, "stage", target.stage.as_str().into())?;

        let map = self.collection(
            "milestones",
            target.milestones.iter().map(|m| m.id.as_str()),
        )?;
        for m in &target.milestones {
            let obj = self.sync_item(&map, m.id.as_str())?;
            self.sync_text(&obj, "name", &m.name)?;
            self.sync_opt(&obj, "due", m.due.as_deref())?;
            self.sync_scalar(&obj, "done", m.done.into())?;
        }
        self.sync_id_list(
            &ROOT,
            "milestone_order",
            target.milestones.iter().map(|m| m.id.as_str()),
        )?;

        let map = self.collection("agencies", target.agencies.iter().map(|a| a.id.as_str()))?;
        for a in &target.agencies {
            let obj = self.sync_item(&map, a.id.as_str())?;
            self.sync_text(&obj, "name", &a.name)?;
        }
        let map = self.collection("people", target.people.iter().map(|p| p.id.as_str()))?;
        for p in &target.people {
            let obj = self.sync_item(&map, p.id.as_str())?;
            self.sync_text(&obj, "name", &p.name)?;
            self.sync_text(&obj, "role", &p.role)?;
            self.sync_opt(&obj, "agency", p.agency.as_ref().map(AgencyId::as_str))?;
        }
        let map = self.collection("boards", target.boards.iter().map(|b| b.id.as_str()))?;
        for b in &target.boards {
            let obj = self.sync_item(&map, b.id.as_str())?;
            self.sync_text(&obj, "name", &b.name)?;
            self.sync_opt(&obj, "chair", b.chair.as_ref().map(PersonId::as_str))?;
            self.sync_text(&obj, "remit", &b.remit)?;
        }

        let objectives = target.themes.iter().flat_map(|t| &t.objectives);
        let actions: Vec<&Action> = objectives.clone().flat_map(|o| &o.actions).collect();
        let themes_map = self.collection("themes", target.themes.iter().map(|t| t.id.as_str()))?;
        let objectives_map =
            self.collection("objectives", objectives.clone().map(|o| o.id.as_str()))?;
        let actions_map = self.collection("actions", actions.iter().map(|a| a.id.as_str()))?;
        for t in &target.themes {
            let obj = self.sync_item(&themes_map, t.id.as_str())?;
            self.sync_text(&obj, "title", &t.title)?;
            self.sync_text(&obj, "aim", &t.aim)?;
            self.sync_opt(&obj, "lead", t.lead.as_ref().map(PersonId::as_str))?;
            self.sync_text_list(&obj, "outcomes", &t.outcomes)?;
            self.sync_id_list(
                &obj,
                "objectives",
                t.objectives.iter().map(|o| o.id.as_str()),
            )?;
        }
        for o in objectives {
            let obj = self.sync_item(&objectives_map, o.id.as_str())?;
            self.sync_text(&obj, "text", &o.text)?;
            self.sync_id_list(&obj, "actions", o.actions.iter().map(|a| a.id.as_str()))?;
            let review = self.sync_map(&obj, "review")?;
            self.sync_scalar(&review, "decision", o.review.decision.as_str().into())?;
            self.sync_text(&review, "group", &o.review.group)?;
            self.sync_text(&review, "proposed", &o.review.proposed)?;
            self.sync_text(&review, "comments", &o.review.comments)?;
        }
        for a in actions {
            let obj = self.sync_item(&actions_map, a.id.as_str())?;
            self.sync_action(&obj, a)?;
        }
        self.sync_id_list(
            &ROOT,
            "theme_order",
            target.themes.iter().map(|t| t.id.as_str()),
        )?;

        let map = self.collection(
            "indicators",
            target.indicators.iter().map(|i| i.id.as_str()),
        )?;
        for i in &target.indicators {
            let obj = self.sync_item(&map, i.id.as_str())?;
            self.sync_text(&obj, "name", &i.name)?;
            self.sync_scalar(&obj, "unit", i.unit.as_str().into())?;
            self.sync_scalar(&obj, "polarity", i.polarity.as_str().into())?;
            self.sync_scalar(&obj, "target", i.target.into())?;
            self.sync_scalar(&obj, "tolerance", i.tolerance.into())?;
            let values = self.sync_map(&obj, "values")?;
            self.sync_periods(
                &values,
                i.values.iter().map(|(p, v)| (*p, ScalarValue::F64(*v))),
            )?;
            self.sync_overrides(&obj, &i.direction_overrides)?;
        }
        self.sync_id_list(
            &ROOT,
            "indicator_order",
            target.indicators.iter().map(|i| i.id.as_str()),
        )?;

        let map = self.collection("comments", target.comments.iter().map(|c| c.id.as_str()))?;
        for c in &target.comments {
            let obj = self.sync_item(&map, c.id.as_str())?;
            self.sync_scalar(&obj, "target", c.target.key().into())?;
            self.sync_scalar(&obj, "author", c.author.as_str().into())?;
            self.sync_scalar(&obj, "agency", c.agency.as_str().into())?;
            self.sync_scalar(&obj, "date", c.date.as_str().into())?;
            self.sync_text(&obj, "text", &c.text)?;
            self.sync_scalar(&obj, "resolved", c.resolved.into())?;
            if !c.known.is_empty() {
                self.sync_scalar(&obj, "known", c.known.as_str().into())?;
            }
        }
        Ok(())
    }

    fn sync_action(&mut self, obj: &ObjId, a: &Action) -> Result<()> {
        self.sync_text(obj, "title", &a.title)?;
        self.sync_text(obj, "description", &a.description)?;
        self.sync_text(obj, "target", &a.target)?;
        self.sync_opt(
            obj,
            "lead_board",
            a.lead_board.as_ref().map(BoardId::as_str),
        )?;
        self.sync_opt(obj, "lead", a.lead.as_ref().map(PersonId::as_str))?;
        self.sync_opt(obj, "due", a.due.as_deref())?;
        self.sync_opt(
            obj,
            "indicator",
            a.indicator.as_ref().map(IndicatorId::as_str),
        )?;
        self.sync_scalar(obj, "state", a.state.as_str().into())?;
        let boards = self.sync_map(obj, "contributing_boards")?;
        let wanted: Vec<&str> = a.contributing_boards.iter().map(BoardId::as_str).collect();
        for key in self.doc.keys(&boards).collect::<Vec<_>>() {
            if !wanted.contains(&key.as_str()) {
                self.doc.delete(&boards, key.as_str())?;
            }
        }
        for b in wanted {
            self.sync_scalar(&boards, b, true.into())?;
        }
        let rag = self.sync_map(obj, "rag")?;
        self.sync_periods(&rag, a.rag.iter().map(|(p, r)| (*p, r.as_str().into())))?;
        self.sync_overrides(obj, &a.direction_overrides)?;

        let list = match get_obj(&self.doc, obj, "updates")? {
            Some(list) => list,
            None => self.doc.put_object(obj, "updates", ObjType::List)?,
        };
        let ids: Vec<Option<String>> = (0..self.doc.length(&list))
            .map(|i| match self.doc.get(&list, i) {
                Ok(Some((Value::Object(ObjType::Map), u))) => match self.doc.get(&u, "id") {
                    Ok(Some((Value::Scalar(s), _))) => s.as_str().map(str::to_string),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let same_ids = ids.len() == a.updates.len()
            && ids
                .iter()
                .zip(&a.updates)
                .all(|(have, want)| have.as_deref() == Some(want.id.as_str()));
        if !same_ids {
            for i in (0..ids.len()).rev() {
                self.doc.delete(&list, i)?;
            }
        }
        for (i, u) in a.updates.iter().enumerate() {
            let update = if same_ids {
                match self.doc.get(&list, i)? {
                    Some((Value::Object(_), u)) => u,
                    _ => return Err(Error::Layout("a progress update is not a map".into())),
                }
            } else {
                self.doc.insert_object(&list, i, ObjType::Map)?
            };
            self.sync_scalar(&update, "id", u.id.as_str().into())?;
            self.sync_scalar(&update, "author", u.author.as_str().into())?;
            self.sync_scalar(&update, "agency", u.agency.as_str().into())?;
            self.sync_scalar(&update, "date", u.date.as_str().into())?;
            self.sync_text(&update, "text", &u.text)?;
            if !u.known.is_empty() {
                self.sync_scalar(&update, "known", u.known.as_str().into())?;
            }
        }
        Ok(())
    }

    /// The map of a collection, with every item not in `keep` deleted from it.
    fn collection<'a>(&mut self, name: &str, keep: impl Iterator<Item = &'a str>) -> Result<ObjId> {
        let map = self.sync_map(&ROOT, name)?;
        let keep: std::collections::HashSet<&str> = keep.collect();
        for key in self.doc.keys(&map).collect::<Vec<_>>() {
            if !keep.contains(key.as_str()) {
                self.doc.delete(&map, key.as_str())?;
            }
        }
        Ok(map)
    }

    /// The item `id` of a collection map, created if it is not there.
    fn sync_item(&mut self, map: &ObjId, id: &str) -> Result<ObjId> {
        self.sync_map(map, id)
    }

    /// The map at `key`, created if there is none.
    fn sync_map(&mut self, parent: &ObjId, key: &str) -> Result<ObjId> {
        match self.doc.get(parent, key)? {
            Some((Value::Object(ObjType::Map), id)) => Ok(id),
            _ => Ok(self.doc.put_object(parent, key, ObjType::Map)?),
        }
    }

    fn sync_text(&mut self, parent: &ObjId, key: &str, value: &str) -> Result<()> {
        match self.doc.get(parent, key)? {
            Some((Value::Object(ObjType::Text), id)) => {
                if self.doc.text(&id)? != value {
                    self.doc.update_text(&id, value)?;
                }
            }
            _ => self.put_text(parent, key, value)?,
        }
        Ok(())
    }

    fn sync_scalar(&mut self, parent: &ObjId, key: &str, value: ScalarValue) -> Result<()> {
        let same = matches!(self.doc.get(parent, key)?, Some((Value::Scalar(s), _)) if *s == value);
        if !same {
            self.doc.put(parent, key, value)?;
        }
        Ok(())
    }

    fn sync_opt(&mut self, parent: &ObjId, key: &str, value: Option<&str>) -> Result<()> {
        self.sync_scalar(
            parent,
            key,
            value.map_or(ScalarValue::Null, ScalarValue::from),
        )
    }

    /// Makes the list of ids at `key` hold exactly `ids`, rewriting it only if it differs.
    fn sync_id_list<'a>(
        &mut self,
        parent: &ObjId,
        key: &str,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<()> {
        let ids: Vec<&str> = ids.collect();
        let list = match get_obj(&self.doc, parent, key)? {
            Some(list) => list,
            None => self.doc.put_object(parent, key, ObjType::List)?,
        };
        let len = self.doc.length(&list);
        let have: Vec<Option<String>> = (0..len).map(|i| list_str(&self.doc, &list, i)).collect();
        if have.len() == ids.len() && have.iter().zip(&ids).all(|(h, w)| h.as_deref() == Some(*w)) {
            return Ok(());
        }
        for i in (0..len).rev() {
            self.doc.delete(&list, i)?;
        }
        for (i, id) in ids.into_iter().enumerate() {
            self.doc.insert(&list, i, id)?;
        }
        Ok(())
    }

    /// Makes a list of texts (a theme's shared outcomes) read `values`.
    fn sync_text_list(&mut self, parent: &ObjId, key: &str, values: &[String]) -> Result<()> {
        let list = match get_obj(&self.doc, parent, key)? {
            Some(list) => list,
            None => self.doc.put_object(parent, key, ObjType::List)?,
        };
        let len = self.doc.length(&list);
        let all_text = (0..len).all(|i| {
            matches!(
                self.doc.get(&list, i),
                Ok(Some((Value::Object(ObjType::Text), _)))
            )
        });
        if len == values.len() && all_text {
            for (i, v) in values.iter().enumerate() {
                if let Some((_, text)) = self.doc.get(&list, i)? {
                    if self.doc.text(&text)? != *v {
                        self.doc.update_text(&text, v)?;
                    }
                }
            }
            return Ok(());
        }
        for i in (0..len).rev() {
            self.doc.delete(&list, i)?;
        }
        for (i, v) in values.iter().enumerate() {
            let text = self.doc.insert_object(&list, i, ObjType::Text)?;
            self.doc.splice_text(&text, 0, 0, v)?;
        }
        Ok(())
    }

    /// Makes a map keyed by reporting period hold exactly `values`.
    fn sync_periods(
        &mut self,
        map: &ObjId,
        values: impl Iterator<Item = (ReportingPeriod, ScalarValue)>,
    ) -> Result<()> {
        let values: BTreeMap<String, ScalarValue> = values.map(|(p, v)| (p.key(), v)).collect();
        for key in self.doc.keys(map).collect::<Vec<_>>() {
            if !values.contains_key(&key) {
                self.doc.delete(map, key.as_str())?;
            }
        }
        for (key, v) in values {
            self.sync_scalar(map, &key, v)?;
        }
        Ok(())
    }

    fn sync_overrides(
        &mut self,
        obj: &ObjId,
        overrides: &BTreeMap<ReportingPeriod, DirectionOverride>,
    ) -> Result<()> {
        if overrides.is_empty() && get_obj(&self.doc, obj, "direction")?.is_none() {
            return Ok(());
        }
        let map = self.sync_map(obj, "direction")?;
        let wanted: BTreeMap<String, &DirectionOverride> =
            overrides.iter().map(|(p, o)| (p.key(), o)).collect();
        for key in self.doc.keys(&map).collect::<Vec<_>>() {
            if !wanted.contains_key(&key) {
                self.doc.delete(&map, key.as_str())?;
            }
        }
        for (key, o) in wanted {
            let entry = self.sync_map(&map, &key)?;
            self.sync_scalar(&entry, "direction", o.direction.as_str().into())?;
            self.sync_scalar(&entry, "reason", o.reason.as_str().into())?;
            self.sync_scalar(&entry, "by", o.by.as_str().into())?;
        }
        Ok(())
    }
}
