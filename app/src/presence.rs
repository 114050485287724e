//! Who is here: the people with the open plan in front of them, what they look at and the
//! item they are editing, from presence messages in the official JS client's format (see
//! `plansync_shared::PresenceMessage`). The server stamps each with who sent it; a name a
//! client claims is never shown. Peers not heard from for `PEER_TTL_MS` are gone.

use plansync_shared::CborValue as Value;
use plansync_shared::{
    encode_presence, parse_presence, read_stamp, PresenceMessage, PARTICIPANT, PEER_TTL_MS,
};

/// One other person here.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerHere {
    /// Their peer id (one per tab).
    pub peer: String,
    /// Their name, as the server stamped it.
    pub name: String,
    /// Their agency, as the server stamped it.
    pub agency: String,
    /// The view they are on ("Action tracker").
    pub view: String,
    /// The item they are editing (an action or objective id), if any.
    pub editing: Option<String>,
    /// Their role in the plan, as the server stamped it.
    pub role: String,
    /// How the server knows them ([`plansync_shared::Known::stored`]).
    pub known: String,
    /// The objective they lead the workshop room to, if they lead it (an owner).
    pub lead: Option<String>,
    /// When they were last heard from (ms since 1970).
    pub seen_ms: f64,
}

/// The presence channels this app sends.
const VIEW: &str = "view";
const EDITING: &str = "editing";
const LEAD: &str = "lead";

/// My presence as a snapshot payload.
pub fn my_snapshot(view: &str, editing: Option<&str>, lead: Option<&str>) -> Vec<u8> {
    let opt = |v: Option<&str>| v.map_or(Value::Null, |e| Value::Text(e.into()));
    encode_presence(&PresenceMessage::Snapshot(vec![
        (VIEW.into(), Value::Text(view.into())),
        (EDITING.into(), opt(editing)),
        (LEAD.into(), opt(lead)),
    ]))
}

/// The objective an owner here leads the room to (the one heard from last), if any.
pub fn room_lead(here: &[PeerHere]) -> Option<String> {
    here.iter()
        .filter(|p| p.role == "owner")
        .filter_map(|p| Some((p.seen_ms, p.lead.clone()?)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, lead)| lead)
}

/// A heartbeat payload.
pub fn heartbeat() -> Vec<u8> {
    encode_presence(&PresenceMessage::Heartbeat)
}

/// A goodbye payload.
pub fn goodbye() -> Vec<u8> {
    encode_presence(&PresenceMessage::Goodbye)
}

fn text_of(v: &Value) -> Option<String> {
    v.as_text().map(str::to_string)
}

/// Applies a presence payload from `peer` at `now` to the list of who is here; false if it
/// was not presence.
pub fn apply(here: &mut Vec<PeerHere>, peer: &str, data: &[u8], now: f64) -> bool {
    let Some(message) = parse_presence(data) else {
        return false;
    };
    let known = here.iter().position(|p| p.peer == peer);
    match message {
        PresenceMessage::Goodbye => here.retain(|p| p.peer != peer),
        PresenceMessage::Heartbeat => {
            if let Some(i) = known {
                here[i].seen_ms = now;
            }
        }
        PresenceMessage::Snapshot(state) => {
            let get = |k: &str| state.iter().find(|(c, _)| c == k).map(|(_, v)| v);
            // Only the server's stamp names a peer: unstamped presence is not shown.
            let Some(who) = get(PARTICIPANT).and_then(read_stamp) else {
                return true;
            };
            let entry = PeerHere {
                peer: peer.to_string(),
                name: who.name,
                agency: who.agency,
                view: get(VIEW).and_then(text_of).unwrap_or_default(),
                editing: get(EDITING).and_then(text_of),
                role: who.role,
                known: who.known,
                lead: get(LEAD).and_then(text_of),
                seen_ms: now,
            };
            match known {
                Some(i) => here[i] = entry,
                None => here.push(entry),
            }
        }
        PresenceMessage::Update(channel, value) => {
            if let Some(i) = known {
                let p = &mut here[i];
                p.seen_ms = now;
                match channel.as_str() {
                    VIEW => p.view = text_of(&value).unwrap_or_default(),
                    EDITING => p.editing = text_of(&value),
                    LEAD => p.lead = text_of(&value),
                    _ => {}
                }
            }
        }
    }
    true
}

/// Forgets peers not heard from for the time-out; true if any went.
pub fn prune(here: &mut Vec<PeerHere>, now: f64) -> bool {
    let before = here.len();
    here.retain(|p| now - p.seen_ms < PEER_TTL_MS as f64);
    here.len() != before
}
