//! A finding: one subject failing one control of one policy pack, and where it stands.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

/// What a check run produced for one subject and one control. Everything a person needs to act:
/// the clause it comes from (quoted), the data that triggered it, who must act and by when.
///
/// What every finding of one control says alike (its pack, clause, control, severity, the
/// clause quoted, who acts) is [`Shared`]: a run of a control failing for tens of thousands of
/// subjects holds each once, not a copy per finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub pack: Shared,
    pub version: Shared,
    pub clause: Shared,
    pub control: Shared,
    pub subject: Subject,
    /// `info`, `low`, `medium`, `high` or `critical`.
    pub severity: Shared,
    pub message: String,
    /// The same said to the person it concerns ("Your laptop …"), where the control has one:
    /// what their own page shows. Not part of the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_you: Option<String>,
    /// The clause's text, quoted.
    pub clause_text: Shared,
    /// The fields that triggered it and their values, by path (`asset.last_seen`).
    pub evidence: Evidence,
    /// `person`, `line_manager`, `it_team`, `governance_team` or `iao`.
    pub who_acts: Shared,
    pub due: Option<NaiveDate>,
    /// Set when the rule could not be decided for this subject (unknown data), with the reason.
    pub undecided: Option<String>,
}

/// Text that many findings hold alike, kept once.
pub type Shared = Arc<str>;

/// A control's evidence paths (`asset.last_seen`), in order and each once: held once, and shared
/// by the [`Evidence`] of every finding of the control (a run makes hundreds of thousands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidencePaths(Arc<[Shared]>);

impl EvidencePaths {
    /// `paths` put in order, each kept once.
    pub fn new(paths: impl IntoIterator<Item = Shared>) -> EvidencePaths {
        let mut paths: Vec<Shared> = paths.into_iter().collect();
        paths.sort();
        paths.dedup();
        EvidencePaths(paths.into())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The paths, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Shared> {
        self.0.iter()
    }
}

impl Default for EvidencePaths {
    fn default() -> EvidencePaths {
        EvidencePaths(Arc::new([]))
    }
}

/// The fields that triggered a finding and their values, by path (`asset.last_seen`), in the
/// paths' order. A control's paths are the same for every finding of it, held once
/// ([`EvidencePaths`]); the values are one text, one after another: a finding's evidence is two
/// small allocations however many paths it has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    paths: EvidencePaths,
    /// Where each path's value ends in `values`, path by path.
    ends: Box<[u32]>,
    values: Box<str>,
}

impl Evidence {
    /// `path`'s value, where the evidence has it.
    pub fn get(&self, path: &str) -> Option<&str> {
        let i = self.paths.0.binary_search_by(|p| (**p).cmp(path)).ok()?;
        Some(self.value(i))
    }

    /// The `i`th path's value.
    fn value(&self, i: usize) -> &str {
        let end_of = |i: usize| self.ends.get(i).map(|&end| end as usize);
        let start = i.checked_sub(1).and_then(end_of).unwrap_or(0);
        let end = end_of(i).unwrap_or(start);
        self.values.get(start..end).unwrap_or("")
    }

    /// Sets `path`'s value; returns the one it replaces.
    pub fn insert(&mut self, path: Shared, value: String) -> Option<String> {
        let mut pairs: Vec<(Shared, String)> = self
            .iter()
            .map(|(p, v)| (p.clone(), v.to_owned()))
            .collect();
        let replaced = match pairs.binary_search_by(|(p, _)| p.cmp(&path)) {
            Ok(i) => pairs.get_mut(i).map(|(_, v)| std::mem::replace(v, value)),
            Err(i) => {
                pairs.insert(i, (path, value));
                None
            }
        };
        *self = pairs.into_iter().collect();
        replaced
    }

    /// Evidence of each of `paths`, the value of the `n`th appended by `write(of, buffer)` (`of`:
    /// the `n`th item of `items`; a path past the items' end has no value) after the ones before
    /// it into `buffer` (cleared first: a scratch kept from one finding to the next), the values
    /// then copied out in one piece at their length. (A writer that takes back what the ones
    /// before it wrote spoils their values, and nothing else.) What a check run makes for every
    /// finding, `paths` the control's.
    pub fn written<T>(
        paths: &EvidencePaths,
        items: impl IntoIterator<Item = T>,
        buffer: &mut String,
        mut write: impl FnMut(T, &mut String),
    ) -> Evidence {
        buffer.clear();
        let mut ends = Vec::with_capacity(paths.len());
        let mut items = items.into_iter();
        for _ in paths.iter() {
            if let Some(of) = items.next() {
                write(of, buffer);
            }
            ends.push(end_within_bounds(buffer));
        }
        Evidence {
            paths: paths.clone(),
            ends: ends.into(),
            values: buffer.as_str().into(),
        }
    }

    /// Each path and its value, in the paths' order.
    pub fn iter(&self) -> EvidenceIter<'_> {
        EvidenceIter {
            evidence: self,
            next: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn clear(&mut self) {
        *self = Evidence::default();
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

/// Where `values` ends now, as an [`Evidence`] keeps it: values past 4 GiB in all (no estate's
/// field is near it) are cut back to the last whole character before it.
fn end_within_bounds(values: &mut String) -> u32 {
    if let Ok(end) = u32::try_from(values.len()) {
        return end;
    }
    let mut end = u32::MAX as usize;
    while !values.is_char_boundary(end) {
        end -= 1;
    }
    values.truncate(end);
    end as u32
}

impl<P: Into<Shared>> FromIterator<(P, String)> for Evidence {
    /// In the paths' order; of a path given twice, the last value (as a map would keep).
    fn from_iter<I: IntoIterator<Item = (P, String)>>(pairs: I) -> Evidence {
        let mut pairs: Vec<(Shared, String)> =
            pairs.into_iter().map(|(p, v)| (p.into(), v)).collect();
        // Stable: of equal paths, the one given last ends last. (A control's paths arrive in
        // order already: then this is one look over them.)
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        // Of a run of one path, the first place is kept holding the last value.
        pairs.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        let mut values = String::with_capacity(pairs.iter().map(|(_, v)| v.len()).sum());
        let mut ends = Vec::with_capacity(pairs.len());
        let mut paths = Vec::with_capacity(pairs.len());
        for (path, value) in pairs {
            values.push_str(&value);
            ends.push(end_within_bounds(&mut values));
            paths.push(path);
        }
        Evidence {
            // In order and each once already.
            paths: EvidencePaths(paths.into()),
            ends: ends.into(),
            values: values.into(),
        }
    }
}

impl<P: Into<Shared>, const N: usize> From<[(P, String); N]> for Evidence {
    fn from(pairs: [(P, String); N]) -> Evidence {
        pairs.into_iter().collect()
    }
}

/// [`Evidence::iter`]: each path and its value, in the paths' order.
pub struct EvidenceIter<'a> {
    evidence: &'a Evidence,
    next: usize,
}

impl<'a> Iterator for EvidenceIter<'a> {
    type Item = (&'a Shared, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let path = self.evidence.paths.0.get(self.next)?;
        let value = self.evidence.value(self.next);
        self.next += 1;
        Some((path, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.evidence.paths.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for EvidenceIter<'_> {}

impl<'a> IntoIterator for &'a Evidence {
    type Item = (&'a Shared, &'a str);
    type IntoIter = EvidenceIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// As a JSON object, its keys the paths in order: as the map it replaces was written.
impl serde::Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.len()))?;
        for (path, value) in self {
            map.serialize_entry(&**path, value)?;
        }
        map.end()
    }
}

/// What a finding is about: a record of the estate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Subject {
    /// `person`, `asset`, `account`, `system`, `usage`, `sighting`, `travel`, …
    #[serde(rename = "type")]
    pub kind: std::borrow::Cow<'static, str>,
    pub id: String,
}

impl Finding {
    /// Identifies a finding across runs: the same control failing for the same subject is the
    /// same finding, whatever its message says today.
    pub fn key(&self) -> String {
        self.subject.key_in(&self.pack, &self.control)
    }
}

impl Subject {
    /// The key of the finding of control `control` of pack `pack` about this subject
    /// ([`Finding::key`]).
    pub fn key_in(&self, pack: &str, control: &str) -> String {
        // Made for every finding of every run: `join` sizes it once, without `format!`'s
        // machinery.
        [pack, control, &self.kind, &self.id].join("/")
    }
}

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingState {
    /// Failing, within its grace period or not yet escalated.
    Open,
    /// Failing past an escalation step.
    Escalated,
    /// No longer failing.
    Resolved,
    /// Failing, but covered by an unexpired exception.
    Excepted,
}

/// A finding as stored, with its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredFinding {
    pub finding: Finding,
    pub state: FindingState,
    /// When it began failing this time; an unchanged failure keeps it across runs.
    pub first_failing: DateTime<Utc>,
    /// The last run that saw it failing.
    pub last_failing: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The exception covering it, by id, while excepted.
    pub exception: Option<String>,
    /// How many of its control's escalation steps (beyond "past due") it has reached in this
    /// episode of failing: 0 until the first step's days have passed.
    pub escalation_step: u32,
}

impl Finding {
    /// The severities, least severe first: a severity's place here is its rank.
    pub const SEVERITIES: [&'static str; 5] = ["info", "low", "medium", "high", "critical"];

    /// Who may be asked to act on a finding.
    pub const WHO_ACTS: [&'static str; 5] = [
        "person",
        "line_manager",
        "it_team",
        "governance_team",
        "iao",
    ];

    /// How severe a severity is: 1 (`info`) to 5 (`critical`); 0 for a word that is none of
    /// [`Finding::SEVERITIES`].
    pub fn severity_rank(severity: &str) -> u8 {
        Self::SEVERITIES
            .iter()
            .position(|s| *s == severity)
            .map_or(0, |i| i as u8 + 1)
    }
}

impl FindingState {
    pub const ALL: [FindingState; 4] = [
        FindingState::Open,
        FindingState::Escalated,
        FindingState::Resolved,
        FindingState::Excepted,
    ];

    /// The stored spelling: `open`, `escalated`, `resolved` or `excepted`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingState::Open => "open",
            FindingState::Escalated => "escalated",
            FindingState::Resolved => "resolved",
            FindingState::Excepted => "excepted",
        }
    }

    pub fn parse(s: &str) -> Option<FindingState> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// Whether a finding in this state is still failing (excepted ones are: covered, not fixed).
    pub fn is_failing(self) -> bool {
        self != FindingState::Resolved
    }
}

impl std::fmt::Display for FindingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_spell_as_serde_does_and_parse_back() {
        for state in FindingState::ALL {
            assert_eq!(FindingState::parse(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::String(state.to_string())
            );
        }
        assert_eq!(FindingState::parse("closed"), None);
        assert!(!FindingState::Resolved.is_failing());
        assert!(FindingState::Excepted.is_failing());
    }

    /// Evidence behaves as the map of paths to values it replaced: in the paths' order, the
    /// last value of a path given twice, written out as the same JSON object.
    #[test]
    fn evidence_keeps_paths_in_order_as_a_map_would() {
        use std::collections::BTreeMap;
        let given: &[&[(&str, &str)]] = &[
            &[],
            &[("asset.id", "A1")],
            &[("b", "2"), ("a", "1"), ("c", "3")],
            &[("a", "1"), ("a", "2"), ("b", "x"), ("a", "3")],
            &[
                ("person.name", "Zoë"),
                ("person.manager.name", "\"Al\""),
                ("Person", ""),
            ],
            &[("x", ""), ("y", ""), ("z", "😀 last")],
        ];
        for pairs in given {
            let owned = || pairs.iter().map(|(p, v)| (*p, (*v).to_owned()));
            let evidence: Evidence = owned().collect();
            let map: BTreeMap<String, String> = owned().map(|(p, v)| (p.to_owned(), v)).collect();
            let listed: Vec<(&str, &str)> = evidence.iter().map(|(p, v)| (&**p, v)).collect();
            let mapped: Vec<(&str, &str)> =
                map.iter().map(|(p, v)| (p.as_str(), v.as_str())).collect();
            assert_eq!(listed, mapped, "{pairs:?}");
            assert_eq!(evidence.len(), map.len());
            assert_eq!(
                serde_json::to_string(&evidence).ok(),
                serde_json::to_string(&map).ok(),
                "{pairs:?}"
            );
            for (path, value) in &map {
                assert_eq!(evidence.get(path), Some(value.as_str()));
            }
            assert_eq!(evidence.get("nowhere"), None);
            // Inserted one by one, in any order, it is the same.
            let mut one_by_one = Evidence::default();
            for (path, value) in owned().rev() {
                let _ = one_by_one.insert(path.into(), value);
            }
            let firsts: Evidence = owned().rev().collect();
            assert_eq!(one_by_one, firsts, "{pairs:?}");
            // Written value after value into a buffer (as a check run makes evidence), from a
            // buffer holding the finding before's: the same.
            // Each path's value as the map keeps it, the paths as a control holds them.
            let paths = EvidencePaths::new(pairs.iter().map(|(p, _)| Shared::from(*p)));
            let mut buffer = String::from("the finding before's");
            let values = paths.iter().filter_map(|p| map.get(&**p));
            let written = Evidence::written(&paths, values, &mut buffer, |value, out| {
                out.push_str(value)
            });
            assert_eq!(written, evidence, "{pairs:?}");
        }
        // A writer that takes back what the ones before it wrote spoils their values: every
        // path is still there, and nothing panics.
        let paths = EvidencePaths::new(["c", "b", "a", "b"].map(Shared::from));
        let mut buffer = String::new();
        let spoilt = Evidence::written(&paths, 0..3, &mut buffer, |n, out| match n {
            1 => out.clear(),
            _ => out.push_str("Siân"),
        });
        let read: Vec<(&str, &str)> = spoilt.iter().map(|(p, v)| (&**p, v)).collect();
        assert_eq!(read.len(), 3);
        assert_eq!(read.last(), Some(&("c", "Siân")));
        // Fewer items than paths: the paths past them have no value.
        let short = Evidence::written(&paths, ["1"], &mut buffer, |v, out| out.push_str(v));
        let read: Vec<(&str, &str)> = short.iter().map(|(p, v)| (&**p, v)).collect();
        assert_eq!(read, [("a", "1"), ("b", ""), ("c", "")]);
        let mut e = Evidence::from([("a", "1".to_owned())]);
        assert_eq!(e.insert("a".into(), "2".into()), Some("1".to_owned()));
        assert_eq!(e.insert("0".into(), "0".into()), None);
        assert_eq!(
            e.iter().map(|(p, _)| p.to_string()).collect::<Vec<_>>(),
            ["0", "a"]
        );
    }

    #[test]
    fn severities_rank_in_order() {
        assert_eq!(Finding::severity_rank("info"), 1);
        assert_eq!(Finding::severity_rank("critical"), 5);
        assert!(Finding::severity_rank("high") > Finding::severity_rank("medium"));
        assert_eq!(Finding::severity_rank("urgent"), 0);
    }
}
