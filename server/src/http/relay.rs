//! The relay's side of the API: the upstream takes reports of who made the changes a relay
//! sent (`POST /api/plans/{plan}/relayed-authors`), and the app reads how far this server's
//! relays got (`GET /api/plans/{plan}/relay`).

use super::{member, AppError};
use crate::access::{ParticipantKind, Role};
use crate::relay::RelayState;
use crate::store::RelayedAuthor;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
pub use plansync_shared::api::{AuthorGroup, Reported};

/// The longest name or agency a report may carry.
const MAX_TEXT: usize = 200;

/// What a person's token is told when it tries to report who made changes.
pub const ONLY_RELAYS_REPORT: &str = "only an enrolled relaying server may report who made changes; enroll this laptop as a relaying server (People, or `plansync enroll`) and relay with that token";

/// `POST /api/plans/{plan}/relayed-authors`: an enrolled relaying server (a participant of
/// kind server, with an editor's role) reports who made changes it sent. Only changes this
/// server received from that same participant are taken, each recorded as the relay's
/// report of who made it; a change already reported keeps its first report. A person's
/// token is refused: their changes are their own.
pub async fn report_relayed_authors(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    body: Result<Json<Vec<AuthorGroup>>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Reported>, AppError> {
    let me = member(&state, &headers, &plan, Role::Editor).await?;
    if me.kind != ParticipantKind::Server {
        return Err(AppError::Forbidden(ONLY_RELAYS_REPORT.into()));
    }
    let Json(report) = body.map_err(|e| {
        AppError::BadRequest(format!(
            "send a list of {{\"name\", \"agency\", \"via\", \"hashes\"}}: {e}"
        ))
    })?;
    let sent_by: std::collections::HashMap<String, Option<crate::access::ParticipantId>> = state
        .store
        .change_authors(plan.clone())
        .await?
        .into_iter()
        .collect();
    let clip = |s: &str| s.trim().chars().take(MAX_TEXT).collect::<String>();
    let mut unknown = Vec::new();
    let mut take = Vec::new();
    for group in report {
        let via = match group.via.as_deref().map(clip).filter(|v| !v.is_empty()) {
            Some(v) => format!("{v}, {}", me.name),
            None => me.name.clone(),
        };
        for hash in group.hashes {
            if sent_by.get(&hash) != Some(&Some(me.id)) || group.name.trim().is_empty() {
                unknown.push(hash);
                continue;
            }
            take.push(RelayedAuthor {
                hash,
                name: clip(&group.name),
                agency: clip(&group.agency),
                via: Some(clip(&via)),
                known: group.known.clone().map(|k| match k {
                    plansync_shared::Known::SignedIn(p) => {
                        plansync_shared::Known::SignedIn(clip(&p))
                    }
                    code => code,
                }),
            });
        }
    }
    let recorded = if take.is_empty() {
        0
    } else {
        state.store.add_relayed(plan, take).await?
    };
    Ok(Json(Reported { recorded, unknown }))
}

/// `GET /api/plans/{plan}/relay`: how far each of this server's relays got with the plan
/// (empty when it relays to no upstream).
pub async fn relay_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<Vec<RelayState>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    Ok(Json(state.relays.of_plan(&plan)))
}

/// `POST /api/plans/{plan}/authors`: who sent the listed changes (a relay asks about the
/// changes it received, rather than fetching every change's author).
pub async fn some_change_authors(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    body: Result<Json<Vec<String>>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<std::collections::HashMap<String, crate::history::ChangeAuthor>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    let Json(wanted) =
        body.map_err(|e| AppError::BadRequest(format!("send a list of change hashes: {e}")))?;
    let mut all = state.store.authors(plan).await?;
    Ok(Json(
        wanted
            .into_iter()
            .filter_map(|h| all.remove_entry(&h))
            .collect(),
    ))
}
