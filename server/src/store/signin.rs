//! Sign-ins in progress, their hand-offs and the sessions they started, as stored.

use super::*;

/// A sign-in under way: what the server keeps between sending a browser to the provider and
/// its return (one row, taken once).
#[derive(Debug, Clone, PartialEq)]
pub struct SignInFlow {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: String,
    /// SHA-256 of the cookie the browser that started it holds.
    pub browser_hash: String,
    /// The provider's id.
    pub provider: String,
    /// The PKCE verifier.
    pub verifier: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The invitation code it joins with, if any.
    pub invitation: Option<String>,
    /// Where in the app to go afterwards (`/#/...`).
    pub return_to: String,
    /// When it started (ms since 1970).
    pub created_ms: i64,
}

/// A person as their provider vouched for them.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedInPerson {
    /// The provider's id in the settings.
    pub provider: String,
    /// Its label ("Riverton City Council").
    pub label: String,
    /// The agency a new participant is of.
    pub agency: String,
    /// The ID token's issuer.
    pub issuer: String,
    /// The ID token's subject.
    pub subject: String,
    /// Their name, from the provider.
    pub name: String,
    /// Their email, from the provider.
    pub email: Option<String>,
}

/// Signing in with an agency's provider: flows under way, the participants an identity is,
/// the one-time codes that hand tokens to the app, and the tokens (sessions) that end.
#[async_trait::async_trait]
pub trait SignInStore: Send + Sync + 'static {
    /// Keeps a flow until the browser returns (and drops flows older than `MAX_FLOW_MS`).
    async fn begin_sign_in(&self, flow: SignInFlow) -> Result<()>;
    /// Takes a flow by its state's hash, once; `None` if unknown, taken or too old.
    async fn take_sign_in(&self, state_hash: String, now_ms: i64) -> Result<Option<SignInFlow>>;
    /// The current participants `who` is, after joining with `invitation` if given (which
    /// makes a participant of its plan with the provider's name, or finds the one there);
    /// each has its last sign-in, name and email brought up to date. `unusable_token` fills
    /// a new participant's code-token column: its tokens are sessions.
    async fn sign_in(
        &self,
        who: SignedInPerson,
        invitation: Option<String>,
        unusable_token: String,
        now_ms: i64,
    ) -> Result<Vec<Participant>, JoinError>;
    /// Keeps a one-time code that hands tokens for `participants` to the app.
    async fn add_handoff(
        &self,
        code_hash: String,
        participants: Vec<ParticipantId>,
        return_to: String,
        expires_ms: i64,
    ) -> Result<()>;
    /// Takes a one-time code, once: its participants and where to go.
    async fn take_handoff(
        &self,
        code_hash: String,
        now_ms: i64,
    ) -> Result<Option<(Vec<ParticipantId>, String)>>;
    /// A token for a participant that ends at `expires_ms`.
    async fn add_session(
        &self,
        token_hash: String,
        participant: ParticipantId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<()>;
    /// Ends these tokens (signing out); how many there were.
    async fn end_sessions(&self, token_hashes: Vec<String>) -> Result<usize>;
}

/// How long a browser has to come back from its provider.
pub const MAX_FLOW_MS: i64 = 10 * 60 * 1000;
