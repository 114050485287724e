//! The plan as typed Rust values, read out of the automerge document (see LAYOUT.md).

use crate::ids::*;
use crate::period::{financial_year, ReportingPeriod};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

macro_rules! word_enum {
    ($(#[$doc:meta] $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal,)* })*) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $($(#[$vdoc])* #[serde(rename = $word)] $variant,)* }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// The word stored in the document and shown to users.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word,)* }
            }
            /// Parses the stored word.
            pub fn parse(s: &str) -> Result<Self, crate::Error> {
                match s {
                    $($word => Ok($name::$variant),)*
                    _ => Err(crate::Error::Invalid(format!(concat!("'{}' is not a ", stringify!($name)), s))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

word_enum! {
    /// The lifecycle stage of a plan.
    Stage {
        /// Being drafted by the plan owner.
        Draft = "draft",
        /// Under review at the stakeholder workshop.
        StakeholderWorkshop = "stakeholder workshop",
        /// With the Police and Crime Panel.
        PanelReview = "panel review",
        /// Approved by the owning body.
        Approved = "approved",
        /// Published.
        Published = "published",
    }
    /// A RAG rating for one reporting period.
    Rag {
        /// Off track.
        Red = "red",
        /// At risk.
        Amber = "amber",
        /// On track.
        Green = "green",
        /// Not rated this period.
        NotRated = "not rated",
    }
    /// How far an action has got.
    ProgressState {
        /// Work has not started.
        NotStarted = "not started",
        /// Work is under way.
        InProgress = "in progress",
        /// Work is done.
        Complete = "complete",
    }
    /// The workshop review decision on an objective.
    Decision {
        /// Not yet discussed.
        Undecided = "undecided",
        /// Keep as it is.
        CarryForward = "carry forward",
        /// Keep with new wording.
        Amend = "amend",
        /// Remove from the next plan.
        Drop = "drop",
        /// Proposed at the workshop.
        New = "new",
    }
    /// Direction of travel of an action or indicator, this reporting period against the last.
    Direction {
        /// Better than last period.
        Improving = "improving",
        /// The same as last period.
        Unchanged = "unchanged",
        /// Worse than last period.
        Worsening = "worsening",
    }
    /// Whether lower or higher values of an indicator are better.
    Polarity {
        /// E.g. burglary counts.
        LowerIsBetter = "lower is better",
        /// E.g. survey confidence.
        HigherIsBetter = "higher is better",
    }
}

/// The whole plan, read from its document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// E.g. "Police, Crime and Community Safety Plan 2025-28".
    pub title: String,
    /// The area the plan covers, e.g. a city.
    pub area: String,
    /// First financial year covered (2025 for 2025/26).
    pub period_start: i64,
    /// Last financial year covered.
    pub period_end: i64,
    /// The body that owns the plan, e.g. the city's Police and Crime Board.
    pub owning_body: String,
    /// Lifecycle stage.
    pub stage: Stage,
    /// Lifecycle milestones, in order.
    pub milestones: Vec<Milestone>,
    /// Partner agencies, by name.
    pub agencies: Vec<Agency>,
    /// Leads and chairs, named by role.
    pub people: Vec<Person>,
    /// The Police and Crime Board and its sub-groups.
    pub boards: Vec<Board>,
    /// Themes in plan order, each with its objectives and actions.
    pub themes: Vec<Theme>,
    /// Quantitative measures, in order.
    pub indicators: Vec<Indicator>,
    /// Comments on themes, objectives, actions and indicators.
    pub comments: Vec<Comment>,
    /// Reporting rounds, oldest period first.
    #[serde(default)]
    pub rounds: Vec<Round>,
}

impl Plan {
    /// A person's name ("" if not set; the id if the person is no longer in the plan).
    pub fn person_name(&self, id: Option<&PersonId>) -> String {
        let Some(id) = id else { return String::new() };
        self.people
            .iter()
            .find(|p| &p.id == id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    }

    /// The name of a person's agency ("" if not known).
    pub fn agency_of(&self, id: Option<&PersonId>) -> String {
        let agency = id
            .and_then(|id| self.people.iter().find(|p| &p.id == id))
            .and_then(|p| p.agency.as_ref());
        agency
            .and_then(|a| self.agencies.iter().find(|x| &x.id == a))
            .map(|a| a.name.clone())
            .unwrap_or_default()
    }

    /// A board's name ("" if not set; [`REMOVED_BOARD`] if the board is no longer in the
    /// plan).
    pub fn board_name(&self, id: Option<&BoardId>) -> String {
        let Some(id) = id else { return String::new() };
        self.boards
            .iter()
            .find(|b| &b.id == id)
            .map_or_else(|| REMOVED_BOARD.to_string(), |b| b.name.clone())
    }

    /// The years the plan covers, as "2025/26 to 2027/28".
    pub fn years(&self) -> String {
        format!(
            "{} to {}",
            financial_year(self.period_start),
            financial_year(self.period_end)
        )
    }

    /// The period a reader wants first: the latest one, up to `now`, in which an action is
    /// rated (red, amber or green); `now` if none is. A paper or dashboard opened on an
    /// unrated current quarter would show nothing.
    pub fn latest_rated_period(&self, now: ReportingPeriod) -> ReportingPeriod {
        self.themes
            .iter()
            .flat_map(|t| &t.objectives)
            .flat_map(|o| &o.actions)
            .flat_map(|a| &a.rag)
            .filter(|(p, r)| **p <= now && **r != Rag::NotRated)
            .map(|(p, _)| *p)
            .max()
            .unwrap_or(now)
    }

    /// Board names, joined with `sep`.
    pub fn board_names(&self, ids: &[BoardId], sep: &str) -> String {
        ids.iter()
            .map(|b| self.board_name(Some(b)))
            .collect::<Vec<_>>()
            .join(sep)
    }
}

/// A lifecycle milestone (workshop, panel review, approval, publication).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Milestone {
    /// Stable id.
    pub id: MilestoneId,
    /// What happens.
    pub name: String,
    /// Due date (ISO), if set.
    pub due: Option<String>,
    /// Whether it has happened.
    pub done: bool,
}

/// A partner agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agency {
    /// Stable id.
    pub id: AgencyId,
    /// E.g. "City Council".
    pub name: String,
}

/// A person, named by role in demo data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// Stable id.
    pub id: PersonId,
    /// Display name.
    pub name: String,
    /// Job role.
    pub role: String,
    /// The agency they work for.
    pub agency: Option<AgencyId>,
}

/// The Police and Crime Board or one of its sub-groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    /// Stable id.
    pub id: BoardId,
    /// E.g. "City Tasking".
    pub name: String,
    /// Who chairs it.
    pub chair: Option<PersonId>,
    /// What it covers.
    pub remit: String,
}

/// A theme of the plan (e.g. Victims) with its objectives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Theme {
    /// Stable id.
    pub id: ThemeId,
    /// E.g. "Victims".
    pub title: String,
    /// The theme's aim.
    pub aim: String,
    /// Shared outcomes, in order.
    pub outcomes: Vec<String>,
    /// Theme lead.
    pub lead: Option<PersonId>,
    /// Objectives in order.
    pub objectives: Vec<Objective>,
}

/// A key objective / priority for action, with its actions and workshop review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// Stable id.
    pub id: ObjectiveId,
    /// The objective's wording.
    pub text: String,
    /// The workshop review of this objective.
    pub review: WorkshopReview,
    /// Actions in order.
    pub actions: Vec<Action>,
}

/// The workshop's review of one objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkshopReview {
    /// Carry forward / amend / drop / new, or undecided.
    pub decision: Decision,
    /// The working group that reviewed it.
    pub group: String,
    /// Proposed new wording.
    pub proposed: String,
    /// The group's comments.
    pub comments: String,
}

/// What a board no longer in the plan is called where something still names it.
pub const REMOVED_BOARD: &str = "(removed board)";

/// An action: who does what by when, and how it is going.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Stable id.
    pub id: ActionId,
    /// Short title.
    pub title: String,
    /// Longer description.
    pub description: String,
    /// The single most appropriate board.
    pub lead_board: Option<BoardId>,
    /// Boards that share ownership, sorted by id.
    pub contributing_boards: Vec<BoardId>,
    /// The lead person.
    pub lead: Option<PersonId>,
    /// Due date (ISO), if set.
    pub due: Option<String>,
    /// Target or measure, in words.
    pub target: String,
    /// Linked indicator, if the target is quantitative.
    pub indicator: Option<IndicatorId>,
    /// Progress state.
    pub state: ProgressState,
    /// RAG per reporting period.
    pub rag: BTreeMap<ReportingPeriod, Rag>,
    /// Dated progress updates, oldest first.
    pub updates: Vec<ProgressUpdate>,
    /// Direction of travel set by a lead instead of the derived one, per reporting period.
    #[serde(default)]
    pub direction_overrides: BTreeMap<ReportingPeriod, DirectionOverride>,
}

impl Action {
    /// The latest progress update: the one with the latest date, and of those the one
    /// added last.
    pub fn latest_update(&self) -> Option<&ProgressUpdate> {
        self.updates.iter().max_by(|x, y| x.date.cmp(&y.date))
    }
}

/// A lead's own direction of travel for one reporting period, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectionOverride {
    /// The direction the lead sets.
    pub direction: Direction,
    /// Why the derived direction does not tell the story.
    pub reason: String,
    /// Who set it (name and agency, as stamped by the app).
    pub by: String,
}

/// A dated progress update on an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressUpdate {
    /// Stable id.
    pub id: UpdateId,
    /// Who wrote it.
    pub author: String,
    /// Their agency.
    pub agency: String,
    /// When (ISO date).
    pub date: String,
    /// What they wrote.
    pub text: String,
    /// How the writer was known to their server ([`crate::Known::stored`]: signed in with a
    /// provider, or joined with a code), as their app stamped it; empty if unsaid.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub known: String,
}

impl ProgressUpdate {
    /// Who wrote it, as shown: "Alice Lead, Riverton City Council (signed in with Riverton
    /// City Council)".
    pub fn by(&self) -> String {
        crate::identity::stamped_by(&self.author, &self.agency, &self.known)
    }
}

/// A quantitative measure with one value per quarter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// Stable id.
    pub id: IndicatorId,
    /// E.g. "Domestic burglaries".
    pub name: String,
    /// E.g. "offences".
    pub unit: String,
    /// Whether lower or higher is better.
    pub polarity: Polarity,
    /// Target value per quarter.
    pub target: f64,
    /// How far from target is still within tolerance.
    pub tolerance: f64,
    /// Value per reporting period.
    pub values: BTreeMap<ReportingPeriod, f64>,
    /// Direction of travel set by a lead instead of the derived one, per reporting period.
    #[serde(default)]
    pub direction_overrides: BTreeMap<ReportingPeriod, DirectionOverride>,
}

/// What a comment is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommentTarget {
    /// A theme.
    Theme(ThemeId),
    /// An objective.
    Objective(ObjectiveId),
    /// An action.
    Action(ActionId),
    /// An indicator.
    Indicator(IndicatorId),
}

impl CommentTarget {
    /// How the document stores it: `"action:<id>"`.
    pub fn key(&self) -> String {
        match self {
            CommentTarget::Theme(t) => format!("theme:{t}"),
            CommentTarget::Objective(o) => format!("objective:{o}"),
            CommentTarget::Action(a) => format!("action:{a}"),
            CommentTarget::Indicator(i) => format!("indicator:{i}"),
        }
    }

    /// Reads a stored key; `None` for a kind this version does not know.
    pub fn from_key(key: &str) -> Option<Self> {
        Some(match key.split_once(':')? {
            ("theme", t) => CommentTarget::Theme(ThemeId::new(t)),
            ("objective", o) => CommentTarget::Objective(ObjectiveId::new(o)),
            ("action", a) => CommentTarget::Action(ActionId::new(a)),
            ("indicator", i) => CommentTarget::Indicator(IndicatorId::new(i)),
            _ => return None,
        })
    }
}

/// A comment on a theme, objective, action or indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Stable id.
    pub id: CommentId,
    /// What it is about.
    pub target: CommentTarget,
    /// Who wrote it.
    pub author: String,
    /// Their agency.
    pub agency: String,
    /// When (ISO date).
    pub date: String,
    /// The comment.
    pub text: String,
    /// Whether the thread is resolved.
    pub resolved: bool,
    /// How the writer was known to their server ([`crate::Known::stored`]), as their app
    /// stamped it; empty if unsaid.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub known: String,
}

impl Comment {
    /// Who wrote it, as shown (see [`ProgressUpdate::by`]).
    pub fn by(&self) -> String {
        crate::identity::stamped_by(&self.author, &self.agency, &self.known)
    }
}

/// A reporting round: an owner's call, for one reporting period, for every lead to rate
/// and update their actions by a deadline. Open until an owner closes it; a closed round is
/// read-only history that keeps what was outstanding when it closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// Stable id.
    pub id: RoundId,
    /// The reporting period the updates are for.
    pub period: ReportingPeriod,
    /// The deadline for updates (ISO date).
    pub deadline: String,
    /// The Board's meeting that receives the Board pack (ISO date), if set.
    pub meeting: Option<String>,
    /// The day it was opened (ISO date): progress updates count from this day.
    pub opened: String,
    /// Who opened it (name and agency, as stamped by the app).
    pub opened_by: String,
    /// The day it was closed (ISO date), if it is closed.
    pub closed: Option<String>,
    /// Who closed it.
    pub closed_by: String,
    /// The actions still outstanding when it closed, in plan order.
    pub outstanding_at_close: Vec<ActionId>,
    /// When reminders are emailed: days before the deadline (0 is the deadline day),
    /// latest first; empty sends none. A round that never set them has the default.
    #[serde(default = "default_reminders")]
    pub reminders: Vec<u32>,
}

/// When a round's reminders go unless its owner says otherwise: 7 days before the
/// deadline and on the deadline.
pub const DEFAULT_REMINDERS: [u32; 2] = [7, 0];

fn default_reminders() -> Vec<u32> {
    DEFAULT_REMINDERS.to_vec()
}

impl Round {
    /// Whether the round is still open for updates.
    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }
}

/// What a new plan starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlan {
    /// Plan title.
    pub title: String,
    /// Area covered.
    pub area: String,
    /// First financial year.
    pub period_start: i64,
    /// Last financial year.
    pub period_end: i64,
    /// Owning body.
    pub owning_body: String,
}

/// The few facts the server lists for each plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Plan title.
    pub title: String,
    /// Lifecycle stage.
    pub stage: Stage,
}
