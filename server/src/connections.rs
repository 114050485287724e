//! The HTTP connection layer: accepts TCP connections within a cap per client address and a
//! cap in total (kept below the process's open-file limit), gives every request its client
//! address, and closes a connection whose request headers do not arrive in time. A
//! WebSocket upgraded from a connection keeps its place until it closes, so idle or
//! half-open sockets from one address can never take the server from everyone else.

use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How many connections the server holds open, and for how long it waits for headers.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Open connections (HTTP and WebSocket) from one client address.
    pub per_address: usize,
    /// Open connections in all (lowered at start to fit the open-file limit).
    pub total: usize,
    /// A request whose headers have not all arrived this long after the connection opened
    /// (or after the previous response, on a kept-alive connection) is closed.
    pub header_timeout: Duration,
    /// A request not answered this long after its headers (a body that trickles in, say)
    /// gets 408 and its connection's place back.
    pub request_timeout: Duration,
    /// Proxies whose connections carry many clients (`--trusted-proxy`): no cap per
    /// address for them here, where no header is read yet; each request's client is read
    /// from its `X-Forwarded-For` ([`crate::ClientAddr`]) for the limits further in.
    pub trusted_proxies: crate::TrustedProxies,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            per_address: 128,
            total: 4_096,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            trusted_proxies: crate::TrustedProxies::default(),
        }
    }
}

/// Files the server keeps for itself beyond connections: the database, its journal, the
/// app's files being served, logs.
const RESERVED_FILES: u64 = 64;

/// Raises the soft open-file limit to the hard limit and returns the number of connections
/// that fit under it (`wanted` or fewer).
pub fn fit_to_file_limit(wanted: usize) -> usize {
    let soft = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1_024)
        }
    };
    let fits = soft.saturating_sub(RESERVED_FILES).max(16) as usize;
    if fits < wanted {
        tracing::warn!(
            open_file_limit = soft,
            connections = fits,
            "the open-file limit allows fewer connections than asked; raise it (ulimit -n) for more"
        );
    }
    wanted.min(fits)
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// Open connections counted per client address and in all; each is held by a [`Place`]. The
/// connection layer counts every connection with one, `/sync` its sockets with another.
#[derive(Debug, Clone, Default)]
pub struct Places(Arc<Mutex<Counts>>);

/// Why no place was given: how many are open from that address and in all.
#[derive(Debug, Clone, Copy)]
pub struct Full {
    /// Open from the address asking.
    pub from_address: usize,
    /// Open in all.
    pub total: usize,
}

impl Places {
    /// A place for a connection from `ip`, unless `per_address` are open from it or `total`
    /// in all.
    pub fn take(&self, ip: IpAddr, per_address: usize, total: usize) -> Result<Place, Full> {
        let mut c = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mine = c.per_address.get(&ip).copied().unwrap_or(0);
        if c.total >= total || mine >= per_address {
            return Err(Full {
                from_address: mine,
                total: c.total,
            });
        }
        c.total += 1;
        *c.per_address.entry(ip).or_insert(0) += 1;
        Ok(Place {
            ip,
            places: self.clone(),
        })
    }
}

/// One open connection's place, given back when dropped. The connection layer hands its
/// place to each request (as an `Arc<Place>` extension), so a WebSocket upgraded from the
/// connection keeps it until the socket closes.
#[derive(Debug)]
pub struct Place {
    ip: IpAddr,
    places: Places,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut c = self.places.0.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_address.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_address.remove(&self.ip);
            }
        }
    }
}

/// Logs refused connections at most once a second, with how many were refused since.
#[derive(Debug, Default)]
struct RefusalReport {
    refused: u64,
    last: Option<Instant>,
}

impl RefusalReport {
    fn refused(&mut self, ip: IpAddr, full: Full, limits: &ConnectionLimits) {
        self.refused += 1;
        let now = Instant::now();
        if self.last.is_some_and(|t| now - t < Duration::from_secs(1)) {
            return;
        }
        tracing::warn!(
            %ip,
            from_address = full.from_address,
            open = full.total,
            per_address_limit = limits.per_address,
            total_limit = limits.total,
            refused = self.refused,
            "refusing connections: too many open (from this address, or in all)"
        );
        self.last = Some(now);
        self.refused = 0;
    }
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let places = Places::default();
    let mut report = RefusalReport::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of files or memory: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let per_address = if limits.trusted_proxies.contains(addr.ip()) {
            limits.total
        } else {
            limits.per_address
        };
        let place = match places.take(addr.ip(), per_address, limits.total) {
            Ok(p) => Arc::new(p),
            Err(full) => {
                crate::metrics::metrics().refuse(if full.total >= limits.total {
                    crate::metrics::Refusal::Total
                } else {
                    crate::metrics::Refusal::PerAddress
                });
                report.refused(addr.ip(), full, &limits);
                continue; // dropping the stream closes it
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let timeout = limits.header_timeout;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(addr));
                req.extensions_mut().insert(place.clone());
                app.clone().oneshot(req.map(Body::new))
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!(%addr, error = %e, "connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_capped_per_address_and_in_all_and_given_back_when_dropped() {
        let places = Places::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = places.take(a, 2, 3).unwrap();
        let _a2 = places.take(a, 2, 3).unwrap();
        assert_eq!(
            places.take(a, 2, 3).unwrap_err().from_address,
            2,
            "per address"
        );
        let _b1 = places.take(b, 2, 3).unwrap();
        assert_eq!(places.take(b, 2, 3).unwrap_err().total, 3, "in all");
        drop(a1);
        assert!(places.take(b, 2, 3).is_ok(), "given back");
    }
}
