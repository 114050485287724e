//! The HTTP API: plans, invitations, participants, bad bodies (and their fuzz target).

use super::*;

#[tokio::test]
async fn plans_need_a_token_and_list_the_callers_plans_with_their_role() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (status, body) = call(&s, "GET", "/api/plans", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].as_str().unwrap().contains("invitation link"));
    let (status, _) = call(&s, "GET", "/api/plans", Some("not-a-token"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, token) = owner(&s).await;
    let (status, plans) = call(&s, "GET", "/api/plans", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(plans.as_array().unwrap().len(), 1);
    assert_eq!(plans[0]["title"], plansync_shared::DEMO_PLAN_TITLE);
    assert_eq!(plans[0]["stage"], "stakeholder workshop");
    assert_eq!(plans[0]["role"], "owner");
    assert!(plans[0]["url"].as_str().unwrap().starts_with("automerge:"));
    assert!(
        owner_invitations(&s.store).await.unwrap().is_empty(),
        "the plan has an owner now"
    );
}

#[tokio::test]
async fn creating_a_plan_with_a_bad_body_is_a_clear_400_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (_, token) = owner(&s).await;
    for body in [
        "not json",
        "{\"title\": \"\"}",
        "{}",
        "{\"demo\": true, \"title\": \"x\"}",
        "{\"colour\": 1}",
    ] {
        let (status, json) = call(&s, "POST", "/api/plans", Some(&token), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(json["error"].as_str().unwrap().len() > 10);
    }
    assert_eq!(s.store.plans().await.unwrap().len(), 1);
    let (status, json) = call(&s, "POST", "/api/plans", None, Some("{\"title\": \"X\"}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{json}");
    let (status, json) = call(
        &s,
        "POST",
        "/api/plans",
        Some(&token),
        Some("{\"title\": \"Safer Streets 2027\"}"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(json["plan"]["title"], "Safer Streets 2027");
    assert_eq!(json["participant"]["role"], "owner");
    assert_eq!(json["participant"]["name"], "Chair");
    assert_eq!(s.store.plans().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_owner_invites_people_who_join_with_the_code_and_only_owners_manage() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let invitations = format!("/api/plans/{plan}/invitations");
    let (status, inv) = call(
        &s,
        "POST",
        &invitations,
        Some(&token),
        Some(r#"{"role":"viewer","expires_hours":2,"uses":1}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    let code = inv["code"].as_str().unwrap().to_string();
    assert!(inv["link"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/#/join/{code}")));
    assert!(inv["qr_svg"].as_str().unwrap().contains("<svg"));
    // Typed sloppily, the code still works, once.
    let typed = code.to_lowercase().replace('-', " ");
    let join = format!(
        r#"{{"code":"{typed}","name":"Scrutiny member","agency":"Police and Crime Panel"}}"#
    );
    let (status, joined) = call(&s, "POST", "/api/join", None, Some(&join)).await;
    assert_eq!(status, StatusCode::CREATED, "{joined}");
    assert_eq!(joined["participant"]["role"], "viewer");
    assert_eq!(joined["plan"]["id"], plan.as_str());
    let viewer = joined["token"].as_str().unwrap().to_string();
    let (status, again) = call(&s, "POST", "/api/join", None, Some(&join)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        again["error"].as_str().unwrap() == crate::http::WRONG_CODE,
        "{again}"
    );
    let (status, bad) = call(
        &s,
        "POST",
        "/api/join",
        None,
        Some(r#"{"code":"ACDE-FHJK-MN","name":"x","agency":"y"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad["error"]
        .as_str()
        .unwrap()
        .contains("does not open a plan"));
    // A viewer can see who takes part but manage nothing.
    let people = format!("/api/plans/{plan}/participants");
    let (status, list) = call(&s, "GET", &people, Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (status, _) = call(
        &s,
        "POST",
        &invitations,
        Some(&viewer),
        Some(r#"{"role":"owner","expires_hours":2,"uses":1}"#),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let owner_id = list[0]["id"].as_i64().unwrap();
    let (status, _) = call(
        &s,
        "DELETE",
        &format!("{people}/{owner_id}"),
        Some(&viewer),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The last owner cannot be removed or demoted.
    let (status, json) = call(
        &s,
        "DELETE",
        &format!("{people}/{owner_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
    let (status, _) = call(
        &s,
        "PATCH",
        &format!("{people}/{owner_id}"),
        Some(&token),
        Some(r#"{"role":"editor"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // An owner promotes the viewer, then revokes them: their token stops working.
    let viewer_id = list[1]["id"].as_i64().unwrap();
    let (status, list) = call(
        &s,
        "PATCH",
        &format!("{people}/{viewer_id}"),
        Some(&token),
        Some(r#"{"role":"editor"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[1]["role"], "editor");
    let (status, list) = call(
        &s,
        "DELETE",
        &format!("{people}/{viewer_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = call(&s, "GET", "/api/plans", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Invitations are listed for owners and can be withdrawn.
    let (_, inv) = call(
        &s,
        "POST",
        &invitations,
        Some(&token),
        Some(r#"{"role":"editor","expires_hours":1,"uses":3}"#),
    )
    .await;
    let (_, list) = call(&s, "GET", &invitations, Some(&token), None).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "the used-up one is not listed"
    );
    let (status, _) = call(
        &s,
        "DELETE",
        &format!("{invitations}/{}", inv["id"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let join = format!(
        r#"{{"code":"{}","name":"x","agency":"y"}}"#,
        inv["code"].as_str().unwrap()
    );
    let (status, _) = call(&s, "POST", "/api/join", None, Some(&join)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn every_http_body_the_server_parses_gets_a_4xx_never_a_panic_or_500() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let bodies = [
        "",
        "null",
        "[]",
        "{",
        "\u{0}",
        "{\"code\": 5}",
        "{\"role\": \"king\", \"expires_hours\": 1, \"uses\": 1}",
        "{\"role\": \"viewer\", \"expires_hours\": -1, \"uses\": 1}",
        "{\"role\": \"viewer\", \"expires_hours\": 1, \"uses\": 100000000000}",
        "{\"code\": \"ACDE-FHJK-MN\", \"name\": \"\", \"agency\": \"x\"}",
    ];
    let paths = [
        ("POST", "/api/plans".to_string()),
        ("POST", "/api/join".to_string()),
        ("POST", format!("/api/plans/{plan}/invitations")),
        ("PATCH", format!("/api/plans/{plan}/participants/1")),
    ];
    for (method, path) in &paths {
        for body in bodies {
            let (status, json) = call(&s, method, path, Some(&token), Some(body)).await;
            assert!(
                status.is_client_error(),
                "{method} {path} {body:?}: {status} {json}"
            );
        }
    }
    let big = "x".repeat(200 * 1024);
    let (status, _) = call(&s, "POST", "/api/join", None, Some(&big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn root_explains_how_to_build_the_app_when_it_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let resp = app(state(&dir).await)
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("trunk build"));
    let resp = app(state(&dir).await)
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

/// A server made once for the HTTP fuzz target, with its runtime, plan and owner token.
fn fuzz_server() -> &'static (tokio::runtime::Runtime, AppState, String, String) {
    static SERVER: std::sync::OnceLock<(tokio::runtime::Runtime, AppState, String, String)> =
        std::sync::OnceLock::new();
    SERVER.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        let (s, plan, token) = rt.block_on(async {
            let s = state(dir).await;
            let (plan, token) = owner(&s).await;
            (s, plan, token)
        });
        (rt, s, plan, token)
    })
}

/// A JSON body with the API's field names and odd values, or raw bytes.
fn http_body() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let value = prop_oneof![
        Just(serde_json::json!(null)),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<bool>().prop_map(|b| serde_json::json!(b)),
        "\\PC{0,40}".prop_map(|t| serde_json::json!(t)),
        prop::sample::select(vec!["viewer", "editor", "owner", "ACDE-FHJK-MN", ""])
            .prop_map(|t| serde_json::json!(t)),
    ];
    let keys = prop::sample::select(vec![
        "code",
        "name",
        "agency",
        "role",
        "expires_hours",
        "uses",
        "title",
        "demo",
        "x",
    ]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::btree_map(keys, value, 0..5).prop_map(|m| {
            serde_json::to_vec(
                &m.into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect::<serde_json::Map<_, _>>(),
            )
            .unwrap()
        }),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128)
    ))]
    #[test]
    fn fuzz_every_http_body_gets_a_clear_answer_never_a_5xx(
        endpoint in 0usize..5,
        body in http_body(),
        with_token in proptest::prelude::any::<bool>(),
    ) {
        let (rt, s, plan, token) = fuzz_server();
        let (method, path) = [
            ("POST", "/api/join".to_string()),
            ("POST", "/api/plans".to_string()),
            ("POST", format!("/api/plans/{plan}/invitations")),
            ("PATCH", format!("/api/plans/{plan}/participants/1")),
            ("PATCH", format!("/api/plans/{plan}/participants/999")),
        ][endpoint].clone();
        let mut req = Request::builder().method(method).uri(&path).header("content-type", "application/json");
        if with_token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req.body(Body::from(body)).unwrap();
        let resp = rt.block_on(app(s.clone()).oneshot(req)).unwrap();
        let status = resp.status();
        proptest::prop_assert!(!status.is_server_error(), "{} {} answered {}", method, path, status);
        if status.is_client_error() {
            let bytes = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            proptest::prop_assert!(json["error"].as_str().is_some_and(|e| e.len() > 10), "a clear message: {}", json);
        }
    }
}

#[tokio::test]
async fn the_room_page_hears_that_a_loopback_only_server_reaches_nobody_else_and_what_the_room_opens_otherwise(
) {
    let cases = [
        ("127.0.0.1:8080", None, true, vec![]),
        ("192.0.2.7:9000", None, false, vec!["http://192.0.2.7:9000"]),
        (
            "127.0.0.1:8080",
            Some("https://plans.example/"),
            false,
            vec!["https://plans.example"],
        ),
    ];
    for (listen, public, only_here, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let listen: std::net::SocketAddr = listen.parse().unwrap();
        let s = start_on(
            std::sync::Arc::new(sqlite(&dir).await),
            true,
            Settings {
                listen,
                public_url: public.map(String::from),
                app_dir: Some(dir.path().join("no-app")),
                ..Settings::default()
            },
        )
        .await
        .unwrap();
        let (plan, token) = owner(&s).await;
        let path = format!("/api/plans/{plan}/room");
        let (status, _) = call(&s, "GET", &path, None, None).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "only the plan's people ask"
        );
        let (status, room) = call(&s, "GET", &path, Some(&token), None).await;
        assert_eq!(status, StatusCode::OK, "{room}");
        let room: plansync_shared::api::RoomAddress = serde_json::from_value(room).unwrap();
        assert_eq!(room.this_computer_only, only_here, "{listen}");
        assert_eq!(room.addresses, want, "{listen}");
        assert_eq!(room.port, listen.port());
    }
}

#[tokio::test]
async fn a_node_is_ready_until_its_database_has_a_schema_it_does_not_know_and_then_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (status, body) = call(&s, "GET", "/ready", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ready"], true);
    // A newer release migrates the shared database on (as another node would).
    let other = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
    let v: i64 = other
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    other.pragma_update(None, "user_version", v + 1).unwrap();
    let (status, body) = call(&s, "GET", "/ready", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["ready"], false);
    let reason = body["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("version {}", v + 1)) && reason.contains("same Plansync release"),
        "{reason}"
    );
    // /health only says the process answers.
    let (status, _) = call(&s, "GET", "/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
}
