//! Who a participant is in the plan: claims, an owner's links and confirmations, and the
//! rule that a plan person is one participant unless an owner says otherwise.

use super::*;

/// Joins `plan` with a fresh invitation of `role`; returns the participant id and token.
async fn join(s: &AppState, plan: &str, owner: &str, role: &str, name: &str) -> (i64, String) {
    let (status, inv) = call(
        s,
        "POST",
        &format!("/api/plans/{plan}/invitations"),
        Some(owner),
        Some(&format!(
            r#"{{"role":"{role}","expires_hours":2,"uses":1}}"#
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    let body = format!(
        r#"{{"code":"{}","name":"{name}","agency":"Probation Service"}}"#,
        inv["code"].as_str().unwrap()
    );
    let (status, joined) = call(s, "POST", "/api/join", None, Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{joined}");
    (
        joined["participant"]["id"].as_i64().unwrap(),
        joined["token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_lead_says_who_they_are_an_owner_confirms_and_a_person_is_one_participant() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, owner_token) = owner(&s).await;
    let (_, demo) = call(
        &s,
        "GET",
        &format!("/api/plans/{plan}/plan"),
        Some(&owner_token),
        None,
    )
    .await;
    let lead = demo["people"][0]["id"].as_str().unwrap().to_string();
    let other = demo["people"][1]["id"].as_str().unwrap().to_string();
    let (editor, editor_token) = join(&s, &plan, &owner_token, "editor", "Lead").await;
    let (viewer, viewer_token) = join(&s, &plan, &owner_token, "viewer", "Deputy").await;
    let link =
        |who: i64, person: &str| format!("/api/plans/{plan}/participants/{who}/people/{person}");

    // The editor says who they are: linked, not yet confirmed.
    let (status, links) = call(&s, "PUT", &link(editor, &lead), Some(&editor_token), None).await;
    assert_eq!(status, StatusCode::OK, "{links}");
    assert_eq!(links[0]["participant"], editor);
    assert_eq!(links[0]["person"], lead.as_str());
    assert_eq!(links[0]["confirmed"], false);
    // Nobody but an owner says who someone else is, or shares a person.
    let (status, e) = call(&s, "PUT", &link(viewer, &other), Some(&editor_token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    let (status, e) = call(
        &s,
        "PUT",
        &link(editor, &other),
        Some(&editor_token),
        Some(r#"{"shared":true}"#),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    // A claim to a person already linked is refused, naming who has them.
    let (status, e) = call(&s, "PUT", &link(viewer, &lead), Some(&viewer_token), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("already linked to Lead"),
        "{e}"
    );
    // Unknown people and bad bodies are clear errors.
    let (status, e) = call(
        &s,
        "PUT",
        &link(editor, "pe-nobody"),
        Some(&editor_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
    let (status, e) = call(
        &s,
        "PUT",
        &link(editor, &lead),
        Some(&editor_token),
        Some("{"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    // The owner confirms the claim, and shares the person with the deputy.
    let (status, links) = call(&s, "PUT", &link(editor, &lead), Some(&owner_token), None).await;
    assert_eq!(status, StatusCode::OK, "{links}");
    assert_eq!(links[0]["confirmed"], true);
    let (status, links) = call(
        &s,
        "PUT",
        &link(viewer, &lead),
        Some(&owner_token),
        Some(r#"{"shared":true}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{links}");
    assert_eq!(links.as_array().unwrap().len(), 2);
    assert!(links
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["shared"] == true));
    // Everyone in the plan may read the links.
    let (status, read) = call(
        &s,
        "GET",
        &format!("/api/plans/{plan}/links"),
        Some(&viewer_token),
        None,
    )
    .await;
    assert_eq!((status, &read), (StatusCode::OK, &links));
    // The deputy drops their own link; removing the lead removes theirs.
    let (status, links) = call(
        &s,
        "DELETE",
        &link(viewer, &lead),
        Some(&viewer_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{links}");
    assert_eq!(links.as_array().unwrap().len(), 1);
    let (status, _) = call(
        &s,
        "DELETE",
        &format!("/api/plans/{plan}/participants/{editor}"),
        Some(&owner_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, links) = call(
        &s,
        "GET",
        &format!("/api/plans/{plan}/links"),
        Some(&owner_token),
        None,
    )
    .await;
    assert_eq!(links, serde_json::json!([]));
}

#[tokio::test]
async fn a_participant_gives_their_own_checked_email_which_only_owners_and_they_see() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, owner_token) = owner(&s).await;
    let (lead, lead_token) = join(&s, &plan, &owner_token, "editor", "Lead").await;
    let (other, other_token) = join(&s, &plan, &owner_token, "viewer", "Scrutiny").await;
    let email = |who: i64| format!("/api/plans/{plan}/participants/{who}/email");
    // Header injection, and other nonsense, is refused and nothing is kept.
    for bad in [
        r#"{"email":"lead@probation.gov.uk\r\nBcc: all@example.com"}"#,
        r#"{"email":"Lead <lead@probation.gov.uk>"}"#,
        r#"{"email":"lead"}"#,
        r#"{"email":5}"#,
    ] {
        let (status, e) = call(&s, "PUT", &email(lead), Some(&lead_token), Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {e}");
    }
    let (_, all) = call(
        &s,
        "GET",
        &format!("/api/plans/{plan}/emails"),
        Some(&owner_token),
        None,
    )
    .await;
    assert_eq!(
        all,
        serde_json::json!({ "sends_reminders": false, "emails": [] }),
        "a server with no mail settings says so only here, quietly"
    );
    // Only they give their own.
    let (status, _) = call(
        &s,
        "PUT",
        &email(lead),
        Some(&owner_token),
        Some(r#"{"email":"owner@council.gov.uk"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, set) = call(
        &s,
        "PUT",
        &email(lead),
        Some(&lead_token),
        Some(r#"{"email":" lead@probation.gov.uk ","reminders":false}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["email"], "lead@probation.gov.uk");
    assert_eq!(set["reminders"], false);
    let (status, _) = call(
        &s,
        "PUT",
        &email(other),
        Some(&other_token),
        Some(r#"{"email":"member@panel.gov.uk"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The owner sees both; each of them sees only their own.
    let list = |token: String| {
        let s = s.clone();
        let plan = plan.clone();
        async move {
            let (_, v) = call(
                &s,
                "GET",
                &format!("/api/plans/{plan}/emails"),
                Some(&token),
                None,
            )
            .await;
            v["emails"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["email"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(owner_token.clone()).await,
        ["lead@probation.gov.uk", "member@panel.gov.uk"]
    );
    assert_eq!(list(lead_token.clone()).await, ["lead@probation.gov.uk"]);
    assert_eq!(list(other_token.clone()).await, ["member@panel.gov.uk"]);
    // Removed, and gone with a removed participant.
    let (status, _) = call(&s, "DELETE", &email(other), Some(&other_token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &s,
        "DELETE",
        &format!("/api/plans/{plan}/participants/{lead}"),
        Some(&owner_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(list(owner_token).await.is_empty());
}
