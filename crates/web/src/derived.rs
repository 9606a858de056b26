//! What pages derive from the data — finding tallies, pages of findings, requests against their
//! deadlines, incidents — kept between requests while the audit log's head stays where it was.
//! Every change appends to the log, so an unchanged head means unchanged data. The head is read
//! with the session in the request's first statement ([`crate::session::Signed`]), so servers
//! sharing a database each keep their own copy and never serve one older than the head they
//! read. What also depends on the clock carries its time bucket in its key.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use steward_service::{ServiceError, Steward};

use crate::{AppState, WebError, blocking};

/// Everything kept, and the head it is valid for. Bounded: a new head, or too many keys (one
/// per findings filter, say), starts afresh.
#[derive(Default)]
pub(crate) struct Derived {
    head: i64,
    entries: HashMap<String, Arc<dyn Any + Send + Sync>>,
}

impl Derived {
    /// Room for the shared pages and the pages of a few hundred people (`/me`) per head.
    const MOST: usize = 512;

    fn get<T: Send + Sync + 'static>(&self, head: i64, key: &str) -> Option<Arc<T>> {
        if self.head != head {
            return None;
        }
        self.entries
            .get(key)
            .and_then(|v| Arc::downcast::<T>(v.clone()).ok())
    }

    fn keep(&mut self, head: i64, key: String, value: Arc<dyn Any + Send + Sync>) {
        // A request that read an older head than what is kept made its value from data that
        // may already be stale: it is used for that request and not kept.
        if head < self.head {
            return;
        }
        if head > self.head || self.entries.len() >= Self::MOST {
            self.entries.clear();
            self.head = head;
        }
        self.entries.insert(key, value);
    }
}

/// The value kept under `key` for `head`, or `make` run (off the async threads) and kept.
pub(crate) async fn derived<T: Send + Sync + 'static>(
    state: &AppState,
    head: i64,
    key: String,
    make: impl FnOnce(&Steward) -> Result<T, ServiceError> + Send + 'static,
) -> Result<Arc<T>, WebError> {
    if let Ok(kept) = state.derived.lock()
        && let Some(found) = kept.get::<T>(head, &key)
    {
        return Ok(found);
    }
    let fresh = Arc::new(blocking(state, make).await?);
    if let Ok(mut kept) = state.derived.lock() {
        kept.keep(head, key, fresh.clone());
    }
    Ok(fresh)
}

/// Signed-in sessions as last read, each good until its own time and only while nothing has
/// changed: on PostgreSQL, while the store's [`steward_store::ChangeFeed`] stays at the
/// generation it was read under. (On SQLite there is no feed and each request reads its
/// session, in process.) A request that finds its session here makes no round trip to the
/// database at all when its page is kept too.
#[derive(Default)]
pub(crate) struct Sessions {
    generation: u64,
    kept: HashMap<String, steward_service::SignedIn>,
}

impl Sessions {
    /// At most this many sessions kept; past it the map starts again.
    const MOST: usize = 10_000;

    pub(crate) fn get(
        &self,
        token_hash: &str,
        generation: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<steward_service::SignedIn> {
        if self.generation != generation {
            return None;
        }
        self.kept
            .get(token_hash)
            .filter(|s| now < s.kept_until())
            .cloned()
    }

    /// Keeps what a request read under `generation` (taken before it read). Something read
    /// under an older generation may be stale already and is not kept.
    pub(crate) fn keep(
        &mut self,
        token_hash: String,
        generation: u64,
        signed: steward_service::SignedIn,
    ) {
        if generation < self.generation {
            return;
        }
        if generation > self.generation || self.kept.len() >= Self::MOST {
            self.kept.clear();
            self.generation = generation;
        }
        self.kept.insert(token_hash, signed);
    }
}

/// The packs this server runs now: those its configuration names, or else those of the packs it
/// knows that the organisation has made active (the choice is in the database, so it is kept
/// per audit head like the rest).
pub(crate) async fn running_packs(
    state: &AppState,
    head: i64,
) -> Result<Arc<Vec<steward_policy::Pack>>, WebError> {
    let options = state.options.clone();
    derived(state, head, "running_packs".into(), move |s| {
        if !options.packs.is_empty() {
            return Ok(options.packs.clone());
        }
        Ok(steward_service::active_among(
            &options.available,
            &s.active_pack_ids()?,
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each step: (head, key, value offered), and the value then kept for that head and key.
    #[test]
    fn kept_values_follow_the_head() {
        let mut d = Derived::default();
        let steps: &[(i64, &str, Option<u32>, Option<u32>)] = &[
            (5, "a", None, None),
            (5, "a", Some(1), Some(1)),
            (5, "b", Some(2), Some(2)),
            (5, "a", None, Some(1)),
            // The head moves on: nothing kept is valid for it.
            (6, "a", None, None),
            (6, "a", Some(3), Some(3)),
            (6, "b", None, None),
            // A late request that read head 5 keeps nothing and sees nothing of 6's.
            (5, "b", Some(4), None),
            (6, "b", None, None),
            (6, "a", None, Some(3)),
        ];
        for (i, (head, key, offer, want)) in steps.iter().enumerate() {
            if let Some(v) = offer {
                d.keep(*head, (*key).to_owned(), Arc::new(*v));
            }
            assert_eq!(
                d.get::<u32>(*head, key).as_deref(),
                want.as_ref(),
                "step {i}"
            );
        }
        // Another type under a key is not mistaken for this one.
        assert!(d.get::<String>(6, "a").is_none());
        // Bounded.
        for n in 0..(Derived::MOST + 5) {
            d.keep(6, format!("k{n}"), Arc::new(0u32));
        }
        assert!(d.entries.len() <= Derived::MOST);
    }
}
