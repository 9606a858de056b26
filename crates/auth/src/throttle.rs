//! Throttling of failed sign-in attempts: a sliding window of failures per key.
//!
//! Cyber Essentials asks that a service allow no more than 10 guesses in 5 minutes. A guess is
//! counted under three keys ([`guess_keys`]), each with its own ceiling, so that no one address
//! can lock the real user out:
//!
//! - the account **at** the address: 10 failures in 5 minutes, then refused;
//! - the address, across every account: [`ADDRESS_LIMIT`], then refused;
//! - the account, from every address: past [`ACCOUNT_LIMIT`] its guesses take the slow path,
//!   never refused, since a refusal there is exactly the lock-out an attacker wants.
//!
//! A guess is counted *before* it is checked (the caller reserves it, then checks, then takes a
//! right guess back), so that guesses racing in parallel cannot all pass the check.
//! [`verdict`] decides from the failures however they are kept; [`Throttle`] keeps them in
//! bounded memory, for a server's own quick check.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};

/// Failures allowed within the window.
pub const DEFAULT_THROTTLE_LIMIT: u32 = 10;
/// The sliding window failures are counted in.
pub const DEFAULT_THROTTLE_WINDOW: TimeDelta = TimeDelta::minutes(5);
/// The most keys tracked at once, bounding memory.
pub const DEFAULT_MAX_KEYS: usize = 100_000;
/// Failures of one account at one address in the window before that pair is refused: Cyber
/// Essentials' ten.
pub const PAIR_LIMIT: u32 = DEFAULT_THROTTLE_LIMIT;
/// Failures from one address, at any accounts, in the window before the address is refused:
/// higher than [`PAIR_LIMIT`] because an office behind one address has many people mistyping.
pub const ADDRESS_LIMIT: u32 = 50;
/// Failures at one account, from any addresses, in the window before its guesses are slowed.
pub const ACCOUNT_LIMIT: u32 = 30;

/// What happens to a guess once a key's failures reach its ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// Refused with a wait, unchecked.
    Refuse,
    /// Checked, but slowly: the real user gets in, a distributed guesser gets little.
    Slow,
}

/// One key a guess is counted under, and its ceiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuessKey {
    pub key: String,
    pub limit: u32,
    pub over: Over,
}

/// What a guess may do, from its keys' recent failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check it.
    Go,
    /// Check it after a delay: its account is past its ceiling.
    Slow,
    /// Do not check it: its address, or its account at that address, is past its ceiling.
    Refused(RetryAfter),
}

/// The keys a guess of kind `what` (`password`, `code`) at `email` from `addr` is counted under:
/// the account at the address, the address, and the account, in that order.
pub fn guess_keys(what: &str, email: &str, addr: IpAddr) -> Vec<GuessKey> {
    let account = Throttle::account_key(email);
    let address = Throttle::addr_key(addr);
    vec![
        GuessKey {
            key: format!("{what}:{account}+{address}"),
            limit: PAIR_LIMIT,
            over: Over::Refuse,
        },
        GuessKey {
            key: format!("{what}:{address}"),
            limit: ADDRESS_LIMIT,
            over: Over::Refuse,
        },
        GuessKey {
            key: format!("{what}:{account}"),
            limit: ACCOUNT_LIMIT,
            over: Over::Slow,
        },
    ]
}

/// The verdict on a guess whose keys had `failures` (one list per key, in the same order, each
/// in any order) within `window` of `now`: refused if any refusing key is at its ceiling (the
/// longest wait of them), else slow if any slowing key is, else go.
pub fn verdict(
    keys: &[GuessKey],
    failures: &[Vec<DateTime<Utc>>],
    window: TimeDelta,
    now: DateTime<Utc>,
) -> Verdict {
    let mut slow = false;
    let mut wait: Option<RetryAfter> = None;
    for (key, failures) in keys.iter().zip(failures) {
        if let Err(w) = retry_after(failures.iter().copied(), key.limit, window, now) {
            match key.over {
                Over::Refuse => {
                    wait = Some(wait.map_or(w, |x| if w.seconds > x.seconds { w } else { x }))
                }
                Over::Slow => slow = true,
            }
        }
    }
    match (wait, slow) {
        (Some(w), _) => Verdict::Refused(w),
        (None, true) => Verdict::Slow,
        (None, false) => Verdict::Go,
    }
}

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

    /// Whether an attempt for `key` may go ahead at `now` under a ceiling of `limit` (at most the
    /// throttle's own, which is how many failures it keeps per key).
    pub fn check_under(&self, key: &str, limit: u32, now: DateTime<Utc>) -> Result<(), RetryAfter> {
        match self.failures.get(key) {
            Some(failures) => retry_after(
                failures.iter().copied(),
                limit.min(self.limit),
                self.window,
                now,
            ),
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
