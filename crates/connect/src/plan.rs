//! What a listing changes: its records matched to the registers, and the rows to write. Pure —
//! the caller hands in the registers as they stand and the decisions people made about
//! unmatched records, and applies the plan through the service.
//!
//! - **Matching**: people by e-mail address (case-insensitive, with the source's aliases and
//!   proxy addresses), then by id; accounts by system and login, then by being the person's one
//!   account on that system; devices by normalised serial number, then IMEI, then asset tag.
//!   A link remembered from an earlier run, or decided by a person, comes first.
//! - **Ownership**: a connector overwrites only the fields it owns; any other field it fills only
//!   when empty (and on the records it creates).
//! - **Missing**: a record this connector keeps that a complete listing lacks, or that a listing
//!   of changes says was removed, is marked `missing_since` (never deleted); one that comes back
//!   has it cleared. A listing of changes says nothing of the records it does not name.
//! - **Last seen**: `source_seen` is written when something else changes or once a day, so
//!   that an hourly sync of an unchanged tenant writes nothing.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use steward_model::{AccountKind, AssetKind, Register, Row, SourcedFields, Value};

use crate::settings::{Definition, Kind};
use crate::{Feed, Listing, SourceAccount, SourceDevice, SourcePerson};

/// The registers a sync may touch, as they stand.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub people: Vec<Row>,
    pub accounts: Vec<Row>,
    pub assets: Vec<Row>,
    pub systems: Vec<Row>,
    /// The keys of the sightings already registered.
    pub sightings: HashSet<String>,
    /// The usage lines already registered (only read when a listing has usage).
    pub usage: Vec<Row>,
}

/// A person's decision about a source record, or a link remembered from an earlier run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub feed: String,
    pub source_id: String,
    /// The register record it is; `None` with `ignored`: left out of every sync.
    pub record_id: Option<String>,
    pub ignored: bool,
}

/// One field's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// A field's name: the register's own, not a copy per change.
    pub field: Cow<'static, str>,
    pub from: String,
    pub to: String,
}

/// One record's change, as the preview shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordChange {
    pub register: Cow<'static, str>,
    pub id: String,
    /// `created`, `updated`, `missing` or `back`.
    pub action: Cow<'static, str>,
    pub fields: Vec<FieldChange>,
}

/// A source record Steward could not place, for a person to resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmatched {
    pub feed: String,
    pub source_id: String,
    /// How the source names it (a login, a device's name and serial).
    pub label: String,
    pub reason: String,
}

/// Everything one sync would do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub connector: String,
    pub made_at: Option<DateTime<Utc>>,
    pub changes: Vec<RecordChange>,
    pub unmatched: Vec<Unmatched>,
    /// Feeds skipped (a licence or permission missing) and why.
    pub skipped: Vec<(String, String)>,
    /// Feeds read by their changes since the last sync alone (Graph's delta query), by name.
    #[serde(default)]
    pub changes_only: Vec<String>,
    /// Links learnt by matching, to remember: (feed, source id, record id).
    pub links: Vec<(String, String, String)>,
    /// Fields this sync set, for provenance, record by record (applied with the rows).
    #[serde(skip)]
    pub provenance: Vec<SourcedFields>,
    /// Why this sync must be previewed before it is applied; empty: it may be applied.
    pub hold: Vec<String>,
    /// The rows to commit, whole (the store writes only what differs).
    #[serde(skip)]
    pub rows: Vec<Row>,
    pub counts: Counts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub listed: usize,
    pub created: usize,
    pub updated: usize,
    pub missing: usize,
    pub back: usize,
    pub unchanged: usize,
    pub sightings: usize,
    /// Sign-ins of no account and no device Steward knows (a guest, a deleted account).
    pub sightings_unplaced: usize,
    /// Sign-ins in the home country: read for last logins, not kept as sightings.
    pub sightings_home: usize,
    /// Usage lines written.
    pub usage: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The plan as kept for a page: its counts, holds and skipped feeds whole, at most `changes`
    /// changes of each action and `unmatched` records to resolve (a first sync creates tens of
    /// thousands; `connect preview` lists every one).
    pub fn trimmed(&self, changes: usize, unmatched: usize) -> Plan {
        let mut kept: Vec<RecordChange> = Vec::new();
        let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
        for change in &self.changes {
            let n = taken.entry(change.action.as_ref()).or_insert(0);
            if *n < changes {
                *n += 1;
                kept.push(change.clone());
            }
        }
        Plan {
            connector: self.connector.clone(),
            made_at: self.made_at,
            changes: kept,
            unmatched: self.unmatched.iter().take(unmatched).cloned().collect(),
            skipped: self.skipped.clone(),
            changes_only: self.changes_only.clone(),
            hold: self.hold.clone(),
            counts: self.counts,
            ..Plan::default()
        }
    }

    /// The preview as text: one line per change, then what needs a person.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let c = &self.counts;
        out.push_str(&format!(
            "{}: {} listed; {} to create, {} to update, {} missing from the source, {} back, {} unchanged; {} new sightings, {} usage lines\n",
            self.connector, c.listed, c.created, c.updated, c.missing, c.back, c.unchanged, c.sightings, c.usage
        ));
        if !self.changes_only.is_empty() {
            out.push_str(&format!(
                "{}: only the changes since the last sync were read\n",
                self.changes_only.join(", ")
            ));
        }
        if c.sightings_unplaced > 0 {
            out.push_str(&format!(
                "{} sign-ins were of no account or device Steward knows\n",
                c.sightings_unplaced
            ));
        }
        for change in &self.changes {
            out.push_str(&format!(
                "{} {} {}\n",
                change.action, change.register, change.id
            ));
            for f in &change.fields {
                out.push_str(&format!(
                    "    {}: {} -> {}\n",
                    f.field,
                    shown(&f.from),
                    shown(&f.to)
                ));
            }
        }
        for u in &self.unmatched {
            out.push_str(&format!(
                "unmatched {} {} ({}): {}\n",
                u.feed, u.source_id, u.label, u.reason
            ));
        }
        for (feed, reason) in &self.skipped {
            out.push_str(&format!("skipped {feed}: {reason}\n"));
        }
        for reason in &self.hold {
            out.push_str(&format!("needs a preview: {reason}\n"));
        }
        out
    }
}

fn shown(text: &str) -> &str {
    if text.is_empty() { "(empty)" } else { text }
}

/// The fields a connector of each kind owns by default, by register (a connector's `owns`
/// setting replaces them: [`Definition::owns`]).
pub fn owned(kind: Kind, register: Register) -> &'static [&'static str] {
    match (kind, register) {
        (Kind::Microsoft365 | Kind::GoogleWorkspace, Register::People) => &["name", "email"],
        (Kind::Microsoft365 | Kind::GoogleWorkspace, Register::Accounts) => &[
            "status",
            "mfa",
            "admin_rights",
            "last_login",
            "login",
            "source_id",
        ],
        (Kind::Microsoft365 | Kind::GoogleWorkspace | Kind::Jamf, Register::Assets) => &[
            "encrypted",
            "os_version",
            "compliance_state",
            "last_seen",
            "imei",
            "azure_device_id",
            "source_id",
        ],
        (Kind::SnipeIt, Register::Assets) => {
            &["model", "serial", "cost_gbp", "assigned_to", "source_id"]
        }
        (Kind::Csv, Register::People) => &[
            "name",
            "staff_group",
            "job_title",
            "manager_id",
            "start_date",
            "leave_date",
            "status",
        ],
        (Kind::Csv, Register::Accounts) => &["status", "mfa", "admin_rights", "last_login"],
        (Kind::Csv, Register::Assets) => &["encrypted", "os_version", "last_seen"],
        _ => &[],
    }
}

/// Serial numbers compared without case, spaces or dashes.
pub fn normalise_serial(serial: &str) -> String {
    serial
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn text_of(row: &Row, field: &str) -> String {
    row.get(field).map(Value::to_text).unwrap_or_default()
}

/// A record being changed by the plan: the row, the stored one it was (none: created), and
/// which fields the plan set.
struct Editing<'a> {
    row: Row,
    before: Option<&'a Row>,
    set: Vec<&'static str>,
}

struct Planner<'a> {
    definition: &'a Definition,
    now: DateTime<Utc>,
    rows: BTreeMap<(Register, String), Editing<'a>>,
    current: HashMap<(Register, String), &'a Row>,
    plan: Plan,
}

impl<'a> Planner<'a> {
    /// The row to edit: one already in the plan, or the stored one.
    fn edit(&mut self, register: Register, id: &str) -> Option<&mut Editing<'a>> {
        let key = (register, id.to_owned());
        if !self.rows.contains_key(&key) {
            let stored: &'a Row = self.current.get(&key)?;
            self.rows.insert(
                key.clone(),
                Editing {
                    row: stored.clone(),
                    before: Some(stored),
                    set: Vec::new(),
                },
            );
        }
        self.rows.get_mut(&key)
    }

    fn create(&mut self, row: Row) {
        let key = (row.register(), row.id().to_owned());
        self.rows.insert(
            key,
            Editing {
                row,
                before: None,
                set: Vec::new(),
            },
        );
    }

    /// Sets `field` from the source: always when this connector owns it (or created the
    /// record), only when empty otherwise. A value the field refuses is noted, not written.
    fn offer(&mut self, register: Register, id: &str, field: &'static str, text: Option<String>) {
        let Some(text) = text else { return };
        let owns = self.definition.owns(register, field);
        let Some(spec) = register.field(field) else {
            return;
        };
        let value = match spec.parse(&text) {
            Ok(v) => v,
            Err(reason) => {
                self.plan.unmatched.push(Unmatched {
                    feed: register.name().into(),
                    source_id: id.into(),
                    label: format!("{field} {text:?}"),
                    reason: format!("value not taken: {reason}"),
                });
                return;
            }
        };
        let Some(editing) = self.edit(register, id) else {
            return;
        };
        let current = editing.row.get(field).cloned().unwrap_or(Value::Null);
        let mine = editing.before.is_none() || owns;
        if current == value || (!mine && !current.is_null()) {
            return;
        }
        editing.row.set(field, value);
        editing.set.push(field);
    }

    /// Takes away a value the source says is no longer there (a manager removed), where this
    /// connector keeps the field; another source's or a person's value is left as it is.
    fn clear(&mut self, register: Register, id: &str, field: &'static str) {
        if !self.definition.owns(register, field) {
            return;
        }
        let Some(editing) = self.edit(register, id) else {
            return;
        };
        if editing.row.get(field).is_none_or(Value::is_null) {
            return;
        }
        editing.row.set(field, Value::Null);
        editing.set.push(field);
    }

    fn mark_seen(&mut self, register: Register, id: &str) {
        let now = self.now;
        let name = self.definition.name.clone();
        let Some(editing) = self.edit(register, id) else {
            return;
        };
        let source = text_of(&editing.row, "source");
        if source.is_empty() {
            editing.row.set("source", Value::Text(name.clone()));
        } else if source != name {
            // Kept by another connector: its own listing says whether it is missing.
            return;
        }
        if editing
            .row
            .get("missing_since")
            .is_some_and(|v| !v.is_null())
        {
            editing.row.set("missing_since", Value::Null);
        }
        if seen_long_ago(editing.row.get("source_seen"), now) || !editing.set.is_empty() {
            editing.row.set("source_seen", Value::Timestamp(now));
        }
    }
}

/// Whether a record's "last seen there" is a day old or more (or unknown): the day's bookkeeping
/// is then due.
fn seen_long_ago(source_seen: Option<&Value>, now: DateTime<Utc>) -> bool {
    match source_seen {
        Some(Value::Timestamp(t)) => now.signed_duration_since(*t) >= chrono::Duration::days(1),
        _ => true,
    }
}

/// Matches `listing` against `current` and says what a sync would change.
pub fn plan(
    definition: &Definition,
    listing: &Listing,
    current: &Current,
    links: &[Link],
    first_sync: bool,
    now: DateTime<Utc>,
) -> Plan {
    let mut index: HashMap<(Register, String), &Row> = HashMap::new();
    for (register, rows) in [
        (Register::People, &current.people),
        (Register::Accounts, &current.accounts),
        (Register::Assets, &current.assets),
        (Register::Systems, &current.systems),
    ] {
        for row in rows.iter() {
            index.insert((register, row.id().to_owned()), row);
        }
    }
    let mut p = Planner {
        definition,
        now,
        rows: BTreeMap::new(),
        current: index,
        plan: Plan {
            connector: definition.name.clone(),
            made_at: Some(now),
            skipped: listing
                .skipped
                .iter()
                .map(|s| (s.feed.name().to_owned(), s.reason.clone()))
                .collect(),
            changes_only: listing
                .changes_only
                .iter()
                .map(|f| f.name().to_owned())
                .collect(),
            ..Plan::default()
        },
    };
    let linked: HashMap<(&str, &str), &Link> = links
        .iter()
        .map(|l| ((l.feed.as_str(), l.source_id.as_str()), l))
        .collect();

    // People by address.
    let mut by_email: HashMap<String, String> = HashMap::new();
    for row in &current.people {
        let email = text_of(row, "email").to_lowercase();
        if !email.is_empty() {
            by_email.insert(email, row.id().to_owned());
        }
    }
    let mut people_seen: HashSet<String> = HashSet::new();
    let mut source_person: HashMap<String, String> = HashMap::new();
    for person in &listing.people {
        p.plan.counts.listed += 1;
        if let Some(id) = place_person(&mut p, person, &linked, &mut by_email) {
            source_person.insert(person.source_id.clone(), id.clone());
            people_seen.insert(id);
        }
    }
    // Managers, now that every listed person has an id.
    for person in &listing.people {
        let Some(id) = source_person.get(&person.source_id) else {
            continue;
        };
        // A manager the listing does not carry (a round of changes names them by id alone) is
        // the person linked to that id by an earlier sync.
        let manager = person
            .manager_source_id
            .as_ref()
            .and_then(|m| {
                source_person.get(m).cloned().or_else(|| {
                    linked
                        .get(&(Feed::People.name(), m.as_str()))
                        .and_then(|l| l.record_id.clone())
                        .filter(|id| p.current.contains_key(&(Register::People, id.clone())))
                })
            })
            .or_else(|| {
                person
                    .manager_email
                    .as_ref()
                    .and_then(|m| by_email.get(&m.to_lowercase()).cloned())
            });
        let no_manager = person.manager_stated
            && person.manager_source_id.is_none()
            && person.manager_email.is_none();
        if no_manager {
            p.clear(Register::People, id, "manager_id");
        } else if manager.as_deref() != Some(id.as_str()) {
            p.offer(Register::People, id, "manager_id", manager);
        }
    }

    // Accounts by system and login.
    let system = definition
        .get("system")
        .unwrap_or_else(|| definition.name.clone());
    let mut accounts_seen: HashSet<String> = HashSet::new();
    let mut by_login: HashMap<String, String> = HashMap::new();
    for row in &current.accounts {
        let login = text_of(row, "login").to_lowercase();
        if !login.is_empty() && text_of(row, "system") == system {
            by_login.insert(login, row.id().to_owned());
        }
    }
    if !listing.accounts.is_empty() && !p.current.contains_key(&(Register::Systems, system.clone()))
    {
        let mut row = empty(Register::Systems);
        row.set("name", Value::Text(system.clone()));
        row.set("supports_mfa", Value::Bool(true));
        p.create(row);
    }
    // The latest sign-in of each login: an account's last login, whatever the directory says.
    let mut latest: HashMap<String, DateTime<Utc>> = HashMap::new();
    for s in &listing.sightings {
        if let Some(login) = &s.login {
            let at = latest.entry(login.to_lowercase()).or_insert(s.seen_at);
            *at = (*at).max(s.seen_at);
        }
    }
    for account in &listing.accounts {
        p.plan.counts.listed += 1;
        let signed_in = latest.get(&account.login.to_lowercase()).copied();
        let account = &SourceAccount {
            last_login: account.last_login.max(signed_in),
            ..account.clone()
        };
        if let Some(id) = place_account(&mut p, account, &system, &linked, &mut by_login, &by_email)
        {
            accounts_seen.insert(id);
        }
    }

    // Facts about accounts a round of changes read but did not list (MFA and admin rights from
    // the reports read whole): offered to an account already known by its link or login; never
    // one created, none marked seen (they say nothing of whether it is still there).
    for fact in &listing.account_facts {
        let link = linked.get(&(Feed::Accounts.name(), fact.source_id.as_str()));
        if link.is_some_and(|l| l.ignored) {
            continue;
        }
        let known = link
            .and_then(|l| l.record_id.clone())
            .filter(|id| p.current.contains_key(&(Register::Accounts, id.clone())))
            .or_else(|| {
                let login = fact.login.to_lowercase();
                (!login.is_empty())
                    .then(|| by_login.get(&login).cloned())
                    .flatten()
            });
        let Some(id) = known.filter(|id| !accounts_seen.contains(id)) else {
            continue;
        };
        p.offer(
            Register::Accounts,
            &id,
            "mfa",
            fact.mfa.map(|b| b.to_string()),
        );
        p.offer(
            Register::Accounts,
            &id,
            "admin_rights",
            fact.admin.map(|b| b.to_string()),
        );
    }

    // A run of the sign-in logs alone: the latest sign-in of an account it did not list is still
    // its last login.
    let listed: HashSet<String> = listing
        .accounts
        .iter()
        .map(|a| a.login.to_lowercase())
        .collect();
    for (login, at) in &latest {
        if listed.contains(login) {
            continue;
        }
        let Some(id) = by_login.get(login).cloned() else {
            continue;
        };
        let later = p
            .current
            .get(&(Register::Accounts, id.clone()))
            .is_some_and(|row| match row.get("last_login") {
                Some(Value::Timestamp(t)) => t < at,
                _ => true,
            });
        if later {
            p.offer(
                Register::Accounts,
                &id,
                "last_login",
                Some(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            );
        }
    }

    // Devices by serial, IMEI, tag.
    let mut by_serial: HashMap<String, String> = HashMap::new();
    let mut by_imei: HashMap<String, String> = HashMap::new();
    let mut by_directory: HashMap<String, String> = HashMap::new();
    for row in &current.assets {
        let serial = normalise_serial(&text_of(row, "serial"));
        if !serial.is_empty() {
            by_serial.insert(serial, row.id().to_owned());
        }
        let imei = normalise_serial(&text_of(row, "imei"));
        if !imei.is_empty() {
            by_imei.insert(imei, row.id().to_owned());
        }
        let directory = text_of(row, "azure_device_id").to_lowercase();
        if !directory.is_empty() {
            by_directory.insert(directory, row.id().to_owned());
        }
    }
    let mut devices_seen: HashSet<String> = HashSet::new();
    for device in &listing.devices {
        p.plan.counts.listed += 1;
        if let Some(tag) =
            place_device(&mut p, device, &linked, &mut by_serial, &by_imei, &by_email)
        {
            if let Some(d) = &device.directory_id {
                by_directory.insert(d.to_lowercase(), tag.clone());
            }
            devices_seen.insert(tag);
        }
    }

    // Sightings: new ones only (a sighting is an event, never updated), and only from abroad:
    // a sign-in at home is a last login, not something any clause asks to keep.
    let home = definition
        .get("home_country")
        .unwrap_or_else(|| "GB".into());
    for s in &listing.sightings {
        if s.country.as_str() == home {
            p.plan.counts.sightings_home += 1;
            continue;
        }
        let account = s
            .login
            .as_ref()
            .and_then(|l| by_login.get(&l.to_lowercase()).cloned());
        let asset = s
            .device_source_id
            .as_ref()
            .and_then(|d| by_directory.get(&d.to_lowercase()).cloned())
            .or_else(|| {
                s.device_serial
                    .as_ref()
                    .and_then(|d| by_serial.get(&normalise_serial(d)).cloned())
            });
        if account.is_none() && asset.is_none() {
            p.plan.counts.sightings_unplaced += 1;
            continue;
        }
        let mut row = empty(Register::Sightings);
        row.set("asset_tag", asset.map_or(Value::Null, Value::Text));
        row.set("account_id", account.map_or(Value::Null, Value::Text));
        row.set("seen_at", Value::Timestamp(s.seen_at));
        row.set("country", Value::Text(s.country.as_str().to_owned()));
        let key = row.id().to_owned();
        if current.sightings.contains(&key) || p.rows.contains_key(&(Register::Sightings, key)) {
            continue;
        }
        p.plan.counts.sightings += 1;
        p.create(row);
    }

    // Usage lines: each month's line of a device already registered, by tag or IMEI.
    for u in &listing.usage {
        p.plan.counts.listed += 1;
        let tag = u
            .asset_tag
            .clone()
            .filter(|t| {
                p.current.contains_key(&(Register::Assets, t.clone()))
                    || p.rows.contains_key(&(Register::Assets, t.clone()))
            })
            .or_else(|| {
                u.imei
                    .as_deref()
                    .map(normalise_serial)
                    .and_then(|i| by_imei.get(&i).cloned())
            });
        let label = u
            .asset_tag
            .clone()
            .or_else(|| u.imei.clone())
            .or_else(|| u.phone_number.clone())
            .unwrap_or_default();
        let (Some(tag), Some(data_mb)) = (tag, u.data_mb) else {
            p.plan.unmatched.push(Unmatched {
                feed: Feed::Usage.name().into(),
                source_id: format!("{}/{label}", u.month),
                label: label.clone(),
                reason: if u.data_mb.is_none() {
                    "no data use on the line".into()
                } else {
                    "no registered device has this tag or IMEI (a phone number alone cannot be matched)".into()
                },
            });
            continue;
        };
        let mut row = empty(Register::Usage);
        let mut problems = Vec::new();
        for (field, text) in [
            ("month", Some(u.month.clone())),
            ("asset_tag", Some(tag.clone())),
            ("data_mb", Some(data_mb.to_string())),
            ("roaming_mb", u.roaming_mb.map(|n| n.to_string())),
            ("voice_minutes", u.voice_minutes.map(|n| n.to_string())),
            ("texts", u.texts.map(|n| n.to_string())),
            (
                "private_cost_gbp",
                u.private_cost
                    .map(|c| format!("{}.{:02}", c.0 / 100, c.0 % 100)),
            ),
        ] {
            let Some(text) = text else { continue };
            match Register::Usage.field(field).map(|f| f.parse(&text)) {
                Some(Ok(v)) => {
                    row.set(field, v);
                }
                Some(Err(reason)) => problems.push(format!("{field}: {reason}")),
                None => {}
            }
        }
        if !problems.is_empty() {
            p.plan.unmatched.push(Unmatched {
                feed: Feed::Usage.name().into(),
                source_id: format!("{}/{label}", u.month),
                label,
                reason: problems.join("; "),
            });
            continue;
        }
        let key = (Register::Usage, row.id().to_owned());
        let stored = current.usage.iter().find(|r| r.id() == key.1);
        if stored.is_some_and(|s| s.changed_fields(&row).is_empty()) {
            continue;
        }
        p.plan.counts.usage += 1;
        p.rows.insert(
            key,
            Editing {
                row,
                before: stored,
                set: Vec::new(),
            },
        );
    }

    // Missing from a complete listing, or removed as a listing of changes says; back when listed
    // again.
    for (feed, register, seen) in [
        (Feed::People, Register::People, &people_seen),
        (Feed::Accounts, Register::Accounts, &accounts_seen),
        (Feed::Devices, Register::Assets, &devices_seen),
    ] {
        let complete = listing.complete.contains(&feed);
        let removed: HashSet<String> = listing
            .removed
            .iter()
            .filter(|(f, _)| *f == feed)
            .filter_map(|(_, source_id)| linked.get(&(feed.name(), source_id.as_str())))
            .filter_map(|l| l.record_id.clone())
            .collect();
        if !complete && removed.is_empty() {
            continue;
        }
        let kept: Vec<String> = p
            .current
            .iter()
            .filter(|((r, _), row)| *r == register && text_of(row, "source") == definition.name)
            .map(|((_, id), _)| id.clone())
            .collect();
        let mut vanished = 0usize;
        for id in &kept {
            if seen.contains(id) || !(complete || removed.contains(id)) {
                continue;
            }
            let Some(editing) = p.edit(register, id) else {
                continue;
            };
            if editing.row.get("missing_since").is_none_or(Value::is_null) {
                editing.row.set("missing_since", Value::Timestamp(now));
                vanished += 1;
            }
        }
        let limit = definition
            .number("missing_threshold")
            .ok()
            .flatten()
            .unwrap_or(50) as usize;
        if !kept.is_empty() && vanished * 100 > kept.len() * limit {
            p.plan.hold.push(format!(
                "{vanished} of the {} {} this connector keeps would be missing from the source (more than {limit}%)",
                kept.len(),
                register.name()
            ));
        }
    }

    // Leavers made by this sync.
    let limit = definition
        .number("leavers_threshold")
        .ok()
        .flatten()
        .unwrap_or(10) as usize;
    let leavers = p
        .rows
        .values()
        .filter(|e| {
            e.row.register() == Register::People
                && text_of(&e.row, "status") == "leaver"
                && e.before
                    .as_ref()
                    .is_some_and(|b| text_of(b, "status") != "leaver")
        })
        .count();
    if !current.people.is_empty() && leavers * 100 > current.people.len() * limit {
        p.plan.hold.push(format!(
            "{leavers} of {} people would become leavers (more than {limit}%)",
            current.people.len()
        ));
    }
    if first_sync {
        p.plan
            .hold
            .push("this is the connector's first sync".to_owned());
    }
    finish(p)
}

fn finish(mut p: Planner<'_>) -> Plan {
    let rows = std::mem::take(&mut p.rows);
    for ((register, id), editing) in rows {
        let fields: Vec<FieldChange> = match &editing.before {
            None => register
                .fields()
                .iter()
                .filter_map(|f| {
                    let v = editing.row.get(f.name)?;
                    (!v.is_null() && f.csv).then(|| FieldChange {
                        field: Cow::Borrowed(f.name),
                        from: String::new(),
                        to: v.to_text(),
                    })
                })
                .collect(),
            Some(before) => before
                .changed_fields(&editing.row)
                .into_iter()
                .map(|f| FieldChange {
                    field: Cow::Borrowed(f),
                    from: text_of(before, f),
                    to: text_of(&editing.row, f),
                })
                .collect(),
        };
        if fields.is_empty() {
            p.plan.counts.unchanged += 1;
            continue;
        }
        // Only "last seen there" moved: the day's bookkeeping, written but not shown — and not
        // written at all when it was set within the day, as when a field was offered and then
        // put back by a later feed of the same run (the directory's last sign-in, then the
        // sign-in logs' newer one that the record already had).
        if let Some(before) = editing.before
            && fields.iter().all(|f| f.field == "source_seen")
        {
            p.plan.counts.unchanged += 1;
            if seen_long_ago(before.get("source_seen"), p.now) {
                p.plan.rows.push(editing.row);
            }
            continue;
        }
        let action = match &editing.before {
            None => "created",
            Some(before) => {
                let was_missing = before.get("missing_since").is_some_and(|v| !v.is_null());
                let is_missing = editing
                    .row
                    .get("missing_since")
                    .is_some_and(|v| !v.is_null());
                match (was_missing, is_missing) {
                    (false, true) => "missing",
                    (true, false) => "back",
                    _ => "updated",
                }
            }
        };
        match action {
            "created" if !matches!(register, Register::Sightings | Register::Usage) => {
                p.plan.counts.created += 1
            }
            "created" => {}
            "missing" => p.plan.counts.missing += 1,
            "back" => p.plan.counts.back += 1,
            _ if register == Register::Usage => {}
            _ => p.plan.counts.updated += 1,
        }
        // Where each field came from: on a record the sync creates, every field it fills but
        // the source's own bookkeeping (a sighting is the source's through and through); on one
        // it changes, the fields it set.
        let mut sourced: Vec<&'static str> = match &editing.before {
            None if register == Register::Sightings => Vec::new(),
            None => fields
                .iter()
                .filter_map(|f| register.field(&f.field).map(|spec| spec.name))
                .filter(|f| !matches!(*f, "source" | "source_seen" | "missing_since"))
                .collect(),
            Some(_) => editing.set,
        };
        sourced.sort_unstable();
        sourced.dedup();
        if !sourced.is_empty() {
            p.plan.provenance.push(SourcedFields {
                register,
                record_id: id.clone(),
                fields: sourced,
            });
        }
        if register != Register::Sightings {
            p.plan.changes.push(RecordChange {
                register: Cow::Borrowed(register.name()),
                id: id.clone(),
                action: Cow::Borrowed(action),
                fields,
            });
        }
        p.plan.rows.push(editing.row);
    }
    p.plan
}

/// A row of `register` with every field empty (the caller sets the required ones).
fn empty(register: Register) -> Row {
    let values = vec![Value::Null; register.fields().len()];
    match Row::new(register, values) {
        Ok(row) => row,
        // Row::new only refuses a wrong width, and this is the register's own.
        Err(_) => unreachable!("a row of the register's own width"),
    }
}

fn place_person(
    p: &mut Planner<'_>,
    person: &SourcePerson,
    linked: &HashMap<(&str, &str), &Link>,
    by_email: &mut HashMap<String, String>,
) -> Option<String> {
    let feed = Feed::People.name();
    let link = linked.get(&(feed, person.source_id.as_str()));
    if link.is_some_and(|l| l.ignored) {
        return None;
    }
    let addresses: Vec<String> = person
        .email
        .iter()
        .chain(person.aliases.iter())
        .map(|a| a.to_lowercase())
        .collect();
    let found = link
        .and_then(|l| l.record_id.clone())
        .filter(|id| p.current.contains_key(&(Register::People, id.clone())))
        .or_else(|| addresses.iter().find_map(|a| by_email.get(a).cloned()))
        .or_else(|| {
            person
                .employee_id
                .as_ref()
                .filter(|e| p.current.contains_key(&(Register::People, (*e).clone())))
                .cloned()
        });
    let departments = p.definition.departments();
    let group = person.staff_group.clone().or_else(|| {
        person
            .department
            .as_ref()
            .and_then(|d| departments.get(&d.to_lowercase()).cloned())
    });
    let id = match found {
        Some(id) => id,
        None => {
            let Some(email) = person.email.clone() else {
                p.plan.unmatched.push(Unmatched {
                    feed: feed.into(),
                    source_id: person.source_id.clone(),
                    label: person.name.clone().unwrap_or_default(),
                    reason: "no e-mail address to match or create a person by".into(),
                });
                return None;
            };
            let id = person
                .employee_id
                .clone()
                .filter(|e| Register::People.id_field().parse(e).is_ok())
                .filter(|e| !p.current.contains_key(&(Register::People, e.clone())))
                .unwrap_or_else(|| email.to_lowercase());
            let mut row = empty(Register::People);
            row.set("id", Value::Text(id.clone()));
            row.set(
                "name",
                Value::Text(person.name.clone().unwrap_or_else(|| email.clone())),
            );
            let group = group
                .clone()
                .or_else(|| p.definition.get("staff_group"))
                .unwrap_or_else(|| "staff".into());
            row.set("staff_group", Value::Text(group));
            let active = person.active.unwrap_or(true)
                && person.leave_date.is_none_or(|d| d > p.now.date_naive());
            row.set(
                "status",
                Value::Text(if active { "active" } else { "leaver" }.into()),
            );
            p.create(row);
            p.plan
                .links
                .push((feed.into(), person.source_id.clone(), id.clone()));
            id
        }
    };
    if link.is_none() {
        p.plan
            .links
            .push((feed.into(), person.source_id.clone(), id.clone()));
    }
    for a in &addresses {
        by_email.entry(a.clone()).or_insert_with(|| id.clone());
    }
    p.offer(Register::People, &id, "name", person.name.clone());
    p.offer(Register::People, &id, "email", person.email.clone());
    p.offer(Register::People, &id, "staff_group", group);
    p.offer(Register::People, &id, "job_title", person.job_title.clone());
    p.offer(
        Register::People,
        &id,
        "start_date",
        person.start_date.map(|d| d.to_string()),
    );
    p.offer(
        Register::People,
        &id,
        "leave_date",
        person.leave_date.map(|d| d.to_string()),
    );
    if p.definition.kind == Kind::Csv
        && let Some(active) = person.active
    {
        let leaving = person.leave_date.is_some_and(|d| d <= p.now.date_naive());
        let stored = p
            .edit(Register::People, &id)
            .map(|e| text_of(&e.row, "status"))
            .unwrap_or_default();
        // Employed says nothing between starting, being here and being away: a starter or an
        // absent person stays so until the file says they left.
        let status = match (!active || leaving, stored.as_str()) {
            (true, _) => "leaver",
            (false, "starter" | "absent") => stored.as_str(),
            (false, _) => "active",
        };
        p.offer(Register::People, &id, "status", Some(status.to_owned()));
    }
    p.mark_seen(Register::People, &id);
    Some(id)
}

fn place_account(
    p: &mut Planner<'_>,
    account: &SourceAccount,
    system: &str,
    linked: &HashMap<(&str, &str), &Link>,
    by_login: &mut HashMap<String, String>,
    by_email: &HashMap<String, String>,
) -> Option<String> {
    let feed = Feed::Accounts.name();
    let link = linked.get(&(feed, account.source_id.as_str()));
    if link.is_some_and(|l| l.ignored) {
        return None;
    }
    let login = account.login.to_lowercase();
    let person = decided_holder(p, linked, HOLDER_OF_ACCOUNT, &account.source_id).or_else(|| {
        account
            .person_email
            .as_ref()
            .and_then(|e| by_email.get(&e.to_lowercase()).cloned())
    });
    let found = link
        .and_then(|l| l.record_id.clone())
        .filter(|id| p.current.contains_key(&(Register::Accounts, id.clone())))
        .or_else(|| by_login.get(&login).cloned())
        .or_else(|| {
            // The person's one account on this system, registered by hand without a login.
            let person = person.as_ref()?;
            let mut theirs = p.current.iter().filter(|((r, _), row)| {
                *r == Register::Accounts
                    && text_of(row, "system") == system
                    && text_of(row, "person_id") == *person
                    && text_of(row, "login").is_empty()
            });
            let one = theirs.next()?;
            theirs.next().is_none().then(|| one.0.1.clone())
        });
    let id = match found {
        Some(id) => id,
        None => {
            let id = format!("{system}:{login}");
            if Register::Accounts.id_field().parse(&id).is_err() {
                p.plan.unmatched.push(Unmatched {
                    feed: feed.into(),
                    source_id: account.source_id.clone(),
                    label: account.login.clone(),
                    reason: "the login cannot make an account id".into(),
                });
                return None;
            }
            let mut row = empty(Register::Accounts);
            row.set("id", Value::Text(id.clone()));
            row.set("system", Value::Text(system.to_owned()));
            let kind = if account.service == Some(true) {
                AccountKind::Service
            } else if account.admin == Some(true) {
                AccountKind::Admin
            } else {
                AccountKind::Standard
            };
            row.set("kind", Value::Text(kind.as_str().to_owned()));
            row.set("status", Value::Text("active".into()));
            p.create(row);
            id
        }
    };
    if link.is_none() {
        p.plan
            .links
            .push((feed.into(), account.source_id.clone(), id.clone()));
    }
    by_login.insert(login.clone(), id.clone());
    match &person {
        Some(person) => p.offer(Register::Accounts, &id, "person_id", Some(person.clone())),
        // Resolved as whose account it is: the feed `connect resolve` takes for that.
        None if !linked.contains_key(&(HOLDER_OF_ACCOUNT, account.source_id.as_str())) => p.plan.unmatched.push(Unmatched {
            feed: HOLDER_OF_ACCOUNT.into(),
            source_id: account.source_id.clone(),
            label: account.login.clone(),
            reason: "no person has this address: link it to a person, or ignore it (a shared or test account)".into(),
        }),
        None => {}
    }
    p.offer(Register::Accounts, &id, "login", Some(login));
    p.offer(
        Register::Accounts,
        &id,
        "source_id",
        Some(account.source_id.clone()),
    );
    p.offer(
        Register::Accounts,
        &id,
        "mfa",
        account.mfa.map(|b| b.to_string()),
    );
    p.offer(
        Register::Accounts,
        &id,
        "admin_rights",
        account.admin.map(|b| b.to_string()),
    );
    // A last login only moves forward: the directory's `signInActivity` lags the sign-in logs,
    // which an earlier run may already have read.
    let stored_login =
        p.edit(Register::Accounts, &id)
            .and_then(|e| match e.row.get("last_login") {
                Some(Value::Timestamp(t)) => Some(*t),
                _ => None,
            });
    p.offer(
        Register::Accounts,
        &id,
        "last_login",
        account
            .last_login
            .filter(|t| stored_login.is_none_or(|stored| *t > stored))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
    );
    if let Some(enabled) = account.enabled {
        let stored = p
            .edit(Register::Accounts, &id)
            .map(|e| text_of(&e.row, "status"))
            .unwrap_or_default();
        // A deleted or suspended account stays so; an enabled one is active, a disabled one disabled.
        let status = match (enabled, stored.as_str()) {
            (true, _) => "active",
            (false, "suspended" | "deleted") => stored.as_str(),
            (false, _) => "disabled",
        };
        p.offer(Register::Accounts, &id, "status", Some(status.to_owned()));
    }
    p.mark_seen(Register::Accounts, &id);
    Some(id)
}

fn place_device(
    p: &mut Planner<'_>,
    device: &SourceDevice,
    linked: &HashMap<(&str, &str), &Link>,
    by_serial: &mut HashMap<String, String>,
    by_imei: &HashMap<String, String>,
    by_email: &HashMap<String, String>,
) -> Option<String> {
    let feed = Feed::Devices.name();
    let link = linked.get(&(feed, device.source_id.as_str()));
    if link.is_some_and(|l| l.ignored) {
        return None;
    }
    let serial = device
        .serial
        .as_deref()
        .map(normalise_serial)
        .unwrap_or_default();
    let imei = device
        .imei
        .as_deref()
        .map(normalise_serial)
        .unwrap_or_default();
    let by_its_serial = (!serial.is_empty())
        .then(|| by_serial.get(&serial).cloned())
        .flatten();
    let by_its_imei = (!imei.is_empty())
        .then(|| by_imei.get(&imei).cloned())
        .flatten();
    if let (Some(a), Some(b)) = (&by_its_serial, &by_its_imei)
        && a != b
        && link.is_none()
    {
        p.plan.unmatched.push(Unmatched {
            feed: feed.into(),
            source_id: device.source_id.clone(),
            label: device_label(device),
            reason: format!(
                "its serial number is asset {a}'s and its IMEI asset {b}'s: link it to the right one"
            ),
        });
        return None;
    }
    let found = link
        .and_then(|l| l.record_id.clone())
        .filter(|id| p.current.contains_key(&(Register::Assets, id.clone())))
        .or(by_its_serial)
        .or(by_its_imei)
        .or_else(|| {
            device
                .asset_tag
                .as_ref()
                .filter(|t| p.current.contains_key(&(Register::Assets, (*t).clone())))
                .cloned()
        });
    let holder = decided_holder(p, linked, HOLDER_OF_DEVICE, &device.source_id).or_else(|| {
        device
            .holder_email
            .as_ref()
            .and_then(|e| by_email.get(&e.to_lowercase()).cloned())
    });
    let tag = match found {
        Some(tag) => tag,
        None => {
            let prefix = p.definition.get("tag_prefix").unwrap_or_default();
            let base = device
                .asset_tag
                .clone()
                .filter(|t| !t.is_empty())
                .or_else(|| (!serial.is_empty()).then(|| format!("{prefix}{serial}")))
                .or_else(|| (!imei.is_empty()).then(|| format!("{prefix}{imei}")))
                .unwrap_or_else(|| format!("{prefix}{}-{}", p.definition.name, device.source_id));
            let tag: String = base.chars().filter(|c| !c.is_whitespace()).collect();
            if Register::Assets.id_field().parse(&tag).is_err()
                || p.rows.contains_key(&(Register::Assets, tag.clone()))
                || p.current.contains_key(&(Register::Assets, tag.clone()))
            {
                p.plan.unmatched.push(Unmatched {
                    feed: feed.into(),
                    source_id: device.source_id.clone(),
                    label: device_label(device),
                    reason: format!("no asset tag can be made from {tag:?}"),
                });
                return None;
            }
            let mut row = empty(Register::Assets);
            row.set("tag", Value::Text(tag.clone()));
            row.set(
                "kind",
                Value::Text(device.kind.unwrap_or(AssetKind::Accessory).as_str().into()),
            );
            row.set(
                "ownership",
                Value::Text(
                    device
                        .ownership
                        .unwrap_or(steward_model::Ownership::Organisation)
                        .as_str()
                        .into(),
                ),
            );
            let status = if device.retired == Some(true) {
                "returned"
            } else if holder.is_some() {
                "allocated"
            } else {
                "in_stock"
            };
            row.set("status", Value::Text(status.into()));
            if let Some(h) = &holder {
                row.set("assigned_to", Value::Text(h.clone()));
            }
            p.create(row);
            tag
        }
    };
    if link.is_none() {
        p.plan
            .links
            .push((feed.into(), device.source_id.clone(), tag.clone()));
    }
    if !serial.is_empty() {
        by_serial.insert(serial, tag.clone());
    }
    if device.holder_email.is_some()
        && holder.is_none()
        && !linked.contains_key(&(HOLDER_OF_DEVICE, device.source_id.as_str()))
    {
        // Resolved as whose device it is: the feed `connect resolve` takes for that.
        p.plan.unmatched.push(Unmatched {
            feed: HOLDER_OF_DEVICE.into(),
            source_id: device.source_id.clone(),
            label: device_label(device),
            reason: format!(
                "its user {} is not a person in Steward: link the device to a person, or ignore it",
                device.holder_email.as_deref().unwrap_or_default()
            ),
        });
    }
    let model = match (&device.manufacturer, &device.model) {
        (Some(m), Some(d)) if !d.to_lowercase().starts_with(&m.to_lowercase()) => {
            Some(format!("{m} {d}"))
        }
        (_, d) => d.clone(),
    };
    p.offer(Register::Assets, &tag, "model", model);
    p.offer(Register::Assets, &tag, "serial", device.serial.clone());
    p.offer(Register::Assets, &tag, "imei", device.imei.clone());
    p.offer(
        Register::Assets,
        &tag,
        "os_version",
        device.os_version.clone(),
    );
    p.offer(
        Register::Assets,
        &tag,
        "compliance_state",
        device.compliance_state.clone(),
    );
    p.offer(
        Register::Assets,
        &tag,
        "azure_device_id",
        device.directory_id.clone(),
    );
    p.offer(
        Register::Assets,
        &tag,
        "source_id",
        Some(device.source_id.clone()),
    );
    p.offer(
        Register::Assets,
        &tag,
        "encrypted",
        device.encrypted.map(|b| b.to_string()),
    );
    p.offer(
        Register::Assets,
        &tag,
        "last_seen",
        device
            .last_seen
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
    );
    p.offer(
        Register::Assets,
        &tag,
        "cost_gbp",
        device
            .cost
            .map(|c| format!("{}.{:02}", c.0 / 100, c.0 % 100)),
    );
    let decided = linked.contains_key(&(HOLDER_OF_DEVICE, device.source_id.as_str()));
    if let Some(holder) = holder {
        assign(p, &tag, holder, decided);
    }
    p.mark_seen(Register::Assets, &tag);
    Some(tag)
}

/// Gives a device to its holder: a person's decision always; a source's own word when it owns
/// the field (Snipe-IT) or nobody holds the device yet. An unassigned device in stock becomes
/// allocated.
fn assign(p: &mut Planner<'_>, tag: &str, holder: String, decided: bool) {
    let owns = p.definition.owns(Register::Assets, "assigned_to");
    let Some(editing) = p.edit(Register::Assets, tag) else {
        return;
    };
    let current = text_of(&editing.row, "assigned_to");
    let mine = decided || owns || current.is_empty();
    if current == holder || !mine {
        return;
    }
    editing.row.set("assigned_to", Value::Text(holder));
    editing.set.push("assigned_to");
    if text_of(&editing.row, "status") == "in_stock" {
        editing.row.set("status", Value::Text("allocated".into()));
    }
}

/// The decision kinds a person makes about whose an account or a device is (`feed` of a
/// [`Link`] whose `record_id` is a person's id; ignored: nobody's, stop asking).
pub const HOLDER_OF_ACCOUNT: &str = "account-holder";
pub const HOLDER_OF_DEVICE: &str = "device-holder";

fn decided_holder(
    p: &Planner<'_>,
    linked: &HashMap<(&str, &str), &Link>,
    feed: &str,
    source_id: &str,
) -> Option<String> {
    linked
        .get(&(feed, source_id))
        .and_then(|l| l.record_id.clone())
        .filter(|id| p.current.contains_key(&(Register::People, id.clone())))
}

fn device_label(d: &SourceDevice) -> String {
    let name = d.name.clone().unwrap_or_default();
    match &d.serial {
        Some(s) => format!("{name} serial {s}"),
        None => name,
    }
}
