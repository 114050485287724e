//! The `/sync` WebSocket: frames in go to the sync service, frames out come from it. The
//! socket loop is generic over `Sink + Stream`, so it is tested with channels too.

use crate::sync_service::{Outbound, SyncHandle};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use plansync_shared::{encode_message, Message as WireMessage};

/// Close code for "message too big" (RFC 6455).
const CLOSE_TOO_BIG: u16 = 1009;
/// Close code for "policy violation".
const CLOSE_POLICY: u16 = 1008;

/// Upgrades `/sync` to a WebSocket and serves the protocol on it.
pub async fn sync_socket(ws: WebSocketUpgrade, State(state): State<crate::AppState>) -> Response {
    // The transport allows twice the protocol limit, so a frame between the two gets the
    // core's clear `error` naming the limit; anything larger is closed with code 1009.
    let limit = state.max_message_bytes;
    ws.max_message_size(limit.saturating_mul(2))
        .max_frame_size(limit.saturating_mul(2))
        .on_upgrade(move |socket: WebSocket| {
            let (sink, stream) = socket.split();
            serve_socket(sink, stream, state.sync, limit)
        })
}

/// Runs one connection until either side closes it.
pub async fn serve_socket<S, R, E>(mut sink: S, mut stream: R, sync: SyncHandle, limit: usize)
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    let (conn, mut outbound) = sync.connect();
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Binary(bytes))) => sync.frame(conn, bytes.to_vec()),
                Some(Ok(Message::Text(_))) => {
                    let err = WireMessage::Error { sender_id: None, target_id: None, message: "text frames are not part of the protocol: send binary CBOR messages".into() };
                    if sink.send(Message::Binary(encode_message(&err).into())).await.is_err() { break; }
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {} // ping and pong are answered by the WebSocket layer
                Some(Err(e)) => {
                    let text = e.to_string();
                    tracing::warn!(conn = conn.0, error = %text, "closing a connection after a transport error");
                    let (code, reason) = if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
                        (CLOSE_TOO_BIG, format!("message over the limit of {limit} bytes"))
                    } else {
                        (CLOSE_POLICY, "transport error".to_string())
                    };
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    break;
                }
            },
            out = outbound.recv() => match out {
                Some(Outbound::Frame(frame)) => {
                    if sink.send(Message::Binary(frame.into())).await.is_err() { break; }
                }
                Some(Outbound::Close(reason)) => {
                    let mut reason = reason;
                    reason.truncate(120);
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: CLOSE_POLICY, reason: reason.into() }))).await;
                    break;
                }
                None => break,
            },
        }
    }
    sync.disconnect(conn);
}
