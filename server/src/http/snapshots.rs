//! Snapshots: named versions of a plan, the plan as it was, comparisons and restores.

use super::{doc_id, document, member, named, off_runtime, read_at, snapshot, AppError};
use crate::access::Role;
use crate::history::Snapshot;
use crate::sync::ServiceError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
pub use plansync_shared::api::{
    Comparison, Described, NewSnapshot, PlanView, Restore, Restored, VersionQuery,
};
use plansync_shared::{compare, read_plan, restore_item, Plan};

/// `GET /api/plans/{plan}/snapshots`
pub async fn list_snapshots(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<Vec<Snapshot>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    Ok(Json(state.store.snapshots(plan).await?))
}

/// `POST /api/plans/{plan}/snapshots`: names the plan as it is (editors and owners).
pub async fn take_snapshot(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    body: Result<Json<NewSnapshot>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Snapshot>), AppError> {
    let me = member(&state, &headers, &plan, Role::Editor).await?;
    let Json(body) = body?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "a snapshot's name must be 1 to 200 characters, e.g. \"Draft for Panel, January\""
                .into(),
        ));
    }
    match state.sync.heads(doc_id(&plan)?, body.heads).await {
        Ok(heads) => {
            let s = state
                .store
                .add_snapshot(plan, name.to_string(), heads, Some(me.id), crate::now_ms())
                .await?;
            Ok((StatusCode::CREATED, Json(s)))
        }
        Err(ServiceError::UnknownHeads) => Err(AppError::Conflict(
            "This browser has changes the server has not received yet. Wait until it says \"Online · all changes are on the server\" and take the snapshot again.".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- versions and compare

/// `GET /api/plans/{plan}/plan?at=`: the plan as it is or was.
pub async fn plan_at(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Result<Json<Plan>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    let mut doc = document(&state, &plan).await?;
    let snap = named(&state, &plan, q.at).await?;
    Ok(Json(read_at(&mut doc, snap.as_ref())?))
}

/// `GET /api/plans/{plan}/view`: the plan as it is now with the heads it was read at, for a
/// browser's first open; gzipped for a browser that takes it (a large plan's JSON shrinks
/// about tenfold, which counts on a room's Wi-Fi).
pub async fn plan_view(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Response, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    let mut doc = document(&state, &plan).await?;
    let gzip = crate::assets::accepts_gzip(&headers);
    let (json, gzipped) = off_runtime(move || {
        let view = PlanView {
            heads: doc.get_heads().iter().map(ToString::to_string).collect(),
            plan: read_plan(&doc).map_err(|e| AppError::Service(ServiceError::Plan(e)))?,
        };
        let json = serde_json::to_vec(&view)
            .map_err(|e| AppError::Service(ServiceError::Io(e.to_string())))?;
        let gzipped = gzip.then(|| crate::compress::gzip_fast(&json)).flatten();
        Ok::<_, AppError>((json, gzipped))
    })
    .await??;
    let mut out = HeaderMap::new();
    out.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    out.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out.insert(VARY, HeaderValue::from_static("accept-encoding"));
    Ok(match gzipped {
        Some(body) => {
            out.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (out, body).into_response()
        }
        None => (out, json).into_response(),
    })
}

/// `GET /api/plans/{plan}/compare?from=SNAP[&at=SNAP]`: what changed from one version to
/// another (to now if `at` is absent).
pub async fn compare_versions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Result<Json<Comparison>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    let Some(from) = q.from else {
        return Err(AppError::BadRequest(
            "say which snapshot to compare from: ?from=SNAPSHOT_ID".into(),
        ));
    };
    let mut doc = document(&state, &plan).await?;
    let older = snapshot(&state, &plan, from).await?;
    let newer = named(&state, &plan, q.at).await?;
    let old_plan = read_at(&mut doc, Some(&older))?;
    let new_plan = read_at(&mut doc, newer.as_ref())?;
    Ok(Json(Comparison {
        from: older.name,
        to: newer.map_or("now".into(), |s| s.name),
        differences: compare(&old_plan, &new_plan)
            .into_iter()
            .map(|d| Described {
                sentence: d.describe(),
                difference: d,
            })
            .collect(),
    }))
}

/// `POST /api/plans/{plan}/restore`: makes the plan (or one item) read as at a snapshot,
/// as a new change on top of history (editors and owners).
pub async fn restore(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    body: Result<Json<Restore>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Restored>, AppError> {
    let me = member(&state, &headers, &plan, Role::Editor).await?;
    let Json(body) = body?;
    let snap = snapshot(&state, &plan, body.snapshot).await?;
    let mut doc = document(&state, &plan).await?;
    let then = read_at(&mut doc, Some(&snap))?;
    let item = body.item;
    let message = match &item {
        None => format!("restored the plan as at the snapshot \"{}\"", snap.name),
        Some(i) => format!(
            "restored {} {} as at the snapshot \"{}\"",
            i.kind.word(),
            i.id,
            snap.name
        ),
    };
    let restored = state
        .sync
        .change_plan(doc_id(&plan)?, me.id, Some(message), move |p| {
            let target = match &item {
                None => then,
                Some(i) => restore_item(&p.read()?, &then, i.kind, &i.id)?,
            };
            p.restore(&target)
        })
        .await;
    match restored {
        Ok(()) => Ok(Json(Restored {
            restored: snap.name,
        })),
        Err(ServiceError::Plan(e)) => Err(AppError::BadRequest(e.to_string())),
        Err(e) => Err(e.into()),
    }
}
