//! Real OpenID providers for the tests: `oidc-provider` from npm (tests/js/oidc.mjs), one
//! issuer per agency on loopback, each with its own signing key; and a browser-less
//! sign-in that goes through their real login pages with a cookie jar, as a browser would.

use crate::smtp::free_port;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One issuer: an agency's provider.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// Its id in the server's settings (`riverton`).
    pub id: String,
    /// Its label ("Riverton City Council").
    pub label: String,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The client id registered for Plansync.
    pub client_id: String,
    /// Its client secret.
    pub secret: String,
    /// Email domains the server lets it vouch for (any when empty).
    pub domains: Vec<String>,
}

impl Issuer {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Running providers; killed when dropped.
pub struct Providers {
    child: Child,
    dir: tempfile::TempDir,
    /// The issuers, in the order given.
    pub issuers: Vec<Issuer>,
}

impl Providers {
    /// Starts one issuer per `(id, label, domains)`, each telling browsers to return to
    /// `public_url/auth/callback`.
    pub fn start(public_url: &str, agencies: &[(&str, &str, &[&str])]) -> Self {
        let issuers: Vec<Issuer> = agencies
            .iter()
            .map(|(id, label, domains)| Issuer {
                id: id.to_string(),
                label: label.to_string(),
                port: free_port(),
                client_id: format!("plansync-{id}"),
                secret: format!("secret-of-{id}-{}", rand::random::<u64>()),
                domains: domains.iter().map(|d| d.to_string()).collect(),
            })
            .collect();
        let redirect = format!("{}/auth/callback", public_url.trim_end_matches('/'));
        let spec: Vec<serde_json::Value> = issuers
            .iter()
            .map(|i| {
                serde_json::json!({
                    "port": i.port, "client_id": i.client_id,
                    "client_secret": i.secret, "redirect_uri": redirect,
                })
            })
            .collect();
        let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
        let mut child = Command::new("node")
            .arg(js.join("oidc.mjs"))
            .arg(serde_json::Value::Array(spec).to_string())
            .current_dir(&js)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs tests/js/oidc.mjs");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l.contains("\"ready\"") => break,
                Ok(_) => {}
                Err(_) => panic!("the OpenID providers did not start within 30 s"),
            }
        }
        Self {
            child,
            dir: tempfile::tempdir().expect("temp dir"),
            issuers,
        }
    }

    /// The issuer with this id.
    pub fn issuer(&self, id: &str) -> &Issuer {
        self.issuers.iter().find(|i| i.id == id).expect("an issuer")
    }

    /// Writes the server's settings file (secrets in files beside it) and returns its path;
    /// `timeout_secs` bounds each call to a provider.
    pub fn settings_file(&self, timeout_secs: u64) -> PathBuf {
        let mut toml = String::new();
        for i in &self.issuers {
            let secret = self.dir.path().join(format!("{}.secret", i.id));
            std::fs::write(&secret, format!("{}\n", i.secret)).expect("secret file");
            let domains: Vec<String> = i.domains.iter().map(|d| format!("{d:?}")).collect();
            toml.push_str(&format!(
                "[[provider]]\nid = {:?}\nlabel = {:?}\nissuer = {:?}\nclient_id = {:?}\nclient_secret_file = {:?}\nemail_domains = [{}]\ntimeout_secs = {timeout_secs}\n\n",
                i.id,
                i.label,
                i.url(),
                i.client_id,
                secret.display().to_string(),
                domains.join(", ")
            ));
        }
        let path = self.dir.path().join("providers.toml");
        std::fs::write(&path, toml).expect("settings file");
        path
    }

    /// Sends one of the test-only switches to an issuer (`tamper`, `disable`, `stall`).
    pub fn switch(&self, id: &str, what: &str, body: serde_json::Value) {
        let i = self.issuer(id);
        let (status, _) = crate::http_blocking(
            &format!("127.0.0.1:{}", i.port),
            "POST",
            &format!("/__test/{what}"),
            None,
            Some(&body),
        );
        assert_eq!(status, 204, "the provider took the switch {what}");
    }
}

impl Drop for Providers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer: status, where it sends the browser, and its body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header, made absolute.
    pub location: Option<String>,
    /// The body as text.
    pub body: String,
}

/// A browser without a screen: follows the provider's pages and keeps cookies per host (as
/// a browser does, whatever the port), never following a redirect on its own.
pub struct Walker {
    client: reqwest::Client,
    jar: Mutex<BTreeMap<String, String>>,
}

impl Default for Walker {
    fn default() -> Self {
        Self::new()
    }
}

impl Walker {
    /// A walker with an empty cookie jar.
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            jar: Mutex::new(BTreeMap::new()),
        }
    }

    /// Forgets every cookie (another browser).
    pub fn forget_cookies(&self) {
        self.jar.lock().unwrap().clear();
    }

    fn cookies(&self) -> String {
        self.jar
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn take(&self, url: &str, res: reqwest::Response) -> Answer {
        let status = res.status().as_u16();
        for c in res.headers().get_all("set-cookie") {
            let Ok(c) = c.to_str() else { continue };
            let first = c.split(';').next().unwrap_or_default();
            let Some((k, v)) = first.split_once('=') else {
                continue;
            };
            let gone = v.is_empty() || c.to_ascii_lowercase().contains("max-age=0");
            let mut jar = self.jar.lock().unwrap();
            if gone {
                jar.remove(k.trim());
            } else {
                jar.insert(k.trim().to_string(), v.to_string());
            }
        }
        let location = res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(|l| {
                reqwest::Url::parse(url)
                    .and_then(|base| base.join(l))
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| l.to_string())
            });
        let body = res.text().await.unwrap_or_default();
        Answer {
            status,
            location,
            body,
        }
    }

    /// `GET url` with the jar's cookies.
    pub async fn get(&self, url: &str) -> Answer {
        let res = self
            .client
            .get(url)
            .header("cookie", self.cookies())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.take(url, res).await
    }

    /// `POST url` with a form.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Answer {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let res = self
            .client
            .post(url)
            .header("cookie", self.cookies())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.take(url, res).await
    }

    /// Starts a sign-in at `server` with `provider` and signs in at the provider's login
    /// page as `login`: the address the provider sends the browser back to (the server's
    /// callback, not yet opened), or the last answer if it never sends it back.
    pub async fn to_callback(
        &self,
        server: &str,
        provider: &str,
        invitation: Option<&str>,
        login: &str,
    ) -> Result<String, Answer> {
        let mut start = format!("{}/auth/{provider}/start", server.trim_end_matches('/'));
        if let Some(code) = invitation {
            start.push_str(&format!("?invitation={code}"));
        }
        let mut answer = self.get(&start).await;
        let callback = format!("{}/auth/callback", server.trim_end_matches('/'));
        let mut here = start;
        for _ in 0..12 {
            if let Some(next) = answer.location.clone() {
                if next.starts_with(&callback) {
                    return Ok(next);
                }
                here = next.clone();
                answer = self.get(&next).await;
                continue;
            }
            if answer.status != 200 {
                return Err(answer);
            }
            // A login or consent page of the provider: submit its form.
            let action = form_action(&answer.body).unwrap_or_else(|| here.clone());
            let action = reqwest::Url::parse(&here)
                .and_then(|b| b.join(&action))
                .map(|u| u.to_string())
                .unwrap_or(action);
            answer = if answer.body.contains("value=\"login\"") {
                self.post_form(
                    &action,
                    &[("prompt", "login"), ("login", login), ("password", "pw")],
                )
                .await
            } else if answer.body.contains("value=\"consent\"") {
                self.post_form(&action, &[("prompt", "consent")]).await
            } else {
                return Err(answer);
            };
            here = action;
        }
        Err(answer)
    }

    /// A whole sign-in: to the callback and through it. The server's answer to the callback
    /// (a redirect into the app with a one-time code, or a page saying what went wrong).
    pub async fn sign_in(
        &self,
        server: &str,
        provider: &str,
        invitation: Option<&str>,
        login: &str,
    ) -> Answer {
        match self.to_callback(server, provider, invitation, login).await {
            Ok(callback) => self.get(&callback).await,
            Err(answer) => answer,
        }
    }
}

/// The one-time code in the app address a successful sign-in sends the browser to.
pub fn handoff_code(answer: &Answer) -> Option<String> {
    answer
        .location
        .as_deref()?
        .split("#/signed-in/")
        .nth(1)
        .map(str::to_string)
}

fn form_action(html: &str) -> Option<String> {
    let at = html.find("action=\"")? + 8;
    let end = html[at..].find('"')? + at;
    Some(html[at..end].replace("&amp;", "&"))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A central server offering two agencies' providers: "riverton" (Riverton City Council,
/// vouching only for riverton.test addresses) and "fire" (Riverton Fire and Rescue, any
/// address). Sign-ins last `session_secs`; each call to a provider waits at most
/// `timeout_secs`. The providers, the server and its address.
pub fn central_with_providers(
    dir: &Path,
    session_secs: u64,
    timeout_secs: u64,
) -> (Providers, crate::Server, String) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let providers = Providers::start(
        &url,
        &[
            ("riverton", "Riverton City Council", &["riverton.test"]),
            ("fire", "Riverton Fire and Rescue", &[]),
        ],
    );
    let settings = providers.settings_file(timeout_secs);
    let session = session_secs.to_string();
    let server = crate::Server::start_on(
        &dir.join("central.db"),
        &format!("127.0.0.1:{port}"),
        &[
            "--public-url",
            &url,
            "--sign-in-providers",
            settings.to_str().expect("a path"),
            "--sign-in-session-secs",
            &session,
        ],
    );
    (providers, server, url)
}
