//! The PostgreSQL backend, for a central deployment: several `plansync serve` nodes over one
//! database. Appends and compactions of a document take a per-document advisory lock, so a
//! document's chunk ids grow in commit order and a node that has read up to chunk N can
//! catch up by reading the chunks after N.

use super::{
    author, heads_text, ids_text, parse_ids, should_compact, Appended, Changes, ChunkId, JoinError,
    NewInvitation, NewParticipant, NewSignOff, Notice, PlanRow, Publication, PulledSnapshot,
    RelayProgress, RelayedAuthor, Result, RoleChange, StoreError, Stored,
};
use crate::access::{
    Invitation, JoinRefused, LinkOutcome, NewPersonLink, Participant, ParticipantId,
    ParticipantKind, Role,
};
use crate::history::{ChangeAuthor, Snapshot};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use plansync_shared::automerge::ChangeHash;
use plansync_shared::{DocumentId, ParticipantEmail, PersonLink, PlanSummary, SignInRule, SignOff};
use std::collections::HashMap;
use tokio_postgres::{NoTls, Row};

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Database(match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => e.to_string(),
        })
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Database(format!("no connection to PostgreSQL: {e}"))
    }
}

/// The schema version a database has: how many of [`MIGRATIONS`] ran.
const SCHEMA_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

/// Each schema version's SQL, in order; `schema_migrations` records the ones that ran.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE chunks (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        doc_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'incremental')),
        data BYTEA NOT NULL);
    CREATE INDEX chunks_by_doc ON chunks (doc_id, id);
    CREATE TABLE plans (
        doc_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        stage TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL);
    CREATE TABLE participants (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        plan_id TEXT NOT NULL,
        name TEXT NOT NULL,
        agency TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
        token_hash TEXT NOT NULL UNIQUE,
        created_ms BIGINT NOT NULL,
        revoked_ms BIGINT);
    CREATE INDEX participants_by_plan ON participants (plan_id);
    CREATE TABLE invitations (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        plan_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
        code TEXT NOT NULL UNIQUE,
        expires_ms BIGINT NOT NULL,
        uses_left BIGINT NOT NULL,
        created_ms BIGINT NOT NULL,
        revoked_ms BIGINT);
    CREATE TABLE change_authors (
        doc_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        participant_id BIGINT,
        received_ms BIGINT NOT NULL,
        PRIMARY KEY (doc_id, hash));
    CREATE TABLE snapshots (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        doc_id TEXT NOT NULL,
        name TEXT NOT NULL,
        heads TEXT NOT NULL,
        participant_id BIGINT,
        created_ms BIGINT NOT NULL);
    CREATE INDEX snapshots_by_doc ON snapshots (doc_id, created_ms);", "
    ALTER TABLE participants ADD COLUMN kind TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'server'));
    ALTER TABLE snapshots ADD COLUMN author TEXT;
    CREATE TABLE relayed_authors (
        doc_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        name TEXT NOT NULL,
        agency TEXT NOT NULL,
        via TEXT,
        PRIMARY KEY (doc_id, hash));
    CREATE TABLE relay_progress (
        upstream TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        upstream_heads TEXT NOT NULL,
        reached_ms BIGINT,
        sent_ms BIGINT,
        attributed BIGINT NOT NULL,
        PRIMARY KEY (upstream, doc_id));", "
    CREATE TABLE person_links (
        plan_id TEXT NOT NULL,
        participant_id BIGINT NOT NULL,
        person_id TEXT NOT NULL,
        confirmed BOOLEAN NOT NULL,
        shared BOOLEAN NOT NULL,
        created_ms BIGINT NOT NULL,
        PRIMARY KEY (plan_id, participant_id, person_id));
    CREATE INDEX person_links_by_person ON person_links (plan_id, person_id);", "
    CREATE TABLE sign_offs (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        plan_id TEXT NOT NULL,
        round_id TEXT NOT NULL,
        board_id TEXT NOT NULL,
        board_name TEXT NOT NULL,
        participant_id BIGINT NOT NULL,
        person_id TEXT NOT NULL,
        name TEXT NOT NULL,
        heads TEXT NOT NULL,
        snapshot_id BIGINT,
        signed_ms BIGINT NOT NULL);
    CREATE INDEX sign_offs_by_plan ON sign_offs (plan_id, id);
    CREATE TABLE publications (
        id TEXT PRIMARY KEY,
        plan_id TEXT NOT NULL,
        period TEXT NOT NULL,
        title TEXT NOT NULL,
        html BYTEA NOT NULL,
        pdf BYTEA NOT NULL,
        published_ms BIGINT NOT NULL);
    CREATE INDEX publications_by_plan ON publications (plan_id, published_ms);
    CREATE TABLE participant_emails (
        participant_id BIGINT PRIMARY KEY,
        plan_id TEXT NOT NULL,
        email TEXT NOT NULL,
        reminders BOOLEAN NOT NULL);
    CREATE INDEX participant_emails_by_plan ON participant_emails (plan_id);", "
    CREATE TABLE reminders (
        key TEXT PRIMARY KEY,
        plan_id TEXT NOT NULL,
        participant_id BIGINT NOT NULL,
        state TEXT NOT NULL,
        tries BIGINT NOT NULL DEFAULT 0,
        hold_until_ms BIGINT NOT NULL,
        sent_ms BIGINT,
        error TEXT);", "
    ALTER TABLE participants ADD COLUMN provider TEXT;
    ALTER TABLE participants ADD COLUMN provider_label TEXT;
    ALTER TABLE participants ADD COLUMN issuer TEXT;
    ALTER TABLE participants ADD COLUMN subject TEXT;
    ALTER TABLE participants ADD COLUMN email TEXT;
    ALTER TABLE participants ADD COLUMN last_sign_in_ms BIGINT;
    CREATE INDEX participants_by_identity ON participants (issuer, subject);
    ALTER TABLE invitations ADD COLUMN sign_in TEXT;
    ALTER TABLE relayed_authors ADD COLUMN known TEXT;
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        participant_id BIGINT NOT NULL,
        created_ms BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL);
    CREATE INDEX sessions_by_participant ON sessions (participant_id);
    CREATE TABLE sign_in_flows (
        state_hash TEXT PRIMARY KEY,
        browser_hash TEXT NOT NULL,
        provider TEXT NOT NULL,
        verifier TEXT NOT NULL,
        nonce TEXT NOT NULL,
        invitation TEXT,
        return_to TEXT NOT NULL,
        created_ms BIGINT NOT NULL);
    CREATE TABLE sign_in_handoffs (
        code_hash TEXT PRIMARY KEY,
        participants TEXT NOT NULL,
        return_to TEXT NOT NULL,
        expires_ms BIGINT NOT NULL);"];

/// The advisory lock key that serializes schema migrations between nodes starting at once.
const MIGRATION_LOCK: i64 = 0x706c_616e_7379_6e63;

/// The advisory lock key that serializes nodes' starts: who creates the first plan, who
/// makes an ownerless plan's owner link.
const START_LOCK: i64 = 0x706c_616e_7374_6172;

/// Connections kept per node.
const POOL_SIZE: usize = 16;

/// The channel that carries `NODE DOCUMENT` when a node stored changes to a document.
const DOCS_CHANNEL: &str = "plansync_docs";
/// The channel that carries `NODE PARTICIPANT` when a node changed a participant's access.
const ACCESS_CHANNEL: &str = "plansync_access";

/// A PostgreSQL database.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    url: String,
    config: tokio_postgres::Config,
    /// This node's id in notifications, so it ignores its own.
    node: String,
}

/// `url` with any password replaced by `***`, for messages and logs.
pub(crate) fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

impl Postgres {
    /// Connects to the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        let open_error = |reason: String| {
            StoreError::Open {
            place: without_password(url),
            reason,
            hint: "check that PostgreSQL is running there, that the database exists and that this user may use it",
        }
        };
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| open_error(format!("not a PostgreSQL URL: {e}")))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| open_error(e.to_string()))?;
        let store = Self {
            pool,
            url: url.to_string(),
            config,
            node: format!("{:016x}", rand::random::<u64>()),
        };
        store
            .migrate()
            .await
            .map_err(|e| open_error(e.to_string()))?;
        Ok(store)
    }

    /// The database's URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Listens for other nodes' announcements until `tx` closes, reconnecting with backoff
    /// and jitter; each (re)connection is announced as [`Notice::Resync`] once listening.
    async fn listen(self, tx: tokio::sync::mpsc::Sender<Notice>) {
        use futures_util::StreamExt;
        let mut backoff = std::time::Duration::from_millis(100);
        loop {
            match self.config.connect(NoTls).await {
                Ok((client, mut connection)) => {
                    let (found, mut heard) = tokio::sync::mpsc::unbounded_channel();
                    let driver = tokio::spawn(async move {
                        let mut messages =
                            futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                        while let Some(message) = messages.next().await {
                            match message {
                                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                                    let _ = found.send(n);
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!(error = %e, "the PostgreSQL listener's connection failed");
                                    break;
                                }
                            }
                        }
                    });
                    let listening = client
                        .batch_execute(&format!("LISTEN {DOCS_CHANNEL}; LISTEN {ACCESS_CHANNEL}"))
                        .await;
                    match listening {
                        Ok(()) => {
                            backoff = std::time::Duration::from_millis(100);
                            if tx.send(Notice::Resync).await.is_err() {
                                driver.abort();
                                return;
                            }
                            while let Some(n) = heard.recv().await {
                                let Some(notice) = self.notice(n.channel(), n.payload()) else {
                                    continue;
                                };
                                if tx.send(notice).await.is_err() {
                                    driver.abort();
                                    return;
                                }
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %StoreError::from(e), "could not listen for other nodes' changes")
                        }
                    }
                    driver.abort();
                }
                Err(e) => {
                    tracing::warn!(error = %StoreError::from(e), "could not connect to PostgreSQL to listen for other nodes' changes; retrying")
                }
            }
            if tx.is_closed() {
                return;
            }
            let jitter = rand::random::<u64>() % (backoff.as_millis() as u64 / 2 + 1);
            tokio::time::sleep(backoff + std::time::Duration::from_millis(jitter)).await;
            backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
        }
    }

    /// Reads an announcement; `None` for our own or one that makes no sense.
    fn notice(&self, channel: &str, payload: &str) -> Option<Notice> {
        let (node, id) = payload.split_once(' ')?;
        if node == self.node {
            return None;
        }
        match channel {
            DOCS_CHANNEL => id.parse().ok().map(Notice::Document),
            ACCESS_CHANNEL => id
                .parse()
                .ok()
                .map(|p| Notice::Participant(ParticipantId(p))),
            _ => None,
        }
    }

    /// Announces (when the transaction commits) that this node changed `id` on `channel`.
    async fn announce(&self, tx: &impl GenericClient, channel: &str, id: &str) -> Result<()> {
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&channel, &format!("{} {id}", self.node)],
        )
        .await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        // No "already exists" notice in the log at every start.
        tx.batch_execute("SET LOCAL client_min_messages = warning")
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)",
        )
        .await?;
        let version: i32 = tx.query_one(SCHEMA_VERSION, &[]).await?.get(0);
        let known = MIGRATIONS.len() as i32;
        if version > known {
            return Err(StoreError::Corrupt {
                place: without_password(&self.url),
                reason: format!("its schema is version {version}, newer than this Plansync knows ({known}): run a newer Plansync"),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
                &[&(i as i32 + 1), &crate::now_ms()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

const PARTICIPANT_COLUMNS: &str =
    "id, plan_id, name, agency, role, created_ms, kind, provider_label, last_sign_in_ms, provider";
const INVITATION_COLUMNS: &str = "id, plan_id, role, code, expires_ms, uses_left, sign_in";
const SNAPSHOT_SELECT: &str =
    "SELECT s.id, s.doc_id, s.name, s.heads, p.name, p.agency, s.created_ms, s.author
    FROM snapshots s LEFT JOIN participants p ON p.id = s.participant_id";

/// Takes the document's lock until the end of the transaction.
async fn lock_document(tx: &impl GenericClient, doc: &str) -> Result<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('plansync-doc:' || $1, 0))",
        &[&doc],
    )
    .await?;
    Ok(())
}

async fn chunks(c: &impl GenericClient, doc: &str, after: i64) -> Result<Stored> {
    let rows = c
        .query(
            "SELECT id, data FROM chunks WHERE doc_id = $1 AND id > $2 ORDER BY id",
            &[&doc, &after],
        )
        .await?;
    let mut out = Stored::default();
    for row in rows {
        out.chunks.push(ChunkId(row.get(0)));
        out.bytes.extend_from_slice(row.get::<_, &[u8]>(1));
    }
    Ok(out)
}

/// In a transaction: locks the plan's current participants and says whether changing `id`
/// leaves the plan an owner.
async fn owner_rule(
    tx: &impl GenericClient,
    plan: &str,
    id: ParticipantId,
    stays_owner: bool,
) -> Result<RoleChange> {
    let people = tx
        .query(
            "SELECT id, role FROM participants WHERE plan_id = $1 AND revoked_ms IS NULL ORDER BY id FOR UPDATE",
            &[&plan],
        )
        .await?;
    let people: Vec<(i64, String)> = people.iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(crate::access::owner_rule(&people, id, stays_owner))
}

async fn insert_invitation(
    c: &impl GenericClient,
    inv: NewInvitation,
    now_ms: i64,
) -> Result<Invitation> {
    let row = c
        .query_one(
            "INSERT INTO invitations (plan_id, role, code, expires_ms, uses_left, created_ms, sign_in) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[&inv.plan, &inv.role.as_str(), &inv.code, &inv.expires_ms, &inv.uses, &now_ms, &inv.sign_in.stored()],
        )
        .await?;
    Ok(Invitation {
        id: row.get(0),
        plan: inv.plan,
        role: inv.role,
        code: inv.code,
        expires: inv.expires_ms,
        uses_left: inv.uses,
        sign_in: inv.sign_in,
    })
}

mod access;
mod documents;
mod history;
mod relay;
mod rows;
mod signin;

use rows::{invitation, participant, person_link, snapshot};
