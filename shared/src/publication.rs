//! A published Board pack as the API answers it (one HTTP body, both sides).

use serde::{Deserialize, Serialize};

/// Body of `POST /api/plans/{plan}/publications`: publish the period's Board pack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// The reporting period's key (`2026-Q2`); the current one when absent.
    pub period: Option<String>,
}

/// A Board pack published at a public address that never changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// Its public id (128 random bits, hex).
    pub id: String,
    /// The reporting period's key.
    pub period: String,
    /// The pack's title.
    pub title: String,
    /// When it was published (ms since 1970).
    pub published_ms: i64,
    /// The public page (the pack as HTML), a path on the server.
    pub url: String,
    /// The public PDF, a path on the server.
    pub pdf: String,
}
