//! The HTTP API, one module per resource: plans (and joining), participants,
//! invitations, history, snapshots (versions, comparison, restore), exports and imports.
//! Every request but `/health` and `/api/join` carries a participant token
//! (`Authorization: Bearer TOKEN`; several, comma-separated, for the list of plans). Reads
//! need a viewer's token, changes an editor's or an owner's. Errors are [`AppError`]s.

mod exports;
mod history;
mod imports;
mod invitations;
mod participants;
mod plans;
mod prometheus;
mod publications;
mod relay;
mod signin;
mod signoffs;
mod snapshots;

pub use exports::*;
pub use history::*;
pub use imports::*;
pub use invitations::*;
pub use participants::*;
pub use plans::*;
pub use prometheus::*;
pub use publications::*;
pub use relay::*;
pub use signin::*;
pub use signoffs::*;
pub use snapshots::*;

use crate::access::{Participant, Role};
use crate::history::{parse_heads, Snapshot};
use crate::sync::ServiceError;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use plansync_shared::api::{ErrorBody, Health, Readiness};
use plansync_shared::automerge::AutoCommit;
use plansync_shared::{read_plan, DocumentId, Plan};

/// An error answered to an HTTP client: a plain message for the user, details in the log.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request was wrong; the message says how to put it right.
    #[error("{0}")]
    BadRequest(String),
    /// No valid participant token came with the request.
    #[error("{0}")]
    Unauthorized(String),
    /// The participant's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// No such participant or invitation in this plan.
    #[error("{0}")]
    NotFound(String),
    /// The change would leave the plan in a state it must not be in.
    #[error("{0}")]
    Conflict(String),
    /// The request body is over the limit.
    #[error("{0}")]
    TooLarge(String),
    /// Too many attempts: try again after this many seconds.
    #[error("{0}")]
    TooMany(String, u64),
    /// Something failed on the server.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        AppError::Service(e.into())
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::TooLarge("the request body is over the limit of 64 KB".into());
        }
        AppError::BadRequest(format!("the request body is not valid: {}", r.body_text()))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            AppError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m.clone()),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            AppError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            AppError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone()),
            AppError::TooMany(m, secs) => {
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(ErrorBody { error: m.clone() }),
                )
                    .into_response();
                r.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, (*secs).into());
                return r;
            }
            AppError::Service(e) => {
                tracing::error!(error = %e, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "The server could not do that; nothing was changed. The server's log has the details.".to_string())
            }
        };
        (status, Json(ErrorBody { error: message })).into_response()
    }
}

/// What a join with a code that does not open a plan is told, whatever the reason.
pub const WRONG_CODE: &str = "that code does not open a plan: it may be mistyped, expired or used up. Check it with the person who invited you, or ask an owner of the plan for a new invitation";

/// `GET /health`
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// `GET /ready`: 200 when this node can serve (its database answers, with the schema it
/// knows), else 503 with why, for a load balancer to send people elsewhere meanwhile.
pub async fn ready(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (StatusCode, Json<Readiness>) {
    let reason = match state.store.schema().await {
        Ok((have, know)) if have == know => None,
        Ok((have, know)) => Some(format!(
            "the database's schema is version {have} and this server knows version {know}: run the same Plansync release on every node"
        )),
        Err(e) => Some(format!("the database does not answer: {e}")),
    };
    let status = if reason.is_none() {
        StatusCode::OK
    } else {
        tracing::warn!(reason = reason.as_deref().unwrap_or_default(), "not ready");
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            ready: reason.is_none(),
            reason,
        }),
    )
}

/// The tokens a request carries: `Authorization: Bearer A[,B...]`.
pub fn request_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(axum::http::header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.strip_prefix("Bearer "))
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .take(64)
        .collect()
}

const NO_TOKEN: &str = "This needs a participant's access: open the invitation link an owner of the plan gave you, or ask them for one. If you signed in with your agency's account, your sign-in has ended: sign in again.";

/// The participants the request's tokens belong to; at least one, or 401.
async fn callers(state: &AppState, headers: &HeaderMap) -> Result<Vec<Participant>, AppError> {
    let found = crate::membership::authenticate(&state.store, request_tokens(headers)).await?;
    if found.is_empty() {
        return Err(AppError::Unauthorized(NO_TOKEN.into()));
    }
    Ok(found)
}

/// The caller as an owner of some plan on this server: only owners may start plans (new,
/// demo or imported).
pub(crate) async fn any_owner(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Participant, AppError> {
    callers(state, headers)
        .await?
        .into_iter()
        .find(|p| p.role == Role::Owner)
        .ok_or_else(|| {
            AppError::Forbidden(
                "Only an owner of a plan on this server can start a new plan.".into(),
            )
        })
}

/// The caller's participant in `plan`, at least `min` in role.
pub(crate) async fn member(
    state: &AppState,
    headers: &HeaderMap,
    plan: &str,
    min: Role,
) -> Result<Participant, AppError> {
    let me = callers(state, headers)
        .await?
        .into_iter()
        .find(|p| p.plan == plan)
        .ok_or_else(|| AppError::NotFound("You are not a participant of that plan, or it does not exist: ask an owner of the plan for an invitation.".into()))?;
    let enough = match min {
        Role::Viewer => true,
        Role::Editor => me.role != Role::Viewer,
        Role::Owner => me.role == Role::Owner,
    };
    if !enough {
        return Err(AppError::Forbidden(format!(
            "Only a plan's {}s can do that; you are a {}.",
            min.as_str(),
            me.role.as_str()
        )));
    }
    Ok(me)
}

/// The `Host` the request was sent to.
pub(crate) fn request_host(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
}

/// Imports may be this large (a plan's JSON or automerge file, a tracker spreadsheet).
pub const MAX_IMPORT_BYTES: usize = 32 << 20;

/// Runs heavy work (automerge, spreadsheets) on a blocking thread, off the async runtime.
async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Service(ServiceError::Io(e.to_string())))
}

fn doc_id(plan: &str) -> Result<DocumentId, AppError> {
    plan.parse()
        .map_err(|_| AppError::NotFound("There is no such plan on this server.".into()))
}

/// The server's copy of a plan's document.
async fn document(state: &AppState, plan: &str) -> Result<AutoCommit, AppError> {
    state
        .sync
        .document(doc_id(plan)?)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such plan on this server.".into()))
}

async fn snapshot(state: &AppState, plan: &str, id: i64) -> Result<Snapshot, AppError> {
    state
        .store
        .snapshot(plan.to_string(), id)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "This plan has no snapshot {id}: pick one from the plan's list of snapshots."
            ))
        })
}

/// The snapshot a query names, if it names one.
async fn named(
    state: &AppState,
    plan: &str,
    id: Option<i64>,
) -> Result<Option<Snapshot>, AppError> {
    match id {
        Some(id) => Ok(Some(snapshot(state, plan, id).await?)),
        None => Ok(None),
    }
}

/// The document as it was at a snapshot.
fn version_at(doc: &mut AutoCommit, snap: &Snapshot) -> Result<AutoCommit, AppError> {
    let heads = parse_heads(&snap.heads)
        .ok_or_else(|| AppError::Conflict("the snapshot's record is damaged".into()))?;
    doc.fork_at(&heads)
        .map_err(|e| AppError::Service(ServiceError::Plan(plansync_shared::Error::from(e))))
}

/// The plan as it is (`None`) or was at a snapshot.
fn read_at(doc: &mut AutoCommit, snap: Option<&Snapshot>) -> Result<Plan, AppError> {
    let plan = match snap {
        None => read_plan(doc),
        Some(s) => read_plan(&version_at(doc, s)?),
    };
    plan.map_err(|e| AppError::Service(ServiceError::Plan(e)))
}
