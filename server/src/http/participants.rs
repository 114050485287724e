//! A plan's participants: who takes part, role changes and revocations (owners only).

use super::{document, member, off_runtime, AppError};
use crate::access::{LinkOutcome, NewPersonLink, Participant, ParticipantId, Role};
use crate::store::RoleChange;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use plansync_shared::api::{EnrollServer, Enrolled, SetRole};
use plansync_shared::{
    read_plan, valid_email, EmailList, LinkPerson, ParticipantEmail, PersonId, PersonLink, SetEmail,
};

/// `GET /api/plans/{plan}/participants`: who takes part (any participant may look).
pub async fn list_participants(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<Vec<Participant>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    Ok(Json(state.store.participants(plan).await?))
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

/// `POST /api/plans/{plan}/servers`: an owner enrolls a server that will relay to this one
/// (a participant of kind "server"); the answer carries its token, shown once.
pub async fn enroll_server(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    body: Result<Json<EnrollServer>, axum::extract::rejection::JsonRejection>,
) -> Result<(axum::http::StatusCode, Json<Enrolled>), AppError> {
    member(&state, &headers, &plan, Role::Owner).await?;
    let Json(body) = body.map_err(|e| {
        AppError::BadRequest(format!(
            "send {{\"name\": \"Workshop laptop\", \"role\": \"editor\"}}: {e}"
        ))
    })?;
    let (participant, token) = crate::membership::enroll(&state.store, plan, &body.name, body.role)
        .await
        .map_err(|e| match e {
            crate::membership::EnrollError::Storage(s) => AppError::from(s),
            e => AppError::BadRequest(e.to_string()),
        })?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(Enrolled { participant, token }),
    ))
}

/// `GET /api/plans/{plan}/links`: which plan people each participant is (any participant
/// may look).
pub async fn list_links(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<Vec<PersonLink>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    Ok(Json(state.store.person_links(plan).await?))
}

/// Who may change participant `id`'s links: they themselves, or an owner.
fn may_link(me: &Participant, id: ParticipantId) -> Result<(), AppError> {
    if me.id == id || me.role == Role::Owner {
        return Ok(());
    }
    Err(AppError::Forbidden(
        "Only an owner can say who someone else is in the plan; you can say who you are.".into(),
    ))
}

/// `PUT /api/plans/{plan}/participants/{id}/people/{person}` (body [`LinkPerson`], or
/// none): a participant says they are that plan person, or an owner links someone (an
/// owner's link, or an owner's own claim, is confirmed; another's claim waits for an owner).
pub async fn link_person(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((plan, id, person)): Path<(String, i64, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Vec<PersonLink>>, AppError> {
    let me = member(&state, &headers, &plan, Role::Viewer).await?;
    let id = ParticipantId(id);
    may_link(&me, id)?;
    let body: LinkPerson = if body.iter().all(u8::is_ascii_whitespace) {
        LinkPerson::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            AppError::BadRequest(format!(
                "The link could not be read ({e}): send {{\"shared\": true}} or nothing."
            ))
        })?
    };
    let owner = me.role == Role::Owner;
    if body.shared && !owner {
        return Err(AppError::Forbidden(
            "Only an owner can link one person to several participants.".into(),
        ));
    }
    let doc = document(&state, &plan).await?;
    let wanted = PersonId::new(person.clone());
    let known = off_runtime(move || read_plan(&doc).map(|p| p.people)).await?;
    let known = known.map_err(|e| AppError::Service(crate::sync::ServiceError::Plan(e)))?;
    if !known.iter().any(|p| p.id == wanted) {
        return Err(AppError::NotFound(
            "That person is not among the plan's people: pick one from the plan's list of people."
                .into(),
        ));
    }
    let link = NewPersonLink {
        plan: plan.clone(),
        participant: id,
        person,
        confirmed: owner,
        shared: body.shared,
    };
    match state.store.link_person(link, crate::now_ms()).await? {
        LinkOutcome::Linked => Ok(Json(state.store.person_links(plan).await?)),
        LinkOutcome::Taken(name) => Err(AppError::Conflict(format!(
            "That person is already linked to {name}. An owner can link them to both (shared), or remove {name}'s link first."
        ))),
        LinkOutcome::NotFound => Err(AppError::NotFound(
            "There is no such participant in this plan.".into(),
        )),
    }
}

/// `DELETE /api/plans/{plan}/participants/{id}/people/{person}`: a participant drops who
/// they said they were, or an owner removes a link.
pub async fn unlink_person(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((plan, id, person)): Path<(String, i64, String)>,
) -> Result<Json<Vec<PersonLink>>, AppError> {
    let me = member(&state, &headers, &plan, Role::Viewer).await?;
    let id = ParticipantId(id);
    may_link(&me, id)?;
    if !state.store.unlink_person(plan.clone(), id, person).await? {
        return Err(AppError::NotFound(
            "That participant is not linked to that person.".into(),
        ));
    }
    Ok(Json(state.store.person_links(plan).await?))
}

/// `GET /api/plans/{plan}/emails`: participants' email addresses, all of them for an
/// owner, and only their own for anyone else.
pub async fn list_emails(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<EmailList>, AppError> {
    let me = member(&state, &headers, &plan, Role::Viewer).await?;
    let all = state.store.emails(plan).await?;
    Ok(Json(EmailList {
        sends_reminders: state.settings.sends_reminders,
        emails: all
            .into_iter()
            .filter(|e| me.role == Role::Owner || e.participant == me.id.0)
            .collect(),
    }))
}

/// Only a participant gives their own address.
fn only_mine(me: &Participant, id: ParticipantId) -> Result<(), AppError> {
    if me.id == id {
        return Ok(());
    }
    Err(AppError::Forbidden(
        "Only a participant gives or removes their own email address.".into(),
    ))
}

/// `PUT /api/plans/{plan}/participants/{id}/email` (body [`SetEmail`]): my address for
/// reminders (checked; shown only to owners and me), and whether I want reminders.
pub async fn set_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((plan, id)): Path<(String, i64)>,
    body: Result<Json<SetEmail>, JsonRejection>,
) -> Result<Json<ParticipantEmail>, AppError> {
    let me = member(&state, &headers, &plan, Role::Viewer).await?;
    let id = ParticipantId(id);
    only_mine(&me, id)?;
    let Json(body) = body?;
    let email = valid_email(&body.email).map_err(AppError::BadRequest)?;
    if !state
        .store
        .set_email(plan, id, Some((email.clone(), body.reminders)))
        .await?
    {
        return Err(AppError::NotFound(
            "There is no such participant in this plan.".into(),
        ));
    }
    Ok(Json(ParticipantEmail {
        participant: id.0,
        email,
        reminders: body.reminders,
    }))
}

/// `DELETE /api/plans/{plan}/participants/{id}/email`: I remove my address.
pub async fn remove_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((plan, id)): Path<(String, i64)>,
) -> Result<axum::http::StatusCode, AppError> {
    let me = member(&state, &headers, &plan, Role::Viewer).await?;
    let id = ParticipantId(id);
    only_mine(&me, id)?;
    state.store.set_email(plan, id, None).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
