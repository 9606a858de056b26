use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::country::{Countries, Country};
use crate::field::{FieldType, Month, Pence};

/// One cell of a register, typed.
///
/// Enumerations, months and country codes travel as [`Value::Text`] in their canonical spelling;
/// the register's [`FieldType`] says which texts are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Null,
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    Timestamp(DateTime<Utc>),
    Money(Pence),
    /// A whole number ([`FieldType::Int`]).
    Int(i64),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The interchange spelling: what a CSV cell holds. `Null` is the empty string.
    pub fn to_text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            other => {
                let mut out = String::new();
                other.push_text(&mut out);
                out
            }
        }
    }

    /// Appends the interchange spelling ([`Value::to_text`]) to `out`, without a string of its
    /// own in between: the write paths spell millions of cells.
    pub fn push_text(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Value::Null => {}
            Value::Text(s) => out.push_str(s),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Date(d) => push_date(out, *d),
            Value::Timestamp(t) => out.push_str(&format_timestamp(t)),
            Value::Money(p) => {
                let _ = write!(out, "{p}");
            }
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
        }
    }

    /// The JSON form used in the audit log and the API. Money is a decimal string so that no
    /// float ever touches an amount; a whole number is a JSON number.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(n) => serde_json::Value::from(*n),
            other => serde_json::Value::String(other.to_text()),
        }
    }

    /// Parses a CSV cell (already trimmed) as the given type. The empty string is `Null`; whether
    /// `Null` is allowed is the field's business, not the type's.
    pub fn parse(ty: FieldType, text: &str) -> Result<Value, String> {
        if text.is_empty() {
            return Ok(Value::Null);
        }
        // Nothing the registers hold is longer; a field's own limit is tighter (`Field::parse`).
        crate::field::check_length(text, crate::field::MAX_CELL_CHARS)?;
        // Most cells are printable ASCII, seen in one pass: no control character (a byte below
        // space, or DEL) and no invisible formatting character can occur there.
        let printable_ascii = text.bytes().all(|b| (b' '..0x7f).contains(&b));
        if !printable_ascii {
            // ASCII but not printable: it holds a control character.
            if text.is_ascii() || text.chars().any(char::is_control) {
                return Err("contains a control character".into());
            }
            if text.chars().any(is_invisible_format) {
                // Direction overrides and zero-width characters let a value display as
                // something else.
                return Err("contains an invisible or direction-changing character".into());
            }
        }
        match ty {
            FieldType::Text => Ok(Value::Text(text.to_owned())),
            FieldType::Id => parse_id(text),
            FieldType::Slug => parse_slug(text),
            FieldType::Email => parse_email(text),
            FieldType::Enum(words) => {
                if words.contains(&text) {
                    Ok(Value::Text(text.to_owned()))
                } else {
                    Err(format!("expected one of {}", words.join("|")))
                }
            }
            FieldType::Bool => match text.to_ascii_lowercase().as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err("expected true or false (empty for unknown)".into()),
            },
            FieldType::Date => parse_date(text).map(Value::Date),
            FieldType::Timestamp => parse_timestamp(text).map(Value::Timestamp),
            FieldType::Money => text.parse::<Pence>().map(Value::Money),
            FieldType::Int => parse_int(text).map(Value::Int),
            FieldType::Month => text.parse::<Month>().map(|m| Value::Text(m.to_string())),
            FieldType::Country => text.parse::<Country>().map(|c| Value::Text(c.to_string())),
            FieldType::Countries => text
                .parse::<Countries>()
                .map(|c| Value::Text(c.to_string())),
        }
    }
}

/// Appends `d` as `YYYY-MM-DD`, as chrono's `%Y-%m-%d` spells it.
pub fn push_date(out: &mut String, d: NaiveDate) {
    use chrono::Datelike as _;
    match u32::try_from(d.year()) {
        // Four digits, written directly: chrono's formatter reads its format string every time.
        Ok(year @ 0..=9999) => {
            for n in [year / 1000, year / 100 % 10, year / 10 % 10, year % 10] {
                out.push(digit(n));
            }
            out.push('-');
            out.push(digit(d.month() / 10));
            out.push(digit(d.month() % 10));
            out.push('-');
            out.push(digit(d.day() / 10));
            out.push(digit(d.day() % 10));
        }
        _ => out.push_str(&d.format("%Y-%m-%d").to_string()),
    }
}

/// A date as [`push_date`] writes it: [`parse_date`]'s `YYYY-MM-DD`, read straight off the text
/// (chrono's parser reads its format string every time: a tenth of a check run's reading of the
/// database), or, for a year outside four digits, as chrono reads `%Y-%m-%d`.
pub fn read_date(s: &str) -> Result<NaiveDate, String> {
    parse_date(s).or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| e.to_string()))
}

/// `d` as `YYYY-MM-DD`.
pub fn iso_date(d: NaiveDate) -> String {
    let mut out = String::with_capacity(10);
    push_date(&mut out, d);
    out
}

fn digit(n: u32) -> char {
    char::from_digit(n, 10).unwrap_or('0')
}

/// RFC 3339 in UTC with `Z`, and fractional seconds only when there are any.
pub(crate) fn format_timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A date as a CSV file or a form must give it: exactly `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return Err("expected a date as YYYY-MM-DD".into());
    }
    // Every byte is a digit where one belongs, so the numbers are read straight off the text.
    let number = |from: usize, to: usize| {
        bytes
            .get(from..to)
            .unwrap_or_default()
            .iter()
            .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'))
    };
    NaiveDate::from_ymd_opt(number(0, 4) as i32, number(5, 7), number(8, 10))
        .ok_or_else(|| "no such date".into())
}

/// An RFC 3339 instant in UTC, kept to the microsecond (both databases store no finer): more
/// decimals, as .NET writes, are cut off.
pub(crate) fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    use chrono::Datelike as _;
    use chrono::SubsecRound as _;
    let t = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(6))
        .map_err(|_| "expected an RFC 3339 timestamp such as 2026-03-01T09:30:00Z".to_string())?;
    // In UTC the year must still be one RFC 3339 can write, or the value would not export.
    if !(1..=9999).contains(&t.year()) {
        return Err("out of range: the year in UTC must be 0001 to 9999".into());
    }
    Ok(t)
}

fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn parse_id(text: &str) -> Result<Value, String> {
    // No more bytes than the limit: no more characters either.
    if text.len() > 128 && text.chars().count() > 128 {
        return Err("an identifier is at most 128 characters".into());
    }
    let spaced = if text.is_ascii() {
        // The ASCII characters `char::is_whitespace` is true of: tab to carriage return, space.
        text.bytes().any(|b| matches!(b, b'\t'..=b'\r' | b' '))
    } else {
        text.chars().any(char::is_whitespace)
    };
    if spaced {
        return Err("an identifier has no spaces".into());
    }
    Ok(Value::Text(text.to_owned()))
}

/// A whole number of at most 18 digits, 0 or more: no sign, separators or decimals.
fn parse_int(text: &str) -> Result<i64, String> {
    if text.starts_with('-') {
        return Err("cannot be negative".into());
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected a whole number such as 2048".into());
    }
    text.parse::<i64>().map_err(|_| "number too large".into())
}

/// Lower-case letters and digits, with hyphens, underscores and dots after the first
/// (`business-services`, `cafcass-it-5.0`).
fn parse_slug(text: &str) -> Result<Value, String> {
    let ok = text.len() <= 64
        && text.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        });
    if ok {
        Ok(Value::Text(text.to_owned()))
    } else {
        Err("expected a lower-case id of letters, digits, hyphens, underscores and dots".into())
    }
}

fn parse_email(text: &str) -> Result<Value, String> {
    let valid = text.len() <= 254
        && !text.chars().any(char::is_whitespace)
        && matches!(text.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.contains('@')
                && !domain.starts_with('.') && !domain.ends_with('.'));
    if valid {
        Ok(Value::Text(text.to_owned()))
    } else {
        Err("expected an email address such as name@example.org".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dates are spelt as chrono's `%Y-%m-%d` spells them, at every year it can hold.
    #[test]
    fn a_date_is_spelt_as_chrono_spells_it() {
        let years = [
            -262_000, -1, 0, 1, 9, 99, 999, 1000, 1970, 2026, 9999, 10_000, 262_000,
        ];
        for year in years {
            for (month, day) in [(1, 1), (2, 28), (9, 9), (10, 31), (12, 31)] {
                let Some(d) = NaiveDate::from_ymd_opt(year, month, day) else {
                    continue;
                };
                assert_eq!(iso_date(d), d.format("%Y-%m-%d").to_string(), "{d:?}");
                assert_eq!(read_date(&iso_date(d)), Ok(d), "{d:?}");
                assert_eq!(Value::Date(d).to_text(), iso_date(d));
            }
        }
        let mut out = String::from("on ");
        Value::Int(-42).push_text(&mut out);
        Value::Money(Pence(-1_05)).push_text(&mut out);
        Value::Bool(false).push_text(&mut out);
        assert_eq!(out, format!("on -42{}false", Pence(-1_05)));
    }

    #[test]
    fn cells_round_trip_through_their_text() {
        let cases: &[(FieldType, &str)] = &[
            (FieldType::Bool, "true"),
            (FieldType::Bool, "false"),
            (FieldType::Date, "2026-12-24"),
            (FieldType::Timestamp, "2026-11-01T09:30:00Z"),
            (FieldType::Timestamp, "2026-11-01T09:30:00.250Z"),
            (FieldType::Money, "899.00"),
            (FieldType::Money, "0.05"),
            (FieldType::Email, "a.person@example.org.uk"),
            (FieldType::Slug, "business-services"),
            (FieldType::Slug, "cafcass-it-5.0"),
            (FieldType::Int, "0"),
            (FieldType::Int, "4097"),
            (FieldType::Month, "2026-10"),
            (FieldType::Country, "GB"),
            (FieldType::Countries, "AE;IN"),
            (FieldType::Countries, "FR"),
        ];
        for (ty, text) in cases {
            let value = Value::parse(*ty, text).unwrap();
            assert_eq!(value.to_text(), *text, "{ty:?}");
        }
    }

    #[test]
    fn bad_cells_are_refused_with_a_reason() {
        let cases: &[(FieldType, &str, &str)] = &[
            (FieldType::Bool, "yes", "true or false"),
            (FieldType::Date, "24/12/2026", "YYYY-MM-DD"),
            (FieldType::Date, "2026-02-30", "no such date"),
            (FieldType::Date, "2026-2-03", "YYYY-MM-DD"),
            (FieldType::Timestamp, "2026-11-01 09:30", "RFC 3339"),
            (FieldType::Money, "12.345", "pence"),
            (FieldType::Money, "-4", "negative"),
            (FieldType::Email, "not-an-address", "email"),
            (FieldType::Slug, "Business Services", "lower-case"),
            (FieldType::Slug, ".hidden", "lower-case"),
            (FieldType::Int, "-1", "cannot be negative"),
            (FieldType::Int, "1.5", "whole number"),
            (FieldType::Int, "+3", "whole number"),
            (FieldType::Int, "1 000", "whole number"),
            (FieldType::Int, "99999999999999999999", "too large"),
            (FieldType::Month, "2026-13", "no such month"),
            (FieldType::Month, "2026-00", "no such month"),
            (FieldType::Month, "26-10", "YYYY-MM"),
            (FieldType::Month, "2026-1", "YYYY-MM"),
            (FieldType::Month, "2026-10-01", "YYYY-MM"),
            (FieldType::Country, "XX", "officially assigned"),
            (FieldType::Country, "UK", "GB"),
            (FieldType::Country, "GBR", "alpha-2"),
            (FieldType::Countries, "FR;;BE", "empty"),
            (
                FieldType::Countries,
                "FR;ZZ",
                "ZZ: not an officially assigned",
            ),
            (FieldType::Id, "has space", "no spaces"),
            (FieldType::Id, "em\u{2003}space", "no spaces"),
            (FieldType::Id, "no\u{a0}break", "no spaces"),
            (FieldType::Enum(&["a", "b"]), "c", "one of a|b"),
            (FieldType::Text, "bell\u{7}", "control"),
            (FieldType::Text, "Evil \u{202e}exe.txt", "direction"),
            (
                FieldType::Timestamp,
                "9999-12-31T23:30:00-01:00",
                "out of range",
            ),
        ];
        for (ty, text, reason) in cases {
            let err = Value::parse(*ty, text).unwrap_err();
            assert!(err.contains(reason), "{ty:?} {text:?}: {err}");
        }
        // An id's limit is in characters, not bytes.
        for (text, ok) in [
            ("x".repeat(128), true),
            ("x".repeat(129), false),
            ("é".repeat(128), true),
            ("é".repeat(129), false),
        ] {
            let parsed = Value::parse(FieldType::Id, &text);
            assert_eq!(parsed.is_ok(), ok, "{} bytes: {parsed:?}", text.len());
        }
    }

    #[test]
    fn countries_are_normalised_to_capitals_without_spaces() {
        let v = Value::parse(FieldType::Countries, "ae ; in").unwrap();
        assert_eq!(v, Value::Text("AE;IN".into()));
        let v = Value::parse(FieldType::Country, "fr").unwrap();
        assert_eq!(v, Value::Text("FR".into()));
    }

    #[test]
    fn whole_numbers_are_json_numbers() {
        assert_eq!(Value::Int(42).to_json(), serde_json::json!(42));
        assert_eq!(Value::Int(42).to_text(), "42");
    }

    #[test]
    fn timestamps_are_normalised_to_utc() {
        let v = Value::parse(FieldType::Timestamp, "2026-07-01T10:00:00+01:00").unwrap();
        assert_eq!(v.to_text(), "2026-07-01T09:00:00Z");
        let v = Value::parse(FieldType::Timestamp, "2026-07-01T10:00:00.1234567Z").unwrap();
        assert_eq!(v.to_text(), "2026-07-01T10:00:00.123456Z");
    }

    #[test]
    fn a_stored_date_is_read_as_chrono_reads_it() {
        for text in [
            "2026-12-07",
            "0001-01-01",
            "9999-12-31",
            "2024-02-29",
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-12-32",
            "2026-12-00",
            "2026-1-01",
            "2026-01-1",
            "20260101",
            "2026/01/01",
            "2026-01-01 ",
            " 2026-01-01",
            "+2026-01-01",
            "12026-01-01",
            "abcd-ef-gh",
            "",
            "2026-01-0x",
            "0000-01-01",
            "-001-01-01",
        ] {
            assert_eq!(
                read_date(text).ok(),
                NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
                "{text:?}"
            );
        }
    }
}
