//! Running the policy packs' checks over the database: the same path for `steward check`, the
//! web server after a step changes the registers, and the demo.

use chrono::{DateTime, Utc};
use steward_engine::{At, Engine, RunOrder};
use steward_model::{Finding, Register};
use steward_policy::{Overrides, Pack, ParamValue};
use steward_rules::{Data, Kind};

use crate::compliance::{Checked, Covers, Failing};
use crate::{FindingsSummary, Result, ServiceError, Stamp, Steward};

/// A pack's effective parameters: the organisation's overrides of the parameters (and staff
/// groups) it defines; others' are ignored, as one overrides file serves every active pack.
pub fn effective_params(pack: &Pack, overrides: &Overrides) -> Result<Vec<(String, ParamValue)>> {
    let mine = Overrides {
        parameters: overrides
            .parameters
            .iter()
            .filter(|(name, _)| pack.parameters.contains_key(*name))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect(),
        staff_groups: overrides
            .staff_groups
            .iter()
            .filter(|(id, _)| pack.staff_groups.contains_key(*id))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect(),
    };
    match pack.effective(&mine) {
        Ok(effective) => Ok(effective.values()),
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            Err(ServiceError::Checks(format!(
                "the organisation's overrides do not fit {}:\n{}",
                pack.id,
                lines.join("\n")
            )))
        }
    }
}

/// Every check control's escalation ladder, as its pack states it: after so many days past the
/// finding's due date, whom to tell.
pub fn ladders(packs: &[&Pack]) -> steward_store::Ladders {
    packs
        .iter()
        .flat_map(|pack| {
            pack.controls()
                .filter(|c| !c.escalation.is_empty())
                .map(|c| {
                    let steps = c
                        .escalation
                        .iter()
                        .map(|e| steward_store::LadderStep {
                            after_days: e.after_days,
                            to: e.to.as_str().to_owned(),
                        })
                        .collect();
                    ((pack.id.clone(), c.id.clone()), steps)
                })
        })
        .collect()
}

/// The packs' checks over `data`, at `now`, with "today" reckoned in `time_zone`.
pub fn evaluate(
    packs: &[&Pack],
    overrides: &Overrides,
    data: &Data,
    time_zone: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Finding>> {
    let engine = compile(packs, overrides)?;
    Ok(engine.evaluate(data, at(time_zone, now)))
}

/// [`evaluate`], with the subjects each pack and section checked, for
/// [`Steward::record_compliance`].
pub fn evaluate_checked(
    packs: &[&Pack],
    overrides: &Overrides,
    data: &Data,
    time_zone: &str,
    now: DateTime<Utc>,
) -> Result<(Vec<Finding>, Checked)> {
    let engine = compile(packs, overrides)?;
    let mut checked = Checked::default();
    let mut findings = Vec::new();
    // Every run is kept here anyway, so the controls are evaluated side by side.
    let threads = steward_model::side_by_side::cores();
    for mut run in engine.runs(data, at(time_zone, now), threads) {
        checked.add(&run, data);
        findings.append(&mut run.findings);
    }
    Ok((findings, checked))
}

/// [`evaluate`]'s findings handed to `visit` as they are found, a few controls at a time on
/// every core, none kept: what a caller that writes them out needs, holding only a few controls'
/// findings at once.
pub fn evaluate_each(
    packs: &[&Pack],
    overrides: &Overrides,
    data: &Data,
    time_zone: &str,
    now: DateTime<Utc>,
    order: RunOrder,
    mut visit: impl FnMut(Finding),
) -> Result<()> {
    let engine = compile(packs, overrides)?;
    let threads = steward_model::side_by_side::cores();
    engine.each_run(data, at(time_zone, now), threads, order, |run| {
        run.findings.into_iter().for_each(&mut visit);
    });
    Ok(())
}

/// The packs' check controls compiled with the organisation's effective parameters.
fn compile(packs: &[&Pack], overrides: &Overrides) -> Result<Engine> {
    let mut compiled = Vec::new();
    for pack in packs {
        compiled.push((*pack, effective_params(pack, overrides)?));
    }
    Engine::new(&compiled).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        ServiceError::Checks(format!("the packs do not compile:\n{}", lines.join("\n")))
    })
}

/// `now`, and "today" reckoned in `time_zone`.
pub(crate) fn at(time_zone: &str, now: DateTime<Utc>) -> At {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Europe::London);
    At {
        now,
        today: now.with_timezone(&tz).date_naive(),
    }
}

/// Working days skip the organisation's bank holidays: those `data` was given (the bank holidays
/// register), or the shipped England and Wales ones while there are none — as
/// [`Steward::calendar`] reads the calendar for requests.
pub fn holidays_or_shipped(data: &mut Data) {
    if !data.has_holidays() {
        data.set_holidays(
            steward_calendar::Calendar::shipped()
                .holidays()
                .map(|h| h.date),
        );
    }
}

impl Steward {
    /// The whole estate as the rules read it, and the organisation's time zone.
    ///
    /// Registers are read side by side, each on a reading connection of its own, and laid out as
    /// soon as it is read: at 100,000 people reading one after another, then laying out, took
    /// twice as long and held every register's rows at once.
    pub fn estate_data(&self) -> Result<(Data, String)> {
        let started = std::time::Instant::now();
        let store = self.store();
        // Only to read the largest first; a count that fails is read in its turn.
        let size = |kind: Kind| {
            store
                .count(kind.register())
                .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        let mut data = Data::read_side_by_side(size, |kind| store.list(kind.register()))?;
        data.set_holiday_rows(&store.list(Register::BankHolidays)?);
        holidays_or_shipped(&mut data);
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "estate read"
        );
        Ok((data, self.organisation()?.time_zone))
    }

    /// The packs' findings over the database at `now`, without recording them.
    pub fn run_checks(
        &self,
        packs: &[&Pack],
        overrides: &Overrides,
        now: DateTime<Utc>,
    ) -> Result<Vec<Finding>> {
        let (data, time_zone) = self.estate_data()?;
        evaluate(packs, overrides, &data, &time_zone, now)
    }

    /// Runs the packs' checks at `stamp.at` and records the run: findings keep their first
    /// failing time, resolve when they stop failing, and every change is audited.
    pub fn check_and_record(
        &self,
        stamp: &Stamp,
        packs: &[&Pack],
        overrides: &Overrides,
    ) -> Result<FindingsSummary> {
        match self.check_and_record_with(stamp, packs, overrides, &mut |_, _| true)? {
            Some((summary, _)) => Ok(summary),
            None => Err(ServiceError::Store(steward_store::StoreError::Abandoned)),
        }
    }

    /// [`Steward::check_and_record`] one control at a time: each control is evaluated and its
    /// findings recorded before the next is evaluated (see `Store::record_findings_batched`), so
    /// memory holds one control's findings, never the run's. `keep_going(done, total)` is asked
    /// before each control; `false` abandons the run, writing nothing, and gives `None`. With
    /// the summary, how many findings the run reported.
    pub fn check_and_record_with(
        &self,
        stamp: &Stamp,
        packs: &[&Pack],
        overrides: &Overrides,
        keep_going: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Option<(FindingsSummary, usize)>> {
        self.check_and_record_each(stamp, packs, overrides, keep_going, &mut |_| {})
    }

    /// [`Steward::check_and_record_with`], each finding handed to `each` as its control is
    /// recorded (`steward check` writes them out as they come): a run that is then refused or
    /// abandoned has shown some of its findings and recorded none.
    pub fn check_and_record_each(
        &self,
        stamp: &Stamp,
        packs: &[&Pack],
        overrides: &Overrides,
        keep_going: &mut dyn FnMut(usize, usize) -> bool,
        each: &mut dyn FnMut(&Finding),
    ) -> Result<Option<(FindingsSummary, usize)>> {
        let ids: Vec<String> = packs.iter().map(|p| p.id.clone()).collect();
        crate::findings::may_record(stamp)?;
        // The organisation's kept values in force today, over the configuration's file.
        let overrides = self.overrides_in_force(overrides, self.local_date(stamp.at)?)?;
        let engine = compile(packs, &overrides)?;
        let (data, time_zone) = self.estate_data()?;
        let started = std::time::Instant::now();
        let covers = self.exception_covers(&ids)?;
        let excepted = Covers::new(&covers, stamp.at.date_naive());
        let mut checked = Checked::default();
        let mut failing = Failing::default();
        let mut ladders = ladders(packs);
        let total = engine.len();
        // One control evaluated at a time, as the recording asks for it: memory holds one
        // control's findings (a control failing for every person of a 290,000-person upload is
        // a few hundred megabytes). Evaluating the next controls on another thread meanwhile
        // held several and gained nothing measurable (BENCHMARKS.md).
        let mut batches = engine.batches(&data, at(&time_zone, stamp.at)).enumerate();
        let mut refused = None;
        let mut stopped = false;
        let mut count = 0;
        let recorded = self.store().record_findings_batched(
            &stamp.actor,
            stamp.at,
            &ids,
            &covers,
            &mut || {
                let Some((done, run)) = batches.next() else {
                    return Ok(None);
                };
                if !keep_going(done, total) {
                    stopped = true;
                    return Err(steward_store::StoreError::Abandoned);
                }
                if let Some(e) = run
                    .findings
                    .iter()
                    .find_map(|f| crate::findings::check(f).err())
                {
                    refused = Some(e);
                    return Err(steward_store::StoreError::Abandoned);
                }
                count += run.findings.len();
                checked.add(&run, &data);
                for f in &run.findings {
                    failing.add(f, &excepted);
                    each(f);
                }
                let ladder = ladders
                    .remove(&(run.pack.clone(), run.control.clone()))
                    .unwrap_or_default();
                Ok(Some(steward_store::FindingBatch {
                    pack: run.pack,
                    control: run.control,
                    findings: run.findings,
                    ladder,
                }))
            },
        );
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "controls evaluated and recorded"
        );
        match (recorded, refused) {
            (_, Some(e)) => Err(e),
            (Err(steward_store::StoreError::Abandoned), None) if stopped => Ok(None),
            (Ok(summary), None) => {
                crate::findings::log_summary(&ids, &summary);
                self.record_tallies(stamp, &checked, &failing)?;
                // A webhook that cannot be told is no reason to fail the run: said in the log.
                if let Err(e) = self.emit_finding_events(&summary, stamp.at) {
                    tracing::warn!(error = %e, "cannot queue the findings' webhook events");
                }
                // Deadlines passed or near since the last run (requests, incidents' ICO clocks).
                if let Err(e) = self.emit_deadline_events(stamp.at) {
                    tracing::warn!(error = %e, "cannot queue the deadlines' webhook events");
                }
                Ok(Some((summary, count)))
            }
            (Err(e), None) => Err(e.into()),
        }
    }
}
