//! A plan's participants: who takes part, role changes and revocations (owners only).

use super::{member, AppError};
use crate::access::{Participant, ParticipantId, Role};
use crate::store::RoleChange;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;

/// `GET /api/plans/{plan}/participants`: who takes part (any participant may look).
pub async fn list_participants(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<Vec<Participant>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    Ok(Json(state.store.participants(plan).await?))
}

/// Body of `PATCH /api/plans/{plan}/participants/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// The new role.
    pub role: Role,
}

/// The answer to a role change or revocation that storage refused or did.
fn role_change(outcome: RoleChange) -> Result<(), AppError> {
    match outcome {
        RoleChange::Changed => Ok(()),
        RoleChange::NotFound => Err(AppError::NotFound(
            "There is no such participant in this plan.".into(),
        )),
        RoleChange::LastOwner => Err(AppError::Conflict(
            "A plan needs at least one owner: make someone else an owner first.".into(),
        )),
    }
}

/// `PATCH /api/plans/{plan}/participants/{id}`: an owner changes someone's role; it takes
/// effect on their open connections at once.
pub async fn set_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((plan, id)): Path<(String, i64)>,
    body: Result<Json<SetRole>, JsonRejection>,
) -> Result<Json<Vec<Participant>>, AppError> {
    member(&state, &headers, &plan, Role::Owner).await?;
    let Json(body) = body?;
    let id = ParticipantId(id);
    role_change(state.store.set_role(plan.clone(), id, body.role).await?)?;
    state.sync.regrant(id, Some(body.role)).await?;
    Ok(Json(state.store.participants(plan).await?))
}

/// `DELETE /api/plans/{plan}/participants/{id}`: an owner revokes someone's token; their
/// open connections stop syncing the plan at once.
pub async fn revoke_participant(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((plan, id)): Path<(String, i64)>,
) -> Result<Json<Vec<Participant>>, AppError> {
    member(&state, &headers, &plan, Role::Owner).await?;
    let id = ParticipantId(id);
    let outcome = state
        .store
        .revoke_participant(plan.clone(), id, crate::now_ms())
        .await?;
    role_change(outcome)?;
    state.sync.regrant(id, None).await?;
    Ok(Json(state.store.participants(plan).await?))
}

/// Body of `POST /api/plans/{plan}/servers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollServer {
    /// What the server is called ("Workshop laptop").
    pub name: String,
    /// Its role: editor (the default) or viewer.
    #[serde(default = "editor")]
    pub role: Role,
}

fn editor() -> Role {
    Role::Editor
}

/// `POST /api/plans/{plan}/servers`: an owner enrolls a server that will relay to this one
/// (a participant of kind "server"); the answer carries its token, shown once.
pub async fn enroll_server(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    body: Result<Json<EnrollServer>, axum::extract::rejection::JsonRejection>,
) -> Result<(axum::http::StatusCode, Json<serde_json::Value>), AppError> {
    member(&state, &headers, &plan, Role::Owner).await?;
    let Json(body) = body.map_err(|e| {
        AppError::BadRequest(format!(
            "send {{\"name\": \"Workshop laptop\", \"role\": \"editor\"}}: {e}"
        ))
    })?;
    let (participant, token) = crate::access::enroll(&state.store, plan, &body.name, body.role)
        .await
        .map_err(|e| match e {
            crate::access::EnrollError::Storage(s) => AppError::from(s),
            e => AppError::BadRequest(e.to_string()),
        })?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(serde_json::json!({ "participant": participant, "token": token })),
    ))
}
