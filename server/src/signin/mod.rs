//! Signing in with an agency's identity provider (OpenID Connect): the providers a server
//! offers (`--sign-in-providers FILE`), the authorization code flow with PKCE, `state` and
//! `nonce`, and the ID token's checks (signature against the provider's JWKS, refetched
//! when an unknown key id appears; `iss`, `aud`, `exp` and `iat` with a minute of clock
//! skew; the nonce), all done by the `openidconnect` crate. What a sign-in gives is kept by
//! [`crate::store::SignInStore`]; the HTTP side is `crate::http::signin`.

mod provider;

use provider::SettingsFile;
pub use provider::{Provider, ProviderSettings};

use crate::store::SignedInPerson;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError,
    TokenResponse,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a token from a sign-in lasts unless the operator says otherwise.
pub const DEFAULT_SESSION_SECS: u64 = 12 * 3600;
/// Clock skew allowed between this server and a provider.
const SKEW_SECS: i64 = 60;
/// A provider's discovery document is fetched again after this long.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// An unknown key id refetches the JWKS at most this often (a stream of forged key ids
/// must not turn into a stream of requests to the provider).
const JWKS_REFRESH_GAP: Duration = Duration::from_secs(10);

/// Why a provider's settings or a sign-in did not work. Each says what happened and what to
/// do.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The settings file or a provider in it is wrong.
    #[error("{0}")]
    Settings(String),
    /// No provider with this id.
    #[error("this server has no identity provider \"{0}\": use one of the sign-in buttons")]
    UnknownProvider(String),
    /// The provider could not be reached or did not answer in time.
    #[error("{0}'s sign-in service did not answer in time or could not be reached: try again in a few minutes; if it keeps happening, tell the server's operator")]
    Unreachable(String),
    /// The provider answered with something this server cannot use.
    #[error("{label}'s sign-in service answered in a way this server cannot use ({why}): tell the server's operator")]
    BadProvider {
        /// The provider's label.
        label: String,
        /// What was wrong.
        why: String,
    },
    /// The provider said no, or the person cancelled.
    #[error("{label} did not sign you in ({why}): try again, or ask your agency's IT if your account is disabled")]
    Declined {
        /// The provider's label.
        label: String,
        /// What it said.
        why: String,
    },
    /// The ID token failed a check.
    #[error("the sign-in from {label} could not be verified ({why}), so nothing was changed: try again; if it keeps happening, tell the server's operator")]
    Unverified {
        /// The provider's label.
        label: String,
        /// Which check failed.
        why: String,
    },
    /// The provider vouched for an email outside its agency's domains.
    #[error("{label} may vouch only for addresses at {domains}, not for {email}: sign in with your own agency's account")]
    Domain {
        /// The provider's label.
        label: String,
        /// The domains it may vouch for.
        domains: String,
        /// The address it gave.
        email: String,
    },
}

/// What the browser is sent to the provider with, and what the server keeps until it
/// returns.
#[derive(Debug)]
pub struct Started {
    /// The provider's authorization address.
    pub url: String,
    /// The `state` sent.
    pub state: String,
    /// The PKCE verifier.
    pub verifier: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
}

/// The providers this server offers; empty when it offers none (the room).
#[derive(Debug, Clone, Default)]
pub struct SignIn {
    providers: Vec<Arc<Provider>>,
    /// The address the providers send people back to (`PUBLIC_URL/auth/callback`).
    redirect: Option<String>,
    /// How long a sign-in's token lasts, in ms.
    pub session_ms: i64,
}

impl SignIn {
    /// Reads the providers from a settings file; `public_url` is the server's address, which
    /// each provider sends people back to.
    pub fn load(
        file: &Path,
        public_url: Option<&str>,
        session_secs: u64,
    ) -> Result<Self, SignInError> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            SignInError::Settings(format!(
                "cannot read the sign-in settings {}: {e}",
                file.display()
            ))
        })?;
        let parsed: SettingsFile = toml::from_str(&text).map_err(|e| {
            SignInError::Settings(format!(
                "the sign-in settings {} are not valid: {e}",
                file.display()
            ))
        })?;
        let Some(public_url) = public_url else {
            return Err(SignInError::Settings("signing in with providers needs --public-url: the address people open, which each provider is told to send them back to (PUBLIC_URL/auth/callback)".into()));
        };
        Self::new(parsed.provider, public_url, session_secs, |name| {
            std::env::var(name).ok()
        })
    }

    /// The providers from their settings (secrets read from files, or from `env`).
    pub fn new(
        settings: Vec<ProviderSettings>,
        public_url: &str,
        session_secs: u64,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SignInError> {
        if !(5..=7 * 24 * 3600).contains(&session_secs) {
            return Err(SignInError::Settings(
                "a sign-in lasts 5 seconds to 7 days (--sign-in-session-secs)".into(),
            ));
        }
        let mut providers: Vec<Arc<Provider>> = Vec::new();
        for s in settings {
            if providers.iter().any(|p| p.settings.id == s.id) {
                return Err(SignInError::Settings(format!(
                    "provider \"{}\": two providers have this id",
                    s.id
                )));
            }
            providers.push(Arc::new(Provider::from_settings(s, &env)?));
        }
        Ok(Self {
            providers,
            redirect: Some(format!(
                "{}/auth/callback",
                public_url.trim_end_matches('/')
            )),
            session_ms: session_secs as i64 * 1000,
        })
    }

    /// Whether the server offers no providers.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// The provider with this id.
    pub fn provider(&self, id: &str) -> Option<&Arc<Provider>> {
        self.providers.iter().find(|p| p.settings.id == id)
    }

    /// The providers' ids, in the settings' order.
    pub fn ids(&self) -> Vec<String> {
        self.providers
            .iter()
            .map(|p| p.settings.id.clone())
            .collect()
    }

    /// The buttons the join page shows.
    pub fn choices(&self) -> Vec<plansync_shared::ProviderChoice> {
        self.providers
            .iter()
            .map(|p| plansync_shared::ProviderChoice {
                id: p.settings.id.clone(),
                label: p.settings.label.clone(),
            })
            .collect()
    }

    fn redirect(&self) -> Result<RedirectUrl, SignInError> {
        let r = self
            .redirect
            .clone()
            .ok_or_else(|| SignInError::Settings("no redirect address: set --public-url".into()))?;
        RedirectUrl::new(r).map_err(|e| SignInError::Settings(e.to_string()))
    }

    /// Starts a sign-in with provider `id`: where to send the browser, and what to keep.
    pub async fn start(&self, id: &str) -> Result<Started, SignInError> {
        let p = self
            .provider(id)
            .ok_or_else(|| SignInError::UnknownProvider(id.to_string()))?;
        let client = CoreClient::from_provider_metadata(
            p.metadata().await?,
            ClientId::new(p.settings.client_id.clone()),
            Some(ClientSecret::new(p.secret.clone())),
        )
        .set_redirect_uri(self.redirect()?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
        })
    }

    /// Finishes a sign-in with provider `id`: exchanges the code (with the PKCE verifier),
    /// checks the ID token, and says who the provider vouched for.
    pub async fn finish(
        &self,
        id: &str,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<SignedInPerson, SignInError> {
        let p = self
            .provider(id)
            .ok_or_else(|| SignInError::UnknownProvider(id.to_string()))?;
        let label = p.settings.label.clone();
        let mut metadata = p.metadata().await?;
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(p.settings.client_id.clone()),
            Some(ClientSecret::new(p.secret.clone())),
        )
        .set_redirect_uri(self.redirect()?);
        let exchange = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| p.bad(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()));
        let token = exchange.request_async(&p.http).await.map_err(|e| match e {
            openidconnect::RequestTokenError::ServerResponse(r) => SignInError::Declined {
                label: label.clone(),
                why: format!(
                    "{}{}",
                    r.error(),
                    r.error_description()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ),
            },
            openidconnect::RequestTokenError::Request(_) => SignInError::Unreachable(label.clone()),
            other => p.bad(other.to_string()),
        })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| p.bad("no ID token in its answer".into()))?;
        let nonce = Nonce::new(nonce.to_string());
        let mut refreshed = false;
        let claims = loop {
            // Settled before any await: the checker's error is not `Send`.
            let outcome = match id_token
                .claims(&p.verifier(metadata.jwks().clone()), &nonce)
                .cloned()
            {
                Ok(c) => Ok(c),
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )) if !refreshed && p.may_refresh() => Err(None),
                Err(e) => Err(Some(unverified(&e))),
            };
            match outcome {
                Ok(c) => break c,
                // A key this server has not seen: the provider may have rotated its keys.
                Err(None) => {
                    refreshed = true;
                    metadata = p.refresh_keys(metadata).await?;
                }
                Err(Some(why)) => return Err(SignInError::Unverified { label, why }),
            }
        };
        let email = claims.email().map(|e| e.as_str().to_string());
        if !p.settings.email_domains.is_empty() {
            let allowed = email.as_deref().is_some_and(|e| {
                let domain = e.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
                claims.email_verified() != Some(false)
                    && p.settings
                        .email_domains
                        .iter()
                        .any(|d| Some(d.trim_start_matches('@').to_ascii_lowercase()) == domain)
            });
            if !allowed {
                return Err(SignInError::Domain {
                    label,
                    domains: p.settings.email_domains.join(", "),
                    email: email.unwrap_or_else(|| "an account with no verified email".into()),
                });
            }
        }
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().trim().to_string())
            .filter(|n| !n.is_empty())
            .or_else(|| email.clone())
            .unwrap_or_else(|| claims.subject().as_str().to_string());
        Ok(SignedInPerson {
            provider: p.settings.id.clone(),
            label: label.clone(),
            agency: p.settings.agency.clone().unwrap_or(label),
            issuer: claims.issuer().as_str().to_string(),
            subject: claims.subject().as_str().to_string(),
            name: name.chars().take(100).collect(),
            email,
        })
    }
}

/// A failed check in words.
fn unverified(e: &ClaimsVerificationError) -> String {
    match e {
        ClaimsVerificationError::Expired(_) => "the ID token has expired".into(),
        ClaimsVerificationError::InvalidAudience(_) => {
            "the ID token is for another application".into()
        }
        ClaimsVerificationError::InvalidIssuer(_) => "the ID token names another issuer".into(),
        ClaimsVerificationError::InvalidNonce(_) => {
            "the ID token is not the answer to this sign-in (nonce)".into()
        }
        ClaimsVerificationError::SignatureVerification(s) => match s {
            SignatureVerificationError::NoMatchingKey => {
                "the ID token is signed with a key the provider does not publish".into()
            }
            SignatureVerificationError::NoSignature => "the ID token is not signed".into(),
            SignatureVerificationError::DisallowedAlg(_)
            | SignatureVerificationError::UnsupportedAlg(_) => {
                "the ID token is signed in a way this server does not accept".into()
            }
            _ => "the ID token's signature is wrong".into(),
        },
        other => format!("the ID token failed a check: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(extra: &str) -> Result<SignIn, SignInError> {
        let text = format!(
            "[[provider]]\nid = \"riverton\"\nlabel = \"Riverton City Council\"\nissuer = \"https://login.example/t/v2.0\"\nclient_id = \"abc\"\n{extra}"
        );
        let parsed: SettingsFile =
            toml::from_str(&text).map_err(|e| SignInError::Settings(e.to_string()))?;
        SignIn::new(parsed.provider, "https://plans.example", 3600, |name| {
            (name == "RIVERTON_SECRET").then(|| "s3cret".to_string())
        })
    }

    #[test]
    fn provider_settings_take_the_secret_from_the_environment_or_a_file_and_refuse_what_is_wrong_by_name(
    ) {
        let ok = one("client_secret_env = \"RIVERTON_SECRET\"").unwrap();
        assert_eq!(ok.ids(), vec!["riverton".to_string()]);
        assert_eq!(ok.choices()[0].label, "Riverton City Council");
        assert_eq!(
            ok.redirect.as_deref(),
            Some("https://plans.example/auth/callback")
        );
        let refused = |extra: &str, words: &str| {
            let e = one(extra).expect_err(extra).to_string();
            assert!(e.contains(words), "{extra}: {e}");
        };
        refused(
            "client_secret = \"in the file\"",
            "never in the settings file",
        );
        refused(
            "",
            "exactly one of client_secret_file and client_secret_env",
        );
        refused("client_secret_env = \"UNSET_VAR\"", "UNSET_VAR");
        refused("client_secret_file = \"/no/such/file\"", "/no/such/file");
        refused(
            "client_secret_env = \"RIVERTON_SECRET\"\nscopes = [\"x\"]",
            "unknown field",
        );
        let bad_issuer = "[[provider]]\nid = \"x\"\nlabel = \"X\"\nissuer = \"ftp://x\"\nclient_id = \"a\"\nclient_secret_env = \"RIVERTON_SECRET\"\n";
        let parsed: SettingsFile = toml::from_str(bad_issuer).unwrap();
        let e = SignIn::new(parsed.provider, "https://p", 3600, |_| Some("s".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an http(s) address"), "{e}");
        let parsed: SettingsFile = toml::from_str(bad_issuer).unwrap();
        assert!(SignIn::new(parsed.provider, "https://p", 1, |_| Some("s".into())).is_err());
    }
}
