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

/// Values kept by key, all read as of one version (an audit head, a change feed's generation),
/// and at most `most` of them. A value read as of an older version than the one kept is not
/// kept (it may already be stale); a newer version, or a full map, starts afresh.
struct Kept<V> {
    version: i64,
    entries: HashMap<String, V>,
    most: usize,
}

impl<V> Kept<V> {
    fn new(most: usize) -> Kept<V> {
        Kept {
            version: 0,
            entries: HashMap::new(),
            most,
        }
    }

    fn get(&self, version: i64, key: &str) -> Option<&V> {
        (self.version == version)
            .then(|| self.entries.get(key))
            .flatten()
    }

    fn keep(&mut self, version: i64, key: String, value: V) {
        if version < self.version {
            return;
        }
        if version > self.version || self.entries.len() >= self.most {
            self.entries.clear();
            self.version = version;
        }
        self.entries.insert(key, value);
    }
}

/// Everything pages derive, as of an audit head. Bounded: a new head, or too many keys (one
/// per findings filter, say), starts afresh.
pub(crate) struct Derived(Kept<Arc<dyn Any + Send + Sync>>);

impl Default for Derived {
    /// Room for the shared pages and the pages of a few hundred people (`/me`) per head.
    fn default() -> Derived {
        Derived(Kept::new(512))
    }
}

impl Derived {
    fn get<T: Send + Sync + 'static>(&self, head: i64, key: &str) -> Option<Arc<T>> {
        self.0
            .get(head, key)
            .and_then(|v| Arc::downcast::<T>(v.clone()).ok())
    }

    fn keep(&mut self, head: i64, key: String, value: Arc<dyn Any + Send + Sync>) {
        self.0.keep(head, key, value);
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
pub(crate) struct Sessions(Kept<steward_service::SignedIn>);

impl Default for Sessions {
    /// At most this many sessions kept; past it the map starts again.
    fn default() -> Sessions {
        Sessions(Kept::new(10_000))
    }
}

impl Sessions {
    pub(crate) fn get(
        &self,
        token_hash: &str,
        generation: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<steward_service::SignedIn> {
        self.0
            .get(version(generation), token_hash)
            .filter(|s| now < s.kept_until())
            .cloned()
    }

    /// Keeps what a request read under `generation` (taken before it read).
    pub(crate) fn keep(
        &mut self,
        token_hash: String,
        generation: u64,
        signed: steward_service::SignedIn,
    ) {
        self.0.keep(version(generation), token_hash, signed);
    }
}

/// A feed's generation as a version; one past what a version holds is read as the last (a
/// generation moves on a few times a second: it never gets there).
fn version(generation: u64) -> i64 {
    i64::try_from(generation).unwrap_or(i64::MAX)
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
            &s.with_own_packs(&options.available)?,
            &s.active_pack_ids()?,
        ))
    })
    .await
}

/// The parameter values in force today: the organisation's kept values over the server's
/// `overrides.toml` (kept per audit head: every change is audited).
pub(crate) async fn overrides_in_force(
    state: &AppState,
    head: i64,
) -> Result<Arc<steward_policy::Overrides>, WebError> {
    let options = state.options.clone();
    derived(state, head, "overrides_in_force".into(), move |s| {
        let today = s.local_date(chrono::Utc::now())?;
        s.overrides_in_force(&options.overrides, today)
    })
    .await
}

/// Every pack the organisation can run: the server's (built in, from folders) and its own, kept
/// in the database (so read again when the audit head moves: an import is audited).
pub(crate) async fn available_packs(
    state: &AppState,
    head: i64,
) -> Result<Arc<Vec<steward_policy::Pack>>, WebError> {
    let options = state.options.clone();
    derived(state, head, "available_packs".into(), move |s| {
        s.with_own_packs(&options.available)
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
        let most = d.0.most;
        for n in 0..(most + 5) {
            d.keep(6, format!("k{n}"), Arc::new(0u32));
        }
        assert!(d.0.entries.len() <= most);
    }

    /// A session is kept for its generation and until its own time; an older generation's
    /// read is not kept, a newer one starts afresh.
    #[test]
    fn kept_sessions_follow_the_generation_and_their_time() {
        use chrono::{TimeDelta, Utc};
        let now = Utc::now();
        let signed = |last_seen| steward_service::SignedIn {
            session: steward_store::Session {
                token_hash: "t".into(),
                email: "a@example.org".into(),
                created_at: now - TimeDelta::hours(1),
                last_seen,
                mfa_passed: true,
                csrf_secret: "c".into(),
            },
            viewer: steward_service::Viewer {
                email: "a@example.org".into(),
                display_name: "A".into(),
                person_id: None,
                capacities: Default::default(),
                must_change_password: false,
            },
            audit_seq: 1,
        };
        let mut s = Sessions::default();
        s.keep("t".into(), 3, signed(now));
        assert!(s.get("t", 3, now).is_some());
        assert!(s.get("t", 4, now).is_none(), "another generation");
        assert!(s.get("u", 3, now).is_none(), "another token");
        // Past the minute after which the session must be touched, it is read again.
        assert!(s.get("t", 3, now + TimeDelta::seconds(61)).is_none());
        s.keep("u".into(), 2, signed(now));
        assert!(s.get("u", 2, now).is_none(), "an older generation kept");
        assert!(s.get("t", 3, now).is_some());
        s.keep("u".into(), 5, signed(now));
        assert!(s.get("t", 3, now).is_none() && s.get("t", 5, now).is_none());
        assert!(s.get("u", 5, now).is_some());
        // A session read a minute ago is not kept past its touch.
        s.keep("v".into(), 5, signed(now - TimeDelta::seconds(70)));
        assert!(s.get("v", 5, now).is_none());
    }
}
