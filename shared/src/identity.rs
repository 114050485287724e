//! How a person is known: signed in with their agency's identity provider, or joined with
//! an invitation code (a name they typed). The plan says which wherever it shows a name, and
//! the sign-in bodies the app and the server exchange live here.

use serde::{Deserialize, Serialize};

/// How a server knows a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Known {
    /// Joined with an invitation code: the name and agency are what they typed.
    Code,
    /// Signed in with an agency's identity provider (its label, "Riverton City Council"):
    /// the name and email are the provider's.
    SignedIn(String),
}

impl Known {
    /// The words shown beside a name: "signed in with Riverton City Council" or "joined with
    /// a code".
    pub fn words(&self) -> String {
        match self {
            Known::Code => "joined with a code".into(),
            Known::SignedIn(p) => format!("signed in with {p}"),
        }
    }

    /// The form a database column holds: "code", or "signed_in:LABEL".
    pub fn stored(&self) -> String {
        match self {
            Known::Code => "code".into(),
            Known::SignedIn(p) => format!("signed_in:{p}"),
        }
    }

    /// How a server knows one of its participants, from the participant's kind ("person",
    /// "server") and the provider they signed in with: a relaying server not at all (its
    /// reports name the people behind it), a person by their provider, else by a code.
    pub fn of_participant(kind: &str, signed_in_with: Option<&str>) -> Option<Self> {
        match (kind, signed_in_with) {
            ("server", _) => None,
            (_, Some(p)) => Some(Known::SignedIn(p.to_string())),
            (_, None) => Some(Known::Code),
        }
    }

    /// Reads [`Known::stored`]'s form back (`None` for anything else).
    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "code" => Some(Known::Code),
            _ => s
                .strip_prefix("signed_in:")
                .map(|p| Known::SignedIn(p.to_string())),
        }
    }
}

/// A stamped author as shown: "name, agency (signed in with Riverton City Council)", or
/// without the brackets when the stamp does not say how they were known.
pub fn stamped_by(name: &str, agency: &str, known: &str) -> String {
    let mut out = name.to_string();
    if !agency.is_empty() {
        out.push_str(", ");
        out.push_str(agency);
    }
    if let Some(k) = Known::from_stored(known) {
        out.push_str(&format!(" ({})", k.words()));
    }
    out
}

/// One identity provider a server offers (`GET /api/providers`): the button "Sign in with
/// LABEL".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderChoice {
    /// Its id in the server's settings (`riverton`).
    pub id: String,
    /// What people see ("Riverton City Council").
    pub label: String,
}

/// Which sign-in an invitation asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInRule {
    /// The code is enough (the room, or partners without a provider).
    #[default]
    Code,
    /// Sign in with any of the server's providers.
    Any,
    /// Sign in with this provider (its id).
    Provider(String),
}

impl SignInRule {
    /// The form a database column holds: NULL for a code, "*" for any provider, else its id.
    pub fn stored(&self) -> Option<String> {
        match self {
            SignInRule::Code => None,
            SignInRule::Any => Some("*".into()),
            SignInRule::Provider(p) => Some(p.clone()),
        }
    }

    /// Reads [`SignInRule::stored`]'s form back.
    pub fn from_stored(s: Option<&str>) -> Self {
        match s {
            None => SignInRule::Code,
            Some("*") => SignInRule::Any,
            Some(p) => SignInRule::Provider(p.to_string()),
        }
    }

    /// Whether signing in with provider `id` satisfies the rule.
    pub fn allows(&self, id: &str) -> bool {
        match self {
            SignInRule::Code | SignInRule::Any => true,
            SignInRule::Provider(p) => p == id,
        }
    }
}

/// Body of `POST /api/sign-in/finish`: the one-time code the server put in the address it
/// sent the browser back to (`#/signed-in/CODE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishSignIn {
    /// The one-time code.
    pub code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_someone_is_known_reads_back_from_its_stored_form_and_in_words() {
        for k in [
            Known::Code,
            Known::SignedIn("Riverton: City Council".into()),
        ] {
            assert_eq!(Known::from_stored(&k.stored()), Some(k));
        }
        assert_eq!(Known::from_stored("server"), None);
        assert_eq!(
            Known::SignedIn("Riverton City Council".into()).words(),
            "signed in with Riverton City Council"
        );
        for r in [
            SignInRule::Code,
            SignInRule::Any,
            SignInRule::Provider("a".into()),
        ] {
            assert_eq!(SignInRule::from_stored(r.stored().as_deref()), r);
        }
        assert!(SignInRule::Provider("a".into()).allows("a"));
        assert!(!SignInRule::Provider("a".into()).allows("b"));
    }
}
