//! Signing in with an agency's provider, over HTTP: the buttons (`GET /api/providers`),
//! sending the browser to the provider (`GET /auth/{provider}/start`), its return
//! (`GET /auth/callback`), handing the tokens to the app (`POST /api/sign-in/finish`) and
//! signing out (`POST /api/sign-out`). The browser comes back to the app with a one-time
//! code, never a token, in its address.

use super::{request_tokens, AppError, Membership};
use crate::access::{hash_token, new_token, normalize_code, JoinRefused};
use crate::signin::SignInError;
use crate::store::JoinError;
use crate::store::SignInFlow;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
pub use plansync_shared::api::{CallbackQuery, SignedIn, StartQuery};
use plansync_shared::{FinishSignIn, ProviderChoice};

/// The cookie that ties a provider's return to the browser that set off: one per flow
/// (named by its state's hash), so two tabs signing in at once do not trip each other.
fn browser_cookie(state_hash: &str) -> String {
    format!(
        "plansync_sign_in_{}",
        &state_hash[..16.min(state_hash.len())]
    )
}
/// How long the app has to take its tokens after the browser comes back.
const HANDOFF_MS: i64 = 2 * 60 * 1000;
/// The longest return address kept.
const MAX_RETURN: usize = 300;

/// A failed step of a sign-in, shown to the person as a page (the browser is on its way
/// between the provider and the app): what happened and what to do.
pub struct Failed(StatusCode, String);

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        let text = self
            .1
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        let page = format!(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Sign-in did not work · Plansync</title>\
             <main style=\"font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em\"><h1>Sign-in did not work</h1><p id=\"why\">{text}</p><p><a href=\"/\">Back to Plansync</a></p></main></html>"
        );
        let mut r = (self.0, axum::response::Html(page)).into_response();
        r.headers_mut().insert(
            header::SET_COOKIE,
            header::HeaderValue::from_static(
                "plansync_sign_in=; Path=/auth; Max-Age=0; HttpOnly; SameSite=Lax",
            ),
        );
        r
    }
}

impl From<SignInError> for Failed {
    fn from(e: SignInError) -> Self {
        let status = match &e {
            SignInError::Unreachable(_) | SignInError::BadProvider { .. } => {
                StatusCode::BAD_GATEWAY
            }
            SignInError::Domain { .. } | SignInError::Declined { .. } => StatusCode::FORBIDDEN,
            SignInError::UnknownProvider(_) => StatusCode::NOT_FOUND,
            SignInError::Unverified { .. } => StatusCode::BAD_REQUEST,
            SignInError::Settings(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        tracing::warn!(error = %e, "a sign-in failed");
        Failed(status, e.to_string())
    }
}

impl From<crate::store::StoreError> for Failed {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "a sign-in could not be stored");
        Failed(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server could not finish the sign-in; nothing was changed. Try again; the server's log has the details.".into(),
        )
    }
}

/// `GET /api/providers`: the providers people may sign in with (none in the room).
pub async fn list_providers(State(state): State<AppState>) -> Json<Vec<ProviderChoice>> {
    Json(state.sign_in.choices())
}

/// Whether `to` is an address inside this app (`/`, `/#/...`): anything that could leave
/// the site (`//host`, `https:`, a backslash, control characters) is refused.
pub fn is_app_address(to: &str) -> bool {
    to.len() <= MAX_RETURN
        && (to == "/" || to.starts_with("/#/"))
        && !to.contains('\\')
        && !to[1..].contains("//")
        && !to.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// `GET /auth/{provider}/start`: sends the browser to the provider, with a fresh `state`,
/// `nonce` and PKCE challenge, and a cookie that only this browser holds.
pub async fn start_sign_in(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(q): Query<StartQuery>,
) -> Result<Response, Failed> {
    let return_to = q.return_to.unwrap_or_else(|| "/#/".into());
    if !is_app_address(&return_to) {
        return Err(Failed(
            StatusCode::BAD_REQUEST,
            "The address to come back to after signing in must be a page of Plansync on this server; open the sign-in from the app.".into(),
        ));
    }
    let invitation = match q.invitation.as_deref().filter(|c| !c.trim().is_empty()) {
        None => None,
        Some(typed) => Some(normalize_code(typed).ok_or_else(|| {
            Failed(
                StatusCode::BAD_REQUEST,
                "That invitation code is not in the form of one (ABCD-EFGH-JK): check it with the person who invited you.".into(),
            )
        })?),
    };
    let started = state.sign_in.start(&provider).await?;
    let browser = new_token(&mut rand::rng());
    let state_hash = hash_token(&started.state);
    let name = browser_cookie(&state_hash);
    state
        .store
        .begin_sign_in(SignInFlow {
            state_hash,
            browser_hash: hash_token(&browser),
            provider,
            verifier: started.verifier,
            nonce: started.nonce,
            invitation,
            return_to,
            created_ms: crate::now_ms(),
        })
        .await?;
    let secure = if state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{name}={browser}; Path=/auth; Max-Age=600; HttpOnly; SameSite=Lax{secure}");
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, started.url),
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".into()),
        ],
    )
        .into_response())
}

/// The value of one cookie in a request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `GET /auth/callback`: the provider sends the browser back. The flow is taken once (a
/// replayed return finds nothing), must have been set off by this browser, and the ID
/// token must pass every check; then the person's participants get a one-time code the app
/// exchanges for their tokens.
pub async fn sign_in_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, Failed> {
    let again = |why: &str| {
        Failed(
            StatusCode::BAD_REQUEST,
            format!("{why}: start the sign-in again from Plansync."),
        )
    };
    let Some(st) = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 200)
    else {
        return Err(again(
            "The sign-in came back without the state it was sent with",
        ));
    };
    let now = crate::now_ms();
    let Some(flow) = state.store.take_sign_in(hash_token(st), now).await? else {
        return Err(again("This sign-in is not one this server started, was finished already, or took longer than 10 minutes"));
    };
    let name = browser_cookie(&flow.state_hash);
    let browser = cookie(&headers, &name).unwrap_or_default();
    if browser.is_empty() || hash_token(&browser) != flow.browser_hash {
        tracing::warn!(provider = %flow.provider, "a sign-in came back to another browser than the one that started it");
        return Err(again("This sign-in was started in another browser (or this browser does not keep cookies for this site)"));
    }
    let Some(label) = state
        .sign_in
        .provider(&flow.provider)
        .map(|p| p.label().to_string())
    else {
        return Err(SignInError::UnknownProvider(flow.provider).into());
    };
    if let Some(error) = q.error {
        let why = q.error_description.unwrap_or(error);
        return Err(SignInError::Declined {
            label,
            why: why.chars().take(200).collect(),
        }
        .into());
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Err(again(
            "The provider sent the browser back without a sign-in code",
        ));
    };
    let who = state
        .sign_in
        .finish(&flow.provider, &code, &flow.verifier, &flow.nonce)
        .await?;
    let unusable = hash_token(&new_token(&mut rand::rng()));
    let found = match state
        .store
        .sign_in(who.clone(), flow.invitation.clone(), unusable, now)
        .await
    {
        Ok(found) => found,
        Err(JoinError::Storage(e)) => return Err(e.into()),
        Err(JoinError::Refused(
            e @ (JoinRefused::OtherProvider | JoinRefused::Expired | JoinRefused::UsedUp),
        )) => return Err(Failed(StatusCode::FORBIDDEN, e.to_string())),
        Err(_) => return Err(Failed(StatusCode::FORBIDDEN, super::WRONG_CODE.into())),
    };
    if found.is_empty() {
        return Err(Failed(
            StatusCode::FORBIDDEN,
            format!(
                "You signed in as {} with {}, but no plan on this server knows you through {} yet: open the invitation link an owner of your plan gave you, or ask them for one.",
                who.name, who.label, who.label
            ),
        ));
    }
    tracing::info!(provider = %who.provider, participants = found.len(), "a person signed in");
    let handoff = new_token(&mut rand::rng());
    state
        .store
        .add_handoff(
            hash_token(&handoff),
            found.iter().map(|p| p.id).collect(),
            flow.return_to.clone(),
            now + HANDOFF_MS,
        )
        .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, format!("/#/signed-in/{handoff}")),
            (
                header::SET_COOKIE,
                format!("{name}=; Path=/auth; Max-Age=0; HttpOnly; SameSite=Lax"),
            ),
            (header::CACHE_CONTROL, "no-store".into()),
        ],
    )
        .into_response())
}

/// `POST /api/sign-in/finish`: exchanges the one-time code for the person's tokens (each
/// ends after the server's sign-in time).
pub async fn finish_sign_in(
    State(state): State<AppState>,
    body: Result<Json<FinishSignIn>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<SignedIn>, AppError> {
    let Json(body) = body?;
    let now = crate::now_ms();
    let Some((ids, return_to)) = state
        .store
        .take_handoff(hash_token(body.code.trim()), now)
        .await?
    else {
        return Err(AppError::Unauthorized(
            "That sign-in was finished already or is too old: sign in again.".into(),
        ));
    };
    let plans = state.store.plans().await?;
    let mut memberships = Vec::new();
    for id in ids {
        let Some(p) = state.store.participant(id).await? else {
            continue;
        };
        let Some(plan) = plans.iter().find(|row| row.id == p.plan).cloned() else {
            continue;
        };
        let token = new_token(&mut rand::rng());
        let ends = now + state.sign_in.session_ms;
        state
            .store
            .add_session(hash_token(&token), p.id, now, ends)
            .await?;
        memberships.push(Membership {
            plan,
            participant: crate::access::Participant {
                session_ends: Some(ends),
                ..p
            },
            token,
        });
    }
    Ok(Json(SignedIn {
        memberships,
        return_to,
    }))
}

/// `POST /api/sign-out`: ends the sign-in tokens the request carries, on the server, at
/// once (a code's token is the person's only key and stays).
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, AppError> {
    let hashes: Vec<String> = request_tokens(&headers)
        .iter()
        .map(|t| hash_token(t))
        .collect();
    if hashes.is_empty() {
        return Err(AppError::Unauthorized(
            "Signing out needs the token to end.".into(),
        ));
    }
    state.store.end_sessions(hashes).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::is_app_address;

    #[test]
    fn only_addresses_inside_the_app_are_returned_to() {
        for ok in ["/", "/#/", "/#/plan/abc/tracker?compare=3"] {
            assert!(is_app_address(ok), "{ok}");
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/#/x//evil",
            "javascript:alert(1)",
            "/api/plans",
            "/#/a b",
            "",
        ] {
            assert!(!is_app_address(bad), "{bad}");
        }
    }
}
