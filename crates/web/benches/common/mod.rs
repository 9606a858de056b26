//! What the page benchmarks share: seeding a demo organisation as `steward serve --demo` does,
//! the sign-ins they use, and how figures are printed.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use steward_model::{Person, PersonStatus, RoleGrant};
use steward_policy::{Overrides, Pack};
use steward_service::{Capacity, Stamp, Steward, Viewer};

use crate::support;

/// The allocator the `steward` binary runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sets the allocator's options as the `steward` binary's `main` does: freed pages go back to
/// the system after 3 ms (mimalloc's `mi_option_purge_delay`, 15 in its `mi_option_e`).
pub fn allocate_as_the_binary_does() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets one of mimalloc's documented integer options; no precondition.
    unsafe { libmimalloc_sys::mi_option_set(15, 3) };
}

/// The packs `steward serve --demo` runs when no configuration names others.
pub const PACKS: [&str; 2] = ["cafcass-it-5.0", "cafcass-ia-4.3"];
/// A whole number from the environment variable `name`, or `default` when it is unset or empty.
pub fn number_from_env(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?}: not a whole number")),
        _ => default,
    }
}

/// The packs a demo server runs, loaded.
pub fn builtin_packs() -> Vec<Pack> {
    PACKS
        .iter()
        .map(|id| match steward_policy::builtin_pack(id) {
            Some(Ok(pack)) => pack,
            Some(Err(errors)) => panic!("the built-in pack {id} does not load: {errors:?}"),
            None => panic!("no built-in pack {id}"),
        })
        .collect()
}

pub const PASSWORD: &str = "benchmark pages quickly please";
pub const ADMIN: &str = "administrator@bench.example.org";
pub const MANAGER: &str = "line-manager@bench.example.org";

/// One account the benchmark signs in as.
pub struct Login {
    pub who: &'static str,
    pub email: &'static str,
    pub secret: String,
    pub viewer: Viewer,
}

/// Password, then the authenticator's code, as a person in a browser.
pub fn signed_in(client: &mut support::Client, login: &Login) {
    let reply = client.sign_in(login.email, PASSWORD, &login.secret);
    assert_eq!(
        (reply.status, reply.location()),
        (303, "/"),
        "code for the {}: {}",
        login.who,
        reply.body
    );
}

/// The machine's load average, to tell a quiet run from a contended one (Linux only).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The nearest-rank percentile of sorted durations.
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else {
        format!("{ms:.1}")
    }
}

pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

// --- seeding ------------------------------------------------------------------------------------

/// Fills the database as `steward serve --demo` does, and adds the two sign-ins.
pub fn seed(steward: &Steward, people: usize, packs: &[Pack]) -> (Login, Login) {
    let all = Instant::now();

    let started = Instant::now();
    let files = support::demo::demo_files(people);
    let generated = started.elapsed();

    let started = Instant::now();
    let stamp = Stamp::now("demo");
    let report = steward
        .import(&stamp, files)
        .unwrap_or_else(|e| panic!("import: {e}"));
    let rows: usize = report.files.iter().map(|(_, n)| *n).sum();
    let imported = started.elapsed();

    // The checks, as `steward check` runs them against the database.
    let started = Instant::now();
    let refs: Vec<&Pack> = packs.iter().collect();
    let now = Utc::now();
    let findings = steward
        .run_checks(&refs, &Overrides::default(), now)
        .unwrap_or_else(|e| panic!("the checks: {e}"));
    let found = findings.len();
    let checked = started.elapsed();

    let started = Instant::now();
    let ids: Vec<String> = packs.iter().map(|p| p.id.clone()).collect();
    steward
        .record_findings(
            &Stamp::at("demo", now),
            &ids,
            findings,
            &steward_service::ladders(&refs),
        )
        .unwrap_or_else(|e| panic!("record findings: {e}"));
    let recorded = started.elapsed();

    // The line manager: an active person with no role who manages the most active people, as in
    // `fill_demo` (which takes the first such person) but the busiest, for the team page.
    let started = Instant::now();
    let everyone: Vec<Person> = steward.list().unwrap_or_else(|e| panic!("people: {e}"));
    let roles: Vec<RoleGrant> = steward.list().unwrap_or_else(|e| panic!("roles: {e}"));
    let mut reports: BTreeMap<&str, usize> = BTreeMap::new();
    for p in everyone.iter().filter(|p| p.status != PersonStatus::Leaver) {
        if let Some(m) = p.manager_id.as_deref() {
            *reports.entry(m).or_default() += 1;
        }
    }
    let manager = everyone
        .iter()
        .filter(|p| p.status == PersonStatus::Active)
        .filter(|p| !roles.iter().any(|g| g.person_id == p.id))
        .filter_map(|p| reports.get(p.id.as_str()).map(|n| (p, *n)))
        .max_by_key(|(p, n)| (*n, std::cmp::Reverse(p.id.clone())))
        .unwrap_or_else(|| panic!("no active person without a role manages anyone"));
    let admin = login(
        steward,
        &stamp,
        "administrator",
        ADMIN,
        None,
        &[Capacity::Administrator],
    );
    let line_manager = login(
        steward,
        &stamp,
        "line manager",
        MANAGER,
        Some(manager.0),
        &[],
    );
    assert!(
        line_manager.viewer.is(Capacity::LineManager),
        "{} should be a line manager",
        manager.0.id
    );
    let signed = started.elapsed();

    println!("Seed: {} ({} people)\n", seconds(all.elapsed()), people);
    println!("| seed step | time |");
    println!("| --- | --- |");
    println!(
        "| generate the demo organisation and write it as CSV | {} |",
        seconds(generated)
    );
    println!(
        "| import {} rows (every one audited) | {} |",
        thousands(rows),
        seconds(imported)
    );
    println!(
        "| check {} (read the registers, compile, evaluate): {} findings | {} |",
        PACKS.join(" and "),
        thousands(found),
        seconds(checked)
    );
    println!("| record the findings | {} |", seconds(recorded));
    println!(
        "| two sign-ins (Argon2id) with authenticators | {} |",
        seconds(signed)
    );
    println!(
        "\nThe line manager is {} with {} reports.",
        manager.0.id, manager.1
    );
    (admin, line_manager)
}

pub fn login(
    steward: &Steward,
    stamp: &Stamp,
    who: &'static str,
    email: &'static str,
    person: Option<&Person>,
    capacities: &[Capacity],
) -> Login {
    let name = person.map_or_else(|| format!("Bench {who}"), |p| p.name.clone());
    steward
        .add_sign_in(
            stamp,
            email,
            &name,
            person.map(|p| p.id.as_str()),
            PASSWORD,
            capacities,
        )
        .unwrap_or_else(|e| panic!("add {email}: {e}"));
    let secret = steward
        .enrol_authenticator(stamp, email)
        .unwrap_or_else(|e| panic!("enrol {email}: {e}"));
    let viewer = steward
        .viewer(email)
        .unwrap_or_else(|e| panic!("viewer {email}: {e}"));
    Login {
        who,
        email,
        secret,
        viewer,
    }
}
