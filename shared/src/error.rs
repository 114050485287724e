//! The one error type of the shared crate.

use crate::sync::WireError;

/// Everything that can go wrong in a plan operation or in the sync core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The automerge document refused an operation or could not be loaded.
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    /// A wire message could not be decoded.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The document is not a Plansync plan, or is missing a part the layout requires.
    #[error("the document is not a valid plan: {0}")]
    Layout(String),
    /// An operation named an item (theme, objective, action, ...) that is not in the plan.
    #[error("no {kind} with id {id} in this plan")]
    NotFound {
        /// What kind of item was looked for.
        kind: &'static str,
        /// The id that was not found.
        id: String,
    },
    /// A value given to an operation is not acceptable (a bad date, an unknown word).
    #[error("invalid value: {0}")]
    Invalid(String),
}
