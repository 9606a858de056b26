//! Shared by the export and mapped-file tests: a listing written out as TOML values, and compared
//! with a hand-written `*.expected.toml` beside its fixture.
//!
//! An expected file has `complete = [...]` and an array of tables per feed the listing fills
//! (`[[people]]`, `[[accounts]]`, `[[devices]]`, `[[usage]]`), one table per record in file order.
//! A record's table holds exactly the fields that are not `None` (an empty `aliases` is left
//! out): a field the reader filled but the file does not expect fails the test as surely as a
//! wrong value. Dates are `"YYYY-MM-DD"`, date-times RFC 3339 in UTC (`"2024-05-01T10:00:00Z"`),
//! money pounds as text (`"1299.00"`), kinds and ownerships their register words.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use steward_connect::{Listing, SourceAccount, SourceDevice, SourcePerson, SourceUsage};
use steward_model::Pence;
use toml::{Table, Value};

pub fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

pub fn bytes(path: &str) -> Vec<u8> {
    let path = data(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn text(path: &str) -> String {
    String::from_utf8(bytes(path)).expect("UTF-8")
}

/// The expected file for `path` (`exports/x.csv` → `exports/x.expected.toml`), parsed.
pub fn expected(path: &str) -> Table {
    let stem = path.strip_suffix(".csv").unwrap_or(path);
    let text = text(&format!("{stem}.expected.toml"));
    text.parse::<Table>()
        .unwrap_or_else(|e| panic!("{stem}.expected.toml: {e}"))
}

/// Compares `listing` with `expected`, panicking with every difference found.
pub fn compare(name: &str, listing: &Listing, expected: &Table) {
    let actual = render(listing);
    let mut problems = String::new();
    let keys: std::collections::BTreeSet<&String> = actual
        .keys()
        .chain(expected.keys())
        .filter(|k| ["complete", "people", "accounts", "devices", "usage"].contains(&k.as_str()))
        .collect();
    for key in keys {
        let (a, e) = (actual.get(key.as_str()), expected.get(key.as_str()));
        match (a, e) {
            (Some(Value::Array(a)), Some(Value::Array(e))) if key != "complete" => {
                if a.len() != e.len() {
                    let _ = writeln!(problems, "{key}: {} records, expected {}", a.len(), e.len());
                }
                for (i, (ar, er)) in a.iter().zip(e).enumerate() {
                    diff_record(&mut problems, &format!("{key}[{i}]"), ar, er);
                }
            }
            _ if a == e => {}
            _ => {
                let _ = writeln!(problems, "{key}: got {a:?}, expected {e:?}");
            }
        }
    }
    assert!(problems.is_empty(), "{name}:\n{problems}");
}

fn diff_record(out: &mut String, at: &str, actual: &Value, expected: &Value) {
    let (Some(a), Some(e)) = (actual.as_table(), expected.as_table()) else {
        let _ = writeln!(out, "{at}: not a table");
        return;
    };
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(e.keys()).collect();
    for key in keys {
        match (a.get(key.as_str()), e.get(key.as_str())) {
            (x, y) if x == y => {}
            (Some(x), None) => {
                let _ = writeln!(out, "{at}.{key}: got {x:?}, expected nothing");
            }
            (None, Some(y)) => {
                let _ = writeln!(out, "{at}.{key}: got nothing, expected {y:?}");
            }
            (x, y) => {
                let _ = writeln!(out, "{at}.{key}: got {x:?}, expected {y:?}");
            }
        }
    }
}

/// A listing as TOML values: the shape of an expected file.
pub fn render(listing: &Listing) -> Table {
    let mut out = Table::new();
    out.insert(
        "complete".into(),
        Value::Array(
            listing
                .complete
                .iter()
                .map(|f| Value::String(f.name().into()))
                .collect(),
        ),
    );
    let mut feed = |name: &str, records: Vec<Table>| {
        if !records.is_empty() {
            out.insert(
                name.into(),
                Value::Array(records.into_iter().map(Value::Table).collect()),
            );
        }
    };
    feed("people", listing.people.iter().map(person).collect());
    feed("accounts", listing.accounts.iter().map(account).collect());
    feed("devices", listing.devices.iter().map(device).collect());
    feed("usage", listing.usage.iter().map(usage).collect());
    out
}

#[derive(Default)]
struct Record(Table);

impl Record {
    fn text(mut self, key: &str, value: &str) -> Self {
        self.0.insert(key.into(), Value::String(value.into()));
        self
    }
    fn opt(self, key: &str, value: &Option<String>) -> Self {
        match value {
            Some(v) => self.text(key, v),
            None => self,
        }
    }
    fn shown(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.text(key, &v.to_string()),
            None => self,
        }
    }
    fn boolean(mut self, key: &str, value: Option<bool>) -> Self {
        if let Some(v) = value {
            self.0.insert(key.into(), Value::Boolean(v));
        }
        self
    }
    fn int(mut self, key: &str, value: Option<i64>) -> Self {
        if let Some(v) = value {
            self.0.insert(key.into(), Value::Integer(v));
        }
        self
    }
    fn date(self, key: &str, value: Option<NaiveDate>) -> Self {
        self.shown(key, value.map(|d| d.format("%Y-%m-%d")))
    }
    fn time(self, key: &str, value: Option<DateTime<Utc>>) -> Self {
        self.shown(
            key,
            value.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        )
    }
    fn money(self, key: &str, value: Option<Pence>) -> Self {
        self.shown(key, value)
    }
    fn list(mut self, key: &str, value: &[String]) -> Self {
        if !value.is_empty() {
            let items = value.iter().map(|v| Value::String(v.clone())).collect();
            self.0.insert(key.into(), Value::Array(items));
        }
        self
    }
}

fn person(p: &SourcePerson) -> Table {
    Record::default()
        .text("source_id", &p.source_id)
        .opt("email", &p.email)
        .list("aliases", &p.aliases)
        .opt("name", &p.name)
        .opt("employee_id", &p.employee_id)
        .opt("staff_group", &p.staff_group)
        .opt("department", &p.department)
        .opt("job_title", &p.job_title)
        .opt("manager_email", &p.manager_email)
        .opt("manager_source_id", &p.manager_source_id)
        .date("start_date", p.start_date)
        .date("leave_date", p.leave_date)
        .boolean("active", p.active)
        .0
}

fn account(a: &SourceAccount) -> Table {
    Record::default()
        .text("source_id", &a.source_id)
        .text("login", &a.login)
        .opt("person_email", &a.person_email)
        .boolean("enabled", a.enabled)
        .boolean("admin", a.admin)
        .boolean("mfa", a.mfa)
        .time("last_login", a.last_login)
        .boolean("service", a.service)
        .0
}

fn device(d: &SourceDevice) -> Table {
    Record::default()
        .text("source_id", &d.source_id)
        .opt("asset_tag", &d.asset_tag)
        .opt("name", &d.name)
        .opt("serial", &d.serial)
        .opt("imei", &d.imei)
        .opt("model", &d.model)
        .opt("manufacturer", &d.manufacturer)
        .opt("os", &d.os)
        .opt("os_version", &d.os_version)
        .shown("kind", d.kind)
        .shown("ownership", d.ownership)
        .opt("holder_email", &d.holder_email)
        .boolean("encrypted", d.encrypted)
        .opt("compliance_state", &d.compliance_state)
        .time("last_seen", d.last_seen)
        .opt("phone_number", &d.phone_number)
        .opt("directory_id", &d.directory_id)
        .date("purchase_date", d.purchase_date)
        .money("cost", d.cost)
        .boolean("retired", d.retired)
        .0
}

fn usage(u: &SourceUsage) -> Table {
    Record::default()
        .text("month", &u.month)
        .opt("asset_tag", &u.asset_tag)
        .opt("phone_number", &u.phone_number)
        .opt("imei", &u.imei)
        .int("data_mb", u.data_mb)
        .int("roaming_mb", u.roaming_mb)
        .int("voice_minutes", u.voice_minutes)
        .int("texts", u.texts)
        .money("private_cost", u.private_cost)
        .0
}
