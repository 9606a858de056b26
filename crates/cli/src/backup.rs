//! `steward backup FILE` and `steward restore FILE [--replace]`, and the backups `serve` takes on
//! a schedule (`backup_dir`, `backup_every`, `backup_keep`). The store does the copying and the
//! verifying; this is where files are named, old ones pruned, and the secret key checked.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use chrono::{DateTime, NaiveDateTime, Utc};
use steward_service::{BackupHook, BackupSchedule, SecretKey, SecretKeys, Steward};
use steward_store::{BackupError, BackupSummary};

use crate::config::{
    BackupSettings, SECRET_KEY_ENV, SecretKeySource, Settings, next_key_file, private_dir,
};

/// `steward backup FILE`.
pub fn backup(settings: &Settings, file: &Path) -> Result<ExitCode> {
    let summary = steward_store::backup(&settings.database_url, file).with_context(|| {
        format!(
            "no backup of {} was written",
            steward_store::redact(&settings.database_url)
        )
    })?;
    println!(
        "{}: {} bytes from {}, schema version {}, verified",
        summary.path.display(),
        summary.bytes,
        summary.source,
        summary.schema_version
    );
    println!(
        "audit head {}:{}",
        summary.audit_head.seq, summary.audit_head.hash
    );
    print_tables(&summary.tables);
    Ok(ExitCode::SUCCESS)
}

/// `steward restore FILE [--replace]`: the file into the configured database, then a check that
/// the configured secret key opens every MFA secret it holds.
pub fn restore(settings: &Settings, file: &Path, replace: bool) -> Result<ExitCode> {
    let summary =
        steward_store::restore(file, &settings.database_url, replace).map_err(|e| match e {
            e @ BackupError::RestoredUnverified(_) => anyhow!(e),
            e => anyhow!(e).context("nothing was restored"),
        })?;
    println!(
        "{} restored into {} ({}){}, schema version {}; the audit log verifies",
        file.display(),
        steward_store::redact(&settings.database_url),
        summary.target,
        if summary.replaced {
            ", replacing what it held"
        } else {
            ""
        },
        summary.schema_version
    );
    println!(
        "audit head {}:{}",
        summary.audit_head.seq, summary.audit_head.hash
    );
    print_tables(&summary.tables);
    check_secret_key(settings)?;
    Ok(ExitCode::SUCCESS)
}

fn print_tables(tables: &[(String, u64)]) {
    for (table, rows) in tables {
        println!("  {table:<24} {rows:>9}");
    }
}

/// Refuses, saying what to do, when the key this server would use does not open every sealed
/// MFA secret the database holds. Reads the key file without making one.
fn check_secret_key(settings: &Settings) -> Result<()> {
    let (keys, source) = match &settings.secret_key {
        SecretKeySource::Environment(keys) => (Some(keys.clone()), SECRET_KEY_ENV.to_owned()),
        SecretKeySource::File(_) => {
            let path = settings.secret_key_file();
            let keys = match SecretKey::load(&path)? {
                Some(current) => {
                    let mut keys = SecretKeys::new(current);
                    if let Some(next) = SecretKey::load(&next_key_file(&path))? {
                        keys = keys.with_older(next);
                    }
                    Some(keys)
                }
                None => None,
            };
            let source = match keys {
                Some(_) => format!("the key file {}", path.display()),
                None => format!("the key file {}, which does not exist", path.display()),
            };
            (keys, source)
        }
    };
    let steward = Steward::open_with(&settings.database_url, &settings.store)?;
    // Without a key, a key made for this check alone: no sealed secret opens under it.
    let steward = match keys {
        Some(keys) => steward.with_secret_keys(keys),
        None => steward,
    };
    let unopened = steward.unopenable_secrets()?;
    if unopened.is_empty() {
        return Ok(());
    }
    let whose: Vec<&str> = unopened.iter().map(|(who, _)| who.as_str()).collect();
    bail!(
        "the database was restored and its audit log verifies, but the backup's secrets (MFA \
         secrets, connector credentials, webhook secrets) were sealed with another secret key: \
         {} do not open under {source} ({}). Restore that key ({SECRET_KEY_ENV}, or the key file \
         {}) from where it was backed up before starting the server; without it each of those \
         accounts must have its authenticator reset (steward account reset-mfa EMAIL) and enrol \
         again, each connector be given its credential again, and each webhook be subscribed again",
        whose.len(),
        whose.join(", "),
        settings.secret_key_file().display()
    )
}

// --- scheduled backups ------------------------------------------------------------------------

/// A scheduled backup's file name: `steward-YYYYMMDDTHHMMSSZ.db`, so that names sort as times.
pub fn scheduled_name(at: DateTime<Utc>) -> String {
    format!("steward-{}.db", at.format("%Y%m%dT%H%M%SZ"))
}

fn is_scheduled_name(name: &str) -> bool {
    name.strip_prefix("steward-")
        .and_then(|rest| rest.strip_suffix(".db"))
        .is_some_and(|t| NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ").is_ok())
}

/// Takes one scheduled backup of the database at `url` into the folder (made 0700 when
/// missing), then removes all but the `keep` newest scheduled backups there. The backup, and the
/// files removed.
pub fn run_scheduled(
    url: &str,
    backups: &BackupSettings,
    now: DateTime<Utc>,
) -> Result<(BackupSummary, Vec<PathBuf>)> {
    private_dir(&backups.dir)?;
    let path = backups.dir.join(scheduled_name(now));
    let summary = steward_store::backup(url, &path)
        .with_context(|| format!("no backup was written to {}", path.display()))?;
    let removed = prune(&backups.dir, backups.keep)?;
    Ok((summary, removed))
}

/// Removes all but the `keep` newest scheduled backups in `dir` (by name; other files are left
/// alone). The files removed.
pub fn prune(dir: &Path, keep: u32) -> Result<Vec<PathBuf>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| is_scheduled_name(name))
        .collect();
    names.sort();
    let excess = names
        .len()
        .saturating_sub(usize::try_from(keep).unwrap_or(usize::MAX));
    let mut removed = Vec::new();
    for name in &names[..excess] {
        let path = dir.join(name);
        std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        removed.push(path);
    }
    Ok(removed)
}

/// Scheduled backups as the server's jobs take them: one job per period of `backup_every`
/// (whichever server queues the period first runs it, see `Worker`), each writing one backup
/// named for its period's start into `backup_dir` and pruning that folder to `backup_keep`.
pub fn schedule(database_url: &str, backups: &BackupSettings) -> BackupSchedule {
    let url = database_url.to_owned();
    let folder = backups.clone();
    tracing::info!(
        dir = %backups.dir.display(),
        every_s = backups.every.as_secs(),
        keep = backups.keep,
        "scheduled backups"
    );
    BackupSchedule {
        every: backups.every,
        take: BackupHook(std::sync::Arc::new(move |slot| {
            match run_scheduled(&url, &folder, slot) {
                Ok((summary, removed)) => {
                    tracing::info!(
                        path = %summary.path.display(),
                        bytes = summary.bytes,
                        audit_seq = summary.audit_head.seq,
                        removed = removed.len(),
                        "scheduled backup written"
                    );
                    Ok(format!(
                        "{} ({} bytes, audit head {}); {} older backups removed",
                        summary.path.display(),
                        summary.bytes,
                        summary.audit_head.seq,
                        removed.len()
                    ))
                }
                Err(e) => {
                    tracing::error!("scheduled backup failed: {e:#}");
                    Err(format!("{e:#}"))
                }
            }
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use std::time::Duration;
    use steward_service::JobContext;
    use steward_store::testing::{TempDir, databases};

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 3, 0, 0)
            .single()
            .unwrap_or_default()
            + chrono::Duration::minutes(minutes)
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn scheduled_names_sort_as_times() {
        assert_eq!(scheduled_name(at(0)), "steward-20261102T030000Z.db");
        assert!(is_scheduled_name("steward-20261102T030000Z.db"));
        for other in [
            "steward.db",
            "steward-latest.db",
            "steward-20261102T030000Z.db.partial",
            "notes-20261102T030000Z.db",
        ] {
            assert!(!is_scheduled_name(other), "{other}");
        }
    }

    /// Runs every job waiting, as a server's worker would, with these backups.
    fn run_jobs(steward: &Steward, schedule: &BackupSchedule) -> Vec<steward_service::JobOutcome> {
        let mut ctx = JobContext::new(Vec::new(), Default::default(), Duration::from_secs(60));
        ctx.backup = Some(schedule.take.clone());
        let mut outcomes = Vec::new();
        while let Some(outcome) = steward
            .run_one("test-server", &ctx)
            .unwrap_or_else(|e| panic!("run jobs: {e}"))
        {
            outcomes.push(outcome);
        }
        outcomes
    }

    #[test]
    fn one_backup_job_each_period_and_old_backups_are_pruned() {
        for db in databases("cli_scheduled") {
            let b = db.backend;
            let tmp = TempDir::new("cli_scheduled").unwrap_or_else(|e| panic!("{e}"));
            let dir = tmp.path().join("backups");
            let backups = BackupSettings {
                dir: dir.clone(),
                every: Duration::from_secs(3600),
                keep: 2,
            };
            let schedule = schedule(&db.url, &backups);
            let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
            // Somebody else's file in the folder is never pruned.
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(dir.join("notes.txt"), "kept").unwrap_or_else(|e| panic!("{e}"));
            let queue = |minutes: i64| {
                steward
                    .enqueue_scheduled_backup(at(minutes), backups.every)
                    .unwrap_or_else(|e| panic!("{b}: {e}"))
            };
            // Two servers queue the same hour: one job, named for the hour's start.
            assert!(queue(0).is_some(), "{b}");
            assert!(queue(1).is_none(), "{b}: a second job for the same period");
            assert!(queue(59).is_none(), "{b}");
            let done = run_jobs(&steward, &schedule);
            assert_eq!(done.len(), 1, "{b}: {done:?}");
            assert_eq!(
                listing(&dir),
                ["notes.txt", "steward-20261102T030000Z.db"],
                "{b}"
            );
            // The next two hours: two more, and only the two newest kept.
            assert!(queue(61).is_some() && queue(62).is_none(), "{b}");
            run_jobs(&steward, &schedule);
            assert!(queue(122).is_some(), "{b}");
            run_jobs(&steward, &schedule);
            assert_eq!(
                listing(&dir),
                [
                    "notes.txt",
                    "steward-20261102T040000Z.db",
                    "steward-20261102T050000Z.db"
                ],
                "{b}: two kept"
            );
            let jobs = steward
                .jobs(&steward_service::Stamp::now("test"), 10)
                .unwrap_or_else(|e| panic!("{b}: {e}"));
            assert!(
                jobs.iter()
                    .all(|j| j.kind == Some(steward_service::JobKind::Backup)
                        && j.job.state == steward_store::JobState::Done),
                "{b}: {jobs:?}"
            );
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode =
                    |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode() & 0o777);
                assert_eq!(mode(&dir.join("steward-20261102T050000Z.db")), 0o600);
            }
            // The backups are databases that open with the same data.
            let copy = steward_store::open(&format!(
                "sqlite://{}",
                dir.join("steward-20261102T050000Z.db").display()
            ))
            .unwrap_or_else(|e| panic!("{b}: {e}"));
            assert!(
                steward_store::verify_audit(copy.as_ref())
                    .unwrap_or_else(|e| panic!("{b}: {e}"))
                    .is_ok(),
                "{b}"
            );
        }
    }

    #[test]
    fn a_failed_backup_fails_its_job_with_the_reason() {
        let db = steward_store::testing::sqlite("cli_scheduled_fail");
        let tmp = TempDir::new("cli_scheduled_fail").unwrap_or_else(|e| panic!("{e}"));
        // A file where the folder should be.
        let dir = tmp.path().join("not-a-folder");
        std::fs::write(&dir, "x").unwrap_or_else(|e| panic!("{e}"));
        let backups = BackupSettings {
            dir,
            every: Duration::from_secs(86_400),
            keep: 7,
        };
        let steward = Steward::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            steward
                .enqueue_scheduled_backup(at(0), backups.every)
                .unwrap_or_default()
                .is_some()
        );
        let done = run_jobs(&steward, &schedule(&db.url, &backups));
        assert_eq!(done.len(), 1);
        let jobs = steward
            .jobs(&steward_service::Stamp::now("test"), 10)
            .unwrap_or_else(|e| panic!("{e}"));
        let job = &jobs[0].job;
        assert_eq!(job.state, steward_store::JobState::Failed);
        assert!(
            job.error.as_deref().unwrap_or("").contains("not-a-folder"),
            "{:?}",
            job.error
        );
    }
}
