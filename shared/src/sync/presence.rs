//! Presence: who is here and what they look at, as ephemeral messages in the format of the
//! official JS client's `Presence` (automerge-repo 2.5): a CBOR map `{"__presence": {type,
//! ...}}` with `snapshot` (the whole state), `update` (one channel), `heartbeat` (every
//! [`HEARTBEAT_MS`]) and `goodbye`; a peer not heard from for [`PEER_TTL_MS`] is gone.
//!
//! A server stamps every presence message with the participant its connection proved to be
//! ([`stamp`]): the state's [`PARTICIPANT`] channel is the server's, never the client's.

use ciborium::Value;
use serde::{Deserialize, Serialize};

/// The key that marks an ephemeral message as presence.
pub const PRESENCE_MARKER: &str = "__presence";
/// How often a peer says it is still here when its state does not change (the JS client's
/// default).
pub const HEARTBEAT_MS: u64 = 15_000;
/// A peer not heard from for this long is gone (the JS client's default: three heartbeats).
pub const PEER_TTL_MS: u64 = 3 * HEARTBEAT_MS;
/// The channel the server fills with who the sender is.
pub const PARTICIPANT: &str = "participant";

/// Who a connection belongs to, as the server stamps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The participant's name.
    pub name: String,
    /// Their agency.
    pub agency: String,
    /// Their role in the plan (viewer, editor, owner): an owner leads a workshop room.
    #[serde(default)]
    pub role: String,
    /// How the server knows them ([`crate::Known::stored`]): signed in, or a code.
    #[serde(default)]
    pub known: String,
}

/// What a presence message says.
#[derive(Debug, Clone, PartialEq)]
pub enum PresenceMessage {
    /// The sender's whole state, by channel.
    Snapshot(Vec<(String, Value)>),
    /// One channel of the sender's state.
    Update(String, Value),
    /// Still here.
    Heartbeat,
    /// Gone.
    Goodbye,
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn get<'a>(map: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

/// Reads an ephemeral payload as presence; `None` if it is not presence.
pub fn parse_presence(data: &[u8]) -> Option<PresenceMessage> {
    let value: Value = ciborium::de::from_reader(data).ok()?;
    let outer = value.as_map()?;
    let inner = get(outer, PRESENCE_MARKER)?.as_map()?;
    match get(inner, "type")?.as_text()? {
        "snapshot" => {
            let state = get(inner, "state")?.as_map()?;
            Some(PresenceMessage::Snapshot(
                state
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_text()?.to_string(), v.clone())))
                    .collect(),
            ))
        }
        "update" => Some(PresenceMessage::Update(
            get(inner, "channel")?.as_text()?.to_string(),
            get(inner, "value").cloned().unwrap_or(Value::Null),
        )),
        "heartbeat" => Some(PresenceMessage::Heartbeat),
        "goodbye" => Some(PresenceMessage::Goodbye),
        _ => None,
    }
}

/// Writes a presence message as an ephemeral payload.
pub fn encode_presence(message: &PresenceMessage) -> Vec<u8> {
    let inner = match message {
        PresenceMessage::Snapshot(state) => vec![
            (text("type"), text("snapshot")),
            (
                text("state"),
                Value::Map(state.iter().map(|(k, v)| (text(k), v.clone())).collect()),
            ),
        ],
        PresenceMessage::Update(channel, value) => vec![
            (text("type"), text("update")),
            (text("channel"), text(channel)),
            (text("value"), value.clone()),
        ],
        PresenceMessage::Heartbeat => vec![(text("type"), text("heartbeat"))],
        PresenceMessage::Goodbye => vec![(text("type"), text("goodbye"))],
    };
    let mut out = Vec::new();
    // Writing CBOR to a Vec cannot fail.
    let _ = ciborium::ser::into_writer(
        &Value::Map(vec![(text(PRESENCE_MARKER), Value::Map(inner))]),
        &mut out,
    );
    out
}

/// The stamp as a presence value.
fn stamp_value(who: &Stamp) -> Value {
    Value::Map(vec![
        (text("name"), text(&who.name)),
        (text("agency"), text(&who.agency)),
        (text("role"), text(&who.role)),
        (text("known"), text(&who.known)),
    ])
}

/// Reads a stamp from a presence value.
pub fn read_stamp(v: &Value) -> Option<Stamp> {
    let m = v.as_map()?;
    Some(Stamp {
        name: get(m, "name")?.as_text()?.to_string(),
        agency: get(m, "agency")
            .and_then(Value::as_text)
            .unwrap_or("")
            .to_string(),
        role: get(m, "role")
            .and_then(Value::as_text)
            .unwrap_or("")
            .to_string(),
        known: get(m, "known")
            .and_then(Value::as_text)
            .unwrap_or("")
            .to_string(),
    })
}

/// An ephemeral payload as a server passes it on.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped {
    /// The payload to pass on.
    pub data: Vec<u8>,
    /// Whether it is presence (its sender is then present until it says goodbye).
    pub presence: bool,
}

/// A presence payload as the server passes it on: a snapshot carries `who` in its
/// [`PARTICIPANT`] channel (whatever the client put there); an update of that channel is
/// dropped (`None`); anything else (heartbeats, goodbyes, other channels, ephemeral
/// messages that are not presence) passes as it is.
pub fn stamp(data: &[u8], who: &Stamp) -> Option<Stamped> {
    let passed = |presence| Stamped {
        data: data.to_vec(),
        presence,
    };
    match parse_presence(data) {
        Some(PresenceMessage::Snapshot(mut state)) => {
            state.retain(|(k, _)| k != PARTICIPANT);
            state.push((PARTICIPANT.to_string(), stamp_value(who)));
            Some(Stamped {
                data: encode_presence(&PresenceMessage::Snapshot(state)),
                presence: true,
            })
        }
        Some(PresenceMessage::Update(channel, _)) if channel == PARTICIPANT => None,
        Some(_) => Some(passed(true)),
        None => Some(passed(false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> Stamp {
        Stamp {
            name: "Analyst".into(),
            agency: "Police".into(),
            role: "editor".into(),
            known: String::new(),
        }
    }

    #[test]
    fn a_snapshot_is_stamped_with_the_verified_participant_whatever_the_client_claimed() {
        let claimed = encode_presence(&PresenceMessage::Snapshot(vec![
            ("view".into(), text("tracker")),
            (
                PARTICIPANT.into(),
                stamp_value(&Stamp {
                    name: "Chief Constable".into(),
                    agency: "Forged".into(),
                    role: "owner".into(),
                    known: "signed_in:Forged".into(),
                }),
            ),
        ]));
        let out = stamp(&claimed, &who()).unwrap().data;
        let Some(PresenceMessage::Snapshot(state)) = parse_presence(&out) else {
            panic!("still a snapshot")
        };
        assert_eq!(state.iter().filter(|(k, _)| k == PARTICIPANT).count(), 1);
        let stamped = state.iter().find(|(k, _)| k == PARTICIPANT).unwrap();
        assert_eq!(read_stamp(&stamped.1), Some(who()));
        assert!(state
            .iter()
            .any(|(k, v)| k == "view" && v.as_text() == Some("tracker")));
    }

    #[test]
    fn a_client_cannot_update_its_participant_channel_and_other_messages_pass() {
        let forged = encode_presence(&PresenceMessage::Update(PARTICIPANT.into(), text("x")));
        assert_eq!(stamp(&forged, &who()), None);
        for m in [
            PresenceMessage::Heartbeat,
            PresenceMessage::Goodbye,
            PresenceMessage::Update("view".into(), text("outline")),
        ] {
            let data = encode_presence(&m);
            assert_eq!(
                stamp(&data, &who()),
                Some(Stamped {
                    data: data.clone(),
                    presence: true
                })
            );
            assert_eq!(parse_presence(&data), Some(m));
        }
        assert_eq!(
            stamp(b"\xa0", &who()),
            Some(Stamped {
                data: b"\xa0".to_vec(),
                presence: false
            }),
            "not presence: as it is"
        );
    }
}
