//! Pulling: fetching every plan an upstream server's token grants onto this server, with
//! its snapshots and who made each change, before a day with no network.

use super::*;

/// What [`pull`] fetched.
#[derive(Debug, Clone, Default)]
pub struct Pulled {
    /// Each plan: its id, title and whether it was new here.
    pub plans: Vec<(String, String, bool)>,
    /// Snapshots added.
    pub snapshots: usize,
    /// Change authors recorded.
    pub authors: usize,
}

/// Fetches every plan the token grants onto this server (merging into plans held here
/// already), with their snapshots and who made each change there (names and agencies,
/// never tokens).
pub async fn pull(sync: &SyncHandle, store: &Store, up: &Upstream) -> Result<Pulled, RelayError> {
    let mut out = Pulled::default();
    let here: Vec<String> = store.plans().await?.into_iter().map(|p| p.id).collect();
    for granted in up.plans().await? {
        let id = granted.plan.id.clone();
        let doc = adopt(sync, store, up, &id).await?;
        for s in up.snapshots(&id).await? {
            if store.add_pulled_snapshot(id.clone(), s).await? {
                out.snapshots += 1;
            }
        }
        out.authors += learn_authors(store, up, doc).await?;
        out.plans
            .push((id.clone(), granted.plan.title.clone(), !here.contains(&id)));
    }
    Ok(out)
}

/// Fetches one plan and records that the upstream holds what was fetched (the relay starts
/// from there).
pub(super) async fn adopt(
    sync: &SyncHandle,
    store: &Store,
    up: &Upstream,
    id: &str,
) -> Result<DocumentId, RelayError> {
    let (doc, heads) = fetch_plan(sync, up, id).await?;
    let now = crate::now_ms();
    // Authors still to report (from an earlier relay) stay to report; on a new plan there
    // is nothing of ours to report.
    let earlier = store
        .relay_progress()
        .await?
        .into_iter()
        .find(|p| p.upstream == up.url && p.plan == id);
    let attributed = match earlier {
        Some(p) => p.attributed,
        None => store.change_authors(id.to_string()).await?.len() as i64,
    };
    store
        .set_relay_progress(RelayProgress {
            upstream: up.url.clone(),
            plan: id.to_string(),
            upstream_heads: heads,
            reached_ms: Some(now),
            sent_ms: Some(now),
            attributed,
        })
        .await?;
    Ok(doc)
}

/// Fetches one plan's document and merges it into ours: its id and the heads fetched.
async fn fetch_plan(
    sync: &SyncHandle,
    up: &Upstream,
    id: &str,
) -> Result<(DocumentId, Vec<String>), RelayError> {
    let doc: DocumentId = id.parse().map_err(|_| {
        RelayError::Refused(format!("{} listed a plan with a malformed id", up.url))
    })?;
    let bytes = up.document(id).await?;
    let mut plan = tokio::task::spawn_blocking(move || AutoCommit::load(&bytes))
        .await
        .map_err(|e| RelayError::Config(e.to_string()))?
        .map_err(|e| {
            RelayError::Refused(format!(
                "{} sent a plan this server cannot read: {e}",
                up.url
            ))
        })?;
    let heads = plan.get_heads().iter().map(ToString::to_string).collect();
    sync.merge_plan(doc, plan).await?;
    Ok((doc, heads))
}

/// Records who made the changes this server got from the upstream (those it holds with
/// no participant of its own); how many it recorded.
pub(super) async fn learn_authors(
    store: &Store,
    up: &Upstream,
    doc: DocumentId,
) -> Result<usize, RelayError> {
    let ours = store.change_authors(doc.to_string()).await?;
    let known = store.authors(doc.to_string()).await?;
    // Changes we hold with nobody named: those that came from the upstream.
    let unnamed: Vec<String> = ours
        .into_iter()
        .filter(|(hash, by)| by.is_none() && known.get(hash).is_none_or(|k| k.name.is_none()))
        .map(|(hash, _)| hash)
        .collect();
    if unnamed.is_empty() {
        return Ok(0);
    }
    let theirs = up.authors(&doc.to_string(), &unnamed).await?;
    let learned: Vec<RelayedAuthor> = unnamed
        .into_iter()
        .filter_map(|hash| {
            let a = theirs.get(&hash)?;
            Some(RelayedAuthor {
                name: a.name.clone()?,
                agency: a.agency.clone().unwrap_or_default(),
                via: a.via.clone(),
                known: a.known.clone(),
                hash,
            })
        })
        .collect();
    if learned.is_empty() {
        return Ok(0);
    }
    Ok(store.add_relayed(doc.to_string(), learned).await?)
}
