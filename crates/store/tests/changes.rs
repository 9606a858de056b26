//! Word of committed changes (`Store::changes`): on PostgreSQL a server hears of every change any
//! other server commits — to the data, a session or an account — and stops vouching while it
//! cannot hear; nothing is heard of a transaction rolled back. SQLite has no feed: each request
//! reads in process.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use steward_model::{Person, PersonStatus, Record};
use steward_store::testing::databases;
use steward_store::{Backend, ChangeFeed, Session, SignIn};

fn person(id: &str, name: &str) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        email: None,
        staff_group: "fca".into(),
        manager_id: None,
        budget_centre: None,
        status: PersonStatus::Active,
        start_date: None,
        leave_date: None,
        clearance: None,
        clearance_expires: None,
        byod: None,
        weekly_digest: None,
        job_title: None,
        source: None,
        source_seen: None,
        missing_since: None,
    }
}

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Waits (up to a generous bound, for a loaded machine) until `ready` holds; says what it
/// waited for if it never does.
fn eventually(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn vouched(feed: &ChangeFeed) -> u64 {
    let mut seen = None;
    eventually("the feed vouches", || {
        seen = feed.generation();
        seen.is_some()
    });
    seen.unwrap_or_default()
}

/// The generation once no notice has come for a while: a notice of an earlier change that
/// arrives late (a busy machine) is not taken for one the next step sent.
fn settled(feed: &ChangeFeed) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = vouched(feed);
    loop {
        std::thread::sleep(Duration::from_millis(1500));
        let now = vouched(feed);
        assert!(Instant::now() < deadline, "notices never stop coming");
        if now == last {
            return now;
        }
        last = now;
    }
}

#[test]
fn a_server_hears_what_others_commit_and_stops_vouching_while_deaf() {
    for db in databases("changes") {
        let b = db.backend;
        let here = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        if b == Backend::Sqlite {
            assert!(here.changes().is_none(), "SQLite reads in process");
            continue;
        }
        let feed = here.changes().unwrap_or_else(|| panic!("{b}: no feed"));
        // Another server, with its own connections.
        let there = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));

        // Each kind of change the other server commits moves the generation on.
        type Change<'a> = (&'a str, Box<dyn Fn() + 'a>);
        let session = Session {
            token_hash: "ab".repeat(32),
            email: "ada@example.org".into(),
            created_at: at(),
            last_seen: at(),
            mfa_passed: true,
            csrf_secret: "c".repeat(43),
        };
        let account = SignIn {
            email: "ada@example.org".into(),
            person_id: None,
            display_name: "Ada".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
                .into(),
            totp_secret: None,
            totp_last_step: None,
            mfa_enrolled_at: None,
            recovery_codes: Vec::new(),
            roles: vec!["administrator".into()],
            disabled: false,
            created_at: at(),
            password_changed_at: at(),
            must_change_password: false,
        };
        there
            .create_first_sign_in("setup", at(), &account)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        there
            .create_session(&session)
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let changes: Vec<Change> = vec![
            (
                "a register's change",
                Box::new(|| {
                    there
                        .commit("test", at(), vec![person("P1", "Ada").to_row()])
                        .map(drop)
                        .unwrap_or_else(|e| panic!("{b}: {e}"))
                }),
            ),
            (
                "a session ended",
                Box::new(|| {
                    there
                        .delete_session(&session.token_hash)
                        .unwrap_or_else(|e| panic!("{b}: {e}"))
                }),
            ),
            (
                "another register's change",
                Box::new(|| {
                    there
                        .commit("test", at(), vec![person("P1", "Ada L").to_row()])
                        .map(drop)
                        .unwrap_or_else(|e| panic!("{b}: {e}"))
                }),
            ),
            (
                "an account disabled",
                Box::new(|| {
                    there
                        .save_sign_in(
                            "test",
                            at(),
                            "disabled",
                            &SignIn {
                                disabled: true,
                                ..account.clone()
                            },
                        )
                        .unwrap_or_else(|e| panic!("{b}: {e}"))
                }),
            ),
        ];
        for (what, change) in &changes {
            let before = vouched(&feed);
            change();
            eventually(what, || feed.generation().is_some_and(|g| g > before));
        }

        // A server's own change moves it at once, before any notice.
        let before = vouched(&feed);
        feed.changed();
        assert!(feed.generation().is_some_and(|g| g > before), "{b}");

        // A transaction rolled back sends nothing: the generation stays where it was while the
        // listener beats (a notice would arrive within moments; two beats pass here).
        let before = settled(&feed);
        db.execute_as_app("BEGIN; UPDATE audit_head SET seq = seq WHERE id = 1; ROLLBACK;")
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        std::thread::sleep(Duration::from_secs(5));
        assert_eq!(feed.generation(), Some(before), "{b}: a rollback was heard");

        // Its connection cut, the feed stops vouching until it listens again, then vouches
        // from a new generation (whatever changed meanwhile was not heard).
        let before = vouched(&feed);
        let mut cut = 0;
        eventually("the listening connection is cut", || {
            let mut admin = postgres::Client::connect(&db.owner_url, postgres::NoTls)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
            cut += admin
                .query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND application_name = $1",
                    &[&steward_store::CHANGES_APPLICATION_NAME],
                )
                .map_or(0, |rows| rows.len());
            cut > 0
        });
        eventually("the feed stops vouching", || feed.generation().is_none());
        there
            .commit("test", at(), vec![person("P2", "Grace").to_row()])
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let after = vouched(&feed);
        assert!(
            after > before,
            "{b}: vouched again at {after}, not past {before}"
        );
    }
}
