//! Abuse control for the form endpoint without a third-party CAPTCHA (policy §8.2): a
//! per-client limit keyed by a keyed hash of the client's address, and a global ceiling.
//!
//! Nobody can lock everyone out:
//! - every post counts against its own client's allowance (junk included), but the global
//!   ceiling counts only submissions that were stored ([`RateLimiter::accepted`]), so a flood
//!   of honeypot, invalid or foreign-origin posts exhausts nothing but its sender's allowance;
//! - clients whose address is unknown (a local proxy without a trusted `X-Forwarded-For`)
//!   share a pool of their own (a quarter of the global ceiling), never the allowance of the
//!   clients whose address is known.
//!
//! The address itself is never stored or logged (issue 3: "No IP address or user agent in the
//! clear; if kept for abuse control, only a keyed hash with a short expiry"). The map holds
//! `HMAC-SHA256(key, address)` and the instants of that client's recent submissions; an entry
//! disappears once its window has passed, and the map has a hard size cap.
//!
//! The counts live in this process's memory. Under AWS Lambda each warm instance keeps its
//! own counts and a cold start begins from zero, so there the per-client limit is a soft limit
//! per instance: a speed bump against a script hammering the form, not a guarantee. The same
//! holds for several standalone relays behind one balancer.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::domain::hmac_key::HmacKey;

/// Default submissions one client may make per window.
pub const DEFAULT_PER_CLIENT: u32 = 5;
/// Default per-client window: ten minutes.
pub const DEFAULT_WINDOW_SECS: u64 = 600;
/// Default ceiling on all submissions together, per minute.
pub const DEFAULT_GLOBAL_PER_MINUTE: u32 = 120;
/// The unknown-address pool's share of the global ceiling, per minute (at least one).
pub const UNKNOWN_SHARE_DIVISOR: u32 = 4;
/// Clients tracked at most. With the defaults the global ceiling already bounds the map to
/// 120 × 10 = 1200 entries; the cap protects against generous configurations.
pub const MAX_TRACKED_CLIENTS: usize = 10_000;

/// The limits, as configured in `[rate_limit]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub enabled: bool,
    pub per_client: u32,
    pub window: Duration,
    pub global_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            enabled: true,
            per_client: DEFAULT_PER_CLIENT,
            window: Duration::from_secs(DEFAULT_WINDOW_SECS),
            global_per_minute: DEFAULT_GLOBAL_PER_MINUTE,
        }
    }
}

/// A refusal: the caller should wait this long before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds for the `Retry-After` header, rounded up and at least 1.
    pub fn secs(self) -> u64 {
        let secs = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        secs.max(1)
    }
}

/// Instants of recent submissions inside one window, oldest first (a sliding log: at most
/// `limit` instants are kept, so memory per client is bounded by the configuration).
#[derive(Debug, Default)]
struct Log(VecDeque<Instant>);

impl Log {
    fn forget_before(&mut self, now: Instant, window: Duration) {
        while let Some(&oldest) = self.0.front() {
            if now.saturating_duration_since(oldest) >= window {
                self.0.pop_front();
            } else {
                break;
            }
        }
    }

    /// `None` if one more submission fits; otherwise how long until the oldest leaves.
    fn wait(&self, now: Instant, window: Duration, limit: u32) -> Option<RetryAfter> {
        let full = self.0.len() >= usize::try_from(limit).unwrap_or(usize::MAX);
        if !full {
            return None;
        }
        let oldest = self.0.front().copied().unwrap_or(now);
        Some(RetryAfter((oldest + window).saturating_duration_since(now)))
    }

    fn last(&self) -> Option<Instant> {
        self.0.back().copied()
    }
}

#[derive(Debug, Default)]
struct Counts {
    /// Keyed hash of the client address → that client's recent submissions.
    clients: HashMap<String, Log>,
    /// Stored submissions of everyone, per minute.
    global: Log,
    /// Posts from clients of unknown address, per minute.
    unknown: Log,
    last_prune: Option<Instant>,
}

impl Counts {
    /// Forgets the clients not seen within `window`: once a window, or sooner when the map
    /// holds `max_clients`.
    fn prune(&mut self, now: Instant, window: Duration, max_clients: usize) {
        let due = self
            .last_prune
            .is_none_or(|last| now.saturating_duration_since(last) >= window);
        if due || self.clients.len() >= max_clients {
            self.clients.retain(|_, log| {
                log.last()
                    .is_some_and(|t| now.saturating_duration_since(t) < window)
            });
            self.last_prune = Some(now);
        }
    }

    /// Counts a post of the client `key`, making room for a new client if the map is full.
    fn record_client(&mut self, key: String, now: Instant, max_clients: usize) {
        if !self.clients.contains_key(&key) && self.clients.len() >= max_clients {
            // Still full after pruning: forget the client seen longest ago. That client
            // may then get a fresh allowance, which the global ceiling still bounds.
            let stalest = self
                .clients
                .iter()
                .min_by_key(|(_, log)| log.last())
                .map(|(k, _)| k.clone());
            if let Some(stalest) = stalest {
                self.clients.remove(&stalest);
            }
        }
        self.clients.entry(key).or_default().0.push_back(now);
    }
}

/// The in-memory limiter shared by every request of one process.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    key: HmacKey,
    max_clients: usize,
    counts: Mutex<Counts>,
}

impl RateLimiter {
    pub fn new(limits: Limits, key: HmacKey) -> Self {
        Self::with_capacity(limits, key, MAX_TRACKED_CLIENTS)
    }

    /// A limiter tracking at most `max_clients` clients (at least one).
    pub fn with_capacity(limits: Limits, key: HmacKey, max_clients: usize) -> Self {
        Self {
            limits,
            key,
            max_clients: max_clients.max(1),
            counts: Mutex::new(Counts::default()),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Posts per minute that clients of unknown address may make together.
    fn unknown_per_minute(&self) -> u32 {
        (self.limits.global_per_minute / UNKNOWN_SHARE_DIVISOR).max(1)
    }

    /// Counts one stored submission against the global ceiling.
    pub fn accepted(&self) {
        self.accepted_at(Instant::now());
    }

    /// [`RateLimiter::accepted`] at a given instant.
    pub fn accepted_at(&self, now: Instant) {
        if !self.limits.enabled {
            return;
        }
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.global.forget_before(now, Duration::from_secs(60));
        counts.global.0.push_back(now);
    }

    /// Counts one post from `client` against its allowance (`None`: address unknown, the
    /// unknown-address pool), and refuses it while the client, that pool, or the global
    /// ceiling of stored submissions is full. Refused posts are not counted, so a client that
    /// waits as told gets through.
    pub fn check(&self, client: Option<IpAddr>) -> Result<(), RetryAfter> {
        self.check_at(client, Instant::now())
    }

    /// [`RateLimiter::check`] at a given instant (tests move time forward explicitly).
    pub fn check_at(&self, client: Option<IpAddr>, now: Instant) -> Result<(), RetryAfter> {
        if !self.limits.enabled {
            return Ok(());
        }
        let window = self.limits.window;
        let minute = Duration::from_secs(60);
        let key = client.map(|ip| self.key.client_hmac(&client_id(ip)));
        // Nothing below can panic, so a poisoned lock still holds consistent counts.
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.prune(now, window, self.max_clients);
        if let Some(key) = &key
            && let Some(log) = counts.clients.get_mut(key)
        {
            log.forget_before(now, window);
            if let Some(wait) = log.wait(now, window, self.limits.per_client) {
                return Err(wait);
            }
        }
        if key.is_none() {
            let pool = self.unknown_per_minute();
            counts.unknown.forget_before(now, minute);
            if let Some(wait) = counts.unknown.wait(now, minute, pool) {
                return Err(wait);
            }
        }
        counts.global.forget_before(now, minute);
        if let Some(wait) = counts
            .global
            .wait(now, minute, self.limits.global_per_minute)
        {
            return Err(wait);
        }
        if key.is_none() {
            counts.unknown.0.push_back(now);
        }
        if let Some(key) = key {
            counts.record_client(key, now, self.max_clients);
        }
        Ok(())
    }

    /// How many clients are tracked now (for tests and diagnostics; no addresses).
    pub fn tracked_clients(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clients
            .len()
    }

    /// The stored client keys (keyed hashes), for tests proving no address is kept.
    pub fn tracked_keys(&self) -> Vec<String> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clients
            .keys()
            .cloned()
            .collect()
    }
}

/// The part of an address that identifies one client: an IPv4 address, or an IPv6 /64
/// (one subscriber usually holds a whole /64 and can pick any address in it). IPv4-mapped
/// IPv6 addresses count as the IPv4 address.
fn client_id(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key() -> HmacKey {
        HmacKey::from_bytes(vec![42; 32]).unwrap()
    }

    fn limits(per_client: u32, window_secs: u64, global: u32) -> Limits {
        Limits {
            enabled: true,
            per_client,
            window: Duration::from_secs(window_secs),
            global_per_minute: global,
        }
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn the_sixth_submission_in_the_window_waits_until_the_first_expires() {
        let limiter = RateLimiter::new(Limits::default(), key());
        let start = Instant::now();
        for i in 0..5 {
            let at = start + Duration::from_secs(i * 10);
            assert_eq!(limiter.check_at(ip("203.0.113.7"), at), Ok(()), "{i}");
        }
        let refused = limiter.check_at(ip("203.0.113.7"), start + Duration::from_secs(60));
        assert_eq!(refused, Err(RetryAfter(Duration::from_secs(540))));
        assert_eq!(refused.unwrap_err().secs(), 540);
        // Another client is unaffected.
        assert_eq!(
            limiter.check_at(ip("198.51.100.1"), start + Duration::from_secs(60)),
            Ok(())
        );
        // The first submission leaves the window at 600 s; one more fits, then the next waits
        // for the second (at 10 s) to leave.
        let later = start + Duration::from_secs(600);
        assert_eq!(limiter.check_at(ip("203.0.113.7"), later), Ok(()));
        assert_eq!(
            limiter.check_at(ip("203.0.113.7"), later),
            Err(RetryAfter(Duration::from_secs(10)))
        );
    }

    #[test]
    fn the_global_ceiling_counts_stored_submissions_only() {
        let limiter = RateLimiter::new(limits(100, 600, 3), key());
        let start = Instant::now();
        // Any number of posts that end up refused (junk) exhaust nothing global.
        for i in 0..50 {
            let client = format!("192.0.2.{}", i % 50);
            assert_eq!(limiter.check_at(ip(&client), start), Ok(()), "{i}");
        }
        for _ in 0..3 {
            limiter.accepted_at(start);
        }
        // Three stored this minute: the ceiling is reached for everyone...
        assert_eq!(
            limiter.check_at(ip("198.51.100.9"), start + Duration::from_secs(1)),
            Err(RetryAfter(Duration::from_secs(59)))
        );
        // ...until the minute has passed.
        assert_eq!(
            limiter.check_at(ip("198.51.100.9"), start + Duration::from_secs(60)),
            Ok(())
        );
    }

    #[test]
    fn unknown_clients_share_a_pool_of_their_own() {
        let limiter = RateLimiter::new(limits(5, 600, 120), key());
        let start = Instant::now();
        for i in 0..30 {
            assert_eq!(limiter.check_at(None, start), Ok(()), "{i}");
        }
        assert_eq!(
            limiter.check_at(None, start),
            Err(RetryAfter(Duration::from_secs(60))),
            "the unknown pool is a quarter of the global ceiling"
        );
        // Clients with a known address are not locked out by them.
        assert_eq!(limiter.check_at(ip("203.0.113.7"), start), Ok(()));
        assert_eq!(
            limiter.tracked_clients(),
            1,
            "unknown clients are not stored per client"
        );
    }

    #[test]
    fn disabled_means_no_limit() {
        let limiter = RateLimiter::new(
            Limits {
                enabled: false,
                ..limits(1, 600, 1)
            },
            key(),
        );
        let now = Instant::now();
        for _ in 0..10 {
            assert_eq!(limiter.check_at(ip("203.0.113.7"), now), Ok(()));
        }
    }

    #[test]
    fn expired_entries_are_pruned_and_the_map_is_capped() {
        let limiter = RateLimiter::with_capacity(limits(5, 60, 1000), key(), 3);
        let start = Instant::now();
        for (i, addr) in ["192.0.2.1", "192.0.2.2", "192.0.2.3"].iter().enumerate() {
            let at = start + Duration::from_secs(u64::try_from(i).unwrap());
            assert_eq!(limiter.check_at(ip(addr), at), Ok(()));
        }
        assert_eq!(limiter.tracked_clients(), 3);
        // Full and nothing expired: the stalest client (192.0.2.1) makes room.
        assert_eq!(
            limiter.check_at(ip("192.0.2.4"), start + Duration::from_secs(5)),
            Ok(())
        );
        assert_eq!(limiter.tracked_clients(), 3);
        // After the window every old entry is gone.
        assert_eq!(
            limiter.check_at(ip("192.0.2.9"), start + Duration::from_secs(70)),
            Ok(())
        );
        assert_eq!(limiter.tracked_clients(), 1);
    }

    #[test]
    fn the_map_holds_keyed_hashes_not_addresses() {
        let limiter = RateLimiter::new(Limits::default(), key());
        let now = Instant::now();
        limiter.check_at(ip("203.0.113.7"), now).unwrap();
        limiter.check_at(ip("2001:db8:1:2::7"), now).unwrap();
        let keys = limiter.tracked_keys();
        assert_eq!(keys.len(), 2);
        for stored in &keys {
            assert_eq!(stored.len(), 64, "a hex HMAC-SHA256");
            assert!(stored.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(!stored.contains("203.0.113.7") && !stored.contains("2001"));
        }
        assert!(keys.contains(&key().client_hmac("203.0.113.7")));
        // Another key, another hash: the stored value cannot be matched without the key.
        let other = HmacKey::from_bytes(vec![7; 32]).unwrap();
        assert!(!keys.contains(&other.client_hmac("203.0.113.7")));
        assert!(!format!("{limiter:?}").contains("203.0.113.7"));
    }

    #[test]
    fn one_ipv6_64_is_one_client() {
        let limiter = RateLimiter::new(limits(2, 600, 1000), key());
        let now = Instant::now();
        assert_eq!(limiter.check_at(ip("2001:db8:1:2::1"), now), Ok(()));
        assert_eq!(limiter.check_at(ip("2001:db8:1:2::ffff"), now), Ok(()));
        assert!(limiter.check_at(ip("2001:db8:1:2:abcd::9"), now).is_err());
        assert_eq!(limiter.check_at(ip("2001:db8:1:3::1"), now), Ok(()));
        assert_eq!(client_id("::ffff:192.0.2.5".parse().unwrap()), "192.0.2.5");
    }
}
