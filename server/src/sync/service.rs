//! [`SyncHandle`]: the server's way into the sync service. It answers every connection's
//! handshake with one small front hub, and sends each document message to its document's
//! actor (started on first use, stopped when idle), which is the only place that document's
//! sync state lives. Role changes and revocations reach every actor a connection syncs.

use super::actor::{self, Command, DocActor, Shared};
use super::engine::Pool;
use super::outbox::{Link, OutboundQueue};
use super::{lock, now_ms, Grant, Limits, PlanKind, ServiceError};
use crate::access::{ParticipantId, Role};
use crate::store::{Notice, PlanRow, Store};
use plansync_shared::{
    automerge::{AutoCommit, ChangeHash},
    decode_message, demo_plan, ConnId, DocumentId, Effect, Event, Hub, HubConfig, Message, NewPlan,
    PeerId, PlanDoc,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// A cheap handle to the sync service, shared by HTTP handlers and socket tasks.
#[derive(Clone)]
pub struct SyncHandle {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Shared,
    next_conn: AtomicU64,
    /// Answers the handshake of every connection, and `doc-unavailable` for documents a
    /// connection was not granted; it holds no document.
    front: Mutex<Hub>,
    conns: Mutex<HashMap<ConnId, ConnEntry>>,
}

impl Drop for Inner {
    /// The pool's threads stop, and the actors (which hold the registry) are let go.
    fn drop(&mut self) {
        self.shared.pool.close();
        lock(&self.shared.registry).clear();
    }
}

/// One open connection as the service sees it.
struct ConnEntry {
    link: Link,
    grants: Vec<Grant>,
    /// The peer that joined on it, once its handshake is done.
    peer: Option<PeerId>,
    /// The documents whose actors know this connection.
    attached: BTreeSet<DocumentId>,
}

/// Where a frame goes.
enum Route {
    /// To the front hub: the handshake, errors, and anything not for a granted document.
    Front,
    /// To a document's actor (decoded once, here), attaching the connection first if this
    /// is its first message.
    Doc(DocumentId, Option<Box<Command>>, Box<Message>),
}

/// Who a connection belongs to, for the sync core: its participants.
fn principals(grants: &[Grant]) -> BTreeSet<String> {
    grants
        .iter()
        .filter_map(|g| g.participant.map(|p| p.0.to_string()))
        .collect()
}

/// The sync core's view of a connection's grants.
fn access_map(grants: &[Grant]) -> BTreeMap<DocumentId, plansync_shared::Access> {
    grants.iter().map(|g| (g.doc, g.access())).collect()
}

impl SyncHandle {
    /// Starts the service on the server's storage (and, on a database other nodes share,
    /// starts following their announcements).
    pub async fn start(store: Store, limits: Limits) -> Result<Self, ServiceError> {
        let storage_id = store
            .storage_id(format!("plansync-{:032x}", rand::random::<u128>()))
            .await?;
        let mut config = HubConfig::server(
            PeerId(format!("plansync-server-{:016x}", rand::random::<u64>())),
            storage_id,
        );
        config.max_message_bytes = limits.max_message_bytes;
        config.max_document_bytes = limits.max_document_bytes;
        let mut front = config.clone();
        front.load_from_storage = false;
        front.persist = false;
        front.batch = false;
        let notices = store.notices();
        let pool = Pool::start(limits.sync_threads).map_err(|e| ServiceError::Io(e.to_string()))?;
        let handle = Self {
            inner: Arc::new(Inner {
                shared: Shared {
                    store,
                    rt: tokio::runtime::Handle::current(),
                    pool,
                    limits,
                    config,
                    shared_db: notices.is_some(),
                    registry: Arc::default(),
                },
                next_conn: AtomicU64::new(1),
                front: Mutex::new(Hub::new(front, &mut rand::rng())),
                conns: Mutex::default(),
            }),
        };
        if let Some(mut notices) = notices {
            let h = handle.clone();
            tokio::spawn(async move {
                while let Some(n) = notices.recv().await {
                    h.notice(n).await;
                }
            });
        }
        Ok(handle)
    }

    /// Registers a new socket that may sync the granted plans; frames for it arrive on the
    /// returned receiver.
    pub fn connect(&self, grants: Vec<Grant>) -> (ConnId, OutboundQueue) {
        let conn = ConnId(self.inner.next_conn.fetch_add(1, Ordering::Relaxed));
        let (link, queue) = Link::new();
        let access = access_map(&grants);
        let principals = principals(&grants);
        lock(&self.inner.conns).insert(
            conn,
            ConnEntry {
                link,
                grants,
                peer: None,
                attached: BTreeSet::new(),
            },
        );
        self.front(Event::Connected {
            conn,
            dialer: false,
        });
        self.front(Event::Identify { conn, principals });
        self.front(Event::Grant {
            conn,
            grants: access,
        });
        (conn, queue)
    }

    /// Registers a connection this server dialed to an upstream server whose handshake the
    /// caller did (`peer` answered our `join`), to sync the `plans`; frames for it arrive on
    /// the returned receiver, and frames from it go to [`SyncHandle::frame`].
    pub async fn dial(&self, peer: PeerId, plans: &[DocumentId]) -> (ConnId, OutboundQueue) {
        let conn = ConnId(self.inner.next_conn.fetch_add(1, Ordering::Relaxed));
        let (link, queue) = Link::new();
        let grants: Vec<Grant> = plans
            .iter()
            .map(|doc| Grant {
                doc: *doc,
                participant: None,
                role: Role::Editor,
                who: None,
                relay: true,
            })
            .collect();
        let access = access_map(&grants);
        lock(&self.inner.conns).insert(
            conn,
            ConnEntry {
                link: link.clone(),
                grants: grants.clone(),
                peer: Some(peer.clone()),
                attached: plans.iter().copied().collect(),
            },
        );
        self.front(Event::Connected {
            conn,
            dialer: false,
        });
        self.front(Event::Joined {
            conn,
            peer: peer.clone(),
        });
        self.front(Event::Grant {
            conn,
            grants: access,
        });
        for grant in grants {
            let attach = Command::Attach {
                conn,
                link: link.clone(),
                peer: peer.clone(),
                principals: BTreeSet::new(),
                grant: grant.clone(),
                dialed: true,
            };
            let _ = self.send(grant.doc, attach).await;
        }
        (conn, queue)
    }

    /// How much of a plan an upstream server lacks: the number of our changes it does not
    /// have and its heads, as it told us on `conn` (see [`SyncHandle::dial`]) or else as
    /// `recorded` earlier.
    pub async fn upstream_lacks(
        &self,
        plan: DocumentId,
        conn: Option<ConnId>,
        recorded: Vec<String>,
    ) -> Result<Option<(usize, Vec<String>)>, ServiceError> {
        self.call(plan, move |a| a.upstream_lacks(conn, recorded))
            .await
    }

    /// The server's own peer id (in `join` when it dials an upstream).
    pub fn peer_id(&self) -> PeerId {
        self.inner.shared.config.peer_id.clone()
    }

    /// The server's storage id (in `join` when it dials an upstream).
    pub fn storage_id(&self) -> Option<String> {
        self.inner.shared.config.storage_id.clone()
    }

    /// Merges a plan fetched from another server into ours (creating it here if we do not
    /// hold it) and stores it; the plan's row comes with it.
    pub async fn merge_plan(&self, doc: DocumentId, plan: AutoCommit) -> Result<(), ServiceError> {
        let added = self
            .call(doc, move |a| {
                // Our stored copy first, so the fetched one merges into it.
                a.held()?;
                Ok::<_, ServiceError>(a.add(plan))
            })
            .await??;
        if !added {
            return Err(ServiceError::NotSaved);
        }
        Ok(())
    }

    /// Hands a received frame to the front hub or to its document's actor (waiting while
    /// that actor's queue is full).
    pub async fn frame(&self, conn: ConnId, frame: Vec<u8>) {
        match self.route(conn, &frame) {
            Route::Front => self.front(Event::Received { conn, frame }),
            Route::Doc(doc, attach, message) => {
                if let Some(attach) = attach {
                    if self.send(doc, *attach).await.is_err() {
                        return;
                    }
                }
                let message = *message;
                let _ = self.send(doc, Command::Message { conn, message }).await;
            }
        }
    }

    fn route(&self, conn: ConnId, frame: &[u8]) -> Route {
        let Ok(msg) = decode_message(frame, self.inner.shared.limits.max_message_bytes) else {
            return Route::Front;
        };
        let Some(doc) = msg.document() else {
            return Route::Front;
        };
        let mut conns = lock(&self.inner.conns);
        let Some(entry) = conns.get_mut(&conn) else {
            return Route::Front;
        };
        let Some(peer) = entry.peer.clone().filter(|p| msg.sender() == Some(p)) else {
            return Route::Front;
        };
        let Some(grant) = entry.grants.iter().find(|g| g.doc == doc).cloned() else {
            return Route::Front;
        };
        let attach = entry.attached.insert(doc).then(|| Command::Attach {
            conn,
            link: entry.link.clone(),
            peer,
            principals: principals(&entry.grants),
            grant,
            dialed: false,
        });
        Route::Doc(doc, attach.map(Box::new), Box::new(msg))
    }

    /// Tells the front hub and every actor the connection synced that its socket closed.
    pub async fn disconnect(&self, conn: ConnId) {
        let entry = lock(&self.inner.conns).remove(&conn);
        self.front(Event::Disconnected { conn });
        for doc in entry.map(|e| e.attached).unwrap_or_default() {
            self.send_if_running(doc, Command::Detach { conn }).await;
        }
    }

    /// Runs an event on the front hub and carries out its effects.
    fn front(&self, event: Event) {
        let effects = lock(&self.inner.front).handle(now_ms(), event);
        let mut conns = lock(&self.inner.conns);
        for effect in effects {
            match effect {
                Effect::Send { conn, frame, .. } => {
                    if let Some(e) = conns.get(&conn) {
                        e.link
                            .send_or_cut_off(frame, None, &self.inner.shared.limits, &e.grants);
                    }
                }
                Effect::Close { conn, reason } => {
                    if let Some(e) = conns.get(&conn) {
                        e.link.close(reason);
                    }
                }
                Effect::Ready { conn, peer } => {
                    tracing::info!(conn = conn.0, %peer, "peer joined");
                    if let Some(e) = conns.get_mut(&conn) {
                        e.peer = Some(peer);
                    }
                }
                Effect::Warn { conn, message } => {
                    tracing::warn!(conn = conn.map(|c| c.0), "{message}")
                }
                _ => {}
            }
        }
    }

    /// Sends a command to a document's actor, starting it if it is not running. Senders
    /// send only while they find the actor registered, so an actor that leaves the registry
    /// when idle never drops a command.
    async fn send(&self, doc: DocumentId, cmd: Command) -> Result<(), ServiceError> {
        let registry = &self.inner.shared.registry;
        let mut cmd = Some(cmd);
        for _ in 0..4 {
            let mailbox = {
                let mut reg = lock(registry);
                match reg.get(&doc) {
                    Some(m) if !m.is_closed() => m.clone(),
                    _ => {
                        let m = actor::start(doc, self.inner.shared.clone());
                        reg.insert(doc, m.clone());
                        m
                    }
                }
            };
            let Ok(permit) = mailbox.tx.reserve().await else {
                continue;
            };
            let reg = lock(registry);
            if reg.get(&doc).is_some_and(|m| m.id == mailbox.id) {
                permit.send(cmd.take().expect("sent once"));
                drop(reg);
                mailbox.slot.schedule();
                return Ok(());
            }
        }
        Err(ServiceError::Stopped)
    }

    /// Sends a command to a document's actor if it is running (a stopped actor holds no
    /// connection and nothing to catch up).
    async fn send_if_running(&self, doc: DocumentId, cmd: Command) {
        let running = lock(&self.inner.shared.registry).contains_key(&doc);
        if running {
            let _ = self.send(doc, cmd).await;
        }
    }

    /// Runs `f` on a document's actor.
    async fn call<T: Send + 'static>(
        &self,
        doc: DocumentId,
        f: impl FnOnce(&mut DocActor) -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (reply, rx) = oneshot::channel();
        self.send(
            doc,
            Command::Call(Box::new(move |actor| {
                let _ = reply.send(f(actor));
            })),
        )
        .await?;
        rx.await.map_err(|_| ServiceError::Stopped)
    }

    /// Gives a participant's open connections their new role, or takes the plan away from
    /// them (`None`; a connection left with no plan is closed): call it after storage made
    /// the change.
    pub async fn regrant(
        &self,
        participant: ParticipantId,
        role: Option<Role>,
    ) -> Result<(), ServiceError> {
        let mut changed = Vec::new();
        {
            let mut conns = lock(&self.inner.conns);
            for (conn, e) in conns.iter_mut() {
                let docs: Vec<DocumentId> = e
                    .grants
                    .iter()
                    .filter(|g| g.participant == Some(participant))
                    .map(|g| g.doc)
                    .collect();
                if docs.is_empty() {
                    continue;
                }
                match role {
                    Some(role) => e
                        .grants
                        .iter_mut()
                        .filter(|g| g.participant == Some(participant))
                        .for_each(|g| g.role = role),
                    None => e.grants.retain(|g| g.participant != Some(participant)),
                }
                let attached: Vec<DocumentId> = docs
                    .into_iter()
                    .filter(|d| e.attached.contains(d))
                    .collect();
                changed.push((*conn, access_map(&e.grants), attached, e.link.clone()));
            }
        }
        for (conn, grants, attached, link) in changed {
            let empty = grants.is_empty();
            self.front(Event::Grant { conn, grants });
            for doc in attached {
                self.send_if_running(doc, Command::Role { conn, role })
                    .await;
            }
            if empty {
                link.close("your access to this plan was withdrawn by an owner".into());
            }
            tracing::info!(
                conn = conn.0,
                participant = participant.0,
                ?role,
                "changed the access of an open connection"
            );
        }
        Ok(())
    }

    /// Acts on another node's announcement.
    async fn notice(&self, notice: Notice) {
        match notice {
            Notice::Document(doc) => self.send_if_running(doc, Command::CatchUp).await,
            Notice::Participant(id) => self.refresh_access(id).await,
            Notice::Resync => {
                let docs: Vec<DocumentId> =
                    lock(&self.inner.shared.registry).keys().copied().collect();
                for doc in docs {
                    self.send_if_running(doc, Command::CatchUp).await;
                }
                let mut people: Vec<ParticipantId> = lock(&self.inner.conns)
                    .values()
                    .flat_map(|e| e.grants.iter().filter_map(|g| g.participant))
                    .collect();
                people.sort_by_key(|p| p.0);
                people.dedup();
                for id in people {
                    self.refresh_access(id).await;
                }
            }
        }
    }

    /// Gives a participant's open connections the access storage now records for them.
    async fn refresh_access(&self, id: ParticipantId) {
        let connected = lock(&self.inner.conns)
            .values()
            .any(|e| e.grants.iter().any(|g| g.participant == Some(id)));
        if !connected {
            return;
        }
        match self.inner.shared.store.participant(id).await {
            Ok(p) => {
                let _ = self.regrant(id, p.map(|p| p.role)).await;
            }
            Err(e) => {
                tracing::warn!(participant = id.0, error = %e, "could not read a participant's access")
            }
        }
    }

    /// A copy of a plan's document as the server holds it now (`None` if it has no such plan).
    pub async fn document(&self, plan: DocumentId) -> Result<Option<AutoCommit>, ServiceError> {
        self.call(plan, |a| Ok(a.held()?.map(|d| d.fork()))).await?
    }

    /// The heads of a plan as the server holds it now, or the given ones if it has every
    /// change they name.
    pub async fn heads(
        &self,
        plan: DocumentId,
        given: Option<Vec<String>>,
    ) -> Result<Vec<ChangeHash>, ServiceError> {
        self.call(plan, move |a| {
            let doc = a.held()?.ok_or(ServiceError::NoPlan)?;
            match given {
                None => Ok(doc.get_heads()),
                Some(h) => {
                    let h = crate::history::parse_heads(&h).ok_or(ServiceError::UnknownHeads)?;
                    if h.is_empty() || h.iter().any(|x| doc.get_change_by_hash(x).is_none()) {
                        return Err(ServiceError::UnknownHeads);
                    }
                    Ok(h)
                }
            }
        })
        .await?
    }

    /// Applies plan operations on the server's copy of a plan as one change made on behalf of
    /// `by`, stores it and sends it to everyone syncing the plan. The operations run on a
    /// copy, on a blocking thread, so a large import or restore never holds up sync; only
    /// merging the finished change back happens on the plan's actor.
    pub async fn change_plan<T: Send + 'static>(
        &self,
        plan: DocumentId,
        by: ParticipantId,
        message: Option<String>,
        f: impl FnOnce(&mut PlanDoc) -> plansync_shared::Result<T> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (mut copy, before) = self
            .call(plan, |a| {
                let doc = a.held()?.ok_or(ServiceError::NoPlan)?;
                Ok::<_, ServiceError>((doc.fork(), doc.get_heads()))
            })
            .await??;
        let (out, chunk, hashes) = tokio::task::spawn_blocking(move || {
            let commit = plansync_shared::Commit {
                time_secs: Some(now_ms() as i64 / 1000),
                message,
            };
            let out = PlanDoc::change_with(&mut copy, commit, f)?;
            let hashes: Vec<_> = copy.get_changes(&before).iter().map(|c| c.hash()).collect();
            let chunk = copy.save_after(&before);
            Ok::<_, ServiceError>((out, chunk, hashes))
        })
        .await
        .map_err(|e| ServiceError::Io(e.to_string()))??;
        if hashes.is_empty() {
            return Ok(out);
        }
        if !self.call(plan, move |a| a.merge_change(&chunk)).await?? {
            return Err(ServiceError::NotSaved);
        }
        self.inner
            .shared
            .store
            .attribute(plan.to_string(), hashes, by, now_ms() as i64)
            .await?;
        Ok(out)
    }

    /// Creates a plan (with no participants yet) and stores it durably before answering.
    pub async fn create_plan(&self, kind: PlanKind) -> Result<PlanRow, ServiceError> {
        let plan = tokio::task::spawn_blocking(move || {
            let mut rng = rand::rng();
            let plan = match kind {
                PlanKind::Demo => demo_plan(&mut rng)?,
                PlanKind::Import(doc) => PlanDoc::from_automerge(*doc)?,
                PlanKind::Empty(title) => {
                    let mut p = PlanDoc::create(
                        &NewPlan {
                            title,
                            area: String::new(),
                            period_start: 2026,
                            period_end: 2028,
                            owning_body: String::new(),
                        },
                        &mut rng,
                    )?;
                    p.commit();
                    p
                }
            };
            Ok::<_, ServiceError>(plan.into_automerge())
        })
        .await
        .map_err(|e| ServiceError::Io(e.to_string()))??;
        let doc = DocumentId::random(&mut rand::rng());
        if !self.call(doc, move |a| a.add(plan)).await? {
            return Err(ServiceError::NotSaved);
        }
        let id = doc.to_string();
        let plans = self.inner.shared.store.plans().await?;
        plans
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(ServiceError::NotSaved)
    }

    /// How many document actors are running (tests check that idle ones stop).
    pub fn running_documents(&self) -> usize {
        lock(&self.inner.shared.registry).len()
    }

    /// Commands waiting in a document actor's queue (`None` if it is not running).
    pub fn queued(&self, doc: DocumentId) -> Option<usize> {
        lock(&self.inner.shared.registry)
            .get(&doc)
            .map(|m| m.tx.max_capacity() - m.tx.capacity())
    }

    /// Occupies a document's actor until the returned sender is dropped or sent to (tests
    /// use it to stand for a long import or first sync).
    #[cfg(test)]
    pub(crate) async fn hold(&self, doc: DocumentId) -> std::sync::mpsc::Sender<()> {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = oneshot::channel();
        self.send(
            doc,
            Command::Call(Box::new(move |_| {
                let _ = started.send(());
                let _ = held.recv();
            })),
        )
        .await
        .expect("the actor runs");
        running.await.expect("the actor took the call");
        release
    }
}
