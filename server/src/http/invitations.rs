//! Invitations: an owner lists, creates and withdraws them; each has a link and a QR code.

use super::{member, AppError};
use crate::access::{Invitation, Role};
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
pub use plansync_shared::api::{InvitationView, Invite, RoomAddress};
use plansync_shared::SignInRule;

/// The link a person opens to join with `code`, on the server the request reached.
pub fn join_link(base: &str, code: &str) -> String {
    format!("{}/#/join/{code}", base.trim_end_matches('/'))
}

/// An SVG QR code of `text`.
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// A QR code of `text` for a terminal (light modules on the terminal's dark background).
pub fn qr_text(text: &str) -> String {
    use qrcode::render::unicode::Dense1x2;
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// The addresses people in the room open: for a server listening on every interface, each
/// interface's address that is not loopback (IPv4 first); else the listen address. Empty
/// for a loopback-only server (nobody else can reach it).
pub fn room_addresses(listen: std::net::SocketAddr) -> Vec<String> {
    let ip = listen.ip();
    if ip.is_loopback() {
        return Vec::new();
    }
    if !ip.is_unspecified() {
        return vec![format!("http://{listen}")];
    }
    let mut found: Vec<std::net::IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .filter(|a| !a.is_loopback() && (a.is_ipv4() || listen.is_ipv6()))
        .filter(|a| !matches!(a, std::net::IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80))
        .collect();
    found.sort_by_key(|a| (a.is_ipv6(), *a));
    found.dedup();
    found
        .into_iter()
        .map(|a| format!("http://{}", std::net::SocketAddr::new(a, listen.port())))
        .collect()
}

/// `GET /api/plans/{plan}/room`: the addresses people in the room open (`--public-url`
/// when it is set), or that the server listens on this computer only.
pub async fn room(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<RoomAddress>, AppError> {
    member(&state, &headers, &plan, Role::Viewer).await?;
    let listen = state.settings.listen;
    let this_computer_only = state.settings.public_url.is_none() && listen.ip().is_loopback();
    let addresses = match &state.settings.public_url {
        Some(url) => vec![url.trim_end_matches('/').to_string()],
        None => room_addresses(listen),
    };
    Ok(Json(RoomAddress {
        addresses,
        this_computer_only,
        port: listen.port(),
    }))
}

fn view(state: &AppState, headers: &HeaderMap, invitation: Invitation) -> InvitationView {
    let link = join_link(&state.public_url(headers), &invitation.code);
    InvitationView {
        qr_svg: qr_svg(&link),
        link,
        invitation,
    }
}

/// `GET /api/plans/{plan}/invitations`: an owner lists the invitations still usable.
pub async fn list_invitations(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
) -> Result<Json<Vec<InvitationView>>, AppError> {
    member(&state, &headers, &plan, Role::Owner).await?;
    let list = state.store.invitations(plan, crate::now_ms()).await?;
    Ok(Json(
        list.into_iter()
            .map(|i| view(&state, &headers, i))
            .collect(),
    ))
}

/// `POST /api/plans/{plan}/invitations`: an owner creates an invitation.
pub async fn create_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(plan): Path<String>,
    body: Result<Json<Invite>, JsonRejection>,
) -> Result<(StatusCode, Json<InvitationView>), AppError> {
    member(&state, &headers, &plan, Role::Owner).await?;
    let Json(body) = body?;
    if !(1..=2160).contains(&body.expires_hours) {
        return Err(AppError::BadRequest(
            "an invitation lasts 1 to 2,160 hours (90 days)".into(),
        ));
    }
    if !(1..=500).contains(&body.uses) {
        return Err(AppError::BadRequest(
            "an invitation can be used 1 to 500 times".into(),
        ));
    }
    match &body.sign_in {
        SignInRule::Code => {}
        _ if state.sign_in.is_empty() => {
            return Err(AppError::BadRequest("this server has no identity providers to sign in with, so an invitation cannot ask for a sign-in: its operator can add them with --sign-in-providers".into()))
        }
        SignInRule::Provider(p) if state.sign_in.provider(p).is_none() => {
            return Err(AppError::BadRequest(format!(
                "this server has no identity provider \"{p}\": choose one of {}",
                state.sign_in.ids().join(", ")
            )))
        }
        _ => {}
    }
    let expires = crate::now_ms() + body.expires_hours * 3_600_000;
    let inv = crate::membership::invite(
        &state.store,
        plan,
        body.role,
        expires,
        body.uses,
        body.sign_in,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&state, &headers, inv))))
}

/// `DELETE /api/plans/{plan}/invitations/{id}`: an owner withdraws an invitation.
pub async fn revoke_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((plan, id)): Path<(String, i64)>,
) -> Result<StatusCode, AppError> {
    member(&state, &headers, &plan, Role::Owner).await?;
    if !state
        .store
        .revoke_invitation(plan, id, crate::now_ms())
        .await?
    {
        return Err(AppError::NotFound(
            "There is no such invitation in this plan.".into(),
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}
