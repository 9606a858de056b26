//! The PostgreSQL backend, for organisations that outgrow one machine: several stateless servers
//! can share one database, because every commit serialises on the audit head's row lock.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, Transaction};
use steward_model::audit::AuditRecord;
use steward_model::{
    Assignment, FieldType, Pence, Register, Row, SourcedFields, StoredFinding, Value,
};

use crate::anchors::{self, AuditAnchor};
use crate::commit::{self, AuditTx, CommitSummary, LOAD_ALL_THRESHOLD, Payloads, Tx};
use crate::compliance::{self, ComplianceDay};
use crate::connect::{PgManager, PgReaderManager, PgSession, PgTarget, ReaderError};
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
use crate::sql::{self, Placeholder::Dollar as D};
use crate::sso::{self, SsoAttemptRow, SsoLinkRow};
use crate::tokens::{self, ApiTokenRow, TOKEN_COLUMNS, TokenSelect};
use crate::webhooks::{
    self, DELIVERY_COLUMNS, DeliveryRow, DeliverySelect, WEBHOOK_COLUMNS, WebhookRow, WebhookSelect,
};
use crate::{
    AssignmentsOf, AuditQuery, Backend, FindingTally, Result, Store, StoreError, StoreOptions,
    migrate, stored_row,
};

/// Taken while migrating, so that servers starting together migrate once.
const MIGRATION_LOCK: i64 = 0x0053_5445_5741_5244; // "STEWARD"

/// Below this many rows a plain INSERT is cheaper than starting a COPY.
const COPY_THRESHOLD: usize = 32;

pub(crate) struct PgStore {
    /// `None` only while being dropped.
    pool: Option<r2d2::Pool<PgManager>>,
    /// Connections that stream whole registers (`each_fields`), made when first wanted and
    /// closed after a minute unused: at most one per register read side by side, beside the
    /// pool. `None` only while being dropped.
    readers: Option<r2d2::Pool<PgReaderManager>>,
    /// When a reader last failed to connect: for a while after, registers are read on the
    /// pool's connections instead (a server at its connection limit refuses readers, and each
    /// refusal would cost a wait).
    reader_refused: std::sync::Mutex<Option<std::time::Instant>>,
    /// Where the pool connects, to replace a lent connection found closed.
    target: PgTarget,
    slow_query: Option<Duration>,
    /// Started by the first caller of [`Store::changes`] (a server; a command has no use for it).
    changes: std::sync::OnceLock<crate::ChangeFeed>,
}

/// Adds `setting` (`name=value`) to the options every session opened to `target` starts with.
fn set_for_every_session(target: &mut PgTarget, setting: &str) {
    let mut options = target.config.get_options().unwrap_or_default().to_owned();
    if !options.is_empty() {
        options.push(' ');
    }
    options.push_str("-c ");
    options.push_str(setting);
    target.config.options(&options);
}

/// A pooled connection, lent for one store operation; one that took `slow_query` or longer is
/// logged with its duration and where it was used when it goes back.
pub(crate) struct PgConn<'a> {
    client: r2d2::PooledConnection<PgManager>,
    target: &'a PgTarget,
    /// Whether a statement has run on it since it was lent.
    used: bool,
    _timer: SlowQuery,
}

impl std::ops::Deref for PgConn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client.client
    }
}

impl std::ops::DerefMut for PgConn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client.client
    }
}

/// The client's own methods, each through the connection's prepared statements (they shadow
/// `Client`'s, which would parse and plan the statement on every call). A connection lent
/// without a check (see `PgManager::is_valid`) that proves closed at its first statement is
/// replaced and the statement run again: nothing ran on the closed one.
impl PgConn<'_> {
    fn again<T>(
        &mut self,
        run: impl Fn(&mut PgSession) -> Result<T, postgres::Error>,
    ) -> Result<T, postgres::Error> {
        let first = !self.used;
        self.used = true;
        match run(&mut self.client) {
            Err(e) if first && (gone(&e) || self.client.client.is_closed()) => {
                *self.client = PgSession::new(self.target.connect()?);
                run(&mut self.client)
            }
            other => other,
        }
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        self.again(|s| {
            let statement = s.statement(sql)?;
            s.client.query(&statement, params)
        })
    }

    fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<postgres::Row, postgres::Error> {
        self.again(|s| {
            let statement = s.statement(sql)?;
            s.client.query_one(&statement, params)
        })
    }

    fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<postgres::Row>, postgres::Error> {
        self.again(|s| {
            let statement = s.statement(sql)?;
            s.client.query_opt(&statement, params)
        })
    }

    fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        self.again(|s| {
            let statement = s.statement(sql)?;
            s.client.execute(&statement, params)
        })
    }

    /// A transaction, on a connection checked first if it has run nothing yet.
    fn transaction(&mut self) -> Result<Transaction<'_>, postgres::Error> {
        self.checked()?.transaction()
    }

    /// The client itself, checked first (an empty query, the connection replaced if it is gone)
    /// if it has run nothing yet: for what runs more than one statement on it.
    fn checked(&mut self) -> Result<&mut Client, postgres::Error> {
        if !self.used {
            self.used = true;
            if let Err(e) = self.client.client.simple_query("")
                && (gone(&e) || self.client.client.is_closed())
            {
                *self.client = PgSession::new(self.target.connect()?);
            }
        }
        Ok(&mut self.client.client)
    }
}

impl PgStore {
    /// One commit, refused if a row of `new` exists or one of `expected` is not as given.
    fn commit_checked(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        rows: Vec<Row>,
        new: &[(Register, &str)],
        expected: &[Row],
    ) -> Result<CommitSummary> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        if rows.len() > LOAD_ALL_THRESHOLD {
            unlimited(&mut tx)?;
        }
        let set_aside = SetAside::for_load(&mut tx, &rows)?;
        let summary = commit::run(&mut PgTx(&mut tx), actor, at, rows, new, expected)?;
        set_aside.put_back(&mut tx)?;
        tx.commit()?;
        let written = |c: &commit::Counts| c.created + c.updated;
        let mut tables: Vec<&str> = summary
            .by_register
            .iter()
            .filter(|(_, counts)| written(counts) >= ANALYZE_AFTER)
            .map(|(name, _)| *name)
            .collect();
        if summary.by_register.values().map(written).sum::<usize>() >= ANALYZE_AFTER {
            tables.extend(["audit_log", "audit_payloads", "asset_assignments"]);
        }
        analyze(&mut client, &tables);
        Ok(summary)
    }

    /// One transaction over the statements written once for both backends (`sources`).
    fn plain<T>(&self, f: impl FnOnce(&mut dyn PlainTx) -> Result<T>) -> Result<T> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let out = f(&mut PgTx(&mut tx))?;
        tx.commit()?;
        Ok(out)
    }

    pub(crate) fn open(url: &str, options: &StoreOptions) -> Result<PgStore> {
        let mut target = PgTarget::parse(url)?;
        if let Some(limit) = options.statement_timeout {
            // Set for every session the pool opens, so no statement can hold a connection for
            // ever; bulk work lifts it for its own transaction (`unlimited`).
            set_for_every_session(
                &mut target,
                &format!("statement_timeout={}", limit.as_millis()),
            );
        }
        // Every statement planned for its own values: the connections keep their prepared
        // statements, and after five runs PostgreSQL may switch one to a plan for any value,
        // which for a list over skewed data (one policy's few findings, another's many) reads
        // the wrong index. Planning costs far less than that.
        set_for_every_session(&mut target, "plan_cache_mode=force_custom_plan");
        tracing::debug!(tls = ?target.mode, "connecting to PostgreSQL");
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            .error_handler(Box::new(LogConnectError))
            .build(PgManager {
                target: target.clone(),
            })
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let readers = r2d2::Pool::builder()
            .max_size(READERS)
            .min_idle(Some(0))
            .idle_timeout(Some(Duration::from_secs(60)))
            .connection_timeout(Duration::from_secs(5))
            .error_handler(Box::new(LogConnectError))
            .build_unchecked(PgReaderManager {
                target: target.clone(),
            });
        let store = PgStore {
            pool: Some(pool),
            readers: Some(readers),
            reader_refused: std::sync::Mutex::new(None),
            target,
            slow_query: options.slow_query,
            changes: std::sync::OnceLock::new(),
        };
        migrate_pg(store.client()?.checked()?)?;
        Ok(store)
    }

    /// Migrates as the owner `url` connects as, then grants `app_role` (see [`grant_app_role`]).
    pub(crate) fn migrate_with_app_role(url: &str, app_role: &str) -> Result<()> {
        let mut client = PgTarget::parse(url)?.connect()?;
        migrate_pg(&mut client)?;
        grant_app_role(&mut client, app_role)
    }

    /// A connection from the pool, checked before it is lent: a broken one is replaced, so a
    /// restart or failover of the database costs only the operations in flight.
    #[track_caller]
    fn client(&self) -> Result<PgConn<'_>> {
        let timer = SlowQuery::start(self.slow_query);
        let pool = self.pool.as_ref().ok_or(StoreError::Poisoned)?;
        let client = pool
            .get()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(PgConn {
            client,
            target: &self.target,
            used: false,
            _timer: timer,
        })
    }

    /// An idle connection from the pool, if there is one now: for work that can as well be done
    /// on a connection already held, and must not wait for one nor take the last.
    #[track_caller]
    fn spare_client(&self) -> Option<PgConn<'_>> {
        let timer = SlowQuery::start(self.slow_query);
        let client = self.pool.as_ref()?.try_get()?;
        Some(PgConn {
            client,
            target: &self.target,
            used: false,
            _timer: timer,
        })
    }
}

/// Readers at most: as many registers as an estate read reads side by side.
const READERS: u32 = 4;

/// How long registers are read on the pool's connections after a reader could not connect.
const READER_REFUSED_FOR: Duration = Duration::from_secs(60);

impl PgStore {
    /// A reader to stream a register on, unless every reader is busy or one lately could not
    /// connect: then the caller reads on the pool's connections. Never waits for a busy one.
    fn reader(&self) -> Option<r2d2::PooledConnection<PgReaderManager>> {
        let readers = self.readers.as_ref()?;
        let refused = self.reader_refused.lock().map_or(true, |at| {
            at.is_some_and(|at| at.elapsed() < READER_REFUSED_FOR)
        });
        if refused {
            return None;
        }
        if let Some(reader) = readers.try_get() {
            return Some(reader);
        }
        let state = readers.state();
        if state.connections >= readers.max_size() {
            return None;
        }
        match readers.get() {
            Ok(reader) => Some(reader),
            Err(error) => {
                tracing::debug!(%error, "no reader: reading on the pool's connections");
                if let Ok(mut at) = self.reader_refused.lock() {
                    *at = Some(std::time::Instant::now());
                }
                None
            }
        }
    }
}

impl From<ReaderError> for StoreError {
    fn from(e: ReaderError) -> StoreError {
        match e {
            ReaderError::Postgres(e) => StoreError::Postgres(e),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

/// Whether an error says the connection itself is gone — closed, cut, or ended by the server
/// (an administrator's or a crash's shutdown) — so that nothing more will run on it. The server's
/// parting message can arrive before the client sees the socket close.
fn gone(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.is_closed()
        || e.code().is_some_and(|c| {
            *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
        })
        || std::error::Error::source(e)
            .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
}

/// Rows in one commit from which a load into empty registers sets their references aside and
/// checks each reference once, at the end, by one query per foreign key ([`SetAside`]).
const BULK_LOAD: usize = 10_000;

/// Whether every table named holds no row.
fn all_empty(tx: &mut Transaction<'_>, tables: &[&str]) -> Result<bool> {
    for table in tables {
        let any: bool = tx
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM {})", quote_ident(table)),
                &[],
            )?
            .try_get(0)?;
        if any {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `name` as an SQL identifier, quoted.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Foreign keys taken off tables for a bulk load into them, put back (which checks every row
/// against them, by one query each) before the transaction commits.
///
/// PostgreSQL checks a deferred reference at commit one row at a time: 35 s of a 100,000-person
/// import's 71 s, for references the import has already checked. Putting a key back checks the
/// whole table at once (under a second for all of that import's). Both happen in the load's own
/// transaction, so no other transaction ever sees a table without its keys, and a failure rolls
/// back to the keys as they were. Only for tables this role owns (the app role owns none, and its
/// loads keep the row-by-row check) and, in imports, only when they are empty: dropping a key
/// locks its table against readers until the commit, which a database in use must not see.
#[derive(Debug, Default)]
#[must_use = "the keys set aside must be put back before the commit"]
pub(crate) struct SetAside {
    /// Each key's table, quoted name and definition, as the catalog gives them.
    keys: Vec<(String, String, String)>,
}

impl SetAside {
    /// For a commit of `rows`: the keys of the tables it writes, when it is a bulk load (at least
    /// [`BULK_LOAD`] rows) into tables that are all empty; nothing otherwise.
    fn for_load(tx: &mut Transaction<'_>, rows: &[Row]) -> Result<SetAside> {
        if rows.len() < BULK_LOAD {
            return Ok(SetAside::default());
        }
        // The head first, as every writer takes it: no writer holds it waiting on a table that
        // setting references aside has locked.
        PgTx(tx).lock_audit_head()?;
        let mut tables: Vec<&str> = rows.iter().map(|r| r.register().name()).collect();
        tables.sort_unstable();
        tables.dedup();
        if tables.contains(&Register::Assets.name()) {
            tables.push("asset_assignments");
        }
        if !all_empty(tx, &tables)? {
            return Ok(SetAside::default());
        }
        SetAside::references_of(tx, &tables)
    }

    /// Takes off the foreign keys of `tables` (those that reference other rows), if this role
    /// owns every one of the tables; nothing otherwise.
    pub(crate) fn references_of(tx: &mut Transaction<'_>, tables: &[&str]) -> Result<SetAside> {
        let names: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
        let owned: Option<bool> = tx
            .query_one(
                "SELECT bool_and(pg_has_role(c.relowner, 'MEMBER')) FROM pg_class c \
                 WHERE c.oid IN (SELECT to_regclass(quote_ident(t)) FROM unnest($1::text[]) t)",
                &[&names],
            )?
            .try_get(0)?;
        if owned != Some(true) {
            tracing::debug!(
                ?tables,
                "references checked row by row: this role does not own the tables"
            );
            return Ok(SetAside::default());
        }
        let keys = tx
            .query(
                "SELECT conrelid::regclass::text, quote_ident(conname), \
                 pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' \
                 AND conrelid IN (SELECT to_regclass(quote_ident(t)) FROM unnest($1::text[]) t) \
                 ORDER BY conrelid::regclass::text, conname",
                &[&names],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<Vec<(String, String, String)>>>()?;
        for (table, name, _) in &keys {
            tx.batch_execute(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}"))?;
        }
        tracing::debug!(keys = keys.len(), "references set aside for a bulk load");
        Ok(SetAside { keys })
    }

    /// Puts the keys back, each checked against every row of its table.
    pub(crate) fn put_back(self, tx: &mut Transaction<'_>) -> Result<()> {
        let started = std::time::Instant::now();
        for (table, name, definition) in &self.keys {
            tx.batch_execute(&format!(
                "ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
            ))?;
        }
        if !self.keys.is_empty() {
            tracing::debug!(
                keys = self.keys.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "references put back and checked"
            );
        }
        Ok(())
    }
}

/// Rows written to one table by one transaction from which PostgreSQL's statistics of it are
/// read afresh at once. After a large import, autovacuum may take minutes to get there, and until
/// then the planner guesses: a page reading a team's usage by asset took 100 ms, not 1, on a
/// 100,000-person estate just imported.
const ANALYZE_AFTER: usize = 10_000;

/// `ANALYZE` of the tables named, each in a transaction of its own with no statement timeout,
/// through the owner's `steward_analyze` (migration 0031: the app role owns no table). The change
/// is already committed: a failure is logged, never returned, for statistics only make plans
/// better.
fn analyze(client: &mut Client, tables: &[&str]) {
    for table in tables {
        let started = std::time::Instant::now();
        let done = (|| -> Result<()> {
            let mut tx = client.transaction()?;
            unlimited(&mut tx)?;
            tx.execute("SELECT steward_analyze($1)", &[table])?;
            Ok(tx.commit()?)
        })();
        match done {
            Ok(()) => tracing::debug!(
                table,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "statistics read afresh after a large write"
            ),
            Err(error) => tracing::warn!(table, %error, "could not read statistics afresh"),
        }
    }
}

/// Lifts the session's statement timeout for the rest of a transaction: imports, check runs and
/// reading the whole audit log take as long as they take.
fn unlimited(tx: &mut Transaction<'_>) -> Result<()> {
    tx.batch_execute("SET LOCAL statement_timeout = 0")?;
    Ok(())
}

/// Connection failures go to the log (without the url's password: the `postgres` crate's errors
/// never hold it).
#[derive(Debug)]
struct LogConnectError;

impl<E: std::error::Error> r2d2::HandleError<E> for LogConnectError {
    fn handle_error(&self, error: E) {
        tracing::warn!(%error, "cannot connect to the database");
    }
}

impl PgStore {
    /// Runs job statements in one transaction (see the `jobs` module).
    fn with_jobs<T>(&self, work: impl FnOnce(&mut dyn jobs::JobsSql) -> Result<T>) -> Result<T> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let out = work(&mut PgJobs(&mut tx))?;
        tx.commit()?;
        Ok(out)
    }

    fn read_jobs<T>(&self, work: impl FnOnce(&mut dyn jobs::JobsSql) -> Result<T>) -> Result<T> {
        self.with_jobs(work)
    }
}

struct PgJobs<'a, 'b>(&'b mut Transaction<'a>);

impl jobs::JobsSql for PgJobs<'_, '_> {
    fn placeholder(&self) -> sql::Placeholder {
        D
    }

    fn lock_queue(&mut self) -> Result<()> {
        self.0.execute(jobs::PG_QUEUE_LOCK, &[])?;
        Ok(())
    }

    fn execute(&mut self, statement: &str, params: &[Cell]) -> Result<u64> {
        Ok(self.0.execute(statement, &refs(&cell_params(params)))?)
    }

    fn query(
        &mut self,
        statement: &str,
        params: &[Cell],
        columns: Columns,
    ) -> Result<Vec<Vec<Cell>>> {
        self.0
            .query(statement, &refs(&cell_params(params)))?
            .iter()
            .map(|r| read_cells(r, columns))
            .collect()
    }
}

impl Drop for PgStore {
    /// The blocking client runs its own runtime, and closing it inside an async runtime's worker
    /// would panic; a short-lived thread closes the pool wherever the store is dropped.
    fn drop(&mut self) {
        let (pool, readers) = (self.pool.take(), self.readers.take());
        let _ = std::thread::spawn(move || drop((pool, readers))).join();
    }
}

/// Migrates when the schema is behind this build. A role that may not create tables in the schema
/// (the restricted role Steward connects as, see [`grant_app_role`]) finds it current and
/// migrates nothing; if it is not current, it is told to run `steward migrate` as the owner.
fn migrate_pg(client: &mut Client) -> Result<()> {
    let row = client.query_one(
        "SELECT to_regclass('steward_migrations') IS NOT NULL, \
         has_schema_privilege(current_schema(), 'CREATE')",
        &[],
    )?;
    let (exists, may_create): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
    let current: i64 = if exists {
        client
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM steward_migrations",
                &[],
            )?
            .try_get(0)?
    } else {
        0
    };
    if current == migrate::latest() {
        return Ok(());
    }
    if current > migrate::latest() {
        return Err(StoreError::TooNew {
            found: current,
            known: migrate::latest(),
        });
    }
    if !may_create && current < migrate::latest() {
        return Err(StoreError::NeedsMigration {
            found: current,
            known: migrate::latest(),
        });
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(migrate::CREATE_TABLE)?;
    migrate::run(&mut PgMigrator(&mut tx))?;
    tx.commit()?;
    Ok(())
}

/// Creates (if need be) the role Steward connects as and grants it what it needs on every table
/// of the schema — and on `audit_log` only INSERT and SELECT, so that the log is append-only for
/// it. Run as the schema's owner after migrating; running it again changes nothing.
pub(crate) fn grant_app_role(client: &mut Client, role: &str) -> Result<()> {
    let valid = role.len() <= 63
        && role.starts_with(|c: char| c.is_ascii_alphabetic())
        && role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(StoreError::RoleName(role.to_owned()));
    }
    let owner: String = client
        .query_one("SELECT current_user::TEXT", &[])?
        .try_get(0)?;
    if owner.eq_ignore_ascii_case(role) {
        return Err(StoreError::RoleName(format!(
            "{role}: the app role must not be the owner that migrates"
        )));
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let exists = tx
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role])?
        .is_some();
    if !exists {
        tx.batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN"))?;
    }
    // The role name is checked above: letters, digits and underscores only.
    tx.batch_execute(&format!(
        "DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO \"{role}\"', current_schema()); \
           EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO \"{role}\"', current_schema()); \
           EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO \"{role}\"', current_schema()); END $$;
         REVOKE UPDATE, DELETE ON audit_log FROM \"{role}\";
         REVOKE DELETE ON audit_payloads FROM \"{role}\";
         REVOKE INSERT, DELETE ON audit_head FROM \"{role}\";
         REVOKE INSERT, UPDATE, DELETE ON steward_migrations FROM \"{role}\";"
    ))?;
    tx.commit()?;
    Ok(())
}

struct PgMigrator<'a, 'b>(&'b mut Transaction<'a>);

impl migrate::Migrator for PgMigrator<'_, '_> {
    fn current(&mut self) -> Result<i64> {
        let row = self.0.query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM steward_migrations",
            &[],
        )?;
        Ok(row.try_get(0)?)
    }
    fn is_postgres(&self) -> bool {
        true
    }
    fn spellings(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("COLLATE_BYTES", "COLLATE \"C\""),
            ("GENERATED_KIND", "STORED"),
        ]
    }
    fn execute_batch(&mut self, sql: &str) -> std::result::Result<(), String> {
        self.0.batch_execute(sql).map_err(|e| e.to_string())
    }
    fn record(&mut self, m: &migrate::Migration, applied_at: &str) -> Result<()> {
        self.0.execute(
            "INSERT INTO steward_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &applied_at],
        )?;
        Ok(())
    }
}

type Param = Box<dyn ToSql + Sync>;

/// A value as a parameter of the column's own type; a null is typed too, so PostgreSQL accepts it.
fn to_param(ty: FieldType, value: &Value) -> Param {
    match (ty, value) {
        (_, Value::Text(s)) => Box::new(s.clone()),
        (_, Value::Bool(b)) => Box::new(*b),
        (_, Value::Date(d)) => Box::new(*d),
        (_, Value::Timestamp(t)) => Box::new(*t),
        (_, Value::Money(p)) => Box::new(p.0),
        (_, Value::Int(n)) => Box::new(*n),
        (FieldType::Bool, Value::Null) => Box::new(None::<bool>),
        (FieldType::Date, Value::Null) => Box::new(None::<NaiveDate>),
        (FieldType::Timestamp, Value::Null) => Box::new(None::<DateTime<Utc>>),
        (FieldType::Money | FieldType::Int, Value::Null) => Box::new(None::<i64>),
        (_, Value::Null) => Box::new(None::<String>),
    }
}

fn row_params(row: &Row) -> Vec<Param> {
    row.register()
        .fields()
        .iter()
        .zip(row.values())
        .map(|(f, v)| to_param(f.ty, v))
        .collect()
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref()).collect()
}

fn read_row(register: Register, r: &postgres::Row) -> Result<Row> {
    read_fields(register, r, None)
}

/// A row of which only the fields `wanted` marks were selected, in order (all where `None`);
/// the others are null.
fn read_fields(register: Register, r: &postgres::Row, wanted: Option<&[bool]>) -> Result<Row> {
    let mut values = Vec::with_capacity(register.fields().len());
    read_values(register, r, wanted, &mut values)?;
    stored_row(register, values)
}

/// [`read_fields`]' values, pushed onto `values`.
fn read_values(
    register: Register,
    r: &postgres::Row,
    wanted: Option<&[bool]>,
    values: &mut Vec<Value>,
) -> Result<()> {
    let fields = register.fields();
    let mut column = 0;
    for (n, f) in fields.iter().enumerate() {
        if wanted.is_some_and(|w| !w.get(n).copied().unwrap_or(false)) {
            values.push(Value::Null);
            continue;
        }
        let i = column;
        column += 1;
        let value = match f.ty {
            FieldType::Bool => r
                .try_get::<_, Option<bool>>(i)?
                .map_or(Value::Null, Value::Bool),
            FieldType::Date => r
                .try_get::<_, Option<NaiveDate>>(i)?
                .map_or(Value::Null, Value::Date),
            FieldType::Timestamp => r
                .try_get::<_, Option<DateTime<Utc>>>(i)?
                .map_or(Value::Null, Value::Timestamp),
            FieldType::Money => r
                .try_get::<_, Option<i64>>(i)?
                .map_or(Value::Null, |p| Value::Money(Pence(p))),
            FieldType::Int => r
                .try_get::<_, Option<i64>>(i)?
                .map_or(Value::Null, Value::Int),
            FieldType::Text
            | FieldType::Id
            | FieldType::Slug
            | FieldType::Email
            | FieldType::Enum(_)
            | FieldType::Month
            | FieldType::Country
            | FieldType::Countries => r
                .try_get::<_, Option<String>>(i)?
                .map_or(Value::Null, Value::Text),
        };
        values.push(value);
    }
    Ok(())
}

/// A record as `sql::AUDIT_SELECT_COLUMNS` reads it: version 1 payloads from the log itself,
/// version 2 payloads from `audit_payloads`.
fn read_audit(r: &postgres::Row) -> Result<AuditRecord> {
    let version: i32 = r.try_get(10)?;
    let (before, after) = if version == steward_model::audit::V1 {
        (r.try_get(6)?, r.try_get(7)?)
    } else {
        (r.try_get(13)?, r.try_get(14)?)
    };
    Ok(AuditRecord {
        seq: r.try_get(0)?,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        entity_type: r.try_get(4)?,
        entity_id: r.try_get(5)?,
        before,
        after,
        version,
        before_hash: r.try_get(11)?,
        after_hash: r.try_get(12)?,
        erased_by: r.try_get(15)?,
        prev_hash: r.try_get(8)?,
        hash: r.try_get(9)?,
    })
}

fn copy_opt(out: &mut String, text: Option<&str>) {
    match text {
        Some(s) => copy_text(out, s),
        None => out.push_str("\\N"),
    }
}

/// One cell in COPY's text format.
fn copy_cell(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("\\N"),
        Value::Text(s) => copy_text(out, s),
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Date(d) => steward_model::push_date(out, *d),
        Value::Timestamp(t) => out.push_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true)),
        Value::Money(p) => {
            let _ = write!(out, "{}", p.0);
        }
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
    }
}

/// One text in COPY's text format: backslash, newline, carriage return and tab escaped.
pub(crate) fn copy_text(out: &mut String, s: &str) {
    steward_model::push_escaped(
        out,
        s,
        |b| matches!(b, b'\\' | b'\n' | b'\r' | b'\t'),
        |b, out| {
            out.push('\\');
            out.push(match b {
                b'\n' => 'n',
                b'\r' => 'r',
                b'\t' => 't',
                _ => '\\',
            });
        },
    );
}

/// Streams `lines` rows into `COPY table (columns)`, a chunk at a time.
fn copy_in<T>(
    tx: &mut Transaction<'_>,
    statement: &str,
    items: &[T],
    mut line: impl FnMut(&mut String, &T),
) -> Result<()> {
    let mut writer = tx.copy_in(statement)?;
    let mut buf = String::with_capacity(1 << 20);
    for item in items {
        line(&mut buf, item);
        buf.push('\n');
        if buf.len() > (1 << 20) {
            writer.write_all(buf.as_bytes()).map_err(copy_failed)?;
            buf.clear();
        }
    }
    writer.write_all(buf.as_bytes()).map_err(copy_failed)?;
    writer.finish()?;
    Ok(())
}

fn copy_failed(e: std::io::Error) -> StoreError {
    StoreError::Corrupt {
        table: "copy",
        column: "",
        id: String::new(),
        reason: e.to_string(),
    }
}

fn cells(out: &mut String, values: &[Value]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        copy_cell(out, v);
    }
}

fn opt_i64(out: &mut String, v: Option<i64>) {
    match v {
        Some(n) => out.push_str(&n.to_string()),
        None => out.push_str("\\N"),
    }
}

fn cell_param(cell: &Cell) -> Param {
    match cell {
        Cell::Text(t) => Box::new(t.clone()),
        Cell::Int(n) => Box::new(*n),
        Cell::Bool(b) => Box::new(*b),
        Cell::Date(d) => Box::new(*d),
        Cell::Time(t) => Box::new(*t),
    }
}

fn cell_params(cells: &[Cell]) -> Vec<Param> {
    cells.iter().map(cell_param).collect()
}

/// One row's cells, read as the columns' kinds say.
fn read_cells(r: &postgres::Row, columns: Columns) -> Result<Vec<Cell>> {
    let mut cells = Vec::with_capacity(columns.len());
    for (i, (_, kind)) in columns.iter().enumerate() {
        cells.push(match kind {
            Kind::Text => Cell::Text(r.try_get(i)?),
            Kind::Int => Cell::Int(r.try_get(i)?),
            Kind::Bool => Cell::Bool(r.try_get(i)?),
            Kind::Date => Cell::Date(r.try_get(i)?),
            Kind::Time => Cell::Time(r.try_get(i)?),
        });
    }
    Ok(cells)
}

/// One cell in COPY's text format.
fn copy_any(out: &mut String, cell: &Cell) {
    match cell {
        Cell::Text(Some(s)) => copy_text(out, s),
        Cell::Int(Some(n)) => out.push_str(&n.to_string()),
        Cell::Bool(Some(b)) => out.push(if *b { 't' } else { 'f' }),
        Cell::Date(Some(d)) => steward_model::push_date(out, *d),
        Cell::Time(Some(t)) => out.push_str(&findings::time_text(t)),
        Cell::Text(None)
        | Cell::Int(None)
        | Cell::Bool(None)
        | Cell::Date(None)
        | Cell::Time(None) => out.push_str("\\N"),
    }
}

/// Inserts rows of cells: COPY for many, prepared INSERTs for a few.
fn insert_cells<T>(
    tx: &mut Transaction<'_>,
    table: &str,
    columns: Columns,
    items: &[T],
    cells: impl Fn(&T) -> Vec<Cell>,
) -> Result<()> {
    if items.len() >= COPY_THRESHOLD {
        let statement = format!(
            "COPY {table} ({}) FROM STDIN",
            sql::column_list(columns, "")
        );
        return copy_in(tx, &statement, items, |out, item| {
            for (i, cell) in cells(item).iter().enumerate() {
                if i > 0 {
                    out.push('\t');
                }
                copy_any(out, cell);
            }
        });
    }
    if items.is_empty() {
        return Ok(());
    }
    let stmt = tx.prepare(&sql::insert_into(table, columns, D))?;
    for item in items {
        tx.execute(&stmt, &refs(&cell_params(&cells(item))))?;
    }
    Ok(())
}

/// The last run of every pack, for refusing a run older than one recorded.
fn check_runs(client: &mut impl GenericClient) -> Result<HashMap<String, DateTime<Utc>>> {
    Ok(check_marks(client)?
        .into_iter()
        .map(|(pack, (_, at))| (pack, at))
        .collect())
}

/// Every pack's last run: the audit log's head when it began (if kept) and its time.
fn check_marks(client: &mut impl GenericClient) -> Result<findings::CheckMarks> {
    client
        .query(sql::CHECK_MARKS, &[])?
        .iter()
        .map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?))))
        .collect()
}

fn sign_ins_from(rows: &[postgres::Row]) -> Result<Vec<SignIn>> {
    rows.iter()
        .map(|r| sign_ins::sign_in_from_cells(read_cells(r, SIGN_IN_COLUMNS)?))
        .collect()
}

fn load_sign_in(client: &mut impl GenericClient, email: &str) -> Result<Option<SignIn>> {
    let rows = client.query(
        &sql::sign_in_select(true, D),
        &[&sign_ins::email_key(email)],
    )?;
    Ok(sign_ins_from(&rows)?.pop())
}

fn count_sign_ins(client: &mut impl GenericClient) -> Result<u64> {
    let n: i64 = client
        .query_one("SELECT COUNT(*) FROM sign_ins", &[])?
        .try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

struct PgTx<'a, 'b>(&'b mut Transaction<'a>);

impl PlainTx for PgTx<'_, '_> {
    fn placeholder(&self) -> sql::Placeholder {
        D
    }

    fn exec(&mut self, sql: &str, cells: &[Cell]) -> Result<u64> {
        Ok(self.0.execute(sql, &refs(&cell_params(cells)))?)
    }

    fn rows(
        &mut self,
        sql: &str,
        cells: &[Cell],
        _table: &'static str,
        columns: crate::findings::Columns,
    ) -> Result<Vec<Vec<Cell>>> {
        self.0
            .query(sql, &refs(&cell_params(cells)))?
            .iter()
            .map(|r| read_cells(r, columns))
            .collect()
    }
}

impl SignInTx for PgTx<'_, '_> {
    fn load_sign_in(&mut self, email: &str) -> Result<Option<SignIn>> {
        load_sign_in(self.0, email)
    }

    fn count_sign_ins(&mut self) -> Result<u64> {
        count_sign_ins(self.0)
    }

    fn upsert_sign_in(&mut self, sign_in: &SignIn) -> Result<()> {
        self.0.execute(
            &sql::sign_in_upsert(D),
            &refs(&cell_params(&sign_ins::sign_in_cells(sign_in))),
        )?;
        Ok(())
    }
}

impl crate::packs::PackTx for PgTx<'_, '_> {
    fn load_pack(&mut self, id: &str) -> Result<Option<PackChoice>> {
        self.0
            .query_opt(&sql::pack_select(true, D), &[&id])?
            .map(|r| packs::pack_from_cells(read_cells(&r, packs::PACK_COLUMNS)?))
            .transpose()
    }

    fn upsert_pack(&mut self, pack: &PackChoice) -> Result<()> {
        self.0.execute(
            &sql::pack_upsert(D),
            &refs(&cell_params(&packs::pack_cells(pack))),
        )?;
        Ok(())
    }

    fn load_pack_document(&mut self, id: &str) -> Result<Option<PackDocument>> {
        self.0
            .query_opt(&sql::pack_document_select(true, D), &[&id])?
            .map(|r| packs::pack_document_from_cells(read_cells(&r, packs::PACK_DOCUMENT_COLUMNS)?))
            .transpose()
    }

    fn upsert_pack_document(&mut self, document: &PackDocument) -> Result<()> {
        self.0.execute(
            &sql::pack_document_upsert(D),
            &refs(&cell_params(&packs::pack_document_cells(document))),
        )?;
        Ok(())
    }

    fn load_parameter(&mut self, name: &str, from: NaiveDate) -> Result<Option<ParameterOverride>> {
        self.0
            .query_opt(&sql::parameter_select(true, D), &[&name, &from])?
            .map(|r| packs::parameter_from_cells(read_cells(&r, packs::PARAMETER_COLUMNS)?))
            .transpose()
    }

    fn upsert_parameter(&mut self, parameter: &ParameterOverride) -> Result<()> {
        self.0.execute(
            &sql::parameter_upsert(D),
            &refs(&cell_params(&packs::parameter_cells(parameter))),
        )?;
        Ok(())
    }
}

impl FindingsTx for PgTx<'_, '_> {
    fn placeholder(&self) -> sql::Placeholder {
        D
    }

    fn query_cells(
        &mut self,
        statement: &str,
        params: &[String],
        _table: &'static str,
        columns: Columns,
    ) -> Result<Vec<Vec<Cell>>> {
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.0
            .query(statement, &params)?
            .iter()
            .map(|r| read_cells(r, columns))
            .collect()
    }

    fn set_content_hashes(&mut self, hashes: &[(String, String)]) -> Result<()> {
        if hashes.is_empty() {
            return Ok(());
        }
        let stmt = self.0.prepare(&sql::set_content_hash(D))?;
        for (key, hash) in hashes {
            self.0.execute(&stmt, &[key, hash])?;
        }
        Ok(())
    }

    fn failing_controls(&mut self, packs: &[String]) -> Result<Vec<(String, String)>> {
        if packs.is_empty() {
            return Ok(Vec::new());
        }
        let params: Vec<Param> = packs.iter().map(|p| Box::new(p.clone()) as Param).collect();
        let rows = self
            .0
            .query(&sql::failing_controls(packs.len(), D), &refs(&params))?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    fn insert_findings(&mut self, rows: &[StoredFinding]) -> Result<()> {
        insert_cells(
            self.0,
            "findings",
            FINDING_COLUMNS,
            rows,
            findings::finding_cells,
        )
    }

    fn update_findings(&mut self, rows: &[StoredFinding]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let stmt = self.0.prepare(&sql::finding_update(D))?;
        for row in rows {
            self.0
                .execute(&stmt, &refs(&cell_params(&findings::finding_cells(row))))?;
        }
        Ok(())
    }

    fn check_runs(&mut self) -> Result<HashMap<String, DateTime<Utc>>> {
        check_runs(&mut *self.0)
    }

    fn set_check_runs(
        &mut self,
        packs: &[String],
        at: DateTime<Utc>,
        audit_seq: Option<i64>,
    ) -> Result<()> {
        let stmt = self.0.prepare(sql::SET_CHECK_RUN_D)?;
        for pack in packs {
            self.0.execute(&stmt, &[pack, &at, &audit_seq])?;
        }
        Ok(())
    }

    fn append_finding_events(&mut self, events: &[FindingEvent]) -> Result<()> {
        insert_cells(
            self.0,
            "finding_events",
            EVENT_COLUMNS,
            events,
            findings::event_cells,
        )
    }
}

impl AuditTx for PgTx<'_, '_> {
    fn lock_audit_head(&mut self) -> Result<(i64, String)> {
        let r = self.0.query_one(
            "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
            &[],
        )?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }

    fn append_audit(&mut self, records: &[AuditRecord]) -> Result<()> {
        if records.len() >= COPY_THRESHOLD {
            let statement = format!("COPY audit_log ({}) FROM STDIN", sql::AUDIT_COLUMNS);
            copy_in(self.0, &statement, records, |out, r| {
                opt_i64(out, Some(r.seq));
                for text in [&r.at, &r.actor, &r.action, &r.entity_type, &r.entity_id] {
                    out.push('\t');
                    copy_text(out, text);
                }
                out.push('\t');
                opt_i64(out, Some(i64::from(r.version)));
                for hash in [&r.before_hash, &r.after_hash] {
                    out.push('\t');
                    copy_opt(out, hash.as_deref());
                }
                for text in [&r.prev_hash, &r.hash] {
                    out.push('\t');
                    copy_text(out, text);
                }
            })?;
            let statement = format!(
                "COPY audit_payloads ({}) FROM STDIN",
                sql::AUDIT_PAYLOAD_COLUMNS
            );
            return copy_in(self.0, &statement, records, |out, r| {
                opt_i64(out, Some(r.seq));
                for json in [&r.before, &r.after] {
                    out.push('\t');
                    copy_opt(out, json.as_deref());
                }
            });
        }
        let stmt = self.0.prepare(&sql::audit_insert(D))?;
        let payloads = self.0.prepare(&sql::audit_payload_insert(D))?;
        for r in records {
            self.0.execute(
                &stmt,
                &[
                    &r.seq,
                    &r.at,
                    &r.actor,
                    &r.action,
                    &r.entity_type,
                    &r.entity_id,
                    &r.version,
                    &r.before_hash,
                    &r.after_hash,
                    &r.prev_hash,
                    &r.hash,
                ],
            )?;
            self.0.execute(&payloads, &[&r.seq, &r.before, &r.after])?;
        }
        Ok(())
    }

    fn entity_payloads(&mut self, entity_type: &str, entity_id: &str) -> Result<Vec<Payloads>> {
        let rows = self
            .0
            .query(&sql::entity_payloads(D), &[&entity_type, &entity_id])?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    fn erase_payload(
        &mut self,
        seq: i64,
        before: Option<&str>,
        after: Option<&str>,
        erased_by: i64,
    ) -> Result<()> {
        self.0.execute(
            &sql::audit_payload_erase(D),
            &[&before, &after, &erased_by, &seq],
        )?;
        Ok(())
    }

    fn set_audit_head(&mut self, seq: i64, hash: &str) -> Result<()> {
        self.0.execute(
            "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
            &[&seq, &hash],
        )?;
        Ok(())
    }
}

impl Tx for PgTx<'_, '_> {
    fn load(&mut self, register: Register, ids: &[&str]) -> Result<commit::StoredRows> {
        let rows = if ids.len() > LOAD_ALL_THRESHOLD {
            self.0.query(&sql::select(register), &[])?
        } else {
            let statement = format!(
                "{} WHERE {} = ANY($1)",
                sql::select(register),
                register.id_field().name
            );
            self.0.query(&statement, &[&ids])?
        };
        rows.iter()
            .map(|r| read_row(register, r).map(|row| (row.id().to_owned(), row)))
            .collect()
    }

    fn insert(&mut self, register: Register, rows: &[&Row]) -> Result<()> {
        if rows.len() >= COPY_THRESHOLD {
            let statement = format!(
                "COPY {} ({}) FROM STDIN",
                register.name(),
                sql::columns(register)
            );
            return copy_in(self.0, &statement, rows, |out, row| {
                cells(out, row.values())
            });
        }
        let stmt = self.0.prepare(&sql::insert(register, D))?;
        for row in rows {
            self.0.execute(&stmt, &refs(&row_params(row)))?;
        }
        Ok(())
    }

    fn update(&mut self, register: Register, rows: &[&Row]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let stmt = self.0.prepare(&sql::update(register, D))?;
        for row in rows {
            self.0.execute(&stmt, &refs(&row_params(row)))?;
        }
        Ok(())
    }

    fn open_assignments(&mut self, spans: &[Assignment]) -> Result<()> {
        if spans.len() >= COPY_THRESHOLD {
            let statement = format!(
                "COPY asset_assignments ({}) FROM STDIN",
                sql::ASSIGNMENT_COLUMNS
            );
            return copy_in(self.0, &statement, spans, |out, a| {
                copy_text(out, &a.asset_tag);
                out.push('\t');
                copy_text(out, &a.person_id);
                out.push('\t');
                copy_cell(out, &Value::Date(a.from));
                out.push('\t');
                copy_cell(out, &a.until.map_or(Value::Null, Value::Date));
                out.push('\t');
                opt_i64(out, Some(a.opened_by));
                out.push('\t');
                opt_i64(out, a.closed_by);
            });
        }
        let stmt = self.0.prepare(&sql::assignment_insert(D))?;
        for a in spans {
            self.0.execute(
                &stmt,
                &[
                    &a.asset_tag,
                    &a.person_id,
                    &a.from,
                    &a.until,
                    &a.opened_by,
                    &a.closed_by,
                ],
            )?;
        }
        Ok(())
    }

    fn close_assignment(
        &mut self,
        asset_tag: &str,
        until: NaiveDate,
        closed_by: i64,
    ) -> Result<()> {
        self.0
            .execute(&sql::assignment_close(D), &[&until, &closed_by, &asset_tag])?;
        Ok(())
    }
}

impl Store for PgStore {
    fn changes(&self) -> Option<crate::ChangeFeed> {
        Some(
            self.changes
                .get_or_init(|| crate::ChangeFeed::listen(self.target.clone()))
                .clone(),
        )
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
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
        let mut client = self.client()?;
        let rows = client.query(&sql::select_one(register, D), &[&id])?;
        rows.first().map(|r| read_row(register, r)).transpose()
    }

    fn list_where(&self, register: Register, field: &str, value: &str) -> Result<Vec<Row>> {
        let field = sql::known_field(register, field)?;
        let mut client = self.client()?;
        let rows = client.query(&sql::select_where_ordered(register, field, D), &[&value])?;
        rows.iter().map(|r| read_row(register, r)).collect()
    }

    fn list_where_any(
        &self,
        register: Register,
        field: &str,
        values: &[String],
    ) -> Result<Vec<Row>> {
        let field = sql::known_field(register, field)?;
        let mut client = self.client()?;
        let mut found = Vec::new();
        for chunk in sql::in_chunks(values) {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> = chunk
                .iter()
                .map(|v| v as &(dyn postgres::types::ToSql + Sync))
                .collect();
            let statement = sql::select_where_any(register, field, chunk.len(), D);
            for r in client.query(&statement, &params)? {
                found.push(read_row(register, &r)?);
            }
        }
        sql::by_id(&mut found);
        Ok(found)
    }

    fn list_page(&self, page: &crate::ListPage<'_>) -> Result<(Vec<Row>, u64)> {
        let (rows, count, params, count_params) = sql::list_page(page, D)?;
        let mut client = self.client()?;
        let values: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let found = client
            .query(&rows, &values)?
            .iter()
            .map(|r| read_row(page.register, r))
            .collect::<Result<Vec<_>>>()?;
        let n: i64 = client
            .query_one(&count, &values[..count_params.min(values.len())])?
            .try_get(0)?;
        Ok((found, u64::try_from(n).unwrap_or(0)))
    }

    fn list_fields(&self, register: Register, wanted: &[bool]) -> Result<Vec<Row>> {
        let mut client = self.client()?;
        let wanted = sql::wanted_fields(register, wanted);
        // Each row decoded as it arrives, not every row held twice.
        let mut rows = client.query_raw(&sql::select_fields(register, &wanted), refs(&[]))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_fields(register, &r, Some(&wanted))?);
        }
        drop(rows);
        sql::sort_by_id(&mut out);
        Ok(out)
    }

    fn each_fields(
        &self,
        register: Register,
        wanted: &[bool],
        each: &mut dyn FnMut(&mut Vec<Value>),
    ) -> Result<usize> {
        let wanted = sql::wanted_fields(register, wanted);
        let select = sql::select_fields(register, &wanted);
        if let Some(mut reader) = self.reader() {
            let _timer = SlowQuery::start(self.slow_query);
            let mut values = Vec::with_capacity(register.fields().len());
            let mut handed = false;
            let read = reader.each_row(&select, |r| {
                values.clear();
                read_values(register, r, Some(&wanted), &mut values)?;
                handed = true;
                crate::hand_over(register, &mut values, each)
            });
            match read {
                // A reader lent unchecked and found closed (the database restarted since its
                // last read): nothing was handed over, and the pool's connection replaces a
                // closed one.
                Err(StoreError::Postgres(e)) if !handed && gone(&e) => {
                    tracing::debug!(error = %e, "a reader had closed: reading on the pool");
                }
                other => return other,
            }
        }
        let mut client = self.client()?;
        // No statement timeout (see the trait): lifted for this transaction alone.
        let mut tx = client.transaction()?;
        unlimited(&mut tx)?;
        let mut rows = tx.query_raw(&select, refs(&[]))?;
        let count = crate::each_row(register, each, |values| {
            let Some(r) = rows.next()? else {
                return Ok(false);
            };
            read_values(register, &r, Some(&wanted), values)?;
            Ok(true)
        })?;
        drop(rows);
        tx.commit()?;
        Ok(count)
    }

    fn count(&self, register: Register) -> Result<u64> {
        let mut client = self.client()?;
        let n: i64 = client
            .query_one(&format!("SELECT COUNT(*) FROM {}", register.name()), &[])?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The planner's estimate, kept up to date by autovacuum and the store's own `ANALYZE`
    /// after a big commit: counting the biggest registers at 100,000 people took 90 ms before
    /// an estate read could start. A table never analysed has none (-1) and is counted.
    fn size_hint(&self, register: Register) -> Result<u64> {
        let estimate: Option<i64> = self
            .client()?
            .query_opt(
                "SELECT reltuples::BIGINT FROM pg_class WHERE oid = to_regclass($1)",
                &[&register.name()],
            )?
            .map(|r| r.try_get(0))
            .transpose()?;
        match estimate.and_then(|n| u64::try_from(n).ok()) {
            Some(n) => Ok(n),
            None => self.count(register),
        }
    }

    fn ids(&self, register: Register) -> Result<Vec<String>> {
        let mut client = self.client()?;
        let rows = client.query(
            &format!(
                "SELECT {} FROM {}",
                register.id_field().name,
                register.name()
            ),
            &[],
        )?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .collect()
    }

    fn assignments(&self, of: AssignmentsOf<'_>) -> Result<Vec<Assignment>> {
        let mut client = self.client()?;
        let (by_person, key) = match of {
            AssignmentsOf::Asset(tag) => (false, tag),
            AssignmentsOf::Person(id) => (true, id),
        };
        let rows = client.query(&sql::assignments_select(by_person, D), &[&key])?;
        rows.iter()
            .map(|r| {
                Ok(Assignment {
                    asset_tag: r.try_get(0)?,
                    person_id: r.try_get(1)?,
                    from: r.try_get(2)?,
                    until: r.try_get(3)?,
                    opened_by: r.try_get(4)?,
                    closed_by: r.try_get(5)?,
                })
            })
            .collect()
    }

    fn audit_records(
        &self,
        query: &AuditQuery,
        visit: &mut dyn FnMut(AuditRecord) -> Result<()>,
    ) -> Result<()> {
        let mut client = self.client()?;
        let statement = sql::audit_select(
            query.entity.is_some(),
            query.before.is_some(),
            query.limit.is_some(),
            D,
        );
        let mut params: Vec<Param> = Vec::new();
        if let Some((t, id)) = &query.entity {
            params.push(Box::new(t.clone()));
            params.push(Box::new(id.clone()));
        }
        if let Some(before) = query.before {
            params.push(Box::new(before));
        }
        if let Some(limit) = query.limit {
            params.push(Box::new(i64::try_from(limit).unwrap_or(i64::MAX)));
        }
        // The whole log may be read (verifying it): no statement timeout for this one.
        let mut tx = client.transaction()?;
        unlimited(&mut tx)?;
        let mut rows = tx.query_raw(&statement, refs(&params))?;
        while let Some(r) = rows.next()? {
            visit(read_audit(&r)?)?;
        }
        drop(rows);
        tx.commit()?;
        Ok(())
    }

    fn check_mark(&self, packs: &[String]) -> Result<Option<crate::CheckMark>> {
        let mut client = self.client()?;
        Ok(findings::earliest_mark(packs, &check_marks(&mut *client)?))
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
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        unlimited(&mut tx)?;
        // Each control's stored states read on a connection of their own while the control
        // before is recorded: the server answers them meanwhile. The run holds the audit log's
        // head before any is read, and every change to a finding takes it, so they read what
        // the run's transaction would.
        let side = |of: (&str, &str)| -> Result<Vec<findings::Prior>> {
            let mut client = self
                .spare_client()
                .ok_or_else(|| StoreError::Unavailable("no connection to spare".into()))?;
            let mut priors = Vec::new();
            for (statement, params) in sql::of_control(sql::finding_priors_of_control, of, None, D)
            {
                let params: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                for row in client.query(&statement, &params)? {
                    priors.push(findings::prior_from_cells(read_cells(
                        &row,
                        findings::PRIOR_COLUMNS,
                    )?)?);
                }
            }
            Ok(priors)
        };
        let summary = findings::record_batches(
            &mut PgTx(&mut tx),
            actor,
            at,
            packs,
            exceptions,
            cover,
            next,
            Some(&side),
        )?;
        tx.commit()?;
        if summary.changes() >= ANALYZE_AFTER {
            analyze(
                &mut client,
                &["findings", "finding_events", "audit_log", "audit_payloads"],
            );
        }
        Ok(summary)
    }

    fn findings(&self, query: &FindingQuery) -> Result<Vec<StoredFinding>> {
        let mut client = self.client()?;
        let cursor = match (&query.after, query.as_of) {
            (Some(key), None) => {
                // A cursor no finding has: nothing comes after it.
                let Some(r) = client.query_opt(&sql::finding_cursor(D), &[key])? else {
                    return Ok(Vec::new());
                };
                Some(sql::FindingCursor::from_cells(read_cells(
                    &r,
                    sql::CURSOR_COLUMNS,
                )?)?)
            }
            _ => None,
        };
        let (statement, params) = sql::findings_select(query, D, cursor.as_ref(), false);
        let rows = client.query(&statement, &refs(&cell_params(&params)))?;
        rows.iter()
            .map(|r| findings::finding_from_cells(read_cells(r, FINDING_COLUMNS)?))
            .collect()
    }

    fn count_findings(&self, query: &FindingQuery) -> Result<u64> {
        let mut client = self.client()?;
        let (statement, params) = sql::findings_count(query, D);
        let row = client.query_one(&statement, &refs(&cell_params(&params)))?;
        let n: i64 = row.try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn finding_tallies(&self) -> Result<Vec<FindingTally>> {
        let mut client = self.client()?;
        let rows = client.query(&sql::finding_tallies(D), &[])?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get(4)?;
                let first: String = r.try_get(5)?;
                let resolved: Option<String> = r.try_get(6)?;
                FindingTally::from_parts(
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    &state,
                    &first,
                    resolved.as_deref(),
                    r.try_get(7)?,
                )
            })
            .collect()
    }

    fn finding_history(&self, key: &str) -> Result<Vec<FindingEvent>> {
        let mut client = self.client()?;
        let rows = client.query(&sql::finding_history(D), &[&key])?;
        rows.iter()
            .map(|r| findings::event_from_cells(read_cells(r, EVENT_COLUMNS)?))
            .collect()
    }

    fn sign_in(&self, email: &str) -> Result<Option<SignIn>> {
        let mut client = self.client()?;
        let rows = client.query(
            &sql::sign_in_select(true, D),
            &[&sign_ins::email_key(email)],
        )?;
        Ok(sign_ins_from(&rows)?.pop())
    }

    fn sign_ins(&self) -> Result<Vec<SignIn>> {
        let mut client = self.client()?;
        sign_ins_from(&client.query(&sql::sign_in_select(false, D), &[])?)
    }

    fn sign_in_count(&self) -> Result<u64> {
        let mut client = self.client()?;
        let n: i64 = client
            .query_one("SELECT COUNT(*) FROM sign_ins", &[])?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn save_sign_in(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        action: &str,
        sign_in: &SignIn,
    ) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        sign_ins::save(&mut PgTx(&mut tx), actor, at, action, sign_in)?;
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
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        // Under the audit head's row lock, the code is looked for in what was committed last.
        let used = sign_ins::consume_code(&mut PgTx(&mut tx), actor, at, email, code_hash)?;
        if used {
            tx.commit()?;
        } else {
            tx.rollback()?;
        }
        Ok(used)
    }

    fn create_first_sign_in(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        sign_in: &SignIn,
    ) -> Result<bool> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        // The audit head's row lock is taken before counting (read committed: the count then
        // sees whatever a writer that held the lock before us committed).
        let created = sign_ins::create_first(&mut PgTx(&mut tx), actor, at, sign_in)?;
        if created {
            tx.commit()?;
        } else {
            tx.rollback()?;
        }
        Ok(created)
    }

    fn set_totp_step(&self, email: &str, step: i64) -> Result<bool> {
        let mut client = self.client()?;
        let n = client.execute(
            &sql::totp_step_update(D),
            &[&step, &sign_ins::email_key(email)],
        )?;
        Ok(n > 0)
    }

    fn create_session(&self, session: &Session) -> Result<()> {
        let mut client = self.client()?;
        client.execute(
            &sql::insert_into("sessions", SESSION_COLUMNS, D),
            &refs(&cell_params(&sign_ins::session_cells(session))),
        )?;
        Ok(())
    }

    fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        let mut client = self.client()?;
        client
            .query_opt(&sql::session_select(D), &[&token_hash])?
            .map(|r| sign_ins::session_from_cells(read_cells(&r, SESSION_COLUMNS)?))
            .transpose()
    }

    fn packs_run(&self) -> Result<Vec<String>> {
        let mut client = self.client()?;
        client
            .query(sql::PACKS_RUN, &[])?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
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
        let mut client = self.client()?;
        client
            .query(&sql::pack_select(false, D), &[])?
            .iter()
            .map(|r| packs::pack_from_cells(read_cells(r, packs::PACK_COLUMNS)?))
            .collect()
    }

    fn record_compliance(&self, rows: &[ComplianceDay]) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let days: std::collections::BTreeSet<(&str, NaiveDate)> =
            rows.iter().map(|r| (r.pack.as_str(), r.day)).collect();
        let clear = sql::compliance_clear(D);
        for (pack, day) in days {
            tx.execute(&clear, &[&pack, &day])?;
        }
        let insert = sql::compliance_insert(D);
        for row in rows {
            tx.execute(&insert, &refs(&cell_params(&compliance::cells(row))))?;
        }
        tx.commit()?;
        Ok(())
    }

    fn compliance(&self, since: NaiveDate) -> Result<Vec<ComplianceDay>> {
        let mut client = self.client()?;
        client
            .query(&sql::compliance_select(D), &[&since])?
            .iter()
            .map(|r| compliance::from_cells(read_cells(r, compliance::COMPLIANCE_COLUMNS)?))
            .collect()
    }

    fn set_pack_active(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        id: &str,
        active: bool,
    ) -> Result<bool> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let changed = packs::set_active(&mut PgTx(&mut tx), actor, at, id, active)?;
        tx.commit()?;
        Ok(changed)
    }

    fn save_pack_document(&self, document: &PackDocument) -> Result<bool> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let changed = packs::save_document(&mut PgTx(&mut tx), document)?;
        tx.commit()?;
        Ok(changed)
    }

    fn set_parameter_overrides(&self, parameters: &[ParameterOverride]) -> Result<usize> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let mut changed = 0;
        for parameter in parameters {
            changed += usize::from(packs::set_parameter(&mut PgTx(&mut tx), parameter)?);
        }
        tx.commit()?;
        Ok(changed)
    }

    fn parameter_overrides(&self) -> Result<Vec<ParameterOverride>> {
        let mut client = self.client()?;
        client
            .query(&sql::parameter_select(false, D), &[])?
            .iter()
            .map(|r| packs::parameter_from_cells(read_cells(r, packs::PARAMETER_COLUMNS)?))
            .collect()
    }

    fn pack_documents(&self) -> Result<Vec<PackDocument>> {
        let mut client = self.client()?;
        client
            .query(&sql::pack_document_select(false, D), &[])?
            .iter()
            .map(|r| packs::pack_document_from_cells(read_cells(r, packs::PACK_DOCUMENT_COLUMNS)?))
            .collect()
    }

    fn create_api_token(&self, token: &ApiTokenRow) -> Result<()> {
        self.plain(|tx| tokens::create(tx, token))
    }

    fn api_tokens(&self) -> Result<Vec<ApiTokenRow>> {
        let mut client = self.client()?;
        client
            .query(&tokens::token_select(TokenSelect::All, D), &[])?
            .iter()
            .map(|r| tokens::token_from_cells(read_cells(r, TOKEN_COLUMNS)?))
            .collect()
    }

    fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiTokenRow>> {
        let mut client = self.client()?;
        client
            .query_opt(
                &tokens::token_select(TokenSelect::ByHash, D),
                &[&token_hash],
            )?
            .map(|r| tokens::token_from_cells(read_cells(&r, TOKEN_COLUMNS)?))
            .transpose()
    }

    fn revoke_api_token(
        &self,
        id: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ApiTokenRow>> {
        self.plain(|tx| tokens::revoke(tx, id, by, at))
    }

    fn count_api_request(&self, token_id: &str, minute: i64) -> Result<Option<u64>> {
        let mut client = self.client()?;
        let row = client.query_one(
            "INSERT INTO api_request_counts (token_id, minute, requests) VALUES ($1, $2, 1) \
             ON CONFLICT (token_id, minute) DO UPDATE \
             SET requests = api_request_counts.requests + 1 RETURNING requests",
            &[&token_id, &minute],
        )?;
        let requests: i64 = row.get(0);
        // A token's first request of a minute clears the minutes before the last.
        if requests == 1 {
            client.execute(
                "DELETE FROM api_request_counts WHERE minute < $1",
                &[&(minute - 1)],
            )?;
        }
        Ok(Some(u64::try_from(requests).unwrap_or(0)))
    }

    fn touch_api_token(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        let mut client = self.client()?;
        client.execute(&tokens::token_touch(D), &[&at, &id])?;
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
        let mut client = self.client()?;
        client
            .query(&webhooks::webhook_select(WebhookSelect::All, D), &[])?
            .iter()
            .map(|r| webhooks::webhook_from_cells(read_cells(r, WEBHOOK_COLUMNS)?))
            .collect()
    }

    fn due_deliveries(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<DeliveryRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut client = self.client()?;
        client
            .query(
                &webhooks::delivery_select(DeliverySelect::Due, D),
                &[&now, &limit],
            )?
            .iter()
            .map(|r| webhooks::delivery_from_cells(read_cells(r, DELIVERY_COLUMNS)?))
            .collect()
    }

    fn deliveries_of(&self, webhook_id: &str, limit: u64) -> Result<Vec<DeliveryRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut client = self.client()?;
        client
            .query(
                &webhooks::delivery_select(DeliverySelect::Of, D),
                &[&webhook_id, &limit],
            )?
            .iter()
            .map(|r| webhooks::delivery_from_cells(read_cells(r, DELIVERY_COLUMNS)?))
            .collect()
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
        let mut client = self.client()?;
        client
            .query_opt(&sql::visit_select(D), &[&token_hash])?
            .map(|r| sign_ins::visit_from_cells(read_cells(&r, sign_ins::visit_columns())?))
            .transpose()
    }

    fn touch_session(
        &self,
        token_hash: &str,
        last_seen: DateTime<Utc>,
        mfa_passed: bool,
    ) -> Result<()> {
        let mut client = self.client()?;
        client.execute(
            &sql::session_touch(D),
            &[&last_seen, &mfa_passed, &token_hash],
        )?;
        Ok(())
    }

    fn delete_session(&self, token_hash: &str) -> Result<()> {
        let mut client = self.client()?;
        client.execute(&sql::session_delete("token_hash", D), &[&token_hash])?;
        Ok(())
    }

    fn delete_sessions_of(&self, email: &str) -> Result<u64> {
        let mut client = self.client()?;
        Ok(client.execute(
            &sql::session_delete("email", D),
            &[&sign_ins::email_key(email)],
        )?)
    }

    fn delete_sessions_before(&self, last_seen_before: DateTime<Utc>) -> Result<u64> {
        let mut client = self.client()?;
        Ok(client.execute(&sql::session_delete("last_seen", D), &[&last_seen_before])?)
    }

    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let mut client = self.client()?;
        let n = client.execute(&sql::lease_take(D), &[&name, &holder, &until, &now])?;
        Ok(n > 0)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let mut client = self.client()?;
        client.execute(&sql::lease_release(D), &[&name, &holder])?;
        Ok(())
    }

    fn record_sign_in_failure(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        tx.execute(&sql::sign_in_failures_forget(D), &[&forget_before])?;
        let insert = tx.prepare(&sql::sign_in_failure_insert(D))?;
        for key in keys {
            tx.execute(&insert, &[key, &at])?;
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
        let mut client = self.client()?;
        let rows = client.query(
            &sql::sign_in_failures_select(D),
            &[&key, &since, &i64::from(limit)],
        )?;
        rows.iter()
            .map(|r| sign_ins::failure_from_cells(read_cells(r, sign_ins::FAILURE_COLUMNS)?))
            .collect()
    }

    fn clear_sign_in_failures(&self, key: &str) -> Result<()> {
        let mut client = self.client()?;
        client.execute(&sql::sign_in_failures_clear(D), &[&key])?;
        Ok(())
    }

    fn reserve_sign_in_guess(
        &self,
        keys: &[(String, u32)],
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        admit: &mut crate::Admit<'_>,
    ) -> Result<bool> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        // Each key locked in one order, so that two reservations sharing keys cannot deadlock;
        // a reservation that read before another's insert committed would count one too few.
        let mut locks: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        locks.sort_unstable();
        locks.dedup();
        for key in locks {
            tx.execute(sql::PG_SIGN_IN_KEY_LOCK, &[&key])?;
        }
        tx.execute(&sql::sign_in_failures_forget(D), &[&since])?;
        let select = tx.prepare(&sql::sign_in_failures_select(D))?;
        let mut recent = Vec::with_capacity(keys.len());
        for (key, limit) in keys {
            let rows = tx.query(&select, &[key, &since, &i64::from(*limit)])?;
            recent.push(
                rows.iter()
                    .map(|r| {
                        sign_ins::failure_from_cells(read_cells(r, sign_ins::FAILURE_COLUMNS)?)
                    })
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        let admitted = admit(&recent);
        if admitted {
            let insert = tx.prepare(&sql::sign_in_failure_insert(D))?;
            for (key, _) in keys {
                tx.execute(&insert, &[key, &at])?;
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
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let release = tx.prepare(&sql::sign_in_failure_release(D))?;
        for key in keys {
            tx.execute(&release, &[key, &at])?;
        }
        let forget = tx.prepare(&sql::sign_in_failures_clear(D))?;
        for key in clear {
            tx.execute(&forget, &[key])?;
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
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let seq = commit::erase(&mut PgTx(&mut tx), actor, at, register, id, fields, reason)?;
        tx.commit()?;
        Ok(seq)
    }

    fn audit_head(&self) -> Result<(i64, String)> {
        let mut client = self.client()?;
        let r = client.query_opt("SELECT seq, hash FROM audit_head WHERE id = 1", &[])?;
        match r {
            Some(r) => Ok((r.try_get(0)?, r.try_get(1)?)),
            None => Ok((0, steward_model::audit::GENESIS.to_owned())),
        }
    }

    fn record_audit_anchor(&self, anchor: &AuditAnchor) -> Result<()> {
        let recipients = anchors::recipients_text(anchor)?;
        let mut client = self.client()?;
        client.execute(
            &sql::audit_anchor_insert(D),
            &[&anchor.sent_at, &anchor.seq, &anchor.hash, &recipients],
        )?;
        Ok(())
    }

    fn audit_anchors(&self) -> Result<Vec<AuditAnchor>> {
        let mut client = self.client()?;
        let rows = client.query(sql::AUDIT_ANCHORS_SELECT, &[])?;
        rows.iter()
            .map(|r| anchors::anchor_from_cells(read_cells(r, anchors::ANCHOR_COLUMNS)?))
            .collect()
    }

    fn escalations_unmailed(&self) -> Result<Vec<FindingEvent>> {
        let mut client = self.client()?;
        let rows = client.query(&sql::escalations_unmailed(), &[])?;
        rows.iter()
            .map(|r| findings::event_from_cells(read_cells(r, EVENT_COLUMNS)?))
            .collect()
    }

    fn record_mail_sent(&self, sent: &MailSent) -> Result<bool> {
        let cells = crate::sent::mail_sent_cells(sent)?;
        let mut client = self.client()?;
        let n = client.execute(&sql::mail_sent_insert(D), &refs(&cell_params(&cells)))?;
        Ok(n > 0)
    }

    fn mail_sent(&self, kind: &str, since: DateTime<Utc>) -> Result<Vec<MailSent>> {
        let mut client = self.client()?;
        let rows = client.query(&sql::mail_sent_select(D), &[&kind, &since])?;
        rows.iter()
            .map(|r| {
                crate::sent::mail_sent_from_cells(read_cells(r, crate::sent::MAIL_SENT_COLUMNS)?)
            })
            .collect()
    }

    jobs::job_methods!();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register read whole streams on a reader of its own; with every reader busy it is read
    /// on the pool's connections instead; either way the same rows, each once.
    #[test]
    fn a_register_is_read_on_a_reader_or_with_none_free_on_the_pool() {
        let Some(db) = crate::testing::databases("readers")
            .into_iter()
            .find(|db| db.backend == Backend::Postgres)
        else {
            return;
        };
        let store = PgStore::open(&db.url, &StoreOptions::default()).expect("open");
        let estate = steward_demo::generate(&steward_demo::DemoOptions {
            people: 250,
            seed: 7,
            today: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
            usage_months: 0,
        });
        let people = [Register::BudgetCentres, Register::People]
            .iter()
            .flat_map(|r| estate.rows(*r))
            .collect();
        store.commit("test", Utc::now(), people).expect("commit");
        let wanted = vec![true; Register::People.fields().len()];
        let listed: Vec<Vec<Value>> = store
            .list_fields(Register::People, &wanted)
            .expect("list")
            .iter()
            .map(|r| r.values().to_vec())
            .collect();
        assert_eq!(listed.len(), 250);
        let read = |store: &PgStore| {
            let mut each: Vec<Vec<Value>> = Vec::new();
            let count = store
                .each_fields(Register::People, &wanted, &mut |values| {
                    each.push(std::mem::take(values))
                })
                .expect("each_fields");
            each.sort_by(|a, b| a[0].to_text().cmp(&b[0].to_text()));
            (count, each)
        };
        let readers = store.readers.as_ref().expect("readers");
        assert_eq!(
            readers.state().connections,
            0,
            "no reader before one is wanted"
        );
        assert_eq!(read(&store), (250, listed.clone()), "on a reader");
        assert_eq!(readers.state().connections, 1, "the read took a reader");
        // Every reader busy (held here): the read does not wait for one.
        let held: Vec<_> = (0..READERS)
            .map(|_| readers.get().expect("a reader"))
            .collect();
        assert_eq!(read(&store), (250, listed), "on the pool");
        assert_eq!(readers.state().connections, READERS);
        drop(held);
    }

    /// The escaping COPY's text format needs, against a character-by-character spelling of it.
    #[test]
    fn a_text_is_escaped_for_copy_as_character_by_character() {
        let texts = [
            "",
            "plain",
            "tab\there",
            "\\N",
            "line\nbreak\r\n",
            "\\\\\t\n\r",
            "Siân “curly” 😀\ttab",
            "\u{7f}\u{1}ends\\",
        ];
        for text in texts {
            let mut expected = String::new();
            for c in text.chars() {
                match c {
                    '\\' => expected.push_str("\\\\"),
                    '\n' => expected.push_str("\\n"),
                    '\r' => expected.push_str("\\r"),
                    '\t' => expected.push_str("\\t"),
                    c => expected.push(c),
                }
            }
            let mut out = String::from("x");
            copy_text(&mut out, text);
            assert_eq!(out, format!("x{expected}"), "{text:?}");
        }
    }
}
