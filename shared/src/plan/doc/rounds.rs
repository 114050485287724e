//! Reporting rounds in the document: opening one, moving its dates, closing it (which keeps
//! what was outstanding). Only owners do these; the sync core refuses them from editors.

use super::*;

/// A round's deadline and meeting are dates, and neither is before the round opens.
fn check_round_dates(deadline: &str, meeting: Option<&str>, opened: &str) -> Result<()> {
    let deadline_day = parse_date(deadline)?;
    if let Ok(opened_day) = parse_date(opened) {
        if deadline_day < opened_day {
            return Err(Error::Invalid(format!(
                "the deadline {deadline} is before the round opens ({opened}): pick a later day"
            )));
        }
    }
    if let Some(m) = meeting {
        if parse_date(m)? < deadline_day {
            return Err(Error::Invalid(format!(
                "the Board meets on {m}, before the deadline for updates ({deadline}): pick a meeting on or after the deadline"
            )));
        }
    }
    Ok(())
}

impl PlanDoc {
    /// The `rounds` map, made now in a plan written before rounds existed. (Two replicas
    /// that both make it keep both: readers take the rounds of every copy.)
    pub(super) fn rounds_map(&mut self) -> Result<ObjId> {
        Ok(match get_obj(&self.doc, &ROOT, "rounds")? {
            Some(map) => map,
            None => self.doc.put_object(ROOT, "rounds", ObjType::Map)?,
        })
    }

    /// The round's object, if it is open (a closed round is read-only history).
    fn open_round_obj(&mut self, id: &RoundId) -> Result<ObjId> {
        let round = crate::plan::read::read_rounds(&self.doc)?
            .into_iter()
            .find(|r| &r.id == id)
            .ok_or_else(|| Error::NotFound {
                kind: "reporting round",
                id: id.to_string(),
            })?;
        if !round.is_open() {
            return Err(Error::Invalid(format!(
                "the round for {} is closed: a closed round is kept as it was",
                round.period
            )));
        }
        let mut found = None;
        for (_, map) in self.doc.get_all(ROOT, "rounds")? {
            if let Some(obj) = get_obj(&self.doc, &map, id.as_str())? {
                found = Some(obj);
            }
        }
        found.ok_or_else(|| Error::NotFound {
            kind: "reporting round",
            id: id.to_string(),
        })
    }

    /// Opens a reporting round for `period` on `today` (ISO date), with a deadline for
    /// updates and, optionally, the Board's meeting date; `by` names who opened it.
    pub fn open_round(
        &mut self,
        rng: &mut dyn RngCore,
        period: ReportingPeriod,
        deadline: &str,
        meeting: Option<&str>,
        today: &str,
        by: &str,
    ) -> Result<RoundId> {
        check_round_dates(deadline, meeting, today)?;
        if let Some(r) = crate::plan::read::read_rounds(&self.doc)?
            .iter()
            .find(|r| r.is_open() && r.period == period)
        {
            return Err(Error::Invalid(format!(
                "a round for {} is already open (deadline {}): change its dates instead",
                period, r.deadline
            )));
        }
        let map = self.rounds_map()?;
        let id = RoundId::random(rng);
        let obj = self.doc.put_object(&map, id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "period", period.key().as_str())?;
        self.doc.put(&obj, "deadline", deadline)?;
        self.put_opt_str(&obj, "meeting", meeting)?;
        self.doc.put(&obj, "opened", today)?;
        self.doc.put(&obj, "opened_by", by)?;
        self.doc.put(&obj, "closed", ScalarValue::Null)?;
        self.doc
            .put_object(&obj, "outstanding_at_close", ObjType::List)?;
        Ok(id)
    }

    /// Moves an open round's deadline or the Board's meeting date.
    pub fn set_round_dates(
        &mut self,
        id: &RoundId,
        deadline: &str,
        meeting: Option<&str>,
    ) -> Result<()> {
        let obj = self.open_round_obj(id)?;
        let opened = match self.doc.get(&obj, "opened")? {
            Some((Value::Scalar(s), _)) => s.as_str().unwrap_or_default().to_string(),
            _ => String::new(),
        };
        check_round_dates(deadline, meeting, &opened)?;
        self.doc.put(&obj, "deadline", deadline)?;
        self.put_opt_str(&obj, "meeting", meeting)?;
        Ok(())
    }

    /// Closes an open round on `today`, keeping the actions still outstanding then.
    pub fn close_round(&mut self, id: &RoundId, today: &str, by: &str) -> Result<()> {
        parse_date(today)?;
        let obj = self.open_round_obj(id)?;
        let plan = self.read()?;
        let round = plan
            .rounds
            .iter()
            .find(|r| &r.id == id)
            .ok_or_else(|| Error::NotFound {
                kind: "reporting round",
                id: id.to_string(),
            })?;
        let mut closing = round.clone();
        closing.closed = Some(today.to_string());
        let outstanding = crate::round::not_updated(&plan, &closing);
        self.doc.put(&obj, "closed", today)?;
        self.doc.put(&obj, "closed_by", by)?;
        let list = self
            .doc
            .put_object(&obj, "outstanding_at_close", ObjType::List)?;
        for (i, a) in outstanding.iter().enumerate() {
            self.doc.insert(&list, i, a.as_str())?;
        }
        Ok(())
    }

    /// Writes whole rounds as they are in `rounds` (a plan brought in from a file).
    pub(super) fn write_rounds(&mut self, rounds: &[Round]) -> Result<()> {
        let map = self.rounds_map()?;
        for r in rounds {
            let obj = self.doc.put_object(&map, r.id.as_str(), ObjType::Map)?;
            self.doc.put(&obj, "period", r.period.key().as_str())?;
            self.doc.put(&obj, "deadline", r.deadline.as_str())?;
            self.put_opt_str(&obj, "meeting", r.meeting.as_deref())?;
            self.doc.put(&obj, "opened", r.opened.as_str())?;
            self.doc.put(&obj, "opened_by", r.opened_by.as_str())?;
            self.put_opt_str(&obj, "closed", r.closed.as_deref())?;
            self.doc.put(&obj, "closed_by", r.closed_by.as_str())?;
            let list = self
                .doc
                .put_object(&obj, "outstanding_at_close", ObjType::List)?;
            for (i, a) in r.outstanding_at_close.iter().enumerate() {
                self.doc.insert(&list, i, a.as_str())?;
            }
            if r.reminders != DEFAULT_REMINDERS {
                let text = crate::round::reminders_key(&r.reminders);
                self.doc.put(&obj, "reminders", text.as_str())?;
            }
        }
        Ok(())
    }

    /// Sets when an open round's reminders are emailed: days before the deadline (0 is the
    /// deadline day); none stops them. One field, so two owners' changes do not mix.
    pub fn set_round_reminders(&mut self, id: &RoundId, days: &[u32]) -> Result<()> {
        let days = crate::round::check_reminders(days)?;
        let obj = self.open_round_obj(id)?;
        let text = crate::round::reminders_key(&days);
        self.doc.put(&obj, "reminders", text.as_str())?;
        Ok(())
    }
}
