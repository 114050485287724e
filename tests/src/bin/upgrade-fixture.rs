//! Makes the upgrade fixtures (`tests/fixtures/upgrade/`) with a release's `plansync`
//! (`PLANSYNC_BIN`), on SQLite and on PostgreSQL: the demo plan, its owner, an editor and a
//! viewer who joined with invitations, the editor's edits through a sync client (so the
//! changes have an author), and a named snapshot. Beside each database, what the release's
//! API said it held, and the owner's and editor's tokens, for the upgrade test to compare.
//!
//! Usage: PLANSYNC_BIN=OLD/plansync cargo run -p plansync-tests --bin upgrade-fixture -- OUT

use plansync_shared::TextField;
use plansync_tests::{Backing, RustClient};
use std::path::PathBuf;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let out = PathBuf::from(std::env::args().nth(1).expect("usage: upgrade-fixture OUT"));
    std::fs::create_dir_all(&out).expect("make the output folder");
    let version = std::process::Command::new(plansync_tests::plansync_binary())
        .arg("--version")
        .output()
        .expect("run the release's plansync");
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    for backing in [Backing::sqlite(), Backing::postgres()] {
        let server = backing.start(&[]);
        let doc = server.demo_plan().await;
        let (_, editor) = server.join_as("editor", "Analyst");
        server.join_as("viewer", "Observer");
        let client = RustClient::connect(&server.sync_url_with(&editor), "analyst").await;
        client.find(doc).await;
        for i in 0..5 {
            client.edit(doc, |p| {
                p.splice_text(&TextField::PlanTitle, 0, 0, &format!("[{i}] "))
                    .unwrap()
            });
        }
        client.wait_server_has_all(doc).await;
        let body = serde_json::json!({"name": "Draft for Panel"});
        let (status, _) =
            server.request("POST", &format!("/api/plans/{doc}/snapshots"), Some(&body));
        assert_eq!(status, 201);
        let get = |path: String| {
            let (status, body) = server.request("GET", &path, None);
            assert_eq!(status, 200, "{path}: {body}");
            body
        };
        let expected = serde_json::json!({
            "made_by": version,
            "made_from_commit": std::env::var("RELEASE_COMMIT").unwrap_or_default(),
            "plan": doc.to_string(),
            "owner_token": server.token,
            "editor_token": editor,
            "plans": get("/api/plans".into()),
            "participants": get(format!("/api/plans/{doc}/participants")),
            "snapshots": get(format!("/api/plans/{doc}/snapshots")),
            "authors": get(format!("/api/plans/{doc}/authors")),
        });
        let name = backing.name();
        std::fs::write(
            out.join(format!("{name}.json")),
            serde_json::to_string_pretty(&expected).unwrap() + "\n",
        )
        .expect("write what it held");
        drop(client);
        server.kill();
        match backing.cluster() {
            None => {
                let file = out.join("plansync.db");
                let _ = std::fs::remove_file(&file);
                // This build's `plansync backup` (a page-for-page copy through SQLite, so
                // nothing is migrated) into one file without a write-ahead log.
                let this_build = std::env::current_exe()
                    .expect("this program's path")
                    .with_file_name("plansync");
                let copied = std::process::Command::new(this_build)
                    .args(["backup", "--db"])
                    .arg(backing.db())
                    .arg("--out")
                    .arg(&file)
                    .status()
                    .expect("run plansync backup");
                assert!(copied.success(), "plansync backup failed");
            }
            Some(cluster) => {
                let url = backing.database().expect("a database");
                cluster.dump(url, &out.join("plansync.pgdump"));
            }
        }
        println!("{name}: made by {version}");
    }
}
