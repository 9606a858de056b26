//! `steward policy`: the policy packs this installation can run — the built-in ones and folders
//! under `<data-dir>/packs/` — listed, shown as the organisation runs them (with its overrides),
//! validated, compared with a source document's clause inventory, and copied to start an
//! organisation's own pack.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use chrono::NaiveDate;
use clap::{Subcommand, ValueEnum};
use serde_json::{Value as Json, json};
use steward_policy::cases::load_cases_dir;
use steward_policy::{
    Amount, BUILTIN, CLAUSES_FILE, Clause, Control, ControlKind, DeviceAllowance, EffectivePack,
    EffectiveParameter, EffectiveStaffGroup, Escalation, Origin, Overrides, PACK_FILE, Pack,
    PackError, ParamValue, Scope, StaffGroup, Trigger, Within, coverage, load_dir,
};
use steward_service::PolicyAnswers;

use crate::config::Settings;

/// The folder under the data directory that holds the organisation's own packs.
const PACKS_DIR: &str = "packs";
/// Where the built-in packs' source folders (with their test cases) are in a checkout.
const SOURCE_PACKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../packs");
/// Long text is wrapped at this many characters.
const WIDTH: usize = 100;

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Every available pack: the built-in ones and the folders under <data-dir>/packs/.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// A pack as the organisation runs it (parameters and staff groups after its overrides), or
    /// one clause's text and controls.
    Show {
        /// A pack id, or the path of a pack folder.
        pack: String,
        /// A clause id as the document numbers it, e.g. 2.6(w).
        clause: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Load a pack folder (or a built-in pack, by id) and report every problem in it; exit 1 if
    /// there are any.
    Validate {
        /// A pack folder, or a pack id.
        path: String,
    },
    /// Every row of a clause inventory with the pack's controls for it; exit 1 if a row is not
    /// mapped.
    Coverage {
        /// A pack id, or the path of a pack folder.
        pack: String,
        /// The source document's inventory: `clause<TAB>text (excerpt)` rows after a header line.
        /// Default: the pack's own clauses.
        #[arg(long)]
        inventory: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Compare two versions of a policy: clause by clause, and what each finds on today's estate.
    Diff(crate::diff::DiffArgs),
    /// Run a pack: the organisation's checks, pages and processes follow it (audited).
    Activate {
        /// An available pack's id (`steward policy list`).
        id: String,
    },
    /// Stop running a pack; its findings keep their history (audited).
    Deactivate {
        /// A pack's id.
        id: String,
    },
    /// Read a policy document (.docx, .md, .txt or a text .pdf) and make a pack of it: every
    /// clause with its text and headings, each guidance until it is mapped. The pack is kept in
    /// the database (audited) for every server to see, or written to a folder with --out. What
    /// the document does not state about itself (title, version, owner, approver, approval date)
    /// is asked for with the flags below.
    #[command(disable_version_flag = true)]
    Import {
        /// The document.
        file: PathBuf,
        /// Write the pack's files to this new folder instead of the database.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The pack's id. Default: made of the title and version, e.g. our-charity-it-policy-2.1.
        #[arg(long)]
        id: Option<String>,
        /// The document's version, where it does not state one (or to override it).
        #[arg(long)]
        version: Option<String>,
        #[arg(long)]
        title: Option<String>,
        /// The organisation's name. Default: the name in the organisation's settings.
        #[arg(long)]
        organisation: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        approver: Option<String>,
        /// The date the document was approved, YYYY-MM-DD.
        #[arg(long)]
        approved_on: Option<NaiveDate>,
        /// Print the clauses found and the document's metadata, and write nothing.
        #[arg(long)]
        list: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The organisation's parameter values kept in the database, from or to overrides.toml.
    #[command(subcommand)]
    Overrides(OverridesCommand),
    /// The control library: parameterised checks a clause of the organisation's own policy can
    /// be mapped to without writing a rule.
    Library {
        /// Only the controls whose id or description has every word of this.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Map a clause of one of the organisation's own packs to a library control (audited), or
    /// with --preview only say how many findings it would raise on today's estate.
    Map {
        /// One of the organisation's own packs (`steward policy import`).
        pack: String,
        /// The clause, as the document numbers it.
        clause: String,
        /// The library control (`steward policy library`).
        #[arg(long)]
        control: String,
        /// A parameter's value, NAME=VALUE (a list as a,b,c); repeat for each.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// low, medium, high or critical. Default: the library's.
        #[arg(long)]
        severity: Option<String>,
        /// A scope, KEY=a,b (asset_kinds, staff_groups, ownership, …); repeat for each.
        #[arg(long = "scope", value_name = "KEY=WORDS")]
        scope: Vec<String>,
        /// Your own rule (CEL) in place of the control's.
        #[arg(long)]
        rule: Option<String>,
        /// Say what it would find, and keep nothing.
        #[arg(long)]
        preview: bool,
    },
    /// Start your own pack as a copy of an existing one, then validate it.
    New {
        /// The pack to copy: a pack id, or the path of a pack folder.
        #[arg(long)]
        from: String,
        /// The new pack's id. Default: the name of the --out folder.
        #[arg(long)]
        id: Option<String>,
        /// The folder to create; it must not exist. Under <data-dir>/packs/ the pack becomes
        /// available to Steward.
        #[arg(long)]
        out: PathBuf,
        /// Copy the test cases of the checks too.
        #[arg(long)]
        with_cases: bool,
    },
}

/// `steward policy overrides`.
#[derive(Subcommand, Debug)]
pub enum OverridesCommand {
    /// Keep each parameter value and staff group of an overrides.toml in the database (audited,
    /// all or nothing), from today or --from.
    Import {
        file: PathBuf,
        /// The day the values take effect, YYYY-MM-DD. Default: today.
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Why (recorded with each value). Default: imported from FILE.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Print the parameter values and staff groups in force today (the database's over the
    /// file's) as overrides.toml.
    Export,
}

pub fn run(command: PolicyCommand, settings: &Settings) -> Result<ExitCode> {
    match command {
        PolicyCommand::List { format } => {
            read_choice(settings)?;
            list(settings, format)
        }
        PolicyCommand::Activate { id } => choose(settings, &id, true),
        PolicyCommand::Deactivate { id } => choose(settings, &id, false),
        PolicyCommand::Show {
            pack,
            clause: None,
            format,
        } => {
            read_choice(settings)?;
            show_pack(settings, &pack, format)
        }
        PolicyCommand::Show {
            pack,
            clause: Some(clause),
            format,
        } => show_clause(settings, &pack, &clause, format),
        PolicyCommand::Validate { path } => validate(settings, &path),
        PolicyCommand::Coverage {
            pack,
            inventory,
            format,
        } => coverage_command(settings, &pack, inventory.as_deref(), format),
        PolicyCommand::New {
            from,
            id,
            out,
            with_cases,
        } => new_pack(settings, &from, id.as_deref(), &out, with_cases),
        PolicyCommand::Diff(args) => crate::diff::run(settings, args),
        PolicyCommand::Overrides(OverridesCommand::Import { file, from, reason }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let parsed = Overrides::parse(&file.display().to_string(), &text)
                .map_err(|e| anyhow::anyhow!("{}", lines(&e)))?;
            let steward = crate::open(settings)?;
            let stamp = crate::stamp(settings, None);
            let day = match from {
                Some(day) => day,
                None => steward.local_date(chrono::Utc::now())?,
            };
            let reason = reason.unwrap_or_else(|| format!("imported from {}", file.display()));
            let known = available_packs(settings)?;
            // Every value is checked before any is kept, and all are kept together.
            let changed = steward.set_overrides(&stamp, &parsed, &reason, day, &known)?;
            println!(
                "{changed} of {} parameter values{} kept from {day}",
                parsed.parameters.len() + parsed.staff_groups.len(),
                if parsed.staff_groups.is_empty() {
                    ""
                } else {
                    " and staff groups"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Overrides(OverridesCommand::Export) => {
            let steward = crate::open(settings)?;
            let today = steward.local_date(chrono::Utc::now())?;
            let in_force = steward.overrides_in_force(&overrides(settings)?, today)?;
            println!("[parameters]");
            for (name, value) in &in_force.parameters {
                println!("{name} = {value}");
            }
            if !in_force.staff_groups.is_empty() {
                println!("\n[staff_groups]");
                for (id, change) in &in_force.staff_groups {
                    println!("{id} = {}", change.literal());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Library { search, format } => {
            crate::policy_import::library(search.as_deref(), format)
        }
        PolicyCommand::Map {
            pack,
            clause,
            control,
            params,
            severity,
            scope,
            rule,
            preview,
        } => crate::policy_import::map(
            settings, &pack, &clause, &control, &params, severity, &scope, rule, preview,
        ),
        PolicyCommand::Import {
            file,
            out,
            id,
            version,
            title,
            organisation,
            owner,
            approver,
            approved_on,
            list,
            format,
        } => {
            let answers = PolicyAnswers {
                id,
                title,
                version,
                organisation,
                owner,
                approver,
                approved_on,
            };
            crate::policy_import::run(settings, &file, out.as_deref(), answers, list, format)
        }
    }
}

/// Which packs run is the database's to say, unless the configuration names them.
fn read_choice(settings: &Settings) -> Result<()> {
    if settings.configured_packs.is_none() {
        crate::open(settings)?;
    }
    Ok(())
}

/// Makes a pack active or not, in the database, for the whole organisation.
fn choose(settings: &Settings, id: &str, active: bool) -> Result<ExitCode> {
    if settings.configured_packs.is_some() {
        anyhow::bail!(
            "the configuration names the packs the organisation runs (`packs` in steward.toml): \
             change them there"
        );
    }
    let steward = crate::open(settings)?;
    let available = available_packs(settings)?;
    let stamp = crate::stamp(settings, None);
    let changed = steward.set_pack_active(&stamp, id, active, &available)?;
    let state = if active { "active" } else { "not active" };
    if changed {
        println!("{id} is now {state}");
    } else {
        println!("{id} was already {state}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The pack a command names (an available pack's id, or a pack folder), for other commands.
pub(crate) fn resolve_pack(settings: &Settings, reference: &str) -> Result<Pack> {
    resolve(settings, reference).map(|a| a.pack)
}

// ------------------------------------------------------------------------------------------------
// The available packs
// ------------------------------------------------------------------------------------------------

/// Where a pack comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Builtin,
    Folder(PathBuf),
    /// One of the organisation's own packs, kept in the database (`steward policy import`).
    Database,
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Builtin => "built-in".to_owned(),
            Source::Folder(path) => path.display().to_string(),
            Source::Database => "the organisation's own (in the database)".to_owned(),
        }
    }

    fn json(&self) -> Json {
        match self {
            Source::Builtin => json!("built-in"),
            Source::Folder(path) => json!(path.display().to_string()),
            Source::Database => json!("database"),
        }
    }
}

struct Available {
    pack: Pack,
    source: Source,
}

/// Every pack this installation can run, and what went wrong finding them.
struct Catalogue {
    packs: Vec<Available>,
    /// Folders that do not load, packs that clash with another's id: one sentence each.
    problems: Vec<String>,
}

impl Catalogue {
    fn load(settings: &Settings) -> Catalogue {
        let mut catalogue = Catalogue::load_files(settings);
        match crate::open(settings).and_then(|s| Ok(s.own_packs()?)) {
            Ok(own) => {
                for pack in own {
                    if catalogue.find(&pack.id).is_some() {
                        catalogue.problems.push(format!(
                            "the organisation's own pack {} has the id of another; it is left out",
                            pack.id
                        ));
                    } else {
                        catalogue.packs.push(Available {
                            pack,
                            source: Source::Database,
                        });
                    }
                }
            }
            Err(e) => catalogue.problems.push(format!(
                "the organisation's own packs could not be read from the database: {e:#}"
            )),
        }
        catalogue
    }

    /// The built-in packs and the folders under `<data-dir>/packs/`.
    fn load_files(settings: &Settings) -> Catalogue {
        let mut packs = Vec::new();
        let mut problems = Vec::new();
        for b in BUILTIN {
            match b.load() {
                Ok(pack) => packs.push(Available {
                    pack,
                    source: Source::Builtin,
                }),
                Err(errors) => problems.push(format!(
                    "the built-in pack {} does not load ({}); this is a bug in Steward:\n{}",
                    b.id,
                    count(errors.len(), "problem", "problems"),
                    lines(&errors)
                )),
            }
        }
        let dir = settings.data_dir.join(PACKS_DIR);
        let mut folders = Vec::new();
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    match entry {
                        Ok(e) if e.path().join(PACK_FILE).is_file() => folders.push(e.path()),
                        Ok(_) => {}
                        Err(e) => problems.push(format!("cannot read {}: {e}", dir.display())),
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => problems.push(format!("cannot read {}: {e}", dir.display())),
        }
        folders.sort();
        for folder in folders {
            match load_dir(&folder) {
                Ok(pack) => {
                    if let Some(other) = packs.iter().find(|a| a.pack.id == pack.id) {
                        problems.push(format!(
                            "{}: pack id {} is already taken by {}; this folder is ignored until it has an id of its own",
                            folder.display(),
                            pack.id,
                            match &other.source {
                                Source::Builtin => "the built-in pack".to_owned(),
                                Source::Folder(p) => p.display().to_string(),
                                Source::Database => "the organisation's own pack".to_owned(),
                            }
                        ));
                    } else {
                        packs.push(Available {
                            pack,
                            source: Source::Folder(folder),
                        });
                    }
                }
                Err(errors) => problems.push(format!(
                    "{}: the pack does not load ({}); see `steward policy validate {}`",
                    folder.display(),
                    count(errors.len(), "problem", "problems"),
                    folder.display()
                )),
            }
        }
        Catalogue { packs, problems }
    }

    fn find(&self, id: &str) -> Option<&Available> {
        self.packs.iter().find(|a| a.pack.id == id)
    }

    fn ids(&self) -> String {
        let ids: Vec<&str> = self.packs.iter().map(|a| a.pack.id.as_str()).collect();
        if ids.is_empty() {
            "none".to_owned()
        } else {
            ids.join(", ")
        }
    }
}

/// Whether a reference to a pack names a folder rather than an id.
fn looks_like_path(reference: &str) -> bool {
    reference.contains('/') || reference.contains('\\') || reference.starts_with('.')
}

/// The pack a command names: an id of an available pack, or a pack folder.
fn resolve(settings: &Settings, reference: &str) -> Result<Available> {
    if !looks_like_path(reference) {
        // Built-in and folder packs first: the database is opened only for a pack of the
        // organisation's own (so `--data` commands naming a built-in pack never touch one).
        let mut files = Catalogue::load_files(settings);
        if let Some(i) = files.packs.iter().position(|a| a.pack.id == reference) {
            return Ok(files.packs.swap_remove(i));
        }
        let mut catalogue = Catalogue::load(settings);
        if let Some(i) = catalogue.packs.iter().position(|a| a.pack.id == reference) {
            return Ok(catalogue.packs.swap_remove(i));
        }
        if !Path::new(reference).is_dir() {
            let mut message = format!(
                "there is no pack {reference}; the available packs are {} (see `steward policy list`)",
                catalogue.ids()
            );
            for p in &catalogue.problems {
                message.push_str("\n  ");
                message.push_str(p);
            }
            bail!(message);
        }
    }
    let folder = PathBuf::from(reference);
    match load_dir(&folder) {
        Ok(pack) => Ok(Available {
            pack,
            source: Source::Folder(folder),
        }),
        Err(errors) => bail!(
            "the pack in {} does not load ({}):\n{}",
            folder.display(),
            count(errors.len(), "problem", "problems"),
            lines(&errors)
        ),
    }
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn overdue(pack: &Pack, today: NaiveDate) -> bool {
    pack.next_review.is_some_and(|d| d < today)
}

/// Every available pack, built in first, then the folders under `<data-dir>/packs/`, for the
/// commands that run packs (`steward check`). A folder that does not load, or reuses another
/// pack's id, is left out with a warning on standard error.
/// The built-in packs and those in folders, without the organisation's own (which a server
/// reads from the database as it goes).
pub fn folder_and_builtin_packs(settings: &Settings) -> Vec<Pack> {
    let catalogue = Catalogue::load_files(settings);
    for p in &catalogue.problems {
        eprintln!("warning: {p}");
    }
    catalogue.packs.into_iter().map(|a| a.pack).collect()
}

pub fn available_packs(settings: &Settings) -> Result<Vec<Pack>> {
    let catalogue = Catalogue::load(settings);
    for p in &catalogue.problems {
        eprintln!("warning: {p}");
    }
    Ok(catalogue.packs.into_iter().map(|a| a.pack).collect())
}

/// The organisation's overrides of the packs' parameters and staff groups: the configuration's
/// `overrides` file, else `<data-dir>/overrides.toml`, else none.
pub fn overrides(settings: &Settings) -> Result<Overrides> {
    Ok(read_overrides(settings)?
        .map(|(_, o)| o)
        .unwrap_or_default())
}

// ------------------------------------------------------------------------------------------------
// list
// ------------------------------------------------------------------------------------------------

fn list(settings: &Settings, format: Format) -> Result<ExitCode> {
    let catalogue = Catalogue::load(settings);
    let today = today();
    let active = |id: &str| settings.active_packs().iter().any(|a| a == id);
    match format {
        Format::Json => {
            let packs: Vec<Json> = catalogue
                .packs
                .iter()
                .map(|a| {
                    let p = &a.pack;
                    json!({
                        "id": p.id,
                        "title": p.title,
                        "organisation": p.organisation,
                        "version": p.version,
                        "approved_on": p.approved_on.to_string(),
                        "next_review": p.next_review.map(|d| d.to_string()),
                        "review_overdue": overdue(p, today),
                        "clauses": p.clauses.len(),
                        "controls": p.controls().count(),
                        "active": active(&p.id),
                        "source": a.source.json(),
                    })
                })
                .collect();
            emit(&pretty(&json!({ "packs": packs }))?)?;
        }
        Format::Text => {
            let rows = catalogue
                .packs
                .iter()
                .map(|a| {
                    let p = &a.pack;
                    vec![
                        p.id.clone(),
                        p.title.clone(),
                        p.organisation.clone(),
                        p.version.clone(),
                        p.approved_on.to_string(),
                        match p.next_review {
                            Some(d) if d < today => format!("{d} review overdue"),
                            Some(d) => d.to_string(),
                            None => "not set".to_owned(),
                        },
                        p.clauses.len().to_string(),
                        p.controls().count().to_string(),
                        if active(&p.id) { "yes" } else { "no" }.to_owned(),
                        a.source.describe(),
                    ]
                })
                .collect();
            emit(&table(
                &[
                    "id",
                    "title",
                    "organisation",
                    "version",
                    "approved",
                    "next review",
                    "clauses",
                    "controls",
                    "active",
                    "from",
                ],
                &[6, 7],
                rows,
            ))?;
        }
    }
    let mut failed = false;
    for p in &catalogue.problems {
        eprintln!("error: {p}");
        failed = true;
    }
    for id in &settings.active_packs() {
        if catalogue.find(id).is_none() {
            eprintln!(
                "error: the configuration's `packs` names {id}, which is not an available pack"
            );
            failed = true;
        }
    }
    Ok(exit(!failed))
}

// ------------------------------------------------------------------------------------------------
// show
// ------------------------------------------------------------------------------------------------

/// The organisation's overrides, if it has any: the file and what it says.
/// The overrides a pack is shown with: the file's, with the organisation's values kept in the
/// database in force today over them (named as the database when it holds any).
fn shown_overrides(settings: &Settings) -> Result<Option<(PathBuf, Overrides)>> {
    let file = read_overrides(settings)?;
    let Ok(steward) = crate::open(settings) else {
        return Ok(file);
    };
    if steward.parameter_history()?.is_empty() {
        return Ok(file);
    }
    let today = steward.local_date(chrono::Utc::now())?;
    let (path, base) = match file {
        Some((path, o)) => (path, o),
        None => (
            PathBuf::from("the organisation's values"),
            Overrides::default(),
        ),
    };
    Ok(Some((path, steward.overrides_in_force(&base, today)?)))
}

fn read_overrides(settings: &Settings) -> Result<Option<(PathBuf, Overrides)>> {
    let file = &settings.overrides;
    let text = match std::fs::read_to_string(&file.path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !file.configured => return Ok(None),
        Err(e) => bail!(
            "cannot read the overrides file {} named in the configuration: {e}",
            file.path.display()
        ),
    };
    let name = file.path.display().to_string();
    match Overrides::parse(&name, &text) {
        Ok(o) => Ok(Some((file.path.clone(), o))),
        Err(errors) => bail!(
            "the overrides file {name} is not valid ({}):\n{}",
            count(errors.len(), "problem", "problems"),
            lines(&errors)
        ),
    }
}

/// The pack with the organisation's overrides applied. One overrides file serves every active
/// pack, so a parameter that another active pack defines is not this pack's business; one that
/// no active pack defines is a mistake, reported as the policy crate reports it.
fn effective(
    settings: &Settings,
    pack: &Pack,
    overrides: Option<&(PathBuf, Overrides)>,
) -> Result<EffectivePack> {
    let (path, mut o) = match overrides {
        Some((path, o)) => (Some(path), o.clone()),
        None => (None, Overrides::default()),
    };
    let foreign: Vec<String> = o
        .parameters
        .keys()
        .filter(|name| !pack.parameters.contains_key(*name))
        .cloned()
        .collect();
    if !foreign.is_empty() {
        let catalogue = Catalogue::load(settings);
        let others: Vec<&Pack> = catalogue
            .packs
            .iter()
            .map(|a| &a.pack)
            .filter(|p| p.id != pack.id && settings.active_packs().contains(&p.id))
            .collect();
        for name in foreign {
            if others.iter().any(|p| p.parameters.contains_key(&name)) {
                o.parameters.remove(&name);
            }
        }
    }
    pack.effective(&o).or_else(|mut errors| {
        let name = path.map_or_else(|| "overrides".to_owned(), |p| p.display().to_string());
        for e in &mut errors {
            e.file.clone_from(&name);
        }
        bail!(
            "the overrides in {name} do not fit the pack {} ({}):\n{}",
            pack.id,
            count(errors.len(), "problem", "problems"),
            lines(&errors)
        )
    })
}

fn show_pack(settings: &Settings, reference: &str, format: Format) -> Result<ExitCode> {
    let Available { pack, source } = resolve(settings, reference)?;
    let overrides = shown_overrides(settings)?;
    let eff = effective(settings, &pack, overrides.as_ref())?;
    let today = today();
    let active = settings.active_packs().contains(&pack.id);
    let overrides_path = overrides.as_ref().map(|(p, _)| p.display().to_string());
    match format {
        Format::Json => {
            let parameters: Vec<Json> = eff.parameters.values().map(parameter_json).collect();
            let groups: Vec<Json> = eff.staff_groups.values().map(staff_group_json).collect();
            let by_kind: BTreeMap<&str, usize> = pack
                .count_by_kind()
                .into_iter()
                .map(|(k, n)| (k.as_str(), n))
                .collect();
            let date = |d: Option<NaiveDate>| d.map(|d| d.to_string());
            emit(&pretty(&json!({
                "id": pack.id,
                "title": pack.title,
                "organisation": pack.organisation,
                "version": pack.version,
                "owner": pack.owner,
                "approver": pack.approver,
                "approved_on": pack.approved_on.to_string(),
                "implemented_on": date(pack.implemented_on),
                "amended_on": date(pack.amended_on),
                "next_review": date(pack.next_review),
                "next_review_note": pack.next_review_note,
                "review_overdue": overdue(&pack, today),
                "source_document": pack.source,
                "summary": pack.summary,
                "source": source.json(),
                "active": active,
                "overrides": overrides_path,
                "clauses": pack.clauses.len(),
                "controls": pack.controls().count(),
                "controls_by_kind": by_kind,
                "parameters": parameters,
                "staff_groups": groups,
            }))?)?;
        }
        Format::Text => {
            let mut out = format!("{}: {}\n\n", pack.id, pack.title);
            let mut facts: Vec<(&str, String)> = vec![
                ("organisation", pack.organisation.clone()),
                ("version", pack.version.clone()),
                ("owner", pack.owner.clone()),
                ("approver", pack.approver.clone()),
                ("approved on", pack.approved_on.to_string()),
            ];
            if let Some(d) = pack.implemented_on {
                facts.push(("implemented on", d.to_string()));
            }
            if let Some(d) = pack.amended_on {
                facts.push(("amended on", d.to_string()));
            }
            let mut review = match pack.next_review {
                Some(d) => d.to_string(),
                None => "not set".to_owned(),
            };
            if let Some(note) = &pack.next_review_note {
                review.push_str(&format!(" (the document says: {note})"));
            }
            if overdue(&pack, today) {
                review.push_str(", review overdue");
            }
            facts.push(("next review", review));
            if let Some(s) = &pack.source {
                facts.push(("source document", s.clone()));
            }
            facts.push(("pack", source.describe()));
            facts.push((
                "active",
                if active {
                    "yes".to_owned()
                } else {
                    "no (add it to `packs` in the configuration to run it)".to_owned()
                },
            ));
            let kinds: Vec<String> = pack
                .count_by_kind()
                .into_iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            facts.push((
                "clauses",
                format!(
                    "{}, with {} ({})",
                    pack.clauses.len(),
                    count(pack.controls().count(), "control", "controls"),
                    kinds.join(", ")
                ),
            ));
            facts.push((
                "overrides",
                match &overrides_path {
                    Some(p) => p.clone(),
                    None => format!(
                        "none ({} does not exist)",
                        settings.overrides.path.display()
                    ),
                },
            ));
            out.push_str(&fields(&facts, 2));
            if let Some(summary) = &pack.summary {
                out.push('\n');
                out.push_str(&wrap(summary, 2, WIDTH));
            }

            out.push_str(&format!("\nParameters ({})\n", eff.parameters.len()));
            let rows = eff
                .parameters
                .values()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        param_text(&p.value, p.unit.as_deref()),
                        match (p.origin, &p.assumed) {
                            (Origin::Pack, Some(_)) => "assumed — set by your organisation".into(),
                            (origin, _) => origin.as_str().to_owned(),
                        },
                        match p.origin {
                            Origin::Organisation => param_text(&p.pack_value, p.unit.as_deref()),
                            Origin::Pack => String::new(),
                        },
                    ]
                })
                .collect();
            out.push_str(&indent(
                &table(
                    &["parameter", "value", "from", "the pack's value"],
                    &[],
                    rows,
                ),
                2,
            ));

            out.push_str(&format!("\nStaff groups ({})\n", eff.staff_groups.len()));
            let rows = eff
                .staff_groups
                .values()
                .map(|g| {
                    vec![
                        g.group.id.clone(),
                        g.origin.as_str().to_owned(),
                        bundle(&g.group),
                        g.group.name.clone(),
                    ]
                })
                .collect();
            out.push_str(&indent(
                &table(&["group", "from", "standard equipment", "name"], &[], rows),
                2,
            ));
            emit(&out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show_clause(
    settings: &Settings,
    reference: &str,
    clause_id: &str,
    format: Format,
) -> Result<ExitCode> {
    let Available { pack, .. } = resolve(settings, reference)?;
    let Some(clause) = pack.clause(clause_id) else {
        // Clauses that begin as the one asked for, or as its parent: `2.6(` for `2.6(zz)`.
        let parent = clause_id
            .char_indices()
            .rev()
            .find(|(_, c)| matches!(c, '(' | '.' | '-'))
            .map_or("", |(i, c)| &clause_id[..i + c.len_utf8()]);
        let ids = |prefix: &str| -> Vec<&str> {
            pack.clauses
                .iter()
                .map(|c| c.id.as_str())
                .filter(|id| !prefix.is_empty() && id.starts_with(prefix))
                .collect()
        };
        let mut similar = ids(clause_id);
        if similar.is_empty() {
            similar = ids(parent);
        }
        if similar.len() > 12 {
            similar.truncate(12);
            similar.push("…");
        }
        if similar.is_empty() {
            bail!(
                "the pack {} has no clause {clause_id}; its clauses run from {} to {}",
                pack.id,
                pack.clauses.first().map_or("", |c| c.id.as_str()),
                pack.clauses.last().map_or("", |c| c.id.as_str())
            );
        }
        bail!(
            "the pack {} has no clause {clause_id}; did you mean one of {}?",
            pack.id,
            similar.join(", ")
        );
    };
    let overrides = shown_overrides(settings)?;
    let eff = effective(settings, &pack, overrides.as_ref())?;
    match format {
        Format::Json => {
            let controls: Vec<Json> = clause
                .controls
                .iter()
                .map(|c| control_json(c, &eff))
                .collect();
            emit(&pretty(&json!({
                "pack": pack.id,
                "clause": clause.id,
                "text": clause.text,
                "controls": controls,
            }))?)?;
        }
        Format::Text => emit(&clause_text(&pack, clause, &eff))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn clause_text(pack: &Pack, clause: &Clause, eff: &EffectivePack) -> String {
    let mut out = format!("{} clause {}\n\n", pack.id, clause.id);
    out.push_str(&wrap(&clause.text, 2, WIDTH));
    out.push_str(&format!(
        "\n{}\n",
        match clause.controls.len() {
            1 => "1 control".to_owned(),
            n => format!("{n} controls"),
        }
    ));
    for c in &clause.controls {
        out.push('\n');
        out.push_str(&format!("  {}\n", c.id));
        out.push_str(&fields(&control_facts(c, eff), 4));
    }
    out
}

/// A control's properties, labelled, in the order an IT manager reads them.
fn control_facts(c: &Control, eff: &EffectivePack) -> Vec<(&'static str, String)> {
    let mut f: Vec<(&'static str, String)> = Vec::new();
    let asks = !matches!(c.kind, ControlKind::Guidance(_));
    match &c.kind {
        ControlKind::Check(k) => {
            f.push(("kind", format!("check on each {}", k.subject.name())));
            push_scope(&mut f, "scope", &k.scope);
            f.push(("rule", k.rule.text.clone()));
        }
        ControlKind::Workflow(w) => {
            f.push((
                "kind",
                match w.trigger {
                    Trigger::Process(p) => format!("workflow: the {p} request"),
                    Trigger::Incident(i) => format!("workflow: report of {i}"),
                },
            ));
            if let Some(s) = w.subject {
                f.push(("subject", s.name().to_owned()));
            }
            push_scope(&mut f, "scope", &w.scope);
            if let Some(within) = &w.within {
                f.push(("within", within_text(within, eff)));
            }
            if !w.notify.is_empty() {
                f.push(("notify", join(&w.notify)));
            }
            if !w.approvers.is_empty() {
                f.push(("approver", join(&w.approvers)));
            }
        }
        ControlKind::Attestation(a) => {
            f.push(("kind", "attestation".to_owned()));
            if a.audience.is_empty() {
                f.push(("audience", "everyone".to_owned()));
            } else {
                push_scope(&mut f, "audience", &a.audience);
            }
            f.push((
                "statement",
                a.statement
                    .clone()
                    .unwrap_or_else(|| "the clause's text".to_owned()),
            ));
            f.push((
                "re-accept",
                if a.reaccept_on_material_change {
                    "when the clause changes materially"
                } else {
                    "no"
                }
                .to_owned(),
            ));
        }
        ControlKind::RecurringTask(t) => {
            f.push(("kind", format!("recurring task, {}", t.cadence)));
            f.push(("evidence", t.evidence.clone()));
        }
        ControlKind::Guidance(g) => {
            f.push(("kind", format!("guidance ({})", g.applies_to)));
            if let Some(s) = g.subject {
                f.push(("subject", s.name().to_owned()));
            }
            push_scope(&mut f, "scope", &g.scope);
        }
    }
    let params = parameters_used(c, eff);
    if !params.is_empty() {
        let used: Vec<String> = params
            .iter()
            .map(|p| {
                format!(
                    "{} = {} ({})",
                    p.name,
                    param_text(&p.value, p.unit.as_deref()),
                    p.origin.as_str()
                )
            })
            .collect();
        f.push(("parameters", used.join("; ")));
    }
    if let ControlKind::Check(k) = &c.kind {
        f.push(("message", k.message.clone()));
        if let Some(you) = &k.message_you {
            f.push(("to the person", you.clone()));
        }
        if !k.evidence.is_empty() {
            f.push(("evidence", k.evidence.join(", ")));
        }
    }
    if asks {
        f.push(("severity", c.severity.to_string()));
        let who = if matches!(c.kind, ControlKind::RecurringTask(_)) {
            "owner"
        } else {
            "who acts"
        };
        f.push((who, c.who_acts.to_string()));
        f.push(("grace", count(c.grace_days as usize, "day", "days")));
        if !c.escalation.is_empty() {
            f.push(("escalation", escalation_text(&c.escalation)));
        }
        f.push(("remediation", c.remediation.clone()));
    }
    if !c.see_also.is_empty() {
        f.push(("see also", c.see_also.join(", ")));
    }
    f
}

fn push_scope(f: &mut Vec<(&'static str, String)>, label: &'static str, scope: &Scope) {
    let parts = scope.parts();
    if !parts.is_empty() {
        let text: Vec<String> = parts
            .iter()
            .map(|(k, v)| format!("{}: {}", k.replace('_', " "), v.join(", ")))
            .collect();
        f.push((label, text.join("; ")));
    }
}

fn scope_json(scope: &Scope) -> Json {
    let map: serde_json::Map<String, Json> = scope
        .parts()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    Json::Object(map)
}

/// A deadline with its parameter's effective value: `3 working days (params.lead_days)`.
fn within_text(within: &Within, eff: &EffectivePack) -> String {
    match within {
        Within::Period {
            amount: Amount::Param(name),
            unit,
        } => match eff.param(name) {
            Some(ParamValue::Int(n)) => format!("{n} {unit} (params.{name})"),
            _ => within.to_string(),
        },
        _ => within.to_string(),
    }
}

fn escalation_text(steps: &[Escalation]) -> String {
    let steps: Vec<String> = steps
        .iter()
        .map(|e| {
            format!(
                "after {} to {}",
                count(e.after_days as usize, "day", "days"),
                e.to
            )
        })
        .collect();
    steps.join(", ")
}

/// The parameters a control reads: in its rule, its message or its deadline.
fn parameters_used<'a>(c: &Control, eff: &'a EffectivePack) -> Vec<&'a EffectiveParameter> {
    let mut texts: Vec<&str> = Vec::new();
    let mut named: Vec<&str> = Vec::new();
    match &c.kind {
        ControlKind::Check(k) => {
            texts.push(&k.rule.text);
            texts.push(&k.message);
            texts.extend(k.message_you.as_deref());
        }
        ControlKind::Workflow(w) => {
            if let Some(Within::Period {
                amount: Amount::Param(p),
                ..
            }) = &w.within
            {
                named.push(p);
            }
        }
        _ => {}
    }
    eff.parameters
        .values()
        .filter(|p| named.contains(&p.name.as_str()) || texts.iter().any(|t| mentions(t, &p.name)))
        .collect()
}

/// Whether `text` reads `params.NAME` (and not a longer name beginning with NAME).
fn mentions(text: &str, name: &str) -> bool {
    let needle = format!("params.{name}");
    text.match_indices(&needle).any(|(i, _)| {
        !text[i + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn control_json(c: &Control, eff: &EffectivePack) -> Json {
    let mut j = json!({
        "id": c.id,
        "kind": c.kind.name().as_str(),
        "severity": c.severity.as_str(),
        "who_acts": c.who_acts.as_str(),
        "grace_days": c.grace_days,
        "escalation": c.escalation.iter().map(|e| json!({"after_days": e.after_days, "to": e.to.as_str()})).collect::<Vec<_>>(),
        "remediation": c.remediation,
        "see_also": c.see_also,
        "parameters": parameters_used(c, eff).iter().map(|p| json!({
            "name": p.name,
            "value": param_json(&p.value),
            "origin": p.origin.as_str(),
        })).collect::<Vec<_>>(),
    });
    let extra = match &c.kind {
        ControlKind::Check(k) => json!({
            "subject": k.subject.name(),
            "scope": scope_json(&k.scope),
            "rule": k.rule.text,
            "message": k.message,
            "message_you": k.message_you,
            "evidence": k.evidence,
        }),
        ControlKind::Workflow(w) => {
            let (key, value) = match w.trigger {
                Trigger::Process(p) => ("process", p.as_str()),
                Trigger::Incident(i) => ("incident", i.as_str()),
            };
            let mut e = json!({
                "subject": w.subject.map(|s| s.name()),
                "scope": scope_json(&w.scope),
                "within": w.within.as_ref().map(ToString::to_string),
                "notify": w.notify.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "approver": w.approvers.first().map(|r| r.as_str()),
                "approvers": w.approvers.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            });
            if let Json::Object(m) = &mut e {
                m.insert(key.to_owned(), json!(value));
            }
            e
        }
        ControlKind::Attestation(a) => json!({
            "audience": scope_json(&a.audience),
            "reaccept_on_material_change": a.reaccept_on_material_change,
            "statement": a.statement,
        }),
        ControlKind::RecurringTask(t) => json!({
            "cadence": t.cadence.as_str(),
            "owner": t.owner.as_str(),
            "evidence": t.evidence,
        }),
        ControlKind::Guidance(g) => json!({
            "applies_to": g.applies_to.as_str(),
            "subject": g.subject.map(|s| s.name()),
            "scope": scope_json(&g.scope),
        }),
    };
    if let (Json::Object(m), Json::Object(e)) = (&mut j, extra) {
        m.extend(e);
    }
    j
}

fn parameter_json(p: &EffectiveParameter) -> Json {
    json!({
        "name": p.name,
        "type": p.ty.as_str(),
        "value": param_json(&p.value),
        "origin": p.origin.as_str(),
        "pack_value": param_json(&p.pack_value),
        "unit": p.unit,
        "description": p.description,
        "assumed": p.assumed,
    })
}

fn staff_group_json(g: &EffectiveStaffGroup) -> Json {
    let s = &g.group;
    json!({
        "id": s.id,
        "name": s.name,
        "origin": g.origin.as_str(),
        "description": s.description,
        "clause": s.clause,
        "devices": s.devices.iter().map(|d| json!({
            "kind": d.kind.to_string(),
            "count": d.count,
            "or": d.alternatives.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "hardware": s.hardware,
        "byod": s.byod,
        "portal_only": s.portal_only,
        "mfa_required": s.mfa_required,
        "case_by_case": s.case_by_case,
    })
}

fn param_json(v: &ParamValue) -> Json {
    match v {
        ParamValue::Int(i) => json!(i),
        ParamValue::Double(d) => json!(d),
        ParamValue::Bool(b) => json!(b),
        ParamValue::String(s) => json!(s),
        ParamValue::Duration(_) => json!(v.to_string()),
        ParamValue::List(l) => json!(l),
    }
}

/// A parameter's value as a person reads it: `14 days`, `sc, dv`, `GB`.
fn param_text(v: &ParamValue, unit: Option<&str>) -> String {
    let text = match v {
        ParamValue::String(s) if s.is_empty() => "\"\"".to_owned(),
        ParamValue::String(s) => s.clone(),
        ParamValue::List(l) if l.is_empty() => "(none)".to_owned(),
        ParamValue::List(l) => l.join(", "),
        other => other.to_string(),
    };
    match unit {
        Some(u) if !u.is_empty() => format!("{text} {u}"),
        _ => text,
    }
}

/// A staff group's standard equipment in a few words.
fn bundle(g: &StaffGroup) -> String {
    let mut parts = Vec::new();
    if !g.devices.is_empty() {
        let devices: Vec<String> = g.devices.iter().map(device_text).collect();
        parts.push(devices.join(", "));
    }
    if g.portal_only {
        parts.push("portal only".to_owned());
    } else if !g.hardware {
        parts.push("no organisation hardware".to_owned());
    } else if g.case_by_case {
        parts.push("case by case".to_owned());
    } else if g.devices.is_empty() {
        parts.push("organisation hardware, no standard bundle".to_owned());
    }
    if g.byod {
        parts.push("own devices (BYOD)".to_owned());
    }
    if g.mfa_required {
        parts.push("MFA on every account".to_owned());
    }
    parts.join("; ")
}

fn device_text(d: &DeviceAllowance) -> String {
    let mut kinds = vec![d.kind.to_string()];
    kinds.extend(d.alternatives.iter().map(ToString::to_string));
    format!("{} {}", d.count, kinds.join(" or "))
}

// ------------------------------------------------------------------------------------------------
// validate
// ------------------------------------------------------------------------------------------------

fn validate(settings: &Settings, reference: &str) -> Result<ExitCode> {
    let path = Path::new(reference);
    // A pack's own file stands for its folder.
    let folder = match path.file_name().and_then(|n| n.to_str()) {
        Some(PACK_FILE | CLAUSES_FILE) if path.is_file() => path.parent().map(Path::to_path_buf),
        _ if path.is_dir() => Some(path.to_path_buf()),
        _ => None,
    };
    let (label, loaded, cases_dir) = match folder {
        Some(folder) => (
            folder.display().to_string(),
            load_dir(&folder),
            Some(folder.join("cases")),
        ),
        None if looks_like_path(reference) => {
            bail!("{reference} is not a pack folder (a folder with {PACK_FILE} and {CLAUSES_FILE})")
        }
        None => match BUILTIN.iter().find(|b| b.id == reference) {
            Some(b) => ("built-in".to_owned(), b.load(), None),
            None => {
                let catalogue = Catalogue::load(settings);
                match catalogue.find(reference) {
                    Some(Available {
                        source: Source::Folder(folder),
                        ..
                    }) => (
                        folder.display().to_string(),
                        load_dir(folder),
                        Some(folder.join("cases")),
                    ),
                    _ => bail!(
                        "{reference} is neither a pack folder nor an available pack; the available packs are {}",
                        catalogue.ids()
                    ),
                }
            }
        },
    };
    let (pack, mut errors) = match loaded {
        Ok(pack) => (Some(pack), Vec::new()),
        Err(errors) => (None, errors),
    };
    let mut case_files = 0;
    if let (Some(pack), Some(dir)) = (&pack, cases_dir.filter(|d| d.is_dir())) {
        match load_cases_dir(&dir, pack) {
            Ok(files) => case_files = files.len(),
            Err(e) => errors.extend(e),
        }
    }
    match pack {
        Some(pack) if errors.is_empty() => {
            let kinds: Vec<String> = pack
                .count_by_kind()
                .into_iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            let mut line = format!(
                "{} ({label}): valid: {} clauses, {} ({})",
                pack.id,
                pack.clauses.len(),
                count(pack.controls().count(), "control", "controls"),
                kinds.join(", ")
            );
            if case_files > 0 {
                line.push_str(&format!(
                    ", {}",
                    count(case_files, "test-case file", "test-case files")
                ));
            }
            emit(&format!("{line}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            let mut err = std::io::stderr().lock();
            for e in &errors {
                let _ = writeln!(err, "{e}");
            }
            let _ = writeln!(
                err,
                "error: {} in {label}",
                count(errors.len(), "problem", "problems")
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

// ------------------------------------------------------------------------------------------------
// coverage
// ------------------------------------------------------------------------------------------------

fn coverage_command(
    settings: &Settings,
    reference: &str,
    inventory: Option<&Path>,
    format: Format,
) -> Result<ExitCode> {
    let Available { pack, .. } = resolve(settings, reference)?;
    let (cov, against) = match inventory {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the clause inventory {}", path.display()))?;
            (coverage(&pack, &text), path.display().to_string())
        }
        None => (
            steward_policy::own_coverage(&pack),
            "its own clauses".to_owned(),
        ),
    };
    match format {
        Format::Json => {
            let rows: Vec<Json> = cov
                .rows
                .iter()
                .map(|r| {
                    json!({
                        "clause": r.clause,
                        "controls": r.controls.iter().map(|(id, kind)| json!({"id": id, "kind": kind.as_str()})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let assumed: Vec<Json> = pack
                .parameters
                .values()
                .filter_map(|p| {
                    p.assumed.as_ref().map(|why| {
                        json!({"name": p.name, "value": param_json(&p.value), "assumed": why})
                    })
                })
                .collect();
            emit(&pretty(&json!({
                "clauses": rows,
                "summary": cov.summary(),
                "assumed": assumed,
            }))?)?;
        }
        Format::Text => {
            let mut rows = Vec::new();
            for r in &cov.rows {
                if r.controls.is_empty() {
                    rows.push(vec![r.clause.clone(), "-".into(), "NOT MAPPED".into()]);
                }
                for (i, (id, kind)) in r.controls.iter().enumerate() {
                    let clause = if i == 0 {
                        r.clause.clone()
                    } else {
                        String::new()
                    };
                    rows.push(vec![clause, kind.as_str().to_owned(), id.clone()]);
                }
            }
            let mut out = format!(
                "{} against {against}: {}\n\n",
                pack.id,
                count(cov.rows.len(), "row", "rows")
            );
            out.push_str(&indent(
                &table(&["clause", "kind", "control"], &[], rows),
                2,
            ));
            out.push_str(&format!(
                "\n{}: {} mapped, {} unmapped\n",
                count(cov.rows.len(), "row", "rows"),
                cov.rows.len() - cov.unmapped.len(),
                cov.unmapped.len()
            ));
            let s = cov.summary();
            out.push_str(&format!(
                "decided from the registers (a check): {}; only workflows: {}; only attestations or tasks: {}; guidance only: {}\n",
                s.checked, s.workflow_only, s.attested_only, s.guidance_only
            ));
            let assumed: Vec<String> = pack
                .parameters
                .values()
                .filter_map(|p| {
                    p.assumed.as_ref().map(|why| {
                        format!(
                            "  {} = {}: {why}",
                            p.name,
                            param_text(&p.value, p.unit.as_deref())
                        )
                    })
                })
                .collect();
            out.push_str(&format!(
                "assumed parameters (the document states no value; set by your organisation): {}\n",
                assumed.len()
            ));
            for line in assumed {
                out.push_str(&line);
                out.push('\n');
            }
            emit(&out)?;
        }
    }
    let mismatches = cov.text_mismatches();
    if !mismatches.is_empty() {
        eprintln!(
            "note: the pack's text does not begin with the inventory's excerpt for {}; check the wording",
            mismatches.join(", ")
        );
    }
    if !cov.unmapped.is_empty() {
        eprintln!(
            "error: {} of the inventory {} no controls in {}: {}",
            count(cov.unmapped.len(), "row", "rows"),
            if cov.unmapped.len() == 1 {
                "has"
            } else {
                "have"
            },
            pack.id,
            cov.unmapped.join(", ")
        );
    }
    if !cov.not_in_inventory.is_empty() {
        eprintln!(
            "error: clauses of {} that are not in the inventory: {}",
            pack.id,
            cov.not_in_inventory.join(", ")
        );
    }
    for p in &cov.problems {
        eprintln!("error: {against}: {p}");
    }
    Ok(exit(cov.is_complete()))
}

// ------------------------------------------------------------------------------------------------
// new
// ------------------------------------------------------------------------------------------------

/// The files of the pack to copy.
struct Original {
    id: String,
    pack_toml: String,
    clauses_toml: String,
    /// Where its test cases are, if anywhere.
    cases: Option<PathBuf>,
    source: Source,
}

fn original(settings: &Settings, reference: &str) -> Result<(Original, Catalogue)> {
    let catalogue = Catalogue::load(settings);
    let folder = if looks_like_path(reference) {
        PathBuf::from(reference)
    } else {
        match catalogue.find(reference) {
            Some(Available {
                pack,
                source: Source::Builtin,
            }) => {
                let b = BUILTIN
                    .iter()
                    .find(|b| b.id == pack.id)
                    .with_context(|| format!("the built-in pack {} has no files", pack.id))?;
                let cases = Path::new(SOURCE_PACKS).join(b.id).join("cases");
                let original = Original {
                    id: b.id.to_owned(),
                    pack_toml: b.pack_toml.to_owned(),
                    clauses_toml: b.clauses_toml.to_owned(),
                    cases: cases.is_dir().then_some(cases),
                    source: Source::Builtin,
                };
                return Ok((original, catalogue));
            }
            Some(Available {
                pack,
                source: Source::Database,
            }) => {
                let steward = crate::open(settings)?;
                let files = steward.own_pack_file(&pack.id)?;
                let original = Original {
                    id: files.id,
                    pack_toml: files.pack_toml,
                    clauses_toml: files.clauses_toml,
                    cases: None,
                    source: Source::Database,
                };
                return Ok((original, catalogue));
            }
            Some(Available {
                source: Source::Folder(folder),
                ..
            }) => folder.clone(),
            None if Path::new(reference).is_dir() => PathBuf::from(reference),
            None => bail!(
                "there is no pack {reference} to copy; the available packs are {}",
                catalogue.ids()
            ),
        }
    };
    let pack = load_dir(&folder).map_err(|errors| {
        anyhow::anyhow!(
            "the pack in {} does not load ({}); fix it before copying it:\n{}",
            folder.display(),
            count(errors.len(), "problem", "problems"),
            lines(&errors)
        )
    })?;
    let read = |name: &str| {
        let path = folder.join(name);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let cases = folder.join("cases");
    let original = Original {
        id: pack.id,
        pack_toml: read(PACK_FILE)?,
        clauses_toml: read(CLAUSES_FILE)?,
        cases: cases.is_dir().then_some(cases),
        source: Source::Folder(folder),
    };
    Ok((original, catalogue))
}

/// `pack.toml` with the `[pack]` table's `id` set to `new_id`, everything else as it was.
fn with_pack_id(pack_toml: &str, old_id: &str, new_id: &str) -> Result<String> {
    let doc = toml::de::DeTable::parse(pack_toml)
        .map_err(|e| anyhow::anyhow!("{PACK_FILE} is not valid TOML: {}", e.message()))?;
    let span = doc
        .get_ref()
        .get("pack")
        .and_then(|p| p.get_ref().get("id"))
        .map(toml::Spanned::span)
        .with_context(|| format!("{PACK_FILE} has no `id` in its [pack] table"))?;
    let written = pack_toml
        .get(span.clone())
        .map(|s| s.trim_matches(['"', '\'']))
        .unwrap_or_default();
    if written != old_id {
        bail!("{PACK_FILE}: cannot find the pack id {old_id} to replace");
    }
    Ok(format!(
        "{}\"{new_id}\"{}",
        &pack_toml[..span.start],
        &pack_toml[span.end..]
    ))
}

/// `text` with every quoted mention of the old pack id (`"old"` or `'old'`, as rules compare
/// acceptances' and exceptions' `pack` with it) naming the new one; and how many there were.
use steward_policy::skeleton::rename_mentions;

fn new_pack(
    settings: &Settings,
    from: &str,
    id: Option<&str>,
    out: &Path,
    with_cases: bool,
) -> Result<ExitCode> {
    if out.symlink_metadata().is_ok() {
        bail!(
            "{} already exists; nothing was written. Choose a new folder for the pack",
            out.display()
        );
    }
    let (original, catalogue) = original(settings, from)?;
    let new_id = match id {
        Some(id) => id.to_owned(),
        None => {
            let name = out.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if !steward_service::is_pack_id(name) {
                bail!(
                    "give the new pack an id with --id: the folder name {name:?} is not one (lower-case letters, digits, `-` and `.`)"
                );
            }
            name.to_owned()
        }
    };
    if !steward_service::is_pack_id(&new_id) {
        bail!(
            "{new_id:?} is not a pack id: use lower-case letters, digits, `-` and `.`, e.g. our-charity-it-1.0"
        );
    }
    if let Some(taken) = catalogue.find(&new_id) {
        bail!(
            "{new_id} is already the id of {}; choose another with --id",
            match &taken.source {
                Source::Builtin => "a built-in pack".to_owned(),
                Source::Folder(p) => format!("the pack in {}", p.display()),
                Source::Database => "one of the organisation's own packs".to_owned(),
            }
        );
    }
    let cases_dir = match (&original.cases, with_cases) {
        (Some(dir), true) => Some(dir.clone()),
        (None, true) => match &original.source {
            Source::Builtin => bail!(
                "this steward binary does not carry the built-in pack {}'s test cases (they are in packs/{}/cases/ of Steward's source); nothing was written",
                original.id,
                original.id
            ),
            Source::Folder(folder) => bail!(
                "the pack {} has no test cases (no {}); nothing was written",
                original.id,
                folder.join("cases").display()
            ),
            Source::Database => bail!(
                "the pack {} is kept in the database, which holds no test cases; nothing was written",
                original.id
            ),
        },
        (_, false) => None,
    };

    // Everything is prepared before anything is written.
    let pack_toml = with_pack_id(&original.pack_toml, &original.id, &new_id)?;
    let (clauses_toml, mut renamed) =
        rename_mentions(&original.clauses_toml, &original.id, &new_id);
    let mut files = vec![
        (PathBuf::from(PACK_FILE), pack_toml),
        (PathBuf::from(CLAUSES_FILE), clauses_toml),
    ];
    if let Some(dir) = &cases_dir {
        let mut names = Vec::new();
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry
                .with_context(|| format!("cannot read {}", dir.display()))?
                .path();
            if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                names.push(path);
            }
        }
        names.sort();
        for path in names {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let (text, n) = rename_mentions(&text, &original.id, &new_id);
            renamed += n;
            let name = path.file_name().map(PathBuf::from).unwrap_or_default();
            files.push((Path::new("cases").join(name), text));
        }
    }

    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::create_dir(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("{} already exists; nothing was written", out.display())
        } else {
            anyhow::anyhow!("cannot create {}: {e}", out.display())
        }
    })?;
    if cases_dir.is_some() {
        let dir = out.join("cases");
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for (name, text) in &files {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }

    // Validate what was written, as `steward policy validate` would.
    let mut errors = Vec::new();
    let pack = match load_dir(out) {
        Ok(pack) => Some(pack),
        Err(e) => {
            errors = e;
            None
        }
    };
    if let Some(pack) = &pack
        && cases_dir.is_some()
        && let Err(e) = load_cases_dir(out.join("cases"), pack)
    {
        errors.extend(e);
    }
    let pack = match pack {
        Some(pack) if errors.is_empty() => pack,
        _ => {
            let mut err = std::io::stderr().lock();
            for e in &errors {
                let _ = writeln!(err, "{e}");
            }
            let _ = writeln!(
                err,
                "error: the copy in {} does not validate ({}); fix it and run `steward policy validate {}`",
                out.display(),
                count(errors.len(), "problem", "problems"),
                out.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    };

    let copied: Vec<String> = files
        .iter()
        .map(|(name, _)| name.display().to_string())
        .collect();
    let mut text = format!(
        "created the pack {new_id} in {} from {}: {}; it validates ({} clauses, {})\n",
        out.display(),
        original.id,
        summarise_files(&copied),
        pack.clauses.len(),
        count(pack.controls().count(), "control", "controls"),
    );
    if renamed > 0 {
        text.push_str(&format!(
            "{} of {} in rules{} now name{} {new_id}\n",
            count(renamed, "mention", "mentions"),
            original.id,
            if cases_dir.is_some() {
                " and cases"
            } else {
                ""
            },
            if renamed == 1 { "s" } else { "" },
        ));
    }
    text.push_str(&format!(
        "next: edit {PACK_FILE} (title, organisation, version, owner, approver, dates) and {CLAUSES_FILE}, then run `steward policy validate {}`\n",
        out.display()
    ));
    let packs_dir = settings.data_dir.join(PACKS_DIR);
    let available = out
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .zip(packs_dir.canonicalize().ok())
        .is_some_and(|(a, b)| a == b);
    if available {
        text.push_str(&format!(
            "to run it, add \"{new_id}\" to `packs` in the configuration\n"
        ));
    } else {
        text.push_str(&format!(
            "to make it available, move the folder into {}; to run it, add \"{new_id}\" to `packs` in the configuration\n",
            packs_dir.display()
        ));
    }
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `pack.toml, clauses.toml and 40 case files`.
fn summarise_files(names: &[String]) -> String {
    let (cases, main): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| n.starts_with("cases"));
    let mut parts: Vec<String> = main.iter().map(|s| (*s).clone()).collect();
    if !cases.is_empty() {
        parts.push(count(cases.len(), "test-case file", "test-case files"));
    }
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

// ------------------------------------------------------------------------------------------------
// Output
// ------------------------------------------------------------------------------------------------

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Writes to standard output; a reader that stops early (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to standard output"))
        }
        _ => Ok(()),
    }
}

fn pretty(value: &Json) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    let words: Vec<String> = items.iter().map(ToString::to_string).collect();
    words.join(", ")
}

/// One error per line, indented.
fn lines(errors: &[PackError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    lines.join("\n")
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Columns aligned on the widest cell, two spaces apart; the columns in `right` are numbers,
/// aligned right. The last column is not padded.
fn table(headers: &[&str], right: &[usize], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows) {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(w.saturating_sub(width(cell)));
            if right.contains(&i) {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if i < last {
                    line.push_str(&pad);
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Labelled values, values aligned and wrapped under each other. A rule keeps its own layout.
fn fields(facts: &[(&str, String)], indent_by: usize) -> String {
    let label_width = facts.iter().map(|(l, _)| width(l)).max().unwrap_or(0);
    let mut out = String::new();
    let hang = indent_by + label_width + 2;
    for (label, value) in facts {
        let value = value.trim_start();
        let body = if *label == "rule" {
            indent(value, hang)
        } else {
            wrap(value, hang, WIDTH)
        };
        out.push_str(&" ".repeat(indent_by));
        out.push_str(label);
        out.push_str(&" ".repeat(label_width - width(label) + 2));
        // The body's first line is indented to the hang: the label takes its place.
        out.push_str(body.get(hang..).filter(|b| !b.is_empty()).unwrap_or("\n"));
    }
    out
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// `text` wrapped at `width` characters, each line indented by `by`, its own line breaks kept
/// (a rule's layout, a clause's list items).
fn wrap(text: &str, by: usize, width_limit: usize) -> String {
    let pad = " ".repeat(by);
    let mut out = String::new();
    for line in text.lines() {
        let lead: String = line.chars().take_while(|c| c.is_whitespace()).collect();
        let mut current = format!("{pad}{lead}");
        let start = width(&current);
        for word in line.split_whitespace() {
            if width(&current) > start && width(&current) + 1 + width(word) > width_limit {
                out.push_str(current.trim_end());
                out.push('\n');
                current = format!("{pad}{lead}");
            } else if width(&current) > start {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push_str(current.trim_end());
        out.push('\n');
    }
    if out.is_empty() {
        out.push('\n');
    }
    out
}
