//! A private PostgreSQL cluster for a test: `initdb` in a temporary folder, started on a
//! free loopback port, stopped and removed when dropped. Debian's `postgresql` package
//! provides the binaries (`scripts/setup.sh --test` installs it). `initdb` refuses to run as
//! root, so as root the cluster runs as the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running PostgreSQL cluster; stopped (immediately) and deleted when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// The newest installed PostgreSQL's `bin` folder.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).unwrap_or_else(|| {
        panic!("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run `bash scripts/setup.sh --test`")
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn check(what: &str, out: std::io::Result<Output>) {
    let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    /// Creates and starts a cluster (about a second), with trust authentication on
    /// 127.0.0.1 only.
    pub fn start() -> Self {
        let bin = bin_dir();
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("plansync-pg")
            .tempdir()
            .expect("a temp dir");
        if as_postgres {
            check(
                "chown the cluster folder",
                Command::new("chown")
                    .arg("postgres:")
                    .arg(dir.path())
                    .output(),
            );
        }
        let mut cluster = Self {
            dir,
            bin,
            port: 0,
            as_postgres,
        };
        let data = cluster.data();
        check(
            "initdb",
            cluster
                .command("initdb")
                .args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "-D",
                ])
                .arg(&data)
                .output(),
        );
        // A port taken between choosing and binding makes pg_ctl fail: try a few.
        for attempt in 0..5 {
            cluster.port = free_port();
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                cluster.port,
                cluster.dir.path().display()
            );
            let out = cluster
                .command("pg_ctl")
                .args(["-w", "-t", "30", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(cluster.dir.path().join("log"))
                .args(["-o", &options, "start"])
                .output()
                .expect("run pg_ctl");
            if out.status.success() {
                return cluster;
            }
            if attempt == 4 {
                let log =
                    std::fs::read_to_string(cluster.dir.path().join("log")).unwrap_or_default();
                panic!(
                    "PostgreSQL did not start: {}\n{log}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        unreachable!()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Creates a database and returns its URL (`postgres://postgres@127.0.0.1:PORT/NAME`).
    pub fn database(&self, name: &str) -> String {
        check("createdb", self.client("createdb").arg(name).output());
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs SQL with `psql` on a database; returns what it printed (unaligned, no headers).
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = self
            .client("psql")
            .args(["-v", "ON_ERROR_STOP=1", "-At", "-d", database, "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A client program of the cluster (`psql`, `pg_dump`...) connecting as `postgres`.
    fn client(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-p",
            &self.port.to_string(),
        ]);
        cmd
    }

    /// Writes `database` to `file` with `pg_dump` (its custom, compressed format).
    pub fn dump(&self, database: &str, file: &Path) {
        check(
            "pg_dump",
            self.client("pg_dump")
                .args(["--format=custom", "--no-owner", "-d", database, "-f"])
                .arg(file)
                .output(),
        );
    }

    /// Loads a `pg_dump` custom-format `file` into `database` with `pg_restore`.
    pub fn restore(&self, database: &str, file: &Path) {
        check(
            "pg_restore",
            self.client("pg_restore")
                .args(["--no-owner", "--exit-on-error", "-d", database])
                .arg(file)
                .output(),
        );
    }

    /// The cluster's folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-m", "immediate", "-w", "-D"])
            .arg(self.data())
            .arg("stop")
            .output();
    }
}
