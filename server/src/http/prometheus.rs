//! `GET /metrics`: the server's metrics for Prometheus, behind a bearer token on the main
//! port (`--metrics-token-file`), or open on a separate address (`--metrics-listen`) that
//! serves nothing else.

use super::AppError;
use crate::metrics::{metrics, UpstreamLabel, CONTENT_TYPE};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

/// `GET /metrics` on the main port: only with the metrics token.
pub async fn metrics_with_token(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Some(want) = &state.settings.metrics_token_hash else {
        return Err(AppError::NotFound(
            "metrics are off on this port: start the server with --metrics-listen ADDRESS or --metrics-token-file FILE".into(),
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(crate::hash_token);
    if given.as_ref() != Some(want) {
        return Err(AppError::Unauthorized(
            "metrics need the metrics token: Authorization: Bearer TOKEN (the one in --metrics-token-file)".into(),
        ));
    }
    Ok(render(&state))
}

/// `GET /metrics` on the metrics address.
pub async fn metrics_open(State(state): State<AppState>) -> Response {
    render(&state)
}

/// The metrics, with the gauges read from the sync service and the relays now.
fn render(state: &AppState) -> Response {
    let m = metrics();
    state.sync.report_metrics();
    let mut upstreams: BTreeMap<String, (bool, Option<i64>, usize)> = BTreeMap::new();
    for r in state.relays.all() {
        let e = upstreams.entry(r.upstream.clone()).or_default();
        e.0 |= r.connected;
        e.1 = e.1.max(r.reached_ms);
        e.2 += r.waiting;
    }
    for (upstream, (connected, reached_ms, waiting)) in upstreams {
        let label = UpstreamLabel { upstream };
        m.relay_connected
            .get_or_create(&label)
            .set(connected as i64);
        if let Some(ms) = reached_ms {
            m.relay_last_reached
                .get_or_create(&label)
                .set(ms as f64 / 1000.0);
        }
        m.relay_changes_waiting
            .get_or_create(&label)
            .set(waiting as i64);
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], m.render()).into_response()
}
