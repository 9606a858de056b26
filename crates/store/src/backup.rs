//! Backups and restores, one format for both backends: an SQLite database file in Steward's own
//! schema, which [`crate::open`] reads as it reads any SQLite database.
//!
//! [`backup`] writes one while servers run. From SQLite it is `VACUUM INTO`, one read transaction
//! of the live database; from PostgreSQL, every table Steward owns is read inside one
//! `REPEATABLE READ` snapshot and written into a fresh file whose schema the migrations made, in
//! one SQLite transaction. Either way the file is made with mode 0600 under a temporary name
//! beside the destination, verified — SQLite's integrity and foreign key checks, then a full
//! audit verification (the chain, and every register, finding and sign-in against its replay) —
//! and only then renamed into place.
//!
//! [`restore`] reads one into an empty database of either backend (so it is also the way from
//! SQLite to PostgreSQL). It works on a private copy of the file: refuses one that is not an
//! SQLite database, fails its checks, is no Steward database, or was written by a newer schema;
//! migrates an older one; verifies it as a backup is verified. Then, in one transaction of the
//! target holding the audit head's lock, it refuses a target that holds anything (unless asked to
//! replace it), copies every table and moves the head; and verifies the target afterwards.
//!
//! The tables are found, not listed: every table the migrations create, less the
//! [`TRANSIENT_TABLES`] (live sessions, sign-in throttling, single sign-on attempts in flight,
//! leases and jobs: the mechanics of running servers, not the organisation's record).
//! `steward_migrations` travels in the file so that its schema version is known; a restore keeps
//! the target's own. The audit log is restored exactly as it was backed up, so an anchor taken
//! before the backup still verifies and exports round-trip byte for byte; the restore itself is
//! not recorded in it.
//!
//! Both functions take a database url and open a connection of their own.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use postgres::fallible_iterator::FallibleIterator as _;
use postgres::types::Type;
use postgres::{Client, IsolationLevel};
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params_from_iter};
use steward_model::audit::ChainHead;
use steward_model::iso_date;

use crate::findings::time_text;
use crate::pg::quote_ident;
use crate::{Backend, StoreError, migrate, verify_audit_full};

/// Tables neither backed up nor restored: live sessions, failed sign-in guesses, single sign-on
/// attempts in flight, leases and jobs.
pub const TRANSIENT_TABLES: &[&str] = &[
    "sessions",
    "sign_in_failures",
    "sso_attempts",
    "api_request_counts",
    "leases",
    "jobs",
    "job_files",
];

/// Backed up, but on restore the target keeps its own (the app role may not write it).
const MIGRATIONS_TABLE: &str = "steward_migrations";
/// One row, always there: moved, not inserted, on restore.
const HEAD_TABLE: &str = "audit_head";
/// The transient tables a replacing restore empties, sessions first (they name sign-ins).
const CLEARED_ON_REPLACE: &[&str] = &["sessions", "sign_in_failures", "sso_attempts"];

const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} already exists: a backup never overwrites a file")]
    Exists(String),
    #[error("there is no database at {0}")]
    NoDatabase(String),
    #[error("{0} is not a Steward backup: it is not an SQLite database")]
    NotSqlite(String),
    #[error("{path} is damaged or truncated: {reason}")]
    Damaged { path: String, reason: String },
    #[error(
        "{0} is an SQLite database but not a Steward backup: it has no steward_migrations table"
    )]
    NotSteward(String),
    #[error(
        "{path} holds schema version {found}, newer than this build's {known}: use the steward that wrote it"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error(
        "the database is at schema version {found} and this build at {known}: back it up with the steward that serves it, or run `steward migrate` first"
    )]
    SchemaMismatch { found: i64, known: i64 },
    #[error("{path} does not verify: {reason}")]
    Unverified { path: String, reason: String },
    #[error(
        "the target database is not empty: {table} holds {rows} row(s); restore into an empty database, or replace what it holds (restore --replace)"
    )]
    NotEmpty { table: String, rows: i64 },
    #[error(
        "replacing a PostgreSQL database's contents deletes its audit log, which the role Steward connects as may not do: run the restore with --replace as the schema's owner (with the owner's database url)"
    )]
    ReplaceNeedsOwner,
    #[error("{table}.{column}: {reason}")]
    Column {
        table: String,
        column: String,
        reason: String,
    },
    #[error("the target database has no table {0}, which the backup holds")]
    MissingTable(String),
    #[error("the restored database does not verify: {0}")]
    RestoredUnverified(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> BackupError {
        BackupError::Store(e.into())
    }
}

impl From<postgres::Error> for BackupError {
    fn from(e: postgres::Error) -> BackupError {
        BackupError::Store(e.into())
    }
}

pub type Result<T, E = BackupError> = std::result::Result<T, E>;

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub path: PathBuf,
    /// The backend backed up.
    pub source: Backend,
    pub schema_version: i64,
    /// Every table in the file and its rows, in the order the schema made them.
    pub tables: Vec<(String, u64)>,
    /// The audit log's head in the file: last sequence number and hash.
    pub audit_head: ChainHead,
    /// The file's size.
    pub bytes: u64,
}

/// What a restore read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    /// The backend restored into.
    pub target: Backend,
    /// The schema version the file held; it was migrated to this build's on the way in when
    /// older.
    pub schema_version: i64,
    /// Every table restored and its rows.
    pub tables: Vec<(String, u64)>,
    /// The restored audit log's head, the one the backup holds.
    pub audit_head: ChainHead,
    /// Whether what the target held was replaced.
    pub replaced: bool,
}

/// Writes a backup of the database at `url` to `dest`, a new file (mode 0600), verified before
/// it is put in place. Refuses to overwrite an existing file.
pub fn backup(url: &str, dest: &Path) -> Result<BackupSummary> {
    let label = dest.display().to_string();
    if dest.exists() {
        return Err(BackupError::Exists(label));
    }
    let name = dest
        .file_name()
        .ok_or_else(|| BackupError::Io {
            path: label.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        })?
        .to_string_lossy()
        .into_owned();
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(BackupError::Io {
            path: label,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("there is no folder {}", dir.display()),
            ),
        });
    }
    let scratch =
        Scratch::new(dest.with_file_name(format!(".{name}.partial-{}", std::process::id())))?;
    let source = match parse_url(url)? {
        Url::Sqlite(path) => {
            vacuum_into(path, &scratch.path)?;
            Backend::Sqlite
        }
        Url::Postgres(url) => {
            copy_from_postgres(url, &scratch.path)?;
            Backend::Postgres
        }
    };
    let verified = verify_copy(&scratch.path, &label)?;
    {
        let conn = Connection::open_with_flags(&scratch.path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        // The mechanics of running servers have no place in a backup (a copy of an SQLite file
        // holds them): live sessions, sign-ins in flight with their verifiers, jobs with their
        // uploaded files — emptied, and their pages overwritten rather than left free.
        conn.pragma_update(None, "secure_delete", "ON")?;
        for table in TRANSIENT_TABLES {
            let exists: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [table],
                |r| r.get(0),
            )?;
            if exists {
                conn.execute(&format!("DELETE FROM {table}"), [])?;
            }
        }
        // A self-contained file: no write-ahead log beside it.
        conn.pragma_update(None, "journal_mode", "DELETE")?;
    }
    std::fs::File::open(&scratch.path)
        .and_then(|f| f.sync_all())
        .map_err(io(&scratch.path))?;
    if dest.exists() {
        return Err(BackupError::Exists(label));
    }
    std::fs::rename(&scratch.path, dest).map_err(io(dest))?;
    scratch.keep();
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename itself made durable; not every filesystem lets a folder be synced.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    let bytes = std::fs::metadata(dest).map_err(io(dest))?.len();
    Ok(BackupSummary {
        path: dest.to_owned(),
        source,
        schema_version: verified.schema_version,
        tables: verified
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.rows))
            .collect(),
        audit_head: verified.head,
        bytes,
    })
}

/// Restores the backup at `src` into the database at `target_url` (migrating it first): refused
/// when the target holds anything, unless `replace`, when what it holds is deleted in the same
/// transaction. The file itself is only read.
pub fn restore(src: &Path, target_url: &str, replace: bool) -> Result<RestoreSummary> {
    let label = src.display().to_string();
    let target = parse_url(target_url)?;
    check_header(src, &label)?;
    let dir = ScratchDir::new()?;
    let copy = dir.path.join("backup.db");
    std::fs::copy(src, &copy).map_err(io(src))?;
    set_mode(&copy, 0o600).map_err(io(&copy))?;
    let verified = verify_copy(&copy, &label)?;
    drop(crate::open(target_url)?);
    let backend = match target {
        Url::Sqlite(path) => {
            restore_into_sqlite(&copy, path, &verified, replace)?;
            Backend::Sqlite
        }
        Url::Postgres(url) => {
            restore_into_postgres(&copy, url, &verified, replace)?;
            Backend::Postgres
        }
    };
    let store = crate::open(target_url)?;
    let head = verify_audit_full(store.as_ref(), None, 1)?
        .into_result()
        .map_err(|e| BackupError::RestoredUnverified(e.to_string()))?;
    if head != verified.head {
        return Err(BackupError::RestoredUnverified(format!(
            "its audit head is {}:{}, the backup's {}:{}",
            head.seq, head.hash, verified.head.seq, verified.head.hash
        )));
    }
    tracing::info!(file = %label, seq = head.seq, hash = %head.hash, replaced = replace, "database restored");
    Ok(RestoreSummary {
        target: backend,
        schema_version: verified.schema_version,
        tables: verified
            .tables
            .iter()
            .filter(|t| t.name != MIGRATIONS_TABLE)
            .map(|t| (t.name.clone(), t.rows))
            .collect(),
        audit_head: head,
        replaced: replace,
    })
}

enum Url<'a> {
    Sqlite(&'a str),
    Postgres(&'a str),
}

fn parse_url(url: &str) -> Result<Url<'_>> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if path == ":memory:" || path.starts_with("file:") || path.is_empty() {
            return Err(StoreError::UnsupportedUrl(format!(
                "{url}: only a database in a file can be backed up or restored into"
            ))
            .into());
        }
        Ok(Url::Sqlite(path))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Url::Postgres(url))
    } else {
        Err(StoreError::UnsupportedUrl(crate::redact(url)).into())
    }
}

/// Connects to PostgreSQL as the store does (TLS as the url's `sslmode` says): the one place
/// this module does.
fn connect(url: &str) -> Result<Client> {
    Ok(crate::connect::PgTarget::parse(url)?
        .connect()
        .map_err(StoreError::from)?)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn utf8(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| BackupError::Io {
        path: path.display().to_string(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path is not valid UTF-8",
        ),
    })
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// A new, empty file readable by its owner only, whatever the umask.
fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(io(path))?;
    set_mode(path, 0o600).map_err(io(path))
}

/// A file being written (and SQLite's files beside it), removed when dropped unless kept.
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Scratch {
    fn new(path: PathBuf) -> Result<Scratch> {
        let scratch = Scratch { path, keep: false };
        // What a run that died left behind.
        scratch.remove();
        Ok(scratch)
    }

    fn keep(mut self) {
        self.keep = true;
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = self.path.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            self.remove();
        }
    }
}

/// A private folder (0700) in the system's temporary folder, removed when dropped.
struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    fn new() -> Result<ScratchDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path =
            std::env::temp_dir().join(format!("steward-restore-{}-{nanos}", std::process::id()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path).map_err(io(&path))?;
        set_mode(&path, 0o700).map_err(io(&path))?;
        Ok(ScratchDir { path })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every table of an SQLite database Steward backs up, in the order the schema made them.
fn sqlite_tables(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
    )?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names
        .into_iter()
        .filter(|n| !TRANSIENT_TABLES.contains(&n.as_str()))
        .collect())
}

fn sqlite_columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1, 'main') ORDER BY cid")?;
    Ok(stmt
        .query_map([table], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One table of a verified backup.
struct Table {
    name: String,
    columns: Vec<String>,
    rows: u64,
}

/// A backup file that passed every check.
struct Verified {
    schema_version: i64,
    tables: Vec<Table>,
    head: ChainHead,
}

/// Refuses a file that does not start as every SQLite database does.
fn check_header(path: &Path, label: &str) -> Result<()> {
    use std::io::Read as _;
    let mut header = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    match file.read_exact(&mut header) {
        Ok(()) if &header == b"SQLite format 3\0" => Ok(()),
        Ok(()) => Err(BackupError::NotSqlite(label.to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(BackupError::NotSqlite(label.to_owned()))
        }
        Err(e) => Err(io(path)(e)),
    }
}

/// Checks a backup file (a private copy, which may be migrated in place): SQLite's integrity and
/// foreign key checks, a Steward schema no newer than this build's, then — migrated if older —
/// the full audit verification. `label` names the file in errors.
fn verify_copy(path: &Path, label: &str) -> Result<Verified> {
    let damaged = |reason: String| BackupError::Damaged {
        path: label.to_owned(),
        reason,
    };
    check_header(path, label)?;
    let found = {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let problems = (|| -> rusqlite::Result<Vec<String>> {
            let mut stmt = conn.prepare("PRAGMA integrity_check(5)")?;
            let lines = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if lines != ["ok"] {
                // The first few problems, without the line naming the schema.
                let found: Vec<String> = lines
                    .iter()
                    .flat_map(|l| l.lines())
                    .filter(|l| !l.starts_with("*** in database"))
                    .take(3)
                    .map(str::to_owned)
                    .collect();
                return Ok(vec![format!(
                    "SQLite's integrity check found: {}",
                    found.join("; ")
                )]);
            }
            let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
            let missing = stmt
                .query_map([], |r| {
                    Ok(format!(
                        "a row of {} names a row of {} that is not there",
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(2)?
                    ))
                })?
                .take(5)
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(missing)
        })()
        .map_err(|e| damaged(e.to_string()))?;
        if !problems.is_empty() {
            return Err(damaged(problems.join("; ")));
        }
        let steward = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [MIGRATIONS_TABLE],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| damaged(e.to_string()))?;
        if steward == 0 {
            return Err(BackupError::NotSteward(label.to_owned()));
        }
        let found: i64 = conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM steward_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(|e| damaged(e.to_string()))?;
        if found > migrate::latest() {
            return Err(BackupError::TooNew {
                path: label.to_owned(),
                found,
                known: migrate::latest(),
            });
        }
        found
    };
    // Verifying reads every table whole: no statement timeout.
    let options = crate::StoreOptions {
        statement_timeout: None,
        ..crate::StoreOptions::default()
    };
    let store = crate::sqlite::SqliteStore::open(utf8(path)?, &options)?;
    let head = verify_audit_full(&store, None, 1)?
        .into_result()
        .map_err(|e| BackupError::Unverified {
            path: label.to_owned(),
            reason: e.to_string(),
        })?;
    drop(store);
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let mut tables = Vec::new();
    for name in sqlite_tables(&conn)? {
        let rows: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM {}", quote_ident(&name)),
            [],
            |r| r.get(0),
        )?;
        tables.push(Table {
            columns: sqlite_columns(&conn, &name)?,
            rows: u64::try_from(rows).unwrap_or_default(),
            name,
        });
    }
    Ok(Verified {
        schema_version: found,
        tables,
        head,
    })
}

// --- backing up -------------------------------------------------------------------------------

/// Copies a live SQLite database with `VACUUM INTO`: one read transaction, so one consistent
/// state however writers race, into a file made 0600 before it holds anything.
fn vacuum_into(path: &str, dest: &Path) -> Result<()> {
    if !Path::new(path).is_file() {
        return Err(BackupError::NoDatabase(path.to_owned()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    create_private(dest)?;
    conn.execute("VACUUM INTO ?1", [utf8(dest)?])?;
    Ok(())
}

/// Copies every table Steward owns from PostgreSQL, read in one snapshot, into a fresh SQLite
/// database at `dest` whose schema the migrations made.
fn copy_from_postgres(url: &str, dest: &Path) -> Result<()> {
    drop(crate::sqlite::SqliteStore::open(
        utf8(dest)?,
        &crate::StoreOptions::default(),
    )?);
    let mut client = connect(url)?;
    let mut snapshot = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let found: i64 = snapshot
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM steward_migrations",
            &[],
        )?
        .try_get(0)?;
    if found != migrate::latest() {
        return Err(BackupError::SchemaMismatch {
            found,
            known: migrate::latest(),
        });
    }
    let mut conn = Connection::open_with_flags(dest, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    for table in sqlite_tables(&tx)? {
        let columns = sqlite_columns(&tx, &table)?;
        tx.execute(&format!("DELETE FROM {}", quote_ident(&table)), [])?;
        let mut insert = tx.prepare(&format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote_ident(&table),
            column_list(&columns),
            (1..=columns.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
        let select = format!(
            "SELECT {} FROM {}",
            column_list(&columns),
            quote_ident(&table)
        );
        let mut rows = snapshot.query_raw(select.as_str(), std::iter::empty::<i32>())?;
        while let Some(row) = rows.next()? {
            let values = (0..columns.len())
                .map(|i| from_postgres(&row, i, &table, &columns[i]))
                .collect::<Result<Vec<_>>>()?;
            insert.execute(params_from_iter(values))?;
        }
    }
    tx.commit()?;
    snapshot.commit()?;
    Ok(())
}

/// A PostgreSQL value as the SQLite backend stores it: booleans as 0 or 1, dates as
/// `YYYY-MM-DD`, instants as RFC 3339 UTC text to the microsecond.
fn from_postgres(row: &postgres::Row, i: usize, table: &str, column: &str) -> Result<Sql> {
    let ty = row.columns()[i].type_();
    let text = |v: Option<String>| v.map_or(Sql::Null, Sql::Text);
    let int = |v: Option<i64>| v.map_or(Sql::Null, Sql::Integer);
    Ok(
        if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::BPCHAR {
            text(row.try_get(i)?)
        } else if *ty == Type::INT8 {
            int(row.try_get(i)?)
        } else if *ty == Type::INT4 {
            int(row.try_get::<_, Option<i32>>(i)?.map(i64::from))
        } else if *ty == Type::INT2 {
            int(row.try_get::<_, Option<i16>>(i)?.map(i64::from))
        } else if *ty == Type::BOOL {
            int(row.try_get::<_, Option<bool>>(i)?.map(i64::from))
        } else if *ty == Type::DATE {
            text(row.try_get::<_, Option<NaiveDate>>(i)?.map(iso_date))
        } else if *ty == Type::TIMESTAMPTZ {
            text(
                row.try_get::<_, Option<DateTime<Utc>>>(i)?
                    .map(|t| time_text(&t)),
            )
        } else {
            return Err(BackupError::Column {
                table: table.to_owned(),
                column: column.to_owned(),
                reason: format!("its type {ty} is not one Steward's schema uses"),
            });
        },
    )
}

// --- restoring --------------------------------------------------------------------------------

/// The tables a restore writes rows into: all but the migrations and the head.
fn restored(verified: &Verified) -> impl Iterator<Item = &Table> {
    verified
        .tables
        .iter()
        .filter(|t| t.name != MIGRATIONS_TABLE && t.name != HEAD_TABLE)
}

fn missing_column(table: &str, column: &str) -> BackupError {
    BackupError::Column {
        table: table.to_owned(),
        column: column.to_owned(),
        reason: "the target database has no such column".into(),
    }
}

fn restore_into_sqlite(copy: &Path, path: &str, verified: &Verified, replace: bool) -> Result<()> {
    let mut conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.execute("ATTACH DATABASE ?1 AS backup", [utf8(copy)?])?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for table in restored(verified) {
        let have = sqlite_columns(&tx, &table.name)?;
        if have.is_empty() {
            return Err(BackupError::MissingTable(table.name.clone()));
        }
        if let Some(c) = table.columns.iter().find(|c| !have.contains(c)) {
            return Err(missing_column(&table.name, c));
        }
    }
    if replace {
        for table in CLEARED_ON_REPLACE
            .iter()
            .copied()
            .chain(restored(verified).map(|t| t.name.as_str()))
        {
            tx.execute(&format!("DELETE FROM main.{}", quote_ident(table)), [])?;
        }
    } else {
        for table in restored(verified) {
            let rows: i64 = tx.query_row(
                &format!("SELECT COUNT(*) FROM main.{}", quote_ident(&table.name)),
                [],
                |r| r.get(0),
            )?;
            if rows > 0 {
                return Err(BackupError::NotEmpty {
                    table: table.name.clone(),
                    rows,
                });
            }
        }
    }
    for table in restored(verified) {
        let columns = column_list(&table.columns);
        tx.execute(
            &format!(
                "INSERT INTO main.{t} ({columns}) SELECT {columns} FROM backup.{t}",
                t = quote_ident(&table.name)
            ),
            [],
        )?;
    }
    tx.execute(
        "UPDATE main.audit_head SET seq = ?1, hash = ?2 WHERE id = 1",
        (verified.head.seq, &verified.head.hash),
    )?;
    tx.commit()?;
    conn.execute("DETACH DATABASE backup", [])?;
    Ok(())
}

fn restore_into_postgres(copy: &Path, url: &str, verified: &Verified, replace: bool) -> Result<()> {
    let source = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut client = connect(url)?;
    let mut types: std::collections::HashMap<(String, String), String> =
        std::collections::HashMap::new();
    for row in client.query(
        "SELECT table_name::TEXT, column_name::TEXT, data_type::TEXT \
         FROM information_schema.columns WHERE table_schema = current_schema()",
        &[],
    )? {
        types.insert((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?);
    }
    for table in restored(verified) {
        if !types.keys().any(|(t, _)| *t == table.name) {
            return Err(BackupError::MissingTable(table.name.clone()));
        }
        if let Some(c) = table
            .columns
            .iter()
            .find(|c| !types.contains_key(&(table.name.clone(), (*c).clone())))
        {
            return Err(missing_column(&table.name, c));
        }
    }
    if replace {
        let may: bool = client
            .query_one(
                "SELECT has_table_privilege('audit_log', 'DELETE') \
                 AND has_table_privilege('audit_payloads', 'DELETE')",
                &[],
            )?
            .try_get(0)?;
        if !may {
            return Err(BackupError::ReplaceNeedsOwner);
        }
    }
    let mut tx = client.transaction()?;
    // Every reference is deferred to commit already; and every writer waits on the head's lock.
    tx.batch_execute("SET CONSTRAINTS ALL DEFERRED")?;
    tx.query_one("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE", &[])?;
    // A restore fills empty (or emptied) tables: each reference is checked once, at the end.
    let tables: Vec<&str> = restored(verified).map(|t| t.name.as_str()).collect();
    let set_aside = crate::pg::SetAside::references_of(&mut tx, &tables)?;
    if replace {
        for table in CLEARED_ON_REPLACE
            .iter()
            .copied()
            .chain(restored(verified).map(|t| t.name.as_str()))
        {
            tx.batch_execute(&format!("DELETE FROM {}", quote_ident(table)))?;
        }
    } else {
        for table in restored(verified) {
            let rows: i64 = tx
                .query_one(
                    &format!("SELECT COUNT(*) FROM {}", quote_ident(&table.name)),
                    &[],
                )?
                .try_get(0)?;
            if rows > 0 {
                return Err(BackupError::NotEmpty {
                    table: table.name.clone(),
                    rows,
                });
            }
        }
    }
    for table in restored(verified) {
        if table.rows == 0 {
            continue;
        }
        let kinds: Vec<&str> = table
            .columns
            .iter()
            .map(|c| {
                types
                    .get(&(table.name.clone(), c.clone()))
                    .map_or("", String::as_str)
            })
            .collect();
        let mut writer = tx.copy_in(&format!(
            "COPY {} ({}) FROM STDIN",
            quote_ident(&table.name),
            column_list(&table.columns)
        ))?;
        let mut stmt = source.prepare(&format!(
            "SELECT {} FROM {}",
            column_list(&table.columns),
            quote_ident(&table.name)
        ))?;
        let mut rows = stmt.query([])?;
        let mut buf = String::with_capacity(1 << 16);
        while let Some(r) = rows.next()? {
            for (i, kind) in kinds.iter().enumerate() {
                if i > 0 {
                    buf.push('\t');
                }
                copy_value(&mut buf, kind, r.get(i)?).map_err(|reason| BackupError::Column {
                    table: table.name.clone(),
                    column: table.columns[i].clone(),
                    reason,
                })?;
            }
            buf.push('\n');
            if buf.len() > (1 << 20) {
                writer.write_all(buf.as_bytes()).map_err(copy_failed)?;
                buf.clear();
            }
        }
        writer.write_all(buf.as_bytes()).map_err(copy_failed)?;
        writer.finish()?;
    }
    tx.execute(
        "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
        &[&verified.head.seq, &verified.head.hash],
    )?;
    set_aside.put_back(&mut tx)?;
    // No table of Steward's takes its keys from a sequence, so there is none to move on.
    tx.commit()?;
    Ok(())
}

fn copy_failed(e: std::io::Error) -> BackupError {
    BackupError::Io {
        path: "COPY".into(),
        source: e,
    }
}

/// One SQLite value as a cell of PostgreSQL's COPY text format for a column of type `kind`
/// (as `information_schema` names it), read back as the SQLite backend wrote it.
fn copy_value(out: &mut String, kind: &str, value: Sql) -> std::result::Result<(), String> {
    match (kind, value) {
        (_, Sql::Null) => out.push_str("\\N"),
        ("text" | "character varying" | "character", Sql::Text(s)) => {
            crate::pg::copy_text(out, &s);
        }
        ("bigint", Sql::Integer(n)) => out.push_str(&n.to_string()),
        ("integer", Sql::Integer(n)) => out.push_str(
            &i32::try_from(n)
                .map_err(|_| format!("{n} is too large for an integer"))?
                .to_string(),
        ),
        ("smallint", Sql::Integer(n)) => out.push_str(
            &i16::try_from(n)
                .map_err(|_| format!("{n} is too large for a smallint"))?
                .to_string(),
        ),
        ("boolean", Sql::Integer(n)) => out.push(if n != 0 { 't' } else { 'f' }),
        ("date", Sql::Text(s)) => steward_model::push_date(
            out,
            steward_model::read_date(&s).map_err(|e| format!("{s:?}: {e}"))?,
        ),
        ("timestamp with time zone", Sql::Text(s)) => out.push_str(&time_text(
            &DateTime::parse_from_rfc3339(&s)
                .map_err(|e| format!("{s:?}: {e}"))?
                .with_timezone(&Utc),
        )),
        (kind, other) => {
            return Err(format!(
                "a {} value cannot go into a column of type {kind}",
                match other {
                    Sql::Null => "null",
                    Sql::Integer(_) => "whole number",
                    Sql::Real(_) => "real number",
                    Sql::Text(_) => "text",
                    Sql::Blob(_) => "binary",
                }
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(path: &Path) -> i64 {
        Connection::open(path)
            .and_then(|c| {
                c.query_row("SELECT MAX(version) FROM steward_migrations", [], |r| {
                    r.get(0)
                })
            })
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_older_backup_is_migrated_on_the_way_in_and_the_file_left_as_it_was() {
        let dir = crate::testing::TempDir::new("backup_older").unwrap_or_else(|e| panic!("{e}"));
        let old = dir.path().join("old.db");
        let previous = &migrate::MIGRATIONS[..migrate::MIGRATIONS.len() - 1];
        let Some(last) = previous.last() else {
            return;
        };
        let conn = Connection::open(&old).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(migrate::CREATE_TABLE)
            .unwrap_or_else(|e| panic!("{e}"));
        for m in previous {
            conn.execute_batch(&m.spelt(false, crate::sqlite::SPELLINGS))
                .unwrap_or_else(|e| panic!("{e}"));
            conn.execute(
                "INSERT INTO steward_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                (m.version, m.name, "2026-01-01T00:00:00Z"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        drop(conn);
        let target = dir.path().join("target.db");
        let summary = restore(&old, &format!("sqlite://{}", target.display()), false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(summary.schema_version, last.version);
        assert_eq!(summary.audit_head.seq, 0);
        assert_eq!(version(&target), migrate::latest());
        assert_eq!(version(&old), last.version, "the backup file was changed");
    }
}
