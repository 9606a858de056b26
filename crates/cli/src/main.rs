//! `steward`: the one binary. Parses the command line and configuration, then calls the service
//! layer or starts the web server. It holds no business rules of its own.

mod account;
mod audit;
mod backup;
mod check;
mod config;
mod connect;
mod diff;
mod governance;
mod jobs;
mod mail;
mod policy;
mod policy_import;
mod process;
mod serve;
mod token;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use steward_model::{Organisation, Register};
use steward_service::{ImportFile, ServiceError, Stamp, Steward};
use steward_store::{AssignmentsOf, AuditQuery};

use crate::config::Settings;
use crate::policy::PolicyCommand;

/// mimalloc rather than the system's allocator: a thread frees what it allocated without a lock
/// it shares with other threads. With glibc's, a job letting go of a big check run's memory
/// stalled every request of the server for as long as that took (`/healthz` 100–360 ms during a
/// 290,000-person upload; BENCHMARKS.md), and allocation-heavy work (imports, evaluation) runs
/// faster in less memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`, the same in mimalloc 2 and 3;
/// the crate's bindings name only the older options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc keeps pages a thread freed before it returns them to the system, in
/// milliseconds (its default is 10).
pub(crate) const PURGE_DELAY_MS: std::ffi::c_long = 3;

/// Pages a thread frees go back to the system after 3 ms rather than 10. A connector sync lets
/// go of its planning memory just before its commit fills SQLite's page cache (allocated by
/// SQLite through the C allocator, so it cannot reuse mimalloc's pages) and the audit records;
/// with the default both were resident at once (peak 509 MiB for a 20,000-user tenant; 373 MiB
/// at 3 ms, in the same time). Returning them at once (0) saved a little more but made the
/// freeing thread slow the server's other requests during a big check run (BENCHMARKS.md).
fn return_freed_pages_promptly() {
    // mimalloc reads its options from the environment when the process starts; one set there
    // is the operator's choice and stands.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets one of mimalloc's documented integer options; it takes any value and has no
    // precondition.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
}

/// Steward: an organisation's IT, run under its written policy.
#[derive(Parser, Debug)]
#[command(name = "steward", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Database: sqlite://PATH or postgres://USER@HOST:PORT/DB. Default: SQLite in the data directory.
    #[arg(long, global = true, env = "STEWARD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Where Steward keeps its embedded database and configuration.
    #[arg(long, global = true, env = "STEWARD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A TOML configuration file. Default: steward.toml in the data directory, if present.
    #[arg(long, global = true, env = "STEWARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, env = "STEWARD_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web server.
    Serve {
        /// Address to listen on. Default 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Serve a demo organisation from a temporary data directory, printing a sign-in (with
        /// its TOTP secret) for each role.
        #[arg(long)]
        demo: bool,
        /// How many people the demo organisation has.
        #[arg(long, default_value_t = 500, requires = "demo")]
        demo_people: usize,
    },
    /// Import register CSV files: `import KIND FILE`, or `import DIR` for every known file in a folder.
    Import {
        /// A register (people, systems, assets, accounts, budget_centres, organisation) or a folder.
        target: String,
        /// The file, when the first argument names a register.
        file: Option<PathBuf>,
        /// Record the changes as made at this time (RFC 3339). Default: now.
        #[arg(long)]
        at: Option<DateTime<Utc>>,
        /// Keep a leading `'` before `=`, `+`, `-`, `@`, tab or carriage return in text cells
        /// (by default it is taken off: it is the formula guard `export` adds).
        #[arg(long)]
        no_guard: bool,
        /// On bad input, list every problem after the summary (which shows the first few of each
        /// kind).
        #[arg(long)]
        all_errors: bool,
        /// On bad input, write every problem to FILE as CSV (file,line,column,value,reason).
        #[arg(long, value_name = "FILE")]
        errors: Option<PathBuf>,
    },
    /// Export a register as CSV, or every register into a folder with `export all --out DIR`.
    Export {
        /// A register name, or `all`.
        kind: String,
        /// File (or folder, for `all`) to write. Default: standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write text cells as they are, without the `'` that stops a spreadsheet running one
        /// that starts with `=`, `+`, `-`, `@`, tab or carriage return as a formula.
        #[arg(long)]
        no_guard: bool,
    },
    /// Read and change single records.
    #[command(subcommand)]
    Register(RegisterCommand),
    /// The organisation's settings.
    #[command(subcommand)]
    Org(OrgCommand),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check the estate against the active policy packs and list the findings.
    Check(check::CheckArgs),
    /// Policy packs: list, show, validate, check coverage, start your own.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Service requests: raise, approve, reject, fulfil, cancel, list.
    #[command(subcommand)]
    Request(process::RequestCommand),
    /// Incidents: report, investigate, record, acknowledge, close.
    #[command(subcommand)]
    Incident(process::IncidentCommand),
    /// The working-day calendar: bank holidays and working-day arithmetic.
    #[command(subcommand)]
    Calendar(process::CalendarCommand),
    /// Sign-in accounts: list, add, reset an authenticator, disable, enable.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// The governance registers: what falls due, tasks done, records disposed of.
    #[command(subcommand)]
    Governance(governance::GovernanceCommand),
    /// Email the notices of requests and incidents to whoever is to be told.
    #[command(subcommand)]
    Mail(mail::MailCommand),
    /// Background jobs (imports and check runs queued from the web, scheduled checks): list,
    /// show, cancel.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Connectors to the organisation's own systems: add, list, test, preview, sync, remove.
    #[command(subcommand)]
    Connect(connect::ConnectCommand),
    /// API tokens for other systems (services): create, list, revoke.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// The JSON API: `spec` prints its OpenAPI document (as `/api/v1/openapi.json` serves it).
    #[command(subcommand)]
    Api(ApiCommand),
    /// Single sign-on: `test` reads each configured provider's metadata and keys, as a sign-in
    /// would, and says what it found (and the redirect URI its registration must hold).
    #[command(subcommand)]
    Sso(SsoCommand),
    /// Erase a leaver's personal data from the registers and the audit log's payloads.
    #[command(subcommand)]
    Erase(EraseCommand),
    /// Migrate the database (run as the schema's owner); on PostgreSQL, also create or update the
    /// role Steward connects as.
    Migrate {
        /// The PostgreSQL role Steward connects as: granted what it needs, and on audit_log only
        /// INSERT and SELECT. Idempotent.
        #[arg(long)]
        app_role: Option<String>,
    },
    /// Write a backup of the database, while servers run, to FILE: an SQLite database (mode
    /// 0600) that is checked and its audit log verified before it is put in place. The secret
    /// key is not in it: back that up separately.
    Backup {
        /// The file to write; it must not exist.
        file: PathBuf,
    },
    /// Restore a backup into the database (SQLite or PostgreSQL, which must be empty), then
    /// verify its audit log and check that the secret key opens its MFA secrets.
    Restore {
        /// A file `steward backup` wrote.
        file: PathBuf,
        /// Delete everything the database holds first, in the same transaction (on PostgreSQL,
        /// as the schema's owner).
        #[arg(long)]
        replace: bool,
    },
    /// Generate a deterministic demo organisation into the database or a CSV folder.
    Demo {
        /// How many people.
        #[arg(long, default_value_t = 500)]
        people: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write CSV files to this folder instead of the database.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The date the estate is generated as of. Default: today.
        #[arg(long)]
        today: Option<NaiveDate>,
        /// How many complete months of phone and SIM usage to generate, up to the month before
        /// `--today`'s.
        #[arg(long, default_value_t = 3)]
        usage_months: u32,
    },
}

#[derive(Subcommand, Debug)]
enum RegisterCommand {
    /// List a register's rows as CSV (the export format).
    List { kind: String },
    /// Show one record.
    Show {
        kind: String,
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Change fields of one record: `set asset LT0001 status=returned assigned_to=`.
    Set {
        kind: String,
        id: String,
        /// FIELD=VALUE pairs, values in the CSV spelling; an empty value clears the field.
        #[arg(required = true)]
        changes: Vec<String>,
    },
    /// Who held an asset, or what a person held, from when to when.
    History {
        /// `asset:TAG` or `person:ID` (a bare value is an asset tag).
        of: String,
    },
}

#[derive(Subcommand, Debug)]
enum OrgCommand {
    Show,
    Set {
        #[arg(long)]
        name: Option<String>,
        /// IANA time zone, e.g. Europe/London.
        #[arg(long)]
        time_zone: Option<String>,
        /// The share compliant (percent) from which a policy or section shows green.
        #[arg(long)]
        compliance_green: Option<i64>,
        /// The share compliant (percent) from which it shows amber (below: red).
        #[arg(long)]
        compliance_amber: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
enum SsoCommand {
    /// Reach every provider under `[sso]`; fails if any cannot be read.
    Test,
}

#[derive(Subcommand, Debug)]
enum ApiCommand {
    /// Print the API's OpenAPI 3.1 document.
    Spec,
}

#[derive(Subcommand, Debug)]
enum EraseCommand {
    /// Only someone who has left (status leaver, or leave date passed); administrators only.
    Person {
        id: String,
        /// Why: recorded in the audit log.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Check the whole hash chain and replay it against the registers; exit non-zero naming the
    /// first bad record and every row that differs.
    Verify {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// A head published earlier (`steward audit head`): the log must still hold that record
        /// with that hash.
        #[arg(long, value_name = "SEQ:HASH")]
        expect: Option<steward_model::audit::Anchor>,
    },
    /// Print the chain's head as SEQ:HASH, to publish.
    Head {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The audit log's head as the daily anchor email carries it (SEQ:HASH), and whom it goes
    /// to: every current holder of the governance role.
    Anchor {
        /// Email it now through the mail server, and record it.
        #[arg(long)]
        send: bool,
        /// The mail server. Default: the `smtp_url` setting.
        #[arg(long)]
        smtp: Option<String>,
        /// The address mail comes from. Default: the `mail_from` setting.
        #[arg(long)]
        from: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Every anchor sent, oldest first: when, the head, and to whom.
    Anchors {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show the history of changes, oldest first.
    Log {
        /// Only changes to one entity, as TYPE:ID (e.g. person:P000123, asset:LT000001).
        #[arg(long)]
        entity: Option<String>,
        /// Only the last N records.
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

fn main() -> ExitCode {
    return_freed_pages_promptly();
    let cli = Cli::parse();
    let settings = match Settings::resolve(&cli.global) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings, matches!(cli.command, Command::Serve { .. }));
    match run(cli.command, &settings) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(settings: &Settings, serving: bool) {
    let default = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("STEWARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn register(kind: &str) -> Result<Register> {
    Register::parse(kind).with_context(|| {
        let known = Register::ALL
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(", ");
        format!("unknown register {kind:?}; expected one of {known}")
    })
}

pub(crate) fn open(settings: &Settings) -> Result<Steward> {
    let keys = settings.secret_keys()?;
    let steward = Steward::open_with(&settings.database_url, &settings.store)
        .with_context(|| {
            format!(
                "cannot open the database {}",
                steward_store::redact(&settings.database_url)
            )
        })?
        .with_secret_keys(keys);
    // Secrets stored in plain text by earlier versions are sealed the first time a key is at hand.
    steward.seal_plain_secrets(&stamp(settings, None))?;
    settings.read_chosen_packs(&steward)?;
    Ok(steward)
}

/// The command line acts with administrator capacity, as the operating system's user.
fn stamp(settings: &Settings, at: Option<DateTime<Utc>>) -> Stamp {
    Stamp::at(settings.actor.clone(), at.unwrap_or_else(Utc::now))
}

/// A workflow step taken `--as` a person: recorded as on their behalf, and their separation of
/// duties binds it (the service checks the person, not the command line's capacity).
fn stamp_as(settings: &Settings, at: Option<DateTime<Utc>>, person: &str) -> Stamp {
    Stamp::at(
        format!("{} as {person}", settings.actor),
        at.unwrap_or_else(Utc::now),
    )
}

fn run(command: Command, settings: &Settings) -> Result<ExitCode> {
    match command {
        Command::Serve {
            listen,
            demo,
            demo_people,
        } => serve::run(
            settings,
            listen.unwrap_or(settings.listen),
            demo,
            demo_people,
        ),
        Command::Import {
            target,
            file,
            at,
            no_guard,
            all_errors,
            errors,
        } => {
            let files = match file {
                Some(file) => vec![ImportFile::read(register(&target)?, &file)?],
                None if Path::new(&target).is_dir() => ImportFile::folder(Path::new(&target))?,
                None => bail!(
                    "{target:?} is not a folder; to import one file give its register too: steward import people people.csv"
                ),
            };
            import(
                &open(settings)?,
                &stamp(settings, at),
                files,
                guard(no_guard),
                &ErrorsOut {
                    all: all_errors,
                    file: errors,
                },
            )
        }
        Command::Export {
            kind,
            out,
            no_guard,
        } => {
            let steward = open(settings)?;
            let guard = guard(no_guard);
            if kind == "all" {
                let dir = out.context("`export all` needs --out DIR")?;
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                for r in Register::ALL {
                    let path = dir.join(r.file_name());
                    let n =
                        steward.export_with(&stamp(settings, None), r, create(&path)?, guard)?;
                    println!("{}: {n} rows", path.display());
                }
            } else {
                let r = register(&kind)?;
                match out {
                    Some(path) => {
                        let n = steward.export_with(
                            &stamp(settings, None),
                            r,
                            create(&path)?,
                            guard,
                        )?;
                        println!("{}: {n} rows", path.display());
                    }
                    None => {
                        steward.export_with(
                            &stamp(settings, None),
                            r,
                            std::io::stdout().lock(),
                            guard,
                        )?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Register(c) => register_command(c, settings),
        Command::Org(c) => org_command(c, settings),
        Command::Audit(c) => audit_command(c, settings),
        Command::Erase(EraseCommand::Person { id, reason }) => {
            audit::erase_person(settings, &id, &reason)
        }
        Command::Migrate { app_role } => audit::migrate(settings, app_role.as_deref()),
        Command::Backup { file } => backup::backup(settings, &file),
        Command::Restore { file, replace } => backup::restore(settings, &file, replace),
        Command::Policy(c) => policy::run(c, settings),
        Command::Check(args) => check_command(args, settings),
        Command::Request(c) => process::request(c, settings),
        Command::Incident(c) => process::incident(c, settings),
        Command::Calendar(c) => process::calendar(c, settings),
        Command::Governance(c) => governance::run(c, settings),
        Command::Mail(c) => mail::run(c, settings),
        Command::Jobs(c) => jobs::run(c, settings),
        Command::Connect(c) => connect::run(c, settings),
        Command::Account(c) => account::run(c, settings),
        Command::Token(c) => token::run(c, settings),
        Command::Sso(SsoCommand::Test) => sso_test(settings),
        Command::Api(ApiCommand::Spec) => {
            let spec = serde_json::to_string_pretty(&steward_web::openapi_document())?;
            println!("{spec}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            people,
            seed,
            out,
            today,
            usage_months,
        } => {
            let today = today.unwrap_or_else(|| Utc::now().date_naive());
            let progress = jobs::Progress::new("demo", 2);
            progress.step(0, &format!("generating {people} people"));
            let estate = steward_demo::generate(&steward_demo::DemoOptions {
                people,
                seed,
                today,
                usage_months,
            });
            let files = ImportFile::of_estate(&estate)?;
            progress.step(1, "writing");
            progress.done();
            match out {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                    for f in files {
                        let path = dir.join(&f.label);
                        std::fs::write(&path, &f.bytes)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                    }
                    println!(
                        "demo organisation of {} people, {} assets, {} accounts written to {}",
                        estate.people.len(),
                        estate.assets.len(),
                        estate.accounts.len(),
                        dir.display()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                None => import(
                    &open(settings)?,
                    &stamp(settings, None),
                    files,
                    steward_interchange::Guard::On,
                    &ErrorsOut::default(),
                ),
            }
        }
    }
}

fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(std::io::BufWriter::new(file))
}

fn guard(no_guard: bool) -> steward_interchange::Guard {
    if no_guard {
        steward_interchange::Guard::Off
    } else {
        steward_interchange::Guard::On
    }
}

/// Where an import's problems go besides the summary: every one listed, or written as CSV.
#[derive(Debug, Default)]
struct ErrorsOut {
    all: bool,
    file: Option<PathBuf>,
}

/// How many problems of each kind the summary shows.
const EXAMPLES: usize = 5;

fn import(
    steward: &Steward,
    stamp: &Stamp,
    files: Vec<ImportFile>,
    guard: steward_interchange::Guard,
    out: &ErrorsOut,
) -> Result<ExitCode> {
    let count = files.len();
    let progress = jobs::Progress::new("import", 2);
    progress.step(
        1,
        &format!("checking and writing {count} file(s): all or nothing"),
    );
    let imported = steward.import_with(stamp, files, guard);
    progress.done();
    match imported {
        Ok(report) => {
            for (file, rows) in &report.files {
                println!("{file}: {rows} rows");
            }
            if !report.created_budget_centres.is_empty() {
                println!(
                    "new budget centres registered: {}",
                    report.created_budget_centres.join(", ")
                );
            }
            for (register, c) in &report.summary.by_register {
                println!(
                    "{register}: {} created, {} updated, {} unchanged",
                    c.created, c.updated, c.unchanged
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ServiceError::Import(errors)) => {
            let mut err = std::io::stderr().lock();
            // One line for a problem of its own kind; a count and the first few for a kind with
            // many, so a mistake made on every row is a few lines, not one per row.
            let groups = steward_interchange::group_errors(&errors, EXAMPLES);
            for g in &groups {
                if let ([only], 1) = (g.examples.as_slice(), g.count) {
                    let _ = writeln!(
                        err,
                        "{}:{}: {}: {}: {}",
                        g.file, only.line, g.column, only.value, g.reason
                    );
                    continue;
                }
                let _ = writeln!(err, "{} × {}: {}: {}", g.count, g.file, g.column, g.reason);
                for e in &g.examples {
                    let _ = writeln!(err, "  {}:{}: {}: {}", g.file, e.line, g.column, e.value);
                }
                if g.more() > 0 {
                    let _ = writeln!(err, "  … and {} more", g.more());
                }
            }
            if out.all {
                let _ = writeln!(err, "every problem:");
                for e in &errors {
                    let _ = writeln!(err, "{e}");
                }
            }
            if let Some(path) = &out.file {
                let written = std::fs::File::create(path)
                    .map(std::io::BufWriter::new)
                    .map_err(|e| e.to_string())
                    .and_then(|file| {
                        steward_interchange::write_errors(&errors, file).map_err(|e| e.to_string())
                    });
                match written {
                    Ok(()) => {
                        let _ = writeln!(err, "every problem written to {}", path.display());
                    }
                    Err(e) => {
                        let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
                    }
                }
            } else if !out.all && groups.iter().any(|g| g.more() > 0) {
                let _ = writeln!(
                    err,
                    "(--all-errors lists every problem; --errors FILE writes them as CSV)"
                );
            }
            let _ = writeln!(
                err,
                "error: {} problem(s); nothing was imported",
                errors.len()
            );
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

fn register_command(command: RegisterCommand, settings: &Settings) -> Result<ExitCode> {
    let steward = open(settings)?;
    match command {
        RegisterCommand::List { kind } => {
            steward.export(
                &stamp(settings, None),
                register(&kind)?,
                std::io::stdout().lock(),
            )?;
        }
        RegisterCommand::Show { kind, id, format } => {
            let r = register(&kind)?;
            let row = steward
                .store()
                .get(r, &id)?
                .with_context(|| format!("no {} with id {id:?}", r.entity()))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&row.to_json())?),
                Format::Text => {
                    for (f, v) in r.fields().iter().zip(row.values()) {
                        println!("{:<22} {}", f.name, v.to_text());
                    }
                }
            }
        }
        RegisterCommand::Set { kind, id, changes } => {
            let r = register(&kind)?;
            let pairs = changes
                .iter()
                .map(|c| {
                    c.split_once('=')
                        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                        .with_context(|| format!("{c:?}: expected FIELD=VALUE"))
                })
                .collect::<Result<Vec<_>>>()?;
            let summary = steward.set_fields(&stamp(settings, None), r, &id, &pairs)?;
            println!(
                "{} {id}: {}",
                r.entity(),
                if summary.updated > 0 {
                    "updated"
                } else {
                    "unchanged"
                }
            );
        }
        RegisterCommand::History { of } => {
            let spans = match of.split_once(':') {
                Some(("person", id)) => steward.assignments(AssignmentsOf::Person(id))?,
                Some(("asset", tag)) => steward.assignments(AssignmentsOf::Asset(tag))?,
                Some((other, _)) => bail!("{other:?}: expected asset:TAG or person:ID"),
                None => steward.assignments(AssignmentsOf::Asset(&of))?,
            };
            println!(
                "{:<14} {:<14} {:<10} {:<10}",
                "asset", "person", "from", "until"
            );
            for a in spans {
                let until = a
                    .until
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "(holds it)".into());
                println!(
                    "{:<14} {:<14} {:<10} {until}",
                    a.asset_tag,
                    a.person_id,
                    a.from.to_string()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn org_command(command: OrgCommand, settings: &Settings) -> Result<ExitCode> {
    let steward = open(settings)?;
    let org = steward.organisation()?;
    match command {
        OrgCommand::Show => {
            let (green, amber) = org.thresholds();
            println!("name       {}", org.name);
            println!("time_zone  {}", org.time_zone);
            println!("green from {green} %");
            println!("amber from {amber} %");
        }
        OrgCommand::Set {
            name,
            time_zone,
            compliance_green,
            compliance_amber,
        } => {
            let org = Organisation {
                name: name.unwrap_or(org.name),
                time_zone: time_zone.unwrap_or(org.time_zone),
                compliance_green: compliance_green.or(org.compliance_green),
                compliance_amber: compliance_amber.or(org.compliance_amber),
                ..org
            };
            steward.set_organisation(&stamp(settings, None), org)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn audit_command(command: AuditCommand, settings: &Settings) -> Result<ExitCode> {
    match command {
        AuditCommand::Anchor {
            send,
            smtp,
            from,
            format,
        } => mail::anchor(&open(settings)?, settings, send, smtp, from, format),
        AuditCommand::Anchors { format } => mail::anchors(&open(settings)?, format),
        AuditCommand::Verify { format, expect } => audit::verify(settings, format, expect),
        AuditCommand::Head { format } => audit::head(settings, format),
        AuditCommand::Log {
            entity,
            limit,
            format,
        } => {
            let steward = open(settings)?;
            let entity = match entity {
                Some(e) => {
                    let (t, id) = e
                        .split_once(':')
                        .with_context(|| format!("{e:?}: expected TYPE:ID, e.g. person:P000123"))?;
                    Some((t.to_owned(), id.to_owned()))
                }
                None => None,
            };
            let mut out = std::io::stdout().lock();
            let mut failed = None;
            steward.audit_log(
                &AuditQuery {
                    entity,
                    limit,
                    before: None,
                },
                &mut |r| {
                    let line = match format {
                        Format::Json => serde_json::to_string(&r).unwrap_or_default(),
                        Format::Text => format!(
                            "#{} {} {} {} {}:{}{}",
                            r.seq,
                            r.at,
                            r.actor,
                            r.action,
                            r.entity_type,
                            r.entity_id,
                            describe_change(r.before.as_deref(), r.after.as_deref())
                        ),
                    };
                    if let Err(e) = writeln!(out, "{line}") {
                        failed.get_or_insert(e);
                    }
                    Ok(())
                },
            )?;
            if let Some(e) = failed
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e.into());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// "name: Ada → Ada Lovelace" for the fields an update changed.
fn describe_change(before: Option<&str>, after: Option<&str>) -> String {
    let parse = |s: Option<&str>| {
        s.and_then(|s| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).ok())
    };
    let (Some(before), Some(after)) = (parse(before), parse(after)) else {
        return String::new();
    };
    let show = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => "∅".into(),
        Some(other) => other.to_string(),
    };
    let changes: Vec<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: {} → {}", show(before.get(k)), show(Some(v))))
        .collect();
    if changes.is_empty() {
        String::new()
    } else {
        format!(" ({})", changes.join("; "))
    }
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn check_command(args: check::CheckArgs, settings: &Settings) -> Result<ExitCode> {
    // A CSV folder is checked without a database: the organisation's own packs, kept there, are
    // not read (and no database is opened or made).
    let available = match &args.data {
        Some(_) => policy::folder_and_builtin_packs(settings),
        None => policy::available_packs(settings)?,
    };
    // Against the database, the organisation's choice of packs is read from it first.
    let steward = match &args.data {
        Some(_) => None,
        None => Some(open(settings)?.for_one_command()),
    };
    if args.packs.is_empty() && settings.active_packs().is_empty() {
        eprintln!(
            "error: no policy is active, so there is nothing to check. Choose one with `steward \
             policy activate ID` (`steward policy list` shows those available), name one with \
             --pack ID, or set `packs` in steward.toml"
        );
        return Ok(ExitCode::from(2));
    }
    let packs = check::select(&available, &args.packs, &settings.active_packs())?;
    // The configuration file's values; against the database the run puts the organisation's
    // kept values in force on the day checked over them.
    let overrides = policy::overrides(settings)?;
    let Some(steward) = steward else {
        // A folder's findings are written out as each control finds them, never all held.
        let Some(dir) = &args.data else {
            anyhow::bail!("no database and no --data folder");
        };
        return check::stream(
            &packs,
            &overrides,
            dir,
            args.at,
            args.format,
            args.fail_on.as_deref(),
        );
    };
    // Against the database, the run is recorded as a scheduled run records it (the same code):
    // findings keep their first-failing time across runs, resolve when they stop failing, every
    // change is audited, the compliance tallies and webhook events follow. Each control's
    // findings are recorded and written out while the next few are evaluated.
    let at = args.at.unwrap_or_else(Utc::now);
    let stamp = stamp(settings, Some(at));
    let progress = jobs::Progress::new("check", 1);
    progress.step(
        0,
        &format!("evaluating and recording {} pack(s)", packs.len()),
    );
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut printer = check::Printer::new(out, args.format, at);
    let recorded =
        steward.check_and_record_each(&stamp, &packs, &overrides, &mut |_, _| true, &mut |f| {
            printer.add(f)
        });
    progress.done();
    let (summary, _) = recorded?.context("the check run was abandoned")?;
    tracing::info!(?summary, "findings recorded");
    let code = printer.exit_code(args.fail_on.as_deref())?;
    printer.finish()?;
    Ok(code)
}

/// `steward sso test`: each provider's metadata and keys read afresh.
fn sso_test(settings: &Settings) -> Result<ExitCode> {
    let clients = settings.sso.clients()?;
    if clients.is_empty() {
        anyhow::bail!(
            "no single sign-on is set up: add [sso.microsoft] or [sso.google] to steward.toml"
        );
    }
    let mut failed = false;
    for sso in &clients {
        let provider = sso.provider();
        match sso.probe() {
            Ok(found) => println!(
                "{provider}: ok — issuer {}, {} signing key(s), authorisation {}, token {}; its registration must send people back to {}",
                found.issuer,
                found.keys,
                found.authorization_endpoint,
                found.token_endpoint,
                found.redirect_url
            ),
            Err(e) => {
                eprintln!("{provider}: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
