//! The plan document: its typed model, the operations that change it, and reading it back.
//! The document layout is written down in `shared/LAYOUT.md`.

mod doc;
mod guard;
mod layout;
mod model;
mod op;
mod read;
mod update;

pub use doc::{Commit, PlanDoc, TextField, TravelItem};
pub use guard::owner_only_part;
pub use layout::SCHEMA;
pub use model::*;
pub use op::PlanOp;
pub use read::{plan_summary, read_plan, read_rounds};
pub use update::{plan_patch, read_plan_tracked, update_plan, ItemPatch, PlanPatch, PlanUpdate};

/// A fingerprint of the typed plan's shape (the source of its types): a copy of a typed
/// plan kept with another fingerprint was made by another version and must be read again.
pub const PLAN_SHAPE: u64 = fingerprint(&[
    include_str!("model.rs"),
    include_str!("../ids.rs"),
    include_str!("../period.rs"),
]);

/// FNV-1a over the texts, at compile time.
const fn fingerprint(texts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut t = 0;
    while t < texts.len() {
        let bytes = texts[t].as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            hash ^= bytes[i] as u64;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            i += 1;
        }
        t += 1;
    }
    hash
}

#[cfg(test)]
mod tests;
