//! The Plansync server: the sync core over WebSocket, storage (SQLite or PostgreSQL), the
//! HTTP API and the app's files. `main.rs` parses the command line; everything else is here, testable.

mod access;
mod assets;
pub mod backup;
mod client_addr;
mod compress;
mod connections;
pub mod export;
mod headers;
mod history;
mod http;
pub mod mail;
mod membership;
pub mod metrics;
pub mod relay;
pub mod signin;
mod spreadsheet;
pub mod store;
mod sync;
mod throttle;
mod ws;

pub use access::{
    hash_token, new_code, normalize_code, Invitation, JoinRefused, LinkOutcome, NewPersonLink,
    Participant, ParticipantId, ParticipantKind, Role,
};
pub use assets::AppFiles;
pub use client_addr::{ClientAddr, TrustedProxies};
pub use connections::{fit_to_file_limit, serve, ConnectionLimits, Full, Place, Places};
pub use history::{mark_changed, parse_heads, ChangeAuthor, Snapshot};
pub use http::{current_period, document_from_file, made_now, ExportJob, MAX_IMPORT_BYTES};
pub use http::{join_link, qr_svg, qr_text, room_addresses, AppError};
pub use membership::{add_with_token, enroll, invite, owner_invitations, EnrollError};
pub use spreadsheet::{neutralize_cell, read_table, restore_cell, ImportLimits};
pub use store::{JoinError, Location, OwnerLink, PlanRow, Store, StoreError, FIRST_PLAN_CLAIM_MS};
pub use sync::{Grant, Limits, Outbound, OutboundQueue, PlanKind, ServiceError, SyncHandle};
pub use throttle::{JoinLimits, JoinThrottle, Throttled};
pub use ws::{serve_socket, RateLimit};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post};
use axum::Router;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How the server runs: its limits and where the app is.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Sync messages over this many bytes are refused.
    pub max_message_bytes: usize,
    /// Changes that would grow a plan's document past this many bytes are refused.
    pub max_document_bytes: usize,
    /// A connection sending more sync messages per second than this (averaged over two
    /// seconds) is closed.
    pub max_messages_per_second: u32,
    /// Open sync connections allowed from one IP address.
    pub max_connections_per_address: usize,
    /// Web origins (`http://host:port`) allowed to open `/sync` besides the server's own.
    pub allowed_origins: Vec<String>,
    /// A folder of the built app to serve instead of the app built into the binary.
    pub app_dir: Option<PathBuf>,
    /// Unsent bytes a connection may hold before it is closed as not reading.
    pub max_queued_bytes: usize,
    /// The address people open (`http://192.168.1.20:8080`), for invitation links; `None`
    /// uses the listen address.
    pub public_url: Option<String>,
    /// The address the server listens on (its port resolved).
    pub listen: std::net::SocketAddr,
    /// Connections held open per address and in all, and the header timeout.
    pub connections: ConnectionLimits,
    /// Wrong invitation codes allowed per address and in all.
    pub join: JoinLimits,
    /// How much of a tracker file an import reads.
    pub import: ImportLimits,
    /// Commands one plan's sync actor holds before its senders wait.
    pub max_document_queue: usize,
    /// How long a plan's sync actor with no connections lives on.
    pub document_idle: std::time::Duration,
    /// Threads that run the plans' sync work.
    pub sync_threads: usize,
    /// How long a plan its peers leave alone stays in memory (then it rests as its saved
    /// bytes); `None`: always.
    pub document_rest: Option<std::time::Duration>,
    /// Whether this server was given mail settings and emails reminders.
    pub sends_reminders: bool,
    /// The hash of the token that opens `/metrics` on the main port (`None`: it is off there).
    pub metrics_token_hash: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_message_bytes: 8 << 20,
            max_document_bytes: 64 << 20,
            max_messages_per_second: 200,
            max_connections_per_address: 64,
            allowed_origins: Vec::new(),
            app_dir: None,
            max_queued_bytes: Limits::default().max_queued_bytes,
            public_url: None,
            listen: ([127, 0, 0, 1], 8080).into(),
            connections: ConnectionLimits::default(),
            join: JoinLimits::default(),
            import: ImportLimits::default(),
            max_document_queue: Limits::default().max_document_queue,
            document_idle: Limits::default().document_idle,
            sync_threads: Limits::default().sync_threads,
            document_rest: Limits::default().document_rest,
            sends_reminders: false,
            metrics_token_hash: None,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The sync service.
    pub sync: SyncHandle,
    /// Everything the server keeps.
    pub store: Store,
    /// Limits and paths.
    pub settings: Arc<Settings>,
    /// Open sync sockets per client address.
    pub sync_places: Places,
    /// Wrong invitation codes per address.
    pub join_throttle: Arc<Mutex<JoinThrottle>>,
    /// The web app's files.
    pub app: AppFiles,
    /// What each relay to an upstream server has sent.
    pub relays: relay::Relays,
    /// The identity providers people may sign in with (none in the room).
    pub sign_in: signin::SignIn,
}

impl AppState {
    /// The address invitation links start with: `--public-url`, else the listen address.
    /// A server listening on every interface (`0.0.0.0`) uses the address the request was
    /// sent to when it is an IP address with our port, never a host name from the request.
    pub fn public_url(&self, headers: &axum::http::HeaderMap) -> String {
        if let Some(url) = &self.settings.public_url {
            return url.trim_end_matches('/').to_string();
        }
        let listen = self.settings.listen;
        if listen.ip().is_unspecified() {
            let asked = http::request_host(headers)
                .and_then(|h| h.parse::<std::net::SocketAddr>().ok())
                .filter(|a| a.port() == listen.port());
            if let Some(a) = asked {
                return format!("http://{a}");
            }
            return format!("http://127.0.0.1:{}", listen.port());
        }
        format!("http://{listen}")
    }
}

/// Milliseconds since the Unix epoch, by the server's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The page shown at `/` when the app has not been built.
const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Plansync</title>\
<h1>Plansync is running, but the web app is not built</h1>\
<p>Build it with <code>trunk build --release</code> in the project folder (the README's first command does this), \
or start the server with <code>--app-dir</code> pointing at a built app. The sync endpoint and the API work already.</p>";

/// What a separate metrics address serves: `/metrics` and nothing else.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(http::metrics_open))
        .with_state(state)
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(http::health))
        .route("/ready", get(http::ready))
        .route("/metrics", get(http::metrics_with_token))
        .route("/api/plans", get(http::list_plans).post(http::create_plan))
        .route("/api/join", post(http::join))
        .route(
            "/api/plans/{plan}/participants",
            get(http::list_participants),
        )
        .route(
            "/api/plans/{plan}/participants/{id}",
            patch(http::set_role).delete(http::revoke_participant),
        )
        .route("/api/plans/{plan}/links", get(http::list_links))
        .route("/api/plans/{plan}/emails", get(http::list_emails))
        .route(
            "/api/plans/{plan}/participants/{id}/email",
            axum::routing::put(http::set_email).delete(http::remove_email),
        )
        .route(
            "/api/plans/{plan}/publications",
            get(http::list_publications).post(http::publish),
        )
        .route(
            "/api/plans/{plan}/publications/{id}",
            axum::routing::delete(http::unpublish),
        )
        .route("/published/{id}", get(http::published_page))
        .route("/published/{id}/pack.pdf", get(http::published_pdf))
        .route(
            "/api/plans/{plan}/sign-offs",
            get(http::list_sign_offs).post(http::sign_off),
        )
        .route(
            "/api/plans/{plan}/participants/{id}/people/{person}",
            axum::routing::put(http::link_person).delete(http::unlink_person),
        )
        .route(
            "/api/plans/{plan}/invitations",
            get(http::list_invitations).post(http::create_invitation),
        )
        .route(
            "/api/plans/{plan}/invitations/{id}",
            axum::routing::delete(http::revoke_invitation),
        )
        .route("/api/plans/{plan}/room", get(http::room))
        .route("/api/plans/{plan}/servers", post(http::enroll_server))
        .route(
            "/api/plans/{plan}/relayed-authors",
            post(http::report_relayed_authors),
        )
        .route("/api/plans/{plan}/relay", get(http::relay_status))
        .route("/api/providers", get(http::list_providers))
        .route("/auth/{provider}/start", get(http::start_sign_in))
        .route("/auth/callback", get(http::sign_in_callback))
        .route("/api/sign-in/finish", post(http::finish_sign_in))
        .route("/api/sign-out", post(http::sign_out))
        .route("/api/plans/{plan}/history", get(http::plan_history))
        .route(
            "/api/plans/{plan}/authors",
            get(http::change_authors).post(http::some_change_authors),
        )
        .route(
            "/api/plans/{plan}/snapshots",
            get(http::list_snapshots).post(http::take_snapshot),
        )
        .route("/api/plans/{plan}/plan", get(http::plan_at))
        .route("/api/plans/{plan}/view", get(http::plan_view))
        .route("/api/plans/{plan}/compare", get(http::compare_versions))
        .route("/api/plans/{plan}/restore", post(http::restore))
        .route("/api/plans/{plan}/exports", get(http::list_exports))
        .route("/api/plans/{plan}/exports/{name}", get(http::export_file))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .route(
            "/api/plans/import",
            post(http::import_plan).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route(
            "/api/plans/{plan}/import/tracker",
            post(http::import_tracker).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/sync", get(ws::sync_socket));
    let policy: Arc<str> = headers::app_policy(&state.app.index_html().unwrap_or_default()).into();
    let router = if state.app.is_built() {
        let files = state.app.clone();
        api.fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap| async move {
                files.respond(&method, uri.path(), &headers)
            },
        )
    } else {
        api.fallback(|| async { axum::response::Html(NOT_BUILT) })
    };
    let request_timeout = state.settings.connections.request_timeout;
    router
        .with_state(state)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            headers::secure(policy.clone(), req, next)
        }))
        .layer(
            // The path only: query strings carry tokens and must never reach the log.
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<axum::body::Body>| {
                    tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
                },
            ),
        )
}

/// The title of the plan a fresh server starts with when not asked for the demo plan.
pub const FIRST_PLAN_TITLE: &str = "Police, Crime and Community Safety Plan";

/// Opens the database and starts the sync service. A database with no plans gets one: the
/// demo plan if `demo`, otherwise an empty plan (its owner link is printed at start).
pub async fn start(db: &Location, demo: bool, settings: Settings) -> anyhow::Result<AppState> {
    start_on(store::open(db).await?, demo, settings).await
}

/// [`start`] on storage that is already open.
pub async fn start_on(store: Store, demo: bool, settings: Settings) -> anyhow::Result<AppState> {
    let sync = SyncHandle::start(
        store.clone(),
        Limits {
            max_message_bytes: settings.max_message_bytes,
            max_document_bytes: settings.max_document_bytes,
            max_queued_bytes: settings.max_queued_bytes,
            max_document_queue: settings.max_document_queue,
            document_idle: settings.document_idle,
            sync_threads: settings.sync_threads,
            document_rest: settings.document_rest,
            ..Limits::default()
        },
    )
    .await?;
    // One start among nodes starting at once on a new database makes its first plan.
    if store.claim_first_plan(now_ms()).await? {
        let kind = if demo {
            PlanKind::Demo
        } else {
            PlanKind::Empty(FIRST_PLAN_TITLE.into())
        };
        let plan = sync.create_plan(kind).await?;
        tracing::info!(id = %plan.id, title = %plan.title, "created the first plan");
    }
    let app = match &settings.app_dir {
        Some(dir) => AppFiles::from_dir(dir).unwrap_or_else(|e| {
            tracing::warn!(dir = %dir.display(), error = %e, "could not read the app's folder; serving a page that says so");
            AppFiles::default()
        }),
        None => AppFiles::embedded(),
    };
    Ok(AppState {
        relays: relay::Relays::default(),
        sign_in: signin::SignIn::default(),
        app,
        sync,
        store,
        join_throttle: Arc::new(Mutex::new(JoinThrottle::new(settings.join.clone()))),
        settings: Arc::new(settings),
        sync_places: Places::default(),
    })
}

#[cfg(test)]
mod tests;
