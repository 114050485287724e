//! Calls to the server's HTTP API. Every body is a type of [`plansync_shared::api`], the one
//! definition the server's handlers use too.

use plansync_shared::api::{
    ChangeAuthor, CreatePlan, EnrollServer, Enrolled, ErrorBody, ExportLink, InvitationView,
    Invite, Join, Membership, MyPlan, NewSnapshot, Participant, PlanRow, RelayState, Restore,
    RestoreItem, Role, SetRole, SignedIn, Snapshot, TrackerPreview,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// One plan this browser knows: as `/api/plans` listed it, or as joined here (kept in
/// IndexedDB, so the list shows offline).
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

impl PlanEntry {
    /// The entry for a plan row, with my role if known.
    pub fn of(plan: &PlanRow, role: Option<Role>) -> Self {
        Self {
            id: plan.id.clone(),
            title: plan.title.clone(),
            url: plan.url.clone(),
            stage: plan.stage.clone(),
            role: role.map(|r| r.as_str().to_string()),
        }
    }
}

/// Keeps a membership (a plan joined, created or imported, or a sign-in's) in this browser.
pub fn keep(m: &Membership) {
    crate::membership::add(crate::membership::Membership {
        plan: m.plan.id.clone(),
        token: m.token.clone(),
        role: m.participant.role.as_str().to_string(),
        participant: m.participant.id.0,
        ends: m.participant.session_ends.map(|t| t as f64),
        provider: m.participant.provider.clone(),
        signed_in_with: m.participant.signed_in_with.clone(),
    });
}

/// A body as JSON text.
fn body(value: &impl Serialize) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
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
        let detail = serde_json::from_str::<ErrorBody>(&text)
            .map(|e| e.error)
            .unwrap_or_else(|_| format!("HTTP {}", resp.status()));
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
    let plans: Vec<MyPlan> = parse(&call("GET", "/api/plans", None).await?)?;
    for p in &plans {
        crate::membership::set_role(&p.plan.id, p.role.as_str());
    }
    Ok(plans
        .iter()
        .map(|p| PlanEntry::of(&p.plan, Some(p.role)))
        .collect())
}

/// `POST /api/plans`: a new empty plan with this title, or the demo plan; I become its owner.
pub async fn create_plan(title: Option<String>) -> Result<Membership, String> {
    let demo = title.is_none();
    let asked = body(&CreatePlan { demo, title })?;
    let joined: Membership = parse(&call("POST", "/api/plans", Some(asked)).await?)?;
    keep(&joined);
    Ok(joined)
}

/// `POST /api/join`: exchanges an invitation code for a membership, kept in this browser.
pub async fn join(code: &str, name: &str, agency: &str) -> Result<Membership, String> {
    let asked = body(&Join {
        code: code.into(),
        name: name.into(),
        agency: agency.into(),
    })?;
    let joined: Membership = parse(&call("POST", "/api/join", Some(asked)).await?)?;
    keep(&joined);
    Ok(joined)
}

/// `GET /api/providers`: the agencies' providers this server lets people sign in with.
pub async fn providers() -> Result<Vec<plansync_shared::ProviderChoice>, String> {
    parse(&call("GET", "/api/providers", None).await?)
}

/// `POST /api/sign-in/finish`: the one-time code the server sent the browser back with,
/// for my tokens; each membership is kept in this browser.
pub async fn finish_sign_in(code: &str) -> Result<SignedIn, String> {
    let asked = body(&plansync_shared::FinishSignIn { code: code.into() })?;
    let signed: SignedIn = parse(&call("POST", "/api/sign-in/finish", Some(asked)).await?)?;
    for m in &signed.memberships {
        keep(m);
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

/// `GET /api/plans/{plan}/room`: where people in the room open the app.
pub async fn room(plan: &str) -> Result<plansync_shared::api::RoomAddress, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/room"), None).await?)
}

/// `GET /api/plans/{plan}/view`: the plan as the server holds it now, with its heads.
pub async fn plan_view(plan: &str) -> Result<plansync_shared::api::PlanView, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/view"), None).await?)
}

/// `PATCH /api/plans/{plan}/participants/{id}`.
pub async fn set_role(plan: &str, id: i64, role: Role) -> Result<Vec<Participant>, String> {
    let asked = body(&SetRole { role })?;
    parse(
        &call(
            "PATCH",
            &format!("/api/plans/{plan}/participants/{id}"),
            Some(asked),
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
    role: Role,
    hours: i64,
    uses: i64,
    sign_in: &plansync_shared::SignInRule,
) -> Result<InvitationView, String> {
    let asked = body(&Invite {
        role,
        expires_hours: hours,
        uses,
        sign_in: sign_in.clone(),
    })?;
    parse(
        &call(
            "POST",
            &format!("/api/plans/{plan}/invitations"),
            Some(asked),
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

/// `GET /api/plans/{plan}/snapshots`.
pub async fn snapshots(plan: &str) -> Result<Vec<Snapshot>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/snapshots"), None).await?)
}

/// `POST /api/plans/{plan}/snapshots` naming this browser's heads.
pub async fn take_snapshot(plan: &str, name: &str, heads: Vec<String>) -> Result<Snapshot, String> {
    let asked = body(&NewSnapshot {
        name: name.into(),
        heads: Some(heads),
    })?;
    parse(&call("POST", &format!("/api/plans/{plan}/snapshots"), Some(asked)).await?)
}

/// `GET /api/plans/{plan}/authors`: who sent each change, by change hash (the app reads the
/// changes themselves from its own copy).
pub async fn authors(plan: &str) -> Result<HashMap<String, ChangeAuthor>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/authors"), None).await?)
}

/// `POST /api/plans/{plan}/restore`: the whole plan, or one item, as at a snapshot.
pub async fn restore(
    plan: &str,
    snapshot: i64,
    item: Option<(plansync_shared::ItemKind, &str)>,
) -> Result<(), String> {
    let asked = body(&Restore {
        snapshot,
        item: item.map(|(kind, id)| RestoreItem {
            kind,
            id: id.into(),
        }),
    })?;
    call("POST", &format!("/api/plans/{plan}/restore"), Some(asked)).await?;
    Ok(())
}

/// `GET /api/plans/{plan}/exports`: the exports there are.
pub async fn exports(plan: &str) -> Result<Vec<ExportLink>, String> {
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
pub async fn import_plan(file: &web_sys::File) -> Result<Membership, String> {
    let joined: Membership = parse(
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
    keep(&joined);
    Ok(joined)
}

/// `POST /api/plans/{plan}/import/tracker`: the preview (or, with `commit`, the import) of
/// an action tracker file.
pub async fn import_tracker(
    plan: &str,
    file: &web_sys::File,
    format: &str,
    map: &str,
    commit: bool,
) -> Result<TrackerPreview, String> {
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

/// `GET /api/plans/{plan}/relay`: the server's relays of this plan (none on most servers).
pub async fn relay_status(plan: &str) -> Result<Vec<RelayState>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/relay"), None).await?)
}

/// `POST /api/plans/{plan}/servers`: enrolls a relaying server; its participant and token.
pub async fn enroll_server(plan: &str, name: &str, role: Role) -> Result<Enrolled, String> {
    let asked = body(&EnrollServer {
        name: name.into(),
        role,
    })?;
    parse(&call("POST", &format!("/api/plans/{plan}/servers"), Some(asked)).await?)
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
    let asked = body(&plansync_shared::LinkPerson { shared })?;
    parse(
        &call(
            "PUT",
            &format!("/api/plans/{plan}/participants/{participant}/people/{person}"),
            Some(asked),
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
    let asked = body(request)?;
    parse(&call("POST", &format!("/api/plans/{plan}/sign-offs"), Some(asked)).await?)
}

/// `GET /api/plans/{plan}/publications`: the plan's published Board packs, newest first.
pub async fn publications(plan: &str) -> Result<Vec<plansync_shared::Published>, String> {
    parse(&call("GET", &format!("/api/plans/{plan}/publications"), None).await?)
}

/// `POST /api/plans/{plan}/publications`: an owner publishes a period's Board pack.
pub async fn publish(plan: &str, period: &str) -> Result<plansync_shared::Published, String> {
    let asked = body(&plansync_shared::Publish {
        period: Some(period.to_string()),
    })?;
    parse(
        &call(
            "POST",
            &format!("/api/plans/{plan}/publications"),
            Some(asked),
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
    email: &plansync_shared::SetEmail,
) -> Result<plansync_shared::ParticipantEmail, String> {
    let asked = body(email)?;
    parse(
        &call(
            "PUT",
            &format!("/api/plans/{plan}/participants/{participant}/email"),
            Some(asked),
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
