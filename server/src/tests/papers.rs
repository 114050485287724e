//! Snapshots, history, comparison, restore, exports and tracker imports through the API.

use super::*;

#[tokio::test]
async fn snapshots_history_compare_restore_and_exports_work_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let t = Some(token.as_str());
    let (status, snap) = call(
        &s,
        "POST",
        &format!("/api/plans/{plan}/snapshots"),
        t,
        Some(r#"{"name":"Draft for Panel, January"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{snap}");
    assert_eq!(snap["author"], "Chair, Office of the PCC");
    let snap_id = snap["id"].as_i64().unwrap();
    let (_, before) = call(&s, "GET", &format!("/api/plans/{plan}/plan"), t, None).await;
    let action = before["themes"][0]["objectives"][0]["actions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // An edit made as the owner.
    let me = crate::membership::authenticate(&s.store, vec![token.clone()])
        .await
        .unwrap()
        .remove(0);
    let a = plansync_shared::ActionId::new(action.clone());
    s.sync
        .change_plan(plan.parse().unwrap(), me.id, None, move |p| {
            p.set_text(
                &plansync_shared::TextField::ActionTitle(a),
                "Renamed at the workshop",
            )
        })
        .await
        .unwrap();
    let (status, history) = call(&s, "GET", &format!("/api/plans/{plan}/history"), t, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history[0]["name"], "Chair");
    assert_eq!(history[0]["agency"], "Office of the PCC");
    assert_eq!(
        history[0]["summary"],
        "edited the title of action 'Renamed at the workshop'"
    );
    let (_, authors) = call(&s, "GET", &format!("/api/plans/{plan}/authors"), t, None).await;
    let newest = history[0]["hashes"][0].as_str().unwrap();
    assert_eq!(authors[newest]["name"], "Chair");
    assert_eq!(authors[newest]["agency"], "Office of the PCC");
    let (_, none) = call(
        &s,
        "GET",
        &format!("/api/plans/{plan}/history?agency=probation"),
        t,
        None,
    )
    .await;
    assert_eq!(none.as_array().unwrap().len(), 0);
    let (_, cmp) = call(
        &s,
        "GET",
        &format!("/api/plans/{plan}/compare?from={snap_id}"),
        t,
        None,
    )
    .await;
    assert_eq!(cmp["from"], "Draft for Panel, January");
    assert_eq!(cmp["differences"][0]["change"]["type"], "reworded");
    // A token in the address opens nothing; in the header it does.
    let (status, _) = call_raw(
        &s,
        "GET",
        &format!("/api/plans/{plan}/exports/plan.json?at={snap_id}&token={token}"),
        None,
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, json) = call_raw(
        &s,
        "GET",
        &format!("/api/plans/{plan}/exports/plan.json?at={snap_id}"),
        t,
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let exported = crate::export::plan_from_json(&json).unwrap();
    assert_eq!(serde_json::to_value(&exported).unwrap(), before);
    let (status, _) = call_raw(
        &s,
        "GET",
        &format!("/api/plans/{plan}/exports/plan.odt"),
        t,
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call_raw(
        &s,
        "GET",
        &format!("/api/plans/{plan}/exports/plan.json"),
        None,
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Restore is a new change: the plan reads as at the snapshot, history grows.
    let (status, r) = call(
        &s,
        "POST",
        &format!("/api/plans/{plan}/restore"),
        t,
        Some(&format!(r#"{{"snapshot":{snap_id}}}"#)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, after) = call(&s, "GET", &format!("/api/plans/{plan}/plan"), t, None).await;
    assert_eq!(after, before);
    let (_, history2) = call(&s, "GET", &format!("/api/plans/{plan}/history"), t, None).await;
    assert_eq!(
        history2.as_array().unwrap().len(),
        history.as_array().unwrap().len() + 1
    );
    assert_eq!(
        history2[0]["summary"],
        "restored the plan as at the snapshot \"Draft for Panel, January\""
    );
    // Import the JSON as a new plan: it reads the same.
    let (status, imported) = call_raw(&s, "POST", "/api/plans/import", t, json.clone()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&imported)
    );
    let imported: serde_json::Value = serde_json::from_slice(&imported).unwrap();
    let (new_plan, new_token) = (
        imported["plan"]["id"].as_str().unwrap(),
        imported["token"].as_str().unwrap(),
    );
    let (_, copy) = call(
        &s,
        "GET",
        &format!("/api/plans/{new_plan}/plan"),
        Some(new_token),
        None,
    )
    .await;
    assert_eq!(copy, before);
    let (status, bad) = call_raw(&s, "POST", "/api/plans/import", t, b"not a plan".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&bad)
        .contains("neither a Plansync JSON export nor an automerge file"));
}

#[tokio::test]
async fn a_tracker_import_previews_refuses_bad_rows_whole_and_then_creates_the_actions() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let t = Some(token.as_str());
    let csv_bad = "Theme,Objective,Action,Due,RAG\nNight-time economy,Safer streets,Taxi marshals,2027-03-31,green\nNight-time economy,Safer streets,Street pastors,soon,\n";
    let url = format!("/api/plans/{plan}/import/tracker?format=csv");
    let (status, preview) = call_raw(&s, "POST", &url, t, csv_bad.into()).await;
    assert_eq!(status, StatusCode::OK);
    let preview: serde_json::Value = serde_json::from_slice(&preview).unwrap();
    assert_eq!(preview["header"][2], "Action");
    assert_eq!(preview["mapping"]["action"], 2);
    assert_eq!(preview["import"]["bad"][0]["row"], 3);
    assert_eq!(preview["import"]["new_themes"][0], "Night-time economy");
    let (_, before) = call(&s, "GET", &format!("/api/plans/{plan}/plan"), t, None).await;
    let (status, refused) =
        call_raw(&s, "POST", &format!("{url}&commit=true"), t, csv_bad.into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&refused).contains("nothing was imported"));
    let (_, unchanged) = call(&s, "GET", &format!("/api/plans/{plan}/plan"), t, None).await;
    assert_eq!(unchanged, before);
    let csv_good = csv_bad.replace("soon", "31/03/2027");
    let (status, done) = call_raw(
        &s,
        "POST",
        &format!("{url}&commit=true&period=2026-Q2"),
        t,
        csv_good.into(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&done));
    let (_, after) = call(&s, "GET", &format!("/api/plans/{plan}/plan"), t, None).await;
    let theme = after["themes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Night-time economy")
        .unwrap();
    let acts = &theme["objectives"][0]["actions"];
    assert_eq!(acts[0]["title"], "Taxi marshals");
    assert_eq!(acts[0]["rag"]["2026-Q2"], "green");
    assert_eq!(acts[1]["due"], "2027-03-31");
}

#[test]
fn our_own_tracker_xlsx_imports_as_a_tracker_with_the_mapping_guessed_from_its_header() {
    let mut r = rand::rng();
    let doc = plansync_shared::demo_plan(&mut r).unwrap();
    let plan = doc.read().unwrap();
    let opts = crate::export::Options {
        period: plansync_shared::ReportingPeriod::from_key("2026-Q2").unwrap(),
        board: None,
        version: "now".into(),
        older: None,
        made: String::new(),
        sign_offs: Vec::new(),
    };
    let mut xlsx = Vec::new();
    crate::export::write(
        crate::export::Export::parse("tracker.xlsx").unwrap(),
        &plan,
        None,
        &opts,
        &mut xlsx,
    )
    .unwrap();
    let limits = crate::ImportLimits::default();
    let table = crate::read_table("xlsx", &xlsx, &limits).unwrap();
    let mapping = plansync_shared::guess_mapping(&table[0]);
    for f in [
        plansync_shared::TrackerField::Theme,
        plansync_shared::TrackerField::Objective,
        plansync_shared::TrackerField::Action,
        plansync_shared::TrackerField::Due,
        plansync_shared::TrackerField::Rag,
    ] {
        assert!(mapping.contains_key(&f), "{f:?} guessed");
    }
    let empty = plansync_shared::PlanDoc::create(
        &plansync_shared::NewPlan {
            title: "Next plan".into(),
            area: String::new(),
            period_start: 2029,
            period_end: 2031,
            owning_body: String::new(),
        },
        &mut r,
    )
    .unwrap()
    .read()
    .unwrap();
    let import = plansync_shared::plan_import(&empty, &table[1..], &mapping);
    assert!(import.bad.is_empty(), "{:?}", import.bad);
    let actions: usize = plan
        .themes
        .iter()
        .flat_map(|t| &t.objectives)
        .map(|o| o.actions.len())
        .sum();
    assert_eq!(import.new_actions, actions);
    assert_eq!(import.new_themes.len(), plan.themes.len());
    assert!(crate::read_table("xlsx", b"not a workbook", &limits)
        .unwrap_err()
        .contains("not an Excel"));
}

#[tokio::test]
async fn the_plan_view_is_the_plan_now_with_its_heads_gzipped_when_asked_and_only_for_its_people() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(&dir).await;
    let (plan, token) = owner(&s).await;
    let path = format!("/api/plans/{plan}/view");
    let (status, _) = call(&s, "GET", &path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "only the plan's people");
    let me = crate::membership::authenticate(&s.store, vec![token.clone()])
        .await
        .unwrap()
        .remove(0);
    s.sync
        .change_plan(plan.parse().unwrap(), me.id, None, |p| {
            p.set_text(
                &plansync_shared::TextField::PlanTitle,
                "Renamed for the view",
            )
        })
        .await
        .unwrap();
    let (status, view) = call(&s, "GET", &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let view: plansync_shared::api::PlanView = serde_json::from_value(view).unwrap();
    assert_eq!(view.plan.title, "Renamed for the view");
    let heads: Vec<String> = s
        .sync
        .heads(plan.parse().unwrap(), None)
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(view.heads, heads, "read at the heads the server holds");

    // A browser that takes gzip gets it, and it reads back the same.
    let req = Request::builder()
        .uri(&path)
        .header("authorization", format!("Bearer {token}"))
        .header("accept-encoding", "gzip, deflate, br")
        .body(Body::empty())
        .unwrap();
    let resp = app(s.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let mut json = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut json)
        .unwrap();
    let unzipped: plansync_shared::api::PlanView = serde_json::from_str(&json).unwrap();
    assert_eq!(unzipped, view);
}
