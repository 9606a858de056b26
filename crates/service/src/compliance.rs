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
                let failing = failing.0.get(key).map_or(0, HashSet::len);
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

/// The subjects failing under each pack and section, by (kind, id).
#[derive(Debug, Default)]
pub(crate) struct Failing(BTreeMap<(String, String), HashSet<(String, String)>>);

impl Failing {
    /// Counts `finding` against its subject unless an exception covers it on `day`.
    pub(crate) fn add(&mut self, finding: &Finding, covers: &Covers) {
        if covers.covers(finding) {
            return;
        }
        for section in [section_of(&finding.clause), ""] {
            self.0
                .entry((finding.pack.clone(), section.to_owned()))
                .or_default()
                .insert((finding.subject.kind.clone(), finding.subject.id.clone()));
        }
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
                f.pack.clone(),
                f.clause.clone(),
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
