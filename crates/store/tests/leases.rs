//! Leases: a job only one server may run at a time. Taken, renewed, refused to others, lapsed and
//! released — and, with several connections racing, won by exactly one — on every backend
//! `testing::databases` returns.

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_store::Store;
use steward_store::testing::{databases, race};

/// Minute `n` of a day, with microseconds, so the comparison is not only of whole seconds.
fn t(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::minutes(n)
        + Duration::microseconds(250_001)
}

#[test]
fn a_lease_is_held_by_one_holder_at_a_time() {
    for db in databases("leases") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let take = |holder: &str, now: i64, until: i64| {
            store
                .take_lease("mail", holder, t(now), t(until))
                .unwrap_or_else(|e| panic!("{b}: {e}"))
        };
        // (who, now, until, taken?)
        let steps: &[(&str, i64, i64, bool)] = &[
            ("a", 0, 10, true),   // free
            ("b", 1, 11, false),  // a holds it
            ("a", 5, 15, true),   // a renews
            ("b", 14, 24, false), // still a's until 15
            ("b", 15, 25, false), // not before: the lease runs to its end
            ("b", 16, 26, true),  // lapsed
            ("a", 17, 27, false), // b's now
        ];
        for (i, (holder, now, until, want)) in steps.iter().enumerate() {
            assert_eq!(
                take(holder, *now, *until),
                *want,
                "{b}: step {i}: {holder} at {now}"
            );
        }
        // Another lease's name is another lease.
        assert!(
            store
                .take_lease("other", "a", t(17), t(27))
                .unwrap_or_default(),
            "{b}"
        );
        // Releasing is the holder's alone; once released, anyone may take it.
        store
            .release_lease("mail", "a")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(!take("c", 18, 28), "{b}: a released what b holds");
        store
            .release_lease("mail", "b")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert!(take("c", 18, 28), "{b}: b's release did not free it");
    }
}

#[test]
fn connections_racing_for_a_lease_leave_one_winner() {
    const RUNNERS: usize = 4;
    for db in databases("leases_race") {
        let b = db.backend;
        let stores: Vec<Box<dyn Store>> = (0..RUNNERS)
            .map(|_| steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}")))
            .collect();
        let won = race(&stores, |i, store| {
            store
                .take_lease("mail", &format!("server-{i}"), t(0), t(10))
                .unwrap_or_else(|e| panic!("{b}: runner {i}: {e}"))
        });
        assert_eq!(won.iter().filter(|w| **w).count(), 1, "{b}: {won:?}");
    }
}
