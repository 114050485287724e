//! A plan's history: every change in plain words with who and when, and who sent each change.

use super::{document, member, off_runtime, AppError};
use crate::access::Role;
use crate::sync::ServiceError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use plansync_shared::{attributed, history, Attribution, HistoryFilter};
use serde::Serialize;

/// One history entry with who sent it, as the server recorded.
#[derive(Debug, Serialize)]
pub struct Attributed {
    /// The entry.
    #[serde(flatten)]
    pub entry: plansync_shared::HistoryEntry,
    /// Who sent it (participant name), if the server knows.
    pub name: Option<String>,
    /// Their agency.
    pub agency: Option<String>,
    /// The relaying servers it came through ("Workshop laptop"), if any.
    pub via: Option<String>,
    /// Who, as shown ("name, agency, reported by Workshop laptop").
    pub by: Option<String>,
    /// When: the server's receipt time, or the editor's clock (ms since 1970).
    pub time_ms: i64,
}

/// `GET /api/plans/{plan}/history`: every change, newest first, with who and when.
pub async fn plan_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    Query(q): Query<HistoryFilter>,
) -> Result<Json<Vec<Attributed>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    let mut doc = document(&state, &plan).await?;
    let authors = state.store.authors(plan.clone()).await?;
    let entries = off_runtime(move || history(&mut doc))
        .await?
        .map_err(|e| AppError::Service(ServiceError::Plan(e)))?;
    let out = entries
        .into_iter()
        .filter_map(|entry| {
            let (who, time_ms) = attributed(&entry, |h| authors.get(h));
            q.matches(&entry, who, time_ms).then(|| Attributed {
                name: who.and_then(|a| a.name.clone()),
                agency: who.and_then(|a| a.agency.clone()),
                via: who.and_then(|a| a.via.clone()),
                by: who.and_then(|a| a.described()),
                time_ms,
                entry,
            })
        })
        .collect();
    Ok(Json(out))
}

/// `GET /api/plans/{plan}/authors`: who sent each change and when, by change hash (what
/// the app adds to the history it reads from its own copy).
pub async fn change_authors(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<std::collections::HashMap<String, crate::history::ChangeAuthor>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    Ok(Json(state.store.authors(plan).await?))
}
