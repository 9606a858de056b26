//! Single sign-on on every backend: an attempt is taken once (even by racing takes) and begun
//! attempts clear expired ones; links are saved (inserted, then updated) and removed, each with
//! one audit record, one per sign-in at each provider, read back as written; and a link changed
//! behind the log's back is found by verification.

use std::sync::Barrier;

use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};
use steward_store::testing::databases;
use steward_store::{
    AuditQuery, SSO_LINK_ENTITY, SsoAttemptRow, SsoLinkRow, Store, verify_audit_full,
};

fn t(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::minutes(n)
}

fn attempt(state_hash: &str, created_at: DateTime<Utc>) -> SsoAttemptRow {
    SsoAttemptRow {
        state_hash: state_hash.to_owned(),
        provider: "microsoft".to_owned(),
        nonce: format!("nonce-{state_hash}"),
        pkce_verifier: format!("verifier-{state_hash}"),
        browser_hash: format!("browser-{state_hash}"),
        created_at,
    }
}

fn link(provider: &str, subject: &str, email: &str, n: i64) -> SsoLinkRow {
    SsoLinkRow {
        provider: provider.to_owned(),
        subject: subject.to_owned(),
        email: email.to_owned(),
        linked_at: t(n),
        last_sign_in_at: t(n),
        provider_mfa: None,
    }
}

#[test]
fn an_attempt_is_taken_once() {
    for db in databases("sso_attempt_once") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let store: &dyn Store = store.as_ref();
        // Sub-second instants survive the round trip (to the microsecond, as stored).
        let created = (Utc::now() + Duration::nanoseconds(123_456_789)).trunc_subsecs(6);
        let a = attempt("aaaa", created);
        let head = store.audit_head().unwrap();
        store
            .begin_sso_attempt(&a, created - Duration::minutes(10), 1_000)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // The same state again is refused.
        assert!(
            store
                .begin_sso_attempt(&a, created - Duration::minutes(10), 1_000)
                .is_err(),
            "{b}"
        );
        assert_eq!(store.take_sso_attempt("nosuch").unwrap(), None, "{b}");
        assert_eq!(store.take_sso_attempt("aaaa").unwrap(), Some(a), "{b}");
        assert_eq!(store.take_sso_attempt("aaaa").unwrap(), None, "{b}");
        assert_eq!(
            store.audit_head().unwrap(),
            head,
            "{b}: attempts are not audited"
        );
    }
}

#[test]
fn beginning_an_attempt_clears_the_expired() {
    for db in databases("sso_attempt_expiry") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let store: &dyn Store = store.as_ref();
        let old = attempt("old", t(0));
        let edge = attempt("edge", t(10));
        let newer = attempt("newer", t(15));
        for a in [&old, &edge, &newer] {
            store
                .begin_sso_attempt(a, t(-60), 1_000)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
        }
        // Attempts created before t(10) are cleared; t(10) itself and later are kept.
        store
            .begin_sso_attempt(&attempt("latest", t(20)), t(10), 1_000)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        // Past the most in flight, an attempt is not stored.
        assert!(
            !store
                .begin_sso_attempt(&attempt("flood", t(21)), t(10), 3)
                .unwrap_or_else(|e| panic!("{b}: {e}")),
            "{b}: three in flight"
        );
        assert_eq!(store.take_sso_attempt("flood").unwrap(), None, "{b}");
        assert_eq!(store.take_sso_attempt("old").unwrap(), None, "{b}");
        assert_eq!(store.take_sso_attempt("edge").unwrap(), Some(edge), "{b}");
        assert_eq!(store.take_sso_attempt("newer").unwrap(), Some(newer), "{b}");
        assert_eq!(
            store.take_sso_attempt("latest").unwrap(),
            Some(attempt("latest", t(20))),
            "{b}"
        );
    }
}

#[test]
fn racing_takes_have_one_winner() {
    const TAKERS: usize = 8;
    for db in databases("sso_attempt_race") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let store: &dyn Store = store.as_ref();
        for round in 0..5 {
            let hash = format!("race{round}");
            let a = attempt(&hash, t(round));
            store
                .begin_sso_attempt(&a, t(-60), 1_000)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
            let start = Barrier::new(TAKERS);
            let taken: Vec<Option<SsoAttemptRow>> = std::thread::scope(|scope| {
                let takers: Vec<_> = (0..TAKERS)
                    .map(|_| {
                        scope.spawn(|| {
                            start.wait();
                            store.take_sso_attempt(&hash)
                        })
                    })
                    .collect();
                takers
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .expect("taker thread")
                            .unwrap_or_else(|e| panic!("{b}: {e}"))
                    })
                    .collect()
            });
            let winners: Vec<_> = taken.into_iter().flatten().collect();
            assert_eq!(winners, vec![a], "{b}: round {round}");
        }
    }
}

#[test]
fn links_are_saved_audited_removed_and_verified() {
    for db in databases("sso_links") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let store: &dyn Store = store.as_ref();
        assert!(store.sso_links().unwrap().is_empty(), "{b}");

        // Linked: the email is stored lower-case.
        let linked_at = (Utc::now() + Duration::nanoseconds(987_654_321)).trunc_subsecs(6);
        let grace = SsoLinkRow {
            linked_at,
            last_sign_in_at: linked_at,
            ..link("microsoft", "ms-grace", "Grace@Example.org", 0)
        };
        store
            .save_sso_link("test:admin", t(0), "link", &grace)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let grace = SsoLinkRow {
            email: "grace@example.org".to_owned(),
            ..grace
        };
        assert_eq!(
            store.sso_link("microsoft", "ms-grace").unwrap().as_ref(),
            Some(&grace),
            "{b}"
        );
        assert_eq!(store.sso_link("google", "ms-grace").unwrap(), None, "{b}");

        // Signed in: the last sign-in and what the provider said of MFA are updated.
        let signed_in = SsoLinkRow {
            last_sign_in_at: t(5),
            provider_mfa: Some(true),
            ..grace.clone()
        };
        store
            .save_sso_link("grace@example.org", t(5), "sign_in", &signed_in)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let google = SsoLinkRow {
            provider_mfa: Some(false),
            ..link("google", "g-grace", "grace@example.org", 6)
        };
        store
            .save_sso_link("test:admin", t(6), "link", &google)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let ada = link("google", "g-ada", "ada@example.org", 7);
        store
            .save_sso_link("test:admin", t(7), "link", &ada)
            .unwrap_or_else(|e| panic!("{b}: {e}"));

        // A second link of one sign-in at one provider is refused; the first stays.
        let head = store.audit_head().unwrap();
        assert!(
            store
                .save_sso_link(
                    "test:admin",
                    t(8),
                    "link",
                    &link("microsoft", "ms-other", "GRACE@example.org", 8)
                )
                .is_err(),
            "{b}"
        );
        assert_eq!(store.audit_head().unwrap(), head, "{b}: nothing written");
        assert_eq!(
            store.sso_link("microsoft", "ms-other").unwrap(),
            None,
            "{b}"
        );

        assert_eq!(
            store.sso_link("microsoft", "ms-grace").unwrap().as_ref(),
            Some(&signed_in),
            "{b}"
        );
        assert_eq!(
            store.sso_links().unwrap(),
            vec![ada.clone(), google.clone(), signed_in.clone()],
            "{b}: by email then provider"
        );
        assert_eq!(
            store.sso_links_of("Grace@EXAMPLE.org").unwrap(),
            vec![google.clone(), signed_in.clone()],
            "{b}: by provider"
        );
        assert!(
            store.sso_links_of("nobody@example.org").unwrap().is_empty(),
            "{b}"
        );

        // Removed once; again, or a link that is not there, writes nothing.
        assert!(
            store
                .remove_sso_link("test:admin", t(9), "google", "g-grace")
                .unwrap(),
            "{b}"
        );
        let head = store.audit_head().unwrap();
        assert!(
            !store
                .remove_sso_link("test:admin", t(10), "google", "g-grace")
                .unwrap(),
            "{b}"
        );
        assert!(
            !store
                .remove_sso_link("test:admin", t(10), "google", "nosuch")
                .unwrap(),
            "{b}"
        );
        assert_eq!(store.audit_head().unwrap(), head, "{b}");
        assert_eq!(
            store.sso_links_of("grace@example.org").unwrap(),
            vec![signed_in.clone()],
            "{b}"
        );

        let mut records = Vec::new();
        store
            .audit_records(&AuditQuery::default(), &mut |r| {
                records.push(r);
                Ok(())
            })
            .unwrap();
        let links: Vec<_> = records
            .iter()
            .filter(|r| r.entity_type == SSO_LINK_ENTITY)
            .collect();
        let seen: Vec<(&str, &str, &str, bool, bool)> = links
            .iter()
            .map(|r| {
                (
                    r.action.as_str(),
                    r.entity_id.as_str(),
                    r.actor.as_str(),
                    r.before.is_some(),
                    r.after.is_some(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("link", "microsoft:ms-grace", "test:admin", false, true),
                (
                    "sign_in",
                    "microsoft:ms-grace",
                    "grace@example.org",
                    true,
                    true
                ),
                ("link", "google:g-grace", "test:admin", false, true),
                ("link", "google:g-ada", "test:admin", false, true),
                ("unlink", "google:g-grace", "test:admin", true, false),
            ],
            "{b}"
        );
        let sign_in = links
            .iter()
            .find(|r| r.action == "sign_in")
            .and_then(|r| r.after.clone())
            .unwrap_or_default();
        assert!(
            sign_in.contains("\"provider_mfa\":true") && sign_in.contains("grace@example.org"),
            "{b}: {sign_in}"
        );
        let verdict = verify_audit_full(store, None, 10).unwrap();
        assert!(verdict.is_ok(), "{b}: {verdict:?}");

        // A link moved to another sign-in behind the log's back is found; so is one deleted.
        db.execute(
            "UPDATE sso_links SET email = 'mallory@example.org' \
             WHERE provider = 'microsoft' AND subject = 'ms-grace'",
        )
        .unwrap_or_else(|e| panic!("{b}: {e}"));
        db.execute("DELETE FROM sso_links WHERE provider = 'google' AND subject = 'g-ada'")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let verdict = verify_audit_full(store, None, 10).unwrap();
        assert!(!verdict.is_ok(), "{b}");
        let moved = verdict
            .differences
            .iter()
            .find(|d| d.register == "sso_links" && d.id == "microsoft:ms-grace")
            .unwrap_or_else(|| panic!("{b}: {verdict:?}"));
        assert_eq!(moved.fields, ["email"], "{b}");
        assert!(
            verdict.differences.iter().any(|d| d.register == "sso_links"
                && d.id == "google:g-ada"
                && d.kind == steward_store::DifferenceKind::Missing),
            "{b}: {verdict:?}"
        );
    }
}

#[test]
fn links_are_backed_up_and_attempts_are_not() {
    for db in databases("sso_backup") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        store
            .save_sso_link(
                "test:admin",
                t(0),
                "link",
                &link("google", "g-ada", "ada@example.org", 0),
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        store
            .begin_sso_attempt(&attempt("inflight", t(1)), t(-60), 1_000)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let tmp = steward_store::testing::TempDir::new("sso_backup")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let file = tmp.path().join("backup.db");
        let summary = steward_store::backup(&db.url, &file).unwrap_or_else(|e| panic!("{b}: {e}"));
        let counted: std::collections::BTreeMap<_, _> = summary.tables.iter().cloned().collect();
        assert_eq!(counted.get("sso_links"), Some(&1), "{b}: {counted:?}");
        assert!(!counted.contains_key("sso_attempts"), "{b}: {counted:?}");
        // Nor does the file itself hold the attempt (a copy of an SQLite file would).
        let copy = rusqlite::Connection::open(&file).unwrap_or_else(|e| panic!("{b}: {e}"));
        let held: i64 = copy
            .query_row("SELECT COUNT(*) FROM sso_attempts", [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(held, 0, "{b}: the backup file holds an attempt in flight");
        // Restored into an empty database of either backend: the link is back, the attempt not.
        let links = store.sso_links().unwrap();
        for target in databases("sso_restore") {
            let to = target.backend;
            steward_store::restore(&file, &target.url, false)
                .unwrap_or_else(|e| panic!("{b} → {to}: {e}"));
            let restored =
                steward_store::open(&target.url).unwrap_or_else(|e| panic!("{b} → {to}: {e}"));
            assert_eq!(restored.sso_links().unwrap(), links, "{b} → {to}");
            assert_eq!(
                restored.take_sso_attempt("inflight").unwrap(),
                None,
                "{b} → {to}"
            );
            let verdict = verify_audit_full(restored.as_ref(), None, 10).unwrap();
            assert!(verdict.is_ok(), "{b} → {to}: {verdict:?}");
        }
    }
}
