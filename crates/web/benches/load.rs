//! Many people at once: `cargo bench -p steward-web --bench load`.
//!
//! Seeds a demo organisation of 10,000 people (`STEWARD_BENCH_PEOPLE` for another size) on a
//! fresh SQLite database and, when `STEWARD_TEST_DATABASE_URL` names a server, a fresh PostgreSQL
//! database, starts the real server on each, and has 1, 8, 32 and 64 clients at once request
//! `/dashboard` and `/findings` as the administrator and `/me` and `/team` as a line manager, in
//! turn, for `STEWARD_BENCH_SECONDS` (default 5) per level — first alone, then with one writer
//! committing a change through the service every half second. Each request opens its own connection, as the
//! pages benchmark does. Prints, per backend, level and page, requests per second and the 50th,
//! 95th and 99th percentiles, then PostgreSQL's throughput as a share of SQLite's.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{
    Login, builtin_packs, load_average, ms, number_from_env, percentile, seed, signed_in,
};
use steward_model::{Asset, Register};
use steward_policy::Pack;
use steward_service::{Stamp, Steward};
use steward_store::testing::{TestDatabase, databases};
use support::Server;

const LEVELS: [usize; 4] = [1, 8, 32, 64];
/// Pages, and whether the administrator (else the line manager) asks for them.
const PAGES: [(&str, bool); 4] = [
    ("/dashboard", true),
    ("/findings", true),
    ("/me", false),
    ("/team", false),
];

/// Throughput and latencies of one page at one level.
#[derive(Default)]
struct Tally {
    times: Vec<Duration>,
    errors: usize,
}

fn main() {
    common::allocate_as_the_binary_does();
    let people = number_from_env("STEWARD_BENCH_PEOPLE", 10_000);
    let seconds = Duration::from_secs(number_from_env("STEWARD_BENCH_SECONDS", 5) as u64);
    let packs = builtin_packs();
    println!(
        "Steward under load: {people} people, {} cores, {}; {} s per level; one connection per \
         request",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        Utc::now().format("%Y-%m-%d"),
        seconds.as_secs(),
    );
    // (backend, writer, level) → requests per second over all pages.
    let mut throughput: BTreeMap<(String, bool, usize), f64> = BTreeMap::new();
    for db in databases("bench_load") {
        run(&db, people, &packs, seconds, &mut throughput);
    }
    println!("\n## PostgreSQL's throughput as a share of SQLite's\n");
    println!("| clients | alone | with a writer |");
    println!("| --- | --- | --- |");
    for level in LEVELS {
        let share = |writer: bool| match (
            throughput.get(&("sqlite".into(), writer, level)),
            throughput.get(&("postgres".into(), writer, level)),
        ) {
            (Some(s), Some(p)) if *s > 0.0 => format!("{:.0} %", 100.0 * p / s),
            _ => "—".into(),
        };
        println!("| {level} | {} | {} |", share(false), share(true));
    }
}

fn run(
    db: &TestDatabase,
    people: usize,
    packs: &[Pack],
    seconds: Duration,
    throughput: &mut BTreeMap<(String, bool, usize), f64>,
) {
    println!("\n## {}\n", db.backend);
    let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("open {}: {e}", db.backend));
    let (admin, manager) = seed(&steward, people, packs);
    let tags: Vec<String> = steward
        .list::<Asset>()
        .unwrap_or_else(|e| panic!("assets: {e}"))
        .into_iter()
        .take(500)
        .map(|a| a.tag)
        .collect();
    let server = Server::start(
        &db.url,
        steward_web::Options {
            packs: packs.to_vec(),
            ..Default::default()
        },
    );
    let cookies = |login: &Login| {
        let mut client = server.client();
        signed_in(&mut client, login);
        client.cookies
    };
    let (admin_cookies, manager_cookies) = (cookies(&admin), cookies(&manager));
    println!(
        "\n| clients | writer | page | requests | per second | p50 ms | p95 ms | p99 ms | errors |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let load_before = load_average();
    for writer in [false, true] {
        for level in LEVELS {
            let stop = AtomicBool::new(false);
            let commits = AtomicUsize::new(0);
            let started = Instant::now();
            let tallies: Vec<BTreeMap<&str, Tally>> = std::thread::scope(|scope| {
                if writer {
                    scope.spawn(|| {
                        // One change every half second, through the service as a form would
                        // make it: audited, and followed by nothing else.
                        let mut i = 0;
                        while !stop.load(Ordering::Relaxed) {
                            let tag = &tags[i % tags.len().max(1)];
                            let stamp = Stamp::now("bench:writer");
                            let change = vec![("model".to_owned(), format!("Model {i}"))];
                            if steward
                                .set_fields(&stamp, Register::Assets, tag, &change)
                                .is_ok()
                            {
                                commits.fetch_add(1, Ordering::Relaxed);
                            }
                            i += 1;
                            std::thread::sleep(Duration::from_millis(500));
                        }
                    });
                }
                let clients: Vec<_> = (0..level)
                    .map(|n| {
                        let (stop, server) = (&stop, &server);
                        let (admin_cookies, manager_cookies) = (&admin_cookies, &manager_cookies);
                        scope.spawn(move || {
                            let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
                            let mut as_admin = server.client();
                            as_admin.cookies = admin_cookies.clone();
                            let mut as_manager = server.client();
                            as_manager.cookies = manager_cookies.clone();
                            let mut i = n;
                            while !stop.load(Ordering::Relaxed) {
                                let (page, by_admin) = PAGES[i % PAGES.len()];
                                let client = if by_admin {
                                    &mut as_admin
                                } else {
                                    &mut as_manager
                                };
                                let began = Instant::now();
                                let reply = client.get(page);
                                let took = began.elapsed();
                                let tally = tallies.entry(page).or_default();
                                if reply.status == 200 {
                                    tally.times.push(took);
                                } else {
                                    tally.errors += 1;
                                }
                                i += 1;
                            }
                            tallies
                        })
                    })
                    .collect();
                std::thread::sleep(seconds);
                stop.store(true, Ordering::Relaxed);
                clients
                    .into_iter()
                    .map(|c| c.join().unwrap_or_default())
                    .collect()
            });
            let elapsed = started.elapsed().as_secs_f64();
            let mut all = 0usize;
            for (page, _) in PAGES {
                let mut times: Vec<Duration> = Vec::new();
                let mut errors = 0;
                for t in &tallies {
                    if let Some(t) = t.get(page) {
                        times.extend(&t.times);
                        errors += t.errors;
                    }
                }
                times.sort();
                all += times.len();
                println!(
                    "| {level} | {} | `{page}` | {} | {:.1} | {} | {} | {} | {errors} |",
                    if writer {
                        format!("{} commits", commits.load(Ordering::Relaxed))
                    } else {
                        "none".into()
                    },
                    times.len(),
                    times.len() as f64 / elapsed,
                    ms(percentile(&times, 50)),
                    ms(percentile(&times, 95)),
                    ms(percentile(&times, 99)),
                );
            }
            throughput.insert(
                (db.backend.to_string(), writer, level),
                all as f64 / elapsed,
            );
        }
    }
    println!(
        "\nLoad average (1, 5, 15 min) before: {load_before}; after: {}",
        load_average()
    );
    server
        .stop()
        .unwrap_or_else(|e| panic!("the server failed: {e}"));
}
