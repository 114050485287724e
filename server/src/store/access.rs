//! Participants, their tokens and invitations, links to plan people, email addresses and
//! reminders, as stored.

use super::*;

/// Why redeeming an invitation failed: it refused, or storage failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The invitation refused.
    #[error(transparent)]
    Refused(#[from] JoinRefused),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// A participant about to be added.
#[derive(Debug, Clone)]
pub struct NewParticipant {
    /// The plan (document id).
    pub plan: String,
    /// Their name.
    pub name: String,
    /// Their agency.
    pub agency: String,
    /// Their role.
    pub role: Role,
    /// A person or a relaying server.
    pub kind: crate::access::ParticipantKind,
    /// The hash of their token ([`crate::hash_token`]).
    pub token_hash: String,
}

/// What a start finds for an ownerless plan's owner link.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnerLink {
    /// The plan has an owner.
    HasOwner,
    /// An owner invitation made earlier can still be used (another node's, or an earlier
    /// start's): `plansync invite --role owner` makes another.
    Pending,
    /// This one was made.
    Made(Invitation),
}

/// How long a claim to create the first plan holds before another start may make it.
pub const FIRST_PLAN_CLAIM_MS: i64 = 60_000;

/// An invitation about to be created.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// The plan (document id).
    pub plan: String,
    /// The role it gives.
    pub role: Role,
    /// Its code.
    pub code: String,
    /// When it stops working (ms since 1970).
    pub expires_ms: i64,
    /// How many people may join with it.
    pub uses: i64,
    /// Whether joining needs a sign-in with an agency's provider.
    pub sign_in: SignInRule,
}

/// Participants, their tokens and invitations. Rules that touch several rows (redeeming an
/// invitation, keeping an owner) hold in one transaction.
#[async_trait::async_trait]
pub trait AccessStore: Send + Sync + 'static {
    /// Adds a participant.
    async fn add_participant(&self, p: NewParticipant, now_ms: i64) -> Result<Participant>;
    /// The participant a token belongs to, unless it was revoked or (a sign-in's token)
    /// ended before `now_ms`.
    async fn participant_by_token(
        &self,
        token_hash: String,
        now_ms: i64,
    ) -> Result<Option<Participant>>;
    /// A current (not revoked) participant by id.
    async fn participant(&self, id: ParticipantId) -> Result<Option<Participant>>;
    /// The current (not revoked) participants of a plan, in the order they joined.
    async fn participants(&self, plan: String) -> Result<Vec<Participant>>;
    /// Changes a participant's role, unless that leaves the plan without an owner.
    async fn set_role(&self, plan: String, id: ParticipantId, role: Role) -> Result<RoleChange>;
    /// Revokes a participant's token, unless that leaves the plan without an owner.
    async fn revoke_participant(
        &self,
        plan: String,
        id: ParticipantId,
        now_ms: i64,
    ) -> Result<RoleChange>;
    /// Creates an invitation.
    async fn create_invitation(&self, inv: NewInvitation, now_ms: i64) -> Result<Invitation>;
    /// A plan's invitations that can still be used.
    async fn invitations(&self, plan: String, now_ms: i64) -> Result<Vec<Invitation>>;
    /// Withdraws an invitation; false if there is no such invitation.
    async fn revoke_invitation(&self, plan: String, id: i64, now_ms: i64) -> Result<bool>;
    /// If the plan has no current owner and no owner invitation that can still be used:
    /// creates `inv` (an owner invitation). One at a time across every node sharing the
    /// database, and never withdrawing a link another start made.
    async fn owner_invitation_if_none(&self, inv: NewInvitation, now_ms: i64) -> Result<OwnerLink>;
    /// Whether this start is the one to create a new database's first plan: true once for
    /// a database with no plan, among every node starting at once (again only if the one
    /// that said so made none within a minute).
    async fn claim_first_plan(&self, now_ms: i64) -> Result<bool>;
    /// The links of a plan's current participants to its people.
    async fn person_links(&self, plan: String) -> Result<Vec<PersonLink>>;
    /// Links a current participant to a plan person, or updates their link (an owner
    /// confirming it), under [`crate::access::link_rule`], in one transaction.
    async fn link_person(&self, link: NewPersonLink, now_ms: i64) -> Result<LinkOutcome>;
    /// Removes a participant's link to a plan person; false if there was none.
    async fn unlink_person(
        &self,
        plan: String,
        participant: ParticipantId,
        person: String,
    ) -> Result<bool>;
    /// Sets (or with `None` removes) a current participant's email address and whether
    /// reminders go to it; false if there is no such current participant.
    async fn set_email(
        &self,
        plan: String,
        participant: ParticipantId,
        email: Option<(String, bool)>,
    ) -> Result<bool>;
    /// The email addresses of a plan's current participants.
    async fn emails(&self, plan: String) -> Result<Vec<ParticipantEmail>>;
    /// Takes the reminders among `keys` (each with its participant) that are this node's
    /// to send now, in one transaction: new ones, and ones whose hold ran out by `now_ms`
    /// (a failed try's retry time, or a sender that stopped). Each taken is held until
    /// `hold_until_ms`. A key sent, given up, or held by another node is not taken; of two
    /// nodes taking the same key at once, exactly one gets it.
    async fn take_reminders(
        &self,
        plan: String,
        keys: Vec<(String, i64)>,
        now_ms: i64,
        hold_until_ms: i64,
    ) -> Result<Vec<String>>;
    /// Records reminders as sent: nobody sends them again.
    async fn reminders_sent(&self, keys: Vec<String>, now_ms: i64) -> Result<()>;
    /// Puts a taken reminder back to be tried from `retry_ms`; `error` (if any) counts as a
    /// failed try, and after [`MAX_REMINDER_TRIES`] of those it is given up.
    async fn reminder_retry(&self, key: String, retry_ms: i64, error: Option<String>)
        -> Result<()>;
    /// Uses one place of the invitation with this code and adds the person as a participant,
    /// in one transaction.
    async fn redeem(
        &self,
        code: String,
        name: String,
        agency: String,
        token_hash: String,
        now_ms: i64,
    ) -> Result<Participant, JoinError>;
}

/// Failed tries after which a reminder is given up (logged, never sent).
pub const MAX_REMINDER_TRIES: i64 = 8;
