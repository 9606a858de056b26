//! `steward serve`: the web server, and `serve --demo`, which fills a temporary data directory
//! with a demo organisation, checks it, and prints a sign-in for each role.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::Utc;
use steward_model::{Person, PersonStatus, Role, RoleGrant};
use steward_service::{Capacity, ImportFile, Stamp, Steward};

use crate::config::Settings;
use crate::{check, open, policy, shutdown_signal};

/// The demo's shared password (the second factor is what the demo shows off).
pub const DEMO_PASSWORD: &str = "demo steward organisation";

pub fn run(
    settings: &Settings,
    listen: SocketAddr,
    demo: bool,
    demo_people: usize,
) -> Result<ExitCode> {
    let mut settings = settings.clone();
    // Held until the server stops: the demo's data directory goes with it.
    let mut _demo_dir = None;
    if demo {
        let dir = std::env::temp_dir().join(format!(
            "steward-demo-{}-{}",
            std::process::id(),
            Utc::now().timestamp_micros()
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        settings.database_url = format!("sqlite://{}", dir.join("steward.db").display());
        _demo_dir = Some(DemoDir(dir));
        let steward = open(&settings)?;
        fill_demo(&settings, &steward, demo_people)?;
    }
    let steward = open(&settings)?;
    if let Some(mail) = &settings.mail {
        crate::mail::spawn_sender(&settings, mail)?;
    }
    tracing::info!(database = %steward_store::redact(&settings.database_url), "database ready");
    let available = policy::available_packs(&settings)?;
    // Packs the configuration names are run as given; otherwise the organisation chooses among
    // the available ones on the Policies page, and the server follows the database.
    let packs: Vec<steward_policy::Pack> = match &settings.configured_packs {
        Some(ids) => check::select(&available, &[], ids)?
            .into_iter()
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let first_run = steward.needs_first_administrator()?;
    let options = steward_web::Options {
        secure_cookies: settings.secure_cookies,
        demo,
        terms: crate::process::process_terms(&settings)?,
        overrides: policy::overrides(&settings)?,
        available: available.clone(),
        packs,
        limits: limits_from_env()?,
        jobs: jobs_from_env(&settings, demo)?,
        // The web's own default.
        api_requests_per_minute: 0,
        sso: settings.sso.clients()?,
    };
    warn_of_break_glass(&steward, &settings.sso.policy);
    let steward = steward.with_sign_in_policy(settings.sso.policy.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        if demo {
            println!("Steward demo: http://{address}/login");
        } else if first_run {
            println!("Steward: open http://{address}/setup to create the first administrator");
        } else {
            println!("Steward: http://{address}/");
        }
        steward_web::serve(steward, options, listener, shutdown_signal())
            .await
            .context("server failed")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A break-glass account that is not there, or not an administrator's, keeps no way in when
/// the provider cannot be reached: said at start, where whoever set it up will see it.
fn warn_of_break_glass(steward: &steward_service::Steward, policy: &steward_service::SignInPolicy) {
    if policy.local_passwords == steward_service::LocalPasswords::Everyone {
        return;
    }
    for email in &policy.break_glass {
        match steward.viewer(email) {
            Ok(v) if v.is(steward_service::Capacity::Administrator) => {}
            Ok(_) => {
                tracing::warn!(account = %email, "break-glass account is not an administrator")
            }
            Err(_) => tracing::warn!(account = %email, "break-glass account does not exist"),
        }
    }
}

/// The server's limits: the defaults, each overridden by its environment variable (whole
/// seconds, or a count, above zero).
fn limits_from_env() -> Result<steward_web::Limits> {
    let mut limits = steward_web::Limits::default();
    let read = |name: &str| -> Result<Option<u64>> {
        match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(text) => match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => anyhow::bail!("{name}={text:?}: expected a whole number above zero"),
            },
        }
    };
    if let Some(secs) = read("STEWARD_HEADER_TIMEOUT")? {
        limits.header_read_timeout = std::time::Duration::from_secs(secs);
    }
    if let Some(secs) = read("STEWARD_BODY_TIMEOUT")? {
        limits.body_read_timeout = std::time::Duration::from_secs(secs);
    }
    if let Some(n) = read("STEWARD_MAX_CONNECTIONS")? {
        limits.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
    }
    Ok(limits)
}

/// How the server runs jobs: `check_interval` and the scheduled backups from the settings; how many worker threads
/// (`STEWARD_JOB_WORKERS`, default 1, 0 for none) and how long a claim lasts unrenewed
/// (`STEWARD_JOB_LEASE`, a duration such as `60s`, default one minute: how soon another server
/// takes over the jobs of one that died) from the environment.
fn jobs_from_env(settings: &Settings, demo: bool) -> Result<steward_service::WorkerSettings> {
    let mut jobs = steward_service::WorkerSettings {
        check_interval: Some(settings.check_interval),
        // A demo's database is thrown away with it: no backups.
        backups: settings
            .backups
            .as_ref()
            .filter(|_| !demo)
            .map(|b| crate::backup::schedule(&settings.database_url, b)),
        ..Default::default()
    };
    if let Some(text) = std::env::var("STEWARD_JOB_WORKERS")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        jobs.workers = text
            .trim()
            .parse()
            .with_context(|| format!("STEWARD_JOB_WORKERS={text:?}: expected a whole number"))?;
    }
    if let Some(text) = std::env::var("STEWARD_JOB_LEASE")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        let lease = crate::config::parse_duration(text.trim())
            .with_context(|| format!("STEWARD_JOB_LEASE={text:?}"))?;
        anyhow::ensure!(
            lease >= std::time::Duration::from_secs(1),
            "STEWARD_JOB_LEASE={text:?}: expected at least \"1s\""
        );
        jobs.lease = lease;
    }
    // Webhooks may reach this machine and private networks only when the operator says so.
    if let Some(text) = std::env::var("STEWARD_WEBHOOKS_ALLOW_PRIVATE")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        jobs.webhooks_allow_private = match text.trim() {
            "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            other => {
                anyhow::bail!("STEWARD_WEBHOOKS_ALLOW_PRIVATE={other:?}: expected true or false")
            }
        };
    }
    Ok(jobs)
}

/// Removes the demo's data directory when the server stops.
struct DemoDir(std::path::PathBuf);

impl Drop for DemoDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How far back the demo's history reaches, and the runs it is recorded in: so that its trend,
/// ages and first-failing dates mean something on the first day.
const HISTORY_DAYS: [i64; 8] = [90, 75, 60, 45, 30, 14, 7, 0];

/// Records the demo's findings as if the checks had run over the last 90 days: each finding
/// joins at one of the runs (chosen from its key, so the same demo gives the same history), and
/// stays, so the count grows run by run to today's.
fn record_with_history(
    steward: &Steward,
    ids: &[String],
    checked: &steward_service::Checked,
    findings: Vec<steward_model::Finding>,
    at: chrono::DateTime<Utc>,
    ladders: &steward_service::Ladders,
) -> Result<()> {
    use std::hash::{Hash, Hasher};
    let joins = |f: &steward_model::Finding| {
        // A stable spread (not the process's random hasher): the same key, the same run.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        f.key().hash(&mut h);
        usize::try_from(h.finish() % HISTORY_DAYS.len() as u64).unwrap_or(0)
    };
    for (run, days) in HISTORY_DAYS.iter().enumerate() {
        let so_far: Vec<steward_model::Finding> = findings
            .iter()
            .filter(|f| joins(f) <= run)
            .cloned()
            .collect();
        let stamp = Stamp::at("system:demo", at - chrono::TimeDelta::days(*days));
        steward.record_compliance(&stamp, checked, &so_far)?;
        steward.record_findings(&stamp, ids, so_far, ladders)?;
    }
    Ok(())
}

/// Generates, imports and checks a demo organisation, then creates one sign-in per role with a
/// known authenticator secret, and prints them.
fn fill_demo(settings: &Settings, steward: &Steward, people: usize) -> Result<()> {
    let today = Utc::now().date_naive();
    let estate = steward_demo::generate(&steward_demo::DemoOptions {
        people,
        seed: 1,
        today,
        usage_months: 3,
    });
    let files = ImportFile::of_estate(&estate)?;
    let stamp = Stamp::now("system:demo");
    steward.import(&stamp, files)?;
    let available = policy::available_packs(settings)?;
    // The demo organisation runs its own policies, chosen as an organisation would choose them
    // (unless the configuration names others).
    if settings.configured_packs.is_none() {
        for id in crate::config::DEMO_PACKS {
            steward.set_pack_active(&stamp, id, true, &available)?;
        }
        settings.read_chosen_packs(steward)?;
    }
    let packs = check::select(&available, &[], &settings.active_packs())?;
    let overrides = policy::overrides(settings)?;
    let (findings, checked, at) = check::findings(&packs, &overrides, Some(steward), None, None)?;
    let ids: Vec<String> = packs.iter().map(|p| p.id.clone()).collect();
    let ladders = steward_service::ladders(&packs);
    record_with_history(steward, &ids, &checked, findings, at, &ladders)?;

    let people: Vec<Person> = steward.list()?;
    let roles: Vec<RoleGrant> = steward.list()?;
    let active = |p: &&Person| p.status == PersonStatus::Active;
    let holder = |role: Role| {
        roles
            .iter()
            .find(|g| g.role == role)
            .and_then(|g| people.iter().filter(active).find(|p| p.id == g.person_id))
    };
    let has_role = |id: &str| roles.iter().any(|g| g.person_id == id);
    let manages = |id: &str| people.iter().any(|p| p.manager_id.as_deref() == Some(id));
    let manager = people
        .iter()
        .filter(active)
        .find(|p| manages(&p.id) && !has_role(&p.id));
    let staff = people
        .iter()
        .filter(active)
        .find(|p| !manages(&p.id) && !has_role(&p.id) && p.manager_id.is_some());
    let mut chosen: Vec<(&str, Option<&Person>, Vec<Capacity>)> = vec![
        ("staff", staff, vec![]),
        ("line_manager", manager, vec![]),
        ("it", holder(Role::It), vec![]),
        ("governance", holder(Role::Governance), vec![]),
        ("iao", holder(Role::InformationAssetOwner), vec![]),
    ];
    // The auditor and administrator sign in without being staff: their capacities are held on
    // the account.
    chosen.push(("auditor", None, vec![Capacity::Auditor]));
    chosen.push(("administrator", None, vec![Capacity::Administrator]));

    println!("Demo sign-ins (password for all: {DEMO_PASSWORD:?}):");
    println!(
        "{:<14} {:<34} {:<10} TOTP secret",
        "role", "email", "person"
    );
    for (role, person, capacities) in chosen {
        if person.is_none() && capacities.is_empty() {
            println!("{role:<14} (no one in the demo holds this role)");
            continue;
        }
        let email = format!("{}@demo.example.org", role.replace('_', "-"));
        let name = person.map_or_else(|| format!("Demo {role}"), |p| p.name.clone());
        steward.add_sign_in(
            &stamp,
            &email,
            &name,
            person.map(|p| p.id.as_str()),
            DEMO_PASSWORD,
            &capacities,
        )?;
        let secret = steward.enrol_authenticator(&stamp, &email)?;
        // A role given without a person is held by a person made for the account.
        let holder = steward
            .viewer(&email)?
            .person_id
            .unwrap_or_else(|| "-".into());
        println!("{role:<14} {email:<34} {holder:<10} {secret}");
    }
    Ok(())
}
