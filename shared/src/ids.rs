//! Stable ids for every item of a plan. An item is found by id, never by list position, so
//! concurrent moves, deletes and inserts are safe.

use rand::RngCore;
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident = $prefix:literal;)*) => {$(
        #[$doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new random id (64 random bits, as hex, after a short kind prefix).
            pub fn random(rng: &mut dyn RngCore) -> Self {
                Self(format!(concat!($prefix, "-{:016x}"), rng.next_u64()))
            }
            /// Wraps an id read from a document or a URL.
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            /// The id as text, as stored in the document.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

id_type! {
    /// Identifies a theme (e.g. Victims).
    ThemeId = "th";
    /// Identifies an objective within a theme.
    ObjectiveId = "ob";
    /// Identifies an action within an objective.
    ActionId = "ac";
    /// Identifies a board (the Police and Crime Board or one of its sub-groups).
    BoardId = "bd";
    /// Identifies a partner agency.
    AgencyId = "ag";
    /// Identifies a person (a lead or a chair), named by role.
    PersonId = "pe";
    /// Identifies an indicator.
    IndicatorId = "in";
    /// Identifies a comment thread entry.
    CommentId = "cm";
    /// Identifies a milestone of the plan's lifecycle.
    MilestoneId = "ms";
    /// Identifies a progress update on an action.
    UpdateId = "up";
    /// Identifies a reporting round (a quarter's call for updates).
    RoundId = "rd";
}
