//! The store's connections under contention and faults, on every backend `testing::databases`
//! returns: readers are served while a writer waits, a dropped PostgreSQL connection costs
//! nothing but what was in flight, a statement past its timeout is cancelled, and an unreachable
//! database says so.

use std::sync::mpsc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use steward_model::{Person, PersonStatus, Record, Register};
use steward_store::testing::{TestDatabase, databases};
use steward_store::{Backend, StoreOptions};

fn person(id: &str) -> Person {
    Person {
        id: id.into(),
        name: format!("Person {id}"),
        email: Some(format!("{}@example.org", id.to_lowercase())),
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

/// A connection of the database's owner holding the write lock every commit needs, released
/// when dropped (or sooner, with `release`).
enum WriteLock {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl WriteLock {
    fn take(db: &TestDatabase) -> WriteLock {
        match db.backend {
            Backend::Sqlite => {
                let path = db.owner_url.trim_start_matches("sqlite://");
                let conn = rusqlite::Connection::open(path).expect("open sqlite");
                conn.execute_batch("BEGIN IMMEDIATE")
                    .expect("take the write lock");
                WriteLock::Sqlite(conn)
            }
            Backend::Postgres => {
                let mut client =
                    postgres::Client::connect(&db.owner_url, postgres::NoTls).expect("connect");
                client
                    .batch_execute("BEGIN; SELECT * FROM audit_head FOR UPDATE")
                    .expect("lock the audit head");
                WriteLock::Postgres(client)
            }
        }
    }

    fn release(self) {
        match self {
            WriteLock::Sqlite(conn) => conn.execute_batch("ROLLBACK").expect("release"),
            WriteLock::Postgres(mut client) => client.batch_execute("ROLLBACK").expect("release"),
        }
    }
}

#[test]
fn readers_are_served_while_a_writer_waits() {
    for db in databases("readers_while_writing") {
        let b = db.backend;
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        store
            .commit("test", at(), vec![person("P1").to_row()])
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let lock = WriteLock::take(&db);
        std::thread::scope(|scope| {
            // A commit that cannot finish until the lock is released…
            let writer = scope.spawn(|| store.commit("test", at(), vec![person("P2").to_row()]));
            std::thread::sleep(Duration::from_millis(200));
            assert!(
                !writer.is_finished(),
                "{b}: the commit did not wait for the lock"
            );
            // …while every kind of read, from several threads at once, is answered.
            let (sent, answers) = mpsc::channel();
            for _ in 0..4 {
                let sent = sent.clone();
                let store = &store;
                scope.spawn(move || {
                    let read = (|| {
                        let one = store.get(Register::People, "P1")?;
                        let all = store.list(Register::People)?;
                        let head = store.audit_head()?;
                        let findings = store.count_findings(&Default::default())?;
                        Ok::<_, steward_store::StoreError>((
                            one.is_some(),
                            all.len(),
                            head.0,
                            findings,
                        ))
                    })();
                    let _ = sent.send(read.map_err(|e| e.to_string()));
                });
            }
            drop(sent);
            for _ in 0..4 {
                let got = answers
                    .recv_timeout(Duration::from_secs(20))
                    .unwrap_or_else(|_| panic!("{b}: a read waited for the blocked writer"));
                assert_eq!(
                    got,
                    Ok((true, 1, 1, 0)),
                    "{b}: reads see the last commit only"
                );
            }
            assert!(
                !writer.is_finished(),
                "{b}: the lock was not held throughout"
            );
            lock.release();
            let summary = writer.join().expect("writer thread");
            assert!(
                summary.is_ok(),
                "{b}: the waiting commit failed: {summary:?}"
            );
        });
        assert_eq!(store.count(Register::People).ok(), Some(2), "{b}");
    }
}

/// Ends every session of the test database but the caller's, as a restart or failover would.
fn terminate_connections(db: &TestDatabase) {
    db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .expect("terminate the store's connections");
}

#[test]
fn a_dropped_postgres_connection_is_replaced() {
    for db in databases("dropped_connections") {
        if db.backend != Backend::Postgres {
            continue;
        }
        let options = StoreOptions {
            pool_size: 4,
            ..StoreOptions::default()
        };
        let store = steward_store::open_with(&db.url, &options).expect("open");
        for round in 0..3 {
            let id = format!("P{round}");
            store
                .commit("test", at(), vec![person(&id).to_row()])
                .unwrap_or_else(|e| panic!("round {round}, before: {e}"));
            // A register read whole, as a check run reads it, on a reader of its own.
            let wanted = vec![true; Register::People.fields().len()];
            let whole = |store: &dyn steward_store::Store| {
                store.each_fields(Register::People, &wanted, &mut |_| {})
            };
            assert_eq!(whole(store.as_ref()).ok(), Some(round + 1), "round {round}");
            terminate_connections(&db);
            // Every connection the pool and the readers held is gone; the next operations get
            // new ones.
            for _ in 0..6 {
                let got = store.get(Register::People, &id);
                assert!(
                    matches!(got, Ok(Some(_))),
                    "round {round}: after the connections were cut: {got:?}"
                );
                let read = whole(store.as_ref());
                assert_eq!(
                    read.as_ref().ok(),
                    Some(&(round + 1)),
                    "round {round}: {read:?}"
                );
            }
        }
        assert_eq!(store.count(Register::People).ok(), Some(3));
    }
}

#[test]
fn a_statement_past_its_timeout_is_cancelled() {
    for db in databases("statement_timeout") {
        if db.backend != Backend::Postgres {
            continue;
        }
        let options = StoreOptions {
            pool_size: 2,
            statement_timeout: Some(Duration::from_millis(300)),
            ..StoreOptions::default()
        };
        let store = steward_store::open_with(&db.url, &options).expect("open");
        let mut blocker =
            postgres::Client::connect(&db.owner_url, postgres::NoTls).expect("connect");
        blocker
            .batch_execute("BEGIN; LOCK TABLE people IN ACCESS EXCLUSIVE MODE")
            .expect("lock people");
        let got = store.get(Register::People, "P1");
        match &got {
            Err(e) => assert!(
                e.is_unavailable() && e.to_string().contains("statement timeout"),
                "not a timeout: {e}"
            ),
            Ok(_) => panic!("a read behind an exclusive lock returned: {got:?}"),
        }
        blocker.batch_execute("ROLLBACK").expect("unlock");
        // The connection that timed out is still good for the next statement.
        assert!(matches!(store.get(Register::People, "P1"), Ok(None)));
    }
}

#[test]
fn an_unreachable_database_is_unavailable_and_says_where_without_the_password() {
    // Nothing listens on port 1.
    let url = "postgres://steward:hunter2@127.0.0.1:1/steward?connect_timeout=1";
    let Err(e) = steward_store::open(url) else {
        panic!("opened a database nobody serves");
    };
    assert!(e.is_unavailable(), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let Err(e) =
        steward_store::open("postgres://steward:hunter2@localhost/x?sslmode=verify-everything")
    else {
        panic!("an unknown sslmode was accepted");
    };
    let text = e.to_string();
    assert!(
        text.contains("sslmode") && !text.contains("hunter2"),
        "{text}"
    );
}

#[test]
fn a_sqlite_read_past_its_timeout_is_interrupted_and_a_long_read_is_not() {
    let db = steward_store::testing::sqlite("sqlite_statement_timeout");
    let options = StoreOptions {
        // Past at once: the first time SQLite's progress handler looks, the read stops.
        statement_timeout: Some(Duration::from_micros(1)),
        ..StoreOptions::default()
    };
    let store = steward_store::open_with(&db.url, &options).expect("open");
    let people: Vec<_> = (0..3000)
        .map(|i| person(&format!("P{i:05}")).to_row())
        .collect();
    // Writes are not limited: the commit's statements run as long as they must.
    store.commit("test", at(), people).expect("commit");
    let page = steward_store::ListPage {
        register: Register::People,
        equal: Vec::new(),
        search: Some((vec!["name", "email"], "nobody-has-this")),
        limit: 50,
        after: None,
        sort: None,
        referenced_by: None,
    };
    match store.list_page(&page) {
        Err(e) => assert!(e.is_unavailable(), "not an interruption: {e}"),
        Ok((rows, n)) => panic!(
            "a scan of 3,000 rows outlived a 1 µs timeout: {} rows of {n}",
            rows.len()
        ),
    }
    // Reading the whole audit log is not limited.
    let mut seen = 0;
    store
        .audit_records(&Default::default(), &mut |_| {
            seen += 1;
            Ok(())
        })
        .expect("the whole log");
    assert_eq!(seen, 3000);
}
