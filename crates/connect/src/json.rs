//! Reading fields of a vendor's JSON leniently: an absent, null, empty or wrongly typed field is
//! "not said" (`None`), never an error, since the vendors leave out what a device or licence
//! lacks.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value as Json;

/// A text field, trimmed; `path` is a key or a JSON pointer (`/general/name`).
pub fn text(j: &Json, path: &str) -> Option<String> {
    at(j, path)
        .and_then(|v| match v {
            Json::String(s) => Some(s.trim().to_owned()),
            Json::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .filter(|s| !s.is_empty())
}

pub fn flag(j: &Json, path: &str) -> Option<bool> {
    at(j, path).and_then(Json::as_bool)
}

/// An RFC 3339 time; the vendors' "never" (the year 1 or 1970's first instant) is `None`.
pub fn time(j: &Json, path: &str) -> Option<DateTime<Utc>> {
    text(j, path)
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| t.timestamp() > 0)
}

/// A date, written as a date or as the date of a time.
pub fn date(j: &Json, path: &str) -> Option<NaiveDate> {
    let t = text(j, path)?;
    NaiveDate::parse_from_str(t.get(..10).unwrap_or(&t), "%Y-%m-%d")
        .ok()
        .or_else(|| time(j, path).map(|t| t.date_naive()))
}

pub fn lower(j: &Json, path: &str) -> Option<String> {
    text(j, path).map(|s| s.to_lowercase())
}

fn at<'j>(j: &'j Json, path: &str) -> Option<&'j Json> {
    if path.starts_with('/') {
        j.pointer(path)
    } else {
        j.get(path)
    }
}

/// A list field's items (an absent list is empty).
pub fn list<'j>(j: &'j Json, path: &str) -> impl Iterator<Item = &'j Json> {
    at(j, path).and_then(Json::as_array).into_iter().flatten()
}
