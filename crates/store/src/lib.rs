//! Persistence of the registers and the audit log, on SQLite (embedded, the default) and PostgreSQL.
//!
//! This crate owns every line of SQL in Steward: the migrations, the generic register statements
//! built from the model's field lists, and the append-only, hash-chained audit log. Its one way to
//! change a register is [`Store::commit`], which writes the rows, their assignment history and one
//! audit record per change in a single transaction — so no entry point can change a register
//! without the change being audited.
//!
//! Version 2 audit records commit to their payloads' SHA-256; the payloads live in
//! `audit_payloads`, which [`Store::erase`] may rewrite, while `audit_log` is append-only (on
//! PostgreSQL, [`migrate`] grants the app role only INSERT and SELECT on it). [`verify_audit_full`]
//! checks the chain and replays it against everything stored.
//!
//! It also keeps the web's sign-in accounts and sessions ([`SignIn`], [`Session`]): every change of
//! an account is audited in the same chain, without its secrets; sessions are not audited. Failed
//! sign-in guesses are counted here too, unaudited: a guess is reserved (read the counts, record
//! it) in one locked transaction, so that racing guesses on every server are counted in turn.
//!
//! [`backup`] writes the whole database, from either backend, into one verified SQLite file in
//! Steward's own schema; [`restore`] reads one into an empty database of either backend.
//!
//! It holds the connections too: a pool on each backend (on SQLite one writer and many readers),
//! each PostgreSQL connection checked before use and replaced when broken, over TLS as the url's
//! `sslmode` asks, every statement under a timeout and every slow one logged ([`StoreOptions`]);
//! on PostgreSQL a server hears of every change any server commits ([`ChangeFeed`]).
//! Background jobs are queued, claimed and leased here ([`Job`]), and [`backup`] and [`restore`]
//! copy a whole database to and from one SQLite file.
//!
//! It must never decide policy or validate business rules (that is the service layer's job), and
//! never know about HTTP, CSV or the command line.

mod anchors;
mod backup;
mod changes;
mod commit;
mod compliance;
mod connect;
mod findings;
mod jobs;
mod migrate;
mod packs;
mod pg;
mod sent;
mod sign_ins;
mod slow;
mod sources;
mod sql;
mod sqlite;
mod sso;
pub mod testing;
mod tokens;
mod verify;
mod webhooks;

use chrono::{DateTime, NaiveDate, Utc};
use steward_model::audit::AuditRecord;
use steward_model::{Assignment, Finding, Register, Row, SourcedFields, StoredFinding};

pub use anchors::AuditAnchor;
pub use backup::{BackupError, BackupSummary, RestoreSummary, TRANSIENT_TABLES, backup, restore};
pub use changes::{APPLICATION_NAME as CHANGES_APPLICATION_NAME, ChangeFeed};
pub use commit::{CommitSummary, Counts};
pub use compliance::ComplianceDay;
pub use connect::TlsMode;
pub use findings::{
    CheckMark, ExceptionCover, FINDING_ENTITY, FindingBatch, FindingEvent, FindingEventKind,
    FindingOrder, FindingQuery, FindingTally, FindingsSummary, LadderStep, Ladders, NextBatch,
    RunCover, SubjectsEvaluated,
};
pub use jobs::{
    Dedupe, Job, JobEnd, JobFile, JobHold, JobProgress, JobQuery, JobState, MAX_ATTEMPTS, NewJob,
};
pub use packs::{
    PACK_DOCUMENT_ENTITY, PACK_ENTITY, PARAMETER_ENTITY, PackChoice, PackDocument,
    ParameterOverride,
};
pub use sent::{DIGEST_MAIL, ESCALATION_MAIL, MailSent};
pub use sign_ins::{SIGN_IN_ENTITY, Session, SignIn, Visit};
pub use sources::{
    CONNECTOR_ENTITY, ConnectorRow, ConnectorRun, Provenance, SOURCE_LINK_ENTITY, SourceLink,
};
pub use sql::is_text_field;
pub use sso::{SSO_LINK_ENTITY, SsoAttemptRow, SsoLinkRow};
pub use tokens::{API_TOKEN_ENTITY, ApiTokenRow};
pub use verify::{AuditVerdict, Difference, DifferenceKind, verify_audit_full};
pub use webhooks::{DeliveryRow, WEBHOOK_ENTITY, WebhookRow};

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database url {0:?}: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {}", pg_message(.0))]
    Postgres(#[from] ::postgres::Error),
    /// No connection could be had in time: the database is down, unreachable or saturated.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database url cannot be used as written (its TLS settings, say).
    #[error("database url {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the database holds a value steward cannot read: {table}.{column} of {id:?}: {reason}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        id: String,
        reason: String,
    },
    #[error("{register} has no text field {field:?} to look rows up by")]
    UnknownField { register: Register, field: String },
    #[error("migration {version} ({name}) failed: {reason}")]
    Migration {
        version: i64,
        name: &'static str,
        reason: String,
    },
    #[error(
        "the database was migrated by a newer steward (schema version {found}, this build knows {known})"
    )]
    TooNew { found: i64, known: i64 },
    #[error("a row of {register} has {found} values, expected {expected}")]
    Arity {
        register: Register,
        expected: usize,
        found: usize,
    },
    #[error("the store's connection lock was poisoned by a panic elsewhere")]
    Poisoned,
    /// A row meant to be new was there already when the commit read it.
    #[error("a {} with id {id:?} already exists", register.entity())]
    AlreadyExists { register: Register, id: String },
    #[error("there is no {} with id {id:?}", register.entity())]
    NotFound { register: Register, id: String },
    /// A row was no longer as the writer read it when the commit read it.
    #[error("the {} {id:?} has changed since it was read", register.entity())]
    Stale { register: Register, id: String },
    #[error(
        "the database needs migrating to schema version {known} (it is at {found}) and this role may not: run `steward migrate` as the schema's owner"
    )]
    NeedsMigration { found: i64, known: i64 },
    #[error("invalid role name {0:?}: use letters, digits and underscores, starting with a letter")]
    RoleName(String),
    #[error("finding {key}: {reason}")]
    InvalidFinding { key: String, reason: String },
    #[error(
        "a check run at {at} is older than one already recorded for these packs ({latest}): runs are recorded in time order"
    )]
    StaleRun {
        at: DateTime<Utc>,
        latest: DateTime<Utc>,
    },
    #[error("audit anchor: {0}")]
    InvalidAnchor(String),
    #[error("mail sent: {0}")]
    InvalidMailSent(String),
    /// The caller stopped a batched write (its own error says why); nothing was written.
    #[error("the run was abandoned before it was complete; nothing was written")]
    Abandoned,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What the server said (the `postgres` crate's own text is only "db error"), or the client's
/// error with its cause.
fn pg_message(e: &::postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.code().code(), db.message());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

impl StoreError {
    /// Whether the database could not be reached, rather than refusing what was asked: the
    /// next attempt may succeed (a web front end answers 503, not 500).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Postgres(e) => {
                e.is_closed()
                    || e.code().is_some_and(|c| {
                        // Connection exceptions, the server shutting down or cancelling.
                        c.code().starts_with("08")
                            || c.code().starts_with("57P")
                            || *c == ::postgres::error::SqlState::QUERY_CANCELED
                    })
                    || std::error::Error::source(e)
                        .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
            }
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::OperationInterrupted
            ),
            _ => false,
        }
    }
}

/// A row from its stored columns, checking that a derived key is the one its parts give (a row
/// whose key was changed behind steward's back would otherwise be read under another key).
/// Where `values` (one per field) are of a register whose id is made of other fields (`usage`:
/// month and asset tag), that the id stored is the one they make: else the row is corrupt.
pub(crate) fn check_stored_key(register: Register, values: &[steward_model::Value]) -> Result<()> {
    let Some(made) = register.derived_key(values) else {
        return Ok(());
    };
    let stored = values
        .first()
        .and_then(steward_model::Value::as_text)
        .unwrap_or("");
    if made != stored {
        return Err(wrong_key(register, stored.to_owned(), &made));
    }
    Ok(())
}

/// A stored row whose derived key is not the one its parts (`made`) give.
fn wrong_key(register: Register, stored: String, made: &str) -> StoreError {
    StoreError::Corrupt {
        table: register.name(),
        column: register.id_field().name,
        id: stored,
        reason: format!("the key's fields give {made:?}"),
    }
}

/// [`check_stored_key`]'s check, made of a [`Row`]: the row derives its key from its parts as it
/// is made, and that is compared with the one stored (not derived a second time).
pub(crate) fn stored_row(register: Register, values: Vec<steward_model::Value>) -> Result<Row> {
    let stored_id = values
        .first()
        .map(steward_model::Value::to_text)
        .unwrap_or_default();
    let row = Row::new(register, values).map_err(|e| StoreError::Corrupt {
        table: register.name(),
        column: "",
        id: stored_id.clone(),
        reason: e.to_string(),
    })?;
    if register.has_derived_key() && row.id() != stored_id {
        return Err(wrong_key(register, stored_id, row.id()));
    }
    Ok(row)
}

/// [`Store::each_fields`] over a backend's rows: `next` reads the next row's values into the
/// buffer it is given (empty) and says whether there was one; each is checked as
/// [`stored_row`] checks it and handed to `each` in the one buffer. How many there were.
pub(crate) fn each_row(
    register: Register,
    each: &mut dyn FnMut(&mut Vec<steward_model::Value>),
    mut next: impl FnMut(&mut Vec<steward_model::Value>) -> Result<bool>,
) -> Result<usize> {
    let mut values = Vec::with_capacity(register.fields().len());
    let mut count = 0;
    loop {
        values.clear();
        if !next(&mut values)? {
            return Ok(count);
        }
        hand_over(register, &mut values, each)?;
        count += 1;
    }
}

/// One row's `values`, read as [`each_row`] reads them, checked and handed to `each`.
pub(crate) fn hand_over(
    register: Register,
    values: &mut Vec<steward_model::Value>,
    each: &mut dyn FnMut(&mut Vec<steward_model::Value>),
) -> Result<()> {
    check_stored_key(register, values)?;
    each(values);
    Ok(())
}

/// Which audit records to read.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only records about this entity (`person`, `P000123`).
    pub entity: Option<(String, String)>,
    /// Only the last `limit` records (in sequence order).
    pub limit: Option<u64>,
    /// Only records before this sequence number: the page before one that began there.
    pub before: Option<i64>,
}

/// What [`Store::list_page`] reads.
#[derive(Debug, Clone)]
pub struct ListPage<'a> {
    pub register: Register,
    pub equal: Vec<(&'a str, &'a str)>,
    /// Text to find (a substring, any case) in any of these fields.
    pub search: Option<(Vec<&'a str>, &'a str)>,
    pub limit: u64,
    /// The id of the last row of the page before: this page begins after it in the order
    /// (keyset pagination: right however the rows before it changed meanwhile).
    pub after: Option<&'a str>,
    /// A text field to order by first (and whether downwards), then the id; the id alone when
    /// `None`. An empty value sorts as the least.
    pub sort: Option<(&'a str, bool)>,
    /// Only rows that some row of this register refers to by this field: `(People,
    /// "manager_id")` keeps the people who manage someone. The field must be indexed.
    pub referenced_by: Option<(Register, &'a str)>,
}

/// Decides, from each throttle key's recent failures (newest first), whether a sign-in guess
/// may go ahead: see [`Store::reserve_sign_in_guess`].
pub type Admit<'a> = dyn FnMut(&[Vec<DateTime<Utc>>]) -> bool + 'a;

/// The storage interface every backend implements.
pub trait Store: Send + Sync {
    fn backend(&self) -> Backend;

    /// Applies `rows` (creates or updates, by id) in one transaction, appending one audit record
    /// per row that actually changed, stamped `actor` and `at`. Rows equal to what is stored are
    /// left alone and not audited. Rows are applied register by register in dependency order.
    fn commit(&self, actor: &str, at: DateTime<Utc>, rows: Vec<Row>) -> Result<CommitSummary> {
        self.commit_creating(actor, at, rows, &[])
    }

    /// [`Store::commit`], refused with [`StoreError::AlreadyExists`] (nothing written) if any row
    /// named in `new` exists when the transaction reads it: a create that two writers race to
    /// make with the same id cannot become an update of the other's row.
    fn commit_creating(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        rows: Vec<Row>,
        new: &[(Register, &str)],
    ) -> Result<CommitSummary>;

    /// [`Store::commit`], refused with [`StoreError::Stale`] (nothing written) unless each row of
    /// `expected` is stored exactly so when the transaction reads it: a change made against what
    /// one writer read cannot overwrite another's made meanwhile.
    fn commit_expecting(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        rows: Vec<Row>,
        expected: &[Row],
    ) -> Result<CommitSummary>;

    fn get(&self, register: Register, id: &str) -> Result<Option<Row>>;

    /// Every row of a register, ordered by id.
    fn list(&self, register: Register) -> Result<Vec<Row>> {
        self.list_fields(register, &vec![true; register.fields().len()])
    }

    /// [`Store::list`] reading only the fields `wanted` marks (one flag per field, in the
    /// register's order), with each row's id and the fields a derived id is made of; the others
    /// come back null. What a check reads: most of a register's text no rule looks at.
    fn list_fields(&self, register: Register, wanted: &[bool]) -> Result<Vec<Row>>;

    /// [`Store::list_fields`]' rows handed to `each` one at a time, in any order, each as one
    /// value per field in a buffer `each` may take them from; how many there were. Read as they
    /// come, without holding the register's rows (at 100,000 people, a row list each of assets
    /// and usage is hundreds of megabytes made only to be laid out and freed), and without the
    /// per-request statement timeout: the statement lasts as long as `each` takes over every
    /// row, and a background run over a big estate is not cut off by a timeout meant for one
    /// request's query. `each` runs while the read holds its connection: it must not use the
    /// store.
    fn each_fields(
        &self,
        register: Register,
        wanted: &[bool],
        each: &mut dyn FnMut(&mut Vec<steward_model::Value>),
    ) -> Result<usize>;

    /// The rows of a register whose `field` holds `value` as text (an id, a word), ordered by id:
    /// what one person holds, manages or has asked for, without reading the whole register. The
    /// reference columns it is used on are indexed.
    fn list_where(&self, register: Register, field: &str, value: &str) -> Result<Vec<Row>>;

    /// [`Store::list_where`] for any of several values at once (a team's people, a person's
    /// equipment), ordered by id: one statement for up to hundreds of values, not one each.
    fn list_where_any(
        &self,
        register: Register,
        field: &str,
        values: &[String],
    ) -> Result<Vec<Row>>;

    /// A page of a register for a list screen: rows whose text fields equal the `equal` values
    /// and, if `search` is given, one of whose `fields` contains its text (any case), ordered by
    /// id, at most `limit` of them; and how many match in all.
    fn list_page(&self, page: &ListPage<'_>) -> Result<(Vec<Row>, u64)>;

    fn count(&self, register: Register) -> Result<u64>;

    /// About how many rows a register holds, found cheaply: to order and size work over whole
    /// registers (the largest read first), never to show anyone. [`Store::count`] where the
    /// database keeps no estimate.
    fn size_hint(&self, register: Register) -> Result<u64> {
        self.count(register)
    }

    /// Every id of a register (cheaper than `list` for reference checks).
    fn ids(&self, register: Register) -> Result<Vec<String>>;

    /// Assignment history of one asset, or of everything one person held, oldest first.
    fn assignments(&self, of: AssignmentsOf<'_>) -> Result<Vec<Assignment>>;

    /// Visits audit records in sequence order, one at a time, so verifying a long chain needs no
    /// more memory than one record.
    fn audit_records(
        &self,
        query: &AuditQuery,
        visit: &mut dyn FnMut(AuditRecord) -> Result<()>,
    ) -> Result<()>;

    /// The recorded head of the chain: last sequence number and hash.
    fn audit_head(&self) -> Result<(i64, String)>;

    /// Word of changes committed by any server, for what a server keeps between requests
    /// ([`ChangeFeed`]); `None` where reading afresh costs no round trip (SQLite, in process).
    fn changes(&self) -> Option<ChangeFeed> {
        None
    }

    /// Erases personal data of one row, in one transaction: sets `fields` to the values given
    /// (text or null), rewrites the same fields in the version 2 payloads of the row's own audit
    /// records (their hashes untouched), and appends one `erase` record (entity and id of the row,
    /// `reason`, the fields, the rewritten payloads' new hashes). Its sequence number. A missing
    /// row is [`StoreError::NotFound`]; a field the register lacks, or one identifying the row,
    /// [`StoreError::UnknownField`]; either writes nothing. Deciding who may be erased is the
    /// caller's.
    fn erase(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        register: Register,
        id: &str,
        fields: &[(&str, steward_model::Value)],
        reason: &str,
    ) -> Result<i64>;

    /// Reconciles one check run of `packs` at `at` with the stored findings, in one transaction:
    /// new failures open, unchanged ones keep their `first_failing` (and write nothing but
    /// `last_failing`), changed ones are updated, stored failures of these packs that the run no
    /// longer reports are resolved, resolved ones failing again reopen, and failures covered by an
    /// unexpired exception among `exceptions` are excepted (see the `findings` module for the whole
    /// lifecycle). Every change appends a `finding_events` row and an audit record (entity
    /// `finding`, id the finding's key). Findings of other packs are left alone; a finding of a
    /// pack not in `packs`, a key reported twice, or a run older than one already recorded for
    /// these packs is refused. `ladders` are the controls' escalation ladders: a failing finding
    /// past its due date climbs them a step at a time, each step an `escalated` event.
    fn record_findings(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        packs: &[String],
        findings: Vec<Finding>,
        exceptions: &[ExceptionCover],
        ladders: &Ladders,
    ) -> Result<FindingsSummary> {
        let mut batches = findings::batches(findings, ladders);
        self.record_findings_batched(actor, at, packs, exceptions, &mut || Ok(batches.next()))
    }

    /// [`Store::record_findings`] for a run handed over one control at a time: `next` is asked
    /// for the next control's findings until it answers `None`, and each is reconciled and
    /// written before the next is asked for, so no more than one control's findings are held at
    /// once. The stored failing findings of controls no batch named resolve at the end; an error
    /// from `next` abandons the run, writing nothing.
    fn record_findings_batched(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        packs: &[String],
        exceptions: &[ExceptionCover],
        next: &mut NextBatch<'_>,
    ) -> Result<FindingsSummary> {
        self.record_findings_run(actor, at, packs, exceptions, RunCover::default(), next)
    }

    /// [`Store::record_findings_batched`], saying what the run evaluated: where `cover` says
    /// some controls only, the stored findings of controls no batch named stand; its audit
    /// sequence number is kept as the packs' mark ([`Store::check_mark`]).
    fn record_findings_run(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        packs: &[String],
        exceptions: &[ExceptionCover],
        cover: RunCover,
        next: &mut NextBatch<'_>,
    ) -> Result<FindingsSummary>;

    /// The audit log's head when the last run of every one of `packs` began reading the estate,
    /// the earliest of them: every change a run after it has to look at comes after it in the
    /// log. `None` where a pack has had no run that kept one.
    fn check_mark(&self, packs: &[String]) -> Result<Option<CheckMark>>;

    /// Stored findings matching `query`, most severe first, then longest failing, then by key.
    fn findings(&self, query: &FindingQuery) -> Result<Vec<StoredFinding>>;

    /// How many findings `query` matches, whatever its limit.
    fn count_findings(&self, query: &FindingQuery) -> Result<u64>;

    /// Every finding, in any state, tallied (see [`FindingTally`]).
    fn finding_tallies(&self) -> Result<Vec<FindingTally>>;

    /// Every event of one finding, oldest first; empty for a key never recorded.
    fn finding_history(&self, key: &str) -> Result<Vec<FindingEvent>>;

    /// The sign-in with this address, compared lower-cased.
    fn sign_in(&self, email: &str) -> Result<Option<SignIn>>;

    /// Every sign-in, ordered by address.
    fn sign_ins(&self) -> Result<Vec<SignIn>>;

    fn sign_in_count(&self) -> Result<u64>;

    /// Creates or rewrites a sign-in (its address lower-cased) in one transaction with one audit
    /// record (entity [`SIGN_IN_ENTITY`], id the address, `action` as given: `create`,
    /// `enrol_mfa`, `change_password`, …) whose `before`/`after` hold what the account means and
    /// none of its secrets. Every field is written as given, but for one guard: while the TOTP
    /// secret stays the same, `totp_last_step` never moves back (so a copy read before a
    /// [`Store::set_totp_step`] cannot reopen a replay window).
    fn save_sign_in(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        action: &str,
        sign_in: &SignIn,
    ) -> Result<()>;

    /// Creates `sign_in` (audited as `create`) only if there is no sign-in at all, atomically:
    /// of several first runs racing, exactly one creates. `false`, writing nothing, when any
    /// account exists.
    fn create_first_sign_in(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        sign_in: &SignIn,
    ) -> Result<bool>;

    /// Records `step` as the last TOTP step used if it is later than the one recorded (or none
    /// is): `false` when it is not — a replayed or older code — or there is no such sign-in.
    /// Not audited.
    fn set_totp_step(&self, email: &str, step: i64) -> Result<bool>;

    /// Uses one recovery code of a sign-in, by its stored hash: removed and audited in one
    /// transaction, or `false` (nothing written) if it is no longer there — a code works once even
    /// when two requests race with it.
    fn consume_recovery_code(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        email: &str,
        code_hash: &str,
    ) -> Result<bool>;

    /// Stores a new session (its address lower-cased); an existing token hash is an error.
    fn create_session(&self, session: &Session) -> Result<()>;

    fn session(&self, token_hash: &str) -> Result<Option<Session>>;

    /// The packs whose checks have run and been recorded here, by id.
    fn packs_run(&self) -> Result<Vec<String>>;

    /// Every pack the organisation has chosen or set aside, by id.
    fn packs(&self) -> Result<Vec<PackChoice>>;

    /// Every connector, by name, with its sealed credential and its runs' state.
    fn connectors(&self) -> Result<Vec<ConnectorRow>>;

    /// Adds a connector or changes its definition and credential (its run state is kept), with
    /// one audit record (entity `connector`) that never holds the credential.
    fn save_connector(&self, actor: &str, at: DateTime<Utc>, row: &ConnectorRow) -> Result<()>;

    /// Removes a connector and its links, audited; `false` when there was none.
    fn remove_connector(&self, actor: &str, at: DateTime<Utc>, name: &str) -> Result<bool>;

    /// Records a run's state (cursor, outcome, a pending preview); `false` if no such connector.
    fn set_connector_run(&self, name: &str, run: &ConnectorRun) -> Result<bool>;

    /// A connector's links between its source records and the registers'.
    fn source_links(&self, connector: &str) -> Result<Vec<SourceLink>>;

    /// Remembers links: a person's decisions audited (entity `source_link`), links learnt by
    /// matching not, and never over a person's decision.
    fn save_source_links(&self, actor: &str, at: DateTime<Utc>, links: &[SourceLink])
    -> Result<()>;

    /// Records that `source` set these fields at `synced_at`.
    fn record_provenance(
        &self,
        source: &str,
        synced_at: DateTime<Utc>,
        records: &[SourcedFields],
    ) -> Result<()>;

    /// Where each synced field of one record came from.
    fn provenance(&self, register: Register, id: &str) -> Result<Vec<Provenance>>;

    /// Replaces the standing of each pack among `rows` on each of their days with `rows`, in one
    /// transaction.
    fn record_compliance(&self, rows: &[ComplianceDay]) -> Result<()>;

    /// Every pack's and section's standing from `since` on, by pack, section and day.
    fn compliance(&self, since: NaiveDate) -> Result<Vec<ComplianceDay>>;

    /// Saves one of the organisation's own packs' files, with one audit record (entity
    /// `pack_document`); `false`, and nothing written, when they are the files already stored.
    fn save_pack_document(&self, document: &PackDocument) -> Result<bool>;

    /// The organisation's own packs' files, by id.
    fn pack_documents(&self) -> Result<Vec<PackDocument>>;

    /// Sets the organisation's value of a parameter from a day, with one audit record (entity
    /// `parameter`); `false`, and nothing written, when it already stood so.
    fn set_parameter_override(&self, parameter: &ParameterOverride) -> Result<bool> {
        Ok(self.set_parameter_overrides(std::slice::from_ref(parameter))? > 0)
    }

    /// Sets several values in one transaction (an `overrides.toml` imported: all or nothing),
    /// each with its audit record; how many changed.
    fn set_parameter_overrides(&self, parameters: &[ParameterOverride]) -> Result<usize>;

    /// Every value the organisation has set, by name and day.
    fn parameter_overrides(&self) -> Result<Vec<ParameterOverride>>;

    /// Makes a pack active or not, with one audit record (entity `pack`); `false`, and nothing
    /// written, when it already stood so.
    fn set_pack_active(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        id: &str,
        active: bool,
    ) -> Result<bool>;

    /// Stores a new API token (only its secret's hash), with one audit record (entity
    /// `api_token`, action `create`) that never holds the hash. An id or hash already stored is
    /// an error, nothing written.
    fn create_api_token(&self, token: &ApiTokenRow) -> Result<()>;

    /// Every API token, newest first.
    fn api_tokens(&self) -> Result<Vec<ApiTokenRow>>;

    /// The API token whose secret hashes to `token_hash`, revoked and expired ones too.
    fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiTokenRow>>;

    /// Revokes an API token, with one audit record (action `revoke`): the token as it now
    /// stands, or `None` (nothing written) if there is none or it was revoked already.
    fn revoke_api_token(
        &self,
        id: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ApiTokenRow>>;

    /// Counts a request made with API token `token_id` in `minute` (minutes since 1970) where
    /// every server sharing the database counts it: the minute's count, this one included.
    /// `None` where one server alone serves the database (SQLite), which counts in memory.
    fn count_api_request(&self, token_id: &str, minute: i64) -> Result<Option<u64>>;

    /// Records when an API token was last used; nothing if there is no such token. Not
    /// audited. On SQLite, also nothing while another write holds the database (as
    /// [`Store::touch_session`]): callers never rely on one touch.
    fn touch_api_token(&self, id: &str, at: DateTime<Utc>) -> Result<()>;

    /// Stores a new webhook (its secret as the service sealed it), with one audit record (entity
    /// `webhook`, action `create`, by `actor` at `at`) that never holds the secret, only its
    /// digest. An id already stored is an error, nothing written.
    fn create_webhook(&self, actor: &str, at: DateTime<Utc>, row: &WebhookRow) -> Result<()>;

    /// Every webhook, oldest first.
    fn webhooks(&self) -> Result<Vec<WebhookRow>>;

    /// Enables a webhook (its failures back to 0, its reason cleared) or disables it (with
    /// `reason`), with one audit record (action `enable` or `disable`; none when its audited state
    /// stood so already): the webhook as it now stands, or `None` (nothing written) if there is
    /// none.
    fn set_webhook_enabled(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        id: &str,
        enabled: bool,
        reason: Option<&str>,
    ) -> Result<Option<WebhookRow>>;

    /// Replaces a webhook's sealed secret (a key rotation), with one audit record that never
    /// holds it; `false`, nothing written, if there is no such webhook.
    fn set_webhook_secret(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        id: &str,
        secret: &str,
    ) -> Result<bool>;

    /// Queues webhook deliveries, all or none (one transaction); not audited. An id already
    /// stored, or a webhook that is not, is an error, nothing written.
    fn queue_deliveries(&self, deliveries: &[DeliveryRow]) -> Result<()>;

    /// Queues the deliveries of each moment (`key`, its deliveries) not seen before, and marks
    /// it seen, in one transaction: an event found by looking (a request overdue) is sent once
    /// whichever server looks, however often. How many moments were new. Not audited.
    fn queue_deliveries_once(
        &self,
        moments: &[(String, Vec<DeliveryRow>)],
        at: DateTime<Utc>,
    ) -> Result<usize>;

    /// At most `limit` pending deliveries of enabled webhooks whose `next_attempt_at` is `now` or
    /// earlier, the earliest first.
    fn due_deliveries(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<DeliveryRow>>;

    /// Records one attempt at a pending delivery, in one transaction; not audited: its attempts
    /// counted, `last_attempt_at`, `last_status` and `last_response` kept; it becomes
    /// `delivered` if `delivered`, else `failed` if `give_up`, else stays `pending` until
    /// `next_attempt_at`. Its webhook's `failures` go back to 0 if delivered, else up by one.
    /// Nothing if there is no such delivery pending.
    #[allow(clippy::too_many_arguments)]
    fn record_delivery_attempt(
        &self,
        id: &str,
        at: DateTime<Utc>,
        status: Option<i64>,
        response: Option<&str>,
        delivered: bool,
        next_attempt_at: Option<DateTime<Utc>>,
        give_up: bool,
    ) -> Result<()>;

    /// At most `limit` deliveries of one webhook, newest first.
    fn deliveries_of(&self, webhook_id: &str, limit: u64) -> Result<Vec<DeliveryRow>>;

    /// Stores a sign-in sent to a provider, and removes every attempt created before
    /// `expired_before` (housekeeping), in one transaction; not audited. False, nothing stored,
    /// when `most` attempts are in flight already (a flood of sign-ins begun and never finished
    /// must not fill the database). A state hash already stored is an error, nothing written.
    fn begin_sso_attempt(
        &self,
        attempt: &SsoAttemptRow,
        expired_before: DateTime<Utc>,
        most: u64,
    ) -> Result<bool>;

    /// Takes the attempt whose state hashes to `state_hash`: reads and deletes it in one
    /// transaction, so that it is returned once only, even to callers racing on several servers
    /// (the delete decides: a second take returns `None`). Not audited.
    fn take_sso_attempt(&self, state_hash: &str) -> Result<Option<SsoAttemptRow>>;

    /// The link of a provider's subject.
    fn sso_link(&self, provider: &str, subject: &str) -> Result<Option<SsoLinkRow>>;

    /// Every link, by email then provider.
    fn sso_links(&self) -> Result<Vec<SsoLinkRow>>;

    /// The links of one sign-in (email compared lower-cased), by provider.
    fn sso_links_of(&self, email: &str) -> Result<Vec<SsoLinkRow>>;

    /// Saves a link (inserted, or updated by provider and subject; its email lower-cased), with
    /// one audit record (entity `sso_link`, id `provider:subject`, the given action such as
    /// `link` or `sign_in`, before and after) chained in the same transaction. A second link of
    /// the same sign-in at the same provider is an error (the unique index), nothing written.
    fn save_sso_link(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        action: &str,
        link: &SsoLinkRow,
    ) -> Result<()>;

    /// Removes a link with one audit record (action `unlink`, no after-state); `false`, nothing
    /// written, if there is none.
    fn remove_sso_link(
        &self,
        actor: &str,
        at: DateTime<Utc>,
        provider: &str,
        subject: &str,
    ) -> Result<bool>;

    /// The session `token_hash` names with its sign-in and the viewer's standing, read in one
    /// statement; `None` if there is no such session.
    fn visit(&self, token_hash: &str) -> Result<Option<Visit>>;

    /// Moves a session's `last_seen` and sets whether it has passed MFA; nothing if there is no
    /// such session. On SQLite, also nothing while another write holds the database: callers
    /// touch a session again on a later request, and never rely on one touch.
    fn touch_session(
        &self,
        token_hash: &str,
        last_seen: DateTime<Utc>,
        mfa_passed: bool,
    ) -> Result<()>;

    fn delete_session(&self, token_hash: &str) -> Result<()>;

    /// Deletes every session of one sign-in (signing out everywhere); how many there were.
    fn delete_sessions_of(&self, email: &str) -> Result<u64>;

    /// Deletes every session last seen before the instant (housekeeping); how many there were.
    fn delete_sessions_before(&self, last_seen_before: DateTime<Utc>) -> Result<u64>;

    /// Records a failed sign-in guess at `at` under each of `keys`, and forgets every failure
    /// from before `forget_before` (the throttle's window has passed them). Not audited.
    fn record_sign_in_failure(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<()>;

    /// The most recent failures under `key` since `since`, newest first, at most `limit`.
    fn sign_in_failures(
        &self,
        key: &str,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DateTime<Utc>>>;

    /// Forgets the failures under `key` (after a successful sign-in).
    fn clear_sign_in_failures(&self, key: &str) -> Result<()>;

    /// Reserves a guess before it is checked, so that guesses racing on any server sharing the
    /// database are counted one after another. In one transaction, holding a lock on each key:
    /// forgets every failure from before `since`, reads each key's failures since `since`
    /// (newest first, at most its limit), and, if `admit` says so, records one failure at `at`
    /// under every key, which stands unless [`Store::release_sign_in_guess`] takes it back.
    /// Returns what `admit` said. Not audited.
    fn reserve_sign_in_guess(
        &self,
        keys: &[(String, u32)],
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        admit: &mut Admit<'_>,
    ) -> Result<bool>;

    /// Takes back a reserved guess that proved right: one failure at `at` under each of `keys`
    /// (`at` to the microsecond, as reserved), and every failure under each of `clear`.
    fn release_sign_in_guess(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
        clear: &[String],
    ) -> Result<()>;

    /// Takes or renews the lease `name` for `holder` until `until`: `true` if it is now theirs
    /// (it was free, had lapsed before `now`, or was already theirs), `false` if someone else
    /// holds it. One statement, so two servers racing for it cannot both win. Not audited.
    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;

    /// Gives the lease up, if `holder` holds it.
    fn release_lease(&self, name: &str, holder: &str) -> Result<()>;

    /// Records that the audit log's head `seq`/`hash` was emailed at `sent_at` to `recipients`
    /// (an anchor). Refused when it names nobody or no head, or another anchor has the same
    /// `sent_at`. Not audited: an audit record would move the head the anchor names.
    fn record_audit_anchor(&self, anchor: &AuditAnchor) -> Result<()>;

    /// Every anchor recorded, oldest first.
    fn audit_anchors(&self) -> Result<Vec<AuditAnchor>>;

    /// The escalation steps recorded and not yet e-mailed: every `escalated` event of a finding
    /// still escalated, in its current episode, with no [`ESCALATION_MAIL`] entry in `mail_sent`;
    /// oldest first.
    fn escalations_unmailed(&self) -> Result<Vec<FindingEvent>>;

    /// Records a message sent that must go once; `false`, writing nothing, if its kind and key
    /// are there already. Not audited (see `mail_sent`).
    fn record_mail_sent(&self, sent: &MailSent) -> Result<bool>;

    /// The messages of `kind` sent at `since` or later, oldest first.
    fn mail_sent(&self, kind: &str, since: DateTime<Utc>) -> Result<Vec<MailSent>>;

    // Jobs (see the `jobs` module): operational, not audited; who asked and how each ended are
    // in its row.

    /// Queues a job and its files in one transaction: its id and `true`; or, if a job with its
    /// dedupe key exists, that job's id and `false`, queuing nothing.
    fn enqueue_job(&self, job: &NewJob, files: &[JobFile]) -> Result<(i64, bool)>;

    /// Claims the oldest queued job, or a running one whose lease lapsed before `now`, for
    /// `holder` until `until` (see [`MAX_ATTEMPTS`]). `None` when there is nothing to do. Of
    /// several servers claiming at once, each gets a different job.
    fn claim_job(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Job>>;

    /// Renews `holder`'s lease on its running job and records its progress; [`JobHold::Lost`]
    /// (nothing written) if the job is no longer theirs.
    fn renew_job(
        &self,
        id: i64,
        holder: &str,
        until: DateTime<Utc>,
        progress: &JobProgress,
    ) -> Result<JobHold>;

    /// Ends `holder`'s running job (its files deleted): `false`, nothing written, if it is not
    /// theirs.
    fn finish_job(&self, id: i64, holder: &str, now: DateTime<Utc>, end: &JobEnd) -> Result<bool>;

    /// Puts `holder`'s running job back in the queue, its lease cleared, for another server.
    fn hand_back_job(&self, id: i64, holder: &str) -> Result<bool>;

    /// Cancels a queued job, or asks its holder to stop a running one; the job as it then is.
    fn cancel_job(&self, id: i64, now: DateTime<Utc>) -> Result<Option<Job>>;

    fn job(&self, id: i64) -> Result<Option<Job>>;

    /// Jobs, newest first.
    fn jobs(&self, query: &JobQuery) -> Result<Vec<Job>>;

    /// A job's files, in the order queued; none once it has ended.
    fn job_files(&self, id: i64) -> Result<Vec<JobFile>>;
}

#[derive(Debug, Clone, Copy)]
pub enum AssignmentsOf<'a> {
    Asset(&'a str),
    Person(&'a str),
}

/// How a store uses its database: how many connections, and how long a statement may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The most connections held at once (on SQLite: readers; there is one writer besides).
    pub pool_size: u32,
    /// A statement running longer is cancelled by the database (PostgreSQL's
    /// `statement_timeout`; on SQLite, an interrupt), so one slow query cannot hold a connection
    /// for ever. `None`: no limit.
    pub statement_timeout: Option<std::time::Duration>,
    /// A statement or transaction taking at least this long is logged with its duration.
    pub slow_query: Option<std::time::Duration>,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            pool_size: 16,
            statement_timeout: Some(std::time::Duration::from_secs(30)),
            slow_query: Some(std::time::Duration::from_millis(500)),
        }
    }
}

/// Opens (creating and migrating as needed) the database at `url`: `sqlite://PATH`,
/// `sqlite::memory:`, or `postgres://…`/`postgresql://…`.
pub fn open(url: &str) -> Result<Box<dyn Store>> {
    open_with(url, &StoreOptions::default())
}

/// [`open`] with these options.
pub fn open_with(url: &str, options: &StoreOptions) -> Result<Box<dyn Store>> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        Ok(Box::new(sqlite::SqliteStore::open(path, options)?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(pg::PgStore::open(url, options)?))
    } else {
        Err(StoreError::UnsupportedUrl(redact(url)))
    }
}

/// Migrates the database at `url` and, on PostgreSQL, creates or updates `app_role`: the role
/// Steward then connects as, with only INSERT and SELECT on `audit_log` (see docs/audit-log.md).
/// Run as the schema's owner; running it again changes nothing. SQLite has no roles: `app_role`
/// must then be `None`.
pub fn migrate(url: &str, app_role: Option<&str>) -> Result<()> {
    match app_role {
        Some(role) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            pg::PgStore::migrate_with_app_role(url, role)
        }
        Some(role) => Err(StoreError::RoleName(format!(
            "{role}: only PostgreSQL has roles; SQLite is protected by its file's permissions"
        ))),
        None => open(url).map(drop),
    }
}

/// A database url with any password replaced, fit for logs and error messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let sep = if rest.contains('/') { "/" } else { "" };
    format!("{scheme}://{authority}{sep}{path}")
}

/// Verifies the audit log: its hash chain against the recorded head, and the registers against
/// the log's replay (see [`verify_audit_full`]). The outer error is a database failure; the inner
/// one is the first place the chain breaks or, if it holds, the registers' first disagreement.
pub fn verify_audit(
    store: &dyn Store,
) -> Result<std::result::Result<steward_model::audit::ChainHead, steward_model::audit::ChainBreak>>
{
    Ok(verify_audit_full(store, None, 1)?.into_result())
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://./x.db"), "sqlite://./x.db");
    }
}
