//! Talking to an upstream server as one of its participants: its HTTP API (the plans the
//! token grants, a plan's document, snapshots and change authors, reporting authors) and
//! its `/sync` WebSocket, where we send `join` ourselves.

use super::RelayError;
use crate::store::PulledSnapshot;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use plansync_shared::api::{AuthorGroup, ChangeAuthor, MyPlan, ParticipantKind, Reported};
use plansync_shared::{decode_message, encode_message, Message, PeerId, PeerMetadata};
use std::collections::HashMap;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

/// Any single call to the upstream gives up after this long.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read from the upstream (a plan's whole document, at most).
const MAX_ANSWER_BYTES: usize = 96 << 20;
/// Author reports and questions carry this many changes at most (the upstream takes 64 KiB
/// bodies; a hash is 66 bytes in JSON).
const HASH_BATCH: usize = 600;

/// The socket to an upstream's `/sync`.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An upstream server and the participant token the relay uses there.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// `http://HOST[:PORT]`, without a trailing slash.
    pub url: String,
    /// The participant token.
    token: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Whether the relay reports who made its changes on a plan the upstream lists: only an
/// enrolled relaying server may; with a person's own token the changes are that person's.
pub fn reports_authors(granted: &MyPlan) -> bool {
    granted.participant.kind == ParticipantKind::Server
}

impl Upstream {
    /// An upstream at `url` (`http://HOST[:PORT]`) with a participant token.
    pub fn new(url: &str, token: &str) -> Result<Self, RelayError> {
        let url = url.trim().trim_end_matches('/').to_string();
        if url.starts_with("https://") {
            return Err(RelayError::Config(format!("{url}: this build relays over http:// only; put the central server's plain-HTTP address on a trusted network, or a TLS-terminating proxy on the laptop")));
        }
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(RelayError::Config(format!(
                "{url}: the upstream must be an address like http://central.example:8080"
            )));
        };
        if rest.is_empty() || rest.contains('/') || rest.contains('?') {
            return Err(RelayError::Config(format!(
                "{url}: give the server's address only, like http://central.example:8080"
            )));
        }
        let token = token.trim().to_string();
        if token.is_empty() || token.len() > 128 || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(RelayError::Config(
                "the upstream token is not a participant token: copy it as `plansync enroll` printed it".into(),
            ));
        }
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(http);
        Ok(Self { url, token, client })
    }

    /// Calls the upstream's API; the answer's body, or an error saying what went wrong.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, RelayError> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .header("authorization", format!("Bearer {}", self.token));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| RelayError::Config(e.to_string()))?;
        let answer = tokio::time::timeout(CALL_TIMEOUT, async {
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| RelayError::Unreachable(format!("{}: {e}", self.url)))?;
            let status = res.status();
            let body = Limited::new(res.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| RelayError::Unreachable(format!("{}: {e}", self.url)))?
                .to_bytes();
            Ok::<_, RelayError>((status, body))
        })
        .await
        .map_err(|_| {
            RelayError::Unreachable(format!(
                "{} did not answer within {CALL_TIMEOUT:?}",
                self.url
            ))
        })??;
        match answer.0 {
            s if s.is_success() => Ok(answer.1),
            StatusCode::UNAUTHORIZED => Err(RelayError::Refused(format!(
                "{} refused the relay's token (revoked, or from another server): ask an owner there for a new one with `plansync enroll`",
                self.url
            ))),
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => Err(RelayError::Refused(format!(
                "{} does not let the relay's token do this ({}): {}",
                self.url,
                answer.0,
                String::from_utf8_lossy(&answer.1).chars().take(200).collect::<String>()
            ))),
            s => Err(RelayError::Unreachable(format!(
                "{} answered {s}: {}",
                self.url,
                String::from_utf8_lossy(&answer.1).chars().take(200).collect::<String>()
            ))),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, RelayError> {
        serde_json::from_slice(bytes).map_err(|e| {
            RelayError::Unreachable(format!(
                "{} sent an answer this server cannot read: {e}",
                self.url
            ))
        })
    }

    /// The plans the token grants there.
    pub async fn plans(&self) -> Result<Vec<MyPlan>, RelayError> {
        let body = self.call(Method::GET, "/api/plans", None).await?;
        self.json(&body)
    }

    /// A plan's whole document (automerge bytes).
    pub async fn document(&self, plan: &str) -> Result<Bytes, RelayError> {
        self.call(
            Method::GET,
            &format!("/api/plans/{plan}/exports/plan.automerge"),
            None,
        )
        .await
    }

    /// A plan's snapshots.
    pub async fn snapshots(&self, plan: &str) -> Result<Vec<PulledSnapshot>, RelayError> {
        let body = self
            .call(Method::GET, &format!("/api/plans/{plan}/snapshots"), None)
            .await?;
        self.json(&body)
    }

    /// Who made each of `hashes`, as the upstream recorded it (those it knows).
    pub async fn authors(
        &self,
        plan: &str,
        hashes: &[String],
    ) -> Result<HashMap<String, ChangeAuthor>, RelayError> {
        let mut out = HashMap::new();
        for batch in hashes.chunks(HASH_BATCH) {
            let body = serde_json::to_vec(batch).map_err(|e| RelayError::Config(e.to_string()))?;
            let answer = self
                .call(
                    Method::POST,
                    &format!("/api/plans/{plan}/authors"),
                    Some(body),
                )
                .await?;
            out.extend(self.json::<HashMap<String, ChangeAuthor>>(&answer)?);
        }
        Ok(out)
    }

    /// Reports who made changes the relay sent, grouped by person; the hashes the upstream
    /// did not take (it does not hold them as sent by us yet).
    pub async fn report_authors(
        &self,
        plan: &str,
        groups: Vec<AuthorGroup>,
    ) -> Result<Vec<String>, RelayError> {
        let mut unknown = Vec::new();
        let mut batch: Vec<AuthorGroup> = Vec::new();
        let mut size = 0;
        let send = |batch: Vec<AuthorGroup>| async move {
            let body = serde_json::to_vec(&batch).map_err(|e| RelayError::Config(e.to_string()))?;
            let answer = self
                .call(
                    Method::POST,
                    &format!("/api/plans/{plan}/relayed-authors"),
                    Some(body),
                )
                .await?;
            Ok::<_, RelayError>(self.json::<Reported>(&answer)?.unknown)
        };
        for mut group in groups {
            while !group.hashes.is_empty() {
                let room = HASH_BATCH - size;
                let rest = group.hashes.split_off(room.min(group.hashes.len()));
                size += group.hashes.len();
                batch.push(AuthorGroup {
                    hashes: std::mem::replace(&mut group.hashes, rest),
                    ..group.clone()
                });
                if size == HASH_BATCH {
                    unknown.extend(send(std::mem::take(&mut batch)).await?);
                    size = 0;
                }
            }
        }
        if !batch.is_empty() {
            unknown.extend(send(batch).await?);
        }
        Ok(unknown)
    }

    /// Opens `/sync` and does the handshake as `peer`; the socket and the upstream's peer id.
    pub async fn join(
        &self,
        peer: PeerId,
        storage_id: Option<String>,
    ) -> Result<(Socket, PeerId), RelayError> {
        let ws_url = format!("ws{}/sync?token={}", &self.url[4..], self.token);
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(128 << 20))
            .max_frame_size(Some(128 << 20));
        let connect = tokio_tungstenite::connect_async_with_config(ws_url, Some(config), false);
        let (mut socket, _) = tokio::time::timeout(CALL_TIMEOUT, connect)
            .await
            .map_err(|_| {
                RelayError::Unreachable(format!(
                    "{} did not open a sync connection in time",
                    self.url
                ))
            })?
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Http(r)
                    if r.status() == StatusCode::UNAUTHORIZED =>
                {
                    RelayError::Refused(format!(
                        "{} refused the relay's token: ask an owner there for a new one",
                        self.url
                    ))
                }
                e => RelayError::Unreachable(format!("{}: {e}", self.url)),
            })?;
        let join = Message::Join {
            sender_id: peer,
            peer_metadata: PeerMetadata {
                storage_id,
                is_ephemeral: Some(false),
            },
            supported_protocol_versions: Some(vec![plansync_shared::PROTOCOL_VERSION.into()]),
        };
        socket
            .send(Ws::Binary(encode_message(&join).into()))
            .await
            .map_err(|e| RelayError::Unreachable(format!("{}: {e}", self.url)))?;
        let answer = tokio::time::timeout(CALL_TIMEOUT, async {
            while let Some(frame) = socket.next().await {
                match frame {
                    Ok(Ws::Binary(b)) => return decode_message(&b, 1 << 20).ok(),
                    Ok(Ws::Close(_)) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        match answer {
            Some(Message::Peer { sender_id, .. }) => Ok((socket, sender_id)),
            Some(Message::Error { message, .. }) => Err(RelayError::Refused(format!(
                "{} refused the relay: {message}",
                self.url
            ))),
            _ => Err(RelayError::Unreachable(format!(
                "{} did not answer the sync handshake",
                self.url
            ))),
        }
    }
}
