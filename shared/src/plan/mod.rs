//! The plan document: its typed model, the operations that change it, and reading it back.
//! The document layout is written down in `shared/LAYOUT.md`.

mod doc;
mod model;
mod read;

pub use doc::{Commit, PlanDoc, TextField, TravelItem, SCHEMA};
pub use model::*;
pub use read::{plan_summary, read_plan};

#[cfg(test)]
mod tests;
