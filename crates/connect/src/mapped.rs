//! Mapped CSV: any file without an API — an HR spreadsheet, the mobile network's bill — read
//! through a saved column map, a [`Profile`].
//!
//! ```toml
//! name = "hr"
//! target = "people"          # people | accounts | devices | usage
//! delimiter = ","            # optional; "," by default
//! header_row = 1             # optional; the line the header is on (bills often have a title first)
//! complete = true            # optional; see below
//!
//! [columns]                  # Steward field = the file's column header
//! email = "Work Email"
//! name = "Full Name"
//! staff_group = "Staff Group"
//! manager_email = "Line Manager Email"
//! leave_date = "Leaving Date"
//! active = "Status"
//!
//! [transforms]
//! leave_date = { date = "%d/%m/%Y" }
//! active = { yes = ["Current", "Active"], no = ["Left"] }
//!
//! [values]                   # optional word maps, applied before the field is read
//! staff_group = { "Family Court Advisers" = "fca", "Business Services" = "business-services" }
//! ```
//!
//! # Fields
//!
//! A target's fields are the Rust field names of its source record: `people` fills
//! [`SourcePerson`], `accounts` [`SourceAccount`], `devices` [`SourceDevice`] and `usage`
//! [`SourceUsage`] ([`Target::fields`] lists them). Each is read by its type:
//!
//! - text as written (a cell starting `=`, `+`, `-` or `@` stays literal text);
//! - e-mail addresses lower-cased (`aliases`: several, split at `;`, `,` or spaces);
//! - booleans `true`/`false`/`yes`/`no`;
//! - dates `YYYY-MM-DD` and date-times ISO 8601 (UTC without a zone): a spreadsheet's
//!   `03/04/2026` is not guessed at — give its format with a `date` transform;
//! - whole numbers (thousands commas allowed); money in pounds (`£1,299.00`); a month `YYYY-MM`;
//!   `kind` and `ownership` in the registers' words (`smartphone`, `organisation`).
//!
//! # Transforms and values
//!
//! - `{ date = "%d/%m/%Y" }`: a chrono format, for a date, date-time or month field (a month read
//!   from a date, or from a format without a day such as `"%B %Y"`).
//! - `{ yes = [...], no = [...] }`: a boolean's words, matched ignoring case; with both lists a
//!   word in neither is an error, with one list every other word is the opposite.
//! - `{ scale = 1024 }`: a whole-number field read as a decimal, multiplied and rounded to whole
//!   (GB to MB).
//! - `{ money = "pounds" }` (the default) or `{ money = "pence" }`.
//!
//! `[values]` maps a cell's words (matched ignoring case) to Steward's before the field is read;
//! words it does not list are read as they are, and a word mapped to `""` is empty.
//!
//! # Identity, months and completeness
//!
//! A person's `source_id` is the mapped `source_id` column, else `employee_id`, else `email`; an
//! account's its `source_id`, else its `login`; a device's its `source_id`, else `asset_tag`,
//! `serial` or `imei` — the first the profile maps, the same for every line, each line's cell
//! required. A usage line names its `asset_tag`, `phone_number` or `imei`, and its `month` comes
//! from a column or is fixed in the profile (`month = "2026-11"`).
//!
//! A people, accounts or devices file is a complete listing of its feed unless the profile says
//! `complete = false`; a usage file (one bill) is not unless it says `complete = true`.
//!
//! # Files and errors
//!
//! Files are read as the portals' exports are ([`crate::exports`]): UTF-8 with or without a BOM,
//! CRLF or LF, cells trimmed, blank lines skipped, every other line as wide as the header; columns
//! are found by header ignoring case and spacing. A file is read all or nothing; a
//! [`MappedError`] names the profile key at fault, or the file, line, column, field and reason.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, SubsecRound as _, Utc};
use serde::{Deserialize, Serialize};
use steward_model::{AssetKind, Month, Ownership, Pence};

use crate::exports::{self, Table, TableProblem, TableRow, read_table, shown};
use crate::{Feed, Listing, SourceAccount, SourceDevice, SourcePerson, SourceUsage};

/// What a mapped file lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    People,
    Accounts,
    Devices,
    Usage,
}

impl Target {
    pub const ALL: [Target; 4] = [
        Target::People,
        Target::Accounts,
        Target::Devices,
        Target::Usage,
    ];

    pub fn name(self) -> &'static str {
        self.feed().name()
    }

    pub fn feed(self) -> Feed {
        match self {
            Target::People => Feed::People,
            Target::Accounts => Feed::Accounts,
            Target::Devices => Feed::Devices,
            Target::Usage => Feed::Usage,
        }
    }

    /// The fields a profile may map, in the source record's order.
    pub fn fields(self) -> impl Iterator<Item = &'static str> {
        self.specs().iter().map(|s| s.name)
    }

    /// The target of this name (`people`, `accounts`, `devices`, `usage`).
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The transform a field of the target takes, if any: what an on-screen mapping offers
    /// beside its column.
    pub fn takes(self, field: &str) -> Option<Takes> {
        self.spec(field).and_then(|s| match s.kind {
            Kind::Date | Kind::Time | Kind::Month => Some(Takes::Date),
            Kind::Bool => Some(Takes::Words),
            Kind::Int => Some(Takes::Scale),
            Kind::Money => Some(Takes::Money),
            _ => None,
        })
    }

    /// What a field of the target holds, in words (`a date`, `an e-mail address`).
    pub fn describe(self, field: &str) -> Option<&'static str> {
        self.spec(field).map(|s| s.kind.describe())
    }

    fn specs(self) -> &'static [Spec] {
        match self {
            Target::People => PEOPLE,
            Target::Accounts => ACCOUNTS,
            Target::Devices => DEVICES,
            Target::Usage => USAGE,
        }
    }

    fn spec(self, field: &str) -> Option<&'static Spec> {
        self.specs().iter().find(|s| s.name == field)
    }

    /// The fields that may identify a record, in order of preference.
    fn identities(self) -> &'static [&'static str] {
        match self {
            Target::People => &["source_id", "employee_id", "email"],
            Target::Accounts => &["source_id", "login"],
            Target::Devices => &["source_id", "asset_tag", "serial", "imei"],
            Target::Usage => &["asset_tag", "phone_number", "imei"],
        }
    }
}

/// The one kind of [`Transform`] a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// `date`: a date, date-time or month field.
    Date,
    /// `yes`/`no`: a boolean field.
    Words,
    /// `scale`: a whole-number field.
    Scale,
    /// `money`: a money field.
    Money,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A saved column map: which of a file's columns fill which of a target's fields, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub target: Target,
    /// One ASCII character; `,` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// The line (1-based) the header is on, or the first line after it that is not blank; 1 when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u64>,
    /// A usage file's month (`YYYY-MM`), when no column gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    /// Whether the file lists its feed in full (see the module's documentation for the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete: Option<bool>,
    /// Steward field → the file's column header.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transforms: BTreeMap<String, Transform>,
    /// Steward field → (the file's word → Steward's word).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

/// How one field's cells are read; exactly one of `date`, `yes`/`no`, `scale` and `money`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transform {
    /// A chrono format (`%d/%m/%Y`), for a date, date-time or month field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// A boolean's true words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yes: Option<Vec<String>>,
    /// A boolean's false words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no: Option<Vec<String>>,
    /// A whole-number field's multiplier; the product is rounded to whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// A money field's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub money: Option<MoneyUnit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MoneyUnit {
    /// `12.50`, `£1,299.00`.
    Pounds,
    /// `1250`.
    Pence,
}

/// Why a profile or a mapped file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappedError {
    /// The profile's text does not parse as a profile.
    #[error("profile: {reason}")]
    Syntax { reason: String },
    /// A profile key that cannot work, named as in the TOML (`columns.email`,
    /// `transforms.leave_date`, `values.staff_group`, `month`).
    #[error("profile {profile:?}, {key}: {reason}")]
    Profile {
        profile: String,
        key: String,
        reason: String,
    },
    #[error("{file}: the file is empty; expected a header row")]
    Empty { file: String },
    /// The profile maps a column the file's header does not have.
    #[error("{file} line {line}: no column {column:?} for {key}; the header has {found}")]
    MissingColumn {
        file: String,
        line: u64,
        key: String,
        column: String,
        found: String,
    },
    /// A whole line is wrong: not UTF-8, the wrong number of cells, a repeated id.
    #[error("{file} line {line}: {reason}")]
    Line {
        file: String,
        line: u64,
        reason: String,
    },
    /// One cell does not read as its field.
    #[error("{file} line {line}, column {column:?} ({field}): {reason}")]
    Cell {
        file: String,
        line: u64,
        column: String,
        field: String,
        reason: String,
    },
}

impl Profile {
    /// Reads and checks a profile ([`Profile::check`]).
    pub fn from_toml(text: &str) -> Result<Profile, MappedError> {
        let profile: Profile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .and_then(|s| text.get(..s.start))
                .map(|before| before.matches('\n').count() + 1);
            let message = e
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            MappedError::Syntax {
                reason: match line {
                    Some(line) => format!("line {line}: {message}"),
                    None => message,
                },
            }
        })?;
        profile.check()?;
        Ok(profile)
    }

    /// The profile as TOML, which [`Profile::from_toml`] reads back as it was.
    pub fn to_toml(&self) -> Result<String, MappedError> {
        toml::to_string(self).map_err(|e| MappedError::Syntax {
            reason: e.to_string(),
        })
    }

    /// Whether the profile can work whatever the file: every key a field of the target, every
    /// transform fitting its field, every word map's words readable, the target's identity and
    /// month given. (Whether the file has the columns is known only when it is read.)
    pub fn check(&self) -> Result<(), MappedError> {
        self.plan().map(|_| ())
    }

    fn fail(&self, key: impl Into<String>, reason: impl Into<String>) -> MappedError {
        MappedError::Profile {
            profile: self.name.clone(),
            key: key.into(),
            reason: reason.into(),
        }
    }

    fn plan(&self) -> Result<Plan<'_>, MappedError> {
        if self.name.trim().is_empty() {
            return Err(self.fail("name", "empty; a profile needs a name"));
        }
        let delimiter = match self.delimiter {
            None => b',',
            Some(c) => delimiter_byte(c).ok_or_else(|| {
                self.fail(
                    "delimiter",
                    format!("{c:?} cannot separate cells; give one ASCII character such as \",\""),
                )
            })?,
        };
        let header_row = match self.header_row {
            None => 1,
            Some(0) => return Err(self.fail("header_row", "lines are counted from 1")),
            Some(n) => n,
        };
        let target = self.target;
        let spec_of = |section: &str, field: &str| {
            target.spec(field).ok_or_else(|| {
                let fields: Vec<&str> = target.fields().collect();
                self.fail(
                    format!("{section}.{field}"),
                    format!(
                        "not a field of {target}; its fields are {}",
                        fields.join(", ")
                    ),
                )
            })
        };
        let mut fields = Vec::new();
        for (field, column) in &self.columns {
            let spec = spec_of("columns", field)?;
            if column.trim().is_empty() {
                return Err(self.fail(format!("columns.{field}"), "names no column"));
            }
            fields.push(Mapping {
                spec,
                column,
                transform: None,
                values: None,
            });
        }
        for (field, transform) in &self.transforms {
            let key = format!("transforms.{field}");
            let spec = spec_of("transforms", field)?;
            let mapping = fields
                .iter_mut()
                .find(|m| m.spec.name == spec.name)
                .ok_or_else(|| self.fail(&key, format!("no column is mapped to {field}")))?;
            check_transform(spec, transform).map_err(|r| self.fail(&key, r))?;
            mapping.transform = Some(transform);
        }
        for (field, words) in &self.values {
            let key = format!("values.{field}");
            let spec = spec_of("values", field)?;
            let mapping = fields
                .iter_mut()
                .find(|m| m.spec.name == spec.name)
                .ok_or_else(|| self.fail(&key, format!("no column is mapped to {field}")))?;
            for (from, to) in words {
                read_value(spec, mapping.transform, to.trim()).map_err(|r| {
                    self.fail(&key, format!("{} maps to {}: {r}", shown(from), shown(to)))
                })?;
            }
            mapping.values = Some(words);
        }
        fields.sort_by_key(|m| target.specs().iter().position(|s| s.name == m.spec.name));

        let month = match &self.month {
            None => None,
            Some(_) if target != Target::Usage => {
                return Err(self.fail("month", "only a usage profile fixes a month"));
            }
            Some(_) if self.columns.contains_key("month") => {
                return Err(self.fail("month", "fixed here and mapped to a column too; keep one"));
            }
            Some(text) => Some(
                text.trim()
                    .parse::<Month>()
                    .map_err(|r| self.fail("month", format!("{}: {r}", shown(text))))?
                    .to_string(),
            ),
        };
        if target == Target::Usage && month.is_none() && !self.columns.contains_key("month") {
            return Err(self.fail(
                "month",
                "a usage profile maps a month column or fixes the month (month = \"2026-11\")",
            ));
        }
        let identity = target
            .identities()
            .iter()
            .copied()
            .find(|f| self.columns.contains_key(*f));
        let Some(identity) = identity else {
            return Err(self.fail(
                "columns",
                format!(
                    "a {target} profile maps {} to identify each line",
                    or_list(target.identities())
                ),
            ));
        };
        if target == Target::Accounts && !self.columns.contains_key("login") {
            return Err(self.fail("columns", "an accounts profile maps login"));
        }
        let complete = self.complete.unwrap_or(target != Target::Usage);
        Ok(Plan {
            target,
            fields,
            identity,
            month,
            delimiter,
            header_row,
            complete,
        })
    }
}

fn or_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

fn delimiter_byte(c: char) -> Option<u8> {
    let ok = c.is_ascii() && !matches!(c, '"' | '\n' | '\r') && !c.is_ascii_alphanumeric();
    ok.then_some(c as u8)
}

/// Reads a mapped file. `name` is the file's name, for errors.
pub fn read(profile: &Profile, name: &str, bytes: &[u8]) -> Result<Listing, MappedError> {
    let plan = profile.plan()?;
    let table = read_table(bytes, plan.delimiter, plan.header_row, None)
        .map_err(|p| table_error(name, p))?;
    let columns = plan.resolve(name, &table)?;
    let mut listing = Listing::default();
    let mut ids: HashMap<String, u64> = HashMap::new();
    for row in &table.rows {
        let fields = plan.map_row(name, &columns, row)?;
        if plan.target != Target::Usage {
            let id = fields.text("source_id").unwrap_or_default();
            if let Some(first) = ids.insert(id.clone(), row.line) {
                return Err(MappedError::Line {
                    file: name.to_owned(),
                    line: row.line,
                    reason: format!(
                        "the same {} as line {first}: {}; a file lists each once",
                        plan.identity,
                        shown(&id)
                    ),
                });
            }
        }
        match plan.target {
            Target::People => listing.people.push(fields.person()),
            Target::Accounts => listing.accounts.push(fields.account()),
            Target::Devices => listing.devices.push(fields.device()),
            Target::Usage => listing.usage.push(fields.usage()),
        }
    }
    if plan.complete {
        listing.complete.push(plan.target.feed());
    }
    Ok(listing)
}

/// A file's first rows, for choosing and checking a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// The header row's cells, trimmed.
    pub headers: Vec<String>,
    /// Up to the asked-for number of lines after it, as their cells.
    pub rows: Vec<Vec<String>>,
    /// With a profile that fits the file, each of those lines as it maps.
    pub mapped: Option<Vec<PreviewRow>>,
    /// What stops the file being read, or the profile fitting it.
    pub error: Option<MappedError>,
}

/// One line as a profile maps it.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRow {
    pub line: u64,
    /// Each field the line fills, in the target's order, with its value as text (empty when the
    /// cell is); empty when the line does not read.
    pub fields: Vec<(String, String)>,
    pub error: Option<MappedError>,
}

/// The name errors in a [`Preview`] give the file.
pub const PREVIEW_FILE: &str = "preview";

/// The header and first `rows` lines of a file, and with a profile each of them mapped. Never
/// fails: what went wrong is in [`Preview::error`] or each row's.
pub fn preview(profile: Option<&Profile>, bytes: &[u8], rows: usize) -> Preview {
    let plan = profile.map(Profile::plan);
    let (delimiter, header_row) = match profile {
        Some(p) => (
            p.delimiter.and_then(delimiter_byte).unwrap_or(b','),
            p.header_row.filter(|n| *n > 0).unwrap_or(1),
        ),
        None => (b',', 1),
    };
    let table = match read_table(bytes, delimiter, header_row, Some(rows)) {
        Ok(table) => table,
        Err(problem) => {
            return Preview {
                headers: Vec::new(),
                rows: Vec::new(),
                mapped: None,
                error: Some(table_error(PREVIEW_FILE, problem)),
            };
        }
    };
    let mut preview = Preview {
        headers: table.header.clone(),
        rows: table.rows.iter().map(|r| r.cells.clone()).collect(),
        mapped: None,
        error: None,
    };
    match plan {
        None => {}
        Some(Err(e)) => preview.error = Some(e),
        Some(Ok(plan)) => {
            match plan.resolve(PREVIEW_FILE, &table) {
                Err(e) => preview.error = Some(e),
                Ok(columns) => {
                    let mapped = table.rows.iter().map(|row| {
                        match plan.map_row(PREVIEW_FILE, &columns, row) {
                            Ok(fields) => PreviewRow {
                                line: row.line,
                                fields: fields.texts(),
                                error: None,
                            },
                            Err(e) => PreviewRow {
                                line: row.line,
                                fields: Vec::new(),
                                error: Some(e),
                            },
                        }
                    });
                    preview.mapped = Some(mapped.collect());
                }
            }
        }
    }
    preview
}

fn table_error(file: &str, problem: TableProblem) -> MappedError {
    match problem {
        TableProblem::Empty => MappedError::Empty {
            file: file.to_owned(),
        },
        TableProblem::At { line, reason } => MappedError::Line {
            file: file.to_owned(),
            line,
            reason,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Fields.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Email,
    Emails,
    Bool,
    Date,
    Time,
    Int,
    Money,
    Month,
    Asset,
    Ownership,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Email => "an e-mail address",
            Kind::Emails => "a list of e-mail addresses",
            Kind::Bool => "true or false",
            Kind::Date => "a date",
            Kind::Time => "a date-time",
            Kind::Int => "a whole number",
            Kind::Money => "an amount of money",
            Kind::Month => "a month",
            Kind::Asset => "a kind of asset",
            Kind::Ownership => "an ownership",
        }
    }
}

#[derive(Debug)]
struct Spec {
    name: &'static str,
    kind: Kind,
}

const fn spec(name: &'static str, kind: Kind) -> Spec {
    Spec { name, kind }
}

const PEOPLE: &[Spec] = &[
    spec("source_id", Kind::Text),
    spec("email", Kind::Email),
    spec("aliases", Kind::Emails),
    spec("name", Kind::Text),
    spec("employee_id", Kind::Text),
    spec("staff_group", Kind::Text),
    spec("department", Kind::Text),
    spec("job_title", Kind::Text),
    spec("manager_email", Kind::Email),
    spec("manager_source_id", Kind::Text),
    spec("start_date", Kind::Date),
    spec("leave_date", Kind::Date),
    spec("active", Kind::Bool),
];

const ACCOUNTS: &[Spec] = &[
    spec("source_id", Kind::Text),
    spec("login", Kind::Email),
    spec("person_email", Kind::Email),
    spec("enabled", Kind::Bool),
    spec("admin", Kind::Bool),
    spec("mfa", Kind::Bool),
    spec("last_login", Kind::Time),
    spec("service", Kind::Bool),
];

const DEVICES: &[Spec] = &[
    spec("source_id", Kind::Text),
    spec("asset_tag", Kind::Text),
    spec("name", Kind::Text),
    spec("serial", Kind::Text),
    spec("imei", Kind::Text),
    spec("model", Kind::Text),
    spec("manufacturer", Kind::Text),
    spec("os", Kind::Text),
    spec("os_version", Kind::Text),
    spec("kind", Kind::Asset),
    spec("ownership", Kind::Ownership),
    spec("holder_email", Kind::Email),
    spec("encrypted", Kind::Bool),
    spec("compliance_state", Kind::Text),
    spec("last_seen", Kind::Time),
    spec("phone_number", Kind::Text),
    spec("directory_id", Kind::Text),
    spec("purchase_date", Kind::Date),
    spec("cost", Kind::Money),
    spec("retired", Kind::Bool),
];

const USAGE: &[Spec] = &[
    spec("month", Kind::Month),
    spec("asset_tag", Kind::Text),
    spec("phone_number", Kind::Text),
    spec("imei", Kind::Text),
    spec("data_mb", Kind::Int),
    spec("roaming_mb", Kind::Int),
    spec("voice_minutes", Kind::Int),
    spec("texts", Kind::Int),
    spec("private_cost", Kind::Money),
];

/// Whether a transform fits its field and is itself sound.
fn check_transform(spec: &Spec, t: &Transform) -> Result<(), String> {
    let words = t.yes.is_some() || t.no.is_some();
    let given = [
        t.date.is_some(),
        words,
        t.scale.is_some(),
        t.money.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err("give exactly one of date, yes/no, scale or money".into());
    }
    let misfit = |what: &str| {
        Err(format!(
            "a {what} transform does not fit {}, which is {}",
            spec.name,
            spec.kind.describe()
        ))
    };
    if let Some(format) = &t.date {
        if !matches!(spec.kind, Kind::Date | Kind::Time | Kind::Month) {
            return misfit("date");
        }
        let broken = StrftimeItems::new(format).any(|item| matches!(item, Item::Error));
        if format.trim().is_empty() || broken {
            return Err(format!(
                "{} is not a date format such as \"%d/%m/%Y\"",
                shown(format)
            ));
        }
    }
    if words {
        if spec.kind != Kind::Bool {
            return misfit("yes/no");
        }
        let yes = t.yes.as_deref().unwrap_or_default();
        let no = t.no.as_deref().unwrap_or_default();
        if yes.iter().chain(no).any(|w| w.trim().is_empty()) || (yes.is_empty() && no.is_empty()) {
            return Err("the yes and no lists need words, none of them empty".into());
        }
        if let Some(both) = yes.iter().find(|y| no.iter().any(|n| same_word(y, n))) {
            return Err(format!("{} is both a yes and a no word", shown(both)));
        }
    }
    if let Some(scale) = t.scale {
        if spec.kind != Kind::Int {
            return misfit("scale");
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err("a scale is a number greater than 0".into());
        }
    }
    if t.money.is_some() && spec.kind != Kind::Money {
        return misfit("money");
    }
    Ok(())
}

fn same_word(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// A cell read as its field.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(String),
    Emails(Vec<String>),
    Bool(bool),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    Int(i64),
    Money(Pence),
    Kind(AssetKind),
    Ownership(Ownership),
}

impl Cell {
    fn to_text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Emails(e) => e.join("; "),
            Cell::Bool(b) => b.to_string(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Time(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            Cell::Int(n) => n.to_string(),
            Cell::Money(p) => p.to_string(),
            Cell::Kind(k) => k.to_string(),
            Cell::Ownership(o) => o.to_string(),
        }
    }
}

/// Reads `text` (trimmed, past any word map) as `spec`'s field; empty is `None`.
fn read_value(
    spec: &Spec,
    transform: Option<&Transform>,
    text: &str,
) -> Result<Option<Cell>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let format = transform.and_then(|t| t.date.as_deref());
    let cell = match spec.kind {
        Kind::Text => Cell::Text(text.to_owned()),
        Kind::Email => Cell::Text(exports::email(text)?),
        Kind::Emails => Cell::Emails(
            text.split(|c: char| c == ';' || c == ',' || c.is_whitespace())
                .filter(|a| !a.is_empty())
                .map(exports::email)
                .collect::<Result<_, _>>()?,
        ),
        Kind::Bool => Cell::Bool(match transform {
            Some(Transform { yes, no, .. }) if yes.is_some() || no.is_some() => {
                yes_or_no(yes.as_deref(), no.as_deref(), text)?
            }
            _ => exports::boolean(text)?,
        }),
        Kind::Date => Cell::Date(match format {
            Some(f) => formatted_date(text, f)
                .ok_or_else(|| format!("not a date: {} (expected {f})", shown(text)))?,
            None => exports::date(text, false).ok_or_else(|| {
                format!(
                    "not a date: {} (expected YYYY-MM-DD, or give the file's format in [transforms])",
                    shown(text)
                )
            })?,
        }),
        Kind::Time => Cell::Time(match format {
            Some(f) => formatted_date_time(text, f)
                .ok_or_else(|| format!("not a date-time: {} (expected {f})", shown(text)))?,
            None => exports::date_time(text, false).ok_or_else(|| {
                format!(
                    "not a date-time: {} (expected ISO 8601, or give the file's format in [transforms])",
                    shown(text)
                )
            })?,
        }),
        Kind::Month => Cell::Text(match format {
            Some(f) => formatted_date(text, f)
                .and_then(Month::of)
                .ok_or_else(|| format!("not a month: {} (expected {f})", shown(text)))?
                .to_string(),
            None => text
                .parse::<Month>()
                .map_err(|r| format!("not a month: {} ({r})", shown(text)))?
                .to_string(),
        }),
        Kind::Int => Cell::Int(match transform.and_then(|t| t.scale) {
            Some(scale) => scaled(text, scale)?,
            None => whole(text)?,
        }),
        Kind::Money => Cell::Money(match transform.and_then(|t| t.money) {
            Some(MoneyUnit::Pence) => {
                let pence = whole(text)?;
                format!("{}.{:02}", pence / 100, pence % 100)
                    .parse::<Pence>()
                    .map_err(|r| format!("not an amount in pence: {} ({r})", shown(text)))?
            }
            _ => exports::pounds(text)?,
        }),
        Kind::Asset => Cell::Kind(
            word(text)
                .parse()
                .map_err(|r| format!("not a kind of asset: {} ({r})", shown(text)))?,
        ),
        Kind::Ownership => Cell::Ownership(
            word(text)
                .parse()
                .map_err(|r| format!("not an ownership: {} ({r})", shown(text)))?,
        ),
    };
    Ok(Some(cell))
}

/// An enumeration's word as the registers spell it: lower-case, `_` between words.
fn word(text: &str) -> String {
    text.trim().to_lowercase().replace([' ', '-'], "_")
}

fn yes_or_no(yes: Option<&[String]>, no: Option<&[String]>, text: &str) -> Result<bool, String> {
    let is_in =
        |list: Option<&[String]>| list.is_some_and(|l| l.iter().any(|w| same_word(w, text)));
    match (is_in(yes), is_in(no)) {
        (true, _) => Ok(true),
        (false, true) => Ok(false),
        (false, false) => match (yes, no) {
            (Some(_), None) => Ok(false),
            (None, Some(_)) => Ok(true),
            _ => Err(format!(
                "neither a yes nor a no word: {} (yes: {}; no: {})",
                shown(text),
                yes.unwrap_or_default().join(", "),
                no.unwrap_or_default().join(", ")
            )),
        },
    }
}

/// The largest whole number a field takes (the registers' 18 digits).
const MAX_WHOLE: i64 = 999_999_999_999_999_999;

/// A whole number, 0 or more, thousands commas allowed.
fn whole(text: &str) -> Result<i64, String> {
    exports::ungroup(text)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|n| *n <= MAX_WHOLE)
        .ok_or_else(|| {
            format!(
                "not a whole number: {} (a scale transform reads decimals)",
                shown(text)
            )
        })
}

/// A decimal, 0 or more, times `scale`, rounded to whole.
fn scaled(text: &str, scale: f64) -> Result<i64, String> {
    let fail = || format!("not a number: {}", shown(text));
    let plain = exports::ungroup(text).ok_or_else(fail)?;
    let (whole_part, fraction) = plain.split_once('.').unwrap_or((&plain, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole_part) || !digits(fraction) {
        return Err(fail());
    }
    let value: f64 = plain.parse().map_err(|_| fail())?;
    let product = (value * scale).round();
    if !(0.0..=1e15).contains(&product) {
        return Err(format!("{} times {scale} is too large", shown(text)));
    }
    // In range and whole, so the conversion is exact.
    Ok(product as i64)
}

fn formatted_date(text: &str, format: &str) -> Option<NaiveDate> {
    let date = NaiveDate::parse_from_str(text, format)
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, format)
                .ok()
                .map(|d| d.date())
        })
        .or_else(|| {
            DateTime::parse_from_str(text, format)
                .ok()
                .map(|d| d.date_naive())
        })
        // A format without a day (`%B %Y`): the first of the month.
        .or_else(|| {
            NaiveDate::parse_from_str(&format!("{text} 1"), &format!("{format} %d")).ok()
        })?;
    (1..=9999).contains(&date.year()).then_some(date)
}

fn formatted_date_time(text: &str, format: &str) -> Option<DateTime<Utc>> {
    let at = DateTime::parse_from_str(text, format)
        .ok()
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, format)
                .ok()
                .map(|d| d.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(text, format)
                .ok()
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        })?
        .trunc_subsecs(6);
    (1..=9999).contains(&at.year()).then_some(at)
}

// ---------------------------------------------------------------------------------------------
// Reading lines through a checked profile.

/// A checked profile.
struct Plan<'p> {
    target: Target,
    /// The mapped fields, in the target's order.
    fields: Vec<Mapping<'p>>,
    /// The field that identifies each line.
    identity: &'static str,
    /// A fixed month, as `YYYY-MM`.
    month: Option<String>,
    delimiter: u8,
    header_row: u64,
    complete: bool,
}

struct Mapping<'p> {
    spec: &'static Spec,
    column: &'p str,
    transform: Option<&'p Transform>,
    values: Option<&'p BTreeMap<String, String>>,
}

/// Where each mapped field's column is, and its header as the file spells it.
struct Columns {
    at: Vec<(usize, String)>,
    width: usize,
}

fn header_key(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Plan<'_> {
    fn resolve(&self, file: &str, table: &Table) -> Result<Columns, MappedError> {
        let mut at = Vec::with_capacity(self.fields.len());
        for m in &self.fields {
            let key = header_key(m.column);
            let Some(index) = table.header.iter().position(|h| header_key(h) == key) else {
                let mut found: Vec<String> =
                    table.header.iter().take(12).map(|h| shown(h)).collect();
                if table.header.len() > 12 {
                    found.push("…".into());
                }
                return Err(MappedError::MissingColumn {
                    file: file.to_owned(),
                    line: table.header_line,
                    key: format!("columns.{}", m.spec.name),
                    column: m.column.to_owned(),
                    found: found.join(", "),
                });
            };
            at.push((index, table.header.get(index).cloned().unwrap_or_default()));
        }
        Ok(Columns {
            at,
            width: table.header.len(),
        })
    }

    fn map_row(
        &self,
        file: &str,
        columns: &Columns,
        row: &TableRow,
    ) -> Result<Fields, MappedError> {
        if row.cells.len() != columns.width {
            return Err(MappedError::Line {
                file: file.to_owned(),
                line: row.line,
                reason: exports::width_reason(row.cells.len(), columns.width),
            });
        }
        let mut fields = Vec::with_capacity(self.fields.len() + 2);
        for (m, (index, column)) in self.fields.iter().zip(&columns.at) {
            let raw = row.cells.get(*index).map_or("", String::as_str);
            let text = m
                .values
                .and_then(|words| {
                    words
                        .iter()
                        .find(|(from, _)| same_word(from, raw))
                        .map(|(_, to)| to.trim())
                })
                .unwrap_or(raw);
            let fail = |reason: String| MappedError::Cell {
                file: file.to_owned(),
                line: row.line,
                column: column.clone(),
                field: m.spec.name.to_owned(),
                reason,
            };
            let cell = read_value(m.spec, m.transform, text).map_err(fail)?;
            if cell.is_none() && m.spec.name == self.identity {
                return Err(fail(format!(
                    "empty, but every line needs one: {} identifies each line",
                    m.spec.name
                )));
            }
            if cell.is_none() && m.spec.name == "login" {
                return Err(fail("empty, but every account needs a login".into()));
            }
            if cell.is_none() && m.spec.name == "month" {
                return Err(fail("empty, but every usage line needs its month".into()));
            }
            fields.push((m.spec.name, cell));
        }
        let mut fields = Fields(fields);
        if let Some(month) = &self.month {
            fields
                .0
                .insert(0, ("month", Some(Cell::Text(month.clone()))));
        }
        if self.target != Target::Usage && fields.get("source_id").is_none() {
            let id = fields.text(self.identity).unwrap_or_default();
            fields.0.insert(0, ("source_id", Some(Cell::Text(id))));
        }
        Ok(fields)
    }
}

/// One line's fields, each with its value (`None` for an empty cell).
struct Fields(Vec<(&'static str, Option<Cell>)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&Option<Cell>> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, c)| c)
    }

    fn cell(&self, name: &str) -> Option<&Cell> {
        self.get(name).and_then(Option::as_ref)
    }

    fn texts(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|(n, c)| {
                (
                    (*n).to_owned(),
                    c.as_ref().map(Cell::to_text).unwrap_or_default(),
                )
            })
            .collect()
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.cell(name) {
            Some(Cell::Text(t)) => Some(t.clone()),
            _ => None,
        }
    }

    fn emails(&self, name: &str) -> Vec<String> {
        match self.cell(name) {
            Some(Cell::Emails(e)) => e.clone(),
            _ => Vec::new(),
        }
    }

    fn boolean(&self, name: &str) -> Option<bool> {
        match self.cell(name) {
            Some(Cell::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    fn date(&self, name: &str) -> Option<NaiveDate> {
        match self.cell(name) {
            Some(Cell::Date(d)) => Some(*d),
            _ => None,
        }
    }

    fn time(&self, name: &str) -> Option<DateTime<Utc>> {
        match self.cell(name) {
            Some(Cell::Time(t)) => Some(*t),
            _ => None,
        }
    }

    fn int(&self, name: &str) -> Option<i64> {
        match self.cell(name) {
            Some(Cell::Int(n)) => Some(*n),
            _ => None,
        }
    }

    fn money(&self, name: &str) -> Option<Pence> {
        match self.cell(name) {
            Some(Cell::Money(p)) => Some(*p),
            _ => None,
        }
    }

    fn person(&self) -> SourcePerson {
        SourcePerson {
            source_id: self.text("source_id").unwrap_or_default(),
            email: self.text("email"),
            aliases: self.emails("aliases"),
            name: self.text("name"),
            employee_id: self.text("employee_id"),
            staff_group: self.text("staff_group"),
            department: self.text("department"),
            job_title: self.text("job_title"),
            manager_email: self.text("manager_email"),
            manager_source_id: self.text("manager_source_id"),
            manager_stated: self.get("manager_email").is_some()
                || self.get("manager_source_id").is_some(),
            start_date: self.date("start_date"),
            leave_date: self.date("leave_date"),
            active: self.boolean("active"),
        }
    }

    fn account(&self) -> SourceAccount {
        SourceAccount {
            source_id: self.text("source_id").unwrap_or_default(),
            login: self.text("login").unwrap_or_default(),
            person_email: self.text("person_email"),
            enabled: self.boolean("enabled"),
            admin: self.boolean("admin"),
            mfa: self.boolean("mfa"),
            last_login: self.time("last_login"),
            service: self.boolean("service"),
        }
    }

    fn device(&self) -> SourceDevice {
        SourceDevice {
            source_id: self.text("source_id").unwrap_or_default(),
            asset_tag: self.text("asset_tag"),
            name: self.text("name"),
            serial: self.text("serial"),
            imei: self.text("imei"),
            model: self.text("model"),
            manufacturer: self.text("manufacturer"),
            os: self.text("os"),
            os_version: self.text("os_version"),
            kind: match self.cell("kind") {
                Some(Cell::Kind(k)) => Some(*k),
                _ => None,
            },
            ownership: match self.cell("ownership") {
                Some(Cell::Ownership(o)) => Some(*o),
                _ => None,
            },
            holder_email: self.text("holder_email"),
            encrypted: self.boolean("encrypted"),
            compliance_state: self.text("compliance_state"),
            last_seen: self.time("last_seen"),
            phone_number: self.text("phone_number"),
            directory_id: self.text("directory_id"),
            purchase_date: self.date("purchase_date"),
            cost: self.money("cost"),
            retired: self.boolean("retired"),
        }
    }

    fn usage(&self) -> SourceUsage {
        SourceUsage {
            month: self.text("month").unwrap_or_default(),
            asset_tag: self.text("asset_tag"),
            phone_number: self.text("phone_number"),
            imei: self.text("imei"),
            data_mb: self.int("data_mb"),
            roaming_mb: self.int("roaming_mb"),
            voice_minutes: self.int("voice_minutes"),
            texts: self.int("texts"),
            private_cost: self.money("private_cost"),
        }
    }
}
