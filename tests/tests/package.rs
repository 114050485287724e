//! The Debian package, built with cargo-deb from the binary the tests run (the same files,
//! unit and maintainer scripts as `scripts/package.sh`'s release package, unstripped),
//! unpacked and checked: its control data, the systemd unit (systemd-analyze), lintian, and
//! the packaged binary started with the packaged config, serving the app.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn run(what: &str, cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed: {text}");
    text
}

#[test]
fn the_debian_package_holds_a_hardened_service_its_config_and_a_binary_that_serves_the_app() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("deb");
    run(
        "cargo deb",
        Command::new("cargo")
            .args([
                "deb",
                "-p",
                "plansync-server",
                "--no-build",
                "--profile",
                "dev",
            ])
            .args(["--no-strip", "--fast", "--output"])
            .arg(&out)
            .current_dir(&root),
    );
    let deb = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("a .deb");
    let name = deb.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with("plansync_") && name.ends_with("_amd64.deb"),
        "{name}"
    );

    let x = dir.path().join("x");
    run(
        "dpkg-deb -x",
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x),
    );
    run(
        "dpkg-deb -e",
        Command::new("dpkg-deb")
            .arg("-e")
            .arg(&deb)
            .arg(x.join("DEBIAN")),
    );
    let read = |p: &str| std::fs::read_to_string(x.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert!(read("DEBIAN/conffiles").contains("/etc/plansync/plansync.toml"));
    let postinst = read("DEBIAN/postinst");
    assert!(
        postinst.contains("adduser --quiet --system --group"),
        "{postinst}"
    );
    assert!(
        postinst.contains("deb-systemd-helper enable plansync.service"),
        "{postinst}"
    );
    let unit_path = "usr/lib/systemd/system/plansync.service";
    let unit = read(unit_path);
    for line in [
        "User=plansync",
        "ExecStart=/usr/bin/plansync serve --config /etc/plansync/plansync.toml",
        "StateDirectory=plansync",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(line), "the unit has {line:?}");
    }
    assert!(read("etc/plansync/plansync.toml").contains("db = \"/var/lib/plansync/plansync.db\""));

    // systemd checks the unit, with ExecStart pointing at the unpacked binary (it checks
    // that the program exists).
    let binary = x.join("usr/bin/plansync");
    let local = dir.path().join("plansync.service");
    std::fs::write(
        &local,
        unit.replace("/usr/bin/plansync", binary.to_str().unwrap()),
    )
    .unwrap();
    run(
        "systemd-analyze verify",
        Command::new("systemd-analyze").arg("verify").arg(&local),
    );
    let security = run(
        "systemd-analyze security",
        Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(x.join(unit_path)),
    );
    let exposure: f64 = security
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for plansync.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("an exposure level: {security}"));
    eprintln!("systemd-analyze security: exposure {exposure} (0 is the least, 10 the most)");
    assert!(
        exposure < 2.0,
        "the service is hardened: exposure {exposure}"
    );

    // lintian: nothing beyond the overrides the package carries (this test's binary is
    // unstripped on purpose; the release package's is stripped).
    let lint = Command::new("lintian")
        .args(["--suppress-tags", "unstripped-binary-or-object"])
        .arg(&deb)
        .output()
        .expect("lintian is installed (scripts/setup.sh --test)");
    let said = String::from_utf8_lossy(&lint.stdout).to_string();
    let tags: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("E:") || l.starts_with("W:"))
        .collect();
    assert!(tags.is_empty(), "lintian: {said}");

    // The packaged binary starts with the packaged config (its database and address given
    // on the command line win over the file's) and serves the app.
    let mut server = Command::new(&binary)
        .arg("serve")
        .arg("--config")
        .arg(x.join("etc/plansync/plansync.toml"))
        .arg("--db")
        .arg(dir.path().join("plansync.db"))
        .args(["--listen", "127.0.0.1:0", "--demo"])
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    // It goes on printing (room addresses, the owner link): keep its pipe open.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("the address it runs at: {first}"))
        .to_string();
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let page = plansync_tests::http_raw(addr, "GET", "/", &[], b"");
    let health = plansync_tests::http_raw(addr, "GET", "/health", &[], b"");
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("<html") && !html.contains("not built"),
        "{html}"
    );
    assert!(
        html.contains(".wasm") || html.contains("_bg"),
        "the app's page: {html}"
    );
    assert_eq!(health.status, 200);
}
