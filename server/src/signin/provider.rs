//! One identity provider: its settings, its discovery document and keys (fetched and
//! refreshed on demand), and the verifier of its ID tokens.

use super::*;

/// One provider as the settings file gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// Short id used in addresses and invitations (`riverton`).
    pub id: String,
    /// What people see on the button ("Riverton City Council").
    pub label: String,
    /// The issuer URL (discovery is at ISSUER/.well-known/openid-configuration).
    pub issuer: String,
    /// The client id registered there.
    pub client_id: String,
    /// A file holding the client secret.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// An environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Never allowed: a secret written in the settings file itself.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The email domains it may vouch for (any when empty).
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// The agency a new participant is of (the label when left out).
    #[serde(default)]
    pub agency: Option<String>,
    /// Seconds to wait for the provider's answers (10 when left out).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SettingsFile {
    #[serde(default)]
    pub(super) provider: Vec<ProviderSettings>,
}

/// A provider, ready to sign people in.
pub struct Provider {
    pub(super) settings: ProviderSettings,
    pub(super) secret: String,
    pub(super) http: openidconnect::reqwest::Client,
    found: tokio::sync::Mutex<Option<(CoreProviderMetadata, Instant)>>,
    refreshed: std::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("id", &self.settings.id)
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// A provider from its settings, checked, with its client secret read from a file or
    /// from `env`.
    pub(super) fn from_settings(
        s: ProviderSettings,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SignInError> {
        let bad = |why: String| SignInError::Settings(format!("provider \"{}\": {why}", s.id));
        if s.id.is_empty()
            || s.id.len() > 40
            || !s
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad("id must be 1 to 40 letters, digits, - or _".into()));
        }
        if s.label.trim().is_empty() || s.label.chars().count() > 100 {
            return Err(bad(
                "label must be 1 to 100 characters, such as \"Riverton City Council\"".into(),
            ));
        }
        IssuerUrl::new(s.issuer.clone())
            .ok()
            .filter(|u| matches!(u.url().scheme(), "https" | "http"))
            .ok_or_else(|| bad(format!("issuer {} is not an http(s) address", s.issuer)))?;
        if s.client_id.trim().is_empty() {
            return Err(bad("client_id is empty".into()));
        }
        if s.client_secret.is_some() {
            return Err(bad("put the client secret in a file (client_secret_file) or an environment variable (client_secret_env), never in the settings file".into()));
        }
        let secret = match (&s.client_secret_file, &s.client_secret_env) {
            (Some(f), None) => std::fs::read_to_string(f)
                .map_err(|e| {
                    bad(format!(
                        "cannot read client_secret_file {}: {e}",
                        f.display()
                    ))
                })?
                .trim()
                .to_string(),
            (None, Some(name)) => env(name)
                .ok_or_else(|| {
                    bad(format!(
                        "the environment variable {name} (client_secret_env) is not set"
                    ))
                })?
                .trim()
                .to_string(),
            _ => {
                return Err(bad(
                    "give exactly one of client_secret_file and client_secret_env".into(),
                ))
            }
        };
        if secret.is_empty() {
            return Err(bad("the client secret is empty".into()));
        }
        let timeout = Duration::from_secs(s.timeout_secs.unwrap_or(10).clamp(1, 60));
        let http = openidconnect::reqwest::Client::builder()
            // Following redirects would let a provider send this server anywhere.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .build()
            .map_err(|e| bad(format!("cannot make an HTTP client: {e}")))?;
        Ok(Provider {
            settings: s,
            secret,
            http,
            found: tokio::sync::Mutex::new(None),
            refreshed: std::sync::Mutex::new(None),
        })
    }

    /// What people see ("Riverton City Council").
    pub fn label(&self) -> &str {
        &self.settings.label
    }

    pub(super) fn bad(&self, why: String) -> SignInError {
        SignInError::BadProvider {
            label: self.settings.label.clone(),
            why,
        }
    }

    /// The discovery document (with its JWKS), fetched once an hour.
    pub(super) async fn metadata(&self) -> Result<CoreProviderMetadata, SignInError> {
        let mut found = self.found.lock().await;
        if let Some((m, at)) = found.as_ref() {
            if at.elapsed() < METADATA_TTL {
                return Ok(m.clone());
            }
        }
        let issuer =
            IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| self.bad(e.to_string()))?;
        let m = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| match e {
                openidconnect::DiscoveryError::Request(_) => {
                    SignInError::Unreachable(self.settings.label.clone())
                }
                other => self.bad(format!("discovery: {other}")),
            })?;
        *found = Some((m.clone(), Instant::now()));
        Ok(m)
    }

    /// Whether an unknown key id may refetch the JWKS now (at most once every few seconds).
    pub(super) fn may_refresh(&self) -> bool {
        let mut last = self.refreshed.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < JWKS_REFRESH_GAP) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Fetches the JWKS again and keeps it.
    pub(super) async fn refresh_keys(
        &self,
        metadata: CoreProviderMetadata,
    ) -> Result<CoreProviderMetadata, SignInError> {
        let jwks = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| match e {
                openidconnect::DiscoveryError::Request(_) => {
                    SignInError::Unreachable(self.settings.label.clone())
                }
                other => self.bad(format!("keys: {other}")),
            })?;
        let m = metadata.set_jwks(jwks);
        *self.found.lock().await = Some((m.clone(), Instant::now()));
        tracing::info!(provider = %self.settings.id, "fetched the provider's signing keys again (an unknown key id)");
        Ok(m)
    }

    /// The ID token checks: the provider's published keys with asymmetric algorithms only
    /// (never `none`, never HS256, whose secret would be guessable from a public key), the
    /// issuer, this client as the audience, `exp` and `iat` with a minute of skew.
    pub(super) fn verifier(&self, jwks: CoreJsonWebKeySet) -> CoreIdTokenVerifier<'static> {
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).expect("checked at start");
        CoreIdTokenVerifier::new_public_client(
            ClientId::new(self.settings.client_id.clone()),
            issuer,
            jwks,
        )
        .set_allowed_algs([
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
            CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            CoreJwsSigningAlgorithm::RsaSsaPssSha384,
            CoreJwsSigningAlgorithm::RsaSsaPssSha512,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        ])
        .set_time_fn(|| chrono::Utc::now() - chrono::Duration::seconds(SKEW_SECS))
        .set_issue_time_verifier_fn(|iat| {
            if iat > chrono::Utc::now() + chrono::Duration::seconds(SKEW_SECS) {
                Err("issued in the future".into())
            } else {
                Ok(())
            }
        })
    }
}
