//! Word of committed changes, for what a server keeps between requests.
//!
//! On PostgreSQL several servers share the database, and every request would otherwise begin with
//! a round trip to learn whether what the server kept (a session, the pages derived from the data)
//! is still true. Instead one connection per server listens on the channel `steward_changes`, on
//! which the database itself (migration 0018's triggers) sends a notice when a transaction that
//! moved the audit head, ended a session or changed an account commits. [`ChangeFeed::generation`]
//! moves on at each notice, so a value kept with the generation it was read under is good while
//! the generation stays the same.
//!
//! The feed vouches for nothing while it cannot be sure it has heard every notice: before its
//! connection listens, after that connection fails, and whenever it has not confirmed the
//! connection lately (a check every [`BEAT`]). Then `generation` is `None` and callers read
//! afresh. A server's own writes move the generation at once ([`ChangeFeed::changed`]), so it
//! never serves what it kept from before its own change while the notice is on its way.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;

use crate::connect::PgTarget;

/// How often the listening connection is checked, and so how long a silent failure (a network
/// that drops packets without a reset) can go unnoticed before the feed stops vouching: two
/// beats.
const BEAT: Duration = Duration::from_secs(2);

/// The name the listening connection gives the server.
pub const APPLICATION_NAME: &str = "steward changes";

/// The channel the triggers notify.
const CHANNEL: &str = "steward_changes";

/// A generation number that moves on at every committed change (see the module's comment).
/// Cloning shares one feed.
#[derive(Clone)]
pub struct ChangeFeed {
    inner: Arc<Inner>,
}

struct Inner {
    generation: AtomicU64,
    /// Whether the listening connection is up and listening.
    listening: AtomicBool,
    /// When the connection last proved itself (its last beat, or its first `LISTEN`).
    confirmed: Mutex<Option<Instant>>,
}

impl ChangeFeed {
    /// The current generation, or `None` while the feed cannot vouch for having heard of every
    /// change committed since it began.
    pub fn generation(&self) -> Option<u64> {
        if !self.inner.listening.load(Ordering::Acquire) {
            return None;
        }
        let confirmed = self.inner.confirmed.lock().ok().and_then(|c| *c)?;
        if confirmed.elapsed() > 2 * BEAT {
            return None;
        }
        Some(self.inner.generation.load(Ordering::Acquire))
    }

    /// This server has committed a change: what it kept is stale now, before any notice.
    pub fn changed(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Starts listening on a connection of its own to `target`, on a thread that ends soon after
    /// the last clone of the feed is dropped.
    pub(crate) fn listen(mut target: PgTarget) -> ChangeFeed {
        // Named, so that an operator (or a test) can tell it in `pg_stat_activity`.
        target.config.application_name(APPLICATION_NAME);
        let inner = Arc::new(Inner {
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            confirmed: Mutex::new(None),
        });
        let weak = Arc::downgrade(&inner);
        let spawned = std::thread::Builder::new()
            .name("steward-changes".into())
            .spawn(move || listen(&target, &weak));
        if let Err(e) = spawned {
            // Without the thread the feed never vouches: every request reads afresh.
            tracing::warn!(error = %e, "could not start listening for changes");
        }
        ChangeFeed { inner }
    }
}

/// Connects, listens and reports until the feed is gone; after a failure, connects again.
fn listen(target: &PgTarget, feed: &Weak<Inner>) {
    let mut failures: u32 = 0;
    loop {
        if feed.strong_count() == 0 {
            return;
        }
        match listen_once(target, feed) {
            Ok(()) => return,
            Err(e) => {
                if let Some(inner) = feed.upgrade() {
                    inner.listening.store(false, Ordering::Release);
                    inner.generation.fetch_add(1, Ordering::AcqRel);
                }
                if feed.strong_count() == 0 {
                    return;
                }
                failures = failures.saturating_add(1);
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(error = %e, failures, "listening for changes failed; reading afresh until it is back");
                }
                // Back off up to ten seconds between attempts.
                std::thread::sleep(
                    Duration::from_millis(250u64 << failures.min(5)).min(Duration::from_secs(10)),
                );
            }
        }
    }
}

/// One connection's life: `Ok` when the feed was dropped, `Err` when the connection failed.
fn listen_once(target: &PgTarget, feed: &Weak<Inner>) -> Result<(), postgres::Error> {
    let mut client = target.connect()?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    {
        let Some(inner) = feed.upgrade() else {
            return Ok(());
        };
        // Whatever changed before the `LISTEN` took effect was not heard: start a generation.
        inner.generation.fetch_add(1, Ordering::AcqRel);
        confirm(&inner);
        inner.listening.store(true, Ordering::Release);
        tracing::debug!("listening for changes");
    }
    loop {
        {
            let started = Instant::now();
            let mut notices = client.notifications();
            let mut waiting = notices.timeout_iter(BEAT);
            while waiting.next()?.is_some() {
                let Some(inner) = feed.upgrade() else {
                    return Ok(());
                };
                inner.generation.fetch_add(1, Ordering::AcqRel);
                // A notice proves the connection as well as a beat does.
                confirm(&inner);
                if started.elapsed() >= BEAT {
                    break;
                }
            }
        }
        let Some(inner) = feed.upgrade() else {
            return Ok(());
        };
        // The beat: the connection answers, so nothing has been missed on it.
        client.simple_query("")?;
        confirm(&inner);
    }
}

fn confirm(inner: &Inner) {
    if let Ok(mut c) = inner.confirmed.lock() {
        *c = Some(Instant::now());
    }
}
