use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use crate::ModelError;
use crate::country::{Countries, Country};
use crate::register::Register;
use crate::value::Value;

/// What a field holds, and so how its cells are parsed, stored and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Free text, without control characters.
    Text,
    /// An identifier: no spaces, at most 128 characters.
    Id,
    /// A lower-case word such as a staff-group id.
    Slug,
    Email,
    /// One of a fixed list of lower-case words.
    Enum(&'static [&'static str]),
    Bool,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An instant, RFC 3339, kept in UTC.
    Timestamp,
    /// Pounds sterling to the penny.
    Money,
    /// A whole number, 0 or more: a count or a quantity (`2048`).
    Int,
    /// A calendar month, `YYYY-MM`; held as its text.
    Month,
    /// An officially assigned ISO 3166-1 alpha-2 country code (`GB`), written in capitals.
    Country,
    /// One or more country codes separated by `;` (`AE;IN`), in the order given, repeats allowed.
    Countries,
}

impl FieldType {
    /// Whether rows are looked up, searched and ordered by a field of this type as text: a
    /// single word or line of text. A date, a number, a yes-or-no and a list of countries are
    /// not compared as text.
    pub const fn is_lookup_text(self) -> bool {
        matches!(
            self,
            FieldType::Text
                | FieldType::Id
                | FieldType::Slug
                | FieldType::Email
                | FieldType::Enum(_)
                | FieldType::Country
                | FieldType::Month
        )
    }

    /// The most characters a value of this type may have unless its field says otherwise: short
    /// text (a name, a title, a place) 200, an id 128, a lower-case id 64, an email address 254.
    pub const fn max_chars(self) -> usize {
        match self {
            FieldType::Text => 200,
            FieldType::Id => 128,
            FieldType::Slug => 64,
            FieldType::Email => 254,
            // The rest have fixed shapes far shorter; the cap only bounds the work of reading.
            _ => MAX_CELL_CHARS,
        }
    }
}

/// One column of a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    pub required: bool,
    /// The register whose id this field holds, if it is a reference.
    pub refers_to: Option<Register>,
    /// A column of the register's CSV file. `false` for a field derived from the others: the
    /// `key` of a register identified by several of its fields, which is stored (as the table's
    /// primary key) and audited but never read from or written to a file.
    pub csv: bool,
    /// The most characters a value may have: the type's ([`FieldType::max_chars`]) unless the
    /// declaration says otherwise (`, max LONG_TEXT`).
    pub max_chars: usize,
}

/// Free text written at length: a reason, notes, a description, evidence.
pub const LONG_TEXT: usize = 4_000;
/// A request's particulars (a JSON object of text), the longest text a register holds.
pub const DETAILS_TEXT: usize = 10_000;
/// The longest any cell may be, whatever its field.
pub const MAX_CELL_CHARS: usize = DETAILS_TEXT;

impl Field {
    /// Parses a cell (already trimmed) for this field: its length first, then [`Value::parse`].
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        check_length(text, self.max_chars)?;
        Value::parse(self.ty, text)
    }
}

/// `too long (N characters; at most M)` when `text` has more than `max` characters. Counting
/// stops just past the limit, so a megabyte costs no more than the limit does.
pub(crate) fn check_length(text: &str, max: usize) -> Result<(), String> {
    if text.len() <= max || text.chars().nth(max).is_none() {
        return Ok(());
    }
    Err(format!(
        "too long ({} characters; at most {max})",
        text.chars().count()
    ))
}

/// A Rust type that a register field can hold.
pub trait FieldValue: Sized {
    const REQUIRED: bool = true;
    fn to_value(&self) -> Value;
    fn from_value(field: &'static str, value: &Value) -> Result<Self, ModelError>;
}

fn mismatch(field: &'static str, expected: &str, value: &Value) -> ModelError {
    ModelError::Field {
        field,
        reason: format!("expected {expected}, found {value:?}"),
    }
}

impl FieldValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn from_value(field: &'static str, value: &Value) -> Result<Self, ModelError> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            Value::Null => Err(ModelError::Field {
                field,
                reason: "a value is required".into(),
            }),
            other => Err(mismatch(field, "text", other)),
        }
    }
}

impl FieldValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(field: &'static str, value: &Value) -> Result<Self, ModelError> {
        match value {
            Value::Bool(b) => Ok(*b),
            other => Err(mismatch(field, "a boolean", other)),
        }
    }
}

impl FieldValue for NaiveDate {
    fn to_value(&self) -> Value {
        Value::Date(*self)
    }
    fn from_value(field: &'static str, value: &Value) -> Result<Self, ModelError> {
        match value {
            Value::Date(d) => Ok(*d),
            other => Err(mismatch(field, "a date", other)),
        }
    }
}

impl FieldValue for DateTime<Utc> {
    fn to_value(&self) -> Value {
        Value::Timestamp(*self)
    }
    fn from_value(field: &'static str, value: &Value) -> Result<Self, ModelError> {
        match value {
            Value::Timestamp(t) => Ok(*t),
            other => Err(mismatch(field, "a timestamp", other)),
        }
    }
}

impl FieldValue for Pence {
    fn to_value(&self) -> Value {
        Value::Money(*self)
    }
    fn from_value(field: &'static str, value: &Value) -> Result<Self, ModelError> {
        match value {
            Value::Money(p) => Ok(*p),
            other => Err(mismatch(field, "an amount", other)),
        }
    }
}

impl FieldValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
    fn from_value(field: &'static str, value: &Value) -> Result<Self, ModelError> {
        match value {
            Value::Int(n) => Ok(*n),
            other => Err(mismatch(field, "a whole number", other)),
        }
    }
}

/// A field held as [`Value::Text`] in its canonical spelling, typed by parsing it.
macro_rules! text_field_value {
    ($ty:ty, $what:literal) => {
        impl FieldValue for $ty {
            fn to_value(&self) -> Value {
                Value::Text(self.to_string())
            }
            fn from_value(field: &'static str, value: &Value) -> Result<Self, ModelError> {
                match value {
                    Value::Text(s) => s
                        .parse()
                        .map_err(|reason| ModelError::Field { field, reason }),
                    other => Err(mismatch(field, $what, other)),
                }
            }
        }
    };
}

text_field_value!(Month, "a month");
text_field_value!(Country, "a country code");
text_field_value!(Countries, "a list of country codes");

impl<T: FieldValue> FieldValue for Option<T> {
    const REQUIRED: bool = false;
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
    fn from_value(field: &'static str, value: &Value) -> Result<Self, ModelError> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(field, other).map(Some),
        }
    }
}

/// An amount of money in pence; printed as pounds with two decimals (`899.00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pence(pub i64);

impl fmt::Display for Pence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl FromStr for Pence {
    type Err = String;

    /// Accepts `899`, `899.5` and `899.50`; refuses negatives, thousands separators, currency
    /// signs and fractions of a penny.
    fn from_str(text: &str) -> Result<Self, String> {
        if text.starts_with('-') {
            return Err("an amount cannot be negative".into());
        }
        let (pounds, pence) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(pounds) || (!pence.is_empty() && !digits(pence)) || (text.ends_with('.')) {
            return Err("expected an amount in pounds such as 899.00".into());
        }
        if pence.len() > 2 {
            return Err("an amount is whole pence: at most two decimals".into());
        }
        let pounds: i64 = pounds.parse().map_err(|_| "amount too large".to_string())?;
        let pence: i64 = format!("{pence:0<2}")
            .parse()
            .map_err(|_| "bad pence".to_string())?;
        pounds
            .checked_mul(100)
            .and_then(|p| p.checked_add(pence))
            .filter(|p| *p <= 100_000_000_000)
            .map(Pence)
            .ok_or_else(|| "amount too large".into())
    }
}

/// A calendar month: what a monthly bill covers. Printed and parsed as `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// `None` unless `year` has four digits (0 to 9999) and `month` is 1 to 12.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        ((0..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Month { year, month })
    }

    /// The month a date falls in; `None` for a date whose year has more than four digits.
    pub fn of(date: NaiveDate) -> Option<Month> {
        use chrono::Datelike as _;
        Month::new(date.year(), date.month())
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// The first day of the month.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day of the month.
    pub fn last_day(self) -> NaiveDate {
        self.next()
            .map(|m| m.first_day())
            .and_then(|d| d.pred_opt())
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX))
    }

    /// The month before; `None` before 0000-01.
    pub fn previous(self) -> Option<Month> {
        if self.month == 1 {
            Month::new(self.year - 1, 12)
        } else {
            Month::new(self.year, self.month - 1)
        }
    }

    /// The month after; `None` after 9999-12.
    pub fn next(self) -> Option<Month> {
        if self.month == 12 {
            Month::new(self.year + 1, 1)
        } else {
            Month::new(self.year, self.month + 1)
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = String;

    /// Exactly `YYYY-MM`: four digits, a hyphen, two digits.
    fn from_str(text: &str) -> Result<Self, String> {
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 7
            && bytes[4] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit());
        if !shaped {
            return Err("expected a month as YYYY-MM".into());
        }
        let year: i32 = text[..4].parse().map_err(|_| "bad year".to_string())?;
        let month: u32 = text[5..].parse().map_err(|_| "bad month".to_string())?;
        Month::new(year, month).ok_or_else(|| "no such month: expected 01 to 12".into())
    }
}

/// Declares a closed list of lower-case words as a Rust enum usable as a register field.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($word),+];
            pub const TYPE: $crate::FieldType = $crate::FieldType::Enum(Self::ALL);

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok(Self::$variant),)+
                    _ => Err(format!("expected one of {}", Self::ALL.join("|"))),
                }
            }
        }

        impl $crate::FieldValue for $name {
            fn to_value(&self) -> $crate::Value {
                $crate::Value::Text(self.as_str().to_owned())
            }
            fn from_value(field: &'static str, value: &$crate::Value) -> Result<Self, $crate::ModelError> {
                match value {
                    $crate::Value::Text(s) => s.parse().map_err(|reason| $crate::ModelError::Field { field, reason }),
                    _ => Err($crate::ModelError::Field { field, reason: format!("expected one of {}", Self::ALL.join("|")) }),
                }
            }
        }
    };
}
pub(crate) use words;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pence_parse_and_print() {
        for (text, pence, printed) in [
            ("899", 89900, "899.00"),
            ("899.5", 89950, "899.50"),
            ("0.07", 7, "0.07"),
        ] {
            let p: Pence = text.parse().unwrap();
            assert_eq!(p, Pence(pence));
            assert_eq!(p.to_string(), printed);
        }
        for bad in ["", ".5", "5.", "1,000", "£5", "1e3", "99999999999999999999"] {
            assert!(bad.parse::<Pence>().is_err(), "{bad}");
        }
    }
}
