//! The Plansync server: the sync core over WebSocket, SQLite storage, the HTTP API and the
//! app's files. `main.rs` parses the command line; everything else is here, testable.

mod api;
mod storage;
mod sync_service;
mod ws;

pub use api::AppError;
pub use storage::{PlanRow, Storage, StorageError};
pub use sync_service::{Outbound, PlanKind, ServiceError, SyncHandle};
pub use ws::serve_socket;

use axum::routing::get;
use axum::Router;
use std::path::{Path, PathBuf};
use tower_http::services::{ServeDir, ServeFile};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The sync service.
    pub sync: SyncHandle,
    /// Frames over this many bytes are refused.
    pub max_message_bytes: usize,
    /// Where the built app is.
    pub app_dir: PathBuf,
}

/// The page shown at `/` when the app has not been built.
const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Plansync</title>\
<h1>Plansync is running, but the web app is not built</h1>\
<p>Build it with <code>trunk build --release</code> in the project folder (the README's first command does this), \
or start the server with <code>--app-dir</code> pointing at a built app. The sync endpoint and the API work already.</p>";

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(api::health))
        .route("/api/plans", get(api::list_plans).post(api::create_plan))
        .route("/sync", get(ws::sync_socket));
    let index = state.app_dir.join("index.html");
    let router = if index.is_file() {
        api.fallback_service(ServeDir::new(&state.app_dir).fallback(ServeFile::new(index)))
    } else {
        api.fallback(|| async { axum::response::Html(NOT_BUILT) })
    };
    router
        .with_state(state)
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Opens the database, starts the sync service, and creates the demo plan if asked and the
/// database has no plans yet.
pub async fn start(
    db: &Path,
    demo: bool,
    max_message_bytes: usize,
    app_dir: PathBuf,
) -> anyhow::Result<AppState> {
    let storage = Storage::open(db)?;
    let sync = SyncHandle::start(storage, max_message_bytes)?;
    if demo && sync.plans().await?.is_empty() {
        let plan = sync.create_plan(PlanKind::Demo).await?;
        tracing::info!(id = %plan.id, "created the demo plan");
    }
    Ok(AppState {
        sync,
        max_message_bytes,
        app_dir,
    })
}

#[cfg(test)]
mod tests;
