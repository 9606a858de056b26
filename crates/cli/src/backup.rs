//! `steward backup FILE` and `steward restore FILE [--replace]`, and the backups `serve` takes on
//! a schedule (`backup_dir`, `backup_every`, `backup_keep`). The store does the copying and the
//! verifying; this is where files are named, old ones pruned, and the secret key checked.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use chrono::{DateTime, NaiveDateTime, Utc};
use steward_service::{SecretKey, SecretKeys, Steward};
use steward_store::{BackupError, BackupSummary, Store};

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
    let accounts: Vec<&str> = unopened.iter().map(|(email, _)| email.as_str()).collect();
    bail!(
        "the database was restored and its audit log verifies, but the backup's MFA secrets were \
         sealed with another secret key: those of {} account(s) ({}) do not open under {source}. \
         Restore that key ({SECRET_KEY_ENV}, or the key file {}) from where it was backed up \
         before starting the server; without it each of those accounts must have its \
         authenticator reset (steward account reset-mfa EMAIL) and enrol again",
        accounts.len(),
        accounts.join(", "),
        settings.secret_key_file().display()
    )
}

// --- scheduled backups ------------------------------------------------------------------------

/// The lease a scheduled backup holds for one period, so that of several servers sharing the
/// database one backs up per period.
const LEASE: &str = "backup";
/// How often a server whose turn it is not looks again, at most.
const POLL: Duration = Duration::from_secs(60);
/// How long after a failed backup the next try comes, at most.
const RETRY: Duration = Duration::from_secs(15 * 60);

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

/// One turn of the schedule: takes the lease until the next backup is due and, if it was free
/// (or had lapsed), takes a backup. How long to wait before the next turn.
pub fn scheduled_turn(
    store: &dyn Store,
    url: &str,
    backups: &BackupSettings,
    holder: &str,
    now: DateTime<Utc>,
) -> Duration {
    let poll = backups.every.min(POLL);
    let Ok(every) = chrono::Duration::from_std(backups.every) else {
        return poll;
    };
    match store.take_lease(LEASE, holder, now, now + every) {
        // The lease stays held for the period: the next backup is due when it lapses.
        Ok(true) => match run_scheduled(url, backups, now) {
            Ok((summary, removed)) => {
                tracing::info!(
                    path = %summary.path.display(),
                    bytes = summary.bytes,
                    audit_seq = summary.audit_head.seq,
                    removed = removed.len(),
                    "scheduled backup written"
                );
                backups.every
            }
            Err(e) => {
                tracing::error!("scheduled backup failed: {e:#}");
                if let Err(e) = store.release_lease(LEASE, holder) {
                    tracing::warn!("cannot release the backup lease: {e}");
                }
                backups.every.min(RETRY)
            }
        },
        Ok(false) => poll,
        Err(e) => {
            tracing::warn!("cannot take the backup lease: {e}");
            poll
        }
    }
}

/// Starts the scheduled backups on a thread of their own, with a connection of their own.
pub fn spawn_scheduler(settings: &Settings, backups: &BackupSettings) -> Result<()> {
    let store = steward_store::open_with(&settings.database_url, &settings.store)
        .context("cannot open the database for scheduled backups")?;
    let url = settings.database_url.clone();
    let backups = backups.clone();
    let holder = format!(
        "system:backup:{}:{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    tracing::info!(
        dir = %backups.dir.display(),
        every_s = backups.every.as_secs(),
        keep = backups.keep,
        "scheduled backups"
    );
    std::thread::Builder::new()
        .name("backup".into())
        .spawn(move || {
            loop {
                let wait = scheduled_turn(store.as_ref(), &url, &backups, &holder, Utc::now());
                std::thread::sleep(wait);
            }
        })
        .context("cannot start the backup thread")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
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

    #[test]
    fn one_server_backs_up_each_period_and_old_backups_are_pruned() {
        for db in databases("cli_scheduled") {
            let b = db.backend;
            let tmp = TempDir::new("cli_scheduled").unwrap_or_else(|e| panic!("{e}"));
            let dir = tmp.path().join("backups");
            let backups = BackupSettings {
                dir: dir.clone(),
                every: Duration::from_secs(3600),
                keep: 2,
            };
            let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{b}: {e}"));
            // Somebody else's file in the folder is never pruned.
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(dir.join("notes.txt"), "kept").unwrap_or_else(|e| panic!("{e}"));
            let turn = |holder: &str, minutes: i64| {
                scheduled_turn(store.as_ref(), &db.url, &backups, holder, at(minutes))
            };
            // The first server's turn: a backup, and an hour till the next.
            assert_eq!(turn("a", 0), Duration::from_secs(3600), "{b}");
            // The second server finds the period taken, and looks again in a minute.
            assert_eq!(turn("b", 1), POLL, "{b}");
            assert_eq!(turn("b", 59), POLL, "{b}");
            assert_eq!(
                listing(&dir),
                ["notes.txt", "steward-20261102T030000Z.db"],
                "{b}"
            );
            // Once the period has passed, whoever comes first takes the next.
            assert_eq!(turn("b", 61), Duration::from_secs(3600), "{b}");
            assert_eq!(turn("a", 62), POLL, "{b}");
            assert_eq!(turn("a", 122), Duration::from_secs(3600), "{b}");
            assert_eq!(
                listing(&dir),
                [
                    "notes.txt",
                    "steward-20261102T040100Z.db",
                    "steward-20261102T050200Z.db"
                ],
                "{b}: two kept"
            );
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode =
                    |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode() & 0o777);
                assert_eq!(mode(&dir.join("steward-20261102T050200Z.db")), 0o600);
            }
            // The backups are databases that open with the same data.
            let copy = steward_store::open(&format!(
                "sqlite://{}",
                dir.join("steward-20261102T050200Z.db").display()
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
    fn a_failed_backup_frees_the_period_for_a_retry() {
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
        let store = steward_store::open(&db.url).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            scheduled_turn(store.as_ref(), &db.url, &backups, "a", at(0)),
            RETRY
        );
        // Released: another server may try at once.
        assert!(
            store
                .take_lease(LEASE, "b", at(1), at(2))
                .unwrap_or_default()
        );
    }
}
