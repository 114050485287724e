//! Bringing work in: an existing action tracker (rows of cells with a column mapping), and
//! restoring one item of an older version of a plan.

use crate::compare::ItemKind;
use crate::period::{parse_date, ReportingPeriod};
use crate::plan::{Plan, PlanDoc, ProgressState, Rag};
use crate::{Error, Result};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A field of an action tracker row that a column can be mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackerField {
    /// The theme's title (found or created).
    Theme,
    /// The objective's wording (found or created within the theme).
    Objective,
    /// The action's title (required).
    Action,
    /// The action's description.
    Description,
    /// The lead board's name (found or created).
    LeadBoard,
    /// The lead's name (found or created).
    Lead,
    /// Due date, ISO (2026-09-30) or day/month/year.
    Due,
    /// not started / in progress / complete.
    Progress,
    /// red / amber / green / not rated, for the import's reporting period.
    Rag,
    /// The target or measure.
    Target,
}

impl TrackerField {
    /// Every field, in the order the mapping form shows them.
    pub const ALL: [TrackerField; 10] = [
        TrackerField::Theme,
        TrackerField::Objective,
        TrackerField::Action,
        TrackerField::Description,
        TrackerField::LeadBoard,
        TrackerField::Lead,
        TrackerField::Due,
        TrackerField::Progress,
        TrackerField::Rag,
        TrackerField::Target,
    ];

    /// Its name in a mapping (`lead_board:4`) and in JSON.
    pub fn key(self) -> &'static str {
        match self {
            TrackerField::Theme => "theme",
            TrackerField::Objective => "objective",
            TrackerField::Action => "action",
            TrackerField::Description => "description",
            TrackerField::LeadBoard => "lead_board",
            TrackerField::Lead => "lead",
            TrackerField::Due => "due",
            TrackerField::Progress => "progress",
            TrackerField::Rag => "rag",
            TrackerField::Target => "target",
        }
    }

    /// The field named `key` (see [`TrackerField::key`]).
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }

    /// The label users see; also what a header cell is matched against.
    pub fn label(self) -> &'static str {
        match self {
            TrackerField::Theme => "Theme",
            TrackerField::Objective => "Objective",
            TrackerField::Action => "Action",
            TrackerField::Description => "Description",
            TrackerField::LeadBoard => "Lead board",
            TrackerField::Lead => "Lead",
            TrackerField::Due => "Due",
            TrackerField::Progress => "Progress",
            TrackerField::Rag => "RAG",
            TrackerField::Target => "Target",
        }
    }
}

/// Which column (0-based) holds each field.
pub type Mapping = BTreeMap<TrackerField, usize>;

/// A first guess at the mapping from a header row: each field to the column whose heading
/// names it.
pub fn guess_mapping(header: &[String]) -> Mapping {
    let mut m = Mapping::new();
    for f in TrackerField::ALL {
        let want = f.label().to_lowercase();
        if let Some(i) = header.iter().position(|h| {
            let h = h.trim().to_lowercase();
            h == want || (f == TrackerField::Action && (h == "action title" || h == "title"))
        }) {
            m.insert(f, i);
        }
    }
    m
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadRow {
    /// Its row number in the file (the header is row 1).
    pub row: usize,
    /// What is wrong, in words.
    pub reason: String,
}

/// One row as it will be imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRow {
    /// Its row number in the file.
    pub row: usize,
    /// Theme title.
    pub theme: String,
    /// Objective wording.
    pub objective: String,
    /// Action title.
    pub action: String,
    /// Description.
    pub description: String,
    /// Lead board name.
    pub lead_board: String,
    /// Lead name.
    pub lead: String,
    /// Due date, ISO.
    pub due: Option<String>,
    /// Progress state.
    pub progress: Option<ProgressState>,
    /// RAG for the import's period.
    pub rag: Option<Rag>,
    /// Target or measure.
    pub target: String,
}

/// What an import would do: the rows it reads, the rows it cannot, and what it creates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportPlan {
    /// Rows that will become actions.
    pub rows: Vec<ImportRow>,
    /// Rows that cannot be imported (the import is refused while there are any).
    pub bad: Vec<BadRow>,
    /// Themes that will be created (titles).
    pub new_themes: Vec<String>,
    /// Objectives that will be created (wordings).
    pub new_objectives: Vec<String>,
    /// Actions that will be created.
    pub new_actions: usize,
}

fn parse_due(s: &str) -> std::result::Result<Option<String>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if parse_date(s).is_ok() {
        return Ok(Some(s.to_string()));
    }
    // Day/month/year, as UK spreadsheets write it.
    let parts: Vec<&str> = s.split(['/', '.', '-']).collect();
    if let [d, m, y] = parts.as_slice() {
        if let (Ok(d), Ok(m), Ok(y)) = (d.parse::<u8>(), m.parse::<u8>(), y.parse::<i32>()) {
            let y = if y < 100 { 2000 + y } else { y };
            let iso = format!("{y:04}-{m:02}-{d:02}");
            if parse_date(&iso).is_ok() {
                return Ok(Some(iso));
            }
        }
    }
    Err(format!(
        "'{s}' is not a date (use 2026-09-30 or 30/09/2026)"
    ))
}

/// Reads tracker rows (after the header) through a mapping, checking every cell.
pub fn plan_import(plan: &Plan, rows: &[Vec<String>], mapping: &Mapping) -> ImportPlan {
    let mut out = ImportPlan {
        rows: vec![],
        bad: vec![],
        new_themes: vec![],
        new_objectives: vec![],
        new_actions: 0,
    };
    if !mapping.contains_key(&TrackerField::Action) {
        out.bad.push(BadRow {
            row: 1,
            reason:
                "no column is mapped to Action: choose the column that holds each action's title"
                    .into(),
        });
        return out;
    }
    let cell = |row: &[String], f: TrackerField| {
        mapping
            .get(&f)
            .and_then(|i| row.get(*i))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    for (i, row) in rows.iter().enumerate() {
        let n = i + 2;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut bad = |reason: String| out.bad.push(BadRow { row: n, reason });
        let action = cell(row, TrackerField::Action);
        if action.is_empty() {
            bad("the action's title is empty".into());
            continue;
        }
        let due = match parse_due(&cell(row, TrackerField::Due)) {
            Ok(d) => d,
            Err(e) => {
                bad(e);
                continue;
            }
        };
        let progress = match cell(row, TrackerField::Progress).to_lowercase().as_str() {
            "" => None,
            p => match ProgressState::parse(p) {
                Ok(p) => Some(p),
                Err(_) => {
                    bad(format!(
                        "progress '{p}' is not one of: not started, in progress, complete"
                    ));
                    continue;
                }
            },
        };
        let rag = match cell(row, TrackerField::Rag).to_lowercase().as_str() {
            "" => None,
            "r" => Some(Rag::Red),
            "a" => Some(Rag::Amber),
            "g" => Some(Rag::Green),
            r => match Rag::parse(r) {
                Ok(r) => Some(r),
                Err(_) => {
                    bad(format!(
                        "RAG '{r}' is not one of: red, amber, green, not rated"
                    ));
                    continue;
                }
            },
        };
        let theme = match cell(row, TrackerField::Theme) {
            t if t.is_empty() => "Imported actions".to_string(),
            t => t,
        };
        let objective = match cell(row, TrackerField::Objective) {
            o if o.is_empty() => "Imported actions".to_string(),
            o => o,
        };
        let existing_theme = plan
            .themes
            .iter()
            .find(|t| t.title.trim().eq_ignore_ascii_case(&theme));
        if existing_theme.is_none()
            && !out
                .new_themes
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&theme))
        {
            out.new_themes.push(theme.clone());
        }
        let existing_objective = existing_theme
            .map(|t| {
                t.objectives
                    .iter()
                    .any(|o| o.text.trim().eq_ignore_ascii_case(&objective))
            })
            .unwrap_or(false);
        if !existing_objective
            && !out
                .new_objectives
                .iter()
                .any(|o| o.eq_ignore_ascii_case(&objective))
        {
            out.new_objectives.push(objective.clone());
        }
        out.rows.push(ImportRow {
            row: n,
            theme,
            objective,
            action,
            description: cell(row, TrackerField::Description),
            lead_board: cell(row, TrackerField::LeadBoard),
            lead: cell(row, TrackerField::Lead),
            due,
            progress,
            rag,
            target: cell(row, TrackerField::Target),
        });
    }
    out.new_actions = out.rows.len();
    out
}

impl PlanDoc {
    /// Creates the themes, objectives and actions of an import (refused, with nothing
    /// written, while any row is bad). Call inside [`PlanDoc::change`] so it is one change.
    pub fn import_rows(
        &mut self,
        rng: &mut dyn RngCore,
        import: &ImportPlan,
        period: ReportingPeriod,
    ) -> Result<usize> {
        if let Some(b) = import.bad.first() {
            return Err(Error::Invalid(format!(
                "{} rows cannot be imported (row {}: {}); nothing was imported",
                import.bad.len(),
                b.row,
                b.reason
            )));
        }
        // Read the plan once and keep every name found or created in a map, so each row
        // costs the same however many came before it.
        let key = |s: &str| s.trim().to_ascii_lowercase();
        let plan = self.read()?;
        let mut themes: HashMap<String, crate::ThemeId> = HashMap::new();
        let mut objectives: HashMap<(crate::ThemeId, String), crate::ObjectiveId> = HashMap::new();
        for t in &plan.themes {
            themes.entry(key(&t.title)).or_insert_with(|| t.id.clone());
            for o in &t.objectives {
                objectives
                    .entry((t.id.clone(), key(&o.text)))
                    .or_insert_with(|| o.id.clone());
            }
        }
        let mut boards: HashMap<String, crate::BoardId> = HashMap::new();
        for b in &plan.boards {
            boards.entry(key(&b.name)).or_insert_with(|| b.id.clone());
        }
        let mut people: HashMap<String, crate::PersonId> = HashMap::new();
        for p in &plan.people {
            people.entry(key(&p.name)).or_insert_with(|| p.id.clone());
        }
        for r in &import.rows {
            let theme = match themes.get(&key(&r.theme)) {
                Some(t) => t.clone(),
                None => {
                    let t = self.add_theme(rng, &r.theme, None)?;
                    themes.insert(key(&r.theme), t.clone());
                    t
                }
            };
            let objective_key = (theme.clone(), key(&r.objective));
            let objective = match objectives.get(&objective_key) {
                Some(o) => o.clone(),
                None => {
                    let o = self.add_objective(rng, &theme, &r.objective, None)?;
                    objectives.insert(objective_key, o.clone());
                    o
                }
            };
            let action = self.add_action(rng, &objective, &r.action, None)?;
            if !r.description.is_empty() {
                self.set_text(
                    &crate::TextField::ActionDescription(action.clone()),
                    &r.description,
                )?;
            }
            if !r.target.is_empty() {
                self.set_text(&crate::TextField::ActionTarget(action.clone()), &r.target)?;
            }
            if !r.lead_board.is_empty() {
                let board = match boards.get(&key(&r.lead_board)) {
                    Some(b) => b.clone(),
                    None => {
                        let b = self.add_board(rng, &r.lead_board, None, "")?;
                        boards.insert(key(&r.lead_board), b.clone());
                        b
                    }
                };
                self.set_lead_board(&action, Some(&board))?;
            }
            if !r.lead.is_empty() {
                let person = match people.get(&key(&r.lead)) {
                    Some(p) => p.clone(),
                    None => {
                        let p = self.add_person(rng, &r.lead, "", None)?;
                        people.insert(key(&r.lead), p.clone());
                        p
                    }
                };
                self.set_lead(&action, Some(&person))?;
            }
            if let Some(d) = &r.due {
                self.set_due(&action, Some(d))?;
            }
            if let Some(p) = r.progress {
                self.set_progress_state(&action, p)?;
            }
            if let Some(rag) = r.rag {
                self.set_rag(&action, period, rag)?;
            }
        }
        Ok(import.rows.len())
    }
}

/// `now` with one item (a theme, objective or action, with everything under it) put back as
/// it was in `then`, at its old place. Its parent must still be there.
pub fn restore_item(now: &Plan, then: &Plan, kind: ItemKind, id: &str) -> Result<Plan> {
    let missing = |what: &'static str| Error::NotFound {
        kind: what,
        id: id.to_string(),
    };
    let mut out = now.clone();
    match kind {
        ItemKind::Theme => {
            let (i, t) = then
                .themes
                .iter()
                .enumerate()
                .find(|(_, t)| t.id.as_str() == id)
                .ok_or_else(|| missing("theme in that version"))?;
            let nested: Vec<String> = t
                .objectives
                .iter()
                .flat_map(|o| {
                    std::iter::once(o.id.to_string())
                        .chain(o.actions.iter().map(|a| a.id.to_string()))
                })
                .collect();
            remove_everywhere(&mut out, id, &nested);
            let at = i.min(out.themes.len());
            out.themes.insert(at, t.clone());
        }
        ItemKind::Objective => {
            let (theme, i, o) = then
                .themes
                .iter()
                .find_map(|t| {
                    t.objectives
                        .iter()
                        .position(|o| o.id.as_str() == id)
                        .map(|i| (t.id.clone(), i, t.objectives[i].clone()))
                })
                .ok_or_else(|| missing("objective in that version"))?;
            let nested: Vec<String> = o.actions.iter().map(|a| a.id.to_string()).collect();
            remove_everywhere(&mut out, id, &nested);
            let t = out
                .themes
                .iter_mut()
                .find(|t| t.id == theme)
                .ok_or(Error::Invalid(
                    "the objective's theme has been removed since: restore the theme instead"
                        .into(),
                ))?;
            let at = i.min(t.objectives.len());
            t.objectives.insert(at, o);
        }
        ItemKind::Action => {
            let (objective, i, a) = then
                .themes
                .iter()
                .flat_map(|t| &t.objectives)
                .find_map(|o| {
                    o.actions
                        .iter()
                        .position(|a| a.id.as_str() == id)
                        .map(|i| (o.id.clone(), i, o.actions[i].clone()))
                })
                .ok_or_else(|| missing("action in that version"))?;
            remove_everywhere(&mut out, id, &[]);
            let o = out
                .themes
                .iter_mut()
                .flat_map(|t| t.objectives.iter_mut())
                .find(|o| o.id == objective)
                .ok_or(Error::Invalid(
                    "the action's objective has been removed since: restore the objective instead"
                        .into(),
                ))?;
            let at = i.min(o.actions.len());
            o.actions.insert(at, a);
        }
        _ => {
            return Err(Error::Invalid(
                "only a theme, objective or action can be restored on its own".into(),
            ))
        }
    }
    Ok(out)
}

/// Takes an item and the items nested in it out of a plan, wherever they are now.
fn remove_everywhere(plan: &mut Plan, id: &str, nested: &[String]) {
    let gone = |x: &str| x == id || nested.iter().any(|n| n == x);
    plan.themes.retain(|t| !gone(t.id.as_str()));
    for t in &mut plan.themes {
        t.objectives.retain(|o| !gone(o.id.as_str()));
        for o in &mut t.objectives {
            o.actions.retain(|a| !gone(a.id.as_str()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::Quarter;
    use crate::{demo_plan, TextField};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn each_fields_mapping_key_is_its_json_name_and_reads_back() {
        for f in TrackerField::ALL {
            assert_eq!(serde_json::to_value(f).unwrap(), f.key());
            assert_eq!(TrackerField::from_key(f.key()), Some(f));
        }
        assert_eq!(TrackerField::from_key("Lead board"), None);
    }

    #[test]
    fn tracker_rows_become_themes_objectives_and_actions_and_bad_rows_say_why() {
        let mut r = StdRng::seed_from_u64(9);
        let mut doc = demo_plan(&mut r).unwrap();
        let plan = doc.read().unwrap();
        let header = s(&[
            "Ref",
            "Theme",
            "Objective",
            "Action title",
            "Lead board",
            "Due",
            "RAG",
        ]);
        let mapping = guess_mapping(&header);
        assert_eq!(mapping.get(&TrackerField::Action), Some(&3));
        let existing = plan.themes[0].title.clone();
        let rows = vec![
            s(&[
                "1",
                &existing,
                "Keep victims informed",
                "Weekly call-backs",
                "City Tasking",
                "30/09/2026",
                "A",
            ]),
            s(&[
                "2",
                "Night-time economy",
                "Safer streets",
                "Taxi marshals",
                "",
                "2027-03-31",
                "green",
            ]),
            s(&["3", "Night-time economy", "Safer streets", "", "", "", ""]),
            s(&[
                "4",
                "Night-time economy",
                "Safer streets",
                "Street pastors",
                "",
                "tomorrow",
                "",
            ]),
        ];
        let import = plan_import(&plan, &rows, &mapping);
        assert_eq!(
            import.bad.iter().map(|b| b.row).collect::<Vec<_>>(),
            vec![4, 5]
        );
        assert!(import.bad[1].reason.contains("not a date"));
        // With bad rows nothing is written.
        let q2 = ReportingPeriod {
            year: 2026,
            quarter: Quarter::Q2,
        };
        let before = doc.read().unwrap();
        assert!(doc.import_rows(&mut r, &import, q2).is_err());
        assert_eq!(doc.read().unwrap(), before);
        let good = plan_import(&plan, &rows[..2], &mapping);
        assert_eq!(good.new_themes, vec!["Night-time economy".to_string()]);
        assert_eq!(doc.import_rows(&mut r, &good, q2).unwrap(), 2);
        doc.commit();
        let after = doc.read().unwrap();
        let weekly = after.themes[0]
            .objectives
            .iter()
            .flat_map(|o| &o.actions)
            .find(|a| a.title == "Weekly call-backs")
            .unwrap();
        assert_eq!(weekly.due.as_deref(), Some("2026-09-30"));
        assert_eq!(weekly.rag.get(&q2), Some(&Rag::Amber));
        assert!(after.themes.iter().any(|t| t.title == "Night-time economy"));
        let _ = TextField::PlanTitle;
    }

    #[test]
    fn restoring_one_action_puts_it_back_in_place_and_leaves_the_rest_as_now() {
        let mut r = StdRng::seed_from_u64(10);
        let mut doc = demo_plan(&mut r).unwrap();
        let then = doc.read().unwrap();
        let o = &then.themes[0].objectives[0];
        let (gone, renamed) = (&o.actions[1], &o.actions[0]);
        doc.remove_action(&gone.id).unwrap();
        doc.set_text(&TextField::ActionTitle(renamed.id.clone()), "Renamed since")
            .unwrap();
        doc.commit();
        let now = doc.read().unwrap();
        let restored = restore_item(&now, &then, ItemKind::Action, gone.id.as_str()).unwrap();
        doc.restore(&restored).unwrap();
        doc.commit();
        let after = doc.read().unwrap();
        let actions = &after.themes[0].objectives[0].actions;
        assert_eq!(actions[1], *gone);
        assert_eq!(actions[0].title, "Renamed since");
        assert!(restore_item(&now, &then, ItemKind::Action, "ac-nope").is_err());
    }
}
