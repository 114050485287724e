//! A TCP proxy between two servers on loopback that can cut the link (the room loses its
//! internet: open connections are reset and new ones refused) and restore it, and counts the
//! bytes it carried each way.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy; stops when dropped.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`, the address clients dial.
    pub url: String,
    up: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
    /// Bytes from clients to the target.
    pub sent: Arc<AtomicU64>,
    /// Bytes from the target to clients.
    pub received: Arc<AtomicU64>,
    /// When the first connection since the link was last restored was let through.
    reached: Arc<Mutex<Option<Instant>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `target` (`host:port`), with the link up.
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let sent = Arc::new(AtomicU64::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let reached = Arc::new(Mutex::new(None));
        let target = target.to_string();
        let (u, c, s, r) = (up.clone(), cuts.clone(), sent.clone(), received.clone());
        let first = reached.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !u.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                first
                    .lock()
                    .expect("not poisoned")
                    .get_or_insert_with(Instant::now);
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let cut = c.subscribe();
                tokio::spawn(pipe(client, server, cut, s.clone(), r.clone()));
            }
        });
        Self {
            url,
            up,
            cuts,
            sent,
            received,
            reached,
            task,
        }
    }

    /// Cuts the link: open connections are dropped, new ones refused.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Restores the link.
    pub fn restore(&self) {
        *self.reached.lock().expect("not poisoned") = None;
        self.up.store(true, Ordering::SeqCst);
    }

    /// When the first connection since the link was last restored (or since the start) came
    /// through, if one has.
    pub fn reached_at(&self) -> Option<Instant> {
        *self.reached.lock().expect("not poisoned")
    }

    /// Bytes carried so far: (to the target, from the target).
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::SeqCst),
            self.received.load(Ordering::SeqCst),
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

async fn pipe(
    client: TcpStream,
    server: TcpStream,
    mut cut: watch::Receiver<u64>,
    sent: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let (mut a, mut b) = (vec![0u8; 16 << 10], vec![0u8; 16 << 10]);
    loop {
        tokio::select! {
            _ = cut.changed() => return,
            n = cr.read(&mut a) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if sw.write_all(&a[..n]).await.is_err() { return; }
                    sent.fetch_add(n as u64, Ordering::SeqCst);
                }
            },
            n = sr.read(&mut b) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if cw.write_all(&b[..n]).await.is_err() { return; }
                    received.fetch_add(n as u64, Ordering::SeqCst);
                }
            },
        }
    }
}
