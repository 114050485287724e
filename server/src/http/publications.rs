//! Publishing a Board pack: an owner publishes a period's pack at a public address (no
//! sign-in) that serves exactly the files made then, never changing afterwards, for the
//! council's website; unpublishing removes it. The address is an unguessable id; nothing
//! else of the plan is reachable from it.

use super::exports::{current_period, parse_period, ExportJob};
use super::{document, member, off_runtime, sign_off_views, AppError};
use crate::access::Role;
use crate::store::Publication;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use plansync_shared::{Publish, Published};
use rand::Rng;

fn published(p: Publication) -> Published {
    Published {
        url: format!("/published/{}", p.id),
        pdf: format!("/published/{}/pack.pdf", p.id),
        id: p.id,
        period: p.period,
        title: p.title,
        published_ms: p.published_ms,
    }
}

/// A public id: 128 random bits in lower-case hex.
fn public_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `POST /api/plans/{plan}/publications`: an owner publishes the period's Board pack (made
/// now, kept as made) and a snapshot records the version published.
pub async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    body: Result<Json<Publish>, JsonRejection>,
) -> Result<(StatusCode, Json<Published>), AppError> {
    let me = member(&state, &headers, &plan, Role::Owner).await?;
    let Json(body) = body?;
    let period = parse_period(body.period.as_deref())?.unwrap_or_else(current_period);
    let mut doc = document(&state, &plan).await?;
    let heads = doc.get_heads();
    let mut html = ExportJob::prepare("pack.html", &mut doc, None, None, None, Some(period))?;
    html.options.sign_offs = sign_off_views(&state, &plan, doc.clone()).await?;
    let title = format!("Board pack: {}, {period}", html.plan.title);
    let (html, pdf) = off_runtime(move || {
        let mut page = Vec::new();
        html.write(&mut page)?;
        let mut pdf = Vec::new();
        let pdf_job = ExportJob {
            export: crate::export::Export::parse("pack.pdf")?,
            ..html
        };
        pdf_job.write(&mut pdf)?;
        Ok::<_, crate::export::ExportError>((page, pdf))
    })
    .await?
    .map_err(|e| AppError::Service(crate::sync::ServiceError::Io(e.to_string())))?;
    let publication = Publication {
        id: public_id(),
        plan: plan.clone(),
        period: period.key(),
        title,
        published_ms: crate::now_ms(),
    };
    state
        .store
        .add_publication(publication.clone(), html, pdf)
        .await?;
    state
        .store
        .add_snapshot(
            plan,
            format!("Board pack published: {period}"),
            heads,
            Some(me.id),
            publication.published_ms,
        )
        .await?;
    tracing::info!(id = %publication.id, period = %publication.period, "published a Board pack");
    Ok((StatusCode::CREATED, Json(published(publication))))
}

/// `GET /api/plans/{plan}/publications`: the plan's published packs, newest first.
pub async fn list_publications(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<Vec<Published>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    let all = state.store.publications(plan).await?;
    Ok(Json(all.into_iter().map(published).collect()))
}

/// `DELETE /api/plans/{plan}/publications/{id}`: an owner unpublishes; the public address
/// answers 404 from then on.
pub async fn unpublish(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((plan, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    member(&state, &headers, &plan, Role::Owner).await?;
    if state.store.remove_publication(plan, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(
            "This plan has no such published pack.".into(),
        ))
    }
}

const NOT_PUBLISHED: &str = "Nothing is published at this address.";

/// A published file, public: exactly the bytes made when it was published.
async fn public_file(state: &AppState, id: String, pdf: bool) -> Result<Response, AppError> {
    // Ids are 32 hex digits; anything else is not looked up at all.
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound(NOT_PUBLISHED.into()));
    }
    let Some(bytes) = state.store.published_file(id, pdf).await? else {
        return Err(AppError::NotFound(NOT_PUBLISHED.into()));
    };
    let content_type = if pdf {
        "application/pdf"
    } else {
        "text/html; charset=utf-8"
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, crate::headers::PAPER_CSP),
            // It never changes; but it may be unpublished, so caches ask again after a day.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /published/{id}`: a published pack's page, for anyone.
pub async fn published_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    public_file(&state, id, false).await
}

/// `GET /published/{id}/pack.pdf`: a published pack's PDF, for anyone.
pub async fn published_pdf(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    public_file(&state, id, true).await
}
