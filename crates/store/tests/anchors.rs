//! Audit anchors: each head emailed is recorded and listed back as written, oldest first; one
//! that names nobody or no head, or repeats an instant, is refused and writes nothing — on every
//! backend `testing::databases` returns.

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_store::testing::databases;
use steward_store::{AuditAnchor, StoreError};

fn t(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 5, 0)
        .single()
        .unwrap_or_default()
        + Duration::days(day)
        + Duration::microseconds(123_457)
}

fn anchor(day: i64, seq: i64, recipients: &[&str]) -> AuditAnchor {
    AuditAnchor {
        seq,
        hash: format!("{seq:064x}"),
        sent_at: t(day),
        recipients: recipients.iter().map(|r| (*r).to_owned()).collect(),
    }
}

#[test]
fn anchors_are_recorded_and_listed_oldest_first() {
    for db in databases("anchors") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(store.audit_anchors().ok(), Some(Vec::new()), "{b}");
        let second = anchor(1, 42, &["gail@example.org", "gus@example.org"]);
        let first = anchor(0, 7, &["gail@example.org"]);
        for a in [&second, &first] {
            store
                .record_audit_anchor(a)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        }
        let listed = store.audit_anchors().unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(listed, vec![first.clone(), second.clone()], "{b}");

        // Refused, and nothing written: nobody to send to, an address that would split, no
        // head, the same instant twice.
        for bad in [
            anchor(2, 50, &[]),
            anchor(3, 50, &["a@example.org,b@example.org"]),
            AuditAnchor {
                hash: String::new(),
                ..anchor(4, 50, &["gail@example.org"])
            },
            anchor(5, -1, &["gail@example.org"]),
        ] {
            let refused = store.record_audit_anchor(&bad);
            assert!(
                matches!(refused, Err(StoreError::InvalidAnchor(_))),
                "{b}: {bad:?} was taken: {refused:?}"
            );
        }
        assert!(
            store
                .record_audit_anchor(&anchor(1, 43, &["x@example.org"]))
                .is_err(),
            "{b}: a second anchor at the same instant"
        );
        assert_eq!(store.audit_anchors().ok(), Some(vec![first, second]), "{b}");
    }
}
