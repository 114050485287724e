//! Debian's Prometheus, started by a test to scrape its servers: its own config, data folder
//! and port, queried through its HTTP API.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Prometheus; stopped when dropped.
pub struct Prometheus {
    child: Child,
    _dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`
    pub addr: String,
}

/// One scrape job: a name, its target (`host:port`) and the bearer token it sends, if any.
pub struct Job<'a> {
    /// The job's name (the `job` label).
    pub name: &'a str,
    /// `host:port`
    pub target: &'a str,
    /// The token sent as `Authorization: Bearer`.
    pub token: Option<&'a str>,
}

impl Prometheus {
    /// Starts Prometheus scraping each job's `/metrics` every second.
    pub fn start(jobs: &[Job]) -> Self {
        let bin = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .expect("prometheus is not installed: run `bash scripts/setup.sh --test`");
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut config =
            String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
        for job in jobs {
            config.push_str(&format!(
                "  - job_name: {}\n    static_configs:\n      - targets: ['{}']\n",
                job.name, job.target
            ));
            if let Some(token) = job.token {
                let file = dir.path().join(format!("{}.token", job.name));
                std::fs::write(&file, token).expect("write the token");
                config.push_str(&format!(
                    "    authorization:\n      credentials_file: {}\n",
                    file.display()
                ));
            }
        }
        let conf = dir.path().join("prometheus.yml");
        std::fs::write(&conf, config).expect("write the config");
        let port = crate::smtp::free_port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(bin)
            .arg(format!("--config.file={}", conf.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let p = Self {
            child,
            _dir: dir,
            addr,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(&p.addr).is_ok()
                && crate::http_blocking(&p.addr, "GET", "/-/ready", None, None).0 == 200
            {
                return p;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("prometheus did not become ready within 30 s");
    }

    /// The value of an instant query whose result is one series (`None` if none yet).
    /// `query` must need no escaping in a URL beyond `{`, `}`, `"` and `=`.
    pub fn value(&self, query: &str) -> Option<f64> {
        let q: String = query
            .chars()
            .map(|c| match c {
                '{' => "%7B".to_string(),
                '}' => "%7D".to_string(),
                '"' => "%22".to_string(),
                '=' => "%3D".to_string(),
                ' ' => "%20".to_string(),
                c => c.to_string(),
            })
            .collect();
        let (status, body) = crate::http_blocking(
            &self.addr,
            "GET",
            &format!("/api/v1/query?query={q}"),
            None,
            None,
        );
        assert_eq!(status, 200, "{body}");
        let result = body["data"]["result"].as_array()?;
        result.first()?["value"][1].as_str()?.parse().ok()
    }

    /// Waits (up to 30 s) until `query`'s value satisfies `ok`; returns the last value.
    pub fn wait_for(&self, query: &str, ok: impl Fn(f64) -> bool) -> Option<f64> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = None;
        while Instant::now() < deadline {
            last = self.value(query);
            if last.is_some_and(&ok) {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        last
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
