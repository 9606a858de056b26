//! From a change to its finding clearing: `cargo bench -p steward-web --bench recheck`.
//!
//! On a demo organisation of 10,000 people (`STEWARD_BENCH_PEOPLE` for another size), on SQLite
//! and, when `STEWARD_TEST_DATABASE_URL` names a server, PostgreSQL, the administrator marks an
//! unencrypted laptop encrypted through its record's page, as a person would, five times over
//! five laptops. Each time it prints how long the page took to answer (the step, which never waits
//! for the checks) and how long until the laptop's finding no longer fails (the check run queued
//! by the step, done by the server's job worker: the first a server runs evaluates every check,
//! the next only those that read what changed). Then five people with an active account are
//! marked as having left, on their record's page, and it prints how long until the finding that
//! their account is still active opens.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::{builtin_packs, ms, number_from_env, percentile, seed, signed_in};
use steward_model::Register;
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

/// People with an active account marked as having left on their record's page: how long until
/// the finding that their account is still active opens. A change to people reaches checks of
/// accounts, devices and people alike, each evaluated over the leaver's own records (their
/// accounts, their devices, themselves and their reports).
fn leavers(steward: &Steward, client: &mut support::Client) {
    let control = "leaver-accounts-disabled";
    let active =
        |row: &steward_model::Row| row.get("status").and_then(|v| v.as_text()) == Some("active");
    let chosen: Vec<(String, String)> = steward
        .store()
        .list(Register::People)
        .unwrap_or_else(|e| panic!("people: {e}"))
        .into_iter()
        .filter(|person| active(person))
        .filter_map(|person| {
            let accounts = steward
                .store()
                .list_where(Register::Accounts, "person_id", person.id())
                .ok()?;
            let account = accounts.into_iter().find(|a| active(a))?;
            Some((person.id().to_owned(), account.id().to_owned()))
        })
        .take(SAMPLES)
        .collect();
    assert!(!chosen.is_empty(), "nobody active has an active account");
    let yesterday = (Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let mut times = Times::default();
    println!("\n| person | account | the step answered | {control} opened after |");
    println!("| --- | --- | --- | --- |");
    for (person, account) in &chosen {
        let (answered, opened) = timed_step(
            steward,
            client,
            &format!("/register/person/{person}"),
            &[("status", "leaver"), ("leave_date", yesterday.as_str())],
            &FindingQuery {
                subject_type: Some("account".into()),
                subject_id: Some(account.clone()),
                control: Some(control.into()),
                ..FindingQuery::default()
            },
            true,
        );
        println!(
            "| {person} | {account} | {} ms | {:.2} s |",
            ms(answered),
            opened.as_secs_f64()
        );
        times.add(answered, opened);
    }
    times.print("the finding opened");
}

/// A field set on a record's `page`, as a person sets it, timed: how long the page took to
/// answer, and how long until a finding `query` names is failing (`failing`) or is not.
fn timed_step(
    steward: &Steward,
    client: &mut support::Client,
    page: &str,
    fields: &[(&str, &str)],
    query: &FindingQuery,
    failing: bool,
) -> (Duration, Duration) {
    let csrf = client.get(page).csrf();
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let began = Instant::now();
    let reply = client.post(&format!("{page}/set"), &form);
    let answered = began.elapsed();
    assert_eq!(reply.status, 303, "{page}: {}", reply.body);
    loop {
        let found = steward
            .count_findings(query)
            .unwrap_or_else(|e| panic!("findings: {e}"));
        if (found > 0) == failing {
            return (answered, began.elapsed());
        }
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "{page}: {query:?} still {} after two minutes",
            if failing { "not failing" } else { "failing" }
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The steps' answers and how long their findings took, for the medians.
#[derive(Default)]
struct Times {
    answers: Vec<Duration>,
    findings: Vec<Duration>,
}

impl Times {
    fn add(&mut self, answered: Duration, finding: Duration) {
        self.answers.push(answered);
        self.findings.push(finding);
    }

    /// The medians: "the step answered in …; `what` after …".
    fn print(mut self, what: &str) {
        self.answers.sort();
        self.findings.sort();
        println!(
            "\nMedian: the step answered in {} ms; {what} after {:.2} s.",
            ms(percentile(&self.answers, 50)),
            percentile(&self.findings, 50).as_secs_f64()
        );
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
        .filter(|f| f.finding.evidence.get("asset.encrypted") == Some("false"))
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
    let mut times = Times::default();
    println!("| laptop | control | the step answered | the finding cleared after |");
    println!("| --- | --- | --- | --- |");
    for (tag, control) in &unencrypted {
        let (answered, cleared) = timed_step(
            &steward,
            &mut client,
            &format!("/register/asset/{tag}"),
            &[("encrypted", "true")],
            &FindingQuery {
                subject_type: Some("asset".into()),
                subject_id: Some(tag.clone()),
                control: Some(control.clone()),
                ..FindingQuery::default()
            },
            false,
        );
        println!(
            "| {tag} | {control} | {} ms | {:.2} s |",
            ms(answered),
            cleared.as_secs_f64()
        );
        times.add(answered, cleared);
    }
    times.print("its finding cleared");
    leavers(&steward, &mut client);
    server
        .stop()
        .unwrap_or_else(|e| panic!("the server failed: {e}"));
}
