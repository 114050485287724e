//! Joining and enrolling: invitations turned into participants with fresh tokens, on the
//! server's storage (the rules they follow are [`crate::access`]'s).

use crate::access::{
    hash_token, new_code, new_token, Invitation, Participant, ParticipantKind, Role,
};
use crate::store::{
    JoinError, NewInvitation, NewParticipant, OwnerLink, PlanRow, Store, StoreError,
};
use plansync_shared::SignInRule;

/// How long the owner link printed at start works.
const OWNER_LINK_MS: i64 = 7 * 24 * 3600 * 1000;

/// The current participants whose tokens these are (unknown and revoked tokens are left out).
pub async fn authenticate(
    store: &Store,
    tokens: Vec<String>,
) -> Result<Vec<Participant>, StoreError> {
    let mut found = Vec::new();
    for t in tokens {
        if let Some(p) = store
            .participant_by_token(hash_token(&t), crate::now_ms())
            .await?
        {
            found.push(p);
        }
    }
    Ok(found)
}

/// Exchanges an invitation code for a new participant and their token.
pub async fn redeem(
    store: &Store,
    code: String,
    name: String,
    agency: String,
) -> Result<(Participant, String), JoinError> {
    let token = new_token(&mut rand::rng());
    let p = store
        .redeem(code, name, agency, hash_token(&token), crate::now_ms())
        .await?;
    Ok((p, token))
}

/// Adds a participant with a fresh token; returns them and the token.
pub async fn add_with_token(
    store: &Store,
    plan: String,
    name: String,
    agency: String,
    role: Role,
    kind: ParticipantKind,
) -> Result<(Participant, String), StoreError> {
    let token = new_token(&mut rand::rng());
    let p = store
        .add_participant(
            NewParticipant {
                plan,
                name,
                agency,
                role,
                kind,
                token_hash: hash_token(&token),
            },
            crate::now_ms(),
        )
        .await?;
    Ok((p, token))
}

/// Why a server could not be enrolled.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The name is empty or too long.
    #[error("a relaying server needs a name of 1 to 100 characters, such as \"Workshop laptop\"")]
    Name,
    /// Servers relay; they do not manage people.
    #[error("a relaying server can be a viewer or an editor, not an owner")]
    Owner,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// Enrolls a server that will relay to this one (a workshop laptop) as a participant of
/// kind "server" with a fresh token; returns it and the token. Its changes show in the
/// history by the people the relay reports, "via" its name.
pub async fn enroll(
    store: &Store,
    plan: String,
    name: &str,
    role: Role,
) -> Result<(Participant, String), EnrollError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(EnrollError::Name);
    }
    if role == Role::Owner {
        return Err(EnrollError::Owner);
    }
    Ok(add_with_token(
        store,
        plan,
        name.to_string(),
        "Relaying server".to_string(),
        role,
        ParticipantKind::Server,
    )
    .await?)
}

/// Creates an invitation with a fresh code.
pub async fn invite(
    store: &Store,
    plan: String,
    role: Role,
    expires_ms: i64,
    uses: i64,
    sign_in: SignInRule,
) -> Result<Invitation, StoreError> {
    let code = new_code(&mut rand::rng());
    store
        .create_invitation(
            NewInvitation {
                plan,
                role,
                code,
                expires_ms,
                uses,
                sign_in,
            },
            crate::now_ms(),
        )
        .await
}

/// For every plan without an owner: a one-use owner invitation valid for a week, made now
/// unless one made earlier can still be used ([`OwnerLink::Pending`]: this start does
/// not withdraw a link another node, or an earlier start, printed).
pub async fn owner_invitations(store: &Store) -> Result<Vec<(PlanRow, OwnerLink)>, StoreError> {
    let now = crate::now_ms();
    let mut out = Vec::new();
    for plan in store.plans().await? {
        let inv = NewInvitation {
            plan: plan.id.clone(),
            role: Role::Owner,
            code: new_code(&mut rand::rng()),
            expires_ms: now + OWNER_LINK_MS,
            uses: 1,
            sign_in: SignInRule::Code,
        };
        match store.owner_invitation_if_none(inv, now).await? {
            OwnerLink::HasOwner => {}
            link => out.push((plan, link)),
        }
    }
    Ok(out)
}
