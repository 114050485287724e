//! Sign-off: a board's chair signs off the board's return for a reporting round. The
//! server records it for the authenticated participant (who, when, the plan's version and a
//! snapshot to compare with), after checking that they are the board's chair, linked to
//! them and confirmed by an owner, and that the round is open. Nothing in the plan document
//! counts as a sign-off, so no client can forge one by writing to the document.

use super::{document, member, off_runtime, AppError};
use crate::access::{ParticipantKind, Role};
use crate::history::mark_changed;
use crate::store::NewSignOff;
use crate::sync::ServiceError;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use plansync_shared::automerge::AutoCommit;
use plansync_shared::{read_plan, PersonLink, SignOff, SignOffRequest};

fn plan_error(e: plansync_shared::Error) -> AppError {
    AppError::Service(ServiceError::Plan(e))
}

/// A plan's sign-offs, oldest first, each marked if its return has changed since.
pub(crate) async fn sign_off_views(
    state: &AppState,
    plan: &str,
    mut doc: AutoCommit,
) -> Result<Vec<SignOff>, AppError> {
    let mut all = state.store.sign_offs(plan.to_string()).await?;
    if all.is_empty() {
        return Ok(all);
    }
    off_runtime(move || {
        let now = read_plan(&doc).map_err(plan_error)?;
        mark_changed(&mut doc, &now, &mut all);
        Ok(all)
    })
    .await?
}

/// `GET /api/plans/{plan}/sign-offs`: every sign-off, oldest first, each marked `changed`
/// when its board's return has changed since.
pub async fn list_sign_offs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<Vec<SignOff>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    let doc = document(&state, &plan).await?;
    Ok(Json(sign_off_views(&state, &plan, doc).await?))
}

/// What a sign-off records, once the rules allow it.
struct Allowed {
    heads: Vec<plansync_shared::automerge::ChangeHash>,
    board_name: String,
    chair: String,
    chair_name: String,
    period: String,
}

/// The rules: an open round, a board with a chair, and the caller linked to that chair
/// and confirmed by an owner.
fn allowed(
    doc: &mut AutoCommit,
    req: &SignOffRequest,
    me: i64,
    links: &[PersonLink],
) -> Result<Allowed, AppError> {
    let plan = read_plan(doc).map_err(plan_error)?;
    let round = plan
        .rounds
        .iter()
        .find(|r| r.id == req.round)
        .ok_or_else(|| {
            AppError::NotFound("There is no such reporting round in this plan.".into())
        })?;
    if !round.is_open() {
        return Err(AppError::Conflict(format!(
            "The round for {} is closed: a closed round is kept as it was and takes no new sign-off.",
            round.period
        )));
    }
    let board = plan
        .boards
        .iter()
        .find(|b| b.id == req.board)
        .ok_or_else(|| AppError::NotFound("There is no such board in this plan.".into()))?;
    let Some(chair) = &board.chair else {
        return Err(AppError::Conflict(format!(
            "{} has no chair in the plan: an owner names its chair first.",
            board.name
        )));
    };
    let chair_name = plan.person_name(Some(chair));
    match links
        .iter()
        .find(|l| l.participant == me && &l.person == chair)
    {
        None => Err(AppError::Forbidden(format!(
            "Only the chair of {} ({chair_name}) can sign off its return, and you are not linked to them in the plan.",
            board.name
        ))),
        Some(l) if !l.confirmed => Err(AppError::Forbidden(format!(
            "Your link to {chair_name} awaits an owner's confirmation: an owner confirms it on the People page before you can sign off."
        ))),
        Some(_) => Ok(Allowed {
            heads: doc.get_heads(),
            board_name: board.name.clone(),
            chair: chair.to_string(),
            chair_name,
            period: round.period.to_string(),
        }),
    }
}

/// `POST /api/plans/{plan}/sign-offs` (body [`SignOffRequest`]): the board's confirmed
/// chair signs off its return for an open round; a snapshot of the plan is taken with it.
pub async fn sign_off(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    body: Result<Json<SignOffRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<SignOff>), AppError> {
    let me = member(&state, &headers, &plan, Role::Editor).await?;
    if me.kind != ParticipantKind::Person {
        return Err(AppError::Forbidden(
            "A relaying server cannot sign off: the chair signs off in person.".into(),
        ));
    }
    let Json(req) = body?;
    let mut doc = document(&state, &plan).await?;
    let links = state.store.person_links(plan.clone()).await?;
    let id = me.id.0;
    let ok = {
        let req = req.clone();
        off_runtime(move || allowed(&mut doc, &req, id, &links)).await??
    };
    let now = crate::now_ms();
    let snapshot = state
        .store
        .add_snapshot(
            plan.clone(),
            format!("Signed off: {}, {}", ok.board_name, ok.period),
            ok.heads.clone(),
            Some(me.id),
            now,
        )
        .await?;
    let signed = state
        .store
        .add_sign_off(
            NewSignOff {
                plan,
                round: req.round.to_string(),
                board: req.board.to_string(),
                board_name: ok.board_name,
                participant: me.id,
                person: ok.chair,
                name: ok.chair_name,
                heads: ok.heads.iter().map(ToString::to_string).collect(),
                snapshot: Some(snapshot.id),
            },
            now,
        )
        .await?;
    let signed = SignOff {
        known: me.known(),
        ..signed
    };
    tracing::info!(participant = me.id.0, board = %signed.board, round = %signed.round, "signed off");
    Ok((StatusCode::CREATED, Json(signed)))
}
