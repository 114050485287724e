//! Exports: the committee papers of a plan, streamed as they are written.

use super::{document, member, named, read_at, version_at, AppError, VersionQuery};
use crate::access::Role;
use crate::export::{self, Export, Format, Options, EXPORTS};
use crate::history::Snapshot;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
pub use plansync_shared::api::ExportLink;
use plansync_shared::automerge::AutoCommit;
use plansync_shared::{BoardId, Plan, ReportingPeriod};
use std::io::Write;

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
            .map(|(name, _, _, description)| ExportLink {
                name: name.to_string(),
                description: description.to_string(),
            })
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
                sign_offs: Vec::new(),
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

/// What a Board pack compares with when not told: the newest snapshot taken before the
/// pack's round opened (the last round's sign-offs take one each), as `(plan, label)`.
async fn last_round_version(
    state: &AppState,
    plan: &str,
    doc: &mut AutoCommit,
    job: &ExportJob,
) -> Result<Option<(Plan, String)>, AppError> {
    let Some(round) = job
        .plan
        .rounds
        .iter()
        .rfind(|r| r.period == job.options.period)
    else {
        return Ok(None);
    };
    let Ok(opened) = plansync_shared::parse_date(&round.opened) else {
        return Ok(None);
    };
    let opened_ms = opened.midnight().assume_utc().unix_timestamp() * 1000;
    let snapshots = state.store.snapshots(plan.to_string()).await?;
    let Some(last) = snapshots.into_iter().find(|s| s.created_ms < opened_ms) else {
        return Ok(None);
    };
    Ok(Some((
        read_at(doc, Some(&last))?,
        format!("snapshot \"{}\"", last.name),
    )))
}

pub(super) fn parse_period(p: Option<&str>) -> Result<Option<ReportingPeriod>, AppError> {
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
    let mut job = ExportJob::prepare(
        &name,
        &mut doc,
        snap.as_ref(),
        older.as_ref(),
        q.board,
        period,
    )?;
    if job.export.report == Some(export::Report::Pack) && older.is_none() {
        job.options.older = last_round_version(&state, &plan, &mut doc, &job).await?;
    }
    if job.export.shows_sign_offs() {
        job.options.sign_offs = super::sign_off_views(&state, &plan, doc).await?;
    }
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
    let started = std::time::Instant::now();
    let export_name = name.clone();
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::new(),
        };
        if let Err(e) = job.write(&mut w).and_then(|_| Ok(w.flush()?)) {
            tracing::error!(error = %e, "an export failed while streaming");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        } else {
            crate::metrics::metrics().exported(&export_name, started.elapsed());
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
