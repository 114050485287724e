//! Relaying: `/api/plans/{plan}/relay` (the app's view of a relay) and
//! `/api/plans/{plan}/relayed-authors` (an enrolled relay's report of who made changes).

use crate::Known;
use serde::{Deserialize, Serialize};

/// The relay's state for one plan on one upstream, as the app shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RelayState {
    /// The upstream's address.
    pub upstream: String,
    /// Whether the relay is connected now.
    pub connected: bool,
    /// Changes of this server's copy the upstream does not have yet.
    pub waiting: usize,
    /// When the upstream was last reached (ms since 1970).
    pub reached_ms: Option<i64>,
    /// When the upstream last had every change (ms since 1970).
    pub sent_ms: Option<i64>,
    /// Why the relay cannot relay now, if it cannot.
    pub problem: Option<String>,
}

/// One person's changes in a relay's report (the body is a list of these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorGroup {
    /// The person's name.
    pub name: String,
    /// Their agency.
    pub agency: String,
    /// The relays the changes came through before the reporting one, nearest first.
    #[serde(default)]
    pub via: Option<String>,
    /// How the relay's server knew the person (signed in with a provider, or a code).
    #[serde(default)]
    pub known: Option<Known>,
    /// The changes (hex hashes).
    pub hashes: Vec<String>,
}

/// The answer to a relay's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reported {
    /// How many authors were recorded (a change reported before keeps its first report).
    pub recorded: usize,
    /// Changes this server does not hold as sent by the caller (not arrived yet, or sent by
    /// someone else): nothing was recorded for them.
    pub unknown: Vec<String>,
}
