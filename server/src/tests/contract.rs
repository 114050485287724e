//! The HTTP contract: every endpoint's JSON body, sent as and read back through its type in
//! `plansync_shared::api` (the app and a relay use the same types), field for field.

use super::*;
use plansync_shared::api::{
    Attributed, AuthorGroup, ChangeAuthor, Comparison, CreatePlan, EmailList, EnrollServer,
    Enrolled, ErrorBody, ExportLink, Health, InvitationView, Invite, Join, LinkPerson, Membership,
    MyPlan, NewSnapshot, Participant, ParticipantEmail, PersonLink, PlanView, ProviderChoice,
    Published, Readiness, RelayState, Reported, Restore, RestoreItem, Restored, RoomAddress,
    SetEmail, SetRole, SignOff, Snapshot, TrackerPreview,
};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;

/// `answer` read as a `T`, failing unless it reads back exactly as sent.
fn typed<T: Serialize + DeserializeOwned>(answer: &serde_json::Value) -> T {
    let t: T = serde_json::from_value(answer.clone())
        .unwrap_or_else(|e| panic!("not a {}: {e}: {answer}", std::any::type_name::<T>()));
    assert_eq!(
        &serde_json::to_value(&t).unwrap(),
        answer,
        "a {} reads back as sent",
        std::any::type_name::<T>()
    );
    t
}

/// A request body as the app sends it.
fn body(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap()
}

/// Sends `asked` (if any) and reads a `T` from an answer with `status`.
async fn exchange<T: Serialize + DeserializeOwned>(
    s: &AppState,
    method: &str,
    path: &str,
    token: &str,
    asked: Option<String>,
    status: StatusCode,
) -> T {
    let (got, answer) = call(s, method, path, Some(token), asked.as_deref()).await;
    assert_eq!(got, status, "{method} {path}: {answer}");
    typed(&answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoints_json_body_reads_back_through_the_shared_contract() {
    use StatusCode as S;
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (_, health) = call(&s, "GET", "/health", None, None).await;
    assert_eq!(typed::<Health>(&health).status, "ok");
    let (status, ready) = call(&s, "GET", "/ready", None, None).await;
    assert_eq!(status, S::OK);
    assert!(typed::<Readiness>(&ready).ready);
    let (_, owner_token) = owner(&s).await;
    let t = owner_token.as_str();

    // Plans and membership.
    let made: Membership = exchange(
        &s,
        "POST",
        "/api/plans",
        t,
        Some(body(&CreatePlan {
            demo: false,
            title: Some("Contract plan".into()),
        })),
        S::CREATED,
    )
    .await;
    let plan = made.plan.id.clone();
    // Both tokens: the demo plan's and the new plan's.
    let both = format!("{t},{}", made.token);
    let mine: Vec<MyPlan> = exchange(&s, "GET", "/api/plans", &both, None, S::OK).await;
    assert!(mine.iter().any(|p| p.plan.id == plan));
    let p = format!("/api/plans/{plan}");
    let demo = mine.iter().find(|m| m.plan.id != plan).unwrap().clone();
    let t = both.as_str();

    // People.
    let invite = Invite {
        role: Role::Editor,
        expires_hours: 2,
        uses: 3,
        sign_in: Default::default(),
    };
    let inv: InvitationView = exchange(
        &s,
        "POST",
        &format!("{p}/invitations"),
        t,
        Some(body(&invite)),
        S::CREATED,
    )
    .await;
    let _: Vec<InvitationView> =
        exchange(&s, "GET", &format!("{p}/invitations"), t, None, S::OK).await;
    let _: RoomAddress = exchange(&s, "GET", &format!("{p}/room"), t, None, S::OK).await;
    let _: PlanView = exchange(&s, "GET", &format!("{p}/view"), t, None, S::OK).await;
    let joined: Membership = exchange(
        &s,
        "POST",
        "/api/join",
        "",
        Some(body(&Join {
            code: inv.invitation.code.clone(),
            name: "An analyst".into(),
            agency: "Police".into(),
        })),
        S::CREATED,
    )
    .await;
    let editor = joined.participant.id;
    let _: Vec<Participant> =
        exchange(&s, "GET", &format!("{p}/participants"), t, None, S::OK).await;
    let _: Vec<Participant> = exchange(
        &s,
        "PATCH",
        &format!("{p}/participants/{editor}"),
        t,
        Some(body(&SetRole { role: Role::Viewer })),
        S::OK,
    )
    .await;
    let relay: Enrolled = exchange(
        &s,
        "POST",
        &format!("{p}/servers"),
        t,
        Some(body(&EnrollServer {
            name: "Workshop laptop".into(),
            role: Role::Editor,
        })),
        S::CREATED,
    )
    .await;
    let me = made.participant.id;
    let _: ParticipantEmail = exchange(
        &s,
        "PUT",
        &format!("{p}/participants/{me}/email"),
        t,
        Some(body(&SetEmail {
            email: "chair@example.org".into(),
            reminders: true,
        })),
        S::OK,
    )
    .await;
    let _: EmailList = exchange(&s, "GET", &format!("{p}/emails"), t, None, S::OK).await;
    let d = format!("/api/plans/{}", demo.plan.id);
    let person = s
        .sync
        .document(demo.plan.id.parse().unwrap())
        .await
        .unwrap()
        .map(|doc| {
            plansync_shared::read_plan(&doc).unwrap().people[0]
                .id
                .clone()
        })
        .unwrap();
    let _: Vec<PersonLink> = exchange(
        &s,
        "PUT",
        &format!("{d}/participants/{}/people/{person}", demo.participant.id),
        t,
        Some(body(&LinkPerson { shared: false })),
        S::OK,
    )
    .await;
    let _: Vec<PersonLink> = exchange(&s, "GET", &format!("{d}/links"), t, None, S::OK).await;
    let _: Vec<SignOff> = exchange(&s, "GET", &format!("{d}/sign-offs"), t, None, S::OK).await;
    let _: Vec<Published> = exchange(&s, "GET", &format!("{d}/publications"), t, None, S::OK).await;

    // Versions and who changed what.
    let snap: Snapshot = exchange(
        &s,
        "POST",
        &format!("{d}/snapshots"),
        t,
        Some(body(&NewSnapshot {
            name: "Before the workshop".into(),
            heads: None,
        })),
        S::CREATED,
    )
    .await;
    let _: Vec<Snapshot> = exchange(&s, "GET", &format!("{d}/snapshots"), t, None, S::OK).await;
    let history: Vec<Attributed> =
        exchange(&s, "GET", &format!("{d}/history"), t, None, S::OK).await;
    assert!(!history.is_empty());
    let _: HashMap<String, ChangeAuthor> =
        exchange(&s, "GET", &format!("{d}/authors"), t, None, S::OK).await;
    let _: plansync_shared::Plan = exchange(
        &s,
        "GET",
        &format!("{d}/plan?at={}", snap.id),
        t,
        None,
        S::OK,
    )
    .await;
    let _: Comparison = exchange(
        &s,
        "GET",
        &format!("{d}/compare?from={}", snap.id),
        t,
        None,
        S::OK,
    )
    .await;
    let restored: Restored = exchange(
        &s,
        "POST",
        &format!("{d}/restore"),
        t,
        Some(body(&Restore {
            snapshot: snap.id,
            item: None,
        })),
        S::OK,
    )
    .await;
    assert_eq!(restored.restored, snap.name);
    let first_theme = s
        .sync
        .document(demo.plan.id.parse().unwrap())
        .await
        .unwrap()
        .map(|doc| {
            plansync_shared::read_plan(&doc).unwrap().themes[0]
                .id
                .to_string()
        })
        .unwrap();
    let _: Restored = exchange(
        &s,
        "POST",
        &format!("{d}/restore"),
        t,
        Some(body(&Restore {
            snapshot: snap.id,
            item: Some(RestoreItem {
                kind: plansync_shared::ItemKind::Theme,
                id: first_theme,
            }),
        })),
        S::OK,
    )
    .await;

    // Papers out, trackers and plans in.
    let exports: Vec<ExportLink> =
        exchange(&s, "GET", &format!("{d}/exports"), t, None, S::OK).await;
    assert!(exports.iter().any(|e| e.name == "plan.json"));
    let (status, file) = call_raw(
        &s,
        "GET",
        &format!("{d}/exports/plan.json"),
        Some(t),
        Vec::new(),
    )
    .await;
    assert_eq!(status, S::OK);
    let (status, imported) = call_raw(&s, "POST", "/api/plans/import", Some(t), file).await;
    assert_eq!(status, S::CREATED);
    typed::<Membership>(&serde_json::from_slice(&imported).unwrap());
    let csv = b"Theme,Objective,Action,Due\nSafer streets,Fewer thefts,Bike marking,2026-09-30\n";
    let (status, preview) = call_raw(
        &s,
        "POST",
        &format!("{d}/import/tracker?format=csv"),
        Some(t),
        csv.to_vec(),
    )
    .await;
    assert_eq!(status, S::OK, "{}", String::from_utf8_lossy(&preview));
    let preview: TrackerPreview = typed(&serde_json::from_slice(&preview).unwrap());
    assert_eq!(preview.rows_total, 1);

    // Relaying.
    let _: Vec<RelayState> = exchange(&s, "GET", &format!("{p}/relay"), t, None, S::OK).await;
    let report = vec![AuthorGroup {
        name: "An analyst".into(),
        agency: "Police".into(),
        via: None,
        known: None,
        hashes: vec!["00".repeat(32)],
    }];
    let reported: Reported = exchange(
        &s,
        "POST",
        &format!("{p}/relayed-authors"),
        &relay.token,
        Some(body(&report)),
        S::OK,
    )
    .await;
    assert_eq!(reported.unknown.len(), 1, "a change the relay never sent");
    let _: Vec<ProviderChoice> = exchange(&s, "GET", "/api/providers", t, None, S::OK).await;

    // Any refusal.
    let refused: ErrorBody = exchange(
        &s,
        "GET",
        &format!("{p}/participants"),
        "not-a-token",
        None,
        S::UNAUTHORIZED,
    )
    .await;
    assert!(!refused.error.is_empty());
    let _: Vec<Participant> = exchange(
        &s,
        "DELETE",
        &format!("{p}/participants/{editor}"),
        t,
        None,
        S::OK,
    )
    .await;
}
