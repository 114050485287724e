//! Participants, their roles and invitations: `/api/plans/{plan}/participants`,
//! `/invitations` and `/servers`.

use crate::{Known, SignInRule};
use serde::{Deserialize, Serialize};

/// A participant's role in one plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the plan; cannot change it (for example the scrutiny committee).
    Viewer,
    /// Reads and changes the plan.
    Editor,
    /// Changes the plan and manages its participants and invitations.
    Owner,
}

impl Role {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Owner => "owner",
        }
    }

    /// Parses a stored or typed role name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of participant: a person, or a server that relays a room's work (a workshop
/// laptop enrolled with `plansync enroll`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantKind {
    /// A person.
    #[default]
    Person,
    /// A server relaying to this one.
    Server,
}

impl ParticipantKind {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantKind::Person => "person",
            ParticipantKind::Server => "server",
        }
    }

    /// Parses a stored name (anything unknown is a person).
    pub fn parse(s: &str) -> Self {
        match s {
            "server" => ParticipantKind::Server,
            _ => ParticipantKind::Person,
        }
    }
}

/// Identifies a participant (a row of `participants`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(pub i64);

impl std::fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A person (or relaying server) taking part in one plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// Its id.
    pub id: ParticipantId,
    /// The plan (document id).
    pub plan: String,
    /// The person's name as they gave it.
    pub name: String,
    /// Their agency.
    pub agency: String,
    /// Their role.
    pub role: Role,
    /// When they joined, milliseconds since the Unix epoch.
    pub joined: i64,
    /// A person or a relaying server.
    #[serde(default)]
    pub kind: ParticipantKind,
    /// The identity provider's label when they signed in with their agency ("Riverton City
    /// Council"); `None` when they joined with a code.
    pub signed_in_with: Option<String>,
    /// When they last signed in with their provider (ms since 1970).
    pub last_sign_in: Option<i64>,
    /// The id of the provider they sign in with (`None` for a code).
    pub provider: Option<String>,
    /// When the token they came with ends (ms since 1970): a sign-in's token does, a code's
    /// does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_ends: Option<i64>,
}

impl Participant {
    /// How the server knows them (`None` for a relaying server: its reports name people).
    pub fn known(&self) -> Option<Known> {
        Known::of_participant(self.kind.as_str(), self.signed_in_with.as_deref())
    }
}

/// `PATCH /api/plans/{plan}/participants/{id}`: a participant's new role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// The new role.
    pub role: Role,
}

/// `POST /api/plans/{plan}/servers`: enrolls a relaying server (a workshop laptop).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollServer {
    /// What the server is called ("Workshop laptop").
    pub name: String,
    /// Its role: editor (the default) or viewer.
    #[serde(default = "editor")]
    pub role: Role,
}

fn editor() -> Role {
    Role::Editor
}

/// The answer to [`EnrollServer`]: the server's participant and its token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrolled {
    /// The relaying server as a participant.
    pub participant: Participant,
    /// Its token (shown once).
    pub token: String,
}

/// An invitation to join a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    /// Its id.
    pub id: i64,
    /// The plan (document id).
    pub plan: String,
    /// The role it gives.
    pub role: Role,
    /// The code a person types (`ABCD-EFGH-JK`).
    pub code: String,
    /// When it stops working, milliseconds since the Unix epoch.
    pub expires: i64,
    /// How many more people may join with it.
    pub uses_left: i64,
    /// Whether joining needs a sign-in with an agency's provider.
    #[serde(default)]
    pub sign_in: SignInRule,
}

/// An invitation as an owner sees it, with its link and QR code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationView {
    /// The invitation.
    #[serde(flatten)]
    pub invitation: Invitation,
    /// The link that opens the app on the join page with the code filled in.
    pub link: String,
    /// The link as a QR code, SVG.
    pub qr_svg: String,
}

/// `GET /api/plans/{plan}/room`: where people in the room open the app, for the room page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomAddress {
    /// The addresses people in the room open, the likeliest first; empty when none is
    /// known (the server listens on this computer only, or the computer is on no network).
    pub addresses: Vec<String>,
    /// The server listens on this computer only (a loopback address): nobody else can open
    /// it until it is started with `--listen 0.0.0.0:PORT`.
    pub this_computer_only: bool,
    /// The port the server listens on.
    pub port: u16,
}

/// `POST /api/plans/{plan}/invitations`: a new invitation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    /// The role it gives.
    pub role: Role,
    /// Hours until it expires (1 to 2,160, 90 days).
    pub expires_hours: i64,
    /// How many people may join with it (1 to 500).
    pub uses: i64,
    /// Whether joining needs a sign-in with an agency's provider (a code is enough when
    /// left out).
    #[serde(default)]
    pub sign_in: SignInRule,
}
