//! A plan's history: every change in plain words with who and when, and who sent each change.

use super::{document, member, off_runtime, AppError};
use crate::access::Role;
use crate::sync::ServiceError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
pub use plansync_shared::api::Attributed;
use plansync_shared::{attributed, history, Attribution, HistoryFilter};

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
