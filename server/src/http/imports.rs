//! Imports: a plan from a JSON or automerge file, and an action tracker spreadsheet.

use super::exports::{current_period, parse_period};
use super::{any_owner, doc_id, document, member, off_runtime, read_at, AppError, Membership};
use crate::access::Role;
use crate::export::{self};
use crate::spreadsheet::read_table;
use crate::sync::PlanKind;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
pub use plansync_shared::api::{TrackerPreview, TrackerQuery};
use plansync_shared::automerge::AutoCommit;
use plansync_shared::{guess_mapping, plan_import, Mapping, PlanDoc, TrackerField};

/// `POST /api/plans/import`: a new plan from a JSON export or a raw automerge file (by the
/// first bytes). Only an owner of a plan on this server may start one, as for new plans.
pub async fn import_plan(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Membership>), AppError> {
    let owner = any_owner(&state, &headers).await?;
    let _timer = crate::metrics::Timer::new(&crate::metrics::metrics().import_seconds);
    let document = off_runtime(move || document_from_file(&body))
        .await?
        .map_err(AppError::BadRequest)?;
    let (plan, participant, token) =
        super::create_plan_for(&state, PlanKind::Import(Box::new(document)), owner).await?;
    Ok((
        StatusCode::CREATED,
        Json(Membership {
            plan,
            participant,
            token,
        }),
    ))
}

/// A plan document from a file's bytes: JSON (our export) or automerge; the error says
/// what is wrong in words.
pub fn document_from_file(bytes: &[u8]) -> Result<AutoCommit, String> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        let plan = export::plan_from_json(bytes)?;
        let doc = PlanDoc::from_plan(&plan, &mut rand::rng())
            .map_err(|e| format!("the plan in the file cannot be built: {e}"))?;
        return Ok(doc.into_automerge());
    }
    let doc = AutoCommit::load(bytes).map_err(|_| {
        "the file is neither a Plansync JSON export nor an automerge file".to_string()
    })?;
    PlanDoc::from_automerge(doc)
        .map(PlanDoc::into_automerge)
        .map_err(|e| format!("the automerge file does not hold a Plansync plan: {e}"))
}

fn parse_mapping(s: &str) -> Result<Mapping, String> {
    let mut m = Mapping::new();
    for pair in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (field, col) = pair
            .split_once(':')
            .ok_or_else(|| format!("'{pair}' is not field:column"))?;
        let field = TrackerField::from_key(field.trim())
            .ok_or_else(|| format!("'{field}' is not a tracker field"))?;
        let col: usize = col
            .trim()
            .parse()
            .map_err(|_| format!("'{col}' is not a column number"))?;
        m.insert(field, col);
    }
    Ok(m)
}

/// `POST /api/plans/{plan}/import/tracker?format=&map=&commit=`: previews an action
/// tracker import (header, first rows, mapping, what is created, bad rows), or with
/// `commit=true` creates it all as one change; refused with nothing written while any row
/// is bad (editors and owners).
pub async fn import_tracker(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    Query(q): Query<TrackerQuery>,
    body: Bytes,
) -> Result<Json<TrackerPreview>, AppError> {
    let me = member(&state, &headers, &plan, Role::Editor).await?;
    let _timer = crate::metrics::Timer::new(&crate::metrics::metrics().import_seconds);
    let format = q.format.clone();
    let limits = state.settings.import.clone();
    let table = off_runtime(move || read_table(&format, &body, &limits))
        .await?
        .map_err(|e| {
            tracing::info!(plan = %plan, error = %e, "a tracker import was refused");
            AppError::BadRequest(e)
        })?;
    let Some((header, rows)) = table.split_first() else {
        return Err(AppError::BadRequest("the file is empty".into()));
    };
    let mapping = match &q.map {
        Some(m) if !m.trim().is_empty() => parse_mapping(m).map_err(AppError::BadRequest)?,
        _ => guess_mapping(header),
    };
    let period = parse_period(q.period.as_deref())?.unwrap_or_else(current_period);
    let mut doc = document(&state, &plan).await?;
    let now_plan = off_runtime(move || read_at(&mut doc, None)).await??;
    let mut import = plan_import(&now_plan, rows, &mapping);
    let mut imported = false;
    if q.commit {
        if !import.bad.is_empty() {
            return Err(AppError::BadRequest(format!(
                "{} rows cannot be imported, so nothing was imported: fix them or change the mapping (first: row {}, {})",
                import.bad.len(),
                import.bad[0].row,
                import.bad[0].reason
            )));
        }
        let to_import = import.clone();
        state
            .sync
            .change_plan(
                doc_id(&plan)?,
                me.id,
                Some(format!(
                    "imported {} actions from an action tracker",
                    import.rows.len()
                )),
                move |p| p.import_rows(&mut rand::rng(), &to_import, period),
            )
            .await?;
        imported = true;
    }
    let (rows_total, bad_total) = (rows.len(), import.bad.len());
    import.rows.truncate(20);
    import.bad.truncate(50);
    Ok(Json(TrackerPreview {
        header: header.clone(),
        first_rows: rows.iter().take(10).cloned().collect(),
        rows_total,
        bad_total,
        mapping,
        fields: TrackerField::ALL
            .iter()
            .map(|f| (*f, f.label().to_string()))
            .collect(),
        import,
        imported,
    }))
}
