//! A real SMTP server for the tests: aiosmtpd (Debian's python3-aiosmtpd) writing every
//! message it accepts into a Maildir the tests read.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running aiosmtpd; killed when dropped.
pub struct MailSink {
    child: Child,
    dir: tempfile::TempDir,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

/// One message as it arrived.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Its headers and body, as received.
    pub raw: String,
}

impl Mail {
    /// A header's value (the first), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\n\n").next().unwrap_or_default();
        let unfolded = head
            .replace("\r\n", "\n")
            .replace("\n ", " ")
            .replace("\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    /// The body, quoted-printable soft line breaks joined (what a reader sees).
    pub fn body(&self) -> String {
        let raw = self.raw.replace("\r\n", "\n");
        let body = raw.split_once("\n\n").map(|(_, b)| b).unwrap_or_default();
        if self
            .header("Content-Transfer-Encoding")
            .is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable"))
        {
            return unquote(body);
        }
        body.to_string()
    }
}

/// Decodes quoted-printable text: soft line breaks joined, `=XX` made a byte.
fn unquote(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let b = joined.as_bytes();
    let mut bytes = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'=', Some(v)) => {
                bytes.push(v);
                i += 3;
            }
            (c, _) => {
                bytes.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A free port on 127.0.0.1 (free when asked).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl MailSink {
    /// Starts a mail server on a free port.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts a mail server on `port`, waiting (bounded) until it takes connections.
    pub fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let maildir = dir.path().join("mail");
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect(
                "start aiosmtpd (Debian's python3-aiosmtpd; scripts/setup.sh --test installs it)",
            );
        let sink = Self { child, dir, port };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not listen on {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        sink
    }

    /// The address to give `--smtp-url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// How many messages have arrived.
    pub fn count(&self) -> usize {
        ["new", "cur"]
            .iter()
            .filter_map(|d| std::fs::read_dir(self.maildir().join(d)).ok())
            .map(|r| r.count())
            .sum()
    }

    /// Every message that has arrived, in the order of their file names.
    pub fn messages(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .filter_map(|d| std::fs::read_dir(self.maildir().join(d)).ok())
            .flat_map(|r| r.filter_map(|e| e.ok().map(|e| e.path())))
            .collect();
        files.sort();
        files.iter().map(|f| Mail { raw: read(f) }).collect()
    }

    /// Waits (up to `within`) until at least `n` messages have arrived; the count then.
    pub fn wait_for(&self, n: usize, within: Duration) -> usize {
        let start = Instant::now();
        loop {
            let c = self.count();
            if c >= n || start.elapsed() > within {
                return c;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn read(f: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(f).unwrap_or_default()).into_owned()
}

impl Drop for MailSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
