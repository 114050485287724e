//! Who I am in this browser: a name and an agency, asked for on first open and kept in the
//! browser's local storage. Every progress update and comment is stamped with them.

use serde::{Deserialize, Serialize};

const KEY: &str = "plansync.identity";

/// The person using this browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Their name as they want it shown.
    pub name: String,
    /// Their agency.
    pub agency: String,
    /// How the server knows them: signed in with their agency's provider (the name and
    /// agency are then the provider's), or joined with a code.
    #[serde(default)]
    pub known: Option<plansync_shared::Known>,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

impl Identity {
    /// The identity kept in this browser, if the user gave one.
    pub fn load() -> Option<Self> {
        let json = storage()?.get_item(KEY).ok()??;
        serde_json::from_str(&json).ok()
    }

    /// Keeps the identity in this browser.
    pub fn save(&self) {
        if let (Some(s), Ok(json)) = (storage(), serde_json::to_string(self)) {
            let _ = s.set_item(KEY, &json);
        }
    }

    /// A name and agency, trimmed; `None` unless both are given.
    pub fn new(name: &str, agency: &str) -> Option<Self> {
        let (name, agency) = (name.trim(), agency.trim());
        (!name.is_empty() && !agency.is_empty()).then(|| Self {
            name: name.into(),
            agency: agency.into(),
            known: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_needs_both_a_name_and_an_agency() {
        assert_eq!(Identity::new("  ", "City Council"), None);
        assert_eq!(Identity::new("Analyst", ""), None);
        assert_eq!(
            Identity::new(" Analyst ", " City Council "),
            Some(Identity {
                name: "Analyst".into(),
                agency: "City Council".into(),
                known: None,
            })
        );
    }
}
