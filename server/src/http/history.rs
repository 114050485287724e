//! A plan's history: every change in plain words with who and when, and who sent each change.

use super::{document, member, off_runtime, AppError};
use crate::access::Role;
use crate::sync::ServiceError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use plansync_shared::history;
use serde::{Deserialize, Serialize};

/// Filters of `GET /api/plans/{plan}/history`.
#[derive(Debug, Deserialize, Default)]
pub struct HistoryQuery {
    /// Only changes by this participant (name, case-insensitive).
    pub person: Option<String>,
    /// Only changes by people of this agency.
    pub agency: Option<String>,
    /// Only changes touching this theme (id).
    pub theme: Option<String>,
    /// Only changes on or after this date (YYYY-MM-DD).
    pub from: Option<String>,
    /// Only changes on or before this date (YYYY-MM-DD).
    pub to: Option<String>,
}

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
    /// When: the server's receipt time, or the editor's clock (ms since 1970).
    pub time_ms: i64,
}

/// The date (YYYY-MM-DD, UTC) of a time in ms since 1970.
fn date_of_ms(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// `GET /api/plans/{plan}/history`: every change, newest first, with who and when.
pub async fn plan_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<Attributed>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    let mut doc = document(&state, &plan).await?;
    let authors = state.store.authors(plan.clone()).await?;
    let entries = off_runtime(move || history(&mut doc))
        .await?
        .map_err(|e| AppError::Service(ServiceError::Plan(e)))?;
    let lower = |s: &Option<String>| s.as_ref().map(|s| s.trim().to_lowercase());
    let (person, agency) = (lower(&q.person), lower(&q.agency));
    let out = entries
        .into_iter()
        .map(|entry| {
            let who = entry.hashes.iter().find_map(|h| authors.get(h));
            let time_ms = entry
                .hashes
                .iter()
                .filter_map(|h| authors.get(h))
                .map(|a| a.received_ms)
                .max()
                .unwrap_or(entry.time * 1000);
            Attributed {
                name: who.and_then(|a| a.name.clone()),
                agency: who.and_then(|a| a.agency.clone()),
                time_ms,
                entry,
            }
        })
        .filter(|a| {
            person.as_ref().is_none_or(|p| {
                a.name
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().contains(p))
            })
        })
        .filter(|a| {
            agency.as_ref().is_none_or(|p| {
                a.agency
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().contains(p))
            })
        })
        .filter(|a| q.theme.as_ref().is_none_or(|t| a.entry.themes.contains(t)))
        .filter(|a| {
            let d = date_of_ms(a.time_ms);
            q.from.as_ref().is_none_or(|f| d >= *f) && q.to.as_ref().is_none_or(|t| d <= *t)
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
