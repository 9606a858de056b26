//! A request's or an incident's particulars: named text values, kept as a JSON object.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use steward_model::{FieldType, Pence, Value};

use crate::{Result, WorkflowError};

/// The most characters one value may have: as much as a register's longest free text (a
/// reason, facts, evidence), which many values become.
pub const DETAIL_CHARS: usize = steward_model::LONG_TEXT;

/// Named values, such as `countries=FR;BE` or `leave_date=2026-12-31`, in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details(BTreeMap<String, String>);

impl Details {
    /// Reads the stored JSON object; an absent or empty text is no details.
    pub fn parse(text: Option<&str>) -> Result<Details> {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            return Ok(Details::default());
        };
        let bad = |reason: String| WorkflowError::BadDetail {
            key: "details".into(),
            value: text.to_owned(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not a JSON object: {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(bad("not a JSON object".into()));
        };
        let mut out = BTreeMap::new();
        for (k, v) in map {
            match v {
                serde_json::Value::String(s) => {
                    out.insert(k, s);
                }
                other => return Err(bad(format!("{k} is {other}, not text"))),
            }
        }
        Ok(Details(out))
    }

    /// `KEY=VALUE` pairs as typed on the command line or posted by a form. A key must be a word
    /// of letters, digits and `_`; values may hold anything but control characters.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Result<Details> {
        let mut out = Details::default();
        for (k, v) in pairs {
            out.set(k.as_ref(), v.as_ref())?;
        }
        Ok(out)
    }

    /// Sets one value; refused if the key is not a word, or the value holds a control character
    /// or is longer than [`DETAIL_CHARS`].
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(WorkflowError::BadDetail {
                key: key.to_owned(),
                value: value.to_owned(),
                reason: "a key is letters, digits and _".into(),
            });
        }
        if value.chars().any(char::is_control) {
            return Err(WorkflowError::BadDetail {
                key: key.to_owned(),
                value: value.to_owned(),
                reason: "contains a control character".into(),
            });
        }
        let value = value.trim();
        // Counting stops just past the limit: a megabyte costs no more than the limit does.
        if value.chars().nth(DETAIL_CHARS).is_some() {
            return Err(WorkflowError::BadDetail {
                key: key.to_owned(),
                value: value.to_owned(),
                reason: format!(
                    "too long ({} characters; at most {DETAIL_CHARS})",
                    value.chars().count()
                ),
            });
        }
        if value.is_empty() {
            self.0.remove(key);
        } else {
            self.0.insert(key.to_owned(), value.to_owned());
        }
        Ok(())
    }

    /// Adds `other`'s values over these.
    pub fn merge(&mut self, other: &Details) {
        for (k, v) in &other.0 {
            self.0.insert(k.clone(), v.clone());
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stored form: `None` when empty, else a compact JSON object in key order.
    pub fn to_json(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let map: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        Some(serde_json::Value::Object(map).to_string())
    }

    /// A required value, typed by parsing it as the interchange files would.
    pub(crate) fn need(
        &self,
        kind: &str,
        key: &'static str,
        hint: &'static str,
        ty: FieldType,
    ) -> Result<Value> {
        match self.typed(key, ty)? {
            Some(v) => Ok(v),
            None => Err(WorkflowError::MissingDetail {
                kind: kind.to_owned(),
                key,
                hint,
            }),
        }
    }

    pub(crate) fn typed(&self, key: &str, ty: FieldType) -> Result<Option<Value>> {
        let Some(text) = self.get(key) else {
            return Ok(None);
        };
        match Value::parse(ty, text) {
            Ok(Value::Null) => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(reason) => Err(WorkflowError::BadDetail {
                key: key.to_owned(),
                value: text.to_owned(),
                reason,
            }),
        }
    }

    pub(crate) fn date(&self, key: &str) -> Result<Option<NaiveDate>> {
        Ok(match self.typed(key, FieldType::Date)? {
            Some(Value::Date(d)) => Some(d),
            _ => None,
        })
    }

    pub(crate) fn timestamp(&self, key: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(match self.typed(key, FieldType::Timestamp)? {
            Some(Value::Timestamp(t)) => Some(t),
            _ => None,
        })
    }

    pub(crate) fn money(&self, key: &str) -> Result<Option<Pence>> {
        Ok(match self.typed(key, FieldType::Money)? {
            Some(Value::Money(p)) => Some(p),
            _ => None,
        })
    }

    /// A `;`-separated list of words (asset tags).
    pub(crate) fn words(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|t| {
                t.split(';')
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Yes or no, spelt as the forms do.
    pub(crate) fn flag(&self, key: &str) -> Result<bool> {
        match self.get(key) {
            None => Ok(false),
            Some("yes" | "true" | "y") => Ok(true),
            Some("no" | "false" | "n") => Ok(false),
            Some(other) => Err(WorkflowError::BadDetail {
                key: key.to_owned(),
                value: other.to_owned(),
                reason: "expected yes or no".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_past_the_limit_is_refused_and_shown_cut_short() {
        let at_limit = "x".repeat(DETAIL_CHARS);
        assert!(Details::from_pairs(&[("facts", at_limit.as_str())]).is_ok());
        let over = "x".repeat(DETAIL_CHARS + 1);
        let refused = Details::from_pairs(&[("facts", over.as_str())]);
        let Err(e) = refused else {
            panic!("an over-long value was kept");
        };
        assert!(
            matches!(&e, WorkflowError::BadDetail { key, reason, .. }
                if key == "facts" && reason == "too long (4001 characters; at most 4000)"),
            "{e:?}"
        );
        // The message names the field and the limit without repeating the value whole.
        let said = e.to_string();
        assert!(said.starts_with("facts: \"xxx"), "{said}");
        assert!(said.len() < 200, "{said}");
    }
}
