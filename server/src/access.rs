//! Who may do what: participants of a plan with a role, invitations that turn a short code
//! into a participant token, and the rules both storage backends apply to them (a plan
//! keeps an owner; an invitation is used only while it may be). Tokens are stored only as
//! SHA-256 hashes; codes use no look-alike characters. Joining itself, which stores, is
//! [`crate::membership`].

pub use plansync_shared::api::{Invitation, Participant, ParticipantId, ParticipantKind, Role};
use plansync_shared::{PersonLink, SignInRule};
use rand::Rng;
use sha2::{Digest, Sha256};

/// A link about to be made.
#[derive(Debug, Clone)]
pub struct NewPersonLink {
    /// The plan (document id).
    pub plan: String,
    /// The participant it links.
    pub participant: ParticipantId,
    /// The plan person.
    pub person: String,
    /// Made or confirmed by an owner.
    pub confirmed: bool,
    /// An owner allows the person to be linked to other participants too.
    pub shared: bool,
}

/// What linking a participant to a plan person did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Linked (or the existing link updated).
    Linked,
    /// Refused: the person is linked to another participant (named), and no owner said
    /// they may be linked to several.
    Taken(String),
    /// No such current participant of that plan.
    NotFound,
}

/// The rule both backends apply inside their linking transaction: a person is linked to at
/// most one participant at a time, unless an owner makes a shared link. `others` are the
/// person's current links to other participants, each with that participant's name.
pub fn link_rule(others: &[(PersonLink, String)], new: &NewPersonLink) -> LinkOutcome {
    match others.first() {
        Some((_, name)) if !(new.shared && new.confirmed) => LinkOutcome::Taken(name.clone()),
        _ => LinkOutcome::Linked,
    }
}

/// Why an invitation refused a person joining with it.
#[derive(Debug, thiserror::Error)]
pub enum JoinRefused {
    /// No invitation has this code, or it was withdrawn.
    #[error("that code is not a valid invitation: check it with the person who invited you")]
    Unknown,
    /// The invitation is past its expiry.
    #[error("that invitation has expired: ask an owner of the plan for a new one")]
    Expired,
    /// Every use of the invitation is taken.
    #[error("that invitation has been used as many times as it allows: ask an owner of the plan for a new one")]
    UsedUp,
    /// The invitation asks for a sign-in with an agency's provider, not a typed name.
    #[error("this invitation asks you to sign in with your agency's account: use a \"Sign in with\" button instead of typing your name")]
    SignInRequired,
    /// The invitation asks for a sign-in with another provider.
    #[error("this invitation asks you to sign in with another agency's account: use the button it names")]
    OtherProvider,
}

/// The outcome of changing a participant's role or revoking them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    /// Done.
    Changed,
    /// No such current participant of that plan.
    NotFound,
    /// Refused: the plan would be left without an owner.
    LastOwner,
}

/// Whether changing participant `id` (to a role that `stays_owner` or not) leaves the
/// plan an owner, given its current participants and their roles; the backends lock those
/// rows first, so the rule holds when two owners change each other at once.
pub fn owner_rule(people: &[(i64, String)], id: ParticipantId, stays_owner: bool) -> RoleChange {
    let Some((_, role)) = people.iter().find(|(p, _)| *p == id.0) else {
        return RoleChange::NotFound;
    };
    let owners = people.iter().filter(|(_, r)| r == "owner").count();
    if role == "owner" && owners == 1 && !stays_owner {
        return RoleChange::LastOwner;
    }
    RoleChange::Changed
}

/// Whether an invitation found by its code may still be used at `now_ms`: the rule both
/// backends apply inside their redeeming transaction.
pub fn usable_with_code(inv: Invitation, now_ms: i64) -> Result<Invitation, JoinRefused> {
    let inv = usable(inv, now_ms)?;
    if inv.sign_in != SignInRule::Code {
        return Err(JoinRefused::SignInRequired);
    }
    Ok(inv)
}

/// The rule both backends apply when a sign-in joins with an invitation: usable, and
/// asking for this provider (or any, or a code).
pub fn usable_with(
    inv: Invitation,
    provider: &str,
    now_ms: i64,
) -> Result<Invitation, JoinRefused> {
    let inv = usable(inv, now_ms)?;
    if !inv.sign_in.allows(provider) {
        return Err(JoinRefused::OtherProvider);
    }
    Ok(inv)
}

fn usable(inv: Invitation, now_ms: i64) -> Result<Invitation, JoinRefused> {
    if inv.expires <= now_ms {
        return Err(JoinRefused::Expired);
    }
    if inv.uses_left <= 0 {
        return Err(JoinRefused::UsedUp);
    }
    Ok(inv)
}

/// Letters and digits that cannot be mistaken for one another when read off a projector
/// (no 0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G, U/V).
const CODE_ALPHABET: &[u8] = b"ACDEFHJKMNPQRTWXY3479";
/// Characters in a code (21^10, about 44 bits; codes expire and have few uses).
const CODE_LEN: usize = 10;

/// A fresh invitation code, grouped `XXXX-XXXX-XX` for reading aloud.
pub fn new_code(rng: &mut impl Rng) -> String {
    let mut out = String::with_capacity(CODE_LEN + 2);
    for i in 0..CODE_LEN {
        if i == 4 || i == 8 {
            out.push('-');
        }
        out.push(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char);
    }
    out
}

/// A code as typed (any case, spaces or dashes) in its stored form, or `None` if it has
/// characters no code has.
pub fn normalize_code(typed: &str) -> Option<String> {
    let bare: Vec<u8> = typed
        .bytes()
        .filter(|b| !matches!(b, b'-' | b' '))
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if bare.len() != CODE_LEN || !bare.iter().all(|b| CODE_ALPHABET.contains(b)) {
        return None;
    }
    let mut out = String::new();
    for (i, b) in bare.iter().enumerate() {
        if i == 4 || i == 8 {
            out.push('-');
        }
        out.push(*b as char);
    }
    Some(out)
}

/// A fresh participant token: 256 random bits, hex.
pub fn new_token(rng: &mut impl Rng) -> String {
    let bytes: [u8; 32] = rng.random();
    hex(&bytes)
}

/// The form a token is stored in: its SHA-256, hex.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn codes_use_only_unmistakable_characters_and_normalize_from_sloppy_typing() {
        let mut r = StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let code = new_code(&mut r);
            assert_eq!(code.len(), 12);
            assert!(!code.contains(['0', 'O', '1', 'I', 'L', '5', 'S', '8', 'B']));
            let typed = code.to_lowercase().replace('-', " ");
            assert_eq!(normalize_code(&typed).as_deref(), Some(code.as_str()));
        }
        assert_eq!(normalize_code("ABCD-0000-11"), None);
        assert_eq!(normalize_code("short"), None);
    }
}
