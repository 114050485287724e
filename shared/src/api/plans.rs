//! Plans and membership: `/api/plans`, `/api/join`, `/api/plans/import`, and what a
//! sign-in finishes with.

use super::people::{Participant, Role};
use serde::{Deserialize, Serialize};

/// A plan as a server lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRow {
    /// The document id (bare, bs58check).
    pub id: String,
    /// The plan's title.
    pub title: String,
    /// `automerge:<id>`.
    pub url: String,
    /// Lifecycle stage.
    pub stage: String,
    /// Last change, milliseconds since the Unix epoch.
    pub updated: i64,
}

impl PlanRow {
    /// A row from its stored columns.
    pub fn new(id: String, title: String, stage: String, updated: i64) -> Self {
        Self {
            url: format!("automerge:{id}"),
            id,
            title,
            stage,
            updated,
        }
    }
}

/// `GET /api/plans`: one plan a caller's token belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyPlan {
    /// The plan.
    #[serde(flatten)]
    pub plan: PlanRow,
    /// The caller's role in it.
    pub role: Role,
    /// The caller as a participant of it.
    pub participant: Participant,
}

/// `POST /api/plans`: the demo plan, or an empty one with a title.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePlan {
    /// Create the demo plan.
    #[serde(default)]
    pub demo: bool,
    /// Title of an empty plan.
    pub title: Option<String>,
}

/// `POST /api/join`: an invitation code exchanged for a membership.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// The invitation code, as typed.
    pub code: String,
    /// The person's name.
    pub name: String,
    /// Their agency.
    pub agency: String,
}

/// What joining, creating or importing a plan gives: the plan, me in it, and my token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    /// The plan.
    pub plan: PlanRow,
    /// The participant.
    pub participant: Participant,
    /// Their token.
    pub token: String,
}

/// `POST /api/sign-in/finish`: my membership of each plan, and where to go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedIn {
    /// One per plan.
    pub memberships: Vec<Membership>,
    /// The app's address to open (`/#/...`).
    pub return_to: String,
}

/// `GET /api/plans/{plan}/view`: the plan as the server holds it now, read into typed
/// values, with the heads it was read at. A browser that has just joined shows it at once
/// while the plan's document itself arrives over the sync connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanView {
    /// The heads (hex) the plan was read at.
    pub heads: Vec<String>,
    /// The plan.
    pub plan: crate::Plan,
}
