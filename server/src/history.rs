//! Named snapshots and who made each change: the server's record of a plan's history.
//! A snapshot is the plan's heads plus a name, author and time; the document itself holds
//! every version, so a snapshot costs a row.

pub use plansync_shared::api::{ChangeAuthor, Snapshot};
use plansync_shared::automerge::{AutoCommit, ChangeHash};
use plansync_shared::{board_return, read_plan, Plan, SignOff};
use std::collections::HashMap;

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
