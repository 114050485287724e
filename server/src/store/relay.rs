//! How far each relay to an upstream server got, as stored.

use super::*;

/// How far each relay to an upstream server got.
#[async_trait::async_trait]
pub trait RelayStore: Send + Sync + 'static {
    /// How far each relay to an upstream got, per plan.
    async fn relay_progress(&self) -> Result<Vec<RelayProgress>>;
    /// Records how far a relay got with one plan.
    async fn set_relay_progress(&self, progress: RelayProgress) -> Result<()>;
}

/// How far a relay got with one plan on one upstream server.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct RelayProgress {
    /// The upstream server's address.
    pub upstream: String,
    /// The plan (document id).
    pub plan: String,
    /// The plan's heads as the upstream last said it holds them (hex change hashes).
    pub upstream_heads: Vec<String>,
    /// When the upstream was last reached (ms since 1970).
    pub reached_ms: Option<i64>,
    /// When the upstream last held every change this server had (ms since 1970).
    pub sent_ms: Option<i64>,
    /// How many of this server's change records (in the order received) have had their
    /// authors reported to the upstream.
    pub attributed: i64,
}
