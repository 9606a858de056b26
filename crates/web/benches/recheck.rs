//! From a change to its finding clearing: `cargo bench -p steward-web --bench recheck`.
//!
//! On a demo organisation of 10,000 people (`STEWARD_BENCH_PEOPLE` for another size), on SQLite
//! and, when `STEWARD_TEST_DATABASE_URL` names a server, PostgreSQL, the administrator marks an
//! unencrypted laptop encrypted through its record's page, as a person would, five times over
//! five laptops. Each time it prints how long the page took to answer (the step, which never waits
//! for the checks) and how long until the laptop's finding no longer fails (the check run queued
//! by the step, done by the server's job worker: the first a server runs evaluates every check,
//! the next only those that read what changed).

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::{builtin_packs, ms, number_from_env, percentile, seed, signed_in};
use steward_policy::Pack;
use steward_service::{FindingQuery, Steward};
use steward_store::testing::{TestDatabase, databases};
use support::Server;

const SAMPLES: usize = 5;

fn main() {
    common::allocate_as_the_binary_does();
    // `STEWARD_LOG=steward_service=debug` shows each run's phases (what it evaluated, the estate
    // read, the recording) on stderr, as the server's log would.
    if let Ok(filter) = std::env::var("STEWARD_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let people = number_from_env("STEWARD_BENCH_PEOPLE", 10_000);
    let packs = builtin_packs();
    println!(
        "Steward, a change to its finding clearing: {people} people, {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        Utc::now().format("%Y-%m-%d"),
    );
    for db in databases("bench_recheck") {
        run(&db, people, &packs);
    }
}

fn run(db: &TestDatabase, people: usize, packs: &[Pack]) {
    println!("\n## {}\n", db.backend);
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("open {}: {e}", db.backend));
    let (admin, _) = seed(&steward, people, packs);
    // Open findings about laptops whose evidence says they are not encrypted.
    let unencrypted: Vec<(String, String)> = steward
        .findings(&FindingQuery {
            subject_type: Some("asset".into()),
            ..FindingQuery::default()
        })
        .unwrap_or_else(|e| panic!("findings: {e}"))
        .into_iter()
        .filter(|f| {
            f.finding
                .evidence
                .get("asset.encrypted")
                .map(String::as_str)
                == Some("false")
        })
        .map(|f| (f.finding.subject.id.clone(), f.finding.control.to_string()))
        .take(SAMPLES)
        .collect();
    assert!(
        !unencrypted.is_empty(),
        "the demo organisation has no unencrypted laptop with a finding"
    );
    let server = Server::start(
        &db.url,
        steward_web::Options {
            packs: packs.to_vec(),
            ..Default::default()
        },
    );
    let mut client = server.client();
    signed_in(&mut client, &admin);
    let (mut answers, mut clears) = (Vec::new(), Vec::new());
    println!("| laptop | control | the step answered | the finding cleared after |");
    println!("| --- | --- | --- | --- |");
    for (tag, control) in &unencrypted {
        let page = format!("/register/asset/{tag}");
        let csrf = client.get(&page).csrf();
        let began = Instant::now();
        let reply = client.post(
            &format!("{page}/set"),
            &[("csrf", csrf.as_str()), ("encrypted", "true")],
        );
        let answered = began.elapsed();
        assert_eq!(reply.status, 303, "{tag}: {}", reply.body);
        let query = FindingQuery {
            subject_type: Some("asset".into()),
            subject_id: Some(tag.clone()),
            control: Some(control.clone()),
            ..FindingQuery::default()
        };
        let cleared = loop {
            let failing = steward
                .count_findings(&query)
                .unwrap_or_else(|e| panic!("findings: {e}"));
            if failing == 0 {
                break began.elapsed();
            }
            assert!(
                began.elapsed() < Duration::from_secs(120),
                "{tag}: still failing {control} after two minutes"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        println!(
            "| {tag} | {control} | {} ms | {:.2} s |",
            ms(answered),
            cleared.as_secs_f64()
        );
        answers.push(answered);
        clears.push(cleared);
    }
    answers.sort();
    clears.sort();
    println!(
        "\nMedian: the step answered in {} ms; its finding cleared after {:.2} s.",
        ms(percentile(&answers, 50)),
        percentile(&clears, 50).as_secs_f64()
    );
    server
        .stop()
        .unwrap_or_else(|e| panic!("the server failed: {e}"));
}
