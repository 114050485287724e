//! Signing in with an agency's provider: the queries of `/auth/{provider}/start` and
//! `/auth/callback` (the bodies are in [`crate::FinishSignIn`] and [`super::SignedIn`]).

use serde::{Deserialize, Serialize};

/// The query of `/auth/{provider}/start`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StartQuery {
    /// An invitation code to join with.
    #[serde(default)]
    pub invitation: Option<String>,
    /// Where in the app to come back to: a path of this app (`/#/plan/ID`), never another
    /// site.
    #[serde(default, rename = "return")]
    pub return_to: Option<String>,
}

/// The query a provider sends the browser back to `/auth/callback` with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CallbackQuery {
    /// The authorization code.
    #[serde(default)]
    pub code: Option<String>,
    /// The `state` sent.
    #[serde(default)]
    pub state: Option<String>,
    /// The provider's error, if it did not sign the person in.
    #[serde(default)]
    pub error: Option<String>,
    /// Its words about the error.
    #[serde(default)]
    pub error_description: Option<String>,
}
