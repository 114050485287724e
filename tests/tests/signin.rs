//! Signing in with an agency's account: the real `plansync` server and real OpenID
//! providers (oidc-provider from npm, two issuers for two agencies, each with its own
//! key), walked through their real login pages. Every attack is refused with a clear
//! message and changes nothing. Every wait is bounded.

use plansync_shared::DocumentId;
use plansync_tests::oidc::{handoff_code, Answer, Providers, Walker};
use plansync_tests::{http_blocking, RustClient, Server, WAIT};
use std::time::{Duration, Instant};

const RIVERTON: &str = "Riverton City Council";
const FIRE: &str = "Riverton Fire and Rescue";

/// A central server offering two agencies' providers (Riverton may vouch only for
/// riverton.test addresses), with sign-ins that last `session_secs`.
struct Central {
    _dir: tempfile::TempDir,
    providers: Providers,
    server: Server,
    url: String,
    plan: DocumentId,
}

async fn central(session_secs: u64, timeout_secs: u64) -> Central {
    let dir = tempfile::tempdir().unwrap();
    let (providers, server, url) =
        plansync_tests::oidc::central_with_providers(dir.path(), session_secs, timeout_secs);
    let plan = server.demo_plan().await;
    Central {
        _dir: dir,
        providers,
        server,
        url,
        plan,
    }
}

impl Central {
    /// An owner's invitation asking for `sign_in` (`"code"`, `"any"` or `{"provider": id}`).
    fn invite(&self, sign_in: serde_json::Value) -> String {
        let body = serde_json::json!({"role": "editor", "expires_hours": 1, "uses": 5, "sign_in": sign_in});
        let (status, inv) = self.server.request(
            "POST",
            &format!("/api/plans/{}/invitations", self.plan),
            Some(&body),
        );
        assert_eq!(status, 201, "{inv}");
        assert_eq!(inv["sign_in"], sign_in, "{inv}");
        inv["code"].as_str().unwrap().to_string()
    }

    /// The plan's participants, as an owner sees them.
    fn participants(&self) -> Vec<serde_json::Value> {
        let (status, list) = self.server.request(
            "GET",
            &format!("/api/plans/{}/participants", self.plan),
            None,
        );
        assert_eq!(status, 200, "{list}");
        list.as_array().unwrap().clone()
    }

    /// Exchanges a sign-in's one-time code for its tokens.
    fn finish(&self, answer: &Answer) -> (u16, serde_json::Value) {
        let code = handoff_code(answer).unwrap_or_else(|| panic!("no one-time code: {answer:?}"));
        let (status, answer) = http_blocking(
            &self.server.addr(),
            "POST",
            "/api/sign-in/finish",
            None,
            Some(&serde_json::to_value(plansync_shared::FinishSignIn { code }).unwrap()),
        );
        // The answer reads as the shared contract says, field for field.
        if status == 200 {
            plansync_tests::contract::<plansync_shared::api::SignedIn>(&answer);
        } else {
            plansync_tests::contract::<plansync_shared::api::ErrorBody>(&answer);
        }
        (status, answer)
    }

    /// Whether `token` opens the plan list (status).
    fn plans_status(&self, token: &str) -> u16 {
        http_blocking(&self.server.addr(), "GET", "/api/plans", Some(token), None).0
    }
}

/// Puts `words` before the first action's title with `token`'s own connection, and waits
/// until the server has it.
async fn edit_first_title(c: &Central, token: &str, words: &str) {
    let client = RustClient::connect(&c.server.sync_url_with(token), "editor").await;
    client.find(c.plan).await;
    let act = client.plan(c.plan).themes[0].objectives[0].actions[0]
        .id
        .clone();
    client.edit(c.plan, |p| {
        p.splice_text(&plansync_shared::TextField::ActionTitle(act), 0, 0, words)
            .unwrap()
    });
    client.wait_server_has_all(c.plan).await;
}

/// Asserts that the server refused with `status` and a page saying `words`.
fn refused(answer: &Answer, status: u16, words: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert!(answer.body.contains(words), "{}", answer.body);
    assert!(
        handoff_code(answer).is_none(),
        "no sign-in code: {answer:?}"
    );
}

/// The one membership a sign-in gave: participant and token.
fn only(signed: &serde_json::Value) -> (serde_json::Value, String) {
    let m = signed["memberships"].as_array().expect("memberships");
    assert_eq!(m.len(), 1, "{signed}");
    (
        m[0]["participant"].clone(),
        m[0]["token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_their_agency_through_an_invitation_and_again_on_another_device_and_two_providers_are_never_merged(
) {
    let c = central(3600, 10).await;
    let (status, providers) = http_blocking(&c.server.addr(), "GET", "/api/providers", None, None);
    assert_eq!(status, 200);
    assert_eq!(providers[0]["label"], RIVERTON, "{providers}");
    assert_eq!(providers[1]["id"], "fire", "{providers}");
    let code = c.invite(serde_json::json!({ "provider": "riverton" }));

    // The code alone is not enough for this invitation.
    let body = serde_json::json!({"code": code, "name": "Typed name", "agency": "Typed agency"});
    let (status, said) = http_blocking(&c.server.addr(), "POST", "/api/join", None, Some(&body));
    assert_eq!(status, 403, "{said}");
    assert!(
        said["error"]
            .as_str()
            .unwrap()
            .contains("asks you to sign in"),
        "{said}"
    );
    // Nor is another agency's provider.
    let other = Walker::new()
        .sign_in(&c.url, "fire", Some(&code), "alice.lead@riverton.test")
        .await;
    refused(&other, 403, "another agency");
    let before = c.participants().len();

    // Signing in with Riverton's provider joins: the provider's name, not a typed one.
    let phone = Walker::new();
    let answer = phone
        .sign_in(&c.url, "riverton", Some(&code), "alice.lead@riverton.test")
        .await;
    assert_eq!(answer.status, 303, "{answer:?}");
    let (status, signed) = c.finish(&answer);
    assert_eq!(status, 200, "{signed}");
    let (alice, token) = only(&signed);
    assert_eq!(alice["name"], "Alice Lead", "{alice}");
    assert_eq!(alice["signed_in_with"], RIVERTON, "{alice}");
    assert_eq!(alice["agency"], RIVERTON, "{alice}");
    assert!(alice["session_ends"].as_i64().unwrap() > plansync_server_now() + 3_000_000);
    assert_eq!(c.plans_status(&token), 200);
    assert_eq!(c.participants().len(), before + 1);
    // The one-time code works once.
    assert_eq!(c.finish(&answer).0, 401);

    // Her edit shows in the history as signed in with Riverton; a code's as joined with one.
    edit_first_title(&c, &token, "Alice: ").await;
    let (_, coded) = c.server.join_as("editor", "Coded person");
    edit_first_title(&c, &coded, "Code: ").await;
    let deadline = Instant::now() + WAIT;
    let by = loop {
        let (_, h) = c
            .server
            .request("GET", &format!("/api/plans/{}/history", c.plan), None);
        let by: Vec<String> = h
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["by"].as_str().map(str::to_string))
            .collect();
        if by.iter().any(|b| b.starts_with("Coded person")) || Instant::now() > deadline {
            break by;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        by.contains(&format!(
            "Alice Lead, {RIVERTON} (signed in with {RIVERTON})"
        )),
        "{by:?}"
    );
    assert!(
        by.contains(&"Coded person, Test agency (joined with a code)".to_string()),
        "{by:?}"
    );

    // Another device, no invitation: the same participant, its last sign-in recorded.
    let laptop = Walker::new();
    let again = laptop
        .sign_in(&c.url, "riverton", None, "alice.lead@riverton.test")
        .await;
    let (status, signed) = c.finish(&again);
    assert_eq!(status, 200, "{signed}");
    let (same, second_token) = only(&signed);
    assert_eq!(same["id"], alice["id"]);
    assert_ne!(second_token, token);
    let listed = c.participants();
    let row = listed.iter().find(|p| p["id"] == alice["id"]).unwrap();
    assert!(row["last_sign_in"].as_i64().is_some(), "{row}");
    assert!(listed
        .iter()
        .find(|p| p["name"] == "Coded person")
        .is_some_and(|p| p["signed_in_with"].is_null() && p["last_sign_in"].is_null()));

    // Signing out ends that device's token on the server; the other device's stays.
    let (status, _) = http_blocking(
        &c.server.addr(),
        "POST",
        "/api/sign-out",
        Some(&second_token),
        None,
    );
    assert_eq!(status, 204);
    assert_eq!(c.plans_status(&second_token), 401);
    assert_eq!(c.plans_status(&token), 200);

    // The same address through the fire service's provider is another identity: it finds
    // nothing by itself, and through an invitation it becomes a second participant.
    let via_fire = Walker::new()
        .sign_in(&c.url, "fire", None, "alice.lead@riverton.test")
        .await;
    refused(&via_fire, 403, "no plan on this server knows you through");
    let any = c.invite(serde_json::json!("any"));
    let joined = Walker::new()
        .sign_in(&c.url, "fire", Some(&any), "alice.lead@riverton.test")
        .await;
    let (_, signed) = c.finish(&joined);
    let (fire_alice, _) = only(&signed);
    assert_ne!(fire_alice["id"], alice["id"]);
    assert_eq!(fire_alice["signed_in_with"], FIRE);

    // An owner removes her: her token ends at once.
    let (status, _) = c.server.request(
        "DELETE",
        &format!("/api/plans/{}/participants/{}", c.plan, alice["id"]),
        None,
    );
    assert!(status == 204 || status == 200, "{status}");
    assert_eq!(c.plans_status(&token), 401);
}

/// The server's clock, as the tests' (both are this machine's).
fn plansync_server_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Signs in through Riverton's provider with an invitation, with `mode` set on the
/// provider's token endpoint; the server's answer.
async fn tampered(c: &Central, code: &str, mode: &str) -> Answer {
    c.providers
        .switch("riverton", "tamper", serde_json::json!({ "mode": mode }));
    let answer = Walker::new()
        .sign_in(&c.url, "riverton", Some(code), "eve@riverton.test")
        .await;
    c.providers
        .switch("riverton", "tamper", serde_json::json!({ "mode": "" }));
    answer
}

/// A callback address with its `state` replaced (or removed, for `None`).
fn with_state(callback: &str, state: Option<&str>) -> String {
    let (base, query) = callback.split_once('?').unwrap();
    let mut parts: Vec<String> = query
        .split('&')
        .filter(|p| !p.starts_with("state="))
        .map(str::to_string)
        .collect();
    if let Some(s) = state {
        parts.push(format!("state={s}"));
    }
    format!("{base}?{}", parts.join("&"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_replayed_or_misdirected_sign_ins_are_refused_with_a_clear_message_and_change_nothing(
) {
    let c = central(3600, 2).await;
    let code = c.invite(serde_json::json!("any"));
    let uses = |c: &Central| {
        let (_, list) =
            c.server
                .request("GET", &format!("/api/plans/{}/invitations", c.plan), None);
        list.as_array()
            .unwrap()
            .iter()
            .find(|i| i["code"] == code.as_str())
            .map(|i| i["uses_left"].as_i64().unwrap())
            .unwrap()
    };
    let people = c.participants().len();

    // A key rotation is not an attack: the server fetches the new key (once, for a key id
    // it has not seen) and signs the person in.
    let rotated = tampered(&c, &code, "rotated").await;
    assert_eq!(rotated.status, 303, "{rotated:?}");
    assert_eq!(c.finish(&rotated).0, 200);
    assert_eq!(c.participants().len(), people + 1);
    assert_eq!(uses(&c), 4);
    let people = people + 1;

    // ID tokens altered on the way, each checked by the server and refused.
    for (mode, words) in [
        ("iss", "names another issuer"),
        ("aud", "for another application"),
        ("expired", "has expired"),
        ("other-key", "a key the provider does not publish"),
        ("none", "could not be verified"),
        ("hs256", "could not be verified"),
        ("nonce", "not the answer to this sign-in"),
    ] {
        refused(&tampered(&c, &code, mode).await, 400, words);
    }
    assert_eq!(c.participants().len(), people, "nothing changed");
    assert_eq!(uses(&c), 4, "no use of the invitation taken");

    // The state: missing, not one the server started, or a replay of a finished one.
    let browser = Walker::new();
    let callback = browser
        .to_callback(&c.url, "riverton", Some(&code), "frank@riverton.test")
        .await
        .expect("the provider sends the browser back");
    let missing = browser.get(&with_state(&callback, None)).await;
    refused(&missing, 400, "without the state");
    let wrong = browser
        .get(&with_state(&callback, Some("not-the-state")))
        .await;
    refused(&wrong, 400, "not one this server started");
    let first = browser.get(&callback).await;
    assert_eq!(first.status, 303, "{first:?}");
    let replay = browser.get(&callback).await;
    refused(&replay, 400, "finished already");
    // The used code in a fresh flow of another browser: the provider refuses it (PKCE and
    // single use), and the server says so.
    let used_code = callback
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let other = Walker::new();
    let fresh = other
        .to_callback(&c.url, "riverton", Some(&code), "grace@riverton.test")
        .await
        .unwrap();
    let fresh_code = fresh
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let swapped = other.get(&fresh.replace(&fresh_code, &used_code)).await;
    refused(&swapped, 403, "did not sign you in");
    // A return that reaches another browser (a link sent to someone else): refused.
    let thief = Walker::new();
    let stolen = Walker::new()
        .to_callback(&c.url, "riverton", Some(&code), "heidi@riverton.test")
        .await
        .unwrap();
    let used_elsewhere = thief.get(&stolen).await;
    refused(&used_elsewhere, 400, "another browser");
    assert_eq!(c.participants().len(), people + 1, "only frank joined");
    let people = people + 1;

    // An open redirect in the return address.
    for to in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
    ] {
        let start = format!(
            "{}/auth/riverton/start?return={}",
            c.url,
            to.replace('/', "%2F").replace('\\', "%5C")
        );
        let answer = Walker::new().get(&start).await;
        assert!(answer.location.is_none(), "{to}");
        refused(&answer, 400, "must be a page of Plansync");
    }
    // An unknown provider.
    assert_eq!(
        Walker::new()
            .get(&format!("{}/auth/nobody/start", c.url))
            .await
            .status,
        404
    );

    // Riverton may vouch only for riverton.test addresses.
    let outsider = Walker::new()
        .sign_in(&c.url, "riverton", Some(&code), "mallory@elsewhere.test")
        .await;
    refused(
        &outsider,
        403,
        "may vouch only for addresses at riverton.test",
    );

    // A disabled account cannot sign in again.
    c.providers.switch(
        "riverton",
        "disable",
        serde_json::json!({ "login": "frank@riverton.test" }),
    );
    let disabled = Walker::new()
        .to_callback(&c.url, "riverton", None, "frank@riverton.test")
        .await;
    assert!(
        disabled.is_err(),
        "a disabled account was sent back signed in"
    );

    // A provider that answers slowly: the sign-in gives up after its timeout (2 s here),
    // saying so, and the server answers everyone else meanwhile.
    c.providers
        .switch("fire", "stall", serde_json::json!({ "ms": 20_000 }));
    let url = c.url.clone();
    let slow = tokio::spawn(async move {
        let started = Instant::now();
        let a = Walker::new().get(&format!("{url}/auth/fire/start")).await;
        (a, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        let took = c.server.health_latency().expect("health answers");
        assert!(
            took < Duration::from_secs(1),
            "health took {took:?} while a provider stalled"
        );
    }
    let (answer, took) = slow.await.unwrap();
    refused(&answer, 502, "did not answer in time");
    assert!(took < Duration::from_secs(10), "gave up after {took:?}");
    c.providers
        .switch("fire", "stall", serde_json::json!({ "ms": 0 }));
    assert_eq!(c.participants().len(), people);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_ins_token_ends_after_the_set_time_and_its_open_connection_with_it() {
    let c = central(6, 10).await;
    let code = c.invite(serde_json::json!({ "provider": "riverton" }));
    let answer = Walker::new()
        .sign_in(&c.url, "riverton", Some(&code), "ivan@riverton.test")
        .await;
    let (_, signed) = c.finish(&answer);
    let (me, token) = only(&signed);
    let ends = me["session_ends"].as_i64().unwrap();
    assert!(ends > plansync_server_now() && ends <= plansync_server_now() + 6_500);
    let client = RustClient::connect(&c.server.sync_url_with(&token), "ivan").await;
    client.find(c.plan).await;
    assert_eq!(c.plans_status(&token), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.is_connected() {
        assert!(
            Instant::now() < deadline,
            "the connection outlived its sign-in"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(plansync_server_now() >= ends - 100);
    assert_eq!(c.plans_status(&token), 401);
    let (status, said) = http_blocking(&c.server.addr(), "GET", "/api/plans", Some(&token), None);
    assert_eq!(status, 401);
    assert!(
        said["error"].as_str().unwrap().contains("sign in again"),
        "{said}"
    );
}
