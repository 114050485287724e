//! The plans I take part in on this server: for each, my participant token and role, from
//! joining with an invitation (or creating the plan). Kept in the browser's local storage;
//! the tokens go with every API request and on the sync socket.

use serde::{Deserialize, Serialize};

const KEY: &str = "plansync.memberships";

/// My part in one plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    /// The plan's document id.
    pub plan: String,
    /// My participant token.
    pub token: String,
    /// My role: viewer, editor or owner.
    pub role: String,
    /// My participant id in the plan.
    pub participant: i64,
    /// When the token ends (a sign-in's), ms since the epoch; a code's never does.
    #[serde(default)]
    pub ends: Option<f64>,
    /// The provider I signed in with (its id), to sign in again.
    #[serde(default)]
    pub provider: Option<String>,
    /// Its label.
    #[serde(default)]
    pub signed_in_with: Option<String>,
}

impl Membership {
    /// Whether the token has ended (a sign-in's, past its time) at `now_ms`.
    pub fn ended(&self, now_ms: f64) -> bool {
        self.ends.is_some_and(|e| e <= now_ms)
    }
}

impl Membership {
    /// Whether this role manages participants and invitations.
    pub fn is_owner(&self) -> bool {
        self.role == "owner"
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Every plan I take part in.
pub fn all() -> Vec<Membership> {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn save(list: &[Membership]) {
    if let (Some(s), Ok(json)) = (storage(), serde_json::to_string(list)) {
        let _ = s.set_item(KEY, &json);
    }
}

/// Keeps (or replaces) my membership of a plan.
pub fn add(m: Membership) {
    let mut list = all();
    list.retain(|x| x.plan != m.plan);
    list.push(m);
    save(&list);
}

/// Records a role the server reported.
pub fn set_role(plan: &str, role: &str) {
    let mut list = all();
    for m in list.iter_mut().filter(|m| m.plan == plan) {
        m.role = role.to_string();
    }
    save(&list);
}

/// My membership of a plan.
pub fn of(plan: &str) -> Option<Membership> {
    all().into_iter().find(|m| m.plan == plan)
}

/// Forgets every membership that came from a sign-in (signing out).
pub fn forget_signed_in() {
    let mut list = all();
    list.retain(|m| m.provider.is_none());
    save(&list);
}

/// Every token I hold.
pub fn tokens() -> Vec<String> {
    all().into_iter().map(|m| m.token).collect()
}
