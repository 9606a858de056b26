//! The portals' own exports, read into a [`crate::Listing`]: a file an administrator downloaded
//! from Intune, Entra, Google Workspace or Snipe-IT, recognised by its header row ([`detect`]).
//!
//! | [`Export`] | Where it comes from | Lists (each complete) |
//! |---|---|---|
//! | [`Export::IntuneDevices`] | Intune: Devices > All devices > Export (`DevicesWithInventory`) | devices |
//! | [`Export::EntraUsers`] | Entra: Users > Download users (both header variants) | people, accounts |
//! | [`Export::GoogleUsers`] | Google Workspace: Users > Download users (2024 and older layouts) | people, accounts |
//! | [`Export::SnipeItAssets`] | Snipe-IT: the custom asset report, or an asset import file | devices |
//!
//! # How a file is read
//!
//! - UTF-8, with or without a byte-order mark; lines end CRLF or LF; quoted cells may hold commas,
//!   quotes and line breaks. A UTF-16 file is refused with a hint to save it as CSV UTF-8.
//! - Columns are found by name, in any order, case-insensitively, with a bracketed suffix such as
//!   Google's ` [Required]` or ` [READ ONLY]` ignored. Columns Steward does not use are ignored;
//!   only those that identify a line are required (Intune's `Device ID`; Entra's `objectId` or
//!   `id`, and `userPrincipalName`; Google's `Email Address`; Snipe-IT's `ID`, or `Asset Tag` when
//!   there is no `ID`). Where a name appears twice (Snipe-IT's two `Address` columns) the first is
//!   used.
//! - Cells are trimmed; an empty cell says nothing (`None`). A line whose cells are all empty is
//!   skipped; any other line must have as many cells as the header.
//! - Text is kept exactly as written: a cell starting `=`, `+`, `-` or `@` is literal text, never
//!   evaluated and never stripped (Entra's download does not escape them).
//! - E-mail addresses are lower-cased, since they are matched case-insensitively, and must look
//!   like addresses.
//! - Booleans are `true`/`false`/`yes`/`no`, in any case.
//! - Date-times are ISO 8601 (`2024-05-01T10:00:00Z`, `2024-05-01 10:00:00.0000000`), year first
//!   with slashes (Google's `2019/07/11 15:36:14`), or US month/day/year (`8/19/2021 1:25:31 PM`,
//!   Snipe-IT's `1/23/23`): these portals export in US locale, so day/month/year is never guessed
//!   — `31/12/2024` is refused and `01/02/2024` is the 2nd of January. A time without a zone is
//!   UTC. A two-digit year is 2000–2068 or 1969–1999. Fractions of a second are kept to the
//!   microsecond, as the registers keep them.
//! - Money is in pounds, with an optional `£` and thousands commas (`£1,299.00`).
//!
//! A file is read all or nothing: the first cell that does not read stops it, and the
//! [`ExportError`] names the file, the line the record starts on (1-based, counting every line of
//! the file: the header is line 1, and a quoted cell's line breaks count), the column as the file
//! spells it and why. The same identifier twice in one file is refused too, since a listing
//! names each record once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, SubsecRound as _, TimeZone as _, Utc};
use steward_model::{AssetKind, FieldType, Ownership, Pence, Value};

use crate::{Feed, Listing, SourceAccount, SourceDevice, SourcePerson};

/// An export Steward reads, recognised by its header row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Export {
    /// Intune's Devices > All devices > Export (the `DevicesWithInventory` report), with the
    /// current "Microsoft Entra …" or the older "Azure AD …" column names.
    IntuneDevices,
    /// Entra's Users > Download users: the documented layout (`objectId`) or the one real
    /// downloads have carried since 2021 (`id` … `createdDateTime`).
    EntraUsers,
    /// Google Workspace's Users > Download users: the 2024 layout or the older 34-column one.
    GoogleUsers,
    /// Snipe-IT's custom asset report (only the ticked columns), or a file in the layout of its
    /// asset import sample.
    SnipeItAssets,
}

impl Export {
    pub const ALL: [Export; 4] = [
        Export::IntuneDevices,
        Export::EntraUsers,
        Export::GoogleUsers,
        Export::SnipeItAssets,
    ];

    /// A short name for flags and settings: `intune-devices`, `entra-users`, `google-users`,
    /// `snipeit-assets`.
    pub fn name(self) -> &'static str {
        match self {
            Export::IntuneDevices => "intune-devices",
            Export::EntraUsers => "entra-users",
            Export::GoogleUsers => "google-users",
            Export::SnipeItAssets => "snipeit-assets",
        }
    }

    /// The export a [`name`](Self::name) names.
    pub fn from_name(name: &str) -> Option<Export> {
        Export::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The export in words, with where to find it in its portal.
    pub fn title(self) -> &'static str {
        match self {
            Export::IntuneDevices => "Intune devices (Devices > All devices > Export)",
            Export::EntraUsers => "Entra users (Users > Download users)",
            Export::GoogleUsers => "Google Workspace users (Users > Download users)",
            Export::SnipeItAssets => "Snipe-IT assets (custom asset report or import file)",
        }
    }
}

impl fmt::Display for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// Why an export could not be read. Every message names the file; all but [`Empty`] name the line
/// (the header is line 1), and a cell's error the column as the file spells it.
///
/// [`Empty`]: ExportError::Empty
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("{file}: the file is empty; expected a header row")]
    Empty { file: String },
    /// The header row is none Steward knows.
    #[error(
        "{file} line {line}: not an export steward knows; it reads {}",
        known_exports()
    )]
    Unrecognised { file: String, line: u64 },
    /// The file was read as `export` but lacks a column that identifies its rows.
    #[error("{file} line {line}: no column {column:?}, which {export} needs")]
    MissingColumn {
        file: String,
        line: u64,
        export: Export,
        column: String,
    },
    /// A whole line is wrong: not UTF-8, UTF-16, the wrong number of cells, a repeated id.
    #[error("{file} line {line}: {reason}")]
    Line {
        file: String,
        line: u64,
        reason: String,
    },
    /// One cell does not read.
    #[error("{file} line {line}, column {column:?}: {reason}")]
    Cell {
        file: String,
        line: u64,
        column: String,
        reason: String,
    },
}

fn known_exports() -> String {
    let titles: Vec<&str> = Export::ALL.iter().map(|e| e.title()).collect();
    titles.join(", ")
}

/// The export a header row is, if any: columns are matched by name in any order,
/// case-insensitively, ignoring a bracketed suffix.
pub fn detect(header: &[&str]) -> Option<Export> {
    let header = Header::new(header.iter().map(|h| h.to_string()).collect());
    header.detect()
}

/// Which export a file is, by its header row; `None` when unrecognised or unreadable.
pub fn detect_file(bytes: &[u8]) -> Option<Export> {
    let header = read_table(bytes, b',', 1, Some(0)).ok()?;
    Header::new(header.header).detect()
}

/// Reads `bytes` as `export`. `name` is the file's name, for errors.
pub fn read(export: Export, name: &str, bytes: &[u8]) -> Result<Listing, ExportError> {
    let table = read_table(bytes, b',', 1, None).map_err(|p| table_error(name, p))?;
    let header = Header::new(table.header);
    let file = File {
        name,
        header_line: table.header_line,
        header: &header,
    };
    match export {
        Export::IntuneDevices => intune(&file, &table.rows),
        Export::EntraUsers => entra(&file, &table.rows),
        Export::GoogleUsers => google(&file, &table.rows),
        Export::SnipeItAssets => snipe_it(&file, &table.rows),
    }
}

/// Reads `bytes` as whichever export its header row says it is ([`detect`]).
pub fn read_any(name: &str, bytes: &[u8]) -> Result<Listing, ExportError> {
    let header = read_table(bytes, b',', 1, Some(0)).map_err(|p| table_error(name, p))?;
    let line = header.header_line;
    match Header::new(header.header).detect() {
        Some(export) => read(export, name, bytes),
        None => Err(ExportError::Unrecognised {
            file: name.to_owned(),
            line,
        }),
    }
}

fn table_error(file: &str, problem: TableProblem) -> ExportError {
    match problem {
        TableProblem::Empty => ExportError::Empty {
            file: file.to_owned(),
        },
        TableProblem::At { line, reason } => ExportError::Line {
            file: file.to_owned(),
            line,
            reason,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The four layouts.

/// Intune's all-zeros directory id: the device is not registered in Entra.
const NO_DIRECTORY_ID: &str = "00000000-0000-0000-0000-000000000000";

/// Intune's device export: one [`SourceDevice`] per line, keyed by `Device ID`.
///
/// `Ownership` Corporate/Company is the organisation's, Personal is personal, Unknown says
/// nothing. The holder is the primary user's UPN, or their e-mail address where the UPN is
/// absent. `Compliance` is put into Graph's words (`compliant`, `noncompliant`, `inGracePeriod`,
/// `conflict`, `error`, `configManager`, `unknown`); a word Graph does not have is kept
/// lower-cased. An all-zeros Entra device id is no id. The kind is guessed: iPadOS, or an iOS or
/// Android device whose model says iPad or Tab, is a tablet; other iOS and Android devices are
/// smartphones; Windows and macOS devices are laptops (the registers have no desktop kind).
fn intune(file: &File, rows: &[TableRow]) -> Result<Listing, ExportError> {
    file.require(Export::IntuneDevices, &[DEVICE_ID])?;
    let mut ids = Ids::default();
    let mut devices = Vec::with_capacity(rows.len());
    for row in rows {
        let l = file.line(row)?;
        let source_id = l.required(DEVICE_ID)?;
        ids.insert(&l, &source_id, DEVICE_ID)?;
        let os = l.text(&["os"]);
        let model = l.text(&["model"]);
        let ownership = l.parse(&["ownership"], |t| match t.to_ascii_lowercase().as_str() {
            "corporate" | "company" => Ok(Some(Ownership::Organisation)),
            "personal" => Ok(Some(Ownership::Personal)),
            "unknown" => Ok(None),
            _ => Err(format!(
                "not an ownership (corporate, personal or unknown): {}",
                shown(t)
            )),
        })?;
        let holder_email = match l.email(&["primary user upn"])? {
            Some(upn) => Some(upn),
            None => l.email(&["primary user email address"])?,
        };
        let directory_id = l
            .text(&["microsoft entra device id", "azure ad device id"])
            .filter(|id| id != NO_DIRECTORY_ID);
        devices.push(SourceDevice {
            source_id,
            name: l.text(&["device name"]),
            serial: l.text(&["serial number"]),
            imei: l.text(&["imei"]),
            manufacturer: l.text(&["manufacturer"]),
            os_version: l.text(&["os version"]),
            kind: device_kind(os.as_deref(), model.as_deref()),
            os,
            model,
            ownership: ownership.flatten(),
            holder_email,
            encrypted: l.boolean(&["encrypted"])?,
            compliance_state: l.text(&["compliance"]).map(|c| compliance_state(&c)),
            last_seen: l.date_time(&["last check-in"])?,
            phone_number: l.text(&["phone number"]),
            directory_id,
            ..SourceDevice::default()
        });
    }
    Ok(Listing {
        devices,
        complete: vec![Feed::Devices],
        ..Listing::default()
    })
}

const DEVICE_ID: &[&str] = &["Device ID"];

/// Intune's compliance column in Graph's `complianceState` words.
fn compliance_state(text: &str) -> String {
    let key: String = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let graph = match key.as_str() {
        "compliant" => "compliant",
        "noncompliant" | "notcompliant" => "noncompliant",
        "ingraceperiod" => "inGracePeriod",
        "conflict" => "conflict",
        "error" => "error",
        "configmanager" => "configManager",
        "unknown" => "unknown",
        _ => return text.to_lowercase(),
    };
    graph.to_owned()
}

/// A device's kind from its operating system and model, where they make it plain.
fn device_kind(os: Option<&str>, model: Option<&str>) -> Option<AssetKind> {
    let os = os.unwrap_or("").to_lowercase();
    let model = model.unwrap_or("").to_lowercase();
    let tablet_model = model
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w.starts_with("ipad") || w == "tab" || w == "tablet");
    let mobile = os.starts_with("ios") || os.starts_with("android");
    if os.starts_with("ipados") || (mobile && tablet_model) {
        Some(AssetKind::Tablet)
    } else if mobile {
        Some(AssetKind::Smartphone)
    } else if os.starts_with("windows") || os.starts_with("macos") || os.starts_with("mac os") {
        Some(AssetKind::Laptop)
    } else {
        None
    }
}

/// Entra's user download: a [`SourcePerson`] and a [`SourceAccount`] per member, keyed by the
/// object id (`objectId`, or `id` in the 2021 layout); the UPN is the e-mail and login, `mail` an
/// alias where it differs. A guest (`userType` Guest) is someone else's person: it is listed as
/// an account only, with no person and no `person_email`.
fn entra(file: &File, rows: &[TableRow]) -> Result<Listing, ExportError> {
    file.require(Export::EntraUsers, &[ENTRA_ID, UPN])?;
    let mut ids = Ids::default();
    let mut listing = Listing {
        complete: vec![Feed::People, Feed::Accounts],
        ..Listing::default()
    };
    for row in rows {
        let l = file.line(row)?;
        let source_id = l.required(ENTRA_ID)?;
        ids.insert(&l, &source_id, ENTRA_ID)?;
        let upn = l.required_email(UPN)?;
        let enabled = l.boolean(&["accountenabled"])?;
        let guest = l
            .text(&["usertype"])
            .is_some_and(|t| t.eq_ignore_ascii_case("guest"));
        listing.accounts.push(SourceAccount {
            source_id: source_id.clone(),
            login: upn.clone(),
            person_email: (!guest).then(|| upn.clone()),
            enabled,
            ..SourceAccount::default()
        });
        if guest {
            continue;
        }
        let mail = l.email(&["mail"])?;
        listing.people.push(SourcePerson {
            source_id,
            aliases: mail.into_iter().filter(|m| *m != upn).collect(),
            email: Some(upn),
            name: l.text(&["displayname"]),
            department: l.text(&["department"]),
            job_title: l.text(&["jobtitle"]),
            active: enabled,
            ..SourcePerson::default()
        });
    }
    Ok(listing)
}

const ENTRA_ID: &[&str] = &["objectId", "id"];
const UPN: &[&str] = &["userPrincipalName"];

/// Google's user download: a [`SourcePerson`] and a [`SourceAccount`] per user, keyed by the
/// primary address (the file has no user id). `Status` Active is active and enabled; Suspended
/// and Archived are not. `2sv Enrolled` is the account's MFA; `Last Sign In` is its last login,
/// `Never logged in` none. The download says nothing of admin rights.
fn google(file: &File, rows: &[TableRow]) -> Result<Listing, ExportError> {
    file.require(Export::GoogleUsers, &[GOOGLE_EMAIL])?;
    let mut ids = Ids::default();
    let mut listing = Listing {
        complete: vec![Feed::People, Feed::Accounts],
        ..Listing::default()
    };
    for row in rows {
        let l = file.line(row)?;
        let email = l.required_email(GOOGLE_EMAIL)?;
        ids.insert(&l, &email, GOOGLE_EMAIL)?;
        let active = l.parse(&["status"], |t| match t.to_ascii_lowercase().as_str() {
            "active" => Ok(true),
            "suspended" | "archived" => Ok(false),
            _ => Err(format!(
                "not a status (active, suspended or archived): {}",
                shown(t)
            )),
        })?;
        let last_login = l.parse(&["last sign in"], |t| {
            if t.eq_ignore_ascii_case("never logged in") {
                Ok(None)
            } else {
                date_time(t, true)
                    .map(Some)
                    .ok_or_else(|| format!("not a date-time: {}", shown(t)))
            }
        })?;
        let name = [l.text(&["first name"]), l.text(&["last name"])]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        listing.accounts.push(SourceAccount {
            source_id: email.clone(),
            login: email.clone(),
            person_email: Some(email.clone()),
            enabled: active,
            mfa: l.boolean(&["2sv enrolled"])?,
            last_login: last_login.flatten(),
            ..SourceAccount::default()
        });
        listing.people.push(SourcePerson {
            source_id: email.clone(),
            email: Some(email),
            name: (!name.is_empty()).then_some(name),
            employee_id: l.text(&["employee id"]),
            department: l.text(&["department"]),
            job_title: l.text(&["employee title"]),
            manager_email: l.email(&["manager email"])?,
            manager_stated: l.cell(&["manager email"]).is_some(),
            active,
            ..SourcePerson::default()
        });
    }
    Ok(listing)
}

const GOOGLE_EMAIL: &[&str] = &["Email Address"];

/// Snipe-IT's asset report or import file: a [`SourceDevice`] per line, keyed by `ID` where the
/// file has that column and by `Asset Tag` otherwise.
///
/// The holder is `Checked Out To: Email`, `Email`, or a username that is an e-mail address. The
/// kind comes from the category's words (laptops, desktops and computers are laptops; mobile
/// phones smartphones; tablets; SIMs; desk phones voice phones; USB sticks, memory cards, drives,
/// discs; monitors, keyboards and the like peripherals; accessories); any other category says
/// nothing. A `Status` naming archived, lost, stolen or broken (Snipe-IT's own labels, as
/// `Lost/Stolen (archived)`) is retired; any other status is not. The import sample's
/// `Asset EOL Date` maps to nothing, as in Snipe-IT's own importer.
fn snipe_it(file: &File, rows: &[TableRow]) -> Result<Listing, ExportError> {
    let key: &[&str] = if file.header.find(&["ID"]).is_some() {
        &["ID"]
    } else {
        ASSET_TAG
    };
    file.require(Export::SnipeItAssets, &[key])?;
    let mut ids = Ids::default();
    let mut devices = Vec::with_capacity(rows.len());
    for row in rows {
        let l = file.line(row)?;
        let source_id = l.required(key)?;
        ids.insert(&l, &source_id, key)?;
        let holder_email = match l.email(&["checked out to: email", "email"])? {
            Some(email) => Some(email),
            None => l
                .text(&["checked out to: username", "username"])
                .map(|u| u.to_lowercase())
                .filter(|u| is_email(u)),
        };
        devices.push(SourceDevice {
            source_id,
            asset_tag: l.text(ASSET_TAG),
            name: l.text(&["asset name", "name"]),
            serial: l.text(&["serial", "serial number", "serial no."]),
            imei: l.text(&["imei"]),
            model: l.text(&["model", "model name"]),
            manufacturer: l.text(&["manufacturer"]),
            kind: l.text(&["category"]).and_then(|c| category_kind(&c)),
            holder_email,
            purchase_date: l.date(&["purchased", "purchase date"])?,
            cost: l.pounds(&["cost", "purchase cost"])?,
            retired: l.text(&["status"]).map(|s| retired_status(&s)),
            ..SourceDevice::default()
        });
    }
    Ok(Listing {
        devices,
        complete: vec![Feed::Devices],
        ..Listing::default()
    })
}

const ASSET_TAG: &[&str] = &["Asset Tag"];

/// Whether a Snipe-IT status label says the asset is gone.
fn retired_status(status: &str) -> bool {
    let status = status.to_lowercase();
    ["archived", "lost", "stolen", "broken"]
        .iter()
        .any(|w| status.contains(w))
}

/// A kind from a category's words, where they make it plain.
fn category_kind(category: &str) -> Option<AssetKind> {
    let lower = category.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "accessories" => "accessory",
            "mice" => "mouse",
            "phones" => "phone",
            w => w.strip_suffix('s').filter(|s| s.len() > 2).unwrap_or(w),
        })
        .collect();
    let has = |w: &str| words.contains(&w);
    let kind = if has("tablet") || has("ipad") {
        AssetKind::Tablet
    } else if [
        "laptop",
        "notebook",
        "desktop",
        "computer",
        "pc",
        "macbook",
        "workstation",
    ]
    .iter()
    .any(|w| has(w))
    {
        AssetKind::Laptop
    } else if has("sim") {
        AssetKind::Sim
    } else if has("desk") && has("phone") || has("voip") || has("landline") {
        AssetKind::VoicePhone
    } else if has("phone") || has("smartphone") || has("iphone") || has("mobile") {
        AssetKind::Smartphone
    } else if has("usb") || has("stick") {
        AssetKind::UsbStick
    } else if has("card") {
        AssetKind::MemoryCard
    } else if has("drive") || has("disk") {
        AssetKind::ExternalDrive
    } else if has("dvd") || has("cd") || has("optical") || has("disc") {
        AssetKind::OpticalDisc
    } else if [
        "peripheral",
        "monitor",
        "keyboard",
        "mouse",
        "printer",
        "dock",
        "headset",
        "webcam",
    ]
    .iter()
    .any(|w| has(w))
    {
        AssetKind::Peripheral
    } else if has("accessory") {
        AssetKind::Accessory
    } else {
        return None;
    };
    Some(kind)
}

// ---------------------------------------------------------------------------------------------
// Columns and cells.

/// A header row: each name as the file spells it, and where each normalised name first appears.
struct Header {
    cells: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    fn new(cells: Vec<String>) -> Header {
        let mut index = HashMap::new();
        for (i, cell) in cells.iter().enumerate() {
            index.entry(normalise(cell)).or_insert(i);
        }
        Header { cells, index }
    }

    /// The first of `names` the header has, and where.
    fn find(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|n| self.index.get(&normalise(n)).copied())
    }

    fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    fn detect(&self) -> Option<Export> {
        if self.has("device id") && self.has("device name") {
            Some(Export::IntuneDevices)
        } else if self.has("userprincipalname") && (self.has("objectid") || self.has("id")) {
            Some(Export::EntraUsers)
        } else if self.has("email address") && self.has("first name") && self.has("last name") {
            Some(Export::GoogleUsers)
        } else if self.has("asset tag")
            || (self.has("id")
                && ["asset name", "serial", "model", "category"]
                    .iter()
                    .any(|n| self.has(n)))
        {
            Some(Export::SnipeItAssets)
        } else {
            None
        }
    }
}

/// A header name as it is matched: trimmed, a bracketed suffix (` [Required]`) dropped, spaces
/// collapsed, lower-cased.
fn normalise(name: &str) -> String {
    let mut name = name.trim();
    if name.ends_with(']')
        && let Some(open) = name.rfind('[')
    {
        name = name[..open].trim_end();
    }
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

struct File<'a> {
    name: &'a str,
    header_line: u64,
    header: &'a Header,
}

impl<'a> File<'a> {
    /// Each of `columns` (alternative names of one column) must be in the header.
    fn require(&self, export: Export, columns: &[&[&str]]) -> Result<(), ExportError> {
        for names in columns {
            if self.header.find(names).is_none() {
                return Err(ExportError::MissingColumn {
                    file: self.name.to_owned(),
                    line: self.header_line,
                    export,
                    column: names.first().copied().unwrap_or_default().to_owned(),
                });
            }
        }
        Ok(())
    }

    fn line(&self, row: &'a TableRow) -> Result<Line<'a>, ExportError> {
        if row.cells.len() != self.header.cells.len() {
            return Err(ExportError::Line {
                file: self.name.to_owned(),
                line: row.line,
                reason: width_reason(row.cells.len(), self.header.cells.len()),
            });
        }
        Ok(Line {
            file: self.name,
            line: row.line,
            header: self.header,
            cells: &row.cells,
        })
    }
}

pub(crate) fn width_reason(found: usize, expected: usize) -> String {
    format!("found {found} cells where the header has {expected}")
}

/// One line of an export, its cells found by column name.
struct Line<'a> {
    file: &'a str,
    line: u64,
    header: &'a Header,
    cells: &'a [String],
}

impl Line<'_> {
    /// The first of `names` the file has, and its cell (perhaps empty).
    fn cell(&self, names: &[&str]) -> Option<(usize, &str)> {
        let at = self.header.find(names)?;
        self.cells.get(at).map(|c| (at, c.as_str()))
    }

    /// The cell's text, `None` when empty or the column is absent.
    fn text(&self, names: &[&str]) -> Option<String> {
        self.cell(names)
            .map(|(_, c)| c)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
    }

    fn fail(&self, at: usize, reason: String) -> ExportError {
        ExportError::Cell {
            file: self.file.to_owned(),
            line: self.line,
            column: self.header.cells.get(at).cloned().unwrap_or_default(),
            reason,
        }
    }

    /// The cell read by `parse`; `None` when empty or the column is absent.
    fn parse<T>(
        &self,
        names: &[&str],
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ExportError> {
        match self.cell(names) {
            Some((at, text)) if !text.is_empty() => {
                parse(text).map(Some).map_err(|r| self.fail(at, r))
            }
            _ => Ok(None),
        }
    }

    /// A cell every line must fill (the column is known to be there).
    fn required(&self, names: &[&str]) -> Result<String, ExportError> {
        match self.cell(names) {
            Some((_, text)) if !text.is_empty() => Ok(text.to_owned()),
            Some((at, _)) => Err(self.fail(at, "empty, but every line needs one".into())),
            None => Err(ExportError::Line {
                file: self.file.to_owned(),
                line: self.line,
                reason: format!("no column {:?}", names.first().unwrap_or(&"")),
            }),
        }
    }

    fn required_email(&self, names: &[&str]) -> Result<String, ExportError> {
        let text = self.required(names)?;
        let at = self.header.find(names).unwrap_or_default();
        email(&text).map_err(|r| self.fail(at, r))
    }

    fn email(&self, names: &[&str]) -> Result<Option<String>, ExportError> {
        self.parse(names, email)
    }

    fn boolean(&self, names: &[&str]) -> Result<Option<bool>, ExportError> {
        self.parse(names, boolean)
    }

    fn date_time(&self, names: &[&str]) -> Result<Option<DateTime<Utc>>, ExportError> {
        self.parse(names, |t| {
            date_time(t, true).ok_or_else(|| format!("not a date-time: {}", shown(t)))
        })
    }

    fn date(&self, names: &[&str]) -> Result<Option<NaiveDate>, ExportError> {
        self.parse(names, |t| {
            date(t, true).ok_or_else(|| format!("not a date: {}", shown(t)))
        })
    }

    fn pounds(&self, names: &[&str]) -> Result<Option<Pence>, ExportError> {
        self.parse(names, pounds)
    }
}

/// The identifiers seen so far in a file, with the line each was first on.
#[derive(Default)]
struct Ids(HashMap<String, u64>);

impl Ids {
    fn insert(&mut self, line: &Line, id: &str, names: &[&str]) -> Result<(), ExportError> {
        let column = line
            .header
            .find(names)
            .and_then(|at| line.header.cells.get(at))
            .map_or("id", String::as_str);
        match self.0.get(id) {
            Some(first) => Err(ExportError::Line {
                file: line.file.to_owned(),
                line: line.line,
                reason: format!(
                    "the same {column} as line {first}: {}; a file lists each once",
                    shown(id)
                ),
            }),
            None => {
                self.0.insert(id.to_owned(), line.line);
                Ok(())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a CSV file into lines: shared with mapped files.

/// A file's header and lines, each line with the number of the line it starts on.
pub(crate) struct Table {
    pub(crate) header_line: u64,
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<TableRow>,
}

pub(crate) struct TableRow {
    pub(crate) line: u64,
    pub(crate) cells: Vec<String>,
}

pub(crate) enum TableProblem {
    /// No header row at or after the one asked for.
    Empty,
    At {
        line: u64,
        reason: String,
    },
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `bytes` as delimited text: the header is the first line that is not blank at or after
/// line `header_row` (1-based), and the rows are the lines after it, trimmed, those whose cells
/// are all empty left out. `limit` stops after that many rows (a preview). Rows may differ in
/// width; callers decide what that means.
pub(crate) fn read_table(
    bytes: &[u8],
    delimiter: u8,
    header_row: u64,
    limit: Option<usize>,
) -> Result<Table, TableProblem> {
    let data = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if data.starts_with(b"\xFF\xFE") || data.starts_with(b"\xFE\xFF") {
        return Err(TableProblem::At {
            line: 1,
            reason: "the file is UTF-16; save it as CSV UTF-8".into(),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(data);
    let mut record = csv::ByteRecord::new();
    let mut header: Option<(u64, Vec<String>)> = None;
    let mut rows = Vec::new();
    let mut lines = LineCounter::new(data);
    loop {
        if limit.is_some_and(|n| header.is_some() && rows.len() >= n) {
            break;
        }
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = lines.line_at(e.position().map_or(0, |p| p.byte()));
                return Err(TableProblem::At {
                    line,
                    reason: format!("not readable as CSV: {e}"),
                });
            }
        }
        let line = lines.line_at(record.position().map_or(0, |p| p.byte()));
        if line < header_row {
            continue;
        }
        let mut cells = Vec::with_capacity(record.len());
        for field in record.iter() {
            match std::str::from_utf8(field) {
                Ok(text) => cells.push(text.trim().to_owned()),
                Err(_) => {
                    return Err(TableProblem::At {
                        line,
                        reason: "not UTF-8 text; save the file as CSV UTF-8".into(),
                    });
                }
            }
        }
        if cells.iter().all(String::is_empty) {
            continue;
        }
        if header.is_none() {
            header = Some((line, cells));
        } else {
            rows.push(TableRow { line, cells });
        }
    }
    let (header_line, header) = header.ok_or(TableProblem::Empty)?;
    Ok(Table {
        header_line,
        header,
        rows,
    })
}

/// Line numbers of records, counted from the bytes: the csv reader's own count leaves out line
/// breaks inside quoted cells and blank lines.
struct LineCounter<'a> {
    data: &'a [u8],
    /// Bytes before this offset are counted.
    counted: usize,
    /// The line `counted` is on.
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(data: &'a [u8]) -> Self {
        LineCounter {
            data,
            counted: 0,
            line: 1,
        }
    }

    /// The line of the record the reader began at `offset` (which may be on the line break or
    /// blank lines before it). Offsets only grow.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        while matches!(self.data.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let from = self.counted.min(start);
        for (i, byte) in self.data[from..start].iter().enumerate() {
            let at = from + i;
            let breaks =
                *byte == b'\n' || (*byte == b'\r' && self.data.get(at + 1) != Some(&b'\n'));
            if breaks {
                self.line += 1;
            }
        }
        self.counted = self.counted.max(start);
        self.line
    }
}

// ---------------------------------------------------------------------------------------------
// Cells: shared with mapped files.

/// A value as an error shows it: quoted, escaped, cut short past 60 characters.
pub(crate) fn shown(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut:?}…")
    } else {
        format!("{text:?}")
    }
}

/// An e-mail address, lower-cased.
pub(crate) fn email(text: &str) -> Result<String, String> {
    let lower = text.to_lowercase();
    if is_email(&lower) {
        Ok(lower)
    } else {
        Err(format!("not an e-mail address: {}", shown(text)))
    }
}

fn is_email(text: &str) -> bool {
    Value::parse(FieldType::Email, text).is_ok_and(|v| !v.is_null())
}

/// `true`/`false`/`yes`/`no` in any case.
pub(crate) fn boolean(text: &str) -> Result<bool, String> {
    match text.to_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(format!("not true/false or yes/no: {}", shown(text))),
    }
}

/// An amount in pounds: `899`, `899.5`, `£1,299.00`.
pub(crate) fn pounds(text: &str) -> Result<Pence, String> {
    let bare = text.strip_prefix('£').unwrap_or(text).trim_start();
    ungroup(bare)
        .and_then(|t| t.parse::<Pence>().ok())
        .ok_or_else(|| format!("not an amount in pounds: {}", shown(text)))
}

/// A number with its thousands commas taken out, if it has any; `None` if they are misplaced
/// (`1,23`, which may be a decimal comma).
pub(crate) fn ungroup(text: &str) -> Option<Cow<'_, str>> {
    if !text.contains(',') {
        return Some(Cow::Borrowed(text));
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let mut groups = whole.split(',');
    let first = groups.next().unwrap_or_default();
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if first.is_empty() || first.len() > 3 || !digits(first) {
        return None;
    }
    let mut out = first.to_owned();
    for group in groups {
        if group.len() != 3 || !digits(group) {
            return None;
        }
        out.push_str(group);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    Some(Cow::Owned(out))
}

/// A date-time: ISO 8601, year/month/day with slashes, or — when `us` — month/day/year, with an
/// optional time (`13:25`, `1:25:31 PM`, fractions of a second) and zone (`Z`, `+01:00`). A date
/// alone is midnight; a time without a zone is UTC.
pub(crate) fn date_time(text: &str, us: bool) -> Option<DateTime<Utc>> {
    let (date_part, time_part) = split_date_time(text.trim());
    let date = calendar_date(date_part, us)?;
    let (time, offset) = match time_part {
        Some(t) => time_of_day(t)?,
        None => (NaiveTime::MIN, None),
    };
    let local = date.and_time(time);
    let at = match offset {
        None => Utc.from_utc_datetime(&local),
        Some(seconds) => FixedOffset::east_opt(seconds)?
            .from_local_datetime(&local)
            .single()?
            .with_timezone(&Utc),
    };
    let at = at.trunc_subsecs(6);
    use chrono::Datelike as _;
    (1..=9999).contains(&at.year()).then_some(at)
}

/// A date, as [`date_time`] reads one; a time after it is allowed (and must be a time) but
/// dropped: the date is the one written.
pub(crate) fn date(text: &str, us: bool) -> Option<NaiveDate> {
    let (date_part, time_part) = split_date_time(text.trim());
    let date = calendar_date(date_part, us)?;
    if let Some(t) = time_part {
        time_of_day(t)?;
    }
    Some(date)
}

/// The date and, after a `T` or a space, the rest.
fn split_date_time(text: &str) -> (&str, Option<&str>) {
    match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some(text[at + 1..].trim())),
        None => (text, None),
    }
}

/// Digits of a length in `min..=max`, as a number.
fn number(text: &str, min: usize, max: usize) -> Option<u32> {
    let ok = (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    if ok { text.parse().ok() } else { None }
}

fn calendar_date(text: &str, us: bool) -> Option<NaiveDate> {
    let dashes: Vec<&str> = text.split('-').collect();
    let slashes: Vec<&str> = text.split('/').collect();
    let (year, month, day) = match (dashes.as_slice(), slashes.as_slice()) {
        ([y, m, d], _) => (number(y, 4, 4)?, number(m, 1, 2)?, number(d, 1, 2)?),
        (_, [y, m, d]) if y.len() == 4 => (number(y, 4, 4)?, number(m, 1, 2)?, number(d, 1, 2)?),
        (_, [m, d, y]) if us => {
            let year = match y.len() {
                2 => {
                    let yy = number(y, 2, 2)?;
                    if yy < 69 { 2000 + yy } else { 1900 + yy }
                }
                _ => number(y, 4, 4)?,
            };
            (year, number(m, 1, 2)?, number(d, 1, 2)?)
        }
        _ => return None,
    };
    if year == 0 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// `H:MM[:SS[.fraction]]`, then `AM`/`PM` and a zone, each optional; the zone as seconds east.
fn time_of_day(text: &str) -> Option<(NaiveTime, Option<i32>)> {
    let mut rest = text.trim();
    let mut offset = None;
    if let Some(before) = rest.strip_suffix(['Z', 'z']) {
        rest = before.trim_end();
        offset = Some(0);
    } else if let Some(at) = rest.rfind(['+', '-']) {
        let sign = if rest[at..].starts_with('-') { -1 } else { 1 };
        let zone = &rest[at + 1..];
        let (hours, minutes) = match zone.split_once(':') {
            Some((h, m)) => (number(h, 2, 2)?, number(m, 2, 2)?),
            None if zone.len() == 4 => {
                (number(zone.get(..2)?, 2, 2)?, number(zone.get(2..)?, 2, 2)?)
            }
            None => (number(zone, 2, 2)?, 0),
        };
        if hours > 23 || minutes > 59 {
            return None;
        }
        offset = Some(sign * i32::try_from(hours * 3600 + minutes * 60).ok()?);
        rest = rest[..at].trim_end();
    }
    let lower = rest.to_ascii_lowercase();
    let half = if lower.ends_with("am") {
        Some(false)
    } else if lower.ends_with("pm") {
        Some(true)
    } else {
        None
    };
    if half.is_some() {
        rest = rest.get(..rest.len() - 2)?.trim_end();
    }
    let parts: Vec<&str> = rest.split(':').collect();
    let (hour, minute, second) = match parts.as_slice() {
        [h, m] => (*h, *m, None),
        [h, m, s] => (*h, *m, Some(*s)),
        _ => return None,
    };
    let mut hour = number(hour, 1, 2)?;
    let minute = number(minute, 2, 2)?;
    let (second, nanos) = match second {
        None => (0, 0),
        Some(s) => match s.split_once('.') {
            None => (number(s, 2, 2)?, 0),
            Some((whole, fraction)) => {
                if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let nine: String = fraction
                    .chars()
                    .chain(std::iter::repeat('0'))
                    .take(9)
                    .collect();
                (number(whole, 2, 2)?, nine.parse().ok()?)
            }
        },
    };
    if let Some(pm) = half {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some((time, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> String {
        date_time(text, true).map_or_else(|| "none".into(), |t| t.to_rfc3339())
    }

    #[test]
    fn date_times_in_the_portals_spellings() {
        for (text, expected) in [
            ("8/19/2021 1:25:31 PM", "2021-08-19T13:25:31+00:00"),
            ("8/19/2021 12:05:00 AM", "2021-08-19T00:05:00+00:00"),
            ("12/1/2021 12:00 pm", "2021-12-01T12:00:00+00:00"),
            ("2019/07/11 15:36:14", "2019-07-11T15:36:14+00:00"),
            ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00+00:00"),
            ("2024-05-01T11:00:00+01:00", "2024-05-01T10:00:00+00:00"),
            (
                "2024-05-01 10:00:00.1234567",
                "2024-05-01T10:00:00.123456+00:00",
            ),
            ("2024-05-01T10:00:00-0130", "2024-05-01T11:30:00+00:00"),
            ("1/23/23", "2023-01-23T00:00:00+00:00"),
            ("10/27/99", "1999-10-27T00:00:00+00:00"),
            ("2024-05-01", "2024-05-01T00:00:00+00:00"),
        ] {
            assert_eq!(at(text), expected, "{text}");
        }
        for text in [
            "31/13/2024",
            "13/1/2024",
            "2/30/2024",
            "8/19/2021 13:25 PM",
            "8/19/2021 0:25 AM",
            "8/19/2021 25:00",
            "8/19/21x",
            "1/23/123",
            "0000-01-01",
            "2024-05-01T10:00:00+24:00",
            "2024-05-01T",
            "yesterday",
            "",
        ] {
            assert_eq!(at(text), "none", "{text}");
        }
        assert_eq!(date_time("8/19/2021", false), None, "US only when asked");
    }

    #[test]
    fn amounts_with_pounds_signs_and_thousands() {
        for (text, pence) in [
            ("899", 89900),
            ("£1,299.00", 129900),
            ("1,234,567.5", 123456750),
            ("£ 12.50", 1250),
        ] {
            assert_eq!(pounds(text), Ok(Pence(pence)), "{text}");
        }
        for text in ["1,23", "12.345", "-5", "£", "1,2345.00", ",123", "12 GBP"] {
            assert!(pounds(text).is_err(), "{text}");
        }
    }

    #[test]
    fn kinds_from_categories_and_systems() {
        for (category, kind) in [
            ("Laptops", Some(AssetKind::Laptop)),
            ("Desktops", Some(AssetKind::Laptop)),
            ("Mobile Phones", Some(AssetKind::Smartphone)),
            ("Desk Phones", Some(AssetKind::VoicePhone)),
            ("Tablets", Some(AssetKind::Tablet)),
            ("SIM cards", Some(AssetKind::Sim)),
            ("USB Sticks", Some(AssetKind::UsbStick)),
            ("Monitors", Some(AssetKind::Peripheral)),
            ("Accessories", Some(AssetKind::Accessory)),
            ("Ornamental Railings", None),
            ("Misc", None),
        ] {
            assert_eq!(category_kind(category), kind, "{category}");
        }
        assert_eq!(
            device_kind(Some("iOS"), Some("iPad Air")),
            Some(AssetKind::Tablet)
        );
        assert_eq!(
            device_kind(Some("Android"), Some("Galaxy Tab S9")),
            Some(AssetKind::Tablet)
        );
        assert_eq!(device_kind(Some("Linux"), None), None);
    }

    #[test]
    fn header_names_are_matched_loosely() {
        assert_eq!(normalise("  Email Address [Required] "), "email address");
        assert_eq!(
            normalise("Recovery Phone [MUST BE IN THE E.164 FORMAT]"),
            "recovery phone"
        );
        assert_eq!(normalise("Checked Out  To: Email"), "checked out to: email");
        assert_eq!(normalise("[x]"), "");
    }
}
