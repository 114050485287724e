//! The repository's nginx configuration (`deploy/nginx.conf`) run by Debian's nginx in
//! front of test nodes: the same file, with its listen port and upstream servers replaced
//! by the test's, and its pid, logs and temporary files kept in a temporary folder.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx; stopped when dropped.
pub struct Nginx {
    child: Child,
    _dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT/`
    pub url: String,
}

impl Nginx {
    /// Starts nginx with `deploy/nginx.conf` in front of `nodes` (`host:port` each).
    pub fn start(nodes: &[String]) -> Self {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .expect("nginx is not installed: run `bash scripts/setup.sh --test`");
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx.conf"),
        )
        .expect("deploy/nginx.conf");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut lines = Vec::new();
        let mut upstreams_written = false;
        for line in template.lines() {
            let t = line.trim_start();
            if t.starts_with("server 127.0.0.1:") {
                if !upstreams_written {
                    for n in nodes {
                        lines.push(format!("        server {n} max_fails=1 fail_timeout=5s;"));
                    }
                    upstreams_written = true;
                }
            } else if t.starts_with("listen 8080;") {
                lines.push(format!("        listen 127.0.0.1:{port};"));
            } else if t.starts_with("worker_processes") {
                lines.push("worker_processes 1;".into());
            } else {
                lines.push(line.to_string());
            }
        }
        assert!(
            upstreams_written,
            "deploy/nginx.conf names its upstream servers"
        );
        let dir = tempfile::tempdir().expect("a temp dir");
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, lines.join("\n")).expect("write the config");
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off; pid nginx.pid; error_log stderr warn;"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start nginx");
        let nginx = Self {
            child,
            _dir: dir,
            url: format!("http://127.0.0.1:{port}/"),
        };
        let deadline = Instant::now() + crate::WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen within {:?}",
                crate::WAIT
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    /// The WebSocket address of `/sync` through nginx with a token.
    pub fn sync_url_with(&self, token: &str) -> String {
        format!(
            "{}sync?token={token}",
            self.url.replacen("http://", "ws://", 1)
        )
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT is nginx's graceful stop; its workers follow the master.
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
