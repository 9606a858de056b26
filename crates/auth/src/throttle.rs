//! Throttling of failed sign-in attempts: a sliding window of failures per key.
//!
//! Cyber Essentials asks that a service allow no more than 10 guesses in 5 minutes. The caller
//! keeps one [`Throttle`] (behind a `Mutex`: it is a plain struct), checks every key an attempt
//! concerns (its account and its address) before verifying anything, and records the outcome.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};

/// Failures allowed within the window.
pub const DEFAULT_THROTTLE_LIMIT: u32 = 10;
/// The sliding window failures are counted in.
pub const DEFAULT_THROTTLE_WINDOW: TimeDelta = TimeDelta::minutes(5);
/// The most keys tracked at once, bounding memory.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// An attempt refused for too many recent failures, and how long until one is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed attempts; try again in {seconds} seconds")]
pub struct RetryAfter {
    /// Whole seconds, rounded up, at least 1: suitable for a `Retry-After` header.
    pub seconds: u64,
}

/// Whether an attempt may go ahead at `now`, given a key's recent failures (in any order): refused
/// while `limit` of them fall within `window`, until the oldest of the `limit` most recent leaves
/// it. The one rule for the in-memory [`Throttle`] and for failures kept in a database.
pub fn retry_after(
    failures: impl IntoIterator<Item = DateTime<Utc>>,
    limit: u32,
    window: TimeDelta,
    now: DateTime<Utc>,
) -> Result<(), RetryAfter> {
    let limit = limit.max(1) as usize;
    let mut live: Vec<DateTime<Utc>> = failures
        .into_iter()
        .filter(|t| now.signed_duration_since(*t) < window)
        .collect();
    if live.len() < limit {
        return Ok(());
    }
    live.sort_unstable_by(|a, b| b.cmp(a));
    let Some(&oldest) = live.get(limit - 1) else {
        return Ok(());
    };
    // When that failure leaves the window; never more than a window away, even if the clock went
    // backwards.
    let wait = oldest
        .checked_add_signed(window)
        .map_or(window, |until| until.signed_duration_since(now))
        .min(window);
    let millis = u64::try_from(wait.num_milliseconds()).unwrap_or(0);
    Err(RetryAfter {
        seconds: millis.div_ceil(1000).max(1),
    })
}

/// Recent failures per key, in bounded memory: at most `limit` timestamps for each of at most
/// `max_keys` keys.
#[derive(Debug, Clone)]
pub struct Throttle {
    limit: u32,
    window: TimeDelta,
    max_keys: usize,
    /// The most recent failures of each key, oldest first, at most `limit` of them: only the
    /// `limit`-th most recent failure decides whether a key is throttled.
    failures: HashMap<String, VecDeque<DateTime<Utc>>>,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle::new(DEFAULT_THROTTLE_LIMIT, DEFAULT_THROTTLE_WINDOW)
    }
}

impl Throttle {
    /// Refuses attempts once `limit` failures (at least 1) fall within `window`.
    pub fn new(limit: u32, window: TimeDelta) -> Throttle {
        Throttle {
            limit: limit.max(1),
            window,
            max_keys: DEFAULT_MAX_KEYS,
            failures: HashMap::new(),
        }
    }

    /// Tracks at most `max_keys` keys (at least 1) instead of [`DEFAULT_MAX_KEYS`].
    pub fn with_max_keys(mut self, max_keys: usize) -> Throttle {
        self.max_keys = max_keys.max(1);
        self
    }

    /// The key for an account: `account:` and the email address, trimmed and in lower case.
    pub fn account_key(email: &str) -> String {
        format!("account:{}", email.trim().to_lowercase())
    }

    /// The key for a client address: `addr:` and the IPv4 address, or the /64 network of an
    /// IPv6 address, since one client usually has a whole /64 to move around in.
    pub fn addr_key(addr: IpAddr) -> String {
        match addr {
            IpAddr::V4(v4) => format!("addr:{v4}"),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => format!("addr:{v4}"),
                None => {
                    let network = u128::from(v6) & !((1u128 << 64) - 1);
                    format!("addr:{}/64", std::net::Ipv6Addr::from(network))
                }
            },
        }
    }

    /// Whether an attempt for `key` may go ahead at `now`: refused while `limit` failures fall
    /// within the window, until the oldest of them falls out of it.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), RetryAfter> {
        match self.failures.get(key) {
            Some(failures) => retry_after(failures.iter().copied(), self.limit, self.window, now),
            None => Ok(()),
        }
    }

    /// Records a failed attempt for `key` at `now`.
    pub fn record_failure(&mut self, key: &str, now: DateTime<Utc>) {
        if !self.failures.contains_key(key) && self.failures.len() >= self.max_keys {
            self.prune(now);
            if self.failures.len() >= self.max_keys {
                self.evict_least_recent();
            }
        }
        let limit = self.limit as usize;
        let failures = self.failures.entry(key.to_owned()).or_default();
        // Keep the failures in time order even if the clock stepped back.
        let at = failures
            .iter()
            .rposition(|t| *t <= now)
            .map_or(0, |i| i + 1);
        failures.insert(at, now);
        while failures.len() > limit {
            failures.pop_front();
        }
    }

    /// Forgets `key`'s failures, after a successful attempt.
    pub fn record_success(&mut self, key: &str) {
        self.failures.remove(key);
    }

    /// Forgets every key whose failures have all left the window. [`Throttle::record_failure`]
    /// does this itself when the key limit is reached; calling it now and then keeps memory low.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let window = self.window;
        self.failures.retain(|_, failures| {
            failures
                .back()
                .is_some_and(|&t| now.signed_duration_since(t) < window)
        });
    }

    /// How many keys are tracked.
    pub fn tracked_keys(&self) -> usize {
        self.failures.len()
    }

    /// Drops the key whose latest failure is oldest, when every tracked key is still live.
    fn evict_least_recent(&mut self) {
        let victim = self
            .failures
            .iter()
            .min_by_key(|(_, failures)| failures.back().copied())
            .map(|(key, _)| key.clone());
        if let Some(victim) = victim {
            self.failures.remove(&victim);
        }
    }
}
