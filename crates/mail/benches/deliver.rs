//! How fast waiting notices are emailed: `cargo bench -p steward-mail --bench deliver`.
//!
//! On a fresh SQLite database (and a fresh PostgreSQL database too when
//! `STEWARD_TEST_DATABASE_URL` names a server) it imports `STEWARD_BENCH_NOTICES` people (default
//! 1,000), each with an address and one notice waiting, then times one delivery run through a real
//! SMTP server on loopback (Python's, from `steward_mail::testing`): reading what waits, writing
//! and handing over each message, and marking each one emailed (an audited commit per message).
//! A second run, with nothing left to send, is timed too.

use std::time::Instant;

use steward_mail::testing::SmtpServer;
use steward_mail::{Mailbox, Sender, deliver};
use steward_model::{Notification, Person, PersonStatus, Record, Register};
use steward_service::{ImportFile, Stamp, Steward};
use steward_store::testing::databases;

fn main() {
    let notices: usize = match std::env::var("STEWARD_BENCH_NOTICES") {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("STEWARD_BENCH_NOTICES={text:?}: not a number")),
        _ => 1_000,
    };
    let Some(relay) = SmtpServer::start() else {
        return;
    };
    println!("Steward mail: {notices} notices, one run through a loopback SMTP server");
    println!();
    println!(
        "| backend | seed | deliver | per message | messages received | run with nothing to send |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for db in databases("bench_mail") {
        let b = db.backend;
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
        let seeding = Instant::now();
        let people: Vec<_> = (0..notices)
            .map(|i| {
                Person {
                    id: format!("P{i:06}"),
                    name: format!("Person {i}"),
                    email: Some(format!("person{i}@example.org")),
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
                .to_row()
            })
            .collect();
        let told: Vec<_> = (0..notices)
            .map(|i| {
                Notification {
                    about: format!("REQ-{i:06}"),
                    recipient: format!("P{i:06}"),
                    reason: "your mailbox was opened while you were away".into(),
                    due_at: None,
                    acknowledged_at: None,
                    acknowledged_by: None,
                    emailed_at: None,
                }
                .to_row()
            })
            .collect();
        let file = |register: Register, rows: &[steward_model::Row]| {
            let mut bytes = Vec::new();
            steward_interchange::write(register, rows, &mut bytes)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
            ImportFile {
                register,
                label: register.file_name(),
                bytes,
            }
        };
        steward
            .import(
                &Stamp::now("bench"),
                vec![
                    file(Register::People, &people),
                    file(Register::Notifications, &told),
                ],
            )
            .unwrap_or_else(|e| panic!("{b}: {e}"));
        let seeded = seeding.elapsed();
        let sender = Sender {
            from: Mailbox::new(Some("Steward"), "steward@example.org")
                .unwrap_or_else(|e| panic!("{e}")),
            public_url: Some("https://steward.example.org".into()),
            actor: "bench:mail".into(),
        };
        let before = relay.received().len();
        let started = Instant::now();
        let run = deliver(&steward, &relay.relay, &sender).unwrap_or_else(|e| panic!("{b}: {e}"));
        let took = started.elapsed();
        let received = relay.received().len() - before;
        assert_eq!(run.sent.len(), notices, "{b}: {run:?}");
        let idle = Instant::now();
        let again = deliver(&steward, &relay.relay, &sender).unwrap_or_else(|e| panic!("{b}: {e}"));
        let idle = idle.elapsed();
        assert!(again.sent.is_empty(), "{b}");
        println!(
            "| {b} | {:.2} s | {:.2} s | {:.2} ms | {received} | {:.1} ms |",
            seeded.as_secs_f64(),
            took.as_secs_f64(),
            took.as_secs_f64() * 1000.0 / notices as f64,
            idle.as_secs_f64() * 1000.0
        );
    }
}
