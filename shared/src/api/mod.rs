//! The HTTP contract: every request and response body (and query) of the server's API,
//! defined once and used by the server's handlers, the app and a relay's calls upstream.
//! Serde only: no server or browser code. A renamed field here changes all three at once;
//! the server's tests round-trip each endpoint's body through these types.

mod exports;
mod history;
mod people;
mod plans;
mod relay;
mod signin;

pub use exports::{ExportLink, TrackerPreview, TrackerQuery};
pub use history::{
    Attributed, ChangeAuthor, Comparison, Described, NewSnapshot, Restore, RestoreItem, Restored,
    Snapshot, VersionQuery,
};
pub use people::{
    EnrollServer, Enrolled, Invitation, InvitationView, Invite, Participant, ParticipantId,
    ParticipantKind, Role, RoomAddress, SetRole,
};
pub use plans::{CreatePlan, Join, Membership, MyPlan, PlanRow, PlanView, SignedIn};
pub use relay::{AuthorGroup, RelayState, Reported};
pub use signin::{CallbackQuery, StartQuery};

/// Bodies defined beside the domain they belong to, listed here so this module names the
/// whole contract.
pub use crate::{
    EmailList, FinishSignIn, LinkPerson, ParticipantEmail, PersonLink, ProviderChoice, Publish,
    Published, SetEmail, SignOff, SignOffRequest,
};

use serde::{Deserialize, Serialize};

/// Any refusal: the status code says what kind, `error` says what happened and what to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// In words, for the person.
    pub error: String,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// `GET /ready`: whether this node can serve (for a load balancer): its database answers
/// and has the schema this node knows. 200 when ready, 503 with the reason when not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    /// Whether it can serve.
    pub ready: bool,
    /// Why not, in words, for the operator.
    pub reason: Option<String>,
}
