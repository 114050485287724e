//! Who may do what: participants of a plan with a role, invitations that turn a short code
//! into a participant token, and the SQLite tables behind them. Tokens are stored only as
//! SHA-256 hashes; codes use no look-alike characters.

use crate::storage::{Storage, StorageError};
use plansync_shared::Access;
use rand::Rng;
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A participant's role in one plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    /// What the sync core lets this role do with the plan's document.
    pub fn access(self) -> Access {
        match self {
            Role::Viewer => Access::Read,
            Role::Editor | Role::Owner => Access::Write,
        }
    }
}

/// Identifies a participant (a row of `participants`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(pub i64);

/// A person taking part in one plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

/// An invitation to join a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

/// Why joining with a code failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// No invitation has this code, or it was withdrawn.
    #[error("that code is not a valid invitation: check it with the person who invited you")]
    Unknown,
    /// The invitation is past its expiry.
    #[error("that invitation has expired: ask an owner of the plan for a new one")]
    Expired,
    /// Every use of the invitation is taken.
    #[error("that invitation has been used as many times as it allows: ask an owner of the plan for a new one")]
    UsedUp,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
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

fn participant(r: &Row) -> rusqlite::Result<Participant> {
    let role: String = r.get(4)?;
    Ok(Participant {
        id: ParticipantId(r.get(0)?),
        plan: r.get(1)?,
        name: r.get(2)?,
        agency: r.get(3)?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        joined: r.get(5)?,
    })
}

fn invitation(r: &Row) -> rusqlite::Result<Invitation> {
    let role: String = r.get(2)?;
    Ok(Invitation {
        id: r.get(0)?,
        plan: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        code: r.get(3)?,
        expires: r.get(4)?,
        uses_left: r.get(5)?,
    })
}

const PARTICIPANT_COLUMNS: &str = "id, plan_id, name, agency, role, created_ms";
const INVITATION_COLUMNS: &str = "id, plan_id, role, code, expires_ms, uses_left";

/// The tables of this module, created with the database.
pub(crate) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS participants (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        plan_id TEXT NOT NULL,
        name TEXT NOT NULL,
        agency TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
        token_hash TEXT NOT NULL UNIQUE,
        created_ms INTEGER NOT NULL,
        revoked_ms INTEGER);
    CREATE INDEX IF NOT EXISTS participants_by_plan ON participants (plan_id);
    CREATE TABLE IF NOT EXISTS invitations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        plan_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
        code TEXT NOT NULL UNIQUE,
        expires_ms INTEGER NOT NULL,
        uses_left INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        revoked_ms INTEGER);
    CREATE TABLE IF NOT EXISTS change_authors (
        doc_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        participant_id INTEGER,
        received_ms INTEGER NOT NULL,
        PRIMARY KEY (doc_id, hash)) WITHOUT ROWID;";

impl Storage {
    /// Adds a participant holding the token whose hash is given.
    pub fn add_participant(
        &mut self,
        plan: &str,
        name: &str,
        agency: &str,
        role: Role,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Participant, StorageError> {
        self.conn.execute(
            "INSERT INTO participants (plan_id, name, agency, role, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![plan, name, agency, role.as_str(), token_hash, now_ms],
        )?;
        let id = ParticipantId(self.conn.last_insert_rowid());
        Ok(Participant {
            id,
            plan: plan.to_string(),
            name: name.to_string(),
            agency: agency.to_string(),
            role,
            joined: now_ms,
        })
    }

    /// The participant a token belongs to, unless it was revoked.
    pub fn participant_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<Participant>, StorageError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE token_hash = ?1 AND revoked_ms IS NULL"),
                [token_hash],
                participant,
            )
            .optional()?)
    }

    /// The current (not revoked) participants of a plan, in the order they joined.
    pub fn participants(&self, plan: &str) -> Result<Vec<Participant>, StorageError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE plan_id = ?1 AND revoked_ms IS NULL ORDER BY id"
        ))?;
        let rows = stmt.query_map([plan], participant)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Changes a participant's role; false if there is no such current participant.
    pub fn set_role(
        &mut self,
        plan: &str,
        id: ParticipantId,
        role: Role,
    ) -> Result<bool, StorageError> {
        Ok(self.conn.execute(
            "UPDATE participants SET role = ?3 WHERE plan_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
            params![plan, id.0, role.as_str()],
        )? == 1)
    }

    /// Revokes a participant's token; false if there is no such current participant.
    pub fn revoke_participant(
        &mut self,
        plan: &str,
        id: ParticipantId,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        Ok(self.conn.execute(
            "UPDATE participants SET revoked_ms = ?3 WHERE plan_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
            params![plan, id.0, now_ms],
        )? == 1)
    }

    /// Creates an invitation.
    pub fn create_invitation(
        &mut self,
        plan: &str,
        role: Role,
        code: &str,
        expires_ms: i64,
        uses: i64,
        now_ms: i64,
    ) -> Result<Invitation, StorageError> {
        self.conn.execute(
            "INSERT INTO invitations (plan_id, role, code, expires_ms, uses_left, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![plan, role.as_str(), code, expires_ms, uses, now_ms],
        )?;
        Ok(Invitation {
            id: self.conn.last_insert_rowid(),
            plan: plan.to_string(),
            role,
            code: code.to_string(),
            expires: expires_ms,
            uses_left: uses,
        })
    }

    /// A plan's invitations that can still be used.
    pub fn invitations(&self, plan: &str, now_ms: i64) -> Result<Vec<Invitation>, StorageError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations
             WHERE plan_id = ?1 AND revoked_ms IS NULL AND uses_left > 0 AND expires_ms > ?2 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![plan, now_ms], invitation)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Withdraws an invitation; false if there is no such invitation.
    pub fn revoke_invitation(
        &mut self,
        plan: &str,
        id: i64,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        Ok(self.conn.execute(
            "UPDATE invitations SET revoked_ms = ?3 WHERE plan_id = ?1 AND id = ?2 AND revoked_ms IS NULL",
            params![plan, id, now_ms],
        )? == 1)
    }

    /// Withdraws every unused owner invitation of a plan (before printing a new one).
    pub fn revoke_owner_invitations(
        &mut self,
        plan: &str,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.conn.execute(
            "UPDATE invitations SET revoked_ms = ?2 WHERE plan_id = ?1 AND role = 'owner' AND revoked_ms IS NULL",
            params![plan, now_ms],
        )?;
        Ok(())
    }

    /// Whether a plan has a current owner.
    pub fn has_owner(&self, plan: &str) -> Result<bool, StorageError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM participants WHERE plan_id = ?1 AND role = 'owner' AND revoked_ms IS NULL)",
            [plan],
            |r| r.get(0),
        )?)
    }

    /// Uses one place of the invitation with this code and adds the person as a participant
    /// holding the token whose hash is given, in one transaction.
    pub fn redeem(
        &mut self,
        code: &str,
        name: &str,
        agency: &str,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Participant, JoinError> {
        let tx = self.conn.transaction().map_err(StorageError::from)?;
        let found = tx
            .query_row(
                &format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE code = ?1 AND revoked_ms IS NULL"),
                [code],
                invitation,
            )
            .optional()
            .map_err(StorageError::from)?;
        let inv = found.ok_or(JoinError::Unknown)?;
        if inv.expires <= now_ms {
            return Err(JoinError::Expired);
        }
        if inv.uses_left <= 0 {
            return Err(JoinError::UsedUp);
        }
        tx.execute(
            "UPDATE invitations SET uses_left = uses_left - 1 WHERE id = ?1",
            [inv.id],
        )
        .map_err(StorageError::from)?;
        tx.execute(
            "INSERT INTO participants (plan_id, name, agency, role, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![inv.plan, name, agency, inv.role.as_str(), token_hash, now_ms],
        )
        .map_err(StorageError::from)?;
        let id = ParticipantId(tx.last_insert_rowid());
        tx.commit().map_err(StorageError::from)?;
        Ok(Participant {
            id,
            plan: inv.plan,
            name: name.to_string(),
            agency: agency.to_string(),
            role: inv.role,
            joined: now_ms,
        })
    }

    /// Who sent each change of a document the server accepted (hash, participant; `None`
    /// for the server's own changes), in the order they were received.
    pub fn change_authors(
        &self,
        doc: &str,
    ) -> Result<Vec<(String, Option<ParticipantId>)>, StorageError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT hash, participant_id FROM change_authors WHERE doc_id = ?1 ORDER BY received_ms, hash",
        )?;
        let rows = stmt.query_map([doc], |r| {
            Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.map(ParticipantId)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
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

    #[test]
    fn tokens_are_256_bits_and_only_their_hash_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let mut s = Storage::open(&path).unwrap();
        let mut r = StdRng::seed_from_u64(4);
        let token = new_token(&mut r);
        assert_eq!(token.len(), 64);
        s.add_participant(
            "plan",
            "Chair",
            "Police",
            Role::Owner,
            &hash_token(&token),
            1,
        )
        .unwrap();
        drop(s);
        let bytes = std::fs::read(&path).unwrap();
        let wal = std::fs::read(dir.path().join("a.db-wal")).unwrap_or_default();
        let needle = token.as_bytes();
        for file in [&bytes, &wal] {
            assert!(
                !file.windows(needle.len()).any(|w| w == needle),
                "the token is not stored"
            );
        }
        let s = Storage::open(&path).unwrap();
        assert_eq!(
            s.participant_by_token(&hash_token(&token))
                .unwrap()
                .unwrap()
                .role,
            Role::Owner
        );
    }

    #[test]
    fn an_invitation_gives_its_uses_then_refuses_and_expired_or_revoked_ones_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Storage::open(&dir.path().join("a.db")).unwrap();
        let inv = s
            .create_invitation("plan", Role::Editor, "AAAA-AAAA-AA", 100, 2, 1)
            .unwrap();
        for i in 0..2 {
            let p = s
                .redeem(&inv.code, "Analyst", "Council", &format!("h{i}"), 10)
                .unwrap();
            assert_eq!(p.role, Role::Editor);
        }
        assert!(matches!(
            s.redeem(&inv.code, "x", "y", "h9", 10),
            Err(JoinError::UsedUp)
        ));
        let late = s
            .create_invitation("plan", Role::Viewer, "CCCC-CCCC-CC", 100, 5, 1)
            .unwrap();
        assert!(matches!(
            s.redeem(&late.code, "x", "y", "h8", 100),
            Err(JoinError::Expired)
        ));
        let gone = s
            .create_invitation("plan", Role::Viewer, "DDDD-DDDD-DD", 100, 5, 1)
            .unwrap();
        assert!(s.revoke_invitation("plan", gone.id, 2).unwrap());
        assert!(matches!(
            s.redeem(&gone.code, "x", "y", "h7", 10),
            Err(JoinError::Unknown)
        ));
        assert_eq!(s.participants("plan").unwrap().len(), 2);
    }
}
