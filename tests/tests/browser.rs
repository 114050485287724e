//! The web app in Debian's headless chromium, served by the real `plansync` binary.

use fantoccini::Locator;
use plansync_shared::{TextField, DEMO_PLAN_TITLE};
use plansync_tests::{app_dir, Browser, RustClient, Server, WAIT};
use std::time::{Duration, Instant};

async fn text_of(client: &fantoccini::Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_demo_plan_and_its_themes_and_follows_live_edits() {
    assert!(
        app_dir().join("index.html").is_file(),
        "build the app first: trunk build --release (the test command does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("plans.db"), &[]);
    let browser = Browser::start().await;
    let page = browser.session().await;
    page.goto(&server.url).await.unwrap();
    page.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(".plan-title"))
        .await
        .expect("the plan renders");
    assert_eq!(text_of(&page, ".plan-title").await, DEMO_PLAN_TITLE);
    let mut themes = Vec::new();
    for e in page.find_all(Locator::Css(".theme h3")).await.unwrap() {
        themes.push(e.text().await.unwrap());
    }
    assert_eq!(
        themes,
        ["Victims", "Offenders", "Communities", "Transformation"]
    );
    assert!(
        text_of(&page, "nav").await.contains(DEMO_PLAN_TITLE),
        "the plan list names the plan"
    );
    // A picture of what a newcomer sees, for people reviewing a change.
    let png = page.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let _ = std::fs::write(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser-demo-plan.png"),
        png,
    );

    // An edit from another client appears without a reload.
    let doc = server.demo_plan().await;
    let rust = RustClient::connect(&server.sync_url(), "editor").await;
    rust.find(doc).await;
    rust.edit(doc, |p| {
        p.splice_text(&TextField::PlanTitle, 0, 0, "[LIVE] ")
            .unwrap()
    });
    let start = Instant::now();
    loop {
        let title = text_of(&page, ".plan-title").await;
        if title.starts_with("[LIVE] ") {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "the page did not show the live edit; it shows {title:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    page.close().await.unwrap();
}
