//! Calls to the server's HTTP API.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// One plan as `/api/plans` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanEntry {
    /// Document id.
    pub id: String,
    /// Plan title.
    pub title: String,
    /// `automerge:` URL.
    pub url: String,
    /// Lifecycle stage.
    pub stage: String,
    /// My role in it, when the server listed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// A participant of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// Participant id.
    pub id: i64,
    /// Plan id.
    pub plan: String,
    /// Name.
    pub name: String,
    /// Agency.
    pub agency: String,
    /// viewer, editor or owner.
    pub role: String,
    /// person, or server (a relaying server such as a workshop laptop).
    #[serde(default)]
    pub kind: Option<String>,
    /// The provider's label when they signed in with their agency; none for a code.
    #[serde(default)]
    pub signed_in_with: Option<String>,
    /// The provider's id.
    #[serde(default)]
    pub provider: Option<String>,
    /// When they last signed in with their provider, ms since the epoch.
    #[serde(default)]
    pub last_sign_in: Option<f64>,
    /// When this token ends (a sign-in's), ms since the epoch.
    #[serde(default)]
    pub session_ends: Option<f64>,
}

impl Participant {
    /// How the server knows them (none for a relaying server).
    pub fn known(&self) -> Option<plansync_shared::Known> {
        plansync_shared::Known::of_participant(
            self.kind.as_deref().unwrap_or("person"),
            self.signed_in_with.as_deref(),
        )
    }
}

/// What joining or creating a plan gives.
#[derive(Debug, Clone, Deserialize)]
pub struct Joined {
    /// The plan.
    pub plan: PlanEntry,
    /// Me in it.
    pub participant: Participant,
    /// My token.
    pub token: String,
}

impl Joined {
    /// Keeps the membership in this browser.
    pub fn keep(&self) {
        crate::membership::add(crate::membership::Membership {
            plan: self.plan.id.clone(),
            token: self.token.clone(),
            role: self.participant.role.clone(),
            participant: self.participant.id,
            ends: self.participant.session_ends,
            provider: self.participant.provider.clone(),
            signed_in_with: self.participant.signed_in_with.clone(),
        });
    }
}

/// An invitation, with its link and QR code.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InvitationView {
    /// Id.
    pub id: i64,
    /// Role it gives.
    pub role: String,
    /// Code to type.
    pub code: String,
    /// Expiry, ms since the epoch.
    pub expires: f64,
    /// Uses left.
    pub uses_left: i64,
    /// Join link.
    pub link: String,
    /// QR code of the link (SVG).
    pub qr_svg: String,
    /// Whether joining needs a sign-in with an agency's account.
    #[serde(default)]
    pub sign_in: plansync_shared::SignInRule,
}

const OFFLINE: &str = "The Plansync server cannot be reached just now.";

async fn call(method: &str, path: &str, body: Option<String>) -> Result<String, String> {
    request(method, path, body.map(|b| (b.into(), "application/json"))).await
}

/// Sends a request with any body (a file, as bytes) and my tokens; the answer's text, or
/// the server's error in words.
async fn request(
    method: &str,
    path: &str,
    body: Option<(wasm_bindgen::JsValue, &str)>,
) -> Result<String, String> {
    let resp = send(method, path, body).await?;
    JsFuture::from(resp.text().map_err(|_| OFFLINE.to_string())?)
        .await
        .map(|t| t.as_string().unwrap_or_default())
        .map_err(|_| OFFLINE.to_string())
}

/// Sends a request with my tokens in the `Authorization` header; the response if the
/// server took it, or its error in words.
async fn send(
    method: &str,
    path: &str,
    body: Option<(wasm_bindgen::JsValue, &str)>,
) -> Result<web_sys::Response, String> {
    let offline = |_| OFFLINE.to_string();
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(offline)?;
    let tokens = crate::membership::tokens();
    if !tokens.is_empty() {
        headers
            .set("authorization", &format!("Bearer {}", tokens.join(",")))
            .map_err(offline)?;
    }
    if let Some((body, content_type)) = body {
        init.set_body(&body);
        headers.set("content-type", content_type).map_err(offline)?;
    }
    init.set_headers(&headers);
    let req = web_sys::Request::new_with_str_and_init(path, &init).map_err(offline)?;
    let resp = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(offline)?;
    let resp: web_sys::Response = resp
        .dyn_into()
        .map_err(|_| "unexpected response".to_string())?;
    if !resp.ok() {
        let text = JsFuture::from(resp.text().map_err(offline)?)
            .await
            .map_err(offline)?
            .as_string()
            .unwrap_or_default();
        let detail = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {}", resp.status()));
        return Err(format!("The server refused: {detail}."));
    }
    Ok(resp)
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("The server's answer could not be read: {e}"))
}

/// `GET /api/plans`: the plans my tokens belong to (none without a token); the server's
/// word on my role in each is kept.
pub async fn fetch_plans() -> Result<Vec<PlanEntry>, String> {
    if crate::membership::tokens().is_empty() {
        return Ok(Vec::new());
    }
    let plans: Vec<PlanEntry> = parse(&call("GET", "/api/plans", None).await?)?;
    for p in &plans {
        if let Some(role) = &p.role {
            crate::membership::set_role(&p.id, role);
        }
    }
    Ok(plans)
}

/// `POST /api/plans`: a new empty plan with this title, or the demo plan; I become its owner.
pub async fn create_plan(title: Option<String>) -> Result<Joined, String> {
    let body = match title {
        Some(t) => serde_json::json!({ "title": t }),
        None => serde_json::json!({ "demo": true }),
    };
    let joined: Joined = parse(&call("POST", "/api/plans", Some(body.to_string())).await?)?;
    joined.keep();
    Ok(joined)
}

/// `POST /api/join`: exchanges an invitation code for a membership, kept in this browser.
pub async fn join(code: &str, name: &str, agency: &str) -> Result<Joined, String> {
    let body = serde_json::json!({ "code": code, "name": name, "agency": agency });
    let joined: Joined = parse(&call("POST", "/api/join", Some(body.to_string())).await?)?;
    joined.keep();
    Ok(joined)
}

/// `GET /api/providers`: the agencies' providers this server lets people sign in with.
pub async fn providers() -> Result<Vec<plansync_shared::ProviderChoice>, String> {
    parse(&call("GET", "/api/providers", None).await?)
}

/// What finishing a sign-in gives: my membership of each plan, and where to go.
#[derive(Debug, Clone, Deserialize)]
pub struct SignedIn {
    /// One per plan.
    pub memberships: Vec<Joined>,
    /// The app's address to open (`/#/...`).
    pub return_to: String,
}

/// `POST /api/sign-in/finish`: the one-time code the server sent the browser back with,
/// for my tokens; each membership is kept in this browser.
pub async fn finish_sign_in(code: &str) -> Result<SignedIn, String> {
    let body = serde_json::to_string(&plansync_shared::FinishSignIn { code: code.into() })
        .map_err(|e| e.to_string())?;
    let signed: SignedIn = parse(&call("POST", "/api/sign-in/finish", Some(body)).await?)?;
    for m in &signed.memberships {
        m.keep();
    }
    Ok(signed)
}

/// `POST /api/sign-out`: ends my sign-in tokens on the server, then forgets them here.
pub async fn sign_out() -> Result<(), String> {
    call("POST", "/api/sign-out", None).await?;
    crate::membership::forget_signed_in();
    Ok(())
}

/// Where a button "Sign in with …" goes: the server sends the browser to the provider and
/// back to `back_to` in the app.
pub fn sign_in_address(provider: &str, invitation: Option<&str>, back_to: &str) -> String {
    let enc = |s: &str| String::from(js_sys::encode_uri_component(s));
    let mut url = format!("/auth/{}/start?return={}", enc(provider), enc(back_to));
    if let Some(code) = invitation.filter(|c| !c.trim().is_empty()) {
        url.push_str(&format!("&invitation={}", enc(code.trim())));
    }
    url
}

/// `GET /api/plans/{plan}/participants`.
pub async fn participants(plan: &str) -> Result<Vec<Participant>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/participants"), None).await?)
}

/// `PATCH /api/plans/{plan}/participants/{id}`.
pub async fn set_role(plan: &str, id: i64, role: &str) -> Result<Vec<Participant>, String> {
    let body = serde_json::json!({ "role": role }).to_string();
    parse(
        &call(
            "PATCH",
            &format!("/api/plans/{plan}/participants/{id}"),
            Some(body),
        )
        .await?,
    )
}

/// `DELETE /api/plans/{plan}/participants/{id}`.
pub async fn revoke(plan: &str, id: i64) -> Result<Vec<Participant>, String> {
    parse(
        &call(
            "DELETE",
            &format!("/api/plans/{plan}/participants/{id}"),
            None,
        )
        .await?,
    )
}

/// `GET /api/plans/{plan}/invitations`.
pub async fn invitations(plan: &str) -> Result<Vec<InvitationView>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/invitations"), None).await?)
}

/// `POST /api/plans/{plan}/invitations`.
pub async fn invite(
    plan: &str,
    role: &str,
    hours: i64,
    uses: i64,
    sign_in: &plansync_shared::SignInRule,
) -> Result<InvitationView, String> {
    let body = serde_json::json!({ "role": role, "expires_hours": hours, "uses": uses, "sign_in": sign_in })
        .to_string();
    parse(
        &call(
            "POST",
            &format!("/api/plans/{plan}/invitations"),
            Some(body),
        )
        .await?,
    )
}

/// `DELETE /api/plans/{plan}/invitations/{id}`.
pub async fn withdraw(plan: &str, id: i64) -> Result<(), String> {
    call(
        "DELETE",
        &format!("/api/plans/{plan}/invitations/{id}"),
        None,
    )
    .await?;
    Ok(())
}

/// A named version of a plan, as the server lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Snapshot {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The plan's heads then.
    pub heads: Vec<String>,
    /// Who took it.
    pub author: Option<String>,
    /// When, ms since 1970.
    pub created_ms: f64,
}

/// `GET /api/plans/{plan}/snapshots`.
pub async fn snapshots(plan: &str) -> Result<Vec<Snapshot>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/snapshots"), None).await?)
}

/// `POST /api/plans/{plan}/snapshots` naming this browser's heads.
pub async fn take_snapshot(plan: &str, name: &str, heads: Vec<String>) -> Result<Snapshot, String> {
    let body = serde_json::json!({ "name": name, "heads": heads }).to_string();
    parse(&call("POST", &format!("/api/plans/{plan}/snapshots"), Some(body)).await?)
}

/// Who sent a change, as the server recorded it.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct Author {
    /// Participant's name (none for the server's own changes).
    pub name: Option<String>,
    /// Their agency.
    pub agency: Option<String>,
    /// When the server received it, ms since 1970.
    pub received_ms: f64,
    /// The relaying servers it came through, if any.
    #[serde(default)]
    pub via: Option<String>,
}

impl plansync_shared::Attribution for Author {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn agency(&self) -> Option<&str> {
        self.agency.as_deref()
    }
    fn received_ms(&self) -> i64 {
        self.received_ms as i64
    }
    fn via(&self) -> Option<&str> {
        self.via.as_deref()
    }
}

/// `GET /api/plans/{plan}/authors`: who sent each change, by change hash (the app reads the
/// changes themselves from its own copy).
pub async fn authors(plan: &str) -> Result<HashMap<String, Author>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/authors"), None).await?)
}

/// `POST /api/plans/{plan}/restore`: the whole plan, or one item, as at a snapshot.
pub async fn restore(plan: &str, snapshot: i64, item: Option<(&str, &str)>) -> Result<(), String> {
    let body = match item {
        None => serde_json::json!({ "snapshot": snapshot }),
        Some((kind, id)) => {
            serde_json::json!({ "snapshot": snapshot, "item": { "kind": kind, "id": id } })
        }
    };
    call(
        "POST",
        &format!("/api/plans/{plan}/restore"),
        Some(body.to_string()),
    )
    .await?;
    Ok(())
}

/// An export the server makes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExportInfo {
    /// Its file name, e.g. `plan.docx`.
    pub name: String,
    /// What it is.
    pub description: String,
}

/// `GET /api/plans/{plan}/exports`: the exports there are.
pub async fn exports(plan: &str) -> Result<Vec<ExportInfo>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/exports"), None).await?)
}

/// `GET /api/plans/{plan}/exports/{name}?...`: an export, as a file in the browser's memory.
/// The token goes in the header, so no address anywhere opens the plan.
pub async fn export_file(
    plan: &str,
    name: &str,
    query: &[(&str, String)],
) -> Result<web_sys::Blob, String> {
    let q: Vec<String> = query
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", String::from(js_sys::encode_uri_component(v))))
        .collect();
    let path = format!("/api/plans/{plan}/exports/{name}?{}", q.join("&"));
    let resp = send("GET", &path, None).await?;
    let blob = JsFuture::from(resp.blob().map_err(|_| OFFLINE.to_string())?)
        .await
        .map_err(|_| OFFLINE.to_string())?;
    blob.dyn_into()
        .map_err(|_| "the export could not be read".to_string())
}

/// `POST /api/plans/import`: a new plan from a JSON export or an automerge file; I become
/// its owner.
pub async fn import_plan(file: &web_sys::File) -> Result<Joined, String> {
    let joined: Joined = parse(
        &request(
            "POST",
            "/api/plans/import",
            Some((
                wasm_bindgen::JsValue::from(file.clone()),
                "application/octet-stream",
            )),
        )
        .await?,
    )?;
    joined.keep();
    Ok(joined)
}

/// `POST /api/plans/{plan}/import/tracker`: the preview (or, with `commit`, the import) of
/// an action tracker file, as the server's JSON.
pub async fn import_tracker(
    plan: &str,
    file: &web_sys::File,
    format: &str,
    map: &str,
    commit: bool,
) -> Result<serde_json::Value, String> {
    let path = format!(
        "/api/plans/{plan}/import/tracker?format={format}&map={}&commit={commit}",
        String::from(js_sys::encode_uri_component(map))
    );
    parse(
        &request(
            "POST",
            &path,
            Some((
                wasm_bindgen::JsValue::from(file.clone()),
                "application/octet-stream",
            )),
        )
        .await?,
    )
}

/// How far one of the server's relays got with a plan.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RelayState {
    /// The upstream's address.
    pub upstream: String,
    /// Connected now.
    pub connected: bool,
    /// Changes the upstream lacks.
    pub waiting: usize,
    /// Last reached, ms since 1970.
    pub reached_ms: Option<f64>,
    /// Last had every change, ms since 1970.
    pub sent_ms: Option<f64>,
    /// Why it cannot relay now.
    pub problem: Option<String>,
}

/// `GET /api/plans/{plan}/relay`: the server's relays of this plan (none on most servers).
pub async fn relay_status(plan: &str) -> Result<Vec<RelayState>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/relay"), None).await?)
}

/// `POST /api/plans/{plan}/servers`: enrolls a relaying server; its participant and token.
pub async fn enroll_server(
    plan: &str,
    name: &str,
    role: &str,
) -> Result<(Participant, String), String> {
    #[derive(Deserialize)]
    struct Enrolled {
        participant: Participant,
        token: String,
    }
    let body = serde_json::json!({ "name": name, "role": role }).to_string();
    let e: Enrolled =
        parse(&call("POST", &format!("/api/plans/{plan}/servers"), Some(body)).await?)?;
    Ok((e.participant, e.token))
}

/// `GET /api/plans/{plan}/links`: which plan people each participant is.
pub async fn links(plan: &str) -> Result<Vec<plansync_shared::PersonLink>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/links"), None).await?)
}

/// `PUT /api/plans/{plan}/participants/{id}/people/{person}`: I say I am that person, or
/// (an owner) link someone to them.
pub async fn link_person(
    plan: &str,
    participant: i64,
    person: &str,
    shared: bool,
) -> Result<Vec<plansync_shared::PersonLink>, String> {
    let body = serde_json::to_string(&plansync_shared::LinkPerson { shared })
        .map_err(|e| e.to_string())?;
    parse(
        &call(
            "PUT",
            &format!("/api/plans/{plan}/participants/{participant}/people/{person}"),
            Some(body),
        )
        .await?,
    )
}

/// `DELETE /api/plans/{plan}/participants/{id}/people/{person}`: the link is removed.
pub async fn unlink_person(
    plan: &str,
    participant: i64,
    person: &str,
) -> Result<Vec<plansync_shared::PersonLink>, String> {
    parse(
        &call(
            "DELETE",
            &format!("/api/plans/{plan}/participants/{participant}/people/{person}"),
            None,
        )
        .await?,
    )
}

/// `GET /api/plans/{plan}/sign-offs`: every sign-off, each marked if changed since.
pub async fn sign_offs(plan: &str) -> Result<Vec<plansync_shared::SignOff>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/sign-offs"), None).await?)
}

/// `POST /api/plans/{plan}/sign-offs`: the chair signs off a board's return for a round.
pub async fn sign_off(
    plan: &str,
    request: &plansync_shared::SignOffRequest,
) -> Result<plansync_shared::SignOff, String> {
    let body = serde_json::to_string(request).map_err(|e| e.to_string())?;
    parse(&call("POST", &format!("/api/plans/{plan}/sign-offs"), Some(body)).await?)
}

/// `GET /api/plans/{plan}/publications`: the plan's published Board packs, newest first.
pub async fn publications(plan: &str) -> Result<Vec<plansync_shared::Published>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/publications"), None).await?)
}

/// `POST /api/plans/{plan}/publications`: an owner publishes a period's Board pack.
pub async fn publish(plan: &str, period: &str) -> Result<plansync_shared::Published, String> {
    let body = serde_json::to_string(&plansync_shared::Publish {
        period: Some(period.to_string()),
    })
    .map_err(|e| e.to_string())?;
    parse(
        &call(
            "POST",
            &format!("/api/plans/{plan}/publications"),
            Some(body),
        )
        .await?,
    )
}

/// `DELETE /api/plans/{plan}/publications/{id}`: an owner unpublishes.
pub async fn unpublish(plan: &str, id: &str) -> Result<(), String> {
    call(
        "DELETE",
        &format!("/api/plans/{plan}/publications/{id}"),
        None,
    )
    .await
    .map(|_| ())
}

/// `GET /api/plans/{plan}/emails`: my address for reminders (an owner's: everyone's), and
/// whether this server sends reminders.
pub async fn emails(plan: &str) -> Result<plansync_shared::EmailList, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/emails"), None).await?)
}

/// `PUT /api/plans/{plan}/participants/{id}/email`: my address, and whether I want reminders.
pub async fn set_email(
    plan: &str,
    participant: i64,
    body: &plansync_shared::SetEmail,
) -> Result<plansync_shared::ParticipantEmail, String> {
    let body = serde_json::to_string(body).map_err(|e| e.to_string())?;
    parse(
        &call(
            "PUT",
            &format!("/api/plans/{plan}/participants/{participant}/email"),
            Some(body),
        )
        .await?,
    )
}

/// `DELETE /api/plans/{plan}/participants/{id}/email`: my address is removed.
pub async fn remove_email(plan: &str, participant: i64) -> Result<(), String> {
    call(
        "DELETE",
        &format!("/api/plans/{plan}/participants/{participant}/email"),
        None,
    )
    .await
    .map(|_| ())
}
