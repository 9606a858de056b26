//! Where each policy stands: of the subjects a pack's check controls looked at, the share with no
//! failing finding (a finding under an exception does not count against its subject: the
//! organisation accepted it). Tallied per pack and per section (the clause number's first part,
//! [`steward_policy::section_of`]) as a run is recorded, and kept per day in the organisation's
//! time zone, so a dashboard shows where each section stands today and how it has moved.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use steward_engine::ControlRun;
use steward_model::Finding;
use steward_policy::section_of;
use steward_rules::Data;
use steward_store::{ComplianceDay, ExceptionCover};

use crate::{Result, Stamp, Steward};

/// The subjects each pack's and section's check controls looked at in one evaluation, each kind
/// of record a bit set over the evaluation's records (a subject facing five controls of a
/// section is one subject of it).
#[derive(Debug, Clone, Default)]
pub struct Checked {
    sections: BTreeMap<(String, String), HashMap<&'static str, Vec<u64>>>,
}

impl Checked {
    /// Counts the subjects `run` looked at, under its section and under its whole pack.
    pub fn add(&mut self, run: &ControlRun, data: &Data) {
        let words = data.count(run.kind).div_ceil(64);
        for section in [section_of(&run.clause), ""] {
            let bits = self
                .sections
                .entry((run.pack.clone(), section.to_owned()))
                .or_default()
                .entry(run.kind.name())
                .or_insert_with(|| vec![0; words]);
            for &i in &run.checked {
                if let Some(word) = bits.get_mut(i as usize / 64) {
                    *word |= 1 << (i % 64);
                }
            }
        }
    }

    /// The packs it holds tallies for.
    pub fn packs(&self) -> Vec<String> {
        let mut packs: Vec<String> = self.sections.keys().map(|(p, _)| p.clone()).collect();
        packs.dedup();
        packs
    }

    /// Each pack's and section's standing on `day`, `failing` holding its failing subjects.
    fn days(&self, day: NaiveDate, failing: &Failing) -> Vec<ComplianceDay> {
        self.sections
            .iter()
            .map(|(key, kinds)| {
                let checked: u64 = kinds
                    .values()
                    .flat_map(|bits| bits.iter().map(|w| u64::from(w.count_ones())))
                    .sum();
                let failing = failing.count(key);
                ComplianceDay {
                    pack: key.0.clone(),
                    section: key.1.clone(),
                    day,
                    checked: i64::try_from(checked).unwrap_or(i64::MAX),
                    // A failing subject was checked; the minimum guards a tally made from
                    // findings of another evaluation.
                    failing: i64::try_from(failing)
                        .unwrap_or(i64::MAX)
                        .min(i64::try_from(checked).unwrap_or(i64::MAX)),
                }
            })
            .collect()
    }
}

/// The subjects failing under each pack and section. Each subject is numbered once, by kind and
/// id, and a section holds a bit per number, set where its subject fails: a run failing a million
/// subjects under a dozen sections holds each subject's id once, not once per section (freeing
/// millions of small strings at the end of a run stalled every other thread of the server).
#[derive(Debug, Default)]
pub(crate) struct Failing {
    /// Kind → id → the subject's number. (Looked up for every finding of a run: foldhash.)
    numbers: foldhash::HashMap<String, foldhash::HashMap<String, u32>>,
    /// How many subjects are numbered: the next one's number.
    numbered: u32,
    /// Pack → section (`""`: the whole pack) → a bit per subject number, set where it fails.
    sections: foldhash::HashMap<String, foldhash::HashMap<String, Vec<u64>>>,
}

impl Failing {
    /// Counts each of `findings` against its subject unless an exception covers it. Findings of
    /// one pack, clause and kind side by side (a control's, as a run hands them over) share
    /// their look-ups of section and exceptions.
    pub(crate) fn add(&mut self, findings: &[Finding], covers: &Covers) {
        let alike = |a: &Finding, b: &Finding| {
            a.pack == b.pack && a.clause == b.clause && a.subject.kind == b.subject.kind
        };
        let mut numbers = Vec::new();
        for findings in findings.chunk_by(alike) {
            let Some(first) = findings.first() else {
                continue;
            };
            let excepted = covers.ids(&first.pack, &first.clause, &first.subject.kind);
            let ids = entry(&mut self.numbers, &first.subject.kind);
            numbers.clear();
            for f in findings {
                if excepted.is_some_and(|ids| ids.contains(f.subject.id.as_str())) {
                    continue;
                }
                numbers.push(match ids.get(f.subject.id.as_str()) {
                    Some(n) => *n,
                    None => {
                        let next = self.numbered;
                        ids.insert(f.subject.id.clone(), next);
                        self.numbered = next.saturating_add(1);
                        next
                    }
                });
            }
            let sections = entry(&mut self.sections, &first.pack);
            // Every number given so far fits.
            let words = (self.numbered as usize).div_ceil(64);
            for section in [section_of(&first.clause), ""] {
                let bits = entry(sections, section);
                if bits.len() < words {
                    bits.resize(words, 0);
                }
                for &n in &numbers {
                    if let Some(w) = bits.get_mut(n as usize / 64) {
                        *w |= 1 << (n % 64);
                    }
                }
            }
        }
    }

    /// How many subjects fail under a pack's section (`""`: the whole pack).
    fn count(&self, (pack, section): &(String, String)) -> usize {
        self.sections
            .get(pack)
            .and_then(|s| s.get(section))
            .map_or(0, |bits| bits.iter().map(|w| w.count_ones() as usize).sum())
    }
}

/// The value at `key`, made with its default when absent, without allocating the key when
/// present (the common case: a map is looked up once per finding).
fn entry<'m, V: Default, S: std::hash::BuildHasher>(
    map: &'m mut HashMap<String, V, S>,
    key: &str,
) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    match map.get_mut(key) {
        Some(v) => v,
        None => unreachable!("inserted above"),
    }
}

/// The exceptions in force on a day: by pack, clause and kind of subject, the ids they cover.
pub(crate) struct Covers(HashMap<(String, String, String), HashSet<String>>);

impl Covers {
    pub(crate) fn new(covers: &[ExceptionCover], day: NaiveDate) -> Covers {
        let mut by = HashMap::<_, HashSet<String>>::new();
        for c in covers.iter().filter(|c| !c.expired_on(day)) {
            by.entry((c.pack.clone(), c.clause.clone(), c.subject_type.clone()))
                .or_default()
                .insert(c.subject_id.clone());
        }
        Covers(by)
    }

    /// The ids of the subjects of `kind` excepted from `pack`'s `clause`, where any are.
    fn ids(&self, pack: &str, clause: &str, kind: &str) -> Option<&HashSet<String>> {
        // Few exceptions, many findings: looked up once for a control's findings, its key
        // built only when any exist.
        if self.0.is_empty() {
            return None;
        }
        self.0
            .get(&(pack.to_owned(), clause.to_owned(), kind.to_owned()))
    }
}

impl Steward {
    /// Records where each pack of `checked` stood after a run at `stamp.at` that found
    /// `findings`: one row per pack and section for the run's day (replacing that day's earlier
    /// rows).
    pub fn record_compliance(
        &self,
        stamp: &Stamp,
        checked: &Checked,
        findings: &[Finding],
    ) -> Result<()> {
        let covers = Covers::new(
            &self.exception_covers(&checked.packs())?,
            stamp.at.date_naive(),
        );
        let mut failing = Failing::default();
        failing.add(findings, &covers);
        self.record_tallies(stamp, checked, &failing)
    }

    pub(crate) fn record_tallies(
        &self,
        stamp: &Stamp,
        checked: &Checked,
        failing: &Failing,
    ) -> Result<()> {
        let day = self.local_date(stamp.at)?;
        Ok(self
            .store()
            .record_compliance(&checked.days(day, failing))?)
    }

    /// Every pack's and section's standing from `since` on, by pack, section and day.
    pub fn compliance(&self, since: NaiveDate) -> Result<Vec<ComplianceDay>> {
        Ok(self.store().compliance(since)?)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use steward_model::Subject;

    fn finding(pack: &str, clause: &str, kind: &str, id: &str) -> Finding {
        Finding {
            pack: pack.into(),
            version: "1".into(),
            clause: clause.into(),
            control: "c".into(),
            subject: Subject {
                kind: kind.to_owned().into(),
                id: id.into(),
            },
            severity: "high".into(),
            message: String::new(),
            message_you: None,
            clause_text: "".into(),
            evidence: Default::default(),
            who_acts: "it_team".into(),
            due: None,
            undecided: None,
        }
    }

    /// Counted a control's findings at a time, as a run hands them over, or as one list of
    /// every control's: each pack's and section's failing subjects, each once, those excepted
    /// from the clause left out.
    #[test]
    fn failing_subjects_are_counted_once_per_section_less_those_excepted() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
        let mut findings = Vec::new();
        // 150 people fail 2.1 and 2.3 (one section); 70 of them also fail 5.1; assets fail 2.1.
        for n in 0..150 {
            findings.push(finding("it", "2.1", "person", &format!("P{n}")));
        }
        for n in 0..150 {
            findings.push(finding("it", "2.3", "person", &format!("P{n}")));
        }
        for n in (0..140).step_by(2) {
            findings.push(finding("it", "5.1", "person", &format!("P{n}")));
        }
        for n in 0..3 {
            findings.push(finding("it", "2.1", "asset", &format!("P{n}")));
        }
        findings.push(finding("ia", "1", "person", "P1"));
        let cover = |clause: &str, id: &str, expires_on| ExceptionCover {
            id: format!("EX-{clause}-{id}"),
            pack: "it".into(),
            clause: clause.into(),
            subject_type: "person".into(),
            subject_id: id.into(),
            expires_on,
        };
        let covers = [
            // P0 excepted from 5.1 alone: still failing 2.x, so still failing the pack.
            cover("5.1", "P0", None),
            // P149 excepted from both of section 2's clauses.
            cover("2.1", "P149", None),
            cover("2.3", "P149", Some(day)),
            // Lapsed yesterday: covers nothing.
            cover("5.1", "P2", day.pred_opt()),
        ];
        let covers = Covers::new(&covers, day);
        // What each pack's section holds, the slow way.
        let mut expected: BTreeMap<(String, String), BTreeSet<(String, String)>> = BTreeMap::new();
        for f in &findings {
            let excepted = (f.clause.as_ref(), f.subject.id.as_str()) == ("5.1", "P0")
                || (f.clause.starts_with("2.")
                    && f.subject.id == "P149"
                    && f.subject.kind == "person");
            if excepted {
                continue;
            }
            for section in [section_of(&f.clause), ""] {
                expected
                    .entry((f.pack.to_string(), section.to_owned()))
                    .or_default()
                    .insert((f.subject.kind.to_string(), f.subject.id.clone()));
            }
        }
        let mut whole = Failing::default();
        whole.add(&findings, &covers);
        let mut by_control = Failing::default();
        for control in findings.chunk_by(|a, b| a.clause == b.clause) {
            by_control.add(control, &covers);
        }
        for (key, subjects) in &expected {
            assert_eq!(whole.count(key), subjects.len(), "{key:?}");
            assert_eq!(by_control.count(key), subjects.len(), "{key:?}");
        }
        assert_eq!(whole.count(&("it".into(), "2".into())), 149 + 3);
        // P149 fails nothing but section 2, where it is excepted.
        assert_eq!(whole.count(&("it".into(), "".into())), 149 + 3);
        assert_eq!(whole.count(&("ia".into(), "9".into())), 0);
    }
}
