//! Slows down guessing of invitation codes: each client address may get a few codes wrong
//! in a window, and the whole server only so many, so a code cannot be found by trying.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How many wrong codes an address may send per window, and the server in all.
#[derive(Debug, Clone)]
pub struct JoinLimits {
    /// Wrong codes allowed from one address per window.
    pub per_address: u32,
    /// Wrong codes allowed from every address together per window.
    pub total: u32,
    /// The window.
    pub window: Duration,
}

impl Default for JoinLimits {
    fn default() -> Self {
        Self {
            per_address: 10,
            total: 200,
            window: Duration::from_secs(600),
        }
    }
}

/// The most addresses remembered; past it, the oldest windows are forgotten.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    wrong: u32,
}

impl Window {
    fn fresh(now: Instant) -> Self {
        Self {
            start: now,
            wrong: 0,
        }
    }
}

/// Counts wrong invitation codes per address and in all.
#[derive(Debug)]
pub struct JoinThrottle {
    limits: JoinLimits,
    per_address: HashMap<IpAddr, Window>,
    total: Window,
}

/// Why a join attempt may not be tried now, and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttled {
    /// Seconds until it may be tried again.
    pub retry_after_secs: u64,
    /// Whether the whole server is throttled rather than this address.
    pub everyone: bool,
}

impl JoinThrottle {
    /// A throttle with these limits.
    pub fn new(limits: JoinLimits) -> Self {
        Self {
            limits,
            per_address: HashMap::new(),
            total: Window::fresh(Instant::now()),
        }
    }

    fn roll(w: &mut Window, now: Instant, window: Duration) {
        if now.duration_since(w.start) >= window {
            *w = Window::fresh(now);
        }
    }

    fn wait(&self, w: &Window, now: Instant) -> u64 {
        (self
            .limits
            .window
            .saturating_sub(now.duration_since(w.start)))
        .as_secs()
            + 1
    }

    /// Whether `ip` may try a code at `now`.
    pub fn check(&mut self, ip: Option<IpAddr>, now: Instant) -> Result<(), Throttled> {
        let window = self.limits.window;
        Self::roll(&mut self.total, now, window);
        if self.total.wrong >= self.limits.total {
            return Err(Throttled {
                retry_after_secs: self.wait(&self.total, now),
                everyone: true,
            });
        }
        if let Some(w) = ip.and_then(|ip| self.per_address.get_mut(&ip)) {
            Self::roll(w, now, window);
            let w = *w;
            if w.wrong >= self.limits.per_address {
                return Err(Throttled {
                    retry_after_secs: self.wait(&w, now),
                    everyone: false,
                });
            }
        }
        Ok(())
    }

    /// Counts a wrong code from `ip` at `now`; returns how many that address has sent in
    /// its window.
    pub fn wrong(&mut self, ip: Option<IpAddr>, now: Instant) -> u32 {
        let window = self.limits.window;
        Self::roll(&mut self.total, now, window);
        self.total.wrong += 1;
        let Some(ip) = ip else {
            return self.total.wrong;
        };
        if self.per_address.len() >= MAX_ADDRESSES && !self.per_address.contains_key(&ip) {
            self.per_address
                .retain(|_, w| now.duration_since(w.start) < window);
            if self.per_address.len() >= MAX_ADDRESSES {
                self.per_address.clear();
            }
        }
        let w = self
            .per_address
            .entry(ip)
            .or_insert_with(|| Window::fresh(now));
        Self::roll(w, now, window);
        w.wrong += 1;
        w.wrong
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_stopped_after_its_wrong_codes_until_the_window_passes() {
        let limits = JoinLimits {
            per_address: 3,
            total: 100,
            window: Duration::from_secs(60),
        };
        let mut t = JoinThrottle::new(limits);
        let a: IpAddr = "10.1.1.1".parse().unwrap();
        let b: IpAddr = "10.1.1.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(t.check(Some(a), t0).is_ok());
            t.wrong(Some(a), t0);
        }
        let stopped = t.check(Some(a), t0).unwrap_err();
        assert!(!stopped.everyone && stopped.retry_after_secs <= 61);
        assert!(
            t.check(Some(b), t0).is_ok(),
            "other addresses are not affected"
        );
        assert!(t.check(Some(a), t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn the_whole_server_is_stopped_when_many_addresses_guess_together() {
        let mut t = JoinThrottle::new(JoinLimits {
            per_address: 5,
            total: 10,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        for i in 0..10u8 {
            t.wrong(Some(IpAddr::from([10, 0, 0, i])), t0);
        }
        assert!(
            t.check(Some("10.9.9.9".parse().unwrap()), t0)
                .unwrap_err()
                .everyone
        );
    }
}
