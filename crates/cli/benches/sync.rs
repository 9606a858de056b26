//! A connector syncing a fake Microsoft 365 tenant (the Graph stand-in on loopback, speaking
//! Graph's documented API) into SQLite and PostgreSQL side by side: a full sync from empty, then
//! an incremental one after 1 % of the tenant changed, run as the schedule runs it (users by
//! Graph's delta query), then, after another 1 %, a sync as a person asks for it (every user
//! listed again), for comparison; each run is `steward connect sync` in its own process, timed
//! end to end, its peak resident memory read from /proc while it runs. After the first two,
//! `steward check` shows the checks reflect the new facts (accounts without MFA, laptops not seen
//! for 14 days, sign-ins from abroad without approved travel).
//!
//! `cargo bench -p steward-cli --bench sync`; STEWARD_BENCH_USERS and STEWARD_BENCH_DEVICES set
//! the tenant's size (default 20,000 and 30,000); PostgreSQL runs when
//! STEWARD_TEST_DATABASE_URL names a server.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use steward_store::testing::{TempDir, databases};
use steward_vendors::{Credentials, Faults, Server, Tenant};

const TENANT: &str = "contoso.onmicrosoft.com";

fn number_from_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs steward with `args`, timing it and sampling its peak resident set (VmHWM) until it
/// exits. Its standard output, the wall time and the peak in MiB.
fn steward(url: &str, data: &std::path::Path, args: &[&str]) -> (String, Duration, u64) {
    let (out, took, peak, _) = steward_logged(url, data, args);
    (out, took, peak)
}

/// [`steward`], with the sync's own account of its phases (its log lines about the connector).
fn steward_logged(
    url: &str,
    data: &std::path::Path,
    args: &[&str],
) -> (String, Duration, u64, Vec<String>) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .env("STEWARD_DATABASE_URL", url)
        .env("STEWARD_DATA_DIR", data)
        .env("STEWARD_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("steward {args:?}: {e}"));
    let status = format!("/proc/{}/status", child.id());
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        std::thread::spawn(move || {
            while let Ok(text) = std::fs::read_to_string(&status) {
                if let Some(kib) = text
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    peak.fetch_max(kib / 1024, std::sync::atomic::Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("steward {args:?}: {e}"));
    let took = started.elapsed();
    let _ = sampler.join();
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 3),
        "steward {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let phases = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| {
            l.contains("connector read and planned") || l.contains("connector sync applied")
        })
        .map(|l| {
            l.split_once("steward_service")
                .map_or(l, |(_, rest)| rest)
                .to_owned()
        })
        .collect();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        took,
        peak.load(std::sync::atomic::Ordering::Relaxed),
        phases,
    )
}

/// Findings of the checks that read the synced facts, by control.
fn findings(url: &str, data: &std::path::Path) -> BTreeMap<String, usize> {
    let (json, _, _) = steward(
        url,
        data,
        &["check", "--pack", "cafcass-it-5.0", "--format", "json"],
    );
    let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    let mut by_control = BTreeMap::new();
    let all = value
        .get("findings")
        .and_then(|f| f.as_array())
        .cloned()
        .or_else(|| value.as_array().cloned())
        .unwrap_or_default();
    for f in all {
        if let Some(control) = f.get("control").and_then(|c| c.as_str())
            && matches!(
                control,
                "mfa-where-supported"
                    | "laptop-connected-within-14-days"
                    | "account-used-abroad-has-approved-travel"
            )
        {
            *by_control.entry(control.to_owned()).or_insert(0) += 1;
        }
    }
    by_control
}

fn main() {
    let users = number_from_env("STEWARD_BENCH_USERS", 20_000);
    let devices = number_from_env("STEWARD_BENCH_DEVICES", 30_000);
    println!(
        "Steward, a Microsoft 365 tenant of {users} users and {devices} devices synced, {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        Utc::now().format("%Y-%m-%d"),
    );
    println!(
        "| backend | sync | records listed | created | updated | missing | new sightings | wall time | peak memory |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut checks = Vec::new();
    for db in databases("bench_sync") {
        let data = TempDir::new("bench_sync_data").expect("data dir");
        let tenant = Tenant::generate_at(users, devices, 1, Utc::now());
        let server = Server::microsoft_graph(
            tenant,
            Faults {
                page_size: 999,
                ..Faults::default()
            },
            Credentials::microsoft(TENANT, "app-id", "bench-secret"),
        )
        .expect("the Graph stand-in");
        let secret = data.path().join("secret");
        std::fs::write(&secret, "bench-secret").expect("secret");
        let base = server.base_url();
        let token_url = format!("{base}/{TENANT}/oauth2/v2.0/token");
        let sets = [
            format!("tenant={TENANT}"),
            "client_id=app-id".to_owned(),
            format!("base_url={base}"),
            format!("token_url={token_url}"),
        ];
        let mut add = vec!["connect", "add", "microsoft365", "m365"];
        for s in &sets {
            add.push("--set");
            add.push(s);
        }
        let secret_arg = secret.display().to_string();
        add.push("--secret-file");
        add.push(&secret_arg);
        steward(&db.url, data.path(), &add);

        let row = |label: &str, args: &[&str]| {
            let (json, took, peak, phases) = steward_logged(&db.url, data.path(), args);
            for line in phases {
                eprintln!("{} {label}:{line}", db.backend);
            }
            let plan: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
            let c = &plan["counts"];
            println!(
                "| {} | {label} | {} | {} | {} | {} | {} | {:.1} s | {peak} MiB |",
                db.backend,
                c["listed"],
                c["created"],
                c["updated"],
                c["missing"],
                c["sightings"],
                took.as_secs_f64(),
            );
        };
        row(
            "full, from empty",
            &["connect", "sync", "m365", "--apply", "--format", "json"],
        );
        let after_full = findings(&db.url, data.path());
        if let Ok(mut t) = server.tenant().lock() {
            t.change(0.01, 2);
        }
        row(
            "incremental, 1 % changed (scheduled: users by delta)",
            &["connect", "sync", "m365", "--scheduled", "--format", "json"],
        );
        let after_change = findings(&db.url, data.path());
        if let Ok(mut t) = server.tenant().lock() {
            t.change(0.01, 3);
        }
        row(
            "incremental, 1 % changed (asked for: users listed in full)",
            &["connect", "sync", "m365", "--format", "json"],
        );
        checks.push((db.backend, after_full, after_change));
        drop(db);
    }
    println!();
    println!("| backend | findings of | after the full sync | after the incremental sync |");
    println!("| --- | --- | ---: | ---: |");
    for (backend, full, incremental) in checks {
        for control in [
            "mfa-where-supported",
            "laptop-connected-within-14-days",
            "account-used-abroad-has-approved-travel",
        ] {
            println!(
                "| {backend} | {control} | {} | {} |",
                full.get(control).copied().unwrap_or(0),
                incremental.get(control).copied().unwrap_or(0)
            );
        }
    }
}
