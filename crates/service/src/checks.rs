//! Running the policy packs' checks over the database: the same path for `steward check`, the
//! web server after a step changes the registers, and the demo.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use steward_engine::{At, Engine, RunOrder};
use steward_model::{Finding, Register};
use steward_policy::{Overrides, Pack, ParamValue};
use steward_rules::{Data, Find, Kind, Neighbourhood, Reads, Touched};
use steward_store::{Store, SubjectsEvaluated};

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
    let engine = compile_checks(packs, overrides)?;
    Ok(engine.evaluate(data, at(time_zone, now)))
}

/// [`evaluate`], with the subjects each pack and section checked, for
/// [`Steward::record_compliance`].
pub fn evaluate_checked(
    engine: &Engine,
    data: &Data,
    time_zone: &str,
    now: DateTime<Utc>,
) -> Result<(Vec<Finding>, Checked)> {
    let mut checked = Checked::default();
    // Every run is kept here anyway, so the controls are evaluated side by side.
    let threads = steward_model::side_by_side::cores();
    let runs = engine.runs(data, at(time_zone, now), threads);
    // Made at its size once: 320,000 findings of a few hundred bytes each, moved at every
    // doubling, were a hundred megabytes copied and as many freshly faulted in.
    let mut findings = Vec::with_capacity(runs.iter().map(|r| r.findings.len()).sum());
    for mut run in runs {
        checked.add(&run, data);
        findings.append(&mut run.findings);
    }
    Ok((findings, checked))
}

/// [`evaluate`]'s findings handed to `visit` as they are found, a few controls at a time on
/// every core, none kept: what a caller that writes them out needs, holding only a few controls'
/// findings at once.
pub fn evaluate_each(
    engine: &Engine,
    data: &Data,
    time_zone: &str,
    now: DateTime<Utc>,
    order: RunOrder,
    mut visit: impl FnMut(Finding),
) -> Result<()> {
    let threads = steward_model::side_by_side::cores();
    engine.each_run(data, at(time_zone, now), threads, order, |run| {
        run.findings.into_iter().for_each(&mut visit);
    });
    Ok(())
}

/// The packs' check controls compiled with the organisation's effective parameters: what
/// [`evaluate_checked`] and [`evaluate_each`] run, and ([`Engine::reads`]) the fields of the
/// estate they read.
pub fn compile_checks(packs: &[&Pack], overrides: &Overrides) -> Result<Engine> {
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
        self.estate_data_reading(Reads::every())
    }

    /// [`Steward::estate_data`] with only the fields `reads` names read and laid out
    /// ([`Engine::reads`]): a check needs no other.
    pub fn estate_data_reading(&self, reads: Reads) -> Result<(Data, String)> {
        let started = std::time::Instant::now();
        let store = self.store();
        // Only to read the largest first; a size that cannot be had is read in its turn.
        let size = |kind: Kind| {
            store
                .size_hint(kind.register())
                .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        let read =
            |kind: Kind, wanted: &[bool], each: &mut dyn FnMut(&mut Vec<steward_model::Value>)| {
                let started = std::time::Instant::now();
                let rows = store.each_fields(kind.register(), wanted, each)?;
                tracing::debug!(
                    register = kind.register().name(),
                    fields = wanted.iter().filter(|w| **w).count(),
                    of = wanted.len(),
                    rows,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "register read and laid out"
                );
                Ok::<(), steward_store::StoreError>(())
            };
        let mut data = Data::read_side_by_side(size, read, reads)?;
        self.holidays_into(&mut data)?;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "estate read"
        );
        Ok((data, self.organisation()?.time_zone))
    }

    /// The objects of `neighbourhood` laid out as the rules read them (the fields `reads`
    /// names), and the organisation's time zone: the estate of a run over the subjects a change
    /// moved.
    fn neighbourhood_data(
        &self,
        neighbourhood: Neighbourhood,
        reads: Reads,
    ) -> Result<(Data, String)> {
        let mut data = Data::from_registers_reading(neighbourhood.into_registers(), reads);
        self.holidays_into(&mut data)?;
        Ok((data, self.organisation()?.time_zone))
    }

    /// The organisation's bank holidays, or the shipped ones, into `data`.
    fn holidays_into(&self, data: &mut Data) -> Result<()> {
        data.set_holiday_rows(&self.store().list(Register::BankHolidays)?);
        holidays_or_shipped(data);
        Ok(())
    }

    /// The packs' findings over the database at `now`, without recording them.
    pub fn run_checks(
        &self,
        packs: &[&Pack],
        overrides: &Overrides,
        now: DateTime<Utc>,
    ) -> Result<Vec<Finding>> {
        let engine = compile_checks(packs, overrides)?;
        let (data, time_zone) = self.estate_data_reading(engine.reads())?;
        Ok(engine.evaluate(&data, at(&time_zone, now)))
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

    /// [`Steward::check_and_record`] one control at a time: each control's findings are recorded
    /// as the next few are evaluated on another thread (`Engine::batches_ahead`, up to 50,000
    /// findings ahead; see `Store::record_findings_batched`), so memory holds a few controls'
    /// findings, never the run's. `keep_going(done, total)` is asked
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
        Ok(self
            .record_run(stamp, packs, overrides, keep_going, each, false)?
            .map(|run| (run.summary, run.findings)))
    }

    /// The run a change queues: only the checks that read what changed since the packs' last
    /// run are evaluated and recorded (a laptop marked encrypted: the few checks that read
    /// encryption), the others' findings standing as they are. Every check is, as by
    /// [`Steward::check_and_record_with`], where that cannot be told: no earlier run kept its
    /// place in the audit log, it was on another day (parameters kept from a date, and "today",
    /// move with the day), this process has not yet recorded a whole run (its packs may differ
    /// from the last one's), or a pack, a parameter, an exception, the organisation or its bank
    /// holidays changed. A run of some checks leaves the day's standing by section to the next
    /// whole run, which counts every check's subjects.
    pub fn check_and_record_after_change(
        &self,
        stamp: &Stamp,
        packs: &[&Pack],
        overrides: &Overrides,
        keep_going: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Option<RecordedRun>> {
        self.record_run(stamp, packs, overrides, keep_going, &mut |_| {}, true)
    }

    /// A run recorded control by control: of every check, or (`after_change`) of those the
    /// changes since the last run touched where that can be told.
    pub(crate) fn record_run(
        &self,
        stamp: &Stamp,
        packs: &[&Pack],
        overrides: &Overrides,
        keep_going: &mut dyn FnMut(usize, usize) -> bool,
        each: &mut dyn FnMut(&Finding),
        after_change: bool,
    ) -> Result<Option<RecordedRun>> {
        let ids: Vec<String> = packs.iter().map(|p| p.id.clone()).collect();
        crate::findings::may_record(stamp)?;
        // The organisation's kept values in force today, over the configuration's file.
        let today = self.local_date(stamp.at)?;
        let overrides = self.overrides_in_force(overrides, today)?;
        let engine = compile_checks(packs, &overrides)?;
        let checks = engine.len();
        // Taken before the estate is read: every change the read may miss is after it in the
        // log, for the next run after a change to look at.
        let looked = std::time::Instant::now();
        let (head, _) = self.store().audit_head()?;
        let changed = if after_change {
            self.changed_since_last_run(&ids, head, today)?
        } else {
            None
        };
        let whole = changed.is_none();
        let engine = match &changed {
            Some(changed) => engine.touched_by(&changed.fields),
            None => engine,
        };
        // Where few subjects can have moved, only those, over only what they lead to.
        let moved = match &changed {
            Some(changed) => self.subjects_moved(&engine, changed)?,
            None => None,
        };
        tracing::debug!(
            checks = engine.len(),
            of = checks,
            whole,
            subjects = moved.as_ref().map(Moved::subjects),
            objects = moved.as_ref().map(|m| m.neighbourhood.len()),
            elapsed_ms = looked.elapsed().as_millis() as u64,
            "checks to run"
        );
        let (data, time_zone, evaluated) = match moved {
            Some(moved) => {
                let (data, time_zone) =
                    self.neighbourhood_data(moved.neighbourhood, engine.reads())?;
                (data, time_zone, Some(moved.by_check))
            }
            None => {
                let (data, time_zone) = self.estate_data_reading(engine.reads())?;
                (data, time_zone, None)
            }
        };
        let started = std::time::Instant::now();
        let covers = self.exception_covers(&ids)?;
        let excepted = Covers::new(&covers, stamp.at.date_naive());
        let mut checked = Checked::default();
        let mut failing = Failing::default();
        let mut ladders = ladders(packs);
        let total = engine.len();
        // One control recorded at a time while the next are evaluated on another core, up to
        // `EVALUATED_AHEAD` findings ahead: memory holds the control being recorded and those,
        // never the run's (a control failing for every person of a 290,000-person upload is a
        // few hundred megabytes). One control ahead left the recording waiting for a third of
        // its time (BENCHMARKS.md).
        let mut refused = None;
        // How long the recording waited for the next control's evaluation, for the log.
        let mut waited = std::time::Duration::ZERO;
        let mut stopped = false;
        let mut count = 0;
        let cover = steward_store::RunCover {
            some_controls: changed.is_some(),
            audit_seq: Some(head),
        };
        let recorded = engine.batches_ahead(
            &data,
            at(&time_zone, stamp.at),
            EVALUATED_AHEAD,
            |batches| {
                let mut batches = batches.enumerate();
                self.store().record_findings_run(
                    &stamp.actor,
                    stamp.at,
                    &ids,
                    &covers,
                    cover,
                    &mut || {
                        let asked = std::time::Instant::now();
                        let next = batches.next();
                        waited += asked.elapsed();
                        let Some((done, mut run)) = next else {
                            return Ok(None);
                        };
                        if !keep_going(done, total) {
                            stopped = true;
                            return Err(steward_store::StoreError::Abandoned);
                        }
                        // Over some subjects, those alone: the others' neighbourhoods were not read.
                        let subjects = evaluated.as_ref().map(|by_check| {
                            by_check
                                .get(&(run.pack.clone(), run.control.clone()))
                                .cloned()
                                .unwrap_or_default()
                        });
                        if let Some(subjects) = &subjects {
                            run.findings.retain(|f| subjects.holds(&f.subject));
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
                        // The standing by section is kept by whole runs alone (below).
                        if whole {
                            checked.add(&run, &data);
                            failing.add(&run.findings, &excepted);
                        }
                        run.findings.iter().for_each(&mut *each);
                        let ladder = ladders
                            .remove(&(run.pack.clone(), run.control.clone()))
                            .unwrap_or_default();
                        Ok(Some(steward_store::FindingBatch {
                            pack: run.pack,
                            control: run.control,
                            findings: run.findings,
                            ladder,
                            subjects,
                        }))
                    },
                )
            },
        );
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            waited_for_evaluation_ms = waited.as_millis() as u64,
            "controls evaluated and recorded"
        );
        self.done_with(data);
        match (recorded, refused) {
            (_, Some(e)) => Err(e),
            (Err(steward_store::StoreError::Abandoned), None) if stopped => Ok(None),
            (Ok(summary), None) => {
                crate::findings::log_summary(&ids, &summary);
                if whole {
                    // The standing by section counts every check's subjects.
                    self.record_tallies(stamp, &checked, &failing)?;
                    self.whole_run_recorded
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                // A webhook that cannot be told is no reason to fail the run: said in the log.
                if let Err(e) = self.emit_finding_events(&summary, stamp.at) {
                    tracing::warn!(error = %e, "cannot queue the findings' webhook events");
                }
                // Deadlines passed or near since the last run (requests, incidents' ICO clocks).
                if let Err(e) = self.emit_deadline_events(stamp.at) {
                    tracing::warn!(error = %e, "cannot queue the deadlines' webhook events");
                }
                Ok(Some(RecordedRun {
                    summary,
                    findings: count,
                    checks: total,
                    of: checks,
                    whole,
                    subjects: evaluated.as_ref().map(subjects_evaluated),
                }))
            }
            (Err(e), None) => Err(e.into()),
        }
    }

    /// The fields the changes since `packs`' last run touched, up to the audit log's `head`;
    /// `None` where every check must run (see [`Steward::check_and_record_after_change`]).
    /// `today` is the organisation's date of the run.
    fn changed_since_last_run(
        &self,
        packs: &[String],
        head: i64,
        today: chrono::NaiveDate,
    ) -> Result<Option<Changes>> {
        /// Beyond this many records (an import), reading them costs more than it saves.
        const MOST: i64 = 20_000;
        if !self
            .whole_run_recorded
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Ok(None);
        }
        let Some(mark) = self.store().check_mark(packs)? else {
            return Ok(None);
        };
        if self.local_date(mark.at)? != today
            || mark.audit_seq > head
            || head - mark.audit_seq > MOST
        {
            return Ok(None);
        }
        let mut changed = Changes::default();
        let mut whole = false;
        if head > mark.audit_seq {
            let query = steward_store::AuditQuery {
                entity: None,
                limit: u64::try_from(head - mark.audit_seq).ok(),
                before: Some(head + 1),
            };
            self.store().audit_records(&query, &mut |record| {
                whole = whole || !touches(&record, &mut changed);
                Ok(())
            })?;
        }
        Ok((!whole).then_some(changed))
    }
}

/// How many findings a recorded run's evaluation may run ahead of its recording: a few tens of
/// megabytes.
const EVALUATED_AHEAD: usize = 50_000;

/// What a recorded run evaluated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedRun {
    pub summary: FindingsSummary,
    /// How many findings the run reported.
    pub findings: usize,
    /// How many checks it evaluated, of how many the packs have.
    pub checks: usize,
    pub of: usize,
    /// Whether it evaluated every check (not only those a change touched).
    pub whole: bool,
    /// Where its checks were evaluated over only the subjects a change can have moved (those
    /// within reach of a changed object over the relations the check follows), how many.
    pub subjects: Option<usize>,
}

/// What changed since a run: the fields, and the objects with what their fields held.
#[derive(Debug, Default)]
struct Changes {
    fields: Reads,
    touched: BTreeMap<(Kind, String), Touched>,
}

/// The subjects of each check a change can have moved, and the objects that decide them.
struct Moved {
    by_check: BTreeMap<(String, String), std::sync::Arc<SubjectsEvaluated>>,
    neighbourhood: Neighbourhood,
}

impl Moved {
    /// How many subjects in all (one evaluated by two checks counted once).
    fn subjects(&self) -> usize {
        subjects_evaluated(&self.by_check)
    }
}

/// How many subjects some checks were evaluated over, each counted once.
fn subjects_evaluated(
    by_check: &BTreeMap<(String, String), std::sync::Arc<SubjectsEvaluated>>,
) -> usize {
    by_check
        .values()
        .flat_map(|s| s.ids.iter().map(|id| (&s.kind, id)))
        .collect::<BTreeSet<_>>()
        .len()
}

impl Steward {
    /// Beyond this many subjects of a check, its whole kind is read (a few queries) rather
    /// than walked to.
    const MOST_SUBJECTS: usize = 1_000;
    /// Beyond this many objects read for the subjects, the whole estate is read instead.
    const MOST_OBJECTS: usize = 20_000;

    /// Each of `engine`'s checks' subjects that `changed` can have moved, walked to over the
    /// relations the check follows, and the objects that decide them ([`Reads::subjects_moved`],
    /// [`Reads::neighbourhood`]): a person leaving moves their own findings, their accounts',
    /// their devices' and their reports' (whose manager left), nobody else's. `None` where
    /// they are too many to be worth walking to.
    fn subjects_moved(&self, engine: &Engine, changed: &Changes) -> Result<Option<Moved>> {
        let mut find = Lookups {
            store: self.store(),
            asked: BTreeMap::new(),
        };
        let mut by_check = BTreeMap::new();
        let mut neighbourhood = Neighbourhood::default();
        for (pack, control, kind, reads) in engine.checks() {
            // A change to fields the check does not read moves nothing of it.
            let kinds = reads.kinds_meeting(&changed.fields);
            let touched: Vec<&Touched> = changed
                .touched
                .values()
                .filter(|t| kinds.contains(&t.kind))
                .collect();
            let Some(ids) = reads.subjects_moved(kind, &touched, &mut find, Self::MOST_SUBJECTS)?
            else {
                return Ok(None);
            };
            if !reads.neighbourhood(
                kind,
                &ids,
                &mut find,
                &mut neighbourhood,
                Self::MOST_OBJECTS,
            )? {
                return Ok(None);
            }
            let subjects = SubjectsEvaluated {
                kind: kind.name().to_owned(),
                ids,
            };
            by_check.insert(
                (pack.to_owned(), control.to_owned()),
                std::sync::Arc::new(subjects),
            );
        }
        Ok(Some(Moved {
            by_check,
            neighbourhood,
        }))
    }
}

/// The store asked for objects by a field's values, each value once a run: the checks a change
/// touched walk many of the same relations.
struct Lookups<'s> {
    store: &'s dyn Store,
    asked: BTreeMap<(Kind, &'static str), BTreeMap<String, Vec<steward_model::Row>>>,
}

impl Find for Lookups<'_> {
    type Error = ServiceError;

    fn find(
        &mut self,
        kind: Kind,
        field: &'static str,
        values: &BTreeSet<String>,
    ) -> Result<Vec<steward_model::Row>> {
        let asked = self.asked.entry((kind, field)).or_default();
        let new: Vec<String> = values
            .iter()
            .filter(|v| !asked.contains_key(*v))
            .cloned()
            .collect();
        if !new.is_empty() {
            for v in &new {
                asked.insert(v.clone(), Vec::new());
            }
            for row in self.store.list_where_any(kind.register(), field, &new)? {
                let value = row.get(field).and_then(steward_model::Value::as_text);
                if let Some(rows) = value.and_then(|v| asked.get_mut(v)) {
                    rows.push(row);
                }
            }
        }
        Ok(values
            .iter()
            .filter_map(|v| asked.get(v))
            .flatten()
            .cloned()
            .collect())
    }
}

/// Adds to `changed` the fields `record` changed, and the object with what its fields held
/// before and after; `false` where it changed something every check may read besides: a pack, a
/// parameter, an exception (what excepts a finding), the organisation (its time zone is
/// "today"), its bank holidays (working days), or anything not known here; or where its payloads
/// were erased.
fn touches(record: &steward_model::audit::AuditRecord, changed: &mut Changes) -> bool {
    // Written by runs and people's work on findings, sign-ins, connectors' settings, links to
    // their sources, single sign-on, tokens and webhooks: nothing a rule reads.
    const NOT_READ: &[&str] = &[
        steward_store::FINDING_ENTITY,
        steward_store::SIGN_IN_ENTITY,
        steward_store::CONNECTOR_ENTITY,
        steward_store::SOURCE_LINK_ENTITY,
        steward_store::SSO_LINK_ENTITY,
        steward_store::API_TOKEN_ENTITY,
        steward_store::WEBHOOK_ENTITY,
    ];
    if NOT_READ.contains(&record.entity_type.as_str()) {
        return true;
    }
    // An erasure rewrites payloads: what a record was linked to before can no longer be read
    // from the log, so a run cannot tell whose findings it moved.
    if record.action == steward_model::audit::ERASE_ACTION || record.erased_by.is_some() {
        return false;
    }
    let Some(register) = Register::from_entity(&record.entity_type) else {
        return false;
    };
    if matches!(
        register,
        Register::Organisation | Register::BankHolidays | Register::Exceptions
    ) {
        return false;
    }
    let Some(kind) = Kind::of_register(register) else {
        // A register no rule reads (budget centres, roles).
        return true;
    };
    let object = |json: &Option<String>| {
        json.as_deref().and_then(|j| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(j).ok()
        })
    };
    let (before, after) = (object(&record.before), object(&record.after));
    // What its fields held either side of the change: where it was linked before, and after.
    let touched = changed
        .touched
        .entry((kind, record.entity_id.clone()))
        .or_insert_with(|| Touched {
            kind,
            id: record.entity_id.clone(),
            values: Vec::new(),
        });
    for (name, value) in before.iter().chain(after.iter()).flatten() {
        if let Some(text) = value.as_str()
            && !touched.values.iter().any(|(n, v)| n == name && v == text)
        {
            touched.values.push((name.clone(), text.to_owned()));
        }
    }
    let fields = &mut changed.fields;
    match (before, after) {
        (Some(before), Some(after)) if record.action == "update" => {
            for name in before.keys().chain(after.keys()) {
                if before.get(name) != after.get(name) {
                    if kind.register().field_index(name).is_some() {
                        fields.insert_named(kind, name);
                    } else {
                        fields.insert_kind(kind);
                    }
                }
            }
        }
        // Created, deleted, erased, or its payload not readable: every field.
        _ => fields.insert_kind(kind),
    }
    true
}
