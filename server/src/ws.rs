//! The `/sync` WebSocket: the upgrade checks the page's origin, the address's number of
//! open connections and the participant tokens (`?token=A&token=B`, since browsers cannot
//! set WebSocket headers); then frames in go to the sync service and frames out come from
//! it. The socket loop is generic over `Sink + Stream`, so it is tested with channels too.

use crate::connections::Place;
use crate::metrics::{metrics, Direction, Refusal};
use crate::sync::{Grant, Outbound, SyncHandle};
use crate::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use plansync_shared::{encode_message, Message as WireMessage};
use std::sync::Arc;
use std::time::Instant;

/// Each socket's read buffer (allocated when the socket opens: a central server holds
/// thousands, each mostly idle, and a larger message simply takes more reads)...
const READ_BUFFER: usize = 4 << 10;
/// ...and how much it gathers before writing.
const WRITE_BUFFER: usize = 16 << 10;

/// Close code for "message too big" (RFC 6455).
const CLOSE_TOO_BIG: u16 = 1009;
/// Close code for "policy violation".
const CLOSE_POLICY: u16 = 1008;

/// A token bucket: `rate` messages per second, bursts up to two seconds' worth.
#[derive(Debug, Clone)]
pub struct RateLimit {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    /// A full bucket for `per_second` messages per second.
    pub fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second.max(1));
        Self {
            rate,
            tokens: rate * 2.0,
            last: Instant::now(),
        }
    }

    /// Takes one message at time `now`; false if the bucket is empty.
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate * 2.0);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The `token` values of a query string.
fn query_tokens(query: Option<&str>) -> Vec<String> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.strip_prefix("token="))
        .flat_map(|v| v.split(','))
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .take(64)
        .map(str::to_string)
        .collect()
}

/// Whether a browser page at `origin` may open the socket: same host as the request, or
/// listed with `--allow-origin`. Clients that are not browsers send no origin.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get("origin").and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = crate::http::request_host(headers).unwrap_or("");
    let bare = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    (!host.is_empty() && bare == host) || allowed.iter().any(|a| a == origin)
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

/// Upgrades `/sync` to a WebSocket and serves the protocol on it.
pub async fn sync_socket(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    crate::ClientAddr(client): crate::ClientAddr,
    connection: Option<Extension<Arc<Place>>>,
) -> Response {
    let settings = state.settings.clone();
    if !origin_allowed(&headers, &settings.allowed_origins) {
        let origin = headers
            .get("origin")
            .and_then(|o| o.to_str().ok())
            .unwrap_or("");
        tracing::warn!(%origin, "refused a sync connection from another web origin");
        metrics().refuse(Refusal::Origin);
        return refuse(StatusCode::FORBIDDEN, format!("pages from {origin} may not sync with this server; the server's operator can allow it with --allow-origin"));
    }
    // The connection layer's place: the socket keeps it until it closes.
    let connection = connection.map(|Extension(p)| p);
    let sync_place = match client {
        Some(ip) => {
            let limit = settings.max_connections_per_address;
            match state.sync_places.take(ip, limit, usize::MAX) {
                Ok(p) => Some(p),
                Err(_) => {
                    tracing::warn!(%ip, limit, "refused a sync connection: too many from one address");
                    metrics().refuse(Refusal::PerAddress);
                    return refuse(StatusCode::TOO_MANY_REQUESTS, format!("too many open connections from {ip} (the limit is {limit}): close other tabs or devices, or ask the server's operator"));
                }
            }
        }
        None => None,
    };
    let participants =
        match crate::membership::authenticate(&state.store, query_tokens(query.as_deref())).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "checking tokens failed");
                return refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server could not check your access; try again".into(),
                );
            }
        };
    let grants: Vec<Grant> = participants.iter().filter_map(Grant::of).collect();
    // A sign-in's token ends: the connection ends with it.
    let ends = participants
        .iter()
        .filter_map(|p| p.session_ends)
        .min()
        .map(|ms| {
            let left = u64::try_from(ms - crate::now_ms()).unwrap_or(0);
            tokio::time::Instant::now() + std::time::Duration::from_millis(left)
        });
    if grants.is_empty() {
        tracing::info!("refused a sync connection without a valid participant token");
        metrics().refuse(Refusal::Token);
        return refuse(StatusCode::UNAUTHORIZED, "syncing needs a participant token (?token=...): join the plan with an invitation link first".into());
    }
    // The transport allows twice the protocol limit, so a frame between the two gets the
    // core's clear `error` naming the limit; anything larger is closed with code 1009.
    let limit = settings.max_message_bytes;
    let rate = settings.max_messages_per_second;
    ws.max_message_size(limit.saturating_mul(2))
        .max_frame_size(limit.saturating_mul(2))
        // Small buffers (the default is 128 KiB each way, filled on every read): memory
        // follows the number of sockets, and a room or a central server holds hundreds.
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket: WebSocket| async move {
            let _places = (sync_place, connection);
            let (sink, stream) = socket.split();
            serve_socket(sink, stream, state.sync, grants, limit, rate, ends).await
        })
}

/// Sends an `error` message and closes with `code`.
async fn error_and_close<S: Sink<Message> + Unpin>(sink: &mut S, code: u16, message: String) {
    let err = WireMessage::Error {
        sender_id: None,
        target_id: None,
        message: message.clone(),
    };
    let _ = sink
        .send(Message::Binary(encode_message(&err).into()))
        .await;
    close_briefly(sink, code, message).await;
}

/// Sends a close frame with `code` and `reason` (clipped to what a close frame holds),
/// giving up after a moment: a client that stopped reading may never take it.
async fn close_briefly<S: Sink<Message> + Unpin>(sink: &mut S, code: u16, mut reason: String) {
    if reason.len() > 120 {
        let mut end = 120;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    let close = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = tokio::time::timeout(std::time::Duration::from_millis(200), sink.send(close)).await;
}

/// What a connection is told when the sign-in it came with ends.
pub const SIGN_IN_ENDED: &str = "your sign-in has ended: sign in again";

/// Runs one connection, which may sync the `grants`' plans, until either side closes it or
/// (a sign-in's token) `ends` comes.
pub async fn serve_socket<S, R, E>(
    mut sink: S,
    mut stream: R,
    sync: SyncHandle,
    grants: Vec<Grant>,
    limit: usize,
    per_second: u32,
    ends: Option<tokio::time::Instant>,
) where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    let (conn, mut outbound) = sync.connect(grants);
    let _open = OpenSocket::new();
    let mut bucket = RateLimit::new(per_second);
    let ending = tokio::time::sleep_until(ends.unwrap_or_else(|| {
        tokio::time::Instant::now() + std::time::Duration::from_secs(86400 * 365)
    }));
    tokio::pin!(ending);
    loop {
        tokio::select! {
            _ = &mut ending, if ends.is_some() => {
                tracing::info!(conn = conn.0, "closing a connection whose sign-in has ended");
                close_briefly(&mut sink, CLOSE_POLICY, SIGN_IN_ENDED.into()).await;
                break;
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Binary(bytes))) => {
                    if !bucket.allow(Instant::now()) {
                        tracing::warn!(conn = conn.0, limit = per_second, "closing a connection over the message rate limit");
                        metrics().refuse(Refusal::Rate);
                        error_and_close(&mut sink, CLOSE_POLICY, format!("too many messages: more than {per_second} per second; reconnect and send less often")).await;
                        break;
                    }
                    metrics().message(Direction::In, bytes.len());
                    sync.frame(conn, bytes.to_vec()).await
                }
                Some(Ok(Message::Text(_))) => {
                    let err = WireMessage::Error { sender_id: None, target_id: None, message: "text frames are not part of the protocol: send binary CBOR messages".into() };
                    if sink.send(Message::Binary(encode_message(&err).into())).await.is_err() { break; }
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {} // ping and pong are answered by the WebSocket layer
                Some(Err(e)) => {
                    let text = e.to_string();
                    tracing::warn!(conn = conn.0, error = %text, "closing a connection after a transport error");
                    // Only a close frame: the peer may still be sending the oversized
                    // message, and anything more risks a reset before it reads the close.
                    let (code, reason) = if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
                        metrics().refuse(Refusal::TooBig);
                        (CLOSE_TOO_BIG, format!("message over the limit of {limit} bytes"))
                    } else {
                        (CLOSE_POLICY, "transport error".to_string())
                    };
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    break;
                }
            },
            out = outbound.recv() => match out {
                Some(Outbound::Frame(frame, receipt)) => {
                    metrics().message(Direction::Out, frame.len());
                    // A client that stopped reading blocks this send; the service then cuts
                    // the connection off and the send is abandoned with what it holds.
                    tokio::select! {
                        sent = sink.send(Message::Binary(frame.into())) => match sent {
                            Ok(()) => { if let Some(r) = receipt { r.written() } }
                            Err(_) => break,
                        },
                        reason = outbound.cut_off() => {
                            tracing::info!(conn = conn.0, %reason, "dropped a connection that stopped reading");
                            metrics().refuse(Refusal::SlowReader);
                            close_briefly(&mut sink, CLOSE_POLICY, reason).await;
                            break;
                        }
                    }
                }
                Some(Outbound::Close(reason)) => {
                    close_briefly(&mut sink, CLOSE_POLICY, reason).await;
                    break;
                }
                None => break,
            },
        }
    }
    sync.disconnect(conn).await;
}

/// Counts an open sync socket for as long as it lives (however its task ends).
struct OpenSocket;

impl OpenSocket {
    fn new() -> Self {
        metrics().sockets.inc();
        Self
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        metrics().sockets.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_allows_a_burst_of_two_seconds_then_refuses_then_refills() {
        let t0 = Instant::now();
        let mut b = RateLimit::new(10);
        assert_eq!((0..25).filter(|_| b.allow(t0)).count(), 20);
        assert!(b.allow(t0 + std::time::Duration::from_millis(150)));
    }

    #[test]
    fn tokens_come_from_repeated_or_comma_separated_query_values() {
        assert_eq!(query_tokens(Some("token=a&x=1&token=b,c")), ["a", "b", "c"]);
        assert!(query_tokens(None).is_empty());
    }

    #[test]
    fn only_the_servers_own_origin_or_listed_origins_may_open_the_socket() {
        let mut h = HeaderMap::new();
        h.insert("host", "10.0.0.5:8080".parse().unwrap());
        assert!(origin_allowed(&h, &[]), "no origin: not a browser");
        h.insert("origin", "http://10.0.0.5:8080".parse().unwrap());
        assert!(origin_allowed(&h, &[]));
        h.insert("origin", "http://evil.example".parse().unwrap());
        assert!(!origin_allowed(&h, &[]));
        assert!(origin_allowed(&h, &["http://evil.example".into()]));
    }
}
