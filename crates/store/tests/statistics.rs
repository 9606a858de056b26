//! After a large write the planner's statistics of the tables written are read afresh at once
//! (PostgreSQL; SQLite keeps none), by the app role, through the owner's `steward_analyze`.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use steward_model::{BudgetCentre, Record};
use steward_store::Backend;
use steward_store::testing::databases;

/// Whether PostgreSQL has analyzed `table`, asked as the owner, waiting up to `wait` for its
/// statistics to be published.
fn analyzed(owner_url: &str, table: &str, wait: Duration) -> bool {
    let mut admin =
        postgres::Client::connect(owner_url, postgres::NoTls).expect("the owner connects");
    let until = Instant::now() + wait;
    loop {
        let row = admin
            .query_one(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = $1",
                &[&table],
            )
            .expect("statistics of the table");
        if row.get::<_, bool>(0) || Instant::now() > until {
            return row.get(0);
        }
        admin
            .batch_execute("SELECT pg_stat_clear_snapshot()")
            .expect("a fresh snapshot");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_large_write_reads_the_statistics_of_what_it_wrote_afresh() {
    for db in databases("statistics") {
        if db.backend != Backend::Postgres {
            continue;
        }
        let store = steward_store::open(&db.url).expect("the app role opens the store");
        let at = Utc
            .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
            .single()
            .expect("a time");
        // A small write leaves the statistics to autovacuum.
        let few = (0..10)
            .map(|i| {
                BudgetCentre {
                    code: format!("S{i:05}"),
                    name: "small".into(),
                }
                .to_row()
            })
            .collect();
        store.commit("tester", at, few).expect("a small commit");
        assert!(
            !analyzed(&db.owner_url, "systems", Duration::from_secs(1)),
            "an untouched table is not analyzed"
        );
        let many = (0..10_000)
            .map(|i| {
                BudgetCentre {
                    code: format!("B{i:05}"),
                    name: format!("centre {i}"),
                }
                .to_row()
            })
            .collect();
        let summary = store.commit("tester", at, many).expect("a large commit");
        assert_eq!(summary.created, 10_000);
        for table in ["budget_centres", "audit_log", "audit_payloads"] {
            let wait = Duration::from_secs(10);
            assert!(analyzed(&db.owner_url, table, wait), "{table} analyzed");
        }
        // The function analyzes this schema's tables and nothing else.
        let mut app = postgres::Client::connect(&db.url, postgres::NoTls).expect("the app role");
        let refused = app
            .execute("SELECT steward_analyze($1)", &[&"pg_class"])
            .expect_err("not one of Steward's tables");
        let message = refused.as_db_error().map(|e| e.message().to_owned());
        assert_eq!(
            message.as_deref(),
            Some("no table pg_class in this schema"),
            "{refused:?}"
        );
    }
}
