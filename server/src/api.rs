//! The HTTP API: plans, health. Errors are [`AppError`]s.

use crate::storage::PlanRow;
use crate::sync_service::{PlanKind, ServiceError};
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// An error answered to an HTTP client: a plain message for the user, details in the log.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request was wrong; the message says how to put it right.
    #[error("{0}")]
    BadRequest(String),
    /// Something failed on the server.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        AppError::BadRequest(format!("the request body is not valid: {}", r.body_text()))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            AppError::Service(e) => {
                tracing::error!(error = %e, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "The server could not do that; nothing was changed. The server's log has the details.".to_string())
            }
        };
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

/// `GET /health`
pub async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /api/plans`: every plan on this server.
pub async fn list_plans(State(state): State<AppState>) -> Result<Json<Vec<PlanRow>>, AppError> {
    Ok(Json(state.sync.plans().await?))
}

/// Body of `POST /api/plans`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePlan {
    /// Create the demo plan.
    #[serde(default)]
    pub demo: bool,
    /// Title of an empty plan.
    pub title: Option<String>,
}

/// `POST /api/plans`: creates an empty plan (`{"title": ...}`) or the demo plan (`{"demo": true}`).
pub async fn create_plan(
    State(state): State<AppState>,
    body: Result<Json<CreatePlan>, JsonRejection>,
) -> Result<(StatusCode, Json<PlanRow>), AppError> {
    let Json(body) = body?;
    let kind = match (body.demo, body.title) {
        (true, None) => PlanKind::Demo,
        (false, Some(t)) if !t.trim().is_empty() && t.len() <= 300 => {
            PlanKind::Empty(t.trim().to_string())
        }
        (false, Some(_)) => {
            return Err(AppError::BadRequest(
                "a plan's title must be 1 to 300 characters".into(),
            ))
        }
        (true, Some(_)) => {
            return Err(AppError::BadRequest(
                "give either \"demo\": true or a \"title\", not both".into(),
            ))
        }
        (false, None) => {
            return Err(AppError::BadRequest(
                "give a \"title\" for a new plan, or \"demo\": true".into(),
            ))
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(state.sync.create_plan(kind).await?),
    ))
}
