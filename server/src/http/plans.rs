//! Plans: the caller's list, starting one, and joining one with an invitation code.

use super::{any_owner, callers, AppError, WRONG_CODE};
use crate::access::{normalize_code, JoinRefused, Participant, Role};
use crate::store::JoinError;
use crate::store::PlanRow;
use crate::sync::PlanKind;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
pub use plansync_shared::api::{CreatePlan, Join, Membership, MyPlan};

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

/// Creates a plan whose first owner is a new participant with the name and agency of
/// `owner` (who started it); returns the plan, the owner and the owner's token.
pub(crate) async fn create_plan_for(
    state: &AppState,
    kind: PlanKind,
    owner: Participant,
) -> Result<(PlanRow, Participant, String), AppError> {
    let plan = state.sync.create_plan(kind).await?;
    let (participant, token) = crate::membership::add_with_token(
        &state.store,
        plan.id.clone(),
        owner.name,
        owner.agency,
        Role::Owner,
        crate::access::ParticipantKind::Person,
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
    crate::ClientAddr(ip): crate::ClientAddr,
    body: Result<Json<Join>, JsonRejection>,
) -> Result<(StatusCode, Json<Membership>), AppError> {
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
    let (participant, token) =
        match crate::membership::redeem(&state.store, code, name, agency).await {
            Ok(joined) => joined,
            Err(JoinError::Storage(e)) => return Err(e.into()),
            Err(JoinError::Refused(e @ JoinRefused::SignInRequired)) => {
                return Err(AppError::Forbidden(e.to_string()))
            }
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
