//! The HTTP API: plans, joining, participants, invitations, health. Every request but
//! `/health` and `/api/join` carries a participant token (`Authorization: Bearer TOKEN`;
//! several, comma-separated, for the list of plans). Errors are [`AppError`]s.

use crate::access::{normalize_code, Invitation, JoinError, Participant, ParticipantId, Role};
use crate::store::{PlanRow, RoleChange};
use crate::sync::{PlanKind, ServiceError};
use crate::AppState;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

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
                    Json(serde_json::json!({ "error": m })),
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
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

/// What a join with a code that does not open a plan is told, whatever the reason.
pub const WRONG_CODE: &str = "that code does not open a plan: it may be mistyped, expired or used up. Check it with the person who invited you, or ask an owner of the plan for a new invitation";

/// `GET /health`
pub async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
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

const NO_TOKEN: &str = "This needs a participant's access: open the invitation link an owner of the plan gave you, or ask them for one.";

/// The participants the request's tokens belong to; at least one, or 401.
async fn callers(state: &AppState, headers: &HeaderMap) -> Result<Vec<Participant>, AppError> {
    let found = crate::access::authenticate(&state.store, request_tokens(headers)).await?;
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

/// A plan as one participant sees it in the list.
#[derive(Debug, Serialize)]
pub struct MyPlan {
    /// The plan.
    #[serde(flatten)]
    pub plan: PlanRow,
    /// The caller's role in it.
    pub role: Role,
    /// The caller as a participant of it.
    pub participant: Participant,
}

/// `GET /api/plans`: the plans the request's tokens belong to.
pub async fn list_plans(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<MyPlan>>, AppError> {
    let me = callers(&state, &headers).await?;
    let plans = state.store.plans().await?;
    Ok(Json(
        plans
            .into_iter()
            .filter_map(|plan| {
                let p = me.iter().find(|p| p.plan == plan.id)?.clone();
                Some(MyPlan {
                    plan,
                    role: p.role,
                    participant: p,
                })
            })
            .collect(),
    ))
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

/// What joining or creating a plan gives: the plan, the new participant and their token
/// (shown once; the server keeps only its hash).
#[derive(Debug, Serialize)]
pub struct Membership {
    /// The plan.
    pub plan: PlanRow,
    /// The participant.
    pub participant: Participant,
    /// Their token.
    pub token: String,
}

/// Creates a plan whose first owner is a new participant with the name and agency of
/// `owner` (who started it); returns the plan, the owner and the owner's token.
pub(crate) async fn create_plan_for(
    state: &AppState,
    kind: PlanKind,
    owner: Participant,
) -> Result<(PlanRow, Participant, String), AppError> {
    let plan = state.sync.create_plan(kind).await?;
    let (participant, token) = crate::access::add_with_token(
        &state.store,
        plan.id.clone(),
        owner.name,
        owner.agency,
        Role::Owner,
    )
    .await?;
    Ok((plan, participant, token))
}

/// `POST /api/plans`: an owner of any plan creates an empty plan (`{"title": ...}`) or the
/// demo plan (`{"demo": true}`), and becomes its first owner.
pub async fn create_plan(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<CreatePlan>, JsonRejection>,
) -> Result<(StatusCode, Json<Membership>), AppError> {
    let owner = any_owner(&state, &headers).await?;
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
    let (plan, participant, token) = create_plan_for(&state, kind, owner).await?;
    Ok((
        StatusCode::CREATED,
        Json(Membership {
            plan,
            participant,
            token,
        }),
    ))
}

/// Body of `POST /api/join`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// The invitation code, as typed.
    pub code: String,
    /// The person's name.
    pub name: String,
    /// Their agency.
    pub agency: String,
}

fn checked_text(what: &str, value: &str) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 120 {
        return Err(AppError::BadRequest(format!(
            "give your {what} (1 to 120 characters)"
        )));
    }
    Ok(v.to_string())
}

/// `POST /api/join`: exchanges an invitation code for a participant token.
pub async fn join(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Json<Join>, JsonRejection>,
) -> Result<(StatusCode, Json<Membership>), AppError> {
    let ip = peer.map(|Extension(ConnectInfo(a))| a.ip());
    let now = std::time::Instant::now();
    let throttled = state
        .join_throttle
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .check(ip, now);
    if let Err(t) = throttled {
        let minutes = t.retry_after_secs.div_ceil(60);
        let message = if t.everyone {
            format!("too many wrong invitation codes have been tried on this server: try again in {minutes} minutes, or ask an owner of the plan for a link")
        } else {
            format!("too many wrong invitation codes from your device: try again in {minutes} minutes, or ask an owner of the plan for a link")
        };
        return Err(AppError::TooMany(message, t.retry_after_secs));
    }
    let Json(body) = body?;
    let wrong = |state: &AppState| {
        let n = state
            .join_throttle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .wrong(ip, now);
        let addr = ip.map(|i| i.to_string()).unwrap_or_default();
        tracing::warn!(address = %addr, wrong_codes_in_window = n, "a join with a wrong, expired or used-up invitation code was refused");
        // One answer for every way a code can be wrong, so guessing learns nothing.
        AppError::BadRequest(WRONG_CODE.into())
    };
    let Some(code) = normalize_code(&body.code) else {
        return Err(wrong(&state));
    };
    let name = checked_text("name", &body.name)?;
    let agency = checked_text("agency", &body.agency)?;
    let (participant, token) = match crate::access::redeem(&state.store, code, name, agency).await {
        Ok(joined) => joined,
        Err(JoinError::Storage(e)) => return Err(e.into()),
        Err(_) => return Err(wrong(&state)),
    };
    let plan = state
        .store
        .plans()
        .await?
        .into_iter()
        .find(|p| p.id == participant.plan)
        .ok_or_else(|| {
            AppError::NotFound("The plan of that invitation no longer exists.".into())
        })?;
    tracing::info!(participant = participant.id.0, plan = %plan.id, role = participant.role.as_str(), "a participant joined");
    Ok((
        StatusCode::CREATED,
        Json(Membership {
            plan,
            participant,
            token,
        }),
    ))
}

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

/// An invitation as the app shows it: with its link and a QR code of the link.
#[derive(Debug, Serialize)]
pub struct InvitationView {
    /// The invitation.
    #[serde(flatten)]
    pub invitation: Invitation,
    /// The link that opens the app on the join page with the code filled in.
    pub link: String,
    /// The link as a QR code, SVG.
    pub qr_svg: String,
}

/// The link a person opens to join with `code`, on the server the request reached.
pub fn join_link(base: &str, code: &str) -> String {
    format!("{}/#/join/{code}", base.trim_end_matches('/'))
}

/// An SVG QR code of `text`.
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// The `Host` the request was sent to.
pub(crate) fn request_host(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
}

fn view(state: &AppState, headers: &HeaderMap, invitation: Invitation) -> InvitationView {
    let link = join_link(&state.public_url(headers), &invitation.code);
    InvitationView {
        qr_svg: qr_svg(&link),
        link,
        invitation,
    }
}

/// `GET /api/plans/{plan}/invitations`: an owner lists the invitations still usable.
pub async fn list_invitations(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<Vec<InvitationView>>, AppError> {
    member(&state, &headers, &plan, Role::Owner).await?;
    let list = state.store.invitations(plan, crate::now_ms()).await?;
    Ok(Json(
        list.into_iter()
            .map(|i| view(&state, &headers, i))
            .collect(),
    ))
}

/// Body of `POST /api/plans/{plan}/invitations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    /// The role it gives.
    pub role: Role,
    /// Hours until it expires (1 to 2,160, 90 days).
    pub expires_hours: i64,
    /// How many people may join with it (1 to 500).
    pub uses: i64,
}

/// `POST /api/plans/{plan}/invitations`: an owner creates an invitation.
pub async fn create_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    body: Result<Json<Invite>, JsonRejection>,
) -> Result<(StatusCode, Json<InvitationView>), AppError> {
    member(&state, &headers, &plan, Role::Owner).await?;
    let Json(body) = body?;
    if !(1..=2160).contains(&body.expires_hours) {
        return Err(AppError::BadRequest(
            "an invitation lasts 1 to 2,160 hours (90 days)".into(),
        ));
    }
    if !(1..=500).contains(&body.uses) {
        return Err(AppError::BadRequest(
            "an invitation can be used 1 to 500 times".into(),
        ));
    }
    let expires = crate::now_ms() + body.expires_hours * 3_600_000;
    let inv = crate::access::invite(&state.store, plan, body.role, expires, body.uses).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &headers, inv))))
}

/// `DELETE /api/plans/{plan}/invitations/{id}`: an owner withdraws an invitation.
pub async fn revoke_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((plan, id)): Path<(String, i64)>,
) -> Result<StatusCode, AppError> {
    member(&state, &headers, &plan, Role::Owner).await?;
    if !state
        .store
        .revoke_invitation(plan, id, crate::now_ms())
        .await?
    {
        return Err(AppError::NotFound(
            "There is no such invitation in this plan.".into(),
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}
