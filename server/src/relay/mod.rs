//! Relay: this server syncs the plans an upstream server grants its token, as one more peer
//! of that server (every server is just another peer). A workshop laptop's server relays
//! to the partnership's central server: while apart, both sides keep editing; when the
//! upstream can be reached again, the sync protocol sends each side only what the other
//! lacks, and the relay reports who made the room's changes. Nothing is ever lost; the
//! relay only ever adds changes.
//!
//! [`pull`] fetches the granted plans before the day; [`spawn`] runs the relay while the
//! server serves the room, dialing with backoff and jitter; [`Relays`] is what the app and
//! `plansync status` show.

mod pull;
mod upstream;

use pull::{adopt, learn_authors};
pub use pull::{pull, Pulled};

pub use upstream::Upstream;

use crate::store::{RelayProgress, RelayedAuthor, Store};
use crate::sync::{Outbound, SyncHandle};
use futures_util::{SinkExt, StreamExt};
pub use plansync_shared::api::RelayState;
use plansync_shared::automerge::{AutoCommit, ChangeHash};
use plansync_shared::DocumentId;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

/// Why relaying failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The relay is set up wrongly (a bad address or token).
    #[error("{0}")]
    Config(String),
    /// The upstream cannot be reached now (the room has no internet); it is tried again.
    #[error("{0}")]
    Unreachable(String),
    /// The upstream refused the relay's token or an action.
    #[error("{0}")]
    Refused(String),
    /// Storing here failed.
    #[error(transparent)]
    Service(#[from] crate::ServiceError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

/// How long a change that came through a relay to us waits for that relay's report of who
/// made it before it is reported upstream without it.
const WAIT_FOR_REPORT_MS: i64 = 120_000;

/// How often a connected relay looks at how far the upstream has got.
const CHECK: Duration = Duration::from_secs(1);
/// The first wait before dialing again after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between attempts (plus up to half of it again, at random), unless the
/// server is told otherwise.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Every relay's state, by plan then upstream.
#[derive(Debug, Clone, Default)]
pub struct Relays {
    inner: Arc<Mutex<BTreeMap<(String, String), RelayState>>>,
}

impl Relays {
    /// Every plan's relay to every upstream.
    pub fn all(&self) -> Vec<RelayState> {
        lock(&self.inner).values().cloned().collect()
    }

    /// The relays of one plan.
    pub fn of_plan(&self, plan: &str) -> Vec<RelayState> {
        lock(&self.inner)
            .iter()
            .filter(|((p, _), _)| p == plan)
            .map(|(_, s)| s.clone())
            .collect()
    }

    fn update(&self, plan: &str, upstream: &str, f: impl FnOnce(&mut RelayState)) {
        let mut map = lock(&self.inner);
        let state = map
            .entry((plan.to_string(), upstream.to_string()))
            .or_insert_with(|| RelayState {
                upstream: upstream.to_string(),
                ..RelayState::default()
            });
        f(state);
    }

    /// Marks every plan of an upstream with a problem (or none) and connected or not.
    fn set_all(&self, upstream: &str, connected: bool, problem: Option<String>) {
        for ((_, u), s) in lock(&self.inner).iter_mut() {
            if u == upstream {
                s.connected = connected;
                s.problem = problem.clone();
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts relaying to `up` in the background, for as long as the server runs, waiting at
/// most `max_backoff` (plus jitter) between attempts to reach it.
pub fn spawn(sync: SyncHandle, store: Store, relays: Relays, up: Upstream, max_backoff: Duration) {
    let max_backoff = max_backoff.max(FIRST_BACKOFF);
    tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let started = std::time::Instant::now();
            let ended = session(&sync, &store, &relays, &up).await;
            let problem = match &ended {
                Ok(()) => None,
                Err(RelayError::Unreachable(why)) => {
                    tracing::info!(upstream = %up.url, %why, "the upstream cannot be reached; the relay tries again");
                    Some(format!("cannot reach {}", up.url))
                }
                Err(e) => {
                    tracing::warn!(upstream = %up.url, error = %e, "the relay stopped; it tries again");
                    Some(e.to_string())
                }
            };
            relays.set_all(&up.url, false, problem);
            if started.elapsed() > max_backoff * 2 {
                backoff = FIRST_BACKOFF;
            }
            // Jitter: a room's servers (or a central server's relays) do not all come back at once.
            let jitter = backoff.mul_f64(rand::random::<f64>() * 0.5);
            let until = tokio::time::Instant::now() + backoff + jitter;
            // Meanwhile the count of changes waiting follows the room's edits.
            loop {
                count_waiting(&sync, &store, &relays, &up).await;
                let now = tokio::time::Instant::now();
                if now >= until {
                    break;
                }
                tokio::time::sleep((until - now).min(Duration::from_secs(2))).await;
            }
            backoff = (backoff * 2).min(max_backoff);
        }
    });
}

/// While apart from the upstream: how many changes wait for it, per plan, from the heads it
/// last told us.
async fn count_waiting(sync: &SyncHandle, store: &Store, relays: &Relays, up: &Upstream) {
    let Ok(progress) = store.relay_progress().await else {
        return;
    };
    for p in progress.into_iter().filter(|p| p.upstream == up.url) {
        let Ok(doc) = p.plan.parse::<DocumentId>() else {
            continue;
        };
        if let Ok(Some((lacks, _))) = sync
            .upstream_lacks(doc, None, p.upstream_heads.clone())
            .await
        {
            relays.update(&p.plan, &up.url, |s| {
                s.connected = false;
                s.waiting = lacks;
                s.reached_ms = p.reached_ms;
                s.sent_ms = p.sent_ms;
            });
        }
    }
}

/// One connection to the upstream: fetch the plans the token grants that are not here,
/// sync every granted plan until either side closes, and report progress and authors.
async fn session(
    sync: &SyncHandle,
    store: &Store,
    relays: &Relays,
    up: &Upstream,
) -> Result<(), RelayError> {
    let granted = up.plans().await?;
    let here: Vec<String> = store.plans().await?.into_iter().map(|p| p.id).collect();
    let mut plans = Vec::new();
    let mut silent = std::collections::HashSet::new();
    for g in &granted {
        if !here.contains(&g.plan.id) {
            tracing::info!(plan = %g.plan.id, title = %g.plan.title, upstream = %up.url, "fetching a plan the relay's token grants");
            adopt(sync, store, up, &g.plan.id).await?;
        }
        if let Ok(doc) = g.plan.id.parse::<DocumentId>() {
            plans.push(doc);
            if !upstream::reports_authors(g) {
                silent.insert(doc);
            }
        }
    }
    let progress: HashMap<String, RelayProgress> = store
        .relay_progress()
        .await?
        .into_iter()
        .filter(|p| p.upstream == up.url)
        .map(|p| (p.plan.clone(), p))
        .collect();
    let mut tracked: BTreeMap<DocumentId, RelayProgress> = plans
        .iter()
        .map(|d| {
            let p = progress
                .get(&d.to_string())
                .cloned()
                .unwrap_or(RelayProgress {
                    upstream: up.url.clone(),
                    plan: d.to_string(),
                    ..RelayProgress::default()
                });
            (*d, p)
        })
        .collect();
    // Our hub's own peer id: the sync messages our plans' actors send carry it.
    let (socket, upstream_peer) = up.join(sync.peer_id(), sync.storage_id()).await?;
    tracing::info!(upstream = %up.url, plans = plans.len(), "relaying to the upstream");
    let (conn, mut outbound) = sync.dial(upstream_peer, &plans).await;
    let (mut sink, mut stream) = socket.split();
    let mut check = tokio::time::interval(CHECK);
    let mut learned_at: HashMap<DocumentId, Vec<String>> = HashMap::new();
    let ended = loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Ws::Binary(b))) => sync.frame(conn, b.to_vec()).await,
                Some(Ok(Ws::Close(frame))) => {
                    let why = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                    break if why.contains("withdrawn") || why.contains("revoked") {
                        Err(RelayError::Refused(format!("{} closed the relay: {why}", up.url)))
                    } else {
                        Err(RelayError::Unreachable(format!("{} closed the connection {why}", up.url)))
                    };
                }
                None => break Err(RelayError::Unreachable(format!("{} closed the connection", up.url))),
                Some(Err(e)) => break Err(RelayError::Unreachable(format!("{}: {e}", up.url))),
                Some(Ok(_)) => {}
            },
            out = outbound.recv() => match out {
                Some(Outbound::Frame(frame, receipt)) => {
                    if let Err(e) = sink.send(Ws::Binary(frame.into())).await {
                        break Err(RelayError::Unreachable(format!("{}: {e}", up.url)));
                    }
                    if let Some(r) = receipt {
                        r.written();
                    }
                }
                Some(Outbound::Close(reason)) => break Err(RelayError::Unreachable(reason)),
                None => break Ok(()),
            },
            _ = check.tick() => {
                for (doc, p) in tracked.iter_mut() {
                    let reports = !silent.contains(doc);
                    if let Err(e) = look(sync, store, relays, up, conn, *doc, p, reports, &mut learned_at).await {
                        tracing::warn!(upstream = %up.url, plan = %doc, error = %e, "could not record the relay's progress");
                    }
                }
            }
        }
    };
    sync.disconnect(conn).await;
    let _ = sink.close().await;
    ended
}

/// Looks at how far the upstream has got with one plan: records it (for the app and
/// `plansync status`), reports the authors of changes it now has, and learns who made the
/// changes it sent.
#[allow(clippy::too_many_arguments)]
async fn look(
    sync: &SyncHandle,
    store: &Store,
    relays: &Relays,
    up: &Upstream,
    conn: plansync_shared::ConnId,
    doc: DocumentId,
    p: &mut RelayProgress,
    reports: bool,
    learned_at: &mut HashMap<DocumentId, Vec<String>>,
) -> Result<(), RelayError> {
    let told = sync.upstream_lacks(doc, Some(conn), Vec::new()).await?;
    let Some((lacks, heads)) = told else {
        return Ok(());
    };
    let now = crate::now_ms();
    let before = p.clone();
    if !heads.is_empty() {
        p.upstream_heads = heads.clone();
        p.reached_ms = Some(now);
    }
    if lacks == 0 && !heads.is_empty() {
        // The moment it last caught up, not every look since.
        if p.sent_ms.is_none() || before.upstream_heads != heads {
            p.sent_ms = Some(now);
        }
        report_authors(store, up, doc, p, reports).await?;
        if learned_at.get(&doc) != Some(&heads) {
            learn_authors(store, up, doc).await?;
            learned_at.insert(doc, heads.clone());
        }
    }
    relays.update(&doc.to_string(), &up.url, |s| {
        s.connected = true;
        s.problem = None;
        s.waiting = lacks;
        s.reached_ms = p.reached_ms;
        s.sent_ms = p.sent_ms;
    });
    // Stored only when something but the time moved, or once a minute.
    let moved = before.upstream_heads != p.upstream_heads
        || before.attributed != p.attributed
        || before.sent_ms.is_none() != p.sent_ms.is_none()
        || before.reached_ms.is_none_or(|t| now - t > 60_000);
    if moved {
        store.set_relay_progress(p.clone()).await?;
    }
    Ok(())
}

/// Reports to the upstream who made the changes it has from us (people here, and people
/// behind relays to us), from where the last report stopped. A relay with a person's own
/// token (`reports` false) reports nothing: the upstream takes reports only from enrolled
/// relaying servers, and counts the changes as that person's.
async fn report_authors(
    store: &Store,
    up: &Upstream,
    doc: DocumentId,
    p: &mut RelayProgress,
    reports: bool,
) -> Result<(), RelayError> {
    let records = store.change_authors(doc.to_string()).await?;
    let from = usize::try_from(p.attributed)
        .unwrap_or(0)
        .min(records.len());
    if from == records.len() {
        return Ok(());
    }
    if !reports {
        p.attributed = records.len() as i64;
        return Ok(());
    }
    let authors = store.authors(doc.to_string()).await?;
    // A change a relay to us sent is reported once that relay has said who made it (its
    // report follows the change within seconds), or after a while without one.
    let now = crate::now_ms();
    let waiting = |hash: &String| {
        authors.get(hash).is_some_and(|a| {
            a.relayed && a.via.is_none() && now - a.received_ms < WAIT_FOR_REPORT_MS
        })
    };
    let end = records[from..]
        .iter()
        .position(|(h, _)| waiting(h))
        .map_or(records.len(), |i| from + i);
    let fresh = &records[from..end];
    type Who = (
        String,
        String,
        Option<String>,
        Option<plansync_shared::Known>,
    );
    let mut groups: BTreeMap<Who, Vec<String>> = BTreeMap::new();
    for (hash, _) in fresh.iter().filter(|(_, by)| by.is_some()) {
        let Some(a) = authors.get(hash) else { continue };
        let Some(name) = a.name.clone() else { continue };
        let key = (
            name,
            a.agency.clone().unwrap_or_default(),
            a.via.clone(),
            a.known.clone(),
        );
        groups.entry(key).or_default().push(hash.clone());
    }
    let report: Vec<plansync_shared::api::AuthorGroup> = groups
        .into_iter()
        .map(
            |((name, agency, via, known), hashes)| plansync_shared::api::AuthorGroup {
                name,
                agency,
                via,
                known,
                hashes,
            },
        )
        .collect();
    let unknown = if report.is_empty() {
        Vec::new()
    } else {
        up.report_authors(&doc.to_string(), report).await?
    };
    // Resume at the first record the upstream did not take (it lacked the change then).
    let stop = fresh
        .iter()
        .position(|(h, _)| unknown.contains(h))
        .map_or(end, |i| from + i);
    p.attributed = stop as i64;
    Ok(())
}

/// For `plansync status`: each relay's plans and how many changes wait for the upstream,
/// from what this server recorded (the server need not be running).
pub async fn offline_status(store: &Store) -> Result<Vec<(RelayProgress, usize)>, RelayError> {
    let mut out = Vec::new();
    for p in store.relay_progress().await? {
        let Ok(doc) = p.plan.parse::<DocumentId>() else {
            continue;
        };
        let Some(stored) = store.load(doc).await? else {
            continue;
        };
        let heads = p.upstream_heads.clone();
        let lacks = tokio::task::spawn_blocking(move || {
            let mut d = AutoCommit::load(&stored.bytes).ok()?;
            Some(changes_beyond(&mut d, &heads))
        })
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
        out.push((p, lacks));
    }
    Ok(out)
}

/// How many changes `doc` has beyond `heads` (hex hashes, as recorded).
pub fn changes_beyond(doc: &mut AutoCommit, heads: &[String]) -> usize {
    let heads: Vec<ChangeHash> = heads.iter().filter_map(|h| h.parse().ok()).collect();
    plansync_shared::changes_beyond(doc, &heads)
}
