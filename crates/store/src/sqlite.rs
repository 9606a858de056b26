//! The embedded backend: one SQLite file in WAL mode, one writing connection behind a mutex and a
//! pool of reading connections, so that readers never wait for a writer or for each other.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params_from_iter};
use steward_model::audit::AuditRecord;
use steward_model::{
    Assignment, FieldType, Pence, Register, Row, SourcedFields, StoredFinding, Value,
};

use crate::anchors::{self, AuditAnchor};
use crate::commit::{self, AuditTx, CommitSummary, LOAD_ALL_THRESHOLD, Payloads, Tx};
use crate::compliance::{self, ComplianceDay};
use crate::findings::{
    self, Cell, Columns, EVENT_COLUMNS, ExceptionCover, FINDING_COLUMNS, FindingEvent,
    FindingQuery, FindingsSummary, FindingsTx, Kind,
};
use crate::jobs;
use crate::packs::{self, PackChoice, PackDocument, ParameterOverride};
use crate::sent::MailSent;
use crate::sign_ins::{self, SESSION_COLUMNS, SIGN_IN_COLUMNS, Session, SignIn, SignInTx, Visit};
use crate::slow::SlowQuery;
use crate::sources::{self, ConnectorRow, ConnectorRun, PlainTx, Provenance, SourceLink};
use crate::sql::{self, Placeholder::Question as Q};
use crate::sso::{self, SsoAttemptRow, SsoLinkRow};
use crate::tokens::{self, ApiTokenRow, TOKEN_COLUMNS, TokenSelect};
use crate::webhooks::{
    self, DELIVERY_COLUMNS, DeliveryRow, DeliverySelect, WEBHOOK_COLUMNS, WebhookRow, WebhookSelect,
};
use crate::{
    AssignmentsOf, AuditQuery, Backend, FindingTally, Result, Store, StoreError, StoreOptions,
    migrate, stored_row,
};

pub(crate) struct SqliteStore {
    /// `None` for a database in memory, which only its own connection sees: reads then use the
    /// writer. Declared before the writer so that it closes first: the last connection to close
    /// checkpoints the write-ahead log and removes it, which a read-only one cannot.
    readers: Option<Readers>,
    /// SQLite lets one connection write at a time; writers queue here rather than spin on the
    /// file's lock.
    writer: Mutex<Connection>,
    slow_query: Option<Duration>,
}

impl SqliteStore {
    /// One commit, refused if a row of `new` exists or one of `expected` is not as given.
    fn commit_checked(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        rows: Vec<Row>,
        new: &[(Register, &str)],
        expected: &[Row],
    ) -> Result<CommitSummary> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let summary = commit::run(&mut SqliteTx(&tx), actor, at, rows, new, expected)?;
        tx.commit()?;
        Ok(summary)
    }

    /// Webhook deliveries as `which` selects them, bound to `cells`, on a reading connection.
    fn deliveries(&self, which: DeliverySelect, cells: &[Cell]) -> Result<Vec<DeliveryRow>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&webhooks::delivery_select(which, Q))?;
        let mut rows = stmt.query(params_from_iter(cells.iter().map(cell_sql)))?;
        collect_rows(
            &mut rows,
            "webhook_deliveries",
            DELIVERY_COLUMNS,
            webhooks::delivery_from_cells,
        )
    }

    /// One transaction on the writing connection over the statements written once for both
    /// backends (`sources`).
    fn plain<T>(&self, f: impl FnOnce(&mut dyn PlainTx) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&mut SqliteTx(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    pub(crate) fn open(path: &str, options: &StoreOptions) -> Result<SqliteStore> {
        let on_disk = path != ":memory:" && !path.starts_with("file:");
        if on_disk {
            create_private(Path::new(path))?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 64 MiB of page cache: bulk imports touch every index page many times.
        conn.pragma_update(None, "cache_size", -65_536)?;
        migrate_sqlite(&mut conn)?;
        if on_disk {
            // SQLite gives its -wal and -shm files the database's mode; older files, or a
            // database copied in, may be looser.
            for suffix in ["", "-wal", "-shm"] {
                narrow(Path::new(&format!("{path}{suffix}")))?;
            }
        }
        let readers = on_disk.then(|| Readers {
            path: path.to_owned(),
            statement_timeout: options.statement_timeout,
            epoch: Instant::now(),
            most: usize::try_from(options.pool_size.max(1)).unwrap_or(usize::MAX),
            idle: Mutex::new((Vec::new(), 0)),
            freed: std::sync::Condvar::new(),
        });
        Ok(SqliteStore {
            writer: Mutex::new(conn),
            readers,
            slow_query: options.slow_query,
        })
    }

    /// The writing connection.
    #[track_caller]
    fn conn(&self) -> Result<Writer<'_>> {
        let timer = SlowQuery::start(self.slow_query);
        let conn = self.writer.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(Writer {
            conn,
            _timer: timer,
        })
    }

    /// A reading connection, whose statements are interrupted after the statement timeout.
    #[track_caller]
    fn reader(&self) -> Result<Reader<'_>> {
        self.reader_for(true)
    }

    /// A reading connection without the statement timeout, for reads that take as long as the
    /// data is big (the whole audit log).
    #[track_caller]
    fn long_reader(&self) -> Result<Reader<'_>> {
        self.reader_for(false)
    }

    #[track_caller]
    fn reader_for(&self, limited: bool) -> Result<Reader<'_>> {
        let timer = SlowQuery::start(self.slow_query);
        let Some(pool) = &self.readers else {
            let conn = self.writer.lock().map_err(|_| StoreError::Poisoned)?;
            return Ok(Reader {
                conn: ReaderConn::Writer(conn),
                _timer: timer,
            });
        };
        let pooled = pool.get()?;
        pooled.limit(limited);
        Ok(Reader {
            conn: ReaderConn::Pooled(Lent {
                readers: pool,
                conn: Some(pooled),
            }),
            _timer: timer,
        })
    }
}

pub(crate) struct Writer<'a> {
    conn: std::sync::MutexGuard<'a, Connection>,
    _timer: SlowQuery,
}

impl std::ops::Deref for Writer<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for Writer<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

pub(crate) struct Reader<'a> {
    conn: ReaderConn<'a>,
    _timer: SlowQuery,
}

enum ReaderConn<'a> {
    Pooled(Lent<'a>),
    Writer(std::sync::MutexGuard<'a, Connection>),
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match &self.conn {
            ReaderConn::Pooled(Lent { conn: Some(c), .. }) => &c.conn,
            ReaderConn::Pooled(Lent { conn: None, .. }) => {
                unreachable!("a lent connection is taken back only as it is dropped")
            }
            ReaderConn::Writer(w) => w,
        }
    }
}

/// A reading connection lent out; it goes back to the idle ones when dropped.
struct Lent<'a> {
    readers: &'a Readers,
    conn: Option<Box<ReadOnly>>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.give_back(conn);
        }
    }
}

/// A read-only connection and the instant (microseconds after the pool's epoch; 0: none) after
/// which its progress handler interrupts the statement running.
pub(crate) struct ReadOnly {
    conn: Connection,
    deadline: Arc<AtomicU64>,
    timeout: Option<Duration>,
    epoch: Instant,
}

impl ReadOnly {
    fn limit(&self, limited: bool) {
        let deadline = match self.timeout {
            Some(t) if limited => {
                u64::try_from((self.epoch.elapsed() + t).as_micros()).unwrap_or(u64::MAX)
            }
            _ => 0,
        };
        self.deadline.store(deadline, Ordering::Relaxed);
    }
}

/// The reading connections: opened when needed, at most `most` lent at once (a caller waits for
/// one to come back, ten seconds at most), kept idle for the next caller. Opening a SQLite
/// connection is cheap and needs no server, so this is a list and a count, with no thread of its
/// own: every connection is closed when the store is dropped.
pub(crate) struct Readers {
    path: String,
    statement_timeout: Option<Duration>,
    epoch: Instant,
    most: usize,
    /// The idle connections, and how many are lent.
    // Boxed so that one moves between the list and a lent `Reader` without copying.
    #[allow(clippy::vec_box)]
    idle: Mutex<(Vec<Box<ReadOnly>>, usize)>,
    freed: std::sync::Condvar,
}

impl Readers {
    fn get(&self) -> Result<Box<ReadOnly>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut guard = self.idle.lock().map_err(|_| StoreError::Poisoned)?;
        loop {
            if let Some(conn) = guard.0.pop() {
                guard.1 += 1;
                return Ok(conn);
            }
            if guard.1 < self.most {
                guard.1 += 1;
                drop(guard);
                return self.open().map(Box::new).inspect_err(|_| {
                    if let Ok(mut g) = self.idle.lock() {
                        g.1 -= 1;
                        self.freed.notify_one();
                    }
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Unavailable(format!(
                    "all {} reading connections stayed busy for ten seconds",
                    self.most
                )));
            }
            guard = self
                .freed
                .wait_timeout(guard, left)
                .map_err(|_| StoreError::Poisoned)?
                .0;
        }
    }

    fn give_back(&self, conn: Box<ReadOnly>) {
        if let Ok(mut guard) = self.idle.lock() {
            guard.1 = guard.1.saturating_sub(1);
            guard.0.push(conn);
            self.freed.notify_one();
        }
    }

    fn open(&self) -> Result<ReadOnly> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "cache_size", -16_384)?;
        let deadline = Arc::new(AtomicU64::new(0));
        let (seen, epoch) = (deadline.clone(), self.epoch);
        // Checked every few thousand virtual machine steps: past the deadline, the statement
        // stops with SQLITE_INTERRUPT.
        conn.progress_handler(
            10_000,
            Some(move || {
                let limit = seen.load(Ordering::Relaxed);
                limit != 0 && u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX) > limit
            }),
        );
        Ok(ReadOnly {
            conn,
            deadline,
            timeout: self.statement_timeout,
            epoch: self.epoch,
        })
    }
}

impl SqliteStore {
    /// Runs job statements in one write transaction (see the `jobs` module).
    fn with_jobs<T>(&self, work: impl FnOnce(&mut dyn jobs::JobsSql) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = work(&mut SqliteJobs(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    /// Reads jobs on a reading connection, so a long write elsewhere does not hold them up.
    fn read_jobs<T>(&self, work: impl FnOnce(&mut dyn jobs::JobsSql) -> Result<T>) -> Result<T> {
        let conn = self.reader()?;
        let tx = conn.unchecked_transaction()?;
        let out = work(&mut SqliteJobs(&tx))?;
        tx.commit()?;
        Ok(out)
    }
}

struct SqliteJobs<'a>(&'a rusqlite::Transaction<'a>);

impl jobs::JobsSql for SqliteJobs<'_> {
    fn placeholder(&self) -> sql::Placeholder {
        Q
    }

    fn lock_queue(&mut self) -> Result<()> {
        Ok(())
    }

    fn execute(&mut self, statement: &str, params: &[Cell]) -> Result<u64> {
        let n = self
            .0
            .prepare_cached(statement)?
            .execute(params_from_iter(params.iter().map(cell_sql)))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn query(
        &mut self,
        statement: &str,
        params: &[Cell],
        columns: Columns,
    ) -> Result<Vec<Vec<Cell>>> {
        let mut stmt = self.0.prepare_cached(statement)?;
        let mut rows = stmt.query(params_from_iter(params.iter().map(cell_sql)))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_cells(r, "jobs", columns)?);
        }
        Ok(out)
    }
}

/// Creates the database's folder (0700) and file (0600) if missing, whatever the umask, so that
/// no other local user can read the registers or the sign-ins.
fn create_private(path: &Path) -> Result<()> {
    let err = |p: &Path| {
        let p = p.display().to_string();
        move |source| StoreError::DataDir { path: p, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(err(dir))?;
        set_mode(dir, 0o700).map_err(err(dir))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => set_mode(path, 0o600).map_err(err(path)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(err(path)(e)),
    }
}

/// Narrows a database file that group or others may use to 0600, and says so.
fn narrow(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = match std::fs::metadata(path) {
            Ok(m) => m.permissions().mode() & 0o777,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(StoreError::DataDir {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        if mode & 0o077 != 0 {
            set_mode(path, 0o600).map_err(|source| StoreError::DataDir {
                path: path.display().to_string(),
                source,
            })?;
            tracing::info!(path = %path.display(), was = format!("{mode:o}"), "database file was readable by others; its mode is now 600");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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

fn migrate_sqlite(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(migrate::CREATE_TABLE)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    migrate::run(&mut SqliteMigrator(&tx))?;
    tx.commit()?;
    Ok(())
}

/// How SQLite spells the words a migration spells per backend (see `migrate::Migrator`).
pub(crate) const SPELLINGS: &[(&str, &str)] =
    &[("COLLATE_BYTES", ""), ("GENERATED_KIND", "VIRTUAL")];

struct SqliteMigrator<'a>(&'a rusqlite::Transaction<'a>);

impl migrate::Migrator for SqliteMigrator<'_> {
    fn current(&mut self) -> Result<i64> {
        Ok(self.0.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM steward_migrations",
            [],
            |r| r.get(0),
        )?)
    }
    fn is_postgres(&self) -> bool {
        false
    }
    fn spellings(&self) -> &'static [(&'static str, &'static str)] {
        SPELLINGS
    }
    fn execute_batch(&mut self, sql: &str) -> std::result::Result<(), String> {
        self.0.execute_batch(sql).map_err(|e| e.to_string())
    }
    fn record(&mut self, m: &migrate::Migration, applied_at: &str) -> Result<()> {
        self.0.execute(
            "INSERT INTO steward_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            (m.version, m.name, applied_at),
        )?;
        Ok(())
    }
}

/// The last run of every pack, for refusing a run older than one recorded.
fn check_runs(conn: &Connection) -> Result<HashMap<String, DateTime<Utc>>> {
    Ok(check_marks(conn)?
        .into_iter()
        .map(|(pack, (_, at))| (pack, at))
        .collect())
}

/// Every pack's last run: the audit log's head when it began (if kept) and its time.
fn check_marks(conn: &Connection) -> Result<findings::CheckMarks> {
    let mut stmt = conn.prepare_cached(sql::CHECK_MARKS)?;
    let mut rows = stmt.query([])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let (pack, seq, text): (String, Option<i64>, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let at = DateTime::parse_from_rfc3339(&text).map_err(|e| StoreError::Corrupt {
            table: "check_runs",
            column: "last_run",
            id: pack.clone(),
            reason: format!("{text:?}: {e}"),
        })?;
        out.insert(pack, (seq, at.with_timezone(&Utc)));
    }
    Ok(out)
}

fn timestamp_text(t: &DateTime<Utc>) -> String {
    // Fixed width, so that text order is time order inside SQLite.
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A cell bound as a parameter; texts are lent, not copied.
fn to_sql(value: &Value) -> rusqlite::types::ToSqlOutput<'_> {
    use rusqlite::types::{ToSqlOutput, ValueRef};
    match value {
        Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Null => ToSqlOutput::Owned(Sql::Null),
        Value::Bool(b) => ToSqlOutput::Owned(Sql::Integer(i64::from(*b))),
        Value::Date(d) => ToSqlOutput::Owned(Sql::Text(steward_model::iso_date(*d))),
        Value::Timestamp(t) => ToSqlOutput::Owned(Sql::Text(timestamp_text(t))),
        Value::Money(p) => ToSqlOutput::Owned(Sql::Integer(p.0)),
        Value::Int(n) => ToSqlOutput::Owned(Sql::Integer(*n)),
    }
}

fn from_sql(
    register: Register,
    ty: FieldType,
    column: &'static str,
    raw: ValueRef<'_>,
    id: ValueRef<'_>,
) -> Result<Value> {
    let corrupt = |reason: String| StoreError::Corrupt {
        table: register.name(),
        column,
        id: match id {
            ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            other => format!("{other:?}"),
        },
        reason,
    };
    // Read in place: a date or a time is parsed from SQLite's own bytes, and only a text kept
    // as text is copied out.
    let not_utf8 = |t: &[u8], e: std::str::Utf8Error| {
        corrupt(format!("{:?}: {e}", String::from_utf8_lossy(t)))
    };
    Ok(match (ty, raw) {
        (_, ValueRef::Null) => Value::Null,
        (FieldType::Bool, ValueRef::Integer(i)) => Value::Bool(i != 0),
        (FieldType::Money, ValueRef::Integer(i)) => Value::Money(Pence(i)),
        (FieldType::Int, ValueRef::Integer(i)) => Value::Int(i),
        (FieldType::Date, ValueRef::Text(t)) => {
            let s = std::str::from_utf8(t).map_err(|e| not_utf8(t, e))?;
            Value::Date(steward_model::read_date(s).map_err(|e| corrupt(format!("{s:?}: {e}")))?)
        }
        (FieldType::Timestamp, ValueRef::Text(t)) => {
            let s = std::str::from_utf8(t).map_err(|e| not_utf8(t, e))?;
            Value::Timestamp(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|e| corrupt(format!("{s:?}: {e}")))?
                    .with_timezone(&Utc),
            )
        }
        (
            FieldType::Text
            | FieldType::Id
            | FieldType::Slug
            | FieldType::Email
            | FieldType::Enum(_)
            | FieldType::Month
            | FieldType::Country
            | FieldType::Countries,
            ValueRef::Text(t),
        ) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|e| not_utf8(t, e))?
                .to_owned(),
        ),
        (ty, other) => return Err(corrupt(format!("expected {ty:?}, found {other:?}"))),
    })
}

fn read_row(register: Register, r: &rusqlite::Row<'_>) -> Result<Row> {
    read_fields(register, r, None)
}

/// A row of which only the fields `wanted` marks were selected, in order (all where `None`);
/// the others are null.
fn read_fields(register: Register, r: &rusqlite::Row<'_>, wanted: Option<&[bool]>) -> Result<Row> {
    let mut values = Vec::with_capacity(register.fields().len());
    read_values(register, r, wanted, &mut values)?;
    stored_row(register, values)
}

/// [`read_fields`]' values, pushed onto `values`.
fn read_values(
    register: Register,
    r: &rusqlite::Row<'_>,
    wanted: Option<&[bool]>,
    values: &mut Vec<Value>,
) -> Result<()> {
    let fields = register.fields();
    let id = r.get_ref(0)?;
    let mut column = 0;
    for (i, f) in fields.iter().enumerate() {
        if wanted.is_some_and(|w| !w.get(i).copied().unwrap_or(false)) {
            values.push(Value::Null);
            continue;
        }
        values.push(from_sql(register, f.ty, f.name, r.get_ref(column)?, id)?);
        column += 1;
    }
    Ok(())
}

fn query_rows(
    conn: &Connection,
    register: Register,
    sql: &str,
    params: &[Sql],
) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read_row(register, r)?);
    }
    Ok(out)
}

/// A record as `sql::AUDIT_SELECT_COLUMNS` reads it: version 1 payloads from the log itself,
/// version 2 payloads from `audit_payloads`.
fn read_audit(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    let version: i32 = r.get(10)?;
    let (before, after) = if version == steward_model::audit::V1 {
        (r.get(6)?, r.get(7)?)
    } else {
        (r.get(13)?, r.get(14)?)
    };
    Ok(AuditRecord {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        entity_type: r.get(4)?,
        entity_id: r.get(5)?,
        before,
        after,
        version,
        before_hash: r.get(11)?,
        after_hash: r.get(12)?,
        erased_by: r.get(15)?,
        prev_hash: r.get(8)?,
        hash: r.get(9)?,
    })
}

fn date_sql(d: Option<NaiveDate>) -> Sql {
    d.map_or(Sql::Null, |d| Sql::Text(steward_model::iso_date(d)))
}

fn cell_sql(cell: &Cell) -> Sql {
    match cell {
        Cell::Text(t) => t.clone().map_or(Sql::Null, Sql::Text),
        Cell::Int(n) => n.map_or(Sql::Null, Sql::Integer),
        Cell::Bool(b) => b.map_or(Sql::Null, |b| Sql::Integer(i64::from(b))),
        Cell::Date(d) => date_sql(*d),
        Cell::Time(t) => t
            .as_ref()
            .map_or(Sql::Null, |t| Sql::Text(timestamp_text(t))),
    }
}

/// Every row of a query, its cells read as `columns` say (`read_cells`) and made into a `T` by
/// `from`.
fn collect_rows<T>(
    rows: &mut rusqlite::Rows<'_>,
    table: &'static str,
    columns: Columns,
    from: impl Fn(Vec<Cell>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(from(read_cells(r, table, columns)?)?);
    }
    Ok(out)
}

/// One row's cells, read as the columns' kinds say (dates and instants are ISO text here).
fn read_cells(r: &rusqlite::Row<'_>, table: &'static str, columns: Columns) -> Result<Vec<Cell>> {
    let corrupt = |column: &'static str, reason: String| StoreError::Corrupt {
        table,
        column,
        id: findings::row_label(
            table,
            r.get::<_, Sql>(0)
                .map(|id| match id {
                    Sql::Text(s) => s,
                    other => format!("{other:?}"),
                })
                .unwrap_or_default(),
        ),
        reason,
    };
    let mut cells = Vec::with_capacity(columns.len());
    for (i, (name, kind)) in columns.iter().enumerate() {
        cells.push(match kind {
            Kind::Text => Cell::Text(r.get(i)?),
            Kind::Int => Cell::Int(r.get(i)?),
            Kind::Bool => Cell::Bool(match r.get::<_, Sql>(i)? {
                Sql::Null => None,
                Sql::Integer(n) => Some(n != 0),
                other => {
                    return Err(corrupt(
                        name,
                        format!("expected a boolean, found {other:?}"),
                    ));
                }
            }),
            Kind::Date => Cell::Date(
                r.get::<_, Option<String>>(i)?
                    .map(|s| {
                        steward_model::read_date(&s)
                            .map_err(|e| corrupt(name, format!("{s:?}: {e}")))
                    })
                    .transpose()?,
            ),
            Kind::Time => Cell::Time(
                r.get::<_, Option<String>>(i)?
                    .map(|s| {
                        DateTime::parse_from_rfc3339(&s)
                            .map(|t| t.with_timezone(&Utc))
                            .map_err(|e| corrupt(name, format!("{s:?}: {e}")))
                    })
                    .transpose()?,
            ),
        });
    }
    Ok(cells)
}

fn execute_cells(stmt: &mut rusqlite::CachedStatement<'_>, cells: &[Cell]) -> Result<()> {
    stmt.execute(params_from_iter(cells.iter().map(cell_sql)))?;
    Ok(())
}

/// Every row of a findings query, read as stored findings.
fn stored_findings(rows: &mut rusqlite::Rows<'_>) -> Result<Vec<StoredFinding>> {
    collect_rows(
        rows,
        "findings",
        FINDING_COLUMNS,
        findings::finding_from_cells,
    )
}

/// Every row of a sign-ins query.
fn query_sign_ins(conn: &Connection, statement: &str, params: &[Sql]) -> Result<Vec<SignIn>> {
    let mut stmt = conn.prepare_cached(statement)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    collect_rows(
        &mut rows,
        "sign_ins",
        SIGN_IN_COLUMNS,
        sign_ins::sign_in_from_cells,
    )
}

fn load_sign_in(conn: &Connection, email: &str) -> Result<Option<SignIn>> {
    Ok(query_sign_ins(
        conn,
        &sql::sign_in_select(true, Q),
        &[Sql::Text(sign_ins::email_key(email))],
    )?
    .pop())
}

fn count_sign_ins(conn: &Connection) -> Result<u64> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM sign_ins", [], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

struct SqliteTx<'a>(&'a rusqlite::Transaction<'a>);

impl PlainTx for SqliteTx<'_> {
    fn placeholder(&self) -> sql::Placeholder {
        Q
    }

    fn exec(&mut self, sql: &str, cells: &[Cell]) -> Result<u64> {
        let mut stmt = self.0.prepare_cached(sql)?;
        Ok(stmt.execute(params_from_iter(cells.iter().map(cell_sql)))? as u64)
    }

    fn rows(
        &mut self,
        sql: &str,
        cells: &[Cell],
        table: &'static str,
        columns: crate::findings::Columns,
    ) -> Result<Vec<Vec<Cell>>> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let mut rows = stmt.query(params_from_iter(cells.iter().map(cell_sql)))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_cells(r, table, columns)?);
        }
        Ok(out)
    }
}

impl SignInTx for SqliteTx<'_> {
    fn load_sign_in(&mut self, email: &str) -> Result<Option<SignIn>> {
        load_sign_in(self.0, email)
    }

    fn count_sign_ins(&mut self) -> Result<u64> {
        count_sign_ins(self.0)
    }

    fn upsert_sign_in(&mut self, sign_in: &SignIn) -> Result<()> {
        let mut stmt = self.0.prepare_cached(&sql::sign_in_upsert(Q))?;
        execute_cells(&mut stmt, &sign_ins::sign_in_cells(sign_in))
    }
}

impl crate::packs::PackTx for SqliteTx<'_> {
    fn load_pack(&mut self, id: &str) -> Result<Option<PackChoice>> {
        let mut stmt = self.0.prepare_cached(&sql::pack_select(true, Q))?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(r) => Ok(Some(packs::pack_from_cells(read_cells(
                r,
                "packs",
                packs::PACK_COLUMNS,
            )?)?)),
            None => Ok(None),
        }
    }

    fn upsert_pack(&mut self, pack: &PackChoice) -> Result<()> {
        let mut stmt = self.0.prepare_cached(&sql::pack_upsert(Q))?;
        execute_cells(&mut stmt, &packs::pack_cells(pack))
    }

    fn load_pack_document(&mut self, id: &str) -> Result<Option<PackDocument>> {
        let mut stmt = self.0.prepare_cached(&sql::pack_document_select(true, Q))?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(r) => Ok(Some(packs::pack_document_from_cells(read_cells(
                r,
                "pack_documents",
                packs::PACK_DOCUMENT_COLUMNS,
            )?)?)),
            None => Ok(None),
        }
    }

    fn upsert_pack_document(&mut self, document: &PackDocument) -> Result<()> {
        let mut stmt = self.0.prepare_cached(&sql::pack_document_upsert(Q))?;
        execute_cells(&mut stmt, &packs::pack_document_cells(document))
    }

    fn load_parameter(&mut self, name: &str, from: NaiveDate) -> Result<Option<ParameterOverride>> {
        let mut stmt = self.0.prepare_cached(&sql::parameter_select(true, Q))?;
        let mut rows = stmt.query((name, date_sql(Some(from))))?;
        match rows.next()? {
            Some(r) => Ok(Some(packs::parameter_from_cells(read_cells(
                r,
                "parameter_overrides",
                packs::PARAMETER_COLUMNS,
            )?)?)),
            None => Ok(None),
        }
    }

    fn upsert_parameter(&mut self, parameter: &ParameterOverride) -> Result<()> {
        let mut stmt = self.0.prepare_cached(&sql::parameter_upsert(Q))?;
        execute_cells(&mut stmt, &packs::parameter_cells(parameter))
    }
}

impl FindingsTx for SqliteTx<'_> {
    fn placeholder(&self) -> sql::Placeholder {
        Q
    }

    fn query_cells(
        &mut self,
        statement: &str,
        params: &[String],
        table: &'static str,
        columns: Columns,
    ) -> Result<Vec<Vec<Cell>>> {
        let mut stmt = self.0.prepare_cached(statement)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        collect_rows(&mut rows, table, columns, Ok)
    }

    fn set_content_hashes(&mut self, hashes: &[(String, String)]) -> Result<()> {
        let mut stmt = self.0.prepare_cached(&sql::set_content_hash(Q))?;
        for (key, hash) in hashes {
            stmt.execute((key, hash))?;
        }
        Ok(())
    }

    fn failing_controls(&mut self, packs: &[String]) -> Result<Vec<(String, String)>> {
        if packs.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .0
            .prepare_cached(&sql::failing_controls(packs.len(), Q))?;
        let rows = stmt.query_map(params_from_iter(packs), |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn insert_findings(&mut self, rows: &[StoredFinding]) -> Result<()> {
        let mut stmt = self
            .0
            .prepare_cached(&sql::insert_into("findings", FINDING_COLUMNS, Q))?;
        for row in rows {
            execute_cells(&mut stmt, &findings::finding_cells(row))?;
        }
        Ok(())
    }

    fn update_findings(&mut self, rows: &[StoredFinding]) -> Result<()> {
        let mut stmt = self.0.prepare_cached(&sql::finding_update(Q))?;
        for row in rows {
            execute_cells(&mut stmt, &findings::finding_cells(row))?;
        }
        Ok(())
    }

    fn check_runs(&mut self) -> Result<HashMap<String, DateTime<Utc>>> {
        check_runs(self.0)
    }

    fn set_check_runs(
        &mut self,
        packs: &[String],
        at: DateTime<Utc>,
        audit_seq: Option<i64>,
    ) -> Result<()> {
        let mut stmt = self.0.prepare_cached(sql::SET_CHECK_RUN_Q)?;
        let at = timestamp_text(&at);
        for pack in packs {
            stmt.execute((pack, &at, audit_seq))?;
        }
        Ok(())
    }

    fn append_finding_events(&mut self, events: &[FindingEvent]) -> Result<()> {
        let mut stmt =
            self.0
                .prepare_cached(&sql::insert_into("finding_events", EVENT_COLUMNS, Q))?;
        for event in events {
            execute_cells(&mut stmt, &findings::event_cells(event))?;
        }
        Ok(())
    }
}

impl AuditTx for SqliteTx<'_> {
    fn lock_audit_head(&mut self) -> Result<(i64, String)> {
        // The transaction began IMMEDIATE: it already holds the write lock.
        Ok(self
            .0
            .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?)
    }

    fn append_audit(&mut self, records: &[AuditRecord]) -> Result<()> {
        let mut stmt = self.0.prepare_cached(&sql::audit_insert(Q))?;
        let mut payloads = self.0.prepare_cached(&sql::audit_payload_insert(Q))?;
        for r in records {
            stmt.execute(rusqlite::params![
                r.seq,
                r.at,
                r.actor,
                r.action,
                r.entity_type,
                r.entity_id,
                r.version,
                r.before_hash,
                r.after_hash,
                r.prev_hash,
                r.hash
            ])?;
            payloads.execute(rusqlite::params![r.seq, r.before, r.after])?;
        }
        Ok(())
    }

    fn entity_payloads(&mut self, entity_type: &str, entity_id: &str) -> Result<Vec<Payloads>> {
        let mut stmt = self.0.prepare_cached(&sql::entity_payloads(Q))?;
        let rows = stmt
            .query_map((entity_type, entity_id), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn erase_payload(
        &mut self,
        seq: i64,
        before: Option<&str>,
        after: Option<&str>,
        erased_by: i64,
    ) -> Result<()> {
        self.0
            .prepare_cached(&sql::audit_payload_erase(Q))?
            .execute((before, after, erased_by, seq))?;
        Ok(())
    }

    fn set_audit_head(&mut self, seq: i64, hash: &str) -> Result<()> {
        self.0.execute(
            "UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1",
            (seq, hash),
        )?;
        Ok(())
    }
}

impl Tx for SqliteTx<'_> {
    fn load(&mut self, register: Register, ids: &[&str]) -> Result<commit::StoredRows> {
        let rows = if ids.len() > LOAD_ALL_THRESHOLD {
            query_rows(self.0, register, &sql::select(register), &[])?
        } else {
            let mut rows = Vec::new();
            for chunk in ids.chunks(500) {
                let params: Vec<Sql> = chunk.iter().map(|id| Sql::Text((*id).to_owned())).collect();
                rows.extend(query_rows(
                    self.0,
                    register,
                    &sql::select_where_id_in(register, chunk.len(), Q),
                    &params,
                )?);
            }
            rows
        };
        Ok(rows.into_iter().map(|r| (r.id().to_owned(), r)).collect())
    }

    fn insert(&mut self, register: Register, rows: &[&Row]) -> Result<()> {
        let mut stmt = self.0.prepare_cached(&sql::insert(register, Q))?;
        for row in rows {
            stmt.execute(params_from_iter(row.values().iter().map(to_sql)))?;
        }
        Ok(())
    }

    fn update(&mut self, register: Register, rows: &[&Row]) -> Result<()> {
        let mut stmt = self.0.prepare_cached(&sql::update(register, Q))?;
        for row in rows {
            stmt.execute(params_from_iter(row.values().iter().map(to_sql)))?;
        }
        Ok(())
    }

    fn open_assignments(&mut self, spans: &[Assignment]) -> Result<()> {
        let mut stmt = self.0.prepare_cached(&sql::assignment_insert(Q))?;
        for a in spans {
            stmt.execute((
                &a.asset_tag,
                &a.person_id,
                date_sql(Some(a.from)),
                date_sql(a.until),
                a.opened_by,
                a.closed_by,
            ))?;
        }
        Ok(())
    }

    fn close_assignment(
        &mut self,
        asset_tag: &str,
        until: NaiveDate,
        closed_by: i64,
    ) -> Result<()> {
        self.0.prepare_cached(&sql::assignment_close(Q))?.execute((
            date_sql(Some(until)),
            closed_by,
            asset_tag,
        ))?;
        Ok(())
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn commit_creating(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        rows: Vec<Row>,
        new: &[(Register, &str)],
    ) -> Result<CommitSummary> {
        self.commit_checked(actor, at, rows, new, &[])
    }

    fn commit_expecting(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        rows: Vec<Row>,
        expected: &[Row],
    ) -> Result<CommitSummary> {
        self.commit_checked(actor, at, rows, &[], expected)
    }

    fn get(&self, register: Register, id: &str) -> Result<Option<Row>> {
        let conn = self.reader()?;
        Ok(query_rows(
            &conn,
            register,
            &sql::select_one(register, Q),
            &[Sql::Text(id.to_owned())],
        )?
        .pop())
    }

    fn list_where(&self, register: Register, field: &str, value: &str) -> Result<Vec<Row>> {
        let field = sql::known_field(register, field)?;
        let conn = self.reader()?;
        query_rows(
            &conn,
            register,
            &sql::select_where_ordered(register, field, Q),
            &[Sql::Text(value.to_owned())],
        )
    }

    fn list_where_any(
        &self,
        register: Register,
        field: &str,
        values: &[String],
    ) -> Result<Vec<Row>> {
        let field = sql::known_field(register, field)?;
        let conn = self.reader()?;
        let mut found = Vec::new();
        for chunk in sql::in_chunks(values) {
            let cells: Vec<Sql> = chunk.iter().map(|v| Sql::Text((*v).to_owned())).collect();
            let statement = sql::select_where_any(register, field, chunk.len(), Q);
            found.extend(query_rows(&conn, register, &statement, &cells)?);
        }
        sql::by_id(&mut found);
        Ok(found)
    }

    fn list_page(&self, page: &crate::ListPage<'_>) -> Result<(Vec<Row>, u64)> {
        let (rows, count, params, count_params) = sql::list_page(page, Q)?;
        let conn = self.reader()?;
        let cells: Vec<Sql> = params.into_iter().map(Sql::Text).collect();
        let found = query_rows(&conn, page.register, &rows, &cells)?;
        let n: i64 = conn.query_row(
            &count,
            params_from_iter(cells.iter().take(count_params)),
            |r| r.get(0),
        )?;
        Ok((found, u64::try_from(n).unwrap_or(0)))
    }

    fn list_fields(&self, register: Register, wanted: &[bool]) -> Result<Vec<Row>> {
        let conn = self.reader()?;
        let wanted = sql::wanted_fields(register, wanted);
        let mut stmt = conn.prepare_cached(&sql::select_fields(register, &wanted))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_fields(register, r, Some(&wanted))?);
        }
        sql::sort_by_id(&mut out);
        Ok(out)
    }

    fn each_fields(
        &self,
        register: Register,
        wanted: &[bool],
        each: &mut dyn FnMut(&mut Vec<Value>),
    ) -> Result<usize> {
        // No statement timeout (see the trait).
        let conn = self.long_reader()?;
        let wanted = sql::wanted_fields(register, wanted);
        let mut stmt = conn.prepare_cached(&sql::select_fields(register, &wanted))?;
        let mut rows = stmt.query([])?;
        crate::each_row(register, each, |values| {
            let Some(r) = rows.next()? else {
                return Ok(false);
            };
            read_values(register, r, Some(&wanted), values)?;
            Ok(true)
        })
    }

    fn count(&self, register: Register) -> Result<u64> {
        let conn = self.reader()?;
        let n: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM {}", register.name()),
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn ids(&self, register: Register) -> Result<Vec<String>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {} FROM {}",
            register.id_field().name,
            register.name()
        ))?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(ids)
    }

    fn assignments(&self, of: AssignmentsOf<'_>) -> Result<Vec<Assignment>> {
        let conn = self.reader()?;
        let (by_person, key) = match of {
            AssignmentsOf::Asset(tag) => (false, tag),
            AssignmentsOf::Person(id) => (true, id),
        };
        let mut stmt = conn.prepare_cached(&sql::assignments_select(by_person, Q))?;
        let mut rows = stmt.query([key])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let tag: String = r.get(0)?;
            let date = |i: usize, raw: Option<String>| -> Result<Option<NaiveDate>> {
                raw.map(|s| {
                    steward_model::read_date(&s).map_err(|e| StoreError::Corrupt {
                        table: "asset_assignments",
                        column: if i == 2 { "from_date" } else { "until_date" },
                        id: tag.clone(),
                        reason: e.to_string(),
                    })
                })
                .transpose()
            };
            let from = date(2, Some(r.get(2)?))?.unwrap_or_default();
            let until = date(3, r.get(3)?)?;
            out.push(Assignment {
                asset_tag: tag.clone(),
                person_id: r.get(1)?,
                from,
                until,
                opened_by: r.get(4)?,
                closed_by: r.get(5)?,
            });
        }
        Ok(out)
    }

    fn audit_records(
        &self,
        query: &AuditQuery,
        visit: &mut dyn FnMut(AuditRecord) -> Result<()>,
    ) -> Result<()> {
        let conn = self.long_reader()?;
        let mut stmt = conn.prepare(&sql::audit_select(
            query.entity.is_some(),
            query.before.is_some(),
            query.limit.is_some(),
            Q,
        ))?;
        let mut params: Vec<Sql> = Vec::new();
        if let Some((t, id)) = &query.entity {
            params.push(Sql::Text(t.clone()));
            params.push(Sql::Text(id.clone()));
        }
        if let Some(before) = query.before {
            params.push(Sql::Integer(before));
        }
        if let Some(limit) = query.limit {
            params.push(Sql::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        }
        let mut rows = stmt.query(params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            visit(read_audit(r)?)?;
        }
        Ok(())
    }

    fn record_findings_run(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        packs: &[String],
        exceptions: &[ExceptionCover],
        cover: crate::RunCover,
        next: &mut crate::NextBatch<'_>,
    ) -> Result<FindingsSummary> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let summary = findings::record_batches(
            &mut SqliteTx(&tx),
            actor,
            at,
            packs,
            exceptions,
            cover,
            next,
            // Its stored states read in the run's transaction: one writer, quick reads.
            None,
        )?;
        tx.commit()?;
        Ok(summary)
    }

    fn check_mark(&self, packs: &[String]) -> Result<Option<crate::CheckMark>> {
        let conn = self.reader()?;
        Ok(findings::earliest_mark(packs, &check_marks(&conn)?))
    }

    fn findings(&self, query: &FindingQuery) -> Result<Vec<StoredFinding>> {
        let conn = self.reader()?;
        let cursor = match (&query.after, query.as_of) {
            (Some(key), None) => {
                let found = conn
                    .prepare_cached(&sql::finding_cursor(Q))?
                    .query_row([key], |r| {
                        Ok(read_cells(r, "findings", sql::CURSOR_COLUMNS))
                    })
                    .optional()?;
                // A cursor no finding has: nothing comes after it.
                let Some(cells) = found else {
                    return Ok(Vec::new());
                };
                Some(sql::FindingCursor::from_cells(cells?)?)
            }
            _ => None,
        };
        let small_section = match (&query.pack, &query.section) {
            (Some(pack), Some(section)) => {
                let n: i64 = conn
                    .prepare_cached(&sql::section_size(Q))?
                    .query_row((pack, section, format!("{section}/")), |r| r.get(0))?;
                n < sql::SMALL_SECTION
            }
            _ => false,
        };
        let (statement, params) = sql::findings_select(query, Q, cursor.as_ref(), small_section);
        let mut stmt = conn.prepare_cached(&statement)?;
        let mut rows = stmt.query(params_from_iter(params.iter().map(cell_sql)))?;
        stored_findings(&mut rows)
    }

    fn count_findings(&self, query: &FindingQuery) -> Result<u64> {
        let conn = self.reader()?;
        let (statement, params) = sql::findings_count(query, Q);
        let n: i64 = conn.query_row(
            &statement,
            params_from_iter(params.iter().map(cell_sql)),
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn finding_tallies(&self) -> Result<Vec<FindingTally>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&sql::finding_tallies(Q))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let state: String = r.get(4)?;
            let first: String = r.get(5)?;
            let resolved: Option<String> = r.get(6)?;
            out.push(FindingTally::from_parts(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                &state,
                &first,
                resolved.as_deref(),
                r.get(7)?,
            )?);
        }
        Ok(out)
    }

    fn finding_history(&self, key: &str) -> Result<Vec<FindingEvent>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&sql::finding_history(Q))?;
        let mut rows = stmt.query([key])?;
        collect_rows(
            &mut rows,
            "finding_events",
            EVENT_COLUMNS,
            findings::event_from_cells,
        )
    }

    fn sign_in(&self, email: &str) -> Result<Option<SignIn>> {
        let conn = self.reader()?;
        load_sign_in(&conn, email)
    }

    fn sign_ins(&self) -> Result<Vec<SignIn>> {
        let conn = self.reader()?;
        query_sign_ins(&conn, &sql::sign_in_select(false, Q), &[])
    }

    fn sign_in_count(&self) -> Result<u64> {
        let conn = self.reader()?;
        count_sign_ins(&conn)
    }

    fn save_sign_in(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        action: &str,
        sign_in: &SignIn,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        sign_ins::save(&mut SqliteTx(&tx), actor, at, action, sign_in)?;
        tx.commit()?;
        Ok(())
    }

    fn consume_recovery_code(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        email: &str,
        code_hash: &str,
    ) -> Result<bool> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let used = sign_ins::consume_code(&mut SqliteTx(&tx), actor, at, email, code_hash)?;
        if used {
            tx.commit()?;
        }
        Ok(used)
    }

    fn create_first_sign_in(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        sign_in: &SignIn,
    ) -> Result<bool> {
        let mut conn = self.conn()?;
        // IMMEDIATE: the write lock is held before counting, so racing first runs serialise.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let created = sign_ins::create_first(&mut SqliteTx(&tx), actor, at, sign_in)?;
        if created {
            tx.commit()?;
        }
        Ok(created)
    }

    fn set_totp_step(&self, email: &str, step: i64) -> Result<bool> {
        let conn = self.conn()?;
        let n = conn
            .prepare_cached(&sql::totp_step_update(Q))?
            .execute((step, sign_ins::email_key(email)))?;
        Ok(n > 0)
    }

    fn create_session(&self, session: &Session) -> Result<()> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&sql::insert_into("sessions", SESSION_COLUMNS, Q))?;
        execute_cells(&mut stmt, &sign_ins::session_cells(session))
    }

    fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&sql::session_select(Q))?;
        let mut rows = stmt.query([token_hash])?;
        match rows.next()? {
            Some(r) => Ok(Some(sign_ins::session_from_cells(read_cells(
                r,
                "sessions",
                SESSION_COLUMNS,
            )?)?)),
            None => Ok(None),
        }
    }

    fn packs_run(&self) -> Result<Vec<String>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(sql::PACKS_RUN)?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    }

    fn connectors(&self) -> Result<Vec<ConnectorRow>> {
        self.plain(|tx| sources::connectors(tx))
    }

    fn save_connector(&self, actor: &str, at: DateTime<Utc>, row: &ConnectorRow) -> Result<()> {
        self.plain(|tx| sources::save_connector(tx, actor, at, row))
    }

    fn remove_connector(&self, actor: &str, at: DateTime<Utc>, name: &str) -> Result<bool> {
        self.plain(|tx| sources::remove_connector(tx, actor, at, name))
    }

    fn set_connector_run(&self, name: &str, run: &ConnectorRun) -> Result<bool> {
        self.plain(|tx| sources::set_run(tx, name, run))
    }

    fn source_links(&self, connector: &str) -> Result<Vec<SourceLink>> {
        self.plain(|tx| sources::links(tx, connector))
    }

    fn save_source_links(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        links: &[SourceLink],
    ) -> Result<()> {
        self.plain(|tx| sources::save_links(tx, actor, at, links))
    }

    fn record_provenance(
        &self,
        source: &str,
        synced_at: DateTime<Utc>,
        records: &[SourcedFields],
    ) -> Result<()> {
        self.plain(|tx| sources::record_provenance(tx, source, synced_at, records))
    }

    fn provenance(&self, register: Register, id: &str) -> Result<Vec<Provenance>> {
        self.plain(|tx| sources::provenance(tx, register.name(), id))
    }

    fn packs(&self) -> Result<Vec<PackChoice>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&sql::pack_select(false, Q))?;
        let mut rows = stmt.query([])?;
        collect_rows(
            &mut rows,
            "packs",
            packs::PACK_COLUMNS,
            packs::pack_from_cells,
        )
    }

    fn record_compliance(&self, rows: &[ComplianceDay]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut clear = tx.prepare_cached(&sql::compliance_clear(Q))?;
            let days: std::collections::BTreeSet<(&str, NaiveDate)> =
                rows.iter().map(|r| (r.pack.as_str(), r.day)).collect();
            for (pack, day) in days {
                execute_cells(
                    &mut clear,
                    &[Cell::Text(Some(pack.to_owned())), Cell::Date(Some(day))],
                )?;
            }
            let mut insert = tx.prepare_cached(&sql::compliance_insert(Q))?;
            for row in rows {
                execute_cells(&mut insert, &compliance::cells(row))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn compliance(&self, since: NaiveDate) -> Result<Vec<ComplianceDay>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&sql::compliance_select(Q))?;
        let mut rows = stmt.query([date_sql(Some(since))])?;
        collect_rows(
            &mut rows,
            "compliance",
            compliance::COMPLIANCE_COLUMNS,
            compliance::from_cells,
        )
    }

    fn set_pack_active(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        id: &str,
        active: bool,
    ) -> Result<bool> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = packs::set_active(&mut SqliteTx(&tx), actor, at, id, active)?;
        tx.commit()?;
        Ok(changed)
    }

    fn save_pack_document(&self, document: &PackDocument) -> Result<bool> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = packs::save_document(&mut SqliteTx(&tx), document)?;
        tx.commit()?;
        Ok(changed)
    }

    fn set_parameter_overrides(&self, parameters: &[ParameterOverride]) -> Result<usize> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut changed = 0;
        for parameter in parameters {
            changed += usize::from(packs::set_parameter(&mut SqliteTx(&tx), parameter)?);
        }
        tx.commit()?;
        Ok(changed)
    }

    fn parameter_overrides(&self) -> Result<Vec<ParameterOverride>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&sql::parameter_select(false, Q))?;
        let mut rows = stmt.query([])?;
        collect_rows(
            &mut rows,
            "parameter_overrides",
            packs::PARAMETER_COLUMNS,
            packs::parameter_from_cells,
        )
    }

    fn pack_documents(&self) -> Result<Vec<PackDocument>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&sql::pack_document_select(false, Q))?;
        let mut rows = stmt.query([])?;
        collect_rows(
            &mut rows,
            "pack_documents",
            packs::PACK_DOCUMENT_COLUMNS,
            packs::pack_document_from_cells,
        )
    }

    fn create_api_token(&self, token: &ApiTokenRow) -> Result<()> {
        self.plain(|tx| tokens::create(tx, token))
    }

    fn api_tokens(&self) -> Result<Vec<ApiTokenRow>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&tokens::token_select(TokenSelect::All, Q))?;
        let mut rows = stmt.query([])?;
        collect_rows(
            &mut rows,
            "api_tokens",
            TOKEN_COLUMNS,
            tokens::token_from_cells,
        )
    }

    fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiTokenRow>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&tokens::token_select(TokenSelect::ByHash, Q))?;
        let mut rows = stmt.query([token_hash])?;
        match rows.next()? {
            Some(r) => Ok(Some(tokens::token_from_cells(read_cells(
                r,
                "api_tokens",
                TOKEN_COLUMNS,
            )?)?)),
            None => Ok(None),
        }
    }

    fn revoke_api_token(
        &self,
        id: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ApiTokenRow>> {
        self.plain(|tx| tokens::revoke(tx, id, by, at))
    }

    fn count_api_request(&self, _token_id: &str, _minute: i64) -> Result<Option<u64>> {
        // One server serves an SQLite database: it counts in memory.
        Ok(None)
    }

    fn touch_api_token(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        // As a session's touch: a request must not wait behind a long write, so the touch is
        // skipped while the writer is busy and a later request makes it.
        let timer = SlowQuery::start(self.slow_query);
        let conn = match self.writer.try_lock() {
            Ok(conn) => conn,
            Err(std::sync::TryLockError::WouldBlock) => return Ok(()),
            Err(std::sync::TryLockError::Poisoned(_)) => return Err(StoreError::Poisoned),
        };
        let _timer = timer;
        conn.prepare_cached(&tokens::token_touch(Q))?
            .execute((timestamp_text(&at), id))?;
        Ok(())
    }

    fn create_webhook(&self, actor: &str, at: DateTime<Utc>, row: &WebhookRow) -> Result<()> {
        self.plain(|tx| webhooks::create(tx, actor, at, row))
    }

    fn set_webhook_enabled(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        id: &str,
        enabled: bool,
        reason: Option<&str>,
    ) -> Result<Option<WebhookRow>> {
        self.plain(|tx| webhooks::set_enabled(tx, actor, at, id, enabled, reason))
    }

    fn set_webhook_secret(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        id: &str,
        secret: &str,
    ) -> Result<bool> {
        self.plain(|tx| webhooks::set_secret(tx, actor, at, id, secret))
    }

    fn queue_deliveries(&self, deliveries: &[DeliveryRow]) -> Result<()> {
        self.plain(|tx| webhooks::queue(tx, deliveries))
    }

    fn queue_deliveries_once(
        &self,
        moments: &[(String, Vec<DeliveryRow>)],
        at: DateTime<Utc>,
    ) -> Result<usize> {
        self.plain(|tx| webhooks::queue_once(tx, moments, at))
    }

    fn record_delivery_attempt(
        &self,
        id: &str,
        at: DateTime<Utc>,
        status: Option<i64>,
        response: Option<&str>,
        delivered: bool,
        next_attempt_at: Option<DateTime<Utc>>,
        give_up: bool,
    ) -> Result<()> {
        let attempt = webhooks::Attempt {
            id,
            at,
            status,
            response,
            delivered,
            next_attempt_at,
            give_up,
        };
        self.plain(|tx| webhooks::record_attempt(tx, &attempt))
    }

    fn webhooks(&self) -> Result<Vec<WebhookRow>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&webhooks::webhook_select(WebhookSelect::All, Q))?;
        let mut rows = stmt.query([])?;
        collect_rows(
            &mut rows,
            "webhooks",
            WEBHOOK_COLUMNS,
            webhooks::webhook_from_cells,
        )
    }

    fn due_deliveries(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<DeliveryRow>> {
        self.deliveries(
            DeliverySelect::Due,
            &[
                Cell::Time(Some(now)),
                Cell::Int(Some(i64::try_from(limit).unwrap_or(i64::MAX))),
            ],
        )
    }

    fn deliveries_of(&self, webhook_id: &str, limit: u64) -> Result<Vec<DeliveryRow>> {
        self.deliveries(
            DeliverySelect::Of,
            &[
                Cell::Text(Some(webhook_id.to_owned())),
                Cell::Int(Some(i64::try_from(limit).unwrap_or(i64::MAX))),
            ],
        )
    }

    fn begin_sso_attempt(
        &self,
        attempt: &SsoAttemptRow,
        expired_before: DateTime<Utc>,
        most: u64,
    ) -> Result<bool> {
        self.plain(|tx| sso::begin_attempt(tx, attempt, expired_before, most))
    }

    fn take_sso_attempt(&self, state_hash: &str) -> Result<Option<SsoAttemptRow>> {
        self.plain(|tx| sso::take_attempt(tx, state_hash))
    }

    fn sso_link(&self, provider: &str, subject: &str) -> Result<Option<SsoLinkRow>> {
        self.plain(|tx| sso::link(tx, provider, subject))
    }

    fn sso_links(&self) -> Result<Vec<SsoLinkRow>> {
        self.plain(sso::links)
    }

    fn sso_links_of(&self, email: &str) -> Result<Vec<SsoLinkRow>> {
        self.plain(|tx| sso::links_of(tx, email))
    }

    fn save_sso_link(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        action: &str,
        link: &SsoLinkRow,
    ) -> Result<()> {
        self.plain(|tx| sso::save_link(tx, actor, at, action, link))
    }

    fn remove_sso_link(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        provider: &str,
        subject: &str,
    ) -> Result<bool> {
        self.plain(|tx| sso::remove_link(tx, actor, at, provider, subject))
    }

    fn visit(&self, token_hash: &str) -> Result<Option<Visit>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&sql::visit_select(Q))?;
        let mut rows = stmt.query([token_hash])?;
        match rows.next()? {
            Some(r) => Ok(Some(sign_ins::visit_from_cells(read_cells(
                r,
                "sessions",
                sign_ins::visit_columns(),
            )?)?)),
            None => Ok(None),
        }
    }

    fn touch_session(
        &self,
        token_hash: &str,
        last_seen: DateTime<Utc>,
        mfa_passed: bool,
    ) -> Result<()> {
        // A page read must not wait behind a long write (a check run holds the writer for as
        // long as it records): when the writer is busy the touch is skipped, and a later request
        // makes it. A session's idle limit is far longer than any write.
        let timer = SlowQuery::start(self.slow_query);
        let conn = match self.writer.try_lock() {
            Ok(conn) => conn,
            Err(std::sync::TryLockError::WouldBlock) => return Ok(()),
            Err(std::sync::TryLockError::Poisoned(_)) => return Err(StoreError::Poisoned),
        };
        let _timer = timer;
        conn.prepare_cached(&sql::session_touch(Q))?.execute((
            timestamp_text(&last_seen),
            mfa_passed,
            token_hash,
        ))?;
        Ok(())
    }

    fn delete_session(&self, token_hash: &str) -> Result<()> {
        let conn = self.conn()?;
        conn.prepare_cached(&sql::session_delete("token_hash", Q))?
            .execute([token_hash])?;
        Ok(())
    }

    fn delete_sessions_of(&self, email: &str) -> Result<u64> {
        let conn = self.conn()?;
        let n = conn
            .prepare_cached(&sql::session_delete("email", Q))?
            .execute([sign_ins::email_key(email)])?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn delete_sessions_before(&self, last_seen_before: DateTime<Utc>) -> Result<u64> {
        let conn = self.conn()?;
        let n = conn
            .prepare_cached(&sql::session_delete("last_seen", Q))?
            .execute([timestamp_text(&last_seen_before)])?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let conn = self.conn()?;
        let n = conn.prepare_cached(&sql::lease_take(Q))?.execute((
            name,
            holder,
            timestamp_text(&until),
            timestamp_text(&now),
        ))?;
        Ok(n > 0)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let conn = self.conn()?;
        conn.prepare_cached(&sql::lease_release(Q))?
            .execute((name, holder))?;
        Ok(())
    }

    fn record_sign_in_failure(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(&sql::sign_in_failures_forget(Q))?
            .execute([timestamp_text(&forget_before)])?;
        {
            let mut insert = tx.prepare_cached(&sql::sign_in_failure_insert(Q))?;
            for key in keys {
                insert.execute((key, timestamp_text(&at)))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn sign_in_failures(
        &self,
        key: &str,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DateTime<Utc>>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&sql::sign_in_failures_select(Q))?;
        let mut rows = stmt.query((key, timestamp_text(&since), i64::from(limit)))?;
        collect_rows(
            &mut rows,
            "sign_in_failures",
            sign_ins::FAILURE_COLUMNS,
            sign_ins::failure_from_cells,
        )
    }

    fn clear_sign_in_failures(&self, key: &str) -> Result<()> {
        let conn = self.conn()?;
        conn.prepare_cached(&sql::sign_in_failures_clear(Q))?
            .execute([key])?;
        Ok(())
    }

    fn reserve_sign_in_guess(
        &self,
        keys: &[(String, u32)],
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        admit: &mut crate::Admit<'_>,
    ) -> Result<bool> {
        let mut conn = self.conn()?;
        // The write lock from the start: no other reservation reads between our read and write.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(&sql::sign_in_failures_forget(Q))?
            .execute([timestamp_text(&since)])?;
        let mut recent = Vec::with_capacity(keys.len());
        {
            let mut select = tx.prepare_cached(&sql::sign_in_failures_select(Q))?;
            for (key, limit) in keys {
                let mut rows = select.query((key, timestamp_text(&since), i64::from(*limit)))?;
                let mut times = Vec::new();
                while let Some(r) = rows.next()? {
                    times.push(sign_ins::failure_from_cells(read_cells(
                        r,
                        "sign_in_failures",
                        sign_ins::FAILURE_COLUMNS,
                    )?)?);
                }
                recent.push(times);
            }
        }
        let admitted = admit(&recent);
        if admitted {
            let mut insert = tx.prepare_cached(&sql::sign_in_failure_insert(Q))?;
            for (key, _) in keys {
                insert.execute((key, timestamp_text(&at)))?;
            }
        }
        tx.commit()?;
        Ok(admitted)
    }

    fn release_sign_in_guess(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
        clear: &[String],
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut release = tx.prepare_cached(&sql::sign_in_failure_release(Q))?;
            for key in keys {
                release.execute((key, timestamp_text(&at)))?;
            }
            let mut forget = tx.prepare_cached(&sql::sign_in_failures_clear(Q))?;
            for key in clear {
                forget.execute([key])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn erase(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        register: Register,
        id: &str,
        fields: &[(&str, Value)],
        reason: &str,
    ) -> Result<i64> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seq = commit::erase(&mut SqliteTx(&tx), actor, at, register, id, fields, reason)?;
        tx.commit()?;
        Ok(seq)
    }

    fn audit_head(&self) -> Result<(i64, String)> {
        let conn = self.reader()?;
        let head = conn
            .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        Ok(head.unwrap_or((0, steward_model::audit::GENESIS.to_owned())))
    }

    fn record_audit_anchor(&self, anchor: &AuditAnchor) -> Result<()> {
        let recipients = anchors::recipients_text(anchor)?;
        let conn = self.conn()?;
        conn.prepare_cached(&sql::audit_anchor_insert(Q))?
            .execute((
                timestamp_text(&anchor.sent_at),
                anchor.seq,
                &anchor.hash,
                recipients,
            ))?;
        Ok(())
    }

    fn audit_anchors(&self) -> Result<Vec<AuditAnchor>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(sql::AUDIT_ANCHORS_SELECT)?;
        let mut rows = stmt.query([])?;
        collect_rows(
            &mut rows,
            "audit_anchors",
            anchors::ANCHOR_COLUMNS,
            anchors::anchor_from_cells,
        )
    }

    fn escalations_unmailed(&self) -> Result<Vec<FindingEvent>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&sql::escalations_unmailed())?;
        let mut rows = stmt.query([])?;
        collect_rows(
            &mut rows,
            "finding_events",
            EVENT_COLUMNS,
            findings::event_from_cells,
        )
    }

    fn record_mail_sent(&self, sent: &MailSent) -> Result<bool> {
        let cells = crate::sent::mail_sent_cells(sent)?;
        let conn = self.conn()?;
        let n = conn
            .prepare_cached(&sql::mail_sent_insert(Q))?
            .execute(params_from_iter(cells.iter().map(cell_sql)))?;
        Ok(n > 0)
    }

    fn mail_sent(&self, kind: &str, since: DateTime<Utc>) -> Result<Vec<MailSent>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&sql::mail_sent_select(Q))?;
        let mut rows = stmt.query((kind, timestamp_text(&since)))?;
        collect_rows(
            &mut rows,
            "mail_sent",
            crate::sent::MAIL_SENT_COLUMNS,
            crate::sent::mail_sent_from_cells,
        )
    }

    jobs::job_methods!();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of `table`, every column as SQLite holds it, in key order.
    fn rows_of(conn: &Connection, table: &str) -> Vec<Vec<Sql>> {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY seq"))
            .unwrap_or_else(|e| panic!("{e}"));
        let width = stmt.column_count();
        stmt.query_map([], |r| (0..width).map(|i| r.get::<_, Sql>(i)).collect())
            .and_then(Iterator::collect)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Migration 0033 rebuilds the audit tables keyed by the row number: every record and payload
    /// comes through as it was, version 1 and 2 alike, and the separate key indexes are gone.
    #[test]
    fn the_audit_log_keyed_by_rowid_keeps_every_record_as_it_was() {
        let mut conn = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(migrate::CREATE_TABLE)
            .unwrap_or_else(|e| panic!("{e}"));
        for m in migrate::MIGRATIONS.iter().filter(|m| m.version < 33) {
            conn.execute_batch(&m.spelt(false, SPELLINGS))
                .unwrap_or_else(|e| panic!("{e}"));
            conn.execute(
                "INSERT INTO steward_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                (m.version, m.name, "2026-01-01T00:00:00Z"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        conn.execute_batch(
            "INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, before_json, \
             after_json, prev_hash, hash) VALUES (1, '2026-01-02T00:00:00Z', 'cli:a', 'create', \
             'person', 'P1', NULL, '{\"id\":\"P1\"}', '', 'h1'); \
             INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, prev_hash, hash, \
             hash_version, before_hash, after_hash) VALUES (2, '2026-01-03T00:00:00Z', 'cli:a', \
             'update', 'person', 'P1', 'h1', 'h2', 2, 'b2', 'a2'), (3, '2026-01-04T00:00:00Z', \
             'web:x', 'erase', 'person', 'P1', 'h2', 'h3', 2, NULL, 'a3'); \
             INSERT INTO audit_payloads (seq, before_json, after_json, erased_by) VALUES \
             (2, '{\"id\":\"P1\"}', '{\"id\":\"P1\",\"name\":\"Siân\"}', 3), (3, NULL, '[]', NULL);",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (log, payloads) = (
            rows_of(&conn, "audit_log"),
            rows_of(&conn, "audit_payloads"),
        );
        assert_eq!((log.len(), payloads.len()), (3, 2));
        migrate_sqlite(&mut conn).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows_of(&conn, "audit_log"), log);
        assert_eq!(rows_of(&conn, "audit_payloads"), payloads);
        let indexes: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' \
                 AND tbl_name IN ('audit_log', 'audit_payloads') ORDER BY name",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(indexes, ["audit_log_entity"]);
        // The key is still a key: a second record 3 is refused.
        let again = conn.execute(
            "INSERT INTO audit_payloads (seq, after_json) VALUES (3, 'x')",
            [],
        );
        assert!(again.is_err(), "{again:?}");
    }
}
