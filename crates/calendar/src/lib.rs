//! The working-day calendar: England and Wales bank holidays (shipped as gov.uk publishes them) and
//! the arithmetic of working days that the policies' lead times and deadlines are written in.
//!
//! It must never do I/O or read the clock: it parses text it is handed and counts from dates it
//! is given.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};

/// The division Steward's organisations work in.
pub const ENGLAND_AND_WALES: &str = "england-and-wales";

static SHIPPED: LazyLock<Calendar> = LazyLock::new(|| {
    Calendar::from_govuk_json(
        include_str!("../data/bank-holidays.json"),
        ENGLAND_AND_WALES,
    )
    .unwrap_or_default()
});

/// A day that is not a working day although it falls Monday to Friday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankHoliday {
    pub date: NaiveDate,
    pub title: String,
    /// gov.uk's notes, such as `Substitute day`.
    pub notes: String,
}

/// Why a bank holidays file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("line {line}, column {column}: {reason}")]
    Syntax {
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("no division {wanted:?} in the file; it has: {found}")]
    NoDivision { wanted: String, found: String },
    #[error("events[{index}].{field}: {value:?}: {reason}")]
    Event {
        index: usize,
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("the division {0:?} lists no events")]
    Empty(String),
    #[error("events[{second}].date: {date} is listed twice (also events[{first}])")]
    Duplicate {
        first: usize,
        second: usize,
        date: NaiveDate,
    },
}

/// Bank holidays, and the years they are known for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    holidays: BTreeMap<NaiveDate, BankHoliday>,
}

impl Calendar {
    /// England and Wales as shipped with Steward.
    pub fn shipped() -> Calendar {
        SHIPPED.clone()
    }

    pub fn from_holidays(holidays: impl IntoIterator<Item = BankHoliday>) -> Calendar {
        Calendar {
            holidays: holidays.into_iter().map(|h| (h.date, h)).collect(),
        }
    }

    /// Reads gov.uk's `bank-holidays.json` format and takes one division's events.
    pub fn from_govuk_json(text: &str, division: &str) -> Result<Calendar, CalendarError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| CalendarError::Syntax {
                line: e.line(),
                column: e.column(),
                reason: e
                    .to_string()
                    .split(" at line")
                    .next()
                    .unwrap_or("")
                    .to_owned(),
            })?;
        let syntax = |reason: &str| CalendarError::Syntax {
            line: 1,
            column: 1,
            reason: reason.to_owned(),
        };
        let divisions = value
            .as_object()
            .ok_or_else(|| syntax("expected an object of divisions"))?;
        let Some(found) = divisions.get(division) else {
            return Err(CalendarError::NoDivision {
                wanted: division.to_owned(),
                found: divisions.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        };
        let events = found
            .get("events")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| syntax("the division has no list of events"))?;
        if events.is_empty() {
            return Err(CalendarError::Empty(division.to_owned()));
        }
        let mut holidays: BTreeMap<NaiveDate, (usize, BankHoliday)> = BTreeMap::new();
        for (index, event) in events.iter().enumerate() {
            let text_of = |field: &'static str, required: bool| match event.get(field) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                None if !required => Ok(String::new()),
                other => Err(CalendarError::Event {
                    index,
                    field,
                    value: other.map(ToString::to_string).unwrap_or_default(),
                    reason: "expected text".into(),
                }),
            };
            let date_text = text_of("date", true)?;
            let date = NaiveDate::parse_from_str(&date_text, "%Y-%m-%d").map_err(|_| {
                CalendarError::Event {
                    index,
                    field: "date",
                    value: date_text.clone(),
                    reason: "not a date (expected YYYY-MM-DD)".into(),
                }
            })?;
            let title = text_of("title", true)?;
            if title.trim().is_empty() {
                return Err(CalendarError::Event {
                    index,
                    field: "title",
                    value: title,
                    reason: "a holiday needs a title".into(),
                });
            }
            let notes = text_of("notes", false)?;
            if let Some((first, _)) = holidays.get(&date) {
                return Err(CalendarError::Duplicate {
                    first: *first,
                    second: index,
                    date,
                });
            }
            holidays.insert(date, (index, BankHoliday { date, title, notes }));
        }
        Ok(Calendar {
            holidays: holidays.into_values().map(|(_, h)| (h.date, h)).collect(),
        })
    }

    /// gov.uk's format, one division.
    pub fn to_govuk_json(&self, division: &str) -> String {
        let events: Vec<serde_json::Value> = self
            .holidays()
            .map(|h| {
                serde_json::json!({
                    "title": h.title,
                    "date": h.date.to_string(),
                    "notes": h.notes,
                    "bunting": true,
                })
            })
            .collect();
        let mut root = serde_json::Map::new();
        root.insert(
            division.to_owned(),
            serde_json::json!({ "division": division, "events": events }),
        );
        serde_json::to_string_pretty(&serde_json::Value::Object(root)).unwrap_or_default()
    }

    pub fn holidays(&self) -> impl Iterator<Item = &BankHoliday> {
        self.holidays.values()
    }

    pub fn holiday(&self, date: NaiveDate) -> Option<&BankHoliday> {
        self.holidays.get(&date)
    }

    /// Monday to Friday and not a bank holiday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains_key(&date)
    }

    /// Whether the data lists holidays for the date's year; beyond it, only weekends are known.
    pub fn covers(&self, date: NaiveDate) -> bool {
        match (
            self.holidays.keys().next(),
            self.holidays.keys().next_back(),
        ) {
            (Some(first), Some(last)) => (first.year()..=last.year()).contains(&date.year()),
            _ => false,
        }
    }

    /// The `n`-th working day after `start` (`start` itself never counts; `n = 0` is `start`).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut date = start;
        let mut left = n;
        while left > 0 {
            match date.checked_add_days(Days::new(1)) {
                Some(next) => date = next,
                None => return date,
            }
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        date
    }

    /// Working days after `from` up to and including `to`; negative when `to` is before `from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.is_working_day(*d))
            .count() as i64
    }

    /// The date `n` working days after the day, in `time_zone`, that `opened` falls on.
    pub fn due(&self, opened: DateTime<Utc>, time_zone: chrono_tz::Tz, n: u32) -> NaiveDate {
        self.add_working_days(opened.with_timezone(&time_zone).date_naive(), n)
    }
}
