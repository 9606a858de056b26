//! A big upload while people use the server: `cargo bench -p steward-web --bench upload`.
//!
//! On a fresh SQLite database (and PostgreSQL too when `STEWARD_TEST_DATABASE_URL` names a
//! server) seeded with a 500-person demo organisation, the administrator uploads on `/import` a
//! `people.csv` of `STEWARD_BENCH_UPLOAD_PEOPLE` people (default 290,000: about 31 MB, under the upload limit of 32 MiB) from a demo
//! organisation of that size. Meanwhile one client asks for `/healthz` every 20 ms and another for
//! `/dashboard` every 200 ms. It prints how long the upload took to answer, how long the import and
//! the check run after it took as jobs, the latencies the two clients saw throughout, how many
//! findings are open at the end, and the process's peak resident memory from the upload on (the
//! peak is reset once the file is made, so generating it is not counted). With `RUST_LOG` set
//! (`RUST_LOG=steward_web=info,steward_store=warn`) the server's log goes to standard error,
//! each request with its duration, to find where a slow answer spent its time.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{Login, builtin_packs, ms, number_from_env, percentile, seed, signed_in, thousands};
use steward_model::Register;
use steward_policy::Pack;
use steward_service::{FindingQuery, Steward};
use steward_store::testing::{TestDatabase, databases};
use support::Server;

fn main() {
    common::allocate_as_the_binary_does();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let people = number_from_env("STEWARD_BENCH_UPLOAD_PEOPLE", 290_000);
    let packs = builtin_packs();
    println!(
        "Steward, a big upload: people.csv of {} people, {} cores, {}",
        thousands(people),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        Utc::now().format("%Y-%m-%d"),
    );
    let file = people_csv(people);
    println!("The file: {} bytes", thousands(file.len()));
    for db in databases("bench_upload") {
        run(&db, &packs, &file);
    }
}

/// The people register of a demo organisation of `people`, as CSV.
fn people_csv(people: usize) -> Vec<u8> {
    let estate = steward_demo::generate(&steward_demo::DemoOptions {
        people,
        seed: 7,
        today: Utc::now().date_naive(),
        usage_months: 0,
    });
    let mut bytes = Vec::new();
    steward_interchange::write(Register::People, &estate.rows(Register::People), &mut bytes)
        .unwrap_or_else(|e| panic!("write people.csv: {e}"));
    bytes
}

/// The process's peak resident set (VmHWM), in MiB.
fn peak_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Starts counting the peak resident set afresh (Linux: `5` to `clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Latencies one polling client saw.
#[derive(Default)]
struct Seen {
    times: Vec<Duration>,
    failures: usize,
}

fn poll(
    server: &Server,
    cookies: Option<&std::collections::BTreeMap<String, String>>,
    path: &str,
    every: Duration,
    stop: &AtomicBool,
) -> Seen {
    let mut client = server.client();
    if let Some(c) = cookies {
        client.cookies = c.clone();
    }
    let mut seen = Seen::default();
    while !stop.load(Ordering::Relaxed) {
        let began = Instant::now();
        let reply = client.get(path);
        let took = began.elapsed();
        if reply.status == 200 {
            seen.times.push(took);
        } else {
            seen.failures += 1;
        }
        std::thread::sleep(every.saturating_sub(took));
    }
    seen.times.sort();
    seen
}

fn run(db: &TestDatabase, packs: &[Pack], file: &[u8]) {
    println!("\n## {}\n", db.backend);
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("open {}: {e}", db.backend));
    let (admin, _manager): (Login, Login) = seed(&steward, 500, packs);
    let server = Server::start(
        &db.url,
        steward_web::Options {
            packs: packs.to_vec(),
            ..Default::default()
        },
    );
    let mut as_admin = server.client();
    signed_in(&mut as_admin, &admin);
    let cookies = as_admin.cookies.clone();
    let form = as_admin.get("/import");
    let csrf = form.csrf();

    reset_peak();
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let (health, dashboard, answered, jobs_done) = std::thread::scope(|scope| {
        let health =
            scope.spawn(|| poll(&server, None, "/healthz", Duration::from_millis(20), &stop));
        let dashboard = scope.spawn(|| {
            poll(
                &server,
                Some(&cookies),
                "/dashboard",
                Duration::from_millis(200),
                &stop,
            )
        });
        std::thread::sleep(Duration::from_millis(500));
        let began = Instant::now();
        let reply = as_admin.post_multipart(
            "/import",
            &[("csrf", csrf.as_str()), ("register", "people")],
            &[("file", "people.csv", file)],
        );
        let answered = began.elapsed();
        assert_eq!(
            reply.status,
            303,
            "the upload: {}",
            reply.body.chars().take(400).collect::<String>()
        );
        // Until no job waits or runs: the import, then the check run it queues.
        let mut seen_work = false;
        let deadline = Instant::now() + Duration::from_secs(3600);
        let done = loop {
            let detail = as_admin.get("/healthz/detail");
            let waiting = serde_json::from_str::<serde_json::Value>(&detail.body)
                .ok()
                .and_then(|v| v.get("jobs_waiting").and_then(serde_json::Value::as_u64))
                .unwrap_or(1);
            seen_work |= waiting > 0;
            if (seen_work && waiting == 0) || Instant::now() > deadline {
                break began.elapsed();
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        stop.store(true, Ordering::Relaxed);
        (
            health.join().unwrap_or_default(),
            dashboard.join().unwrap_or_default(),
            answered,
            done,
        )
    });
    let peak = peak_mib();
    let open = steward
        .count_findings(&FindingQuery::default())
        .unwrap_or_else(|e| panic!("count findings: {e}"));
    println!("| measure | value |");
    println!("| --- | --- |");
    println!(
        "| the upload answered (303 to its job's page) | {} ms |",
        ms(answered)
    );
    println!(
        "| the import and the check run after it, both done | {:.1} s |",
        jobs_done.as_secs_f64()
    );
    println!(
        "| findings open at the end | {} |",
        thousands(open as usize)
    );
    println!(
        "| peak resident memory from the upload on | {} MiB |",
        thousands(peak as usize)
    );
    for (what, seen) in [("/healthz", &health), ("/dashboard", &dashboard)] {
        println!(
            "| `{what}` meanwhile: {} answers, p50 / p99 / max | {} / {} / {} ms; {} failed |",
            seen.times.len(),
            ms(percentile(&seen.times, 50)),
            ms(percentile(&seen.times, 99)),
            ms(seen.times.last().copied().unwrap_or_default()),
            seen.failures,
        );
    }
    println!("| wall time | {:.1} s |", started.elapsed().as_secs_f64());
    server
        .stop()
        .unwrap_or_else(|e| panic!("the server failed: {e}"));
}
