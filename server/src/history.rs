//! Named snapshots and who made each change: the server's record of a plan's history.
//! A snapshot is the plan's heads plus a name, author and time; the document itself holds
//! every version, so a snapshot costs a row.

use plansync_shared::automerge::{AutoCommit, ChangeHash};
use plansync_shared::{board_return, read_plan, Plan, SignOff};
use serde::Serialize;
use std::collections::HashMap;

/// A named version of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Row id, unique on this server.
    pub id: i64,
    /// The plan's document id.
    pub plan: String,
    /// E.g. "Draft for Panel, January".
    pub name: String,
    /// The plan's heads when it was taken (hex change hashes).
    pub heads: Vec<String>,
    /// Who took it ("name, agency"), or `None` when taken from the shell.
    pub author: Option<String>,
    /// When (ms since 1970).
    pub created_ms: i64,
}

/// Who sent one change, as the server recorded it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeAuthor {
    /// The participant's name, if a participant sent it.
    pub name: Option<String>,
    /// Their agency.
    pub agency: Option<String>,
    /// Their participant id.
    pub participant: Option<i64>,
    /// When the server received it (ms since 1970).
    pub received_ms: i64,
    /// The relaying servers it came through, when another server's relay reported who
    /// made it ("Workshop laptop"; a chain is listed nearest first).
    pub via: Option<String>,
    /// Whether the participant that sent it is a relaying server (its changes are someone
    /// else's: the relay's report, once here, names them).
    pub relayed: bool,
    /// How the person is known: signed in with a provider or joined with a code (as this
    /// server knows its participant, or as a relay reported it).
    pub known: Option<plansync_shared::Known>,
}

impl ChangeAuthor {
    /// How a change's sender is known, from what the database holds: a relay's report
    /// (`reported` true, with what it said), else the participant that sent it, if any (see
    /// [`plansync_shared::Known::of_participant`]; a server is not known until its report
    /// comes).
    pub fn known_from(
        reported: bool,
        report: Option<&str>,
        kind: Option<&str>,
        label: Option<&str>,
    ) -> Option<plansync_shared::Known> {
        if reported {
            return report.and_then(plansync_shared::Known::from_stored);
        }
        kind.and_then(|k| plansync_shared::Known::of_participant(k, label))
    }
}

impl plansync_shared::Attribution for ChangeAuthor {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn agency(&self) -> Option<&str> {
        self.agency.as_deref()
    }
    fn received_ms(&self) -> i64 {
        self.received_ms
    }
    fn via(&self) -> Option<&str> {
        self.via.as_deref()
    }
    fn known(&self) -> Option<plansync_shared::Known> {
        self.known.clone()
    }
}

/// Parses hex change hashes.
pub fn parse_heads(heads: &[String]) -> Option<Vec<ChangeHash>> {
    heads.iter().map(|h| h.parse().ok()).collect()
}

/// Marks each of a plan's sign-offs whose board's return differs `now` from the version
/// signed off (`doc` holds every version).
pub fn mark_changed(doc: &mut AutoCommit, now: &Plan, all: &mut [SignOff]) {
    let mut then: HashMap<Vec<String>, Option<Plan>> = HashMap::new();
    for s in all.iter_mut() {
        let Some(round) = now.rounds.iter().find(|r| r.id == s.round) else {
            continue;
        };
        let signed = then.entry(s.heads.clone()).or_insert_with(|| {
            let heads = parse_heads(&s.heads)?;
            read_plan(&doc.fork_at(&heads).ok()?).ok()
        });
        s.changed = match signed {
            Some(signed) => {
                board_return(signed, &s.board, round) != board_return(now, &s.board, round)
            }
            // The signed version cannot be read back here: say so rather than vouch for it.
            None => true,
        };
    }
}
