//! History, snapshots, comparison, restore, exports and imports over HTTP: the committee
//! papers. Reads need a viewer's token, changes an editor's; every token comes in the
//! `Authorization` header.

use crate::access::Role;
use crate::api::{any_owner, member, AppError, Membership};
use crate::export::{self, Export, Format, Options, EXPORTS};
use crate::history::{parse_heads, Snapshot};
use crate::spreadsheet::read_table;
use crate::sync::{PlanKind, ServiceError};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use plansync_shared::automerge::AutoCommit;
use plansync_shared::{
    compare, guess_mapping, history, plan_import, read_plan, restore_item, BoardId, Difference,
    DocumentId, ImportPlan, ItemKind, Mapping, Plan, PlanDoc, ReportingPeriod, TrackerField,
};
use serde::{Deserialize, Serialize};
use std::io::Write;

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

/// The reporting period now, by the server's clock.
pub fn current_period() -> ReportingPeriod {
    ReportingPeriod::containing(time::OffsetDateTime::now_utc().date())
}

/// The time now, for papers: "2026-11-23 15:04 UTC".
pub fn made_now() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::now_utc()
        .format(format)
        .unwrap_or_default()
}

// ---------------------------------------------------------------- history

/// Filters of `GET /api/plans/{plan}/history`.
#[derive(Debug, Deserialize, Default)]
pub struct HistoryQuery {
    /// Only changes by this participant (name, case-insensitive).
    pub person: Option<String>,
    /// Only changes by people of this agency.
    pub agency: Option<String>,
    /// Only changes touching this theme (id).
    pub theme: Option<String>,
    /// Only changes on or after this date (YYYY-MM-DD).
    pub from: Option<String>,
    /// Only changes on or before this date (YYYY-MM-DD).
    pub to: Option<String>,
}

/// One history entry with who sent it, as the server recorded.
#[derive(Debug, Serialize)]
pub struct Attributed {
    /// The entry.
    #[serde(flatten)]
    pub entry: plansync_shared::HistoryEntry,
    /// Who sent it (participant name), if the server knows.
    pub name: Option<String>,
    /// Their agency.
    pub agency: Option<String>,
    /// When: the server's receipt time, or the editor's clock (ms since 1970).
    pub time_ms: i64,
}

/// The date (YYYY-MM-DD, UTC) of a time in ms since 1970.
fn date_of_ms(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// `GET /api/plans/{plan}/history`: every change, newest first, with who and when.
pub async fn plan_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<Attributed>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    let mut doc = document(&state, &plan).await?;
    let authors = state.store.authors(plan.clone()).await?;
    let entries = off_runtime(move || history(&mut doc))
        .await?
        .map_err(|e| AppError::Service(ServiceError::Plan(e)))?;
    let lower = |s: &Option<String>| s.as_ref().map(|s| s.trim().to_lowercase());
    let (person, agency) = (lower(&q.person), lower(&q.agency));
    let out = entries
        .into_iter()
        .map(|entry| {
            let who = entry.hashes.iter().find_map(|h| authors.get(h));
            let time_ms = entry
                .hashes
                .iter()
                .filter_map(|h| authors.get(h))
                .map(|a| a.received_ms)
                .max()
                .unwrap_or(entry.time * 1000);
            Attributed {
                name: who.and_then(|a| a.name.clone()),
                agency: who.and_then(|a| a.agency.clone()),
                time_ms,
                entry,
            }
        })
        .filter(|a| {
            person.as_ref().is_none_or(|p| {
                a.name
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().contains(p))
            })
        })
        .filter(|a| {
            agency.as_ref().is_none_or(|p| {
                a.agency
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().contains(p))
            })
        })
        .filter(|a| q.theme.as_ref().is_none_or(|t| a.entry.themes.contains(t)))
        .filter(|a| {
            let d = date_of_ms(a.time_ms);
            q.from.as_ref().is_none_or(|f| d >= *f) && q.to.as_ref().is_none_or(|t| d <= *t)
        })
        .collect();
    Ok(Json(out))
}

/// `GET /api/plans/{plan}/authors`: who sent each change and when, by change hash (what
/// the app adds to the history it reads from its own copy).
pub async fn change_authors(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<std::collections::HashMap<String, crate::history::ChangeAuthor>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    Ok(Json(state.store.authors(plan).await?))
}

// ---------------------------------------------------------------- snapshots

/// Body of `POST /api/plans/{plan}/snapshots`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSnapshot {
    /// E.g. "Draft for Panel, January".
    pub name: String,
    /// The heads to name (the app sends its own); the server's heads if absent.
    pub heads: Option<Vec<String>>,
}

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

/// Which version: `?at=SNAPSHOT_ID` (absent: now).
#[derive(Debug, Deserialize, Default)]
pub struct VersionQuery {
    /// Snapshot id.
    pub at: Option<i64>,
    /// For comparisons: the older snapshot.
    pub from: Option<i64>,
    /// The board of an exception report.
    pub board: Option<String>,
    /// The reporting period (`2026-Q2`); now's if absent.
    pub period: Option<String>,
}

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

/// A comparison, as the API answers it.
#[derive(Debug, Serialize)]
pub struct Comparison {
    /// The older version's name.
    pub from: String,
    /// The newer version's name ("now" or a snapshot's).
    pub to: String,
    /// Every difference, each with a sentence.
    pub differences: Vec<Described>,
}

/// A difference and its sentence.
#[derive(Debug, Serialize)]
pub struct Described {
    /// The difference.
    #[serde(flatten)]
    pub difference: Difference,
    /// In words.
    pub sentence: String,
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

/// Body of `POST /api/plans/{plan}/restore`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restore {
    /// The snapshot to go back to.
    pub snapshot: i64,
    /// Only this item (a theme, objective or action, with what is under it); the whole
    /// plan if absent.
    pub item: Option<RestoreItem>,
}

/// One item to restore.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreItem {
    /// theme, objective or action.
    pub kind: ItemKind,
    /// Its id.
    pub id: String,
}

/// `POST /api/plans/{plan}/restore`: makes the plan (or one item) read as at a snapshot,
/// as a new change on top of history (editors and owners).
pub async fn restore(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    body: Result<Json<Restore>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, AppError> {
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
        Ok(()) => Ok(Json(serde_json::json!({ "restored": snap.name }))),
        Err(ServiceError::Plan(e)) => Err(AppError::BadRequest(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- exports

/// An export as listed for the app.
#[derive(Debug, Serialize)]
pub struct ExportLink {
    /// File name, e.g. `plan.docx`.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
}

/// `GET /api/plans/{plan}/exports`: the exports there are.
pub async fn list_exports(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<Vec<ExportLink>>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    Ok(Json(
        EXPORTS
            .iter()
            .map(|(name, _, _, description)| ExportLink { name, description })
            .collect(),
    ))
}

/// Sends what a blocking writer writes as the chunks of a response body.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))
    }
}

/// Everything an export needs, read from the document at the asked version.
pub struct ExportJob {
    /// Which export.
    pub export: Export,
    /// The plan at that version.
    pub plan: Plan,
    /// The document's bytes at that version (the automerge file only).
    pub saved: Option<Vec<u8>>,
    /// Period, board, labels.
    pub options: Options,
}

impl ExportJob {
    /// Prepares an export of `doc` at `snap` (and, for comparisons, from `older`).
    pub fn prepare(
        name: &str,
        doc: &mut AutoCommit,
        snap: Option<&Snapshot>,
        older: Option<&Snapshot>,
        board: Option<String>,
        period: Option<ReportingPeriod>,
    ) -> Result<Self, AppError> {
        let export = Export::parse(name).map_err(|e| AppError::NotFound(e.to_string()))?;
        let plan = read_at(doc, snap)?;
        let older = match (export.report, older) {
            (Some(export::Report::Compare), None) => {
                return Err(AppError::BadRequest(
                    "a comparison needs the snapshot to compare from: ?from=SNAPSHOT_ID".into(),
                ))
            }
            (_, Some(o)) => Some((read_at(doc, Some(o))?, o.name.clone())),
            (_, None) => None,
        };
        let board = board.filter(|b| !b.is_empty()).map(BoardId::new);
        if let Some(b) = &board {
            if !plan.boards.iter().any(|x| &x.id == b) {
                return Err(AppError::BadRequest(
                    "that board is not in this plan: pick one from the plan's boards".into(),
                ));
            }
        }
        Ok(Self {
            saved: match (export.format, snap) {
                (Format::Automerge, None) => Some(doc.save()),
                (Format::Automerge, Some(s)) => Some(version_at(doc, s)?.save()),
                _ => None,
            },
            options: Options {
                period: period.unwrap_or_else(current_period),
                board,
                version: snap.map_or("now".into(), |s| format!("snapshot \"{}\"", s.name)),
                older,
                made: made_now(),
            },
            export,
            plan,
        })
    }

    /// Writes the export.
    pub fn write(&self, out: &mut dyn Write) -> Result<(), export::ExportError> {
        export::write(
            self.export,
            &self.plan,
            self.saved.as_deref(),
            &self.options,
            out,
        )
    }
}

fn parse_period(p: Option<&str>) -> Result<Option<ReportingPeriod>, AppError> {
    p.filter(|p| !p.is_empty())
        .map(ReportingPeriod::from_key)
        .transpose()
        .map_err(|e| AppError::BadRequest(e.to_string()))
}

/// `GET /api/plans/{plan}/exports/{name}?at=&from=&board=&period=`: one export, streamed as
/// it is written. The token comes in the `Authorization` header only, never in the address,
/// so no link to a paper opens the plan later (the app fetches the file and saves it).
pub async fn export_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((plan, name)): Path<(String, String)>,
    Query(q): Query<VersionQuery>,
) -> Result<Response, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    let mut doc = document(&state, &plan).await?;
    let snap = named(&state, &plan, q.at).await?;
    let older = named(&state, &plan, q.from).await?;
    let period = parse_period(q.period.as_deref())?;
    let job = ExportJob::prepare(
        &name,
        &mut doc,
        snap.as_ref(),
        older.as_ref(),
        q.board,
        period,
    )?;
    let file_name = format!(
        "{}-{}",
        job.plan
            .title
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .trim_matches('-'),
        name
    );
    let content_type = job.export.format.content_type();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::new(),
        };
        if let Err(e) = job.write(&mut w).and_then(|_| Ok(w.flush()?)) {
            tracing::error!(error = %e, "an export failed while streaming");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let disposition = if content_type.starts_with("text/html") {
        format!("inline; filename=\"{file_name}\"")
    } else {
        format!("attachment; filename=\"{file_name}\"")
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CONTENT_SECURITY_POLICY,
                crate::headers::PAPER_CSP.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

// ---------------------------------------------------------------- imports

/// `POST /api/plans/import`: a new plan from a JSON export or a raw automerge file (by the
/// first bytes). Only an owner of a plan on this server may start one, as for new plans.
pub async fn import_plan(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Membership>), AppError> {
    let owner = any_owner(&state, &headers).await?;
    let document = off_runtime(move || document_from_file(&body))
        .await?
        .map_err(AppError::BadRequest)?;
    let (plan, participant, token) =
        crate::api::create_plan_for(&state, PlanKind::Import(Box::new(document)), owner).await?;
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

/// Query of the tracker import.
#[derive(Debug, Deserialize)]
pub struct TrackerQuery {
    /// `csv` or `xlsx`.
    pub format: String,
    /// The column mapping, `field:column,...` (e.g. `action:2,theme:0`); guessed from the
    /// header row if absent.
    pub map: Option<String>,
    /// `true` to import; otherwise only a preview.
    #[serde(default)]
    pub commit: bool,
    /// The reporting period RAG cells are for (now's if absent).
    pub period: Option<String>,
}

/// What the tracker import answers: the header, the first rows, the mapping used and what
/// would be (or was) created.
#[derive(Debug, Serialize)]
pub struct TrackerPreview {
    /// The header row.
    pub header: Vec<String>,
    /// The first ten rows after it.
    pub first_rows: Vec<Vec<String>>,
    /// Rows in the file after the header.
    pub rows_total: usize,
    /// Rows that cannot be imported, in all (`import.bad` lists the first 50).
    pub bad_total: usize,
    /// The mapping used (field -> column).
    pub mapping: Mapping,
    /// Every field that can be mapped, with its label.
    pub fields: Vec<(TrackerField, &'static str)>,
    /// What the import does (`rows` lists the first 20 rows it reads, `bad` the first 50
    /// it cannot).
    pub import: ImportPlan,
    /// Whether it was carried out.
    pub imported: bool,
}

fn parse_mapping(s: &str) -> Result<Mapping, String> {
    let mut m = Mapping::new();
    for pair in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (field, col) = pair
            .split_once(':')
            .ok_or_else(|| format!("'{pair}' is not field:column"))?;
        let field: TrackerField =
            serde_json::from_value(serde_json::Value::String(field.trim().into()))
                .map_err(|_| format!("'{field}' is not a tracker field"))?;
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
        fields: TrackerField::ALL.iter().map(|f| (*f, f.label())).collect(),
        import,
        imported,
    }))
}
