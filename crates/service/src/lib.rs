//! The service layer: every operation on the registers that the command line, the web UI and the
//! API offer, in one place, so that all three behave the same and all are audited.
//!
//! It owns validation that needs the database (references, manager chains), import and export of
//! whole folders as one transaction, the organisation's settings, recording check runs' findings
//! against the exceptions register, reading and verifying the audit log (against the registers)
//! and erasing a leaver's personal data, and carrying out the processes —
//! requests, incidents, the working-day calendar — whose decisions `steward-workflow` makes — and
//! listing the notices waiting to be emailed (which `steward-mail` sends).
//!
//! It decides who may do what, in one place (`authority.rs`): every entry point checks the
//! [`Authority`] its [`Stamp`] carries, so no front end can do more than the service allows.
//!
//! TOTP secrets are sealed at rest ([`secrets`]) under a key the front end hands in
//! ([`Steward::with_secret_keys`]); this crate never reads it from the environment.
//!
//! It must never speak HTTP or parse command lines, never hold SQL (the store does), and never
//! change a register except through [`steward_store::Store::commit`], which audits every change.

mod accounts;
mod audit;
mod authority;
mod checks;
mod compliance;
mod connectors;
mod findings;
mod governance;
mod import;
mod jobs;
mod mail;
mod packs;
mod parameters;
mod policy_import;
mod reach;
mod rows;
pub mod secrets;
mod sso;
mod tokens;
mod webhooks;
mod workflow;

use std::io::Write;

use chrono::{DateTime, Utc};
use steward_interchange::{CsvError, Guard};
use steward_model::audit::{AuditRecord, ChainBreak, ChainHead};
use steward_model::{Assignment, Organisation, Record, Register, Row, Value};
use steward_store::{AssignmentsOf, AuditQuery, Backend, CommitSummary, Store, StoreError};

pub use accounts::{
    Capacity, Guess, ISSUER, RECOVERY_CODES, SESSION_ABSOLUTE, SESSION_IDLE, SecondFactor,
    SignInRefused, SignedIn, Viewer,
};
pub use audit::{DIFFERENCES_LISTED, ERASED, PERSONAL_FIELDS};
pub use authority::{Authority, Operation, Refusal, allowed};
pub use checks::{
    RecordedRun, compile_checks, effective_params, evaluate, evaluate_checked, evaluate_each,
    holidays_or_shipped, ladders,
};
pub use compliance::Checked;
pub use connectors::{ConnectorView, KeptBy, Round, SyncOutcome, connector_actor};
pub use findings::EXCEPTION_ASKED_OF;
pub use governance::{Due, DueKind, GovernanceRegisters, due_items};
pub use import::{CheckedFiles, ImportFile, ImportReport};
pub use jobs::{
    BackupHook, BackupSchedule, CheckRun, ImportProblem, JobContext, JobKind, JobOutcome,
    JobResult, JobView, JobWaker, ScheduleSeen, Worker, WorkerSettings,
};
pub use mail::{Addressee, Concerns, Notice};
pub use packs::active_among;
pub use policy_import::{
    ImportedPolicy, MappingPreview, PackDetails, PolicyAnswers, PolicyImportError, is_pack_id,
    pack_id_for, read_policy, skeleton,
};
pub use reach::{Digest, EscalationNotice, digest_due_on, digest_week, parse_weekday};
pub use rows::{RowQuery, row_version, searchable_fields};
pub use secrets::{SecretError, SecretKey, SecretKeys};
pub use sso::{
    Identity, LocalPasswords, Probe, Provider, ProviderSettings, SSO_ATTEMPT_FOR, SignInPolicy,
    Sso, SsoBegun, SsoError, SsoLink, SsoMatch, SsoSignedIn, Start,
};
pub use steward_engine::RunOrder;
pub use steward_store::DeliveryRow;
pub use steward_store::{
    ComplianceDay, ExceptionCover, FindingEvent, FindingEventKind, FindingOrder, FindingQuery,
    FindingTally, FindingsSummary, LadderStep, Ladders,
};
pub use steward_store::{Job, JobProgress, JobState, PackChoice};
pub use tokens::{
    ApiToken, NewToken, TOKEN_LONGEST, TOKEN_PREFIX, TokenAccess, TokenBearer, TokenHolder,
};
pub use webhooks::{EVENTS as WEBHOOK_EVENTS, MOST_FAILURES, Webhook};
pub use workflow::{IncidentView, ProcessTerms, RequestTerms, RequestView};

/// Whom [`Steward::find_people`] looks among.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Among {
    /// Everyone on the people register.
    Everyone,
    /// Those who manage someone: whoever another person's `manager_id` names.
    Managers,
}

/// Who is making a change, and when, and with what authority. Every write carries one; the
/// audit log records who and when, and the service decides by the authority whether it may be
/// made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub actor: String,
    pub at: DateTime<Utc>,
    pub authority: Authority,
}

impl Stamp {
    /// The command line or one of the server's own jobs, now: administrator capacity.
    pub fn now(actor: impl Into<String>) -> Stamp {
        Stamp::at(actor, Utc::now())
    }

    /// [`Stamp::now`] at a given instant.
    pub fn at(actor: impl Into<String>, at: DateTime<Utc>) -> Stamp {
        Stamp {
            actor: actor.into(),
            at,
            authority: Authority::administrator(),
        }
    }

    /// A signed-in person, now, in the capacities they hold.
    pub fn of(viewer: &Viewer) -> Stamp {
        Stamp {
            actor: format!("web:{}", viewer.email),
            at: Utc::now(),
            authority: Authority::of(
                viewer.capacities.iter().copied(),
                viewer.person_id.as_deref(),
            ),
        }
    }

    /// Refused unless this stamp's authority may do `operation` to `register`.
    pub fn authorise(&self, register: Register, operation: Operation) -> Result<()> {
        if self.authority.may(register, operation) {
            Ok(())
        } else {
            Err(ServiceError::Refused(Refusal::Register {
                register,
                operation,
            }))
        }
    }

    /// Refused unless this stamp holds one of `capacities`; `what` says what was refused.
    pub fn require(&self, capacities: &[Capacity], what: &str) -> Result<()> {
        if capacities.iter().any(|c| self.authority.is(*c)) {
            Ok(())
        } else {
            let names: Vec<&str> = capacities.iter().map(|c| c.as_str()).collect();
            Err(ServiceError::Refused(Refusal::Step(format!(
                "{what} is for {} only",
                names.join(", ")
            ))))
        }
    }
}

/// A field that does not hold, outside any file. Said as `field: value: reason`, or `field:
/// reason` when the value is empty (an empty value said between colons reads as a typo).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {}{reason}", given(.value))]
pub struct FieldProblem {
    pub field: &'static str,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Every problem found in the files; nothing was changed.
    #[error("{} problem(s) in the import; nothing was changed", .0.len())]
    Import(Vec<CsvError>),
    #[error("no {} with id {id:?}", register.entity())]
    NotFound { register: Register, id: String },
    #[error("a {} with id {id:?} already exists", register.entity())]
    AlreadyExists { register: Register, id: String },
    #[error("invalid {}: {}", register.entity(), join(.problems))]
    Invalid {
        register: Register,
        problems: Vec<FieldProblem>,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the export: {0}")]
    Write(String),
    /// A check run reported a finding the store should not hold; nothing was recorded.
    #[error("finding {key}: {reason}")]
    InvalidFinding { key: String, reason: String },
    /// A request or incident step the process does not allow; nothing was changed.
    #[error(transparent)]
    Workflow(#[from] steward_workflow::WorkflowError),
    /// Signing in or setting up an account did not go on; nothing was changed.
    #[error(transparent)]
    SignIn(#[from] SignInRefused),
    /// The policy packs cannot run over the estate as configured.
    #[error("{0}")]
    Checks(String),
    /// The authority acting may not do this; nothing was changed.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The password, token or code machinery failed (not the user's doing).
    #[error("authentication: {0}")]
    Auth(String),
    /// A sealed TOTP secret could not be sealed or opened: the wrong key, most likely.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// No such job, or none the stamp may see.
    #[error("no job {0}")]
    NoJob(i64),
    /// A policy pack the server cannot load was named to run.
    #[error("no policy pack {id:?} is known here; those known are: {}", .known.join(", "))]
    UnknownPack { id: String, known: Vec<String> },
    /// A connector could not be set up or could not read its source; nothing was changed.
    #[error("connector {name}: {source}")]
    Connector {
        name: String,
        source: Box<steward_connect::ConnectError>,
    },
    /// No connector of that name.
    #[error("no connector {0:?}")]
    NoConnector(String),
    /// A policy document that did not become a pack.
    #[error(transparent)]
    PolicyImport(#[from] PolicyImportError),
    /// A parameter value refused; nothing was changed.
    #[error("{name}: {problem}")]
    Parameter { name: String, problem: String },
    /// An API token that cannot be made as asked; nothing was changed.
    #[error("api token: {0}")]
    InvalidToken(String),
    /// No API token with that id, or none the stamp may see.
    #[error("no api token {0:?}")]
    NoToken(String),
    /// A webhook refused (its address, its events); nothing was changed.
    #[error("webhook: {0}")]
    Webhook(String),
    /// No webhook of that id.
    #[error("no webhook {0:?}")]
    NoWebhook(String),
    /// The row changed since the version the change was made against; nothing was changed.
    #[error("the {} {id:?} has changed since it was read; read it again", register.entity())]
    Stale { register: Register, id: String },
}

impl ServiceError {
    /// A store error, with a row found to exist when it was meant to be new said as this layer
    /// says it (so that callers, and HTTP, see one kind of "already exists").
    pub(crate) fn from_store(e: StoreError) -> ServiceError {
        match e {
            StoreError::AlreadyExists { register, id } => {
                ServiceError::AlreadyExists { register, id }
            }
            StoreError::Stale { register, id } => ServiceError::Stale { register, id },
            other => ServiceError::Store(other),
        }
    }
}

/// A value as an error shows it: a long one cut short, so that a megabyte refused is not a
/// megabyte repeated.
fn shown(text: &str) -> String {
    const SHOWN: usize = 60;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The value a [`FieldProblem`] shows before its reason: nothing when there was none.
fn given(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!("{value}: ")
    }
}

fn join(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// The organisation's settings before anyone has set them.
pub fn default_organisation() -> Organisation {
    Organisation {
        id: Organisation::ID.into(),
        name: "My organisation".into(),
        time_zone: "Europe/London".into(),
        compliance_green: None,
        compliance_amber: None,
    }
}

/// Steward's operations over one store.
pub struct Steward {
    store: Box<dyn Store>,
    /// What TOTP secrets are sealed with; `None` uses a key made for this process only.
    keys: Option<SecretKeys>,
    /// Who may still sign in with a password.
    sign_in_policy: SignInPolicy,
    /// Whether this process has recorded a run of every check: until it has, a run after a
    /// change evaluates every check too, since the packs built into this binary may read what
    /// those of the last run's did not.
    whole_run_recorded: std::sync::atomic::AtomicBool,
    /// Whether this process ends after one command ([`Steward::for_one_command`]).
    one_command: bool,
}

impl Steward {
    /// Opens the database, migrating it, and moves any roles still held on sign-in accounts into
    /// the roles register (see [`Steward::adopt_account_roles`]).
    pub fn open(url: &str) -> Result<Steward> {
        Steward::open_with(url, &steward_store::StoreOptions::default())
    }

    /// [`Steward::open`] with the store's pool size and statement limits.
    pub fn open_with(url: &str, options: &steward_store::StoreOptions) -> Result<Steward> {
        let steward = Steward {
            store: steward_store::open_with(url, options)?,
            keys: None,
            sign_in_policy: SignInPolicy::default(),
            whole_run_recorded: Default::default(),
            one_command: false,
        };
        steward.adopt_account_roles(&Stamp::now("system:upgrade"))?;
        steward.adopt_packs_run(&Stamp::now("system:upgrade"))?;
        Ok(steward)
    }

    pub fn from_store(store: Box<dyn Store>) -> Steward {
        Steward {
            store,
            keys: None,
            sign_in_policy: SignInPolicy::default(),
            whole_run_recorded: Default::default(),
            one_command: false,
        }
    }

    /// Seals TOTP secrets with these keys (the first seals, every one opens). Without them a
    /// `Steward` seals with a key that lives only as long as the process: fine for tests and
    /// scratch databases, never for a server, whose front end must hand its key in here.
    pub fn with_secret_keys(self, keys: SecretKeys) -> Steward {
        Steward {
            keys: Some(keys),
            ..self
        }
    }

    /// For a process that ends once its one command is done (`steward check`): what a run read
    /// of the estate, millions of small values, is left for the process's exit to reclaim rather
    /// than freed one by one first (a sixth of a second at 100,000 people). Never for a server.
    pub fn for_one_command(self) -> Steward {
        Steward {
            one_command: true,
            ..self
        }
    }

    /// Drops `value`, or, in a process for one command, leaves it to the process's exit.
    pub(crate) fn done_with<T>(&self, value: T) {
        if self.one_command {
            std::mem::forget(value);
        }
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    // --- organisation -------------------------------------------------------------------------

    pub fn organisation(&self) -> Result<Organisation> {
        match self.get::<Organisation>(Organisation::ID)? {
            Some(org) => Ok(org),
            None => Ok(default_organisation()),
        }
    }

    pub fn set_organisation(&self, stamp: &Stamp, org: Organisation) -> Result<CommitSummary> {
        stamp.authorise(Register::Organisation, Operation::Update)?;
        let org = Organisation {
            id: Organisation::ID.into(),
            ..org
        };
        self.write(stamp, org.to_row())
    }

    // --- any register -------------------------------------------------------------------------

    pub fn get<R: Record>(&self, id: &str) -> Result<Option<R>> {
        self.store
            .get(R::REGISTER, id)?
            .map(|row| from_row::<R>(&row))
            .transpose()
    }

    pub fn list<R: Record>(&self) -> Result<Vec<R>> {
        self.store
            .list(R::REGISTER)?
            .iter()
            .map(from_row::<R>)
            .collect()
    }

    /// The records whose text `field` holds `value` (an indexed reference such as `manager_id`
    /// or `assigned_to`), ordered by id.
    pub fn list_where<R: Record>(&self, field: &str, value: &str) -> Result<Vec<R>> {
        self.store
            .list_where(R::REGISTER, field, value)?
            .iter()
            .map(from_row::<R>)
            .collect()
    }

    /// The records whose text `field` holds any of `values`, ordered by id: one read for a
    /// team's people or a person's equipment, not one per value.
    pub fn list_where_any<R: Record>(&self, field: &str, values: &[String]) -> Result<Vec<R>> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        self.store
            .list_where_any(R::REGISTER, field, values)?
            .iter()
            .map(from_row::<R>)
            .collect()
    }

    /// A page of records for a list screen, and how many match in all (see
    /// [`steward_store::ListPage`]).
    pub fn list_page<R: Record>(
        &self,
        equal: Vec<(&str, &str)>,
        search: Option<(Vec<&str>, &str)>,
        limit: u64,
        after: Option<&str>,
        sort: Option<(&str, bool)>,
    ) -> Result<(Vec<R>, u64)> {
        let (rows, total) = self.store.list_page(&steward_store::ListPage {
            register: R::REGISTER,
            equal,
            search,
            limit,
            after,
            sort,
            referenced_by: None,
        })?;
        let records = rows.iter().map(from_row::<R>).collect::<Result<Vec<R>>>()?;
        Ok((records, total))
    }

    /// The people whose name, id or e-mail holds `text` (in any case, each character as itself;
    /// everyone `among` for no text), by name, at most `limit` of them, and how many match in
    /// all: what a person picker offers. Read as `stamp` may read the people register.
    pub fn find_people(
        &self,
        stamp: &Stamp,
        among: Among,
        text: &str,
        limit: u64,
    ) -> Result<(Vec<steward_model::Person>, u64)> {
        stamp.authorise(Register::People, Operation::Read)?;
        let text = text.trim();
        let (rows, total) = self.store.list_page(&steward_store::ListPage {
            register: Register::People,
            equal: Vec::new(),
            search: (!text.is_empty()).then(|| (vec!["name", "id", "email"], text)),
            limit,
            after: None,
            sort: Some(("name", false)),
            referenced_by: match among {
                Among::Everyone => None,
                Among::Managers => Some((Register::People, "manager_id")),
            },
        })?;
        let people = rows
            .iter()
            .map(from_row::<steward_model::Person>)
            .collect::<Result<Vec<_>>>()?;
        Ok((people, total))
    }

    /// Adds a record; refused if one with its id (or key) exists.
    pub fn create<R: Record>(&self, stamp: &Stamp, record: &R) -> Result<CommitSummary> {
        self.create_row(stamp, record.to_row())
    }

    /// One record of any register, as `stamp` may read it.
    pub fn read_row(&self, stamp: &Stamp, register: Register, id: &str) -> Result<Option<Row>> {
        stamp.authorise(register, Operation::Read)?;
        Ok(self.store.get(register, id)?)
    }

    /// [`Steward::create`] for a row of any register.
    pub fn create_row(&self, stamp: &Stamp, row: Row) -> Result<CommitSummary> {
        self.authorise_row(stamp, &row, Operation::Create)?;
        let register = row.register();
        if self.store.get(register, row.id())?.is_some() {
            return Err(ServiceError::AlreadyExists {
                register,
                id: row.id().to_owned(),
            });
        }
        // Checked again inside the transaction: another writer may create it in between.
        let id = row.id().to_owned();
        self.write_creating(stamp, row, &[(register, &id)])
    }

    /// Replaces a record by id (or key); refused if there is none, or if it changes a field the
    /// connector keeping the record owns (see [`Steward::set_fields`]).
    pub fn update<R: Record>(&self, stamp: &Stamp, record: &R) -> Result<CommitSummary> {
        let row = record.to_row();
        self.authorise_row(stamp, &row, Operation::Update)?;
        let Some(before) = self.store.get(R::REGISTER, row.id())? else {
            return Err(ServiceError::NotFound {
                register: R::REGISTER,
                id: row.id().to_owned(),
            });
        };
        self.refuse_hand_edits(stamp, &before, &row)?;
        self.write(stamp, row)
    }

    /// Sets named fields of a stored row from their interchange spelling, as `steward set` and
    /// web forms do. What identifies the row (its id, or the fields its key is made of) cannot
    /// change: a different key is a different row.
    ///
    /// A person's change of a field that the connector keeping the record owns (the record's
    /// `source` names a connector, and the field is in its kind's
    /// `steward_connect::plan::owned` list) is refused, as a problem with that field: the
    /// next sync would put the source's value back, so the change belongs in the source. This
    /// and [`Steward::update`] are the hand edits refused; a connector's own changes pass, and
    /// so do CSV imports, which are the organisation's own file — deliberately brought in as a
    /// whole, not one person's edit of one field — and process steps, which change what they
    /// must (a leaver's accounts closed) and leave the source to say otherwise at its next sync.
    pub fn set_fields(
        &self,
        stamp: &Stamp,
        register: Register,
        id: &str,
        changes: &[(String, String)],
    ) -> Result<CommitSummary> {
        stamp.authorise(register, Operation::Update)?;
        let before = self
            .store
            .get(register, id)?
            .ok_or_else(|| ServiceError::NotFound {
                register,
                id: id.to_owned(),
            })?;
        self.set_fields_of(stamp, before, changes, false)
    }

    /// [`Steward::set_fields`] on the row as read (`before`); with `exactly`, refused with
    /// [`ServiceError::Stale`] if it is not stored so when the change commits.
    pub(crate) fn set_fields_of(
        &self,
        stamp: &Stamp,
        before: Row,
        changes: &[(String, String)],
        exactly: bool,
    ) -> Result<CommitSummary> {
        let register = before.register();
        let mut row = before.clone();
        let mut problems = Vec::new();
        for (name, text) in changes {
            let Some(field) = register.fields().iter().find(|f| f.name == name.as_str()) else {
                problems.push(FieldProblem {
                    field: "field",
                    value: name.clone(),
                    reason: format!("unknown field of {}", register.entity()),
                });
                continue;
            };
            if !field.csv {
                problems.push(FieldProblem {
                    field: field.name,
                    value: text.clone(),
                    reason: format!(
                        "derived from {}; it cannot be set",
                        register
                            .key_fields()
                            .map(|f| f.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
                continue;
            }
            if register.key_fields().any(|k| k.name == field.name) {
                let reason = if register.has_derived_key() {
                    "part of the key; it cannot change (record the new row instead)"
                } else {
                    "an id cannot change"
                };
                problems.push(FieldProblem {
                    field: field.name,
                    value: text.clone(),
                    reason: reason.into(),
                });
                continue;
            }
            match field.parse(text.trim()) {
                Ok(v) => {
                    row.set(field.name, v);
                }
                Err(reason) => problems.push(FieldProblem {
                    field: field.name,
                    value: shown(text),
                    reason,
                }),
            }
        }
        if !problems.is_empty() {
            return Err(ServiceError::Invalid { register, problems });
        }
        self.authorise_row(stamp, &row, Operation::Update)?;
        self.refuse_hand_edits(stamp, &before, &row)?;
        if exactly {
            self.write_checked(stamp, row, &[], std::slice::from_ref(&before))
        } else {
            self.write(stamp, row)
        }
    }

    /// Refused unless `stamp` may do `operation` to `row`'s register, and the row is not a grant
    /// of a role to (or a change of one of) the acting person: nobody raises their own roles.
    pub(crate) fn authorise_row(
        &self,
        stamp: &Stamp,
        row: &Row,
        operation: Operation,
    ) -> Result<()> {
        stamp.authorise(row.register(), operation)?;
        if row.register() == Register::Roles
            && let Some(me) = &stamp.authority.person_id
            && row.get("person_id").map(Value::to_text).as_deref() == Some(me.as_str())
        {
            return Err(ServiceError::Refused(Refusal::OwnRoles));
        }
        Ok(())
    }

    /// Validates one row against its register and the database, then commits it.
    fn write(&self, stamp: &Stamp, row: Row) -> Result<CommitSummary> {
        self.write_creating(stamp, row, &[])
    }

    /// [`Steward::write`], refused if a row named in `new` exists by the time it commits.
    fn write_creating(
        &self,
        stamp: &Stamp,
        row: Row,
        new: &[(Register, &str)],
    ) -> Result<CommitSummary> {
        self.write_checked(stamp, row, new, &[])
    }

    /// [`Steward::write`], refused if a row named in `new` exists, or one of `expected` is not
    /// stored exactly so, by the time it commits.
    fn write_checked(
        &self,
        stamp: &Stamp,
        row: Row,
        new: &[(Register, &str)],
        expected: &[Row],
    ) -> Result<CommitSummary> {
        let mut rows = [row];
        self.derive(&mut rows)?;
        let [row] = rows;
        let problems = self.check_row(&row)?;
        if !problems.is_empty() {
            return Err(ServiceError::Invalid {
                register: row.register(),
                problems,
            });
        }
        if expected.is_empty() {
            self.store
                .commit_creating(&stamp.actor, stamp.at, vec![row], new)
        } else {
            self.store
                .commit_expecting(&stamp.actor, stamp.at, vec![row], expected)
        }
        .map_err(ServiceError::from_store)
    }

    /// Everything wrong with a row: each value re-read from its interchange spelling (so a typed
    /// record built in code obeys the same rules as a CSV cell), required values, references. A
    /// derived key is the row's own doing and is not re-read.
    pub fn check_row(&self, row: &Row) -> Result<Vec<FieldProblem>> {
        self.check_row_against(row, &|_, _| false)
    }

    /// [`Steward::check_row`], where `pending` says whether a referenced row is being written in
    /// the same transaction.
    pub(crate) fn check_row_against(
        &self,
        row: &Row,
        pending: &dyn Fn(Register, &str) -> bool,
    ) -> Result<Vec<FieldProblem>> {
        let mut problems = Vec::new();
        for (field, value) in row.register().fields().iter().zip(row.values()) {
            if !field.csv {
                continue;
            }
            let text = value.to_text();
            let problem = |reason: String| FieldProblem {
                field: field.name,
                value: shown(&text),
                reason,
            };
            if value.is_null() {
                if field.required {
                    problems.push(problem("a value is required".into()));
                }
                continue;
            }
            match field.parse(&text) {
                Ok(reparsed) if reparsed == *value => {}
                // Empty text reads back as no value: a blank where one is needed, or a blank
                // that should have been left out.
                Ok(Value::Null) if field.required => {
                    problems.push(problem("a value is required".into()))
                }
                Ok(Value::Null) => problems.push(problem(
                    "is blank: leave the value out rather than write an empty one".into(),
                )),
                Ok(reparsed) => problems.push(problem(format!(
                    "should be written as {}",
                    reparsed.to_text()
                ))),
                Err(reason) => problems.push(problem(reason)),
            }
            if let (Some(target), Value::Text(id)) = (field.refers_to, value) {
                let is_self = target == row.register() && id == row.id();
                if !is_self && !pending(target, id) && self.store.get(target, id)?.is_none() {
                    problems.push(problem(format!("no {} with this id", target.entity())));
                }
            }
        }
        problems.extend(
            row.problems()
                .into_iter()
                .map(|(field, reason)| FieldProblem {
                    field,
                    value: row.get(field).map(Value::to_text).unwrap_or_default(),
                    reason,
                }),
        );
        Ok(problems)
    }

    pub fn counts(&self) -> Result<Vec<(Register, u64)>> {
        Register::ALL
            .iter()
            .map(|r| Ok((*r, self.store.count(*r)?)))
            .collect()
    }

    // --- interchange --------------------------------------------------------------------------

    /// Imports files as one transaction: every error in every file, or every row applied.
    pub fn import(&self, stamp: &Stamp, files: Vec<ImportFile>) -> Result<ImportReport> {
        import::import(self, stamp, files, Guard::On)
    }

    /// [`Steward::import`], with the formula guard taken off text cells or not
    /// (`steward import --no-guard`).
    pub fn import_with(
        &self,
        stamp: &Stamp,
        files: Vec<ImportFile>,
        guard: Guard,
    ) -> Result<ImportReport> {
        import::import(self, stamp, files, guard)
    }

    /// Checks files exactly as an import would — against the files and this database — and
    /// returns their rows without writing anything.
    pub fn check_files(&self, files: Vec<ImportFile>) -> Result<CheckedFiles> {
        import::check(self, files, Guard::On)
    }

    /// A folder's files checked exactly as an import would check them (an error is the same
    /// error), each register the rules know laid out for them as its file is read, keeping only
    /// the fields `reads` names: the estate of a checked folder, without its millions of rows
    /// ever held beside their columns. With the organisation's time zone (its last row's, or
    /// the default) and its bank holidays (none if the folder has none).
    pub fn check_files_laid_out(
        &self,
        files: Vec<ImportFile>,
        reads: steward_rules::Reads,
    ) -> Result<(steward_rules::Data, String)> {
        let checked = import::check_laid_out(self, files, &reads)?;
        let rows = |register: Register| {
            checked
                .registers
                .iter()
                .filter(move |(r, _)| *r == register)
                .flat_map(|(_, rows)| rows)
        };
        let time_zone = rows(Register::Organisation)
            .filter_map(|row| row.get("time_zone").and_then(Value::as_text))
            .next_back()
            .map_or_else(|| default_organisation().time_zone, str::to_owned);
        let mut data = steward_rules::Data::from_laid_out(checked.laid_out, reads);
        data.set_holiday_rows(rows(Register::BankHolidays));
        Ok((data, time_zone))
    }

    /// Writes a register as CSV, rows ordered by id.
    /// Text a spreadsheet would run as a formula is guarded with a leading `'`
    /// ([`steward_interchange::guard`]).
    pub fn export(&self, stamp: &Stamp, register: Register, out: impl Write) -> Result<usize> {
        self.export_with(stamp, register, out, Guard::On)
    }

    /// [`Steward::export`], with text cells guarded or not (`steward export --no-guard`).
    pub fn export_with(
        &self,
        stamp: &Stamp,
        register: Register,
        out: impl Write,
        guard: Guard,
    ) -> Result<usize> {
        stamp.authorise(register, Operation::Export)?;
        let rows = self.store.list(register)?;
        steward_interchange::write_with(register, &rows, out, guard)
            .map_err(|e| ServiceError::Write(e.to_string()))?;
        Ok(rows.len())
    }

    /// Commits a whole estate held in memory (the demo generator's output) as one transaction.
    pub fn load_estate(
        &self,
        stamp: &Stamp,
        estate: &steward_model::Estate,
    ) -> Result<CommitSummary> {
        stamp.require(&[Capacity::Administrator], "loading a whole estate")?;
        let rows = Register::ALL.iter().flat_map(|r| estate.rows(*r)).collect();
        Ok(self.store.commit(&stamp.actor, stamp.at, rows)?)
    }

    // --- history ------------------------------------------------------------------------------

    pub fn assignments(&self, of: AssignmentsOf<'_>) -> Result<Vec<Assignment>> {
        Ok(self.store.assignments(of)?)
    }

    pub fn audit_log(
        &self,
        query: &AuditQuery,
        visit: &mut dyn FnMut(AuditRecord) -> steward_store::Result<()>,
    ) -> Result<()> {
        Ok(self.store.audit_records(query, visit)?)
    }

    /// The outer error is the database failing; the inner one the first break in the chain or,
    /// if it holds, the registers' first disagreement with the log (see `verify_audit_against`).
    pub fn verify_audit(&self) -> Result<std::result::Result<ChainHead, ChainBreak>> {
        Ok(steward_store::verify_audit(self.store.as_ref())?)
    }
}

fn from_row<R: Record>(row: &Row) -> Result<R> {
    R::from_row(row).map_err(|e| {
        ServiceError::Store(StoreError::Corrupt {
            table: R::REGISTER.name(),
            column: "",
            id: row.id().to_owned(),
            reason: e.to_string(),
        })
    })
}
