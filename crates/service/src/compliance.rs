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
/// id, and a section holds the numbers of its failing subjects: a run failing a million subjects
/// under a dozen sections holds each subject's id once, not once per section (freeing millions
/// of small strings at the end of a run stalled every other thread of the server).
#[derive(Debug, Default)]
pub(crate) struct Failing {
    /// Kind → id → the subject's number. (Looked up for every finding of a run: foldhash.)
    numbers: foldhash::HashMap<String, foldhash::HashMap<String, u32>>,
    /// How many subjects are numbered: the next one's number.
    numbered: u32,
    /// Pack → section (`""`: the whole pack) → the numbers of its failing subjects.
    sections: foldhash::HashMap<String, foldhash::HashMap<String, foldhash::HashSet<u32>>>,
}

impl Failing {
    /// Counts `finding` against its subject unless an exception covers it on `day`.
    pub(crate) fn add(&mut self, finding: &Finding, covers: &Covers) {
        if covers.covers(finding) {
            return;
        }
        let ids = entry(&mut self.numbers, &finding.subject.kind);
        let number = match ids.get(finding.subject.id.as_str()) {
            Some(n) => *n,
            None => {
                let next = self.numbered;
                ids.insert(finding.subject.id.clone(), next);
                self.numbered = next.saturating_add(1);
                next
            }
        };
        let sections = entry(&mut self.sections, &finding.pack);
        for section in [section_of(&finding.clause), ""] {
            entry(sections, section).insert(number);
        }
    }

    /// How many subjects fail under a pack's section (`""`: the whole pack).
    fn count(&self, (pack, section): &(String, String)) -> usize {
        self.sections
            .get(pack)
            .and_then(|s| s.get(section))
            .map_or(0, |s| s.len())
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

/// The exceptions in force on a day, by what they cover.
pub(crate) struct Covers(HashSet<(String, String, String, String)>);

impl Covers {
    pub(crate) fn new(covers: &[ExceptionCover], day: NaiveDate) -> Covers {
        Covers(
            covers
                .iter()
                .filter(|c| !c.expired_on(day))
                .map(|c| {
                    (
                        c.pack.clone(),
                        c.clause.clone(),
                        c.subject_type.clone(),
                        c.subject_id.clone(),
                    )
                })
                .collect(),
        )
    }

    fn covers(&self, f: &Finding) -> bool {
        // Few exceptions, many findings: a look-up per finding, keys built only when any exist.
        !self.0.is_empty()
            && self.0.contains(&(
                f.pack.to_string(),
                f.clause.to_string(),
                f.subject.kind.clone(),
                f.subject.id.clone(),
            ))
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
        for f in findings {
            failing.add(f, &covers);
        }
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
