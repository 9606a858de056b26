//! Source records: what a connector read, in one shape whatever the source, before it is matched
//! to the registers. Every field a source may not know is an `Option`: `None` means "this source
//! does not say", never "empty", so a sync never clears a field its source is silent about.

use chrono::{DateTime, NaiveDate, Utc};
use steward_model::{AssetKind, Country, Ownership, Pence};

/// One kind of fact a connector lists, each fetched, skipped or failed on its own (a tenant
/// without the licence for sign-in logs still syncs its users and devices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feed {
    People,
    Accounts,
    Devices,
    Sightings,
    Usage,
}

impl Feed {
    pub const ALL: [Feed; 5] = [
        Feed::People,
        Feed::Accounts,
        Feed::Devices,
        Feed::Sightings,
        Feed::Usage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Feed::People => "people",
            Feed::Accounts => "accounts",
            Feed::Devices => "devices",
            Feed::Sightings => "sightings",
            Feed::Usage => "usage",
        }
    }
}

/// A feed the source refused or does not offer, and why, in words for the connector's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFeed {
    pub feed: Feed,
    pub reason: String,
}

/// A feed's result, or `None` with the source's reason noted when it refused the feed (403: a
/// licence or permission missing) — the rest of the sync goes on without it.
pub(crate) fn unless_refused<T>(
    result: Result<T, crate::ConnectError>,
    feed: Feed,
    skipped: &mut Vec<SkippedFeed>,
) -> Result<Option<T>, crate::ConnectError> {
    match result {
        Ok(found) => Ok(Some(found)),
        Err(crate::ConnectError::Forbidden { reason, .. }) => {
            skipped.push(SkippedFeed { feed, reason });
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// What `connect test` says of one read: that `what` can be read, or why not when the source
/// refused it; any other failure stops the test.
pub(crate) fn readable<T>(
    what: &str,
    result: Result<T, crate::ConnectError>,
) -> Result<String, crate::ConnectError> {
    match result {
        Ok(_) => Ok(format!("{what} can be read")),
        Err(crate::ConnectError::Forbidden { reason, .. }) => {
            Ok(format!("{what} cannot be read: {reason}"))
        }
        Err(e) => Err(e),
    }
}

/// Everything one run read from one source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    pub people: Vec<SourcePerson>,
    pub accounts: Vec<SourceAccount>,
    pub devices: Vec<SourceDevice>,
    pub sightings: Vec<SourceSighting>,
    pub usage: Vec<SourceUsage>,
    /// Feeds listed in full: only a record absent from a complete listing is missing from its
    /// source. An incremental (delta) run lists changes only and names no feed here.
    pub complete: Vec<Feed>,
    /// Feeds read by their changes since the last run alone (Graph's delta query): a record they
    /// do not name is as it was.
    pub changes_only: Vec<Feed>,
    /// Records the source says were removed since the last run (a delta's `@removed`), by feed
    /// and the source's id: missing from it, as a complete listing's absentees are.
    pub removed: Vec<(Feed, String)>,
    /// Facts about accounts a run of changes read whole but did not list, their users being
    /// unchanged: MFA and admin rights from the reports that have no delta. Offered to an account
    /// Steward already knows, by its link or login; they never create one, and say nothing of
    /// whether it is still at the source.
    pub account_facts: Vec<SourceAccount>,
    pub skipped: Vec<SkippedFeed>,
}

/// A person as the directory or HR system knows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourcePerson {
    /// The source's own identifier (Entra object id, Google user id, HR employee number).
    pub source_id: String,
    /// The primary work address (UPN or primary e-mail), matched case-insensitively.
    pub email: Option<String>,
    /// Other addresses that reach the same person (proxy addresses, aliases).
    pub aliases: Vec<String>,
    pub name: Option<String>,
    pub employee_id: Option<String>,
    /// The staff group, already in a pack's words (`fca`, `business-services`) where the source
    /// or profile says so; a department name otherwise, mapped by the organisation's settings.
    pub staff_group: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    /// The manager's work address, or their source id when only that is known.
    pub manager_email: Option<String>,
    pub manager_source_id: Option<String>,
    /// The source says who the manager is, or that there is none: with neither field above,
    /// a manager recorded earlier is taken away (where this source keeps managers). `false`
    /// where the source says nothing of managers (a file without the column, a round of
    /// changes that does not touch them).
    pub manager_stated: bool,
    pub start_date: Option<NaiveDate>,
    pub leave_date: Option<NaiveDate>,
    /// The account or employment is live (`false`: disabled, suspended, archived, left).
    pub active: Option<bool>,
}

/// An account at the source's system (the Microsoft 365 or Google account itself).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceAccount {
    pub source_id: String,
    /// The sign-in name at the system: UPN or primary e-mail.
    pub login: String,
    /// The person it belongs to, by work address (usually the login itself).
    pub person_email: Option<String>,
    pub enabled: Option<bool>,
    pub admin: Option<bool>,
    pub mfa: Option<bool>,
    pub last_login: Option<DateTime<Utc>>,
    /// A service or shared account rather than a person's.
    pub service: Option<bool>,
}

/// A device as the device manager or asset system knows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceDevice {
    pub source_id: String,
    /// The asset tag, where the source keeps one (Snipe-IT, Jamf's asset tag field).
    pub asset_tag: Option<String>,
    pub name: Option<String>,
    pub serial: Option<String>,
    pub imei: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    /// The operating system's name as the source spells it (`Windows`, `iOS`, `macOS`).
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub kind: Option<AssetKind>,
    pub ownership: Option<Ownership>,
    /// The holder's work address (Intune's primary user UPN, Jamf's user e-mail).
    pub holder_email: Option<String>,
    pub encrypted: Option<bool>,
    /// The device manager's verdict in its own word (`compliant`, `noncompliant`, …).
    pub compliance_state: Option<String>,
    pub last_seen: Option<DateTime<Utc>>,
    pub phone_number: Option<String>,
    /// The directory's device id (Entra's `azureADDeviceId`).
    pub directory_id: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    pub cost: Option<Pence>,
    /// Retired, lost, stolen or archived at the source.
    pub retired: Option<bool>,
}

/// An account or a device seen somewhere (a sign-in), and in which country.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSighting {
    pub seen_at: DateTime<Utc>,
    pub country: Country,
    /// The account's login, for a sign-in.
    pub login: Option<String>,
    /// The device's serial number or the source's device id, when the source names the device.
    pub device_serial: Option<String>,
    pub device_source_id: Option<String>,
}

/// One line's use in one month, from the mobile network's bill.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceUsage {
    /// `YYYY-MM`.
    pub month: String,
    /// How the bill names the line: an asset tag, a phone number or an IMEI/ICCID.
    pub asset_tag: Option<String>,
    pub phone_number: Option<String>,
    pub imei: Option<String>,
    pub data_mb: Option<i64>,
    pub roaming_mb: Option<i64>,
    pub voice_minutes: Option<i64>,
    pub texts: Option<i64>,
    pub private_cost: Option<Pence>,
}
